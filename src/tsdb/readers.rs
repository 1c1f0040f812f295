//! A small pool of read-only SQLite connections, so that queries running at once (the parts of
//! one range query split over the cores, concurrent API clients) read the database in
//! parallel instead of queueing on one connection. Connections are opened on demand, up to a
//! bound, and kept; a caller takes a free one, opens another below the bound, or waits for the
//! least busy. SQLite's WAL mode gives every read transaction its own snapshot, so readers
//! never see a flush half-written whichever connection they use.
//!
//! Uses rusqlite and parking_lot only (below `persist`, which owns the schema).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use parking_lot::{ArcMutexGuard, Mutex, RawMutex};
use rusqlite::Connection;

/// A connection held for one caller's exclusive use.
pub type ReadConn = ArcMutexGuard<RawMutex, Connection>;

/// Read connections at most: two per core, at least two.
fn bound() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get() * 2)
        .unwrap_or(2)
        .clamp(2, 16)
}

/// The pool. The first connection is opened at once (so a database that cannot be opened
/// fails at start, not at the first query).
pub struct Readers {
    path: PathBuf,
    conns: Mutex<Vec<Arc<Mutex<Connection>>>>,
    next: AtomicUsize,
    max: usize,
}

impl Readers {
    pub fn open(path: &Path) -> rusqlite::Result<Readers> {
        let first = Self::connect(path)?;
        Ok(Readers {
            path: path.to_path_buf(),
            conns: Mutex::new(vec![Arc::new(Mutex::new(first))]),
            next: AtomicUsize::new(0),
            max: bound(),
        })
    }

    fn connect(path: &Path) -> rusqlite::Result<Connection> {
        let c = Connection::open(path)?;
        // Pages are read through a memory map: no copy out of the page cache per read (they
        // count as the process's file-backed resident memory while mapped, as Prometheus's
        // blocks do).
        c.execute_batch("PRAGMA query_only = ON; PRAGMA mmap_size = 4294967296;")?;
        Ok(c)
    }

    /// A connection for this caller's exclusive use while the guard lives.
    pub fn lock(&self) -> ReadConn {
        let mut list = self.conns.lock();
        for c in list.iter() {
            if let Some(g) = c.try_lock_arc() {
                return g;
            }
        }
        if list.len() < self.max {
            // Opening can only fail if the file vanished or is unreadable; the caller then
            // queues on an existing connection and gets SQLite's own error from it.
            if let Ok(c) = Self::connect(&self.path) {
                let c = Arc::new(Mutex::new(c));
                list.push(c.clone());
                drop(list);
                return c.lock_arc();
            }
        }
        let c = list[self.next.fetch_add(1, Ordering::Relaxed) % list.len()].clone();
        drop(list);
        c.lock_arc()
    }

    /// How many connections are open (for tests).
    #[cfg(test)]
    pub fn open_count(&self) -> usize {
        self.conns.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_callers_get_their_own_connections_up_to_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch("CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (7);")
            .unwrap();
        let pool = Readers::open(&path).unwrap();
        let held: Vec<ReadConn> = (0..pool.max).map(|_| pool.lock()).collect();
        assert_eq!(pool.open_count(), pool.max);
        for c in &held {
            let v: i64 = c.query_row("SELECT x FROM t", [], |r| r.get(0)).unwrap();
            assert_eq!(v, 7);
        }
        // Past the bound a caller waits for a held connection: release one from another thread.
        let pool = Arc::new(pool);
        let p2 = pool.clone();
        let waiter = std::thread::spawn(move || {
            let c = p2.lock();
            c.query_row("SELECT x FROM t", [], |r| r.get::<_, i64>(0))
                .unwrap()
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        drop(held);
        assert_eq!(waiter.join().unwrap(), 7);
        assert_eq!(pool.open_count(), pool.max);
        // Reused, not reopened.
        drop(pool.lock());
        assert_eq!(pool.open_count(), pool.max);
        // Read-only.
        assert!(pool.lock().execute("INSERT INTO t VALUES (1)", []).is_err());
    }
}
