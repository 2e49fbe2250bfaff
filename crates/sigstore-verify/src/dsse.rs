//! DSSE envelopes: parsing under the bounds, the pre-authentication encoding (PAE) that is
//! signed, and which of an envelope's signatures a key verifies. Shared with the coming
//! cosign v3 bundles, whose attestations are DSSE envelopes too.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sigstore::crypto::{CosignVerificationKey, Signature};

use crate::limits::MAX_SIGNATURES;

/// The only payload type accepted: an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

/// A DSSE envelope.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default)]
    pub keyid: String,
    pub sig: String,
}

/// An envelope read from a layer, with its payload decoded; nothing in it is verified yet.
pub struct Opened {
    pub envelope: Envelope,
    pub payload: Vec<u8>,
}

impl Opened {
    /// Parses an in-toto envelope with 1 to [`MAX_SIGNATURES`] signatures.
    pub fn parse(blob: &[u8]) -> Result<Self, String> {
        let envelope: Envelope =
            serde_json::from_slice(blob).map_err(|e| format!("not a DSSE envelope ({e})"))?;
        if envelope.payload_type != IN_TOTO_PAYLOAD_TYPE {
            return Err(format!(
                "the payload type {:?} is not {IN_TOTO_PAYLOAD_TYPE}",
                envelope.payload_type
            ));
        }
        if envelope.signatures.is_empty() {
            return Err("the envelope has no signatures".to_string());
        }
        if envelope.signatures.len() > MAX_SIGNATURES {
            return Err(format!(
                "the envelope has more than {MAX_SIGNATURES} signatures"
            ));
        }
        let Some(payload) = b64decode(&envelope.payload) else {
            return Err("the envelope's payload is not base64".to_string());
        };
        Ok(Opened { envelope, payload })
    }

    /// The bytes the signatures are over.
    pub fn pae(&self) -> Vec<u8> {
        pae(&self.envelope.payload_type, &self.payload)
    }

    /// The signatures that `key` verifies (raw bytes).
    pub fn verifying_signatures(&self, key: &CosignVerificationKey, pae: &[u8]) -> Vec<Vec<u8>> {
        self.envelope
            .signatures
            .iter()
            .filter_map(|s| b64decode(&s.sig))
            .filter(|sig| key.verify_signature(Signature::Raw(sig), pae).is_ok())
            .collect()
    }
}

/// DSSE's pre-authentication encoding: `DSSEv1 <len type> <type> <len payload> <payload>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

pub(crate) fn b64decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{key, signed_envelope};

    #[test]
    fn pae_encoding() {
        assert_eq!(
            pae("application/vnd.in-toto+json", b"hello"),
            b"DSSEv1 28 application/vnd.in-toto+json 5 hello".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn round_trip() {
        let signer = key();
        let blob = signed_envelope(&signer, b"{}");
        let opened = Opened::parse(&blob).unwrap();
        assert_eq!(opened.payload, b"{}");
        let verifying = |pem: String| {
            let key = CosignVerificationKey::try_from_pem(pem.as_bytes()).unwrap();
            opened.verifying_signatures(&key, &opened.pae()).len()
        };
        assert_eq!(verifying(signer.public_key_pem()), 1);
        assert_eq!(verifying(key().public_key_pem()), 0);
    }
}
