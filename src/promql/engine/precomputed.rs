//! A call's (or a folded aggregation's) values for every step of a range-query part,
//! computed before stepping by `precompute`; the step loop reads one column at a time.
//!
//! Uses `value` and `model` only.

use crate::model::{FloatHistogram, Labels};
use crate::promql::value::InstantSample;

/// One expression's values for every step of the part.
pub(super) struct Precomputed {
    pub(super) from: i64,
    pub(super) step: i64,
    pub(super) n: usize,
    pub(super) rows: Vec<Row>,
    /// For aggregations: per row and step, the input position of the group's first member
    /// there (rows are output in that order).
    pub(super) first: Option<Vec<Vec<u32>>>,
}

/// One output series: its labels, and per step its float or histogram value (`present` says
/// which steps have one).
pub(super) struct Row {
    pub(super) labels: Labels,
    pub(super) drop_name: bool,
    pub(super) vals: Vec<f64>,
    /// Per step, the histogram value where the value is one (empty: floats only).
    pub(super) hists: Vec<Option<Box<FloatHistogram>>>,
    pub(super) present: Vec<bool>,
}

impl Row {
    fn sample(&self, ts: i64, k: usize) -> InstantSample {
        match self.hists.get(k).and_then(|h| h.as_deref()) {
            Some(h) => InstantSample::histogram(self.labels.clone(), ts, h.clone(), self.drop_name),
            None => InstantSample::new(self.labels.clone(), ts, self.vals[k], self.drop_name),
        }
    }
}

impl Precomputed {
    /// The instant vector at `ts`, if `ts` is one of this part's steps.
    pub(super) fn at(&self, ts: i64) -> Option<Vec<InstantSample>> {
        if ts < self.from || (ts - self.from) % self.step != 0 {
            return None;
        }
        let k = ((ts - self.from) / self.step) as usize;
        if k >= self.n {
            return None;
        }
        let out = match &self.first {
            None => self
                .rows
                .iter()
                .filter(|r| r.present[k])
                .map(|r| r.sample(ts, k))
                .collect(),
            Some(first) => {
                let mut idx: Vec<usize> = (0..self.rows.len())
                    .filter(|&g| self.rows[g].present[k])
                    .collect();
                if !idx.windows(2).all(|w| first[w[0]][k] < first[w[1]][k]) {
                    idx.sort_by_key(|&g| first[g][k]);
                }
                idx.into_iter()
                    .map(|g| self.rows[g].sample(ts, k))
                    .collect()
            }
        };
        Some(out)
    }
}
