//! Namespace `oci`: decoding of the guest's requests, and the live registry client.

use std::path::Path;

use anyhow::{Context, Result};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use serde::Deserialize;
use tokio::runtime::Handle;

use super::fetch::{FetchError, Fetcher, Timeouts, MAX_BLOB_BYTES, MAX_LAYERS};
use super::{CallbackError, HostRequest};

/// The request types `oci/v2/verify` carries, internally tagged by `type` on the wire.
const VERIFY_TYPES: [&str; 6] = [
    "SigstorePubKeyVerify",
    "SigstoreBundleVerify",
    "SigstoreKeylessVerify",
    "SigstoreKeylessPrefixVerify",
    "SigstoreGithubActionsVerify",
    "SigstoreCertificateVerify",
];

/// `oci/v2/verify`: the wire's internally tagged object is re-tagged externally, which is how
/// [`HostRequest`] (the replay file's shape) names the same variants and fields.
fn decode_verify(payload: &[u8]) -> Result<HostRequest, CallbackError> {
    let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(payload)?;
    let kind = match object.remove("type") {
        Some(serde_json::Value::String(kind)) if VERIFY_TYPES.contains(&kind.as_str()) => kind,
        Some(other) => return Err(format!("unknown oci/v2/verify request type: {other}").into()),
        None => return Err("the oci/v2/verify request has no type".into()),
    };
    let mut tagged = serde_json::Map::new();
    tagged.insert(kind, serde_json::Value::Object(object));
    Ok(serde_json::from_value(serde_json::Value::Object(tagged))?)
}

/// `oci/v2/verify_attestations` payload (this project's capability, DESIGN.md 3.3).
#[derive(Deserialize)]
struct VerifyAttestations {
    image: String,
    predicate_type: String,
    verifier: serde_json::Value,
}

/// Decodes an `oci` operation's payload.
pub fn decode(operation: &str, payload: &[u8]) -> Result<HostRequest, CallbackError> {
    let image = || -> Result<String, CallbackError> { Ok(serde_json::from_slice(payload)?) };
    Ok(match operation {
        "v1/manifest_digest" => HostRequest::OciManifestDigest { image: image()? },
        "v1/oci_manifest" => HostRequest::OciManifest { image: image()? },
        "v1/oci_manifest_config" => HostRequest::OciManifestAndConfig { image: image()? },
        "v2/verify" => decode_verify(payload)?,
        "v2/verify_attestations" => {
            let r: VerifyAttestations = serde_json::from_slice(payload)?;
            HostRequest::SigstoreAttestationsVerify {
                image: r.image,
                predicate_type: r.predicate_type,
                verifier: r.verifier,
            }
        }
        _ => return Err(format!("unknown operation: {operation}").into()),
    })
}

/// `--sources-path` file (kwctl's sources.yml); only `insecure_sources` is used.
#[derive(Debug, Default, Deserialize)]
pub struct Sources {
    #[serde(default)]
    pub insecure_sources: Vec<String>,
}

impl Sources {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read sources file {}", path.display()))?;
        let sources: Option<Sources> = serde_yaml::from_str(&text)
            .with_context(|| format!("cannot parse sources file {}", path.display()))?;
        Ok(sources.unwrap_or_default())
    }
}

const MANIFEST_MEDIA_TYPES: &[&str] = &[
    manifest::OCI_IMAGE_MEDIA_TYPE,
    manifest::OCI_IMAGE_INDEX_MEDIA_TYPE,
    manifest::IMAGE_MANIFEST_MEDIA_TYPE,
    manifest::IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// `oci/v1/oci_manifest_config` answer, in the host's field order.
#[derive(serde::Serialize)]
struct ManifestAndConfig {
    manifest: oci_client::manifest::OciImageManifest,
    digest: String,
    config: serde_json::Value,
}

/// One registry client for the whole session (anonymous auth). Reads go through
/// [`Fetcher`] (deadlines and size caps); oci-client pushes the test fixtures.
pub struct Registry {
    client: Client,
    fetch: Fetcher,
    handle: Handle,
}

fn reference(image: &str) -> Result<Reference, String> {
    image
        .parse::<Reference>()
        .map_err(|e| format!("invalid image reference {image:?}: {e}"))
}

/// `<repo>:sha256-<hex>.<suffix>`, cosign's tag for the signatures or attestations of
/// `digest`.
pub fn cosign_tag(reference: &Reference, digest: &str, suffix: &str) -> Reference {
    Reference::with_tag(
        reference.registry().to_string(),
        reference.repository().to_string(),
        format!("{}.{suffix}", digest.replace(':', "-")),
    )
}

fn reason(err: oci_client::errors::OciDistributionError) -> String {
    super::error_chain(&err)
}

impl Registry {
    /// With the default [`Timeouts`].
    pub fn new(sources: &Sources, handle: Handle) -> Result<Self> {
        Self::with_timeouts(sources, handle, Timeouts::default())
    }

    pub fn with_timeouts(sources: &Sources, handle: Handle, timeouts: Timeouts) -> Result<Self> {
        let config = ClientConfig {
            protocol: ClientProtocol::HttpsExcept(sources.insecure_sources.clone()),
            connect_timeout: Some(timeouts.connect),
            read_timeout: Some(timeouts.read),
            ..Default::default()
        };
        Ok(Registry {
            client: Client::new(config),
            fetch: Fetcher::new(sources.insecure_sources.clone(), timeouts)
                .map_err(|e| anyhow::anyhow!(e))?,
            handle,
        })
    }

    /// Runs a read of `reference`'s registry under the total deadline.
    fn run<T>(
        &self,
        reference: &Reference,
        read: impl std::future::Future<Output = Result<T, FetchError>>,
    ) -> Result<T, FetchError> {
        self.fetch
            .run(&self.handle, reference.resolve_registry(), read)
    }

    /// Runs registry reads made by another client (the sigstore crate's) under the total
    /// deadline; the error names `reference`'s registry.
    pub fn with_deadline<T>(
        &self,
        reference: &Reference,
        read: impl std::future::Future<Output = T>,
    ) -> Result<T, String> {
        self.fetch
            .run_any(&self.handle, reference.resolve_registry(), read)
            .map_err(|e| e.to_string())
    }

    pub fn manifest_digest(&self, image: &str) -> Result<Vec<u8>, String> {
        let digest = self.digest_of(&reference(image)?)?;
        serde_json::to_vec(&serde_json::json!({ "digest": digest })).map_err(|e| e.to_string())
    }

    /// The digest `reference` resolves to (`sha256:...`).
    pub fn digest_of(&self, reference: &Reference) -> Result<String, String> {
        self.run(
            reference,
            self.fetch.manifest_digest(reference, MANIFEST_MEDIA_TYPES),
        )
        .map_err(|e| e.to_string())
    }

    /// The cosign signature manifest `<repo>:sha256-<hex>.sig` of `digest`; `None` when the
    /// tag does not exist.
    pub fn signature_manifest(
        &self,
        reference: &Reference,
        digest: &str,
    ) -> Result<Option<manifest::OciImageManifest>, String> {
        self.cosign_manifest(reference, digest, "sig")
    }

    /// The cosign manifest `<repo>:sha256-<hex>.<suffix>` (`sig`, `att`) of `digest`, at most
    /// 4 MiB with at most [`MAX_LAYERS`] layers; `None` when the tag does not
    /// exist.
    pub fn cosign_manifest(
        &self,
        reference: &Reference,
        digest: &str,
        suffix: &str,
    ) -> Result<Option<manifest::OciImageManifest>, String> {
        let tag = cosign_tag(reference, digest, suffix);
        let what = if suffix == "att" {
            "attestation"
        } else {
            "signature"
        };
        let body = match self.run(&tag, self.fetch.manifest(&tag, MANIFEST_MEDIA_TYPES)) {
            Ok((body, _digest)) => body,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(format!("cannot read the {what} manifest {tag}: {e}")),
        };
        match serde_json::from_slice::<manifest::OciManifest>(&body) {
            Ok(manifest::OciManifest::Image(m)) if m.layers.len() > MAX_LAYERS => Err(format!(
                "the {what} manifest of {} has {} layers, more than the limit of {MAX_LAYERS}",
                reference.whole(),
                m.layers.len()
            )),
            Ok(manifest::OciManifest::Image(m)) => Ok(Some(m)),
            Ok(manifest::OciManifest::ImageIndex(_)) => Err(format!(
                "the {what} manifest {tag} is an image index, not a cosign {what} manifest"
            )),
            Err(e) => Err(format!(
                "the {what} manifest {tag} is not an OCI image manifest: {e}"
            )),
        }
    }

    /// The referrers index of `digest` through the referrers API; `None` when the registry
    /// does not serve it.
    pub fn referrers(
        &self,
        reference: &Reference,
        digest: &str,
    ) -> Result<Option<Vec<u8>>, String> {
        self.run(reference, self.fetch.referrers(reference, digest))
            .map_err(|e| format!("cannot list the referrers of {digest}: {e}"))
    }

    /// A manifest (at most 4 MiB) and its digest; `None` when it does not exist.
    pub fn manifest_if_any(
        &self,
        reference: &Reference,
    ) -> Result<Option<(Vec<u8>, String)>, String> {
        match self.run(
            reference,
            self.fetch.manifest(reference, MANIFEST_MEDIA_TYPES),
        ) {
            Ok(found) => Ok(Some(found)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(format!("cannot read the manifest {reference}: {e}")),
        }
    }

    /// One blob of `reference`'s repository, at most `max_bytes` long (the download stops
    /// there), whose sha256 must be the descriptor's digest.
    pub fn pull_blob_bounded(
        &self,
        reference: &Reference,
        descriptor: &manifest::OciDescriptor,
        max_bytes: usize,
    ) -> Result<Vec<u8>, String> {
        if usize::try_from(descriptor.size).map_or(true, |size| size > max_bytes) {
            return Err(format!(
                "the blob {} is {} bytes, more than the limit of {max_bytes}",
                descriptor.digest, descriptor.size
            ));
        }
        self.run(
            reference,
            self.fetch.blob(reference, &descriptor.digest, max_bytes),
        )
        .map_err(|e| format!("cannot read the blob {}: {e}", descriptor.digest))
    }

    /// Pushes an image manifest with its layer and config blobs to `reference` (test
    /// fixtures). The manifest goes through `push_manifest_raw` with serde_json's escaping:
    /// oci-client's own `push` writes OLPC canonical JSON, whose raw newlines inside strings
    /// (cosign's PEM annotations) registries reject as invalid JSON.
    pub fn push(
        &self,
        reference: &Reference,
        layers: &[oci_client::client::ImageLayer],
        config: &oci_client::client::Config,
        manifest: &manifest::OciImageManifest,
    ) -> Result<String, String> {
        self.handle.block_on(async {
            self.client
                .auth(
                    reference,
                    &RegistryAuth::Anonymous,
                    oci_client::RegistryOperation::Push,
                )
                .await
                .map_err(reason)?;
            for (data, descriptor) in layers
                .iter()
                .map(|l| &l.data)
                .zip(&manifest.layers)
                .chain(std::iter::once((&config.data, &manifest.config)))
            {
                self.client
                    .push_blob(reference, data.clone(), &descriptor.digest)
                    .await
                    .map_err(reason)?;
            }
            let body = serde_json::to_vec(manifest).map_err(|e| e.to_string())?;
            self.client
                .push_manifest_raw(
                    reference,
                    body,
                    http::HeaderValue::from_static(manifest::OCI_IMAGE_MEDIA_TYPE),
                )
                .await
                .map_err(reason)
        })
    }

    /// Pulls every layer blob of an image manifest (test fixtures: appending to a `.sig`).
    pub fn pull_layers(
        &self,
        reference: &Reference,
        manifest: &manifest::OciImageManifest,
    ) -> Result<Vec<Vec<u8>>, String> {
        let mut blobs = Vec::new();
        for layer in &manifest.layers {
            let mut data = Vec::new();
            self.handle
                .block_on(self.client.pull_blob(reference, layer, &mut data))
                .map_err(reason)?;
            blobs.push(data);
        }
        Ok(blobs)
    }

    pub fn manifest(&self, image: &str) -> Result<Vec<u8>, String> {
        let reference = reference(image)?;
        self.run(
            &reference,
            self.fetch.manifest(&reference, MANIFEST_MEDIA_TYPES),
        )
        .map(|(body, _digest)| body)
        .map_err(|e| e.to_string())
    }

    /// The image manifest of `image` (an index resolved to this platform's entry, as
    /// oci-client does), its digest and its configuration blob.
    pub fn manifest_and_config(&self, image: &str) -> Result<Vec<u8>, String> {
        let reference = reference(image)?;
        let read = async {
            let (body, digest) = self
                .fetch
                .manifest(&reference, MANIFEST_MEDIA_TYPES)
                .await?;
            let (manifest, digest) = match parse_manifest(&body, image)? {
                manifest::OciManifest::Image(m) => (m, digest),
                manifest::OciManifest::ImageIndex(index) => {
                    let entry = oci_client::client::current_platform_resolver(&index.manifests)
                        .ok_or_else(|| {
                            FetchError::Other(format!(
                                "the image index of {image} has no entry for this platform"
                            ))
                        })?;
                    let entry_reference = reference.clone_with_digest(entry);
                    let (body, digest) = self
                        .fetch
                        .manifest(&entry_reference, MANIFEST_MEDIA_TYPES)
                        .await?;
                    match parse_manifest(&body, image)? {
                        manifest::OciManifest::Image(m) => (m, digest),
                        manifest::OciManifest::ImageIndex(_) => {
                            return Err(FetchError::Other(format!(
                                "the image index of {image} names another image index"
                            )))
                        }
                    }
                }
            };
            let config = self
                .fetch
                .blob(&reference, &manifest.config.digest, MAX_BLOB_BYTES)
                .await?;
            Ok((manifest, digest, config))
        };
        let (manifest, digest, config) = self.run(&reference, read).map_err(|e| e.to_string())?;
        let config: serde_json::Value = serde_json::from_slice(&config)
            .map_err(|e| format!("cannot parse the image configuration of {image}: {e}"))?;
        serde_json::to_vec(&ManifestAndConfig {
            manifest,
            digest,
            config,
        })
        .map_err(|e| e.to_string())
    }
}

fn parse_manifest(body: &[u8], image: &str) -> Result<manifest::OciManifest, FetchError> {
    serde_json::from_slice(body).map_err(|e| {
        FetchError::Other(format!(
            "the manifest of {image} is not an OCI manifest: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::KeylessInfo;

    #[test]
    fn decodes_v1_and_v2() {
        assert_eq!(
            decode("v1/manifest_digest", br#""busybox:1""#).unwrap(),
            HostRequest::OciManifestDigest {
                image: "busybox:1".into()
            }
        );
        assert!(decode("v1/manifest_digest", b"{}").is_err());
        let r = decode(
            "v2/verify",
            br#"{"type":"SigstoreKeylessVerify","image":"i","keyless":[{"issuer":"a","subject":"b"}],"annotations":null}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            HostRequest::SigstoreKeylessVerify {
                image: "i".into(),
                keyless: vec![KeylessInfo {
                    issuer: "a".into(),
                    subject: "b".into()
                }],
                annotations: None
            }
        );
        let r = decode(
            "v2/verify",
            br#"{"type":"SigstoreBundleVerify","image":"i","keyless":[{"issuer":"a","subject_regexp":"^b"}],"annotations":null}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            HostRequest::SigstoreBundleVerify {
                image: "i".into(),
                pub_keys: None,
                keyless: Some(vec![crate::capabilities::BundleIdentity {
                    issuer: Some("a".into()),
                    subject: None,
                    issuer_regexp: None,
                    subject_regexp: Some("^b".into()),
                }]),
                annotations: None
            }
        );
        let r = decode(
            "v2/verify_attestations",
            br#"{"image":"i@sha256:00","predicate_type":"https://cyclonedx.org/bom","verifier":{"type":"SigstorePubKeyVerify","pub_keys":["k"]}}"#,
        )
        .unwrap();
        assert!(matches!(r, HostRequest::SigstoreAttestationsVerify { .. }));
    }

    #[test]
    fn sources_file() {
        let dir = std::env::temp_dir().join(format!("cip-host-sources-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("sources.yml");
        std::fs::write(&path, "insecure_sources:\n- 127.0.0.1:5000\n").unwrap();
        assert_eq!(
            Sources::load(&path).unwrap().insecure_sources,
            vec!["127.0.0.1:5000".to_string()]
        );
        std::fs::write(&path, "").unwrap();
        assert!(Sources::load(&path).unwrap().insecure_sources.is_empty());
        std::fs::write(&path, "insecure_sources: 3").unwrap();
        assert!(Sources::load(&path).is_err());
    }
}
