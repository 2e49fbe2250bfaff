//! One admission decision: every image resolved to a digest, matched against the policies,
//! judged by their authorities; the results combined as policy-controller does (all matching
//! policies must pass, any one authority of a policy suffices, `warn` mode only warns) and
//! rendered in its words. The checked digest is the one pinned.

use crate::admission::object::Object;
use crate::admission::request::AdmissionRequest;
use crate::admission::workload::ImageSite;
use crate::cip::compile::{CompiledPolicy, Mode};
use crate::cip_level::{self, Workload};
use crate::field_error::{FieldErrors, Level};
use crate::image::reference::Reference;
use crate::settings::{NoMatchPolicy, Settings};
use crate::verify::host::{Host, VerifyRequest};
use crate::verify::judge;
use crate::verify::memo::MemoHost;
use crate::verify::verifier::Image;
use std::collections::BTreeMap;

/// HTTP status policy-controller answers a denied request with (knative's BadRequest).
const DENIED_CODE: u16 = 400;

#[derive(Debug, Clone, Default)]
pub struct Decision {
    pub allowed: bool,
    pub message: Option<String>,
    pub code: Option<u16>,
    pub warnings: Vec<String>,
    /// The admitted object with its images pinned, as JSON text.
    pub mutated: Option<String>,
}

impl Decision {
    fn allow() -> Self {
        Decision {
            allowed: true,
            ..Decision::default()
        }
    }
}

/// The object's group, version, plural resource and labels, for `spec.match`.
struct ObjectIdentity {
    group: String,
    version: String,
    resource: String,
    labels: BTreeMap<String, String>,
}

pub fn decide(settings: &Settings, request: &AdmissionRequest, host: &mut dyn Host) -> Decision {
    let object = request.object.as_ref().map(|o| Object::new(o.get()));
    let old = request.old_object.as_ref().map(|o| Object::new(o.get()));
    let (mut errs, pins) = match judged(settings, request, object.as_ref(), old.as_ref(), host) {
        Judged::Decided(decision) => return decision,
        Judged::Pins(errs, pins) => (errs, pins),
    };
    // A denied request is not mutated: its pins are not written.
    let mutated = match object.filter(|_| !errs.has_level(Level::Error)) {
        Some(object) => object.pinned(&pins).unwrap_or_else(|e| {
            errs.push(e, &["object"], "");
            None
        }),
        None => None,
    };
    render(&errs, mutated)
}

enum Judged {
    Decided(Decision),
    /// The errors, and the image sites to pin (when `pinDigests` is on) with their values.
    Pins(FieldErrors, Vec<(ImageSite, String)>),
}

fn judged(
    settings: &Settings,
    request: &AdmissionRequest,
    object: Option<&Object>,
    old: Option<&Object>,
    host: &mut dyn Host,
) -> Judged {
    let Some(object) = object else {
        return Judged::Decided(Decision::allow());
    };
    let kind = match request.kind.kind.as_str() {
        "" => object.kind(),
        k => k,
    };
    let sites = object.images(kind);
    let unchanged = || match (&sites, old) {
        (Ok(new), Some(old)) => old.images(kind).ok().as_ref() == Some(new),
        _ => false,
    };
    if request.skip(Some(object), old, unchanged).is_some() {
        return Judged::Decided(Decision::allow());
    }
    let sites = match sites {
        Ok(Some(sites)) => sites,
        Ok(None) => return Judged::Decided(Decision::allow()),
        Err(errs) => return Judged::Decided(render(&errs, None)),
    };
    let identity = object_identity(kind, object, request, settings.selects_labels);
    let mut judge = Judge {
        settings,
        host: MemoHost::new(host),
        identity: &identity,
        workload: Workload { kind, object },
        digests: BTreeMap::new(),
        verdicts: BTreeMap::new(),
    };
    let mut errs = FieldErrors::new();
    let mut pins = Vec::new();
    for site in sites {
        if let Some(pinned) = judge.site(&site, &mut errs) {
            if settings.pin_digests {
                pins.push((site, pinned));
            }
        }
    }
    Judged::Pins(errs, pins)
}

/// The response to a request whose errors are known: denied when any is an error.
pub fn render(errs: &FieldErrors, mutated: Option<String>) -> Decision {
    let warnings = errs.render_each(Level::Warning);
    match errs.render(Level::Error) {
        Some(message) => Decision {
            allowed: false,
            message: Some(format!("validation failed: {message}")),
            code: Some(DENIED_CODE),
            warnings,
            mutated: None,
        },
        None => Decision {
            allowed: true,
            warnings,
            mutated,
            ..Decision::default()
        },
    }
}

struct Judge<'a> {
    settings: &'a Settings,
    host: MemoHost<'a>,
    identity: &'a ObjectIdentity,
    workload: Workload<'a>,
    /// Tag name -> digest or the host's reason, once per distinct image.
    digests: BTreeMap<String, Result<String, String>>,
    /// Digest name -> policy index -> the policy's errors, once per distinct image.
    verdicts: BTreeMap<String, BTreeMap<usize, Vec<String>>>,
}

impl Judge<'_> {
    /// Judges one image site; returns the pinned image string when the tag was resolved.
    fn site(&mut self, site: &ImageSite, errs: &mut FieldErrors) -> Option<String> {
        // Rendered only for a message: most images need none.
        let path = || site.path();
        let reference = match Reference::parse(&site.image) {
            Ok(r) => r,
            Err(e) => {
                errs.push(e, &[&path()], "");
                return None;
            }
        };
        let repo = reference.repo().name();
        let (digest, pinned) = match reference.digest() {
            Some(d) => (d.to_string(), None),
            None => {
                let tag_name = reference.name();
                let resolved = match self.digests.get(&tag_name) {
                    Some(known) => known.clone(),
                    None => {
                        let found = self.resolve(&repo, &tag_name);
                        self.digests.insert(tag_name.clone(), found.clone());
                        found
                    }
                };
                match resolved {
                    Ok(d) => {
                        let pinned = [tag_name.as_str(), "@", &d].concat();
                        (d, Some(pinned))
                    }
                    Err(reason) => {
                        errs.push(
                            format!("invalid value: {} must be an image digest", site.image),
                            &[&path()],
                            reason,
                        );
                        return None;
                    }
                }
            }
        };
        let shown = pinned.as_deref().unwrap_or(&site.image);
        let image = Image {
            repo: &repo,
            digest: &digest,
        };
        let name = image.name();
        let policies = &self.settings.policies;
        let matching: Vec<usize> = self
            .settings
            .index
            .matching(policies, &name)
            .into_iter()
            .filter(|&i| {
                policies
                    .get(i)
                    .is_some_and(|p| applies_to(p, self.identity))
            })
            .collect();
        if matching.is_empty() {
            let level = match self.settings.no_match {
                NoMatchPolicy::Deny => Some(Level::Error),
                NoMatchPolicy::Warn => Some(Level::Warning),
                NoMatchPolicy::Allow => None,
            };
            if let Some(level) = level {
                errs.push_at(level, "no matching policies", &[&path()], shown);
            }
        }
        let mut verdicts = self.verdicts.remove(&name).unwrap_or_default();
        for index in matching {
            let failures = verdicts
                .entry(index)
                .or_insert_with(|| self.policy(index, image))
                .clone();
            if failures.is_empty() {
                continue;
            }
            let Some(policy) = self.settings.policies.get(index) else {
                continue;
            };
            let level = match policy.mode {
                Mode::Enforce => Level::Error,
                Mode::Warn => Level::Warning,
            };
            let details = std::iter::once(shown)
                .chain(failures.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            errs.push_at(
                level,
                format!("failed policy: {}", policy.name),
                &[&path()],
                details,
            );
        }
        self.verdicts.insert(name, verdicts);
        pinned
    }

    /// The digest of a tag. When a policy that certainly covers the image will ask the host to
    /// verify a signature, that question is asked first, on the tag: the host resolves the tag
    /// and answers with the digest it verified, which is then judged and pinned (so what is
    /// pinned is what a host verified). Otherwise, or when that verification fails, the digest
    /// is looked up on its own.
    fn resolve(&mut self, repo: &str, tag_name: &str) -> Result<String, String> {
        if let Some(request) = self.first_verification(repo, tag_name) {
            if let Ok(digest) = self.host.verify_tag(&request, repo) {
                return Ok(digest);
            }
        }
        self.host
            .manifest_digest(tag_name)
            .map_err(|e| e.to_string())
    }

    /// The first signature verification that a policy matching the image whatever its digest
    /// will make, asked about the tag.
    fn first_verification(&self, repo: &str, tag_name: &str) -> Option<VerifyRequest> {
        let policies = &self.settings.policies;
        let matching = self.settings.index.matching_any_digest(policies, repo)?;
        matching
            .into_iter()
            .filter_map(|i| policies.get(i))
            .filter(|p| applies_to(p, self.identity))
            .flat_map(|p| p.authorities().unwrap_or_default())
            .find_map(|a| judge::first_verify_request(a, tag_name))
    }

    /// The errors of one policy for one image; empty when it passes.
    fn policy(&mut self, index: usize, image: Image<'_>) -> Vec<String> {
        let Some(policy) = self.settings.policies.get(index) else {
            return vec![format!("internal error: no policy at index {index}")];
        };
        let rules = match policy.rules() {
            Ok(rules) => rules,
            Err(e) => {
                return vec![format!(
                    "failed to process policy: {}: invalid policy: {e}",
                    policy.name
                )]
            }
        };
        let mut failures = Vec::new();
        let mut passed = Vec::new();
        for auth in &rules.authorities {
            match judge::evaluate(auth, image, &mut self.host) {
                Ok(kind) => {
                    passed.push((auth, kind));
                    // Only a CIP-level policy needs every passing authority's result.
                    if rules.policy.is_none() {
                        break;
                    }
                }
                Err(e) => failures.push(e),
            }
        }
        if rules.authorities.is_empty() {
            failures.push(format!(
                "failed to process policy: {}: it has no authorities",
                policy.name
            ));
            return failures;
        }
        if passed.is_empty() {
            return failures;
        }
        match &rules.policy {
            Some(cip) => {
                match cip_level::judge(cip, &passed, image, &self.workload, &mut self.host) {
                    Ok(()) => Vec::new(),
                    Err(errors) => {
                        failures.extend(errors);
                        failures
                    }
                }
            }
            None => Vec::new(),
        }
    }
}

fn applies_to(policy: &CompiledPolicy, object: &ObjectIdentity) -> bool {
    policy.matches.is_empty()
        || policy.matches.iter().any(|m| {
            !m.resource.is_empty()
                && m.resource == object.resource
                && (m.version == object.version || m.version == "*")
                && m.group == object.group
                && m.selector
                    .as_ref()
                    .is_none_or(|s| s.matches(&object.labels))
        })
}

fn object_identity(
    kind: &str,
    object: &Object,
    request: &AdmissionRequest,
    with_labels: bool,
) -> ObjectIdentity {
    let (group, version) = match object.api_version() {
        Some(api) => match api.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api.to_string()),
        },
        None => (request.kind.group.clone(), request.kind.version.clone()),
    };
    ObjectIdentity {
        group,
        version,
        resource: guess_resource(kind),
        // Read only when a policy selects on them.
        labels: if with_labels {
            object.labels()
        } else {
            BTreeMap::new()
        },
    }
}

/// apimachinery's `UnsafeGuessKindToResource`: lower-case plural of the kind.
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

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
