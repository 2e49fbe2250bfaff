//! Keys, ECDSA signatures and certificate chains (P-256, as Fulcio, Rekor and the TSAs use).

use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::{DecodePublicKey as _, EncodePublicKey as _};
use rustls_pki_types::{CertificateDer, UnixTime};

/// OID content of the extended key usages checked here.
pub const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];
pub const TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

/// A public key and its SPKI DER (what log entries name).
pub struct Key {
    pub key: VerifyingKey,
    pub spki: Vec<u8>,
}

impl Key {
    pub fn from_spki(der: &[u8], what: &str) -> Result<Self, String> {
        let key = VerifyingKey::from_public_key_der(der)
            .map_err(|e| format!("{what} is not an ECDSA P-256 public key: {e}"))?;
        Ok(Key {
            key,
            spki: der.to_vec(),
        })
    }

    pub fn from_pem(pem: &str, what: &str) -> Result<Self, String> {
        let key = VerifyingKey::from_public_key_pem(pem.trim())
            .map_err(|e| format!("{what} is not an ECDSA P-256 public key: {e}"))?;
        let spki = key
            .to_public_key_der()
            .map_err(|e| format!("{what}: {e}"))?
            .as_bytes()
            .to_vec();
        Ok(Key { key, spki })
    }

    /// The certificate's subject public key.
    pub fn from_certificate(der: &[u8], what: &str) -> Result<Self, String> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| format!("{what} is not an X.509 certificate: {e}"))?;
        Self::from_spki(cert.tbs_certificate.subject_pki.raw, what)
    }

    /// ECDSA over SHA-256 of `message`; the signature DER (or fixed-size) encoded.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        if let Ok(sig) = p256::ecdsa::DerSignature::try_from(signature) {
            return self.key.verify(message, &sig).is_ok();
        }
        p256::ecdsa::Signature::from_slice(signature)
            .is_ok_and(|sig| self.key.verify(message, &sig).is_ok())
    }
}

/// Does `leaf` chain to one of `anchors` through `intermediates`, valid at `unix_seconds`,
/// for the extended key usage `eku`?
pub fn chain_at(
    leaf: &[u8],
    anchors: &[Vec<u8>],
    intermediates: &[Vec<u8>],
    unix_seconds: u64,
    eku: &'static [u8],
) -> Result<(), String> {
    let anchor_ders: Vec<CertificateDer<'_>> = anchors
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let anchors = anchor_ders
        .iter()
        .map(|c| {
            webpki::anchor_from_trusted_cert(c)
                .map_err(|e| format!("invalid certificate authority: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let leaf = CertificateDer::from(leaf);
    let ee = webpki::EndEntityCert::try_from(&leaf).map_err(|e| e.to_string())?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        UnixTime::since_unix_epoch(std::time::Duration::from_secs(unix_seconds)),
        webpki::KeyUsage::required(eku),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}
