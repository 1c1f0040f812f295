//! One target's scraping: turning a fetched page into appended samples, with the scrape cache
//! (raw series text → final labels, so a page seen before needs no label parsing or
//! relabeling), `honor_labels` / `honor_timestamps`, `metric_relabel_configs`, the sample and
//! label limits, OpenMetrics exemplars (stored after the samples; one without a timestamp
//! takes its sample's), stale markers for series that disappear, and the synthetic series (`up`,
//! `scrape_duration_seconds`, ...). Follows Prometheus's scrape/scrape.go (scrapeLoop.append,
//! mutateSampleLabels, report) in our own words. A bad page fails that scrape with a clear
//! error and, as in Prometheus, makes the previous page's series stale; nothing else is lost.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::relabel::{process, LabelMap};
use super::target::Target;
use crate::config::ScrapeConfig;
use crate::model::{
    is_valid_label_name, is_valid_metric_name, stale_nan, FxMap, NameValidation, Sample,
};
use crate::storage::{Appender, Exemplar, ExemplarInput, SeriesInput, SeriesRef};
use crate::textparse::{Entry, Format, MetricType, Parser};

pub use crate::textparse::Metadata;

/// What one page produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageReport {
    pub scraped: u64,
    pub post_relabel: u64,
    pub series_added: u64,
    pub stale: u64,
    /// Samples the store refused as out of order, or as another value at the same timestamp.
    pub out_of_order: u64,
    pub duplicate: u64,
    /// Exemplars the store refused as out of order (or as repeats of the newest).
    pub exemplars_out_of_order: u64,
    /// Why the page was rejected (nothing from it was kept).
    pub error: Option<String>,
}

struct CacheEntry {
    /// Final labels, or `None` when metric relabeling drops the series.
    labels: Option<Vec<(String, String)>>,
    /// The store's handle for the series, when it offers one.
    sref: Option<SeriesRef>,
    /// The scrape generation that last saw it.
    seen: u64,
    /// The last exemplar sent (labels, value bits, its own timestamp if the page gave one):
    /// the same one on the next page is a repeat, not a new exemplar (Prometheus compares
    /// times only when an exemplar has one).
    last_exemplar: Option<(crate::model::Labels, u64, Option<i64>)>,
}

/// Per-target scraping state (owned by the target's loop).
pub struct Scraper {
    job: Arc<ScrapeConfig>,
    target: Arc<Target>,
    appender: Arc<dyn Appender>,
    index: FxMap<Box<str>, usize>,
    entries: Vec<CacheEntry>,
    gen: u64,
    /// Entries the last page had, for stale markers.
    last_seen: Vec<usize>,
    /// Whether the synthetic series were written (so they go stale with the target).
    reported: bool,
    pub metadata: BTreeMap<String, Metadata>,
    validation: NameValidation,
    /// The previous page's series texts, back to back, with (start, length, entry) per
    /// sample in page order: pages rarely change shape, so the k-th sample is first compared
    /// with the k-th of the last page (a sequential read) before the hash lookup.
    prev_keys: String,
    prev_spans: Vec<(usize, usize, usize)>,
    cur_keys: String,
    cur_spans: Vec<(usize, usize, usize)>,
}

const SYNTHETIC: [&str; 5] = [
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
];

impl Scraper {
    pub fn new(job: Arc<ScrapeConfig>, target: Arc<Target>, appender: Arc<dyn Appender>) -> Self {
        let validation = match job.metric_name_validation_scheme {
            Some(crate::config::ValidationScheme::Legacy) => NameValidation::Legacy,
            _ => NameValidation::Utf8,
        };
        Scraper {
            job,
            target,
            appender,
            index: FxMap::default(),
            entries: Vec::new(),
            gen: 0,
            last_seen: Vec::new(),
            reported: false,
            metadata: BTreeMap::new(),
            validation,
            prev_keys: String::new(),
            prev_spans: Vec::new(),
            cur_keys: String::new(),
            cur_spans: Vec::new(),
        }
    }

    /// The final labels of a sample's series, or `None` if metric relabeling drops it.
    fn build_labels(
        &self,
        s: &crate::textparse::Sample<'_>,
    ) -> Result<Option<Vec<(String, String)>>, String> {
        let sl = s.labels().map_err(|e| e.to_string())?;
        if !is_valid_metric_name(&sl.name, self.validation) {
            return Err(format!("invalid metric name {:?}", sl.name));
        }
        let mut m = LabelMap::new();
        for (k, v) in &sl.labels {
            if !is_valid_label_name(k, self.validation) {
                return Err(format!("invalid label name {k:?} in {:?}", s.series));
            }
            if !v.is_empty() {
                m.insert(k.to_string(), v.to_string());
            }
        }
        m.insert("__name__".into(), sl.name.to_string());
        if self.job.honor_labels {
            // A label exposed with an empty value still wins over the target's (and then is
            // absent), as in Prometheus: the Pushgateway's `instance=""` removes `instance`.
            for (k, v) in &self.target.labels {
                if !sl.labels.iter().any(|(n, _)| n == k) {
                    m.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        } else {
            for (k, v) in &self.target.labels {
                if let Some(old) = m.insert(k.clone(), v.clone()) {
                    let mut name = format!("exported_{k}");
                    while m.contains_key(&name) {
                        name = format!("exported_{name}");
                    }
                    m.insert(name, old);
                }
            }
        }
        if !process(&self.job.metric_relabel_configs, &mut m) {
            return Ok(None);
        }
        let Some(name) = m.get("__name__").filter(|n| !n.is_empty()) else {
            return Err(format!(
                "series {:?} has no metric name after relabeling",
                s.series
            ));
        };
        let limit = |x: Option<u64>| x.filter(|l| *l > 0);
        if let Some(l) = limit(self.job.label_limit) {
            if m.len() as u64 > l {
                return Err(format!(
                    "label_limit exceeded (metric: {name}, number of labels: {}, limit: {l})",
                    m.len()
                ));
            }
        }
        if let Some(l) = limit(self.job.label_name_length_limit) {
            if let Some(k) = m.keys().find(|k| k.len() as u64 > l) {
                return Err(format!("label_name_length_limit exceeded (metric: {name}, label name: {k}, length: {}, limit: {l})", k.len()));
            }
        }
        if let Some(l) = limit(self.job.label_value_length_limit) {
            if let Some((k, v)) = m.iter().find(|(_, v)| v.len() as u64 > l) {
                return Err(format!("label_value_length_limit exceeded (metric: {name}, label name: {k}, value: {v:?}, length: {}, limit: {l})", v.len()));
            }
        }
        Ok(Some(m.into_iter().collect()))
    }

    /// Appends a page scraped at `t` (ms). On a bad page nothing from it is kept, and the
    /// previous page's series get stale markers.
    pub fn append_page(&mut self, page: &str, format: Format, t: i64) -> PageReport {
        self.gen += 1;
        let mut rep = PageReport::default();
        let mut picked: Vec<(usize, i64, f64)> = Vec::new();
        let mut meta: BTreeMap<String, Metadata> = BTreeMap::new();
        let mut new_entries = 0usize;
        let mut exemplars: Vec<(usize, Exemplar, bool)> = Vec::new();
        for e in Parser::new(page, format) {
            let s = match e {
                Err(e) => {
                    rep.error = Some(e.to_string());
                    break;
                }
                Ok(Entry::Help { metric, text }) => {
                    meta.entry(metric.into_owned())
                        .or_insert_with(|| Metadata {
                            kind: MetricType::Unknown,
                            help: String::new(),
                            unit: String::new(),
                        })
                        .help = text.into_owned();
                    continue;
                }
                Ok(Entry::Type { metric, kind }) => {
                    meta.entry(metric.into_owned())
                        .or_insert_with(|| Metadata {
                            kind,
                            help: String::new(),
                            unit: String::new(),
                        })
                        .kind = kind;
                    continue;
                }
                Ok(Entry::Unit { metric, unit }) => {
                    meta.entry(metric.into_owned())
                        .or_insert_with(|| Metadata {
                            kind: MetricType::Unknown,
                            help: String::new(),
                            unit: String::new(),
                        })
                        .unit = unit.to_string();
                    continue;
                }
                Ok(Entry::Sample(s)) => s,
            };
            let k = rep.scraped as usize;
            rep.scraped += 1;
            let same_as_last = self.prev_spans.get(k).and_then(|&(start, len, e)| {
                (self.prev_keys.as_bytes().get(start..start + len) == Some(s.series.as_bytes()))
                    .then_some(e)
            });
            let idx = match same_as_last.or_else(|| self.index.get(s.series).copied()) {
                Some(i) => i,
                None => {
                    let labels = match self.build_labels(&s) {
                        Ok(l) => l,
                        Err(e) => {
                            rep.error = Some(format!("line {}: {e}", s.line));
                            break;
                        }
                    };
                    let sref = labels.as_ref().and_then(|l| {
                        rep.series_added += 1;
                        let pairs: Vec<(&str, &str)> =
                            l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                        self.appender.resolve(&pairs)
                    });
                    self.entries.push(CacheEntry {
                        labels,
                        sref,
                        seen: 0,
                        last_exemplar: None,
                    });
                    new_entries += 1;
                    let i = self.entries.len() - 1;
                    self.index.insert(s.series.into(), i);
                    i
                }
            };
            self.cur_spans
                .push((self.cur_keys.len(), s.series.len(), idx));
            self.cur_keys.push_str(s.series);
            let entry = &mut self.entries[idx];
            let repeated = entry.seen == self.gen;
            entry.seen = self.gen;
            if entry.labels.is_none() {
                continue;
            }
            rep.post_relabel += 1;
            if repeated {
                // The same series twice in one page: Prometheus drops the repeat.
                continue;
            }
            let ts = if self.job.honor_timestamps {
                s.timestamp.unwrap_or(t)
            } else {
                t
            };
            picked.push((idx, ts, s.value));
            if let Some(e) = &s.exemplar {
                // Without a timestamp of its own an exemplar takes the sample's.
                exemplars.push((
                    idx,
                    Exemplar {
                        labels: crate::model::Labels::from_pairs(e.labels.iter().cloned()),
                        value: e.value,
                        t: e.timestamp.unwrap_or(ts),
                    },
                    e.timestamp.is_some(),
                ));
            }
        }
        if rep.error.is_none() {
            if let Some(l) = self.job.sample_limit.filter(|l| *l > 0) {
                if rep.post_relabel > l {
                    rep.error = Some(format!(
                        "sample_limit exceeded (limit: {l}, got: {})",
                        rep.post_relabel
                    ));
                }
            }
        }
        if rep.error.is_some() {
            self.prev_spans.clear();
            self.prev_keys.clear();
        } else {
            std::mem::swap(&mut self.prev_spans, &mut self.cur_spans);
            std::mem::swap(&mut self.prev_keys, &mut self.cur_keys);
        }
        self.cur_spans.clear();
        self.cur_keys.clear();
        if rep.error.is_some() {
            picked.clear();
            rep.series_added = 0;
            // A fresh generation: nothing counts as seen, so every previous series goes stale.
            self.gen += 1;
            // Entries built from a rejected page may be wrong for later pages; forget them.
            if new_entries > 0 {
                let keep = self.entries.len() - new_entries;
                self.entries.truncate(keep);
                self.index.retain(|_, i| *i < keep);
            }
        } else {
            self.metadata = meta;
        }
        let gen = self.gen;
        let stale: Vec<usize> = self
            .last_seen
            .iter()
            .copied()
            .filter(|&i| self.entries[i].seen != gen)
            .collect();
        rep.stale = stale.len() as u64;
        let all: Vec<(usize, Sample)> = picked
            .iter()
            .map(|&(i, ts, v)| (i, Sample { t: ts, v }))
            .chain(stale.iter().map(|&i| (i, Sample { t, v: stale_nan() })))
            .collect();
        match self.store(&all) {
            Ok(st) => {
                rep.out_of_order = st.out_of_order;
                rep.duplicate = st.duplicate;
            }
            Err(e) => rep.error = Some(format!("storage: {e}")),
        }
        if rep.error.is_none() && !exemplars.is_empty() {
            match self.store_exemplars(exemplars) {
                Ok(st) => rep.exemplars_out_of_order = st.out_of_order,
                Err(e) => rep.error = Some(format!("storage: {e}")),
            }
        }
        self.last_seen = picked.iter().map(|p| p.0).collect();
        self.compact();
        rep
    }

    /// Appends samples for cache entries: by the store's handle where there is one, by labels
    /// otherwise (and for handles the store no longer knows, which are then renewed).
    fn store(
        &mut self,
        items: &[(usize, Sample)],
    ) -> Result<crate::storage::AppendStats, crate::storage::StorageError> {
        let mut stats = crate::storage::AppendStats::default();
        let mut by_ref: Vec<(&SeriesRef, Sample)> = Vec::with_capacity(items.len());
        let mut by_ref_idx: Vec<usize> = Vec::with_capacity(items.len());
        let mut by_labels: Vec<(usize, Sample)> = Vec::new();
        for &(i, smp) in items {
            match &self.entries[i].sref {
                Some(r) => {
                    by_ref.push((r, smp));
                    by_ref_idx.push(i);
                }
                None => by_labels.push((i, smp)),
            }
        }
        if !by_ref.is_empty() {
            let (st, gone) = self.appender.append_refs(&by_ref)?;
            stats.out_of_order += st.out_of_order;
            stats.duplicate += st.duplicate;
            for k in gone {
                by_labels.push((by_ref_idx[k], by_ref[k].1));
            }
        }
        drop(by_ref);
        if by_labels.is_empty() {
            return Ok(stats);
        }
        let batch: Vec<SeriesInput<'_>> = by_labels
            .iter()
            .map(|&(i, smp)| self.input(i, smp))
            .collect();
        let st = self.appender.append(&batch)?;
        stats.out_of_order += st.out_of_order;
        stats.duplicate += st.duplicate;
        drop(batch);
        // Renew handles that went stale.
        for (i, _) in by_labels {
            if self.entries[i].sref.is_some() {
                let pairs: Vec<(String, String)> =
                    self.entries[i].labels.clone().unwrap_or_default();
                let p: Vec<(&str, &str)> = pairs
                    .iter()
                    .map(|(a, b)| (a.as_str(), b.as_str()))
                    .collect();
                self.entries[i].sref = self.appender.resolve(&p);
            }
        }
        Ok(stats)
    }

    /// Appends a page's exemplars (entry, exemplar, whether it had its own timestamp),
    /// skipping repeats of the entry's last exemplar.
    fn store_exemplars(
        &mut self,
        list: Vec<(usize, Exemplar, bool)>,
    ) -> Result<crate::storage::ExemplarStats, crate::storage::StorageError> {
        let mut keep: Vec<(usize, Exemplar)> = Vec::with_capacity(list.len());
        for (i, e, has_ts) in list {
            // A repeat of the last one sent is a duplicate (not an out-of-order exemplar, as
            // Prometheus counts them): its time only counts when the page gave one.
            let key = (e.labels.clone(), e.value.to_bits(), has_ts.then_some(e.t));
            let entry = &mut self.entries[i];
            if entry.last_exemplar.as_ref() == Some(&key) {
                continue;
            }
            entry.last_exemplar = Some(key);
            keep.push((i, e));
        }
        if keep.is_empty() {
            return Ok(crate::storage::ExemplarStats::default());
        }
        let batch: Vec<ExemplarInput<'_>> = keep
            .into_iter()
            .map(|(i, e)| ExemplarInput {
                series: self.input(i, Sample { t: 0, v: 0.0 }).labels,
                exemplars: vec![e],
            })
            .collect();
        self.appender.append_exemplars(&batch)
    }

    fn input(&self, i: usize, s: Sample) -> SeriesInput<'_> {
        let labels = self.entries[i]
            .labels
            .as_ref()
            .map(|l| l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect())
            .unwrap_or_default();
        SeriesInput {
            labels,
            samples: vec![s],
        }
    }

    /// Drops cache entries not seen in the last two scrapes once they are most of the cache.
    fn compact(&mut self) {
        let gen = self.gen;
        let live = self.entries.iter().filter(|e| e.seen + 2 >= gen).count();
        if self.entries.len() < 1024 || live * 2 > self.entries.len() {
            return;
        }
        // Entry numbers change: the last page's order is no use any more.
        self.prev_spans.clear();
        self.prev_keys.clear();
        let mut remap = vec![usize::MAX; self.entries.len()];
        let old = std::mem::take(&mut self.entries);
        for (i, e) in old.into_iter().enumerate() {
            if e.seen + 2 >= gen {
                remap[i] = self.entries.len();
                self.entries.push(e);
            }
        }
        self.index.retain(|_, i| {
            *i = remap[*i];
            *i != usize::MAX
        });
        self.last_seen = self
            .last_seen
            .iter()
            .map(|&i| remap[i])
            .filter(|&i| i != usize::MAX)
            .collect();
    }

    fn synthetic_labels<'a>(&'a self, name: &'a str) -> Vec<(&'a str, &'a str)> {
        let mut l: Vec<(&str, &str)> = self
            .target
            .labels
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        l.push(("__name__", name));
        // Storage expects sorted pairs.
        l.sort_unstable();
        l
    }

    /// Writes the synthetic series for a scrape at `t`.
    pub fn report(&mut self, t: i64, up: bool, duration_s: f64, rep: &PageReport) {
        let vals = [
            if up { 1.0 } else { 0.0 },
            duration_s,
            rep.scraped as f64,
            rep.post_relabel as f64,
            rep.series_added as f64,
        ];
        let batch: Vec<SeriesInput<'_>> = SYNTHETIC
            .iter()
            .zip(vals)
            .map(|(n, v)| SeriesInput {
                labels: self.synthetic_labels(n),
                samples: vec![Sample { t, v }],
            })
            .collect();
        if let Err(e) = self.appender.append(&batch) {
            tracing::warn!(target = %self.target.url, "cannot store scrape report: {e}");
        }
        self.reported = true;
    }

    /// The target went away: every series it had, synthetic ones included, goes stale at `t`.
    pub fn stale_all(&mut self, t: i64) {
        let items: Vec<(usize, Sample)> = self
            .last_seen
            .iter()
            .map(|&i| (i, Sample { t, v: stale_nan() }))
            .collect();
        if let Err(e) = self.store(&items) {
            tracing::warn!(target = %self.target.url, "cannot store stale markers: {e}");
        }
        let mut batch: Vec<SeriesInput<'_>> = Vec::new();
        if self.reported {
            for n in SYNTHETIC {
                batch.push(SeriesInput {
                    labels: self.synthetic_labels(n),
                    samples: vec![Sample { t, v: stale_nan() }],
                });
            }
        }
        if !batch.is_empty() {
            if let Err(e) = self.appender.append(&batch) {
                tracing::warn!(target = %self.target.url, "cannot store stale markers: {e}");
            }
        }
        drop(batch);
        self.last_seen.clear();
    }
}

#[cfg(test)]
mod tests {
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
        assert!(
            rows[1].0.starts_with("__name__=b,") && rows[1].1 == 2000 && is_stale_nan(rows[1].2)
        );
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
}
