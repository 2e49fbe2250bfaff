//! Test fixtures: `cip-host keygen`, `cip-host testca`, `cip-host sign`.
//!
//! They write keys, a test certificate authority with a test transparency-log key and the
//! matching ClientTrustConfig, and push signatures in cosign's layout. This is the signing
//! side only: verification is always the `sigstore` crate's ([`crate::capabilities`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use oci_client::Reference;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use serde::Serialize;
use sha2::Digest as _;

use crate::capabilities::oci::{Registry, Sources};

pub const SIMPLE_SIGNING_MEDIA_TYPE: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const CERTIFICATE_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
const ISSUER_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 1];
const ISSUER_V2_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 8];

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn new_key() -> SigningKey {
    SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng)
}

fn private_pem(key: &SigningKey) -> Result<String> {
    Ok(key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| anyhow!("cannot encode the private key: {e}"))?
        .to_string())
}

fn public_pem(key: &SigningKey) -> Result<String> {
    key.verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| anyhow!("cannot encode the public key: {e}"))
}

fn public_der(key: &SigningKey) -> Result<Vec<u8>> {
    Ok(key
        .verifying_key()
        .to_public_key_der()
        .map_err(|e| anyhow!("cannot encode the public key: {e}"))?
        .as_bytes()
        .to_vec())
}

/// Reads an unencrypted P-256 private key (PKCS#8 or SEC1 PEM).
pub fn load_key(path: &Path) -> Result<SigningKey> {
    let text = read_text(path)?;
    SigningKey::from_pkcs8_pem(&text)
        .or_else(|_| {
            use p256::elliptic_curve::SecretKey;
            SecretKey::<p256::NistP256>::from_sec1_pem(&text).map(SigningKey::from)
        })
        .map_err(|e| {
            anyhow!(
                "{} is not an unencrypted P-256 private key (PKCS#8 or SEC1 PEM): {e}",
                path.display()
            )
        })
}

/// ASN.1 DER ECDSA-P256-SHA256 signature.
fn sign_bytes(key: &SigningKey, data: &[u8]) -> Vec<u8> {
    let signature: DerSignature = key.sign(data);
    signature.as_bytes().to_vec()
}

/// `cip-host keygen`: `DIR/<name>.key` (PKCS#8 PEM) and `DIR/<name>.pub` (SPKI PEM).
pub fn keygen(out: &Path, name: &str) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let key = new_key();
    let private = out.join(format!("{name}.key"));
    let public = out.join(format!("{name}.pub"));
    write_file(&private, &private_pem(&key)?)?;
    write_file(&public, &public_pem(&key)?)?;
    Ok((private, public))
}

fn rcgen_key(key: &SigningKey) -> Result<KeyPair> {
    KeyPair::from_pem(&private_pem(key)?).map_err(|e| anyhow!("rcgen cannot use the key: {e}"))
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// `cip-host testca`: `ca.pem`, `ca.key`, `rekor.key`, `rekor.pub` and `trust-config.json`.
pub fn testca(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let ca_key = new_key();
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "cip-host test");
    dn.push(DnType::CommonName, "cip-host test CA");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now() - time::Duration::days(1);
    params.not_after = now() + time::Duration::days(3650);
    let ca_cert = params.self_signed(&rcgen_key(&ca_key)?)?;
    write_file(&out.join("ca.pem"), &ca_cert.pem())?;
    write_file(&out.join("ca.key"), &private_pem(&ca_key)?)?;

    let rekor_key = new_key();
    write_file(&out.join("rekor.key"), &private_pem(&rekor_key)?)?;
    write_file(&out.join("rekor.pub"), &public_pem(&rekor_key)?)?;
    let rekor_der = public_der(&rekor_key)?;
    let start = (now() - time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| anyhow!("{e}"))?;
    let config = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": "https://rekor.cip-host.test",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": b64(&rekor_der),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": {"start": start}
                },
                "logId": {"keyId": b64(&sha2::Sha256::digest(&rekor_der))}
            }],
            "certificateAuthorities": [{
                "subject": {"organization": "cip-host test", "commonName": "cip-host test CA"},
                "uri": "https://fulcio.cip-host.test",
                "certChain": {"certificates": [{"rawBytes": b64(ca_cert.der())}]},
                "validFor": {"start": start}
            }],
            "ctlogs": [],
            "timestampAuthorities": []
        }
    });
    write_file(
        &out.join("trust-config.json"),
        &serde_json::to_string_pretty(&config)?,
    )?;
    Ok(())
}

/// Keyless signing material.
pub struct Keyless {
    pub ca_key: PathBuf,
    pub ca_cert: PathBuf,
    pub rekor_key: PathBuf,
    pub identity: String,
    pub issuer: String,
    /// Leaf validity, seconds from now (default -60 and +600).
    pub not_before: i64,
    pub not_after: i64,
    /// The bundle's integratedTime, seconds from now (default 0).
    pub integrated_time: i64,
}

pub enum Signer {
    Key(PathBuf),
    Keyless(Keyless),
}

pub struct SignOptions {
    pub sources_path: Option<PathBuf>,
    pub signer: Signer,
    pub annotations: Vec<(String, String)>,
    pub image: String,
}

/// The rekor bundle payload, serialised as sigstore-rs' `cosign::bundle::Payload`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BundlePayload {
    body: String,
    integrated_time: i64,
    log_index: i64,
    #[serde(rename = "logID")]
    log_id: String,
}

fn der_utf8_string(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = vec![0x0c];
    let len = bytes.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let be = len.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (be.len() - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
    out.extend_from_slice(bytes);
    out
}

fn leaf_certificate(keyless: &Keyless, leaf_key: &SigningKey) -> Result<(String, String)> {
    let ca_pem = read_text(&keyless.ca_cert)?;
    let ca_key = rcgen_key(&load_key(&keyless.ca_key)?)?;
    let issuer = Issuer::from_ca_cert_pem(&ca_pem, ca_key)
        .map_err(|e| anyhow!("cannot use {} as a CA: {e}", keyless.ca_cert.display()))?;
    let mut params = CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = DistinguishedName::new();
    let identity = keyless.identity.as_str();
    let san = if identity.contains('@') && !identity.contains("://") {
        SanType::Rfc822Name(identity.try_into()?)
    } else {
        SanType::URI(identity.try_into()?)
    };
    params.subject_alt_names = vec![san];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
    params.not_before = now() + time::Duration::seconds(keyless.not_before);
    params.not_after = now() + time::Duration::seconds(keyless.not_after);
    params.custom_extensions = vec![
        CustomExtension::from_oid_content(ISSUER_OID, keyless.issuer.as_bytes().to_vec()),
        CustomExtension::from_oid_content(ISSUER_V2_OID, der_utf8_string(&keyless.issuer)),
    ];
    let leaf = params.signed_by(&rcgen_key(leaf_key)?, &issuer)?;
    Ok((leaf.pem(), ca_pem))
}

/// `cip-host sign`: pushes one more signature layer to `<repo>:sha256-<hex>.sig`. Returns
/// the signature manifest's URL.
pub fn sign(opts: &SignOptions, handle: tokio::runtime::Handle) -> Result<String> {
    let sources = match &opts.sources_path {
        Some(path) => Sources::load(path)?,
        None => Sources::default(),
    };
    let registry = Registry::new(&sources, handle);
    let reference: Reference = opts
        .image
        .parse()
        .map_err(|e| anyhow!("invalid image reference {:?}: {e}", opts.image))?;
    let digest = match reference.digest() {
        Some(d) => d.to_string(),
        None => registry.digest_of(&reference).map_err(|e| anyhow!(e))?,
    };
    let repo = format!("{}/{}", reference.registry(), reference.repository());

    let optional: Option<BTreeMap<&str, &str>> = (!opts.annotations.is_empty()).then(|| {
        opts.annotations
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    });
    let payload = serde_json::to_vec(&serde_json::json!({
        "critical": {
            "identity": {"docker-reference": repo},
            "image": {"docker-manifest-digest": digest},
            "type": "cosign container image signature"
        },
        "optional": optional
    }))?;

    let mut annotations = BTreeMap::new();
    match &opts.signer {
        Signer::Key(path) => {
            let key = load_key(path)?;
            annotations.insert(
                SIGNATURE_ANNOTATION.to_string(),
                b64(&sign_bytes(&key, &payload)),
            );
        }
        Signer::Keyless(keyless) => {
            let leaf_key = new_key();
            let signature = sign_bytes(&leaf_key, &payload);
            let (leaf_pem, ca_pem) = leaf_certificate(keyless, &leaf_key)?;
            let rekor_key = load_key(&keyless.rekor_key)?;
            let body = serde_json::json!({
                "apiVersion": "0.0.1",
                "kind": "hashedrekord",
                "spec": {
                    "data": {"hash": {"algorithm": "sha256", "value": hex::encode(sha2::Sha256::digest(&payload))}},
                    "signature": {"content": b64(&signature), "publicKey": {"content": b64(leaf_pem.as_bytes())}}
                }
            });
            let integrated_time = now().unix_timestamp() + keyless.integrated_time;
            let bundle_payload = BundlePayload {
                body: b64(&serde_json::to_vec(&body)?),
                integrated_time,
                log_index: integrated_time % 1_000_000,
                log_id: hex::encode(sha2::Sha256::digest(public_der(&rekor_key)?)),
            };
            let canonical = serde_json_canonicalizer::to_vec(&bundle_payload)
                .map_err(|e| anyhow!("cannot canonicalise the bundle: {e}"))?;
            let set = sign_bytes(&rekor_key, &canonical);
            let bundle = serde_json::json!({
                "SignedEntryTimestamp": b64(&set),
                "Payload": bundle_payload,
            });
            annotations.insert(SIGNATURE_ANNOTATION.to_string(), b64(&signature));
            annotations.insert(CERTIFICATE_ANNOTATION.to_string(), leaf_pem);
            annotations.insert(CHAIN_ANNOTATION.to_string(), ca_pem);
            annotations.insert(
                BUNDLE_ANNOTATION.to_string(),
                serde_json::to_string(&bundle)?,
            );
        }
    }

    // append to the existing signature manifest, as cosign does
    let sig_ref = Reference::with_tag(
        reference.registry().to_string(),
        reference.repository().to_string(),
        format!("{}.sig", digest.replace(':', "-")),
    );
    let mut layers = Vec::new();
    if let Some(existing) = registry
        .signature_manifest(&reference, &digest)
        .map_err(|e| anyhow!(e))?
    {
        let blobs = registry
            .pull_layers(&sig_ref, &existing)
            .map_err(|e| anyhow!(e))?;
        for (descriptor, data) in existing.layers.iter().zip(blobs) {
            layers.push(oci_client::client::ImageLayer::new(
                data,
                descriptor.media_type.clone(),
                descriptor.annotations.clone(),
            ));
        }
    }
    layers.push(oci_client::client::ImageLayer::new(
        payload,
        SIMPLE_SIGNING_MEDIA_TYPE.to_string(),
        Some(annotations),
    ));
    let diff_ids: Vec<String> = layers
        .iter()
        .map(|l| format!("sha256:{}", hex::encode(sha2::Sha256::digest(&l.data))))
        .collect();
    let config = serde_json::json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": [{"created": "0001-01-01T00:00:00Z"}],
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids}
    });
    let config = oci_client::client::Config::new(
        serde_json::to_vec(&config)?,
        oci_client::manifest::IMAGE_CONFIG_MEDIA_TYPE.to_string(),
        None,
    );
    if layers.len() > 1000 {
        bail!("the signature manifest {sig_ref} has too many layers");
    }
    let mut manifest = oci_client::manifest::OciImageManifest::build(&layers, &config, None);
    manifest.media_type = Some(oci_client::manifest::OCI_IMAGE_MEDIA_TYPE.to_string());
    crate::debug(&format!(
        "signature manifest: {}",
        serde_json::to_string(&manifest)?
    ));
    registry
        .push(&sig_ref, &layers, &config, &manifest)
        .map_err(|e| anyhow!("cannot push the signature {sig_ref}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_string_der() {
        assert_eq!(der_utf8_string("ab"), vec![0x0c, 2, b'a', b'b']);
        let long = "x".repeat(200);
        let der = der_utf8_string(&long);
        assert_eq!(&der[..3], &[0x0c, 0x81, 200]);
        assert_eq!(der.len(), 203);
    }
}
