use super::*;

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    settings: serde_json::Value,
    message: String,
}

/// Every row of `test_data/settings/invalid.yaml` is rejected with exactly its message.
#[test]
fn invalid_settings_corpus() {
    let text = include_str!("../test_data/settings/invalid.yaml");
    let cases: Vec<Case> = serde_yaml::from_str(text).unwrap();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let got = Settings::compile(case.settings.to_string().as_bytes());
        match got {
            Err(message) if message == case.message => {}
            Err(message) => failures.push(format!(
                "{}:\n  want {:?}\n  got  {:?}",
                case.name, case.message, message
            )),
            Ok(_) => failures.push(format!("{}: accepted", case.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn defaults() {
    let s = Settings::compile(b"{}").unwrap();
    assert_eq!(s.no_match, NoMatchPolicy::Deny);
    assert!(s.pin_digests);
    assert!(s.policies.is_empty());
    let s = Settings::compile(b"null").unwrap();
    assert_eq!(s.no_match, NoMatchPolicy::Deny);
}

#[test]
fn full_documents_and_name_spec_pairs_and_authority_names() {
    let s = Settings::compile(
        serde_json::json!({"policies": [
            {"apiVersion": "policy.sigstore.dev/v1alpha1", "kind": "ClusterImagePolicy",
             "metadata": {"name": "a", "labels": {"x": "y"}},
             "spec": {"images": [{"glob": "**"}], "authorities": [{"static": {"action": "pass"}}, {"name": "named", "static": {"action": "fail"}}]}},
            {"name": "b", "spec": {"images": [{"glob": "**"}], "authorities": [{"static": {"action": "pass"}}]}}
        ]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let names: Vec<_> = s.policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let authorities: Vec<_> = s.policies[0]
        .authorities()
        .unwrap()
        .iter()
        .map(|a| a.name.as_str())
        .collect();
    assert_eq!(authorities, ["authority-0", "named"]);
}

#[test]
fn warnings_do_not_invalidate() {
    let s = Settings::compile(
        serde_json::json!({"policies": [{"name": "p", "spec": {"images": [{"glob": "**"}], "authorities": [
            {"keyless": {"identities": [{"issuer": "i", "subject": "s"}]}, "attestations": [{"name": "sbom", "predicateType": "cyclonedx"}]}
        ]}}]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        s.warnings,
        vec!["policies[0] (p): invalid value: cyclonedx: spec.authorities[0].attestations.predicateType\ndeprecated value, please use RFC 3986 conformant values".to_string()]
    );
}

#[test]
fn unanchored_identity_expressions_warn() {
    let settings = |re: &str| {
        serde_json::json!({"policies": [{"name": "p", "spec": {"images": [{"glob": "**"}], "authorities": [
            {"keyless": {"identities": [{"issuer": "i", "subjectRegExp": re}]}}
        ]}}]})
        .to_string()
    };
    let s = Settings::compile(settings("@example\\.com").as_bytes()).unwrap();
    assert_eq!(
        s.warnings,
        vec!["policies[0] (p): regular expression is not anchored: spec.authorities[0].keyless.identities[0].subjectRegExp\n\"@example\\\\.com\" matches anywhere in the value, as in policy-controller; write ^...$ to match the whole value".to_string()]
    );
    let s = Settings::compile(settings("^.*@example\\.com$").as_bytes()).unwrap();
    assert!(s.warnings.is_empty());
}

/// Admission loads a policy's authorities on first use: the same document that validation
/// refuses still decides every image the broken policy does not cover, and an image it covers
/// is denied with validation's reason.
#[test]
fn admission_compiles_authorities_when_first_needed() {
    // An invalid key, an unknown field, a field of the wrong type: validation's errors, and
    // decoding's, both met on first use.
    for broken in [
        serde_json::json!([{"key": {"data": "not a key"}}]),
        serde_json::json!([{"key": {"data": "x", "colour": "red"}}]),
        serde_json::json!([{"static": {"action": 1}}]),
    ] {
        let doc = serde_json::json!({"policies": [
            {"name": "good", "spec": {"images": [{"glob": "ghcr.io/good/**"}],
                "authorities": [{"static": {"action": "pass"}}]}},
            {"name": "broken", "spec": {"images": [{"glob": "ghcr.io/broken/**"}],
                "authorities": broken}},
        ]})
        .to_string();
        let refused = Settings::compile(doc.as_bytes()).unwrap_err();
        assert!(refused.starts_with("policies[1] (broken): "), "{refused}");
        let lazy = Settings::compile_for_admission(doc.as_bytes()).unwrap();
        assert_eq!(lazy.policies[0].authorities().unwrap().len(), 1);
        assert_eq!(lazy.policies[1].globs.len(), 1);
        let deferred = lazy.policies[1].authorities().unwrap_err();
        assert_eq!(
            format!("policies[1] (broken): {deferred}"),
            refused,
            "the deferred error is validation's"
        );
    }
}
