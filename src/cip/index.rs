//! Which policies an image name may match, found without trying every glob: the globs are
//! grouped by their literal prefix (the text before the first star), and an image only tries
//! the groups whose prefix begins its name. With many policies on distinct registries or
//! repositories, an image tries a handful of globs instead of all of them.

use super::compile::CompiledPolicy;
use std::collections::HashMap;

/// A digest stands in for any: globs that do not depend on the digest match it as any other.
const ANY_HEX: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Default)]
pub struct GlobIndex {
    /// Literal prefix -> (policy index, glob index), in policy order.
    by_prefix: HashMap<String, Vec<(usize, usize)>>,
    /// The distinct lengths of those prefixes, ascending: an image name is cut only there.
    prefix_lengths: Vec<usize>,
    /// (policy index, glob index) of the globs whose verdict may depend on the digest.
    digest_dependent: Vec<(usize, usize)>,
}

impl GlobIndex {
    pub fn new(policies: &[CompiledPolicy]) -> Self {
        let mut index = GlobIndex::default();
        for (p, policy) in policies.iter().enumerate() {
            for (g, glob) in policy.globs.iter().enumerate() {
                index.prefix_lengths.push(glob.prefix().len());
                if !glob.digest_independent() {
                    index.digest_dependent.push((p, g));
                }
                index
                    .by_prefix
                    .entry(glob.prefix().to_string())
                    .or_default()
                    .push((p, g));
            }
        }
        index.prefix_lengths.sort_unstable();
        index.prefix_lengths.dedup();
        index
    }

    /// For an image whose digest is not known yet: the policies whose globs match
    /// `repo@sha256:<hex>` for any digest, or `None` when a glob that may depend on the digest
    /// could match (its literal prefix agrees with `repo@sha256:`), so that the digest must be
    /// resolved first.
    pub fn matching_any_digest(
        &self,
        policies: &[CompiledPolicy],
        repo: &str,
    ) -> Option<Vec<usize>> {
        let head = [repo, "@sha256:"].concat();
        for &(p, g) in &self.digest_dependent {
            let glob = policies.get(p).and_then(|policy| policy.globs.get(g))?;
            let prefix = glob.prefix().as_bytes();
            let common = prefix.len().min(head.len());
            if prefix.get(..common) == head.as_bytes().get(..common) {
                return None;
            }
        }
        let placeholder = [head.as_str(), ANY_HEX].concat();
        Some(self.matching(policies, &placeholder))
    }

    /// The indices of the policies with a glob that matches `name`, ascending, each once.
    pub fn matching(&self, policies: &[CompiledPolicy], name: &str) -> Vec<usize> {
        let mut found = Vec::new();
        for &end in &self.prefix_lengths {
            let Some(entries) = name.get(..end).and_then(|p| self.by_prefix.get(p)) else {
                continue;
            };
            for &(p, g) in entries {
                let glob = policies.get(p).and_then(|policy| policy.globs.get(g));
                if glob.is_some_and(|glob| glob.matches(name)) {
                    found.push(p);
                }
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::Settings;

    fn settings(globs: &[&[&str]]) -> Settings {
        let policies: Vec<_> = globs
            .iter()
            .enumerate()
            .map(|(i, globs)| {
                serde_json::json!({"name": format!("p{i}"), "spec": {
                    "images": globs.iter().map(|g| serde_json::json!({"glob": g})).collect::<Vec<_>>(),
                    "authorities": [{"static": {"action": "pass"}}]}})
            })
            .collect();
        let raw = serde_json::json!({ "policies": policies });
        Settings::compile(raw.to_string().as_bytes()).unwrap()
    }

    /// The index answers exactly what trying every glob of every policy answers.
    #[test]
    fn agrees_with_trying_every_glob() {
        let s = settings(&[
            &["**"],
            &["ghcr.io/acme/*", "ghcr.io/acme/**"],
            &["ghcr.io/acme/app@sha256:*"],
            &["*"],
            &["index.docker.io/*/*", "ghcr.io/**"],
            &["ghcr.io/acme/app"],
            &["gh**"],
        ]);
        for name in [
            "ghcr.io/acme/app@sha256:aa",
            "ghcr.io/acme/app",
            "ghcr.io/other/app@sha256:aa",
            "index.docker.io/library/nginx@sha256:aa",
            "index.docker.io/knabben/netshoot@sha256:aa",
            "quay.io/x@sha256:aa",
            "",
        ] {
            let brute: Vec<usize> = s
                .policies
                .iter()
                .enumerate()
                .filter(|(_, p)| p.globs.iter().any(|g| g.matches(name)))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(s.index.matching(&s.policies, name), brute, "{name}");
        }
        assert_eq!(
            s.index.matching(&s.policies, "ghcr.io/acme/app@sha256:aa"),
            vec![0, 1, 2, 4, 6]
        );
    }

    #[test]
    fn an_unknown_digest_is_needed_only_when_a_glob_depends_on_it() {
        let s = settings(&[
            &["ghcr.io/acme/**"],
            &["quay.io/x@sha256:ab*"],
            &["ghcr.io/acme/*"],
        ]);
        assert_eq!(
            s.index.matching_any_digest(&s.policies, "ghcr.io/acme/app"),
            Some(vec![0, 2])
        );
        assert_eq!(s.index.matching_any_digest(&s.policies, "quay.io/x"), None);
        assert_eq!(
            s.index.matching_any_digest(&s.policies, "quay.io/y"),
            Some(vec![])
        );
        let exact = settings(&[&["ghcr.io/acme/app"]]);
        assert_eq!(
            exact
                .index
                .matching_any_digest(&exact.policies, "ghcr.io/acme/app"),
            None
        );
    }
}
