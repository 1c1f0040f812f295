//! One range function over one series' window holding float samples, native-histogram
//! samples or both (`evaluate`), with the annotations Prometheus 3 gives (`Note`). Windows of
//! floats only go to the float functions of `range`, so their results are exactly those;
//! histograms follow promql/functions.go (`extrapolatedRate`/`histogramRate`,
//! `instantValue`, `funcResets`, `funcChanges`, the `*_over_time` family) in our own words:
//! - rate/increase/delta: the last histogram minus the first (at the lowest schema in the
//!   window), plus the histogram before each counter reset (`detect_reset`, hints honoured),
//!   extrapolated like floats; the result is a gauge histogram. A window mixing floats and
//!   histograms gives no result and a warning;
//! - irate/idelta: from the last two samples, of one kind;
//! - resets/changes: a switch between float and histogram counts as one;
//! - sum/avg_over_time add histograms; count, present, first, last and the `ts_of_first/last`
//!   functions take either kind; the other `*_over_time` functions, deriv, predict_linear and
//!   double_exponential_smoothing compute over the floats and ignore histograms with an info.
//!
//! Uses the float functions of `range`, the helpers of `functions`, `histogram_sum`
//! (compensated histogram sums and means), and `model`'s histograms and their arithmetic.

use super::{
    changes, deriv, double_exponential_smoothing, extrapolated_rate, instant_value, over_time,
    predict_linear, resets,
};
use crate::model::{CounterResetHint, FloatHistogram, HistogramMathError, Sample};
use crate::promql::functions::quantile;
use crate::promql::histogram_sum::{HistogramMean, HistogramSum};

/// One histogram sample of a window: its time and (borrowed) float histogram.
#[derive(Debug, Clone, Copy)]
pub struct HPoint<'a> {
    pub t: i64,
    pub h: &'a FloatHistogram,
}

/// A range function's value for one series.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Float(f64),
    Histogram(FloatHistogram),
}

/// The operation named in the histogram-arithmetic annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistOp {
    Addition,
    Subtraction,
    Aggregation,
}

impl HistOp {
    fn name(self) -> &'static str {
        match self {
            HistOp::Addition => "addition",
            HistOp::Subtraction => "subtraction",
            HistOp::Aggregation => "aggregation",
        }
    }
}

/// An annotation a range function gives for one series (the metric name is filled in when
/// the message is made).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// Warning: the function cannot compute over a mix of floats and histograms.
    MixedFloatsHistograms,
    /// Warning: a counter function over a gauge histogram.
    NotCounter,
    /// Warning: a gauge function over a counter histogram.
    NotGauge,
    /// Warning: exponential and custom-bucket histograms cannot be combined.
    MixedExponentialCustom,
    /// Warning: custom-bucket histograms whose bounds could not be reconciled.
    IncompatibleCustomBuckets,
    /// Info: custom-bucket histograms with different bounds were combined on common bounds.
    MismatchedCustomBuckets(HistOp),
    /// Warning: histograms hinted as counter reset and as not one were added.
    CounterResetCollision(HistOp),
    /// Info: the histograms of a window holding floats too were ignored.
    HistogramsIgnored,
}

impl Note {
    /// A warning (else an info).
    pub fn is_warning(self) -> bool {
        !matches!(
            self,
            Note::MismatchedCustomBuckets(_) | Note::HistogramsIgnored
        )
    }

    /// The message as Prometheus words it, for series of metric `metric`.
    pub fn message(self, metric: &str) -> String {
        match self {
            Note::MixedFloatsHistograms => {
                format!("encountered a mix of histograms and floats for metric name {metric:?}")
            }
            Note::NotCounter => {
                format!("this native histogram metric is not a counter: {metric:?}")
            }
            Note::NotGauge => format!("this native histogram metric is not a gauge: {metric:?}"),
            Note::MixedExponentialCustom => format!(
                "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"
            ),
            Note::IncompatibleCustomBuckets => format!(
                "vector contains histograms with incompatible custom buckets for metric name {metric:?}"
            ),
            Note::MismatchedCustomBuckets(op) => format!(
                "mismatched custom buckets were reconciled during {}",
                op.name()
            ),
            Note::CounterResetCollision(op) => {
                format!("conflicting counter resets during histogram {}", op.name())
            }
            Note::HistogramsIgnored => format!(
                "ignored histograms in a range containing both floats and histograms for metric name {metric:?}"
            ),
        }
    }
}

/// The note for a failed histogram combination.
fn math_note(e: HistogramMathError) -> Note {
    match e {
        HistogramMathError::MixedSchemas => Note::MixedExponentialCustom,
        HistogramMathError::IncompatibleBounds => Note::IncompatibleCustomBuckets,
    }
}

/// A function over range vectors, with its literal arguments.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RangeFn {
    /// rate (`rate`), increase (`counter`) and delta (neither).
    Rate {
        counter: bool,
        rate: bool,
    },
    /// irate (`rate`) and idelta.
    Instant {
        rate: bool,
    },
    Deriv,
    Resets,
    Changes,
    /// predict_linear with its seconds ahead.
    PredictLinear(f64),
    /// quantile_over_time with its quantile.
    Quantile(f64),
    /// double_exponential_smoothing with its smoothing and trend factors.
    Smoothing(f64, f64),
    /// One of the `*_over_time` functions `range::over_time` knows.
    OverTime(&'static str),
}

impl RangeFn {
    /// Whether the result keeps the metric name (last/first_over_time do).
    pub fn keeps_name(self) -> bool {
        matches!(
            self,
            RangeFn::OverTime("last_over_time" | "first_over_time")
        )
    }
}

/// One series' window: float and histogram samples (stale markers removed, oldest first),
/// the window bounds (start, end] in ms and its length in seconds, and the evaluation time.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pub floats: &'a [Sample],
    pub hists: &'a [HPoint<'a>],
    pub start: i64,
    pub end: i64,
    pub range_s: f64,
    pub ts: i64,
}

/// `f` over the window `w`; annotations are appended to `notes`. `None`: no output.
pub fn evaluate(f: RangeFn, w: &Window, notes: &mut Vec<Note>) -> Option<Out> {
    let (fl, hs) = (w.floats, w.hists);
    if hs.is_empty() {
        return float_only(f, w).map(Out::Float);
    }
    match f {
        RangeFn::Rate { counter, rate } => {
            if !fl.is_empty() {
                notes.push(Note::MixedFloatsHistograms);
                return None;
            }
            histogram_rate_extrapolated(hs, w, counter, rate, notes).map(Out::Histogram)
        }
        RangeFn::Instant { rate } => instant(fl, hs, rate, notes),
        RangeFn::Resets => Some(Out::Float(transitions(fl, hs, false))),
        RangeFn::Changes => Some(Out::Float(transitions(fl, hs, true))),
        RangeFn::Deriv | RangeFn::PredictLinear(_) | RangeFn::Smoothing(..) => {
            // At least two floats are needed; one float beside histograms gets the info.
            if fl.len() == 1 {
                notes.push(Note::HistogramsIgnored);
                return None;
            }
            let v = float_only(f, w)?;
            notes.push(Note::HistogramsIgnored);
            Some(Out::Float(v))
        }
        RangeFn::Quantile(_) => {
            let v = float_only(f, w)?;
            notes.push(Note::HistogramsIgnored);
            Some(Out::Float(v))
        }
        RangeFn::OverTime(name) => over_time_mixed(name, w, notes),
    }
}

/// `f` over the float samples of `w` (empty: no output).
fn float_only(f: RangeFn, w: &Window) -> Option<f64> {
    let s = w.floats;
    if s.is_empty() {
        return None;
    }
    match f {
        RangeFn::Rate { counter, rate } => {
            extrapolated_rate(s, w.start, w.end, w.range_s, counter, rate)
        }
        RangeFn::Instant { rate } => instant_value(s, rate),
        RangeFn::Deriv => deriv(s),
        RangeFn::Resets => resets(s),
        RangeFn::Changes => changes(s),
        RangeFn::PredictLinear(secs) => predict_linear(s, w.ts, secs),
        RangeFn::Quantile(q) => {
            let mut v: Vec<f64> = s.iter().map(|x| x.v).collect();
            Some(quantile(q, &mut v))
        }
        RangeFn::Smoothing(sf, tf) => double_exponential_smoothing(s, sf, tf),
        RangeFn::OverTime(name) => over_time(name, s),
    }
}

/// A copy of `h` at `schema` (lower than or equal to its own).
fn at_schema(h: &FloatHistogram, schema: i32) -> FloatHistogram {
    let mut c = h.clone();
    if c.schema > schema {
        c.reduce_resolution(schema);
    }
    c
}

/// The raw increase (counter) or difference (gauge) of the histograms `p` (at least two),
/// before extrapolation: a gauge histogram, or `None` when they cannot be combined.
pub fn histogram_increase(
    p: &[HPoint],
    counter: bool,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    let n = p.len();
    let last = p[n - 1].h;
    let empty;
    let mut prev = p[0].h;
    if counter
        && (prev.counter_reset_hint == CounterResetHint::Gauge
            || last.counter_reset_hint == CounterResetHint::Gauge)
    {
        notes.push(Note::NotCounter);
    }
    // A reset right after the first histogram: the first is not needed (nor its layout).
    if counter && n > 1 && p[1].h.detect_reset(prev) {
        empty = FloatHistogram {
            schema: p[1].h.schema,
            custom_values: p[1].h.custom_values.clone(),
            ..FloatHistogram::default()
        };
        prev = &empty;
    }
    let custom = prev.uses_custom_buckets();
    if last.uses_custom_buckets() != custom {
        notes.push(Note::MixedExponentialCustom);
        return None;
    }
    let mut min_schema = last.schema.min(prev.schema);
    if counter {
        let mut inner = Vec::new();
        for x in &p[1..n - 1] {
            if x.h.counter_reset_hint == CounterResetHint::Gauge {
                inner.push(Note::NotCounter);
            }
            min_schema = min_schema.min(x.h.schema);
            if x.h.uses_custom_buckets() != custom {
                // Prometheus reports only this, dropping the notes so far.
                notes.push(Note::MixedExponentialCustom);
                return None;
            }
        }
        notes.extend(inner);
    }
    let mut h = at_schema(last, min_schema);
    match h.sub(prev) {
        Err(e) => {
            notes.push(math_note(e));
            return None;
        }
        Ok(o) if o.custom_bounds_reconciled => {
            notes.push(Note::MismatchedCustomBuckets(HistOp::Subtraction));
        }
        Ok(_) => {}
    }
    if counter {
        let mut prev = prev;
        for x in &p[1..] {
            if x.h.detect_reset(prev) {
                match h.add(prev) {
                    Err(e) => {
                        notes.push(math_note(e));
                        return None;
                    }
                    Ok(o) if o.custom_bounds_reconciled => {
                        notes.push(Note::MismatchedCustomBuckets(HistOp::Addition));
                    }
                    Ok(_) => {}
                }
            }
            prev = x.h;
        }
    } else if p[0].h.counter_reset_hint != CounterResetHint::Gauge
        || last.counter_reset_hint != CounterResetHint::Gauge
    {
        notes.push(Note::NotGauge);
    }
    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact(0);
    Some(h)
}

/// rate/increase/delta over histograms only, extrapolated to the window's edges.
fn histogram_rate_extrapolated(
    p: &[HPoint],
    w: &Window,
    counter: bool,
    rate: bool,
    notes: &mut Vec<Note>,
) -> Option<FloatHistogram> {
    if p.len() < 2 {
        return None;
    }
    let mut h = histogram_increase(p, counter, notes)?;
    let (first, last) = (p[0], p[p.len() - 1]);
    let factor = extrapolation_factor(
        (first.t, last.t, p.len()),
        (w.start, w.end, w.range_s),
        counter.then_some((first.h.count, h.count)),
        rate,
    );
    h.mul(factor);
    Some(h)
}

/// The factor Prometheus multiplies a window's raw increase by: the sampled interval
/// extended towards the window edges (by at most half an average sample distance where the
/// samples stop short of them, and for counters not past the extrapolated zero point,
/// `zero` = (first value, raw increase)), per second for `rate`.
pub fn extrapolation_factor(
    (first_t, last_t, n): (i64, i64, usize),
    (start, end, range_s): (i64, i64, f64),
    zero: Option<(f64, f64)>,
    rate: bool,
) -> f64 {
    let mut to_start = (first_t - start) as f64 / 1000.0;
    let mut to_end = (end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg = sampled / (n - 1) as f64;
    let threshold = avg * 1.1;
    if to_start >= threshold {
        to_start = avg / 2.0;
    }
    if let Some((first, result)) = zero {
        if result > 0.0 && first >= 0.0 {
            let to_zero = sampled * (first / result);
            if to_zero < to_start {
                to_start = to_zero;
            }
        }
    }
    if to_end >= threshold {
        to_end = avg / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if rate {
        factor /= range_s;
    }
    factor
}

/// irate/idelta over a window holding histograms: the last two samples must be of one kind.
fn instant(fl: &[Sample], hs: &[HPoint], rate: bool, notes: &mut Vec<Note>) -> Option<Out> {
    if fl.len() + hs.len() < 2 {
        return None;
    }
    // The last two samples of either kind, oldest first.
    let mut last: Vec<(i64, Option<&FloatHistogram>, f64)> = Vec::with_capacity(4);
    last.extend(
        fl[fl.len().saturating_sub(2)..]
            .iter()
            .map(|s| (s.t, None, s.v)),
    );
    last.extend(
        hs[hs.len().saturating_sub(2)..]
            .iter()
            .map(|x| (x.t, Some(x.h), 0.0)),
    );
    last.sort_by_key(|x| x.0);
    let (a, b) = (last[last.len() - 2], last[last.len() - 1]);
    let dt = b.0 - a.0;
    if dt == 0 {
        return None;
    }
    match (a.1, b.1) {
        (None, None) => {
            let s = [Sample { t: a.0, v: a.2 }, Sample { t: b.0, v: b.2 }];
            instant_value(&s, rate).map(Out::Float)
        }
        (Some(prev), Some(cur)) => {
            let mut h = cur.clone();
            let gauge = |x: &FloatHistogram| x.counter_reset_hint == CounterResetHint::Gauge;
            if rate && (gauge(cur) || gauge(prev)) {
                notes.push(Note::NotCounter);
            }
            if !rate && (!gauge(cur) || !gauge(prev)) {
                notes.push(Note::NotGauge);
            }
            if !rate || !cur.detect_reset(prev) {
                match h.sub(prev) {
                    Err(HistogramMathError::MixedSchemas) => {
                        notes.push(Note::MixedExponentialCustom);
                        return None;
                    }
                    Err(e) => {
                        notes.push(math_note(e));
                        return None;
                    }
                    Ok(o) if o.custom_bounds_reconciled => {
                        notes.push(Note::MismatchedCustomBuckets(HistOp::Subtraction));
                    }
                    Ok(_) => {}
                }
            }
            h.counter_reset_hint = CounterResetHint::Gauge;
            h.compact(0);
            if rate {
                h.div(dt as f64 / 1000.0);
            }
            Some(Out::Histogram(h))
        }
        _ => {
            notes.push(Note::MixedFloatsHistograms);
            None
        }
    }
}

/// resets (`changes` false) or changes over a window holding histograms: walks the samples
/// of both kinds in time order, comparing float pairs by value and histogram pairs with
/// `detect_reset` or `equals`, and counting each switch between kinds as one.
fn transitions(fl: &[Sample], hs: &[HPoint], changes: bool) -> f64 {
    enum P<'a> {
        F(f64),
        H(&'a FloatHistogram),
    }
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev: Option<P> = None;
    let mut n = 0usize;
    while i < fl.len() || j < hs.len() {
        let cur = if j >= hs.len() || (i < fl.len() && fl[i].t < hs[j].t) {
            i += 1;
            P::F(fl[i - 1].v)
        } else {
            j += 1;
            P::H(hs[j - 1].h)
        };
        if let Some(p) = &prev {
            let counted = match (p, &cur) {
                (P::F(a), P::F(b)) if changes => *b != *a && !(b.is_nan() && a.is_nan()),
                (P::F(a), P::F(b)) => *b < *a,
                (P::H(a), P::H(b)) if changes => !b.equals(a),
                (P::H(a), P::H(b)) => b.detect_reset(a),
                _ => true,
            };
            if counted {
                n += 1;
            }
        }
        prev = Some(cur);
    }
    n as f64
}

/// The `*_over_time` functions over a window holding histograms.
fn over_time_mixed(name: &str, w: &Window, notes: &mut Vec<Note>) -> Option<Out> {
    let (fl, hs) = (w.floats, w.hists);
    let ms = |t: i64| t as f64 / 1000.0;
    match name {
        "sum_over_time" | "avg_over_time" => {
            if !fl.is_empty() {
                notes.push(Note::MixedFloatsHistograms);
                return None;
            }
            sum_histograms(hs, name == "avg_over_time", notes).map(Out::Histogram)
        }
        "count_over_time" => Some(Out::Float((fl.len() + hs.len()) as f64)),
        "present_over_time" => Some(Out::Float(1.0)),
        "last_over_time" => {
            let h = hs[hs.len() - 1];
            match fl.last() {
                Some(f) if f.t > h.t => Some(Out::Float(f.v)),
                _ => Some(Out::Histogram(h.h.clone())),
            }
        }
        "first_over_time" => {
            let h = hs[0];
            match fl.first() {
                Some(f) if f.t < h.t => Some(Out::Float(f.v)),
                _ => Some(Out::Histogram(h.h.clone())),
            }
        }
        "ts_of_last_over_time" => {
            let t = fl.last().map_or(i64::MIN, |f| f.t).max(hs[hs.len() - 1].t);
            Some(Out::Float(ms(t)))
        }
        "ts_of_first_over_time" => {
            let t = fl.first().map_or(i64::MAX, |f| f.t).min(hs[0].t);
            Some(Out::Float(ms(t)))
        }
        // min, max, stddev, stdvar, mad and ts_of_min/max: floats only.
        _ => {
            let v = over_time(name, fl)?;
            notes.push(Note::HistogramsIgnored);
            Some(Out::Float(v))
        }
    }
}

/// The (compensated) sum or, with `mean`, the mean of the histograms `hs` (at least one),
/// with the counter-reset-collision warning and the reconciled-bounds info; `None` (and only
/// the error's warning) when they cannot be added.
fn sum_histograms(hs: &[HPoint], mean: bool, notes: &mut Vec<Note>) -> Option<FloatHistogram> {
    let hint = |x: &HPoint, want| x.h.counter_reset_hint == want;
    let reset = hs.iter().any(|x| hint(x, CounterResetHint::CounterReset));
    let not_reset = hs
        .iter()
        .any(|x| hint(x, CounterResetHint::NotCounterReset));
    let mut reconciled = false;
    let res = if mean {
        let mut acc = HistogramMean::new(hs[0].h);
        hs[1..]
            .iter()
            .try_for_each(|x| {
                acc.push(x.h)
                    .map(|o| reconciled |= o.custom_bounds_reconciled)
            })
            .map(|()| acc.result())
    } else {
        let mut acc = HistogramSum::new(hs[0].h);
        hs[1..]
            .iter()
            .try_for_each(|x| {
                acc.push(x.h)
                    .map(|o| reconciled |= o.custom_bounds_reconciled)
            })
            .map(|()| acc.result())
    };
    match res {
        Err(e) => {
            notes.push(math_note(e));
            None
        }
        Ok(h) => {
            if reset && not_reset {
                notes.push(Note::CounterResetCollision(HistOp::Aggregation));
            }
            if reconciled {
                notes.push(Note::MismatchedCustomBuckets(HistOp::Aggregation));
            }
            Some(h)
        }
    }
}

#[cfg(test)]
#[path = "windows_tests.rs"]
mod tests;
