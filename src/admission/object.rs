//! The admitted object, read without building it: a borrowed, typed view of the few fields a
//! decision needs (kind, apiVersion, labels, the pod spec's images, what the skips read) over
//! the object's own JSON text. Building the whole object as a `serde_json::Value` (a map and a
//! string per field) was most of an admission's work; now it is built only when a CIP's
//! `spec.policy` includes the object, or when the view cannot be taken. An odd shape (a field of
//! an unexpected type, an empty image) makes the view give way to the general reader in
//! `workload`, which names the field: the view only ever takes the easy road to the same answer.
//! Pinning writes the digests into the object's text, so every other byte reaches the API
//! server as it came.

use super::workload::{self, ImageSite, Nesting, PodSpecAt};
use crate::field_error::FieldErrors;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::ops::Range;

pub struct Object<'a> {
    text: &'a str,
    view: Option<View<'a>>,
    value: OnceCell<Result<Value, String>>,
}

#[derive(Deserialize)]
struct View<'a> {
    #[serde(default)]
    kind: Option<&'a str>,
    #[serde(default, rename = "apiVersion")]
    api_version: Option<&'a str>,
    #[serde(borrow, default)]
    metadata: Option<Map<MetaView<'a>>>,
    #[serde(borrow, default)]
    spec: Option<Map<SpecView<'a>>>,
}

#[derive(Deserialize)]
struct MetaView<'a> {
    #[serde(borrow, default)]
    labels: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "deletionTimestamp")]
    deletion_timestamp: Option<&'a RawValue>,
}

/// A pod spec, or a spec that holds a pod template (a workload's), or a job template (a
/// CronJob's): the kind says which of its fields count.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpecView<'a> {
    #[serde(borrow, default)]
    replicas: Option<&'a RawValue>,
    #[serde(borrow, default)]
    template: Option<Box<Map<TemplateView<'a>>>>,
    #[serde(borrow, default)]
    job_template: Option<Box<Map<TemplateView<'a>>>>,
    #[serde(borrow, default)]
    init_containers: Option<Vec<Map<ContainerView<'a>>>>,
    #[serde(borrow, default)]
    containers: Option<Vec<Map<ContainerView<'a>>>>,
    #[serde(borrow, default)]
    ephemeral_containers: Option<Vec<Map<ContainerView<'a>>>>,
    #[serde(borrow, default)]
    volumes: Option<Vec<Map<VolumeView<'a>>>>,
}

#[derive(Deserialize)]
struct TemplateView<'a> {
    #[serde(borrow, default)]
    spec: Option<Map<SpecView<'a>>>,
}

#[derive(Deserialize)]
struct ContainerView<'a> {
    #[serde(borrow, default)]
    image: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct VolumeView<'a> {
    #[serde(borrow, default)]
    image: Option<Map<VolumeImageView<'a>>>,
}

#[derive(Deserialize)]
struct VolumeImageView<'a> {
    #[serde(borrow, default)]
    reference: Option<&'a RawValue>,
}

/// A struct read only from a JSON object. serde's derived structs also accept an array, field by
/// field in order, where the general reader (rightly) sees no fields at all.
struct Map<T>(T);

impl<T> std::ops::Deref for Map<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Map<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Only<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Only<T> {
            type Value = Map<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Map<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Map)
            }
        }
        deserializer.deserialize_map(Only(std::marker::PhantomData))
    }
}

impl<'a> Object<'a> {
    /// `text` is the object's JSON, as the request carried it.
    pub fn new(text: &'a str) -> Self {
        Object {
            text,
            view: serde_json::from_str::<Map<View>>(text).ok().map(|m| m.0),
            value: OnceCell::new(),
        }
    }

    /// The whole object, decoded on first use.
    pub fn value(&self) -> Result<&Value, String> {
        self.value
            .get_or_init(|| {
                serde_json::from_str(self.text)
                    .map_err(|e| format!("cannot decode the object: {e}"))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Its `kind`; empty when absent or not a string.
    pub fn kind(&self) -> &str {
        match &self.view {
            Some(view) => view.kind.unwrap_or(""),
            None => self
                .value()
                .ok()
                .and_then(|v| v.get("kind"))
                .and_then(Value::as_str)
                .unwrap_or(""),
        }
    }

    /// Its `apiVersion`, when a string.
    pub fn api_version(&self) -> Option<&str> {
        match &self.view {
            Some(view) => view.api_version,
            None => self.value().ok()?.get("apiVersion")?.as_str(),
        }
    }

    /// `metadata.labels`: the entries whose value is a string.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let owned;
        let labels = match &self.view {
            Some(view) => {
                let Some(raw) = view.metadata.as_ref().and_then(|m| m.labels) else {
                    return BTreeMap::new();
                };
                owned = serde_json::from_str::<Value>(raw.get()).ok();
                owned.as_ref()
            }
            // `get` twice rather than `pointer`, which allocates for every token it unescapes.
            None => self
                .value()
                .ok()
                .and_then(|o| o.get("metadata"))
                .and_then(|m| m.get("labels")),
        };
        labels
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether `metadata.deletionTimestamp` is set (to anything but null).
    pub fn deletion_timestamp_set(&self) -> bool {
        match &self.view {
            Some(view) => view
                .metadata
                .as_ref()
                .is_some_and(|m| m.deletion_timestamp.is_some()),
            None => self
                .value()
                .ok()
                .and_then(|o| o.get("metadata"))
                .and_then(|m| m.get("deletionTimestamp"))
                .is_some_and(|v| !v.is_null()),
        }
    }

    /// `spec.replicas`, when an integer.
    pub fn replicas(&self) -> Option<i64> {
        match &self.view {
            Some(view) => serde_json::from_str(view.spec.as_ref()?.replicas?.get()).ok(),
            None => self.value().ok()?.get("spec")?.get("replicas")?.as_i64(),
        }
    }

    /// The images, as `workload::images` finds them, or the reasons the object cannot be checked.
    pub fn images(&self, kind: &str) -> Result<Option<Vec<ImageSite>>, FieldErrors> {
        if let Some(found) = self.view.as_ref().and_then(|v| v.images(kind, self.text)) {
            return Ok(found);
        }
        match self.value() {
            Ok(value) => workload::images(kind, value),
            Err(e) => {
                let mut errs = FieldErrors::new();
                errs.push(e, &["object"], "");
                Err(errs)
            }
        }
    }

    /// The object's JSON with each site's image replaced by its pinned reference; `None` when
    /// nothing is pinned. A JSON string written over a JSON string keeps the text valid JSON.
    pub fn pinned(&self, pins: &[(ImageSite, String)]) -> Result<Option<String>, String> {
        if pins.is_empty() {
            return Ok(None);
        }
        let spliced = match self.spliced(pins) {
            Some(text) => Ok(text),
            None => {
                let mut object = self.value()?.clone();
                for (site, pinned) in pins {
                    if let Some(slot) = object.pointer_mut(&site.pointer()) {
                        *slot = Value::String(pinned.clone());
                    }
                }
                serde_json::to_string(&object)
            }
        };
        spliced
            .map(Some)
            .map_err(|e| format!("cannot encode the pinned object: {e}"))
    }

    /// The text with the pinned references written over the images' strings; `None` when a
    /// site was not read from this text.
    fn spliced(&self, pins: &[(ImageSite, String)]) -> Option<String> {
        let mut spans = pins
            .iter()
            .map(|(site, pinned)| Some((site.span.clone()?, pinned)))
            .collect::<Option<Vec<_>>>()?;
        spans.sort_by_key(|(span, _)| span.start);
        let mut text = String::with_capacity(self.text.len() + 80 * spans.len());
        let mut at = 0;
        for (span, pinned) in spans {
            text.push_str(self.text.get(at..span.start)?);
            text.push_str(&serde_json::to_string(pinned).ok()?);
            at = span.end;
        }
        text.push_str(self.text.get(at..)?);
        Some(text)
    }
}

impl View<'_> {
    /// The sites, or `None` when anything is not as expected: the general reader then decides
    /// what to say.
    fn images(&self, kind: &str, text: &str) -> Option<Option<Vec<ImageSite>>> {
        fn template<'v, 'a>(s: Option<&'v SpecView<'a>>) -> Option<&'v SpecView<'a>> {
            s?.template.as_deref()?.spec.as_deref()
        }
        fn job<'v, 'a>(s: Option<&'v SpecView<'a>>) -> Option<&'v SpecView<'a>> {
            s?.job_template.as_deref()?.spec.as_deref()
        }
        let spec = self.spec.as_deref();
        let at_nesting = |at: &PodSpecAt| match at.nesting {
            Nesting::Spec => spec,
            Nesting::Template => template(spec),
            Nesting::JobTemplate => template(job(spec)),
        };
        let (at, pod) = match workload::location(kind) {
            Some(at) => (at, at_nesting(at)?),
            None => match [&workload::AT_TEMPLATE, &workload::AT_JOB_TEMPLATE]
                .into_iter()
                .find_map(|at| at_nesting(at).map(|pod| (at, pod)))
            {
                Some(found) => found,
                None => return Some(None),
            },
        };
        let mut sites = Vec::new();
        let lists = [
            ("initContainers", &pod.init_containers),
            ("containers", &pod.containers),
            ("ephemeralContainers", &pod.ephemeral_containers),
        ];
        for (field, list) in lists {
            for (index, container) in list.iter().flatten().enumerate() {
                let raw = container.image?;
                let image = string(raw).filter(|i| !i.is_empty())?;
                sites.push(site(at, field, index, image, span(text, raw)?));
            }
        }
        for (index, volume) in pod.volumes.iter().flatten().enumerate() {
            let Some(raw) = volume.image.as_ref().and_then(|i| i.reference) else {
                continue;
            };
            let image = string(raw)?;
            if !image.is_empty() {
                sites.push(site(at, "volumes", index, image, span(text, raw)?));
            }
        }
        Some(Some(sites))
    }
}

fn site(
    at: &'static PodSpecAt,
    field: &'static str,
    index: usize,
    image: Cow<str>,
    span: Range<usize>,
) -> ImageSite {
    ImageSite {
        spec: at,
        field,
        index,
        image: image.into_owned(),
        span: Some(span),
    }
}

/// A JSON string's value; `None` for anything else.
fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    let text = raw.get();
    let inner = text.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(text).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// Where `raw`, borrowed from `text`, lies in it.
fn span(text: &str, raw: &RawValue) -> Option<Range<usize>> {
    let start = (raw.get().as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    let end = start.checked_add(raw.get().len())?;
    text.get(start..end)
        .filter(|s| s.as_ptr() == raw.get().as_ptr())
        .map(|_| start..end)
}
