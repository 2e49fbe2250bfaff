//! Expression evaluation (operands), references, and comprehension clauses.

use super::builtins;
use super::error::{Code, CueError};
use super::eval::{var_binding, Evaluator};
use super::label;
use super::parser::{Clause, Expr, FieldKind, IPart, Op, RefKind};
use super::value::{
    force, json_val, resolve_default, show, Binding, Conj, Env, FieldVal, Frame, VId, Val,
};
use std::rc::Rc;

impl<'a> Evaluator<'a> {
    // ---------------------------------------------------------------- comprehensions

    pub(super) fn comp_yields(
        &mut self,
        clauses: &'a [Clause],
        env: Env<'a>,
        out: &mut Vec<Env<'a>>,
    ) -> Result<(), CueError> {
        // Each clause nests a scope: depth-limited like any other recursion.
        let (stop, deep) = (self.budget(), self.enter());
        let r = if stop || deep {
            Ok(())
        } else {
            self.comp_clauses(clauses, env, out)
        };
        self.depth -= 1;
        r
    }

    fn comp_clauses(
        &mut self,
        clauses: &'a [Clause],
        env: Env<'a>,
        out: &mut Vec<Env<'a>>,
    ) -> Result<(), CueError> {
        let Some((first, rest)) = clauses.split_first() else {
            // A yield is kept until its body is evaluated: charged as a value.
            if !self.meter.values(1) {
                out.push(env);
            }
            return Ok(());
        };
        match first {
            Clause::If(e) => match resolve_default(self.eval_expr(e, &env)) {
                Val::Bool(true) => self.comp_yields(rest, env, out),
                Val::Bool(false) => Ok(()),
                Val::Bottom(e) if e.code == Code::Incomplete => Ok(()),
                Val::Bottom(e) => Err(e),
                other => Err(CueError::new(
                    Code::Eval,
                    format!("cannot use {} as type bool", show(&other)),
                )),
            },
            Clause::Let(n, e) => {
                let val = self.eval_expr(e, &env);
                self.comp_yields(
                    rest,
                    env.push(Frame::Vars(vec![(n.clone(), Binding::Val(val))])),
                    out,
                )
            }
            Clause::For { key, val, src, .. } => {
                let src = force(resolve_default(self.eval_expr(src, &env)), &self.meter);
                let n = match &src {
                    Val::List(l) => l.elems.len(),
                    Val::Struct(s) => s.fields.len(),
                    _ => 0,
                };
                if self.meter.values(n) {
                    return Ok(());
                }
                let items: Vec<(Val<'a>, Val<'a>)> = match src {
                    Val::List(l) => l
                        .elems
                        .iter()
                        .enumerate()
                        .map(|(i, x)| (Val::Int(i as i128), x.clone()))
                        .collect(),
                    Val::Struct(s) => s
                        .fields
                        .iter()
                        .filter(|(l, k, _)| *k == FieldKind::Regular && !label::is_internal(l))
                        .filter_map(|(l, _, f)| match (f, label::data_key(l)) {
                            (FieldVal::Done(x), Some(key)) => Some((Val::str(key), x.clone())),
                            _ => None,
                        })
                        .collect(),
                    Val::Bottom(e) if e.code == Code::Incomplete => return Ok(()),
                    Val::Bottom(e) => return Err(e),
                    other if !other.is_concrete() => return Ok(()),
                    other => {
                        return Err(CueError::new(
                            Code::Eval,
                            format!("cannot range over {}", show(&other)),
                        ))
                    }
                };
                for (k, x) in items {
                    if self.meter.exhausted() {
                        return Ok(());
                    }
                    let mut b = Vec::new();
                    if let Some(kn) = key {
                        b.push((kn.clone(), Binding::Val(k)));
                    }
                    b.push((val.clone(), Binding::Val(x)));
                    self.comp_yields(rest, env.push(Frame::Vars(b)), out)?;
                }
                Ok(())
            }
        }
    }

    // ---------------------------------------------------------------- references

    /// The vertex a reference denotes, when it can be found structurally (without evaluating).
    pub(super) fn ref_vertex(&mut self, e: &'a Expr, env: &Env<'a>) -> Option<VId> {
        match e {
            Expr::Ref {
                name,
                up,
                kind: RefKind::Field,
                ..
            } => match env.nth(*up)? {
                Frame::Struct { vertex, .. } => {
                    let vx = *vertex;
                    self.expand(vx);
                    self.v(vx)?.arc_index.get(name).copied()
                }
                Frame::Vars(_) => None,
            },
            Expr::Ref {
                name,
                up,
                kind: RefKind::Let,
                ..
            } => match env.nth(*up)? {
                Frame::Struct { lets, .. } => lets.borrow().get(name).copied(),
                Frame::Vars(_) => None,
            },
            Expr::Ref {
                name,
                up,
                kind: RefKind::Var,
                ..
            } => match var_binding(env, *up, name)? {
                Binding::Vertex(id) => Some(id),
                Binding::Val(_) => None,
            },
            Expr::Sel(base, name, _) => {
                let b = self.ref_vertex(base, env)?;
                self.arc_of(b, name)
            }
            Expr::Index(base, idx, _) => {
                let b = self.ref_vertex(base, env)?;
                let label = match resolve_default(self.eval_expr(idx, env)) {
                    Val::Int(i) => i.to_string(),
                    Val::Str(s) => label::data(&s).into_owned(),
                    _ => return None,
                };
                self.arc_of(b, &label)
            }
            _ => None,
        }
    }

    pub(super) fn arc_of(&mut self, b: VId, name: &str) -> Option<VId> {
        self.expand(b);
        let x = self.v(b)?;
        if !x.disjs.is_empty() || !x.values.is_empty() {
            return None;
        }
        x.arc_index.get(name).copied()
    }

    pub fn eval_expr(&mut self, e: &'a Expr, env: &Env<'a>) -> Val<'a> {
        let (stop, deep) = (self.budget(), self.enter());
        if stop || deep {
            self.depth -= 1;
            return self.aborted();
        }
        let r = self.eval_expr_inner(e, env);
        self.depth -= 1;
        r
    }

    pub(super) fn anon(&mut self, e: &'a Expr, env: &Env<'a>) -> Val<'a> {
        let id = self.new_vertex(
            "",
            None,
            vec![Conj::Expr {
                e,
                env: env.clone(),
                def: false,
                set: None,
            }],
        );
        self.eval_vertex(id)
    }

    pub(super) fn eval_expr_inner(&mut self, e: &'a Expr, env: &Env<'a>) -> Val<'a> {
        match e {
            Expr::Null => Val::Null,
            Expr::Bool(b) => Val::Bool(*b),
            Expr::Int(i) => Val::Int(*i),
            Expr::Float(f, _) => Val::Float(*f),
            Expr::Str(s) => Val::str(s),
            Expr::Bytes(b) => Val::Bytes(Rc::from(b.as_slice())),
            Expr::Top => Val::Top,
            Expr::Bottom(_) => Val::error("explicit error (_|_ literal) in source"),
            Expr::Kind(k) => Val::Kind(*k),
            Expr::Ident(n, _) => Val::error(format!("reference \"{n}\" not found")),
            Expr::Default(x, _) => self.eval_expr(x, env),
            Expr::Interp(parts, _) => {
                let mut s = String::new();
                for p in parts {
                    match p {
                        IPart::Lit(l) => s.push_str(l),
                        IPart::Expr(x) => match resolve_default(self.eval_expr(x, env)) {
                            Val::Str(t) => s.push_str(&t),
                            Val::Bytes(b) => s.push_str(&String::from_utf8_lossy(&b)),
                            v @ (Val::Int(_) | Val::Float(_) | Val::Bool(_)) => {
                                s.push_str(&show(&v))
                            }
                            Val::Bottom(e) => return Val::Bottom(e),
                            v if !v.is_concrete() => {
                                return Val::incomplete(format!(
                                    "invalid interpolation: non-concrete value {}",
                                    show(&v)
                                ))
                            }
                            v => {
                                return Val::error(format!(
                                    "invalid interpolation: cannot use {} as string",
                                    show(&v)
                                ))
                            }
                        },
                    }
                    if s.len() > builtins::MAX_STRING {
                        return builtins::too_long();
                    }
                }
                if self.meter.bytes(s.len()) {
                    return self.aborted();
                }
                Val::Str(Rc::from(s))
            }
            Expr::Ref {
                kind: RefKind::Import(p),
                ..
            } => Val::Package(Rc::from(p.as_str())),
            Expr::Ref {
                kind: RefKind::Predefined(p),
                ..
            } => builtins::predefined(*p),
            Expr::Ref {
                kind: RefKind::Var,
                name,
                up,
                ..
            } => match var_binding(env, *up, name) {
                Some(Binding::Val(v)) => v,
                Some(Binding::Vertex(id)) => self.eval_vertex(id),
                None => Val::error(format!("reference \"{name}\" not found")),
            },
            Expr::Ref { name, .. } => match self.ref_vertex(e, env) {
                Some(id) => self.eval_vertex(id),
                None => {
                    Val::incomplete(format!("reference \"{}\" not found", label::display(name)))
                }
            },
            Expr::Struct(_) | Expr::List(_) | Expr::Binary(Op::And | Op::Or, ..) => {
                self.anon(e, env)
            }
            Expr::Sel(base, name, _) => {
                if let Some(id) = self.ref_vertex(e, env) {
                    return self.eval_vertex(id);
                }
                let b = resolve_default(self.eval_expr(base, env));
                self.select(b, name)
            }
            Expr::Index(base, idx, _) => {
                if let Some(id) = self.ref_vertex(e, env) {
                    return self.eval_vertex(id);
                }
                let b = resolve_default(self.eval_expr(base, env));
                let i = resolve_default(self.eval_expr(idx, env));
                self.index(b, i)
            }
            Expr::Call(f, args, _) => {
                let fv = self.eval_expr(f, env);
                let mut av = Vec::with_capacity(args.len());
                for a in args {
                    av.push(self.eval_expr(a, env));
                }
                match fv {
                    Val::Builtin(b) => builtins::call(b, av, &self.meter),
                    Val::Bottom(e) => Val::Bottom(e),
                    other => Val::error(format!("cannot call non-function {}", show(&other))),
                }
            }
            Expr::Unary(op, x, _) => {
                let v = resolve_default(self.eval_expr(x, env));
                builtins::unary(*op, v, &self.meter)
            }
            Expr::Binary(op @ (Op::Eq | Op::Ne), a, b, _)
                if matches!(**a, Expr::Bottom(_)) || matches!(**b, Expr::Bottom(_)) =>
            {
                // `x != _|_`: the existence test: is x an error or missing?
                let other = if matches!(**a, Expr::Bottom(_)) { b } else { a };
                let v = self.eval_expr(other, env);
                if let Val::Bottom(e) = &v {
                    if e.code == Code::Budget {
                        return v;
                    }
                }
                Val::Bool(matches!(v, Val::Bottom(_)) == (*op == Op::Eq))
            }
            Expr::Binary(op, a, b, _) => {
                let x = resolve_default(self.eval_expr(a, env));
                if matches!(
                    (op, &x),
                    (Op::LAnd, Val::Bool(false)) | (Op::LOr, Val::Bool(true))
                ) {
                    return x;
                }
                let y = resolve_default(self.eval_expr(b, env));
                builtins::binary(*op, x, y, &self.meter)
            }
        }
    }

    pub(super) fn select(&mut self, b: Val<'a>, name: &str) -> Val<'a> {
        match b {
            Val::Package(p) => builtins::member(&p, name),
            // A document object: one field read without converting the rest.
            Val::Json(serde_json::Value::Object(o)) => {
                match label::data_key(name).and_then(|k| o.get(k)) {
                    Some(x) => json_val(x, &self.meter),
                    None => Val::incomplete(format!("undefined field: {}", label::display(name))),
                }
            }
            j @ Val::Json(_) => {
                let f = force(j, &self.meter);
                self.select(f, name)
            }
            Val::Struct(s) => match s.fields.iter().find(|(l, _, _)| l == name) {
                Some((_, FieldKind::Regular, FieldVal::Done(v))) => v.clone(),
                _ => Val::incomplete(format!("undefined field: {}", label::display(name))),
            },
            Val::Bottom(e) => Val::Bottom(e),
            v if !v.is_concrete() => Val::incomplete(format!("undefined field: {name}")),
            v => Val::error(format!(
                "invalid selector {name} for value of type {}",
                super::value::kind_name(v.kind())
            )),
        }
    }

    pub(super) fn index(&mut self, b: Val<'a>, i: Val<'a>) -> Val<'a> {
        if let (Val::Json(serde_json::Value::Array(a)), Val::Int(n)) = (&b, &i) {
            // A document array: one element read without converting the rest.
            return match usize::try_from(*n).ok().and_then(|k| a.get(k)) {
                Some(x) => json_val(x, &self.meter),
                None => Val::error(format!("index out of range [{n}] with length {}", a.len())),
            };
        }
        match (force(b, &self.meter), i) {
            (Val::Bottom(e), _) | (_, Val::Bottom(e)) => Val::Bottom(e),
            (Val::List(l), Val::Int(n)) => {
                match usize::try_from(n).ok().and_then(|k| l.elems.get(k)) {
                    Some(v) => v.clone(),
                    None if l.rest.is_some() => Val::incomplete("index out of range"),
                    None => Val::error(format!(
                        "index out of range [{n}] with length {}",
                        l.elems.len()
                    )),
                }
            }
            (s @ Val::Struct(_), Val::Str(k)) => self.select(s, &label::data(&k)),
            (Val::Str(s), Val::Int(n)) => {
                match usize::try_from(n).ok().and_then(|k| s.as_bytes().get(k)) {
                    Some(c) => Val::Int(i128::from(*c)),
                    None => Val::error("index out of range"),
                }
            }
            (b, i) if !b.is_concrete() || !i.is_concrete() => Val::incomplete("non-concrete index"),
            (b, i) => Val::error(format!("invalid index {} for {}", show(&i), show(&b))),
        }
    }
}
