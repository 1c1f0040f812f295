//! The Go `text/template` subset that alerting-rule labels and annotations use, with
//! Prometheus's template functions.
//!
//! Syntax: text with `{{ ... }}` actions (`{{-`/`-}}` trim whitespace, `{{/* */}}` comments);
//! pipelines of commands joined by `|` (the previous result becomes the last argument);
//! variables (`$x := ...`, `$x = ...`, `$`), fields (`.Labels.job`, `$labels.job`, `.Value`),
//! string/number/bool/nil constants, parenthesised pipelines; `if`/`else if`/`else`, `range`
//! (with one or two variables) and `with`, each closed by `end`. `define`, `template`, `block`,
//! `break` and `continue` are rejected with an error naming them.
//!
//! Functions: Go's `and or not len index print printf println eq ne lt le gt ge urlquery html`
//! and Prometheus's `humanize humanize1024 humanizeDuration humanizePercentage
//! humanizeTimestamp toUpper toLower title reReplaceAll match query first label value strvalue
//! sortByLabel args safeHtml stripPort stripDomain externalURL pathPrefix graphLink tableLink
//! parseDuration toTime`. An unknown function is a parse error, as in Go.
//!
//! Values follow Go's rules where a rule file can tell: integer and float constants are
//! distinct types (`gt $value 80` is a comparison error, `gt $value 80.0` is not), missing map
//! keys read as "" (Prometheus's `missingkey=zero`), and values print as `fmt.Sprint` does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::model::format_go_g;

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A `map[string]string` (label sets): missing keys read as "".
    Map(Arc<BTreeMap<String, String>>),
    /// A struct with named fields (the template data); unknown fields are errors.
    Struct(&'static str, Arc<Vec<(&'static str, Val)>>),
    /// One query result sample (`.Labels`, `.Value`).
    Sample(Arc<QuerySample>),
    /// A query result.
    Samples(Arc<Vec<Arc<QuerySample>>>),
    /// `args` results and other `map[string]interface{}`.
    AnyMap(Arc<BTreeMap<String, Val>>),
}

/// A sample as templates see query results.
#[derive(Debug, Clone, PartialEq)]
pub struct QuerySample {
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Nil => "nil",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float64",
            Val::Str(_) => "string",
            Val::Map(_) => "map[string]string",
            Val::Struct(n, _) => n,
            Val::Sample(_) => "*template.sample",
            Val::Samples(_) => "template.queryResult",
            Val::AnyMap(_) => "map[string]interface {}",
        }
    }

    fn truth(&self) -> bool {
        match self {
            Val::Nil => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::Map(m) => !m.is_empty(),
            Val::Samples(s) => !s.is_empty(),
            Val::AnyMap(m) => !m.is_empty(),
            Val::Struct(..) | Val::Sample(_) => true,
        }
    }

    /// `fmt.Sprint` of the value.
    fn print(&self, out: &mut String) {
        match self {
            Val::Nil => out.push_str("<nil>"),
            Val::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Val::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Val::Float(f) => out.push_str(&format_go_g(*f)),
            Val::Str(s) => out.push_str(s),
            Val::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    let _ = write!(out, "{k}:{v}");
                }
                out.push(']');
            }
            Val::AnyMap(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.print(out);
                }
                out.push(']');
            }
            Val::Struct(_, fields) => {
                out.push('{');
                for (i, (_, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.print(out);
                }
                out.push('}');
            }
            Val::Sample(s) => {
                out.push_str("&{");
                Val::Map(Arc::new(s.labels.clone())).print(out);
                out.push(' ');
                out.push_str(&format_go_g(s.value));
                out.push('}');
            }
            Val::Samples(list) => {
                out.push('[');
                for (i, s) in list.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    Val::Sample(s.clone()).print(out);
                }
                out.push(']');
            }
        }
    }

    fn to_display(&self) -> String {
        let mut s = String::new();
        self.print(&mut s);
        s
    }
}

/// Runs an instant query for the `query` function: (labels, value) per sample.
pub type QueryFn<'a> = &'a dyn Fn(&str) -> Result<Vec<QuerySample>, String>;

/// What template functions may need from the outside.
pub struct Env<'a> {
    pub query: Option<QueryFn<'a>>,
    pub external_url: &'a str,
}

// ---------------------------------------------------------------------------------------------
// Lexing

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `$` or `$name`.
    Var(String),
    /// `.name` (a field step); a lone `.` is `Dot`.
    Field(String),
    Dot,
    Str(String),
    Num(String),
    Bool(bool),
    Nil,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// Whether whitespace separates it from the previous token.
    spaced: bool,
}

/// A raw piece of the template: text, or an action's tokens with its line.
enum Piece {
    Text(String),
    Action(Vec<Token>, usize),
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn lex(text: &str) -> Result<Vec<Piece>, (usize, String)> {
    let b = text.as_bytes();
    let mut pieces = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut trim_next = false;
    while i < b.len() {
        let start = i;
        let open = text[i..].find("{{").map(|p| p + i);
        let end_text = open.unwrap_or(b.len());
        let mut t = &text[start..end_text];
        if trim_next {
            t = t.trim_start_matches(|c: char| c.is_ascii_whitespace());
        }
        trim_next = false;
        line += text[start..end_text].matches('\n').count();
        let Some(open) = open else {
            if !t.is_empty() {
                pieces.push(Piece::Text(t.to_string()));
            }
            break;
        };
        let mut j = open + 2;
        if b.get(j) == Some(&b'-') && b.get(j + 1).is_some_and(|&c| is_space(c)) {
            t = t.trim_end_matches(|c: char| c.is_ascii_whitespace());
            j += 2;
        }
        if !t.is_empty() {
            pieces.push(Piece::Text(t.to_string()));
        }
        let action_line = line;
        // Comments.
        let rest = &text[j..];
        let rest_trim = rest.trim_start();
        if rest_trim.starts_with("/*") {
            let Some(close) = rest.find("*/") else {
                return Err((action_line, "unclosed comment".into()));
            };
            let after = &rest[close + 2..];
            let (skip, trim) = if let Some(a) = after.strip_prefix(" -}}") {
                (after.len() - a.len(), true)
            } else if after.starts_with("}}") {
                (2, false)
            } else {
                return Err((action_line, "comment ends before closing delimiter".into()));
            };
            line += text[j..j + close + 2 + skip].matches('\n').count();
            i = j + close + 2 + skip;
            trim_next = trim;
            continue;
        }
        let mut toks = Vec::new();
        let mut spaced = true;
        loop {
            let Some(&c) = b.get(j) else {
                return Err((action_line, "unclosed action".into()));
            };
            if c == b'}' && b.get(j + 1) == Some(&b'}') {
                j += 2;
                break;
            }
            if is_space(c) {
                if c == b'\n' {
                    line += 1;
                }
                // ` -}}` closes and trims.
                if b.get(j + 1) == Some(&b'-') && text[j + 2..].starts_with("}}") {
                    j += 4;
                    trim_next = true;
                    break;
                }
                spaced = true;
                j += 1;
                continue;
            }
            let push = |toks: &mut Vec<Token>, tok: Tok, spaced: &mut bool| {
                toks.push(Token {
                    tok,
                    spaced: *spaced,
                });
                *spaced = false;
            };
            match c {
                b'|' => {
                    push(&mut toks, Tok::Pipe, &mut spaced);
                    j += 1;
                }
                b'(' => {
                    push(&mut toks, Tok::LParen, &mut spaced);
                    j += 1;
                }
                b')' => {
                    push(&mut toks, Tok::RParen, &mut spaced);
                    j += 1;
                }
                b',' => {
                    push(&mut toks, Tok::Comma, &mut spaced);
                    j += 1;
                }
                b':' if b.get(j + 1) == Some(&b'=') => {
                    push(&mut toks, Tok::Declare, &mut spaced);
                    j += 2;
                }
                b'=' => {
                    push(&mut toks, Tok::Assign, &mut spaced);
                    j += 1;
                }
                b'"' => {
                    let mut s = String::new();
                    let mut k = j + 1;
                    loop {
                        let Some(&d) = b.get(k) else {
                            return Err((line, "unterminated quoted string".into()));
                        };
                        match d {
                            b'"' => break,
                            b'\n' => return Err((line, "unterminated quoted string".into())),
                            b'\\' => {
                                let e = b.get(k + 1).copied().unwrap_or(b'\\');
                                match e {
                                    b'n' => s.push('\n'),
                                    b't' => s.push('\t'),
                                    b'r' => s.push('\r'),
                                    b'\\' => s.push('\\'),
                                    b'"' => s.push('"'),
                                    b'\'' => s.push('\''),
                                    b'a' => s.push('\x07'),
                                    b'b' => s.push('\x08'),
                                    b'f' => s.push('\x0c'),
                                    b'v' => s.push('\x0b'),
                                    b'x' => {
                                        let h = text.get(k + 2..k + 4).unwrap_or("");
                                        let v = u8::from_str_radix(h, 16)
                                            .map_err(|_| (line, format!("bad escape \\x{h}")))?;
                                        s.push(char::from(v));
                                        k += 2;
                                    }
                                    other => {
                                        return Err((
                                            line,
                                            format!("unknown escape sequence \\{}", other as char),
                                        ))
                                    }
                                }
                                k += 2;
                                continue;
                            }
                            _ => {
                                let ch = text[k..].chars().next().unwrap_or(' ');
                                s.push(ch);
                                k += ch.len_utf8();
                                continue;
                            }
                        }
                    }
                    push(&mut toks, Tok::Str(s), &mut spaced);
                    j = k + 1;
                }
                b'`' => {
                    let Some(close) = text[j + 1..].find('`') else {
                        return Err((line, "unterminated raw quoted string".into()));
                    };
                    let s = &text[j + 1..j + 1 + close];
                    line += s.matches('\n').count();
                    push(&mut toks, Tok::Str(s.to_string()), &mut spaced);
                    j += close + 2;
                }
                b'$' => {
                    let mut k = j + 1;
                    while b
                        .get(k)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        k += 1;
                    }
                    push(&mut toks, Tok::Var(text[j..k].to_string()), &mut spaced);
                    j = k;
                }
                b'.' if b
                    .get(j + 1)
                    .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') =>
                {
                    let mut k = j + 1;
                    while b
                        .get(k)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        k += 1;
                    }
                    push(
                        &mut toks,
                        Tok::Field(text[j + 1..k].to_string()),
                        &mut spaced,
                    );
                    j = k;
                }
                b'.' if !b.get(j + 1).is_some_and(u8::is_ascii_digit) => {
                    push(&mut toks, Tok::Dot, &mut spaced);
                    j += 1;
                }
                c if c.is_ascii_digit()
                    || c == b'.'
                    || ((c == b'-' || c == b'+')
                        && b.get(j + 1)
                            .is_some_and(|d| d.is_ascii_digit() || *d == b'.')) =>
                {
                    let mut k = j + 1;
                    while b.get(k).is_some_and(|d| {
                        d.is_ascii_alphanumeric()
                            || *d == b'.'
                            || *d == b'_'
                            || ((*d == b'-' || *d == b'+')
                                && matches!(b[k - 1], b'e' | b'E' | b'p' | b'P'))
                    }) {
                        k += 1;
                    }
                    push(&mut toks, Tok::Num(text[j..k].to_string()), &mut spaced);
                    j = k;
                }
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let mut k = j + 1;
                    while b
                        .get(k)
                        .is_some_and(|d| d.is_ascii_alphanumeric() || *d == b'_')
                    {
                        k += 1;
                    }
                    let w = &text[j..k];
                    let tok = match w {
                        "true" => Tok::Bool(true),
                        "false" => Tok::Bool(false),
                        "nil" => Tok::Nil,
                        _ => Tok::Ident(w.to_string()),
                    };
                    push(&mut toks, tok, &mut spaced);
                    j = k;
                }
                other => {
                    let ch = text[j..].chars().next().unwrap_or(other as char);
                    return Err((line, format!("unexpected {ch:?} in command")));
                }
            }
        }
        pieces.push(Piece::Action(toks, action_line));
        i = j;
    }
    Ok(pieces)
}

// ---------------------------------------------------------------------------------------------
// Parsing

#[derive(Debug, Clone)]
enum Term {
    Func(String),
    Var(String),
    Dot,
    Const(Val),
    Pipe(Box<Pipe>),
}

#[derive(Debug, Clone)]
struct Operand {
    term: Term,
    fields: Vec<String>,
}

#[derive(Debug, Clone)]
struct Pipe {
    decl: Vec<String>,
    /// `=` (assign to existing variables) rather than `:=`.
    assign: bool,
    cmds: Vec<Vec<Operand>>,
}

#[derive(Debug, Clone)]
enum Node {
    Text(String),
    Action(Pipe, usize),
    If(Pipe, Vec<Node>, Vec<Node>, usize),
    Range(Pipe, Vec<Node>, Vec<Node>, usize),
    With(Pipe, Vec<Node>, Vec<Node>, usize),
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    name: String,
    nodes: Vec<Node>,
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

const FUNCS: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "urlquery",
    "html",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toUpper",
    "toLower",
    "title",
    "reReplaceAll",
    "match",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "args",
    "safeHtml",
    "stripPort",
    "stripDomain",
    "externalURL",
    "pathPrefix",
    "graphLink",
    "tableLink",
    "parseDuration",
    "toTime",
];

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

    /// Runs the template with `dot` as `.` and the given variables.
    pub fn execute(
        &self,
        dot: &Val,
        vars: &[(&str, Val)],
        env: &Env<'_>,
    ) -> Result<String, String> {
        let mut ex = Exec {
            vars: std::iter::once(("$".to_string(), dot.clone()))
                .chain(vars.iter().map(|(k, v)| (k.to_string(), v.clone())))
                .collect(),
            env,
            name: &self.name,
            out: String::new(),
        };
        ex.nodes(&self.nodes, dot)?;
        Ok(ex.out)
    }
}

// ---------------------------------------------------------------------------------------------
// Execution

struct Exec<'a> {
    vars: Vec<(String, Val)>,
    env: &'a Env<'a>,
    name: &'a str,
    out: String,
}

impl Exec<'_> {
    fn err(&self, line: usize, msg: impl std::fmt::Display) -> String {
        format!(
            "template: {}:{line}: executing {:?}: {msg}",
            self.name, self.name
        )
    }

    fn nodes(&mut self, nodes: &[Node], dot: &Val) -> Result<(), String> {
        for n in nodes {
            match n {
                Node::Text(t) => self.out.push_str(t),
                Node::Action(p, line) => {
                    let v = self.pipe(p, dot, *line)?;
                    if p.decl.is_empty() {
                        v.print(&mut self.out);
                    }
                }
                Node::If(p, then, els, line) => {
                    let mark = self.vars.len();
                    let v = self.pipe(p, dot, *line)?;
                    let r = self.nodes(if v.truth() { then } else { els }, dot);
                    self.vars.truncate(mark);
                    r?;
                }
                Node::With(p, then, els, line) => {
                    let mark = self.vars.len();
                    let v = self.pipe(p, dot, *line)?;
                    let r = if v.truth() {
                        self.nodes(then, &v)
                    } else {
                        self.nodes(els, dot)
                    };
                    self.vars.truncate(mark);
                    r?;
                }
                Node::Range(p, body, els, line) => {
                    let mark = self.vars.len();
                    let decl = p.decl.clone();
                    let plain = Pipe {
                        decl: Vec::new(),
                        assign: false,
                        cmds: p.cmds.clone(),
                    };
                    let v = self.pipe(&plain, dot, *line)?;
                    let items: Vec<(Val, Val)> = match &v {
                        Val::Map(m) => m
                            .iter()
                            .map(|(k, v)| (Val::Str(k.clone()), Val::Str(v.clone())))
                            .collect(),
                        Val::AnyMap(m) => m
                            .iter()
                            .map(|(k, v)| (Val::Str(k.clone()), v.clone()))
                            .collect(),
                        Val::Samples(s) => s
                            .iter()
                            .enumerate()
                            .map(|(i, x)| (Val::Int(i as i64), Val::Sample(x.clone())))
                            .collect(),
                        Val::Int(n) => (0..*n).map(|i| (Val::Int(i), Val::Int(i))).collect(),
                        Val::Nil => Vec::new(),
                        other => {
                            return Err(self.err(
                                *line,
                                format!("range can't iterate over {}", other.to_display()),
                            ))
                        }
                    };
                    if items.is_empty() {
                        self.nodes(els, dot)?;
                    }
                    for (k, item) in items {
                        let inner = self.vars.len();
                        match decl.as_slice() {
                            [v] => self.vars.push((v.clone(), item.clone())),
                            [kv, vv] => {
                                self.vars.push((kv.clone(), k));
                                self.vars.push((vv.clone(), item.clone()));
                            }
                            _ => {}
                        }
                        let r = self.nodes(body, &item);
                        self.vars.truncate(inner);
                        r?;
                    }
                    self.vars.truncate(mark);
                }
            }
        }
        Ok(())
    }

    fn pipe(&mut self, p: &Pipe, dot: &Val, line: usize) -> Result<Val, String> {
        let mut last: Option<Val> = None;
        for cmd in &p.cmds {
            last = Some(self.command(cmd, dot, last, line)?);
        }
        let v = last.unwrap_or(Val::Nil);
        for name in &p.decl {
            if p.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                }
            } else {
                self.vars.push((name.clone(), v.clone()));
            }
        }
        Ok(v)
    }

    fn command(
        &mut self,
        cmd: &[Operand],
        dot: &Val,
        last: Option<Val>,
        line: usize,
    ) -> Result<Val, String> {
        let first = &cmd[0];
        if let Term::Func(f) = &first.term {
            let mut args = Vec::with_capacity(cmd.len());
            for op in &cmd[1..] {
                args.push(self.operand(op, dot, line)?);
            }
            args.extend(last);
            return self
                .call(f, args)
                .map_err(|e| self.err(line, format!("error calling {f}: {e}")));
        }
        if cmd.len() > 1 || last.is_some() {
            return Err(self.err(
                line,
                format!("can't give argument to non-function {}", describe(first)),
            ));
        }
        self.operand(first, dot, line)
    }

    fn operand(&mut self, op: &Operand, dot: &Val, line: usize) -> Result<Val, String> {
        let mut v = match &op.term {
            Term::Dot => dot.clone(),
            Term::Var(name) => self
                .vars
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| self.err(line, format!("undefined variable: {name}")))?,
            Term::Const(c) => c.clone(),
            Term::Pipe(p) => self.pipe(p, dot, line)?,
            Term::Func(f) => self
                .call(f, Vec::new())
                .map_err(|e| self.err(line, format!("error calling {f}: {e}")))?,
        };
        for f in &op.fields {
            v = field(&v, f).map_err(|e| self.err(line, e))?;
        }
        Ok(v)
    }

    fn call(&mut self, f: &str, args: Vec<Val>) -> Result<Val, String> {
        call(f, args, self.env)
    }
}

fn describe(op: &Operand) -> String {
    let base = match &op.term {
        Term::Dot => ".".to_string(),
        Term::Var(v) => v.clone(),
        Term::Const(c) => c.to_display(),
        Term::Pipe(_) => "(...)".to_string(),
        Term::Func(f) => f.clone(),
    };
    if op.fields.is_empty() {
        base
    } else {
        let path: String = op.fields.iter().map(|f| format!(".{f}")).collect();
        if base == "." {
            path
        } else {
            format!("{base}{path}")
        }
    }
}

fn field(v: &Val, name: &str) -> Result<Val, String> {
    match v {
        Val::Map(m) => Ok(Val::Str(m.get(name).cloned().unwrap_or_default())),
        Val::AnyMap(m) => Ok(m.get(name).cloned().unwrap_or(Val::Nil)),
        Val::Struct(t, fields) => fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("can't evaluate field {name} in type {t}")),
        Val::Sample(s) => match name {
            "Labels" => Ok(Val::Map(Arc::new(s.labels.clone()))),
            "Value" => Ok(Val::Float(s.value)),
            _ => Err(format!(
                "can't evaluate field {name} in type *template.sample"
            )),
        },
        Val::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
        other => Err(format!(
            "can't evaluate field {name} in type {}",
            other.type_name()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Functions

fn want_args(args: &[Val], n: usize) -> Result<(), String> {
    if args.len() != n {
        return Err(format!("wrong number of args: got {} want {n}", args.len()));
    }
    Ok(())
}

fn as_str(v: &Val) -> Result<String, String> {
    match v {
        Val::Str(s) => Ok(s.clone()),
        other => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

/// Prometheus's `convertToFloat`.
fn to_float(v: &Val) -> Result<f64, String> {
    match v {
        Val::Float(f) => Ok(*f),
        Val::Int(i) => Ok(*i as f64),
        Val::Str(s) => parse_go_float(s)
            .ok_or_else(|| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax")),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches('+');
    match t.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => {
            return Some(if s.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    s.replace('_', "").parse().ok()
}

fn as_sample(v: &Val) -> Result<Option<Arc<QuerySample>>, String> {
    match v {
        Val::Sample(s) => Ok(Some(s.clone())),
        Val::Nil => Ok(None),
        other => Err(format!(
            "wrong type for value; expected *template.sample; got {}",
            other.type_name()
        )),
    }
}

fn as_samples(v: &Val) -> Result<Arc<Vec<Arc<QuerySample>>>, String> {
    match v {
        Val::Samples(s) => Ok(s.clone()),
        Val::Nil => Ok(Arc::new(Vec::new())),
        other => Err(format!(
            "wrong type for value; expected template.queryResult; got {}",
            other.type_name()
        )),
    }
}

/// `%.4g`, Go style.
fn g4(v: f64) -> String {
    go_fmt_float(v, 'g', Some(4), false)
}

fn call(f: &str, args: Vec<Val>, env: &Env<'_>) -> Result<Val, String> {
    let s = |x: String| Ok(Val::Str(x));
    match f {
        "and" | "or" => {
            if args.is_empty() {
                return Err("wrong number of args: got 0 want at least 1".into());
            }
            let want = f == "or";
            for a in &args {
                if a.truth() == want {
                    return Ok(a.clone());
                }
            }
            Ok(args.last().cloned().unwrap_or(Val::Nil))
        }
        "not" => {
            want_args(&args, 1)?;
            Ok(Val::Bool(!args[0].truth()))
        }
        "len" => {
            want_args(&args, 1)?;
            let n = match &args[0] {
                Val::Str(x) => x.len(),
                Val::Map(m) => m.len(),
                Val::AnyMap(m) => m.len(),
                Val::Samples(x) => x.len(),
                other => return Err(format!("len of type {}", other.type_name())),
            };
            Ok(Val::Int(n as i64))
        }
        "index" => {
            if args.is_empty() {
                return Err("wrong number of args: got 0 want at least 1".into());
            }
            let mut v = args[0].clone();
            for k in &args[1..] {
                v = match (&v, k) {
                    (Val::Map(m), Val::Str(key)) => {
                        Val::Str(m.get(key).cloned().unwrap_or_default())
                    }
                    (Val::AnyMap(m), Val::Str(key)) => m.get(key).cloned().unwrap_or(Val::Nil),
                    (Val::Samples(list), Val::Int(i)) => list
                        .get(usize::try_from(*i).map_err(|_| format!("index out of range: {i}"))?)
                        .map(|x| Val::Sample(x.clone()))
                        .ok_or_else(|| format!("index out of range: {i}"))?,
                    (c, k) => {
                        return Err(format!(
                            "can't index item of type {} with {}",
                            c.type_name(),
                            k.type_name()
                        ))
                    }
                };
            }
            Ok(v)
        }
        "print" => {
            // fmt.Sprint: spaces between operands when neither is a string.
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                if i > 0 && !matches!(a, Val::Str(_)) && !matches!(args[i - 1], Val::Str(_)) {
                    out.push(' ');
                }
                a.print(&mut out);
            }
            s(out)
        }
        "println" => {
            let parts: Vec<String> = args.iter().map(Val::to_display).collect();
            s(format!("{}\n", parts.join(" ")))
        }
        "printf" => {
            let Some(fmt) = args.first() else {
                return Err("wrong number of args: got 0 want at least 1".into());
            };
            s(sprintf(&as_str(fmt)?, &args[1..]))
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => {
            if args.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            if f == "eq" {
                // eq a b c...: a equals any of the others.
                for b in &args[1..] {
                    if compare(&args[0], b)? == std::cmp::Ordering::Equal {
                        return Ok(Val::Bool(true));
                    }
                }
                return Ok(Val::Bool(false));
            }
            want_args(&args, 2)?;
            if matches!(f, "lt" | "le" | "gt" | "ge") && matches!(args[0], Val::Bool(_) | Val::Nil)
            {
                return Err("invalid type for comparison".into());
            }
            let o = compare(&args[0], &args[1])?;
            use std::cmp::Ordering::*;
            Ok(Val::Bool(match f {
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            }))
        }
        "urlquery" => {
            let joined: String = args.iter().map(Val::to_display).collect();
            s(query_escape(&joined))
        }
        "html" => {
            let joined: String = args.iter().map(Val::to_display).collect();
            s(joined
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&#34;")
                .replace('\'', "&#39;"))
        }
        "humanize" => {
            want_args(&args, 1)?;
            let mut v = to_float(&args[0])?;
            if v == 0.0 || !v.is_finite() {
                return s(g4(v));
            }
            let mut prefix = "";
            if v.abs() >= 1.0 {
                for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
                    if v.abs() < 1000.0 {
                        break;
                    }
                    prefix = p;
                    v /= 1000.0;
                }
            } else {
                for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
                    if v.abs() >= 1.0 {
                        break;
                    }
                    prefix = p;
                    v *= 1000.0;
                }
            }
            s(format!("{}{prefix}", g4(v)))
        }
        "humanize1024" => {
            want_args(&args, 1)?;
            let mut v = to_float(&args[0])?;
            if v.abs() <= 1.0 || !v.is_finite() {
                return s(g4(v));
            }
            let mut prefix = "";
            for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
                if v.abs() < 1024.0 {
                    break;
                }
                prefix = p;
                v /= 1024.0;
            }
            s(format!("{}{prefix}", g4(v)))
        }
        "humanizeDuration" => {
            want_args(&args, 1)?;
            let mut v = to_float(&args[0])?;
            if !v.is_finite() {
                return s(g4(v));
            }
            if v == 0.0 {
                return s(format!("{}s", g4(v)));
            }
            if v.abs() >= 1.0 {
                let sign = if v < 0.0 { "-" } else { "" };
                v = v.abs();
                let d = v as i64;
                let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86400);
                return s(if days != 0 {
                    format!("{sign}{days}d {hours}h {mins}m {secs}s")
                } else if hours != 0 {
                    format!("{sign}{hours}h {mins}m {secs}s")
                } else if mins != 0 {
                    format!("{sign}{mins}m {secs}s")
                } else {
                    format!("{sign}{}s", g4(v))
                });
            }
            let mut prefix = "";
            for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
                if v.abs() >= 1.0 {
                    break;
                }
                prefix = p;
                v *= 1000.0;
            }
            s(format!("{}{prefix}s", g4(v)))
        }
        "humanizePercentage" => {
            want_args(&args, 1)?;
            s(format!("{}%", g4(to_float(&args[0])? * 100.0)))
        }
        "humanizeTimestamp" | "toTime" => {
            want_args(&args, 1)?;
            let v = to_float(&args[0])?;
            if !v.is_finite() {
                return if f == "toTime" {
                    Err("value is NaN or Inf".into())
                } else {
                    s(g4(v))
                };
            }
            if v > i64::MAX as f64 || v < i64::MIN as f64 {
                return Err("timestamp out of range".into());
            }
            s(go_time_string((v * 1e9) as i64))
        }
        "toUpper" => {
            want_args(&args, 1)?;
            s(as_str(&args[0])?.to_uppercase())
        }
        "toLower" => {
            want_args(&args, 1)?;
            s(as_str(&args[0])?.to_lowercase())
        }
        "title" => {
            want_args(&args, 1)?;
            let text = as_str(&args[0])?;
            let mut out = String::with_capacity(text.len());
            let mut start = true;
            for c in text.chars() {
                if start && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                } else {
                    out.push(c);
                }
                start = !(c.is_alphanumeric() || c == '\'' || c == '_');
            }
            s(out)
        }
        "reReplaceAll" => {
            want_args(&args, 3)?;
            let re = regex::Regex::new(&as_str(&args[0])?).map_err(|e| e.to_string())?;
            s(
                re.replace_all(&as_str(&args[2])?, as_str(&args[1])?.as_str())
                    .into_owned(),
            )
        }
        "match" => {
            want_args(&args, 2)?;
            let re = regex::Regex::new(&as_str(&args[0])?).map_err(|e| e.to_string())?;
            Ok(Val::Bool(re.is_match(&as_str(&args[1])?)))
        }
        "query" => {
            want_args(&args, 1)?;
            let q = as_str(&args[0])?;
            let Some(run) = env.query else {
                return Err("queries are not available here".into());
            };
            let res = run(&q)?;
            Ok(Val::Samples(Arc::new(
                res.into_iter().map(Arc::new).collect(),
            )))
        }
        "first" => {
            want_args(&args, 1)?;
            let list = as_samples(&args[0])?;
            list.first()
                .map(|x| Val::Sample(x.clone()))
                .ok_or_else(|| "first() called on vector with no elements".to_string())
        }
        "label" => {
            want_args(&args, 2)?;
            let name = as_str(&args[0])?;
            s(as_sample(&args[1])?
                .and_then(|x| x.labels.get(&name).cloned())
                .unwrap_or_default())
        }
        "value" => {
            want_args(&args, 1)?;
            Ok(Val::Float(as_sample(&args[0])?.map_or(0.0, |x| x.value)))
        }
        "strvalue" => {
            want_args(&args, 1)?;
            s(as_sample(&args[0])?
                .and_then(|x| x.labels.get("__value__").cloned())
                .unwrap_or_default())
        }
        "sortByLabel" => {
            want_args(&args, 2)?;
            let name = as_str(&args[0])?;
            let mut list: Vec<Arc<QuerySample>> = as_samples(&args[1])?.as_ref().clone();
            list.sort_by(|a, b| {
                a.labels
                    .get(&name)
                    .map(String::as_str)
                    .unwrap_or("")
                    .cmp(b.labels.get(&name).map(String::as_str).unwrap_or(""))
            });
            Ok(Val::Samples(Arc::new(list)))
        }
        "args" => {
            let m: BTreeMap<String, Val> = args
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v))
                .collect();
            Ok(Val::AnyMap(Arc::new(m)))
        }
        "safeHtml" => {
            want_args(&args, 1)?;
            s(as_str(&args[0])?)
        }
        "stripPort" => {
            want_args(&args, 1)?;
            let hp = as_str(&args[0])?;
            s(split_host_port(&hp).map_or(hp.clone(), |(h, _)| h))
        }
        "stripDomain" => {
            want_args(&args, 1)?;
            let hp = as_str(&args[0])?;
            let (host, port) = split_host_port(&hp).unwrap_or((hp.clone(), String::new()));
            if host.parse::<std::net::IpAddr>().is_ok() {
                return s(hp);
            }
            let short = host.split('.').next().unwrap_or("").to_string();
            s(if port.is_empty() {
                short
            } else {
                format!("{short}:{port}")
            })
        }
        "externalURL" => s(env.external_url.to_string()),
        "pathPrefix" => {
            let after_scheme = env.external_url.split_once("://").map_or("", |x| x.1);
            s(after_scheme
                .find('/')
                .map_or(String::new(), |i| after_scheme[i..].to_string()))
        }
        "graphLink" | "tableLink" => {
            want_args(&args, 1)?;
            let tab = if f == "graphLink" { 0 } else { 1 };
            s(format!(
                "/graph?g0.expr={}&g0.tab={tab}",
                query_escape(&as_str(&args[0])?)
            ))
        }
        "parseDuration" => {
            want_args(&args, 1)?;
            let text = as_str(&args[0])?;
            let d: crate::config::Duration = text
                .parse()
                .map_err(|e: crate::config::DurationError| e.to_string())?;
            Ok(Val::Float(d.as_std().as_secs_f64()))
        }
        other => Err(format!("function {other:?} not defined")),
    }
}

/// Go's `eq`/`lt` comparison of basic values.
fn compare(a: &Val, b: &Val) -> Result<std::cmp::Ordering, String> {
    use std::cmp::Ordering;
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Ok(x.cmp(y)),
        (Val::Float(x), Val::Float(y)) => Ok(x.partial_cmp(y).unwrap_or(Ordering::Less)),
        (Val::Str(x), Val::Str(y)) => Ok(x.cmp(y)),
        (Val::Bool(x), Val::Bool(y)) => Ok(if x == y {
            Ordering::Equal
        } else {
            Ordering::Less
        }),
        (Val::Nil, Val::Nil) => Ok(Ordering::Equal),
        _ => Err("incompatible types for comparison".into()),
    }
}

/// Go's `net.SplitHostPort`, for the common forms.
fn split_host_port(hp: &str) -> Option<(String, String)> {
    if let Some(rest) = hp.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h.to_string(), p.to_string()));
    }
    let (h, p) = hp.rsplit_once(':')?;
    if h.contains(':') {
        return None;
    }
    Some((h.to_string(), p.to_string()))
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// Go's `time.Time.String()` in UTC for a Unix time in nanoseconds:
/// `2006-01-02 15:04:05.999999999 +0000 UTC`.
fn go_time_string(ns: i64) -> String {
    let (date, time, frac) = crate::model::time::utc_parts(ns);
    if frac.is_empty() {
        format!("{date} {time} +0000 UTC")
    } else {
        format!("{date} {time}.{frac} +0000 UTC")
    }
}

/// Go's float formatting for verbs e, f, g with an optional precision (None: shortest).
/// `sharp` keeps trailing zeros for %g.
pub fn go_fmt_float(v: f64, verb: char, prec: Option<usize>, sharp: bool) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    match verb {
        'f' | 'F' => match prec {
            Some(p) => format!("{v:.p$}"),
            None => format!("{v}"),
        },
        'e' | 'E' => {
            let s = match prec {
                Some(p) => format!("{v:.p$e}"),
                None => format!("{v:e}"),
            };
            let s = go_exp(&s);
            if verb == 'E' {
                s.to_uppercase()
            } else {
                s
            }
        }
        _ => {
            let Some(p) = prec else {
                return format_go_g(v);
            };
            let p = p.max(1);
            // Round to p significant digits, then choose %e or %f as Go does.
            let e = format!("{:.*e}", p - 1, v);
            let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
            let exp: i32 = exp.parse().unwrap_or(0);
            let neg = mant.starts_with('-');
            let mut digits: String = mant.chars().filter(char::is_ascii_digit).collect();
            if !sharp {
                while digits.len() > 1 && digits.ends_with('0') {
                    digits.pop();
                }
            }
            if v == 0.0 {
                digits = if sharp { "0".repeat(p) } else { "0".into() };
            }
            let nd = digits.len() as i32;
            let sign = if neg { "-" } else { "" };
            if exp < -4 || exp >= p as i32 {
                let (first, rest) = digits.split_at(1);
                let frac = if rest.is_empty() {
                    String::new()
                } else {
                    format!(".{rest}")
                };
                let es = if exp < 0 { '-' } else { '+' };
                format!("{sign}{first}{frac}e{es}{:02}", exp.abs())
            } else {
                let dp = exp + 1;
                let decimals = (nd - dp).max(0) as usize;
                let body = if dp <= 0 {
                    format!("0.{}{}", "0".repeat((-dp) as usize), digits)
                } else if dp >= nd {
                    format!("{digits}{}", "0".repeat((dp - nd) as usize))
                } else {
                    format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
                };
                let _ = decimals;
                format!("{sign}{body}")
            }
        }
    }
}

/// Rust's `1.5e3` exponent as Go writes it: `1.5e+03`.
fn go_exp(s: &str) -> String {
    match s.split_once('e') {
        Some((m, e)) => {
            let n: i32 = e.parse().unwrap_or(0);
            let sign = if n < 0 { '-' } else { '+' };
            format!("{m}e{sign}{:02}", n.abs())
        }
        None => s.to_string(),
    }
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %f %F %e %E %g %G %q %x %X %t %c
/// %%` with flags `-+ 0#`, width and precision. Wrong types and missing arguments come out as
/// Go writes them (`%!d(string=x)`, `%!d(MISSING)`).
pub fn sprintf(format: &str, args: &[Val]) -> String {
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    let mut argi = 0;
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut minus, mut plus, mut zero, mut space, mut sharp) =
            (false, false, false, false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => minus = true,
                '+' => plus = true,
                '0' => zero = true,
                ' ' => space = true,
                '#' => sharp = true,
                _ => break,
            }
            chars.next();
        }
        let num = |chars: &mut std::iter::Peekable<std::str::Chars>| {
            let mut n: Option<usize> = None;
            while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
                n = Some(n.unwrap_or(0) * 10 + d as usize);
                chars.next();
            }
            n
        };
        let width = num(&mut chars);
        let prec = if chars.peek() == Some(&'.') {
            chars.next();
            Some(num(&mut chars).unwrap_or(0))
        } else {
            None
        };
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        let bad = |arg: &Val| format!("%!{verb}({}={})", arg.type_name(), arg.to_display());
        let mut body = match (verb, arg) {
            ('v', a) => match a {
                Val::Float(f) if prec.is_some() => go_fmt_float(*f, 'g', prec, sharp),
                a => a.to_display(),
            },
            ('s', Val::Str(s)) => match prec {
                Some(p) => s.chars().take(p).collect(),
                None => s.clone(),
            },
            ('q', Val::Str(s)) => format!("{s:?}"),
            ('d', Val::Int(i)) => i.to_string(),
            ('x', Val::Int(i)) => format!("{i:x}"),
            ('X', Val::Int(i)) => format!("{i:X}"),
            ('x', Val::Str(s)) => s.bytes().map(|b| format!("{b:02x}")).collect(),
            ('X', Val::Str(s)) => s.bytes().map(|b| format!("{b:02X}")).collect(),
            ('c', Val::Int(i)) => char::from_u32(*i as u32)
                .map(String::from)
                .unwrap_or_default(),
            ('t', Val::Bool(b)) => b.to_string(),
            ('f' | 'F', Val::Float(f)) => go_fmt_float(*f, 'f', Some(prec.unwrap_or(6)), sharp),
            ('e' | 'E', Val::Float(f)) => go_fmt_float(*f, verb, Some(prec.unwrap_or(6)), sharp),
            ('g' | 'G', Val::Float(f)) => go_fmt_float(*f, 'g', prec, sharp),
            (_, a) => bad(a),
        };
        if body.starts_with("%!") {
            out.push_str(&body);
            continue;
        }
        let numeric = matches!(arg, Val::Int(_) | Val::Float(_));
        if numeric && !body.starts_with('-') {
            if plus {
                body.insert(0, '+');
            } else if space {
                body.insert(0, ' ');
            }
        }
        if let Some(w) = width {
            let len = body.chars().count();
            if len < w {
                let pad = w - len;
                if minus {
                    body.push_str(&" ".repeat(pad));
                } else if zero && numeric {
                    let at = usize::from(body.starts_with(['-', '+', ' ']));
                    body.insert_str(at, &"0".repeat(pad));
                } else {
                    body.insert_str(0, &" ".repeat(pad));
                }
            }
        }
        out.push_str(&body);
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[argi..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), a.to_display()))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

/// The data and variables of an alert template, as Prometheus builds them.
pub fn alert_data(
    labels: &BTreeMap<String, String>,
    external_labels: &BTreeMap<String, String>,
    external_url: &str,
    value: f64,
) -> (Val, Vec<(&'static str, Val)>) {
    let l = Val::Map(Arc::new(labels.clone()));
    let el = Val::Map(Arc::new(external_labels.clone()));
    let url = Val::Str(external_url.to_string());
    let v = Val::Float(value);
    let dot = Val::Struct(
        "template.tmplData",
        Arc::new(vec![
            ("Labels", l.clone()),
            ("ExternalLabels", el.clone()),
            ("ExternalURL", url.clone()),
            ("Value", v.clone()),
        ]),
    );
    (
        dot,
        vec![
            ("$labels", l),
            ("$externalLabels", el),
            ("$externalURL", url),
            ("$value", v),
        ],
    )
}

#[cfg(test)]
mod tests;
