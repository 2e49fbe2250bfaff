//! policy-controller's validation of a CIP spec (its `Validate` methods), with the same field
//! paths and messages, plus what a Wasm policy cannot do (Secrets, KMS, ConfigMaps, remote
//! policies: nothing outside the settings can be read, so the value must be inlined).

use super::keys;
use super::spec::*;
use crate::field_error::FieldErrors;

const VALID_RESOURCES: [&str; 7] = [
    "replicasets",
    "deployments",
    "pods",
    "cronjobs",
    "jobs",
    "statefulsets",
    "daemonsets",
];
const SHORT_PREDICATE_TYPES: [&str; 10] = [
    "custom",
    "slsaprovenance",
    "slsaprovenance02",
    "slsaprovenance1",
    "spdx",
    "spdxjson",
    "cyclonedx",
    "link",
    "vuln",
    "openvex",
];

#[derive(Debug, Clone)]
pub struct Options {
    pub fail_on_empty_authorities: bool,
}

pub fn validate_spec(spec: &Spec, opts: &Options) -> FieldErrors {
    let mut errs = FieldErrors::new();
    let images = spec.images.as_deref().unwrap_or_default();
    if images.is_empty() {
        errs.missing(&["spec.images"]);
    }
    for (k, image) in images.iter().enumerate() {
        let path = format!("spec.images[{k}].glob");
        match image.glob.as_deref() {
            None | Some("") => errs.missing(&[&path]),
            Some(glob) => {
                if let Err(details) = crate::image::glob::Glob::compile(glob) {
                    errs.invalid(glob, &path, details);
                }
            }
        }
    }
    let authorities = spec.authorities.as_deref().unwrap_or_default();
    if authorities.is_empty() && opts.fail_on_empty_authorities {
        errs.missing(&["spec.authorities"]);
    }
    for (i, authority) in authorities.iter().enumerate() {
        validate_authority(authority, &format!("spec.authorities[{i}]"), &mut errs);
    }
    let mode = text(&spec.mode);
    if !mode.is_empty() && mode != "enforce" && mode != "warn" {
        errs.invalid(mode, "spec.mode", "unsupported mode");
    }
    for (k, m) in spec
        .match_
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let resource = text(&m.resource);
        if !resource.is_empty() && !VALID_RESOURCES.contains(&resource) {
            errs.invalid(
                resource,
                &format!("spec.match[{k}].resource"),
                "unsupported resource name",
            );
        }
        if m.selector.is_some()
            && resource.is_empty()
            && text(&m.version).is_empty()
            && text(&m.group).is_empty()
        {
            errs.invalid(
                "",
                &format!("spec.match[{k}].selector"),
                "selector requires a resource type to match the labels",
            );
        }
        if let Some(selector) = &m.selector {
            for (e, expr) in selector
                .match_expressions
                .as_deref()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                let path = format!("spec.match[{k}].selector.matchExpressions[{e}]");
                let op = text(&expr.operator);
                let values = expr.values.as_deref().unwrap_or_default();
                match op {
                    "In" | "NotIn" if values.is_empty() => {
                        errs.missing(&[&format!("{path}.values")])
                    }
                    "Exists" | "DoesNotExist" if !values.is_empty() => {
                        errs.disallowed(&[&format!("{path}.values")])
                    }
                    "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                    other => errs.invalid(
                        other,
                        &format!("{path}.operator"),
                        "not a valid selector operator",
                    ),
                }
                if text(&expr.key).is_empty() {
                    errs.missing(&[&format!("{path}.key")]);
                }
            }
        }
    }
    // spec.policy is validated without a `policy` path segment, as upstream does.
    if let Some(policy) = &spec.policy {
        validate_policy(policy, "spec", true, &mut errs);
        let bundles = spec.authorities.as_deref().unwrap_or_default().iter();
        if bundles
            .filter(|a| a.static_.is_none())
            .any(|a| text(&a.signature_format) == "bundle")
        {
            errs.push(
                "not supported by cluster-image-policy",
                &["spec.policy"],
                "a CIP-level policy cannot yet see what a signatureFormat: bundle authority verified (the host does not report the bundles' signers); remove spec.policy or signatureFormat",
            );
        }
    }
    errs
}

fn validate_authority(a: &Authority, path: &str, errs: &mut FieldErrors) {
    let kinds = [a.key.is_some(), a.keyless.is_some(), a.static_.is_some()];
    let count = kinds.iter().filter(|&&k| k).count();
    let one_of = [
        format!("{path}.key"),
        format!("{path}.keyless"),
        format!("{path}.static"),
    ];
    let one_of: Vec<&str> = one_of.iter().map(String::as_str).collect();
    if count == 0 {
        errs.missing_one_of(&one_of);
        return;
    }
    if count > 1 {
        errs.multiple_one_of(&one_of);
        return;
    }
    if let Some(key) = &a.key {
        validate_key(key, &format!("{path}.key"), errs);
    }
    if let Some(keyless) = &a.keyless {
        validate_keyless(keyless, &format!("{path}.keyless"), errs);
    }
    let sources = a.source.as_deref().unwrap_or_default();
    let attestations = a.attestations.as_deref().unwrap_or_default();
    if let Some(st) = &a.static_ {
        match text(&st.action) {
            "" => errs.missing(&[&format!("{path}.static.action")]),
            "pass" | "fail" => {}
            other => errs.invalid(
                other,
                &format!("{path}.static.action"),
                "unsupported action",
            ),
        }
        let clash = |field: &str, errs: &mut FieldErrors| {
            errs.multiple_one_of(&[&format!("{path}.static"), &format!("{path}.{field}")])
        };
        if !attestations.is_empty() {
            clash("attestations", errs);
        }
        if !sources.is_empty() {
            clash("source", errs);
        }
        if a.ctlog.is_some() {
            clash("ctlog", errs);
        }
        if a.rfc3161timestamp.is_some() {
            clash("rfc3161timestamp", errs);
        }
    }
    if sources.len() > 1 {
        errs.invalid(
            "source",
            &format!("{path}.source"),
            "only single source is supported",
        );
    } else if let Some(source) = sources.first() {
        validate_source(source, &format!("{path}.source[0]"), errs);
    }
    for att in attestations {
        let apath = format!("{path}.attestations");
        if text(&att.name).is_empty() {
            errs.missing(&[&format!("{apath}.name")]);
        }
        let pt = text(&att.predicate_type);
        if pt.is_empty() {
            errs.missing(&[&format!("{apath}.predicateType")]);
        } else if SHORT_PREDICATE_TYPES.contains(&pt) || !is_request_uri(pt) {
            errs.warn_invalid(
                pt,
                &format!("{apath}.predicateType"),
                "deprecated value, please use RFC 3986 conformant values",
            );
        }
        if let Some(policy) = &att.policy {
            validate_policy(policy, &format!("{apath}.policy"), false, errs);
        }
    }
    unsupported_here(a, path, errs);
}

/// Verification features that need something a Kubewarden host does not give a policy.
fn unsupported_here(a: &Authority, path: &str, errs: &mut FieldErrors) {
    let mut reject = |field: &str, why: &str| {
        errs.push(
            "not supported by cluster-image-policy",
            &[&format!("{path}.{field}")],
            why,
        )
    };
    if a.ctlog.is_some() {
        reject(
            "ctlog",
            "the Kubewarden host verifies Rekor bundles offline with the transparency-log keys of its sigstore trust root (--sigstore-trust-config); remove ctlog",
        );
    }
    if a.rfc3161timestamp.is_some() {
        reject(
            "rfc3161timestamp",
            "timestamp authorities are not verified by the Kubewarden host; remove rfc3161timestamp",
        );
    }
    if a.source.as_deref().is_some_and(|s| !s.is_empty()) {
        reject(
            "source",
            "signatures and attestations are read from the image's own repository; copy them there and remove source",
        );
    }
    let bundle = text(&a.signature_format) == "bundle";
    if bundle && a.keyless.as_ref().is_some_and(|k| k.ca_cert.is_some()) {
        reject(
            "keyless.ca-cert",
            "bundles are verified against the Fulcio CAs of the host's sigstore trust root; give the host a trust root with this CA (--sigstore-trust-config) and remove ca-cert, or remove signatureFormat",
        );
    }
    if let Some(keyless) = &a.keyless {
        if keyless.trust_root_ref.is_some() {
            reject(
                "keyless.trustRootRef",
                "TrustRoot resources cannot be read by a policy; give the host the trust root with --sigstore-trust-config (policy-server: KUBEWARDEN_SIGSTORE_TRUST_CONFIG_PATH), or inline the CA in keyless.ca-cert.data",
            );
        }
    }
}

fn validate_key(key: &KeyRef, path: &str, errs: &mut FieldErrors) {
    let data = text(&key.data);
    let kms = text(&key.kms);
    let one_of = [
        format!("{path}.data"),
        format!("{path}.kms"),
        format!("{path}.secretref"),
    ];
    let one_of: Vec<&str> = one_of.iter().map(String::as_str).collect();
    if data.is_empty() && kms.is_empty() && key.secret_ref.is_none() {
        errs.missing_one_of(&one_of);
    }
    if let Some(hash) = key.hash_algorithm.as_deref() {
        match keys::hash_algorithm(hash) {
            None if !hash.is_empty() => errs.invalid(hash, &format!("{path}.hashAlgorithm"), ""),
            Some(h) if h != keys::HashAlgorithm::Sha256 => errs.push(
                "not supported by cluster-image-policy",
                &[&format!("{path}.hashAlgorithm")],
                "the Kubewarden host verifies cosign signatures with SHA-256 digests only; remove hashAlgorithm or set sha256",
            ),
            _ => {}
        }
    }
    if !data.is_empty() {
        if !kms.is_empty() || key.secret_ref.is_some() {
            errs.multiple_one_of(&one_of);
        }
        if keys::parse_public_key_pem(data).is_err() {
            errs.invalid(data, &format!("{path}.data"), "");
        }
    } else if !kms.is_empty() && key.secret_ref.is_some() {
        errs.multiple_one_of(&one_of);
    }
    if !kms.is_empty() {
        errs.push(
            "not supported by cluster-image-policy",
            &[&format!("{path}.kms")],
            "a policy cannot reach a KMS: export the public key (cosign public-key --key <kms uri>) and inline it in key.data",
        );
    }
    if key.secret_ref.is_some() {
        errs.push(
            "not supported by cluster-image-policy",
            &[&format!("{path}.secretRef")],
            "a policy cannot read Secrets: inline the public key PEM in key.data",
        );
    }
}

fn validate_keyless(keyless: &KeylessRef, path: &str, errs: &mut FieldErrors) {
    if keyless.url.is_none() && keyless.ca_cert.is_none() {
        errs.missing_one_of(&[&format!("{path}.ca-cert"), &format!("{path}.url")]);
    }
    if keyless.url.is_some() && keyless.ca_cert.is_some() {
        errs.multiple_one_of(&[&format!("{path}.ca-cert"), &format!("{path}.url")]);
    }
    if let Some(ca) = &keyless.ca_cert {
        validate_ca_cert(ca, &format!("{path}.ca-cert"), errs);
    }
    let identities = keyless.identities.as_deref().unwrap_or_default();
    if identities.is_empty() {
        errs.missing(&[&format!("{path}.identities")]);
    }
    for (j, id) in identities.iter().enumerate() {
        let ipath = format!("{path}.identities[{j}]");
        let pair = |a: &str, b: &str| [format!("{ipath}.{a}"), format!("{ipath}.{b}")];
        let (issuer, issuer_re) = (text(&id.issuer), text(&id.issuer_reg_exp));
        let (subject, subject_re) = (text(&id.subject), text(&id.subject_reg_exp));
        if !issuer.is_empty() && !issuer_re.is_empty() {
            let [a, b] = pair("issuer", "issuerRegExp");
            errs.multiple_one_of(&[&a, &b]);
        }
        if !subject.is_empty() && !subject_re.is_empty() {
            let [a, b] = pair("subject", "subjectRegExp");
            errs.multiple_one_of(&[&a, &b]);
        }
        for (re, field) in [(issuer_re, "issuerRegExp"), (subject_re, "subjectRegExp")] {
            if !re.is_empty() {
                if let Err(e) = super::regex_compat::compile(re) {
                    errs.invalid(
                        re,
                        &format!("{ipath}.{field}"),
                        format!("regex is invalid: {e}"),
                    );
                } else if !(re.starts_with('^') && re.ends_with('$')) {
                    errs.push_at(
                        crate::field_error::Level::Warning,
                        "regular expression is not anchored",
                        &[&format!("{ipath}.{field}")],
                        format!("{re:?} matches anywhere in the value, as in policy-controller; write ^...$ to match the whole value"),
                    );
                }
            }
        }
        if subject.is_empty() && subject_re.is_empty() {
            let [a, b] = pair("subject", "subjectRegExp");
            errs.missing(&[&a, &b]);
        }
        if issuer.is_empty() && issuer_re.is_empty() {
            let [a, b] = pair("issuer", "issuerRegExp");
            errs.missing(&[&a, &b]);
        }
    }
}

/// `keyless.ca-cert` is a KeyRef upstream (and validated as one), but what it must hold is a
/// CA certificate: we check it as the certificate the verification will use.
fn validate_ca_cert(ca: &KeyRef, path: &str, errs: &mut FieldErrors) {
    let data = text(&ca.data);
    if data.is_empty() && ca.kms.is_none() && ca.secret_ref.is_none() {
        errs.missing_one_of(&[
            &format!("{path}.data"),
            &format!("{path}.kms"),
            &format!("{path}.secretref"),
        ]);
    }
    if ca.kms.is_some() || ca.secret_ref.is_some() {
        errs.push(
            "not supported by cluster-image-policy",
            &[&format!("{path}.data")],
            "inline the CA certificate PEM in ca-cert.data",
        );
    }
    if !data.is_empty() && keys::parse_certificate_pem(data).is_err() {
        errs.invalid(data, &format!("{path}.data"), "not a PEM CERTIFICATE");
    }
}

fn validate_source(source: &Source, path: &str, errs: &mut FieldErrors) {
    let mut local = FieldErrors::new();
    match source.oci.as_deref() {
        None | Some("") => local.missing(&[&format!("{path}.oci")]),
        Some(oci) => {
            if let Err(e) = validate_oci(oci) {
                local.invalid(oci, &format!("{path}.oci"), e);
            }
        }
    }
    for (j, secret) in source
        .signature_pull_secrets
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if text(&secret.name).is_empty() {
            local.missing(&[&format!("{path}.signaturePullSecrets[{j}].name")]);
        }
    }
    errs.extend(local);
}

fn validate_oci(oci: &str) -> Result<(), String> {
    use crate::image::reference::Repository;
    let first = oci.split('/').next().unwrap_or_default();
    if !oci.contains('/') || !(first.contains('.') || first.contains(':')) {
        if oci.contains('/') {
            return Err(format!(
                "registries must be valid RFC 3986 URI authorities: {oci}"
            ));
        }
        return Ok(());
    }
    Repository::parse(oci).map(|_| ())
}

fn validate_policy(p: &Policy, path: &str, within_spec: bool, errs: &mut FieldErrors) {
    let type_ = text(&p.type_);
    if type_ != "cue" && type_ != "rego" {
        errs.invalid(
            type_,
            &format!("{path}.type"),
            "only [cue,rego] are supported at the moment",
        );
    }
    let sources = [
        p.data.as_deref().is_some_and(|d| !d.is_empty()),
        p.config_map_ref.is_some(),
        p.remote.is_some(),
    ];
    let three = [
        format!("{path}.configMapRef"),
        format!("{path}.data"),
        format!("{path}.remote"),
    ];
    let three: Vec<&str> = three.iter().map(String::as_str).collect();
    match sources.iter().filter(|&&s| s).count() {
        0 => errs.missing(&three),
        1 => {}
        _ => errs.multiple_one_of(&three),
    }
    if let Some(remote) = &p.remote {
        let url = text(&remote.url);
        let https_with_host = url
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !https_with_host {
            errs.invalid(
                url,
                &format!("{path}.remote.url"),
                "url valid is invalid. host and https scheme are expected",
            );
        }
        if text(&remote.sha256sum).is_empty() {
            errs.missing(&[&format!("{path}.remote.sha256sum")]);
        }
        errs.push(
            "not supported by cluster-image-policy",
            &[&format!("{path}.remote")],
            "a policy cannot fetch URLs: inline the policy text in data",
        );
    }
    if let Some(cm) = &p.config_map_ref {
        if text(&cm.name).is_empty() {
            errs.missing(&[&format!("{path}.configMapRef.name")]);
        }
        if text(&cm.key).is_empty() {
            errs.missing(&[&format!("{path}.configMapRef.key")]);
        }
        errs.push(
            "not supported by cluster-image-policy",
            &[&format!("{path}.configMapRef")],
            "a policy cannot read ConfigMaps: inline the policy text in data",
        );
    }
    if !within_spec {
        for (set, field) in [
            (p.fetch_config_file.is_some(), "fetchConfigFile"),
            (p.include_spec.is_some(), "includeSpec"),
            (p.include_object_meta.is_some(), "includeObjectMeta"),
            (p.include_type_meta.is_some(), "includeTypeMeta"),
        ] {
            if set {
                errs.disallowed(&[&format!("{path}.{field}")]);
            }
        }
    }
}

/// Go's `url.ParseRequestURI`: an absolute URI or an absolute path, no fragment handling needed.
fn is_request_uri(s: &str) -> bool {
    if s.starts_with('/') {
        return true;
    }
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !s.contains(' ')
}
