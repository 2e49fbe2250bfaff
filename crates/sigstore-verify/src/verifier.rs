//! The `verifier` of a request (a `v2/verify` request object; its `image` is ignored), read
//! and made ready once per request: keys parsed, identities resolved, the trust root's
//! authorities and log keys picked.

use std::collections::BTreeMap;

use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sigstore::crypto::CosignVerificationKey;

use crate::chain::chain_check;
use crate::identity::Identity;
use crate::leaf::{cert_from_pem, key_of_cert, Leaf};
use crate::trust_root::{TrustRoot, NO_TRUST_ROOT};

/// A keyless identity as Kubewarden's wire has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeylessInfo {
    pub issuer: String,
    pub subject: String,
}

/// A keyless identity by URL prefix as Kubewarden's wire has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeylessPrefixInfo {
    pub issuer: String,
    pub url_prefix: String,
}

/// The verifiers attestations take: `oci/v2/verify`'s, less `SigstoreGithubActionsVerify`
/// (an unknown variant here), and without annotations (a DSSE envelope has none).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type")]
#[allow(clippy::enum_variant_names)] // the wire names
pub enum VerifierRequest {
    SigstorePubKeyVerify {
        pub_keys: Vec<String>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessVerify {
        keyless: Vec<KeylessInfo>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessPrefixVerify {
        keyless_prefix: Vec<KeylessPrefixInfo>,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreCertificateVerify {
        certificate: Vec<u8>,
        #[serde(default)]
        certificate_chain: Option<Vec<Vec<u8>>>,
        #[serde(default)]
        require_rekor_bundle: bool,
        #[serde(default)]
        annotations: Option<BTreeMap<String, String>>,
    },
}

pub(crate) type RekorKeys = BTreeMap<String, CosignVerificationKey>;

/// The verifier, ready to check layers.
pub(crate) enum Prepared {
    Keys(Vec<CosignVerificationKey>),
    Keyless {
        identities: Vec<Identity>,
        anchors: Vec<CertificateDer<'static>>,
        rekor_keys: RekorKeys,
    },
    Certificate {
        leaf: CertificateDer<'static>,
        key: CosignVerificationKey,
        chain: Option<Vec<CertificateDer<'static>>>,
        require_rekor_bundle: bool,
        rekor_keys: RekorKeys,
    },
}

/// No annotations, and at least one of `wanted` (else the `empty` message).
fn no_annotations_some<T>(
    annotations: &Option<BTreeMap<String, String>>,
    wanted: &[T],
    empty: &str,
) -> Result<(), String> {
    no_annotations(annotations)?;
    if wanted.is_empty() {
        return Err(empty.to_string());
    }
    Ok(())
}

fn no_annotations(annotations: &Option<BTreeMap<String, String>>) -> Result<(), String> {
    match annotations {
        Some(a) if !a.is_empty() => Err(
            "the verifier has annotations, which attestations (DSSE envelopes) cannot carry"
                .to_string(),
        ),
        _ => Ok(()),
    }
}

fn rekor_keys(trust: Option<&TrustRoot>) -> Result<RekorKeys, String> {
    trust
        .iter()
        .flat_map(|t| t.rekor_keys.iter())
        .map(|(id, der)| {
            CosignVerificationKey::try_from_der(der)
                .map(|key| (id.clone(), key))
                .map_err(|e| format!("invalid transparency-log key {id} in the trust root: {e}"))
        })
        .collect()
}

/// The authorities and log keys for keyless verification; both are required.
fn keyless_trust(
    trust: Option<&TrustRoot>,
) -> Result<(Vec<CertificateDer<'static>>, RekorKeys), String> {
    let Some(trust) = trust.filter(|t| t.is_keyless_ready()) else {
        return Err(NO_TRUST_ROOT.to_string());
    };
    let anchors = trust
        .fulcio_certs
        .iter()
        .map(|d| CertificateDer::from(d.clone()))
        .collect();
    Ok((anchors, rekor_keys(Some(trust))?))
}

impl Prepared {
    pub fn new(verifier: &Value, trust: Option<&TrustRoot>) -> Result<Self, String> {
        let request: VerifierRequest = serde_json::from_value(verifier.clone())
            .map_err(|e| format!("invalid verifier: {e}"))?;
        Self::from_request(request, trust)
    }

    pub fn from_request(
        request: VerifierRequest,
        trust: Option<&TrustRoot>,
    ) -> Result<Self, String> {
        match request {
            VerifierRequest::SigstorePubKeyVerify {
                pub_keys,
                annotations,
            } => {
                no_annotations_some(
                    &annotations,
                    &pub_keys,
                    "no public keys given (pub_keys is empty)",
                )?;
                let keys = pub_keys
                    .iter()
                    .map(|k| {
                        CosignVerificationKey::try_from_pem(k.as_bytes())
                            .map_err(|e| format!("invalid public key: {e}"))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Prepared::Keys(keys))
            }
            VerifierRequest::SigstoreKeylessVerify {
                keyless,
                annotations,
            } => {
                no_annotations_some(
                    &annotations,
                    &keyless,
                    "no keyless identities given (keyless is empty)",
                )?;
                let identities = keyless
                    .into_iter()
                    .map(|k| Identity::Exact {
                        issuer: k.issuer,
                        subject: k.subject,
                    })
                    .collect();
                Self::keyless(identities, trust)
            }
            VerifierRequest::SigstoreKeylessPrefixVerify {
                keyless_prefix,
                annotations,
            } => {
                no_annotations_some(
                    &annotations,
                    &keyless_prefix,
                    "no keyless prefixes given (keyless_prefix is empty)",
                )?;
                Self::keyless_prefix(&keyless_prefix, trust)
            }
            VerifierRequest::SigstoreCertificateVerify {
                certificate,
                certificate_chain,
                require_rekor_bundle,
                annotations,
            } => {
                no_annotations(&annotations)?;
                Self::certificate(&certificate, certificate_chain, require_rekor_bundle, trust)
            }
        }
    }

    fn keyless(identities: Vec<Identity>, trust: Option<&TrustRoot>) -> Result<Self, String> {
        let (anchors, rekor_keys) = keyless_trust(trust)?;
        Ok(Prepared::Keyless {
            identities,
            anchors,
            rekor_keys,
        })
    }

    /// The trust root is checked before the prefixes are read.
    fn keyless_prefix(
        keyless_prefix: &[KeylessPrefixInfo],
        trust: Option<&TrustRoot>,
    ) -> Result<Self, String> {
        let (anchors, rekor_keys) = keyless_trust(trust)?;
        let identities = keyless_prefix
            .iter()
            .map(Identity::prefix)
            .collect::<Result<_, String>>()?;
        Ok(Prepared::Keyless {
            identities,
            anchors,
            rekor_keys,
        })
    }

    fn certificate(
        certificate: &[u8],
        certificate_chain: Option<Vec<Vec<u8>>>,
        require_rekor_bundle: bool,
        trust: Option<&TrustRoot>,
    ) -> Result<Self, String> {
        let rekor_keys = rekor_keys(trust)?;
        if require_rekor_bundle && rekor_keys.is_empty() {
            return Err(format!("require_rekor_bundle: {NO_TRUST_ROOT}"));
        }
        let leaf = cert_from_pem(certificate, "certificate")?;
        let key = key_of_cert(&leaf)?;
        let chain = match certificate_chain {
            Some(chain) if !chain.is_empty() => Some(
                chain
                    .iter()
                    .map(|pem| cert_from_pem(pem, "certificate in certificate_chain"))
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            _ => None,
        };
        if let Some(chain) = &chain {
            // reject early a certificate that chains at no time at all
            let at_not_before = Leaf::parse(&leaf).ok().map(|l| l.not_before_time());
            if chain_check(&leaf, chain, &[], None).is_err()
                && chain_check(&leaf, chain, &[], at_not_before).is_err()
            {
                return Err("the certificate does not chain to the given certificate_chain".into());
            }
        }
        Ok(Prepared::Certificate {
            leaf,
            key,
            chain,
            require_rekor_bundle,
            rekor_keys,
        })
    }
}
