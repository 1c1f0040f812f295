//! Prometheus names for OTLP metrics and attributes, as Prometheus's OTLP endpoint makes them by
//! default (underscore escaping with suffixes): characters outside `[a-zA-Z0-9_:]` become `_`,
//! the unit is added as a suffix (`s` → `_seconds`, `By` → `_bytes`, `By/s` →
//! `_bytes_per_second`, `{annotations}` dropped), `_total` for counters, `_ratio` for gauges
//! with unit `1`; label names likewise, with `key_` before a leading digit. Uses nothing.

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

fn clean_word(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_matches('_')
        .to_string()
}

/// Prometheus's metric name for an OTLP metric (underscore escaping with suffixes).
pub fn metric_name(name: &str, unit: &str, counter: bool, gauge: bool) -> String {
    let mut tokens: Vec<String> = name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    // Units: annotations in braces go; `main/per`.
    let unit: String = {
        let mut u = String::new();
        let mut depth = 0;
        for c in unit.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                c if depth == 0 => u.push(c),
                _ => {}
            }
        }
        u.trim().to_string()
    };
    let (main, per) = match unit.split_once('/') {
        Some((a, b)) => (a.trim(), b.trim()),
        None => (unit.as_str(), ""),
    };
    let main_word = unit_word(main)
        .map(str::to_string)
        .unwrap_or_else(|| clean_word(main));
    if !main_word.is_empty() && main != "1" && !tokens.contains(&main_word) {
        tokens.push(main_word);
    }
    if !per.is_empty() {
        let per_word = per_unit_word(per)
            .map(str::to_string)
            .unwrap_or_else(|| clean_word(per));
        if !per_word.is_empty() && !tokens.contains(&per_word) {
            tokens.push("per".into());
            tokens.push(per_word);
        }
    }
    if counter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if gauge && unit == "1" && !tokens.iter().any(|t| t == "ratio") {
        tokens.push("ratio".into());
    }
    let mut out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Prometheus's label name for an OTLP attribute key.
pub fn label_name(key: &str) -> String {
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    out
}
