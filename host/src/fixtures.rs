//! Test fixtures: `cip-host keygen`, `cip-host testca`, `cip-host sign`, `cip-host attest`.
//!
//! They write keys, a test certificate authority with a test transparency-log key and the
//! matching ClientTrustConfig, and push signatures and attestations in cosign's layout. This is the signing
//! side only: verification is always the `sigstore` crate's ([`crate::capabilities`]).
//! With `--bundle`, `sign` and `attest` write cosign v3's sigstore bundle instead
//! ([`bundle`]).

pub(crate) mod bundle;
mod der;
mod merkle;
pub(crate) mod referrer;
pub(crate) mod rekor_entry;
pub(crate) mod statement;
pub(crate) mod tlog;
mod tsa;

pub use bundle::BundleOptions;

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

/// `cip-host testca`: `ca.pem`, `ca.key`, `rekor.key`, `rekor.pub` (the Rekor v1 log),
/// `rekor2.key`, `rekor2.pub` (the Rekor v2 log), `tsa.key`, `tsa-chain.pem` (the
/// timestamp authority) and `trust-config.json`.
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
    let rekor2_key = new_key();
    write_file(&out.join(bundle::REKOR_V2_KEY), &private_pem(&rekor2_key)?)?;
    write_file(&out.join("rekor2.pub"), &public_pem(&rekor2_key)?)?;
    let rekor2_der = public_der(&rekor2_key)?;
    let start = (now() - time::Duration::days(1))
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| anyhow!("{e}"))?;
    let tsa = tsa::create(out, &start)?;
    let tlog = |name: &str, der: &[u8]| {
        serde_json::json!({
            "baseUrl": format!("https://{name}"),
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": b64(der),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": start}
            },
            "logId": {"keyId": b64(&sha2::Sha256::digest(der))}
        })
    };
    let config = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
        "trustedRoot": {
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [tlog(bundle::REKOR_V1_NAME, &rekor_der), tlog(bundle::REKOR_V2_NAME, &rekor2_der)],
            "certificateAuthorities": [{
                "subject": {"organization": "cip-host test", "commonName": "cip-host test CA"},
                "uri": "https://fulcio.cip-host.test",
                "certChain": {"certificates": [{"rawBytes": b64(ca_cert.der())}]},
                "validFor": {"start": start}
            }],
            "ctlogs": [],
            "timestampAuthorities": [tsa]
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
    /// `--bundle`: cosign v3's layout instead of the `.sig` tag.
    pub bundle: Option<BundleOptions>,
    /// `sha256:<hex>` written as the bundle statement's subject instead of the image's.
    pub subject_digest: Option<String>,
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
    der::tlv(UTF8_STRING, text.as_bytes())
}

const UTF8_STRING: u8 = 0x0c;

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

/// The registry, the image reference and its digest (`sha256:...`), resolving a tag.
fn resolve(
    sources_path: Option<&Path>,
    image: &str,
    handle: tokio::runtime::Handle,
) -> Result<(Registry, Reference, String)> {
    let sources = match sources_path {
        Some(path) => Sources::load(path)?,
        None => Sources::default(),
    };
    let registry = Registry::new(&sources, handle)?;
    let reference: Reference = image
        .parse()
        .map_err(|e| anyhow!("invalid image reference {image:?}: {e}"))?;
    let digest = match reference.digest() {
        Some(d) => d.to_string(),
        None => registry.digest_of(&reference).map_err(|e| anyhow!(e))?,
    };
    Ok((registry, reference, digest))
}

/// Keyless signing of `data`: a fresh key, its leaf certificate from the test CA, and a
/// Rekor bundle signed with the test log key whose entry is `body(signature, leaf PEM)`.
/// Returns the signature and the annotations `certificate`, `chain` and `bundle`.
fn keyless_sign(
    keyless: &Keyless,
    data: &[u8],
    body: impl FnOnce(&[u8], &str) -> Result<serde_json::Value>,
) -> Result<(Vec<u8>, BTreeMap<String, String>)> {
    let leaf_key = new_key();
    let signature = sign_bytes(&leaf_key, data);
    let (leaf_pem, ca_pem) = leaf_certificate(keyless, &leaf_key)?;
    let rekor_key = load_key(&keyless.rekor_key)?;
    let body = body(&signature, &leaf_pem)?;
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
    let mut annotations = BTreeMap::new();
    annotations.insert(CERTIFICATE_ANNOTATION.to_string(), leaf_pem);
    annotations.insert(CHAIN_ANNOTATION.to_string(), ca_pem);
    annotations.insert(
        BUNDLE_ANNOTATION.to_string(),
        serde_json::to_string(&bundle)?,
    );
    Ok((signature, annotations))
}

/// `cip-host sign`: pushes one more signature layer to `<repo>:sha256-<hex>.sig`. Returns
/// the signature manifest's URL.
pub fn sign(opts: &SignOptions, handle: tokio::runtime::Handle) -> Result<String> {
    let (registry, reference, digest) =
        resolve(opts.sources_path.as_deref(), &opts.image, handle.clone())?;
    if let Some(bundle_opts) = &opts.bundle {
        let subject = opts.subject_digest.as_deref().unwrap_or(&digest);
        let statement = statement::sign_statement(subject_hex(subject)?, &opts.annotations);
        let bundle = bundle::build(&statement, &opts.signer, bundle_opts)?;
        let target = bundle::Target {
            sources_path: opts.sources_path.as_deref(),
            image: &opts.image,
            predicate_type: statement::SIGN_PREDICATE_TYPE,
        };
        return bundle::publish(&bundle, bundle_opts, &target, &digest, handle);
    }
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
            let (signature, keyless_annotations) = keyless_sign(
                keyless,
                &payload,
                |signature, leaf_pem| {
                    Ok(serde_json::json!({
                        "apiVersion": "0.0.1",
                        "kind": "hashedrekord",
                        "spec": {
                            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(sha2::Sha256::digest(&payload))}},
                            "signature": {"content": b64(signature), "publicKey": {"content": b64(leaf_pem.as_bytes())}}
                        }
                    }))
                },
            )?;
            annotations.insert(SIGNATURE_ANNOTATION.to_string(), b64(&signature));
            annotations.extend(keyless_annotations);
        }
    }
    append_layer(
        &registry,
        &reference,
        &digest,
        "sig",
        oci_client::client::ImageLayer::new(
            payload,
            SIMPLE_SIGNING_MEDIA_TYPE.to_string(),
            Some(annotations),
        ),
    )
}

/// Appends `layer` to the cosign manifest `<repo>:sha256-<hex>.<suffix>` (creating it), as
/// cosign does; returns the manifest's URL.
fn append_layer(
    registry: &Registry,
    reference: &Reference,
    digest: &str,
    suffix: &str,
    layer: oci_client::client::ImageLayer,
) -> Result<String> {
    let tag = crate::capabilities::oci::cosign_tag(reference, digest, suffix);
    let mut layers = Vec::new();
    if let Some(existing) = registry
        .cosign_manifest(reference, digest, suffix)
        .map_err(|e| anyhow!(e))?
    {
        let blobs = registry
            .pull_layers(&tag, &existing)
            .map_err(|e| anyhow!(e))?;
        for (descriptor, data) in existing.layers.iter().zip(blobs) {
            layers.push(oci_client::client::ImageLayer::new(
                data,
                descriptor.media_type.clone(),
                descriptor.annotations.clone(),
            ));
        }
    }
    layers.push(layer);
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
        bail!("the manifest {tag} has too many layers");
    }
    let mut manifest = oci_client::manifest::OciImageManifest::build(&layers, &config, None);
    manifest.media_type = Some(oci_client::manifest::OCI_IMAGE_MEDIA_TYPE.to_string());
    crate::debug(&format!(
        "{suffix} manifest: {}",
        serde_json::to_string(&manifest)?
    ));
    registry
        .push(&tag, &layers, &config, &manifest)
        .map_err(|e| anyhow!("cannot push {tag}: {e}"))
}

/// cosign's `--type` short names for predicate types; anything else is the URI itself.
pub fn predicate_type_uri(name: &str) -> &str {
    match name {
        "custom" => "https://cosign.sigstore.dev/attestation/v1",
        "slsaprovenance" | "slsaprovenance02" => "https://slsa.dev/provenance/v0.2",
        "slsaprovenance1" => "https://slsa.dev/provenance/v1",
        "spdx" | "spdxjson" => "https://spdx.dev/Document",
        "cyclonedx" => "https://cyclonedx.org/bom",
        "link" => "https://in-toto.io/Link/v1",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "openvex" => "https://openvex.dev/ns",
        other => other,
    }
}

pub struct AttestOptions {
    pub sources_path: Option<PathBuf>,
    pub signer: Signer,
    /// A JSON file: the statement's predicate.
    pub predicate: PathBuf,
    /// A URI or one of cosign's short names.
    pub predicate_type: String,
    /// `sha256:<hex>` written as the statement's subject instead of the image's digest.
    pub subject_digest: Option<String>,
    pub image: String,
    /// `--bundle`: cosign v3's layout instead of the `.att` tag.
    pub bundle: Option<BundleOptions>,
}

fn subject_hex(subject: &str) -> Result<&str> {
    match subject.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(hex),
        _ => bail!("the subject digest {subject:?} is not sha256:<64 hex digits>"),
    }
}

/// `cip-host attest`: pushes one more attestation layer (a DSSE envelope over an in-toto
/// statement) to `<repo>:sha256-<hex>.att`. Returns the attestation manifest's URL.
pub fn attest(opts: &AttestOptions, handle: tokio::runtime::Handle) -> Result<String> {
    use crate::capabilities::attestations::{
        pae, Envelope, EnvelopeSignature, DSSE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE,
        PREDICATE_TYPE_ANNOTATION,
    };
    let predicate_text = read_text(&opts.predicate)?;
    let predicate = || -> Result<serde_json::Value> {
        serde_json::from_str(&predicate_text)
            .with_context(|| format!("{} is not JSON", opts.predicate.display()))
    };
    // cosign wraps a `custom` predicate as {Data, Timestamp}; the legacy fixture keeps the
    // file's JSON as the predicate, which the e2e policies are written against.
    let predicate = match (&opts.bundle, opts.predicate_type.as_str()) {
        (Some(_), "custom") => statement::custom_predicate(&predicate_text, now())?,
        _ => predicate()?,
    };
    let (registry, reference, digest) =
        resolve(opts.sources_path.as_deref(), &opts.image, handle.clone())?;
    let subject = opts.subject_digest.as_deref().unwrap_or(&digest);
    let subject_hex = subject_hex(subject)?;
    let predicate_type = predicate_type_uri(&opts.predicate_type);
    if let Some(bundle_opts) = &opts.bundle {
        let statement = statement::attest_statement(
            &format!("{}/{}", reference.registry(), reference.repository()),
            subject_hex,
            predicate_type,
            &predicate,
        );
        let bundle = bundle::build(&statement, &opts.signer, bundle_opts)?;
        let target = bundle::Target {
            sources_path: opts.sources_path.as_deref(),
            image: &opts.image,
            predicate_type,
        };
        return bundle::publish(&bundle, bundle_opts, &target, &digest, handle);
    }
    let statement = serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v0.1",
        "predicateType": predicate_type,
        "subject": [{
            "name": format!("{}/{}", reference.registry(), reference.repository()),
            "digest": {"sha256": subject_hex}
        }],
        "predicate": predicate
    }))?;
    let to_sign = pae(IN_TOTO_PAYLOAD_TYPE, &statement);
    let envelope = |signature: &[u8]| -> Result<Vec<u8>> {
        Ok(serde_json::to_vec(&Envelope {
            payload_type: IN_TOTO_PAYLOAD_TYPE.to_string(),
            payload: b64(&statement),
            signatures: vec![EnvelopeSignature {
                keyid: String::new(),
                sig: b64(signature),
            }],
        })?)
    };
    let mut annotations = BTreeMap::new();
    annotations.insert(
        PREDICATE_TYPE_ANNOTATION.to_string(),
        predicate_type.to_string(),
    );
    let blob = match &opts.signer {
        Signer::Key(path) => envelope(&sign_bytes(&load_key(path)?, &to_sign))?,
        Signer::Keyless(keyless) => {
            // cosign's Rekor entry for an attestation: intoto 0.0.1 (hashes of the envelope
            // and of the statement, and the signing certificate)
            let (signature, keyless_annotations) = keyless_sign(
                keyless,
                &to_sign,
                |signature, leaf_pem| {
                    let blob = envelope(signature)?;
                    Ok(serde_json::json!({
                        "apiVersion": "0.0.1",
                        "kind": "intoto",
                        "spec": {
                            "content": {
                                "hash": {"algorithm": "sha256", "value": hex::encode(sha2::Sha256::digest(&blob))},
                                "payloadHash": {"algorithm": "sha256", "value": hex::encode(sha2::Sha256::digest(&statement))}
                            },
                            "publicKey": b64(leaf_pem.as_bytes())
                        }
                    }))
                },
            )?;
            annotations.extend(keyless_annotations);
            envelope(&signature)?
        }
    };
    append_layer(
        &registry,
        &reference,
        &digest,
        "att",
        oci_client::client::ImageLayer::new(blob, DSSE_MEDIA_TYPE.to_string(), Some(annotations)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicate_type_names() {
        for (name, uri) in [
            ("custom", "https://cosign.sigstore.dev/attestation/v1"),
            ("slsaprovenance", "https://slsa.dev/provenance/v0.2"),
            ("slsaprovenance1", "https://slsa.dev/provenance/v1"),
            ("spdx", "https://spdx.dev/Document"),
            ("spdxjson", "https://spdx.dev/Document"),
            ("cyclonedx", "https://cyclonedx.org/bom"),
            ("link", "https://in-toto.io/Link/v1"),
            ("vuln", "https://cosign.sigstore.dev/attestation/vuln/v1"),
            ("openvex", "https://openvex.dev/ns"),
            ("https://example.com/p/v1", "https://example.com/p/v1"),
        ] {
            assert_eq!(predicate_type_uri(name), uri, "{name}");
        }
    }

    #[test]
    fn testca_trusts_both_logs_and_the_tsa() {
        let dir = std::env::temp_dir().join(format!("cip-testca-{}", std::process::id()));
        testca(&dir).unwrap();
        let config: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("trust-config.json")).unwrap())
                .unwrap();
        let root = &config["trustedRoot"];
        let logs: Vec<(String, String)> = root["tlogs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(t["publicKey"]["rawBytes"].as_str().unwrap())
                    .unwrap();
                assert_eq!(
                    t["logId"]["keyId"].as_str().unwrap(),
                    b64(&sha2::Sha256::digest(&der))
                );
                (t["baseUrl"].as_str().unwrap().to_string(), b64(&der))
            })
            .collect();
        let key_of = |file: &str| b64(&public_der(&load_key(&dir.join(file)).unwrap()).unwrap());
        assert_eq!(
            logs,
            vec![
                (
                    "https://rekor.cip-host.test".to_string(),
                    key_of("rekor.key")
                ),
                (
                    "https://rekor2.cip-host.test".to_string(),
                    key_of("rekor2.key")
                ),
            ]
        );
        let tsa = &root["timestampAuthorities"][0];
        assert_eq!(
            tsa["certChain"]["certificates"].as_array().unwrap().len(),
            2
        );
        assert_eq!(tsa["subject"]["commonName"], "cip-host test TSA");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn utf8_string_der() {
        assert_eq!(der_utf8_string("ab"), vec![0x0c, 2, b'a', b'b']);
        let long = "x".repeat(200);
        let der = der_utf8_string(&long);
        assert_eq!(&der[..3], &[0x0c, 0x81, 200]);
        assert_eq!(der.len(), 203);
    }
}
