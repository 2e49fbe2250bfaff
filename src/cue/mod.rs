//! Our CUE evaluator, for the CUE policies of policy-controller attestations.
//!
//! `compile` parses and resolves a policy once (at settings time); `Program::evaluate` unifies it
//! with a JSON document and validates the result non-concretely, as cosign's `evaluateCue` does
//! (`cuecontext.New()`, `policy.Unify(data).Validate()`): a field the document lacks does not fail;
//! conflicts, bound violations and failing builtin validators do.
//!
//! Stages: `lexer` -> `parser` (AST) -> `resolve` (identifiers bound, imports checked, std names
//! looked up in `stdlib`) -> `eval` (vertices, unification, disjunctions; with `expr` and
//! `finish`) with `value` (values, conjuncts, scalar unification) and `builtins`; `error`
//! renders CUE-style messages.
//!
//! The document is read lazily: it is checked against the size and depth budgets up front, then
//! enters evaluation as `Val::Json` (a reference into the `serde_json::Value`). A field whose only
//! conjunct is document data (no policy conjunct, pattern, list element constraint or comprehension
//! reached it) evaluates to that reference without building vertices below it: concrete data that
//! nothing constrains cannot fail non-concrete validation. References, comprehensions, builtins and
//! messages convert it one level at a time (`value::force`) where they read it.
//!
//! Supported: `package` and `import` clauses; structs, lists (`[...T]`, `[a, ...T]`), every literal
//! kind (multi-line, raw `#"..."#` and interpolated strings, bytes, hex/octal/binary ints, floats); the types
//! `null bool int float number string bytes _ _|_`; `&`, `|` with `*` defaults; bounds `< <= > >=
//! != =~ !~`; arithmetic, comparison and boolean operators; definitions `#D` (closed, recursively,
//! `...` opens), hidden fields `_x`, optional `?` and required `!` fields; pattern constraints
//! `[expr]: T`; dynamic labels `(expr):` and `"\(x)":`; embedding; references, selectors,
//! indexing, `let`; comprehensions (`for k, v in`, `if`, `let`) in structs and lists; `x != _|_`;
//! `len close and or`; std packages strings, list, struct, time, math, regexp (see `builtins`).
//! Not supported, reported at compile time with line and column: aliases `X=`, attributes `@x`,
//! slices `a[i:j]`, typed struct ellipsis `...T`, number suffixes (`1Ki`),
//! `div mod quo rem`, other std packages and package members.

mod budget;
mod builtins;
mod error;
mod eval;
mod expr;
mod finish;
mod label;
mod lexer;
mod parser;
mod resolve;
mod stdlib;
mod value;

#[cfg(test)]
mod tests;

pub use budget::Limits;
use error::{Code, CueError};
use eval::Evaluator;
use value::Conj;

/// A parsed and resolved policy, compiled once and evaluated many times.
pub struct Program {
    /// The policy's body as the root expression every evaluation starts from.
    root: parser::Expr,
    limits: Limits,
}

impl std::fmt::Debug for Program {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Program")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

pub fn compile(policy: &str) -> Result<Program, String> {
    compile_with_limits(policy, Limits::default())
}

pub fn compile_with_limits(policy: &str, limits: Limits) -> Result<Program, String> {
    if policy.len() > limits.max_document_bytes {
        return Err(format!(
            "policy too large ({} bytes, limit {})",
            policy.len(),
            limits.max_document_bytes
        ));
    }
    let toks = lexer::lex(policy, limits.max_document_bytes, limits.max_depth)?;
    let file = parser::parse(toks, limits.max_depth)?;
    let body = resolve::resolve(file, limits.max_depth)?;
    Ok(Program {
        root: parser::Expr::Struct(body),
        limits,
    })
}

impl Program {
    pub fn evaluate(&self, document: &serde_json::Value) -> Result<(), String> {
        self.evaluate_with_limits(document, self.limits)
    }

    pub fn evaluate_with_limits(
        &self,
        document: &serde_json::Value,
        limits: Limits,
    ) -> Result<(), String> {
        let mut ev = Evaluator::new(limits);
        self.run(&mut ev, document, limits)
    }

    /// `evaluate_with_limits`, and the (steps, values, bytes) it used.
    #[cfg(test)]
    fn evaluate_metered(
        &self,
        document: &serde_json::Value,
        limits: Limits,
    ) -> (Result<(), String>, (u64, u64, u64)) {
        let mut ev = Evaluator::new(limits);
        let r = self.run(&mut ev, document, limits);
        (r, ev.meter.used())
    }

    fn run<'a>(
        &'a self,
        ev: &mut Evaluator<'a>,
        document: &'a serde_json::Value,
        limits: Limits,
    ) -> Result<(), String> {
        let mut budget = limits.max_document_bytes;
        check_document(document, 0, &limits, &mut budget)?;
        let doc = value::json_val(document, &ev.meter);
        let root = ev.new_vertex(
            "",
            None,
            vec![
                Conj::Expr {
                    e: &self.root,
                    env: Default::default(),
                    def: false,
                    set: None,
                },
                Conj::Val(doc),
            ],
        );
        let v = ev.eval_vertex(root);
        if let Some(e) = ev.meter.take_error() {
            return Err(e.render());
        }
        let mut errs = Vec::new();
        finish::collect_errors(&v, &mut Vec::new(), &mut errs);
        if let Some(e) = errs.iter().find(|e| e.code == Code::Budget) {
            return Err(e.render());
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(error::join(&errs))
        }
    }
}

/// Checks the document against the depth and size budgets (as a conversion would, in the same
/// order), without converting it: the evaluator reads it lazily (`value::Val::Json`).
fn check_document(
    j: &serde_json::Value,
    depth: usize,
    limits: &Limits,
    budget: &mut usize,
) -> Result<(), String> {
    let too_big = || {
        format!(
            "document too large (limit {} bytes)",
            limits.max_document_bytes
        )
    };
    if depth > limits.max_depth {
        return Err(format!(
            "document nested too deeply (more than {} levels)",
            limits.max_depth
        ));
    }
    *budget = budget.checked_sub(8).ok_or_else(too_big)?;
    match j {
        serde_json::Value::Null | serde_json::Value::Bool(_) => {}
        serde_json::Value::Number(n) => {
            if n.as_i64().is_none() && n.as_u64().is_none() && n.as_f64().is_none() {
                return Err(CueError::new(Code::Eval, "invalid number in document").render());
            }
        }
        serde_json::Value::String(s) => {
            *budget = budget.checked_sub(s.len()).ok_or_else(too_big)?;
        }
        serde_json::Value::Array(a) => {
            for x in a {
                check_document(x, depth + 1, limits, budget)?;
            }
        }
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                *budget = budget.checked_sub(k.len()).ok_or_else(too_big)?;
                check_document(x, depth + 1, limits, budget)?;
            }
        }
    }
    Ok(())
}
