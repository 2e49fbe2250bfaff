//! Values and scalar unification (atoms, basic types, bounds, validators, disjunctions).

use super::error::{quote, Code, CueError};
use super::eval::Conj;
use super::parser::{
    FieldKind, Op, K_BOOL, K_BYTES, K_FLOAT, K_INT, K_LIST, K_NULL, K_NUMBER, K_STRING, K_STRUCT,
    K_TOP,
};
use std::collections::HashSet;
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
    Validator(Rc<str>, Rc<Vec<Val<'a>>>),
    Conj(Rc<Vec<Val<'a>>>),
    Struct(Rc<StructVal<'a>>),
    List(Rc<ListVal<'a>>),
    /// Alternatives with their default marks.
    Disj(Rc<Vec<(Val<'a>, bool)>>),
    Builtin(Rc<str>),
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

/// A document value: scalars converted, objects and arrays left lazy.
pub fn json_val(j: &serde_json::Value) -> Val<'_> {
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
        serde_json::Value::String(s) => Val::str(s),
        serde_json::Value::Array(_) | serde_json::Value::Object(_) => Val::Json(j),
    }
}

/// One level of a lazy document value as a struct or list (its children stay lazy): the value the
/// document's vertices would have evaluated to. Other values are returned unchanged.
pub fn force(v: Val<'_>) -> Val<'_> {
    match v {
        Val::Json(serde_json::Value::Array(a)) => Val::List(Rc::new(ListVal {
            elems: a.iter().map(json_val).collect(),
            rest: None,
        })),
        Val::Json(serde_json::Value::Object(o)) => Val::Struct(Rc::new(StructVal {
            fields: o
                .iter()
                .map(|(k, x)| (k.clone(), FieldKind::Regular, FieldVal::Done(json_val(x))))
                .collect(),
            closed: Vec::new(),
            patterns: Vec::new(),
        })),
        Val::Json(other) => json_val(other),
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
            Val::Conj(vs) => vs.iter().fold(K_TOP, |k, v| k & v.kind()),
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

/// Formats a value as CUE prints it in messages.
pub fn show(v: &Val) -> String {
    match v {
        Val::Top => "_".into(),
        Val::Bottom(_) => "_|_".into(),
        Val::Null => "null".into(),
        Val::Bool(b) => b.to_string(),
        Val::Int(i) => i.to_string(),
        Val::Float(f) => fmt_float(*f),
        Val::Str(s) => quote(s),
        Val::Bytes(b) => format!("'{}'", String::from_utf8_lossy(b)),
        Val::Kind(k) => kind_name(*k),
        Val::Bound(op, x) => format!("{}{}", op.text(), show(x)),
        Val::Validator(n, args) if args.is_empty() => n.to_string(),
        Val::Validator(n, args) => format!(
            "{n}({})",
            args.iter().map(show).collect::<Vec<_>>().join(", ")
        ),
        Val::Conj(vs) => vs.iter().map(show).collect::<Vec<_>>().join(" & "),
        Val::Struct(s) => {
            let fs: Vec<String> = s
                .fields
                .iter()
                .filter(|(l, k, _)| {
                    *k == FieldKind::Regular && !l.starts_with('#') && !l.starts_with('_')
                })
                .map(|(l, _, f)| match f {
                    FieldVal::Done(v) => format!(
                        "{}:{}",
                        super::error::render_path(std::slice::from_ref(l)),
                        show(v)
                    ),
                    FieldVal::Lazy(_) => format!("{l}?:_"),
                })
                .collect();
            format!("{{{}}}", fs.join(","))
        }
        Val::List(l) => {
            let mut es: Vec<String> = l.elems.iter().map(show).collect();
            if l.rest.is_some() {
                es.push("...".into());
            }
            format!("[{}]", es.join(","))
        }
        Val::Disj(alts) => alts
            .iter()
            .map(|(v, d)| if *d { format!("*{}", show(v)) } else { show(v) })
            .collect::<Vec<_>>()
            .join(" | "),
        Val::Builtin(n) | Val::Package(n) => n.to_string(),
        Val::Json(j) => show(&force(Val::Json(j))),
    }
}

/// Structural equality of concrete values.
pub fn equal(a: &Val, b: &Val) -> bool {
    match (a, b) {
        (Val::Json(x), Val::Json(y)) if std::ptr::eq(*x, *y) => true,
        (Val::Json(_), _) | (_, Val::Json(_)) => equal(&force(a.clone()), &force(b.clone())),
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Float(x), Val::Float(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Bytes(x), Val::Bytes(y)) => x == y,
        (Val::Kind(x), Val::Kind(y)) => x == y,
        (Val::Bound(o1, x), Val::Bound(o2, y)) => o1 == o2 && equal(x, y),
        (Val::List(x), Val::List(y)) => {
            x.rest.is_none() == y.rest.is_none()
                && x.elems.len() == y.elems.len()
                && x.elems.iter().zip(y.elems.iter()).all(|(p, q)| equal(p, q))
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
            xs.len() == ys.len()
                && xs.iter().all(|(l, _, fv)| {
                    ys.iter().any(|(m, _, gv)| {
                    l == m
                        && matches!((fv, gv), (FieldVal::Done(p), FieldVal::Done(q)) if equal(p, q))
                })
                })
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

/// Checks a concrete atom against a constraint (bound or validator). `check` runs validators.
pub fn check_constraint<'a>(
    atom: &Val<'a>,
    c: &Val<'a>,
    check: &mut dyn FnMut(&str, &Val<'a>, &[Val<'a>]) -> Val<'a>,
) -> Val<'a> {
    match c {
        Val::Bound(op, b) => {
            if atom.kind() & c.kind() == 0 {
                return conflict(atom, c);
            }
            let ok = match op {
                Op::Match | Op::NotMatch => {
                    let r = check(
                        if *op == Op::Match { "=~" } else { "!~" },
                        atom,
                        std::slice::from_ref(b),
                    );
                    match r {
                        Val::Bool(x) => x,
                        other => return other,
                    }
                }
                Op::Ne => !equal(atom, b),
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
        Val::Validator(name, args) => match check(name, atom, args) {
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
        Val::Conj(vs) => vs.as_ref().clone(),
        Val::Top => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Unifies two non-struct, non-list values; `new` is the later conjunct (printed first in conflicts).
pub fn unify<'a>(
    acc: Val<'a>,
    new: Val<'a>,
    check: &mut dyn FnMut(&str, &Val<'a>, &[Val<'a>]) -> Val<'a>,
) -> Val<'a> {
    match (force(acc), force(new)) {
        (b @ Val::Bottom(_), _) | (_, b @ Val::Bottom(_)) => b,
        (Val::Top, x) | (x, Val::Top) => x,
        (Val::Disj(alts), other) | (other, Val::Disj(alts)) => {
            let mut out: Vec<(Val<'a>, bool)> = Vec::new();
            let mut errs = 0;
            for (a, d) in alts.iter() {
                match unify(other.clone(), a.clone(), check) {
                    Val::Bottom(_) => errs += 1,
                    v => {
                        if !out.iter().any(|(o, _)| equal(o, &v) && v.is_concrete()) {
                            out.push((v, *d));
                        }
                    }
                }
            }
            finish_disj(out, errs)
        }
        (a, n) if a.is_atom() && n.is_atom() => {
            if equal(&a, &n) {
                a
            } else {
                conflict(&n, &a)
            }
        }
        (a, n) if a.is_atom() => {
            let mut r = a;
            for c in constraints(&n) {
                r = check_constraint(&r, &c, check);
                if let Val::Bottom(_) = r {
                    break;
                }
            }
            r
        }
        (a, n) if n.is_atom() => {
            let mut r = n;
            for c in constraints(&a) {
                r = check_constraint(&r, &c, check);
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
                if !matches!(c, Val::Kind(_)) && !cs.iter().any(|x| equal(x, &c)) {
                    cs.push(c);
                }
            }
            if kind != K_TOP {
                cs.insert(0, Val::Kind(kind));
            }
            match cs.len() {
                0 => Val::Top,
                1 => cs.pop().unwrap_or(Val::Top),
                _ => Val::Conj(Rc::new(cs)),
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
