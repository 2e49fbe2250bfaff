//! Target `admission`: the admission request, decided against every compiling settings seed
//! with a host that answers mutated registry data.

use super::{bytes, corpus, json_corpus, json_or_bytes, run, Outcome, DEFAULT_ITERATIONS};
use crate::admission::request::AdmissionRequest;
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
