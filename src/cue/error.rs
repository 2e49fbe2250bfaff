//! Errors as CUE renders them: `<path>: <message>`, paths like `a.b.0.c`, and
//! `<first> (and N more errors)` when validation finds several.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    /// Could become valid with more concrete data: ignored by non-concrete validation.
    Incomplete,
    /// A real conflict.
    Eval,
    /// A budget was exceeded: always reported, never ignored.
    Budget,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CueError {
    pub code: Code,
    pub path: Vec<String>,
    pub msg: String,
    /// Further errors Go CUE lists after this one (the alternatives of an empty disjunction).
    pub sub: usize,
}

impl CueError {
    pub fn new(code: Code, msg: impl Into<String>) -> Self {
        CueError {
            code,
            path: Vec::new(),
            msg: msg.into(),
            sub: 0,
        }
    }
    pub fn render(&self) -> String {
        if self.path.is_empty() {
            self.msg.clone()
        } else {
            format!("{}: {}", self.path.join("."), self.msg)
        }
    }
}

pub fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Joins validation errors the way Go CUE's error list prints itself.
pub fn join(errs: &[CueError]) -> String {
    let total: usize = errs.iter().map(|e| 1 + e.sub).sum();
    match errs.first() {
        None => "no errors".into(),
        Some(first) if total == 1 => first.render(),
        Some(first) => format!("{} (and {} more errors)", first.render(), total - 1),
    }
}
