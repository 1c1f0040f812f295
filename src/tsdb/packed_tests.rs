//! Tests of the packed-columns row format (`packed`, format 5): any samples round-trip bit for
//! bit (timestamps in any order, any f64 bits), it is smaller than the decimal format on
//! scraped data, rows of the older formats are still read through the store's read path, and
//! damaged bytes give `None`, never a panic.

use super::chunk_rows::{decode_row, RowSamples};
use super::chunkenc::{decode_persisted, encode_decimal, encode_persisted, FMT_PACKED};
use super::packed;
use super::*;
use crate::model::{MatchOp, Matcher, Sample, STALE_NAN_BITS};
use crate::storage::{Appender, Querier, SeriesInput};
use proptest::prelude::*;

fn bits(s: &[(i64, f64)]) -> Vec<(i64, u64)> {
    s.iter().map(|&(t, v)| (t, v.to_bits())).collect()
}

/// Packed bytes (format 5 whatever XOR would cost) and their decoding, checked bit for bit.
fn packed_roundtrip(s: &[(i64, f64)]) -> Vec<u8> {
    let b = packed::encode(FMT_PACKED, s).expect("not too many samples");
    assert_eq!(b[0], FMT_PACKED);
    let back = decode_persisted(&b).expect("decodes");
    assert_eq!(bits(&back), bits(s));
    b
}

/// A scraped series: 15 s steps with up to 50 ms jitter, a missed scrape now and then.
fn scraped(n: usize, value: impl Fn(usize) -> f64) -> Vec<(i64, f64)> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut t = 1_700_000_000_000i64;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t += if i % 97 == 50 { 30_000 } else { 15_000 };
            (t + (x % 50) as i64, value(i))
        })
        .collect()
}

#[test]
fn special_values_and_edges_round_trip() {
    let stale = f64::from_bits(STALE_NAN_BITS);
    packed_roundtrip(&[]);
    packed_roundtrip(&[(5, -0.0)]);
    packed_roundtrip(&[(i64::MIN, stale)]);
    packed_roundtrip(&[(i64::MIN, 1.0), (i64::MAX, 2.0)]);
    packed_roundtrip(&[(i64::MAX, 1.0), (i64::MIN, 2.0), (0, 3.0)]);
    packed_roundtrip(&[(1, 1.0), (1, 1.0), (0, 1.0)]);
    packed_roundtrip(&[
        (1, f64::NAN),
        (2, -0.0),
        (3, f64::INFINITY),
        (4, 0.1 + 0.2),
        (5, 1e300),
        (6, f64::from_bits(0x7ff0_0000_0000_0002)),
        (7, stale),
        (8, 3.0),
        (9, f64::NEG_INFINITY),
        (10, f64::MIN_POSITIVE),
        (11, -9_007_199_254_740_993.0),
    ]);
    // Mantissas whose deltas overflow i64 still round-trip (wrapping arithmetic).
    packed_roundtrip(&[(0, 9.0e15), (1, -9.0e15), (2, 9.0e15), (3, 0.0)]);
    packed_roundtrip(&[(0, 1e-15), (1, 2.5), (2, 123_456.789)]);
}

#[test]
fn a_stale_marker_in_a_decimal_row_costs_one_raw_value() {
    let mut s = scraped(480, |i| (1000 + i * 37) as f64);
    let plain = packed_roundtrip(&s).len();
    s[300].1 = f64::from_bits(STALE_NAN_BITS);
    let with_stale = encode_persisted(&s, None);
    assert_eq!(with_stale[0], FMT_PACKED);
    assert_eq!(bits(&decode_persisted(&with_stale).unwrap()), bits(&s));
    assert!(
        with_stale.len() <= plain + 24,
        "{} vs {plain}",
        with_stale.len()
    );
}

#[test]
fn scraped_rows_are_smaller_than_the_decimal_format() {
    let counter = scraped(480, |i| (1000 + i * 37 + (i * 7919) % 23) as f64);
    let gauge = scraped(480, |i| {
        ((50.0 + 40.0 * (i as f64 / 4.0).sin()) * 100.0).round() / 100.0
    });
    let constant = scraped(480, |_| 1.0);
    for (name, s) in [
        ("counter", counter),
        ("gauge", gauge),
        ("constant", constant),
    ] {
        let new = encode_persisted(&s, None);
        let old = encode_decimal(&s, None);
        assert_eq!(new[0], FMT_PACKED, "{name}");
        assert_eq!(bits(&decode_persisted(&new).unwrap()), bits(&s));
        assert!(
            new.len() * 10 < old.len() * 8,
            "{name}: packed {} vs decimal {}",
            new.len(),
            old.len()
        );
    }
    // Grid timestamps: jitter below 64 ms costs 6 bits a sample, a missed scrape a few bytes.
    let times = scraped(480, |_| 0.0);
    let n = packed_roundtrip(&times).len();
    assert!(n < 480 * 6 / 8 + 40, "{n}");
}

#[test]
fn damaged_packed_rows_are_none_never_a_panic() {
    let mut s = scraped(300, |i| (i * i) as f64 / 4.0);
    s[17].1 = f64::NAN;
    s[200].1 = -0.0;
    let good = packed_roundtrip(&s);
    for cut in 0..good.len() {
        assert_eq!(decode_persisted(&good[..cut]), None, "cut at {cut}");
    }
    let mut longer = good.clone();
    longer.push(0);
    assert_eq!(decode_persisted(&longer), None);
    let mut x = 11u64;
    for _ in 0..5000 {
        let mut b = good.clone();
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let i = 1 + (x >> 33) as usize % (b.len() - 1);
        b[i] ^= (x >> 11) as u8 | 1;
        if let Some(v) = decode_persisted(&b) {
            assert!(v.len() <= packed::MAX_PACKED_SAMPLES);
        }
    }
    // A huge sample count is refused before anything is allocated.
    let mut huge = vec![FMT_PACKED];
    super::varint::put_uvarint(&mut huge, u64::MAX / 2);
    assert_eq!(decode_persisted(&huge), None);
    assert_eq!(decode_persisted(&[FMT_PACKED]), None);
    assert_eq!(decode_row(&[FMT_PACKED, 2, 0, 7]), None);
}

/// Rows written in the older formats (XOR, decimal) are served by queries after a restart.
#[test]
fn old_format_rows_are_read_through_the_query_path() {
    let dir = tempfile::tempdir().unwrap();
    let old: Vec<(i64, f64)> = (0..200)
        .map(|i| {
            (
                1_000_000 + i * 15_000 + i % 7,
                (1000 + i * 37 + i % 5) as f64,
            )
        })
        .collect();
    let xor_values: Vec<(i64, f64)> = (0..50)
        .map(|i| (10_000_000 + i * 15_000, (i as f64).sqrt()))
        .collect();
    {
        let (db, _) = Db::open(dir.path(), no_retention()).unwrap();
        let mut l = vec![("__name__", "old"), ("job", "j")];
        l.sort();
        db.append(&[SeriesInput {
            labels: l,
            samples: vec![Sample {
                t: 50_000_000,
                v: 0.0,
            }],
        }])
        .unwrap();
        db.close().unwrap();
    }
    {
        let c = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        let id: i64 = c
            .query_row("SELECT series_id FROM open_chunks", [], |r| r.get(0))
            .unwrap();
        let decimal = encode_decimal(&old, None);
        assert_eq!(decimal[0], 1);
        let xor = encode_decimal(&xor_values, None);
        assert_eq!(xor[0], 0);
        for (rows, data) in [(&old, decimal), (&xor_values, xor)] {
            c.execute(
                "INSERT INTO chunks (series_id, min_t, max_t, data) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![id, rows[0].0, rows[rows.len() - 1].0, data],
            )
            .unwrap();
        }
    }
    let (db, _) = Db::open(dir.path(), no_retention()).unwrap();
    let m = [Matcher::new(MatchOp::Equal, "__name__", "old").unwrap()];
    let got = db.select(&m, i64::MIN, 40_000_000).unwrap();
    assert_eq!(
        got.len(),
        1,
        "{:?}",
        db.select(&m, i64::MIN, i64::MAX).unwrap()
    );
    let got: Vec<(i64, f64)> = got[0].samples.iter().map(|s| (s.t, s.v)).collect();
    let want: Vec<(i64, f64)> = old.iter().chain(&xor_values).copied().collect();
    assert_eq!(bits(&got), bits(&want));
    match decode_row(&encode_decimal(&old, None)) {
        Some(RowSamples::Floats(v)) => assert_eq!(bits(&v), bits(&old)),
        other => panic!("{other:?}"),
    }
}

fn any_samples() -> impl Strategy<Value = Vec<(i64, f64)>> {
    let value = prop_oneof![
        any::<f64>(),
        any::<u64>().prop_map(f64::from_bits),
        (-100_000i64..100_000).prop_map(|x| x as f64 / 100.0),
        (0i64..1_000_000).prop_map(|x| x as f64),
        Just(f64::from_bits(STALE_NAN_BITS)),
        Just(-0.0),
        Just(f64::NAN),
    ];
    (
        any::<i64>(),
        proptest::collection::vec(
            (
                prop_oneof![
                    Just(15_000i64),
                    14_950i64..15_050,
                    1i64..3,
                    1i64..100_000,
                    1i64..(1i64 << 40)
                ],
                value,
            ),
            0..600,
        ),
    )
        .prop_map(|(start, steps)| {
            let mut t = start >> 2;
            steps
                .into_iter()
                .map(|(dt, v)| {
                    t = t.wrapping_add(dt);
                    (t, v)
                })
                .collect()
        })
}

proptest! {
    #[test]
    fn packed_rows_round_trip_any_samples(s in any_samples()) {
        let b = packed::encode(FMT_PACKED, &s).expect("fits");
        let back = decode_persisted(&b).expect("decodes");
        prop_assert_eq!(bits(&back), bits(&s));
        let chosen = encode_persisted(&s, None);
        let back = decode_persisted(&chosen).expect("decodes");
        prop_assert_eq!(bits(&back), bits(&s));
    }

    #[test]
    fn packed_rows_round_trip_any_timestamps(ts in proptest::collection::vec(any::<i64>(), 0..50)) {
        let s: Vec<(i64, f64)> = ts.iter().map(|&t| (t, 1.5)).collect();
        packed_roundtrip(&s);
    }
}

fn no_retention() -> Options {
    Options {
        retention_ms: 0,
        ..Options::default()
    }
}
