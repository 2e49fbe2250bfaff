//! Times one whole admission decision as policies x images grows (issue 9): a Pod with N
//! containers, each a distinct digest reference (no tag to resolve, so no host call), against
//! M policies with `static: pass` authorities.
//! - "distinct": every policy covers its own registry, one image per policy: the glob index
//!   lets an image try only the globs whose literal prefix begins its name.
//! - "all match": every policy's glob is `**`, so every image is judged by every policy: the
//!   work is M x N by definition, the worst a settings document can ask for.
//!
//! `cargo bench -p cluster-image-policy --bench decide`

use cluster_image_policy::admission::request::AdmissionRequest;
use cluster_image_policy::decide::decide;
use cluster_image_policy::settings::Settings;
use cluster_image_policy::verify::host::{Host, HostError, VerifyRequest};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Every call fails: the benchmark's images are digests and its authorities static.
struct NoHost;

impl Host for NoHost {
    fn manifest_digest(&mut self, _: &str) -> Result<String, HostError> {
        Err(no_host())
    }
    fn oci_manifest(&mut self, _: &str) -> Result<Vec<u8>, HostError> {
        Err(no_host())
    }
    fn oci_manifest_config(&mut self, _: &str) -> Result<Vec<u8>, HostError> {
        Err(no_host())
    }
    fn verify(&mut self, _: &VerifyRequest) -> Result<String, HostError> {
        Err(no_host())
    }
    fn verify_attestations(
        &mut self,
        _: &str,
        _: &str,
        _: &VerifyRequest,
    ) -> Result<Vec<Value>, HostError> {
        Err(no_host())
    }
    fn certificate_trusted(
        &mut self,
        _: &str,
        _: &[String],
        _: Option<String>,
    ) -> Result<(), HostError> {
        Err(no_host())
    }
}

fn no_host() -> HostError {
    HostError::refused("no host".into())
}

fn settings(policies: usize, glob: impl Fn(usize) -> String) -> Settings {
    let policies: Vec<Value> = (0..policies)
        .map(|i| {
            json!({"name": format!("p{i}"), "spec": {
                "images": [{"glob": glob(i)}],
                "authorities": [{"static": {"action": "pass"}}]}})
        })
        .collect();
    let raw = json!({ "policies": policies }).to_string();
    Settings::compile(raw.as_bytes()).expect("benchmark settings compile")
}

fn pod(images: usize) -> AdmissionRequest {
    let containers: Vec<Value> = (0..images)
        .map(|i| {
            json!({"name": format!("c{i}"),
                   "image": format!("r{i}.example.com/team/app@sha256:{:064x}", i)})
        })
        .collect();
    let request = json!({"uid": "b", "operation": "CREATE", "kind": {"kind": "Pod"},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": containers}}});
    AdmissionRequest::from_value(&request).expect("benchmark request decodes")
}

fn time(settings: &Settings, request: &AdmissionRequest, runs: usize) -> (Duration, Duration) {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let decision = decide(settings, request, &mut NoHost);
            let elapsed = start.elapsed();
            assert!(decision.allowed, "{:?}", decision.message);
            elapsed
        })
        .collect();
    samples.sort();
    let median = samples.get(runs / 2).copied().unwrap_or_default();
    let min = samples.first().copied().unwrap_or_default();
    (median, min)
}

fn main() {
    for (policies, images, runs) in [(100, 100, 50), (1000, 1000, 10), (5000, 5000, 3)] {
        let distinct = settings(policies, |i| format!("r{i}.example.com/team/**"));
        let request = pod(images);
        let (p50, min) = time(&distinct, &request, runs);
        println!("decide, {policies} policies x {images} images, distinct globs: p50 {p50:?}, min {min:?} ({runs} runs)");
    }
    for (policies, images, runs) in [(100, 100, 20), (1000, 1000, 3)] {
        let all = settings(policies, |_| "**".to_string());
        let (p50, min) = time(&all, &pod(images), runs);
        println!("decide, {policies} policies x {images} images, every glob `**`: p50 {p50:?}, min {min:?} ({runs} runs)");
    }
}
