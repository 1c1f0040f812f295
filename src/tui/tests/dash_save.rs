//! Selecting dashboard panels, full screen, a panel's query into the prompt, panels added
//! from the prompt, saving and the dashboards list: keys on an `App` whose work runs against
//! promterm in process (and the file system), drawn on a TestBackend.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::Value;

use super::dashboards::{file, open, promterm, Recording};
use super::{draw, key};
use crate::tui::app::{App, Cmd, Focus};
use crate::tui::grafana;
use crate::tui::grafana::model::PanelKind;
use crate::tui::prompt::History;
use crate::tui::theme::Theme;
use crate::tui::{execute_cmd, render};

const NODE: &[(&str, &str)] = &[("job", "node"), ("instance", "h:9100"), ("cluster", "c1")];

/// Runs `cmds` and the work their answers ask for.
async fn run(a: &mut App, source: &Recording, cmds: Vec<Cmd>) {
    let mut work = cmds;
    while let Some(c) = work.pop() {
        let m = execute_cmd(source, c).await;
        work.extend(a.msg(m));
    }
}

fn sel(a: &App) -> Option<(usize, usize)> {
    a.grafana.as_ref().unwrap().sel.panel
}

#[tokio::test]
async fn tab_selects_panels_in_reading_order_and_scrolls_them_into_view() {
    let (_dir, source) = promterm(&[]);
    let mut a = open(&file("node-rsrc-use.json"), &source, 120, 20).await;
    let order = a.grafana.as_ref().unwrap().panel_order();
    assert_eq!(order.len(), 9);
    assert!(order
        .windows(2)
        .all(|w| (w[0].1.y, w[0].1.x) < (w[1].1.y, w[1].1.x)));
    let body = a.grafana.as_ref().unwrap().body_height();
    // Panels start under the title line and the variable bar.
    let top = 1 + a.grafana.as_ref().unwrap().bar_height();
    for (k, r) in &order {
        a.key(key(KeyCode::Tab));
        assert_eq!(sel(&a), Some(*k));
        let scroll = a.grafana.as_ref().unwrap().scroll;
        assert!(
            r.y >= scroll && r.y + r.h <= scroll + body,
            "{r:?} at {scroll}"
        );
        // Drawn with the highlighted border, its neighbours without.
        let (_, buf) = draw(&mut a, 120, 20);
        let t = &a.theme;
        let corner = &buf[(r.x, top + (r.y - scroll) as u16)];
        assert_eq!(corner.fg, t.border(true).fg.unwrap(), "{k:?}");
        for (o, q) in &order {
            if o != k && q.y >= scroll && q.y < scroll + body {
                assert_eq!(
                    buf[(q.x, top + (q.y - scroll) as u16)].fg,
                    t.border(false).fg.unwrap()
                );
            }
        }
    }
    // Past the last: the first again, scrolled back up; Shift-Tab goes backwards.
    a.key(key(KeyCode::Tab));
    assert_eq!(sel(&a), Some(order[0].0));
    assert_eq!(a.grafana.as_ref().unwrap().scroll, order[0].1.y.min(1));
    a.key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(sel(&a), Some(order[8].0));
    assert!(a.grafana.as_ref().unwrap().scroll > 0);
}

#[tokio::test]
async fn full_screen_shows_the_description_and_esc_goes_back_to_the_same_scroll() {
    let (_dir, source) = promterm(&[("node_uname_info", NODE, 1.0)]);
    let mut a = open(&file("nodes.json"), &source, 160, 24).await;
    while a
        .grafana
        .as_ref()
        .unwrap()
        .selected_panel()
        .map(|p| p.title.as_str())
        != Some("Network Received")
    {
        a.key(key(KeyCode::Tab));
    }
    let scroll = a.grafana.as_ref().unwrap().scroll;
    assert!(scroll > 0);
    a.key(key(KeyCode::Char('f')));
    assert!(a.grafana.as_ref().unwrap().sel.full);
    let (screen, _) = draw(&mut a, 160, 24);
    assert!(
        screen.contains("Node Exporter / Nodes › Network Received"),
        "{screen}"
    );
    assert!(screen.contains("Network received (bits/s)"), "{screen}");
    // Its query as sent, and no other panel.
    assert!(
        screen
            .contains("A: rate(node_network_receive_bytes_total{job=\"node\", instance=\"h:9100\""),
        "{screen}"
    );
    assert!(!screen.contains("Network Transmitted"), "{screen}");
    // Keys that scroll the grid do nothing full screen.
    a.key(key(KeyCode::PageDown));
    a.key(key(KeyCode::Esc));
    let d = a.grafana.as_ref().unwrap();
    assert!(!d.sel.full && d.shown);
    assert_eq!(d.scroll, scroll);
    let (screen, _) = draw(&mut a, 160, 24);
    assert!(screen.contains("Network Transmitted"), "{screen}");
    // Enter opens it too, and closes it again.
    a.key(key(KeyCode::Enter));
    assert!(a.grafana.as_ref().unwrap().sel.full);
    a.key(key(KeyCode::Enter));
    assert!(!a.grafana.as_ref().unwrap().sel.full);
}

#[tokio::test]
async fn e_puts_the_query_as_sent_into_the_prompt_on_the_dashboards_range() {
    let (_dir, source) = promterm(&[("node_uname_info", NODE, 1.0), ("node_load1", NODE, 0.5)]);
    let mut a = open(&file("nodes.json"), &source, 160, 60).await;
    let sent = source.queries();
    // The first panel (CPU Usage): its query uses $__rate_interval and the variables.
    a.key(key(KeyCode::Tab));
    let p = a
        .grafana
        .as_ref()
        .unwrap()
        .selected_panel()
        .unwrap()
        .clone();
    assert!(
        p.targets[0].expr.contains("$__rate_interval") && p.targets[0].expr.contains("$instance")
    );
    a.key(key(KeyCode::Char('e')));
    let typed = a.editor.text().to_string();
    assert!(sent.contains(&typed), "{typed} not among\n{sent:#?}");
    assert!(!typed.contains('$'), "{typed}");
    assert!(typed.contains("instance=\"h:9100\""), "{typed}");
    assert!(!a.grafana.as_ref().unwrap().shown);
    assert_eq!(a.focus, Focus::Prompt);
    assert!(a.graph);
    // nodes.json shows the last hour: so does the graph.
    assert_eq!(a.range_secs, 3600.0);
    assert!(a.end_offset < 1.0);
    assert!(a.live_error.is_none(), "{:?}", a.live_error);
    // Full screen, ↓ picks the second of Load Average's four queries.
    a.key(key(KeyCode::F(2)));
    while a
        .grafana
        .as_ref()
        .unwrap()
        .selected_panel()
        .map(|p| p.title.as_str())
        != Some("Load Average")
    {
        a.key(key(KeyCode::Tab));
    }
    a.key(key(KeyCode::Char('f')));
    a.key(key(KeyCode::Down));
    let d = a.grafana.as_ref().unwrap();
    let (row, panel) = d.sel.panel.unwrap();
    let second = d.answers[&(row, panel, 1)].expr.clone();
    assert!(second.contains("node_load5{"), "{second}");
    a.key(key(KeyCode::Char('e')));
    assert_eq!(a.editor.text(), second);
    // Enter runs it as a range query over that hour.
    let cmds = a.key(key(KeyCode::Enter));
    match &cmds[0] {
        Cmd::Query {
            expr,
            range: Some((s, e, _)),
            ..
        } => {
            assert_eq!(expr, &second);
            assert!((e - s - 3600.0).abs() < 1.0);
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_then_s_writes_a_dashboard_our_loader_reads_back() {
    let (_dir, source) = promterm(&[]);
    let files = tempfile::tempdir().unwrap();
    let mut a = App::new(
        Theme::load("default").unwrap(),
        History::load(None),
        "local",
    );
    a.dash_files.dir = Some(files.path().join("dashboards"));
    a.focus = Focus::Results;
    a.editor.set("up");
    a.key(key(KeyCode::Char('a')));
    let d = a.grafana.as_ref().expect("a dashboard being built");
    assert!(!d.shown);
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(
        screen.contains("added table panel \"up\" to dashboard \"promterm\""),
        "{screen}"
    );
    a.editor.set("rate(prometheus_http_requests_total[5m])");
    a.graph = true;
    a.key(key(KeyCode::Char('a')));
    // F2 shows it; S saves it.
    a.key(key(KeyCode::F(2)));
    assert!(a.dashboard_shown());
    let cmds = a.key(key(KeyCode::Char('S')));
    assert!(matches!(cmds[..], [Cmd::DashFile(_)]), "{cmds:?}");
    run(&mut a, &source, cmds).await;
    let path = files.path().join("dashboards/promterm.json");
    let notice = a.dash_files.notice.clone().unwrap_or_default();
    assert!(
        notice.contains("saved \"promterm\"") && notice.contains("promterm.json"),
        "{notice}"
    );
    let (screen, _) = draw(&mut a, 160, 30);
    assert!(screen.contains("saved \"promterm\""), "{screen}");
    let back = grafana::load(&path).unwrap();
    let panels: Vec<_> = back
        .dashboard
        .panels()
        .map(|p| (p.title.clone(), p.kind.clone(), p.targets[0].expr.clone()))
        .collect();
    assert_eq!(
        panels,
        [
            ("up".to_string(), PanelKind::Table, "up".to_string()),
            (
                "rate(prometheus_http_requests_total[5m])".to_string(),
                PanelKind::TimeSeries,
                "rate(prometheus_http_requests_total[5m])".to_string()
            ),
        ]
    );
    // Saving again replaces the same file (same dashboard), nothing beside it.
    let cmds = a.key(key(KeyCode::Char('S')));
    run(&mut a, &source, cmds).await;
    let n = std::fs::read_dir(files.path().join("dashboards"))
        .unwrap()
        .count();
    assert_eq!(n, 1);
    // The panels are drawn (and queried) like any dashboard's.
    let now = a.now + 1.0;
    let cmds = a.tick(now, false);
    let exprs: Vec<&str> = cmds
        .iter()
        .filter_map(|c| match c {
            Cmd::DashQuery { expr, .. } => Some(expr.as_str()),
            _ => None,
        })
        .collect();
    assert!(exprs.contains(&"up"), "{cmds:?}");
}

#[tokio::test]
async fn a_added_to_an_open_dashboard_is_saved_with_all_its_fields() {
    let (_dir, source) = promterm(&[("node_uname_info", NODE, 1.0)]);
    let text = file("nodes.json");
    let orig: Value = serde_json::from_str(&text).unwrap();
    let mut a = open(&text, &source, 160, 60).await;
    let files = tempfile::tempdir().unwrap();
    a.dash_files.dir = Some(files.path().to_path_buf());
    a.key(key(KeyCode::Esc));
    a.focus = Focus::Results;
    a.editor.set("node_load1");
    a.key(key(KeyCode::Char('a')));
    assert_eq!(
        a.grafana
            .as_ref()
            .unwrap()
            .loaded
            .as_ref()
            .unwrap()
            .dashboard
            .panels()
            .count(),
        9
    );
    a.key(key(KeyCode::F(2)));
    let cmds = a.key(key(KeyCode::Char('S')));
    run(&mut a, &source, cmds).await;
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(files.path().join("node-exporter-nodes.json")).unwrap(),
    )
    .unwrap();
    let mut rest = saved.clone();
    let added = rest["panels"]
        .as_array_mut()
        .unwrap()
        .split_off(orig["panels"].as_array().unwrap().len());
    assert_eq!(rest, orig);
    assert_eq!(added.len(), 1);
    assert_eq!(added[0]["targets"][0]["expr"], "node_load1");
    assert_eq!(added[0]["datasource"]["uid"], "${datasource}");
    // The variables kept their values: the new panel's round is sent at once.
    let now = a.now + 1.0;
    let cmds = a.tick(now, false);
    assert!(
        cmds.iter()
            .any(|c| matches!(c, Cmd::DashQuery { expr, .. } if expr == "node_load1")),
        "{cmds:?}"
    );
}

#[tokio::test]
async fn the_dashboards_list_shows_a_broken_file_and_opens_a_good_one() {
    let (_dir, source) = promterm(&[]);
    let files = tempfile::tempdir().unwrap();
    let text = file("nodes.json");
    std::fs::write(files.path().join("nodes.json"), &text).unwrap();
    std::fs::write(files.path().join("broken.json"), &text[..300]).unwrap();
    let mut a = App::new(
        Theme::load("default").unwrap(),
        History::load(None),
        "local",
    );
    a.dash_files.dir = Some(files.path().to_path_buf());
    // No dashboard open: F2 lists the directory.
    let cmds = a.key(key(KeyCode::F(2)));
    run(&mut a, &source, cmds).await;
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(screen.contains("Dashboards in"), "{screen}");
    assert!(screen.contains("Node Exporter / Nodes"), "{screen}");
    assert!(
        screen.contains("broken.json") && screen.contains("truncated"),
        "{screen}"
    );
    // The broken one (first by name) does not open; the list stays.
    let cmds = a.key(key(KeyCode::Enter));
    assert!(cmds.is_empty());
    assert!(a.dash_files.list.is_some() && a.grafana.is_none());
    assert!(a
        .dash_files
        .notice
        .as_deref()
        .unwrap_or_default()
        .contains("cannot open"));
    a.key(key(KeyCode::Down));
    let cmds = a.key(key(KeyCode::Enter));
    run(&mut a, &source, cmds).await;
    assert!(a.dash_files.list.is_none());
    assert!(a.dashboard_shown());
    assert_eq!(
        a.grafana
            .as_ref()
            .unwrap()
            .loaded
            .as_ref()
            .unwrap()
            .dashboard
            .title,
        "Node Exporter / Nodes"
    );
    assert_eq!(
        a.dash_files.opened_from,
        Some(files.path().join("nodes.json"))
    );
    // `o` in the dashboard lists again; Esc closes the list, the dashboard stays.
    let cmds = a.key(key(KeyCode::Char('o')));
    run(&mut a, &source, cmds).await;
    assert!(a.dash_files.list.is_some());
    a.key(key(KeyCode::Esc));
    assert!(a.dash_files.list.is_none() && a.dashboard_shown());
}

#[test]
fn help_lists_the_dashboard_keys() {
    let keys: Vec<&str> = render::HELP.iter().map(|(k, _)| *k).collect();
    for k in ["Tab / Shift-Tab", "f / Enter", "e", "S / o", "a", "F2"] {
        assert!(keys.contains(&k), "{k}");
    }
    let text = format!("{:?}", render::HELP);
    assert!(text.contains("save the dashboard") && text.contains("dashboards list"));
}
