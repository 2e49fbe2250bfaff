//! One admission request asks the host each signature question once: several policies with the
//! same key, or several containers of the same image, share one `oci/v2/verify` answer. The
//! answer to a verification made on a tag is also remembered for the same request made on the
//! digest it verified, so the authority that needs it does not ask again.

use super::host::{Host, HostError, VerifyRequest};
use serde_json::Value;
use std::collections::BTreeMap;

pub struct MemoHost<'a> {
    inner: &'a mut dyn Host,
    verify: BTreeMap<VerifyRequest, Result<String, HostError>>,
}

impl<'a> MemoHost<'a> {
    pub fn new(inner: &'a mut dyn Host) -> Self {
        MemoHost {
            inner,
            verify: BTreeMap::new(),
        }
    }

    /// A verification asked on a tag (`repo:tag`), to learn the image's digest: it is not
    /// remembered under the tag (authorities ask about digests, and each tag is resolved once),
    /// but a success is, under the same request about `repo@digest`.
    pub fn verify_tag(&mut self, request: &VerifyRequest, repo: &str) -> Result<String, HostError> {
        let digest = self.inner.verify(request)?;
        let at_digest = request.with_image(&[repo, "@", &digest].concat());
        self.verify.insert(at_digest, Ok(digest.clone()));
        Ok(digest)
    }
}

impl Host for MemoHost<'_> {
    fn manifest_digest(&mut self, image: &str) -> Result<String, HostError> {
        self.inner.manifest_digest(image)
    }

    fn oci_manifest(&mut self, image: &str) -> Result<Vec<u8>, HostError> {
        self.inner.oci_manifest(image)
    }

    fn oci_manifest_config(&mut self, image: &str) -> Result<Vec<u8>, HostError> {
        self.inner.oci_manifest_config(image)
    }

    fn verify(&mut self, request: &VerifyRequest) -> Result<String, HostError> {
        if let Some(answer) = self.verify.get(request) {
            return answer.clone();
        }
        let answer = self.inner.verify(request);
        self.verify.insert(request.clone(), answer.clone());
        answer
    }

    fn verify_attestations(
        &mut self,
        image: &str,
        predicate_type: &str,
        verifier: &VerifyRequest,
    ) -> Result<Vec<Value>, HostError> {
        self.inner
            .verify_attestations(image, predicate_type, verifier)
    }

    fn certificate_trusted(
        &mut self,
        certificate_pem: &str,
        chain_pem: &[String],
        not_after: Option<String>,
    ) -> Result<(), HostError> {
        self.inner
            .certificate_trusted(certificate_pem, chain_pem, not_after)
    }
}
