//! A validated CIP turned into what admission evaluates: globs compiled, authorities defaulted
//! (`authority-<i>`), regular expressions and selectors built once per settings document.

use super::keys::{self, HashAlgorithm};
use super::spec::{self, text, Spec, SpecHead};
use super::validate;
use crate::field_error::Level;
use crate::image::glob::Glob;
use crate::settings;
use crate::verify::host::Pem;
use regex::Regex;
use std::cell::OnceCell;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Enforce,
    Warn,
}

#[derive(Debug)]
pub struct CompiledPolicy {
    pub name: String,
    pub globs: Vec<Glob>,
    rules: OnceCell<Result<Rules, String>>,
    /// For a policy loaded for admission: its spec's JSON, decoded, validated and compiled on
    /// first use.
    deferred: Option<(String, validate::Options)>,
    pub mode: Mode,
    pub matches: Vec<ResourceMatch>,
}

impl CompiledPolicy {
    /// The authorities, compiled. A policy loaded for admission compiles them (keys, regular
    /// expressions, CUE and Rego programs) only when an image first matches it: policy-server
    /// evaluates every request on a fresh instance, so work for policies no image of the
    /// request matches would be paid on every request. `validate_settings` compiles everything
    /// up front, so errors still surface when the policy is deployed.
    pub fn rules(&self) -> Result<&Rules, &str> {
        let compiled = self.rules.get_or_init(|| match &self.deferred {
            Some((text, options)) => {
                let mut spec: Spec = settings::decode(text.as_bytes())
                    .map_err(|e| settings::decode_error("spec", &e))?;
                spec.set_defaults();
                let errs = validate::validate_spec(&spec, options);
                match errs.render(Level::Error) {
                    Some(rendered) => Err(rendered),
                    None => compile_rules(&spec),
                }
            }
            None => Ok(Rules::default()),
        });
        match compiled {
            Ok(rules) => Ok(rules),
            Err(e) => Err(e),
        }
    }

    pub fn authorities(&self) -> Result<&[CompiledAuthority], &str> {
        self.rules().map(|r| r.authorities.as_slice())
    }
}

/// What judges an image the policy covers: its authorities, and its CIP-level policy.
#[derive(Debug, Default)]
pub struct Rules {
    pub authorities: Vec<CompiledAuthority>,
    pub policy: Option<CipPolicy>,
}

/// `spec.policy`: evaluated over the passing authorities' results (reference §5.2).
#[derive(Debug)]
pub struct CipPolicy {
    pub program: AttestationPolicy,
    pub fetch_config_file: bool,
    pub include_spec: bool,
    pub include_object_meta: bool,
    pub include_type_meta: bool,
}

#[derive(Debug)]
pub struct CompiledAuthority {
    pub name: String,
    pub kind: AuthorityKind,
    pub attestations: Vec<CompiledAttestation>,
    /// `signatureFormat: bundle`: cosign v3 bundles (referrers) instead of `.sig`/`.att` tags.
    pub bundle: bool,
}

#[derive(Debug)]
pub enum AuthorityKind {
    StaticPass,
    StaticFail(String),
    Key {
        /// PEM of each public key (one per authority upstream; kept as a list for the host call).
        keys: Vec<Pem>,
        hash: HashAlgorithm,
    },
    Keyless {
        identities: Vec<CompiledIdentity>,
        /// PEM of `keyless.ca-cert.data`, when the authority names its own CA.
        ca_cert: Option<String>,
    },
}

#[derive(Debug)]
pub enum Matcher {
    Exact(String),
    Regex(Regex),
}

impl Matcher {
    pub fn matches(&self, value: &str) -> bool {
        match self {
            Matcher::Exact(s) => s == value,
            Matcher::Regex(re) => re.is_match(value),
        }
    }

    /// The regular expression's text, as compiled.
    pub fn pattern(&self) -> Option<&str> {
        match self {
            Matcher::Exact(_) => None,
            Matcher::Regex(re) => Some(re.as_str()),
        }
    }

    pub fn exact(&self) -> Option<&str> {
        match self {
            Matcher::Exact(s) => Some(s),
            Matcher::Regex(_) => None,
        }
    }
}

#[derive(Debug)]
pub struct CompiledIdentity {
    pub issuer: Matcher,
    pub subject: Matcher,
}

#[derive(Debug)]
pub struct CompiledAttestation {
    pub name: String,
    /// The predicate type as written in the CIP (messages use this spelling).
    pub predicate_type: String,
    /// The URI it stands for (short names mapped as cosign does).
    pub predicate_uri: String,
    pub policy: Option<AttestationPolicy>,
}

/// An attestation's or a CIP's policy, compiled once per settings document.
#[derive(Debug)]
pub enum AttestationPolicy {
    Cue(crate::cue::Program),
    Rego(crate::rego::Program),
}

impl AttestationPolicy {
    /// `Err` is cosign's message, naming the policy as `name` (an attestation's name, or
    /// `ClusterImagePolicy`).
    pub fn evaluate(&self, document: &serde_json::Value, name: &str) -> Result<(), String> {
        match self {
            AttestationPolicy::Cue(program) => program
                .evaluate(document)
                .map_err(|e| crate::policy_eval::cue_failure(name, &e)),
            AttestationPolicy::Rego(program) => {
                program.evaluate(document).map_err(|f| f.message(name))
            }
        }
    }
}

#[derive(Debug)]
pub struct ResourceMatch {
    pub group: String,
    pub version: String,
    pub resource: String,
    pub selector: Option<Selector>,
}

#[derive(Debug, Default)]
pub struct Selector {
    pub labels: BTreeMap<String, String>,
    pub expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(key, op, values)| {
                let value = labels.get(key);
                match op.as_str() {
                    "In" => value.is_some_and(|v| values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }
}

/// cosign's short predicate type names; anything else is used verbatim.
pub fn predicate_uri(predicate_type: &str) -> String {
    match predicate_type {
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
    .to_string()
}

/// Compiles a spec that `validate_spec` accepted; anything it could still not compile is an
/// error string naming the field.
/// Everything compiled now (settings validation).
pub fn compile(name: &str, spec: &Spec) -> Result<CompiledPolicy, String> {
    let mut policy = compile_matching(name, &spec.images, &spec.mode, &spec.match_)?;
    policy.rules = OnceCell::from(Ok(compile_rules(spec)?));
    Ok(policy)
}

/// What decides whether the policy applies (globs, mode, `match`) now; the authorities on first
/// use (admission).
pub fn compile_deferred(
    name: &str,
    head: &SpecHead,
    spec_text: &str,
    options: &validate::Options,
) -> Result<CompiledPolicy, String> {
    let mut policy = compile_matching(name, &head.images, &head.mode, &head.match_)?;
    policy.deferred = Some((spec_text.to_string(), options.clone()));
    Ok(policy)
}

fn compile_rules(spec: &Spec) -> Result<Rules, String> {
    let authorities = spec
        .authorities
        .as_deref()
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, a)| compile_authority(i, a))
        .collect::<Result<_, _>>()?;
    let policy = match &spec.policy {
        None => None,
        Some(p) => Some(CipPolicy {
            program: compile_policy(p, "spec.policy")?,
            fetch_config_file: p.fetch_config_file == Some(true),
            include_spec: p.include_spec == Some(true),
            include_object_meta: p.include_object_meta == Some(true),
            include_type_meta: p.include_type_meta == Some(true),
        }),
    };
    Ok(Rules {
        authorities,
        policy,
    })
}

fn compile_matching(
    name: &str,
    images: &Option<Vec<spec::ImagePattern>>,
    mode: &Option<String>,
    matches: &Option<Vec<spec::MatchResource>>,
) -> Result<CompiledPolicy, String> {
    let globs = images
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|i| Glob::compile(text(&i.glob)))
        .collect::<Result<Vec<_>, _>>()?;
    let mode = if text(mode) == "warn" {
        Mode::Warn
    } else {
        Mode::Enforce
    };
    let matches = matches
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|m| ResourceMatch {
            group: text(&m.group).to_string(),
            version: text(&m.version).to_string(),
            resource: text(&m.resource).to_string(),
            selector: m.selector.as_ref().map(|s| Selector {
                labels: s.match_labels.clone().unwrap_or_default(),
                expressions: s
                    .match_expressions
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(|e| {
                        (
                            text(&e.key).to_string(),
                            text(&e.operator).to_string(),
                            e.values.clone().unwrap_or_default(),
                        )
                    })
                    .collect(),
            }),
        })
        .collect();
    Ok(CompiledPolicy {
        name: name.to_string(),
        globs,
        rules: OnceCell::new(),
        deferred: None,
        mode,
        matches,
    })
}

fn compile_authority(index: usize, a: &spec::Authority) -> Result<CompiledAuthority, String> {
    let name = match text(&a.name) {
        "" => format!("authority-{index}"),
        n => n.to_string(),
    };
    let kind = if let Some(st) = &a.static_ {
        match text(&st.action) {
            "pass" => AuthorityKind::StaticPass,
            _ => AuthorityKind::StaticFail(text(&st.message).to_string()),
        }
    } else if let Some(key) = &a.key {
        let hash = keys::hash_algorithm(text(&key.hash_algorithm))
            .ok_or_else(|| format!("authority {name}: invalid hashAlgorithm"))?;
        AuthorityKind::Key {
            keys: vec![Pem::new(text(&key.data))],
            hash,
        }
    } else if let Some(keyless) = &a.keyless {
        let identities = keyless
            .identities
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|id| {
                Ok(CompiledIdentity {
                    issuer: matcher(&id.issuer, &id.issuer_reg_exp)?,
                    subject: matcher(&id.subject, &id.subject_reg_exp)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        AuthorityKind::Keyless {
            identities,
            ca_cert: keyless.ca_cert.as_ref().map(|c| text(&c.data).to_string()),
        }
    } else {
        return Err(format!("authority {name}: no key, keyless or static"));
    };
    let attestations = a
        .attestations
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|att| {
            let policy = match &att.policy {
                None => None,
                Some(p) => Some(compile_policy(
                    p,
                    &format!("spec.authorities[{index}].attestations.policy"),
                )?),
            };
            Ok(CompiledAttestation {
                name: text(&att.name).to_string(),
                predicate_type: text(&att.predicate_type).to_string(),
                predicate_uri: predicate_uri(text(&att.predicate_type)),
                policy,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(CompiledAuthority {
        name,
        kind,
        attestations,
        bundle: text(&a.signature_format) == "bundle",
    })
}

/// CUE and Rego are compiled here, so a policy that cannot compile is a settings error, not a denial of
/// every image it covers.
fn compile_policy(policy: &spec::Policy, path: &str) -> Result<AttestationPolicy, String> {
    match text(&policy.type_) {
        "cue" => crate::cue::compile(text(&policy.data))
            .map(AttestationPolicy::Cue)
            .map_err(|e| {
                format!("invalid value: cue: {path}.data\nfailed to compile the cue policy with error: {e}")
            }),
        "rego" => crate::rego::compile(text(&policy.data))
            .map(AttestationPolicy::Rego)
            .map_err(|e| {
                format!("invalid value: rego: {path}.data\nfailed to compile the rego policy with error: {e}")
            }),
        other => Err(format!(
            "not supported by cluster-image-policy: {path}.type\n{other} policies are not evaluated by this version"
        )),
    }
}

fn matcher(exact: &Option<String>, re: &Option<String>) -> Result<Matcher, String> {
    match (text(exact), text(re)) {
        (e, "") => Ok(Matcher::Exact(e.to_string())),
        (_, re) => super::regex_compat::compile(re).map(Matcher::Regex),
    }
}
