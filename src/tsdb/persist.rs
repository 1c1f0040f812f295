//! Persisted chunks in SQLite (WAL journal mode; new files get 8 KiB pages, which leave less
//! of each page unused than 4 KiB ones), in these tables:
//! - `series` (id, labels as ids of interned label pairs, `series_labels`) and `label_pairs`;
//! - `chunks`: sealed data, append-mostly (a rowid table, so rows pack densely whatever order
//!   series arrive in), unique on (series id, min time), indexed by max time for retention;
//! - `open_chunks`: one row per series holding a snapshot of its open head chunk, rewritten at
//!   each flush, so that churn stays in one small table.
//!
//! Chunk bytes are in `chunk_rows`'s format (`chunkenc`'s float formats, or a histogram chunk
//! behind its format byte); deleting samples re-encodes either kind. Writes happen in one
//! transaction per flush.
//! Merging a series' rows of one 2h range (compaction) is in the child module
//! `persist_compact`. With `readers`, the only modules that use rusqlite. One connection writes; reads take one
//! from the `readers` pool, so concurrent queries read in parallel.

use std::collections::HashMap;
use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};

use super::chunk_rows::{decode_row, encode_histogram_row, histogram_chunk_of, RowSamples};
use super::chunkenc::encode_persisted;
use super::histogram_head::{chunk_header, encode_samples};
use super::readers::Readers;
use super::series_labels;
use crate::model::{HistogramSample, Labels};

/// Errors from the database, with what we were doing.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct PersistError {
    what: &'static str,
    #[source]
    source: rusqlite::Error,
}

impl PersistError {
    /// Whether SQLite found the database file damaged (a corrupt page).
    pub fn is_corrupt(&self) -> bool {
        matches!(
            self.source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        )
    }
}

trait Ctx<T> {
    fn ctx(self, what: &'static str) -> Result<T, PersistError>;
}

impl<T> Ctx<T> for rusqlite::Result<T> {
    fn ctx(self, what: &'static str) -> Result<T, PersistError> {
        self.map_err(|source| PersistError { what, source })
    }
}

/// One chunk row.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRow {
    pub series_id: u64,
    pub min_t: i64,
    pub max_t: i64,
    pub data: Vec<u8>,
}

/// Per-series facts loaded at startup: oldest time, newest sealed chunk, open chunk.
#[derive(Debug, Clone)]
pub struct SeriesSummary {
    pub series_id: u64,
    pub min_t: i64,
    pub last_sealed: Option<ChunkRow>,
    pub open: Option<ChunkRow>,
}

/// What a flush writes.
#[derive(Debug, Default)]
pub struct FlushBatch<'a> {
    pub series: Vec<(u64, &'a Labels)>,
    /// Sealed rows, sorted by (2h range, series, min time).
    pub sealed: Vec<ChunkRow>,
    /// Open-chunk snapshots (replacing each series' previous one).
    pub open: Vec<ChunkRow>,
    /// Series whose open-chunk snapshot must go (no open chunk any more).
    pub drop_open: Vec<u64>,
}

pub struct Persist {
    writer: Mutex<Connection>,
    reader: Readers,
    /// The id the next new label pair gets (`None` until a write needs one); used under the
    /// writer lock.
    next_pair: Mutex<Option<i64>>,
    /// Starts of the 2h ranges sealed rows were written into, for compaction.
    pending: Mutex<std::collections::BTreeSet<i64>>,
    /// Whether `seed_pending` ran.
    seeded: std::sync::atomic::AtomicBool,
}

impl Persist {
    pub fn open(path: &Path) -> Result<Persist, PersistError> {
        let writer = Connection::open(path).ctx("opening the database")?;
        writer
            .execute_batch(
                "PRAGMA page_size = 8192;
                 PRAGMA auto_vacuum = INCREMENTAL;
                 PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 CREATE TABLE IF NOT EXISTS series (
                     id INTEGER PRIMARY KEY,
                     labels BLOB NOT NULL
                 );
                 CREATE TABLE IF NOT EXISTS chunks (
                     series_id INTEGER NOT NULL,
                     min_t INTEGER NOT NULL,
                     max_t INTEGER NOT NULL,
                     data BLOB NOT NULL
                 );
                 CREATE UNIQUE INDEX IF NOT EXISTS chunks_by_series ON chunks (series_id, min_t);
                 CREATE INDEX IF NOT EXISTS chunks_by_max_t ON chunks (max_t);
                 CREATE TABLE IF NOT EXISTS open_chunks (
                     series_id INTEGER PRIMARY KEY,
                     min_t INTEGER NOT NULL,
                     max_t INTEGER NOT NULL,
                     data BLOB NOT NULL
                 );",
            )
            .ctx("creating the schema")?;
        writer
            .execute_batch(series_labels::SCHEMA)
            .ctx("creating the schema")?;
        let reader = Readers::open(path).ctx("opening the database for reading")?;
        Ok(Persist {
            writer: Mutex::new(writer),
            reader,
            next_pair: Mutex::new(None),
            pending: Mutex::default(),
            seeded: Default::default(),
        })
    }

    /// Every series row. Rows whose labels cannot be decoded are skipped and counted (tests;
    /// opening uses [`Persist::visit_series`]).
    #[cfg(test)]
    pub fn load_series(&self) -> Result<(Vec<(u64, Labels)>, usize), PersistError> {
        let conn = self.reader.lock();
        let pairs = series_labels::load_pairs(&conn).ctx("reading label pairs")?;
        let mut stmt = conn
            .prepare("SELECT id, labels FROM series ORDER BY id")
            .ctx("reading series")?;
        let mut rows = stmt.query([]).ctx("reading series")?;
        let mut out = Vec::new();
        let mut bad = 0;
        while let Some(r) = rows.next().ctx("reading series")? {
            let id: i64 = r.get(0).ctx("reading series")?;
            let blob: Vec<u8> = r.get(1).ctx("reading series")?;
            match series_labels::decode(&blob, &pairs) {
                Some(l) if !l.is_empty() => out.push((id as u64, l)),
                _ => bad += 1,
            }
        }
        Ok((out, bad))
    }

    /// Calls `visit` with every label pair of the pair table: its id, name and value.
    pub fn visit_label_pairs(
        &self,
        mut visit: impl FnMut(u64, &str, &str),
    ) -> Result<(), PersistError> {
        let conn = self.reader.lock();
        let mut stmt = conn
            .prepare("SELECT id, name, value FROM label_pairs")
            .ctx("reading label pairs")?;
        let mut rows = stmt.query([]).ctx("reading label pairs")?;
        while let Some(r) = rows.next().ctx("reading label pairs")? {
            let id: i64 = r.get(0).ctx("reading label pairs")?;
            let name = r.get_ref(1).ctx("reading label pairs")?;
            let value = r.get_ref(2).ctx("reading label pairs")?;
            let (Ok(name), Ok(value)) = (name.as_str(), value.as_str()) else {
                continue; // not text: a series naming this pair does not load
            };
            visit(id as u64, name, value);
        }
        Ok(())
    }

    /// Calls `visit` with each series row's id and labels as stored, ascending by id, without
    /// building `Labels` (opening builds the head from them in bulk): the ids of its label
    /// pairs (see [`Persist::visit_label_pairs`]), or, in rows written before pair ids, the
    /// pairs spelled out; `Damaged` when the row cannot be decoded.
    pub fn visit_series(
        &self,
        mut visit: impl FnMut(u64, series_labels::Stored<'_>),
    ) -> Result<(), PersistError> {
        let conn = self.reader.lock();
        let mut stmt = conn
            .prepare("SELECT id, labels FROM series ORDER BY id")
            .ctx("reading series")?;
        let mut rows = stmt.query([]).ctx("reading series")?;
        let mut ids = Vec::with_capacity(16);
        while let Some(r) = rows.next().ctx("reading series")? {
            let id: i64 = r.get(0).ctx("reading series")?;
            let blob = r.get_ref(1).ctx("reading series")?;
            let blob = blob.as_blob().unwrap_or_default();
            visit(id as u64, series_labels::stored(blob, &mut ids));
        }
        Ok(())
    }

    /// Every series summary (see [`Persist::visit_summaries`]), for tests.
    #[cfg(test)]
    pub fn load_summaries(&self) -> Result<Vec<SeriesSummary>, PersistError> {
        let mut out = Vec::new();
        self.visit_summaries(|s| out.push(s))?;
        Ok(out)
    }

    /// Calls `visit` for each series with data, ascending by id, with its oldest time, its
    /// open chunk, and its newest sealed chunk unless the open chunk is newer (then only the
    /// index is read for it: no sealed row's data is needed to reopen such a series). The
    /// open chunks and the sealed rows' extents are read side by side, nothing collected.
    pub fn visit_summaries(
        &self,
        mut visit: impl FnMut(SeriesSummary),
    ) -> Result<(), PersistError> {
        const WHAT: &str = "reading chunk summaries";
        let conn = self.reader.lock();
        let mut open_st = conn
            .prepare("SELECT series_id, min_t, max_t, data FROM open_chunks ORDER BY series_id")
            .ctx("reading open chunks")?;
        // (series, oldest start, newest start) of sealed rows, from the index alone.
        let mut ext_st = conn
            .prepare(
                "SELECT series_id, MIN(min_t), MAX(min_t) FROM chunks
                 GROUP BY series_id ORDER BY series_id",
            )
            .ctx(WHAT)?;
        let mut last = conn
            .prepare("SELECT min_t, max_t, data FROM chunks WHERE series_id = ?1 AND min_t = ?2")
            .ctx(WHAT)?;
        let mut open_rows = open_st.query([]).ctx("reading open chunks")?;
        let mut ext_rows = ext_st.query([]).ctx(WHAT)?;
        let next_open = |rows: &mut rusqlite::Rows<'_>| -> rusqlite::Result<Option<ChunkRow>> {
            let Some(r) = rows.next()? else {
                return Ok(None);
            };
            Ok(Some(ChunkRow {
                series_id: r.get::<_, i64>(0)? as u64,
                min_t: r.get(1)?,
                max_t: r.get(2)?,
                data: r.get(3)?,
            }))
        };
        let next_ext =
            |rows: &mut rusqlite::Rows<'_>| -> rusqlite::Result<Option<(u64, i64, i64)>> {
                let Some(r) = rows.next()? else {
                    return Ok(None);
                };
                Ok(Some((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?)))
            };
        let mut open = next_open(&mut open_rows).ctx("reading open chunks")?;
        let mut ext = next_ext(&mut ext_rows).ctx(WHAT)?;
        // The next series in either list (both ascending by id).
        while let Some(id) = [open.as_ref().map(|c| c.series_id), ext.map(|e| e.0)]
            .into_iter()
            .flatten()
            .min()
        {
            let o = match open.take_if(|c| c.series_id == id) {
                Some(o) => {
                    open = next_open(&mut open_rows).ctx("reading open chunks")?;
                    Some(o)
                }
                None => None,
            };
            let mut sum = SeriesSummary {
                series_id: id,
                min_t: i64::MAX,
                last_sealed: None,
                open: None,
            };
            if let Some((_, lo, hi)) = ext.take_if(|e| e.0 == id) {
                ext = next_ext(&mut ext_rows).ctx(WHAT)?;
                sum.min_t = lo;
                if o.as_ref().is_none_or(|o| o.min_t <= hi) {
                    sum.last_sealed = last
                        .query_row(params![id as i64, hi], |r| {
                            Ok(ChunkRow {
                                series_id: id,
                                min_t: r.get(0)?,
                                max_t: r.get(1)?,
                                data: r.get(2)?,
                            })
                        })
                        .optional()
                        .ctx(WHAT)?;
                }
            }
            if let Some(o) = o {
                sum.min_t = sum.min_t.min(o.min_t);
                sum.open = Some(o);
            }
            visit(sum);
        }
        Ok(())
    }

    /// Writes a flush in one transaction.
    pub fn write(&self, batch: &FlushBatch) -> Result<(), PersistError> {
        let mut conn = self.writer.lock();
        let mut next_pair = self.next_pair.lock();
        let tx = conn.transaction().ctx("starting a flush")?;
        {
            let mut ins = tx
                .prepare_cached("INSERT OR IGNORE INTO series (id, labels) VALUES (?1, ?2)")
                .ctx("writing series")?;
            let mut cache = HashMap::new();
            for (id, labels) in &batch.series {
                let blob = series_labels::encode(&tx, labels, &mut next_pair, &mut cache)
                    .ctx("writing label pairs")?;
                ins.execute(params![*id as i64, blob])
                    .ctx("writing series")?;
            }
            // Snapshots that must go go first: a new one for the same series may follow.
            let mut del = tx
                .prepare_cached("DELETE FROM open_chunks WHERE series_id = ?1")
                .ctx("writing open chunks")?;
            for id in &batch.drop_open {
                del.execute([*id as i64]).ctx("writing open chunks")?;
            }
            for (table, rows, what) in [
                ("chunks", &batch.sealed, "writing chunks"),
                ("open_chunks", &batch.open, "writing open chunks"),
            ] {
                let mut ins = tx
                    .prepare_cached(&format!(
                        "INSERT OR REPLACE INTO {table} (series_id, min_t, max_t, data) VALUES (?1, ?2, ?3, ?4)"
                    ))
                    .ctx(what)?;
                for c in rows {
                    ins.execute(params![c.series_id as i64, c.min_t, c.max_t, c.data])
                        .ctx(what)?;
                }
            }
        }
        tx.commit().ctx("committing a flush")?;
        // Open-chunk snapshots too: a shutdown may fold one into the sealed rows of its range.
        self.note_written(batch.sealed.iter().chain(&batch.open).map(|c| c.min_t));
        Ok(())
    }

    /// Persisted chunks of one series overlapping [mint, maxt] (sealed and open), unordered;
    /// an index seek, however much history the series has.
    pub fn chunks(
        &self,
        series_id: u64,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkRow>, PersistError> {
        let conn = self.reader.lock();
        // One read transaction: both tables from one snapshot (a compaction may move an
        // open-chunk snapshot into a sealed row between two statements).
        let tx = conn.unchecked_transaction().ctx("reading chunks")?;
        let mut out = Vec::new();
        for sql in [
            // A series' chunks do not overlap, so only the last chunk starting at or before
            // mint can reach into the range: seek to it instead of scanning every older chunk
            // of the series (which made queries slower the more history a series had).
            "SELECT min_t, max_t, data FROM chunks WHERE series_id = ?1
                 AND min_t >= COALESCE((SELECT MAX(min_t) FROM chunks WHERE series_id = ?1 AND min_t <= ?2), ?2)
                 AND min_t <= ?3 AND max_t >= ?2",
            "SELECT min_t, max_t, data FROM open_chunks WHERE series_id = ?1 AND min_t <= ?3 AND max_t >= ?2",
        ] {
            let mut stmt = tx.prepare_cached(sql).ctx("reading chunks")?;
            let rows = stmt
                .query_map(params![series_id as i64, mint, maxt], |r| {
                    Ok(ChunkRow { series_id, min_t: r.get(0)?, max_t: r.get(1)?, data: r.get(2)? })
                })
                .ctx("reading chunks")?;
            for r in rows {
                out.push(r.ctx("reading chunks")?);
            }
        }
        tx.commit().ctx("reading chunks")?;
        Ok(out)
    }

    /// Persisted chunks of many series overlapping [mint, maxt] (sealed and open), unordered,
    /// each row tagged with its series id: what `chunks` answers for each id, read in one read
    /// transaction (one lock of the database file, one consistent snapshot) with two prepared
    /// statements per `CHUNKS_BATCH` ids instead of two statements and two transactions per
    /// series. Every sealed lookup is still an index seek per series. The ids must be distinct
    /// (a repeated id is answered twice).
    #[cfg(test)]
    pub fn chunks_many(
        &self,
        series_ids: &[u64],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkRow>, PersistError> {
        self.chunks_many_of(series_ids, mint, maxt, true)
    }

    /// `chunks_many` without the open-chunk snapshots: what a query of series in the head
    /// needs, since a series' open chunk in the head holds every sample of its snapshot.
    pub fn sealed_chunks_many(
        &self,
        series_ids: &[u64],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkRow>, PersistError> {
        self.chunks_many_of(series_ids, mint, maxt, false)
    }

    fn chunks_many_of(
        &self,
        series_ids: &[u64],
        mint: i64,
        maxt: i64,
        with_open: bool,
    ) -> Result<Vec<ChunkRow>, PersistError> {
        const W: &str = "reading chunks";
        let conn = self.reader.lock();
        let tx = conn.unchecked_transaction().ctx(W)?;
        let mut out = Vec::new();
        let (sealed_sql, open_sql) = batch_sql();
        for batch in series_ids.chunks(CHUNKS_BATCH) {
            // Unused slots are NULL, which matches no series.
            let mut ids: Vec<Option<i64>> = batch.iter().map(|&id| Some(id as i64)).collect();
            ids.resize(CHUNKS_BATCH, None);
            let sqls = [sealed_sql, open_sql];
            for sql in &sqls[..if with_open { 2 } else { 1 }] {
                let mut stmt = tx.prepare_cached(sql).ctx(W)?;
                for (i, id) in ids.iter().enumerate() {
                    stmt.raw_bind_parameter(i + 1, id).ctx(W)?;
                }
                stmt.raw_bind_parameter(CHUNKS_BATCH + 1, mint).ctx(W)?;
                stmt.raw_bind_parameter(CHUNKS_BATCH + 2, maxt).ctx(W)?;
                let mut rows = stmt.raw_query();
                while let Some(r) = rows.next().ctx(W)? {
                    out.push(ChunkRow {
                        series_id: r.get::<_, i64>(0).ctx(W)? as u64,
                        min_t: r.get(1).ctx(W)?,
                        max_t: r.get(2).ctx(W)?,
                        data: r.get(3).ctx(W)?,
                    });
                }
            }
        }
        tx.commit().ctx(W)?;
        Ok(out)
    }

    /// Deletes chunks ending before `cutoff`; returns how many.
    pub fn delete_before(&self, cutoff: i64) -> Result<usize, PersistError> {
        let conn = self.writer.lock();
        let sealed = conn
            .execute("DELETE FROM chunks WHERE max_t < ?1", [cutoff])
            .ctx("deleting old chunks")?;
        let open = conn
            .execute("DELETE FROM open_chunks WHERE max_t < ?1", [cutoff])
            .ctx("deleting old open chunks")?;
        Ok(sealed + open)
    }

    /// Deletes the `n` chunks that end first; returns the newest max time deleted.
    pub fn delete_oldest(&self, n: usize) -> Result<Option<i64>, PersistError> {
        let conn = self.writer.lock();
        let cutoff: Option<i64> = conn
            .query_row(
                "SELECT max_t FROM chunks ORDER BY max_t LIMIT 1 OFFSET ?1",
                [n.saturating_sub(1) as i64],
                |r| r.get(0),
            )
            .optional()
            .ctx("finding the oldest chunks")?;
        if let Some(c) = cutoff {
            conn.execute("DELETE FROM chunks WHERE max_t <= ?1", [c])
                .ctx("deleting the oldest chunks")?;
        }
        Ok(cutoff)
    }

    pub fn chunk_count(&self) -> Result<usize, PersistError> {
        let conn = self.reader.lock();
        conn.query_row("SELECT COUNT(*) FROM chunks", [], |r| r.get::<_, i64>(0))
            .map(|n| n as usize)
            .ctx("counting chunks")
    }

    /// Ids of series rows without any chunk.
    pub fn series_without_chunks(&self) -> Result<Vec<u64>, PersistError> {
        let conn = self.writer.lock();
        let mut stmt = conn
            .prepare(
                "SELECT id FROM series s WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.series_id = s.id)
                 AND NOT EXISTS (SELECT 1 FROM open_chunks o WHERE o.series_id = s.id)",
            )
            .ctx("finding empty series")?;
        let rows = stmt
            .query_map([], |r| r.get::<_, i64>(0).map(|i| i as u64))
            .ctx("finding empty series")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("finding empty series")
    }

    /// Removes the samples of each (series, mint, maxt) range, inclusive, from persisted
    /// chunks in one transaction: chunks wholly inside go, partly covered ones are rewritten,
    /// unreadable ones are left alone. Returns each series' remaining persisted time range.
    #[allow(clippy::type_complexity)]
    pub fn delete_ranges(
        &self,
        ranges: &[(u64, i64, i64)],
    ) -> Result<Vec<(u64, Option<(i64, i64)>)>, PersistError> {
        const W: &str = "deleting samples";
        let mut conn = self.writer.lock();
        let tx = conn.transaction().ctx(W)?;
        let mut out = Vec::with_capacity(ranges.len());
        for &(id, mint, maxt) in ranges {
            for table in ["chunks", "open_chunks"] {
                let rows: Vec<(i64, Vec<u8>)> = {
                    let mut stmt = tx
                        .prepare_cached(&format!(
                            "SELECT min_t, data FROM {table} WHERE series_id = ?1 AND min_t <= ?3 AND max_t >= ?2"
                        ))
                        .ctx(W)?;
                    let rows = stmt
                        .query_map(params![id as i64, mint, maxt], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })
                        .ctx(W)?;
                    rows.collect::<Result<_, _>>().ctx(W)?
                };
                for (min_t, data) in rows {
                    let Some(left) = rows_left(&data, mint, maxt) else {
                        continue;
                    };
                    tx.prepare_cached(&format!(
                        "DELETE FROM {table} WHERE series_id = ?1 AND min_t = ?2"
                    ))
                    .ctx(W)?
                    .execute(params![id as i64, min_t])
                    .ctx(W)?;
                    for (first, last, data) in left {
                        tx.prepare_cached(&format!(
                            "INSERT OR REPLACE INTO {table} (series_id, min_t, max_t, data) VALUES (?1, ?2, ?3, ?4)"
                        ))
                        .ctx(W)?
                        .execute(params![id as i64, first, last, data])
                        .ctx(W)?;
                    }
                }
            }
            let range: (Option<i64>, Option<i64>) = tx
                .prepare_cached(
                    "SELECT MIN(min_t), MAX(max_t) FROM (
                         SELECT min_t, max_t FROM chunks WHERE series_id = ?1
                         UNION ALL SELECT min_t, max_t FROM open_chunks WHERE series_id = ?1)",
                )
                .ctx(W)?
                .query_row([id as i64], |r| Ok((r.get(0)?, r.get(1)?)))
                .ctx(W)?;
            out.push((id, range.0.zip(range.1)));
        }
        tx.commit().ctx(W)?;
        Ok(out)
    }

    pub fn delete_series(&self, ids: &[u64]) -> Result<(), PersistError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction().ctx("deleting series")?;
        {
            let mut del = tx
                .prepare_cached("DELETE FROM series WHERE id = ?1")
                .ctx("deleting series")?;
            for id in ids {
                del.execute([*id as i64]).ctx("deleting series")?;
            }
        }
        tx.commit().ctx("deleting series")
    }

    /// Writes a consistent copy of the database to `path` (which must not exist).
    pub fn backup_to(&self, path: &std::path::Path) -> Result<(), PersistError> {
        let conn = self.writer.lock();
        conn.execute("VACUUM INTO ?1", [path.to_string_lossy().as_ref()])
            .ctx("writing a snapshot")?;
        Ok(())
    }

    /// Returns freed pages to the file system and truncates SQLite's own WAL file.
    pub fn compact(&self) -> Result<(), PersistError> {
        let conn = self.writer.lock();
        // Each step of the pragma frees one page: step it to the end.
        {
            let mut stmt = conn.prepare("PRAGMA incremental_vacuum").ctx("vacuuming")?;
            let mut rows = stmt.query([]).ctx("vacuuming")?;
            while rows.next().ctx("vacuuming")?.is_some() {}
        }
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .ctx("checkpointing")?;
        Ok(())
    }

    /// Bytes used by live pages.
    pub fn size_bytes(&self) -> Result<u64, PersistError> {
        let conn = self.reader.lock();
        let pages: i64 = conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .ctx("sizing")?;
        let free: i64 = conn
            .query_row("PRAGMA freelist_count", [], |r| r.get(0))
            .ctx("sizing")?;
        let size: i64 = conn
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .ctx("sizing")?;
        Ok(((pages - free).max(0) * size) as u64)
    }
}

/// The id of the stored series named `name` in the database at `path` (for tests that damage
/// its rows).
#[cfg(test)]
pub(crate) fn series_id_named(path: &Path, name: &str) -> Option<i64> {
    let (all, _) = Persist::open(path).ok()?.load_series().ok()?;
    all.into_iter()
        .find(|(_, l)| l.get("__name__") == Some(name))
        .map(|(id, _)| id as i64)
}

/// How many series ids one `chunks_many` statement answers.
const CHUNKS_BATCH: usize = 128;

/// `chunks_many`'s two statements (sealed, open) for `CHUNKS_BATCH` ids: parameters 1..=N
/// are the ids, N+1 is mint, N+2 is maxt. The ids drive the join (CROSS JOIN keeps them the
/// outer loop), so each series is an index seek to the last chunk starting at or before mint,
/// as in `chunks`.
fn batch_sql() -> (&'static str, &'static str) {
    static SQL: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let (sealed, open) = SQL.get_or_init(|| {
        let values: Vec<String> = (1..=CHUNKS_BATCH).map(|i| format!("(?{i})")).collect();
        let ids = format!("WITH ids(id) AS (VALUES {})", values.join(","));
        let (lo, hi) = (CHUNKS_BATCH + 1, CHUNKS_BATCH + 2);
        (
            format!(
                "{ids} SELECT c.series_id, c.min_t, c.max_t, c.data FROM ids CROSS JOIN chunks c
                 ON c.series_id = ids.id
                 AND c.min_t >= COALESCE((SELECT MAX(d.min_t) FROM chunks d
                     WHERE d.series_id = ids.id AND d.min_t <= ?{lo}), ?{lo})
                 AND c.min_t <= ?{hi} AND c.max_t >= ?{lo}"
            ),
            format!(
                "{ids} SELECT o.series_id, o.min_t, o.max_t, o.data FROM ids CROSS JOIN open_chunks o
                 ON o.series_id = ids.id AND o.min_t <= ?{hi} AND o.max_t >= ?{lo}"
            ),
        )
    });
    (sealed.as_str(), open.as_str())
}

/// The rows (min_t, max_t, data) that replace a row once the samples in [mint, maxt] are gone
/// (none when it is left empty); `None` when the row loses nothing or cannot be read.
/// Histogram chunks are re-encoded keeping their counter-reset header.
fn rows_left(data: &[u8], mint: i64, maxt: i64) -> Option<Vec<(i64, i64, Vec<u8>)>> {
    match decode_row(data)? {
        RowSamples::Floats(all) => {
            let kept: Vec<(i64, f64)> = all
                .iter()
                .copied()
                .filter(|&(t, _)| t < mint || t > maxt)
                .collect();
            if kept.len() == all.len() {
                return None;
            }
            Some(match (kept.first(), kept.last()) {
                (Some(first), Some(last)) => {
                    vec![(first.0, last.0, encode_persisted(&kept, None))]
                }
                _ => Vec::new(),
            })
        }
        RowSamples::Histograms(all) => {
            let n = all.len();
            let kept: Vec<HistogramSample> = all
                .into_iter()
                .filter(|s| s.t < mint || s.t > maxt)
                .collect();
            if kept.len() == n {
                return None;
            }
            let header = histogram_chunk_of(data).map(|(_, b)| chunk_header(b))?;
            Some(
                encode_samples(&kept, header)
                    .into_iter()
                    .map(|(lo, hi, form, b)| (lo, hi, encode_histogram_row(form, &b)))
                    .collect(),
            )
        }
    }
}

/// What a repair could not copy.
#[derive(Debug, Default, Clone)]
pub struct RepairReport {
    /// Where the damaged file was moved.
    pub kept_at: String,
    pub series_copied: usize,
    pub chunks_copied: usize,
    /// Rowid ranges of a table that could not be read, as "table rows a..=b".
    pub lost: Vec<String>,
    /// Series known to have lost rows (from the chunk index, when it is readable).
    pub damaged_series: Vec<u64>,
}

/// Reads every readable row of `table` in rowid order, calling `f(rowid, row)`. A damaged
/// page makes SQLite fail the read at some rowid; the scan then probes further rowids
/// (doubling the step, then narrowing down) for the first one it can seek to again, and the
/// rowids skipped are returned as lost ranges.
fn scan_readable(
    conn: &Connection,
    table: &str,
    cols: &str,
    mut f: impl FnMut(i64, &rusqlite::Row) -> rusqlite::Result<()>,
) -> Vec<(i64, i64)> {
    let batch =
        format!("SELECT rowid, {cols} FROM {table} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1000");
    let probe = format!("SELECT rowid FROM {table} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1");
    // Whether reading can resume at `at`: Some(false) when there is nothing there or after.
    let can_read = |at: i64| -> Option<bool> {
        let mut stmt = conn.prepare(&probe).ok()?;
        let mut rows = stmt.query([at]).ok()?;
        rows.next().ok().map(|r| r.is_some())
    };
    let max = conn
        .query_row(&format!("SELECT MAX(rowid) FROM {table}"), [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .ok()
        .flatten()
        .unwrap_or(i64::MAX / 4);
    let mut lost = Vec::new();
    let mut next = i64::MIN;
    loop {
        let mut last = None;
        let result = (|| -> rusqlite::Result<bool> {
            let mut stmt = conn.prepare(&batch)?;
            let mut rows = stmt.query([next])?;
            let mut any = false;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                f(id, r)?;
                last = Some(id);
                any = true;
            }
            Ok(any)
        })();
        if let Some(id) = last {
            next = id.saturating_add(1);
        }
        match result {
            Ok(true) => continue,
            Ok(false) => break,
            Err(_) => {
                // Find the first rowid after `next` the scan can resume at.
                let from = next.max(last.unwrap_or(i64::MIN).saturating_add(1)).max(0);
                let mut bad = from;
                let mut step = 1i64;
                let good = loop {
                    let at = from.saturating_add(step);
                    if at > max.saturating_add(1) {
                        break None;
                    }
                    match can_read(at) {
                        Some(_) => break Some(at),
                        None => {
                            bad = at;
                            step = step.saturating_mul(2);
                        }
                    }
                };
                let Some(mut good) = good else {
                    lost.push((from, max));
                    break;
                };
                // Narrow down between the last failing and the first working probe.
                while good - bad > 1 {
                    let mid = bad + (good - bad) / 2;
                    if can_read(mid).is_some() {
                        good = mid;
                    } else {
                        bad = mid;
                    }
                }
                lost.push((from, good - 1));
                next = good;
            }
        }
    }
    lost
}

/// Copies everything readable from the damaged database at `path` into a new file, moves the
/// damaged one (with its `-wal`/`-shm` files) aside to `<path>.damaged-<unix seconds>`, and
/// puts the copy in its place. A file SQLite cannot read at all is moved aside and replaced
/// by an empty database.
pub fn repair(path: &Path) -> Result<RepairReport, PersistError> {
    let mut report = RepairReport::default();
    let tmp = path.with_extension("repair");
    // A copy left by an interrupted repair must go, or its rows would mix into this one.
    for suffix in ["", "-wal", "-shm"] {
        remove_if_present(&format!("{}{suffix}", tmp.display()))
            .map_err(|e| io_error("removing an old repair copy", e))?;
    }
    {
        let fresh = Persist::open(&tmp)?;
        let mut dst = fresh.writer.lock();
        let tx = dst.transaction().ctx("starting the repair copy")?;
        if let Ok(src) = Connection::open(path) {
            let mut ins = tx
                .prepare("INSERT OR IGNORE INTO series (id, labels) VALUES (?1, ?2)")
                .ctx("copying series")?;
            let lost = scan_readable(&src, "series", "labels", |id, r| {
                let b: Vec<u8> = r.get(1)?;
                if ins.execute(params![id, b]).is_ok() {
                    report.series_copied += 1;
                }
                Ok(())
            });
            report
                .lost
                .extend(lost.iter().map(|(a, b)| format!("series rows {a}..={b}")));
            drop(ins);
            if let Err(e) = copy_label_pairs(&src, &tx) {
                report
                    .lost
                    .push(format!("label pairs after a read error: {e}"));
            }
            let mut ins = tx
                .prepare("INSERT OR IGNORE INTO chunks (series_id, min_t, max_t, data) VALUES (?1, ?2, ?3, ?4)")
                .ctx("copying chunks")?;
            let mut copied: std::collections::HashSet<(i64, i64)> = Default::default();
            let lost = scan_readable(&src, "chunks", "series_id, min_t, max_t, data", |_, r| {
                let (s, lo, hi, d): (i64, i64, i64, Vec<u8>) =
                    (r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
                if ins.execute(params![s, lo, hi, d]).is_ok() {
                    report.chunks_copied += 1;
                    copied.insert((s, lo));
                }
                Ok(())
            });
            report
                .lost
                .extend(lost.iter().map(|(a, b)| format!("chunk rows {a}..={b}")));
            drop(ins);
            if !lost.is_empty() {
                // The index says which chunks existed: the series missing some are damaged.
                let mut damaged = std::collections::BTreeSet::new();
                if let Ok(mut stmt) =
                    src.prepare("SELECT series_id, min_t FROM chunks INDEXED BY chunks_by_series")
                {
                    if let Ok(mut rows) = stmt.query([]) {
                        while let Ok(Some(r)) = rows.next() {
                            if let (Ok(s), Ok(lo)) = (r.get::<_, i64>(0), r.get::<_, i64>(1)) {
                                if !copied.contains(&(s, lo)) {
                                    damaged.insert(s as u64);
                                }
                            }
                        }
                    }
                }
                report.damaged_series = damaged.into_iter().collect();
            }
            let mut ins = tx
                .prepare("INSERT OR IGNORE INTO open_chunks (series_id, min_t, max_t, data) VALUES (?1, ?2, ?3, ?4)")
                .ctx("copying open chunks")?;
            let lost = scan_readable(&src, "open_chunks", "min_t, max_t, data", |id, r| {
                let (lo, hi, d): (i64, i64, Vec<u8>) = (r.get(1)?, r.get(2)?, r.get(3)?);
                if let Err(e) = ins.execute(params![id, lo, hi, d]) {
                    tracing::warn!(series_id = id, "repair: open chunk row not copied: {e}");
                }
                Ok(())
            });
            report.lost.extend(
                lost.iter()
                    .map(|(a, b)| format!("open chunk rows {a}..={b}")),
            );
            drop(ins);
            // Open chunk rows are keyed by series: the series in a lost range that have none
            // now lost their newest samples.
            let mut damaged: std::collections::BTreeSet<u64> =
                report.damaged_series.iter().copied().collect();
            for (a, b) in lost {
                let ids = tx
                    .prepare(
                        "SELECT id FROM series WHERE id BETWEEN ?1 AND ?2
                         AND id NOT IN (SELECT series_id FROM open_chunks)",
                    )
                    .and_then(|mut st| {
                        st.query_map([a, b], |r| r.get::<_, i64>(0))?
                            .collect::<Result<Vec<i64>, _>>()
                    })
                    .ctx("finding series whose open chunk was lost")?;
                damaged.extend(ids.into_iter().map(|i| i as u64));
            }
            report.damaged_series = damaged.into_iter().collect();
        } else {
            report
                .lost
                .push("the whole file (SQLite cannot open it)".into());
        }
        tx.commit().ctx("committing the repair copy")?;
        dst.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .ctx("checkpointing the repair copy")?;
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let aside = format!("{}.damaged-{secs}", path.display());
    let moved = |from: String, to: String| -> Result<(), PersistError> {
        match std::fs::rename(&from, &to) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_error("moving the damaged database aside", e)),
        }
    };
    for suffix in ["", "-wal", "-shm"] {
        moved(
            format!("{}{suffix}", path.display()),
            format!("{aside}{suffix}"),
        )?;
    }
    // The copy was checkpointed: its journal files hold nothing (best effort).
    for suffix in ["-wal", "-shm"] {
        let f = format!("{}{suffix}", tmp.display());
        if let Err(e) = remove_if_present(&f) {
            tracing::warn!("repair: cannot remove {f}: {e}");
        }
    }
    moved(tmp.display().to_string(), path.display().to_string())?;
    report.kept_at = aside;
    Ok(report)
}

/// Copies the label pair table (keyed by pair, so not scanned by rowid) as far as it reads.
fn copy_label_pairs(src: &Connection, dst: &Connection) -> rusqlite::Result<()> {
    let mut ins =
        dst.prepare("INSERT OR IGNORE INTO label_pairs (name, value, id) VALUES (?1, ?2, ?3)")?;
    let mut stmt = src.prepare("SELECT name, value, id FROM label_pairs")?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let (n, v, id): (String, String, i64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        ins.execute(params![n, v, id])?;
    }
    Ok(())
}

fn remove_if_present(path: &str) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A file-system error met while handling the database files.
fn io_error(what: &'static str, e: std::io::Error) -> PersistError {
    PersistError {
        what,
        source: rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
    }
}

#[path = "persist_compact.rs"]
mod compact;
pub use compact::{MergeReport, RangeSeries};

#[cfg(test)]
#[path = "persist_tests.rs"]
mod tests;
