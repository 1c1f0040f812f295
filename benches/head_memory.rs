//! Head memory per series and per sample, measured with a counting allocator:
//! `cargo bench --bench head_memory`. Loads 10,000 series (labels like the bench data set) and
//! 480 samples each at 15s, then flushes (sealed chunks leave memory for the database).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use promterm::model::Sample;
use promterm::storage::{Appender, SeriesInput};
use promterm::tsdb::{Db, Options};

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LIVE.fetch_add(n as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    const SERIES: usize = 10_000;
    const STEPS: i64 = 480;
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(
        dir.path(),
        Options {
            flush_interval: std::time::Duration::from_secs(3600),
            ..Options::default()
        },
    )
    .unwrap();
    let labels: Vec<[String; 5]> = (0..SERIES)
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
    for w in (1..STEPS).step_by(60) {
        append_step(w, (w + 60).min(STEPS));
    }
    let full = live();
    db.flush().unwrap();
    let flushed = live();
    let per_series = (one_sample - base) as f64 / SERIES as f64;
    let per_sample = (full - one_sample) as f64 / (SERIES as f64 * (STEPS - 1) as f64);
    println!("head_memory: {SERIES} series x {STEPS} samples");
    println!("  per series (labels, index, first sample): {per_series:.0} bytes");
    println!("  per additional sample (in chunks):        {per_sample:.2} bytes");
    println!(
        "  whole head before flush: {:.1} MiB; after flush: {:.1} MiB",
        (full - base) as f64 / 1048576.0,
        (flushed - base) as f64 / 1048576.0
    );
    println!(
        "  head estimate (Db::head_bytes): {:.1} MiB",
        db.head_bytes() as f64 / 1048576.0
    );
}
