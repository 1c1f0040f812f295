//! Tests of field options (`fields`): each matcher, precedence (later overrides win,
//! overrides over defaults), the properties read, `displayName` templating, the legacy
//! graph's `seriesOverrides`, and the overrides of the real dashboards in testdata.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::tui::grafana::fields::{
    display_name, field_config, field_config_typed, js_regex, DrawStyle, FieldType,
};
use crate::tui::grafana::model::{Panel, Stack};
use crate::tui::grafana::parse;

fn panel(p: Value) -> Panel {
    let d = json!({"panels": [p]});
    let l = parse(&d.to_string(), "d.json").unwrap();
    l.dashboard.rows[0].panels[0].clone()
}

fn timeseries(defaults: Value, overrides: Value) -> Panel {
    panel(json!({"type": "timeseries", "title": "t",
        "fieldConfig": {"defaults": defaults, "overrides": overrides},
        "targets": [{"refId": "A", "expr": "a"}, {"refId": "B", "expr": "b"}]}))
}

fn ov(id: &str, options: Value, props: Value) -> Value {
    json!({"matcher": {"id": id, "options": options}, "properties": props})
}

#[test]
fn later_overrides_win_and_overrides_win_over_defaults() {
    let p = timeseries(
        json!({"unit": "bytes", "decimals": 1, "min": 0}),
        json!([
            ov(
                "byName",
                json!("rx"),
                json!([{"id": "unit", "value": "Bps"},
                {"id": "decimals", "value": 3}])
            ),
            ov(
                "byRegexp",
                json!("r.*"),
                json!([{"id": "unit", "value": "percent"}])
            ),
        ]),
    );
    let rx = field_config(&p, "rx", "A");
    assert_eq!(rx.unit.as_deref(), Some("percent"), "the later override");
    assert_eq!(
        rx.decimals,
        Some(3),
        "the earlier override over the default"
    );
    assert_eq!(rx.min, Some(0.0), "the default where no override sets it");
    let tx = field_config(&p, "tx", "A");
    assert_eq!((tx.unit.as_deref(), tx.decimals), (Some("bytes"), Some(1)));
}

#[test]
fn each_matcher_takes_its_fields() {
    let p = timeseries(
        json!({}),
        json!([
            ov(
                "byFrameRefID",
                json!("B"),
                json!([{"id": "min", "value": 5}])
            ),
            ov("byType", json!("time"), json!([{"id": "max", "value": 1}])),
            ov(
                "byType",
                json!("number"),
                json!([{"id": "decimals", "value": 2}])
            ),
            ov(
                "byNames",
                json!({"mode": "exclude", "names": ["keep"]}),
                json!([{"id": "custom.hideFrom",
                    "value": {"legend": true, "tooltip": true, "viz": true}}])
            ),
            ov(
                "byValue",
                json!({"reducer": "max", "op": "gte", "value": 0}),
                json!([{"id": "unit", "value": "s"}])
            ),
        ]),
    );
    let b = field_config(&p, "keep", "B");
    assert_eq!(b.min, Some(5.0));
    assert_eq!(b.decimals, Some(2));
    assert_eq!(b.max, None, "not a time field");
    assert!(!b.hide_viz, "listed by the exclude matcher");
    assert_eq!(b.unit, None, "byValue is not matched");
    let a = field_config(&p, "other", "A");
    assert_eq!(a.min, None);
    assert!(a.hide_viz && a.hide_legend && a.hide_tooltip);
    let time = field_config_typed(&p, "Time", "A", FieldType::Time);
    assert_eq!((time.max, time.decimals), (Some(1.0), None));
}

#[test]
fn regexes_are_read_as_grafana_reads_them() {
    // `/…/` is searched anywhere; a bare pattern must match the whole name.
    assert!(js_regex("/Transmit/").unwrap().is_match("eth0 Transmit"));
    assert!(js_regex("/transmit/i").unwrap().is_match("eth0 Transmit"));
    assert!(!js_regex("Transmit").unwrap().is_match("eth0 Transmit"));
    assert!(js_regex("eth.*").unwrap().is_match("eth0 Transmit"));
    assert!(
        js_regex("/(unclosed/").is_none(),
        "a bad pattern matches nothing"
    );
    let p = timeseries(
        json!({}),
        json!([ov(
            "byRegexp",
            json!("/(bad/"),
            json!([{"id": "unit", "value": "s"}])
        )]),
    );
    assert_eq!(field_config(&p, "(bad", "A").unit, None);
}

#[test]
fn properties_are_read() {
    let p = timeseries(
        json!({"custom": {"drawStyle": "line", "stacking": {"mode": "normal", "group": "G"}},
               "color": {"mode": "palette-classic"}}),
        json!([ov(
            "byName",
            json!("s"),
            json!([
                {"id": "color", "value": {"mode": "fixed", "fixedColor": "red"}},
                {"id": "custom.transform", "value": "negative-Y"},
                {"id": "custom.drawStyle", "value": "bars"},
                {"id": "custom.stacking", "value": {"mode": "percent", "group": "H"}},
                {"id": "thresholds", "value": {"mode": "absolute",
                    "steps": [{"color": "green", "value": null}, {"color": "red", "value": 80}]}},
                {"id": "max", "value": 100},
                {"id": "custom.lineWidth", "value": 3},
            ])
        )]),
    );
    let d = field_config(&p, "other", "A");
    assert_eq!((d.stack, d.stack_group.as_str()), (Stack::Normal, "G"));
    assert_eq!(d.color(), None, "palette colours are the theme's");
    assert_eq!(d.draw_style, DrawStyle::Line);
    let s = field_config(&p, "s", "A");
    assert_eq!(s.color(), Some("red"));
    assert!(s.negative_y);
    assert_eq!(s.draw_style, DrawStyle::Bars);
    assert_eq!((s.stack, s.stack_group.as_str()), (Stack::Percent, "H"));
    assert_eq!(
        s.thresholds.as_ref().unwrap().color_for(90.0, 0.0, 100.0),
        Some("red")
    );
    assert_eq!(s.max, Some(100.0));
    assert_eq!(s.get("custom.lineWidth"), Some(&json!(3)));
}

#[test]
fn display_names_expand_field_labels_and_variables() {
    let p = timeseries(
        json!({"displayName": "${__field.labels.device} on ${__field.labels.instance}"}),
        json!([ov(
            "byName",
            json!("x"),
            json!([{"id": "displayName", "value": "X $job"}])
        )]),
    );
    let labels: BTreeMap<String, String> = [("device", "sda"), ("instance", "h:9100")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let d = json!({"panels": [],
        "templating": {"list": [{"name": "job", "type": "custom", "query": "node",
            "current": {"value": "node"}}]}});
    let vars = parse(&d.to_string(), "d").unwrap().variables;
    let o = field_config(&p, "io", "A");
    assert_eq!(display_name(&o, "io", &labels, &vars, &[]), "sda on h:9100");
    let o = field_config(&p, "x", "A");
    assert_eq!(display_name(&o, "x", &labels, &vars, &[]), "X node");
    let none = timeseries(json!({}), json!([]));
    let o = field_config(&none, "plain", "A");
    assert_eq!(display_name(&o, "plain", &labels, &vars, &[]), "plain");
    let all = timeseries(
        json!({"displayName": "${__field.labels} ${__series.name}"}),
        json!([]),
    );
    let o = field_config(&all, "n", "A");
    assert_eq!(
        display_name(&o, "n", &labels, &vars, &[]),
        "{device=\"sda\", instance=\"h:9100\"} n"
    );
}

#[test]
fn legacy_series_overrides_become_overrides() {
    let p = panel(json!({"type": "graph", "title": "g", "bars": false,
        "seriesOverrides": [
            {"alias": "/Transmit/", "transform": "negative-Y", "stack": false},
            {"alias": "Usage %", "bars": true, "color": "#6d1f62", "legend": false},
        ],
        "targets": [{"expr": "a"}]}));
    let t = field_config(&p, "eth0 Transmit", "A");
    assert!(t.negative_y);
    assert_eq!(t.stack, Stack::None);
    let u = field_config(&p, "Usage %", "A");
    assert_eq!(u.draw_style, DrawStyle::Bars);
    assert_eq!(u.color(), Some("#6d1f62"));
    assert!(u.hide_legend && !u.hide_viz);
    assert!(!field_config(&p, "Usage", "A").hide_legend);
}

fn real(name: &str) -> crate::tui::grafana::Loaded {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/grafana")
        .join(name);
    crate::tui::grafana::load(&path).unwrap()
}

#[test]
fn the_real_dashboards_overrides_apply_to_their_series() {
    // node-rsrc-use: "Network Utilisation": Transmit below zero, Receive above, both stacked.
    let l = real("node-rsrc-use.json");
    let net = l
        .dashboard
        .panels()
        .find(|p| p.title.starts_with("Network Utilisation"))
        .unwrap();
    let tx = field_config(net, "Transmit", "B");
    let rx = field_config(net, "Receive", "A");
    assert!(tx.negative_y && !rx.negative_y);
    assert_eq!((tx.stack, rx.stack), (Stack::Normal, Stack::Normal));
    assert_eq!(tx.unit.as_deref(), Some("Bps"));
    // nodes.json: "Disk I/O": read/written in bytes per second, io time in its own unit.
    let l = real("nodes.json");
    let disk = l
        .dashboard
        .panels()
        .find(|p| {
            p.field_config["overrides"]
                .to_string()
                .contains(" read| written")
        })
        .unwrap();
    assert_eq!(
        field_config(disk, "sda read", "A").unit.as_deref(),
        Some("Bps")
    );
    let io = field_config(disk, "sda io time", "C");
    assert_eq!(io.unit.as_deref(), Some("percentunit"));
    assert_eq!(field_config(disk, "sda other", "A").unit, disk.unit);
}
