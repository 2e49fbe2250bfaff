//! Namespace `crypto`: decoding only, for now (the live check comes with a later issue;
//! recorded sessions already replay).

use super::{CallbackError, CertificateVerificationRequest, HostRequest};

pub fn decode(operation: &str, payload: &[u8]) -> Result<HostRequest, CallbackError> {
    match operation {
        "v1/is_certificate_trusted" => Ok(HostRequest::CryptoIsCertificateTrusted {
            request: serde_json::from_slice::<CertificateVerificationRequest>(payload)?,
        }),
        _ => Err(format!("unknown operation: {operation}").into()),
    }
}
