//! Evaluator: a graph of vertices (one per field path), each collecting conjuncts (expressions with
//! their lexical environment, or values). Struct literals add arcs; references to fields add the
//! referenced field's conjuncts (so definitions are re-evaluated in place, as CUE does); disjunctions
//! are evaluated by re-running the vertex once per alternative.

use super::budget::{Limits, Meter};
use super::error::{Code, CueError};
use super::label;
use super::parser::{
    Comprehension, Decl, Expr, FieldKind, Label, ListElem, ListLit, Op, RefKind, StructLit,
};
use super::value::{
    json_val, resolve_default, show, unify, Binding, ClosedSet, Conj, Env, FieldVal, Frame, VId,
    Val,
};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet, VecDeque};

#[derive(Default)]
pub(super) struct Vertex<'a> {
    pub(super) label: String,
    pub(super) parent: Option<VId>,
    pub(super) conjs: Vec<Conj<'a>>,
    pub(super) expanded: u8,
    pub(super) done: usize,
    pub(super) arcs: Vec<VId>,
    pub(super) arc_index: HashMap<String, VId>,
    pub(super) regular: bool,
    pub(super) required: bool,
    pub(super) values: Vec<Conj<'a>>,
    pub(super) disjs: Vec<Vec<(Conj<'a>, bool)>>,
    pub(super) choice: Vec<usize>,
    pub(super) seen: usize,
    pub(super) closed: Vec<ClosedSet<'a>>,
    pub(super) patterns: Vec<(Conj<'a>, Conj<'a>)>,
    pub(super) applied: HashMap<VId, usize>,
    pub(super) is_struct: bool,
    pub(super) lists: Vec<(usize, Option<Conj<'a>>)>,
    pub(super) result: Option<Val<'a>>,
    pub(super) evaluating: bool,
}

pub struct Evaluator<'a> {
    pub(super) vs: Vec<Vertex<'a>>,
    pub(super) limits: Limits,
    pub(super) depth: usize,
    /// Steps, values and bytes; the first exhausted budget (or depth) is its error.
    pub meter: Meter,
}

type Queue<'a> = VecDeque<Conj<'a>>;
type Comps<'a> = Vec<(&'a Comprehension, Env<'a>, bool, Option<usize>)>;

impl<'a> Evaluator<'a> {
    pub fn new(limits: Limits) -> Self {
        Evaluator {
            vs: Vec::new(),
            limits,
            depth: 0,
            meter: Meter::new(limits),
        }
    }

    pub(super) fn budget(&mut self) -> bool {
        self.meter.steps(1)
    }

    pub(super) fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            self.meter.fail(CueError::new(
                Code::Budget,
                format!(
                    "evaluation nested too deeply (more than {} levels)",
                    self.limits.max_depth
                ),
            ));
        }
        self.meter.exhausted()
    }

    pub(super) fn aborted(&self) -> Val<'a> {
        self.meter.bottom()
    }

    /// A new vertex, charged as a value (and its label's bytes). Callers that create vertices in a
    /// loop stop when `meter.exhausted()`: the vertex is still returned so ids stay valid.
    pub fn new_vertex(&mut self, label: &str, parent: Option<VId>, conjs: Vec<Conj<'a>>) -> VId {
        self.meter.values(1);
        self.meter.bytes(label.len());
        self.vs.push(Vertex {
            label: label.to_string(),
            parent,
            conjs,
            regular: true,
            ..Default::default()
        });
        self.vs.len() - 1
    }

    pub(super) fn v(&self, id: VId) -> Option<&Vertex<'a>> {
        self.vs.get(id)
    }
    pub(super) fn vm(&mut self, id: VId) -> Option<&mut Vertex<'a>> {
        self.vs.get_mut(id)
    }

    pub(super) fn arc(&mut self, v: VId, label: &str) -> VId {
        if let Some(id) = self.v(v).and_then(|x| x.arc_index.get(label)) {
            return *id;
        }
        let id = self.new_vertex(label, Some(v), Vec::new());
        if let Some(a) = self.vm(id) {
            a.regular = false;
        }
        if let Some(x) = self.vm(v) {
            x.arcs.push(id);
            x.arc_index.insert(label.to_string(), id);
        }
        id
    }

    pub(super) fn add_field(&mut self, v: VId, label: &str, kind: FieldKind, c: Conj<'a>) {
        let a = self.arc(v, label);
        if let Some(x) = self.vm(a) {
            x.conjs.push(c);
            // A conjunct arriving after evaluation (from a comprehension): evaluate again.
            if !x.evaluating {
                x.result = None;
            }
            match kind {
                FieldKind::Regular => x.regular = true,
                FieldKind::Required => x.required = true,
                FieldKind::Optional => {}
            }
        }
    }

    // ---------------------------------------------------------------- expansion

    /// Processes the vertex's conjuncts not yet processed (comprehensions may add more later).
    pub(super) fn expand(&mut self, v: VId) {
        let Some(x) = self.vm(v) else { return };
        if x.expanded == 1 || x.done >= x.conjs.len() {
            return;
        }
        x.expanded = 1;
        // Values (document data) go last: they are the later conjuncts, printed first in conflicts.
        let conjs = x.conjs.get(x.done..).map(<[_]>::to_vec).unwrap_or_default();
        x.done = x.conjs.len();
        let (vals, exprs): (Vec<_>, Vec<_>) =
            conjs.into_iter().partition(|c| matches!(c, Conj::Val(_)));
        let mut queue: Queue<'a> = exprs.into_iter().collect();
        let mut vals: Queue<'a> = vals.into_iter().collect();
        let mut comps: Comps<'a> = Vec::new();
        let mut included: HashSet<VId> = HashSet::new();
        loop {
            while let Some(c) = queue.pop_front() {
                if self.budget() {
                    return;
                }
                self.add_conj(v, c, &mut queue, &mut comps, &mut included);
            }
            if !vals.is_empty() {
                queue.append(&mut vals);
                continue;
            }
            self.settle(v);
            if comps.is_empty() {
                break;
            }
            for (comp, env, def, set) in std::mem::take(&mut comps) {
                let mut yields = Vec::new();
                if let Err(e) = self.comp_yields(&comp.clauses, env, &mut yields) {
                    if let Some(x) = self.vm(v) {
                        x.values.push(Conj::Val(Val::Bottom(e)));
                    }
                }
                for env in yields {
                    if self.meter.exhausted() {
                        return;
                    }
                    let lit: &'a StructLit = &comp.body;
                    queue.push_back(Conj::Lit {
                        lit,
                        env,
                        def: def || set.is_some(),
                    });
                }
            }
        }
        if let Some(x) = self.vm(v) {
            x.expanded = 2;
        }
    }

    pub(super) fn add_conj(
        &mut self,
        v: VId,
        c: Conj<'a>,
        q: &mut Queue<'a>,
        comps: &mut Comps<'a>,
        inc: &mut HashSet<VId>,
    ) {
        match c {
            Conj::Val(val) => self.add_val(v, val),
            Conj::Lit { lit, env, def } => self.add_struct(v, lit, env, def, None, q, comps),
            Conj::Expr { e, env, def, set } => match e {
                Expr::Struct(lit) => self.add_struct(v, lit, env, def, set, q, comps),
                Expr::List(l) => self.add_list(v, l, &env, def),
                Expr::Top => {}
                Expr::Default(x, _) => q.push_front(Conj::Expr {
                    e: x,
                    env,
                    def,
                    set,
                }),
                Expr::Binary(Op::And, a, b, _) => {
                    q.push_front(Conj::Expr {
                        e: b,
                        env: env.clone(),
                        def,
                        set,
                    });
                    q.push_front(Conj::Expr {
                        e: a,
                        env,
                        def,
                        set,
                    });
                }
                Expr::Binary(Op::Or, ..) => {
                    let mut alts = Vec::new();
                    flatten_or(e, &mut alts);
                    let any_default = alts.iter().any(|(_, d)| *d);
                    let alts: Vec<(Conj<'a>, bool)> = alts
                        .into_iter()
                        .map(|(x, d)| {
                            (
                                Conj::Expr {
                                    e: x,
                                    env: env.clone(),
                                    def,
                                    set,
                                },
                                d || !any_default,
                            )
                        })
                        .collect();
                    self.add_disj(v, alts, any_default, q);
                }
                Expr::Ref {
                    kind: RefKind::Var,
                    name,
                    up,
                    ..
                } => match var_binding(&env, *up, name) {
                    Some(Binding::Val(x)) => self.add_val(v, x),
                    Some(Binding::Vertex(r)) => self.include(v, r, def, set, q, inc),
                    None => self.push_value(v, Conj::Expr { e, env, def, set }),
                },
                Expr::Ref { .. } | Expr::Sel(..) | Expr::Index(..) => {
                    match self.ref_vertex(e, &env) {
                        Some(r) => self.include(v, r, def, set, q, inc),
                        None => self.push_value(v, Conj::Expr { e, env, def, set }),
                    }
                }
                _ => self.push_value(v, Conj::Expr { e, env, def, set }),
            },
        }
    }

    pub(super) fn push_value(&mut self, v: VId, c: Conj<'a>) {
        if let Some(x) = self.vm(v) {
            x.values.push(c);
        }
    }

    /// Adds the conjuncts of the referenced vertex `r` to `v` (re-evaluated in `v`'s place).
    pub(super) fn include(
        &mut self,
        v: VId,
        r: VId,
        def: bool,
        set: Option<usize>,
        q: &mut Queue<'a>,
        inc: &mut HashSet<VId>,
    ) {
        if r == v || !inc.insert(r) || self.is_ancestor(r, v) {
            return;
        }
        let is_def = self.v(r).is_some_and(|x| label::is_def(&x.label));
        let conjs = self.v(r).map(|x| x.conjs.clone()).unwrap_or_default();
        // In place of the reference, keeping conjunct order (it decides operand order in messages).
        for c in conjs.into_iter().rev() {
            q.push_front(match c {
                Conj::Expr { e, env, def: d, .. } => Conj::Expr {
                    e,
                    env,
                    def: d || def || is_def,
                    set,
                },
                Conj::Lit { lit, env, def: d } => Conj::Lit {
                    lit,
                    env,
                    def: d || def || is_def,
                },
                Conj::Val(x) => Conj::Val(x),
            });
        }
    }

    pub(super) fn is_ancestor(&self, a: VId, mut v: VId) -> bool {
        while let Some(p) = self.v(v).and_then(|x| x.parent) {
            if p == a {
                return true;
            }
            v = p;
        }
        false
    }

    pub(super) fn add_disj(
        &mut self,
        v: VId,
        alts: Vec<(Conj<'a>, bool)>,
        _any_default: bool,
        q: &mut Queue<'a>,
    ) {
        let Some(x) = self.vm(v) else { return };
        let k = x.seen;
        x.seen += 1;
        if let Some(&i) = x.choice.get(k) {
            if let Some((c, _)) = alts.into_iter().nth(i) {
                q.push_back(c);
            }
        } else {
            x.disjs.push(alts);
        }
    }

    pub(super) fn add_val(&mut self, v: VId, val: Val<'a>) {
        match val {
            Val::Top => {}
            Val::Struct(s) => {
                if let Some(x) = self.vm(v) {
                    x.is_struct = true;
                    x.closed.extend(s.closed.iter().cloned());
                    x.patterns.extend(s.patterns.iter().cloned());
                }
                for (l, k, f) in &s.fields {
                    if self.meter.exhausted() {
                        return;
                    }
                    match f {
                        FieldVal::Done(fv) => self.add_field(v, l, *k, Conj::Val(fv.clone())),
                        FieldVal::Lazy(cs) => {
                            for c in cs {
                                self.add_field(v, l, *k, c.clone());
                            }
                        }
                    }
                }
            }
            Val::Json(serde_json::Value::Object(o)) => {
                if let Some(x) = self.vm(v) {
                    x.is_struct = true;
                }
                for (l, j) in o {
                    if self.meter.exhausted() {
                        return;
                    }
                    let c = Conj::Val(json_val(j, &self.meter));
                    self.add_field(v, &label::data(l), FieldKind::Regular, c);
                }
            }
            Val::Json(serde_json::Value::Array(a)) => {
                for (i, j) in a.iter().enumerate() {
                    if self.meter.exhausted() {
                        return;
                    }
                    let c = Conj::Val(json_val(j, &self.meter));
                    self.add_field(v, &i.to_string(), FieldKind::Regular, c);
                }
                if let Some(x) = self.vm(v) {
                    x.lists.push((a.len(), None));
                }
            }
            Val::Json(j) => {
                let x = json_val(j, &self.meter);
                self.add_val(v, x)
            }
            Val::List(l) => {
                for (i, e) in l.elems.iter().enumerate() {
                    if self.meter.exhausted() {
                        return;
                    }
                    self.add_field(v, &i.to_string(), FieldKind::Regular, Conj::Val(e.clone()));
                }
                let rest = l
                    .rest
                    .as_ref()
                    .map(|r| r.first().cloned().unwrap_or(Conj::Val(Val::Top)));
                if let Some(x) = self.vm(v) {
                    x.lists.push((l.elems.len(), rest));
                }
            }
            Val::Disj(alts) => {
                let any = alts.iter().any(|(_, d)| *d);
                let alts = alts
                    .iter()
                    .map(|(a, d)| (Conj::Val(a.clone()), *d || !any))
                    .collect();
                let mut q = VecDeque::new();
                self.add_disj(v, alts, any, &mut q);
                while let Some(Conj::Val(x)) = q.pop_front() {
                    self.add_val(v, x);
                }
            }
            other => self.push_value(v, Conj::Val(other)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn add_struct(
        &mut self,
        v: VId,
        lit: &'a StructLit,
        env: Env<'a>,
        def: bool,
        set: Option<usize>,
        q: &mut Queue<'a>,
        comps: &mut Comps<'a>,
    ) {
        let Some(x) = self.vm(v) else { return };
        // `{x * 10}` (only embeddings) is the embedded value, not a struct.
        let only_embeds = !lit.decls.is_empty()
            && lit
                .decls
                .iter()
                .all(|d| matches!(d, Decl::Embed(_) | Decl::Let { .. }));
        if !only_embeds {
            x.is_struct = true;
        }
        let my_set = match (def, set) {
            (_, Some(s)) => Some(s),
            (true, None) => {
                x.closed.push(ClosedSet::default());
                Some(x.closed.len() - 1)
            }
            (false, None) => None,
        };
        let env = env.push(Frame::Struct {
            vertex: v,
            lets: RefCell::new(HashMap::new()),
        });
        let mut dynamic = Vec::new();
        let mut embeds = Vec::new();
        for d in &lit.decls {
            match d {
                Decl::Field {
                    label: Label::Name(n) | Label::Quoted(n),
                    kind,
                    value,
                    ..
                } => {
                    let c = Conj::Expr {
                        e: value,
                        env: env.clone(),
                        def: def || label::is_def(n),
                        set: None,
                    };
                    self.add_field(v, n, *kind, c);
                    self.allow(v, my_set, Some(n), None);
                }
                Decl::Field {
                    label: Label::Dynamic(l),
                    kind,
                    value,
                    ..
                } => dynamic.push((l, *kind, value)),
                Decl::Field {
                    label: Label::Pattern(p),
                    value,
                    ..
                } => {
                    let pc = Conj::Expr {
                        e: p,
                        env: env.clone(),
                        def: false,
                        set: None,
                    };
                    let vc = Conj::Expr {
                        e: value,
                        env: env.clone(),
                        def,
                        set: None,
                    };
                    if let Some(x) = self.vm(v) {
                        x.patterns.push((pc.clone(), vc));
                    }
                    self.allow(v, my_set, None, Some(pc));
                }
                Decl::Let { name, value, .. } => {
                    let id = self.new_vertex(
                        name,
                        Some(v),
                        vec![Conj::Expr {
                            e: value,
                            env: env.clone(),
                            def,
                            set: None,
                        }],
                    );
                    if let Some(Frame::Struct { lets, .. }) = env.nth(0) {
                        lets.borrow_mut().insert(name.clone(), id);
                    }
                }
                Decl::Embed(e) => embeds.push(Conj::Expr {
                    e,
                    env: env.clone(),
                    def,
                    set: my_set,
                }),
                Decl::Comp(c) => comps.push((c, env.clone(), def, my_set)),
                Decl::Ellipsis => {
                    if let Some(s) =
                        my_set.and_then(|s| self.vm(v).and_then(|x| x.closed.get_mut(s)))
                    {
                        s.open = true;
                    }
                }
            }
        }
        for c in embeds.into_iter().rev() {
            q.push_front(c);
        }
        for (l, kind, value) in dynamic {
            match resolve_default(self.eval_expr(l, &env)) {
                Val::Str(s) => {
                    let c = Conj::Expr {
                        e: value,
                        env: env.clone(),
                        def,
                        set: None,
                    };
                    let l = label::data(&s);
                    self.add_field(v, &l, kind, c);
                    self.allow(v, my_set, Some(&l), None);
                }
                Val::Bottom(e) if e.code == Code::Incomplete => {}
                Val::Bottom(e) => self.push_value(v, Conj::Val(Val::Bottom(e))),
                other => self.push_value(
                    v,
                    Conj::Val(Val::error(format!("invalid label type {}", show(&other)))),
                ),
            }
        }
    }

    pub(super) fn allow(
        &mut self,
        v: VId,
        set: Option<usize>,
        label: Option<&str>,
        pat: Option<Conj<'a>>,
    ) {
        if let Some(s) = set.and_then(|s| self.vm(v).and_then(|x| x.closed.get_mut(s))) {
            if let Some(l) = label {
                s.labels.insert(l.to_string());
            }
            if let Some(p) = pat {
                s.patterns.push(p);
            }
        }
    }

    pub(super) fn add_list(&mut self, v: VId, l: &'a ListLit, env: &Env<'a>, def: bool) {
        let mut n = 0usize;
        for el in &l.elems {
            match el {
                ListElem::Expr(e) => {
                    self.add_field(
                        v,
                        &n.to_string(),
                        FieldKind::Regular,
                        Conj::Expr {
                            e,
                            env: env.clone(),
                            def,
                            set: None,
                        },
                    );
                    n += 1;
                }
                ListElem::Comp(c) => {
                    let mut yields = Vec::new();
                    if let Err(e) = self.comp_yields(&c.clauses, env.clone(), &mut yields) {
                        self.push_value(v, Conj::Val(Val::Bottom(e)));
                    }
                    for y in yields {
                        if self.meter.exhausted() {
                            return;
                        }
                        self.add_field(
                            v,
                            &n.to_string(),
                            FieldKind::Regular,
                            Conj::Lit {
                                lit: &c.body,
                                env: y,
                                def,
                            },
                        );
                        n += 1;
                    }
                }
            }
        }
        let rest = l.rest.as_ref().map(|e| Conj::Expr {
            e,
            env: env.clone(),
            def,
            set: None,
        });
        if let Some(x) = self.vm(v) {
            x.lists.push((n, rest));
        }
    }

    /// Applies pattern constraints and list element constraints to arcs not yet covered.
    pub(super) fn settle(&mut self, v: VId) {
        let Some(x) = self.v(v) else { return };
        let arcs = x.arcs.clone();
        let patterns = x.patterns.clone();
        let lists = x.lists.clone();
        for a in arcs {
            if self.meter.exhausted() {
                return;
            }
            let done = self
                .v(v)
                .and_then(|x| x.applied.get(&a).copied())
                .unwrap_or(0);
            let label = self.v(a).map(|x| x.label.clone()).unwrap_or_default();
            let mut add = Vec::new();
            for (pl, pv) in patterns.iter().skip(done) {
                if self.label_matches(&label, pl) {
                    add.push(pv.clone());
                }
            }
            if done == 0 {
                if let Ok(i) = label.parse::<usize>() {
                    for (n, rest) in &lists {
                        if let (true, Some(r)) = (i >= *n, rest) {
                            add.push(r.clone());
                        }
                    }
                }
            }
            if let Some(x) = self.vm(a) {
                if !add.is_empty() && !x.evaluating {
                    x.result = None;
                }
                x.conjs.extend(add);
            }
            if let Some(x) = self.vm(v) {
                x.applied.insert(a, patterns.len().max(1));
            }
        }
    }

    /// Whether a pattern constraint applies to the field: never to hidden fields and definitions.
    pub(super) fn label_matches(&mut self, label: &str, pat: &Conj<'a>) -> bool {
        let Some(key) = label::data_key(label) else {
            return false;
        };
        let pv = self.conj_value(pat);
        !matches!(unify(pv, Val::str(key), &self.meter), Val::Bottom(_))
    }

    pub(super) fn conj_value(&mut self, c: &Conj<'a>) -> Val<'a> {
        match c {
            Conj::Expr { e, env, .. } => self.eval_expr(e, env),
            Conj::Val(v) => v.clone(),
            Conj::Lit { lit, env, def } => {
                let id = self.new_vertex(
                    "",
                    None,
                    vec![Conj::Lit {
                        lit,
                        env: env.clone(),
                        def: *def,
                    }],
                );
                self.eval_vertex(id)
            }
        }
    }
}

pub(super) fn var_binding<'a>(env: &Env<'a>, up: usize, name: &str) -> Option<Binding<'a>> {
    match env.nth(up)? {
        Frame::Vars(bs) => bs.iter().find(|(n, _)| n == name).map(|(_, b)| b.clone()),
        Frame::Struct { .. } => None,
    }
}

fn flatten_or<'a>(e: &'a Expr, out: &mut Vec<(&'a Expr, bool)>) {
    match e {
        Expr::Binary(Op::Or, a, b, _) => {
            flatten_or(a, out);
            flatten_or(b, out);
        }
        Expr::Default(x, _) => out.push((x, true)),
        other => out.push((other, false)),
    }
}
