//! Alertmanagers found through service discovery: `promterm serve` with an `alertmanagers`
//! entry using `http_sd_configs` (a fake HTTP SD server answering a fake Alertmanager's
//! address): the alert reaches that Alertmanager, `/api/v1/alertmanagers` lists it (and the
//! target a relabel rule dropped), `prometheus_sd_*{name="notify"}` count it, and when the SD
//! answer moves to another Alertmanager the alerts follow.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::common::{data, http, wait_for, Server};
use crate::sd_http_docker::serve_in_background;

/// A fake Alertmanager: what was posted to `/api/v2/alerts`, body by body.
fn fake_alertmanager() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let got: Arc<Mutex<Vec<String>>> = Arc::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/api/v2/alerts",
        axum::routing::post(move |body: String| {
            let g = g.clone();
            async move {
                g.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    serve_in_background(app, Some(l), None);
    (addr, got)
}

/// A fake HTTP SD server answering whatever `answer` holds now; returns its URL.
fn fake_http_sd(answer: Arc<Mutex<String>>) -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let app = axum::Router::new().route(
        "/sd",
        axum::routing::get(move || {
            let a = answer.clone();
            async move {
                let body = a.lock().unwrap().clone();
                ([("content-type", "application/json")], body)
            }
        }),
    );
    serve_in_background(app, Some(l), None);
    format!("http://{addr}/sd")
}

fn sd_answer(am: SocketAddr) -> String {
    format!(r#"[{{"targets": ["{am}", "decoy:9093"], "labels": {{"team": "ops"}}}}]"#)
}

fn got_alert(got: &Mutex<Vec<String>>, name: &str) -> bool {
    got.lock()
        .unwrap()
        .iter()
        .any(|b| b.contains(&format!("\"alertname\":\"{name}\"")))
}

fn active_urls(addr: SocketAddr) -> Vec<String> {
    let d = data(addr, "/api/v1/alertmanagers");
    d["activeAlertmanagers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["url"].as_str().unwrap().to_string())
        .collect()
}

/// The value of `series` in a /metrics page.
fn sample(page: &str, series: &str) -> Option<f64> {
    page.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn alertmanager_found_through_http_sd_gets_the_alert() {
    let (am1, got1) = fake_alertmanager();
    let (am2, got2) = fake_alertmanager();
    let answer = Arc::new(Mutex::new(sd_answer(am1)));
    let sd = fake_http_sd(answer.clone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rules.yml"),
        "groups:\n- name: g\n  rules:\n  - alert: AlwaysFiring\n    expr: vector(1)\n",
    )
    .unwrap();
    let cfg = format!(
        "global: {{evaluation_interval: 1s}}\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n  - http_sd_configs:\n    - url: '{sd}'\n      refresh_interval: 1s\n    relabel_configs:\n    - source_labels: [__address__]\n      regex: 'decoy:.*'\n      action: drop\n"
    );
    let file = dir.path().join("promterm.yml");
    std::fs::write(&file, cfg).unwrap();
    let server = Server::start(&[
        "--headless",
        "--rules.alert.resend-delay=1s",
        "--config",
        file.to_str().unwrap(),
        "--data",
        dir.path().join("data").to_str().unwrap(),
    ]);
    let addr = server.addr;
    wait_for("the alert at the discovered Alertmanager", 30, || {
        got_alert(&got1, "AlwaysFiring")
    });
    assert_eq!(active_urls(addr), [format!("http://{am1}/api/v2/alerts")]);
    let d = data(addr, "/api/v1/alertmanagers");
    assert_eq!(
        d["droppedAlertmanagers"][0]["url"], "http://decoy:9093/api/v2/alerts",
        "{d}"
    );
    let (_, metrics) = http(addr, "GET", "/metrics");
    for (series, want) in [
        (
            "prometheus_sd_discovered_targets{config=\"config-0\",name=\"notify\"}",
            2.0,
        ),
        ("prometheus_sd_failed_configs{name=\"notify\"}", 0.0),
        ("prometheus_notifications_alertmanagers_discovered", 1.0),
    ] {
        assert_eq!(sample(&metrics, series), Some(want), "{series}");
    }

    // The SD answer moves to another Alertmanager: the URL list and the alerts follow.
    *answer.lock().unwrap() = sd_answer(am2);
    wait_for("the alert at the newly discovered Alertmanager", 30, || {
        got_alert(&got2, "AlwaysFiring")
    });
    assert_eq!(active_urls(addr), [format!("http://{am2}/api/v2/alerts")]);

    // A broken SD answer keeps the last good Alertmanagers.
    *answer.lock().unwrap() = "[{\"targets\": ".into();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(active_urls(addr), [format!("http://{am2}/api/v2/alerts")]);
    let (_, metrics) = http(addr, "GET", "/metrics");
    let failures = sample(
        &metrics,
        "prometheus_sd_refresh_failures_total{mechanism=\"http\"}",
    );
    assert!(
        failures >= Some(1.0),
        "the failed refresh is counted: {failures:?}"
    );
}
