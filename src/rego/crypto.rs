//! `crypto.sha256`, which regorus lacks (it has no `crypto.*` builtin): supply-chain policies
//! compare digests with it, and cosign's OPA runs it. The other `crypto.*` builtins stay unknown
//! functions here (the policy fails).

use regorus::{Engine, Value};
use sha2::{Digest, Sha256};
use std::fmt::Write;

pub fn install(engine: &mut Engine) -> Result<(), String> {
    engine
        .add_extension(
            "crypto.sha256".to_string(),
            1,
            Box::new(|args: Vec<Value>| -> anyhow::Result<Value> { Ok(sha256(&args)) }),
        )
        .map_err(|e| format!("internal error: cannot register crypto.sha256: {e}"))
}

/// Lower-case hex of the SHA-256 of a string's bytes; anything else is undefined (OPA's builtin
/// errors are not strict in cosign).
fn sha256(args: &[Value]) -> Value {
    let Some(Value::String(text)) = args.first() else {
        return Value::Undefined;
    };
    let digest = Sha256::digest(text.as_bytes());
    let mut hex = String::with_capacity(64);
    for byte in digest {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    Value::from(hex)
}

#[cfg(test)]
mod tests {
    use crate::rego::compile;
    use serde_json::json;

    #[test]
    fn sha256_of_a_string() {
        let policy = "package sigstore\nisCompliant {\n  crypto.sha256(\"abc\") == \"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"\n  crypto.sha256(input.e) == \"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"\n}\n";
        let outcome =
            compile(policy).and_then(|p| p.evaluate(&json!({"e": ""})).map_err(|f| f.to_string()));
        assert_eq!(outcome, Ok(()));
    }

    #[test]
    fn sha256_of_a_number_is_undefined() {
        let policy =
            "package sigstore\ndefault isCompliant = false\nisCompliant {\n  crypto.sha256(1)\n}\n";
        let outcome =
            compile(policy).and_then(|p| p.evaluate(&json!({})).map_err(|f| f.to_string()));
        assert_eq!(
            outcome,
            Err(
                "policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'"
                    .to_string()
            )
        );
    }
}
