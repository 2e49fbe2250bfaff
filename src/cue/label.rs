//! Field labels as the evaluator stores them. Hidden fields (`_x`) and definitions (`#X`) live
//! in their own namespace: `_type: "x"` must never unify with the document's `"_type"` field,
//! which only the quoted label reaches. Their labels carry a NUL prefix, which no identifier can
//! contain; a data label (quoted, dynamic, a document key) that itself begins with NUL gets a
//! second one, so the two namespaces never collide.

use std::borrow::Cow;

const MARK: char = '\0';

/// The label of an identifier (a field name, a reference, a selector).
pub fn ident(name: &str) -> String {
    if name.len() > 1 && (name.starts_with('_') || name.starts_with('#')) {
        format!("{MARK}{name}")
    } else {
        name.to_string()
    }
}

/// The label of a data field: a quoted or dynamic label, a document key, a string index.
pub fn data(key: &str) -> Cow<'_, str> {
    if key.starts_with(MARK) {
        Cow::Owned(format!("{MARK}{key}"))
    } else {
        Cow::Borrowed(key)
    }
}

/// A hidden field or a definition: not data (not iterated, counted, matched or closed over).
pub fn is_internal(label: &str) -> bool {
    label
        .strip_prefix(MARK)
        .is_some_and(|r| !r.starts_with(MARK))
}

pub fn is_def(label: &str) -> bool {
    label.strip_prefix(MARK).is_some_and(|r| r.starts_with('#'))
}

/// The document key a data label stands for (`None` for hidden fields and definitions).
pub fn data_key(label: &str) -> Option<&str> {
    match label.strip_prefix(MARK) {
        Some(_) if is_internal(label) => None,
        Some(rest) => Some(rest),
        None => Some(label),
    }
}

/// The label as CUE prints it in a path: identifiers bare, other data labels quoted (a data
/// label spelled like a hidden field or definition is quoted too, as it is written).
pub fn display(label: &str) -> String {
    match data_key(label) {
        None => label.trim_start_matches(MARK).to_string(),
        Some(k) if super::lexer::is_ident(k) && !k.starts_with(['_', '#']) => k.to_string(),
        Some(k) => super::error::quote(k),
    }
}
