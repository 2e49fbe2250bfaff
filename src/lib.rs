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
use serde::Deserialize;
use serde_json::value::RawValue;
use settings::Settings;
use std::cell::RefCell;
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

/// The SDK's `ValidationResponse`, field for field and in its order, written by hand so that
/// the mutated object goes out as the JSON text it was pinned in rather than rebuilt as a value.
fn encode_response(
    accepted: bool,
    message: Option<&str>,
    code: Option<u16>,
    mutated_object: Option<&str>,
    warnings: &[String],
) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(256 + mutated_object.map_or(0, str::len));
    out.extend_from_slice(b"{\"accepted\":");
    write_json(&mut out, &accepted)?;
    out.extend_from_slice(b",\"message\":");
    write_json(&mut out, &message)?;
    out.extend_from_slice(b",\"code\":");
    write_json(&mut out, &code)?;
    out.extend_from_slice(b",\"mutated_object\":");
    out.extend_from_slice(mutated_object.unwrap_or("null").as_bytes());
    out.extend_from_slice(b",\"audit_annotations\":null,\"warnings\":");
    write_json(&mut out, &(!warnings.is_empty()).then_some(warnings))?;
    out.push(b'}');
    Ok(out)
}

fn write_json<T: serde::Serialize>(out: &mut Vec<u8>, value: &T) -> Result<(), String> {
    serde_json::to_writer(out, value)
        .map_err(|e| format!("cannot encode the validation response: {e}"))
}

fn validate(payload: &[u8]) -> CallResult {
    Ok(validate_with(payload, &mut verify::host::WapcHost::new())?)
}

/// `validate` over any host: the waPC export passes the real one, benchmarks a canned one.
pub fn validate_with(payload: &[u8], host: &mut dyn verify::host::Host) -> Result<Vec<u8>, String> {
    let (request, settings) = match serde_json::from_slice::<Payload>(payload) {
        Ok(typed) => (Ok(typed.request), typed.settings),
        Err(_) => match serde_json::from_slice::<LoosePayload>(payload) {
            Ok(loose) => (AdmissionRequest::from_value(&loose.request), loose.settings),
            // Denied, not an error: a request the policy cannot read is never admitted.
            Err(e) => {
                let message = format!("cannot decode the validation request: {e}");
                return encode_response(false, Some(&message), None, None, &[]);
            }
        },
    };
    let raw = settings.map(|s| s.get().as_bytes()).unwrap_or(b"{}");
    match compiled(raw) {
        Ok(settings) => {
            let decision = match request {
                Ok(request) => decide::decide(&settings, &request, host),
                Err(errs) => decide::render(&errs, None),
            };
            encode_response(
                decision.allowed,
                decision.message.as_deref(),
                decision.code,
                decision.mutated.as_deref(),
                &decision.warnings,
            )
        }
        Err(e) => encode_response(
            false,
            Some(&format!("Provided settings are not valid: {e}")),
            None,
            None,
            &[],
        ),
    }
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
mod tests {
    use super::encode_response;
    use kubewarden_policy_sdk::response::ValidationResponse;

    /// The hand-written response is the SDK's, byte for byte.
    /// A request the typed pass refuses and too deep to decode loosely is denied with why.
    #[test]
    fn an_unreadable_request_is_denied() {
        let deep = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let payload = format!(r#"{{"request":{{"uid":1,"object":{deep}}},"settings":{{}}}}"#);
        let mut host = crate::verify::host::WapcHost::over(|_, _, _| Err("no host".into()));
        let answer = super::validate_with(payload.as_bytes(), &mut host).unwrap();
        let answer: serde_json::Value = serde_json::from_slice(&answer).unwrap();
        assert_eq!(answer["accepted"], false);
        assert!(answer["message"]
            .as_str()
            .unwrap()
            .starts_with("cannot decode the validation request: recursion limit exceeded"));
    }

    #[test]
    fn the_response_is_the_sdks() {
        let object = r#"{"kind":"Pod","spec":{"containers":[{"image":"a@sha256:1"}]}}"#;
        let warnings = ["no matching policies: \"x\"\n".to_string()];
        for (accepted, message, code, mutated, warnings) in [
            (true, None, None, Some(object), &warnings[..]),
            (
                false,
                Some("validation failed: \"é\"\n"),
                Some(400),
                None,
                &[][..],
            ),
            (true, None, None, None, &[][..]),
        ] {
            let sdk = ValidationResponse {
                accepted,
                message: message.map(str::to_string),
                code,
                mutated_object: mutated.map(|m| serde_json::from_str(m).unwrap()),
                audit_annotations: None,
                warnings: (!warnings.is_empty()).then(|| warnings.to_vec()),
            };
            let ours = encode_response(accepted, message, code, mutated, warnings).unwrap();
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&sdk).unwrap()
            );
        }
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod test_host;
