//! Listing an image's bundles: the referrers API, else the `sha256-<hex>` fallback tag,
//! which must be an OCI index (ggcr pkg/v1/remote/referrers.go; cosign-v3.md §3).

use serde::Deserialize;

use super::bundle::MEDIA_TYPE_PREFIX;
use super::Source;

const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const PREDICATE_TYPE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";
/// Referrers an image may have before listing it is refused.
pub const MAX_REFERRERS: usize = 64;
/// A bundle blob larger than this is refused before download.
pub const MAX_BUNDLE_BYTES: usize = 4 << 20;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Index {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    artifact_type: Option<String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
}

/// A bundle referrer as listed: its manifest digest and, when the listing says, its
/// predicate type.
pub struct Referrer {
    pub digest: String,
    pub predicate_type: Option<String>,
}

/// The bundle referrers of `image_digest` (other artifact types are left out).
pub fn list(source: &dyn Source, image_digest: &str) -> Result<Vec<Referrer>, String> {
    let body = match source.referrers(image_digest)? {
        Some(body) => body,
        None => {
            let tag = image_digest.replace(':', "-");
            match source.tag(&tag)? {
                None => return Ok(Vec::new()),
                Some((_, digest)) if digest == image_digest => {
                    return Err(format!(
                        "the referrers fallback tag {tag} resolves to the image itself, not to an OCI index of its referrers (the registry aliases digest tags, as GitLab does)"
                    ))
                }
                Some((body, _)) => body,
            }
        }
    };
    let index: Index = serde_json::from_slice(&body)
        .map_err(|e| format!("the referrers index of {image_digest} is not an OCI index: {e}"))?;
    if index.media_type.as_deref() != Some(OCI_INDEX) {
        return Err(format!(
            "the referrers index of {image_digest} has the media type {}, not {OCI_INDEX}",
            index.media_type.as_deref().unwrap_or("(none)")
        ));
    }
    if index.manifests.len() > MAX_REFERRERS {
        return Err(format!(
            "the image has {} referrers, more than the limit of {MAX_REFERRERS}",
            index.manifests.len()
        ));
    }
    Ok(index
        .manifests
        .into_iter()
        .filter(|d| {
            d.artifact_type
                .as_deref()
                .is_none_or(|t| t.starts_with(MEDIA_TYPE_PREFIX))
        })
        .map(|mut d| Referrer {
            predicate_type: d.annotations.remove(PREDICATE_TYPE_ANNOTATION),
            digest: d.digest,
        })
        .collect())
}

/// A referrer's bundle blob and the predicate type its manifest (or listing) announces.
pub struct Fetched {
    pub bundle: Vec<u8>,
    pub predicate_type: Option<String>,
}

/// The referrer's bundle; `None` when the manifest is not a one-layer bundle (cosign skips
/// those silently).
pub fn fetch(source: &dyn Source, referrer: &Referrer) -> Result<Option<Fetched>, String> {
    let body = source.manifest(&referrer.digest)?;
    let manifest: Manifest = serde_json::from_slice(&body)
        .map_err(|e| format!("the manifest is not an OCI image manifest: {e}"))?;
    let [layer] = manifest.layers.as_slice() else {
        return Ok(None);
    };
    if !layer
        .media_type
        .as_deref()
        .is_some_and(|t| t.starts_with(MEDIA_TYPE_PREFIX))
    {
        return Ok(None);
    }
    if usize::try_from(layer.size).map_or(true, |s| s > MAX_BUNDLE_BYTES) {
        return Err(format!(
            "the bundle is {} bytes, more than the limit of {MAX_BUNDLE_BYTES}",
            layer.size
        ));
    }
    let blob = source.blob(&layer.digest, layer.size, MAX_BUNDLE_BYTES)?;
    let predicate_type = manifest
        .annotations
        .get(PREDICATE_TYPE_ANNOTATION)
        .cloned()
        .or_else(|| referrer.predicate_type.clone());
    Ok(Some(Fetched {
        bundle: blob,
        predicate_type,
    }))
}
