//! Namespace `crypto`: `v1/is_certificate_trusted`, decoded and answered as Kubewarden's host
//! does (policy-evaluator `callback_handler/crypto.rs`): rustls-webpki
//! `EndEntityCert::verify_for_usage` with every algorithm and any extended key usage, the
//! last certificate of `cert_chain` as the trust anchor and the others as intermediates
//! (Mozilla's roots from webpki-roots without a chain), at `not_after` (RFC 3339) or now.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{EndEntityCert, Error as WebpkiError};

use super::{CallbackError, Certificate, CertificateVerificationRequest, HostRequest};

pub const CERTIFICATE_USED_AFTER_EXPIRATION: &str =
    "Certificate is being used after its expiration date";
pub const CERTIFICATE_USED_BEFORE_VALIDITY: &str =
    "Certificate is being used before its validity date";
pub const CERTIFICATE_NOT_TRUSTED_BY_CHAIN: &str =
    "Certificate is not trusted by the provided cert chain";

pub fn decode(operation: &str, payload: &[u8]) -> Result<HostRequest, CallbackError> {
    match operation {
        "v1/is_certificate_trusted" => Ok(HostRequest::CryptoIsCertificateTrusted {
            request: serde_json::from_slice::<CertificateVerificationRequest>(payload)?,
        }),
        _ => Err(format!("unknown operation: {operation}").into()),
    }
}

fn certificate_der(cert: &Certificate) -> Result<CertificateDer<'static>, String> {
    match cert.encoding.as_str() {
        "Pem" => CertificateDer::from_pem_slice(&cert.data)
            .map_err(|e| format!("Certificate PEM data is not valid: {e}")),
        "Der" => Ok(CertificateDer::from(cert.data.clone())),
        other => Err(format!(
            "unknown certificate encoding {other:?} (expected Pem or Der)"
        )),
    }
}

/// Parses an RFC 3339 time as webpki's time.
pub fn unix_time(rfc3339: &str) -> Result<UnixTime, String> {
    let time = chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map_err(|_| "Timestamp not_after is not in RFC3339 format".to_string())?;
    let secs = u64::try_from(time.timestamp())
        .map_err(|_| "Timestamp not_after is before 1970".to_string())?;
    Ok(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        secs,
    )))
}

/// Accepts any extended key usage, as Kubewarden's host.
struct AnyUsage;

impl webpki::ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, _: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), WebpkiError> {
        Ok(())
    }
}

/// The live answer: `{"trusted": bool, "reason": "..."}`; `Err` for unparsable input.
pub fn is_certificate_trusted(request: &CertificateVerificationRequest) -> Result<Vec<u8>, String> {
    let (trusted, reason) = verify_certificate(request)?;
    serde_json::to_vec(&serde_json::json!({ "trusted": trusted, "reason": reason }))
        .map_err(|e| e.to_string())
}

pub fn verify_certificate(
    request: &CertificateVerificationRequest,
) -> Result<(bool, String), String> {
    let der = certificate_der(&request.cert)?;
    let end_entity = EndEntityCert::try_from(&der)
        .map_err(|e| format!("Certificate is not a valid end-entity certificate: {e}"))?;
    let time = match request.not_after.as_deref() {
        Some(text) if !text.is_empty() => unix_time(text)?,
        _ => UnixTime::now(),
    };
    let (anchors, intermediates): (Vec<TrustAnchor<'static>>, Vec<CertificateDer<'static>>) =
        match &request.cert_chain {
            None => (webpki_roots::TLS_SERVER_ROOTS.to_vec(), Vec::new()),
            Some(chain) => {
                let mut ders = chain
                    .iter()
                    .map(certificate_der)
                    .collect::<Result<Vec<_>, _>>()?;
                let mut anchors = Vec::new();
                if let Some(root) = ders.pop() {
                    anchors.push(
                        webpki::anchor_from_trusted_cert(&root)
                            .map_err(|e| format!("invalid certificate in cert_chain: {e}"))?
                            .to_owned(),
                    );
                }
                ders.reverse();
                (anchors, ders)
            }
        };
    let result = end_entity.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        time,
        AnyUsage,
        None,
        None,
    );
    Ok(match result {
        Ok(_) => (true, String::new()),
        Err(WebpkiError::InvalidSignatureForPublicKey | WebpkiError::UnknownIssuer) => {
            (false, CERTIFICATE_NOT_TRUSTED_BY_CHAIN.to_string())
        }
        Err(WebpkiError::CertExpired { .. }) => {
            (false, CERTIFICATE_USED_AFTER_EXPIRATION.to_string())
        }
        Err(WebpkiError::CertNotValidYet { .. }) => {
            (false, CERTIFICATE_USED_BEFORE_VALIDITY.to_string())
        }
        Err(e) => (false, format!("Certificate not trusted: {e}")),
    })
}
