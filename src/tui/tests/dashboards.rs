//! The Grafana dashboard view against promterm in process: real dashboards from
//! testdata/grafana opened, their variables listed and their panels' queries run through a
//! Source that records what it was asked, then drawn on a TestBackend.

use std::sync::{Arc, Mutex};

use crossterm::event::KeyCode;

use super::{draw, key};
use crate::client::{Answer, ClientError, Local, Source};
use crate::tui::app::{App, Cmd};
use crate::tui::execute_cmd;
use crate::tui::grafana;
use crate::tui::prompt::History;
use crate::tui::theme::Theme;

type Fut<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Answer, ClientError>> + Send + 'a>>;

/// One call: (path, params).
pub(super) type Call = (String, Vec<(String, String)>);
/// A series to store: name, labels, value.
pub(super) type Stored<'a> = (&'a str, &'a [(&'a str, &'a str)], f64);

/// promterm in process, remembering every (path, params) it was asked.
pub(super) struct Recording {
    inner: Local,
    pub(super) asked: Mutex<Vec<Call>>,
}

impl Source for Recording {
    fn get<'a>(&'a self, path: &'a str, params: &'a [(&'a str, String)]) -> Fut<'a> {
        self.asked.lock().unwrap().push((
            path.to_string(),
            params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        ));
        self.inner.get(path, params)
    }
}

impl Recording {
    /// The `query` parameters of the query calls, in order.
    pub(super) fn queries(&self) -> Vec<String> {
        self.asked
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.starts_with("/api/v1/query"))
            .flat_map(|(_, ps)| {
                ps.iter()
                    .filter(|(k, _)| k == "query")
                    .map(|(_, v)| v.clone())
            })
            .collect()
    }
}

/// A store with `series` (name, labels, value) sampled every 15 s over the last 10 minutes.
pub(super) fn promterm(series: &[Stored]) -> (tempfile::TempDir, Arc<Recording>) {
    use crate::model::Sample;
    use crate::storage::{Appender, SeriesInput};
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = crate::tsdb::Db::open(dir.path(), crate::tsdb::Options::default()).unwrap();
    let now_ms = crate::model::now_ms();
    for (name, labels, v) in series {
        let mut l = vec![("__name__", *name)];
        l.extend(labels.iter().copied());
        l.sort();
        db.append(&[SeriesInput {
            labels: l,
            samples: (0..40)
                .map(|k| Sample {
                    t: now_ms - 600_000 + k * 15_000,
                    v: v + (k % 5) as f64,
                })
                .collect(),
        }])
        .unwrap();
    }
    let db = Arc::new(db);
    let state = crate::api::ApiState::new(db.clone(), db, crate::remote::Limits::default());
    state.set_ready(true);
    let source = Arc::new(Recording {
        inner: Local::new(state),
        asked: Mutex::new(Vec::new()),
    });
    (dir, source)
}

/// Opens `text` as a dashboard on a `w`×`h` screen and runs its work (variables, then the
/// panels) against `source` until none is left.
pub(super) async fn open(text: &str, source: &Recording, w: u16, h: u16) -> App {
    let mut a = App::new(
        Theme::load("default").unwrap(),
        History::load(None),
        "local",
    );
    a.open_dashboard(grafana::parse(text, "dash.json").map_err(|e| e.to_string()));
    if let Some(d) = a.grafana.as_mut() {
        d.size = (w, h);
    }
    let now = crate::model::now_ms() as f64 / 1000.0;
    let mut work: Vec<Cmd> = a.tick(now, false);
    work.retain(|c| matches!(c, Cmd::DashQuery { .. } | Cmd::DashVar { .. }));
    while let Some(c) = work.pop() {
        let m = execute_cmd(source, c).await;
        work.extend(a.msg(m));
    }
    a
}

pub(super) fn file(name: &str) -> String {
    std::fs::read_to_string(format!("testdata/grafana/{name}")).unwrap()
}

pub(super) const PROM: &[(&str, &str)] = &[("job", "prometheus"), ("instance", "localhost:9090")];

#[tokio::test]
async fn prometheus_dashboard_draws_every_panel_with_its_data() {
    let (_dir, source) = promterm(&[
        ("prometheus_build_info", PROM, 1.0),
        ("prometheus_tsdb_head_series", PROM, 1200.0),
        ("prometheus_tsdb_head_chunks", PROM, 3400.0),
    ]);
    let text = file("prometheus.json");
    let mut a = open(&text, &source, 160, 70).await;
    // The variables were listed, then the panels sent with them expanded as Grafana does
    // (All of one value: the value itself, regex-escaped).
    let asked = source.asked.lock().unwrap().clone();
    assert_eq!(asked[0].0, "/api/v1/label/job/values", "{asked:?}");
    assert!(asked[0]
        .1
        .contains(&("match[]".into(), "prometheus_build_info".into())));
    assert_eq!(asked[1].0, "/api/v1/label/instance/values");
    let sent = source.queries();
    assert!(
        sent.contains(
            &"prometheus_tsdb_head_series{job=~\"prometheus\",instance=~\"localhost:9090\"}"
                .to_string()
        ),
        "{sent:#?}"
    );
    assert!(sent.iter().all(|q| !q.contains('$')), "{sent:#?}");
    let (screen, _) = draw(&mut a, 160, 70);
    let l = grafana::parse(&text, "p").unwrap();
    for p in l.dashboard.panels() {
        assert!(
            screen.contains(&p.title),
            "{:?} missing:\n{screen}",
            p.title
        );
    }
    // Head Series: a chart (braille dots) and its legend from legendFormat.
    assert!(
        screen.contains("prometheus localhost:9090 head series"),
        "{screen}"
    );
    assert!(
        screen
            .chars()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "{screen}"
    );
    // The Prometheus Stats table (legacy styles: Time and Count hidden, aliases).
    assert!(
        screen.contains("Instance") && screen.contains("Uptime"),
        "{screen}"
    );
    assert!(!screen.contains("error"), "{screen}");
}

#[tokio::test]
async fn a_gauge_shows_its_reduced_value_in_its_unit() {
    let node: &[(&str, &str)] = &[("job", "node"), ("instance", "h:9100"), ("cluster", "c1")];
    let (_dir, source) = promterm(&[
        ("node_uname_info", node, 1.0),
        ("node_memory_MemAvailable_bytes", node, 25.0),
        ("node_memory_MemTotal_bytes", node, 100.0),
    ]);
    let mut a = open(&file("nodes.json"), &source, 160, 80).await;
    let sent = source.queries();
    let gauge = sent
        .iter()
        .find(|q| q.contains("MemAvailable"))
        .expect("the gauge's query");
    // $cluster is All with allValue `.*`; $instance the first option listed.
    assert!(
        gauge.contains(
            "avg(node_memory_MemAvailable_bytes{job=\"node\", instance=\"h:9100\", cluster=~\".*\"})"
        ),
        "{gauge}"
    );
    // The samples' last value: available 25 + 4, total 100 + 4.
    let want = grafana::units::format(Some("percent"), 100.0 - 29.0 / 104.0 * 100.0, None);
    assert!(want.ends_with('%'), "{want}");
    let (screen, _) = draw(&mut a, 160, 80);
    assert!(screen.contains(&want), "{want} not in\n{screen}");
}

#[tokio::test]
async fn an_unknown_panel_type_is_a_titled_box_and_the_rest_is_drawn() {
    let (_dir, source) = promterm(&[("prometheus_build_info", PROM, 1.0)]);
    let text =
        file("prometheus.json").replacen("\"type\": \"graph\"", "\"type\": \"flamegraph\"", 1);
    let mut a = open(&text, &source, 160, 70).await;
    let (screen, _) = draw(&mut a, 160, 70);
    assert!(screen.contains("not drawn yet (flamegraph)"), "{screen}");
    assert!(
        screen.contains("Target Sync") && screen.contains("Head Chunks"),
        "{screen}"
    );
}

#[tokio::test]
async fn a_failed_query_shows_its_error_in_its_panel() {
    let (_dir, source) = promterm(&[]);
    let text = file("node-rsrc-use.json").replacen(
        "instance:node_cpu_utilisation:rate5m{",
        "instance:node_cpu_utilisation:rate5m{{",
        1,
    );
    let mut a = open(&text, &source, 160, 60).await;
    let (screen, _) = draw(&mut a, 160, 60);
    assert!(screen.contains("A: "), "{screen}");
    assert!(screen.contains("CPU Saturation"), "{screen}");
}

#[tokio::test]
async fn a_truncated_file_shows_the_load_error_and_the_tui_runs() {
    let (_dir, source) = promterm(&[]);
    let text = file("node-rsrc-use.json");
    let mut a = open(&text[..text.len() / 2], &source, 100, 30).await;
    assert!(source.asked.lock().unwrap().is_empty());
    let (screen, _) = draw(&mut a, 100, 30);
    assert!(screen.contains("dashboard not loaded"), "{screen}");
    assert!(screen.contains("dash.json"), "{screen}");
    // Esc shows the rest of the TUI.
    a.key(key(KeyCode::Esc));
    let (screen, _) = draw(&mut a, 100, 30);
    assert!(!screen.contains("dashboard not loaded"), "{screen}");
}

#[tokio::test]
async fn a_tall_dashboard_scrolls_with_page_down() {
    let (_dir, source) = promterm(&[]);
    let mut a = open(&file("node-rsrc-use.json"), &source, 120, 20).await;
    let (screen, _) = draw(&mut a, 120, 20);
    assert!(screen.contains("CPU Utilisation"), "{screen}");
    assert!(!screen.contains("Disk Space Utilisation"), "{screen}");
    for _ in 0..6 {
        a.key(key(KeyCode::PageDown));
    }
    let (screen, _) = draw(&mut a, 120, 20);
    assert!(screen.contains("Disk Space Utilisation"), "{screen}");
    assert!(!screen.contains("CPU Utilisation"), "{screen}");
}

#[tokio::test]
async fn panels_refresh_on_the_dashboards_interval_and_stale_answers_are_dropped() {
    let (_dir, source) = promterm(&[("prometheus_build_info", PROM, 1.0)]);
    let mut a = open(&file("prometheus.json"), &source, 160, 70).await;
    let first = a.grafana.as_ref().unwrap().sent_at;
    assert!(first > 0.0);
    // prometheus.json refreshes every 10 s.
    assert_eq!(a.grafana.as_ref().unwrap().refresh_every(), 10.0);
    let panels = |c: &Vec<Cmd>| {
        c.iter()
            .filter(|c| matches!(c, Cmd::DashQuery { .. }))
            .count()
    };
    assert_eq!(panels(&a.tick(first + 5.0, false)), 0);
    let again = a.tick(first + 10.0, false);
    assert!(panels(&again) >= 10, "{again:?}");
    // An answer of the round before is dropped.
    let before = a.grafana.as_ref().unwrap().answers.clone();
    let round = a.grafana.as_ref().unwrap().round;
    a.msg(crate::tui::app::Msg::DashQuery {
        round: round - 1,
        key: (1, 0, 0),
        expr: "stale".into(),
        result: Err("stale".into()),
    });
    assert_eq!(a.grafana.as_ref().unwrap().answers, before);
}

#[test]
fn stacked_series_sit_on_those_before_them() {
    use crate::tui::grafana::model::Stack;
    use crate::tui::view::dashboard_series::drawn;
    use crate::tui::view::dashboard_view::Named;
    let s = |v: [f64; 2], stack: Stack| {
        let mut n = Named {
            points: vec![(10.0, v[0]), (20.0, v[1])],
            ..Named::default()
        };
        n.field.stack = stack;
        n
    };
    let all = |stack| {
        [
            s([1.0, 2.0], stack),
            s([3.0, f64::NAN], stack),
            s([4.0, 6.0], stack),
        ]
    };
    assert_eq!(drawn(&all(Stack::None))[1], vec![(10.0, 3.0)]);
    let n = drawn(&all(Stack::Normal));
    assert_eq!(n[1], vec![(10.0, 4.0)]);
    assert_eq!(n[2], vec![(10.0, 8.0), (20.0, 8.0)]);
    let p = drawn(&all(Stack::Percent));
    assert_eq!(p[0], vec![(10.0, 0.125), (20.0, 0.25)]);
    assert_eq!(p[2], vec![(10.0, 1.0), (20.0, 1.0)]);
}

#[test]
fn the_window_is_the_range_sent_to_the_millisecond() {
    // The server answers the last step at `end` written to the millisecond; the chart's
    // window must hold it (a point past the right bound is not drawn: a fresh server's
    // single point vanished).
    use crate::tui::app::grafana::DashView;
    let l = grafana::parse(&file("nodes.json"), "nodes.json").unwrap();
    let mut d = DashView::new(Ok(l));
    d.vars_done = true;
    let cmds = d.requests(1_765_000_000.123_456_7);
    let (start, end) = d.window;
    let back = |t: f64| crate::client::fmt_time(t).parse::<f64>().unwrap();
    assert_eq!(back(end), end);
    assert_eq!(back(start), start);
    assert_eq!(end - start, 3600.0);
    let ranges: Vec<_> = cmds
        .iter()
        .filter_map(|c| match c {
            Cmd::DashQuery { range, .. } => *range,
            _ => None,
        })
        .collect();
    assert!(!ranges.is_empty());
    assert!(
        ranges.iter().all(|r| (r.0, r.1) == (start, end)),
        "{ranges:?}"
    );
}
