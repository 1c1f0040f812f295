use super::*;
use crate::model::is_stale_nan;
use crate::storage::{AppendStats, StorageError};
use parking_lot::Mutex;

type Row = (String, i64, f64);

#[derive(Default)]
struct Recorder(Mutex<Vec<Row>>);

impl Appender for Recorder {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut rows = self.0.lock();
        for s in batch {
            let l = s.labels.clone();
            assert!(l.windows(2).all(|w| w[0].0 < w[1].0), "sorted: {l:?}");
            let text = l
                .iter()
                .map(|(a, b)| format!("{a}={b}"))
                .collect::<Vec<_>>()
                .join(",");
            for x in &s.samples {
                rows.push((text.clone(), x.t, x.v));
            }
        }
        Ok(AppendStats::default())
    }
}

fn setup(job_yaml: &str) -> (Scraper, Arc<Recorder>) {
    let cfg = crate::config::Config::parse(job_yaml, std::path::Path::new("t.yml")).unwrap();
    let job = cfg.jobs().next().unwrap().clone();
    let mut own = LabelMap::new();
    own.insert("__address__".into(), "h:1".into());
    let super::super::target::Outcome::Active(t) =
        super::super::target::populate(&job, &LabelMap::new(), &own).unwrap()
    else {
        panic!("dropped")
    };
    let rec = Arc::new(Recorder::default());
    (Scraper::new(Arc::new(job), Arc::new(*t), rec.clone()), rec)
}

fn take(rec: &Recorder) -> Vec<Row> {
    std::mem::take(&mut *rec.0.lock())
}

const JOB: &str = "scrape_configs:\n- job_name: j\n  static_configs: [{targets: ['h:1']}]\n";

#[test]
fn openmetrics_exemplars_reach_the_store() {
    use crate::storage::Querier;
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::tsdb::Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let db = Arc::new(db);
    let (s, _) = setup(JOB);
    let mut s = Scraper::new(s.job.clone(), s.target.clone(), db.clone());
    let page = "# TYPE foo counter\n\
                foo_total{a=\"1\"} 17 # {trace_id=\"t1\"} 0.67\n\
                foo_total{a=\"2\"} 18 # {trace_id=\"t2\"} 1.5 1600000000.123\n\
                # EOF\n";
    for t in [1000, 2000] {
        let r = s.append_page(page, Format::OpenMetrics, t);
        assert_eq!(r.error, None);
        // The second page repeats both: neither is stored again nor counted.
        assert_eq!(r.exemplars_out_of_order, 0);
    }
    let page2 = page.replace("0.67", "0.75");
    s.append_page(&page2, Format::OpenMetrics, 3000);
    let all = vec![vec![crate::model::Matcher::equal("__name__", "foo_total")]];
    let got = db.exemplars(&all, i64::MIN, i64::MAX).unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].labels.get("job"), Some("j"));
    assert_eq!(got[0].labels.get("a"), Some("1"));
    let first: Vec<(i64, f64)> = got[0].exemplars.iter().map(|e| (e.t, e.value)).collect();
    // Without a timestamp: the scrape time of the sample.
    assert_eq!(first, vec![(1000, 0.67), (3000, 0.75)]);
    assert_eq!(got[1].exemplars.len(), 1);
    assert_eq!(got[1].exemplars[0].t, 1_600_000_000_123);
    assert_eq!(got[1].exemplars[0].labels.get("trace_id"), Some("t2"));
}

#[test]
fn target_labels_win_and_page_labels_are_exported() {
    let (mut s, rec) = setup(JOB);
    let r = s.append_page("m{job=\"inner\",a=\"1\"} 5\n", Format::Text, 1000);
    assert_eq!(r.error, None);
    assert_eq!((r.scraped, r.post_relabel, r.series_added), (1, 1, 1));
    assert_eq!(
        take(&rec),
        vec![(
            "__name__=m,a=1,exported_job=inner,instance=h:1,job=j".into(),
            1000,
            5.0
        )]
    );
    let (mut s, rec) =
        setup(&JOB.replace("- job_name: j\n", "- job_name: j\n  honor_labels: true\n"));
    s.append_page(
        "m{job=\"inner\"} 5\nn{instance=\"\"} 6\n",
        Format::Text,
        1000,
    );
    let rows = take(&rec);
    assert_eq!(rows[0].0, "__name__=m,instance=h:1,job=inner");
    // Exposed empty: the target's instance is not added (the Pushgateway case).
    assert_eq!(rows[1].0, "__name__=n,job=j");
}

#[test]
fn stale_markers_when_series_vanish_or_the_page_is_bad() {
    let (mut s, rec) = setup(JOB);
    s.append_page("a 1\nb 2\n", Format::Text, 1000);
    take(&rec);
    // b disappears: it gets a stale marker at the scrape time; a is appended (cache hit).
    let r = s.append_page("a 3\n", Format::Text, 2000);
    assert_eq!((r.stale, r.series_added), (1, 0));
    let rows = take(&rec);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0], ("__name__=a,instance=h:1,job=j".into(), 2000, 3.0));
    assert!(rows[1].0.starts_with("__name__=b,") && rows[1].1 == 2000 && is_stale_nan(rows[1].2));
    // A bad page keeps nothing from it and makes a stale.
    let r = s.append_page("a 4\nthis is { bad\n", Format::Text, 3000);
    let err = r.error.unwrap();
    assert!(err.contains("line 2"), "{err}");
    let rows = take(&rec);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].0.starts_with("__name__=a,") && is_stale_nan(rows[0].2));
    // And the next good page brings a back.
    s.append_page("a 5\n", Format::Text, 4000);
    assert_eq!(take(&rec)[0].2, 5.0);
}

#[test]
fn metric_relabeling_limits_and_timestamps() {
    let (mut s, rec) = setup(&format!(
        "{JOB}  honor_timestamps: false\n  sample_limit: 2\n  metric_relabel_configs:\n  - {{source_labels: [__name__], regex: 'go_.*', action: drop}}\n"
    ));
    let r = s.append_page("go_x 1\nkeep 2 123\n", Format::Text, 1000);
    assert_eq!((r.scraped, r.post_relabel), (2, 1));
    // honor_timestamps: false uses the scrape time.
    assert_eq!(
        take(&rec),
        vec![("__name__=keep,instance=h:1,job=j".into(), 1000, 2.0)]
    );
    let r = s.append_page("keep 1\nk2 1\nk3 1\n", Format::Text, 2000);
    assert!(r
        .error
        .unwrap()
        .contains("sample_limit exceeded (limit: 2, got: 3)"));
    // Only the stale marker for `keep` was written.
    let rows = take(&rec);
    assert_eq!(rows.len(), 1);
    assert!(is_stale_nan(rows[0].2));

    let (mut s, _) = setup(&format!("{JOB}  label_limit: 3\n"));
    let r = s.append_page("m{a=\"1\",b=\"2\"} 1\n", Format::Text, 1000);
    assert!(
        r.error.unwrap().contains("label_limit exceeded"),
        "5 labels > 3"
    );
    let (mut s, rec) = setup(JOB);
    s.append_page("m 1 500\n", Format::Text, 1000);
    assert_eq!(take(&rec)[0].1, 500, "honor_timestamps defaults to true");
}

#[test]
fn synthetic_series_and_target_removal() {
    let (mut s, rec) = setup(JOB);
    let r = s.append_page("a 1\n", Format::Text, 1000);
    s.report(1000, true, 0.25, &r);
    let rows = take(&rec);
    let find = |n: &str| {
        rows.iter()
            .find(|r| r.0.starts_with(&format!("__name__={n},")))
            .map(|r| r.2)
    };
    assert_eq!(find("up"), Some(1.0));
    assert_eq!(find("scrape_duration_seconds"), Some(0.25));
    assert_eq!(find("scrape_samples_scraped"), Some(1.0));
    assert_eq!(find("scrape_samples_post_metric_relabeling"), Some(1.0));
    assert_eq!(find("scrape_series_added"), Some(1.0));
    s.stale_all(2000);
    let rows = take(&rec);
    assert_eq!(rows.len(), 6, "a and the five synthetic series");
    assert!(rows.iter().all(|r| r.1 == 2000 && is_stale_nan(r.2)));
}

#[test]
fn metadata_from_help_type_unit() {
    let (mut s, _) = setup(JOB);
    s.append_page(
        "# HELP x_seconds Time.\n# TYPE x_seconds gauge\n# UNIT x_seconds seconds\nx_seconds 1\n# EOF\n",
        Format::OpenMetrics,
        1000,
    );
    assert_eq!(
        s.metadata["x_seconds"],
        Metadata {
            kind: MetricType::Gauge,
            help: "Time.".into(),
            unit: "seconds".into()
        }
    );
}
