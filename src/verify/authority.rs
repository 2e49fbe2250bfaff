//! One authority judged for one image digest, in policy-controller's words. `static` needs no
//! host call; `key` asks the host once per key; `keyless` once per identity (exact), or reads
//! the signing certificates first to pick the exact pairs a regular expression or a custom CA
//! accepts, and lets the host verify those.

use super::certificate::{self, CertIdentity};
use super::host::{Host, HostFailure, KeylessInfo, VerifyRequest};
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
        format!("{}@{}", self.repo, self.digest)
    }
}

pub fn evaluate(
    authority: &CompiledAuthority,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    let signature_authority = !matches!(
        authority.kind,
        AuthorityKind::StaticPass | AuthorityKind::StaticFail(_)
    );
    // An authority with attestations checks them instead of the image's signatures.
    if signature_authority && !authority.attestations.is_empty() {
        return super::attestation::evaluate(authority, image, host);
    }
    match &authority.kind {
        AuthorityKind::StaticPass => Ok(AuthorityMatch::Static),
        AuthorityKind::StaticFail(message) => {
            Err(format!("disallowed by static policy: {message}"))
        }
        AuthorityKind::Key { keys, .. } => key(keys, image, host).map_err(|reason| {
            format!(
                "signature key validation failed for authority {} for {}: {reason}",
                authority.name,
                image.name()
            )
        }),
        AuthorityKind::Keyless {
            identities,
            ca_cert,
        } => keyless(identities, ca_cert.as_deref(), image, host).map_err(|reason| {
            format!(
                "signature keyless validation failed for authority {} for {}: {reason}",
                authority.name,
                image.name()
            )
        }),
    }
}

const NO_SIGNATURES: &str = "no signatures found";

/// The first `oci/v2/verify` request this authority makes for `image` (a tag or a digest
/// reference), when it makes one before reading anything else: a key, or an exact keyless
/// identity without its own CA, and no attestations. Made on the tag, its answer tells the
/// image's digest, so no separate digest look-up is needed.
pub fn first_verify_request(authority: &CompiledAuthority, image: &str) -> Option<VerifyRequest> {
    if !authority.attestations.is_empty() {
        return None;
    }
    direct_requests(&authority.kind, image)?.into_iter().next()
}

/// The verify requests that stand for a key or exact-identity authority as they are, without
/// reading its signatures first: one per key, or one per identity. `None` for authorities whose
/// requests depend on the signing certificates (regular expressions, `ca-cert`) or that make none.
pub(super) fn direct_requests(kind: &AuthorityKind, image: &str) -> Option<Vec<VerifyRequest>> {
    match kind {
        AuthorityKind::Key { keys, .. } => {
            Some(keys.iter().map(|pem| key_request(image, pem)).collect())
        }
        AuthorityKind::Keyless {
            identities,
            ca_cert: None,
        } => identities
            .iter()
            .map(|id| {
                Some(keyless_request(
                    image,
                    id.issuer.exact()?,
                    id.subject.exact()?,
                ))
            })
            .collect(),
        _ => None,
    }
}

fn key_request(image: &str, pem: &str) -> VerifyRequest {
    VerifyRequest::SigstorePubKeyVerify {
        image: image.to_string(),
        pub_keys: vec![pem.to_string()],
        annotations: None,
    }
}

/// Any one key verifying suffices (the host would require all keys of one request).
fn key(keys: &[String], image: Image<'_>, host: &mut dyn Host) -> Result<AuthorityMatch, String> {
    let mut reasons = Vec::new();
    for pem in keys {
        let request = key_request(&image.name(), pem);
        match verified(host.verify(&request), image) {
            Ok(()) => return Ok(AuthorityMatch::Signatures),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(explain(reasons))
}

fn keyless(
    identities: &[CompiledIdentity],
    ca_cert: Option<&str>,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    let all_exact = identities
        .iter()
        .all(|i| i.issuer.exact().is_some() && i.subject.exact().is_some());
    if let (None, true) = (ca_cert, all_exact) {
        return keyless_exact(identities, image, host);
    }
    let layers = signature_layers(image, host)?;
    let mut reasons = Vec::new();
    let mut certs = Vec::new();
    for layer in &layers {
        let Some(pem) = layer.certificate.as_deref() else {
            continue;
        };
        match certificate::identity_from_pem(pem) {
            Ok(id) => certs.push((layer, pem, id)),
            Err(e) => reasons.push(format!("invalid signing certificate: {e}")),
        }
    }
    match ca_cert {
        Some(ca) => keyless_with_ca(identities, ca, &certs, image, host, reasons),
        None => keyless_candidates(identities, &certs, image, host, reasons),
    }
}

/// One host call per exact identity; on failure the signatures are read to explain it.
fn keyless_exact(
    identities: &[CompiledIdentity],
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    let mut reasons = Vec::new();
    for id in identities {
        let (Some(issuer), Some(subject)) = (id.issuer.exact(), id.subject.exact()) else {
            continue;
        };
        match verified(
            host.verify(&keyless_request(&image.name(), issuer, subject)),
            image,
        ) {
            Ok(()) => return Ok(AuthorityMatch::Signatures),
            Err(reason) => reasons.push(reason),
        }
    }
    let layers = signature_layers(image, host)?;
    let certs: Vec<CertIdentity> = layers
        .iter()
        .filter_map(|l| l.certificate.as_deref())
        .filter_map(|pem| certificate::identity_from_pem(pem).ok())
        .collect();
    let any_claimed = certs.iter().any(|c| {
        identities
            .iter()
            .any(|id| identity::matching_pair(id, c).is_some())
    });
    if !certs.is_empty() && !any_claimed {
        return Err(no_matching(certs.iter().map(identity::mismatch).collect()));
    }
    Err(explain(reasons))
}

/// Regular-expression identities: every (issuer, subject) a certificate claims and an identity
/// accepts is verified by the host exactly.
fn keyless_candidates(
    identities: &[CompiledIdentity],
    certs: &[(&SignatureLayer, &str, CertIdentity)],
    image: Image<'_>,
    host: &mut dyn Host,
    mut reasons: Vec<String>,
) -> Result<AuthorityMatch, String> {
    let mut candidates: Vec<(String, String)> = Vec::new();
    for (_, _, cert) in certs {
        let mut claimed = false;
        for id in identities {
            if let Some(pair) = identity::matching_pair(id, cert) {
                claimed = true;
                if !candidates.contains(&pair) {
                    candidates.push(pair);
                }
            }
        }
        if !claimed {
            reasons.push(identity::mismatch(cert));
        }
    }
    for (issuer, subject) in &candidates {
        match verified(
            host.verify(&keyless_request(&image.name(), issuer, subject)),
            image,
        ) {
            Ok(()) => return Ok(AuthorityMatch::Signatures),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(explain(reasons))
}

/// `keyless.ca-cert`: the leaf must chain to that CA (at signing time when a Rekor bundle gives
/// it), carry an accepted identity, and verify the signature.
fn keyless_with_ca(
    identities: &[CompiledIdentity],
    ca: &str,
    certs: &[(&SignatureLayer, &str, CertIdentity)],
    image: Image<'_>,
    host: &mut dyn Host,
    mut reasons: Vec<String>,
) -> Result<AuthorityMatch, String> {
    let chain = vec![ca.to_string()];
    for (layer, pem, cert) in certs {
        let at = layer.integrated_time.map(signatures::rfc3339);
        match host.certificate_trusted(pem, &chain, at) {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                reasons.push(format!("certificate not trusted by ca-cert: {reason}"));
                continue;
            }
            Err(reason) => {
                reasons.push(reason);
                continue;
            }
        }
        if !identities
            .iter()
            .any(|id| identity::matching_pair(id, cert).is_some())
        {
            reasons.push(identity::mismatch(cert));
            continue;
        }
        let request = VerifyRequest::SigstoreCertificateVerify {
            image: image.name(),
            certificate: pem.as_bytes().to_vec(),
            certificate_chain: Some(vec![ca.as_bytes().to_vec()]),
            require_rekor_bundle: layer.integrated_time.is_some(),
            annotations: None,
        };
        match verified(host.verify(&request), image) {
            Ok(()) => return Ok(AuthorityMatch::Signatures),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(explain(reasons))
}

pub(super) fn keyless_request(image: &str, issuer: &str, subject: &str) -> VerifyRequest {
    VerifyRequest::SigstoreKeylessVerify {
        image: image.to_string(),
        keyless: vec![KeylessInfo {
            issuer: issuer.to_string(),
            subject: subject.to_string(),
        }],
        annotations: None,
    }
}

/// The host verified some digest: it must be the one being admitted (and pinned).
pub(super) fn verified(answer: Result<String, String>, image: Image<'_>) -> Result<(), String> {
    match answer {
        Ok(digest) if digest == image.digest => Ok(()),
        Ok(digest) => Err(format!(
            "the host verified {digest}, not the admitted {}",
            image.digest
        )),
        Err(reason) => Err(reason),
    }
}

/// The signature layers of the image's `.sig` tag; a missing tag means no signatures.
fn signature_layers(image: Image<'_>, host: &mut dyn Host) -> Result<Vec<SignatureLayer>, String> {
    let tag = signatures::signature_tag(image.repo, image.digest);
    let layers = match host.oci_manifest(&tag) {
        Ok(bytes) => signatures::parse(&bytes)?,
        Err(reason) if HostFailure::of(&reason) == HostFailure::NotFound => Vec::new(),
        Err(reason) => return Err(format!("cannot read the signatures {tag}: {reason}")),
    };
    if layers.is_empty() {
        return Err(NO_SIGNATURES.to_string());
    }
    Ok(layers)
}

/// cosign's wording: an unsigned image has no signatures; otherwise none matched, and why.
fn explain(reasons: Vec<String>) -> String {
    if reasons.is_empty() || reasons.iter().any(|r| r.contains(NO_SIGNATURES)) {
        NO_SIGNATURES.to_string()
    } else {
        no_matching(reasons)
    }
}

fn no_matching(reasons: Vec<String>) -> String {
    format!("no matching signatures: {}", reasons.join("\n "))
}

#[cfg(test)]
#[path = "authority_tests.rs"]
mod tests;
