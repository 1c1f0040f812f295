//! Opening a store that holds 50,000 series with 150 samples each (a sealed chunk and an open
//! one per series, closed cleanly: nothing to replay), as `promterm serve` does at a restart,
//! from the head snapshot a clean shutdown writes and from the database alone (the snapshot
//! removed, as after a crash): `cargo bench --bench restart`.

use criterion::{criterion_group, criterion_main, Criterion};
use promterm::model::Sample;
use promterm::storage::{Appender, SeriesInput};
use promterm::tsdb::{Db, Options};

const SERIES: usize = 50_000;
const STEPS: i64 = 150;

fn opts() -> Options {
    Options {
        retention_ms: 0,
        ..Options::default()
    }
}

fn stored() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (db, _) = Db::open(dir.path(), opts()).expect("a new store");
    let labels: Vec<[String; 4]> = (0..SERIES)
        .map(|i| {
            [
                format!("bench_metric_{}", i % 50),
                format!("host-{}:9100", i / 50),
                ["GET", "POST", "PUT"][i % 3].to_string(),
                (i % 7).to_string(),
            ]
        })
        .collect();
    for part in (0..STEPS).collect::<Vec<i64>>().chunks(50) {
        let batch: Vec<SeriesInput> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| SeriesInput {
                labels: vec![
                    ("__name__", l[0].as_str()),
                    ("instance", l[1].as_str()),
                    ("job", "bench"),
                    ("method", l[2].as_str()),
                    ("shard", l[3].as_str()),
                ],
                samples: part
                    .iter()
                    .map(|&k| Sample {
                        t: k * 15_000 + (i % 9) as i64,
                        v: (k * (i as i64 % 13 + 1)) as f64,
                    })
                    .collect(),
            })
            .collect();
        db.append(&batch).expect("appended");
    }
    db.close().expect("closed");
    dir
}

fn bench(c: &mut Criterion) {
    let dir = stored();
    let mut g = c.benchmark_group("restart");
    g.sample_size(10);
    for (name, snapshot) in [
        ("open_50k_series", true),
        ("open_50k_series_from_db", false),
    ] {
        g.bench_function(name, |b| bench_open(b, dir.path(), snapshot));
    }
    g.finish();
}

/// Opens the store `n` times, timing only the openings; each is closed before the next.
fn bench_open(b: &mut criterion::Bencher<'_>, dir: &std::path::Path, snapshot: bool) {
    b.iter_custom(|n| {
        let mut spent = std::time::Duration::ZERO;
        for _ in 0..n {
            if !snapshot {
                // As after a crash: no snapshot of the head.
                let _ = std::fs::remove_file(dir.join("head.snapshot"));
            }
            let t = std::time::Instant::now();
            let (db, report) = Db::open(dir, opts()).expect("reopened");
            spent += t.elapsed();
            assert_eq!(report.series_loaded, SERIES);
            assert_eq!(report.from_snapshot, snapshot);
            db.close().expect("closed");
        }
        spent
    })
}

criterion_group!(benches, bench);
criterion_main!(benches);
