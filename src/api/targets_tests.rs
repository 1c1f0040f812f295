//! `/api/v1/targets` (filters, dropped targets, discovery errors) and
//! `/api/v1/targets/relabel_steps` through the router, over a real scrape manager.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::api::{router, ApiState};
use crate::remote::Limits;
use crate::tsdb::{Db, Options};

async fn get(state: &ApiState, uri: &str) -> (StatusCode, Value) {
    let uri = uri
        .replace('"', "%22")
        .replace('{', "%7B")
        .replace('}', "%7D");
    let resp = router(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&body).unwrap())
}

/// Two jobs: `a` with a target relabeling drops and a file SD file that does not parse, `b`
/// with one target. Intervals of an hour: no scrape happens during the test.
fn fixture(dir: &std::path::Path) -> (ApiState, Arc<crate::scrape::Manager>) {
    let (db, _) = Db::open(&dir.join("data"), Options::default()).unwrap();
    let db = Arc::new(db);
    std::fs::write(dir.join("bad.json"), "[{\"targets\": ").unwrap();
    let cfg = crate::config::Config::parse(
        r#"
scrape_configs:
- job_name: a
  scrape_interval: 1h
  static_configs: [{targets: ['127.0.0.1:1', 'drop:1']}]
  file_sd_configs: [{files: [bad.json]}]
  relabel_configs:
  - {target_label: team, replacement: x}
  - {source_labels: [__address__], regex: 'drop:.*', action: drop}
- job_name: b
  scrape_interval: 1h
  static_configs: [{targets: ['127.0.0.1:2']}]
"#,
        &dir.join("p.yml"),
    )
    .unwrap();
    let m = crate::scrape::Manager::new(db.clone(), CancellationToken::new());
    m.apply(&cfg);
    let state = ApiState::new(db.clone(), db, Limits::default()).with_scrape(m.clone());
    (state, m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_filters_dropped_and_discovery_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (state, m) = fixture(dir.path());
    let (code, v) = get(&state, "/api/v1/targets").await;
    assert_eq!(code, StatusCode::OK);
    let d = &v["data"];
    assert_eq!(d["activeTargets"].as_array().unwrap().len(), 2, "{d}");
    let dropped = d["droppedTargets"].as_array().unwrap();
    assert_eq!(dropped.len(), 1, "{d}");
    assert_eq!(dropped[0]["scrapePool"], "a");
    assert_eq!(dropped[0]["discoveredLabels"]["__address__"], "drop:1");
    assert_eq!(dropped[0]["discoveredLabels"]["job"], "a");
    assert_eq!(
        dropped[0]["droppedBy"],
        json!({"index": 1, "action": "drop"})
    );
    // Every pool is counted, as Prometheus's droppedTargetCounts.
    assert_eq!(d["droppedTargetCounts"], json!({"a": 1, "b": 0}));
    let errs = d["discoveryErrors"].as_array().unwrap();
    assert_eq!(errs.len(), 1, "{d}");
    assert_eq!(errs[0]["scrapePool"], "a");
    assert_eq!(errs[0]["discoverer"], "file/0");
    assert!(
        errs[0]["error"].as_str().unwrap().contains("bad.json"),
        "{d}"
    );
    let active = d["activeTargets"][0].clone();
    assert_eq!(active["discoveredLabels"]["__address__"], "127.0.0.1:1");
    assert!(active["discoveredLabels"].get("team").is_none());
    assert_eq!(active["labels"]["team"], "x");

    // state: both lists are always there; an unknown state shows neither.
    let (_, v) = get(&state, "/api/v1/targets?state=active").await;
    assert_eq!(v["data"]["activeTargets"].as_array().unwrap().len(), 2);
    assert_eq!(v["data"]["droppedTargets"], json!([]));
    assert!(v["data"].get("droppedTargetCounts").is_none());
    let (_, v) = get(&state, "/api/v1/targets?state=Dropped").await;
    assert_eq!(v["data"]["activeTargets"], json!([]));
    assert_eq!(v["data"]["droppedTargets"].as_array().unwrap().len(), 1);
    let (_, v) = get(&state, "/api/v1/targets?state=bogus").await;
    assert_eq!(v["data"]["activeTargets"], json!([]));
    assert_eq!(v["data"]["droppedTargets"], json!([]));
    // scrapePool picks one pool's lists; the counts stay every pool's.
    let (_, v) = get(&state, "/api/v1/targets?scrapePool=b").await;
    assert_eq!(v["data"]["activeTargets"].as_array().unwrap().len(), 1);
    assert_eq!(v["data"]["droppedTargets"], json!([]));
    assert_eq!(v["data"]["droppedTargetCounts"], json!({"a": 1, "b": 0}));
    assert_eq!(v["data"]["discoveryErrors"], json!([]));
    m.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relabel_steps_and_their_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (state, m) = fixture(dir.path());
    let (code, v) = get(
        &state,
        r#"/api/v1/targets/relabel_steps?scrapePool=a&labels={"__address__":"drop:1","job":"a"}"#,
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{v}");
    let steps = v["data"]["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(
        steps[0]["rule"],
        json!({"separator": ";", "regex": "(.*)", "targetLabel": "team", "replacement": "x", "action": "replace"})
    );
    assert_eq!(
        steps[0]["output"],
        json!({"__address__": "drop:1", "job": "a", "team": "x"})
    );
    assert_eq!(steps[0]["keep"], true);
    assert_eq!(steps[1]["rule"]["sourceLabels"], json!(["__address__"]));
    assert_eq!(steps[1]["rule"]["action"], "drop");
    assert_eq!(steps[1]["output"], json!({}));
    assert_eq!(steps[1]["keep"], false);
    let (_, v) = get(
        &state,
        r#"/api/v1/targets/relabel_steps?scrapePool=a&labels={"__address__":"k:1"}"#,
    )
    .await;
    assert_eq!(v["data"]["steps"][1]["keep"], true);
    assert_eq!(v["data"]["steps"][1]["output"]["team"], "x");
    let (_, v) = get(
        &state,
        r#"/api/v1/targets/relabel_steps?scrapePool=b&labels={"__address__":"k:1"}"#,
    )
    .await;
    assert_eq!(v["data"]["steps"], json!([]), "no rules, no steps");

    for (uri, want) in [
        (
            "/api/v1/targets/relabel_steps?labels={}",
            "no scrapePool parameter",
        ),
        (
            "/api/v1/targets/relabel_steps?scrapePool=a",
            "no labels parameter",
        ),
        (
            "/api/v1/targets/relabel_steps?scrapePool=a&labels={\"a\":",
            "error parsing labels",
        ),
        (
            "/api/v1/targets/relabel_steps?scrapePool=zz&labels={}",
            "scrape pool \"zz\" not found",
        ),
    ] {
        let (code, v) = get(&state, uri).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{uri}: {v}");
        assert_eq!(v["errorType"], "bad_data");
        assert!(v["error"].as_str().unwrap().contains(want), "{uri}: {v}");
    }
    m.stop();
}
