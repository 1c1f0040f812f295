//! histogram_quantile over classic (`le`-labelled) bucket series. Follows Prometheus's
//! `BucketQuantile` (promql/quantile.go) in our own words: buckets sorted by upper bound,
//! equal bounds merged, counts forced monotonic (differences within 1e-12 relative treated as
//! float noise), linear interpolation inside the bucket holding the rank; NaN without a +Inf
//! bucket or with no observations. Also how `le` label values are read and how quantiles are
//! written as label values.
//!
//! Uses `value` (`format_float`) only.

use super::{almost_equal_eps, quantile_outside};
use crate::promql::value::format_float;

/// Parses an `le` label value as Prometheus does (a float, `+Inf`, ...).
pub fn parse_le(le: &str) -> Option<f64> {
    match le.to_ascii_lowercase().as_str() {
        "+inf" | "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => le.parse::<f64>().ok().filter(|v| !v.is_nan()),
    }
}

/// A float as a label value with at least one decimal (`0.0`, `0.25`, `1.0`).
pub fn label_float(v: f64) -> String {
    let s = format_float(v);
    if v.is_finite() && !s.contains('.') && !s.contains('e') {
        format!("{s}.0")
    } else {
        s
    }
}

/// One bucket: upper bound and cumulative count.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    pub upper: f64,
    pub count: f64,
}

pub fn bucket_quantile(q: f64, buckets: &mut [Bucket]) -> f64 {
    bucket_quantile_checked(q, buckets).0
}

/// Like `bucket_quantile`, also saying whether counts had to be forced monotonic.
pub fn bucket_quantile_checked(q: f64, buckets: &mut [Bucket]) -> (f64, bool) {
    let mut forced = false;
    let v = quantile_inner(q, buckets, &mut forced);
    (v, forced)
}

/// Buckets sorted by upper bound with equal bounds merged, or `None` without a +Inf bucket.
fn sorted_merged(buckets: &mut [Bucket]) -> Option<Vec<Bucket>> {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    if buckets.last()?.upper != f64::INFINITY {
        return None;
    }
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(*b),
        }
    }
    Some(merged)
}

fn quantile_inner(q: f64, buckets: &mut [Bucket], forced: &mut bool) -> f64 {
    if let Some(v) = quantile_outside(q) {
        return v;
    }
    let Some(mut merged) = sorted_merged(buckets) else {
        return f64::NAN;
    };
    // Force monotonic counts.
    let mut prev = merged[0].count;
    for b in merged.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal_eps(prev, curr, 1e-12) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            *forced = true;
            continue;
        }
        prev = curr;
    }
    if merged.len() < 2 {
        return f64::NAN;
    }
    let observations = merged[merged.len() - 1].count;
    if observations == 0.0 {
        return f64::NAN;
    }
    let mut rank = q * observations;
    let last = merged.len() - 1;
    let b = merged[..last].partition_point(|x| x.count < rank);
    if b == last {
        return merged[last - 1].upper;
    }
    if b == 0 && merged[0].upper <= 0.0 {
        return merged[0].upper;
    }
    let mut start = 0.0;
    let end = merged[b].upper;
    let mut count = merged[b].count;
    if b > 0 {
        start = merged[b - 1].upper;
        count -= merged[b - 1].count;
        rank -= merged[b - 1].count;
    }
    start + (end - start) * (rank / count)
}

/// The fraction of observations between `lower` and `upper`, interpolating linearly inside
/// buckets (Prometheus's `BucketFraction`).
pub fn bucket_fraction(lower: f64, upper: f64, buckets: &mut [Bucket]) -> f64 {
    let Some(merged) = sorted_merged(buckets) else {
        return f64::NAN;
    };
    let count = merged[merged.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0f64, 0.0f64, 0.0f64);
    let (mut lower_set, mut upper_set) = (false, false);
    for (i, b) in merged.iter().enumerate() {
        let lb = if i > 0 {
            merged[i - 1].upper
        } else if b.upper > 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        let ub = b.upper;
        // No interpolation inside a bucket of infinite width: it contributes nothing.
        let interp = |v: f64| {
            if lb == f64::NEG_INFINITY {
                b.count
            } else if ub == f64::INFINITY {
                rank
            } else {
                rank + (b.count - rank) * (v - lb) / (ub - lb)
            }
        };
        if !lower_set && lb >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lb >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lb < lower && ub > lower {
            lower_rank = interp(lower);
            lower_set = true;
        }
        if !upper_set && lb < upper && ub > upper {
            upper_rank = interp(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn interpolates_within_the_bucket() {
        let mut x = b(&[(0.1, 10.0), (0.5, 30.0), (1.0, 40.0), (f64::INFINITY, 40.0)]);
        assert!((bucket_quantile(0.5, &mut x) - 0.3).abs() < 1e-12);
        assert_eq!(bucket_quantile(1.0, &mut x.clone()), 1.0);
        assert!(
            bucket_quantile(0.5, &mut b(&[(1.0, 1.0)])).is_nan(),
            "no +Inf bucket"
        );
        assert!(bucket_quantile(0.5, &mut b(&[(1.0, 0.0), (f64::INFINITY, 0.0)])).is_nan());
        assert_eq!(bucket_quantile(-1.0, &mut x.clone()), f64::NEG_INFINITY);
        // Non-monotonic input is fixed up.
        let mut y = b(&[(1.0, 10.0), (2.0, 8.0), (f64::INFINITY, 10.0)]);
        assert!((bucket_quantile(0.5, &mut y) - 0.5).abs() < 1e-12);
    }
}
