//! Write-ahead log: numbered segment files under `<data>/wal/`, each a sequence of records
//! framed as `[len u32 LE][crc32c u32 LE][type u8][payload]` (`len` counts type + payload, the
//! CRC covers the same bytes).
//!
//! Record types: series (id and labels of newly created series), samples (series id,
//! timestamp, value; ids and timestamps delta-coded) and deletions (series id and an inclusive
//! time range, from the admin API), exemplars (series id, timestamp, value, labels) and exemplar
//! checkpoints (the exemplar buffer rewritten at a flush; older WALs simply have none of
//! these), native-histogram samples (`wal_histogram` holds their payload). Writers append to the newest segment;
//! `rotate` starts a new one so a flush can drop older segments once their data is persisted.
//! Replay reads segments in order and truncates at the first bad record (torn length, checksum
//! mismatch, impossible length, unknown type, undecodable payload), removing later segments and
//! reporting how many records and bytes were dropped. It never panics on file contents.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::varint::{put_uvarint, put_varint, Reader};
use crate::model::{HistogramSample, Labels};
use crate::storage::Exemplar;

const HEADER: usize = 8;
/// No record is larger than this; a bigger length field means corruption.
const MAX_RECORD: usize = 256 << 20;
const TYPE_SERIES: u8 = 1;
const TYPE_SAMPLES: u8 = 2;
const TYPE_DELETE: u8 = 3;
const TYPE_EXEMPLARS: u8 = 4;
const TYPE_EXEMPLAR_CHECKPOINT: u8 = 5;
const TYPE_HISTOGRAMS: u8 = 6;

/// A decoded WAL record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Series(Vec<(u64, Labels)>),
    Samples(Vec<(u64, i64, f64)>),
    /// Samples deleted through the admin API: (series id, mint, maxt), inclusive.
    Delete(Vec<(u64, i64, i64)>),
    /// Exemplars appended: (series id, exemplar).
    Exemplars(Vec<(u64, Exemplar)>),
    /// The exemplar buffer as a flush found it, written into the new segment so dropping
    /// older segments keeps the exemplars; replayed like `Exemplars`, not sent again.
    ExemplarCheckpoint(Vec<(u64, Exemplar)>),
    /// Native-histogram samples: (series id, sample), integer and float forms as appended.
    Histograms(Vec<(u64, HistogramSample)>),
}

/// The open WAL, appending to its newest segment.
pub struct Wal {
    dir: PathBuf,
    index: u64,
    file: File,
    size: u64,
    segment_size: u64,
}

/// What replay found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayStats {
    pub segments: usize,
    pub records: usize,
    pub dropped_records: usize,
    pub dropped_bytes: u64,
    /// Human-readable note about the corruption, if any.
    pub corruption: Option<String>,
}

fn segment_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index:08}"))
}

/// Segment indexes present in `dir`, ascending.
pub fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    match fs::read_dir(dir) {
        Ok(rd) => {
            for e in rd {
                let name = e?.file_name();
                if let Some(i) = name.to_str().and_then(|n| n.parse::<u64>().ok()) {
                    out.push(i);
                }
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    out.sort_unstable();
    Ok(out)
}

impl Wal {
    /// Opens a fresh segment after any existing ones (call after [`replay`]).
    pub fn open(dir: &Path, segment_size: u64) -> io::Result<Wal> {
        fs::create_dir_all(dir)?;
        let next = segments(dir)?.last().map_or(1, |i| i + 1);
        let file = create_segment(dir, next)?;
        Ok(Wal {
            dir: dir.to_path_buf(),
            index: next,
            file,
            size: 0,
            segment_size,
        })
    }

    /// The segment being written.
    pub fn current_segment(&self) -> u64 {
        self.index
    }

    /// Writes framed records (from [`Encoder`]) to the OS, rotating first if the segment is full.
    pub fn write(&mut self, framed: &[u8]) -> io::Result<()> {
        if framed.is_empty() {
            return Ok(());
        }
        if self.size > 0 && self.size + framed.len() as u64 > self.segment_size {
            self.rotate()?;
        }
        if let Err(e) = self.file.write_all(framed) {
            // A write cut short (a full disk) must not leave a torn record in the middle of
            // the segment, or replay would stop there and lose every later record: cut the
            // segment back to its last whole record (appends then continue from there).
            if let Err(t) = self.file.set_len(self.size) {
                tracing::error!(
                    segment = self.index,
                    "cannot cut a partly written WAL record back ({t}); starting a new segment"
                );
                // A fresh segment keeps later records readable; replay stops at the torn
                // tail of this one only.
                self.file = create_segment(&self.dir, self.index + 1)?;
                self.index += 1;
                self.size = 0;
            }
            return Err(e);
        }
        self.size += framed.len() as u64;
        Ok(())
    }

    /// Flushes the current segment to stable storage.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// A handle for syncing without holding the writer (fsync outside the ingest lock).
    pub fn sync_handle(&self) -> io::Result<File> {
        self.file.try_clone()
    }

    /// Closes the current segment (synced) and starts the next; returns the closed index.
    pub fn rotate(&mut self) -> io::Result<u64> {
        self.file.sync_data()?;
        let closed = self.index;
        // Nothing changes unless the new segment exists (a full disk keeps the old one).
        self.file = create_segment(&self.dir, self.index + 1)?;
        self.index += 1;
        self.size = 0;
        Ok(closed)
    }

    /// Deletes segments with index `<= upto`.
    pub fn remove_up_to(&self, upto: u64) -> io::Result<usize> {
        let mut n = 0;
        for i in segments(&self.dir)? {
            if i <= upto && i != self.index {
                fs::remove_file(segment_path(&self.dir, i))?;
                n += 1;
            }
        }
        Ok(n)
    }
}

fn create_segment(dir: &Path, index: u64) -> io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(segment_path(dir, index))?;
    // The new file's directory entry must be durable too, or a crash could lose the segment
    // with records already acknowledged as synced.
    sync_dir(dir)?;
    Ok(f)
}

/// Flushes the directory `dir` (its entries) to stable storage; the error names the directory.
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("fsync of directory {}: {e}", dir.display()),
        )
    })
}

/// Builds framed records into one buffer, so a batch reaches the OS in one write. Payloads
/// are encoded in place behind a header that is filled in afterwards (no second copy).
#[derive(Default)]
pub struct Encoder {
    pub buf: Vec<u8>,
}

/// Buffers above this size are not kept between batches.
const KEEP_BUF: usize = 1 << 20;

impl Encoder {
    /// Empties the buffer, releasing it if a large batch made it big.
    pub fn clear(&mut self) {
        if self.buf.capacity() > KEEP_BUF {
            self.buf = Vec::new();
        } else {
            self.buf.clear();
        }
    }

    /// Starts a record; returns where its header is.
    fn begin(&mut self, kind: u8) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; HEADER]);
        self.buf.push(kind);
        at
    }

    /// Fills in the header of the record started at `at`, or drops it if it has no payload.
    fn finish(&mut self, at: usize) {
        let body = &self.buf[at + HEADER..];
        if body.len() == 1 {
            self.buf.truncate(at);
            return;
        }
        let len = body.len() as u32;
        let crc = crc32c::crc32c(body);
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        self.buf[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
    }

    pub fn series<'a>(&mut self, series: impl IntoIterator<Item = (u64, &'a Labels)>) {
        let at = self.begin(TYPE_SERIES);
        for (id, labels) in series {
            put_uvarint(&mut self.buf, id);
            put_uvarint(&mut self.buf, labels.len() as u64);
            for l in labels.iter() {
                put_uvarint(&mut self.buf, l.name.len() as u64);
                self.buf.extend_from_slice(l.name.as_bytes());
                put_uvarint(&mut self.buf, l.value.len() as u64);
                self.buf.extend_from_slice(l.value.as_bytes());
            }
        }
        self.finish(at);
    }

    /// Samples as (series id, t, v); ids and timestamps are stored as deltas from the previous.
    pub fn samples(&mut self, samples: &[(u64, i64, f64)]) {
        if samples.is_empty() {
            return;
        }
        self.buf.reserve(samples.len() * 12 + HEADER + 1);
        let at = self.begin(TYPE_SAMPLES);
        let (mut pid, mut pt) = (0i64, 0i64);
        for &(id, t, v) in samples {
            put_varint(&mut self.buf, (id as i64).wrapping_sub(pid));
            put_varint(&mut self.buf, t.wrapping_sub(pt));
            self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
            pid = id as i64;
            pt = t;
        }
        self.finish(at);
    }
}

impl Encoder {
    /// A deletion of the samples in [mint, maxt] of each series.
    pub fn deletes(&mut self, ranges: &[(u64, i64, i64)]) {
        let at = self.begin(TYPE_DELETE);
        for &(id, mint, maxt) in ranges {
            put_uvarint(&mut self.buf, id);
            put_varint(&mut self.buf, mint);
            put_varint(&mut self.buf, maxt);
        }
        self.finish(at);
    }
}

impl Encoder {
    /// Exemplars as (series id, exemplar); `checkpoint` marks the buffer's copy at a flush.
    pub fn exemplars<'a>(
        &mut self,
        list: impl IntoIterator<Item = (u64, &'a Exemplar)>,
        checkpoint: bool,
    ) {
        let at = self.begin(if checkpoint {
            TYPE_EXEMPLAR_CHECKPOINT
        } else {
            TYPE_EXEMPLARS
        });
        for (id, e) in list {
            put_uvarint(&mut self.buf, id);
            put_varint(&mut self.buf, e.t);
            self.buf.extend_from_slice(&e.value.to_bits().to_le_bytes());
            put_uvarint(&mut self.buf, e.labels.len() as u64);
            for l in e.labels.iter() {
                put_uvarint(&mut self.buf, l.name.len() as u64);
                self.buf.extend_from_slice(l.name.as_bytes());
                put_uvarint(&mut self.buf, l.value.len() as u64);
                self.buf.extend_from_slice(l.value.as_bytes());
            }
        }
        self.finish(at);
    }
}

impl Encoder {
    /// Native-histogram samples as (series id, sample); see `wal_histogram` for the layout.
    pub fn histograms<'a>(
        &mut self,
        samples: impl IntoIterator<Item = (u64, &'a HistogramSample)>,
    ) {
        let at = self.begin(TYPE_HISTOGRAMS);
        super::wal_histogram::encode(&mut self.buf, samples);
        self.finish(at);
    }
}

fn decode_exemplars(c: &mut Reader<'_>) -> Option<Vec<(u64, Exemplar)>> {
    let mut out = Vec::new();
    while !c.done() {
        let id = c.uvarint()?;
        let t = c.varint()?;
        let value = f64::from_bits(u64::from_le_bytes(c.bytes(8)?.try_into().ok()?));
        let n = c.uvarint()?;
        let mut pairs = Vec::with_capacity(n.min(64) as usize);
        for _ in 0..n {
            pairs.push((c.str()?, c.str()?));
        }
        let labels = Labels::from_pairs(pairs);
        out.push((id, Exemplar { labels, value, t }));
    }
    Some(out)
}

fn decode(kind: u8, payload: &[u8]) -> Option<Record> {
    let mut c = Reader::new(payload, 0);
    match kind {
        TYPE_SERIES => {
            let mut out = Vec::new();
            while !c.done() {
                let id = c.uvarint()?;
                let n = c.uvarint()?;
                let mut pairs = Vec::with_capacity(n.min(64) as usize);
                for _ in 0..n {
                    pairs.push((c.str()?, c.str()?));
                }
                out.push((id, Labels::from_pairs(pairs)));
            }
            Some(Record::Series(out))
        }
        TYPE_SAMPLES => {
            let mut out = Vec::with_capacity(payload.len() / 10);
            let (mut id, mut t) = (0i64, 0i64);
            while !c.done() {
                id = id.wrapping_add(c.varint()?);
                t = t.wrapping_add(c.varint()?);
                let v = u64::from_le_bytes(c.bytes(8)?.try_into().ok()?);
                out.push((id as u64, t, f64::from_bits(v)));
            }
            Some(Record::Samples(out))
        }
        TYPE_DELETE => {
            let mut out = Vec::new();
            while !c.done() {
                out.push((c.uvarint()?, c.varint()?, c.varint()?));
            }
            Some(Record::Delete(out))
        }
        TYPE_EXEMPLARS => decode_exemplars(&mut c).map(Record::Exemplars),
        TYPE_EXEMPLAR_CHECKPOINT => decode_exemplars(&mut c).map(Record::ExemplarCheckpoint),
        TYPE_HISTOGRAMS => super::wal_histogram::decode(payload).map(Record::Histograms),
        _ => None,
    }
}

/// Why a framed record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("torn record header ({0} bytes)")]
    TornHeader(usize),
    #[error("impossible record length {0}")]
    ImpossibleLength(usize),
    #[error("torn record: length {len} but only {left} bytes left")]
    TornBody { len: usize, left: usize },
    #[error("checksum mismatch")]
    Checksum,
    #[error("undecodable record of type {0}")]
    Undecodable(u8),
}

/// Parses one framed record at the start of `b`: the record and the bytes it took.
fn parse_one(b: &[u8]) -> Result<(Record, usize), RecordError> {
    if b.len() < HEADER {
        return Err(RecordError::TornHeader(b.len()));
    }
    let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let crc = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
    if len == 0 || len > MAX_RECORD {
        return Err(RecordError::ImpossibleLength(len));
    }
    let Some(body) = b.get(HEADER..HEADER + len) else {
        return Err(RecordError::TornBody {
            len,
            left: b.len() - HEADER,
        });
    };
    if crc32c::crc32c(body) != crc {
        return Err(RecordError::Checksum);
    }
    let rec = decode(body[0], &body[1..]).ok_or(RecordError::Undecodable(body[0]))?;
    Ok((rec, HEADER + len))
}

/// Parses framed records from the start of `data` until the end or the first bad one;
/// returns them and the bytes they took (for fuzzing and tools; never panics).
pub fn parse_records(data: &[u8]) -> (Vec<Record>, usize) {
    let mut out = Vec::new();
    let (pos, _) = parse_while(data, |rec| out.push(rec));
    (out, pos)
}

/// Parses framed records from the start of `data`, calling `each` per record, until the end or
/// the first bad one; returns the bytes the good ones took and the error that stopped it.
fn parse_while(data: &[u8], mut each: impl FnMut(Record)) -> (usize, Option<RecordError>) {
    let mut pos = 0;
    while pos < data.len() {
        match parse_one(&data[pos..]) {
            Ok((rec, size)) => {
                each(rec);
                pos += size;
            }
            Err(e) => return (pos, Some(e)),
        }
    }
    (pos, None)
}

/// Reads the complete records of segment `seg` from byte `offset` (for senders tailing the
/// WAL), about `max` bytes of them at most (a record larger than that is still read whole).
/// Returns them, the offset after the last complete one, and whether an incomplete or bad
/// record ended the read (it may still be being written). A missing segment gives nothing.
pub fn read_from(
    dir: &Path,
    seg: u64,
    offset: u64,
    max: usize,
) -> io::Result<(Vec<Record>, u64, bool)> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = match File::open(segment_path(dir, seg)) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), offset, false)),
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    let start = offset.min(len);
    f.seek(SeekFrom::Start(start))?;
    let mut cap = max.max(HEADER) as u64;
    loop {
        let mut data = Vec::new();
        (&mut f).take(cap).read_to_end(&mut data)?;
        let capped = (data.len() as u64) == cap && start + cap < len;
        let mut out = Vec::new();
        let (pos, bad) = parse_while(&data, |rec| out.push(rec));
        let stuck = bad.is_some() && !capped;
        if out.is_empty() && capped {
            // One record bigger than `max`: read further.
            cap = cap.saturating_mul(4);
            f.seek(SeekFrom::Start(start))?;
            continue;
        }
        return Ok((out, start + pos as u64, stuck));
    }
}

/// Bytes in segment `seg` (0 if it does not exist).
pub fn segment_len(dir: &Path, seg: u64) -> u64 {
    fs::metadata(segment_path(dir, seg)).map_or(0, |m| m.len())
}

/// Counts records that still parse after a corruption, for the report.
fn count_after(b: &[u8]) -> usize {
    let mut pos = 0;
    let mut n = 1; // the bad record itself
                   // Skip the bad record if its length looks sane, then count what still parses.
    if b.len() >= HEADER {
        let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if len > 0 && HEADER + len <= b.len() {
            pos = HEADER + len;
        } else {
            return n;
        }
    }
    parse_while(&b[pos..], |_| n += 1);
    n
}

/// Replays every segment in `dir` in order, calling `visit` per record. At the first bad record
/// the segment is truncated there and later segments are removed.
pub fn replay(dir: &Path, mut visit: impl FnMut(Record)) -> io::Result<ReplayStats> {
    let mut stats = ReplayStats::default();
    let segs = segments(dir)?;
    let mut corrupt = false;
    for &seg in &segs {
        let path = segment_path(dir, seg);
        if corrupt {
            // Everything after a corruption is dropped.
            let data = fs::read(&path)?;
            stats.dropped_bytes += data.len() as u64;
            stats.dropped_records += count_after_clean(&data);
            fs::remove_file(&path)?;
            continue;
        }
        let data = fs::read(&path)?;
        stats.segments += 1;
        let (pos, bad) = parse_while(&data, |rec| {
            visit(rec);
            stats.records += 1;
        });
        if let Some(reason) = bad {
            stats.dropped_records += count_after(&data[pos..]);
            stats.dropped_bytes += (data.len() - pos) as u64;
            stats.corruption = Some(format!(
                "segment {:?} offset {pos}: {reason}",
                path.display().to_string()
            ));
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(pos as u64)?;
            f.sync_all()?;
            corrupt = true;
        }
    }
    Ok(stats)
}

/// Records in a segment that follows a corrupt one (all are dropped; count the parseable ones).
fn count_after_clean(b: &[u8]) -> usize {
    let mut n = 0;
    let (_, bad) = parse_while(b, |_| n += 1);
    n + usize::from(bad.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(n: &str) -> Labels {
        Labels::from_pairs([("__name__", n), ("job", "j")])
    }

    fn write_records(dir: &Path, n: usize) -> Vec<Record> {
        let mut wal = Wal::open(dir, 1 << 20).unwrap();
        let mut want = vec![];
        for i in 0..n as u64 {
            let mut e = Encoder::default();
            let l = labels(&format!("m{i}"));
            e.series([(i + 1, &l)]);
            let s = vec![
                (i + 1, 1000 * i as i64, i as f64),
                (i + 1, 1000 * i as i64 + 15, f64::NAN),
            ];
            e.samples(&s);
            wal.write(&e.buf).unwrap();
            want.push(Record::Series(vec![(i + 1, l)]));
            want.push(Record::Samples(s));
        }
        wal.sync().unwrap();
        want
    }

    fn read_all(dir: &Path) -> (Vec<Record>, ReplayStats) {
        let mut got = vec![];
        let stats = replay(dir, |r| got.push(r)).unwrap();
        (got, stats)
    }

    fn bits(recs: &[Record]) -> String {
        // NaN != NaN, so compare a debug rendering with value bits.
        recs.iter()
            .map(|r| match r {
                Record::Samples(s) => format!(
                    "{:?}",
                    s.iter()
                        .map(|(i, t, v)| (i, t, v.to_bits()))
                        .collect::<Vec<_>>()
                ),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn exemplar_records_roundtrip_after_older_types() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 1 << 20).unwrap();
        let ex = |t: i64, v: f64| Exemplar {
            labels: Labels::from_pairs([("trace_id", "abc"), ("span_id", "é1")]),
            value: v,
            t,
        };
        let list = vec![(3u64, ex(-5, 1.5)), (9, ex(1 << 41, -0.25))];
        let mut e = Encoder::default();
        e.samples(&[(3, 10, 1.0)]);
        e.exemplars(list.iter().map(|(i, x)| (*i, x)), false);
        e.exemplars(list[1..].iter().map(|(i, x)| (*i, x)), true);
        // An empty list writes no record.
        e.exemplars(std::iter::empty(), false);
        wal.write(&e.buf).unwrap();
        let (got, stats) = read_all(dir.path());
        assert_eq!(stats.dropped_records, 0);
        assert_eq!(
            got,
            vec![
                Record::Samples(vec![(3, 10, 1.0)]),
                Record::Exemplars(list.clone()),
                Record::ExemplarCheckpoint(list[1..].to_vec()),
            ]
        );
    }

    #[test]
    fn roundtrip_across_segments() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 100).unwrap(); // tiny segments force rotation
        let mut want = vec![];
        for i in 0..20u64 {
            let mut e = Encoder::default();
            let s = vec![
                (i, -5 + i as i64, -(i as f64)),
                (i + 7, 1 << 40, f64::INFINITY),
            ];
            e.samples(&s);
            wal.write(&e.buf).unwrap();
            want.push(Record::Samples(s));
        }
        assert!(segments(dir.path()).unwrap().len() > 3);
        let (got, stats) = read_all(dir.path());
        assert_eq!(bits(&got), bits(&want));
        assert_eq!(stats.dropped_records, 0);
        assert!(stats.corruption.is_none());
    }

    fn corrupt_and_check(mutate: impl Fn(&mut Vec<u8>, &[usize]), keep: usize, what: &str) {
        let dir = tempfile::tempdir().unwrap();
        let want = write_records(dir.path(), 10);
        let seg = segment_path(dir.path(), 1);
        let mut data = fs::read(&seg).unwrap();
        // Record boundaries.
        let mut starts = vec![];
        let mut pos = 0;
        while pos < data.len() {
            starts.push(pos);
            pos += parse_one(&data[pos..]).unwrap().1;
        }
        mutate(&mut data, &starts);
        fs::write(&seg, &data).unwrap();
        let (got, stats) = read_all(dir.path());
        assert_eq!(bits(&got), bits(&want[..keep]), "{what}");
        assert!(stats.corruption.is_some(), "{what}");
        assert!(stats.dropped_records >= 1, "{what}");
        // Truncated: a second replay is clean and sees the same records.
        let (again, stats2) = read_all(dir.path());
        assert_eq!(bits(&again), bits(&want[..keep]), "{what}");
        assert!(stats2.corruption.is_none(), "{what}: {stats2:?}");
    }

    #[test]
    fn record_errors_say_what_is_wrong() {
        let mut e = Encoder::default();
        e.samples(&[(1, 1000, 1.0)]);
        let good = e.buf.clone();
        assert_eq!(
            parse_one(&good[..5]).unwrap_err(),
            RecordError::TornHeader(5)
        );
        let left = good.len() - HEADER - 1;
        let err = parse_one(&good[..good.len() - 1]).unwrap_err();
        assert_eq!(
            err,
            RecordError::TornBody {
                len: left + 1,
                left
            }
        );
        assert_eq!(
            err.to_string(),
            format!(
                "torn record: length {} but only {left} bytes left",
                left + 1
            )
        );
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(parse_one(&bad).unwrap_err(), RecordError::Checksum);
        let mut zero = good.clone();
        zero[..4].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(
            parse_one(&zero).unwrap_err().to_string(),
            "impossible record length 0"
        );
    }

    #[test]
    fn torn_last_record() {
        corrupt_and_check(
            |d, _| {
                let n = d.len();
                d.truncate(n - 3)
            },
            19,
            "torn tail",
        );
        corrupt_and_check(|d, s| d.truncate(s[19] + 5), 19, "torn header");
    }

    #[test]
    fn bad_checksum_drops_it_and_everything_after() {
        corrupt_and_check(|d, s| d[s[12] + 10] ^= 0x40, 12, "bit flip");
    }

    #[test]
    fn bad_length() {
        corrupt_and_check(
            |d, s| d[s[7]..s[7] + 4].copy_from_slice(&u32::MAX.to_le_bytes()),
            7,
            "huge length",
        );
        corrupt_and_check(
            |d, s| d[s[7]..s[7] + 4].copy_from_slice(&0u32.to_le_bytes()),
            7,
            "zero length",
        );
    }

    #[test]
    fn garbage_appended() {
        corrupt_and_check(
            |d, _| d.extend_from_slice(b"\x13\x37garbage bytes that are not a record"),
            20,
            "garbage tail",
        );
    }

    #[test]
    fn counts_dropped_records() {
        let dir = tempfile::tempdir().unwrap();
        write_records(dir.path(), 10);
        let seg = segment_path(dir.path(), 1);
        let mut data = fs::read(&seg).unwrap();
        data[HEADER + 2] ^= 1; // first record's payload
        fs::write(&seg, &data).unwrap();
        let (got, stats) = read_all(dir.path());
        assert!(got.is_empty());
        assert_eq!(stats.dropped_records, 20, "{stats:?}");
    }

    #[test]
    fn later_segments_after_corruption_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::open(dir.path(), 1 << 20).unwrap();
        let mut e = Encoder::default();
        e.samples(&[(1, 1, 1.0)]);
        wal.write(&e.buf).unwrap();
        wal.rotate().unwrap();
        wal.write(&e.buf).unwrap();
        drop(wal);
        let first = segment_path(dir.path(), 1);
        let mut d = fs::read(&first).unwrap();
        d.push(0xff);
        fs::write(&first, d).unwrap();
        let (got, stats) = read_all(dir.path());
        assert_eq!(got.len(), 1);
        assert_eq!(stats.dropped_records, 2, "{stats:?}");
        assert_eq!(segments(dir.path()).unwrap(), [1]);
    }
}
