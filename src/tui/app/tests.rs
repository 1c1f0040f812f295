//! Behaviour of the TUI state: keys, completion, history, graph controls, panels.

use super::*;
use crate::tui::data::SeriesData;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn app() -> App {
    let mut a = App::new(Theme::load("default").unwrap(), History::load(None), "test");
    a.now = 1_000_000.0;
    a
}

fn key(c: KeyCode) -> KeyEvent {
    KeyEvent::new(c, KeyModifiers::NONE)
}

fn ctrl(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
}

fn typ(a: &mut App, s: &str) -> Vec<Cmd> {
    let mut out = Vec::new();
    for c in s.chars() {
        out.extend(a.key(key(KeyCode::Char(c))));
    }
    out
}

fn series(n: usize) -> Vec<SeriesData> {
    (0..n)
        .map(|i| SeriesData {
            labels: [
                ("__name__".to_string(), "up".to_string()),
                ("i".to_string(), i.to_string()),
            ]
            .into(),
            points: vec![(1.0, (n - i) as f64)],
            ..Default::default()
        })
        .collect()
}

#[test]
fn enter_runs_an_instant_query_and_remembers_it() {
    let mut a = app();
    typ(&mut a, "up == 1");
    let cmds = a.key(key(KeyCode::Enter));
    assert_eq!(
        cmds,
        vec![Cmd::Query {
            id: 1,
            expr: "up == 1".into(),
            time: 1_000_000.0,
            range: None
        }]
    );
    assert!(a.running);
    assert_eq!(a.history.entries(), ["up == 1"]);
    // A stale answer (older id) is ignored; the current one is shown.
    a.msg(Msg::Query {
        id: 0,
        result: Err("old".into()),
        seconds: 0.0,
        stats: None,
    });
    assert!(a.error.is_none() && a.running);
    a.msg(Msg::Query {
        id: 1,
        result: Ok((QueryData::Vector(series(3)), vec!["PromQL info: x".into()])),
        seconds: 0.01,
        stats: None,
    });
    assert!(!a.running);
    assert_eq!(a.sorted_series().len(), 3);
    assert_eq!(a.warnings, ["PromQL info: x"]);
    // Errors are kept for the message line.
    a.key(key(KeyCode::Enter));
    a.msg(Msg::Query {
        id: 2,
        result: Err("bad_data: 1:3: parse error: boom".into()),
        seconds: 0.0,
        stats: None,
    });
    assert_eq!(a.error.as_deref(), Some("bad_data: 1:3: parse error: boom"));
}

#[test]
fn live_parse_errors_point_at_the_column() {
    let mut a = app();
    typ(&mut a, "sum(rate(x[5m])");
    let (msg, line, col) = a.live_error.clone().expect("unclosed paren");
    assert_eq!(line, 1);
    assert!(col >= 1, "{msg}");
    assert!(msg.contains("unclosed"), "{msg}");
    typ(&mut a, ")");
    assert!(a.live_error.is_none());
}

#[test]
fn tab_completes_metrics_functions_labels_and_values() {
    let mut a = app();
    a.msg(Msg::MetricNames(vec![
        "node_load1".into(),
        "node_load5".into(),
        "up".into(),
    ]));
    typ(&mut a, "node_lo");
    let cmds = a.key(key(KeyCode::Tab));
    assert!(cmds.is_empty());
    let p = a.popup.clone().expect("popup");
    assert_eq!(
        p.items.iter().map(|c| c.label.as_str()).collect::<Vec<_>>(),
        ["node_load1", "node_load5"]
    );
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Enter));
    assert_eq!(a.editor.text(), "node_load5");
    assert!(a.popup.is_none());
    // One candidate: Tab inserts it directly.
    a.editor.set("ra");
    a.key(key(KeyCode::Tab));
    assert!(a.popup.is_some(), "rate, rad, ... several candidates");
    a.key(key(KeyCode::Esc));
    a.editor.set("histogram_qu");
    a.key(key(KeyCode::Tab));
    assert_eq!(a.editor.text(), "histogram_quantile(");
    // Label names of the metric: fetched first, the popup fills when they arrive.
    a.editor.set("up{");
    let cmds = a.key(key(KeyCode::Tab));
    assert_eq!(
        cmds,
        vec![Cmd::LabelNames {
            metric: "up".into()
        }]
    );
    assert!(a.popup.as_ref().is_some_and(|p| p.items.is_empty()));
    a.msg(Msg::LabelNames {
        metric: "up".into(),
        names: vec!["__name__".into(), "instance".into(), "job".into()],
    });
    assert_eq!(a.popup.as_ref().unwrap().items.len(), 2);
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Tab));
    assert_eq!(a.editor.text(), "up{job");
    typ(&mut a, "=\"");
    let cmds = a.key(key(KeyCode::Tab));
    assert_eq!(
        cmds,
        vec![Cmd::LabelValues {
            metric: "up".into(),
            label: "job".into()
        }]
    );
    a.msg(Msg::LabelValues {
        metric: "up".into(),
        label: "job".into(),
        values: vec!["node".into()],
    });
    a.key(key(KeyCode::Enter));
    assert_eq!(a.editor.text(), "up{job=\"node\"");
    // Nothing to complete: Tab moves focus.
    a.editor.set("up > ");
    a.key(key(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Results);
}

#[test]
fn keys_in_and_out_of_the_prompt() {
    let mut a = app();
    typ(&mut a, "q?1");
    assert_eq!(a.editor.text(), "q?1", "typing in the prompt never quits");
    assert!(!a.quit && !a.help);
    a.key(ctrl('a'));
    a.key(ctrl('k'));
    assert_eq!(a.editor.text(), "");
    a.key(key(KeyCode::Esc));
    assert_eq!(a.focus, Focus::Results);
    a.key(key(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Targets);
    a.key(key(KeyCode::BackTab));
    a.key(key(KeyCode::BackTab));
    assert_eq!(a.focus, Focus::Prompt);
    a.key(key(KeyCode::F(1)));
    assert!(a.help);
    a.key(key(KeyCode::Char('x')));
    assert!(!a.help, "any key closes the help");
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('?')));
    assert!(a.help);
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('q')));
    assert!(a.quit);
    let mut b = app();
    b.key(ctrl('c'));
    assert!(b.quit, "Ctrl-C quits from the prompt too");
}

#[test]
fn history_browsing_and_reverse_search() {
    let mut a = app();
    for q in ["up", "rate(x[5m])", "sum(up)"] {
        a.editor.set(q);
        a.key(key(KeyCode::Enter));
    }
    a.editor.set("dra");
    a.key(key(KeyCode::Up));
    assert_eq!(a.editor.text(), "sum(up)");
    a.key(key(KeyCode::Up));
    assert_eq!(a.editor.text(), "rate(x[5m])");
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Down));
    assert_eq!(a.editor.text(), "dra");
    a.key(ctrl('r'));
    typ(&mut a, "up");
    assert_eq!(a.search, Some(("up".into(), Some(2))));
    a.key(ctrl('r'));
    assert_eq!(a.search, Some(("up".into(), Some(0))));
    a.key(key(KeyCode::Enter));
    assert_eq!((a.editor.text(), a.search.is_none()), ("up", true));
}

#[test]
fn graph_zoom_pan_live_and_cursor() {
    let mut a = app();
    a.editor.set("rate(x[1m])");
    a.key(key(KeyCode::Enter));
    a.key(key(KeyCode::Esc));
    let cmds = a.key(key(KeyCode::Char('g')));
    let (s, e, step) = (1_000_000.0 - 3600.0, 1_000_000.0, 15.0);
    // The graph's exemplars are asked for with it, over the same range.
    assert_eq!(
        cmds,
        vec![
            Cmd::Query {
                id: 2,
                expr: "rate(x[1m])".into(),
                time: 1_000_000.0,
                range: Some((s, e, step))
            },
            Cmd::Exemplars {
                id: 2,
                expr: "rate(x[1m])".into(),
                range: (s, e)
            }
        ]
    );
    let cmds = a.key(key(KeyCode::Char('+')));
    assert_eq!(a.range_secs, 1800.0);
    assert_eq!(cmds.len(), 2);
    a.key(key(KeyCode::Char('-')));
    a.key(key(KeyCode::Char('-')));
    assert_eq!(a.range_secs, 10800.0);
    a.key(key(KeyCode::Char('[')));
    assert_eq!(a.end_offset, 2700.0);
    assert_eq!(a.window().1, 1_000_000.0 - 2700.0);
    a.key(key(KeyCode::Char(']')));
    assert_eq!(a.end_offset, 0.0);
    a.msg(Msg::Query {
        id: a.query_id,
        result: Ok((QueryData::Matrix(series(2)), vec![])),
        seconds: 0.0,
        stats: None,
    });
    a.key(key(KeyCode::Char('0')));
    assert!(a.live);
    let id = a.query_id;
    a.msg(Msg::Query {
        id,
        result: Ok((QueryData::Matrix(series(2)), vec![])),
        seconds: 0.0,
        stats: None,
    });
    assert!(a.tick(1_000_002.0, false).is_empty(), "not yet");
    let cmds = a.tick(1_000_006.0, false);
    assert!(
        matches!(
            cmds.as_slice(),
            [Cmd::Query { range: Some(_), .. }, Cmd::Exemplars { .. }]
        ),
        "{cmds:?}"
    );
    a.key(key(KeyCode::Left));
    assert_eq!(a.cursor, Some(a.point_count() - 2));
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Char(' ')));
    assert!(a.hidden.contains(&1));
    a.key(key(KeyCode::Char(' ')));
    assert!(a.hidden.is_empty());
    a.key(key(KeyCode::Char('u')));
    assert!(a.utc);
}

#[test]
fn table_sorting() {
    let mut a = app();
    a.editor.set("up");
    a.key(key(KeyCode::Enter));
    a.msg(Msg::Query {
        id: 1,
        result: Ok((QueryData::Vector(series(3)), vec![])),
        seconds: 0.0,
        stats: None,
    });
    let values = |a: &App| {
        a.sorted_series()
            .iter()
            .map(|s| s.1.points[0].1)
            .collect::<Vec<_>>()
    };
    assert_eq!(values(&a), [3.0, 2.0, 1.0], "by labels: i=0,1,2");
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('s')));
    assert_eq!(values(&a), [1.0, 2.0, 3.0]);
    a.key(key(KeyCode::Char('r')));
    assert_eq!(values(&a), [3.0, 2.0, 1.0]);
}

#[test]
fn panels_filter_select_and_send_queries_to_the_prompt() {
    let mut a = app();
    let t = |pool: &str, inst: &str, health: &str| Target {
        pool: pool.into(),
        instance: inst.into(),
        labels: BTreeMap::new(),
        discovered: BTreeMap::new(),
        health: health.into(),
        last_error: String::new(),
        last_scrape: String::new(),
        duration: 0.0,
    };
    a.msg(Msg::Targets(Ok(vec![
        t("node", "a:1", "up"),
        t("node", "b:1", "down"),
        t("web", "c:1", "up"),
    ]
    .into())));
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Targets);
    a.key(key(KeyCode::Char('/')));
    typ(&mut a, "down");
    assert_eq!(a.visible_targets().len(), 1);
    a.key(key(KeyCode::Esc));
    assert_eq!(a.visible_targets().len(), 3, "Esc clears the filter");
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Down));
    assert_eq!(a.targets_sel, 2);
    let alert = AlertRow {
        name: "Down".into(),
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
        state: "firing".into(),
        active_at: String::new(),
        value: "1".into(),
        query: "up == 0".into(),
        for_secs: 0.0,
    };
    a.msg(Msg::Rules(Ok((vec![], vec![alert]))));
    a.key(key(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Alerts);
    a.key(key(KeyCode::Enter));
    assert_eq!((a.editor.text(), a.focus), ("up == 0", Focus::Prompt));
    // The metrics explorer inserts a name.
    a.editor.set("rate(");
    a.msg(Msg::MetricNames(vec!["a_total".into(), "b_total".into()]));
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('5')));
    assert_eq!((a.view, a.focus), (View::Metrics, Focus::Results));
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Enter));
    assert_eq!(a.editor.text(), "rate(b_total");
    assert_eq!(a.view, View::Query);
}

#[test]
fn small_terminals_use_tabs() {
    let mut a = app();
    a.set_wide(false);
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('2')));
    assert_eq!((a.view, a.focus), (View::Targets, Focus::Targets));
    a.key(key(KeyCode::Tab));
    assert_eq!(a.focus, Focus::Targets, "one pane per tab");
    a.set_wide(true);
    assert_eq!(a.view, View::Query);
    assert_eq!(a.focus, Focus::Targets);
}

mod exemplars;
mod freshness;
#[test]
fn the_overview_refreshes_while_shown_and_keeps_one_query_per_panel_in_flight() {
    use crate::tui::dashboard::{builtin, Overview, OVERVIEW_STEP};
    let mut a = app();
    a.arrive(Overview::new(builtin()));
    assert_eq!((a.view, a.focus), (View::Overview, Focus::Results));
    let n = builtin().len();
    let cmds = a.tick(1_000_003.0, false);
    assert_eq!(cmds.len(), n, "{cmds:?}");
    let Cmd::Panel { index, expr, range } = &cmds[2] else {
        panic!("{cmds:?}")
    };
    assert_eq!(
        (*index, expr.as_str()),
        (
            2,
            "sum(rate(prometheus_tsdb_head_samples_appended_total[1m]))"
        )
    );
    assert_eq!(*range, (1_000_000.0 - 900.0, 1_000_000.0, OVERVIEW_STEP));
    assert!(a.tick(1_000_004.0, false).is_empty(), "not due yet");
    // Only the panels that answered are asked again; an empty one asks for the metric names
    // (to say why it is empty).
    a.msg(Msg::Panel {
        index: 0,
        range: *range,
        result: Ok(QueryData::Matrix(vec![])),
    });
    let cmds = a.tick(1_000_008.0, false);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    assert!(matches!(cmds[0], Cmd::Panel { index: 0, .. }));
    assert_eq!(cmds[1], Cmd::MetricNames);
    // Not while another view is shown; opening it again asks at once when due.
    a.key(key(KeyCode::Esc));
    assert_eq!((a.view, a.focus), (View::Query, Focus::Prompt));
    a.focus = Focus::Results;
    a.msg(Msg::Panel {
        index: 1,
        range: *range,
        result: Err("x".into()),
    });
    assert!(a
        .tick(1_000_020.0, true)
        .iter()
        .all(|c| !matches!(c, Cmd::Panel { .. })));
    let cmds = a.key(key(KeyCode::Char('6')));
    assert_eq!(
        cmds,
        vec![Cmd::Panel {
            index: 1,
            expr: builtin()[1].query.clone(),
            range: (1_000_020.0 - 900.0, 1_000_020.0, OVERVIEW_STEP)
        }]
    );
}

#[test]
fn overview_keys_select_on_the_grid_and_enter_fills_the_prompt() {
    use crate::tui::dashboard::{builtin, Overview};
    let mut a = app();
    a.arrive(Overview::new(builtin()));
    a.overview.cols.set(3);
    a.key(key(KeyCode::Down));
    a.key(key(KeyCode::Char('l')));
    assert_eq!(a.overview.selected, 4);
    a.key(key(KeyCode::Up));
    a.key(key(KeyCode::Up));
    assert_eq!(a.overview.selected, 1, "stays on the grid");
    a.key(key(KeyCode::End));
    assert_eq!(a.overview.selected, builtin().len() - 1);
    a.key(key(KeyCode::Home));
    a.key(key(KeyCode::Left));
    assert_eq!(a.overview.selected, 0);
    a.key(key(KeyCode::Enter));
    assert_eq!((a.view, a.focus), (View::Query, Focus::Prompt));
    assert_eq!(a.editor.text(), "sum(up)");
    assert!(a.live_error.is_none());
    // Typing goes on in the prompt.
    typ(&mut a, " > 0");
    assert_eq!(a.editor.text(), "sum(up) > 0");
    // On a small screen the overview is a whole view, and the prompt is not on it.
    a.key(key(KeyCode::Esc));
    a.key(key(KeyCode::Char('6')));
    a.set_wide(false);
    a.key(key(KeyCode::Tab));
    assert_eq!((a.view, a.focus), (View::Overview, Focus::Results));
    a.set_wide(true);
    a.focus = Focus::Prompt;
    a.set_wide(false);
    assert_eq!((a.view, a.focus), (View::Query, Focus::Prompt));
}
