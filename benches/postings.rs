//! Series selection in a head of 200,000 series (examples/loadgen's labels: 100 names of
//! 2,000 series, `instance` of 1,000 values, a unique `id`): postings for a one-series
//! selector, a name, `{__name__=~".+"}`, a prefix regex and a set regex, and sorting every
//! series by labels (`Head::sort_by_labels`, steady series: ranks cached).
//! `cargo bench --bench postings`.

use criterion::{criterion_group, criterion_main, Criterion};
use promterm::model::{MatchOp, Matcher};
use promterm::tsdb::head::Head;
use std::hint::black_box;

const SERIES: usize = 200_000;

fn head() -> Head {
    let h = Head::new();
    for i in 0..SERIES {
        let name = format!("lg_metric_{}", i / 2000 % 100);
        let inst = format!("host-{}", i % 1000);
        let id = i.to_string();
        h.get_or_create(&[
            ("__name__", name.as_str()),
            ("id", id.as_str()),
            ("instance", inst.as_str()),
            ("job", "loadgen"),
        ]);
    }
    h
}

fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
    Matcher::new(op, n, v).expect("valid matcher")
}

fn bench(c: &mut Criterion) {
    let h = head();
    let cases: Vec<(&str, Vec<Matcher>)> = vec![
        (
            "one_series",
            vec![
                m(MatchOp::Equal, "__name__", "lg_metric_7"),
                m(MatchOp::Equal, "id", "14123"),
            ],
        ),
        ("name", vec![m(MatchOp::Equal, "__name__", "lg_metric_7")]),
        ("all_names", vec![m(MatchOp::Regex, "__name__", ".+")]),
        (
            "name_and_id_prefix",
            vec![
                m(MatchOp::Equal, "__name__", "lg_metric_7"),
                m(MatchOp::Regex, "id", "1412.*"),
            ],
        ),
        (
            "instance_set",
            vec![
                m(MatchOp::Equal, "__name__", "lg_metric_7"),
                m(MatchOp::Regex, "instance", "host-1|host-2|host-3"),
            ],
        ),
    ];
    let mut g = c.benchmark_group("postings");
    for (name, ms) in &cases {
        g.bench_function(*name, |b| b.iter(|| black_box(h.postings(black_box(ms)))));
    }
    g.finish();
    let mut all = h.all();
    h.sort_by_labels(&mut all);
    c.bench_function("sort_by_labels/all", |b| {
        b.iter(|| {
            let mut v = h.all();
            h.sort_by_labels(&mut v);
            black_box(v)
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
