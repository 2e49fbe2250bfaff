//! What is admitted: the request, the images in its object, their references and globs.

pub mod glob;
pub mod reference;
pub mod request;
pub mod workload;
