//! The dashboard's variable bar, shared time range and time cursor against promterm in
//! process: keys change a variable or the range, and the requests that follow (variables
//! listed again, panels sent again) are checked as Grafana would send them; the bar, the
//! range, the cursor line and its legend read-out are checked on a TestBackend.

use crossterm::event::KeyCode;
use ratatui::buffer::Buffer;

use super::dashboards::{file, open, promterm, Recording, PROM};
use super::{draw, key};
use crate::tui::app::grafana_time::value_at;
use crate::tui::app::{App, Cmd};
use crate::tui::execute_cmd;

/// Presses `keys` and runs the work they start until none is left.
async fn press(a: &mut App, source: &Recording, keys: &[KeyCode]) {
    for k in keys {
        let mut work: Vec<Cmd> = a.key(key(*k));
        while let Some(c) = work.pop() {
            let m = execute_cmd(source, c).await;
            work.extend(a.msg(m));
        }
    }
}

/// The calls asked from `from` on: (path, params).
fn asked_since(source: &Recording, from: usize) -> Vec<(String, Vec<(String, String)>)> {
    source.asked.lock().unwrap()[from..].to_vec()
}

fn param<'a>(call: &'a (String, Vec<(String, String)>), name: &str) -> Option<&'a str> {
    call.1
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The text of screen line `y`.
fn line(screen: &str, y: usize) -> &str {
    screen.lines().nth(y).unwrap_or("")
}

#[tokio::test]
async fn the_bar_shows_the_variables_above_the_panels() {
    let (_dir, source) = promterm(&[("prometheus_build_info", PROM, 1.0)]);
    let mut a = open(&file("prometheus.json"), &source, 160, 70).await;
    let (screen, _) = draw(&mut a, 160, 70);
    let bar = line(&screen, 1);
    assert!(
        bar.contains("job: All") && bar.contains("instance: All"),
        "{screen}"
    );
    // The datasource variable (the one source) is shown; nothing of the panels is on the
    // bar's line, the first panel starts under it.
    assert!(bar.contains("datasource: default"), "{bar}");
    assert!(!bar.contains('┌'), "{bar}");
    assert!(line(&screen, 2).contains("Prometheus Stats"), "{screen}");
    // The title line has the range as written.
    assert!(line(&screen, 0).contains("now-1h to now"), "{screen}");
}

#[tokio::test]
async fn a_new_value_is_sent_to_every_panel_as_grafana_expands_it() {
    let other: &[(&str, &str)] = &[("job", "node.exporter"), ("instance", "localhost:9090")];
    let (_dir, source) = promterm(&[
        ("prometheus_build_info", PROM, 1.0),
        ("prometheus_build_info", other, 1.0),
        ("prometheus_tsdb_head_series", other, 5.0),
    ]);
    let mut a = open(&file("prometheus.json"), &source, 160, 70).await;
    let round = a.grafana.as_ref().unwrap().round;
    let before = source.asked.lock().unwrap().len();
    // v: the bar (on the datasource); → job, whose options sort descending (`sort` 2).
    press(&mut a, &source, &[KeyCode::Char('v'), KeyCode::Right]).await;
    let d = a.grafana.as_ref().unwrap();
    let l = d.loaded.as_ref().unwrap();
    assert_eq!(l.variables[d.bar.sel].name, "job");
    let options: Vec<String> = l.variables[1]
        .options
        .iter()
        .map(|o| o.value.clone())
        .collect();
    assert_eq!(options, ["prometheus", "node.exporter"]);
    // Enter opens the list on All; ↓↓ to node.exporter, Space picks it, Enter applies.
    press(
        &mut a,
        &source,
        &[
            KeyCode::Enter,
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Char(' '),
        ],
    )
    .await;
    let (screen, _) = draw(&mut a, 160, 70);
    assert!(screen.contains("[x] node.exporter"), "{screen}");
    assert!(screen.contains("[ ] All"), "{screen}");
    assert!(
        source.asked.lock().unwrap().len() == before,
        "sent before Enter"
    );
    press(&mut a, &source, &[KeyCode::Enter]).await;
    let d = a.grafana.as_ref().unwrap();
    assert_eq!(d.round, round + 1);
    assert_eq!(
        d.loaded.as_ref().unwrap().variables[1].current,
        ["node.exporter"]
    );
    // No variable uses $job: the panels only, the value regex-escaped for a PromQL string.
    let calls = asked_since(&source, before);
    assert!(
        calls.iter().all(|c| c.0.starts_with("/api/v1/query")),
        "{calls:?}"
    );
    let sent: Vec<&str> = calls.iter().filter_map(|c| param(c, "query")).collect();
    assert!(
        sent.contains(
            &"prometheus_tsdb_head_series{job=~\"node\\\\.exporter\",instance=~\"localhost:9090\"}"
        ),
        "{sent:#?}"
    );
    assert!(
        sent.iter().all(|q| !q.contains("job=~\"prometheus\"")),
        "{sent:#?}"
    );
    // The bar shows the new value; the list closed.
    let (screen, _) = draw(&mut a, 160, 70);
    assert!(line(&screen, 1).contains("job: node.exporter"), "{screen}");
    assert!(!screen.contains("[x]"), "{screen}");
    // `a` picks All again.
    press(&mut a, &source, &[KeyCode::Char('a')]).await;
    let d = a.grafana.as_ref().unwrap();
    assert!(d.loaded.as_ref().unwrap().variables[1].is_all());
    assert_eq!(d.round, round + 2);
}

#[tokio::test]
async fn a_chained_variable_is_listed_again_when_the_one_it_uses_changes() {
    let n = |c, i| vec![("job", "node"), ("cluster", c), ("instance", i)];
    let (one, two) = (n("c1", "h1:9100"), n("c2", "h2:9100"));
    let (_dir, source) = promterm(&[
        ("node_uname_info", &one, 1.0),
        ("node_uname_info", &two, 1.0),
        ("node_load1", &one, 1.0),
        ("node_load1", &two, 2.0),
    ]);
    // nodes.json hides $cluster; shown here so the bar can change it.
    let text = file("nodes.json").replacen("\"hide\": 2,", "\"hide\": 0,", 1);
    let mut a = open(&text, &source, 160, 80).await;
    assert_eq!(
        a.grafana
            .as_ref()
            .unwrap()
            .loaded
            .as_ref()
            .unwrap()
            .variables[2]
            .current,
        ["h1:9100"]
    );
    let before = source.asked.lock().unwrap().len();
    // v (datasource) → Cluster; its list: All, c1, c2; ↓↓ Enter picks c2.
    press(
        &mut a,
        &source,
        &[
            KeyCode::Char('v'),
            KeyCode::Right,
            KeyCode::Enter,
            KeyCode::Down,
            KeyCode::Down,
            KeyCode::Enter,
        ],
    )
    .await;
    let calls = asked_since(&source, before);
    // First $instance listed again with $cluster expanded, then the panels.
    assert_eq!(calls[0].0, "/api/v1/label/instance/values", "{calls:?}");
    assert_eq!(
        param(&calls[0], "match[]"),
        Some("node_uname_info{job=\"node\", cluster=~\"c2\", sysname!=\"Darwin\"}")
    );
    assert!(calls[1..].iter().all(|c| c.0.starts_with("/api/v1/query")));
    let vars = &a
        .grafana
        .as_ref()
        .unwrap()
        .loaded
        .as_ref()
        .unwrap()
        .variables;
    assert_eq!(vars[1].current, ["c2"]);
    // h1 is no longer offered: the first option.
    assert_eq!(vars[2].current, ["h2:9100"]);
    let sent: Vec<&str> = calls.iter().filter_map(|c| param(c, "query")).collect();
    assert!(
        sent.contains(&"node_load1{job=\"node\", instance=\"h2:9100\", cluster=~\"c2\"}"),
        "{sent:#?}"
    );
    let (screen, _) = draw(&mut a, 160, 80);
    assert!(line(&screen, 1).contains("Cluster: c2"), "{screen}");
    assert!(line(&screen, 1).contains("Instance: h2:9100"), "{screen}");
}

/// A dashboard with a textbox, a multi custom variable with a custom all value, an
/// interval with `auto`, a constant and a value-only variable, and one panel using them.
const KINDS: &str = r#"{
  "title": "Kinds", "time": {"from": "now-1h", "to": "now"}, "timezone": "utc",
  "templating": {"list": [
    {"name": "filter", "type": "textbox", "query": "prom.*", "label": "Filter"},
    {"name": "mode", "type": "custom", "multi": true, "includeAll": true, "allValue": ".+",
     "query": "user,system,io.wait", "current": {"text": "user", "value": ["user"]}},
    {"name": "ival", "type": "interval", "query": "1m,5m", "auto": true, "auto_count": 30,
     "auto_min": "10s", "current": {"text": "auto", "value": "$__auto_interval_ival"}},
    {"name": "fixed", "type": "constant", "query": "42", "hide": 2},
    {"name": "quiet", "type": "custom", "query": "a,b", "hide": 1}
  ]},
  "panels": [{"type": "timeseries", "title": "Uses them", "gridPos": {"x": 0, "y": 0, "w": 24, "h": 8},
    "targets": [{"refId": "A",
      "expr": "rate(x{job=~\"$filter\", mode=~\"$mode\", c=\"$fixed\"}[$ival])"}]}]
}"#;

#[tokio::test]
async fn every_kind_of_variable_is_shown_and_changed_as_grafana_does() {
    let (_dir, source) = promterm(&[]);
    let mut a = open(KINDS, &source, 120, 30).await;
    let sent = source.queries();
    // 1h / 30 = 2m for auto; the textbox as typed (escaped as a single value).
    assert_eq!(
        sent.last().map(String::as_str),
        Some("rate(x{job=~\"prom.*\", mode=~\"user\", c=\"42\"}[2m])")
    );
    let (screen, _) = draw(&mut a, 120, 30);
    let bar = line(&screen, 1);
    assert!(bar.contains("Filter: prom.*"), "{bar}");
    assert!(
        bar.contains("mode: user") && bar.contains("ival: auto (2m)"),
        "{bar}"
    );
    // hide 1: the value alone; a constant: not at all.
    assert!(bar.contains(" a ") && !bar.contains("quiet"), "{bar}");
    assert!(!bar.contains("42") && !bar.contains("fixed"), "{bar}");

    // The textbox: Enter, erase two characters, type, Enter.
    let keys = [
        KeyCode::Char('v'),
        KeyCode::Enter,
        KeyCode::Backspace,
        KeyCode::Backspace,
        KeyCode::Char('\''),
    ];
    press(&mut a, &source, &keys).await;
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(line(&screen, 1).contains("Filter: prom'█"), "{screen}");
    press(&mut a, &source, &[KeyCode::Enter]).await;
    assert_eq!(
        source.queries().last().map(String::as_str),
        Some("rate(x{job=~\"prom\\\\'\", mode=~\"user\", c=\"42\"}[2m])")
    );
    // → mode; its list: All, user, system, io.wait; Space on io.wait adds it: two values.
    let keys = [
        KeyCode::Right,
        KeyCode::Enter,
        KeyCode::End,
        KeyCode::Char(' '),
        KeyCode::Enter,
    ];
    press(&mut a, &source, &keys).await;
    assert_eq!(
        source.queries().last().map(String::as_str),
        Some("rate(x{job=~\"prom\\\\'\", mode=~\"(user|io\\\\.wait)\", c=\"42\"}[2m])")
    );
    // `a`: All, as its custom all value, unescaped.
    press(&mut a, &source, &[KeyCode::Char('a')]).await;
    assert!(source
        .queries()
        .last()
        .is_some_and(|q| q.contains("mode=~\".+\"")));
    // Esc leaves the bar; `-` zooms out to 2h: auto follows the range (4m → 5m).
    press(&mut a, &source, &[KeyCode::Esc, KeyCode::Char('-')]).await;
    assert!(!a.grafana.as_ref().unwrap().bar.focused);
    assert!(
        source
            .queries()
            .last()
            .is_some_and(|q| q.ends_with("[5m])")),
        "{:?}",
        source.queries().last()
    );
}

#[tokio::test]
async fn zoom_pan_and_presets_change_the_range_of_every_panel() {
    let (_dir, source) = promterm(&[("prometheus_build_info", PROM, 1.0)]);
    let mut a = open(&file("prometheus.json"), &source, 160, 70).await;
    let (s0, e0) = a.grafana.as_ref().unwrap().window;
    assert!((e0 - s0 - 3600.0).abs() < 1.0);
    let before = source.asked.lock().unwrap().len();
    press(&mut a, &source, &[KeyCode::Char('+')]).await;
    let d = a.grafana.as_ref().unwrap();
    let c = (s0 + e0) / 2.0;
    assert!((d.window.0 - (c - 900.0)).abs() < 1.0 && (d.window.1 - (c + 900.0)).abs() < 1.0);
    // Every range query of the new round covers the new window.
    let calls = asked_since(&source, before);
    let ranges: Vec<_> = calls
        .iter()
        .filter(|c| c.0 == "/api/v1/query_range")
        .collect();
    assert!(ranges.len() >= 5, "{calls:?}");
    for r in &ranges {
        let start: f64 = param(r, "start").unwrap().parse().unwrap();
        let end: f64 = param(r, "end").unwrap().parse().unwrap();
        assert!((start - d.window.0).abs() < 1.0 && (end - d.window.1).abs() < 1.0);
    }
    // Absolute now: the title writes the times, not `now`.
    let (screen, _) = draw(&mut a, 160, 70);
    assert!(!line(&screen, 0).contains("now-1h"), "{screen}");
    assert!(line(&screen, 0).contains(" to "), "{screen}");
    // Pan back by half (900 s), zoom out (×2 around the centre).
    press(&mut a, &source, &[KeyCode::Char('[')]).await;
    let w = a.grafana.as_ref().unwrap().window;
    assert!(
        (w.0 - (c - 1800.0)).abs() < 1.0 && (w.1 - c).abs() < 1.0,
        "{w:?}"
    );
    press(&mut a, &source, &[KeyCode::Char('-')]).await;
    let w2 = a.grafana.as_ref().unwrap().window;
    assert!((w2.0 - (c - 2700.0)).abs() < 1.0 && (w2.1 - (c + 900.0)).abs() < 1.0);
    // 0: the dashboard's own (relative) range again; t: the next longer preset.
    press(&mut a, &source, &[KeyCode::Char('0')]).await;
    let (screen, _) = draw(&mut a, 160, 70);
    assert!(line(&screen, 0).contains("now-1h to now"), "{screen}");
    press(&mut a, &source, &[KeyCode::Char('t')]).await;
    let w = a.grafana.as_ref().unwrap().window;
    assert!((w.1 - w.0 - 6.0 * 3600.0).abs() < 1.0);
    let (screen, _) = draw(&mut a, 160, 70);
    assert!(line(&screen, 0).contains("now-6h to now"), "{screen}");
}

#[tokio::test]
async fn zooming_lists_again_the_variables_refreshed_on_time_change() {
    let node: &[(&str, &str)] = &[("job", "node"), ("instance", "h:9100"), ("cluster", "c1")];
    let (_dir, source) = promterm(&[("node_uname_info", node, 1.0)]);
    let mut a = open(&file("nodes.json"), &source, 160, 80).await;
    let before = source.asked.lock().unwrap().len();
    press(&mut a, &source, &[KeyCode::Char('+')]).await;
    let calls = asked_since(&source, before);
    let w = a.grafana.as_ref().unwrap().window;
    // Both are `refresh: 2`: listed again over the new range, in order, before the panels.
    assert_eq!(calls[0].0, "/api/v1/label/cluster/values", "{calls:?}");
    assert_eq!(calls[1].0, "/api/v1/label/instance/values");
    let start: f64 = param(&calls[0], "start").unwrap().parse().unwrap();
    assert_eq!(start, w.0.floor());
    assert!(calls[2..].iter().all(|c| c.0.starts_with("/api/v1/query")));
}

/// The cells of the panel titled `title` drawn in the cursor's style with a braille dot.
fn cursor_cells(a: &App, buf: &Buffer, screen: &str, title: &str) -> Vec<(u16, u16)> {
    let y0 = screen.lines().position(|l| l.contains(title)).unwrap();
    let top: Vec<char> = line(screen, y0).chars().collect();
    let at = line(screen, y0)[..line(screen, y0).find(title).unwrap()]
        .chars()
        .count();
    // The panel spans from its corner before the title to the next corner.
    let x0 = top[..at].iter().rposition(|c| *c == '┌').unwrap();
    let x1 = x0 + top[x0..].iter().position(|c| *c == '┐').unwrap();
    let dim = a.theme.dim;
    let mut out = Vec::new();
    for y in y0 as u16 + 1..buf.area.height {
        if line(screen, y as usize).chars().nth(x0) == Some('└') {
            break;
        }
        for x in x0 as u16..x1 as u16 {
            let c = &buf[(x, y)];
            let braille = c
                .symbol()
                .chars()
                .any(|ch| ('\u{2801}'..='\u{28ff}').contains(&ch));
            if braille && c.fg == dim {
                out.push((x, y));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_cursor_walks_the_points_of_every_panel_and_the_legends_read_them() {
    let (_dir, source) = promterm(&[
        ("prometheus_build_info", PROM, 1.0),
        ("prometheus_tsdb_head_series", PROM, 1200.0),
        ("prometheus_tsdb_head_chunks", PROM, 3400.0),
    ]);
    let mut a = open(&file("prometheus.json"), &source, 160, 70).await;
    let (screen, buf) = draw(&mut a, 160, 70);
    assert!(!screen.contains("at cursor"), "{screen}");
    assert!(cursor_cells(&a, &buf, &screen, "Head Series").is_empty());
    // `.` shows it at the newest point; `,` moves it one data point column back.
    press(&mut a, &source, &[KeyCode::Char('.')]).await;
    let (newest, step) = a.grafana.as_ref().unwrap().data_times();
    assert_eq!(a.grafana.as_ref().unwrap().time.cursor, newest);
    press(&mut a, &source, &[KeyCode::Char(','), KeyCode::Char(',')]).await;
    let d = a.grafana.as_ref().unwrap();
    let at = d.time.cursor.unwrap();
    assert!((at - (newest.unwrap() - 2.0 * step)).abs() < 1e-6);
    // The value Head Series has there, in the legend; the cursor's time in the title.
    let head = d
        .answers
        .values()
        .find(|a| a.expr.starts_with("prometheus_tsdb_head_series"))
        .unwrap();
    let points = match &head.result {
        Ok(crate::tui::data::QueryData::Matrix(v)) => v[0].points.clone(),
        other => panic!("{other:?}"),
    };
    let v = value_at(&points, at, step).unwrap();
    assert!((1200.0..=1204.0).contains(&v));
    let (screen, buf) = draw(&mut a, 160, 70);
    let want = format!(
        "at cursor {}",
        crate::tui::grafana::units::format(None, v, None)
    );
    assert!(screen.contains(&want), "{want}:\n{screen}");
    let clock = crate::tui::format::clock(at, a.utc, false);
    assert!(
        line(&screen, 0).contains(&format!("cursor {clock}")),
        "{screen}"
    );
    // A vertical line over the whole chart (two rows here): one column, in both time
    // series panels of the row.
    for title in ["Head Series", "Head Chunks"] {
        let cells = cursor_cells(&a, &buf, &screen, title);
        let rows: std::collections::BTreeSet<u16> = cells.iter().map(|c| c.1).collect();
        let cols: std::collections::BTreeSet<u16> = cells.iter().map(|c| c.0).collect();
        assert!(rows.len() >= 2, "{title}: {cells:?}\n{screen}");
        assert_eq!(cols.len(), 1, "{title}: {cells:?}");
    }
    // x hides it.
    press(&mut a, &source, &[KeyCode::Char('x')]).await;
    let (screen, buf) = draw(&mut a, 160, 70);
    assert!(!screen.contains("at cursor"), "{screen}");
    assert!(cursor_cells(&a, &buf, &screen, "Head Series").is_empty());
}

#[tokio::test]
async fn an_open_list_fits_small_screens() {
    let (_dir, source) = promterm(&[]);
    let mut a = open(KINDS, &source, 120, 30).await;
    press(
        &mut a,
        &source,
        &[KeyCode::Char('v'), KeyCode::Right, KeyCode::Enter],
    )
    .await;
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(
        screen.contains("[x] user") && screen.contains("[ ] io.wait"),
        "{screen}"
    );
    for (w, h) in [(20, 8), (4, 4), (120, 3), (30, 6)] {
        if let Some(d) = a.grafana.as_mut() {
            d.size = (w, h);
        }
        let (screen, _) = draw(&mut a, w, h);
        assert!(!screen.is_empty());
    }
}
