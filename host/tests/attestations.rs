//! `oci/v2/verify_attestations` served live against a real registry (Debian's
//! `docker-registry`, started on a free port; the test fails without it), with attestations pushed
//! by `cip-host attest` (key, and keyless with `cip-host testca`), and its record/replay.

#[path = "common/registry.rs"]
mod registry;

use std::collections::BTreeMap;
use std::path::Path;

use cip_host::capabilities::live::Live;
use cip_host::capabilities::replay::{Recorder, Replay};
use cip_host::capabilities::Capabilities;
use oci_client::client::{Config, ImageLayer};
use oci_client::Reference;
use registry::{mixed_trust, scratch, start_registry, Env, Fixtures, ALICE, ISSUER};
use serde_json::{json, Value};

const CYCLONEDX: &str = "https://cyclonedx.org/bom";
const SPDX: &str = "https://spdx.dev/Document";
const SLSA1: &str = "https://slsa.dev/provenance/v1";

fn request(image: &str, predicate_type: &str, verifier: Value) -> Value {
    json!({"image": image, "predicate_type": predicate_type, "verifier": verifier})
}

fn verify_att(live: Live, payload: &Value) -> Result<Value, String> {
    let caps = Capabilities::new(vec!["*".into()], Box::new(live));
    caps.call(
        "kubewarden",
        "oci",
        "v2/verify_attestations",
        payload.to_string().as_bytes(),
    )
    .map(|bytes| serde_json::from_slice(&bytes).unwrap())
    .map_err(|e| e.to_string())
}

const PREFIX: &str = "Callback evaluation failure: ";

#[track_caller]
fn assert_error(r: Result<Value, String>, expected: &str) {
    let err = r.expect_err("verification must fail");
    eprintln!("{err}");
    assert_eq!(err, format!("{PREFIX}{expected}"));
}

#[track_caller]
fn assert_error_contains(r: Result<Value, String>, text: &str) {
    let err = r.expect_err("verification must fail");
    eprintln!("{err}");
    assert!(err.starts_with(PREFIX), "{err}");
    assert!(err.contains(text), "expected {text:?} in {err:?}");
}

fn statement(repo: &str, image: &str, predicate_type: &str, predicate: Value) -> Value {
    let hex = image.split_once("@sha256:").unwrap().1;
    json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [{"name": repo, "digest": {"sha256": hex}}],
        "predicate": predicate
    })
}

/// An attestation layer: blob, media type, annotations.
type AttLayer = (Vec<u8>, String, Option<BTreeMap<String, String>>);

/// Pushes `<repo>:sha256-<hex>.att` made of `layers` (blob, media type, annotations),
/// replacing what is there.
fn push_att(env: &Env, image: &str, layers: Vec<AttLayer>) {
    let reference: Reference = image.parse().unwrap();
    let digest = reference.digest().unwrap().to_string();
    let tag = cip_host::capabilities::oci::cosign_tag(&reference, &digest, "att");
    let layers: Vec<ImageLayer> = layers
        .into_iter()
        .map(|(data, media_type, annotations)| ImageLayer::new(data, media_type, annotations))
        .collect();
    let config = Config::new(
        br#"{"architecture":"","os":"","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#
            .to_vec(),
        "application/vnd.oci.image.config.v1+json".to_string(),
        None,
    );
    let mut manifest = oci_client::manifest::OciImageManifest::build(&layers, &config, None);
    manifest.media_type = Some(oci_client::manifest::OCI_IMAGE_MEDIA_TYPE.to_string());
    env.registry()
        .push(&tag, &layers, &config, &manifest)
        .unwrap();
}

/// The layers of `image`'s `.att`: (blob, media type, annotations).
fn att_layers(env: &Env, image: &str) -> Vec<AttLayer> {
    let reference: Reference = image.parse().unwrap();
    let digest = reference.digest().unwrap().to_string();
    let tag = cip_host::capabilities::oci::cosign_tag(&reference, &digest, "att");
    let registry = env.registry();
    let manifest = registry
        .cosign_manifest(&reference, &digest, "att")
        .unwrap()
        .unwrap();
    let blobs = registry.pull_layers(&tag, &manifest).unwrap();
    manifest
        .layers
        .iter()
        .zip(blobs)
        .map(|(l, b)| (b, l.media_type.clone(), l.annotations.clone()))
        .collect()
}

#[test]
fn attestations_live() {
    let dir = scratch("attestations");
    let (_registry, addr) = start_registry(&dir);
    let env = Env::new(&dir, &addr);

    // fixtures
    let Fixtures {
        keys,
        ca,
        ca2,
        trust,
        key1,
        key2,
    } = Fixtures::make(&dir);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let key = s(&keys.join("cosign.key"));
    let sbom = dir.join("sbom.json");
    std::fs::write(
        &sbom,
        r#"{"bomFormat":"CycloneDX","components":[{"name":"openssl"}]}"#,
    )
    .unwrap();
    let spdx_doc = dir.join("spdx.json");
    std::fs::write(&spdx_doc, r#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
    let keyless_args = |ca: &Path, identity: &str| -> Vec<String> {
        let mut args = registry::keyless_args(ca, identity);
        args.extend([
            "--predicate".into(),
            s(&sbom),
            "--type".into(),
            "cyclonedx".into(),
        ]);
        args
    };
    let attest_keyless = |image: &str, args: Vec<String>| {
        env.attest(image, &args.iter().map(String::as_str).collect::<Vec<_>>());
    };

    let app_repo = format!("{addr}/test/app");
    let app = env.push_image(&app_repo, "app");
    let bare = env.push_image(&format!("{addr}/test/bare"), "bare");
    let kl_repo = format!("{addr}/test/keyless");
    let kl = env.push_image(&kl_repo, "keyless");
    let foreign = env.push_image(&format!("{addr}/test/foreign"), "foreign");
    let about_other = env.push_image(&format!("{addr}/test/about-other"), "about-other");
    let expired_repo = format!("{addr}/test/expired");
    let expired = env.push_image(&expired_repo, "expired");
    let late = env.push_image(&format!("{addr}/test/late"), "late");

    // app: a CycloneDX attestation (by tag: resolved), then an SPDX one, both with the key
    env.attest(
        &format!("{app_repo}:v1"),
        &[
            "--key",
            &key,
            "--predicate",
            &s(&sbom),
            "--type",
            "cyclonedx",
        ],
    );
    env.attest(
        &app,
        &[
            "--key",
            &key,
            "--predicate",
            &s(&spdx_doc),
            "--type",
            "spdx",
        ],
    );
    // a statement signed with the key, attached to about-other, but about app
    let app_digest = app.split_once('@').unwrap().1;
    env.attest(
        &about_other,
        &[
            "--key",
            &key,
            "--predicate",
            &s(&sbom),
            "--type",
            "cyclonedx",
            "--subject-digest",
            app_digest,
        ],
    );
    attest_keyless(&kl, keyless_args(&ca, ALICE));
    attest_keyless(&foreign, keyless_args(&ca2, ALICE));
    let mut args = keyless_args(&ca, ALICE);
    args.extend(
        [
            "--not-before=-7200",
            "--not-after=-3600",
            "--integrated-time=-5000",
        ]
        .map(String::from),
    );
    attest_keyless(&expired, args);
    let mut args = keyless_args(&ca, ALICE);
    args.extend(["--not-before=-7200", "--not-after=-3600"].map(String::from));
    attest_keyless(&late, args);
    // a signature (not an attestation) on bare: still no attestations
    env.sign(&bare, &["--key", &key]);

    let pubkey = |keys: &[&str]| json!({"type": "SigstorePubKeyVerify", "pub_keys": keys, "annotations": null});
    let keyless = |subject: &str| json!({"type": "SigstoreKeylessVerify", "keyless": [{"issuer": ISSUER, "subject": subject}], "annotations": null});
    let sbom_json: Value = serde_json::from_str(&std::fs::read_to_string(&sbom).unwrap()).unwrap();
    let app_hex = app_digest.strip_prefix("sha256:").unwrap();

    // --- key: verified, only the requested type returned
    assert_eq!(
        verify_att(env.live(None), &request(&app, CYCLONEDX, pubkey(&[&key1]))).unwrap(),
        json!({"digest": app_digest, "statements": [statement(&app_repo, &app, CYCLONEDX, sbom_json.clone())]})
    );
    assert_eq!(
        verify_att(env.live(None), &request(&app, SPDX, pubkey(&[&key1]))).unwrap(),
        json!({"digest": app_digest, "statements": [statement(&app_repo, &app, SPDX, json!({"spdxVersion": "SPDX-2.3"}))]})
    );
    // the trust root does not matter for keys
    assert!(verify_att(
        env.live(Some(&trust)),
        &request(&app, CYCLONEDX, pubkey(&[&key1]))
    )
    .is_ok());
    // (b) another key
    assert_error(
        verify_att(env.live(None), &request(&app, CYCLONEDX, pubkey(&[&key2]))),
        "no attestation verifies: attestation 1: the signature does not verify with the given public key; attestation 2: the signature does not verify with the given public key",
    );
    // every key must verify the same attestation
    assert_error_contains(
        verify_att(env.live(None), &request(&app, CYCLONEDX, pubkey(&[&key1, &key2]))),
        "no attestation verifies: attestation 1: the signature does not verify with the given public key (key 2 of 2)",
    );
    // (c) a type no verified attestation has, with the verified types in layer order
    assert_error(
        verify_att(env.live(None), &request(&app, SLSA1, pubkey(&[&key1]))),
        &format!("no attestation of predicate type {SLSA1}; verified predicate types: [\"{CYCLONEDX}\",\"{SPDX}\"]"),
    );
    // (a) no .att tag (bare only has a .sig)
    assert_error(
        verify_att(env.live(None), &request(&bare, CYCLONEDX, pubkey(&[&key1]))),
        &format!("no attestations found for image: {bare}"),
    );
    // a statement about another image does not count
    assert_error(
        verify_att(
            env.live(None),
            &request(&about_other, CYCLONEDX, pubkey(&[&key1])),
        ),
        &format!(
            "no attestation verifies: attestation 1: the statement's subject does not include {}",
            about_other.split_once('@').unwrap().1
        ),
    );
    // request errors
    assert_error_contains(
        verify_att(
            env.live(None),
            &request(&format!("{app_repo}:v1"), CYCLONEDX, pubkey(&[&key1])),
        ),
        "is not a reference by sha256 digest",
    );
    assert_error_contains(
        verify_att(
            env.live(None),
            &request(
                &app,
                CYCLONEDX,
                json!({"type": "SigstoreGithubActionsVerify", "owner": "o"}),
            ),
        ),
        "invalid verifier: unknown variant `SigstoreGithubActionsVerify`",
    );
    assert_error(
        verify_att(
            env.live(None),
            &request(
                &app,
                CYCLONEDX,
                json!({"type": "SigstorePubKeyVerify", "pub_keys": [&key1], "annotations": {"env": "prod"}}),
            ),
        ),
        "the verifier has annotations, which attestations (DSSE envelopes) cannot carry",
    );
    assert_error_contains(
        verify_att(
            env.live(None),
            &request(&app, CYCLONEDX, pubkey(&["not a key"])),
        ),
        "invalid public key",
    );

    // --- keyless
    assert_eq!(
        verify_att(
            env.live(Some(&trust)),
            &request(&kl, CYCLONEDX, keyless(ALICE))
        )
        .unwrap(),
        json!({"digest": kl.split_once('@').unwrap().1,
               "statements": [statement(&kl_repo, &kl, CYCLONEDX, sbom_json.clone())]})
    );
    assert_error(
        verify_att(env.live(Some(&trust)), &request(&kl, CYCLONEDX, keyless("bob@example.com"))),
        &format!("no attestation verifies: attestation 1: the certificate is for issuer {ISSUER} and subject {ALICE}, not issuer {ISSUER} and subject bob@example.com"),
    );
    assert_error(
        verify_att(env.live(Some(&trust)), &request(&kl, CYCLONEDX,
            json!({"type": "SigstoreKeylessVerify", "keyless": [{"issuer": "https://other.example.com", "subject": ALICE}]}))),
        &format!("no attestation verifies: attestation 1: the certificate is for issuer {ISSUER} and subject {ALICE}, not issuer https://other.example.com and subject {ALICE}"),
    );
    // (c) with keyless
    assert_error(
        verify_att(env.live(Some(&trust)), &request(&kl, SPDX, keyless(ALICE))),
        &format!(
            "no attestation of predicate type {SPDX}; verified predicate types: [\"{CYCLONEDX}\"]"
        ),
    );
    // untrusted CA
    assert_error(
        verify_att(env.live(Some(&trust)), &request(&foreign, CYCLONEDX, keyless(ALICE))),
        "no attestation verifies: attestation 1: the certificate does not chain to the trusted certificate authorities",
    );
    // no trust root
    assert_error(
        verify_att(env.live(None), &request(&kl, CYCLONEDX, keyless(ALICE))),
        "no sigstore trust root is configured (--sigstore-trust-config): keyless signatures and Rekor bundles cannot be verified",
    );
    // a key verifier does not accept a keyless attestation
    assert_error(
        verify_att(env.live(Some(&trust)), &request(&kl, CYCLONEDX, pubkey(&[&key1]))),
        "no attestation verifies: attestation 1: the signature does not verify with the given public key",
    );
    // an expired leaf is accepted at its Rekor integrated time, not after its validity
    assert!(verify_att(
        env.live(Some(&trust)),
        &request(&expired, CYCLONEDX, keyless(ALICE))
    )
    .is_ok());
    assert_error(
        verify_att(env.live(Some(&trust)), &request(&late, CYCLONEDX, keyless(ALICE))),
        "no attestation verifies: attestation 1: its Rekor integrated time is outside the certificate's validity",
    );
    // the right CA, but a log key the trust root does not know
    let mixed_path = mixed_trust(&dir, &trust, &ca2.join("trust-config.json"));
    assert_error(
        verify_att(env.live(Some(&mixed_path)), &request(&kl, CYCLONEDX, keyless(ALICE))),
        "no attestation verifies: attestation 1: its Rekor bundle does not verify with the trusted transparency-log keys",
    );
    // prefix
    let url_repo = format!("{addr}/test/url");
    let url_image = env.push_image(&url_repo, "url");
    attest_keyless(
        &url_image,
        keyless_args(
            &ca,
            "https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main",
        ),
    );
    let prefix = |p: &str| json!({"type": "SigstoreKeylessPrefixVerify", "keyless_prefix": [{"issuer": ISSUER, "url_prefix": p}]});
    assert!(verify_att(
        env.live(Some(&trust)),
        &request(&url_image, CYCLONEDX, prefix("https://github.com/org"))
    )
    .is_ok());
    assert_error_contains(
        verify_att(
            env.live(Some(&trust)),
            &request(&url_image, CYCLONEDX, prefix("https://github.com/or")),
        ),
        "not issuer https://issuer.example.com and a subject starting with https://github.com/or/",
    );

    // --- certificate
    let leaf = env.leaf_pem(&kl, "att");
    let cert_req = |chain: Option<Vec<Vec<u8>>>, rekor: bool| {
        json!({"type": "SigstoreCertificateVerify", "certificate": leaf.as_bytes(),
               "certificate_chain": chain, "require_rekor_bundle": rekor, "annotations": null})
    };
    let ca_pem = std::fs::read(ca.join("ca.pem")).unwrap();
    let ca2_pem = std::fs::read(ca2.join("ca.pem")).unwrap();
    assert!(verify_att(
        env.live(Some(&trust)),
        &request(&kl, CYCLONEDX, cert_req(Some(vec![ca_pem.clone()]), true))
    )
    .is_ok());
    assert!(verify_att(
        env.live(None),
        &request(&kl, CYCLONEDX, cert_req(None, false))
    )
    .is_ok());
    assert_error(
        verify_att(
            env.live(Some(&trust)),
            &request(&kl, CYCLONEDX, cert_req(Some(vec![ca2_pem]), false)),
        ),
        "the certificate does not chain to the given certificate_chain",
    );
    assert_error(
        verify_att(env.live(Some(&trust)), &request(&app, CYCLONEDX, cert_req(None, false))),
        "no attestation verifies: attestation 1: the signature does not verify with the given certificate; attestation 2: the signature does not verify with the given certificate",
    );

    // --- hand-made .att manifests (threats A1, A7, A10)
    // the layer annotation says CycloneDX, the signed statement says SPDX: the statement wins
    let lying = env.push_image(&format!("{addr}/test/lying"), "lying");
    env.attest(
        &lying,
        &[
            "--key",
            &key,
            "--predicate",
            &s(&spdx_doc),
            "--type",
            "spdx",
        ],
    );
    let mut layers = att_layers(&env, &lying);
    layers[0]
        .2
        .as_mut()
        .unwrap()
        .insert("predicateType".into(), CYCLONEDX.into());
    push_att(&env, &lying, layers.clone());
    assert_error(
        verify_att(
            env.live(None),
            &request(&lying, CYCLONEDX, pubkey(&[&key1])),
        ),
        &format!(
            "no attestation of predicate type {CYCLONEDX}; verified predicate types: [\"{SPDX}\"]"
        ),
    );
    // a payload changed after signing
    let mut envelope: Value = serde_json::from_slice(&layers[0].0).unwrap();
    let forged = statement(&format!("{addr}/test/lying"), &lying, CYCLONEDX, json!({}));
    envelope["payload"] = json!(base64_encode(forged.to_string().as_bytes()));
    push_att(
        &env,
        &lying,
        vec![(
            envelope.to_string().into_bytes(),
            layers[0].1.clone(),
            layers[0].2.clone(),
        )],
    );
    assert_error(
        verify_att(env.live(None), &request(&lying, CYCLONEDX, pubkey(&[&key1]))),
        "no attestation verifies: attestation 1: the signature does not verify with the given public key",
    );
    // garbage in a DSSE layer, next to a valid attestation: the valid one still counts
    push_att(
        &env,
        &lying,
        vec![
            (b"not json".to_vec(), layers[0].1.clone(), None),
            layers[0].clone(),
        ],
    );
    assert!(verify_att(env.live(None), &request(&lying, SPDX, pubkey(&[&key1]))).is_ok());
    assert_error_contains(
        verify_att(env.live(None), &request(&lying, SPDX, pubkey(&[&key2]))),
        "no attestation verifies: attestation 1: not a DSSE envelope (expected ident at line 1 column 2); attestation 2: the signature does not verify",
    );
    // an .att without DSSE layers: no attestations
    push_att(
        &env,
        &lying,
        vec![(
            b"{}".to_vec(),
            "application/vnd.dev.cosign.simplesigning.v1+json".into(),
            None,
        )],
    );
    assert_error(
        verify_att(env.live(None), &request(&lying, SPDX, pubkey(&[&key1]))),
        &format!("no attestations found for image: {lying}"),
    );
    // more layers than the limit
    push_att(
        &env,
        &lying,
        (0..129)
            .map(|i| {
                (
                    format!("{{\"n\":{i}}}").into_bytes(),
                    layers[0].1.clone(),
                    None,
                )
            })
            .collect(),
    );
    assert_error(
        verify_att(env.live(None), &request(&lying, SPDX, pubkey(&[&key1]))),
        &format!("the attestation manifest of {lying} has 129 layers, more than the limit of 128"),
    );

    // --- record, then replay without the registry
    let session = dir.join("session.yml");
    let requests = [
        request(&app, CYCLONEDX, pubkey(&[&key1])),
        request(&app, CYCLONEDX, pubkey(&[&key2])),
        request(&app, SLSA1, pubkey(&[&key1])),
        request(&bare, CYCLONEDX, pubkey(&[&key1])),
        request(&kl, CYCLONEDX, keyless(ALICE)),
        request(&kl, CYCLONEDX, cert_req(Some(vec![ca_pem.clone()]), true)),
    ];
    let recorder = Recorder::new(Box::new(env.live(Some(&trust))), session.clone());
    let caps = Capabilities::new(vec!["*".into()], Box::new(recorder));
    let call = |caps: &Capabilities, r: &Value| {
        caps.call(
            "kubewarden",
            "oci",
            "v2/verify_attestations",
            r.to_string().as_bytes(),
        )
        .map_err(|e| e.to_string())
    };
    let live_answers: Vec<_> = requests.iter().map(|r| call(&caps, r)).collect();
    caps.finish().unwrap();
    let text = std::fs::read_to_string(&session).unwrap();
    assert!(text.contains("!SigstoreAttestationsVerify"), "{text}");
    assert!(
        text.contains("predicate_type: https://cyclonedx.org/bom"),
        "{text}"
    );
    let replay = Replay::load(&session).unwrap();
    let caps = Capabilities::new(vec!["*".into()], Box::new(replay));
    for (request, live) in requests.iter().zip(&live_answers) {
        assert_eq!(&call(&caps, request), live);
    }
    let oks: Vec<bool> = live_answers.iter().map(Result::is_ok).collect();
    assert_eq!(oks, [true, false, false, false, true, true]);
    let first: Value = serde_json::from_slice(live_answers[0].as_ref().unwrap()).unwrap();
    assert_eq!(
        first["statements"][0]["subject"][0]["digest"]["sha256"],
        app_hex
    );
    // a replay refuses a different request
    let replay = Replay::load(&session).unwrap();
    let caps = Capabilities::new(vec!["*".into()], Box::new(replay));
    assert!(call(&caps, &request(&app, SPDX, pubkey(&[&key1])))
        .unwrap_err()
        .contains("Replay error: unexpected request"));
}

fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}
