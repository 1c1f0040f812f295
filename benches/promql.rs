//! PromQL range-query latency over 10k series (2h at 15s, evaluated every 15s): rate, sum by,
//! histogram_quantile and a one-to-one join; three of them again with query statistics counted.

use criterion::{criterion_group, criterion_main, Criterion};
use promterm::model::Sample;
use promterm::promql::engine::{Engine, Stop};
use promterm::promql::stats::StatsLevel;
use promterm::storage::{Appender, SeriesInput};
use promterm::tsdb::{Db, Options};
use std::hint::black_box;

const STEPS: i64 = 480;
const STEP: i64 = 15_000;

fn load(db: &Db) {
    // 100 instances x 10 handlers x 10 buckets = 10,000 bucket series, plus 1,000 counters and
    // 1,000 gauges to join against.
    let mut labels: Vec<Vec<(String, String)>> = Vec::new();
    for inst in 0..100 {
        for h in 0..10 {
            for le in [
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
            ] {
                labels.push(vec![
                    (
                        "__name__".into(),
                        "http_request_duration_seconds_bucket".into(),
                    ),
                    ("handler".into(), format!("/h{h}")),
                    ("instance".into(), format!("host-{inst}")),
                    ("job".into(), format!("job{}", inst % 5)),
                    ("le".into(), le.into()),
                ]);
            }
            for name in ["http_requests_total", "http_inflight"] {
                labels.push(vec![
                    ("__name__".into(), name.into()),
                    ("handler".into(), format!("/h{h}")),
                    ("instance".into(), format!("host-{inst}")),
                    ("job".into(), format!("job{}", inst % 5)),
                ]);
            }
        }
    }
    for w in (0..STEPS).step_by(60) {
        let batch: Vec<SeriesInput> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| SeriesInput {
                labels: l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect(),
                samples: (w..(w + 60).min(STEPS))
                    .map(|k| Sample {
                        t: k * STEP,
                        v: (k * (1 + i as i64 % 7)) as f64,
                    })
                    .collect(),
            })
            .collect();
        db.append(&batch).unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    load(&db);
    db.flush().unwrap();
    let engine = Engine::default();
    let (start, end) = (600_000, (STEPS - 1) * STEP);
    let mut g = c.benchmark_group("promql_range_2h");
    g.sample_size(10);
    for (name, q) in [
        ("rate", "rate(http_requests_total[5m])"),
        ("sum_by", "sum by (job) (rate(http_requests_total[5m]))"),
        ("histogram_quantile", "histogram_quantile(0.99, sum by (le, job) (rate(http_request_duration_seconds_bucket[5m])))"),
        ("join", "http_inflight / on(instance, handler) http_requests_total"),
        ("quantile_over_time", "quantile_over_time(0.9, http_inflight[10m])"),
        ("count_by_selector", "count by (job) (http_inflight)"),
    ] {
        g.bench_function(name, |b| b.iter(|| black_box(engine.range(&db, q, start, end, STEP).unwrap())));
    }
    g.finish();
    // The same queries with statistics counted per step (`stats=all`): the counting's cost
    // next to the plain runs above.
    let mut g = c.benchmark_group("promql_range_2h_stats");
    g.sample_size(10);
    let stop = Stop {
        stats: StatsLevel::PerStep,
        ..Stop::default()
    };
    for (name, q) in [
        ("rate", "rate(http_requests_total[5m])"),
        ("sum_by", "sum by (job) (rate(http_requests_total[5m]))"),
        (
            "join",
            "http_inflight / on(instance, handler) http_requests_total",
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(engine.run_range(&db, q, start, end, STEP, &stop).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
