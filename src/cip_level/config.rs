//! `fetchConfigFile`: each image's OCI config, keyed by its platform, as policy-controller's
//! `getConfigs` gathers them; an index contributes every child's config. One
//! `oci/v1/oci_manifest_config` call for a single-platform image; for an index (which the host
//! resolves to its own platform) the index is read and each child asked for. Bounded: at most
//! `MAX_CHILDREN` children, nested indexes at most `MAX_DEPTH` deep.

use super::config_file;
use crate::verify::host::Host;
use crate::verify::verifier::Image;
use serde::Deserialize;
use serde_json::{Map, Value};

pub const MAX_CHILDREN: usize = 64;
const MAX_DEPTH: usize = 2;
const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

#[derive(Deserialize)]
struct ManifestAndConfig {
    digest: String,
    config: Value,
}

#[derive(Deserialize)]
struct Index {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    manifests: Option<Vec<Child>>,
}

#[derive(Deserialize)]
struct Child {
    digest: String,
}

/// Platform -> re-encoded config; `Err` holds policy-controller's messages.
pub fn configs(image: Image<'_>, host: &mut dyn Host) -> Result<Map<String, Value>, Vec<String>> {
    let mut out = Map::new();
    gather(image.repo, image.digest, host, 0, &mut out)?;
    Ok(out)
}

fn gather(
    repo: &str,
    digest: &str,
    host: &mut dyn Host,
    depth: usize,
    out: &mut Map<String, Value>,
) -> Result<(), Vec<String>> {
    let reference = format!("{repo}@{digest}");
    let answer = host.oci_manifest_config(&reference);
    if let Ok(bytes) = &answer {
        let parsed: ManifestAndConfig = serde_json::from_slice(bytes).map_err(|e| {
            vec![format!(
                "getting ConfigFile for {reference}: cannot decode the host's answer: {e}"
            )]
        })?;
        // The host answers for the platform manifest when `digest` names an index.
        if parsed.digest == digest {
            let config = config_file::reencode(&parsed.config)
                .map_err(|e| vec![format!("getting ConfigFile for {reference}: {e}")])?;
            out.insert(config_file::platform(&parsed.config), config);
            return Ok(());
        }
    }
    // An index (or a host that could not pick a platform): read it and ask for each child.
    let index = host
        .oci_manifest(&reference)
        .map_err(|reason| match &answer {
            Err(first) => vec![format!("failed to get ref {reference} : {first}")],
            Ok(_) => vec![format!("failed to get ref {reference} : {reason}")],
        })?;
    let index: Index = serde_json::from_slice(&index)
        .map_err(|e| vec![format!("getting IndexManifest for {reference} : {e}")])?;
    if !INDEX_TYPES.contains(&index.media_type.as_str()) {
        return Err(vec![match answer {
            Err(first) => format!("failed to get ref {reference} : {first}"),
            Ok(_) => format!("unknown mime type for {reference}: {}", index.media_type),
        }]);
    }
    let children = index.manifests.unwrap_or_default();
    if children.len() > MAX_CHILDREN {
        return Err(vec![format!(
            "getting IndexManifest for {reference} : {} manifests, more than the {MAX_CHILDREN} this policy reads",
            children.len()
        )]);
    }
    if depth >= MAX_DEPTH {
        return Err(vec![format!(
            "getting ImageIndex for {reference} : indexes nested more than {MAX_DEPTH} deep"
        )]);
    }
    let mut errors = Vec::new();
    for child in children {
        let found = crate::verify::host::check_digest(&child.digest)
            .map_err(|e| {
                vec![format!(
                    "failed to ParseReference for: {repo}@{}: {e}",
                    child.digest
                )]
            })
            .and_then(|()| gather(repo, &child.digest, host, depth + 1, out));
        if let Err(errs) = found {
            errors.push(format!("failed to get a ConfigFile: [{}]", errs.join(" ")));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}
