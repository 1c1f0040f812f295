//! Heatmaps of histogram results, as data (the view draws them): which series of a result
//! are histograms (native ones, from the `histogram`/`histograms` samples; classic ones, series
//! that differ only by `le`, grouped by their other labels, their cumulative counts turned into
//! per-bucket counts), and the grid a heatmap shows: columns of time, rows of buckets, each
//! cell the observations of its buckets in its time span (the average of the samples there;
//! for `rate(...)` results that is a rate). Rows follow the order of the bucket boundaries seen
//! in the window, so exponential buckets get a logarithmic y axis; when there are more
//! buckets than rows, neighbouring buckets are merged evenly. Also: the shade level of a cell,
//! the row where a quantile falls in a column, and what the cursor reads out at a cell; and
//! which metric names are histograms (for the metrics explorer). Uses `data`.

use std::collections::BTreeMap;

use super::data::{LabelSet, QueryData, SeriesData};

/// One bucket of one sample: bounds and observations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub lower: f64,
    pub upper: f64,
    pub count: f64,
}

/// A histogram series: its labels (`le` left out for classic ones) and samples (unix seconds,
/// non-cumulative buckets), oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct HistSeries {
    pub labels: LabelSet,
    pub native: bool,
    pub samples: Vec<(f64, Vec<Bucket>)>,
}

/// `le`'s value as a number (`+Inf` included); `None` when there is none.
fn le_of(s: &SeriesData) -> Option<f64> {
    let v = s.labels.get("le")?;
    match v.as_str() {
        "+Inf" | "Inf" | "inf" => Some(f64::INFINITY),
        v => v.parse().ok().filter(|x: &f64| !x.is_nan()),
    }
}

/// Whether a result is a histogram: some series hold native histograms, or every series (two
/// at least) has a numeric `le`.
pub fn is_histogram(d: &QueryData) -> bool {
    match d {
        QueryData::Vector(v) | QueryData::Matrix(v) => {
            v.iter().any(|s| !s.histograms.is_empty())
                || (v.len() >= 2 && v.iter().all(|s| le_of(s).is_some()))
        }
        _ => false,
    }
}

/// The histogram series of a result (none when it is not a histogram): the native ones, or
/// else the classic ones.
pub fn histogram_series(d: &QueryData) -> Vec<HistSeries> {
    let v = match d {
        QueryData::Vector(v) | QueryData::Matrix(v) => v,
        _ => return Vec::new(),
    };
    let native: Vec<HistSeries> = v
        .iter()
        .filter(|s| !s.histograms.is_empty())
        .map(|s| HistSeries {
            labels: s.labels.clone(),
            native: true,
            samples: s
                .histograms
                .iter()
                .map(|(t, h)| {
                    let buckets = h
                        .buckets
                        .iter()
                        .filter(|b| b.count.is_finite())
                        .map(|b| Bucket {
                            lower: b.lower,
                            upper: b.upper,
                            count: b.count,
                        })
                        .collect();
                    (*t, buckets)
                })
                .collect(),
        })
        .collect();
    if !native.is_empty() || !is_histogram(d) {
        return native;
    }
    classic(v)
}

/// Classic histograms: the `le` series grouped by their other labels; at each time the
/// cumulative counts, ordered by `le`, become per-bucket counts (a drop, from series scraped
/// at different moments, counts as none). The first bucket starts at 0 when its `le` is
/// positive (as `histogram_quantile` takes it), else at -Inf.
fn classic(v: &[SeriesData]) -> Vec<HistSeries> {
    // labels without le → time (as bits, for ordering) → (le, cumulative count)
    let mut groups: BTreeMap<LabelSet, BTreeMap<i64, Vec<(f64, f64)>>> = BTreeMap::new();
    for s in v {
        let Some(le) = le_of(s) else { continue };
        let mut labels = s.labels.clone();
        labels.remove("le");
        let times = groups.entry(labels).or_default();
        for (t, c) in &s.points {
            if c.is_finite() {
                let ms = (t * 1000.0).round() as i64;
                times.entry(ms).or_default().push((le, *c));
            }
        }
    }
    groups
        .into_iter()
        .map(|(labels, times)| {
            let samples = times
                .into_iter()
                .map(|(ms, mut les)| {
                    les.sort_by(|a, b| a.0.total_cmp(&b.0));
                    let mut prev_le = match les.first() {
                        Some((le, _)) if *le > 0.0 => 0.0,
                        _ => f64::NEG_INFINITY,
                    };
                    let mut prev_cum = 0.0;
                    let buckets = les
                        .into_iter()
                        .map(|(le, cum)| {
                            let b = Bucket {
                                lower: prev_le,
                                upper: le,
                                count: (cum - prev_cum).max(0.0),
                            };
                            prev_le = le;
                            prev_cum = prev_cum.max(cum);
                            b
                        })
                        .collect();
                    (ms as f64 / 1000.0, buckets)
                })
                .collect();
            HistSeries {
                labels,
                native: false,
                samples,
            }
        })
        .collect()
}

/// What kind of histogram a metric name is part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistKind {
    /// Its series hold native histograms (metadata type `histogram` or `gaugehistogram` under
    /// the name itself).
    Native,
    /// One of a classic histogram's `_bucket`, `_sum`, `_count` series (the family's metadata
    /// says histogram, or without metadata, `_bucket` beside `_count`).
    Classic,
}

impl HistKind {
    /// How the metrics explorer names it.
    pub fn label(self) -> &'static str {
        match self {
            HistKind::Native => "native hist",
            HistKind::Classic => "classic hist",
        }
    }
}

/// Which kind of histogram `name` belongs to, from the metadata (name → (type, help)) and the
/// known names; none for other metrics.
pub fn metric_kind(
    name: &str,
    metadata: &BTreeMap<String, (String, String)>,
    names: &[String],
) -> Option<HistKind> {
    let is_hist = |n: &str| {
        metadata
            .get(n)
            .is_some_and(|(ty, _)| ty == "histogram" || ty == "gaugehistogram")
    };
    if is_hist(name) {
        return Some(HistKind::Native);
    }
    let (base, suffix) = ["_bucket", "_sum", "_count"]
        .iter()
        .find_map(|s| name.strip_suffix(s).map(|b| (b, *s)))?;
    if is_hist(base) {
        return Some(HistKind::Classic);
    }
    if metadata.contains_key(base) {
        return None;
    }
    let has = |s: &str| names.iter().any(|n| *n == format!("{base}{s}"));
    let classic = match suffix {
        "_bucket" => has("_count"),
        _ => has("_bucket"),
    };
    classic.then_some(HistKind::Classic)
}

/// What a heatmap shows: rows of buckets (the lowest first) by columns of time.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Each row's bounds (lower, upper), lowest row first.
    pub rows: Vec<(f64, f64)>,
    /// Each column's time span [from, to).
    pub spans: Vec<(f64, f64)>,
    /// `cells[col][row]`: observations; `None` for a column without samples.
    pub cells: Vec<Option<Vec<f64>>>,
    /// The largest cell.
    pub max: f64,
}

/// Where `x` sits in the sorted boundaries (the nearest at or below it).
fn index_of(points: &[f64], x: f64) -> usize {
    points
        .partition_point(|p| p.total_cmp(&x).is_lt())
        .min(points.len().saturating_sub(1))
}

impl Grid {
    /// The grid of `s` over `(start, end)` in `cols` columns and at most `max_rows` rows.
    pub fn new(s: &HistSeries, (start, end): (f64, f64), cols: usize, max_rows: usize) -> Grid {
        let cols = cols.max(1);
        let span = (end - start).max(f64::EPSILON);
        let in_window: Vec<&(f64, Vec<Bucket>)> = s
            .samples
            .iter()
            .filter(|(t, _)| *t >= start && *t <= end)
            .collect();
        // Every boundary seen in the window: the edges of the elementary intervals.
        let mut points: Vec<f64> = in_window
            .iter()
            .flat_map(|(_, bs)| bs.iter().flat_map(|b| [b.lower, b.upper]))
            .filter(|x| !x.is_nan())
            .collect();
        points.sort_by(f64::total_cmp);
        points.dedup();
        let n = points
            .len()
            .saturating_sub(1)
            .max(usize::from(!points.is_empty()));
        let rows_n = n.min(max_rows.max(1));
        // Elementary interval i goes to row i * rows / n.
        let row_of = |i: usize| (i * rows_n / n.max(1)).min(rows_n.saturating_sub(1));
        let mut rows: Vec<(f64, f64)> = Vec::with_capacity(rows_n);
        for r in 0..rows_n {
            let first = (0..n).find(|i| row_of(*i) == r).unwrap_or(0);
            let last = (0..n).rev().find(|i| row_of(*i) == r).unwrap_or(first);
            let lower = points.get(first).copied().unwrap_or(0.0);
            let upper = points.get(last + 1).copied().unwrap_or(lower);
            rows.push((lower, upper));
        }
        let mut sums: Vec<Option<(Vec<f64>, usize)>> = vec![None; cols];
        for (t, buckets) in in_window {
            let c = (((t - start) / span) * cols as f64).floor().max(0.0) as usize;
            let c = c.min(cols - 1);
            let (cell, k) = sums[c].get_or_insert_with(|| (vec![0.0; rows_n], 0));
            *k += 1;
            if n == 0 {
                continue;
            }
            for b in buckets {
                let (lo, hi) = (index_of(&points, b.lower), index_of(&points, b.upper));
                // A bucket spanning several elementary intervals shares its count evenly; a
                // bucket of no width (a zero bucket of threshold 0) sits in the one at its bound.
                let (from, to) = if hi > lo {
                    (lo, hi)
                } else {
                    (lo.min(n - 1), lo.min(n - 1) + 1)
                };
                let share = b.count / (to - from) as f64;
                for i in from..to {
                    cell[row_of(i)] += share;
                }
            }
        }
        let cells: Vec<Option<Vec<f64>>> = sums
            .into_iter()
            .map(|c| c.map(|(v, k)| v.into_iter().map(|x| x / k as f64).collect()))
            .collect();
        let max = cells
            .iter()
            .flatten()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let spans = (0..cols)
            .map(|c| {
                (
                    start + span * c as f64 / cols as f64,
                    start + span * (c + 1) as f64 / cols as f64,
                )
            })
            .collect();
        Grid {
            rows,
            spans,
            cells,
            max,
        }
    }

    /// The column showing time `t` (clamped to the grid).
    pub fn column_at(&self, t: f64) -> usize {
        let n = self.spans.len();
        self.spans
            .iter()
            .position(|(_, to)| t < *to)
            .unwrap_or(n.saturating_sub(1))
    }

    /// The row where quantile `q` of column `col` falls: the first whose cumulative count
    /// reaches `q` of the column's total (none for an empty column).
    pub fn quantile_row(&self, col: usize, q: f64) -> Option<usize> {
        let cells = self.cells.get(col)?.as_ref()?;
        let total: f64 = cells.iter().sum();
        if total <= 0.0 || !total.is_finite() {
            return None;
        }
        let mut cum = 0.0;
        for (r, v) in cells.iter().enumerate() {
            cum += v;
            if cum > 0.0 && cum >= q * total {
                return Some(r);
            }
        }
        Some(cells.len().saturating_sub(1))
    }

    /// What the cursor reads at (`col`, `row`): none outside the grid or in a column without
    /// samples.
    pub fn readout(&self, col: usize, row: usize) -> Option<Readout> {
        let cells = self.cells.get(col)?.as_ref()?;
        let count = *cells.get(row)?;
        let (lower, upper) = self.rows[row];
        let total: f64 = cells.iter().sum();
        let below: f64 = cells[..=row].iter().sum();
        let (from, to) = self.spans[col];
        Some(Readout {
            from,
            to,
            lower,
            upper,
            count,
            fraction: if total > 0.0 { below / total } else { f64::NAN },
        })
    }
}

/// The cell under the cursor: its time span, bucket range, observations, and the fraction of
/// the column's observations at or below it (its percentile).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Readout {
    pub from: f64,
    pub to: f64,
    pub lower: f64,
    pub upper: f64,
    pub count: f64,
    pub fraction: f64,
}

/// Shade levels above empty (`░▒▓█`).
pub const LEVELS: u8 = 4;

/// A cell's level: 0 for none, else 1..=`LEVELS` in equal steps of the largest cell.
pub fn level(v: f64, max: f64) -> u8 {
    if v <= 0.0 || !v.is_finite() || max <= 0.0 {
        return 0;
    }
    ((v / max * f64::from(LEVELS)).ceil() as u8).clamp(1, LEVELS)
}

/// The quantiles drawn as lines over the heatmap.
pub const QUANTILES: [f64; 3] = [0.5, 0.9, 0.99];

#[cfg(test)]
mod tests;
