//! The one fake `Host` of the guest's tests. It knows a table of tags and their digests, hands
//! out scripted answers in order, records every call, and answers anything unscripted as
//! `otherwise` says: an error, what an empty registry answers, or mutated registry data (fuzzing).

use crate::fuzz::mutate::{Mutator, Rng};
use crate::verify::host::{Host, HostError, VerifyRequest};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};

/// What an unscripted call gets.
#[derive(Default)]
pub enum Otherwise {
    /// `Err("unexpected")`: for tests that script every answer they expect.
    #[default]
    Unexpected,
    /// A registry holding only the tags of the digest table: no manifests, nothing signed.
    EmptyRegistry,
    /// Plausible but mutated data: a hostile or broken registry, for the fuzz targets.
    Garbage(Garbage),
}

/// Seeds for `Otherwise::Garbage`: real manifests and statements, mutated on every answer.
pub struct Garbage {
    pub rng: Rng,
    pub manifests: Vec<Vec<u8>>,
    pub statements: Vec<Vec<u8>>,
}

#[derive(Default)]
pub struct FakeHost {
    /// Tag -> `sha256:<hex>`, answered by `manifest_digest` before anything else.
    pub digests: HashMap<String, String>,
    /// Scripted answers; an `Err` is the host's failure text, read as the real host's is.
    pub verify: VecDeque<Result<String, String>>,
    pub manifests: VecDeque<Result<Vec<u8>, String>>,
    pub configs: VecDeque<Result<Vec<u8>, String>>,
    pub attestations: VecDeque<Result<Vec<Value>, String>>,
    pub trust: VecDeque<Result<(), HostError>>,
    /// Every call in order: `digest <image>`, `manifest <image>`, `config <image>`, `verify <request json>`,
    /// `attestations <image> <predicate type> <verifier json>`, `trusted <not_after>`.
    pub calls: Vec<String>,
    pub otherwise: Otherwise,
}

const UNEXPECTED: &str = "unexpected";

impl FakeHost {
    /// A registry that knows these tags (`(tag, hex)`) and nothing else.
    pub fn registry(entries: &[(&str, &str)]) -> Self {
        FakeHost {
            digests: entries
                .iter()
                .map(|(k, v)| (k.to_string(), format!("sha256:{v}")))
                .collect(),
            otherwise: Otherwise::EmptyRegistry,
            ..FakeHost::default()
        }
    }

    /// A host whose every unscripted answer is mutated registry data.
    pub fn garbage(garbage: Garbage) -> Self {
        FakeHost {
            otherwise: Otherwise::Garbage(garbage),
            ..FakeHost::default()
        }
    }
}

fn unknown(image: &str) -> String {
    format!("Callback evaluation failure: manifest unknown: {image}")
}

impl Garbage {
    fn digest_of(&mut self, image: &str) -> Result<String, String> {
        let pinned = image.rsplit_once('@').map(|(_, d)| d.to_string());
        match self.rng.below(5) {
            0 => Err("boom".into()),
            1 => Ok(format!("sha256:{}", "a".repeat(64))),
            2 => Ok("sha256:zz".into()),
            _ => pinned.ok_or_else(|| "no signatures found".into()),
        }
    }

    fn manifest(&mut self, image: &str) -> Result<Vec<u8>, String> {
        if self.rng.below(8) == 0 {
            return Err(unknown(image));
        }
        let seed = self.rng.pick(&self.manifests).cloned().unwrap_or_default();
        let mutator = Mutator::new(&self.manifests, &[]);
        Ok(mutator.mutate(&mut self.rng, &seed))
    }

    fn statements(&mut self, predicate_type: &str) -> Result<Vec<Value>, String> {
        match self.rng.below(6) {
            0 => return Err("Callback evaluation failure: no attestations found for image: x".into()),
            1 => return Err(format!("Callback evaluation failure: no attestation of predicate type {predicate_type}; verified predicate types: [\"a\",{}]", self.rng.below(9))),
            2 => return Err("Callback evaluation failure: unknown operation: v2/verify_attestations".into()),
            _ => {}
        }
        let mut out = Vec::new();
        for _ in 0..=self.rng.below(3) {
            let seed = self.rng.pick(&self.statements).cloned().unwrap_or_default();
            let mutator = Mutator::new(&self.statements, &[]);
            let bytes = mutator.mutate(&mut self.rng, &seed);
            // The real host decodes its answer with serde_json: only what that accepts arrives.
            if let Ok(mut statement) = serde_json::from_slice::<Value>(&bytes) {
                if self.rng.below(2) == 0 {
                    if let Some(o) = statement.as_object_mut() {
                        o.insert("predicateType".into(), predicate_type.into());
                    }
                }
                out.push(statement);
            }
        }
        Ok(out)
    }

    fn trust(&mut self) -> Result<(), HostError> {
        match self.rng.below(3) {
            0 => Ok(()),
            1 => Err(HostError::untrusted(Some("certificate expired".into()))),
            _ => Err(HostError::from_host("boom".into())),
        }
    }
}

impl Host for FakeHost {
    fn manifest_digest(&mut self, image: &str) -> Result<String, HostError> {
        self.digest_text(image).map_err(HostError::from_host)
    }

    fn oci_manifest(&mut self, image: &str) -> Result<Vec<u8>, HostError> {
        self.manifest_text(image).map_err(HostError::from_host)
    }

    fn oci_manifest_config(&mut self, image: &str) -> Result<Vec<u8>, HostError> {
        self.config_text(image).map_err(HostError::from_host)
    }

    fn verify(&mut self, request: &VerifyRequest) -> Result<String, HostError> {
        self.verify_text(request).map_err(HostError::from_host)
    }

    fn verify_attestations(
        &mut self,
        image: &str,
        predicate_type: &str,
        verifier: &VerifyRequest,
    ) -> Result<Vec<Value>, HostError> {
        self.attestations_text(image, predicate_type, verifier)
            .map_err(HostError::from_host)
    }

    fn certificate_trusted(
        &mut self,
        _: &str,
        _: &[String],
        not_after: Option<String>,
    ) -> Result<(), HostError> {
        self.calls.push(format!("trusted {not_after:?}"));
        if let Some(answer) = self.trust.pop_front() {
            return answer;
        }
        match &mut self.otherwise {
            Otherwise::Unexpected | Otherwise::EmptyRegistry => {
                Err(HostError::from_host(UNEXPECTED.into()))
            }
            Otherwise::Garbage(g) => g.trust(),
        }
    }
}

/// The host's answers as its texts, before the guest reads them.
impl FakeHost {
    fn digest_text(&mut self, image: &str) -> Result<String, String> {
        self.calls.push(format!("digest {image}"));
        if let Some(digest) = self.digests.get(image) {
            return Ok(digest.clone());
        }
        match &mut self.otherwise {
            Otherwise::Unexpected => Err(UNEXPECTED.into()),
            Otherwise::EmptyRegistry => Err(unknown(image)),
            Otherwise::Garbage(g) => g.digest_of(image),
        }
    }

    fn manifest_text(&mut self, image: &str) -> Result<Vec<u8>, String> {
        self.calls.push(format!("manifest {image}"));
        if let Some(answer) = self.manifests.pop_front() {
            return answer;
        }
        match &mut self.otherwise {
            Otherwise::Unexpected => Err(UNEXPECTED.into()),
            Otherwise::EmptyRegistry => Err(unknown(image)),
            Otherwise::Garbage(g) => g.manifest(image),
        }
    }

    fn config_text(&mut self, image: &str) -> Result<Vec<u8>, String> {
        self.calls.push(format!("config {image}"));
        if let Some(answer) = self.configs.pop_front() {
            return answer;
        }
        match &mut self.otherwise {
            Otherwise::Unexpected => Err(UNEXPECTED.into()),
            Otherwise::EmptyRegistry => Err(unknown(image)),
            Otherwise::Garbage(g) => g.manifest(image),
        }
    }

    fn verify_text(&mut self, request: &VerifyRequest) -> Result<String, String> {
        self.calls.push(format!(
            "verify {}",
            serde_json::to_string(request).unwrap_or_default()
        ));
        if let Some(answer) = self.verify.pop_front() {
            return answer;
        }
        match &mut self.otherwise {
            Otherwise::Unexpected => Err(UNEXPECTED.into()),
            Otherwise::EmptyRegistry => {
                Err("Callback evaluation failure: no signatures found for image: x ".into())
            }
            Otherwise::Garbage(g) => g.digest_of(request.image()),
        }
    }

    fn attestations_text(
        &mut self,
        image: &str,
        predicate_type: &str,
        verifier: &VerifyRequest,
    ) -> Result<Vec<Value>, String> {
        self.calls.push(format!(
            "attestations {image} {predicate_type} {}",
            serde_json::to_string(verifier).unwrap_or_default()
        ));
        if let Some(answer) = self.attestations.pop_front() {
            return answer;
        }
        match &mut self.otherwise {
            Otherwise::Unexpected => Err(UNEXPECTED.into()),
            Otherwise::EmptyRegistry => Err(format!(
                "Callback evaluation failure: no attestations found for image: {image}"
            )),
            Otherwise::Garbage(g) => g.statements(predicate_type),
        }
    }
}
