//! The guest's own work for `make bench-kubewarden`'s request, natively: a 3-container Pod of
//! tagged images, one `key` authority, each image verified by one `oci/v2/verify` call whose
//! answer is canned. The whole `validate` export runs (payload decode, settings cache, decide,
//! request and answer JSON, pinning, response encode); only waPC's copies are missing. Run it
//! under `valgrind --tool=callgrind` to see where the time goes.
//!
//! `cargo bench -p cluster-image-policy --bench validate`

use cluster_image_policy::validate_with;
use cluster_image_policy::verify::host::WapcHost;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEBYheEylnySs0bxAHQJRIYcW1AnJ5
Y2I8Q4w/9tisxdmrIXyqjiDWtVkh6lF+gLyxCkhxPGJ9lgJGxCfyftcCqA==
-----END PUBLIC KEY-----
";

const DIGEST: &str = "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270";

/// The answer Kubewarden's host gives a verified key signature.
fn transport(namespace: &str, operation: &str, _payload: &[u8]) -> Result<Vec<u8>, String> {
    match (namespace, operation) {
        ("oci", "v2/verify") => {
            Ok(format!(r#"{{"is_trusted":true,"digest":"{DIGEST}"}}"#).into_bytes())
        }
        _ => Err(format!(
            "{namespace}/{operation} is not part of this benchmark"
        )),
    }
}

fn payload() -> Vec<u8> {
    let containers: Vec<Value> = ["a", "b", "c"]
        .iter()
        .map(|name| {
            json!({"name": name, "image": format!("registry.local:5000/bench/{name}:v1"),
                   "imagePullPolicy": "IfNotPresent", "resources": {}})
        })
        .collect();
    let request = json!({
        "uid": "bench", "operation": "CREATE",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": "default", "userInfo": {"username": "bench"},
        "object": {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "bench", "namespace": "default", "labels": {"app": "bench"}},
                   "spec": {"containers": containers, "restartPolicy": "Always"}}});
    let settings = json!({"policies": [{"name": "signed-by-key", "spec": {
        "images": [{"glob": "registry.local:5000/bench/**"}],
        "authorities": [{"key": {"data": KEY}}]}}]});
    serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap_or_default()
}

fn main() {
    let payload = payload();
    let mut host = WapcHost::over(transport);
    let answer: Value = validate_with(&payload, &mut host)
        .ok()
        .and_then(|a| serde_json::from_slice(&a).ok())
        .unwrap_or_default();
    assert_eq!(answer["accepted"], true, "{answer}");
    let pinned = &answer["mutated_object"]["spec"]["containers"][0]["image"];
    assert_eq!(
        pinned,
        &json!(format!("registry.local:5000/bench/a:v1@{DIGEST}"))
    );

    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20_000);
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let answer = validate_with(&payload, &mut host);
            let elapsed = start.elapsed();
            assert!(answer.is_ok());
            elapsed
        })
        .collect();
    samples.sort();
    let at = |p: f64| {
        samples
            .get(((runs as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or_default()
    };
    println!(
        "validate, 3-container Pod, one key authority, native: p50 {:?}, p99 {:?} ({runs} runs)",
        at(0.5),
        at(0.99)
    );
}
