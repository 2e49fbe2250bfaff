//! `spec.policy`: a CIP's own CUE or Rego policy, evaluated only when at least one authority
//! passed, over policy-controller's `PolicyResult` (reference §5.2): the passing authorities'
//! matches, and on request the images' configs and the admitted object's spec, metadata and
//! type. Its failure fails the CIP, and the failing authorities' errors come first.

mod config;
mod config_file;

pub use config::MAX_CHILDREN;

use crate::admission::object::Object;
use crate::cip::compile::{CipPolicy, CompiledAuthority};
use crate::verify::details;
use crate::verify::host::Host;
use crate::verify::verifier::{AuthorityMatch, Image};
use serde_json::{json, Map, Value};

/// The object being admitted, as policy-controller's `include*` fields see it.
pub struct Workload<'a> {
    pub kind: &'a str,
    pub object: &'a Object<'a>,
}

impl Workload<'_> {
    /// The duck-typed spec: a Pod's and a CronJob's whole spec; `replicas`, `selector` and
    /// `template` of the scalable kinds; only `template` of the others.
    fn spec(&self, object: &Value) -> Option<Value> {
        let spec = object.get("spec")?;
        let keep: &[&str] = match self.kind {
            "Pod" | "CronJob" => return Some(spec.clone()),
            "Deployment" | "ReplicaSet" | "StatefulSet" => &["replicas", "selector", "template"],
            _ => &["template"],
        };
        let kept: Map<String, Value> = keep
            .iter()
            .filter_map(|k| Some((k.to_string(), spec.get(*k)?.clone())))
            .collect();
        Some(Value::Object(kept))
    }

    /// Go marshals an absent `creationTimestamp` as `null`.
    fn metadata(object: &Value) -> Option<Value> {
        let mut meta = object.get("metadata")?.as_object()?.clone();
        meta.entry("creationTimestamp").or_insert(Value::Null);
        Some(Value::Object(meta))
    }

    /// Pods have none: upstream's Pod validator never records it.
    fn type_meta(&self, object: &Value) -> Option<Value> {
        if self.kind == "Pod" {
            return None;
        }
        let mut meta = Map::new();
        for key in ["kind", "apiVersion"] {
            if let Some(v) = object.get(key).filter(|v| v.as_str() != Some("")) {
                meta.insert(key.to_string(), v.clone());
            }
        }
        (!meta.is_empty()).then_some(Value::Object(meta))
    }
}

/// Judges the CIP-level policy; `Err` holds the messages to append to the authorities' errors.
pub fn judge(
    policy: &CipPolicy,
    passed: &[(&CompiledAuthority, AuthorityMatch)],
    image: Image<'_>,
    workload: &Workload<'_>,
    host: &mut dyn Host,
) -> Result<(), Vec<String>> {
    let mut matches = Map::new();
    for (authority, kind) in passed {
        let entry = match kind {
            AuthorityMatch::Static => json!({"static": true}),
            AuthorityMatch::Signatures => {
                let signatures =
                    details::signatures(authority, image, host).map_err(|e| vec![e])?;
                if signatures.is_empty() {
                    return Err(vec![format!(
                        "failed to process authority: {}",
                        authority.name
                    )]);
                }
                json!({"signatures": signatures})
            }
            AuthorityMatch::Attestations => {
                json!({"attestations": details::attestations(authority, image, host).map_err(|e| vec![e])?})
            }
        };
        matches.insert(authority.name.clone(), entry);
    }
    let mut document = Map::new();
    document.insert("authorityMatches".into(), Value::Object(matches));
    if policy.fetch_config_file {
        let configs = config::configs(image, host)?;
        if !configs.is_empty() {
            document.insert("config".into(), Value::Object(configs));
        }
    }
    if policy.include_spec || policy.include_object_meta || policy.include_type_meta {
        // The whole object is decoded only here, for a policy that reads it.
        let object = workload.object.value().map_err(|e| vec![e])?;
        let included = [
            (policy.include_spec, "spec", workload.spec(object)),
            (
                policy.include_object_meta,
                "metadata",
                Workload::metadata(object),
            ),
            (
                policy.include_type_meta,
                "typemeta",
                workload.type_meta(object),
            ),
        ];
        for (wanted, key, value) in included {
            if let Some(value) = value.filter(|_| wanted) {
                document.insert(key.into(), value);
            }
        }
    }
    policy
        .program
        .evaluate(&Value::Object(document), "ClusterImagePolicy")
        .map_err(|e| vec![e])
}

#[cfg(test)]
mod tests;
