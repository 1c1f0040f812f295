//! Retention: deletes chunks older than the retention time (measured from the newest sample),
//! then the oldest chunks while the database and WAL exceed the size limit; series left with
//! no data anywhere go away. Histogram chunks go by the same rules as float chunks.
//!
//! Uses the store core (`super`), `storage`.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use tracing::{info, warn};

use super::Db;
use crate::storage::StorageError;

impl Db {
    /// Applies time and size retention; returns the number of series removed.
    pub fn apply_retention(&self) -> Result<usize, StorageError> {
        let inner = &*self.inner;
        let _guard = inner.flush_lock.lock();
        let mut deleted_any = false;
        if inner.opts.retention_ms > 0 {
            if let Some(max_t) = self.max_time() {
                let cutoff = max_t.saturating_sub(inner.opts.retention_ms);
                let n = inner.persist.delete_before(cutoff)?;
                deleted_any |= n > 0;
                for s in inner.head.all() {
                    let mut d = s.data.lock();
                    let before = d.sealed.len();
                    d.sealed.retain(|c| c.max_t >= cutoff);
                    deleted_any |= d.sealed.len() != before;
                    if (d.open.is_some() || d.stored_open.is_some()) && d.last_t < cutoff {
                        d.open = None;
                        d.stored_open = None;
                        d.open_dirty = false;
                        deleted_any = true;
                    }
                    if let Some(h) = &mut d.hist {
                        let before = h.sealed.len();
                        h.sealed.retain(|c| c.max_t >= cutoff);
                        deleted_any |= h.sealed.len() != before;
                        let open_old = h.open.as_ref().is_some_and(|c| c.last_t() < cutoff);
                        if open_old {
                            h.open = None;
                            h.open_dirty = false;
                            deleted_any = true;
                        }
                    }
                    if d.min_t < cutoff {
                        d.min_t = cutoff;
                        d.persisted_min_t = d.persisted_min_t.max(cutoff);
                    }
                }
                if n > 0 {
                    info!(
                        chunks = n,
                        cutoff, "retention: deleted chunks older than the retention time"
                    );
                }
            }
        }
        if let Some(limit) = inner.opts.retention_size {
            let mut rounds = 0;
            while inner.persist.size_bytes()? + self.wal_bytes() > limit && rounds < 100 {
                let count = inner.persist.chunk_count()?;
                if count == 0 {
                    break;
                }
                if let Some(cut) = inner.persist.delete_oldest((count / 10).max(1))? {
                    info!(
                        up_to = cut,
                        "retention: deleted the oldest chunks to stay under the size limit"
                    );
                    for s in inner.head.all() {
                        let mut d = s.data.lock();
                        if d.persisted_min_t <= cut {
                            d.persisted_min_t = cut + 1;
                            d.min_t = d.min_t.max(cut + 1);
                        }
                    }
                }
                inner.persist.compact()?;
                deleted_any = true;
                rounds += 1;
            }
        }
        if !deleted_any {
            return Ok(0);
        }
        // Series with no data left anywhere go away.
        let empty: HashSet<u64> = inner.persist.series_without_chunks()?.into_iter().collect();
        let mut gone = Vec::new();
        // Under the WAL lock, so no append lands in a series as it goes.
        let w = inner.wal.lock();
        for s in inner.head.all() {
            let d = s.data.lock();
            let no_head_data = d.open.is_none()
                && d.stored_open.is_none()
                && d.sealed.is_empty()
                && d.hist
                    .as_ref()
                    .is_none_or(|h| h.open.is_none() && h.sealed.is_empty());
            if no_head_data && (empty.contains(&s.id) || !s.persisted.load(Ordering::Relaxed)) {
                gone.push(s.id);
            }
        }
        inner.persist.delete_series(&gone)?;
        inner.head.remove(&gone.iter().copied().collect());
        drop(w);
        inner.persist.compact()?;
        Ok(gone.len())
    }

    /// Bytes in the WAL directory (counted against the size limit). A segment that vanishes
    /// while being counted counts nothing; a directory that cannot be read is logged with its
    /// path and counts what could be read (the limit is best effort).
    pub(super) fn wal_bytes(&self) -> u64 {
        let dir = self.wal_dir();
        let mut total = 0;
        let entries = std::fs::read_dir(&dir).and_then(|rd| {
            for e in rd {
                match e.and_then(|e| e.metadata()) {
                    Ok(m) => total += m.len(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        });
        if let Err(e) = entries {
            warn!(
                "retention: cannot measure the WAL in {}: {e}",
                dir.display()
            );
        }
        total
    }
}
