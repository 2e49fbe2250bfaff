//! `SigstoreBundleVerify` served live through the referrers API: a small in-test registry
//! answers `/v2/<repo>/referrers/<digest>` (Debian's docker-registry, used by e2e.bats, has no
//! referrers API, so the fallback tag is what e2e exercises). Bundles are written by
//! `cip-host sign --bundle --bundle-out`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

// Only the environment of the shared registry helpers is used here.
#[allow(dead_code)]
#[path = "common/registry.rs"]
mod registry;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use cip_host::capabilities::Capabilities;
use registry::{scratch, Env};
use serde_json::{json, Value};
use sha2::Digest as _;

const CIP_HOST: &str = env!("CARGO_BIN_EXE_cip-host");
const INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// path -> (content type, body); `/v2/app/referrers/...` present only when the API is on.
type Routes = Arc<Mutex<BTreeMap<String, (String, Vec<u8>)>>>;

fn serve(routes: Routes) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let routes = routes.clone();
            std::thread::spawn(move || answer(stream, &routes));
        }
    });
    addr
}

fn answer(stream: TcpStream, routes: &Routes) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let mut parts = request.split(' ');
        let (method, path) = (parts.next().unwrap(), parts.next().unwrap_or("/"));
        let found = routes.lock().unwrap().get(path).cloned();
        let head = match &found {
            Some((content_type, body)) => format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nDocker-Content-Digest: {}\r\nContent-Length: {}\r\n\r\n",
                digest(body),
                body.len()
            ),
            None => "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n".to_string(),
        };
        out.write_all(head.as_bytes()).unwrap();
        if method != "HEAD" {
            out.write_all(found.map(|(_, b)| b).as_deref().unwrap_or(b"{}"))
                .unwrap();
        }
    }
}

fn cip_host(args: &[&str]) {
    let output = Command::new(CIP_HOST).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn put(routes: &Routes, path: String, content_type: &str, body: Vec<u8>) {
    routes
        .lock()
        .unwrap()
        .insert(path, (content_type.to_string(), body));
}

/// An image, and a key-signed bundle of it as a referrer (listed by the API when `api`).
fn setup(dir: &Path, api: bool) -> (Routes, String, String) {
    let routes: Routes = Arc::default();
    let addr = serve(routes.clone());
    let image = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.empty.v1+json","size":2,"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},"layers":[]}"#.to_vec();
    let image_digest = digest(&image);
    put(
        &routes,
        format!("/v2/app/manifests/{image_digest}"),
        MANIFEST,
        image.clone(),
    );
    put(
        &routes,
        "/v2/app/manifests/v1".into(),
        MANIFEST,
        image.clone(),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    cip_host(&["testca", "--out", &s(&dir.join("ca"))]);
    cip_host(&["keygen", "--out", &s(dir), "--name", "k"]);
    let bundle_path = dir.join("bundle.json");
    cip_host(&[
        "sign",
        "--bundle",
        "--testca",
        &s(&dir.join("ca")),
        "--bundle-out",
        &s(&bundle_path),
        "--key",
        &s(&dir.join("k.key")),
        &format!("{addr}/app@{image_digest}"),
    ]);
    let bundle = std::fs::read(&bundle_path).unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "size": 2,
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "artifactType": BUNDLE},
        "layers": [{"mediaType": BUNDLE, "size": bundle.len(), "digest": digest(&bundle)}],
        "annotations": {"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"},
        "subject": {"mediaType": MANIFEST, "size": image.len(), "digest": image_digest},
        "artifactType": BUNDLE
    }))
    .unwrap();
    put(
        &routes,
        format!("/v2/app/blobs/{}", digest(&bundle)),
        "application/octet-stream",
        bundle,
    );
    put(
        &routes,
        format!("/v2/app/manifests/{}", digest(&manifest)),
        MANIFEST,
        manifest.clone(),
    );
    if api {
        let index = serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [
            {"mediaType": MANIFEST, "size": manifest.len(), "digest": digest(&manifest), "artifactType": BUNDLE,
             "annotations": {"dev.sigstore.bundle.predicateType": "https://sigstore.dev/cosign/sign/v1"}}]}))
        .unwrap();
        put(
            &routes,
            format!("/v2/app/referrers/{image_digest}"),
            INDEX,
            index,
        );
    }
    (routes, addr, image_digest)
}

fn verify(dir: &Path, addr: &str, key: &str) -> Result<Value, String> {
    let env = Env::new(dir, addr);
    let caps = Capabilities::new(
        vec!["*".into()],
        Box::new(env.live(Some(&dir.join("ca/trust-config.json")))),
    );
    let request = json!({"type": "SigstoreBundleVerify", "image": format!("{addr}/app:v1"), "pub_keys": [key], "annotations": null});
    caps.call(
        "kubewarden",
        "oci",
        "v2/verify",
        request.to_string().as_bytes(),
    )
    .map(|bytes| serde_json::from_slice(&bytes).unwrap())
    .map_err(|e| e.to_string())
}

#[test]
fn a_bundle_listed_by_the_referrers_api_verifies() {
    let dir = scratch("bundles-api");
    let (_routes, addr, image_digest) = setup(&dir, true);
    let key = std::fs::read_to_string(dir.join("k.pub")).unwrap();
    assert_eq!(
        verify(&dir, &addr, &key).unwrap(),
        json!({"is_trusted": true, "digest": image_digest})
    );
    cip_host(&["keygen", "--out", dir.to_str().unwrap(), "--name", "other"]);
    let other = std::fs::read_to_string(dir.join("other.pub")).unwrap();
    let err = verify(&dir, &addr, &other).unwrap_err();
    assert!(
        err.starts_with("Callback evaluation failure: no bundle verifies: sha256:")
            && err.ends_with(": the DSSE signature does not verify with any of the keys"),
        "{err}"
    );
}

#[test]
fn without_the_api_or_a_fallback_tag_there_are_no_signatures() {
    let dir = scratch("bundles-none");
    let (_routes, addr, _) = setup(&dir, false);
    let key = std::fs::read_to_string(dir.join("k.pub")).unwrap();
    assert_eq!(
        verify(&dir, &addr, &key).unwrap_err(),
        "Callback evaluation failure: no signatures found"
    );
}
