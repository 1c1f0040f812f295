//! A parameterless aggregation (sum, avg, count, group, min, max) folded into a series-major
//! range function as its rows are made: each series' row of values is added to its group's
//! accumulators and its buffers reused, so a `sum by (job) (rate(x[5m]))` over thousands of
//! series never holds more than one series' row. Groups accumulate in input order with the
//! same compensated sums as `aggregate`, and remember per step the input position of their
//! first member there, so the step loop outputs groups in the order the step path does.
//!
//! Uses `precomputed` (its rows), and `aggregate` (`group_labels`), `functions`, `memo`,
//! `model` from below.

use std::collections::HashMap;

use promql_parser::parser::LabelModifier;

use super::precomputed::{Precomputed, Row};
use crate::model::Labels;
use crate::promql::aggregate::group_labels;
use crate::promql::functions::{kahan_inc, MeanAcc};
use crate::promql::memo::FxBuild;

/// The aggregations a fold computes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum FoldOp {
    Sum,
    Avg,
    Count,
    Group,
    Min,
    Max,
}

impl FoldOp {
    pub(super) fn of(op: &str) -> Option<FoldOp> {
        Some(match op {
            "sum" => FoldOp::Sum,
            "avg" => FoldOp::Avg,
            "count" => FoldOp::Count,
            "group" => FoldOp::Group,
            "min" => FoldOp::Min,
            "max" => FoldOp::Max,
            _ => return None,
        })
    }
}

/// A group's accumulator for one step.
#[derive(Clone, Copy, Default)]
struct Acc {
    count: u32,
    first: u32,
    a: f64,
    c: f64,
    mean: MeanAcc,
}

/// The groups of a fold being built.
pub(super) struct Fold {
    op: FoldOp,
    modifier: Option<LabelModifier>,
    n: usize,
    /// Group of each distinct input label set seen (by content: streamed series are fresh).
    index: HashMap<Labels, usize, FxBuild>,
    groups: Vec<(Labels, Vec<Acc>)>,
    /// Rows folded so far (the input position of the next one).
    pos: u32,
    drop_name: bool,
    /// When the input's series may have different metric names: per label set without the
    /// name, the steps it has a value at. Two such series at one step are the duplicate label
    /// sets Prometheus refuses ("vector cannot contain metrics with the same labelset").
    dropped: Option<HashMap<Labels, Vec<bool>, FxBuild>>,
    /// Such a duplicate was found.
    pub(super) duplicate: bool,
}

impl Fold {
    /// `names_vary`: the input selector does not pin the metric name, so dropping it may make
    /// label sets equal.
    pub(super) fn new(
        op: FoldOp,
        modifier: Option<LabelModifier>,
        n: usize,
        names_vary: bool,
    ) -> Fold {
        Fold {
            op,
            modifier,
            n,
            index: HashMap::default(),
            groups: Vec::new(),
            pos: 0,
            drop_name: false,
            dropped: names_vary.then(HashMap::default),
            duplicate: false,
        }
    }

    /// Notes a row whose name is dropped in the set of rows without names.
    fn check_duplicate(&mut self, labels: &Labels, present: &[bool]) {
        let Some(dropped) = &mut self.dropped else {
            return;
        };
        let steps = dropped
            .entry(labels.without(crate::model::METRIC_NAME))
            .or_insert_with(|| vec![false; present.len()]);
        for (seen, &p) in steps.iter_mut().zip(present) {
            if p && *seen {
                self.duplicate = true;
            }
            *seen |= p;
        }
    }

    /// Adds one input row (a series with a value at some step).
    pub(super) fn add(&mut self, labels: &Labels, drop_name: bool, vals: &[f64], present: &[bool]) {
        self.drop_name |= drop_name;
        if drop_name {
            self.check_duplicate(labels, present);
        }
        let g = group_labels(labels, self.modifier.as_ref());
        let n = self.n;
        let groups = &mut self.groups;
        let gi = *self.index.entry(g).or_insert_with_key(|g| {
            groups.push((g.clone(), vec![Acc::default(); n]));
            groups.len() - 1
        });
        let pos = self.pos;
        self.pos += 1;
        let op = self.op;
        for ((acc, &v), _) in groups[gi]
            .1
            .iter_mut()
            .zip(vals)
            .zip(present)
            .filter(|(_, p)| **p)
        {
            if acc.count == 0 {
                acc.first = pos;
                acc.a = v;
                acc.c = 0.0;
                if op == FoldOp::Sum {
                    (acc.a, acc.c) = kahan_inc(v, 0.0, 0.0);
                }
            } else {
                match op {
                    FoldOp::Sum => (acc.a, acc.c) = kahan_inc(v, acc.a, acc.c),
                    FoldOp::Min if acc.a > v || acc.a.is_nan() => acc.a = v,
                    FoldOp::Max if acc.a < v || acc.a.is_nan() => acc.a = v,
                    _ => {}
                }
            }
            if op == FoldOp::Avg {
                acc.mean.push(v);
            }
            acc.count += 1;
        }
    }

    /// The aggregation's values for every step of the part.
    pub(super) fn finish(self, from: i64, step: i64) -> Precomputed {
        let mut rows = Vec::with_capacity(self.groups.len());
        let mut first = Vec::with_capacity(self.groups.len());
        for (labels, accs) in self.groups {
            let present: Vec<bool> = accs.iter().map(|x| x.count > 0).collect();
            let vals: Vec<f64> = accs
                .iter()
                .map(|x| match self.op {
                    FoldOp::Sum => x.a + x.c,
                    FoldOp::Avg => x.mean.result(),
                    FoldOp::Count => x.count as f64,
                    FoldOp::Group => 1.0,
                    FoldOp::Min | FoldOp::Max => x.a,
                })
                .collect();
            first.push(accs.iter().map(|x| x.first).collect());
            rows.push(Row {
                labels,
                drop_name: self.drop_name,
                vals,
                hists: Vec::new(),
                present,
            });
        }
        Precomputed {
            from,
            step,
            n: self.n,
            rows,
            first: Some(first),
        }
    }
}
