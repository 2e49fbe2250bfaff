//! The Rekor bundle of a layer: its signed entry timestamp (SET) under the trust root's log
//! keys, and its entry bound to this envelope and this signer (threats A3-A5), so that a
//! bundle lifted from another attestation or signer proves nothing.

use std::collections::BTreeMap;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Digest as _;
use sigstore::crypto::{CosignVerificationKey, Signature};

use crate::cosign::BUNDLE_ANNOTATION;
use crate::dsse::b64decode;

/// cosign's bundle annotation, as the `sigstore` crate reads it (`cosign::bundle::Bundle`).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Bundle {
    signed_entry_timestamp: String,
    payload: Payload,
}

/// What the SET signs, in its RFC 8785 form.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

/// The signer a Rekor entry must name: a certificate (compared whole) or its key.
pub(crate) struct SignerId<'a> {
    pub cert_der: &'a [u8],
    pub spki: &'a [u8],
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

/// What an entry must be about: the envelope as stored, its payload, the signatures (raw
/// bytes) that verified, and their signer.
pub(crate) struct Signed<'a> {
    pub envelope: &'a [u8],
    pub payload: &'a [u8],
    pub signatures: &'a [Vec<u8>],
    pub signer: SignerId<'a>,
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
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

impl Signed<'_> {
    /// Is an entry signature one that verified? The raw signature, or (intoto 0.0.2) the
    /// base64 text of the envelope's `sig`.
    fn has_signature(&self, value: Option<&Value>) -> bool {
        let Some(bytes) = value.and_then(Value::as_str).and_then(b64decode) else {
            return false;
        };
        self.signatures
            .iter()
            .any(|s| *s == bytes || b64decode(&String::from_utf8_lossy(&bytes)).as_ref() == Some(s))
    }

    /// An entry signature (in `sig_field`) that verified, by this signer (in `signer_field`).
    fn signed_by(&self, sigs: Option<&Value>, sig_field: &str, signer_field: &str) -> bool {
        sigs.and_then(Value::as_array).is_some_and(|sigs| {
            sigs.iter().any(|s| {
                self.has_signature(s.get(sig_field)) && self.signer.matches(s.get(signer_field))
            })
        })
    }

    /// Is the Rekor entry `body` (decoded from the bundle) an entry for this envelope, signed
    /// by this signer with one of the signatures that verified? Threats A3, A4, A5.
    pub fn bound_by(&self, body: &Value) -> Result<(), String> {
        let kind = body.get("kind").and_then(Value::as_str).unwrap_or("");
        let version = body.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        let spec = body.get("spec").unwrap_or(&Value::Null);
        let payload_hash = sha256_hex(self.payload);
        let ok = match (kind, version) {
            ("intoto", "0.0.1") => {
                let content = spec.get("content").unwrap_or(&Value::Null);
                hash_is(content.get("hash"), &sha256_hex(self.envelope))
                    && content
                        .get("payloadHash")
                        .is_none_or(|h| hash_is(Some(h), &payload_hash))
                    && self.signer.matches(spec.get("publicKey"))
            }
            ("intoto", "0.0.2") => {
                let content = spec.get("content").unwrap_or(&Value::Null);
                hash_is(content.get("payloadHash"), &payload_hash)
                    && self.signed_by(content.pointer("/envelope/signatures"), "sig", "publicKey")
            }
            ("dsse", "0.0.1") => {
                hash_is(spec.get("payloadHash"), &payload_hash)
                    && self.signed_by(spec.get("signatures"), "signature", "verifier")
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
}

/// Does the SET verify with the log key its `logID` names?
fn set_verifies(bundle: &Bundle, rekor_keys: &BTreeMap<String, CosignVerificationKey>) -> bool {
    let Some(key) = rekor_keys.get(&bundle.payload.log_id) else {
        return false;
    };
    let Ok(signed) = serde_json_canonicalizer::to_vec(&bundle.payload) else {
        return false;
    };
    key.verify_signature(
        Signature::Base64Encoded(bundle.signed_entry_timestamp.as_bytes()),
        &signed,
    )
    .is_ok()
}

/// Verifies the layer's Rekor bundle (SET with the trust root's log keys) and its binding to
/// the envelope and signer; returns the integrated time.
pub(crate) fn verified_bundle(
    annotations: &BTreeMap<String, String>,
    rekor_keys: &BTreeMap<String, CosignVerificationKey>,
    signed: &Signed<'_>,
) -> Result<i64, String> {
    let Some(raw) = annotations.get(BUNDLE_ANNOTATION) else {
        return Err("no Rekor bundle".to_string());
    };
    let bundle: Value =
        serde_json::from_str(raw).map_err(|_| "its Rekor bundle is not JSON".to_string())?;
    let untrusted =
        || "its Rekor bundle does not verify with the trusted transparency-log keys".to_string();
    let bundle: Bundle = serde_json::from_value(bundle).map_err(|_| untrusted())?;
    if !set_verifies(&bundle, rekor_keys) {
        return Err(untrusted());
    }
    let body: Value = b64decode(&bundle.payload.body)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| "its Rekor entry body is not base64 JSON".to_string())?;
    signed.bound_by(&body)?;
    Ok(bundle.payload.integrated_time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dsse::IN_TOTO_PAYLOAD_TYPE;
    use crate::testing::b64;

    /// The Rekor entry must bind this envelope and this signer (threats A3-A5).
    #[test]
    fn bundle_binding() {
        let cert = b"certificate-der".to_vec();
        let spki = b"spki-der".to_vec();
        let pem = |der: &[u8]| {
            format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                b64(der)
            )
        };
        let (cert_pem, other_pem) = (pem(&cert), pem(b"another"));
        let envelope = b"{\"envelope\":1}";
        let payload = b"{\"statement\":1}";
        let sig = vec![1u8, 2, 3];
        let sigs = [sig.clone()];
        let signed = Signed {
            envelope,
            payload,
            signatures: &sigs,
            signer: SignerId {
                cert_der: &cert,
                spki: &spki,
            },
        };
        let hash = |d: &[u8]| serde_json::json!({"algorithm": "sha256", "value": sha256_hex(d)});
        let intoto1 = |env: &[u8], pem: &str| {
            serde_json::json!({"apiVersion": "0.0.1", "kind": "intoto", "spec": {
                "content": {"hash": hash(env), "payloadHash": hash(payload)},
                "publicKey": b64(pem.as_bytes())}})
        };
        let bind = |body: &Value| signed.bound_by(body);
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
        assert_eq!(
            err,
            "its Rekor entry is a \"hashedrekord\" \"0.0.1\" entry, not an intoto or dsse entry"
        );
    }
}
