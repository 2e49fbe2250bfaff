//! Wildcards under `not`: OPA refuses `not input.x[_]` at compile time (`var _ is unsafe`: a
//! negated expression binds no variable), where regorus evaluates it as "no element matches" and
//! a policy that policy-controller can never run would pass. The same refusal is made from the
//! tokens: a `_` between a `not` and the end of its expression is refused, unless it sits in a
//! comprehension's body (after a `|` inside a bracket opened within the expression), which binds
//! it. The expression ends at a `;` or a new line at the `not`'s bracket depth (a closing bracket
//! that starts a line continues it), or where the bracket around the `not` closes. A `|` used as
//! set union also opens "a body" here: that errs towards leaving the policy to regorus.

use super::source::{Kind, Token};
use super::MODULE;

/// Refuses a wildcard in a negated expression, with OPA's message.
pub fn check(tokens: &[Token<'_>]) -> Result<(), String> {
    for (i, token) in tokens.iter().enumerate() {
        if token.kind != Kind::Ident("not") {
            continue;
        }
        if let Some(line) = wildcard_after(tokens.get(i + 1..).unwrap_or_default(), token.depth) {
            return Err(format!(
                "{MODULE}:{line}: rego_unsafe_var_error: var _ is unsafe"
            ));
        }
    }
    Ok(())
}

/// The line of the first unbound `_` in the expression that `rest` continues at `depth`.
fn wildcard_after(rest: &[Token<'_>], depth: usize) -> Option<usize> {
    // One entry per bracket opened inside the expression: whether a `|` was seen in it.
    let mut bodies: Vec<bool> = Vec::new();
    for token in rest {
        let closer = matches!(token.kind, Kind::Punct(')' | ']' | '}'));
        if token.depth < depth
            || (token.depth == depth
                && (token.kind == Kind::Punct(';') || (token.line_start && !closer)))
        {
            return None;
        }
        match token.kind {
            Kind::Punct('(' | '[' | '{') => bodies.push(false),
            Kind::Punct(')' | ']' | '}') => {
                bodies.pop();
            }
            Kind::Punct('|') => {
                if let Some(top) = bodies.last_mut() {
                    *top = true;
                }
            }
            Kind::Ident("_") if !bodies.iter().any(|&body| body) => return Some(token.line),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rego::source::scan;
    use rstest::rstest;

    fn run(body: &str) -> Result<(), String> {
        let policy = format!("package sigstore\nisCompliant {{\n{body}\n}}\n");
        let tokens = scan(&policy).map_err(|e| e.to_string())?;
        check(&tokens)
    }

    const UNSAFE: &str = "sigstore.rego:3: rego_unsafe_var_error: var _ is unsafe";

    #[rstest]
    #[case::index("  not input.x[_].static", Err(UNSAFE.to_string()))]
    #[case::call_argument("  not startswith(input.x[_], \"a\")", Err(UNSAFE.to_string()))]
    #[case::across_lines("  not startswith(\n    input.x[_], \"a\")", Err("sigstore.rego:4: rego_unsafe_var_error: var _ is unsafe".to_string()))]
    #[case::comparison("  not input.x[_] == 1", Err(UNSAFE.to_string()))]
    #[case::comprehension_head("  not [x[_] | x := input.a[i]]", Err(UNSAFE.to_string()))]
    #[case::comprehension_body("  not count([x | x := input.x[_]]) > 0", Ok(()))]
    #[case::set_comprehension_body("  not {x | input.x[_] = x} == set()", Ok(()))]
    #[case::next_line("  not input.ok\n  input.x[_] == 1", Ok(()))]
    #[case::after_semicolon("  not input.ok; input.x[_] == 1", Ok(()))]
    #[case::bound_before("  x := input.x[_]\n  not x.static", Ok(()))]
    #[case::helper_rule("  not any_static", Ok(()))]
    #[case::inside_brackets("  y := [1 | not input.ok]; input.x[_]", Ok(()))]
    fn wildcards_under_not(#[case] body: &str, #[case] want: Result<(), String>) {
        assert_eq!(run(body), want);
    }
}
