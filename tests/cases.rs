//! Decision cases as data, run through the built policy.wasm in cip-host with recorded host
//! answers: one test per `test_data/cases/*.yaml`, plus the invalid-settings corpus. When
//! Kubewarden's kwctl is at hand (`KWCTL`, or `../shared/kubewarden/kwctl`), every case that needs
//! no capability kwctl lacks runs under it too (`kwctl::<case>`), replaying the same answers.

use cip_host::{Evaluator, HostOptions};
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[allow(dead_code)]
    note: String,
    settings: Value,
    request: Value,
    #[serde(default)]
    host: Vec<Value>,
    expect: Expect,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    allowed: bool,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<u16>,
    #[serde(default)]
    warnings: Option<Vec<String>>,
    /// The JSON patch, or `null` for none.
    #[serde(default)]
    patch: Option<Value>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn policy_wasm() -> PathBuf {
    std::env::var_os("POLICY_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("policy.wasm"))
}

fn read_case(path: &Path) -> Result<Case, Failed> {
    let text = std::fs::read_to_string(path)?;
    Ok(serde_yaml::from_str(&text)?)
}

/// kwctl has no `oci/v2/verify_attestations` (our own capability, DESIGN.md §3.3), and refuses
/// itself a request whose fields have the wrong types, before the policy sees it.
fn needs_cip_host(case: &Case) -> bool {
    let malformed = !case.request.get("uid").is_none_or(Value::is_string)
        || !case.request.get("kind").is_none_or(Value::is_object);
    malformed
        || case
            .host
            .iter()
            .any(|exchange| exchange.to_string().contains("SigstoreAttestationsVerify"))
}

/// kwctl builds a typed AdmissionRequest and so wants the fields the API server always sends,
/// which the hand-written cases leave out when the policy does not read them.
fn as_kwctl_request(request: &Value) -> Value {
    let mut request = request.clone();
    let kind = request.get("kind").cloned().unwrap_or(Value::Null);
    let text = |k: &str| {
        kind.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if let Some(fields) = request.as_object_mut() {
        let plural = format!("{}s", text("kind").to_ascii_lowercase());
        fields.entry("resource").or_insert_with(
            || serde_json::json!({"group": text("group"), "version": text("version"), "resource": plural}),
        );
        fields
            .entry("userInfo")
            .or_insert_with(|| serde_json::json!({}));
    }
    request
}

fn run_case(path: &Path, wasm: &Path) -> Result<(), Failed> {
    let case = read_case(path)?;
    let dir = tempdir()?;
    let session = dir.join("session.yml");
    std::fs::write(&session, serde_yaml::to_string(&case.host)?)?;
    let evaluator = Evaluator::new(
        wasm,
        HostOptions {
            replay_path: Some(session),
            ..HostOptions::default()
        },
    )?;
    let settings = evaluator.validate_settings(&case.settings)?;
    if !settings.valid {
        return Err(format!("settings rejected: {:?}", settings.message).into());
    }
    let response = evaluator.validate(&case.request, &case.settings)?;
    evaluator.finish()?;
    compare(&case, &response)
}

/// The same case under Kubewarden's kwctl, replaying the same recorded answers.
fn run_case_kwctl(path: &Path, wasm: &Path, kwctl: &Path) -> Result<(), Failed> {
    let case = read_case(path)?;
    let dir = tempdir()?;
    let session = dir.join("session.yml");
    std::fs::write(&session, serde_yaml::to_string(&case.host)?)?;
    let request = dir.join("request.json");
    std::fs::write(
        &request,
        serde_json::to_vec(&as_kwctl_request(&case.request))?,
    )?;
    let settings = dir.join("settings.json");
    std::fs::write(&settings, serde_json::to_vec(&case.settings)?)?;
    let output = std::process::Command::new(kwctl)
        .env_remove("RUST_BACKTRACE")
        .arg("run")
        .arg("--replay-host-capabilities-interactions")
        .arg(&session)
        .arg("--request-path")
        .arg(&request)
        .arg("--settings-path")
        .arg(&settings)
        .arg(wasm)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "kwctl run failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let response: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "kwctl's answer is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })?;
    compare(&case, &response)
}

fn compare(case: &Case, response: &Value) -> Result<(), Failed> {
    let mut problems = Vec::new();
    let got = |field: &str| response.get(field).cloned().unwrap_or(Value::Null);
    if got("allowed") != Value::Bool(case.expect.allowed) {
        problems.push(format!(
            "allowed: want {}, got {}",
            case.expect.allowed,
            got("allowed")
        ));
    }
    let message = response.pointer("/status/message").and_then(Value::as_str);
    if message != case.expect.message.as_deref() {
        problems.push(format!(
            "message:\n  want {:?}\n  got  {:?}",
            case.expect.message, message
        ));
    }
    let code = response.pointer("/status/code").and_then(Value::as_u64);
    if code != case.expect.code.map(u64::from) {
        problems.push(format!("code: want {:?}, got {code:?}", case.expect.code));
    }
    let warnings: Option<Vec<String>> = serde_json::from_value(got("warnings"))?;
    if warnings != case.expect.warnings {
        problems.push(format!(
            "warnings:\n  want {:?}\n  got  {warnings:?}",
            case.expect.warnings
        ));
    }
    let patch = match response.get("patch").and_then(Value::as_str) {
        Some(b64) => {
            use base64::Engine;
            let bytes = base64::engine::general_purpose::STANDARD.decode(b64)?;
            serde_json::from_slice(&bytes)?
        }
        None => Value::Null,
    };
    let want_patch = case.expect.patch.clone().unwrap_or(Value::Null);
    if patch != want_patch {
        problems.push(format!("patch:\n  want {want_patch}\n  got  {patch}"));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

#[derive(Deserialize)]
struct InvalidSettings {
    name: String,
    settings: Value,
    message: String,
}

/// The invalid-settings corpus through the real module: the same messages as the unit tests.
fn run_invalid_settings(wasm: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(root().join("test_data/settings/invalid.yaml"))?;
    let cases: Vec<InvalidSettings> = serde_yaml::from_str(&text)?;
    let evaluator = Evaluator::new(wasm, HostOptions::default())?;
    let mut problems = Vec::new();
    for case in &cases {
        let got = evaluator.validate_settings(&case.settings)?;
        if got.valid || got.message.as_deref() != Some(case.message.as_str()) {
            problems.push(format!(
                "{}: valid={} {:?}",
                case.name, got.valid, got.message
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n").into())
    }
}

/// `KWCTL` when set (empty disables), else the team's copy beside the checkout.
fn kwctl() -> Option<PathBuf> {
    match std::env::var_os("KWCTL") {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)),
        None => Some(root().join("../shared/kubewarden/kwctl")).filter(|p| p.exists()),
    }
}

fn tempdir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "cip-cases-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn main() {
    let args = Arguments::from_args();
    let wasm = policy_wasm();
    assert!(
        wasm.exists(),
        "{} is missing: run `make policy.wasm` (or set POLICY_WASM)",
        wasm.display()
    );
    let mut trials = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("test_data/cases"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    paths.sort();
    assert!(!paths.is_empty(), "no cases in test_data/cases");
    let kwctl = kwctl();
    let mut cip_host_only = 0;
    for path in paths {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(kwctl) = &kwctl {
            if read_case(&path).is_ok_and(|case| !needs_cip_host(&case)) {
                let (path, wasm, kwctl) = (path.clone(), wasm.clone(), kwctl.clone());
                trials.push(Trial::test(format!("kwctl::{name}"), move || {
                    run_case_kwctl(&path, &wasm, &kwctl)
                }));
            } else {
                cip_host_only += 1;
            }
        }
        let wasm = wasm.clone();
        trials.push(Trial::test(format!("case::{name}"), move || {
            run_case(&path, &wasm)
        }));
    }
    match &kwctl {
        Some(kwctl) => eprintln!(
            "cases also run under {} ({cip_host_only} are cip-host only: oci/v2/verify_attestations, or a request kwctl refuses itself)",
            kwctl.display()
        ),
        None => eprintln!(
            "cases under kwctl skipped: no KWCTL and no ../shared/kubewarden/kwctl beside this checkout"
        ),
    }
    let wasm_for_settings = wasm.clone();
    trials.push(Trial::test("invalid_settings_corpus", move || {
        run_invalid_settings(&wasm_for_settings)
    }));
    libtest_mimic::run(&args, trials).exit();
}
