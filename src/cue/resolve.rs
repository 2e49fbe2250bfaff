//! Resolver: binds every identifier once, at compile time, to a field, let, comprehension
//! variable, import or predeclared name (counted in scopes up), and checks imports.

use super::label;
use super::lexer::is_ident;
use super::parser::{
    kind_of_ident, Clause, Comprehension, Decl, Expr, File, IPart, Label, ListElem, ListLit,
    RefKind, StructLit,
};
use super::stdlib::{self, Predefined};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

pub const PACKAGES: [&str; 6] = ["strings", "list", "struct", "time", "math", "regexp"];
/// The first elements of CUE's standard library import paths (those we lack are refused as
/// unsupported rather than unknown).
const STD: [&str; 17] = [
    "crypto", "encoding", "html", "list", "math", "net", "path", "regexp", "strconv", "strings",
    "struct", "text", "time", "tool", "uuid", "pkg", "errors",
];

enum Scope {
    Struct {
        fields: HashSet<String>,
        lets: HashSet<String>,
    },
    Vars(Vec<String>),
}

struct Resolver {
    scopes: Vec<Scope>,
    imports: HashMap<String, String>,
    depth: usize,
    max_depth: usize,
    /// Labels of the fields around the expression being resolved, for messages.
    path: Vec<String>,
}

pub fn resolve(file: File, max_depth: usize) -> Result<Rc<StructLit>, String> {
    let mut imports = HashMap::new();
    for (name, path, pos) in &file.imports {
        if !PACKAGES.contains(&path.as_str()) {
            let first = path.split('/').next().unwrap_or_default();
            let msg = if STD.contains(&first) {
                format!("import failed: package \"{path}\" is not supported")
            } else {
                // CUE's own text: a path without a domain names a builtin package.
                format!("builtin package \"{path}\" undefined")
            };
            return Err(format!("{}:{}: {msg}", pos.line, pos.col));
        }
        imports.insert(name.clone(), path.clone());
    }
    let mut r = Resolver {
        scopes: Vec::new(),
        imports,
        depth: 0,
        max_depth,
        path: Vec::new(),
    };
    // CUE v0.4 accepts unused imports in `cue eval`; so do we.
    r.strukt(&file.body)
}

impl Resolver {
    fn strukt(&mut self, s: &StructLit) -> Result<Rc<StructLit>, String> {
        let mut fields = HashSet::new();
        let mut lets = HashSet::new();
        for d in &s.decls {
            match d {
                Decl::Field {
                    label: Label::Name(n),
                    ..
                } if is_ident(n) => {
                    fields.insert(n.clone());
                }
                Decl::Let { name, pos, .. } if !lets.insert(name.clone()) => {
                    return Err(format!(
                        "{}:{}: {name} redeclared in this block",
                        pos.line, pos.col
                    ));
                }
                _ => {}
            }
        }
        self.scopes.push(Scope::Struct { fields, lets });
        let r = self.decls(&s.decls);
        self.scopes.pop();
        Ok(Rc::new(StructLit {
            decls: r?,
            pos: s.pos,
        }))
    }

    fn decls(&mut self, ds: &[Decl]) -> Result<Vec<Decl>, String> {
        let mut out = Vec::with_capacity(ds.len());
        for d in ds {
            out.push(match d {
                Decl::Field {
                    label,
                    kind,
                    value,
                    pos,
                } => {
                    let label = match label {
                        Label::Name(n) => Label::Name(label::ident(n)),
                        Label::Quoted(n) => Label::Quoted(label::data(n).into_owned()),
                        Label::Dynamic(e) => Label::Dynamic(self.expr(e)?),
                        Label::Pattern(e) => Label::Pattern(self.expr(e)?),
                    };
                    // As CUE names the field in messages (a pattern constraint as `[]`).
                    let shown = match &label {
                        Label::Name(n) | Label::Quoted(n) => Some(label::display(n)),
                        Label::Pattern(_) => Some("[]".to_string()),
                        Label::Dynamic(_) => None,
                    };
                    let pushed = shown.map(|l| self.path.push(l)).is_some();
                    let value = self.expr(value);
                    if pushed {
                        self.path.pop();
                    }
                    Decl::Field {
                        label,
                        kind: *kind,
                        value: value?,
                        pos: *pos,
                    }
                }
                Decl::Embed(e) => Decl::Embed(self.expr(e)?),
                Decl::Let { name, value, pos } => Decl::Let {
                    name: name.clone(),
                    value: self.expr(value)?,
                    pos: *pos,
                },
                Decl::Comp(c) => Decl::Comp(self.comp(c)?),
                Decl::Ellipsis => Decl::Ellipsis,
            });
        }
        Ok(out)
    }

    fn comp(&mut self, c: &Comprehension) -> Result<Rc<Comprehension>, String> {
        let mut clauses = Vec::new();
        let base = self.scopes.len();
        let mut res = Ok(());
        for cl in &c.clauses {
            match cl {
                Clause::For { key, val, src, pos } => match self.expr(src) {
                    Ok(src) => {
                        clauses.push(Clause::For {
                            key: key.clone(),
                            val: val.clone(),
                            src,
                            pos: *pos,
                        });
                        let mut names: Vec<String> = key.iter().cloned().collect();
                        names.push(val.clone());
                        self.scopes.push(Scope::Vars(names));
                    }
                    Err(e) => {
                        res = Err(e);
                        break;
                    }
                },
                Clause::If(e) => match self.expr(e) {
                    Ok(e) => clauses.push(Clause::If(e)),
                    Err(e) => {
                        res = Err(e);
                        break;
                    }
                },
                Clause::Let(n, e) => match self.expr(e) {
                    Ok(e) => {
                        clauses.push(Clause::Let(n.clone(), e));
                        self.scopes.push(Scope::Vars(vec![n.clone()]));
                    }
                    Err(e) => {
                        res = Err(e);
                        break;
                    }
                },
            }
        }
        let body = match res {
            Ok(()) => self.strukt(&c.body),
            Err(e) => Err(e),
        };
        self.scopes.truncate(base);
        Ok(Rc::new(Comprehension {
            clauses,
            body: body?,
        }))
    }

    fn list(&mut self, l: &ListLit) -> Result<Rc<ListLit>, String> {
        let mut elems = Vec::new();
        for e in &l.elems {
            elems.push(match e {
                ListElem::Expr(e) => ListElem::Expr(self.expr(e)?),
                ListElem::Comp(c) => ListElem::Comp(self.comp(c)?),
            });
        }
        let rest = match &l.rest {
            Some(e) => Some(self.expr(e)?),
            None => None,
        };
        Ok(Rc::new(ListLit {
            elems,
            rest,
            pos: l.pos,
        }))
    }

    fn lookup(&mut self, name: &str, pos: super::error::Pos) -> Result<Expr, String> {
        for (up, s) in self.scopes.iter().rev().enumerate() {
            let kind = match s {
                Scope::Struct { fields, lets } => {
                    if fields.contains(name) {
                        Some(RefKind::Field)
                    } else if lets.contains(name) {
                        Some(RefKind::Let)
                    } else {
                        None
                    }
                }
                Scope::Vars(v) => v.iter().any(|n| n == name).then_some(RefKind::Var),
            };
            if let Some(kind) = kind {
                let name = if kind == RefKind::Field {
                    label::ident(name)
                } else {
                    name.to_string()
                };
                return Ok(Expr::Ref {
                    name,
                    up,
                    kind,
                    pos,
                });
            }
        }
        if let Some(path) = self.imports.get(name) {
            return Ok(Expr::Ref {
                name: name.to_string(),
                up: 0,
                kind: RefKind::Import(path.clone()),
                pos,
            });
        }
        if let Some(k) = kind_of_ident(name) {
            return Ok(Expr::Kind(k));
        }
        if let Some(b) = stdlib::predeclared(name) {
            return Ok(Expr::Ref {
                name: name.to_string(),
                up: 0,
                kind: RefKind::Predefined(Predefined::Func(b)),
                pos,
            });
        }
        let at = if self.path.is_empty() {
            String::new()
        } else {
            format!("{}: ", self.path.join("."))
        };
        Err(format!(
            "{}:{}: {at}reference \"{name}\" not found",
            pos.line, pos.col
        ))
    }

    fn expr(&mut self, e: &Expr) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > self.max_depth {
            return Err("nesting too deep (depth budget exceeded)".into());
        }
        let r = self.expr_inner(e);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, e: &Expr) -> Result<Expr, String> {
        Ok(match e {
            Expr::Ident(n, pos) => self.lookup(n, *pos)?,
            Expr::Interp(parts, pos) => {
                let mut out = Vec::new();
                for p in parts {
                    out.push(match p {
                        IPart::Lit(s) => IPart::Lit(s.clone()),
                        IPart::Expr(e) => IPart::Expr(self.expr(e)?),
                    });
                }
                Expr::Interp(out, *pos)
            }
            Expr::Struct(s) => Expr::Struct(self.strukt(s)?),
            Expr::List(l) => Expr::List(self.list(l)?),
            Expr::Sel(b, n, p) => {
                let base = self.expr(b)?;
                if let Expr::Ref {
                    kind: RefKind::Import(pkg),
                    ..
                } = &base
                {
                    return match stdlib::member(pkg, n) {
                        Some(member) => Ok(Expr::Ref {
                            name: format!("{pkg}.{n}"),
                            up: 0,
                            kind: RefKind::Predefined(member),
                            pos: *p,
                        }),
                        None => Err(format!(
                            "{}:{}: undefined field: {n} (package \"{pkg}\": not supported)",
                            p.line, p.col
                        )),
                    };
                }
                Expr::Sel(Box::new(base), label::ident(n), *p)
            }
            Expr::Index(b, i, p) => {
                Expr::Index(Box::new(self.expr(b)?), Box::new(self.expr(i)?), *p)
            }
            Expr::Call(f, args, p) => {
                let f = self.expr(f)?;
                let mut a = Vec::new();
                for x in args {
                    a.push(self.expr(x)?);
                }
                Expr::Call(Box::new(f), a, *p)
            }
            Expr::Unary(op, x, p) => Expr::Unary(*op, Box::new(self.expr(x)?), *p),
            Expr::Binary(op, a, b, p) => {
                Expr::Binary(*op, Box::new(self.expr(a)?), Box::new(self.expr(b)?), *p)
            }
            Expr::Default(x, p) => Expr::Default(Box::new(self.expr(x)?), *p),
            other => other.clone(),
        })
    }
}
