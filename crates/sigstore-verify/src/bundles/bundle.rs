//! The Sigstore bundle (protobuf-specs `Bundle`, protojson): only what verification reads.
//! protojson writes int64 as strings; numbers are accepted too.

use base64::Engine as _;
use serde::Deserialize;

pub const MEDIA_TYPE_PREFIX: &str = "application/vnd.dev.sigstore.bundle";

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    pub media_type: String,
    pub verification_material: Material,
    #[serde(default)]
    pub dsse_envelope: Option<Envelope>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Material {
    #[serde(default)]
    pub certificate: Option<RawBytes>,
    #[serde(default)]
    pub x509_certificate_chain: Option<serde_json::Value>,
    #[serde(default)]
    pub tlog_entries: Vec<TlogEntry>,
    #[serde(default)]
    pub timestamp_verification_data: Option<TimestampData>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawBytes {
    pub raw_bytes: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimestampData {
    #[serde(default)]
    pub rfc3161_timestamps: Vec<SignedTimestamp>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedTimestamp {
    pub signed_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlogEntry {
    pub log_index: serde_json::Value,
    pub log_id: LogId,
    pub kind_version: KindVersion,
    #[serde(default)]
    pub integrated_time: Option<serde_json::Value>,
    #[serde(default)]
    pub inclusion_promise: Option<Promise>,
    #[serde(default)]
    pub inclusion_proof: Option<Proof>,
    pub canonicalized_body: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogId {
    pub key_id: String,
}

#[derive(Deserialize)]
pub struct KindVersion {
    pub kind: String,
    pub version: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Promise {
    pub signed_entry_timestamp: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Proof {
    pub log_index: serde_json::Value,
    pub root_hash: String,
    pub tree_size: serde_json::Value,
    #[serde(default)]
    pub hashes: Vec<String>,
    pub checkpoint: Checkpoint,
}

#[derive(Deserialize)]
pub struct Checkpoint {
    pub envelope: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Deserialize)]
pub struct EnvelopeSignature {
    pub sig: String,
}

/// Is `media_type` a bundle of version 0.3 or later (`…bundle.v0.3+json`, or the older
/// spelling `…bundle+json;version=0.3`)?
pub fn is_v03_or_later(media_type: &str) -> bool {
    let Some(rest) = media_type.strip_prefix(MEDIA_TYPE_PREFIX) else {
        return false;
    };
    let version = if let Some(v) = rest
        .strip_prefix(".v")
        .and_then(|v| v.strip_suffix("+json"))
    {
        v
    } else if let Some(v) = rest.strip_prefix("+json;version=") {
        v
    } else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor)) => major > 0 || minor >= 3,
        _ => false,
    }
}

/// Standard base64 (padded or not, as protojson and the Go encoders write it).
pub fn b64(text: &str, what: &str) -> Result<Vec<u8>, String> {
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    engine
        .decode(text.trim())
        .map_err(|e| format!("{what} is not valid base64: {e}"))
}

/// An int64 as protojson writes it (a string) or as a number.
pub fn int(value: &serde_json::Value, what: &str) -> Result<u64, String> {
    match value {
        serde_json::Value::String(s) => s.parse().ok(),
        serde_json::Value::Number(n) => n.as_u64(),
        _ => None,
    }
    .ok_or_else(|| format!("{what} is not a non-negative integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_v03_and_later_count() {
        for (media_type, ok) in [
            ("application/vnd.dev.sigstore.bundle.v0.3+json", true),
            ("application/vnd.dev.sigstore.bundle.v0.4+json", true),
            ("application/vnd.dev.sigstore.bundle+json;version=0.3", true),
            (
                "application/vnd.dev.sigstore.bundle+json;version=0.2",
                false,
            ),
            (
                "application/vnd.dev.sigstore.bundle+json;version=0.1",
                false,
            ),
            ("application/vnd.dev.sigstore.bundle.v0.2+json", false),
            ("application/json", false),
        ] {
            assert_eq!(is_v03_or_later(media_type), ok, "{media_type}");
        }
    }
}
