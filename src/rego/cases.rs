//! Every `test_data/rego/*.json` case through ours, in process: the verdict must be the expected
//! one, and the message too unless `tests/opa-real/allow-list.json` lists the case under
//! `known_message_differences`. (`make rego-agreement` runs the same cases through real OPA and
//! through policy.wasm; this runs them where PyPI cannot be reached.)

use crate::policy_eval::evaluate;
use serde_json::Value;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run_case(path: &Path, known: &serde_json::Map<String, Value>) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let policy = case["policy"].as_str().ok_or("policy missing")?;
    let name = case["name"].as_str().unwrap_or("ClusterImagePolicy");
    let got = evaluate("rego", policy, &case["input"], name);
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    match (&case["expect"], got) {
        (Value::String(s), Ok(())) if s == "pass" => Ok(()),
        (Value::String(s), Err(e)) if s == "pass" => Err(format!("expected pass, got {e:?}")),
        (expect, got) => {
            let want = expect["message"].as_str().ok_or("bad expect")?;
            match got {
                Ok(()) => Err(format!("expected {want:?}, got pass")),
                Err(e) if e == want || known.contains_key(stem) => Ok(()),
                Err(e) => Err(format!("expected {want:?}, got {e:?}")),
            }
        }
    }
}

#[test]
fn case_files() {
    let allow = std::fs::read_to_string(root().join("tests/opa-real/allow-list.json"))
        .expect("tests/opa-real/allow-list.json");
    let allow: Value = serde_json::from_str(&allow).expect("allow-list.json is JSON");
    let known = allow["known_message_differences"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let mut paths: Vec<_> = std::fs::read_dir(root().join("test_data/rego"))
        .expect("test_data/rego")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 100, "only {} case files", paths.len());
    let failures: Vec<String> = paths
        .iter()
        .filter_map(|p| {
            run_case(p, &known)
                .err()
                .map(|e| format!("{}: {e}", p.display()))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        paths.len(),
        failures.join("\n")
    );
}
