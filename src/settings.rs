//! The policy's settings: CIP documents plus policy-controller's configuration knobs, validated
//! with policy-controller's messages and compiled once per settings document.

use crate::cip::compile::{self, CompiledPolicy};
use crate::cip::index::GlobIndex;
use crate::cip::spec::{PolicyDocument, Spec, SpecHead};
use crate::cip::validate::{self, Options};
use crate::field_error::{FieldErrors, Level};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

const API_VERSIONS: [&str; 2] = [
    "policy.sigstore.dev/v1alpha1",
    "policy.sigstore.dev/v1beta1",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoMatchPolicy {
    Deny,
    Warn,
    Allow,
}

/// The settings with each policy still JSON text, for messages that name the policy a decoding
/// failure is in: settings are compiled on every request in policy-server, which evaluates on a
/// fresh instance, so this is the second pass, after `Documents` fails.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawSettings<'a> {
    #[serde(borrow)]
    policies: Option<Vec<&'a RawValue>>,
    no_match_policy: Option<String>,
    fail_on_empty_authorities: Option<bool>,
    pin_digests: Option<bool>,
}

/// The settings with each policy decoded into its document in the same pass (each spec stays
/// text): one pass over the whole document, where `RawSettings` takes two.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Documents<'a> {
    #[serde(borrow)]
    policies: Option<Vec<PolicyDocument<'a>>>,
    no_match_policy: Option<String>,
    fail_on_empty_authorities: Option<bool>,
    pin_digests: Option<bool>,
}

#[derive(Debug)]
pub struct Settings {
    pub policies: Vec<CompiledPolicy>,
    /// The policies' globs by literal prefix, built once per settings document.
    pub index: GlobIndex,
    pub no_match: NoMatchPolicy,
    pub pin_digests: bool,
    /// Whether any policy's `match` selects on labels: only then are an object's labels read.
    pub selects_labels: bool,
    /// Warning-level findings (deprecated predicate types, unanchored expressions).
    pub warnings: Vec<String>,
}

impl Settings {
    /// Parses, defaults, validates and compiles. The error lists every problem found, one
    /// block per policy, each in policy-controller's rendering.
    pub fn compile(json: &[u8]) -> Result<Settings, String> {
        Self::load(json, Stage::Everything)
    }

    /// For one admission: the document decoded and every policy's globs and selectors built;
    /// a policy's authorities are validated and compiled when an image first matches it.
    pub fn compile_for_admission(json: &[u8]) -> Result<Settings, String> {
        Self::load(json, Stage::Deferred)
    }

    fn load(json: &[u8], stage: Stage) -> Result<Settings, String> {
        let empty = json.iter().all(u8::is_ascii_whitespace) || json == b"null";
        // Each policy's document, or why it cannot be decoded (every policy is reported).
        let (raw, documents): (Documents, Vec<Result<PolicyDocument, String>>) =
            match fast_decode(json) {
                Some(mut fast) => {
                    let documents = fast.policies.take().unwrap_or_default();
                    (fast, documents.into_iter().map(Ok).collect())
                }
                None if empty => (Documents::default(), Vec::new()),
                None => {
                    let raw: RawSettings = decode(json).map_err(|e| decode_error("", &e))?;
                    let documents = raw
                        .policies
                        .unwrap_or_default()
                        .into_iter()
                        .enumerate()
                        .map(|(i, doc)| {
                            decode(doc.get().as_bytes()).map_err(|e| {
                                format!(
                                    "{}: {}",
                                    At {
                                        index: i,
                                        name: None
                                    },
                                    decode_error("", &e)
                                )
                            })
                        })
                        .collect();
                    let settings = Documents {
                        policies: None,
                        no_match_policy: raw.no_match_policy,
                        fail_on_empty_authorities: raw.fail_on_empty_authorities,
                        pin_digests: raw.pin_digests,
                    };
                    (settings, documents)
                }
            };
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        let no_match = match raw.no_match_policy.as_deref() {
            None | Some("deny") => NoMatchPolicy::Deny,
            Some("warn") => NoMatchPolicy::Warn,
            Some("allow") => NoMatchPolicy::Allow,
            Some(other) => {
                problems.push(format!(
                    "invalid value: {other}: noMatchPolicy\nexpected one of deny, warn, allow"
                ));
                NoMatchPolicy::Deny
            }
        };
        let opts = Options {
            fail_on_empty_authorities: raw.fail_on_empty_authorities.unwrap_or(true),
        };
        let mut policies = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (i, doc) in documents.into_iter().enumerate() {
            match doc.and_then(|doc| policy(i, doc, &opts, stage)) {
                Ok((compiled, warns)) => {
                    let label = At {
                        index: i,
                        name: Some(&compiled.name),
                    };
                    warnings.extend(warns.into_iter().map(|w| format!("{label}: {w}")));
                    if let Some(first) = seen.insert(compiled.name.clone(), i) {
                        problems.push(format!(
                            "{label}: duplicate policy name, also used by policies[{first}]"
                        ));
                    }
                    policies.push(compiled);
                }
                Err(e) => problems.push(e),
            }
        }
        if problems.is_empty() {
            Ok(Settings {
                index: GlobIndex::new(&policies),
                selects_labels: policies
                    .iter()
                    .any(|p| p.matches.iter().any(|m| m.selector.is_some())),
                policies,
                no_match,
                pin_digests: raw.pin_digests.unwrap_or(true),
                warnings,
            })
        } else {
            Err(problems.join("\n"))
        }
    }
}

/// One entry of `policies`: a full CIP document or `{name, spec}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Everything,
    Deferred,
}

fn policy(
    i: usize,
    doc: PolicyDocument,
    opts: &Options,
    stage: Stage,
) -> Result<(CompiledPolicy, Vec<String>), String> {
    let at = At {
        index: i,
        name: None,
    };
    let meta_name = doc
        .metadata
        .as_ref()
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str);
    let full_document = doc.api_version.is_some() || doc.kind.is_some() || doc.metadata.is_some();
    let name = if full_document {
        meta_name
    } else {
        doc.name.as_deref()
    };
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        let field = if full_document {
            "metadata.name"
        } else {
            "name"
        };
        return Err(format!("{at}: missing field(s): {field}"));
    };
    let at = At {
        index: i,
        name: Some(name),
    };
    if full_document {
        if doc.name.is_some() {
            return Err(format!(
                "{at}: must not set the field(s): name\nuse metadata.name in a ClusterImagePolicy document"
            ));
        }
        let api_version = doc.api_version.as_deref().unwrap_or("");
        if !API_VERSIONS.contains(&api_version) {
            return Err(format!(
                "{at}: invalid value: {api_version}: apiVersion\nexpected policy.sigstore.dev/v1alpha1 or policy.sigstore.dev/v1beta1"
            ));
        }
        let kind = doc.kind.as_deref().unwrap_or("");
        if kind != "ClusterImagePolicy" {
            return Err(format!(
                "{at}: invalid value: {kind}: kind\nexpected ClusterImagePolicy"
            ));
        }
    }
    let Some(spec_text) = doc.spec else {
        return Err(format!("{at}: missing field(s): spec"));
    };
    if stage == Stage::Deferred {
        let head: SpecHead = decode(spec_text.get().as_bytes())
            .map_err(|e| format!("{at}: {}", decode_error("spec", &e)))?;
        let compiled = compile::compile_deferred(name, &head, spec_text.get(), opts)
            .map_err(|e| format!("{at}: {e}"))?;
        return Ok((compiled, Vec::new()));
    }
    let mut spec: Spec = decode(spec_text.get().as_bytes())
        .map_err(|e| format!("{at}: {}", decode_error("spec", &e)))?;
    spec.set_defaults();
    let errs: FieldErrors = validate::validate_spec(&spec, opts);
    if let Some(rendered) = errs.render(Level::Error) {
        return Err(format!("{at}: {rendered}"));
    }
    let warnings = errs.render_each(Level::Warning);
    let compiled = compile::compile(name, &spec).map_err(|e| format!("{at}: {e}"))?;
    Ok((compiled, warnings))
}

/// Where a problem is, as messages name a policy: `policies[3]` or `policies[3] (name)`.
/// Written only into a message, never built for a policy that has none.
struct At<'a> {
    index: usize,
    name: Option<&'a str>,
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name {
            Some(name) => write!(f, "policies[{}] ({name})", self.index),
            None => write!(f, "policies[{}]", self.index),
        }
    }
}

/// The settings decoded in one pass; `None` when that fails, for the passes that say where.
fn fast_decode(json: &[u8]) -> Option<Documents<'_>> {
    from_text(json).ok()
}

/// JSON decoded from text when it is UTF-8: RawValues borrowed from text need no UTF-8 check
/// each, as they do when borrowed from bytes.
fn from_text<'a, T: Deserialize<'a>>(json: &'a [u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(json) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(json),
    }
}

/// One JSON text decoded into `T`, with the path of a failure. The path is tracked only on a
/// second pass after a failure: tracking it costs an allocation per key, on every request.
pub(crate) fn decode<'a, T: Deserialize<'a>>(
    text: &'a [u8],
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    from_text(text).or_else(|_| {
        let de = &mut serde_json::Deserializer::from_slice(text);
        serde_path_to_error::deserialize(de)
    })
}

/// A decoding failure rendered like a field error: unknown fields as knative's disallowed
/// fields, type errors with the path where they occurred.
pub(crate) fn decode_error<E: std::fmt::Display>(
    prefix: &str,
    e: &serde_path_to_error::Error<E>,
) -> String {
    let inner = e.inner().to_string();
    let mut path = e.path().to_string();
    if path == "." {
        path.clear();
    }
    let join = |p: &str| match (prefix.is_empty(), p.is_empty()) {
        (true, _) => p.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{p}"),
    };
    if let Some(rest) = inner.strip_prefix("unknown field `") {
        let field = rest.split('`').next().unwrap_or_default();
        let full = if path.ends_with(field) {
            join(&path)
        } else if path.is_empty() {
            join(field)
        } else {
            join(&format!("{path}.{field}"))
        };
        return format!("must not set the field(s): {full}");
    }
    let location = join(&path);
    let message = inner.split(" at line ").next().unwrap_or(&inner);
    if location.is_empty() {
        format!("cannot decode settings: {message}")
    } else {
        format!("invalid value: {message}: {location}")
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
