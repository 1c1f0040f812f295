//! Parsing PromQL text into the `promql-parser` tree, with Prometheus's error positions
//! (`line:col: parse error: ...`), a nesting limit checked before parsing, and `info()`'s
//! matchers-only second argument accepted as Prometheus accepts it; turning a
//! selector into our matchers (`to_matchers`, `SelectorError`) and visiting every selector of
//! an expression. Trim operators (`</`, `>/`) are parsed with `parse_trim`.
//!
//! Uses `parse_trim`, `value` (`QueryError`) and `model`.

use promql_parser::parser::{self, Expr};

use super::parse_trim::skip_string_or_comment;
use super::value::QueryError;
use crate::model::{MatchOp, Matcher, METRIC_NAME};

/// Deepest expression tree a query may have. Parsing, evaluating and dropping an expression
/// recurse once per level (about 1-2 KiB of stack each), and running out of stack aborts the
/// whole process, so deeper queries are refused before parsing. Query threads have at least
/// `QUERY_STACK_BYTES` of stack; 2 MiB (Rust's default) is enough for this depth.
pub const MAX_QUERY_DEPTH: usize = 500;

/// Stack size for threads that parse or evaluate queries (tokio workers, range-query parts),
/// with room to spare for `MAX_QUERY_DEPTH` even in unoptimised builds.
pub const QUERY_STACK_BYTES: usize = 16 << 20;

/// Parses PromQL, turning the crate's error into bad_data.
pub fn parse(query: &str) -> Result<Expr, QueryError> {
    let depth = depth_bound(query);
    if depth > MAX_QUERY_DEPTH {
        return Err(QueryError::Parse(format!(
            "parse error: query is nested too deeply: up to {depth} levels of operators, parentheses and brackets, at most {MAX_QUERY_DEPTH} are allowed"
        )));
    }
    let Some((text, ops)) = super::parse_trim::rewrite(query) else {
        return parse_text(query, query);
    };
    let mut e = parse_text(&text, query)?;
    if !super::parse_trim::mark(&mut e, &ops) {
        return Err(QueryError::Parse(
            "parse error: unexpected trim operator".to_string(),
        ));
    }
    Ok(e)
}

/// Parses `text` (`query`, or `query` with its trim operators rewritten), errors placed in
/// `query`.
fn parse_text(text: &str, query: &str) -> Result<Expr, QueryError> {
    parser::parse(text).or_else(|msg| {
        // `info()`'s second argument is matchers only, where Prometheus accepts matchers that
        // all match the empty string (`{data=~".*"}`); the parser refuses such a selector
        // anywhere. Parse again with a marker matcher in those arguments, then drop it.
        if msg.contains("at least one non-empty matcher") {
            if let Some(marked) = mark_info_selectors(text) {
                if let Ok(mut e) = parser::parse(&marked) {
                    unmark_info_selectors(&mut e);
                    return Ok(e);
                }
            }
        }
        Err(QueryError::Parse(parse_error(query, &msg)))
    })
}

/// The label of the marker matcher `mark_info_selectors` puts into `info()` selectors.
const INFO_MARK: &str = "__promterm_info_selector__";

/// `query` with a marker matcher (`INFO_MARK="1"`) first in every `info()` call's second
/// argument that is written as braces; `None` when there is no such argument. Strings and
/// comments are skipped.
fn mark_info_selectors(query: &str) -> Option<String> {
    let b = query.as_bytes();
    let mut out = String::with_capacity(query.len() + 64);
    // Open brackets: the bracket, whether it opens an info() call, commas seen directly in it.
    let mut open: Vec<(u8, bool, usize)> = Vec::new();
    let mut marked = false;
    let (mut i, mut copied) = (0usize, 0usize);
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' | b'#' => i = skip_string_or_comment(b, i),
            b'(' | b'[' | b'{' => open.push((c, false, 0)),
            b')' | b']' | b'}' => {
                open.pop();
            }
            b',' => {
                if let Some((b'(', true, commas)) = open.last_mut() {
                    *commas += 1;
                    if *commas == 1 {
                        let mut j = i + 1;
                        while j < b.len() && b[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        if j < b.len() && b[j] == b'{' {
                            let mut k = j + 1;
                            while k < b.len() && b[k].is_ascii_whitespace() {
                                k += 1;
                            }
                            let sep = if k < b.len() && b[k] == b'}' { "" } else { "," };
                            out.push_str(&query[copied..=j]);
                            out.push_str(&format!("{INFO_MARK}=\"1\"{sep}"));
                            copied = j + 1;
                            marked = true;
                        }
                    }
                }
            }
            c if ident(c) && !c.is_ascii_digit() => {
                let start = i;
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                let mut j = i;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if &query[start..i] == "info" && j < b.len() && b[j] == b'(' {
                    open.push((b'(', true, 0));
                    i = j + 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&query[copied..]);
    marked.then_some(out)
}

/// Removes the marker matchers `mark_info_selectors` added.
fn unmark_info_selectors(e: &mut Expr) {
    match e {
        Expr::Call(c) => {
            if c.func.name == "info" {
                if let Some(Expr::VectorSelector(vs)) = c.args.args.get_mut(1).map(|a| &mut **a) {
                    vs.matchers.matchers.retain(|m| m.name != INFO_MARK);
                    for ms in &mut vs.matchers.or_matchers {
                        ms.retain(|m| m.name != INFO_MARK);
                    }
                }
            }
            for a in &mut c.args.args {
                unmark_info_selectors(a);
            }
        }
        Expr::Aggregate(a) => {
            unmark_info_selectors(&mut a.expr);
            if let Some(p) = &mut a.param {
                unmark_info_selectors(p);
            }
        }
        Expr::Binary(b) => {
            unmark_info_selectors(&mut b.lhs);
            unmark_info_selectors(&mut b.rhs);
        }
        Expr::Paren(p) => unmark_info_selectors(&mut p.expr),
        Expr::Unary(u) => unmark_info_selectors(&mut u.expr),
        Expr::Subquery(sq) => unmark_info_selectors(&mut sq.expr),
        _ => {}
    }
}

/// An upper bound of the depth of the expression tree `query` parses to, from its text alone:
/// every inner node comes from an opening parenthesis (nodes on one path are nested inside
/// each other's), a `[` (range or subquery) or an operator, so the deepest parenthesis
/// nesting plus the count of `[` and operators bounds it. String literals, label matchers in
/// braces and comments are skipped.
pub fn depth_bound(query: &str) -> usize {
    let b = query.as_bytes();
    let (mut i, mut depth, mut deepest, mut nodes) = (0usize, 0usize, 0usize, 0usize);
    let mut braces = 0usize;
    let mut prev_cmp = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' | b'#' => i = skip_string_or_comment(b, i),
            b'{' => braces += 1,
            b'}' => braces = braces.saturating_sub(1),
            _ if braces > 0 => {}
            b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b')' => depth = depth.saturating_sub(1),
            b'[' => nodes += 1,
            // The second character of `==`, `!=`, `>=` and `<=` is not another operator.
            b'=' if prev_cmp => {}
            b'+' | b'-' | b'*' | b'/' | b'%' | b'^' | b'=' | b'!' | b'<' | b'>' => {
                nodes += 1;
                prev_cmp = matches!(c, b'=' | b'!' | b'<' | b'>');
                i += 1;
                continue;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let word = &query[start..i];
                if ["and", "or", "unless", "atan2"]
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k))
                {
                    nodes += 1;
                }
                prev_cmp = false;
                continue;
            }
            _ => {}
        }
        prev_cmp = false;
        i += 1;
    }
    deepest + nodes + 1
}

/// Prometheus's `line:col: parse error: msg` for the errors whose place we can tell
/// (`promql-parser` gives none): unclosed input points past its end, an unmatched `)` at
/// itself, an unknown function at its name (quoted as Prometheus quotes it).
fn parse_error(query: &str, msg: &str) -> String {
    let pos = |at: usize| -> String {
        let before = &query[..at.min(query.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
        format!("{line}:{col}")
    };
    let mut msg = msg.to_string();
    let at = if msg == "unclosed left parenthesis" || msg.starts_with("unexpected end of input") {
        Some(query.len())
    } else if msg.starts_with("unexpected right parenthesis") {
        let mut depth = 0i32;
        query.char_indices().find_map(|(i, c)| {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => return Some(i),
                ')' => depth -= 1,
                _ => {}
            }
            None
        })
    } else if let Some(name) = msg
        .strip_prefix("unknown function with name '")
        .and_then(|r| r.strip_suffix('\''))
    {
        let name = name.to_string();
        msg = format!("unknown function with name {name:?}");
        query.find(&format!("{name}("))
    } else {
        None
    };
    match at {
        Some(at) => format!("{}: parse error: {msg}", pos(at)),
        None => format!("parse error: {msg}"),
    }
}

/// A series selector (a `match[]` parameter) that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SelectorError {
    /// The text does not parse, or its matchers are invalid (`line:col: parse error: ...`).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// Valid PromQL that is not an instant vector selector (the text is the selector given).
    #[error("1:1: parse error: {0:?} is not an instant vector selector")]
    NotASelector(String),
}

/// A selector's matchers (its name included), one list per `or` alternative.
pub fn to_matchers(vs: &parser::VectorSelector) -> Result<Vec<Vec<Matcher>>, QueryError> {
    let convert = |ms: &[promql_parser::label::Matcher]| -> Result<Vec<Matcher>, QueryError> {
        let mut out = Vec::with_capacity(ms.len() + 1);
        if let Some(name) = &vs.name {
            out.push(Matcher::equal(METRIC_NAME, name.clone()));
        }
        for m in ms {
            use promql_parser::label::MatchOp as P;
            let op = match m.op {
                P::Equal => MatchOp::Equal,
                P::NotEqual => MatchOp::NotEqual,
                P::Re(_) => MatchOp::Regex,
                P::NotRe(_) => MatchOp::NotRegex,
            };
            out.push(
                Matcher::new(op, m.name.clone(), m.value.clone())
                    .map_err(|e| QueryError::BadData(e.to_string()))?,
            );
        }
        Ok(out)
    };
    if vs.matchers.or_matchers.is_empty() {
        Ok(vec![convert(&vs.matchers.matchers)?])
    } else {
        vs.matchers
            .or_matchers
            .iter()
            .map(|ms| convert(ms))
            .collect()
    }
}

/// Calls `f` with the matchers of every selector in `e` (each alternative of an `or` selector).
pub fn for_each_selector(e: &Expr, f: &mut dyn FnMut(&[Matcher])) {
    match e {
        Expr::VectorSelector(vs) => {
            for ms in to_matchers(vs).unwrap_or_default() {
                f(&ms);
            }
        }
        Expr::MatrixSelector(ms) => for_each_selector(&Expr::VectorSelector(ms.vs.clone()), f),
        Expr::Subquery(sq) => for_each_selector(&sq.expr, f),
        Expr::Paren(p) => for_each_selector(&p.expr, f),
        Expr::Unary(u) => for_each_selector(&u.expr, f),
        Expr::Binary(b) => {
            for_each_selector(&b.lhs, f);
            for_each_selector(&b.rhs, f);
        }
        Expr::Aggregate(a) => {
            for_each_selector(&a.expr, f);
            if let Some(p) = &a.param {
                for_each_selector(p, f);
            }
        }
        Expr::Call(c) => {
            for a in &c.args.args {
                for_each_selector(a, f);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The matchers of the `info()` call's second argument in `query`, as text.
    fn info_matchers(query: &str) -> Vec<String> {
        let mut found = Vec::new();
        fn walk(e: &Expr, found: &mut Vec<String>) {
            match e {
                Expr::Call(c) if c.func.name == "info" && c.args.args.len() == 2 => {
                    if let Expr::VectorSelector(vs) = &*c.args.args[1] {
                        for m in to_matchers(vs).unwrap().remove(0) {
                            found.push(m.to_string());
                        }
                    }
                    walk(&c.args.args[0], found);
                }
                Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, found)),
                Expr::Aggregate(a) => walk(&a.expr, found),
                Expr::Binary(b) => {
                    walk(&b.lhs, found);
                    walk(&b.rhs, found);
                }
                Expr::Paren(p) => walk(&p.expr, found),
                _ => {}
            }
        }
        walk(&parse(query).unwrap(), &mut found);
        found
    }

    #[test]
    fn info_selectors_may_match_only_empty_values() {
        assert_eq!(info_matchers(r#"info(m, {data=~".*"})"#), [r#"data=~".*""#]);
        assert!(info_matchers("info(m, {})").is_empty());
        assert_eq!(
            info_matchers(r#"sum(info(rate(m[5m]), { a!="x" , b=~".*" })) + info(n, {c=""})"#),
            [r#"a!="x""#, r#"b=~".*""#, r#"c="""#]
        );
        // Nested calls, and commas and braces inside strings, do not confuse the marking.
        let q = r#"label_replace(info(m{x=",{"}, {d=~".*"}), "info(", ",{", "y", "(.*)")"#;
        assert_eq!(info_matchers(q), [r#"d=~".*""#]);
        assert_eq!(
            info_matchers(r#"info(info(m, {a=~".*"}), {b=~".*"})"#),
            [r#"b=~".*""#, r#"a=~".*""#]
        );
        // Elsewhere such a selector is still refused, with the parser's message.
        for q in [r#"{data=~".*"}"#, r#"info({data=~".*"})"#, r#"m + {x=""}"#] {
            let err = parse(q).unwrap_err().to_string();
            assert!(
                err.contains("vector selector must contain at least one non-empty matcher"),
                "{q}: {err}"
            );
        }
        assert!(parse(r#"info(m, {data=~".*"}) + {x=""}"#).is_err());
    }
}
