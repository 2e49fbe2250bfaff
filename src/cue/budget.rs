//! The evaluation budgets of one `evaluate`: steps (work), values built and bytes of strings
//! built. Every stage that allocates or loops in proportion to its input charges the meter before
//! it builds, so a hostile policy meets `Code::Budget` instead of exhausting memory or time.
//!
//! The meter's helpers that return values (`bottom`, `str`, `strs`) are in `value`, so this
//! module needs no values.
//!
//! Shared (`&Meter`, interior mutability) because the value functions that charge it (`force`,
//! `equal`, `unify`, the builtins) are reached from inside evaluator borrows and closures.

use super::error::{Code, CueError};
use std::cell::{Cell, RefCell};

/// Budgets for hostile policies and documents: each exceeded budget is an error, never a crash or hang.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Nesting depth of the policy syntax (lexer, string interpolations, parser, resolver), of
    /// the document, and of evaluation (vertices, expressions, comprehension clauses).
    pub max_depth: usize,
    /// Evaluation steps per `evaluate`: vertex and expression evaluations, plus the work of
    /// builtins and comparisons (a step per element or field read, per value compared, per 256
    /// bytes of string scanned).
    pub max_steps: u64,
    /// Values built per `evaluate`: vertices, list elements, struct fields, comprehension
    /// bindings, document values converted where they are read. The document itself is read
    /// lazily and costs nothing until read.
    pub max_values: u64,
    /// Bytes of strings built per `evaluate` (results of operators, interpolations and builtins,
    /// labels, document strings read).
    pub max_bytes: u64,
    /// Size of the document (bytes of strings and keys plus 8 per value) and of the policy text.
    pub max_document_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 100,
            max_steps: 5_000_000,
            max_values: 1_000_000,
            max_bytes: 64 << 20,
            max_document_bytes: 16 << 20,
        }
    }
}

/// Bytes of string scanned (matched, searched, compared) per step charged.
pub const BYTES_PER_STEP: usize = 256;

pub struct Meter {
    limits: Limits,
    steps: Cell<u64>,
    values: Cell<u64>,
    bytes: Cell<u64>,
    abort: RefCell<Option<CueError>>,
}

fn add(c: &Cell<u64>, n: usize) -> u64 {
    let v = c.get().saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    c.set(v);
    v
}

impl Meter {
    pub fn new(limits: Limits) -> Self {
        Meter {
            limits,
            steps: Cell::new(0),
            values: Cell::new(0),
            bytes: Cell::new(0),
            abort: RefCell::new(None),
        }
    }

    /// Records the first exhausted budget; later ones do not replace it.
    pub fn fail(&self, e: CueError) {
        let mut a = self.abort.borrow_mut();
        if a.is_none() {
            *a = Some(e);
        }
    }

    fn over(&self, used: u64, max: u64, unit: &str) -> bool {
        if used > max {
            self.fail(CueError::new(
                Code::Budget,
                format!("evaluation budget exceeded (more than {max} {unit})"),
            ));
        }
        self.exhausted()
    }

    /// Charges `n` steps of work. True when a budget is exhausted: the caller stops.
    pub fn steps(&self, n: usize) -> bool {
        let used = add(&self.steps, n);
        self.over(used, self.limits.max_steps, "steps")
    }

    /// Charges the work of scanning `n` bytes of string.
    pub fn scan(&self, n: usize) -> bool {
        self.steps(1 + n / BYTES_PER_STEP)
    }

    /// Charges `n` values (vertices, list elements, struct fields, bindings) about to be built.
    pub fn values(&self, n: usize) -> bool {
        let used = add(&self.values, n);
        self.over(used, self.limits.max_values, "values")
    }

    /// Charges `n` bytes of string about to be built.
    pub fn bytes(&self, n: usize) -> bool {
        let used = add(&self.bytes, n);
        self.over(used, self.limits.max_bytes, "bytes")
    }

    pub fn exhausted(&self) -> bool {
        self.abort.borrow().is_some()
    }

    pub fn take_error(&self) -> Option<CueError> {
        self.abort.borrow_mut().take()
    }

    /// The first exhausted budget's error (`aborted` if none was recorded).
    pub fn error(&self) -> CueError {
        self.abort
            .borrow()
            .clone()
            .unwrap_or_else(|| CueError::new(Code::Budget, "aborted"))
    }

    /// Values used so far (for reports and tests).
    #[cfg(test)]
    pub fn used(&self) -> (u64, u64, u64) {
        (self.steps.get(), self.values.get(), self.bytes.get())
    }
}
