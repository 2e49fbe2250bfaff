//! Live registry checks against Debian's `docker-registry` started on a free port (the test
//! fails when it is not installed; CI installs it).

mod common;
#[allow(dead_code)] // shared with the signature and attestation tests; this one needs a registry only
#[path = "common/registry.rs"]
mod registry;

use cip_host::{Evaluator, HostOptions};
use common::*;
use serde_json::json;

/// Runs the guest calling `operation` on `image`; returns the AdmissionResponse.
fn call(
    dir: &std::path::Path,
    operation: &str,
    image: &str,
    opts: HostOptions,
) -> serde_json::Value {
    let payload = serde_json::to_string(image).unwrap();
    let wasm = write_guest(
        dir,
        VALID,
        Validate::HostCall {
            namespace: "oci",
            operation,
            payload: &payload,
        },
    );
    let ev = Evaluator::new(&wasm, opts).unwrap();
    // object null: a mutation becomes the null-object rejection; we read the host answer
    // through the patch instead, so give an empty object.
    let mut req: serde_json::Value = serde_json::from_str(REQUEST).unwrap();
    req["object"] = json!({});
    let r = ev.validate(&req, &json!({})).unwrap();
    ev.finish().unwrap();
    r
}

fn host_answer(r: &serde_json::Value) -> serde_json::Value {
    use base64::Engine as _;
    let patch = base64::engine::general_purpose::STANDARD
        .decode(r["patch"].as_str().unwrap_or_else(|| panic!("{r}")))
        .unwrap();
    let patch: serde_json::Value = serde_json::from_slice(&patch).unwrap();
    // diff of {} against the answer: one add per top-level key
    let mut out = serde_json::Map::new();
    for op in patch.as_array().unwrap() {
        let key = op["path"]
            .as_str()
            .unwrap()
            .trim_start_matches('/')
            .to_string();
        out.insert(key, op["value"].clone());
    }
    serde_json::Value::Object(out)
}

#[test]
fn live_registry() {
    let dir = registry::scratch("live");
    let (_registry, reg) = registry::start_registry(&dir);
    let pushed =
        registry::Env::new(&dir, &reg).push_image(&format!("{reg}/knabben/netshoot"), "netshoot");
    let sources = write(
        &dir,
        "sources.yml",
        &format!("insecure_sources: [\"{reg}\"]\n"),
    );
    let live = || HostOptions {
        sources_path: Some(sources.clone()),
        ..Default::default()
    };
    let image = format!("{reg}/knabben/netshoot:v1");

    let digest = host_answer(&call(&dir, "v1/manifest_digest", &image, live()));
    let digest = digest["digest"].as_str().unwrap().to_string();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 71,
        "{digest}"
    );
    assert_eq!(Some(digest.as_str()), pushed.split('@').nth(1));

    let manifest = host_answer(&call(&dir, "v1/oci_manifest", &image, live()));
    assert_eq!(manifest["schemaVersion"], 2, "{manifest}");
    assert!(manifest["layers"].is_array());

    let mc = host_answer(&call(&dir, "v1/oci_manifest_config", &image, live()));
    assert_eq!(mc["digest"], digest.as_str());
    assert_eq!(mc["config"]["os"], "linux", "{mc}");
    assert_eq!(mc["manifest"]["schemaVersion"], 2);

    // a missing tag: the registry's error
    let r = call(
        &dir,
        "v1/manifest_digest",
        &format!("{reg}/knabben/netshoot:nope"),
        live(),
    );
    let message = r["status"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "internal server error: Guest call failure: Callback evaluation failure: "
        ),
        "{message}"
    );
    assert!(message.contains("manifests/nope"), "{message}");
    assert!(message.contains("manifest unknown"), "{message}");
    eprintln!("missing tag: {message}");

    // https (not in insecure_sources) to a plain-HTTP registry fails cleanly
    let r = call(&dir, "v1/manifest_digest", &image, HostOptions::default());
    eprintln!("no insecure source: {}", r["status"]["message"]);
    assert_eq!(r["status"]["code"], 500);

    // record, then replay without the registry
    let record = dir.join("session.yml");
    let recorded = call(
        &dir,
        "v1/oci_manifest_config",
        &image,
        HostOptions {
            record_path: Some(record.clone()),
            ..live()
        },
    );
    let text = std::fs::read_to_string(&record).unwrap();
    eprintln!("{text}");
    assert!(text.contains("!OciManifestAndConfig"));
    let replayed = call(
        &dir,
        "v1/oci_manifest_config",
        &image,
        HostOptions {
            replay_path: Some(record),
            ..Default::default()
        },
    );
    assert_eq!(recorded, replayed);
}
