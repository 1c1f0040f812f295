//! Parser for PromQL test scripts in the upstream promqltest format (`../shared/promqltest/
//! FORMAT.md`): `load`, `clear` and `eval` commands, the series-description notation
//! (`0+10x100`, `_x3`, `stale`, ...) and `expect` lines. Native-histogram values (`{{...}}`,
//! parsed by `histogram_literal`) fill their slots of a series line as float histograms.
//! Written from the format description. Uses `config` (durations), `model` and
//! `histogram_literal`.

use super::histogram_literal::{self, HistogramPoint};
use crate::config::Duration;
use crate::model::{stale_nan, FloatHistogram, Labels, Sample};

/// One series line: labels and values. A slot is a float (`values[i]` is `Some`), a histogram
/// (listed in `histograms` under its slot; `values[i]` is `None`) or empty (`_`).
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesLine {
    pub labels: Labels,
    pub values: Vec<Option<f64>>,
    /// Histogram values (`{{...}}`) with their slots, in slot order.
    pub histograms: Vec<(usize, HistogramPoint)>,
    /// The line holds native-histogram literals.
    pub histogram: bool,
}

impl SeriesLine {
    /// The label pairs, as an appender takes them.
    pub fn label_pairs(&self) -> Vec<(&str, &str)> {
        self.labels
            .iter()
            .map(|l| (l.name.as_ref(), l.value.as_ref()))
            .collect()
    }

    /// The samples of a series loaded every `step` ms from time 0 (`_` leaves a gap).
    pub fn samples(&self, step: i64) -> Vec<Sample> {
        self.values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| {
                v.map(|v| Sample {
                    t: i as i64 * step,
                    v,
                })
            })
            .collect()
    }

    /// The histogram samples of a series loaded every `step` ms from time 0.
    pub fn histogram_samples(&self, step: i64) -> Vec<(i64, &FloatHistogram)> {
        self.histograms
            .iter()
            .map(|(i, p)| (*i as i64 * step, &p.h))
            .collect()
    }
}

/// What an `expect` line's text must match.
#[derive(Debug, Clone, PartialEq)]
pub enum TextMatch {
    Any,
    Exact(String),
    Regex(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum EvalKind {
    Instant { at: i64 },
    Range { start: i64, end: i64, step: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Series(Vec<SeriesLine>),
    Scalar(f64),
    String(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Eval {
    pub line: usize,
    pub expr: String,
    pub kind: EvalKind,
    pub fail: Option<TextMatch>,
    pub ordered: bool,
    pub warn: Vec<TextMatch>,
    pub info: Vec<TextMatch>,
    pub no_warn: bool,
    pub no_info: bool,
    /// `expect range vector from A to B step C`.
    pub range_vector: Option<(i64, i64, i64)>,
    pub expected: Expected,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Load {
        line: usize,
        step: i64,
        series: Vec<SeriesLine>,
        /// `load_with_nhcb`: classic histograms also become native ones (not supported).
        nhcb: bool,
    },
    Clear,
    Eval(Box<Eval>),
}

fn dur(s: &str, line: usize) -> Result<i64, String> {
    s.parse::<Duration>()
        .map(|d| d.as_millis() as i64)
        .map_err(|e| format!("line {line}: {e}"))
}

/// Parses a whole script. Errors name the line.
pub fn parse(text: &str) -> Result<Vec<Command>, String> {
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                ""
            } else {
                t
            }
        })
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let lineno = i + 1;
        if line.is_empty() {
            i += 1;
            continue;
        }
        let first = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        // Body: following non-empty lines.
        let mut j = i + 1;
        while j < lines.len() && !lines[j].is_empty() {
            j += 1;
        }
        let body: Vec<(usize, &str)> = (i + 1..j).map(|k| (k + 1, lines[k])).collect();
        if first == "clear" {
            out.push(Command::Clear);
            i += 1;
            continue;
        } else if first.starts_with("load") {
            let rest = line
                .strip_prefix("load_with_nhcb")
                .or_else(|| line.strip_prefix("load"))
                .filter(|r| r.starts_with(char::is_whitespace))
                .ok_or_else(|| format!("line {lineno}: invalid load command {line:?}"))?;
            let step = dur(rest.trim(), lineno)?;
            let mut series: Vec<SeriesLine> = Vec::new();
            for (n, l) in &body {
                // Start-timestamp lines (`name{...}@st offsets`) are not supported; skip them.
                if l.split_whitespace()
                    .next()
                    .is_some_and(|t| t.ends_with("@st"))
                {
                    continue;
                }
                let s = parse_series(l).map_err(|e| format!("line {n}: {e}"))?;
                // A later line for the same series replaces the earlier one.
                series.retain(|x| x.labels != s.labels);
                series.push(s);
            }
            out.push(Command::Load {
                line: lineno,
                step,
                series,
                nhcb: line.starts_with("load_with_nhcb"),
            });
            i = j;
        } else if first.starts_with("eval") {
            let (eval, used) = parse_eval(lineno, line, &body)?;
            out.push(Command::Eval(Box::new(eval)));
            i = i + 1 + used;
            // A scalar line ends the block early; whatever follows up to the blank line
            // would start a new command.
        } else {
            return Err(format!("line {lineno}: invalid command {line:?}"));
        }
    }
    Ok(out)
}

fn parse_eval(lineno: usize, line: &str, body: &[(usize, &str)]) -> Result<(Eval, usize), String> {
    let err = |m: &str| format!("line {lineno}: {m}: {line:?}");
    let mut words = line.splitn(2, char::is_whitespace);
    let head = words.next().unwrap_or("");
    let rest = words.next().unwrap_or("").trim_start();
    let variant = head
        .strip_prefix("eval")
        .ok_or_else(|| err("invalid eval"))?;
    let mut ev = Eval {
        line: lineno,
        expr: String::new(),
        kind: EvalKind::Instant { at: 0 },
        fail: None,
        ordered: false,
        warn: vec![],
        info: vec![],
        no_warn: false,
        no_info: false,
        range_vector: None,
        expected: Expected::Series(vec![]),
    };
    match variant {
        "" => {}
        "_fail" => ev.fail = Some(TextMatch::Any),
        "_warn" => ev.warn.push(TextMatch::Any),
        "_info" => ev.info.push(TextMatch::Any),
        "_ordered" => ev.ordered = true,
        _ => return Err(err("invalid eval command")),
    }
    let toks: Vec<&str> = rest.split_whitespace().collect();
    let expr_after = |n: usize| -> String {
        // The expression is the text after the first n whitespace-separated tokens.
        let mut s = rest;
        for _ in 0..n {
            s = s.trim_start();
            let end = s.find(char::is_whitespace).unwrap_or(s.len());
            s = &s[end..];
        }
        s.trim().to_string()
    };
    match toks.first().copied() {
        Some("instant") => {
            if toks.get(1) != Some(&"at") || toks.len() < 4 {
                return Err(err("invalid instant eval"));
            }
            ev.kind = EvalKind::Instant {
                at: dur(toks[2], lineno)?,
            };
            ev.expr = expr_after(3);
        }
        Some("range") => {
            if variant == "_ordered" {
                return Err(err("eval_ordered is not allowed for range queries"));
            }
            if toks.len() < 8 || toks[1] != "from" || toks[3] != "to" || toks[5] != "step" {
                return Err(err("invalid range eval"));
            }
            let (start, end, step) = (
                dur(toks[2], lineno)?,
                dur(toks[4], lineno)?,
                dur(toks[6], lineno)?,
            );
            if end < start {
                return Err(err("end is before start"));
            }
            ev.kind = EvalKind::Range { start, end, step };
            ev.expr = expr_after(7);
        }
        _ => return Err(err("invalid eval")),
    }
    let mut series = Vec::new();
    let mut used = 0;
    for &(n, l) in body {
        used += 1;
        if variant == "_fail"
            && (l.starts_with("expected_fail_message") || l.starts_with("expected_fail_regexp"))
        {
            let (kw, text) = l.split_at(l.find(char::is_whitespace).unwrap_or(l.len()));
            ev.fail = Some(if kw == "expected_fail_message" {
                TextMatch::Exact(text.trim().to_string())
            } else {
                TextMatch::Regex(text.trim().to_string())
            });
            break;
        }
        if let Some(r) = l.strip_prefix("expect range vector") {
            let t: Vec<&str> = r.split_whitespace().collect();
            if t.len() != 6 || t[0] != "from" || t[2] != "to" || t[4] != "step" {
                return Err(format!("line {n}: invalid expect range vector: {l:?}"));
            }
            let (f, to, s) = (dur(t[1], n)?, dur(t[3], n)?, dur(t[5], n)?);
            ev.range_vector = Some((f, to, s));
            ev.kind = EvalKind::Instant { at: to };
            continue;
        }
        if let Some(r) = l.strip_prefix("expect string ") {
            ev.expected = Expected::String(
                unquote(r).ok_or_else(|| format!("line {n}: invalid string {r:?}"))?,
            );
            continue;
        }
        if l.split(' ').next() == Some("expect") {
            parse_expect(&mut ev, n, l)?;
            continue;
        }
        if let Some(v) = parse_scalar(l) {
            ev.expected = Expected::Scalar(v);
            break;
        }
        let s = parse_series(l).map_err(|e| format!("line {n}: {e}"))?;
        if matches!(ev.kind, EvalKind::Instant { .. })
            && ev.range_vector.is_none()
            && s.values.len() > 1
        {
            return Err(format!(
                "line {n}: expected a single value for an instant eval: {l:?}"
            ));
        }
        series.push(s);
    }
    if !series.is_empty() {
        ev.expected = Expected::Series(series);
    }
    if (!ev.warn.is_empty() && ev.no_warn) || (!ev.info.is_empty() && ev.no_info) {
        return Err(format!("line {lineno}: contradictory expectations"));
    }
    Ok((ev, used))
}

fn parse_expect(ev: &mut Eval, n: usize, l: &str) -> Result<(), String> {
    let rest = l["expect".len()..].trim();
    let (kind, tail) = rest.split_at(rest.find(char::is_whitespace).unwrap_or(rest.len()));
    let tail = tail.trim();
    let m = if let Some(t) = tail.strip_prefix("msg:") {
        TextMatch::Exact(t.trim().to_string())
    } else if let Some(t) = tail.strip_prefix("regex:") {
        TextMatch::Regex(t.trim().to_string())
    } else if tail.is_empty() {
        TextMatch::Any
    } else {
        return Err(format!("line {n}: invalid expect line {l:?}"));
    };
    match kind {
        "ordered" => ev.ordered = true,
        "fail" => {
            if ev.fail.is_some() && !matches!(ev.fail, Some(TextMatch::Any)) {
                return Err(format!("line {n}: more than one expect fail"));
            }
            ev.fail = Some(m);
        }
        "warn" => ev.warn.push(m),
        "info" => ev.info.push(m),
        "no_warn" => ev.no_warn = true,
        "no_info" => ev.no_info = true,
        _ => return Err(format!("line {n}: invalid expect line {l:?}")),
    }
    Ok(())
}

/// A bare number line (Go's ParseInt with base prefixes, then ParseFloat).
fn parse_scalar(l: &str) -> Option<f64> {
    let (neg, body) = match l.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, l.strip_prefix('+').unwrap_or(l)),
    };
    let int = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        i64::from_str_radix(b, 2).ok()
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&body[1..], 8).ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Some(if neg { -(i as f64) } else { i as f64 });
    }
    let (v, used) = parse_number_prefix(l)?;
    (used == l.len()).then_some(v)
}

/// Parses a float at the start of `s` (sign, digits with `_` separators, `.5`, exponents,
/// Inf/NaN in any case); returns the value and bytes used.
fn parse_number_prefix(s: &str) -> Option<(f64, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+') | Some(b'-')) {
        i = 1;
    }
    let lower = s[i..].to_ascii_lowercase();
    for (word, v) in [
        ("infinity", f64::INFINITY),
        ("inf", f64::INFINITY),
        ("nan", f64::NAN),
    ] {
        if lower.starts_with(word) {
            let v = if b.first() == Some(&b'-') { -v } else { v };
            return Some((v, i + word.len()));
        }
    }
    let start = i;
    let mut text = String::new();
    text.push_str(&s[..i]);
    let digits = |i: &mut usize, text: &mut String| {
        let st = *i;
        while *i < b.len()
            && (b[*i].is_ascii_digit()
                || (b[*i] == b'_' && *i > st && *i + 1 < b.len() && b[*i + 1].is_ascii_digit()))
        {
            if b[*i] != b'_' {
                text.push(b[*i] as char);
            }
            *i += 1;
        }
        *i > st
    };
    let int_part = digits(&mut i, &mut text);
    let mut frac_part = false;
    if i < b.len() && b[i] == b'.' {
        text.push('.');
        i += 1;
        frac_part = digits(&mut i, &mut text);
    }
    if !int_part && !frac_part {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        let mut exp = String::from("e");
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            exp.push(b[j] as char);
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            while j < b.len() && b[j].is_ascii_digit() {
                exp.push(b[j] as char);
                j += 1;
            }
            text.push_str(&exp);
            i = j;
        }
    }
    let _ = start;
    text.parse::<f64>().ok().map(|v| (v, i))
}

/// Parses a series description: labels, then value items.
pub fn parse_series(l: &str) -> Result<SeriesLine, String> {
    let (labels, rest) = parse_labels(l)?;
    let mut values = Vec::new();
    let mut histograms = Vec::new();
    let mut rest = rest.trim_start();
    while !rest.is_empty() {
        let item_end = if rest.starts_with("{{") {
            histogram_literal::item_len(rest).map_err(|e| format!("{e} in {l:?}"))?
        } else {
            rest.find(char::is_whitespace).unwrap_or(rest.len())
        };
        let item = &rest[..item_end];
        if item.starts_with("{{") {
            for p in histogram_literal::expand(item).map_err(|e| format!("{e} in {l:?}"))? {
                histograms.push((values.len(), p));
                values.push(None);
            }
        } else {
            expand_item(item, &mut values).map_err(|e| format!("{e} in {l:?}"))?;
        }
        rest = rest[item_end..].trim_start();
    }
    Ok(SeriesLine {
        labels,
        values,
        histogram: !histograms.is_empty(),
        histograms,
    })
}

fn expand_item(item: &str, out: &mut Vec<Option<f64>>) -> Result<(), String> {
    if item == "_" {
        out.push(None);
        return Ok(());
    }
    if let Some(n) = item.strip_prefix("_x") {
        let n: usize = n.parse().map_err(|_| format!("invalid item {item:?}"))?;
        out.extend(std::iter::repeat_n(None, n));
        return Ok(());
    }
    if item == "stale" {
        out.push(Some(stale_nan()));
        return Ok(());
    }
    let (a, used) = parse_number_prefix(item).ok_or_else(|| format!("invalid value {item:?}"))?;
    let rest = &item[used..];
    if rest.is_empty() {
        out.push(Some(a));
        return Ok(());
    }
    if let Some(n) = rest.strip_prefix('x') {
        let n: usize = n
            .parse()
            .map_err(|_| format!("invalid repeat in {item:?}"))?;
        out.extend(std::iter::repeat_n(Some(a), n + 1));
        return Ok(());
    }
    if rest.starts_with('+') || rest.starts_with('-') {
        let (b, used) =
            parse_number_prefix(rest).ok_or_else(|| format!("invalid increment in {item:?}"))?;
        let n = rest[used..]
            .strip_prefix('x')
            .ok_or_else(|| format!("missing xN in {item:?}"))?;
        let n: usize = n
            .parse()
            .map_err(|_| format!("invalid repeat in {item:?}"))?;
        let mut cur = a;
        out.push(Some(cur));
        for _ in 0..n {
            cur += b;
            out.push(Some(cur));
        }
        return Ok(());
    }
    Err(format!("invalid value {item:?}"))
}

/// Go-style quoted string at the start of `s`; returns the text and bytes used.
fn quoted(s: &str) -> Option<(String, usize)> {
    let q = s.chars().next()?;
    if q == '`' {
        let end = s[1..].find('`')?;
        return Some((s[1..1 + end].to_string(), end + 2));
    }
    if q != '"' && q != '\'' {
        return None;
    }
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        if c == q {
            return Some((out, i + 1));
        }
        if c != '\\' {
            out.push(c);
            continue;
        }
        let (_, e) = chars.next()?;
        match e {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = (0..n)
                    .filter_map(|_| chars.next().map(|(_, c)| c))
                    .collect();
                let v = u32::from_str_radix(&hex, 16).ok()?;
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            _ => return None,
        }
    }
    None
}

fn unquote(s: &str) -> Option<String> {
    let (v, used) = quoted(s.trim())?;
    (used == s.trim().len()).then_some(v)
}

/// Parses `name{a="b", ...}`, `{...}` or `name`; returns labels and the rest of the line.
fn parse_labels(l: &str) -> Result<(Labels, &str), String> {
    let name_end = l
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(l.len());
    let mut pairs: Vec<(String, String)> = Vec::new();
    if name_end > 0 {
        pairs.push(("__name__".to_string(), l[..name_end].to_string()));
    }
    let mut rest = &l[name_end..];
    if let Some(r) = rest.strip_prefix('{') {
        rest = r.trim_start();
        loop {
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let (name, used) = if let Some(q) = quoted(rest) {
                q
            } else {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if end == 0 {
                    return Err(format!("invalid label set in {l:?}"));
                }
                (rest[..end].to_string(), end)
            };
            rest = rest[used..].trim_start();
            rest = rest
                .strip_prefix('=')
                .ok_or_else(|| format!("expected '=' in {l:?}"))?
                .trim_start();
            let (value, used) =
                quoted(rest).ok_or_else(|| format!("expected a quoted value in {l:?}"))?;
            pairs.push((name, value));
            rest = rest[used..].trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim_start();
            } else if !rest.starts_with('}') {
                return Err(format!("expected ',' or '}}' in {l:?}"));
            }
        }
    } else if name_end == 0 {
        return Err(format!("invalid series description {l:?}"));
    }
    Ok((Labels::from_pairs(pairs), rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::is_stale_nan;

    fn vals(s: &str) -> Vec<Option<f64>> {
        parse_series(&format!("m {s}")).unwrap().values
    }

    #[test]
    fn expansions() {
        assert_eq!(
            vals("0+10x3"),
            [Some(0.0), Some(10.0), Some(20.0), Some(30.0)]
        );
        assert_eq!(
            vals("-2+4x3"),
            [Some(-2.0), Some(2.0), Some(6.0), Some(10.0)]
        );
        assert_eq!(vals("1-2x2"), [Some(1.0), Some(-1.0), Some(-3.0)]);
        assert_eq!(vals("1x2"), [Some(1.0); 3]);
        assert_eq!(vals("1 _x3 5"), [Some(1.0), None, None, None, Some(5.0)]);
        assert_eq!(vals("0x59").len(), 60, "no hex in series values");
        assert_eq!(
            vals("1e3 .5 -Inf 1_000"),
            [
                Some(1000.0),
                Some(0.5),
                Some(f64::NEG_INFINITY),
                Some(1000.0)
            ]
        );
        assert!(vals("NaN")[0].unwrap().is_nan());
        assert!(is_stale_nan(vals("stale")[0].unwrap()));
        assert_eq!(
            vals("1+1x1 9+1x1"),
            [Some(1.0), Some(2.0), Some(9.0), Some(10.0)]
        );
    }

    #[test]
    fn labels() {
        let s = parse_series(r#"http_requests{job="api", instance='a:1',} 1"#).unwrap();
        assert_eq!(
            s.labels.to_string(),
            r#"{__name__="http_requests", instance="a:1", job="api"}"#
        );
        let s = parse_series(r#"{a="x y\"z"} 1"#).unwrap();
        assert_eq!(s.labels.get("a"), Some("x y\"z"));
        assert!(s.labels.metric_name().is_none());
        assert!(parse_series("{} {{schema:0 sum:1}} 2").unwrap().histogram);
    }

    #[test]
    fn commands() {
        let text = "# comment\nload 5m\n  m{a=\"1\"} 0+1x10\n\neval instant at 10m m\n  m{a=\"1\"} 2\n\neval range from 0 to 10m step 5m m * 2\n  expect warn msg: PromQL warning: x\n  {a=\"1\"} 0 2 4\n\nclear\neval instant at 1m 1 + 1\n  2\n\neval instant at 0 nope\n  expect fail\n";
        let cmds = parse(text).unwrap();
        assert_eq!(cmds.len(), 6);
        let Command::Load { step, series, .. } = &cmds[0] else {
            panic!()
        };
        assert_eq!((*step, series[0].values.len()), (300_000, 11));
        let Command::Eval(e) = &cmds[2] else { panic!() };
        assert_eq!(
            e.kind,
            EvalKind::Range {
                start: 0,
                end: 600_000,
                step: 300_000
            }
        );
        assert_eq!(e.expr, "m * 2");
        assert_eq!(e.warn, [TextMatch::Exact("PromQL warning: x".into())]);
        let Command::Eval(e) = &cmds[4] else { panic!() };
        assert_eq!(e.expected, Expected::Scalar(2.0));
        assert!(parse("bogus\n").unwrap_err().contains("line 1"));
        assert_eq!(parse_scalar("0x1F"), Some(31.0));
        assert_eq!(parse_scalar("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_scalar("1 2"), None);
    }

    #[test]
    fn parses_every_upstream_file() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/promqltest");
        let Ok(rd) = std::fs::read_dir(&dir) else {
            // A bare clone has nothing beside it; CI checks out ../shared next to the project.
            eprintln!(
                "skipped: {} is absent (the upstream scripts live beside the project)",
                dir.display()
            );
            return;
        };
        let mut n = 0;
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "test") {
                let text = std::fs::read_to_string(&p).unwrap();
                parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                n += 1;
            }
        }
        assert!(n >= 12, "{n} files");
    }
}

#[cfg(test)]
#[path = "script_histogram_tests.rs"]
mod histogram_tests;
