//! OPA's deprecated builtins `any`, `all`, `re_match` and `set_diff`, which regorus lacks: cosign
//! reads a module as Rego v0, where OPA still runs them, so a v0 policy using them must not fail
//! here on "could not find function". A module that opts in to v1 (`import rego.v1`) does not get
//! them: OPA refuses them at compile time there, and regorus then reports an unknown function.
//!
//! OPA's builtin errors are not strict in cosign (the call is undefined), so a wrong argument type
//! or a pattern that does not compile gives `Undefined` rather than an error.

use super::source::{Kind, Token};
use regorus::{Engine, Value};
use std::collections::BTreeSet;

/// Patterns as regorus bounds its own `regex.match` (the compiled automaton's size).
const REGEX_SIZE_LIMIT: usize = 100 * 1024;

type Builtin = fn(&[Value]) -> Value;

const DEPRECATED: &[(&str, u8, Builtin)] = &[
    ("any", 1, any),
    ("all", 1, all),
    ("re_match", 2, re_match),
    ("set_diff", 2, set_diff),
];

/// Registers the deprecated builtins unless the module opts in to v1.
pub fn install(engine: &mut Engine, tokens: &[Token<'_>]) -> Result<(), String> {
    if opts_in_to_v1(tokens) {
        return Ok(());
    }
    for &(name, nargs, builtin) in DEPRECATED {
        engine
            .add_extension(
                name.to_string(),
                nargs,
                Box::new(move |args: Vec<Value>| -> anyhow::Result<Value> { Ok(builtin(&args)) }),
            )
            .map_err(|e| format!("internal error: cannot register {name}: {e}"))?;
    }
    Ok(())
}

/// `import rego.v1` at the start of a line.
fn opts_in_to_v1(tokens: &[Token<'_>]) -> bool {
    tokens.windows(4).any(|w| {
        matches!(
            w,
            [t, r, dot, v]
                if t.line_start
                    && t.kind == Kind::Ident("import")
                    && r.kind == Kind::Ident("rego")
                    && dot.kind == Kind::Punct('.')
                    && v.kind == Kind::Ident("v1")
        )
    })
}

/// The elements of an array or a set.
fn elements(value: Option<&Value>) -> Option<Vec<&Value>> {
    match value? {
        Value::Array(a) => Some(a.iter().collect()),
        Value::Set(s) => Some(s.iter().collect()),
        _ => None,
    }
}

fn any(args: &[Value]) -> Value {
    match elements(args.first()) {
        Some(items) => Value::from(items.iter().any(|v| **v == Value::Bool(true))),
        None => Value::Undefined,
    }
}

fn all(args: &[Value]) -> Value {
    match elements(args.first()) {
        Some(items) => Value::from(items.iter().all(|v| **v == Value::Bool(true))),
        None => Value::Undefined,
    }
}

fn re_match(args: &[Value]) -> Value {
    let (Some(Value::String(pattern)), Some(Value::String(text))) = (args.first(), args.get(1))
    else {
        return Value::Undefined;
    };
    match regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
    {
        Ok(re) => Value::from(re.is_match(text)),
        Err(_) => Value::Undefined,
    }
}

fn set_diff(args: &[Value]) -> Value {
    let (Some(Value::Set(a)), Some(Value::Set(b))) = (args.first(), args.get(1)) else {
        return Value::Undefined;
    };
    let difference: BTreeSet<Value> = a.iter().filter(|v| !b.contains(v)).cloned().collect();
    Value::from(difference)
}

#[cfg(test)]
mod tests {
    use crate::rego::compile;
    use rstest::rstest;
    use serde_json::json;

    const NOT: &str = "policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'";

    fn run(body: &str) -> Result<(), String> {
        let policy =
            format!("package sigstore\ndefault isCompliant = false\nisCompliant {{\n{body}\n}}\n");
        let program = compile(&policy)?;
        program
            .evaluate(&json!({"a": [true, false], "s": "e2e test"}))
            .map_err(|f| f.to_string())
    }

    #[rstest]
    #[case::any_true("  any(input.a)", Ok(()))]
    #[case::any_empty("  not any([])", Ok(()))]
    #[case::any_set("  any({false, true})", Ok(()))]
    #[case::all_false("  not all(input.a)", Ok(()))]
    #[case::all_empty("  all(set())", Ok(()))]
    #[case::all_not_a_collection("  all(input.s)", Err(NOT.to_string()))]
    #[case::re_match("  re_match(`^e2e`, input.s)", Ok(()))]
    #[case::re_match_no("  not re_match(`^test`, input.s)", Ok(()))]
    #[case::re_match_bad_pattern("  re_match(`(`, input.s)", Err(NOT.to_string()))]
    #[case::set_diff("  set_diff({1, 2, 3}, {2}) == {1, 3}", Ok(()))]
    fn deprecated_in_v0(#[case] body: &str, #[case] want: Result<(), String>) {
        assert_eq!(run(body), want);
    }

    #[test]
    fn not_in_v1() {
        let policy = "package sigstore\nimport rego.v1\nisCompliant if any([true])\n";
        let error = compile(policy)
            .and_then(|p| p.evaluate(&json!({})).map_err(|f| f.to_string()))
            .err();
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("could not find function any")),
            "{error:?}"
        );
    }
}
