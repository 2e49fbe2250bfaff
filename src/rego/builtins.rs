//! Builtins whose result can be far larger than their arguments, bounded before they run.
//!
//! regorus's execution timer is read between work units, never inside a builtin call, and it
//! has no memory budget without its mimalloc allocator (C code, not built for wasip1). A call such
//! as `numbers.range(1, 1e9)`, or thirty chained calls that each double a string, exhausts the
//! guest's memory inside one call. regorus looks up extensions before builtins, so each builtin
//! below is registered as an extension under its own name: it checks the size of the result its
//! arguments imply (cheaply, stopping at the budget) and, within budget, delegates to the real
//! builtin in a second engine where no extension is registered, so results and error semantics
//! stay regorus's own. Over budget, the evaluation fails with a message naming the builtin and
//! the budget.
//!
//! Known gap: an extension takes no out-parameter, so `numbers.range(1, 3, x)` (the rare
//! out-parameter form of a guarded builtin) fails instead of binding `x`.

use super::limits::{MAX_BUILTIN_BYTES, MAX_BUILTIN_ELEMENTS};
use regorus::{Engine, Value};
use std::io::Write;
use std::sync::OnceLock;

/// A guarded builtin: its name, its arity, and the check of its arguments.
struct Guard {
    name: &'static str,
    nargs: u8,
    check: fn(&[Value]) -> Result<(), String>,
}

const GUARDS: &[Guard] = &[
    Guard {
        name: "numbers.range",
        nargs: 2,
        check: numbers_range,
    },
    Guard {
        name: "numbers.range_step",
        nargs: 3,
        check: numbers_range_step,
    },
    Guard {
        name: "array.concat",
        nargs: 2,
        check: array_concat,
    },
    Guard {
        name: "concat",
        nargs: 2,
        check: concat,
    },
    Guard {
        name: "replace",
        nargs: 3,
        check: replace,
    },
    Guard {
        name: "strings.replace_n",
        nargs: 2,
        check: strings_replace_n,
    },
    Guard {
        name: "regex.replace",
        nargs: 3,
        check: regex_replace,
    },
    Guard {
        name: "sprintf",
        nargs: 2,
        check: sprintf,
    },
    Guard {
        name: "json.marshal",
        nargs: 1,
        check: json_marshal,
    },
    Guard {
        name: "json.marshal_with_options",
        nargs: 2,
        check: json_marshal_with_options,
    },
    Guard {
        name: "hex.encode",
        nargs: 1,
        check: |a| string_times(a, 2),
    },
    Guard {
        name: "base64.encode",
        nargs: 1,
        check: |a| string_times(a, 2),
    },
    Guard {
        name: "base64url.encode",
        nargs: 1,
        check: |a| string_times(a, 2),
    },
    Guard {
        name: "base64url.encode_no_pad",
        nargs: 1,
        check: |a| string_times(a, 2),
    },
    Guard {
        name: "glob.quote_meta",
        nargs: 1,
        check: |a| string_times(a, 2),
    },
    Guard {
        name: "bits.lsh",
        nargs: 2,
        check: bits_lsh,
    },
    Guard {
        name: "walk",
        nargs: 1,
        check: walk,
    },
    Guard {
        name: "net.cidr_expand",
        nargs: 1,
        check: net_cidr_expand,
    },
    Guard {
        name: "graph.reachable_paths",
        nargs: 2,
        check: |_| {
            Err(
                "is not available: the number of paths can grow exponentially with the graph"
                    .to_string(),
            )
        },
    },
];

/// Registers every guard on `engine`.
pub fn install(engine: &mut Engine) -> Result<(), String> {
    for (index, guard) in GUARDS.iter().enumerate() {
        let check = guard.check;
        let name = guard.name;
        engine
            .add_extension(
                name.to_string(),
                guard.nargs,
                Box::new(move |args: Vec<Value>| -> anyhow::Result<Value> {
                    check(&args).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
                    delegate(index, args).map_err(|e| anyhow::anyhow!("{name}: {e}"))
                }),
            )
            .map_err(|e| format!("internal error: cannot register {name}: {e}"))?;
    }
    Ok(())
}

/// One engine with a rule `b<i>` per guard that calls the real builtin on `input`, prepared
/// once per instance.
fn delegate(index: usize, args: Vec<Value>) -> Result<Value, String> {
    static PREPARED: OnceLock<Result<Engine, String>> = OnceLock::new();
    let prepared = PREPARED.get_or_init(|| {
        let mut module = String::from("package delegate\n");
        for (i, guard) in GUARDS.iter().enumerate() {
            let params: Vec<String> = (0..guard.nargs).map(|a| format!("input[{a}]")).collect();
            let call = format!("{}({})", guard.name, params.join(", "));
            // regorus evaluates a `walk` call as the relation `walk(x, [path, value])`, one
            // pair per binding: collect them back into the builtin's array.
            let value = if guard.name == "walk" {
                "[pair | walk(input[0], pair)]".to_string()
            } else {
                call
            };
            module.push_str(&format!("b{i} := {value}\n"));
        }
        let mut engine = Engine::new();
        engine.set_strict_builtin_errors(false);
        engine
            .add_policy("delegate.rego".to_string(), module)
            .map_err(|e| e.to_string())?;
        engine
            .eval_query("true".to_string(), false)
            .map_err(|e| e.to_string())?;
        Ok(engine)
    });
    let mut engine = prepared.clone()?;
    engine.set_input(Value::from(args));
    engine
        .eval_rule(format!("data.delegate.b{index}"))
        .map_err(|e| e.to_string())
}

fn elements(count: f64) -> Result<(), String> {
    if count > MAX_BUILTIN_ELEMENTS as f64 {
        Err(format!(
            "the result would have {count} elements, over the budget of {MAX_BUILTIN_ELEMENTS}"
        ))
    } else {
        Ok(())
    }
}

fn bytes(count: usize) -> Result<(), String> {
    if count > MAX_BUILTIN_BYTES {
        Err(format!(
            "the result would be over the budget of {MAX_BUILTIN_BYTES} bytes"
        ))
    } else {
        Ok(())
    }
}

fn number(v: Option<&Value>) -> Option<f64> {
    v.and_then(|v| v.as_f64().ok())
}

fn string(v: Option<&Value>) -> Option<&str> {
    match v {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// Arguments of the wrong type are let through: the real builtin makes the call undefined.
fn numbers_range(args: &[Value]) -> Result<(), String> {
    match (number(args.first()), number(args.get(1))) {
        (Some(a), Some(b)) => elements((b - a).abs().floor() + 1.0),
        _ => Ok(()),
    }
}

fn numbers_range_step(args: &[Value]) -> Result<(), String> {
    match (
        number(args.first()),
        number(args.get(1)),
        number(args.get(2)),
    ) {
        (Some(a), Some(b), Some(step)) if step > 0.0 => {
            elements(((b - a).abs() / step).floor() + 1.0)
        }
        _ => Ok(()),
    }
}

fn length(v: Option<&Value>) -> usize {
    match v {
        Some(Value::Array(a)) => a.len(),
        Some(Value::Set(s)) => s.len(),
        _ => 0,
    }
}

fn array_concat(args: &[Value]) -> Result<(), String> {
    elements((length(args.first()) + length(args.get(1))) as f64)
}

fn concat(args: &[Value]) -> Result<(), String> {
    let separator = string(args.first()).map_or(0, str::len);
    let parts: Box<dyn Iterator<Item = &Value>> = match args.get(1) {
        Some(Value::Array(a)) => Box::new(a.iter()),
        Some(Value::Set(s)) => Box::new(s.iter()),
        _ => return Ok(()),
    };
    let mut total = 0usize;
    for part in parts {
        total = total
            .saturating_add(string(Some(part)).map_or(0, str::len))
            .saturating_add(separator);
        bytes(total)?;
    }
    Ok(())
}

/// Occurrences of `pattern` in `s` as `str::replace` counts them (an empty pattern matches
/// before every character and at the end).
fn occurrences(s: &str, pattern: &str) -> usize {
    if pattern.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(pattern).count()
    }
}

fn replace(args: &[Value]) -> Result<(), String> {
    let (Some(s), Some(old), Some(new)) = (
        string(args.first()),
        string(args.get(1)),
        string(args.get(2)),
    ) else {
        return Ok(());
    };
    bytes(
        occurrences(s, old)
            .saturating_mul(new.len())
            .saturating_add(s.len()),
    )
}

/// Each pattern's occurrences, counted separately, bound the replacements of all of them.
fn strings_replace_n(args: &[Value]) -> Result<(), String> {
    let (Some(Value::Object(patterns)), Some(s)) = (args.first(), string(args.get(1))) else {
        return Ok(());
    };
    let mut total = s.len();
    for (old, new) in patterns.iter() {
        let (Some(old), Some(new)) = (string(Some(old)), string(Some(new))) else {
            continue;
        };
        total = total.saturating_add(occurrences(s, old).saturating_mul(new.len()));
        bytes(total)?;
    }
    Ok(())
}

/// Matches do not overlap, so the `$n` expansions of all matches copy at most `s` once per `$`
/// in the replacement.
fn regex_replace(args: &[Value]) -> Result<(), String> {
    let (Some(s), Some(pattern), Some(value)) = (
        string(args.first()),
        string(args.get(1)),
        string(args.get(2)),
    ) else {
        return Ok(());
    };
    let Ok(re) = regex::Regex::new(pattern) else {
        return Ok(());
    };
    let matches = re.find_iter(s).count();
    let dollars = value.matches('$').count();
    bytes(
        s.len()
            .saturating_add(matches.saturating_mul(value.len()))
            .saturating_add(dollars.saturating_mul(s.len())),
    )
}

/// Every verb renders one argument at most a few times its JSON size (`%q` escapes, `%x` hex),
/// plus its width or precision.
fn sprintf(args: &[Value]) -> Result<(), String> {
    let Some(format) = string(args.first()) else {
        return Ok(());
    };
    // Widths and precisions are the digit runs of the format (literal numbers count too: a
    // harmless over-estimate).
    let mut total = format
        .len()
        .saturating_add(format.matches('%').count().saturating_mul(64));
    for run in format.split(|c: char| !c.is_ascii_digit()) {
        if !run.is_empty() {
            total = total.saturating_add(run.parse::<usize>().unwrap_or(usize::MAX));
        }
    }
    bytes(total)?;
    if let Some(values) = args.get(1) {
        total = total.saturating_add(json_size(values, MAX_BUILTIN_BYTES / 4)?.saturating_mul(4));
    }
    bytes(total)
}

fn json_marshal(args: &[Value]) -> Result<(), String> {
    match args.first() {
        Some(v) => json_size(v, MAX_BUILTIN_BYTES).map(|_| ()),
        None => Ok(()),
    }
}

/// Pretty printing adds the prefix and the indentation to every line.
fn json_marshal_with_options(args: &[Value]) -> Result<(), String> {
    let Some(value) = args.first() else {
        return Ok(());
    };
    let option = |key: &str| match args.get(1) {
        Some(Value::Object(o)) => o
            .iter()
            .find(|(k, _)| string(Some(k)) == Some(key))
            .and_then(|(_, v)| string(Some(v)))
            .map_or(0, str::len),
        _ => 0,
    };
    let per_line = option("prefix").saturating_add(option("indent").max(1));
    let mut writer = Limited::new(MAX_BUILTIN_BYTES);
    serde_json::to_writer(&mut writer, value).map_err(|_| over_bytes())?;
    // Two lines per node at most (an opening and a closing one), each indented at most as deep
    // as the value nests.
    let (depth, nodes) = shape(value, MAX_BUILTIN_BYTES)?;
    let lines = nodes.saturating_mul(2);
    bytes(
        writer
            .written
            .saturating_add(lines.saturating_mul(per_line.saturating_mul(depth))),
    )
}

fn string_times(args: &[Value], factor: usize) -> Result<(), String> {
    match string(args.first()) {
        Some(s) => bytes(s.len().saturating_mul(factor).saturating_add(4)),
        None => Ok(()),
    }
}

/// Shifting left by `n` adds `n` bits to an integer of any size.
fn bits_lsh(args: &[Value]) -> Result<(), String> {
    match number(args.get(1)) {
        Some(n) => bytes((n.max(0.0) / 8.0).min(usize::MAX as f64) as usize),
        None => Ok(()),
    }
}

/// One `[path, value]` pair per node, each path as long as the node is deep.
fn walk(args: &[Value]) -> Result<(), String> {
    let Some(root) = args.first() else {
        return Ok(());
    };
    let mut cost = 0usize;
    let mut stack = vec![(root, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        cost = cost.saturating_add(depth);
        if cost > MAX_BUILTIN_ELEMENTS {
            return elements(cost as f64);
        }
        match value {
            Value::Array(a) => stack.extend(a.iter().map(|v| (v, depth + 1))),
            Value::Set(s) => stack.extend(s.iter().map(|v| (v, depth + 1))),
            Value::Object(o) => stack.extend(o.iter().map(|(_, v)| (v, depth + 1))),
            _ => {}
        }
    }
    Ok(())
}

fn net_cidr_expand(args: &[Value]) -> Result<(), String> {
    let Some((address, prefix)) = string(args.first()).and_then(|s| s.split_once('/')) else {
        return Ok(());
    };
    let Ok(prefix) = prefix.parse::<u32>() else {
        return Ok(());
    };
    let bits: u32 = if address.contains(':') { 128 } else { 32 };
    elements(2f64.powi(bits.saturating_sub(prefix).min(1024) as i32))
}

fn over_bytes() -> String {
    format!("the result would be over the budget of {MAX_BUILTIN_BYTES} bytes")
}

/// The JSON size of `value`, or an error once it passes `limit` (values share subtrees, so a
/// small value can stand for an exponentially large document: never serialise without a limit).
pub fn json_size(value: &Value, limit: usize) -> Result<usize, String> {
    let mut writer = Limited::new(limit);
    serde_json::to_writer(&mut writer, value).map_err(|_| over_bytes())?;
    Ok(writer.written)
}

/// Nesting depth and node count of `value`, visiting at most `limit` nodes.
fn shape(value: &Value, limit: usize) -> Result<(usize, usize), String> {
    let mut deepest = 0;
    let mut visited = 0usize;
    let mut stack = vec![(value, 1usize)];
    while let Some((value, d)) = stack.pop() {
        visited += 1;
        if visited > limit {
            return Err(over_bytes());
        }
        deepest = deepest.max(d);
        match value {
            Value::Array(a) => stack.extend(a.iter().map(|v| (v, d + 1))),
            Value::Set(s) => stack.extend(s.iter().map(|v| (v, d + 1))),
            Value::Object(o) => stack.extend(o.iter().map(|(_, v)| (v, d + 1))),
            _ => {}
        }
    }
    Ok((deepest, visited))
}

/// A writer that only counts, and fails past its limit.
struct Limited {
    written: usize,
    limit: usize,
}

impl Limited {
    fn new(limit: usize) -> Self {
        Limited { written: 0, limit }
    }
}

impl Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.written = self.written.saturating_add(buf.len());
        if self.written > self.limit {
            return Err(std::io::Error::other("over the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Refuses, at settings time, a policy that calls a builtin no budget can bound:
/// `graph.reachable_paths` (exponentially many paths) and `print` (regorus formats its
/// arguments in full whatever their size, and a webhook has nowhere to show the output).
pub fn refuse_unbounded(tokens: &[super::source::Token<'_>]) -> Result<(), String> {
    use super::source::Kind;
    for (i, w) in tokens.windows(3).enumerate() {
        let after_dot = i > 0 && tokens.get(i - 1).map(|t| t.kind) == Some(Kind::Punct('.'));
        match w {
            [a, b, c]
                if a.kind == Kind::Ident("graph")
                    && b.kind == Kind::Punct('.')
                    && c.kind == Kind::Ident("reachable_paths")
                    && !after_dot =>
            {
                return Err("graph.reachable_paths is not available: the number of paths can grow exponentially with the graph".to_string());
            }
            [a, b, _]
                if a.kind == Kind::Ident("print") && b.kind == Kind::Punct('(') && !after_dot =>
            {
                return Err("print is not available: it formats values of any size and an admission webhook has nowhere to show its output; remove it".to_string());
            }
            _ => {}
        }
    }
    Ok(())
}
