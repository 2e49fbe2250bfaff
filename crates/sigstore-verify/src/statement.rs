//! The in-toto statement inside a verified envelope: its type, its `predicateType`, and that
//! its `subject` names the image. Read from the signed payload only, never from the layer's
//! annotations (threats A1, A2, A7).

use serde_json::Value;

/// The statement types accepted in `_type`.
pub const STATEMENT_TYPES: &[&str] = &[
    "https://in-toto.io/Statement/v0.1",
    "https://in-toto.io/Statement/v1",
];

/// A statement about the image.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The whole statement, as signed.
    pub json: Value,
    pub predicate_type: String,
}

/// Reads the signed `payload` as a statement whose subject includes `sha256:<digest_hex>`
/// (lowercase hex).
pub fn read(payload: &[u8], digest_hex: &str) -> Result<Statement, String> {
    let statement: Value = serde_json::from_slice(payload)
        .map_err(|_| "the signed payload is not JSON".to_string())?;
    let Some(object) = statement.as_object() else {
        return Err("the signed payload is not an in-toto statement".to_string());
    };
    let statement_type = object.get("_type").and_then(Value::as_str).unwrap_or("");
    if !STATEMENT_TYPES.contains(&statement_type) {
        return Err(format!(
            "the signed payload is not an in-toto statement (_type {statement_type:?})"
        ));
    }
    let Some(predicate_type) = object
        .get("predicateType")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    else {
        return Err("the statement has no predicateType".to_string());
    };
    let subjects = object
        .get("subject")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let about_image = subjects.iter().any(|s| {
        s.pointer("/digest/sha256")
            .and_then(Value::as_str)
            .is_some_and(|d| d.eq_ignore_ascii_case(digest_hex))
    });
    if !about_image {
        return Err(format!(
            "the statement's subject does not include sha256:{digest_hex}"
        ));
    }
    let predicate_type = predicate_type.to_string();
    Ok(Statement {
        json: statement,
        predicate_type,
    })
}
