//! Rekor v2 `hashedrekord` v0.0.2: the logged body must be this envelope's (rekor-tiles
//! pkg/types/hashedrekord; sigstore-go pkg/verify/tlog.go rebuilds it from the bundle).

use serde_json::Value;
use sha2::Digest as _;

use super::bundle::b64;
use super::Signed;

/// The canonical body names the PAE's digest, the envelope's signature and the signer.
pub fn check_body(body: &[u8], signed: &Signed) -> Result<(), String> {
    let entry: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the log entry's body is not JSON: {e}"))?;
    let field = |pointer: &str| entry.pointer(pointer).and_then(Value::as_str);
    if field("/apiVersion") != Some("0.0.2") || field("/kind") != Some("hashedrekord") {
        return Err("the Rekor v2 entry is not a hashedrekord v0.0.2".into());
    }
    let spec = "/spec/hashedRekordV002";
    if field(&format!("{spec}/data/algorithm")) != Some("SHA2_256") {
        return Err("the Rekor v2 entry's digest is not SHA2_256".into());
    }
    let digest = b64(
        field(&format!("{spec}/data/digest")).unwrap_or_default(),
        "the entry's digest",
    )?;
    if digest.as_slice() != sha2::Sha256::digest(&signed.pae).as_slice() {
        return Err("the log entry is for another envelope (its digest differs)".into());
    }
    let content = b64(
        field(&format!("{spec}/signature/content")).unwrap_or_default(),
        "the entry's signature",
    )?;
    if content != signed.signature {
        return Err("the log entry is for another envelope (its signature differs)".into());
    }
    let verifier = format!("{spec}/signature/verifier");
    let logged = match (
        field(&format!("{verifier}/x509Certificate/rawBytes")),
        field(&format!("{verifier}/publicKey/rawBytes")),
    ) {
        (Some(cert), None) => (b64(cert, "the entry's certificate")?, true),
        (None, Some(key)) => (b64(key, "the entry's public key")?, false),
        _ => return Err("the log entry names no single verifier".into()),
    };
    let same = match (&signed.certificate, logged) {
        (Some(cert), (der, true)) => *cert == der,
        (None, (der, false)) => signed.key.spki == der,
        _ => false,
    };
    if !same {
        return Err("the log entry names another signer".into());
    }
    Ok(())
}
