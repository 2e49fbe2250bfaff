//! `cip-host`: a local Kubewarden host (see `cip-host --help`).
#![forbid(unsafe_code)]
#![deny(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{ArgGroup, Args, Parser, Subcommand};

use cip_host::{EngineOptions, Evaluator, GuestError, HostOptions};

mod scaffold;
mod tester;

#[derive(Parser)]
#[command(
    name = "cip-host",
    version,
    about = "A local Kubewarden host for waPC policies"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate one admission request, as `kwctl run`.
    Run(RunArgs),
    /// Embed metadata.yml into the Wasm module, as `kwctl annotate`.
    Annotate(AnnotateArgs),
    /// Test fixture: write an ECDSA P-256 key pair (DIR/NAME.key, DIR/NAME.pub).
    Keygen(KeygenArgs),
    /// Test fixture: write a test CA, a test transparency-log key and their ClientTrustConfig.
    Testca(TestcaArgs),
    /// Test fixture: push a cosign signature (key or keyless with the test CA) for an image.
    Sign(SignArgs),
    /// Repeated `validate` calls on one request with a warm instance: guest time (p50, p99),
    /// host calls per request and their time, module load and instantiation.
    Bench(BenchArgs),
    /// One CUE or Rego policy against one JSON/YAML document, as an attestation policy or a
    /// CIP's spec.policy is evaluated (exit 0 silently on pass; exit 1 with policy-controller's
    /// message on failure).
    Evaluate(EvaluateArgs),
    /// Test fixture: push a cosign attestation (an in-toto statement in a DSSE envelope, key
    /// or keyless with the test CA) for an image.
    Attest(AttestArgs),
    /// policy-controller's `policy-tester`: one image against the CIPs of a file, judged by
    /// the policy (exit 0 silently on pass; exit 1 with `{"errors":[...],"warnings":[...]}`).
    Test(TestArgs),
    /// Generate a file from metadata.yml, as `kwctl scaffold`.
    #[command(subcommand)]
    Scaffold(ScaffoldCommand),
}

#[derive(Args)]
struct TestArgs {
    /// CIP documents (multi-document YAML, `---`).
    #[arg(long)]
    policy: PathBuf,
    /// The image reference to test (tag or digest).
    #[arg(long)]
    image: String,
    /// A Kubernetes resource whose kind, apiVersion and labels `spec.match` is checked against.
    #[arg(long)]
    resource: Option<PathBuf>,
    /// sources.yml (`insecure_sources`).
    #[arg(long)]
    sources_path: Option<PathBuf>,
    /// sigstore ClientTrustConfig JSON.
    #[arg(long)]
    sigstore_trust_config: Option<PathBuf>,
    #[command(flatten)]
    deadline: DeadlineArgs,
    /// The policy module.
    #[arg(default_value = "policy.wasm")]
    wasm: PathBuf,
}

/// Ok(true) when the image passed; the tester's JSON line is printed on failure.
fn test(args: TestArgs) -> Result<bool> {
    let (policies, identity) = tester::load(&args.policy, args.resource.as_deref())?;
    let options = HostOptions {
        sources_path: args.sources_path,
        sigstore_trust_config: args.sigstore_trust_config,
        timeout: args.deadline.timeout(),
        ..HostOptions::default()
    };
    let evaluator = Evaluator::new(&args.wasm, options)?;
    let outcome = tester::Test {
        evaluator: &evaluator,
        policies,
        image: &args.image,
        identity,
    }
    .run()?;
    if outcome.errors.is_empty() {
        eprintln!("Verification was successful!");
        return Ok(true);
    }
    println!("{}", serde_json::to_string(&outcome)?);
    Ok(false)
}

#[derive(Subcommand)]
enum ScaffoldCommand {
    /// artifacthub-pkg.yml, field for field as `kwctl scaffold artifacthub`, plus the README.
    Artifacthub(ArtifacthubArgs),
}

#[derive(Args)]
struct ArtifacthubArgs {
    /// metadata.yml
    #[arg(short = 'm', long)]
    metadata_path: PathBuf,
    /// questions-ui.yml (Rancher UI questions), stored as `kubewarden/questions-ui`.
    #[arg(short = 'q', long)]
    questions_path: Option<PathBuf>,
    /// README.md, stored as `readme`.
    #[arg(short = 'u', long)]
    readme_path: Option<PathBuf>,
    /// Write here (keeping its createdAt while the version is unchanged) instead of stdout.
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
    /// Compare with --output instead of writing it; exit 1 when it is stale.
    #[arg(long, requires = "output")]
    check: bool,
}

#[derive(Args)]
struct BenchArgs {
    /// AdmissionRequest or AdmissionReview (JSON or YAML).
    #[arg(short = 'r', long)]
    request_path: PathBuf,
    /// Settings (YAML or JSON).
    #[arg(short = 's', long)]
    settings_path: Option<PathBuf>,
    /// Recorded host answers for one request; replayed again for every iteration.
    #[arg(long)]
    replay_host_capabilities_interactions: Option<PathBuf>,
    #[arg(long)]
    sources_path: Option<PathBuf>,
    #[arg(long)]
    sigstore_trust_config: Option<PathBuf>,
    /// Measured requests.
    #[arg(long, default_value_t = 2000)]
    iterations: usize,
    /// A new instance from the pre-instantiated module for every request, as policy-server
    /// does (it rehydrates the policy per validation); the time then includes instantiation.
    #[arg(long)]
    fresh_instance: bool,
    /// The policy module.
    policy: PathBuf,
}

/// `--timeout-seconds` of `run` and `evaluate`.
#[derive(Args)]
struct DeadlineArgs {
    /// Interrupt a guest call after this many seconds (0: never).
    #[arg(long, default_value_t = 10)]
    timeout_seconds: u64,
}

impl DeadlineArgs {
    fn timeout(&self) -> Option<Duration> {
        (self.timeout_seconds > 0).then(|| Duration::from_secs(self.timeout_seconds))
    }
}

#[derive(Args)]
struct EvaluateArgs {
    /// Policy language: `cue` or `rego` (as an authority's `policy.type`).
    #[arg(long = "type", default_value = "cue")]
    policy_type: String,
    /// What the policy is: an attestation's policy over an in-toto statement, or a CIP's
    /// `spec.policy` over a PolicyResult (`authorityMatches`, `config`, `spec`, `metadata`,
    /// `typemeta`; messages then name `ClusterImagePolicy`).
    #[arg(long, value_enum, default_value_t = PolicyKind::Attestation)]
    kind: PolicyKind,
    /// The policy text.
    #[arg(long)]
    policy: PathBuf,
    /// The document (JSON or YAML): an in-toto statement, or a PolicyResult with `--kind cip`.
    #[arg(long)]
    input: PathBuf,
    /// The name in messages (an attestation's name).
    #[arg(long, default_value = "ClusterImagePolicy")]
    name: String,
    #[command(flatten)]
    deadline: DeadlineArgs,
    /// The policy module whose evaluator runs the policy [default: policy.wasm next to this
    /// binary, then in the current folder].
    wasm: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum PolicyKind {
    Attestation,
    Cip,
}

/// `policy.wasm` next to the binary, then in the current folder.
fn find_policy_wasm() -> Result<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("policy.wasm")));
    let here = PathBuf::from("policy.wasm");
    let candidates: Vec<PathBuf> = beside.into_iter().chain([here]).collect();
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    bail!(
        "no policy module given and none found (looked for {}); pass the path to policy.wasm",
        looked.join(", ")
    )
}

#[derive(Args)]
struct KeygenArgs {
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// File name stem.
    #[arg(long, default_value = "cosign")]
    name: String,
}

#[derive(Args)]
struct TestcaArgs {
    /// Output directory (ca.pem, ca.key, rekor.key, rekor.pub, rekor2.key, rekor2.pub,
    /// tsa.key, tsa-chain.pem, trust-config.json).
    #[arg(long)]
    out: PathBuf,
}

/// The signer options of `sign` and `attest`.
#[derive(Args)]
#[command(group(ArgGroup::new("signer").required(true).args(["key", "ca_key"])))]
struct SignerArgs {
    /// sources.yml (`insecure_sources`).
    #[arg(long)]
    sources_path: Option<PathBuf>,
    /// PEM private key (PKCS#8 or SEC1, unencrypted, P-256).
    #[arg(long)]
    key: Option<PathBuf>,
    /// Keyless: the test CA's private key.
    #[arg(long, requires_all = ["ca_cert", "rekor_key", "identity", "issuer"])]
    ca_key: Option<PathBuf>,
    /// Keyless: the test CA's certificate.
    #[arg(long)]
    ca_cert: Option<PathBuf>,
    /// Keyless: the test transparency-log private key.
    #[arg(long)]
    rekor_key: Option<PathBuf>,
    /// Keyless: the certificate's subject (an email, or a URI).
    #[arg(long)]
    identity: Option<String>,
    /// Keyless: the OIDC issuer written in the certificate.
    #[arg(long)]
    issuer: Option<String>,
    /// Keyless: leaf notBefore, seconds from now.
    #[arg(long, default_value_t = -60, allow_negative_numbers = true)]
    not_before: i64,
    /// Keyless: leaf notAfter, seconds from now.
    #[arg(long, default_value_t = 600, allow_negative_numbers = true)]
    not_after: i64,
    /// Keyless: the Rekor bundle's integratedTime, seconds from now.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    integrated_time: i64,
}

impl SignerArgs {
    /// The sources path, and the signer the options name.
    fn into_signer(self) -> Result<(Option<PathBuf>, cip_host::fixtures::Signer)> {
        use cip_host::fixtures::{Keyless, Signer};
        let signer = match (self.key, self.ca_key) {
            (Some(key), None) => Signer::Key(key),
            (None, Some(ca_key)) => {
                let missing = |what: &str| anyhow::anyhow!("keyless signing needs {what}");
                Signer::Keyless(Keyless {
                    ca_key,
                    ca_cert: self.ca_cert.ok_or_else(|| missing("--ca-cert"))?,
                    rekor_key: self.rekor_key.ok_or_else(|| missing("--rekor-key"))?,
                    identity: self.identity.ok_or_else(|| missing("--identity"))?,
                    issuer: self.issuer.ok_or_else(|| missing("--issuer"))?,
                    not_before: self.not_before,
                    not_after: self.not_after,
                    integrated_time: self.integrated_time,
                })
            }
            _ => bail!("give either --key or --ca-key (keyless)"),
        };
        Ok((self.sources_path, signer))
    }
}

/// `--bundle`: cosign v3's sigstore bundle pushed as an OCI referrer.
#[derive(Args)]
struct BundleArgs {
    /// Write cosign v3's layout: a sigstore bundle v0.3 (DSSE over an in-toto statement,
    /// Rekor v2 entry, RFC 3161 timestamp) as a referrer manifest plus the fallback index
    /// under the tag sha256-<hex>.
    #[arg(long, requires = "testca")]
    bundle: bool,
    /// With --bundle: the `cip-host testca --out` directory (log keys and the TSA).
    #[arg(long, requires = "bundle")]
    testca: Option<PathBuf>,
    /// With --bundle: a Rekor v1 dsse entry (integrated time, SET, inclusion proof).
    #[arg(long, requires = "bundle")]
    rekor_v1: bool,
    /// With --bundle: no RFC 3161 timestamp.
    #[arg(long, requires = "bundle")]
    no_timestamp: bool,
    /// With --bundle: write the bundle JSON to this file and push nothing.
    #[arg(long, requires = "bundle")]
    bundle_out: Option<PathBuf>,
    /// Negative fixture: the bundle's version (0.3 or 0.2).
    #[arg(long, default_value = "0.3", hide = true, requires = "bundle")]
    bundle_version: String,
    /// Negative fixture: alter the DSSE payload after signing.
    #[arg(long, hide = true, requires = "bundle")]
    tamper_payload: bool,
    /// Negative fixture: log a valid entry for another envelope of the same signer.
    #[arg(long, hide = true, requires = "bundle")]
    log_entry_for_other_envelope: bool,
    /// Negative fixture: the fallback tag holds the subject manifest itself (GitLab).
    #[arg(long, hide = true, requires = "bundle")]
    gitlab_fallback: bool,
}

impl BundleArgs {
    fn options(self) -> Option<cip_host::fixtures::BundleOptions> {
        let testca = self.testca.filter(|_| self.bundle)?;
        Some(cip_host::fixtures::BundleOptions {
            testca,
            rekor_v1: self.rekor_v1,
            no_timestamp: self.no_timestamp,
            bundle_version: self.bundle_version,
            tamper_payload: self.tamper_payload,
            log_entry_for_other_envelope: self.log_entry_for_other_envelope,
            gitlab_fallback: self.gitlab_fallback,
            bundle_out: self.bundle_out,
        })
    }
}

#[derive(Args)]
struct SignArgs {
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    bundle: BundleArgs,
    /// Annotation written in the payload's `optional` map (repeatable); with --bundle, in
    /// the statement subject's annotations.
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// With --bundle, negative fixture: `sha256:<hex>` written as the statement's subject.
    #[arg(long, hide = true, requires = "bundle")]
    subject_digest: Option<String>,
    /// `repo@sha256:...` or `repo:tag`.
    image: String,
}

#[derive(Args)]
struct AttestArgs {
    #[command(flatten)]
    signer: SignerArgs,
    #[command(flatten)]
    bundle: BundleArgs,
    /// JSON file: the statement's predicate.
    #[arg(long)]
    predicate: PathBuf,
    /// Predicate type: a URI, or one of cosign's names (custom, slsaprovenance,
    /// slsaprovenance1, spdx, spdxjson, cyclonedx, link, vuln, openvex).
    #[arg(long = "type", default_value = "custom")]
    predicate_type: String,
    /// `sha256:<hex>` to write as the statement's subject instead of the image's digest.
    #[arg(long)]
    subject_digest: Option<String>,
    /// `repo@sha256:...` or `repo:tag`.
    image: String,
}

fn fixture_runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?)
}

fn attest(args: AttestArgs) -> Result<()> {
    let (sources_path, signer) = args.signer.into_signer()?;
    let runtime = fixture_runtime()?;
    let url = cip_host::fixtures::attest(
        &cip_host::fixtures::AttestOptions {
            sources_path,
            signer,
            predicate: args.predicate,
            predicate_type: args.predicate_type,
            subject_digest: args.subject_digest,
            image: args.image,
            bundle: args.bundle.options(),
        },
        runtime.handle().clone(),
    )?;
    println!("{url}");
    Ok(())
}

fn sign(args: SignArgs) -> Result<()> {
    use cip_host::fixtures::SignOptions;
    let annotations = args
        .annotations
        .iter()
        .map(|a| match a.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => bail!("annotation {a:?} is not KEY=VALUE"),
        })
        .collect::<Result<Vec<_>>>()?;
    let (sources_path, signer) = args.signer.into_signer()?;
    let runtime = fixture_runtime()?;
    let url = cip_host::fixtures::sign(
        &SignOptions {
            sources_path,
            signer,
            annotations,
            image: args.image,
            bundle: args.bundle.options(),
            subject_digest: args.subject_digest,
        },
        runtime.handle().clone(),
    )?;
    println!("{url}");
    Ok(())
}

#[derive(Args)]
#[command(group(ArgGroup::new("host-capabilities-session")
    .args(["record_host_capabilities_interactions", "replay_host_capabilities_interactions"])))]
struct RunArgs {
    /// AdmissionReview or AdmissionRequest (YAML or JSON).
    #[arg(short = 'r', long)]
    request_path: PathBuf,
    /// Settings file (YAML or JSON).
    #[arg(short = 's', long, conflicts_with = "settings_json")]
    settings_path: Option<PathBuf>,
    /// Settings as a JSON string.
    #[arg(long)]
    settings_json: Option<String>,
    /// sources.yml (`insecure_sources`).
    #[arg(long)]
    sources_path: Option<PathBuf>,
    /// sigstore ClientTrustConfig JSON.
    #[arg(long)]
    sigstore_trust_config: Option<PathBuf>,
    /// Record the host capability calls to this file (kwctl's format).
    #[arg(long, value_name = "FILE")]
    record_host_capabilities_interactions: Option<PathBuf>,
    /// Answer the host capability calls from this recorded file.
    #[arg(long, value_name = "FILE")]
    replay_host_capabilities_interactions: Option<PathBuf>,
    /// Host capabilities the policy may use (`*`, `oci/*`, `oci/v1/manifest_digest`...).
    #[arg(long, num_args = 1.., default_values_t = vec!["*".to_string()])]
    allowed_host_capabilities: Vec<String>,
    #[command(flatten)]
    deadline: DeadlineArgs,
    /// Give up on a registry operation (a manifest, a blob, a signature check's reads) after
    /// this many seconds; connecting may take at most 3 s of it and each wait for data at
    /// most 5 s. The image is then denied naming the registry and the timeout.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    registry_timeout_seconds: u64,
    /// Do not use the wasmtime compilation cache.
    #[arg(long)]
    disable_wasmtime_cache: bool,
    /// The policy module.
    policy: PathBuf,
}

#[derive(Args)]
struct AnnotateArgs {
    /// metadata.yml
    #[arg(short = 'm', long)]
    metadata_path: PathBuf,
    /// README.md, stored as the usage annotation.
    #[arg(short = 'u', long)]
    usage_path: Option<PathBuf>,
    /// The annotated module to write.
    #[arg(short = 'o', long)]
    output_path: PathBuf,
    /// The policy module.
    wasm_path: PathBuf,
}

fn run(args: RunArgs) -> Result<()> {
    let settings =
        cip_host::load_settings(args.settings_path.as_deref(), args.settings_json.as_deref())?;
    let request = cip_host::load_request(&args.request_path)?;
    let options = HostOptions {
        sources_path: args.sources_path,
        record_path: args.record_host_capabilities_interactions,
        replay_path: args.replay_host_capabilities_interactions,
        sigstore_trust_config: args.sigstore_trust_config,
        timeout: args.deadline.timeout(),
        replay_cyclic: false,
        registry_timeouts: cip_host::RegistryTimeouts::with_total(Duration::from_secs(
            args.registry_timeout_seconds,
        )),
    };
    let engine = EngineOptions {
        allowed_host_capabilities: args.allowed_host_capabilities,
        wasmtime_cache: !args.disable_wasmtime_cache,
    };
    let evaluator = Evaluator::with_engine_options(&args.policy, options, engine)?;
    let verdict = evaluator.validate_settings(&settings)?;
    if !verdict.valid {
        bail!(
            "Provided settings are not valid: {}",
            verdict.message.unwrap_or_default()
        );
    }
    if let Some(message) = &verdict.message {
        cip_host::warn(message);
    }
    let response = evaluator.validate_admission(&request, &settings)?;
    evaluator.finish()?;
    println!("{}", response.to_line()?);
    Ok(())
}

fn bench(args: BenchArgs) -> Result<()> {
    use std::time::Instant;
    let settings = cip_host::load_settings(args.settings_path.as_deref(), None)?;
    let request = cip_host::load_request(&args.request_path)?;
    let options = HostOptions {
        sources_path: args.sources_path,
        replay_path: args.replay_host_capabilities_interactions,
        replay_cyclic: true,
        sigstore_trust_config: args.sigstore_trust_config,
        ..HostOptions::default()
    };
    let bytes = std::fs::read(&args.policy)?;
    let load = Instant::now();
    let cold = EngineOptions {
        wasmtime_cache: false,
        ..EngineOptions::default()
    };
    drop(Evaluator::from_bytes(&bytes, options.clone(), cold)?);
    let cold_load = load.elapsed();
    let load = Instant::now();
    let evaluator = Evaluator::from_bytes(&bytes, options.clone(), EngineOptions::default())?;
    let cached_load = load.elapsed();
    let verdict = evaluator.validate_settings(&settings)?;
    if !verdict.valid {
        bail!(
            "Provided settings are not valid: {}",
            verdict.message.unwrap_or_default()
        );
    }
    let payload =
        serde_json::to_vec(&serde_json::json!({"request": request, "settings": settings}))?;
    let first = evaluator.call_guest("validate", &payload)?;
    let first: serde_json::Value = serde_json::from_slice(&first)?;
    let mut guest = Vec::with_capacity(args.iterations);
    let mut host = Vec::with_capacity(args.iterations);
    let before = evaluator.host_stats();
    for _ in 0..args.iterations {
        if args.fresh_instance {
            evaluator.drop_instance();
        }
        let stats = evaluator.host_stats();
        let start = Instant::now();
        evaluator.call_guest("validate", &payload)?;
        let total = start.elapsed();
        let spent = evaluator.host_stats().time.saturating_sub(stats.time);
        host.push(spent);
        guest.push(total.saturating_sub(spent));
    }
    let after = evaluator.host_stats();
    let calls = (after.calls - before.calls) as f64 / args.iterations.max(1) as f64;
    guest.sort();
    host.sort();
    let pct = |v: &[Duration], p: f64| {
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v.get(i).copied().unwrap_or_default()
    };
    println!(
        "requests:                {}{}",
        args.iterations,
        if args.fresh_instance {
            " (a fresh instance each, instantiation included)"
        } else {
            " (one warm instance)"
        }
    );
    println!(
        "verdict:                 allowed={}",
        first.get("accepted").cloned().unwrap_or_default()
    );
    println!(
        "guest time per request:  p50 {:?}, p99 {:?}",
        pct(&guest, 0.5),
        pct(&guest, 0.99)
    );
    println!("host calls per request:  {calls}");
    println!(
        "host time per request:   p50 {:?}, p99 {:?}",
        pct(&host, 0.5),
        pct(&host, 0.99)
    );
    println!("module load, no cache:   {cold_load:?}");
    println!("module load, cached:     {cached_load:?}");
    println!("policy.wasm size:        {} bytes", bytes.len());
    Ok(())
}

/// Ok(true) when the policy passed; the message is printed on failure.
fn evaluate(args: EvaluateArgs) -> Result<bool> {
    let policy = std::fs::read_to_string(&args.policy)?;
    let input = cip_host::load_settings(Some(&args.input), None)?;
    let options = HostOptions {
        timeout: args.deadline.timeout(),
        ..HostOptions::default()
    };
    let wasm = match args.wasm {
        Some(wasm) => wasm,
        None => find_policy_wasm()?,
    };
    let evaluator = Evaluator::new(&wasm, options)?;
    let kind = match args.kind {
        PolicyKind::Attestation => "attestation",
        PolicyKind::Cip => "cip",
    };
    let payload = serde_json::to_vec(&serde_json::json!({
        "type": args.policy_type, "policy": policy, "input": input, "name": args.name, "kind": kind
    }))?;
    // as `run` rejects: the deadline's message is the verdict, not a host error
    let answer = match evaluator.call("evaluate", &payload) {
        Ok(answer) => answer,
        Err(GuestError::Timeout) => {
            println!("{}", cip_host::response::TIMEOUT_MESSAGE);
            return Ok(false);
        }
        Err(GuestError::Failure(text)) => bail!("guest call evaluate failed: {text}"),
    };
    let answer: serde_json::Value = serde_json::from_slice(&answer)?;
    if answer.get("passed") == Some(&serde_json::Value::Bool(true)) {
        return Ok(true);
    }
    let message = answer
        .get("message")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("the policy did not pass");
    println!("{message}");
    Ok(false)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Bench(args) => bench(args),
        Command::Evaluate(args) => match evaluate(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
        Command::Annotate(args) => cip_host::annotate::annotate(
            &args.wasm_path,
            &args.metadata_path,
            args.usage_path.as_deref(),
            &args.output_path,
        ),
        Command::Keygen(args) => cip_host::fixtures::keygen(&args.out, &args.name).map(|_| ()),
        Command::Testca(args) => cip_host::fixtures::testca(&args.out),
        Command::Sign(args) => sign(args),
        Command::Attest(args) => attest(args),
        Command::Test(args) => match test(args) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) if e.is::<tester::Invalid>() => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
            Err(e) => Err(e),
        },
        Command::Scaffold(ScaffoldCommand::Artifacthub(args)) => match scaffold::scaffold_file(
            &args.metadata_path,
            args.questions_path.as_deref(),
            args.readme_path.as_deref(),
            args.output.as_deref(),
            args.check,
        ) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::FAILURE,
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
