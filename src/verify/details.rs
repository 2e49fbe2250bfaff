//! What a passing signature or attestation authority verified, as `spec.policy` sees it in
//! `authorityMatches` (policy-controller's `PolicySignature` and `PolicyAttestation`).
//!
//! The host answers a verification with "trusted" and a digest, not with the signatures it
//! checked, so these are read from the `.sig` / `.att` manifest (one host call, made only for
//! a CIP that has `spec.policy`): for a keyless authority the layers whose certificate carries
//! an accepted identity, for a key authority the layers without a certificate (all layers
//! when every one has a certificate). Registry data: the manifest reader is bounded.

use super::certificate;
use super::host::{Host, HostFailure};
use super::identity;
use super::signatures::{self, SignatureLayer, DSSE_ENVELOPE};
use super::verifier::Image;
use crate::cip::compile::{AuthorityKind, CompiledAuthority};
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `PolicySignature`s of an authority that verified the image's signatures.
pub fn signatures(
    authority: &CompiledAuthority,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<Vec<Value>, String> {
    let tag = signatures::signature_tag(image.repo, image.digest);
    let layers = layers(&tag, signatures::SIMPLE_SIGNING, host)?;
    Ok(verified_by(authority, &layers)
        .filter_map(|layer| policy_signature(layer).map(Value::Object))
        .collect())
}

/// `PolicyAttestation`s, by attestation name, of an authority whose attestations passed.
pub fn attestations(
    authority: &CompiledAuthority,
    image: Image<'_>,
    host: &mut dyn Host,
) -> Result<Map<String, Value>, String> {
    let tag = signatures::attestation_tag(image.repo, image.digest);
    let layers = layers(&tag, DSSE_ENVELOPE, host)?;
    let mut by_name = Map::new();
    for wanted in &authority.attestations {
        let entries = verified_by(authority, &layers)
            .filter(|l| l.predicate_type.as_deref() == Some(wanted.predicate_uri.as_str()))
            .filter_map(|layer| {
                let mut entry = policy_signature(layer)?;
                entry.insert(
                    "predicateType".into(),
                    Value::String(wanted.predicate_type.clone()),
                );
                entry.insert("digest".into(), Value::String(layer.digest.clone()));
                Some(Value::Object(entry))
            })
            .collect();
        by_name.insert(wanted.name.clone(), Value::Array(entries));
    }
    Ok(by_name)
}

fn layers(tag: &str, media_type: &str, host: &mut dyn Host) -> Result<Vec<SignatureLayer>, String> {
    match host.oci_manifest(tag) {
        Ok(bytes) => signatures::parse_layers(&bytes, media_type),
        Err(e) if e.kind == HostFailure::NotFound => Ok(Vec::new()),
        Err(reason) => Err(format!("cannot read the signatures {tag}: {reason}")),
    }
}

/// The layers this authority's verification stands for.
fn verified_by<'a>(
    authority: &'a CompiledAuthority,
    layers: &'a [SignatureLayer],
) -> Box<dyn Iterator<Item = &'a SignatureLayer> + 'a> {
    match &authority.kind {
        AuthorityKind::Keyless { identities, .. } => Box::new(layers.iter().filter(|layer| {
            let Some(pem) = &layer.certificate else {
                return false;
            };
            certificate::identity_from_pem(pem).is_ok_and(|cert| {
                identities
                    .iter()
                    .any(|id| identity::matching_pair(id, &cert).is_some())
            })
        })),
        _ => {
            let keyed = layers.iter().any(|l| l.certificate.is_none());
            Box::new(
                layers
                    .iter()
                    .filter(move |l| !keyed || l.certificate.is_none()),
            )
        }
    }
}

/// One layer as a `PolicySignature`: `id` is the sha256 of the raw signature followed by the
/// certificate's PEM; the identity fields come from the certificate. A layer whose signature
/// or certificate cannot be read is left out, as policy-controller leaves it out.
fn policy_signature(layer: &SignatureLayer) -> Option<Map<String, Value>> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&layer.signature)
        .ok()?;
    let mut hasher = Sha256::new();
    hasher.update(&raw);
    let mut entry = Map::new();
    let cert = match &layer.certificate {
        Some(pem) => Some(certificate::signing_certificate(pem).ok()?),
        None => None,
    };
    if let Some(cert) = &cert {
        hasher.update(cert.pem.as_bytes());
    }
    entry.insert("id".into(), Value::String(hex(&hasher.finalize())));
    if let Some(cert) = cert {
        if let Some(subject) = cert.identity.sans.into_iter().next() {
            entry.insert("subject".into(), Value::String(subject));
        }
        if let Some(issuer) = cert.identity.issuer.filter(|i| !i.is_empty()) {
            entry.insert("issuer".into(), Value::String(issuer));
        }
        for (name, value) in cert.github {
            entry.insert(name.into(), Value::String(value));
        }
    }
    Some(entry)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
