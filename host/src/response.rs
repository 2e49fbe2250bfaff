//! The policy's `ValidationResponse` turned into the Kubernetes `AdmissionResponse`, as
//! Kubewarden's policy-evaluator does it (`admission_response.rs`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// What the guest answers to `validate`. Every field may be absent or `null`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct ValidationResponse {
    #[serde(default)]
    pub accepted: Option<bool>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub mutated_object: Option<serde_json::Value>,
    #[serde(default)]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// What the guest answers to `validate_settings`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsValidationResponse {
    #[serde(default)]
    pub valid: bool,
    #[serde(default)]
    pub message: Option<String>,
}

/// `status` of an AdmissionResponse: each field omitted when unset.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionResponseStatus {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub code: Option<u16>,
}

/// The Kubernetes admission/v1 AdmissionResponse, fields in the order kwctl prints them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub patch_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub patch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<AdmissionResponseStatus>,
    #[serde(default)]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

pub const NULL_OBJECT_MUTATION: &str = "Incoming object is null, which happens only with DELETE operations, but the policy is attempting a mutation. This is not allowed";
pub const TIMEOUT_MESSAGE: &str =
    "Policy execution interrupted because it exceeded the allowed execution time";

impl AdmissionResponse {
    pub fn reject(uid: &str, message: String, code: u16) -> Self {
        AdmissionResponse {
            uid: uid.to_string(),
            allowed: false,
            status: Some(AdmissionResponseStatus {
                message: Some(message),
                code: Some(code),
            }),
            ..Default::default()
        }
    }

    pub fn internal_server_error(uid: &str, err: impl std::fmt::Display) -> Self {
        Self::reject(uid, format!("internal server error: {err}"), 500)
    }

    /// kwctl's conversion: `request_object` is the request's `object` (`None` or `null` for
    /// DELETE).
    pub fn from_validation_response(
        uid: &str,
        request_object: Option<&serde_json::Value>,
        response: &ValidationResponse,
    ) -> Result<Self> {
        let request_object = request_object.filter(|o| !o.is_null());
        let patch = match (&response.mutated_object, request_object) {
            (Some(_), None) => {
                return Ok(AdmissionResponse {
                    uid: uid.to_string(),
                    allowed: false,
                    status: Some(AdmissionResponseStatus {
                        message: Some(NULL_OBJECT_MUTATION.to_string()),
                        code: None,
                    }),
                    ..Default::default()
                });
            }
            (Some(mutated), Some(original)) => {
                let diff = json_patch::diff(original, mutated);
                if diff.0.is_empty() {
                    None
                } else {
                    let text =
                        serde_json::to_string(&diff).context("cannot serialize the JSON patch")?;
                    Some(base64::engine::general_purpose::STANDARD.encode(text))
                }
            }
            (None, _) => None,
        };
        let status = if response.message.is_some() || response.code.is_some() {
            Some(AdmissionResponseStatus {
                message: response.message.clone(),
                code: response.code,
            })
        } else {
            None
        };
        Ok(AdmissionResponse {
            uid: uid.to_string(),
            allowed: response.accepted.unwrap_or(false),
            patch_type: patch.as_ref().map(|_| "JSONPatch".to_string()),
            patch,
            status,
            audit_annotations: response.audit_annotations.clone(),
            warnings: response.warnings.clone(),
        })
    }

    /// The single line kwctl prints.
    pub fn to_line(&self) -> Result<String> {
        serde_json::to_string(self).context("cannot serialize the AdmissionResponse")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> ValidationResponse {
        serde_json::from_value(v).unwrap()
    }

    fn decode_patch(r: &AdmissionResponse) -> serde_json::Value {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(r.patch.as_ref().unwrap())
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn accept_without_anything_prints_nulls() {
        let r = AdmissionResponse::from_validation_response(
            "u1",
            Some(&json!({"a": 1})),
            &parse(json!({"accepted": true, "message": null, "code": null, "mutated_object": null, "audit_annotations": null, "warnings": null})),
        )
        .unwrap();
        assert_eq!(
            r.to_line().unwrap(),
            r#"{"uid":"u1","allowed":true,"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn absent_fields_are_accepted() {
        let r = AdmissionResponse::from_validation_response("u", None, &parse(json!({}))).unwrap();
        assert!(!r.allowed);
        assert_eq!(
            r.to_line().unwrap(),
            r#"{"uid":"u","allowed":false,"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn reject_with_message_only() {
        let r = AdmissionResponse::from_validation_response(
            "u",
            Some(&json!({})),
            &parse(json!({"accepted": false, "message": "no"})),
        )
        .unwrap();
        assert_eq!(
            r.to_line().unwrap(),
            r#"{"uid":"u","allowed":false,"status":{"message":"no"},"auditAnnotations":null,"warnings":null}"#
        );
    }

    #[test]
    fn code_only_and_warnings_and_annotations() {
        let r = AdmissionResponse::from_validation_response(
            "u",
            Some(&json!({})),
            &parse(json!({"accepted": true, "code": 403, "warnings": ["w1"], "audit_annotations": {"k": "v"}})),
        )
        .unwrap();
        assert_eq!(
            r.to_line().unwrap(),
            r#"{"uid":"u","allowed":true,"status":{"code":403},"auditAnnotations":{"k":"v"},"warnings":["w1"]}"#
        );
    }

    #[test]
    fn mutation_produces_a_json_patch() {
        let original = json!({"spec": {"containers": [{"image": "busybox"}]}});
        let mutated = json!({"spec": {"containers": [{"image": "busybox@sha256:aa"}]}});
        let r = AdmissionResponse::from_validation_response(
            "u",
            Some(&original),
            &parse(json!({"accepted": true, "mutated_object": mutated})),
        )
        .unwrap();
        assert_eq!(r.patch_type.as_deref(), Some("JSONPatch"));
        assert_eq!(
            decode_patch(&r),
            json!([{"op": "replace", "path": "/spec/containers/0/image", "value": "busybox@sha256:aa"}])
        );
        let line = r.to_line().unwrap();
        assert!(line.starts_with(r#"{"uid":"u","allowed":true,"patchType":"JSONPatch","patch":""#));
    }

    #[test]
    fn identical_mutation_has_no_patch() {
        let original = json!({"a": [1, 2]});
        let r = AdmissionResponse::from_validation_response(
            "u",
            Some(&original),
            &parse(json!({"accepted": true, "mutated_object": original.clone()})),
        )
        .unwrap();
        assert_eq!(r.patch, None);
        assert_eq!(r.patch_type, None);
    }

    #[test]
    fn mutation_of_a_null_object_is_rejected() {
        for object in [None, Some(json!(null))] {
            let r = AdmissionResponse::from_validation_response(
                "u",
                object.as_ref(),
                &parse(json!({"accepted": true, "mutated_object": {"a": 1}, "warnings": ["x"]})),
            )
            .unwrap();
            assert_eq!(
                r.to_line().unwrap(),
                format!(
                    r#"{{"uid":"u","allowed":false,"status":{{"message":"{NULL_OBJECT_MUTATION}"}},"auditAnnotations":null,"warnings":null}}"#
                )
            );
        }
    }

    #[test]
    fn internal_server_error_shape() {
        let r = AdmissionResponse::internal_server_error("u", "boom");
        assert_eq!(
            r.to_line().unwrap(),
            r#"{"uid":"u","allowed":false,"status":{"message":"internal server error: boom","code":500},"auditAnnotations":null,"warnings":null}"#
        );
    }
}
