//! Targets `cue_source` (a policy's text, through the lexer, parser and resolver, then evaluated)
//! and `cue_document` (the JSON document a compiled policy is evaluated against).

use super::{bytes, corpus, json_or_bytes, run, Outcome, DEFAULT_ITERATIONS};
use crate::cue;
use serde_json::{json, Value};

const CUE_TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"(",
    b")",
    b":",
    b"::",
    b",",
    b"|",
    b"&",
    b"*",
    b"=~",
    b"!~",
    b"<=",
    b">=",
    b"!=",
    b"==",
    b"+",
    b"-",
    b"/",
    b"...",
    b"_|_",
    b"_",
    b"#D",
    b"#D: {a: int}",
    b"_h",
    b"?",
    b"!",
    b"[string]: ",
    b"(k): ",
    b"\"\\(",
    b"\"\"\"\n",
    b"'",
    b"'''\n",
    b"for k, v in ",
    b"if ",
    b"let x = ",
    b"import \"strings\"\n",
    b"package p\n",
    b"strings.",
    b"list.",
    b"struct.",
    b"time.",
    b"math.",
    b"regexp.",
    b"len(",
    b"close(",
    b"and(",
    b"or(",
    b"int",
    b"float",
    b"number",
    b"string",
    b"bytes",
    b"bool",
    b"null",
    b"0x",
    b"0o",
    b"0b",
    b"1e",
    b"1Ki",
    b".5",
    b"//",
    b"/*",
    b"@attr",
    b"X=",
    b"#\"",
    b"predicate",
    b"a.b.c",
    b"a[0]",
    b"a[\"k\"]",
    b"\\u0000",
    b"\\U0010ffff",
    b"\\(",
];

/// A statement shaped like the real ones, for policies compiled from mutated source.
fn statement() -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": "https://cyclonedx.org/bom",
        "subject": [{"name": "ghcr.io/acme/app", "digest": {"sha256": "aa"}}],
        "predicate": {"specVersion": "1.4", "metadata": {"tools": [{"name": "trivy", "version": "0.36.1"}]},
            "components": [{"name": "openssl", "version": "3.0.2"}]}
    })
}

#[test]
fn fuzz_cue_source() {
    let seeds = corpus("cue_source");
    let mutator = bytes(&seeds, CUE_TOKENS);
    let documents = [statement(), json!({}), json!({"predicate": [1, "a", null]})];
    let accepted = run(
        "cue_source",
        &seeds,
        DEFAULT_ITERATIONS,
        |rng, seed| mutator.mutate(rng, seed),
        |rng, input| {
            let Ok(program) = cue::compile(&String::from_utf8_lossy(input)) else {
                return Outcome::Rejected;
            };
            let document = &documents[rng.below(documents.len())];
            match program.evaluate(document) {
                Ok(()) => {}
                Err(e) => assert!(!e.is_empty(), "an empty evaluation error"),
            }
            Outcome::Accepted
        },
    );
    assert!(accepted > 100, "only {accepted} policies compiled");
}

const DOCUMENT_KEYS: &[&str] = &[
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
    "externalParameters",
    "workflow",
    "ref",
    "repository",
    "scanner",
    "result",
    "Data",
    "Timestamp",
    "trivy",
    "syft",
    "1.4",
    "2024-01-01T00:00:00Z",
    "#D",
    "_h",
];

#[test]
fn fuzz_cue_document() {
    let seeds = corpus("cue_document");
    let cases: Vec<Value> = super::json_corpus("cue_document");
    let programs: Vec<Option<cue::Program>> = cases
        .iter()
        .map(|c| cue::compile(c["policy"].as_str().unwrap_or_default()).ok())
        .collect();
    assert!(programs.iter().filter(|p| p.is_some()).count() > 200);
    let documents: Vec<Value> = cases.iter().map(|c| c["document"].clone()).collect();
    let document_seeds: Vec<Vec<u8>> = documents
        .iter()
        .map(|d| serde_json::to_vec(d).unwrap())
        .collect();
    let mutator = bytes(&document_seeds, &[]);
    let accepted = run(
        "cue_document",
        &seeds,
        DEFAULT_ITERATIONS,
        |rng, seed| {
            // The input is a whole case file; only its document is mutated.
            let Ok(mut case) = serde_json::from_slice::<Value>(seed) else {
                return seed.to_vec();
            };
            let document = serde_json::to_vec(&case["document"]).unwrap();
            let mutated = json_or_bytes(rng, &document, &mutator, &documents, DOCUMENT_KEYS);
            // Documents arrive decoded by serde_json: anything it refuses never reaches CUE.
            match serde_json::from_slice::<Value>(&mutated) {
                Ok(d) => case["document"] = d,
                Err(_) => return Vec::new(),
            }
            serde_json::to_vec(&case).unwrap()
        },
        |_, input| {
            let Ok(case) = serde_json::from_slice::<Value>(input) else {
                return Outcome::Rejected;
            };
            let policy = case["policy"].as_str().unwrap_or_default();
            let program = cases
                .iter()
                .position(|c| c["policy"].as_str() == Some(policy))
                .and_then(|i| programs[i].as_ref());
            let Some(program) = program else {
                return Outcome::Rejected;
            };
            match program.evaluate(&case["document"]) {
                Ok(()) => Outcome::Accepted,
                Err(e) => {
                    assert!(!e.is_empty(), "an empty evaluation error");
                    Outcome::Rejected
                }
            }
        },
    );
    assert!(
        accepted > 50,
        "only {accepted} documents passed their policy"
    );
}
