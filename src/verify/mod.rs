//! How one image is judged: host calls, signing certificates, identities and authorities.

pub mod attestation;
pub mod authority;
pub mod certificate;
pub mod details;
pub mod host;
pub mod identity;
pub mod judge;
pub mod memo;
pub mod signatures;
pub mod statement;
pub mod verifier;
