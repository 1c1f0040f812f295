//! Validation of native histograms with Prometheus 3's rules: the schema is −4…8 or −53;
//! exponential histograms need spans that hold exactly as many buckets as given, with only the
//! first span's offset negative, and no custom bounds; custom-bucket (−53) histograms need
//! bounds that are not NaN, strictly ascending and without an explicit `+Inf`, enough of them
//! for the spans, non-negative span offsets, and no zero bucket or negative buckets. No bucket
//! count may be negative (integer buckets after summing the deltas). An integer histogram's
//! count must equal the zero count plus the buckets, or be at least that when its sum is NaN
//! (NaN observations count but land in no bucket). A float histogram's count is not compared
//! with its buckets (rounding would make that check fail on computed results), but it and its
//! zero count may not be negative. NaN bucket counts pass, as in Prometheus (`NaN < 0` is
//! false). The error names the rule and the numbers; the caller adds the series.
//! Uses `thiserror` and the sibling types.

use super::{FloatHistogram, Histogram, Span, CUSTOM_BUCKETS_SCHEMA};
use super::{MAX_EXPONENTIAL_SCHEMA, MIN_EXPONENTIAL_SCHEMA};

/// Which bucket list a rule was broken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Positive,
    Negative,
    /// The custom buckets of schema −53 (positive buckets).
    Custom,
}

impl std::fmt::Display for Side {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Side::Positive => "positive side",
            Side::Negative => "negative side",
            Side::Custom => "custom buckets",
        })
    }
}

/// A broken validation rule, worded as Prometheus words it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("histogram has an invalid schema, which must be between {MIN_EXPONENTIAL_SCHEMA} and {MAX_EXPONENTIAL_SCHEMA} for exponential buckets, or {CUSTOM_BUCKETS_SCHEMA} for custom buckets, got schema {0}")]
    InvalidSchema(i32),
    #[error("{side}: span number {span} with offset {offset}: histogram has a span whose offset is negative")]
    SpanNegativeOffset {
        side: Side,
        span: usize,
        offset: i32,
    },
    #[error("{side}: spans need {spans} buckets, have {buckets} buckets: histogram spans specify different number of buckets than provided")]
    SpansBucketsMismatch {
        side: Side,
        spans: u64,
        buckets: usize,
    },
    #[error("{side}: bucket number {bucket} has observation count of {count}: histogram has a bucket whose observation count is negative")]
    NegativeBucketCount {
        side: Side,
        bucket: usize,
        count: f64,
    },
    #[error("zero bucket has observation count of {0}: histogram has a bucket whose observation count is negative")]
    NegativeZeroCount(f64),
    #[error("observation count is {0}: histogram's observation count is negative")]
    NegativeCount(f64),
    #[error("{in_buckets} observations found in buckets, but the Count field is {count}: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)")]
    CountMismatch { in_buckets: u128, count: u64 },
    #[error("{in_buckets} observations found in buckets, but the Count field is {count}: histogram's observation count should be at least the number of observations found in the buckets")]
    CountNotBigEnough { in_buckets: u128, count: u64 },
    #[error("custom buckets: histogram custom bounds must not be NaN")]
    CustomBoundNaN,
    #[error("custom buckets: previous bound is {prev} and current is {cur}: histogram custom bounds must be in strictly increasing order")]
    CustomBoundsNotIncreasing { prev: f64, cur: f64 },
    #[error("custom buckets: last +Inf bound must not be explicitly defined: histogram custom bounds must be finite")]
    CustomBoundInfinite,
    #[error("custom buckets: only {bounds} custom bounds defined which is insufficient to cover total span length of {span_length}: histogram custom bounds are too few")]
    CustomBoundsTooFew { bounds: usize, span_length: i64 },
    #[error("custom buckets: must have zero count of 0, got {0}")]
    CustomZeroCount(f64),
    #[error("custom buckets: must have zero threshold of 0, got {0}")]
    CustomZeroThreshold(f64),
    #[error("custom buckets: must not have negative spans ({0} given)")]
    CustomNegativeSpans(usize),
    #[error("custom buckets: must not have negative buckets ({0} given)")]
    CustomNegativeBuckets(usize),
    #[error(
        "histogram with exponential schema {schema} must not have custom bounds ({bounds} given)"
    )]
    ExponentialWithCustomBounds { schema: i32, bounds: usize },
}

/// Whether `schema` is one Prometheus stores: −4…8 or −53.
pub fn is_valid_schema(schema: i32) -> bool {
    schema == CUSTOM_BUCKETS_SCHEMA
        || (MIN_EXPONENTIAL_SCHEMA..=MAX_EXPONENTIAL_SCHEMA).contains(&schema)
}

/// Spans against the number of buckets; only the first span may have a negative offset.
fn check_spans(side: Side, spans: &[Span], buckets: usize) -> Result<(), ValidationError> {
    let mut need = 0u64;
    for (n, s) in spans.iter().enumerate() {
        if n > 0 && s.offset < 0 {
            return Err(ValidationError::SpanNegativeOffset {
                side,
                span: n + 1,
                offset: s.offset,
            });
        }
        need += u64::from(s.length);
    }
    if need != buckets as u64 {
        return Err(ValidationError::SpansBucketsMismatch {
            side,
            spans: need,
            buckets,
        });
    }
    Ok(())
}

/// Custom bounds and the spans over them (schema −53): every span offset must be ≥ 0.
fn check_custom(bounds: &[f64], spans: &[Span], buckets: usize) -> Result<(), ValidationError> {
    let mut prev = f64::NEG_INFINITY;
    for (i, &cur) in bounds.iter().enumerate() {
        if cur.is_nan() {
            return Err(ValidationError::CustomBoundNaN);
        }
        if i > 0 && cur <= prev {
            return Err(ValidationError::CustomBoundsNotIncreasing { prev, cur });
        }
        prev = cur;
    }
    if prev == f64::INFINITY {
        return Err(ValidationError::CustomBoundInfinite);
    }
    let (mut need, mut span_length) = (0u64, 0i64);
    for (n, s) in spans.iter().enumerate() {
        if s.offset < 0 {
            return Err(ValidationError::SpanNegativeOffset {
                side: Side::Custom,
                span: n + 1,
                offset: s.offset,
            });
        }
        need += u64::from(s.length);
        span_length += i64::from(s.length) + i64::from(s.offset);
    }
    if need != buckets as u64 {
        return Err(ValidationError::SpansBucketsMismatch {
            side: Side::Custom,
            spans: need,
            buckets,
        });
    }
    if (bounds.len() as i64) + 1 < span_length {
        return Err(ValidationError::CustomBoundsTooFew {
            bounds: bounds.len(),
            span_length,
        });
    }
    Ok(())
}

/// The fields that must be empty for schema −53.
fn check_custom_extras(
    zero_count: f64,
    zero_threshold: f64,
    negative_spans: usize,
    negative_buckets: usize,
) -> Result<(), ValidationError> {
    if zero_count != 0.0 {
        return Err(ValidationError::CustomZeroCount(zero_count));
    }
    if zero_threshold != 0.0 {
        return Err(ValidationError::CustomZeroThreshold(zero_threshold));
    }
    if negative_spans > 0 {
        return Err(ValidationError::CustomNegativeSpans(negative_spans));
    }
    if negative_buckets > 0 {
        return Err(ValidationError::CustomNegativeBuckets(negative_buckets));
    }
    Ok(())
}

/// Delta-encoded buckets: each absolute count must be ≥ 0; returns their sum.
fn check_deltas(side: Side, deltas: &[i64]) -> Result<u128, ValidationError> {
    let (mut cur, mut total) = (0i64, 0u128);
    for (i, d) in deltas.iter().enumerate() {
        cur = cur.wrapping_add(*d);
        if cur < 0 {
            return Err(ValidationError::NegativeBucketCount {
                side,
                bucket: i + 1,
                count: cur as f64,
            });
        }
        total += cur as u128;
    }
    Ok(total)
}

/// Absolute buckets: no count below 0 (NaN passes).
fn check_absolute(side: Side, buckets: &[f64]) -> Result<(), ValidationError> {
    match buckets.iter().position(|c| *c < 0.0) {
        Some(i) => Err(ValidationError::NegativeBucketCount {
            side,
            bucket: i + 1,
            count: buckets[i],
        }),
        None => Ok(()),
    }
}

/// The layout rules both forms share: the schema, spans against bucket counts, custom bounds
/// only (and then no zero or negative buckets) with schema −53. Returns the side the positive
/// buckets are on (custom buckets for schema −53).
#[allow(clippy::too_many_arguments)]
fn check_layout(
    schema: i32,
    custom_values: &[f64],
    positive_spans: &[Span],
    positive_len: usize,
    negative_spans: &[Span],
    negative_len: usize,
    zero_count: f64,
    zero_threshold: f64,
) -> Result<Side, ValidationError> {
    if schema == CUSTOM_BUCKETS_SCHEMA {
        check_custom(custom_values, positive_spans, positive_len)?;
        check_custom_extras(
            zero_count,
            zero_threshold,
            negative_spans.len(),
            negative_len,
        )?;
        return Ok(Side::Custom);
    }
    if !is_valid_schema(schema) {
        return Err(ValidationError::InvalidSchema(schema));
    }
    check_spans(Side::Positive, positive_spans, positive_len)?;
    check_spans(Side::Negative, negative_spans, negative_len)?;
    if !custom_values.is_empty() {
        return Err(ValidationError::ExponentialWithCustomBounds {
            schema,
            bounds: custom_values.len(),
        });
    }
    Ok(Side::Positive)
}

impl Histogram {
    /// Checks the histogram against Prometheus's rules (see the module doc).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let side = check_layout(
            self.schema,
            &self.custom_values,
            &self.positive_spans,
            self.positive_buckets.len(),
            &self.negative_spans,
            self.negative_buckets.len(),
            self.zero_count as f64,
            self.zero_threshold,
        )?;
        // Schema −53 has no negative buckets (checked above), so this adds nothing there.
        let mut in_buckets = check_deltas(Side::Negative, &self.negative_buckets)?;
        in_buckets += check_deltas(side, &self.positive_buckets)?;
        in_buckets += u128::from(self.zero_count);
        let count = self.count;
        if self.sum.is_nan() {
            if in_buckets > u128::from(count) {
                return Err(ValidationError::CountNotBigEnough { in_buckets, count });
            }
        } else if in_buckets != u128::from(count) {
            return Err(ValidationError::CountMismatch { in_buckets, count });
        }
        Ok(())
    }
}

impl FloatHistogram {
    /// Checks the histogram against Prometheus's rules (see the module doc).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let side = check_layout(
            self.schema,
            &self.custom_values,
            &self.positive_spans,
            self.positive_buckets.len(),
            &self.negative_spans,
            self.negative_buckets.len(),
            self.zero_count,
            self.zero_threshold,
        )?;
        check_absolute(Side::Negative, &self.negative_buckets)?;
        check_absolute(side, &self.positive_buckets)?;
        if self.zero_count < 0.0 {
            return Err(ValidationError::NegativeZeroCount(self.zero_count));
        }
        if self.count < 0.0 {
            return Err(ValidationError::NegativeCount(self.count));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
