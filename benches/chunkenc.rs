//! XOR chunk encode/decode throughput on realistic series: a counter, a gauge, a constant;
//! and a persisted 2h row (480 jittered scrapes) in the decimal format (1) and the packed
//! format (5) that flushes write now.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promterm::tsdb::chunkenc::{
    decode_persisted, encode_decimal, encode_persisted, XorEncoder, XorIter,
};
use std::hint::black_box;

fn series() -> Vec<(&'static str, Vec<(i64, f64)>)> {
    let mut x = 42u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let t0 = 1_700_000_000_000i64;
    let mut counter = 0.0;
    let counter: Vec<(i64, f64)> = (0..120)
        .map(|i| {
            counter += (rnd() % 100) as f64;
            (t0 + i * 15_000, counter)
        })
        .collect();
    let gauge: Vec<(i64, f64)> = (0..120)
        .map(|i| {
            (
                t0 + i * 15_000 + (rnd() % 5) as i64,
                (rnd() % 10_000) as f64 / 100.0,
            )
        })
        .collect();
    let constant: Vec<(i64, f64)> = (0..120).map(|i| (t0 + i * 15_000, 1.0)).collect();
    vec![
        ("counter", counter),
        ("gauge", gauge),
        ("constant", constant),
    ]
}

fn bench(c: &mut Criterion) {
    for (name, samples) in series() {
        let mut g = c.benchmark_group(format!("xor/{name}"));
        g.throughput(Throughput::Elements(samples.len() as u64));
        g.bench_function("encode", |b| {
            b.iter(|| {
                let mut e = XorEncoder::new();
                for &(t, v) in &samples {
                    e.append(t, v);
                }
                black_box(e.into_bytes())
            })
        });
        let mut e = XorEncoder::new();
        for &(t, v) in &samples {
            e.append(t, v);
        }
        let bytes = e.into_bytes();
        eprintln!(
            "xor/{name}: {} bytes for {} samples ({:.2} B/sample)",
            bytes.len(),
            samples.len(),
            bytes.len() as f64 / samples.len() as f64
        );
        g.bench_function("decode", |b| {
            b.iter(|| black_box(XorIter::new(&bytes).fold(0.0, |a, (_, v)| a + v)))
        });
        let persisted = encode_persisted(&samples, Some(bytes.len()));
        eprintln!(
            "persisted/{name}: {} bytes ({:.2} B/sample)",
            persisted.len(),
            persisted.len() as f64 / samples.len() as f64
        );
        g.bench_function("persisted_encode", |b| {
            b.iter(|| black_box(encode_persisted(&samples, Some(bytes.len()))))
        });
        g.bench_function("persisted_decode", |b| {
            b.iter(|| black_box(decode_persisted(&persisted)))
        });
        g.finish();
    }
}

/// 2h of 15 s scrapes with up to 50 ms jitter: a counter, a two-decimal gauge, a constant.
fn rows_2h() -> Vec<(&'static str, Vec<(i64, f64)>)> {
    let mut x = 7u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let t0 = 1_700_000_000_000i64;
    let mut ts = Vec::new();
    let mut c = 1000.0;
    let mut counter = Vec::new();
    let mut gauge = Vec::new();
    for i in 0..480 {
        let t = t0 + i * 15_000 + (rnd() % 50) as i64;
        ts.push(t);
        c += (120 + rnd() % 60) as f64;
        counter.push((t, c));
        let g = 50.0 + 40.0 * (i as f64 / 7.0).sin() + (rnd() % 100) as f64 / 100.0;
        gauge.push((t, (g * 100.0).round() / 100.0));
    }
    let constant = ts.iter().map(|&t| (t, 1.0)).collect();
    vec![
        ("counter", counter),
        ("gauge", gauge),
        ("constant", constant),
    ]
}

fn bench_rows(c: &mut Criterion) {
    for (name, samples) in rows_2h() {
        let mut g = c.benchmark_group(format!("row2h/{name}"));
        g.throughput(Throughput::Elements(samples.len() as u64));
        for (fmt, bytes) in [
            ("decimal", encode_decimal(&samples, None)),
            ("packed", encode_persisted(&samples, None)),
        ] {
            eprintln!(
                "row2h/{name}/{fmt}: format {}, {} bytes ({:.2} B/sample)",
                bytes[0],
                bytes.len(),
                bytes.len() as f64 / samples.len() as f64
            );
            g.bench_function(format!("{fmt}_decode"), |b| {
                b.iter(|| black_box(decode_persisted(&bytes)))
            });
        }
        g.bench_function("decimal_encode", |b| {
            b.iter(|| black_box(encode_decimal(&samples, None)))
        });
        g.bench_function("packed_encode", |b| {
            b.iter(|| black_box(encode_persisted(&samples, None)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench, bench_rows);
criterion_main!(benches);
