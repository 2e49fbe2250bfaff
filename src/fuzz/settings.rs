//! Target `settings`: the settings document, as Kubewarden hands it to `validate_settings`.

use super::{bytes, corpus, json_or_bytes, run, Outcome, DEFAULT_ITERATIONS};
use crate::settings::Settings;

/// Field names and values of CIP settings, for insertions.
pub const KEYS: &[&str] = &[
    "policies",
    "noMatchPolicy",
    "failOnEmptyAuthorities",
    "pinDigests",
    "apiVersion",
    "kind",
    "metadata",
    "name",
    "spec",
    "images",
    "glob",
    "authorities",
    "key",
    "data",
    "kms",
    "secretRef",
    "hashAlgorithm",
    "keyless",
    "url",
    "identities",
    "issuer",
    "subject",
    "issuerRegExp",
    "subjectRegExp",
    "ca-cert",
    "trustRootRef",
    "insecureIgnoreSCT",
    "static",
    "action",
    "pass",
    "fail",
    "message",
    "source",
    "oci",
    "ctlog",
    "signatureFormat",
    "attestations",
    "predicateType",
    "policy",
    "type",
    "cue",
    "rego",
    "mode",
    "warn",
    "enforce",
    "match",
    "group",
    "version",
    "resource",
    "selector",
    "matchLabels",
    "matchExpressions",
    "operator",
    "values",
    "In",
    "NotIn",
    "Exists",
    "DoesNotExist",
    "**",
    "*",
    "ghcr.io/**",
    "(a+)+$",
    "[",
    "^.*$",
    "sha512",
    "cyclonedx",
    "slsaprovenance",
    "custom",
    "vuln",
    "https://cyclonedx.org/bom",
    "package sigstore\nisCompliant = true",
    "predicate: x: >1",
    "policy.sigstore.dev/v1beta1",
    "ClusterImagePolicy",
];

const TOKENS: &[&[u8]] = &[
    b"\"policies\":",
    b"\"authorities\":[",
    b"\"glob\":\"",
    b"\"static\":{\"action\":\"pass\"}",
    b"\"subjectRegExp\":\"",
    b"(?i)",
    b"\\\\p{L}",
    b"{1000}{1000}",
    b"-----BEGIN PUBLIC KEY-----\\n",
    b"\"type\":\"rego\",\"data\":\"",
    b"\"type\":\"cue\",\"data\":\"",
];

#[test]
fn fuzz_settings() {
    let seeds = corpus("settings");
    let docs = super::json_corpus("settings");
    let mutator = bytes(&seeds, TOKENS);
    let accepted = run(
        "settings",
        &seeds,
        DEFAULT_ITERATIONS,
        |rng, seed| json_or_bytes(rng, seed, &mutator, &docs, KEYS),
        |_, input| match Settings::compile(input) {
            Ok(_) => Outcome::Accepted,
            Err(e) => {
                assert!(!e.is_empty(), "an empty settings error");
                Outcome::Rejected
            }
        },
    );
    assert!(accepted > 0, "no settings compiled");
}
