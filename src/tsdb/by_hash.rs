//! A map from 64-bit hashes to values where nearly every hash names one value: that value is
//! held inline (a `u64` key and the value, no allocation of its own), and values whose hash
//! equals an earlier one's wait in a side map. The head keeps its series by label hash in
//! these: a `Vec` per hash cost a 32-byte allocation and 24 more bytes of map entry for each
//! series.
//!
//! The head's hash of a label set is built from a hash of each name and value string
//! (`str_hash`, combined in order by `PairsHash`), so loading a store hashes each distinct
//! string once and combines numbers for each series, instead of hashing every series' text.
//! It is the head's own: `model::labels_hash` stays Prometheus's hash for what users see.
//!
//! Uses `model` (the fast hash map) and xxhash-rust's XXH3.

use std::collections::hash_map::Entry;

use crate::model::FxMap;

/// The hash of one label name or value, for [`PairsHash`].
pub fn str_hash(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

/// The head's hash of sorted label pairs, fed each pair's [`str_hash`]es in order.
pub struct PairsHash {
    h: u64,
    n: u64,
}

impl Default for PairsHash {
    fn default() -> Self {
        PairsHash {
            h: 0x243f_6a88_85a3_08d3,
            n: 0,
        }
    }
}

impl PairsHash {
    /// Adds the next pair, by the hashes of its name and value.
    #[inline]
    pub fn pair(&mut self, name: u64, value: u64) {
        // Names and values are mixed with different constants and every step depends on the
        // last, so swapping a name with a value, or two pairs, changes the result.
        let h = (self.h ^ name).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let h = (h ^ (h >> 29) ^ value).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        self.h = h ^ (h >> 32);
        self.n += 1;
    }

    pub fn finish(&self) -> u64 {
        let h = (self.h ^ self.n).wrapping_mul(0x94d0_49bb_1331_11eb);
        h ^ (h >> 31)
    }
}

/// The head's hash of sorted label pairs given as text.
pub fn pairs_hash<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut h = PairsHash::default();
    for (n, v) in pairs {
        h.pair(str_hash(n), str_hash(v));
    }
    h.finish()
}

/// Values by hash; see the module doc.
#[derive(Debug)]
pub struct ByHash<T> {
    one: FxMap<u64, T>,
    clashes: FxMap<u64, Vec<T>>,
}

impl<T> Default for ByHash<T> {
    fn default() -> Self {
        ByHash {
            one: FxMap::default(),
            clashes: FxMap::default(),
        }
    }
}

impl<T> ByHash<T> {
    /// The value under `hash` for which `is` holds.
    pub fn find(&self, hash: u64, is: impl Fn(&T) -> bool) -> Option<&T> {
        let first = self.one.get(&hash)?;
        if is(first) {
            return Some(first);
        }
        self.clashes.get(&hash)?.iter().find(|v| is(v))
    }

    /// Adds a value under `hash` (the caller has checked it is not there yet).
    pub fn insert(&mut self, hash: u64, v: T) {
        match self.one.entry(hash) {
            Entry::Vacant(e) => {
                e.insert(v);
            }
            Entry::Occupied(_) => self.clashes.entry(hash).or_default().push(v),
        }
    }

    /// Removes the values under `hash` for which `is` holds; a clash left takes the inline
    /// place.
    pub fn remove(&mut self, hash: u64, is: impl Fn(&T) -> bool) {
        let rest = match self.clashes.get_mut(&hash) {
            None => {
                if self.one.get(&hash).is_some_and(&is) {
                    self.one.remove(&hash);
                }
                return;
            }
            Some(rest) => rest,
        };
        rest.retain(|v| !is(v));
        if self.one.get(&hash).is_some_and(&is) {
            match rest.pop() {
                Some(next) => {
                    self.one.insert(hash, next);
                }
                None => {
                    self.one.remove(&hash);
                }
            }
        }
        if rest.is_empty() {
            self.clashes.remove(&hash);
        }
    }

    /// Makes room for `n` more values.
    pub fn reserve(&mut self, n: usize) {
        self.one.reserve(n);
    }

    /// The number of values held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.one.len() + self.clashes.values().map(Vec::len).sum::<usize>()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.one.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_one_hash_are_all_found_and_removed() {
        let mut m: ByHash<(u64, &str)> = ByHash::default();
        m.insert(7, (1, "a"));
        m.insert(7, (2, "b"));
        m.insert(7, (3, "c"));
        m.insert(9, (4, "d"));
        assert_eq!(m.len(), 4);
        for (id, name) in [(1, "a"), (2, "b"), (3, "c"), (4, "d")] {
            let hash = if id == 4 { 9 } else { 7 };
            assert_eq!(m.find(hash, |v| v.0 == id), Some(&(id, name)));
        }
        assert_eq!(m.find(8, |_| true), None);
        assert_eq!(m.find(7, |v| v.0 == 4), None);
        // The inline value goes: a clash takes its place and the others stay.
        m.remove(7, |v| v.0 == 1);
        assert_eq!(m.len(), 3);
        assert_eq!(m.find(7, |v| v.0 == 1), None);
        assert!(m.find(7, |v| v.0 == 2).is_some());
        assert!(m.find(7, |v| v.0 == 3).is_some());
        // A clash goes.
        let other = m.find(7, |_| true).map(|v| v.0);
        let clash = if other == Some(2) { 3 } else { 2 };
        m.remove(7, |v| v.0 == clash);
        assert_eq!(m.len(), 2);
        assert!(m.clashes.is_empty());
        m.remove(7, |_| true);
        m.remove(9, |v| v.0 == 5);
        assert_eq!(m.len(), 1);
        m.remove(9, |v| v.0 == 4);
        assert!(m.is_empty());
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn pairs_hash_tells_apart_orders_and_splits() {
        let h = |p: &[(&str, &str)]| pairs_hash(p.iter().copied());
        let base = h(&[("a", "b"), ("c", "d")]);
        assert_eq!(base, h(&[("a", "b"), ("c", "d")]));
        for other in [
            h(&[("c", "d"), ("a", "b")]),
            h(&[("b", "a"), ("c", "d")]),
            h(&[("a", "b")]),
            h(&[("a", "b"), ("c", "d"), ("", "")]),
            h(&[("ab", ""), ("c", "d")]),
            h(&[("a", "bc"), ("", "d")]),
        ] {
            assert_ne!(base, other);
        }
        // Combining hashes gives the same as hashing the text.
        let mut p = PairsHash::default();
        p.pair(str_hash("a"), str_hash("b"));
        p.pair(str_hash("c"), str_hash("d"));
        assert_eq!(p.finish(), base);
    }

    #[test]
    fn removing_every_value_of_a_hash_at_once_leaves_none() {
        let mut m: ByHash<u64> = ByHash::default();
        for v in 0..5 {
            m.insert(3, v);
        }
        m.remove(3, |_| true);
        assert!(m.is_empty());
        assert!(m.clashes.is_empty());
        assert_eq!(m.find(3, |_| true), None);
    }
}
