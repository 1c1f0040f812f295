//! OTLP histogram data points as native histograms, as Prometheus 3's OTLP translator makes
//! them (`translate` calls these for every exponential point, and for explicit-bucket
//! points under `convert_histograms_to_nhcb`):
//!
//! - an `ExponentialHistogramDataPoint` becomes an integer native histogram: scale → schema
//!   (scales above 8 brought down to 8 by merging 2^(scale−8) neighbouring buckets, scales
//!   below −4 refused with Prometheus's message); OTLP bucket index `i` (range
//!   `(base^i, base^(i+1)]`) becomes index `i+1` (Prometheus's `(base^(i−1), base^i]`);
//!   the zero count as it is and Prometheus's zero threshold of 1e-128 (the point's own
//!   `zero_threshold` is ignored, as Prometheus does); min and max ignored.
//! - an explicit-bucket `HistogramDataPoint` (with `convert_histograms_to_nhcb`) becomes a
//!   custom-buckets histogram (schema −53): `custom_values` are the explicit bounds, bucket
//!   `k` is `k` (leading empty buckets skipped), no zero bucket.
//! - buckets laid out as Prometheus does: every non-empty bucket and the last one are
//!   written; a run of at most 2 empty buckets between them is written as zeros, a longer
//!   run starts a new span. Counts are deltas from the previous bucket.
//! - sum absent → 0; a point flagged "no recorded value" is a stale marker (stale NaN sum,
//!   count holding the stale NaN's bits, as Prometheus stores it); a zero count with a
//!   non-zero sum is kept, with Prometheus's warning.
//! - cumulative temporality → counter-reset hint "unknown"; delta → "gauge" when native
//!   delta ingestion is allowed, else refused with Prometheus's message; other
//!   temporalities refused.
//! - every exemplar of the point goes to the histogram's one series.
//!
//! Each result passes `check` (the model's validation: spans against buckets, no negative
//! bucket, count against buckets, custom bounds) or the point is refused, as Prometheus's
//! TSDB would refuse it.
//!
//! One difference from Prometheus 3: when a scale above 8 is merged down and a run of empty
//! merged buckets is followed by a merged bucket made of several OTLP buckets, Prometheus
//! (convertBucketsLayout) writes the first non-empty OTLP count of that group one bucket too
//! early; here every OTLP count lands in the bucket that covers it.
//!
//! Uses `model` (histograms, the stale marker), `storage` (exemplars) and
//! `opentelemetry-proto`.

use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, Exemplar as OtlpExemplar,
    ExponentialHistogramDataPoint, HistogramDataPoint,
};

use crate::model::histogram::{
    CounterResetHint, Histogram, Span, CUSTOM_BUCKETS_SCHEMA, MAX_EXPONENTIAL_SCHEMA,
    MIN_EXPONENTIAL_SCHEMA,
};
use crate::model::{stale_nan, STALE_NAN_BITS};
use crate::storage::Exemplar;

/// The zero threshold Prometheus gives every histogram it makes of an OTLP one.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 1e-128;
/// `AggregationTemporality::Delta`.
const DELTA: i32 = 1;
/// `AggregationTemporality::Cumulative`.
const CUMULATIVE: i32 = 2;
/// `DataPointFlags::NoRecordedValueMask`.
const NO_RECORDED_VALUE: u32 = 1;
/// Runs of at most this many empty buckets between two written ones are written as zeros;
/// longer runs start a new span (client_golang's and Prometheus's rule).
const MAX_WRITTEN_GAP: i64 = 2;

/// Why a data point cannot become a native histogram.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NativeError {
    /// Prometheus's message.
    #[error("cannot convert exponential to native histogram. Scale must be >= {MIN_EXPONENTIAL_SCHEMA}, was {0}")]
    Scale(i32),
    /// Prometheus's message; the caller adds ` for metric "name"`.
    #[error("invalid temporality and type combination")]
    Temporality(i32),
    /// An offset so far out that bucket indexes leave the 32-bit range.
    #[error("bucket offset {0} out of range")]
    Offset(i64),
    /// The result breaks a native-histogram rule (Prometheus's validation message).
    #[error("{0}")]
    Invalid(String),
}

/// A converted data point: the histogram, the exemplars of its series and warnings
/// (Prometheus's annotations: the point is stored all the same).
#[derive(Debug, Clone, PartialEq)]
pub struct NativePoint {
    pub histogram: Histogram,
    pub exemplars: Vec<Exemplar>,
    pub warnings: Vec<String>,
}

/// The counter-reset hint for a temporality; `allow_delta` is native delta ingestion
/// (Prometheus's `otlp-native-delta-ingestion`).
pub fn reset_hint(temporality: i32, allow_delta: bool) -> Result<CounterResetHint, NativeError> {
    match temporality {
        CUMULATIVE => Ok(CounterResetHint::Unknown),
        // Delta samples are not to be compared for resets: the gauge hint, as Prometheus.
        DELTA if allow_delta => Ok(CounterResetHint::Gauge),
        t => Err(NativeError::Temporality(t)),
    }
}

/// An exponential histogram point as a native histogram (see the module doc). `exemplars`
/// converts OTLP exemplars (the translator's conversion).
pub fn exponential_to_native(
    dp: &ExponentialHistogramDataPoint,
    temporality: i32,
    allow_delta: bool,
    exemplars: impl FnOnce(&[OtlpExemplar]) -> Vec<Exemplar>,
) -> Result<NativePoint, NativeError> {
    let hint = reset_hint(temporality, allow_delta)?;
    if dp.scale < MIN_EXPONENTIAL_SCHEMA {
        return Err(NativeError::Scale(dp.scale));
    }
    let (schema, scale_down) = if dp.scale > MAX_EXPONENTIAL_SCHEMA {
        (
            MAX_EXPONENTIAL_SCHEMA,
            (dp.scale - MAX_EXPONENTIAL_SCHEMA) as u32,
        )
    } else {
        (dp.scale, 0)
    };
    let side = |b: &Option<Buckets>| match b {
        Some(b) => exponential_layout(&b.bucket_counts, b.offset, scale_down),
        None => Ok((Vec::new(), Vec::new())),
    };
    let (positive_spans, positive_buckets) = side(&dp.positive)?;
    let (negative_spans, negative_buckets) = side(&dp.negative)?;
    let mut h = Histogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold: DEFAULT_ZERO_THRESHOLD,
        zero_count: dp.zero_count,
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        ..Histogram::default()
    };
    let warnings = count_and_sum(&mut h, dp.flags, dp.count, dp.sum, "exponential histogram");
    check(&h).map_err(NativeError::Invalid)?;
    Ok(NativePoint {
        histogram: h,
        exemplars: exemplars(&dp.exemplars),
        warnings,
    })
}

/// An explicit-bucket histogram point as a native histogram with custom buckets
/// (`convert_histograms_to_nhcb`; see the module doc).
pub fn explicit_to_nhcb(
    dp: &HistogramDataPoint,
    temporality: i32,
    allow_delta: bool,
    exemplars: impl FnOnce(&[OtlpExemplar]) -> Vec<Exemplar>,
) -> Result<NativePoint, NativeError> {
    let hint = reset_hint(temporality, allow_delta)?;
    // Leading empty buckets are skipped: the first span starts at the first non-empty one.
    let first = dp
        .bucket_counts
        .iter()
        .position(|c| *c != 0)
        .unwrap_or(dp.bucket_counts.len());
    let (positive_spans, positive_buckets) = layout(&dp.bucket_counts[first..], first as i64)?;
    let mut h = Histogram {
        counter_reset_hint: hint,
        schema: CUSTOM_BUCKETS_SCHEMA,
        positive_spans,
        positive_buckets,
        // OTLP's implicit last bucket (above the last bound) is the custom +Inf bucket.
        custom_values: dp.explicit_bounds.clone(),
        ..Histogram::default()
    };
    let warnings = count_and_sum(&mut h, dp.flags, dp.count, dp.sum, "histogram");
    check(&h).map_err(NativeError::Invalid)?;
    Ok(NativePoint {
        histogram: h,
        exemplars: exemplars(&dp.exemplars),
        warnings,
    })
}

/// Sets count and sum as Prometheus does (stale marker, absent sum); the warnings.
fn count_and_sum(
    h: &mut Histogram,
    flags: u32,
    count: u64,
    sum: Option<f64>,
    what: &str,
) -> Vec<String> {
    if flags & NO_RECORDED_VALUE != 0 {
        h.sum = stale_nan();
        h.count = STALE_NAN_BITS;
        return Vec::new();
    }
    h.sum = sum.unwrap_or(0.0);
    h.count = count;
    if count == 0 && h.sum != 0.0 {
        return vec![format!(
            "{what} data point has zero count, but non-zero sum: {}",
            go_f(h.sum)
        )];
    }
    Vec::new()
}

/// A float as Go's `%f` prints it.
fn go_f(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v:.6}")
    }
}

/// `x >> s` for any shift (sign-filled beyond the width, as Go's `>>`).
fn shr(x: i64, s: u32) -> i64 {
    if s >= 63 {
        if x < 0 {
            -1
        } else {
            0
        }
    } else {
        x >> s
    }
}

/// One side of an exponential histogram: OTLP bucket `offset + i` goes to Prometheus bucket
/// `((offset + i) >> scale_down) + 1`, counts of one target summed; then laid out.
fn exponential_layout(
    counts: &[u64],
    offset: i32,
    scale_down: u32,
) -> Result<(Vec<Span>, Vec<i64>), NativeError> {
    if counts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let offset = i64::from(offset);
    let first = shr(offset, scale_down) + 1;
    if scale_down == 0 {
        return layout(counts, first);
    }
    let last = shr(offset + counts.len() as i64 - 1, scale_down) + 1;
    // Indexes grow by at most one per OTLP bucket, so this is never longer than `counts`.
    let mut merged = vec![0u64; (last - first + 1) as usize];
    for (i, c) in counts.iter().enumerate() {
        let k = (shr(offset + i as i64, scale_down) + 1 - first) as usize;
        merged[k] = merged[k].wrapping_add(*c);
    }
    layout(&merged, first)
}

/// Dense counts from bucket index `start` as spans and deltas: non-empty buckets and the last
/// one are written, runs of at most `MAX_WRITTEN_GAP` empty buckets between them as zeros,
/// longer runs skipped by a new span (the first span starts at `start`, so it is empty when
/// the first written bucket lies beyond such a run).
fn layout(counts: &[u64], start: i64) -> Result<(Vec<Span>, Vec<i64>), NativeError> {
    if counts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let in_range = |x: i64| i32::try_from(x).map_err(|_| NativeError::Offset(x));
    in_range(start + counts.len() as i64)?;
    let mut spans = vec![Span {
        offset: in_range(start)?,
        length: 0,
    }];
    let mut deltas = Vec::new();
    let mut prev = 0i64;
    let mut push = |spans: &mut Vec<Span>, c: i64| {
        if let Some(s) = spans.last_mut() {
            s.length += 1;
        }
        deltas.push(c.wrapping_sub(prev));
        prev = c;
    };
    // The last written bucket's index (one before `start` at first).
    let mut written = start - 1;
    for (k, c) in counts.iter().enumerate() {
        if *c == 0 && k + 1 < counts.len() {
            continue;
        }
        let idx = start + k as i64;
        let gap = idx - written - 1;
        if gap > MAX_WRITTEN_GAP {
            spans.push(Span {
                offset: in_range(gap)?,
                length: 0,
            });
        } else {
            for _ in 0..gap {
                push(&mut spans, 0);
            }
        }
        // Counts above i64::MAX wrap, as Prometheus's int64 conversion does.
        push(&mut spans, *c as i64);
        written = idx;
    }
    Ok((spans, deltas))
}

/// Checks the rules a native histogram must keep (the model's validation, Prometheus's
/// rules and messages).
pub fn check(h: &Histogram) -> Result<(), String> {
    h.validate().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
