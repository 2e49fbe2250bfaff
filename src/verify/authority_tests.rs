use super::*;
use crate::cip::compile::Matcher;
use crate::verify::host::VerifyRequest;
use std::collections::VecDeque;

const DIGEST: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const IMAGE: Image<'static> = Image {
    repo: "ghcr.io/acme/app",
    digest: DIGEST,
};

/// Scripted host: answers in order, records every request.
#[derive(Default)]
struct Scripted {
    verify: VecDeque<Result<String, String>>,
    manifests: VecDeque<Result<Vec<u8>, String>>,
    requests: Vec<String>,
}

impl Host for Scripted {
    fn manifest_digest(&mut self, _: &str) -> Result<String, String> {
        Err("unexpected".into())
    }
    fn oci_manifest(&mut self, image: &str) -> Result<Vec<u8>, String> {
        self.requests.push(format!("manifest {image}"));
        self.manifests
            .pop_front()
            .unwrap_or(Err("unexpected".into()))
    }
    fn verify(&mut self, request: &VerifyRequest) -> Result<String, String> {
        self.requests.push(serde_json::to_string(request).unwrap());
        self.verify.pop_front().unwrap_or(Err("unexpected".into()))
    }
    fn certificate_trusted(
        &mut self,
        _: &str,
        _: &[String],
        _: Option<String>,
    ) -> Result<Result<(), String>, String> {
        Err("unexpected".into())
    }
}

fn key_authority(keys: &[&str]) -> CompiledAuthority {
    CompiledAuthority {
        name: "authority-0".into(),
        kind: AuthorityKind::Key {
            keys: keys.iter().map(|k| k.to_string()).collect(),
            hash: crate::cip::keys::HashAlgorithm::Sha256,
        },
        attestations: vec![],
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
    }
}

#[test]
fn key_passes_when_the_host_verifies_the_admitted_digest() {
    let mut host = Scripted::default();
    host.verify.push_back(Ok(DIGEST.into()));
    assert_eq!(
        evaluate(&key_authority(&["K"]), IMAGE, &mut host),
        Ok(AuthorityMatch::Signatures)
    );
    assert_eq!(
        host.requests,
        vec![format!("{{\"type\":\"SigstorePubKeyVerify\",\"image\":\"ghcr.io/acme/app@{DIGEST}\",\"pub_keys\":[\"K\"],\"annotations\":null}}")]
    );
}

#[test]
fn key_any_of_several_keys() {
    let mut host = Scripted::default();
    host.verify.push_back(Err("bad key".into()));
    host.verify.push_back(Ok(DIGEST.into()));
    assert!(evaluate(&key_authority(&["K1", "K2"]), IMAGE, &mut host).is_ok());
    assert_eq!(host.requests.len(), 2);
}

#[test]
fn key_unsigned_message() {
    let mut host = Scripted::default();
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
    let mut host = Scripted::default();
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
    let mut host = Scripted::default();
    host.verify
        .push_back(Ok(format!("sha256:{}", "b".repeat(64))));
    let err = evaluate(&key_authority(&["K"]), IMAGE, &mut host).unwrap_err();
    assert!(err.contains("the host verified sha256:bbbb"), "{err}");
}

#[test]
fn keyless_exact_one_call_per_identity_any_passes() {
    let mut host = Scripted::default();
    host.verify.push_back(Err("no".into()));
    host.verify.push_back(Ok(DIGEST.into()));
    let a = keyless_authority(&[("https://i1", "a@x"), ("https://i2", "b@x")]);
    assert!(evaluate(&a, IMAGE, &mut host).is_ok());
    assert_eq!(host.requests.len(), 2);
    assert!(
        host.requests[1].contains("\"keyless\":[{\"issuer\":\"https://i2\",\"subject\":\"b@x\"}]")
    );
}

#[test]
fn keyless_unsigned_reads_the_sig_tag_and_says_no_signatures_found() {
    let mut host = Scripted::default();
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
        host.requests[1],
        format!("manifest ghcr.io/acme/app:{}.sig", DIGEST.replace(':', "-"))
    );
}

#[test]
fn keyless_registry_failure_while_explaining_fails_closed_with_the_reason() {
    let mut host = Scripted::default();
    host.verify.push_back(Err("boom".into()));
    host.manifests.push_back(Err("connection refused".into()));
    let err = evaluate(&keyless_authority(&[("https://i", "s")]), IMAGE, &mut host).unwrap_err();
    assert!(err.ends_with("cannot read the signatures ghcr.io/acme/app:sha256-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sig: connection refused"), "{err}");
}

#[test]
fn hostile_signature_manifest_is_an_error_not_a_panic() {
    let mut host = Scripted::default();
    host.verify.push_back(Err("boom".into()));
    host.manifests.push_back(Ok(b"{\"layers\": 5}".to_vec()));
    let err = evaluate(&keyless_authority(&[("https://i", "s")]), IMAGE, &mut host).unwrap_err();
    assert!(
        err.contains("cannot decode the signature manifest"),
        "{err}"
    );
}
