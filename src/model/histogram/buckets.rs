//! Buckets with their boundaries, as Prometheus lays them out. Exponential bucket `i` of schema
//! `s` covers `(2^((i−1)·2^−s), 2^(i·2^−s)]` (negative buckets mirrored, `[−upper, −lower)`),
//! except that the last bucket below the overflow ends at `f64::MAX` so that ±Inf observations
//! get a bucket of their own. Custom bucket `i` (schema −53) covers
//! `(custom_values[i−1], custom_values[i]]`, the first starting at −Inf (inclusive) and the last
//! ending at +Inf. The zero bucket is `[−zero_threshold, zero_threshold]`. Also the comparison
//! promqltest uses for histograms (empty buckets ignored, counts within a relative 1e-6).
//! Uses std and the sibling types.

use super::{FloatHistogram, Span, CUSTOM_BUCKETS_SCHEMA};

/// Which list a bucket comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketKind {
    Negative,
    Zero,
    Positive,
    /// A bucket of schema −53.
    Custom,
}

/// One bucket: its bounds, whether each bound belongs to it, its count and index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub lower: f64,
    pub upper: f64,
    pub lower_inclusive: bool,
    pub upper_inclusive: bool,
    pub count: f64,
    /// The bucket index within the schema (0 for the zero bucket).
    pub index: i32,
    pub kind: BucketKind,
}

/// `x · 2^exp` without rounding (powers of two are exact), saturating to 0 or Inf.
fn ldexp(x: f64, exp: i64) -> f64 {
    let mut x = x;
    let mut e = exp.clamp(-2200, 2200);
    while e != 0 {
        let step = e.clamp(-1000, 1000);
        // 2^step is a normal float for |step| ≤ 1000.
        x *= f64::from_bits(((1023 + step) as u64) << 52);
        e -= step;
    }
    x
}

/// The upper bound of positive exponential bucket `index` in `schema` (−4…8).
pub fn exponential_bound(index: i32, schema: i32) -> f64 {
    let index = i64::from(index);
    if schema <= 0 {
        let exp = index << (-schema).min(62);
        if exp == 1024 {
            // The last finite bucket: its computed bound would overflow to +Inf.
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let per_octave = 1i64 << schema;
    let frac_index = index.rem_euclid(per_octave);
    let frac = (frac_index as f64 / per_octave as f64).exp2() / 2.0;
    let exp = index.div_euclid(per_octave) + 1;
    if frac_index == 0 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// The upper bound of bucket `index` in `schema`, custom bounds for schema −53.
fn bound(index: i64, schema: i32, custom: &[f64]) -> f64 {
    if schema == CUSTOM_BUCKETS_SCHEMA {
        if index < 0 {
            return f64::NEG_INFINITY;
        }
        return custom.get(index as usize).copied().unwrap_or(f64::INFINITY);
    }
    exponential_bound(index.clamp(i32::MIN as i64, i32::MAX as i64) as i32, schema)
}

/// The buckets of one list with their absolute indices (spans that promise more buckets than
/// there are simply end early).
pub(crate) fn indexed<'a>(
    spans: &'a [Span],
    counts: &'a [f64],
) -> impl Iterator<Item = (i32, f64)> + 'a {
    let mut next = 0i32;
    spans
        .iter()
        .enumerate()
        .flat_map(move |(n, s)| {
            next = if n == 0 {
                s.offset
            } else {
                next.saturating_add(s.offset)
            };
            let start = next;
            next = next.saturating_add(s.length.min(i32::MAX as u32) as i32);
            (0..s.length).map(move |k| start.saturating_add(k as i32))
        })
        .zip(counts.iter().copied())
}

impl FloatHistogram {
    fn bucket(&self, index: i32, count: f64, positive: bool) -> Bucket {
        let i = i64::from(index);
        let (lo, hi) = (
            bound(i - 1, self.schema, &self.custom_values),
            bound(i, self.schema, &self.custom_values),
        );
        let custom = self.uses_custom_buckets();
        let (lower, upper, kind) = if positive {
            let kind = if custom {
                BucketKind::Custom
            } else {
                BucketKind::Positive
            };
            (lo, hi, kind)
        } else {
            (-hi, -lo, BucketKind::Negative)
        };
        Bucket {
            lower,
            upper,
            lower_inclusive: if custom { index == 0 } else { lower < 0.0 },
            upper_inclusive: custom || upper > 0.0,
            count,
            index,
            kind,
        }
    }

    /// Positive (or custom) buckets in ascending order, empty ones included.
    pub fn positive_bucket_list(&self) -> Vec<Bucket> {
        indexed(&self.positive_spans, &self.positive_buckets)
            .map(|(i, c)| self.bucket(i, c, true))
            .collect()
    }

    /// Negative buckets from the one next to zero downwards, empty ones included.
    pub fn negative_bucket_list(&self) -> Vec<Bucket> {
        indexed(&self.negative_spans, &self.negative_buckets)
            .map(|(i, c)| self.bucket(i, c, false))
            .collect()
    }

    /// The zero bucket, `[−threshold, threshold]`.
    pub fn zero_bucket(&self) -> Bucket {
        Bucket {
            lower: -self.zero_threshold,
            upper: self.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: self.zero_count,
            index: 0,
            kind: BucketKind::Zero,
        }
    }

    /// Every bucket from the lowest value to the highest, as Prometheus's API lists them:
    /// negative buckets, the zero bucket when it holds something, positive buckets; a bucket
    /// reaching into the zero bucket is cut at the zero threshold.
    pub fn all_buckets(&self) -> Vec<Bucket> {
        let zt = self.zero_threshold;
        let clamp = |mut b: Bucket| {
            if b.upper < 0.0 && b.upper > -zt {
                b.upper = -zt;
            }
            if b.lower > 0.0 && b.lower < zt {
                b.lower = zt;
            }
            b
        };
        let mut out: Vec<Bucket> = self
            .negative_bucket_list()
            .into_iter()
            .rev()
            .map(clamp)
            .collect();
        if self.zero_count > 0.0 {
            out.push(self.zero_bucket());
        }
        out.extend(self.positive_bucket_list().into_iter().map(clamp));
        out
    }

    /// Equality as promqltest compares histograms: same schema, exactly the same zero threshold
    /// and (schema −53) custom bounds, count, sum and zero count within a relative 1e-6 (NaN
    /// equal to NaN), and the same non-empty buckets at the same indices with counts within
    /// 1e-6. Empty buckets and the span layout do not matter; the counter-reset hint is not
    /// compared (the caller checks it when the expectation names one).
    pub fn test_equals(&self, other: &FloatHistogram) -> bool {
        fn nonempty(spans: &[Span], counts: &[f64]) -> Vec<(i32, f64)> {
            indexed(spans, counts).filter(|(_, c)| *c != 0.0).collect()
        }
        fn same(a: &[(i32, f64)], b: &[(i32, f64)]) -> bool {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| x.0 == y.0 && almost_equal(x.1, y.1))
        }
        self.schema == other.schema
            && self.zero_threshold == other.zero_threshold
            && (!self.uses_custom_buckets()
                || (self.custom_values.len() == other.custom_values.len()
                    && self
                        .custom_values
                        .iter()
                        .zip(&other.custom_values)
                        .all(|(a, b)| a == b)))
            && almost_equal(self.count, other.count)
            && almost_equal(self.sum, other.sum)
            && almost_equal(self.zero_count, other.zero_count)
            && same(
                &nonempty(&self.positive_spans, &self.positive_buckets),
                &nonempty(&other.positive_spans, &other.positive_buckets),
            )
            && same(
                &nonempty(&self.negative_spans, &self.negative_buckets),
                &nonempty(&other.negative_spans, &other.negative_buckets),
            )
    }
}

/// Float equality as promqltest's: the stale NaN only equals itself, NaN equals NaN, a zero on
/// either side needs (almost) exact equality, otherwise a relative difference below 1e-6.
pub(crate) fn almost_equal(a: f64, b: f64) -> bool {
    const EPS: f64 = 1e-6;
    let (sa, sb) = (crate::model::is_stale_nan(a), crate::model::is_stale_nan(b));
    if sa || sb {
        return sa && sb;
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPS * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPS
}

#[cfg(test)]
#[path = "buckets_tests.rs"]
mod tests;
