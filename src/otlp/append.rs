//! Storing a translated request: samples grouped by series, a series' second sample at the
//! same timestamp refused (partial success naming the series), label limits checked before
//! anything is written, created timestamps appended as zero samples just before the sample
//! they belong to (as Prometheus's created-timestamp zero ingestion does: a zero landing at
//! or behind data the store already has is dropped and is not counted as a rejection), then
//! the exemplars. Float samples go in with `Appender::append`, native histograms with
//! `Appender::append_histograms` (integer form); a histogram's created-timestamp zero is an
//! empty histogram of its schema, zero threshold and custom bounds with the counter-reset
//! hint, as Prometheus's `AppendHistogramCTZeroSample` makes it. Uses `model`, `storage` and
//! the sibling `translate`.

use std::collections::{BTreeMap, HashSet};

use rustc_hash::FxHashMap;

use super::translate::{series_text, Rejects, Translated};
use super::{OtlpError, Outcome};
use crate::model::Sample;
use crate::model::{Histogram, HistogramSample, HistogramValue, LabelLimits};
use crate::storage::{AppendStats, Appender, ExemplarInput, HistogramInput, SeriesInput};

/// One sample (a float or a histogram) of a series, in request order.
#[derive(Debug, Clone)]
struct Item<V> {
    t: i64,
    v: V,
    ct: Option<i64>,
    point: Option<usize>,
}

type Key = Vec<(String, String)>;

/// Items grouped by series; hashed, not sorted: a request's series are many and only
/// grouped here.
type Groups<V> = FxHashMap<Key, Vec<Item<V>>>;

/// The created timestamp to append before sample `k`, when it is before the sample and after
/// the series' previous sample in this request.
fn zero_before<V>(s: &[Item<V>], k: usize) -> Option<i64> {
    let ct = s[k].ct?;
    (ct < s[k].t && (k == 0 || ct > s[k - 1].t)).then_some(ct)
}

fn pairs(l: &Key) -> Vec<(&str, &str)> {
    l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// Sorts each series by time and keeps the first sample at each timestamp; the others are
/// refused (once per data point).
fn drop_duplicates<V>(groups: &mut Groups<V>, rejects: &mut Rejects, refused: &mut HashSet<usize>) {
    for (l, s) in groups.iter_mut() {
        s.sort_by_key(|x| x.t);
        let mut kept: Vec<Item<V>> = Vec::with_capacity(s.len());
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
}

/// A series' samples cut into runs, each to be appended after the created-timestamp zero
/// in front of it (if any): a new run starts at every sample needing a zero.
fn runs<V>(s: &[Item<V>]) -> Vec<(Option<i64>, std::ops::Range<usize>)> {
    let mut out = Vec::new();
    let mut c = 0;
    while c < s.len() {
        let zero = zero_before(s, c);
        let mut end = c + 1;
        while end < s.len() && zero_before(s, end).is_none() {
            end += 1;
        }
        out.push((zero, c..end));
        c = end;
    }
    out
}

/// Appends every series' runs in rounds (round `r` appends each series' `r`-th run, its
/// zero first; one round for most requests): `zeros` gets the zeros of a round (their
/// out-of-order or duplicate refusals mean the series already has data there, and only
/// their new series count), `samples` the runs.
fn append_rounds<V>(
    groups: &Groups<V>,
    mut zeros: impl FnMut(Vec<(&Key, i64, &V)>) -> Result<AppendStats, OtlpError>,
    mut samples: impl FnMut(Vec<(&Key, &[Item<V>])>) -> Result<AppendStats, OtlpError>,
) -> Result<AppendStats, OtlpError> {
    let all: Vec<(&Key, &Vec<Item<V>>, Vec<_>)> =
        groups.iter().map(|(l, s)| (l, s, runs(s))).collect();
    let rounds = all.iter().map(|(_, _, r)| r.len()).max().unwrap_or(0);
    let mut stats = AppendStats::default();
    for r in 0..rounds {
        let mut z = Vec::new();
        let mut batch = Vec::new();
        for (l, s, runs) in &all {
            let Some((zero, range)) = runs.get(r) else {
                continue;
            };
            if let Some(ct) = zero {
                z.push((*l, *ct, &s[range.start].v));
            }
            batch.push((*l, &s[range.clone()]));
        }
        if !z.is_empty() {
            stats.new_series += zeros(z)?.new_series;
        }
        stats.add(&samples(batch)?);
    }
    Ok(stats)
}

/// Stores `tr`; refusals found here join those of the translation.
pub fn store(
    appender: &dyn Appender,
    tr: Translated,
    limits: &LabelLimits,
) -> Result<Outcome, OtlpError> {
    let Translated {
        samples,
        histograms,
        exemplars,
        metadata,
        mut rejects,
    } = tr;
    let mut floats: Groups<f64> = FxHashMap::default();
    for o in samples {
        floats
            .entry(o.labels.into_iter().collect())
            .or_default()
            .push(Item {
                t: o.t,
                v: o.v,
                ct: o.ct,
                point: o.point,
            });
    }
    let mut natives: Groups<Histogram> = FxHashMap::default();
    for o in histograms {
        natives
            .entry(o.labels.into_iter().collect())
            .or_default()
            .push(Item {
                t: o.t,
                v: o.h,
                ct: o.ct,
                point: Some(o.point),
            });
    }
    for l in floats.keys().chain(natives.keys()) {
        limits.check(l).map_err(|e| OtlpError::Bad(e.to_string()))?;
    }
    // The same series twice at one timestamp: the first is kept.
    let mut refused: HashSet<usize> = HashSet::new();
    drop_duplicates(&mut floats, &mut rejects, &mut refused);
    drop_duplicates(&mut natives, &mut rejects, &mut refused);
    let mut stats = append_rounds(
        &floats,
        |z| {
            let input: Vec<SeriesInput> = z
                .into_iter()
                .map(|(l, t, _)| SeriesInput {
                    labels: pairs(l),
                    samples: vec![Sample { t, v: 0.0 }],
                })
                .collect();
            Ok(appender.append(&input)?)
        },
        |batch| {
            let input: Vec<SeriesInput> = batch
                .into_iter()
                .map(|(l, s)| SeriesInput {
                    labels: pairs(l),
                    samples: s.iter().map(|x| Sample { t: x.t, v: x.v }).collect(),
                })
                .collect();
            Ok(appender.append(&input)?)
        },
    )?;
    if !natives.is_empty() {
        let h = append_rounds(
            &natives,
            |z| {
                let input: Vec<HistogramInput> = z
                    .into_iter()
                    .map(|(l, t, h)| HistogramInput {
                        labels: pairs(l),
                        histograms: vec![HistogramSample {
                            t,
                            h: HistogramValue::Int(h.zero_like()),
                        }],
                    })
                    .collect();
                Ok(appender.append_histograms(&input)?)
            },
            |batch| {
                let input: Vec<HistogramInput> = batch
                    .into_iter()
                    .map(|(l, s)| HistogramInput {
                        labels: pairs(l),
                        histograms: s
                            .iter()
                            .map(|x| HistogramSample {
                                t: x.t,
                                h: HistogramValue::Int(x.v.clone()),
                            })
                            .collect(),
                    })
                    .collect();
                Ok(appender.append_histograms(&input)?)
            },
        )?;
        stats.add(&h);
    }
    // Exemplars, per series, oldest first.
    let mut by_series: BTreeMap<Key, Vec<crate::storage::Exemplar>> = BTreeMap::new();
    for e in exemplars {
        let key: Key = e.series.into_iter().collect();
        if floats.contains_key(&key) || natives.contains_key(&key) {
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
