//! Rego attestation policies, evaluated with regorus as cosign's `ValidateJSONWithModuleInput`
//! evaluates them with OPA: the module is `sigstore.rego`, it must declare `package sigstore`, it
//! is read in Rego v0 syntax (`import rego.v1` opts a module in to v1), `input` is the document and
//! the query is `isCompliant = data.sigstore.isCompliant`.
//!
//! `compile` parses and prepares the module once (at settings time): a policy that does not parse,
//! names another package, or does not compile (unsafe variables, unknown functions) is a settings
//! error. `Program::evaluate` clones the prepared engine, sets the input and interprets the value
//! of `data.sigstore.isCompliant`:
//! * `true` passes; `false`, undefined and any other scalar or object fail with
//!   `policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'`;
//! * a set or array of `{result, error, warning}` objects passes when an element has
//!   `result: true` (a non-empty `warning` on it is a failure, `warning: <warning>`, as
//!   policy-controller treats any warning); otherwise it fails with the last element's `error`;
//!   an empty collection fails with the query in double quotes (cosign's `%q`).
//!
//! Differences from OPA: builtin errors are not strict (as OPA's default: the expression is
//! undefined); regorus orders set elements by its own value order, so "the last false element" of
//! a set of objects may differ from OPA's when several elements fail with different errors; a set
//! element that is not an object fails (OPA's evaluation panics in cosign). Where regorus differs
//! from OPA, the gap is closed here: `rule_result.rs` decodes each `{result, error, warning}`
//! element as cosign's Go code does, `negation.rs` refuses unbound variables under `not` as OPA's
//! compiler does, `deprecated.rs` adds OPA's deprecated builtins to v0 modules and `crypto.rs`
//! adds `crypto.sha256`. OPA's type checker has no counterpart: a mistyped builtin call is
//! undefined here (not compliant) where OPA refuses it at compile time. The cases of
//! `test_data/rego` are compared with real OPA by `tests/opa-real/agree.py`.
//!
//! A policy must never take the guest down: `limits.rs` lists the budgets. Before regorus sees
//! the source, `source.rs` bounds its size and bracket nesting and `rules.rs` refuses recursion
//! and long rule chains (regorus would overflow the stack on them); at evaluation, regorus's
//! timer bounds the time between work units and `builtins.rs` bounds what one builtin call may
//! build. regorus has no memory budget without its mimalloc allocator, so the host's limits stay
//! the last resort for what these budgets do not cover (see `builtins.rs`).

mod builtins;
#[cfg(test)]
mod cases;
mod crypto;
mod deprecated;
pub mod limits;
mod negation;
mod rule_result;
mod rules;
mod source;

use limits::{CHECK_INTERVAL, MAX_BUILTIN_BYTES};
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::Engine;
use serde_json::Value;
use std::fmt;

pub use limits::TIME_LIMIT;

/// The module name cosign gives the policy.
pub const MODULE: &str = "sigstore.rego";
/// The query cosign evaluates, as its messages spell it.
pub const QUERY: &str = "isCompliant = data.sigstore.isCompliant";
const RULE: &str = "data.sigstore.isCompliant";
const PACKAGE: &str = "data.sigstore";

/// A compiled `package sigstore` module, ready to evaluate against many documents.
#[derive(Debug, Clone)]
pub struct Program {
    /// Boxed: a prepared engine is about 700 bytes, and programs sit in settings enums.
    engine: Box<Engine>,
}

/// Why a document does not satisfy a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The policy is not compliant, or could not be evaluated: cosign's error text (without the
    /// `failed evaluating rego policy for type <name>: ` prefix).
    NotCompliant(String),
    /// A compliant result that carries a warning: policy-controller fails the attestation with
    /// `warning: <warning>`.
    Warning(String),
}

impl Failure {
    /// The message policy-controller reports for attestation (or CIP) `name`.
    pub fn message(&self, name: &str) -> String {
        match self {
            Failure::NotCompliant(e) => {
                format!("failed evaluating rego policy for type {name}: {e}")
            }
            Failure::Warning(w) => format!("warning: {w}"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NotCompliant(e) => f.write_str(e),
            Failure::Warning(w) => write!(f, "warning: {w}"),
        }
    }
}

/// Parses and prepares `policy`; `Err` is the error text (cosign's compile errors come from OPA,
/// ours from regorus).
pub fn compile(policy: &str) -> Result<Program, String> {
    let tokens = source::scan(policy)?;
    rules::check(&tokens).map_err(|e| format!("{MODULE}: {e}"))?;
    negation::check(&tokens)?;
    builtins::refuse_unbounded(&tokens).map_err(|e| format!("{MODULE}: {e}"))?;
    let mut engine = Engine::new();
    builtins::install(&mut engine)?;
    deprecated::install(&mut engine, &tokens)?;
    crypto::install(&mut engine)?;
    engine.set_rego_v0(true);
    engine.set_strict_builtin_errors(false);
    engine.set_execution_timer_config(ExecutionTimerConfig {
        limit: TIME_LIMIT,
        check_interval: CHECK_INTERVAL,
    });
    let package = engine
        .add_policy(MODULE.to_string(), policy.to_string())
        .map_err(|e| render(&e))?;
    if package != PACKAGE {
        return Err(format!(
            "{MODULE}: the policy must declare `package sigstore` (it declares `package {}`)",
            package.strip_prefix("data.").unwrap_or(&package)
        ));
    }
    // A trivial query runs regorus's analysis (rule scheduling, function and import resolution)
    // now, so compile errors surface in the settings and clones start prepared.
    engine
        .eval_query("true".to_string(), false)
        .map_err(|e| render(&e))?;
    Ok(Program {
        engine: Box::new(engine),
    })
}

impl Program {
    /// Evaluates the policy with `input` as the input document.
    pub fn evaluate(&self, input: &Value) -> Result<(), Failure> {
        let mut engine = Engine::clone(&self.engine);
        engine.set_input(regorus::Value::from(input.clone()));
        let results = engine
            .eval_query(RULE.to_string(), false)
            .map_err(|e| Failure::NotCompliant(render(&e)))?;
        let value = results
            .result
            .first()
            .and_then(|r| r.expressions.first())
            .map(|e| &e.value);
        match value {
            Some(v) => interpret(v),
            None => Err(not_compliant()),
        }
    }
}

/// regorus reports a located error as `\n--> file:line:col\n<source excerpt>\nerror: <message>`;
/// messages have it on one line, as OPA's `file:line: <message>`.
fn render(error: &dyn fmt::Display) -> String {
    let text = error.to_string();
    let text = text.trim();
    let location = text.lines().next().and_then(|l| l.strip_prefix("--> "));
    let message = text.lines().last().and_then(|l| l.strip_prefix("error: "));
    match (location, message) {
        (Some(at), Some(message)) => format!("{at}: {message}"),
        _ => text.to_string(),
    }
}

fn not_compliant() -> Failure {
    Failure::NotCompliant(format!("policy is not compliant for query '{QUERY}'"))
}

/// cosign's reading of the bound `isCompliant`.
fn interpret(value: &regorus::Value) -> Result<(), Failure> {
    match value {
        regorus::Value::Bool(true) => Ok(()),
        regorus::Value::Set(_) | regorus::Value::Array(_) => {
            // Elements may share subtrees: measure before building the document.
            builtins::json_size(value, MAX_BUILTIN_BYTES).map_err(|e| {
                Failure::NotCompliant(format!(
                    "policy is not compliant for query '{QUERY}': isCompliant: {e}"
                ))
            })?;
            let json = serde_json::to_value(value).map_err(|e| {
                Failure::NotCompliant(format!("policy is not compliant for query '{QUERY}': {e}"))
            })?;
            let elements = match json {
                Value::Array(elements) => elements,
                _ => Vec::new(),
            };
            collection(&elements)
        }
        _ => Err(not_compliant()),
    }
}

/// A set or array of `{result, error, warning}` objects (cosign's `evaluateRegoEvalMapResult`).
fn collection(elements: &[Value]) -> Result<(), Failure> {
    let mut failure = Failure::NotCompliant(format!("policy is not compliant for query {QUERY:?}"));
    for element in elements {
        let Value::Object(fields) = element else {
            return Err(not_compliant());
        };
        let decoded = rule_result::decode(fields).map_err(|e| {
            Failure::NotCompliant(format!(
                "policy is not compliant for query '{QUERY}' due to parsing errors: {e}"
            ))
        })?;
        if decoded.result {
            return if decoded.warning.is_empty() {
                Ok(())
            } else {
                Err(Failure::Warning(decoded.warning))
            };
        }
        failure = Failure::NotCompliant(format!(
            "policy is not compliant for query '{QUERY}' with errors: {}",
            decoded.error
        ));
    }
    Err(failure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    const NOT: &str = "policy is not compliant for query 'isCompliant = data.sigstore.isCompliant'";

    fn statement(data: &str) -> Value {
        json!({
            "_type": "https://in-toto.io/Statement/v0.1",
            "predicateType": "https://cosign.sigstore.dev/attestation/v1",
            "subject": [{"name": "registry.local/att/custom", "digest": {"sha256": "ab"}}],
            "predicate": {"Data": data, "Timestamp": "2024-01-01T00:00:00Z"},
        })
    }

    fn run(policy: &str, input: &Value) -> Result<(), String> {
        let program = compile(policy)?;
        program.evaluate(input).map_err(|f| f.to_string())
    }

    #[rstest]
    #[case::bool_true("package sigstore\nisCompliant = true", Ok(()))]
    #[case::bool_false("package sigstore\nisCompliant = false", Err(NOT.to_string()))]
    #[case::default_false(
        "package sigstore\ndefault isCompliant = false\nisCompliant { input.x == 1 }",
        Err(NOT.to_string())
    )]
    #[case::undefined(
        "package sigstore\nisCompliant { input.x == 1 }",
        Err(NOT.to_string())
    )]
    #[case::no_rule("package sigstore\nother = true", Err(NOT.to_string()))]
    #[case::string("package sigstore\nisCompliant = \"true\"", Err(NOT.to_string()))]
    #[case::number("package sigstore\nisCompliant = 1", Err(NOT.to_string()))]
    #[case::object(
        "package sigstore\nisCompliant = {\"result\": true}",
        Err(NOT.to_string())
    )]
    #[case::array_pass(
        "package sigstore\nisCompliant = [{\"result\": false, \"error\": \"a\"}, {\"result\": true}]",
        Ok(())
    )]
    #[case::array_last_error(
        "package sigstore\nisCompliant = [{\"result\": false, \"error\": \"a\"}, {\"result\": false, \"error\": \"b\"}]",
        Err(format!("{NOT} with errors: b"))
    )]
    #[case::array_warning(
        "package sigstore\nisCompliant = [{\"result\": true, \"warning\": \"old registry\"}]",
        Err("warning: old registry".to_string())
    )]
    #[case::array_empty_warning_passes(
        "package sigstore\nisCompliant = [{\"result\": true, \"error\": \"\", \"warning\": \"\"}]",
        Ok(())
    )]
    #[case::array_empty(
        "package sigstore\nisCompliant = []",
        Err("policy is not compliant for query \"isCompliant = data.sigstore.isCompliant\"".to_string())
    )]
    #[case::array_non_object("package sigstore\nisCompliant = [true]", Err(NOT.to_string()))]
    #[case::array_capitalised_result(
        "package sigstore\nisCompliant = [{\"Result\": true}]",
        Ok(())
    )]
    #[case::array_result_not_bool(
        "package sigstore\nisCompliant = [{\"result\": \"yes\"}]",
        Err(format!("{NOT} due to parsing errors: json: cannot unmarshal string into Go struct field CosignRuleResult.result of type bool"))
    )]
    #[case::set_pass(
        "package sigstore\nisCompliant[r] { r := {\"result\": input.predicate.Data == \"foobar e2e test\", \"error\": \"wrong data\"} }",
        Ok(())
    )]
    #[case::set_fail(
        "package sigstore\nisCompliant[r] { r := {\"result\": input.predicate.Data == \"other\", \"error\": \"wrong data\", \"warning\": \"\"} }",
        Err(format!("{NOT} with errors: wrong data"))
    )]
    #[case::set_empty(
        "package sigstore\nisCompliant[r] { input.x == 1; r := {\"result\": true} }",
        Err("policy is not compliant for query \"isCompliant = data.sigstore.isCompliant\"".to_string())
    )]
    #[case::set_warning(
        "package sigstore\nisCompliant[r] { r := {\"result\": true, \"error\": \"\", \"warning\": \"deprecated\"} }",
        Err("warning: deprecated".to_string())
    )]
    #[case::predicate_data(
        "package sigstore\ndefault isCompliant = false\nisCompliant { input.predicate.Data == \"foobar e2e test\" }",
        Ok(())
    )]
    #[case::predicate_data_other(
        "package sigstore\ndefault isCompliant = false\nisCompliant { input.predicate.Data == \"something else\" }",
        Err(NOT.to_string())
    )]
    #[case::predicate_type(
        "package sigstore\nisCompliant { input.predicateType == \"https://cosign.sigstore.dev/attestation/v1\" }",
        Ok(())
    )]
    #[case::v1_opt_in(
        "package sigstore\nimport rego.v1\ndefault isCompliant := false\nisCompliant if { input.predicate.Data == \"foobar e2e test\" }",
        Ok(())
    )]
    #[case::v1_contains(
        "package sigstore\nimport rego.v1\nisCompliant contains r if { r := {\"result\": false, \"error\": \"no\"} }",
        Err(format!("{NOT} with errors: no"))
    )]
    #[case::future_keywords_in_v0(
        "package sigstore\nimport future.keywords.in\nisCompliant { \"foobar e2e test\" in [input.predicate.Data] }",
        Ok(())
    )]
    #[case::builtin_error_is_undefined(
        "package sigstore\ndefault isCompliant = false\nisCompliant { to_number(\"x\") == 1 }",
        Err(NOT.to_string())
    )]
    #[case::strings_and_regex(
        "package sigstore\nisCompliant { startswith(input.predicate.Data, \"foo\"); regex.match(\"^foo.*test$\", input.predicate.Data); count(split(input.predicate.Data, \" \")) == 3 }",
        Ok(())
    )]
    #[case::time(
        "package sigstore\nisCompliant { time.parse_rfc3339_ns(input.predicate.Timestamp) < time.now_ns() }",
        Ok(())
    )]
    #[case::time_zone_utc(
        "package sigstore\nisCompliant { time.date([0, \"UTC\"]) == [1970, 1, 1]; time.date([0, \"Etc/GMT+1\"]) == [1969, 12, 31] }",
        Ok(())
    )]
    #[case::time_zone_filtered_out(
        "package sigstore\ndefault isCompliant = false\nisCompliant { time.date([0, \"Europe/Paris\"]) }",
        Err(NOT.to_string())
    )]
    #[case::json_and_base64(
        "package sigstore\nisCompliant { json.unmarshal(base64.decode(base64.encode(json.marshal(input.predicate)))).Data == input.predicate.Data }",
        Ok(())
    )]
    #[case::semver(
        "package sigstore\nisCompliant { semver.compare(\"1.10.0\", \"1.9.3\") == 1 }",
        Ok(())
    )]
    #[case::objects_sets_arrays(
        "package sigstore\nisCompliant { object.get(input.predicate, \"Missing\", \"d\") == \"d\"; count({1, 2} | {3}) == 3; array.concat([1], [2]) == [1, 2] }",
        Ok(())
    )]
    fn table(#[case] policy: &str, #[case] expected: Result<(), String>) {
        assert_eq!(run(policy, &statement("foobar e2e test")), expected);
    }

    /// The example of policy-controller's documentation (a partial set rule in v0 syntax).
    #[test]
    fn upstream_example() {
        let policy = r#"
package sigstore

isCompliant[response] {
  input.predicateType == "https://cosign.sigstore.dev/attestation/v1"
  msg := "Attestation data does not match"
  response := {
    "result": input.predicate.Data == "foobar e2e test",
    "error": msg,
    "warning": "",
  }
}
"#;
        assert_eq!(run(policy, &statement("foobar e2e test")), Ok(()));
        assert_eq!(
            run(policy, &statement("barfoo e2e test")),
            Err(format!(
                "{NOT} with errors: Attestation data does not match"
            ))
        );
    }

    #[rstest]
    #[case::syntax("package sigstore\nisCompliant {", "sigstore.rego:2:13: expecting }")]
    #[case::other_package(
        "package other\nisCompliant = true",
        "sigstore.rego: the policy must declare `package sigstore` (it declares `package other`)"
    )]
    #[case::no_package("isCompliant = true", "sigstore.rego:")]
    fn compile_errors(#[case] policy: &str, #[case] contains: &str) {
        let error = compile(policy).err().unwrap_or_default();
        assert!(error.contains(contains), "{error:?} lacks {contains:?}");
    }

    /// regorus resolves functions when it evaluates them: an unknown one fails every evaluation
    /// (OPA rejects the module when it compiles it).
    #[test]
    fn unknown_function() {
        let error = run(
            "package sigstore\nisCompliant { no_such_function(1) }",
            &json!({}),
        )
        .err()
        .unwrap_or_default();
        assert_eq!(
            error,
            "sigstore.rego:2:31: could not find function no_such_function"
        );
    }

    #[test]
    fn messages() {
        assert_eq!(
            Failure::NotCompliant(NOT.to_string()).message("a"),
            format!("failed evaluating rego policy for type a: {NOT}")
        );
        assert_eq!(Failure::Warning("w".to_string()).message("a"), "warning: w");
    }

    /// The time budget ends a policy that would iterate 10^10 times.
    #[test]
    fn time_budget() {
        let policy = "package sigstore\nisCompliant { numbers.range(1, 100000)[a]; numbers.range(1, 100000)[b]; a == b + 200000 }";
        let started = std::time::Instant::now();
        let error = run(policy, &json!({})).err().unwrap_or_default();
        assert!(
            started.elapsed() < TIME_LIMIT * 5,
            "{:?}",
            started.elapsed()
        );
        assert!(error.contains("time limit"), "{error}");
    }

    /// Findings of the hostile-input probe: each ends as a compile error or a failed
    /// evaluation with a message, never a trap.
    #[test]
    fn recursive_rule_is_a_compile_error() {
        assert_eq!(
            compile("package sigstore\ndefault isCompliant = false\nisCompliant { isCompliant }")
                .err(),
            Some("sigstore.rego: rego_recursion_error: rule data.sigstore.isCompliant is recursive: data.sigstore.isCompliant -> data.sigstore.isCompliant".to_string())
        );
    }

    #[test]
    fn deep_literal_is_a_compile_error() {
        let policy = format!(
            "package sigstore\nisCompliant {{ x := {}1{}; x }}",
            "[".repeat(20_000),
            "]".repeat(20_000)
        );
        assert_eq!(
            compile(&policy).err(),
            Some(format!(
                "sigstore.rego:2:{}: brackets nested deeper than the budget of {} levels",
                19 + limits::MAX_NESTING,
                limits::MAX_NESTING
            ))
        );
    }

    #[test]
    fn print_is_a_compile_error() {
        assert_eq!(
            compile("package sigstore\nisCompliant { print(input) }").err(),
            Some("sigstore.rego: print is not available: it formats values of any size and an admission webhook has nowhere to show its output; remove it".to_string())
        );
        assert!(compile("package sigstore\nisCompliant { input.print(1) }").is_ok());
    }

    #[test]
    fn graph_reachable_paths_is_a_compile_error() {
        assert_eq!(
            compile("package sigstore\nisCompliant { graph.reachable_paths({}, []) }").err(),
            Some("sigstore.rego: graph.reachable_paths is not available: the number of paths can grow exponentially with the graph".to_string())
        );
    }

    fn failure(policy: &str) -> String {
        let started = std::time::Instant::now();
        let error = run(policy, &statement("foobar e2e test"))
            .err()
            .unwrap_or_default();
        // Generous: only guards against a hang.
        assert!(
            started.elapsed() < TIME_LIMIT * 10,
            "{:?}",
            started.elapsed()
        );
        error
    }

    const OVER_ELEMENTS: &str = "over the budget of 100000";
    const OVER_BYTES: &str = "the result would be over the budget of 1048576 bytes";

    #[rstest]
    #[case::numbers_range(
        "package sigstore\nisCompliant { count(numbers.range(1, 1e9)) > 0 }",
        "sigstore.rego:2:34: numbers.range: the result would have 1000000000 elements, over the budget of 100000"
    )]
    #[case::numbers_range_step(
        "package sigstore\nisCompliant { count(numbers.range_step(0, 1e12, 2)) > 0 }",
        OVER_ELEMENTS
    )]
    #[case::strings_replace_n_doubling(
        &format!("package sigstore\nisCompliant {{\n  x0 := \"aaaaaaaaaaaaaaaa\"\n{}  count(x40) > 0\n}}", (1..=40).map(|i| format!("  x{i} := strings.replace_n({{\"a\": \"aa\"}}, x{})\n", i - 1)).collect::<String>()),
        OVER_BYTES
    )]
    #[case::replace_empty_pattern(
        &format!("package sigstore\nisCompliant {{\n  x0 := \"abcdefgh\"\n{}  count(x40) > 0\n}}", (1..=40).map(|i| format!("  x{i} := replace(x{}, \"\", \"xy\")\n", i - 1)).collect::<String>()),
        OVER_BYTES
    )]
    #[case::concat_doubling(
        &format!("package sigstore\nisCompliant {{\n  x0 := \"abcdefgh\"\n{}  count(x40) > 0\n}}", (1..=40).map(|i| format!("  x{i} := concat(\"\", [x{0}, x{0}])\n", i - 1)).collect::<String>()),
        OVER_BYTES
    )]
    #[case::array_concat_doubling(
        &format!("package sigstore\nisCompliant {{\n  x0 := [1]\n{}  count(x40) > 0\n}}", (1..=40).map(|i| format!("  x{i} := array.concat(x{0}, x{0})\n", i - 1)).collect::<String>()),
        OVER_ELEMENTS
    )]
    #[case::sprintf_doubling(
        &format!("package sigstore\nisCompliant {{\n  x0 := \"abcdefgh\"\n{}  count(x40) > 0\n}}", (1..=40).map(|i| format!("  x{i} := sprintf(\"%s%s\", [x{0}, x{0}])\n", i - 1)).collect::<String>()),
        OVER_BYTES
    )]
    #[case::sprintf_width(
        "package sigstore\nisCompliant { count(sprintf(\"%999999999d\", [1])) > 0 }",
        OVER_BYTES
    )]
    #[case::regex_replace_doubling(
        &format!("package sigstore\nisCompliant {{\n  x0 := \"abcdefgh\"\n{}  count(x40) > 0\n}}", (1..=40).map(|i| format!("  x{i} := regex.replace(x{}, \"(.+)\", \"$1$1\")\n", i - 1)).collect::<String>()),
        OVER_BYTES
    )]
    #[case::hex_encode_doubling(
        &format!("package sigstore\nisCompliant {{\n  x0 := \"abcdefgh\"\n{}  count(x40) > 0\n}}", (1..=40).map(|i| format!("  x{i} := hex.encode(x{})\n", i - 1)).collect::<String>()),
        OVER_BYTES
    )]
    #[case::json_marshal_shared_subtrees(
        &format!("package sigstore\nisCompliant {{\n  x0 := \"abcdefgh\"\n{}  count(json.marshal(x40)) > 0\n}}", (1..=40).map(|i| format!("  x{i} := [x{0}, x{0}]\n", i - 1)).collect::<String>()),
        OVER_BYTES
    )]
    #[case::walk_shared_subtrees(
        &format!("package sigstore\nisCompliant {{\n  x0 := \"abcdefgh\"\n{}  count(walk(x40)) > 0\n}}", (1..=40).map(|i| format!("  x{i} := [x{0}, x{0}]\n", i - 1)).collect::<String>()),
        OVER_ELEMENTS
    )]
    #[case::result_shared_subtrees(
        &format!("package sigstore\nx0 := \"abcdefgh\"\n{}isCompliant := [x40]\n", (1..=40).map(|i| format!("x{i} := [x{0}, x{0}]\n", i - 1)).collect::<String>()),
        "policy is not compliant for query 'isCompliant = data.sigstore.isCompliant': isCompliant: the result would be over the budget of 1048576 bytes"
    )]
    #[case::bits_lsh("package sigstore\nisCompliant { bits.lsh(1, 1e9) > 0 }", OVER_BYTES)]
    #[case::cidr_expand(
        "package sigstore\nisCompliant { count(net.cidr_expand(\"10.0.0.0/8\")) > 0 }",
        "the result would have 16777216 elements, over the budget of 100000"
    )]
    fn hostile_builtins_fail_cleanly(#[case] policy: &str, #[case] contains: &str) {
        let error = failure(policy);
        assert!(error.contains(contains), "{error:?} lacks {contains:?}");
    }

    /// Within budget, the guarded builtins are regorus's own.
    #[rstest]
    #[case::numbers_range("numbers.range(1, 3) == [1, 2, 3]; numbers.range(3, 1) == [3, 2, 1]")]
    #[case::numbers_range_step("numbers.range_step(0, 10, 5) == [0, 5, 10]")]
    #[case::concat("concat(\", \", [\"a\", \"b\"]) == \"a, b\"; concat(\"-\", {\"x\"}) == \"x\"")]
    #[case::array_concat("array.concat([1], [2, 3]) == [1, 2, 3]")]
    #[case::replace("replace(\"aXbX\", \"X\", \"yy\") == \"ayybyy\"")]
    #[case::strings_replace_n(
        "strings.replace_n({\"a\": \"1\", \"b\": \"2\"}, \"abc\") == \"12c\""
    )]
    #[case::regex_replace(
        "regex.replace(\"v1.2\", \"v([0-9])\", \"version $1\") == \"version 1.2\""
    )]
    #[case::sprintf("sprintf(\"%s-%d-%v\", [\"a\", 7, [1]]) == \"a-7-[1]\"")]
    #[case::json_marshal("json.marshal({\"a\": [1]}) == \"{\\\"a\\\":[1]}\"")]
    #[case::json_marshal_with_options(
        "contains(json.marshal_with_options({\"a\": 1}, {\"indent\": \"  \"}), \"\\n  \\\"a\\\"\")"
    )]
    #[case::encodings("hex.encode(\"a\") == \"61\"; base64.encode(\"a\") == \"YQ==\"; base64url.encode_no_pad(\"a\") == \"YQ\"")]
    #[case::walk_relation("count([p | walk({\"a\": [1, 2]}, [p, _])]) == 4")]
    #[case::cidr_expand("count(net.cidr_expand(\"10.0.0.0/30\")) == 4")]
    #[case::bits_lsh("bits.lsh(1, 70) == 1180591620717411303424")]
    #[case::predicate("concat(\"\", [input.predicate.Data]) == \"foobar e2e test\"")]
    fn guarded_builtins_within_budget(#[case] body: &str) {
        let policy = format!("package sigstore\nisCompliant {{ {body} }}");
        assert_eq!(run(&policy, &statement("foobar e2e test")), Ok(()));
    }

    /// A type error in a guarded builtin stays an undefined expression, as regorus's own.
    #[test]
    fn guarded_builtin_type_error_is_undefined() {
        let policy = "package sigstore\ndefault isCompliant = false\nisCompliant { concat(1, 2) }";
        assert_eq!(run(policy, &json!({})), Err(NOT.to_string()));
    }

    /// Squaring a big integer doubles its size and the time of the next squaring: the clock is
    /// read often enough to stop the chain soon after the budget.
    #[test]
    fn big_integer_squaring_is_stopped_by_the_clock() {
        let lines: String = (1..40)
            .map(|i| format!("  x{i} := x{} * x{}\n", i - 1, i - 1))
            .collect();
        let policy = format!(
            "package sigstore\nisCompliant {{\n  x0 := 12345678901234567890\n{lines}  x39 > 0\n}}"
        );
        let error = failure(&policy);
        assert!(error.contains("time limit"), "{error}");
    }

    /// One program evaluates many documents: each evaluation starts from the prepared engine.
    #[test]
    fn reused() {
        let program = compile(
            "package sigstore\ndefault isCompliant = false\nisCompliant { input.predicate.Data == \"foobar e2e test\" }",
        )
        .unwrap();
        for _ in 0..3 {
            assert_eq!(program.evaluate(&statement("foobar e2e test")), Ok(()));
            assert!(program.evaluate(&statement("x")).is_err());
        }
    }
}
