//! `test`: policy-controller's `policy-tester` (`cmd/tester/main.go`, `pkg/policy/verifier.go`)
//! on the real policy.wasm. The image is put in a one-container Pod and judged by the policy,
//! one CIP at a time, so that each failure is attributed as the tester attributes it: the
//! first enforce-mode failure is the one error, warn-mode failures are warnings.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};

use cip_host::{AdmissionResponse, Evaluator};

/// What the tester prints: on failure one JSON line, keys omitted when empty.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// A CIP file that fails validation: the tester's fatal `CIP is invalid: ...`.
#[derive(Debug)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CIP is invalid: {}", self.0)
    }
}

impl std::error::Error for Invalid {}

/// The object `spec.match` is checked against: the `--resource`'s, or nothing at all.
#[derive(Debug, Default)]
pub struct Identity {
    group: String,
    version: String,
    resource: String,
    labels: Map<String, Value>,
}

impl Identity {
    /// From a `--resource` file, with the tester's checks and messages.
    pub fn from_resource(text: &str) -> Result<Identity> {
        let object: Value = serde_yaml::from_str(text).context("cannot parse the resource")?;
        for key in ["metadata", "spec", "kind", "apiVersion"] {
            if object.get(key).is_none() {
                bail!("kubernetes resource is missing {key} key");
            }
        }
        let text_of = |key: &str| object.get(key).and_then(Value::as_str).unwrap_or("");
        let (group, version) = match text_of("apiVersion").split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), text_of("apiVersion").to_string()),
        };
        Ok(Identity {
            group,
            version,
            resource: guess_resource(text_of("kind")),
            labels: object
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        })
    }
}

/// apimachinery's `UnsafeGuessKindToResource`, as the policy applies it.
fn guess_resource(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.is_empty() {
        lower
    } else if lower.ends_with('s') {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y') {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// The CIP documents of a multi-document YAML file; `v1` Secrets (which the tester loads for
/// `secretRef`s, a field this policy refuses) and empty documents are left out.
pub fn read_policies(text: &str) -> Result<Vec<Value>> {
    let mut policies = Vec::new();
    for (i, document) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let value = <Value as serde::Deserialize>::deserialize(document)
            .with_context(|| format!("cannot parse document {i} of the policy file"))?;
        if value.is_null() {
            continue;
        }
        let is_secret = value.get("apiVersion").and_then(Value::as_str) == Some("v1")
            && value.get("kind").and_then(Value::as_str) == Some("Secret");
        if !is_secret {
            policies.push(value);
        }
    }
    Ok(policies)
}

fn name_of(policy: &Value) -> String {
    policy
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// `spec.match` against the identity: entries OR-ed; no entries matches everything.
fn matches(policy: &Value, identity: &Identity) -> Result<bool> {
    let Some(entries) = policy.pointer("/spec/match").and_then(Value::as_array) else {
        return Ok(true);
    };
    if entries.is_empty() {
        return Ok(true);
    }
    for entry in entries {
        let field = |k: &str| entry.get(k).and_then(Value::as_str).unwrap_or("");
        let version = field("version");
        if field("resource") != identity.resource
            || field("group") != identity.group
            || (version != identity.version && version != "*")
        {
            continue;
        }
        match entry.get("selector") {
            None | Some(Value::Null) => return Ok(true),
            Some(selector) => {
                if selects(selector, &identity.labels)? {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

/// A Kubernetes LabelSelector (`matchLabels` and `matchExpressions`, AND-ed).
fn selects(selector: &Value, labels: &Map<String, Value>) -> Result<bool> {
    let wrong = || anyhow!("policy with wrong match label selector");
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    if let Some(wanted) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in wanted {
            if label(key) != Some(value.as_str().ok_or_else(wrong)?) {
                return Ok(false);
            }
        }
    }
    let expressions = selector
        .get("matchExpressions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for expression in expressions {
        let key = expression
            .get("key")
            .and_then(Value::as_str)
            .ok_or_else(wrong)?;
        let values: BTreeSet<&str> = expression
            .get("values")
            .and_then(Value::as_array)
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let operator = expression.get("operator").and_then(Value::as_str);
        let holds = match operator {
            Some("In") => label(key).is_some_and(|v| values.contains(v)),
            Some("NotIn") => label(key).is_none_or(|v| !values.contains(v)),
            Some("Exists") => label(key).is_some(),
            Some("DoesNotExist") => label(key).is_none(),
            _ => return Err(wrong()),
        };
        if !holds {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The one-container Pod the image is judged in.
fn pod_request(image: &str) -> Value {
    json!({
        "uid": "cip-host-test",
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "name": "policy-tester",
        "namespace": "default",
        "operation": "CREATE",
        "userInfo": {"username": "policy-tester"},
        "object": {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "policy-tester", "namespace": "default"},
            "spec": {"containers": [{"name": "policy-tester", "image": image}]}
        }
    })
}

/// How the policy judged the image under one CIP.
#[derive(Debug, PartialEq, Eq)]
enum Judgement {
    Passed,
    /// The CIP's globs do not cover the image.
    NotCovered,
    /// `failed policy` in enforce mode: the details after the image.
    Failed(String),
    /// `failed policy` in warn mode.
    Warned(String),
    /// Any other denial (a reference that cannot be parsed or resolved, ...).
    Denied(String),
}

/// The text after `<image> ` on the details line of `failed policy: <C>: <path>\n<image> ...`.
fn details(message: &str) -> Option<String> {
    let (_, details) = message.split_once('\n')?;
    let (_, errors) = details.split_once(' ')?;
    Some(errors.to_string())
}

fn judgement(response: &AdmissionResponse) -> Judgement {
    let message = response
        .status
        .as_ref()
        .and_then(|s| s.message.clone())
        .unwrap_or_default();
    let warnings = response.warnings.clone().unwrap_or_default();
    if !response.allowed {
        let leaf = message
            .strip_prefix("validation failed: ")
            .unwrap_or(&message);
        return match (leaf.starts_with("failed policy: "), details(leaf)) {
            (true, Some(errors)) => Judgement::Failed(errors),
            // The tester has no Pod: the container's field path is not its words.
            _ => Judgement::Denied(leaf.replacen(": spec.containers[0].image", "", 1)),
        };
    }
    match warnings.first() {
        None => Judgement::Passed,
        Some(w) if w.starts_with("no matching policies: ") => Judgement::NotCovered,
        Some(w) => Judgement::Warned(details(w).unwrap_or_else(|| w.clone())),
    }
}

/// A settings document holding one CIP; `warn` reveals a glob that does not cover the image.
fn settings_for(policy: &Value, base: &Map<String, Value>) -> Value {
    let mut settings = base.clone();
    settings.insert("policies".into(), json!([policy]));
    settings.insert("noMatchPolicy".into(), json!("warn"));
    Value::Object(settings)
}

/// The CIP with only its authority `i`, named as defaulting names it within the whole CIP.
fn only_authority(policy: &Value, i: usize) -> Option<Value> {
    let mut authority = policy
        .pointer("/spec/authorities")?
        .as_array()?
        .get(i)?
        .clone();
    if let Some(object) = authority.as_object_mut() {
        let unnamed = object
            .get("name")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty);
        if unnamed {
            object.insert("name".into(), json!(format!("authority-{i}")));
        }
    }
    let mut one = policy.clone();
    *one.pointer_mut("/spec/authorities")? = json!([authority]);
    Some(one)
}

/// The tester's text of one failure: a path-less knative FieldError (`<message>: `).
fn field_error(text: &str) -> String {
    format!("{}: ", text.trim_matches('\n'))
}

pub struct Test<'a> {
    pub evaluator: &'a Evaluator,
    pub policies: Vec<Value>,
    pub image: &'a str,
    pub identity: Identity,
}

impl Test<'_> {
    /// Validates the CIPs, then judges the image. `Err(Invalid)` for an invalid CIP file.
    pub fn run(self) -> Result<Outcome> {
        let mut outcome = Outcome::default();
        let mut seen = BTreeSet::new();
        let mut policies = Vec::new();
        for policy in self.policies {
            let name = name_of(&policy);
            if !name.is_empty() && !seen.insert(name.clone()) {
                outcome
                    .warnings
                    .push(format!("duplicate policy named {name:?}, skipping"));
                continue;
            }
            policies.push(policy);
        }
        // The tester runs with policy-controller's defaults: no settings knobs.
        let knobs = Map::new();
        let mut all = knobs.clone();
        all.insert("policies".into(), Value::Array(policies.clone()));
        let verdict = self.evaluator.validate_settings(&Value::Object(all))?;
        if !verdict.valid {
            return Err(Invalid(verdict.message.unwrap_or_default()).into());
        }
        if let Some(warnings) = verdict.message.filter(|m| !m.is_empty()) {
            outcome.warnings.push(format!("policy 0: {warnings}"));
        }
        let request = pod_request(self.image);
        let judge = |policy: &Value| -> Result<Judgement> {
            let response = self
                .evaluator
                .validate_admission(&request, &settings_for(policy, &knobs))?;
            Ok(judgement(&response))
        };
        let mut covered = false;
        for mut policy in policies {
            if !matches(&policy, &self.identity)? {
                continue;
            }
            // spec.match is decided above, against the tester's object, not the Pod's.
            if let Some(spec) = policy.get_mut("spec").and_then(Value::as_object_mut) {
                spec.remove("match");
            }
            match judge(&policy)? {
                Judgement::NotCovered => {}
                Judgement::Passed => covered = true,
                Judgement::Denied(message) => {
                    outcome.errors.push(message);
                    return Ok(outcome);
                }
                Judgement::Failed(whole) => {
                    // The tester reports the first authority's error alone.
                    let first = only_authority(&policy, 0)
                        .map(|one| judge(&one))
                        .transpose()?;
                    let text = match first {
                        Some(Judgement::Failed(text)) => text,
                        _ => whole,
                    };
                    outcome.errors.push(field_error(&text));
                    return Ok(outcome);
                }
                Judgement::Warned(whole) => {
                    covered = true;
                    let count = policy
                        .pointer("/spec/authorities")
                        .and_then(Value::as_array)
                        .map_or(0, Vec::len);
                    let mut each = Vec::new();
                    for i in 0..count {
                        if let Some(one) = only_authority(&policy, i) {
                            if let Judgement::Warned(text) = judge(&one)? {
                                each.push(field_error(&text));
                            }
                        }
                    }
                    if each.is_empty() {
                        each.push(field_error(&whole));
                    }
                    outcome.warnings.extend(each);
                }
            }
        }
        if !covered {
            outcome
                .errors
                .push(format!("{} is uncovered by policy", self.image));
        }
        Ok(outcome)
    }
}

/// Reads the files named on the command line.
pub fn load(policy_path: &Path, resource_path: Option<&Path>) -> Result<(Vec<Value>, Identity)> {
    let text = std::fs::read_to_string(policy_path)
        .with_context(|| format!("cannot read {}", policy_path.display()))?;
    let policies = read_policies(&text)?;
    let identity = match resource_path {
        Some(path) => Identity::from_resource(
            &std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?,
        )?,
        None => Identity::default(),
    };
    Ok((policies, identity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_without_a_resource_needs_an_empty_entry() {
        let none = Identity::default();
        let pods = json!({"spec": {"match": [{"resource": "pods", "version": "v1"}]}});
        assert!(!matches(&pods, &none).unwrap());
        let empty = json!({"spec": {"match": [{"version": "*"}]}});
        assert!(matches(&empty, &none).unwrap());
        assert!(matches(&json!({"spec": {}}), &none).unwrap());
    }

    #[test]
    fn match_with_a_resource_checks_kind_version_and_labels() {
        let deployment = Identity::from_resource(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {labels: {app: web}}\nspec: {}\n",
        )
        .unwrap();
        let policy = |selector: Value| json!({"spec": {"match": [{"group": "apps", "version": "v1", "resource": "deployments", "selector": selector}]}});
        assert!(matches(&policy(json!({"matchLabels": {"app": "web"}})), &deployment).unwrap());
        assert!(!matches(&policy(json!({"matchLabels": {"app": "db"}})), &deployment).unwrap());
        let expr = |op: &str| {
            policy(json!({"matchExpressions": [{"key": "app", "operator": op, "values": ["web"]}]}))
        };
        assert!(matches(&expr("In"), &deployment).unwrap());
        assert!(!matches(&expr("NotIn"), &deployment).unwrap());
        assert_eq!(
            matches(&expr("Near"), &deployment).unwrap_err().to_string(),
            "policy with wrong match label selector"
        );
    }

    #[test]
    fn resource_without_spec_is_refused_with_the_testers_message() {
        let err = Identity::from_resource("apiVersion: v1\nkind: Pod\nmetadata: {}\n").unwrap_err();
        assert_eq!(err.to_string(), "kubernetes resource is missing spec key");
    }

    #[test]
    fn documents_skip_secrets_and_empty_ones() {
        let text = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: cosign-system}\n---\napiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {name: p}\n---\n";
        let docs = read_policies(text).unwrap();
        assert_eq!(docs.len(), 1);
        assert_eq!(name_of(&docs[0]), "p");
    }

    #[test]
    fn only_authority_keeps_the_default_name_of_its_position() {
        let policy = json!({"spec": {"authorities": [{"static": {"action": "pass"}}, {"key": {"data": "k"}}]}});
        let one = only_authority(&policy, 1).unwrap();
        assert_eq!(
            one.pointer("/spec/authorities").unwrap(),
            &json!([{"name": "authority-1", "key": {"data": "k"}}])
        );
    }

    #[test]
    fn other_denials_lose_the_pods_field_path() {
        let response = AdmissionResponse::reject(
            "u",
            "validation failed: could not parse reference: x@y: spec.containers[0].image".into(),
            400,
        );
        assert_eq!(
            judgement(&response),
            Judgement::Denied("could not parse reference: x@y".into())
        );
    }

    #[test]
    fn failure_details_follow_the_image() {
        let response = AdmissionResponse::reject(
            "u",
            "validation failed: failed policy: p: spec.containers[0].image\nreg/app@sha256:1 disallowed by static policy: no".into(),
            400,
        );
        assert_eq!(
            judgement(&response),
            Judgement::Failed("disallowed by static policy: no".into())
        );
    }
}
