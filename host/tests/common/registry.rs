//! A real registry for the live tests (signatures.rs, attestations.rs): Debian's
//! `docker-registry` started on a free port, images pushed to it, and the `cip-host` key
//! and test-CA fixtures. Declared by those tests with `#[path]`, apart from `common/mod.rs`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cip_host::capabilities::live::Live;
use cip_host::capabilities::oci::{Registry, Sources};
use cip_host::capabilities::signatures::{TrustRoot, Verifier};
use oci_client::client::{Config, ImageLayer};
use oci_client::Reference;
use serde_json::Value;

const CIP_HOST: &str = env!("CARGO_BIN_EXE_cip-host");
pub const ISSUER: &str = "https://issuer.example.com";
pub const ALICE: &str = "alice@example.com";

pub struct Kill(Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cip-host-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn start_registry(dir: &Path) -> (Kill, String) {
    assert!(
        which("docker-registry"),
        "the live registry tests need docker-registry (Debian package docker-registry) on PATH; \
         .ci/run installs it"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = dir.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog: {{level: warn}}\nstorage: {{filesystem: {{rootdirectory: {}}}}}\nhttp: {{addr: {addr}}}\n",
            dir.join("data").display()
        ),
    )
    .unwrap();
    let child = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let child = Kill(child);
    let start = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "registry did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, addr)
}

fn run(args: &[&str]) -> String {
    let out = Command::new(CIP_HOST).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "cip-host {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub struct Env {
    runtime: tokio::runtime::Runtime,
    sources: Sources,
    sources_path: PathBuf,
}

impl Env {
    /// Writes `dir/sources.yml` with the registry at `addr` as an insecure source.
    pub fn new(dir: &Path, addr: &str) -> Env {
        let sources_path = dir.join("sources.yml");
        std::fs::write(&sources_path, format!("insecure_sources: [\"{addr}\"]\n")).unwrap();
        Env {
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap(),
            sources: Sources::load(&sources_path).unwrap(),
            sources_path,
        }
    }

    pub fn registry(&self) -> Registry {
        Registry::new(&self.sources, self.runtime.handle().clone()).unwrap()
    }

    pub fn live(&self, trust: Option<&Path>) -> Live {
        let trust = trust.map(|p| TrustRoot::load(p).unwrap());
        Live::new(
            self.registry(),
            Verifier::new(&self.sources, trust).unwrap(),
        )
    }

    /// Pushes a one-layer image; returns `repo@sha256:...`.
    pub fn push_image(&self, repo: &str, content: &str) -> String {
        let reference: Reference = format!("{repo}:v1").parse().unwrap();
        let layer = ImageLayer::new(
            content.as_bytes().to_vec(),
            "application/vnd.oci.image.layer.v1.tar".to_string(),
            None,
        );
        let config = Config::new(
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{}}"#.to_vec(),
            "application/vnd.oci.image.config.v1+json".to_string(),
            None,
        );
        let registry = self.registry();
        let mut manifest = oci_client::manifest::OciImageManifest::build(
            std::slice::from_ref(&layer),
            &config,
            None,
        );
        manifest.media_type = Some(oci_client::manifest::OCI_IMAGE_MEDIA_TYPE.to_string());
        registry
            .push(&reference, &[layer], &config, &manifest)
            .unwrap();
        let digest = registry.digest_of(&reference).unwrap();
        format!("{repo}@{digest}")
    }

    /// `cip-host <subcommand> --sources-path <ours> <extra...> <image>`.
    fn push_with(&self, subcommand: &str, image: &str, extra: &[&str]) {
        let mut args = vec![
            subcommand,
            "--sources-path",
            self.sources_path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.push(image);
        run(&args);
    }

    pub fn sign(&self, image: &str, extra: &[&str]) {
        self.push_with("sign", image, extra);
    }

    #[allow(dead_code)] // signatures.rs pushes no attestations
    pub fn attest(&self, image: &str, extra: &[&str]) {
        self.push_with("attest", image, extra);
    }

    /// The first signing certificate in `image`'s cosign manifest `suffix` (`sig`, `att`).
    pub fn leaf_pem(&self, image: &str, suffix: &str) -> String {
        let reference: Reference = image.parse().unwrap();
        let digest = reference.digest().unwrap().to_string();
        let manifest = self
            .registry()
            .cosign_manifest(&reference, &digest, suffix)
            .unwrap()
            .unwrap();
        manifest
            .layers
            .iter()
            .find_map(|l| {
                l.annotations
                    .as_ref()?
                    .get("dev.sigstore.cosign/certificate")
                    .cloned()
            })
            .unwrap()
    }
}

/// The key and test-CA fixtures, written below a scratch directory.
pub struct Fixtures {
    pub keys: PathBuf,
    pub ca: PathBuf,
    pub ca2: PathBuf,
    /// `ca`'s trust config.
    pub trust: PathBuf,
    /// The public keys `cosign.pub` and `other.pub`.
    pub key1: String,
    pub key2: String,
}

impl Fixtures {
    /// Two key pairs (`dir/keys/cosign.*`, `dir/keys/other.*`) and two test CAs (`dir/ca`,
    /// `dir/ca2`).
    pub fn make(dir: &Path) -> Fixtures {
        let keys = dir.join("keys");
        run(&["keygen", "--out", keys.to_str().unwrap()]);
        run(&["keygen", "--out", keys.to_str().unwrap(), "--name", "other"]);
        let ca = dir.join("ca");
        let ca2 = dir.join("ca2");
        run(&["testca", "--out", ca.to_str().unwrap()]);
        run(&["testca", "--out", ca2.to_str().unwrap()]);
        let trust = ca.join("trust-config.json");
        let key1 = std::fs::read_to_string(keys.join("cosign.pub")).unwrap();
        let key2 = std::fs::read_to_string(keys.join("other.pub")).unwrap();
        Fixtures {
            keys,
            ca,
            ca2,
            trust,
            key1,
            key2,
        }
    }
}

/// The `sign`/`attest` arguments for a keyless signature by the test CA `ca`, for `identity`
/// at `ISSUER`.
pub fn keyless_args(ca: &Path, identity: &str) -> Vec<String> {
    let s = |p: &Path| p.to_str().unwrap().to_string();
    vec![
        "--ca-key".into(),
        s(&ca.join("ca.key")),
        "--ca-cert".into(),
        s(&ca.join("ca.pem")),
        "--rekor-key".into(),
        s(&ca.join("rekor.key")),
        "--identity".into(),
        identity.into(),
        "--issuer".into(),
        ISSUER.into(),
    ]
}

/// `trust` with the transparency-log keys of `other` (another CA's trust config), written to
/// `dir/mixed-trust-config.json`: the right CA, but a log key the trust root does not know.
pub fn mixed_trust(dir: &Path, trust: &Path, other: &Path) -> PathBuf {
    let mut mixed: Value = serde_json::from_str(&std::fs::read_to_string(trust).unwrap()).unwrap();
    let other: Value = serde_json::from_str(&std::fs::read_to_string(other).unwrap()).unwrap();
    mixed["trustedRoot"]["tlogs"] = other["trustedRoot"]["tlogs"].clone();
    let mixed_path = dir.join("mixed-trust-config.json");
    std::fs::write(&mixed_path, mixed.to_string()).unwrap();
    mixed_path
}
