//! Storage end to end: remote write into the real binary, read back over HTTP, crash and
//! corruption recovery, retention, and restart. Sample-level checks open the data directory
//! with the library once the server has stopped. The kill -9 tests write native histogram
//! samples (integer and float, changing schema) with every batch, and check those too.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use promterm::model::{
    CounterResetHint, Histogram, HistogramSample, HistogramValue, MatchOp, Matcher, Sample, Span,
};
use promterm::remote::proto::{encode_v1, encode_write_request, SeriesToEncode, SeriesV1};
use promterm::storage::Querier;
use promterm::tsdb::{Db, Options};

use crate::common::{escape, http, http_post, Server};

pub(crate) const BASE: i64 = 1_700_000_000_000;

pub(crate) fn write(addr: SocketAddr, series: &[SeriesToEncode<'_>]) -> (u16, String) {
    let body = snap::raw::Encoder::new()
        .compress_vec(&encode_write_request(series))
        .unwrap();
    http_post(
        addr,
        "/api/v1/write",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &body,
    )
}

/// Batch `k`: 5 series, 10 samples each, timestamps after batch k-1's.
pub(crate) fn batch(k: i64) -> Vec<SeriesToEncode<'static>> {
    const INSTANCES: [&str; 5] = ["i0", "i1", "i2", "i3", "i4"];
    INSTANCES
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            let samples = (0..10)
                .map(|j| Sample {
                    t: BASE + (k * 10 + j) * 1000,
                    v: (k * 10 + j) as f64 + i as f64 / 10.0,
                })
                .collect();
            (
                vec![
                    ("__name__", "load_test"),
                    ("instance", *inst),
                    ("job", "it"),
                ],
                samples,
            )
        })
        .collect()
}

/// Every stored sample as (instance, t, value bits).
pub(crate) fn stored(dir: &std::path::Path) -> Vec<(String, i64, u64)> {
    let (db, _) = Db::open(
        dir,
        Options {
            retention_ms: 0,
            ..Options::default()
        },
    )
    .unwrap();
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
    let mut out = Vec::new();
    for s in db.select(&all, i64::MIN, i64::MAX).unwrap() {
        let inst = s.labels.get("instance").unwrap_or("").to_string();
        out.extend(s.samples.iter().map(|x| (inst.clone(), x.t, x.v.to_bits())));
    }
    out
}

pub(crate) fn expected(batches: impl Iterator<Item = i64>) -> Vec<(String, i64, u64)> {
    let mut out = Vec::new();
    for k in batches {
        for (labels, samples) in batch(k) {
            let inst = labels[1].1.to_string();
            out.extend(samples.iter().map(|s| (inst.clone(), s.t, s.v.to_bits())));
        }
    }
    out.sort();
    out
}

/// A server that only receives remote write: an empty config (no scrape jobs), written in
/// to the data directory, so its own samples do not mix with the test's.
pub(crate) fn serve(data: &std::path::Path, extra: &[&str]) -> Server {
    let cfg = data.join("no-scrape.yml");
    std::fs::write(&cfg, "scrape_configs: []\n").unwrap();
    let cfg = cfg.to_str().unwrap().to_string();
    let mut args = vec![
        "--headless",
        "--config",
        &cfg,
        "--data",
        data.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Server::start(&args)
}

#[test]
fn remote_write_then_read_back_over_http() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = serve(data.path(), &[]);
    let (status, body) = write(srv.addr, &batch(0));
    assert_eq!(status, 204, "{body}");
    let (status, body) = http(
        srv.addr,
        "GET",
        "/api/v1/series?match[]=load_test{instance=\"i3\"}",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#"{"__name__":"load_test","instance":"i3","job":"it"}"#),
        "{body}"
    );
    let (_, body) = http(srv.addr, "GET", "/api/v1/label/instance/values");
    assert!(
        body.contains(r#""data":["i0","i1","i2","i3","i4"]"#),
        "{body}"
    );
    // A bad request gets a 400 naming the problem and the server stays up.
    let (status, body) = write(
        srv.addr,
        &[(vec![("job", "no-name")], vec![Sample { t: BASE, v: 1.0 }])],
    );
    assert_eq!(status, 400);
    assert!(body.contains("no metric name"), "{body}");
    let (status, body) = http_post(
        srv.addr,
        "/api/v1/write",
        &[("Content-Type", "application/json")],
        b"{}",
    );
    assert_eq!(status, 415, "{body}");
    assert_eq!(http(srv.addr, "GET", "/-/ready").0, 200);
    assert_eq!(srv.terminate().code(), Some(0));
    assert_eq!(stored(data.path()), expected(0..1));
}

/// Histogram `j` of batch `k`: the `load_hist{parity}` series of batch k's parity gets 10 a
/// batch; each batch of a series changes schema (−4…8) and alternates integer and float form,
/// so its samples start new chunks.
fn batch_histogram(k: i64, j: i64) -> HistogramSample {
    let n = k * 10 + j;
    let a = n % 7 + 1;
    let h = Histogram {
        counter_reset_hint: CounterResetHint::Unknown,
        schema: ((k / 2) % 13) as i32 - 4,
        zero_threshold: 0.001,
        zero_count: j as u64,
        count: (j + 3 * a + 1 + j + 1) as u64,
        sum: n as f64 * 0.25,
        positive_spans: vec![
            Span {
                offset: -2,
                length: 2,
            },
            Span {
                offset: 1,
                length: 1,
            },
        ],
        positive_buckets: vec![a, 1, -1],
        negative_spans: vec![Span {
            offset: 0,
            length: 1,
        }],
        negative_buckets: vec![j + 1],
        custom_values: Vec::new(),
    };
    let h = if (k / 2) % 2 == 0 {
        HistogramValue::Int(h)
    } else {
        HistogramValue::Float(h.to_float())
    };
    HistogramSample {
        t: BASE + n * 1000,
        h,
    }
}

fn parity(k: i64) -> &'static str {
    if k % 2 == 0 {
        "0"
    } else {
        "1"
    }
}

/// Every stored histogram sample as (parity, t, the value printed).
fn stored_histograms(dir: &std::path::Path) -> Vec<(String, i64, String)> {
    let (db, _) = Db::open(
        dir,
        Options {
            retention_ms: 0,
            ..Options::default()
        },
    )
    .unwrap();
    let m = [Matcher::new(MatchOp::Equal, "__name__", "load_hist").unwrap()];
    let mut out = Vec::new();
    for s in db.select(&m, i64::MIN, i64::MAX).unwrap() {
        let p = s.labels.get("parity").unwrap_or("").to_string();
        for x in &s.histograms {
            // The counter-reset hint is the chunk's business; the values must be exact.
            let mut h = x.h.clone();
            match &mut h {
                HistogramValue::Int(v) => v.counter_reset_hint = CounterResetHint::Unknown,
                HistogramValue::Float(v) => v.counter_reset_hint = CounterResetHint::Unknown,
            }
            out.push((p.clone(), x.t, format!("{h:?}")));
        }
    }
    out
}

fn expected_histograms(batches: impl Iterator<Item = i64>) -> Vec<(String, i64, String)> {
    let mut out: Vec<(String, i64, String)> = batches
        .flat_map(|k| {
            (0..10).map(move |j| {
                let s = batch_histogram(k, j);
                (parity(k).to_string(), s.t, format!("{:?}", s.h))
            })
        })
        .collect();
    out.sort();
    out
}

/// Asserts every acknowledged histogram sample is stored.
fn assert_histograms_kept(dir: &std::path::Path, acked: &[i64]) {
    let have: std::collections::HashSet<_> = stored_histograms(dir).into_iter().collect();
    let want = expected_histograms(acked.iter().copied());
    let missing: Vec<_> = want.iter().filter(|s| !have.contains(*s)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged histogram samples lost, e.g. {:?}",
        missing.len(),
        want.len(),
        &missing[..missing.len().min(3)]
    );
}

/// Writes batch `k` (its float samples and the histogram samples of `batch_histogram`) in one
/// request; true if the server acknowledged it (false once it is gone).
fn acknowledged(addr: SocketAddr, k: i64) -> bool {
    let mut series: Vec<SeriesV1<'_>> = batch(k)
        .into_iter()
        .map(|(labels, samples)| SeriesV1 {
            labels,
            samples,
            ..SeriesV1::default()
        })
        .collect();
    series.push(SeriesV1 {
        labels: vec![("__name__", "load_hist"), ("parity", parity(k))],
        histograms: (0..10).map(|j| batch_histogram(k, j)).collect(),
        ..SeriesV1::default()
    });
    let body = snap::raw::Encoder::new()
        .compress_vec(&encode_v1(&series))
        .unwrap();
    let r = std::panic::catch_unwind(|| {
        http_post(
            addr,
            "/api/v1/write",
            &[
                ("Content-Type", "application/x-protobuf"),
                ("Content-Encoding", "snappy"),
            ],
            &body,
        )
    });
    matches!(r, Ok((204, _)))
}

#[test]
fn kill_9_during_ingestion_loses_no_acknowledged_sample() {
    let data = tempfile::tempdir().unwrap();
    // Frequent flushes so the kill can land in the middle of one.
    let mut srv = serve(
        data.path(),
        &[
            "--storage.flush-interval",
            "1s",
            "--wal.fsync-interval",
            "100ms",
        ],
    );
    let addr = srv.addr;
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (acked, stop) = (acked.clone(), stop.clone());
            std::thread::spawn(move || {
                // Writer w owns batches w, w+2, w+4, ...: different timestamps, no conflicts.
                let mut k = w;
                while !stop.load(Ordering::Relaxed) {
                    if !acknowledged(addr, k) {
                        break;
                    }
                    acked.lock().unwrap().push(k);
                    k += 2;
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 400 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1100)); // let a flush start
    srv.child.kill().unwrap(); // SIGKILL
    srv.child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.join();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 400,
        "only {} batches acknowledged",
        acked.len()
    );

    let got = stored(data.path());
    let got_set: std::collections::HashSet<_> = got.iter().cloned().collect();
    let want = expected(acked.iter().copied());
    let missing: Vec<_> = want.iter().filter(|s| !got_set.contains(*s)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged samples lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    assert_histograms_kept(data.path(), &acked);

    // The binary restarts on the same data and serves it.
    let hists = stored_histograms(data.path());
    let mut srv = serve(data.path(), &[]);
    let (_, body) = http(srv.addr, "GET", "/api/v1/series?match[]=load_test");
    assert_eq!(body.matches("load_test").count(), 5, "{body}");
    assert_eq!(srv.terminate().code(), Some(0));
    assert_eq!(
        stored(data.path()).len(),
        got.len(),
        "a clean restart keeps everything"
    );
    assert_eq!(
        stored_histograms(data.path()),
        hists,
        "a clean restart keeps every histogram"
    );
}

/// Six crashes in a row (SIGKILL at varying moments, flushes to the database every 200 ms, so
/// kills land during flushes too): every restart succeeds and every acknowledged sample
/// (float and histogram) of every round is there at the end.
#[test]
fn repeated_kill_9_during_ingestion_and_flushes_keeps_every_acknowledged_sample() {
    let data = tempfile::tempdir().unwrap();
    let mut acked: Vec<i64> = Vec::new();
    let mut k = 0i64;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..6 {
        let mut srv = serve(
            data.path(),
            &[
                "--storage.flush-interval",
                "200ms",
                "--wal.fsync-interval",
                "50ms",
            ],
        );
        assert_eq!(http(srv.addr, "GET", "/-/ready").0, 200, "round {round}");
        let addr = srv.addr;
        let stop = Arc::new(AtomicBool::new(false));
        let got = Arc::new(Mutex::new(Vec::new()));
        let first = k;
        let writer = {
            let (stop, got) = (stop.clone(), got.clone());
            std::thread::spawn(move || {
                let mut k = first;
                while !stop.load(Ordering::Relaxed) {
                    if !acknowledged(addr, k) {
                        break;
                    }
                    got.lock().unwrap().push(k);
                    k += 1;
                }
            })
        };
        let want = 50 + rnd(200) as usize;
        let deadline = Instant::now() + Duration::from_secs(30);
        while got.lock().unwrap().len() < want && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rnd(400)));
        srv.child.kill().unwrap(); // SIGKILL, mid-write
        srv.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        let _ = writer.join();
        let got = got.lock().unwrap().clone();
        assert!(
            got.len() >= want,
            "round {round}: only {} acknowledged",
            got.len()
        );
        k = got.last().copied().unwrap_or(k) + 2;
        acked.extend(got);
    }
    let stored_now = stored(data.path());
    let have: std::collections::HashSet<_> = stored_now.iter().cloned().collect();
    let want = expected(acked.iter().copied());
    let missing: Vec<_> = want.iter().filter(|s| !have.contains(*s)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged samples lost after 6 crashes, e.g. {:?}",
        missing.len(),
        want.len(),
        &missing[..missing.len().min(5)]
    );
    assert_histograms_kept(data.path(), &acked);
    let mut srv = serve(data.path(), &[]);
    assert_eq!(http(srv.addr, "GET", "/-/ready").0, 200);
    assert_eq!(srv.terminate().code(), Some(0));
}

/// Byte offsets of the records in a WAL segment.
fn record_starts(seg: &[u8]) -> Vec<usize> {
    let mut starts = Vec::new();
    let mut pos = 0;
    while pos + 8 <= seg.len() {
        starts.push(pos);
        let len = u32::from_le_bytes(seg[pos..pos + 4].try_into().unwrap()) as usize;
        pos += 8 + len;
    }
    starts
}

fn newest_nonempty_segment(data: &std::path::Path) -> std::path::PathBuf {
    let mut segs: Vec<_> = std::fs::read_dir(data.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.metadata().unwrap().len() > 0)
        .collect();
    segs.sort();
    segs.pop().expect("a WAL segment with data")
}

#[test]
fn each_wal_corruption_class_starts_cleanly_and_keeps_what_came_before() {
    // (name, mutation of the last segment, batches that must survive out of 6)
    type Mutation = fn(&mut Vec<u8>, &[usize]);
    let cases: [(&str, Mutation, i64); 4] = [
        (
            "torn last record",
            |d, _| {
                let n = d.len();
                d.truncate(n - 5)
            },
            5,
        ),
        (
            "bad checksum",
            |d, s| {
                let last = *s.last().unwrap();
                d[last + 9] ^= 0x55
            },
            5,
        ),
        (
            "bad length",
            |d, s| {
                let last = *s.last().unwrap();
                d[last..last + 4].copy_from_slice(&0x7fff_ffffu32.to_le_bytes())
            },
            5,
        ),
        (
            "garbage bytes",
            |d, _| d.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
            6,
        ),
    ];
    for (name, mutate, keep) in cases {
        let data = tempfile::tempdir().unwrap();
        let mut srv = serve(data.path(), &["--storage.flush-interval", "1h"]);
        for k in 0..6 {
            assert_eq!(write(srv.addr, &batch(k)).0, 204, "{name}");
        }
        srv.child.kill().unwrap();
        srv.child.wait().unwrap();
        let seg = newest_nonempty_segment(data.path());
        let mut d = std::fs::read(&seg).unwrap();
        let starts = record_starts(&d);
        mutate(&mut d, &starts);
        std::fs::write(&seg, &d).unwrap();

        let mut srv = serve(data.path(), &[]);
        assert_eq!(http(srv.addr, "GET", "/-/ready").0, 200, "{name}");
        let log = srv.drain_log().join("\n");
        if keep < 6 {
            assert!(log.contains("WAL corruption"), "{name}: {log}");
            assert!(log.contains("dropped_records=1"), "{name}: {log}");
        }
        // Writes still work after recovery.
        assert_eq!(write(srv.addr, &batch(100)).0, 204, "{name}");
        assert_eq!(srv.terminate().code(), Some(0), "{name}");
        let mut want = expected((0..keep).chain(100..101));
        want.sort();
        let mut got = stored(data.path());
        got.sort();
        assert_eq!(got.len(), want.len(), "{name}");
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn clean_restart_gives_identical_results_and_leaves_no_wal() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = serve(data.path(), &[]);
    for k in 0..30 {
        assert_eq!(write(srv.addr, &batch(k)).0, 204);
    }
    let series_before = http(srv.addr, "GET", "/api/v1/series?match[]={job=\"it\"}").1;
    let labels_before = http(srv.addr, "GET", "/api/v1/labels").1;
    assert_eq!(srv.terminate().code(), Some(0));
    let wal_bytes: u64 = std::fs::read_dir(data.path().join("wal"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(
        wal_bytes, 0,
        "a clean shutdown persists everything and trims the WAL"
    );
    let before = stored(data.path());
    assert_eq!(before, {
        let mut e = expected(0..30);
        e.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        e
    });

    let mut srv = serve(data.path(), &[]);
    assert_eq!(
        http(srv.addr, "GET", "/api/v1/series?match[]={job=\"it\"}").1,
        series_before
    );
    assert_eq!(http(srv.addr, "GET", "/api/v1/labels").1, labels_before);
    // New data continues the old series; old timestamps are refused.
    assert_eq!(write(srv.addr, &batch(30)).0, 204);
    let (status, body) = write(srv.addr, &batch(3));
    assert_eq!(status, 400);
    assert!(body.contains("out-of-order"), "{body}");
    assert_eq!(srv.terminate().code(), Some(0));
    assert_eq!(stored(data.path()).len(), before.len() + 50);
}

#[test]
fn retention_deletes_old_data_and_nothing_else() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = serve(
        data.path(),
        &["--retention", "1h", "--storage.flush-interval", "1s"],
    );
    let hour = 3_600_000;
    let old: Vec<Sample> = (0..180)
        .map(|i| Sample {
            t: BASE + i * 60_000,
            v: 1.0,
        })
        .collect();
    let all: Vec<Sample> = (0..600)
        .map(|i| Sample {
            t: BASE + i * 60_000,
            v: 2.0,
        })
        .collect();
    let (status, body) = write(
        srv.addr,
        &[
            (vec![("__name__", "old_only")], old),
            (vec![("__name__", "long_lived")], all),
        ],
    );
    assert_eq!(status, 204, "{body}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = http(srv.addr, "GET", "/api/v1/label/__name__/values");
        if !body.contains("old_only") {
            assert!(body.contains("long_lived"), "{body}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "retention did not remove old_only: {body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(srv.terminate().code(), Some(0));
    let (db, _) = Db::open(
        data.path(),
        Options {
            retention_ms: 0,
            ..Options::default()
        },
    )
    .unwrap();
    let kept = db
        .select(
            &[Matcher::equal("__name__", "long_lived")],
            i64::MIN,
            i64::MAX,
        )
        .unwrap();
    let newest = BASE + 599 * 60_000;
    let samples = &kept[0].samples;
    assert_eq!(samples.last().unwrap().t, newest);
    assert!(
        samples.iter().any(|s| s.t == newest - hour),
        "everything within the hour is kept"
    );
    assert!(samples.first().unwrap().t > BASE, "the oldest samples went");
    assert!(db
        .select(
            &[Matcher::equal("__name__", "old_only")],
            i64::MIN,
            i64::MAX
        )
        .unwrap()
        .is_empty());
}

/// `--web.enable-admin-api`: a snapshot is a data directory of its own holding everything
/// written so far; without the flag the admin API answers `unavailable`.
/// Remote write 2.0: negotiated by Content-Type, stored like 1.0, answered with the
/// `X-Prometheus-Remote-Write-*-Written` headers; an unknown protobuf message gets 415.
#[test]
fn remote_write_2_is_received_with_written_headers() {
    use promterm::remote::proto::encode_write_request_v2;
    use std::io::{Read, Write};
    let data = tempfile::tempdir().unwrap();
    let srv = serve(data.path(), &[]);
    let s = |t, v| Sample { t, v };
    let raw = encode_write_request_v2(&[
        (
            vec![("__name__", "rw2_requests_total"), ("job", "it")],
            vec![s(BASE + 2000, 5.0), s(BASE + 3000, 7.0)],
            BASE + 1000,
            1,
        ),
        (
            vec![("__name__", "rw2_temp"), ("job", "it")],
            vec![s(BASE + 2000, 21.5)],
            0,
            2,
        ),
    ]);
    let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let post = |ct: &str| {
        let mut c = std::net::TcpStream::connect(srv.addr).unwrap();
        let head = format!(
            "POST /api/v1/write HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {ct}\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 2.0.0\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        c.write_all(head.as_bytes()).unwrap();
        c.write_all(&body).unwrap();
        let mut out = String::new();
        c.read_to_string(&mut out).unwrap();
        out.to_lowercase()
    };
    let answer = post("application/x-protobuf;proto=io.prometheus.write.v2.Request");
    assert!(answer.starts_with("http/1.1 204"), "{answer}");
    assert!(
        answer.contains("x-prometheus-remote-write-samples-written: 3"),
        "{answer}"
    );
    assert!(
        answer.contains("x-prometheus-remote-write-histograms-written: 0"),
        "{answer}"
    );
    let answer = post("application/x-protobuf;proto=io.prometheus.write.v9.Request");
    assert!(answer.starts_with("http/1.1 415"), "{answer}");
    drop(srv);
    let mut got: Vec<(String, i64, u64)> = stored(data.path());
    got.sort();
    // The counter's created timestamp is a zero before its first sample.
    assert_eq!(
        got,
        vec![
            (String::new(), BASE + 1000, 0f64.to_bits()),
            (String::new(), BASE + 2000, 5f64.to_bits()),
            (String::new(), BASE + 2000, 21.5f64.to_bits()),
            (String::new(), BASE + 3000, 7f64.to_bits()),
        ]
    );
}

/// The shell side of the full-disk test, run by `unshare -rm` so it may mount a 16 MiB tmpfs
/// of its own (no root needed): it starts promterm there and obeys lines on stdin (`fill`,
/// `free`, `crash`, `quit`), reporting on stderr. Flushes are an hour apart, so after a crash
/// everything comes back from the WAL.
const FULL_DISK_SCRIPT: &str = r#"
mount -t tmpfs -o size=16m tmpfs "$1" || { echo "MOUNT FAILED" >&2; exit 97; }
mkdir -p "$1/data"
printf 'scrape_configs: []\n' > "$1/cfg.yml"
start() {
  "$2" serve --headless --listen "$3" --data "$1/data" --config "$1/cfg.yml" \
    --storage.flush-interval 1h --wal.fsync-interval 50ms &
  P=$!
}
start "$@"
while read cmd; do
  case "$cmd" in
    fill) A=$(df -k --output=avail "$1" | tail -n 1)
          dd if=/dev/zero of="$1/filler" bs=1k count=$((A - 24)) 2>/dev/null; echo "FILLED" >&2 ;;
    free) rm -f "$1/filler"; echo "FREED" >&2 ;;
    crash) kill -KILL $P; wait $P; echo "KILLED" >&2; start "$@" ;;
    quit) kill -TERM $P; wait $P; echo "EXIT=$?" >&2; exit 0 ;;
  esac
done
"#;

/// A full disk: writes fail with a 5xx naming the problem, nothing accepted before is lost,
/// nothing is corrupted, and ingestion resumes once space is freed (also across a crash).
#[test]
fn full_disk_fails_writes_with_5xx_and_recovers_when_space_is_freed() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let mnt = tempfile::tempdir().unwrap();
    let addr = crate::common::free_addr();
    let mut child = Command::new("unshare")
        .args(["-rm", "sh", "-c", FULL_DISK_SCRIPT, "sh"])
        .arg(mnt.path())
        .arg(crate::common::bin())
        .arg(addr.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run unshare (util-linux)");
    let mut stdin = child.stdin.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut log: Vec<String> = Vec::new();
    let wait_line = |what: &str, log: &mut Vec<String>| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let l = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {what:?} line; log:\n{}", log.join("\n")));
            assert!(!l.contains("MOUNT FAILED"), "cannot mount a tmpfs here");
            log.push(l.clone());
            if l.contains(what) {
                return l;
            }
        }
    };
    wait_line("listening on", &mut log);
    let post = |k: i64| {
        let series: Vec<SeriesToEncode<'_>> = (0..50)
            .map(|i| {
                (
                    vec![
                        ("__name__", "fill"),
                        ("i", ["a", "b", "c", "d", "e"][i % 5]),
                    ],
                    vec![Sample {
                        t: BASE + k * 1000 + (i / 5) as i64,
                        v: k as f64,
                    }],
                )
            })
            .collect();
        write(addr, &series)
    };
    let mut acked = 0u64;
    let mut k = 0i64;
    for _ in 0..100 {
        assert_eq!(post(k).0, 204);
        acked += 1;
        k += 1;
    }
    // About 24 KiB stay free: a write bigger than that fails part way through (the WAL must
    // cut the torn record back, or later records would be lost at replay).
    writeln!(stdin, "fill").unwrap();
    wait_line("FILLED", &mut log);
    let names: Vec<String> = (0..3000).map(|i| format!("big-series-{i:05}")).collect();
    let big: Vec<SeriesToEncode<'_>> = names
        .iter()
        .map(|n| {
            (
                vec![("__name__", "big"), ("id", n.as_str())],
                vec![Sample { t: BASE, v: 1.0 }],
            )
        })
        .collect();
    let (code, body) = write(addr, &big);
    assert!(code >= 500, "a 100 KB write with 24 KB free: {code} {body}");
    let mut failed = 0;
    for _ in 0..2000 {
        let (code, body) = post(k);
        k += 1;
        match code {
            204 => acked += 1,
            c if c >= 500 => {
                assert!(body.contains("No space left on device"), "{c}: {body}");
                failed += 1;
            }
            c => panic!("a full disk answered {c}: {body}"),
        }
    }
    assert!(failed > 0, "the disk never filled up");
    writeln!(stdin, "free").unwrap();
    wait_line("FREED", &mut log);
    for _ in 0..50 {
        let (code, body) = post(k);
        assert_eq!(code, 204, "after freeing space: {body}");
        acked += 1;
        k += 1;
    }
    // Everything acknowledged is there, before and after a crash, and nothing else.
    let count = || {
        let (code, body) = http(
            addr,
            "GET",
            &escape(&format!(
                "/api/v1/query?query=sum(count_over_time({{__name__=~\"fill|big\"}}[1y]))&time={}",
                BASE / 1000 + k + 10
            )),
        );
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        v["data"]["result"][0]["value"][1]
            .as_str()
            .unwrap_or("0")
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(count(), acked * 50);
    writeln!(stdin, "crash").unwrap();
    wait_line("KILLED", &mut log);
    wait_line("listening on", &mut log);
    assert_eq!(count(), acked * 50, "after a crash, from the WAL");
    assert!(
        !log.iter().any(|l| l.contains("corrupt")),
        "the WAL was damaged:\n{}",
        log.join("\n")
    );
    writeln!(stdin, "quit").unwrap();
    assert_eq!(wait_line("EXIT=", &mut log), "EXIT=0");
    assert!(
        log.iter()
            .any(|l| l.contains("ERROR") && l.contains("No space left on device")),
        "the full disk was not logged"
    );
    let _ = child.wait();
}
