//! Rekor v1 `dsse` v0.0.1 entries: the inclusion promise (SET) and the body's binding to
//! this envelope (rekor pkg/types/dsse/v0.0.1; sigstore-go pkg/verify/tlog.go).

use base64::Engine as _;
use serde_json::Value;
use sha2::Digest as _;

use super::bundle::{b64, Promise};
use super::pki::Key;
use super::Signed;

/// The SET: the log key's signature over the canonical `{body, integratedTime, logID,
/// logIndex}`.
pub fn check_promise(
    promise: &Promise,
    body: &[u8],
    integrated_time: u64,
    log_id: &[u8],
    log_index: u64,
    key: &Key,
) -> Result<(), String> {
    let signed = serde_json_canonicalizer::to_vec(&serde_json::json!({
        "body": base64::engine::general_purpose::STANDARD.encode(body),
        "integratedTime": integrated_time,
        "logID": hex::encode(log_id),
        "logIndex": log_index,
    }))
    .map_err(|e| format!("cannot canonicalise the inclusion promise: {e}"))?;
    let set = b64(
        &promise.signed_entry_timestamp,
        "inclusionPromise.signedEntryTimestamp",
    )?;
    if key.verifies(&signed, &set) {
        Ok(())
    } else {
        Err("the inclusion promise (SET) is not signed by the log's key".into())
    }
}

/// The body's payload hash is the payload's, and one of its signatures is the envelope's,
/// by the same certificate or key.
pub fn check_body(body: &[u8], signed: &Signed) -> Result<(), String> {
    let entry: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the log entry's body is not JSON: {e}"))?;
    let field = |v: &Value, pointer: &str| {
        v.pointer(pointer)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    if field(&entry, "/apiVersion").as_deref() != Some("0.0.1")
        || field(&entry, "/kind").as_deref() != Some("dsse")
    {
        return Err("the Rekor v1 entry is not a dsse v0.0.1".into());
    }
    let payload_hash = hex::encode(sha2::Sha256::digest(&signed.payload));
    if field(&entry, "/spec/payloadHash/algorithm").as_deref() != Some("sha256")
        || field(&entry, "/spec/payloadHash/value").as_deref() != Some(payload_hash.as_str())
    {
        return Err("the log entry is for another envelope (its payload hash differs)".into());
    }
    let signatures = entry
        .pointer("/spec/signatures")
        .and_then(Value::as_array)
        .ok_or("the log entry has no signatures")?;
    let signer_der = signed.certificate.as_deref().unwrap_or(&signed.key.spki);
    for item in signatures {
        let (Some(sig), Some(verifier)) = (field(item, "/signature"), field(item, "/verifier"))
        else {
            continue;
        };
        if b64(&sig, "the entry's signature")? != signed.signature {
            continue;
        }
        let pem = b64(&verifier, "the entry's verifier")?;
        let same = x509_parser::pem::Pem::iter_from_buffer(&pem)
            .next()
            .and_then(Result::ok)
            .is_some_and(|p| p.contents == signer_der);
        if same {
            return Ok(());
        }
        return Err("the log entry names another signer".into());
    }
    Err("the log entry is for another envelope (its signature differs)".into())
}
