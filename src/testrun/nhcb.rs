//! `load_with_nhcb` (`../shared/promqltest/FORMAT.md` §3): the classic histograms of a load
//! block (`_bucket` series with an `le` label, `_count`, `_sum`) also become native histograms
//! with custom buckets (schema −53) under the base name (suffix removed, `le` dropped, other
//! labels kept), one per timestamp that has bucket values: bounds and cumulative counts from
//! the buckets (unparsable or NaN `le` ignored, a `+Inf` bucket added with the total count when
//! missing), the count from `_count` (else the highest bucket count), the sum from `_sum`. A
//! timestamp where a bucket holds the stale marker gives a stale marker. Float form, as
//! upstream appends them. Uses `script` and `model`.

use std::collections::BTreeMap;

use super::script::SeriesLine;
use crate::model::{
    histogram::CUSTOM_BUCKETS_SCHEMA, is_stale_nan, stale_nan, FloatHistogram, HistogramSample,
    HistogramValue, Labels, Span, METRIC_NAME,
};

#[derive(Default)]
struct Classic {
    /// (le, values by slot)
    buckets: Vec<(f64, Vec<Option<f64>>)>,
    count: Vec<Option<f64>>,
    sum: Vec<Option<f64>>,
}

fn at(v: &[Option<f64>], i: usize) -> Option<f64> {
    v.get(i).copied().flatten()
}

/// The NHCB series a `load_with_nhcb` block adds, by base labels, with their samples (every
/// `step` ms from 0).
pub fn convert(series: &[SeriesLine], step: i64) -> Vec<(Labels, Vec<HistogramSample>)> {
    let mut by_base: BTreeMap<Labels, Classic> = BTreeMap::new();
    for s in series {
        let Some(name) = s.labels.metric_name() else {
            continue;
        };
        let base_of = |suffix: &str, drop_le: bool| {
            name.strip_suffix(suffix).map(|base| {
                Labels::from_pairs(s.labels.iter().filter_map(|l| {
                    if l.name.as_ref() == METRIC_NAME {
                        Some((METRIC_NAME, base))
                    } else if drop_le && l.name.as_ref() == "le" {
                        None
                    } else {
                        Some((l.name.as_ref(), l.value.as_ref()))
                    }
                }))
            })
        };
        if let (Some(base), Some(le)) = (base_of("_bucket", true), s.labels.get("le")) {
            let le = match le.trim() {
                "+Inf" | "Inf" | "+inf" | "inf" => f64::INFINITY,
                x => match x.parse::<f64>() {
                    Ok(v) if !v.is_nan() => v,
                    _ => continue,
                },
            };
            by_base
                .entry(base)
                .or_default()
                .buckets
                .push((le, s.values.clone()));
        } else if let Some(base) = base_of("_count", false) {
            by_base.entry(base).or_default().count = s.values.clone();
        } else if let Some(base) = base_of("_sum", false) {
            by_base.entry(base).or_default().sum = s.values.clone();
        }
    }
    let mut out = Vec::new();
    for (labels, mut c) in by_base {
        if c.buckets.is_empty() {
            continue;
        }
        c.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        c.buckets.dedup_by(|a, b| a.0 == b.0);
        let slots = c.buckets.iter().map(|b| b.1.len()).max().unwrap_or(0);
        let mut samples = Vec::new();
        for i in 0..slots {
            let present: Vec<(f64, f64)> = c
                .buckets
                .iter()
                .filter_map(|(le, v)| at(v, i).map(|x| (*le, x)))
                .collect();
            if present.is_empty() {
                continue;
            }
            let t = i as i64 * step;
            if present.iter().any(|(_, x)| is_stale_nan(*x)) {
                samples.push(HistogramSample {
                    t,
                    h: HistogramValue::Float(FloatHistogram {
                        schema: CUSTOM_BUCKETS_SCHEMA,
                        sum: stale_nan(),
                        ..FloatHistogram::default()
                    }),
                });
                continue;
            }
            let highest = present.iter().map(|p| p.1).fold(0.0, f64::max);
            let count = at(&c.count, i).unwrap_or(highest);
            let mut cumulative = present;
            if cumulative.last().is_none_or(|(le, _)| le.is_finite()) {
                cumulative.push((f64::INFINITY, count));
            }
            let mut prev = 0.0;
            let counts: Vec<f64> = cumulative
                .iter()
                .map(|(_, x)| {
                    let d = x - prev;
                    prev = *x;
                    d
                })
                .collect();
            samples.push(HistogramSample {
                t,
                h: HistogramValue::Float(FloatHistogram {
                    schema: CUSTOM_BUCKETS_SCHEMA,
                    count,
                    sum: at(&c.sum, i).unwrap_or(0.0),
                    positive_spans: vec![Span {
                        offset: 0,
                        length: counts.len() as u32,
                    }],
                    positive_buckets: counts,
                    custom_values: cumulative
                        .iter()
                        .map(|(le, _)| *le)
                        .filter(|le| le.is_finite())
                        .collect(),
                    ..FloatHistogram::default()
                }),
            });
        }
        if !samples.is_empty() {
            out.push((labels, samples));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testrun::script::parse_series;

    #[test]
    fn classic_series_become_custom_bucket_histograms() {
        let lines: Vec<SeriesLine> = [
            r#"req_bucket{job="a",le="0.1"} 1 2"#,
            r#"req_bucket{job="a",le="1"} 3 _"#,
            r#"req_bucket{job="a",le="+Inf"} 4 6"#,
            r#"req_count{job="a"} 4 6"#,
            r#"req_sum{job="a"} 2.5 3"#,
            r#"other_bucket{le="x"} 1"#,
            r#"solo_bucket{le="2"} 5"#,
            r#"up 1"#,
        ]
        .iter()
        .map(|l| parse_series(l).unwrap())
        .collect();
        let got = convert(&lines, 60_000);
        let names: Vec<String> = got.iter().map(|(l, _)| l.to_string()).collect();
        assert_eq!(
            names,
            [r#"{__name__="req", job="a"}"#, r#"{__name__="solo"}"#]
        );
        let req = &got[0].1;
        assert_eq!(req.len(), 2);
        let HistogramValue::Float(h) = &req[0].h else {
            panic!()
        };
        assert_eq!(h.schema, CUSTOM_BUCKETS_SCHEMA);
        assert_eq!((h.count, h.sum), (4.0, 2.5));
        assert_eq!(h.custom_values, vec![0.1, 1.0]);
        assert_eq!(h.positive_buckets, vec![1.0, 2.0, 1.0]);
        assert!(h.validate().is_ok(), "{h:?}");
        // At 1m the le="1" bucket has no value: the others still make a histogram.
        let HistogramValue::Float(h) = &req[1].h else {
            panic!()
        };
        assert_eq!((req[1].t, h.count, h.sum), (60_000, 6.0, 3.0));
        assert_eq!(h.custom_values, vec![0.1]);
        assert_eq!(h.positive_buckets, vec![2.0, 4.0]);
        // No +Inf bucket and no _count: the highest count closes it.
        let HistogramValue::Float(h) = &got[1].1[0].h else {
            panic!()
        };
        assert_eq!((h.count, h.sum), (5.0, 0.0));
        assert_eq!(h.custom_values, vec![2.0]);
        assert_eq!(h.positive_buckets, vec![5.0, 0.0]);
    }
}
