//! The ClusterImagePolicy spec as policy-controller's `policy.sigstore.dev` v1alpha1 and v1beta1
//! define it (the two versions have identical fields). Unknown fields are rejected, as the CIP
//! validating webhook decodes with `DisallowUnknownFields`.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    pub images: Option<Vec<ImagePattern>>,
    pub authorities: Option<Vec<Authority>>,
    pub policy: Option<Policy>,
    pub mode: Option<String>,
    #[serde(rename = "match")]
    pub match_: Option<Vec<MatchResource>>,
}

/// The part of a spec that decides whether it applies to an image, decoded alone for admission:
/// the rest stays text until an image matches (unknown fields there are found then, and by
/// `validate_settings` when the policy is deployed).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SpecHead {
    pub images: Option<Vec<ImagePattern>>,
    pub mode: Option<String>,
    #[serde(rename = "match")]
    pub match_: Option<Vec<MatchResource>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImagePattern {
    #[serde(default)]
    pub glob: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Authority {
    pub name: Option<String>,
    pub key: Option<KeyRef>,
    pub keyless: Option<KeylessRef>,
    #[serde(rename = "static")]
    pub static_: Option<StaticRef>,
    pub source: Option<Vec<Source>>,
    pub ctlog: Option<TLog>,
    pub attestations: Option<Vec<Attestation>>,
    pub rfc3161timestamp: Option<Rfc3161Timestamp>,
    pub signature_format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyRef {
    pub data: Option<String>,
    pub secret_ref: Option<SecretRef>,
    pub kms: Option<String>,
    pub hash_algorithm: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretRef {
    pub name: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeylessRef {
    pub url: Option<String>,
    pub identities: Option<Vec<Identity>>,
    #[serde(rename = "ca-cert")]
    pub ca_cert: Option<KeyRef>,
    pub trust_root_ref: Option<String>,
    #[serde(rename = "insecureIgnoreSCT")]
    pub insecure_ignore_sct: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Identity {
    pub issuer: Option<String>,
    pub subject: Option<String>,
    pub issuer_reg_exp: Option<String>,
    pub subject_reg_exp: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRef {
    pub action: Option<String>,
    pub message: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Source {
    pub oci: Option<String>,
    pub signature_pull_secrets: Option<Vec<SecretName>>,
    pub tag_prefix: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretName {
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TLog {
    pub url: Option<String>,
    pub trust_root_ref: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rfc3161Timestamp {
    pub trust_root_ref: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Attestation {
    pub name: Option<String>,
    pub predicate_type: Option<String>,
    pub policy: Option<Policy>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Policy {
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub data: Option<String>,
    pub config_map_ref: Option<ConfigMapRef>,
    pub remote: Option<RemotePolicy>,
    pub fetch_config_file: Option<bool>,
    pub include_spec: Option<bool>,
    pub include_object_meta: Option<bool>,
    pub include_type_meta: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigMapRef {
    pub name: Option<String>,
    pub namespace: Option<String>,
    pub key: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemotePolicy {
    pub url: Option<String>,
    pub sha256sum: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchResource {
    pub group: Option<String>,
    pub version: Option<String>,
    pub resource: Option<String>,
    pub selector: Option<LabelSelector>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct LabelSelector {
    pub match_labels: Option<std::collections::BTreeMap<String, String>>,
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSelectorRequirement {
    pub key: Option<String>,
    pub operator: Option<String>,
    pub values: Option<Vec<String>>,
}

/// One entry of `settings.policies`: a whole CIP document or a `{name, spec}` pair.
/// The spec stays JSON text here: it is decoded once, straight into [`Spec`].
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PolicyDocument<'a> {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    pub metadata: Option<Value>,
    pub name: Option<String>,
    #[serde(borrow)]
    pub spec: Option<&'a RawValue>,
    /// Accepted so that `kubectl get cip -o yaml` output can be pasted as is; ignored.
    #[serde(borrow)]
    pub status: Option<&'a RawValue>,
}

/// Helper for `Option<String>` fields that Go treats as empty when absent.
pub fn text(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

impl Spec {
    /// policy-controller's defaulting webhook, applied before validation: `mode: enforce`,
    /// authority names `authority-<i>`, and the public Fulcio URL for keyless authorities that
    /// name neither a URL nor a CA.
    pub fn set_defaults(&mut self) {
        if text(&self.mode).is_empty() {
            self.mode = Some("enforce".to_string());
        }
        for (i, authority) in self.authorities.iter_mut().flatten().enumerate() {
            if text(&authority.name).is_empty() {
                authority.name = Some(format!("authority-{i}"));
            }
            if let Some(keyless) = authority.keyless.as_mut() {
                if keyless.url.is_none() && keyless.ca_cert.is_none() {
                    keyless.url = Some("https://fulcio.sigstore.dev".to_string());
                }
            }
        }
    }
}
