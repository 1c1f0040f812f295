//! Tests of re-coding an open histogram chunk when new buckets appear: the old samples read
//! back with zeros in the new buckets, however the new buckets lie around the old ones.

use super::float_histogram_chunk::FloatHistogramChunk;
use super::histogram_chunk::{Appended, CounterResetHeader, HistogramChunk, Verdict};
use super::histogram_chunk_tests::{hist, same_int, sp, with_hint};
use crate::model::histogram::CounterResetHint;

#[test]
fn new_buckets_recode_the_chunk_and_missing_empty_buckets_are_filled() {
    let zt = 0.0;
    let h0 = hist(0, zt, vec![sp(0, 2)], &[1, 2], vec![], &[], 0, 1.0);
    let h1 = hist(0, zt, vec![sp(0, 2)], &[2, 2], vec![], &[], 0, 2.0);
    // A new bucket at index 4 and a new negative bucket.
    let h2 = hist(
        0,
        zt,
        vec![sp(0, 2), sp(2, 1)],
        &[3, 2, 1],
        vec![sp(0, 1)],
        &[4],
        0,
        3.0,
    );
    let mut c = HistogramChunk::new();
    for (t, h) in [(1, &h0), (2, &h1)] {
        assert!(matches!(c.append(t, h), Ok(Appended::InPlace)));
    }
    assert_eq!(c.appendable(&h2), Verdict::Recode);
    assert!(matches!(c.append(3, &h2), Ok(Appended::Recoded)));
    let got: Vec<_> = c.iter().collect();
    assert_eq!(got.len(), 3);
    // Earlier samples now carry zero buckets at the new indexes; their counts are unchanged.
    let f0 = got[0].1.to_float();
    assert_eq!(got[0].1.positive_spans, vec![sp(0, 2), sp(2, 1)]);
    assert_eq!(f0.positive_buckets, vec![1.0, 2.0, 0.0]);
    assert_eq!(f0.negative_buckets, vec![0.0]);
    assert_eq!(got[1].1.to_float().positive_buckets, vec![2.0, 2.0, 0.0]);
    assert!(same_int(
        &got[2].1,
        &with_hint(&h2, CounterResetHint::NotCounterReset)
    ));
    // The re-coded chunk is exactly what appending the expanded histograms gives.
    let mut direct = HistogramChunk::new();
    for (t, h) in &got {
        direct.append(*t, h).expect("valid");
    }
    assert_eq!(direct.bytes(), c.bytes());
    // A later histogram without the negative bucket.
    let h3 = hist(
        0,
        zt,
        vec![sp(0, 2), sp(2, 1)],
        &[3, 3, 1],
        vec![],
        &[],
        0,
        4.0,
    );
    // The negative bucket held 4, so dropping it is a reset; an empty one may go missing.
    assert_eq!(
        c.appendable(&h3),
        Verdict::NewChunk(CounterResetHeader::CounterReset)
    );
    let h4 = hist(0, zt, vec![sp(0, 1)], &[0], vec![], &[], 0, 0.0);
    let h5 = hist(0, zt, vec![sp(1, 1)], &[5], vec![], &[], 0, 1.0);
    let mut c = HistogramChunk::new();
    c.append(1, &h4).expect("valid");
    assert!(matches!(c.append(2, &h5), Ok(Appended::Recoded)));
    let got: Vec<_> = c.iter().collect();
    assert_eq!(got[1].1.positive_spans, vec![sp(0, 2)]);
    assert_eq!(got[1].1.to_float().positive_buckets, vec![0.0, 5.0]);
    // Float chunks follow the same rules.
    let mut fc = FloatHistogramChunk::new();
    fc.append(1, &h0.to_float()).expect("valid");
    fc.append(2, &h1.to_float()).expect("valid");
    assert!(matches!(
        fc.append(3, &h2.to_float()),
        Ok(Appended::Recoded)
    ));
    let fg: Vec<_> = fc.iter().collect();
    assert_eq!(fg[0].1.positive_buckets, vec![1.0, 2.0, 0.0]);
    assert_eq!(fg[2].1.positive_buckets, vec![3.0, 2.0, 1.0]);
}

#[test]
fn new_buckets_in_several_runs_before_one_old_bucket_are_all_inserted() {
    // An empty histogram (a created-timestamp zero, or a client's first scrape) and then one
    // whose buckets lie in two spans: two inserts at the same position of the old layout.
    let empty = hist(0, 0.0, vec![], &[], vec![], &[], 0, 0.0);
    let two = hist(
        0,
        0.0,
        vec![sp(-2, 1), sp(4, 2)],
        &[1, 2, 3],
        vec![],
        &[],
        0,
        1.0,
    );
    let mut c = HistogramChunk::new();
    c.append(1, &empty).expect("valid");
    assert!(matches!(c.append(2, &two), Ok(Appended::Recoded)));
    let got: Vec<_> = c.iter().collect();
    assert_eq!(got[0].1.to_float().positive_buckets, vec![0.0; 3]);
    assert_eq!(got[1].1.to_float().positive_buckets, vec![1.0, 2.0, 3.0]);
    // Runs before an old bucket in the middle, and after the last one.
    let mid = hist(0, 0.0, vec![sp(3, 1)], &[1], vec![], &[], 0, 1.0);
    let around = hist(
        0,
        0.0,
        vec![sp(0, 1), sp(2, 2), sp(3, 1)],
        &[1, 1, 1, 1],
        vec![],
        &[],
        0,
        2.0,
    );
    let mut c = HistogramChunk::new();
    c.append(1, &mid).expect("valid");
    assert!(matches!(c.append(2, &around), Ok(Appended::Recoded)));
    let got: Vec<_> = c.iter().collect();
    // New layout: buckets 0, 3, 4 and 8; the old sample held 1 in bucket 3.
    assert_eq!(
        got[0].1.to_float().positive_buckets,
        vec![0.0, 1.0, 0.0, 0.0]
    );
    assert_eq!(got[1].1.to_float().positive_buckets, vec![1.0; 4]);
    let mut fc = FloatHistogramChunk::new();
    fc.append(1, &empty.to_float()).expect("valid");
    assert!(matches!(
        fc.append(2, &two.to_float()),
        Ok(Appended::Recoded)
    ));
    let fg: Vec<_> = fc.iter().collect();
    assert_eq!(fg[0].1.positive_buckets, vec![0.0; 3]);
    assert_eq!(fg[1].1.positive_buckets, vec![1.0, 2.0, 3.0]);
}
