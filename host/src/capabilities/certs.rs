//! Signing certificates (Fulcio's, or the test CA's), read and checked the same way for
//! `oci/v2/verify`'s diagnostics (signatures.rs) and `oci/v2/verify_attestations`
//! (attestations.rs): the issuer extensions and SAN names (x509-parser), the chain to the
//! certificate authorities for code signing (rustls-webpki), and Kubewarden's URL prefixes.

use rustls_pki_types::{CertificateDer, UnixTime};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;

const ISSUER_V1_OID: &str = "1.3.6.1.4.1.57264.1.1";
const ISSUER_V2_OID: &str = "1.3.6.1.4.1.57264.1.8";
const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// Who a certificate is for: its issuer extensions and its SAN names.
pub(crate) struct CertNames {
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
}

/// "issuer X and subject Y" (the first subject), `(none)` for what is missing.
pub(crate) fn describe_identity(issuer: Option<&str>, subjects: &[String]) -> String {
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

/// Does `leaf` chain to one of `anchors` (through `intermediates`) at `time` (now if
/// `None`), for code signing?
pub(crate) fn chain_check(
    leaf: &CertificateDer<'_>,
    anchors: &[CertificateDer<'static>],
    intermediates: &[CertificateDer<'static>],
    time: Option<UnixTime>,
) -> Result<(), String> {
    let anchors = anchors
        .iter()
        .map(|c| {
            webpki::anchor_from_trusted_cert(c)
                .map(|a| a.to_owned())
                .map_err(|e| format!("invalid certificate authority: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ee = webpki::EndEntityCert::try_from(leaf).map_err(|e| e.to_string())?;
    ee.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        intermediates,
        time.unwrap_or_else(UnixTime::now),
        webpki::KeyUsage::required(CODE_SIGNING),
        None,
        None,
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// A keyless `url_prefix` as Kubewarden reads it: a URL, with a '/' appended
/// (typosquatting guard).
pub(crate) fn url_prefix(url_prefix: &str) -> Result<String, String> {
    let url = url::Url::parse(url_prefix)
        .map_err(|e| format!("url_prefix {url_prefix:?} is not a valid URL: {e}"))?;
    let mut prefix = url.to_string();
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok(prefix)
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
}
