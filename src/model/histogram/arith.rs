//! Arithmetic on float histograms, as PromQL needs it (Prometheus's `FloatHistogram` methods,
//! in our own words): adding and subtracting (at the lower of the two schemas, with the wider
//! zero bucket; custom-bucket histograms only with custom-bucket ones), scaling by a float,
//! reducing resolution to a lower schema, compacting (dropping empty buckets, merging spans),
//! detecting a counter reset against the previous histogram, and exact equality.
//!
//! Uses std, `thiserror` and the sibling types.

use super::FloatHistogram;

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
    /// `self += other`.
    pub fn add(&mut self, other: &FloatHistogram) -> Result<CombineOutcome, HistogramMathError> {
        let _ = other;
        todo!("histmath: add")
    }

    /// `self -= other`.
    pub fn sub(&mut self, other: &FloatHistogram) -> Result<CombineOutcome, HistogramMathError> {
        let _ = other;
        todo!("histmath: sub")
    }

    /// Every count and the sum multiplied by `factor`.
    pub fn mul(&mut self, factor: f64) {
        let _ = factor;
        todo!("histmath: mul")
    }

    /// Every count and the sum divided by `divisor`.
    pub fn div(&mut self, divisor: f64) {
        let _ = divisor;
        todo!("histmath: div")
    }

    /// The same histogram at a lower resolution (`target_schema` ≤ `self.schema`).
    pub fn reduce_resolution(&mut self, target_schema: i32) {
        let _ = target_schema;
        todo!("histmath: reduce_resolution")
    }

    /// Drops empty buckets (keeping runs of at most `max_empty_buckets` inside spans) and
    /// merges adjacent spans.
    pub fn compact(&mut self, max_empty_buckets: usize) {
        let _ = max_empty_buckets;
        todo!("histmath: compact")
    }

    /// Whether a counter reset happened between `previous` and `self` (hints honoured).
    pub fn detect_reset(&self, previous: &FloatHistogram) -> bool {
        let _ = previous;
        todo!("histmath: detect_reset")
    }

    /// Exact equality of the histograms as PromQL's `changes` compares them.
    pub fn equals(&self, other: &FloatHistogram) -> bool {
        let _ = other;
        todo!("histmath: equals")
    }
}
