//! One authority judged for one image digest: `static` needs no host call, an authority with
//! attestations checks them (attestation.rs) instead of the image's signatures (authority.rs).

use super::host::{Host, VerifyRequest};
use super::verifier::{self, AuthorityMatch, Image};
use super::{attestation, authority};
use crate::cip::compile::{AuthorityKind, CompiledAuthority};

pub fn evaluate(
    authority: &CompiledAuthority,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    match &authority.kind {
        AuthorityKind::StaticPass => Ok(AuthorityMatch::Static),
        AuthorityKind::StaticFail(message) => {
            Err(format!("disallowed by static policy: {message}"))
        }
        _ if !authority.attestations.is_empty() => attestation::evaluate(authority, image, host),
        _ if authority.bundle => authority::bundle(authority, image, host),
        AuthorityKind::Key { keys, .. } => authority::key(&authority.name, keys, image, host),
        AuthorityKind::Keyless {
            identities,
            ca_cert,
        } => authority::keyless(&authority.name, identities, ca_cert.as_deref(), image, host),
    }
}

/// The first `oci/v2/verify` request this authority makes for `image` (a tag or a digest
/// reference), when it makes one before reading anything else: a key, or an exact keyless
/// identity without its own CA, and no attestations. Made on the tag, its answer tells the
/// image's digest, so no separate digest look-up is needed.
pub fn first_verify_request(authority: &CompiledAuthority, image: &str) -> Option<VerifyRequest> {
    if !authority.attestations.is_empty() {
        return None;
    }
    verifier::requests(authority, image)?.into_iter().next()
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
