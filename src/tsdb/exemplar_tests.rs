//! Store-level exemplar tests: appends through the WAL, queries, restarts (with and without a
//! flush in between), resizing and the figures.

use super::*;
use crate::model::{Matcher, Sample};
use crate::storage::{Appender, Exemplar, ExemplarInput, Querier, SeriesInput};

fn ex(trace: &str, v: f64, t: i64) -> Exemplar {
    Exemplar {
        labels: crate::model::Labels::from_pairs([("trace_id", trace)]),
        value: v,
        t,
    }
}

fn series(name: &str) -> Vec<(&str, &str)> {
    vec![("__name__", name), ("job", "j")]
}

fn add_samples(db: &Db, name: &str, ts: &[i64]) {
    db.append(&[SeriesInput {
        labels: series(name),
        samples: ts.iter().map(|&t| Sample { t, v: 1.0 }).collect(),
    }])
    .unwrap();
}

fn add(db: &Db, name: &str, list: Vec<Exemplar>) -> crate::storage::ExemplarStats {
    db.append_exemplars(&[ExemplarInput {
        series: series(name),
        exemplars: list,
    }])
    .unwrap()
}

fn query(db: &Db, name: &str) -> Vec<(i64, String)> {
    db.exemplars(
        &[vec![Matcher::equal("__name__", name)]],
        i64::MIN,
        i64::MAX,
    )
    .unwrap()
    .into_iter()
    .flat_map(|s| s.exemplars)
    .map(|e| (e.t, e.labels.get("trace_id").unwrap_or("").to_string()))
    .collect()
}

#[test]
fn append_counts_and_needs_a_known_series() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    add_samples(&db, "a", &[1000]);
    let st = add(
        &db,
        "a",
        vec![ex("t1", 1.0, 1000), ex("t0", 1.0, 900), ex("t2", 2.0, 2000)],
    );
    assert_eq!((st.accepted, st.out_of_order, st.invalid), (2, 1, 0));
    // A repeat of the newest is counted with the out-of-order ones (not stored).
    let st = add(
        &db,
        "a",
        vec![ex("t2", 2.0, 2000), ex(&"x".repeat(200), 1.0, 3000)],
    );
    assert_eq!((st.accepted, st.out_of_order, st.invalid), (0, 1, 1));
    // No sample was ever appended to "b": its exemplars are not stored.
    let st = add(&db, "b", vec![ex("t", 1.0, 1)]);
    assert_eq!((st.accepted, st.invalid), (0, 1));
    assert_eq!(
        query(&db, "a"),
        vec![(1000, "t1".into()), (2000, "t2".into())]
    );
    let f = db.exemplar_figures();
    assert_eq!(f.appended_total, 2);
    assert_eq!(f.out_of_order_total, 1);
    assert_eq!((f.in_storage, f.series_in_storage), (2, 1));
    assert_eq!(f.max_exemplars, 100_000);
    assert_eq!(f.oldest_t, Some(1000));
}

#[test]
fn exemplars_survive_a_restart_and_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
        add_samples(&db, "a", &[1000, 2000]);
        add_samples(&db, "b", &[1000]);
        add(&db, "a", vec![ex("a1", 1.0, 1000)]);
        add(&db, "b", vec![ex("b1", 1.0, 1500)]);
        db.sync_wal().unwrap();
    }
    {
        let (db, report) = Db::open(dir.path(), Options::default()).unwrap();
        assert_eq!(report.replayed_exemplars, 2);
        assert_eq!(query(&db, "a"), vec![(1000, "a1".into())]);
        // The replayed newest still decides what is out of order.
        assert_eq!(add(&db, "a", vec![ex("a1", 1.0, 1000)]).accepted, 0);
        // A flush drops the segments holding these records: the checkpoint keeps them.
        db.flush().unwrap();
        add(&db, "a", vec![ex("a2", 2.0, 2000)]);
        db.flush().unwrap();
        db.close().unwrap();
    }
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(
        query(&db, "a"),
        vec![(1000, "a1".into()), (2000, "a2".into())]
    );
    assert_eq!(query(&db, "b"), vec![(1500, "b1".into())]);
}

#[test]
fn resize_and_disable() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        max_exemplars: 2,
        ..Options::default()
    };
    let (db, _) = Db::open(dir.path(), opts).unwrap();
    add_samples(&db, "a", &[1]);
    let st = add(&db, "a", (1..=5).map(|t| ex("x", 1.0, t)).collect());
    assert_eq!(st.accepted, 5);
    assert_eq!(query(&db, "a").len(), 2);
    db.set_max_exemplars(1);
    assert_eq!(query(&db, "a"), vec![(5, "x".into())]);
    assert_eq!(db.exemplar_figures().max_exemplars, 1);
    db.set_max_exemplars(0);
    assert!(query(&db, "a").is_empty());
    let st = add(&db, "a", vec![ex("y", 1.0, 10)]);
    assert_eq!(st, crate::storage::ExemplarStats::default());
    assert!(query(&db, "a").is_empty());
    // Size 0 at open: replayed exemplars are not kept either.
    drop(db);
    let opts = Options {
        max_exemplars: 0,
        ..Options::default()
    };
    let (db, report) = Db::open(dir.path(), opts).unwrap();
    assert_eq!(report.replayed_exemplars, 0);
    assert!(query(&db, "a").is_empty());
    assert!(db.head_bytes() > 0);
}

/// Figures, not a timed test: `cargo test --release --lib exemplar_figures -- --ignored
/// --nocapture` prints the cost of a full buffer of 100000 exemplars (memory, WAL bytes,
/// append and replay time).
#[test]
#[ignore]
fn exemplar_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    let names: Vec<String> = (0..1000).map(|i| format!("s{i}")).collect();
    let batch: Vec<SeriesInput> = names
        .iter()
        .map(|n| SeriesInput {
            labels: vec![("__name__", "req_total"), ("id", n.as_str())],
            samples: vec![Sample { t: 1, v: 1.0 }],
        })
        .collect();
    db.append(&batch).unwrap();
    let wal_bytes = |db: &Db| -> u64 {
        std::fs::read_dir(db.wal_dir())
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    };
    let (bytes0, wal0) = (db.head_bytes(), wal_bytes(&db));
    let started = std::time::Instant::now();
    for round in 0..100i64 {
        let input: Vec<ExemplarInput> = names
            .iter()
            .map(|n| ExemplarInput {
                series: vec![("__name__", "req_total"), ("id", n.as_str())],
                exemplars: vec![Exemplar {
                    labels: crate::model::Labels::from_pairs([
                        ("trace_id", format!("{:032x}", round * 1000)),
                        ("span_id", format!("{:016x}", round)),
                    ]),
                    value: round as f64,
                    t: 1000 + round,
                }],
            })
            .collect();
        assert_eq!(db.append_exemplars(&input).unwrap().accepted, 1000);
    }
    let append = started.elapsed();
    let f = db.exemplar_figures();
    assert_eq!(f.in_storage, 100_000);
    let mem = db.head_bytes() - bytes0;
    let live_wal = wal_bytes(&db) - wal0;
    db.flush().unwrap();
    let after_flush = wal_bytes(&db);
    db.close().unwrap();
    drop(db);
    let started = std::time::Instant::now();
    let (db, report) = Db::open(dir.path(), Options::default()).unwrap();
    let replay = started.elapsed();
    assert_eq!(report.replayed_exemplars, 100_000);
    assert_eq!(db.exemplar_figures().in_storage, 100_000);
    println!(
        "100000 exemplars (trace_id 32 hex, span_id 16 hex): append {:.0} ns each, \
         memory {} bytes ({} per exemplar), live WAL {} bytes, WAL after a flush \
         (checkpoint) {} bytes, reopen with replay {:?}",
        append.as_nanos() as f64 / 100_000.0,
        mem,
        mem / 100_000,
        live_wal,
        after_flush,
        replay
    );
}
