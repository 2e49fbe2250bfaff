//! cosign v3 bundles (`SigstoreBundleVerify`): an image's Sigstore bundles stored as OCI
//! referrers, verified from the bundle bytes and the trust root alone. Registry reads go
//! through [`Source`], which the host implements with its own client, deadlines and caps.

pub mod attestations;
mod bundle;
mod der;
mod pki;
mod referrers;
mod rekor;
mod rekor_v1;
mod rekor_v2;
mod timestamp;
mod verify;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::TrustRoot;
pub use attestations::BundleVerifier;
pub use referrers::{MAX_BUNDLE_BYTES, MAX_REFERRERS};

pub const SIGN_PREDICATE_TYPE: &str = "https://sigstore.dev/cosign/sign/v1";
/// Bundles verified per request at most (each costs a few registry reads).
pub const MAX_BUNDLES: usize = 16;
/// Compiled size allowed to one identity regular expression.
const MAX_REGEX_BYTES: usize = 1 << 20;

/// Registry reads the verifier needs, for one repository.
pub trait Source {
    /// The referrers API's index of `digest`; `None` when the registry does not serve it.
    fn referrers(&self, digest: &str) -> Result<Option<Vec<u8>>, String>;
    /// The manifest a tag names and its digest; `None` when the tag does not exist.
    fn tag(&self, tag: &str) -> Result<Option<(Vec<u8>, String)>, String>;
    /// The manifest of `digest`.
    fn manifest(&self, digest: &str) -> Result<Vec<u8>, String>;
    /// A blob, checked against its digest, at most `max` bytes.
    fn blob(&self, digest: &str, size: i64, max: usize) -> Result<Vec<u8>, String>;
    /// Why no more bundles may be read for this request (its time is spent), if so.
    fn out_of_time(&self) -> Option<String> {
        None
    }
}

/// A keyless identity of a bundle request: each part exact, a Rust regular expression, or any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleIdentity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_regexp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_regexp: Option<String>,
}

/// What the request asks for.
pub struct Wanted<'a> {
    pub pub_keys: Option<&'a [String]>,
    pub keyless: Option<&'a [BundleIdentity]>,
    pub annotations: Option<&'a BTreeMap<String, String>>,
}

pub enum Verifiers {
    Keys(Vec<pki::Key>),
    Identities(Vec<Identity>),
}

pub struct Identity {
    issuer: Matcher,
    subject: Matcher,
}

enum Matcher {
    Any,
    Exact(String),
    Regex(regex::Regex),
}

impl Matcher {
    fn new(exact: Option<&String>, pattern: Option<&String>, what: &str) -> Result<Self, String> {
        match (exact, pattern) {
            (Some(exact), _) => Ok(Matcher::Exact(exact.clone())),
            (None, Some(pattern)) => regex::RegexBuilder::new(pattern)
                .size_limit(MAX_REGEX_BYTES)
                .build()
                .map(Matcher::Regex)
                .map_err(|e| format!("{what} {pattern:?} is not a valid regular expression: {e}")),
            (None, None) => Ok(Matcher::Any),
        }
    }

    fn matches(&self, text: &str) -> bool {
        match self {
            Matcher::Any => true,
            Matcher::Exact(exact) => exact == text,
            Matcher::Regex(regex) => regex.is_match(text),
        }
    }
}

/// What was signed, and by whom, for the log entry checks.
pub struct Signed {
    pub pae: Vec<u8>,
    pub payload: Vec<u8>,
    pub signature: Vec<u8>,
    pub key: pki::Key,
    /// Keyless: the leaf certificate (DER).
    pub certificate: Option<Vec<u8>>,
}

fn verifiers(wanted: &Wanted) -> Result<Verifiers, String> {
    match (wanted.pub_keys, wanted.keyless) {
        (Some(keys), None) if !keys.is_empty() => keys
            .iter()
            .enumerate()
            .map(|(i, pem)| pki::Key::from_pem(pem, &format!("pub_keys[{i}]")))
            .collect::<Result<_, _>>()
            .map(Verifiers::Keys),
        (None, Some(ids)) if !ids.is_empty() => ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                Ok(Identity {
                    issuer: Matcher::new(
                        id.issuer.as_ref(),
                        id.issuer_regexp.as_ref(),
                        &format!("keyless[{i}].issuer_regexp"),
                    )?,
                    subject: Matcher::new(
                        id.subject.as_ref(),
                        id.subject_regexp.as_ref(),
                        &format!("keyless[{i}].subject_regexp"),
                    )?,
                })
            })
            .collect::<Result<_, String>>()
            .map(Verifiers::Identities),
        _ => {
            Err("a SigstoreBundleVerify request needs either pub_keys or keyless, not empty".into())
        }
    }
}

/// Is some `https://sigstore.dev/cosign/sign/v1` bundle of the image (`sha256:<hex>`)
/// verified as `wanted` asks?
pub fn verify_image(
    source: &dyn Source,
    trust: Option<&TrustRoot>,
    image_digest: &str,
    wanted: &Wanted,
) -> Result<(), String> {
    let verifiers = verifiers(wanted)?;
    let image_hex = image_digest
        .strip_prefix("sha256:")
        .ok_or_else(|| format!("the image digest {image_digest} is not a sha256 digest"))?;
    let mut reasons = Vec::new();
    let mut candidates = 0usize;
    for referrer in referrers::list(source, image_digest)? {
        if referrer
            .predicate_type
            .as_deref()
            .is_some_and(|t| t != SIGN_PREDICATE_TYPE)
        {
            continue;
        }
        if candidates == MAX_BUNDLES {
            reasons.push(format!(
                "more than {MAX_BUNDLES} signature bundles: the rest were not read"
            ));
            break;
        }
        if let Some(reason) = source.out_of_time() {
            candidates += 1;
            reasons.push(reason);
            break;
        }
        let outcome = referrers::fetch(source, &referrer).and_then(|found| match found {
            None => Ok(None),
            Some(fetched) => {
                let opened = verify::open(&fetched.bundle)?;
                if !bundle::is_v03_or_later(&opened.bundle.media_type) {
                    return Ok(None);
                }
                let predicate_type = opened
                    .statement
                    .as_ref()
                    .map(|s| s.predicate_type.clone())
                    .or(fetched.predicate_type);
                if predicate_type.as_deref() != Some(SIGN_PREDICATE_TYPE) {
                    return Ok(None);
                }
                Ok(Some(verify::verify(
                    &opened,
                    image_hex,
                    &verifiers,
                    wanted.annotations,
                    trust,
                )))
            }
        });
        match outcome {
            Ok(None) => {}
            Ok(Some(Ok(()))) => return Ok(()),
            Ok(Some(Err(reason))) | Err(reason) => {
                candidates += 1;
                reasons.push(format!("{}: {reason}", referrer.digest));
            }
        }
    }
    if candidates == 0 {
        Err("no signatures found".into())
    } else {
        Err(format!("no bundle verifies: {}", reasons.join("; ")))
    }
}
