//! Test fixtures, made here with rcgen (keys, a CA, leaf certificates, a log key) and no
//! registry: a fake [`AttestationRegistry`] serves the layers.

use std::cell::RefCell;
use std::collections::BTreeMap;

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData as _, SanType,
    SigningKey as _,
};
use serde_json::{json, Value};
use sha2::Digest as _;

use crate::cosign::{BUNDLE_ANNOTATION, CERT_ANNOTATION, CHAIN_ANNOTATION, DSSE_MEDIA_TYPE};
use crate::dsse::{pae, Envelope, EnvelopeSignature, IN_TOTO_PAYLOAD_TYPE};
use crate::{AttestationRegistry, Layer, TrustRoot};

pub const ISSUER: &str = "https://issuer.test";
pub const IDENTITY: &str =
    "https://github.com/org/repo/.github/workflows/build.yml@refs/heads/main";
pub const CYCLONEDX: &str = "https://cyclonedx.org/bom";

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(data))
}

pub fn key() -> KeyPair {
    KeyPair::generate().unwrap()
}

pub fn sign(key: &KeyPair, data: &[u8]) -> Vec<u8> {
    key.sign(data).unwrap()
}

pub fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// The image every test is about.
pub fn digest_hex() -> String {
    "ab".repeat(32)
}

pub fn image() -> String {
    format!("registry.test/app@sha256:{}", digest_hex())
}

pub fn statement(predicate_type: &str, subject_hex: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [{"name": "registry.test/app", "digest": {"sha256": subject_hex}}],
        "predicate": {"n": 1}
    }))
    .unwrap()
}

/// An envelope over `payload` with these raw signatures.
pub fn envelope(payload: &[u8], signatures: &[Vec<u8>]) -> Vec<u8> {
    serde_json::to_vec(&Envelope {
        payload_type: IN_TOTO_PAYLOAD_TYPE.to_string(),
        payload: b64(payload),
        signatures: signatures
            .iter()
            .map(|s| EnvelopeSignature {
                keyid: String::new(),
                sig: b64(s),
            })
            .collect(),
    })
    .unwrap()
}

/// An envelope over `payload` signed with `key`.
pub fn signed_envelope(key: &KeyPair, payload: &[u8]) -> Vec<u8> {
    envelope(payload, &[sign(key, &pae(IN_TOTO_PAYLOAD_TYPE, payload))])
}

pub fn ca(name: &str) -> (CertificateParams, KeyPair, rcgen::Certificate) {
    let key = key();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now() - time::Duration::days(1);
    params.not_after = now() + time::Duration::days(365);
    let cert = params.self_signed(&key).unwrap();
    (params, key, cert)
}

/// A test CA, a log key and the trust root naming both.
pub struct Sigstore {
    pub ca_params: CertificateParams,
    pub ca_key: KeyPair,
    pub ca: rcgen::Certificate,
    pub log_key: KeyPair,
}

/// A signing certificate and its key.
pub struct Leaf {
    pub key: KeyPair,
    pub pem: String,
}

impl Sigstore {
    pub fn new() -> Self {
        let (ca_params, ca_key, ca) = ca("test CA");
        Sigstore {
            ca_params,
            ca_key,
            ca,
            log_key: key(),
        }
    }

    pub fn trust(&self) -> TrustRoot {
        let log_id = sha256_hex(&self.log_key.subject_public_key_info());
        TrustRoot::new(
            vec![self.ca.der().to_vec()],
            BTreeMap::from([(log_id, self.log_key.subject_public_key_info())]),
        )
    }

    /// A leaf for `identity`, valid from `from` to `to` seconds from now.
    pub fn leaf(&self, identity: &str, from: i64, to: i64) -> Leaf {
        let issuer = Issuer::new(self.ca_params.clone(), &self.ca_key);
        leaf_from(&issuer, identity, from, to)
    }

    /// A Rekor bundle whose entry is `body`, signed by `log_key` at `now + offset`.
    pub fn bundle(log_key: &KeyPair, body: &Value, offset: i64) -> String {
        let integrated_time = now().unix_timestamp() + offset;
        let payload = json!({
            "body": b64(&serde_json::to_vec(body).unwrap()),
            "integratedTime": integrated_time,
            "logIndex": 7,
            "logID": sha256_hex(&log_key.subject_public_key_info()),
        });
        let set = sign(
            log_key,
            &serde_json_canonicalizer::to_vec(&payload).unwrap(),
        );
        json!({"SignedEntryTimestamp": b64(&set), "Payload": payload}).to_string()
    }

    /// A keyless layer: the envelope over `payload` signed by the leaf, with its certificate,
    /// the CA as chain, and a bundle whose intoto 0.0.1 entry is for it.
    pub fn keyless_layer(
        &self,
        leaf: &Leaf,
        payload: &[u8],
    ) -> (Vec<u8>, BTreeMap<String, String>) {
        let blob = signed_envelope(&leaf.key, payload);
        let body = intoto_entry(&blob, payload, &leaf.pem);
        let annotations = BTreeMap::from([
            (CERT_ANNOTATION.to_string(), leaf.pem.clone()),
            (CHAIN_ANNOTATION.to_string(), self.ca.pem()),
            (
                BUNDLE_ANNOTATION.to_string(),
                Self::bundle(&self.log_key, &body, 0),
            ),
        ]);
        (blob, annotations)
    }
}

pub fn leaf_from(issuer: &Issuer<'_, &KeyPair>, identity: &str, from: i64, to: i64) -> Leaf {
    let key = key();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name = DistinguishedName::new();
    params.subject_alt_names = vec![SanType::URI(identity.try_into().unwrap())];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    params.not_before = now() + time::Duration::seconds(from);
    params.not_after = now() + time::Duration::seconds(to);
    params.custom_extensions = vec![CustomExtension::from_oid_content(
        &[1, 3, 6, 1, 4, 1, 57264, 1, 1],
        ISSUER.as_bytes().to_vec(),
    )];
    let pem = params.signed_by(&key, issuer).unwrap().pem();
    Leaf { key, pem }
}

/// cosign's Rekor entry for an attestation.
pub fn intoto_entry(envelope: &[u8], payload: &[u8], signer_pem: &str) -> Value {
    json!({"apiVersion": "0.0.1", "kind": "intoto", "spec": {
        "content": {
            "hash": {"algorithm": "sha256", "value": sha256_hex(envelope)},
            "payloadHash": {"algorithm": "sha256", "value": sha256_hex(payload)}
        },
        "publicKey": b64(signer_pem.as_bytes())
    }})
}

/// A registry holding one attestation manifest (or none).
#[derive(Default)]
pub struct FakeRegistry {
    pub layers: Option<Vec<(Layer, Vec<u8>)>>,
    /// The digests and caps asked for.
    pub asked: RefCell<Vec<String>>,
}

impl FakeRegistry {
    pub fn with(layers: Vec<(Vec<u8>, BTreeMap<String, String>)>) -> Self {
        let layers = layers
            .into_iter()
            .map(|(blob, annotations)| {
                let layer = Layer {
                    media_type: DSSE_MEDIA_TYPE.to_string(),
                    digest: format!("sha256:{}", sha256_hex(&blob)),
                    size: i64::try_from(blob.len()).unwrap(),
                    annotations,
                };
                (layer, blob)
            })
            .collect();
        FakeRegistry {
            layers: Some(layers),
            asked: RefCell::default(),
        }
    }
}

impl AttestationRegistry for FakeRegistry {
    fn attestation_layers(&self, digest: &str) -> Result<Option<Vec<Layer>>, String> {
        self.asked.borrow_mut().push(format!("manifest {digest}"));
        Ok(self
            .layers
            .as_ref()
            .map(|l| l.iter().map(|(layer, _)| layer.clone()).collect()))
    }

    fn blob(&self, layer: &Layer, max_bytes: usize) -> Result<Vec<u8>, String> {
        self.asked
            .borrow_mut()
            .push(format!("blob {} max {max_bytes}", layer.digest));
        self.layers
            .iter()
            .flatten()
            .find(|(l, _)| l == layer)
            .map(|(_, blob)| blob.clone())
            .ok_or_else(|| format!("no blob {}", layer.digest))
    }
}
