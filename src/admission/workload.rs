//! Finds every image in an admitted object, with policy-controller's field paths. Pod spec
//! locations by kind; other kinds are checked when they carry a pod template at a known place.

use crate::field_error::{short, FieldErrors};
use serde_json::Value;

/// One image in the object: where it is reported, where it is written, what it says. The path
/// and pointer are rendered on demand: an admitted request needs neither for most images.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSite {
    spec: &'static PodSpecAt,
    /// `containers`, `initContainers`, `ephemeralContainers` or `volumes`.
    field: &'static str,
    index: usize,
    pub image: String,
}

impl ImageSite {
    /// Field path in messages, e.g. `spec.template.spec.containers[0].image`.
    pub fn path(&self) -> String {
        format!("{}.{}[{}].image", self.spec.path, self.field, self.index)
    }

    /// JSON pointer of the string to rewrite when pinning.
    pub fn pointer(&self) -> String {
        let tail = if self.field == "volumes" {
            "image/reference"
        } else {
            "image"
        };
        format!("{}/{}/{}/{tail}", self.spec.pointer, self.field, self.index)
    }
}

/// Where a kind keeps its pod spec, spelled three ways.
#[derive(Debug, PartialEq, Eq)]
struct PodSpecAt {
    keys: &'static [&'static str],
    path: &'static str,
    pointer: &'static str,
}

const AT_SPEC: PodSpecAt = PodSpecAt {
    keys: &["spec"],
    path: "spec",
    pointer: "/spec",
};
const AT_TEMPLATE: PodSpecAt = PodSpecAt {
    keys: &["spec", "template", "spec"],
    path: "spec.template.spec",
    pointer: "/spec/template/spec",
};
const AT_JOB_TEMPLATE: PodSpecAt = PodSpecAt {
    keys: &["spec", "jobTemplate", "spec", "template", "spec"],
    path: "spec.jobTemplate.spec.template.spec",
    pointer: "/spec/jobTemplate/spec/template/spec",
};

const POD_SPEC_AT_SPEC: &[&str] = &["Pod"];
const POD_SPEC_AT_TEMPLATE: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "ReplicationController",
];
/// The images of `object`, or the reasons it cannot be checked. `Ok(None)` means the kind has
/// no pod spec (nothing to check).
pub fn images(kind: &str, object: &Value) -> Result<Option<Vec<ImageSite>>, FieldErrors> {
    let location: Option<&'static PodSpecAt> = if POD_SPEC_AT_SPEC.contains(&kind) {
        Some(&AT_SPEC)
    } else if POD_SPEC_AT_TEMPLATE.contains(&kind) {
        Some(&AT_TEMPLATE)
    } else if kind == "CronJob" {
        Some(&AT_JOB_TEMPLATE)
    } else {
        None
    };
    let mut errs = FieldErrors::new();
    let (at, spec) = match location {
        Some(at) => match lookup(object, at.keys) {
            Some(spec) => (at, spec),
            None => {
                errs.missing(&[at.path]);
                return Err(errs);
            }
        },
        None => match [&AT_TEMPLATE, &AT_JOB_TEMPLATE]
            .into_iter()
            .find_map(|at| lookup(object, at.keys).map(|s| (at, s)))
        {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let prefix = at.path;
    let Some(spec) = spec.as_object() else {
        errs.invalid(&short(spec), prefix, "expected a pod spec object");
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
        for (index, container) in list.iter().enumerate() {
            let site = ImageSite {
                spec: at,
                field,
                index,
                image: String::new(),
            };
            match container.get("image") {
                Some(Value::String(image)) if !image.is_empty() => sites.push(ImageSite {
                    image: image.clone(),
                    ..site
                }),
                None | Some(Value::Null) | Some(Value::String(_)) => errs.missing(&[&site.path()]),
                Some(other) => errs.invalid(&short(other), &site.path(), "expected a string"),
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
                for (index, volume) in volumes.iter().enumerate() {
                    let Some(reference) = volume.pointer("/image/reference") else {
                        continue;
                    };
                    let site = ImageSite {
                        spec: at,
                        field: "volumes",
                        index,
                        image: String::new(),
                    };
                    match reference {
                        Value::String(image) if !image.is_empty() => sites.push(ImageSite {
                            image: image.clone(),
                            ..site
                        }),
                        Value::String(_) | Value::Null => {}
                        other => errs.invalid(
                            &short(other),
                            &format!("{}.reference", site.path()),
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
