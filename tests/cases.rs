//! Decision cases as data, run through the built policy.wasm in cip-host with recorded host
//! answers: one test per `test_data/cases/*.yaml`, plus the invalid-settings corpus.

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

fn run_case(path: &Path, wasm: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    let case: Case = serde_yaml::from_str(&text)?;
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
    evaluator.finish()?;
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
    for path in paths {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let wasm = wasm.clone();
        trials.push(Trial::test(format!("case::{name}"), move || {
            run_case(&path, &wasm)
        }));
    }
    let wasm_for_settings = wasm.clone();
    trials.push(Trial::test("invalid_settings_corpus", move || {
        run_invalid_settings(&wasm_for_settings)
    }));
    libtest_mimic::run(&args, trials).exit();
}
