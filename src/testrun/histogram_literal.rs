//! The native-histogram notation of promqltest series lines (`../shared/promqltest/FORMAT.md`
//! section 5): `{{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 1] offset:1
//! n_buckets:[…] n_offset:2 custom_values:[…] counter_reset_hint:gauge}}` with keys in any order
//! (case-insensitive, each at most once) and the expansions `{{A}}xN` (N+1 copies),
//! `{{A}}+{{B}}xN` and `{{A}}-{{B}}xN` (A, A±B, A±2B, …: N+1 values). Bucket lists hold absolute
//! counts; each list becomes one span starting at its offset. Expansion arithmetic brings the
//! increment down to the running histogram's schema (an increment of lower resolution is an
//! error, as upstream) and needs equal zero thresholds and custom bounds.
//! Written from the format description. Uses `model`.

use std::collections::BTreeMap;

use crate::model::histogram::{CounterResetHint, FloatHistogram, Span, CUSTOM_BUCKETS_SCHEMA};

/// One histogram value of a series line.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPoint {
    pub h: FloatHistogram,
    /// Whether the literal wrote `counter_reset_hint:` (for `{{A}}±{{B}}xN`, whether B did):
    /// an expected histogram's hint is compared only then.
    pub hint_given: bool,
}

/// Length of the histogram item at the start of `s` (up to the closing `}}` and any
/// `xN` / `±{{…}}xN` tail), or an error when it is unterminated.
pub fn item_len(s: &str) -> Result<usize, String> {
    let close = |from: usize| {
        s[from..]
            .find("}}")
            .map(|i| from + i + 2)
            .ok_or_else(|| format!("unterminated histogram {s:?}"))
    };
    let mut end = close(0)?;
    if s[end..].starts_with("+{{") || s[end..].starts_with("-{{") {
        end = close(end + 1)?;
    }
    Ok(end + s[end..].find(char::is_whitespace).unwrap_or(s.len() - end))
}

/// Expands one histogram item (`{{…}}`, `{{…}}xN`, `{{…}}+{{…}}xN`, `{{…}}-{{…}}xN`).
pub fn expand(item: &str) -> Result<Vec<HistogramPoint>, String> {
    let first_end = item
        .find("}}")
        .map(|i| i + 2)
        .ok_or_else(|| format!("unterminated histogram {item:?}"))?;
    let base = parse(&item[..first_end])?;
    let tail = &item[first_end..];
    if tail.is_empty() {
        return Ok(vec![base]);
    }
    let repeat = |t: &str| -> Result<usize, String> {
        t.strip_prefix('x')
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| format!("invalid repetition {t:?} in {item:?}"))
    };
    if let Some(sign) = tail.chars().next().filter(|c| *c == '+' || *c == '-') {
        let rest = &tail[1..];
        let inc_end = rest
            .find("}}")
            .map(|i| i + 2)
            .ok_or_else(|| format!("unterminated histogram {item:?}"))?;
        let inc = parse(&rest[..inc_end])?;
        let n = repeat(&rest[inc_end..])?;
        let mut out = Vec::with_capacity(n + 1);
        let mut cur = base.h;
        out.push(HistogramPoint {
            h: cur.clone(),
            hint_given: inc.hint_given,
        });
        for _ in 0..n {
            cur = combine(&cur, &inc.h, sign == '-')?;
            out.push(HistogramPoint {
                h: cur.clone(),
                hint_given: inc.hint_given,
            });
        }
        return Ok(out);
    }
    let n = repeat(tail)?;
    Ok(vec![base; n + 1])
}

/// A number as the series notation writes it: sign, `_` separators, Inf/NaN in any case.
fn number(s: &str) -> Option<f64> {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let neg = s.starts_with('-');
    let lower = body.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "infinity" => f64::INFINITY,
        "nan" => f64::NAN,
        _ if body.starts_with(|c: char| c.is_ascii_digit() || c == '.') => {
            body.replace('_', "").parse::<f64>().ok()?
        }
        _ => return None,
    };
    Some(if neg { -v } else { v })
}

fn integer(s: &str) -> Option<i32> {
    s.parse::<i32>().ok()
}

/// Parses one literal `{{…}}`.
pub fn parse(lit: &str) -> Result<HistogramPoint, String> {
    let body = lit
        .strip_prefix("{{")
        .and_then(|b| b.strip_suffix("}}"))
        .ok_or_else(|| format!("invalid histogram {lit:?}"))?;
    let bad = |what: &str| format!("invalid {what} in histogram {lit:?}");
    let mut h = FloatHistogram::default();
    let mut hint_given = false;
    let mut seen: Vec<String> = Vec::new();
    let (mut buckets, mut n_buckets) = (Vec::new(), Vec::new());
    let (mut offset, mut n_offset) = (0i32, 0i32);
    let mut rest = body.trim_start();
    while !rest.is_empty() {
        let colon = rest.find(':').ok_or_else(|| bad("item"))?;
        let key = rest[..colon].to_ascii_lowercase();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(bad("key"));
        }
        if seen.contains(&key) {
            return Err(format!("duplicate key {key:?} in histogram {lit:?}"));
        }
        rest = rest[colon + 1..].trim_start();
        let value;
        let bracketed = rest.starts_with('[');
        if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').ok_or_else(|| bad("list"))?;
            value = &r[..close];
            rest = &r[close + 1..];
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            value = &rest[..end];
            rest = &rest[end..];
        }
        let is_list = matches!(key.as_str(), "buckets" | "n_buckets" | "custom_values");
        let list = || -> Result<Vec<f64>, String> {
            let items: Vec<&str> = value.split_whitespace().collect();
            if items.is_empty() {
                return Err(bad(&format!("empty list for {key}")));
            }
            items
                .iter()
                .map(|v| number(v).ok_or_else(|| bad(&format!("number {v:?}"))))
                .collect()
        };
        let num = || number(value).ok_or_else(|| bad(&key));
        let int = || integer(value).ok_or_else(|| bad(&key));
        match key.as_str() {
            _ if is_list != bracketed || value.contains('[') => return Err(bad(&key)),
            "schema" => h.schema = int()?,
            "sum" => h.sum = num()?,
            "count" => h.count = num()?,
            "z_bucket" => h.zero_count = num()?,
            "z_bucket_w" => {
                if value.starts_with(['-', '+']) {
                    return Err(bad("z_bucket_w"));
                }
                h.zero_threshold = num()?
            }
            "buckets" => buckets = list()?,
            "n_buckets" => n_buckets = list()?,
            "custom_values" => h.custom_values = list()?,
            "offset" => offset = int()?,
            "n_offset" => n_offset = int()?,
            "counter_reset_hint" => {
                h.counter_reset_hint = match value {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    _ => return Err(bad("counter_reset_hint")),
                };
                hint_given = true;
            }
            _ => return Err(format!("unknown key {key:?} in histogram {lit:?}")),
        }
        if !is_list && value.is_empty() {
            return Err(bad(&key));
        }
        seen.push(key);
        rest = rest.trim_start();
    }
    let span = |offset: i32, n: usize| -> Vec<Span> {
        if n == 0 {
            return Vec::new();
        }
        vec![Span {
            offset,
            length: n.min(u32::MAX as usize) as u32,
        }]
    };
    h.positive_spans = span(offset, buckets.len());
    h.positive_buckets = buckets;
    h.negative_spans = span(n_offset, n_buckets.len());
    h.negative_buckets = n_buckets;
    Ok(HistogramPoint { h, hint_given })
}

/// Buckets by absolute index; with `reduce` > 0, indices are mapped to a schema that many
/// steps coarser (bucket i of schema s lies in bucket ((i−1) >> d) + 1 of schema s−d).
fn by_index(spans: &[Span], counts: &[f64], reduce: i32, out: &mut BTreeMap<i32, f64>, sign: f64) {
    let mut next = 0i32;
    let mut k = 0usize;
    for (n, s) in spans.iter().enumerate() {
        next = if n == 0 {
            s.offset
        } else {
            next.wrapping_add(s.offset)
        };
        for _ in 0..s.length {
            let Some(c) = counts.get(k) else { return };
            let idx = if reduce > 0 {
                (next.wrapping_sub(1) >> reduce.min(31)).wrapping_add(1)
            } else {
                next
            };
            *out.entry(idx).or_insert(0.0) += sign * c;
            next = next.wrapping_add(1);
            k += 1;
        }
    }
}

/// Spans and counts from buckets by index (consecutive indices share a span).
fn to_spans(m: &BTreeMap<i32, f64>) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut prev_end: Option<i32> = None;
    for &idx in m.keys() {
        match prev_end {
            Some(e) if e == idx => {
                if let Some(last) = spans.last_mut() {
                    last.length += 1;
                }
            }
            Some(e) => spans.push(Span {
                offset: idx.wrapping_sub(e),
                length: 1,
            }),
            None => spans.push(Span {
                offset: idx,
                length: 1,
            }),
        }
        prev_end = Some(idx.wrapping_add(1));
    }
    (spans, m.values().copied().collect())
}

/// `cur + inc` (or `cur − inc`) as the expansion builds it.
fn combine(
    cur: &FloatHistogram,
    inc: &FloatHistogram,
    subtract: bool,
) -> Result<FloatHistogram, String> {
    let (cc, ic) = (cur.uses_custom_buckets(), inc.uses_custom_buckets());
    if cc != ic {
        return Err("cannot combine histograms with exponential and custom buckets".into());
    }
    if cur.schema > inc.schema {
        return Err(format!(
            "error combining histograms: cannot merge from schema {} to {}",
            inc.schema, cur.schema
        ));
    }
    if cc && cur.custom_values != inc.custom_values {
        return Err("cannot combine histograms with different custom bounds".into());
    }
    if cur.zero_threshold != inc.zero_threshold {
        return Err(format!(
            "cannot combine histograms with zero thresholds {} and {}",
            cur.zero_threshold, inc.zero_threshold
        ));
    }
    let sign = if subtract { -1.0 } else { 1.0 };
    let reduce = if cc { 0 } else { inc.schema - cur.schema };
    let side = |cs: &[Span], cb: &[f64], is: &[Span], ib: &[f64]| {
        let mut m = BTreeMap::new();
        by_index(cs, cb, 0, &mut m, 1.0);
        by_index(is, ib, reduce, &mut m, sign);
        to_spans(&m)
    };
    let (positive_spans, positive_buckets) = side(
        &cur.positive_spans,
        &cur.positive_buckets,
        &inc.positive_spans,
        &inc.positive_buckets,
    );
    let (negative_spans, negative_buckets) = side(
        &cur.negative_spans,
        &cur.negative_buckets,
        &inc.negative_spans,
        &inc.negative_buckets,
    );
    use CounterResetHint as H;
    let counter_reset_hint = match (cur.counter_reset_hint, inc.counter_reset_hint) {
        (a, b) if a == b => a,
        (H::Gauge, _) | (_, H::Gauge) => H::Gauge,
        _ => H::Unknown,
    };
    Ok(FloatHistogram {
        counter_reset_hint,
        schema: cur.schema,
        zero_threshold: cur.zero_threshold,
        zero_count: cur.zero_count + sign * inc.zero_count,
        count: cur.count + sign * inc.count,
        sum: cur.sum + sign * inc.sum,
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: if cur.schema == CUSTOM_BUCKETS_SCHEMA {
            cur.custom_values.clone()
        } else {
            Vec::new()
        },
    })
}

#[cfg(test)]
#[path = "histogram_literal_tests.rs"]
mod tests;
