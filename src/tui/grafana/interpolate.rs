//! A query as Grafana sends it to Prometheus, in Grafana's two passes.
//!
//! The browser pass (templateSrv `replace` with the Prometheus datasource's
//! `interpolateQueryExpr`): `$var`, `${var}`, `${var:format}`, `[[var]]`, `[[var:format]]`.
//! A variable that is neither multi nor include-All gets `\` and `'` escaped; a multi or All
//! one has each value regex-escaped for a PromQL string (`.` → `\\.`) and several become
//! `(a|b)`. All is the custom all value when set (interpolated, unescaped), else every
//! option. Named formats (`regex`, `pipe`, `csv`, `raw`, `glob`, `json`, `distributed`, …)
//! replace the datasource's rule; an unknown one is `glob`. `$__interval` and
//! `$__interval_ms` are left for the second pass, as is every name Grafana's browser does not
//! know (`$__rate_interval`); `$__range*` and `$__dashboard` are the dashboard's.
//!
//! The server pass (promlib `models.Parse`): the step from the range, max data points, the
//! panel's min interval, the query's min step and interval factor, and the datasource's
//! scrape interval (15s default); then `$__interval`, `$__interval_ms`, `$__range`,
//! `$__range_s`, `$__range_ms`, `$__rate_interval` (max(interval + scrape, 4 × scrape),
//! written as Go writes durations: `1m0s`) and `$__rate_interval_ms`.
//!
//! Uses `vars` (the variables and their current values).

use super::vars::{VarKind, Variable, AUTO_PREFIX};

/// What the dashboard and the screen give to a query's interpolation.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    /// The time range in milliseconds.
    pub range_ms: i64,
    /// How many points the panel can show (Grafana: its width in pixels).
    pub max_data_points: u64,
    /// The datasource's scrape interval (`timeInterval`); empty is 15s.
    pub scrape_interval: String,
    pub dashboard_title: String,
    pub dashboard_uid: String,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            range_ms: 6 * 3600 * 1000,
            max_data_points: 1000,
            scrape_interval: String::new(),
            dashboard_title: String::new(),
            dashboard_uid: String::new(),
        }
    }
}

/// The step and intervals of one query, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Steps {
    /// The browser's interval (`request.intervalMs`).
    pub interval_ms: i64,
    /// The query step Prometheus gets, and `$__interval`.
    pub step_ms: i64,
    pub rate_interval_ms: i64,
}

/// Grafana's browser rounding of an interval (`rangeutil.roundInterval`, bounds excluded).
pub fn round_interval_browser(ms: f64) -> i64 {
    round_interval(ms, false)
}

/// The server's rounding (`gtime.RoundInterval`, bounds included).
pub fn round_interval_server(ms: f64) -> i64 {
    round_interval(ms, true)
}

fn round_interval(ms: f64, inclusive: bool) -> i64 {
    const TABLE: [(f64, i64); 27] = [
        (10.0, 1),
        (15.0, 10),
        (35.0, 20),
        (75.0, 50),
        (150.0, 100),
        (350.0, 200),
        (750.0, 500),
        (1500.0, 1000),
        (3500.0, 2000),
        (7500.0, 5000),
        (12500.0, 10000),
        (17500.0, 15000),
        (25000.0, 20000),
        (45000.0, 30000),
        (90000.0, 60000),
        (210000.0, 120000),
        (450000.0, 300000),
        (750000.0, 600000),
        (1050000.0, 900000),
        (1500000.0, 1200000),
        (2700000.0, 1800000),
        (5400000.0, 3600000),
        (9000000.0, 7200000),
        (16200000.0, 10800000),
        (32400000.0, 21600000),
        (86400000.0, 43200000),
        (604800000.0, 86400000),
    ];
    for (bound, to) in TABLE {
        if ms < bound || (inclusive && ms == bound) {
            return to;
        }
    }
    if ms < 1814400000.0 || (inclusive && ms == 1814400000.0) {
        604800000
    } else if ms < 3628800000.0 {
        2592000000
    } else {
        31536000000
    }
}

/// An interval written as Grafana writes them: `15s`, `1m`, `500ms`, `1.5m` (number and unit
/// `ms`, `s`, `m`, `h`, `d`, `w`, `M`, `y`; a bare number is seconds; `<`/`>` are ignored) in
/// milliseconds.
pub fn parse_interval(s: &str) -> Option<i64> {
    let s = s.trim().trim_start_matches(['<', '>']).trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<f64>() {
        return Some((n * 1000.0) as i64);
    }
    // Go-style compound durations (`1m30s`) too.
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let n_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..n_end].parse().ok()?;
        rest = &rest[n_end..];
        let (mult, len) = [
            ("ms", 1.0),
            ("µs", 1e-3),
            ("us", 1e-3),
            ("ns", 1e-6),
            ("s", 1e3),
            ("m", 60e3),
            ("h", 3600e3),
            ("d", 86400e3),
            ("w", 604800e3),
            ("M", 2592000e3),
            ("y", 31536000e3),
        ]
        .into_iter()
        .find(|(u, _)| rest.starts_with(u))
        .map(|(u, m)| (m, u.len()))?;
        total += n * mult;
        rest = &rest[len..];
    }
    Some(total as i64)
}

/// A dashboard's relative time range (`time.from` `now-6h`, `time.to` `now` or `now-1h`) as
/// (milliseconds before now of the start, of the end). `None` for absolute times and rounded
/// forms (`now/d`), which the view asks the user about instead.
pub fn relative_range(from: &str, to: &str) -> Option<(i64, i64)> {
    let ago = |s: &str| -> Option<i64> {
        let s = s.trim();
        if s == "now" {
            return Some(0);
        }
        parse_interval(s.strip_prefix("now-")?)
    };
    let (f, t) = (ago(from)?, ago(to)?);
    (f > t).then_some((f, t))
}

/// `gtime.FormatInterval`: the largest whole unit (`1m`, `2h`, `3d`, `1y`, `500ms`).
pub fn format_interval(ms: i64) -> String {
    const UNITS: [(i64, &str); 6] = [
        (31536000000, "y"),
        (86400000, "d"),
        (3600000, "h"),
        (60000, "m"),
        (1000, "s"),
        (1, "ms"),
    ];
    for (size, u) in UNITS {
        if ms >= size {
            return format!("{}{u}", ms / size);
        }
    }
    "1ms".into()
}

/// The browser's `secondsToHms` (interval variables' auto value).
pub fn seconds_to_hms(ms: i64) -> String {
    let s = ms as f64 / 1000.0;
    let parts = [
        ((s / 31536000.0).floor(), "y"),
        (((s % 31536000.0) / 86400.0).floor(), "d"),
        (((s % 86400.0) / 3600.0).floor(), "h"),
        (((s % 3600.0) / 60.0).floor(), "m"),
        ((s % 60.0).floor(), "s"),
    ];
    for (n, u) in parts {
        if n >= 1.0 {
            return format!("{n}{u}");
        }
    }
    if ms >= 1 {
        return format!("{ms}ms");
    }
    "less than a millisecond".into()
}

/// A duration as Go's `time.Duration.String` writes it (`1m0s`, `1h0m0s`, `45s`, `1.5s`).
pub fn go_duration(ms: i64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let neg = if ms < 0 { "-" } else { "" };
    let ms = ms.abs();
    if ms < 1000 {
        return format!("{neg}{ms}ms");
    }
    let (h, m) = (ms / 3_600_000, (ms / 60_000) % 60);
    let (s, frac) = ((ms / 1000) % 60, ms % 1000);
    let secs = if frac == 0 {
        format!("{s}s")
    } else {
        let f = format!("{frac:03}");
        format!("{s}.{}s", f.trim_end_matches('0'))
    };
    match (h, m) {
        (0, 0) => format!("{neg}{secs}"),
        (0, m) => format!("{neg}{m}m{secs}"),
        (h, m) => format!("{neg}{h}h{m}m{secs}"),
    }
}

/// Whether a query's min step is one of the interval variables (promlib `isVariableInterval`).
fn is_variable_interval(i: &str) -> bool {
    matches!(
        i,
        "$__interval"
            | "$__interval_ms"
            | "$__rate_interval"
            | "$__rate_interval_ms"
            | "${__interval}"
            | "${__interval_ms}"
            | "${__rate_interval}"
            | "${__rate_interval_ms}"
    )
}

/// The step and intervals of a query with min step `target_interval` (already interpolated)
/// and `interval_factor` in a panel with min interval `panel_interval`.
pub fn steps(
    ctx: &Context,
    panel_interval: Option<&str>,
    target_interval: &str,
    interval_factor: u32,
) -> Steps {
    let range = ctx.range_ms.max(1) as f64;
    let points = ctx.max_data_points.max(1) as f64;
    let scrape = if ctx.scrape_interval.trim().is_empty() {
        "15s"
    } else {
        ctx.scrape_interval.as_str()
    };
    // Browser: the request's interval, bounded below by the panel's min interval or the
    // datasource's scrape interval.
    let low = panel_interval
        .filter(|p| !p.trim().is_empty())
        .and_then(parse_interval)
        .or_else(|| parse_interval(scrape))
        .unwrap_or(1);
    let interval_ms = round_interval_browser(range / points).max(low);
    // Server: the query's min step, else the request's interval.
    let ti = target_interval.trim();
    let min_interval = if ti.is_empty() || ti == "0s" || is_variable_interval(ti) {
        interval_ms
    } else {
        parse_interval(ti).unwrap_or(15_000)
    };
    let raw = range / points;
    let calculated = if raw < min_interval as f64 {
        min_interval
    } else {
        round_interval_server(raw)
    };
    let safe = round_interval_server(range / 11000.0);
    let adjusted = calculated.max(safe);
    let rate_of = |query_interval: i64, requested: &str| -> i64 {
        let s = if requested.trim().is_empty() {
            "15s"
        } else {
            requested
        };
        let scrape_ms = parse_interval(s).unwrap_or(0);
        (query_interval + scrape_ms).max(4 * scrape_ms)
    };
    if ti == "$__rate_interval" || ti == "${__rate_interval}" {
        let step = rate_of(adjusted, scrape);
        return Steps {
            interval_ms,
            step_ms: step,
            rate_interval_ms: step,
        };
    }
    let step_ms = adjusted * i64::from(interval_factor.max(1));
    let requested = if ti == "$__interval" || ti == "${__interval}" {
        format_interval(step_ms)
    } else if ti.is_empty() {
        scrape.to_string()
    } else {
        ti.to_string()
    };
    Steps {
        interval_ms,
        step_ms,
        rate_interval_ms: rate_of(interval_ms, &requested),
    }
}

/// The server pass: built-in intervals and ranges replaced, in promlib's order.
pub fn expand_builtins(expr: &str, s: &Steps, range_ms: i64) -> String {
    let range_s = ((range_ms as f64) / 1000.0).round() as i64;
    let step = format_interval(s.step_ms);
    let rate = go_duration(s.rate_interval_ms);
    let pairs: [(&str, String); 14] = [
        ("$__interval_ms", s.step_ms.to_string()),
        ("$__interval", step.clone()),
        ("$__range_ms", range_ms.to_string()),
        ("$__range_s", range_s.to_string()),
        ("$__range", format!("{range_s}s")),
        ("$__rate_interval_ms", s.rate_interval_ms.to_string()),
        ("$__rate_interval", rate.clone()),
        ("${__interval_ms}", s.step_ms.to_string()),
        ("${__interval}", step),
        ("${__range_ms}", range_ms.to_string()),
        ("${__range_s}", range_s.to_string()),
        ("${__range}", format!("{range_s}s")),
        ("${__rate_interval_ms}", s.rate_interval_ms.to_string()),
        ("${__rate_interval}", rate),
    ];
    let mut out = expr.to_string();
    for (from, to) in pairs {
        if out.contains(from) {
            out = out.replace(from, &to);
        }
    }
    out
}

/// A variable reference found in text.
struct Reference<'a> {
    start: usize,
    end: usize,
    name: &'a str,
    field: Option<&'a str>,
    format: Option<&'a str>,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The next reference at or after `from` (Grafana's `variableRegex` alternatives in order).
fn next_reference(text: &str, from: usize) -> Option<Reference<'_>> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let rest = &text[i + 1..];
            let word = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
            if word > 0 {
                return Some(Reference {
                    start: i,
                    end: i + 1 + word,
                    name: &rest[..word],
                    field: None,
                    format: None,
                });
            }
            if let Some(inner) = rest.strip_prefix('{') {
                let nl = inner.find(|c: char| !is_word(c)).unwrap_or(inner.len());
                if nl > 0 {
                    if let Some(close) = inner.find('}') {
                        let body = &inner[nl..close];
                        let (field, format) = split_field_format(body);
                        if close >= nl && (body.is_empty() || field.is_some() || format.is_some()) {
                            return Some(Reference {
                                start: i,
                                end: i + 2 + close + 1,
                                name: &inner[..nl],
                                field,
                                format,
                            });
                        }
                    }
                }
            }
        } else if text[i..].starts_with("[[") {
            let inner = &text[i + 2..];
            let nl = inner.find(|c: char| !is_word(c)).unwrap_or(inner.len());
            if nl > 0 {
                let after = &inner[nl..];
                if after.starts_with("]]") {
                    return Some(Reference {
                        start: i,
                        end: i + 2 + nl + 2,
                        name: &inner[..nl],
                        field: None,
                        format: None,
                    });
                }
                if let Some(f) = after.strip_prefix(':') {
                    let fl = f.find(|c: char| !is_word(c)).unwrap_or(f.len());
                    if fl > 0 && f[fl..].starts_with("]]") {
                        return Some(Reference {
                            start: i,
                            end: i + 2 + nl + 1 + fl + 2,
                            name: &inner[..nl],
                            field: None,
                            format: Some(&f[..fl]),
                        });
                    }
                }
            }
        }
        i += text[i..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// `${name.field:format}`'s part after the name: (`.field`, `:format`) as the regex reads
/// them (`\.([^:^\}]+)` then `:([^\}]+)`).
fn split_field_format(body: &str) -> (Option<&str>, Option<&str>) {
    let (field, rest) = match body.strip_prefix('.') {
        Some(b) => {
            let end = b.find([':', '^']).unwrap_or(b.len());
            if end == 0 {
                return (None, None);
            }
            (Some(&b[..end]), &b[end..])
        }
        None => (None, body),
    };
    match rest.strip_prefix(':') {
        Some(f) if !f.is_empty() => (field, Some(f)),
        _ if rest.is_empty() => (field, None),
        _ => (None, None),
    }
}

/// A variable's value for formatting: one string, or several.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    One(String),
    Many(Vec<String>),
}

impl Val {
    fn list(&self) -> Vec<String> {
        match self {
            Val::One(s) => vec![s.clone()],
            Val::Many(v) => v.clone(),
        }
    }
    fn joined(&self, sep: &str) -> String {
        match self {
            Val::One(s) => s.clone(),
            Val::Many(v) => v.join(sep),
        }
    }
}

/// The Prometheus datasource's `prometheusRegularEscape` (feature toggle off).
pub fn regular_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\'', "\\\\'")
}

/// The Prometheus datasource's `prometheusSpecialRegexEscape` (feature toggle off): regex
/// metacharacters escaped for a regex inside a PromQL string.
pub fn special_regex_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len() * 2);
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\\\\\"),
            '$' | '^' | '*' | '{' | '}' | '[' | ']' | '+' | '?' | '.' | '(' | ')' | '|' => {
                out.push_str("\\\\");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// `kbn.regexEscape` (the `regex` format).
fn regex_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len() * 2);
    for c in v.chars() {
        if "\\^$*+?.()|[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The datasource's `interpolateQueryExpr`.
fn prometheus_format(v: &Val, multi_or_all: bool) -> String {
    if !multi_or_all {
        return match v {
            Val::One(s) => regular_escape(s),
            Val::Many(m) => m.join(","),
        };
    }
    match v {
        Val::One(s) => special_regex_escape(s),
        Val::Many(m) => {
            let e: Vec<String> = m.iter().map(|s| special_regex_escape(s)).collect();
            if e.len() == 1 {
                e.into_iter().next().unwrap_or_default()
            } else {
                format!("({})", e.join("|"))
            }
        }
    }
}

/// A named format (`formatRegistry`); unknown names are `glob`.
fn named_format(v: &Val, format: &str, var_name: &str, text: &str) -> String {
    let (name, _args) = format.split_once(':').unwrap_or((format, ""));
    match name {
        "raw" => v.joined(","),
        "regex" => match v {
            Val::One(s) => regex_escape(s),
            Val::Many(m) if m.len() == 1 => regex_escape(&m[0]),
            Val::Many(m) => format!(
                "({})",
                m.iter()
                    .map(|s| regex_escape(s))
                    .collect::<Vec<_>>()
                    .join("|")
            ),
        },
        "pipe" => v.joined("|"),
        "csv" => v.joined(","),
        "distributed" => match v {
            Val::One(s) => s.clone(),
            Val::Many(m) => m
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    if i == 0 {
                        s.clone()
                    } else {
                        format!("{var_name}={s}")
                    }
                })
                .collect::<Vec<_>>()
                .join(","),
        },
        "json" => match v {
            Val::One(s) => serde_json::Value::from(s.as_str()).to_string(),
            Val::Many(m) => serde_json::Value::from(m.clone()).to_string(),
        },
        "singlequote" => v
            .list()
            .iter()
            .map(|s| format!("'{}'", s.replace('\'', "\\'")))
            .collect::<Vec<_>>()
            .join(","),
        "doublequote" => v
            .list()
            .iter()
            .map(|s| format!("\"{}\"", s.replace('"', "\\\"")))
            .collect::<Vec<_>>()
            .join(","),
        "sqlstring" => v
            .list()
            .iter()
            .map(|s| format!("'{}'", s.replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(","),
        "percentencode" => match v {
            Val::One(s) => percent_encode(s),
            Val::Many(m) => percent_encode(&format!("{{{}}}", m.join(","))),
        },
        "queryparam" => v
            .list()
            .iter()
            .map(|s| format!("var-{var_name}={}", percent_encode(s)))
            .collect::<Vec<_>>()
            .join("&"),
        "text" => text.to_string(),
        // glob, and any unknown format.
        _ => match v {
            Val::Many(m) if m.len() > 1 => format!("{{{}}}", m.join(",")),
            other => other.joined(","),
        },
    }
}

/// How text is expanded: the variables and the dashboard's context.
pub struct Interpolator<'a> {
    pub vars: &'a [Variable],
    pub ctx: &'a Context,
}

impl Interpolator<'_> {
    /// The browser pass over a query expression (the Prometheus datasource's default format).
    pub fn query(&self, text: &str) -> String {
        self.replace(text, true, 0)
    }

    /// The browser pass over other text (titles, legends, min steps): default `glob` format.
    pub fn text(&self, text: &str) -> String {
        self.replace(text, false, 0)
    }

    /// A query exactly as the server sends it to Prometheus: both passes, with the steps.
    pub fn sent(
        &self,
        expr: &str,
        panel_interval: Option<&str>,
        target_interval: &str,
        interval_factor: u32,
    ) -> (String, Steps) {
        let target_interval = self.text(target_interval);
        let panel_interval = panel_interval.map(|p| self.text(p));
        let s = steps(
            self.ctx,
            panel_interval.as_deref(),
            &target_interval,
            interval_factor,
        );
        (expand_builtins(&self.query(expr), &s, self.ctx.range_ms), s)
    }

    fn replace(&self, text: &str, prometheus: bool, depth: u32) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while let Some(r) = next_reference(text, at) {
            out.push_str(&text[at..r.start]);
            let whole = &text[r.start..r.end];
            out.push_str(
                &self
                    .one(&r, prometheus, depth)
                    .unwrap_or_else(|| whole.to_string()),
            );
            at = r.end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// The expansion of one reference; `None` leaves it as written.
    fn one(&self, r: &Reference, prometheus: bool, depth: u32) -> Option<String> {
        let fmt = r.format;
        let format_plain = |v: &str| match fmt {
            Some(f) => named_format(&Val::One(v.to_string()), f, r.name, v),
            None if prometheus => regular_escape(v),
            None => v.to_string(),
        };
        match r.name {
            // Left for the server pass, which knows the step.
            "__interval" => return Some("$__interval".into()),
            "__interval_ms" => return Some("$__interval_ms".into()),
            "__range" | "__range_s" | "__range_ms" => {
                let s = ((self.ctx.range_ms as f64) / 1000.0).round() as i64;
                let v = match r.name {
                    "__range" => format!("{s}s"),
                    "__range_s" => s.to_string(),
                    _ => self.ctx.range_ms.to_string(),
                };
                return Some(format_plain(&v));
            }
            "__dashboard" => {
                let v = match r.field {
                    Some("uid") => self.ctx.dashboard_uid.clone(),
                    _ => self.ctx.dashboard_title.clone(),
                };
                return Some(format_plain(&v));
            }
            _ => {}
        }
        let var = self.vars.iter().find(|v| v.name == r.name)?;
        if matches!(var.kind, VarKind::Adhoc | VarKind::Unknown { .. }) {
            return match var.kind {
                VarKind::Adhoc => Some(String::new()),
                _ => None,
            };
        }
        if var.current.is_empty() {
            return None;
        }
        let text = self.text_of(var);
        let value = if var.is_all() {
            if let Some(all) = &var.all_value {
                if !matches!(fmt, Some("text" | "percentencode")) && depth < 8 {
                    // The custom all value, interpolated as plain text, unescaped.
                    return Some(self.replace(all, false, depth + 1));
                }
                Val::One(all.clone())
            } else {
                Val::Many(var.options.iter().map(|o| o.value.clone()).collect())
            }
        } else if let Some(auto) = self.auto_interval(var) {
            Val::One(auto)
        } else if var.multi {
            Val::Many(var.current.clone())
        } else {
            Val::One(var.current[0].clone())
        };
        Some(match fmt {
            Some(f) => named_format(&value, f, &var.name, &text),
            None if prometheus => prometheus_format(&value, var.multi || var.include_all),
            None => named_format(&value, "glob", &var.name, &text),
        })
    }

    /// An interval variable's `auto` value for the range (`calculateInterval`).
    fn auto_interval(&self, var: &Variable) -> Option<String> {
        let VarKind::Interval {
            auto_count,
            auto_min,
            ..
        } = &var.kind
        else {
            return None;
        };
        let c = var.current.first()?;
        if !(c.starts_with(AUTO_PREFIX) || c == "$__auto" || c == "auto") {
            return None;
        }
        let low = parse_interval(auto_min).unwrap_or(1);
        let ms = round_interval_browser(self.ctx.range_ms as f64 / f64::from((*auto_count).max(1)))
            .max(low);
        Some(seconds_to_hms(ms))
    }

    /// What the variable shows (`text` format): the options' texts, `All`, ` + ` between.
    fn text_of(&self, var: &Variable) -> String {
        if var.is_all() {
            return "All".into();
        }
        var.current
            .iter()
            .map(|c| {
                var.options
                    .iter()
                    .find(|o| &o.value == c)
                    .map_or(c.as_str(), |o| o.text.as_str())
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// Whether `text` still holds a reference to a variable or built-in.
pub fn has_reference(text: &str) -> bool {
    next_reference(text, 0).is_some()
}
