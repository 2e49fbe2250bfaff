//! Lexer: CUE source text to tokens, with Go-style automatic comma insertion at newlines.
//! String interpolations `\(...)` are lexed into nested token lists for the parser.

use super::error::Pos;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    Int(i128),
    Float(f64, String),
    Str(String),
    Bytes(Vec<u8>),
    Interp(Vec<Part>),
    Punct(&'static str),
    Comma,
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Lit(String),
    Expr(Vec<Token>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: Pos,
}

const PUNCTS: [&str; 30] = [
    "...", "_|_", "==", "!=", "<=", ">=", "=~", "!~", "&&", "||", "{", "}", "[", "]", "(", ")",
    ":", ",", ".", "&", "|", "*", "+", "-", "/", "=", "<", ">", "!", "?",
];

struct Lexer<'a> {
    chars: Vec<char>,
    i: usize,
    line: u32,
    col: u32,
    max_tokens: usize,
    count: usize,
    /// Interpolations open around the current position (each lexes recursively).
    depth: usize,
    max_depth: usize,
    _src: &'a str,
}

pub fn lex(src: &str, max_tokens: usize, max_depth: usize) -> Result<Vec<Token>, String> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        i: 0,
        line: 1,
        col: 1,
        max_tokens,
        count: 0,
        depth: 0,
        max_depth,
        _src: src,
    };
    lx.tokens(false)
}

fn err(pos: Pos, msg: &str) -> String {
    format!("{}:{}: {}", pos.line, pos.col, msg)
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> Option<char> {
        self.chars.get(self.i + k).copied()
    }
    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }
    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }
    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.peek(k) == Some(c))
    }

    /// Lexes until end of input, or (when `in_interp`) until the `)` closing an interpolation.
    fn tokens(&mut self, in_interp: bool) -> Result<Vec<Token>, String> {
        let mut out: Vec<Token> = Vec::new();
        let mut depth = 0usize;
        loop {
            self.count += 1;
            if self.count > self.max_tokens {
                return Err(err(self.pos(), "policy too large (token budget exceeded)"));
            }
            let c = match self.peek(0) {
                None => {
                    if in_interp {
                        return Err(err(self.pos(), "string interpolation not terminated"));
                    }
                    insert_comma(&mut out, self.pos());
                    out.push(Token {
                        tok: Tok::Eof,
                        pos: self.pos(),
                    });
                    return Ok(out);
                }
                Some(c) => c,
            };
            if c == '\n' {
                insert_comma(&mut out, self.pos());
                self.bump();
                continue;
            }
            if c.is_whitespace() {
                self.bump();
                continue;
            }
            if self.starts_with("//") {
                while let Some(c) = self.peek(0) {
                    if c == '\n' {
                        break;
                    }
                    self.bump();
                }
                continue;
            }
            let pos = self.pos();
            if c == '"' || c == '\'' {
                let tok = self.string(c, 0)?;
                out.push(Token { tok, pos });
                continue;
            }
            if c == '#' {
                // `#"..."#`, `##"..."##`: a raw string, escapes and its end marked by as many `#`.
                let hashes = (0..).take_while(|&k| self.peek(k) == Some('#')).count();
                if let Some(q @ ('"' | '\'')) = self.peek(hashes) {
                    for _ in 0..hashes {
                        self.bump();
                    }
                    let tok = self.string(q, hashes)?;
                    out.push(Token { tok, pos });
                    continue;
                }
            }
            if c == '@' {
                return Err(err(pos, "attributes (@...) are not supported"));
            }
            if c.is_ascii_digit() || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit()))
            {
                let tok = self.number()?;
                out.push(Token { tok, pos });
                continue;
            }
            if self.starts_with("_|_") {
                for _ in 0..3 {
                    self.bump();
                }
                out.push(Token {
                    tok: Tok::Punct("_|_"),
                    pos,
                });
                continue;
            }
            if c.is_alphabetic() || c == '_' || c == '#' || c == '$' {
                let mut s = String::new();
                while let Some(c) = self.peek(0) {
                    if c.is_alphanumeric() || c == '_' || c == '#' || c == '$' {
                        s.push(c);
                        self.bump();
                    } else {
                        break;
                    }
                }
                out.push(Token {
                    tok: Tok::Ident(s),
                    pos,
                });
                continue;
            }
            let Some(p) = PUNCTS.iter().find(|p| self.starts_with(p)) else {
                return Err(err(pos, &format!("illegal character {c:?}")));
            };
            for _ in 0..p.len() {
                self.bump();
            }
            // A newline before an explicit comma separates nothing more (`[1\n, 2]` is valid CUE).
            if *p == "," && matches!(out.last().map(|t| &t.tok), Some(Tok::Comma)) {
                out.pop();
            }
            if in_interp {
                if *p == "(" {
                    depth += 1;
                } else if *p == ")" {
                    if depth == 0 {
                        out.push(Token { tok: Tok::Eof, pos });
                        return Ok(out);
                    }
                    depth -= 1;
                }
            }
            out.push(Token {
                tok: Tok::Punct(p),
                pos,
            });
        }
    }

    fn number(&mut self) -> Result<Tok, String> {
        let pos = self.pos();
        let mut s = String::new();
        if self.starts_with("0x") || self.starts_with("0o") || self.starts_with("0b") {
            let radix = match self.peek(1) {
                Some('x') => 16,
                Some('o') => 8,
                _ => 2,
            };
            self.bump();
            self.bump();
            while let Some(c) = self.peek(0) {
                if c.is_digit(radix) || c == '_' {
                    if c != '_' {
                        s.push(c);
                    }
                    self.bump();
                } else {
                    break;
                }
            }
            return i128::from_str_radix(&s, radix)
                .map(Tok::Int)
                .map_err(|_| err(pos, "invalid number"));
        }
        let mut is_float = false;
        while let Some(c) = self.peek(0) {
            if c.is_ascii_digit() || c == '_' {
                if c != '_' {
                    s.push(c);
                }
                self.bump();
            } else if c == '.' && !is_float && self.peek(1) != Some('.') {
                is_float = true;
                s.push(c);
                self.bump();
            } else if (c == 'e' || c == 'E') && !s.contains(['e', 'E']) {
                is_float = true;
                s.push(c);
                self.bump();
                if let Some(sign @ ('+' | '-')) = self.peek(0) {
                    s.push(sign);
                    self.bump();
                }
            } else {
                break;
            }
        }
        if self.peek(0).is_some_and(|c| c.is_alphabetic()) {
            return Err(err(
                self.pos(),
                "number multipliers and suffixes are not supported",
            ));
        }
        if is_float {
            let f: f64 = s.parse().map_err(|_| err(pos, "invalid number"))?;
            let text = if s.starts_with('.') {
                format!("0{s}")
            } else {
                s
            };
            Ok(Tok::Float(f, text))
        } else {
            s.parse::<i128>()
                .map(Tok::Int)
                .map_err(|_| err(pos, "integer literal too large"))
        }
    }

    /// True if the `n` characters from `k` on are all `#`.
    fn hashes_at(&self, k: usize, n: usize) -> bool {
        (k..k + n).all(|j| self.peek(j) == Some('#'))
    }

    /// A string or bytes literal quoted by `q`, raw with `hashes` `#` around it (0: not raw).
    fn string(&mut self, q: char, hashes: usize) -> Result<Tok, String> {
        let start = self.pos();
        let multi = self.starts_with(if q == '"' { "\"\"\"" } else { "'''" });
        if multi {
            for _ in 0..3 {
                self.bump();
            }
            if self.peek(0) != Some('\n') {
                return Err(err(self.pos(), "expected newline after multiline quote"));
            }
            self.bump();
        } else {
            self.bump();
        }
        let mut parts: Vec<Part> = Vec::new();
        let mut cur = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                return Err(err(start, "string literal not terminated"));
            };
            if multi
                && c == q
                && self.starts_with(&q.to_string().repeat(3))
                && self.hashes_at(3, hashes)
            {
                for _ in 0..3 + hashes {
                    self.bump();
                }
                break;
            }
            if !multi && c == q && self.hashes_at(1, hashes) {
                for _ in 0..1 + hashes {
                    self.bump();
                }
                break;
            }
            if !multi && c == '\n' {
                return Err(err(start, "string literal not terminated"));
            }
            if c == '\\' && self.hashes_at(1, hashes) {
                for _ in 0..1 + hashes {
                    self.bump();
                }
                let e = self
                    .bump()
                    .ok_or_else(|| err(start, "string literal not terminated"))?;
                match e {
                    'n' => cur.push('\n'),
                    't' => cur.push('\t'),
                    'r' => cur.push('\r'),
                    'a' => cur.push('\u{7}'),
                    'b' => cur.push('\u{8}'),
                    'f' => cur.push('\u{c}'),
                    'v' => cur.push('\u{b}'),
                    '\\' | '/' | '"' | '\'' => cur.push(e),
                    'u' | 'U' => {
                        let n = if e == 'u' { 4 } else { 8 };
                        let mut h = String::new();
                        for _ in 0..n {
                            h.push(self.bump().ok_or_else(|| err(start, "invalid escape"))?);
                        }
                        let v = u32::from_str_radix(&h, 16)
                            .map_err(|_| err(start, "invalid escape"))?;
                        cur.push(char::from_u32(v).ok_or_else(|| err(start, "invalid escape"))?);
                    }
                    '(' => {
                        parts.push(Part::Lit(std::mem::take(&mut cur)));
                        if self.depth >= self.max_depth {
                            return Err(err(
                                self.pos(),
                                "interpolations nested too deeply (depth budget exceeded)",
                            ));
                        }
                        self.depth += 1;
                        let toks = self.tokens(true);
                        self.depth -= 1;
                        parts.push(Part::Expr(toks?));
                    }
                    _ => return Err(err(self.pos(), "unknown escape sequence")),
                }
                continue;
            }
            cur.push(c);
            self.bump();
        }
        parts.push(Part::Lit(cur));
        if multi {
            strip_multiline(&mut parts);
        }
        if parts.len() == 1 {
            let s = match parts.pop() {
                Some(Part::Lit(s)) => s,
                _ => String::new(),
            };
            return Ok(if q == '"' {
                Tok::Str(s)
            } else {
                Tok::Bytes(s.into_bytes())
            });
        }
        if q == '\'' {
            return Err(err(
                start,
                "interpolation in bytes literals is not supported",
            ));
        }
        Ok(Tok::Interp(parts))
    }
}

/// Removes the closing line's indentation from every line of a multi-line string, and the final newline.
fn strip_multiline(parts: &mut [Part]) {
    let indent = match parts.last() {
        Some(Part::Lit(s)) => s.rsplit('\n').next().unwrap_or("").to_string(),
        _ => String::new(),
    };
    let n = parts.len();
    for (k, p) in parts.iter_mut().enumerate() {
        if let Part::Lit(s) = p {
            let mut lines: Vec<String> = s.split('\n').map(str::to_string).collect();
            for (j, l) in lines.iter_mut().enumerate() {
                if j > 0 || k == 0 {
                    if let Some(r) = l.strip_prefix(indent.as_str()) {
                        *l = r.to_string();
                    }
                }
            }
            if k + 1 == n {
                lines.pop();
            }
            *s = lines.join("\n");
        }
    }
}

fn insert_comma(out: &mut Vec<Token>, pos: Pos) {
    let needs = matches!(
        out.last().map(|t| &t.tok),
        Some(
            Tok::Ident(_)
                | Tok::Int(_)
                | Tok::Float(..)
                | Tok::Str(_)
                | Tok::Bytes(_)
                | Tok::Interp(_)
        ) | Some(Tok::Punct(")" | "]" | "}" | "_|_" | "..."))
    );
    if needs {
        out.push(Token {
            tok: Tok::Comma,
            pos,
        });
    }
}

/// A CUE identifier (a label that needs no quotes in a path).
pub fn is_ident(s: &str) -> bool {
    let mut cs = s.chars();
    let first_ok = match cs.next() {
        Some(c) => c.is_alphabetic() || c == '_' || c == '#' || c == '$',
        None => false,
    };
    first_ok
        && s.chars()
            .skip(1)
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}
