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
//! element that is not an object fails (OPA's evaluation panics in cosign). Each evaluation has a
//! wall-clock budget (`TIME_LIMIT`, regorus's cooperative execution timer); regorus has no step or
//! memory budget without its mimalloc allocator, so the host's epoch timeout stays the last resort.

use regorus::utils::limits::ExecutionTimerConfig;
use regorus::Engine;
use serde_json::Value;
use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

/// The module name cosign gives the policy.
pub const MODULE: &str = "sigstore.rego";
/// The query cosign evaluates, as its messages spell it.
pub const QUERY: &str = "isCompliant = data.sigstore.isCompliant";
const RULE: &str = "data.sigstore.isCompliant";
const PACKAGE: &str = "data.sigstore";

/// Wall-clock budget of one evaluation.
pub const TIME_LIMIT: Duration = Duration::from_secs(1);
/// Work units between two clock reads.
const CHECK_INTERVAL: NonZeroU32 = match NonZeroU32::new(64) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

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
    let mut engine = Engine::new();
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
        let text = |key: &str| match fields.get(key) {
            Some(Value::String(s)) => Ok(s.clone()),
            None | Some(Value::Null) => Ok(String::new()),
            Some(other) => Err(Failure::NotCompliant(format!(
                "policy is not compliant for query '{QUERY}': `{key}` must be a string, got {other}"
            ))),
        };
        let result = match fields.get("result") {
            Some(Value::Bool(b)) => *b,
            None | Some(Value::Null) => false,
            Some(other) => {
                return Err(Failure::NotCompliant(format!(
                    "policy is not compliant for query '{QUERY}': `result` must be a boolean, got {other}"
                )))
            }
        };
        let warning = text("warning")?;
        let error = text("error")?;
        if result {
            return if warning.is_empty() {
                Ok(())
            } else {
                Err(Failure::Warning(warning))
            };
        }
        failure = Failure::NotCompliant(format!(
            "policy is not compliant for query '{QUERY}' with errors: {error}"
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
    #[case::array_result_not_bool(
        "package sigstore\nisCompliant = [{\"result\": \"yes\"}]",
        Err(format!("{NOT}: `result` must be a boolean, got \"yes\""))
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
