//! cluster-image-policy: sigstore policy-controller's ClusterImagePolicy as a Kubewarden policy.
//! This file is the waPC adapter only; the logic lives in pure modules.
#![deny(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod admission;
pub mod cip;
pub mod cip_level;
pub mod cue;
pub mod decide;
pub mod field_error;
pub mod go_json;
pub mod image;
pub mod policy_eval;
pub mod rego;
pub mod settings;
pub mod verify;

use admission::request::AdmissionRequest;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use kubewarden_policy_sdk::wapc_guest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use settings::Settings;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

#[allow(unsafe_code)] // waPC requires the exported, unmangled wapc_init symbol.
#[no_mangle]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function(
        "protocol_version",
        kubewarden_policy_sdk::protocol_version_guest,
    );
    // Not called by Kubewarden: `cip-host evaluate` uses it to run one policy as admission would.
    register_function("evaluate", evaluate);
}

thread_local! {
    /// Kubewarden reuses an instance across requests: settings are compiled once per document.
    static COMPILED: RefCell<Option<(Vec<u8>, Rc<Settings>)>> = const { RefCell::new(None) };
}

fn compiled(raw: &[u8]) -> Result<Rc<Settings>, String> {
    if let Some(hit) = COMPILED.with(|c| {
        c.borrow()
            .as_ref()
            .filter(|(bytes, _)| bytes.as_slice() == raw)
            .map(|(_, s)| Rc::clone(s))
    }) {
        return Ok(hit);
    }
    let settings = Rc::new(Settings::compile_for_admission(raw)?);
    COMPILED.with(|c| *c.borrow_mut() = Some((raw.to_vec(), Rc::clone(&settings))));
    Ok(settings)
}

/// The validation request decoded in one pass, straight into the typed request.
#[derive(Deserialize)]
struct Payload<'a> {
    request: AdmissionRequest,
    #[serde(borrow)]
    settings: Option<&'a RawValue>,
}

/// The same, loosely: when the typed pass fails, this one finds the field to name.
#[derive(Deserialize)]
struct LoosePayload<'a> {
    request: serde_json::Value,
    #[serde(borrow)]
    settings: Option<&'a RawValue>,
}

/// The SDK's `ValidationResponse`, field for field, with the mutated object carried as the
/// JSON text it was pinned in rather than rebuilt as a value.
#[derive(Serialize)]
struct Response {
    accepted: bool,
    message: Option<String>,
    code: Option<u16>,
    mutated_object: Option<Box<RawValue>>,
    audit_annotations: Option<BTreeMap<String, String>>,
    warnings: Option<Vec<String>>,
}

fn validate(payload: &[u8]) -> CallResult {
    Ok(validate_with(payload, &mut verify::host::WapcHost::new())?)
}

/// `validate` over any host: the waPC export passes the real one, benchmarks a canned one.
pub fn validate_with(payload: &[u8], host: &mut dyn verify::host::Host) -> Result<Vec<u8>, String> {
    let (request, settings) = match serde_json::from_slice::<Payload>(payload) {
        Ok(typed) => (Ok(typed.request), typed.settings),
        Err(_) => {
            let loose: LoosePayload = serde_json::from_slice(payload)
                .map_err(|e| format!("cannot decode the validation request: {e}"))?;
            (AdmissionRequest::from_value(&loose.request), loose.settings)
        }
    };
    let raw = settings.map(|s| s.get().as_bytes()).unwrap_or(b"{}");
    let response = match compiled(raw) {
        Ok(settings) => {
            let decision = match request {
                Ok(request) => decide::decide(&settings, &request, host),
                Err(errs) => decide::render(&errs, None),
            };
            Response {
                accepted: decision.allowed,
                message: decision.message,
                code: decision.code,
                mutated_object: decision.mutated,
                audit_annotations: None,
                warnings: (!decision.warnings.is_empty()).then_some(decision.warnings),
            }
        }
        Err(e) => Response {
            accepted: false,
            message: Some(format!("Provided settings are not valid: {e}")),
            code: None,
            mutated_object: None,
            audit_annotations: None,
            warnings: None,
        },
    };
    // Sized for a Pod's mutated object rather than grown from empty.
    let mut answer = Vec::with_capacity(2048);
    serde_json::to_writer(&mut answer, &response)
        .map_err(|e| format!("cannot encode the validation response: {e}"))?;
    Ok(answer)
}

fn evaluate(payload: &[u8]) -> CallResult {
    let request: policy_eval::Request = serde_json::from_slice(payload)
        .map_err(|e| format!("cannot decode the evaluation request: {e}"))?;
    Ok(serde_json::to_vec(&policy_eval::handle(&request))?)
}

fn validate_settings(payload: &[u8]) -> CallResult {
    let response = match Settings::compile(payload) {
        Ok(settings) => {
            log_warnings(&settings.warnings);
            SettingsValidationResponse {
                valid: true,
                message: (!settings.warnings.is_empty()).then(|| settings.warnings.join("\n")),
            }
        }
        Err(message) => SettingsValidationResponse {
            valid: false,
            message: Some(message),
        },
    };
    Ok(serde_json::to_vec(&response)?)
}

/// kwctl and policy-server drop the message of a valid settings answer but show the policy's
/// logs: the warnings go both ways.
fn log_warnings(warnings: &[String]) {
    if warnings.is_empty() {
        return;
    }
    let logger = slog::Logger::root(
        kubewarden_policy_sdk::logging::KubewardenDrain::new(),
        slog::o!("policy" => "cluster-image-policy"),
    );
    for warning in warnings {
        slog::warn!(logger, "{}", warning; "phase" => "settings");
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod test_host;
