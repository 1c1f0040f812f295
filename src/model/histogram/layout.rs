//! Bucket layouts as the arithmetic needs them: one side's buckets as an ascending list of
//! `(index, count)`, back to spans; merging two such lists; merging buckets for a lower
//! schema; widening a zero bucket over the buckets it swallows; and mapping custom buckets
//! onto the intersection of two sets of custom bounds. Everything tolerates spans and bucket
//! lists that disagree in length (the shorter wins) and never panics on odd input.
//!
//! Uses std and the sibling types (`buckets` for boundaries and span walking).

use super::buckets::{exponential_bound, indexed};
use super::{FloatHistogram, Span};

/// One side's buckets in span order: `(absolute index, count)`.
pub(super) type Entries = Vec<(i32, f64)>;

/// The buckets of one side with their absolute indices.
pub(super) fn decode(spans: &[Span], counts: &[f64]) -> Entries {
    indexed(spans, counts).collect()
}

/// Spans and counts from buckets in ascending index order; consecutive indices share a span.
pub(super) fn encode(entries: impl IntoIterator<Item = (i32, f64)>) -> (Vec<Span>, Vec<f64>) {
    let iter = entries.into_iter();
    let at_least = iter.size_hint().0;
    encode_with_capacity(iter, at_least)
}

/// `encode`, with room for `capacity` buckets reserved up front.
pub(super) fn encode_with_capacity(
    entries: impl IntoIterator<Item = (i32, f64)>,
    capacity: usize,
) -> (Vec<Span>, Vec<f64>) {
    let iter = entries.into_iter();
    let mut spans: Vec<Span> = Vec::with_capacity(4);
    let mut counts = Vec::with_capacity(capacity);
    // The index right after the last bucket written.
    let mut next: Option<i64> = None;
    for (index, count) in iter {
        let index = i64::from(index);
        match (next, spans.last_mut()) {
            (Some(n), Some(last)) if n == index => last.length = last.length.saturating_add(1),
            (Some(n), _) => spans.push(Span {
                offset: clamp_i32(index - n),
                length: 1,
            }),
            (None, _) => spans.push(Span {
                offset: clamp_i32(index),
                length: 1,
            }),
        }
        counts.push(count);
        next = Some(index + 1);
    }
    (spans, counts)
}

fn clamp_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

/// `a ± b` bucket-wise (`negate` subtracts), both ascending; buckets of either side that the
/// other lacks are kept (subtracted ones negated). Lazy: feeds `encode` without a list between.
pub(super) fn merge<A, B>(a: A, b: B, negate: bool) -> Merge<A::IntoIter, B::IntoIter>
where
    A: IntoIterator<Item = (i32, f64)>,
    B: IntoIterator<Item = (i32, f64)>,
{
    Merge {
        a: a.into_iter().peekable(),
        b: b.into_iter().peekable(),
        negate,
    }
}

/// The iterator `merge` returns.
pub(super) struct Merge<A: Iterator<Item = (i32, f64)>, B: Iterator<Item = (i32, f64)>> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
    negate: bool,
}

impl<A: Iterator<Item = (i32, f64)>, B: Iterator<Item = (i32, f64)>> Iterator for Merge<A, B> {
    type Item = (i32, f64);

    fn next(&mut self) -> Option<(i32, f64)> {
        let lone = |y: f64, negate: bool| if negate { -y } else { y };
        match (self.a.peek().copied(), self.b.peek().copied()) {
            (Some((ia, ca)), Some((ib, cb))) => {
                if ia == ib {
                    self.a.next();
                    self.b.next();
                    Some((ia, if self.negate { ca - cb } else { ca + cb }))
                } else if ia < ib {
                    self.a.next()
                } else {
                    self.b.next();
                    Some((ib, lone(cb, self.negate)))
                }
            }
            (Some(_), None) => self.a.next(),
            (None, Some((ib, cb))) => {
                self.b.next();
                Some((ib, lone(cb, self.negate)))
            }
            (None, None) => None,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (a, b) = (self.a.size_hint().0, self.b.size_hint().0);
        (a.max(b), None)
    }
}

/// Ascending buckets merged for a lower schema on the fly (counts of buckets falling together
/// added up).
pub(super) fn reducing<I: Iterator<Item = (i32, f64)>>(
    entries: I,
    from_schema: i32,
    to_schema: i32,
) -> impl Iterator<Item = (i32, f64)> {
    let mut it = entries
        .map(move |(i, c)| (target_index(i, from_schema, to_schema), c))
        .peekable();
    std::iter::from_fn(move || {
        let (t, mut c) = it.next()?;
        while let Some(&(u, d)) = it.peek() {
            if u != t {
                break;
            }
            c += d;
            it.next();
        }
        Some((t, c))
    })
}

/// The index at `to_schema` of the bucket holding bucket `index` of `from_schema` (positive and
/// negative buckets alike: bucket `i` ends at 2^(i·2^−s) in absolute value).
pub(super) fn target_index(index: i32, from_schema: i32, to_schema: i32) -> i32 {
    let shift = i64::from(from_schema) - i64::from(to_schema);
    if shift <= 0 {
        return index;
    }
    let shift = shift.min(62) as u32;
    clamp_i32(((i64::from(index) - 1) >> shift) + 1)
}

/// The zero count `h` would have with a zero bucket of at least `larger` width, and the
/// threshold it really needs: a populated bucket straddling the new threshold is swallowed
/// whole, widening the threshold to its upper bound (on both sides, until nothing straddles).
pub(super) fn zero_count_for_larger_threshold(h: &FloatHistogram, larger: f64) -> (f64, f64) {
    let mut threshold = larger;
    if threshold == h.zero_threshold {
        return (h.zero_count, threshold);
    }
    let rounds = h.positive_buckets.len() + h.negative_buckets.len() + 2;
    let mut count = h.zero_count;
    for _ in 0..rounds {
        count = h.zero_count;
        let mut widened = false;
        for side in [&h.positive_spans, &h.negative_spans]
            .into_iter()
            .enumerate()
        {
            let (n, spans) = side;
            let counts = if n == 0 {
                &h.positive_buckets
            } else {
                &h.negative_buckets
            };
            for (index, c) in indexed(spans, counts) {
                let lower = exponential_bound(index.saturating_sub(1), h.schema);
                let upper = exponential_bound(index, h.schema);
                if lower >= threshold {
                    break;
                }
                count += c;
                if upper > threshold {
                    if c != 0.0 {
                        threshold = upper;
                        // A negative bucket widening it means the positive side needs
                        // another look; a positive one is seen by the negative pass next.
                        widened = n == 1;
                    }
                    break;
                }
            }
        }
        if !widened {
            return (count, threshold);
        }
    }
    (count, threshold)
}

/// Empties every bucket of `h` lying inside its zero bucket (they were counted into the zero
/// count), then drops them.
pub(super) fn trim_buckets_in_zero_bucket(h: &mut FloatHistogram) {
    let (schema, threshold) = (h.schema, h.zero_threshold);
    for (spans, counts) in [
        (&h.positive_spans, &mut h.positive_buckets),
        (&h.negative_spans, &mut h.negative_buckets),
    ] {
        let inside = indexed(spans, counts)
            .take_while(|(i, _)| exponential_bound(i.saturating_sub(1), schema) < threshold)
            .count();
        for c in counts.iter_mut().take(inside) {
            *c = 0.0;
        }
    }
    compact_side(&mut h.positive_spans, &mut h.positive_buckets, 0);
    compact_side(&mut h.negative_spans, &mut h.negative_buckets, 0);
}

/// Makes the zero buckets of `h` and `other` the same width (the wider one, widened further if
/// a populated bucket straddles it): `h` is changed in place, `other`'s zero count at the
/// common width is returned.
pub(super) fn reconcile_zero_buckets(h: &mut FloatHistogram, other: &FloatHistogram) -> f64 {
    let mut other_count = other.zero_count;
    let mut other_threshold = other.zero_threshold;
    // Each round widens one side, and only a bounded number of buckets can be swallowed.
    for _ in 0..64 {
        if other_threshold == h.zero_threshold
            || other_threshold.is_nan()
            || h.zero_threshold.is_nan()
        {
            break;
        }
        if h.zero_threshold > other_threshold {
            (other_count, other_threshold) =
                zero_count_for_larger_threshold(other, h.zero_threshold);
        }
        if other_threshold > h.zero_threshold {
            (h.zero_count, h.zero_threshold) = zero_count_for_larger_threshold(h, other_threshold);
            trim_buckets_in_zero_bucket(h);
        }
    }
    other_count
}

/// Whether two lists of floats are the same bit for bit.
pub(super) fn same_floats(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// The bounds both `a` and `b` have (both ascending).
pub(super) fn intersect_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(a[i]);
            i += 1;
            j += 1;
        } else if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Custom buckets (laid out by `spans`/`counts` over `bounds`) regrouped onto `target` bounds,
/// a subset of `bounds`: one dense count per target bucket, the last one ending at +Inf.
pub(super) fn regroup_custom(
    spans: &[Span],
    counts: &[f64],
    bounds: &[f64],
    target: &[f64],
) -> Vec<f64> {
    let mut dense = vec![0.0; target.len() + 1];
    for (index, count) in indexed(spans, counts) {
        let upper = if index < 0 {
            f64::NEG_INFINITY
        } else {
            bounds.get(index as usize).copied().unwrap_or(f64::INFINITY)
        };
        // The first target bucket whose upper bound is at or above this bucket's.
        let t = target.partition_point(|b| *b < upper);
        if let Some(slot) = dense.get_mut(t) {
            *slot += count;
        }
    }
    dense
}

/// Compaction of one side: keeps non-empty buckets, keeping up to `max_empty` empty buckets
/// between two of them inside one span (more start a new span); leading and trailing empty
/// buckets go, adjacent spans merge.
pub(super) fn compact_side(spans: &mut Vec<Span>, counts: &mut Vec<f64>, max_empty: usize) {
    if is_compact(spans, counts, max_empty) {
        return;
    }
    let mut new_spans: Vec<Span> = Vec::with_capacity(spans.len());
    let mut new_counts: Vec<f64> = Vec::with_capacity(counts.len());
    let mut last: Option<i64> = None;
    for (index, count) in indexed(spans, counts).filter(|(_, c)| *c != 0.0) {
        let index = i64::from(index);
        match (last, new_spans.last_mut()) {
            (Some(prev), Some(span)) if index > prev && index - prev - 1 <= max_empty as i64 => {
                let gap = index - prev - 1;
                new_counts.extend(std::iter::repeat_n(0.0, gap as usize));
                span.length = span.length.saturating_add(gap as u32 + 1);
            }
            (Some(prev), _) => new_spans.push(Span {
                offset: clamp_i32(index - prev - 1),
                length: 1,
            }),
            (None, _) => new_spans.push(Span {
                offset: clamp_i32(index),
                length: 1,
            }),
        }
        new_counts.push(count);
        last = Some(index);
    }
    *spans = new_spans;
    *counts = new_counts;
}

/// Whether one side is already compact: spans and counts agree, no empty span, no empty
/// bucket at either end of a span, no run of more than `max_empty` empty buckets inside one,
/// and spans more than `max_empty` buckets apart.
fn is_compact(spans: &[Span], counts: &[f64], max_empty: usize) -> bool {
    let total: u64 = spans.iter().map(|s| u64::from(s.length)).sum();
    if total != counts.len() as u64 {
        return false;
    }
    let mut at = 0usize;
    for (n, s) in spans.iter().enumerate() {
        if s.length == 0 || (n > 0 && (s.offset < 0 || s.offset as u64 <= max_empty as u64)) {
            return false;
        }
        let bucket_run = &counts[at..at + s.length as usize];
        at += s.length as usize;
        let (Some(first), Some(last)) = (bucket_run.first(), bucket_run.last()) else {
            return false;
        };
        if *first == 0.0 || *last == 0.0 {
            return false;
        }
        let mut empties = 0usize;
        for c in bucket_run {
            if *c == 0.0 {
                empties += 1;
                if empties > max_empty {
                    return false;
                }
            } else {
                empties = 0;
            }
        }
    }
    true
}
