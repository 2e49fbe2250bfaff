//! Target `attestation`: in-toto statements as the host returns them (decoded by serde_json),
//! evaluated against attestation authorities with CUE and Rego policies.

use super::{bytes, corpus, json_corpus, json_or_bytes, run, Outcome, DEFAULT_ITERATIONS};
use crate::cip::compile::{
    AttestationPolicy, AuthorityKind, CompiledAttestation, CompiledAuthority,
};
use crate::cip::keys::HashAlgorithm;
use crate::test_host::FakeHost;
use crate::verify::judge::evaluate;
use crate::verify::verifier::Image;
use serde_json::Value;

const PREDICATE_TYPE: &str = "https://fuzz.example/predicate";
const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

/// Rego policies that read the whole statement: iteration, printing, counting.
const REGO: &[&str] = &[
    "package sigstore\ndefault isCompliant = false\nisCompliant { input.predicate.metadata.tools[_].name == \"trivy\" }",
    "package sigstore\nisCompliant = [r] { r := {\"result\": count(input.subject) > 0, \"error\": sprintf(\"%v\", [input.predicate]), \"warning\": \"\"} }",
    "package sigstore\nimport rego.v1\nisCompliant if {\n  every s in input.subject { startswith(s.name, \"ghcr.io/\") }\n  json.marshal(input) != \"\"\n  some p, v\n  walk(input.predicate, [p, v])\n  v == \"trivy\"\n}",
];

const KEYS: &[&str] = &[
    "_type",
    "predicateType",
    "subject",
    "predicate",
    "digest",
    "sha256",
    "name",
    "version",
    "metadata",
    "tools",
    "components",
    "specVersion",
    "buildDefinition",
    "runDetails",
    "builder",
    "id",
    "scanner",
    "result",
    "Data",
    "Timestamp",
    "trivy",
    PREDICATE_TYPE,
];

fn authority(policy: AttestationPolicy) -> CompiledAuthority {
    CompiledAuthority {
        name: "authority-0".into(),
        kind: AuthorityKind::Key {
            keys: vec![crate::verify::host::Pem::new("K")],
            hash: HashAlgorithm::Sha256,
        },
        attestations: vec![CompiledAttestation {
            name: "fuzzed".into(),
            predicate_type: PREDICATE_TYPE.into(),
            predicate_uri: PREDICATE_TYPE.into(),
            policy: Some(policy),
        }],
        bundle: false,
    }
}

#[test]
fn fuzz_attestation() {
    let seeds = corpus("attestation");
    let docs = json_corpus("attestation");
    // The CUE policies written for these statements (test_data/cue cases about attestations).
    let cue: Vec<CompiledAuthority> = json_corpus("cue_document")
        .iter()
        .filter(|c| docs.contains(&c["document"]))
        .filter_map(|c| crate::cue::compile(c["policy"].as_str()?).ok())
        .map(|p| authority(AttestationPolicy::Cue(p)))
        .collect();
    assert!(cue.len() > 20, "only {} CUE policies", cue.len());
    let rego: Vec<CompiledAuthority> = REGO
        .iter()
        .map(|p| authority(AttestationPolicy::Rego(crate::rego::compile(p).unwrap())))
        .collect();
    let mutator = bytes(&seeds, &[]);
    let image = Image {
        repo: "ghcr.io/acme/app",
        digest: DIGEST,
    };
    let accepted = run(
        "attestation",
        &seeds,
        DEFAULT_ITERATIONS,
        |rng, seed| json_or_bytes(rng, seed, &mutator, &docs, KEYS),
        |rng, input| {
            let Ok(mut statement) = serde_json::from_slice::<Value>(input) else {
                return Outcome::Rejected;
            };
            // Mostly of the wanted type, so the policy runs; else the type check is exercised.
            if rng.below(8) != 0 {
                if let Some(o) = statement.as_object_mut() {
                    o.insert("predicateType".into(), PREDICATE_TYPE.into());
                }
            }
            let mut passed = false;
            for pool in [&cue, &rego] {
                let Some(authority) = rng.pick(pool) else {
                    continue;
                };
                let mut host = FakeHost::default();
                host.attestations.push_back(Ok(vec![statement.clone()]));
                match evaluate(authority, image, &mut host) {
                    Ok(_) => passed = true,
                    Err(e) => assert!(!e.is_empty()),
                }
            }
            if passed {
                Outcome::Accepted
            } else {
                Outcome::Rejected
            }
        },
    );
    assert!(
        accepted > 20,
        "only {accepted} statements satisfied a policy"
    );
}
