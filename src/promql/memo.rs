//! Per-query memoisation of label-set derivations (matching signatures, join results, group
//! labels, name removal), keyed by the identity of the input label set. Range queries evaluate
//! the same series at every step; this turns per-sample-per-step allocations and hashing into
//! one computation per series per query. Each entry keeps its input alive, so an address is
//! never reused for different labels while the memo exists.

use std::collections::HashMap;

use crate::model::Labels;
pub use crate::model::{FxBuild, FxHasher, FxMap};

/// The memo. `purpose` tells derivations of the same labels apart (a node's address, or a
/// constant for query-wide ones).
#[derive(Default)]
pub struct Memo {
    derived: FxMap<(usize, usize), (Labels, Labels)>,
    sigs: FxMap<(usize, usize), (Labels, u64)>,
    pairs: FxMap<(usize, usize, usize), (Labels, Labels, Labels)>,
    interned: HashMap<Labels, Labels>,
}

/// Purpose ids for query-wide derivations (node addresses are never this small).
pub const DROP_NAME: usize = 1;
pub const WITHOUT_LE: usize = 2;
pub const INTERN: usize = 3;

impl Memo {
    /// A hash signature of `l`, computed once per (purpose, label set).
    pub fn sig(&mut self, purpose: usize, l: &Labels, f: impl FnOnce(&Labels) -> u64) -> u64 {
        let k = (purpose, l.id());
        if let Some((_, s)) = self.sigs.get(&k) {
            return *s;
        }
        let s = f(l);
        self.sigs.insert(k, (l.clone(), s));
        s
    }

    /// One shared instance per distinct label set, so equal sets have equal ids.
    pub fn intern(&mut self, l: Labels) -> Labels {
        if let Some(x) = self.interned.get(&l) {
            return x.clone();
        }
        self.interned.insert(l.clone(), l.clone());
        l
    }

    /// `f(l)` interned, computed once per (purpose, label set). Every cached derivation is
    /// interned, so callers may compare derived label sets by id.
    pub fn derive_interned(
        &mut self,
        purpose: usize,
        l: &Labels,
        f: impl FnOnce(&Labels) -> Labels,
    ) -> Labels {
        let k = (purpose, l.id());
        if let Some((_, d)) = self.derived.get(&k) {
            return d.clone();
        }
        let d = self.intern(f(l));
        self.derived.insert(k, (l.clone(), d.clone()));
        d
    }

    /// `f(a, b)`, computed once per (purpose, a, b).
    pub fn derive2(
        &mut self,
        purpose: usize,
        a: &Labels,
        b: &Labels,
        f: impl FnOnce(&Labels, &Labels) -> Labels,
    ) -> Labels {
        let k = (purpose, a.id(), b.id());
        if let Some((_, _, d)) = self.pairs.get(&k) {
            return d.clone();
        }
        let d = f(a, b);
        self.pairs.insert(k, (a.clone(), b.clone(), d.clone()));
        d
    }
}
