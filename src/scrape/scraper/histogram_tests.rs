//! The scraper with native histograms: protobuf pages under each setting, NHCB conversion,
//! the bucket limit, validation failures, staleness and exemplars.

use super::*;
use crate::model::{is_stale_nan, CounterResetHint};
use crate::storage::{AppendStats, ExemplarStats, StorageError};
use crate::textparse::proto::{
    Bucket, BucketSpan, Counter, Exemplar as PExemplar, Histogram as PHistogram, LabelPair, Metric,
    MetricFamily, MetricType as T, Timestamp,
};
use parking_lot::Mutex;
use prost::Message;

/// What reached the store: float rows, histogram rows and exemplars, by series text.
#[derive(Default)]
struct Rec {
    floats: Mutex<Vec<(String, i64, f64)>>,
    hists: Mutex<Vec<(String, i64, HistogramValue)>>,
    exemplars: Mutex<Vec<(String, f64, i64)>>,
}

fn text(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(a, b)| format!("{a}={b}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Appender for Rec {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut rows = self.floats.lock();
        for s in batch {
            for x in &s.samples {
                rows.push((text(&s.labels), x.t, x.v));
            }
        }
        Ok(AppendStats::default())
    }

    fn append_histograms(&self, batch: &[HistogramInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut rows = self.hists.lock();
        for s in batch {
            assert!(s.labels.windows(2).all(|w| w[0].0 < w[1].0), "sorted");
            for h in &s.histograms {
                rows.push((text(&s.labels), h.t, h.h.clone()));
            }
        }
        Ok(AppendStats::default())
    }

    fn append_exemplars(&self, batch: &[ExemplarInput<'_>]) -> Result<ExemplarStats, StorageError> {
        let mut rows = self.exemplars.lock();
        for s in batch {
            for e in &s.exemplars {
                rows.push((text(&s.series), e.value, e.t));
            }
        }
        Ok(ExemplarStats::default())
    }
}

fn setup(extra: &str) -> (Scraper, Arc<Rec>) {
    let yaml = format!(
        "scrape_configs:\n- job_name: j\n  static_configs: [{{targets: ['h:1']}}]\n{extra}"
    );
    let cfg = crate::config::Config::parse(&yaml, std::path::Path::new("t.yml")).unwrap();
    let job = cfg.jobs().next().unwrap().clone();
    let mut own = LabelMap::new();
    own.insert("__address__".into(), "h:1".into());
    let super::super::target::Outcome::Active(t) =
        super::super::target::populate(&job, &LabelMap::new(), &own).unwrap()
    else {
        panic!("dropped")
    };
    let rec = Arc::new(Rec::default());
    (Scraper::new(Arc::new(job), Arc::new(*t), rec.clone()), rec)
}

fn lp(name: &str, value: &str) -> LabelPair {
    LabelPair {
        name: name.into(),
        value: value.into(),
    }
}

fn span(offset: i32, length: u32) -> BucketSpan {
    BucketSpan { offset, length }
}

fn bucket(upper_bound: f64, cumulative_count: u64) -> Bucket {
    Bucket {
        upper_bound,
        cumulative_count,
        ..Bucket::default()
    }
}

/// A histogram with native buckets (schema 0: buckets 1 and 2, counts 2 and 3; zero bucket 1)
/// and classic buckets (le 1: 3, le 2: 6).
fn mixed() -> PHistogram {
    PHistogram {
        sample_count: 6,
        sample_sum: 7.5,
        schema: 0,
        zero_threshold: 1e-128,
        zero_count: 1,
        positive_span: vec![span(1, 2)],
        positive_delta: vec![2, 1],
        bucket: vec![bucket(1.0, 3), bucket(2.0, 6)],
        exemplars: vec![PExemplar {
            label: vec![lp("trace_id", "abc")],
            value: 1.5,
            timestamp: Some(Timestamp {
                seconds: 5,
                nanos: 0,
            }),
        }],
        ..PHistogram::default()
    }
}

fn classic_only() -> PHistogram {
    PHistogram {
        sample_count: 4,
        sample_sum: 2.0,
        bucket: vec![bucket(0.5, 1), bucket(1.0, 3)],
        ..PHistogram::default()
    }
}

fn family(name: &str, t: T, metric: Vec<Metric>) -> MetricFamily {
    MetricFamily {
        name: name.into(),
        help: String::new(),
        r#type: t as i32,
        metric,
        unit: String::new(),
    }
}

fn hist_metric(h: PHistogram) -> Metric {
    Metric {
        label: vec![lp("path", "/")],
        histogram: Some(h),
        ..Metric::default()
    }
}

fn page(families: &[MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).expect("a Vec grows");
    }
    out
}

fn standard_page() -> Vec<u8> {
    page(&[
        family(
            "c_total",
            T::Counter,
            vec![Metric {
                counter: Some(Counter {
                    value: 3.0,
                    ..Counter::default()
                }),
                ..Metric::default()
            }],
        ),
        family("mixed_seconds", T::Histogram, vec![hist_metric(mixed())]),
        family(
            "classic_seconds",
            T::Histogram,
            vec![hist_metric(classic_only())],
        ),
    ])
}

fn names(rows: &[(String, i64, f64)]) -> Vec<String> {
    let mut v: Vec<String> = rows
        .iter()
        .map(|r| {
            r.0.split(',')
                .next()
                .unwrap_or("")
                .trim_start_matches("__name__=")
                .to_string()
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

const NATIVE: &str = "  scrape_native_histograms: true\n";

#[test]
fn native_histograms_come_in_and_classic_only_ones_stay_classic() {
    let (mut s, rec) = setup(NATIVE);
    let rep = s.append_body(&standard_page(), PageFormat::Protobuf, 1000);
    assert_eq!(rep.error, None);
    // The counter, one native histogram, the classic one's count, sum and 3 buckets.
    assert_eq!(rep.scraped, 1 + 1 + 5, "a histogram counts as one sample");
    let hists = rec.hists.lock().clone();
    assert_eq!(hists.len(), 1);
    assert_eq!(
        hists[0].0,
        "__name__=mixed_seconds,instance=h:1,job=j,path=/"
    );
    assert_eq!(hists[0].1, 1000);
    let HistogramValue::Int(h) = &hists[0].2 else {
        panic!("integer")
    };
    assert_eq!((h.count, h.sum, h.zero_count, h.schema), (6, 7.5, 1, 0));
    assert_eq!(h.counter_reset_hint, CounterResetHint::Unknown);
    let floats = rec.floats.lock().clone();
    assert_eq!(
        names(&floats),
        [
            "c_total",
            "classic_seconds_bucket",
            "classic_seconds_count",
            "classic_seconds_sum"
        ]
    );
    // The native histogram's exemplar, with its own timestamp.
    let ex = rec.exemplars.lock().clone();
    assert_eq!(
        ex,
        vec![(
            "__name__=mixed_seconds,instance=h:1,job=j,path=/".into(),
            1.5,
            5000
        )]
    );
}

#[test]
fn always_scrape_classic_keeps_the_classic_series_of_a_mixed_histogram() {
    let (mut s, rec) = setup(&format!(
        "{NATIVE}  always_scrape_classic_histograms: true\n"
    ));
    let rep = s.append_body(&standard_page(), PageFormat::Protobuf, 1000);
    assert_eq!(rep.error, None);
    assert_eq!(rec.hists.lock().len(), 1);
    let n = names(&rec.floats.lock());
    assert!(n.contains(&"mixed_seconds_bucket".to_string()), "{n:?}");
    assert!(n.contains(&"mixed_seconds_count".to_string()));
}

#[test]
fn without_scrape_native_histograms_every_histogram_is_classic() {
    let (mut s, rec) = setup("");
    let rep = s.append_body(&standard_page(), PageFormat::Protobuf, 1000);
    assert_eq!(rep.error, None);
    assert!(rec.hists.lock().is_empty());
    let floats = rec.floats.lock().clone();
    let buckets: Vec<&(String, i64, f64)> = floats
        .iter()
        .filter(|r| r.0.starts_with("__name__=mixed_seconds_bucket"))
        .collect();
    assert_eq!(buckets.len(), 3, "le 1, 2 and +Inf");
}

#[test]
fn convert_classic_histograms_to_nhcb_from_protobuf_and_text() {
    let (mut s, rec) = setup(&format!(
        "{NATIVE}  convert_classic_histograms_to_nhcb: true\n"
    ));
    let rep = s.append_body(&standard_page(), PageFormat::Protobuf, 1000);
    assert_eq!(rep.error, None);
    let hists = rec.hists.lock().clone();
    let nhcb: Vec<_> = hists.iter().filter(|h| h.2.schema() == -53).collect();
    assert_eq!(
        nhcb.len(),
        1,
        "the classic-only histogram; the mixed one is native"
    );
    assert_eq!(
        nhcb[0].0,
        "__name__=classic_seconds,instance=h:1,job=j,path=/"
    );
    let f = nhcb[0].2.to_float();
    assert_eq!(f.custom_values, vec![0.5, 1.0]);
    assert_eq!(f.positive_buckets, vec![1.0, 2.0, 1.0]);
    assert_eq!((f.count, f.sum), (4.0, 2.0));
    assert_eq!(
        names(&rec.floats.lock()),
        ["c_total"],
        "classic series dropped"
    );

    // The text format too; the classic series stay with always_scrape_classic_histograms.
    let (mut s, rec) = setup(
        "  convert_classic_histograms_to_nhcb: true\n  always_scrape_classic_histograms: true\n",
    );
    let page = "# TYPE rt histogram\nrt_bucket{le=\"1\"} 2\nrt_bucket{le=\"+Inf\"} 3\nrt_count 3\nrt_sum 1.5\nother 1\n";
    let rep = s.append_page(page, Format::Text, 2000);
    assert_eq!(rep.error, None);
    let hists = rec.hists.lock().clone();
    assert_eq!(hists.len(), 1);
    assert_eq!(hists[0].0, "__name__=rt,instance=h:1,job=j");
    assert_eq!(hists[0].2.to_float().positive_buckets, vec![2.0, 1.0]);
    assert_eq!(rec.floats.lock().len(), 5, "4 classic series and `other`");
}

#[test]
fn a_histogram_over_the_bucket_limit_fails_the_scrape() {
    let (mut s, rec) = setup(&format!("{NATIVE}  native_histogram_bucket_limit: 1\n"));
    // Buckets 1 and 2 at schema 0 merge into one at schema -1: within the limit.
    let rep = s.append_body(&standard_page(), PageFormat::Protobuf, 1000);
    assert_eq!(rep.error, None);
    assert_eq!(rec.hists.lock()[0].2.schema(), -1);
    // Buckets far apart cannot be merged into one even at schema -4.
    let mut wide = mixed();
    wide.positive_span = vec![span(1, 1), span(100_000, 1)];
    let (mut s, rec) = setup(&format!("{NATIVE}  native_histogram_bucket_limit: 1\n"));
    let rep = s.append_body(
        &page(&[family("w", T::Histogram, vec![hist_metric(wide)])]),
        PageFormat::Protobuf,
        1000,
    );
    assert_eq!(
        rep.error.as_deref(),
        Some("histogram bucket limit exceeded")
    );
    assert!(rec.hists.lock().is_empty() && rec.floats.lock().is_empty());
}

#[test]
fn an_invalid_histogram_fails_the_scrape_naming_series_and_rule() {
    let (mut s, rec) = setup(NATIVE);
    let mut bad = mixed();
    bad.sample_count = 99;
    let rep = s.append_body(
        &page(&[family("bad_seconds", T::Histogram, vec![hist_metric(bad)])]),
        PageFormat::Protobuf,
        1000,
    );
    let e = rep.error.expect("refused");
    assert!(e.contains("bad_seconds{path=\"/\"}"), "{e}");
    assert!(e.contains("observation count"), "{e}");
    assert!(rec.hists.lock().is_empty());
}

#[test]
fn a_vanished_histogram_gets_a_stale_marker() {
    let (mut s, rec) = setup(NATIVE);
    s.append_body(&standard_page(), PageFormat::Protobuf, 1000);
    rec.floats.lock().clear();
    let only_counter = page(&[family(
        "c_total",
        T::Counter,
        vec![Metric {
            counter: Some(Counter {
                value: 4.0,
                ..Counter::default()
            }),
            ..Metric::default()
        }],
    )]);
    let rep = s.append_body(&only_counter, PageFormat::Protobuf, 2000);
    assert_eq!(rep.error, None);
    let floats = rec.floats.lock().clone();
    let stale: Vec<&(String, i64, f64)> = floats.iter().filter(|r| is_stale_nan(r.2)).collect();
    assert!(
        stale
            .iter()
            .any(|r| r.0 == "__name__=mixed_seconds,instance=h:1,job=j,path=/" && r.1 == 2000),
        "{floats:?}"
    );
    assert_eq!(
        rep.stale, 6,
        "the histogram and the classic-only one's 5 series"
    );
}

#[test]
fn later_pages_hit_the_cache_for_native_and_converted_histograms() {
    let (mut s, rec) = setup(&format!(
        "{NATIVE}  convert_classic_histograms_to_nhcb: true\n"
    ));
    let first = s.append_body(&standard_page(), PageFormat::Protobuf, 1000);
    assert_eq!(first.error, None);
    assert_eq!(
        first.series_added, 3,
        "counter, native and converted histogram"
    );
    let second = s.append_body(&standard_page(), PageFormat::Protobuf, 2000);
    assert_eq!(second.error, None);
    // The native histogram's exemplar (time 5 s) was sent once: the next page repeats it.
    assert_eq!(rec.exemplars.lock().len(), 1);
    assert_eq!(second.series_added, 0, "all from the cache");
    assert_eq!(second.stale, 0);
    let times: Vec<(String, i64)> = rec
        .hists
        .lock()
        .iter()
        .map(|h| (h.0.split(',').next().unwrap_or("").to_string(), h.1))
        .collect();
    assert_eq!(
        times,
        [
            ("__name__=mixed_seconds".to_string(), 1000),
            ("__name__=classic_seconds".to_string(), 1000),
            ("__name__=mixed_seconds".to_string(), 2000),
            ("__name__=classic_seconds".to_string(), 2000),
        ]
    );
}

#[test]
fn a_tsdb_store_holds_scraped_histograms() {
    use crate::storage::Querier;
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::tsdb::Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let db = Arc::new(db);
    let (s, _) = setup(NATIVE);
    let mut s = Scraper::new(s.job.clone(), s.target.clone(), db.clone());
    for t in [1000, 2000] {
        let rep = s.append_body(&standard_page(), PageFormat::Protobuf, t);
        assert_eq!((rep.error, rep.invalid), (None, 0));
    }
    let sel = vec![crate::model::Matcher::equal("__name__", "mixed_seconds")];
    let got = db.select(&sel, i64::MIN, i64::MAX).unwrap();
    assert_eq!(got.len(), 1);
    let ts: Vec<i64> = got[0].histograms.iter().map(|h| h.t).collect();
    assert_eq!(ts, vec![1000, 2000]);
    assert_eq!(got[0].histograms[0].h.count_and_sum(), (6.0, 7.5));
}

#[test]
fn created_timestamps_become_zero_samples_only_with_the_feature() {
    let ct = Some(Timestamp {
        seconds: 0,
        nanos: 400_000_000,
    });
    let body = |ct: Option<Timestamp>| {
        page(&[
            family(
                "c_total",
                T::Counter,
                vec![Metric {
                    counter: Some(Counter {
                        value: 3.0,
                        created_timestamp: ct,
                        ..Counter::default()
                    }),
                    ..Metric::default()
                }],
            ),
            family(
                "mixed_seconds",
                T::Histogram,
                vec![hist_metric(PHistogram {
                    created_timestamp: ct,
                    ..mixed()
                })],
            ),
        ])
    };
    // Off (Prometheus's default): the created timestamp is not stored.
    let (mut s, rec) = setup(NATIVE);
    assert_eq!(
        s.append_body(&body(ct), PageFormat::Protobuf, 1000).error,
        None
    );
    assert!(rec.floats.lock().iter().all(|r| r.1 == 1000));
    assert!(rec.hists.lock().iter().all(|r| r.1 == 1000));
    // On: a zero sample at 400 ms before the counter, a zero histogram (same schema and zero
    // threshold, a counter reset) before the histogram; scraped samples count only once.
    let (mut s, rec) = setup(NATIVE);
    s.native.ct_zero = true;
    let rep = s.append_body(&body(ct), PageFormat::Protobuf, 1000);
    assert_eq!(rep.error, None);
    assert_eq!(rep.scraped, 2);
    let counter: Vec<(i64, f64)> = rec
        .floats
        .lock()
        .iter()
        .filter(|r| r.0.starts_with("__name__=c_total"))
        .map(|r| (r.1, r.2))
        .collect();
    assert_eq!(counter, vec![(400, 0.0), (1000, 3.0)]);
    let hists = rec.hists.lock().clone();
    assert_eq!(hists.len(), 2, "{hists:?}");
    assert_eq!(hists[0].1, 400);
    let HistogramValue::Int(z) = &hists[0].2 else {
        panic!("integer")
    };
    assert_eq!((z.count, z.sum, z.schema), (0, 0.0, 0));
    assert_eq!(z.zero_threshold, 1e-128);
    assert!(z.positive_buckets.is_empty());
    assert_eq!(z.counter_reset_hint, CounterResetHint::CounterReset);
    assert_eq!(hists[1].1, 1000);
    // A created timestamp at or after the sample's own time gives no zero.
    let late = Some(Timestamp {
        seconds: 2,
        nanos: 0,
    });
    let (mut s, rec) = setup(NATIVE);
    s.native.ct_zero = true;
    assert_eq!(
        s.append_body(&body(late), PageFormat::Protobuf, 1000).error,
        None
    );
    assert!(rec.floats.lock().iter().all(|r| r.1 == 1000));
    assert_eq!(rec.hists.lock().len(), 1);
}
