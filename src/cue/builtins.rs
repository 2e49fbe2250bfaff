//! Operators and the standard-library functions policies use: `len`, `close`, `and`, `or`,
//! strings, list, struct, time, math, regexp. Regular expressions are compiled once per pattern
//! (a small per-thread cache) and matched with the `regex` crate (RE2 syntax, as Go's regexp).

use super::budget::Meter;
use super::error::{Code, CueError};
use super::parser::{FieldKind, Op};
use super::stdlib::{Builtin, Predefined, RFC3339, RFC3339_NANO};
use super::value::{
    compare, equal, fmt_float, force, kind_name, show, unify, ClosedSet, FieldVal, ListVal,
    StructVal, Val,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

thread_local! {
    static REGEX: RefCell<HashMap<String, Rc<regex::Regex>>> = RefCell::new(HashMap::new());
}

pub fn regex(pat: &str) -> Result<Rc<regex::Regex>, String> {
    REGEX.with(|c| {
        if let Some(r) = c.borrow().get(pat) {
            return Ok(r.clone());
        }
        let r = Rc::new(
            regex::RegexBuilder::new(pat)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    format!(
                        "error parsing regexp: {}",
                        e.to_string().lines().last().unwrap_or("invalid")
                    )
                })?,
        );
        let mut m = c.borrow_mut();
        if m.len() > 256 {
            m.clear();
        }
        m.insert(pat.to_string(), r.clone());
        Ok(r)
    })
}

/// Longest string an operation may build (a budget against doubling `a + a` chains).
pub const MAX_STRING: usize = 16 << 20;

pub fn too_long<'a>() -> Val<'a> {
    Val::Bottom(CueError::new(
        Code::Budget,
        format!("string too long (more than {MAX_STRING} bytes)"),
    ))
}

/// A predefined name as a value.
pub fn predefined<'a>(p: Predefined) -> Val<'a> {
    match p {
        Predefined::Func(b) => Val::Builtin(b),
        Predefined::Str(s) => Val::str(s),
        Predefined::Int(i) => Val::Int(i),
        Predefined::Float(f) => Val::Float(f),
    }
}

/// A member selected from a package that reached evaluation as a value (bound to a field or
/// `let`); a member written `pkg.Name` was looked up by the resolver.
pub fn member<'a>(pkg: &str, name: &str) -> Val<'a> {
    super::stdlib::member(pkg, name).map_or_else(
        || Val::error(format!("undefined field: {name}")),
        predefined,
    )
}

/// A bare builtin used as a constraint (`time.Time`, `list.UniqueItems`) becomes a validator.
pub fn as_validator(v: Val) -> Val {
    match v {
        Val::Builtin(b) if b.arity() == (1, true) => Val::Validator(b, Rc::new(Vec::new())),
        other => other,
    }
}

pub fn call<'a>(b: Builtin, args: Vec<Val<'a>>, m: &Meter) -> Val<'a> {
    let (n, validator) = b.arity();
    let name = b.name();
    let args: Vec<Val<'a>> = args
        .into_iter()
        .map(|a| force(super::value::resolve_default(a), m))
        .collect();
    if let Some(Val::Bottom(e)) = args.iter().find(|a| matches!(a, Val::Bottom(_))) {
        return Val::Bottom(e.clone());
    }
    if validator && args.len() + 1 == n {
        return Val::Validator(b, Rc::new(args));
    }
    if args.len() != n {
        return Val::error(format!(
            "{name}: expected {n} arguments, got {}",
            args.len()
        ));
    }
    if matches!(b, Builtin::And | Builtin::Or) {
        return and_or(b, &args, m);
    }
    if let Some(a) = args.iter().find(|a| !a.is_concrete()) {
        return Val::incomplete(format!(
            "non-concrete argument {} in call to {name}",
            show(a)
        ));
    }
    apply(b, &args, m)
}

/// Runs a validator against a concrete value.
pub fn check<'a>(b: Builtin, x: &Val<'a>, args: &[Val<'a>], m: &Meter) -> Val<'a> {
    if matches!(x, Val::Json(_)) || args.iter().any(|a| matches!(a, Val::Json(_))) {
        let args: Vec<Val<'a>> = args.iter().cloned().map(|a| force(a, m)).collect();
        return check(b, &force(x.clone(), m), &args, m);
    }
    if !x.is_concrete() {
        return Val::incomplete("non-concrete value");
    }
    let mut all = vec![x.clone()];
    all.extend(args.iter().cloned());
    apply(b, &all, m)
}

/// A regular-expression bound (`=~ p`, or `!~ p` when `!want`) against a concrete value.
pub fn check_match<'a>(x: &Val<'a>, pattern: &Val<'a>, want: bool, m: &Meter) -> Val<'a> {
    match (x, pattern) {
        (Val::Str(s), Val::Str(_)) if m.scan(s.len()) => m.bottom(),
        (Val::Str(s), Val::Str(p)) => match regex(p) {
            Ok(r) => Val::Bool(r.is_match(s) == want),
            Err(e) => Val::error(e),
        },
        _ => Val::Bool(false),
    }
}

fn and_or<'a>(b: Builtin, args: &[Val<'a>], m: &Meter) -> Val<'a> {
    let Some(Val::List(l)) = args.first() else {
        return Val::incomplete(format!("{}: non-concrete list", b.name()));
    };
    if m.values(l.elems.len()) {
        return m.bottom();
    }
    if b == Builtin::Or {
        return super::value::finish_disj(l.elems.iter().map(|v| (v.clone(), false)).collect(), 0);
    }
    l.elems
        .iter()
        .fold(Val::Top, |acc, v| unify(acc, v.clone(), m))
}

fn int_arg(v: Option<&Val>) -> Option<i128> {
    match v {
        Some(Val::Int(i)) => Some(*i),
        _ => None,
    }
}

fn str_arg<'b>(v: Option<&'b Val>) -> Option<&'b str> {
    match v {
        Some(Val::Str(s)) => Some(s),
        _ => None,
    }
}

fn num(v: &Val) -> Option<f64> {
    match v {
        Val::Int(i) => Some(*i as f64),
        Val::Float(f) => Some(*f),
        _ => None,
    }
}

fn regular_fields<'b, 'a>(
    s: &'b StructVal<'a>,
) -> impl Iterator<Item = &'b (String, FieldKind, FieldVal<'a>)> {
    s.fields
        .iter()
        .filter(|(l, k, _)| *k == FieldKind::Regular && !super::label::is_internal(l))
}

/// A list of the parts of `s` that `parts` yields, counted (a scan) and charged before anything
/// is built: splitting a long string into characters is the costly case.
fn strs<'a, 's, I: Iterator<Item = &'s str>>(
    s: &'s str,
    parts: impl Fn() -> I,
    m: &Meter,
) -> Val<'a> {
    if let Some(over) = m.strs(parts().count(), s.len()) {
        return over;
    }
    Val::List(Rc::new(ListVal {
        elems: parts().map(Val::str).collect(),
        rest: None,
    }))
}

fn bad<'a>(name: &str, args: &[Val<'a>]) -> Val<'a> {
    let tys: Vec<String> = args.iter().map(|a| kind_name(a.kind())).collect();
    Val::error(format!(
        "cannot use arguments of type ({}) in call to {name}",
        tys.join(", ")
    ))
}

/// The work of reading the arguments: a step per element or field, a step per `BYTES_PER_STEP`
/// bytes of string. Builtins that do more (building, or comparing pairs) charge that themselves.
fn scan_cost(a: &[Val]) -> usize {
    a.iter()
        .map(|v| match v {
            Val::Str(s) => s.len() / super::budget::BYTES_PER_STEP,
            Val::Bytes(b) => b.len() / super::budget::BYTES_PER_STEP,
            Val::List(l) => l.elems.len(),
            Val::Struct(s) => s.fields.len(),
            _ => 0,
        })
        .fold(1usize, usize::saturating_add)
}

/// `strings.SplitN`: `s` split on `sep` (on every character when `sep` is empty, as Go does),
/// at most `n` parts, the last holding the rest.
fn split<'a>(s: &str, sep: &str, n: usize, m: &Meter) -> Val<'a> {
    if sep.is_empty() {
        let chars = || {
            s.char_indices()
                .take(n)
                .enumerate()
                .map(move |(k, (i, c))| {
                    let end = if k + 1 == n {
                        s.len()
                    } else {
                        i + c.len_utf8()
                    };
                    s.get(i..end).unwrap_or("")
                })
        };
        strs(s, chars, m)
    } else {
        strs(s, || s.splitn(n, sep), m)
    }
}

/// True when every element is a scalar that hashes consistently with `equal`.
fn hashable(elems: &[Val]) -> bool {
    elems
        .iter()
        .all(|e| matches!(e, Val::Null | Val::Bool(_) | Val::Int(_) | Val::Str(_)))
}

#[derive(Hash, PartialEq, Eq)]
enum Key<'b> {
    Null,
    Bool(bool),
    Int(i128),
    Str(&'b str),
}

/// `list.UniqueItems`: scalars through a hash set (linear); other values pairwise, each
/// comparison charged as steps (`equal`), so a long list of structs meets the step budget.
fn unique<'a>(elems: &[Val<'a>], m: &Meter) -> Val<'a> {
    if hashable(elems) {
        let mut seen = std::collections::HashSet::new();
        for e in elems {
            let k = match e {
                Val::Bool(b) => Key::Bool(*b),
                Val::Int(i) => Key::Int(*i),
                Val::Str(s) => Key::Str(s),
                _ => Key::Null,
            };
            if !seen.insert(k) {
                return Val::Bool(false);
            }
        }
        return Val::Bool(true);
    }
    // Document elements converted once (charged once), not once per comparison.
    let elems: Vec<Val<'a>> = elems.iter().map(|e| force(e.clone(), m)).collect();
    for (i, x) in elems.iter().enumerate() {
        for y in elems.iter().skip(i + 1) {
            if equal(x, y, m) {
                return Val::Bool(false);
            }
            if m.exhausted() {
                return m.bottom();
            }
        }
    }
    Val::Bool(true)
}

fn apply<'a>(func: Builtin, a: &[Val<'a>], m: &Meter) -> Val<'a> {
    let name = func.name();
    if m.steps(scan_cost(a)) {
        return m.bottom();
    }
    let s0 = str_arg(a.first());
    let s1 = str_arg(a.get(1));
    let r = match (func, a.first()) {
        (Builtin::Len, Some(Val::Str(s))) => Some(Val::Int(s.len() as i128)),
        (Builtin::Len, Some(Val::Bytes(b))) => Some(Val::Int(b.len() as i128)),
        (Builtin::Len, Some(Val::List(l))) if l.rest.is_none() => {
            Some(Val::Int(l.elems.len() as i128))
        }
        (Builtin::Len, Some(Val::List(_))) => Some(Val::incomplete("len of open list")),
        (Builtin::Len, Some(Val::Struct(s))) => Some(Val::Int(regular_fields(s).count() as i128)),
        (Builtin::Close, Some(Val::Struct(s))) if m.values(s.fields.len()) => Some(m.bottom()),
        (Builtin::Close, Some(Val::Struct(s))) => {
            let set = ClosedSet {
                labels: s.fields.iter().map(|f| f.0.clone()).collect(),
                patterns: s.patterns.iter().map(|p| p.0.clone()).collect(),
                open: false,
            };
            let mut n = s.as_ref().clone();
            n.closed.push(set);
            Some(Val::Struct(Rc::new(n)))
        }
        (Builtin::StringsHasPrefix, _) => s0.zip(s1).map(|(s, p)| Val::Bool(s.starts_with(p))),
        (Builtin::StringsHasSuffix, _) => s0.zip(s1).map(|(s, p)| Val::Bool(s.ends_with(p))),
        (Builtin::StringsContains, _) => s0.zip(s1).map(|(s, p)| Val::Bool(s.contains(p))),
        (Builtin::StringsContainsAny, _) => s0
            .zip(s1)
            .map(|(s, p)| Val::Bool(s.chars().any(|c| p.contains(c)))),
        (Builtin::StringsMinRunes, _) => s0
            .zip(int_arg(a.get(1)))
            .map(|(s, n)| Val::Bool(s.chars().count() as i128 >= n)),
        (Builtin::StringsMaxRunes, _) => s0
            .zip(int_arg(a.get(1)))
            .map(|(s, n)| Val::Bool(s.chars().count() as i128 <= n)),
        // Trimming and case mapping build at most about the input's size (bounded by MAX_STRING),
        // charged when built.
        (Builtin::StringsToLower, _) => s0.map(|s| m.str(&s.to_lowercase())),
        (Builtin::StringsToUpper, _) => s0.map(|s| m.str(&s.to_uppercase())),
        (Builtin::StringsTrimSpace, _) => s0.map(|s| m.str(s.trim())),
        (Builtin::StringsTrim, _) => s0
            .zip(s1)
            .map(|(s, c)| m.str(s.trim_matches(|x| c.contains(x)))),
        (Builtin::StringsTrimPrefix, _) => s0
            .zip(s1)
            .map(|(s, p)| m.str(s.strip_prefix(p).unwrap_or(s))),
        (Builtin::StringsTrimSuffix, _) => s0
            .zip(s1)
            .map(|(s, p)| m.str(s.strip_suffix(p).unwrap_or(s))),
        (Builtin::StringsFields, _) => s0.map(|s| strs(s, || s.split_whitespace(), m)),
        (Builtin::StringsSplit, _) => s0.zip(s1).map(|(s, sep)| split(s, sep, usize::MAX, m)),
        (Builtin::StringsSplitN, _) => match (s0, s1, int_arg(a.get(2))) {
            (Some(s), Some(sep), Some(n)) => {
                let n = if n < 0 {
                    usize::MAX
                } else {
                    usize::try_from(n).unwrap_or(usize::MAX)
                };
                Some(split(s, sep, n, m))
            }
            _ => None,
        },
        (Builtin::StringsJoin, Some(Val::List(l))) => {
            let parts: Option<Vec<&str>> = l.elems.iter().map(|e| str_arg(Some(e))).collect();
            parts.zip(s1).map(|(p, sep)| {
                // Checked: a long separator times many parts overflows usize on wasm32.
                let total = p
                    .iter()
                    .try_fold(0usize, |t, x| t.checked_add(x.len()))
                    .zip(sep.len().checked_mul(p.len().saturating_sub(1)))
                    .and_then(|(t, s)| t.checked_add(s));
                match total {
                    Some(t) if t <= MAX_STRING => {
                        if m.bytes(t) {
                            m.bottom()
                        } else {
                            Val::str(&p.join(sep))
                        }
                    }
                    _ => too_long(),
                }
            })
        }
        (Builtin::StringsIndex, _) => s0
            .zip(s1)
            .map(|(s, p)| Val::Int(s.find(p).map_or(-1, |i| i as i128))),
        (Builtin::StringsLastIndex, _) => s0
            .zip(s1)
            .map(|(s, p)| Val::Int(s.rfind(p).map_or(-1, |i| i as i128))),
        (Builtin::StringsCount, _) => s0.zip(s1).map(|(s, p)| {
            Val::Int(if p.is_empty() {
                s.chars().count() as i128 + 1
            } else {
                s.matches(p).count() as i128
            })
        }),
        (Builtin::StringsRepeat, _) => match (s0, int_arg(a.get(1))) {
            (Some(s), Some(n))
                if (0..=10_000).contains(&n) && s.len().saturating_mul(n as usize) <= 1 << 20 =>
            {
                Some(if m.bytes(s.len().saturating_mul(n as usize)) {
                    m.bottom()
                } else {
                    Val::str(&s.repeat(n as usize))
                })
            }
            (Some(_), Some(_)) => Some(Val::error(
                "strings.Repeat: result too large or negative count",
            )),
            _ => None,
        },
        (Builtin::StringsReplace, _)
            if s0
                .zip(str_arg(a.get(2)))
                .is_some_and(|(s, n)| s.len().saturating_mul(n.len().max(1)) > MAX_STRING) =>
        {
            Some(too_long())
        }
        (Builtin::StringsReplace, _) => match (s0, s1, str_arg(a.get(2)), int_arg(a.get(3))) {
            (Some(s), Some(o), Some(n), Some(k)) if k < 0 => Some(m.str(&s.replace(o, n))),
            (Some(s), Some(o), Some(n), Some(k)) => {
                Some(m.str(&s.replacen(o, n, usize::try_from(k).unwrap_or(usize::MAX))))
            }
            _ => None,
        },
        (Builtin::ListMinItems, Some(Val::List(l))) => {
            int_arg(a.get(1)).map(|n| Val::Bool(l.elems.len() as i128 >= n))
        }
        (Builtin::ListMaxItems, Some(Val::List(l))) => {
            int_arg(a.get(1)).map(|n| Val::Bool(l.elems.len() as i128 <= n))
        }
        (Builtin::ListContains, Some(Val::List(l))) => a
            .get(1)
            .map(|x| Val::Bool(l.elems.iter().any(|e| equal(e, x, m)))),
        (Builtin::ListUniqueItems, Some(Val::List(l))) => Some(unique(&l.elems, m)),
        (Builtin::ListConcat, Some(Val::List(l))) => {
            let mut inners = Vec::with_capacity(l.elems.len());
            for e in &l.elems {
                match force(e.clone(), m) {
                    Val::List(inner) => inners.push(inner),
                    Val::Bottom(e) if e.code == Code::Budget => return Val::Bottom(e),
                    _ => return bad(name, a),
                }
            }
            let total = inners
                .iter()
                .fold(0usize, |t, x| t.saturating_add(x.elems.len()));
            if m.values(total) {
                return m.bottom();
            }
            let mut out = Vec::with_capacity(total);
            for inner in &inners {
                out.extend(inner.elems.iter().cloned());
            }
            Some(Val::List(Rc::new(ListVal {
                elems: out,
                rest: None,
            })))
        }
        (
            Builtin::ListSum | Builtin::ListMax | Builtin::ListMin | Builtin::ListAvg,
            Some(Val::List(l)),
        ) => Some(list_num(func, &l.elems)),
        (Builtin::StructMinFields, Some(Val::Struct(s))) => int_arg(a.get(1)).map(|n| {
            let count = regular_fields(s).count() as i128;
            if count >= n {
                return Val::Bool(true);
            }
            let msg = format!("len(fields) < MinFields({n}) ({count} < {n})");
            // More data could still add fields to an open struct: incomplete, not failed
            // (CUE's `cue eval` and non-concrete `Validate()` pass it). A closed one cannot grow.
            if s.closed.iter().any(|c| !c.open) {
                Val::error(msg)
            } else {
                Val::incomplete(msg)
            }
        }),
        (Builtin::StructMaxFields, Some(Val::Struct(s))) => {
            int_arg(a.get(1)).map(|n| Val::Bool(regular_fields(s).count() as i128 <= n))
        }
        (Builtin::TimeTime, _) => s0.map(|s| match parse_rfc3339(s) {
            Some(_) => Val::Bool(true),
            None => Val::error(format!(
                "error in call to time.Time: invalid time {}",
                super::error::quote(s)
            )),
        }),
        (Builtin::TimeFormat, _) => s0.zip(s1).map(|(s, l)| match l {
            RFC3339 | RFC3339_NANO => Val::Bool(parse_rfc3339(s).is_some()),
            "2006-01-02" => {
                Val::Bool(parse_rfc3339(&format!("{s}T00:00:00Z")).is_some() && s.len() == 10)
            }
            _ => Val::error(format!("time.Format: layout {l:?} is not supported")),
        }),
        (Builtin::TimeParse, _) => s0.zip(s1).map(|(layout, s)| {
            let t = match layout {
                RFC3339 | RFC3339_NANO => parse_rfc3339(s),
                "2006-01-02" if s.len() == 10 => parse_rfc3339(&format!("{s}T00:00:00Z")),
                "2006-01-02" => None,
                _ => return Val::error(format!("time.Parse: layout {layout:?} is not supported")),
            };
            match t {
                Some((secs, nanos)) => Val::str(&format_rfc3339_nano(secs, nanos)),
                None => Val::error(format!(
                    "error in call to time.Parse: parsing time {}{}",
                    super::error::quote(s),
                    range_error(s, layout)
                )),
            }
        }),
        (Builtin::TimeUnix, _) => match (int_arg(a.first()), int_arg(a.get(1))) {
            (Some(s), Some(n)) => {
                let total = s.saturating_mul(1_000_000_000).saturating_add(n);
                Some(Val::str(&format_rfc3339_nano(
                    total.div_euclid(1_000_000_000),
                    total.rem_euclid(1_000_000_000),
                )))
            }
            _ => None,
        },
        (
            Builtin::MathFloor | Builtin::MathCeil | Builtin::MathRound | Builtin::MathTrunc,
            Some(Val::Int(i)),
        ) => Some(Val::Int(*i)),
        (
            Builtin::MathFloor | Builtin::MathCeil | Builtin::MathRound | Builtin::MathTrunc,
            Some(Val::Float(f)),
        ) => {
            let r = match func {
                Builtin::MathFloor => f.floor(),
                Builtin::MathCeil => f.ceil(),
                Builtin::MathRound => f.round(),
                _ => f.trunc(),
            };
            Some(if r.abs() < 1e30 {
                Val::Int(r as i128)
            } else {
                Val::Float(r)
            })
        }
        (Builtin::MathAbs, Some(Val::Int(i))) => {
            Some(i.checked_abs().map_or(Val::error("overflow"), Val::Int))
        }
        (Builtin::MathAbs, Some(Val::Float(f))) => Some(Val::Float(f.abs())),
        (Builtin::MathSqrt, Some(x)) => num(x).map(|f| Val::Float(f.sqrt())),
        (Builtin::MathPow, Some(x)) => num(x)
            .zip(a.get(1).and_then(num))
            .map(|(b, e)| Val::Float(b.powf(e))),
        (Builtin::RegexpMatch, _) => s0.zip(s1).map(|(p, s)| match regex(p) {
            Ok(r) => Val::Bool(r.is_match(s)),
            Err(e) => Val::error(e),
        }),
        (Builtin::RegexpFind, _) => s0.zip(s1).map(|(p, s)| match regex(p) {
            Ok(r) => r
                .find(s)
                .map_or(Val::error("regexp.Find: no match"), |x| m.str(x.as_str())),
            Err(e) => Val::error(e),
        }),
        _ => None,
    };
    r.unwrap_or_else(|| bad(name, a))
}

fn list_num<'a>(func: Builtin, elems: &[Val<'a>]) -> Val<'a> {
    let name = func.name();
    let all_int = elems.iter().all(|e| matches!(e, Val::Int(_)));
    let Some(ns) = elems.iter().map(num).collect::<Option<Vec<f64>>>() else {
        return Val::error(format!("{name}: list contains non-numbers"));
    };
    if ns.is_empty() && func != Builtin::ListSum {
        return Val::error(format!("error in call to {name}: empty list"));
    }
    if all_int && func != Builtin::ListAvg {
        let is: Vec<i128> = elems
            .iter()
            .filter_map(|e| if let Val::Int(i) = e { Some(*i) } else { None })
            .collect();
        return match func {
            Builtin::ListSum => is
                .iter()
                .try_fold(0i128, |s, x| s.checked_add(*x))
                .map_or(Val::error("overflow"), Val::Int),
            Builtin::ListMax => is.iter().max().map_or(Val::Top, |m| Val::Int(*m)),
            _ => is.iter().min().map_or(Val::Top, |m| Val::Int(*m)),
        };
    }
    let r = match func {
        Builtin::ListSum => ns.iter().sum(),
        Builtin::ListMax => ns.iter().copied().fold(f64::MIN, f64::max),
        Builtin::ListMin => ns.iter().copied().fold(f64::MAX, f64::min),
        _ => ns.iter().sum::<f64>() / ns.len() as f64,
    };
    Val::Float(r)
}

// ------------------------------------------------------------------ time

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Go's reason for a rejected timestamp: a field out of range, or text that does not fit the layout.
fn range_error(s: &str, layout: &str) -> String {
    let field = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<u32>().ok());
    let shape_ok = s.len() >= 19 && s.get(4..5) == Some("-") && s.get(7..8) == Some("-");
    match (
        shape_ok,
        field(5..7),
        field(8..10),
        field(11..13),
        field(14..16),
        field(17..19),
    ) {
        (true, Some(m), ..) if !(1..=12).contains(&m) => ": month out of range".into(),
        (true, _, Some(d), ..) if !(1..=31).contains(&d) => ": day out of range".into(),
        (true, _, _, Some(h), ..) if h > 23 => ": hour out of range".into(),
        (true, _, _, _, Some(mi), _) if mi > 59 => ": minute out of range".into(),
        (true, _, _, _, _, Some(se)) if se > 59 => ": second out of range".into(),
        _ => format!(
            " as {}: cannot parse {} as {}",
            super::error::quote(layout),
            super::error::quote(s),
            super::error::quote(layout)
        ),
    }
}

/// Parses an RFC 3339 timestamp to (seconds since the epoch, nanoseconds).
pub fn parse_rfc3339(s: &str) -> Option<(i128, i128)> {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| -> Option<i64> {
        let part = s.get(from..from + n)?;
        if part.bytes().all(|c| c.is_ascii_digit()) {
            part.parse().ok()
        } else {
            None
        }
    };
    let (y, mo, d) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    let (h, mi, se) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't'))
    {
        return None;
    }
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let mdays = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo)
        || d < 1
        || d > *mdays.get((mo - 1) as usize)?
        || h > 23
        || mi > 59
        || se > 59
    {
        return None;
    }
    let mut i = 19;
    let mut nanos: i128 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = s.get(start..i)?;
        if frac.is_empty() || frac.len() > 9 {
            return None;
        }
        nanos = format!("{frac:0<9}").parse().ok()?;
    }
    let offset: i64 = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b.get(i + 3) == Some(&b':') => {
            let (oh, om) = (digits(i + 1, 2)?, digits(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'+' {
                o
            } else {
                -o
            }
        }
        _ => return None,
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + se - offset;
    Some((i128::from(secs), nanos))
}

pub fn format_rfc3339_nano(secs: i128, nanos: i128) -> String {
    let secs = i64::try_from(secs).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    );
    if nanos > 0 {
        let f = format!("{nanos:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

// ------------------------------------------------------------------ operators

fn noncon<'a>(v: &Val<'a>, op: Op) -> Val<'a> {
    Val::incomplete(format!(
        "non-concrete value {} in operand to {}",
        show(v),
        op.text()
    ))
}

pub fn unary<'a>(op: Op, v: Val<'a>, m: &Meter) -> Val<'a> {
    let v = force(v, m);
    if let Val::Bottom(_) = v {
        return v;
    }
    if !v.is_concrete() {
        return noncon(&v, op);
    }
    match (op, &v) {
        (Op::Sub, Val::Int(i)) => i.checked_neg().map_or(Val::error("overflow"), Val::Int),
        (Op::Sub, Val::Float(f)) => Val::Float(-f),
        (Op::Add, Val::Int(_) | Val::Float(_)) => v,
        (Op::Not, Val::Bool(b)) => Val::Bool(!b),
        (Op::Ne, _) => Val::Bound(op, Rc::new(v)),
        (
            Op::Lt | Op::Le | Op::Gt | Op::Ge,
            Val::Int(_) | Val::Float(_) | Val::Str(_) | Val::Bytes(_),
        ) => Val::Bound(op, Rc::new(v)),
        (Op::Match | Op::NotMatch, Val::Str(p)) => match regex(p) {
            Ok(_) => Val::Bound(op, Rc::new(v)),
            Err(e) => Val::error(e),
        },
        _ => Val::error(format!(
            "invalid operation {}{} (operator '{}' not defined on {})",
            op.text(),
            show(&v),
            op.text(),
            kind_name(v.kind())
        )),
    }
}

pub fn binary<'a>(op: Op, x: Val<'a>, y: Val<'a>, m: &Meter) -> Val<'a> {
    let (x, y) = (force(x, m), force(y, m));
    if let Val::Bottom(_) = x {
        return x;
    }
    if let Val::Bottom(_) = y {
        return y;
    }
    if !x.is_concrete() {
        return noncon(&x, op);
    }
    if !y.is_concrete() {
        return noncon(&y, op);
    }
    let invalid = |x: &Val<'a>, y: &Val<'a>| {
        Val::error(format!(
            "invalid operands {} and {} to '{}' (type {} and {})",
            show(x),
            show(y),
            op.text(),
            kind_name(x.kind()),
            kind_name(y.kind())
        ))
    };
    match op {
        Op::Eq | Op::Ne if matches!(x, Val::Struct(_)) || matches!(y, Val::Struct(_)) => {
            invalid(&x, &y)
        }
        Op::Eq => Val::Bool(
            equal(&x, &y, m) || matches!(compare(&x, &y), Some(std::cmp::Ordering::Equal)),
        ),
        Op::Ne => Val::Bool(
            !(equal(&x, &y, m) || matches!(compare(&x, &y), Some(std::cmp::Ordering::Equal))),
        ),
        Op::Lt | Op::Le | Op::Gt | Op::Ge => match compare(&x, &y) {
            Some(o) => Val::Bool(match op {
                Op::Lt => o.is_lt(),
                Op::Le => o.is_le(),
                Op::Gt => o.is_gt(),
                _ => o.is_ge(),
            }),
            None => invalid(&x, &y),
        },
        Op::Match | Op::NotMatch => match (&x, &y) {
            (Val::Str(s), Val::Str(_)) if m.scan(s.len()) => m.bottom(),
            (Val::Str(s), Val::Str(p)) => match regex(p) {
                Ok(r) => Val::Bool(r.is_match(s) == (op == Op::Match)),
                Err(e) => Val::error(e),
            },
            _ => invalid(&x, &y),
        },
        Op::LAnd | Op::LOr => match (&x, &y) {
            (Val::Bool(a), Val::Bool(b)) => {
                Val::Bool(if op == Op::LAnd { *a && *b } else { *a || *b })
            }
            _ => invalid(&x, &y),
        },
        Op::Add | Op::Sub | Op::Mul | Op::Div => {
            arith(op, &x, &y, m).unwrap_or_else(|| invalid(&x, &y))
        }
        Op::And | Op::Or | Op::Not => invalid(&x, &y),
    }
}

fn arith<'a>(op: Op, x: &Val<'a>, y: &Val<'a>, m: &Meter) -> Option<Val<'a>> {
    let overflow = || Val::Bottom(CueError::new(Code::Eval, "integer overflow"));
    Some(match (op, x, y) {
        (Op::Div, _, _) => {
            let (a, b) = (num(x)?, num(y)?);
            if b == 0.0 {
                Val::error("failed arithmetic: division by zero")
            } else {
                Val::Float(a / b)
            }
        }
        (_, Val::Int(a), Val::Int(b)) => match op {
            Op::Add => a.checked_add(*b).map_or_else(overflow, Val::Int),
            Op::Sub => a.checked_sub(*b).map_or_else(overflow, Val::Int),
            _ => a.checked_mul(*b).map_or_else(overflow, Val::Int),
        },
        (Op::Add, Val::Str(a), Val::Str(b)) if a.len() + b.len() > MAX_STRING => too_long(),
        (Op::Add, Val::Str(a), Val::Str(b)) if m.bytes(a.len() + b.len()) => m.bottom(),
        (Op::Add, Val::Str(a), Val::Str(b)) => Val::Str(Rc::from(format!("{a}{b}"))),
        (Op::Add, Val::List(a), Val::List(b))
            if a.rest.is_none()
                && b.rest.is_none()
                && m.values(a.elems.len().saturating_add(b.elems.len())) =>
        {
            m.bottom()
        }
        (Op::Add, Val::List(a), Val::List(b)) if a.rest.is_none() && b.rest.is_none() => {
            let mut e = a.elems.clone();
            e.extend(b.elems.iter().cloned());
            Val::List(Rc::new(ListVal {
                elems: e,
                rest: None,
            }))
        }
        (Op::Add | Op::Sub | Op::Mul, _, _) => {
            let (a, b) = (num(x)?, num(y)?);
            let r = match op {
                Op::Add => a + b,
                Op::Sub => a - b,
                _ => a * b,
            };
            let _ = fmt_float(r);
            Val::Float(r)
        }
        _ => return None,
    })
}
