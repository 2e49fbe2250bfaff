//! Identity regular expressions are Go RE2 (`regexp.MatchString`, unanchored). Rust's `regex`
//! accepts the same syntax; errors are reworded the way Go prints them
//! (`error parsing regexp: <reason>: `<fragment>``), since users see them in settings errors.

use regex::Regex;
use regex_syntax::ast::{parse::Parser, ErrorKind};

/// Patterns are compiled once at settings time; this bounds what a hostile pattern may cost.
const SIZE_LIMIT: usize = 1 << 20;

pub fn compile(pattern: &str) -> Result<Regex, String> {
    if let Err(e) = Parser::new().parse(pattern) {
        let start = e.span().start.offset;
        let end = e.span().end.offset.max(start + 1);
        let fragment = pattern
            .get(start..end)
            .or_else(|| pattern.get(start..))
            .unwrap_or(pattern);
        let reason = match e.kind() {
            ErrorKind::RepetitionMissing => "missing argument to repetition operator",
            ErrorKind::GroupUnclosed => "missing closing )",
            ErrorKind::GroupUnopened => "unexpected )",
            ErrorKind::ClassUnclosed => "missing closing ]",
            ErrorKind::ClassRangeInvalid => "invalid character class range",
            ErrorKind::EscapeUnrecognized | ErrorKind::EscapeHexInvalid => {
                "invalid escape sequence"
            }
            ErrorKind::EscapeUnexpectedEof => "trailing backslash at end of expression",
            ErrorKind::RepetitionCountInvalid | ErrorKind::RepetitionCountUnclosed => {
                "invalid repeat count"
            }
            ErrorKind::FlagUnrecognized | ErrorKind::GroupNameInvalid => {
                "invalid or unsupported Perl syntax"
            }
            ErrorKind::UnsupportedLookAround | ErrorKind::UnsupportedBackreference => {
                "invalid or unsupported Perl syntax"
            }
            _ => return Err(format!("error parsing regexp: {}", e.kind())),
        };
        let fragment = if matches!(
            e.kind(),
            ErrorKind::GroupUnclosed | ErrorKind::ClassUnclosed
        ) {
            pattern
        } else {
            fragment
        };
        return Err(format!("error parsing regexp: {reason}: `{fragment}`"));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(SIZE_LIMIT)
        .build()
        .map_err(|e| format!("error parsing regexp: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case::stars(
        "****",
        "error parsing regexp: missing argument to repetition operator: `*`"
    )]
    #[case::unclosed_group("(abc", "error parsing regexp: missing closing ): `(abc`")]
    #[case::unopened_group("abc)", "error parsing regexp: unexpected ): `)`")]
    #[case::unclosed_class("[abc", "error parsing regexp: missing closing ]: `[abc`")]
    fn go_messages(#[case] pattern: &str, #[case] message: &str) {
        assert_eq!(compile(pattern).unwrap_err(), message);
    }

    #[test]
    fn unanchored_like_go() {
        let re = compile("@example\\.com").unwrap();
        assert!(re.is_match("me@example.com"));
        assert!(re.is_match("me@example.com.evil.org"));
    }
}
