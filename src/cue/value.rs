//! Values and scalar unification (atoms, basic types, bounds, validators, disjunctions), and the
//! conjuncts values hold unevaluated (an optional field, a pattern, an open list's element type).
//! Conjuncts live here rather than in `eval` because values and conjuncts contain each other.

use super::budget::Meter;
use super::error::{quote, Code, CueError};
use super::parser::{
    Expr, FieldKind, Op, StructLit, K_BOOL, K_BYTES, K_FLOAT, K_INT, K_LIST, K_NULL, K_NUMBER,
    K_STRING, K_STRUCT, K_TOP,
};
use super::stdlib::Builtin;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

#[derive(Clone, Debug)]
pub enum Val<'a> {
    Top,
    Bottom(CueError),
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(Rc<str>),
    Bytes(Rc<[u8]>),
    Kind(u16),
    Bound(Op, Rc<Val<'a>>),
    Validator(Builtin, Rc<Vec<Val<'a>>>),
    /// Several constraints none of which subsumes the others (`>=1 & <=5 & int`), kept until a
    /// concrete value meets them: one value, not to be confused with a vertex's `Conj`uncts.
    Constraints(Rc<Vec<Val<'a>>>),
    Struct(Rc<StructVal<'a>>),
    List(Rc<ListVal<'a>>),
    /// Alternatives with their default marks.
    Disj(Rc<Vec<(Val<'a>, bool)>>),
    Builtin(Builtin),
    Package(Rc<str>),
    /// A JSON object or array of the document, converted lazily (`force`): concrete data that
    /// no constraint has reached needs neither vertices nor conversion (issue 5's performance).
    /// Never a scalar: `json_val` converts scalars at once.
    Json(&'a serde_json::Value),
}

#[derive(Clone, Debug)]
pub enum FieldVal<'a> {
    Done(Val<'a>),
    /// An optional field not evaluated (its conjuncts, applied when unified with a value).
    Lazy(Vec<Conj<'a>>),
}

#[derive(Clone, Debug)]
pub struct StructVal<'a> {
    pub fields: Vec<(String, FieldKind, FieldVal<'a>)>,
    pub closed: Vec<ClosedSet<'a>>,
    pub patterns: Vec<(Conj<'a>, Conj<'a>)>,
}

#[derive(Clone, Debug, Default)]
pub struct ClosedSet<'a> {
    pub labels: HashSet<String>,
    pub patterns: Vec<Conj<'a>>,
    pub open: bool,
}

#[derive(Clone, Debug)]
pub struct ListVal<'a> {
    pub elems: Vec<Val<'a>>,
    /// `Some` for an open list: constraints on further elements.
    pub rest: Option<Vec<Conj<'a>>>,
}

/// A vertex of the evaluator's graph (an index into `Evaluator::vs`).
pub type VId = usize;

#[derive(Clone, Debug)]
#[allow(dead_code)] // Vertex bindings: reserved for `for` over a vertex without copying.
pub enum Binding<'a> {
    Val(Val<'a>),
    Vertex(VId),
}

#[derive(Debug)]
pub enum Frame<'a> {
    Struct {
        vertex: VId,
        lets: RefCell<HashMap<String, VId>>,
    },
    Vars(Vec<(String, Binding<'a>)>),
}

/// The lexical environment a conjunct's expression is evaluated in, innermost frame first.
#[derive(Clone, Debug, Default)]
pub struct Env<'a>(Option<Rc<(Frame<'a>, Env<'a>)>>);

impl<'a> Env<'a> {
    pub(super) fn push(&self, f: Frame<'a>) -> Env<'a> {
        Env(Some(Rc::new((f, self.clone()))))
    }
    pub(super) fn nth(&self, up: usize) -> Option<&Frame<'a>> {
        let mut cur = self.0.as_ref()?;
        for _ in 0..up {
            cur = cur.1 .0.as_ref()?;
        }
        Some(&cur.0)
    }
}

/// One conjunct of a vertex, not yet evaluated: an expression with its environment, a struct
/// literal, or a value. A vertex's value is the unification of its conjuncts.
#[derive(Clone, Debug)]
pub enum Conj<'a> {
    Expr {
        e: &'a Expr,
        env: Env<'a>,
        def: bool,
        set: Option<usize>,
    },
    Lit {
        lit: &'a StructLit,
        env: Env<'a>,
        def: bool,
    },
    Val(Val<'a>),
}

/// The meter's charges as values, for the callers that must return one.
impl Meter {
    /// The budget error as a value, for a caller that must return one.
    pub fn bottom<'a>(&self) -> Val<'a> {
        Val::Bottom(self.error())
    }

    /// A string value, charged to the bytes budget.
    pub fn str<'a>(&self, s: &str) -> Val<'a> {
        if self.bytes(s.len()) {
            return self.bottom();
        }
        Val::str(s)
    }

    /// Charges the values and bytes of a list of strings before it is built.
    pub fn strs<'a>(&self, count: usize, total_bytes: usize) -> Option<Val<'a>> {
        if self.values(count) || self.bytes(total_bytes) {
            return Some(self.bottom());
        }
        None
    }
}

/// A document value: scalars converted, objects and arrays left lazy. A string is copied, so
/// its bytes are charged.
pub fn json_val<'a>(j: &'a serde_json::Value, m: &Meter) -> Val<'a> {
    match j {
        serde_json::Value::Null => Val::Null,
        serde_json::Value::Bool(b) => Val::Bool(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Val::Int(i128::from(i)),
            (_, Some(u), _) => Val::Int(i128::from(u)),
            (_, _, Some(f)) => Val::Float(f),
            // Rejected before evaluation (`check_document`).
            _ => Val::error("invalid number in document"),
        },
        serde_json::Value::String(s) => m.str(s),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => Val::Json(j),
    }
}

/// One level of a lazy document value as a struct or list (its children stay lazy): the value the
/// document's vertices would have evaluated to. Other values are returned unchanged. The level's
/// elements (and its keys' bytes) are charged: re-reading a large document value is not free.
pub fn force<'a>(v: Val<'a>, m: &Meter) -> Val<'a> {
    match v {
        Val::Json(serde_json::Value::Array(a)) => {
            if m.values(a.len()) {
                return m.bottom();
            }
            Val::List(Rc::new(ListVal {
                elems: a.iter().map(|x| json_val(x, m)).collect(),
                rest: None,
            }))
        }
        Val::Json(serde_json::Value::Object(o)) => {
            if m.values(o.len()) || m.bytes(o.keys().map(String::len).sum()) {
                return m.bottom();
            }
            Val::Struct(Rc::new(StructVal {
                fields: o
                    .iter()
                    .map(|(k, x)| {
                        (
                            super::label::data(k).into_owned(),
                            FieldKind::Regular,
                            FieldVal::Done(json_val(x, m)),
                        )
                    })
                    .collect(),
                closed: Vec::new(),
                patterns: Vec::new(),
            }))
        }
        Val::Json(other) => json_val(other, m),
        other => other,
    }
}

impl<'a> Val<'a> {
    pub fn incomplete(msg: impl Into<String>) -> Self {
        Val::Bottom(CueError::new(Code::Incomplete, msg))
    }
    pub fn error(msg: impl Into<String>) -> Self {
        Val::Bottom(CueError::new(Code::Eval, msg))
    }
    pub fn str(s: &str) -> Self {
        Val::Str(Rc::from(s))
    }
    pub fn is_concrete(&self) -> bool {
        matches!(
            self,
            Val::Null
                | Val::Bool(_)
                | Val::Int(_)
                | Val::Float(_)
                | Val::Str(_)
                | Val::Bytes(_)
                | Val::Struct(_)
                | Val::List(_)
                | Val::Json(_)
        )
    }
    pub fn is_atom(&self) -> bool {
        matches!(
            self,
            Val::Null | Val::Bool(_) | Val::Int(_) | Val::Float(_) | Val::Str(_) | Val::Bytes(_)
        )
    }
    /// The set of kinds this value allows.
    pub fn kind(&self) -> u16 {
        match self {
            Val::Top | Val::Bottom(_) | Val::Builtin(_) | Val::Package(_) => K_TOP,
            Val::Null => K_NULL,
            Val::Bool(_) => K_BOOL,
            Val::Int(_) => K_INT,
            Val::Float(_) => K_FLOAT,
            Val::Str(_) => K_STRING,
            Val::Bytes(_) => K_BYTES,
            Val::Kind(k) => *k,
            Val::Bound(op, v) => match op {
                Op::Match | Op::NotMatch => K_STRING,
                Op::Ne => K_TOP,
                _ => match v.as_ref() {
                    Val::Int(_) | Val::Float(_) => K_NUMBER,
                    other => other.kind(),
                },
            },
            Val::Validator(..) => K_TOP,
            Val::Constraints(vs) => vs.iter().fold(K_TOP, |k, v| k & v.kind()),
            Val::Struct(_) => K_STRUCT,
            Val::List(_) => K_LIST,
            Val::Json(j) if j.is_array() => K_LIST,
            Val::Json(_) => K_STRUCT,
            Val::Disj(alts) => alts.iter().fold(0, |k, (v, _)| k | v.kind()),
        }
    }
}

pub fn kind_name(k: u16) -> String {
    let names = [
        (K_NULL, "null"),
        (K_BOOL, "bool"),
        (K_INT, "int"),
        (K_FLOAT, "float"),
        (K_STRING, "string"),
        (K_BYTES, "bytes"),
        (K_LIST, "list"),
        (K_STRUCT, "struct"),
    ];
    if k == K_TOP {
        return "_".into();
    }
    if k & K_NUMBER == K_NUMBER {
        let rest = k & !K_NUMBER;
        let mut out = vec!["number".to_string()];
        out.extend(
            names
                .iter()
                .filter(|(b, _)| rest & b != 0)
                .map(|(_, n)| n.to_string()),
        );
        return out.join("|");
    }
    names
        .iter()
        .filter(|(b, _)| k & b != 0)
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join("|")
}

pub fn fmt_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{f:.1}")
    } else {
        format!("{f}")
    }
}

/// Longest rendering of a value in a message: a document or list of any size renders in bounded
/// time and memory, cut with `...`.
pub const SHOW_MAX: usize = 2048;

/// Values nested deeper than this render as `...` and compare unequal (values are bounded by the
/// evaluation and document depth budgets; this only keeps the walks over values from recursing
/// without end).
pub const SHOW_DEPTH: usize = 256;

/// Formats a value as CUE prints it in messages (at most about `SHOW_MAX` bytes).
pub fn show(v: &Val) -> String {
    let mut out = String::new();
    write_val(v, &mut out, 0);
    if out.len() > SHOW_MAX {
        let cut = prefix(&out, SHOW_MAX).len();
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

/// The longest prefix of `s` of at most `n` bytes that ends on a character boundary.
fn prefix(s: &str, n: usize) -> &str {
    let mut cut = n.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.get(..cut).unwrap_or("")
}

fn full(out: &str, depth: usize) -> bool {
    out.len() > SHOW_MAX || depth > SHOW_DEPTH
}

fn write_seq<T>(
    out: &mut String,
    open: &str,
    close: &str,
    items: impl Iterator<Item = T>,
    depth: usize,
    mut each: impl FnMut(T, &mut String, usize),
) {
    out.push_str(open);
    for (i, x) in items.enumerate() {
        if full(out, depth) {
            out.push_str("...");
            break;
        }
        if i > 0 {
            out.push(',');
        }
        each(x, out, depth + 1);
    }
    out.push_str(close);
}

fn write_json(j: &serde_json::Value, out: &mut String, depth: usize) {
    match j {
        serde_json::Value::Array(a) => write_seq(out, "[", "]", a.iter(), depth, |x, o, d| {
            write_json(x, o, d)
        }),
        serde_json::Value::Object(o) => {
            write_seq(out, "{", "}", o.iter(), depth, |(k, x), o, d| {
                o.push_str(&super::label::display(&super::label::data(k)));
                o.push(':');
                write_json(x, o, d);
            })
        }
        serde_json::Value::String(s) if s.len() > SHOW_MAX => {
            out.push_str(&quote(prefix(s, SHOW_MAX)));
        }
        serde_json::Value::String(s) => out.push_str(&quote(s)),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&fmt_float(f)),
            _ => out.push_str("_|_"),
        },
        other => out.push_str(&other.to_string()),
    }
}

fn write_val(v: &Val, out: &mut String, depth: usize) {
    if full(out, depth) {
        out.push_str("...");
        return;
    }
    match v {
        Val::Top => out.push('_'),
        Val::Bottom(_) => out.push_str("_|_"),
        Val::Null => out.push_str("null"),
        Val::Bool(b) => out.push_str(&b.to_string()),
        Val::Int(i) => out.push_str(&i.to_string()),
        Val::Float(f) => out.push_str(&fmt_float(*f)),
        Val::Str(s) if s.len() > SHOW_MAX => {
            out.push_str(&quote(prefix(s, SHOW_MAX)));
        }
        Val::Str(s) => out.push_str(&quote(s)),
        Val::Bytes(b) => {
            let b = b.get(..b.len().min(SHOW_MAX)).unwrap_or_default();
            out.push_str(&format!("'{}'", String::from_utf8_lossy(b)));
        }
        Val::Kind(k) => out.push_str(&kind_name(*k)),
        Val::Bound(op, x) => {
            out.push_str(op.text());
            write_val(x, out, depth + 1);
        }
        Val::Validator(b, args) if args.is_empty() => out.push_str(b.name()),
        Val::Validator(b, args) => {
            out.push_str(b.name());
            write_seq(out, "(", ")", args.iter(), depth, |x, o, d| {
                if !o.ends_with('(') {
                    o.push(' ');
                }
                write_val(x, o, d)
            });
        }
        Val::Constraints(vs) => {
            for (i, x) in vs.iter().enumerate() {
                if i > 0 {
                    out.push_str(" & ");
                }
                write_val(x, out, depth + 1);
            }
        }
        Val::Struct(s) => {
            let fs = s
                .fields
                .iter()
                .filter(|(l, k, _)| *k == FieldKind::Regular && !super::label::is_internal(l));
            write_seq(out, "{", "}", fs, depth, |(l, _, f), o, d| match f {
                FieldVal::Done(v) => {
                    o.push_str(&super::label::display(l));
                    o.push(':');
                    write_val(v, o, d);
                }
                FieldVal::Lazy(_) => o.push_str(&format!("{l}?:_")),
            });
        }
        Val::List(l) => {
            out.push('[');
            for (i, x) in l.elems.iter().enumerate() {
                if full(out, depth) {
                    out.push_str("...");
                    break;
                }
                if i > 0 {
                    out.push(',');
                }
                write_val(x, out, depth + 1);
            }
            if l.rest.is_some() {
                if !l.elems.is_empty() {
                    out.push(',');
                }
                out.push_str("...");
            }
            out.push(']');
        }
        Val::Disj(alts) => {
            for (i, (x, d)) in alts.iter().enumerate() {
                if full(out, depth) {
                    out.push_str("...");
                    break;
                }
                if i > 0 {
                    out.push_str(" | ");
                }
                if *d {
                    out.push('*');
                }
                write_val(x, out, depth + 1);
            }
        }
        Val::Builtin(b) => out.push_str(b.name()),
        Val::Package(n) => out.push_str(n),
        Val::Json(j) => write_json(j, out, depth),
    }
}

/// Structural equality of concrete values. Each node compared is a step (and long strings a step
/// per `BYTES_PER_STEP`), so repeated comparisons of large values meet the step budget; an
/// exhausted budget compares unequal (the caller's result is discarded with the budget error).
pub fn equal(a: &Val, b: &Val, m: &Meter) -> bool {
    equal_at(a, b, m, 0)
}

fn equal_at(a: &Val, b: &Val, m: &Meter, depth: usize) -> bool {
    if m.steps(1) || depth > SHOW_DEPTH {
        return false;
    }
    let eq = |x: &Val, y: &Val| equal_at(x, y, m, depth + 1);
    match (a, b) {
        (Val::Json(x), Val::Json(y)) if std::ptr::eq(*x, *y) => true,
        (Val::Json(_), _) | (_, Val::Json(_)) => eq(&force(a.clone(), m), &force(b.clone(), m)),
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Float(x), Val::Float(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x.len() == y.len() && !m.scan(x.len()) && x == y,
        (Val::Bytes(x), Val::Bytes(y)) => x.len() == y.len() && !m.scan(x.len()) && x == y,
        (Val::Kind(x), Val::Kind(y)) => x == y,
        (Val::Bound(o1, x), Val::Bound(o2, y)) => o1 == o2 && eq(x, y),
        (Val::List(x), Val::List(y)) => {
            x.rest.is_none() == y.rest.is_none()
                && x.elems.len() == y.elems.len()
                && x.elems.iter().zip(y.elems.iter()).all(|(p, q)| eq(p, q))
        }
        (Val::Struct(x), Val::Struct(y)) => {
            let xs: Vec<_> = x
                .fields
                .iter()
                .filter(|f| f.1 == FieldKind::Regular)
                .collect();
            let ys: Vec<_> = y
                .fields
                .iter()
                .filter(|f| f.1 == FieldKind::Regular)
                .collect();
            let same = |l: &String, fv: &FieldVal, m2: &String, gv: &FieldVal| {
                l == m2 && matches!((fv, gv), (FieldVal::Done(p), FieldVal::Done(q)) if eq(p, q))
            };
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(l, _, fv)| ys.iter().any(|(m2, _, gv)| same(l, fv, m2, gv)))
        }
        _ => false,
    }
}

fn conflict<'a>(new: &Val<'a>, acc: &Val<'a>) -> Val<'a> {
    let (kn, ka) = (new.kind(), acc.kind());
    let mut msg = format!("conflicting values {} and {}", show(new), show(acc));
    if kn & ka == 0 {
        msg.push_str(&format!(
            " (mismatched types {} and {})",
            kind_name(kn),
            kind_name(ka)
        ));
    }
    Val::error(msg)
}

/// Checks a concrete atom against a constraint (bound or validator).
pub fn check_constraint<'a>(atom: &Val<'a>, c: &Val<'a>, m: &Meter) -> Val<'a> {
    match c {
        Val::Bound(op, b) => {
            if atom.kind() & c.kind() == 0 {
                return conflict(atom, c);
            }
            let ok = match op {
                Op::Match | Op::NotMatch => {
                    match super::builtins::check_match(atom, b, *op == Op::Match, m) {
                        Val::Bool(x) => x,
                        other => return other,
                    }
                }
                Op::Ne => !equal(atom, b, m),
                _ => match compare(atom, b) {
                    Some(o) => match op {
                        Op::Lt => o == std::cmp::Ordering::Less,
                        Op::Le => o != std::cmp::Ordering::Greater,
                        Op::Gt => o == std::cmp::Ordering::Greater,
                        Op::Ge => o != std::cmp::Ordering::Less,
                        _ => false,
                    },
                    None => return conflict(atom, c),
                },
            };
            if ok {
                atom.clone()
            } else {
                Val::error(format!(
                    "invalid value {} (out of bound {})",
                    show(atom),
                    show(c)
                ))
            }
        }
        Val::Validator(f, args) => match super::builtins::check(*f, atom, args, m) {
            Val::Bool(true) => atom.clone(),
            Val::Bool(false) => Val::error(format!(
                "invalid value {} (does not satisfy {})",
                show(atom),
                show(c)
            )),
            Val::Bottom(e) if e.code == Code::Incomplete => Val::Bottom(e),
            Val::Bottom(e) => Val::error(format!(
                "invalid value {} (does not satisfy {}): {}",
                show(atom),
                show(c),
                e.msg
            )),
            _ => atom.clone(),
        },
        Val::Kind(k) => {
            if atom.kind() & k != 0 {
                atom.clone()
            } else {
                conflict(atom, c)
            }
        }
        _ => atom.clone(),
    }
}

pub fn compare(a: &Val, b: &Val) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Some(x.cmp(y)),
        (Val::Int(x), Val::Float(y)) => (*x as f64).partial_cmp(y),
        (Val::Float(x), Val::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Val::Float(x), Val::Float(y)) => x.partial_cmp(y),
        (Val::Str(x), Val::Str(y)) => Some(x.cmp(y)),
        (Val::Bytes(x), Val::Bytes(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn constraints<'a>(v: &Val<'a>) -> Vec<Val<'a>> {
    match v {
        Val::Constraints(vs) => vs.as_ref().clone(),
        Val::Top => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Unifies two non-struct, non-list values; `new` is the later conjunct (printed first in conflicts).
pub fn unify<'a>(acc: Val<'a>, new: Val<'a>, m: &Meter) -> Val<'a> {
    match (force(acc, m), force(new, m)) {
        (b @ Val::Bottom(_), _) | (_, b @ Val::Bottom(_)) => b,
        (Val::Top, x) | (x, Val::Top) => x,
        (Val::Disj(alts), other) | (other, Val::Disj(alts)) => {
            let mut out: Vec<(Val<'a>, bool)> = Vec::new();
            let mut errs = 0;
            for (a, d) in alts.iter() {
                if m.values(1) {
                    return m.bottom();
                }
                match unify(other.clone(), a.clone(), m) {
                    Val::Bottom(e) if e.code == Code::Budget => return Val::Bottom(e),
                    Val::Bottom(_) => errs += 1,
                    v => {
                        if !out.iter().any(|(o, _)| v.is_concrete() && equal(o, &v, m)) {
                            out.push((v, *d));
                        }
                    }
                }
            }
            finish_disj(out, errs)
        }
        (a, n) if a.is_atom() && n.is_atom() => {
            if equal(&a, &n, m) {
                a
            } else {
                conflict(&n, &a)
            }
        }
        (a, n) if a.is_atom() => {
            let mut r = a;
            for c in constraints(&n) {
                r = check_constraint(&r, &c, m);
                if let Val::Bottom(_) = r {
                    break;
                }
            }
            r
        }
        (a, n) if n.is_atom() => {
            let mut r = n;
            for c in constraints(&a) {
                r = check_constraint(&r, &c, m);
                if let Val::Bottom(_) = r {
                    break;
                }
            }
            r
        }
        (a, n) => {
            if a.kind() & n.kind() == 0 {
                return conflict(&n, &a);
            }
            let mut cs = constraints(&a);
            let mut kind = K_TOP;
            for c in cs.iter().chain(constraints(&n).iter()) {
                if let Val::Kind(k) = c {
                    kind &= k;
                }
            }
            cs.retain(|c| !matches!(c, Val::Kind(_)));
            for c in constraints(&n) {
                if !matches!(c, Val::Kind(_)) && !cs.iter().any(|x| equal(x, &c, m)) {
                    cs.push(c);
                }
            }
            if kind != K_TOP {
                cs.insert(0, Val::Kind(kind));
            }
            match cs.len() {
                0 => Val::Top,
                1 => cs.pop().unwrap_or(Val::Top),
                _ => Val::Constraints(Rc::new(cs)),
            }
        }
    }
}

pub fn finish_disj<'a>(out: Vec<(Val<'a>, bool)>, errs: usize) -> Val<'a> {
    match out.len() {
        0 => {
            let mut e = CueError::new(Code::Eval, format!("{errs} errors in empty disjunction:"));
            e.sub = errs;
            Val::Bottom(e)
        }
        1 => out.into_iter().next().map_or(Val::Top, |(v, _)| v),
        _ => Val::Disj(Rc::new(out)),
    }
}

/// Resolves a disjunction to its default (or only) value for use as an operand.
pub fn resolve_default(v: Val) -> Val {
    match v {
        Val::Disj(alts) => {
            let defs: Vec<&Val> = alts.iter().filter(|(_, d)| *d).map(|(v, _)| v).collect();
            match defs.as_slice() {
                [one] => (*one).clone(),
                _ => Val::incomplete(format!(
                    "unresolved disjunction {}",
                    show(&Val::Disj(alts.clone()))
                )),
            }
        }
        other => other,
    }
}
