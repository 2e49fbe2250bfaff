//! cosign's signature manifest (`<repo>:sha256-<hex>.sig`) as read through
//! `oci/v1/oci_manifest`: one layer per signature, the signing material in its annotations.
//! Registry data: counts and sizes are bounded before anything is parsed.

use serde::Deserialize;
use std::collections::BTreeMap;

pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;
pub const MAX_SIGNATURES: usize = 128;
pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
const ANN_CERTIFICATE: &str = "dev.sigstore.cosign/certificate";
const ANN_CHAIN: &str = "dev.sigstore.cosign/chain";
const ANN_BUNDLE: &str = "dev.sigstore.cosign/bundle";
const ANN_SIGNATURE: &str = "dev.cosignproject.cosign/signature";
const ANN_PREDICATE_TYPE: &str = "predicateType";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLayer {
    pub certificate: Option<String>,
    pub chain: Option<String>,
    /// The Rekor bundle's integrated time (unix seconds), when the layer carries a bundle.
    pub integrated_time: Option<i64>,
    /// The layer's digest (`sha256:<hex>`), as the manifest names it.
    pub digest: String,
    /// The base64 signature annotation (empty for attestations, whose signature is in the envelope).
    pub signature: String,
    /// An attestation layer's `predicateType` annotation.
    pub predicate_type: Option<String>,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Layer>,
}

#[derive(Deserialize)]
struct Layer {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    digest: String,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

/// The `.sig` tag of an image digest, as cosign names it.
pub fn signature_tag(repository: &str, digest: &str) -> String {
    format!("{repository}:{}.sig", digest.replacen(':', "-", 1))
}

/// The `.att` tag of an image digest, where cosign keeps attestations.
pub fn attestation_tag(repository: &str, digest: &str) -> String {
    format!("{repository}:{}.att", digest.replacen(':', "-", 1))
}

/// The signature layers of a `.sig` manifest.
pub fn parse(manifest: &[u8]) -> Result<Vec<SignatureLayer>, String> {
    parse_layers(manifest, SIMPLE_SIGNING)
}

/// The layers of one media type (`.sig`: simple signing, `.att`: DSSE envelopes).
pub fn parse_layers(manifest: &[u8], media_type: &str) -> Result<Vec<SignatureLayer>, String> {
    if manifest.len() > MAX_MANIFEST_BYTES {
        return Err(format!(
            "signature manifest larger than {MAX_MANIFEST_BYTES} bytes"
        ));
    }
    let manifest: Manifest = serde_json::from_slice(manifest)
        .map_err(|e| format!("cannot decode the signature manifest: {e}"))?;
    if manifest.layers.len() > MAX_SIGNATURES {
        return Err(format!(
            "{} signatures attached, more than the {MAX_SIGNATURES} this policy reads",
            manifest.layers.len()
        ));
    }
    Ok(manifest
        .layers
        .into_iter()
        .filter(|l| l.media_type == media_type)
        .map(|l| SignatureLayer {
            certificate: l.annotations.get(ANN_CERTIFICATE).cloned(),
            chain: l.annotations.get(ANN_CHAIN).cloned(),
            integrated_time: l
                .annotations
                .get(ANN_BUNDLE)
                .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok())
                .and_then(|b| {
                    b.pointer("/Payload/integratedTime")
                        .and_then(|t| t.as_i64())
                }),
            signature: l
                .annotations
                .get(ANN_SIGNATURE)
                .cloned()
                .unwrap_or_default(),
            predicate_type: l.annotations.get(ANN_PREDICATE_TYPE).cloned(),
            digest: l.digest,
        })
        .collect())
}

/// A unix time as RFC 3339 (UTC), for the host's `not_after`.
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_name() {
        assert_eq!(
            signature_tag("ghcr.io/a/b", "sha256:abc"),
            "ghcr.io/a/b:sha256-abc.sig"
        );
    }

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn layers_and_bounds() {
        let manifest = serde_json::json!({"layers": [
            {"mediaType": SIMPLE_SIGNING, "annotations": {ANN_CERTIFICATE: "C", ANN_BUNDLE: "{\"Payload\":{\"integratedTime\":5}}"}},
            {"mediaType": "application/octet-stream", "annotations": {}}
        ]});
        let layers = parse(manifest.to_string().as_bytes()).unwrap();
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].certificate.as_deref(), Some("C"));
        assert_eq!(layers[0].integrated_time, Some(5));
        let many: Vec<_> = (0..=MAX_SIGNATURES)
            .map(|_| serde_json::json!({"mediaType": SIMPLE_SIGNING}))
            .collect();
        assert!(parse(serde_json::json!({"layers": many}).to_string().as_bytes()).is_err());
        assert!(parse(b"not json").is_err());
        assert!(parse(&vec![b' '; MAX_MANIFEST_BYTES + 1]).is_err());
    }
}
