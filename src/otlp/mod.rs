//! OTLP/HTTP metrics receiver (`POST /api/v1/otlp/v1/metrics`): `ExportMetricsServiceRequest`
//! as protobuf (read with `remote::proto`'s wire reader) or JSON, turned into samples as
//! Prometheus's OTLP endpoint does with its default translation (underscore escaping with
//! suffixes):
//!
//! - gauges as they are; monotonic cumulative sums as counters named `..._total`; other
//!   cumulative sums as gauges; histograms as `_bucket{le}`, `_sum`, `_count`; summaries as
//!   `{quantile}`, `_sum`, `_count`. Delta temporality is refused with an error naming the
//!   metric. Points flagged "no recorded value" become stale markers.
//! - names: characters outside `[a-zA-Z0-9_:]` become `_`, the unit is added as a suffix
//!   (`s` → `_seconds`, `By` → `_bytes`, `By/s` → `_bytes_per_second`, `{annotations}` dropped),
//!   `_ratio` for gauges with unit `1`; label names likewise, with `key_` before a leading digit.
//! - resource attributes: `service.namespace/service.name` → `job`, `service.instance.id` →
//!   `instance`; the rest go on a `target_info` series per resource.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{stale_nan, Sample};
use crate::remote::proto::{ProtoError, Reader as R};
use crate::storage::{AppendStats, Appender, SeriesInput, StorageError};

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// 400
    #[error("{0}")]
    Bad(String),
    /// 500
    #[error("{0}")]
    Storage(#[from] StorageError),
}

/// An attribute value as text (Prometheus stringifies non-string values).
type Attrs = Vec<(String, String)>;

#[derive(Debug, Clone, Default)]
struct Point {
    attrs: Attrs,
    t_ns: u64,
    value: f64,
    no_value: bool,
    count: f64,
    sum: Option<f64>,
    buckets: Vec<f64>,
    bounds: Vec<f64>,
    quantiles: Vec<(f64, f64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Sum { monotonic: bool, temporality: u64 },
    Histogram { temporality: u64 },
    Summary,
    Other,
}

#[derive(Debug, Clone)]
struct Metric {
    name: String,
    description: String,
    unit: String,
    kind: Kind,
    points: Vec<Point>,
}

#[derive(Debug, Clone, Default)]
struct Resource {
    attrs: Attrs,
    metrics: Vec<Metric>,
}

// ---------------------------------------------------------------------------------------------
// Protobuf

// The remote-write decoder's wire-format reader, with OTLP's error.
impl From<ProtoError> for OtlpError {
    fn from(e: ProtoError) -> Self {
        perr(e.0)
    }
}

fn perr(m: impl Into<String>) -> OtlpError {
    OtlpError::Bad(format!("invalid OTLP protobuf: {}", m.into()))
}

fn string(r: &mut R<'_>) -> Result<String, OtlpError> {
    String::from_utf8(r.bytes()?.to_vec()).map_err(|_| perr("invalid UTF-8"))
}

fn any_value(b: &[u8]) -> Result<String, OtlpError> {
    let mut r = R::new(b);
    let mut out = String::new();
    while !r.done() {
        match r.tag()? {
            (1, 2) => out = string(&mut r)?,
            (2, 0) => out = (r.varint()? != 0).to_string(),
            (3, 0) => out = (r.varint()? as i64).to_string(),
            (4, 1) => out = crate::model::format_go_g(f64::from_bits(r.fixed64()?)),
            (_, w) => r.skip(w)?,
        }
    }
    Ok(out)
}

fn key_value(b: &[u8]) -> Result<(String, String), OtlpError> {
    let mut r = R::new(b);
    let (mut k, mut v) = (String::new(), String::new());
    while !r.done() {
        match r.tag()? {
            (1, 2) => k = string(&mut r)?,
            (2, 2) => v = any_value(r.bytes()?)?,
            (_, w) => r.skip(w)?,
        }
    }
    Ok((k, v))
}

/// Packed (or single) fixed64 values, as raw bits.
fn packed_u64(r: &mut R<'_>, w: u8, out: &mut Vec<u64>) -> Result<(), OtlpError> {
    match w {
        2 => {
            for c in r.bytes()?.chunks(8) {
                out.push(u64::from_le_bytes(
                    c.try_into().map_err(|_| perr("packed fixed64"))?,
                ));
            }
        }
        1 => out.push(r.fixed64()?),
        _ => return Err(perr("packed fixed64 with a bad wire type")),
    }
    Ok(())
}

/// NumberDataPoint: attributes 7, time 3, as_double 4, as_int 6, flags 8.
fn number_point(b: &[u8]) -> Result<Point, OtlpError> {
    let mut r = R::new(b);
    let mut p = Point::default();
    while !r.done() {
        match r.tag()? {
            (7, 2) => p.attrs.push(key_value(r.bytes()?)?),
            (3, 1) => p.t_ns = r.fixed64()?,
            (4, 1) => p.value = f64::from_bits(r.fixed64()?),
            (6, 1) => p.value = r.fixed64()? as i64 as f64,
            (8, 0) => p.no_value = r.varint()? & 1 == 1,
            (_, w) => r.skip(w)?,
        }
    }
    Ok(p)
}

/// HistogramDataPoint: attributes 9, time 3, count 4, sum 5, bucket_counts 6,
/// explicit_bounds 7, flags 10.
fn histogram_point(b: &[u8]) -> Result<Point, OtlpError> {
    let mut r = R::new(b);
    let mut p = Point::default();
    let (mut counts, mut bounds) = (Vec::new(), Vec::new());
    while !r.done() {
        match r.tag()? {
            (9, 2) => p.attrs.push(key_value(r.bytes()?)?),
            (3, 1) => p.t_ns = r.fixed64()?,
            (4, 1) => p.count = r.fixed64()? as f64,
            (5, 1) => p.sum = Some(f64::from_bits(r.fixed64()?)),
            (6, w) => packed_u64(&mut r, w, &mut counts)?,
            (7, w) => packed_u64(&mut r, w, &mut bounds)?,
            (10, 0) => p.no_value = r.varint()? & 1 == 1,
            (_, w) => r.skip(w)?,
        }
    }
    p.buckets = counts.into_iter().map(|c| c as f64).collect();
    p.bounds = bounds.into_iter().map(f64::from_bits).collect();
    Ok(p)
}

/// SummaryDataPoint: attributes 7, time 3, count 4, sum 5, quantile_values 6, flags 8.
fn summary_point(b: &[u8]) -> Result<Point, OtlpError> {
    let mut r = R::new(b);
    let mut p = Point::default();
    while !r.done() {
        match r.tag()? {
            (7, 2) => p.attrs.push(key_value(r.bytes()?)?),
            (3, 1) => p.t_ns = r.fixed64()?,
            (4, 1) => p.count = r.fixed64()? as f64,
            (5, 1) => p.sum = Some(f64::from_bits(r.fixed64()?)),
            (6, 2) => {
                let mut q = R::new(r.bytes()?);
                let (mut qq, mut qv) = (0.0, 0.0);
                while !q.done() {
                    match q.tag()? {
                        (1, 1) => qq = f64::from_bits(q.fixed64()?),
                        (2, 1) => qv = f64::from_bits(q.fixed64()?),
                        (_, w) => q.skip(w)?,
                    }
                }
                p.quantiles.push((qq, qv));
            }
            (8, 0) => p.no_value = r.varint()? & 1 == 1,
            (_, w) => r.skip(w)?,
        }
    }
    Ok(p)
}

fn metric(b: &[u8]) -> Result<Metric, OtlpError> {
    let mut r = R::new(b);
    let mut m = Metric {
        name: String::new(),
        description: String::new(),
        unit: String::new(),
        kind: Kind::Other,
        points: Vec::new(),
    };
    while !r.done() {
        match r.tag()? {
            (1, 2) => m.name = string(&mut r)?,
            (2, 2) => m.description = string(&mut r)?,
            (3, 2) => m.unit = string(&mut r)?,
            (f @ (5 | 7 | 9 | 11), 2) => {
                let mut d = R::new(r.bytes()?);
                let (mut temporality, mut monotonic) = (0, false);
                let point = match f {
                    9 => histogram_point,
                    11 => summary_point,
                    _ => number_point,
                };
                let mut pts = Vec::new();
                while !d.done() {
                    match d.tag()? {
                        (1, 2) => pts.push(point(d.bytes()?)?),
                        (2, 0) => temporality = d.varint()?,
                        (3, 0) => monotonic = d.varint()? != 0,
                        (_, w) => d.skip(w)?,
                    }
                }
                m.points = pts;
                m.kind = match f {
                    5 => Kind::Gauge,
                    7 => Kind::Sum {
                        monotonic,
                        temporality,
                    },
                    9 => Kind::Histogram { temporality },
                    _ => Kind::Summary,
                };
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(m)
}

fn decode_proto(b: &[u8]) -> Result<Vec<Resource>, OtlpError> {
    let mut r = R::new(b);
    let mut out = Vec::new();
    while !r.done() {
        match r.tag()? {
            (1, 2) => {
                let mut rm = R::new(r.bytes()?);
                let mut res = Resource::default();
                while !rm.done() {
                    match rm.tag()? {
                        (1, 2) => {
                            let mut rr = R::new(rm.bytes()?);
                            while !rr.done() {
                                match rr.tag()? {
                                    (1, 2) => res.attrs.push(key_value(rr.bytes()?)?),
                                    (_, w) => rr.skip(w)?,
                                }
                            }
                        }
                        (2, 2) => {
                            let mut sm = R::new(rm.bytes()?);
                            while !sm.done() {
                                match sm.tag()? {
                                    (2, 2) => res.metrics.push(metric(sm.bytes()?)?),
                                    (_, w) => sm.skip(w)?,
                                }
                            }
                        }
                        (_, w) => rm.skip(w)?,
                    }
                }
                out.push(res);
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// JSON (OTLP/JSON: lowerCamelCase fields, 64-bit integers as strings)

/// A refusal naming where in the request the bad value is and what it is.
fn jbad(path: &str, want: &str, v: &Value) -> OtlpError {
    let mut got = v.to_string();
    if got.len() > 40 {
        let mut end = 40;
        while !got.is_char_boundary(end) {
            end -= 1;
        }
        got.truncate(end);
        got.push_str("...");
    }
    OtlpError::Bad(format!(
        "invalid OTLP JSON: {path} must be {want}, got {got}"
    ))
}

/// A repeated field: missing or null is empty.
fn jarr<'a>(v: &'a Value, path: &str) -> Result<&'a [Value], OtlpError> {
    match v {
        Value::Null => Ok(&[]),
        Value::Array(a) => Ok(a),
        v => Err(jbad(path, "an array", v)),
    }
}

/// A message field: missing or null is absent.
fn jobj<'a>(v: &'a Value, path: &str) -> Result<Option<&'a Value>, OtlpError> {
    match v {
        Value::Null => Ok(None),
        Value::Object(_) => Ok(Some(v)),
        v => Err(jbad(path, "an object", v)),
    }
}

fn jstr<'a>(v: &'a Value, path: &str) -> Result<&'a str, OtlpError> {
    match v {
        Value::Null => Ok(""),
        Value::String(s) => Ok(s),
        v => Err(jbad(path, "a string", v)),
    }
}

fn jbool(v: &Value, path: &str) -> Result<bool, OtlpError> {
    match v {
        Value::Null => Ok(false),
        Value::Bool(b) => Ok(*b),
        v => Err(jbad(path, "true or false", v)),
    }
}

/// A double: a number, or a string as proto3 JSON allows ("NaN", "Infinity", "1.5").
fn jf64(v: &Value, path: &str) -> Result<Option<f64>, OtlpError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| jbad(path, "a number", v)),
        Value::String(s) => match s.as_str() {
            "NaN" => Ok(Some(f64::NAN)),
            "Infinity" => Ok(Some(f64::INFINITY)),
            "-Infinity" => Ok(Some(f64::NEG_INFINITY)),
            s => s
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Some)
                .ok_or_else(|| jbad(path, "a number", v)),
        },
        v => Err(jbad(path, "a number", v)),
    }
}

/// A 64-bit integer: a number or a decimal string (OTLP/JSON writes them as strings).
fn ji64(v: &Value, path: &str) -> Result<Option<i64>, OtlpError> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| jbad(path, "an integer", v)),
        Value::String(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| jbad(path, "an integer", v)),
        v => Err(jbad(path, "an integer", v)),
    }
}

/// An unsigned 64-bit integer, as `ji64`.
fn ju64(v: &Value, path: &str) -> Result<u64, OtlpError> {
    match v {
        Value::Null => Ok(0),
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| jbad(path, "an unsigned integer", v)),
        Value::String(s) => s
            .parse::<u64>()
            .map_err(|_| jbad(path, "an unsigned integer", v)),
        v => Err(jbad(path, "an unsigned integer", v)),
    }
}

fn jattrs(v: &Value, path: &str) -> Result<Attrs, OtlpError> {
    let mut out = Vec::new();
    for (i, kv) in jarr(v, path)?.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if jobj(kv, &p)?.is_none() {
            continue;
        }
        let key = jstr(&kv["key"], &format!("{p}.key"))?.to_string();
        let vp = format!("{p}.value");
        let val = jobj(&kv["value"], &vp)?.unwrap_or(&Value::Null);
        let s = if !val["stringValue"].is_null() {
            jstr(&val["stringValue"], &format!("{vp}.stringValue"))?.to_string()
        } else if !val["boolValue"].is_null() {
            jbool(&val["boolValue"], &format!("{vp}.boolValue"))?.to_string()
        } else if !val["intValue"].is_null() {
            ji64(&val["intValue"], &format!("{vp}.intValue"))?
                .unwrap_or(0)
                .to_string()
        } else if !val["doubleValue"].is_null() {
            crate::model::format_go_g(
                jf64(&val["doubleValue"], &format!("{vp}.doubleValue"))?.unwrap_or(0.0),
            )
        } else {
            String::new()
        };
        out.push((key, s));
    }
    Ok(out)
}

/// An enum: its name or its number.
fn jtemporality(v: &Value, path: &str) -> Result<u64, OtlpError> {
    match v {
        Value::String(s) if s.ends_with("UNSPECIFIED") => Ok(0),
        Value::String(s) if s.ends_with("DELTA") => Ok(1),
        Value::String(s) if s.ends_with("CUMULATIVE") => Ok(2),
        Value::String(_) => Err(jbad(path, "an aggregation temporality", v)),
        v => ju64(v, path),
    }
}

fn jpoint(p: &Value, path: &str) -> Result<Point, OtlpError> {
    let f = |name: &str| format!("{path}.{name}");
    let mut buckets = Vec::new();
    for (i, b) in jarr(&p["bucketCounts"], &f("bucketCounts"))?
        .iter()
        .enumerate()
    {
        buckets.push(ju64(b, &format!("{path}.bucketCounts[{i}]"))? as f64);
    }
    let mut bounds = Vec::new();
    for (i, b) in jarr(&p["explicitBounds"], &f("explicitBounds"))?
        .iter()
        .enumerate()
    {
        bounds.push(jf64(b, &format!("{path}.explicitBounds[{i}]"))?.unwrap_or(0.0));
    }
    let mut quantiles = Vec::new();
    for (i, q) in jarr(&p["quantileValues"], &f("quantileValues"))?
        .iter()
        .enumerate()
    {
        let qp = format!("{path}.quantileValues[{i}]");
        quantiles.push((
            jf64(&q["quantile"], &format!("{qp}.quantile"))?.unwrap_or(0.0),
            jf64(&q["value"], &format!("{qp}.value"))?.unwrap_or(0.0),
        ));
    }
    let value = match ji64(&p["asInt"], &f("asInt"))? {
        Some(i) => i as f64,
        None => jf64(&p["asDouble"], &f("asDouble"))?.unwrap_or(0.0),
    };
    Ok(Point {
        attrs: jattrs(&p["attributes"], &f("attributes"))?,
        t_ns: ju64(&p["timeUnixNano"], &f("timeUnixNano"))?,
        value,
        no_value: ju64(&p["flags"], &f("flags"))? & 1 == 1,
        count: ju64(&p["count"], &f("count"))? as f64,
        sum: jf64(&p["sum"], &f("sum"))?,
        buckets,
        bounds,
        quantiles,
    })
}

fn jmetric(m: &Value, path: &str) -> Result<Metric, OtlpError> {
    let f = |name: &str| format!("{path}.{name}");
    let (kind, data) = if let Some(g) = jobj(&m["gauge"], &f("gauge"))? {
        (Kind::Gauge, Some((g, f("gauge"))))
    } else if let Some(s) = jobj(&m["sum"], &f("sum"))? {
        (
            Kind::Sum {
                monotonic: jbool(&s["isMonotonic"], &f("sum.isMonotonic"))?,
                temporality: jtemporality(
                    &s["aggregationTemporality"],
                    &f("sum.aggregationTemporality"),
                )?,
            },
            Some((s, f("sum"))),
        )
    } else if let Some(h) = jobj(&m["histogram"], &f("histogram"))? {
        (
            Kind::Histogram {
                temporality: jtemporality(
                    &h["aggregationTemporality"],
                    &f("histogram.aggregationTemporality"),
                )?,
            },
            Some((h, f("histogram"))),
        )
    } else if let Some(s) = jobj(&m["summary"], &f("summary"))? {
        (Kind::Summary, Some((s, f("summary"))))
    } else {
        (Kind::Other, None)
    };
    let mut points = Vec::new();
    if let Some((data, dp)) = data {
        let dp = format!("{dp}.dataPoints");
        for (i, p) in jarr(&data["dataPoints"], &dp)?.iter().enumerate() {
            points.push(jpoint(p, &format!("{dp}[{i}]"))?);
        }
    }
    Ok(Metric {
        name: jstr(&m["name"], &f("name"))?.to_string(),
        description: jstr(&m["description"], &f("description"))?.to_string(),
        unit: jstr(&m["unit"], &f("unit"))?.to_string(),
        kind,
        points,
    })
}

/// Decodes OTLP/JSON strictly: a field of the wrong type is refused with its path (for
/// example `resourceMetrics[0].scopeMetrics[0].metrics[1].sum.dataPoints[0].asDouble`);
/// unknown fields are ignored, as the specification asks.
fn decode_json(b: &[u8]) -> Result<Vec<Resource>, OtlpError> {
    let v: Value =
        serde_json::from_slice(b).map_err(|e| OtlpError::Bad(format!("invalid OTLP JSON: {e}")))?;
    if !v.is_object() {
        return Err(jbad("the request", "an object", &v));
    }
    let mut out = Vec::new();
    for (i, rm) in jarr(&v["resourceMetrics"], "resourceMetrics")?
        .iter()
        .enumerate()
    {
        let rp = format!("resourceMetrics[{i}]");
        let attrs = match jobj(&rm["resource"], &format!("{rp}.resource"))? {
            Some(r) => jattrs(&r["attributes"], &format!("{rp}.resource.attributes"))?,
            None => Vec::new(),
        };
        let mut res = Resource {
            attrs,
            metrics: Vec::new(),
        };
        for (j, sm) in jarr(&rm["scopeMetrics"], &format!("{rp}.scopeMetrics"))?
            .iter()
            .enumerate()
        {
            let sp = format!("{rp}.scopeMetrics[{j}].metrics");
            for (k, m) in jarr(&sm["metrics"], &sp)?.iter().enumerate() {
                res.metrics.push(jmetric(m, &format!("{sp}[{k}]"))?);
            }
        }
        out.push(res);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Translation

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

fn le(b: f64) -> String {
    crate::model::format_go_g(b)
}

/// Decodes and stores one request. `json` picks the JSON encoding.
/// Metadata of the metrics stored: (family name, type, description, unit).
pub type MetadataList = Vec<(String, crate::textparse::Metadata)>;

/// Decodes, translates and stores one request; returns what was stored and the metrics'
/// metadata.
pub fn receive(
    appender: &dyn Appender,
    body: &[u8],
    json: bool,
) -> Result<(AppendStats, MetadataList), OtlpError> {
    receive_limited(appender, body, json, &crate::model::LabelLimits::default())
}

/// [`receive`] with these label limits: a series over them refuses the whole request (400,
/// naming it; nothing stored).
pub fn receive_limited(
    appender: &dyn Appender,
    body: &[u8],
    json: bool,
    limits: &crate::model::LabelLimits,
) -> Result<(AppendStats, MetadataList), OtlpError> {
    use crate::textparse::{Metadata, MetricType};
    let mut metadata: MetadataList = Vec::new();
    let resources = if json {
        decode_json(body)?
    } else {
        decode_proto(body)?
    };
    let mut series: Vec<(BTreeMap<String, String>, Sample)> = Vec::new();
    for res in &resources {
        let get = |k: &str| {
            res.attrs
                .iter()
                .find(|(a, _)| a == k)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let job = match (get("service.namespace"), get("service.name")) {
            (Some(ns), Some(n)) => Some(format!("{ns}/{n}")),
            (None, Some(n)) => Some(n),
            _ => None,
        };
        let instance = get("service.instance.id");
        let mut base: BTreeMap<String, String> = BTreeMap::new();
        if let Some(j) = &job {
            base.insert("job".into(), j.clone());
        }
        if let Some(i) = &instance {
            base.insert("instance".into(), i.clone());
        }
        let mut newest = 0u64;
        for m in &res.metrics {
            let (counter, gauge) = match m.kind {
                Kind::Sum { temporality: 1, .. } | Kind::Histogram { temporality: 1 } => {
                    return Err(OtlpError::Bad(format!(
                        "invalid temporality and type combination for metric {:?}: delta temporality is not supported; export cumulative (e.g. OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative)",
                        m.name
                    )))
                }
                Kind::Sum { monotonic: true, .. } => (true, false),
                Kind::Sum { .. } | Kind::Gauge => (false, true),
                Kind::Histogram { .. } | Kind::Summary => (false, false),
                Kind::Other => continue,
            };
            let name = metric_name(&m.name, &m.unit, counter, gauge);
            let kind = match m.kind {
                Kind::Histogram { .. } => MetricType::Histogram,
                Kind::Summary => MetricType::Summary,
                _ if counter => MetricType::Counter,
                _ => MetricType::Gauge,
            };
            metadata.push((
                name.clone(),
                Metadata {
                    kind,
                    help: m.description.clone(),
                    unit: m.unit.clone(),
                },
            ));
            for p in &m.points {
                newest = newest.max(p.t_ns);
                let t = (p.t_ns / 1_000_000) as i64;
                let mut labels = base.clone();
                for (k, v) in &p.attrs {
                    if !v.is_empty() {
                        labels.insert(label_name(k), v.clone());
                    }
                }
                let val = |v: f64| if p.no_value { stale_nan() } else { v };
                let mut push = |suffix: &str, extra: Option<(&str, String)>, v: f64| {
                    let mut l = labels.clone();
                    l.insert("__name__".into(), format!("{name}{suffix}"));
                    if let Some((k, x)) = extra {
                        l.insert(k.into(), x);
                    }
                    series.push((l, Sample { t, v: val(v) }));
                };
                match m.kind {
                    Kind::Histogram { .. } => {
                        let mut cum = 0.0;
                        for (i, c) in p.buckets.iter().enumerate() {
                            cum += c;
                            let bound = p.bounds.get(i).copied().unwrap_or(f64::INFINITY);
                            push("_bucket", Some(("le", le(bound))), cum);
                        }
                        if p.buckets.len() <= p.bounds.len() {
                            push("_bucket", Some(("le", "+Inf".into())), p.count);
                        }
                        if let Some(s) = p.sum {
                            push("_sum", None, s);
                        }
                        push("_count", None, p.count);
                    }
                    Kind::Summary => {
                        for (q, v) in &p.quantiles {
                            push("", Some(("quantile", le(*q))), *v);
                        }
                        push("_sum", None, p.sum.unwrap_or(0.0));
                        push("_count", None, p.count);
                    }
                    _ => push("", None, p.value),
                }
            }
        }
        // target_info: the resource's other attributes, when it has any and a job or instance.
        let others: Vec<&(String, String)> = res
            .attrs
            .iter()
            .filter(|(k, v)| {
                !v.is_empty()
                    && !matches!(
                        k.as_str(),
                        "service.name" | "service.namespace" | "service.instance.id"
                    )
            })
            .collect();
        if !others.is_empty() && (job.is_some() || instance.is_some()) && newest > 0 {
            let mut l = base.clone();
            for (k, v) in others {
                l.insert(label_name(k), v.clone());
            }
            l.insert("__name__".into(), "target_info".into());
            series.push((
                l,
                Sample {
                    t: (newest / 1_000_000) as i64,
                    v: 1.0,
                },
            ));
        }
    }
    // One append, series grouped.
    let mut grouped: BTreeMap<Vec<(String, String)>, Vec<Sample>> = BTreeMap::new();
    for (l, s) in series {
        grouped.entry(l.into_iter().collect()).or_default().push(s);
    }
    for l in grouped.keys() {
        limits.check(l).map_err(OtlpError::Bad)?;
    }
    let batch: Vec<SeriesInput> = grouped
        .iter()
        .map(|(l, s)| {
            let mut samples = s.clone();
            samples.sort_by_key(|x| x.t);
            SeriesInput {
                labels: l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect(),
                samples,
            }
        })
        .collect();
    metadata.dedup();
    Ok((appender.append(&batch)?, metadata))
}

#[cfg(test)]
mod tests;
