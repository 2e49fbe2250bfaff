//! The `cip-host` binary: output line, exit codes, errors, annotate.

mod common;

use std::process::Command;

use common::*;

fn cip_host(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cip-host"))
        .args(args)
        .env("CIP_HOST_LOG", "warn")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn run_prints_one_admission_response_line() {
    let dir = scratch("cli-run");
    let wasm = write_guest(
        &dir,
        r#"{"valid":true,"message":"a warning"}"#,
        Validate::Respond(r#"{"accepted":false,"message":"denied","code":null}"#),
    );
    let review = write(
        &dir,
        "review.yaml",
        &format!("kind: AdmissionReview\napiVersion: admission.k8s.io/v1\nrequest: {REQUEST}\n"),
    );
    let (code, stdout, stderr) = cip_host(&[
        "run",
        "-r",
        review.to_str().unwrap(),
        "--settings-json",
        "{}",
        wasm.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "{\"uid\":\"req-1\",\"allowed\":false,\"status\":{\"message\":\"denied\"},\"auditAnnotations\":null,\"warnings\":null}\n"
    );
    assert!(stderr.contains("a warning"), "{stderr}");
}

#[test]
fn invalid_settings_exit_1() {
    let dir = scratch("cli-settings");
    let wasm = write_guest(
        &dir,
        r#"{"valid":false,"message":"policies: missing"}"#,
        Validate::Trap,
    );
    let req = write(&dir, "req.json", REQUEST);
    let settings = write(&dir, "s.yaml", "policies: []\n");
    let (code, stdout, stderr) = cip_host(&[
        "run",
        "-r",
        req.to_str().unwrap(),
        "-s",
        settings.to_str().unwrap(),
        wasm.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "Error: Provided settings are not valid: policies: missing\n"
    );
}

#[test]
fn errors_exit_1() {
    let dir = scratch("cli-errors");
    let wasm = write_guest(&dir, VALID, Validate::Respond(r#"{"accepted":true}"#));
    let req = write(&dir, "req.json", REQUEST);
    let broken = write(&dir, "broken.json", "{\"uid\":");
    let session = write(
        &dir,
        "bad-session.yml",
        "- type: Exchange\n  request: '!Bogus'\n",
    );
    for args in [
        vec![
            "run",
            "-r",
            broken.to_str().unwrap(),
            wasm.to_str().unwrap(),
        ],
        vec!["run", "-r", "/nonexistent.json", wasm.to_str().unwrap()],
        vec!["run", "-r", req.to_str().unwrap(), "/nonexistent.wasm"],
        vec![
            "run",
            "-r",
            req.to_str().unwrap(),
            "--settings-json",
            "[",
            wasm.to_str().unwrap(),
        ],
        vec![
            "run",
            "-r",
            req.to_str().unwrap(),
            "--replay-host-capabilities-interactions",
            session.to_str().unwrap(),
            wasm.to_str().unwrap(),
        ],
    ] {
        let (code, stdout, stderr) = cip_host(&args);
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(stdout, "");
        assert!(stderr.starts_with("Error: "), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // record and replay together: rejected by the argument parser
    let (code, _, _) = cip_host(&[
        "run",
        "-r",
        req.to_str().unwrap(),
        "--record-host-capabilities-interactions",
        "a",
        "--replay-host-capabilities-interactions",
        "b",
        wasm.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    // accept
    let (code, stdout, _) = cip_host(&[
        "run",
        "-r",
        req.to_str().unwrap(),
        "--allowed-host-capabilities",
        "oci/*",
        "crypto/*",
        "--timeout-seconds",
        "3",
        "--disable-wasmtime-cache",
        wasm.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "{\"uid\":\"req-1\",\"allowed\":true,\"auditAnnotations\":null,\"warnings\":null}\n"
    );
}

/// `evaluate` has `run`'s deadline: a policy that never ends is stopped with the same message
/// (printed as the policy's failure, exit 1).
#[test]
fn evaluate_stops_at_the_deadline() {
    let dir = scratch("cli-evaluate-deadline");
    let wasm = write_guest(&dir, VALID, Validate::Spin);
    let policy = write(&dir, "p.cue", "x: 1\n");
    let input = write(&dir, "in.json", "{}");
    let start = std::time::Instant::now();
    let (code, stdout, stderr) = cip_host(&[
        "evaluate",
        "--policy",
        policy.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--timeout-seconds",
        "1",
        wasm.to_str().unwrap(),
    ]);
    assert!(start.elapsed() < std::time::Duration::from_secs(60));
    assert_eq!((code, stderr.as_str()), (1, ""));
    assert_eq!(
        stdout,
        "Policy execution interrupted because it exceeded the allowed execution time\n"
    );
}

#[test]
fn annotate_writes_the_metadata_section() {
    let dir = scratch("cli-annotate");
    let wasm = write_guest(&dir, VALID, Validate::Respond(r#"{"accepted":true}"#));
    let metadata = write(
        &dir,
        "metadata.yml",
        "rules:\n- apiGroups: ['']\n  apiVersions: [v1]\n  resources: [pods]\n  operations: [CREATE]\nmutating: true\nannotations:\n  io.kubewarden.policy.title: t\n",
    );
    let readme = write(&dir, "README.md", "# usage\n");
    let out = dir.join("annotated.wasm");
    let (code, _, stderr) = cip_host(&[
        "annotate",
        "-m",
        metadata.to_str().unwrap(),
        "-u",
        readme.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        wasm.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("hostCapabilities"), "{stderr}");
    let bytes = std::fs::read(&out).unwrap();
    let mut metadata = None;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        if let wasmparser::Payload::CustomSection(reader) = payload.unwrap() {
            if reader.name() == "io.kubewarden.metadata" {
                metadata =
                    Some(serde_json::from_slice::<serde_json::Value>(reader.data()).unwrap());
            }
        }
    }
    let metadata = metadata.unwrap();
    assert_eq!(metadata["protocolVersion"], "v1");
    assert_eq!(metadata["mutating"], true);
    assert_eq!(metadata["executionMode"], "kubewarden-wapc");
    assert_eq!(
        metadata["annotations"]["io.kubewarden.policy.usage"],
        "# usage\n"
    );
    assert_eq!(metadata["annotations"]["io.kubewarden.policy.title"], "t");
    assert!(metadata["annotations"]["io.kubewarden.kwctl"]
        .as_str()
        .unwrap()
        .starts_with("cip-host "));
    // the annotated module still runs
    let req = write(&dir, "req.json", REQUEST);
    let (code, _, _) = cip_host(&["run", "-r", req.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 0);
    // missing `mutating`
    let bad = write(&dir, "bad.yml", "rules: []\n");
    let (code, _, stderr) = cip_host(&[
        "annotate",
        "-m",
        bad.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        wasm.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(stderr.starts_with("Error: "), "{stderr}");
}
