//! Parsing: actions into pipelines of commands and operands, and the control structures
//! (`if`/`else if`/`else`, `range`, `with`, `end`) into a node tree; variables are checked
//! against their scopes and functions against the known names, as Go does at parse time.
//!
//! Uses `lexer`, `value`, `functions` (the known names).

use super::functions::FUNCS;
use super::lexer::{lex, Piece, Tok, Token};
use super::value::Val;

#[derive(Debug, Clone)]
pub(super) enum Term {
    Func(String),
    Var(String),
    Dot,
    Const(Val),
    Pipe(Box<Pipe>),
}

#[derive(Debug, Clone)]
pub(super) struct Operand {
    pub(super) term: Term,
    pub(super) fields: Vec<String>,
}

#[derive(Debug, Clone)]
pub(super) struct Pipe {
    pub(super) decl: Vec<String>,
    /// `=` (assign to existing variables) rather than `:=`.
    pub(super) assign: bool,
    pub(super) cmds: Vec<Vec<Operand>>,
}

#[derive(Debug, Clone)]
pub(super) enum Node {
    Text(String),
    Action(Pipe, usize),
    If(Pipe, Vec<Node>, Vec<Node>, usize),
    Range(Pipe, Vec<Node>, Vec<Node>, usize),
    With(Pipe, Vec<Node>, Vec<Node>, usize),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    pub(super) name: String,
    pub(super) nodes: Vec<Node>,
}

/// Variables every Prometheus alert template starts with.
pub const ALERT_VARS: [&str; 4] = ["$labels", "$externalLabels", "$externalURL", "$value"];

struct Parser<'a> {
    pieces: std::iter::Peekable<std::vec::IntoIter<Piece>>,
    scopes: Vec<Vec<String>>,
    name: &'a str,
}

/// How a list of nodes ended.
enum End {
    Eof,
    Close,
    Else(Vec<Token>, usize),
}

impl Parser<'_> {
    fn err(&self, line: usize, msg: impl std::fmt::Display) -> String {
        format!("template: {}:{line}: {msg}", self.name)
    }

    fn declared(&self, v: &str) -> bool {
        self.scopes.iter().any(|s| s.iter().any(|x| x == v))
    }

    fn list(&mut self) -> Result<(Vec<Node>, End), String> {
        let mut nodes = Vec::new();
        while let Some(p) = self.pieces.next() {
            match p {
                Piece::Text(t) => nodes.push(Node::Text(t)),
                Piece::Action(toks, line) => {
                    let first = toks.first().map(|t| t.tok.clone());
                    match first {
                        Some(Tok::Ident(k)) if k == "end" => {
                            if toks.len() > 1 {
                                return Err(self.err(line, "unexpected token in end"));
                            }
                            return Ok((nodes, End::Close));
                        }
                        Some(Tok::Ident(k)) if k == "else" => {
                            return Ok((nodes, End::Else(toks[1..].to_vec(), line)))
                        }
                        Some(Tok::Ident(k)) if matches!(k.as_str(), "if" | "range" | "with") => {
                            nodes.push(self.control(&k, &toks[1..], line)?);
                        }
                        Some(Tok::Ident(k))
                            if matches!(
                                k.as_str(),
                                "define" | "template" | "block" | "break" | "continue"
                            ) =>
                        {
                            return Err(self.err(
                                line,
                                format!("{{{{{k}}}}} is not supported in promterm templates"),
                            ))
                        }
                        None => return Err(self.err(line, "missing value for command")),
                        _ => {
                            let pipe = self.pipeline(&toks, line, false)?;
                            nodes.push(Node::Action(pipe, line));
                        }
                    }
                }
            }
        }
        Ok((nodes, End::Eof))
    }

    fn control(&mut self, kw: &str, toks: &[Token], line: usize) -> Result<Node, String> {
        self.scopes.push(Vec::new());
        let pipe = self.pipeline(toks, line, kw == "range")?;
        if pipe.cmds.is_empty() {
            return Err(self.err(line, format!("missing value for {kw}")));
        }
        let (then, end) = self.list()?;
        let els = match end {
            End::Eof => return Err(self.err(line, "unexpected EOF")),
            End::Close => Vec::new(),
            End::Else(rest, eline) => {
                self.scopes.pop();
                self.scopes.push(Vec::new());
                match rest.first().map(|t| &t.tok) {
                    None => {
                        let (els, end) = self.list()?;
                        match end {
                            End::Close => els,
                            End::Eof => return Err(self.err(eline, "unexpected EOF")),
                            End::Else(..) => {
                                return Err(self.err(eline, "expected end; found {{else}}"))
                            }
                        }
                    }
                    // `else if` / `else with` chain: the nested control shares our `end`.
                    Some(Tok::Ident(k))
                        if (k == "if" && kw == "if") || (k == "with" && kw == "with") =>
                    {
                        let k = k.clone();
                        vec![self.control(&k, &rest[1..], eline)?]
                    }
                    _ => return Err(self.err(eline, "unexpected token after else")),
                }
            }
        };
        self.scopes.pop();
        Ok(match kw {
            "if" => Node::If(pipe, then, els, line),
            "range" => Node::Range(pipe, then, els, line),
            _ => Node::With(pipe, then, els, line),
        })
    }

    fn pipeline(&mut self, toks: &[Token], line: usize, range: bool) -> Result<Pipe, String> {
        let mut i = 0;
        let mut decl = Vec::new();
        let mut assign = false;
        // Declarations: `$x :=`, `$x =`, `$i, $v :=` (range).
        let decl_end = toks
            .iter()
            .position(|t| matches!(t.tok, Tok::Declare | Tok::Assign));
        if let Some(d) = decl_end {
            let head = &toks[..d];
            let vars: Vec<&Token> = head.iter().filter(|t| t.tok != Tok::Comma).collect();
            let all_vars = !vars.is_empty()
                && vars.iter().all(|t| matches!(t.tok, Tok::Var(_)))
                && vars.len() <= if range { 2 } else { 1 };
            if all_vars {
                assign = toks[d].tok == Tok::Assign;
                for t in vars {
                    if let Tok::Var(v) = &t.tok {
                        if assign && !self.declared(v) {
                            return Err(self.err(line, format!("undefined variable {v:?}")));
                        }
                        decl.push(v.clone());
                    }
                }
                i = d + 1;
            }
        }
        let mut cmds = Vec::new();
        let mut cmd = Vec::new();
        while i < toks.len() {
            match &toks[i].tok {
                Tok::Pipe => {
                    if cmd.is_empty() {
                        return Err(self.err(line, "missing command"));
                    }
                    cmds.push(std::mem::take(&mut cmd));
                    i += 1;
                }
                _ => {
                    let (op, next) = self.operand(toks, i, line)?;
                    cmd.push(op);
                    i = next;
                }
            }
        }
        if !cmd.is_empty() {
            cmds.push(cmd);
        } else if !cmds.is_empty() {
            return Err(self.err(line, "missing command"));
        }
        if !assign {
            if let Some(scope) = self.scopes.last_mut() {
                scope.extend(decl.iter().cloned());
            }
        }
        Ok(Pipe { decl, assign, cmds })
    }

    fn operand(
        &mut self,
        toks: &[Token],
        i: usize,
        line: usize,
    ) -> Result<(Operand, usize), String> {
        let mut j = i + 1;
        let term = match &toks[i].tok {
            Tok::Ident(f) => {
                if !FUNCS.contains(&f.as_str()) {
                    return Err(self.err(line, format!("function {f:?} not defined")));
                }
                Term::Func(f.clone())
            }
            Tok::Var(v) => {
                if !self.declared(v) {
                    return Err(self.err(line, format!("undefined variable {v:?}")));
                }
                Term::Var(v.clone())
            }
            Tok::Dot => Term::Dot,
            Tok::Field(_) => {
                j = i;
                Term::Dot
            }
            Tok::Str(s) => Term::Const(Val::Str(s.clone())),
            Tok::Bool(b) => Term::Const(Val::Bool(*b)),
            Tok::Nil => Term::Const(Val::Nil),
            Tok::Num(n) => Term::Const(
                number(n).ok_or_else(|| self.err(line, format!("bad number syntax: {n:?}")))?,
            ),
            Tok::LParen => {
                let mut depth = 0;
                let mut k = i;
                loop {
                    match toks.get(k).map(|t| &t.tok) {
                        Some(Tok::LParen) => depth += 1,
                        Some(Tok::RParen) => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        None => return Err(self.err(line, "unclosed left paren")),
                        _ => {}
                    }
                    k += 1;
                }
                let inner = self.pipeline(&toks[i + 1..k], line, false)?;
                if inner.cmds.is_empty() {
                    return Err(self.err(line, "missing value for parenthesized pipeline"));
                }
                j = k + 1;
                Term::Pipe(Box::new(inner))
            }
            Tok::RParen => return Err(self.err(line, "unexpected right paren")),
            other => return Err(self.err(line, format!("unexpected {other:?} in operand"))),
        };
        let mut fields = Vec::new();
        while let Some(Token {
            tok: Tok::Field(f),
            spaced,
        }) = toks.get(j)
        {
            if *spaced && !(j == i && matches!(term, Term::Dot)) {
                break;
            }
            fields.push(f.clone());
            j += 1;
        }
        if matches!(term, Term::Func(_) | Term::Const(_)) && !fields.is_empty() {
            return Err(self.err(line, "unexpected field access"));
        }
        Ok((Operand { term, fields }, j))
    }
}

/// A Go template number constant: integers stay integers unless written with `.`/exponent.
fn number(n: &str) -> Option<Val> {
    let clean = n.replace('_', "");
    let (neg, digits) = match clean.strip_prefix('-') {
        Some(d) => (true, d.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let int = if let Some(h) = digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = digits.strip_prefix("0o").or(digits.strip_prefix("0O")) {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = digits.strip_prefix("0b").or(digits.strip_prefix("0B")) {
        i64::from_str_radix(b, 2).ok()
    } else if !digits.contains(['.', 'e', 'E']) {
        digits.parse().ok()
    } else {
        None
    };
    if let Some(v) = int {
        return Some(Val::Int(if neg { -v } else { v }));
    }
    let f: f64 = digits.parse().ok()?;
    Some(Val::Float(if neg { -f } else { f }))
}

impl Template {
    /// Parses `text`; `vars` are the variables defined before it (for alert templates,
    /// [`ALERT_VARS`]). Errors read like Go's: `template: NAME:LINE: message`.
    pub fn parse(name: &str, text: &str, vars: &[&str]) -> Result<Template, String> {
        let pieces = lex(text).map_err(|(l, m)| format!("template: {name}:{l}: {m}"))?;
        let mut p = Parser {
            pieces: pieces.into_iter().peekable(),
            scopes: vec![std::iter::once("$")
                .chain(vars.iter().copied())
                .map(String::from)
                .collect()],
            name,
        };
        let (nodes, end) = p.list()?;
        match end {
            End::Eof => Ok(Template {
                name: name.to_string(),
                nodes,
            }),
            End::Close => Err(format!("template: {name}: unexpected {{{{end}}}}")),
            End::Else(_, l) => Err(format!("template: {name}:{l}: unexpected {{{{else}}}}")),
        }
    }
}
