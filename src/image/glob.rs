//! policy-controller's image globs. A pattern is anchored at both ends; `*` matches any run of
//! characters except `/` (so it crosses `:` and `@`), `**` matches any run including `/`, every
//! other character is literal. The exact globs `*` and `*/*` stand for Docker Hub's
//! `index.docker.io/library/*` and `index.docker.io/*/*`. Only `[a-zA-Z0-9-_:/*.@]` may appear.
//! Matching simulates the pattern as a set of positions, so it never recurses or backtracks.

/// Longest glob accepted: four times the longest image name the reference grammar allows.
pub const MAX_GLOB_BYTES: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Literal(u8),
    /// `*`: any run without `/`.
    Segment,
    /// `**`: any run.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
    /// The literal text before the first star: most subjects are rejected by it alone.
    prefix: String,
}

impl Glob {
    /// Compiles a glob; the error is the details line policy-controller prints under
    /// `invalid value: <glob>: spec.images[k].glob`.
    pub fn compile(glob: &str) -> Result<Self, String> {
        // Matching costs glob length x name length; no image name is anywhere near this long.
        if glob.len() > MAX_GLOB_BYTES {
            return Err(format!(
                "glob is invalid: longer than {MAX_GLOB_BYTES} characters"
            ));
        }
        if has_filepath_syntax_error(glob) {
            return Err("glob is invalid: syntax error in pattern".to_string());
        }
        let pattern = match glob {
            "*" => "index.docker.io/library/*",
            "*/*" => "index.docker.io/*/*",
            other => other,
        };
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-_:/*.@".contains(&b);
        if pattern.is_empty() || !pattern.bytes().all(allowed) {
            return Err(format!("glob is invalid: invalid glob {glob:?}"));
        }
        let bytes = pattern.as_bytes();
        let mut tokens = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b == b'*' {
                if bytes.get(i + 1) == Some(&b'*') {
                    tokens.push(Token::Any);
                    i += 2;
                } else {
                    tokens.push(Token::Segment);
                    i += 1;
                }
            } else {
                tokens.push(Token::Literal(b));
                i += 1;
            }
        }
        let prefix = pattern.split('*').next().unwrap_or_default().to_string();
        Ok(Glob { tokens, prefix })
    }

    /// Whether the glob's verdict on `repo@sha256:<hex>` is the same for every digest: after its
    /// last `/` it is literal text and then one star, and it has no `@`. The star then takes
    /// the whole `@sha256:<hex>` (which has no `/`) whatever the digest is, and everything else
    /// is matched within `repo`. Other globs (`repo@sha256:abc*`, `ghcr.io/org/app`, `*b*`)
    /// may depend on the digest, so an image's digest must be known before matching them.
    pub fn digest_independent(&self) -> bool {
        if self.tokens.contains(&Token::Literal(b'@')) {
            return false;
        }
        let tail_start = self
            .tokens
            .iter()
            .rposition(|t| *t == Token::Literal(b'/'))
            .map_or(0, |i| i + 1);
        let tail = self.tokens.get(tail_start..).unwrap_or_default();
        match tail.split_last() {
            Some((last, literals)) => {
                matches!(last, Token::Segment | Token::Any)
                    && literals.iter().all(|t| matches!(t, Token::Literal(_)))
            }
            None => false,
        }
    }

    /// The literal text before the first star: every subject the glob matches starts with it.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn matches(&self, subject: &str) -> bool {
        if !subject.starts_with(&self.prefix) {
            return false;
        }
        if self.prefix.len() == self.tokens.len() {
            return subject.len() == self.prefix.len();
        }
        // `<literal>**`, the commonest glob, needs no simulation.
        if self.prefix.len() + 1 == self.tokens.len() && self.tokens.last() == Some(&Token::Any) {
            return true;
        }
        // The prefix's literals (one token per byte) are matched: simulate the rest only.
        let tokens = self.tokens.get(self.prefix.len()..).unwrap_or_default();
        let rest = subject
            .as_bytes()
            .get(self.prefix.len()..)
            .unwrap_or_default();
        let n = tokens.len();
        // active[p]: the pattern has consumed its first p remaining tokens.
        let mut active = vec![false; n + 1];
        let mut next = vec![false; n + 1];
        if let Some(first) = active.first_mut() {
            *first = true;
        }
        close(tokens, &mut active);
        for &c in rest {
            next.iter_mut().for_each(|v| *v = false);
            for (p, token) in tokens.iter().enumerate() {
                if !active.get(p).copied().unwrap_or(false) {
                    continue;
                }
                let (stay, advance) = match *token {
                    Token::Literal(l) => (false, l == c),
                    Token::Segment => (c != b'/', false),
                    Token::Any => (true, false),
                };
                if stay {
                    if let Some(slot) = next.get_mut(p) {
                        *slot = true;
                    }
                }
                if advance {
                    if let Some(slot) = next.get_mut(p + 1) {
                        *slot = true;
                    }
                }
            }
            close(tokens, &mut next);
            std::mem::swap(&mut active, &mut next);
            if !active.iter().any(|&v| v) {
                return false;
            }
        }
        active.get(n).copied().unwrap_or(false)
    }
}

/// Stars may match the empty string: a state before a star also reaches the state after it.
fn close(tokens: &[Token], states: &mut [bool]) {
    for (p, token) in tokens.iter().enumerate() {
        if matches!(token, Token::Segment | Token::Any) && states.get(p).copied() == Some(true) {
            if let Some(slot) = states.get_mut(p + 1) {
                *slot = true;
            }
        }
    }
}

/// Go's `filepath.Match(glob, "")` reports `ErrBadPattern` for an unterminated or malformed
/// character class or a trailing backslash; policy-controller runs it as a syntax pre-check.
fn has_filepath_syntax_error(glob: &str) -> bool {
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.next().is_none() => return true,
            '[' => {
                if chars.peek() == Some(&'^') {
                    chars.next();
                }
                let mut first = true;
                loop {
                    match chars.next() {
                        None => return true,
                        Some(']') if !first => break,
                        Some('\\') => {
                            if chars.next().is_none() {
                                return true;
                            }
                        }
                        Some('-') if first => return true,
                        Some(_) => {
                            if chars.peek() == Some(&'-') {
                                chars.next();
                                match chars.next() {
                                    None | Some(']') => return true,
                                    Some('\\') if chars.next().is_none() => return true,
                                    _ => {}
                                }
                            }
                        }
                    }
                    first = false;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    const D: &str = "@sha256:d845da1645d514a0ddf3ee1fe4df9a2cdae4d0f1f45dc9d16a34cf253366cb71";

    #[rstest]
    #[case::double_star_hub("index.docker.io/knabben/**", "index.docker.io/knabben/netshoot", true)]
    #[case::double_star_other_user(
        "index.docker.io/knabben/**",
        "index.docker.io/nicolaka/netshoot",
        false
    )]
    #[case::single_star_crosses_at("ghcr.io/foo/*", "ghcr.io/foo/bar", true)]
    #[case::single_star_not_slash("ghcr.io/foo/*", "ghcr.io/foo/bar/baz", false)]
    #[case::double_star_slash("ghcr.io/foo/**", "ghcr.io/foo/bar/baz", true)]
    #[case::no_wildcard_never_matches_digest("ghcr.io/org/app", "ghcr.io/org/app", false)]
    #[case::suffix_star("ghcr.io/org/app*", "ghcr.io/org/app", true)]
    #[case::suffix_star_evil("ghcr.io/org/app*", "ghcr.io/org/app-evil", true)]
    #[case::suffix_double_star("ghcr.io/org/app**", "ghcr.io/org/app", true)]
    #[case::tag_glob_never("ghcr.io/org/app:v1", "ghcr.io/org/app", false)]
    #[case::tag_star_never("ghcr.io/org/app:*", "ghcr.io/org/app", false)]
    #[case::tag_double_star_never("ghcr.io/org/app:**", "ghcr.io/org/app", false)]
    #[case::hostless_never("nginx*", "index.docker.io/library/nginx", false)]
    #[case::hostless_plain_never("busybox", "index.docker.io/library/busybox", false)]
    #[case::star_is_hub_library("*", "index.docker.io/library/nginx", true)]
    #[case::star_not_other_registry("*", "ghcr.io/nginx", false)]
    #[case::star_not_hub_user("*", "index.docker.io/knabben/netshoot", false)]
    #[case::star_star_hub_user("*/*", "index.docker.io/knabben/netshoot", true)]
    #[case::star_star_not_library_alias("*/*", "ghcr.io/knabben/netshoot", false)]
    #[case::dot_is_literal("ghcr.io/a.b/*", "ghcr.io/aXb/c", false)]
    #[case::anchored_start(
        "*.trusted.example.com/myorg/*",
        "attacker.example.com/x.trusted.example.com/myorg/evil",
        false
    )]
    #[case::anchored_host_star(
        "*.trusted.example.com/myorg/*",
        "reg.trusted.example.com/myorg/app",
        true
    )]
    #[case::triple_star("ghcr.io/***", "ghcr.io/a/b", true)]
    #[case::everything("**", "ghcr.io/a/b", true)]
    #[case::port("127.0.0.1:5000/knabben/**", "127.0.0.1:5000/knabben/netshoot", true)]
    #[case::mid_star("ghcr.io/*/app", "ghcr.io/org/app", false)]
    fn matches_digest_names(#[case] glob: &str, #[case] name: &str, #[case] expected: bool) {
        let compiled = Glob::compile(glob).unwrap();
        assert_eq!(
            compiled.matches(&format!("{name}{D}")),
            expected,
            "{glob} vs {name}"
        );
    }

    #[rstest]
    #[case::exact_digest(
        "ghcr.io/foo@sha256:d845da1645d514a0ddf3ee1fe4df9a2cdae4d0f1f45dc9d16a34cf253366cb71",
        "ghcr.io/foo"
    )]
    fn exact_digest_glob(#[case] glob: &str, #[case] name: &str) {
        assert!(Glob::compile(glob).unwrap().matches(&format!("{name}{D}")));
    }

    #[rstest]
    #[case::question("ghcr.io/a?", "glob is invalid: invalid glob \"ghcr.io/a?\"")]
    #[case::class("ghcr.io/[ab]", "glob is invalid: invalid glob \"ghcr.io/[ab]\"")]
    #[case::open_class("[", "glob is invalid: syntax error in pattern")]
    #[case::braces("ghcr.io/{a,b}", "glob is invalid: invalid glob \"ghcr.io/{a,b}\"")]
    #[case::plus("ghcr.io/a+", "glob is invalid: invalid glob \"ghcr.io/a+\"")]
    #[case::space("ghcr.io/a b", "glob is invalid: invalid glob \"ghcr.io/a b\"")]
    #[case::trailing_backslash("ghcr.io\\", "glob is invalid: syntax error in pattern")]
    fn invalid(#[case] glob: &str, #[case] message: &str) {
        assert_eq!(Glob::compile(glob), Err(message.to_string()));
    }

    /// The simulation (which skips the literal prefix) agrees with plain backtracking on every
    /// glob and name built from a few pieces.
    #[test]
    fn simulation_agrees_with_backtracking() {
        fn backtrack(p: &[u8], s: &[u8]) -> bool {
            match p {
                [] => s.is_empty(),
                [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| backtrack(rest, &s[i..])),
                [b'*', rest @ ..] => (0..=s.len())
                    .take_while(|&i| i == 0 || s[i - 1] != b'/')
                    .any(|i| backtrack(rest, &s[i..])),
                [c, rest @ ..] => s.first() == Some(c) && backtrack(rest, &s[1..]),
            }
        }
        fn words(pieces: &[&str], max: usize) -> Vec<String> {
            let mut all = vec![String::new()];
            let mut last = vec![String::new()];
            for _ in 0..max {
                last = last
                    .iter()
                    .flat_map(|w| pieces.iter().map(move |p| format!("{w}{p}")))
                    .collect();
                all.extend(last.iter().cloned());
            }
            all
        }
        let names = words(&["a", "/", "b", "@", "ab"], 4);
        for tail in words(&["a", "/", "*", "**", "b@"], 4) {
            let glob = format!("r/{tail}");
            let compiled = Glob::compile(&glob).unwrap();
            for name in &names {
                let name = format!("r/{name}");
                assert_eq!(
                    compiled.matches(&name),
                    backtrack(glob.as_bytes(), name.as_bytes()),
                    "{glob} {name}"
                );
            }
        }
    }

    #[test]
    fn long_globs_are_refused() {
        let at_limit = format!("ghcr.io/{}", "a*".repeat((MAX_GLOB_BYTES - 8) / 2));
        assert_eq!(at_limit.len(), MAX_GLOB_BYTES);
        assert!(Glob::compile(&at_limit).is_ok());
        assert_eq!(
            Glob::compile(&format!("{at_limit}b")),
            Err("glob is invalid: longer than 2048 characters".to_string())
        );
    }

    /// A glob called digest-independent gives the same verdict for every digest; the others are
    /// the ones whose verdict can be seen to change with it.
    #[rstest]
    #[case::any_tail("ghcr.io/org/**", true)]
    #[case::segment_tail("ghcr.io/org/*", true)]
    #[case::literal_then_star("ghcr.io/org/app*", true)]
    #[case::everything("**", true)]
    #[case::hub_library("*", true)]
    #[case::hub_user("*/*", true)]
    #[case::deep_any("**/app*", true)]
    #[case::exact_name("ghcr.io/org/app", false)]
    #[case::digest_literal("ghcr.io/org/app@sha256:d8*", false)]
    #[case::star_in_tail("ghcr.io/org/*b*", false)]
    #[case::literal_after_star("ghcr.io/org/*5", false)]
    fn digest_independence(#[case] glob: &str, #[case] independent: bool) {
        let g = &Glob::compile(glob).unwrap();
        assert_eq!(g.digest_independent(), independent, "{glob}");
        let digests = [
            format!("@sha256:{}", "0".repeat(64)),
            format!("@sha256:{}", "5".repeat(64)),
            format!("@sha256:d8{}", "b".repeat(62)),
        ];
        let verdicts: Vec<bool> = [
            "ghcr.io/org/app",
            "index.docker.io/library/app",
            "ghcr.io/org/x/app",
        ]
        .iter()
        .flat_map(|repo| {
            digests
                .iter()
                .map(move |d| g.matches(&format!("{repo}{d}")))
        })
        .collect();
        if independent {
            for chunk in verdicts.chunks(digests.len()) {
                assert!(chunk.iter().all(|v| *v == chunk[0]), "{glob}: {verdicts:?}");
            }
        } else if glob != "ghcr.io/org/app" {
            assert!(
                verdicts
                    .chunks(digests.len())
                    .any(|c| c.iter().any(|v| *v != c[0])),
                "{glob} should be seen to depend on the digest: {verdicts:?}"
            );
        }
    }
}
