//! Hostile input never panics: deterministic mutations of real inputs (settings, admission
//! requests, signature manifests, certificates, image references, globs) fed to every parser
//! and to the whole decision with a host that answers garbage. A panic fails the test.

use crate::admission::{glob::Glob, reference::Reference, request::AdmissionRequest};
use crate::decide::decide;
use crate::settings::Settings;
use crate::verify::host::{Host, VerifyRequest};
use crate::verify::{certificate, signatures};

/// xorshift64*: reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"-1",
    b"1e999",
    b"\\u0000",
    b"@",
    b"*",
    b"**",
    b"/",
    b"sha256:",
    b"\xff",
    b"-----BEGIN CERTIFICATE-----",
    b"\n",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if !out.is_empty() => {
                let end = (at + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            1 => {
                let piece = INTERESTING[rng.below(INTERESTING.len())];
                out.splice(at..at, piece.iter().copied());
            }
            2 if !out.is_empty() => {
                let i = at.min(out.len() - 1);
                out[i] = rng.next() as u8;
            }
            _ => {
                let len = rng.below(8);
                let src = rng.below(out.len() + 1);
                let copy: Vec<u8> = out.iter().skip(src).take(len).copied().collect();
                out.splice(at..at, copy);
            }
        }
    }
    out
}

/// Answers every call with mutated but plausible data.
struct GarbageHost(Rng);

impl Host for GarbageHost {
    fn manifest_digest(&mut self, _: &str) -> Result<String, String> {
        match self.0.below(3) {
            0 => Err("boom".into()),
            1 => Ok(format!("sha256:{}", "a".repeat(64))),
            _ => Ok("sha256:zz".into()),
        }
    }
    fn oci_manifest(&mut self, _: &str) -> Result<Vec<u8>, String> {
        let seed = br#"{"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","annotations":{"dev.sigstore.cosign/certificate":"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n","dev.sigstore.cosign/bundle":"{\"Payload\":{\"integratedTime\":1}}"}}]}"#;
        Ok(mutate(&mut self.0, seed))
    }
    fn verify(&mut self, _: &VerifyRequest) -> Result<String, String> {
        Err("no".into())
    }
    fn verify_attestations(
        &mut self,
        _: &str,
        _: &str,
        _: &VerifyRequest,
    ) -> Result<Vec<serde_json::Value>, String> {
        Ok(vec![
            serde_json::json!({"predicateType": 5}),
            serde_json::Value::Null,
        ])
    }
    fn certificate_trusted(
        &mut self,
        _: &str,
        _: &[String],
        _: Option<String>,
    ) -> Result<Result<(), String>, String> {
        Ok(Err("no".into()))
    }
}

fn corpus(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<_> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn mutated_settings_and_requests_never_panic() {
    let mut rng = Rng(0x5eed);
    let cases: Vec<serde_json::Value> = corpus("test_data/cases", "yaml")
        .iter()
        .map(|b| serde_yaml::from_slice(b).unwrap())
        .collect();
    let mut decided = 0;
    for round in 0..8000 {
        let case = &cases[round % cases.len()];
        let settings = serde_json::to_vec(&case["settings"]).unwrap();
        let request = serde_json::to_vec(&case["request"]).unwrap();
        let settings = if round % 4 == 0 {
            mutate(&mut rng, &settings)
        } else {
            settings
        };
        let request = mutate(&mut rng, &request);
        let Ok(settings) = Settings::compile(&settings) else {
            continue;
        };
        let Ok(request) = serde_json::from_slice::<AdmissionRequest>(&request) else {
            continue;
        };
        let mut host = GarbageHost(Rng(rng.next() | 1));
        let decision = decide(&settings, &request, &mut host);
        assert!(decision.allowed || decision.message.is_some());
        decided += 1;
    }
    assert!(
        decided > 500,
        "only {decided} mutated requests reached a decision"
    );
}

#[test]
fn mutated_registry_data_never_panics() {
    let mut rng = Rng(0xfeed);
    let pem = include_str!("../test_data/certs/keyless-leaf.pem");
    for _ in 0..3000 {
        let _ = certificate::identity_from_pem(&String::from_utf8_lossy(&mutate(
            &mut rng,
            pem.as_bytes(),
        )));
        let manifest = mutate(&mut rng, br#"{"layers":[{"mediaType":"application/vnd.dsse.envelope.v1+json","annotations":{"predicateType":"x"}}]}"#);
        let _ = signatures::parse_layers(&manifest, signatures::DSSE_ENVELOPE);
        let reference = mutate(&mut rng, b"docker.io/library/nginx:1.25@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        let _ = Reference::parse(&String::from_utf8_lossy(&reference));
        let glob = mutate(&mut rng, b"ghcr.io/**/app*");
        if let Ok(g) = Glob::compile(&String::from_utf8_lossy(&glob)) {
            let _ = g.matches(&String::from_utf8_lossy(&reference));
        }
    }
}
