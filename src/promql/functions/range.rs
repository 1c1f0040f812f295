//! Functions over range vectors: rate, increase, delta, irate, idelta, deriv, predict_linear,
//! resets, changes and the `*_over_time` family. Each takes one series' samples in the window
//! (oldest first) and returns a value or `None` (no output for that series); `windows`
//! evaluates them over windows that hold native histograms too. Follows
//! Prometheus's promql/functions.go (`extrapolatedRate`, `instantValue`, `linearRegression`,
//! the `*_over_time` helpers) in our own words.

use super::{kahan_inc, kahan_mean, kahan_sum, quantile, variance};
use crate::model::Sample;

pub mod windows;

/// rate/increase/delta with Prometheus's extrapolation to the window edges.
/// `range_start`/`range_end` are the window bounds in ms; `range_s` its length in seconds.
pub fn extrapolated_rate(
    s: &[Sample],
    range_start: i64,
    range_end: i64,
    range_s: f64,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (first, last) = (s[0], s[s.len() - 1]);
    let mut result = last.v - first.v;
    if is_counter {
        let mut prev = first.v;
        for x in &s[1..] {
            if x.v < prev {
                result += prev;
            }
            prev = x.v;
        }
    }
    Some(extrapolate(
        s,
        result,
        range_start,
        range_end,
        range_s,
        is_counter,
        is_rate,
    ))
}

/// The extrapolation step of `extrapolated_rate`, given the window's raw `result` (the last
/// value minus the first, plus the value before each counter reset).
pub fn extrapolate(
    s: &[Sample],
    result: f64,
    range_start: i64,
    range_end: i64,
    range_s: f64,
    is_counter: bool,
    is_rate: bool,
) -> f64 {
    let (first, last) = (s[0], s[s.len() - 1]);
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_between = sampled / (s.len() - 1) as f64;
    let threshold = avg_between * 1.1;
    if to_start >= threshold {
        to_start = avg_between / 2.0;
    }
    if is_counter {
        // A counter cannot go below zero: do not extrapolate past its zero point.
        let mut to_zero = to_start;
        if result > 0.0 && first.v >= 0.0 {
            to_zero = sampled * (first.v / result);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_between / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= range_s;
    }
    result * factor
}

/// irate (`is_rate`) and idelta: from the last two samples.
pub fn instant_value(s: &[Sample], is_rate: bool) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (prev, last) = (s[s.len() - 2], s[s.len() - 1]);
    let mut v = if is_rate && last.v < prev.v {
        last.v
    } else {
        last.v - prev.v
    };
    let dt = last.t - prev.t;
    if dt == 0 {
        return None;
    }
    if is_rate {
        v /= dt as f64 / 1000.0;
    }
    Some(v)
}

/// Least-squares slope and intercept, with x in seconds relative to `intercept_t`.
pub fn linear_regression(s: &[Sample], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init_y = s[0].v;
    let mut const_y = true;
    for (i, x) in s.iter().enumerate() {
        if const_y && i > 0 && x.v != init_y {
            const_y = false;
        }
        n += 1.0;
        let xs = (x.t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(xs, sx, cx);
        (sy, cy) = kahan_inc(x.v, sy, cy);
        (sxy, cxy) = kahan_inc(xs * x.v, sxy, cxy);
        (sx2, cx2) = kahan_inc(xs * xs, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

pub fn deriv(s: &[Sample]) -> Option<f64> {
    (s.len() >= 2).then(|| linear_regression(s, s[0].t).0)
}

pub fn predict_linear(s: &[Sample], ts: i64, seconds: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(s, ts);
    Some(slope * seconds + intercept)
}

/// Holt's linear smoothing with smoothing factor `sf` and trend factor `tf`.
pub fn double_exponential_smoothing(s: &[Sample], sf: f64, tf: f64) -> Option<f64> {
    if s.len() < 2 {
        return None;
    }
    let (mut s0, mut s1, mut b) = (0.0f64, s[0].v, s[1].v - s[0].v);
    for (i, x) in s.iter().enumerate().skip(1) {
        let scaled = sf * x.v;
        if i > 1 {
            b = tf * (s1 - s0) + (1.0 - tf) * b;
        }
        let y = (1.0 - sf) * (s1 + b);
        s0 = s1;
        s1 = scaled + y;
    }
    Some(s1)
}

pub fn resets(s: &[Sample]) -> Option<f64> {
    (!s.is_empty()).then(|| s.windows(2).filter(|w| w[1].v < w[0].v).count() as f64)
}

pub fn changes(s: &[Sample]) -> Option<f64> {
    (!s.is_empty()).then(|| {
        s.windows(2)
            .filter(|w| !(w[1].v == w[0].v || (w[1].v.is_nan() && w[0].v.is_nan())))
            .count() as f64
    })
}

fn values(s: &[Sample]) -> Vec<f64> {
    s.iter().map(|x| x.v).collect()
}

/// The `*_over_time` functions that take only the samples.
pub fn over_time(name: &str, s: &[Sample]) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    Some(match name {
        "avg_over_time" => kahan_mean(&values(s)),
        "sum_over_time" => kahan_sum(s.iter().map(|x| x.v)),
        "count_over_time" => s.len() as f64,
        "min_over_time" => {
            s.iter()
                .skip(1)
                .fold(s[0].v, |m, x| if x.v < m || m.is_nan() { x.v } else { m })
        }
        "max_over_time" => {
            s.iter()
                .skip(1)
                .fold(s[0].v, |m, x| if x.v > m || m.is_nan() { x.v } else { m })
        }
        "last_over_time" => s[s.len() - 1].v,
        "first_over_time" => s[0].v,
        "present_over_time" => 1.0,
        "stdvar_over_time" => variance(&values(s)),
        "stddev_over_time" => variance(&values(s)).sqrt(),
        // A NaN sample makes the deviation NaN rather than being sorted away.
        "mad_over_time" if s.iter().any(|x| x.v.is_nan()) => f64::NAN,
        "mad_over_time" => {
            let mut v = values(s);
            let median = quantile(0.5, &mut v);
            let mut dev: Vec<f64> = v.iter().map(|x| (x - median).abs()).collect();
            quantile(0.5, &mut dev)
        }
        "ts_of_last_over_time" => s[s.len() - 1].t as f64 / 1000.0,
        "ts_of_first_over_time" => s[0].t as f64 / 1000.0,
        "ts_of_max_over_time" => {
            let mut best = s[0];
            for x in &s[1..] {
                if x.v >= best.v || best.v.is_nan() {
                    best = *x;
                }
            }
            best.t as f64 / 1000.0
        }
        "ts_of_min_over_time" => {
            let mut best = s[0];
            for x in &s[1..] {
                if x.v <= best.v || best.v.is_nan() {
                    best = *x;
                }
            }
            best.t as f64 / 1000.0
        }
        _ => return None,
    })
}

/// The functions `over_time` handles.
const OVER_TIME: [&str; 15] = [
    "avg_over_time",
    "sum_over_time",
    "count_over_time",
    "min_over_time",
    "max_over_time",
    "last_over_time",
    "first_over_time",
    "present_over_time",
    "stdvar_over_time",
    "stddev_over_time",
    "mad_over_time",
    "ts_of_last_over_time",
    "ts_of_first_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
];

/// Whether `name` is one of the functions `over_time` handles.
pub fn is_over_time(name: &str) -> bool {
    over_time_name(name).is_some()
}

/// `name` as the static name of an `over_time` function.
pub fn over_time_name(name: &str) -> Option<&'static str> {
    OVER_TIME.iter().find(|n| **n == name).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(points: &[(i64, f64)]) -> Vec<Sample> {
        points.iter().map(|&(t, v)| Sample { t, v }).collect()
    }

    #[test]
    fn rate_extrapolates_and_handles_resets() {
        // 0, 10, 20 at 0s, 10s, 20s in a 30s window (0, 30]: extrapolated to the end.
        let x = s(&[(10_000, 10.0), (20_000, 20.0), (30_000, 30.0)]);
        let r = extrapolated_rate(&x, 0, 30_000, 30.0, true, false).unwrap();
        assert!((r - 30.0).abs() < 1e-9, "{r}");
        // A reset adds the value before it.
        let y = s(&[(0, 5.0), (10_000, 8.0), (20_000, 2.0)]);
        let inc = extrapolated_rate(&y, 0, 20_000, 20.0, true, false).unwrap();
        assert!((inc - 5.0).abs() < 1e-9, "{inc}");
        assert!(extrapolated_rate(&y[..1], 0, 20_000, 20.0, true, true).is_none());
    }

    #[test]
    fn instant_and_regression() {
        let x = s(&[(0, 1.0), (10_000, 5.0), (20_000, 2.0)]);
        assert_eq!(
            instant_value(&x, true),
            Some(0.2),
            "irate after a reset uses the new value"
        );
        assert_eq!(instant_value(&x, false), Some(-3.0));
        let lin = s(&[(0, 0.0), (10_000, 10.0), (20_000, 20.0)]);
        assert!((deriv(&lin).unwrap() - 1.0).abs() < 1e-12);
        assert!((predict_linear(&lin, 20_000, 10.0).unwrap() - 30.0).abs() < 1e-9);
        assert_eq!(resets(&x), Some(1.0));
        assert_eq!(changes(&x), Some(2.0));
        assert_eq!(over_time("max_over_time", &x), Some(5.0));
        assert_eq!(over_time("ts_of_max_over_time", &x), Some(10.0));
    }
}
