//! How Go's `encoding/json` words a value that does not fit its Go type: cosign's and
//! go-containerregistry's decoders are Go, and their messages reach users as they are.

use serde_json::Value;

/// The JSON kind Go names in an `UnmarshalTypeError`.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `json: cannot unmarshal <kind> into <into> of type <go_type>`, `into` being
/// `Go struct field T.f` or `Go value`.
pub fn unmarshal_error(value: &Value, into: &str, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into {into} of type {go_type}",
        kind(value)
    )
}
