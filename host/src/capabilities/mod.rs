//! Host capabilities: the waPC callback of the guest.
//!
//! A call `(binding, namespace, operation, payload)` is first checked (binding, allow-list),
//! then decoded into a [`HostRequest`] (the enum kwctl records in its session files), then
//! answered by a [`Backend`]: the live one ([`live::Live`]), a replay of a recorded session,
//! or a recorder wrapping the live one ([`replay`]). One file per namespace decodes its own
//! operations: [`oci`], [`crypto`].

pub mod attestations;
pub mod bundles;
pub mod crypto;
pub mod fetch;
pub mod live;
pub mod oci;
pub mod replay;
pub mod signatures;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Error type of the waPC host callback.
pub type CallbackError = Box<dyn std::error::Error + Send + Sync>;

/// A host capability request, named and shaped as kwctl's `CallbackRequestType`, so that its
/// YAML (externally tagged: `!OciManifestDigest\nimage: ...`) is kwctl's recorded form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HostRequest {
    OciManifestDigest {
        image: String,
    },
    OciManifest {
        image: String,
    },
    OciManifestAndConfig {
        image: String,
    },
    SigstorePubKeyVerify {
        image: String,
        pub_keys: Vec<String>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessVerify {
        image: String,
        keyless: Vec<KeylessInfo>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessPrefixVerify {
        image: String,
        keyless_prefix: Vec<KeylessPrefixInfo>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreGithubActionsVerify {
        image: String,
        owner: String,
        #[serde(default)]
        repo: Option<String>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreCertificateVerify {
        image: String,
        certificate: Vec<u8>,
        #[serde(default)]
        certificate_chain: Option<Vec<Vec<u8>>>,
        require_rekor_bundle: bool,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    /// cosign v3 bundles (OCI referrers) of an image, verified with any of the keys or for
    /// any of the identities (this project's addition to `oci/v2/verify`).
    SigstoreBundleVerify {
        image: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub_keys: Option<Vec<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keyless: Option<Vec<BundleIdentity>>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    CryptoIsCertificateTrusted {
        request: CertificateVerificationRequest,
    },
    SigstoreAttestationsVerify {
        image: String,
        predicate_type: String,
        verifier: serde_json::Value,
    },
}

// The verifier's wire types are the library's (attestations take them too).
pub use cip_sigstore_verify::{KeylessInfo, KeylessPrefixInfo};

pub use cip_sigstore_verify::bundles::BundleIdentity;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// `Pem` or `Der`.
    pub encoding: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateVerificationRequest {
    pub cert: Certificate,
    #[serde(default)]
    pub cert_chain: Option<Vec<Certificate>>,
    #[serde(default)]
    pub not_after: Option<String>,
}

/// Answers decoded requests. `Err` is the reason of the failure; the callback shows it to
/// the guest as `Callback evaluation failure: <reason>`.
pub trait Backend: Send + Sync {
    fn handle(&self, request: &HostRequest) -> Result<Vec<u8>, String>;
    /// Called once at the end of a session (writes a recording, warns about leftovers).
    fn finish(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The waPC host callback: gating, decoding, dispatch.
pub struct Capabilities {
    allowed: Vec<String>,
    backend: Box<dyn Backend>,
    calls: std::sync::atomic::AtomicU64,
    nanos: std::sync::atomic::AtomicU64,
}

/// Host calls served so far and the time spent serving them (for `cip-host bench`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostStats {
    pub calls: u64,
    pub time: std::time::Duration,
}

impl Capabilities {
    /// `allowed`: kwctl's `--allowed-host-capabilities` patterns (`*`, `oci/*`,
    /// `oci/v1/*`, `oci/v1/manifest_digest`).
    pub fn new(allowed: Vec<String>, backend: Box<dyn Backend>) -> Self {
        Capabilities {
            allowed,
            backend,
            calls: Default::default(),
            nanos: Default::default(),
        }
    }

    pub fn stats(&self) -> HostStats {
        use std::sync::atomic::Ordering;
        HostStats {
            calls: self.calls.load(Ordering::Relaxed),
            time: std::time::Duration::from_nanos(self.nanos.load(Ordering::Relaxed)),
        }
    }

    pub fn finish(&self) -> anyhow::Result<()> {
        self.backend.finish()
    }

    fn is_allowed(&self, path: &str) -> bool {
        self.allowed
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => pattern == path,
            })
    }

    /// The body of the waPC callback. Its whole time is the host's (decoding the request
    /// included), so that what `bench` reports as guest time is only the guest's own work.
    pub fn call(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, CallbackError> {
        let start = std::time::Instant::now();
        let answer = self.dispatch(binding, namespace, operation, payload);
        let spent = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.nanos
            .fetch_add(spent, std::sync::atomic::Ordering::Relaxed);
        answer
    }

    fn dispatch(
        &self,
        binding: &str,
        namespace: &str,
        operation: &str,
        payload: &[u8],
    ) -> Result<Vec<u8>, CallbackError> {
        if binding != "kubewarden" {
            return Err(format!("unknown binding: {binding}").into());
        }
        if namespace == "tracing" {
            return match operation {
                "log" => {
                    crate::log_guest(payload);
                    Ok(Vec::new())
                }
                _ => Err(format!("unknown operation: {operation}").into()),
            };
        }
        let path = format!("{namespace}/{operation}");
        if !self.is_allowed(&path) {
            return Err(format!(
                "Policy has not been granted access to the '{path}' host capability. The violation has been reported."
            )
            .into());
        }
        let request = match namespace {
            "oci" => oci::decode(operation, payload)?,
            "crypto" => crypto::decode(operation, payload)?,
            _ => return Err(format!("unknown namespace: {namespace}").into()),
        };
        if crate::debugging() {
            crate::debug(&format!("host call {path}: {request:?}"));
        }
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.backend
            .handle(&request)
            .map_err(|reason| format!("Callback evaluation failure: {reason}").into())
    }
}

/// Renders an error and its chain of causes on one line: `a: b: c`.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Echo;
    impl Backend for Echo {
        fn handle(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
            match request {
                HostRequest::OciManifestDigest { image } => Ok(image.clone().into_bytes()),
                other => Err(format!("no: {other:?}")),
            }
        }
    }

    fn caps(allowed: &[&str]) -> Capabilities {
        Capabilities::new(
            allowed.iter().map(|s| s.to_string()).collect(),
            Box::new(Echo),
        )
    }

    fn err_text(r: Result<Vec<u8>, CallbackError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn dispatch_and_errors() {
        let c = caps(&["*"]);
        assert_eq!(
            c.call("kubewarden", "oci", "v1/manifest_digest", br#""busybox""#)
                .unwrap(),
            b"busybox"
        );
        assert_eq!(
            err_text(c.call("other", "oci", "v1/manifest_digest", b"")),
            "unknown binding: other"
        );
        assert_eq!(
            err_text(c.call("kubewarden", "net", "v1/dns_lookup_host", b"")),
            "unknown namespace: net"
        );
        assert_eq!(
            err_text(c.call("kubewarden", "oci", "v9/x", b"")),
            "unknown operation: v9/x"
        );
        assert_eq!(
            err_text(c.call("kubewarden", "tracing", "nope", b"")),
            "unknown operation: nope"
        );
        assert!(c
            .call("kubewarden", "tracing", "log", b"{}")
            .unwrap()
            .is_empty());
        assert!(
            err_text(c.call("kubewarden", "oci", "v1/oci_manifest", br#""a""#))
                .starts_with("Callback evaluation failure: no: OciManifest")
        );
    }

    #[test]
    fn gating() {
        let denied = "Policy has not been granted access to the 'oci/v1/manifest_digest' host capability. The violation has been reported.";
        for (patterns, allowed) in [
            (&["*"][..], true),
            (&["oci/*"][..], true),
            (&["oci/v1/*"][..], true),
            (&["oci/v1/manifest_digest"][..], true),
            (&["oci/v2/*"][..], false),
            (&["crypto/*", "oci/v1/oci_manifest"][..], false),
            (&[][..], false),
        ] {
            let r = caps(patterns).call("kubewarden", "oci", "v1/manifest_digest", br#""x""#);
            if allowed {
                assert!(r.is_ok(), "{patterns:?}");
            } else {
                assert_eq!(err_text(r), denied, "{patterns:?}");
            }
        }
        // tracing is never gated
        assert!(caps(&[])
            .call("kubewarden", "tracing", "log", b"{}")
            .is_ok());
    }
}
