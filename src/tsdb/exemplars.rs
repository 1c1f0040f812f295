//! The store's exemplars: appends (the series must already be in the head, as Prometheus's
//! `AppendExemplar` wants a known series), written to the WAL as exemplar records under the
//! ingest lock like samples, then kept in the bounded ring (`exemplar_ring`); queries by
//! matcher sets and time; the ring's checkpoint into a fresh WAL segment at each flush (so
//! dropping the flushed segments keeps the exemplars); resizing on a config reload; and the
//! figures behind the `prometheus_tsdb_exemplar_*` metrics.
//!
//! Uses the store core (`super`), `exemplar_ring`, `wal`, `model`, `storage`.

use std::sync::atomic::Ordering;

use super::exemplar_ring::{Added, ExemplarRing};
use super::{Db, WalState};
use crate::model::Matcher;
use crate::storage::{Exemplar, ExemplarInput, ExemplarStats, SeriesExemplars, StorageError};

/// Figures for the `prometheus_tsdb_exemplar_*` metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ExemplarFigures {
    pub appended_total: u64,
    pub out_of_order_total: u64,
    pub in_storage: usize,
    pub series_in_storage: usize,
    pub max_exemplars: usize,
    /// The oldest exemplar held, in ms (what the buffer still covers).
    pub oldest_t: Option<i64>,
}

impl Db {
    /// Stores exemplars: see [`crate::storage::Appender::append_exemplars`].
    pub(super) fn store_exemplars(
        &self,
        batch: &[ExemplarInput<'_>],
    ) -> Result<ExemplarStats, StorageError> {
        let inner = &*self.inner;
        let mut st = ExemplarStats::default();
        if inner.exemplars.lock().capacity() == 0 || batch.is_empty() {
            return Ok(st);
        }
        // Series are found outside the ingest lock, like samples' series.
        let found: Vec<_> = batch.iter().map(|b| inner.head.lookup(&b.series)).collect();
        let mut w = inner.wal.lock();
        let mut ring = inner.exemplars.lock();
        let mut logged = Vec::new();
        for (input, s) in batch.iter().zip(&found) {
            let Some(s) = s.as_ref().filter(|s| !s.removed.load(Ordering::Relaxed)) else {
                // No such series (no sample was ever appended to it): not stored.
                st.invalid += input.exemplars.len() as u64;
                continue;
            };
            for e in &input.exemplars {
                match ring.add(s.id, &s.labels, e.clone()) {
                    Added::Stored => {
                        st.accepted += 1;
                        logged.push((s.clone(), e));
                    }
                    Added::OutOfOrder | Added::Duplicate => st.out_of_order += 1,
                    Added::Invalid => st.invalid += 1,
                    Added::Disabled => {}
                }
            }
        }
        drop(ring);
        if logged.is_empty() {
            return Ok(st);
        }
        let WalState { wal, enc } = &mut *w;
        enc.clear();
        let mut new_series: Vec<_> = logged
            .iter()
            .filter(|(s, _)| !s.logged.load(Ordering::Relaxed))
            .map(|(s, _)| s.clone())
            .collect();
        new_series.dedup_by_key(|s| s.id);
        enc.series(new_series.iter().map(|s| (s.id, &s.labels)));
        enc.exemplars(logged.iter().map(|(s, e)| (s.id, *e)), false);
        let written = wal.write(&enc.buf);
        enc.clear();
        written?;
        for s in &new_series {
            s.logged.store(true, Ordering::Relaxed);
        }
        Ok(st)
    }

    /// Exemplars in [mint, maxt] of series matching any matcher set, sorted by series labels.
    pub(super) fn select_exemplars(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<SeriesExemplars> {
        self.inner.exemplars.lock().select(matcher_sets, mint, maxt)
    }

    /// Writes the whole ring as one checkpoint record (call under the WAL lock right after a
    /// rotation, so the new segment carries every exemplar held).
    pub(super) fn checkpoint_exemplars(&self, w: &mut WalState) -> Result<(), StorageError> {
        let ring = self.inner.exemplars.lock();
        if ring.is_empty() {
            return Ok(());
        }
        let WalState { wal, enc } = w;
        enc.clear();
        enc.exemplars(ring.all(), true);
        drop(ring);
        let written = wal.write(&enc.buf);
        enc.clear();
        Ok(written?)
    }

    /// Sets the exemplar buffer's size (a config reload), keeping the newest exemplars that
    /// fit; 0 turns exemplar storage off and empties the buffer.
    pub fn set_max_exemplars(&self, n: usize) {
        let dropped = self.inner.exemplars.lock().resize(n);
        if dropped > 0 {
            tracing::info!(
                max_exemplars = n,
                dropped,
                "exemplar buffer shrunk; the oldest exemplars were dropped"
            );
        }
    }

    /// The exemplar buffer's counters and sizes.
    pub fn exemplar_figures(&self) -> ExemplarFigures {
        let ring = self.inner.exemplars.lock();
        ExemplarFigures {
            appended_total: ring.appended,
            out_of_order_total: ring.out_of_order,
            in_storage: ring.len(),
            series_in_storage: ring.num_series(),
            max_exemplars: ring.capacity(),
            oldest_t: ring.oldest_t(),
        }
    }

    /// Approximate heap bytes of the exemplar buffer.
    pub(super) fn exemplar_bytes(&self) -> usize {
        self.inner.exemplars.lock().heap_bytes()
    }
}

/// Adds replayed exemplars of a WAL record to the ring (their series looked up by id);
/// returns how many were stored.
pub(super) fn replay_exemplars(
    ring: &mut ExemplarRing,
    list: Vec<(u64, Exemplar)>,
    series: impl Fn(u64) -> Option<crate::model::Labels>,
) -> u64 {
    let mut n = 0;
    for (id, e) in list {
        if let Some(labels) = series(id) {
            n += u64::from(ring.add(id, &labels, e) == Added::Stored);
        }
    }
    n
}
