//! Prometheus names for OTLP metrics and attributes, per Prometheus 3's `translation_strategy`
//! (the rules of the `otlptranslator` Go module, written anew):
//!
//! - `UnderscoreEscapingWithSuffixes` (default): the name is split at every character outside
//!   `[a-zA-Z0-9:]` (so runs of `_` and `.` collapse to one `_`), the unit is added as a
//!   suffix (`s` → `_seconds`, `By/s` → `_bytes_per_second`, `1` → nothing, units in `{}`
//!   dropped), `_total` for monotonic sums, `_ratio` for gauges of unit `1`; `_` before a
//!   leading digit.
//! - `UnderscoreEscapingWithoutSuffixes`: runs of characters outside `[a-zA-Z0-9:_]` become one
//!   `_`; no suffixes.
//! - `NoUTF8EscapingWithSuffixes`: the name as it is, with the suffixes added after it.
//! - `NoTranslation`: names and label names exactly as sent.
//!
//! Label names (escaping strategies): characters outside `[a-zA-Z0-9_]` become `_`, `key_`
//! before a leading digit, `key` before a single leading `_` (unless
//! `label_name_underscore_sanitization: false`); a name made of underscores only is invalid.
//! Uses `config` (the strategy).

use crate::config::{OtlpConfig, TranslationStrategy};

/// The OTLP kind of a metric, as far as naming cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Gauge,
    MonotonicCounter,
    NonMonotonicCounter,
    Histogram,
    ExponentialHistogram,
    Summary,
}

fn unit_word(u: &str) -> Option<&'static str> {
    Some(match u {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        _ => return None,
    })
}

fn per_unit_word(u: &str) -> Option<&'static str> {
    Some(match u {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

/// The main and `per_...` unit suffixes of an OTLP unit, words not yet cleaned: the part
/// before the first `/` and the part after it; a part holding `{` or `}` is dropped.
fn unit_suffixes(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (unit, None),
    };
    let main = main.trim();
    let main = if !main.is_empty() && !main.contains(['{', '}']) {
        unit_word(main).unwrap_or(main).to_string()
    } else {
        String::new()
    };
    let per = match per {
        Some(p) if !p.is_empty() => {
            let p = p.trim();
            if !p.is_empty() && !p.contains(['{', '}']) {
                format!("per_{}", per_unit_word(p).unwrap_or(p))
            } else {
                String::new()
            }
        }
        _ => String::new(),
    };
    (main, per)
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// A unit word made name-safe: other characters become `_`, runs of `_` one, no leading `_`.
fn clean_unit(u: &str) -> String {
    let mut out = String::with_capacity(u.len());
    for c in u.chars() {
        let c = if is_metric_char(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out.trim_start_matches('_').to_string()
}

fn starts_with_digit(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit())
}

/// The name with underscore escaping and suffixes.
fn escaped_with_suffixes(name: &str, unit: &str, kind: MetricKind) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let (mut main, mut per) = (clean_unit(&main), clean_unit(&per));
    if tokens.contains(&main) {
        main.clear();
    }
    if per == "per_" {
        per.clear();
    } else {
        per = per.trim_end_matches('_').to_string();
        if tokens.contains(&per) {
            per.clear();
        }
    }
    if !per.is_empty() {
        main = main.strip_suffix('_').unwrap_or(&main).to_string();
    }
    for s in [main, per] {
        if !s.is_empty() {
            tokens.push(s);
        }
    }
    if kind == MetricKind::MonotonicCounter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && kind == MetricKind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    let out = tokens.join("_");
    if starts_with_digit(&out) {
        format!("_{out}")
    } else {
        out
    }
}

/// The name with underscore escaping only.
fn escaped_without_suffixes(name: &str) -> String {
    let valid = |c: char| is_metric_char(c) || c == '_';
    let out = name
        .split(|c: char| !valid(c))
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if starts_with_digit(&out) {
        format!("_{out}")
    } else {
        out
    }
}

/// Cuts `suffix` and the one character before it when there is more in front.
fn trim_suffix_and_delimiter<'a>(name: &'a str, suffix: &str) -> &'a str {
    if name.ends_with(suffix) && name.len() > suffix.len() + 1 {
        let cut = name.len() - suffix.len() - 1;
        if name.is_char_boundary(cut) {
            return &name[..cut];
        }
    }
    name
}

/// The name kept as it is (UTF-8), with the suffixes appended.
fn utf8_with_suffixes(name: &str, unit: &str, kind: MetricKind) -> String {
    let ratio = unit == "1" && kind == MetricKind::Gauge;
    let total = kind == MetricKind::MonotonicCounter;
    let mut n = name;
    if ratio {
        n = trim_suffix_and_delimiter(n, "ratio");
    }
    if total {
        n = trim_suffix_and_delimiter(n, "total");
    }
    let (main, per) = unit_suffixes(unit);
    if !per.is_empty() {
        n = trim_suffix_and_delimiter(n, &per);
    }
    let mut out = n.to_string();
    if !main.is_empty() && !out.ends_with(&main) {
        out = format!("{out}_{main}");
    }
    if !per.is_empty() {
        out = format!("{out}_{per}");
    }
    if total {
        out.push_str("_total");
    }
    if ratio {
        out.push_str("_ratio");
    }
    out
}

/// Names metrics and labels per the `otlp:` config in force.
#[derive(Debug, Clone, Copy)]
pub struct Namer {
    pub strategy: TranslationStrategy,
    /// `key` before a label name starting with a single `_`.
    pub underscore_sanitization: bool,
    /// Keep runs of `_` in label names (else one `_`).
    pub preserve_multiple_underscores: bool,
}

impl Default for Namer {
    fn default() -> Self {
        Namer::new(&OtlpConfig::default())
    }
}

impl Namer {
    pub fn new(c: &OtlpConfig) -> Self {
        Namer {
            strategy: c.translation_strategy,
            underscore_sanitization: c.label_name_underscore_sanitization,
            preserve_multiple_underscores: c.label_name_preserve_multiple_underscores,
        }
    }

    fn utf8(&self) -> bool {
        matches!(
            self.strategy,
            TranslationStrategy::NoUTF8EscapingWithSuffixes | TranslationStrategy::NoTranslation
        )
    }

    /// The metric family name, or why there is none.
    pub fn metric(&self, name: &str, unit: &str, kind: MetricKind) -> Result<String, String> {
        let out = match self.strategy {
            TranslationStrategy::UnderscoreEscapingWithSuffixes => {
                escaped_with_suffixes(name, unit, kind)
            }
            TranslationStrategy::UnderscoreEscapingWithoutSuffixes => {
                escaped_without_suffixes(name)
            }
            TranslationStrategy::NoUTF8EscapingWithSuffixes => utf8_with_suffixes(name, unit, kind),
            TranslationStrategy::NoTranslation => name.to_string(),
        };
        if out.is_empty() {
            return Err(format!("metric name {name:?} translates to an empty name"));
        }
        if !self.utf8() && out != name && out.chars().all(|c| c == '_') {
            return Err(format!(
                "metric name {name:?} translates to the invalid name {out:?}"
            ));
        }
        Ok(out)
    }

    /// The label name for an attribute key, or why there is none.
    pub fn label(&self, key: &str) -> Result<String, String> {
        if key.is_empty() {
            return Err("an attribute with an empty key has no label name".into());
        }
        if self.utf8() {
            return Ok(key.to_string());
        }
        let mut out = String::with_capacity(key.len() + 4);
        for c in key.chars() {
            let c = if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            };
            if !self.preserve_multiple_underscores
                && c == '_'
                && out.ends_with('_')
                && !out.chars().all(|x| x == '_')
            {
                continue;
            }
            out.push(c);
        }
        if starts_with_digit(&out) {
            out.insert_str(0, "key_");
        } else if self.underscore_sanitization && out.starts_with('_') && !out.starts_with("__") {
            out.insert_str(0, "key");
        }
        if out != key && out.chars().all(|c| c == '_') {
            return Err(format!(
                "attribute {key:?} translates to the invalid label name {out:?}"
            ));
        }
        Ok(out)
    }
}
