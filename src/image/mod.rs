//! Image references and image globs: parsed once from the settings and once per admission, so
//! they sit apart from both `cip/` and `admission/`.

pub mod glob;
pub mod reference;
