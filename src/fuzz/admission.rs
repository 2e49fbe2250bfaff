//! Target `admission`: the admission request, decided against every compiling settings seed
//! with a host that answers mutated registry data.

use super::{bytes, corpus, json_corpus, json_or_bytes, run, Outcome, DEFAULT_ITERATIONS};
use crate::admission::object::Object;
use crate::admission::request::AdmissionRequest;
use crate::admission::workload;
use crate::decide::decide;
use crate::settings::Settings;
use crate::test_host::{FakeHost, Garbage};

const KEYS: &[&str] = &[
    "uid",
    "kind",
    "group",
    "version",
    "resource",
    "subResource",
    "operation",
    "CREATE",
    "UPDATE",
    "DELETE",
    "CONNECT",
    "object",
    "oldObject",
    "metadata",
    "labels",
    "annotations",
    "deletionTimestamp",
    "spec",
    "replicas",
    "template",
    "jobTemplate",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "volumes",
    "image",
    "reference",
    "name",
    "Pod",
    "Deployment",
    "CronJob",
    "apps",
    "batch",
    "v1",
    "nginx",
    "ghcr.io/a/b:1",
    "127.0.0.1:37765/app/trivy:v1",
    "x/y@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "localhost:5000/A/B",
    "a:b:c",
    "@",
    "",
];

const TOKENS: &[&[u8]] = &[
    b"\"image\":\"",
    b"\"containers\":[{\"image\":\"x\"}]",
    b"\"operation\":\"UPDATE\"",
    b"\"oldObject\":",
    b"@sha256:",
    b":latest",
    b"docker.io/library/",
    b"127.0.0.1:5000/",
];

#[test]
fn fuzz_admission() {
    let seeds = corpus("admission");
    let docs = json_corpus("admission");
    let settings: Vec<Settings> = corpus("settings")
        .iter()
        .filter_map(|s| Settings::compile(s).ok())
        .collect();
    assert!(
        settings.len() > 15,
        "only {} settings seeds compile",
        settings.len()
    );
    let manifests = corpus("signatures");
    let statements = corpus("attestation");
    let mutator = bytes(&seeds, TOKENS);
    let accepted = run(
        "admission",
        &seeds,
        DEFAULT_ITERATIONS,
        |rng, seed| json_or_bytes(rng, seed, &mutator, &docs, KEYS),
        |rng, input| {
            let Ok(request) = serde_json::from_slice::<AdmissionRequest>(input) else {
                return Outcome::Rejected;
            };
            let Some(settings) = rng.pick(&settings) else {
                return Outcome::Rejected;
            };
            let mut host = FakeHost::garbage(Garbage {
                rng: super::mutate::Rng::new(rng.next()),
                manifests: manifests.clone(),
                statements: statements.clone(),
            });
            if let Some(object) = &request.object {
                object_view_agrees(object.get(), &request.kind.kind);
            }
            let decision = decide(settings, &request, &mut host);
            assert!(
                decision.allowed || decision.message.as_deref().is_some_and(|m| !m.is_empty()),
                "a denial without a message: {decision:?}"
            );
            Outcome::Accepted
        },
    );
    assert!(
        accepted > 100,
        "only {accepted} requests reached a decision"
    );
}

/// The borrowed view of an object finds what the general reader finds in its decoded value, for
/// every kind, and its pins write what pinning the value writes.
fn object_view_agrees(text: &str, kind: &str) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return;
    };
    let object = Object::new(text);
    let str_at = |keys: &[&str]| {
        keys.iter()
            .try_fold(&value, |v, k| v.get(k))
            .and_then(serde_json::Value::as_str)
    };
    assert_eq!(object.kind(), str_at(&["kind"]).unwrap_or(""), "{text}");
    assert_eq!(object.api_version(), str_at(&["apiVersion"]), "{text}");
    let labels: std::collections::BTreeMap<String, String> = value
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(serde_json::Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect();
    assert_eq!(object.labels(), labels, "{text}");
    assert_eq!(
        object.replicas(),
        value
            .pointer("/spec/replicas")
            .and_then(serde_json::Value::as_i64),
        "{text}"
    );
    assert_eq!(
        object.deletion_timestamp_set(),
        value
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|t| !t.is_null()),
        "{text}"
    );
    for kind in [kind, "Pod", "Deployment", "CronJob", "Unknown"] {
        let found = object.images(kind);
        assert_eq!(found, workload::images(kind, &value), "{kind}: {text}");
        let Ok(Some(sites)) = found else {
            continue;
        };
        let pins: Vec<_> = sites
            .into_iter()
            .map(|site| {
                let pinned = format!("{}@sha256:{}", site.image, "a".repeat(64));
                (site, pinned)
            })
            .collect();
        let mut expected = value.clone();
        for (site, pinned) in &pins {
            if let Some(slot) = expected.pointer_mut(&site.pointer()) {
                *slot = serde_json::Value::String(pinned.clone());
            }
        }
        let written = object
            .pinned(&pins)
            .unwrap()
            .map(|raw| serde_json::from_str::<serde_json::Value>(&raw).unwrap());
        let expected = (!pins.is_empty()).then_some(expected);
        assert_eq!(written, expected, "{kind}: {text}");
    }
}
