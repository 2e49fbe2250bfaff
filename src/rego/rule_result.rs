//! One `{result, error, warning}` element as cosign reads it: Go's `encoding/json` decodes it into
//! `CosignRuleResult{Warning, Error string; Result bool}`. So a key names a field when it folds to
//! the field's name (Go matches names case-insensitively: `Result` and `RESULT` are `result`), a
//! later key overwrites an earlier one, `null` leaves a field unset, unknown keys are ignored, and
//! a value of another type is a decoding error worded as Go words it.

use serde_json::{Map, Value};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RuleResult {
    pub result: bool,
    pub error: String,
    pub warning: String,
}

/// `Err` is Go's `UnmarshalTypeError` text for the first mistyped field.
pub fn decode(fields: &Map<String, Value>) -> Result<RuleResult, String> {
    let mut decoded = RuleResult::default();
    let mut first_error = None;
    // Go reads the keys in the order OPA marshals them: sorted by their bytes.
    let mut keys: Vec<&String> = fields.keys().collect();
    keys.sort();
    for key in keys {
        let (Some(field), Some(value)) = (field_of(key), fields.get(key)) else {
            continue;
        };
        match (field, value) {
            (_, Value::Null) => {}
            ("result", Value::Bool(b)) => decoded.result = *b,
            ("error", Value::String(s)) => decoded.error = s.clone(),
            ("warning", Value::String(s)) => decoded.warning = s.clone(),
            (field, other) => {
                let want = if field == "result" { "bool" } else { "string" };
                first_error.get_or_insert_with(|| {
                    crate::go_json::unmarshal_error(
                        other,
                        &format!("Go struct field CosignRuleResult.{field}"),
                        want,
                    )
                });
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(decoded),
    }
}

fn field_of(key: &str) -> Option<&'static str> {
    let folded = fold(key);
    ["result", "error", "warning"]
        .into_iter()
        .find(|name| fold(name) == folded)
}

/// Go's `foldName`: ASCII letters upper-cased, and the two non-ASCII letters whose Unicode fold
/// set holds an ASCII letter (long s, Kelvin sign) mapped to it; other letters cannot fold to
/// these ASCII field names.
fn fold(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '\u{17F}' => 'S',
            '\u{212A}' => 'K',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    fn run(value: Value) -> Result<RuleResult, String> {
        match value {
            Value::Object(fields) => decode(&fields),
            _ => Err("not an object".to_string()),
        }
    }

    fn ok(result: bool, error: &str, warning: &str) -> Result<RuleResult, String> {
        Ok(RuleResult {
            result,
            error: error.to_string(),
            warning: warning.to_string(),
        })
    }

    #[rstest]
    #[case::plain(json!({"result": true, "error": "e", "warning": "w"}), ok(true, "e", "w"))]
    #[case::capitalised(json!({"Result": true, "ERROR": "e", "Warning": "w"}), ok(true, "e", "w"))]
    #[case::long_s(json!({"re\u{17F}ult": true}), ok(true, "", ""))]
    #[case::later_key_wins(json!({"Result": false, "result": true}), ok(true, "", ""))]
    #[case::null_is_unset(json!({"result": null, "error": null}), ok(false, "", ""))]
    #[case::unknown_keys(json!({"results": true, "reason": 1}), ok(false, "", ""))]
    #[case::result_string(
        json!({"result": "true"}),
        Err("json: cannot unmarshal string into Go struct field CosignRuleResult.result of type bool".to_string())
    )]
    #[case::error_number(
        json!({"error": 42}),
        Err("json: cannot unmarshal number into Go struct field CosignRuleResult.error of type string".to_string())
    )]
    #[case::warning_object(
        json!({"Warning": {"a": 1}}),
        Err("json: cannot unmarshal object into Go struct field CosignRuleResult.warning of type string".to_string())
    )]
    #[case::first_error_kept(
        json!({"error": [1], "result": 1}),
        Err("json: cannot unmarshal array into Go struct field CosignRuleResult.error of type string".to_string())
    )]
    fn decodes_as_go(#[case] value: Value, #[case] want: Result<RuleResult, String>) {
        assert_eq!(run(value), want);
    }
}
