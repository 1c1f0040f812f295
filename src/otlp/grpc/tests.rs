//! The gRPC receiver through its router (no sockets): an export stored and answered, gzip in
//! and out, and each refusal with the status code the OTLP spec gives it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::body::Body;
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    metric, number_data_point, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use parking_lot::Mutex;
use prost::Message;
use tower::ServiceExt;

use super::*;
use crate::otlp::export::rpc;
use crate::storage::{AppendStats, Appender, SeriesInput, StorageError};

/// Records the series appended.
#[derive(Default)]
struct Rec(Mutex<Vec<String>>);

impl Appender for Rec {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut st = AppendStats::default();
        for s in batch {
            st.accepted += s.samples.len() as u64;
            let l: Vec<String> = s.labels.iter().map(|(a, b)| format!("{a}={b}")).collect();
            self.0.lock().push(l.join(","));
        }
        Ok(st)
    }
}

struct Fixture {
    rec: Arc<Rec>,
    ready: Arc<AtomicBool>,
    router: axum::Router,
}

fn fixture(slots: usize, max_message: usize) -> Fixture {
    let rec = Arc::new(Rec::default());
    let ready = Arc::new(AtomicBool::new(true));
    let r = ready.clone();
    let sink = Sink {
        appender: rec.clone(),
        receiver: Arc::default(),
        labels: crate::model::LabelLimits::default(),
        ready: Arc::new(move || r.load(Ordering::SeqCst)),
        on_stored: Arc::new(|_| {}),
        in_flight: Arc::new(tokio::sync::Semaphore::new(slots)),
        max_in_flight: slots,
    };
    Fixture {
        rec,
        ready,
        router: router(sink, max_message),
    }
}

fn gauge_request(name: &str, v: f64) -> ExportMetricsServiceRequest {
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    };
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "shop")],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.into(),
                    data: Some(metric::Data::Gauge(Gauge {
                        data_points: vec![NumberDataPoint {
                            time_unix_nano: 1_000_000_000,
                            value: Some(number_data_point::Value::AsDouble(v)),
                            ..Default::default()
                        }],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A gRPC length-prefixed message.
fn frame(compressed: bool, msg: &[u8]) -> Vec<u8> {
    let mut f = vec![u8::from(compressed)];
    f.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    f.extend_from_slice(msg);
    f
}

fn gzip(b: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// What came back: HTTP status, headers, the body's bytes and the trailers.
struct Answer {
    http: u16,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
    trailers: axum::http::HeaderMap,
}

impl Answer {
    /// The grpc-status, from the trailers or (trailers-only answers) the headers.
    fn code(&self) -> String {
        let h = self
            .trailers
            .get("grpc-status")
            .or(self.headers.get("grpc-status"))
            .expect("a grpc-status");
        h.to_str().unwrap().to_string()
    }

    fn status(&self) -> tonic::Status {
        let mut all = self.headers.clone();
        all.extend(self.trailers.clone());
        tonic::Status::from_header_map(&all).expect("a status")
    }
}

async fn call(f: &Fixture, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let mut b = axum::http::Request::post(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = f
        .router
        .clone()
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let http = resp.status().as_u16();
    let headers = resp.headers().clone();
    let collected = resp.into_body().collect().await.unwrap();
    let trailers = collected.trailers().cloned().unwrap_or_default();
    Answer {
        http,
        headers,
        body: collected.to_bytes().to_vec(),
        trailers,
    }
}

#[tokio::test]
async fn an_export_is_stored_and_answered_with_gzip_both_ways() {
    let f = fixture(4, 1 << 20);
    let msg = gauge_request("queue.depth", 3.0).encode_to_vec();
    let a = call(&f, EXPORT_PATH, &[], frame(false, &msg)).await;
    assert_eq!((a.http, a.code()), (200, "0".to_string()));
    // The answer: one uncompressed message, an empty response (nothing refused).
    assert_eq!(a.body[0], 0);
    let resp = ExportMetricsServiceResponse::decode(&a.body[5..]).unwrap();
    assert_eq!(resp.partial_success, None);
    assert!(
        f.rec.0.lock()[0].contains("__name__=queue_depth"),
        "{:?}",
        f.rec.0.lock()
    );
    // gzip request; the client accepts gzip, so the answer is gzipped too.
    let msg = gauge_request("other", 1.0).encode_to_vec();
    let a = call(
        &f,
        EXPORT_PATH,
        &[("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip")],
        frame(true, &gzip(&msg)),
    )
    .await;
    assert_eq!(a.code(), "0", "{:?}", a.status());
    assert_eq!(a.headers["grpc-encoding"], "gzip");
    assert_eq!(f.rec.0.lock().len(), 2);
    // zstd is accepted too.
    let z = zstd::encode_all(&msg[..], 1).unwrap();
    let a = call(
        &f,
        EXPORT_PATH,
        &[("grpc-encoding", "zstd")],
        frame(true, &z),
    )
    .await;
    assert_eq!(a.code(), "0", "{:?}", a.status());
}

#[tokio::test]
async fn garbage_is_invalid_argument_and_the_next_export_still_works() {
    let f = fixture(4, 1 << 20);
    // A frame holding bytes that are no protobuf (a field with wire type 7).
    let a = call(&f, EXPORT_PATH, &[], frame(false, &[0x0f, 0xff, 0xff])).await;
    assert_eq!(a.http, 200);
    assert_eq!(a.code(), (tonic::Code::InvalidArgument as i32).to_string());
    assert!(
        a.status().message().contains("invalid OTLP protobuf"),
        "{:?}",
        a.status()
    );
    // Not even a frame: tonic's own protocol error.
    let a = call(&f, EXPORT_PATH, &[], b"\x00\x00".to_vec()).await;
    assert_eq!(a.code(), (tonic::Code::Internal as i32).to_string());
    // A translation refusal (label limits) is INVALID_ARGUMENT too.
    let long = "x".repeat(5000);
    let mut req = gauge_request("g", 1.0);
    req.resource_metrics[0]
        .resource
        .as_mut()
        .unwrap()
        .attributes[0]
        .value
        .as_mut()
        .unwrap()
        .value = Some(any_value::Value::StringValue(long));
    let a = call(&f, EXPORT_PATH, &[], frame(false, &req.encode_to_vec())).await;
    assert_eq!(a.code(), "3", "{:?}", a.status());
    let msg = gauge_request("fine", 1.0).encode_to_vec();
    assert_eq!(
        call(&f, EXPORT_PATH, &[], frame(false, &msg)).await.code(),
        "0"
    );
}

#[tokio::test]
async fn over_the_size_limit_is_resource_exhausted_naming_it_without_retry() {
    let f = fixture(4, 100);
    let big = gauge_request(&"n".repeat(300), 1.0).encode_to_vec();
    for (headers, body) in [
        (vec![], frame(false, &big)),
        // Small compressed, too big once decompressed.
        (
            vec![("grpc-encoding", "gzip")],
            frame(true, &gzip(&vec![b'a'; 5000])),
        ),
    ] {
        let a = call(&f, EXPORT_PATH, &headers, body).await;
        let st = a.status();
        assert_eq!(st.code(), tonic::Code::ResourceExhausted, "{st:?}");
        assert!(st.message().contains("100 bytes"), "{st:?}");
        assert!(st.message().contains("--remote-write.max-bytes"), "{st:?}");
        let details = rpc::Status::decode(st.details()).unwrap();
        assert_eq!(details.retry_delay(), None);
    }
    assert!(f.rec.0.lock().is_empty());
}

#[tokio::test]
async fn busy_and_not_ready_carry_retry_info() {
    let f = fixture(0, 1 << 20);
    let msg = gauge_request("g", 1.0).encode_to_vec();
    let a = call(&f, EXPORT_PATH, &[], frame(false, &msg)).await;
    let st = a.status();
    assert_eq!(st.code(), tonic::Code::ResourceExhausted);
    let details = rpc::Status::decode(st.details()).unwrap();
    assert_eq!(details.retry_delay(), Some(crate::otlp::export::RETRY_BUSY));
    let f = fixture(1, 1 << 20);
    f.ready.store(false, Ordering::SeqCst);
    let st = call(&f, EXPORT_PATH, &[], frame(false, &msg))
        .await
        .status();
    assert_eq!(st.code(), tonic::Code::Unavailable);
    let details = rpc::Status::decode(st.details()).unwrap();
    assert!(details.retry_delay().is_some());
    assert!(f.rec.0.lock().is_empty());
}

#[tokio::test]
async fn other_methods_are_unimplemented() {
    let f = fixture(1, 1 << 20);
    let a = call(
        &f,
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        &[],
        frame(false, &[]),
    )
    .await;
    assert_eq!(a.code(), (tonic::Code::Unimplemented as i32).to_string());
    // OTLP/HTTP sent to the gRPC port: a 404 saying where it belongs.
    let resp = f
        .router
        .clone()
        .oneshot(
            axum::http::Request::post("/v1/metrics")
                .header("content-type", "application/x-protobuf")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let text = resp.into_body().collect().await.unwrap().to_bytes();
    assert!(
        String::from_utf8_lossy(&text).contains("--otlp.http-listen-address"),
        "{text:?}"
    );
}
