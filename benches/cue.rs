//! Times our CUE evaluator on the seed's policy against in-toto statements whose predicate is a
//! CycloneDX SBOM of about 10 KB and 1 MB (issue 5), plus the failure path (an SBOM made by syft).
//!
//! `cargo bench -p cluster-image-policy --bench cue`; with `CUE_BENCH_WRITE=1` it also writes the
//! documents to `target/cue-bench/{10k,1m,syft}.json` (and the policy to `policy.cue`) for
//! `tests/cue-real/bench.mjs`, which times real CUE on the same files.

use cluster_image_policy::cue;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const SEED_POLICY: &str = r#"predicateType: "https://cyclonedx.org/bom"
predicate: {
    specVersion: "1.4"
    metadata: {
        tools: [
            {
                name: "trivy"
            }
        ]
    }
}
"#;

/// A deterministic pseudo-random generator (xorshift), so the documents are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn component(rng: &mut Rng, i: usize) -> Value {
    let ecosystems = ["npm", "pypi", "golang", "maven", "deb", "apk"];
    let licenses = ["MIT", "Apache-2.0", "BSD-3-Clause", "GPL-2.0-only", "ISC"];
    let eco = rng.pick(&ecosystems);
    let name = format!("pkg-{}-{i}", rng.hex(6));
    let version = format!(
        "{}.{}.{}",
        rng.next() % 10,
        rng.next() % 30,
        rng.next() % 100
    );
    let purl = format!("pkg:{eco}/{name}@{version}");
    json!({
        "bom-ref": purl,
        "type": "library",
        "name": name,
        "version": version,
        "purl": purl,
        "licenses": [{"license": {"id": rng.pick(&licenses)}}],
        "hashes": [
            {"alg": "SHA-256", "content": rng.hex(64)},
            {"alg": "SHA-1", "content": rng.hex(40)}
        ],
        "properties": [
            {"name": "aquasecurity:trivy:PkgType", "value": eco},
            {"name": "aquasecurity:trivy:FilePath", "value": format!("/usr/lib/{eco}/{name}/package.json")},
            {"name": "aquasecurity:trivy:LayerDiffID", "value": format!("sha256:{}", rng.hex(64))}
        ]
    })
}

/// An in-toto statement carrying a CycloneDX 1.4 SBOM of about `target` bytes made by `tool`.
fn statement(target: usize, tool: &str) -> Value {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut components = Vec::new();
    let mut size = 0;
    while size < target.saturating_sub(1200) {
        let c = component(&mut rng, components.len());
        size += serde_json::to_string(&c).map_or(0, |s| s.len() + 1);
        components.push(c);
    }
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://cyclonedx.org/bom",
        "subject": [{
            "name": "registry.example.com/app",
            "digest": {"sha256": rng.hex(64)}
        }],
        "predicate": {
            "bomFormat": "CycloneDX",
            "specVersion": "1.4",
            "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
            "version": 1,
            "metadata": {
                "timestamp": "2024-05-01T12:00:00+00:00",
                "tools": [{"vendor": if tool == "trivy" { "aquasecurity" } else { "anchore" }, "name": tool, "version": "0.50.1"}],
                "component": {
                    "bom-ref": "pkg:oci/app@sha256:0123",
                    "type": "container",
                    "name": "registry.example.com/app",
                    "properties": [{"name": "aquasecurity:trivy:SchemaVersion", "value": "2"}]
                }
            },
            "components": components,
            "dependencies": [],
            "vulnerabilities": []
        }
    })
}

fn time(program: &cue::Program, doc: &Value, n: usize) -> (Duration, Duration, Result<(), String>) {
    let first = program.evaluate(doc);
    let mut ts: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let r = program.evaluate(doc);
            let d = t.elapsed();
            assert_eq!(r, first, "evaluation not deterministic");
            d
        })
        .collect();
    ts.sort();
    (ts[ts.len() / 2], ts[0], first)
}

/// Parsing the statement's JSON text and evaluating it, as the policy does with an attestation.
fn time_with_parse(program: &cue::Program, text: &str, n: usize) -> (Duration, Duration) {
    let mut ts: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let doc: Value = serde_json::from_str(text).expect("parse");
            let _ = std::hint::black_box(program.evaluate(&doc));
            t.elapsed()
        })
        .collect();
    ts.sort();
    (ts[ts.len() / 2], ts[0])
}

fn main() {
    let program = cue::compile(SEED_POLICY).expect("seed policy compiles");
    let docs = [
        ("10 KB", "10k", statement(10 << 10, "trivy"), 200),
        ("1 MB", "1m", statement(1 << 20, "trivy"), 30),
        (
            "1 MB syft (failing)",
            "syft",
            statement(1 << 20, "syft"),
            30,
        ),
    ];
    let write = std::env::var_os("CUE_BENCH_WRITE").is_some_and(|v| v == "1");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/cue-bench");
    if write {
        std::fs::create_dir_all(&out).expect("create target/cue-bench");
        std::fs::write(out.join("policy.cue"), SEED_POLICY).expect("write policy");
    }
    for (label, file, doc, n) in &docs {
        let text = serde_json::to_string(doc).expect("serialize");
        if write {
            std::fs::write(out.join(format!("{file}.json")), &text).expect("write document");
        }
        let (p50, min, r) = time(&program, doc, *n);
        println!(
            "cue seed policy, {label} SBOM ({} bytes, {} runs): p50 {p50:?}, min {min:?}",
            text.len(),
            n
        );
        let (pp50, pmin) = time_with_parse(&program, &text, *n);
        println!("  with JSON parsing of the statement: p50 {pp50:?}, min {pmin:?}");
        match r {
            Ok(()) => println!("  verdict: pass"),
            Err(e) => println!("  verdict: fail: {e}"),
        }
    }
    // For comparison: a policy that constrains every component, so the whole SBOM is evaluated.
    let every = cue::compile(&format!(
        "{SEED_POLICY}predicate: components: [...{{name: string, version: =~\"^[0-9]\"}}]\n"
    ))
    .expect("per-component policy compiles");
    let (p50, min, r) = time(&every, &docs[1].2, 10);
    println!("cue per-component policy, 1 MB SBOM (10 runs): p50 {p50:?}, min {min:?}");
    println!("  verdict: {}", if r.is_ok() { "pass" } else { "fail" });
    if write {
        println!("documents written to {}", out.display());
    }
}
