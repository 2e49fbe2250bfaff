//! A signing certificate, read once for everything the checks need from it: who it is for,
//! when it is valid, and its key.

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, UnixTime};
use sigstore::crypto::CosignVerificationKey;

use crate::chain::unix_time;
use crate::identity::{describe_identity, CertNames};

pub(crate) fn cert_from_pem(pem: &[u8], what: &str) -> Result<CertificateDer<'static>, String> {
    CertificateDer::from_pem_slice(pem)
        .map(|c| c.into_owned())
        .map_err(|e| format!("invalid {what}: {e}"))
}

/// The key of a certificate, to verify what it signed.
pub(crate) fn key_of_cert(der: &[u8]) -> Result<CosignVerificationKey, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("invalid certificate: {e}"))?;
    CosignVerificationKey::try_from_der(cert.public_key().raw)
        .map_err(|e| format!("unsupported certificate key: {e}"))
}

/// What the checks need from a leaf certificate.
pub(crate) struct Leaf {
    pub names: CertNames,
    not_before: i64,
    not_after: i64,
    pub spki: Vec<u8>,
}

impl Leaf {
    pub fn parse(der: &[u8]) -> Result<Self, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("invalid certificate: {e}"))?;
        Ok(Leaf {
            names: CertNames::read(&cert),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            spki: cert.public_key().raw.to_vec(),
        })
    }

    pub fn describe(&self) -> String {
        describe_identity(self.names.issuer(), &self.names.emails_and_uris)
    }

    pub fn not_before_time(&self) -> UnixTime {
        unix_time(self.not_before)
    }

    /// Is a Rekor integrated time within the certificate's validity?
    pub fn check_integrated_time(&self, time: i64) -> Result<(), String> {
        if time < self.not_before || time > self.not_after {
            return Err(
                "its Rekor integrated time is outside the certificate's validity".to_string(),
            );
        }
        Ok(())
    }
}
