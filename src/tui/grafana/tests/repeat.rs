//! Tests of repeated panels and rows (`repeat`): the values drawn (selection, All, multi),
//! Grafana's widths side by side (`maxPerRow`), stacking, row repeats, what moves down, the
//! variable bound per copy in the queries sent and the titles, and re-expansion when the
//! selection changes.

use serde_json::{json, Value};

use crate::tui::app::grafana::DashView;
use crate::tui::app::Cmd;
use crate::tui::grafana::layout::{layout, Item};
use crate::tui::grafana::repeat::{self, bind, repeat_values, scope, title};
use crate::tui::grafana::vars::{self, ALL};
use crate::tui::grafana::{parse, Loaded};

/// A dashboard with a custom `host` variable (options a, b.x, c; `current` as given,
/// multi with include-All) and `panels`.
fn dash(current: Value, panels: Value) -> Loaded {
    let d = json!({
        "title": "t",
        "templating": {"list": [{"name": "host", "type": "custom", "multi": true,
            "includeAll": true, "query": "a,b.x,c", "current": {"value": current}}]},
        "panels": panels,
    });
    parse(&d.to_string(), "d.json").unwrap()
}

fn cpu(repeat: Value) -> Value {
    let mut p = json!({"type": "stat", "title": "CPU $host", "id": 1,
        "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4},
        "targets": [{"refId": "A", "expr": "up{host=~\"$host\"}"}]});
    if let (Some(o), Some(r)) = (p.as_object_mut(), repeat.as_object()) {
        o.extend(r.clone());
    }
    p
}

fn below() -> Value {
    json!({"type": "stat", "title": "Below", "id": 2,
        "gridPos": {"x": 0, "y": 4, "w": 24, "h": 3},
        "targets": [{"expr": "x"}]})
}

/// (title as drawn, x, y, w) of every panel of the shown rows.
fn placed(l: &Loaded) -> Vec<(String, u32, u32, u32)> {
    l.dashboard
        .rows
        .iter()
        .flat_map(|r| {
            r.panels.iter().map(move |p| {
                (
                    title(&p.title, &l.variables, &scope(r, p)),
                    p.grid.x,
                    p.grid.y,
                    p.grid.w,
                )
            })
        })
        .collect()
}

#[test]
fn the_values_repeated_are_the_selection_and_all_is_every_option() {
    let l = dash(json!(["a", "c"]), json!([]));
    assert_eq!(repeat_values(&l.variables[0]), vec!["a", "c"]);
    let l = dash(json!([ALL]), json!([]));
    assert_eq!(repeat_values(&l.variables[0]), vec!["a", "b.x", "c"]);
    let l = dash(json!("b.x"), json!([]));
    assert_eq!(repeat_values(&l.variables[0]), vec!["b.x"]);
}

#[test]
fn side_by_side_copies_share_the_width_and_what_is_below_moves_down() {
    // Three values, maxPerRow 4 (default): three columns of 8, one line; Below stays at 4.
    let l = dash(
        json!([ALL]),
        json!([cpu(json!({"repeat": "host"})), below()]),
    );
    assert_eq!(
        placed(&l),
        vec![
            ("CPU a".into(), 0, 0, 8),
            ("CPU b.x".into(), 8, 0, 8),
            ("CPU c".into(), 16, 0, 8),
            ("Below".into(), 0, 4, 24),
        ]
    );
    // maxPerRow 2: two columns of 12, the third copy on a second line; Below one line lower.
    let l = dash(
        json!([ALL]),
        json!([cpu(json!({"repeat": "host", "maxPerRow": 2})), below()]),
    );
    assert_eq!(
        placed(&l),
        vec![
            ("CPU a".into(), 0, 0, 12),
            ("CPU b.x".into(), 12, 0, 12),
            ("CPU c".into(), 0, 4, 12),
            ("Below".into(), 0, 8, 24),
        ]
    );
    // On the terminal: 90 columns in three equal shares, Below under them.
    let lay = layout(&l.dashboard, 90);
    assert_eq!(lay.items.len(), 4);
    let (_, last) = lay.items[3];
    assert_eq!((last.y, last.w), (8, 90));
}

#[test]
fn five_copies_on_one_line_get_a_fifth_of_the_width_each() {
    let l = dash(
        json!([ALL]),
        json!([cpu(json!({"repeat": "host", "maxPerRow": 6}))]),
    );
    // Three values here; give the variable five options.
    let mut l = l;
    l.variables[0].options = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|v| vars::VarOption::new(v, v))
        .collect();
    repeat::expand_dashboard(&mut l.dashboard, &l.variables);
    let lay = layout(&l.dashboard, 100);
    let widths: Vec<(u16, u16)> = lay.items.iter().map(|(_, r)| (r.x, r.w)).collect();
    // Grafana: 24 / 5 = 4.8 columns each, equal; on 100 cells, 20 each.
    assert_eq!(
        widths,
        vec![(0, 20), (20, 20), (40, 20), (60, 20), (80, 20)]
    );
}

#[test]
fn stacked_copies_go_one_under_the_other() {
    let l = dash(
        json!(["a", "c"]),
        json!([
            cpu(json!({"repeat": "host", "repeatDirection": "v"})),
            below()
        ]),
    );
    assert_eq!(
        placed(&l),
        vec![
            ("CPU a".into(), 0, 0, 6),
            ("CPU c".into(), 0, 4, 6),
            ("Below".into(), 0, 8, 24),
        ]
    );
}

#[test]
fn a_panel_without_values_or_variable_is_drawn_once() {
    let l = dash(json!([]), json!([cpu(json!({"repeat": "nosuch"}))]));
    assert_eq!(placed(&l).len(), 1);
    assert!(l.dashboard.rows[0].panels[0].copy.is_none());
}

#[test]
fn a_repeated_row_repeats_with_its_panels_and_moves_the_rows_below() {
    let panels = json!([
        {"type": "row", "title": "Host $host", "repeat": "host", "collapsed": false,
         "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
        cpu(json!({"gridPos": {"x": 0, "y": 1, "w": 12, "h": 4}})),
        {"type": "stat", "title": "Mem", "gridPos": {"x": 12, "y": 1, "w": 12, "h": 4},
         "targets": [{"expr": "mem{host=\"$host\"}"}]},
        {"type": "row", "title": "Other", "gridPos": {"x": 0, "y": 5, "w": 24, "h": 1}},
        {"type": "stat", "title": "Last", "gridPos": {"x": 0, "y": 6, "w": 24, "h": 2},
         "targets": [{"expr": "y"}]},
    ]);
    let l = dash(json!(["a", "c"]), panels);
    let rows = &l.dashboard.rows;
    let titles: Vec<String> = rows
        .iter()
        .map(|r| title(r.title.as_deref().unwrap_or(""), &l.variables, &r.bound))
        .collect();
    assert_eq!(titles, vec!["Host a", "Host c", "Other"]);
    assert_eq!(
        rows.iter().map(|r| r.y).collect::<Vec<_>>(),
        vec![Some(0), Some(5), Some(10)]
    );
    assert_eq!(
        placed(&l),
        vec![
            ("CPU a".into(), 0, 1, 12),
            ("Mem".into(), 12, 1, 12),
            ("CPU c".into(), 0, 6, 12),
            ("Mem".into(), 12, 6, 12),
            ("Last".into(), 0, 11, 24),
        ]
    );
    // The layout keeps them in that order, headers between.
    let lay = layout(&l.dashboard, 120);
    let order: Vec<Item> = lay.items.iter().map(|(i, _)| *i).collect();
    assert_eq!(order[0], Item::Header { row: 0 });
    assert_eq!(order[3], Item::Header { row: 1 });
    assert_eq!(order[6], Item::Header { row: 2 });
    // A collapsed repeated row: one header per value.
    let collapsed = json!([
        {"type": "row", "title": "H $host", "repeat": "host", "collapsed": true,
         "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}, "panels": [cpu(json!({}))]},
    ]);
    let l = dash(json!([ALL]), collapsed);
    assert_eq!(l.dashboard.rows.len(), 3);
    assert_eq!(layout(&l.dashboard, 80).height, 3);
}

#[test]
fn each_copy_sends_its_queries_with_its_value_bound_and_its_own_key() {
    let panels = json!([
        cpu(json!({"repeat": "host"})),
        {"type": "stat", "title": "All hosts", "gridPos": {"x": 0, "y": 4, "w": 24, "h": 3},
         "targets": [{"expr": "up{host=~\"$host\"}"}]},
    ]);
    let mut d = DashView::new(Ok(dash(json!(["a", "b.x"]), panels)));
    let sent: Vec<((usize, usize, usize), String)> = d
        .requests(1_000_000.0)
        .into_iter()
        .filter_map(|c| match c {
            Cmd::DashQuery { key, expr, .. } => Some((key, expr)),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent,
        vec![
            // One value each, regex-escaped as Grafana escapes a multi variable's value.
            ((0, 0, 0), "up{host=~\"a\"}".to_string()),
            ((0, 1, 0), "up{host=~\"b\\\\.x\"}".to_string()),
            // Not repeated: the whole selection.
            ((0, 2, 0), "up{host=~\"(a|b\\\\.x)\"}".to_string()),
        ]
    );
}

#[test]
fn bound_values_win_in_titles_and_text() {
    let l = dash(json!(["a", "c"]), json!([]));
    assert_eq!(title("CPU $host", &l.variables, &[]), "CPU {a,c}");
    let b = vec![("host".to_string(), "c".to_string())];
    assert_eq!(title("CPU $host", &l.variables, &b), "CPU c");
    assert_eq!(title("CPU ${host:text}", &l.variables, &b), "CPU c");
    assert_eq!(bind(&l.variables, &b)[0].current, vec!["c"]);
    assert_eq!(title("no vars", &l.variables, &b), "no vars");
}

#[test]
fn changing_the_selection_expands_again_and_drops_the_old_answers() {
    let mut d = DashView::new(Ok(dash(
        json!(["a"]),
        json!([cpu(json!({"repeat": "host"}))]),
    )));
    let _ = d.requests(1_000_000.0);
    d.answers.insert(
        (0, 0, 0),
        crate::tui::app::grafana::Answer {
            expr: "up".into(),
            result: Err("x".into()),
        },
    );
    // Same selection: nothing changes, the answers stay.
    assert!(!d.expand_repeats());
    assert_eq!(d.answers.len(), 1);
    let round = d.round;
    if let Ok(l) = d.loaded.as_mut() {
        l.variables[0].select(&["a", "c"]);
    }
    assert!(d.expand_repeats());
    assert!(d.answers.is_empty());
    assert!(d.round > round, "answers on their way are dropped");
    assert_eq!(d.sent_at, 0.0, "a new round goes at the next tick");
    let l = d.loaded.as_ref().unwrap();
    assert_eq!(l.dashboard.rows[0].panels.len(), 2);
    // The template is kept: selecting one value again gives one panel.
    assert_eq!(l.dashboard.template[0].panels.len(), 1);
}

#[test]
fn a_real_dashboard_repeated_by_instance_draws_one_panel_per_instance() {
    // nodes.json (node-mixin) with its memory gauge repeated by `instance`, as a user would.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/grafana/nodes.json"),
    )
    .unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    let gauge = v["panels"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["type"] == "gauge")
        .expect("nodes.json has a gauge");
    gauge["repeat"] = json!("instance");
    let title = gauge["title"].as_str().unwrap().to_string();
    let mut l = parse(&v.to_string(), "nodes.json").unwrap();
    let before = l.dashboard.panels().count();
    let i = l
        .variables
        .iter()
        .position(|v| v.name == "instance")
        .unwrap();
    l.variables[i].options = vec![
        vars::VarOption::new("h1:9100", "h1:9100"),
        vars::VarOption::new("h2:9100", "h2:9100"),
    ];
    l.variables[i].multi = true;
    l.variables[i].select(&["h1:9100", "h2:9100"]);
    repeat::expand_dashboard(&mut l.dashboard, &l.variables);
    assert_eq!(l.dashboard.panels().count(), before + 1);
    let copies: Vec<_> = l
        .dashboard
        .panels()
        .filter(|p| p.title == title && p.type_name == "gauge")
        .map(|p| p.copy.clone().unwrap().bound)
        .collect();
    assert_eq!(
        copies,
        vec![
            vec![("instance".to_string(), "h1:9100".to_string())],
            vec![("instance".to_string(), "h2:9100".to_string())],
        ]
    );
    // Laid out without overlap.
    let lay = layout(&l.dashboard, 160);
    for (n, (_, a)) in lay.items.iter().enumerate() {
        for (_, b) in &lay.items[n + 1..] {
            assert!(!a.overlaps(b), "{a:?} {b:?}");
        }
    }
}

#[test]
fn a_panels_description_is_kept_in_every_copy() {
    let l = dash(
        json!(["a", "c"]),
        json!([cpu(
            json!({"repeat": "host", "description": "Busy share of $host"})
        )]),
    );
    let ps = &l.dashboard.rows[0].panels;
    assert_eq!(ps.len(), 2);
    assert!(ps.iter().all(|p| p.description == "Busy share of $host"));
    let shown = title(
        &ps[1].description,
        &l.variables,
        &scope(&l.dashboard.rows[0], &ps[1]),
    );
    assert_eq!(shown, "Busy share of c");
}
