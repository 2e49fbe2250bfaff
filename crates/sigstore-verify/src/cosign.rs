//! cosign's layout of signatures and attestations in a registry: the annotations of a layer of
//! `<repo>:sha256-<hex>.sig` or `.att`.

/// The media type of an attestation layer.
pub const DSSE_MEDIA_TYPE: &str = "application/vnd.dsse.envelope.v1+json";
/// The signing certificate (PEM) of a keyless signature or attestation.
pub const CERT_ANNOTATION: &str = "dev.sigstore.cosign/certificate";
/// The certificates (PEM) between the signing certificate and the root.
pub const CHAIN_ANNOTATION: &str = "dev.sigstore.cosign/chain";
/// The Rekor bundle (JSON): the log entry and its signed entry timestamp.
pub const BUNDLE_ANNOTATION: &str = "dev.sigstore.cosign/bundle";
/// What cosign writes of the statement's predicate type; never trusted, the signed
/// statement's own `predicateType` is read instead.
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
