//! Opening a store that holds 50,000 series with 150 samples each (a sealed chunk and an open
//! one per series, closed cleanly: nothing to replay), as `promterm serve` does at a restart:
//! `cargo bench --bench restart`.

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
    g.bench_function("open_50k_series", |b| {
        // Only the opening is timed; each store is closed before the next opening.
        b.iter_custom(|n| {
            let mut spent = std::time::Duration::ZERO;
            for _ in 0..n {
                let t = std::time::Instant::now();
                let (db, report) = Db::open(dir.path(), opts()).expect("reopened");
                spent += t.elapsed();
                assert_eq!(report.series_loaded, SERIES);
                db.close().expect("closed");
            }
            spent
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
