//! Targets for registry data: `signatures` (a `.sig` or `.att` manifest, then the certificates
//! and bundle times of its layers), `certificate` (a signing certificate, as PEM and as DER) and
//! `references` (image references and the globs matched against them).

use super::{bytes, corpus, json_or_bytes, run, Outcome, DEFAULT_ITERATIONS};
use crate::cip::keys;
use crate::image::{glob::Glob, reference::Reference};
use crate::verify::{certificate, signatures};
use base64::Engine as _;

const MANIFEST_KEYS: &[&str] = &[
    "schemaVersion",
    "mediaType",
    "config",
    "layers",
    "digest",
    "size",
    "annotations",
    "dev.sigstore.cosign/certificate",
    "dev.sigstore.cosign/chain",
    "dev.sigstore.cosign/bundle",
    "dev.cosignproject.cosign/signature",
    "predicateType",
    signatures::SIMPLE_SIGNING,
    signatures::DSSE_ENVELOPE,
    "{\"Payload\":{\"integratedTime\":-9223372036854775808}}",
    "{\"Payload\":{\"integratedTime\":9223372036854775807}}",
];

const MANIFEST_TOKENS: &[&[u8]] = &[
    b"\"integratedTime\":",
    b"9223372036854775807",
    b"-9223372036854775808",
    b"\\\"Payload\\\":{\\\"integratedTime\\\":",
    b"{\"mediaType\":\"application/vnd.dev.cosign.simplesigning.v1+json\",\"annotations\":{}},",
];

#[test]
fn fuzz_signatures() {
    let seeds = corpus("signatures");
    let docs = super::json_corpus("signatures");
    let mutator = bytes(&seeds, MANIFEST_TOKENS);
    let accepted = run(
        "signatures",
        &seeds,
        DEFAULT_ITERATIONS,
        |rng, seed| json_or_bytes(rng, seed, &mutator, &docs, MANIFEST_KEYS),
        |_, input| {
            let mut layers = 0;
            for media_type in [signatures::SIMPLE_SIGNING, signatures::DSSE_ENVELOPE] {
                let Ok(found) = signatures::parse_layers(input, media_type) else {
                    return Outcome::Rejected;
                };
                for layer in found {
                    layers += 1;
                    for pem in [&layer.certificate, &layer.chain].into_iter().flatten() {
                        let _ = certificate::identity_from_pem(pem);
                    }
                    if let Some(t) = layer.integrated_time {
                        assert!(signatures::rfc3339(t).ends_with('Z'));
                    }
                }
            }
            if layers > 0 {
                Outcome::Accepted
            } else {
                Outcome::Rejected
            }
        },
    );
    assert!(
        accepted > 100,
        "only {accepted} manifests had signature layers"
    );
}

const DER_TOKENS: &[&[u8]] = &[
    // OIDs: subjectAltName, Fulcio issuer v1 and v2.
    b"\x06\x03\x55\x1d\x11",
    b"\x06\x0a\x2b\x06\x01\x04\x01\x83\xbf\x30\x01\x01",
    b"\x06\x0a\x2b\x06\x01\x04\x01\x83\xbf\x30\x01\x08",
    // Lengths: long forms, indefinite, absurd.
    b"\x81\xff",
    b"\x82\xff\xff",
    b"\x84\xff\xff\xff\xff",
    b"\x80",
    b"\x30\x80",
    b"\x0c\x03\xff\xfe\xfd",
    b"\x86\x00",
    b"\x82\x01",
    b"\xa3",
];

/// Mutates the DER inside a PEM block half the time: text mutations mostly break the base64.
fn mutate_certificate(
    rng: &mut super::mutate::Rng,
    seed: &[u8],
    text: &super::mutate::Mutator<'_>,
    der: &super::mutate::Mutator<'_>,
) -> Vec<u8> {
    let pem = String::from_utf8_lossy(seed);
    let block = keys::pem_blocks(&pem).into_iter().next();
    match block {
        Some(block) if rng.below(2) == 0 => {
            let body =
                base64::engine::general_purpose::STANDARD.encode(der.mutate(rng, &block.der));
            format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n").into_bytes()
        }
        _ => text.mutate(rng, seed),
    }
}

#[test]
fn fuzz_certificate() {
    let seeds = corpus("certificate");
    let ders: Vec<Vec<u8>> = seeds
        .iter()
        .filter_map(|s| {
            keys::pem_blocks(&String::from_utf8_lossy(s))
                .into_iter()
                .next()
        })
        .map(|b| b.der)
        .collect();
    assert_eq!(ders.len(), seeds.len(), "a certificate seed is not PEM");
    let text = bytes(&seeds, &[]);
    let der = bytes(&ders, DER_TOKENS);
    let accepted = run(
        "certificate",
        &seeds,
        DEFAULT_ITERATIONS,
        |rng, seed| mutate_certificate(rng, seed, &text, &der),
        |_, input| match certificate::identity_from_pem(&String::from_utf8_lossy(input)) {
            Ok(_) => Outcome::Accepted,
            Err(e) => {
                assert!(!e.is_empty());
                Outcome::Rejected
            }
        },
    );
    assert!(accepted > 100, "only {accepted} certificates parsed");
}

#[test]
fn fuzz_references() {
    let seeds = corpus("references");
    let mutator = bytes(
        &seeds,
        &[b"**", b"*", b"@sha256:", b":", b"/", b"[", b"\\", b"."],
    );
    let accepted = run(
        "references",
        &seeds,
        DEFAULT_ITERATIONS,
        |rng, seed| mutator.mutate(rng, seed),
        |rng, input| {
            let text = String::from_utf8_lossy(input);
            let parsed = Reference::parse(&text);
            if let Ok(r) = &parsed {
                assert!(!r.name().is_empty());
            }
            if let Ok(glob) = Glob::compile(&text) {
                let subject = rng.pick(&seeds).cloned().unwrap_or_default();
                let subject = mutator.mutate(rng, &subject);
                let _ = glob.matches(&String::from_utf8_lossy(&subject));
            }
            if parsed.is_ok() {
                Outcome::Accepted
            } else {
                Outcome::Rejected
            }
        },
    );
    assert!(accepted > 100, "only {accepted} references parsed");
}
