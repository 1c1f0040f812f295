//! The query statistics' sample counts against Prometheus's own: the cases of upstream's
//! TestQueryStatistics (promql/engine_test.go) over the same data — 1 and 3 float series and
//! one native-histogram series (weighing 13 samples a point), a point every 10 s — with
//! instant selectors, range selectors, `@`, `offset`, `timestamp()`, subqueries, and range
//! queries' per-step counts.

use super::histogram_tests::Mem;
use super::*;
use crate::model::{FloatHistogram, HistogramSample, HistogramValue, Sample, Span};
use crate::promql::stats::StatsLevel;

fn data() -> Mem {
    let floats = |pairs: &[(&str, &str)]| Series {
        labels: Labels::from_pairs(pairs.iter().copied()),
        samples: (0..=100)
            .map(|i| Sample {
                t: i * 10_000,
                v: 1.0 + i as f64,
            })
            .collect(),
        histograms: Vec::new(),
    };
    let hist = |i: i64| FloatHistogram {
        schema: 1,
        count: 5.0 + 10.0 * i as f64,
        sum: 20.0 + 5.0 * i as f64,
        positive_spans: vec![Span {
            offset: 0,
            length: 4,
        }],
        positive_buckets: [1.0, 2.0, 1.0, 1.0]
            .iter()
            .zip([1.0, 2.0, 3.0, 4.0])
            .map(|(a, d)| a + d * i as f64)
            .collect(),
        ..FloatHistogram::default()
    };
    Mem(vec![
        floats(&[("__name__", "metricWith1SampleEvery10Seconds")]),
        floats(&[
            ("__name__", "metricWith3SampleEvery10Seconds"),
            ("a", "1"),
            ("b", "1"),
        ]),
        floats(&[
            ("__name__", "metricWith3SampleEvery10Seconds"),
            ("a", "2"),
            ("b", "2"),
        ]),
        floats(&[
            ("__name__", "metricWith3SampleEvery10Seconds"),
            ("a", "3"),
            ("b", "2"),
        ]),
        Series {
            labels: Labels::from_pairs([("__name__", "metricWith1HistogramEvery10Seconds")]),
            samples: Vec::new(),
            histograms: (0..=100)
                .map(|i| HistogramSample {
                    t: i * 10_000,
                    h: HistogramValue::Float(hist(i)),
                })
                .collect(),
        },
    ])
}

fn stop() -> Stop {
    Stop {
        stats: StatsLevel::PerStep,
        ..Stop::default()
    }
}

#[test]
fn instant_queries_count_as_prometheus() {
    let db = data();
    let e = Engine::default();
    for (q, at_s, total) in [
        ("\"literal string\"", 21, 0),
        ("1", 21, 0),
        ("metricWith1SampleEvery10Seconds", 21, 1),
        ("metricWith1HistogramEvery10Seconds", 21, 13),
        ("timestamp(metricWith1SampleEvery10Seconds)", 21, 1),
        ("timestamp(metricWith1HistogramEvery10Seconds)", 21, 1),
        ("metricWith1SampleEvery10Seconds offset 10s", 21, 1),
        ("metricWith1SampleEvery10Seconds @ 15", 21, 1),
        ("metricWith3SampleEvery10Seconds{a=\"1\"} @ 19", 21, 1),
        ("metricWith3SampleEvery10Seconds{a=\"1\"}[20s] @ 19", 21, 2),
        ("metricWith3SampleEvery10Seconds", 21, 3),
        ("metricWith1SampleEvery10Seconds[60s]", 201, 6),
        ("metricWith1HistogramEvery10Seconds[60s]", 201, 78),
        ("max_over_time(metricWith1SampleEvery10Seconds[60s])[20s:5s]", 201, 24),
        ("max_over_time(metricWith1SampleEvery10Seconds[61s])[20s:5s]", 201, 26),
        ("max_over_time(metricWith1HistogramEvery10Seconds[60s])[20s:5s]", 201, 312),
        ("metricWith1SampleEvery10Seconds[60s] @ 30", 201, 4),
        ("metricWith1HistogramEvery10Seconds[60s] @ 30", 201, 52),
        ("sum(max_over_time(metricWith3SampleEvery10Seconds[60s] @ 30))", 201, 12),
        ("metricWith1SampleEvery10Seconds[60s] offset 10s", 201, 6),
        ("max_over_time(metricWith1SampleEvery10Seconds[60s])", 201, 6),
        ("absent_over_time(metricWith1SampleEvery10Seconds[60s])", 201, 6),
        ("max_over_time(metricWith3SampleEvery10Seconds[60s])", 201, 18),
        ("metricWith1SampleEvery10Seconds[60s:5s]", 201, 12),
        ("max_over_time(metricWith3SampleEvery10Seconds[60s:5s])", 201, 36),
        (
            "sum(max_over_time(metricWith3SampleEvery10Seconds[60s:5s])) + sum(max_over_time(metricWith3SampleEvery10Seconds[60s:5s]))",
            201,
            72,
        ),
    ] {
        let t = at_s * 1000;
        let out = e.run_instant(&db, q, t, &stop()).unwrap();
        let st = out.stats.expect("statistics asked for");
        assert_eq!(st.samples.total_queryable, total, "{q}");
        assert_eq!(st.samples.per_step, vec![(t, total)], "{q}");
        // Off, nothing is counted or attached.
        let plain = e.run_instant(&db, q, t, &Stop::default()).unwrap();
        assert!(plain.stats.is_none());
        assert_eq!(plain.value, out.value, "{q}");
    }
}

#[test]
fn range_queries_count_per_step_as_prometheus() {
    let db = data();
    let e = Engine::default();
    for (q, start_s, end_s, step_s, per_step) in [
        ("metricWith3SampleEvery10Seconds{a=\"1\"}", 201, 220, 5, vec![1, 1, 1, 1]),
        ("metricWith3SampleEvery10Seconds{a=\"1\"}", 204, 223, 5, vec![1, 1, 1, 1]),
        ("metricWith1HistogramEvery10Seconds", 204, 223, 5, vec![13, 13, 13, 13]),
        ("timestamp(metricWith1SampleEvery10Seconds)", 201, 220, 5, vec![1, 1, 1, 1]),
        ("timestamp(metricWith1HistogramEvery10Seconds)", 201, 220, 5, vec![1, 1, 1, 1]),
        (
            "max_over_time(metricWith3SampleEvery10Seconds{a=\"1\"}[10s])",
            991,
            1021,
            10,
            vec![1, 1, 0, 0],
        ),
        ("metricWith3SampleEvery10Seconds{a=\"1\"} offset 10s", 201, 220, 5, vec![1, 1, 1, 1]),
        (
            "max_over_time(metricWith3SampleEvery10Seconds[60s] @ 30)",
            201,
            220,
            5,
            vec![12, 12, 12, 12],
        ),
        ("metricWith3SampleEvery10Seconds", 201, 220, 5, vec![3, 3, 3, 3]),
        (
            "max_over_time(metricWith3SampleEvery10Seconds[60s])",
            201,
            220,
            5,
            vec![18, 18, 18, 18],
        ),
        (
            "max_over_time(metricWith3SampleEvery10Seconds[60s:5s])",
            201,
            220,
            5,
            vec![36, 36, 36, 36],
        ),
        (
            "sum by (b) (max_over_time(metricWith1SampleEvery10Seconds[60s:5s]))",
            201,
            220,
            5,
            vec![12, 12, 12, 12],
        ),
        (
            "sum(max_over_time(metricWith3SampleEvery10Seconds[60s:5s])) + sum(max_over_time(metricWith1SampleEvery10Seconds[60s:5s]))",
            201,
            220,
            5,
            vec![48, 48, 48, 48],
        ),
        // Aggregations folded series by series over an instant selector.
        ("sum(metricWith3SampleEvery10Seconds)", 201, 220, 5, vec![3, 3, 3, 3]),
        ("count by (b) (metricWith3SampleEvery10Seconds)", 201, 220, 5, vec![3, 3, 3, 3]),
        // Computed series by series (a range function over a plain selector), histograms too.
        ("rate(metricWith3SampleEvery10Seconds[60s])", 201, 220, 5, vec![18, 18, 18, 18]),
        ("sum(rate(metricWith1HistogramEvery10Seconds[30s]))", 201, 220, 5, vec![39, 39, 39, 39]),
    ] {
        let (start, end, step) = (start_s * 1000, end_s * 1000, step_s * 1000);
        let out = e.run_range(&db, q, start, end, step, &stop()).unwrap();
        let st = out.stats.expect("statistics asked for");
        let want: Vec<(i64, u64)> = per_step
            .iter()
            .enumerate()
            .map(|(i, n)| (start + i as i64 * step, *n))
            .collect();
        assert_eq!(st.samples.per_step, want, "{q}");
        assert_eq!(st.samples.total_queryable, per_step.iter().sum::<u64>(), "{q}");
        // Totals only: the same total, no steps.
        let totals = Stop {
            stats: StatsLevel::Totals,
            ..Stop::default()
        };
        let st = e.run_range(&db, q, start, end, step, &totals).unwrap().stats.unwrap();
        assert!(st.samples.per_step.is_empty());
        assert_eq!(st.samples.total_queryable, per_step.iter().sum::<u64>(), "{q}");
        assert!(st.samples.peak > 0 && st.timings.eval_total >= st.timings.inner_eval, "{q}");
    }
}
