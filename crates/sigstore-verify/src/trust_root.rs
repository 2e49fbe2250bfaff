//! The sigstore trust root: the certificate authorities that issue signing certificates and
//! the transparency logs' keys, read from a ClientTrustConfig (or a bare TrustedRoot) JSON as
//! kwctl's `--sigstore-trust-config`, or built from a host's own trust root with
//! [`TrustRoot::new`].

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;
use sha2::Digest as _;

/// Why keyless and Rekor checks cannot run.
pub const NO_TRUST_ROOT: &str = "no sigstore trust root is configured (--sigstore-trust-config): keyless signatures and Rekor bundles cannot be verified";

/// The trust root.
#[derive(Debug, Default, Clone)]
pub struct TrustRoot {
    /// DER certificates of the certificate authorities (every certificate of every chain).
    pub fulcio_certs: Vec<Vec<u8>>,
    /// Transparency-log keys: hex key id -> DER SPKI.
    pub rekor_keys: BTreeMap<String, Vec<u8>>,
    /// RFC 3161 timestamp authorities: each chain's DER certificates, leaf first.
    pub timestamp_authorities: Vec<Vec<Vec<u8>>>,
}

/// A trust config that cannot be read; the text names the file or the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustRootError(pub String);

impl std::fmt::Display for TrustRootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TrustRootError {}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClientTrustConfigJson {
    #[serde(default)]
    trusted_root: Option<TrustedRootJson>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct TrustedRootJson {
    #[serde(default)]
    tlogs: Vec<TlogJson>,
    #[serde(default)]
    certificate_authorities: Vec<CaJson>,
    #[serde(default)]
    timestamp_authorities: Vec<CaJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TlogJson {
    public_key: PublicKeyJson,
    #[serde(default)]
    log_id: Option<LogIdJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublicKeyJson {
    #[serde(default)]
    raw_bytes: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogIdJson {
    key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CaJson {
    cert_chain: CertChainJson,
}

#[derive(Deserialize)]
struct CertChainJson {
    #[serde(default)]
    certificates: Vec<RawBytesJson>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBytesJson {
    raw_bytes: String,
}

fn b64(text: &str, what: &str) -> Result<Vec<u8>, TrustRootError> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| TrustRootError(format!("{what} is not valid base64: {e}")))
}

fn json_error(e: serde_json::Error) -> TrustRootError {
    TrustRootError(e.to_string())
}

impl TrustRoot {
    /// From a host's own trust root: DER certificates of the authorities, and the logs' keys
    /// (hex key id -> DER SPKI).
    pub fn new(fulcio_certs: Vec<Vec<u8>>, rekor_keys: BTreeMap<String, Vec<u8>>) -> Self {
        TrustRoot {
            fulcio_certs,
            rekor_keys,
            timestamp_authorities: Vec::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Self, TrustRootError> {
        let text = std::fs::read(path).map_err(|e| {
            TrustRootError(format!(
                "cannot read the sigstore trust config {}: {e}",
                path.display()
            ))
        })?;
        Self::parse(&text).map_err(|e| {
            TrustRootError(format!(
                "invalid sigstore trust config {}: {e}",
                path.display()
            ))
        })
    }

    /// A ClientTrustConfig JSON, or a bare TrustedRoot (its `mediaType` says which).
    pub fn parse(json: &[u8]) -> Result<Self, TrustRootError> {
        let value: serde_json::Value = serde_json::from_slice(json).map_err(json_error)?;
        let is_bare_root = value
            .get("mediaType")
            .and_then(|m| m.as_str())
            .is_some_and(|m| m.starts_with("application/vnd.dev.sigstore.trustedroot"));
        let root: TrustedRootJson = if is_bare_root {
            serde_json::from_value(value).map_err(json_error)?
        } else {
            let config: ClientTrustConfigJson =
                serde_json::from_value(value).map_err(json_error)?;
            config.trusted_root.ok_or_else(|| {
                TrustRootError("the ClientTrustConfig has no trustedRoot".to_string())
            })?
        };
        let mut trust = TrustRoot::default();
        for (i, tlog) in root.tlogs.iter().enumerate() {
            let Some(raw) = &tlog.public_key.raw_bytes else {
                continue;
            };
            let der = b64(raw, &format!("tlogs[{i}].publicKey.rawBytes"))?;
            let key_id = match &tlog.log_id {
                Some(id) => hex::encode(b64(&id.key_id, &format!("tlogs[{i}].logId.keyId"))?),
                None => hex::encode(sha2::Sha256::digest(&der)),
            };
            trust.rekor_keys.insert(key_id, der);
        }
        for (i, ca) in root.certificate_authorities.iter().enumerate() {
            for (j, cert) in ca.cert_chain.certificates.iter().enumerate() {
                trust.fulcio_certs.push(b64(
                    &cert.raw_bytes,
                    &format!("certificateAuthorities[{i}].certChain.certificates[{j}]"),
                )?);
            }
        }
        for (i, tsa) in root.timestamp_authorities.iter().enumerate() {
            let chain = tsa
                .cert_chain
                .certificates
                .iter()
                .enumerate()
                .map(|(j, cert)| {
                    b64(
                        &cert.raw_bytes,
                        &format!("timestampAuthorities[{i}].certChain.certificates[{j}]"),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            trust.timestamp_authorities.push(chain);
        }
        Ok(trust)
    }

    /// Can keyless certificates be checked (authorities and log keys both known)?
    pub fn is_keyless_ready(&self) -> bool {
        !self.rekor_keys.is_empty() && !self.fulcio_certs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_bare_root() {
        let root = r#"{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs":[{"publicKey":{"rawBytes":"AQID"},"logId":{"keyId":"BAU="}}],
            "certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"Bwg="}]}}]}"#;
        let bare = TrustRoot::parse(root.as_bytes()).unwrap();
        assert_eq!(bare.rekor_keys.get("0405"), Some(&vec![1, 2, 3]));
        assert_eq!(bare.fulcio_certs, vec![vec![7, 8]]);
        let config = format!(r#"{{"trustedRoot":{root}}}"#);
        let wrapped = TrustRoot::parse(config.as_bytes()).unwrap();
        assert_eq!(wrapped.rekor_keys, bare.rekor_keys);
        assert!(wrapped.is_keyless_ready());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(
            TrustRoot::parse(b"{}").unwrap_err().0,
            "the ClientTrustConfig has no trustedRoot"
        );
        let bad = r#"{"trustedRoot":{"tlogs":[{"publicKey":{"rawBytes":"%%"}}]}}"#;
        let err = TrustRoot::parse(bad.as_bytes()).unwrap_err().0;
        assert!(
            err.starts_with("tlogs[0].publicKey.rawBytes is not valid base64"),
            "{err}"
        );
        // without a log id, the key id is the key's sha256
        let no_id = r#"{"trustedRoot":{"tlogs":[{"publicKey":{"rawBytes":"AQID"}}]}}"#;
        let trust = TrustRoot::parse(no_id.as_bytes()).unwrap();
        assert_eq!(
            trust.rekor_keys.keys().next().map(String::as_str),
            Some("039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81")
        );
        assert!(!trust.is_keyless_ready());
    }
}
