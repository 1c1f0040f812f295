//! The read path: series matching the matchers whose time range overlaps the query, each read
//! from the head and the database and merged (sorted by time, deduplicated), sorted by labels.
//! Damaged stored data costs the series its stored samples, not the query.
//!
//! Float samples and native-histogram samples are read side by side (a series may hold both,
//! at different times) into `Series.samples` and `Series.histograms`.
//!
//! Uses the store core (`super`), `head`, `histogram_head`, `persist`, `chunk_rows`, `chunkenc`, `model`,
//! `storage`.

use std::collections::HashMap;
use std::sync::Arc;

use super::chunk_rows::{decode_row, RowSamples};
use super::chunkenc::XorIter;
use super::head::MemSeries;
use super::histogram_head::{decode_chunk, HistForm};
use super::persist::ChunkRow;
use super::Db;
use crate::model::{Labels, Matcher, Sample};
use crate::storage::{Querier, Series, SeriesExemplars, StorageError};

impl Db {
    fn series_overlapping(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Vec<Arc<MemSeries>> {
        let ids = self.inner.head.postings(matchers);
        self.inner
            .head
            .get_many(&ids)
            .into_iter()
            .filter(|s| {
                let d = s.data.lock();
                d.last_t != i64::MIN && d.min_t <= maxt && d.last_t >= mint
            })
            .collect()
    }

    /// Each series' samples in [mint, maxt] from the head and the database (`None` for a
    /// series with none there), in the order given.
    fn read_series_many(
        &self,
        group: &[Arc<MemSeries>],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Option<Series>>, StorageError> {
        let (heads, mut rows_of) = self.read_group(group, mint, maxt)?;
        Ok(group
            .iter()
            .zip(heads)
            .map(|(s, head)| {
                let rows = rows_of.remove(&s.id).unwrap_or_default();
                let mut out = Series {
                    labels: s.labels.clone(),
                    samples: Vec::new(),
                    histograms: Vec::new(),
                };
                self.merge_into(s, head, rows, mint, maxt, &mut out)
                    .then_some(out)
            })
            .collect())
    }

    /// What a group of series holds in [mint, maxt], still encoded: each one's head chunks,
    /// and the database rows of all of them, read at once (`Persist::sealed_chunks_many`: one read
    /// transaction, a few statements), which is what keeps a query over thousands of flushed
    /// series cheap. Open-chunk snapshots are not read: the head's open chunk has them.
    fn read_group(
        &self,
        group: &[Arc<MemSeries>],
        mint: i64,
        maxt: i64,
    ) -> Result<(Vec<HeadPart>, RowsBySeries), StorageError> {
        // Head first, then the database: a flush between the two reads can only make a
        // sample appear twice (deduplicated below), never vanish.
        let heads: Vec<HeadPart> = group.iter().map(|s| HeadPart::of(s, mint, maxt)).collect();
        let stored: Vec<u64> = group
            .iter()
            .zip(&heads)
            .filter(|(_, h)| h.pmin <= maxt && h.pmax >= mint)
            .map(|(s, _)| s.id)
            .collect();
        let mut rows_of: RowsBySeries = HashMap::new();
        if !stored.is_empty() {
            match self.inner.persist.sealed_chunks_many(&stored, mint, maxt) {
                Ok(rows) => {
                    for row in rows {
                        rows_of.entry(row.series_id).or_default().push(row);
                    }
                }
                // Damaged stored data costs the series whose rows are damaged their stored
                // samples, not the query: read them one by one to find which.
                Err(e) if e.is_corrupt() => {
                    for s in group.iter().filter(|s| stored.contains(&s.id)) {
                        rows_of.insert(s.id, self.stored_rows(s, mint, maxt)?);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok((heads, rows_of))
    }

    /// One series' stored rows, read on their own; damaged ones are noted and cost the series
    /// its stored samples.
    fn stored_rows(
        &self,
        s: &MemSeries,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkRow>, StorageError> {
        match self.inner.persist.chunks(s.id, mint, maxt) {
            Ok(rows) => Ok(rows),
            Err(e) if e.is_corrupt() => {
                self.note_corrupt(&s.labels, &format!("database page: {e}"));
                self.mark_for_repair(&e.to_string());
                Ok(Vec::new())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// One series' stored rows and head chunks merged (sorted by time, deduplicated) into
    /// `out` (its buffers reused: cleared, labels set); false if it has no sample in
    /// [mint, maxt]. Rows are decoded oldest first straight into the series' vector; sorting
    /// and deduplication run only when the parts overlap (a flush between the head and
    /// database reads), which is rare.
    fn merge_into(
        &self,
        s: &MemSeries,
        head: HeadPart,
        mut rows: Vec<ChunkRow>,
        mint: i64,
        maxt: i64,
        out: &mut Series,
    ) -> bool {
        out.labels = s.labels.clone();
        out.samples.clear();
        out.histograms.clear();
        let (samples, histograms) = (&mut out.samples, &mut out.histograms);
        rows.sort_unstable_by_key(|r| r.min_t);
        let mut ordered = Ordered::default();
        let stored = head.stored_open.as_ref().map(|(t, d)| (*t, &d[..]));
        let parts = rows.iter().map(|r| (r.min_t, &r.data[..])).chain(stored);
        for (min_t, data) in parts {
            match decode_row(data) {
                Some(RowSamples::Floats(v)) => ordered.extend(samples, &v, mint, maxt),
                Some(RowSamples::Histograms(v)) => {
                    histograms.extend(v.into_iter().filter(|h| h.t >= mint && h.t <= maxt))
                }
                None => self.note_corrupt(
                    &s.labels,
                    &format!("chunk starting at {min_t} does not decode"),
                ),
            }
        }
        let head_samples: usize = head
            .chunks
            .iter()
            .map(|(_, _, data)| usize::from(XorIter::new(data).num_samples()))
            .sum();
        samples.reserve(head_samples);
        for (_, _, data) in &head.chunks {
            ordered.extend_iter(samples, XorIter::new(data), mint, maxt);
        }
        for (form, data) in &head.hchunks {
            if let Some(v) = decode_chunk(*form, data) {
                histograms.extend(v.into_iter().filter(|h| h.t >= mint && h.t <= maxt));
            }
        }
        if !ordered.increasing {
            samples.sort_by_key(|s| s.t);
            samples.dedup_by_key(|s| s.t);
        }
        if !histograms.is_sorted_by(|a, b| a.t < b.t) {
            histograms.sort_by_key(|h| h.t);
            histograms.dedup_by_key(|h| h.t);
        }
        !(samples.is_empty() && histograms.is_empty())
    }
}

/// Appends float samples in [mint, maxt] while noting whether time still strictly increases.
struct Ordered {
    last: i64,
    increasing: bool,
}

impl Default for Ordered {
    fn default() -> Self {
        Ordered {
            last: i64::MIN,
            increasing: true,
        }
    }
}

impl Ordered {
    fn extend(&mut self, out: &mut Vec<Sample>, v: &[(i64, f64)], mint: i64, maxt: i64) {
        if !v.is_sorted_by(|a, b| a.0 < b.0) {
            // Not from an encoder (chunks only ever grow in time): keep what is in range.
            return self.extend_iter(out, v.iter().copied(), mint, maxt);
        }
        // Cut the range with two binary searches.
        let lo = v.partition_point(|p| p.0 < mint);
        let hi = lo + v[lo..].partition_point(|p| p.0 <= maxt);
        let part = &v[lo..hi];
        if part.is_empty() {
            return;
        }
        if part[0].0 <= self.last {
            self.increasing = false;
        }
        self.last = self.last.max(part[part.len() - 1].0);
        out.reserve(part.len());
        out.extend(part.iter().map(|&(t, v)| Sample { t, v }));
    }

    fn extend_iter(
        &mut self,
        out: &mut Vec<Sample>,
        it: impl Iterator<Item = (i64, f64)>,
        mint: i64,
        maxt: i64,
    ) {
        for (t, v) in it {
            if t < mint || t > maxt {
                continue;
            }
            if t <= self.last {
                self.increasing = false;
            }
            self.last = self.last.max(t);
            out.push(Sample { t, v });
        }
    }
}

/// Stored rows by series id.
type RowsBySeries = HashMap<u64, Vec<ChunkRow>>;

/// What a query takes from one series' head, under its lock: the chunks overlapping the range
/// and the time span of its persisted data.
struct HeadPart {
    chunks: Vec<(i64, i64, Arc<[u8]>)>,
    /// The open chunk as stored, when it is not reopened yet (after a restart).
    stored_open: Option<(i64, Arc<[u8]>)>,
    hchunks: Vec<(HistForm, Arc<[u8]>)>,
    pmin: i64,
    pmax: i64,
}

impl HeadPart {
    fn of(s: &MemSeries, mint: i64, maxt: i64) -> HeadPart {
        let d = s.data.lock();
        HeadPart {
            chunks: d.chunks_in(mint, maxt),
            stored_open: d.stored_open_in(mint, maxt),
            hchunks: d
                .hist
                .as_ref()
                .map_or(Vec::new(), |h| h.chunks_in(mint, maxt)),
            pmin: d.persisted_min_t,
            pmax: d.persisted_max_t,
        }
    }
}

/// How many series are read together: their head chunks are held in memory at once, their
/// stored rows are read in one transaction.
const READ_GROUP: usize = 512;

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
        let mut all = self.series_overlapping(matchers, mint, maxt);
        // Sorted before reading (labels are unique per series), so the output is in order.
        self.inner.head.sort_by_labels(&mut all);
        for group in all.chunks(READ_GROUP) {
            out.extend(
                self.read_series_many(group, mint, maxt)?
                    .into_iter()
                    .flatten(),
            );
        }
        Ok(out)
    }

    fn select_each(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        f: &mut dyn FnMut(&mut Series) -> bool,
    ) -> Result<(), StorageError> {
        let mut all = self.series_overlapping(matchers, mint, maxt);
        self.inner.head.sort_by_labels(&mut all);
        // One series' buffers, refilled for each: memory holds one series' samples and the
        // encoded rows of one group, and the allocator is not asked again per series.
        let mut buf = Series {
            labels: Labels::default(),
            samples: Vec::new(),
            histograms: Vec::new(),
        };
        for group in all.chunks(READ_GROUP) {
            let (heads, mut rows_of) = self.read_group(group, mint, maxt)?;
            for (s, head) in group.iter().zip(heads) {
                let rows = rows_of.remove(&s.id).unwrap_or_default();
                if self.merge_into(s, head, rows, mint, maxt, &mut buf) && !f(&mut buf) {
                    return Ok(());
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
