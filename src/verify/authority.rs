//! Key and keyless authorities judged on the image's signatures, in policy-controller's words.
//! `key` asks the host once per key; `keyless` once per identity (exact), or reads the signing
//! certificates first to pick the exact pairs a regular expression or a custom CA accepts, and
//! lets the host verify those.

use super::certificate::{self, CertIdentity};
use super::host::{Host, HostError, HostFailure, Pem};
use super::identity;
use super::signatures::{self, SignatureLayer, SIMPLE_SIGNING};
use super::verifier::{self, AuthorityMatch, Image};
use crate::cip::compile::{CompiledAuthority, CompiledIdentity};

const NO_SIGNATURES: &str = "no signatures found";

/// A `key` authority: any one key verifying suffices (the host would require all keys of one
/// request).
pub fn key(
    authority: &str,
    keys: &[Pem],
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    let mut reasons = Reasons::default();
    for pem in keys {
        let request = verifier::key_request(&image.name(), pem);
        match verifier::verified(host.verify(&request), image) {
            Ok(()) => return Ok(AuthorityMatch::Signatures),
            Err(e) => reasons.host(e),
        }
    }
    Err(format!(
        "signature key validation failed for authority {authority} for {}: {}",
        image.name(),
        reasons.explain()
    ))
}

/// `signatureFormat: bundle`: the host verifies the image's cosign v3 bundles with any of the
/// keys or for any of the identities, in one call.
pub fn bundle(
    authority: &CompiledAuthority,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    let kind = verifier::kind_word(&authority.kind);
    let failed = |reason: String| {
        format!(
            "signature {kind} validation failed for authority {} for {}: {reason}",
            authority.name,
            image.name()
        )
    };
    let Some(request) = verifier::bundle_request(&authority.kind, &image.name()) else {
        return Err(failed(
            "no key or identity to verify a bundle with".to_string(),
        ));
    };
    match verifier::verified(host.verify(&request), image) {
        Ok(()) => Ok(AuthorityMatch::Signatures),
        Err(e) if e.kind == HostFailure::CapabilityMissing => Err(failed(format!(
            "the host cannot verify cosign v3 bundles (oci/v2/verify SigstoreBundleVerify): {e}"
        ))),
        Err(e) => {
            let mut reasons = Reasons::default();
            reasons.host(e);
            Err(failed(reasons.explain()))
        }
    }
}

/// A `keyless` authority.
pub fn keyless(
    authority: &str,
    identities: &[CompiledIdentity],
    ca_cert: Option<&str>,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    keyless_signatures(identities, ca_cert, image, host).map_err(|reason| {
        format!(
            "signature keyless validation failed for authority {authority} for {}: {reason}",
            image.name()
        )
    })
}

fn keyless_signatures(
    identities: &[CompiledIdentity],
    ca_cert: Option<&str>,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    if let (None, Some(pairs)) = (ca_cert, verifier::exact_pairs(identities)) {
        return keyless_exact(identities, &pairs, image, host);
    }
    let layers = signature_layers(image, host)?;
    let mut reasons = Reasons::default();
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
    pairs: &[(&str, &str)],
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    let mut reasons = Reasons::default();
    for (issuer, subject) in pairs {
        let request = verifier::keyless_request(&image.name(), issuer, subject);
        match verifier::verified(host.verify(&request), image) {
            Ok(()) => return Ok(AuthorityMatch::Signatures),
            Err(e) => reasons.host(e),
        }
    }
    let layers = signature_layers(image, host)?;
    let certs: Vec<CertIdentity> = layers
        .iter()
        .filter_map(|l| l.certificate.as_deref())
        .filter_map(|pem| certificate::identity_from_pem(pem).ok())
        .collect();
    let any_claimed = certs.iter().any(|c| verifier::accepted(identities, c));
    if !certs.is_empty() && !any_claimed {
        return Err(no_matching(certs.iter().map(identity::mismatch).collect()));
    }
    Err(reasons.explain())
}

/// Regular-expression identities: every (issuer, subject) a certificate claims and an identity
/// accepts is verified by the host exactly.
fn keyless_candidates(
    identities: &[CompiledIdentity],
    certs: &[(&SignatureLayer, &str, CertIdentity)],
    image: Image<'_>,
    host: &mut dyn Host,
    mut reasons: Reasons,
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
        let request = verifier::keyless_request(&image.name(), issuer, subject);
        match verifier::verified(host.verify(&request), image) {
            Ok(()) => return Ok(AuthorityMatch::Signatures),
            Err(e) => reasons.host(e),
        }
    }
    Err(reasons.explain())
}

/// `keyless.ca-cert`: the leaf must chain to that CA, carry an accepted identity, and verify the
/// signature.
fn keyless_with_ca(
    identities: &[CompiledIdentity],
    ca: &str,
    certs: &[(&SignatureLayer, &str, CertIdentity)],
    image: Image<'_>,
    host: &mut dyn Host,
    mut reasons: Reasons,
) -> Result<AuthorityMatch, String> {
    for (layer, pem, cert) in certs {
        let request = match verifier::ca_trusted_request(host, image, layer, pem, ca) {
            Ok(request) => request,
            Err(e) if e.kind == HostFailure::Untrusted => {
                reasons.push(verifier::untrusted(&e));
                continue;
            }
            Err(e) => {
                reasons.host(e);
                continue;
            }
        };
        if !verifier::accepted(identities, cert) {
            reasons.push(identity::mismatch(cert));
            continue;
        }
        match verifier::verified(host.verify(&request), image) {
            Ok(()) => return Ok(AuthorityMatch::Signatures),
            Err(e) => reasons.host(e),
        }
    }
    Err(reasons.explain())
}

/// The signature layers of the image's `.sig` tag; none means the image is unsigned.
fn signature_layers(image: Image<'_>, host: &mut dyn Host) -> Result<Vec<SignatureLayer>, String> {
    let tag = signatures::signature_tag(image.repo, image.digest);
    let layers = verifier::read_layers(host, &tag, SIMPLE_SIGNING, "signatures")?;
    if layers.is_empty() {
        return Err(NO_SIGNATURES.to_string());
    }
    Ok(layers)
}

/// Why no signature verified, gathered to be told in cosign's words.
#[derive(Default)]
struct Reasons {
    texts: Vec<String>,
    /// The host said the image has no signatures at all.
    unsigned: bool,
}

impl Reasons {
    fn push(&mut self, reason: String) {
        self.texts.push(reason);
    }

    fn host(&mut self, error: HostError) {
        self.unsigned |= error.kind == HostFailure::Unsigned;
        self.texts.push(error.to_string());
    }

    /// cosign's wording: an unsigned image has no signatures; otherwise none matched, and why.
    fn explain(self) -> String {
        if self.texts.is_empty() || self.unsigned {
            NO_SIGNATURES.to_string()
        } else {
            no_matching(self.texts)
        }
    }
}

fn no_matching(reasons: Vec<String>) -> String {
    format!("no matching signatures: {}", reasons.join("\n "))
}
