//! The graph's exemplars: which are in view (in the time window, with a finite value, not on a
//! hidden series), the series line each belongs to, the one at the value cursor, `n`/`N`
//! jumping the cursor to the next or previous one, `e` showing or hiding them, and the request
//! for them that goes with every graphed query. Uses the state in `app`.

use super::{App, Cmd};
use crate::tui::data::{ExemplarData, LabelSet, QueryData};

/// An exemplar in the graph's view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExemplarPoint<'a> {
    /// The result series (legend position) it belongs to, when one matches its series.
    pub series: Option<usize>,
    /// The labels of the series it was recorded on.
    pub series_labels: &'a LabelSet,
    pub exemplar: &'a ExemplarData,
}

/// How well result series `result` matches exemplar series `ex`: every label of the result
/// (its name when it has one) is on the exemplar's series; more labels match better.
fn match_score(result: &LabelSet, ex: &LabelSet) -> Option<usize> {
    result
        .iter()
        .all(|(k, v)| ex.get(k) == Some(v))
        .then_some(result.len())
}

impl App {
    /// The request for the exemplars of the graphed query, when they are shown.
    pub(super) fn exemplar_cmd(&self) -> Option<Cmd> {
        if !self.graph || !self.show_exemplars || self.shown_expr.trim().is_empty() {
            return None;
        }
        let (start, end, _) = self.window();
        Some(Cmd::Exemplars {
            id: self.query_id,
            expr: self.shown_expr.clone(),
            range: (start, end),
        })
    }

    /// The value cursor's position nearest time `t` (clamped to the window).
    pub fn cursor_index(&self, t: f64) -> usize {
        let (start, _, step) = self.window();
        let last = self.point_count().saturating_sub(1);
        (((t - start) / step).round().max(0.0) as usize).min(last)
    }

    /// The exemplars drawn on the graph, oldest first (none while they are hidden, or when
    /// the result is not a graphed range result).
    pub fn exemplar_points(&self) -> Vec<ExemplarPoint<'_>> {
        if !self.graph || !self.show_exemplars || !matches!(self.result, QueryData::Matrix(_)) {
            return Vec::new();
        }
        let (start, end, step) = self.window();
        let series = self.sorted_series();
        let mut out: Vec<ExemplarPoint> = Vec::new();
        for es in &self.exemplars {
            let owner = series
                .iter()
                .enumerate()
                .filter_map(|(i, (_, s))| match_score(&s.labels, &es.series).map(|m| (m, i)))
                // The best match; the first of equals.
                .min_by_key(|(m, i)| (usize::MAX - m, *i))
                .map(|(_, i)| i);
            if owner.is_some_and(|i| self.hidden.contains(&i)) {
                continue;
            }
            out.extend(
                es.exemplars
                    .iter()
                    .filter(|e| {
                        e.value.is_finite()
                            && e.time >= start - step / 2.0
                            && e.time <= end + step / 2.0
                    })
                    .map(|e| ExemplarPoint {
                        series: owner,
                        series_labels: &es.series,
                        exemplar: e,
                    }),
            );
        }
        out.sort_by(|a, b| a.exemplar.time.total_cmp(&b.exemplar.time));
        out
    }

    /// The exemplar at the value cursor (the one jumped to, else the first there), with its
    /// index in `exemplar_points`.
    pub fn cursor_exemplar(&self) -> Option<(usize, ExemplarPoint<'_>)> {
        let c = self.cursor?;
        let points = self.exemplar_points();
        let at = |i: &usize| self.cursor_index(points[*i].exemplar.time) == c;
        let i = self
            .exemplar_sel
            .filter(|i| *i < points.len() && at(i))
            .or_else(|| (0..points.len()).find(at))?;
        Some((i, points[i]))
    }

    /// `n`/`N`: the value cursor to the next (or previous) exemplar; from no cursor, to the
    /// first (or last) one.
    pub(super) fn jump_exemplar(&mut self, forward: bool) {
        let points = self.exemplar_points();
        if points.is_empty() {
            return;
        }
        let idx: Vec<usize> = points
            .iter()
            .map(|p| self.cursor_index(p.exemplar.time))
            .collect();
        let current = self.cursor_exemplar().map(|(i, _)| i);
        let target = match (self.cursor, current, forward) {
            (None, _, true) => Some(0),
            (None, _, false) => Some(points.len() - 1),
            (_, Some(i), true) => (i + 1 < points.len()).then_some(i + 1),
            (_, Some(i), false) => i.checked_sub(1),
            (Some(c), None, true) => idx.iter().position(|x| *x > c),
            (Some(c), None, false) => idx.iter().rposition(|x| *x < c),
        };
        if let Some(j) = target {
            self.cursor = Some(idx[j]);
            self.exemplar_sel = Some(j);
        }
    }

    /// `e`: shows or hides the exemplars; showing them asks for them again.
    pub(super) fn toggle_exemplars(&mut self) -> Vec<Cmd> {
        self.show_exemplars = !self.show_exemplars;
        self.exemplar_sel = None;
        self.exemplar_cmd().into_iter().collect()
    }
}
