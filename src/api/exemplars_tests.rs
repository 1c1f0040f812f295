//! `/api/v1/query_exemplars` through the router over a real store.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::api::{router, ApiState};
use crate::model::{Labels, Sample};
use crate::remote::Limits;
use crate::storage::{Appender, Exemplar, ExemplarInput, SeriesInput};
use crate::tsdb::{Db, Options};

fn fixture() -> (tempfile::TempDir, ApiState) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    let series: [&[(&str, &str)]; 3] = [
        &[("__name__", "req_total"), ("job", "a")],
        &[("__name__", "req_total"), ("job", "b")],
        &[("__name__", "other"), ("job", "a")],
    ];
    let batch: Vec<SeriesInput> = series
        .iter()
        .map(|l| SeriesInput {
            labels: l.to_vec(),
            samples: vec![Sample { t: 1000, v: 1.0 }],
        })
        .collect();
    db.append(&batch).unwrap();
    let ex = |trace: &str, value: f64, t: i64| Exemplar {
        labels: Labels::from_pairs([("trace_id", trace)]),
        value,
        t,
    };
    let input: Vec<ExemplarInput> = vec![
        ExemplarInput {
            series: series[1].to_vec(),
            exemplars: vec![ex("b1", 0.5, 1_600_000_000_123)],
        },
        ExemplarInput {
            series: series[0].to_vec(),
            exemplars: vec![
                ex("a1", 1.5, 1_600_000_000_000),
                ex("a2", f64::INFINITY, 1_600_000_010_500),
            ],
        },
        ExemplarInput {
            series: series[2].to_vec(),
            exemplars: vec![ex("o1", 2.0, 1_600_000_000_000)],
        },
    ];
    let st = db.append_exemplars(&input).unwrap();
    assert_eq!(st.accepted, 4);
    let db = Arc::new(db);
    (dir, ApiState::new(db.clone(), db, Limits::default()))
}

async fn call(state: &ApiState, req: Request<Body>) -> (StatusCode, String) {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

async fn get(state: &ApiState, query: &str) -> (StatusCode, Value) {
    let uri = format!("/api/v1/query_exemplars?{query}");
    let (s, b) = call(state, Request::get(uri).body(Body::empty()).unwrap()).await;
    (s, serde_json::from_str(&b).unwrap_or(Value::String(b)))
}

#[tokio::test]
async fn answers_in_prometheus_shape_sorted_by_series() {
    let (_dir, state) = fixture();
    let (code, v) = get(&state, "query=req_total").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        v,
        json!({"status": "success", "data": [
            {"seriesLabels": {"__name__": "req_total", "job": "a"}, "exemplars": [
                {"labels": {"trace_id": "a1"}, "value": "1.5", "timestamp": 1600000000.0},
                {"labels": {"trace_id": "a2"}, "value": "+Inf", "timestamp": 1600000010.5},
            ]},
            {"seriesLabels": {"__name__": "req_total", "job": "b"}, "exemplars": [
                {"labels": {"trace_id": "b1"}, "value": "0.5", "timestamp": 1600000000.123},
            ]},
        ]})
    );
}

#[tokio::test]
async fn every_selector_of_the_expression_picks_series_within_the_range() {
    let (_dir, state) = fixture();
    // Both selectors count; offsets and ranges do not move the window.
    let (_, v) = get(
        &state,
        "query=sum(rate(req_total%7Bjob%3D%22b%22%7D%5B5m%5D%20offset%201h))%20%2B%20other&start=1600000000&end=1600000001",
    )
    .await;
    let names: Vec<&str> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["exemplars"][0]["labels"]["trace_id"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["o1", "b1"]);
    // a2 is after the end.
    let (_, v) = get(&state, "query=req_total%7Bjob%3D%22a%22%7D&end=1600000005").await;
    assert_eq!(v["data"][0]["exemplars"].as_array().unwrap().len(), 1);
    let (_, v) = get(&state, "query=nothing").await;
    assert_eq!(v, json!({"status": "success", "data": []}));
    // POST form bodies work too.
    let req = Request::post("/api/v1/query_exemplars")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::from("query=other"))
        .unwrap();
    let (code, body) = call(&state, req).await;
    assert_eq!(code, StatusCode::OK);
    assert!(body.contains("\"o1\""), "{body}");
}

#[tokio::test]
async fn errors_and_no_selectors_as_prometheus() {
    let (_dir, state) = fixture();
    for (q, want) in [
        ("query=(", "1:2: parse error: unclosed left parenthesis"),
        (
            "query=up&start=x",
            "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"x\" to a valid timestamp",
        ),
        (
            "query=(&start=10&end=1",
            "end timestamp must not be before start timestamp",
        ),
    ] {
        let (code, v) = get(&state, q).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(v["errorType"], "bad_data", "{q}");
        assert_eq!(v["error"], want, "{q}");
    }
    let (code, v) = get(&state, "query=").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(v["error"]
        .as_str()
        .unwrap()
        .ends_with("parse error: no expression found in input"));
    let (code, v) = get(&state, "query=1%2B1").await;
    assert_eq!(
        (code, v),
        (StatusCode::NO_CONTENT, Value::String(String::new()))
    );
}

fn post_write(raw: Vec<u8>, v2: bool) -> Request<Body> {
    let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let ct = if v2 {
        "application/x-protobuf;proto=io.prometheus.write.v2.Request"
    } else {
        "application/x-protobuf"
    };
    Request::post("/api/v1/write")
        .header("Content-Type", ct)
        .header("Content-Encoding", "snappy")
        .body(Body::from(body))
        .unwrap()
}

async fn write(state: &ApiState, raw: Vec<u8>, v2: bool) -> (StatusCode, Option<String>, String) {
    let resp = router(state.clone())
        .oneshot(post_write(raw, v2))
        .await
        .unwrap();
    let status = resp.status();
    let header = resp
        .headers()
        .get("x-prometheus-remote-write-exemplars-written")
        .map(|v| v.to_str().unwrap().to_string());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, header, String::from_utf8(body.to_vec()).unwrap())
}

fn traces(v: &Value) -> Vec<String> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["exemplars"].as_array().unwrap().iter())
        .map(|e| e["labels"]["trace_id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn remote_write_stores_exemplars_and_says_how_many() {
    use crate::remote::proto::{encode_v2, encode_write_request_with_exemplars, SeriesV2};
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    let db = Arc::new(db);
    let state = ApiState::new(db.clone(), db, Limits::default());
    state.set_ready(true);
    let ex = |trace: &str, t: i64| Exemplar {
        labels: Labels::from_pairs([("trace_id", trace)]),
        value: 0.5,
        t,
    };
    // 1.0: one series with two exemplars (one out of order).
    let raw = encode_write_request_with_exemplars(
        &[(
            vec![("__name__", "v1_total")],
            vec![Sample { t: 5000, v: 1.0 }],
        )],
        &[vec![ex("one", 4000), ex("old", 3000)]],
    );
    let (code, header, body) = write(&state, raw, false).await;
    assert_eq!((code, header), (StatusCode::NO_CONTENT, None), "{body}");
    let (_, v) = get(&state, "query=v1_total").await;
    assert_eq!(traces(&v), ["one"]);

    // 2.0: the header counts what was stored (a repeat of the newest is not).
    let raw = encode_v2(&[
        SeriesV2 {
            labels: vec![("__name__", "v2_total")],
            samples: vec![Sample { t: 5000, v: 1.0 }],
            exemplars: vec![ex("a", 4000), ex("b", 4500)],
            ..SeriesV2::default()
        },
        SeriesV2 {
            labels: vec![("__name__", "v1_total")],
            samples: vec![Sample { t: 6000, v: 2.0 }],
            exemplars: vec![ex("one", 4000), ex(&"x".repeat(130), 5500)],
            ..SeriesV2::default()
        },
    ]);
    let (code, header, body) = write(&state, raw, true).await;
    assert_eq!(code, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(header.as_deref(), Some("2"));
    let (_, v) = get(&state, "query=v2_total").await;
    assert_eq!(traces(&v), ["a", "b"]);

    // A partly refused write (an out-of-order sample) still reports the stored exemplars.
    let raw = encode_v2(&[SeriesV2 {
        labels: vec![("__name__", "v2_total")],
        samples: vec![Sample { t: 1000, v: 1.0 }],
        exemplars: vec![ex("c", 4800)],
        ..SeriesV2::default()
    }]);
    let (code, header, _) = write(&state, raw, true).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert_eq!(header.as_deref(), Some("1"));
}

#[tokio::test]
async fn a_selector_matching_everything_is_refused() {
    let (_dir, state) = fixture();
    let (code, v) = get(&state, "query=%7Bjob%3D~%22.*%22%7D").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{v}");
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("vector selector must contain at least one non-empty matcher"));
}
