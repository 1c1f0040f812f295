//! Pushes in the protobuf format: the body read with `textparse::protobuf` into metric
//! families (counters, gauges, summaries and classic histograms as float series; native
//! histograms kept whole, checked with Prometheus's validation rules), under the same rules
//! as text pushes (no timestamps, labels merged with the grouping key, no duplicates); and
//! the form a native histogram is kept in `pushgateway.json` (floats by their bits, so NaN
//! and stale sums survive JSON). Uses `model` and `textparse`.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{pushed_labels, Pushed};
use crate::model::{
    format_go_g, CounterResetHint, FloatHistogram, Histogram, HistogramValue, LabelLimits, Span,
};
use crate::textparse::protobuf::{NativeHistogram, ProtoEntry, ProtoParser};

/// A native histogram as kept on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "lowercase")]
pub(super) enum StoredHistogram {
    Int {
        hint: u8,
        schema: i32,
        zero_threshold: u64,
        zero_count: u64,
        count: u64,
        sum: u64,
        positive_spans: Vec<(i32, u32)>,
        negative_spans: Vec<(i32, u32)>,
        positive: Vec<i64>,
        negative: Vec<i64>,
        #[serde(default)]
        custom: Vec<u64>,
    },
    Float {
        hint: u8,
        schema: i32,
        zero_threshold: u64,
        zero_count: u64,
        count: u64,
        sum: u64,
        positive_spans: Vec<(i32, u32)>,
        negative_spans: Vec<(i32, u32)>,
        positive: Vec<u64>,
        negative: Vec<u64>,
        #[serde(default)]
        custom: Vec<u64>,
    },
}

fn hint_code(h: CounterResetHint) -> u8 {
    match h {
        CounterResetHint::Unknown => 0,
        CounterResetHint::CounterReset => 1,
        CounterResetHint::NotCounterReset => 2,
        CounterResetHint::Gauge => 3,
    }
}

fn hint_of(code: u8) -> CounterResetHint {
    match code {
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => CounterResetHint::Unknown,
    }
}

fn pairs(spans: &[Span]) -> Vec<(i32, u32)> {
    spans.iter().map(|s| (s.offset, s.length)).collect()
}

fn spans(pairs: &[(i32, u32)]) -> Vec<Span> {
    pairs
        .iter()
        .map(|&(offset, length)| Span { offset, length })
        .collect()
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn floats(v: &[u64]) -> Vec<f64> {
    v.iter().map(|x| f64::from_bits(*x)).collect()
}

impl StoredHistogram {
    pub(super) fn of(h: &HistogramValue) -> Self {
        match h {
            HistogramValue::Int(h) => StoredHistogram::Int {
                hint: hint_code(h.counter_reset_hint),
                schema: h.schema,
                zero_threshold: h.zero_threshold.to_bits(),
                zero_count: h.zero_count,
                count: h.count,
                sum: h.sum.to_bits(),
                positive_spans: pairs(&h.positive_spans),
                negative_spans: pairs(&h.negative_spans),
                positive: h.positive_buckets.clone(),
                negative: h.negative_buckets.clone(),
                custom: bits(&h.custom_values),
            },
            HistogramValue::Float(h) => StoredHistogram::Float {
                hint: hint_code(h.counter_reset_hint),
                schema: h.schema,
                zero_threshold: h.zero_threshold.to_bits(),
                zero_count: h.zero_count.to_bits(),
                count: h.count.to_bits(),
                sum: h.sum.to_bits(),
                positive_spans: pairs(&h.positive_spans),
                negative_spans: pairs(&h.negative_spans),
                positive: bits(&h.positive_buckets),
                negative: bits(&h.negative_buckets),
                custom: bits(&h.custom_values),
            },
        }
    }

    pub(super) fn value(&self) -> HistogramValue {
        match self {
            StoredHistogram::Int {
                hint,
                schema,
                zero_threshold,
                zero_count,
                count,
                sum,
                positive_spans,
                negative_spans,
                positive,
                negative,
                custom,
            } => HistogramValue::Int(Histogram {
                counter_reset_hint: hint_of(*hint),
                schema: *schema,
                zero_threshold: f64::from_bits(*zero_threshold),
                zero_count: *zero_count,
                count: *count,
                sum: f64::from_bits(*sum),
                positive_spans: spans(positive_spans),
                negative_spans: spans(negative_spans),
                positive_buckets: positive.clone(),
                negative_buckets: negative.clone(),
                custom_values: floats(custom),
            }),
            StoredHistogram::Float {
                hint,
                schema,
                zero_threshold,
                zero_count,
                count,
                sum,
                positive_spans,
                negative_spans,
                positive,
                negative,
                custom,
            } => HistogramValue::Float(FloatHistogram {
                counter_reset_hint: hint_of(*hint),
                schema: *schema,
                zero_threshold: f64::from_bits(*zero_threshold),
                zero_count: f64::from_bits(*zero_count),
                count: f64::from_bits(*count),
                sum: f64::from_bits(*sum),
                positive_spans: spans(positive_spans),
                negative_spans: spans(negative_spans),
                positive_buckets: floats(positive),
                negative_buckets: floats(negative),
                custom_values: floats(custom),
            }),
        }
    }
}

/// A protobuf push's metric families (by family name), with the grouping labels added.
pub(super) fn parse(
    key: &[(String, String)],
    body: &[u8],
    limits: &LabelLimits,
) -> Result<BTreeMap<String, Vec<Pushed>>, String> {
    let mut families: BTreeMap<String, Vec<Pushed>> = BTreeMap::new();
    let mut family = String::new();
    let mut seen = HashSet::new();
    for e in ProtoParser::new(body, false) {
        let (labels, timestamp, pushed) =
            match e.map_err(|e| format!("invalid protobuf body: {e}"))? {
                ProtoEntry::Metadata { metric, .. } => {
                    family = metric;
                    continue;
                }
                ProtoEntry::Float(f) => {
                    let labels = pushed_labels(key, &f.labels, limits)?;
                    let value = format_go_g(f.value);
                    (labels, f.timestamp, (value, None))
                }
                ProtoEntry::Histogram(h) => {
                    let labels = pushed_labels(key, &h.labels, limits)?;
                    let value = match h.histogram {
                        NativeHistogram::Int(i) => HistogramValue::Int(i),
                        NativeHistogram::Float(f) => HistogramValue::Float(f),
                    };
                    if let Err(e) = value.validate() {
                        return Err(format!("invalid native histogram {}: {e}", show(&labels)));
                    }
                    (
                        labels,
                        h.timestamp,
                        (String::new(), Some(StoredHistogram::of(&value))),
                    )
                }
            };
        if timestamp.is_some() {
            return Err(format!(
                "pushed metrics must not have timestamps: {}",
                show(&labels)
            ));
        }
        if !seen.insert(labels.clone()) {
            return Err(format!("duplicate series {} in the push", show(&labels)));
        }
        families.entry(family.clone()).or_default().push(Pushed {
            labels,
            value: pushed.0,
            histogram: pushed.1,
        });
    }
    Ok(families)
}

/// Labels (with `__name__`) as `name{a="1"}`.
fn show(labels: &[(String, String)]) -> String {
    let name = labels
        .iter()
        .find(|l| l.0 == "__name__")
        .map_or("", |l| l.1.as_str());
    let rest: Vec<String> = labels
        .iter()
        .filter(|l| l.0 != "__name__")
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    format!("{name}{{{}}}", rest.join(","))
}

#[cfg(test)]
mod tests;
