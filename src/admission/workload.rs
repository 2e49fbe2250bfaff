//! Finds every image in an admitted object, with policy-controller's field paths. Pod spec
//! locations by kind; other kinds are checked when they carry a pod template at a known place.

use crate::field_error::{short, FieldErrors};
use serde_json::Value;

/// One image in the object: where it is reported, where it is written, what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSite {
    /// Field path in messages, e.g. `spec.template.spec.containers[0].image`.
    pub path: String,
    /// JSON pointer of the string to rewrite when pinning.
    pub pointer: String,
    pub image: String,
}

const POD_SPEC_AT_SPEC: &[&str] = &["Pod"];
const POD_SPEC_AT_TEMPLATE: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "ReplicationController",
];
const TEMPLATE: [&str; 3] = ["spec", "template", "spec"];
const JOB_TEMPLATE: [&str; 5] = ["spec", "jobTemplate", "spec", "template", "spec"];

/// The images of `object`, or the reasons it cannot be checked. `Ok(None)` means the kind has
/// no pod spec (nothing to check).
pub fn images(kind: &str, object: &Value) -> Result<Option<Vec<ImageSite>>, FieldErrors> {
    let location: Option<&[&str]> = if POD_SPEC_AT_SPEC.contains(&kind) {
        Some(&["spec"])
    } else if POD_SPEC_AT_TEMPLATE.contains(&kind) {
        Some(&TEMPLATE)
    } else if kind == "CronJob" {
        Some(&JOB_TEMPLATE)
    } else {
        None
    };
    let mut errs = FieldErrors::new();
    let pod_spec = match location {
        Some(path) => match lookup(object, path) {
            Some(spec) => (path, spec),
            None => {
                errs.missing(&[&path.join(".")]);
                return Err(errs);
            }
        },
        None => match [&TEMPLATE[..], &JOB_TEMPLATE[..]]
            .into_iter()
            .find_map(|p| lookup(object, p).map(|s| (p, s)))
        {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let (path, spec) = pod_spec;
    let prefix = path.join(".");
    let pointer = format!("/{}", path.join("/"));
    let Some(spec) = spec.as_object() else {
        errs.invalid(&short(spec), &prefix, "expected a pod spec object");
        return Err(errs);
    };
    let mut sites = Vec::new();
    for field in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(list) = spec.get(field).filter(|v| !v.is_null()) else {
            continue;
        };
        let Some(list) = list.as_array() else {
            errs.invalid(
                &short(list),
                &format!("{prefix}.{field}"),
                "expected a list",
            );
            continue;
        };
        for (i, container) in list.iter().enumerate() {
            let path = format!("{prefix}.{field}[{i}].image");
            match container.get("image") {
                Some(Value::String(image)) if !image.is_empty() => sites.push(ImageSite {
                    path,
                    pointer: format!("{pointer}/{field}/{i}/image"),
                    image: image.clone(),
                }),
                None | Some(Value::Null) => errs.missing(&[&path]),
                Some(Value::String(_)) => errs.missing(&[&path]),
                Some(other) => errs.invalid(&short(other), &path, "expected a string"),
            }
        }
    }
    if let Some(volumes) = spec.get("volumes").filter(|v| !v.is_null()) {
        match volumes.as_array() {
            None => errs.invalid(
                &short(volumes),
                &format!("{prefix}.volumes"),
                "expected a list",
            ),
            Some(volumes) => {
                for (i, volume) in volumes.iter().enumerate() {
                    let Some(reference) = volume.pointer("/image/reference") else {
                        continue;
                    };
                    let path = format!("{prefix}.volumes[{i}].image");
                    match reference {
                        Value::String(image) if !image.is_empty() => sites.push(ImageSite {
                            path,
                            pointer: format!("{pointer}/volumes/{i}/image/reference"),
                            image: image.clone(),
                        }),
                        Value::String(_) | Value::Null => {}
                        other => errs.invalid(
                            &short(other),
                            &format!("{path}.reference"),
                            "expected a string",
                        ),
                    }
                }
            }
        }
    }
    if errs.is_empty() {
        Ok(Some(sites))
    } else {
        Err(errs)
    }
}

fn lookup<'a>(object: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter()
        .try_fold(object, |v, key| v.get(key))
        .filter(|v| !v.is_null())
}
