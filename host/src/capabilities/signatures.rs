//! Live `oci/v2/verify`: cosign signatures verified with the `sigstore` crate, with
//! Kubewarden's semantics (reference/kubewarden.md 2.2 and 3.3): every requested key or
//! identity must be satisfied by some signature layer of `<repo>:sha256-<hex>.sig`; the
//! crate checks each layer (media type, digest of the blob, the payload's
//! `docker-manifest-digest`, the Rekor bundle's SET with the trust root's log keys, the
//! certificate's chain to the trust root's authorities at signing time) and drops the layers
//! that fail; the constraints below pick among the layers it kept.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use base64::Engine as _;
use oci_client::Reference;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Deserialize;
use sha2::Digest as _;
use sigstore::cosign::signature_layers::CertificateSubject;
use sigstore::cosign::verification_constraint::{
    CertificateVerifier, PublicKeyVerifier, VerificationConstraint, VerificationConstraintVec,
};
use sigstore::cosign::{ClientBuilder, CosignCapabilities, SignatureLayer};
use sigstore::crypto::Signature;
use sigstore::registry::{Auth, OciReference};
use sigstore::trust::ManualTrustRoot;

use super::certs::{chain_check, describe_identity, url_prefix, CertNames};
use super::oci::{Registry, Sources};
use super::{HostRequest, KeylessInfo, KeylessPrefixInfo};

pub const CERT_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
pub const GITHUB_ACTIONS_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub(crate) const NO_TRUST_ROOT: &str = "no sigstore trust root is configured (--sigstore-trust-config): keyless signatures and Rekor bundles cannot be verified";

/// The trust root read from a ClientTrustConfig (or a bare TrustedRoot) JSON file.
#[derive(Debug, Default, Clone)]
pub struct TrustRoot {
    /// DER certificates of the certificate authorities (every certificate of every chain).
    pub fulcio_certs: Vec<Vec<u8>>,
    /// Transparency-log keys: hex key id -> DER SPKI.
    pub rekor_keys: BTreeMap<String, Vec<u8>>,
    /// RFC 3161 timestamp authorities: each chain's DER certificates, leaf first.
    pub timestamp_authorities: Vec<Vec<Vec<u8>>>,
}

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

fn b64(text: &str, what: &str) -> anyhow::Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| anyhow::anyhow!("{what} is not valid base64: {e}"))
}

impl TrustRoot {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the sigstore trust config {}: {e}",
                path.display()
            )
        })?;
        Self::parse(&text)
            .map_err(|e| anyhow::anyhow!("invalid sigstore trust config {}: {e}", path.display()))
    }

    pub fn parse(json: &[u8]) -> anyhow::Result<Self> {
        let value: serde_json::Value = serde_json::from_slice(json)?;
        let is_bare_root = value
            .get("mediaType")
            .and_then(|m| m.as_str())
            .is_some_and(|m| m.starts_with("application/vnd.dev.sigstore.trustedroot"));
        let root: TrustedRootJson = if is_bare_root {
            serde_json::from_value(value)?
        } else {
            let config: ClientTrustConfigJson = serde_json::from_value(value)?;
            config
                .trusted_root
                .ok_or_else(|| anyhow::anyhow!("the ClientTrustConfig has no trustedRoot"))?
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
                .collect::<anyhow::Result<Vec<_>>>()?;
            trust.timestamp_authorities.push(chain);
        }
        Ok(trust)
    }
}

/// The `oci/v2/verify` backend.
pub struct Verifier {
    client: Mutex<sigstore::cosign::Client>,
    trust: Option<TrustRoot>,
}

impl Verifier {
    pub fn new(sources: &Sources, trust: Option<TrustRoot>) -> anyhow::Result<Self> {
        let config = sigstore::registry::ClientConfig {
            protocol: sigstore::registry::ClientProtocol::HttpsExcept(
                sources.insecure_sources.clone(),
            ),
            ..Default::default()
        };
        let manual = ManualTrustRoot {
            fulcio_certs: trust
                .iter()
                .flat_map(|t| t.fulcio_certs.iter())
                .map(|der| CertificateDer::from(der.clone()))
                .collect(),
            rekor_keys: trust
                .as_ref()
                .map(|t| t.rekor_keys.clone())
                .unwrap_or_default(),
            ctfe_keys: BTreeMap::new(),
        };
        let client = ClientBuilder::default()
            .with_oci_client_config(config)
            .with_trust_repository(&manual)
            .map_err(|e| anyhow::anyhow!("invalid sigstore trust root: {e}"))?
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the sigstore client: {e}"))?;
        Ok(Verifier {
            client: Mutex::new(client),
            trust,
        })
    }

    /// The trust root given with `--sigstore-trust-config`, if any.
    pub fn trust(&self) -> Option<&TrustRoot> {
        self.trust.as_ref()
    }

    fn has_log_keys(&self) -> bool {
        self.trust
            .as_ref()
            .is_some_and(|t| !t.rekor_keys.is_empty())
    }

    fn has_authorities(&self) -> bool {
        self.trust
            .as_ref()
            .is_some_and(|t| !t.fulcio_certs.is_empty())
    }

    /// Answers a `Sigstore*Verify` request: `{"is_trusted":true,"digest":...}` or the reason.
    pub fn verify(&self, registry: &Registry, request: &HostRequest) -> Result<Vec<u8>, String> {
        let (image, annotations) = match request {
            HostRequest::SigstorePubKeyVerify {
                image, annotations, ..
            }
            | HostRequest::SigstoreKeylessVerify {
                image, annotations, ..
            }
            | HostRequest::SigstoreKeylessPrefixVerify {
                image, annotations, ..
            }
            | HostRequest::SigstoreGithubActionsVerify {
                image, annotations, ..
            }
            | HostRequest::SigstoreCertificateVerify {
                image, annotations, ..
            } => (image, annotations.clone().filter(|a| !a.is_empty())),
            other => return Err(format!("not a signature verification request: {other:?}")),
        };
        let checks = self.checks(request)?;
        let reference: OciReference = image
            .parse()
            .map_err(|e| format!("invalid image reference {image:?}: {e}"))?;
        let oci_reference: Reference = image
            .parse()
            .map_err(|e| format!("invalid image reference {image:?}: {e}"))?;

        let digest = registry.digest_of(&oci_reference)?;
        let sig_manifest = registry.signature_manifest(&oci_reference, &digest)?;
        let Some(sig_manifest) = sig_manifest else {
            return Err(format!("no signatures found for image: {image}"));
        };

        let layers = {
            let mut client = self
                .client
                .lock()
                .map_err(|_| "the sigstore client is unusable after a panic".to_string())?;
            // the sigstore crate's client takes no timeouts: the total deadline bounds its reads
            registry
                .with_deadline(
                    &oci_reference,
                    client.trusted_signature_layers(&Auth::Anonymous, &reference),
                )
                .map_err(|e| format!("cannot read the signatures of {image}: {e}"))?
                .map_err(|e| {
                    format!(
                        "cannot read the signatures of {image}: {}",
                        super::error_chain(&e)
                    )
                })?
        };

        let constraints: VerificationConstraintVec = checks
            .into_iter()
            .map(|check| {
                Box::new(Constraint {
                    check,
                    annotations: annotations.clone(),
                }) as Box<dyn VerificationConstraint>
            })
            .collect();
        match sigstore::cosign::verify_constraints(&layers, constraints.iter()) {
            Ok(()) => {
                serde_json::to_vec(&serde_json::json!({"is_trusted": true, "digest": digest}))
                    .map_err(|e| e.to_string())
            }
            Err(_) => {
                // re-evaluated only to explain what was not satisfied
                let mut reasons = Vec::new();
                for check in self.checks(request)? {
                    let c = Constraint {
                        check,
                        annotations: annotations.clone(),
                    };
                    if !layers.iter().any(|l| c.verify(l).unwrap_or(false)) {
                        reasons.push(self.explain(&c, &layers, &sig_manifest));
                    }
                }
                let layer_note = if layers.is_empty() {
                    format!(
                        " (none of the {} signature layers of {image} is valid for {digest})",
                        sig_manifest.layers.len()
                    )
                } else {
                    String::new()
                };
                Err(format!(
                    "image verification failed for {image}: {}{layer_note}",
                    reasons.join("; ")
                ))
            }
        }
    }

    fn checks(&self, request: &HostRequest) -> Result<Vec<Check>, String> {
        Ok(match request {
            HostRequest::SigstorePubKeyVerify { pub_keys, .. } => {
                if pub_keys.is_empty() {
                    return Err("no public keys given (pub_keys is empty)".into());
                }
                let count = pub_keys.len();
                pub_keys
                    .iter()
                    .enumerate()
                    .map(|(index, key)| {
                        PublicKeyVerifier::try_from(key.as_bytes())
                            .map(|verifier| Check::Key {
                                verifier,
                                index,
                                count,
                            })
                            .map_err(|e| format!("invalid public key: {}", super::error_chain(&e)))
                    })
                    .collect::<Result<_, _>>()?
            }
            HostRequest::SigstoreKeylessVerify { keyless, .. } => {
                if keyless.is_empty() {
                    return Err("no keyless identities given (keyless is empty)".into());
                }
                self.require_keyless_trust()?;
                keyless.iter().cloned().map(Check::Keyless).collect()
            }
            HostRequest::SigstoreKeylessPrefixVerify { keyless_prefix, .. } => {
                if keyless_prefix.is_empty() {
                    return Err("no keyless prefixes given (keyless_prefix is empty)".into());
                }
                self.require_keyless_trust()?;
                keyless_prefix
                    .iter()
                    .map(prefix_check)
                    .collect::<Result<_, _>>()?
            }
            HostRequest::SigstoreGithubActionsVerify { owner, repo, .. } => {
                if owner.is_empty() {
                    return Err("no GitHub owner given (owner is empty)".into());
                }
                self.require_keyless_trust()?;
                vec![Check::Github {
                    owner: owner.clone(),
                    repo: repo.clone().filter(|r| !r.is_empty()),
                }]
            }
            HostRequest::SigstoreCertificateVerify {
                certificate,
                certificate_chain,
                require_rekor_bundle,
                ..
            } => {
                if *require_rekor_bundle && !self.has_log_keys() {
                    return Err(format!("require_rekor_bundle: {NO_TRUST_ROOT}"));
                }
                let chain = match certificate_chain {
                    Some(chain) if !chain.is_empty() => Some(
                        chain
                            .iter()
                            .map(|pem| {
                                CertificateDer::from_pem_slice(pem)
                                    .map(|c| c.into_owned())
                                    .map_err(|e| {
                                        format!("invalid certificate in certificate_chain: {e}")
                                    })
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    _ => None,
                };
                let verifier =
                    CertificateVerifier::from_pem(certificate, *require_rekor_bundle, None)
                        .map_err(|e| {
                            format!(
                                "the certificate cannot be used to verify signatures: {}",
                                super::error_chain(&e)
                            )
                        })?;
                let leaf = CertificateDer::from_pem_slice(certificate)
                    .map_err(|e| format!("invalid certificate: {e}"))?
                    .into_owned();
                if let Some(chain) = &chain {
                    // reject early a certificate that chains at no time at all
                    if chain_check(&leaf, chain, &[], None).is_err()
                        && chain_check(&leaf, chain, &[], not_before(&leaf)).is_err()
                    {
                        return Err(
                            "the certificate does not chain to the given certificate_chain".into(),
                        );
                    }
                }
                vec![Check::Certificate {
                    verifier,
                    leaf,
                    chain,
                    require_rekor_bundle: *require_rekor_bundle,
                }]
            }
            other => return Err(format!("not a signature verification request: {other:?}")),
        })
    }

    fn require_keyless_trust(&self) -> Result<(), String> {
        if !self.has_log_keys() || !self.has_authorities() {
            return Err(NO_TRUST_ROOT.to_string());
        }
        Ok(())
    }

    /// Why no layer satisfies `c`, in plain words.
    fn explain(
        &self,
        c: &Constraint,
        layers: &[SignatureLayer],
        manifest: &oci_client::manifest::OciImageManifest,
    ) -> String {
        let wanted = c.check.describe();
        if let Some(annotations) = &c.annotations {
            if layers
                .iter()
                .any(|l| c.check.satisfied_by(l).unwrap_or(false))
            {
                return format!(
                    "{} {}, but none has the annotations {}",
                    c.check.positive(),
                    wanted,
                    serde_json::to_string(annotations).unwrap_or_default()
                );
            }
        }
        let mut text = format!("no signature {wanted}");
        if let Some(annotations) = &c.annotations {
            text.push_str(&format!(
                " (with the annotations {})",
                serde_json::to_string(annotations).unwrap_or_default()
            ));
        }
        // keyless: find certificates in the layers' annotations that the crate dropped
        if let Some(why) = self.dropped_certificate_reason(&c.check, manifest) {
            text.push_str(": ");
            text.push_str(&why);
        }
        text
    }

    /// For keyless checks: a certificate in the `.sig` manifest that has the wanted identity
    /// but that the crate did not accept; says why (diagnostics only: the decision is the
    /// crate's).
    fn dropped_certificate_reason(
        &self,
        check: &Check,
        manifest: &oci_client::manifest::OciImageManifest,
    ) -> Option<String> {
        if matches!(check, Check::Key { .. } | Check::Certificate { .. }) {
            return None;
        }
        let trust = self.trust.as_ref()?;
        let anchors: Vec<CertificateDer<'static>> = trust
            .fulcio_certs
            .iter()
            .map(|d| CertificateDer::from(d.clone()))
            .collect();
        let mut seen = Vec::new();
        for layer in &manifest.layers {
            let Some(annotations) = layer.annotations.as_ref() else {
                continue;
            };
            let Some(pem) = annotations.get(CERT_ANNOTATION) else {
                continue;
            };
            let Some(identity) = CertIdentity::from_pem(pem.as_bytes()) else {
                continue;
            };
            seen.push(identity.describe());
            if !check.matches_identity(&identity) {
                continue;
            }
            if !annotations.contains_key(BUNDLE_ANNOTATION) {
                return Some(format!(
                    "the signature with a certificate for {} has no Rekor bundle",
                    identity.describe()
                ));
            }
            if chain_check(&identity.der, &anchors, &[], not_before(&identity.der)).is_err() {
                return Some(
                    "the certificate does not chain to the trusted certificate authorities"
                        .to_string(),
                );
            }
            return Some(format!(
                "the signature with a certificate for {} was rejected (its Rekor bundle does not verify with the trusted transparency-log keys, its signing time is outside the certificate's validity, or the signature does not verify with the certificate's key)",
                identity.describe()
            ));
        }
        if seen.is_empty() {
            None
        } else {
            Some(format!("found certificates for {}", seen.join(", ")))
        }
    }
}

fn not_before(der: &CertificateDer<'_>) -> Option<UnixTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let secs = u64::try_from(cert.validity().not_before.timestamp()).ok()?;
    Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
        secs,
    )))
}

fn prefix_check(info: &KeylessPrefixInfo) -> Result<Check, String> {
    Ok(Check::Prefix {
        issuer: info.issuer.clone(),
        prefix: url_prefix(&info.url_prefix)?,
    })
}

/// The identity of a signing certificate, read for diagnostics.
struct CertIdentity {
    der: CertificateDer<'static>,
    issuer: Option<String>,
    subjects: Vec<String>,
}

impl CertIdentity {
    fn from_pem(pem: &[u8]) -> Option<Self> {
        let der = CertificateDer::from_pem_slice(pem).ok()?.into_owned();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).ok()?;
        // the .1.1 issuer only: what the crate reads
        let names = CertNames::read(&cert);
        Some(CertIdentity {
            issuer: names.issuer_v1,
            subjects: names.emails_and_uris,
            der,
        })
    }

    fn describe(&self) -> String {
        describe_identity(self.issuer.as_deref(), &self.subjects)
    }
}

/// One requested key or identity.
enum Check {
    Key {
        verifier: PublicKeyVerifier,
        index: usize,
        count: usize,
    },
    Keyless(KeylessInfo),
    Prefix {
        issuer: String,
        prefix: String,
    },
    Github {
        owner: String,
        repo: Option<String>,
    },
    Certificate {
        verifier: CertificateVerifier,
        leaf: CertificateDer<'static>,
        chain: Option<Vec<CertificateDer<'static>>>,
        require_rekor_bundle: bool,
    },
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl Check {
    /// "verifies with the given public key", "has a certificate for issuer X and subject Y"...
    fn describe(&self) -> String {
        match self {
            Check::Key { index, count, .. } => {
                if *count > 1 {
                    format!(
                        "verifies with the given public key (key {} of {count})",
                        index + 1
                    )
                } else {
                    "verifies with the given public key".to_string()
                }
            }
            Check::Keyless(k) => format!(
                "has a certificate for issuer {} and subject {}",
                k.issuer, k.subject
            ),
            Check::Prefix { issuer, prefix } => format!(
                "has a certificate for issuer {issuer} and a subject starting with {prefix}"
            ),
            Check::Github { owner, repo } => match repo {
                Some(repo) => {
                    format!("has a GitHub Actions certificate for the repository {owner}/{repo}")
                }
                None => format!("has a GitHub Actions certificate for the owner {owner}"),
            },
            Check::Certificate {
                require_rekor_bundle,
                ..
            } => {
                if *require_rekor_bundle {
                    "verifies with the given certificate and has a Rekor bundle whose time is within the certificate's validity".to_string()
                } else {
                    "verifies with the given certificate".to_string()
                }
            }
        }
    }

    /// "a signature" + describe, for the annotation mismatch message.
    fn positive(&self) -> &'static str {
        "a signature"
    }

    fn matches_identity(&self, identity: &CertIdentity) -> bool {
        let issuer = identity.issuer.as_deref();
        match self {
            Check::Keyless(k) => {
                issuer == Some(k.issuer.as_str()) && identity.subjects.first() == Some(&k.subject)
            }
            Check::Prefix { issuer: i, prefix } => {
                issuer == Some(i.as_str())
                    && identity
                        .subjects
                        .first()
                        .is_some_and(|s| s.starts_with(prefix.as_str()))
            }
            Check::Github { .. } => issuer == Some(GITHUB_ACTIONS_ISSUER),
            _ => false,
        }
    }

    /// Does this layer satisfy the check (without annotations)?
    fn satisfied_by(&self, layer: &SignatureLayer) -> sigstore::errors::Result<bool> {
        match self {
            Check::Key { verifier, .. } => verifier.verify(layer),
            Check::Keyless(k) => Ok(keyless_layer(layer, |issuer, subject| {
                issuer == Some(k.issuer.as_str())
                    && matches!(subject, CertificateSubject::Email(s) | CertificateSubject::Uri(s) if *s == k.subject)
            })),
            Check::Prefix { issuer: i, prefix } => Ok(keyless_layer(layer, |issuer, subject| {
                issuer == Some(i.as_str())
                    && matches!(subject, CertificateSubject::Uri(s) if s.starts_with(prefix.as_str()))
            })),
            Check::Github { owner, repo } => {
                if !keyless_layer(layer, |issuer, subject| {
                    issuer == Some(GITHUB_ACTIONS_ISSUER)
                        && matches!(subject, CertificateSubject::Uri(s) if s.starts_with("https://github.com/"))
                }) {
                    return Ok(false);
                }
                let Some(cs) = &layer.certificate_signature else {
                    return Ok(false);
                };
                let Some((o, r)) = cs
                    .github_workflow_repository
                    .as_deref()
                    .and_then(|w| w.split_once('/'))
                else {
                    return Ok(false);
                };
                Ok(o == owner && repo.as_deref().is_none_or(|want| want == r))
            }
            Check::Certificate {
                verifier,
                leaf,
                chain,
                ..
            } => {
                if !verifier.verify(layer)? {
                    return Ok(false);
                }
                match chain {
                    None => Ok(true),
                    Some(chain) => {
                        // at the signing time when a verified bundle gives one, else now
                        let time = layer.bundle.as_ref().and_then(|b| {
                            u64::try_from(b.integrated_time()).ok().map(|secs| {
                                UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs))
                            })
                        });
                        Ok(chain_check(leaf, chain, &[], time).is_ok())
                    }
                }
            }
        }
    }
}

/// A keyless layer: a certificate the crate accepted (chain, bundle, validity at the signing
/// time), whose key verifies the layer's signature, and whose issuer and subject fit.
fn keyless_layer(
    layer: &SignatureLayer,
    fits: impl Fn(Option<&str>, &CertificateSubject) -> bool,
) -> bool {
    let Some(cs) = &layer.certificate_signature else {
        return false;
    };
    if layer.bundle.is_none() || !fits(cs.issuer.as_deref(), &cs.subject) {
        return false;
    }
    let Some(signature) = &layer.signature else {
        return false;
    };
    cs.verification_key
        .verify_signature(
            Signature::Base64Encoded(signature.as_bytes()),
            &layer.raw_data,
        )
        .is_ok()
}

/// A check and the annotations the same layer must carry.
#[derive(Debug)]
struct Constraint {
    check: Check,
    annotations: Option<BTreeMap<String, String>>,
}

impl VerificationConstraint for Constraint {
    fn verify(&self, layer: &SignatureLayer) -> sigstore::errors::Result<bool> {
        if let Some(annotations) = &self.annotations {
            if !layer.simple_signing.satisfies_annotations(annotations) {
                return Ok(false);
            }
        }
        self.check.satisfied_by(layer)
    }
}
