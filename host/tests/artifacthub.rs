//! `cip-host scaffold artifacthub` on the repository's own metadata.yml and questions-ui.yml:
//! field for field what the real `kwctl scaffold artifacthub` writes (when kwctl is at hand),
//! plus the README as `readme`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `KWCTL` when set (empty disables), else the team's copy beside the checkout.
fn kwctl() -> Option<PathBuf> {
    match std::env::var_os("KWCTL") {
        Some(path) if path.is_empty() => None,
        Some(path) => Some(PathBuf::from(path)),
        None => Some(root().join("../shared/kubewarden/kwctl")).filter(|p| p.exists()),
    }
}

fn stdout_of(command: &mut Command) -> String {
    let out = command.current_dir(root()).output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ours(readme: bool) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cip-host"));
    command.args([
        "scaffold",
        "artifacthub",
        "-m",
        "metadata.yml",
        "-q",
        "questions-ui.yml",
    ]);
    if readme {
        command.args(["-u", "README.md"]);
    }
    stdout_of(&mut command)
}

/// The YAML without comments and without the line that differs by construction.
fn comparable(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("createdAt: "))
        .collect();
    format!("{}\n", lines.join("\n").trim_end())
}

#[test]
fn same_package_as_kwctl_but_created_at() {
    let Some(kwctl) = kwctl() else {
        eprintln!("comparison with kwctl skipped: no KWCTL and no ../shared/kubewarden/kwctl beside this checkout");
        return;
    };
    let theirs = stdout_of(
        Command::new(kwctl)
            .env_remove("RUST_BACKTRACE")
            .args(["scaffold", "artifacthub", "--metadata-path", "metadata.yml"])
            .args(["--questions-path", "questions-ui.yml"]),
    );
    assert_eq!(comparable(&ours(false)), comparable(&theirs));
}

#[test]
fn readme_is_the_readme_and_the_only_addition() {
    let with: serde_yaml::Mapping = serde_yaml::from_str(&ours(true)).unwrap();
    let without: serde_yaml::Mapping = serde_yaml::from_str(&ours(false)).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert_eq!(with.get("readme").and_then(|r| r.as_str()), Some(&*readme));
    let mut rest = with.clone();
    rest.remove("readme");
    rest.remove("createdAt");
    let mut without = without.clone();
    without.remove("createdAt");
    assert_eq!(rest, without);
}

#[test]
fn committed_package_is_what_the_inputs_generate() {
    let out = Command::new(env!("CARGO_BIN_EXE_cip-host"))
        .current_dir(root())
        .args(["scaffold", "artifacthub", "-m", "metadata.yml"])
        .args(["-q", "questions-ui.yml", "-u", "README.md"])
        .args(["-o", "artifacthub-pkg.yml", "--check"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn stale_package_is_reported_with_the_first_difference() {
    let dir = std::env::temp_dir().join(format!("cip-artifacthub-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let committed = std::fs::read_to_string(root().join("artifacthub-pkg.yml")).unwrap();
    let stale = dir.join("artifacthub-pkg.yml");
    std::fs::write(
        &stale,
        committed.replace(
            "kubewarden/mutation: 'true'",
            "kubewarden/mutation: 'false'",
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cip-host"))
        .current_dir(root())
        .args(["scaffold", "artifacthub", "-m", "metadata.yml"])
        .args(["-q", "questions-ui.yml", "-u", "README.md", "-o"])
        .arg(&stale)
        .arg("--check")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kubewarden/mutation: 'false'")
            && stderr.contains("regenerate it with `make artifacthub-pkg.yml`"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
