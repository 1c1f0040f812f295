//! OTLP/HTTP through the routers (no sockets), on a real store: answers in the request's
//! encoding, partial success for samples the store refuses, and each refusal's status,
//! `Retry-After` and `google.rpc.Status` body.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use prost::Message;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::*;
use crate::otlp::export::rpc;
use crate::remote::Limits;
use crate::tsdb::{Db, Options};

struct Fixture {
    _dir: tempfile::TempDir,
    state: ApiState,
}

fn fixture(limits: Limits) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    let db = Arc::new(db);
    let state = ApiState::new(db.clone(), db, limits);
    state.set_ready(true);
    Fixture { _dir: dir, state }
}

struct Answer {
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn post(router: Router, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Answer {
    let mut b = Request::post(path);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    let resp = router
        .oneshot(b.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    }
}

/// A gauge `name` of one resource at `t_s` seconds, as OTLP/JSON.
fn gauge_json(name: &str, t_s: u64, v: f64) -> Vec<u8> {
    json!({"resourceMetrics": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
        "scopeMetrics": [{"metrics": [{"name": name, "gauge": {"dataPoints": [
            {"timeUnixNano": (t_s * 1_000_000_000).to_string(), "asDouble": v}]}}]}]}]})
    .to_string()
    .into_bytes()
}

const JSON_CT: (&str, &str) = ("content-type", "application/json");
const PB_CT: (&str, &str) = ("content-type", "application/x-protobuf");

#[tokio::test]
async fn both_paths_store_and_answer_in_the_request_encoding() {
    let f = fixture(Limits::default());
    let a = post(
        http_router(f.state.clone()),
        "/v1/metrics",
        &[JSON_CT],
        gauge_json("g", 100, 1.0),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "application/json");
    assert_eq!(a.body, b"{}");
    // The same handler on the API port; protobuf in, protobuf out (an empty message).
    let req = crate::otlp::decode(&gauge_json("h", 100, 2.0), true).unwrap();
    let a = post(
        super::super::router(f.state.clone()),
        "/api/v1/otlp/v1/metrics",
        &[PB_CT],
        req.encode_to_vec(),
    )
    .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.headers["content-type"], "application/x-protobuf");
    assert!(a.body.is_empty(), "{:?}", a.body);
    // gzip
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut e, &gauge_json("z", 100, 3.0)).unwrap();
    let a = post(
        http_router(f.state.clone()),
        "/v1/metrics",
        &[JSON_CT, ("content-encoding", "gzip")],
        e.finish().unwrap(),
    )
    .await;
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let names = f
        .state
        .querier
        .label_values("__name__", &[], i64::MIN, i64::MAX);
    assert_eq!(names.unwrap(), vec!["g", "h", "z"]);
}

#[tokio::test]
async fn samples_the_store_refuses_are_a_partial_success() {
    let f = fixture(Limits::default());
    let r = http_router(f.state.clone());
    assert_eq!(
        post(
            r.clone(),
            "/v1/metrics",
            &[JSON_CT],
            gauge_json("g", 100, 1.0)
        )
        .await
        .status,
        200
    );
    // Older than what is stored: refused, named, still 200 (OTLP partial success).
    let a = post(
        r.clone(),
        "/v1/metrics",
        &[JSON_CT],
        gauge_json("g", 50, 1.0),
    )
    .await;
    assert_eq!(a.status, 200);
    let v: Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(v["partialSuccess"]["rejectedDataPoints"], "1", "{v}");
    let msg = v["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(msg.contains("1 out of order"), "{msg}");
    // In protobuf, the same answer as a message.
    let req = crate::otlp::decode(&gauge_json("g", 50, 1.0), true).unwrap();
    let a = post(r, "/v1/metrics", &[PB_CT], req.encode_to_vec()).await;
    assert_eq!(a.status, 200);
    let resp = ExportMetricsServiceResponse::decode(&a.body[..]).unwrap();
    assert_eq!(resp.partial_success.unwrap().rejected_data_points, 1);
}

#[tokio::test]
async fn refusals_have_their_status_retry_after_and_a_status_body() {
    let f = fixture(Limits {
        max_body: 300,
        max_decoded: 1000,
        ..Limits::default()
    });
    let r = http_router(f.state.clone());
    // Undecodable: 400 with a google.rpc.Status in the request's encoding.
    let a = post(r.clone(), "/v1/metrics", &[PB_CT], vec![0x0f, 0xff]).await;
    assert_eq!(a.status, 400);
    let st = rpc::Status::decode(&a.body[..]).unwrap();
    assert_eq!(st.code, tonic::Code::InvalidArgument as i32);
    assert!(!st.message.is_empty());
    let a = post(r.clone(), "/v1/metrics", &[JSON_CT], b"{not json".to_vec()).await;
    assert_eq!(a.status, 400);
    let v: Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(v["code"], 3, "{v}");
    // Wrong content type or encoding: 415 in plain text.
    let a = post(
        r.clone(),
        "/v1/metrics",
        &[("content-type", "text/plain")],
        vec![],
    )
    .await;
    assert_eq!(a.status, 415);
    assert!(String::from_utf8_lossy(&a.body).contains("application/x-protobuf"));
    let a = post(
        r.clone(),
        "/v1/metrics",
        &[JSON_CT, ("content-encoding", "br")],
        vec![],
    )
    .await;
    assert_eq!(a.status, 415);
    // Too large, raw or decompressed: 413 naming the limit.
    let a = post(r.clone(), "/v1/metrics", &[JSON_CT], vec![b' '; 301]).await;
    assert_eq!(a.status, 413);
    let v: Value = serde_json::from_slice(&a.body).unwrap();
    assert!(v["message"].as_str().unwrap().contains("300 bytes"), "{v}");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut e, &[b' '; 5000]).unwrap();
    let a = post(
        r.clone(),
        "/v1/metrics",
        &[JSON_CT, ("content-encoding", "gzip")],
        e.finish().unwrap(),
    )
    .await;
    assert_eq!(a.status, 413);
    // Busy: 429 with Retry-After and RetryInfo.
    let mut busy = f.state.clone();
    busy.otlp_in_flight = (Arc::new(tokio::sync::Semaphore::new(0)), 0);
    let a = post(
        http_router(busy),
        "/v1/metrics",
        &[JSON_CT],
        gauge_json("g", 1, 1.0),
    )
    .await;
    assert_eq!(a.status, 429);
    assert_eq!(a.headers["retry-after"], "1");
    let v: Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(v["details"][0]["retryDelay"], "1s", "{v}");
    // Not ready: 503 with Retry-After.
    f.state.set_ready(false);
    let a = post(r, "/v1/metrics", &[PB_CT], vec![]).await;
    assert_eq!(a.status, 503);
    assert!(a.headers.contains_key("retry-after"));
    let st = rpc::Status::decode(&a.body[..]).unwrap();
    assert_eq!(st.code, tonic::Code::Unavailable as i32);
}

#[tokio::test]
async fn the_grpc_router_serves_export() {
    let f = fixture(Limits::default());
    let req = crate::otlp::decode(&gauge_json("viagrpc", 100, 1.0), true).unwrap();
    let msg = req.encode_to_vec();
    let mut framed = vec![0u8];
    framed.extend_from_slice(&(msg.len() as u32).to_be_bytes());
    framed.extend_from_slice(&msg);
    let a = post(
        grpc_router(f.state.clone()),
        crate::otlp::grpc::EXPORT_PATH,
        &[("content-type", "application/grpc"), ("te", "trailers")],
        framed,
    )
    .await;
    assert_eq!(a.status, 200);
    let names = f
        .state
        .querier
        .label_values("__name__", &[], i64::MIN, i64::MAX);
    assert_eq!(names.unwrap(), vec!["viagrpc"]);
}
