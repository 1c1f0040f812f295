//! Compaction tests: a series' rows of a closed 2h range merge into one with every sample kept
//! bit for bit (odd values included), across a restart and an uncommitted (crashed) merge;
//! queries racing a compaction see each sample once; ranges still open for a series are left;
//! late data, deletion and retention on merged rows; open-chunk snapshots folded at shutdown.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::chunk_rows::{decode_row, RowSamples};
use super::chunkenc::CHUNK_RANGE_MS;
use super::tests::{all, dump, opts};
use super::*;
use crate::model::{stale_nan, MatchOp, Matcher, Sample};
use crate::storage::{Appender, Querier, SeriesInput};

/// Start of a 2h range well after the epoch.
const R0: i64 = 1_000 * CHUNK_RANGE_MS;

/// An odd value now and then: stale markers, NaN payloads, -0.0, inexact decimals, huge.
fn value(i: usize, k: usize) -> f64 {
    match (i + k) % 23 {
        3 => stale_nan(),
        7 => f64::from_bits(0x7ff8_0000_0000_0abc),
        11 => -0.0,
        13 => 0.1 + 0.2,
        17 => 1e300 * (k as f64 + 1.0),
        _ => (k * (i + 1)) as f64 * 0.25 + i as f64,
    }
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("host-{i}")).collect()
}

/// Appends sample steps `from..to` (15 s apart from `R0`) to `n` series.
fn write(db: &Db, n: usize, from: usize, to: usize) {
    let hosts = names(n);
    let batch: Vec<SeriesInput> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| SeriesInput {
            labels: vec![("__name__", "m"), ("instance", h.as_str())],
            samples: (from..to)
                .map(|k| Sample {
                    t: R0 + k as i64 * 15_000 + (i % 3) as i64,
                    v: value(i, k),
                })
                .collect(),
        })
        .collect();
    db.append(&batch).unwrap();
}

/// (sealed rows, open-chunk snapshots) in the database.
fn rows(db: &Db) -> (usize, usize) {
    let p = &db.inner.persist;
    let n = |sql: &str| p.ints(sql, [])[0] as usize;
    (
        n("SELECT COUNT(*) FROM chunks"),
        n("SELECT COUNT(*) FROM open_chunks"),
    )
}

/// Rows of each series in the range starting at `lo`.
fn rows_in(db: &Db, lo: i64) -> Vec<usize> {
    db.inner
        .persist
        .ints(
            "SELECT COUNT(*) FROM chunks WHERE min_t >= ?1 AND min_t < ?2 GROUP BY series_id ORDER BY series_id",
            [lo, lo + CHUNK_RANGE_MS],
        )
        .into_iter()
        .map(|n| n as usize)
        .collect()
}

/// A range (480 steps) written in five flushes: several rows per series.
fn several_rows(db: &Db, n: usize) {
    for (a, b) in [(0, 130), (130, 250), (250, 370), (370, 479), (479, 480)] {
        write(db, n, a, b);
        db.flush().unwrap();
    }
}

#[test]
fn rows_of_a_closed_range_merge_bit_exact_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (want, before) = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        several_rows(&db, 20);
        // Not closed yet: the series' newest samples are still in the range.
        assert_eq!(db.compact_closed_ranges().unwrap().rows_removed, 0);
        write(&db, 20, 480, 490);
        db.flush().unwrap();
        let want = dump(&db);
        let before = rows_in(&db, R0);
        assert!(before.iter().all(|&n| n >= 3), "{before:?}");
        let st = db.compact_closed_ranges().unwrap();
        assert_eq!(st.rows_removed, before.iter().sum::<usize>());
        assert_eq!(st.rows_written, 20);
        assert_eq!(st.samples, 20 * 480);
        assert_eq!(rows_in(&db, R0), vec![1; 20]);
        assert_eq!(dump(&db), want);
        // Nothing left to do.
        assert_eq!(db.compact_closed_ranges().unwrap(), Default::default());
        db.close().unwrap();
        (want, before)
    };
    assert!(before.len() == 20);
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
    // Appends go on after the restart.
    write(&db, 20, 490, 500);
    let d = dump(&db);
    assert_eq!(d[0].1.len(), 500);
    assert_eq!(&d[0].1[..490], &want[0].1[..]);
}

#[test]
fn an_uncommitted_merge_leaves_the_old_rows() {
    let dir = tempfile::tempdir().unwrap();
    let want = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        several_rows(&db, 5);
        write(&db, 5, 480, 490);
        db.flush().unwrap();
        let want = dump(&db);
        let before = rows(&db);
        let ids: Vec<(u64, bool)> = db.inner.head.all().iter().map(|s| (s.id, false)).collect();
        let r = db.inner.persist.merge_range_uncommitted(R0, &ids).unwrap();
        assert_eq!(r.rows_written, 5);
        // Rolled back: the rows are as they were.
        assert_eq!(rows(&db), before);
        assert_eq!(dump(&db), want);
        // Dropped without close: a crash.
        want
    };
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
    // The range is found again after the crash (the pending list was lost with the process).
    let st = db.compact_closed_ranges().unwrap();
    assert_eq!(st.rows_written, 5);
    assert_eq!(rows_in(&db, R0), vec![1; 5]);
    assert_eq!(dump(&db), want);
}

#[test]
fn a_range_still_open_for_a_series_is_left_until_it_closes() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    several_rows(&db, 3);
    // Only the first series moves on to the next range.
    db.append(&[SeriesInput {
        labels: vec![("__name__", "m"), ("instance", "host-0")],
        samples: vec![Sample {
            t: R0 + CHUNK_RANGE_MS + 1,
            v: 1.0,
        }],
    }])
    .unwrap();
    db.flush().unwrap();
    let want = dump(&db);
    let st = db.compact_closed_ranges().unwrap();
    assert_eq!(st.rows_written, 1);
    let per = rows_in(&db, R0);
    assert_eq!(per[0], 1);
    assert!(per[1] > 1 && per[2] > 1, "{per:?}");
    assert_eq!(dump(&db), want);
    // The others close later.
    write(&db, 3, 480, 490);
    db.flush().unwrap();
    let want = dump(&db);
    assert_eq!(db.compact_closed_ranges().unwrap().rows_written, 2);
    assert_eq!(rows_in(&db, R0), vec![1; 3]);
    assert_eq!(dump(&db), want);
}

#[test]
fn late_data_into_a_compacted_range() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    several_rows(&db, 2);
    write(&db, 2, 480, 490);
    db.flush().unwrap();
    db.compact_closed_ranges().unwrap();
    let want = dump(&db);
    // Older than the newest sample: refused as out of order, the merged row untouched.
    let st = db
        .append(&[SeriesInput {
            labels: vec![("__name__", "m"), ("instance", "host-0")],
            samples: vec![Sample { t: R0 + 7, v: 9.0 }],
        }])
        .unwrap();
    assert_eq!((st.accepted, st.out_of_order), (0, 1));
    assert_eq!(dump(&db), want);
    // A new series backfilling the compacted range gets rows there, merged once closed.
    for (a, b) in [(0, 200), (200, 400), (400, 481)] {
        db.append(&[SeriesInput {
            labels: vec![("__name__", "late")],
            samples: (a..b)
                .map(|k| Sample {
                    t: R0 + k as i64 * 15_000,
                    v: k as f64,
                })
                .collect(),
        }])
        .unwrap();
        db.flush().unwrap();
    }
    let want = dump(&db);
    assert_eq!(rows_in(&db, R0), vec![1, 1, 3]);
    assert_eq!(db.compact_closed_ranges().unwrap().rows_written, 1);
    assert_eq!(rows_in(&db, R0), vec![1, 1, 1]);
    assert_eq!(dump(&db), want);
}

#[test]
fn delete_and_retention_on_merged_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    several_rows(&db, 2);
    write(&db, 2, 480, 490);
    db.flush().unwrap();
    db.compact_closed_ranges().unwrap();
    let want = dump(&db);
    let m = [Matcher::new(MatchOp::Equal, "instance", "host-1").unwrap()];
    let (cut_lo, cut_hi) = (R0 + 100 * 15_000, R0 + 200 * 15_000);
    assert_eq!(db.delete(&m, cut_lo, cut_hi).unwrap(), 1);
    let got = dump(&db);
    assert_eq!(got[0], want[0]);
    let kept: Vec<(i64, u64)> = want[1]
        .1
        .iter()
        .copied()
        .filter(|&(t, _)| t < cut_lo || t > cut_hi)
        .collect();
    assert_eq!(got[1].1, kept);
    drop(db);
    // Retention: a cutoff past the merged rows' end removes them, the newer range stays.
    let (db, _) = Db::open(
        dir.path(),
        Options {
            retention_ms: 9 * 15_000,
            ..Options::default()
        },
    )
    .unwrap();
    db.flush().unwrap();
    db.apply_retention().unwrap();
    assert_eq!(rows_in(&db, R0), Vec::<usize>::new());
    let d = dump(&db);
    assert!(d
        .iter()
        .all(|(_, s)| s.len() == 10 && s[0].0 >= R0 + CHUNK_RANGE_MS));
}

#[test]
fn shutdown_folds_open_chunks_into_their_range_and_restarts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let want = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        // Series 0..4 have sealed rows and an open chunk in one range; "alone" has only an
        // open chunk.
        for (a, b) in [(0, 130), (130, 250), (250, 300)] {
            write(&db, 4, a, b);
            db.flush().unwrap();
        }
        db.append(&[SeriesInput {
            labels: vec![("__name__", "alone")],
            samples: vec![Sample { t: R0, v: 1.0 }, Sample { t: R0 + 1, v: 2.0 }],
        }])
        .unwrap();
        let want = dump(&db);
        db.close().unwrap();
        // One sealed row per series in the range; only "alone" keeps its snapshot.
        assert_eq!(rows_in(&db, R0), vec![1; 4]);
        assert_eq!(rows(&db), (4, 1));
        assert_eq!(dump(&db), want);
        want
    };
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
    // The folded series go on in the same range: a new row there, merged at the next close.
    write(&db, 4, 300, 310);
    let mut more = want.clone();
    let d = dump(&db);
    for (i, s) in more.iter_mut().enumerate().skip(1) {
        s.1 = d[i].1.clone();
    }
    assert_eq!(d[1].1.len(), 310);
    assert_eq!(&d[1].1[..300], &want[1].1[..]);
    db.close().unwrap();
    assert_eq!(rows_in(&db, R0), vec![1; 4]);
    drop(db);
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), more);
}

#[test]
fn queries_racing_a_compaction_see_each_sample_once() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    // More series than one merge transaction takes, so readers meet a half-merged range.
    let n = 1200;
    several_rows(&db, n);
    write(&db, n, 480, 482);
    db.flush().unwrap();
    let want = dump(&db);
    let total: usize = want.iter().map(|s| s.1.len()).sum();
    let ids: Vec<u64> = db.inner.head.all().iter().map(|s| s.id).collect();
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (db, done, ids) = (db.clone(), done.clone(), ids.clone());
        std::thread::spawn(move || {
            let mut checks = 0;
            loop {
                let finished = done.load(Ordering::Acquire);
                // What the database holds, row by row: each sample exactly once.
                let rows = db
                    .inner
                    .persist
                    .chunks_many(&ids, i64::MIN, i64::MAX)
                    .unwrap();
                let mut seen: Vec<(u64, i64)> = Vec::new();
                for r in &rows {
                    let Some(RowSamples::Floats(s)) = decode_row(&r.data) else {
                        panic!("row does not decode")
                    };
                    seen.extend(s.iter().map(|x| (r.series_id, x.0)));
                }
                let n = seen.len();
                seen.sort_unstable();
                seen.dedup();
                assert_eq!((n, seen.len()), (total, total));
                checks += 1;
                if finished {
                    return checks;
                }
            }
        })
    };
    let st = db.compact_closed_ranges().unwrap();
    done.store(true, Ordering::Release);
    assert!(reader.join().unwrap() >= 1);
    assert_eq!(st.rows_written, n);
    assert_eq!(dump(&db), want);
}

#[test]
fn a_sparse_snapshot_table_is_rewritten_densely_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let want = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        // Big snapshots (100 samples each), then small ones in the next range: the table's
        // pages are left mostly empty.
        write(&db, 3000, 380, 479);
        db.flush().unwrap();
        write(&db, 3000, 480, 482);
        db.flush().unwrap();
        let p = &db.inner.persist;
        let sparse = p.ints(
            "SELECT SUM(pgsize) FROM dbstat WHERE name = 'open_chunks' AND aggregate = TRUE",
            [],
        )[0];
        let want = dump(&db);
        db.close().unwrap();
        let dense = p.ints(
            "SELECT SUM(pgsize) FROM dbstat WHERE name = 'open_chunks' AND aggregate = TRUE",
            [],
        )[0];
        assert!(dense * 2 < sparse, "{dense} B after, {sparse} B before");
        assert_eq!(rows(&db).1, 3000);
        assert_eq!(dump(&db), want);
        want
    };
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
    write(&db, 3000, 482, 483);
    db.flush().unwrap();
    assert_eq!(rows(&db).1, 3000);
}

/// Floats, then histograms, then floats again in one range: each float run merges on its
/// own, the histogram row stays between them, nothing overlaps and every sample reads back.
#[test]
fn a_histogram_row_splits_the_float_runs_of_a_range() {
    use crate::model::{Histogram, HistogramSample, HistogramValue, Span};
    use crate::storage::HistogramInput;
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    let labels = vec![("__name__", "mix")];
    let floats = |a: i64, b: i64| {
        vec![SeriesInput {
            labels: labels.clone(),
            samples: (a..b)
                .map(|k| Sample {
                    t: R0 + k * 15_000,
                    v: value(1, k as usize),
                })
                .collect(),
        }]
    };
    let hists: Vec<HistogramSample> = (250..262)
        .map(|k| HistogramSample {
            t: R0 + k * 15_000,
            h: HistogramValue::Int(Histogram {
                count: k as u64,
                sum: k as f64 * 1.5,
                positive_spans: vec![Span {
                    offset: 0,
                    length: 1,
                }],
                positive_buckets: vec![k],
                ..Histogram::default()
            }),
        })
        .collect();
    db.append(&floats(0, 130)).unwrap();
    db.flush().unwrap();
    db.append(&floats(130, 250)).unwrap();
    db.flush().unwrap();
    db.append_histograms(&[HistogramInput {
        labels: labels.clone(),
        histograms: hists,
    }])
    .unwrap();
    db.flush().unwrap();
    for (a, b) in [(262, 390), (390, 470), (470, 481)] {
        db.append(&floats(a, b)).unwrap();
        db.flush().unwrap();
    }
    let read = |db: &Db| {
        let s = db.select(&all(), i64::MIN, i64::MAX).unwrap();
        let f: Vec<(i64, u64)> = s[0].samples.iter().map(|x| (x.t, x.v.to_bits())).collect();
        (f, format!("{:?}", s[0].histograms))
    };
    let want = read(&db);
    assert_eq!(want.0.len(), 481 - 12);
    let before = rows_in(&db, R0)[0];
    assert!(before >= 5, "{before} rows");
    let st = db.compact_closed_ranges().unwrap();
    assert!(st.rows_removed >= 4, "{st:?}");
    // Two float rows around the histogram row.
    assert_eq!(rows_in(&db, R0), vec![3]);
    let spans = db.inner.persist.ints(
        "SELECT COUNT(*) FROM chunks a JOIN chunks b ON a.series_id = b.series_id AND a.rowid <> b.rowid
         AND a.min_t <= b.max_t AND b.min_t <= a.max_t",
        [],
    );
    assert_eq!(spans, vec![0], "rows overlap");
    assert_eq!(read(&db), want);
    db.close().unwrap();
    drop(db);
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(read(&db), want);
}

/// After a restart an open chunk stays as stored until an append needs it (`open`); a
/// shutdown leaves it so, and folds it once an append has reopened it.
#[test]
fn a_stored_open_chunk_is_folded_only_once_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let want = {
        let (db, _) = Db::open(dir.path(), opts()).unwrap();
        for (a, b) in [(0, 130), (130, 250), (250, 300)] {
            write(&db, 4, a, b);
            db.flush().unwrap();
        }
        // A crash: the open chunks stay as snapshots beside the sealed rows.
        dump(&db)
    };
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
    db.close().unwrap();
    assert_eq!(rows(&db).1, 4);
    assert_eq!(dump(&db), want);
    drop(db);
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), want);
    write(&db, 4, 300, 301);
    let more = dump(&db);
    assert_eq!(more[0].1.len(), 301);
    db.close().unwrap();
    assert_eq!(rows(&db).1, 0);
    assert_eq!(rows_in(&db, R0), vec![1; 4]);
    drop(db);
    let (db, _) = Db::open(dir.path(), opts()).unwrap();
    assert_eq!(dump(&db), more);
}
