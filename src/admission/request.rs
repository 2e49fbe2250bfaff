//! The Kubernetes AdmissionRequest as the Kubewarden host sends it (camelCase, absent fields
//! omitted). The objects stay JSON text, read through `Object`, so that unknown fields survive
//! mutation untouched and nothing is built that a decision does not read.

use super::object::Object;
use crate::field_error::{short, FieldErrors};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AdmissionRequest {
    pub uid: String,
    pub kind: GroupVersionKind,
    pub sub_resource: Option<String>,
    pub namespace: Option<String>,
    pub operation: String,
    pub object: Option<Box<RawValue>>,
    pub old_object: Option<Box<RawValue>>,
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
    /// The request as the host sent it; a field of the wrong type is a bad request named by its
    /// path (`request.uid`), rendered like any other bad object rather than a host error.
    pub fn from_value(request: &Value) -> Result<Self, FieldErrors> {
        serde_path_to_error::deserialize(request).map_err(|e| {
            let mut pointer = String::new();
            let mut path = String::from("request");
            for segment in e.path().iter() {
                match segment {
                    serde_path_to_error::Segment::Map { key } => {
                        pointer.push('/');
                        pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                        path.push('.');
                        path.push_str(key);
                    }
                    serde_path_to_error::Segment::Seq { index } => {
                        pointer.push_str(&format!("/{index}"));
                        path.push_str(&format!("[{index}]"));
                    }
                    serde_path_to_error::Segment::Enum { .. }
                    | serde_path_to_error::Segment::Unknown => {}
                }
            }
            let value = request.pointer(&pointer).unwrap_or(request);
            let mut errs = FieldErrors::new();
            errs.invalid(&short(value), &path, e.into_inner().to_string());
            errs
        })
    }

    /// policy-controller's skips (DELETE, objects being deleted, scale-down of a Deployment,
    /// ReplicaSet or StatefulSet), narrowed: an UPDATE that also changes an image is never
    /// skipped, so a scale-down or a finalizer-held object cannot smuggle a new image in.
    /// `object` and `old` are the request's objects, as read by the caller.
    pub fn skip(
        &self,
        object: Option<&Object>,
        old: Option<&Object>,
        images_unchanged: impl Fn() -> bool,
    ) -> Option<Skip> {
        if self.operation == "DELETE" {
            return Some(Skip::Delete);
        }
        let Some(object) = object else {
            return Some(Skip::NoObject);
        };
        // Only the stored (old) object says whether deletion really began: on CREATE the client
        // writes `deletionTimestamp` itself and the API server clears it after mutating admission.
        let deleting =
            self.operation == "UPDATE" && old.is_some_and(Object::deletion_timestamp_set);
        if deleting && images_unchanged() {
            return Some(Skip::BeingDeleted);
        }
        if self.operation == "UPDATE"
            && matches!(
                self.kind.kind.as_str(),
                "Deployment" | "ReplicaSet" | "StatefulSet"
            )
        {
            if let (Some(old), Some(new)) = (old.and_then(Object::replicas), object.replicas()) {
                if new < old && images_unchanged() {
                    return Some(Skip::ScaleDown);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field_error::Level;
    use serde_json::json;

    fn request(operation: &str, object: Value, old: Option<Value>) -> AdmissionRequest {
        AdmissionRequest::from_value(&json!({
            "uid": "u", "operation": operation, "kind": {"kind": "Pod"},
            "object": object, "oldObject": old,
        }))
        .unwrap()
    }

    fn skip(request: &AdmissionRequest, unchanged: bool) -> Option<Skip> {
        let object = request.object.as_ref().map(|o| Object::new(o.get()));
        let old = request.old_object.as_ref().map(|o| Object::new(o.get()));
        request.skip(object.as_ref(), old.as_ref(), || unchanged)
    }

    fn dying(timestamp: Value) -> Value {
        json!({"metadata": {"deletionTimestamp": timestamp}, "spec": {"containers": [{"image": "x"}]}})
    }

    #[test]
    fn a_client_set_deletion_timestamp_never_skips() {
        for timestamp in [json!("2026-01-01T00:00:00Z"), json!(""), json!(false)] {
            let create = request("CREATE", dying(timestamp.clone()), None);
            assert_eq!(skip(&create, true), None, "CREATE {timestamp}");
            let fresh = json!({"spec": {"containers": [{"image": "x"}]}});
            let update = request("UPDATE", dying(timestamp.clone()), Some(fresh));
            assert_eq!(skip(&update, true), None, "UPDATE {timestamp}");
        }
    }

    #[test]
    fn an_object_already_being_deleted_is_skipped_while_its_images_stay() {
        let old = dying(json!("2026-01-01T00:00:00Z"));
        let update = request("UPDATE", old.clone(), Some(old));
        assert_eq!(skip(&update, true), Some(Skip::BeingDeleted));
        assert_eq!(skip(&update, false), None);
    }

    #[test]
    fn fields_of_the_wrong_type_are_named() {
        let cases = [
            (
                json!({"uid": 123}),
                "invalid value: 123: request.uid\ninvalid type: integer `123`, expected a string",
            ),
            (
                json!({"kind": "Pod"}),
                "invalid value: \"Pod\": request.kind\ninvalid type: string \"Pod\", expected struct GroupVersionKind",
            ),
            (
                json!({"kind": {"kind": ["Pod"]}}),
                "invalid value: [\"Pod\"]: request.kind.kind\ninvalid type: sequence, expected a string",
            ),
        ];
        for (bad, message) in cases {
            let errs = AdmissionRequest::from_value(&bad).unwrap_err();
            assert_eq!(errs.render(Level::Error).as_deref(), Some(message));
        }
    }
}
