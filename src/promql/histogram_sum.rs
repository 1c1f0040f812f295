//! Compensated sums and means of native histograms, as Prometheus's `sum` and `avg`
//! aggregations compute them (its `FloatHistogram.KahanAdd`): every count, the sum, the zero
//! bucket and every bucket carries its own Kahan–Neumaier compensation, so that
//! `3.1 + 1e100 + -1e100 + 1.3` sums to 4.4 rather than 1.3. A mean is the compensated sum
//! divided by the number of histograms, until that sum would overflow; from then on the
//! mean is updated incrementally (`mean·(n−1)/n + h/n`), as Prometheus does for floats and
//! histograms alike.
//!
//! The bucket layouts of the operands are reconciled by `FloatHistogram::add` (lower schema,
//! wider zero bucket, common custom bounds): adding each operand to an empty histogram of the
//! combined layout brings all of them to one schema and zero bucket, and the compensated
//! addition then goes bucket index by bucket index. The custom-bound reconciliation and the
//! schema mix are reported as `add` reports them.
//!
//! Uses `model` only (the range functions may use it as well as `aggregate`).

use std::collections::BTreeMap;

use crate::model::histogram::indexed;
use crate::model::{CombineOutcome, FloatHistogram, HistogramMathError, Span};

/// One Kahan–Neumaier step (Prometheus's `kahansum.Inc`): the new sum and compensation.
fn inc(x: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + x;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= x.abs() {
        c + ((sum - t) + x)
    } else {
        c + ((x - t) + sum)
    };
    (t, c)
}

/// `h` with every count and the sum set to zero (its layout and hint kept).
fn emptied(h: &FloatHistogram) -> FloatHistogram {
    let mut e = h.clone();
    e.count = 0.0;
    e.sum = 0.0;
    e.zero_count = 0.0;
    e.positive_buckets.iter_mut().for_each(|b| *b = 0.0);
    e.negative_buckets.iter_mut().for_each(|b| *b = 0.0);
    e
}

/// A bucket list as absolute index → count.
fn by_index(spans: &[Span], counts: &[f64]) -> BTreeMap<i32, f64> {
    let mut out = BTreeMap::new();
    for (i, c) in indexed(spans, counts) {
        *out.entry(i).or_insert(0.0) += c;
    }
    out
}

/// For each bucket of `part` (in order), the position of the bucket with the same index in
/// `whole`; `None` when `part` has a bucket `whole` lacks. Both lists ascend by index.
fn positions_within(
    whole: (&[Span], &[f64]),
    part: (&[Span], &[f64]),
    out: &mut Vec<usize>,
) -> Option<()> {
    out.clear();
    let mut w = indexed(whole.0, whole.1).enumerate();
    for (i, _) in indexed(part.0, part.1) {
        loop {
            let (pos, (j, _)) = w.next()?;
            if j == i {
                out.push(pos);
                break;
            }
            if j > i {
                return None;
            }
        }
    }
    Some(())
}

/// `kahan_add` when `h` has the schema, zero bucket, bounds and hint of `value` and each of
/// its buckets is one `value` has (the common case once a sum has grown to the union of its
/// inputs' layouts): in place, bucket by bucket, as the slow path would compute it. `false`
/// (nothing changed) otherwise.
fn kahan_add_subset(
    value: &mut FloatHistogram,
    comp: &mut Option<FloatHistogram>,
    h: &FloatHistogram,
) -> bool {
    let comparable = value.schema == h.schema
        && value.zero_threshold.to_bits() == h.zero_threshold.to_bits()
        && value.counter_reset_hint == h.counter_reset_hint
        && value.custom_values.len() == h.custom_values.len()
        && value
            .custom_values
            .iter()
            .zip(&h.custom_values)
            .all(|(x, y)| x.to_bits() == y.to_bits())
        && comp.as_ref().is_none_or(|c| same_layout(value, c));
    if !comparable {
        return false;
    }
    let (mut pos, mut neg) = (Vec::new(), Vec::new());
    if positions_within(
        (&value.positive_spans, &value.positive_buckets),
        (&h.positive_spans, &h.positive_buckets),
        &mut pos,
    )
    .is_none()
        || positions_within(
            (&value.negative_spans, &value.negative_buckets),
            (&h.negative_spans, &h.negative_buckets),
            &mut neg,
        )
        .is_none()
    {
        return false;
    }
    let c = comp.get_or_insert_with(|| emptied(value));
    (value.count, c.count) = inc(h.count, value.count, c.count);
    (value.sum, c.sum) = inc(h.sum, value.sum, c.sum);
    (value.zero_count, c.zero_count) = inc(h.zero_count, value.zero_count, c.zero_count);
    let lists = [
        (
            &mut value.positive_buckets,
            &mut c.positive_buckets,
            &h.positive_buckets,
            &pos,
        ),
        (
            &mut value.negative_buckets,
            &mut c.negative_buckets,
            &h.negative_buckets,
            &neg,
        ),
    ];
    for (vs, cs, xs, at) in lists {
        for (&x, &p) in xs.iter().zip(at.iter()) {
            (vs[p], cs[p]) = inc(x, vs[p], cs[p]);
        }
    }
    true
}

/// Spans and counts for an index → count list (consecutive indices share a span).
fn from_index(m: &BTreeMap<i32, f64>) -> (Vec<Span>, Vec<f64>) {
    let mut spans: Vec<Span> = Vec::new();
    let mut counts = Vec::with_capacity(m.len());
    let mut prev: Option<i32> = None;
    for (&i, &c) in m {
        match (prev, spans.last_mut()) {
            (Some(p), Some(last)) if i == p.saturating_add(1) => last.length += 1,
            (Some(p), _) => spans.push(Span {
                offset: i - p - 1,
                length: 1,
            }),
            (None, _) => spans.push(Span {
                offset: i,
                length: 1,
            }),
        }
        counts.push(c);
        prev = Some(i);
    }
    (spans, counts)
}

/// `value += h` with compensation `comp` (the same layout as `value`, created on first use):
/// Prometheus's `KahanAdd`. On an error `value` and `comp` are unchanged.
pub fn kahan_add(
    value: &mut FloatHistogram,
    comp: &mut Option<FloatHistogram>,
    h: &FloatHistogram,
) -> Result<CombineOutcome, HistogramMathError> {
    if same_layout(value, h) && comp.as_ref().is_none_or(|c| same_layout(value, c)) {
        kahan_add_aligned(value, comp, h);
        return Ok(CombineOutcome::default());
    }
    if kahan_add_subset(value, comp, h) {
        return Ok(CombineOutcome::default());
    }
    // The combined layout, and what adding reports about it.
    let mut layout = emptied(value);
    let outcome = layout.add(&emptied(h))?;
    let onto = |x: &FloatHistogram| -> Result<FloatHistogram, HistogramMathError> {
        let mut y = emptied(&layout);
        y.add(x)?;
        Ok(y)
    };
    let v = onto(value)?;
    let x = onto(h)?;
    let c = match comp {
        Some(c) => onto(c)?,
        None => emptied(&layout),
    };
    let mut sum = v.clone();
    let mut cmp = c.clone();
    (sum.count, cmp.count) = inc(x.count, v.count, c.count);
    (sum.sum, cmp.sum) = inc(x.sum, v.sum, c.sum);
    (sum.zero_count, cmp.zero_count) = inc(x.zero_count, v.zero_count, c.zero_count);
    for negative in [false, true] {
        let pick = |h: &FloatHistogram| {
            if negative {
                by_index(&h.negative_spans, &h.negative_buckets)
            } else {
                by_index(&h.positive_spans, &h.positive_buckets)
            }
        };
        let (vs, xs, cs) = (pick(&v), pick(&x), pick(&c));
        let mut s_out = BTreeMap::new();
        let mut c_out = BTreeMap::new();
        let indices: std::collections::BTreeSet<i32> = vs
            .keys()
            .chain(xs.keys())
            .chain(cs.keys())
            .copied()
            .collect();
        for i in indices {
            let at = |m: &BTreeMap<i32, f64>| m.get(&i).copied().unwrap_or(0.0);
            let (s, k) = inc(at(&xs), at(&vs), at(&cs));
            s_out.insert(i, s);
            c_out.insert(i, k);
        }
        let (s_spans, s_counts) = from_index(&s_out);
        let (c_spans, c_counts) = from_index(&c_out);
        if negative {
            (sum.negative_spans, sum.negative_buckets) = (s_spans, s_counts);
            (cmp.negative_spans, cmp.negative_buckets) = (c_spans, c_counts);
        } else {
            (sum.positive_spans, sum.positive_buckets) = (s_spans, s_counts);
            (cmp.positive_spans, cmp.positive_buckets) = (c_spans, c_counts);
        }
    }
    sum.counter_reset_hint = layout.counter_reset_hint;
    *value = sum;
    *comp = Some(cmp);
    Ok(outcome)
}

/// Whether `a` and `b` have the same schema, zero bucket, custom bounds, bucket layout and
/// hint: then they add bucket by bucket with nothing to reconcile.
fn same_layout(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    a.schema == b.schema
        && a.zero_threshold.to_bits() == b.zero_threshold.to_bits()
        && a.counter_reset_hint == b.counter_reset_hint
        && a.positive_spans == b.positive_spans
        && a.negative_spans == b.negative_spans
        && a.positive_buckets.len() == b.positive_buckets.len()
        && a.negative_buckets.len() == b.negative_buckets.len()
        && a.custom_values.len() == b.custom_values.len()
        && a.custom_values
            .iter()
            .zip(&b.custom_values)
            .all(|(x, y)| x.to_bits() == y.to_bits())
}

/// `kahan_add` for operands of the same layout (`same_layout`): element by element.
fn kahan_add_aligned(
    value: &mut FloatHistogram,
    comp: &mut Option<FloatHistogram>,
    h: &FloatHistogram,
) {
    let c = comp.get_or_insert_with(|| emptied(value));
    (value.count, c.count) = inc(h.count, value.count, c.count);
    (value.sum, c.sum) = inc(h.sum, value.sum, c.sum);
    (value.zero_count, c.zero_count) = inc(h.zero_count, value.zero_count, c.zero_count);
    let lists = [
        (
            &mut value.positive_buckets,
            &mut c.positive_buckets,
            &h.positive_buckets,
        ),
        (
            &mut value.negative_buckets,
            &mut c.negative_buckets,
            &h.negative_buckets,
        ),
    ];
    for (vs, cs, xs) in lists {
        for ((v, k), &x) in vs.iter_mut().zip(cs.iter_mut()).zip(xs) {
            (*v, *k) = inc(x, *v, *k);
        }
    }
}

/// Whether any count, the sum or a bucket is infinite (Prometheus's `HasOverflow`).
pub fn has_overflow(h: &FloatHistogram) -> bool {
    [h.count, h.sum, h.zero_count]
        .iter()
        .chain(&h.positive_buckets)
        .chain(&h.negative_buckets)
        .any(|v| v.is_infinite())
}

/// `value + comp`: the compensated result (the compensation's own layout is the value's).
fn settle(mut value: FloatHistogram, comp: Option<&FloatHistogram>) -> FloatHistogram {
    if let Some(c) = comp {
        let hint = value.counter_reset_hint;
        let before = value.clone();
        if value.add(c).is_err() {
            // Cannot happen (same layout family); keep the uncompensated sum.
            value = before;
        }
        value.counter_reset_hint = hint;
    }
    value
}

/// A running compensated sum of histograms (`sum`).
#[derive(Debug, Clone)]
pub struct HistogramSum {
    value: FloatHistogram,
    comp: Option<FloatHistogram>,
}

impl HistogramSum {
    /// A sum starting with `first`.
    pub fn new(first: &FloatHistogram) -> Self {
        HistogramSum {
            value: first.clone(),
            comp: None,
        }
    }

    /// Adds `h`; on an error (a schema mix) the sum is unchanged.
    pub fn push(&mut self, h: &FloatHistogram) -> Result<CombineOutcome, HistogramMathError> {
        kahan_add(&mut self.value, &mut self.comp, h)
    }

    /// The sum, compacted (no empty buckets).
    pub fn result(self) -> FloatHistogram {
        let mut out = settle(self.value, self.comp.as_ref());
        out.compact(0);
        out
    }
}

/// A running mean of histograms (`avg`): the compensated sum divided by the count, switching
/// to an incremental mean once the sum would overflow.
#[derive(Debug, Clone)]
pub struct HistogramMean {
    /// The sum (direct) or the mean (incremental).
    value: FloatHistogram,
    comp: Option<FloatHistogram>,
    count: f64,
    incremental: bool,
}

impl HistogramMean {
    /// A mean starting with `first`.
    pub fn new(first: &FloatHistogram) -> Self {
        HistogramMean {
            value: first.clone(),
            comp: None,
            count: 1.0,
            incremental: false,
        }
    }

    /// Counts one more sample that is not folded in (Prometheus counts every member of an
    /// `avg` group, floats too; such a group gives no result anyway).
    pub fn count_other(&mut self) {
        self.count += 1.0;
    }

    /// Adds `h`; on an error (a schema mix) the mean is unchanged apart from its count.
    pub fn push(&mut self, h: &FloatHistogram) -> Result<CombineOutcome, HistogramMathError> {
        self.count += 1.0;
        let n = self.count;
        if !self.incremental {
            let mut sum = self.value.clone();
            let mut comp = self.comp.clone();
            let outcome = kahan_add(&mut sum, &mut comp, h)?;
            if !has_overflow(&sum) {
                self.value = sum;
                self.comp = comp;
                return Ok(outcome);
            }
            // The sum would overflow: go on with the mean of what was summed so far.
            self.incremental = true;
            self.value.div(n - 1.0);
            if let Some(c) = self.comp.as_mut() {
                c.div(n - 1.0);
            }
        }
        let q = (n - 1.0) / n;
        let mut mean = self.value.clone();
        mean.mul(q);
        let mut comp = self.comp.clone();
        if let Some(c) = comp.as_mut() {
            c.mul(q);
        }
        let mut part = h.clone();
        part.div(n);
        let outcome = kahan_add(&mut mean, &mut comp, &part)?;
        self.value = mean;
        self.comp = comp;
        Ok(outcome)
    }

    /// The mean, compacted.
    pub fn result(self) -> FloatHistogram {
        let mut out = if self.incremental {
            settle(self.value, self.comp.as_ref())
        } else {
            let mut v = self.value;
            v.div(self.count);
            let comp = self.comp.map(|mut c| {
                c.div(self.count);
                c
            });
            settle(v, comp.as_ref())
        };
        out.compact(0);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_lists_round_trip_through_indices() {
        let spans = vec![
            Span {
                offset: -2,
                length: 2,
            },
            Span {
                offset: 3,
                length: 1,
            },
        ];
        let m = by_index(&spans, &[1.0, 2.0, 3.0]);
        assert_eq!(
            m.iter().map(|(&i, &c)| (i, c)).collect::<Vec<_>>(),
            [(-2, 1.0), (-1, 2.0), (3, 3.0)]
        );
        let (s, c) = from_index(&m);
        assert_eq!(s, spans);
        assert_eq!(c, [1.0, 2.0, 3.0]);
        // Spans promising more buckets than there are end early.
        let short = by_index(&spans, &[1.0]);
        assert_eq!(short.len(), 1);
    }

    #[test]
    fn neumaier_keeps_what_plain_addition_loses() {
        let (mut s, mut c) = (0.0, 0.0);
        for x in [3.1, 1e100, -1e100, 1.3] {
            (s, c) = inc(x, s, c);
        }
        assert_eq!(s + c, 4.4);
        let plain: f64 = [3.1, 1e100, -1e100, 1.3].iter().sum();
        assert_ne!(plain, 4.4);
    }

    #[test]
    fn a_subset_layout_adds_in_place_as_the_general_path_does() {
        let span = |offset, length| Span { offset, length };
        // value: buckets 0..=4 in one span; part: buckets 1 and 3 (two spans).
        let value = FloatHistogram {
            count: 15.0,
            sum: 30.0,
            positive_spans: vec![span(0, 5)],
            positive_buckets: vec![1.0, 2.0, 3.0, 4.0, 5.0],
            ..FloatHistogram::default()
        };
        let part = FloatHistogram {
            count: 3.0,
            sum: 7.0,
            positive_spans: vec![span(1, 1), span(1, 1)],
            positive_buckets: vec![1.0, 2.0],
            ..FloatHistogram::default()
        };
        let (mut fast, mut fast_comp) = (value.clone(), None);
        assert!(kahan_add_subset(&mut fast, &mut fast_comp, &part));
        assert_eq!(fast.positive_spans, value.positive_spans);
        assert_eq!(fast.positive_buckets, vec![1.0, 3.0, 3.0, 6.0, 5.0]);
        assert_eq!((fast.count, fast.sum), (18.0, 37.0));
        // The general path (a bucket the value lacks forces it) agrees on the shared buckets.
        let mut wider = part.clone();
        wider.positive_spans.push(span(2, 1));
        wider.positive_buckets.push(0.0);
        let (mut slow, mut slow_comp) = (value.clone(), None);
        assert!(!kahan_add_subset(&mut slow.clone(), &mut None, &wider));
        kahan_add(&mut slow, &mut slow_comp, &wider).unwrap();
        assert_eq!(&slow.positive_buckets[..5], &fast.positive_buckets[..]);
        assert_eq!((slow.count, slow.sum), (fast.count, fast.sum));
        // Another schema is never added in place.
        let other = FloatHistogram { schema: 1, ..part };
        assert!(!kahan_add_subset(&mut fast, &mut fast_comp, &other));
    }

    #[test]
    fn equal_layouts_add_bucket_by_bucket() {
        let h = |sum: f64, b: f64| FloatHistogram {
            count: 2.0,
            sum,
            positive_spans: vec![Span {
                offset: 1,
                length: 2,
            }],
            positive_buckets: vec![1.0, b],
            ..FloatHistogram::default()
        };
        let mut value = h(2.5, 1e100);
        let mut comp = None;
        for x in [h(1e100, 1.0), h(-1e100, -1e100), h(1.5, 2.0)] {
            assert!(same_layout(&value, &x));
            kahan_add(&mut value, &mut comp, &x).unwrap();
        }
        let c = comp.unwrap();
        assert_eq!(value.count + c.count, 8.0);
        assert_eq!(value.sum + c.sum, 4.0);
        assert_eq!(value.positive_buckets[0] + c.positive_buckets[0], 4.0);
        assert_eq!(value.positive_buckets[1] + c.positive_buckets[1], 3.0);
        assert_eq!(value.positive_spans, h(0.0, 0.0).positive_spans);
    }

    #[test]
    fn overflow_is_any_infinite_field() {
        let mut h = FloatHistogram {
            count: 1.0,
            positive_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            positive_buckets: vec![1.0],
            ..FloatHistogram::default()
        };
        assert!(!has_overflow(&h));
        h.positive_buckets[0] = f64::INFINITY;
        assert!(has_overflow(&h));
        h.positive_buckets[0] = f64::NAN;
        assert!(!has_overflow(&h));
    }
}
