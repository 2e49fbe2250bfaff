//! Parser: tokens to AST. Unsupported syntax is an error naming line and column.

use super::error::Pos;
use super::lexer::{Part, Tok, Token};
use super::stdlib::Predefined;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    And,
    Or,
    LAnd,
    LOr,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    NotMatch,
    Add,
    Sub,
    Mul,
    Div,
    Not,
}

impl Op {
    pub fn text(self) -> &'static str {
        match self {
            Op::And => "&",
            Op::Or => "|",
            Op::LAnd => "&&",
            Op::LOr => "||",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Match => "=~",
            Op::NotMatch => "!~",
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Not => "!",
        }
    }
}

/// How a resolved identifier is bound.
#[derive(Clone, Debug, PartialEq)]
pub enum RefKind {
    /// A field of the struct literal `up` scopes out.
    Field,
    /// A `let` in the struct literal `up` scopes out.
    Let,
    /// A comprehension variable (`for` or `let` clause) `up` scopes out.
    Var,
    /// An imported package.
    Import(String),
    /// A predeclared function (`len`, `close`, `and`, `or`) or a member of an imported package
    /// (`strings.Contains`, `time.RFC3339`), looked up once by the resolver.
    Predefined(Predefined),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64, String),
    Str(String),
    Bytes(Vec<u8>),
    Interp(Vec<IPart>, Pos),
    Top,
    Bottom(Pos),
    Kind(u16),
    Ident(String, Pos),
    Ref {
        name: String,
        up: usize,
        kind: RefKind,
        pos: Pos,
    },
    Struct(Rc<StructLit>),
    List(Rc<ListLit>),
    Sel(Box<Expr>, String, Pos),
    Index(Box<Expr>, Box<Expr>, Pos),
    Call(Box<Expr>, Vec<Expr>, Pos),
    Unary(Op, Box<Expr>, Pos),
    Binary(Op, Box<Expr>, Box<Expr>, Pos),
    Default(Box<Expr>, Pos),
}

#[derive(Clone, Debug, PartialEq)]
pub enum IPart {
    Lit(String),
    Expr(Expr),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    Regular,
    Optional,
    Required,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Label {
    Name(String),
    /// A quoted label: a field like any other, but not referable by identifier.
    Quoted(String),
    Dynamic(Expr),
    Pattern(Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Decl {
    Field {
        label: Label,
        kind: FieldKind,
        value: Expr,
        pos: Pos,
    },
    Embed(Expr),
    Let {
        name: String,
        value: Expr,
        pos: Pos,
    },
    Comp(Rc<Comprehension>),
    Ellipsis,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StructLit {
    pub decls: Vec<Decl>,
    pub pos: Pos,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Clause {
    For {
        key: Option<String>,
        val: String,
        src: Expr,
        pos: Pos,
    },
    If(Expr),
    Let(String, Expr),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Comprehension {
    pub clauses: Vec<Clause>,
    pub body: Rc<StructLit>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ListElem {
    Expr(Expr),
    Comp(Rc<Comprehension>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ListLit {
    pub elems: Vec<ListElem>,
    /// `Some(T)` for `...T` (or `...` = `_`): an open list.
    pub rest: Option<Expr>,
    pub pos: Pos,
}

pub struct File {
    pub imports: Vec<(String, String, Pos)>,
    pub body: Rc<StructLit>,
}

pub const K_NULL: u16 = 1;
pub const K_BOOL: u16 = 2;
pub const K_INT: u16 = 4;
pub const K_FLOAT: u16 = 8;
pub const K_STRING: u16 = 16;
pub const K_BYTES: u16 = 32;
pub const K_STRUCT: u16 = 64;
pub const K_LIST: u16 = 128;
pub const K_NUMBER: u16 = K_INT | K_FLOAT;
pub const K_TOP: u16 = 255;

pub fn kind_of_ident(s: &str) -> Option<u16> {
    Some(match s {
        "null" => K_NULL,
        "bool" => K_BOOL,
        "int" => K_INT,
        "float" => K_FLOAT,
        "number" => K_NUMBER,
        "string" => K_STRING,
        "bytes" => K_BYTES,
        _ => return None,
    })
}

struct Parser {
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    max_depth: usize,
}

type PResult<T> = Result<T, String>;

pub fn parse(toks: Vec<Token>, max_depth: usize) -> PResult<File> {
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
        max_depth,
    };
    p.file()
}

fn eof_token() -> Token {
    Token {
        tok: Tok::Eof,
        pos: Pos { line: 0, col: 0 },
    }
}

impl Parser {
    fn tok(&self) -> &Tok {
        self.toks.get(self.i).map_or(&Tok::Eof, |t| &t.tok)
    }
    fn tok_at(&self, k: usize) -> &Tok {
        self.toks.get(self.i + k).map_or(&Tok::Eof, |t| &t.tok)
    }
    fn pos(&self) -> Pos {
        self.toks
            .get(self.i)
            .or(self.toks.last())
            .map_or(Pos { line: 0, col: 0 }, |t| t.pos)
    }
    fn next(&mut self) -> Token {
        let t = self.toks.get(self.i).cloned().unwrap_or_else(eof_token);
        self.i += 1;
        t
    }
    fn is(&self, p: &str) -> bool {
        matches!(self.tok(), Tok::Punct(q) if *q == p)
    }
    fn is_kw(&self, k: &str) -> bool {
        matches!(self.tok(), Tok::Ident(s) if s == k)
    }
    fn err<T>(&self, msg: &str) -> PResult<T> {
        let p = self.pos();
        Err(format!("{}:{}: {}", p.line, p.col, msg))
    }
    fn expect(&mut self, p: &str) -> PResult<()> {
        if self.is(p) {
            self.i += 1;
            Ok(())
        } else {
            self.err(&format!("expected '{p}', found {}", describe(self.tok())))
        }
    }
    fn skip_commas(&mut self) {
        while matches!(self.tok(), Tok::Comma) || self.is(",") {
            self.i += 1;
        }
    }
    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return self.err("nesting too deep (depth budget exceeded)");
        }
        Ok(())
    }

    fn file(&mut self) -> PResult<File> {
        self.skip_commas();
        let mut imports = Vec::new();
        if self.is_kw("package") {
            self.i += 1;
            match self.next().tok {
                Tok::Ident(_) => {}
                _ => return self.err("expected package name"),
            }
            self.skip_commas();
        }
        while self.is_kw("import") {
            self.i += 1;
            if self.is("(") {
                self.i += 1;
                self.skip_commas();
                while !self.is(")") {
                    imports.push(self.import_spec()?);
                    self.skip_commas();
                }
                self.i += 1;
            } else {
                imports.push(self.import_spec()?);
            }
            self.skip_commas();
        }
        let pos = self.pos();
        let decls = self.decls(true)?;
        Ok(File {
            imports,
            body: Rc::new(StructLit { decls, pos }),
        })
    }

    fn import_spec(&mut self) -> PResult<(String, String, Pos)> {
        let pos = self.pos();
        let alias = if let Tok::Ident(a) = self.tok() {
            let a = a.clone();
            self.i += 1;
            Some(a)
        } else {
            None
        };
        let Tok::Str(path) = self.tok().clone() else {
            return self.err(&format!(
                "expected import path, found {}",
                describe(self.tok())
            ));
        };
        self.i += 1;
        let name = alias.unwrap_or_else(|| path.rsplit('/').next().unwrap_or(&path).to_string());
        Ok((name, path, pos))
    }

    /// Declarations up to `}` (or end of file when `top`).
    /// True (and consumed) at a comma, written or inserted at a newline.
    fn comma(&mut self) -> bool {
        let at = self.at_comma();
        if at {
            self.i += 1;
        }
        at
    }
    fn at_comma(&self) -> bool {
        matches!(self.tok(), Tok::Comma) || self.is(",")
    }

    /// Declarations up to `}` (or end of file when `top`), separated by exactly one comma: a
    /// second one (`{a: 1,, b: 2}`) is refused with CUE's parser message.
    fn decls(&mut self, top: bool) -> PResult<Vec<Decl>> {
        let mut out = Vec::new();
        loop {
            if top && matches!(self.tok(), Tok::Eof) {
                return Ok(out);
            }
            if !top && self.is("}") {
                return Ok(out);
            }
            if matches!(self.tok(), Tok::Eof) {
                return self.err("expected '}', found 'EOF'");
            }
            if self.at_comma() {
                return self.err(&format!("expected operand, found {}", describe(self.tok())));
            }
            if self.is_kw("package") || self.is_kw("import") {
                return self.err("package and import clauses must come first");
            }
            out.push(self.decl()?);
            if !(self.comma() || self.is("}") || matches!(self.tok(), Tok::Eof)) {
                return self.err("missing ',' in struct literal");
            }
        }
    }

    fn decl(&mut self) -> PResult<Decl> {
        let pos = self.pos();
        if self.is("...") {
            self.i += 1;
            if !(matches!(self.tok(), Tok::Comma) || self.is("}") || self.is(",")) {
                return self.err("typed ellipsis in structs (...T) is not supported");
            }
            return Ok(Decl::Ellipsis);
        }
        if self.is_kw("let")
            && matches!(self.tok_at(1), Tok::Ident(_))
            && matches!(self.tok_at(2), Tok::Punct("="))
        {
            self.i += 1;
            let Tok::Ident(name) = self.next().tok else {
                return self.err("expected identifier");
            };
            self.i += 1;
            let value = self.expr()?;
            return Ok(Decl::Let { name, value, pos });
        }
        if (self.is_kw("for") || self.is_kw("if"))
            && !matches!(self.tok_at(1), Tok::Punct(":" | "?" | "!"))
        {
            return Ok(Decl::Comp(Rc::new(self.comprehension()?)));
        }
        if let Some((label, kind)) = self.try_label()? {
            let value = if self.label_follows() {
                let inner_pos = self.pos();
                // `a: b: c: 1` nests a struct per label.
                self.enter()?;
                let inner = self.decl();
                self.depth -= 1;
                let inner = inner?;
                Expr::Struct(Rc::new(StructLit {
                    decls: vec![inner],
                    pos: inner_pos,
                }))
            } else {
                self.expr()?
            };
            return Ok(Decl::Field {
                label,
                kind,
                value,
                pos,
            });
        }
        Ok(Decl::Embed(self.expr()?))
    }

    /// True if the tokens ahead are `label:` (for `a: b: c` shorthand).
    fn label_follows(&self) -> bool {
        let mut k = 1;
        if self.is("(") || self.is("[") {
            let mut depth = 0usize;
            for (j, t) in self.toks.iter().enumerate().skip(self.i) {
                match t.tok {
                    Tok::Punct("(" | "[") => depth += 1,
                    Tok::Punct(")" | "]") => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            k = j + 1 - self.i;
                            break;
                        }
                    }
                    Tok::Comma | Tok::Eof => return false,
                    _ => {}
                }
            }
        }
        let l = matches!(
            self.tok(),
            Tok::Ident(_) | Tok::Str(_) | Tok::Interp(_) | Tok::Punct("(" | "[")
        );
        if matches!(self.tok_at(k), Tok::Punct("?" | "!")) {
            k += 1;
        }
        l && matches!(self.tok_at(k), Tok::Punct(":"))
            && !matches!(self.tok(), Tok::Ident(s) if s == "for" || s == "if" || s == "let")
    }

    /// Parses `label[?|!]:` if present; otherwise leaves the position unchanged.
    fn try_label(&mut self) -> PResult<Option<(Label, FieldKind)>> {
        let save = self.i;
        let label = match self.tok().clone() {
            Tok::Ident(s) => {
                self.i += 1;
                if self.is("=") {
                    return self.err("aliases (X=label) are not supported");
                }
                Label::Name(s)
            }
            Tok::Str(s) => {
                self.i += 1;
                Label::Quoted(s)
            }
            Tok::Interp(_) => {
                let e = self.primary()?;
                Label::Dynamic(e)
            }
            Tok::Punct("(") => {
                self.i += 1;
                let e = self.expr()?;
                if !self.is(")") {
                    self.i = save;
                    return Ok(None);
                }
                self.i += 1;
                Label::Dynamic(e)
            }
            Tok::Punct("[") => {
                self.i += 1;
                if matches!(self.tok(), Tok::Ident(_)) && matches!(self.tok_at(1), Tok::Punct("="))
                {
                    return self.err("aliases in pattern constraints are not supported");
                }
                let e = match self.expr() {
                    Ok(e) => e,
                    Err(_) => {
                        self.i = save;
                        return Ok(None);
                    }
                };
                if !self.is("]") {
                    self.i = save;
                    return Ok(None);
                }
                self.i += 1;
                Label::Pattern(e)
            }
            _ => return Ok(None),
        };
        let kind = if self.is("?") {
            self.i += 1;
            FieldKind::Optional
        } else if self.is("!") {
            self.i += 1;
            FieldKind::Required
        } else {
            FieldKind::Regular
        };
        if self.is(":") {
            self.i += 1;
            if self.is(":") {
                return self.err("'::' definitions are not supported; use #Name");
            }
            Ok(Some((label, kind)))
        } else {
            self.i = save;
            Ok(None)
        }
    }

    fn comprehension(&mut self) -> PResult<Comprehension> {
        let r = self.comprehension_clauses();
        // Each clause nests a scope (the resolver and evaluator recurse per clause).
        self.depth = self
            .depth
            .saturating_sub(r.as_ref().map_or(0, |c| c.clauses.len()));
        r
    }

    fn comprehension_clauses(&mut self) -> PResult<Comprehension> {
        let mut clauses = Vec::new();
        loop {
            if self.is_kw("for") || self.is_kw("if") || self.is_kw("let") {
                self.enter()?;
            }
            let pos = self.pos();
            if self.is_kw("for") {
                self.i += 1;
                let Tok::Ident(a) = self.next().tok else {
                    return self.err("expected identifier after 'for'");
                };
                let (key, val) = if self.is(",") {
                    self.i += 1;
                    let Tok::Ident(b) = self.next().tok else {
                        return self.err("expected identifier");
                    };
                    (Some(a), b)
                } else {
                    (None, a)
                };
                if !self.is_kw("in") {
                    return self.err("expected 'in'");
                }
                self.i += 1;
                let src = self.expr()?;
                clauses.push(Clause::For { key, val, src, pos });
            } else if self.is_kw("if") {
                self.i += 1;
                clauses.push(Clause::If(self.expr()?));
            } else if self.is_kw("let") {
                self.i += 1;
                let Tok::Ident(n) = self.next().tok else {
                    return self.err("expected identifier");
                };
                self.expect("=")?;
                clauses.push(Clause::Let(n, self.expr()?));
            } else {
                break;
            }
            while matches!(self.tok(), Tok::Comma) {
                self.i += 1;
            }
        }
        if !self.is("{") {
            return self.err(&format!(
                "expected '{{' after comprehension clauses, found {}",
                describe(self.tok())
            ));
        }
        let Expr::Struct(body) = self.primary()? else {
            return self.err("expected struct");
        };
        Ok(Comprehension { clauses, body })
    }

    pub fn expr(&mut self) -> PResult<Expr> {
        self.enter()?;
        let r = self.binary(1);
        self.depth -= 1;
        r
    }

    fn binop(&self) -> Option<(Op, u8)> {
        let Tok::Punct(p) = self.tok() else {
            return None;
        };
        Some(match *p {
            "|" => (Op::Or, 1),
            "&" => (Op::And, 2),
            "||" => (Op::LOr, 3),
            "&&" => (Op::LAnd, 4),
            "==" => (Op::Eq, 5),
            "!=" => (Op::Ne, 5),
            "<" => (Op::Lt, 5),
            "<=" => (Op::Le, 5),
            ">" => (Op::Gt, 5),
            ">=" => (Op::Ge, 5),
            "=~" => (Op::Match, 5),
            "!~" => (Op::NotMatch, 5),
            "+" => (Op::Add, 6),
            "-" => (Op::Sub, 6),
            "*" => (Op::Mul, 7),
            "/" => (Op::Div, 7),
            _ => return None,
        })
    }

    fn binary(&mut self, min: u8) -> PResult<Expr> {
        let base = self.depth;
        let mut lhs = self.unary()?;
        while let Some((op, prec)) = self.binop() {
            if prec < min {
                break;
            }
            let pos = self.pos();
            self.i += 1;
            // Each operator nests the left operand one level deeper (`a | b | c` is
            // `(a | b) | c`): counted, and the right operand one more.
            self.enter()?;
            self.enter()?;
            let rhs = self.binary(prec + 1);
            self.depth -= 1;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs?), pos);
        }
        self.depth = base;
        Ok(lhs)
    }

    fn unary(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let op = match self.tok() {
            Tok::Punct("-") => Some(Op::Sub),
            Tok::Punct("+") => Some(Op::Add),
            Tok::Punct("!") => Some(Op::Not),
            Tok::Punct("<") => Some(Op::Lt),
            Tok::Punct("<=") => Some(Op::Le),
            Tok::Punct(">") => Some(Op::Gt),
            Tok::Punct(">=") => Some(Op::Ge),
            Tok::Punct("!=") => Some(Op::Ne),
            Tok::Punct("=~") => Some(Op::Match),
            Tok::Punct("!~") => Some(Op::NotMatch),
            Tok::Punct("*") => Some(Op::Mul),
            _ => None,
        };
        if let Some(op) = op {
            self.i += 1;
            self.enter()?;
            let e = self.unary();
            self.depth -= 1;
            let e = e?;
            if op == Op::Mul {
                return Ok(Expr::Default(Box::new(e), pos));
            }
            return Ok(Expr::Unary(op, Box::new(e), pos));
        }
        self.postfix()
    }

    fn postfix(&mut self) -> PResult<Expr> {
        let base = self.depth;
        let r = self.postfix_chain();
        self.depth = base;
        r
    }

    /// Selectors, indices and calls: each nests the expression before it one level deeper.
    fn postfix_chain(&mut self) -> PResult<Expr> {
        let mut e = self.primary()?;
        loop {
            let pos = self.pos();
            if self.is(".") || self.is("[") || self.is("(") {
                self.enter()?;
            }
            if self.is(".") {
                self.i += 1;
                match self.next().tok {
                    Tok::Ident(s) => e = Expr::Sel(Box::new(e), s, pos),
                    Tok::Str(s) => e = Expr::Sel(Box::new(e), s, pos),
                    _ => return self.err("expected selector"),
                }
            } else if self.is("[") {
                self.i += 1;
                let idx = self.expr()?;
                if self.is(":") {
                    return self.err("slice expressions are not supported");
                }
                self.expect("]")?;
                e = Expr::Index(Box::new(e), Box::new(idx), pos);
            } else if self.is("(") {
                self.i += 1;
                let mut args = Vec::new();
                while !self.is(")") {
                    args.push(self.expr()?);
                    if !self.comma() && !self.is(")") {
                        return self.err(&format!("expected ')', found {}", describe(self.tok())));
                    }
                }
                self.i += 1;
                e = Expr::Call(Box::new(e), args, pos);
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> PResult<Expr> {
        let pos = self.pos();
        let t = self.next();
        Ok(match t.tok {
            Tok::Int(i) => Expr::Int(i),
            Tok::Float(f, s) => Expr::Float(f, s),
            Tok::Str(s) => Expr::Str(s),
            Tok::Bytes(b) => Expr::Bytes(b),
            Tok::Interp(parts) => {
                let mut out = Vec::new();
                for p in parts {
                    match p {
                        Part::Lit(s) => out.push(IPart::Lit(s)),
                        Part::Expr(toks) => {
                            let mut sub = Parser {
                                toks,
                                i: 0,
                                depth: self.depth,
                                max_depth: self.max_depth,
                            };
                            let e = sub.expr()?;
                            if !matches!(sub.tok(), Tok::Eof) {
                                return sub.err("unexpected token in interpolation");
                            }
                            out.push(IPart::Expr(e));
                        }
                    }
                }
                Expr::Interp(out, pos)
            }
            Tok::Punct("_|_") => Expr::Bottom(pos),
            Tok::Ident(s) => match s.as_str() {
                "null" => Expr::Null,
                "true" => Expr::Bool(true),
                "false" => Expr::Bool(false),
                "_" => Expr::Top,
                "for" | "if" | "let" | "in" => {
                    return Err(format!(
                        "{}:{}: unexpected keyword '{s}'",
                        pos.line, pos.col
                    ));
                }
                _ => Expr::Ident(s, pos),
            },
            Tok::Punct("(") => {
                let e = self.expr()?;
                self.expect(")")?;
                e
            }
            Tok::Punct("{") => {
                self.enter()?;
                let decls = self.decls(false);
                self.depth -= 1;
                let decls = decls?;
                self.expect("}")?;
                Expr::Struct(Rc::new(StructLit { decls, pos }))
            }
            Tok::Punct("[") => {
                self.enter()?;
                let l = self.list(pos);
                self.depth -= 1;
                Expr::List(Rc::new(l?))
            }
            other => {
                return Err(format!(
                    "{}:{}: expected operand, found {}",
                    pos.line,
                    pos.col,
                    describe(&other)
                ));
            }
        })
    }

    fn list(&mut self, pos: Pos) -> PResult<ListLit> {
        let mut elems = Vec::new();
        let mut rest = None;
        loop {
            if self.is("]") {
                self.i += 1;
                break;
            }
            if matches!(self.tok(), Tok::Eof) {
                return self.err("expected ']', found 'EOF'");
            }
            if self.at_comma() {
                return self.err(&format!("expected operand, found {}", describe(self.tok())));
            }
            if self.is("...") {
                self.i += 1;
                rest = Some(if self.is("]") || self.at_comma() {
                    Expr::Top
                } else {
                    self.expr()?
                });
                self.list_comma()?;
                self.expect("]")?;
                break;
            }
            if self.is_kw("for") || self.is_kw("if") {
                elems.push(ListElem::Comp(Rc::new(self.comprehension()?)));
            } else {
                elems.push(ListElem::Expr(self.expr()?));
            }
            self.list_comma()?;
        }
        Ok(ListLit { elems, rest, pos })
    }
}

impl Parser {
    /// After a list element: a written comma, or a newline only right before the closing `]`.
    fn list_comma(&mut self) -> PResult<()> {
        if self.is(",") || self.is("]") {
            self.i += usize::from(self.is(","));
            return Ok(());
        }
        if matches!(self.tok(), Tok::Comma) {
            if matches!(self.tok_at(1), Tok::Punct("]")) {
                self.i += 1;
                return Ok(());
            }
            return self.err("missing ',' before newline in list literal");
        }
        self.err("missing ',' in list literal")
    }
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Int(i) => format!("'{i}'"),
        Tok::Float(_, s) => format!("'{s}'"),
        Tok::Str(s) => format!("{s:?}"),
        Tok::Bytes(_) => "bytes literal".into(),
        Tok::Interp(_) => "interpolation".into(),
        Tok::Punct(p) => format!("'{p}'"),
        Tok::Comma => "newline".into(),
        Tok::Eof => "'EOF'".into(),
    }
}
