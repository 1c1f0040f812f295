//! A scrape job's native-histogram settings and what they do to a scraped histogram:
//! resolution reduction for `native_histogram_min_bucket_factor` (a largest schema) and
//! `native_histogram_bucket_limit` (one schema less until the buckets fit; past schema −4,
//! or with custom buckets, the scrape fails with Prometheus's "histogram bucket limit
//! exceeded"), and classic histograms turned into native histograms with custom buckets
//! (`convert_classic_histograms_to_nhcb`, schema −53). Uses `config` and `model`.

use std::ops::Add;

use crate::config::ScrapeConfig;
use crate::model::histogram::{
    CUSTOM_BUCKETS_SCHEMA, MAX_EXPONENTIAL_SCHEMA, MIN_EXPONENTIAL_SCHEMA,
};
use crate::model::{FloatHistogram, Histogram, HistogramValue, Span};

/// Prometheus's error when a histogram cannot be brought under the bucket limit.
pub const BUCKET_LIMIT_ERROR: &str = "histogram bucket limit exceeded";

/// The native-histogram settings of one job, resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NativeSettings {
    /// `scrape_native_histograms`.
    pub scrape: bool,
    /// `always_scrape_classic_histograms`.
    pub keep_classic: bool,
    /// `convert_classic_histograms_to_nhcb`.
    pub nhcb: bool,
    /// `native_histogram_bucket_limit` (0: none).
    pub bucket_limit: usize,
    /// The largest schema `native_histogram_min_bucket_factor` allows.
    pub max_schema: i32,
    /// `--enable-feature=created-timestamp-zero-ingestion`: protobuf created timestamps become
    /// zero samples.
    pub ct_zero: bool,
}

impl NativeSettings {
    pub fn of(job: &ScrapeConfig) -> Self {
        NativeSettings {
            scrape: job.native_histograms(),
            keep_classic: job.always_scrape_classic_histograms == Some(true),
            nhcb: job.convert_classic_histograms_to_nhcb == Some(true),
            bucket_limit: usize::try_from(job.native_histogram_bucket_limit).unwrap_or(usize::MAX),
            max_schema: pick_schema(job.native_histogram_min_bucket_factor),
            ct_zero: job.created_timestamp_zero_ingestion,
        }
    }

    /// Brings a histogram within the largest schema, then within the bucket limit.
    pub fn limit(&self, h: &mut HistogramValue) -> Result<(), &'static str> {
        let schema = h.schema();
        if is_exponential(schema) && schema > self.max_schema {
            reduce_resolution(h, self.max_schema);
        }
        if self.bucket_limit == 0 {
            return Ok(());
        }
        while bucket_count(h) > self.bucket_limit {
            let schema = h.schema();
            if !is_exponential(schema) || schema <= MIN_EXPONENTIAL_SCHEMA {
                return Err(BUCKET_LIMIT_ERROR);
            }
            reduce_resolution(h, schema - 1);
        }
        Ok(())
    }
}

fn is_exponential(schema: i32) -> bool {
    (MIN_EXPONENTIAL_SCHEMA..=MAX_EXPONENTIAL_SCHEMA).contains(&schema)
}

/// The largest schema whose bucket growth factor (2^2^−schema) is at least `factor`
/// (Prometheus's choice: factors up to 1 mean the finest, schema 8).
pub fn pick_schema(factor: f64) -> i32 {
    let factor = if factor <= 1.0 { 1.00271 } else { factor };
    let floor = (-factor.log2().log2()).floor();
    if floor >= MAX_EXPONENTIAL_SCHEMA as f64 {
        MAX_EXPONENTIAL_SCHEMA
    } else if floor <= MIN_EXPONENTIAL_SCHEMA as f64 {
        MIN_EXPONENTIAL_SCHEMA
    } else {
        floor as i32
    }
}

/// Positive and negative buckets together (the zero bucket aside).
pub fn bucket_count(h: &HistogramValue) -> usize {
    match h {
        HistogramValue::Int(h) => h.positive_buckets.len() + h.negative_buckets.len(),
        HistogramValue::Float(h) => h.positive_buckets.len() + h.negative_buckets.len(),
    }
}

/// Each bucket's absolute index with its count.
fn expand<T: Copy>(spans: &[Span], counts: &[T]) -> Vec<(i32, T)> {
    let mut out = Vec::with_capacity(counts.len());
    let mut idx = 0i32;
    let mut it = counts.iter();
    for (n, s) in spans.iter().enumerate() {
        idx = if n == 0 { s.offset } else { idx + s.offset };
        for _ in 0..s.length {
            match it.next() {
                Some(c) => out.push((idx, *c)),
                None => return out,
            }
            idx += 1;
        }
    }
    out
}

/// Spans and counts for ascending absolute indices.
fn collapse<T>(pairs: Vec<(i32, T)>) -> (Vec<Span>, Vec<T>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut counts = Vec::with_capacity(pairs.len());
    let mut prev: Option<i32> = None;
    for (idx, c) in pairs {
        match (prev, spans.last_mut()) {
            (Some(p), Some(s)) if idx == p + 1 => s.length += 1,
            (Some(p), _) => spans.push(Span {
                offset: idx - p - 1,
                length: 1,
            }),
            (None, _) => spans.push(Span {
                offset: idx,
                length: 1,
            }),
        }
        counts.push(c);
        prev = Some(idx);
    }
    (spans, counts)
}

/// Merges buckets of schema `from` into those of the coarser schema `to`: bucket `i` goes to
/// `((i − 1) >> (from − to)) + 1`, as Prometheus maps them.
fn reduce_side<T: Copy + Add<Output = T>>(
    spans: &[Span],
    counts: &[T],
    from: i32,
    to: i32,
) -> (Vec<Span>, Vec<T>) {
    let shift = (from - to) as u32;
    let mut merged: Vec<(i32, T)> = Vec::new();
    for (idx, c) in expand(spans, counts) {
        let t = ((idx - 1) >> shift) + 1;
        match merged.last_mut() {
            Some((last, sum)) if *last == t => *sum = *sum + c,
            _ => merged.push((t, c)),
        }
    }
    collapse(merged)
}

fn absolute(deltas: &[i64]) -> Vec<i64> {
    let mut cur = 0i64;
    deltas
        .iter()
        .map(|d| {
            cur = cur.wrapping_add(*d);
            cur
        })
        .collect()
}

fn deltas(counts: &[i64]) -> Vec<i64> {
    let mut prev = 0i64;
    counts
        .iter()
        .map(|c| {
            let d = c.wrapping_sub(prev);
            prev = *c;
            d
        })
        .collect()
}

/// Lowers an exponential histogram's schema to `to` (no change unless `to` is coarser).
pub fn reduce_resolution(h: &mut HistogramValue, to: i32) {
    let from = h.schema();
    if to >= from || !is_exponential(from) {
        return;
    }
    match h {
        HistogramValue::Int(h) => {
            for (spans, buckets) in [
                (&mut h.positive_spans, &mut h.positive_buckets),
                (&mut h.negative_spans, &mut h.negative_buckets),
            ] {
                let (s, c) = reduce_side(spans, &absolute(buckets), from, to);
                *spans = s;
                *buckets = deltas(&c);
            }
            h.schema = to;
        }
        HistogramValue::Float(h) => {
            for (spans, buckets) in [
                (&mut h.positive_spans, &mut h.positive_buckets),
                (&mut h.negative_spans, &mut h.negative_buckets),
            ] {
                let (s, c) = reduce_side(spans, buckets, from, to);
                *spans = s;
                *buckets = c;
            }
            h.schema = to;
        }
    }
}

/// A classic histogram's series gathered for conversion: its `le` buckets (cumulative),
/// `_count` and `_sum`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Classic {
    pub buckets: Vec<(f64, f64)>,
    pub count: Option<f64>,
    pub sum: Option<f64>,
}

/// A classic histogram as a native histogram with custom buckets: the finite `le` bounds as
/// custom values, the differences of the cumulative counts as bucket counts (the `+Inf`
/// bucket from `_count` when not sent), empty buckets left out; integer counts make an
/// integer histogram, others a float one. Errors name what is wrong.
pub fn classic_to_nhcb(c: &Classic, gauge: bool) -> Result<HistogramValue, String> {
    let mut buckets = c.buckets.clone();
    if buckets.iter().any(|b| b.0.is_nan()) {
        return Err("a bucket has le=\"NaN\"".into());
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    if let Some(w) = buckets.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!("bucket le={} appears twice", w[0].0));
    }
    let inf = buckets.last().filter(|b| b.0 == f64::INFINITY).map(|b| b.1);
    let bounds: Vec<f64> = buckets
        .iter()
        .filter(|b| b.0.is_finite())
        .map(|b| b.0)
        .collect();
    let mut cumulative: Vec<f64> = buckets
        .iter()
        .filter(|b| b.0.is_finite())
        .map(|b| b.1)
        .collect();
    let count = match (c.count, inf) {
        (Some(n), _) => n,
        (None, Some(n)) => n,
        (None, None) => return Err("no _count and no le=\"+Inf\" bucket".into()),
    };
    cumulative.push(inf.unwrap_or(count));
    let mut counts = Vec::with_capacity(cumulative.len());
    let mut prev = 0.0;
    for (i, v) in cumulative.iter().enumerate() {
        let d = v - prev;
        if d < 0.0 {
            let le = bounds.get(i).map_or("+Inf".to_string(), |b| b.to_string());
            return Err(format!(
                "bucket le={le} has a smaller cumulative count ({v}) than the bucket before ({prev})"
            ));
        }
        counts.push(d);
        prev = *v;
    }
    let sum = c.sum.unwrap_or(0.0);
    let hint = if gauge {
        crate::model::CounterResetHint::Gauge
    } else {
        crate::model::CounterResetHint::Unknown
    };
    let nonempty: Vec<(i32, f64)> = counts
        .iter()
        .enumerate()
        .filter(|(_, c)| **c != 0.0)
        .map(|(i, c)| (i as i32, *c))
        .collect();
    let integral = counts
        .iter()
        .chain([&count])
        .all(|v| v.fract() == 0.0 && *v >= 0.0 && *v < 9e15);
    if integral {
        let (spans, abs) = collapse(nonempty.into_iter().map(|(i, c)| (i, c as i64)).collect());
        Ok(HistogramValue::Int(Histogram {
            counter_reset_hint: hint,
            schema: CUSTOM_BUCKETS_SCHEMA,
            count: count as u64,
            sum,
            positive_spans: spans,
            positive_buckets: deltas(&abs),
            custom_values: bounds,
            ..Histogram::default()
        }))
    } else {
        let (spans, abs) = collapse(nonempty);
        Ok(HistogramValue::Float(FloatHistogram {
            counter_reset_hint: hint,
            schema: CUSTOM_BUCKETS_SCHEMA,
            count,
            sum,
            positive_spans: spans,
            positive_buckets: abs,
            custom_values: bounds,
            ..FloatHistogram::default()
        }))
    }
}

#[cfg(test)]
mod tests;
