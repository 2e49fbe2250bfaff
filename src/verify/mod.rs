//! How one image is judged: host calls, signing certificates, identities and authorities.

pub mod authority;
pub mod certificate;
pub mod host;
pub mod identity;
pub mod signatures;
