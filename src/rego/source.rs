//! A token scan of a Rego module that runs before regorus parses it: regorus's parser and
//! interpreter recurse once per nesting level, and the guest's stack is small, so the byte size
//! and the bracket nesting are bounded here, where the answer is a located error rather than a
//! trap. The tokens also feed the rule dependency check (`rules.rs`).
//!
//! Only what those two checks need is recognised: identifiers, one-character punctuation, and
//! strings, raw strings, numbers and comments skipped as units (brackets inside them do not count).

use super::limits::{MAX_NESTING, MAX_SOURCE_BYTES};
use super::MODULE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind<'a> {
    Ident(&'a str),
    Punct(char),
    /// A string, raw string or number.
    Literal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    pub kind: Kind<'a>,
    /// Brackets open around the token (a bracket itself counts as outside what it encloses).
    pub depth: usize,
    /// The first token of its line.
    pub line_start: bool,
    /// Its line, from 1.
    pub line: usize,
}

/// Checks the size and the nesting of `source` and returns its tokens.
pub fn scan(source: &str) -> Result<Vec<Token<'_>>, String> {
    if source.len() > MAX_SOURCE_BYTES {
        return Err(format!(
            "{MODULE}: the policy is {} bytes, over the budget of {MAX_SOURCE_BYTES} bytes",
            source.len()
        ));
    }
    let bytes = source.as_bytes();
    let mut tokens = Vec::new();
    let mut depth = 0usize;
    let mut line = 1usize;
    let mut line_begin = 0usize;
    let mut line_start = true;
    // regorus parses `- - - 1` by recursion too: a run of minus signs counts as nesting.
    let mut minus_run = 0usize;
    let mut i = 0usize;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let start_line = line;
        i += 1;
        let kind = match b {
            b'\n' => {
                line += 1;
                line_begin = i;
                line_start = true;
                continue;
            }
            b' ' | b'\t' | b'\r' => continue,
            b'#' => {
                while bytes.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                // An unterminated string ends at the line's end; the parser reports it.
                while let Some(&c) = bytes.get(i) {
                    match c {
                        b'\\' => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' => break,
                        _ => i += 1,
                    }
                }
                Kind::Literal
            }
            b'`' => {
                while let Some(&c) = bytes.get(i) {
                    i += 1;
                    if c == b'`' {
                        break;
                    }
                    if c == b'\n' {
                        line += 1;
                        line_begin = i;
                    }
                }
                Kind::Literal
            }
            b'0'..=b'9' => {
                while let Some(&c) = bytes.get(i) {
                    let exponent_sign = (c == b'+' || c == b'-')
                        && matches!(bytes.get(i.wrapping_sub(1)), Some(b'e' | b'E'));
                    if c.is_ascii_alphanumeric() || c == b'.' || exponent_sign {
                        i += 1;
                    } else {
                        break;
                    }
                }
                Kind::Literal
            }
            c if c == b'_' || c.is_ascii_alphabetic() => {
                while bytes
                    .get(i)
                    .is_some_and(|&c| c == b'_' || c.is_ascii_alphanumeric())
                {
                    i += 1;
                }
                Kind::Ident(source.get(start..i).unwrap_or_default())
            }
            b'(' | b'[' | b'{' => {
                if depth >= MAX_NESTING {
                    return Err(format!(
                        "{MODULE}:{line}:{}: brackets nested deeper than the budget of {MAX_NESTING} levels",
                        column(source, line_begin, start)
                    ));
                }
                tokens.push(Token {
                    kind: Kind::Punct(char::from(b)),
                    depth,
                    line_start,
                    line: start_line,
                });
                line_start = false;
                depth += 1;
                continue;
            }
            b')' | b']' | b'}' => {
                // Unbalanced closers are the parser's to report.
                depth = depth.saturating_sub(1);
                Kind::Punct(char::from(b))
            }
            b'-' => {
                minus_run += 1;
                if depth + minus_run > MAX_NESTING {
                    return Err(format!(
                        "{MODULE}:{line}:{}: minus signs nested deeper than the budget of {MAX_NESTING} levels",
                        column(source, line_begin, start)
                    ));
                }
                tokens.push(Token {
                    kind: Kind::Punct('-'),
                    depth,
                    line_start,
                    line: start_line,
                });
                line_start = false;
                continue;
            }
            c if c.is_ascii() => Kind::Punct(char::from(c)),
            // Non-ASCII text outside strings and comments is a syntax error for the parser.
            _ => Kind::Literal,
        };
        minus_run = 0;
        tokens.push(Token {
            kind,
            depth,
            line_start,
            line: start_line,
        });
        line_start = false;
    }
    Ok(tokens)
}

/// 1-based column in characters, as regorus counts them.
fn column(source: &str, line_begin: usize, at: usize) -> usize {
    source
        .get(line_begin..at)
        .map_or(at.saturating_sub(line_begin), |s| s.chars().count())
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(source: &str) -> Vec<&str> {
        scan(source)
            .unwrap()
            .into_iter()
            .filter_map(|t| match t.kind {
                Kind::Ident(s) => Some(s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        let deep = "[".repeat(MAX_NESTING * 2);
        let source =
            format!("package sigstore\n# {deep}\nx = \"{deep}\\\"{deep}\"\ny = `{deep}\n{deep}`\n");
        assert_eq!(idents(&source), ["package", "sigstore", "x", "y"]);
    }

    #[test]
    fn nesting_at_the_budget_passes() {
        let source = format!(
            "package sigstore\nx = {}1{}",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        assert!(scan(&source).is_ok());
    }

    #[test]
    fn nesting_over_the_budget_is_located() {
        let source = format!(
            "package sigstore\nx = {}1{}",
            "[({".repeat(2_000),
            "})]".repeat(2_000)
        );
        assert_eq!(
            scan(&source),
            Err(format!(
                "sigstore.rego:2:{}: brackets nested deeper than the budget of {MAX_NESTING} levels",
                5 + MAX_NESTING
            ))
        );
    }

    #[test]
    fn minus_signs_count_as_nesting() {
        let ok = format!("package sigstore\nx = {}1", "- ".repeat(MAX_NESTING));
        assert!(scan(&ok).is_ok());
        let source = format!("package sigstore\nx = {}1", "- ".repeat(5_000));
        assert_eq!(
            scan(&source),
            Err(format!(
                "sigstore.rego:2:{}: minus signs nested deeper than the budget of {MAX_NESTING} levels",
                5 + 2 * MAX_NESTING
            ))
        );
    }

    #[test]
    fn size_over_the_budget() {
        let source = format!("package sigstore\n#{}", "x".repeat(MAX_SOURCE_BYTES));
        assert_eq!(
            scan(&source),
            Err(format!(
                "sigstore.rego: the policy is {} bytes, over the budget of {MAX_SOURCE_BYTES} bytes",
                source.len()
            ))
        );
    }

    #[test]
    fn depth_and_line_starts() {
        let tokens = scan("p {\n  q[1e-3]\n}").unwrap();
        let summary: Vec<_> = tokens
            .iter()
            .map(|t| (t.kind, t.depth, t.line_start))
            .collect();
        assert_eq!(
            summary,
            [
                (Kind::Ident("p"), 0, true),
                (Kind::Punct('{'), 0, false),
                (Kind::Ident("q"), 1, true),
                (Kind::Punct('['), 1, false),
                (Kind::Literal, 2, false),
                (Kind::Punct(']'), 1, false),
                (Kind::Punct('}'), 0, true),
            ]
        );
    }
}
