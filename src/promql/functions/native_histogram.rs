//! The statistics PromQL reads out of one native histogram (Prometheus 3's
//! `HistogramQuantile`, `HistogramFraction` and `histogramVariance`, in our own words):
//!
//! - `quantile`: the bucket holding the rank is found walking from the low end (q < 0.5, or
//!   whenever the sum is NaN, i.e. there may be NaN observations that no bucket holds) or from
//!   the high end; inside it the value is interpolated *exponentially* for exponential schemas
//!   (linearly on a log scale, so half the bucket's population sits at the boundary a
//!   histogram of twice the resolution would have) and *linearly* for custom buckets and the
//!   zero bucket. The zero bucket is taken to start (end) at 0 when there are only positive
//!   (negative) buckets; a custom-bucket histogram's first bucket starts at 0 unless its upper
//!   bound is ≤ 0 (then that bound is the answer), and its +Inf bucket answers its lower bound.
//! - `fraction`: the share of observations between two values, with the same interpolation.
//! - `variance`: each bucket's observations are placed at its geometric mean (exponential), its
//!   arithmetic mean (custom buckets) or 0 (the zero bucket).
//!
//! NaN observations count in `count` but in no bucket; the quantile and the fraction say when
//! they changed the answer, for the info annotations. Debian's Prometheus 2.42 interpolated
//! linearly everywhere; 3.x is followed here.
//!
//! Uses `model` (the histogram and its bucket walk) and the compensated sum of `functions`.

use super::kahan_inc;
use crate::model::histogram::{Bucket, BucketKind};
use crate::model::FloatHistogram;

/// What NaN observations did to a quantile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NanEffect {
    /// None, or none that mattered.
    None,
    /// The rank lies among the NaN observations: the answer is NaN.
    ResultNaN,
    /// The answer is taken among the bucketed observations only, so it is higher than
    /// it would be with the NaN observations placed anywhere but at the top.
    SkewedHigher,
}

/// Whether a bucket touches zero (the zero bucket, or a custom bucket around 0).
fn around_zero(b: &Bucket) -> bool {
    b.lower <= 0.0 && b.upper >= 0.0
}

/// The zero bucket's natural bound at 0 when the histogram lies on one side of zero only.
fn narrow_zero_bucket(h: &FloatHistogram, b: &mut Bucket) {
    if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
        b.lower = 0.0;
    } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
        b.upper = 0.0;
    }
}

/// The q-quantile of the observations in `h` (NaN without observations; −Inf below 0,
/// +Inf above 1) and what NaN observations did to it.
pub fn quantile(q: f64, h: &FloatHistogram) -> (f64, NanEffect) {
    if q < 0.0 {
        return (f64::NEG_INFINITY, NanEffect::None);
    }
    if q > 1.0 {
        return (f64::INFINITY, NanEffect::None);
    }
    if h.count == 0.0 || q.is_nan() {
        return (f64::NAN, NanEffect::None);
    }
    let custom = h.uses_custom_buckets();
    let sum_nan = h.sum.is_nan();
    // NaN observations are in no bucket, so with a NaN sum the rank is counted from below.
    let upward = sum_nan || q < 0.5;
    let mut list = h.all_buckets();
    let mut rank = if upward {
        q * h.count
    } else {
        list.reverse();
        (1.0 - q) * h.count
    };
    let mut seen = 0.0;
    let mut at = Bucket {
        lower: 0.0,
        upper: 0.0,
        lower_inclusive: false,
        upper_inclusive: false,
        count: 0.0,
        index: 0,
        kind: BucketKind::Zero,
    };
    let mut next = 0;
    while next < list.len() {
        at = list[next];
        next += 1;
        if at.count == 0.0 {
            continue;
        }
        seen += at.count;
        if seen >= rank {
            break;
        }
    }
    if custom {
        if at.lower == f64::NEG_INFINITY {
            if at.upper <= 0.0 {
                return (at.upper, NanEffect::None);
            }
            at.lower = 0.0;
        } else if at.upper == f64::INFINITY {
            return (at.lower, NanEffect::None);
        }
    } else if at.lower < 0.0 && at.upper > 0.0 {
        narrow_zero_bucket(h, &mut at);
    }
    // Rounding may carry the running count past the total.
    seen = seen.min(h.count);
    if seen < rank {
        // Past the last bucket: the rank lies among observations no bucket holds.
        if sum_nan {
            return (f64::NAN, NanEffect::ResultNaN);
        }
        return (at.upper, NanEffect::None);
    }
    if upward {
        rank -= seen - at.count;
    } else {
        rank = seen - rank;
    }
    let mut effect = NanEffect::None;
    if sum_nan {
        // A NaN sum also comes from observing both infinities; only a bucket total short
        // of the count means NaN observations.
        let total = seen + list[next..].iter().map(|b| b.count).sum::<f64>();
        if total < h.count {
            effect = NanEffect::SkewedHigher;
        }
    }
    let fraction = rank / at.count;
    if custom || around_zero(&at) {
        return (at.lower + (at.upper - at.lower) * fraction, effect);
    }
    let log_lower = at.lower.abs().log2();
    let log_upper = at.upper.abs().log2();
    let v = if at.lower > 0.0 {
        (log_lower + (log_upper - log_lower) * fraction).exp2()
    } else {
        // A negative bucket: the same walk mirrored.
        -(log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2()
    };
    (v, effect)
}

/// The fraction of `h`'s observations between `lower` and `upper` (NaN without
/// observations or with a NaN bound, 0 when `lower >= upper`), and whether NaN observations
/// were left out of every share (they still count in the total).
pub fn fraction(lower: f64, upper: f64, h: &FloatHistogram) -> (f64, bool) {
    if h.count == 0.0 || lower.is_nan() || upper.is_nan() {
        return (f64::NAN, false);
    }
    if lower >= upper {
        return (0.0, false);
    }
    let custom = h.uses_custom_buckets();
    let list = h.all_buckets();
    let (mut rank, mut bucketed) = (0.0, 0.0);
    let (mut lower_rank, mut upper_rank) = (None::<f64>, None::<f64>);
    let mut next = 0;
    while next < list.len() {
        let mut b = list[next];
        next += 1;
        bucketed += b.count;
        let zero = around_zero(&b);
        if zero {
            narrow_zero_bucket(h, &mut b);
        }
        // The rank at `v` inside `b`.
        let inside = |v: f64| -> f64 {
            if custom || zero {
                if b.lower == f64::NEG_INFINITY {
                    return b.count;
                }
                return rank + b.count * (v - b.lower) / (b.upper - b.lower);
            }
            let (ll, lu, lv) = (b.lower.abs().log2(), b.upper.abs().log2(), v.abs().log2());
            let f = if v > 0.0 {
                (lv - ll) / (lu - ll)
            } else {
                1.0 - (lv - lu) / (ll - lu)
            };
            rank + b.count * f
        };
        if lower_rank.is_none() && b.lower >= lower {
            lower_rank = Some(rank);
        }
        if upper_rank.is_none() && b.lower >= upper {
            upper_rank = Some(rank);
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        if lower_rank.is_none() && b.lower < lower && b.upper > lower {
            lower_rank = Some(inside(lower));
        }
        if upper_rank.is_none() && b.lower < upper && b.upper > upper {
            upper_rank = Some(inside(upper));
        }
        if lower_rank.is_some() && upper_rank.is_some() {
            break;
        }
        rank += b.count;
    }
    let mut nans_left_out = false;
    let total = if h.sum.is_nan() {
        bucketed += list[next..].iter().map(|b| b.count).sum::<f64>();
        nans_left_out = bucketed < h.count;
        bucketed
    } else {
        h.count
    };
    let clamp = |r: Option<f64>| match r {
        Some(r) if r <= total => r,
        _ => total,
    };
    (
        (clamp(upper_rank) - clamp(lower_rank)) / h.count,
        nans_left_out,
    )
}

/// The population variance of the observations, each bucket's placed at its geometric mean
/// (exponential buckets), arithmetic mean (custom buckets) or 0 (the zero bucket).
pub fn variance(h: &FloatHistogram) -> f64 {
    let mean = h.sum / h.count;
    let custom = h.uses_custom_buckets();
    let (mut v, mut c) = (0.0, 0.0);
    for b in h.all_buckets() {
        if b.count == 0.0 {
            continue;
        }
        let at = if custom {
            (b.upper + b.lower) / 2.0
        } else if around_zero(&b) {
            0.0
        } else if b.upper < 0.0 {
            -(b.upper * b.lower).sqrt()
        } else {
            (b.upper * b.lower).sqrt()
        };
        let d = at - mean;
        (v, c) = kahan_inc(b.count * d * d, v, c);
    }
    (v + c) / h.count
}

#[cfg(test)]
#[path = "native_histogram_tests.rs"]
mod tests;
