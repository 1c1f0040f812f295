//! Compaction of a native histogram's bucket layout as Prometheus applies it to a scraped
//! histogram (its `Compact(0)`): empty buckets go, zero-length spans go, and adjacent runs merge,
//! so the spans describe exactly the populated buckets. A layout that does not add up (span
//! lengths against bucket counts, a later span with a negative offset, indices outside `i32`)
//! is left as sent for validation to name. Uses `model` (`Span`).

use crate::model::Span;

/// The bucket indices the spans lay out, one per bucket; `None` when the spans do not describe
/// exactly `n` buckets or a span after the first moves backwards.
fn indices(spans: &[Span], n: usize) -> Option<Vec<i64>> {
    let total: u64 = spans.iter().map(|s| u64::from(s.length)).sum();
    if total != n as u64 {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    let mut next = 0i64; // the index after the previous span's last bucket
    for (k, s) in spans.iter().enumerate() {
        if k > 0 && s.offset < 0 {
            return None;
        }
        let start = next + i64::from(s.offset);
        out.extend((0..i64::from(s.length)).map(|j| start + j));
        next = start + i64::from(s.length);
    }
    Some(out)
}

/// Spans for ascending bucket indices, or `None` if an offset leaves `i32`.
fn spans_for(kept: &[i64]) -> Option<Vec<Span>> {
    let mut spans: Vec<Span> = Vec::new();
    let mut prev: Option<i64> = None;
    for &i in kept {
        match prev {
            Some(p) if i == p + 1 => {
                if let Some(last) = spans.last_mut() {
                    last.length += 1;
                }
            }
            _ => {
                let offset = match prev {
                    None => i,
                    Some(p) => i - p - 1,
                };
                spans.push(Span {
                    offset: i32::try_from(offset).ok()?,
                    length: 1,
                });
            }
        }
        prev = Some(i);
    }
    Some(spans)
}

/// Compacts an integer histogram's spans and delta-encoded buckets.
pub(super) fn compact_deltas(spans: &mut Vec<Span>, deltas: &mut Vec<i64>) {
    let Some(idx) = indices(spans, deltas.len()) else {
        return;
    };
    let mut abs = 0i64;
    let mut kept_idx = Vec::with_capacity(idx.len());
    let mut kept_abs = Vec::with_capacity(idx.len());
    for (i, d) in idx.iter().zip(deltas.iter()) {
        abs = abs.wrapping_add(*d);
        if abs != 0 {
            kept_idx.push(*i);
            kept_abs.push(abs);
        }
    }
    let Some(new_spans) = spans_for(&kept_idx) else {
        return;
    };
    let mut prev = 0i64;
    *deltas = kept_abs
        .iter()
        .map(|a| {
            let d = a.wrapping_sub(prev);
            prev = *a;
            d
        })
        .collect();
    *spans = new_spans;
}

/// Compacts a float histogram's spans and absolute bucket counts.
pub(super) fn compact_counts(spans: &mut Vec<Span>, counts: &mut Vec<f64>) {
    let Some(idx) = indices(spans, counts.len()) else {
        return;
    };
    let (kept_idx, kept): (Vec<i64>, Vec<f64>) = idx
        .iter()
        .zip(counts.iter())
        .filter(|(_, c)| **c != 0.0)
        .map(|(i, c)| (*i, *c))
        .unzip();
    let Some(new_spans) = spans_for(&kept_idx) else {
        return;
    };
    *counts = kept;
    *spans = new_spans;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp(v: &[(i32, u32)]) -> Vec<Span> {
        v.iter()
            .map(|&(offset, length)| Span { offset, length })
            .collect()
    }

    #[test]
    fn empty_buckets_and_noop_spans_go_and_runs_merge() {
        // Buckets at -2..=1 (counts 1, 0, 2, 2), then a no-op span, then index 2 (count 3).
        let mut spans = sp(&[(-2, 4), (0, 0), (0, 1)]);
        let mut deltas = vec![1, -1, 2, 0, 1];
        compact_deltas(&mut spans, &mut deltas);
        assert_eq!(spans, sp(&[(-2, 1), (1, 3)]));
        assert_eq!(deltas, vec![1, 1, 0, 1]);

        let mut spans = sp(&[(0, 0)]);
        let mut counts: Vec<f64> = vec![];
        compact_counts(&mut spans, &mut counts);
        assert!(spans.is_empty() && counts.is_empty());

        let mut spans = sp(&[(3, 3)]);
        let mut counts = vec![0.0, 0.5, 0.0];
        compact_counts(&mut spans, &mut counts);
        assert_eq!(spans, sp(&[(4, 1)]));
        assert_eq!(counts, vec![0.5]);
    }

    #[test]
    fn layouts_that_do_not_add_up_are_left_alone() {
        let mut spans = sp(&[(0, 3)]);
        let mut deltas = vec![1, -1];
        compact_deltas(&mut spans, &mut deltas);
        assert_eq!((spans, deltas), (sp(&[(0, 3)]), vec![1, -1]));

        let mut spans = sp(&[(0, 1), (-3, 1)]);
        let mut counts = vec![0.0, 1.0];
        compact_counts(&mut spans, &mut counts);
        assert_eq!((spans, counts), (sp(&[(0, 1), (-3, 1)]), vec![0.0, 1.0]));

        let mut spans = sp(&[(i32::MIN, 1), (i32::MAX, 1), (i32::MAX, 1)]);
        let mut counts = vec![1.0, 0.0, 1.0];
        compact_counts(&mut spans, &mut counts);
        assert_eq!(
            counts,
            vec![1.0, 0.0, 1.0],
            "a gap beyond i32 keeps the layout"
        );
    }
}
