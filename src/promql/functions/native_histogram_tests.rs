use super::*;
use crate::model::histogram::CUSTOM_BUCKETS_SCHEMA;
use crate::model::Span;

fn span(offset: i32, length: u32) -> Vec<Span> {
    vec![Span { offset, length }]
}

/// Schema 0, buckets (0.5,1] (1,2] (2,4] (4,8] holding 1, 2, 3, 4.
fn exp_hist() -> FloatHistogram {
    FloatHistogram {
        schema: 0,
        count: 10.0,
        sum: 40.0,
        positive_spans: span(0, 4),
        positive_buckets: vec![1.0, 2.0, 3.0, 4.0],
        ..FloatHistogram::default()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

#[test]
fn quantiles_interpolate_exponentially_inside_exponential_buckets() {
    let h = exp_hist();
    // Rank 5 is the middle of (2,4] (3 observations from rank 3 to 6 → 2/3 in): 2·2^(2/3).
    let (v, e) = quantile(0.5, &h);
    assert!(close(v, 2.0 * (2.0f64 / 3.0).exp2()), "{v}");
    assert_eq!(e, NanEffect::None);
    // Linear interpolation (Prometheus 2.42) would give 2 + 2·(2/3) = 3.33…, not this.
    assert!((v - (2.0 + 4.0 / 3.0)).abs() > 0.1);
    // Rank 0.5 is in the middle of (0.5,1]: sqrt(0.5).
    assert!(close(quantile(0.05, &h).0, 0.5f64.sqrt()));
    assert_eq!(quantile(1.0, &h).0, 8.0);
    assert_eq!(quantile(0.0, &h).0, 0.5);
    assert_eq!(quantile(-0.1, &h).0, f64::NEG_INFINITY);
    assert_eq!(quantile(1.1, &h).0, f64::INFINITY);
    assert!(quantile(f64::NAN, &h).0.is_nan());
    assert!(quantile(0.5, &FloatHistogram::default()).0.is_nan());
}

#[test]
fn negative_buckets_mirror_and_the_zero_bucket_is_linear() {
    let h = FloatHistogram {
        schema: 0,
        count: 4.0,
        sum: -6.0,
        negative_spans: span(1, 1),
        negative_buckets: vec![4.0],
        ..FloatHistogram::default()
    };
    // The bucket [-2,-1): the median sits at -sqrt(2).
    assert!(close(quantile(0.5, &h).0, -(2.0f64.sqrt())));
    assert!(close(quantile(0.25, &h).0, -(2.0f64.powf(0.75))));
    let z = FloatHistogram {
        schema: 0,
        count: 4.0,
        sum: 1.0,
        zero_threshold: 1.0,
        zero_count: 2.0,
        positive_spans: span(1, 1),
        positive_buckets: vec![2.0],
        ..FloatHistogram::default()
    };
    // Only positive buckets: the zero bucket runs from 0 to 1, linearly.
    assert!(close(quantile(0.25, &z).0, 0.5));
    assert!(close(fraction(0.0, 0.5, &z).0, 0.25));
}

#[test]
fn custom_buckets_interpolate_linearly_and_clip_infinite_ends() {
    let h = FloatHistogram {
        schema: CUSTOM_BUCKETS_SCHEMA,
        count: 10.0,
        sum: 30.0,
        positive_spans: span(0, 3),
        positive_buckets: vec![2.0, 4.0, 4.0],
        custom_values: vec![1.0, 5.0],
        ..FloatHistogram::default()
    };
    // Rank 4 is half-way into (1,5]: 3.
    assert!(close(quantile(0.4, &h).0, 3.0));
    // In the first bucket (-Inf,1]: from 0.
    assert!(close(quantile(0.1, &h).0, 0.5));
    // In the +Inf bucket: its lower bound.
    assert_eq!(quantile(0.9, &h).0, 5.0);
    assert!(close(fraction(1.0, 3.0, &h).0, 0.2));
    assert!(close(fraction(f64::NEG_INFINITY, 5.0, &h).0, 0.6));
}

#[test]
fn nan_observations_are_reported() {
    // 15 observations, 12 of them in (0.5,1]: 3 NaNs.
    let h = FloatHistogram {
        schema: 0,
        count: 15.0,
        sum: f64::NAN,
        positive_spans: span(0, 1),
        positive_buckets: vec![12.0],
        ..FloatHistogram::default()
    };
    assert_eq!(quantile(0.8, &h), (1.0, NanEffect::SkewedHigher));
    let (v, e) = quantile(0.81, &h);
    assert!(v.is_nan());
    assert_eq!(e, NanEffect::ResultNaN);
    assert!(close(quantile(0.4, &h).0, 0.5f64.sqrt()));
    assert_eq!(fraction(f64::NEG_INFINITY, f64::INFINITY, &h), (0.8, true));
    let (f, left_out) = fraction(f64::NEG_INFINITY, 0.5f64.sqrt(), &h);
    assert!(close(f, 0.4) && left_out);
    // Only NaN observations.
    let all_nan = FloatHistogram {
        schema: 0,
        count: 3.0,
        sum: f64::NAN,
        ..FloatHistogram::default()
    };
    assert_eq!(quantile(0.4, &all_nan).1, NanEffect::ResultNaN);
    assert_eq!(fraction(0.0, 1.0, &all_nan), (0.0, true));
}

#[test]
fn fractions_interpolate_exponentially() {
    let h = exp_hist();
    assert!(close(fraction(f64::NEG_INFINITY, f64::INFINITY, &h).0, 1.0));
    assert!(close(fraction(1.0, 2.0, &h).0, 0.2));
    // Half of (2,4] on the log scale ends at 2·sqrt(2).
    assert!(close(fraction(2.0, 2.0 * 2.0f64.sqrt(), &h).0, 0.15));
    assert_eq!(fraction(3.0, 3.0, &h).0, 0.0);
    assert!(fraction(f64::NAN, 3.0, &h).0.is_nan());
    assert!(fraction(0.0, 1.0, &FloatHistogram::default()).0.is_nan());
    // fraction inverts quantile.
    let q = quantile(0.7, &h).0;
    assert!(close(fraction(f64::NEG_INFINITY, q, &h).0, 0.7));
}

#[test]
fn variance_places_observations_at_geometric_means() {
    let h = FloatHistogram {
        schema: 0,
        count: 2.0,
        sum: 2.0 * 2.0f64.sqrt() + 4.0 * 2.0f64.sqrt(),
        positive_spans: span(1, 2),
        positive_buckets: vec![1.0, 1.0],
        ..FloatHistogram::default()
    };
    // Buckets (1,2] and (2,4]: geometric means sqrt(2) and 2·sqrt(2); the mean is the sum/count.
    let mean = h.sum / 2.0;
    let want = ((2.0f64.sqrt() - mean).powi(2) + (2.0 * 2.0f64.sqrt() - mean).powi(2)) / 2.0;
    assert!(close(variance(&h), want));
    let z = FloatHistogram {
        schema: 0,
        count: 2.0,
        sum: 0.0,
        zero_threshold: 0.001,
        zero_count: 2.0,
        ..FloatHistogram::default()
    };
    assert_eq!(variance(&z), 0.0);
}
