//! One envelope's signer checked against a prepared verifier: a public key, a keyless
//! identity (certificate, chain at signing time, Rekor bundle), or a given certificate.

use std::collections::BTreeMap;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::CertificateDer;
use sigstore::crypto::CosignVerificationKey;

use crate::chain::{chain_check, unix_time};
use crate::cosign::{CERT_ANNOTATION, CHAIN_ANNOTATION};
use crate::dsse::Opened;
use crate::identity::Identity;
use crate::leaf::{cert_from_pem, key_of_cert, Leaf};
use crate::limits::MAX_CHAIN_CERTS;
use crate::rekor::{verified_bundle, Signed, SignerId};
use crate::verifier::{Prepared, RekorKeys};

const UNTRUSTED: &str = "the certificate does not chain to the trusted certificate authorities";

/// A layer as the checks see it: the envelope as stored, opened, and the layer's annotations.
pub(crate) struct LayerView<'a> {
    pub blob: &'a [u8],
    pub opened: &'a Opened,
    pub annotations: &'a BTreeMap<String, String>,
}

impl Prepared {
    /// Checks one layer's signature (and certificate, bundle); `Err` is the short reason.
    pub fn check(&self, layer: &LayerView<'_>) -> Result<(), String> {
        match self {
            Prepared::Keys(keys) => check_keys(keys, layer),
            Prepared::Keyless {
                identities,
                anchors,
                rekor_keys,
            } => check_keyless(identities, anchors, rekor_keys, layer),
            Prepared::Certificate {
                leaf,
                key,
                chain,
                require_rekor_bundle,
                rekor_keys,
            } => {
                let given = GivenCertificate {
                    leaf,
                    key,
                    chain: chain.as_deref(),
                    require_rekor_bundle: *require_rekor_bundle,
                    rekor_keys,
                };
                given.check(layer)
            }
        }
    }
}

/// Every key must verify some signature of the envelope.
fn check_keys(keys: &[CosignVerificationKey], layer: &LayerView<'_>) -> Result<(), String> {
    let pae = layer.opened.pae();
    for (i, key) in keys.iter().enumerate() {
        if layer.opened.verifying_signatures(key, &pae).is_empty() {
            return Err(if keys.len() > 1 {
                format!(
                    "the signature does not verify with the given public key (key {} of {})",
                    i + 1,
                    keys.len()
                )
            } else {
                "the signature does not verify with the given public key".to_string()
            });
        }
    }
    Ok(())
}

fn chain_annotation(annotations: &BTreeMap<String, String>) -> Vec<CertificateDer<'static>> {
    annotations
        .get(CHAIN_ANNOTATION)
        .map(|chain| {
            CertificateDer::pem_slice_iter(chain.as_bytes())
                .filter_map(Result::ok)
                .take(MAX_CHAIN_CERTS)
                .collect()
        })
        .unwrap_or_default()
}

/// The layer's certificate: it verifies a signature, has every wanted identity, has a Rekor
/// bundle bound to this envelope whose time is within its validity, and chains to the
/// authorities at that time.
fn check_keyless(
    identities: &[Identity],
    anchors: &[CertificateDer<'static>],
    rekor_keys: &RekorKeys,
    layer: &LayerView<'_>,
) -> Result<(), String> {
    let Some(pem) = layer.annotations.get(CERT_ANNOTATION) else {
        return Err("no signing certificate".to_string());
    };
    let leaf = cert_from_pem(pem.as_bytes(), "signing certificate")?;
    let info = Leaf::parse(&leaf)?;
    let key = key_of_cert(&leaf)?;
    let signatures = layer.opened.verifying_signatures(&key, &layer.opened.pae());
    if signatures.is_empty() {
        return Err("the signature does not verify with its certificate".to_string());
    }
    if let Some(missing) = identities.iter().find(|i| !i.matches(&info.names)) {
        return Err(format!(
            "the certificate is for {}, not {}",
            info.describe(),
            missing.describe()
        ));
    }
    let intermediates = chain_annotation(layer.annotations);
    let signed = Signed {
        envelope: layer.blob,
        payload: &layer.opened.payload,
        signatures: &signatures,
        signer: SignerId {
            cert_der: &leaf,
            spki: &info.spki,
        },
    };
    let not_chained =
        || chain_check(&leaf, anchors, &intermediates, Some(info.not_before_time())).is_err();
    let time = match verified_bundle(layer.annotations, rekor_keys, &signed) {
        Ok(time) => time,
        // say the more useful reason: a foreign CA usually comes with its own log
        Err(_) if not_chained() => return Err(UNTRUSTED.to_string()),
        Err(reason) => return Err(reason),
    };
    info.check_integrated_time(time)?;
    chain_check(&leaf, anchors, &intermediates, Some(unix_time(time)))
        .map_err(|_| UNTRUSTED.to_string())
}

/// A `SigstoreCertificateVerify` verifier, prepared.
struct GivenCertificate<'a> {
    leaf: &'a CertificateDer<'static>,
    key: &'a CosignVerificationKey,
    chain: Option<&'a [CertificateDer<'static>]>,
    require_rekor_bundle: bool,
    rekor_keys: &'a RekorKeys,
}

impl GivenCertificate<'_> {
    /// The certificate's key verifies a signature; with `require_rekor_bundle`, a bound
    /// bundle within its validity; with a chain, the chain holds at the bundle's time (else
    /// now).
    fn check(&self, layer: &LayerView<'_>) -> Result<(), String> {
        let signatures = layer
            .opened
            .verifying_signatures(self.key, &layer.opened.pae());
        if signatures.is_empty() {
            return Err("the signature does not verify with the given certificate".to_string());
        }
        let info = Leaf::parse(self.leaf)?;
        let signed = Signed {
            envelope: layer.blob,
            payload: &layer.opened.payload,
            signatures: &signatures,
            signer: SignerId {
                cert_der: self.leaf,
                spki: &info.spki,
            },
        };
        let time = if self.require_rekor_bundle {
            let time = verified_bundle(layer.annotations, self.rekor_keys, &signed)?;
            info.check_integrated_time(time)?;
            Some(unix_time(time))
        } else if self.rekor_keys.is_empty() {
            None
        } else {
            // a valid bound bundle gives the signing time; else now
            verified_bundle(layer.annotations, self.rekor_keys, &signed)
                .ok()
                .map(unix_time)
        };
        if let Some(chain) = self.chain {
            if chain_check(self.leaf, chain, &[], time).is_err() {
                return Err(
                    "the certificate does not chain to the given certificate_chain".to_string(),
                );
            }
        }
        Ok(())
    }
}
