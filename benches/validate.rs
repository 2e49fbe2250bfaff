//! The guest's own work for `make bench-kubewarden`'s request, natively: a 3-container Pod of
//! tagged images, one `key` authority, each image verified by one `oci/v2/verify` call whose
//! answer is canned. The whole `validate` export runs (payload decode, settings cache, decide,
//! request and answer JSON, pinning, response encode); only waPC's copies are missing. Run it
//! under `valgrind --tool=callgrind` to see where the time goes.
//!
//! Then what policy-server pays on each request before deciding, since it evaluates on a fresh
//! instance: compiling the 50-CIP settings of `make bench` for admission.
//!
//! `cargo bench -p cluster-image-policy --bench validate`

use cluster_image_policy::settings::Settings;
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

/// Counts allocations: in wasm, where malloc is dearer than natively, they weigh more.
struct Counting;

static ALLOCATIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        unsafe { std::alloc::System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations(work: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed);
    work();
    ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed) - before
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
    let (p50, p99) = measure(runs, || {
        timed(|| validate_with(&payload, &mut host).is_ok())
    });
    println!("validate, 3-container Pod, one key authority, native: p50 {p50:?}, p99 {p99:?} ({runs} runs)");
    let count = allocations(|| {
        let _ = validate_with(&payload, &mut host);
    });
    println!("  allocations (and reallocations) per request: {count}");

    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/test_data/bench/50-cips.yaml"
    ))
    .unwrap_or_default();
    let doc: Value = serde_yaml::from_str(&yaml).unwrap_or_default();
    let settings = serde_json::to_vec(&doc).unwrap_or_default();
    assert!(Settings::compile_for_admission(&settings).is_ok());
    let runs = runs / 20;
    let (p50, p99) = measure(runs, || {
        timed(|| Settings::compile_for_admission(&settings).is_ok())
    });
    println!("settings for admission, 50 CIPs, native: p50 {p50:?}, p99 {p99:?} ({runs} runs)");

    // What a fresh instance pays for the three CIPs the Deployment's images match: their
    // authorities validated and compiled on first use (a key, a regular expression, CUE).
    let (p50, p99) = measure(runs, || {
        let compiled = Settings::compile_for_admission(&settings);
        let policies = compiled.map(|s| s.policies).unwrap_or_default();
        timed(|| {
            let used = policies
                .iter()
                .filter(|p| !p.name.starts_with("other-"))
                .map(|p| p.rules().is_ok())
                .collect::<Vec<_>>();
            used == [true, true, true]
        })
    });
    println!(
        "first use of the 3 matching CIPs' rules, native: p50 {p50:?}, p99 {p99:?} ({runs} runs)"
    );
}

/// The time of one run of `work`, which must succeed.
fn timed(work: impl FnOnce() -> bool) -> Duration {
    let start = Instant::now();
    let succeeded = work();
    let elapsed = start.elapsed();
    assert!(succeeded);
    elapsed
}

/// p50 and p99 of `runs` samples.
fn measure(runs: usize, mut sample: impl FnMut() -> Duration) -> (Duration, Duration) {
    percentiles((0..runs).map(|_| sample()).collect())
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |p: f64| {
        samples
            .get(((samples.len() as f64 - 1.0) * p) as usize)
            .copied()
            .unwrap_or_default()
    };
    (at(0.5), at(0.99))
}
