//! Every bound the verifier puts on what a registry or an attestation hands it. Reaching one
//! is an error that names it, never a truncated answer (except [`MAX_CHAIN_CERTS`]: a longer
//! chain annotation only loses the certificates past the bound, so the leaf then fails to
//! chain).

/// Bytes of one attestation layer (a DSSE envelope), asked of the registry and checked again
/// on what it returns.
pub const MAX_ENVELOPE_BYTES: usize = 16 << 20;
/// Bytes of all the attestation layers of one image together, as their manifest declares
/// them (each layer is then read up to its declared size): what one request may make the
/// verifier read and hash, since every signature of an envelope is checked over its whole
/// payload.
pub const MAX_TOTAL_ENVELOPE_BYTES: usize = 64 << 20;
/// Layers of one attestation manifest.
pub const MAX_LAYERS: usize = 128;
/// Signatures in one DSSE envelope.
pub const MAX_SIGNATURES: usize = 16;
/// Intermediate certificates read from a layer's `dev.sigstore.cosign/chain` annotation.
pub const MAX_CHAIN_CERTS: usize = 8;
