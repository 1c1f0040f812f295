//! Native-histogram arithmetic throughput (what `sum`, `rate` and `histogram_quantile` over
//! native histograms spend their time in): adding histograms of the same layout (the fast
//! path), of shifted layouts and of different schemas; subtracting; reset detection;
//! compaction and resolution reduction. Histograms of ~30 buckets in 3 spans, like the
//! latency histograms of bench/histograms.py.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promterm::model::{FloatHistogram, Span};
use std::hint::black_box;

/// A schema-`schema` histogram: 3 spans of 10 buckets starting at `first`.
fn latency(schema: i32, first: i32, scale: f64) -> FloatHistogram {
    let spans = vec![
        Span {
            offset: first,
            length: 10,
        },
        Span {
            offset: 2,
            length: 10,
        },
        Span {
            offset: 5,
            length: 10,
        },
    ];
    let buckets: Vec<f64> = (0..30).map(|i| scale * (1.0 + (i % 7) as f64)).collect();
    let count = buckets.iter().sum();
    FloatHistogram {
        schema,
        zero_threshold: 2f64.powi(-128),
        count,
        sum: count * 0.1,
        positive_spans: spans,
        positive_buckets: buckets,
        ..FloatHistogram::default()
    }
}

fn bench(c: &mut Criterion) {
    let base = latency(3, -40, 1.0);
    let same = latency(3, -40, 2.0);
    let shifted = latency(3, -37, 2.0);
    let coarser = latency(2, -20, 2.0);
    let mut g = c.benchmark_group("histogram_arith");
    g.throughput(Throughput::Elements(1));
    g.bench_function("add_same_layout", |b| {
        let mut acc = base.clone();
        b.iter(|| {
            black_box(acc.add(black_box(&same)).ok());
        })
    });
    g.bench_function("add_same_layout_fresh", |b| {
        b.iter(|| {
            let mut acc = base.clone();
            black_box(acc.add(black_box(&same)).ok());
            acc
        })
    });
    g.bench_function("add_shifted_layout", |b| {
        b.iter(|| {
            let mut acc = base.clone();
            black_box(acc.add(black_box(&shifted)).ok());
            acc
        })
    });
    g.bench_function("add_lower_schema", |b| {
        b.iter(|| {
            let mut acc = base.clone();
            black_box(acc.add(black_box(&coarser)).ok());
            acc
        })
    });
    g.bench_function("sub_same_layout", |b| {
        b.iter(|| {
            let mut acc = same.clone();
            black_box(acc.sub(black_box(&base)).ok());
            acc
        })
    });
    g.bench_function("detect_reset_same_layout", |b| {
        b.iter(|| black_box(same.detect_reset(black_box(&base))))
    });
    g.bench_function("compact", |b| {
        b.iter(|| {
            let mut h = shifted.clone();
            h.compact(0);
            h
        })
    });
    g.bench_function("reduce_resolution_3_to_0", |b| {
        b.iter(|| {
            let mut h = base.clone();
            h.reduce_resolution(0);
            h
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
