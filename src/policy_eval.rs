//! One attestation or CIP-level policy against one JSON document, with cosign's messages; what
//! `cip-host evaluate` exposes to policy authors through the `evaluate` waPC function.

use crate::{cue, rego};
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub fn cue_failure(name: &str, error: &str) -> String {
    format!("failed evaluating cue policy for {name}: failed to evaluate the policy with error: {error}")
}

/// Compiles and evaluates; `Err` is the message policy-controller would print.
pub fn evaluate(type_: &str, policy: &str, input: &Value, name: &str) -> Result<(), String> {
    match type_ {
        "cue" => {
            let program = cue::compile(policy).map_err(|e| {
                format!("failed evaluating cue policy for {name}: failed to compile the cue policy with error: {e}")
            })?;
            program.evaluate(input).map_err(|e| cue_failure(name, &e))
        }
        "rego" => {
            // cosign compiles the module when it evaluates it: its error follows the prefix as is.
            let program = rego::compile(policy)
                .map_err(|e| format!("failed evaluating rego policy for type {name}: {e}"))?;
            program.evaluate(input).map_err(|f| f.message(name))
        }
        other => Err(format!(
            "policy type {other} is not evaluated by this version (only cue and rego)"
        )),
    }
}

#[derive(Deserialize)]
pub struct Request {
    #[serde(rename = "type")]
    pub type_: String,
    pub policy: String,
    pub input: Value,
    #[serde(default)]
    pub name: Option<String>,
    /// `cip`: a CIP-level policy over a `PolicyResult`; otherwise an attestation policy.
    #[serde(default)]
    pub kind: Option<String>,
}

/// The top-level fields of policy-controller's `PolicyResult`.
const POLICY_RESULT_FIELDS: [&str; 5] =
    ["authorityMatches", "config", "spec", "metadata", "typemeta"];

/// A CIP-level document must be a `PolicyResult`: an unknown top-level field is a typo that
/// policy-controller would never put there, so the author is told rather than the policy judged.
fn check_policy_result(input: &Value) -> Result<(), String> {
    let Some(fields) = input.as_object() else {
        return Err("a PolicyResult document must be an object".to_string());
    };
    match fields.keys().find(|k| !POLICY_RESULT_FIELDS.contains(&k.as_str())) {
        Some(unknown) => Err(format!(
            "{unknown:?} is not a PolicyResult field (authorityMatches, config, spec, metadata, typemeta)"
        )),
        None => Ok(()),
    }
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Response {
    pub passed: bool,
    pub message: Option<String>,
}

pub fn handle(request: &Request) -> Response {
    let cip = request.kind.as_deref() == Some("cip");
    let name = match &request.name {
        Some(name) if !cip => name.as_str(),
        _ => "ClusterImagePolicy",
    };
    let checked = if cip {
        check_policy_result(&request.input)
    } else {
        Ok(())
    };
    match checked.and_then(|()| evaluate(&request.type_, &request.policy, &request.input, name)) {
        Ok(()) => Response {
            passed: true,
            message: None,
        },
        Err(message) => Response {
            passed: false,
            message: Some(message),
        },
    }
}
