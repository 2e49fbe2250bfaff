//! Record and replay of host capability sessions in kwctl's file format
//! (`crates/kwctl/src/callback_handler/proxy.rs`):
//!
//! ```yaml
//! - type: Exchange
//!   request: |
//!     !OciManifestDigest
//!     image: busybox
//!   response:
//!     type: Success
//!     payload: '{"digest":"sha256:..."}'
//! ```

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{Backend, HostRequest};

/// One element of the session file: a struct tagged `type: Exchange`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub struct Exchange {
    /// YAML of the [`HostRequest`].
    pub request: String,
    pub response: RecordedResponse,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum RecordedResponse {
    Success { payload: String },
    Error { message: String },
}

/// Parses a session file's text.
pub fn parse_session(text: &str) -> Result<Vec<Exchange>> {
    let exchanges: Option<Vec<Exchange>> = serde_yaml::from_str(text)?;
    Ok(exchanges.unwrap_or_default())
}

/// Renders a session file's text.
pub fn render_session(exchanges: &[Exchange]) -> Result<String> {
    serde_yaml::to_string(exchanges).context("cannot serialize the recorded session")
}

pub fn request_to_yaml(request: &HostRequest) -> Result<String> {
    serde_yaml::to_string(request).context("cannot serialize a host request")
}

/// Answers from a recorded session, in order.
pub struct Replay {
    queue: Mutex<VecDeque<(HostRequest, RecordedResponse)>>,
    original: VecDeque<(HostRequest, RecordedResponse)>,
    cyclic: bool,
}

impl Replay {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "cannot read the host capabilities session {}",
                path.display()
            )
        })?;
        Self::from_text(&text).with_context(|| {
            format!(
                "cannot parse the host capabilities session {}",
                path.display()
            )
        })
    }

    pub fn from_text(text: &str) -> Result<Self> {
        let mut queue = VecDeque::new();
        for (i, exchange) in parse_session(text)?.into_iter().enumerate() {
            let request: HostRequest = serde_yaml::from_str(&exchange.request)
                .with_context(|| format!("exchange {i}: cannot parse the recorded request"))?;
            queue.push_back((request, exchange.response));
        }
        Ok(Replay {
            original: queue.clone(),
            queue: Mutex::new(queue),
            cyclic: false,
        })
    }

    /// Starts the session again whenever it is used up: one recorded request, replayed as
    /// many times as a benchmark asks.
    pub fn cyclic(mut self) -> Self {
        self.cyclic = true;
        self
    }

    pub fn remaining(&self) -> usize {
        self.queue.lock().map(|q| q.len()).unwrap_or(0)
    }
}

impl Backend for Replay {
    fn handle(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
        let mut queue = self
            .queue
            .lock()
            .map_err(|_| "the replay queue is poisoned".to_string())?;
        if queue.is_empty() && self.cyclic {
            *queue = self.original.clone();
        }
        let Some((expected, response)) = queue.pop_front() else {
            return Err("the list of recorded responses is empty".to_string());
        };
        if &expected != request {
            return Err(format!(
                "Replay error: unexpected request. Was expecting {expected:?}, got {request:?} instead"
            ));
        }
        match response {
            RecordedResponse::Success { payload } => Ok(payload.into_bytes()),
            RecordedResponse::Error { message } => Err(message),
        }
    }

    fn finish(&self) -> Result<()> {
        let left = self.remaining();
        if left > 0 {
            crate::warn(&format!(
                "{left} recorded host capability exchanges were not used"
            ));
        }
        Ok(())
    }
}

/// Proxies to another backend and records every exchange; writes the file in `finish`.
pub struct Recorder {
    inner: Box<dyn Backend>,
    path: PathBuf,
    exchanges: Mutex<Vec<Exchange>>,
}

impl Recorder {
    pub fn new(inner: Box<dyn Backend>, path: PathBuf) -> Self {
        Recorder {
            inner,
            path,
            exchanges: Mutex::new(Vec::new()),
        }
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.exchanges.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

impl Backend for Recorder {
    fn handle(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
        let result = self.inner.handle(request);
        let response = match &result {
            Ok(bytes) => RecordedResponse::Success {
                payload: String::from_utf8_lossy(bytes).into_owned(),
            },
            Err(message) => RecordedResponse::Error {
                message: message.clone(),
            },
        };
        let request_yaml = request_to_yaml(request).map_err(|e| format!("{e:#}"))?;
        self.exchanges
            .lock()
            .map_err(|_| "the recording is poisoned".to_string())?
            .push(Exchange {
                request: request_yaml,
                response,
            });
        result
    }

    fn finish(&self) -> Result<()> {
        let text = render_session(&self.exchanges())?;
        std::fs::write(&self.path, text).with_context(|| {
            format!(
                "cannot write the host capabilities session {}",
                self.path.display()
            )
        })?;
        self.inner.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::KeylessInfo;

    const KWCTL_SAMPLE: &str = r#"- type: Exchange
  request: |
    !OciManifestDigest
    image: 127.0.0.1:5000/knabben/netshoot
  response:
    type: Success
    payload: '{"digest":"sha256:aaaa"}'
- type: Exchange
  request: |
    !SigstorePubKeyVerify
    image: ghcr.io/org/app:1.0
    pub_keys:
    - |
      -----BEGIN PUBLIC KEY-----
      MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE
      -----END PUBLIC KEY-----
    annotations: null
  response:
    type: Error
    message: 'no signatures found for image: ghcr.io/org/app:1.0 '
- type: Exchange
  request: |
    !SigstoreCertificateVerify
    image: ghcr.io/org/app:1.0
    certificate:
    - 45
    - 45
    certificate_chain: null
    require_rekor_bundle: true
    annotations:
      env: prod
  response:
    type: Success
    payload: '{"is_trusted":true,"digest":"sha256:bbbb"}'
"#;

    #[test]
    fn replays_kwctl_sample_in_order() {
        let replay = Replay::from_text(KWCTL_SAMPLE).unwrap();
        assert_eq!(replay.remaining(), 3);
        let digest = HostRequest::OciManifestDigest {
            image: "127.0.0.1:5000/knabben/netshoot".into(),
        };
        assert_eq!(
            replay.handle(&digest).unwrap(),
            br#"{"digest":"sha256:aaaa"}"#
        );
        let verify = HostRequest::SigstorePubKeyVerify {
            image: "ghcr.io/org/app:1.0".into(),
            pub_keys: vec![
                "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
                    .into(),
            ],
            annotations: None,
        };
        assert_eq!(
            replay.handle(&verify).unwrap_err(),
            "no signatures found for image: ghcr.io/org/app:1.0 "
        );
        let cert = HostRequest::SigstoreCertificateVerify {
            image: "ghcr.io/org/app:1.0".into(),
            certificate: vec![45, 45],
            certificate_chain: None,
            require_rekor_bundle: true,
            annotations: Some([("env".to_string(), "prod".to_string())].into()),
        };
        assert!(replay.handle(&cert).is_ok());
        assert_eq!(
            replay.handle(&digest).unwrap_err(),
            "the list of recorded responses is empty"
        );
    }

    #[test]
    fn mismatch_is_a_replay_error() {
        let replay = Replay::from_text(KWCTL_SAMPLE).unwrap();
        let other = HostRequest::OciManifestDigest {
            image: "busybox".into(),
        };
        let err = replay.handle(&other).unwrap_err();
        assert_eq!(
            err,
            r#"Replay error: unexpected request. Was expecting OciManifestDigest { image: "127.0.0.1:5000/knabben/netshoot" }, got OciManifestDigest { image: "busybox" } instead"#
        );
    }

    #[test]
    fn unparsable_sessions_are_errors() {
        assert!(Replay::from_text("- type: Exchange\n  request: 3\n").is_err());
        assert!(Replay::from_text(
            "- type: Exchange\n  request: \"!Nope\\nimage: x\\n\"\n  response:\n    type: Success\n    payload: ''\n"
        )
        .is_err());
        assert!(Replay::from_text("{").is_err());
        assert_eq!(Replay::from_text("").unwrap().remaining(), 0);
    }

    #[test]
    fn request_yaml_is_tagged() {
        let yaml = request_to_yaml(&HostRequest::OciManifestDigest {
            image: "busybox".into(),
        })
        .unwrap();
        assert_eq!(yaml, "!OciManifestDigest\nimage: busybox\n");
    }

    struct Fixed;
    impl Backend for Fixed {
        fn handle(&self, request: &HostRequest) -> Result<Vec<u8>, String> {
            match request {
                HostRequest::OciManifestDigest { .. } => Ok(br#"{"digest":"sha256:cc"}"#.to_vec()),
                _ => Err("Registry error: boom".into()),
            }
        }
    }

    #[test]
    fn record_then_replay_round_trip() {
        let dir = std::env::temp_dir().join(format!("cip-host-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("session.yml");
        let requests = [
            HostRequest::OciManifestDigest {
                image: "127.0.0.1:5000/a:1".into(),
            },
            HostRequest::SigstoreKeylessVerify {
                image: "127.0.0.1:5000/a@sha256:cc".into(),
                keyless: vec![KeylessInfo {
                    issuer: "https://issuer".into(),
                    subject: "me@example.com".into(),
                }],
                annotations: None,
            },
            HostRequest::SigstoreAttestationsVerify {
                image: "127.0.0.1:5000/a@sha256:cc".into(),
                predicate_type: "https://cyclonedx.org/bom".into(),
                verifier: serde_json::json!({"type": "SigstorePubKeyVerify", "pub_keys": ["k"], "annotations": null, "n": 3}),
            },
        ];
        let recorder = Recorder::new(Box::new(Fixed), path.clone());
        let live: Vec<_> = requests.iter().map(|r| recorder.handle(r)).collect();
        recorder.finish().unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("- type: Exchange\n  request: |\n    !OciManifestDigest\n"));
        let replay = Replay::load(&path).unwrap();
        for (request, expected) in requests.iter().zip(live) {
            assert_eq!(replay.handle(request), expected);
        }
        assert_eq!(replay.remaining(), 0);
    }
}
