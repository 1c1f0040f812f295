//! Comparing a promqltest eval's result with its expectation, as the upstream runner does
//! (`../shared/promqltest/FORMAT.md`, sections 9-11): floats within a relative 1e-6 (exact
//! zeros, NaN equal only to NaN, the stale marker only to itself); native histograms with
//! `FloatHistogram::test_equals` (empty buckets and span layout ignored, counts within 1e-6),
//! their counter-reset hint only when the expectation names one; a float never equals a
//! histogram. Label sets match exactly, order is checked only for ordered evals, matrices
//! must be sorted. Uses `script` and `promql`'s values and `model`.

use super::script::{Eval, EvalKind, Expected, SeriesLine};
use crate::model::FloatHistogram;
use crate::promql::engine::{InstantSample, Value};
use crate::promql::functions::almost_equal_eps;
use crate::storage::Series;

/// Float equality as upstream's `almost.Equal` with epsilon 1e-6.
pub fn almost_equal(a: f64, b: f64) -> bool {
    almost_equal_eps(a, b, 1e-6)
}

/// One value of a series line or a result: a float or a histogram (with, for expectations,
/// whether the hint is to be checked).
#[derive(Debug, Clone, Copy)]
enum Point<'a> {
    Float(f64),
    Histogram(&'a FloatHistogram, bool),
}

impl Point<'_> {
    fn matches(&self, got: &Point) -> bool {
        match (self, got) {
            (Point::Float(w), Point::Float(g)) => almost_equal(*w, *g),
            (Point::Histogram(w, hint), Point::Histogram(g, _)) => {
                w.test_equals(g) && (!hint || w.counter_reset_hint == g.counter_reset_hint)
            }
            _ => false,
        }
    }

    fn show(&self) -> String {
        match self {
            Point::Float(v) => v.to_string(),
            Point::Histogram(h, _) => show_histogram(h),
        }
    }
}

/// A histogram in the series notation's spirit, enough to tell two apart.
fn show_histogram(h: &FloatHistogram) -> String {
    let mut s = format!("{{{{schema:{} count:{} sum:{}", h.schema, h.count, h.sum);
    if h.zero_count != 0.0 || h.zero_threshold != 0.0 {
        s.push_str(&format!(
            " z_bucket:{} z_bucket_w:{}",
            h.zero_count, h.zero_threshold
        ));
    }
    let buckets = |b: &[f64]| {
        b.iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    if !h.positive_buckets.is_empty() {
        s.push_str(&format!(
            " buckets:[{}] spans:{:?}",
            buckets(&h.positive_buckets),
            h.positive_spans
                .iter()
                .map(|x| (x.offset, x.length))
                .collect::<Vec<_>>()
        ));
    }
    if !h.negative_buckets.is_empty() {
        s.push_str(&format!(
            " n_buckets:[{}] n_spans:{:?}",
            buckets(&h.negative_buckets),
            h.negative_spans
                .iter()
                .map(|x| (x.offset, x.length))
                .collect::<Vec<_>>()
        ));
    }
    if !h.custom_values.is_empty() {
        s.push_str(&format!(" custom_values:{:?}", h.custom_values));
    }
    if h.counter_reset_hint != Default::default() {
        s.push_str(&format!(" hint:{:?}", h.counter_reset_hint));
    }
    s.push_str("}}");
    s
}

/// The expected value in slot `i` of a series line (`None` for `_` or past the end).
fn slot(l: &SeriesLine, i: usize) -> Option<Point<'_>> {
    if let Some(Some(v)) = l.values.get(i) {
        return Some(Point::Float(*v));
    }
    l.histograms
        .iter()
        .find(|(s, _)| *s == i)
        .map(|(_, p)| Point::Histogram(&p.h, p.hint_given))
}

/// Every expected value of a line with its slot, in slot order.
fn slots(l: &SeriesLine) -> Vec<(usize, Point<'_>)> {
    let n = l
        .values
        .len()
        .max(l.histograms.last().map_or(0, |(s, _)| s + 1));
    (0..n).filter_map(|i| slot(l, i).map(|p| (i, p))).collect()
}

fn sample_point(s: &InstantSample) -> Point<'_> {
    match &s.h {
        Some(h) => Point::Histogram(h, false),
        None => Point::Float(s.v),
    }
}

/// A result series' points (floats and histograms merged by time), oldest first.
fn series_points(s: &Series) -> Vec<(i64, Point<'static>, Option<FloatHistogram>)> {
    let mut out: Vec<(i64, Point<'static>, Option<FloatHistogram>)> = s
        .samples
        .iter()
        .map(|x| (x.t, Point::Float(x.v), None))
        .chain(
            s.histograms
                .iter()
                .map(|x| (x.t, Point::Float(f64::NAN), Some(x.h.to_float()))),
        )
        .collect();
    out.sort_by_key(|x| x.0);
    out
}

fn show_vector(v: &[InstantSample]) -> String {
    v.iter()
        .map(|s| format!("{} {}", s.labels, sample_point(s).show()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn show_matrix(m: &[Series]) -> String {
    m.iter()
        .map(|s| {
            let pts: Vec<String> = series_points(s)
                .iter()
                .map(|(t, p, h)| match h {
                    Some(h) => format!("{}@{t}", show_histogram(h)),
                    None => format!("{}@{t}", p.show()),
                })
                .collect();
            format!("{} {}", s.labels, pts.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn show_lines(lines: &[SeriesLine]) -> String {
    lines
        .iter()
        .map(|l| {
            let n = l
                .values
                .len()
                .max(l.histograms.last().map_or(0, |(s, _)| s + 1));
            let vals: Vec<String> = (0..n)
                .map(|i| slot(l, i).map_or("_".to_string(), |p| p.show()))
                .collect();
            format!("{} {}", l.labels, vals.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Checks `got` against the eval's expected value.
pub fn compare(ev: &Eval, got: &Value) -> Result<(), String> {
    match (&ev.expected, got) {
        (Expected::Scalar(want), Value::Scalar { v, .. }) => {
            if almost_equal(*want, *v) {
                Ok(())
            } else {
                Err(format!("expected scalar {want}, got {v}"))
            }
        }
        (Expected::String(want), Value::String { v, .. }) => {
            if want == v {
                Ok(())
            } else {
                Err(format!("expected string {want:?}, got {v:?}"))
            }
        }
        (Expected::Series(lines), Value::Vector(vec)) => compare_vector(ev, lines, vec),
        (Expected::Series(lines), Value::Matrix(m)) => {
            if ev.ordered {
                return Err("an ordered eval cannot have a matrix result".into());
            }
            let (start, step) = match (ev.kind.clone(), ev.range_vector) {
                (_, Some((from, _, step))) => (from, step),
                (EvalKind::Range { start, step, .. }, None) => (start, step),
                (EvalKind::Instant { .. }, None) => {
                    return Err(format!(
                        "expected a vector, got a matrix:\n{}",
                        show_matrix(m)
                    ))
                }
            };
            compare_matrix(lines, m, start, step)
        }
        (want, got) => Err(format!(
            "expected {}, got {}: {got:?}",
            match want {
                Expected::Scalar(_) => "a scalar",
                Expected::String(_) => "a string",
                Expected::Series(_) => "a vector or matrix",
            },
            got.type_name()
        )),
    }
}

fn compare_vector(ev: &Eval, lines: &[SeriesLine], vec: &[InstantSample]) -> Result<(), String> {
    let fail = |m: String| {
        Err(format!(
            "{m}\n expected:\n{}\n got:\n{}",
            show_lines(lines),
            show_vector(vec)
        ))
    };
    if ev.ordered {
        if lines.len() != vec.len() {
            return fail(format!(
                "expected {} samples, got {}",
                lines.len(),
                vec.len()
            ));
        }
        for (i, (l, s)) in lines.iter().zip(vec).enumerate() {
            if l.labels != s.labels || !slot(l, 0).is_some_and(|w| w.matches(&sample_point(s))) {
                return fail(format!("position {} differs", i + 1));
            }
        }
        return Ok(());
    }
    for s in vec {
        let Some(l) = lines.iter().find(|l| l.labels == s.labels) else {
            return fail(format!("unexpected metric {} in result", s.labels));
        };
        let got = sample_point(s);
        match slot(l, 0) {
            Some(w) if w.matches(&got) => {}
            w => {
                return fail(format!(
                    "{}: expected {}, got {}",
                    s.labels,
                    w.map_or("nothing".to_string(), |w| w.show()),
                    got.show()
                ))
            }
        }
    }
    for l in lines {
        if !vec.iter().any(|s| s.labels == l.labels) {
            return fail(format!("expected metric {} not found", l.labels));
        }
    }
    Ok(())
}

fn compare_matrix(lines: &[SeriesLine], m: &[Series], start: i64, step: i64) -> Result<(), String> {
    let fail = |msg: String| {
        Err(format!(
            "{msg}\n expected:\n{}\n got:\n{}",
            show_lines(lines),
            show_matrix(m)
        ))
    };
    if m.windows(2).any(|w| w[0].labels > w[1].labels) {
        return fail("matrix results should always be sorted by labels".into());
    }
    for s in m {
        let Some(l) = lines.iter().find(|l| l.labels == s.labels) else {
            return fail(format!("unexpected metric {} in result", s.labels));
        };
        let want: Vec<(i64, Point)> = slots(l)
            .into_iter()
            .map(|(i, p)| (start + i as i64 * step, p))
            .collect();
        let got = series_points(s);
        if want.len() != got.len() {
            return fail(format!(
                "{}: expected {} points, got {}",
                s.labels,
                want.len(),
                got.len()
            ));
        }
        for ((wt, wp), (gt, gp, gh)) in want.iter().zip(&got) {
            let gp = match gh {
                Some(h) => Point::Histogram(h, false),
                None => *gp,
            };
            if wt != gt || !wp.matches(&gp) {
                return fail(format!(
                    "{}: expected {} at {wt}, got {} at {gt}",
                    s.labels,
                    wp.show(),
                    gp.show()
                ));
            }
        }
    }
    for l in lines {
        if !m.iter().any(|s| s.labels == l.labels) {
            return fail(format!("expected metric {} not found", l.labels));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
