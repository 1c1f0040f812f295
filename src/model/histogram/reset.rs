//! Counter-reset detection between two consecutive histograms of a series, as Prometheus's
//! `DetectReset`: the hints decide when they can (CounterReset → reset, NotCounterReset → no
//! reset); otherwise a reset is a smaller count, a switch between exponential and custom
//! buckets, a higher schema, a narrower zero bucket, a smaller zero count or any bucket that
//! lost observations. Different schemas and zero widths are compared at the current one's
//! (the previous histogram's buckets merged, or swallowed by the wider zero bucket); custom
//! buckets with different bounds are compared on the bounds both have.
//!
//! Uses std and the sibling types (`layout` for the bucket lists).

use super::buckets::exponential_bound;
use super::layout::{
    decode, intersect_bounds, reducing, regroup_custom, same_floats,
    zero_count_for_larger_threshold,
};
use super::{CounterResetHint, FloatHistogram};

/// Whether a counter reset happened between `previous` and `current`.
pub(super) fn detect_reset(current: &FloatHistogram, previous: &FloatHistogram) -> bool {
    match current.counter_reset_hint {
        CounterResetHint::CounterReset => return true,
        CounterResetHint::NotCounterReset => return false,
        // Unknown needs the work; a gauge is treated as a counter here (PromQL warns).
        CounterResetHint::Unknown | CounterResetHint::Gauge => {}
    }
    if current.count < previous.count {
        return true;
    }
    let custom = current.uses_custom_buckets();
    if custom {
        if !previous.uses_custom_buckets() {
            return true;
        }
        if !same_floats(&current.custom_values, &previous.custom_values) {
            return custom_buckets_decreased(current, previous);
        }
    }
    if current.schema > previous.schema {
        return true;
    }
    if current.zero_threshold < previous.zero_threshold {
        return true;
    }
    let (previous_zero, threshold) = if current.zero_threshold > previous.zero_threshold {
        zero_count_for_larger_threshold(previous, current.zero_threshold)
    } else {
        (previous.zero_count, current.zero_threshold)
    };
    if threshold != current.zero_threshold {
        // The new zero bucket ends inside a populated bucket of the previous histogram.
        return true;
    }
    if current.zero_count < previous_zero {
        return true;
    }
    if let Some(decreased) = same_layout_decrease(current, previous) {
        return decreased;
    }
    let sides = [
        (
            (&current.positive_spans, &current.positive_buckets),
            (&previous.positive_spans, &previous.positive_buckets),
        ),
        (
            (&current.negative_spans, &current.negative_buckets),
            (&previous.negative_spans, &previous.negative_buckets),
        ),
    ];
    for ((cs, cb), (ps, pb)) in sides {
        let mut prev = decode(ps, pb);
        if previous.schema > current.schema {
            prev = reducing(prev.into_iter(), previous.schema, current.schema).collect();
        }
        let mut curr = decode(cs, cb);
        if !custom {
            // Buckets inside the zero bucket were compared through the zero count.
            let zt = current.zero_threshold;
            // Ascending: only the leading buckets can lie inside the zero bucket.
            let inside = |list: &[(i32, f64)]| {
                list.iter()
                    .take_while(|(i, _)| exponential_bound(*i, current.schema) <= zt)
                    .count()
            };
            prev.drain(..inside(&prev));
            curr.drain(..inside(&curr));
        }
        if bucket_decreased(&curr, &prev) {
            return true;
        }
    }
    false
}

/// Same schema, zero width and bucket layout on both sides, nothing inside the zero bucket
/// (the usual case between two samples of a series): whether a bucket decreased, compared
/// position by position without allocating. `None` when the layouts differ.
fn same_layout_decrease(current: &FloatHistogram, previous: &FloatHistogram) -> Option<bool> {
    if current.schema != previous.schema || current.zero_threshold != previous.zero_threshold {
        return None;
    }
    let custom = current.uses_custom_buckets();
    let sides = [
        (
            &current.positive_spans,
            &current.positive_buckets,
            &previous.positive_spans,
            &previous.positive_buckets,
        ),
        (
            &current.negative_spans,
            &current.negative_buckets,
            &previous.negative_spans,
            &previous.negative_buckets,
        ),
    ];
    for (cs, cb, ps, pb) in sides {
        if cs != ps || cb.len() != pb.len() {
            return None;
        }
        let total: u64 = cs.iter().map(|s| u64::from(s.length)).sum();
        if total != cb.len() as u64 {
            return None;
        }
        if let Some(first) = cs.first() {
            if !custom && exponential_bound(first.offset, current.schema) <= current.zero_threshold
            {
                return None;
            }
        }
    }
    Some(
        sides
            .iter()
            .any(|(_, cb, _, pb)| cb.iter().zip(pb.iter()).any(|(c, p)| c < p)),
    )
}

/// Whether a bucket of `prev` is missing (and populated) or smaller in `curr`; both ascending.
fn bucket_decreased(curr: &[(i32, f64)], prev: &[(i32, f64)]) -> bool {
    let mut j = 0;
    for &(index, count) in prev {
        while j < curr.len() && curr[j].0 < index {
            j += 1;
        }
        match curr.get(j) {
            Some(&(ci, cc)) if ci == index => {
                if cc < count {
                    return true;
                }
            }
            _ => {
                if count != 0.0 {
                    return true;
                }
            }
        }
    }
    false
}

/// Custom buckets with different bounds: each range between two bounds both have must not
/// have lost observations.
fn custom_buckets_decreased(current: &FloatHistogram, previous: &FloatHistogram) -> bool {
    let common = intersect_bounds(&current.custom_values, &previous.custom_values);
    let curr = regroup_custom(
        &current.positive_spans,
        &current.positive_buckets,
        &current.custom_values,
        &common,
    );
    let prev = regroup_custom(
        &previous.positive_spans,
        &previous.positive_buckets,
        &previous.custom_values,
        &common,
    );
    curr.iter().zip(&prev).any(|(c, p)| c < p)
}
