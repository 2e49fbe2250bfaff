//! Finds every image in an admitted object, with policy-controller's field paths. Pod spec
//! locations by kind; other kinds are checked when they carry a pod template at a known place.

use crate::field_error::{short, FieldErrors};
use serde_json::Value;
use std::ops::Range;

/// One image in the object: where it is reported, where it is written, what it says. The path
/// and pointer are rendered on demand: an admitted request needs neither for most images.
#[derive(Debug, Clone)]
pub struct ImageSite {
    pub(super) spec: &'static PodSpecAt,
    /// `containers`, `initContainers`, `ephemeralContainers` or `volumes`.
    pub(super) field: &'static str,
    pub(super) index: usize,
    pub image: String,
    /// Where the image's JSON string lies in the object's text, when it was read from the text.
    pub(super) span: Option<Range<usize>>,
}

/// Two sites are the same image at the same place; where the text spells it is not part of it
/// (an old and a new object are compared).
impl PartialEq for ImageSite {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
            && self.field == other.field
            && self.index == other.index
            && self.image == other.image
    }
}

impl Eq for ImageSite {}

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
pub(super) struct PodSpecAt {
    pub(super) nesting: Nesting,
    keys: &'static [&'static str],
    path: &'static str,
    pointer: &'static str,
}

/// How deep the pod spec sits: `spec`, a pod template's `spec`, a job template's.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(super) enum Nesting {
    Spec,
    Template,
    JobTemplate,
}

pub(super) const AT_SPEC: PodSpecAt = PodSpecAt {
    nesting: Nesting::Spec,
    keys: &["spec"],
    path: "spec",
    pointer: "/spec",
};
pub(super) const AT_TEMPLATE: PodSpecAt = PodSpecAt {
    nesting: Nesting::Template,
    keys: &["spec", "template", "spec"],
    path: "spec.template.spec",
    pointer: "/spec/template/spec",
};
pub(super) const AT_JOB_TEMPLATE: PodSpecAt = PodSpecAt {
    nesting: Nesting::JobTemplate,
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
/// Where `kind` keeps its pod spec; `None` for kinds without a known place (their pod
/// template, if any, is looked for).
pub(super) fn location(kind: &str) -> Option<&'static PodSpecAt> {
    if POD_SPEC_AT_SPEC.contains(&kind) {
        Some(&AT_SPEC)
    } else if POD_SPEC_AT_TEMPLATE.contains(&kind) {
        Some(&AT_TEMPLATE)
    } else if kind == "CronJob" {
        Some(&AT_JOB_TEMPLATE)
    } else {
        None
    }
}

/// The images of `object`, or the reasons it cannot be checked. `Ok(None)` means the kind has
/// no pod spec (nothing to check).
pub fn images(kind: &str, object: &Value) -> Result<Option<Vec<ImageSite>>, FieldErrors> {
    let location = location(kind);
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
                span: None,
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
                        span: None,
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
