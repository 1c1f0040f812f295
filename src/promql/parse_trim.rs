//! Prometheus 3's native-histogram trim operators, `</` (keep the observations below a bound)
//! and `>/` (keep those above), which `promql-parser` does not know. Before parsing, each
//! `</` or `>/` token (outside strings and comments; the two characters must touch, as
//! Prometheus's lexer demands) is written as `atan2`, the operator of the same precedence, and
//! the place of every `atan2` in the text is remembered. The parser keeps binary operators in
//! text order (an in-order walk of the tree meets them as the text does), so after parsing
//! the trim nodes are found again and marked: a marker label goes into their `on`/`ignoring`
//! list (`ignoring(marker)` when there was none). No series has that label, so matching is
//! unchanged; the engine, the JSON tree and `expr_string` recognise the marker and show the
//! operator as written.
//!
//! Uses only the parser's tree.

use promql_parser::label::Labels;
use promql_parser::parser::token::T_ATAN2;
use promql_parser::parser::{BinModifier, BinaryExpr, Expr, LabelModifier};

/// A trim operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trim {
    /// `</`: keeps the observations below the bound.
    Upper,
    /// `>/`: keeps the observations above the bound.
    Lower,
}

impl Trim {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            Trim::Upper => "</",
            Trim::Lower => ">/",
        }
    }

    fn mark(self) -> &'static str {
        match self {
            Trim::Upper => UPPER_MARK,
            Trim::Lower => LOWER_MARK,
        }
    }
}

/// The marker label of a `</` node.
const UPPER_MARK: &str = "__promterm_trim_upper__";
/// The marker label of a `>/` node.
const LOWER_MARK: &str = "__promterm_trim_lower__";

/// At a string's opening quote or a comment's `#` at `b[i]`: the index of the closing quote or
/// the line end (the caller's loop steps past it). Escapes count in `"` and `'` strings, not in
/// backtick ones. Shared with `parse`'s rewriting of `info()` selectors.
pub(super) fn skip_string_or_comment(b: &[u8], mut i: usize) -> usize {
    let c = b[i];
    if c == b'#' {
        while i < b.len() && b[i] != b'\n' {
            i += 1;
        }
        return i;
    }
    i += 1;
    while i < b.len() && b[i] != c {
        if b[i] == b'\\' && c != b'`' {
            i += 1;
        }
        i += 1;
    }
    i
}

/// `query` with every trim operator written as ` atan2 `, and for each `atan2` of the result
/// in text order whether it stands for a trim operator; `None` when there is no trim operator.
/// Label names (in braces and in grouping lists) are not taken for operators.
pub fn rewrite(query: &str) -> Option<(String, Vec<Option<Trim>>)> {
    let b = query.as_bytes();
    let mut out = String::with_capacity(query.len() + 16);
    let mut ops = Vec::new();
    let (mut i, mut copied, mut braces) = (0usize, 0usize, 0usize);
    let mut any = false;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b':';
    while i < b.len() {
        let c = b[i];
        match c {
            b'"' | b'\'' | b'`' | b'#' => i = skip_string_or_comment(b, i),
            b'{' => braces += 1,
            b'}' => braces = braces.saturating_sub(1),
            b'<' | b'>' if braces == 0 && b.get(i + 1) == Some(&b'/') => {
                let t = if c == b'<' { Trim::Upper } else { Trim::Lower };
                out.push_str(&query[copied..i]);
                out.push_str(" atan2 ");
                ops.push(Some(t));
                any = true;
                i += 2;
                copied = i;
                continue;
            }
            c if ident(c) && braces == 0 => {
                let start = i;
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                let word = &query[start..i];
                if word.eq_ignore_ascii_case("atan2") {
                    ops.push(None);
                } else if [
                    "by",
                    "without",
                    "on",
                    "ignoring",
                    "group_left",
                    "group_right",
                ]
                .iter()
                .any(|k| word.eq_ignore_ascii_case(k))
                {
                    // A label list: its names are not operators.
                    let mut j = i;
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    if b.get(j) == Some(&b'(') {
                        while j < b.len() && b[j] != b')' {
                            j += 1;
                        }
                        i = j;
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out.push_str(&query[copied..]);
    any.then_some((out, ops))
}

/// Marks the `atan2` nodes of `e` that `ops` (from `rewrite`) says are trim operators. False
/// when the tree's `atan2` nodes do not match the text's (then nothing can be trusted).
pub fn mark(e: &mut Expr, ops: &[Option<Trim>]) -> bool {
    let mut next = 0usize;
    walk(e, ops, &mut next) && next == ops.len()
}

fn walk(e: &mut Expr, ops: &[Option<Trim>], next: &mut usize) -> bool {
    match e {
        Expr::Binary(b) => {
            if !walk(&mut b.lhs, ops, next) {
                return false;
            }
            if b.op.id() == T_ATAN2 {
                let Some(op) = ops.get(*next) else {
                    return false;
                };
                *next += 1;
                if let Some(t) = op {
                    add_mark(b, *t);
                }
            }
            walk(&mut b.rhs, ops, next)
        }
        Expr::Aggregate(a) => {
            if let Some(p) = &mut a.param {
                if !walk(p, ops, next) {
                    return false;
                }
            }
            walk(&mut a.expr, ops, next)
        }
        Expr::Call(c) => c.args.args.iter_mut().all(|a| walk(a, ops, next)),
        Expr::Paren(p) => walk(&mut p.expr, ops, next),
        Expr::Unary(u) => walk(&mut u.expr, ops, next),
        Expr::Subquery(s) => walk(&mut s.expr, ops, next),
        _ => true,
    }
}

fn add_mark(b: &mut BinaryExpr, t: Trim) {
    let m = b.modifier.get_or_insert_with(BinModifier::default);
    match &mut m.matching {
        Some(LabelModifier::Include(ls)) | Some(LabelModifier::Exclude(ls)) => {
            ls.labels.push(t.mark().to_string())
        }
        None => m.matching = Some(LabelModifier::Exclude(Labels::new(vec![t.mark()]))),
    }
}

/// The trim operator `b` stands for, if it is one.
pub fn trim_of(b: &BinaryExpr) -> Option<Trim> {
    if b.op.id() != T_ATAN2 {
        return None;
    }
    let ls = b.modifier.as_ref()?.matching.as_ref()?.labels();
    [Trim::Upper, Trim::Lower]
        .into_iter()
        .find(|t| ls.labels.iter().any(|l| l == t.mark()))
}

/// `m`'s labels without a trim marker (for showing the modifier as written).
pub fn unmarked(m: &LabelModifier) -> Vec<String> {
    m.labels()
        .labels
        .iter()
        .filter(|l| *l != UPPER_MARK && *l != LOWER_MARK)
        .cloned()
        .collect()
}

/// `e` printed as PromQL, trim operators as written (never `atan2` with a marker).
pub fn expr_string(e: &Expr) -> String {
    restore(&e.to_string())
}

/// `e` formatted as `/api/v1/format_query` gives it (the parser's pretty form), trim operators
/// as written.
pub fn pretty_string(e: &Expr) -> String {
    restore(&e.prettify())
}

/// Printed PromQL with marked `atan2` operators turned back into trim operators.
fn restore(text: &str) -> String {
    let mut s = text.to_string();
    loop {
        let found = [Trim::Upper, Trim::Lower]
            .into_iter()
            .filter_map(|t| s.find(t.mark()).map(|p| (p, t)))
            .min_by_key(|(p, _)| *p);
        let Some((p, t)) = found else {
            return s;
        };
        let end = p + t.mark().len();
        let (Some(open), Some(op)) = (s[..p].rfind('('), s[..p].rfind("atan2")) else {
            return s;
        };
        let inside = s[open + 1..p].trim();
        let mut r = String::with_capacity(s.len());
        r.push_str(&s[..op]);
        r.push_str(t.symbol());
        if inside.is_empty() {
            let before = s[op + 5..open].trim_end();
            if let Some(kw) = before.strip_suffix("ignoring") {
                // `ignoring(marker)` was added to a bare operator: drop it whole.
                r.push_str(kw.trim_end());
                r.push_str(&s[(end + 1).min(s.len())..]);
            } else {
                r.push_str(&s[op + 5..open + 1]);
                r.push_str(&s[end..]);
            }
        } else {
            // `, marker` ends a list.
            let comma = s[..p].rfind(',').unwrap_or(p);
            r.push_str(&s[op + 5..comma]);
            r.push_str(&s[end..]);
        }
        s = r;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses as `promql::parse` does with trim operators.
    fn parse(q: &str) -> Result<Expr, String> {
        let Some((text, ops)) = rewrite(q) else {
            return promql_parser::parser::parse(q);
        };
        let mut e = promql_parser::parser::parse(&text)?;
        assert!(mark(&mut e, &ops), "{q}");
        Ok(e)
    }

    #[test]
    fn rewrite_skips_strings_comments_and_label_names() {
        assert_eq!(rewrite("a + b"), None);
        assert_eq!(rewrite(r#"a{x="</"} # >/ b"#), None);
        assert_eq!(rewrite("a < / b"), None, "the two characters must touch");
        let (text, ops) = rewrite("a </ 1 atan2 b >/ on(atan2) c").unwrap();
        assert_eq!(text, "a  atan2  1 atan2 b  atan2  on(atan2) c");
        assert_eq!(ops, [Some(Trim::Upper), None, Some(Trim::Lower)]);
        let (_, ops) = rewrite(r#"sum by (atan2) (a{atan2="x"} ATAN2 b) >/ 2"#).unwrap();
        assert_eq!(ops, [None, Some(Trim::Lower)]);
    }

    /// The trim operators of the parsed `q`, in text order.
    fn trims(q: &str) -> Vec<Option<Trim>> {
        fn walk(e: &Expr, out: &mut Vec<Option<Trim>>) {
            match e {
                Expr::Binary(b) => {
                    walk(&b.lhs, out);
                    out.push(trim_of(b));
                    walk(&b.rhs, out);
                }
                Expr::Aggregate(a) => {
                    if let Some(p) = &a.param {
                        walk(p, out);
                    }
                    walk(&a.expr, out);
                }
                Expr::Call(c) => c.args.args.iter().for_each(|a| walk(a, out)),
                Expr::Paren(p) => walk(&p.expr, out),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&parse(q).unwrap(), &mut out);
        out
    }

    #[test]
    fn parsed_trims_keep_their_place_and_precedence() {
        use Trim::*;
        assert_eq!(trims("h </ 5"), [Some(Upper)]);
        // Same precedence as `*`: `a + h >/ 2` is `a + (h >/ 2)`, left-associative.
        assert_eq!(trims("a + h >/ 2"), [None, Some(Lower)]);
        assert_eq!(trims("h </ 5 * 2"), [Some(Upper), None]);
        assert_eq!(
            trims("topk(1 atan2 2, h >/ 1) </ scalar(x atan2 y)"),
            [None, Some(Lower), Some(Upper), None]
        );
        let e = parse("a + h >/ 2").unwrap();
        let Expr::Binary(b) = &e else { panic!() };
        assert!(matches!(&*b.rhs, Expr::Binary(r) if trim_of(r) == Some(Lower)));
    }

    #[test]
    fn printing_shows_the_operator_as_written() {
        for (q, want) in [
            ("h </ 5", "h </ 5"),
            ("h>/-1", "h >/ -1"),
            ("h >/ on (a) f", "h >/ on (a) f"),
            (
                "h </ ignoring (a, b) group_left (c) f",
                "h </ ignoring (a, b) group_left (c) f",
            ),
            ("h </ on () f", "h </ on () f"),
            ("sum(h </ 1) atan2 (h >/ 2)", "sum(h </ 1) atan2 (h >/ 2)"),
        ] {
            let s = expr_string(&parse(q).unwrap());
            assert_eq!(s, want, "{q}");
            assert!(parse(&s).is_ok(), "{s}");
        }
    }

    #[test]
    fn pretty_printing_shows_the_operator_as_written() {
        let long = "sum by (job) (rate(some_long_metric_name_for_wrapping[5m])) </ on (job) group_left () another_rather_long_metric_name";
        let s = pretty_string(&parse(long).unwrap());
        assert!(s.contains("</ on (job) group_left ()"), "{s}");
        assert!(!s.contains("atan2") && !s.contains("__promterm"), "{s}");
        assert_eq!(pretty_string(&parse("h >/ 1").unwrap()), "h >/ 1");
    }

    #[test]
    fn misplaced_trim_operators_are_parse_errors() {
        for q in ["h </", "</ h", "h </ bool 1", r#"h </ "x""#] {
            assert!(parse(q).is_err(), "{q}");
        }
    }
}
