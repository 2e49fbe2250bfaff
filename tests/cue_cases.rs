//! CUE evaluator cases as data: one test per `test_data/cue/*.json`, named for its file, run
//! through `cue::compile` and `Program::evaluate`. `make cue-agreement` runs the same files
//! through real CUE.

use cluster_image_policy::cue;
use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};

/// One case file: `{"note", "policy", "document", "expect": "pass" | {"error": msg} | {"compile_error": substring}}`.
fn run_case(path: &Path) -> Result<(), Failed> {
    let text = std::fs::read_to_string(path)?;
    let case: serde_json::Value = serde_json::from_str(&text)?;
    let policy = case["policy"].as_str().ok_or("policy missing")?;
    let expect = &case["expect"];
    let compiled = cue::compile(policy);
    if let Some(want) = expect.get("compile_error").and_then(|v| v.as_str()) {
        return match compiled {
            Err(e) if e.contains(want) => Ok(()),
            Err(e) => Err(format!("compile error {e:?} does not contain {want:?}").into()),
            Ok(_) => Err(format!("compiled, expected compile error {want:?}").into()),
        };
    }
    let program = compiled.map_err(|e| format!("compile error: {e}"))?;
    let got = program.evaluate(&case["document"]);
    match (
        expect.as_str(),
        expect.get("error").and_then(|v| v.as_str()),
        got,
    ) {
        (Some("pass"), _, Ok(())) => Ok(()),
        (Some("pass"), _, Err(e)) => Err(format!("expected pass, got error {e:?}").into()),
        (_, Some(want), Err(e)) if e == want => Ok(()),
        (_, Some(want), Err(e)) => Err(format!("expected error {want:?}, got {e:?}").into()),
        (_, Some(want), Ok(())) => Err(format!("expected error {want:?}, got pass").into()),
        _ => Err("bad expect".into()),
    }
}

fn main() {
    let args = Arguments::from_args();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_data/cue");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    // A moved or emptied directory must fail loudly, not pass with nothing run.
    assert!(
        paths.len() >= 150,
        "only {} case files in {}",
        paths.len(),
        dir.display()
    );
    let trials = paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Trial::test(name, move || run_case(&path))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
