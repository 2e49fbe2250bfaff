//! Unbound variables under `not`: OPA refuses `not input.x[_]` and `not input.x[name]` (with
//! `name` bound nowhere before) at compile time (`var _ is unsafe`: a negated expression binds no
//! variable), where regorus evaluates them as "no element matches", so a policy that
//! policy-controller can never run would pass. The same refusal is made from the tokens.
//!
//! The expression of a `not` ends at a `;` or a new line at the `not`'s bracket depth (a closing
//! bracket that starts a line continues it), or where the bracket around the `not` closes. In it,
//! a `_` is refused, and so is a variable: an identifier that is not a field (after `.`), a
//! function name (before `(`, through a dotted name), a keyword or literal, and that appears
//! nowhere earlier in its rule (head included), is no rule of the module, no import and neither
//! `input` nor `data`. Both are allowed inside a comprehension opened within the expression (a
//! bracket holding a `|`), whose body binds them. The reading errs towards leaving a policy to
//! regorus: any earlier mention counts as binding, and a `|` used as set union counts as a body.

use super::source::{Kind, Token};
use super::MODULE;
use std::collections::BTreeSet;

const NOT_VARIABLES: &[&str] = &[
    "not", "with", "as", "in", "some", "every", "if", "contains", "else", "default", "true",
    "false", "null", "input", "data",
];

/// Refuses an unbound variable in a negated expression, with OPA's message. One pass: the names
/// seen so far in the current rule grow as the tokens are read (the check is linear in the
/// source, times the nesting of expressions under `not`).
pub fn check(tokens: &[Token<'_>]) -> Result<(), String> {
    let comprehension = innermost_comprehension(tokens);
    let module_names = module_names(tokens);
    let mut earlier: BTreeSet<&str> = BTreeSet::new();
    for (at, token) in tokens.iter().enumerate() {
        if token.line_start && token.depth == 0 && matches!(token.kind, Kind::Ident(_)) {
            earlier.clear();
        }
        if token.kind == Kind::Ident("not") {
            let bound = |name: &str| earlier.contains(name) || module_names.contains(name);
            if let Some((name, line)) = unbound_in(tokens, at, &comprehension, &bound) {
                return Err(format!(
                    "{MODULE}:{line}: rego_unsafe_var_error: var {name} is unsafe"
                ));
            }
        }
        if let Kind::Ident(name) = token.kind {
            earlier.insert(name);
        }
    }
    Ok(())
}

/// The first unbound variable of the expression of the `not` at `at`, and its line.
fn unbound_in<'a>(
    tokens: &[Token<'a>],
    at: usize,
    comprehension: &[Option<usize>],
    bound: &dyn Fn(&str) -> bool,
) -> Option<(&'a str, usize)> {
    let depth = tokens.get(at)?.depth;
    let mut i = at + 1;
    while let Some(token) = tokens.get(i) {
        let closer = matches!(token.kind, Kind::Punct(')' | ']' | '}'));
        if token.depth < depth
            || (token.depth == depth
                && (token.kind == Kind::Punct(';') || (token.line_start && !closer)))
        {
            return None;
        }
        let Kind::Ident(name) = token.kind else {
            i += 1;
            continue;
        };
        let after_dot = tokens.get(i - 1).map(|t| t.kind) == Some(Kind::Punct('.'));
        let local = comprehension
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|open| open > at);
        // A dotted name ending in `(` is a function: skip it whole.
        let mut end = i + 1;
        while let (Some(dot), Some(next)) = (tokens.get(end), tokens.get(end + 1)) {
            if dot.kind == Kind::Punct('.') && matches!(next.kind, Kind::Ident(_)) {
                end += 2;
            } else {
                break;
            }
        }
        let call = tokens.get(end).map(|t| t.kind) == Some(Kind::Punct('('));
        if call {
            i = end;
            continue;
        }
        let unbound = name == "_" || !(NOT_VARIABLES.contains(&name) || bound(name));
        if unbound && !after_dot && !local {
            return Some((name, token.line));
        }
        i += 1;
    }
    None
}

/// For each token, the index of the opening bracket of the innermost comprehension (a bracket
/// holding a `|` at its own level) around it.
fn innermost_comprehension(tokens: &[Token<'_>]) -> Vec<Option<usize>> {
    let mut spans = Vec::new();
    let mut open: Vec<(usize, bool)> = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token.kind {
            Kind::Punct('(' | '[' | '{') => open.push((i, false)),
            Kind::Punct('|') => {
                if let Some(top) = open.last_mut() {
                    top.1 = true;
                }
            }
            Kind::Punct(')' | ']' | '}') => {
                if let Some((start, true)) = open.pop() {
                    spans.push((start, i));
                }
            }
            _ => {}
        }
    }
    // Outer spans first, so that inner ones overwrite them.
    spans.sort_unstable();
    let mut innermost = vec![None; tokens.len()];
    for (start, end) in spans {
        for slot in innermost.get_mut(start + 1..end).unwrap_or_default() {
            *slot = Some(start);
        }
    }
    innermost
}

/// Rule names (the first identifier of a line at depth 0, the one after `default`) and every
/// identifier of an import.
fn module_names<'a>(tokens: &[Token<'a>]) -> BTreeSet<&'a str> {
    let mut names = BTreeSet::new();
    let mut in_import = false;
    for (i, token) in tokens.iter().enumerate() {
        if token.line_start && token.depth == 0 {
            in_import = token.kind == Kind::Ident("import");
            let name = if token.kind == Kind::Ident("default") {
                tokens.get(i + 1).map(|t| t.kind)
            } else {
                Some(token.kind)
            };
            if let Some(Kind::Ident(name)) = name {
                names.insert(name);
            }
        }
        if let (true, Kind::Ident(name)) = (in_import, token.kind) {
            names.insert(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rego::source::scan;
    use rstest::rstest;

    fn run(body: &str) -> Result<(), String> {
        let policy = format!(
            "package sigstore\nimport data.lib.allowed as ok\nhelper = true\nisCompliant {{\n{body}\n}}\n"
        );
        let tokens = scan(&policy).map_err(|e| e.to_string())?;
        check(&tokens)
    }

    fn unsafe_at(line: usize, name: &str) -> Result<(), String> {
        Err(format!(
            "sigstore.rego:{line}: rego_unsafe_var_error: var {name} is unsafe"
        ))
    }

    #[rstest]
    #[case::wildcard("  not input.x[_].static", unsafe_at(5, "_"))]
    #[case::wildcard_in_call("  not startswith(input.x[_], \"a\")", unsafe_at(5, "_"))]
    #[case::across_lines("  not startswith(\n    input.x[_], \"a\")", unsafe_at(6, "_"))]
    #[case::comparison("  not input.x[_] == 1", unsafe_at(5, "_"))]
    #[case::named("  not input.x[name].static", unsafe_at(5, "name"))]
    #[case::named_root("  not thing.static", unsafe_at(5, "thing"))]
    #[case::named_argument("  not startswith(s, \"a\")", unsafe_at(5, "s"))]
    #[case::bound_before("  x := input.x[_]\n  not x.static", Ok(()))]
    #[case::some_before("  some name\n  input.x[name]\n  not input.x[name].static", Ok(()))]
    #[case::rule_name("  not helper", Ok(()))]
    #[case::import_alias("  not ok", Ok(()))]
    #[case::input_and_data("  not input.ok\n  not data.sigstore.helper", Ok(()))]
    #[case::dotted_call("  not time.parse_rfc3339_ns(input.t)", Ok(()))]
    #[case::literals("  not input.x == null\n  not input.y == true", Ok(()))]
    #[case::with("  not helper with input as {}", Ok(()))]
    #[case::comprehension_body("  not count([x | x := input.x[_]]) > 0", Ok(()))]
    #[case::set_comprehension_body("  not {x | input.x[_] = x} == set()", Ok(()))]
    #[case::next_line("  not input.ok\n  input.x[_] == 1", Ok(()))]
    #[case::after_semicolon("  not input.ok; input.x[k] == 1", Ok(()))]
    #[case::inside_brackets("  y := [1 | not input.ok]; input.x[_]", Ok(()))]
    fn variables_under_not(#[case] body: &str, #[case] want: Result<(), String>) {
        assert_eq!(run(body), want);
    }

    #[test]
    fn function_arguments_are_bound() {
        let policy = "package sigstore\nf(x) {\n  not x.static\n}\nisCompliant { f(input) }\n";
        let tokens = scan(policy).map_err(|e| e.to_string());
        assert_eq!(tokens.and_then(|t| check(&t)), Ok(()));
    }
}
