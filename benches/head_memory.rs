//! Head memory per series and per sample, measured with a counting allocator:
//! `cargo bench --bench head_memory`. Loads 10,000 series (labels like the bench data set) and
//! 480 samples each at 15s, then flushes (sealed chunks leave memory for the database).
//! `HEAD_MEMORY_SERIES` and `HEAD_MEMORY_STEPS` change the counts (perf.py's 196k load is
//! `HEAD_MEMORY_SERIES=196000 HEAD_MEMORY_STEPS=60`). Figures are the bytes requested and the
//! bytes of the malloc chunks holding them (glibc: 8-byte header, 16-byte steps, 32 at least).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use promterm::model::Sample;
use promterm::storage::{Appender, SeriesInput};
use promterm::tsdb::{Db, Options};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Live bytes as glibc's malloc holds them: a chunk is the request plus an 8-byte header,
/// rounded up to 16, at least 32.
static CHUNKS: AtomicIsize = AtomicIsize::new(0);

fn chunk(size: usize) -> isize {
    ((size + 8).div_ceil(16) * 16).max(32) as isize
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        CHUNKS.fetch_add(chunk(l.size()), Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        CHUNKS.fetch_sub(chunk(l.size()), Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        CHUNKS.fetch_add(chunk(n) - chunk(l.size()), Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

/// (requested bytes, bytes in malloc chunks) live now.
fn live() -> (isize, isize) {
    (LIVE.load(Ordering::Relaxed), CHUNKS.load(Ordering::Relaxed))
}

/// A count from the environment (`HEAD_MEMORY_SERIES`, `HEAD_MEMORY_STEPS`), or `default`.
fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let series = env_count("HEAD_MEMORY_SERIES", 10_000);
    let steps = env_count("HEAD_MEMORY_STEPS", 480) as i64;
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(
        dir.path(),
        Options {
            flush_interval: std::time::Duration::from_secs(3600),
            ..Options::default()
        },
    )
    .unwrap();
    let labels: Vec<[String; 5]> = (0..series)
        .map(|i| {
            [
                "http_requests_total".to_string(),
                format!("{}", [200, 404, 500][i % 3]),
                format!("/api/v{}/handler{}", i % 4, i % 25),
                format!("host-{:03}.example.internal:9100", i / 100),
                "api".to_string(),
            ]
        })
        .collect();
    fn pairs(l: &[String; 5]) -> Vec<(&str, &str)> {
        vec![
            ("__name__", &l[0]),
            ("code", &l[1]),
            ("handler", &l[2]),
            ("instance", &l[3]),
            ("job", &l[4]),
        ]
    }
    let t0 = 1_700_000_000_000i64;
    let append_step = |from: i64, to: i64| {
        let batch: Vec<SeriesInput> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| SeriesInput {
                labels: pairs(l),
                samples: (from..to)
                    .map(|k| Sample {
                        t: t0 + k * 15_000,
                        v: (k * (i as i64 % 7 + 1)) as f64,
                    })
                    .collect(),
            })
            .collect();
        db.append(&batch).unwrap();
    };
    let base = live();
    append_step(0, 1);
    let one_sample = live();
    for w in (1..steps).step_by(60) {
        append_step(w, (w + 60).min(steps));
    }
    let full = live();
    db.flush().unwrap();
    let flushed = live();
    let mib = |b: isize| b as f64 / 1048576.0;
    println!("head_memory: {series} series x {steps} samples (requested / in malloc chunks)");
    let n = series as f64;
    println!(
        "  per series (labels, index, first sample): {:.0} / {:.0} bytes",
        (one_sample.0 - base.0) as f64 / n,
        (one_sample.1 - base.1) as f64 / n
    );
    let samples = n * (steps - 1).max(1) as f64;
    println!(
        "  per additional sample (in chunks):        {:.2} / {:.2} bytes",
        (full.0 - one_sample.0) as f64 / samples,
        (full.1 - one_sample.1) as f64 / samples
    );
    println!(
        "  whole head before flush: {:.1} / {:.1} MiB; after flush: {:.1} / {:.1} MiB",
        mib(full.0 - base.0),
        mib(full.1 - base.1),
        mib(flushed.0 - base.0),
        mib(flushed.1 - base.1)
    );
    println!(
        "  head estimate (Db::head_bytes): {:.1} MiB",
        db.head_bytes() as f64 / 1048576.0
    );
}
