//! `oci/v2/verify_attestations`: the statements of every attestation attached to an image
//! whose DSSE signature satisfies the verifier, whose subject is the image and whose
//! predicate type is the requested one; an error saying what was found when none is.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::check::LayerView;
use crate::cosign::DSSE_MEDIA_TYPE;
use crate::dsse::Opened;
use crate::limits::{MAX_ENVELOPE_BYTES, MAX_LAYERS, MAX_TOTAL_ENVELOPE_BYTES};
use crate::statement::{self, Statement};
use crate::trust_root::TrustRoot;
use crate::verifier::Prepared;

/// A layer of cosign's attestation manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layer {
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// As the manifest says: no more is read.
    pub size: i64,
    /// None and empty are the same.
    pub annotations: BTreeMap<String, String>,
}

/// The registry reads the verification needs, over the caller's own client: its sources,
/// insecure registries, credentials, deadlines and caps. One value serves one image: the
/// repository is the image's. `Err` texts reach the policy as they are.
pub trait AttestationRegistry {
    /// The layers of cosign's attestation manifest of `digest` (`sha256:<hex>`, lowercase):
    /// the tag `sha256-<hex>.att` in the image's repository. `Ok(None)` when that tag does
    /// not exist. The caller bounds the manifest's size.
    fn attestation_layers(&self, digest: &str) -> Result<Option<Vec<Layer>>, String>;

    /// The blob of `layer` from the image's repository: at most `max_bytes` read, and its
    /// sha256 checked against `layer.digest`.
    fn blob(&self, layer: &Layer, max_bytes: usize) -> Result<Vec<u8>, String>;
}

/// The answer: `{"digest": "sha256:<hex>", "statements": [...]}` once serialised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verified {
    pub digest: String,
    pub statements: Vec<Value>,
}

/// `repo@sha256:<hex>` -> the lowercase hex. The caller has parsed `image` with its own
/// reference parser already; this only reads the digest.
fn digest_hex(image: &str) -> Result<String, String> {
    image
        .rsplit_once('@')
        .and_then(|(_, digest)| digest.strip_prefix("sha256:"))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| {
            format!("the image {image:?} is not a reference by sha256 digest (repo@sha256:<hex>)")
        })
}

/// One `oci/v2/verify_attestations` request, checked and ready, with no I/O of its own: a
/// caller whose registry client is async (Kubewarden's callback handler) drives it step by
/// step, awaiting its reads in between; [`verify_attestations`] drives it over an
/// [`AttestationRegistry`].
pub struct AttestationsRequest {
    image: String,
    predicate_type: String,
    /// Lowercase.
    digest_hex: String,
    prepared: Prepared,
}

impl AttestationsRequest {
    /// Checks the request (the image's digest, the predicate type, the verifier against the
    /// trust root) before anything is fetched.
    pub fn new(
        trust: Option<&TrustRoot>,
        image: &str,
        predicate_type: &str,
        verifier: &Value,
    ) -> Result<Self, String> {
        let digest_hex = digest_hex(image)?;
        if predicate_type.is_empty() {
            return Err("predicate_type is empty".to_string());
        }
        Ok(AttestationsRequest {
            image: image.to_string(),
            predicate_type: predicate_type.to_string(),
            digest_hex,
            prepared: Prepared::new(verifier, trust)?,
        })
    }

    /// `sha256:<hex>`: whose attestation manifest to read (the tag `sha256-<hex>.att`).
    pub fn digest(&self) -> String {
        format!("sha256:{}", self.digest_hex)
    }

    /// The layers to fetch, given the attestation manifest's layers (`None`: no such tag).
    pub fn dsse_layers<'a>(&self, layers: Option<&'a [Layer]>) -> Result<Vec<&'a Layer>, String> {
        let no_attestations = || format!("no attestations found for image: {}", self.image);
        let Some(layers) = layers else {
            return Err(no_attestations());
        };
        if layers.len() > MAX_LAYERS {
            return Err(format!(
                "the attestation manifest of {} has {} layers, more than the limit of {MAX_LAYERS}",
                self.image,
                layers.len()
            ));
        }
        let dsse: Vec<&Layer> = layers
            .iter()
            .filter(|l| l.media_type == DSSE_MEDIA_TYPE)
            .collect();
        if dsse.is_empty() {
            return Err(no_attestations());
        }
        let total = dsse
            .iter()
            .map(|l| usize::try_from(l.size).unwrap_or(0))
            .fold(0usize, usize::saturating_add);
        if total > MAX_TOTAL_ENVELOPE_BYTES {
            return Err(format!(
                "the attestations of {} are {total} bytes together, more than the limit of {MAX_TOTAL_ENVELOPE_BYTES}",
                self.image
            ));
        }
        Ok(dsse)
    }

    /// How much of `layer` to read: its declared size, at most [`MAX_ENVELOPE_BYTES`].
    pub fn blob_limit(layer: &Layer) -> usize {
        usize::try_from(layer.size).map_or(0, |size| size.min(MAX_ENVELOPE_BYTES))
    }

    /// Checks one layer's blob (fetched with at most [`Self::blob_limit`] bytes, or the
    /// reason it could not be): its statement, or why it does not count.
    pub fn check_layer(
        &self,
        layer: &Layer,
        blob: Result<Vec<u8>, String>,
    ) -> Result<Statement, String> {
        let blob = blob?;
        let limit = Self::blob_limit(layer);
        if blob.len() > limit {
            return Err(format!(
                "the envelope is {} bytes, more than the limit of {limit}",
                blob.len()
            ));
        }
        check_layer(&self.prepared, &blob, &layer.annotations, &self.digest_hex)
    }

    /// The answer from every layer's outcome, in the order of [`Self::dsse_layers`].
    pub fn answer(&self, outcomes: Vec<Result<Statement, String>>) -> Result<Verified, String> {
        let mut verified = Vec::new();
        let mut reasons = Vec::new();
        for (i, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(found) => verified.push(found),
                Err(reason) => reasons.push(format!("attestation {}: {reason}", i + 1)),
            }
        }
        if verified.is_empty() {
            return Err(format!("no attestation verifies: {}", reasons.join("; ")));
        }
        select(verified, &self.predicate_type).map(|statements| Verified {
            digest: self.digest(),
            statements,
        })
    }
}

/// Answers `oci/v2/verify_attestations` for `image` (`repo@sha256:<hex>`), reading the
/// registry through `registry`.
pub fn verify_attestations(
    registry: &dyn AttestationRegistry,
    trust: Option<&TrustRoot>,
    image: &str,
    predicate_type: &str,
    verifier: &Value,
) -> Result<Verified, String> {
    let request = AttestationsRequest::new(trust, image, predicate_type, verifier)?;
    let layers = registry.attestation_layers(&request.digest())?;
    let outcomes = request
        .dsse_layers(layers.as_deref())?
        .into_iter()
        .map(|layer| {
            let blob = registry.blob(layer, AttestationsRequest::blob_limit(layer));
            request.check_layer(layer, blob)
        })
        .collect();
    request.answer(outcomes)
}

/// Checks one layer whole: envelope, signature, statement.
fn check_layer(
    prepared: &Prepared,
    blob: &[u8],
    annotations: &BTreeMap<String, String>,
    digest_hex: &str,
) -> Result<Statement, String> {
    let opened = Opened::parse(blob)?;
    prepared.check(&LayerView {
        blob,
        opened: &opened,
        annotations,
    })?;
    // only now, signed: the statement
    statement::read(&opened.payload, digest_hex)
}

/// The statements of `predicate_type`; else an error listing the verified types.
fn select(verified: Vec<Statement>, predicate_type: &str) -> Result<Vec<Value>, String> {
    let mut types: Vec<&str> = Vec::new();
    for s in &verified {
        if !types.contains(&s.predicate_type.as_str()) {
            types.push(&s.predicate_type);
        }
    }
    if !verified.iter().any(|s| s.predicate_type == predicate_type) {
        return Err(format!(
            "no attestation of predicate type {predicate_type}; verified predicate types: {}",
            serde_json::to_string(&types).map_err(|e| e.to_string())?
        ));
    }
    Ok(verified
        .into_iter()
        .filter(|s| s.predicate_type == predicate_type)
        .map(|s| s.json)
        .collect())
}
