//! The live backend: answers requests from real registries, verifies signatures with the
//! `sigstore` crate and certificates with rustls-webpki.

use super::oci::Registry;
use super::signatures::Verifier;
use super::{crypto, Backend, HostRequest};

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
            HostRequest::CryptoIsCertificateTrusted { request } => {
                crypto::is_certificate_trusted(request)
            }
            HostRequest::SigstoreAttestationsVerify { .. } => Err(
                "cip-host cannot serve oci/v2/verify_attestations live yet (only in replay)"
                    .to_string(),
            ),
        }
    }
}
