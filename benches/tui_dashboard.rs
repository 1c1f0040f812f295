//! A 30-panel Grafana dashboard refreshed by the TUI against promterm holding 10,000 series
//! (an hour at 15 s): `cargo bench --bench tui_dashboard`.
//!
//! The store is promterm's (`tsdb::Db`) behind its API router, reached two ways: over HTTP on
//! loopback with the client `promterm tui --url` uses (`client::Http`), and in process as
//! `promterm serve`'s TUI does (`client::Local`). The dashboard is generated: 30 panels
//! (time series, stat, gauge, bar gauge) of rate / sum by / topk / histogram_quantile /
//! ratio queries over the series, filtered by a multi-value `$job` variable (All) and
//! using `$__rate_interval`. The TUI's own code runs it: `App` opens the dashboard, lists
//! the variable, and each refresh round is the `r` key's `Cmd::DashQuery`s executed with
//! `tui::execute_cmd` on tokio tasks, answers coming back as `Msg`s, in a loop shaped like
//! the TUI's event loop (draw a frame into a 200×60 TestBackend, then wait for a key or an
//! answer). While a round is outstanding a key (↓/↑ alternately) arrives every 10 ms; its
//! latency is from its arrival until it was handled and the next frame drawn.
//!
//! Figures: the round's time until every panel has its answer (median, max over `ROUNDS`,
//! default 10), and the key latencies during the rounds (median, p99, max).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use promterm::client::{Http, HttpOptions, Local, Source};
use promterm::model::Sample;
use promterm::storage::{Appender, SeriesInput};
use promterm::tsdb::{Db, Options};
use promterm::tui::app::{App, Cmd, Msg};
use promterm::tui::data::QueryData;
use promterm::tui::prompt::History;
use promterm::tui::theme::Theme;
use promterm::tui::{execute_cmd, grafana, render};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::{json, Value};

const STEP_MS: i64 = 15_000;
const SAMPLES: i64 = 240;
const W: u16 = 200;
const H: u16 = 60;

/// The series: 100 instances in 5 jobs; per instance 8 CPUs × 4 modes, 5 handlers × 10
/// buckets, 5 handlers × 2 codes of requests, 3 filesystems, 2 network devices, memory and
/// load: 100 × 100 = 10,000 series.
fn series() -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let base = |name: &str, inst: usize| {
        vec![
            ("__name__".to_string(), name.to_string()),
            ("instance".to_string(), format!("host-{inst}:9100")),
            ("job".to_string(), format!("job{}", inst % 5)),
        ]
    };
    for inst in 0..100 {
        for cpu in 0..8 {
            for mode in ["idle", "user", "system", "iowait"] {
                let mut l = base("node_cpu_seconds_total", inst);
                l.push(("cpu".into(), cpu.to_string()));
                l.push(("mode".into(), mode.into()));
                out.push(l);
            }
        }
        for h in 0..5 {
            for le in [
                "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
            ] {
                let mut l = base("http_request_duration_seconds_bucket", inst);
                l.push(("handler".into(), format!("/api/h{h}")));
                l.push(("le".into(), le.into()));
                out.push(l);
            }
            for code in ["200", "500"] {
                let mut l = base("http_requests_total", inst);
                l.push(("handler".into(), format!("/api/h{h}")));
                l.push(("code".into(), code.into()));
                out.push(l);
            }
        }
        for m in ["/", "/var", "/home"] {
            let mut l = base("node_filesystem_avail_bytes", inst);
            l.push(("mountpoint".into(), m.into()));
            out.push(l);
        }
        for d in ["eth0", "eth1"] {
            let mut l = base("node_network_receive_bytes_total", inst);
            l.push(("device".into(), d.into()));
            out.push(l);
        }
        for name in [
            "node_memory_MemAvailable_bytes",
            "node_memory_MemTotal_bytes",
            "node_load1",
        ] {
            out.push(base(name, inst));
        }
    }
    // The store takes labels sorted by name.
    for l in &mut out {
        l.sort();
    }
    out
}

/// An hour of samples every 15 s up to now: counters grow, gauges wander.
fn load(db: &Db) -> usize {
    let labels = series();
    let now = promterm::model::now_ms();
    let first = now - (SAMPLES - 1) * STEP_MS;
    for part in (0..SAMPLES).collect::<Vec<i64>>().chunks(60) {
        let batch: Vec<SeriesInput> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let counter = l[0].1.ends_with("_total") || l[0].1.ends_with("_bucket");
                SeriesInput {
                    labels: l.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect(),
                    samples: part
                        .iter()
                        .map(|k| Sample {
                            t: first + k * STEP_MS,
                            v: if counter {
                                (k * (1 + i as i64 % 7)) as f64
                            } else {
                                1e9 + ((k + i as i64) % 17) as f64 * 1e6
                            },
                        })
                        .collect(),
                }
            })
            .collect();
        db.append(&batch).expect("append the bench series");
    }
    labels.len()
}

/// The 30 panels' (type, title, unit, queries).
fn panels() -> Vec<(&'static str, String, &'static str, Vec<String>)> {
    let j = r#"job=~"$job""#;
    let ri = "$__rate_interval";
    let mut out = Vec::new();
    for q in ["0.5", "0.9", "0.99"] {
        out.push(("timeseries", format!("Latency p{q}"), "s", vec![format!(
            "histogram_quantile({q}, sum by (le) (rate(http_request_duration_seconds_bucket{{{j}}}[{ri}])))"
        )]));
        out.push(("timeseries", format!("Latency p{q} by handler"), "s", vec![format!(
            "histogram_quantile({q}, sum by (le, handler) (rate(http_request_duration_seconds_bucket{{{j}}}[{ri}])))"
        )]));
    }
    for mode in ["user", "system", "iowait"] {
        out.push(("timeseries", format!("CPU {mode} by job"), "percentunit", vec![format!(
            r#"sum by (job) (rate(node_cpu_seconds_total{{{j}, mode="{mode}"}}[{ri}])) / count by (job) (node_cpu_seconds_total{{{j}, mode="{mode}"}})"#
        )]));
        out.push(("timeseries", format!("Top CPU {mode}"), "percentunit", vec![format!(
            r#"topk(5, sum by (instance) (rate(node_cpu_seconds_total{{{j}, mode="{mode}"}}[{ri}])))"#
        )]));
    }
    for h in 0..5 {
        out.push(("timeseries", format!("Requests /api/h{h}"), "reqps", vec![
            format!(r#"sum by (code) (rate(http_requests_total{{{j}, handler="/api/h{h}"}}[{ri}]))"#),
            format!(r#"sum(rate(http_requests_total{{{j}, handler="/api/h{h}", code="500"}}[{ri}]))"#),
        ]));
    }
    out.push((
        "timeseries",
        "Requests by job".into(),
        "reqps",
        vec![format!(
            "sum by (job) (rate(http_requests_total{{{j}}}[{ri}]))"
        )],
    ));
    out.push((
        "timeseries",
        "Requests by handler".into(),
        "reqps",
        vec![format!(
            "sum by (handler) (rate(http_requests_total{{{j}}}[{ri}]))"
        )],
    ));
    out.push(("timeseries", "Error ratio".into(), "percentunit", vec![format!(
        r#"sum(rate(http_requests_total{{{j}, code="500"}}[{ri}])) / sum(rate(http_requests_total{{{j}}}[{ri}]))"#
    )]));
    out.push(("timeseries", "Memory used".into(), "percentunit", vec![format!(
        "1 - sum by (job) (node_memory_MemAvailable_bytes{{{j}}}) / sum by (job) (node_memory_MemTotal_bytes{{{j}}})"
    )]));
    out.push((
        "timeseries",
        "Top load".into(),
        "short",
        vec![format!("topk(10, node_load1{{{j}}})")],
    ));
    out.push((
        "timeseries",
        "Network received".into(),
        "Bps",
        vec![format!(
            "sum by (job) (rate(node_network_receive_bytes_total{{{j}}}[{ri}]))"
        )],
    ));
    out.push((
        "timeseries",
        "Filesystem avail".into(),
        "bytes",
        vec![format!(
            "sum by (mountpoint) (node_filesystem_avail_bytes{{{j}}})"
        )],
    ));
    out.push((
        "stat",
        "Instances".into(),
        "short",
        vec![format!("count(node_load1{{{j}}})")],
    ));
    out.push((
        "stat",
        "Request rate".into(),
        "reqps",
        vec![format!("sum(rate(http_requests_total{{{j}}}[{ri}]))")],
    ));
    out.push((
        "gauge",
        "CPU busy".into(),
        "percentunit",
        vec![format!(
            r#"1 - avg(rate(node_cpu_seconds_total{{{j}, mode="idle"}}[{ri}]))"#
        )],
    ));
    out.push((
        "bargauge",
        "Load by job".into(),
        "short",
        vec![format!("avg by (job) (node_load1{{{j}}})")],
    ));
    out.push(("stat", "p99 now".into(), "s", vec![format!(
        "histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{{{j}}}[{ri}])))"
    )]));
    out.push((
        "gauge",
        "Memory used now".into(),
        "percentunit",
        vec![format!(
        "1 - sum(node_memory_MemAvailable_bytes{{{j}}}) / sum(node_memory_MemTotal_bytes{{{j}}})"
    )],
    ));
    out
}

/// The dashboard JSON: a row every six panels, three panels a grid row.
fn dashboard() -> (String, usize) {
    let mut list = Vec::new();
    let mut y = 0;
    let ps = panels();
    let queries = ps.iter().map(|p| p.3.len()).sum();
    for (i, (ty, title, unit, exprs)) in ps.into_iter().enumerate() {
        if i % 6 == 0 {
            list.push(
                json!({"type": "row", "title": format!("Row {}", i / 6 + 1), "collapsed": false,
                "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []}),
            );
            y += 1;
        }
        let targets: Vec<Value> = exprs
            .iter()
            .enumerate()
            .map(|(k, e)| {
                let ref_id = ["A", "B"][k];
                json!({"expr": e, "refId": ref_id, "legendFormat": "{{job}}"})
            })
            .collect();
        list.push(json!({"type": ty, "title": title, "id": i + 1,
            "datasource": {"type": "prometheus", "uid": "${datasource}"},
            "fieldConfig": {"defaults": {"unit": unit}},
            "gridPos": {"h": 6, "w": 8, "x": (i % 3) * 8, "y": y},
            "targets": targets}));
        if i % 3 == 2 {
            y += 6;
        }
    }
    assert_eq!(list.iter().filter(|p| p["type"] != "row").count(), 30);
    let d = json!({
        "title": "Bench: 30 panels over 10k series", "uid": "bench30", "schemaVersion": 39,
        "time": {"from": "now-1h", "to": "now"}, "refresh": "30s",
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "prometheus"},
            {"name": "job", "type": "query", "multi": true, "includeAll": true,
             "current": {"text": "All", "value": "$__all"},
             "datasource": {"type": "prometheus", "uid": "${datasource}"},
             "query": {"query": "label_values(http_requests_total, job)", "refId": "V"}}
        ]},
        "panels": list,
    });
    (d.to_string(), queries)
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Opens the dashboard in a fresh `App` and lists its variable against `source`.
async fn opened(text: &str, source: &dyn Source) -> App {
    let mut app = App::new(
        Theme::load("default").expect("the default theme"),
        History::load(None),
        "bench",
    );
    app.open_dashboard(grafana::parse(text, "bench.json").map_err(|e| e.to_string()));
    if let Some(d) = app.grafana.as_mut() {
        d.size = (W, H);
    }
    app.now = now_s();
    let mut work: Vec<Cmd> = app.tick(app.now, false);
    work.retain(|c| matches!(c, Cmd::DashQuery { .. } | Cmd::DashVar { .. }));
    // The variable, then the first round (a warm-up), run to the end.
    while let Some(c) = work.pop() {
        let m = execute_cmd(source, c).await;
        work.extend(app.msg(m));
    }
    let d = app.grafana.as_ref().expect("the dashboard is open");
    assert!(
        d.var_errors.is_empty(),
        "variable errors: {:?}",
        d.var_errors
    );
    app
}

/// Round times (s), key latencies (ms) and frame times (ms) of `rounds` refreshes against `source`.
async fn run(
    text: &str,
    queries: usize,
    source: Arc<dyn Source>,
    rounds: usize,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut app = opened(text, source.as_ref()).await;
    let mut term = Terminal::new(TestBackend::new(W, H)).expect("a test terminal");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    let spawn = |cmds: Vec<Cmd>| {
        for c in cmds {
            let (s, tx) = (source.clone(), tx.clone());
            tokio::spawn(async move {
                let _ = tx.send(execute_cmd(s.as_ref(), c).await);
            });
        }
    };
    let (mut times, mut keys, mut frames) = (Vec::new(), Vec::new(), Vec::new());
    let key_ms = std::env::var("KEY_MS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(33);
    let mut shown = (0, 0);
    for _ in 0..rounds {
        app.now = now_s();
        let started = Instant::now();
        let cmds = app.key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::NONE));
        assert_eq!(cmds.len(), queries, "one request a target");
        let round = app.grafana.as_ref().map_or(0, |d| d.round);
        spawn(cmds);
        let mut answered = 0;
        let mut down = true;
        let mut key_tick = tokio::time::interval(Duration::from_millis(key_ms));
        key_tick.tick().await;
        while answered < queries {
            draw(&mut term, &app, &mut frames);
            tokio::select! {
                Some(m) = rx.recv() => {
                    if let Msg::DashQuery { round: r, result, .. } = &m {
                        if *r == round {
                            answered += 1;
                            if let Err(e) = result {
                                panic!("a panel's query failed: {e}");
                            }
                        }
                    }
                    spawn(app.msg(m));
                }
                arrived = key_tick.tick() => {
                    let code = if down { KeyCode::Down } else { KeyCode::Up };
                    down = !down;
                    spawn(app.key(KeyEvent::new(code, KeyModifiers::NONE)));
                    draw(&mut term, &app, &mut frames);
                    keys.push(arrived.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        times.push(started.elapsed().as_secs_f64());
        draw(&mut term, &app, &mut frames);
        let d = app.grafana.as_ref().expect("the dashboard is open");
        let failed = d.answers.values().filter(|a| a.result.is_err()).count();
        assert_eq!(failed, 0, "failed panels");
        let (mut series, mut points) = (0, 0);
        for a in d.answers.values() {
            if let Ok(QueryData::Matrix(v) | QueryData::Vector(v)) = &a.result {
                series += v.len();
                points += v.iter().map(|s| s.points.len()).sum::<usize>();
            }
        }
        let empty = d
            .answers
            .values()
            .filter(|a| matches!(&a.result, Ok(QueryData::Matrix(v) | QueryData::Vector(v)) if v.is_empty()))
            .count();
        assert_eq!(empty, 0, "every panel has data");
        shown = (series, points);
    }
    println!("answers of a round: {} series, {} points", shown.0, shown.1);
    // The same keys with no round outstanding: the baseline.
    let mut idle = Vec::new();
    let mut key_tick = tokio::time::interval(Duration::from_millis(key_ms));
    key_tick.tick().await;
    for i in 0..30 {
        let arrived = key_tick.tick().await;
        let code = if i % 2 == 0 {
            KeyCode::Down
        } else {
            KeyCode::Up
        };
        spawn(app.key(KeyEvent::new(code, KeyModifiers::NONE)));
        draw(&mut term, &app, &mut frames);
        idle.push(arrived.elapsed().as_secs_f64() * 1000.0);
    }
    idle.sort_by(f64::total_cmp);
    println!(
        "keys with no round outstanding: median {:.1} ms, max {:.1} ms",
        pct(&idle, 0.5),
        idle[idle.len() - 1]
    );
    (times, keys, frames)
}

/// Draws a frame as the TUI's loop does, timing it.
fn draw(term: &mut Terminal<TestBackend>, app: &App, frames: &mut Vec<f64>) {
    let t = Instant::now();
    term.draw(|f| render::render(app, f)).expect("draw");
    frames.push(t.elapsed().as_secs_f64() * 1000.0);
}

fn report(name: &str, (mut times, mut keys, mut frames): (Vec<f64>, Vec<f64>, Vec<f64>)) {
    times.sort_by(f64::total_cmp);
    keys.sort_by(f64::total_cmp);
    frames.sort_by(f64::total_cmp);
    println!(
        "{name}: refresh round (30 panels answered): median {:.3} s, min {:.3} s, max {:.3} s over {} rounds",
        pct(&times, 0.5),
        times[0],
        times[times.len() - 1],
        times.len()
    );
    println!(
        "{name}: key → handled and frame drawn while panels load: median {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} keys)",
        pct(&keys, 0.5),
        pct(&keys, 0.99),
        keys.last().copied().unwrap_or(f64::NAN),
        keys.len()
    );
    println!(
        "{name}: a frame of the dashboard: median {:.1} ms, p99 {:.1} ms ({} frames)",
        pct(&frames, 0.5),
        pct(&frames, 0.99),
        frames.len()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not ours skips the run.
    if std::env::args()
        .skip(1)
        .any(|a| !a.starts_with('-') && !"tui_dashboard".contains(&a))
    {
        return;
    }
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (db, _) = Db::open(dir.path(), Options::default()).expect("a new store");
    let t = Instant::now();
    let n = load(&db);
    println!(
        "loaded {n} series × {SAMPLES} samples (15 s apart) in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let db = Arc::new(db);
    let state =
        promterm::api::ApiState::new(db.clone(), db.clone(), promterm::remote::Limits::default());
    state.set_ready(true);
    let (text, queries) = dashboard();
    println!(
        "dashboard: 30 panels, {queries} queries, $job = All (5 jobs), range 1h, {W}×{H} screen"
    );
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        let router = promterm::api::router(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        let http: Arc<dyn Source> = Arc::new(
            Http::new(&HttpOptions {
                url: format!("http://{addr}"),
                ..HttpOptions::default()
            })
            .expect("an HTTP client"),
        );
        report("tui --url (HTTP)", run(&text, queries, http, rounds).await);
        let local: Arc<dyn Source> = Arc::new(Local::new(state.clone()));
        report(
            "serve (in process)",
            run(&text, queries, local, rounds).await,
        );
    });
}
