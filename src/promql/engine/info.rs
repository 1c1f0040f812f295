//! The experimental `info(v, [data-label-selector])` function (Prometheus 3): each series of
//! `v` gets the data labels of the info series that share its identifying labels (`instance`
//! and `job`, those the series has), by default from `target_info`.
//!
//! The second argument is a selector of matchers only. Its `__name__` matchers choose the info
//! metrics (all of them must match; with only negated ones, the candidates are the metrics
//! named `.+_info`); its other matchers choose which info series count and which of their
//! labels are added. Series of `v` whose name the `__name__` matchers accept are info series
//! themselves and pass unchanged. Labels a series already has are never overwritten.
//!
//! Per evaluation time, each info series stands for its newest sample within the lookback
//! before the time `v`'s first selector reads at (after its `@` and `offset`, and those of the
//! subqueries around it): of the series of one info metric with the same identifying labels,
//! the newest wins (an info series whose data labels changed), and two equally new ones are an
//! error. Two info metrics giving one label different values are an error too. A series with
//! no matching info series is returned unchanged, unless a data matcher rejects the empty
//! value, in which case it is dropped at that time. An info series whose newest sample is a
//! histogram cannot be joined: that is an error, as in Prometheus.
//!
//! Here: the plan made of the selector (`Plan`), the info series read for a query with their
//! join keys (`InfoSeries`), and the join at one time (`InfoSeries::join`). Selecting the info
//! series from the store is `selection`'s preload; dispatch is in `call`.
//!
//! Uses `parse` (`to_matchers`), `value`, `model` and `storage` from below; no other file of
//! `engine/`.

use std::collections::HashMap;

use promql_parser::parser::VectorSelector;

use crate::model::{is_stale_nan, Labels, MatchOp, Matcher, Sym, METRIC_NAME};
use crate::promql::parse::to_matchers;
use crate::promql::value::{exec, InstantSample, QueryError};
use crate::storage::Series;

/// The info metric used when the selector names none.
const TARGET_INFO: &str = "target_info";

/// The labels joining a series to its info series.
const IDENTIFYING: [&str; 2] = ["instance", "job"];

/// What `info()`'s second argument asks for.
#[derive(Debug)]
pub(super) struct Plan {
    /// Matchers on the metric name, all of which an info metric's name satisfies.
    names: Vec<Matcher>,
    /// The other matchers: they filter the info series, and their label names are the only
    /// labels added (all data labels when there are none).
    data: Vec<Matcher>,
}

impl Plan {
    /// The plan for the data-label selector (`None`: all data labels of `target_info`).
    pub(super) fn new(selector: Option<&VectorSelector>) -> Result<Plan, QueryError> {
        let matchers = match selector {
            None => Vec::new(),
            Some(vs) => {
                let mut alternatives = to_matchers(vs)?;
                if alternatives.len() != 1 {
                    return Err(exec(
                        "info(): the data-label selector cannot have \"or\" alternatives",
                    ));
                }
                alternatives.remove(0)
            }
        };
        let (mut names, data): (Vec<Matcher>, Vec<Matcher>) =
            matchers.into_iter().partition(|m| m.name == METRIC_NAME);
        if names.is_empty() {
            names.push(Matcher::equal(METRIC_NAME, TARGET_INFO));
        } else if names
            .iter()
            .all(|m| matches!(m.op, MatchOp::NotEqual | MatchOp::NotRegex))
        {
            // Negated matchers alone name no metric: they filter the `*_info` metrics.
            let info = Matcher::new(MatchOp::Regex, METRIC_NAME, ".+_info")
                .map_err(|e| exec(e.to_string()))?;
            names.push(info);
        }
        Ok(Plan { names, data })
    }

    /// The matchers selecting the info series from the store.
    pub(super) fn selection(&self) -> Vec<Matcher> {
        self.names.iter().chain(&self.data).cloned().collect()
    }

    /// Whether a series named `name` is an info series of this call (returned unchanged).
    fn is_info(&self, name: &str) -> bool {
        self.names.iter().all(|m| m.matches(name))
    }

    /// Whether `label` of an info series may be added.
    fn wants(&self, label: &str) -> bool {
        self.data.is_empty() || self.data.iter().any(|m| m.name == label)
    }

    /// Whether a series with no info series at some time must be dropped there.
    fn requires_info(&self) -> bool {
        self.data.iter().any(|m| !m.matches_empty())
    }
}

/// A series' identifying label values (`instance`, `job`; `None` where absent).
type Identity = (Option<Sym>, Option<Sym>);

/// An info metric's name with the identifying label values of a series.
type JoinKey = (Sym, Option<Sym>, Option<Sym>);

/// The identifying label values of a series, `None` when it has none of them.
fn identity(l: &Labels) -> Option<Identity> {
    let get = |name: &str| l.iter().find(|x| &*x.name == name).map(|x| x.value.clone());
    let (instance, job) = (get(IDENTIFYING[0]), get(IDENTIFYING[1]));
    if instance.is_none() && job.is_none() {
        None
    } else {
        Some((instance, job))
    }
}

/// The info series one `info()` call may join with, read for the whole query.
pub(super) struct InfoSeries {
    plan: Plan,
    series: Vec<Series>,
    /// The distinct info metric names, sorted (the order labels are gathered in).
    metrics: Vec<Sym>,
    /// Join key → group of series (same metric, same identifying labels).
    groups: HashMap<JoinKey, usize>,
    /// Each series' group; `None` for series without identifying labels (never joined).
    group_of: Vec<Option<usize>>,
}

/// The series of a group present at one time: the newest, and whether another series of the
/// group is equally new.
#[derive(Clone, Copy)]
enum Pick {
    None,
    One { series: usize, t: i64 },
    Tie { first: usize, second: usize, t: i64 },
}

impl InfoSeries {
    pub(super) fn new(plan: Plan, series: Vec<Series>) -> Self {
        let mut groups: HashMap<JoinKey, usize> = HashMap::new();
        let mut metrics: Vec<Sym> = Vec::new();
        let mut group_of = Vec::with_capacity(series.len());
        for s in &series {
            let name = s.labels.iter().find(|l| &*l.name == METRIC_NAME);
            let g = match (name, identity(&s.labels)) {
                (Some(name), Some((instance, job))) => {
                    if !metrics.contains(&name.value) {
                        metrics.push(name.value.clone());
                    }
                    let next = groups.len();
                    Some(
                        *groups
                            .entry((name.value.clone(), instance, job))
                            .or_insert(next),
                    )
                }
                _ => None,
            };
            group_of.push(g);
        }
        metrics.sort();
        InfoSeries {
            plan,
            series,
            metrics,
            groups,
            group_of,
        }
    }

    /// The samples held (for the query's sample limit).
    pub(super) fn samples(&self) -> usize {
        self.series.iter().map(|s| s.samples.len()).sum()
    }

    /// Each group's newest series with a sample in (rt - lookback, rt] that is not a stale
    /// marker, and for each group an info series whose newest sample there is a histogram
    /// (info metrics hold floats: joining with such a series is an error).
    fn picks(&self, rt: i64, lookback: i64) -> (Vec<Pick>, Vec<Option<usize>>) {
        let mut picks = vec![Pick::None; self.groups.len()];
        let mut histograms = vec![None; self.groups.len()];
        for (i, s) in self.series.iter().enumerate() {
            let Some(g) = self.group_of[i] else { continue };
            let end = s.samples.partition_point(|x| x.t <= rt);
            let last = end.checked_sub(1).map(|j| s.samples[j]);
            let hend = s.histograms.partition_point(|x| x.t <= rt);
            if let Some(h) = hend.checked_sub(1).map(|j| &s.histograms[j]) {
                if h.t > rt - lookback && !h.h.is_stale() && last.is_none_or(|f| f.t < h.t) {
                    histograms[g] = Some(i);
                    continue;
                }
            }
            let Some(last) = last else {
                continue;
            };
            if last.t <= rt - lookback || is_stale_nan(last.v) {
                continue;
            }
            picks[g] = match picks[g] {
                Pick::None => Pick::One {
                    series: i,
                    t: last.t,
                },
                Pick::One { series, t }
                | Pick::Tie {
                    first: series, t, ..
                } if t == last.t => Pick::Tie {
                    first: series,
                    second: i,
                    t,
                },
                p @ (Pick::One { t, .. } | Pick::Tie { t, .. }) if t > last.t => p,
                _ => Pick::One {
                    series: i,
                    t: last.t,
                },
            };
        }
        (picks, histograms)
    }

    /// `info()` over `base` with the info series as of `rt` (ms), looking back `lookback` ms.
    pub(super) fn join(
        &self,
        base: Vec<InstantSample>,
        rt: i64,
        lookback: i64,
    ) -> Result<Vec<InstantSample>, QueryError> {
        let (picks, histograms) = self.picks(rt, lookback);
        let mut out = Vec::with_capacity(base.len());
        for s in base {
            if self.plan.is_info(s.labels.metric_name().unwrap_or("")) {
                out.push(s);
                continue;
            }
            let mut added: Vec<(Sym, Sym)> = Vec::new();
            let mut matched = false;
            if let Some((instance, job)) = identity(&s.labels) {
                for metric in &self.metrics {
                    let key = (metric.clone(), instance.clone(), job.clone());
                    let Some(&g) = self.groups.get(&key) else {
                        continue;
                    };
                    if let Some(h) = histograms[g] {
                        return Err(exec(format!(
                            "this should be an info metric, with float samples: {}",
                            self.series[h].labels
                        )));
                    }
                    let i = match picks[g] {
                        Pick::None => continue,
                        Pick::One { series, .. } => series,
                        Pick::Tie { first, second, t } => {
                            return Err(exec(format!(
                                "found duplicate series for info metric: existing {} @ {t}, new {} @ {t}",
                                self.series[first].labels, self.series[second].labels
                            )))
                        }
                    };
                    matched = true;
                    for l in self.series[i].labels.iter() {
                        if &*l.name == METRIC_NAME || !self.plan.wants(&l.name) {
                            continue;
                        }
                        if let Some((_, v)) = added.iter().find(|(n, _)| *n == l.name) {
                            if *v != l.value {
                                return Err(exec(format!("conflicting label: {}", l.name)));
                            }
                            continue;
                        }
                        if s.labels.get(&l.name).is_none() {
                            added.push((l.name.clone(), l.value.clone()));
                        }
                    }
                }
            }
            if !matched && self.plan.requires_info() {
                continue;
            }
            if added.is_empty() {
                out.push(s);
                continue;
            }
            let labels = Labels::from_pairs(
                s.labels
                    .iter()
                    .map(|l| (l.name.clone(), l.value.clone()))
                    .chain(added),
            );
            let (t, drop) = (s.t, s.drop_name);
            out.push(s.relabeled(labels, t, drop));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Sample;

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> Series {
        Series {
            labels: Labels::from_pairs(labels.iter().copied()),
            samples: samples.iter().map(|&(t, v)| Sample { t, v }).collect(),
            histograms: Vec::new(),
        }
    }

    fn base(labels: &[(&str, &str)]) -> InstantSample {
        InstantSample::new(Labels::from_pairs(labels.iter().copied()), 0, 1.0, false)
    }

    fn plan(sel: &str) -> Plan {
        match crate::promql::parse::parse(&format!("info(x, {sel})")).unwrap() {
            promql_parser::parser::Expr::Call(c) => match &*c.args.args[1] {
                promql_parser::parser::Expr::VectorSelector(vs) => Plan::new(Some(vs)).unwrap(),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plans_default_to_target_info_and_negated_names_filter_info_metrics() {
        let p = Plan::new(None).unwrap();
        assert!(p.is_info("target_info") && !p.is_info("build_info"));
        assert!(p.wants("anything") && !p.requires_info());
        let p = plan(r#"{__name__="build_info"}"#);
        assert!(p.is_info("build_info") && !p.is_info("target_info"));
        let p = plan(r#"{__name__!="target_info", v=~".+"}"#);
        assert!(p.is_info("build_info") && !p.is_info("target_info") && !p.is_info("up"));
        assert!(p.wants("v") && !p.wants("w") && p.requires_info());
        let p = plan(r#"{__name__=~"a_.+", __name__=~".+_info"}"#);
        assert!(p.is_info("a_info") && !p.is_info("b_info") && !p.is_info("a_b"));
    }

    #[test]
    fn newest_info_series_wins_and_ties_are_errors() {
        let old = series(
            &[("__name__", "target_info"), ("job", "j"), ("v", "1")],
            &[(0, 1.0), (10, 1.0)],
        );
        let new = series(
            &[("__name__", "target_info"), ("job", "j"), ("v", "2")],
            &[(10, 1.0), (20, 1.0)],
        );
        let info = InfoSeries::new(Plan::new(None).unwrap(), vec![old, new]);
        let out = info.join(vec![base(&[("job", "j")])], 20, 100).unwrap();
        assert_eq!(out[0].labels.get("v"), Some("2"));
        let out = info.join(vec![base(&[("job", "j")])], 5, 100).unwrap();
        assert_eq!(out[0].labels.get("v"), Some("1"));
        let err = info.join(vec![base(&[("job", "j")])], 15, 100).unwrap_err();
        assert!(err.to_string().contains("found duplicate series"), "{err}");
        // Lookback is left-open: the sample at 0 is gone at 100.
        let out = info
            .join(vec![base(&[("job", "other")])], 100, 100)
            .unwrap();
        assert_eq!(out[0].labels.get("v"), None);
    }

    #[test]
    fn labels_of_the_series_stay_and_missing_info_drops_only_when_required() {
        let t = series(
            &[
                ("__name__", "target_info"),
                ("instance", "i"),
                ("v", "x"),
                ("w", "y"),
            ],
            &[(0, 1.0)],
        );
        let info = InfoSeries::new(plan(r#"{v=~".+"}"#), vec![t]);
        let b = base(&[("__name__", "m"), ("instance", "i"), ("w", "mine")]);
        let out = info.join(vec![b.clone()], 0, 10).unwrap();
        assert_eq!(out[0].labels.get("v"), Some("x"));
        assert_eq!(out[0].labels.get("w"), Some("mine"));
        // Only `v` is asked for: `w` would not be added even if missing.
        let nb = base(&[("instance", "i")]);
        assert_eq!(info.join(vec![nb], 0, 10).unwrap()[0].labels.get("w"), None);
        // No info series for this one, and `v=~".+"` needs one.
        let other = base(&[("instance", "j")]);
        assert!(info.join(vec![other], 0, 10).unwrap().is_empty());
    }

    #[test]
    fn an_info_series_holding_a_histogram_is_an_error_when_joined() {
        use crate::model::{FloatHistogram, HistogramSample, HistogramValue};
        let mut h = series(&[("__name__", "target_info"), ("job", "j")], &[(0, 1.0)]);
        h.histograms.push(HistogramSample {
            t: 10,
            h: HistogramValue::Float(FloatHistogram {
                count: 1.0,
                ..FloatHistogram::default()
            }),
        });
        let info = InfoSeries::new(Plan::new(None).unwrap(), vec![h]);
        // At 5 the newest sample is the float one.
        assert!(info.join(vec![base(&[("job", "j")])], 5, 100).is_ok());
        let err = info.join(vec![base(&[("job", "j")])], 20, 100).unwrap_err();
        assert!(err.to_string().contains("with float samples"), "{err}");
        // A series that joins no info series is not affected.
        assert!(info.join(vec![base(&[("job", "k")])], 20, 100).is_ok());
    }
}
