//! Registry reads for the live capabilities. Every request has connect, read and total
//! deadlines, and every body is read chunk by chunk against a cap, so a slow or endless
//! registry meets an error naming it and the limit instead of hanging cip-host or filling its
//! memory. oci-client reads manifest and error bodies whole and has no total deadline, hence
//! this module; oci-client still pushes the test fixtures.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use oci_client::errors::{OciDistributionError, OciEnvelope};
use oci_client::Reference;
use reqwest::header::{ACCEPT, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use sha2::Digest as _;
use tokio::runtime::Handle;

/// Caps on what a registry sends (threats A8-A10); the README promises them.
pub const MAX_MANIFEST_BYTES: usize = 4 << 20;
pub const MAX_BLOB_BYTES: usize = 16 << 20;
pub const MAX_LAYERS: usize = 128;
/// Error answers are read only for their message; the rest is dropped.
const MAX_ERROR_BYTES: usize = 64 << 10;
const MAX_TOKEN_BYTES: usize = 1 << 20;

const DIGEST_HEADER: &str = "docker-content-digest";

/// Deadlines of one registry operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP (and TLS) connection set-up.
    pub connect: Duration,
    /// Longest wait for the next bytes of an answer.
    pub read: Duration,
    /// One whole operation (a manifest, a blob, a signature check's registry reads), whatever
    /// the registry's pace: a registry trickling bytes never trips the read deadline.
    pub total: Duration,
}

impl Timeouts {
    /// Below the guest's default 10 s deadline, so that a slow registry is named in the
    /// denial instead of the guest's generic timeout.
    pub const DEFAULT_TOTAL: Duration = Duration::from_secs(8);
    const CONNECT: Duration = Duration::from_secs(3);
    const READ: Duration = Duration::from_secs(5);

    /// `total` per operation; the connect and read deadlines are never longer.
    pub fn with_total(total: Duration) -> Self {
        Timeouts {
            connect: total.min(Self::CONNECT),
            read: total.min(Self::READ),
            total,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::with_total(Timeouts::DEFAULT_TOTAL)
    }
}

/// Why a registry read failed.
#[derive(Debug)]
pub enum FetchError {
    /// The registry answered with an error status: oci-client's error, so that messages
    /// (`manifest unknown`...) read as they did when oci-client made the request.
    Status(OciDistributionError),
    /// A deadline, a cap, a transport failure or a wrong digest.
    Other(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Status(e) => f.write_str(&super::error_chain(e)),
            FetchError::Other(text) => f.write_str(text),
        }
    }
}

impl FetchError {
    /// The tag or repository does not exist.
    pub fn is_not_found(&self) -> bool {
        use oci_client::errors::{OciDistributionError as E, OciErrorCode};
        match self {
            FetchError::Status(E::RegistryError { envelope, .. }) => {
                envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown
                    )
                })
            }
            FetchError::Status(E::ServerError { code, .. }) => *code == 404,
            _ => false,
        }
    }
}

/// `4 MiB`, `64 KiB`, `100 bytes`.
pub fn size_text(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

fn seconds_text(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// The `realm`, `service` and `scope` of a `WWW-Authenticate: Bearer ...` challenge.
fn bearer_challenge(header: &str) -> Option<HashMap<String, String>> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                match (escaped, c) {
                    (false, '\\') => escaped = true,
                    (false, '"') => break,
                    _ => {
                        escaped = false;
                        value.push(c);
                    }
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    params.contains_key("realm").then_some(params)
}

/// The registry reads of one session (anonymous pulls; bearer tokens cached per repository).
pub struct Fetcher {
    client: reqwest::Client,
    insecure: Vec<String>,
    timeouts: Timeouts,
    tokens: Mutex<HashMap<String, String>>,
}

impl Fetcher {
    /// `insecure`: registries spoken to over plain HTTP (kwctl's `insecure_sources`).
    pub fn new(insecure: Vec<String>, timeouts: Timeouts) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.read)
            .user_agent(concat!("cip-host/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the registry HTTP client: {e}"))?;
        Ok(Fetcher {
            client,
            insecure,
            timeouts,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    pub fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// Runs one registry operation on `handle` under the total deadline.
    pub fn run<T>(
        &self,
        handle: &Handle,
        registry: &str,
        operation: impl Future<Output = Result<T, FetchError>>,
    ) -> Result<T, FetchError> {
        self.run_any(handle, registry, operation)?
    }

    /// [`Fetcher::run`] for a future of any output (the sigstore crate's registry reads).
    pub fn run_any<T>(
        &self,
        handle: &Handle,
        registry: &str,
        operation: impl Future<Output = T>,
    ) -> Result<T, FetchError> {
        handle
            // the timer needs the runtime's context: made inside block_on
            .block_on(async { tokio::time::timeout(self.timeouts.total, operation).await })
            .map_err(|_| {
                FetchError::Other(format!(
                    "registry {registry}: no complete answer within {} (registry timeout)",
                    seconds_text(self.timeouts.total)
                ))
            })
    }

    fn url(&self, reference: &Reference, kind: &str, id: &str) -> String {
        let registry = reference.resolve_registry();
        let scheme = if self.insecure.iter().any(|s| s == registry) {
            "http"
        } else {
            "https"
        };
        format!(
            "{scheme}://{registry}/v2/{}/{kind}/{id}",
            reference.repository()
        )
    }

    fn transport(&self, registry: &str, err: &reqwest::Error) -> FetchError {
        FetchError::Other(if err.is_connect() && err.is_timeout() {
            format!(
                "registry {registry}: no connection within {} (connect timeout)",
                seconds_text(self.timeouts.connect)
            )
        } else if err.is_timeout() {
            format!(
                "registry {registry}: no data for {} (read timeout)",
                seconds_text(self.timeouts.read)
            )
        } else {
            format!("registry {registry}: {}", super::error_chain(err))
        })
    }

    /// Reads the whole body, failing as soon as it passes `max` bytes.
    async fn body(
        &self,
        registry: &str,
        mut response: Response,
        max: usize,
        what: &str,
    ) -> Result<Vec<u8>, FetchError> {
        let too_large = || {
            FetchError::Other(format!(
                "registry {registry}: {what} larger than {}",
                size_text(max)
            ))
        };
        if response
            .content_length()
            .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > max))
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport(registry, &e))?
        {
            if body.len().saturating_add(chunk.len()) > max {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// An error status as oci-client reports it, from at most [`MAX_ERROR_BYTES`] of body.
    async fn status_error(&self, mut response: Response, url: &str) -> FetchError {
        let status = response.status();
        let mut body = Vec::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            let room = MAX_ERROR_BYTES.saturating_sub(body.len());
            body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
            if body.len() >= MAX_ERROR_BYTES {
                break;
            }
        }
        let url = url.to_string();
        FetchError::Status(if status == StatusCode::UNAUTHORIZED {
            OciDistributionError::UnauthorizedError { url }
        } else if status.is_client_error() {
            match serde_json::from_slice::<OciEnvelope>(&body) {
                Ok(envelope) => OciDistributionError::RegistryError { envelope, url },
                Err(_) => OciDistributionError::ServerError {
                    code: status.as_u16(),
                    url,
                    message: String::from_utf8_lossy(&body).into_owned(),
                },
            }
        } else {
            OciDistributionError::ServerError {
                code: status.as_u16(),
                url,
                message: String::from_utf8_lossy(&body).into_owned(),
            }
        })
    }

    /// An anonymous pull token from the challenge's realm.
    async fn token(
        &self,
        reference: &Reference,
        challenge: &HashMap<String, String>,
    ) -> Result<String, FetchError> {
        let registry = reference.resolve_registry();
        let realm = challenge.get("realm").map(String::as_str).unwrap_or("");
        let mut url = url::Url::parse(realm).map_err(|e| {
            FetchError::Other(format!(
                "registry {registry}: invalid token realm {realm:?}: {e}"
            ))
        })?;
        url.query_pairs_mut().append_pair(
            "scope",
            &format!("repository:{}:pull", reference.repository()),
        );
        if let Some(service) = challenge.get("service") {
            url.query_pairs_mut().append_pair("service", service);
        }
        let response = self
            .client
            .get(url.as_str())
            .send()
            .await
            .map_err(|e| self.transport(registry, &e))?;
        if response.status() != StatusCode::OK {
            return Err(self.status_error(response, url.as_str()).await);
        }
        let body = self
            .body(registry, response, MAX_TOKEN_BYTES, "token answer")
            .await?;
        #[derive(serde::Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&body).map_err(|e| {
            FetchError::Other(format!("registry {registry}: invalid token answer: {e}"))
        })?;
        token.token.or(token.access_token).ok_or_else(|| {
            FetchError::Other(format!(
                "registry {registry}: the token answer has no token"
            ))
        })
    }

    /// Sends a request, fetching a bearer token once if the registry asks for one.
    async fn send(
        &self,
        reference: &Reference,
        method: Method,
        url: &str,
        accept: &[&str],
    ) -> Result<Response, FetchError> {
        let registry = reference.resolve_registry();
        let key = format!("{registry}/{}", reference.repository());
        let mut fresh_token = false;
        loop {
            let token = self
                .tokens
                .lock()
                .ok()
                .and_then(|tokens| tokens.get(&key).cloned());
            let mut request = self.client.request(method.clone(), url);
            if !accept.is_empty() {
                request = request.header(ACCEPT, accept.join(", "));
            }
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request
                .send()
                .await
                .map_err(|e| self.transport(registry, &e))?;
            if response.status() != StatusCode::UNAUTHORIZED || fresh_token {
                return Ok(response);
            }
            let Some(challenge) = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|h| h.to_str().ok())
                .and_then(bearer_challenge)
            else {
                return Ok(response);
            };
            let token = self.token(reference, &challenge).await?;
            if let Ok(mut tokens) = self.tokens.lock() {
                tokens.insert(key.clone(), token);
            }
            fresh_token = true;
        }
    }

    /// Where the manifest `reference` names lives: by digest, else by tag (`latest` by default).
    fn manifest_url(&self, reference: &Reference) -> String {
        let id = reference
            .digest()
            .or_else(|| reference.tag())
            .unwrap_or("latest");
        self.url(reference, "manifests", id)
    }

    /// The manifest of `reference` (at most [`MAX_MANIFEST_BYTES`]) and its digest, checked
    /// against the reference's digest and the registry's digest header.
    pub async fn manifest(
        &self,
        reference: &Reference,
        accept: &[&str],
    ) -> Result<(Vec<u8>, String), FetchError> {
        let registry = reference.resolve_registry();
        let url = self.manifest_url(reference);
        let response = self.send(reference, Method::GET, &url, accept).await?;
        if response.status() != StatusCode::OK {
            return Err(self.status_error(response, &url).await);
        }
        let header = digest_header(&response);
        let body = self
            .body(registry, response, MAX_MANIFEST_BYTES, "manifest")
            .await?;
        let digest = sha256_digest(&body);
        for (claimed, source) in [
            (reference.digest(), "reference"),
            (header.as_deref(), "header"),
        ] {
            if let Some(claimed) = claimed.filter(|c| c.starts_with("sha256:")) {
                if claimed != digest {
                    return Err(FetchError::Other(format!(
                        "registry {registry}: the manifest of {reference} has the digest {digest}, not {claimed} (its {source})"
                    )));
                }
            }
        }
        Ok((body, digest))
    }

    /// The digest `reference` resolves to: the registry's digest header of a HEAD request,
    /// else the digest of the manifest itself (which also brings the registry's error).
    pub async fn manifest_digest(
        &self,
        reference: &Reference,
        accept: &[&str],
    ) -> Result<String, FetchError> {
        let registry = reference.resolve_registry();
        let url = self.manifest_url(reference);
        let response = self.send(reference, Method::HEAD, &url, accept).await?;
        let header = digest_header(&response);
        match header {
            Some(digest) if response.status() == StatusCode::OK => {
                if let Some(want) = reference.digest() {
                    if want != digest {
                        return Err(FetchError::Other(format!(
                            "registry {registry}: {reference} resolves to the digest {digest}"
                        )));
                    }
                }
                Ok(digest)
            }
            _ => self.manifest(reference, accept).await.map(|(_, d)| d),
        }
    }

    /// The blob `digest` of `reference`'s repository, at most `max` bytes, whose sha256 must
    /// be `digest`.
    /// `GET /v2/<repo>/referrers/<digest>`: the index when the registry serves the referrers
    /// API (a 200 with the OCI index type), `None` otherwise, where ggcr (cosign) falls back to
    /// the `sha256-<hex>` tag.
    pub async fn referrers(
        &self,
        reference: &Reference,
        digest: &str,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
        let registry = reference.resolve_registry();
        let url = self.url(reference, "referrers", digest);
        let response = self
            .send(reference, Method::GET, &url, &[OCI_INDEX])
            .await?;
        let is_index = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim() == OCI_INDEX);
        if response.status() != StatusCode::OK || !is_index {
            return Ok(None);
        }
        self.body(registry, response, MAX_MANIFEST_BYTES, "referrers index")
            .await
            .map(Some)
    }

    pub async fn blob(
        &self,
        reference: &Reference,
        digest: &str,
        max: usize,
    ) -> Result<Vec<u8>, FetchError> {
        let registry = reference.resolve_registry();
        if !digest.starts_with("sha256:") {
            return Err(FetchError::Other(format!(
                "the blob digest {digest:?} is not a sha256 digest"
            )));
        }
        let url = self.url(reference, "blobs", digest);
        let response = self.send(reference, Method::GET, &url, &[]).await?;
        if response.status() != StatusCode::OK {
            return Err(self.status_error(response, &url).await);
        }
        let body = self
            .body(registry, response, max, &format!("blob {digest}"))
            .await?;
        let got = sha256_digest(&body);
        if got != digest {
            return Err(FetchError::Other(format!(
                "registry {registry}: the blob {digest} has the digest {got}"
            )));
        }
        Ok(body)
    }
}

/// The registry's `Docker-Content-Digest` header, when it sent a readable one.
fn digest_header(response: &Response) -> Option<String> {
    response
        .headers()
        .get(DIGEST_HEADER)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = bearer_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c["realm"], "https://auth.docker.io/token");
        assert_eq!(c["service"], "registry.docker.io");
        assert_eq!(c["scope"], "repository:a/b:pull,push");
        assert_eq!(
            bearer_challenge("bearer realm=https://x/t")
                .unwrap()
                .get("realm")
                .map(String::as_str),
            Some("https://x/t")
        );
        assert!(bearer_challenge(r#"Basic realm="x""#).is_none());
        assert!(bearer_challenge("Bearer service=\"x\"").is_none());
        assert!(bearer_challenge("Bearer").is_none());
    }

    #[test]
    fn sizes_and_defaults() {
        assert_eq!(size_text(MAX_MANIFEST_BYTES), "4 MiB");
        assert_eq!(size_text(MAX_BLOB_BYTES), "16 MiB");
        assert_eq!(size_text(MAX_ERROR_BYTES), "64 KiB");
        assert_eq!(size_text(100), "100 bytes");
        let t = Timeouts::default();
        assert_eq!(
            (t.connect, t.read, t.total),
            (
                Duration::from_secs(3),
                Duration::from_secs(5),
                Duration::from_secs(8)
            )
        );
        let short = Timeouts::with_total(Duration::from_secs(1));
        assert_eq!((short.connect, short.read), (short.total, short.total));
    }
}
