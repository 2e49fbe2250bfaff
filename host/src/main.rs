//! `cip-host`: a local Kubewarden host (see `cip-host --help`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use clap::{ArgGroup, Args, Parser, Subcommand};

use cip_host::{EngineOptions, Evaluator, HostOptions};

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
    /// Interrupt a guest call after this many seconds (0: never).
    #[arg(long, default_value_t = 10)]
    timeout_seconds: u64,
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
        timeout: (args.timeout_seconds > 0).then(|| Duration::from_secs(args.timeout_seconds)),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Annotate(args) => cip_host::annotate::annotate(
            &args.wasm_path,
            &args.metadata_path,
            args.usage_path.as_deref(),
            &args.output_path,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
