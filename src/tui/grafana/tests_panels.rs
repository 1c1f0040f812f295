//! Tests of what table, heatmap and stat panels need: Grafana's value mapping rules (value,
//! range, regex, special; order; legacy forms), field options and display (mapped text
//! without unit, noValue), the Prometheus table frames, the transformations (merge, organize,
//! filterFieldsByName, groupBy, calculateField, sortBy, joinByField) on hand-made frames and
//! on the real "Disk Space Usage" panel of testdata/grafana/nodes.json, and the options read
//! from panels (legend modes and placement, legacy styles, sortBy, heatmap unit).

use std::collections::BTreeMap;

use serde_json::json;

use super::field_display::{display, field_options, DisplayOptions};
use super::mappings::{self, Cell, Match, Special};
use super::model::{Dashboard, Panel, PanelKind};
use super::options::{LegendMode, PanelOptions};
use super::table::{
    build, filter_fields, frame_of, group_by, instant_only, merge, organize, sort_rows, value_name,
    Field, Frame,
};
use crate::tui::data::{QueryData, SeriesData};

fn num(v: f64) -> Cell {
    Cell::Num(v)
}
fn txt(s: &str) -> Cell {
    Cell::Text(s.into())
}

fn frame(cols: &[(&str, Vec<Cell>)]) -> Frame {
    Frame {
        fields: cols
            .iter()
            .map(|(n, v)| Field {
                name: n.to_string(),
                values: v.clone(),
            })
            .collect(),
    }
}

fn col<'a>(f: &'a Frame, name: &str) -> &'a [Cell] {
    &f.field(name)
        .unwrap_or_else(|| panic!("no field {name} in {f:?}"))
        .values
}

fn names(f: &Frame) -> Vec<&str> {
    f.fields.iter().map(|f| f.name.as_str()).collect()
}

/// A panel of `v` (a panel's JSON) as the model reads it.
fn panel(v: serde_json::Value) -> Panel {
    let d = Dashboard::parse(&json!({ "panels": [v] }).to_string(), "t").unwrap();
    let p = d.panels().next().unwrap().clone();
    p
}

fn mapped(list: serde_json::Value, cell: &Cell) -> Option<(Option<String>, Option<String>)> {
    mappings::map(&mappings::parse_list(&list), cell).map(|m| (m.text, m.color))
}

#[test]
fn value_mappings_follow_grafanas_rules() {
    let list = json!([
        {"type": "value", "options": {"1": {"text": "Up", "color": "green", "index": 1},
                                      "0": {"text": "Down", "color": "red", "index": 0}}},
        {"type": "range", "options": {"from": 10, "to": 20,
                                      "result": {"text": "ten-ish", "index": 2}}},
        {"type": "range", "options": {"from": 100, "to": null,
                                      "result": {"text": "big", "index": 3}}},
        {"type": "regex", "options": {"pattern": "(.*)\\.example\\.com",
                                      "result": {"text": "$1", "index": 4}}},
        {"type": "special", "options": {"match": "null", "result": {"text": "N/A", "index": 5}}},
        {"type": "special", "options": {"match": "nan", "result": {"text": "not a number",
                                                                   "index": 6}}},
        {"type": "special", "options": {"match": "empty", "result": {"text": "(empty)",
                                                                     "index": 7}}}
    ]);
    let m = |c: Cell| mapped(list.clone(), &c).and_then(|m| m.0);
    // Value: numbers compare as numbers, texts as texts.
    assert_eq!(m(num(1.0)), Some("Up".into()));
    assert_eq!(
        mapped(list.clone(), &num(0.0)).unwrap().1,
        Some("red".into())
    );
    assert_eq!(m(txt("1")), Some("Up".into()));
    assert_eq!(m(num(2.0)), None);
    // Range: both ends inclusive; an open end.
    assert_eq!(m(num(10.0)), Some("ten-ish".into()));
    assert_eq!(m(num(20.0)), Some("ten-ish".into()));
    assert_eq!(m(num(20.5)), None);
    assert_eq!(m(num(1e9)), Some("big".into()));
    // Regex: the match replaced, groups by $n.
    assert_eq!(m(txt("www.example.com")), Some("www".into()));
    assert_eq!(m(txt("www.example.org")), None);
    // Special values.
    assert_eq!(m(Cell::Null), Some("N/A".into()));
    assert_eq!(m(num(f64::NAN)), Some("not a number".into()));
    assert_eq!(m(txt("")), Some("(empty)".into()));
}

#[test]
fn the_first_mapping_by_index_wins_and_legacy_forms_are_read() {
    // Two mappings match 5; the one with the lower index wins, whatever the list order.
    let list = json!([
        {"type": "range", "options": {"from": 0, "to": 10, "result": {"text": "low", "index": 1}}},
        {"type": "value", "options": {"5": {"text": "five", "index": 0}}}
    ]);
    assert_eq!(mapped(list, &num(5.0)).unwrap().0, Some("five".into()));
    // Legacy: type 1 value (null means the special null), type 2 range.
    let legacy = json!([
        {"type": 1, "value": "null", "text": "none"},
        {"type": 1, "value": "3", "text": "three"},
        {"type": 2, "from": "4", "to": "8", "text": "mid"}
    ]);
    let l = mappings::parse_list(&legacy);
    assert_eq!(l[0].matches, Match::Special(Special::Null));
    assert_eq!(
        mapped(legacy.clone(), &num(3.0)).unwrap().0,
        Some("three".into())
    );
    assert_eq!(
        mapped(legacy.clone(), &num(8.0)).unwrap().0,
        Some("mid".into())
    );
    assert_eq!(mapped(legacy, &Cell::Null).unwrap().0, Some("none".into()));
    // Singlestat's valueMaps.
    let p = panel(
        json!({"type": "singlestat", "valueMaps": [{"op": "=", "text": "OK",
        "value": "1"}]}),
    );
    assert_eq!(p.kind, PanelKind::Stat);
    assert_eq!(
        mappings::map(&p.opts.mappings, &num(1.0)).unwrap().text,
        Some("OK".into())
    );
    // A pattern that does not compile matches nothing (no panic).
    assert_eq!(
        mapped(
            json!([{"type": "regex", "options": {"pattern": "(", "result": {"text": "x"}}}]),
            &txt("(")
        ),
        None
    );
}

#[test]
fn display_writes_mapped_text_without_unit_and_novalue_for_nothing() {
    let p = panel(json!({"type": "stat", "fieldConfig": {"defaults": {
        "unit": "bytes", "decimals": 1, "noValue": "nothing here",
        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": null},
                                                     {"color": "red", "value": 1000}]},
        "mappings": [{"type": "value", "options": {"0": {"text": "empty disk",
                                                         "color": "blue"}}}]}}}));
    let o = field_options(&p, "Value");
    let d = |c: Cell| display(&o, &c, true);
    assert_eq!(d(num(0.0)).text, "empty disk");
    assert_eq!(d(num(0.0)).color.as_deref(), Some("blue"));
    assert!(d(num(0.0)).mapped);
    assert_eq!(d(num(2048.0)).text, "2.0 KiB");
    assert_eq!(d(num(2048.0)).color.as_deref(), Some("red"));
    assert_eq!(d(num(10.0)).color.as_deref(), Some("green"));
    assert_eq!(d(Cell::Null).text, "nothing here");
    assert_eq!(d(txt("abc")).text, "abc");
    // Without noValue, no value is empty.
    assert_eq!(
        display(&DisplayOptions::default(), &Cell::Null, true).text,
        ""
    );
}

fn series(labels: &[(&str, &str)], t: f64, v: f64) -> SeriesData {
    SeriesData {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        points: vec![(t, v)],
        histograms: Vec::new(),
    }
}

#[test]
fn an_instant_answer_is_a_frame_of_time_labels_and_value() {
    let data = QueryData::Vector(vec![
        series(&[("job", "node"), ("instance", "b")], 100.0, 2.0),
        series(&[("instance", "a"), ("mode", "idle")], 100.0, 1.0),
    ]);
    let f = frame_of(&data, &value_name("B", true));
    assert_eq!(names(&f), ["Time", "instance", "job", "mode", "Value #B"]);
    assert_eq!(col(&f, "Time"), [num(100_000.0), num(100_000.0)]);
    assert_eq!(col(&f, "job"), [txt("node"), Cell::Null]);
    assert_eq!(col(&f, "Value #B"), [num(2.0), num(1.0)]);
    assert_eq!(value_name("A", false), "Value");
    assert_eq!(frame_of(&QueryData::Scalar(5.0, 7.0), "Value").rows(), 1);
    assert_eq!(frame_of(&QueryData::Empty, "Value").rows(), 0);
}

#[test]
fn merge_joins_rows_whose_shared_fields_are_equal() {
    let a = frame(&[
        ("Time", vec![num(1.0), num(1.0)]),
        ("job", vec![txt("node"), txt("prom")]),
        ("Value #A", vec![num(10.0), num(20.0)]),
    ]);
    let b = frame(&[
        ("Time", vec![num(1.0), num(1.0)]),
        ("job", vec![txt("prom"), txt("api")]),
        ("Value #B", vec![num(3.0), num(4.0)]),
    ]);
    let m = merge(vec![a, b], None);
    assert_eq!(names(&m), ["Time", "job", "Value #A", "Value #B"]);
    assert_eq!(col(&m, "job"), [txt("node"), txt("prom"), txt("api")]);
    assert_eq!(col(&m, "Value #A"), [num(10.0), num(20.0), Cell::Null]);
    assert_eq!(col(&m, "Value #B"), [Cell::Null, num(3.0), num(4.0)]);
    // Join on one field only: rows meet on `job`, whatever the time.
    let c = frame(&[("Time", vec![num(2.0)]), ("job", vec![txt("node")])]);
    let d = frame(&[("job", vec![txt("node")]), ("x", vec![num(9.0)])]);
    let j = merge(vec![c, d], Some(&["job".to_string()]));
    assert_eq!(j.rows(), 1, "{j:?}");
    assert_eq!(col(&j, "x"), [num(9.0)]);
}

#[test]
fn organize_filter_and_sort_change_fields_and_rows() {
    let mut f = frame(&[
        ("Time", vec![num(1.0), num(1.0), num(1.0)]),
        ("instance", vec![txt("b"), txt("a"), txt("c")]),
        ("job", vec![txt("x"), txt("y"), txt("z")]),
        ("Value", vec![num(10.0), num(2.0), num(30.0)]),
    ]);
    organize(
        &mut f,
        &json!({"excludeByName": {"Time": true, "job": false},
                "indexByName": {"Value": 0, "instance": 1},
                "renameByName": {"instance": "Instance", "job": ""}}),
    );
    assert_eq!(names(&f), ["Value", "Instance", "job"]);
    sort_rows(&mut f, "Value", true);
    assert_eq!(col(&f, "Value"), [num(30.0), num(10.0), num(2.0)]);
    sort_rows(&mut f, "Instance", false);
    assert_eq!(col(&f, "Instance"), [txt("a"), txt("b"), txt("c")]);
    let mut g = f.clone();
    filter_fields(&mut g, &json!({"include": {"names": ["Value", "job"]}}));
    assert_eq!(names(&g), ["Value", "job"]);
    let mut h = f.clone();
    filter_fields(&mut h, &json!({"exclude": {"pattern": "^In"}}));
    assert_eq!(names(&h), ["Value", "job"]);
    // Numbers sort as numbers (2 < 10), not as text.
    let mut n = frame(&[("v", vec![num(10.0), num(2.0), Cell::Null])]);
    sort_rows(&mut n, "v", false);
    assert_eq!(col(&n, "v"), [num(2.0), num(10.0), Cell::Null]);
}

#[test]
fn group_by_reduces_each_group() {
    let f = frame(&[
        ("mountpoint", vec![txt("/"), txt("/home"), txt("/")]),
        ("Value #A", vec![num(1.0), num(5.0), num(3.0)]),
        ("other", vec![num(0.0), num(0.0), num(0.0)]),
    ]);
    let g = group_by(
        &f,
        &json!({"fields": {"mountpoint": {"operation": "groupby"},
                           "Value #A": {"operation": "aggregate",
                                        "aggregations": ["lastNotNull", "max", "mean"]}}}),
    );
    assert_eq!(
        names(&g),
        [
            "mountpoint",
            "Value #A (lastNotNull)",
            "Value #A (max)",
            "Value #A (mean)"
        ]
    );
    assert_eq!(col(&g, "mountpoint"), [txt("/"), txt("/home")]);
    assert_eq!(col(&g, "Value #A (lastNotNull)"), [num(3.0), num(5.0)]);
    assert_eq!(col(&g, "Value #A (mean)"), [num(2.0), num(5.0)]);
}

/// The real "Disk Space Usage" table of nodes.json over two mountpoints' answers.
#[test]
fn the_disk_space_table_of_the_node_mixin_is_transformed_as_in_grafana() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/grafana/nodes.json"
    ))
    .unwrap();
    let d = Dashboard::parse(&text, "nodes.json").unwrap();
    let p = d
        .panels()
        .find(|p| p.title == "Disk Space Usage")
        .expect("the panel")
        .clone();
    assert_eq!(p.kind, PanelKind::Table);
    assert!(p.targets.iter().all(|t| instant_only(&p, t)));
    let size = QueryData::Vector(vec![
        series(&[("mountpoint", "/home")], 50.0, 400.0),
        series(&[("mountpoint", "/")], 50.0, 1000.0),
    ]);
    let avail = QueryData::Vector(vec![
        series(&[("mountpoint", "/")], 50.0, 250.0),
        series(&[("mountpoint", "/home")], 50.0, 100.0),
    ]);
    let b = build(
        &p,
        vec![
            frame_of(&size, &value_name("A", true)),
            frame_of(&avail, &value_name("B", true)),
        ],
    );
    assert!(b.notes.is_empty(), "{:?}", b.notes);
    let f = &b.frame;
    assert_eq!(
        names(f),
        ["Mounted on", "Size", "Available", "Used", "Used, %"]
    );
    // sortBy "Mounted on": / before /home.
    assert_eq!(col(f, "Mounted on"), [txt("/"), txt("/home")]);
    assert_eq!(col(f, "Size"), [num(1000.0), num(400.0)]);
    assert_eq!(col(f, "Available"), [num(250.0), num(100.0)]);
    assert_eq!(col(f, "Used"), [num(750.0), num(300.0)]);
    assert_eq!(col(f, "Used, %"), [num(0.75), num(0.75)]);
}

#[test]
fn an_unknown_transformation_is_named_and_the_rest_applied() {
    let p = panel(json!({"type": "table", "transformations": [
        {"id": "prepareTimeSeries", "options": {}},
        {"id": "organize", "options": {"renameByName": {"Value": "Load"}}},
        {"id": "calculateField", "options": {"mode": "window"}},
        {"id": "filterFieldsByName", "disabled": true, "options": {"include": {"names": []}}}
    ], "options": {"sortBy": [{"displayName": "Load", "desc": true}]}}));
    let f = frame(&[
        ("instance", vec![txt("a"), txt("b")]),
        ("Value", vec![num(1.0), num(2.0)]),
    ]);
    let b = build(&p, vec![f]);
    assert_eq!(b.notes.len(), 2, "{:?}", b.notes);
    assert!(b.notes[0].contains("prepareTimeSeries"), "{:?}", b.notes);
    assert!(b.notes[1].contains("window"), "{:?}", b.notes);
    assert_eq!(names(&b.frame), ["instance", "Load"]);
    assert_eq!(col(&b.frame, "Load"), [num(2.0), num(1.0)], "sortBy desc");
    // No frames at all: an empty table, no panic.
    assert_eq!(build(&p, Vec::new()).frame.rows(), 0);
}

#[test]
fn calculate_field_reduce_row_and_binary_with_a_number() {
    let p = panel(json!({"type": "table", "transformations": [
        {"id": "calculateField", "options": {"mode": "reduceRow",
            "reduce": {"reducer": "sum", "include": ["a", "b"]}}},
        {"id": "calculateField", "options": {"mode": "binary", "alias": "half",
            "binary": {"left": "Total", "operator": "/", "right": "2"}}},
        {"id": "calculateField", "options": {"mode": "binary", "replaceFields": true,
            "binary": {"left": {"matcher": {"id": "byName", "options": "a"}},
                       "operator": "*", "right": {"fixed": "10"}}}}
    ]}));
    let f = frame(&[
        ("a", vec![num(1.0), num(2.0)]),
        ("b", vec![num(3.0), Cell::Null]),
        ("c", vec![num(100.0), num(100.0)]),
    ]);
    let b = build(&p, vec![f.clone()]);
    assert!(b.notes.is_empty(), "{:?}", b.notes);
    assert_eq!(names(&b.frame), ["a * 10"]);
    assert_eq!(col(&b.frame, "a * 10"), [num(10.0), num(20.0)]);
    let first_two = panel(json!({"type": "table",
        "transformations": [p.opts.transformations[0].clone(),
                            p.opts.transformations[1].clone()]}));
    let b = build(&first_two, vec![f]);
    assert_eq!(col(&b.frame, "Total"), [num(4.0), num(2.0)]);
    assert_eq!(col(&b.frame, "half"), [num(2.0), num(1.0)]);
}

#[test]
fn legacy_table_styles_hide_rename_and_format_fields() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/grafana/prometheus.json"
    ))
    .unwrap();
    let d = Dashboard::parse(&text, "prometheus.json").unwrap();
    let p = d.panels().find(|p| p.title == "Prometheus Stats").unwrap();
    assert!(field_options(p, "Time").hidden);
    assert!(field_options(p, "Value #A").hidden);
    let up = field_options(p, "Value #B");
    assert_eq!(up.display_name.as_deref(), Some("Uptime"));
    assert_eq!(up.decimals, Some(2));
    assert_eq!(
        field_options(p, "instance").display_name.as_deref(),
        Some("Instance")
    );
    // The catch-all `/.*/` style has no alias.
    assert_eq!(field_options(p, "other").display_name, None);
    assert!(!field_options(p, "other").hidden);
}

#[test]
fn legend_and_heatmap_options_are_read() {
    let o = |v: serde_json::Value| PanelOptions::parse(&v);
    let l = o(
        json!({"options": {"legend": {"displayMode": "table", "placement": "right",
        "calcs": ["max"]}}}),
    )
    .legend;
    assert_eq!((l.mode, l.right), (LegendMode::Table, true));
    let l = o(json!({"options": {"legend": {"showLegend": false, "displayMode": "list"}}})).legend;
    assert_eq!(l.mode, LegendMode::Hidden);
    let l = o(json!({"options": {"legend": {"displayMode": "hidden"}}})).legend;
    assert_eq!(l.mode, LegendMode::Hidden);
    let l = o(json!({"legend": {"show": true, "alignAsTable": true, "rightSide": true}})).legend;
    assert_eq!((l.mode, l.right), (LegendMode::Table, true));
    let l = o(json!({"legend": {"show": false}})).legend;
    assert_eq!(l.mode, LegendMode::Hidden);
    assert_eq!(o(json!({})).legend.mode, LegendMode::List);
    let h = o(json!({"yAxis": {"format": "s", "decimals": 1}}));
    assert_eq!(
        (h.heat_unit.as_deref(), h.heat_decimals),
        (Some("s"), Some(1))
    );
    let h = o(json!({"options": {"yAxis": {"unit": "bytes"}}}));
    assert_eq!(h.heat_unit.as_deref(), Some("bytes"));
    let s = o(json!({"options": {"sortBy": [{"displayName": "Value", "desc": true}]}}));
    assert_eq!(s.sort_by, vec![("Value".to_string(), true)]);
}

#[test]
fn only_table_panels_send_table_and_instant_queries_as_instant() {
    let t = panel(json!({"type": "table", "targets": [
        {"expr": "up", "format": "table"}, {"expr": "up", "instant": true},
        {"expr": "up"}]}));
    let got: Vec<bool> = t.targets.iter().map(|x| instant_only(&t, x)).collect();
    assert_eq!(got, [true, true, false]);
    let g = panel(json!({"type": "timeseries", "targets": [{"expr": "up", "format": "table"}]}));
    assert!(!instant_only(&g, &g.targets[0]));
}
