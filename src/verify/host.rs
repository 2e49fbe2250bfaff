//! The only module that calls the Kubewarden host. Every failure comes back as the host's
//! reason, to be reported as "not verified": the policy fails closed.

use serde::Deserialize;

pub trait Host {
    /// Tag -> digest (`oci/v1/manifest_digest`).
    fn manifest_digest(&mut self, image: &str) -> Result<String, String>;
}

/// The real host, through waPC.
pub struct WapcHost;

#[derive(Deserialize)]
struct DigestResponse {
    digest: String,
}

impl WapcHost {
    fn call(&self, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        kubewarden_policy_sdk::wapc_guest::host_call("kubewarden", namespace, operation, payload)
            .map_err(|e| host_reason(&e.to_string()))
    }
}

impl Host for WapcHost {
    fn manifest_digest(&mut self, image: &str) -> Result<String, String> {
        let payload = serde_json::to_vec(image).map_err(|e| e.to_string())?;
        let bytes = self.call("oci", "v1/manifest_digest", &payload)?;
        let response: DigestResponse = serde_json::from_slice(&bytes)
            .map_err(|e| format!("cannot decode the host's manifest_digest answer: {e}"))?;
        check_digest(&response.digest)?;
        Ok(response.digest)
    }
}

/// The digest the host returned is pinned into the object: it must be a well-formed sha256.
pub fn check_digest(digest: &str) -> Result<(), String> {
    let ok = digest.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    });
    if ok {
        Ok(())
    } else {
        Err(format!("the host returned an invalid digest: {digest:?}"))
    }
}

/// waPC renders host failures as `Host error: <text>`; the text is the reason users need.
fn host_reason(error: &str) -> String {
    let reason = error.strip_prefix("Host error: ").unwrap_or(error);
    if reason.is_empty() {
        "the host gave no answer".to_string()
    } else {
        reason.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_checked() {
        assert!(check_digest(&format!("sha256:{}", "a".repeat(64))).is_ok());
        assert!(check_digest("sha256:abc").is_err());
        assert!(check_digest(&format!("sha256:{}", "A".repeat(64))).is_err());
        assert!(check_digest(&format!("sha512:{}", "a".repeat(64))).is_err());
    }

    #[test]
    fn native_host_calls_fail_closed_with_a_reason() {
        let err = WapcHost.manifest_digest("nginx").unwrap_err();
        assert!(!err.is_empty());
    }
}
