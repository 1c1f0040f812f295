//! The read path: series matching the matchers whose time range overlaps the query, each read
//! from the head and the database and merged (sorted by time, deduplicated), sorted by labels.
//! Damaged stored data costs the series its stored samples, not the query.
//!
//! Float samples and native-histogram samples are read side by side (a series may hold both,
//! at different times) into `Series.samples` and `Series.histograms`.
//!
//! Uses the store core (`super`), `head`, `histogram_head`, `chunk_rows`, `chunkenc`, `model`,
//! `storage`.

use std::sync::Arc;

use super::chunk_rows::{decode_row, RowSamples};
use super::chunkenc::XorIter;
use super::head::MemSeries;
use super::histogram_head::decode_chunk;
use super::Db;
use crate::model::{HistogramSample, Labels, Matcher, Sample};
use crate::storage::{Querier, Series, SeriesExemplars, StorageError};

impl Db {
    fn series_overlapping(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Vec<Arc<MemSeries>> {
        self.inner
            .head
            .postings(matchers)
            .into_iter()
            .filter_map(|id| self.inner.head.get(id))
            .filter(|s| {
                let d = s.data.lock();
                d.last_t != i64::MIN && d.min_t <= maxt && d.last_t >= mint
            })
            .collect()
    }

    /// One series' samples in [mint, maxt] from the head and the database, or `None` if it
    /// has none there.
    fn read_series(
        &self,
        s: &MemSeries,
        mint: i64,
        maxt: i64,
    ) -> Result<Option<Series>, StorageError> {
        // Head first, then the database: a flush between the two reads can only make a
        // sample appear twice (deduplicated below), never vanish.
        let (chunks, hchunks, pmin, pmax) = {
            let d = s.data.lock();
            (
                d.chunks_in(mint, maxt),
                d.hist
                    .as_ref()
                    .map_or(Vec::new(), |h| h.chunks_in(mint, maxt)),
                d.persisted_min_t,
                d.persisted_max_t,
            )
        };
        let in_range = |&(t, _): &(i64, f64)| t >= mint && t <= maxt;
        let h_in_range = |h: &HistogramSample| h.t >= mint && h.t <= maxt;
        let mut samples: Vec<(i64, f64)> = Vec::new();
        let mut histograms: Vec<HistogramSample> = Vec::new();
        if pmin <= maxt && pmax >= mint {
            // Damaged stored data costs that series its stored samples, not the query.
            let rows = match self.inner.persist.chunks(s.id, mint, maxt) {
                Ok(rows) => rows,
                Err(e) if e.is_corrupt() => {
                    self.note_corrupt(&s.labels, &format!("database page: {e}"));
                    self.mark_for_repair(&e.to_string());
                    Vec::new()
                }
                Err(e) => return Err(e.into()),
            };
            for row in rows {
                match decode_row(&row.data) {
                    Some(RowSamples::Floats(v)) => samples.extend(v.into_iter().filter(in_range)),
                    Some(RowSamples::Histograms(v)) => {
                        histograms.extend(v.into_iter().filter(h_in_range))
                    }
                    None => self.note_corrupt(
                        &s.labels,
                        &format!("chunk starting at {} does not decode", row.min_t),
                    ),
                }
            }
        }
        for (_, _, data) in &chunks {
            samples.extend(XorIter::new(data).filter(in_range));
        }
        for (form, data) in &hchunks {
            if let Some(v) = decode_chunk(*form, data) {
                histograms.extend(v.into_iter().filter(h_in_range));
            }
        }
        samples.sort_by_key(|s| s.0);
        samples.dedup_by_key(|s| s.0);
        histograms.sort_by_key(|h| h.t);
        histograms.dedup_by_key(|h| h.t);
        if samples.is_empty() && histograms.is_empty() {
            return Ok(None);
        }
        Ok(Some(Series {
            labels: s.labels.clone(),
            samples: samples.into_iter().map(|(t, v)| Sample { t, v }).collect(),
            histograms,
        }))
    }
}

impl Querier for Db {
    fn exemplars(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SeriesExemplars>, StorageError> {
        Ok(self.select_exemplars(matcher_sets, mint, maxt))
    }

    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, StorageError> {
        let mut out = Vec::new();
        for s in self.series_overlapping(matchers, mint, maxt) {
            if let Some(series) = self.read_series(&s, mint, maxt)? {
                out.push(series);
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }

    fn select_each(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        f: &mut dyn FnMut(Series) -> bool,
    ) -> Result<(), StorageError> {
        let mut all = self.series_overlapping(matchers, mint, maxt);
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        for s in all {
            if let Some(series) = self.read_series(&s, mint, maxt)? {
                if !f(series) {
                    break;
                }
            }
        }
        Ok(())
    }

    fn series(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Labels>, StorageError> {
        let mut v: Vec<Labels> = self
            .series_overlapping(matchers, mint, maxt)
            .into_iter()
            .map(|s| s.labels.clone())
            .collect();
        v.sort();
        Ok(v)
    }

    fn label_names(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut names: Vec<String> = self
            .series_overlapping(matchers, mint, maxt)
            .iter()
            .flat_map(|s| {
                s.labels
                    .iter()
                    .map(|l| l.name.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut values: Vec<String> = self
            .series_overlapping(matchers, mint, maxt)
            .iter()
            .filter_map(|s| s.labels.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}
