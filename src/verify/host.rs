//! The only module that calls the Kubewarden host. Every failure comes back as the host's
//! reason, to be reported as "not verified": the policy fails closed.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::collections::BTreeMap;
use std::rc::Rc;

pub trait Host {
    /// Tag -> digest (`oci/v1/manifest_digest`).
    fn manifest_digest(&mut self, image: &str) -> Result<String, HostError>;
    /// The raw manifest of `image` (`oci/v1/oci_manifest`).
    fn oci_manifest(&mut self, image: &str) -> Result<Vec<u8>, HostError>;
    /// `oci/v1/oci_manifest_config`: `{manifest, digest, config}` of an image manifest (the
    /// host resolves an index to its own platform first), as the host sends it.
    fn oci_manifest_config(&mut self, image: &str) -> Result<Vec<u8>, HostError>;
    /// A signature verification (`oci/v2/verify`); the verified digest on success.
    fn verify(&mut self, request: &VerifyRequest) -> Result<String, HostError>;
    /// The verified in-toto statements of one predicate type (`oci/v2/verify_attestations`).
    fn verify_attestations(
        &mut self,
        image: &str,
        predicate_type: &str,
        verifier: &VerifyRequest,
    ) -> Result<Vec<serde_json::Value>, HostError>;
    /// `crypto/v1/is_certificate_trusted`: an untrusted certificate is a `HostFailure::Untrusted`.
    fn certificate_trusted(
        &mut self,
        certificate_pem: &str,
        chain_pem: &[String],
        not_after: Option<String>,
    ) -> Result<(), HostError>;
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct KeylessInfo {
    pub issuer: String,
    pub subject: String,
}

/// A keyless identity of a bundle request: each part exact or a regular expression (Rust
/// `regex` syntax, as the policy compiled it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct BundleIdentity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_regexp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_regexp: Option<String>,
}

/// A PEM public key as requests carry it: one shared text for every request that names it,
/// written into each request's JSON as it was encoded once (escaping a key's newlines on every
/// call cost more than the rest of the request).
#[derive(Clone)]
pub struct Pem(Rc<PemText>);

struct PemText {
    text: String,
    json: Option<Box<RawValue>>,
}

impl Pem {
    pub fn new(text: &str) -> Pem {
        Pem(Rc::new(PemText {
            text: text.to_string(),
            json: serde_json::value::to_raw_value(text).ok(),
        }))
    }

    pub fn as_str(&self) -> &str {
        &self.0.text
    }
}

impl PartialEq for Pem {
    fn eq(&self, other: &Pem) -> bool {
        Rc::ptr_eq(&self.0, &other.0) || self.as_str() == other.as_str()
    }
}

impl Eq for Pem {}

impl PartialOrd for Pem {
    fn partial_cmp(&self, other: &Pem) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Pem {
    fn cmp(&self, other: &Pem) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl std::fmt::Debug for Pem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl Serialize for Pem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0.json {
            Some(json) => json.serialize(serializer),
            None => serializer.serialize_str(self.as_str()),
        }
    }
}

/// `oci/v2/verify` requests, internally tagged as Kubewarden's SDK sends them. Ordered (image
/// first) for the per-request memo: a few string comparisons cost less than hashing a key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "type")]
pub enum VerifyRequest {
    SigstorePubKeyVerify {
        image: String,
        pub_keys: Vec<Pem>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreKeylessVerify {
        image: String,
        keyless: Vec<KeylessInfo>,
        annotations: Option<BTreeMap<String, String>>,
    },
    /// cosign v3: the image's Sigstore bundles (OCI referrers), verified with any of the keys
    /// or for any of the identities (this project's addition; see the README's contract).
    SigstoreBundleVerify {
        image: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub_keys: Option<Vec<Pem>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        keyless: Option<Vec<BundleIdentity>>,
        annotations: Option<BTreeMap<String, String>>,
    },
    SigstoreCertificateVerify {
        image: String,
        certificate: Vec<u8>,
        certificate_chain: Option<Vec<Vec<u8>>>,
        require_rekor_bundle: bool,
        annotations: Option<BTreeMap<String, String>>,
    },
}

impl VerifyRequest {
    /// The image reference the request is about.
    pub fn image(&self) -> &str {
        match self {
            VerifyRequest::SigstorePubKeyVerify { image, .. }
            | VerifyRequest::SigstoreKeylessVerify { image, .. }
            | VerifyRequest::SigstoreCertificateVerify { image, .. }
            | VerifyRequest::SigstoreBundleVerify { image, .. } => image,
        }
    }

    /// The same request about another reference to the image (its tag or its digest).
    pub fn with_image(&self, reference: &str) -> VerifyRequest {
        let mut request = self.clone();
        match &mut request {
            VerifyRequest::SigstorePubKeyVerify { image, .. }
            | VerifyRequest::SigstoreKeylessVerify { image, .. }
            | VerifyRequest::SigstoreCertificateVerify { image, .. }
            | VerifyRequest::SigstoreBundleVerify { image, .. } => *image = reference.to_string(),
        }
        request
    }
}

/// The host over Kubewarden's wire: JSON requests and answers, through waPC's `host_call`
/// (or, in benchmarks, a transport that answers the same bytes).
pub struct WapcHost {
    transport: Transport,
}

/// One host call: namespace, operation and payload in, the answer's bytes or the error out.
pub type Transport = fn(&str, &str, &[u8]) -> Result<Vec<u8>, String>;

impl WapcHost {
    pub const fn new() -> Self {
        WapcHost::over(|namespace, operation, payload| {
            kubewarden_policy_sdk::wapc_guest::host_call(
                "kubewarden",
                namespace,
                operation,
                payload,
            )
            .map_err(|e| e.to_string())
        })
    }

    pub const fn over(transport: Transport) -> Self {
        WapcHost { transport }
    }
}

impl Default for WapcHost {
    fn default() -> Self {
        WapcHost::new()
    }
}

#[derive(Deserialize)]
struct DigestResponse {
    digest: String,
}

#[derive(Deserialize)]
struct VerifyResponse {
    is_trusted: bool,
    digest: String,
}

#[derive(Deserialize)]
struct TrustResponse {
    trusted: bool,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Serialize)]
struct AttestationsRequest<'a> {
    image: &'a str,
    predicate_type: &'a str,
    verifier: &'a VerifyRequest,
}

#[derive(Deserialize)]
struct AttestationsResponse {
    digest: String,
    #[serde(default)]
    statements: Vec<serde_json::Value>,
}

#[derive(Serialize)]
struct PemCertificate<'a> {
    encoding: &'static str,
    data: &'a [u8],
}

#[derive(Serialize)]
struct TrustRequest<'a> {
    cert: PemCertificate<'a>,
    cert_chain: Option<Vec<PemCertificate<'a>>>,
    not_after: Option<String>,
}

impl WapcHost {
    fn call(&self, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, HostError> {
        (self.transport)(namespace, operation, payload)
            .map_err(|e| HostError::from_host(host_reason(&e)))
    }
}

impl Host for WapcHost {
    fn manifest_digest(&mut self, image: &str) -> Result<String, HostError> {
        let payload = encoded(&image)?;
        let bytes = self.call("oci", "v1/manifest_digest", &payload)?;
        let response: DigestResponse = serde_json::from_slice(&bytes).map_err(|e| {
            HostError::refused(format!(
                "cannot decode the host's manifest_digest answer: {e}"
            ))
        })?;
        check_digest(&response.digest).map_err(HostError::refused)?;
        Ok(response.digest)
    }

    fn oci_manifest(&mut self, image: &str) -> Result<Vec<u8>, HostError> {
        let payload = encoded(&image)?;
        self.call("oci", "v1/oci_manifest", &payload)
    }

    fn oci_manifest_config(&mut self, image: &str) -> Result<Vec<u8>, HostError> {
        let payload = serde_json::to_vec(image).map_err(HostError::encoding)?;
        self.call("oci", "v1/oci_manifest_config", &payload)
    }

    fn verify(&mut self, request: &VerifyRequest) -> Result<String, HostError> {
        let payload = encoded(request)?;
        let bytes = self.call("oci", "v2/verify", &payload)?;
        trusted_digest(&bytes).map_err(HostError::refused)
    }

    fn verify_attestations(
        &mut self,
        image: &str,
        predicate_type: &str,
        verifier: &VerifyRequest,
    ) -> Result<Vec<serde_json::Value>, HostError> {
        let request = AttestationsRequest {
            image,
            predicate_type,
            verifier,
        };
        let payload = encoded(&request)?;
        let bytes = self.call("oci", "v2/verify_attestations", &payload)?;
        let response: AttestationsResponse = serde_json::from_slice(&bytes).map_err(|e| {
            HostError::refused(format!(
                "cannot decode the host's verify_attestations answer: {e}"
            ))
        })?;
        check_digest(&response.digest).map_err(HostError::refused)?;
        if !image.ends_with(&format!("@{}", response.digest)) {
            return Err(HostError::refused(format!(
                "the host verified attestations of {}, not of {image}",
                response.digest
            )));
        }
        Ok(response.statements)
    }

    fn certificate_trusted(
        &mut self,
        certificate_pem: &str,
        chain_pem: &[String],
        not_after: Option<String>,
    ) -> Result<(), HostError> {
        let request = TrustRequest {
            cert: PemCertificate {
                encoding: "Pem",
                data: certificate_pem.as_bytes(),
            },
            cert_chain: Some(chain_pem.iter().map(|s| pem(s)).collect()),
            not_after,
        };
        let payload = encoded(&request)?;
        let bytes = self.call("crypto", "v1/is_certificate_trusted", &payload)?;
        let response: TrustResponse = serde_json::from_slice(&bytes).map_err(|e| {
            HostError::refused(format!(
                "cannot decode the host's is_certificate_trusted answer: {e}"
            ))
        })?;
        if response.trusted {
            Ok(())
        } else {
            Err(HostError::untrusted(response.reason))
        }
    }
}

/// A request's JSON, written into a buffer sized for the usual one (a key or a certificate and
/// an image name) rather than grown from empty.
fn encoded<T: Serialize + ?Sized>(request: &T) -> Result<Vec<u8>, HostError> {
    let mut payload = Vec::with_capacity(1024);
    serde_json::to_writer(&mut payload, request).map_err(HostError::encoding)?;
    Ok(payload)
}

fn pem(text: &str) -> PemCertificate<'_> {
    PemCertificate {
        encoding: "Pem",
        data: text.as_bytes(),
    }
}

/// A host call that did not answer "yes": what it means, read once here from the host's text so
/// that the authorities decide on a kind rather than on words, and that text (its first line,
/// bounded) for the messages, which quote it as policy-controller quotes cosign's errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostError {
    pub kind: HostFailure,
    reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostFailure {
    /// The manifest, tag or attestation asked for does not exist.
    NotFound,
    /// The host lacks the capability (an older Kubewarden, or one without ours).
    CapabilityMissing,
    /// `verify_attestations`: attestations exist, none of the wanted type; the types it verified.
    NoneOfType(Vec<String>),
    /// `verify_attestations`: attestations exist, none verifies; why.
    NoneVerifies(String),
    /// `verify`: the image carries no signatures at all.
    Unsigned,
    /// `is_certificate_trusted`: the certificate does not chain to the given CA; the host's why.
    Untrusted,
    /// Anything else, including an answer the guest cannot read or does not believe.
    Refused,
}

/// The words of `oci/v2/verify_attestations` answers (DESIGN.md §3.3), also used by the guest
/// for a statement it does not believe.
const NONE_VERIFIES: &str = "no attestation verifies: ";
const NO_ATTESTATIONS: &str = "no attestations found";
const VERIFIED_TYPES: &str = "verified predicate types: ";
const NO_SIGNATURES: &str = "no signatures found";
const NOT_TRUSTED: &str = "certificate not trusted";

impl HostError {
    /// The host's own failure text, classified.
    pub fn from_host(reason: String) -> HostError {
        HostError {
            kind: HostFailure::of(&reason),
            reason,
        }
    }

    /// A failure the guest found in an answer (undecodable, or not believed): never a kind
    /// read from words an answer may quote.
    pub fn refused(reason: String) -> HostError {
        HostError {
            kind: HostFailure::Refused,
            reason,
        }
    }

    /// Attestations returned by the host that the guest does not believe, as if the host had
    /// said none verifies.
    pub fn none_verifies(why: String) -> HostError {
        HostError {
            reason: format!("{NONE_VERIFIES}{why}"),
            kind: HostFailure::NoneVerifies(why),
        }
    }

    /// `is_certificate_trusted` said no, with the host's reason if it gave one.
    pub fn untrusted(reason: Option<String>) -> HostError {
        HostError {
            kind: HostFailure::Untrusted,
            reason: reason.unwrap_or_else(|| NOT_TRUSTED.to_string()),
        }
    }

    fn encoding(e: serde_json::Error) -> HostError {
        HostError::refused(e.to_string())
    }

    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl std::fmt::Display for HostError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl HostFailure {
    fn of(reason: &str) -> HostFailure {
        if let Some((_, list)) = reason.split_once(VERIFIED_TYPES) {
            let types: Vec<String> = serde_json::from_str(list.trim()).unwrap_or_default();
            if !types.is_empty() {
                return HostFailure::NoneOfType(types);
            }
        }
        if let Some((_, why)) = reason.split_once(NONE_VERIFIES) {
            return HostFailure::NoneVerifies(why.to_string());
        }
        let lower = reason.to_ascii_lowercase();
        if lower.contains("unknown operation")
            || lower.contains("unknown namespace")
            || lower.contains("has not been granted")
            || lower.contains("unknown variant `sigstorebundleverify`")
            || lower.contains("unknown oci/v2/verify request type: \"sigstorebundleverify\"")
        {
            return HostFailure::CapabilityMissing;
        }
        if lower.contains(NO_ATTESTATIONS)
            || lower.contains("manifest unknown")
            || lower.contains("not found")
            || has_word(&lower, "404")
        {
            return HostFailure::NotFound;
        }
        // cosign's own words, as policy-controller looks for them: case matters.
        if reason.contains(NO_SIGNATURES) {
            return HostFailure::Unsigned;
        }
        HostFailure::Refused
    }
}

/// `word` in `text` not inside a longer word: an HTTP status, not three digits of a digest.
fn has_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text.get(..at).and_then(|s| s.chars().next_back());
        let after = text.get(at + word.len()..).and_then(|s| s.chars().next());
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Longest piece of a host answer quoted back in a message.
const QUOTED_ANSWER_LIMIT: usize = 512;

/// An `oci/v2/verify` answer means "verified" only as `{"is_trusted": true, "digest": ...}` with
/// a JSON boolean: anything else, however close, is a failure that quotes the answer.
fn trusted_digest(bytes: &[u8]) -> Result<String, String> {
    // The usual answer, read without building a JSON tree; anything else, a duplicate key
    // included, takes the path below.
    if let Ok(VerifyResponse {
        is_trusted: true,
        digest,
    }) = serde_json::from_slice(bytes)
    {
        check_digest(&digest)?;
        return Ok(digest);
    }
    let answer: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("cannot decode the host's verify answer: {e}"))?;
    if answer.get("is_trusted") != Some(&serde_json::Value::Bool(true)) {
        return Err(format!(
            "the host did not verify the signatures: {}",
            quoted(&answer.to_string())
        ));
    }
    let digest = answer
        .get("digest")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            format!(
                "the host's verify answer has no digest: {}",
                quoted(&answer.to_string())
            )
        })?;
    check_digest(digest)?;
    Ok(digest.to_string())
}

/// At most `QUOTED_ANSWER_LIMIT` bytes of `text`, cut on a character boundary.
fn quoted(text: &str) -> String {
    if text.len() <= QUOTED_ANSWER_LIMIT {
        return text.to_string();
    }
    let mut end = QUOTED_ANSWER_LIMIT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", text.get(..end).unwrap_or_default())
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

/// waPC renders host failures as `Host error: <text>`; the text is the reason users need. Only
/// its first line is kept, bounded: Kubewarden's host appends the unmet constraints on further
/// lines (and a backtrace under `RUST_BACKTRACE`), which would break policy-controller's
/// one-line-per-error messages.
fn host_reason(error: &str) -> String {
    let reason = error.strip_prefix("Host error: ").unwrap_or(error);
    let first = reason
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or_default();
    if first.is_empty() {
        "the host gave no answer".to_string()
    } else {
        quoted(first)
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
    fn only_a_boolean_true_is_trusted() {
        let digest = format!("sha256:{}", "a".repeat(64));
        let ok = format!(r#"{{"digest":"{digest}","is_trusted":true}}"#);
        assert_eq!(trusted_digest(ok.as_bytes()), Ok(digest.clone()));
        for trusted in ["false", "null", "\"false\"", "\"true\"", "1", "{}"] {
            let answer = format!(r#"{{"digest":"{digest}","is_trusted":{trusted}}}"#);
            assert_eq!(
                trusted_digest(answer.as_bytes()),
                Err(format!("the host did not verify the signatures: {answer}")),
            );
        }
        let missing = format!(r#"{{"digest":"{digest}"}}"#);
        assert_eq!(
            trusted_digest(missing.as_bytes()),
            Err(format!("the host did not verify the signatures: {missing}")),
        );
        // A repeated key counts as its last value, as a JSON tree reads it.
        let twice = format!(r#"{{"is_trusted":false,"digest":"{digest}","is_trusted":true}}"#);
        assert_eq!(trusted_digest(twice.as_bytes()), Ok(digest.clone()));
        let twice = format!(r#"{{"is_trusted":true,"digest":"{digest}","is_trusted":false}}"#);
        assert_eq!(
            trusted_digest(twice.as_bytes()),
            Err(format!(
                r#"the host did not verify the signatures: {{"digest":"{digest}","is_trusted":false}}"#
            )),
        );
        assert_eq!(
            trusted_digest(br#"{"is_trusted":true,"digest":"sha256:ab"}"#),
            Err(r#"the host returned an invalid digest: "sha256:ab""#.to_string()),
        );
        assert_eq!(
            trusted_digest(br#"{"is_trusted":true}"#),
            Err(r#"the host's verify answer has no digest: {"is_trusted":true}"#.to_string()),
        );
    }

    #[test]
    fn host_failures_are_read_once_into_kinds() {
        let cases = [
            ("OCI API error: manifest unknown", HostFailure::NotFound),
            ("HTTP status 404", HostFailure::NotFound),
            (
                "no attestations found for image: r@sha256:a",
                HostFailure::NotFound,
            ),
            (
                "Callback evaluation failure: unknown operation: v2/verify_attestations",
                HostFailure::CapabilityMissing,
            ),
            (
                "capability oci/v2/verify_attestations has not been granted",
                HostFailure::CapabilityMissing,
            ),
            (
                r#"none of the wanted type; verified predicate types: ["https://spdx.dev/Document"]"#,
                HostFailure::NoneOfType(vec!["https://spdx.dev/Document".into()]),
            ),
            (
                "no attestation verifies: signature mismatch",
                HostFailure::NoneVerifies("signature mismatch".into()),
            ),
            (
                "no signature verifies with the given public key",
                HostFailure::Refused,
            ),
            (
                "Callback evaluation failure: no signatures found for image: r:1 ",
                HostFailure::Unsigned,
            ),
            ("No signatures found", HostFailure::Refused),
            // Three digits of a digest are not an HTTP status.
            (
                "connection reset while reading r@sha256:0a4041f",
                HostFailure::Refused,
            ),
            ("status 404: gone", HostFailure::NotFound),
        ];
        for (reason, kind) in cases {
            assert_eq!(HostFailure::of(reason), kind, "{reason}");
        }
    }

    #[test]
    fn host_errors_keep_their_first_line() {
        let kwctl = "Host error: Callback evaluation failure: Image verification failed: missing signatures\nThe following constraints were not satisfied:\nkind: genericIssuer\n\nStack backtrace:\n   0: x";
        assert_eq!(
            host_reason(kwctl),
            "Callback evaluation failure: Image verification failed: missing signatures"
        );
        assert_eq!(host_reason("Host error: \n  \n  late\n"), "late");
        assert_eq!(host_reason("Host error: "), "the host gave no answer");
        assert_eq!(
            host_reason(&"x".repeat(10_000)).len(),
            QUOTED_ANSWER_LIMIT + 3
        );
    }

    #[test]
    fn quoted_answers_are_bounded() {
        let long = "é".repeat(QUOTED_ANSWER_LIMIT);
        let q = quoted(&long);
        assert!(q.len() <= QUOTED_ANSWER_LIMIT + 3);
        assert!(q.ends_with("..."));
    }

    #[test]
    fn native_host_calls_fail_closed_with_a_reason() {
        let err = WapcHost::new().manifest_digest("nginx").unwrap_err();
        assert!(!err.reason().is_empty());
    }

    #[test]
    fn verify_requests_are_internally_tagged() {
        let request = VerifyRequest::SigstoreKeylessVerify {
            image: "i".into(),
            keyless: vec![KeylessInfo {
                issuer: "a".into(),
                subject: "b".into(),
            }],
            annotations: None,
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({"type": "SigstoreKeylessVerify", "image": "i", "keyless": [{"issuer": "a", "subject": "b"}], "annotations": null})
        );
    }
}
