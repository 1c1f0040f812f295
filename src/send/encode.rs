//! What travels from the WAL reader to the shards (`Item`: a sample or an exemplar of a
//! series, with the WAL segment it came from) and how a batch of items becomes a remote write
//! body: grouped by series in order, encoded as 1.0 (`prometheus.WriteRequest`) or 2.0 (with
//! each series' metadata). Uses `model`, `storage`, `textparse` and `remote::proto`.

use std::collections::HashMap;

use crate::model::{Labels, Sample};
use crate::remote::proto::{encode_v1, encode_v2, SeriesV1, SeriesV2};
use crate::storage::Exemplar;
use crate::textparse::Metadata;

/// One sample (or, with `exemplar`, an exemplar: its labels, and its value and time in
/// `sample`) on its way, with the WAL segment it came from.
pub(super) struct Item {
    pub(super) labels: Labels,
    pub(super) sample: Sample,
    pub(super) exemplar: Option<Labels>,
    pub(super) seg: u64,
}

/// One series of a batch: its samples and exemplars, in the order read.
struct Group<'a> {
    labels: &'a Labels,
    samples: Vec<Sample>,
    exemplars: Vec<Exemplar>,
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
                });
                groups.len() - 1
            });
            let g = &mut groups[i];
            match &it.exemplar {
                None => g.samples.push(it.sample),
                Some(l) => g.exemplars.push(Exemplar {
                    labels: l.clone(),
                    value: it.sample.v,
                    t: it.sample.t,
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
                histograms: Vec::new(),
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
                histograms: Vec::new(),
            })
            .collect();
        encode_v2(&series)
    }
}

fn pairs(l: &Labels) -> Vec<(&str, &str)> {
    l.iter().map(|x| (&*x.name, &*x.value)).collect()
}
