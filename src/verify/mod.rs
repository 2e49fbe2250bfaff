//! How one image is judged: host calls and authorities.

pub mod authority;
pub mod host;
