//! What signature and attestation authorities share: the image judged, the host requests that
//! stand for a key or an identity, cosign's layers read from a `.sig` or `.att` tag, and the
//! `ca-cert` sequence (the host trusts the leaf, then verifies with it).

use super::certificate::CertIdentity;
use super::host::{BundleIdentity, Host, HostError, HostFailure, KeylessInfo, Pem, VerifyRequest};
use super::identity;
use super::signatures::{self, SignatureLayer};
use crate::cip::compile::{AuthorityKind, CompiledAuthority, CompiledIdentity};

/// What a passing authority contributes (the CIP-level policy input, later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorityMatch {
    Static,
    Signatures,
    Attestations,
}

/// The image being judged: `registry/repo` and its digest.
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    pub repo: &'a str,
    pub digest: &'a str,
}

impl Image<'_> {
    /// `registry/repo@sha256:...`, the normalised name messages use.
    pub fn name(&self) -> String {
        [self.repo, "@", self.digest].concat()
    }
}

/// `key` or `keyless`, as policy-controller's messages name a signature authority.
pub fn kind_word(kind: &AuthorityKind) -> &'static str {
    match kind {
        AuthorityKind::Key { .. } => "key",
        _ => "keyless",
    }
}

/// The (issuer, subject) pairs of identities that are all exact; `None` when any is a regular
/// expression (its pairs come from the signing certificates).
pub fn exact_pairs(identities: &[CompiledIdentity]) -> Option<Vec<(&str, &str)>> {
    identities
        .iter()
        .map(|id| Some((id.issuer.exact()?, id.subject.exact()?)))
        .collect()
}

/// Whether any identity accepts the certificate.
pub fn accepted(identities: &[CompiledIdentity], cert: &CertIdentity) -> bool {
    identities
        .iter()
        .any(|id| identity::matching_pair(id, cert).is_some())
}

/// The requests that stand for an authority without reading its signatures first: its one
/// bundle request, or its direct requests.
pub fn requests(authority: &CompiledAuthority, image: &str) -> Option<Vec<VerifyRequest>> {
    if authority.bundle {
        return bundle_request(&authority.kind, image).map(|r| vec![r]);
    }
    direct_requests(&authority.kind, image)
}

/// `signatureFormat: bundle`: one request for all the keys or all the identities (any one
/// verifying suffices, as in policy-controller), regular expressions included: the host reads
/// the certificates inside the bundles.
pub fn bundle_request(kind: &AuthorityKind, image: &str) -> Option<VerifyRequest> {
    let (pub_keys, keyless) = match kind {
        AuthorityKind::Key { keys, .. } => (Some(keys.clone()), None),
        AuthorityKind::Keyless { identities, .. } => (
            None,
            Some(
                identities
                    .iter()
                    .map(|id| BundleIdentity {
                        issuer: id.issuer.exact().map(str::to_string),
                        subject: id.subject.exact().map(str::to_string),
                        issuer_regexp: id.issuer.pattern().map(str::to_string),
                        subject_regexp: id.subject.pattern().map(str::to_string),
                    })
                    .collect(),
            ),
        ),
        _ => return None,
    };
    Some(VerifyRequest::SigstoreBundleVerify {
        image: image.to_string(),
        pub_keys,
        keyless,
        annotations: None,
    })
}

/// The verify requests that stand for a key or exact-identity authority as they are, without
/// reading its signatures first: one per key, or one per identity. `None` for authorities whose
/// requests depend on the signing certificates (regular expressions, `ca-cert`) or that make none.
pub fn direct_requests(kind: &AuthorityKind, image: &str) -> Option<Vec<VerifyRequest>> {
    match kind {
        AuthorityKind::Key { keys, .. } => {
            Some(keys.iter().map(|pem| key_request(image, pem)).collect())
        }
        AuthorityKind::Keyless {
            identities,
            ca_cert: None,
        } => Some(
            exact_pairs(identities)?
                .into_iter()
                .map(|(issuer, subject)| keyless_request(image, issuer, subject))
                .collect(),
        ),
        _ => None,
    }
}

pub fn key_request(image: &str, pem: &Pem) -> VerifyRequest {
    VerifyRequest::SigstorePubKeyVerify {
        image: image.to_string(),
        pub_keys: vec![pem.clone()],
        annotations: None,
    }
}

pub fn keyless_request(image: &str, issuer: &str, subject: &str) -> VerifyRequest {
    VerifyRequest::SigstoreKeylessVerify {
        image: image.to_string(),
        keyless: vec![KeylessInfo {
            issuer: issuer.to_string(),
            subject: subject.to_string(),
        }],
        annotations: None,
    }
}

/// `keyless.ca-cert`: the host must trust the layer's leaf under the CA (at signing time when a
/// Rekor bundle gives it); then the request that verifies the signature with that leaf.
pub fn ca_trusted_request(
    host: &mut dyn Host,
    image: Image<'_>,
    layer: &SignatureLayer,
    pem: &str,
    ca: &str,
) -> Result<VerifyRequest, HostError> {
    let at = layer.integrated_time.map(signatures::rfc3339);
    host.certificate_trusted(pem, &[ca.to_string()], at)?;
    Ok(VerifyRequest::SigstoreCertificateVerify {
        image: image.name(),
        certificate: pem.as_bytes().to_vec(),
        certificate_chain: Some(vec![ca.as_bytes().to_vec()]),
        require_rekor_bundle: layer.integrated_time.is_some(),
        annotations: None,
    })
}

/// policy-controller's text for a leaf the host does not trust under the CA.
pub fn untrusted(error: &HostError) -> String {
    format!("certificate not trusted by ca-cert: {error}")
}

/// The host verified some digest: it must be the one being admitted (and pinned); another is an
/// answer the guest does not believe.
pub fn verified(answer: Result<String, HostError>, image: Image<'_>) -> Result<(), HostError> {
    match answer {
        Ok(digest) if digest == image.digest => Ok(()),
        Ok(digest) => Err(HostError::refused(format!(
            "the host verified {digest}, not the admitted {}",
            image.digest
        ))),
        Err(e) => Err(e),
    }
}

/// The layers of one media type under a cosign tag (`what`: "signatures" or "attestations");
/// a tag that does not exist holds none.
pub fn read_layers(
    host: &mut dyn Host,
    tag: &str,
    media_type: &str,
    what: &str,
) -> Result<Vec<SignatureLayer>, String> {
    match host.oci_manifest(tag) {
        Ok(bytes) => signatures::parse_layers(&bytes, media_type),
        Err(e) if e.kind == HostFailure::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read the {what} {tag}: {e}")),
    }
}
