//! Store-level tests: append/select, rejection counting, flush, restart, retention.

use super::*;
use crate::model::{stale_nan, MatchOp, Matcher, Sample};
use crate::storage::{Appender, Querier, SeriesInput};

/// Options for tests: no time retention.
pub(super) fn opts() -> Options {
    Options {
        retention_ms: 0,
        ..Options::default()
    }
}

fn input<'a>(labels: &[(&'a str, &'a str)], samples: &[(i64, f64)]) -> SeriesInput<'a> {
    let mut l = labels.to_vec();
    l.sort();
    SeriesInput {
        labels: l,
        samples: samples.iter().map(|&(t, v)| Sample { t, v }).collect(),
    }
}

fn eq(name: &str) -> Vec<Matcher> {
    vec![Matcher::equal("__name__", name)]
}

/// Every series' labels and samples (values as bits), in label order.
pub(super) fn dump(db: &Db) -> Vec<(String, Vec<(i64, u64)>)> {
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

/// A matcher set selecting every series.
pub(super) fn all() -> Vec<Matcher> {
    vec![Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()]
}

fn load(db: &Db, series: usize, samples: usize, start: i64) {
    for chunk in (0..samples).collect::<Vec<_>>().chunks(37) {
        let names: Vec<String> = (0..series).map(|i| format!("m{i}")).collect();
        let batch: Vec<SeriesInput> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let s: Vec<(i64, f64)> = chunk
                    .iter()
                    .map(|&k| (start + k as i64 * 15_000, (k * (i + 1)) as f64 * 0.25))
                    .collect();
                input(&[("__name__", n.as_str()), ("job", "t")], &s)
            })
            .collect();
        db.append(&batch).unwrap();
    }
}

#[test]
fn append_then_select() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let st = db
        .append(&[input(
            &[("__name__", "up"), ("job", "a")],
            &[(1000, 1.0), (2000, 0.0), (3000, stale_nan())],
        )])
        .unwrap();
    assert_eq!(st.accepted, 3);
    assert_eq!(st.new_series, 1);
    let got = db.select(&eq("up"), 0, 10_000).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].labels.get("job"), Some("a"));
    assert_eq!(got[0].samples.len(), 3);
    assert!(crate::model::is_stale_nan(got[0].samples[2].v));
    // Range bounds are inclusive.
    assert_eq!(
        db.select(&eq("up"), 2000, 2000).unwrap()[0].samples.len(),
        1
    );
    assert!(db.select(&eq("up"), 4000, 9000).unwrap().is_empty());
    assert!(db.select(&eq("nope"), 0, 10_000).unwrap().is_empty());
}

#[test]
fn out_of_order_and_duplicates_are_counted_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let l = [("__name__", "x")];
    db.append(&[input(&l, &[(100, 1.0), (200, 2.0)])]).unwrap();
    let st = db
        .append(&[
            input(
                &l,
                &[
                    (150, 9.0),
                    (200, 2.0),
                    (200, 3.0),
                    (300, 4.0),
                    (250, 5.0),
                    (400, 6.0),
                ],
            ),
            input(&[("__name__", "y")], &[(1, 1.0)]),
        ])
        .unwrap();
    assert_eq!(
        (st.accepted, st.out_of_order, st.duplicate, st.repeated),
        (3, 2, 1, 1)
    );
    let got = db.select(&eq("x"), 0, 1000).unwrap();
    let ts: Vec<i64> = got[0].samples.iter().map(|s| s.t).collect();
    assert_eq!(ts, [100, 200, 300, 400]);
    assert_eq!(db.stats().out_of_order.load(Ordering::Relaxed), 2);
}

#[test]
fn flush_keeps_query_results_and_trims_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    load(&db, 20, 500, 1_000_000);
    let before = dump(&db);
    assert_eq!(before.len(), 20);
    assert_eq!(before[0].1.len(), 500);
    db.flush().unwrap();
    assert_eq!(dump(&db), before);
    let segs = wal::segments(&dir.path().join("wal")).unwrap();
    assert_eq!(segs.len(), 1, "only the new segment is left: {segs:?}");
    // Appending after a flush extends the partial chunks.
    load(&db, 20, 100, 1_000_000 + 500 * 15_000);
    db.flush().unwrap();
    let after = dump(&db);
    assert_eq!(after[0].1.len(), 600);
}

#[test]
fn restart_without_close_replays_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        load(&db, 10, 200, 0);
        db.flush().unwrap();
        load(&db, 10, 150, 200 * 15_000);
        dump(&db)
        // dropped without close: like a crash after the writes reached the OS
    };
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    assert!(report.replayed_samples > 0);
    assert_eq!(dump(&db), expected);
    // Appends continue where the data left off; old timestamps are rejected.
    let st = db
        .append(&[input(
            &[("__name__", "m0"), ("job", "t")],
            &[(0, 1.0), (350 * 15_000, 1.0)],
        )])
        .unwrap();
    assert_eq!(
        (st.accepted, st.out_of_order + st.duplicate + st.repeated),
        (1, 1)
    );
}

#[test]
fn open_chunks_flushed_as_partial_rows_keep_every_bit() {
    // Odd values in open chunks (under 120 samples: nothing is sealed), flushed, appended to
    // and flushed again: the partial rows, read back alone after a restart, hold each value's
    // exact bits.
    let odd = [
        f64::from_bits(0x7ff8_0000_0000_0001),
        -0.0,
        stale_nan(),
        f64::INFINITY,
        f64::MIN_POSITIVE / 3.0,
        0.1 + 0.2,
        -1e300,
        42.0,
    ];
    let dir = tempfile::tempdir().unwrap();
    let samples = |from: usize, to: usize, k: usize| -> Vec<(i64, f64)> {
        (from..to)
            .map(|i| (i as i64 * 15_000 + k as i64, odd[(i + k) % odd.len()]))
            .collect()
    };
    let expected = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        for (from, to) in [(0, 40), (40, 90)] {
            let batch: Vec<SeriesInput> = (0..5)
                .map(|k| {
                    input(
                        &[("__name__", "odd"), ("k", ["a", "b", "c", "d", "e"][k])],
                        &samples(from, to, k),
                    )
                })
                .collect();
            db.append(&batch).unwrap();
            assert!(db.flush().unwrap() >= 5);
        }
        let got = dump(&db);
        db.close().unwrap();
        got
    };
    assert_eq!(expected.len(), 5);
    for (k, (_, got)) in expected.iter().enumerate() {
        let want: Vec<(i64, u64)> = samples(0, 90, k)
            .iter()
            .map(|&(t, v)| (t, v.to_bits()))
            .collect();
        assert_eq!(got, &want);
    }
    std::fs::remove_dir_all(dir.path().join("wal")).ok();
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(report.replayed_samples, 0);
    assert_eq!(dump(&db), expected);
}

#[test]
fn restart_after_close_loads_from_the_database_only() {
    let dir = tempfile::tempdir().unwrap();
    let expected = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        load(&db, 10, 333, 0);
        db.close().unwrap();
        dump(&db)
    };
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(report.replayed_samples, 0);
    assert_eq!(report.series_loaded, 10);
    assert_eq!(dump(&db), expected);
    load(&db, 10, 10, 333 * 15_000);
    db.close().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db)[3].1.len(), 343);
}

#[test]
fn time_retention_deletes_old_chunks_only() {
    let dir = tempfile::tempdir().unwrap();
    let o = Options {
        retention_ms: 3600 * 1000,
        ..opts()
    };
    let (db, _) = Db::open(dir.path(), o).unwrap();
    // "old" has data only in the first hours; "new" spans everything.
    let hour = 3600 * 1000;
    let old: Vec<(i64, f64)> = (0..240).map(|i| (i * 60_000, 1.0)).collect();
    let new: Vec<(i64, f64)> = (0..600).map(|i| (i * 60_000, 2.0)).collect();
    db.append(&[
        input(&[("__name__", "old")], &old),
        input(&[("__name__", "new")], &new),
    ])
    .unwrap();
    db.flush().unwrap();
    let removed = db.apply_retention().unwrap();
    assert_eq!(removed, 1, "the series with no data left is removed");
    assert!(db.select(&eq("old"), 0, i64::MAX).unwrap().is_empty());
    assert_eq!(db.series(&eq("old"), i64::MIN, i64::MAX).unwrap().len(), 0);
    let kept = &db.select(&eq("new"), 0, i64::MAX).unwrap()[0].samples;
    let newest = 599 * 60_000;
    // Whole chunks go: everything newer than the cutoff stays, nothing older than a chunk before it.
    assert!(kept.iter().all(|s| s.t >= newest - hour - 2 * hour));
    assert!(kept.iter().any(|s| s.t == newest - hour));
    assert_eq!(kept.last().unwrap().t, newest);
    // Survives restart.
    db.close().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.num_series(), 1);
}

#[test]
fn size_retention_keeps_the_database_under_the_limit() {
    let dir = stored_noisy(50, 2000);
    // Two thirds of what the load takes (the row format decides how much that is).
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let limit = (db.inner.persist.size_bytes().unwrap() + db.wal_bytes()) * 2 / 3;
    drop(db);
    let o = Options {
        retention_size: Some(limit),
        ..opts()
    };
    let (db, _) = Db::open(dir.path(), o).unwrap();
    let before = dump(&db);
    db.apply_retention().unwrap();
    let after = dump(&db);
    assert!(db.inner.persist.size_bytes().unwrap() + db.wal_bytes() <= limit);
    // The newest samples are kept; the oldest went.
    let newest = before[0].1.last().unwrap().0;
    assert_eq!(after[0].1.last().unwrap().0, newest);
    assert!(after[0].1.len() < before[0].1.len());
    assert!(after[0].1[0].0 > before[0].1[0].0);
}

#[test]
fn label_apis_respect_matchers_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    db.append(&[
        input(
            &[("__name__", "up"), ("job", "a"), ("zone", "z1")],
            &[(1000, 1.0)],
        ),
        input(&[("__name__", "up"), ("job", "b")], &[(5000, 1.0)]),
        input(&[("__name__", "cpu"), ("job", "a")], &[(1000, 1.0)]),
    ])
    .unwrap();
    assert_eq!(
        db.label_names(&[], i64::MIN, i64::MAX).unwrap(),
        ["__name__", "job", "zone"]
    );
    assert_eq!(
        db.label_values("job", &eq("up"), i64::MIN, i64::MAX)
            .unwrap(),
        ["a", "b"]
    );
    assert_eq!(
        db.label_values("job", &eq("up"), 4000, 6000).unwrap(),
        ["b"]
    );
    assert_eq!(db.series(&eq("up"), 0, 2000).unwrap().len(), 1);
}

#[test]
fn dense_series_split_into_rows_below_the_chunk_count_limit() {
    let dir = tempfile::tempdir().unwrap();
    let samples: Vec<(i64, f64)> = (0..10_000)
        .map(|i| (i * 100, (i % 977) as f64 * 0.5))
        .collect();
    {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        db.append(&[input(&[("__name__", "dense")], &samples)])
            .unwrap();
        db.close().unwrap();
    }
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let got = db.select(&eq("dense"), i64::MIN, i64::MAX).unwrap();
    let got: Vec<(i64, u64)> = got[0]
        .samples
        .iter()
        .map(|s| (s.t, s.v.to_bits()))
        .collect();
    let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
    assert_eq!(got, want);
    assert!(
        db.inner.persist.chunk_count().unwrap() >= 3,
        "10k samples need at least 3 rows of <= 4096"
    );
}

#[test]
fn series_handles_append_and_go_stale_when_the_series_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let labels = [("__name__", "m"), ("job", "h")];
    let r = db.resolve(&labels).expect("the tsdb offers handles");
    assert_eq!(db.num_series(), 1);
    let (st, gone) = db
        .append_refs(&[
            (&r, Sample { t: 1000, v: 1.5 }),
            (&r, Sample { t: 500, v: 2.0 }),
        ])
        .unwrap();
    assert!(gone.is_empty());
    assert_eq!((st.accepted, st.out_of_order), (1, 1));
    // The same series by labels: one series, both samples.
    db.append(&[input(&labels, &[(2000, 3.0)])]).unwrap();
    let got = db.select(&eq("m"), 0, 10_000).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].samples,
        vec![Sample { t: 1000, v: 1.5 }, Sample { t: 2000, v: 3.0 }]
    );
    // A removed series' handle is refused, so the caller resolves again.
    let id = db.inner.head.all()[0].id;
    db.inner.head.remove(&[id].into_iter().collect());
    let (st, gone) = db.append_refs(&[(&r, Sample { t: 3000, v: 4.0 })]).unwrap();
    assert_eq!((st.accepted, gone), (0, vec![0]));
    // And the WAL replay still sees what was accepted.
    drop(db);
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.select(&eq("m"), 0, 10_000).unwrap()[0].samples.len(), 2);
}

#[test]
fn a_series_twice_in_one_batch_keeps_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let l = [("__name__", "twice")];
    let st = db
        .append(&[
            input(&l, &[(2000, 2.0)]),
            input(&l, &[(1000, 1.0), (3000, 3.0)]),
        ])
        .unwrap();
    assert_eq!((st.accepted, st.out_of_order), (2, 1));
    let got = db.select(&eq("twice"), 0, 10_000).unwrap();
    assert_eq!(
        got[0].samples,
        vec![Sample { t: 2000, v: 2.0 }, Sample { t: 3000, v: 3.0 }]
    );
}

#[test]
fn head_stats_count_chunks_and_the_time_range() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(db.head_stats(), (0, None));
    load(&db, 3, 10, 5_000);
    let (chunks, range) = db.head_stats();
    assert_eq!(chunks, 3, "one open chunk per series");
    assert_eq!(range, Some((5_000, 5_000 + 9 * 15_000)));
}

/// `dump` with the samples of `name` in [mint, maxt] removed (and the series gone if empty).
fn without(
    d: &[(String, Vec<(i64, u64)>)],
    name: &str,
    mint: i64,
    maxt: i64,
) -> Vec<(String, Vec<(i64, u64)>)> {
    d.iter()
        .map(|(l, s)| {
            let s = if l.starts_with(&format!("{{__name__=\"{name}\"")) {
                s.iter()
                    .copied()
                    .filter(|x| x.0 < mint || x.0 > maxt)
                    .collect()
            } else {
                s.clone()
            };
            (l.clone(), s)
        })
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

#[test]
fn delete_removes_ranges_from_head_and_database_and_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let step = 15_000;
    let (mint, maxt) = (100 * step, 450 * step);
    let expected = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        // 400 samples persisted, 200 more in head chunks (sealed and open).
        load(&db, 3, 400, 0);
        db.flush().unwrap();
        load(&db, 3, 200, 400 * step);
        let before = dump(&db);
        assert_eq!(before.len(), 3);
        // Off-by-one edges: both ends are inclusive.
        let n = db.delete(&eq("m1"), mint + 1, maxt - 1).unwrap();
        assert_eq!(n, 1);
        let want = without(&before, "m1", mint + 1, maxt - 1);
        assert_eq!(dump(&db), want);
        assert!(dump(&db)[1].1.iter().any(|x| x.0 == mint));
        let n = db.delete(&eq("m1"), mint, maxt).unwrap();
        assert_eq!(n, 1);
        let want = without(&before, "m1", mint, maxt);
        assert_eq!(dump(&db), want);
        assert_eq!(want[1].1.len(), 600 - 351);
        // Nothing matched: nothing happens.
        assert_eq!(db.delete(&eq("nope"), 0, i64::MAX).unwrap(), 0);
        // The hole stays out of order; newer samples are taken.
        let l = [("__name__", "m1"), ("job", "t")];
        let st = db
            .append(&[input(&l, &[(200 * step, 1.0), (600 * step, 2.0)])])
            .unwrap();
        assert_eq!((st.accepted, st.out_of_order), (1, 1));
        let mut want = want;
        want[1].1.push((600 * step, 2f64.to_bits()));
        assert_eq!(dump(&db), want);
        // A flush writes the rewritten head chunks.
        db.flush().unwrap();
        assert_eq!(dump(&db), want);
        let n = db.delete(&eq("m1"), 590 * step, i64::MAX).unwrap();
        assert_eq!(n, 1);
        let want = without(&want, "m1", 590 * step, i64::MAX);
        assert_eq!(dump(&db), want);
        want
        // dropped without close: the deletions must come back from the WAL and the database
    };
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), expected);
    db.close().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), expected);
}

#[test]
fn deleting_every_sample_removes_the_series() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    load(&db, 3, 300, 0);
    db.flush().unwrap();
    load(&db, 3, 10, 300 * 15_000);
    let r = db.resolve(&[("__name__", "m2"), ("job", "t")]).unwrap();
    assert_eq!(db.delete(&eq("m2"), i64::MIN, i64::MAX).unwrap(), 1);
    assert_eq!(db.num_series(), 2);
    let all = vec![Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
    let names = db
        .label_values("__name__", &all, i64::MIN, i64::MAX)
        .unwrap();
    assert_eq!(names, vec!["m0", "m1"]);
    // A handle taken before is refused, and the labels make a new, empty series.
    let (_, gone) = db
        .append_refs(&[(
            &r,
            Sample {
                t: 1e9 as i64,
                v: 1.0,
            },
        )])
        .unwrap();
    assert_eq!(gone, vec![0]);
    let st = db
        .append(&[input(&[("__name__", "m2"), ("job", "t")], &[(5, 7.0)])])
        .unwrap();
    assert_eq!(st.accepted, 1);
    assert_eq!(db.select(&eq("m2"), 0, 10).unwrap()[0].samples.len(), 1);
    let expected = dump(&db);
    drop(db);
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), expected);
}

#[test]
fn a_deletion_logged_but_not_applied_to_the_database_is_applied_at_startup() {
    let dir = tempfile::tempdir().unwrap();
    let (id, before) = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        load(&db, 2, 300, 0);
        db.close().unwrap();
        (db.inner.head.postings(&eq("m0"))[0], dump(&db))
    };
    // As if the process died after the WAL record was written, before the transaction.
    {
        let mut w = Wal::open(&dir.path().join("wal"), 1 << 20).unwrap();
        let mut enc = Encoder::default();
        enc.deletes(&[(id, 10 * 15_000, 20 * 15_000)]);
        w.write(&enc.buf).unwrap();
    }
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let want = without(&before, "m0", 10 * 15_000, 20 * 15_000);
    assert_eq!(dump(&db), want);
    db.close().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
}

/// A damaged stored chunk costs only its series those samples: the query still answers, the
/// other series are whole, and the damaged series is counted and reported.
#[test]
fn a_corrupt_chunk_is_reported_and_the_rest_is_served() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        // Two 2h ranges: a clean close leaves one row per series in each.
        load(&db, 2, 600, 0);
        db.close().unwrap();
    }
    // Damage the stored chunks of series m1's first range (found by its labels blob).
    {
        let c = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        let id =
            persist::series_id_named(&dir.path().join(DB_FILE), "m1").expect("series m1 stored");
        let n = c
            .execute(
                "UPDATE chunks SET data = x'01ffffffffff' WHERE series_id = ?1 AND min_t < ?2",
                [id, head::CHUNK_RANGE_MS],
            )
            .unwrap();
        assert!(n > 0, "m1 has stored chunks");
    }
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let all = [Matcher::new(MatchOp::Regex, "__name__", "m.").unwrap()];
    let got = db.select(&all, i64::MIN, i64::MAX).unwrap();
    let m0 = got.iter().find(|s| s.labels.get("__name__") == Some("m0"));
    assert_eq!(
        m0.map(|s| s.samples.len()),
        Some(600),
        "the undamaged series is whole"
    );
    let m1 = got
        .iter()
        .find(|s| s.labels.get("__name__") == Some("m1"))
        .map_or(0, |s| s.samples.len());
    assert!(m1 < 600, "the damaged chunks were skipped, not made up");
    assert!(db.stats().corrupt_reads.load(Ordering::Relaxed) > 0);
    let bad = db.corrupt_series();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0].contains("m1"), "{bad:?}");
}

/// A data directory holding `n_series` × `samples` flushed to the database.
fn stored(n_series: usize, samples: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    load(&db, n_series, samples, 0);
    db.close().unwrap();
    dir
}

/// Like `stored`, with values that do not pack into a few bits, so the chunks fill most of
/// the file's pages.
fn stored_noisy(n_series: usize, samples: i64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    for part in (0..samples).collect::<Vec<i64>>().chunks(100) {
        let names: Vec<String> = (0..n_series).map(|i| format!("m{i}")).collect();
        let batch: Vec<SeriesInput> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let s: Vec<(i64, f64)> = part
                    .iter()
                    .map(|&k| {
                        (
                            k * 15_000,
                            ((k * 7919 + i as i64 * 104_729) % 65_521) as f64,
                        )
                    })
                    .collect();
                input(&[("__name__", n.as_str()), ("job", "t")], &s)
            })
            .collect();
        db.append(&batch).unwrap();
    }
    db.close().unwrap();
    dir
}

/// Overwrites the first 512 bytes (the header) of the database page `num/den` of the way into
/// the file with `byte`; returns the page count.
fn damage_page(dir: &Path, num: u64, den: u64, byte: u8) -> u64 {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join(DB_FILE);
    let header = std::fs::read(&path).unwrap();
    // The page size, from the file header (big-endian u16 at offset 16).
    let size = u64::from(u16::from_be_bytes([header[16], header[17]]));
    let pages = std::fs::metadata(&path).unwrap().len() / size;
    // The first page of chunk rows from there on (an index page would go unnoticed).
    let at = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT pageno FROM dbstat WHERE name = 'chunks' AND pagetype = 'leaf' AND pageno > ?1 ORDER BY pageno LIMIT 1",
            [(pages * num / den) as i64],
            |r| r.get::<_, i64>(0),
        )
        .map_or(pages * num / den, |p| p as u64 - 1);
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.seek(SeekFrom::Start(at * size)).unwrap();
    f.write_all(&[byte; 512]).unwrap();
    pages
}

/// A damaged database page does not stop the start: the database is rebuilt from what can be
/// read (the damaged file kept aside), the series on the page are reported (and served without
/// their stored chunks), every other series is served whole, and flushes work again.
#[test]
fn a_corrupt_database_page_costs_only_its_series() {
    let n_series = 3000;
    let dir = stored_noisy(n_series, 300);
    // A page of chunk rows most of the way in (the start reads each series' newest row).
    let pages = damage_page(dir.path(), 7, 10, 0xA5);
    assert!(pages > 50, "a database of {pages} pages");
    let (db, report) =
        Db::open(dir.path(), opts()).expect("a damaged page does not stop the start");
    let repair = report.repair.expect("the database was rebuilt");
    assert!(!repair.lost.is_empty(), "{repair:?}");
    assert!(std::path::Path::new(&repair.kept_at).exists(), "{repair:?}");
    let bad = db.corrupt_series();
    assert!(
        !bad.is_empty() && bad.len() < n_series / 10,
        "{} series reported",
        bad.len()
    );
    let all = [Matcher::new(MatchOp::Regex, "__name__", "m.*").unwrap()];
    let got = db.select(&all, i64::MIN, i64::MAX).unwrap();
    let whole = got.iter().filter(|s| s.samples.len() == 300).count();
    assert!(
        whole >= n_series - bad.len(),
        "{whole} whole series, {} reported damaged",
        bad.len()
    );
    for s in &got {
        if s.samples.len() != 300 {
            assert!(
                bad.contains(&s.labels.to_string()),
                "{} is short but not reported",
                s.labels
            );
        }
    }
    // The rebuilt database takes flushes; after a restart (no second rebuild) everything
    // written since is there too.
    load(&db, n_series, 100, 300 * 15_000);
    db.flush().unwrap();
    db.close().unwrap();
    drop(db);
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    assert!(report.repair.is_none(), "rebuilt once only");
    let got = db.select(&all, i64::MIN, i64::MAX).unwrap();
    assert_eq!(got.len(), n_series);
    let whole_after = got.iter().filter(|s| s.samples.len() == 400).count();
    assert_eq!(whole_after, whole, "the whole series stay whole");
    for s in &got {
        let newer = s.samples.iter().filter(|x| x.t >= 300 * 15_000).count();
        assert_eq!(
            newer, 100,
            "{}: every sample written after the rebuild",
            s.labels
        );
    }
}

/// A query that meets a damaged page leaves a marker, and the next start rebuilds.
#[test]
fn damage_found_by_a_query_is_repaired_at_the_next_start() {
    // More chunk pages than SQLite's page cache (2 MiB) holds, so queries read from the file.
    let n_series = 3000;
    let dir = stored_noisy(n_series, 1200);
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    assert!(report.repair.is_none());
    // Damage a chunk page while running (the start has already read the summaries): one read
    // early at the start, and pushed out of the cache since.
    damage_page(dir.path(), 1, 4, 0x5A);
    let all = [Matcher::new(MatchOp::Regex, "__name__", "m.*").unwrap()];
    let got = db
        .select(&all, i64::MIN, i64::MAX)
        .expect("the query still answers");
    let bad = db.corrupt_series();
    assert!(!bad.is_empty());
    // Every series not reported damaged is served whole (a damaged one may have nothing left:
    // a clean close leaves its newest samples in sealed rows, not in an open chunk).
    let whole = got.iter().filter(|s| s.samples.len() == 1200).count();
    assert!(
        whole + bad.len() >= n_series,
        "{whole} whole, {} damaged",
        bad.len()
    );
    assert!(dir.path().join(REPAIR_MARKER).exists());
    db.close().unwrap();
    drop(db);
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    let repair = report.repair.expect("rebuilt at the start after");
    assert!(!dir.path().join(REPAIR_MARKER).exists());
    let got = db.select(&all, i64::MIN, i64::MAX).unwrap();
    let whole = got.iter().filter(|s| s.samples.len() == 1200).count();
    assert!(
        whole >= n_series - repair.damaged_series.len(),
        "{whole} whole, {repair:?}"
    );
    assert!(whole > n_series * 9 / 10, "{whole} whole");
}

/// A database file that is not a database at all is kept aside as it was; the start goes on
/// with an empty database that takes new data.
#[test]
fn an_unreadable_database_file_is_kept_aside() {
    let dir = stored(3, 10);
    std::fs::write(dir.path().join(DB_FILE), vec![0x42u8; 64 * 1024]).unwrap();
    let (db, report) = Db::open(dir.path(), opts()).unwrap();
    let repair = report.repair.expect("rebuilt");
    let kept = std::fs::read(&repair.kept_at).unwrap();
    assert!(
        kept.iter().all(|&b| b == 0x42),
        "the damaged file is kept as it was"
    );
    load(&db, 3, 10, 1_000_000);
    db.flush().unwrap();
    let all = [Matcher::new(MatchOp::Regex, "__name__", "m.*").unwrap()];
    let got = db.select(&all, i64::MIN, i64::MAX).unwrap();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|s| s.samples.len() == 10), "{got:?}");
}
