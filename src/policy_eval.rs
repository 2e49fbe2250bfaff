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
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Response {
    pub passed: bool,
    pub message: Option<String>,
}

pub fn handle(request: &Request) -> Response {
    let name = request.name.as_deref().unwrap_or("ClusterImagePolicy");
    match evaluate(&request.type_, &request.policy, &request.input, name) {
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
