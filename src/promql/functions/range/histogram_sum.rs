//! Compensated sums and means of native histograms, as Prometheus's sum_over_time and
//! avg_over_time compute them: the count and the sum are added with Neumaier compensation
//! (`kahan_inc`), so that large values cancelling each other do not swallow small ones;
//! bucket counts are added plainly. A mean is the compensated sum divided by the count, or an
//! incremental mean once the running sum overflows.
//!
//! Uses `functions` (`kahan_inc`) and `model`'s histograms and their arithmetic.

use crate::model::{CombineOutcome, FloatHistogram, HistogramMathError};
use crate::promql::functions::kahan_inc;

/// A running histogram sum with the compensation of its count and sum.
#[derive(Debug, Clone)]
pub struct HistogramSum {
    pub h: FloatHistogram,
    c_count: f64,
    c_sum: f64,
}

impl HistogramSum {
    pub fn new(first: &FloatHistogram) -> Self {
        HistogramSum {
            h: first.clone(),
            c_count: 0.0,
            c_sum: 0.0,
        }
    }

    /// Adds `other`, compensating the count and the sum.
    pub fn add(&mut self, other: &FloatHistogram) -> Result<CombineOutcome, HistogramMathError> {
        let (count, sum) = (self.h.count, self.h.sum);
        let out = self.h.add(other)?;
        (self.h.count, self.c_count) = kahan_inc(other.count, count, self.c_count);
        (self.h.sum, self.c_sum) = kahan_inc(other.sum, sum, self.c_sum);
        Ok(out)
    }

    /// Every value (and compensation) multiplied by `f`.
    fn mul(&mut self, f: f64) {
        self.h.mul(f);
        self.c_count *= f;
        self.c_sum *= f;
    }

    /// Every value (and compensation) divided by `d`.
    fn div(&mut self, d: f64) {
        self.h.div(d);
        self.c_count /= d;
        self.c_sum /= d;
    }

    /// The sum with its compensation applied.
    pub fn finish(mut self) -> FloatHistogram {
        if !self.h.count.is_infinite() {
            self.h.count += self.c_count;
        }
        if !self.h.sum.is_infinite() {
            self.h.sum += self.c_sum;
        }
        self.h
    }
}

/// Whether any count or the sum of `h` is infinite.
fn has_overflow(h: &FloatHistogram) -> bool {
    h.count.is_infinite()
        || h.sum.is_infinite()
        || h.zero_count.is_infinite()
        || h.positive_buckets.iter().any(|b| b.is_infinite())
        || h.negative_buckets.iter().any(|b| b.is_infinite())
}

/// What adding a series of histograms reported: custom bounds reconciled on the way.
#[derive(Debug, Clone, Copy, Default)]
pub struct SumReport {
    pub reconciled: bool,
}

/// The compensated sum of `hs` (at least one).
pub fn sum<'a>(
    mut hs: impl Iterator<Item = &'a FloatHistogram>,
    report: &mut SumReport,
) -> Result<FloatHistogram, HistogramMathError> {
    let Some(first) = hs.next() else {
        return Ok(FloatHistogram::default());
    };
    let mut acc = HistogramSum::new(first);
    for h in hs {
        report.reconciled |= acc.add(h)?.custom_bounds_reconciled;
    }
    Ok(acc.finish())
}

/// The mean of `hs` (at least one): the compensated sum divided by the count while the sum
/// stays finite, an incremental mean from the first overflow on.
pub fn mean<'a>(
    mut hs: impl Iterator<Item = &'a FloatHistogram>,
    report: &mut SumReport,
) -> Result<FloatHistogram, HistogramMathError> {
    let Some(first) = hs.next() else {
        return Ok(FloatHistogram::default());
    };
    let mut acc = HistogramSum::new(first);
    let mut count = 1.0f64;
    let mut incremental = false;
    for h in hs {
        count += 1.0;
        if !incremental {
            let mut next = acc.clone();
            report.reconciled |= next.add(h)?.custom_bounds_reconciled;
            if !has_overflow(&next.h) {
                acc = next;
                continue;
            }
            // From here on: the mean so far, updated by each new histogram's share.
            incremental = true;
            acc.div(count - 1.0);
        }
        let q = (count - 1.0) / count;
        acc.mul(q);
        let mut share = h.clone();
        share.div(count);
        report.reconciled |= acc.add(&share)?.custom_bounds_reconciled;
    }
    if !incremental {
        acc.div(count);
    }
    Ok(acc.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(count: f64, sum: f64) -> FloatHistogram {
        FloatHistogram {
            count,
            sum,
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn compensated_sum_keeps_small_values_between_large_ones() {
        let hs = [h(1.0, 1.0), h(2.0, 1e100), h(3.0, 1.0), h(4.0, -1e100)];
        let mut r = SumReport::default();
        let s = sum(hs.iter(), &mut r).expect("same layout");
        assert_eq!((s.count, s.sum), (10.0, 2.0));
        let m = mean(hs.iter(), &mut r).expect("same layout");
        assert_eq!((m.count, m.sum), (2.5, 0.5));
        assert!(!r.reconciled);
    }

    #[test]
    fn mean_switches_to_incremental_on_overflow() {
        let hs = [h(f64::MAX, 1.0), h(1e308, 3.0), h(1e-6, 2.0)];
        let mut r = SumReport::default();
        let m = mean(hs.iter(), &mut r).expect("same layout");
        assert!(m.count.is_finite(), "{}", m.count);
        let want = f64::MAX / 3.0 + 1e308 / 3.0;
        assert!(
            (m.count - want).abs() / want < 1e-12,
            "{} vs {want}",
            m.count
        );
        assert!((m.sum - 2.0).abs() < 1e-12, "{}", m.sum);
        // The plain sum overflows.
        assert!(sum(hs.iter(), &mut r)
            .expect("same layout")
            .count
            .is_infinite());
    }
}
