//! A signing certificate's chain to certificate authorities for code signing (rustls-webpki),
//! at a given time.

use rustls_pki_types::{CertificateDer, UnixTime};

const CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// Does `leaf` chain to one of `anchors` (through `intermediates`) at `time` (now if
/// `None`), for code signing?
pub fn chain_check(
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

/// A Unix time in seconds as webpki's time (before 1970 reads as 1970).
pub fn unix_time(secs: i64) -> UnixTime {
    UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        u64::try_from(secs).unwrap_or(0),
    ))
}

/// The certificate's notBefore, the time at which a short-lived signing certificate is
/// checked when nothing better says when it signed; `None` when unreadable or before 1970.
pub fn not_before(der: &CertificateDer<'_>) -> Option<UnixTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let secs = u64::try_from(cert.validity().not_before.timestamp()).ok()?;
    Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        secs,
    )))
}
