//! Tests of the histogram chunk encodings: hand-assembled bytes from the format description,
//! round trips of many shapes, the append rules (re-coding, counter resets, gauges, stale
//! markers), resuming, corrupt input, and the bytes per sample.

use super::chunkenc::{BitReader, BitWriter};
use super::float_histogram_chunk::FloatHistogramChunk;
use super::histogram_chunk::{
    Appended, CounterResetHeader, HistogramChunk, HistogramChunkError, Verdict,
};
use super::histogram_layout::{
    put_varbit_int, put_varbit_uint, read_layout, read_varbit_int, read_varbit_uint, write_layout,
    Layout,
};
use crate::model::histogram::{CounterResetHint, FloatHistogram, Histogram, Span};
use crate::model::{stale_nan, STALE_NAN_BITS};

pub(super) fn sp(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

/// Absolute counts to stored deltas.
pub(super) fn deltas(abs: &[u64]) -> Vec<i64> {
    let mut prev = 0i64;
    abs.iter()
        .map(|&a| {
            let d = (a as i64).wrapping_sub(prev);
            prev = a as i64;
            d
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(super) fn hist(
    schema: i32,
    zt: f64,
    ps: Vec<Span>,
    pabs: &[u64],
    ns: Vec<Span>,
    nabs: &[u64],
    zero: u64,
    sum: f64,
) -> Histogram {
    let count = zero
        .wrapping_add(pabs.iter().fold(0u64, |a, b| a.wrapping_add(*b)))
        .wrapping_add(nabs.iter().fold(0u64, |a, b| a.wrapping_add(*b)));
    Histogram {
        counter_reset_hint: CounterResetHint::Unknown,
        schema,
        zero_threshold: zt,
        zero_count: zero,
        count,
        sum,
        positive_spans: ps,
        negative_spans: ns,
        positive_buckets: deltas(pabs),
        negative_buckets: deltas(nabs),
        custom_values: vec![],
    }
}

/// Equality with sums compared by bits (NaN sums included).
pub(super) fn same_int(a: &Histogram, b: &Histogram) -> bool {
    a.sum.to_bits() == b.sum.to_bits()
        && Histogram {
            sum: 0.0,
            ..a.clone()
        } == Histogram {
            sum: 0.0,
            ..b.clone()
        }
}

fn same_float(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    a.sum.to_bits() == b.sum.to_bits()
        && a.count.to_bits() == b.count.to_bits()
        && a.zero_count.to_bits() == b.zero_count.to_bits()
        && bits(&a.positive_buckets) == bits(&b.positive_buckets)
        && bits(&a.negative_buckets) == bits(&b.negative_buckets)
        && FloatHistogram {
            sum: 0.0,
            count: 0.0,
            zero_count: 0.0,
            positive_buckets: vec![],
            negative_buckets: vec![],
            ..a.clone()
        } == FloatHistogram {
            sum: 0.0,
            count: 0.0,
            zero_count: 0.0,
            positive_buckets: vec![],
            negative_buckets: vec![],
            ..b.clone()
        }
}

/// The hint a decoded sample of a counter chunk carries.
fn counter_hint(i: usize) -> CounterResetHint {
    if i == 0 {
        CounterResetHint::Unknown
    } else {
        CounterResetHint::NotCounterReset
    }
}

pub(super) fn with_hint(h: &Histogram, hint: CounterResetHint) -> Histogram {
    Histogram {
        counter_reset_hint: hint,
        ..h.clone()
    }
}

/// Appends all in place and checks they decode identically; returns the chunk.
pub(super) fn int_roundtrip(samples: &[(i64, Histogram)]) -> HistogramChunk {
    let mut c = HistogramChunk::new();
    for (t, h) in samples {
        match c.append(*t, h).expect("valid") {
            Appended::InPlace => {}
            other => panic!("expected in place at t={t}, got {other:?}"),
        }
    }
    let got: Vec<(i64, Histogram)> = c.iter().collect();
    assert_eq!(got.len(), samples.len());
    for (i, ((t, h), (gt, gh))) in samples.iter().zip(&got).enumerate() {
        assert_eq!(t, gt);
        let want = if h.is_stale() {
            Histogram {
                sum: h.sum,
                ..Histogram::default()
            }
        } else {
            with_hint(h, counter_hint(i))
        };
        assert!(
            same_int(&want, gh),
            "sample {i}: want {want:?}\n got {gh:?}"
        );
    }
    c
}

pub(super) fn float_roundtrip(
    samples: &[(i64, FloatHistogram)],
    hint: impl Fn(usize) -> CounterResetHint,
) {
    let mut c = FloatHistogramChunk::new();
    for (t, h) in samples {
        assert!(matches!(c.append(*t, h).expect("valid"), Appended::InPlace));
    }
    let got: Vec<(i64, FloatHistogram)> = c.iter().collect();
    assert_eq!(got.len(), samples.len());
    for (i, ((t, h), (gt, gh))) in samples.iter().zip(&got).enumerate() {
        assert_eq!(t, gt);
        let want = if h.is_stale() {
            FloatHistogram {
                sum: h.sum,
                ..FloatHistogram::default()
            }
        } else {
            FloatHistogram {
                counter_reset_hint: hint(i),
                ..h.clone()
            }
        };
        assert!(
            same_float(&want, gh),
            "sample {i}: want {want:?}\n got {gh:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bit-exact chunks assembled by hand from tsdb/docs/format/chunks.md.

#[test]
fn integer_chunk_matches_hand_assembled_bytes() {
    // Two samples, schema 0, zero threshold 2^-128, one positive span {offset 0, length 2}.
    //   t=1000: count 4, zero count 1, sum 2.5, buckets 1, 2 (stored deltas 1, 1)
    //   t=2000: count 5, zero count 1, sum 4.5, buckets 1, 3 (stored deltas 1, 2)
    // Bits, in order (varbit: 0 | 10+3 bits | 110+6 | 1110+9 | 11110+12 | ...):
    //   header   00 02 | 00                      2 samples; flags 00 = counter reset unknown
    //   zero thr 01110100                        byte 116 = frexp exponent -127 + 243
    //   schema   0                               varbit_int 0
    //   pos      10 001 | 10 010 | 0             1 span; length 2; offset 0
    //   neg      0                               0 spans (no custom values: schema != -53)
    //   s0 t     11110 001111101000              varbit_int 1000 (12-bit bucket)
    //   s0 count 10 100, zero count 10 001       varbit_uint 4, 1
    //   s0 sum   0x4004000000000000              64 raw bits of 2.5
    //   s0 bkts  10 001 | 10 001                 varbit_int 1, 1
    //   s1 t     11110 001111101000              dod = 1000 - 0
    //   s1 count 10 001, zero count 0            dods 1 (delta 5 - 4 minus 0), 0
    //   s1 sum   1 1 01011 000100 1011           xor 0x0016000000000000: new window,
    //                                            11 leading zeros, 4 significant bits
    //   s1 bkts  0 | 10 001                      dods 0, 1
    //   padding  to the byte
    let want: &[u8] = &[
        0x00, 0x02, 0x00, 0x74, 0x46, 0x47, 0x8f, 0xa2, 0x91, 0x40, 0x04, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x8c, 0x7c, 0x7d, 0x11, 0x6b, 0x12, 0xd1,
    ];
    let zt = f64::powi(2.0, -128);
    let h0 = hist(0, zt, vec![sp(0, 2)], &[1, 2], vec![], &[], 1, 2.5);
    let h1 = hist(0, zt, vec![sp(0, 2)], &[1, 3], vec![], &[], 1, 4.5);
    assert_eq!((h0.count, h1.count), (4, 5));
    let c = int_roundtrip(&[(1000, h0.clone()), (2000, h1.clone())]);
    assert_eq!(c.bytes(), want);
    // And the decoder reads the hand-made bytes back.
    let got: Vec<_> = super::histogram_chunk::HistogramIter::new(want).collect();
    assert_eq!(
        got,
        vec![
            (1000, h0),
            (2000, with_hint(&h1, CounterResetHint::NotCounterReset))
        ]
    );
}

#[test]
fn float_gauge_chunk_matches_hand_assembled_bytes() {
    // A gauge float histogram: schema 3, zero threshold 0, one positive span {offset -2, length 1}.
    //   t=0:     count 2, zero count 0, sum 1.5, bucket 2
    //   t=15000: count 3, zero count 0, sum 1.5, bucket 3
    //   t=30000: count 4, zero count 0, sum 2.5, bucket 3
    // Bits:
    //   header 00 03 | c0                        3 samples; flags 11 = gauge
    //   zero thr 00000000                        threshold 0
    //   schema 10 011                            varbit_int 3
    //   pos    10 001 | 10 001 | 10 110          1 span; length 1; offset -2 (3-bit two's compl.)
    //   neg    0
    //   s0     0 | 64 bits 2.0 | 64 bits 0.0 | 64 bits 1.5 | 64 bits 2.0   t=0, raw floats
    //   s1 t   111110 000011101010011000         dod 15000 (18-bit bucket)
    //      count 1 1 01100 000001 1              xor 0x0008000000000000: 12 leading, 1 bit
    //      zero  0, sum 0                        unchanged
    //      bkt   1 1 01100 000001 1              same xor, the bucket's own first window
    //   s2 t   0                                 dod 0
    //      count 1 1 01011 000010 11             xor 0x0018000000000000: 11 leading < 12,
    //                                            so a new window of 2 bits
    //      zero  0
    //      sum   1 1 00001 001101 1111111111111  xor 0x7ffc000000000000: 1 leading, 13 bits
    //      bkt   0
    let want: &[u8] = &[
        0x00, 0x03, 0xc0, 0x00, 0x9c, 0x63, 0x61, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xe0, 0xea, 0x63, 0x60, 0x33, 0x60,
        0x36, 0xb0, 0xb6, 0x13, 0x7f, 0xfe,
    ];
    let fh = |count: f64, sum: f64, b: f64| FloatHistogram {
        counter_reset_hint: CounterResetHint::Gauge,
        schema: 3,
        count,
        sum,
        positive_spans: vec![sp(-2, 1)],
        positive_buckets: vec![b],
        ..FloatHistogram::default()
    };
    let samples = [
        (0, fh(2.0, 1.5, 2.0)),
        (15_000, fh(3.0, 1.5, 3.0)),
        (30_000, fh(4.0, 2.5, 3.0)),
    ];
    let mut c = FloatHistogramChunk::new();
    for (t, h) in &samples {
        assert!(matches!(c.append(*t, h), Ok(Appended::InPlace)));
    }
    assert_eq!(c.bytes(), want);
    assert_eq!(c.counter_reset_header(), CounterResetHeader::Gauge);
    let got: Vec<_> = super::float_histogram_chunk::FloatHistogramIter::new(want).collect();
    assert_eq!(got, samples.to_vec());
}

// ---------------------------------------------------------------------------------------------
// The pieces.

#[test]
fn varbit_widths_and_boundaries() {
    // (value, bits) at each bucket's edges: 1, 5, 9, 13, 17, 24, 32, 64, 72 bits.
    let ints: &[(i64, usize)] = &[
        (0, 1),
        (1, 5),
        (4, 5),
        (-3, 5),
        (5, 9),
        (-4, 9),
        (32, 9),
        (-31, 9),
        (33, 13),
        (-32, 13),
        (256, 13),
        (-255, 13),
        (257, 17),
        (2048, 17),
        (-2047, 17),
        (2049, 24),
        (131_072, 24),
        (-131_071, 24),
        (131_073, 32),
        (16_777_216, 32),
        (-16_777_215, 32),
        (16_777_217, 64),
        (1 << 55, 64),
        (-(1 << 55) + 1, 64),
        ((1 << 55) + 1, 72),
        (-(1 << 55), 72),
        (i64::MAX, 72),
        (i64::MIN, 72),
    ];
    for &(v, bits) in ints {
        let mut w = BitWriter::default();
        put_varbit_int(&mut w, v);
        let used = w.bytes.len() * 8 - usize::from(w.free);
        assert_eq!(used, bits, "varbit_int {v}");
        let mut r = BitReader {
            bytes: &w.bytes,
            pos: 0,
        };
        assert_eq!(read_varbit_int(&mut r), Some(v));
        assert_eq!(r.pos, bits);
    }
    let uints: &[(u64, usize)] = &[
        (0, 1),
        (7, 5),
        (8, 9),
        (63, 9),
        (64, 13),
        (511, 13),
        (4095, 17),
        (4096, 24),
        (262_143, 24),
        (33_554_431, 32),
        (33_554_432, 64),
        ((1 << 56) - 1, 64),
        (1 << 56, 72),
        (u64::MAX, 72),
    ];
    for &(v, bits) in uints {
        let mut w = BitWriter::default();
        put_varbit_uint(&mut w, v);
        assert_eq!(
            w.bytes.len() * 8 - usize::from(w.free),
            bits,
            "varbit_uint {v}"
        );
        let mut r = BitReader {
            bytes: &w.bytes,
            pos: 0,
        };
        assert_eq!(read_varbit_uint(&mut r), Some(v));
    }
    // Truncated input is an error, not a panic.
    assert_eq!(
        read_varbit_int(&mut BitReader {
            bytes: &[0xff],
            pos: 0
        }),
        None
    );
    assert_eq!(
        read_varbit_uint(&mut BitReader {
            bytes: &[0xf8],
            pos: 0
        }),
        None
    );
}

fn layout_bytes(l: &Layout) -> Vec<u8> {
    let mut w = BitWriter::default();
    write_layout(&mut w, l);
    let back = read_layout(&mut BitReader {
        bytes: &w.bytes,
        pos: 0,
    })
    .expect("reads back");
    assert_eq!(back.zero_threshold.to_bits(), l.zero_threshold.to_bits());
    assert_eq!(
        back.custom_values
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>(),
        l.custom_values
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>()
    );
    assert_eq!(
        (back.schema, &back.positive_spans),
        (l.schema, &l.positive_spans)
    );
    w.bytes
}

#[test]
fn zero_threshold_and_custom_bound_encodings() {
    let zt = |z: f64| {
        layout_bytes(&Layout {
            zero_threshold: z,
            ..Layout::default()
        })
    };
    assert_eq!(zt(0.0)[0], 0);
    assert_eq!(zt(f64::powi(2.0, -128))[0], 116);
    assert_eq!(zt(f64::powi(2.0, -243))[0], 1);
    assert_eq!(zt(1024.0)[0], 254);
    assert_eq!(zt(1.0)[0], 244);
    // Not powers of two in range: 255 and the float (9 bytes, then the schema bits).
    for z in [
        2048.0,
        f64::powi(2.0, -244),
        0.001,
        3.0,
        -1.0,
        f64::INFINITY,
    ] {
        let b = zt(z);
        assert_eq!((b[0], b.len()), (255, 10), "{z}");
    }
    // Custom bounds (schema -53): multiples of 0.001 up to 33554.43 as varbit_uint(x*1000+1),
    // others as a 0 bit and 64 raw bits.
    let cv = |v: Vec<f64>| {
        layout_bytes(&Layout {
            schema: -53,
            positive_spans: vec![sp(0, 2)],
            custom_values: v,
            ..Layout::default()
        })
    };
    let short = cv(vec![0.005, 0.01, 0.25, 1.0, 10.0, 33_554.43]);
    let long = cv(vec![
        33_554.431,
        -1.0,
        0.1 + 0.2,
        f64::INFINITY,
        1e300,
        0.0005,
    ]);
    assert!(
        short.len() + 30 < long.len(),
        "{} vs {}",
        short.len(),
        long.len()
    );
    // A custom bound 0 is stored as varbit_uint(1): 5 bits.
    assert_eq!(cv(vec![0.0]).len(), cv(vec![]).len() + 1);
}

// ---------------------------------------------------------------------------------------------
// Round trips.

pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A counter series of `n` histograms with the given layout, counts only going up.
#[allow(clippy::too_many_arguments)]
pub(super) fn counter_series(
    rng: &mut Rng,
    n: usize,
    schema: i32,
    zt: f64,
    ps: Vec<Span>,
    ns: Vec<Span>,
    start: u64,
    step: u64,
) -> Vec<(i64, Histogram)> {
    let np: usize = ps.iter().map(|s| s.length as usize).sum();
    let nn: usize = ns.iter().map(|s| s.length as usize).sum();
    let mut p: Vec<u64> = (0..np).map(|_| start + rng.below(5)).collect();
    let mut q: Vec<u64> = (0..nn).map(|_| start + rng.below(5)).collect();
    let mut zero = start;
    let mut sum = 0.0f64;
    let mut t = 1_700_000_000_000i64;
    let mut out = vec![];
    for _ in 0..n {
        out.push((
            t,
            hist(schema, zt, ps.clone(), &p, ns.clone(), &q, zero, sum),
        ));
        t += 15_000 + rng.below(40) as i64 - 20;
        for b in p.iter_mut().chain(q.iter_mut()) {
            *b = b.wrapping_add(rng.below(step + 1));
        }
        zero += rng.below(step + 1);
        sum += rng.below(1000) as f64 * 0.125;
    }
    out
}

#[test]
fn many_shapes_round_trip() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for schema in -4..=8 {
        let s = counter_series(
            &mut rng,
            130,
            schema,
            f64::powi(2.0, -128),
            vec![sp(-3, 4), sp(2, 3), sp(10, 1)],
            vec![sp(1, 2)],
            0,
            3,
        );
        int_roundtrip(&s);
        let fl: Vec<_> = s.iter().map(|(t, h)| (*t, h.to_float())).collect();
        float_roundtrip(&fl, counter_hint);
    }
    // No buckets at all; only a zero bucket; empty spans in between; a zero threshold of 0.
    for (ps, ns) in [
        (vec![], vec![]),
        (vec![sp(0, 0)], vec![]),
        (
            vec![sp(5, 2), sp(0, 0), sp(3, 0), sp(1, 1)],
            vec![sp(-7, 0), sp(-2, 3)],
        ),
        (vec![sp(-1000, 1), sp(2000, 1)], vec![sp(i32::MAX / 2, 1)]),
    ] {
        let s = counter_series(&mut rng, 40, 2, 0.0, ps, ns, 1, 10);
        int_roundtrip(&s);
        let fl: Vec<_> = s.iter().map(|(t, h)| (*t, h.to_float())).collect();
        float_roundtrip(&fl, counter_hint);
    }
    // Huge counts and jumps: 64-bit varbits everywhere.
    let s = counter_series(
        &mut rng,
        20,
        0,
        1e-3,
        vec![sp(0, 3)],
        vec![],
        1 << 60,
        1 << 58,
    );
    int_roundtrip(&s);
    // Custom buckets (NHCB) with their bounds.
    let mut s = counter_series(&mut rng, 125, -53, 0.0, vec![sp(0, 5)], vec![], 0, 7);
    for (_, h) in s.iter_mut() {
        h.custom_values = vec![0.005, 0.1, 1.0, 2.5, 1e9];
    }
    let c = int_roundtrip(&s);
    assert_eq!(c.num_samples(), 125);
    // NaN (not stale) and infinite sums, then a stale marker, which may only be followed by more.
    let mut s = counter_series(&mut rng, 6, 1, 0.0, vec![sp(0, 2)], vec![sp(0, 1)], 0, 2);
    s[2].1.sum = f64::NAN;
    s[3].1.sum = f64::from_bits(0x7ff0_0000_0000_0001);
    s[4].1.sum = f64::INFINITY;
    s.push((
        s[5].0 + 15_000,
        Histogram {
            sum: stale_nan(),
            ..s[5].1.clone()
        },
    ));
    s.push((
        s[6].0 + 15_000,
        Histogram {
            sum: stale_nan(),
            ..Histogram::default()
        },
    ));
    let c = int_roundtrip(&s);
    let last: Vec<_> = c.iter().collect();
    assert!(last[6].1.is_stale() && last[7].1.is_stale());
    assert_eq!(last[6].1.sum.to_bits(), STALE_NAN_BITS);
    let fl: Vec<_> = s.iter().map(|(t, h)| (*t, h.to_float())).collect();
    float_roundtrip(&fl, counter_hint);
    // A chunk that starts with a stale marker.
    int_roundtrip(&[(
        5,
        Histogram {
            sum: stale_nan(),
            ..Histogram::default()
        },
    )]);
    // Fractional float histograms (rates), gauges going both ways.
    let mut f = vec![];
    for i in 0..150 {
        let x = i as f64;
        f.push((
            i * 60_000,
            FloatHistogram {
                counter_reset_hint: CounterResetHint::Gauge,
                schema: -2,
                zero_threshold: 0.5,
                zero_count: (x * 0.3).sin().abs(),
                count: 10.0 + (x * 0.1).cos(),
                sum: -x / 3.0,
                positive_spans: vec![sp(0, 3)],
                positive_buckets: vec![x / 7.0, 0.0, 1e-9 * x],
                negative_spans: vec![sp(-2, 1)],
                negative_buckets: vec![(x * 0.2).sin() + 2.0],
                ..FloatHistogram::default()
            },
        ));
    }
    float_roundtrip(&f, |_| CounterResetHint::Gauge);
}

// ---------------------------------------------------------------------------------------------
// Append rules.

#[test]
fn counter_resets_and_layout_changes_cut_new_chunks() {
    let base = hist(1, 0.0, vec![sp(0, 2)], &[3, 3], vec![], &[], 2, 10.0);
    let mut c = HistogramChunk::new();
    c.append(1, &base).expect("valid");
    let cases: Vec<(Histogram, CounterResetHeader)> = vec![
        // Count going down.
        (
            hist(1, 0.0, vec![sp(0, 2)], &[1, 1], vec![], &[], 2, 1.0),
            CounterResetHeader::CounterReset,
        ),
        // One bucket going down while the count goes up.
        (
            hist(1, 0.0, vec![sp(0, 2)], &[2, 9], vec![], &[], 2, 11.0),
            CounterResetHeader::CounterReset,
        ),
        // Zero count going down.
        (
            hist(1, 0.0, vec![sp(0, 2)], &[4, 4], vec![], &[], 1, 11.0),
            CounterResetHeader::CounterReset,
        ),
        // A bucket in use disappearing.
        (
            hist(1, 0.0, vec![sp(1, 1)], &[9], vec![], &[], 2, 11.0),
            CounterResetHeader::CounterReset,
        ),
        // Schema or zero threshold changes: unknown.
        (
            hist(0, 0.0, vec![sp(0, 2)], &[3, 3], vec![], &[], 2, 11.0),
            CounterResetHeader::Unknown,
        ),
        (
            hist(1, 0.5, vec![sp(0, 2)], &[3, 3], vec![], &[], 2, 11.0),
            CounterResetHeader::Unknown,
        ),
        // An explicit reset hint.
        (
            Histogram {
                counter_reset_hint: CounterResetHint::CounterReset,
                ..base.clone()
            },
            CounterResetHeader::CounterReset,
        ),
        // A gauge after counters.
        (
            Histogram {
                counter_reset_hint: CounterResetHint::Gauge,
                ..base.clone()
            },
            CounterResetHeader::Gauge,
        ),
    ];
    for (h, hdr) in cases {
        assert_eq!(c.appendable(&h), Verdict::NewChunk(hdr), "{h:?}");
        let before = c.bytes().to_vec();
        match c.append(2, &h).expect("valid") {
            Appended::NewChunk(n) => {
                assert_eq!(n.counter_reset_header(), hdr);
                assert_eq!(n.num_samples(), 1);
                let (t, got) = n.iter().next().expect("one sample");
                assert_eq!(t, 2);
                let want_hint = if hdr == CounterResetHeader::Gauge {
                    CounterResetHint::Gauge
                } else {
                    CounterResetHint::Unknown
                };
                assert!(same_int(&got, &with_hint(&h, want_hint)));
            }
            other => panic!("expected a new chunk, got {other:?}"),
        }
        assert_eq!(c.bytes(), before, "the old chunk stays unchanged");
        let f = h.to_float();
        let mut fc = FloatHistogramChunk::new();
        fc.append(1, &base.to_float()).expect("valid");
        let fhdr = if hdr == CounterResetHeader::CounterReset || hdr == CounterResetHeader::Gauge {
            hdr
        } else {
            CounterResetHeader::Unknown
        };
        assert_eq!(fc.appendable(&f), Verdict::NewChunk(fhdr), "{f:?}");
    }
    // Custom bounds changing is a reset; the same bounds append.
    let mut a = hist(-53, 0.0, vec![sp(0, 2)], &[1, 1], vec![], &[], 0, 1.0);
    a.custom_values = vec![1.0, 2.0];
    let mut b = hist(-53, 0.0, vec![sp(0, 2)], &[1, 2], vec![], &[], 0, 2.0);
    b.custom_values = vec![1.0, 2.0];
    let mut c = HistogramChunk::new();
    c.append(1, &a).expect("valid");
    assert_eq!(c.appendable(&b), Verdict::Append);
    b.custom_values = vec![1.0, 3.0];
    assert_eq!(
        c.appendable(&b),
        Verdict::NewChunk(CounterResetHeader::CounterReset)
    );
    // Counters after a gauge chunk: not a reset, but a new chunk.
    let mut g = HistogramChunk::new();
    g.append(
        1,
        &Histogram {
            counter_reset_hint: CounterResetHint::Gauge,
            ..base.clone()
        },
    )
    .expect("valid");
    assert_eq!(
        g.appendable(&base),
        Verdict::NewChunk(CounterResetHeader::NotCounterReset)
    );
    // Mismatched buckets and spans are refused, not encoded.
    let bad = Histogram {
        positive_buckets: vec![1],
        ..base.clone()
    };
    assert!(matches!(
        c.append(3, &bad),
        Err(HistogramChunkError::BucketsDontMatchSpans { .. })
    ));
}

#[test]
fn gauges_go_down_and_merge_buckets_both_ways() {
    let g = |ps: Vec<Span>, abs: &[u64], zero: u64| Histogram {
        counter_reset_hint: CounterResetHint::Gauge,
        ..hist(2, 0.0, ps, abs, vec![], &[], zero, -1.0)
    };
    let mut c = HistogramChunk::new();
    c.append(1, &g(vec![sp(0, 2)], &[5, 5], 3)).expect("valid");
    assert!(matches!(
        c.append(2, &g(vec![sp(0, 2)], &[1, 0], 0)),
        Ok(Appended::InPlace)
    ));
    // Bucket 0 gone (filled with zero), bucket 3 new (chunk re-coded).
    assert!(matches!(
        c.append(3, &g(vec![sp(1, 1), sp(1, 1)], &[2, 7], 1)),
        Ok(Appended::Recoded)
    ));
    let got: Vec<_> = c.iter().collect();
    assert_eq!(c.counter_reset_header(), CounterResetHeader::Gauge);
    for (_, h) in &got {
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
        assert_eq!(h.positive_spans, vec![sp(0, 2), sp(1, 1)]);
    }
    let abs: Vec<Vec<f64>> = got
        .iter()
        .map(|(_, h)| h.to_float().positive_buckets)
        .collect();
    assert_eq!(
        abs,
        vec![
            vec![5.0, 5.0, 0.0],
            vec![1.0, 0.0, 0.0],
            vec![0.0, 2.0, 7.0]
        ]
    );
    // The float chunk merges the same way.
    let mut fc = FloatHistogramChunk::new();
    fc.append(1, &g(vec![sp(0, 2)], &[5, 5], 3).to_float())
        .expect("valid");
    fc.append(3, &g(vec![sp(1, 1), sp(1, 1)], &[2, 7], 1).to_float())
        .expect("valid");
    let fabs: Vec<Vec<f64>> = fc.iter().map(|(_, h)| h.positive_buckets).collect();
    assert_eq!(fabs, vec![vec![5.0, 5.0, 0.0], vec![0.0, 2.0, 7.0]]);
    // A schema change in a gauge series cuts a gauge chunk.
    let other = Histogram {
        schema: 3,
        ..g(vec![sp(0, 1)], &[1], 0)
    };
    assert_eq!(
        c.appendable(&other),
        Verdict::NewChunk(CounterResetHeader::Gauge)
    );
}

#[test]
fn stale_markers_end_a_chunk() {
    let h = |v: u64| hist(0, 0.0, vec![sp(0, 1)], &[v], vec![], &[], 0, v as f64);
    let stale = Histogram {
        sum: stale_nan(),
        ..Histogram::default()
    };
    let mut c = HistogramChunk::new();
    c.append(1, &h(1)).expect("valid");
    assert!(matches!(c.append(2, &stale), Ok(Appended::InPlace)));
    assert!(matches!(c.append(3, &stale), Ok(Appended::InPlace)));
    match c.append(4, &h(2)).expect("valid") {
        Appended::NewChunk(n) => assert_eq!(n.counter_reset_header(), CounterResetHeader::Unknown),
        other => panic!("{other:?}"),
    }
    let got: Vec<_> = c.iter().collect();
    assert!(!got[0].1.is_stale() && got[1].1.is_stale() && got[2].1.is_stale());
    assert!(same_int(
        &got[1].1,
        &Histogram {
            sum: stale_nan(),
            ..Histogram::default()
        }
    ));
    let mut fc = FloatHistogramChunk::new();
    fc.append(1, &h(1).to_float()).expect("valid");
    fc.append(2, &stale.to_float()).expect("valid");
    assert_eq!(
        fc.appendable(&h(2).to_float()),
        Verdict::NewChunk(CounterResetHeader::Unknown)
    );
    let fg: Vec<_> = fc.iter().collect();
    assert!(fg[1].1.is_stale());
}

#[test]
fn resume_continues_bit_exactly() {
    let mut rng = Rng(77);
    let s = counter_series(&mut rng, 60, 3, 0.0, vec![sp(-2, 5)], vec![sp(0, 2)], 0, 4);
    let mut whole = HistogramChunk::new();
    let mut fwhole = FloatHistogramChunk::new();
    for (t, h) in &s {
        whole.append(*t, h).expect("valid");
        fwhole.append(*t, &h.to_float()).expect("valid");
    }
    for cut in [0usize, 1, 2, 3, 30, 59] {
        let mut first = HistogramChunk::new();
        let mut ffirst = FloatHistogramChunk::new();
        for (t, h) in &s[..cut] {
            first.append(*t, h).expect("valid");
            ffirst.append(*t, &h.to_float()).expect("valid");
        }
        let mut r = HistogramChunk::from_bytes(first.bytes()).expect("valid chunk");
        let mut fr = FloatHistogramChunk::from_bytes(ffirst.bytes()).expect("valid chunk");
        for (t, h) in &s[cut..] {
            r.append(*t, h).expect("valid");
            fr.append(*t, &h.to_float()).expect("valid");
        }
        assert_eq!(r.bytes(), whole.bytes(), "cut at {cut}");
        assert_eq!(fr.bytes(), fwhole.bytes(), "float cut at {cut}");
    }
    assert!(HistogramChunk::from_bytes(&whole.bytes()[..whole.bytes().len() / 2]).is_none());
}

#[test]
fn corrupt_bytes_never_panic() {
    let mut rng = Rng(5);
    let s = counter_series(
        &mut rng,
        120,
        5,
        0.0,
        vec![sp(0, 6), sp(3, 4)],
        vec![sp(-1, 3)],
        0,
        9,
    );
    let mut c = HistogramChunk::new();
    let mut fc = FloatHistogramChunk::new();
    for (t, h) in &s {
        c.append(*t, h).expect("valid");
        fc.append(*t, &h.to_float()).expect("valid");
    }
    for good in [c.bytes().to_vec(), fc.bytes().to_vec()] {
        for len in 0..good.len().min(300) {
            let _ = super::histogram_chunk::HistogramIter::new(&good[..len]).count();
            let _ = super::float_histogram_chunk::FloatHistogramIter::new(&good[..len]).count();
        }
        for _ in 0..3000 {
            let mut b = good.clone();
            let i = rng.below(b.len() as u64) as usize;
            b[i] ^= rng.next() as u8 | 1;
            let _ = super::histogram_chunk::HistogramIter::new(&b).count();
            let _ = super::float_histogram_chunk::FloatHistogramIter::new(&b).count();
            let _ = HistogramChunk::from_bytes(&b);
            let _ = FloatHistogramChunk::from_bytes(&b);
        }
    }
    // A layout claiming millions of buckets in a few bytes is refused, not allocated.
    let mut w = BitWriter::default();
    for b in [0, 0, 0] {
        w.write_byte(b);
    }
    w.bytes[1] = 1;
    w.write_byte(0);
    put_varbit_int(&mut w, 0);
    put_varbit_uint(&mut w, 1);
    put_varbit_uint(&mut w, u64::from(u32::MAX));
    put_varbit_int(&mut w, 0);
    put_varbit_uint(&mut w, 0);
    let mut it = super::histogram_chunk::HistogramIter::new(&w.bytes);
    assert!(it.next().is_none() && it.error);
}
