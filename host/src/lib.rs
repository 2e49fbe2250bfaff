//! cip-host: a local Kubewarden host. Runs a waPC policy (`policy.wasm`) as `kwctl run`
//! does, with host capabilities served live (registries) or from a recorded session.
#![forbid(unsafe_code)]
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

pub mod annotate;
pub mod capabilities;
pub mod fixtures;
pub mod response;
mod wasm;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};

pub use capabilities::fetch::Timeouts as RegistryTimeouts;
use capabilities::live::Live;
use capabilities::oci::{Registry, Sources};
use capabilities::replay::{Recorder, Replay};
use capabilities::{Backend, Capabilities};
pub use response::{AdmissionResponse, SettingsValidationResponse, ValidationResponse};
pub use wasm::GuestError;

/// How host capabilities are served.
#[derive(Debug, Default, Clone)]
pub struct HostOptions {
    /// kwctl's sources.yml (`insecure_sources`).
    pub sources_path: Option<PathBuf>,
    /// Record the session to this file (written by [`Evaluator::finish`]).
    pub record_path: Option<PathBuf>,
    /// Answer host calls from this recorded session.
    pub replay_path: Option<PathBuf>,
    /// sigstore ClientTrustConfig JSON (used by the sigstore capabilities).
    pub sigstore_trust_config: Option<PathBuf>,
    /// Epoch deadline of one guest call; `None`: no limit.
    pub timeout: Option<Duration>,
    /// Replay the session again each time it is used up (benchmarks).
    pub replay_cyclic: bool,
    /// Deadlines of each live registry operation.
    pub registry_timeouts: RegistryTimeouts,
}

/// Engine settings that kwctl exposes as flags but that most callers leave alone.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `--allowed-host-capabilities` patterns; default `["*"]`.
    pub allowed_host_capabilities: Vec<String>,
    /// The wasmtime compilation cache (`$CIP_HOST_CACHE_DIR` or `~/.cache/cip-host/wasmtime`).
    pub wasmtime_cache: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            allowed_host_capabilities: vec!["*".to_string()],
            wasmtime_cache: true,
        }
    }
}

/// A loaded policy with its host.
pub struct Evaluator {
    policy: wasm::Policy,
    capabilities: Arc<Capabilities>,
    // Kept alive for the registry client; dropped last.
    _runtime: tokio::runtime::Runtime,
}

impl Evaluator {
    /// Compiles the module (wasmtime cache on) and builds the host.
    pub fn new(wasm_path: &Path, opts: HostOptions) -> Result<Self> {
        Self::with_engine_options(wasm_path, opts, EngineOptions::default())
    }

    pub fn with_engine_options(
        wasm_path: &Path,
        opts: HostOptions,
        engine: EngineOptions,
    ) -> Result<Self> {
        let bytes = std::fs::read(wasm_path)
            .with_context(|| format!("cannot read the policy {}", wasm_path.display()))?;
        Self::from_bytes(&bytes, opts, engine)
    }

    /// Same as [`Evaluator::with_engine_options`], from the module's bytes (binary or WAT).
    pub fn from_bytes(bytes: &[u8], opts: HostOptions, engine: EngineOptions) -> Result<Self> {
        if opts.record_path.is_some() && opts.replay_path.is_some() {
            bail!("recording and replaying host capabilities are mutually exclusive");
        }
        if let Some(path) = &opts.sigstore_trust_config {
            std::fs::metadata(path).with_context(|| {
                format!("cannot read the sigstore trust config {}", path.display())
            })?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("cannot start the tokio runtime")?;
        let backend: Box<dyn Backend> = match &opts.replay_path {
            Some(path) if opts.replay_cyclic => Box::new(Replay::load(path)?.cyclic()),
            Some(path) => Box::new(Replay::load(path)?),
            None => {
                let sources = match &opts.sources_path {
                    Some(path) => Sources::load(path)?,
                    None => Sources::default(),
                };
                let trust = match &opts.sigstore_trust_config {
                    Some(path) => Some(capabilities::signatures::TrustRoot::load(path)?),
                    None => None,
                };
                let verifier = capabilities::signatures::Verifier::new(&sources, trust)?;
                let registry = Registry::with_timeouts(
                    &sources,
                    runtime.handle().clone(),
                    opts.registry_timeouts,
                )?;
                let live = Box::new(Live::new(registry, verifier));
                match &opts.record_path {
                    Some(path) => Box::new(Recorder::new(live, path.clone())),
                    None => live,
                }
            }
        };
        let capabilities = Arc::new(Capabilities::new(engine.allowed_host_capabilities, backend));
        let policy = wasm::Policy::new(
            bytes,
            capabilities.clone(),
            opts.timeout,
            engine.wasmtime_cache,
        )?;
        Ok(Evaluator {
            policy,
            capabilities,
            _runtime: runtime,
        })
    }

    /// Calls `validate_settings`. A guest failure is `valid: false`, as in policy-evaluator.
    pub fn validate_settings(
        &self,
        settings: &serde_json::Value,
    ) -> Result<SettingsValidationResponse> {
        let payload = serde_json::to_vec(settings).context("cannot serialize the settings")?;
        match self.policy.call("validate_settings", &payload) {
            Ok(bytes) => {
                Ok(
                    serde_json::from_slice(&bytes).unwrap_or_else(|e| SettingsValidationResponse {
                        valid: false,
                        message: Some(format!(
                            "Cannot deserialize settings validation response: {e}"
                        )),
                    }),
                )
            }
            Err(e) => Ok(SettingsValidationResponse {
                valid: false,
                message: Some(format!("Error invoking settings validation callback: {e}")),
            }),
        }
    }

    /// Calls `validate` with `{"request": request, "settings": settings}` and returns the
    /// Kubernetes AdmissionResponse as kwctl prints it.
    pub fn validate(
        &self,
        request: &serde_json::Value,
        settings: &serde_json::Value,
    ) -> Result<serde_json::Value> {
        let response = self.validate_admission(request, settings)?;
        serde_json::to_value(&response).context("cannot serialize the AdmissionResponse")
    }

    /// [`Evaluator::validate`], typed (its `to_line()` is kwctl's output line).
    pub fn validate_admission(
        &self,
        request: &serde_json::Value,
        settings: &serde_json::Value,
    ) -> Result<AdmissionResponse> {
        let uid = request.get("uid").and_then(|u| u.as_str()).unwrap_or("");
        let payload = serde_json::to_vec(&serde_json::json!({
            "request": request,
            "settings": settings,
        }))
        .context("cannot serialize the validation request")?;
        let bytes = match self.policy.call("validate", &payload) {
            Ok(bytes) => bytes,
            Err(GuestError::Timeout) => {
                return Ok(AdmissionResponse::reject(
                    uid,
                    response::TIMEOUT_MESSAGE.to_string(),
                    500,
                ))
            }
            Err(GuestError::Failure(text)) => {
                return Ok(AdmissionResponse::internal_server_error(uid, text))
            }
        };
        let validation: ValidationResponse = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                return Ok(AdmissionResponse::internal_server_error(
                    uid,
                    format!("cannot deserialize the policy's validation response: {e}"),
                ))
            }
        };
        AdmissionResponse::from_validation_response(uid, request.get("object"), &validation)
    }

    /// Calls `protocol_version`; kwctl expects the JSON string `"v1"`.
    /// Forgets the warm instance: the next call starts from a new one, as every request does
    /// in policy-server.
    pub fn drop_instance(&self) {
        self.policy.drop_instance();
    }

    /// Calls a guest function with raw bytes (benchmarks, `evaluate`).
    pub fn call_guest(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>> {
        self.policy
            .call(operation, payload)
            .map_err(|e| anyhow!("guest call {operation} failed: {e}"))
    }

    /// Calls a guest function, telling a deadline from other failures.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, GuestError> {
        self.policy.call(operation, payload)
    }

    /// Host calls served so far and the time they took.
    pub fn host_stats(&self) -> capabilities::HostStats {
        self.capabilities.stats()
    }

    pub fn protocol_version(&self) -> Result<String> {
        let bytes = self
            .policy
            .call("protocol_version", &[])
            .map_err(|e| anyhow!("cannot invoke protocol_version: {e}"))?;
        serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "protocol_version returned {:?}, not a JSON string",
                String::from_utf8_lossy(&bytes)
            )
        })
    }

    /// Ends the session: writes the recording, warns about unused recorded exchanges.
    pub fn finish(self) -> Result<()> {
        self.capabilities.finish()
    }
}

fn read_yaml_or_json(path: &Path, what: &str) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    serde_yaml::from_str(&text)
        .with_context(|| format!("cannot parse the {what} file {}", path.display()))
}

/// Settings from a YAML or JSON file, or a JSON string; `{}` when none (or `null`).
pub fn load_settings(path: Option<&Path>, json: Option<&str>) -> Result<serde_json::Value> {
    let value = match (path, json) {
        (Some(_), Some(_)) => bail!("--settings-path and --settings-json are mutually exclusive"),
        (Some(path), None) => read_yaml_or_json(path, "settings")?,
        (None, Some(json)) => serde_json::from_str(json).context("cannot parse --settings-json")?,
        (None, None) => serde_json::Value::Null,
    };
    match value {
        serde_json::Value::Null => Ok(serde_json::json!({})),
        serde_json::Value::Object(_) => Ok(value),
        serde_json::Value::Array(_) => bail!("the settings must be an object, not an array"),
        other => bail!("the settings must be an object, not {other}"),
    }
}

/// An AdmissionReview (its `.request`) or a bare AdmissionRequest, YAML or JSON.
pub fn load_request(path: &Path) -> Result<serde_json::Value> {
    let value = read_yaml_or_json(path, "request")?;
    let is_review = value.get("kind").and_then(|k| k.as_str()) == Some("AdmissionReview");
    let request = if is_review {
        value
            .get("request")
            .cloned()
            .with_context(|| format!("{}: AdmissionReview without a request", path.display()))?
    } else {
        value
    };
    if !request.is_object() {
        bail!(
            "{}: the request must be an AdmissionRequest object",
            path.display()
        );
    }
    Ok(request)
}

// --- logging to stderr: CIP_HOST_LOG=error|warn|info|debug (default warn) ---

static LOG_LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);

fn level() -> u8 {
    let current = LOG_LEVEL.load(Ordering::Relaxed);
    if current != u8::MAX {
        return current;
    }
    let from_env = match std::env::var("CIP_HOST_LOG").as_deref() {
        Ok("error") => 0,
        Ok("info") => 2,
        Ok("debug") | Ok("trace") => 3,
        _ => 1,
    };
    LOG_LEVEL.store(from_env, Ordering::Relaxed);
    from_env
}

/// 0 error, 1 warn, 2 info, 3 debug.
pub fn set_log_level(level: u8) {
    LOG_LEVEL.store(level.min(3), Ordering::Relaxed);
}

pub fn warn(message: &str) {
    if level() >= 1 {
        eprintln!("WARN cip-host: {message}");
    }
}

/// Whether debug messages are shown: check it before building an expensive one.
pub fn debugging() -> bool {
    level() >= 3
}

pub fn debug(message: &str) {
    if debugging() {
        eprintln!("DEBUG cip-host: {message}");
    }
}

/// `tracing/log` from the guest: shown at debug level.
pub(crate) fn log_guest(payload: &[u8]) {
    if level() >= 3 {
        eprintln!("DEBUG policy: {}", String::from_utf8_lossy(payload));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str, text: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("cip-host-lib-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn settings_sources() {
        assert_eq!(load_settings(None, None).unwrap(), serde_json::json!({}));
        assert_eq!(
            load_settings(None, Some(r#"{"a":1}"#)).unwrap(),
            serde_json::json!({"a": 1})
        );
        let yaml = temp("s.yaml", "policies:\n- name: x\npinDigests: false\n");
        assert_eq!(
            load_settings(Some(&yaml), None).unwrap(),
            serde_json::json!({"policies": [{"name": "x"}], "pinDigests": false})
        );
        let empty = temp("e.yaml", "");
        assert_eq!(
            load_settings(Some(&empty), None).unwrap(),
            serde_json::json!({})
        );
        let list = temp("l.yaml", "- 1\n");
        assert!(load_settings(Some(&list), None).is_err());
        assert!(load_settings(None, Some("{")).is_err());
        assert!(load_settings(Some(Path::new("/nonexistent/x")), None).is_err());
    }

    #[test]
    fn requests_review_or_bare() {
        let review = temp(
            "r.json",
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","operation":"CREATE"}}"#,
        );
        assert_eq!(
            load_request(&review).unwrap(),
            serde_json::json!({"uid": "1", "operation": "CREATE"})
        );
        let bare = temp("b.yaml", "uid: '2'\noperation: DELETE\nobject: null\n");
        assert_eq!(load_request(&bare).unwrap()["uid"], "2");
        let bad = temp("x.json", "[1]");
        assert!(load_request(&bad).is_err());
        let broken = temp("y.json", "{\"uid\": ");
        assert!(load_request(&broken).is_err());
    }
}
