//! Opening tests: the bulk load of persisted series (labels over shared strings, postings per
//! distinct pair, open chunks reopened on several threads) against what was stored, rows that
//! are damaged or not normalised, and crashes after a restart.

use super::*;
use crate::model::{MatchOp, Matcher, Sample};
use crate::storage::{Appender, Querier, SeriesInput};

fn opts() -> Options {
    Options {
        retention_ms: 0,
        ..Options::default()
    }
}

/// Series over a few jobs and instances; `n` of them with `steps` samples from `start`.
fn write(db: &Db, n: usize, steps: usize, start: i64) {
    let names: Vec<(String, String, String)> = (0..n)
        .map(|i| {
            (
                format!("metric_{}", i % 7),
                format!("job{}", i % 3),
                format!("host-{i}"),
            )
        })
        .collect();
    for k in (0..steps).collect::<Vec<_>>().chunks(40) {
        let batch: Vec<SeriesInput> = names
            .iter()
            .enumerate()
            .map(|(i, (m, j, h))| {
                let mut labels = vec![
                    ("__name__", m.as_str()),
                    ("instance", h.as_str()),
                    ("job", j.as_str()),
                ];
                labels.sort();
                SeriesInput {
                    labels,
                    samples: k
                        .iter()
                        .map(|&s| Sample {
                            t: start + s as i64 * 15_000 + (i % 5) as i64,
                            v: (s * (i + 3)) as f64 * 0.1 + i as f64,
                        })
                        .collect(),
                }
            })
            .collect();
        db.append(&batch).unwrap();
    }
}

fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()]
}

fn dump(db: &Db) -> Vec<(String, Vec<(i64, u64)>)> {
    db.select(&all(), i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|x| (x.t, x.v.to_bits())).collect(),
            )
        })
        .collect()
}

/// What the index answers: names, values, and the series a few matcher sets select.
fn index(db: &Db) -> Vec<Vec<String>> {
    let h = &db.inner.head;
    let sel = |ms: &[Matcher]| {
        h.postings(ms)
            .into_iter()
            .map(|id| h.get(id).unwrap().labels.to_string())
            .collect::<Vec<_>>()
    };
    vec![
        h.label_names(),
        h.label_values("job"),
        h.label_values("instance"),
        sel(&[Matcher::equal("job", "job1")]),
        sel(&[
            Matcher::new(MatchOp::Regex, "__name__", "metric_[12]").unwrap(),
            Matcher::new(MatchOp::NotEqual, "job", "job0").unwrap(),
        ]),
        sel(&all()),
    ]
}

#[test]
fn a_clean_restart_restores_series_index_and_open_chunks() {
    let dir = tempfile::tempdir().unwrap();
    // 150 steps: one sealed chunk (120 samples) and an open one per series.
    let (expected, expected_index) = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        write(&db, 300, 150, 0);
        db.close().unwrap();
        (dump(&db), index(&db))
    };
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(
        (
            report.series_loaded,
            report.bad_series_rows,
            report.replayed_samples
        ),
        (300, 0, 0)
    );
    assert_eq!(dump(&db), expected);
    assert_eq!(index(&db), expected_index);
    // Interned: two series of one job share the value's allocation.
    let h = &db.inner.head;
    let job1 = h.postings(&[Matcher::equal("job", "job1")]);
    let value = |id| h.get(id).unwrap().labels.get("job").unwrap().to_string();
    assert_eq!(value(job1[0]), value(job1[1]));
    // Appends continue the reopened open chunks: old times are rejected, new ones land after.
    write(&db, 300, 10, 150 * 15_000);
    let st = db
        .append(&[SeriesInput {
            labels: vec![
                ("__name__", "metric_0"),
                ("instance", "host-0"),
                ("job", "job0"),
            ],
            samples: vec![Sample { t: 5, v: 1.0 }],
        }])
        .unwrap();
    assert_eq!((st.accepted, st.out_of_order + st.duplicate), (0, 1));
    // A new series gets an id no restored series has.
    write(&db, 301, 1, 160 * 15_000);
    assert_eq!(db.num_series(), 301);
    let after = dump(&db);
    assert_eq!(after.iter().map(|s| s.1.len()).max(), Some(161));
    db.close().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), after);
    let after: std::collections::HashMap<_, _> = after.into_iter().collect();
    for (name, samples) in &expected {
        assert_eq!(
            &after[name][..samples.len()],
            &samples[..],
            "{name}: a prefix kept bit for bit"
        );
    }
}

#[test]
fn a_crash_after_a_clean_restart_replays_the_wal_on_top() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        write(&db, 50, 70, 0);
        db.close().unwrap();
    }
    let expected = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        write(&db, 60, 30, 70 * 15_000);
        dump(&db)
        // dropped without close: a crash
    };
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(report.series_loaded, 50);
    assert_eq!(report.replayed_samples, 60 * 30);
    assert_eq!(dump(&db), expected);
    assert_eq!(db.num_series(), 60);
}

#[test]
fn damaged_or_unsorted_series_rows_are_counted_or_normalised() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        write(&db, 5, 3, 0);
        db.close().unwrap();
    }
    {
        let c = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        // A length past the end; labels out of order with an empty value; only empty values.
        let rows: [(i64, &[u8]); 3] = [
            (100, b"\x08__name__\x09"),
            (101, b"\x03job\x01x\x08__name__\x03odd\x03env\x00"),
            (102, b"\x03env\x00"),
        ];
        for (id, blob) in rows {
            c.execute(
                "INSERT INTO series (id, labels) VALUES (?1, ?2)",
                rusqlite::params![id, blob],
            )
            .unwrap();
        }
    }
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!((report.series_loaded, report.bad_series_rows), (6, 2));
    let h = &db.inner.head;
    let odd = h.postings(&[Matcher::equal("__name__", "odd")]);
    assert_eq!(odd, [101]);
    assert_eq!(
        h.get(101).unwrap().labels.to_string(),
        r#"{__name__="odd", job="x"}"#
    );
    assert!(h.label_values("env").is_empty());
    // A new series takes no id of a stored row, loaded or not (its row would be ignored).
    write(&db, 6, 1, 10 * 15_000);
    assert_eq!(h.postings(&[Matcher::equal("instance", "host-5")]), [103]);
    assert_eq!(db.num_series(), 7);
    db.close().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.num_series(), 7);
}
