//! The Kubernetes AdmissionRequest as the Kubewarden host sends it (camelCase, absent fields
//! omitted). The object stays a JSON value so unknown fields survive mutation untouched.

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AdmissionRequest {
    pub uid: String,
    pub kind: GroupVersionKind,
    pub sub_resource: Option<String>,
    pub namespace: Option<String>,
    pub operation: String,
    pub object: Option<Value>,
    pub old_object: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

/// Why a request is admitted without looking at its images.
#[derive(Debug, PartialEq, Eq)]
pub enum Skip {
    Delete,
    NoObject,
    BeingDeleted,
    ScaleDown,
}

impl AdmissionRequest {
    /// policy-controller's skips (DELETE, objects being deleted, scale-down of a Deployment,
    /// ReplicaSet or StatefulSet), narrowed: an UPDATE that also changes an image is never
    /// skipped, so a scale-down or a finalizer-held object cannot smuggle a new image in.
    pub fn skip(&self, images_unchanged: impl Fn() -> bool) -> Option<Skip> {
        if self.operation == "DELETE" {
            return Some(Skip::Delete);
        }
        let object = match &self.object {
            None | Some(Value::Null) => return Some(Skip::NoObject),
            Some(object) => object,
        };
        let deleting = object
            .pointer("/metadata/deletionTimestamp")
            .is_some_and(|v| !v.is_null());
        if deleting && (self.operation != "UPDATE" || images_unchanged()) {
            return Some(Skip::BeingDeleted);
        }
        if self.operation == "UPDATE"
            && matches!(
                self.kind.kind.as_str(),
                "Deployment" | "ReplicaSet" | "StatefulSet"
            )
        {
            let replicas = |o: &Value| o.pointer("/spec/replicas").and_then(Value::as_i64);
            let old = self.old_object.as_ref().and_then(replicas);
            let new = replicas(object);
            if let (Some(old), Some(new)) = (old, new) {
                if new < old && images_unchanged() {
                    return Some(Skip::ScaleDown);
                }
            }
        }
        None
    }
}
