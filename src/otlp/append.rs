//! Storing a translated request: samples grouped by series, a series' second sample at the
//! same timestamp refused (partial success naming the series), label limits checked before
//! anything is written, created timestamps appended as zero samples just before the sample
//! they belong to (as Prometheus's created-timestamp zero ingestion does: a zero landing at
//! or behind data the store already has is dropped and is not counted as a rejection), then
//! the exemplars. Uses `model`, `storage` and the sibling `translate`.

use std::collections::{BTreeMap, HashSet};

use rustc_hash::FxHashMap;

use super::translate::{series_text, Translated};
use super::{OtlpError, Outcome};
use crate::model::{LabelLimits, Sample};
use crate::storage::{AppendStats, Appender, ExemplarInput, SeriesInput};

/// One sample of a series, in request order.
#[derive(Debug, Clone, Copy)]
struct Item {
    t: i64,
    v: f64,
    ct: Option<i64>,
    point: Option<usize>,
}

type Key = Vec<(String, String)>;

/// The created timestamp to append before sample `k`, when it is before the sample and after
/// the series' previous sample in this request.
fn zero_before(s: &[Item], k: usize) -> Option<i64> {
    let ct = s[k].ct?;
    (ct < s[k].t && (k == 0 || ct > s[k - 1].t)).then_some(ct)
}

fn pairs(l: &Key) -> Vec<(&str, &str)> {
    l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// Stores `tr`; refusals found here join those of the translation.
pub fn store(
    appender: &dyn Appender,
    tr: Translated,
    limits: &LabelLimits,
) -> Result<Outcome, OtlpError> {
    let Translated {
        samples,
        exemplars,
        metadata,
        mut rejects,
    } = tr;
    // Hashed, not sorted: a request's series are many and only grouped here.
    let mut groups: FxHashMap<Key, Vec<Item>> = FxHashMap::default();
    for o in samples {
        groups
            .entry(o.labels.into_iter().collect())
            .or_default()
            .push(Item {
                t: o.t,
                v: o.v,
                ct: o.ct,
                point: o.point,
            });
    }
    for l in groups.keys() {
        limits.check(l).map_err(|e| OtlpError::Bad(e.to_string()))?;
    }
    // The same series twice at one timestamp: the first is kept.
    let mut refused: HashSet<usize> = HashSet::new();
    for (l, s) in groups.iter_mut() {
        s.sort_by_key(|x| x.t);
        let mut kept: Vec<Item> = Vec::with_capacity(s.len());
        for x in s.drain(..) {
            if kept.last().is_some_and(|p| p.t == x.t) {
                // A synthetic series (target_info of two resources with one identity) is
                // the same sample twice, not an error.
                if let Some(id) = x.point {
                    let n = u64::from(refused.insert(id));
                    rejects.add(
                        n,
                        format!(
                            "duplicate sample for series {} at timestamp {} in one request: the first is stored",
                            series_text(l),
                            x.t
                        ),
                    );
                }
                continue;
            }
            kept.push(x);
        }
        *s = kept;
    }
    // Rounds: each appends, per series, a created-timestamp zero and the samples up to the
    // next one needing a zero in front (one round for most requests).
    let mut stats = AppendStats::default();
    let mut cursor: Vec<usize> = vec![0; groups.len()];
    loop {
        let mut zeros: Vec<SeriesInput> = Vec::new();
        let mut batch: Vec<SeriesInput> = Vec::new();
        for (gi, (l, s)) in groups.iter().enumerate() {
            let c = cursor[gi];
            if c >= s.len() {
                continue;
            }
            if let Some(ct) = zero_before(s, c) {
                zeros.push(SeriesInput {
                    labels: pairs(l),
                    samples: vec![Sample { t: ct, v: 0.0 }],
                });
            }
            let mut end = c + 1;
            while end < s.len() && zero_before(s, end).is_none() {
                end += 1;
            }
            batch.push(SeriesInput {
                labels: pairs(l),
                samples: s[c..end]
                    .iter()
                    .map(|x| Sample { t: x.t, v: x.v })
                    .collect(),
            });
            cursor[gi] = end;
        }
        if batch.is_empty() {
            break;
        }
        if !zeros.is_empty() {
            // Out-of-order or duplicate zeros mean the series already has data there.
            let z = appender.append(&zeros)?;
            stats.new_series += z.new_series;
        }
        stats.add(&appender.append(&batch)?);
    }
    // Exemplars, per series, oldest first.
    let mut by_series: BTreeMap<Key, Vec<crate::storage::Exemplar>> = BTreeMap::new();
    for e in exemplars {
        let key: Key = e.series.into_iter().collect();
        if groups.contains_key(&key) {
            by_series.entry(key).or_default().push(e.exemplar);
        }
    }
    let mut ex_stats = crate::storage::ExemplarStats::default();
    if !by_series.is_empty() {
        let input: Vec<ExemplarInput> = by_series
            .iter()
            .map(|(l, es)| {
                let mut es = es.clone();
                es.sort_by_key(|e| e.t);
                ExemplarInput {
                    series: pairs(l),
                    exemplars: es,
                }
            })
            .collect();
        ex_stats = appender.append_exemplars(&input)?;
    }
    Ok(Outcome {
        stats,
        exemplars: ex_stats,
        metadata,
        rejected_points: rejects.points,
        error_message: rejects.message(),
    })
}
