//! A tiny waPC guest written in WAT, for testing the host without the real policy.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// What `validate` does.
pub enum Validate<'a> {
    /// Answer this JSON.
    Respond(&'a str),
    /// `unreachable`.
    Trap,
    /// Loop forever.
    Spin,
    /// Call `kubewarden/<namespace>/<operation>` with this payload; on success answer
    /// `{"accepted":true,"mutated_object":<host response>}`, on failure set the host error
    /// as the guest error.
    HostCall {
        namespace: &'a str,
        operation: &'a str,
        payload: &'a str,
    },
}

fn esc(s: &str) -> String {
    s.bytes().map(|b| format!("\\{b:02x}")).collect()
}

pub fn guest_wat(settings_response: &str, validate: Validate) -> String {
    let body = match validate {
        Validate::Respond(json) => format!(
            "(data (i32.const 2048) \"{}\")\n(func $validate (result i32) (call $guest_response (i32.const 2048) (i32.const {})) (i32.const 1))",
            esc(json),
            json.len()
        ),
        Validate::Trap => "(func $validate (result i32) unreachable)".to_string(),
        Validate::Spin => "(func $validate (result i32) (loop $l (br $l)) (i32.const 0))".to_string(),
        Validate::HostCall {
            namespace,
            operation,
            payload,
        } => {
            let prefix = r#"{"accepted":true,"mutated_object":"#;
            format!(
                r#"(data (i32.const 16) "{ns}")
(data (i32.const 64) "{op}")
(data (i32.const 128) "{payload}")
(data (i32.const 40000) "{prefix}")
(func $validate (result i32) (local $len i32)
  (if (i32.eq (call $host_call (i32.const 0) (i32.const 10) (i32.const 16) (i32.const {ns_len})
                               (i32.const 64) (i32.const {op_len}) (i32.const 128) (i32.const {payload_len}))
              (i32.const 1))
    (then
      (local.set $len (call $host_response_len))
      (call $host_response (i32.const {after_prefix}))
      (i32.store8 (i32.add (i32.const {after_prefix}) (local.get $len)) (i32.const 125))
      (call $guest_response (i32.const 40000) (i32.add (local.get $len) (i32.const {prefix_len_plus_one})))
      (return (i32.const 1))))
  (local.set $len (call $host_error_len))
  (call $host_error (i32.const 50000))
  (call $guest_error (i32.const 50000) (local.get $len))
  (i32.const 0))"#,
                ns = esc(namespace),
                ns_len = namespace.len(),
                op = esc(operation),
                op_len = operation.len(),
                payload = esc(payload),
                payload_len = payload.len(),
                prefix = esc(prefix),
                after_prefix = 40000 + prefix.len(),
                prefix_len_plus_one = prefix.len() + 1,
            )
        }
    };
    format!(
        r#"(module
  (import "wapc" "__guest_request" (func $guest_request (param i32 i32)))
  (import "wapc" "__guest_response" (func $guest_response (param i32 i32)))
  (import "wapc" "__guest_error" (func $guest_error (param i32 i32)))
  (import "wapc" "__host_call" (func $host_call (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wapc" "__host_response" (func $host_response (param i32)))
  (import "wapc" "__host_response_len" (func $host_response_len (result i32)))
  (import "wapc" "__host_error" (func $host_error (param i32)))
  (import "wapc" "__host_error_len" (func $host_error_len (result i32)))
  (memory (export "memory") 4)
  (data (i32.const 0) "kubewarden")
  (data (i32.const 1024) "{settings}")
  (data (i32.const 3072) "\22v1\22")
  {body}
  (func (export "__guest_call") (param $op_len i32) (param $req_len i32) (result i32)
    (call $guest_request (i32.const 8192) (i32.const 65536))
    (if (i32.eq (local.get $op_len) (i32.const 17))
      (then (call $guest_response (i32.const 1024) (i32.const {settings_len})) (return (i32.const 1))))
    (if (i32.eq (local.get $op_len) (i32.const 16))
      (then (call $guest_response (i32.const 3072) (i32.const 4)) (return (i32.const 1))))
    (call $validate))
)"#,
        settings = esc(settings_response),
        settings_len = settings_response.len(),
    )
}

pub const VALID: &str = r#"{"valid":true,"message":null}"#;

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cip-host-it-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes the guest as a binary module.
pub fn write_guest(dir: &Path, settings_response: &str, validate: Validate) -> PathBuf {
    let path = dir.join("policy.wasm");
    let bytes = wat::parse_str(guest_wat(settings_response, validate)).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

pub const REQUEST: &str = r#"{"uid":"req-1","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"a","image":"127.0.0.1:5000/app:1"}]}}}"#;
