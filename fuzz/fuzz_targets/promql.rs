//! Query evaluation on arbitrary PromQL: parse, then evaluate instant and range queries over a
//! small fixed store (counters, gauges, histogram buckets, a gap and a stale series). Errors
//! are fine; panics and hangs are not. The sample limit and a deadline bound each query.
#![no_main]
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use promterm::model::Sample;
use promterm::promql::engine::{Engine, Stop};
use promterm::storage::{Appender, SeriesInput};
use promterm::tsdb::{Db, Options};

fn store() -> &'static Db {
    static DB: OnceLock<(tempfile::TempDir, Db)> = OnceLock::new();
    &DB.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let (db, _) = Db::open(
            dir.path(),
            Options {
                retention_ms: 0,
                ..Options::default()
            },
        )
        .expect("open store");
        let mut batch = Vec::new();
        let names: Vec<(String, String)> = (0..6)
            .map(|i| {
                (
                    format!("i{i}"),
                    ["0.1", "1", "10", "+Inf", "5", "2"][i].to_string(),
                )
            })
            .collect();
        for (inst, le) in &names {
            let s = |f: &dyn Fn(i64) -> f64| -> Vec<Sample> {
                (0..40)
                    .map(|k| Sample {
                        t: k * 15_000,
                        v: f(k),
                    })
                    .collect()
            };
            batch.push(SeriesInput {
                labels: vec![
                    ("__name__", "http_requests_total"),
                    ("instance", inst),
                    ("job", "api"),
                ],
                samples: s(&|k| (k * 3 % 17) as f64 + k as f64),
            });
            batch.push(SeriesInput {
                labels: vec![("__name__", "temp"), ("instance", inst), ("job", "node")],
                samples: s(&|k| ((k as f64) * 0.7).sin() * 20.0),
            });
            batch.push(SeriesInput {
                labels: vec![
                    ("__name__", "rpc_seconds_bucket"),
                    ("instance", "a"),
                    ("le", le),
                ],
                samples: s(&|k| (k * (names.len() as i64)) as f64),
            });
        }
        batch.push(SeriesInput {
            labels: vec![("__name__", "gone"), ("job", "x")],
            samples: vec![
                Sample { t: 0, v: 1.0 },
                Sample {
                    t: 15_000,
                    v: f64::from_bits(0x7ff0_0000_0000_0002),
                },
            ],
        });
        db.append(&batch).expect("load");
        (dir, db)
    })
    .1
}

fuzz_target!(|data: &[u8]| {
    let Ok(q) = std::str::from_utf8(data) else {
        return;
    };
    // Long inputs are only parsed (nesting limits, the lexer); short ones are also evaluated.
    if q.len() > 400 {
        let _ = promterm::promql::engine::parse(q);
        return;
    }
    let db = store();
    let engine = Engine {
        max_samples: 200_000,
        ..Engine::default()
    };
    let stop = || Stop {
        deadline: Some(Instant::now() + Duration::from_secs(2)),
        cancel: None,
    };
    let _ = engine.run_instant(db, q, 300_000, &stop());
    let _ = engine.run_range(db, q, 0, 600_000, 30_000, &stop());
});
