//! The head snapshot: at a clean shutdown the store writes what opening would read from the
//! database — the series rows (labels as indexes into a table of distinct strings) and each
//! series' chunk summary — into one file, `head.snapshot`, and records a token for it in the
//! database. The next open reads that file instead of the database's rows when the token
//! matches (one sequential read and a checksum instead of SQL row by row), after forgetting
//! the token and removing the file, before anything is written: a snapshot is used at most
//! once and never after the database changed. The database file's length and modification
//! time are recorded too, and its SQLite WAL must be empty, so that a change made by another
//! program (one that does not know the token) is seen as well — unless it lands within the
//! file system's timestamp tick of the shutdown and leaves the length alone. A missing,
//! damaged or stale snapshot is passed over and the database is read as before; promterm's
//! WAL is replayed on top either way.
//!
//! File: `PTHEAD01`, the token (u64 LE), the database file's length (u64 LE) and modification
//! time (ns since the epoch, i128 LE), the body length (u64 LE), the body, XXH64 of the body
//! (u64 LE). Body: the length of the series part (u64 LE), the series part (symbols, max id,
//! undecodable rows, then each series' id and (name, value) symbol indexes), the summaries
//! part (each series' id, oldest time, newest sealed chunk and open chunk), all in varints.
//!
//! Uses `persist` (rows, summaries, token), `varint`, and the series rows type of `open`.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use tracing::{debug, warn};

use super::open::SeriesRows;
use super::persist::{ChunkRow, Persist, SeriesSummary};
use super::varint::{put_uvarint, put_varint, Reader};
use super::DB_FILE;
use crate::storage::StorageError;

/// The snapshot's file name in the data directory.
pub(super) const SNAPSHOT_FILE: &str = "head.snapshot";
const MAGIC: &[u8; 8] = b"PTHEAD01";

/// The database file as last written: its length and modification time (ns). `None` when it
/// cannot be read or SQLite's WAL beside it holds anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DbStamp {
    len: u64,
    mtime_ns: i128,
}

/// The stamp of the database in `dir` now.
pub(super) fn stamp(dir: &Path) -> Option<DbStamp> {
    let wal = dir.join(format!("{DB_FILE}-wal"));
    match std::fs::metadata(&wal) {
        Ok(m) if m.len() > 0 => return None,
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(_) => return None,
    }
    let m = std::fs::metadata(dir.join(DB_FILE)).ok()?;
    let t = m.modified().ok()?;
    let mtime_ns = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    Some(DbStamp {
        len: m.len(),
        mtime_ns,
    })
}

/// Writes the snapshot of `rows` and `sums` (as read from `p` just now) into `dir` and records
/// its token in `p`. Written aside and renamed, so a crash leaves the old file or none.
pub(super) fn write(
    dir: &Path,
    p: &Persist,
    rows: &SeriesRows,
    sums: &[SeriesSummary],
) -> Result<(), StorageError> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let token = (xxhash_rust::xxh64::xxh64(&nanos.to_le_bytes(), 7) >> 1) as i64;
    // The token goes into the database first: the stamp is of the file that holds it.
    p.set_snapshot_token(Some(token))?;
    let Some(st) = stamp(dir) else {
        return Err(StorageError::Database(
            "the database file cannot be stamped".to_string(),
        ));
    };
    let body = encode(rows, sums);
    let mut file = Vec::with_capacity(body.len() + 64);
    file.extend_from_slice(MAGIC);
    file.extend_from_slice(&(token as u64).to_le_bytes());
    file.extend_from_slice(&st.len.to_le_bytes());
    file.extend_from_slice(&st.mtime_ns.to_le_bytes());
    file.extend_from_slice(&(body.len() as u64).to_le_bytes());
    file.extend_from_slice(&body);
    file.extend_from_slice(&xxhash_rust::xxh64::xxh64(&body, 0).to_le_bytes());
    let tmp = dir.join(format!("{SNAPSHOT_FILE}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&file)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join(SNAPSHOT_FILE))?;
    Ok(())
}

/// Takes the snapshot in `dir` if it is current for `p`, whose file had `before` as its stamp
/// before it was opened: removes the file and forgets the token first (whatever the file
/// holds), then returns the body when the token and stamp match and the checksum holds.
/// `None`: read the database.
pub(super) fn take(dir: &Path, p: &Persist, before: Option<DbStamp>) -> Option<Vec<u8>> {
    let path = dir.join(SNAPSHOT_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warn!("cannot read {}: {e}; reading the database", path.display());
            return None;
        }
    };
    if let Err(e) = std::fs::remove_file(&path) {
        warn!("cannot remove {}: {e}", path.display());
    }
    let token = match p.snapshot_token() {
        Ok(t) => t,
        Err(e) => {
            warn!("cannot read the head snapshot's token: {e}; reading the database");
            return None;
        }
    };
    // Forgotten before use: even a snapshot file left behind can never match again.
    if let Err(e) = p.set_snapshot_token(None) {
        warn!("cannot forget the head snapshot's token: {e}; reading the database");
        return None;
    }
    match body(&bytes, token, before) {
        Ok(b) => Some(b.to_vec()),
        Err(why) => {
            warn!("head snapshot not used ({why}); reading the database");
            None
        }
    }
}

/// The body of a snapshot file whose token is `token`, written for a database file stamped
/// `st`, whose checksum holds.
fn body(b: &[u8], token: Option<i64>, st: Option<DbStamp>) -> Result<&[u8], &'static str> {
    let u64_at = |at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    if b.get(..8) != Some(MAGIC.as_slice()) {
        return Err("not a head snapshot");
    }
    let mtime = b
        .get(24..40)
        .and_then(|x| x.try_into().ok())
        .map(i128::from_le_bytes);
    let (Some(t), Some(len), Some(mtime_ns), Some(body_len)) =
        (u64_at(8), u64_at(16), mtime, u64_at(40))
    else {
        return Err("truncated");
    };
    if token != Some(t as i64) || st != Some(DbStamp { len, mtime_ns }) {
        return Err("the database changed since it was written");
    }
    let body_len = usize::try_from(body_len).map_err(|_| "truncated")?;
    let end = 48usize.checked_add(body_len).ok_or("truncated")?;
    let body = b.get(48..end).ok_or("truncated")?;
    if u64_at(end).ok_or("truncated")? != xxhash_rust::xxh64::xxh64(body, 0) {
        return Err("checksum mismatch");
    }
    Ok(body)
}

fn encode(rows: &SeriesRows, sums: &[SeriesSummary]) -> Vec<u8> {
    let mut series = Vec::with_capacity(rows.series.len() * 24);
    put_uvarint(&mut series, rows.symbols.len() as u64);
    for s in &rows.symbols {
        put_uvarint(&mut series, s.len() as u64);
        series.extend_from_slice(s.as_bytes());
    }
    put_uvarint(&mut series, rows.max_id);
    put_uvarint(&mut series, rows.bad_series_rows as u64);
    put_uvarint(&mut series, rows.series.len() as u64);
    for (id, pairs) in &rows.series {
        put_uvarint(&mut series, *id);
        put_uvarint(&mut series, pairs.len() as u64);
        for &(n, v) in pairs {
            put_uvarint(&mut series, n as u64);
            put_uvarint(&mut series, v as u64);
        }
    }
    let mut out = Vec::with_capacity(series.len() + 8 + sums.len() * 160);
    out.extend_from_slice(&(series.len() as u64).to_le_bytes());
    out.extend_from_slice(&series);
    put_uvarint(&mut out, sums.len() as u64);
    for s in sums {
        put_uvarint(&mut out, s.series_id);
        put_varint(&mut out, s.min_t);
        for c in [&s.last_sealed, &s.open] {
            match c {
                None => out.push(0),
                Some(c) => {
                    out.push(1);
                    put_uvarint(&mut out, c.series_id);
                    put_varint(&mut out, c.min_t);
                    put_varint(&mut out, c.max_t);
                    put_uvarint(&mut out, c.data.len() as u64);
                    out.extend_from_slice(&c.data);
                }
            }
        }
    }
    out
}

/// The (series, summaries) parts of a body.
pub(super) fn parts(body: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = u64::from_le_bytes(body.get(..8)?.try_into().ok()?);
    let len = usize::try_from(len).ok()?;
    Some((body.get(8..8 + len)?, body.get(8 + len..)?))
}

/// The series rows of a series part; `None` if it does not decode.
pub(super) fn decode_series(b: &[u8]) -> Option<SeriesRows> {
    let mut r = Reader::new(b, 0);
    let n = usize::try_from(r.uvarint()?).ok()?;
    let mut symbols = Vec::with_capacity(n.min(b.len()));
    for _ in 0..n {
        symbols.push(Arc::<str>::from(r.str()?));
    }
    let max_id = r.uvarint()?;
    let bad_series_rows = usize::try_from(r.uvarint()?).ok()?;
    let n = usize::try_from(r.uvarint()?).ok()?;
    let mut series = Vec::with_capacity(n.min(b.len()));
    for _ in 0..n {
        let id = r.uvarint()?;
        let k = usize::try_from(r.uvarint()?).ok()?;
        let mut pairs = Vec::with_capacity(k.min(b.len()));
        for _ in 0..k {
            let (n, v) = (
                u32::try_from(r.uvarint()?).ok()?,
                u32::try_from(r.uvarint()?).ok()?,
            );
            if n as usize >= symbols.len() || v as usize >= symbols.len() {
                return None;
            }
            pairs.push((n, v));
        }
        series.push((id, pairs));
    }
    r.done().then_some(SeriesRows {
        symbols,
        series,
        max_id,
        bad_series_rows,
    })
}

/// The chunk summaries of a summaries part; `None` if it does not decode.
pub(super) fn decode_summaries(b: &[u8]) -> Option<Vec<SeriesSummary>> {
    let mut r = Reader::new(b, 0);
    let n = usize::try_from(r.uvarint()?).ok()?;
    let mut out = Vec::with_capacity(n.min(b.len()));
    let chunk = |r: &mut Reader<'_>| -> Option<Option<ChunkRow>> {
        match r.byte()? {
            0 => Some(None),
            1 => {
                let series_id = r.uvarint()?;
                let (min_t, max_t) = (r.varint()?, r.varint()?);
                let len = usize::try_from(r.uvarint()?).ok()?;
                let data = r.bytes(len)?.to_vec();
                Some(Some(ChunkRow {
                    series_id,
                    min_t,
                    max_t,
                    data,
                }))
            }
            _ => None,
        }
    };
    for _ in 0..n {
        let series_id = r.uvarint()?;
        let min_t = r.varint()?;
        let last_sealed = chunk(&mut r)?;
        let open = chunk(&mut r)?;
        out.push(SeriesSummary {
            series_id,
            min_t,
            last_sealed,
            open,
        });
    }
    debug!(
        series = out.len(),
        "chunk summaries read from the head snapshot"
    );
    r.done().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (SeriesRows, Vec<SeriesSummary>) {
        let rows = SeriesRows {
            symbols: ["__name__", "up", "job", "a"]
                .map(Arc::<str>::from)
                .to_vec(),
            series: vec![(3, vec![(0, 1), (2, 3)]), (9, vec![(0, 1)])],
            max_id: 11,
            bad_series_rows: 1,
        };
        let row = |id, min_t, max_t, data: &[u8]| ChunkRow {
            series_id: id,
            min_t,
            max_t,
            data: data.to_vec(),
        };
        let sums = vec![
            SeriesSummary {
                series_id: 3,
                min_t: -5,
                last_sealed: Some(row(3, -5, 100, b"sealed")),
                open: Some(row(3, 101, 200, b"open")),
            },
            SeriesSummary {
                series_id: 9,
                min_t: 7,
                last_sealed: None,
                open: None,
            },
        ];
        (rows, sums)
    }

    #[test]
    fn body_round_trips() {
        let (rows, sums) = sample();
        let body = encode(&rows, &sums);
        let (a, b) = parts(&body).unwrap();
        let back = decode_series(a).unwrap();
        assert_eq!(back.symbols, rows.symbols);
        assert_eq!(back.series, rows.series);
        assert_eq!((back.max_id, back.bad_series_rows), (11, 1));
        let s = decode_summaries(b).unwrap();
        assert_eq!(format!("{s:?}"), format!("{sums:?}"));
        // Every truncation is refused, never a panic.
        for cut in 0..a.len() {
            assert!(
                decode_series(&a[..cut]).is_none(),
                "series part cut at {cut}"
            );
        }
        for cut in 0..b.len() {
            assert!(
                decode_summaries(&b[..cut]).is_none(),
                "summaries cut at {cut}"
            );
        }
    }

    #[test]
    fn file_checks_token_and_checksum() {
        let (rows, sums) = sample();
        let body = encode(&rows, &sums);
        let st = DbStamp {
            len: 8192,
            mtime_ns: -3,
        };
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&42u64.to_le_bytes());
        f.extend_from_slice(&st.len.to_le_bytes());
        f.extend_from_slice(&st.mtime_ns.to_le_bytes());
        f.extend_from_slice(&(body.len() as u64).to_le_bytes());
        f.extend_from_slice(&body);
        f.extend_from_slice(&xxhash_rust::xxh64::xxh64(&body, 0).to_le_bytes());
        let ok = Some(st);
        assert_eq!(super::body(&f, Some(42), ok), Ok(&body[..]));
        let changed = "the database changed since it was written";
        assert_eq!(super::body(&f, Some(41), ok), Err(changed));
        assert_eq!(super::body(&f, None, ok), Err(changed));
        let later = DbStamp { mtime_ns: 5, ..st };
        assert_eq!(super::body(&f, Some(42), Some(later)), Err(changed));
        assert_eq!(super::body(&f, Some(42), None), Err(changed));
        let mut bad = f.clone();
        bad[60] ^= 1;
        assert_eq!(super::body(&bad, Some(42), ok), Err("checksum mismatch"));
        assert_eq!(
            super::body(&f[..f.len() - 1], Some(42), ok),
            Err("truncated")
        );
        assert_eq!(super::body(&f[..30], Some(42), ok), Err("truncated"));
        assert_eq!(
            super::body(b"PTHEAD0", Some(42), ok),
            Err("not a head snapshot")
        );
    }
}
