//! The live backend: answers requests from real registries.

use super::oci::Registry;
use super::{Backend, HostRequest};

pub struct Live {
    registry: Registry,
}

impl Live {
    pub fn new(registry: Registry) -> Self {
        Live { registry }
    }
}

impl Backend for Live {
    fn handle(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
        match request {
            HostRequest::OciManifestDigest { image } => self.registry.manifest_digest(image),
            HostRequest::OciManifest { image } => self.registry.manifest(image),
            HostRequest::OciManifestAndConfig { image } => self.registry.manifest_and_config(image),
            other => Err(format!(
                "cip-host cannot serve this request live yet (only in replay): {other:?}"
            )),
        }
    }
}
