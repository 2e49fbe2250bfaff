//! Bundles written by the fixture writer (cosign v3's layout, checked by sigstore-js) into an
//! in-memory registry, judged by the verifier.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::Digest as _;

use super::*;
use crate::fixtures::bundle::{build, BundleOptions};
use crate::fixtures::referrer::{self, Subject};
use crate::fixtures::statement;
use crate::fixtures::{keygen, testca, Keyless, Signer};
use cip_sigstore_verify::bundles::BundleIdentity;

const ISSUER: &str = "https://issuer.example";
const IDENTITY: &str = "me@example.com";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

#[derive(Default)]
struct Mem {
    api: Option<Vec<u8>>,
    tags: BTreeMap<String, (Vec<u8>, String)>,
    manifests: BTreeMap<String, Vec<u8>>,
    blobs: BTreeMap<String, Vec<u8>>,
    /// Referrers read before the request's time is spent.
    reads_allowed: Option<std::cell::Cell<usize>>,
}

impl Source for Mem {
    fn referrers(&self, _digest: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.api.clone())
    }
    fn tag(&self, tag: &str) -> Result<Option<(Vec<u8>, String)>, String> {
        Ok(self.tags.get(tag).cloned())
    }
    fn manifest(&self, digest: &str) -> Result<Vec<u8>, String> {
        self.manifests
            .get(digest)
            .cloned()
            .ok_or("no such manifest".into())
    }
    fn out_of_time(&self) -> Option<String> {
        let left = self.reads_allowed.as_ref()?;
        if left.get() == 0 {
            return Some("out of time".into());
        }
        left.set(left.get() - 1);
        None
    }
    fn blob(&self, digest: &str, _size: i64, max: usize) -> Result<Vec<u8>, String> {
        let blob = self.blobs.get(digest).cloned().ok_or("no such blob")?;
        assert!(blob.len() <= max);
        Ok(blob)
    }
}

struct Env {
    dir: PathBuf,
    image_body: Vec<u8>,
    image: String,
    trust: TrustRoot,
    key_pem: String,
    other_pem: String,
}

impl Env {
    fn new(name: &str) -> Env {
        let dir = std::env::temp_dir().join(format!("cip-bundles-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        testca(&dir).unwrap();
        keygen(&dir, "k").unwrap();
        keygen(&dir, "other").unwrap();
        let image_body = format!("{{\"image\":\"{name}\"}}").into_bytes();
        Env {
            image: digest(&image_body),
            image_body,
            trust: TrustRoot::load(&dir.join("trust-config.json")).unwrap(),
            key_pem: std::fs::read_to_string(dir.join("k.pub")).unwrap(),
            other_pem: std::fs::read_to_string(dir.join("other.pub")).unwrap(),
            dir,
        }
    }

    fn opts(&self) -> BundleOptions {
        BundleOptions {
            testca: self.dir.clone(),
            rekor_v1: false,
            no_timestamp: false,
            bundle_version: "0.3".into(),
            tamper_payload: false,
            log_entry_for_other_envelope: false,
            gitlab_fallback: false,
            bundle_out: None,
        }
    }

    fn key(&self) -> Signer {
        Signer::Key(self.dir.join("k.key"))
    }

    fn keyless(&self) -> Signer {
        let p = |f: &str| self.dir.join(f);
        Signer::Keyless(Keyless {
            ca_key: p("ca.key"),
            ca_cert: p("ca.pem"),
            rekor_key: p("rekor.key"),
            identity: IDENTITY.into(),
            issuer: ISSUER.into(),
            not_before: -60,
            not_after: 600,
            integrated_time: 0,
        })
    }

    fn sign_statement(&self) -> Vec<u8> {
        statement::sign_statement(self.image.strip_prefix("sha256:").unwrap(), &[])
    }

    fn bundle(&self, signer: &Signer, edit: impl FnOnce(&mut BundleOptions)) -> Vec<u8> {
        let mut opts = self.opts();
        edit(&mut opts);
        build(&self.sign_statement(), signer, &opts).unwrap()
    }
}

/// Publishes bundles as cosign does; the index goes to the fallback tag (or the API).
fn publish(env: &Env, bundles: &[(Vec<u8>, &str, &str)], api: bool) -> Mem {
    let mut mem = Mem::default();
    let mut index: Option<Vec<u8>> = None;
    let subject = Subject {
        media_type: referrer::OCI_MANIFEST.into(),
        size: env.image_body.len(),
        digest: env.image.clone(),
    };
    for (bundle, media_type, predicate_type) in bundles {
        let manifest = referrer::manifest(
            bundle,
            media_type,
            predicate_type,
            "2026-01-01T00:00:00Z",
            &subject,
        )
        .unwrap();
        mem.blobs.insert(digest(bundle), bundle.clone());
        mem.manifests.insert(digest(&manifest), manifest.clone());
        index = Some(referrer::fallback_index(index.as_deref(), &manifest, media_type).unwrap());
    }
    let index = index.unwrap();
    if api {
        mem.api = Some(index);
    } else {
        mem.tags
            .insert(env.image.replace(':', "-"), (index.clone(), digest(&index)));
    }
    mem
}

fn v3(bundle: Vec<u8>) -> (Vec<u8>, &'static str, &'static str) {
    (
        bundle,
        referrer::BUNDLE_V03_MEDIA_TYPE,
        statement::SIGN_PREDICATE_TYPE,
    )
}

fn keys(pems: &[&str]) -> Vec<String> {
    pems.iter().map(|p| p.to_string()).collect()
}

fn with_keys(env: &Env, mem: &Mem, pems: &[&str]) -> Result<(), String> {
    let pems = keys(pems);
    verify_image(
        mem,
        Some(&env.trust),
        &env.image,
        &Wanted {
            pub_keys: Some(&pems),
            keyless: None,
            annotations: None,
        },
    )
}

fn with_identity(env: &Env, mem: &Mem, id: BundleIdentity) -> Result<(), String> {
    let ids = [id];
    verify_image(
        mem,
        Some(&env.trust),
        &env.image,
        &Wanted {
            pub_keys: None,
            keyless: Some(&ids),
            annotations: None,
        },
    )
}

fn exact(issuer: &str, subject: &str) -> BundleIdentity {
    BundleIdentity {
        issuer: Some(issuer.into()),
        subject: Some(subject.into()),
        issuer_regexp: None,
        subject_regexp: None,
    }
}

fn reason_after_digest(result: Result<(), String>) -> String {
    let text = result.unwrap_err();
    let rest = text
        .strip_prefix("no bundle verifies: sha256:")
        .unwrap_or_else(|| panic!("{text}"));
    rest.split_once(": ").unwrap().1.to_string()
}

fn cleanup(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn key_signed_rekor_v2_bundle_verifies_under_its_key_only() {
    let env = Env::new("key");
    let bundle = env.bundle(&env.key(), |_| {});
    for api in [false, true] {
        let mem = publish(&env, &[v3(bundle.clone())], api);
        with_keys(&env, &mem, &[&env.other_pem, &env.key_pem]).unwrap();
        assert_eq!(
            reason_after_digest(with_keys(&env, &mem, &[&env.other_pem])),
            "the DSSE signature does not verify with any of the keys"
        );
    }
    let v1 = env.bundle(&env.key(), |o| o.rekor_v1 = true);
    with_keys(&env, &publish(&env, &[v3(v1)], false), &[&env.key_pem]).unwrap();
    cleanup(&env.dir);
}

#[test]
fn keyless_bundles_verify_for_the_right_identity_only() {
    let env = Env::new("keyless");
    for rekor_v1 in [false, true] {
        let bundle = env.bundle(&env.keyless(), |o| o.rekor_v1 = rekor_v1);
        let mem = publish(&env, &[v3(bundle)], false);
        with_identity(&env, &mem, exact(ISSUER, IDENTITY)).unwrap();
        with_identity(
            &env,
            &mem,
            BundleIdentity {
                issuer: None,
                subject: None,
                issuer_regexp: Some("^https://issuer\\.".into()),
                subject_regexp: Some("@example\\.com$".into()),
            },
        )
        .unwrap();
        assert_eq!(
            reason_after_digest(with_identity(&env, &mem, exact(ISSUER, "you@example.com"))),
            format!("none of the expected identities matched what was in the certificate, got subjects [{IDENTITY}] with issuer {ISSUER}")
        );
    }
    cleanup(&env.dir);
}

#[test]
fn keyless_rekor_v2_without_a_timestamp_has_no_trusted_time() {
    let env = Env::new("notime");
    let bundle = env.bundle(&env.keyless(), |o| o.no_timestamp = true);
    let mem = publish(&env, &[v3(bundle)], false);
    assert!(
        reason_after_digest(with_identity(&env, &mem, exact(ISSUER, IDENTITY)))
            .starts_with("no trusted time: ")
    );
    cleanup(&env.dir);
}

#[test]
fn altered_bundles_are_refused_with_their_reason() {
    let env = Env::new("altered");
    let tampered = env.bundle(&env.key(), |o| o.tamper_payload = true);
    let other_entry = env.bundle(&env.key(), |o| o.log_entry_for_other_envelope = true);
    let other_entry_v1 = env.bundle(&env.key(), |o| {
        o.log_entry_for_other_envelope = true;
        o.rekor_v1 = true;
    });
    for (bundle, reason) in [
        (
            tampered,
            "the DSSE signature does not verify with any of the keys",
        ),
        (
            other_entry,
            "log entry 0: the log entry is for another envelope (its digest differs)",
        ),
        (
            other_entry_v1,
            "log entry 0: the log entry is for another envelope (its payload hash differs)",
        ),
    ] {
        let mem = publish(&env, &[v3(bundle)], false);
        assert_eq!(
            reason_after_digest(with_keys(&env, &mem, &[&env.key_pem])),
            reason
        );
    }
    // A bundle of another image, offered as this one's referrer.
    let other_image = statement::sign_statement(&"ab".repeat(32), &[]);
    let copied = build(&other_image, &env.key(), &env.opts()).unwrap();
    let mem = publish(&env, &[v3(copied)], false);
    assert_eq!(
        reason_after_digest(with_keys(&env, &mem, &[&env.key_pem])),
        format!("the statement's subject is not the image {}", env.image)
    );
    cleanup(&env.dir);
}

#[test]
fn inclusion_proof_and_checkpoint_are_checked() {
    let env = Env::new("proof");
    let bundle = env.bundle(&env.key(), |_| {});
    let mut value: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    let proof = &mut value["verificationMaterial"]["tlogEntries"][0]["inclusionProof"];
    let first = proof["hashes"][0].as_str().unwrap().to_string();
    let second = proof["hashes"][1].as_str().unwrap().to_string();
    proof["hashes"][0] = second.into();
    proof["hashes"][1] = first.into();
    let mem = publish(&env, &[v3(serde_json::to_vec(&value).unwrap())], false);
    assert_eq!(
        reason_after_digest(with_keys(&env, &mem, &[&env.key_pem])),
        "log entry 0: the inclusion proof does not lead to its root hash"
    );
    let mut value: serde_json::Value = serde_json::from_slice(&bundle).unwrap();
    let checkpoint = &mut value["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]
        ["checkpoint"]["envelope"];
    let text = checkpoint.as_str().unwrap().replacen(
        "rekor2.cip-host.test\n",
        "rekor3.cip-host.test\n",
        1,
    );
    *checkpoint = text.into();
    let mem = publish(&env, &[v3(serde_json::to_vec(&value).unwrap())], false);
    assert_eq!(
        reason_after_digest(with_keys(&env, &mem, &[&env.key_pem])),
        "log entry 0: the checkpoint carries no valid signature by the log's key"
    );
    cleanup(&env.dir);
}

#[test]
fn what_is_not_a_v03_signature_bundle_is_not_a_signature() {
    let env = Env::new("kinds");
    let v02 = env.bundle(&env.key(), |o| o.bundle_version = "0.2".into());
    let mem = publish(
        &env,
        &[(
            v02,
            referrer::BUNDLE_V02_MEDIA_TYPE,
            statement::SIGN_PREDICATE_TYPE,
        )],
        false,
    );
    assert_eq!(
        with_keys(&env, &mem, &[&env.key_pem]).unwrap_err(),
        "no signatures found"
    );
    let predicate_type = "https://cyclonedx.org/bom";
    let attestation = statement::attest_statement(
        "registry.test/app",
        env.image.strip_prefix("sha256:").unwrap(),
        predicate_type,
        &serde_json::json!({"bom": 1}),
    );
    let attestation = build(&attestation, &env.key(), &env.opts()).unwrap();
    for annotated in [predicate_type, statement::SIGN_PREDICATE_TYPE] {
        let mem = publish(
            &env,
            &[(
                attestation.clone(),
                referrer::BUNDLE_V03_MEDIA_TYPE,
                annotated,
            )],
            false,
        );
        assert_eq!(
            with_keys(&env, &mem, &[&env.key_pem]).unwrap_err(),
            "no signatures found"
        );
    }
    assert_eq!(
        with_keys(&env, &Mem::default(), &[&env.key_pem]).unwrap_err(),
        "no signatures found"
    );
    cleanup(&env.dir);
}

#[test]
fn the_fallback_tag_must_be_an_index_and_referrers_are_capped() {
    let env = Env::new("listing");
    let mut mem = Mem::default();
    mem.tags.insert(
        env.image.replace(':', "-"),
        (env.image_body.clone(), env.image.clone()),
    );
    assert_eq!(
        with_keys(&env, &mem, &[&env.key_pem]).unwrap_err(),
        format!("the referrers fallback tag {} resolves to the image itself, not to an OCI index of its referrers (the registry aliases digest tags, as GitLab does)", env.image.replace(':', "-"))
    );
    let bundle = env.bundle(&env.key(), |_| {});
    let mut index: serde_json::Value =
        serde_json::from_slice(&publish(&env, &[v3(bundle)], true).api.unwrap()).unwrap();
    let entry = index["manifests"][0].clone();
    index["manifests"] = serde_json::Value::Array(vec![entry; MAX_REFERRERS + 1]);
    let mem = Mem {
        api: Some(serde_json::to_vec(&index).unwrap()),
        ..Mem::default()
    };
    assert_eq!(
        with_keys(&env, &mem, &[&env.key_pem]).unwrap_err(),
        format!(
            "the image has {} referrers, more than the limit of {MAX_REFERRERS}",
            MAX_REFERRERS + 1
        )
    );
    cleanup(&env.dir);
}

#[test]
fn attestation_bundles_answer_their_statements_by_predicate_type() {
    let env = Env::new("attest");
    let hex = env.image.strip_prefix("sha256:").unwrap();
    let bom = "https://cyclonedx.org/bom";
    let attest = |kind: &str, signer: &Signer| {
        let statement = statement::attest_statement(
            "registry.test/app",
            hex,
            kind,
            &serde_json::json!({"k": kind}),
        );
        build(&statement, signer, &env.opts()).unwrap()
    };
    let other = Signer::Key(env.dir.join("other.key"));
    // The fallback index carries no annotations: predicate types come from the statements.
    let mem = publish(
        &env,
        &[
            (
                attest(bom, &env.key()),
                referrer::BUNDLE_V03_MEDIA_TYPE,
                bom,
            ),
            (
                attest("https://spdx.dev/Document", &other),
                referrer::BUNDLE_V03_MEDIA_TYPE,
                "https://spdx.dev/Document",
            ),
            v3(env.bundle(&env.key(), |_| {})),
        ],
        false,
    );
    let pems = keys(&[&env.key_pem]);
    let wanted = Wanted {
        pub_keys: Some(&pems),
        keyless: None,
        annotations: None,
    };
    let got =
        attestations::statements(&mem, Some(&env.trust), "img", &env.image, bom, &wanted).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["predicate"]["k"], bom);
    assert_eq!(
        attestations::statements(&mem, Some(&env.trust), "img", &env.image, "https://slsa.dev/provenance/v1", &wanted)
            .unwrap_err(),
        format!("no attestation of predicate type https://slsa.dev/provenance/v1; verified predicate types: [\"{bom}\"]")
    );
    let signature_only = publish(&env, &[v3(env.bundle(&env.key(), |_| {}))], false);
    assert_eq!(
        attestations::statements(
            &signature_only,
            Some(&env.trust),
            "img",
            &env.image,
            bom,
            &wanted
        )
        .unwrap_err(),
        "no attestations found for image: img"
    );
    cleanup(&env.dir);
}

#[test]
fn the_certificate_must_be_valid_at_the_trusted_time() {
    let env = Env::new("validity");
    let expired = |rekor_v1: bool| {
        let Signer::Keyless(mut keyless) = env.keyless() else {
            unreachable!()
        };
        keyless.not_before = -600;
        keyless.not_after = -300;
        let signer = Signer::Keyless(keyless);
        env.bundle(&signer, |o| o.rekor_v1 = rekor_v1)
    };
    for rekor_v1 in [false, true] {
        let mem = publish(&env, &[v3(expired(rekor_v1))], false);
        let reason = reason_after_digest(with_identity(&env, &mem, exact(ISSUER, IDENTITY)));
        assert!(
            reason.starts_with(
                "the signing certificate does not chain to the trust root at the signing time: "
            ),
            "{reason}"
        );
    }
    // A timestamp from an authority the trust root does not list.
    let mut untrusted = env.trust.clone();
    untrusted.timestamp_authorities.clear();
    let mem = publish(&env, &[v3(env.bundle(&env.keyless(), |_| {}))], false);
    let ids = [exact(ISSUER, IDENTITY)];
    let wanted = Wanted {
        pub_keys: None,
        keyless: Some(&ids),
        annotations: None,
    };
    let reason = reason_after_digest(verify_image(&mem, Some(&untrusted), &env.image, &wanted));
    assert_eq!(
        reason,
        "timestamp 0: the trust root has no timestamp authority"
    );
    cleanup(&env.dir);
}

#[test]
fn reading_stops_when_the_time_is_spent() {
    let env = Env::new("budget");
    let bad = env.bundle(&Signer::Key(env.dir.join("other.key")), |_| {});
    let good = env.bundle(&env.key(), |_| {});
    let mut mem = publish(&env, &[v3(bad), v3(good)], false);
    with_keys(&env, &mem, &[&env.key_pem]).unwrap();
    // The index is sorted by digest: whichever comes first, one read is not enough for both.
    mem.reads_allowed = Some(std::cell::Cell::new(1));
    if let Err(text) = with_keys(&env, &mem, &[&env.key_pem]) {
        assert!(text.ends_with("; out of time"), "{text}");
    }
    mem.reads_allowed = Some(std::cell::Cell::new(0));
    assert_eq!(
        with_keys(&env, &mem, &[&env.key_pem]).unwrap_err(),
        "no bundle verifies: out of time"
    );
    cleanup(&env.dir);
}

/// cosign 3.0.x logs a Rekor v2 `dsse` v0.0.2 entry (rekor-tiles DSSELogEntryV002): its
/// entry is rebuilt here in the fixture's test log.
fn with_dsse_v002_entry(env: &Env, bundle: &[u8], payload_for_hash: Option<&[u8]>) -> Vec<u8> {
    use base64::Engine as _;
    use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut value: serde_json::Value = serde_json::from_slice(bundle).unwrap();
    let envelope = &value["dsseEnvelope"];
    let payload = base64::engine::general_purpose::STANDARD
        .decode(envelope["payload"].as_str().unwrap())
        .unwrap();
    let sig = envelope["signatures"][0]["sig"]
        .as_str()
        .unwrap()
        .to_string();
    let spki = p256::PublicKey::from_public_key_pem(&env.key_pem)
        .unwrap()
        .to_public_key_der()
        .unwrap();
    let body = serde_json_canonicalizer::to_vec(&serde_json::json!({
        "apiVersion": "0.0.2", "kind": "dsse",
        "spec": {"dsseV002": {
            "payloadHash": {"algorithm": "SHA2_256",
                "digest": b64(&sha2::Sha256::digest(payload_for_hash.unwrap_or(&payload)))},
            "signatures": [{"content": sig, "verifier": {
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "publicKey": {"rawBytes": b64(spki.as_bytes())}}}]
        }}
    }))
    .unwrap();
    let log = crate::fixtures::tlog::Log::load(
        &env.dir.join("rekor2.key"),
        "rekor2.cip-host.test".into(),
        "rekor2.cip-host.test".into(),
    )
    .unwrap();
    let mut entry = crate::fixtures::rekor_entry::v2_entry(&log, &body).unwrap();
    entry["kindVersion"] = serde_json::json!({"kind": "dsse", "version": "0.0.2"});
    value["verificationMaterial"]["tlogEntries"] = serde_json::json!([entry]);
    serde_json::to_vec(&value).unwrap()
}

#[test]
fn rekor_v2_dsse_entries_of_cosign_3_0_are_bound_to_the_payload() {
    let env = Env::new("dssev2");
    let bundle = env.bundle(&env.key(), |_| {});
    let good = with_dsse_v002_entry(&env, &bundle, None);
    with_keys(&env, &publish(&env, &[v3(good)], false), &[&env.key_pem]).unwrap();
    let other = with_dsse_v002_entry(&env, &bundle, Some(b"another payload"));
    assert_eq!(
        reason_after_digest(with_keys(
            &env,
            &publish(&env, &[v3(other)], false),
            &[&env.key_pem]
        )),
        "log entry 0: the log entry is for another envelope (its payload hash differs)"
    );
    cleanup(&env.dir);
}
