//! Postings selection: the sorted ids of the series matching a set of label matchers
//! (Prometheus's `PostingsForMatchers`), from the head's inverted index (label name →
//! value → sorted ids) and the sorted list of all ids.
//!
//! Cheap matchers go first and the smallest lists lead the intersection, so a selector with
//! one rare label pair touches that pair's ids and not the others': `=` and regexes of a
//! literal or set shape are hash lookups, `.+` on a label every series carries is "all
//! series", `.*` selects nothing away. Matchers that would test every value of a label
//! with many values (a general regex, a prefix) are left to the caller when the candidates
//! found so far are fewer than those values: it checks the candidates' own labels
//! (`Selection::check`). Semantics are Prometheus's: a matcher that accepts the empty
//! string also accepts a series without the label.
//!
//! Uses `model` (matchers and their regex shapes).

use std::collections::HashMap;

use crate::model::{MatchOp, Matcher, RegexShape, Sym};

/// Label name → label value → sorted series ids.
pub type LabelIndex = HashMap<Sym, HashMap<Sym, Vec<u64>>>;

/// Candidates are checked against their own labels instead of a label's values when there
/// are this many times fewer candidates than values.
const CHECK_RATIO: usize = 4;

/// The outcome of a selection: candidate ids (sorted) and the matchers still to check
/// against each candidate's labels.
#[derive(Debug)]
pub struct Selection<'m> {
    pub ids: Vec<u64>,
    pub check: Vec<&'m Matcher>,
}

/// Ids of one positive matcher: borrowed from the index where possible.
enum Ids<'a> {
    All,
    List(&'a [u64]),
    Owned(Vec<u64>),
}

impl Ids<'_> {
    fn len(&self, all: usize) -> usize {
        match self {
            Ids::All => all,
            Ids::List(l) => l.len(),
            Ids::Owned(v) => v.len(),
        }
    }
    fn as_slice<'s>(&'s self, all: &'s [u64]) -> &'s [u64] {
        match self {
            Ids::All => all,
            Ids::List(l) => l,
            Ids::Owned(v) => v,
        }
    }
}

/// Whether a matcher's ids come from lookups (no walk over the label's values).
fn is_lookup(m: &Matcher) -> bool {
    match m.op {
        MatchOp::Equal => true,
        MatchOp::Regex => matches!(m.shape(), RegexShape::Set(_) | RegexShape::NonEmpty),
        _ => false,
    }
}

/// The ids of a positive matcher (one that rejects the empty string) by lookups only.
fn lookup<'a>(m: &Matcher, values: &'a HashMap<Sym, Vec<u64>>, all: &[u64]) -> Ids<'a> {
    let list = |v: &str| values.get(v).map_or(&[][..], Vec::as_slice);
    match (m.op, m.shape()) {
        (MatchOp::Equal, _) => Ids::List(list(&m.value)),
        (MatchOp::Regex, RegexShape::Set(set)) if set.len() == 1 => Ids::List(list(&set[0])),
        (MatchOp::Regex, RegexShape::Set(set)) => Ids::Owned(union(set.iter().map(|v| list(v)))),
        (MatchOp::Regex, RegexShape::NonEmpty) => {
            // A series has one value per label: the lists are disjoint, and when they add up
            // to every series, every series has the label.
            let total: usize = values.values().map(Vec::len).sum();
            if total == all.len() {
                Ids::All
            } else {
                Ids::Owned(union(values.values().map(Vec::as_slice)))
            }
        }
        _ => Ids::Owned(union(
            values
                .iter()
                .filter(|(v, _)| m.matches(v))
                .map(|(_, p)| p.as_slice()),
        )),
    }
}

/// Selects the series matching every matcher (see the module doc). With no matcher that
/// rejects the empty string, the selection starts from every series.
pub fn select<'m>(index: &LabelIndex, all: &[u64], matchers: &'m [Matcher]) -> Selection<'m> {
    let mut check = Vec::new();
    let (positive, negative): (Vec<&Matcher>, Vec<&Matcher>) =
        matchers.iter().partition(|m| !m.matches_empty());
    // Lookups first, smallest first.
    let mut lists: Vec<Ids> = Vec::new();
    let mut walks: Vec<&Matcher> = Vec::new();
    for m in positive {
        let Some(values) = index.get(m.name.as_str()) else {
            return Selection {
                ids: Vec::new(),
                check,
            };
        };
        if is_lookup(m) {
            lists.push(lookup(m, values, all));
        } else {
            walks.push(m);
        }
    }
    lists.sort_by_key(|l| l.len(all.len()));
    let mut ids: Option<Vec<u64>> = None;
    for l in &lists {
        let next = match ids {
            None => l.as_slice(all).to_vec(),
            Some(r) => match l {
                Ids::All => r,
                _ => intersect(&r, l.as_slice(all)),
            },
        };
        if next.is_empty() {
            return Selection { ids: next, check };
        }
        ids = Some(next);
    }
    // Matchers that walk a label's values: walk, or check the few candidates instead.
    walks.sort_by_key(|m| index.get(m.name.as_str()).map_or(0, HashMap::len));
    for m in walks {
        let values = index.get(m.name.as_str()).map_or(0, HashMap::len);
        if let Some(r) = &ids {
            if r.len() * CHECK_RATIO < values {
                check.push(m);
                continue;
            }
        }
        let found = match index.get(m.name.as_str()) {
            Some(v) => lookup(m, v, all),
            None => Ids::List(&[]),
        };
        let next = match ids {
            None => found.as_slice(all).to_vec(),
            Some(r) => intersect(&r, found.as_slice(all)),
        };
        if next.is_empty() {
            return Selection { ids: next, check };
        }
        ids = Some(next);
    }
    let mut r = ids.unwrap_or_else(|| all.to_vec());
    // Matchers that accept an absent label remove the series whose value they reject.
    for m in negative {
        let Some(values) = index.get(m.name.as_str()) else {
            continue;
        };
        let reject: Vec<u64> = match (m.op, m.shape()) {
            (MatchOp::Regex, RegexShape::Any) => continue,
            (MatchOp::NotEqual, _) => {
                r = subtract(&r, values.get(m.value.as_str()).map_or(&[], Vec::as_slice));
                continue;
            }
            (MatchOp::NotRegex, RegexShape::Set(set)) => union(
                set.iter()
                    .filter_map(|v| values.get(v.as_str()))
                    .map(Vec::as_slice),
            ),
            _ if r.len() * CHECK_RATIO < values.len() => {
                check.push(m);
                continue;
            }
            _ => union(
                values
                    .iter()
                    .filter(|(v, _)| !m.matches(v))
                    .map(|(_, p)| p.as_slice()),
            ),
        };
        r = subtract(&r, &reject);
    }
    Selection { ids: r, check }
}

/// Ids in both sorted lists. When one list is much shorter, its ids are searched for in
/// the other (galloping), so a rare label pair costs its own length, not the other's.
pub fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let mut out = Vec::new();
    if small.len() * 16 < large.len() {
        let mut lo = 0;
        for &x in small {
            // Gallop from `lo` until an id >= x, then binary search the last step; every
            // id before `lo` is below x.
            let (mut hi, mut step) = (lo, 1);
            while hi < large.len() && large[hi] < x {
                lo = hi + 1;
                hi += step;
                step *= 2;
            }
            let end = (hi + 1).min(large.len());
            match large[lo..end].binary_search(&x) {
                Ok(p) => {
                    out.push(x);
                    lo += p + 1;
                }
                Err(p) => lo += p,
            }
            if lo >= large.len() {
                break;
            }
        }
        return out;
    }
    let (mut i, mut j) = (0, 0);
    while i < small.len() && j < large.len() {
        match small[i].cmp(&large[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(small[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Ids of sorted `a` not in sorted `b`.
pub fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    if b.is_empty() {
        return a.to_vec();
    }
    let mut j = 0;
    a.iter()
        .copied()
        .filter(|x| {
            while j < b.len() && b[j] < *x {
                j += 1;
            }
            !(j < b.len() && b[j] == *x)
        })
        .collect()
}

/// Ids in any of the sorted lists, sorted and deduplicated.
pub fn union<'a>(lists: impl Iterator<Item = &'a [u64]>) -> Vec<u64> {
    let mut out: Vec<u64> = lists.flatten().copied().collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Series `i` of a small synthetic head: ids 1..=n, labels by formula, some absent.
    fn series(n: u64) -> Vec<(u64, Vec<(&'static str, String)>)> {
        (1..=n)
            .map(|i| {
                let mut l = vec![
                    ("__name__", format!("m{}", i % 5)),
                    ("id", i.to_string()),
                    (
                        "job",
                        ["api", "node", "batch"][(i % 3) as usize].to_string(),
                    ),
                ];
                if i % 4 != 0 {
                    l.push(("env", ["prod", "dev", ""][(i % 3) as usize].to_string()));
                }
                l.retain(|(_, v)| !v.is_empty());
                (i, l)
            })
            .collect()
    }

    fn index_of(s: &[(u64, Vec<(&'static str, String)>)]) -> (LabelIndex, Vec<u64>) {
        let mut idx = LabelIndex::new();
        for (id, labels) in s {
            for (n, v) in labels {
                idx.entry(Sym::new(n))
                    .or_default()
                    .entry(Sym::new(v))
                    .or_default()
                    .push(*id);
            }
        }
        (idx, s.iter().map(|(id, _)| *id).collect())
    }

    /// The fast selection (plus its label checks) against testing every matcher on every
    /// series, for matchers of every op and regex shape, alone and in pairs.
    #[test]
    fn select_agrees_with_testing_every_series() {
        let s = series(300);
        let (idx, all) = index_of(&s);
        let label = |labels: &[(&str, String)], n: &str| {
            labels
                .iter()
                .find(|(k, _)| *k == n)
                .map_or(String::new(), |(_, v)| v.clone())
        };
        let specs: Vec<(MatchOp, &str, &str)> = vec![
            (MatchOp::Equal, "__name__", "m1"),
            (MatchOp::Equal, "id", "17"),
            (MatchOp::Equal, "env", ""),
            (MatchOp::Equal, "nope", "x"),
            (MatchOp::NotEqual, "env", "prod"),
            (MatchOp::NotEqual, "env", ""),
            (MatchOp::NotEqual, "job", "api"),
            (MatchOp::Regex, "__name__", ".+"),
            (MatchOp::Regex, "env", ".+"),
            (MatchOp::Regex, "env", ".*"),
            (MatchOp::Regex, "job", "api|node"),
            (MatchOp::Regex, "env", "|dev"),
            (MatchOp::Regex, "id", "1.*"),
            (MatchOp::Regex, "id", "2.+"),
            (MatchOp::Regex, "id", "[12]3"),
            (MatchOp::Regex, "id", "1\\d"),
            (MatchOp::NotRegex, "env", "prod|dev"),
            (MatchOp::NotRegex, "id", "1.*"),
            (MatchOp::NotRegex, "id", ".*"),
            (MatchOp::NotRegex, "env", ""),
        ];
        let ms: Vec<Matcher> = specs
            .iter()
            .map(|(op, n, v)| Matcher::new(*op, *n, *v).unwrap())
            .collect();
        let mut sets: Vec<Vec<Matcher>> = ms.iter().map(|m| vec![m.clone()]).collect();
        for a in &ms {
            for b in &ms {
                sets.push(vec![a.clone(), b.clone()]);
            }
        }
        sets.push(vec![ms[0].clone(), ms[1].clone(), ms[12].clone()]);
        let mut checked = 0;
        for set in &sets {
            let want: Vec<u64> = s
                .iter()
                .filter(|(_, l)| set.iter().all(|m| m.matches(&label(l, &m.name))))
                .map(|(id, _)| *id)
                .collect();
            let sel = select(&idx, &all, set);
            checked += usize::from(!sel.check.is_empty());
            let got: Vec<u64> = sel
                .ids
                .into_iter()
                .filter(|id| {
                    let l = &s[(*id - 1) as usize].1;
                    sel.check.iter().all(|m| m.matches(&label(l, &m.name)))
                })
                .collect();
            assert_eq!(got, want, "{set:?}");
        }
        assert!(checked > 0, "some selections leave matchers to check");
    }

    #[test]
    fn intersect_gallops_and_merges_alike() {
        let large: Vec<u64> = (0..10_000).map(|i| i * 3).collect();
        for small in [
            vec![0, 3, 4, 29_997],
            vec![29_997],
            vec![1, 2, 5],
            vec![30_000, 30_003],
            (0..2000).map(|i| i * 7).collect::<Vec<u64>>(),
        ] {
            let want: Vec<u64> = small
                .iter()
                .copied()
                .filter(|x| large.binary_search(x).is_ok())
                .collect();
            assert_eq!(intersect(&small, &large), want);
            assert_eq!(intersect(&large, &small), want);
        }
    }
}
