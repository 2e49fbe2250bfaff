//! RFC 3161 timestamps (`rfc3161Timestamps[].signedTimestamp`): a TimeStampResp whose token
//! is a CMS SignedData (RFC 5652) over a TSTInfo, signed by a trusted TSA over the signed
//! attributes; the message imprint is SHA-256 of the envelope's signature (sigstore-go
//! pkg/verify/tsa.go). Returns the genTime, in Unix seconds.

use sha2::{Digest as _, Sha256};

use super::der::{self, child, children, only};
use super::pki::{chain_at, Key, TIME_STAMPING};

const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
const TST_INFO: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
];
const CONTENT_TYPE: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x03];
const MESSAGE_DIGEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
const SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
/// A token larger than this is refused before parsing (real ones are a few KiB).
pub const MAX_TOKEN_BYTES: usize = 64 << 10;

struct Token<'a> {
    tst_info: &'a [u8],
    signed_attrs: der::Tlv<'a>,
    signature: &'a [u8],
}

fn token(response: &[u8]) -> Result<Token<'_>, String> {
    let resp = only(response, der::SEQUENCE, "the TimeStampResp")?;
    let parts = children(resp.content, "the TimeStampResp")?;
    let status = children(
        child(&parts, 0, der::SEQUENCE, "the status")?.content,
        "the status",
    )?;
    let granted = child(&status, 0, der::INTEGER, "the status")?;
    if !matches!(granted.content, [0] | [1]) {
        return Err("the timestamp was not granted".into());
    }
    let content_info = children(
        child(&parts, 1, der::SEQUENCE, "the token")?.content,
        "the token",
    )?;
    if child(&content_info, 0, der::OID, "the token type")?.content != SIGNED_DATA {
        return Err("the token is not a CMS SignedData".into());
    }
    let wrapper = child(&content_info, 1, der::CONTEXT_0, "the SignedData")?;
    let signed_data = children(
        only(wrapper.content, der::SEQUENCE, "the SignedData")?.content,
        "the SignedData",
    )?;
    let encap = children(
        child(&signed_data, 2, der::SEQUENCE, "the encapsulated content")?.content,
        "the encapsulated content",
    )?;
    if child(&encap, 0, der::OID, "the content type")?.content != TST_INFO {
        return Err("the token does not hold a TSTInfo".into());
    }
    let econtent = child(&encap, 1, der::CONTEXT_0, "the TSTInfo")?;
    let tst_info = only(econtent.content, der::OCTET_STRING, "the TSTInfo")?.content;
    let signer_infos = signed_data
        .last()
        .filter(|t| t.tag == der::SET)
        .ok_or("the token has no signer infos")?;
    let signers = children(signer_infos.content, "the signer infos")?;
    if signers.len() != 1 {
        return Err(format!("the token has {} signers, not 1", signers.len()));
    }
    let signer = children(
        child(&signers, 0, der::SEQUENCE, "the signer info")?.content,
        "the signer info",
    )?;
    let signed_attrs = child(&signer, 3, der::CONTEXT_0, "the signed attributes")?;
    let signature = child(&signer, 5, der::OCTET_STRING, "the token's signature")?.content;
    Ok(Token {
        tst_info,
        signed_attrs,
        signature,
    })
}

/// The signed attributes say the content is a TSTInfo whose SHA-256 is `digest`.
fn check_attributes(attrs: &der::Tlv<'_>, tst_info: &[u8]) -> Result<(), String> {
    let mut content_type = false;
    let mut digest = false;
    for attr in children(attrs.content, "the signed attributes")? {
        let parts = children(attr.content, "a signed attribute")?;
        let oid = child(&parts, 0, der::OID, "a signed attribute")?.content;
        let values = children(
            child(&parts, 1, der::SET, "a signed attribute")?.content,
            "a signed attribute",
        )?;
        let value = child(
            &values,
            0,
            if oid == MESSAGE_DIGEST {
                der::OCTET_STRING
            } else {
                der::OID
            },
            "a signed attribute",
        );
        if oid == CONTENT_TYPE {
            content_type = value?.content == TST_INFO;
        } else if oid == MESSAGE_DIGEST {
            digest = value?.content == Sha256::digest(tst_info).as_slice();
        }
    }
    if content_type && digest {
        Ok(())
    } else {
        Err("the token's signed attributes do not match its TSTInfo".into())
    }
}

/// The TSTInfo's message imprint (SHA-256) and genTime.
fn imprint_and_time(tst_info: &[u8]) -> Result<(Vec<u8>, u64), String> {
    let info = children(
        only(tst_info, der::SEQUENCE, "the TSTInfo")?.content,
        "the TSTInfo",
    )?;
    let imprint = children(
        child(&info, 2, der::SEQUENCE, "the message imprint")?.content,
        "the message imprint",
    )?;
    let algorithm = children(
        child(&imprint, 0, der::SEQUENCE, "the imprint algorithm")?.content,
        "the imprint algorithm",
    )?;
    if child(&algorithm, 0, der::OID, "the imprint algorithm")?.content != SHA256 {
        return Err("the message imprint is not SHA-256".into());
    }
    let hashed = child(&imprint, 1, der::OCTET_STRING, "the message imprint")?
        .content
        .to_vec();
    let time = child(&info, 4, der::GENERALIZED_TIME, "the genTime")?.content;
    Ok((hashed, generalized_time(time)?))
}

/// `YYYYMMDDHHMMSS[.fff]Z`.
fn generalized_time(text: &[u8]) -> Result<u64, String> {
    let bad = || "the genTime is not a UTC GeneralizedTime".to_string();
    let text = std::str::from_utf8(text).map_err(|_| bad())?;
    let text = text.strip_suffix('Z').ok_or_else(bad)?;
    let whole = text.split('.').next().unwrap_or_default();
    let num = |range: std::ops::Range<usize>| -> Result<u32, String> {
        whole
            .get(range)
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)
    };
    if whole.len() != 14 {
        return Err(bad());
    }
    let year = i32::try_from(num(0..4)?).map_err(|_| bad())?;
    let (hour, minute, second) = (num(8..10)?, num(10..12)?, num(12..14)?);
    let at = chrono::NaiveDate::from_ymd_opt(year, num(4..6)?, num(6..8)?)
        .and_then(|d| d.and_hms_opt(hour, minute, second))
        .ok_or_else(bad)?;
    u64::try_from(at.and_utc().timestamp()).map_err(|_| bad())
}

/// Verifies `response` over `signature` against the trusted TSA chains (leaf first); the
/// time it attests.
pub fn verify(
    response: &[u8],
    signature: &[u8],
    authorities: &[Vec<Vec<u8>>],
) -> Result<u64, String> {
    if response.len() > MAX_TOKEN_BYTES {
        return Err(format!(
            "the timestamp is larger than {MAX_TOKEN_BYTES} bytes"
        ));
    }
    let token = token(response)?;
    check_attributes(&token.signed_attrs, token.tst_info)?;
    let (imprint, time) = imprint_and_time(token.tst_info)?;
    if imprint.as_slice() != Sha256::digest(signature).as_slice() {
        return Err("the timestamp is for another signature".into());
    }
    // RFC 5652 5.4: the signature covers the attributes encoded as a SET.
    let mut signed = token.signed_attrs.raw.to_vec();
    if let Some(tag) = signed.first_mut() {
        *tag = der::SET;
    }
    if authorities.is_empty() {
        return Err("the trust root has no timestamp authority".into());
    }
    for chain in authorities {
        let (Some(leaf), Some(root)) = (chain.first(), chain.last()) else {
            continue;
        };
        let Ok(key) = Key::from_certificate(leaf, "the TSA certificate") else {
            continue;
        };
        if !key.verifies(&signed, token.signature) {
            continue;
        }
        let middle = chain
            .get(1..chain.len().saturating_sub(1))
            .unwrap_or_default();
        let anchor = std::slice::from_ref(root);
        return if leaf == root {
            Ok(time)
        } else {
            chain_at(leaf, anchor, middle, time, TIME_STAMPING)
                .map(|()| time)
                .map_err(|e| format!("the TSA certificate is not valid at the timestamp: {e}"))
        };
    }
    Err("the timestamp is not signed by a trusted timestamp authority".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times() {
        assert_eq!(generalized_time(b"19700101000010Z").unwrap(), 10);
        assert_eq!(
            generalized_time(b"20240229120000.123Z").unwrap(),
            1_709_208_000
        );
        assert!(generalized_time(b"20241301000000Z").is_err());
        assert!(generalized_time(b"20240101000000").is_err());
    }
}
