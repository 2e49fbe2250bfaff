//! Live `oci/v2/verify_attestations` (DESIGN.md 3.3): the verification is the
//! `cip-sigstore-verify` crate's, shared with Kubewarden's host; this is its registry side
//! over cip-host's own client ([`Registry`]: sources, deadlines, size caps).

use cip_sigstore_verify::{AttestationRegistry, Layer, TrustRoot};
use oci_client::manifest::OciDescriptor;
use oci_client::Reference;
use serde_json::Value;

use super::oci::Registry;

// The fixtures sign what the library verifies.
pub use cip_sigstore_verify::cosign::{DSSE_MEDIA_TYPE, PREDICATE_TYPE_ANNOTATION};
pub use cip_sigstore_verify::dsse::{pae, Envelope, EnvelopeSignature, IN_TOTO_PAYLOAD_TYPE};

/// The image's repository on cip-host's registry client.
struct Repository<'a> {
    registry: &'a Registry,
    reference: Reference,
}

impl AttestationRegistry for Repository<'_> {
    fn attestation_layers(&self, digest: &str) -> Result<Option<Vec<Layer>>, String> {
        let manifest = self
            .registry
            .cosign_manifest(&self.reference, digest, "att")?;
        Ok(manifest.map(|m| {
            m.layers
                .into_iter()
                .map(|l| Layer {
                    media_type: l.media_type,
                    digest: l.digest,
                    size: l.size,
                    annotations: l.annotations.unwrap_or_default(),
                })
                .collect()
        }))
    }

    fn blob(&self, layer: &Layer, max_bytes: usize) -> Result<Vec<u8>, String> {
        let descriptor = OciDescriptor {
            media_type: layer.media_type.clone(),
            digest: layer.digest.clone(),
            size: layer.size,
            ..OciDescriptor::default()
        };
        // blobs are the repository's: the image reference serves as well as the .att tag
        self.registry
            .pull_blob_bounded(&self.reference, &descriptor, max_bytes)
    }
}

/// Answers `oci/v2/verify_attestations`.
pub fn verify_attestations(
    registry: &Registry,
    trust: Option<&TrustRoot>,
    image: &str,
    predicate_type: &str,
    verifier: &Value,
) -> Result<Vec<u8>, String> {
    let reference: Reference = image
        .parse()
        .map_err(|e| format!("invalid image reference {image:?}: {e}"))?;
    let repository = Repository {
        registry,
        reference,
    };
    let verified = cip_sigstore_verify::verify_attestations(
        &repository,
        trust,
        image,
        predicate_type,
        verifier,
    )?;
    serde_json::to_vec(&verified).map_err(|e| e.to_string())
}
