//! `oci/v2/verify` and `crypto/v1/is_certificate_trusted` served live, against a real
//! registry (Debian's `docker-registry`, started on a free port; the test fails without it), with
//! signatures pushed by `cip-host sign` (key and keyless with `cip-host testca`).

#[path = "common/registry.rs"]
mod registry;

use std::path::Path;

use cip_host::capabilities::live::Live;
use cip_host::capabilities::replay::{Recorder, Replay};
use cip_host::capabilities::Capabilities;
use registry::{keyless_args, mixed_trust, scratch, start_registry, Env, Fixtures, ALICE, ISSUER};
use serde_json::{json, Value};

fn call(live: Live, namespace: &str, operation: &str, payload: &Value) -> Result<Value, String> {
    let caps = Capabilities::new(vec!["*".into()], Box::new(live));
    caps.call(
        "kubewarden",
        namespace,
        operation,
        serde_json::to_string(payload).unwrap().as_bytes(),
    )
    .map(|bytes| serde_json::from_slice(&bytes).unwrap())
    .map_err(|e| e.to_string())
}

fn verify(live: Live, payload: Value) -> Result<Value, String> {
    call(live, "oci", "v2/verify", &payload)
}

#[track_caller]
fn assert_trusted(r: Result<Value, String>, image: &str) {
    let digest = image.split_once('@').unwrap().1;
    assert_eq!(
        r.unwrap(),
        json!({"is_trusted": true, "digest": digest}),
        "{image}"
    );
}

#[track_caller]
fn assert_fails(r: Result<Value, String>, text: &str) -> String {
    let err = r.expect_err("verification must fail");
    assert!(err.starts_with("Callback evaluation failure: "), "{err}");
    assert!(err.contains(text), "expected {text:?} in {err:?}");
    eprintln!("{err}");
    err
}

fn pem_bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

#[test]
fn signatures_live() {
    let dir = scratch("signatures");
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

    let app = env.push_image(&format!("{addr}/test/app"), "app");
    let unsigned = env.push_image(&format!("{addr}/test/unsigned"), "unsigned");
    let foreign = env.push_image(&format!("{addr}/test/foreign"), "foreign");
    let expired = env.push_image(&format!("{addr}/test/expired"), "expired");
    let late = env.push_image(&format!("{addr}/test/late"), "late");

    // key signature, by tag (resolved) and then a keyless one appended to the same .sig
    env.sign(
        &format!("{addr}/test/app:v1"),
        &["--key", &s(&keys.join("cosign.key")), "-a", "env=prod"],
    );
    let args = keyless_args(&ca, ALICE);
    env.sign(&app, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let args = keyless_args(&ca2, ALICE);
    env.sign(
        &foreign,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mut args = keyless_args(&ca, ALICE);
    args.extend(
        [
            "--not-before=-7200",
            "--not-after=-3600",
            "--integrated-time=-5000",
        ]
        .iter()
        .map(|a| a.to_string()),
    );
    env.sign(
        &expired,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let mut args = keyless_args(&ca, ALICE);
    args.extend(
        ["--not-before=-7200", "--not-after=-3600"]
            .iter()
            .map(|a| a.to_string()),
    );
    env.sign(&late, &args.iter().map(String::as_str).collect::<Vec<_>>());

    let pubkey = |image: &str, keys: &[&str], annotations: Value| json!({"type": "SigstorePubKeyVerify", "image": image, "pub_keys": keys, "annotations": annotations});
    let keyless = |image: &str, issuer: &str, subject: &str| {
        json!({"type": "SigstoreKeylessVerify", "image": image,
               "keyless": [{"issuer": issuer, "subject": subject}], "annotations": null})
    };

    // --- keys
    assert_trusted(
        verify(env.live(None), pubkey(&app, &[&key1], Value::Null)),
        &app,
    );
    assert_trusted(
        verify(env.live(Some(&trust)), pubkey(&app, &[&key1], Value::Null)),
        &app,
    );
    // by tag: the digest the tag resolves to
    assert_trusted(
        verify(
            env.live(None),
            pubkey(&format!("{addr}/test/app:v1"), &[&key1], Value::Null),
        ),
        &app,
    );
    assert_fails(
        verify(env.live(None), pubkey(&app, &[&key2], Value::Null)),
        &format!(
            "image verification failed for {app}: no signature verifies with the given public key"
        ),
    );
    // every key must verify
    assert_fails(
        verify(env.live(None), pubkey(&app, &[&key1, &key2], Value::Null)),
        "no signature verifies with the given public key (key 2 of 2)",
    );
    assert_fails(
        verify(env.live(None), pubkey(&app, &["not a key"], Value::Null)),
        "invalid public key",
    );
    assert_fails(
        verify(env.live(None), pubkey(&unsigned, &[&key1], Value::Null)),
        &format!("no signatures found for image: {unsigned}"),
    );
    // annotations
    assert_trusted(
        verify(
            env.live(None),
            pubkey(&app, &[&key1], json!({"env": "prod"})),
        ),
        &app,
    );
    assert_fails(
        verify(
            env.live(None),
            pubkey(&app, &[&key1], json!({"env": "dev"})),
        ),
        r#"a signature verifies with the given public key, but none has the annotations {"env":"dev"}"#,
    );

    // --- keyless
    assert_trusted(
        verify(env.live(Some(&trust)), keyless(&app, ISSUER, ALICE)),
        &app,
    );
    assert_fails(
        verify(
            env.live(Some(&trust)),
            keyless(&app, ISSUER, "bob@example.com"),
        ),
        &format!("no signature has a certificate for issuer {ISSUER} and subject bob@example.com"),
    );
    assert_fails(
        verify(
            env.live(Some(&trust)),
            keyless(&app, "https://other.example.com", ALICE),
        ),
        &format!("no signature has a certificate for issuer https://other.example.com and subject {ALICE}"),
    );
    assert_fails(
        verify(env.live(Some(&trust)), keyless(&foreign, ISSUER, ALICE)),
        "the certificate does not chain to the trusted certificate authorities",
    );
    assert_fails(
        verify(env.live(None), keyless(&app, ISSUER, ALICE)),
        "no sigstore trust root is configured (--sigstore-trust-config)",
    );
    assert_fails(
        verify(
            env.live(Some(&trust)),
            json!({"type": "SigstoreKeylessVerify", "image": &unsigned,
                   "keyless": [{"issuer": ISSUER, "subject": ALICE}]}),
        ),
        &format!("no signatures found for image: {unsigned}"),
    );
    // an expired leaf is accepted at its Rekor integrated time, not after it
    assert_trusted(
        verify(env.live(Some(&trust)), keyless(&expired, ISSUER, ALICE)),
        &expired,
    );
    assert_fails(
        verify(env.live(Some(&trust)), keyless(&late, ISSUER, ALICE)),
        "no signature has a certificate for issuer",
    );
    // the right CA but a log key the trust root does not know: the bundle does not verify
    let mixed_path = mixed_trust(&dir, &trust, &ca2.join("trust-config.json"));
    assert_fails(
        verify(env.live(Some(&mixed_path)), keyless(&app, ISSUER, ALICE)),
        "was rejected (its Rekor bundle does not verify with the trusted transparency-log keys",
    );
    // key verification ignores the bundle-less key layer's missing Rekor entry
    assert_trusted(
        verify(
            env.live(Some(&mixed_path)),
            pubkey(&app, &[&key1], Value::Null),
        ),
        &app,
    );
    // prefix
    let url_signed = env.push_image(&format!("{addr}/test/url"), "url");
    let args = keyless_args(
        &ca,
        "https://github.com/org/repo/.github/workflows/ci.yml@refs/heads/main",
    );
    env.sign(
        &url_signed,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let prefix = |p: &str| {
        json!({"type": "SigstoreKeylessPrefixVerify", "image": &url_signed,
               "keyless_prefix": [{"issuer": ISSUER, "url_prefix": p}], "annotations": null})
    };
    assert_trusted(
        verify(env.live(Some(&trust)), prefix("https://github.com/org")),
        &url_signed,
    );
    assert_fails(
        verify(env.live(Some(&trust)), prefix("https://github.com/or")),
        "no signature has a certificate for issuer https://issuer.example.com and a subject starting with https://github.com/or/",
    );
    assert_fails(
        verify(env.live(Some(&trust)), prefix("not a url")),
        "is not a valid URL",
    );

    // --- certificate
    let leaf = env.leaf_pem(&app, "sig");
    let cert_req = |chain: Option<Vec<Vec<u8>>>, rekor: bool| {
        json!({"type": "SigstoreCertificateVerify", "image": &app, "certificate": leaf.as_bytes(),
               "certificate_chain": chain, "require_rekor_bundle": rekor, "annotations": null})
    };
    assert_trusted(
        verify(
            env.live(Some(&trust)),
            cert_req(Some(vec![pem_bytes(&ca.join("ca.pem"))]), true),
        ),
        &app,
    );
    assert_trusted(verify(env.live(None), cert_req(None, false)), &app);
    assert_trusted(
        verify(
            env.live(None),
            cert_req(Some(vec![pem_bytes(&ca.join("ca.pem"))]), false),
        ),
        &app,
    );
    assert_fails(
        verify(
            env.live(Some(&trust)),
            cert_req(Some(vec![pem_bytes(&ca2.join("ca.pem"))]), false),
        ),
        "the certificate does not chain to the given certificate_chain",
    );
    assert_fails(
        verify(env.live(None), cert_req(None, true)),
        "no sigstore trust root is configured (--sigstore-trust-config)",
    );
    // another image, not signed with that certificate
    assert_fails(
        verify(
            env.live(Some(&trust)),
            json!({"type": "SigstoreCertificateVerify", "image": &url_signed, "certificate": leaf.as_bytes(),
                   "certificate_chain": null, "require_rekor_bundle": false}),
        ),
        "no signature verifies with the given certificate",
    );

    // --- crypto/v1/is_certificate_trusted
    let cert = |pem: &[u8]| json!({"encoding": "Pem", "data": pem});
    let trusted = |chain: Value, not_after: Value| {
        call(
            env.live(None),
            "crypto",
            "v1/is_certificate_trusted",
            &json!({"cert": cert(leaf.as_bytes()), "cert_chain": chain, "not_after": not_after}),
        )
    };
    let ca_pem = pem_bytes(&ca.join("ca.pem"));
    let ca2_pem = pem_bytes(&ca2.join("ca.pem"));
    assert_eq!(
        trusted(json!([cert(&ca_pem)]), Value::Null).unwrap(),
        json!({"trusted": true, "reason": ""})
    );
    assert_eq!(
        trusted(json!([cert(&ca2_pem)]), Value::Null).unwrap(),
        json!({"trusted": false, "reason": "Certificate is not trusted by the provided cert chain"})
    );
    assert_eq!(
        trusted(Value::Null, Value::Null).unwrap(),
        json!({"trusted": false, "reason": "Certificate is not trusted by the provided cert chain"})
    );
    assert_eq!(
        trusted(json!([cert(&ca_pem)]), json!("2999-01-01T00:00:00Z")).unwrap(),
        json!({"trusted": false, "reason": "Certificate is being used after its expiration date"})
    );
    assert_eq!(
        trusted(json!([cert(&ca_pem)]), json!("2001-01-01T00:00:00Z")).unwrap(),
        json!({"trusted": false, "reason": "Certificate is being used before its validity date"})
    );
    let expired_leaf = env.leaf_pem(&expired, "sig");
    assert_eq!(
        call(
            env.live(None),
            "crypto",
            "v1/is_certificate_trusted",
            &json!({"cert": cert(expired_leaf.as_bytes()), "cert_chain": [cert(&ca_pem)], "not_after": null}),
        )
        .unwrap(),
        json!({"trusted": false, "reason": "Certificate is being used after its expiration date"})
    );
    assert!(trusted(json!([cert(&ca_pem)]), json!("yesterday"))
        .unwrap_err()
        .contains("Timestamp not_after is not in RFC3339 format"));
    assert!(call(
        env.live(None),
        "crypto",
        "v1/is_certificate_trusted",
        &json!({"cert": cert(b"garbage"), "cert_chain": null, "not_after": null}),
    )
    .unwrap_err()
    .contains("Certificate PEM data is not valid"));

    // --- record, then replay without the registry
    let session = dir.join("session.yml");
    let requests = [
        keyless(&app, ISSUER, ALICE),
        keyless(&app, ISSUER, "bob@example.com"),
        pubkey(&unsigned, &[&key1], Value::Null),
    ];
    let recorder = Recorder::new(Box::new(env.live(Some(&trust))), session.clone());
    let caps = Capabilities::new(vec!["*".into()], Box::new(recorder));
    let live_answers: Vec<_> = requests
        .iter()
        .map(|r| {
            caps.call("kubewarden", "oci", "v2/verify", r.to_string().as_bytes())
                .map_err(|e| e.to_string())
        })
        .collect();
    caps.finish().unwrap();
    let text = std::fs::read_to_string(&session).unwrap();
    assert!(text.contains("!SigstoreKeylessVerify"), "{text}");
    let replay = Replay::load(&session).unwrap();
    let caps = Capabilities::new(vec!["*".into()], Box::new(replay));
    for (request, live) in requests.iter().zip(&live_answers) {
        let replayed = caps
            .call(
                "kubewarden",
                "oci",
                "v2/verify",
                request.to_string().as_bytes(),
            )
            .map_err(|e| e.to_string());
        assert_eq!(&replayed, live);
    }
    assert!(live_answers[0].is_ok());
    assert!(live_answers[1].is_err());
    assert!(live_answers[2].is_err());
}
