//! `oci/v2/verify_attestations` with a `SigstoreBundleVerify` verifier: the image's
//! attestation bundles (any predicate type but cosign's signature one), verified as
//! signatures are, answered as the `.att` path answers.

use serde::Deserialize;
use serde_json::Value;

use super::BundleIdentity;
use super::{bundle, referrers, verify, Source, Wanted, MAX_BUNDLES, SIGN_PREDICATE_TYPE};
use crate::TrustRoot;

/// The `verifier` object: a `SigstoreBundleVerify` request without its image.
#[derive(Deserialize)]
pub struct BundleVerifier {
    #[serde(default)]
    pub pub_keys: Option<Vec<String>>,
    #[serde(default)]
    pub keyless: Option<Vec<BundleIdentity>>,
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// The verified statements of `predicate_type` about `image_digest`.
pub fn statements(
    source: &dyn Source,
    trust: Option<&TrustRoot>,
    image: &str,
    image_digest: &str,
    predicate_type: &str,
    wanted: &Wanted,
) -> Result<Vec<Value>, String> {
    let verifiers = super::verifiers(wanted)?;
    let image_hex = image_digest
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("the image digest {image_digest} is not a sha256 digest"))?;
    let mut verified: Vec<(Value, String)> = Vec::new();
    let mut reasons = Vec::new();
    let mut candidates = 0usize;
    for referrer in referrers::list(source, image_digest)? {
        if referrer.predicate_type.as_deref() == Some(SIGN_PREDICATE_TYPE) {
            continue;
        }
        if candidates == MAX_BUNDLES {
            reasons.push(format!(
                "more than {MAX_BUNDLES} attestation bundles: the rest were not read"
            ));
            break;
        }
        if let Some(reason) = source.out_of_time() {
            candidates += 1;
            reasons.push(reason);
            break;
        }
        let outcome = referrers::fetch(source, &referrer).and_then(|found| {
            let Some(fetched) = found else {
                return Ok(None);
            };
            let opened = verify::open(&fetched.bundle)?;
            if !bundle::is_v03_or_later(&opened.bundle.media_type) {
                return Ok(None);
            }
            let Some(kind) = opened
                .statement
                .as_ref()
                .map(|s| s.predicate_type.clone())
                .or(fetched.predicate_type)
            else {
                return Ok(None);
            };
            if kind == SIGN_PREDICATE_TYPE {
                return Ok(None);
            }
            let checked = verify::verify(&opened, image_hex, &verifiers, wanted.annotations, trust)
                .and_then(|()| {
                    serde_json::from_slice::<Value>(&opened.payload)
                        .map(|statement| (statement, kind))
                        .map_err(|e| format!("the statement is not JSON: {e}"))
                });
            Ok(Some(checked))
        });
        match outcome {
            Ok(None) => {}
            Ok(Some(Ok(found))) => {
                candidates += 1;
                verified.push(found);
            }
            Ok(Some(Err(reason))) | Err(reason) => {
                candidates += 1;
                reasons.push(format!("{}: {reason}", referrer.digest));
            }
        }
    }
    if candidates == 0 {
        return Err(format!("no attestations found for image: {image}"));
    }
    if verified.is_empty() {
        return Err(format!("no attestation verifies: {}", reasons.join("; ")));
    }
    let mut types: Vec<&str> = Vec::new();
    for (_, t) in &verified {
        if !types.contains(&t.as_str()) {
            types.push(t);
        }
    }
    let statements: Vec<Value> = verified
        .iter()
        .filter(|(_, t)| t == predicate_type)
        .map(|(s, _)| s.clone())
        .collect();
    if statements.is_empty() {
        return Err(format!(
            "no attestation of predicate type {predicate_type}; verified predicate types: {}",
            serde_json::to_string(&types).map_err(|e| e.to_string())?
        ));
    }
    Ok(statements)
}
