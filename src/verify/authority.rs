//! One authority judged for one image (by digest). `static` needs no host call.

use super::host::Host;
use crate::cip::compile::{AuthorityKind, CompiledAuthority};

/// What a passing authority contributes (the CIP-level policy input, later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorityMatch {
    Static,
}

/// `reference` is the normalised `registry/repo@sha256:...` name of the image.
pub fn evaluate(
    authority: &CompiledAuthority,
    reference: &str,
    _host: &mut dyn Host,
) -> Result<AuthorityMatch, String> {
    if !authority.attestations.is_empty()
        && !matches!(
            authority.kind,
            AuthorityKind::StaticPass | AuthorityKind::StaticFail(_)
        )
    {
        return Err(format!(
            "attestation validation failed for authority {} for {reference}: attestations are not supported by this version of cluster-image-policy",
            authority.name
        ));
    }
    match &authority.kind {
        AuthorityKind::StaticPass => Ok(AuthorityMatch::Static),
        AuthorityKind::StaticFail(message) => Err(format!("disallowed by static policy: {message}")),
        AuthorityKind::Key { .. } => Err(format!(
            "signature key validation failed for authority {} for {reference}: key authorities are not supported by this version of cluster-image-policy",
            authority.name
        )),
        AuthorityKind::Keyless { .. } => Err(format!(
            "signature keyless validation failed for authority {} for {reference}: keyless authorities are not supported by this version of cluster-image-policy",
            authority.name
        )),
    }
}
