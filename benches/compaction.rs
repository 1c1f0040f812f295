//! Compaction of a closed 2h range: 1000 series, each with the range's 480 scrapes stored in
//! five rows (one per flush), merged into one row per series (`Db::compact_closed_ranges`:
//! reading the rows, decoding, re-encoding in the packed format, one transaction per batch).
//! For scale, the flush that wrote those rows in the first place is timed too.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use promterm::model::Sample;
use promterm::storage::{Appender, SeriesInput};
use promterm::tsdb::{Db, Options};

const SERIES: usize = 1000;
/// A 2h range boundary.
const T0: i64 = 236_110 * 7_200_000;

fn write(db: &Db, from: usize, to: usize) {
    let hosts: Vec<String> = (0..SERIES).map(|i| format!("host-{i}")).collect();
    let batch: Vec<SeriesInput> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| SeriesInput {
            labels: vec![("__name__", "m"), ("instance", h.as_str())],
            samples: (from..to)
                .map(|k| Sample {
                    t: T0 + k as i64 * 15_000 + (k * 7 + i) as i64 % 5,
                    v: ((k * (i + 3)) % 977) as f64 * 0.5,
                })
                .collect(),
        })
        .collect();
    db.append(&batch).expect("append");
}

/// A store whose first range holds five rows per series and is closed.
fn store() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (db, _) = Db::open(
        dir.path(),
        Options {
            retention_ms: 0,
            ..Options::default()
        },
    )
    .expect("open");
    for (a, b) in [(0, 130), (130, 250), (250, 370), (370, 479), (479, 481)] {
        write(&db, a, b);
        db.flush().expect("flush");
    }
    (dir, db)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("compaction");
    g.sample_size(10);
    g.throughput(Throughput::Elements((SERIES * 480) as u64));
    g.bench_function("merge_closed_range_1000x5_rows", |b| {
        b.iter_batched(
            store,
            |(dir, db)| {
                let st = db.compact_closed_ranges().expect("compaction");
                assert_eq!(st.rows_written, SERIES);
                (dir, db)
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("flush_of_the_same_samples", |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().expect("tempdir");
                let (db, _) = Db::open(dir.path(), Options::default()).expect("open");
                write(&db, 0, 481);
                (dir, db)
            },
            |(dir, db)| {
                db.flush().expect("flush");
                (dir, db)
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
