//! Self-monitoring tests: the families on /metrics, their names, types and labels, and the
//! summary quantiles.

use super::encode::quantile;
use super::*;
use crate::tsdb::Db;

#[test]
fn handler_labels_use_prometheus_route_syntax() {
    assert_eq!(
        handler_label("/api/v1/label/{name}/values"),
        "/api/v1/label/:name/values"
    );
    assert_eq!(handler_label("/metrics/{*rest}"), "/metrics/*rest");
    assert_eq!(handler_label("/api/v1/query"), "/api/v1/query");
}

#[test]
fn quantiles_pick_the_nearest_rank() {
    let v = [1.0, 2.0, 3.0, 4.0];
    assert_eq!(quantile(&v, 0.5), 2.0);
    assert_eq!(quantile(&v, 0.99), 4.0);
    assert_eq!(quantile(&v, 0.01), 1.0);
    assert!(quantile(&[], 0.5).is_nan());
}

fn state() -> (tempfile::TempDir, ApiState, Db) {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let shared = Arc::new(db.clone());
    let state = ApiState::new(shared.clone(), shared, crate::remote::Limits::default())
        .with_telemetry(Arc::new(Telemetry::new(Some(db.clone()), None, None, None)));
    (dir, state, db)
}

/// The running server's state, under Prometheus's names: readiness and the last reload.
#[test]
fn server_state_follows_readiness_and_reloads() {
    let (_dir, state, _db) = state();
    let page = render(&state);
    assert!(page.contains("prometheus_ready 0"), "{page}");
    assert!(page.contains("prometheus_config_last_reload_successful 1"));
    state.set_ready(true);
    state.info.reload.write().0 = false;
    let page = render(&state);
    assert!(page.contains("prometheus_ready 1"), "{page}");
    assert!(page.contains("prometheus_config_last_reload_successful 0"));
    assert!(page.contains("prometheus_build_info{branch=\"\",goarch=\""));
    assert!(page.ends_with("# EOF\n"), "{page}");
}

/// Counters carry Prometheus's names and labels; summaries come before the end marker.
#[test]
fn counters_gauges_and_summaries_are_encoded_once() {
    let (_dir, state, db) = state();
    crate::storage::Appender::append(
        &db,
        &[crate::storage::SeriesInput {
            labels: vec![("__name__", "x")],
            samples: vec![crate::model::Sample { t: 1000, v: 1.0 }],
        }],
    )
    .unwrap();
    state.telemetry.observe_query(0.001, 0.5);
    state
        .telemetry
        .observe_http("/api/v1/label/:name/values", 200, 0.01);
    let page = render(&state);
    for want in [
        "# TYPE prometheus_tsdb_head_samples_appended counter\n\
         prometheus_tsdb_head_samples_appended_total{type=\"float\"} 1",
        "prometheus_tsdb_head_series 1",
        "prometheus_remote_storage_highest_timestamp_in_seconds 1",
        "prometheus_engine_query_duration_seconds{slice=\"inner_eval\",quantile=\"0.9\"} 0.5\n",
        "prometheus_engine_query_duration_seconds_count{slice=\"queue_time\"} 1\n",
        "prometheus_http_requests_total{code=\"200\",handler=\"/api/v1/label/:name/values\"} 1",
        "prometheus_engine_queries 0",
    ] {
        assert!(page.contains(want), "{want}\n{page}");
    }
    // Every family is described once.
    let mut seen = std::collections::HashSet::new();
    for l in page.lines().filter(|l| l.starts_with("# TYPE ")) {
        assert!(seen.insert(l), "twice: {l}");
    }
    assert!(page.ends_with("# EOF\n"));
}

/// The exemplar buffer's figures under Prometheus's names.
#[test]
fn exemplar_figures_are_exported() {
    let (_dir, state, db) = state();
    crate::storage::Appender::append(
        &db,
        &[crate::storage::SeriesInput {
            labels: vec![("__name__", "x")],
            samples: vec![crate::model::Sample { t: 1000, v: 1.0 }],
        }],
    )
    .unwrap();
    let ex = |t| crate::storage::Exemplar {
        labels: crate::model::Labels::from_pairs([("trace_id", "abc")]),
        value: 1.0,
        t,
    };
    crate::storage::Appender::append_exemplars(
        &db,
        &[crate::storage::ExemplarInput {
            series: vec![("__name__", "x")],
            exemplars: vec![ex(2500), ex(2000), ex(3000)],
        }],
    )
    .unwrap();
    let page = render(&state);
    for want in [
        ("prometheus_tsdb_exemplar_exemplars_appended_total", 2.0),
        ("prometheus_tsdb_exemplar_out_of_order_exemplars_total", 1.0),
        ("prometheus_tsdb_exemplar_exemplars_in_storage", 2.0),
        (
            "prometheus_tsdb_exemplar_series_with_exemplars_in_storage",
            1.0,
        ),
        ("prometheus_tsdb_exemplar_max_exemplars", 100000.0),
        (
            "prometheus_tsdb_exemplar_last_exemplars_timestamp_seconds",
            2.5,
        ),
    ] {
        let got = page
            .lines()
            .find_map(|l| l.strip_prefix(want.0)?.strip_prefix(' '))
            .and_then(|v| v.parse::<f64>().ok());
        assert_eq!(got, Some(want.1), "{}\n{page}", want.0);
    }
}

#[test]
fn label_values_are_escaped() {
    assert_eq!(super::encode::escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

/// Discovery's own registry shows at /metrics: counters with `_total`, summaries with
/// quantiles, each family typed once.
#[test]
fn discovery_metrics_are_rendered() {
    let (_dir, state, _db) = state();
    let m = sd_metrics();
    let mech = || vec![("mechanism", "render-test".to_string())];
    m.inc(
        "prometheus_sd_refresh_failures_total",
        "Refresh failures.",
        mech(),
        2.0,
    );
    m.observe(
        "prometheus_sd_refresh_duration_seconds",
        "Refresh time.",
        mech(),
        0.25,
    );
    m.inc("promterm_sd_render_test_total", "No labels.", vec![], 3.0);
    let page = render(&state);
    assert!(page.contains("\npromterm_sd_render_test_total 3"), "{page}");
    assert!(
        page.contains("prometheus_sd_refresh_failures_total{mechanism=\"render-test\"} 2"),
        "{page}"
    );
    assert!(
        page.contains("prometheus_sd_refresh_duration_seconds_count{mechanism=\"render-test\"} 1"),
        "{page}"
    );
    for fam in [
        "prometheus_sd_refresh_failures",
        "prometheus_sd_refresh_duration_seconds",
    ] {
        let typed = page.matches(&format!("# TYPE {fam} ")).count();
        assert_eq!(typed, 1, "{fam} typed {typed} times");
    }
}
