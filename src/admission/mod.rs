//! What is admitted: the request and the images in its object.

pub mod object;
pub mod request;
pub mod workload;
