//! The remote-write hot path: snappy + protobuf decode + label validation, and the full append
//! into a store (WAL write included) for a request of 1000 series x 60 samples.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use promterm::model::Sample;
use promterm::remote::{self, proto, Limits};
use promterm::storage::{AppendStats, Appender, SeriesInput, StorageError};
use promterm::tsdb::{Db, Options};
use std::hint::black_box;

struct Discard;

impl Appender for Discard {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        Ok(AppendStats {
            accepted: batch.iter().map(|s| s.samples.len() as u64).sum(),
            ..Default::default()
        })
    }
}

fn request(window: i64) -> Vec<u8> {
    let names: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("host-{}", i / 10), format!("{}", i % 10)))
        .collect();
    let series: Vec<proto::SeriesToEncode> = names
        .iter()
        .map(|(inst, cpu)| {
            let samples = (0..60)
                .map(|j| Sample {
                    t: 1_700_000_000_000 + (window * 60 + j) * 15_000,
                    v: (window * 60 + j) as f64 * 1.5,
                })
                .collect();
            (
                vec![
                    ("__name__", "node_cpu_seconds_total"),
                    ("cpu", cpu.as_str()),
                    ("instance", inst.as_str()),
                    ("job", "node"),
                    ("mode", "user"),
                ],
                samples,
            )
        })
        .collect();
    snap::raw::Encoder::new()
        .compress_vec(&proto::encode_write_request(&series))
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let body = request(0);
    let mut g = c.benchmark_group("remote_write");
    g.throughput(Throughput::Elements(60_000));
    g.bench_function("decode_validate", |b| {
        b.iter(|| {
            black_box(remote::receive(&Discard, None, None, &body, Limits::default()).unwrap())
        })
    });
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    let bodies: Vec<Vec<u8>> = (0..400).map(request).collect();
    let mut next = 0usize;
    g.sample_size(20);
    g.bench_function("decode_validate_append", |b| {
        b.iter(|| {
            // Each iteration appends the next window, so samples are always new.
            let body = &bodies[next % bodies.len()];
            next += 1;
            black_box(remote::receive(&db, None, None, body, Limits::default()).ok())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
