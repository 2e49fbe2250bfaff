//! Rule dependencies of a module, from its tokens: regorus evaluates a rule that refers to itself
//! (directly or through other rules or functions) by recursing until the guest's stack overflows,
//! and a long acyclic chain of rules does the same, one interpreter frame group per link. OPA
//! refuses recursion at compile time (`rego_recursion_error`); so do we, and we bound the chain.
//!
//! The bound is on evaluation depth, not on the number of rules: regorus also nests one level per
//! statement that iterates (`x := xs[_]`) and per bracket, so a rule weighs one, plus its
//! statements (lines and `;`, counted whether they iterate or not), plus its bracket nesting,
//! and the weights along any chain of dependencies must stay within `MAX_EVALUATION_DEPTH`.
//!
//! The reading is conservative: every identifier in a rule (head and body) that names a rule of
//! the module is a dependency, unless it follows a `.` (a field, as in `input.predicate`); a local
//! variable that shares a rule's name therefore counts as a reference. `data.sigstore.<rule>` is
//! that rule; `data`, `data.sigstore` and `data[...]` are every rule; `import data.sigstore.<rule>`
//! makes its alias that rule.

use super::limits::MAX_EVALUATION_DEPTH;
use super::source::{Kind, Token};
use std::collections::BTreeMap;

const PACKAGE: &str = "sigstore";

/// What an identifier may refer to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target<'a> {
    Rule(&'a str),
    Every,
}

/// Refuses recursion and over-long dependency chains.
pub fn check(tokens: &[Token<'_>]) -> Result<(), String> {
    let graph = Graph::build(tokens);
    graph.acyclic_within_budget()
}

struct Graph<'a> {
    /// Rule names in order of first definition.
    names: Vec<&'a str>,
    /// Sorted, deduplicated dependencies of each rule, as indexes into `names`.
    edges: Vec<Vec<usize>>,
    /// Evaluation depth of each rule on its own (the heaviest of its definitions).
    weights: Vec<usize>,
}

impl<'a> Graph<'a> {
    fn build(tokens: &[Token<'a>]) -> Self {
        let statements = statements(tokens);
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        let mut names = Vec::new();
        let mut aliases: BTreeMap<&str, Target<'a>> = BTreeMap::new();
        for statement in &statements {
            match statement {
                Statement::Rule { name, .. } => {
                    index.entry(name).or_insert_with(|| {
                        names.push(*name);
                        names.len() - 1
                    });
                }
                Statement::Import { alias, target } => {
                    aliases.insert(alias, *target);
                }
            }
        }
        let mut edges = vec![Vec::new(); names.len()];
        let mut weights = vec![0usize; names.len()];
        for statement in &statements {
            let Statement::Rule { name, body } = statement else {
                continue;
            };
            let Some(&from) = index.get(name) else {
                continue;
            };
            if let Some(w) = weights.get_mut(from) {
                *w = (*w).max(weight(body));
            }
            let mut targets = Vec::new();
            references(body, &aliases, &mut targets);
            let Some(list) = edges.get_mut(from) else {
                continue;
            };
            for target in targets {
                match target {
                    Target::Rule(to) => list.extend(index.get(to).copied()),
                    Target::Every => list.extend(0..names.len()),
                }
            }
            list.sort_unstable();
            list.dedup();
        }
        Graph {
            names,
            edges,
            weights,
        }
    }

    /// An iterative depth-first search (a recursive one would itself be at the mercy of the
    /// input): a back edge is a cycle; otherwise the longest path from each rule is computed on
    /// the way back up.
    fn acyclic_within_budget(&self) -> Result<(), String> {
        #[derive(Clone, Copy, PartialEq)]
        enum State {
            New,
            Open,
            Done,
        }
        let n = self.names.len();
        let mut state = vec![State::New; n];
        let mut longest = vec![0usize; n];
        for root in 0..n {
            if state.get(root) != Some(&State::New) {
                continue;
            }
            // (rule, next edge to follow)
            let mut stack = vec![(root, 0usize)];
            if let Some(s) = state.get_mut(root) {
                *s = State::Open;
            }
            while let Some(&mut (rule, ref mut next)) = stack.last_mut() {
                let edge = self.edges.get(rule).and_then(|e| e.get(*next)).copied();
                *next += 1;
                match edge {
                    Some(to) => match state.get(to) {
                        Some(State::New) => {
                            if let Some(s) = state.get_mut(to) {
                                *s = State::Open;
                            }
                            stack.push((to, 0));
                        }
                        Some(State::Open) => return Err(self.cycle(&stack, to)),
                        _ => {}
                    },
                    None => {
                        let own = self.weights.get(rule).copied().unwrap_or(1);
                        let depth = own
                            + self
                                .edges
                                .get(rule)
                                .into_iter()
                                .flatten()
                                .filter_map(|&to| longest.get(to))
                                .max()
                                .copied()
                                .unwrap_or(0);
                        if depth > MAX_EVALUATION_DEPTH {
                            return Err(format!(
                                "rule data.{PACKAGE}.{}: its statements, its nesting and the rules it depends on add up to an evaluation depth of {depth}, over the budget of {MAX_EVALUATION_DEPTH}",
                                self.name(rule)
                            ));
                        }
                        if let Some(l) = longest.get_mut(rule) {
                            *l = depth;
                        }
                        if let Some(s) = state.get_mut(rule) {
                            *s = State::Done;
                        }
                        stack.pop();
                    }
                }
            }
        }
        Ok(())
    }

    fn name(&self, rule: usize) -> &str {
        self.names.get(rule).copied().unwrap_or_default()
    }

    /// OPA's message: `rule data.p.a is recursive: data.p.a -> data.p.b -> data.p.a`.
    fn cycle(&self, stack: &[(usize, usize)], to: usize) -> String {
        let from = stack.iter().position(|&(r, _)| r == to).unwrap_or(0);
        let path: Vec<String> = stack
            .get(from..)
            .unwrap_or_default()
            .iter()
            .map(|&(r, _)| r)
            .chain(std::iter::once(to))
            .map(|r| format!("data.{PACKAGE}.{}", self.name(r)))
            .collect();
        format!(
            "rego_recursion_error: rule data.{PACKAGE}.{} is recursive: {}",
            self.name(to),
            path.join(" -> ")
        )
    }
}

/// One, plus the rule's statements (every line start and `;`), plus its deepest bracket.
fn weight(body: &[Token<'_>]) -> usize {
    let statements = body
        .iter()
        .filter(|t| t.line_start || t.kind == Kind::Punct(';'))
        .count();
    let nesting = body.iter().map(|t| t.depth).max().unwrap_or(0);
    1 + statements + nesting
}

enum Statement<'t, 'a> {
    Rule {
        name: &'a str,
        body: &'t [Token<'a>],
    },
    Import {
        alias: &'a str,
        target: Target<'a>,
    },
}

/// Splits the module at top-level line starts: a rule (or `default` rule) begins with its name,
/// and a line starting with `else`, a closing bracket or an operator continues the rule above.
fn statements<'t, 'a>(tokens: &'t [Token<'a>]) -> Vec<Statement<'t, 'a>> {
    let starts: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| {
            t.line_start
                && t.depth == 0
                && matches!(t.kind, Kind::Ident(s) if s != "else" && s != "if" && s != "contains")
        })
        .map(|(i, _)| i)
        .collect();
    let mut out = Vec::new();
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(tokens.len());
        let Some(statement) = tokens.get(start..end) else {
            continue;
        };
        match statement.first().map(|t| t.kind) {
            Some(Kind::Ident("package")) => {}
            Some(Kind::Ident("import")) => out.extend(import(statement)),
            Some(Kind::Ident("default")) => {
                if let Some(Kind::Ident(name)) = statement.get(1).map(|t| t.kind) {
                    out.push(Statement::Rule {
                        name,
                        body: statement.get(2..).unwrap_or_default(),
                    });
                }
            }
            Some(Kind::Ident(name)) => out.push(Statement::Rule {
                name,
                body: statement.get(1..).unwrap_or_default(),
            }),
            _ => {}
        }
    }
    out
}

/// `import data.sigstore.x [as y]`: `y` (or `x`) refers to rule `x`; `import data[.sigstore]`
/// makes its alias refer to every rule. Other imports (`input`, `future.keywords`, `rego.v1`,
/// other packages) refer to no rule of this module.
fn import<'t, 'a>(statement: &'t [Token<'a>]) -> Option<Statement<'t, 'a>> {
    let mut path = Vec::new();
    let mut alias = None;
    let mut rest = statement.get(1..).unwrap_or_default().iter();
    while let Some(token) = rest.next() {
        match token.kind {
            Kind::Ident("as") => {
                if let Some(Kind::Ident(a)) = rest.next().map(|t| t.kind) {
                    alias = Some(a);
                }
                break;
            }
            Kind::Ident(s) => path.push(s),
            Kind::Punct('.') => {}
            // `data["x"]` and other forms: every rule, to be safe.
            _ => path.push(""),
        }
    }
    let alias = alias.or_else(|| path.last().copied())?;
    let target = match path.as_slice() {
        ["data"] | ["data", PACKAGE] => Target::Every,
        ["data", PACKAGE, rule, ..] if !rule.is_empty() => Target::Rule(rule),
        ["data", ..] if path.get(1).is_some_and(|s| s.is_empty() || *s == PACKAGE) => Target::Every,
        _ => return None,
    };
    Some(Statement::Import { alias, target })
}

fn references<'a>(
    body: &[Token<'a>],
    aliases: &BTreeMap<&str, Target<'a>>,
    out: &mut Vec<Target<'a>>,
) {
    let kind = |i: usize| body.get(i).map(|t| t.kind);
    for (i, token) in body.iter().enumerate() {
        let Kind::Ident(name) = token.kind else {
            continue;
        };
        if i > 0 && kind(i - 1) == Some(Kind::Punct('.')) {
            continue;
        }
        if name == "data" {
            let target = match (kind(i + 1), kind(i + 2), kind(i + 3), kind(i + 4)) {
                (
                    Some(Kind::Punct('.')),
                    Some(Kind::Ident(PACKAGE)),
                    Some(Kind::Punct('.')),
                    Some(Kind::Ident(rule)),
                ) => Some(Target::Rule(rule)),
                (Some(Kind::Punct('.')), Some(Kind::Ident(PACKAGE)), _, _) => Some(Target::Every),
                (Some(Kind::Punct('.')), Some(Kind::Ident(_)), _, _) => None,
                _ => Some(Target::Every),
            };
            out.extend(target);
        } else if let Some(target) = aliases.get(name) {
            out.push(*target);
        } else {
            out.push(Target::Rule(name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::source::scan;
    use super::*;
    use rstest::rstest;

    fn run(source: &str) -> Result<(), String> {
        check(&scan(source)?)
    }

    #[rstest]
    #[case::self_reference(
        "package sigstore\nisCompliant { isCompliant }",
        "rego_recursion_error: rule data.sigstore.isCompliant is recursive: data.sigstore.isCompliant -> data.sigstore.isCompliant"
    )]
    #[case::through_another_rule(
        "package sigstore\nisCompliant { a }\na { b }\nb {\n  count([1 | isCompliant]) > 0\n}",
        "rego_recursion_error: rule data.sigstore.isCompliant is recursive: data.sigstore.isCompliant -> data.sigstore.a -> data.sigstore.b -> data.sigstore.isCompliant"
    )]
    #[case::recursive_function(
        "package sigstore\nf(x) = y { y := f(x - 1) }\nisCompliant { f(3) }",
        "rego_recursion_error: rule data.sigstore.f is recursive: data.sigstore.f -> data.sigstore.f"
    )]
    #[case::through_data(
        "package sigstore\nisCompliant { data.sigstore.isCompliant }",
        "rego_recursion_error: rule data.sigstore.isCompliant is recursive: data.sigstore.isCompliant -> data.sigstore.isCompliant"
    )]
    #[case::whole_package(
        "package sigstore\nother = 1\nisCompliant { data.sigstore[_] }",
        "rego_recursion_error: rule data.sigstore.isCompliant is recursive: data.sigstore.isCompliant -> data.sigstore.isCompliant"
    )]
    #[case::import_alias(
        "package sigstore\nimport data.sigstore.isCompliant as me\nisCompliant { me }",
        "rego_recursion_error: rule data.sigstore.isCompliant is recursive: data.sigstore.isCompliant -> data.sigstore.isCompliant"
    )]
    #[case::else_branch(
        "package sigstore\nisCompliant = true { input.x }\nelse = v { v := isCompliant }",
        "rego_recursion_error: rule data.sigstore.isCompliant is recursive: data.sigstore.isCompliant -> data.sigstore.isCompliant"
    )]
    #[case::v1_default_and_if(
        "package sigstore\nimport rego.v1\ndefault isCompliant := false\nisCompliant if {\n  ok\n}\nok if isCompliant",
        "rego_recursion_error: rule data.sigstore.isCompliant is recursive: data.sigstore.isCompliant -> data.sigstore.ok -> data.sigstore.isCompliant"
    )]
    fn refused(#[case] source: &str, #[case] message: &str) {
        assert_eq!(run(source), Err(message.to_string()));
    }

    #[rstest]
    #[case::field_named_like_a_rule(
        "package sigstore\npredicate = input.predicate\nisCompliant { predicate.Data == input.predicate.Data }"
    )]
    #[case::other_package("package sigstore\nisCompliant { data.other.isCompliant }")]
    #[case::strings_and_comments(
        "package sigstore\nisCompliant { \"isCompliant\" != `isCompliant` } # isCompliant"
    )]
    #[case::dag("package sigstore\nisCompliant { a; b }\na { b; c }\nb { c }\nc = true")]
    #[case::incremental_rules(
        "package sigstore\nisCompliant[r] { r := {\"result\": true} }\nisCompliant[r] { r := {\"result\": ok} }\nok = true"
    )]
    fn accepted(#[case] source: &str) {
        assert_eq!(run(source), Ok(()));
    }

    /// `r0 = true` weighs 1; each `r<i> { r<i-1> }` weighs 2 (itself and one bracket level).
    #[test]
    fn depth_budget() {
        let chain = |n: usize| {
            let mut source = String::from("package sigstore\nr0 = true\n");
            for i in 1..n {
                source.push_str(&format!("r{i} {{ r{} }}\n", i - 1));
            }
            source
        };
        let rules = (MAX_EVALUATION_DEPTH - 1) / 2 + 1;
        assert_eq!(run(&chain(rules)), Ok(()));
        assert_eq!(
            run(&chain(rules + 1)),
            Err(format!(
                "rule data.sigstore.r{rules}: its statements, its nesting and the rules it depends on add up to an evaluation depth of {}, over the budget of {MAX_EVALUATION_DEPTH}",
                1 + 2 * rules
            ))
        );
    }

    #[test]
    fn statements_weigh() {
        let body = |n: usize| {
            let lines: String = (0..n).map(|i| format!("  x{i} := [1][_]\n")).collect();
            format!("package sigstore\nisCompliant {{\n{lines}}}\n")
        };
        // 1 + n lines + the closing brace's line + two levels of brackets.
        assert_eq!(run(&body(MAX_EVALUATION_DEPTH - 4)), Ok(()));
        assert!(run(&body(MAX_EVALUATION_DEPTH - 3)).is_err());
    }
}
