//! Arithmetic on float histograms, as PromQL needs it (Prometheus's `FloatHistogram` methods,
//! in our own words): adding and subtracting (at the lower of the two schemas, with the wider
//! zero bucket; custom-bucket histograms only with custom-bucket ones), scaling by a float,
//! reducing resolution to a lower schema, compacting (dropping empty buckets, merging spans),
//! detecting a counter reset against the previous histogram, and exact equality.
//!
//! The bucket-list helpers live in `layout`, counter-reset detection in `reset`.
//!
//! Uses std, `thiserror` and the sibling types (`buckets`, `layout`, `reset`).

use super::buckets::{exponential_bound, indexed};
use super::layout::{
    compact_side, encode, encode_with_capacity, intersect_bounds, merge, reconcile_zero_buckets,
    reducing, regroup_custom, same_floats,
};
use super::reset;
use super::{CounterResetHint, FloatHistogram, Span};

/// Why two histograms cannot be combined.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistogramMathError {
    /// One exponential, one custom-bucket histogram.
    #[error("cannot apply this operation on histograms with a mix of exponential and custom bucket schemas")]
    MixedSchemas,
    /// Custom-bucket histograms with different bounds that could not be reconciled.
    #[error(
        "cannot apply this operation on custom buckets histograms with different custom bounds"
    )]
    IncompatibleBounds,
}

/// What happened while adding or subtracting, for the annotations PromQL emits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CombineOutcome {
    /// One side was hinted as a counter reset and the other as not a counter reset.
    pub counter_reset_collision: bool,
    /// Custom-bucket histograms with different bounds were combined on their common bounds.
    pub custom_bounds_reconciled: bool,
}

impl FloatHistogram {
    /// `self += other`. Exponential histograms are added at the lower of the two schemas with
    /// the wider zero bucket (buckets swallowed by it counted into the zero count);
    /// custom-bucket histograms bucket by bucket, on the bounds both have when their bounds
    /// differ. The result may hold empty buckets; `compact` tidies it.
    pub fn add(&mut self, other: &FloatHistogram) -> Result<CombineOutcome, HistogramMathError> {
        self.combine(other, false)
    }

    /// `self -= other`, as `add` otherwise.
    pub fn sub(&mut self, other: &FloatHistogram) -> Result<CombineOutcome, HistogramMathError> {
        self.combine(other, true)
    }

    /// Every count and the sum multiplied by `factor` (negative factors give negative
    /// counts); the layout stays.
    pub fn mul(&mut self, factor: f64) {
        self.zero_count *= factor;
        self.count *= factor;
        self.sum *= factor;
        for c in self
            .positive_buckets
            .iter_mut()
            .chain(self.negative_buckets.iter_mut())
        {
            *c *= factor;
        }
    }

    /// Every count and the sum divided by `divisor`. Dividing by (±)0 turns the count, zero
    /// count and sum into ±Inf (or NaN) and removes every bucket, as Prometheus does.
    pub fn div(&mut self, divisor: f64) {
        self.zero_count /= divisor;
        self.count /= divisor;
        self.sum /= divisor;
        if divisor == 0.0 {
            self.positive_spans.clear();
            self.negative_spans.clear();
            self.positive_buckets.clear();
            self.negative_buckets.clear();
            return;
        }
        for c in self
            .positive_buckets
            .iter_mut()
            .chain(self.negative_buckets.iter_mut())
        {
            *c /= divisor;
        }
    }

    /// The same histogram at a lower resolution (`target_schema` ≤ `self.schema`): every
    /// 2^(schema−target) neighbouring buckets merge into one. Nothing happens for custom
    /// buckets or when `target_schema` is not lower.
    pub fn reduce_resolution(&mut self, target_schema: i32) {
        if self.uses_custom_buckets() || target_schema >= self.schema {
            return;
        }
        for (spans, counts) in [
            (&mut self.positive_spans, &mut self.positive_buckets),
            (&mut self.negative_spans, &mut self.negative_buckets),
        ] {
            let merged = encode_with_capacity(
                reducing(indexed(spans, counts), self.schema, target_schema),
                counts.len(),
            );
            (*spans, *counts) = merged;
        }
        self.schema = target_schema;
    }

    /// Drops empty buckets (keeping runs of at most `max_empty_buckets` between populated
    /// ones inside a span), trims empty buckets at both ends and merges adjacent spans. The
    /// histogram keeps its value.
    pub fn compact(&mut self, max_empty_buckets: usize) {
        compact_side(
            &mut self.positive_spans,
            &mut self.positive_buckets,
            max_empty_buckets,
        );
        compact_side(
            &mut self.negative_spans,
            &mut self.negative_buckets,
            max_empty_buckets,
        );
    }

    /// Whether a counter reset happened between `previous` and `self` (hints honoured).
    pub fn detect_reset(&self, previous: &FloatHistogram) -> bool {
        reset::detect_reset(self, previous)
    }

    /// Exact equality as Prometheus's `Equals`: same schema, zero threshold, custom bounds
    /// (custom schema only), the same bucket layout (span boundaries may differ: empty spans
    /// and adjacent spans do not matter, but every bucket, even an empty one, must be in
    /// both) and count, sum, zero count and bucket counts identical bit for bit (so NaN equals
    /// the same NaN). The counter-reset hint is not compared.
    pub fn equals(&self, other: &FloatHistogram) -> bool {
        self.schema == other.schema
            && self.count.to_bits() == other.count.to_bits()
            && self.sum.to_bits() == other.sum.to_bits()
            && (!self.uses_custom_buckets()
                || same_floats(&self.custom_values, &other.custom_values))
            && self.zero_threshold == other.zero_threshold
            && self.zero_count.to_bits() == other.zero_count.to_bits()
            && same_layout(&self.negative_spans, &other.negative_spans)
            && same_floats(&self.negative_buckets, &other.negative_buckets)
            && same_layout(&self.positive_spans, &other.positive_spans)
            && same_floats(&self.positive_buckets, &other.positive_buckets)
    }

    /// The counter-reset hint of `self ± other`; true when one said CounterReset and the
    /// other NotCounterReset.
    fn merge_hint(&mut self, other: &FloatHistogram) -> bool {
        use CounterResetHint::*;
        let (mine, theirs) = (self.counter_reset_hint, other.counter_reset_hint);
        match (mine, theirs) {
            _ if mine == theirs => false,
            (Gauge, _) => false,
            (_, Gauge) => {
                self.counter_reset_hint = Gauge;
                false
            }
            (Unknown, _) => false,
            (_, Unknown) => {
                self.counter_reset_hint = Unknown;
                false
            }
            // CounterReset against NotCounterReset.
            _ => {
                self.counter_reset_hint = Unknown;
                true
            }
        }
    }

    fn combine(
        &mut self,
        other: &FloatHistogram,
        negate: bool,
    ) -> Result<CombineOutcome, HistogramMathError> {
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramMathError::MixedSchemas);
        }
        let mut outcome = CombineOutcome {
            counter_reset_collision: self.merge_hint(other),
            custom_bounds_reconciled: false,
        };
        let op = |a: f64, b: f64| if negate { a - b } else { a + b };
        self.count = op(self.count, other.count);
        self.sum = op(self.sum, other.sum);

        if self.uses_custom_buckets() {
            if same_floats(&self.custom_values, &other.custom_values) {
                combine_side(
                    (&mut self.positive_spans, &mut self.positive_buckets),
                    (&other.positive_spans, &other.positive_buckets),
                    negate,
                    None,
                );
            } else {
                outcome.custom_bounds_reconciled = true;
                self.combine_mismatched_custom(other, negate);
            }
            return Ok(outcome);
        }

        let other_zero = reconcile_zero_buckets(self, other);
        self.zero_count = op(self.zero_count, other_zero);

        let target = self.schema.min(other.schema);
        if self.schema > target {
            self.reduce_resolution(target);
        }
        // Buckets of `other` wholly inside the (possibly widened) zero bucket are already in
        // the zero count.
        let skip = Some((other.schema, target, self.zero_threshold));
        combine_side(
            (&mut self.positive_spans, &mut self.positive_buckets),
            (&other.positive_spans, &other.positive_buckets),
            negate,
            skip,
        );
        combine_side(
            (&mut self.negative_spans, &mut self.negative_buckets),
            (&other.negative_spans, &other.negative_buckets),
            negate,
            skip,
        );
        Ok(outcome)
    }

    /// Custom buckets with different bounds: both regrouped onto the bounds they share.
    fn combine_mismatched_custom(&mut self, other: &FloatHistogram, negate: bool) {
        let common = intersect_bounds(&self.custom_values, &other.custom_values);
        let mine = regroup_custom(
            &self.positive_spans,
            &self.positive_buckets,
            &self.custom_values,
            &common,
        );
        let theirs = regroup_custom(
            &other.positive_spans,
            &other.positive_buckets,
            &other.custom_values,
            &common,
        );
        let entries = mine
            .iter()
            .zip(&theirs)
            .enumerate()
            .map(|(i, (a, b))| (i as i32, if negate { a - b } else { a + b }))
            .filter(|(_, c)| *c != 0.0);
        (self.positive_spans, self.positive_buckets) = encode(entries);
        self.custom_values = common;
    }
}

/// `mine ± theirs` for one side. `skip` = (their schema, the common schema, the zero
/// threshold) for exponential histograms: theirs are brought to the common schema and those
/// inside the zero bucket left out. Same layouts add in place without allocating.
fn combine_side(
    mine: (&mut Vec<Span>, &mut Vec<f64>),
    theirs: (&Vec<Span>, &Vec<f64>),
    negate: bool,
    skip: Option<(i32, i32, f64)>,
) {
    let (spans, counts) = mine;
    let (their_spans, their_counts) = theirs;
    if fast_path_applies(spans, counts, their_spans, their_counts, skip) {
        if negate {
            counts
                .iter_mut()
                .zip(their_counts)
                .for_each(|(a, b)| *a -= b);
        } else {
            counts
                .iter_mut()
                .zip(their_counts)
                .for_each(|(a, b)| *a += b);
        }
        return;
    }
    if their_counts.is_empty() || their_spans.is_empty() {
        return;
    }
    let theirs = indexed(their_spans, their_counts);
    let room = counts.len() + their_counts.len();
    let (new_spans, new_counts) = match skip {
        Some((their_schema, schema, threshold)) => {
            // Ascending: only the leading buckets can lie inside the zero bucket.
            let inside = move |(i, _): &(i32, f64)| exponential_bound(*i, schema) <= threshold;
            if their_schema > schema {
                let theirs = reducing(theirs, their_schema, schema).skip_while(inside);
                encode_with_capacity(merge(indexed(spans, counts), theirs, negate), room)
            } else {
                let theirs = theirs.skip_while(inside);
                encode_with_capacity(merge(indexed(spans, counts), theirs, negate), room)
            }
        }
        None => encode_with_capacity(merge(indexed(spans, counts), theirs, negate), room),
    };
    *spans = new_spans;
    *counts = new_counts;
}

/// Whether both sides have the same layout at the same schema, with nothing of theirs inside
/// the zero bucket, so that counts add position by position.
fn fast_path_applies(
    spans: &[Span],
    counts: &[f64],
    their_spans: &[Span],
    their_counts: &[f64],
    skip: Option<(i32, i32, f64)>,
) -> bool {
    if spans != their_spans || counts.len() != their_counts.len() {
        return false;
    }
    let total: u64 = spans.iter().map(|s| u64::from(s.length)).sum();
    if total != counts.len() as u64 {
        return false;
    }
    match (skip, spans.first()) {
        (Some((their_schema, schema, threshold)), Some(first)) => {
            their_schema == schema && exponential_bound(first.offset, schema) > threshold
        }
        _ => true,
    }
}

/// Whether two span lists describe the same buckets: empty spans ignored (their offsets
/// carried on), spans that touch counted as one.
fn same_layout(a: &[Span], b: &[Span]) -> bool {
    fn runs(spans: &[Span]) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(spans.len());
        let mut next = 0i64;
        for (n, s) in spans.iter().enumerate() {
            let start = if n == 0 {
                i64::from(s.offset)
            } else {
                next + i64::from(s.offset)
            };
            next = start + i64::from(s.length);
            if s.length == 0 {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.0 + last.1 == start => last.1 += i64::from(s.length),
                _ => out.push((start, i64::from(s.length))),
            }
        }
        out
    }
    a == b || runs(a) == runs(b)
}

#[cfg(test)]
#[path = "arith_tests.rs"]
mod tests;
