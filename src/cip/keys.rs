//! Key and certificate material from settings, parsed the way sigstore's
//! `cryptoutils.UnmarshalPEMToPublicKey` does: the first PEM block only, `PUBLIC KEY` (PKIX) or
//! `RSA PUBLIC KEY` (PKCS#1); anything else is not a key.

use base64::Engine;
use spki::der::Decode;

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";
const CURVES: [&str; 4] = [
    "1.2.840.10045.3.1.7", // P-256
    "1.3.132.0.34",        // P-384
    "1.3.132.0.35",        // P-521
    "1.3.132.0.33",        // P-224
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

pub fn hash_algorithm(name: &str) -> Option<HashAlgorithm> {
    match name.trim().to_ascii_lowercase().as_str() {
        "" | "sha256" => Some(HashAlgorithm::Sha256),
        "sha224" => Some(HashAlgorithm::Sha224),
        "sha384" => Some(HashAlgorithm::Sha384),
        "sha512" => Some(HashAlgorithm::Sha512),
        _ => None,
    }
}

/// A PEM block: its label and DER bytes.
pub struct PemBlock {
    pub label: String,
    pub der: Vec<u8>,
}

/// Every PEM block in `text`, in order, as Go's repeated `pem.Decode` finds them.
pub fn pem_blocks(text: &str) -> Vec<PemBlock> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = &after[..label_end];
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let Some(end) = body_start.find(&end_marker) else {
            break;
        };
        let body: String = body_start[..end]
            .lines()
            .filter(|line| !line.contains(':'))
            .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
            .collect();
        if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
            blocks.push(PemBlock {
                label: label.to_string(),
                der,
            });
        }
        rest = &body_start[end + end_marker.len()..];
    }
    blocks
}

/// Checks that the first PEM block of `pem` is a public key we can verify with.
pub fn parse_public_key_pem(pem: &str) -> Result<PemBlock, String> {
    let Some(block) = pem_blocks(pem).into_iter().next() else {
        return Err("PEM decoding failed".to_string());
    };
    match block.label.as_str() {
        "PUBLIC KEY" => {
            let spki = spki::SubjectPublicKeyInfoRef::from_der(&block.der)
                .map_err(|e| format!("parsing PKIX public key: {e}"))?;
            let oid = spki.algorithm.oid.to_string();
            let supported = match oid.as_str() {
                OID_RSA | OID_ED25519 => true,
                OID_EC => spki
                    .algorithm
                    .parameters
                    .and_then(|p| p.decode_as::<spki::ObjectIdentifier>().ok())
                    .is_some_and(|curve| CURVES.contains(&curve.to_string().as_str())),
                _ => false,
            };
            if supported {
                Ok(block)
            } else {
                Err(format!("unsupported public key algorithm {oid}"))
            }
        }
        "RSA PUBLIC KEY" => {
            pkcs1::RsaPublicKey::from_der(&block.der)
                .map_err(|e| format!("parsing PKCS#1 public key: {e}"))?;
            Ok(block)
        }
        other => Err(format!("unknown Public key PEM file type: {other}")),
    }
}

/// The first PEM block must be an X.509 certificate.
pub fn parse_certificate_pem(pem: &str) -> Result<PemBlock, String> {
    let Some(block) = pem_blocks(pem).into_iter().next() else {
        return Err("PEM decoding failed".to_string());
    };
    if block.label != "CERTIFICATE" {
        return Err(format!("expected a CERTIFICATE block, got {}", block.label));
    }
    x509_cert::Certificate::from_der(&block.der)
        .map_err(|e| format!("parsing certificate: {e}"))?;
    Ok(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const EC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDSg7UO84CxlzvapGE7Qa4ws2Rz5
ZZUaqHQ6uk52UxjHJ2aDkl8aE0wmFUlHOkd0G2XyNtmRpZVLyVfS0fQmxw==
-----END PUBLIC KEY-----
";

    #[test]
    fn ec_key_parses() {
        assert!(parse_public_key_pem(EC_KEY).is_ok());
    }

    #[test]
    fn leading_text_is_skipped() {
        assert!(parse_public_key_pem(&format!("comment\n{EC_KEY}")).is_ok());
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(parse_public_key_pem("not a key").is_err());
        assert!(parse_public_key_pem(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
        )
        .is_err());
    }

    #[test]
    fn certificate_block_is_not_a_key() {
        let cert = EC_KEY.replace("PUBLIC KEY", "CERTIFICATE");
        assert!(parse_public_key_pem(&cert).is_err());
    }

    #[test]
    fn hash_algorithms() {
        assert_eq!(hash_algorithm(" SHA384 "), Some(HashAlgorithm::Sha384));
        assert_eq!(hash_algorithm("md5"), None);
    }
}
