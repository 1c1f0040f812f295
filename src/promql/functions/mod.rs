//! PromQL functions, one file per family: `range` (functions over range vectors), `math`
//! (element-wise arithmetic), `time` (date and time), `labels` (label_replace, label_join,
//! the labels of absent), `sort` (sort and sort_by_label), `histogram` (classic-histogram
//! quantiles and fractions), `native_histogram` (quantile, fraction and variance of one
//! native histogram), `histogram_trim` (the trim operators `</` and `>/`). Shared numeric helpers (compensated sums, means, variance,
//! quantile) live here. The engine evaluates the arguments and dispatches into these
//! (`engine/call*.rs`).
//!
//! Uses `value` and `model` only.

pub mod histogram;
pub mod histogram_trim;
pub mod labels;
pub mod math;
pub mod native_histogram;
pub mod range;
pub mod sort;
pub mod time;

/// Float equality within a relative `eps`, as Prometheus's `almost.Equal`: the stale marker
/// equals only itself, NaN equals NaN, zero needs (nearly) exact zero.
pub fn almost_equal_eps(a: f64, b: f64, eps: f64) -> bool {
    use crate::model::is_stale_nan;
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < eps * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

/// Neumaier-compensated summation step (Prometheus's `kahanSumInc`): returns the new sum and
/// compensation.
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

/// Compensated sum of `values`.
pub fn kahan_sum(values: impl Iterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0, 0.0);
    for v in values {
        (s, c) = kahan_inc(v, s, c);
    }
    s + c
}

/// Mean with compensated summation, switching to an incremental mean if the sum overflows
/// (Prometheus's avg_over_time and avg).
pub fn kahan_mean(values: &[f64]) -> f64 {
    let mut m = MeanAcc::default();
    for &v in values {
        m.push(v);
    }
    m.result()
}

/// The running state of `kahan_mean`, for callers that see the values one at a time.
#[derive(Debug, Clone, Copy, Default)]
pub struct MeanAcc {
    sum: f64,
    c: f64,
    mean: f64,
    count: f64,
    incremental: bool,
}

impl MeanAcc {
    pub fn push(&mut self, v: f64) {
        self.count += 1.0;
        if !self.incremental {
            let (ns, nc) = kahan_inc(v, self.sum, self.c);
            if self.count == 1.0 || !ns.is_infinite() {
                self.sum = ns;
                self.c = nc;
                return;
            }
            self.incremental = true;
            self.mean = self.sum / (self.count - 1.0);
            self.c /= self.count - 1.0;
        }
        if self.mean.is_infinite() {
            if v.is_infinite() && (self.mean > 0.0) == (v > 0.0) {
                return;
            }
            if !v.is_infinite() && !v.is_nan() {
                return;
            }
        }
        let corrected = self.mean + self.c;
        (self.mean, self.c) = kahan_inc(v / self.count - corrected / self.count, self.mean, self.c);
    }

    pub fn result(&self) -> f64 {
        if self.incremental {
            self.mean + self.c
        } else {
            (self.sum + self.c) / self.count
        }
    }
}

/// Population variance with compensated Welford updates (stdvar_over_time, stdvar).
pub fn variance(values: &[f64]) -> f64 {
    let (mut count, mut mean, mut c_mean, mut aux, mut c_aux) = (0.0f64, 0.0, 0.0, 0.0, 0.0);
    for &v in values {
        count += 1.0;
        let delta = v - (mean + c_mean);
        (mean, c_mean) = kahan_inc(delta / count, mean, c_mean);
        (aux, c_aux) = kahan_inc(delta * (v - (mean + c_mean)), aux, c_aux);
    }
    (aux + c_aux) / count
}

/// The answer of every quantile function for a `q` outside [0, 1]: NaN for NaN, -Inf below
/// 0, +Inf above 1; `None` for a `q` in range.
pub fn quantile_outside(q: f64) -> Option<f64> {
    if q.is_nan() {
        Some(f64::NAN)
    } else if q < 0.0 {
        Some(f64::NEG_INFINITY)
    } else if q > 1.0 {
        Some(f64::INFINITY)
    } else {
        None
    }
}

/// The q-quantile of `values`, interpolating between neighbours (Prometheus's `quantile`).
pub fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    if let Some(v) = quantile_outside(q) {
        return v;
    }
    // NaN sorts first, as in Prometheus's vectorByValueHeap.
    let order = |a: &f64, b: &f64| match (a.is_nan(), b.is_nan()) {
        (true, true) => std::cmp::Ordering::Equal,
        (true, false) => std::cmp::Ordering::Less,
        (false, true) => std::cmp::Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
    };
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0) as usize;
    let upper = ((lower + 1) as f64).min(n - 1.0) as usize;
    let weight = rank - rank.floor();
    // Only the two neighbours are needed: select the lower one (everything after it is not
    // smaller), then the least of the rest; no full sort.
    let (_, &mut lo, rest) = values.select_nth_unstable_by(lower, order);
    let hi = if upper > lower {
        rest.iter().copied().min_by(order).unwrap_or(lo)
    } else {
        lo
    };
    lo * (1.0 - weight) + hi * weight
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(kahan_sum([1e100, 1.0, -1e100].into_iter()), 1.0);
        assert_eq!(kahan_mean(&[1.0, 2.0, 3.0]), 2.0);
        assert_eq!(kahan_mean(&[f64::MAX, f64::MAX]), f64::MAX);
        assert_eq!(variance(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]), 4.0);
        assert_eq!(quantile(0.5, &mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(quantile(0.25, &mut [1.0, 2.0, 3.0]), 1.5);
        assert_eq!(quantile(2.0, &mut [1.0]), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }
}
