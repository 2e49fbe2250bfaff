//! wasmtime + waPC: compiles the module once, keeps one warm instance, and recreates it
//! after a guest failure (a trap or an interrupted execution leaves it unusable).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use wapc::WapcHost;
use wasmtime_provider::wasmtime;
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::capabilities::Capabilities;

/// One epoch tick.
const TICK: Duration = Duration::from_millis(100);
/// The guest text wasmtime-provider sets when an epoch deadline interrupted a call.
const INTERRUPTED: &str = "guest code interrupted, execution deadline exceeded";

/// Outcome of a failed guest call.
#[derive(Debug)]
pub enum GuestError {
    /// The epoch deadline was reached.
    Timeout,
    /// A trap, a guest error, or a host failure: the waPC error's text.
    Failure(String),
}

impl std::fmt::Display for GuestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuestError::Timeout => f.write_str(crate::response::TIMEOUT_MESSAGE),
            GuestError::Failure(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for GuestError {}

pub struct Policy {
    pre: WasmtimeEngineProviderPre,
    deadlines: Option<EpochDeadlines>,
    capabilities: Arc<Capabilities>,
    host: Mutex<Option<WapcHost>>,
    stop_ticker: Arc<AtomicBool>,
}

/// Where the wasmtime compilation cache lives.
fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CIP_HOST_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("cip-host").join("wasmtime")
}

impl Policy {
    pub fn new(
        module_bytes: &[u8],
        capabilities: Arc<Capabilities>,
        timeout: Option<Duration>,
        cache: bool,
    ) -> Result<Self> {
        let mut config = wasmtime::Config::default();
        if timeout.is_some() {
            config.epoch_interruption(true);
        }
        if cache {
            let mut cache_config = wasmtime::CacheConfig::new();
            cache_config.with_directory(cache_dir());
            match wasmtime::Cache::new(cache_config) {
                Ok(c) => {
                    config.cache(Some(c));
                }
                Err(e) => crate::warn(&format!("wasmtime cache disabled: {e}")),
            }
        }
        let engine = wasmtime::Engine::new(&config)
            .map_err(|e| anyhow!("cannot create the wasmtime engine: {e}"))?;
        let module = wasmtime::Module::new(&engine, module_bytes)
            .map_err(|e| anyhow!("cannot compile the Wasm module: {e:#}"))?;
        let deadlines = timeout.map(|t| {
            let ticks = (t.as_millis() / TICK.as_millis()).max(1) as u64;
            EpochDeadlines {
                wapc_init: ticks,
                wapc_func: ticks,
            }
        });
        let stop_ticker = Arc::new(AtomicBool::new(false));
        if deadlines.is_some() {
            let engine = engine.clone();
            let stop = stop_ticker.clone();
            std::thread::Builder::new()
                .name("cip-host-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .context("cannot start the epoch ticker thread")?;
        }
        let mut builder = WasmtimeEngineProviderBuilder::new()
            .engine(engine)
            .module(module);
        if let Some(d) = deadlines {
            builder = builder.enable_epoch_interruptions(d);
        }
        let pre = builder
            .build_pre()
            .map_err(|e| anyhow!("cannot prepare the Wasm module: {e}"))?;
        Ok(Policy {
            pre,
            deadlines,
            capabilities,
            host: Mutex::new(None),
            stop_ticker,
        })
    }

    fn instantiate(&self) -> Result<WapcHost, GuestError> {
        let engine = self
            .pre
            .rehydrate(self.deadlines)
            .map_err(|e| GuestError::Failure(format!("cannot instantiate the Wasm module: {e}")))?;
        let capabilities = self.capabilities.clone();
        let callback =
            move |_id: u64, binding: &str, namespace: &str, operation: &str, payload: &[u8]| {
                capabilities.call(binding, namespace, operation, payload)
            };
        WapcHost::new(Box::new(engine), Some(Box::new(callback))).map_err(|e| {
            let text = e.to_string();
            if text.contains("execution deadline exceeded") {
                GuestError::Timeout
            } else {
                GuestError::Failure(text)
            }
        })
    }

    pub fn drop_instance(&self) {
        if let Ok(mut slot) = self.host.lock() {
            *slot = None;
        }
    }

    /// Calls a waPC export. After any failure the instance is dropped, and the next call
    /// starts from a fresh one.
    pub fn call(&self, operation: &str, payload: &[u8]) -> Result<Vec<u8>, GuestError> {
        let mut slot = self
            .host
            .lock()
            .map_err(|_| GuestError::Failure("the Wasm instance lock is poisoned".into()))?;
        if slot.is_none() {
            *slot = Some(self.instantiate()?);
        }
        let Some(host) = slot.as_ref() else {
            return Err(GuestError::Failure("no Wasm instance".into()));
        };
        match host.call(operation, payload) {
            Ok(bytes) => Ok(bytes),
            Err(e) => {
                *slot = None;
                match &e {
                    wapc::errors::Error::GuestCallFailure(text) if text == INTERRUPTED => {
                        Err(GuestError::Timeout)
                    }
                    _ => Err(GuestError::Failure(e.to_string())),
                }
            }
        }
    }
}

impl Drop for Policy {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}
