//! Evaluating a vertex to a value (disjunctions, lists, structs, closedness), and validation.

use super::builtins;
use super::error::{Code, CueError};
use super::eval::Evaluator;
use super::parser::FieldKind;
use super::value::SHOW_DEPTH;
use super::value::{equal, finish_disj, show, unify, Conj, FieldVal, ListVal, StructVal, VId, Val};
use std::rc::Rc;

impl<'a> Evaluator<'a> {
    // ---------------------------------------------------------------- evaluation

    pub fn eval_vertex(&mut self, v: VId) -> Val<'a> {
        if let Some(r) = self.v(v).and_then(|x| x.result.clone()) {
            return r;
        }
        if self.v(v).is_some_and(|x| x.evaluating) {
            return Val::incomplete("structural cycle");
        }
        // Document data that nothing else constrains (its conjuncts are all the same document
        // value): its value is that data, read lazily, with no vertices built below it. Every
        // constraint on a field (a policy conjunct, a pattern, a list element constraint, a
        // comprehension's field) is a conjunct of its vertex, so this holds for the subtree.
        if let Some(j) = self.v(v).and_then(|x| pure_document(&x.conjs)) {
            if let Some(x) = self.vm(v) {
                x.result = Some(Val::Json(j));
            }
            return Val::Json(j);
        }
        let (stop, deep) = (self.budget(), self.enter());
        if stop || deep {
            self.depth -= 1;
            return self.aborted();
        }
        if let Some(x) = self.vm(v) {
            x.evaluating = true;
        }
        self.expand(v);
        let r = if self.v(v).is_some_and(|x| !x.disjs.is_empty()) {
            self.eval_disj(v)
        } else {
            self.eval_plain(v)
        };
        if let Some(x) = self.vm(v) {
            x.evaluating = false;
            x.result = Some(r.clone());
        }
        self.depth -= 1;
        r
    }

    pub(super) fn eval_disj(&mut self, v: VId) -> Val<'a> {
        let Some(x) = self.v(v) else { return Val::Top };
        let (label, parent, conjs, choice) =
            (x.label.clone(), x.parent, x.conjs.clone(), x.choice.clone());
        let n = x.disjs.first().map_or(0, Vec::len);
        let marks: Vec<bool> = x
            .disjs
            .first()
            .map(|d| d.iter().map(|(_, m)| *m).collect())
            .unwrap_or_default();
        let any_default = !marks.iter().all(|m| *m);
        let mut out: Vec<(Val<'a>, bool)> = Vec::new();
        let mut errs = 0;
        let mut incomplete = false;
        for i in 0..n {
            if self.budget() {
                return self.aborted();
            }
            let c = self.new_vertex(&label, parent, conjs.clone());
            if let Some(cv) = self.vm(c) {
                cv.choice = choice.clone();
                cv.choice.push(i);
            }
            let r = self.eval_vertex(c);
            let mark = marks.get(i).copied().unwrap_or(false);
            if self.meter.exhausted() {
                return self.aborted();
            }
            match first_error(&r) {
                Some(e) if e.code == Code::Budget => return Val::Bottom(e),
                Some(e) if e.code == Code::Eval => errs += 1,
                Some(_) => incomplete = true,
                None => match r {
                    Val::Disj(inner) => {
                        for (a, d) in inner.iter() {
                            out.push((a.clone(), *d && (mark || !any_default)));
                        }
                    }
                    r => out.push((r, mark && any_default)),
                },
            }
        }
        let mut dedup: Vec<(Val<'a>, bool)> = Vec::new();
        for (a, d) in out {
            if let Some(slot) = dedup
                .iter_mut()
                .find(|(b, _)| a.is_concrete() && equal(b, &a, &self.meter))
            {
                slot.1 |= d;
            } else {
                dedup.push((a, d));
            }
        }
        if dedup.is_empty() && incomplete {
            return Val::incomplete("incomplete disjunction");
        }
        finish_disj(dedup, errs)
    }

    pub(super) fn eval_plain(&mut self, v: VId) -> Val<'a> {
        let mut acc = Val::Top;
        let mut i = 0;
        while let Some(c) = self.v(v).and_then(|x| x.values.get(i).cloned()) {
            if self.meter.exhausted() {
                return self.aborted();
            }
            i += 1;
            let val = match c {
                Conj::Expr { e, env, .. } => self.eval_expr(e, &env),
                Conj::Val(x) => x,
                Conj::Lit { .. } => Val::Top,
            };
            match val {
                Val::Struct(_) | Val::List(_) | Val::Json(_) => self.add_val(v, val),
                Val::Disj(ref alts)
                    if alts.iter().any(|(a, _)| {
                        matches!(a, Val::Struct(_) | Val::List(_) | Val::Json(_))
                    }) =>
                {
                    self.add_val(v, val)
                }
                other => acc = unify(acc, builtins::as_validator(other), &self.meter),
            }
            if self.v(v).is_some_and(|x| !x.disjs.is_empty()) {
                return self.eval_disj(v);
            }
        }
        self.settle(v);
        let Some(x) = self.v(v) else { return acc };
        let (is_struct, lists) = (x.is_struct, x.lists.clone());
        if !lists.is_empty() || is_struct {
            let k = if is_struct {
                super::parser::K_STRUCT
            } else {
                super::parser::K_LIST
            };
            if is_struct && !lists.is_empty() {
                let l = self.list_display(v, &lists);
                let n = lists.iter().map(|(n, _)| *n).max().unwrap_or(0);
                let st = match self.finish_struct(v) {
                    Val::Struct(sv) => {
                        let mut sv = sv.as_ref().clone();
                        sv.fields
                            .retain(|(l, _, _)| l.parse::<usize>().map_or(true, |i| i >= n));
                        Val::Struct(Rc::new(sv))
                    }
                    other => other,
                };
                return Val::error(format!(
                    "conflicting values {l} and {} (mismatched types list and struct)",
                    show(&st)
                ));
            }
            if let Val::Bottom(_) = acc {
                return acc;
            }
            if !matches!(acc, Val::Top) && acc.kind() & k == 0 {
                let composite = if is_struct {
                    self.finish_struct(v)
                } else {
                    self.finish_list(v, &lists)
                };
                let n = if is_struct { "struct" } else { "list" };
                return Val::error(format!(
                    "conflicting values {} and {} (mismatched types {} and {n})",
                    show(&acc),
                    show(&composite),
                    super::value::kind_name(acc.kind())
                ));
            }
        }
        let r = if !lists.is_empty() {
            self.finish_list(v, &lists)
        } else if is_struct {
            self.finish_struct(v)
        } else {
            return acc;
        };
        let cs = match acc {
            Val::Constraints(cs) => cs.as_ref().clone(),
            Val::Top => Vec::new(),
            other => vec![other],
        };
        let mut r = r;
        for c in cs {
            if matches!(c, Val::Validator(..)) {
                r = super::value::check_constraint(&r, &c, &self.meter);
            }
        }
        r
    }

    pub(super) fn finish_list(&mut self, v: VId, lists: &[(usize, Option<Conj<'a>>)]) -> Val<'a> {
        let closed: Vec<usize> = lists
            .iter()
            .filter(|(_, r)| r.is_none())
            .map(|(n, _)| *n)
            .collect();
        let open_max = lists
            .iter()
            .filter(|(_, r)| r.is_some())
            .map(|(n, _)| *n)
            .max()
            .unwrap_or(0);
        let len = match closed.first() {
            Some(&n) => {
                if let Some(&m) = closed.iter().find(|&&m| m != n) {
                    return Val::error(format!(
                        "incompatible list lengths ({} and {})",
                        n.min(m),
                        n.max(m)
                    ));
                }
                if open_max > n {
                    return Val::error(format!("incompatible list lengths ({n} and {open_max})"));
                }
                n
            }
            None => self.v(v).map_or(0, |x| x.arcs.len()),
        };
        // The list value is built next to its vertices: an element each.
        if self.meter.values(len) {
            return self.aborted();
        }
        let mut elems = Vec::with_capacity(len);
        for i in 0..len {
            let a = self.arc(v, &i.to_string());
            elems.push(self.eval_vertex(a));
        }
        let rest = if closed.is_empty() {
            Some(lists.iter().filter_map(|(_, r)| r.clone()).collect())
        } else {
            None
        };
        Val::List(Rc::new(ListVal { elems, rest }))
    }

    /// A list literal as CUE prints it in a list/struct conflict: its elements, `...` if open.
    pub(super) fn list_display(&mut self, v: VId, lists: &[(usize, Option<Conj<'a>>)]) -> String {
        let n = lists.iter().map(|(n, _)| *n).max().unwrap_or(0);
        let mut parts = Vec::new();
        for i in 0..n {
            if self.meter.exhausted() {
                break;
            }
            let a = self.arc(v, &i.to_string());
            let x = self.eval_vertex(a);
            parts.push(show(&x));
        }
        if lists.iter().any(|(_, r)| r.is_some()) {
            parts.push("...".into());
        }
        format!("[{}]", parts.join(","))
    }

    pub(super) fn finish_struct(&mut self, v: VId) -> Val<'a> {
        let Some(x) = self.v(v) else { return Val::Top };
        let arcs = x.arcs.clone();
        let closed = x.closed.clone();
        let patterns = x.patterns.clone();
        // The struct value is built next to its vertices: a field each.
        if self.meter.values(arcs.len()) {
            return self.aborted();
        }
        let mut fields = Vec::with_capacity(arcs.len());
        for a in arcs {
            let Some(ax) = self.v(a) else { continue };
            let (label, regular, required) = (ax.label.clone(), ax.regular, ax.required);
            let kind = if regular {
                FieldKind::Regular
            } else if required {
                FieldKind::Required
            } else {
                FieldKind::Optional
            };
            let allowed = super::label::is_internal(&label)
                || closed.iter().all(|s| {
                    s.open
                        || s.labels.contains(&label)
                        || s.patterns.iter().any(|p| self.label_matches(&label, p))
                });
            if !allowed {
                fields.push((label, kind, FieldVal::Done(Val::error("field not allowed"))));
                continue;
            }
            let fv = if kind == FieldKind::Regular {
                FieldVal::Done(self.eval_vertex(a))
            } else {
                FieldVal::Lazy(self.v(a).map(|x| x.conjs.clone()).unwrap_or_default())
            };
            fields.push((label, kind, fv));
        }
        Val::Struct(Rc::new(StructVal {
            fields,
            closed,
            patterns,
        }))
    }
}

/// The document value all of `conjs` are, if they are all the same lazy document object or array.
fn pure_document<'a>(conjs: &[Conj<'a>]) -> Option<&'a serde_json::Value> {
    let mut out: Option<&'a serde_json::Value> = None;
    for c in conjs {
        match (c, out) {
            (Conj::Val(Val::Json(j)), None) => out = Some(*j),
            (Conj::Val(Val::Json(j)), Some(o)) if std::ptr::eq(*j, o) => {}
            _ => return None,
        }
    }
    out
}

/// The first error inside a value (conflicts anywhere make a disjunct fail).
pub fn first_error(v: &Val) -> Option<CueError> {
    first_error_at(v, 0)
}

fn too_deep() -> CueError {
    CueError::new(
        Code::Budget,
        format!("value nested too deeply (more than {SHOW_DEPTH} levels)"),
    )
}

fn first_error_at(v: &Val, depth: usize) -> Option<CueError> {
    if depth > SHOW_DEPTH {
        return Some(too_deep());
    }
    match v {
        Val::Bottom(e) => Some(e.clone()),
        Val::Struct(s) => s.fields.iter().find_map(|(_, k, f)| match (k, f) {
            (FieldKind::Regular, FieldVal::Done(x)) => {
                first_error_at(x, depth + 1).filter(|e| e.code != Code::Incomplete)
            }
            _ => None,
        }),
        Val::List(l) => l
            .elems
            .iter()
            .find_map(|x| first_error_at(x, depth + 1).filter(|e| e.code != Code::Incomplete)),
        _ => None,
    }
}

/// Non-concrete validation: every non-incomplete error, with its path. Values are at most as
/// deep as evaluation went; the depth check only keeps this walk from recursing without end.
pub fn collect_errors(v: &Val, path: &mut Vec<String>, out: &mut Vec<CueError>) {
    if path.len() > SHOW_DEPTH {
        out.push(too_deep());
        return;
    }
    match v {
        Val::Bottom(e) if e.code != Code::Incomplete => {
            let mut e = e.clone();
            if e.path.is_empty() {
                e.path = path.clone();
            }
            out.push(e);
        }
        Val::Struct(s) => {
            for (l, k, f) in &s.fields {
                if let (FieldKind::Regular, FieldVal::Done(x)) = (k, f) {
                    path.push(super::label::display(l));
                    collect_errors(x, path, out);
                    path.pop();
                }
            }
        }
        Val::List(l) => {
            for (i, x) in l.elems.iter().enumerate() {
                path.push(i.to_string());
                collect_errors(x, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}
