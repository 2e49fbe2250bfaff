//! Live `oci/v2/verify_attestations` (DESIGN.md 3.3): cosign attestations of an image, the
//! DSSE envelopes of `<repo>:sha256-<hex>.att`, verified by hand (the `sigstore` crate has no
//! public API for them, reference/crates.md): the signature over the DSSE PAE with the
//! crate's `CosignVerificationKey`, for keyless the leaf's chain to the trust root
//! (rustls-webpki) at the Rekor bundle's integrated time, the bundle's SET with the crate's
//! `SignedArtifactBundle::new_verified` and the bundle's entry bound to this envelope and
//! this certificate (threats A3-A6), the identity read with x509-parser. The statement's
//! `subject` and `predicateType` are read from the signed payload only, never from the
//! layer's annotations (A1, A2, A7).

use std::collections::BTreeMap;

use base64::Engine as _;
use oci_client::Reference;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use sigstore::crypto::{CosignVerificationKey, Signature};

use super::certs::{chain_check, describe_identity, url_prefix, CertNames};
use super::oci::Registry;
use super::signatures::{TrustRoot, BUNDLE_ANNOTATION, CERT_ANNOTATION, NO_TRUST_ROOT};
use super::{KeylessInfo, KeylessPrefixInfo};

pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub const STATEMENT_TYPES: &[&str] = &[
    "https://in-toto.io/Statement/v0.1",
    "https://in-toto.io/Statement/v1",
];
use super::fetch::MAX_BLOB_BYTES;
const MAX_SIGNATURES: usize = 16;

/// The `verifier` of a request: a `v2/verify` request object (its `image` is ignored).
#[derive(Deserialize)]
#[serde(tag = "type")]
#[allow(clippy::enum_variant_names)] // the wire names
enum VerifierRequest {
    SigstorePubKeyVerify {
        pub_keys: Vec<String>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessVerify {
        keyless: Vec<KeylessInfo>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessPrefixVerify {
        keyless_prefix: Vec<KeylessPrefixInfo>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreCertificateVerify {
        certificate: Vec<u8>,
        #[serde(default)]
        certificate_chain: Option<Vec<Vec<u8>>>,
        #[serde(default)]
        require_rekor_bundle: bool,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
}

/// A wanted keyless identity.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identity {
    Exact { issuer: String, subject: String },
    Prefix { issuer: String, prefix: String },
}

impl Identity {
    fn describe(&self) -> String {
        match self {
            Identity::Exact { issuer, subject } => {
                format!("issuer {issuer} and subject {subject}")
            }
            Identity::Prefix { issuer, prefix } => {
                format!("issuer {issuer} and a subject starting with {prefix}")
            }
        }
    }

    fn matches(&self, cert: &LeafInfo) -> bool {
        match self {
            Identity::Exact { issuer, subject } => {
                cert.issuer.as_deref() == Some(issuer.as_str())
                    && cert.emails_and_uris.iter().any(|s| s == subject)
            }
            Identity::Prefix { issuer, prefix } => {
                cert.issuer.as_deref() == Some(issuer.as_str())
                    && cert.uris.iter().any(|s| s.starts_with(prefix.as_str()))
            }
        }
    }
}

/// The verifier, ready to check layers.
enum Prepared {
    Keys(Vec<CosignVerificationKey>),
    Keyless {
        identities: Vec<Identity>,
        anchors: Vec<CertificateDer<'static>>,
        rekor_keys: BTreeMap<String, CosignVerificationKey>,
    },
    Certificate {
        leaf: CertificateDer<'static>,
        key: CosignVerificationKey,
        chain: Option<Vec<CertificateDer<'static>>>,
        require_rekor_bundle: bool,
        rekor_keys: BTreeMap<String, CosignVerificationKey>,
    },
}

fn no_annotations(annotations: &Option<BTreeMap<String, String>>) -> Result<(), String> {
    match annotations {
        Some(a) if !a.is_empty() => Err(
            "the verifier has annotations, which attestations (DSSE envelopes) cannot carry"
                .to_string(),
        ),
        _ => Ok(()),
    }
}

/// No annotations, and at least one of `wanted` (else the `empty` message).
fn no_annotations_some<T>(
    annotations: &Option<BTreeMap<String, String>>,
    wanted: &[T],
    empty: &str,
) -> Result<(), String> {
    no_annotations(annotations)?;
    if wanted.is_empty() {
        return Err(empty.to_string());
    }
    Ok(())
}

fn rekor_keys(
    trust: Option<&TrustRoot>,
) -> Result<BTreeMap<String, CosignVerificationKey>, String> {
    trust
        .iter()
        .flat_map(|t| t.rekor_keys.iter())
        .map(|(id, der)| {
            CosignVerificationKey::try_from_der(der)
                .map(|key| (id.clone(), key))
                .map_err(|e| format!("invalid transparency-log key {id} in the trust root: {e}"))
        })
        .collect()
}

fn cert_from_pem(pem: &[u8], what: &str) -> Result<CertificateDer<'static>, String> {
    CertificateDer::from_pem_slice(pem)
        .map(|c| c.into_owned())
        .map_err(|e| format!("invalid {what}: {e}"))
}

fn key_of_cert(der: &[u8]) -> Result<CosignVerificationKey, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("invalid certificate: {e}"))?;
    CosignVerificationKey::try_from_der(cert.public_key().raw)
        .map_err(|e| format!("unsupported certificate key: {e}"))
}

fn prepare(verifier: &Value, trust: Option<&TrustRoot>) -> Result<Prepared, String> {
    let request: VerifierRequest =
        serde_json::from_value(verifier.clone()).map_err(|e| format!("invalid verifier: {e}"))?;
    let keyless_trust = || -> Result<_, String> {
        let Some(trust) = trust.filter(|t| !t.rekor_keys.is_empty() && !t.fulcio_certs.is_empty())
        else {
            return Err(NO_TRUST_ROOT.to_string());
        };
        Ok((
            trust
                .fulcio_certs
                .iter()
                .map(|d| CertificateDer::from(d.clone()))
                .collect::<Vec<_>>(),
            rekor_keys(Some(trust))?,
        ))
    };
    Ok(match request {
        VerifierRequest::SigstorePubKeyVerify {
            pub_keys,
            annotations,
        } => {
            no_annotations_some(
                &annotations,
                &pub_keys,
                "no public keys given (pub_keys is empty)",
            )?;
            Prepared::Keys(
                pub_keys
                    .iter()
                    .map(|k| {
                        CosignVerificationKey::try_from_pem(k.as_bytes())
                            .map_err(|e| format!("invalid public key: {e}"))
                    })
                    .collect::<Result<_, _>>()?,
            )
        }
        VerifierRequest::SigstoreKeylessVerify {
            keyless,
            annotations,
        } => {
            no_annotations_some(
                &annotations,
                &keyless,
                "no keyless identities given (keyless is empty)",
            )?;
            let (anchors, rekor_keys) = keyless_trust()?;
            Prepared::Keyless {
                identities: keyless
                    .into_iter()
                    .map(|k| Identity::Exact {
                        issuer: k.issuer,
                        subject: k.subject,
                    })
                    .collect(),
                anchors,
                rekor_keys,
            }
        }
        VerifierRequest::SigstoreKeylessPrefixVerify {
            keyless_prefix,
            annotations,
        } => {
            no_annotations_some(
                &annotations,
                &keyless_prefix,
                "no keyless prefixes given (keyless_prefix is empty)",
            )?;
            let (anchors, rekor_keys) = keyless_trust()?;
            let identities = keyless_prefix
                .iter()
                .map(|p| {
                    Ok(Identity::Prefix {
                        issuer: p.issuer.clone(),
                        prefix: url_prefix(&p.url_prefix)?,
                    })
                })
                .collect::<Result<_, String>>()?;
            Prepared::Keyless {
                identities,
                anchors,
                rekor_keys,
            }
        }
        VerifierRequest::SigstoreCertificateVerify {
            certificate,
            certificate_chain,
            require_rekor_bundle,
            annotations,
        } => {
            no_annotations(&annotations)?;
            let rekor_keys = rekor_keys(trust)?;
            if require_rekor_bundle && rekor_keys.is_empty() {
                return Err(format!("require_rekor_bundle: {NO_TRUST_ROOT}"));
            }
            let leaf = cert_from_pem(&certificate, "certificate")?;
            let key = key_of_cert(&leaf)?;
            let chain = match certificate_chain {
                Some(chain) if !chain.is_empty() => Some(
                    chain
                        .iter()
                        .map(|pem| cert_from_pem(pem, "certificate in certificate_chain"))
                        .collect::<Result<Vec<_>, _>>()?,
                ),
                _ => None,
            };
            if let Some(chain) = &chain {
                let at_not_before = LeafInfo::parse(&leaf).ok().map(|l| l.not_before_time());
                if chain_check(&leaf, chain, &[], None).is_err()
                    && chain_check(&leaf, chain, &[], at_not_before).is_err()
                {
                    return Err(
                        "the certificate does not chain to the given certificate_chain".into(),
                    );
                }
            }
            Prepared::Certificate {
                leaf,
                key,
                chain,
                require_rekor_bundle,
                rekor_keys,
            }
        }
    })
}

/// What the checks need from a leaf certificate.
struct LeafInfo {
    issuer: Option<String>,
    emails_and_uris: Vec<String>,
    uris: Vec<String>,
    not_before: i64,
    not_after: i64,
    spki: Vec<u8>,
}

impl LeafInfo {
    fn parse(der: &[u8]) -> Result<Self, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("invalid certificate: {e}"))?;
        let names = CertNames::read(&cert);
        Ok(LeafInfo {
            // Fulcio writes both; the newer (.1.8) wins when present
            issuer: names.issuer_v2.or(names.issuer_v1),
            emails_and_uris: names.emails_and_uris,
            uris: names.uris,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            spki: cert.public_key().raw.to_vec(),
        })
    }

    fn describe(&self) -> String {
        describe_identity(self.issuer.as_deref(), &self.emails_and_uris)
    }

    fn not_before_time(&self) -> UnixTime {
        unix_time(self.not_before)
    }

    /// Is a Rekor integrated time within the certificate's validity?
    fn check_integrated_time(&self, time: i64) -> Result<(), String> {
        if time < self.not_before || time > self.not_after {
            return Err(
                "its Rekor integrated time is outside the certificate's validity".to_string(),
            );
        }
        Ok(())
    }
}

fn unix_time(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(secs).unwrap_or(0),
    ))
}

/// A DSSE envelope.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

/// DSSE's pre-authentication encoding: `DSSEv1 <len type> <type> <len payload> <payload>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

fn b64decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

/// The signer a Rekor entry must name: a certificate (compared whole) or its key.
struct SignerId<'a> {
    cert_der: &'a [u8],
    spki: &'a [u8],
}

impl SignerId<'_> {
    /// Does the entry's `publicKey`/`verifier` (base64 of a PEM certificate or key) name
    /// this signer?
    fn matches(&self, value: Option<&Value>) -> bool {
        let Some(pem) = value.and_then(Value::as_str).and_then(b64decode) else {
            return false;
        };
        if let Ok(cert) = CertificateDer::from_pem_slice(&pem) {
            return cert.as_ref() == self.cert_der;
        }
        rustls_pki_types::SubjectPublicKeyInfoDer::from_pem_slice(&pem)
            .is_ok_and(|spki| spki.as_ref() == self.spki)
    }
}

fn hash_is(value: Option<&Value>, want_hex: &str) -> bool {
    let Some(hash) = value else {
        return false;
    };
    hash.get("algorithm").and_then(Value::as_str) == Some("sha256")
        && hash
            .get("value")
            .and_then(Value::as_str)
            .is_some_and(|v| v.eq_ignore_ascii_case(want_hex))
}

/// Is the Rekor entry `body` (decoded from the bundle) an entry for this envelope, signed
/// by this signer with one of `signatures` (raw bytes that verified)? Threats A3, A4, A5.
fn bundle_binds(
    body: &Value,
    envelope: &[u8],
    payload: &[u8],
    signatures: &[Vec<u8>],
    signer: &SignerId<'_>,
) -> Result<(), String> {
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
    let version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    let spec = body.get("spec").unwrap_or(&Value::Null);
    let payload_hash = sha256_hex(payload);
    let sig_matches = |value: Option<&Value>| {
        let Some(bytes) = value.and_then(Value::as_str).and_then(b64decode) else {
            return false;
        };
        // the raw signature, or (intoto 0.0.2) the base64 text of the envelope's `sig`
        signatures
            .iter()
            .any(|s| *s == bytes || b64decode(&String::from_utf8_lossy(&bytes)).as_ref() == Some(s))
    };
    // an entry signature (in `sig_field`) that verified, by this signer (in `signer_field`)
    let signed = |sigs: Option<&Value>, sig_field: &str, signer_field: &str| {
        sigs.and_then(Value::as_array).is_some_and(|sigs| {
            sigs.iter()
                .any(|s| sig_matches(s.get(sig_field)) && signer.matches(s.get(signer_field)))
        })
    };
    let ok = match (kind, version) {
        ("intoto", "0.0.1") => {
            let content = spec.get("content").unwrap_or(&Value::Null);
            hash_is(content.get("hash"), &sha256_hex(envelope))
                && content
                    .get("payloadHash")
                    .is_none_or(|h| hash_is(Some(h), &payload_hash))
                && signer.matches(spec.get("publicKey"))
        }
        ("intoto", "0.0.2") => {
            let content = spec.get("content").unwrap_or(&Value::Null);
            hash_is(content.get("payloadHash"), &payload_hash)
                && signed(content.pointer("/envelope/signatures"), "sig", "publicKey")
        }
        ("dsse", "0.0.1") => {
            hash_is(spec.get("payloadHash"), &payload_hash)
                && signed(spec.get("signatures"), "signature", "verifier")
        }
        _ => {
            return Err(format!(
                "its Rekor entry is a {kind:?} {version:?} entry, not an intoto or dsse entry"
            ))
        }
    };
    if ok {
        Ok(())
    } else {
        Err("its Rekor entry is not for this attestation and signer".to_string())
    }
}

/// Verifies the layer's Rekor bundle (SET with the trust root's log keys) and its binding to
/// the envelope and signer; returns the integrated time.
fn verified_bundle(
    annotations: &BTreeMap<String, String>,
    rekor_keys: &BTreeMap<String, CosignVerificationKey>,
    envelope: &[u8],
    payload: &[u8],
    signatures: &[Vec<u8>],
    signer: &SignerId<'_>,
) -> Result<i64, String> {
    let Some(raw) = annotations.get(BUNDLE_ANNOTATION) else {
        return Err("no Rekor bundle".to_string());
    };
    let bundle: Value =
        serde_json::from_str(raw).map_err(|_| "its Rekor bundle is not JSON".to_string())?;
    let wrapped = serde_json::json!({"base64Signature": "", "cert": "", "rekorBundle": bundle});
    let verified = sigstore::cosign::bundle::SignedArtifactBundle::new_verified(
        &wrapped.to_string(),
        rekor_keys,
    )
    .map_err(|_| {
        "its Rekor bundle does not verify with the trusted transparency-log keys".to_string()
    })?;
    let payload_json = &verified.rekor_bundle.payload;
    let body: Value = b64decode(&payload_json.body)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| "its Rekor entry body is not base64 JSON".to_string())?;
    bundle_binds(&body, envelope, payload, signatures, signer)?;
    Ok(payload_json.integrated_time)
}

/// The signatures of `envelope` that `key` verifies (raw bytes).
fn verifying_signatures(
    key: &CosignVerificationKey,
    envelope: &Envelope,
    pae: &[u8],
) -> Vec<Vec<u8>> {
    envelope
        .signatures
        .iter()
        .filter_map(|s| b64decode(&s.sig))
        .filter(|sig| key.verify_signature(Signature::Raw(sig), pae).is_ok())
        .collect()
}

impl Prepared {
    /// Checks one layer's signature (and certificate, bundle); `Err` is the short reason.
    fn check(
        &self,
        blob: &[u8],
        envelope: &Envelope,
        payload: &[u8],
        annotations: &BTreeMap<String, String>,
    ) -> Result<(), String> {
        let pae = pae(&envelope.payload_type, payload);
        match self {
            Prepared::Keys(keys) => {
                for (i, key) in keys.iter().enumerate() {
                    if verifying_signatures(key, envelope, &pae).is_empty() {
                        return Err(if keys.len() > 1 {
                            format!(
                                "the signature does not verify with the given public key (key {} of {})",
                                i + 1,
                                keys.len()
                            )
                        } else {
                            "the signature does not verify with the given public key".to_string()
                        });
                    }
                }
                Ok(())
            }
            Prepared::Keyless {
                identities,
                anchors,
                rekor_keys,
            } => {
                let Some(pem) = annotations.get(CERT_ANNOTATION) else {
                    return Err("no signing certificate".to_string());
                };
                let leaf = cert_from_pem(pem.as_bytes(), "signing certificate")?;
                let info = LeafInfo::parse(&leaf)?;
                let key = key_of_cert(&leaf)?;
                let signatures = verifying_signatures(&key, envelope, &pae);
                if signatures.is_empty() {
                    return Err("the signature does not verify with its certificate".to_string());
                }
                if let Some(missing) = identities.iter().find(|i| !i.matches(&info)) {
                    return Err(format!(
                        "the certificate is for {}, not {}",
                        info.describe(),
                        missing.describe()
                    ));
                }
                let intermediates: Vec<CertificateDer<'static>> = annotations
                    .get(CHAIN_ANNOTATION)
                    .map(|chain| {
                        CertificateDer::pem_slice_iter(chain.as_bytes())
                            .filter_map(Result::ok)
                            .take(8)
                            .collect()
                    })
                    .unwrap_or_default();
                let signer = SignerId {
                    cert_der: &leaf,
                    spki: &info.spki,
                };
                let not_chained = || {
                    chain_check(&leaf, anchors, &intermediates, Some(info.not_before_time()))
                        .is_err()
                };
                let untrusted =
                    "the certificate does not chain to the trusted certificate authorities";
                let time = match verified_bundle(
                    annotations,
                    rekor_keys,
                    blob,
                    payload,
                    &signatures,
                    &signer,
                ) {
                    Ok(time) => time,
                    // say the more useful reason: a foreign CA usually comes with its own log
                    Err(_) if not_chained() => return Err(untrusted.to_string()),
                    Err(reason) => return Err(reason),
                };
                info.check_integrated_time(time)?;
                chain_check(&leaf, anchors, &intermediates, Some(unix_time(time)))
                    .map_err(|_| untrusted.to_string())
            }
            Prepared::Certificate {
                leaf,
                key,
                chain,
                require_rekor_bundle,
                rekor_keys,
            } => {
                let signatures = verifying_signatures(key, envelope, &pae);
                if signatures.is_empty() {
                    return Err(
                        "the signature does not verify with the given certificate".to_string()
                    );
                }
                let info = LeafInfo::parse(leaf)?;
                let signer = SignerId {
                    cert_der: leaf,
                    spki: &info.spki,
                };
                let time = if *require_rekor_bundle {
                    let time = verified_bundle(
                        annotations,
                        rekor_keys,
                        blob,
                        payload,
                        &signatures,
                        &signer,
                    )?;
                    info.check_integrated_time(time)?;
                    Some(unix_time(time))
                } else if rekor_keys.is_empty() {
                    None
                } else {
                    // a valid bound bundle gives the signing time; else now
                    verified_bundle(annotations, rekor_keys, blob, payload, &signatures, &signer)
                        .ok()
                        .map(unix_time)
                };
                if let Some(chain) = chain {
                    if chain_check(leaf, chain, &[], time).is_err() {
                        return Err(
                            "the certificate does not chain to the given certificate_chain"
                                .to_string(),
                        );
                    }
                }
                Ok(())
            }
        }
    }
}

/// Checks one layer whole: envelope, signature, statement; returns the statement and its
/// predicate type.
fn check_layer(
    prepared: &Prepared,
    blob: &[u8],
    annotations: &BTreeMap<String, String>,
    digest_hex: &str,
) -> Result<(Value, String), String> {
    let envelope: Envelope =
        serde_json::from_slice(blob).map_err(|e| format!("not a DSSE envelope ({e})"))?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(format!(
            "the payload type {:?} is not {IN_TOTO_PAYLOAD_TYPE}",
            envelope.payload_type
        ));
    }
    if envelope.signatures.is_empty() {
        return Err("the envelope has no signatures".to_string());
    }
    if envelope.signatures.len() > MAX_SIGNATURES {
        return Err(format!(
            "the envelope has more than {MAX_SIGNATURES} signatures"
        ));
    }
    let Some(payload) = b64decode(&envelope.payload) else {
        return Err("the envelope's payload is not base64".to_string());
    };
    prepared.check(blob, &envelope, &payload, annotations)?;
    // only now, signed: the statement
    let statement: Value = serde_json::from_slice(&payload)
        .map_err(|_| "the signed payload is not JSON".to_string())?;
    let Some(object) = statement.as_object() else {
        return Err("the signed payload is not an in-toto statement".to_string());
    };
    let statement_type = object.get("_type").and_then(Value::as_str).unwrap_or("");
    if !STATEMENT_TYPES.contains(&statement_type) {
        return Err(format!(
            "the signed payload is not an in-toto statement (_type {statement_type:?})"
        ));
    }
    let Some(predicate_type) = object
        .get("predicateType")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return Err("the statement has no predicateType".to_string());
    };
    let subjects = object
        .get("subject")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let about_image = subjects.iter().any(|s| {
        s.pointer("/digest/sha256")
            .and_then(Value::as_str)
            .is_some_and(|d| d.eq_ignore_ascii_case(digest_hex))
    });
    if !about_image {
        return Err(format!(
            "the statement's subject does not include sha256:{digest_hex}"
        ));
    }
    let predicate_type = predicate_type.to_string();
    Ok((statement, predicate_type))
}

/// `repo@sha256:<hex>` -> (reference, lowercase hex).
fn digest_reference(image: &str) -> Result<(Reference, String), String> {
    let reference: Reference = image
        .parse()
        .map_err(|e| format!("invalid image reference {image:?}: {e}"))?;
    let hex = reference
        .digest()
        .and_then(|d| d.strip_prefix("sha256:"))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| {
            format!("the image {image:?} is not a reference by sha256 digest (repo@sha256:<hex>)")
        })?;
    Ok((reference, hex))
}

/// Answers `oci/v2/verify_attestations`.
pub fn verify_attestations(
    registry: &Registry,
    trust: Option<&TrustRoot>,
    image: &str,
    predicate_type: &str,
    verifier: &Value,
) -> Result<Vec<u8>, String> {
    let (reference, hex) = digest_reference(image)?;
    if predicate_type.is_empty() {
        return Err("predicate_type is empty".to_string());
    }
    let prepared = prepare(verifier, trust)?;
    let digest = format!("sha256:{hex}");
    let manifest = registry.cosign_manifest(&reference, &digest, "att")?;
    let no_attestations = || format!("no attestations found for image: {image}");
    let Some(manifest) = manifest else {
        return Err(no_attestations());
    };
    let layers: Vec<_> = manifest
        .layers
        .iter()
        .filter(|l| l.media_type == DSSE_MEDIA_TYPE)
        .collect();
    if layers.is_empty() {
        return Err(no_attestations());
    }
    let att_tag = super::oci::cosign_tag(&reference, &digest, "att");
    let empty = BTreeMap::new();
    let mut verified: Vec<(Value, String)> = Vec::new();
    let mut reasons = Vec::new();
    for (i, layer) in layers.iter().enumerate() {
        let result = registry
            .pull_blob_bounded(&att_tag, layer, MAX_BLOB_BYTES)
            .and_then(|blob| {
                let annotations = layer.annotations.as_ref().unwrap_or(&empty);
                check_layer(&prepared, &blob, annotations, &hex)
            });
        match result {
            Ok(found) => verified.push(found),
            Err(reason) => reasons.push(format!("attestation {}: {reason}", i + 1)),
        }
    }
    if verified.is_empty() {
        return Err(format!("no attestation verifies: {}", reasons.join("; ")));
    }
    let mut types: Vec<&str> = Vec::new();
    for (_, t) in &verified {
        if !types.contains(&t.as_str()) {
            types.push(t);
        }
    }
    let statements: Vec<&Value> = verified
        .iter()
        .filter(|(_, t)| t == predicate_type)
        .map(|(s, _)| s)
        .collect();
    if statements.is_empty() {
        return Err(format!(
            "no attestation of predicate type {predicate_type}; verified predicate types: {}",
            serde_json::to_string(&types).map_err(|e| e.to_string())?
        ));
    }
    serde_json::to_vec(&serde_json::json!({"digest": digest, "statements": statements}))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_encoding() {
        assert_eq!(
            pae("application/vnd.in-toto+json", b"hello"),
            b"DSSEv1 28 application/vnd.in-toto+json 5 hello".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn digest_references() {
        let hex = "a".repeat(64);
        let (_, got) = digest_reference(&format!("reg.io/app@sha256:{hex}")).unwrap();
        assert_eq!(got, hex);
        assert!(digest_reference("reg.io/app:1.0")
            .unwrap_err()
            .contains("is not a reference by sha256 digest"));
    }

    fn b64(data: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(data)
    }

    /// The Rekor entry must bind this envelope and this signer (threats A3-A5).
    #[test]
    fn bundle_binding() {
        let cert = b"certificate-der".to_vec();
        let spki = b"spki-der".to_vec();
        let cert_pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            b64(&cert)
        );
        let other_pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            b64(b"another")
        );
        let signer = SignerId {
            cert_der: &cert,
            spki: &spki,
        };
        let envelope = b"{\"envelope\":1}";
        let payload = b"{\"statement\":1}";
        let sig = vec![1u8, 2, 3];
        let sigs = [sig.clone()];
        let hash = |d: &[u8]| serde_json::json!({"algorithm": "sha256", "value": sha256_hex(d)});
        let intoto1 = |env: &[u8], pem: &str| {
            serde_json::json!({"apiVersion": "0.0.1", "kind": "intoto", "spec": {
                "content": {"hash": hash(env), "payloadHash": hash(payload)},
                "publicKey": b64(pem.as_bytes())}})
        };
        let bind = |body: &Value| bundle_binds(body, envelope, payload, &sigs, &signer);
        assert!(bind(&intoto1(envelope, &cert_pem)).is_ok());
        // another envelope's entry, or another signer's
        assert!(bind(&intoto1(b"{}", &cert_pem)).is_err());
        assert!(bind(&intoto1(envelope, &other_pem)).is_err());
        let dsse = |sig: &[u8], pem: &str| {
            serde_json::json!({"apiVersion": "0.0.1", "kind": "dsse", "spec": {
                "payloadHash": hash(payload),
                "signatures": [{"signature": b64(sig), "verifier": b64(pem.as_bytes())}]}})
        };
        assert!(bind(&dsse(&sig, &cert_pem)).is_ok());
        assert!(bind(&dsse(&[9, 9], &cert_pem)).is_err());
        assert!(bind(&dsse(&sig, &other_pem)).is_err());
        let intoto2 = |sig_field: String| {
            serde_json::json!({"apiVersion": "0.0.2", "kind": "intoto", "spec": {"content": {
                "payloadHash": hash(payload),
                "envelope": {"payloadType": IN_TOTO_PAYLOAD_TYPE,
                    "signatures": [{"sig": sig_field, "publicKey": b64(cert_pem.as_bytes())}]}}}})
        };
        assert!(bind(&intoto2(b64(b64(&sig).as_bytes()))).is_ok());
        assert!(bind(&intoto2(b64(&sig))).is_ok());
        assert!(bind(&intoto2(b64(b"zz"))).is_err());
        // a hashedrekord entry (a signature's, not an attestation's) never binds
        let err = bind(
            &serde_json::json!({"apiVersion": "0.0.1", "kind": "hashedrekord",
            "spec": {"data": {"hash": hash(payload)}}}),
        )
        .unwrap_err();
        assert!(err.contains("not an intoto or dsse entry"), "{err}");
    }
}
