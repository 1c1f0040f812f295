//! Compaction of persisted float rows (a child module of `persist`, so it shares its writer
//! connection and error context): the rows a series has in one 2-hour range — one per flush
//! that wrote into the range — become one row (more only past `MAX_PERSISTED_SAMPLES`), and
//! at shutdown a series' open-chunk snapshot can join the rows of its range. Each merge
//! happens in one write transaction (new rows in, old rows out), so a crash leaves either the
//! old rows or the new ones, and readers (WAL-mode snapshots) see every sample exactly once.
//! Samples go through decoding and re-encoding unchanged, bit for bit (NaN payloads and stale
//! markers included). Histogram rows are left as they are and stop a run of float rows (rows
//! of a series never overlap in time). Rows that do not decode, or whose samples are not in
//! strictly increasing time order across the run, are left untouched.
//!
//! Also which ranges may need it: those flushes wrote rows (sealed or snapshots) into since
//! they were last looked at, and (once per open, `seed_pending`) those found holding several
//! rows of a series in the `chunks_by_series` index.
//!
//! Uses `persist` (its parent), `chunk_rows`, `chunkenc`; rusqlite.

use std::collections::BTreeSet;

use rusqlite::params;

use super::super::chunk_rows::{
    decode_row, RowSamples, FMT_FLOAT_HISTOGRAM, FMT_HISTOGRAM, FMT_HISTOGRAM_CHUNKS,
};
use super::super::chunkenc::{encode_persisted, range_end, CHUNK_RANGE_MS, MAX_PERSISTED_SAMPLES};
use super::{Ctx, Persist, PersistError};

/// The start of the 2-hour range holding `t`.
fn range_start(t: i64) -> i64 {
    range_end(t) - CHUNK_RANGE_MS
}

/// A series with rows in a range, as found by [`Persist::range_series`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeSeries {
    pub series_id: u64,
    /// Its rows in the `chunks` table within the range.
    pub rows: usize,
    /// Its open-chunk snapshot's (min, max) time, when that starts within the range.
    pub open: Option<(i64, i64)>,
}

/// What merging did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MergeReport {
    /// Rows (and open-chunk snapshots) removed, and rows written in their place.
    pub rows_removed: usize,
    pub rows_written: usize,
    pub samples: usize,
    /// Series whose open-chunk snapshot went into a sealed row.
    pub folded: Vec<u64>,
}

/// One row taking part in a merge: a `chunks` row (by rowid) or the open-chunk snapshot.
struct Part {
    rowid: Option<i64>,
    min_t: i64,
    samples: Kind,
}

/// What a row holds.
enum Kind {
    Floats(Vec<(i64, f64)>),
    Histograms,
    Damaged,
}

impl Persist {
    /// Notes that rows (sealed ones or open-chunk snapshots) were written into the ranges of
    /// these row start times.
    pub(super) fn note_written(&self, min_ts: impl Iterator<Item = i64>) {
        let mut p = self.pending.lock();
        for t in min_ts {
            p.insert(range_start(t));
        }
    }

    /// Takes the ranges (their start times) that may hold several rows of a series.
    pub fn take_pending(&self) -> BTreeSet<i64> {
        std::mem::take(&mut *self.pending.lock())
    }

    /// Puts ranges back for a later pass.
    pub fn keep_pending(&self, ranges: impl IntoIterator<Item = i64>) {
        self.pending.lock().extend(ranges);
    }

    /// Once per open: adds every range where some series has several rows (an index-only
    /// scan of `chunks_by_series`), so ranges left unmerged by an earlier run (a crash, or
    /// series that stopped) are found too. Returns how many ranges were added.
    pub fn seed_pending(&self) -> Result<usize, PersistError> {
        const W: &str = "finding ranges to compact";
        if self.seeded.swap(true, std::sync::atomic::Ordering::Relaxed) {
            return Ok(0);
        }
        let mut found = BTreeSet::new();
        {
            let conn = self.reader.lock();
            let mut stmt = conn
                .prepare("SELECT series_id, min_t FROM chunks INDEXED BY chunks_by_series ORDER BY series_id, min_t")
                .ctx(W)?;
            let mut rows = stmt.query([]).ctx(W)?;
            let mut prev: Option<(i64, i64)> = None;
            while let Some(r) = rows.next().ctx(W)? {
                let (id, t): (i64, i64) = (r.get(0).ctx(W)?, r.get(1).ctx(W)?);
                let start = range_start(t);
                if prev == Some((id, start)) {
                    found.insert(start);
                }
                prev = Some((id, start));
            }
        }
        let n = found.len();
        self.keep_pending(found);
        Ok(n)
    }

    /// The series with rows in the range starting at `lo`, by id: how many `chunks` rows each
    /// has there, and (with `with_open`) where its open-chunk snapshot lies when that starts
    /// in the range. Series with one row and no snapshot there are left out.
    pub fn range_series(&self, lo: i64, with_open: bool) -> Result<Vec<RangeSeries>, PersistError> {
        const W: &str = "finding rows to compact";
        let hi = lo.saturating_add(CHUNK_RANGE_MS);
        let conn = self.reader.lock();
        let tx = conn.unchecked_transaction().ctx(W)?;
        let mut out: std::collections::BTreeMap<u64, RangeSeries> = Default::default();
        {
            // A row never spans a range boundary: its max time lies in the range of its
            // min time, so the max-time index finds the range's rows.
            let mut stmt = tx
                .prepare_cached(
                    "SELECT series_id, COUNT(*) FROM chunks INDEXED BY chunks_by_max_t
                     WHERE max_t >= ?1 AND max_t < ?2 GROUP BY series_id",
                )
                .ctx(W)?;
            let mut rows = stmt.query(params![lo, hi]).ctx(W)?;
            while let Some(r) = rows.next().ctx(W)? {
                let id = r.get::<_, i64>(0).ctx(W)? as u64;
                let n = r.get::<_, i64>(1).ctx(W)? as usize;
                out.insert(
                    id,
                    RangeSeries {
                        series_id: id,
                        rows: n,
                        open: None,
                    },
                );
            }
        }
        if with_open {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT series_id, min_t, max_t FROM open_chunks WHERE min_t >= ?1 AND min_t < ?2",
                )
                .ctx(W)?;
            let mut rows = stmt.query(params![lo, hi]).ctx(W)?;
            while let Some(r) = rows.next().ctx(W)? {
                let id = r.get::<_, i64>(0).ctx(W)? as u64;
                // Only a snapshot joining rows of its range saves a row.
                if let Some(e) = out.get_mut(&id) {
                    e.open = Some((r.get(1).ctx(W)?, r.get(2).ctx(W)?));
                }
            }
        }
        tx.commit().ctx(W)?;
        Ok(out
            .into_values()
            .filter(|s| s.rows > 1 || s.open.is_some())
            .collect())
    }

    /// Merges, in one transaction, the float rows each listed series has in the range
    /// starting at `lo`: every run of consecutive float rows (no histogram row between)
    /// becomes one row (or a few of at most `MAX_PERSISTED_SAMPLES` samples). With
    /// `fold = true` for a series, its open-chunk snapshot, when it starts in the range and
    /// holds floats, joins the run before it and leaves `open_chunks`.
    pub fn merge_range(
        &self,
        lo: i64,
        series: &[(u64, bool)],
    ) -> Result<MergeReport, PersistError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction().ctx(W)?;
        let report = merge_in(&tx, lo, series)?;
        tx.commit().ctx(W)?;
        Ok(report)
    }

    /// Rewrites the `open_chunks` table densely when more than a third of its pages' space
    /// is unused (each flush replaces its rows with ones of another size, leaving holes SQLite
    /// does not close). One transaction; the old pages become free pages for the next
    /// vacuum. Returns whether it rewrote the table.
    pub fn tidy_open_chunks(&self) -> Result<bool, PersistError> {
        const W: &str = "rewriting open chunks";
        let mut conn = self.writer.lock();
        let (size, unused): (i64, i64) = conn
            .query_row(
                "SELECT COALESCE(SUM(pgsize), 0), COALESCE(SUM(unused), 0) FROM dbstat
                 WHERE name = 'open_chunks' AND aggregate = TRUE",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .ctx(W)?;
        if size < TIDY_MIN_BYTES || unused * 3 < size {
            return Ok(false);
        }
        let tx = conn.transaction().ctx(W)?;
        tx.execute_batch(
            "CREATE TABLE open_chunks_tidy (
                 series_id INTEGER PRIMARY KEY,
                 min_t INTEGER NOT NULL,
                 max_t INTEGER NOT NULL,
                 data BLOB NOT NULL
             );
             INSERT INTO open_chunks_tidy SELECT series_id, min_t, max_t, data FROM open_chunks ORDER BY series_id;
             DROP TABLE open_chunks;
             ALTER TABLE open_chunks_tidy RENAME TO open_chunks;",
        )
        .ctx(W)?;
        tx.commit().ctx(W)?;
        Ok(true)
    }

    /// The first column of each row a read-only statement answers, as integers (tests).
    #[cfg(test)]
    pub fn ints(&self, sql: &str, params: impl rusqlite::Params) -> Vec<i64> {
        let conn = self.reader.lock();
        let mut stmt = conn.prepare(sql).expect("a valid statement");
        let v = stmt
            .query_map(params, |r| r.get::<_, i64>(0))
            .expect("a valid query")
            .map(|r| r.expect("an integer"))
            .collect();
        v
    }

    /// `merge_range` left uncommitted: the transaction is rolled back, as by a crash before
    /// the commit. Returns what the merge had done inside it.
    #[cfg(test)]
    pub fn merge_range_uncommitted(
        &self,
        lo: i64,
        series: &[(u64, bool)],
    ) -> Result<MergeReport, PersistError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction().ctx(W)?;
        merge_in(&tx, lo, series)
    }
}

const W: &str = "compacting rows";

/// `open_chunks` smaller than this is left as it is, however sparse.
const TIDY_MIN_BYTES: i64 = 256 << 10;

/// The work of `Persist::merge_range` inside the caller's transaction.
fn merge_in(
    tx: &rusqlite::Transaction<'_>,
    lo: i64,
    series: &[(u64, bool)],
) -> Result<MergeReport, PersistError> {
    let hi = lo.saturating_add(CHUNK_RANGE_MS);
    let mut report = MergeReport::default();
    {
        for &(id, fold) in series {
            let mut parts: Vec<Part> = Vec::new();
            {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT rowid, min_t, data FROM chunks
                         WHERE series_id = ?1 AND min_t >= ?2 AND min_t < ?3 ORDER BY min_t",
                    )
                    .ctx(W)?;
                let mut rows = stmt.query(params![id as i64, lo, hi]).ctx(W)?;
                while let Some(r) = rows.next().ctx(W)? {
                    let data = r.get_ref(2).ctx(W)?.as_blob().unwrap_or_default();
                    parts.push(Part {
                        rowid: Some(r.get(0).ctx(W)?),
                        min_t: r.get(1).ctx(W)?,
                        samples: floats_of(data),
                    });
                }
            }
            if fold {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT min_t, data FROM open_chunks WHERE series_id = ?1 AND min_t >= ?2 AND min_t < ?3",
                    )
                    .ctx(W)?;
                let mut rows = stmt.query(params![id as i64, lo, hi]).ctx(W)?;
                if let Some(r) = rows.next().ctx(W)? {
                    let data = r.get_ref(1).ctx(W)?.as_blob().unwrap_or_default();
                    let min_t: i64 = r.get(0).ctx(W)?;
                    // The snapshot comes after every sealed row of the series.
                    if parts.last().is_none_or(|p| p.min_t < min_t) {
                        parts.push(Part {
                            rowid: None,
                            min_t,
                            samples: floats_of(data),
                        });
                    }
                }
            }
            // A row that does not decode leaves the whole series alone.
            if parts.iter().any(|p| matches!(p.samples, Kind::Damaged)) {
                continue;
            }
            for run in parts.split_mut(|p| !matches!(p.samples, Kind::Floats(_))) {
                if run.len() < 2 {
                    continue;
                }
                let mut all: Vec<(i64, f64)> = Vec::new();
                for p in run.iter_mut() {
                    if let Kind::Floats(v) = &mut p.samples {
                        all.append(v);
                    }
                }
                if all.is_empty() || all.windows(2).any(|w| w[0].0 >= w[1].0) {
                    continue;
                }
                for p in run.iter() {
                    match p.rowid {
                        Some(rowid) => tx
                            .prepare_cached("DELETE FROM chunks WHERE rowid = ?1")
                            .ctx(W)?
                            .execute([rowid])
                            .ctx(W)?,
                        None => {
                            report.folded.push(id);
                            tx.prepare_cached("DELETE FROM open_chunks WHERE series_id = ?1")
                                .ctx(W)?
                                .execute([id as i64])
                                .ctx(W)?
                        }
                    };
                }
                let pieces = all.len().div_ceil(MAX_PERSISTED_SAMPLES);
                let per = all.len().div_ceil(pieces);
                let mut ins = tx
                    .prepare_cached(
                        "INSERT INTO chunks (series_id, min_t, max_t, data) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .ctx(W)?;
                for piece in all.chunks(per) {
                    let (first, last) = (piece[0].0, piece[piece.len() - 1].0);
                    ins.execute(params![
                        id as i64,
                        first,
                        last,
                        encode_persisted(piece, None)
                    ])
                    .ctx(W)?;
                    report.rows_written += 1;
                }
                report.rows_removed += run.len();
                report.samples += all.len();
            }
        }
    }
    Ok(report)
}

/// What row bytes hold.
fn floats_of(data: &[u8]) -> Kind {
    if matches!(
        data.first(),
        Some(&(FMT_HISTOGRAM | FMT_FLOAT_HISTOGRAM | FMT_HISTOGRAM_CHUNKS))
    ) {
        return Kind::Histograms;
    }
    match decode_row(data) {
        Some(RowSamples::Floats(v)) => Kind::Floats(v),
        Some(RowSamples::Histograms(_)) => Kind::Histograms,
        None => Kind::Damaged,
    }
}
