//! The exemplar buffer: one bounded ring of exemplars shared by all series, as Prometheus's
//! circular exemplar storage (tsdb/exemplar.go, `CircularExemplarStorage`) keeps them. Each
//! series with exemplars has an index entry (its oldest and newest slot); slots of one series
//! are linked oldest to newest. When the ring is full the oldest exemplar of all is replaced.
//! An exemplar not newer than its series' newest is refused (a repeat of it is a duplicate);
//! one whose labels exceed 128 UTF-8 characters in all is invalid. Capacity 0 disables it.
//!
//! A plain data structure: no locking, no WAL. Uses `model`, `storage`.

use crate::model::{FxMap, Labels, Matcher};
use crate::storage::{Exemplar, SeriesExemplars};

/// Most UTF-8 characters an exemplar's label names and values may hold together
/// (OpenMetrics' limit, enforced by Prometheus).
pub const MAX_LABELS_CHARS: usize = 128;

/// Prometheus's default `storage.exemplars.max_exemplars`.
pub const DEFAULT_MAX_EXEMPLARS: usize = 100_000;

const NONE: usize = usize::MAX;

struct Slot {
    series: u64,
    ex: Exemplar,
    /// The next (newer) slot of the same series, or `NONE`.
    next: usize,
}

struct SeriesIndex {
    labels: Labels,
    oldest: usize,
    newest: usize,
}

/// What became of one exemplar offered to the ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    Stored,
    /// Older than (or as old as) the series' newest exemplar.
    OutOfOrder,
    /// The same as the series' newest exemplar (time, value and labels).
    Duplicate,
    /// Labels over `MAX_LABELS_CHARS`.
    Invalid,
    /// The ring has capacity 0.
    Disabled,
}

/// The ring and its counters.
pub struct ExemplarRing {
    slots: Vec<Slot>,
    cap: usize,
    /// Where the next exemplar goes once the ring is full (the oldest slot then).
    next: usize,
    series: FxMap<u64, SeriesIndex>,
    /// Exemplars stored so far (Prometheus's `exemplars_appended_total`).
    pub appended: u64,
    /// Exemplars refused as out of order (duplicates are not counted, as in Prometheus).
    pub out_of_order: u64,
}

/// Whether an exemplar's labels fit the length limit.
pub fn labels_fit(labels: &Labels) -> bool {
    let mut n = 0usize;
    for l in labels.iter() {
        n += l.name.chars().count() + l.value.chars().count();
        if n > MAX_LABELS_CHARS {
            return false;
        }
    }
    true
}

fn matches(labels: &Labels, set: &[Matcher]) -> bool {
    set.iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

impl ExemplarRing {
    pub fn new(cap: usize) -> Self {
        ExemplarRing {
            slots: Vec::new(),
            cap,
            next: 0,
            series: FxMap::default(),
            appended: 0,
            out_of_order: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Exemplars held now.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Series with at least one exemplar held.
    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Slot positions from the oldest exemplar to the newest.
    fn order(&self) -> impl Iterator<Item = usize> {
        let (len, start) = if self.slots.len() < self.cap {
            (self.slots.len(), 0)
        } else {
            (self.slots.len(), self.next)
        };
        (0..len).map(move |i| (start + i) % len.max(1))
    }

    /// The oldest exemplar's timestamp (ms), if any.
    pub fn oldest_t(&self) -> Option<i64> {
        self.order().next().map(|i| self.slots[i].ex.t)
    }

    /// Checks an exemplar against the series' newest without storing it.
    pub fn check(&self, series: u64, ex: &Exemplar) -> Added {
        if self.cap == 0 {
            return Added::Disabled;
        }
        if !labels_fit(&ex.labels) {
            return Added::Invalid;
        }
        if let Some(idx) = self.series.get(&series) {
            let newest = &self.slots[idx.newest].ex;
            if newest == ex {
                return Added::Duplicate;
            }
            if ex.t <= newest.t {
                return Added::OutOfOrder;
            }
        }
        Added::Stored
    }

    /// Offers one exemplar of the series `series` (with those labels).
    pub fn add(&mut self, series: u64, labels: &Labels, ex: Exemplar) -> Added {
        let verdict = self.check(series, &ex);
        match verdict {
            Added::Stored => {}
            Added::OutOfOrder => {
                self.out_of_order += 1;
                return verdict;
            }
            _ => return verdict,
        }
        let slot = Slot {
            series,
            ex,
            next: NONE,
        };
        let pos = if self.slots.len() < self.cap {
            self.slots.push(slot);
            self.slots.len() - 1
        } else {
            let pos = self.next;
            self.evict(pos);
            self.slots[pos] = slot;
            pos
        };
        self.next = (pos + 1) % self.cap;
        match self.series.get_mut(&series) {
            Some(idx) => {
                self.slots[idx.newest].next = pos;
                idx.newest = pos;
            }
            None => {
                self.series.insert(
                    series,
                    SeriesIndex {
                        labels: labels.clone(),
                        oldest: pos,
                        newest: pos,
                    },
                );
            }
        }
        self.appended += 1;
        Added::Stored
    }

    /// Unlinks the slot `pos` (the oldest in the ring, so the oldest of its series).
    fn evict(&mut self, pos: usize) {
        let old = &self.slots[pos];
        let (sid, next) = (old.series, old.next);
        if next == NONE {
            self.series.remove(&sid);
        } else if let Some(idx) = self.series.get_mut(&sid) {
            idx.oldest = next;
        }
    }

    /// Changes the capacity, keeping the newest exemplars that fit. Returns how many were
    /// dropped.
    pub fn resize(&mut self, cap: usize) -> usize {
        if cap == self.cap {
            return 0;
        }
        let order: Vec<usize> = self.order().collect();
        let mut old: Vec<Option<Slot>> = std::mem::take(&mut self.slots)
            .into_iter()
            .map(Some)
            .collect();
        let labels: FxMap<u64, Labels> = std::mem::take(&mut self.series)
            .into_iter()
            .map(|(id, idx)| (id, idx.labels))
            .collect();
        let keep = order.len().min(cap);
        let dropped = order.len() - keep;
        self.cap = cap;
        self.next = 0;
        let (appended, ooo) = (self.appended, self.out_of_order);
        for &i in &order[dropped..] {
            if let Some(s) = old[i].take() {
                if let Some(l) = labels.get(&s.series) {
                    self.add(s.series, l, s.ex);
                }
            }
        }
        self.appended = appended;
        self.out_of_order = ooo;
        dropped
    }

    /// Every exemplar held, oldest first, with its series id (for a WAL checkpoint).
    pub fn all(&self) -> Vec<(u64, &Exemplar)> {
        self.order()
            .map(|i| (self.slots[i].series, &self.slots[i].ex))
            .collect()
    }

    /// Exemplars in [mint, maxt] of the series matching any of the matcher sets, sorted by
    /// series labels, each series' exemplars oldest first.
    pub fn select(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<SeriesExemplars> {
        let mut out = Vec::new();
        for idx in self.series.values() {
            if !matcher_sets.iter().any(|set| matches(&idx.labels, set)) {
                continue;
            }
            let mut exemplars = Vec::new();
            let mut pos = idx.oldest;
            while pos != NONE {
                let s = &self.slots[pos];
                if s.ex.t > maxt {
                    break;
                }
                if s.ex.t >= mint {
                    exemplars.push(s.ex.clone());
                }
                pos = s.next;
            }
            if !exemplars.is_empty() {
                out.push(SeriesExemplars {
                    labels: idx.labels.clone(),
                    exemplars,
                });
            }
        }
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        // A series dropped from the head and created again has a new id but the same labels:
        // one answer per label set.
        let mut merged: Vec<SeriesExemplars> = Vec::with_capacity(out.len());
        for s in out {
            match merged.last_mut() {
                Some(last) if last.labels == s.labels => {
                    last.exemplars.extend(s.exemplars);
                    last.exemplars.sort_by_key(|e| e.t);
                }
                _ => merged.push(s),
            }
        }
        merged
    }

    /// Approximate heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        let labels: usize = self
            .slots
            .iter()
            .map(|s| {
                s.ex.labels
                    .iter()
                    .map(|l| l.name.len() + l.value.len() + 32)
                    .sum::<usize>()
                    + 16
            })
            .sum();
        self.slots.capacity() * std::mem::size_of::<Slot>()
            + labels
            + self.series.capacity() * (std::mem::size_of::<SeriesIndex>() + 16)
    }
}

#[cfg(test)]
#[path = "exemplar_ring_tests.rs"]
mod tests;
