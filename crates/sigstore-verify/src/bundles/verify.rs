//! One bundle, verified in sigstore-go's order: the statement, the DSSE signature, the
//! subject, every log entry, every timestamp, then (keyless) the certificate at the trusted
//! time and the identity.

use std::collections::BTreeMap;

use serde::Deserialize;
use x509_parser::prelude::FromDer as _;

use super::bundle::{b64, int, Bundle};
use super::pki::{chain_at, Key, CODE_SIGNING};
use super::{rekor, rekor_v1, rekor_v2, timestamp, Identity, Signed, Verifiers};
use crate::identity::CertNames;
use crate::TrustRoot;

pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
const MAX_TLOG_ENTRIES: usize = 8;
const MAX_TIMESTAMPS: usize = 8;

#[derive(Deserialize)]
pub struct Statement {
    #[serde(rename = "predicateType", default)]
    pub predicate_type: String,
    #[serde(default)]
    pub subject: Vec<Subject>,
}

#[derive(Deserialize)]
pub struct Subject {
    #[serde(default)]
    pub digest: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, serde_json::Value>,
}

/// The bundle's payload and statement, read before anything is verified (to sort bundles by
/// predicate type).
pub struct Opened {
    pub bundle: Bundle,
    pub payload: Vec<u8>,
    pub statement: Option<Statement>,
}

pub fn open(bytes: &[u8]) -> Result<Opened, String> {
    let bundle: Bundle =
        serde_json::from_slice(bytes).map_err(|e| format!("the bundle does not parse: {e}"))?;
    let envelope = bundle
        .dsse_envelope
        .as_ref()
        .ok_or("the bundle holds no DSSE envelope")?;
    let payload = b64(&envelope.payload, "dsseEnvelope.payload")?;
    let statement = serde_json::from_slice(&payload).ok();
    Ok(Opened {
        bundle,
        payload,
        statement,
    })
}

pub fn verify(
    opened: &Opened,
    image_hex: &str,
    verifiers: &Verifiers,
    annotations: Option<&BTreeMap<String, String>>,
    trust: Option<&TrustRoot>,
) -> Result<(), String> {
    let bundle = &opened.bundle;
    let envelope = bundle
        .dsse_envelope
        .as_ref()
        .ok_or("the bundle holds no DSSE envelope")?;
    if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Err(format!(
            "the DSSE payload type is {}, not {IN_TOTO_PAYLOAD_TYPE}",
            envelope.payload_type
        ));
    }
    let [signature] = envelope.signatures.as_slice() else {
        return Err(format!(
            "the envelope has {} signatures, not 1",
            envelope.signatures.len()
        ));
    };
    let signature = b64(&signature.sig, "dsseEnvelope.signatures[0].sig")?;
    let pae = pae(&envelope.payload_type, &opened.payload);
    let material = &bundle.verification_material;
    if material.x509_certificate_chain.is_some() {
        return Err("a v0.3 bundle must not carry a certificate chain".into());
    }

    let (key, certificate) = match (verifiers, &material.certificate) {
        (Verifiers::Keys(keys), None) => {
            let key = keys
                .iter()
                .find(|k| k.verifies(&pae, &signature))
                .ok_or("the DSSE signature does not verify with any of the keys")?;
            (
                Key {
                    key: key.key,
                    spki: key.spki.clone(),
                },
                None,
            )
        }
        (Verifiers::Keys(_), Some(_)) => {
            return Err("the bundle is signed with a certificate, a key was expected".into())
        }
        (Verifiers::Identities(_), None) => {
            return Err("the bundle is signed with a key, a certificate was expected".into())
        }
        (Verifiers::Identities(_), Some(cert)) => {
            let der = b64(&cert.raw_bytes, "verificationMaterial.certificate.rawBytes")?;
            let key = Key::from_certificate(&der, "the signing certificate")?;
            if !key.verifies(&pae, &signature) {
                return Err("the DSSE signature does not verify with the certificate's key".into());
            }
            (key, Some(der))
        }
    };

    let statement = opened
        .statement
        .as_ref()
        .ok_or("the DSSE payload is not an in-toto statement")?;
    check_subject(statement, image_hex, annotations)?;

    let trust = trust.ok_or(crate::NO_TRUST_ROOT)?;
    let signed = Signed {
        pae,
        payload: opened.payload.clone(),
        signature,
        key,
        certificate,
    };
    let mut times = Vec::new();
    if material.tlog_entries.is_empty() {
        return Err("the bundle has no transparency log entry".into());
    }
    if material.tlog_entries.len() > MAX_TLOG_ENTRIES {
        return Err(format!(
            "the bundle has more than {MAX_TLOG_ENTRIES} log entries"
        ));
    }
    for (i, entry) in material.tlog_entries.iter().enumerate() {
        check_entry(entry, &signed, trust, &mut times)
            .map_err(|e| format!("log entry {i}: {e}"))?;
    }
    let stamps = material
        .timestamp_verification_data
        .as_ref()
        .map(|d| d.rfc3161_timestamps.as_slice())
        .unwrap_or_default();
    if stamps.len() > MAX_TIMESTAMPS {
        return Err(format!(
            "the bundle has more than {MAX_TIMESTAMPS} timestamps"
        ));
    }
    for (i, stamp) in stamps.iter().enumerate() {
        let token = b64(&stamp.signed_timestamp, "signedTimestamp")?;
        let time = timestamp::verify(&token, &signed.signature, &trust.timestamp_authorities)
            .map_err(|e| format!("timestamp {i}: {e}"))?;
        times.push(time);
    }

    let (Verifiers::Identities(identities), Some(cert)) = (verifiers, &signed.certificate) else {
        return Ok(());
    };
    if times.is_empty() {
        return Err("no trusted time: the bundle has no RFC 3161 timestamp and no Rekor v1 integrated time, so its certificate cannot be checked".into());
    }
    for time in &times {
        chain_at(cert, &trust.fulcio_certs, &[], *time, CODE_SIGNING).map_err(|e| {
            format!(
                "the signing certificate does not chain to the trust root at the signing time: {e}"
            )
        })?;
    }
    check_identity(cert, identities)
}

/// DSSE's pre-authentication encoding.
fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

fn check_subject(
    statement: &Statement,
    image_hex: &str,
    annotations: Option<&BTreeMap<String, String>>,
) -> Result<(), String> {
    let subject = statement
        .subject
        .iter()
        .find(|s| s.digest.get("sha256").is_some_and(|d| d == image_hex))
        .ok_or_else(|| format!("the statement's subject is not the image sha256:{image_hex}"))?;
    for (key, want) in annotations.into_iter().flatten() {
        if subject.annotations.get(key).and_then(|v| v.as_str()) != Some(want.as_str()) {
            return Err(format!(
                "the statement's subject lacks the annotation {key}={want}"
            ));
        }
    }
    Ok(())
}

fn check_entry(
    entry: &super::bundle::TlogEntry,
    signed: &Signed,
    trust: &TrustRoot,
    times: &mut Vec<u64>,
) -> Result<(), String> {
    let log_id = b64(&entry.log_id.key_id, "logId.keyId")?;
    let key_der = trust.rekor_keys.get(&hex::encode(&log_id)).ok_or_else(|| {
        format!(
            "the entry is from a log the trust root does not know ({})",
            hex::encode(&log_id)
        )
    })?;
    let key = Key::from_spki(key_der, "the log's key")?;
    let body = b64(&entry.canonicalized_body, "canonicalizedBody")?;
    let log_index = int(&entry.log_index, "logIndex")?;
    match (
        entry.kind_version.kind.as_str(),
        entry.kind_version.version.as_str(),
    ) {
        (kind @ ("hashedrekord" | "dsse"), "0.0.2") => {
            if kind == "dsse" {
                rekor_v2::check_dsse_body(&body, signed)?;
            } else {
                rekor_v2::check_body(&body, signed)?;
            }
            let proof = entry
                .inclusion_proof
                .as_ref()
                .ok_or("a Rekor v2 entry needs an inclusion proof")?;
            rekor::check_inclusion(proof, log_index, &body, &key, &log_id)
        }
        ("dsse", "0.0.1") => {
            rekor_v1::check_body(&body, signed)?;
            let promise = entry
                .inclusion_promise
                .as_ref()
                .ok_or("a Rekor v1 entry needs an inclusion promise")?;
            let time = int(
                entry
                    .integrated_time
                    .as_ref()
                    .ok_or("a Rekor v1 entry needs an integrated time")?,
                "integratedTime",
            )?;
            rekor_v1::check_promise(promise, &body, time, &log_id, log_index, &key)?;
            if let Some(proof) = &entry.inclusion_proof {
                rekor::check_inclusion(proof, log_index, &body, &key, &log_id)?;
            }
            times.push(time);
            Ok(())
        }
        (kind, version) => Err(format!(
            "log entries of kind {kind} {version} are not supported"
        )),
    }
}

fn check_identity(cert: &[u8], identities: &[Identity]) -> Result<(), String> {
    let (_, parsed) = x509_parser::certificate::X509Certificate::from_der(cert)
        .map_err(|e| format!("the signing certificate does not parse: {e}"))?;
    let names = CertNames::read(&parsed);
    let issuer = names.issuer_v2.or(names.issuer_v1).unwrap_or_default();
    let sans = names.emails_and_uris;
    if identities
        .iter()
        .any(|id| id.issuer.matches(&issuer) && sans.iter().any(|s| id.subject.matches(s)))
    {
        return Ok(());
    }
    Err(format!(
        "none of the expected identities matched what was in the certificate, got subjects [{}] with issuer {issuer}",
        sans.join(" ")
    ))
}
