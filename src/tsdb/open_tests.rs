//! Opening tests: the bulk load of persisted series (labels over shared strings, postings per
//! distinct pair, open chunks reopened on several threads) against what was stored, rows that
//! are damaged or not normalised, and crashes after a restart.

use super::tests::{all, dump, opts};
use super::*;
use crate::model::{MatchOp, Matcher, Sample};
use crate::storage::{Appender, SeriesInput};

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

/// The one series `write` gives host-`i`, as an append input with `samples`.
fn host(i: usize, samples: Vec<Sample>) -> SeriesInput<'static> {
    let (m, j, h) = (
        format!("metric_{}", i % 7),
        format!("job{}", i % 3),
        format!("host-{i}"),
    );
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut labels = vec![
        ("__name__", leak(m)),
        ("instance", leak(h)),
        ("job", leak(j)),
    ];
    labels.sort();
    SeriesInput { labels, samples }
}

/// Whether each series' open chunk is still as stored (not reopened).
fn stored(db: &Db) -> Vec<bool> {
    let mut all = db.inner.head.all();
    all.sort_by_key(|s| s.id);
    all.iter()
        .map(|s| {
            let d = s.data.lock();
            assert!(d.stored_open.is_none() || d.open.is_none());
            d.stored_open.is_some()
        })
        .collect()
}

#[test]
fn open_chunks_stay_stored_until_an_append_or_deletion_needs_them() {
    let dir = tempfile::tempdir().unwrap();
    // 130 steps across a 2h boundary: a sealed chunk of 120 samples before it and an open one
    // of 10 after it per series (a clean close folds an open chunk into sealed rows of its own
    // range only).
    let start = head::CHUNK_RANGE_MS - 120 * 15_000;
    let expected = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        write(&db, 20, 130, start);
        db.close().unwrap();
        dump(&db)
    };
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(stored(&db), vec![true; 20], "nothing decoded at open");
    // Queries read the stored chunks in place, and a flush or a restart leaves them stored.
    assert_eq!(dump(&db), expected);
    db.flush().unwrap();
    assert_eq!(stored(&db), vec![true; 20]);
    db.close().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), expected);
    assert_eq!(stored(&db), vec![true; 20]);

    // host-0's newest sample (t = 129 steps) is known once its chunk is reopened: the same
    // value again is a repeat, another value a duplicate, an older time out of order.
    let last = start + 129 * 15_000;
    let v = expected[0].1.last().map(|s| f64::from_bits(s.1)).unwrap();
    let name0 = db.inner.head.get(1).unwrap().labels.to_string();
    assert_eq!(name0, expected[0].0, "series 1 is host-0");
    let st = db.append(&[host(0, vec![Sample { t: last, v }])]).unwrap();
    assert_eq!((st.accepted, st.repeated, st.duplicate), (0, 1, 0));
    let st = db
        .append(&[host(
            0,
            vec![Sample {
                t: last,
                v: v + 1.0,
            }],
        )])
        .unwrap();
    assert_eq!((st.accepted, st.duplicate), (0, 1));
    let st = db
        .append(&[host(0, vec![Sample { t: last - 1, v }])])
        .unwrap();
    assert_eq!((st.accepted, st.out_of_order), (0, 1));
    // A new sample continues the reopened chunk: 11 samples in it now.
    let st = db
        .append(&[host(
            0,
            vec![Sample {
                t: last + 15_000,
                v: 7.5,
            }],
        )])
        .unwrap();
    assert_eq!(st.accepted, 1);
    {
        let s = db.inner.head.get(1).unwrap();
        let d = s.data.lock();
        assert_eq!(d.open.as_ref().map(|c| c.num_samples()), Some(11));
    }
    let mut want = stored(&db);
    assert_eq!(
        want.iter().filter(|&&b| !b).count(),
        1,
        "only host-0 reopened"
    );

    // A deletion reaches into stored chunks (host-1's last three samples) and lasts.
    let host1 = [
        Matcher::equal("instance", "host-1"),
        Matcher::equal("job", "job1"),
    ];
    assert_eq!(
        db.delete(&host1, start + 127 * 15_000, i64::MAX).unwrap(),
        1
    );
    want[1] = false;
    assert_eq!(stored(&db), want);
    let mut expected = expected;
    expected[0].1.push((last + 15_000, 7.5f64.to_bits()));
    let i1 = expected
        .iter()
        .position(|e| e.0 == db.inner.head.get(2).unwrap().labels.to_string());
    let i1 = i1.unwrap();
    expected[i1].1.retain(|s| s.0 < start + 127 * 15_000);
    assert_eq!(dump(&db), expected);
    db.close().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), expected);
    // Another restart, and a crash with nothing in the WAL: still the same.
    drop(db);
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), expected);
}

#[test]
fn a_stored_open_chunk_that_does_not_decode_costs_only_its_series() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        write(&db, 3, 10, 0);
        db.close().unwrap();
        dump(&db)
    };
    {
        let c = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        let n = c
            .execute(
                "UPDATE open_chunks SET data = CAST(substr(data, 1, 4) AS BLOB) WHERE series_id = 2",
                [],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let got = dump(&db);
    let name2 = db.inner.head.get(2).unwrap().labels.to_string();
    let others: Vec<_> = expected.iter().filter(|e| e.0 != name2).cloned().collect();
    assert_eq!(
        got, others,
        "the damaged series reads empty, the others whole"
    );
    // Appending to it reopens nothing usable: the new sample is kept, older times refused.
    let st = db
        .append(&[host(
            1,
            vec![
                Sample {
                    t: 5 * 15_000,
                    v: 1.0,
                },
                Sample {
                    t: 20 * 15_000,
                    v: 2.0,
                },
            ],
        )])
        .unwrap();
    assert_eq!((st.accepted, st.out_of_order), (1, 1));
}

#[test]
fn series_rows_of_pair_ids_out_of_order_or_unknown_are_normalised_or_counted() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        write(&db, 3, 2, 0);
        db.close().unwrap();
    }
    {
        let c = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        for (name, value, id) in [
            ("zzz", "1", 1000),
            ("__name__", "ids_odd", 1001),
            ("env", "", 1002),
        ] {
            c.execute(
                "INSERT INTO label_pairs (name, value, id) VALUES (?1, ?2, ?3)",
                rusqlite::params![name, value, id],
            )
            .unwrap();
        }
        // Pair ids (a 0 byte, then uvarints): out of name order with an empty value; one
        // naming a pair the table lacks; one cut inside a uvarint.
        let rows: [(i64, &[u8]); 3] = [
            (200, &[0, 0xe8, 0x07, 0xe9, 0x07, 0xea, 0x07]),
            (201, &[0, 0x88, 0x27]),
            (202, &[0, 0xe8]),
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
    assert_eq!((report.series_loaded, report.bad_series_rows), (4, 2));
    let h = &db.inner.head;
    assert_eq!(h.postings(&[Matcher::equal("__name__", "ids_odd")]), [200]);
    assert_eq!(
        h.get(200).unwrap().labels.to_string(),
        r#"{__name__="ids_odd", zzz="1"}"#
    );
    assert!(h.label_values("env").is_empty());
    // Rows that did not load still keep their ids from new series.
    write(&db, 4, 1, 10 * 15_000);
    assert_eq!(h.postings(&[Matcher::equal("instance", "host-3")]), [203]);
}
