//! The native-histogram side of a page: a protobuf page read with `textparse::protobuf`
//! (float series as from text; native histograms when the job scrapes them, their classic
//! series only with `always_scrape_classic_histograms`; every histogram classic otherwise),
//! and `convert_classic_histograms_to_nhcb`: the classic series of each histogram (text or
//! protobuf) gathered into one native histogram with custom buckets, appended after the
//! page's other samples (the classic series too with `always_scrape_classic_histograms`; not
//! for a histogram also read as native). Created timestamps in the protobuf format become zero
//! samples (a zero histogram for a native histogram) with
//! `--enable-feature=created-timestamp-zero-ingestion`, as in Prometheus; without it they are
//! not stored.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use super::{Page, Scraper};
use crate::model::{HistogramSample, HistogramValue};
use crate::scrape::native::{classic_to_nhcb, Classic};
use crate::textparse::protobuf::{NativeHistogram, ProtoEntry, ProtoParser};
use crate::textparse::{Exemplar as PageExemplar, MetricType, Pairs, SeriesLabels};

/// A series as the exposition formats write it, for messages: `name{a="1",b="2"}`.
pub(super) fn render(sl: &SeriesLabels<'_>) -> String {
    let labels: Vec<String> = sl
        .labels
        .iter()
        .map(|(n, v)| format!("{n}={v:?}"))
        .collect();
    format!("{}{{{}}}", sl.name, labels.join(","))
}

/// The part of a classic histogram a series is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Bucket,
    Count,
    Sum,
}

const PARTS: [(&str, Part); 5] = [
    ("_bucket", Part::Bucket),
    ("_count", Part::Count),
    ("_sum", Part::Sum),
    ("_gcount", Part::Count),
    ("_gsum", Part::Sum),
];

/// One classic histogram being gathered.
struct Group {
    /// The native histogram's cache key: the family name, then `0xff name 0xff value` per
    /// label (as `textparse::protobuf` keys a native histogram).
    key: Vec<u8>,
    name: String,
    labels: Pairs<'static>,
    classic: Classic,
    gauge: bool,
    timestamp: Option<i64>,
    exemplars: Vec<PageExemplar<'static>>,
}

/// The classic histograms of a page, gathered for `convert_classic_histograms_to_nhcb`.
#[derive(Default)]
pub(super) struct Nhcb {
    /// Histogram families seen in `TYPE` (or protobuf metadata), and whether each is a gauge
    /// histogram.
    families: HashMap<String, bool>,
    groups: Vec<Group>,
    index: HashMap<Vec<u8>, usize>,
}

impl Nhcb {
    pub(super) fn note_type(&mut self, metric: &str, kind: MetricType) {
        match kind {
            MetricType::Histogram => self.families.insert(metric.to_string(), false),
            MetricType::GaugeHistogram => self.families.insert(metric.to_string(), true),
            _ => self.families.remove(metric),
        };
    }

    fn family_of<'n>(&self, name: &'n str) -> Option<(&'n str, Part, bool)> {
        PARTS.iter().find_map(|(suffix, part)| {
            let f = name.strip_suffix(suffix)?;
            self.families.get(f).map(|gauge| (f, *part, *gauge))
        })
    }

    /// Whether a text series (as written) may belong to a histogram family.
    pub(super) fn wants(&self, series: &str) -> bool {
        let name = series.split('{').next().unwrap_or("").trim();
        self.family_of(name).is_some()
    }

    /// Takes a series of a histogram family into its group; false when it is not one (then
    /// it stays a float series).
    pub(super) fn absorb(
        &mut self,
        sl: &SeriesLabels<'_>,
        value: f64,
        ts: i64,
        exemplar: Option<&PageExemplar<'_>>,
    ) -> bool {
        let Some((family, part, gauge)) = self.family_of(&sl.name) else {
            return false;
        };
        let mut le: Option<f64> = None;
        let mut labels: Pairs<'static> = Vec::with_capacity(sl.labels.len());
        for (n, v) in &sl.labels {
            if n == "le" {
                le = match v.as_ref() {
                    "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
                    x => x.parse().ok(),
                };
                if le.is_none() {
                    return false;
                }
            } else {
                labels.push((Cow::Owned(n.to_string()), Cow::Owned(v.to_string())));
            }
        }
        if part == Part::Bucket && le.is_none() {
            return false;
        }
        labels.sort();
        let mut key = family.as_bytes().to_vec();
        for (n, v) in &labels {
            key.push(0xff);
            key.extend_from_slice(n.as_bytes());
            key.push(0xff);
            key.extend_from_slice(v.as_bytes());
        }
        let at = match self.index.get(&key) {
            Some(i) => *i,
            None => {
                self.groups.push(Group {
                    key: key.clone(),
                    name: family.to_string(),
                    labels,
                    classic: Classic::default(),
                    gauge,
                    timestamp: None,
                    exemplars: Vec::new(),
                });
                self.index.insert(key, self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        let g = &mut self.groups[at];
        g.timestamp.get_or_insert(ts);
        match (part, le) {
            (Part::Bucket, Some(le)) => g.classic.buckets.push((le, value)),
            (Part::Count, _) => g.classic.count = Some(value),
            (Part::Sum, _) => g.classic.sum = Some(value),
            (Part::Bucket, None) => {}
        }
        if let Some(e) = exemplar.filter(|e| e.timestamp.is_some()) {
            g.exemplars.push(PageExemplar {
                labels: e
                    .labels
                    .iter()
                    .map(|(n, v)| (Cow::Owned(n.to_string()), Cow::Owned(v.to_string())))
                    .collect(),
                value: e.value,
                timestamp: e.timestamp,
            });
        }
        true
    }
}

impl Scraper {
    /// Reads a protobuf page into `page`; an error fails the scrape.
    pub(super) fn proto_page(
        &mut self,
        page: &mut Page,
        body: &[u8],
        t: i64,
    ) -> Result<(), String> {
        let s = self.native;
        let mut nhcb = s.nhcb.then(Nhcb::default);
        let mut native_keys: HashSet<Vec<u8>> = HashSet::new();
        for e in ProtoParser::with_options(body, s.keep_classic, !s.scrape) {
            match e.map_err(|e| e.to_string())? {
                ProtoEntry::Metadata { metric, meta } => {
                    if let Some(n) = nhcb.as_mut() {
                        n.note_type(&metric, meta.kind);
                    }
                    page.meta.insert(metric, meta);
                }
                ProtoEntry::Float(f) => {
                    let ts = self.sample_time(f.timestamp, t);
                    if let Some(n) = nhcb.as_mut() {
                        if n.absorb(&f.labels, f.value, ts, f.exemplar.as_ref()) && !s.keep_classic
                        {
                            continue;
                        }
                    }
                    let key = String::from_utf8_lossy(&f.series);
                    let Some(idx) = self.admit(page, &key, || Ok(f.labels.clone()))? else {
                        continue;
                    };
                    if let Some(ct) = f.created.filter(|&ct| s.ct_zero && ct < ts) {
                        page.ct_floats.push((idx, ct));
                    }
                    Scraper::take_float(page, idx, ts, f.value, f.exemplar.as_ref());
                }
                ProtoEntry::Histogram(h) => {
                    native_keys.insert(h.series.clone());
                    let ts = self.sample_time(h.timestamp, t);
                    let value = match h.histogram {
                        NativeHistogram::Int(i) => HistogramValue::Int(i),
                        NativeHistogram::Float(f) => HistogramValue::Float(f),
                    };
                    let key = String::from_utf8_lossy(&h.series);
                    let Some(idx) = self.admit(page, &key, || Ok(h.labels.clone()))? else {
                        continue;
                    };
                    if let Some(ct) = h.created.filter(|&ct| s.ct_zero && ct < ts) {
                        let h = value.zero_like();
                        page.ct_hists.push((idx, HistogramSample { t: ct, h }));
                    }
                    self.take_histogram(page, idx, ts, value, &h.exemplars, &|| render(&h.labels))?;
                }
            }
        }
        if let Some(n) = nhcb {
            self.nhcb_histograms(page, n, &native_keys)?;
        }
        Ok(())
    }

    /// Appends the gathered classic histograms as native histograms with custom buckets,
    /// except those also read as native (`native`: their keys).
    pub(super) fn nhcb_histograms(
        &mut self,
        page: &mut Page,
        n: Nhcb,
        native: &HashSet<Vec<u8>>,
    ) -> Result<(), String> {
        for g in n.groups {
            if native.contains(&g.key) {
                continue;
            }
            let sl = SeriesLabels {
                name: Cow::Owned(g.name),
                labels: g.labels,
            };
            let h = classic_to_nhcb(&g.classic, g.gauge).map_err(|e| {
                format!(
                    "cannot convert classic histogram {} to a native histogram with custom buckets: {e}",
                    render(&sl)
                )
            })?;
            let key = String::from_utf8_lossy(&g.key);
            let Some(idx) = self.admit(page, &key, || Ok(sl.clone()))? else {
                continue;
            };
            let ts = g.timestamp.unwrap_or_default();
            self.take_histogram(page, idx, ts, h, &g.exemplars, &|| render(&sl))?;
        }
        Ok(())
    }
}
