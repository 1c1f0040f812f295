//! Exposition parsing throughput (MB/s) on a 10k-series text page: the cached-scrape path
//! (entries only, series text as the key) and the cold path (every series' labels parsed).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promterm::textparse::{Entry, Format, Parser};
use std::hint::black_box;

fn page() -> String {
    let mut out = String::new();
    for f in 0..100 {
        out.push_str(&format!(
            "# HELP app_requests_{f}_total Requests, family {f}.\n# TYPE app_requests_{f}_total counter\n"
        ));
        for i in 0..100 {
            out.push_str(&format!(
                "app_requests_{f}_total{{method=\"{}\",handler=\"/api/v1/item/{i}\",status=\"{}\",pod=\"pod-{}\"}} {}\n",
                ["GET", "POST", "PUT"][i % 3],
                [200, 404, 500][i % 3],
                i % 17,
                i * 7919 % 100_000
            ));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let p = page();
    let mut g = c.benchmark_group("textparse");
    g.throughput(Throughput::Bytes(p.len() as u64));
    g.bench_function("entries_10k", |b| {
        b.iter(|| {
            let n = Parser::new(black_box(&p), Format::Text)
                .filter(|e| matches!(e, Ok(Entry::Sample(_))))
                .count();
            assert_eq!(n, 10_000);
        })
    });
    g.bench_function("with_labels_10k", |b| {
        b.iter(|| {
            let mut n = 0usize;
            for e in Parser::new(black_box(&p), Format::Text) {
                if let Ok(Entry::Sample(s)) = e {
                    n += s.labels().map(|l| l.labels.len()).unwrap_or(0);
                }
            }
            assert_eq!(n, 40_000);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
