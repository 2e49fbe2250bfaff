//! Fuzz targets for every parser of untrusted data, on the stable toolchain: each target replays
//! its seed corpus (`test_data/fuzz/<target>/`) and then mutates it with a fixed seed for a
//! bounded number of executions, so CI runs them like any test. A panic is a failure; the input
//! that caused it is printed first.
//!
//! A long run by hand, e.g. ten minutes over all targets:
//! `FUZZ_ITERATIONS=100000 FUZZ_SEED=7 cargo test --release -p cluster-image-policy --lib fuzz:: -- --nocapture`
//! * `FUZZ_ITERATIONS`: executions per target (default: `DEFAULT_ITERATIONS`, a few seconds);
//! * `FUZZ_SEED`: another sequence of mutations (default 0);
//! * `FUZZ_LAST_INPUT=<dir>`: every input is written to `<dir>/<target>` before it runs, to find
//!   the one behind a crash that cannot be caught (a stack overflow aborts the process), and
//!   the slowest input of the run to `<dir>/<target>.slowest`;
//! * `FUZZ_REPLAY=<file>`: runs that one input through the target (with `--exact` and the test's
//!   name), to reproduce a crash.

mod admission;
mod attestation;
mod cue;
pub mod json;
pub mod mutate;
mod registry;
mod settings;

use mutate::{Mutator, Rng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// Executions per target in CI when `FUZZ_ITERATIONS` is unset.
pub const DEFAULT_ITERATIONS: usize = 10_000;

/// The seed inputs of `target`, sorted by file name.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("test_data/fuzz")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no seed", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

/// The seed inputs of a JSON target, parsed.
pub fn json_corpus(target: &str) -> Vec<serde_json::Value> {
    corpus(target)
        .iter()
        .map(|b| serde_json::from_slice(b).unwrap())
        .collect()
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn iterations(default: usize) -> usize {
    env_number("FUZZ_ITERATIONS").map_or(default, |n| n as usize)
}

fn target_rng(target: &str) -> Rng {
    // FNV-1a of the name: targets do not share one sequence.
    let name = target.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    // Spread over every bit: `Rng::new` sets the lowest one, so seeds 2 and 3 would be equal.
    let seed = env_number("FUZZ_SEED").unwrap_or(0);
    Rng::new(name ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// What one execution of a target saw, for the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The input got through the parser (and whatever the target runs after it).
    Accepted,
    /// A clean error.
    Rejected,
}

/// Runs `one` on every seed, then on `default_iterations` (or `FUZZ_ITERATIONS`) mutated inputs.
/// `mutate` makes an input from a seed; the bytes are what is printed when `one` panics.
/// Returns how many executions were accepted.
pub fn run(
    target: &str,
    seeds: &[Vec<u8>],
    default_iterations: usize,
    mut mutate: impl FnMut(&mut Rng, &[u8]) -> Vec<u8>,
    mut one: impl FnMut(&mut Rng, &[u8]) -> Outcome,
) -> usize {
    if let Some(path) = std::env::var_os("FUZZ_REPLAY") {
        let input = std::fs::read(&path).unwrap();
        let outcome = one(&mut target_rng(target), &input);
        println!(
            "fuzz {target}: replayed {}: {outcome:?}",
            Path::new(&path).display()
        );
        return usize::MAX;
    }
    let total = iterations(default_iterations).max(seeds.len());
    let last_input = std::env::var_os("FUZZ_LAST_INPUT").map(|d| PathBuf::from(d).join(target));
    let mut rng = target_rng(target);
    let mut accepted = 0;
    let started = std::time::Instant::now();
    let mut slowest = (std::time::Duration::ZERO, 0);
    let mut slowest_input = Vec::new();
    for round in 0..total {
        let input = match seeds.get(round) {
            Some(seed) => seed.clone(),
            None => {
                let seed = rng.pick(seeds).cloned().unwrap_or_default();
                mutate(&mut rng, &seed)
            }
        };
        if let Some(path) = &last_input {
            std::fs::write(path, &input).unwrap();
        }
        let one_started = std::time::Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| one(&mut rng, &input)));
        let took = one_started.elapsed();
        if took > slowest.0 {
            slowest = (took, input.len());
            if last_input.is_some() {
                slowest_input = input.clone();
            }
        }
        match result {
            Ok(Outcome::Accepted) => accepted += 1,
            Ok(Outcome::Rejected) => {}
            Err(panic) => {
                let shown: String = String::from_utf8_lossy(&input)
                    .chars()
                    .take(4_000)
                    .collect();
                eprintln!(
                    "fuzz {target}: panic at execution {round} on input ({} bytes): {shown:?}",
                    input.len()
                );
                std::panic::resume_unwind(panic);
            }
        }
    }
    if let Some(path) = &last_input {
        std::fs::write(path.with_extension("slowest"), &slowest_input).unwrap();
    }
    println!(
        "fuzz {target}: {total} executions ({} seeds), {accepted} accepted, {:.1} s, slowest {:.1} ms ({} bytes)",
        seeds.len(),
        started.elapsed().as_secs_f64(),
        slowest.0.as_secs_f64() * 1e3,
        slowest.1
    );
    accepted
}

/// A byte mutator over `seeds` with a target's own tokens.
pub fn bytes<'a>(seeds: &'a [Vec<u8>], dictionary: &'a [&'a [u8]]) -> Mutator<'a> {
    Mutator::new(seeds, dictionary)
}

/// Half the time a structural mutation of the seed (when it is JSON), else a byte mutation.
pub fn json_or_bytes(
    rng: &mut Rng,
    seed: &[u8],
    mutator: &Mutator<'_>,
    docs: &[serde_json::Value],
    keys: &[&str],
) -> Vec<u8> {
    if rng.below(2) == 0 {
        if let Ok(doc) = serde_json::from_slice(seed) {
            return serde_json::to_vec(&json::mutate(rng, &doc, docs, keys)).unwrap();
        }
    }
    mutator.mutate(rng, seed)
}
