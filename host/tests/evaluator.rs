//! The library API on a WAT guest: responses, traps, timeouts, host calls, replay, record.

mod common;

use std::time::{Duration, Instant};

use base64::Engine as _;
use cip_host::{EngineOptions, Evaluator, HostOptions};
use common::*;
use serde_json::json;

fn request() -> serde_json::Value {
    serde_json::from_str(REQUEST).unwrap()
}

#[test]
fn accept_with_warnings_and_settings() {
    let dir = scratch("accept");
    let wasm = write_guest(
        &dir,
        r#"{"valid":true,"message":"careful"}"#,
        Validate::Respond(r#"{"accepted":true,"warnings":["w"]}"#),
    );
    let ev = Evaluator::new(&wasm, HostOptions::default()).unwrap();
    let s = ev.validate_settings(&json!({})).unwrap();
    assert!(s.valid);
    assert_eq!(s.message.as_deref(), Some("careful"));
    assert_eq!(ev.protocol_version().unwrap(), "v1");
    let r = ev.validate(&request(), &json!({})).unwrap();
    assert_eq!(
        r,
        json!({"uid":"req-1","allowed":true,"auditAnnotations":null,"warnings":["w"]})
    );
    ev.finish().unwrap();
}

#[test]
fn invalid_or_garbage_settings_response() {
    let dir = scratch("settings");
    let wasm = write_guest(&dir, r#"{"valid":false,"message":"bad"}"#, Validate::Trap);
    let ev = Evaluator::new(&wasm, HostOptions::default()).unwrap();
    let s = ev.validate_settings(&json!({"a": 1})).unwrap();
    assert!(!s.valid);
    assert_eq!(s.message.as_deref(), Some("bad"));
    let wasm = write_guest(&dir, "nope", Validate::Trap);
    let ev = Evaluator::new(&wasm, HostOptions::default()).unwrap();
    let s = ev.validate_settings(&json!({})).unwrap();
    assert!(!s.valid);
    assert!(s
        .message
        .unwrap()
        .starts_with("Cannot deserialize settings validation response"));
}

#[test]
fn trap_is_an_internal_server_error_and_the_instance_recovers() {
    let dir = scratch("trap");
    let wasm = write_guest(&dir, VALID, Validate::Trap);
    let ev = Evaluator::new(&wasm, HostOptions::default()).unwrap();
    for _ in 0..2 {
        let r = ev.validate(&request(), &json!({})).unwrap();
        assert_eq!(r["allowed"], false);
        assert_eq!(r["status"]["code"], 500);
        let message = r["status"]["message"].as_str().unwrap();
        assert!(message.starts_with("internal server error: "), "{message}");
        // the instance was recreated: settings still answer
        assert!(ev.validate_settings(&json!({})).unwrap().valid);
    }
}

#[test]
fn garbage_validation_response_is_a_500() {
    let dir = scratch("garbage");
    let wasm = write_guest(&dir, VALID, Validate::Respond("[1,2]"));
    let ev = Evaluator::new(&wasm, HostOptions::default()).unwrap();
    let r = ev.validate(&request(), &json!({})).unwrap();
    assert_eq!(r["status"]["code"], 500);
}

#[test]
fn epoch_deadline_interrupts() {
    let dir = scratch("spin");
    let wasm = write_guest(&dir, VALID, Validate::Spin);
    let ev = Evaluator::new(
        &wasm,
        HostOptions {
            timeout: Some(Duration::from_millis(500)),
            ..Default::default()
        },
    )
    .unwrap();
    let start = Instant::now();
    let r = ev.validate(&request(), &json!({})).unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(
        r,
        json!({"uid":"req-1","allowed":false,"status":{"message":"Policy execution interrupted because it exceeded the allowed execution time","code":500},"auditAnnotations":null,"warnings":null})
    );
    assert!(ev.validate_settings(&json!({})).unwrap().valid);
}

const SESSION: &str = r#"- type: Exchange
  request: |
    !OciManifestDigest
    image: 127.0.0.1:5000/app:1
  response:
    type: Success
    payload: '{"digest":"sha256:abcd"}'
"#;

fn digest_guest(dir: &std::path::Path) -> std::path::PathBuf {
    write_guest(
        dir,
        VALID,
        Validate::HostCall {
            namespace: "oci",
            operation: "v1/manifest_digest",
            payload: r#""127.0.0.1:5000/app:1""#,
        },
    )
}

#[test]
fn replayed_host_call_reaches_the_guest() {
    let dir = scratch("replay");
    let wasm = digest_guest(&dir);
    let session = write(&dir, "session.yml", SESSION);
    let ev = Evaluator::new(
        &wasm,
        HostOptions {
            replay_path: Some(session),
            ..Default::default()
        },
    )
    .unwrap();
    let object = json!({"digest": "x"});
    let mut req = request();
    req["object"] = object;
    let r = ev.validate(&req, &json!({})).unwrap();
    assert_eq!(r["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(r["patch"].as_str().unwrap())
        .unwrap();
    let patch: serde_json::Value = serde_json::from_slice(&patch).unwrap();
    assert_eq!(
        patch,
        json!([{"op":"replace","path":"/digest","value":"sha256:abcd"}])
    );
    // the queue is now empty
    let r = ev.validate(&req, &json!({})).unwrap();
    assert_eq!(
        r["status"]["message"],
        "internal server error: Guest call failure: Callback evaluation failure: the list of recorded responses is empty"
    );
    ev.finish().unwrap();
}

#[test]
fn denied_capability_and_unknown_namespace() {
    let dir = scratch("deny");
    let wasm = digest_guest(&dir);
    let session = write(&dir, "session.yml", SESSION);
    let ev = Evaluator::with_engine_options(
        &wasm,
        HostOptions {
            replay_path: Some(session),
            ..Default::default()
        },
        EngineOptions {
            allowed_host_capabilities: vec!["crypto/*".into()],
            wasmtime_cache: false,
        },
    )
    .unwrap();
    let r = ev.validate(&request(), &json!({})).unwrap();
    assert_eq!(
        r["status"]["message"],
        "internal server error: Guest call failure: Policy has not been granted access to the 'oci/v1/manifest_digest' host capability. The violation has been reported."
    );

    let wasm = write_guest(
        &dir,
        VALID,
        Validate::HostCall {
            namespace: "net",
            operation: "v1/dns_lookup_host",
            payload: r#""example.com""#,
        },
    );
    let ev = Evaluator::new(&wasm, HostOptions::default()).unwrap();
    let r = ev.validate(&request(), &json!({})).unwrap();
    assert_eq!(
        r["status"]["message"],
        "internal server error: Guest call failure: unknown namespace: net"
    );
}

#[test]
fn recording_a_failed_live_call() {
    let dir = scratch("record");
    let wasm = write_guest(
        &dir,
        VALID,
        Validate::HostCall {
            namespace: "oci",
            operation: "v1/manifest_digest",
            payload: r#""127.0.0.1:9/app:1""#,
        },
    );
    let sources = write(&dir, "sources.yml", "insecure_sources: [\"127.0.0.1:9\"]\n");
    let record = dir.join("rec.yml");
    let ev = Evaluator::new(
        &wasm,
        HostOptions {
            sources_path: Some(sources),
            record_path: Some(record.clone()),
            ..Default::default()
        },
    )
    .unwrap();
    let r = ev.validate(&request(), &json!({})).unwrap();
    let message = r["status"]["message"].as_str().unwrap().to_string();
    assert!(
        message.starts_with(
            "internal server error: Guest call failure: Callback evaluation failure: "
        ),
        "{message}"
    );
    ev.finish().unwrap();
    let text = std::fs::read_to_string(&record).unwrap();
    assert!(
        text.contains("!OciManifestDigest\n    image: 127.0.0.1:9/app:1"),
        "{text}"
    );
    assert!(text.contains("type: Error"), "{text}");

    // replaying the recording gives the same answer
    let ev = Evaluator::new(
        &wasm,
        HostOptions {
            replay_path: Some(record),
            ..Default::default()
        },
    )
    .unwrap();
    let replayed = ev.validate(&request(), &json!({})).unwrap();
    assert_eq!(replayed["status"]["message"], message.as_str());
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let dir = scratch("bad");
    let wasm = write(&dir, "x.wasm", "not wasm");
    assert!(Evaluator::new(&wasm, HostOptions::default()).is_err());
    let good = digest_guest(&dir);
    let session = write(&dir, "s.yml", "- type: Exchange\n  request: '!Bogus'\n");
    assert!(Evaluator::new(
        &good,
        HostOptions {
            replay_path: Some(session),
            ..Default::default()
        }
    )
    .is_err());
    assert!(Evaluator::new(
        &good,
        HostOptions {
            replay_path: Some(dir.join("missing.yml")),
            record_path: Some(dir.join("r.yml")),
            ..Default::default()
        }
    )
    .is_err());
}
