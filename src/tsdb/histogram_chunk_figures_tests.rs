//! Figures of the histogram chunk encodings: bytes per sample for a typical histogram, and an
//! ignored timing test of appends and decoding (`cargo test --release --lib
//! histogram_append_speed -- --ignored --nocapture`).

use super::float_histogram_chunk::FloatHistogramChunk;
use super::histogram_chunk::HistogramChunk;
use super::histogram_chunk_tests::{counter_series, int_roundtrip, sp, Rng};

#[test]
fn bytes_per_sample_for_a_typical_histogram() {
    // 20 positive buckets at schema 3, a counter rising at a scrape every 15 s (±20 ms jitter).
    let mut rng = Rng(42);
    let s = counter_series(
        &mut rng,
        120,
        3,
        f64::powi(2.0, -128),
        vec![sp(-10, 20)],
        vec![],
        0,
        4,
    );
    let c = int_roundtrip(&s);
    let int_bps = c.bytes().len() as f64 / 120.0;
    let mut fc = FloatHistogramChunk::new();
    for (t, h) in &s {
        fc.append(*t, &h.to_float()).expect("valid");
    }
    let float_bps = fc.bytes().len() as f64 / 120.0;
    eprintln!("histogram chunk: {int_bps:.1} bytes/sample; float histogram chunk: {float_bps:.1}");
    // Each sample: ~17 bits of timestamp, ~25 of counts, a sum, 20 bucket dods of 5-13 bits.
    assert!(int_bps > 10.0 && int_bps < 40.0, "{int_bps}");
    assert!(float_bps > int_bps, "{float_bps}");
}

/// Append and decode cost; run with `cargo test --release --lib histogram_append_speed --
/// --ignored --nocapture`.
#[test]
#[ignore]
fn histogram_append_speed() {
    let mut rng = Rng(9);
    let s = counter_series(
        &mut rng,
        120,
        3,
        f64::powi(2.0, -128),
        vec![sp(-10, 20)],
        vec![],
        0,
        4,
    );
    let fl: Vec<_> = s.iter().map(|(t, h)| (*t, h.to_float())).collect();
    let rounds = 2000;
    let start = std::time::Instant::now();
    let mut bytes = 0;
    for _ in 0..rounds {
        let mut c = HistogramChunk::new();
        for (t, h) in &s {
            c.append(*t, h).expect("valid");
        }
        bytes += c.bytes().len();
    }
    let int_ns = start.elapsed().as_nanos() as f64 / (rounds * s.len()) as f64;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        let mut c = FloatHistogramChunk::new();
        for (t, h) in &fl {
            c.append(*t, h).expect("valid");
        }
        bytes += c.bytes().len();
    }
    let float_ns = start.elapsed().as_nanos() as f64 / (rounds * s.len()) as f64;
    let c = int_roundtrip(&s);
    let start = std::time::Instant::now();
    let mut n = 0;
    for _ in 0..rounds {
        n += c.iter().count();
    }
    let dec_ns = start.elapsed().as_nanos() as f64 / n as f64;
    eprintln!(
        "append: {int_ns:.0} ns/histogram, {float_ns:.0} ns/float histogram; decode {dec_ns:.0} ns ({bytes})"
    );
}
