//! The live backend: answers requests from real registries, verifies signatures with the
//! `sigstore` crate, attestations with its key type plus rustls-webpki and x509-parser
//! ([`super::attestations`]), and certificates with rustls-webpki.

use super::oci::Registry;
use super::signatures::Verifier;
use super::{attestations, bundles, crypto, Backend, HostRequest};

pub struct Live {
    registry: Registry,
    verifier: Verifier,
}

impl Live {
    pub fn new(registry: Registry, verifier: Verifier) -> Self {
        Live { registry, verifier }
    }
}

impl Backend for Live {
    fn handle(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
        match request {
            HostRequest::OciManifestDigest { image } => self.registry.manifest_digest(image),
            HostRequest::OciManifest { image } => self.registry.manifest(image),
            HostRequest::OciManifestAndConfig { image } => self.registry.manifest_and_config(image),
            HostRequest::SigstorePubKeyVerify { .. }
            | HostRequest::SigstoreKeylessVerify { .. }
            | HostRequest::SigstoreKeylessPrefixVerify { .. }
            | HostRequest::SigstoreGithubActionsVerify { .. }
            | HostRequest::SigstoreCertificateVerify { .. } => {
                self.verifier.verify(&self.registry, request)
            }
            HostRequest::SigstoreBundleVerify {
                image,
                pub_keys,
                keyless,
                annotations,
            } => bundles::verify_signatures(
                &self.registry,
                self.verifier.trust(),
                image,
                &bundles::Wanted {
                    pub_keys: pub_keys.as_deref(),
                    keyless: keyless.as_deref(),
                    annotations: annotations.as_ref(),
                },
            ),
            HostRequest::CryptoIsCertificateTrusted { request } => {
                crypto::is_certificate_trusted(request)
            }
            HostRequest::SigstoreAttestationsVerify {
                image,
                predicate_type,
                verifier,
            } if bundles::is_bundle_verifier(verifier) => bundles::verify_attestations(
                &self.registry,
                self.verifier.trust(),
                image,
                predicate_type,
                verifier,
            ),
            HostRequest::SigstoreAttestationsVerify {
                image,
                predicate_type,
                verifier,
            } => attestations::verify_attestations(
                &self.registry,
                self.verifier.trust(),
                image,
                predicate_type,
                verifier,
            ),
        }
    }
}
