//! Signing certificates read from a registry: hostile input. Parsed with the x509-cert crate,
//! bounded in size, every failure a message.

use crate::cip::keys;
use der::asn1::{Ia5String, Utf8StringRef};
use der::Decode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::Certificate;

const MAX_PEM_BYTES: usize = 64 * 1024;
const MAX_SANS: usize = 256;
/// Fulcio's OIDC issuer extensions: v2 (DER UTF8String) is preferred over v1 (raw bytes).
const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
const OID_SUBJECT_ALT_NAME: &str = "2.5.29.17";

/// What a keyless identity is matched against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertIdentity {
    /// Subject alternative names in cosign's order: DNS names, emails, URIs.
    pub sans: Vec<String>,
    /// The Fulcio OIDC issuer, when the certificate carries one.
    pub issuer: Option<String>,
}

pub fn identity_from_pem(pem: &str) -> Result<CertIdentity, String> {
    identity_from_der(&certificate_der(pem)?)
}

/// The DER of a certificate PEM (first block), bounded; the DER is parsed by the caller.
fn certificate_der(pem: &str) -> Result<Vec<u8>, String> {
    if pem.len() > MAX_PEM_BYTES {
        return Err(format!("certificate larger than {MAX_PEM_BYTES} bytes"));
    }
    let Some(block) = keys::pem_blocks(pem).into_iter().next() else {
        return Err("PEM decoding failed".to_string());
    };
    if block.label != "CERTIFICATE" {
        return Err(format!("expected a CERTIFICATE block, got {}", block.label));
    }
    Ok(block.der)
}

pub fn identity_from_der(der: &[u8]) -> Result<CertIdentity, String> {
    let cert = Certificate::from_der(der).map_err(|e| format!("parsing certificate: {e}"))?;
    let mut dns = Vec::new();
    let mut emails = Vec::new();
    let mut uris = Vec::new();
    let mut issuer_v1 = None;
    let mut issuer_v2 = None;
    for ext in cert.tbs_certificate.extensions.iter().flatten() {
        let value = ext.extn_value.as_bytes();
        match ext.extn_id.to_string().as_str() {
            OID_SUBJECT_ALT_NAME => {
                let names = SubjectAltName::from_der(value)
                    .map_err(|e| format!("parsing subject alternative names: {e}"))?;
                if names.0.len() > MAX_SANS {
                    return Err(format!("more than {MAX_SANS} subject alternative names"));
                }
                for name in names.0 {
                    match name {
                        GeneralName::DnsName(n) => dns.push(ia5(&n)),
                        GeneralName::Rfc822Name(n) => emails.push(ia5(&n)),
                        GeneralName::UniformResourceIdentifier(n) => uris.push(ia5(&n)),
                        _ => {}
                    }
                }
            }
            OID_ISSUER_V2 => {
                let s = Utf8StringRef::from_der(value)
                    .map_err(|e| format!("parsing the OIDC issuer extension: {e}"))?;
                issuer_v2 = Some(s.as_str().to_string());
            }
            OID_ISSUER_V1 => issuer_v1 = Some(String::from_utf8_lossy(value).into_owned()),
            _ => {}
        }
    }
    let mut sans = dns;
    sans.extend(emails);
    sans.extend(uris);
    Ok(CertIdentity {
        sans,
        issuer: issuer_v2.or(issuer_v1),
    })
}

/// Fulcio's GitHub workflow extensions (raw bytes, as cosign reads them), under the names
/// policy-controller gives them in a `PolicySignature`.
const GITHUB_EXTENSIONS: [(&str, &str); 5] = [
    ("1.3.6.1.4.1.57264.1.2", "githubWorkflowTrigger"),
    ("1.3.6.1.4.1.57264.1.3", "githubWorkflowSha"),
    ("1.3.6.1.4.1.57264.1.4", "githubWorkflowName"),
    ("1.3.6.1.4.1.57264.1.5", "githubWorkflowRepo"),
    ("1.3.6.1.4.1.57264.1.6", "githubWorkflowRef"),
];

/// A certificate read for `spec.policy`: its identity, GitHub workflow extensions, and the
/// PEM policy-controller hashes into a signature's id (re-encoded from the DER, as Go does).
pub struct SigningCertificate {
    pub identity: CertIdentity,
    pub github: Vec<(&'static str, String)>,
    pub pem: String,
}

pub fn signing_certificate(pem: &str) -> Result<SigningCertificate, String> {
    let der = certificate_der(pem)?;
    let identity = identity_from_der(&der)?;
    let cert = Certificate::from_der(&der).map_err(|e| format!("parsing certificate: {e}"))?;
    let mut github = Vec::new();
    for (oid, name) in GITHUB_EXTENSIONS {
        let value = cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .find(|ext| ext.extn_id.to_string() == oid)
            .map(|ext| String::from_utf8_lossy(ext.extn_value.as_bytes()).into_owned());
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            github.push((name, value));
        }
    }
    Ok(SigningCertificate {
        identity,
        github,
        pem: der_to_pem(&der),
    })
}

/// Go's `pem.EncodeToMemory` of a CERTIFICATE block: base64 in 64-character lines.
fn der_to_pem(der: &[u8]) -> String {
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

fn ia5(s: &Ia5String) -> String {
    s.as_str().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fulcio_style_leaf() {
        let id = identity_from_pem(include_str!("../../test_data/certs/keyless-leaf.pem")).unwrap();
        assert_eq!(
            id,
            CertIdentity {
                sans: vec![
                    "https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1".into()
                ],
                issuer: Some("https://token.actions.githubusercontent.com".into()),
            }
        );
    }

    #[test]
    fn a_ca_without_identity_extensions() {
        let id = identity_from_pem(include_str!("../../test_data/certs/test-ca.pem")).unwrap();
        assert_eq!(
            id,
            CertIdentity {
                sans: vec![],
                issuer: None
            }
        );
    }

    #[test]
    fn not_a_certificate() {
        assert!(
            identity_from_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
                .is_err()
        );
        assert!(identity_from_pem("garbage").is_err());
        assert!(identity_from_pem(&"A".repeat(MAX_PEM_BYTES + 1)).is_err());
    }
}
