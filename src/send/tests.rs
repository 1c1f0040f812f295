//! Sender tests against an in-process receiver: sharding keeps every series in order and loses
//! nothing, the shard count follows the load, 2.0 carries metadata and falls back to 1.0 on
//! 415, and 1.0 metadata is sent on its own.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::queue::{desired_shards, shard_of, Task};
use super::*;
use crate::model::{now_ms, Sample};
use crate::remote::proto::{decode_write_request, decode_write_request_v2};
use crate::storage::{Appender, SeriesInput};
use crate::textparse::MetricType;

/// One request: protocol ("1.0"/"2.0"), series (labels, samples), metadata lines.
type Request = (String, Vec<(String, Vec<Sample>)>, Vec<String>);

/// What the receiver got.
#[derive(Default)]
struct Got {
    requests: Vec<Request>,
    /// (protocol, series, exemplar trace_id, value, time) in arrival order.
    exemplars: Vec<(String, String, String, f64, i64)>,
}

#[derive(Clone)]
struct Receiver {
    got: Arc<Mutex<Got>>,
    delay: Duration,
    refuse_v2: bool,
}

async fn handle(
    axum::extract::State(r): axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let v2 = ct.contains("io.prometheus.write.v2.Request");
    if v2 && r.refuse_v2 {
        return axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
    }
    tokio::time::sleep(r.delay).await;
    let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
    let name = |labels: &[(&[u8], &[u8])]| {
        labels
            .iter()
            .map(|(n, v)| {
                format!(
                    "{}={}",
                    String::from_utf8_lossy(n),
                    String::from_utf8_lossy(v)
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut exemplars = Vec::new();
    let mut note = |proto: &str, s: &crate::remote::proto::DecodedSeries<'_>| {
        for e in &s.exemplars {
            let trace = e
                .labels
                .iter()
                .find(|(n, _)| *n == b"trace_id")
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            exemplars.push((proto.to_string(), name(&s.labels), trace, e.value, e.t));
        }
    };
    let entry = if v2 {
        let req = decode_write_request_v2(&raw[..]).unwrap();
        let d = req.decoded_series().unwrap();
        for s in &d {
            note("2.0", &s.series);
        }
        let meta = d
            .iter()
            .filter(|s| s.metric_type != 0)
            .map(|s| {
                format!(
                    "{} {} {}",
                    name(&s.series.labels),
                    MetricType::from_proto(s.metric_type).as_str(),
                    String::from_utf8_lossy(s.help)
                )
            })
            .collect();
        (
            "2.0".to_string(),
            d.iter()
                .map(|s| (name(&s.series.labels), s.series.samples.clone()))
                .collect(),
            meta,
        )
    } else {
        let req = decode_write_request(&raw[..]).unwrap();
        let d: Vec<_> = req.timeseries.iter().map(|s| s.decoded()).collect();
        for s in &d {
            note("1.0", s);
        }
        let meta = req
            .metadata
            .iter()
            .map(|m| {
                format!(
                    "{} {} {}",
                    String::from_utf8_lossy(&m.metric_family_name),
                    MetricType::from_proto(m.r#type as u64).as_str(),
                    String::from_utf8_lossy(&m.help)
                )
            })
            .collect();
        (
            "1.0".to_string(),
            d.iter()
                .map(|s| (name(&s.labels), s.samples.clone()))
                .collect(),
            meta,
        )
    };
    let mut g = r.got.lock();
    g.requests.push(entry);
    g.exemplars.extend(exemplars);
    axum::http::StatusCode::NO_CONTENT
}

async fn receiver(delay: Duration, refuse_v2: bool) -> (String, Arc<Mutex<Got>>) {
    let got = Arc::new(Mutex::new(Got::default()));
    let app = axum::Router::new()
        .route("/write", axum::routing::post(handle))
        .with_state(Receiver {
            got: got.clone(),
            delay,
            refuse_v2,
        });
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (format!("http://{addr}/write"), got)
}

fn config(url: &str, extra: &str) -> RemoteWriteConfig {
    serde_yaml::from_str(&format!("url: {url}\n{extra}")).unwrap()
}

fn task(db: &Db, cfg: RemoteWriteConfig, meta: Option<MetadataFn>) -> (Task, CancellationToken) {
    let stop = CancellationToken::new();
    let client = build_client(&cfg.http_client(), Duration::from_secs(5), false).unwrap();
    (Task::new(db.clone(), cfg, client, stop.clone(), meta), stop)
}

fn write(db: &Db, series: usize, from: i64, to: i64) {
    let names: Vec<String> = (0..series).map(|i| format!("s{i}")).collect();
    let batch: Vec<SeriesInput> = names
        .iter()
        .map(|n| SeriesInput {
            labels: vec![("__name__", "load_total"), ("id", n.as_str())],
            samples: (from..to)
                .map(|t| Sample {
                    t: t * 1000,
                    v: t as f64,
                })
                .collect(),
        })
        .collect();
    db.append(&batch).unwrap();
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn shard_count_follows_time_per_sample_and_rate() {
    let s = Duration::from_secs;
    // 1 s spent sending 1000 samples: 1 ms each; 5000 samples/s need 5 shards.
    assert_eq!(desired_shards(s(1), 1000, 5000.0, 0, 1, 1, 50), 5);
    // Within 30% of the current count: no change.
    assert_eq!(desired_shards(s(1), 1000, 5200.0, 0, 5, 1, 50), 5);
    // A backlog adds 5% of itself per second.
    assert_eq!(desired_shards(s(1), 1000, 0.0, 200_000, 1, 1, 50), 10);
    // Bounds, and no measurement means no change.
    assert_eq!(desired_shards(s(1), 1000, 1e6, 0, 1, 1, 8), 8);
    assert_eq!(desired_shards(s(1), 1000, 0.0, 0, 4, 2, 8), 2);
    assert_eq!(desired_shards(s(0), 0, 1e6, 0, 3, 1, 8), 3);
}

#[test]
fn series_keep_their_shard() {
    for n in 1..8 {
        for id in 0..100u64 {
            assert_eq!(shard_of(id, n), shard_of(id, n));
            assert!(shard_of(id, n) < n);
        }
    }
    let used: std::collections::HashSet<usize> = (0..100u64).map(|i| shard_of(i, 4)).collect();
    assert_eq!(used.len(), 4, "100 series spread over all 4 shards");
}

/// A slow receiver and a steady load: the sender grows past one shard, and every series
/// arrives complete, once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_grow_under_load_and_keep_series_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let (url, got) = receiver(Duration::from_millis(40), false).await;
    let cfg = config(
        &url,
        "queue_config: {min_shards: 1, max_shards: 6, max_samples_per_send: 50, capacity: 200, batch_send_deadline: 100ms}",
    );
    let (mut t, stop) = task(&db, cfg, None);
    t.shard_update = Duration::from_millis(500);
    let stats = t.sh.stats.clone();
    let handle = tokio::spawn(t.run());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut max_shards = 0;
    // 40 series × 25 samples every 250 ms: ~4000 samples/s, one shard sends ~1250/s.
    for step in 0..24 {
        write(&db, 40, step * 25, step * 25 + 25);
        max_shards = max_shards.max(stats.shards.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let total = 40 * 24 * 25;
    wait_for("all samples sent", || {
        max_shards = max_shards.max(stats.shards.load(Ordering::Relaxed));
        stats.sent.load(Ordering::Relaxed) >= total
    })
    .await;
    stop.cancel();
    let _ = handle.await;
    assert!(
        max_shards > 1,
        "the sender never resharded (max {max_shards})"
    );
    assert_eq!(stats.sent.load(Ordering::Relaxed), total);
    assert_eq!(stats.pending.load(Ordering::Relaxed), 0);
    let mut per: HashMap<String, Vec<i64>> = HashMap::new();
    for (_, series, _) in &got.lock().requests {
        for (name, samples) in series {
            per.entry(name.clone())
                .or_default()
                .extend(samples.iter().map(|s| s.t));
        }
    }
    assert_eq!(per.len(), 40);
    for (name, ts) in per {
        let want: Vec<i64> = (0..600).map(|t| t * 1000).collect();
        assert_eq!(ts, want, "{name} arrived incomplete or out of order");
    }
}

fn meta_fn() -> MetadataFn {
    Arc::new(|| {
        vec![(
            "load_total".to_string(),
            Metadata {
                kind: MetricType::Counter,
                help: "Load applied.".into(),
                unit: String::new(),
            },
        )]
    })
}

/// 2.0 carries each series' type and help; a receiver that refuses 2.0 gets 1.0 and nothing
/// is lost; 1.0 sends metadata on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_2_with_metadata_and_fallback_to_1() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    for refuse in [false, true] {
        let (url, got) = receiver(Duration::ZERO, refuse).await;
        let cfg = config(
            &url,
            "protobuf_message: io.prometheus.write.v2.Request\nqueue_config: {batch_send_deadline: 50ms}\nmetadata_config: {send_interval: 1s}",
        );
        let (t, stop) = task(&db, cfg, Some(meta_fn()));
        let stats = t.sh.stats.clone();
        let v2 = t.sh.v2.clone();
        let handle = tokio::spawn(t.run());
        tokio::time::sleep(Duration::from_millis(300)).await;
        let base = if refuse { 1000 } else { 0 };
        write(&db, 3, base, base + 10);
        wait_for("samples sent", || stats.sent.load(Ordering::Relaxed) >= 30).await;
        if refuse {
            wait_for("1.0 metadata sent", || {
                stats.metadata_sent.load(Ordering::Relaxed) >= 1
            })
            .await;
        }
        stop.cancel();
        let _ = handle.await;
        let g = got.lock();
        let protocols: Vec<&str> = g.requests.iter().map(|r| r.0.as_str()).collect();
        let samples: usize = g
            .requests
            .iter()
            .flat_map(|r| &r.1)
            .map(|s| s.1.len())
            .sum();
        assert_eq!(samples, 30, "{protocols:?}");
        if refuse {
            assert!(!v2.load(Ordering::Relaxed));
            assert!(protocols.iter().all(|p| *p == "1.0"), "{protocols:?}");
            assert!(
                g.requests
                    .iter()
                    .any(|r| r.2 == ["load_total counter Load applied."]),
                "metadata request missing"
            );
        } else {
            assert!(v2.load(Ordering::Relaxed));
            assert!(protocols.iter().all(|p| *p == "2.0"), "{protocols:?}");
            let meta: Vec<&String> = g.requests.iter().flat_map(|r| &r.2).collect();
            assert_eq!(meta.len(), 3, "each series carries its metadata: {meta:?}");
            assert!(meta[0].ends_with("counter Load applied."), "{meta:?}");
            assert_eq!(stats.metadata_sent.load(Ordering::Relaxed), 0);
        }
    }
}

/// A shard holding a partial batch still gets more samples: full batches go out at once, and
/// only the last partial one waits for `batch_send_deadline`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_batches_do_not_stall_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let (url, _got) = receiver(Duration::ZERO, false).await;
    let cfg = config(
        &url,
        "queue_config: {max_samples_per_send: 300, capacity: 1000, batch_send_deadline: 60s}",
    );
    let (t, stop) = task(&db, cfg, None);
    let stats = t.sh.stats.clone();
    let handle = tokio::spawn(t.run());
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Written in uneven pieces, so reads end mid-batch.
    for k in 0..10 {
        write(&db, 7, k * 71, k * 71 + 71);
    }
    let full = (7 * 710 / 300) * 300;
    let t0 = Instant::now();
    wait_for("every full batch sent", || {
        stats.sent.load(Ordering::Relaxed) >= full as u64
    })
    .await;
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    stop.cancel();
    let _ = handle.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_older_than_the_age_limit_are_dropped_instead_of_retried() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    // A receiver that answers 503 while `down` is set and records what it takes.
    let down = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let got: Arc<Mutex<Vec<i64>>> = Arc::default();
    let (d, g) = (down.clone(), got.clone());
    let app = axum::Router::new().route(
        "/write",
        axum::routing::post(move |body: axum::body::Bytes| {
            let (d, g) = (d.clone(), g.clone());
            async move {
                if d.load(Ordering::Relaxed) {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
                for s in decode_write_request(&raw[..]).unwrap().timeseries {
                    g.lock().extend(s.samples.iter().map(|x| x.timestamp));
                }
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/write", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    let cfg = config(
        &url,
        "queue_config: {sample_age_limit: 2s, min_backoff: 100ms, max_backoff: 200ms, batch_send_deadline: 100ms}",
    );
    let (t, stop) = task(&db, cfg, None);
    let stats = t.sh.stats.clone();
    let handle = tokio::spawn(t.run());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let append = |ts: Vec<i64>| {
        db.append(&[SeriesInput {
            labels: vec![("__name__", "aged")],
            samples: ts.iter().map(|&t| Sample { t, v: 1.0 }).collect(),
        }])
        .unwrap();
    };
    // Written while the receiver is down: retried until 2 s old, then dropped.
    let now = now_ms();
    let old: Vec<i64> = (0..50).map(|i| now - 1000 + i).collect();
    append(old.clone());
    wait_for("the old samples dropped", || {
        stats.dropped.load(Ordering::Relaxed) == 50
    })
    .await;
    assert!(
        now_ms() - now >= 1000,
        "not dropped before they were 2 s old"
    );
    assert!(stats.failed.load(Ordering::Relaxed) >= 1);
    assert!(got.lock().is_empty());
    // Once the receiver is back, new samples go through; the dropped ones never do.
    down.store(false, Ordering::Relaxed);
    let now = now_ms();
    let new: Vec<i64> = (0..30).map(|i| now + i).collect();
    append(new.clone());
    wait_for("the new samples sent", || {
        stats.sent.load(Ordering::Relaxed) == 30
    })
    .await;
    assert_eq!(*got.lock(), new);
    assert_eq!(stats.dropped.load(Ordering::Relaxed), 50);
    stop.cancel();
    let _ = handle.await;
}

/// With `send_exemplars`, exemplars stored after the sender started go out with their series
/// in both protocols (in order, once); a flush's checkpoint of the buffer is not sent again;
/// without the option none are sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_exemplars_round_trip() {
    use crate::storage::{Exemplar, ExemplarInput};
    for (proto, extra) in [
        ("1.0", "send_exemplars: true\n"),
        (
            "2.0",
            "send_exemplars: true\nprotobuf_message: io.prometheus.write.v2.Request\n",
        ),
        ("none", ""),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (db, _) = Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
        let (url, got) = receiver(Duration::ZERO, false).await;
        let cfg = config(
            &url,
            &format!("{extra}queue_config: {{batch_send_deadline: 50ms}}"),
        );
        let (t, stop) = task(&db, cfg, None);
        let stats = t.sh.stats.clone();
        let handle = tokio::spawn(t.run());
        tokio::time::sleep(Duration::from_millis(300)).await;
        write(&db, 2, 0, 3);
        let ex = |trace: &str, t: i64| Exemplar {
            labels: crate::model::Labels::from_pairs([("trace_id", trace)]),
            value: 0.5,
            t,
        };
        let st = db
            .append_exemplars(&[ExemplarInput {
                series: vec![("__name__", "load_total"), ("id", "s1")],
                exemplars: vec![ex("t1", 1000), ex("t2", 2000)],
            }])
            .unwrap();
        assert_eq!(st.accepted, 2);
        db.flush().unwrap();
        write(&db, 2, 3, 4);
        wait_for("samples sent", || stats.sent.load(Ordering::Relaxed) >= 8).await;
        if proto != "none" {
            wait_for("exemplars sent", || {
                stats.exemplars_sent.load(Ordering::Relaxed) >= 2
            })
            .await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.cancel();
        let _ = handle.await;
        let g = got.lock();
        if proto == "none" {
            assert!(g.exemplars.is_empty());
            assert_eq!(stats.exemplars_sent.load(Ordering::Relaxed), 0);
            continue;
        }
        let want: Vec<(String, String, String, f64, i64)> = [("t1", 1000), ("t2", 2000)]
            .iter()
            .map(|(tr, t)| {
                (
                    proto.to_string(),
                    "__name__=load_total,id=s1".to_string(),
                    tr.to_string(),
                    0.5,
                    *t,
                )
            })
            .collect();
        assert_eq!(g.exemplars, want);
        assert_eq!(stats.exemplars_sent.load(Ordering::Relaxed), 2);
        assert_eq!(stats.sent.load(Ordering::Relaxed), 8);
    }
}
