//! cosign v3 bundles (`SigstoreBundleVerify`) for cip-host: the verifier is the library's
//! ([`cip_sigstore_verify::bundles`]); this is its registry ([`RegistrySource`]: cip-host's
//! client, with a time budget per request) and the answers' wire shape.

use oci_client::Reference;

use super::oci::Registry;
use super::signatures::TrustRoot;
pub use cip_sigstore_verify::bundles::{
    attestations, verify_image, BundleVerifier, Source, Wanted, MAX_REFERRERS,
};

/// Registry time one request may spend reading bundles; each read also has its own deadline.
pub const READ_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// The live answer: `{"is_trusted":true,"digest":…}` or the reason.
pub fn verify_signatures(
    registry: &Registry,
    trust: Option<&TrustRoot>,
    image: &str,
    wanted: &Wanted,
) -> Result<Vec<u8>, String> {
    let reference: Reference = image
        .parse()
        .map_err(|e| format!("invalid image reference {image:?}: {e}"))?;
    let digest = registry.digest_of(&reference)?;
    let source = RegistrySource::new(registry, reference);
    verify_image(&source, trust, &digest, wanted)?;
    serde_json::to_vec(&serde_json::json!({"is_trusted": true, "digest": digest}))
        .map_err(|e| e.to_string())
}

/// Is `verifier` (an `oci/v2/verify_attestations` verifier) a `SigstoreBundleVerify`?
pub fn is_bundle_verifier(verifier: &serde_json::Value) -> bool {
    verifier.get("type").and_then(|t| t.as_str()) == Some("SigstoreBundleVerify")
}

/// The live `oci/v2/verify_attestations` answer for a `SigstoreBundleVerify` verifier:
/// `{"digest", "statements"}` or the reason.
pub fn verify_attestations(
    registry: &Registry,
    trust: Option<&TrustRoot>,
    image: &str,
    predicate_type: &str,
    verifier: &serde_json::Value,
) -> Result<Vec<u8>, String> {
    if predicate_type.is_empty() {
        return Err("predicate_type is empty".to_string());
    }
    let request: BundleVerifier = serde_json::from_value(verifier.clone())
        .map_err(|e| format!("invalid SigstoreBundleVerify verifier: {e}"))?;
    let reference: Reference = image
        .parse()
        .map_err(|e| format!("invalid image reference {image:?}: {e}"))?;
    let digest = registry.digest_of(&reference)?;
    let source = RegistrySource::new(registry, reference);
    let wanted = Wanted {
        pub_keys: request.pub_keys.as_deref(),
        keyless: request.keyless.as_deref(),
        annotations: request.annotations.as_ref(),
    };
    let statements =
        attestations::statements(&source, trust, image, &digest, predicate_type, &wanted)?;
    serde_json::to_vec(&serde_json::json!({"digest": digest, "statements": statements}))
        .map_err(|e| e.to_string())
}

struct RegistrySource<'a> {
    registry: &'a Registry,
    reference: Reference,
    start: std::time::Instant,
}

impl<'a> RegistrySource<'a> {
    fn new(registry: &'a Registry, reference: Reference) -> Self {
        RegistrySource {
            registry,
            reference,
            start: std::time::Instant::now(),
        }
    }

    fn at(&self, id: &str) -> Reference {
        if id.starts_with("sha256:") {
            Reference::with_digest(
                self.reference.registry().to_string(),
                self.reference.repository().to_string(),
                id.to_string(),
            )
        } else {
            Reference::with_tag(
                self.reference.registry().to_string(),
                self.reference.repository().to_string(),
                id.to_string(),
            )
        }
    }
}

impl Source for RegistrySource<'_> {
    fn referrers(&self, digest: &str) -> Result<Option<Vec<u8>>, String> {
        self.registry.referrers(&self.reference, digest)
    }

    fn tag(&self, tag: &str) -> Result<Option<(Vec<u8>, String)>, String> {
        self.registry.manifest_if_any(&self.at(tag))
    }

    fn manifest(&self, digest: &str) -> Result<Vec<u8>, String> {
        self.registry
            .manifest_if_any(&self.at(digest))?
            .map(|(body, _)| body)
            .ok_or_else(|| format!("the manifest {digest} does not exist"))
    }

    fn blob(&self, digest: &str, size: i64, max: usize) -> Result<Vec<u8>, String> {
        let descriptor = oci_client::manifest::OciDescriptor {
            digest: digest.to_string(),
            size,
            ..Default::default()
        };
        self.registry
            .pull_blob_bounded(&self.reference, &descriptor, max)
    }

    fn out_of_time(&self) -> Option<String> {
        (self.start.elapsed() > READ_BUDGET).then(|| {
            format!(
                "reading the bundles took more than {} s (the request's registry budget): the rest were not read",
                READ_BUDGET.as_secs()
            )
        })
    }
}

#[cfg(test)]
mod tests;
