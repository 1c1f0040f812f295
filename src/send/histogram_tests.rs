//! Native histograms on the sending side: WAL histogram records become items only with
//! `send_native_histograms`, and a batch of them (with float samples of the same series)
//! encodes into 1.0 and 2.0 bodies that decode back to the same samples, integer as integer
//! and float as float.

use super::encode::{Counts, Grouped, Item, Value};
use super::queue::to_send;
use crate::config::RemoteWriteConfig;
use crate::model::{
    CounterResetHint, FloatHistogram, Histogram, HistogramSample, HistogramValue, Labels, Sample,
    Span,
};
use crate::remote::proto::{decode_write_request, decode_write_request_v2, DecodedSeries};
use crate::tsdb::wal::{parse_records, Encoder, Record};

fn config(extra: &str) -> RemoteWriteConfig {
    serde_yaml::from_str(&format!("url: http://127.0.0.1:1/write\n{extra}"))
        .expect("a valid remote_write entry")
}

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

/// Histograms of every kind the sender must carry: integer and float, schemas −4, 0, 8 and
/// −53, every reset hint, a stale marker.
fn samples() -> Vec<HistogramSample> {
    let int = |schema, hint| Histogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold: 0.001,
        zero_count: 1,
        count: 8,
        sum: 12.5,
        positive_spans: vec![span(-1, 2), span(2, 1)],
        positive_buckets: vec![2, -1, 1],
        negative_spans: vec![span(0, 1)],
        negative_buckets: vec![2],
        custom_values: Vec::new(),
    };
    let float = |schema, hint| FloatHistogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold: 0.25,
        zero_count: 0.5,
        count: 3.75,
        sum: -1.25,
        positive_spans: vec![span(3, 2)],
        positive_buckets: vec![1.25, 2.0],
        negative_spans: Vec::new(),
        negative_buckets: Vec::new(),
        custom_values: Vec::new(),
    };
    let nhcb = Histogram {
        schema: -53,
        count: 3,
        sum: 1.5,
        positive_spans: vec![span(0, 1), span(1, 1)],
        positive_buckets: vec![1, 1],
        custom_values: vec![0.5, 1.0, 2.5],
        ..Histogram::default()
    };
    let stale = FloatHistogram {
        sum: crate::model::stale_nan(),
        ..FloatHistogram::default()
    };
    let values = vec![
        HistogramValue::Int(int(-4, CounterResetHint::Unknown)),
        HistogramValue::Int(int(0, CounterResetHint::CounterReset)),
        HistogramValue::Float(float(8, CounterResetHint::NotCounterReset)),
        HistogramValue::Float(float(2, CounterResetHint::Gauge)),
        HistogramValue::Int(nhcb.clone()),
        HistogramValue::Float(nhcb.to_float()),
        HistogramValue::Float(stale),
    ];
    values
        .into_iter()
        .enumerate()
        .map(|(i, h)| HistogramSample {
            t: 1000 * (i as i64 + 1),
            h,
        })
        .collect()
}

/// The WAL bytes of a float-samples record and a histograms record for series 1 and 2.
fn wal_bytes(hs: &[HistogramSample]) -> Vec<u8> {
    let mut e = Encoder::default();
    e.samples(&[(1, 500, 1.5), (2, 600, 2.5)]);
    let with_ids: Vec<(u64, &HistogramSample)> = hs
        .iter()
        .enumerate()
        .map(|(i, s)| (1 + (i as u64 % 2), s))
        .collect();
    e.histograms(with_ids);
    e.buf
}

fn labels_of(id: u64) -> Labels {
    Labels::from_pairs([
        ("__name__", "lat_seconds"),
        ("id", if id == 1 { "a" } else { "b" }),
    ])
}

/// The items a sender with `extra` settings makes of the WAL bytes.
fn items(extra: &str, wal: &[u8]) -> Vec<Item> {
    let cfg = config(extra);
    let (records, used) = parse_records(wal);
    assert_eq!(used, wal.len(), "every record parses");
    assert!(records.iter().any(|r| matches!(r, Record::Histograms(_))));
    records
        .into_iter()
        .filter_map(|r| to_send(r, &cfg))
        .flatten()
        .map(|(id, t, value)| Item {
            labels: labels_of(id),
            t,
            value,
            seg: 0,
        })
        .collect()
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("UTF-8")
}

/// Checks decoded series against what was written: series "a" holds the float 1.5 and the
/// even-numbered histograms, "b" the float 2.5 and the others, bit for bit.
fn check(decoded: &[DecodedSeries<'_>], hs: &[HistogramSample], what: &str) {
    assert_eq!(decoded.len(), 2, "{what}");
    for (k, d) in decoded.iter().enumerate() {
        let id = d
            .labels
            .iter()
            .find(|(n, _)| *n == b"id")
            .map(|x| text(x.1));
        assert_eq!(id, Some(if k == 0 { "a" } else { "b" }), "{what}");
        assert_eq!(
            d.samples,
            vec![Sample {
                t: 500 + 100 * k as i64,
                v: 1.5 + k as f64
            }],
            "{what}"
        );
        let want: Vec<&HistogramSample> = hs.iter().skip(k).step_by(2).collect();
        assert_eq!(d.histograms.len(), want.len(), "{what}");
        for (got, want) in d.histograms.iter().zip(want) {
            assert_eq!(got.t, want.t, "{what}");
            assert!(
                got.h.same_bits(&want.h),
                "{what}: {:?} came back as {:?}",
                want.h,
                got.h
            );
        }
    }
}

#[test]
fn wal_histograms_encode_into_1_0_and_2_0_bodies_that_decode_back() {
    let hs = samples();
    let wal = wal_bytes(&hs);
    let items = items("send_native_histograms: true\n", &wal);
    assert_eq!(
        Counts::of(&items),
        Counts {
            samples: 2,
            exemplars: 0,
            histograms: hs.len() as u64
        }
    );
    let refs: Vec<&Item> = items.iter().collect();
    let grouped = Grouped::new(&refs);

    let v1 = decode_write_request(&grouped.v1()[..]).expect("a 1.0 body");
    let decoded: Vec<DecodedSeries<'_>> = v1.timeseries.iter().map(|t| t.decoded()).collect();
    check(&decoded, &hs, "1.0");
    // Integer histograms travel with integer counts and deltas, float ones with float counts.
    let first = &v1.timeseries[0].histograms[0];
    assert!(!first.is_float() && !first.positive_deltas.is_empty());
    assert!(first.positive_counts.is_empty());
    let float = &v1.timeseries[0].histograms[1];
    assert!(float.is_float() && float.positive_deltas.is_empty());
    assert_eq!(float.positive_counts, vec![1.25, 2.0]);

    let v2 = decode_write_request_v2(&grouped.v2(|_| None)[..]).expect("a 2.0 body");
    let series = v2.decoded_series().expect("symbols resolve");
    let decoded: Vec<DecodedSeries<'_>> = series.into_iter().map(|s| s.series).collect();
    check(&decoded, &hs, "2.0");
}

#[test]
fn histograms_stay_home_without_send_native_histograms() {
    let hs = samples();
    let wal = wal_bytes(&hs);
    for extra in ["", "send_native_histograms: false\n"] {
        let items = items(extra, &wal);
        assert_eq!(
            Counts::of(&items),
            Counts {
                samples: 2,
                exemplars: 0,
                histograms: 0
            },
            "{extra:?}"
        );
        assert!(items.iter().all(|i| matches!(i.value, Value::Sample(_))));
    }
}

/// A remote-write endpoint storing into `db` with promterm's own receiver.
async fn receiving_db(db: crate::tsdb::Db) -> String {
    use axum::http::HeaderMap;
    async fn write(
        axum::extract::State(db): axum::extract::State<crate::tsdb::Db>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
        let r = crate::remote::receive(
            &db,
            h("content-type"),
            h("content-encoding"),
            &body,
            crate::remote::Limits::default(),
        );
        match r {
            Ok(_) => axum::http::StatusCode::NO_CONTENT,
            Err(e) => axum::http::StatusCode::from_u16(e.status()).expect("a valid status"),
        }
    }
    let app = axum::Router::new()
        .route("/write", axum::routing::post(write))
        .with_state(db);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = l.local_addr().expect("bound");
    tokio::spawn(async move { axum::serve(l, app).await.expect("serve") });
    format!("http://{addr}/write")
}

/// The counter-reset hint a store keeps is its chunk's business; compare values without it
/// (gauge aside).
fn hintless(h: &HistogramValue) -> HistogramValue {
    let strip = |x: CounterResetHint| {
        if x == CounterResetHint::Gauge {
            x
        } else {
            CounterResetHint::Unknown
        }
    };
    let mut h = h.clone();
    match &mut h {
        HistogramValue::Int(x) => x.counter_reset_hint = strip(x.counter_reset_hint),
        HistogramValue::Float(x) => x.counter_reset_hint = strip(x.counter_reset_hint),
    }
    h
}

/// Histograms stored in one promterm reach another through the sender and the receiver, in
/// both protocols, counted in the histogram counters; without `send_native_histograms` only
/// the float samples go.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_histograms_reach_another_store_over_both_protocols() {
    use crate::storage::{Appender, HistogramInput, Querier, SeriesInput};
    use crate::tsdb::{Db, Options};
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};
    // Valid histograms only (the receiver validates): every kind but the stale marker, which
    // the store keeps as its own marker.
    let hs: Vec<HistogramSample> = samples()
        .into_iter()
        .filter(|s| s.h.validate().is_ok() && !s.h.is_stale())
        .collect();
    assert_eq!(hs.len(), 6, "all but the stale marker are valid: {hs:?}");
    for (proto, extra) in [
        ("1.0", "send_native_histograms: true\n"),
        (
            "2.0",
            "send_native_histograms: true\nprotobuf_message: io.prometheus.write.v2.Request\n",
        ),
        ("none", ""),
    ] {
        let (da, db_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let (a, _) = Db::open(da.path(), Options::default()).unwrap();
        let (b, _) = Db::open(db_dir.path(), Options::default()).unwrap();
        let url = receiving_db(b.clone()).await;
        let cfg: RemoteWriteConfig = serde_yaml::from_str(&format!(
            "url: {url}\n{extra}queue_config: {{batch_send_deadline: 50ms}}\n"
        ))
        .unwrap();
        let client =
            crate::scrape::client::build_client(&cfg.http_client(), Duration::from_secs(5), false)
                .unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let task = super::queue::Task::new(a.clone(), cfg, client, stop.clone(), None);
        let stats = task.sh.stats.clone();
        let handle = tokio::spawn(task.run());
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Each histogram series is a separate one: the kinds differ in schema and form.
        let names: Vec<String> = (0..hs.len()).map(|i| format!("h{i}")).collect();
        let batch: Vec<HistogramInput<'_>> = names
            .iter()
            .zip(&hs)
            .map(|(n, s)| HistogramInput {
                labels: vec![("__name__", "sent_seconds"), ("kind", n.as_str())],
                histograms: vec![s.clone()],
            })
            .collect();
        let st = a.append_histograms(&batch).unwrap();
        assert_eq!(st.accepted, hs.len() as u64, "{proto}: {st:?}");
        a.append(&[SeriesInput {
            labels: vec![("__name__", "sent_floats")],
            samples: vec![Sample { t: 1000, v: 4.0 }],
        }])
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let want = if proto == "none" { 0 } else { hs.len() as u64 };
        while stats.sent.load(Ordering::Relaxed) < 1
            || stats.histograms_sent.load(Ordering::Relaxed) < want
        {
            assert!(Instant::now() < deadline, "{proto}: not sent: {stats:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.cancel();
        let _ = handle.await;
        assert_eq!(stats.histograms_sent.load(Ordering::Relaxed), want);
        assert_eq!(stats.histograms_pending.load(Ordering::Relaxed), 0);
        assert_eq!(stats.histograms_failed.load(Ordering::Relaxed), 0);
        let m = |n: &str| vec![crate::model::Matcher::equal("__name__", n)];
        let floats = b.select(&m("sent_floats"), i64::MIN, i64::MAX).unwrap();
        assert_eq!(floats.len(), 1, "{proto}: the float series arrives");
        let got = b.select(&m("sent_seconds"), i64::MIN, i64::MAX).unwrap();
        if proto == "none" {
            assert!(got.is_empty(), "no histograms without the option");
            continue;
        }
        assert_eq!(got.len(), hs.len(), "{proto}");
        for s in &got {
            let kind = s.labels.get("kind").expect("kind label");
            let i: usize = kind[1..].parse().unwrap();
            assert_eq!(s.histograms.len(), 1, "{proto} {kind}");
            let (g, w) = (&s.histograms[0], &hs[i]);
            assert_eq!(g.t, w.t);
            assert!(
                hintless(&g.h).same_bits(&hintless(&w.h)),
                "{proto} {kind}: sent {:?}, stored {:?}",
                w.h,
                g.h
            );
        }
    }
}
