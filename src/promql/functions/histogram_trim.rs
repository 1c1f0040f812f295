//! The native-histogram trim operators of Prometheus 3 (`h </ x` keeps the observations
//! below `x`, `h >/ x` those above), in our own words. The bucket holding the bound is cut
//! as `histogram_fraction` cuts it: exponentially inside exponential buckets, linearly
//! inside custom buckets and the zero bucket (which starts or ends at 0 when the histogram
//! lies on one side of zero only; a custom-bucket histogram's first bucket starts at 0 when
//! its upper bound is positive). Every bucket keeps its share of its count; the count is the
//! sum of the kept counts, and the sum is re-estimated from the kept buckets, each kept
//! (part of a) bucket counted at its geometric mean (exponential buckets) or its middle
//! (custom and zero buckets).
//!
//! The infinite custom buckets follow the upstream test cases: the +Inf bucket is dropped by
//! `</` with any finite bound and kept whole by `>/`, its observations then placed at the
//! larger of its lower bound and the cut; a first bucket reaching down to −Inf is kept
//! whole by `</` (at the smaller of its upper bound and the cut) and dropped by `>/` with a
//! bound inside it. `>/ +Inf` and `</ -Inf` keep nothing. A trim that keeps every populated bucket whole returns the histogram
//! unchanged (its own count and sum); so do `</ +Inf`, `>/ -Inf` and, our choice where
//! Prometheus says nothing, a NaN bound.
//!
//! Uses `model` (the histogram and its bucket walk) only.

use crate::model::histogram::{Bucket, BucketKind};
use crate::model::FloatHistogram;

/// What a trim keeps of one bucket: the share of its count, where the kept observations are
/// taken to be, and whether the bucket is kept whole.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Kept {
    share: f64,
    at: f64,
    whole: bool,
}

const NOTHING: Kept = Kept {
    share: 0.0,
    at: 0.0,
    whole: false,
};

/// `h` with only the observations below `bound` (`below`, the `</` operator) or above it
/// (`>/`).
pub fn trim(h: &FloatHistogram, bound: f64, below: bool) -> FloatHistogram {
    let keeps_all = if below {
        bound == f64::INFINITY
    } else {
        bound == f64::NEG_INFINITY
    };
    if bound.is_nan() || keeps_all {
        return h.clone();
    }
    let custom = h.uses_custom_buckets();
    let zt = h.zero_threshold;
    // Exponential buckets reaching into the zero bucket end at its edge.
    let clamp = |mut b: Bucket| {
        if !custom {
            if b.upper < 0.0 && b.upper > -zt {
                b.upper = -zt;
            }
            if b.lower > 0.0 && b.lower < zt {
                b.lower = zt;
            }
        }
        b
    };
    let mut zero = h.zero_bucket();
    if h.negative_buckets.is_empty() && !h.positive_buckets.is_empty() {
        zero.lower = 0.0;
    } else if h.positive_buckets.is_empty() && !h.negative_buckets.is_empty() {
        zero.upper = 0.0;
    }

    let mut out = h.clone();
    let (mut count, mut sum, mut whole) = (0.0, 0.0, true);
    let mut take = |b: &Bucket, target: &mut f64| {
        let k = kept(b, bound, below);
        if b.count != 0.0 && !k.whole {
            whole = false;
        }
        let c = b.count * k.share;
        *target = c;
        if c != 0.0 {
            count += c;
            sum += c * k.at;
        }
    };
    for (b, c) in h
        .positive_bucket_list()
        .into_iter()
        .zip(out.positive_buckets.iter_mut())
    {
        take(&clamp(b), c);
    }
    for (b, c) in h
        .negative_bucket_list()
        .into_iter()
        .zip(out.negative_buckets.iter_mut())
    {
        take(&clamp(b), c);
    }
    if !custom {
        take(&zero, &mut out.zero_count);
    }
    if whole {
        return h.clone();
    }
    out.count = count;
    out.sum = sum;
    out.compact(0);
    out
}

/// What a trim at `x` keeps of bucket `b`.
fn kept(b: &Bucket, x: f64, below: bool) -> Kept {
    let (lo, hi) = (b.lower, b.upper);
    let full = |at: f64| Kept {
        share: 1.0,
        at,
        whole: true,
    };
    let part = |share: f64, at: f64| Kept {
        share,
        at,
        whole: false,
    };
    if b.kind == BucketKind::Custom {
        match (lo == f64::NEG_INFINITY, hi == f64::INFINITY) {
            (true, true) => return NOTHING,
            (false, true) => {
                return match (below, x <= lo) {
                    (true, _) => NOTHING,
                    (false, _) if x == f64::INFINITY => NOTHING,
                    (false, true) => full(lo),
                    (false, false) => part(1.0, x),
                }
            }
            (true, false) if hi <= 0.0 => {
                return match (below, x >= hi) {
                    (true, _) if x == f64::NEG_INFINITY => NOTHING,
                    (true, true) => full(hi),
                    (true, false) => part(1.0, x),
                    (false, _) => NOTHING,
                }
            }
            // The first bucket with a positive upper bound starts at 0; a `>/` bound below
            // 0 drops it, as upstream does.
            (true, false) if !below && x < 0.0 => return NOTHING,
            (true, false) => return cut(0.0, hi, x, below, false),
            (false, false) => {}
        }
    }
    cut(
        lo,
        hi,
        x,
        below,
        b.kind != BucketKind::Custom && b.kind != BucketKind::Zero,
    )
}

/// What a trim at `x` keeps of the finite range `[lo, hi]`, interpolating exponentially or
/// linearly.
fn cut(lo: f64, hi: f64, x: f64, below: bool, exponential: bool) -> Kept {
    // Exponential buckets lie on one side of zero; anything else is interpolated linearly.
    let exponential = exponential && lo * hi > 0.0;
    let middle = |a: f64, b: f64| {
        if exponential {
            (a * b).sqrt().copysign(b)
        } else {
            a + (b - a) / 2.0
        }
    };
    // The share of [lo, hi] below x (lo < x < hi).
    let share_below = || {
        if exponential {
            (x / lo).ln() / (hi / lo).ln()
        } else {
            (x - lo) / (hi - lo)
        }
    };
    let whole = Kept {
        share: 1.0,
        at: middle(lo, hi),
        whole: true,
    };
    if below {
        if x >= hi {
            whole
        } else if x <= lo {
            NOTHING
        } else {
            Kept {
                share: share_below(),
                at: middle(lo, x),
                whole: false,
            }
        }
    } else if x <= lo {
        whole
    } else if x >= hi {
        NOTHING
    } else {
        Kept {
            share: 1.0 - share_below(),
            at: middle(x, hi),
            whole: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::histogram::Span;
    use crate::promql::functions::native_histogram::fraction;

    fn exponential() -> FloatHistogram {
        FloatHistogram {
            schema: 1,
            zero_threshold: 0.01,
            zero_count: 2.0,
            count: 17.0,
            sum: 3.0,
            positive_spans: vec![Span {
                offset: -1,
                length: 3,
            }],
            positive_buckets: vec![1.0, 4.0, 3.0],
            negative_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            negative_buckets: vec![5.0, 2.0],
            ..FloatHistogram::default()
        }
    }

    #[test]
    fn kept_counts_agree_with_histogram_fraction() {
        let h = exponential();
        for x in [
            -3.0, -1.5, -1.0, -0.2, -0.005, 0.0, 0.003, 0.6, 1.0, 1.2, 5.0,
        ] {
            let below = trim(&h, x, true);
            let above = trim(&h, x, false);
            let want_below = fraction(f64::NEG_INFINITY, x, &h).0 * h.count;
            let want_above = fraction(x, f64::INFINITY, &h).0 * h.count;
            assert!((below.count - want_below).abs() < 1e-9, "</ {x}: {below:?}");
            assert!((above.count - want_above).abs() < 1e-9, ">/ {x}: {above:?}");
            assert!((below.count + above.count - h.count).abs() < 1e-9, "{x}");
        }
    }

    #[test]
    fn a_bucket_cut_in_its_geometric_middle_keeps_half_there() {
        // Schema 1, bucket 1 is (1, 2^0.5]; its geometric middle is 2^0.25.
        let h = exponential();
        let x = 2f64.powf(0.25);
        let t = trim(&h, x, false);
        assert!((t.count - 1.5).abs() < 1e-12);
        assert!((t.sum - 1.5 * (x * 2f64.sqrt()).sqrt()).abs() < 1e-12);
        assert!(t.negative_buckets.iter().all(|c| *c == 0.0) && t.zero_count == 0.0);
    }

    #[test]
    fn bounds_that_keep_everything_or_nothing() {
        let h = exponential();
        for (x, below) in [
            (f64::INFINITY, true),
            (f64::NEG_INFINITY, false),
            (f64::NAN, true),
        ] {
            let t = trim(&h, x, below);
            assert_eq!((t.count, t.sum), (h.count, h.sum), "{x} {below}");
        }
        for (x, below) in [(f64::NEG_INFINITY, true), (f64::INFINITY, false)] {
            let t = trim(&h, x, below);
            assert_eq!(
                (t.count, t.sum, t.zero_count),
                (0.0, 0.0, 0.0),
                "{x} {below}"
            );
        }
    }
}
