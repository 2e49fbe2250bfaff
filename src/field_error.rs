//! knative's `apis.FieldError`, the way policy-controller reports both invalid policies and
//! admission failures: leaves of (message, paths, details, level), rendered as
//! `<message>: <paths>` plus `\n<details>`, identical leaves merged, paths and leaves sorted.

use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaf {
    pub message: String,
    pub paths: Vec<String>,
    pub details: String,
    pub level: Level,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    leaves: Vec<Leaf>,
}

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    pub fn push(&mut self, message: impl Into<String>, paths: &[&str], details: impl Into<String>) {
        self.push_at(Level::Error, message, paths, details);
    }

    pub fn push_at(
        &mut self,
        level: Level,
        message: impl Into<String>,
        paths: &[&str],
        details: impl Into<String>,
    ) {
        self.leaves.push(Leaf {
            message: message.into(),
            paths: paths.iter().map(|p| p.to_string()).collect(),
            details: details.into(),
            level,
        });
    }

    pub fn missing(&mut self, paths: &[&str]) {
        self.push("missing field(s)", paths, "");
    }

    pub fn multiple_one_of(&mut self, paths: &[&str]) {
        self.push("expected exactly one, got both", paths, "");
    }

    pub fn missing_one_of(&mut self, paths: &[&str]) {
        self.push("expected exactly one, got neither", paths, "");
    }

    pub fn invalid(&mut self, value: &str, path: &str, details: impl Into<String>) {
        self.push(format!("invalid value: {value}"), &[path], details);
    }

    pub fn disallowed(&mut self, paths: &[&str]) {
        self.push("must not set the field(s)", paths, "");
    }

    pub fn warn_invalid(&mut self, value: &str, path: &str, details: impl Into<String>) {
        self.push_at(
            Level::Warning,
            format!("invalid value: {value}"),
            &[path],
            details,
        );
    }

    pub fn extend(&mut self, other: FieldErrors) {
        self.leaves.extend(other.leaves);
    }

    pub fn has_level(&self, level: Level) -> bool {
        self.leaves.iter().any(|l| l.level == level)
    }

    /// Merged, sorted leaves of one level.
    pub fn merged(&self, level: Level) -> Vec<Leaf> {
        let mut merged: Vec<Leaf> = Vec::new();
        for leaf in self.leaves.iter().filter(|l| l.level == level) {
            match merged
                .iter_mut()
                .find(|m| m.message == leaf.message && m.details == leaf.details)
            {
                Some(existing) => existing.paths.extend(leaf.paths.iter().cloned()),
                None => merged.push(leaf.clone()),
            }
        }
        for leaf in &mut merged {
            let unique: BTreeSet<String> = leaf.paths.drain(..).collect();
            leaf.paths = unique.into_iter().collect();
        }
        merged.sort_by(|a, b| (&a.message, &a.details).cmp(&(&b.message, &b.details)));
        merged
    }

    /// knative's `Error()` over the leaves of one level; `None` when there are none.
    pub fn render(&self, level: Level) -> Option<String> {
        let leaves = self.merged(level);
        if leaves.is_empty() {
            return None;
        }
        Some(
            leaves
                .iter()
                .map(render_leaf)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    }

    /// Each merged leaf of one level as its own string (admission warnings).
    pub fn render_each(&self, level: Level) -> Vec<String> {
        self.merged(level).iter().map(render_leaf).collect()
    }
}

fn render_leaf(leaf: &Leaf) -> String {
    let paths = leaf.paths.join(", ");
    if leaf.details.is_empty() {
        format!("{}: {paths}", leaf.message)
    } else {
        format!("{}: {paths}\n{}", leaf.message, leaf.details)
    }
}

/// A value as it appears in a message, cut short so a hostile object cannot flood it.
pub fn short(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(64) {
        Some((cut, _)) => format!("{}...", text.get(..cut).unwrap_or_default()),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_identical_leaves_and_sorts_paths() {
        let mut errs = FieldErrors::new();
        errs.missing(&["spec.b"]);
        errs.missing(&["spec.a"]);
        errs.multiple_one_of(&["spec.url", "spec.ca-cert"]);
        assert_eq!(
            errs.render(Level::Error).unwrap(),
            "expected exactly one, got both: spec.ca-cert, spec.url\nmissing field(s): spec.a, spec.b"
        );
    }

    #[test]
    fn details_keep_leaves_apart_and_order_them() {
        let mut errs = FieldErrors::new();
        errs.invalid("x", "spec.p", "zeta");
        errs.invalid("x", "spec.q", "alpha");
        assert_eq!(
            errs.render(Level::Error).unwrap(),
            "invalid value: x: spec.q\nalpha\ninvalid value: x: spec.p\nzeta"
        );
    }

    #[test]
    fn levels_render_separately() {
        let mut errs = FieldErrors::new();
        errs.warn_invalid("cyclonedx", "spec.t", "deprecated");
        assert_eq!(errs.render(Level::Error), None);
        assert_eq!(
            errs.render_each(Level::Warning),
            vec!["invalid value: cyclonedx: spec.t\ndeprecated".to_string()]
        );
    }

    #[test]
    fn empty_renders_nothing() {
        assert_eq!(FieldErrors::new().render(Level::Error), None);
    }
}
