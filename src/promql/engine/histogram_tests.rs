//! Engine tests with native-histogram samples, over an in-memory `Querier` (the store's
//! histogram support is separate): lookback and stale markers, series that change between
//! floats and histograms, range selectors and range queries carrying histograms, `@`,
//! `offset`, `timestamp()`, and the float-only paths leaving histogram samples out (operators
//! and aggregations over histograms are pinned in testdata/promql/native_histogram_*.test).

use super::*;
use crate::model::{
    stale_nan, FloatHistogram, Histogram, HistogramSample, HistogramValue, Matcher, Sample, Span,
};
use crate::storage::StorageError;

/// Series held in memory; `select` filters by matchers and time like the store.
pub(super) struct Mem(pub(super) Vec<Series>);

impl Querier for Mem {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, StorageError> {
        let mut out: Vec<Series> = self
            .0
            .iter()
            .filter(|s| {
                matchers
                    .iter()
                    .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
            })
            .map(|s| Series {
                labels: s.labels.clone(),
                samples: s
                    .samples
                    .iter()
                    .filter(|x| x.t >= mint && x.t <= maxt)
                    .copied()
                    .collect(),
                histograms: s
                    .histograms
                    .iter()
                    .filter(|x| x.t >= mint && x.t <= maxt)
                    .cloned()
                    .collect(),
            })
            .filter(|s| !s.samples.is_empty() || !s.histograms.is_empty())
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }
    fn series(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<Labels>, StorageError> {
        Ok(self.0.iter().map(|s| s.labels.clone()).collect())
    }
    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<String>, StorageError> {
        Ok(Vec::new())
    }
    fn label_values(
        &self,
        _: &str,
        _: &[Matcher],
        _: i64,
        _: i64,
    ) -> Result<Vec<String>, StorageError> {
        Ok(Vec::new())
    }
}

/// An integer histogram with `n` observations in bucket 1 (schema 0: (1, 2]).
fn int(n: u64) -> Histogram {
    Histogram {
        count: n,
        sum: n as f64 * 1.5,
        positive_spans: vec![Span {
            offset: 1,
            length: 1,
        }],
        positive_buckets: vec![n as i64],
        ..Histogram::default()
    }
}

fn hs(t: i64, n: u64) -> HistogramSample {
    HistogramSample {
        t,
        h: HistogramValue::Int(int(n)),
    }
}

fn stale_h(t: i64) -> HistogramSample {
    HistogramSample {
        t,
        h: HistogramValue::Int(Histogram {
            sum: stale_nan(),
            ..Histogram::default()
        }),
    }
}

fn series(name: &str, samples: &[(i64, f64)], histograms: Vec<HistogramSample>) -> Series {
    Series {
        labels: Labels::from_pairs([("__name__", name)]),
        samples: samples.iter().map(|&(t, v)| Sample { t, v }).collect(),
        histograms,
    }
}

/// Per series of an instant query's result: name, and the float value or histogram count.
fn instant(q: &Mem, query: &str, t: i64) -> Vec<(String, Option<f64>, Option<f64>)> {
    match Engine::default().instant(q, query, t).unwrap() {
        Value::Vector(v) => v
            .into_iter()
            .map(|s| {
                let name = s.labels.to_string();
                match s.h {
                    Some(h) => (name, None, Some(h.count)),
                    None => (name, Some(s.v), None),
                }
            })
            .collect(),
        other => panic!("{query}: expected a vector, got {other:?}"),
    }
}

fn fixture() -> Mem {
    Mem(vec![
        // Histograms every 10s from 0 to 60s, a stale marker at 70s.
        series(
            "h",
            &[],
            (0..=6)
                .map(|i| hs(i * 10_000, i as u64 + 1))
                .chain([stale_h(70_000)])
                .collect(),
        ),
        // Floats until 20s, histograms from 30s, a float stale marker at 60s.
        series(
            "mixed",
            &[
                (0, 1.0),
                (10_000, 2.0),
                (20_000, 3.0),
                (60_000, stale_nan()),
            ],
            vec![hs(30_000, 5), hs(40_000, 6)],
        ),
        series("f", &[(0, 1.0), (30_000, 2.0)], vec![]),
    ])
}

#[test]
fn instant_selectors_return_histograms_with_lookback_and_staleness() {
    let q = fixture();
    assert_eq!(
        instant(&q, "h", 65_000),
        [("{__name__=\"h\"}".to_string(), None, Some(7.0))]
    );
    // The stale marker at 70s ends the series at once (lookback would reach 60s).
    assert!(instant(&q, "h", 70_000).is_empty());
    assert!(instant(&q, "h", 100_000).is_empty());
    // Lookback (5m) finds the newest histogram.
    assert_eq!(instant(&q, "h", 5_000)[0].2, Some(1.0));
    // A series changing from floats to histograms: the newest sample of either kind.
    assert_eq!(instant(&q, "mixed", 25_000)[0].1, Some(3.0));
    assert_eq!(instant(&q, "mixed", 45_000)[0].2, Some(6.0));
    // A float stale marker newer than the last histogram ends it too.
    assert!(instant(&q, "mixed", 60_000).is_empty());
    // offset and @ read at other times.
    assert_eq!(instant(&q, "h offset 30s", 65_000)[0].2, Some(4.0));
    assert_eq!(instant(&q, "h @ 20", 65_000)[0].2, Some(3.0));
    assert_eq!(instant(&q, "mixed @ 15", 100_000)[0].1, Some(2.0));
    // timestamp() works on histogram samples.
    assert_eq!(
        instant(&q, "timestamp(h)", 65_000),
        [("{}".to_string(), Some(60.0), None)]
    );
    assert_eq!(instant(&q, "timestamp(mixed)", 45_000)[0].1, Some(40.0));
}

#[test]
fn histogram_values_are_the_float_form() {
    let q = fixture();
    let Value::Vector(v) = Engine::default().instant(&q, "h", 25_000).unwrap() else {
        panic!("vector");
    };
    let want: FloatHistogram = int(3).to_float();
    assert_eq!(v[0].h.as_deref(), Some(&want));
    assert_eq!(v[0].t, 25_000);
}

#[test]
fn range_selectors_and_subqueries_carry_histograms() {
    let q = fixture();
    let Value::Matrix(m) = Engine::default().instant(&q, "mixed[30s]", 45_000).unwrap() else {
        panic!("matrix");
    };
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].samples, vec![Sample { t: 20_000, v: 3.0 }]);
    let ts: Vec<i64> = m[0].histograms.iter().map(|x| x.t).collect();
    assert_eq!(ts, [30_000, 40_000]);
    // The stale marker is not part of the window's samples.
    let Value::Matrix(m) = Engine::default().instant(&q, "h[35s]", 80_000).unwrap() else {
        panic!("matrix");
    };
    let ts: Vec<i64> = m[0].histograms.iter().map(|x| x.t).collect();
    assert_eq!(ts, [50_000, 60_000]);
    // Only a stale marker in the window: no series.
    let Value::Matrix(m) = Engine::default().instant(&q, "h[5s]", 72_000).unwrap() else {
        panic!("matrix");
    };
    assert!(m.is_empty());
    // A subquery over a histogram selector.
    let Value::Matrix(m) = Engine::default().instant(&q, "h[20s:10s]", 60_000).unwrap() else {
        panic!("matrix");
    };
    let counts: Vec<f64> = m[0]
        .histograms
        .iter()
        .map(|x| x.h.count_and_sum().0)
        .collect();
    assert_eq!(counts, [6.0, 7.0]);
}

#[test]
fn range_queries_collect_floats_and_histograms() {
    let q = fixture();
    let Value::Matrix(m) = Engine::default()
        .range(&q, "mixed", 0, 60_000, 10_000)
        .unwrap()
    else {
        panic!("matrix");
    };
    assert_eq!(m.len(), 1);
    let ft: Vec<i64> = m[0].samples.iter().map(|x| x.t).collect();
    let ht: Vec<(i64, f64)> = m[0]
        .histograms
        .iter()
        .map(|x| (x.t, x.h.count_and_sum().0))
        .collect();
    assert_eq!(ft, [0, 10_000, 20_000]);
    // 50s looks back to the histogram at 40s; 60s sees the float stale marker.
    assert_eq!(ht, [(30_000, 5.0), (40_000, 6.0), (50_000, 6.0)]);
    // Long enough to be split over threads: the parts join histograms too.
    let Value::Matrix(m) = Engine::default().range(&q, "h", 0, 69_999, 100).unwrap() else {
        panic!("matrix");
    };
    assert_eq!(m[0].histograms.len(), 700);
    assert!(m[0].histograms.windows(2).all(|w| w[0].t < w[1].t));
}

#[test]
fn float_functions_and_operators_leave_histograms_out() {
    let q = fixture();
    let e = Engine::default();
    let len = |query: &str| match e.instant(&q, query, 45_000).unwrap() {
        Value::Vector(v) => v.len(),
        other => panic!("{query}: {other:?}"),
    };
    // `{__name__=~"h|f"}` selects one histogram sample and one float sample.
    let both = "{__name__=~\"h|f\"}";
    assert_eq!(len(both), 2);
    for query in [
        format!("2 > bool {both}"),
        format!("abs({both})"),
        format!("round({both})"),
        format!("clamp_min({both}, 0)"),
        format!("count({both})"),
        format!("sort({both})"),
        format!("hour({both})"),
    ] {
        assert_eq!(len(&query), 1, "{query}");
    }
    // Label functions, set operators and sort_by_label keep histogram samples.
    for query in [
        format!("label_replace({both}, \"x\", \"y\", \"\", \"\")"),
        format!("{both} or vector(1)"),
        format!("{both} and {both}"),
        format!("sort_by_label({both}, \"__name__\")"),
        format!("label_join(timestamp({both}), \"n\", \"\", \"__name__\")"),
    ] {
        assert_eq!(len(&query), 2, "{query}");
    }
    assert_eq!(len("absent(h)"), 0);
    assert_eq!(len("absent_over_time(h[1m])"), 0);
    assert_eq!(len("scalar(h) + vector(0)"), 1);
    let Value::Vector(v) = e
        .instant(&q, "label_replace(h, \"x\", \"y\", \"\", \"\")", 45_000)
        .unwrap()
    else {
        panic!("vector");
    };
    assert_eq!(v[0].h.as_ref().map(|h| h.count), Some(5.0));
    assert_eq!(v[0].labels.get("x"), Some("y"));
    // Range functions compute with histograms (part 2): last_over_time keeps both samples
    // (and their names); rate gives both series a value without a name, as Prometheus does.
    assert_eq!(len(&format!("last_over_time({both}[1m])")), 2);
    assert!(e.instant(&q, &format!("rate({both}[1m])"), 45_000).is_err());
}
