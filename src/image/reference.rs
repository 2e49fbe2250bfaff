//! Image references, parsed and normalised the way go-containerregistry's `name` package does
//! with weak validation (what policy-controller uses): `docker.io` becomes `index.docker.io`,
//! single-component Docker Hub repositories get `library/`, a tag-less name means `:latest`, and
//! the first path component is a registry only if it contains `.` or `:`.

use std::fmt;

pub const DEFAULT_REGISTRY: &str = "index.docker.io";
const DEFAULT_REGISTRY_ALIAS: &str = "docker.io";
const DEFAULT_TAG: &str = "latest";
/// The characters an element may contain, as messages list them and as a byte test (every
/// image of every request is checked: a test per byte, not a search of the list per character).
struct Charset {
    listed: &'static str,
    allows: fn(u8) -> bool,
}

const TAG_CHARS: Charset = Charset {
    listed: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
    allows: |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'),
};
const REPOSITORY_CHARS: Charset = Charset {
    listed: "abcdefghijklmnopqrstuvwxyz0123456789_-./",
    allows: |b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.' | b'/')
    },
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    registry: String,
    repository: String,
}

impl Repository {
    pub fn parse(name: &str) -> Result<Self, String> {
        if name.is_empty() {
            return Err("a repository name must be specified".to_string());
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains('.') || first.contains(':') => (first, rest),
            _ => ("", name),
        };
        check_element("repository", repository, &REPOSITORY_CHARS, 2, 255)?;
        check_path_components(repository)?;
        check_registry(registry)?;
        let registry = match registry {
            "" | DEFAULT_REGISTRY_ALIAS => DEFAULT_REGISTRY,
            other => other,
        };
        Ok(Repository {
            registry: registry.to_string(),
            repository: repository.to_string(),
        })
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The repository path with Docker Hub's implicit `library/` namespace made explicit.
    pub fn repository(&self) -> String {
        if self.registry == DEFAULT_REGISTRY && !self.repository.contains('/') {
            format!("library/{}", self.repository)
        } else {
            self.repository.clone()
        }
    }

    /// `registry/repository`, fully qualified.
    pub fn name(&self) -> String {
        self.name_then("", "")
    }

    /// `registry/repository` followed by `separator` and `suffix`, built in one allocation: it
    /// runs for every image of every request.
    fn name_then(&self, separator: &str, suffix: &str) -> String {
        let library = self.registry == DEFAULT_REGISTRY && !self.repository.contains('/');
        let namespace = if library { "/library/" } else { "/" };
        [
            self.registry.as_str(),
            namespace,
            &self.repository,
            separator,
            suffix,
        ]
        .concat()
    }
}

/// A parsed image reference: a tag (possibly implicit `latest`) or a digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Tag { repo: Repository, tag: String },
    Digest { repo: Repository, digest: String },
}

impl Reference {
    /// Parses as `name.ParseReference` does: a tag first, then a digest; on failure the error
    /// is go-containerregistry's `could not parse reference: <input>`.
    pub fn parse(input: &str) -> Result<Self, String> {
        if let Ok(reference) = parse_tag(input) {
            return Ok(reference);
        }
        if let Ok(reference) = parse_digest(input) {
            return Ok(reference);
        }
        Err(format!("could not parse reference: {input}"))
    }

    pub fn repo(&self) -> &Repository {
        match self {
            Reference::Tag { repo, .. } | Reference::Digest { repo, .. } => repo,
        }
    }

    pub fn digest(&self) -> Option<&str> {
        match self {
            Reference::Digest { digest, .. } => Some(digest),
            Reference::Tag { .. } => None,
        }
    }

    /// `ref.Name()`: `registry/repo:tag` for tags, `registry/repo@sha256:...` for digests.
    pub fn name(&self) -> String {
        match self {
            Reference::Tag { repo, tag } => repo.name_then(":", tag),
            Reference::Digest { repo, digest } => repo.name_then("@", digest),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

fn parse_tag(name: &str) -> Result<Reference, String> {
    let mut base = name;
    let mut tag = "";
    if let Some((head, last)) = name.rsplit_once(':') {
        // A colon followed by a `/` belongs to a registry port, not a tag.
        if !last.contains('/') {
            if last.is_empty() {
                return Err(format!("{name} must specify a tag name after the colon"));
            }
            base = head;
            tag = last;
        }
    }
    if !tag.is_empty() {
        check_element("tag", tag, &TAG_CHARS, 1, 128)?;
    }
    let repo = Repository::parse(base)?;
    let tag = if tag.is_empty() { DEFAULT_TAG } else { tag };
    Ok(Reference::Tag {
        repo,
        tag: tag.to_string(),
    })
}

fn parse_digest(name: &str) -> Result<Reference, String> {
    let mut parts = name.split('@');
    let (Some(base), Some(digest), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "a digest must contain exactly one '@' separator (e.g. registry/repository@digest) saw: {name}"
        ));
    };
    let Some(hex) = digest.strip_prefix("sha256:") else {
        return Err(format!("unsupported digest algorithm: {digest}"));
    };
    if hex.len() != 64 {
        return Err("invalid checksum digest length".to_string());
    }
    if !hex
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("invalid checksum digest format".to_string());
    }
    // A tag next to the digest is dropped: `nginx:1.25@sha256:...` names `.../nginx@sha256:...`.
    let repo = match parse_tag(base) {
        Ok(Reference::Tag { repo, .. }) => repo,
        _ => Repository::parse(base)?,
    };
    Ok(Reference::Digest {
        repo,
        digest: digest.to_string(),
    })
}

fn check_element(
    what: &str,
    element: &str,
    allowed: &Charset,
    min: usize,
    max: usize,
) -> Result<(), String> {
    let runes = element.chars().count();
    if runes < min || runes > max {
        return Err(format!(
            "{what} must be between {min} and {max} characters in length: {element}"
        ));
    }
    // Every allowed character is ASCII, so a byte of a longer character fails the test too.
    if !element.bytes().all(allowed.allows) {
        return Err(format!(
            "{what} can only contain the characters `{}`: {element}",
            allowed.listed
        ));
    }
    Ok(())
}

/// Every `/`-separated component of a repository must be lower-case letters and digits, joined
/// by single separators (`.`, `_`, `__` or a run of `-`), as the distribution spec's grammar says:
/// no empty, `.` or `..` component can smuggle a path past a glob.
fn check_path_components(repository: &str) -> Result<(), String> {
    let valid = |component: &str| {
        let mut previous_separator: Option<u8> = None;
        let mut run = 0usize;
        for b in component.bytes() {
            if b.is_ascii_lowercase() || b.is_ascii_digit() {
                previous_separator = None;
                run = 0;
                continue;
            }
            run += 1;
            let allowed = match (previous_separator, b) {
                (None, b'.' | b'_' | b'-') => true,
                (Some(b'_'), b'_') => run == 2,
                (Some(b'-'), b'-') => true,
                _ => false,
            };
            if !allowed {
                return false;
            }
            previous_separator = Some(b);
        }
        let bytes = component.as_bytes();
        matches!(
            (bytes.first(), bytes.last()),
            (Some(first), Some(last)) if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()
        )
    };
    if repository.split('/').all(valid) {
        Ok(())
    } else {
        Err(format!(
            "repository path components must match the distribution grammar: {repository}"
        ))
    }
}

/// A registry must be a valid RFC 3986 authority (`host[:port]`), as Go's `url.Parse("//" + r)`
/// requires; an empty registry means Docker Hub.
fn check_registry(registry: &str) -> Result<(), String> {
    let bad = || format!("registries must be valid RFC 3986 URI authorities: {registry}");
    if registry.is_empty() {
        return Ok(());
    }
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (inner, after) = rest.split_once(']').ok_or_else(bad)?;
        if !inner
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(bad());
        }
        (inner, after.strip_prefix(':'))
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        }
    };
    // Past Go's URL check, the distribution grammar: dot-separated labels of letters, digits and
    // inner hyphens (or a bracketed IPv6 address), and a numeric port.
    let host_ok = registry.starts_with('[')
        || host.split('.').all(|label| {
            let bytes = label.as_bytes();
            matches!(
                (bytes.first(), bytes.last()),
                (Some(first), Some(last)) if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric()
            ) && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        });
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const HEX: &str = "d845da1645d514a0ddf3ee1fe4df9a2cdae4d0f1f45dc9d16a34cf253366cb71";

    /// Each charset's byte test allows exactly the characters its message lists.
    #[test]
    fn charsets_test_what_they_list() {
        for set in [&TAG_CHARS, &REPOSITORY_CHARS] {
            for b in 0..=u8::MAX {
                assert_eq!(
                    (set.allows)(b),
                    b.is_ascii() && set.listed.contains(char::from(b)),
                    "{b}"
                );
            }
        }
    }

    #[rstest]
    #[case::docker_io_alias(
        "docker.io/knabben/netshoot",
        "index.docker.io/knabben/netshoot:latest"
    )]
    #[case::library("busybox", "index.docker.io/library/busybox:latest")]
    #[case::library_tag("nginx:1.25", "index.docker.io/library/nginx:1.25")]
    #[case::hub_user("knabben/netshoot:v1", "index.docker.io/knabben/netshoot:v1")]
    #[case::registry_port(
        "127.0.0.1:5000/knabben/netshoot",
        "127.0.0.1:5000/knabben/netshoot:latest"
    )]
    #[case::registry_port_tag("localhost:5000/a/b:1", "localhost:5000/a/b:1")]
    #[case::localhost_is_hub_repo("localhost/foo", "index.docker.io/localhost/foo:latest")]
    #[case::ghcr("ghcr.io/org/app:1.0", "ghcr.io/org/app:1.0")]
    #[case::index_explicit(
        "index.docker.io/library/nginx",
        "index.docker.io/library/nginx:latest"
    )]
    #[case::deep("gcr.io/a/b/c/d:x", "gcr.io/a/b/c/d:x")]
    #[case::separators("ghcr.io/a.b/c_d/e__f/g---h:1", "ghcr.io/a.b/c_d/e__f/g---h:1")]
    #[case::upper_case_registry("GHCR.io/org/app", "GHCR.io/org/app:latest")]
    #[case::ipv6_registry("[::1]:5000/org/app", "[::1]:5000/org/app:latest")]
    fn tag_names(#[case] input: &str, #[case] name: &str) {
        let reference = Reference::parse(input).unwrap();
        assert_eq!(reference.name(), name);
        assert!(reference.digest().is_none());
    }

    #[rstest]
    #[case::plain("ghcr.io/org/app@sha256:HEX", "ghcr.io/org/app@sha256:HEX")]
    #[case::tag_dropped("nginx:1.25@sha256:HEX", "index.docker.io/library/nginx@sha256:HEX")]
    #[case::hub(
        "docker.io/knabben/netshoot@sha256:HEX",
        "index.docker.io/knabben/netshoot@sha256:HEX"
    )]
    #[case::port_and_tag(
        "127.0.0.1:5000/x/y:latest@sha256:HEX",
        "127.0.0.1:5000/x/y@sha256:HEX"
    )]
    fn digest_names(#[case] input: &str, #[case] name: &str) {
        let reference = Reference::parse(&input.replace("HEX", HEX)).unwrap();
        assert_eq!(reference.name(), name.replace("HEX", HEX));
        assert_eq!(reference.digest(), Some(format!("sha256:{HEX}").as_str()));
    }

    #[rstest]
    #[case::at_sign("in@valid")]
    #[case::uppercase_repo("ghcr.io/Org/App")]
    #[case::empty("")]
    #[case::short_digest("nginx@sha256:abc")]
    #[case::other_algorithm("nginx@sha512:abc")]
    #[case::empty_tag("nginx:")]
    #[case::bad_tag_char("nginx:a+b")]
    #[case::one_char_repo("a")]
    #[case::space("ngi nx")]
    #[case::two_ats("a/b@sha256:x@y")]
    #[case::empty_component("docker.io/knabben//netshoot")]
    #[case::dot_dot_component("ghcr.io/org/../netshoot")]
    #[case::dot_component("ghcr.io/org/./netshoot")]
    #[case::trailing_slash("ghcr.io/org/app/")]
    #[case::leading_separator("ghcr.io/org/-app")]
    #[case::double_dot_inside("ghcr.io/org/a..b")]
    #[case::triple_underscore("ghcr.io/org/a___b")]
    #[case::mixed_separators("ghcr.io/org/a._b")]
    #[case::registry_percent("ghc%72.io/org/app")]
    #[case::registry_bang("ghcr!.io/org/app")]
    #[case::registry_quote("ghcr'.io/org/app")]
    #[case::registry_empty_label("ghcr..io/org/app")]
    #[case::registry_hyphen_edge("-ghcr.io/org/app")]
    #[case::registry_empty_port("ghcr.io:/org/app")]
    #[case::digest_empty_component(
        "ghcr.io/org//app@sha256:d845da1645d514a0ddf3ee1fe4df9a2cdae4d0f1f45dc9d16a34cf253366cb71"
    )]
    fn unparsable(#[case] input: &str) {
        assert_eq!(
            Reference::parse(input),
            Err(format!("could not parse reference: {input}"))
        );
    }
}
