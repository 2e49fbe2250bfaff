//! The ClusterImagePolicy model: serde types, validation, compilation.

pub mod compile;
pub mod index;
pub mod keys;
pub mod regex_compat;
pub mod spec;
pub mod validate;
