//! Who a signing certificate (Fulcio's, or a test CA's) is for, read the same way for
//! signatures and attestations: the issuer extensions and SAN names (x509-parser), the
//! identities a verifier asks for, and Kubewarden's URL prefixes.

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

use crate::verifier::KeylessPrefixInfo;

const ISSUER_V1_OID: &str = "1.3.6.1.4.1.57264.1.1";
const ISSUER_V2_OID: &str = "1.3.6.1.4.1.57264.1.8";

/// Who a certificate is for: its issuer extensions and its SAN names.
pub struct CertNames {
    /// The `.1.1` issuer extension (raw UTF-8).
    pub issuer_v1: Option<String>,
    /// The `.1.8` issuer extension (a DER UTF8String).
    pub issuer_v2: Option<String>,
    /// The SAN's emails and URIs, in order.
    pub emails_and_uris: Vec<String>,
    /// The SAN's URIs, in order.
    pub uris: Vec<String>,
}

impl CertNames {
    pub fn read(cert: &X509Certificate<'_>) -> Self {
        let mut issuer_v1 = None;
        let mut issuer_v2 = None;
        for ext in cert.extensions() {
            match ext.oid.to_id_string().as_str() {
                ISSUER_V1_OID => issuer_v1 = String::from_utf8(ext.value.to_vec()).ok(),
                ISSUER_V2_OID => issuer_v2 = der_utf8(ext.value),
                _ => {}
            }
        }
        let mut emails_and_uris = Vec::new();
        let mut uris = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::RFC822Name(s) => emails_and_uris.push(s.to_string()),
                    GeneralName::URI(s) => {
                        emails_and_uris.push(s.to_string());
                        uris.push(s.to_string());
                    }
                    _ => {}
                }
            }
        }
        CertNames {
            issuer_v1,
            issuer_v2,
            emails_and_uris,
            uris,
        }
    }

    /// Fulcio writes both issuer extensions; the newer (.1.8) wins when present.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer_v2.as_deref().or(self.issuer_v1.as_deref())
    }
}

/// "issuer X and subject Y" (the first subject), `(none)` for what is missing.
pub fn describe_identity(issuer: Option<&str>, subjects: &[String]) -> String {
    format!(
        "issuer {} and subject {}",
        issuer.unwrap_or("(none)"),
        subjects.first().map(String::as_str).unwrap_or("(none)")
    )
}

/// A DER UTF8String (the .1.8 issuer extension's value).
fn der_utf8(value: &[u8]) -> Option<String> {
    let (&tag, rest) = value.split_first()?;
    if tag != 0x0c {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (len_bytes, rest) = rest.split_at_checked(n)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() != len {
        return None;
    }
    String::from_utf8(rest.to_vec()).ok()
}

/// A keyless `url_prefix` as Kubewarden reads it: a URL, with a '/' appended
/// (typosquatting guard).
pub fn url_prefix(url_prefix: &str) -> Result<String, String> {
    let url = url::Url::parse(url_prefix)
        .map_err(|e| format!("url_prefix {url_prefix:?} is not a valid URL: {e}"))?;
    let mut prefix = url.to_string();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok(prefix)
}

/// A wanted keyless identity: every one a verifier lists must match the certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Identity {
    /// The issuer, and the subject among the SAN's emails and URIs.
    Exact { issuer: String, subject: String },
    /// The issuer, and a SAN URI starting with the prefix.
    Prefix { issuer: String, prefix: String },
}

impl Identity {
    pub(crate) fn prefix(info: &KeylessPrefixInfo) -> Result<Self, String> {
        Ok(Identity::Prefix {
            issuer: info.issuer.clone(),
            prefix: url_prefix(&info.url_prefix)?,
        })
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Identity::Exact { issuer, subject } => {
                format!("issuer {issuer} and subject {subject}")
            }
            Identity::Prefix { issuer, prefix } => {
                format!("issuer {issuer} and a subject starting with {prefix}")
            }
        }
    }

    pub(crate) fn matches(&self, names: &CertNames) -> bool {
        match self {
            Identity::Exact { issuer, subject } => {
                names.issuer() == Some(issuer.as_str())
                    && names.emails_and_uris.iter().any(|s| s == subject)
            }
            Identity::Prefix { issuer, prefix } => {
                names.issuer() == Some(issuer.as_str())
                    && names.uris.iter().any(|s| s.starts_with(prefix.as_str()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_utf8_strings() {
        assert_eq!(der_utf8(&[0x0c, 2, b'a', b'b']).as_deref(), Some("ab"));
        assert_eq!(der_utf8(&[0x0c, 3, b'a', b'b']), None);
        assert_eq!(der_utf8(&[0x13, 2, b'a', b'b']), None);
        let mut long = vec![0x0c, 0x81, 200];
        long.extend(std::iter::repeat_n(b'x', 200));
        assert_eq!(der_utf8(&long).map(|s| s.len()), Some(200));
        assert_eq!(der_utf8(&[]), None);
    }

    fn names(issuer_v1: Option<&str>, issuer_v2: Option<&str>, uris: &[&str]) -> CertNames {
        CertNames {
            issuer_v1: issuer_v1.map(str::to_string),
            issuer_v2: issuer_v2.map(str::to_string),
            emails_and_uris: uris.iter().map(|s| s.to_string()).collect(),
            uris: uris.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn identities() {
        let exact = Identity::Exact {
            issuer: "https://iss".into(),
            subject: "https://github.com/o/r".into(),
        };
        let prefix = Identity::prefix(&KeylessPrefixInfo {
            issuer: "https://iss".into(),
            url_prefix: "https://github.com/o".into(),
        })
        .unwrap();
        assert_eq!(
            prefix.describe(),
            "issuer https://iss and a subject starting with https://github.com/o/"
        );
        let cert = names(
            Some("https://old"),
            Some("https://iss"),
            &["https://github.com/o/r"],
        );
        assert!(exact.matches(&cert) && prefix.matches(&cert));
        // the .1.8 issuer wins over .1.1
        let old_only = names(
            Some("https://iss"),
            Some("https://other"),
            &["https://github.com/o/r"],
        );
        assert!(!exact.matches(&old_only));
        // the '/' appended to a prefix: no typosquatting of the owner
        let squat = names(None, Some("https://iss"), &["https://github.com/org/r"]);
        assert!(!prefix.matches(&squat));
        assert!(url_prefix("not a url")
            .unwrap_err()
            .starts_with("url_prefix \"not a url\" is not a valid URL"));
    }
}
