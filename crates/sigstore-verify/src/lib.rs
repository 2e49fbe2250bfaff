//! cosign attestations verified for a Kubewarden host: the answer to
//! `oci/v2/verify_attestations` (DESIGN.md 3.3), for `cip-host` and for Kubewarden's own
//! callback handler alike.
//!
//! The caller brings its registry client (behind [`AttestationRegistry`], or driving
//! [`AttestationsRequest`] step by step when its client is async: its sources, insecure
//! registries, deadlines and size caps stay its own) and its sigstore trust root
//! ([`TrustRoot`]); this crate does the rest by hand, because the `sigstore` crate has no
//! public API for cosign's `.att` DSSE layers: the envelope and its signature ([`dsse`]), the
//! signing certificate's identity and chain ([`identity`], [`chain`]), the Rekor bundle's SET
//! and its binding to this envelope and signer, the in-toto statement's subject and predicate
//! type ([`statement`]), each under a bound of [`limits`].
//!
//! cosign v3's Sigstore bundles (stored as OCI referrers, `SigstoreBundleVerify`) are verified
//! by [`bundles`], from the bundle bytes and the trust root alone: DSSE or message signature,
//! Rekor v1 SET or v2 inclusion proof and checkpoint, RFC 3161 timestamps, the keyless
//! certificate at the trusted time. Its registry reads go through [`bundles::Source`].

#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

mod attestations;
pub mod bundles;
pub mod chain;
mod check;
pub mod cosign;
pub mod dsse;
pub mod identity;
mod leaf;
pub mod limits;
mod rekor;
pub mod statement;
mod trust_root;
mod verifier;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;

pub use attestations::{
    verify_attestations, AttestationRegistry, AttestationsRequest, Layer, Verified,
};
pub use statement::Statement;
pub use trust_root::{TrustRoot, TrustRootError, NO_TRUST_ROOT};
pub use verifier::{KeylessInfo, KeylessPrefixInfo, VerifierRequest};
