//! What travels from the WAL reader to the shards (`Item`: a float sample, an exemplar or a
//! native histogram sample of a series, with the WAL segment it came from), how many of each
//! a batch holds (`Counts`), and how a batch becomes a remote write body: grouped by series in
//! order, encoded as 1.0 (`prometheus.WriteRequest`) or 2.0 (with each series' metadata);
//! histograms keep their form (integer histograms as integer counts and deltas, float ones as
//! float counts). Uses `model`, `storage`, `textparse` and `remote::proto`.

use std::collections::HashMap;

use crate::model::{HistogramSample, HistogramValue, Labels, Sample};
use crate::remote::proto::{encode_v1, encode_v2, SeriesV1, SeriesV2};
use crate::storage::Exemplar;
use crate::textparse::Metadata;

/// One thing to send for a series, at `Item::t`.
#[derive(Debug, Clone)]
pub(super) enum Value {
    Sample(f64),
    /// An exemplar: its own labels and value.
    Exemplar(Labels, f64),
    Histogram(Box<HistogramValue>),
}

/// A sample, exemplar or histogram sample on its way, with the WAL segment it came from.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) labels: Labels,
    pub(super) t: i64,
    pub(super) value: Value,
    pub(super) seg: u64,
}

/// How many float samples, exemplars and histogram samples some items hold.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Counts {
    pub(super) samples: u64,
    pub(super) exemplars: u64,
    pub(super) histograms: u64,
}

impl Counts {
    pub(super) fn of<'a>(items: impl IntoIterator<Item = &'a Item>) -> Counts {
        let mut c = Counts::default();
        for it in items {
            match it.value {
                Value::Sample(_) => c.samples += 1,
                Value::Exemplar(..) => c.exemplars += 1,
                Value::Histogram(_) => c.histograms += 1,
            }
        }
        c
    }

    pub(super) fn add(&mut self, o: &Counts) {
        self.samples += o.samples;
        self.exemplars += o.exemplars;
        self.histograms += o.histograms;
    }

    /// Samples and exemplars (what the sample counters count).
    pub(super) fn samples_and_exemplars(&self) -> u64 {
        self.samples + self.exemplars
    }
}

/// One series of a batch: its samples, exemplars and histogram samples, in the order read.
struct Group<'a> {
    labels: &'a Labels,
    samples: Vec<Sample>,
    exemplars: Vec<Exemplar>,
    histograms: Vec<HistogramSample>,
}

/// A batch grouped by series, series in the order they first appear.
pub(super) struct Grouped<'a>(Vec<Group<'a>>);

impl<'a> Grouped<'a> {
    pub(super) fn new(batch: &[&'a Item]) -> Grouped<'a> {
        let mut groups: Vec<Group<'a>> = Vec::new();
        let mut index: HashMap<&'a Labels, usize> = HashMap::new();
        for it in batch {
            let i = *index.entry(&it.labels).or_insert_with(|| {
                groups.push(Group {
                    labels: &it.labels,
                    samples: Vec::new(),
                    exemplars: Vec::new(),
                    histograms: Vec::new(),
                });
                groups.len() - 1
            });
            let g = &mut groups[i];
            match &it.value {
                Value::Sample(v) => g.samples.push(Sample { t: it.t, v: *v }),
                Value::Exemplar(l, v) => g.exemplars.push(Exemplar {
                    labels: l.clone(),
                    value: *v,
                    t: it.t,
                }),
                Value::Histogram(h) => g.histograms.push(HistogramSample {
                    t: it.t,
                    h: (**h).clone(),
                }),
            }
        }
        Grouped(groups)
    }

    /// The 1.0 `prometheus.WriteRequest` (uncompressed).
    pub(super) fn v1(&self) -> Vec<u8> {
        let series: Vec<SeriesV1<'_>> = self
            .0
            .iter()
            .map(|g| SeriesV1 {
                labels: pairs(g.labels),
                samples: g.samples.clone(),
                exemplars: g.exemplars.clone(),
                histograms: g.histograms.clone(),
            })
            .collect();
        encode_v1(&series)
    }

    /// The 2.0 `io.prometheus.write.v2.Request` (uncompressed), each series with the
    /// metadata `lookup` finds for its metric name.
    pub(super) fn v2(&self, lookup: impl Fn(&str) -> Option<Metadata>) -> Vec<u8> {
        let metas: Vec<Option<Metadata>> = self
            .0
            .iter()
            .map(|g| g.labels.get("__name__").and_then(&lookup))
            .collect();
        let series: Vec<SeriesV2<'_>> = self
            .0
            .iter()
            .zip(&metas)
            .map(|(g, md)| SeriesV2 {
                labels: pairs(g.labels),
                samples: g.samples.clone(),
                created: 0,
                metric_type: md.as_ref().map_or(0, |m| m.kind.proto()),
                help: md.as_ref().map_or("", |m| m.help.as_str()),
                unit: md.as_ref().map_or("", |m| m.unit.as_str()),
                exemplars: g.exemplars.clone(),
                histograms: g.histograms.clone(),
            })
            .collect();
        encode_v2(&series)
    }
}

fn pairs(l: &Labels) -> Vec<(&str, &str)> {
    l.iter().map(|x| (&*x.name, &*x.value)).collect()
}
