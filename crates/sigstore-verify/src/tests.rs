//! `verify_attestations` end to end through a fake registry: each verifier kind, each
//! threat the checks answer, each bound.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::cosign::{BUNDLE_ANNOTATION, CHAIN_ANNOTATION};
use crate::limits::{MAX_ENVELOPE_BYTES, MAX_LAYERS, MAX_SIGNATURES};
use crate::testing::*;
use crate::{
    verify_attestations, AttestationRegistry as _, Layer, TrustRoot, Verified, NO_TRUST_ROOT,
};

fn pub_key_verifier(keys: &[&rcgen::KeyPair]) -> Value {
    json!({"type": "SigstorePubKeyVerify",
           "pub_keys": keys.iter().map(|k| k.public_key_pem()).collect::<Vec<_>>()})
}

fn keyless_verifier(subject: &str) -> Value {
    json!({"type": "SigstoreKeylessVerify", "keyless": [{"issuer": ISSUER, "subject": subject}]})
}

fn verify(
    registry: &FakeRegistry,
    trust: Option<&TrustRoot>,
    verifier: &Value,
) -> Result<Verified, String> {
    verify_attestations(registry, trust, &image(), CYCLONEDX, verifier)
}

fn no_annotations() -> BTreeMap<String, String> {
    BTreeMap::new()
}

#[test]
fn key_signed_attestation_verifies() {
    let key = key();
    let payload = statement(CYCLONEDX, &digest_hex());
    let blob = signed_envelope(&key, &payload);
    let size = blob.len();
    let registry = FakeRegistry::with(vec![(blob, no_annotations())]);
    let verified = verify(&registry, None, &pub_key_verifier(&[&key])).unwrap();
    assert_eq!(verified.digest, format!("sha256:{}", digest_hex()));
    let want: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(verified.statements, vec![want]);
    // the wire answer: digest then statements
    let wire = serde_json::to_string(&verified).unwrap();
    assert!(wire.starts_with(r#"{"digest":"sha256:abab"#), "{wire}");
    let asked = registry.asked.borrow();
    assert_eq!(asked[0], format!("manifest sha256:{}", digest_hex()));
    // no more than the layer's declared size is asked for
    assert!(asked[1].ends_with(&format!("max {size}")), "{}", asked[1]);
}

#[test]
fn tampered_payload_and_wrong_key_fail() {
    let key = key();
    let payload = statement(CYCLONEDX, &digest_hex());
    let signature = sign(
        &key,
        &crate::dsse::pae(crate::dsse::IN_TOTO_PAYLOAD_TYPE, &payload),
    );
    let tampered = statement("https://evil.test", &digest_hex());
    let registry = FakeRegistry::with(vec![
        (envelope(&tampered, &[signature]), no_annotations()),
        (
            signed_envelope(&crate::testing::key(), &payload),
            no_annotations(),
        ),
    ]);
    assert_eq!(
        verify(&registry, None, &pub_key_verifier(&[&key])).unwrap_err(),
        "no attestation verifies: attestation 1: the signature does not verify with the given public key; attestation 2: the signature does not verify with the given public key"
    );
}

#[test]
fn every_key_must_verify() {
    let (a, b) = (key(), key());
    let payload = statement(CYCLONEDX, &digest_hex());
    let registry = FakeRegistry::with(vec![(signed_envelope(&a, &payload), no_annotations())]);
    assert_eq!(
        verify(&registry, None, &pub_key_verifier(&[&a, &b])).unwrap_err(),
        "no attestation verifies: attestation 1: the signature does not verify with the given public key (key 2 of 2)"
    );
    let both = envelope(
        &payload,
        &[
            sign(
                &a,
                &crate::dsse::pae(crate::dsse::IN_TOTO_PAYLOAD_TYPE, &payload),
            ),
            sign(
                &b,
                &crate::dsse::pae(crate::dsse::IN_TOTO_PAYLOAD_TYPE, &payload),
            ),
        ],
    );
    let registry = FakeRegistry::with(vec![(both, no_annotations())]);
    assert!(verify(&registry, None, &pub_key_verifier(&[&a, &b])).is_ok());
}

#[test]
fn subject_must_be_the_image() {
    let key = key();
    let payload = statement(CYCLONEDX, &"cd".repeat(32));
    let registry = FakeRegistry::with(vec![(signed_envelope(&key, &payload), no_annotations())]);
    assert_eq!(
        verify(&registry, None, &pub_key_verifier(&[&key])).unwrap_err(),
        format!(
            "no attestation verifies: attestation 1: the statement's subject does not include sha256:{}",
            digest_hex()
        )
    );
}

#[test]
fn predicate_type_filters_verified_statements() {
    let key = key();
    let spdx = statement("https://spdx.dev/Document", &digest_hex());
    let cdx = statement(CYCLONEDX, &digest_hex());
    let registry = FakeRegistry::with(vec![
        (signed_envelope(&key, &spdx), no_annotations()),
        (signed_envelope(&key, &cdx), no_annotations()),
        (signed_envelope(&key, &spdx), no_annotations()),
    ]);
    let verified = verify(&registry, None, &pub_key_verifier(&[&key])).unwrap();
    assert_eq!(verified.statements.len(), 1);
    let vuln = "https://cosign.sigstore.dev/attestation/vuln/v1";
    let err = verify_attestations(&registry, None, &image(), vuln, &pub_key_verifier(&[&key]))
        .unwrap_err();
    assert_eq!(
        err,
        format!("no attestation of predicate type {vuln}; verified predicate types: [\"https://spdx.dev/Document\",\"{CYCLONEDX}\"]")
    );
}

#[test]
fn request_errors() {
    let key = key();
    let registry = FakeRegistry::default();
    let verifier = pub_key_verifier(&[&key]);
    let err = verify_attestations(
        &registry,
        None,
        "registry.test/app:1.0",
        CYCLONEDX,
        &verifier,
    )
    .unwrap_err();
    assert_eq!(
        err,
        "the image \"registry.test/app:1.0\" is not a reference by sha256 digest (repo@sha256:<hex>)"
    );
    assert_eq!(
        verify_attestations(&registry, None, &image(), "", &verifier).unwrap_err(),
        "predicate_type is empty"
    );
    let github = json!({"type": "SigstoreGithubActionsVerify", "owner": "org"});
    assert!(verify(&registry, None, &github)
        .unwrap_err()
        .starts_with("invalid verifier: unknown variant `SigstoreGithubActionsVerify`"));
    let annotated = json!({"type": "SigstorePubKeyVerify", "pub_keys": [key.public_key_pem()],
                           "annotations": {"env": "prod"}});
    assert_eq!(
        verify(&registry, None, &annotated).unwrap_err(),
        "the verifier has annotations, which attestations (DSSE envelopes) cannot carry"
    );
    assert_eq!(
        verify(&registry, None, &pub_key_verifier(&[])).unwrap_err(),
        "no public keys given (pub_keys is empty)"
    );
    assert_eq!(
        verify(&registry, None, &keyless_verifier(IDENTITY)).unwrap_err(),
        NO_TRUST_ROOT
    );
    // nothing was fetched for a bad request
    assert!(registry.asked.borrow().is_empty());
}

#[test]
fn no_attestations() {
    let key = key();
    let want = format!("no attestations found for image: {}", image());
    let no_tag = FakeRegistry::default();
    assert_eq!(
        verify(&no_tag, None, &pub_key_verifier(&[&key])).unwrap_err(),
        want
    );
    let mut other = FakeRegistry::with(vec![(b"{}".to_vec(), no_annotations())]);
    if let Some(layers) = other.layers.as_mut() {
        layers[0].0.media_type = "application/vnd.dev.cosign.simplesigning.v1+json".into();
    }
    assert_eq!(
        verify(&other, None, &pub_key_verifier(&[&key])).unwrap_err(),
        want
    );
}

#[test]
fn layer_count_bound() {
    let key = key();
    let payload = statement(CYCLONEDX, &digest_hex());
    let blob = signed_envelope(&key, &payload);
    let registry = FakeRegistry::with(vec![(blob, no_annotations()); MAX_LAYERS + 1]);
    assert_eq!(
        verify(&registry, None, &pub_key_verifier(&[&key])).unwrap_err(),
        format!(
            "the attestation manifest of {} has 129 layers, more than the limit of 128",
            image()
        )
    );
    // no blob was read
    assert_eq!(registry.asked.borrow().len(), 1);
}

/// A registry client that ignores the cap it is given.
struct Oversized {
    declared: i64,
}

impl crate::AttestationRegistry for Oversized {
    fn attestation_layers(&self, _: &str) -> Result<Option<Vec<Layer>>, String> {
        Ok(Some(vec![Layer {
            media_type: crate::cosign::DSSE_MEDIA_TYPE.into(),
            size: self.declared,
            ..Layer::default()
        }]))
    }

    fn blob(&self, _: &Layer, max_bytes: usize) -> Result<Vec<u8>, String> {
        Ok(vec![b' '; max_bytes + 1])
    }
}

#[test]
fn envelope_size_bound() {
    let key = key();
    let verifier = pub_key_verifier(&[&key]);
    let verify = |declared: i64| {
        verify_attestations(
            &Oversized { declared },
            None,
            &image(),
            CYCLONEDX,
            &verifier,
        )
        .unwrap_err()
    };
    assert_eq!(
        verify(i64::try_from(MAX_ENVELOPE_BYTES).unwrap() + 5),
        "no attestation verifies: attestation 1: the envelope is 16777217 bytes, more than the limit of 16777216"
    );
    // more than the manifest declares
    assert_eq!(
        verify(10),
        "no attestation verifies: attestation 1: the envelope is 11 bytes, more than the limit of 10"
    );
}

#[test]
fn total_size_bound() {
    let key = key();
    let layer = Layer {
        media_type: crate::cosign::DSSE_MEDIA_TYPE.into(),
        size: 15 << 20,
        ..Layer::default()
    };
    let registry = FakeRegistry {
        layers: Some(vec![(layer, Vec::new()); 5]),
        ..FakeRegistry::default()
    };
    assert_eq!(
        verify(&registry, None, &pub_key_verifier(&[&key])).unwrap_err(),
        format!(
            "the attestations of {} are 78643200 bytes together, more than the limit of 67108864",
            image()
        )
    );
    // nothing but the manifest was read
    assert_eq!(registry.asked.borrow().len(), 1);
}

#[test]
fn envelope_shape_errors() {
    let key = key();
    let payload = statement(CYCLONEDX, &digest_hex());
    let sig = sign(
        &key,
        &crate::dsse::pae(crate::dsse::IN_TOTO_PAYLOAD_TYPE, &payload),
    );
    let too_many = envelope(&payload, &vec![sig; MAX_SIGNATURES + 1]);
    let wrong_type = String::from_utf8(signed_envelope(&key, &payload))
        .unwrap()
        .replace("application/vnd.in-toto+json", "text/plain");
    let cases = [
        (envelope(&payload, &[]), "the envelope has no signatures".to_string()),
        (too_many, "the envelope has more than 16 signatures".to_string()),
        (
            wrong_type.into_bytes(),
            "the payload type \"text/plain\" is not application/vnd.in-toto+json".to_string(),
        ),
        (
            br#"{"payloadType":"application/vnd.in-toto+json","payload":"%%","signatures":[{"sig":"AA=="}]}"#.to_vec(),
            "the envelope's payload is not base64".to_string(),
        ),
    ];
    for (blob, want) in cases {
        let registry = FakeRegistry::with(vec![(blob, no_annotations())]);
        assert_eq!(
            verify(&registry, None, &pub_key_verifier(&[&key])).unwrap_err(),
            format!("no attestation verifies: attestation 1: {want}")
        );
    }
    let registry = FakeRegistry::with(vec![(b"[]".to_vec(), no_annotations())]);
    let err = verify(&registry, None, &pub_key_verifier(&[&key])).unwrap_err();
    assert!(
        err.starts_with("no attestation verifies: attestation 1: not a DSSE envelope ("),
        "{err}"
    );
}

#[test]
fn keyless_attestation_verifies() {
    let sigstore = Sigstore::new();
    let leaf = sigstore.leaf(IDENTITY, -60, 600);
    let payload = statement(CYCLONEDX, &digest_hex());
    let registry = FakeRegistry::with(vec![sigstore.keyless_layer(&leaf, &payload)]);
    let trust = sigstore.trust();
    assert!(verify(&registry, Some(&trust), &keyless_verifier(IDENTITY)).is_ok());
    let prefix = json!({"type": "SigstoreKeylessPrefixVerify",
        "keyless_prefix": [{"issuer": ISSUER, "url_prefix": "https://github.com/org"}]});
    assert!(verify(&registry, Some(&trust), &prefix).is_ok());
    assert_eq!(
        verify(&registry, Some(&trust), &keyless_verifier("https://github.com/org/other")).unwrap_err(),
        format!("no attestation verifies: attestation 1: the certificate is for issuer {ISSUER} and subject {IDENTITY}, not issuer {ISSUER} and subject https://github.com/org/other")
    );
}

/// A short-lived leaf expired since: valid at the bundle's integrated time, which is when
/// its chain is checked.
#[test]
fn expired_leaf_is_checked_at_signing_time() {
    let sigstore = Sigstore::new();
    let leaf = sigstore.leaf(IDENTITY, -1200, -600);
    let payload = statement(CYCLONEDX, &digest_hex());
    let (blob, mut annotations) = sigstore.keyless_layer(&leaf, &payload);
    let body = intoto_entry(&blob, &payload, &leaf.pem);
    let trust = sigstore.trust();
    let at = |offset: i64, annotations: &mut BTreeMap<String, String>| {
        annotations.insert(
            BUNDLE_ANNOTATION.into(),
            Sigstore::bundle(&sigstore.log_key, &body, offset),
        );
        let registry = FakeRegistry::with(vec![(blob.clone(), annotations.clone())]);
        verify(&registry, Some(&trust), &keyless_verifier(IDENTITY))
    };
    assert!(at(-900, &mut annotations).is_ok());
    assert_eq!(
        at(0, &mut annotations).unwrap_err(),
        "no attestation verifies: attestation 1: its Rekor integrated time is outside the certificate's validity"
    );
}

#[test]
fn rekor_bundle_threats() {
    let sigstore = Sigstore::new();
    let leaf = sigstore.leaf(IDENTITY, -60, 600);
    let payload = statement(CYCLONEDX, &digest_hex());
    let (blob, annotations) = sigstore.keyless_layer(&leaf, &payload);
    let trust = sigstore.trust();
    let with_bundle = |bundle: Option<String>| {
        let mut annotations = annotations.clone();
        match bundle {
            Some(b) => annotations.insert(BUNDLE_ANNOTATION.into(), b),
            None => annotations.remove(BUNDLE_ANNOTATION),
        };
        let registry = FakeRegistry::with(vec![(blob.clone(), annotations)]);
        verify(&registry, Some(&trust), &keyless_verifier(IDENTITY))
            .unwrap_err()
            .replace("no attestation verifies: attestation 1: ", "")
    };
    // the entry of another envelope (another attestation of the same signer)
    let other_payload = statement(CYCLONEDX, &"cd".repeat(32));
    let other_blob = signed_envelope(&leaf.key, &other_payload);
    let other_entry = intoto_entry(&other_blob, &other_payload, &leaf.pem);
    assert_eq!(
        with_bundle(Some(Sigstore::bundle(&sigstore.log_key, &other_entry, 0))),
        "its Rekor entry is not for this attestation and signer"
    );
    // signed by a log the trust root does not know
    let entry = intoto_entry(&blob, &payload, &leaf.pem);
    assert_eq!(
        with_bundle(Some(Sigstore::bundle(&key(), &entry, 0))),
        "its Rekor bundle does not verify with the trusted transparency-log keys"
    );
    // a SET over another time
    let bundle = Sigstore::bundle(&sigstore.log_key, &entry, 0);
    let mut edited: Value = serde_json::from_str(&bundle).unwrap();
    edited["Payload"]["integratedTime"] = json!(1);
    assert_eq!(
        with_bundle(Some(edited.to_string())),
        "its Rekor bundle does not verify with the trusted transparency-log keys"
    );
    assert_eq!(with_bundle(None), "no Rekor bundle");
    assert_eq!(
        with_bundle(Some("{".into())),
        "its Rekor bundle is not JSON"
    );
}

#[test]
fn foreign_certificate_authority() {
    let sigstore = Sigstore::new();
    let foreign = Sigstore::new();
    let leaf = foreign.leaf(IDENTITY, -60, 600);
    let payload = statement(CYCLONEDX, &digest_hex());
    let registry = FakeRegistry::with(vec![foreign.keyless_layer(&leaf, &payload)]);
    // its own log too: the chain is the reason given
    assert_eq!(
        verify(&registry, Some(&sigstore.trust()), &keyless_verifier(IDENTITY)).unwrap_err(),
        "no attestation verifies: attestation 1: the certificate does not chain to the trusted certificate authorities"
    );
}

/// Only the first MAX_CHAIN_CERTS certificates of the chain annotation are read.
#[test]
fn chain_annotation_bound() {
    let sigstore = Sigstore::new();
    let mut params = sigstore.ca_params.clone();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "intermediate");
    // as Fulcio's intermediate (webpki checks the usage along the chain)
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::CodeSigning];
    let intermediate_key = key();
    let root = rcgen::Issuer::new(sigstore.ca_params.clone(), &sigstore.ca_key);
    let intermediate = params.signed_by(&intermediate_key, &root).unwrap();
    let issuer = rcgen::Issuer::new(params, &intermediate_key);
    let leaf = leaf_from(&issuer, IDENTITY, -60, 600);
    let payload = statement(CYCLONEDX, &digest_hex());
    let (blob, annotations) = sigstore.keyless_layer(&leaf, &payload);
    let unrelated = crate::testing::ca("unrelated").2.pem();
    let with_chain = |chain: String| {
        let mut annotations = annotations.clone();
        annotations.insert(CHAIN_ANNOTATION.into(), chain);
        let registry = FakeRegistry::with(vec![(blob.clone(), annotations)]);
        verify(
            &registry,
            Some(&sigstore.trust()),
            &keyless_verifier(IDENTITY),
        )
    };
    let padding = unrelated.repeat(crate::limits::MAX_CHAIN_CERTS - 1);
    with_chain(intermediate.pem()).unwrap();
    with_chain(format!("{padding}{}", intermediate.pem())).unwrap();
    assert_eq!(
        with_chain(format!("{padding}{unrelated}{}", intermediate.pem())).unwrap_err(),
        "no attestation verifies: attestation 1: the certificate does not chain to the trusted certificate authorities"
    );
}

#[test]
fn given_certificate() {
    let sigstore = Sigstore::new();
    let leaf = sigstore.leaf(IDENTITY, -60, 600);
    let payload = statement(CYCLONEDX, &digest_hex());
    let registry = FakeRegistry::with(vec![(
        signed_envelope(&leaf.key, &payload),
        no_annotations(),
    )]);
    let bytes = |pem: &str| json!(pem.as_bytes());
    let verifier = |chain: Option<&str>, require_rekor_bundle: bool| {
        json!({"type": "SigstoreCertificateVerify", "certificate": bytes(&leaf.pem),
               "certificate_chain": chain.map(|c| vec![bytes(c)]),
               "require_rekor_bundle": require_rekor_bundle})
    };
    assert!(verify(&registry, None, &verifier(None, false)).is_ok());
    assert!(verify(&registry, None, &verifier(Some(&sigstore.ca.pem()), false)).is_ok());
    let other_ca = crate::testing::ca("other").2.pem();
    assert_eq!(
        verify(&registry, None, &verifier(Some(&other_ca), false)).unwrap_err(),
        "the certificate does not chain to the given certificate_chain"
    );
    assert_eq!(
        verify(&registry, None, &verifier(None, true)).unwrap_err(),
        format!("require_rekor_bundle: {NO_TRUST_ROOT}")
    );
    assert_eq!(
        verify(&registry, Some(&sigstore.trust()), &verifier(None, true)).unwrap_err(),
        "no attestation verifies: attestation 1: no Rekor bundle"
    );
    let other = key();
    let signed_by_other =
        FakeRegistry::with(vec![(signed_envelope(&other, &payload), no_annotations())]);
    assert_eq!(
        verify(&signed_by_other, None, &verifier(None, false)).unwrap_err(),
        "no attestation verifies: attestation 1: the signature does not verify with the given certificate"
    );
}

/// An async host drives the steps itself, with its own reads in between.
#[test]
fn steps_driven_by_hand() {
    let key = key();
    let payload = statement(CYCLONEDX, &digest_hex());
    let registry = FakeRegistry::with(vec![
        (signed_envelope(&key, &payload), no_annotations()),
        (
            signed_envelope(&crate::testing::key(), &payload),
            no_annotations(),
        ),
    ]);
    let verifier = pub_key_verifier(&[&key]);
    let request = crate::AttestationsRequest::new(None, &image(), CYCLONEDX, &verifier).unwrap();
    assert_eq!(request.digest(), format!("sha256:{}", digest_hex()));
    let layers: Vec<Layer> = registry
        .layers
        .iter()
        .flatten()
        .map(|(l, _)| l.clone())
        .collect();
    let outcomes: Vec<_> = request
        .dsse_layers(Some(&layers))
        .unwrap()
        .into_iter()
        .map(|layer| {
            let limit = crate::AttestationsRequest::blob_limit(layer);
            request.check_layer(layer, registry.blob(layer, limit))
        })
        .collect();
    assert!(outcomes[0].is_ok());
    assert_eq!(
        outcomes[1].as_ref().unwrap_err(),
        "the signature does not verify with the given public key"
    );
    assert_eq!(
        request.answer(outcomes).unwrap(),
        verify(&registry, None, &verifier).unwrap()
    );
    assert_eq!(
        request.dsse_layers(None).unwrap_err(),
        format!("no attestations found for image: {}", image())
    );
}
