//! Persisted chunks in SQLite (WAL journal mode): a `series` table (id, encoded labels) and a
//! `chunks` table keyed by (series id, min time) holding max time, a "partial" flag for open
//! chunks snapshotted at a flush, and the XOR bytes. Writes happen in one transaction per flush;
//! a chunk written again with the same key replaces the earlier (partial) copy.
//!
//! The only module that uses rusqlite. Two connections: one for writes, one for reads.

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{params, Connection, OptionalExtension};

use crate::model::Labels;

/// Errors from the database, with what we were doing.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct PersistError {
    what: &'static str,
    #[source]
    source: rusqlite::Error,
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
    pub partial: bool,
    pub data: Vec<u8>,
}

/// Per-series facts loaded at startup.
#[derive(Debug, Clone)]
pub struct SeriesSummary {
    pub series_id: u64,
    pub min_t: i64,
    pub last: ChunkRow,
}

/// What a flush writes.
#[derive(Debug, Default)]
pub struct FlushBatch<'a> {
    pub series: Vec<(u64, &'a Labels)>,
    pub chunks: Vec<(u64, i64, i64, bool, &'a [u8])>,
}

pub struct Persist {
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn encode_labels(l: &Labels) -> Vec<u8> {
    let mut b = Vec::with_capacity(l.len() * 16);
    for x in l.iter() {
        for s in [x.name.as_bytes(), x.value.as_bytes()] {
            let mut n = s.len() as u64;
            while n >= 0x80 {
                b.push((n as u8) | 0x80);
                n >>= 7;
            }
            b.push(n as u8);
            b.extend_from_slice(s);
        }
    }
    b
}

fn decode_labels(b: &[u8]) -> Option<Labels> {
    let mut pos = 0;
    let mut strs: Vec<&str> = Vec::new();
    while pos < b.len() {
        let mut n = 0usize;
        let mut shift = 0;
        loop {
            let byte = *b.get(pos)?;
            pos += 1;
            n |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
            shift += 7;
            if shift > 35 {
                return None;
            }
        }
        strs.push(std::str::from_utf8(b.get(pos..pos.checked_add(n)?)?).ok()?);
        pos += n;
    }
    if !strs.len().is_multiple_of(2) {
        return None;
    }
    Some(Labels::from_pairs(strs.chunks(2).map(|p| (p[0], p[1]))))
}

impl Persist {
    pub fn open(path: &Path) -> Result<Persist, PersistError> {
        let writer = Connection::open(path).ctx("opening the database")?;
        writer
            .execute_batch(
                "PRAGMA auto_vacuum = INCREMENTAL;
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
                     partial INTEGER NOT NULL,
                     data BLOB NOT NULL,
                     PRIMARY KEY (series_id, min_t)
                 ) WITHOUT ROWID;",
            )
            .ctx("creating the schema")?;
        let reader = Connection::open(path).ctx("opening the database for reading")?;
        reader
            .execute_batch("PRAGMA query_only = ON;")
            .ctx("configuring the reader")?;
        Ok(Persist {
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// Every series row. Rows whose labels cannot be decoded are skipped and counted.
    pub fn load_series(&self) -> Result<(Vec<(u64, Labels)>, usize), PersistError> {
        let conn = self.reader.lock();
        let mut stmt = conn
            .prepare("SELECT id, labels FROM series ORDER BY id")
            .ctx("reading series")?;
        let mut rows = stmt.query([]).ctx("reading series")?;
        let mut out = Vec::new();
        let mut bad = 0;
        while let Some(r) = rows.next().ctx("reading series")? {
            let id: i64 = r.get(0).ctx("reading series")?;
            let blob: Vec<u8> = r.get(1).ctx("reading series")?;
            match decode_labels(&blob) {
                Some(l) if !l.is_empty() => out.push((id as u64, l)),
                _ => bad += 1,
            }
        }
        Ok((out, bad))
    }

    /// For each series with chunks: its oldest time and its newest chunk.
    pub fn load_summaries(&self) -> Result<Vec<SeriesSummary>, PersistError> {
        let conn = self.reader.lock();
        let mut stmt = conn
            .prepare(
                "SELECT c.series_id, l.lo, c.min_t, c.max_t, c.partial, c.data
                 FROM (SELECT series_id, MIN(min_t) AS lo, MAX(min_t) AS hi FROM chunks GROUP BY series_id) l
                 JOIN chunks c ON c.series_id = l.series_id AND c.min_t = l.hi",
            )
            .ctx("reading chunk summaries")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SeriesSummary {
                    series_id: r.get::<_, i64>(0)? as u64,
                    min_t: r.get(1)?,
                    last: ChunkRow {
                        series_id: r.get::<_, i64>(0)? as u64,
                        min_t: r.get(2)?,
                        max_t: r.get(3)?,
                        partial: r.get::<_, i64>(4)? != 0,
                        data: r.get(5)?,
                    },
                })
            })
            .ctx("reading chunk summaries")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("reading chunk summaries")
    }

    /// Writes a flush in one transaction.
    pub fn write(&self, batch: &FlushBatch) -> Result<(), PersistError> {
        let mut conn = self.writer.lock();
        let tx = conn.transaction().ctx("starting a flush")?;
        {
            let mut ins = tx
                .prepare_cached("INSERT OR IGNORE INTO series (id, labels) VALUES (?1, ?2)")
                .ctx("writing series")?;
            for (id, labels) in &batch.series {
                ins.execute(params![*id as i64, encode_labels(labels)])
                    .ctx("writing series")?;
            }
            let mut ins = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO chunks (series_id, min_t, max_t, partial, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .ctx("writing chunks")?;
            for (id, min_t, max_t, partial, data) in &batch.chunks {
                ins.execute(params![*id as i64, min_t, max_t, *partial as i64, data])
                    .ctx("writing chunks")?;
            }
        }
        tx.commit().ctx("committing a flush")
    }

    /// Persisted chunks of one series overlapping [mint, maxt], oldest first.
    pub fn chunks(
        &self,
        series_id: u64,
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<ChunkRow>, PersistError> {
        let conn = self.reader.lock();
        let mut stmt = conn
            .prepare_cached(
                "SELECT min_t, max_t, partial, data FROM chunks
                 WHERE series_id = ?1 AND min_t <= ?3 AND max_t >= ?2 ORDER BY min_t",
            )
            .ctx("reading chunks")?;
        let rows = stmt
            .query_map(params![series_id as i64, mint, maxt], |r| {
                Ok(ChunkRow {
                    series_id,
                    min_t: r.get(0)?,
                    max_t: r.get(1)?,
                    partial: r.get::<_, i64>(2)? != 0,
                    data: r.get(3)?,
                })
            })
            .ctx("reading chunks")?;
        rows.collect::<Result<Vec<_>, _>>().ctx("reading chunks")
    }

    /// Deletes chunks ending before `cutoff`; returns how many.
    pub fn delete_before(&self, cutoff: i64) -> Result<usize, PersistError> {
        let conn = self.writer.lock();
        conn.execute("DELETE FROM chunks WHERE max_t < ?1", [cutoff])
            .ctx("deleting old chunks")
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
            .prepare("SELECT id FROM series s WHERE NOT EXISTS (SELECT 1 FROM chunks c WHERE c.series_id = s.id)")
            .ctx("finding empty series")?;
        let rows = stmt
            .query_map([], |r| r.get::<_, i64>(0).map(|i| i as u64))
            .ctx("finding empty series")?;
        rows.collect::<Result<Vec<_>, _>>()
            .ctx("finding empty series")
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

    /// Returns freed pages to the file system and truncates SQLite's own WAL file.
    pub fn compact(&self) -> Result<(), PersistError> {
        let conn = self.writer.lock();
        conn.execute_batch("PRAGMA incremental_vacuum;")
            .ctx("vacuuming")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_roundtrip_and_reject_garbage() {
        let l = Labels::from_pairs([("__name__", "up"), ("job", "a\u{e9}b")]);
        assert_eq!(decode_labels(&encode_labels(&l)), Some(l));
        assert_eq!(decode_labels(&[0x05, b'a']), None);
        assert_eq!(decode_labels(&[0x01, 0xff]), None);
    }

    #[test]
    fn upsert_replaces_partial_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let p = Persist::open(&dir.path().join("db")).unwrap();
        let l = Labels::from_pairs([("__name__", "x")]);
        p.write(&FlushBatch {
            series: vec![(1, &l)],
            chunks: vec![(1, 0, 10, true, b"ab")],
        })
        .unwrap();
        p.write(&FlushBatch {
            series: vec![(1, &l)],
            chunks: vec![(1, 0, 20, false, b"abcd")],
        })
        .unwrap();
        let rows = p.chunks(1, 0, 100).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(
            (rows[0].max_t, rows[0].partial, rows[0].data.as_slice()),
            (20, false, &b"abcd"[..])
        );
        assert_eq!(p.load_series().unwrap().0, vec![(1, l)]);
        let sums = p.load_summaries().unwrap();
        assert_eq!(sums.len(), 1);
        assert_eq!(sums[0].last.max_t, 20);
    }
}
