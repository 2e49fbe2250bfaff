//! Rekor v2 entries: the logged body must be this envelope's (rekor-tiles pkg/types;
//! sigstore-go pkg/verify/tlog.go rebuilds it from the bundle). `hashedrekord` v0.0.2 (cosign
//! >= 3.1) logs the PAE's digest; `dsse` v0.0.2 (cosign 3.0.x) the payload's.

use serde_json::Value;
use sha2::Digest as _;

use super::bundle::b64;
use super::Signed;

/// The canonical body names the PAE's digest, the envelope's signature and the signer.
pub fn check_body(body: &[u8], signed: &Signed) -> Result<(), String> {
    let spec = "/spec/hashedRekordV002";
    let entry = entry(
        body,
        "hashedrekord",
        &format!("{spec}/data"),
        "digest",
        &signed.pae,
    )?;
    let field = |pointer: &str| entry.pointer(pointer).and_then(Value::as_str);
    let content = b64(
        field(&format!("{spec}/signature/content")).unwrap_or_default(),
        "the entry's signature",
    )?;
    if content != signed.signature {
        return Err("the log entry is for another envelope (its signature differs)".into());
    }
    let verifier = entry
        .pointer(&format!("{spec}/signature/verifier"))
        .ok_or("the log entry names no verifier")?;
    if same_signer(verifier, signed)? {
        Ok(())
    } else {
        Err("the log entry names another signer".into())
    }
}

/// `dsse` v0.0.2: the payload's digest, and one of the signatures is the envelope's by the
/// same signer.
pub fn check_dsse_body(body: &[u8], signed: &Signed) -> Result<(), String> {
    let spec = "/spec/dsseV002";
    let entry = entry(
        body,
        "dsse",
        &format!("{spec}/payloadHash"),
        "payload hash",
        &signed.payload,
    )?;
    let signatures = entry
        .pointer(&format!("{spec}/signatures"))
        .and_then(Value::as_array)
        .ok_or("the log entry has no signatures")?;
    for item in signatures {
        let content = item
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if b64(content, "the entry's signature")? != signed.signature {
            continue;
        }
        let verifier = item
            .get("verifier")
            .ok_or("the log entry names no verifier")?;
        return if same_signer(verifier, signed)? {
            Ok(())
        } else {
            Err("the log entry names another signer".into())
        };
    }
    Err("the log entry is for another envelope (its signature differs)".into())
}

/// The entry's JSON, once it is a `kind` v0.0.2 whose SHA-256 `{algorithm, digest}` at
/// `hash` (named `what` in messages) is that of `logged`.
fn entry(body: &[u8], kind: &str, hash: &str, what: &str, logged: &[u8]) -> Result<Value, String> {
    let entry: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the log entry's body is not JSON: {e}"))?;
    let field = |pointer: &str| entry.pointer(pointer).and_then(Value::as_str);
    if field("/apiVersion") != Some("0.0.2") || field("/kind") != Some(kind) {
        return Err(format!("the Rekor v2 entry is not a {kind} v0.0.2"));
    }
    if field(&format!("{hash}/algorithm")) != Some("SHA2_256") {
        return Err(format!("the Rekor v2 entry's {what} is not SHA2_256"));
    }
    let digest = b64(
        field(&format!("{hash}/digest")).unwrap_or_default(),
        &format!("the entry's {what}"),
    )?;
    if digest.as_slice() != sha2::Sha256::digest(logged).as_slice() {
        return Err(format!(
            "the log entry is for another envelope (its {what} differs)"
        ));
    }
    Ok(entry)
}

/// A Rekor v2 `Verifier`: the signing certificate or the key, as DER.
fn same_signer(verifier: &Value, signed: &Signed) -> Result<bool, String> {
    let raw = |pointer: &str| verifier.pointer(pointer).and_then(Value::as_str);
    let logged = match (raw("/x509Certificate/rawBytes"), raw("/publicKey/rawBytes")) {
        (Some(cert), None) => (b64(cert, "the entry's certificate")?, true),
        (None, Some(key)) => (b64(key, "the entry's public key")?, false),
        _ => return Err("the log entry names no single verifier".into()),
    };
    Ok(match (&signed.certificate, logged) {
        (Some(cert), (der, true)) => *cert == der,
        (None, (der, false)) => signed.key.spki == der,
        _ => false,
    })
}
