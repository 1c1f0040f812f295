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

use super::native::NativeSettings;
use super::negotiate::PageFormat;
use super::relabel::{process, LabelMap};
use super::target::Target;
use crate::config::ScrapeConfig;
use crate::model::{
    is_valid_label_name, is_valid_metric_name, stale_nan, FxMap, HistogramSample, HistogramValue,
    NameValidation, Sample,
};
use crate::storage::{Appender, Exemplar, ExemplarInput, HistogramInput, SeriesInput, SeriesRef};
use crate::textparse::{Entry, Format, MetricType, Parser, SeriesLabels};
use page::Nhcb;

mod page;

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
    /// Histograms the store refused as invalid (or could not hold).
    pub invalid: u64,
    /// Why the page was rejected (nothing from it was kept).
    pub error: Option<String>,
}

/// What a page has produced so far: the report, the samples to append by cache entry, the
/// metadata, and how many cache entries it added.
#[derive(Default)]
struct Page {
    rep: PageReport,
    floats: Vec<(usize, i64, f64)>,
    hists: Vec<(usize, HistogramSample)>,
    /// Zero samples at created timestamps (`created-timestamp-zero-ingestion`), appended
    /// before the page's samples; refusals of these are expected and not counted.
    ct_floats: Vec<(usize, i64)>,
    ct_hists: Vec<(usize, HistogramSample)>,
    meta: BTreeMap<String, Metadata>,
    new_entries: usize,
    /// Exemplars by entry, and whether each had its own timestamp.
    exemplars: Vec<(usize, Exemplar, bool)>,
    /// Native histograms' exemplars by entry (each with its own timestamp).
    hist_exemplars: Vec<(usize, Exemplar)>,
    /// A histogram over `native_histogram_bucket_limit`: the scrape fails at the end.
    bucket_limit: Option<&'static str>,
}

/// The metadata entry of `metric`, made with `kind` when new.
fn meta_entry(
    meta: &mut BTreeMap<String, Metadata>,
    metric: String,
    kind: MetricType,
) -> &mut Metadata {
    meta.entry(metric).or_insert_with(|| Metadata {
        kind,
        help: String::new(),
        unit: String::new(),
    })
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
    /// The newest exemplar time sent for a native histogram: its exemplars carry their own
    /// times, and one no newer is a repeat (Prometheus's store ignores duplicates).
    newest_exemplar: i64,
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
    /// The job's native-histogram settings.
    native: NativeSettings,
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
            native: NativeSettings::of(&job),
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

    /// The final labels of a series (its name and page labels in `sl`, `series` for errors),
    /// or `None` if metric relabeling drops it.
    fn build_labels(
        &self,
        sl: &SeriesLabels<'_>,
        series: &str,
    ) -> Result<Option<Vec<(String, String)>>, String> {
        if !is_valid_metric_name(&sl.name, self.validation) {
            return Err(format!("invalid metric name {:?}", sl.name));
        }
        let mut m = LabelMap::new();
        for (k, v) in &sl.labels {
            if !is_valid_label_name(k, self.validation) {
                return Err(format!("invalid label name {k:?} in {series:?}"));
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
                "series {series:?} has no metric name after relabeling"
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

    /// Counts one sample of the page under its cache key `key` (labels are built on a cache
    /// miss) and returns its cache entry, or `None` when relabeling drops it or the series was
    /// already in this page (Prometheus drops the repeat).
    fn admit<'s>(
        &mut self,
        page: &mut Page,
        key: &str,
        labels: impl FnOnce() -> Result<SeriesLabels<'s>, String>,
    ) -> Result<Option<usize>, String> {
        let k = page.rep.scraped as usize;
        page.rep.scraped += 1;
        let same_as_last = self.prev_spans.get(k).and_then(|&(start, len, e)| {
            (self.prev_keys.as_bytes().get(start..start + len) == Some(key.as_bytes())).then_some(e)
        });
        let idx = match same_as_last.or_else(|| self.index.get(key).copied()) {
            Some(i) => i,
            None => {
                let labels = self.build_labels(&labels()?, key)?;
                let sref = labels.as_ref().and_then(|l| {
                    page.rep.series_added += 1;
                    let pairs: Vec<(&str, &str)> =
                        l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                    self.appender.resolve(&pairs)
                });
                self.entries.push(CacheEntry {
                    labels,
                    sref,
                    seen: 0,
                    last_exemplar: None,
                    newest_exemplar: i64::MIN,
                });
                page.new_entries += 1;
                let i = self.entries.len() - 1;
                self.index.insert(key.into(), i);
                i
            }
        };
        self.cur_spans.push((self.cur_keys.len(), key.len(), idx));
        self.cur_keys.push_str(key);
        let entry = &mut self.entries[idx];
        let repeated = entry.seen == self.gen;
        entry.seen = self.gen;
        if entry.labels.is_none() {
            return Ok(None);
        }
        page.rep.post_relabel += 1;
        Ok((!repeated).then_some(idx))
    }

    /// The time a sample is stored at: its own with `honor_timestamps`, else the scrape's.
    fn sample_time(&self, own: Option<i64>, t: i64) -> i64 {
        if self.job.honor_timestamps {
            own.unwrap_or(t)
        } else {
            t
        }
    }

    /// Records a float sample of entry `idx` and its exemplar (one without a timestamp of
    /// its own takes the sample's).
    fn take_float(
        page: &mut Page,
        idx: usize,
        ts: i64,
        value: f64,
        exemplar: Option<&crate::textparse::Exemplar<'_>>,
    ) {
        page.floats.push((idx, ts, value));
        if let Some(e) = exemplar {
            page.exemplars.push((
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

    /// Records a native histogram of entry `idx` after the job's resolution limits and
    /// Prometheus's validation; an invalid one fails the scrape (as in Prometheus), naming
    /// the series and the rule; one over the bucket limit fails it at the end of the page.
    /// Exemplars without a timestamp are dropped, as Prometheus does for native histograms.
    fn take_histogram(
        &self,
        page: &mut Page,
        idx: usize,
        ts: i64,
        mut h: HistogramValue,
        exemplars: &[crate::textparse::Exemplar<'_>],
        series: &dyn Fn() -> String,
    ) -> Result<(), String> {
        if let Err(e) = self.native.limit(&mut h) {
            page.bucket_limit = Some(e);
            return Ok(());
        }
        h.validate()
            .map_err(|e| format!("invalid native histogram {}: {e}", series()))?;
        page.hists.push((idx, HistogramSample { t: ts, h }));
        for e in exemplars {
            let Some(et) = e.timestamp else { continue };
            page.hist_exemplars.push((
                idx,
                Exemplar {
                    labels: crate::model::Labels::from_pairs(e.labels.iter().cloned()),
                    value: e.value,
                    t: et,
                },
            ));
        }
        Ok(())
    }

    /// Appends a fetched body in the format its Content-Type named.
    pub fn append_body(&mut self, body: &[u8], format: PageFormat, t: i64) -> PageReport {
        match format {
            PageFormat::Text(f) => match std::str::from_utf8(body) {
                Ok(text) => self.append_page(text, f, t),
                Err(e) => {
                    let mut rep = self.append_page("", f, t);
                    rep.error = Some(format!("the page is not valid UTF-8: {e}"));
                    rep
                }
            },
            PageFormat::Protobuf => {
                self.gen += 1;
                let mut page = Page::default();
                if let Err(e) = self.proto_page(&mut page, body, t) {
                    page.rep.error = Some(e);
                }
                self.finish_page(page, t)
            }
        }
    }

    /// Appends a text page scraped at `t` (ms). On a bad page nothing from it is kept, and the
    /// previous page's series get stale markers.
    pub fn append_page(&mut self, text: &str, format: Format, t: i64) -> PageReport {
        self.gen += 1;
        let mut page = Page::default();
        if let Err(e) = self.text_page(&mut page, text, format, t) {
            page.rep.error = Some(e);
        }
        self.finish_page(page, t)
    }

    fn text_page(
        &mut self,
        page: &mut Page,
        text: &str,
        format: Format,
        t: i64,
    ) -> Result<(), String> {
        let mut nhcb = self.native.nhcb.then(Nhcb::default);
        for e in Parser::new(text, format) {
            let s = match e.map_err(|e| e.to_string())? {
                Entry::Help { metric, text } => {
                    meta_entry(&mut page.meta, metric.into_owned(), MetricType::Unknown).help =
                        text.into_owned();
                    continue;
                }
                Entry::Type { metric, kind } => {
                    if let Some(n) = nhcb.as_mut() {
                        n.note_type(&metric, kind);
                    }
                    meta_entry(&mut page.meta, metric.into_owned(), kind).kind = kind;
                    continue;
                }
                Entry::Unit { metric, unit } => {
                    meta_entry(&mut page.meta, metric.into_owned(), MetricType::Unknown).unit =
                        unit.to_string();
                    continue;
                }
                Entry::Sample(s) => s,
            };
            if let Some(n) = nhcb.as_mut() {
                if n.wants(s.series) {
                    let sl = s.labels().map_err(|e| format!("line {}: {e}", s.line))?;
                    let ts = self.sample_time(s.timestamp, t);
                    if n.absorb(&sl, s.value, ts, s.exemplar.as_ref()) && !self.native.keep_classic
                    {
                        continue;
                    }
                }
            }
            let line = s.line;
            let Some(idx) = self
                .admit(page, s.series, || s.labels().map_err(|e| e.to_string()))
                .map_err(|e| format!("line {line}: {e}"))?
            else {
                continue;
            };
            let ts = self.sample_time(s.timestamp, t);
            Self::take_float(page, idx, ts, s.value, s.exemplar.as_ref());
        }
        if let Some(n) = nhcb {
            self.nhcb_histograms(page, n, &std::collections::HashSet::new())?;
        }
        Ok(())
    }

    /// After a page's samples were taken: the limits, the cache bookkeeping, stale markers for
    /// series gone since the last page, the appends, and the report.
    fn finish_page(&mut self, page: Page, t: i64) -> PageReport {
        let Page {
            mut rep,
            floats: mut picked,
            hists: mut hist_picked,
            mut ct_floats,
            mut ct_hists,
            meta,
            new_entries,
            mut exemplars,
            mut hist_exemplars,
            bucket_limit,
        } = page;
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
        if rep.error.is_none() {
            rep.error = bucket_limit.map(str::to_string);
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
            hist_picked.clear();
            ct_floats.clear();
            ct_hists.clear();
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
        // Created-timestamp zeros first; the store refuses those older than what it has (every
        // scrape after the first), which is expected.
        if !ct_floats.is_empty() {
            let zeros: Vec<(usize, Sample)> = ct_floats
                .iter()
                .map(|&(i, t)| (i, Sample { t, v: 0.0 }))
                .collect();
            if let Err(e) = self.store(&zeros) {
                rep.error = Some(format!("storage: {e}"));
            }
        }
        if !ct_hists.is_empty() {
            if let Err(e) = self.store_histograms(&ct_hists) {
                rep.error = Some(format!("storage: {e}"));
            }
        }
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
        if !hist_picked.is_empty() {
            match self.store_histograms(&hist_picked) {
                Ok(st) => {
                    rep.out_of_order += st.out_of_order;
                    rep.duplicate += st.duplicate;
                    rep.invalid += st.invalid;
                }
                Err(e) => rep.error = Some(format!("storage: {e}")),
            }
        }
        if rep.error.is_none() {
            // A histogram's exemplars oldest first; those not newer than the last sent are
            // repeats of an earlier scrape.
            hist_exemplars.sort_by_key(|(i, e)| (*i, e.t));
            for (i, e) in hist_exemplars {
                let entry = &mut self.entries[i];
                if e.t > entry.newest_exemplar {
                    entry.newest_exemplar = e.t;
                    exemplars.push((i, e, true));
                }
            }
        }
        if rep.error.is_none() && !exemplars.is_empty() {
            match self.store_exemplars(exemplars) {
                Ok(st) => rep.exemplars_out_of_order = st.out_of_order,
                Err(e) => rep.error = Some(format!("storage: {e}")),
            }
        }
        self.last_seen = picked
            .iter()
            .map(|p| p.0)
            .chain(hist_picked.iter().map(|p| p.0))
            .collect();
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
        self.renew_handles(by_labels.iter().map(|(i, _)| *i));
        Ok(stats)
    }

    /// Appends native histograms for cache entries, as `store` does floats.
    fn store_histograms(
        &mut self,
        items: &[(usize, HistogramSample)],
    ) -> Result<crate::storage::AppendStats, crate::storage::StorageError> {
        let mut stats = crate::storage::AppendStats::default();
        let mut by_ref: Vec<(&SeriesRef, HistogramSample)> = Vec::new();
        let mut by_ref_idx: Vec<usize> = Vec::new();
        let mut by_labels: Vec<usize> = Vec::new();
        for (k, (i, h)) in items.iter().enumerate() {
            match &self.entries[*i].sref {
                Some(r) => {
                    by_ref.push((r, h.clone()));
                    by_ref_idx.push(k);
                }
                None => by_labels.push(k),
            }
        }
        if !by_ref.is_empty() {
            let (st, gone) = self.appender.append_histogram_refs(&by_ref)?;
            stats.add(&st);
            by_labels.extend(gone.into_iter().map(|g| by_ref_idx[g]));
        }
        drop(by_ref);
        if by_labels.is_empty() {
            return Ok(stats);
        }
        let batch: Vec<HistogramInput<'_>> = by_labels
            .iter()
            .map(|&k| HistogramInput {
                labels: self.input(items[k].0, Sample { t: 0, v: 0.0 }).labels,
                histograms: vec![items[k].1.clone()],
            })
            .collect();
        let st = self.appender.append_histograms(&batch)?;
        stats.add(&st);
        drop(batch);
        self.renew_handles(by_labels.iter().map(|&k| items[k].0));
        Ok(stats)
    }

    /// Resolves again the handles of entries whose handle the store no longer knew.
    fn renew_handles(&mut self, entries: impl Iterator<Item = usize>) {
        for i in entries {
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
mod histogram_tests;
#[cfg(test)]
mod tests;
