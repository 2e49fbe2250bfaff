use super::*;
use crate::cip::compile::{CompiledIdentity, Matcher};
use crate::test_host::FakeHost;

const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const IMAGE: Image<'static> = Image {
    repo: "ghcr.io/acme/app",
    digest: DIGEST,
};

fn key_authority(keys: &[&str]) -> CompiledAuthority {
    CompiledAuthority {
        name: "authority-0".into(),
        kind: AuthorityKind::Key {
            keys: keys
                .iter()
                .map(|k| crate::verify::host::Pem::new(k))
                .collect(),
            hash: crate::cip::keys::HashAlgorithm::Sha256,
        },
        attestations: vec![],
        bundle: false,
    }
}

fn keyless_authority(ids: &[(&str, &str)]) -> CompiledAuthority {
    CompiledAuthority {
        name: "authority-0".into(),
        kind: AuthorityKind::Keyless {
            identities: ids
                .iter()
                .map(|(i, s)| CompiledIdentity {
                    issuer: Matcher::Exact(i.to_string()),
                    subject: Matcher::Exact(s.to_string()),
                })
                .collect(),
            ca_cert: None,
        },
        attestations: vec![],
        bundle: false,
    }
}

#[test]
fn key_passes_when_the_host_verifies_the_admitted_digest() {
    let mut host = FakeHost::default();
    host.verify.push_back(Ok(DIGEST.into()));
    assert_eq!(
        evaluate(&key_authority(&["K"]), IMAGE, &mut host),
        Ok(AuthorityMatch::Signatures)
    );
    assert_eq!(
        host.calls,
        vec![format!("verify {{\"type\":\"SigstorePubKeyVerify\",\"image\":\"ghcr.io/acme/app@{DIGEST}\",\"pub_keys\":[\"K\"],\"annotations\":null}}")]
    );
}

#[test]
fn key_any_of_several_keys() {
    let mut host = FakeHost::default();
    host.verify.push_back(Err("bad key".into()));
    host.verify.push_back(Ok(DIGEST.into()));
    assert!(evaluate(&key_authority(&["K1", "K2"]), IMAGE, &mut host).is_ok());
    assert_eq!(host.calls.len(), 2);
}

#[test]
fn key_unsigned_message() {
    let mut host = FakeHost::default();
    host.verify.push_back(Err(
        "Callback evaluation failure: no signatures found for image: x ".into(),
    ));
    assert_eq!(
        evaluate(&key_authority(&["K"]), IMAGE, &mut host),
        Err(format!("signature key validation failed for authority authority-0 for ghcr.io/acme/app@{DIGEST}: no signatures found"))
    );
}

#[test]
fn key_wrong_key_message_carries_the_host_reason() {
    let mut host = FakeHost::default();
    host.verify.push_back(Err(
        "Callback evaluation failure: no signature verifies with the given public key".into(),
    ));
    assert_eq!(
        evaluate(&key_authority(&["K"]), IMAGE, &mut host),
        Err(format!("signature key validation failed for authority authority-0 for ghcr.io/acme/app@{DIGEST}: no matching signatures: Callback evaluation failure: no signature verifies with the given public key"))
    );
}

#[test]
fn a_different_verified_digest_is_a_failure() {
    let mut host = FakeHost::default();
    host.verify
        .push_back(Ok(format!("sha256:{}", "b".repeat(64))));
    let err = evaluate(&key_authority(&["K"]), IMAGE, &mut host).unwrap_err();
    assert!(err.contains("the host verified sha256:bbbb"), "{err}");
}

#[test]
fn keyless_exact_one_call_per_identity_any_passes() {
    let mut host = FakeHost::default();
    host.verify.push_back(Err("no".into()));
    host.verify.push_back(Ok(DIGEST.into()));
    let a = keyless_authority(&[("https://i1", "a@x"), ("https://i2", "b@x")]);
    assert!(evaluate(&a, IMAGE, &mut host).is_ok());
    assert_eq!(host.calls.len(), 2);
    assert!(host.calls[1].contains("\"keyless\":[{\"issuer\":\"https://i2\",\"subject\":\"b@x\"}]"));
}

#[test]
fn keyless_unsigned_reads_the_sig_tag_and_says_no_signatures_found() {
    let mut host = FakeHost::default();
    host.verify.push_back(Err(
        "Callback evaluation failure: no signatures found for image: x ".into(),
    ));
    host.manifests
        .push_back(Err("OCI API error: manifest unknown".into()));
    assert_eq!(
        evaluate(&keyless_authority(&[("https://i", "s")]), IMAGE, &mut host),
        Err(format!("signature keyless validation failed for authority authority-0 for ghcr.io/acme/app@{DIGEST}: no signatures found"))
    );
    assert_eq!(
        host.calls[1],
        format!("manifest ghcr.io/acme/app:{}.sig", DIGEST.replace(':', "-"))
    );
}

#[test]
fn keyless_registry_failure_while_explaining_fails_closed_with_the_reason() {
    let mut host = FakeHost::default();
    host.verify.push_back(Err("boom".into()));
    host.manifests.push_back(Err("connection refused".into()));
    let err = evaluate(&keyless_authority(&[("https://i", "s")]), IMAGE, &mut host).unwrap_err();
    assert!(err.ends_with("cannot read the signatures ghcr.io/acme/app:sha256-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sig: connection refused"), "{err}");
}

#[test]
fn hostile_signature_manifest_is_an_error_not_a_panic() {
    let mut host = FakeHost::default();
    host.verify.push_back(Err("boom".into()));
    host.manifests.push_back(Ok(b"{\"layers\": 5}".to_vec()));
    let err = evaluate(&keyless_authority(&[("https://i", "s")]), IMAGE, &mut host).unwrap_err();
    assert!(
        err.contains("cannot decode the signature manifest"),
        "{err}"
    );
}

fn attesting(keys: &[&str], wanted: &[(&str, &str, Option<&str>)]) -> CompiledAuthority {
    let mut a = key_authority(keys);
    a.attestations = wanted
        .iter()
        .map(|(name, pt, cue)| crate::cip::compile::CompiledAttestation {
            name: name.to_string(),
            predicate_type: pt.to_string(),
            predicate_uri: crate::cip::compile::predicate_uri(pt),
            policy: cue.map(|c| {
                crate::cip::compile::AttestationPolicy::Cue(crate::cue::compile(c).unwrap())
            }),
        })
        .collect();
    a
}

fn statement(pt: &str, predicate: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"_type": "https://in-toto.io/Statement/v0.1", "predicateType": pt, "subject": [{"name": "x", "digest": {"sha256": DIGEST.trim_start_matches("sha256:")}}], "predicate": predicate, "extra": 1})
}

const SEED_CUE: &str = "predicateType: \"https://cyclonedx.org/bom\"\npredicate: {\n  specVersion: \"1.4\"\n  metadata: tools: [{name: \"trivy\"}]\n}\n";
const BOM: &str = "https://cyclonedx.org/bom";

#[test]
fn attestation_seed_cue_denies_syft_with_the_seed_message() {
    let mut host = FakeHost::default();
    host.attestations.push_back(Ok(vec![statement(
        BOM,
        serde_json::json!({"specVersion": "1.4", "metadata": {"tools": [{"name": "syft"}]}}),
    )]));
    let a = attesting(&["K"], &[("must-have-cyclonedx", BOM, Some(SEED_CUE))]);
    assert_eq!(
        evaluate(&a, IMAGE, &mut host),
        Err("failed evaluating cue policy for must-have-cyclonedx: failed to evaluate the policy with error: predicate.metadata.tools.0.name: conflicting values \"syft\" and \"trivy\"".into())
    );
    assert!(host.calls[0].starts_with(&format!(
        "attestations ghcr.io/acme/app@{DIGEST} {BOM} {{\"type\":\"SigstorePubKeyVerify\""
    )));
}

#[test]
fn attestation_seed_cue_admits_trivy_and_short_names_map_to_uris() {
    let mut host = FakeHost::default();
    host.attestations.push_back(Ok(vec![
        statement(
            BOM,
            serde_json::json!({"specVersion": "1.4", "metadata": {"tools": [{"name": "syft"}]}}),
        ),
        statement(
            BOM,
            serde_json::json!({"specVersion": "1.4", "metadata": {"tools": [{"name": "trivy"}]}}),
        ),
    ]));
    let a = attesting(&["K"], &[("sbom", "cyclonedx", Some(SEED_CUE))]);
    assert_eq!(
        evaluate(&a, IMAGE, &mut host),
        Ok(AuthorityMatch::Attestations)
    );
}

#[test]
fn attestation_of_another_type_never_satisfies() {
    let mut host = FakeHost::default();
    // A host that wrongly returns a statement of another type is not believed.
    host.attestations.push_back(Ok(vec![statement(
        "https://spdx.dev/Document",
        serde_json::json!({}),
    )]));
    let a = attesting(&["K"], &[("sbom", BOM, None)]);
    assert!(evaluate(&a, IMAGE, &mut host).is_err());
}

#[test]
fn attestation_wrong_type_lists_what_was_checked() {
    let mut host = FakeHost::default();
    host.attestations.push_back(Err("Callback evaluation failure: no attestation of predicate type https://cyclonedx.org/bom; verified predicate types: [\"https://spdx.dev/Document\",\"https://slsa.dev/provenance/v1\"]".into()));
    let a = attesting(&["K"], &[("sbom", "cyclonedx", None)]);
    assert_eq!(
        evaluate(&a, IMAGE, &mut host),
        Err("no matching attestations with type cyclonedx, checked the following predicateTypes: \"https://spdx.dev/Document,https://slsa.dev/provenance/v1\"".into())
    );
}

#[test]
fn attestation_missing_and_unverified() {
    let mut host = FakeHost::default();
    host.attestations.push_back(Err(
        "Callback evaluation failure: no attestations found for image: x".into(),
    ));
    let a = attesting(&["K"], &[("sbom", BOM, None)]);
    assert_eq!(
        evaluate(&a, IMAGE, &mut host),
        Err(format!("attestation key validation failed for authority authority-0 for ghcr.io/acme/app@{DIGEST}: no matching attestations: "))
    );
    host.attestations.push_back(Err("Callback evaluation failure: no attestation verifies: layer 0: signature does not verify with the given public key".into()));
    assert_eq!(
        evaluate(&a, IMAGE, &mut host),
        Err(format!("attestation key validation failed for authority authority-0 for ghcr.io/acme/app@{DIGEST}: no matching attestations: layer 0: signature does not verify with the given public key"))
    );
}

#[test]
fn attestation_capability_missing_fails_closed_naming_it() {
    let mut host = FakeHost::default();
    host.attestations.push_back(Err(
        "Callback evaluation failure: unknown operation: v2/verify_attestations".into(),
    ));
    let a = attesting(&["K"], &[("sbom", BOM, None)]);
    let err = evaluate(&a, IMAGE, &mut host).unwrap_err();
    assert!(
        err.contains("the host does not provide the oci/v2/verify_attestations capability"),
        "{err}"
    );
}

/// Listed attestations of one authority: all must be satisfied.
#[test]
fn every_listed_attestation_must_be_satisfied() {
    let a = attesting(
        &["K"],
        &[
            ("sbom", BOM, None),
            ("prov", "https://slsa.dev/provenance/v1", None),
        ],
    );
    let mut host = FakeHost::default();
    host.attestations
        .push_back(Ok(vec![statement(BOM, serde_json::json!({}))]));
    host.attestations.push_back(Err("Callback evaluation failure: no attestation of predicate type https://slsa.dev/provenance/v1; verified predicate types: [\"https://cyclonedx.org/bom\"]".into()));
    assert!(evaluate(&a, IMAGE, &mut host)
        .unwrap_err()
        .starts_with("no matching attestations with type https://slsa.dev/provenance/v1"));
    let mut host = FakeHost::default();
    host.attestations
        .push_back(Ok(vec![statement(BOM, serde_json::json!({}))]));
    host.attestations.push_back(Ok(vec![statement(
        "https://slsa.dev/provenance/v1",
        serde_json::json!({}),
    )]));
    assert_eq!(
        evaluate(&a, IMAGE, &mut host),
        Ok(AuthorityMatch::Attestations)
    );
}

/// A registry failure naming a digest with "404" in it is a failure, not a missing `.sig` tag:
/// the image is not taken for unsigned.
#[test]
fn a_refused_signature_read_is_not_read_as_not_found_from_a_digest() {
    let mut host = FakeHost::default();
    host.verify.push_back(Err("boom".into()));
    host.manifests.push_back(Err(
        "connection reset reading ghcr.io/acme/app:sha256-a4044.sig".into(),
    ));
    let err = evaluate(&keyless_authority(&[("https://i", "s")]), IMAGE, &mut host).unwrap_err();
    assert!(
        err.ends_with("cannot read the signatures ghcr.io/acme/app:sha256-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sig: connection reset reading ghcr.io/acme/app:sha256-a4044.sig"),
        "{err}"
    );
}

fn bundled(mut a: CompiledAuthority) -> CompiledAuthority {
    a.bundle = true;
    a
}

#[test]
fn bundle_key_authority_is_one_request_with_every_key() {
    let mut host = FakeHost::default();
    host.verify.push_back(Ok(DIGEST.into()));
    assert_eq!(
        evaluate(&bundled(key_authority(&["K1", "K2"])), IMAGE, &mut host),
        Ok(AuthorityMatch::Signatures)
    );
    assert_eq!(
        host.calls,
        vec![format!("verify {{\"type\":\"SigstoreBundleVerify\",\"image\":\"ghcr.io/acme/app@{DIGEST}\",\"pub_keys\":[\"K1\",\"K2\"],\"annotations\":null}}")]
    );
}

#[test]
fn bundle_keyless_authority_sends_exact_and_regular_expression_identities() {
    let mut authority = bundled(keyless_authority(&[("https://issuer", "me@example.com")]));
    if let AuthorityKind::Keyless { identities, .. } = &mut authority.kind {
        identities.push(CompiledIdentity {
            issuer: Matcher::Exact("https://token.actions.githubusercontent.com".into()),
            subject: Matcher::Regex(regex::Regex::new("^https://github.com/acme/").unwrap()),
        });
    }
    let mut host = FakeHost::default();
    host.verify.push_back(Ok(DIGEST.into()));
    assert!(evaluate(&authority, IMAGE, &mut host).is_ok());
    assert_eq!(
        host.calls,
        vec![format!("verify {{\"type\":\"SigstoreBundleVerify\",\"image\":\"ghcr.io/acme/app@{DIGEST}\",\"keyless\":[{{\"issuer\":\"https://issuer\",\"subject\":\"me@example.com\"}},{{\"issuer\":\"https://token.actions.githubusercontent.com\",\"subject_regexp\":\"^https://github.com/acme/\"}}],\"annotations\":null}}")]
    );
    assert_eq!(
        first_verify_request(&authority, "ghcr.io/acme/app:v1").map(|r| r.with_image("x")),
        Some(authority_request(&authority, "x"))
    );
}

fn authority_request(a: &CompiledAuthority, image: &str) -> VerifyRequest {
    crate::verify::verifier::bundle_request(&a.kind, image).unwrap()
}

#[test]
fn bundle_failures_in_upstream_words() {
    let authority = bundled(key_authority(&["K"]));
    let name = format!("ghcr.io/acme/app@{DIGEST}");
    for (answer, reason) in [
        ("Callback evaluation failure: no signatures found for image: x", "no signatures found".to_string()),
        ("no bundle verifies with the given keys", "no matching signatures: no bundle verifies with the given keys".to_string()),
        (
            "Callback evaluation failure: unknown variant `SigstoreBundleVerify`, expected one of `SigstorePubKeyVerify`",
            "the host cannot verify cosign v3 bundles (oci/v2/verify SigstoreBundleVerify): Callback evaluation failure: unknown variant `SigstoreBundleVerify`, expected one of `SigstorePubKeyVerify`".to_string(),
        ),
    ] {
        let mut host = FakeHost::default();
        host.verify.push_back(Err(answer.into()));
        assert_eq!(
            evaluate(&authority, IMAGE, &mut host),
            Err(format!("signature key validation failed for authority authority-0 for {name}: {reason}"))
        );
    }
    let mut host = FakeHost::default();
    host.verify
        .push_back(Ok(format!("sha256:{}", "b".repeat(64))));
    assert!(evaluate(&authority, IMAGE, &mut host)
        .unwrap_err()
        .ends_with(&format!(
            "the host verified sha256:{}, not the admitted {DIGEST}",
            "b".repeat(64)
        )));
}

#[test]
fn bundle_attestations_ask_with_the_bundle_verifier() {
    let mut authority = bundled(attesting(&["K"], &[("sbom", "cyclonedx", None)]));
    authority.name = "authority-0".into();
    let mut host = FakeHost::default();
    host.attestations.push_back(Ok(vec![statement(
        "https://cyclonedx.org/bom",
        serde_json::json!({}),
    )]));
    assert_eq!(
        evaluate(&authority, IMAGE, &mut host),
        Ok(AuthorityMatch::Attestations)
    );
    assert!(
        host.calls[0].contains("\"type\":\"SigstoreBundleVerify\""),
        "{:?}",
        host.calls
    );
}

#[test]
fn a_statement_that_does_not_fit_its_short_name_fails_even_without_a_policy() {
    let authority = attesting(&["K"], &[("prov", "slsaprovenance", None)]);
    let bad = statement(
        "https://slsa.dev/provenance/v0.2",
        serde_json::json!({"builder": "x"}),
    );
    let mut host = FakeHost::default();
    host.attestations.push_back(Ok(vec![bad]));
    let error = evaluate(&authority, IMAGE, &mut host).unwrap_err();
    assert!(
        error.starts_with("unmarshaling ProvenanceStatementSLSA02): "),
        "{error}"
    );
    let good = statement(
        "https://slsa.dev/provenance/v0.2",
        serde_json::json!({"builder": {"id": "x"}}),
    );
    let mut host = FakeHost::default();
    host.attestations.push_back(Ok(vec![good]));
    assert_eq!(
        evaluate(&authority, IMAGE, &mut host),
        Ok(AuthorityMatch::Attestations)
    );
}
