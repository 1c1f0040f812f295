//! Store-level tests of native-histogram samples: append and query round trips (integer and
//! float forms, every schema, custom bounds, hints, stale markers), a series switching between
//! floats and histograms, rejection counts, chunk cutting, flush, restart and crash replay,
//! deletion, retention, damaged stored chunks, memory figures, and bytes per sample.

use super::histogram_chunk::CounterResetHeader;
use super::histogram_chunk_tests::{counter_series, hist, sp, Rng};
use super::histogram_head::{chunk_header, HistForm};
use super::*;
use crate::model::{
    stale_nan, CounterResetHint, FloatHistogram, Histogram, HistogramSample, HistogramValue,
    Matcher, Sample,
};
use crate::storage::{Appender, HistogramInput, Querier, SeriesInput};

fn opts() -> Options {
    Options {
        retention_ms: 0,
        ..Options::default()
    }
}

fn open(dir: &Path) -> Db {
    Db::open(dir, opts()).unwrap().0
}

fn hin<'a>(name: &'a str, hs: Vec<HistogramSample>) -> HistogramInput<'a> {
    HistogramInput {
        labels: vec![("__name__", name), ("job", "h")],
        histograms: hs,
    }
}

fn fin<'a>(name: &'a str, samples: &[(i64, f64)]) -> SeriesInput<'a> {
    SeriesInput {
        labels: vec![("__name__", name), ("job", "h")],
        samples: samples.iter().map(|&(t, v)| Sample { t, v }).collect(),
    }
}

fn ints(s: &[(i64, Histogram)]) -> Vec<HistogramSample> {
    s.iter()
        .map(|(t, h)| HistogramSample {
            t: *t,
            h: HistogramValue::Int(h.clone()),
        })
        .collect()
}

fn floats(s: &[(i64, Histogram)]) -> Vec<HistogramSample> {
    s.iter()
        .map(|(t, h)| HistogramSample {
            t: *t,
            h: HistogramValue::Float(h.to_float()),
        })
        .collect()
}

/// The hint a stored histogram reads back with: gauges stay gauges; a counter's hint is what
/// its chunk says (checked separately), so it is cleared for comparing values.
fn norm(h: &HistogramValue) -> HistogramValue {
    let mut h = h.clone();
    let keep_gauge = |x: CounterResetHint| {
        if x == CounterResetHint::Gauge {
            x
        } else {
            CounterResetHint::Unknown
        }
    };
    match &mut h {
        HistogramValue::Int(x) => x.counter_reset_hint = keep_gauge(x.counter_reset_hint),
        HistogramValue::Float(x) => x.counter_reset_hint = keep_gauge(x.counter_reset_hint),
    }
    h
}

fn select(db: &Db, name: &str) -> Option<crate::storage::Series> {
    let m = vec![Matcher::equal("__name__", name)];
    db.select(&m, i64::MIN, i64::MAX)
        .unwrap()
        .into_iter()
        .next()
}

/// Asserts the stored histograms of `name` are `want`, bit for bit (hints aside).
fn assert_stored(db: &Db, name: &str, want: &[HistogramSample]) {
    let got = select(db, name).map_or(Vec::new(), |s| s.histograms);
    assert_eq!(got.len(), want.len(), "{name}: sample count");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.t, w.t, "{name}");
        assert!(
            norm(&g.h).same_bits(&norm(&w.h)),
            "{name} at {}:\n got {:?}\nwant {:?}",
            g.t,
            g.h,
            w.h
        );
    }
}

/// Histograms of every schema, with negative, zero and positive buckets; custom bounds.
fn shapes() -> Vec<(String, Vec<(i64, Histogram)>)> {
    let mut rng = Rng(0x5eed);
    let mut out = Vec::new();
    for schema in -4..=8 {
        let s = counter_series(
            &mut rng,
            150,
            schema,
            0.001,
            vec![sp(-3, 4), sp(2, 3)],
            vec![sp(1, 2)],
            1,
            3,
        );
        out.push((format!("s{}", schema + 4), s));
    }
    let mut nhcb = counter_series(
        &mut rng,
        150,
        -53,
        0.0,
        vec![sp(0, 3), sp(1, 1)],
        vec![],
        0,
        2,
    );
    for (_, h) in &mut nhcb {
        h.custom_values = vec![0.1, 0.5, 1.0, 5.0, 10.0];
        h.zero_count = 0;
        h.count = h.to_float().positive_buckets.iter().sum::<f64>() as u64;
    }
    out.push(("nhcb".to_string(), nhcb));
    out
}

#[test]
fn integer_and_float_histograms_round_trip_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let shapes = shapes();
    let mut want = Vec::new();
    for (name, s) in &shapes {
        let (i, f) = (format!("i_{name}"), format!("f_{name}"));
        want.push((i, ints(s)));
        want.push((f, floats(s)));
    }
    for (name, hs) in &want {
        for h in hs {
            assert!(h.h.validate().is_ok(), "{name}: test data valid");
        }
        let st = db.append_histograms(&[hin(name, hs.clone())]).unwrap();
        assert_eq!((st.accepted, st.new_series), (hs.len() as u64, 1), "{name}");
    }
    for (name, hs) in &want {
        assert_stored(&db, name, hs);
        let s = select(&db, name).unwrap();
        assert!(s.samples.is_empty());
        let int = name.starts_with("i_");
        assert!(s
            .histograms
            .iter()
            .all(|h| matches!(h.h, HistogramValue::Int(_)) == int));
    }
    // A range in the middle returns just its samples.
    let (name, hs) = &want[0];
    let m = vec![Matcher::equal("__name__", name.as_str())];
    let got = db.select(&m, hs[10].t, hs[20].t).unwrap();
    assert_eq!(got[0].histograms.len(), 11);
    // Survives a restart from the WAL, then from the database.
    drop(db);
    let db = open(dir.path());
    for (name, hs) in &want {
        assert_stored(&db, name, hs);
    }
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    for (name, hs) in &want {
        assert_stored(&db, name, hs);
    }
}

#[test]
fn counter_resets_and_gauges_keep_their_meaning() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut rng = Rng(7);
    let mut s = counter_series(&mut rng, 30, 0, 0.0, vec![sp(0, 3)], vec![], 5, 2);
    // A reset at sample 20: counts start over.
    for (i, (_, h)) in s.iter_mut().enumerate().skip(20) {
        *h = hist(
            0,
            0.0,
            vec![sp(0, 3)],
            &[1, (i - 20) as u64, 0],
            vec![],
            &[],
            0,
            1.0,
        );
    }
    db.append_histograms(&[hin("reset", ints(&s))]).unwrap();
    {
        let sr = db.inner.head.lookup(&[("__name__", "reset"), ("job", "h")]);
        let series = sr.unwrap();
        let d = series.data.lock();
        let h = d.hist.as_ref().unwrap();
        assert_eq!(h.sealed.len(), 1, "the reset cut a chunk");
        let open = h.open.as_ref().unwrap();
        assert_eq!(chunk_header(open.bytes()), CounterResetHeader::CounterReset);
        assert_eq!(h.open_min_t, s[20].0);
    }
    // Gauge histograms read back as gauges, whatever their counts do.
    let g: Vec<HistogramSample> = (0..15)
        .map(|i| {
            let mut h = hist(
                1,
                0.0,
                vec![sp(0, 2)],
                &[(i % 4) as u64, 1],
                vec![],
                &[],
                0,
                2.0,
            );
            h.counter_reset_hint = CounterResetHint::Gauge;
            HistogramSample {
                t: 1000 * i,
                h: HistogramValue::Int(h),
            }
        })
        .collect();
    db.append_histograms(&[hin("gauge", g.clone())]).unwrap();
    let got = select(&db, "gauge").unwrap().histograms;
    assert!(got
        .iter()
        .all(|h| h.h.counter_reset_hint() == CounterResetHint::Gauge));
    assert_stored(&db, "gauge", &g);
    // A counter whose chunk is cut for size continues with "no counter reset".
    let long = counter_series(&mut rng, 400, 3, 0.0, vec![sp(-10, 20)], vec![], 0, 4);
    db.append_histograms(&[hin("long", ints(&long))]).unwrap();
    let series = db
        .inner
        .head
        .lookup(&[("__name__", "long"), ("job", "h")])
        .unwrap();
    let d = series.data.lock();
    let h = d.hist.as_ref().unwrap();
    assert!(h.sealed.len() >= 2, "{} chunks", h.sealed.len());
    assert_eq!(chunk_header(&h.sealed[0].data), CounterResetHeader::Unknown);
    for c in &h.sealed[1..] {
        assert_eq!(chunk_header(&c.data), CounterResetHeader::NotCounterReset);
        assert!(
            c.data.len() < 1024 + 200,
            "cut near 1 KiB: {}",
            c.data.len()
        );
    }
}

#[test]
fn stale_markers_of_both_kinds() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut rng = Rng(3);
    let s = counter_series(&mut rng, 5, 2, 0.0, vec![sp(0, 4)], vec![sp(0, 1)], 0, 2);
    let t_end = s[4].0;
    db.append_histograms(&[hin("ih", ints(&s)), hin("fh", floats(&s))])
        .unwrap();
    // A histogram stale marker appended as such, and a float stale NaN after a histogram.
    let marker = HistogramSample {
        t: t_end + 1000,
        h: HistogramValue::Int(Histogram {
            sum: stale_nan(),
            ..Histogram::default()
        }),
    };
    let st = db.append_histograms(&[hin("ih", vec![marker])]).unwrap();
    assert_eq!(st.accepted, 1);
    let st = db
        .append(&[fin(
            "fh",
            &[(t_end + 1000, stale_nan()), (t_end + 2000, stale_nan())],
        )])
        .unwrap();
    assert_eq!(st.accepted, 2);
    for (name, int) in [("ih", true), ("fh", false)] {
        let got = select(&db, name).unwrap();
        assert!(
            got.samples.is_empty(),
            "{name}: the stale NaN became a histogram"
        );
        let last = got.histograms.last().unwrap();
        assert!(last.h.is_stale(), "{name}");
        assert_eq!(
            matches!(last.h, HistogramValue::Int(_)),
            int,
            "{name}: same form"
        );
    }
    assert_eq!(select(&db, "fh").unwrap().histograms.len(), 7);
    // A live histogram after the marker is stored; a float at the marker's time is a duplicate.
    let st = db.append(&[fin("ih", &[(t_end + 1000, 1.0)])]).unwrap();
    assert_eq!(st.duplicate, 1);
    let st = db
        .append_histograms(&[hin("ih", ints(&[(t_end + 5000, s[4].1.clone())]))])
        .unwrap();
    assert_eq!(st.accepted, 1);
    // A stale NaN then a live float in one write: a histogram marker, then the float.
    db.append_histograms(&[hin("mix", ints(&s))]).unwrap();
    let st = db
        .append(&[fin(
            "mix",
            &[(t_end + 1000, stale_nan()), (t_end + 2000, 4.0)],
        )])
        .unwrap();
    assert_eq!(st.accepted, 2);
    let check_mix = |db: &Db| {
        let got = select(db, "mix").unwrap();
        assert_eq!(got.histograms.len(), 6);
        assert!(got.histograms[5].h.is_stale());
        assert_eq!(got.samples.len(), 1);
        assert_eq!((got.samples[0].t, got.samples[0].v), (t_end + 2000, 4.0));
    };
    check_mix(&db);
    // Everything survives a crash (WAL replay) and a clean restart.
    let want = select(&db, "fh").unwrap();
    drop(db);
    let db = open(dir.path());
    assert_eq!(
        select(&db, "fh").unwrap().histograms.len(),
        want.histograms.len()
    );
    check_mix(&db);
    assert!(select(&db, "fh").unwrap().histograms[6].h.is_stale());
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    let got = select(&db, "ih").unwrap().histograms;
    assert_eq!(got.len(), 7);
    assert!(got[5].h.is_stale() && !got[6].h.is_stale());
}

#[test]
fn a_series_switches_between_floats_and_histograms() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut rng = Rng(11);
    let hs = counter_series(&mut rng, 40, 1, 0.0, vec![sp(0, 3)], vec![], 0, 2);
    let t0 = hs[0].0;
    let before: Vec<(i64, f64)> = (1..=20).map(|i| (t0 - 1000 * (21 - i), i as f64)).collect();
    db.append(&[fin("sw", &before)]).unwrap();
    db.append_histograms(&[hin("sw", ints(&hs[..20]))]).unwrap();
    let t1 = hs[19].0;
    let mid: Vec<(i64, f64)> = (1..=10)
        .map(|i| (t1 + 1000 * i, 100.0 + i as f64))
        .collect();
    db.append(&[fin("sw", &mid)]).unwrap();
    let shift = |s: &[(i64, Histogram)], by: i64| -> Vec<(i64, Histogram)> {
        s.iter().map(|(t, h)| (t + by, h.clone())).collect()
    };
    let later = shift(&hs[20..], 20_000);
    let st = db.append_histograms(&[hin("sw", floats(&later))]).unwrap();
    assert_eq!(st.accepted, 20);
    let check = |db: &Db| {
        let got = select(db, "sw").unwrap();
        let mut fl = before.clone();
        fl.extend(&mid);
        let got_f: Vec<(i64, f64)> = got.samples.iter().map(|s| (s.t, s.v)).collect();
        assert_eq!(got_f, fl);
        let mut want = ints(&hs[..20]);
        want.extend(floats(&later));
        assert_stored(db, "sw", &want);
    };
    check(&db);
    {
        let s = db
            .inner
            .head
            .lookup(&[("__name__", "sw"), ("job", "h")])
            .unwrap();
        let d = s.data.lock();
        let h = d.hist.as_ref().unwrap();
        assert!(d.open.is_none(), "one open chunk per series");
        assert_eq!(h.open.as_ref().unwrap().form(), HistForm::Float);
        assert_eq!(h.sealed.len(), 1);
        assert_eq!(d.sealed.len(), 2, "floats before and between");
    }
    // Flush (rows of all kinds), append more, crash, and restart cleanly.
    db.flush().unwrap();
    check(&db);
    let tail: Vec<(i64, f64)> = vec![(later[19].0 + 1000, 7.0)];
    db.append(&[fin("sw", &tail)]).unwrap();
    drop(db);
    let db = open(dir.path());
    let got = select(&db, "sw").unwrap();
    assert_eq!(got.samples.last().map(|s| (s.t, s.v)), Some(tail[0]));
    assert_eq!(got.histograms.len(), 40);
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    let got = select(&db, "sw").unwrap();
    assert_eq!(got.samples.len(), 31);
    assert_eq!(got.histograms.len(), 40);
    // Queries of ranges touching only some rows see every sample in them.
    let m = vec![Matcher::equal("__name__", "sw")];
    let mid_range = db.select(&m, mid[2].0, later[3].0).unwrap();
    assert_eq!(mid_range[0].samples.len(), 8);
    assert_eq!(mid_range[0].histograms.len(), 4);
}

#[test]
fn out_of_order_duplicates_repeats_and_invalid_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let mut rng = Rng(5);
    let s = counter_series(&mut rng, 5, 0, 0.0, vec![sp(0, 2)], vec![], 0, 2);
    db.append_histograms(&[hin("o", ints(&s[..3]))]).unwrap();
    let mut other = s[2].1.clone();
    other.sum += 1.0;
    let mut bad = s[4].1.clone();
    bad.count += 1;
    let batch = vec![
        HistogramSample {
            t: s[0].0,
            h: HistogramValue::Int(s[0].1.clone()),
        },
        HistogramSample {
            t: s[2].0,
            h: HistogramValue::Int(s[2].1.clone()),
        },
        HistogramSample {
            t: s[2].0,
            h: HistogramValue::Int(other),
        },
        HistogramSample {
            t: s[3].0,
            h: HistogramValue::Int(s[3].1.clone()),
        },
        HistogramSample {
            t: s[3].0,
            h: HistogramValue::Int(s[3].1.clone()),
        },
        HistogramSample {
            t: s[4].0,
            h: HistogramValue::Int(bad),
        },
    ];
    let st = db.append_histograms(&[hin("o", batch)]).unwrap();
    assert_eq!(
        (
            st.accepted,
            st.out_of_order,
            st.duplicate,
            st.repeated,
            st.invalid
        ),
        (1, 1, 1, 2, 1)
    );
    assert_eq!(st.rejected(), 3);
    // Floats and histograms share one timeline.
    let st = db
        .append(&[fin("o", &[(s[1].0, 1.0), (s[3].0, 1.0)])])
        .unwrap();
    assert_eq!((st.out_of_order, st.duplicate), (1, 1));
    db.append(&[fin("o", &[(s[3].0 + 5, 1.0)])]).unwrap();
    let st = db
        .append_histograms(&[hin("o", ints(&[(s[3].0 + 5, s[4].1.clone())]))])
        .unwrap();
    assert_eq!(st.duplicate, 1, "a histogram at a float's time");
    // The same series twice in one batch keeps time order; handles work too.
    let st = db
        .append_histograms(&[
            hin("o", ints(&[(s[4].0 + 10, s[4].1.clone())])),
            hin(
                "o",
                ints(&[(s[4].0 + 10, s[4].1.clone()), (s[4].0 + 20, s[4].1.clone())]),
            ),
        ])
        .unwrap();
    assert_eq!((st.accepted, st.repeated), (2, 1));
    let r = db.resolve(&[("__name__", "o"), ("job", "h")]).unwrap();
    let h = HistogramSample {
        t: s[4].0 + 30,
        h: HistogramValue::Int(s[4].1.clone()),
    };
    let (st, gone) = db
        .append_histogram_refs(&[(&r, h.clone()), (&r, h)])
        .unwrap();
    assert_eq!((st.accepted, st.repeated, gone.len()), (1, 1, 0));
    assert_eq!(select(&db, "o").unwrap().histograms.len(), 7);
}

#[test]
fn chunks_cut_at_the_two_hour_boundary_and_on_form_changes() {
    let mut d = head::SeriesData::default();
    let h = HistogramValue::Int(hist(0, 0.0, vec![sp(0, 1)], &[1], vec![], &[], 0, 1.0));
    let f = HistogramValue::Float(FloatHistogram {
        count: 1.0,
        sum: 1.0,
        positive_spans: vec![sp(0, 1)],
        positive_buckets: vec![1.0],
        ..FloatHistogram::default()
    });
    d.append_histogram(head::CHUNK_RANGE_MS - 1000, h.clone());
    d.append_histogram(head::CHUNK_RANGE_MS, h.clone());
    d.append_histogram(head::CHUNK_RANGE_MS + 1000, f.clone());
    let hd = d.hist.as_ref().unwrap();
    assert_eq!(hd.sealed.len(), 2);
    assert_eq!(hd.sealed[1].min_t, head::CHUNK_RANGE_MS);
    assert_eq!(hd.sealed[1].form, HistForm::Int);
    assert_eq!(hd.open.as_ref().unwrap().form(), HistForm::Float);
    // A schema change cuts too.
    let h3 = HistogramValue::Int(hist(3, 0.0, vec![sp(0, 1)], &[1], vec![], &[], 0, 1.0));
    d.append_histogram(head::CHUNK_RANGE_MS + 2000, h.clone());
    d.append_histogram(head::CHUNK_RANGE_MS + 3000, h3.clone());
    assert_eq!(d.hist.as_ref().unwrap().sealed.len(), 4);
}

/// A counter series of `n` integer histograms, 20 buckets at schema 3, every 15 s.
fn realistic(n: usize, seed: u64) -> Vec<(i64, Histogram)> {
    let mut rng = Rng(seed);
    counter_series(
        &mut rng,
        n,
        3,
        f64::powi(2.0, -128),
        vec![sp(-10, 20)],
        vec![],
        0,
        4,
    )
}

fn without(hs: &[HistogramSample], mint: i64, maxt: i64) -> Vec<HistogramSample> {
    hs.iter()
        .filter(|h| h.t < mint || h.t > maxt)
        .cloned()
        .collect()
}

#[test]
fn delete_range_re_encodes_histogram_chunks_in_head_and_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let s = realistic(600, 21);
    let (ih, fh) = (ints(&s), floats(&s));
    db.append_histograms(&[hin("di", ih[..300].to_vec()), hin("df", fh[..300].to_vec())])
        .unwrap();
    db.flush().unwrap();
    db.append_histograms(&[hin("di", ih[300..].to_vec()), hin("df", fh[300..].to_vec())])
        .unwrap();
    // From the middle of a stored chunk to the middle of the head's chunks.
    let (mint, maxt) = (s[150].0 + 1, s[450].0);
    let m = vec![Matcher::new(crate::model::MatchOp::Regex, "__name__", "d.").unwrap()];
    assert_eq!(db.delete(&m, mint, maxt).unwrap(), 2);
    let (wi, wf) = (without(&ih, mint, maxt), without(&fh, mint, maxt));
    assert_eq!(wi.len(), 600 - 300);
    assert_stored(&db, "di", &wi);
    assert_stored(&db, "df", &wf);
    // Deleted samples stay deleted after a crash and after a clean restart.
    drop(db);
    let db = open(dir.path());
    assert_stored(&db, "di", &wi);
    assert_stored(&db, "df", &wf);
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    assert_stored(&db, "di", &wi);
    // Deleting everything removes the series.
    db.delete(&[Matcher::equal("__name__", "di")], i64::MIN, i64::MAX)
        .unwrap();
    assert!(select(&db, "di").is_none());
    assert_eq!(db.num_series(), 1);
}

#[test]
fn retention_drops_old_histogram_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let o = Options {
        retention_ms: 3600 * 1000,
        ..opts()
    };
    let (db, _) = Db::open(dir.path(), o).unwrap();
    let s = realistic(2000, 8); // 15 s apart: about 8 h 20 min
    let newest = s[1999].0;
    db.append_histograms(&[hin("new", ints(&s)), hin("old", ints(&s[..400]))])
        .unwrap();
    db.flush().unwrap();
    assert_eq!(db.apply_retention().unwrap(), 1, "the old series goes");
    assert!(select(&db, "old").is_none());
    let kept = select(&db, "new").unwrap().histograms;
    let hour = 3600 * 1000;
    assert_eq!(kept.last().unwrap().t, newest);
    assert!(kept.iter().any(|h| h.t <= newest - hour));
    assert!(
        kept.iter().all(|h| h.t >= newest - 3 * hour),
        "{}",
        kept[0].t
    );
    assert!(kept.len() < 2000);
    db.close().unwrap();
    drop(db);
    let db = open(dir.path());
    assert_eq!(db.num_series(), 1);
    assert_eq!(select(&db, "new").unwrap().histograms.len(), kept.len());
}

#[test]
fn a_damaged_histogram_chunk_costs_its_series_the_stored_samples() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = open(dir.path());
        let s = realistic(500, 4);
        db.append_histograms(&[hin("good", ints(&s)), hin("bad", floats(&s))])
            .unwrap();
        db.close().unwrap();
    }
    {
        let id = super::persist::series_id_named(&dir.path().join(DB_FILE), "bad")
            .expect("series bad stored");
        let c = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        let n = c
            .execute(
                "UPDATE chunks SET data = x'0300ff00ffffffffffff' WHERE series_id = ?1",
                [id],
            )
            .unwrap();
        assert!(n > 0);
    }
    let db = open(dir.path());
    assert_eq!(select(&db, "good").unwrap().histograms.len(), 500);
    let bad = select(&db, "bad").map_or(0, |s| s.histograms.len());
    assert!(
        bad > 0 && bad < 500,
        "damaged chunks are skipped, not made up; the open one is served: {bad}"
    );
    assert!(
        db.stats()
            .corrupt_reads
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0
    );
    assert!(db.corrupt_series().iter().any(|s| s.contains("bad")));
    // The series still takes new samples.
    let st = db
        .append_histograms(&[hin("bad", floats(&realistic(501, 4)[500..]))])
        .unwrap();
    assert_eq!(st.accepted, 1);
    db.close().unwrap();
    drop(db);
    // Cut short open chunks (every length) open without a panic.
    for len in [1, 2, 4, 9, 30] {
        let c = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        c.execute(
            "UPDATE open_chunks SET data = CAST(substr(data, 1, ?1) AS BLOB)",
            [len],
        )
        .unwrap();
        drop(c);
        let db = open(dir.path());
        let _ = select(&db, "bad");
        let _ = select(&db, "good");
    }
}

#[test]
fn head_figures_grow_with_histogram_data_and_snapshots_hold_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    db.append_histograms(&[hin("a", ints(&realistic(1, 1)))])
        .unwrap();
    let (bytes0, (chunks0, _)) = (db.head_bytes(), db.head_stats());
    let s = realistic(1000, 1);
    db.append_histograms(&[hin("a", ints(&s[1..]))]).unwrap();
    let (bytes1, (chunks1, range)) = (db.head_bytes(), db.head_stats());
    assert!(chunks1 > chunks0 + 5, "{chunks0} → {chunks1}");
    assert!(bytes1 > bytes0 + 15_000, "{bytes0} → {bytes1}");
    assert_eq!(range, Some((s[0].0, s[999].0)));
    // A flush moves sealed chunks out of memory.
    db.flush().unwrap();
    assert!(db.head_bytes() < bytes1 - 10_000);
    let snap = tempfile::tempdir().unwrap();
    db.snapshot(&snap.path().join("copy"), true).unwrap();
    let copy = open(&snap.path().join("copy"));
    assert_stored(&copy, "a", &ints(&s));
}

/// Bytes per sample of `n` series of 1,000 realistic histograms each: (head growth, head
/// chunk bytes, database row bytes, database growth).
fn histogram_figures(n: usize) -> (f64, f64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let db = open(dir.path());
    let names: Vec<String> = (0..n).map(|i| format!("fig{i}")).collect();
    for name in &names {
        db.append_histograms(&[hin(name, vec![])]).unwrap();
    }
    let base = db.head_bytes();
    let series: Vec<Vec<HistogramSample>> = (0..n)
        .map(|i| ints(&realistic(1000, 42 + i as u64)))
        .collect();
    for k in 0..10 {
        let batch: Vec<HistogramInput> = names
            .iter()
            .zip(&series)
            .map(|(name, s)| hin(name, s[k * 100..(k + 1) * 100].to_vec()))
            .collect();
        db.append_histograms(&batch).unwrap();
    }
    let samples = (n * 1000) as f64;
    let head = (db.head_bytes() - base) as f64 / samples;
    let chunk_bytes: usize = db
        .inner
        .head
        .all()
        .iter()
        .map(|series| {
            let d = series.data.lock();
            d.hist.as_ref().map_or(0, |h| {
                h.sealed.iter().map(|c| c.data.len()).sum::<usize>()
                    + h.open.as_ref().map_or(0, |c| c.bytes().len())
            })
        })
        .sum();
    let db_before = db.inner.persist.size_bytes().unwrap();
    db.close().unwrap();
    let rows: i64 = rusqlite::Connection::open(dir.path().join(DB_FILE))
        .unwrap()
        .query_row(
            "SELECT SUM(length(data)) FROM (SELECT data FROM chunks UNION ALL SELECT data FROM open_chunks)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let disk = (db.inner.persist.size_bytes().unwrap() - db_before) as f64 / samples;
    (
        head,
        chunk_bytes as f64 / samples,
        rows as f64 / samples,
        disk,
    )
}

#[test]
fn bytes_per_histogram_sample_in_the_head_and_on_disk() {
    // 20 buckets at schema 3, 1,000 samples at 15 s: one series, then 20 (less fixed cost).
    for n in [1, 20] {
        let (head, chunk, rows, disk) = histogram_figures(n);
        eprintln!(
            "histogram samples, {n} series × 1,000 (20 buckets, schema 3, 15 s): head \
             {head:.1} B/sample (chunk bytes {chunk:.1}), database rows {rows:.1} B/sample, \
             database growth {disk:.1} B/sample"
        );
        assert!(chunk < 40.0);
        assert!(head < 60.0 && head >= chunk);
        assert!(rows < chunk * 1.05);
        assert!(disk < 60.0);
    }
}
