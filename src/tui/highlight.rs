//! A forgiving PromQL tokenizer for the prompt: token kinds for syntax highlighting (it never
//! fails; text it cannot classify is `Error`), and the completion context at the cursor.
//! Uses only `vocabulary` (which words are functions and aggregations).

use super::vocabulary::{is_aggregation, is_function};

/// What a piece of the query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Metric,
    Function,
    Keyword,
    LabelName,
    String,
    Number,
    Duration,
    Operator,
    Paren,
    Comment,
    Space,
    Error,
}

/// A token: its byte range and kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
}

const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "offset",
    "bool",
    "and",
    "or",
    "unless",
    "atan2",
    "start",
    "end",
];

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ':'
}

/// Splits `q` into tokens covering all of it.
pub fn tokenize(q: &str) -> Vec<Token> {
    let b: Vec<(usize, char)> = q.char_indices().collect();
    let at = |i: usize| b.get(i).map(|x| x.1);
    let pos = |i: usize| b.get(i).map_or(q.len(), |x| x.0);
    let mut out = Vec::new();
    let mut i = 0;
    // Inside `{...}`: identifiers are label names. Inside `[...]`: durations.
    let mut in_braces = false;
    let mut in_brackets = false;
    // After `by`/`without`/`on`/`ignoring`/`group_*`, the next `( ... )` holds label names.
    let mut label_list = 0u8;
    let mut label_paren = false;
    while i < b.len() {
        let c = b[i].1;
        let start = i;
        let kind = if c.is_whitespace() {
            while at(i).is_some_and(char::is_whitespace) {
                i += 1;
            }
            Kind::Space
        } else if c == '#' {
            while at(i).is_some_and(|c| c != '\n') {
                i += 1;
            }
            Kind::Comment
        } else if c == '"' || c == '\'' || c == '`' {
            i += 1;
            while let Some(d) = at(i) {
                i += 1;
                if d == '\\' && c != '`' {
                    i += 1;
                } else if d == c {
                    break;
                }
            }
            i = i.min(b.len());
            Kind::String
        } else if c.is_ascii_digit() || (c == '.' && at(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            while at(i).is_some_and(|d| d.is_ascii_alphanumeric() || d == '.' || d == '_') {
                i += 1;
            }
            let text = &q[pos(start)..pos(i)];
            if in_brackets || text.ends_with(['s', 'm', 'h', 'd', 'w', 'y']) && !text.contains('.')
            {
                Kind::Duration
            } else {
                Kind::Number
            }
        } else if ident_char(c) {
            while at(i).is_some_and(ident_char) {
                i += 1;
            }
            let word = &q[pos(start)..pos(i)];
            let next = (i..b.len()).map(|k| b[k].1).find(|c| !c.is_whitespace());
            if in_braces || label_paren {
                Kind::LabelName
            } else if in_brackets {
                Kind::Duration
            } else if matches!(
                word,
                "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
            ) {
                label_list = 2;
                Kind::Keyword
            } else if KEYWORDS.contains(&word)
                || word.eq_ignore_ascii_case("inf")
                || word.eq_ignore_ascii_case("nan")
            {
                if word.eq_ignore_ascii_case("inf") || word.eq_ignore_ascii_case("nan") {
                    Kind::Number
                } else {
                    Kind::Keyword
                }
            } else if (is_function(word) || is_aggregation(word)) && next == Some('(')
                || is_aggregation(word) && matches!(next, Some('b') | Some('w'))
            {
                Kind::Function
            } else {
                Kind::Metric
            }
        } else {
            i += 1;
            match c {
                '{' => {
                    in_braces = true;
                    Kind::Paren
                }
                '}' => {
                    in_braces = false;
                    Kind::Paren
                }
                '[' => {
                    in_brackets = true;
                    Kind::Paren
                }
                ']' => {
                    in_brackets = false;
                    Kind::Paren
                }
                '(' => {
                    if label_list > 0 {
                        label_paren = true;
                    }
                    Kind::Paren
                }
                ')' => {
                    label_paren = false;
                    Kind::Paren
                }
                '+' | '-' | '*' | '/' | '%' | '^' | '=' | '!' | '<' | '>' | '~' | ',' | '@'
                | ':' => {
                    while at(i).is_some_and(|d| matches!(d, '=' | '~')) {
                        i += 1;
                    }
                    Kind::Operator
                }
                _ => Kind::Error,
            }
        };
        if kind != Kind::Space && kind != Kind::Keyword {
            label_list = label_list.saturating_sub(1);
        }
        out.push(Token {
            start: pos(start),
            end: pos(i),
            kind,
        });
    }
    out
}

/// What may be completed at the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// A metric name or function: the word typed so far starts at `start`.
    Metric {
        prefix: String,
        start: usize,
    },
    /// A label name of `metric` (inside braces or a grouping clause).
    LabelName {
        metric: Option<String>,
        prefix: String,
        start: usize,
    },
    /// A value of `label` of `metric`, after `label=` (the prefix excludes the opening quote).
    LabelValue {
        metric: Option<String>,
        label: String,
        prefix: String,
        start: usize,
    },
    /// A duration inside `[...]`.
    Duration {
        prefix: String,
        start: usize,
    },
    None,
}

/// The completion context at byte offset `cursor` of `q`.
pub fn context(q: &str, cursor: usize) -> Context {
    let before = &q[..cursor.min(q.len())];
    // Unclosed `[`: a duration.
    let last_open_bracket = before.rfind('[');
    let last_close_bracket = before.rfind(']');
    if last_open_bracket > last_close_bracket
        || (last_open_bracket.is_some() && last_close_bracket.is_none())
    {
        let start = last_open_bracket.map_or(0, |i| i + 1);
        let prefix = &before[start..];
        if !prefix.contains(':') {
            return Context::Duration {
                prefix: prefix.trim().to_string(),
                start,
            };
        }
        return Context::None;
    }
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| ident_char(*c))
        .last()
        .map_or(before.len(), |(i, _)| i);
    let prefix = before[word_start..].to_string();
    // Inside `{...}`?
    let open = before.rfind('{');
    let close = before.rfind('}');
    if open.is_some() && open > close {
        let o = open.unwrap_or(0);
        let metric = metric_before(&before[..o]);
        let inside = &before[o + 1..];
        // In a quoted value? Count quotes after the last matcher operator.
        if let Some((label, value_start)) = value_position(inside) {
            let abs = o + 1 + value_start;
            return Context::LabelValue {
                metric,
                label,
                prefix: before[abs..].to_string(),
                start: abs,
            };
        }
        return Context::LabelName {
            metric,
            prefix,
            start: word_start,
        };
    }
    // Inside a grouping clause `by (`, `without (`, `on (`, `ignoring (`, `group_left (`?
    if let Some(p) = before.rfind('(') {
        if before.rfind(')').is_none_or(|c| c < p) {
            let head = before[..p].trim_end();
            let kw = head.rsplit(|c: char| !ident_char(c)).next().unwrap_or("");
            if matches!(
                kw,
                "by" | "without" | "on" | "ignoring" | "group_left" | "group_right"
            ) {
                return Context::LabelName {
                    metric: first_metric(q),
                    prefix,
                    start: word_start,
                };
            }
        }
    }
    if prefix.is_empty() || prefix.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return Context::None;
    }
    Context::Metric {
        prefix,
        start: word_start,
    }
}

/// The metric name just before a `{` (if any).
fn metric_before(s: &str) -> Option<String> {
    let t = s.trim_end();
    let name: String = t
        .chars()
        .rev()
        .take_while(|c| ident_char(*c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    (!name.is_empty() && !name.chars().next().is_some_and(|c| c.is_ascii_digit())).then_some(name)
}

/// Inside braces: if the cursor is in a label value, (label, offset where the value starts).
fn value_position(inside: &str) -> Option<(String, usize)> {
    // The last matcher: after the last unquoted ','.
    let mut in_q: Option<char> = None;
    let mut last_sep = 0;
    let mut op_end: Option<usize> = None;
    let mut quote_open: Option<usize> = None;
    let chars: Vec<(usize, char)> = inside.char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let (i, c) = chars[k];
        match in_q {
            Some(q) => {
                if c == '\\' {
                    k += 1;
                } else if c == q {
                    in_q = None;
                    quote_open = None;
                    op_end = None;
                }
            }
            None => match c {
                '"' | '\'' | '`' => {
                    in_q = Some(c);
                    quote_open = Some(i + 1);
                }
                ',' => {
                    last_sep = i + 1;
                    op_end = None;
                }
                '=' | '~' => op_end = Some(i + 1),
                _ => {}
            },
        }
        k += 1;
    }
    let start = quote_open.or(op_end)?;
    let matcher = &inside[last_sep..];
    let label: String = matcher
        .trim_start()
        .chars()
        .take_while(|c| ident_char(*c))
        .collect();
    if label.is_empty() {
        return None;
    }
    Some((label, start))
}

/// The first metric-like name of the query (for label completion in grouping clauses).
pub fn first_metric(q: &str) -> Option<String> {
    tokenize(q)
        .into_iter()
        .find(|t| t.kind == Kind::Metric)
        .map(|t| q[t.start..t.end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Vec<(String, Kind)> {
        tokenize(q)
            .into_iter()
            .filter(|t| t.kind != Kind::Space)
            .map(|t| (q[t.start..t.end].to_string(), t.kind))
            .collect()
    }

    #[test]
    fn highlights_every_part() {
        let k = kinds(
            r#"sum by (job) (rate(http_requests_total{code=~"5.."}[5m] offset 1h)) > 0.5 # hi"#,
        );
        let find = |s: &str| k.iter().find(|(t, _)| t == s).map(|x| x.1);
        assert_eq!(find("sum"), Some(Kind::Function));
        assert_eq!(find("by"), Some(Kind::Keyword));
        assert_eq!(find("job"), Some(Kind::LabelName));
        assert_eq!(find("rate"), Some(Kind::Function));
        assert_eq!(find("http_requests_total"), Some(Kind::Metric));
        assert_eq!(find("code"), Some(Kind::LabelName));
        assert_eq!(find("=~"), Some(Kind::Operator));
        assert_eq!(find("\"5..\""), Some(Kind::String));
        assert_eq!(find("5m"), Some(Kind::Duration));
        assert_eq!(find("offset"), Some(Kind::Keyword));
        assert_eq!(find("1h"), Some(Kind::Duration));
        assert_eq!(find("0.5"), Some(Kind::Number));
        assert_eq!(find("# hi"), Some(Kind::Comment));
        // Tokens cover the whole text, in order.
        let q = "a{b=\"unterminated";
        let t = tokenize(q);
        assert_eq!(t.first().map(|x| x.start), Some(0));
        assert_eq!(t.last().map(|x| x.end), Some(q.len()));
        assert!(t.windows(2).all(|w| w[0].end == w[1].start));
    }

    #[test]
    fn completion_contexts() {
        assert_eq!(
            context("rate(http_req", 13),
            Context::Metric {
                prefix: "http_req".into(),
                start: 5
            }
        );
        assert_eq!(
            context("up{jo", 5),
            Context::LabelName {
                metric: Some("up".into()),
                prefix: "jo".into(),
                start: 3
            }
        );
        assert_eq!(
            context("up{job=\"no", 10),
            Context::LabelValue {
                metric: Some("up".into()),
                label: "job".into(),
                prefix: "no".into(),
                start: 8
            }
        );
        assert_eq!(
            context("up{job=\"a\", instance=~\"", 23),
            Context::LabelValue {
                metric: Some("up".into()),
                label: "instance".into(),
                prefix: "".into(),
                start: 23
            }
        );
        assert_eq!(
            context("up{job=\"a\", ", 12),
            Context::LabelName {
                metric: Some("up".into()),
                prefix: "".into(),
                start: 12
            }
        );
        assert_eq!(
            context("sum by (ins) (rate(node_cpu_seconds_total[5m]))", 11),
            Context::LabelName {
                metric: Some("node_cpu_seconds_total".into()),
                prefix: "ins".into(),
                start: 8
            }
        );
        assert_eq!(
            context("rate(x[5", 8),
            Context::Duration {
                prefix: "5".into(),
                start: 7
            }
        );
        assert_eq!(context("x > 1", 5), Context::None);
    }
}
