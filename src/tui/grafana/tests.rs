//! Tests of the Grafana dashboard model: the real dashboards in testdata/grafana (every panel
//! read, laid out without overlap, every query expanded), Grafana's expansion rules pinned by
//! hand, and bad input.

use std::collections::BTreeMap;

use serde_json::json;

use super::interpolate::{
    format_interval, go_duration, parse_interval, regular_escape, round_interval_browser,
    seconds_to_hms, special_regex_escape, steps, Context, Interpolator,
};
use super::layout::{layout, Item, Rect};
use super::model::{DatasourceRef, PanelKind, Stack};
use super::vars::{custom_options, filter_and_sort, VarOption, VarRequest, Variable, ALL};
use super::*;

fn testdata(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/grafana")
        .join(name)
}

fn var(v: serde_json::Value) -> Variable {
    Variable::parse(&v)
}

fn ctx() -> Context {
    Context {
        range_ms: 3600 * 1000,
        max_data_points: 1000,
        scrape_interval: String::new(),
        dashboard_title: "Node / Overview".into(),
        dashboard_uid: "abc".into(),
    }
}

/// A multi-valued `instance`, a single `job` with include-All and a custom all value, a plain
/// `device` and a multi `mode` with All and no all value.
fn sample_vars() -> Vec<Variable> {
    let mut instance = var(json!({"name": "instance", "type": "query", "multi": true,
        "query": "label_values(up, instance)"}));
    instance.options = vec![
        VarOption::new("a.example:9100", "a.example:9100"),
        VarOption::new("b.example:9100", "b.example:9100"),
    ];
    instance.select(&["a.example:9100", "b.example:9100"]);
    let mut job = var(json!({"name": "job", "type": "query", "includeAll": true,
        "allValue": ".+", "query": "label_values(job)"}));
    job.options = vec![VarOption::new("node", "node")];
    job.select(&[ALL]);
    let device = var(
        json!({"name": "device", "type": "custom", "query": "eth0,it's",
        "current": {"value": "it's"}}),
    );
    let mut mode = var(json!({"name": "mode", "type": "custom", "multi": true,
        "includeAll": true, "query": "user,system,io.wait", "current": {"value": ["$__all"]}}));
    mode.validate();
    vec![instance, job, device, mode]
}

#[test]
fn multi_values_become_escaped_alternatives_and_all_follows_all_value() {
    let vars = sample_vars();
    let c = ctx();
    let i = Interpolator {
        vars: &vars,
        ctx: &c,
    };
    // Multi: each value regex-escaped for a PromQL string, several in parentheses.
    assert_eq!(
        i.query("up{instance=~\"$instance\"}"),
        "up{instance=~\"(a\\\\.example:9100|b\\\\.example:9100)\"}"
    );
    // All with allValue: the value as written, not escaped.
    assert_eq!(i.query("up{job=~\"$job\"}"), "up{job=~\".+\"}");
    // All without allValue: every option, escaped, in parentheses.
    assert_eq!(
        i.query("x{mode=~\"${mode}\"}"),
        "x{mode=~\"(user|system|io\\\\.wait)\"}"
    );
    // Neither multi nor All: backslashes and single quotes escaped only.
    assert_eq!(
        i.query("x{device=\"[[device]]\"}"),
        "x{device=\"it\\\\'s\"}"
    );
    // Named formats replace the datasource's rule.
    assert_eq!(i.query("${instance:csv}"), "a.example:9100,b.example:9100");
    assert_eq!(i.query("${instance:pipe}"), "a.example:9100|b.example:9100");
    assert_eq!(
        i.query("${instance:regex}"),
        "(a\\.example:9100|b\\.example:9100)"
    );
    assert_eq!(i.query("${instance:raw}"), "a.example:9100,b.example:9100");
    assert_eq!(i.query("${instance}"), i.query("$instance"));
    assert_eq!(
        i.query("${instance:glob}"),
        "{a.example:9100,b.example:9100}"
    );
    assert_eq!(
        i.query("${instance:unknownfmt}"),
        "{a.example:9100,b.example:9100}"
    );
    assert_eq!(i.query("${mode:text}"), "All");
    assert_eq!(i.query("${job:text}"), "All");
    assert_eq!(
        i.query("${instance:json}"),
        "[\"a.example:9100\",\"b.example:9100\"]"
    );
    // Unknown names, and the server's built-ins, stay as written.
    assert_eq!(
        i.query("$nope ${nope:csv} $__rate_interval"),
        "$nope ${nope:csv} $__rate_interval"
    );
    // `$jobx` is variable `jobx`, not `job` followed by x.
    assert_eq!(i.query("$jobx"), "$jobx");
    assert_eq!(
        i.query("$__dashboard ${__dashboard.uid}"),
        "Node / Overview abc"
    );
    // Text pass: glob format.
    assert_eq!(
        i.text("CPU $instance"),
        "CPU {a.example:9100,b.example:9100}"
    );
    assert_eq!(regular_escape("a\\b'c"), "a\\\\b\\\\'c");
    assert_eq!(
        special_regex_escape("a\\b(c)|$"),
        "a\\\\\\\\b\\\\(c\\\\)\\\\|\\\\$"
    );
}

#[test]
fn rate_interval_and_interval_follow_grafana_server() {
    let c = ctx(); // 1h over 1000 points: 3.6s → 2s by the browser, below 15s.
    let s = steps(&c, None, "", 1);
    assert_eq!((s.interval_ms, s.step_ms), (15_000, 15_000));
    // max(15s + 15s, 4 × 15s) = 60s, written as Go writes durations.
    assert_eq!(s.rate_interval_ms, 60_000);
    let vars: Vec<Variable> = Vec::new();
    let i = Interpolator {
        vars: &vars,
        ctx: &c,
    };
    let (q, _) = i.sent(
        "rate(x[$__rate_interval]) / $__interval_ms [$__interval] $__range $__range_s $__range_ms",
        None,
        "",
        1,
    );
    assert_eq!(q, "rate(x[1m0s]) / 15000 [15s] 3600s 3600 3600000");
    // 24h over 500 points: 172.8s → 2m; rate interval max(2m + 15s, 1m) = 2m15s.
    let wide = Context {
        range_ms: 86_400_000,
        max_data_points: 500,
        ..ctx()
    };
    let s = steps(&wide, None, "", 1);
    assert_eq!(
        (s.interval_ms, s.step_ms, s.rate_interval_ms),
        (120_000, 120_000, 135_000)
    );
    assert_eq!(go_duration(s.rate_interval_ms), "2m15s");
    // A query min step of 1m: the step and the scrape interval the rate interval uses.
    let s = steps(&c, None, "1m", 1);
    assert_eq!((s.step_ms, s.rate_interval_ms), (60_000, 240_000));
    // Interval factor multiplies the step only.
    let s = steps(&c, None, "", 2);
    assert_eq!((s.step_ms, s.rate_interval_ms), (30_000, 60_000));
    // A min step of $__rate_interval: the step is the rate interval.
    let s = steps(&c, None, "$__rate_interval", 1);
    assert_eq!((s.step_ms, s.rate_interval_ms), (60_000, 60_000));
    // The datasource's scrape interval of 30s, and a panel min interval of 1m.
    let thirty = Context {
        scrape_interval: "30s".into(),
        ..ctx()
    };
    let s = steps(&thirty, None, "", 1);
    assert_eq!((s.step_ms, s.rate_interval_ms), (30_000, 120_000));
    let s = steps(&c, Some("1m"), "", 1);
    assert_eq!(
        (s.interval_ms, s.step_ms, s.rate_interval_ms),
        (60_000, 60_000, 75_000)
    );
    assert_eq!(go_duration(3_600_000), "1h0m0s");
    assert_eq!(go_duration(1_500), "1.5s");
    assert_eq!(go_duration(45_000), "45s");
    assert_eq!(go_duration(500), "500ms");
    assert_eq!(format_interval(90_000), "1m");
    assert_eq!(format_interval(500), "500ms");
    assert_eq!(seconds_to_hms(120_000), "2m");
    assert_eq!(parse_interval(">10s"), Some(10_000));
    assert_eq!(parse_interval("1m30s"), Some(90_000));
    assert_eq!(parse_interval("30"), Some(30_000));
    assert_eq!(parse_interval("soon"), None);
    assert_eq!(
        super::interpolate::relative_range("now-6h", "now"),
        Some((21_600_000, 0))
    );
    assert_eq!(
        super::interpolate::relative_range("now-2d", "now-1d"),
        Some((172_800_000, 86_400_000))
    );
    assert_eq!(super::interpolate::relative_range("now/d", "now"), None);
    assert_eq!(super::interpolate::relative_range("now", "now-1h"), None);
    // The browser's bounds are exclusive: exactly 1.5s rounds to 2s.
    assert_eq!(round_interval_browser(1500.0), 2000);
    assert_eq!(super::interpolate::round_interval_server(1500.0), 1000);
}

#[test]
fn query_variables_are_requests_and_answers_become_options() {
    let v = var(json!({"name": "instance", "type": "query",
        "query": {"query": "label_values(node_uname_info{job=\"node\"}, instance)", "refId": "x"}}));
    assert_eq!(
        v.request(
            "label_values(node_uname_info{job=\"node\"}, instance)",
            10.5,
            20.5
        ),
        Some(VarRequest::LabelValues {
            label: "instance".into(),
            matches: vec!["node_uname_info{job=\"node\"}".into()],
            start: 10.0,
            end: 21.0
        })
    );
    assert_eq!(
        v.request("label_values(job)", 0.0, 1.0),
        Some(VarRequest::LabelValues {
            label: "job".into(),
            matches: vec![],
            start: 0.0,
            end: 1.0
        })
    );
    assert_eq!(
        v.request("label_values({}, job)", 0.0, 1.0),
        Some(VarRequest::LabelValues {
            label: "job".into(),
            matches: vec![],
            start: 0.0,
            end: 1.0
        })
    );
    assert_eq!(
        v.request("query_result(topk(3, up))", 0.0, 9.0),
        Some(VarRequest::Query {
            expr: "topk(3, up)".into(),
            time: 9.0
        })
    );
    assert_eq!(
        v.request("up{job=\"x\"}", 0.0, 9.0),
        Some(VarRequest::Series {
            matches: vec!["up{job=\"x\"}".into()],
            start: 0.0,
            end: 9.0
        })
    );
    assert_eq!(v.request("label_values()", 0.0, 1.0), None);

    // metrics(regex): names filtered by the (unanchored) regex.
    let mut m = var(json!({"name": "m", "type": "query", "query": "metrics(node_.*_bytes)"}));
    m.options_from(
        "metrics(node_.*_bytes)",
        &json!(["node_a_bytes", "up", "xnode_b_bytes_total"]),
    )
    .unwrap();
    assert_eq!(
        m.options
            .iter()
            .map(|o| o.value.as_str())
            .collect::<Vec<_>>(),
        ["node_a_bytes", "xnode_b_bytes_total"]
    );
    // The variable's regex keeps the first capture group; sort 3 is numerical.
    let mut h = var(
        json!({"name": "h", "type": "query", "query": "label_values(instance)",
        "regex": "/([^:]+):.*/", "sort": 3, "current": {"value": "gone"}}),
    );
    h.options_from(
        "label_values(instance)",
        &json!(["n10:9100", "n9:9100", "n10:9200", "x"]),
    )
    .unwrap();
    assert_eq!(
        h.options
            .iter()
            .map(|o| o.value.as_str())
            .collect::<Vec<_>>(),
        ["n9", "n10"]
    );
    assert_eq!(
        h.current,
        ["n9"],
        "a value no longer offered gives the first"
    );
    // query_result: `name{labels} value ms`.
    let mut q = var(json!({"name": "q", "type": "query", "query": "query_result(up)"}));
    q.options_from(
        "query_result(up)",
        &json!({"resultType": "vector", "result": [
            {"metric": {"__name__": "up", "job": "a", "instance": "i"}, "value": [1700000000.5, "1"]}]}),
    )
    .unwrap();
    assert_eq!(
        q.options[0].value,
        "up{instance=\"i\",job=\"a\"} 1 1700000000500"
    );
    assert!(q
        .options_from(
            "query_result(up)",
            &json!({"resultType": "matrix", "result": []})
        )
        .unwrap_err()
        .contains("matrix"));
    // Named groups give text and value.
    let o = filter_and_sort(
        vec![VarOption::new("a=1", "a=1")],
        "/(?<text>[a-z])=(?<value>\\d)/",
        0,
    )
    .unwrap();
    assert_eq!(o, [VarOption::new("a", "1")]);
    assert!(filter_and_sort(vec![], "/(unclosed/", 0).is_err());
    // A multi variable keeps its values still offered; All stays All.
    let mut all = var(
        json!({"name": "a", "type": "query", "multi": true, "includeAll": true,
        "current": {"text": ["All"], "value": ["$__all"]}, "query": "label_values(x)"}),
    );
    all.options_from("label_values(x)", &json!(["p", "q"]))
        .unwrap();
    assert!(all.is_all());
}

#[test]
fn other_variable_kinds() {
    assert_eq!(
        custom_options("a,b\\,c, k : v"),
        [
            VarOption::new("a", "a"),
            VarOption::new("b,c", "b,c"),
            VarOption::new("k", "v")
        ]
    );
    let c = var(
        json!({"name": "c", "type": "custom", "query": "x : 1,y : 2",
        "current": {"text": "y", "value": "2"}}),
    );
    assert_eq!(c.current, ["2"]);
    let k = var(json!({"name": "k", "type": "constant", "query": "node"}));
    assert_eq!(k.current, ["node"]);
    let t = var(json!({"name": "t", "type": "textbox", "query": "dflt"}));
    assert_eq!(t.current, ["dflt"]);
    let iv = var(
        json!({"name": "iv", "type": "interval", "auto": true, "auto_count": 30,
        "auto_min": "10s", "query": "1m,5m", "current": {"value": "$__auto_interval_iv"}}),
    );
    assert_eq!(iv.options[0], VarOption::new("auto", "$__auto_interval_iv"));
    assert_eq!(
        iv.current,
        ["$__auto_interval_iv"],
        "the auto option is kept"
    );
    let vars = vec![iv, k, t];
    let cx = ctx();
    let i = Interpolator {
        vars: &vars,
        ctx: &cx,
    };
    // 1h / 30 = 120s → 2m.
    assert_eq!(i.query("rate(x[$iv]) $k $t"), "rate(x[2m]) node dflt");
    let a = var(json!({"name": "f", "type": "adhoc"}));
    assert_eq!(a.note.as_deref(), Some("ad hoc filters are not applied"));
    let u = var(json!({"name": "u", "type": "shiny"}));
    assert!(u
        .note
        .as_deref()
        .unwrap_or("")
        .contains("unknown variable type \"shiny\""));
    let d = var(json!({"name": "ds", "type": "datasource", "query": "influxdb"}));
    assert!(d.note.as_deref().unwrap_or("").contains("only Prometheus"));
}

#[test]
fn panels_rows_and_bad_input() {
    let text = json!({
        "title": "T", "schemaVersion": 39, "refresh": "30s", "time": {"from": "now-1h", "to": "now"},
        "__inputs": [{"name": "DS_LOKI", "type": "datasource", "pluginId": "loki"}],
        "panels": [
            {"type": "stat", "title": "Up", "gridPos": {"x": 0, "y": 0, "w": 6, "h": 4},
             "datasource": {"type": "prometheus", "uid": "p"},
             "fieldConfig": {"defaults": {"unit": "percentunit", "decimals": 1,
                "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": null},
                                                              {"color": "red", "value": 80}]}}},
             "options": {"reduceOptions": {"calcs": ["lastNotNull"]}},
             "targets": [{"expr": "up", "refId": "A", "instant": true}]},
            {"type": "piechart", "title": "Pie", "gridPos": {"x": 6, "y": 0, "w": 6, "h": 4}},
            {"type": "timeseries", "title": "Logs", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 4},
             "datasource": "${DS_LOKI}", "targets": [{"expr": "{app=\"x\"}"}]},
            {"type": "row", "title": "Closed", "collapsed": true, "gridPos": {"x": 0, "y": 4, "w": 24, "h": 1},
             "panels": [{"type": "timeseries", "title": "Hidden", "gridPos": {"x": 0, "y": 5, "w": 24, "h": 8},
                "fieldConfig": {"defaults": {"custom": {"stacking": {"mode": "percent"}}}}}]},
            {"type": "row", "title": "Open", "collapsed": false, "gridPos": {"x": 0, "y": 5, "w": 24, "h": 1}},
            {"type": "timeseries", "title": "Mixed", "gridPos": {"x": 0, "y": 14, "w": 24, "h": 8},
             "datasource": {"type": "datasource", "uid": "-- Mixed --"},
             "targets": [{"expr": "up", "datasource": {"type": "prometheus", "uid": "p"}},
                         {"expr": "{job=\"x\"}", "datasource": {"type": "loki", "uid": "l"}}]},
            {"type": "graph", "title": "Legacy", "stack": true, "gridPos": {"x": 0, "y": 6, "w": 24, "h": 8},
             "yaxes": [{"format": "bytes"}], "legend": {"max": true, "current": true},
             "targets": [{"expr": "a", "hide": true}, {"expr": "b", "datasource": {"type": "prometheus"}}]}
        ]
    })
    .to_string();
    let l = parse(&text, "t.json").unwrap();
    let d = &l.dashboard;
    assert_eq!(
        (d.refresh.as_deref(), d.time_from.as_str()),
        (Some("30s"), "now-1h")
    );
    let titles: Vec<&str> = d.panels().map(|p| p.title.as_str()).collect();
    assert_eq!(titles, ["Up", "Pie", "Logs", "Hidden", "Mixed", "Legacy"]);
    // A mixed panel sends its Prometheus queries only.
    let mixed = d.panels().nth(4).unwrap();
    assert!(mixed.drawn());
    assert_eq!(
        mixed.queries().map(|t| t.expr.as_str()).collect::<Vec<_>>(),
        ["up"]
    );
    assert_eq!(
        mixed.targets[1].skipped.as_deref(),
        Some("datasource loki l (loki) is not Prometheus")
    );
    let up = d.panels().next().unwrap();
    assert_eq!(up.kind, PanelKind::Stat);
    assert_eq!(
        (up.unit.as_deref(), up.decimals),
        (Some("percentunit"), Some(1))
    );
    let th = up.thresholds.as_ref().unwrap();
    assert_eq!(
        (
            th.color_for(50.0, 0.0, 100.0),
            th.color_for(90.0, 0.0, 100.0)
        ),
        (Some("green"), Some("red"))
    );
    assert_eq!(up.calcs, ["lastNotNull"]);
    assert!(up.targets[0].runs_instant() && !up.targets[0].runs_range());
    assert_eq!(
        up.datasource,
        Some(DatasourceRef::Ref {
            kind: Some("prometheus".into()),
            uid: Some("p".into())
        })
    );
    let pie = d.panels().nth(1).unwrap();
    assert_eq!(
        pie.not_drawn_reason().as_deref(),
        Some("panel type \"piechart\" is not drawn")
    );
    let logs = d.panels().nth(2).unwrap();
    assert_eq!(
        logs.not_drawn_reason().as_deref(),
        Some("datasource ${DS_LOKI} (loki) is not Prometheus: not drawn")
    );
    let hidden = d.panels().nth(3).unwrap();
    assert_eq!(hidden.stack, Stack::Percent);
    let legacy = d.panels().nth(5).unwrap();
    assert_eq!(
        (legacy.kind.clone(), legacy.stack, legacy.unit.as_deref()),
        (PanelKind::TimeSeries, Stack::Normal, Some("bytes"))
    );
    assert_eq!(legacy.legend_calcs, ["max", "lastNotNull"]);
    assert_eq!(
        legacy
            .queries()
            .map(|t| t.expr.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    assert!(legacy.drawn());
    assert_eq!(l.notes.len(), 2, "{:?}", l.notes);

    // Layout: the collapsed row is one line and its panel is not placed.
    let lay = layout(d, 120);
    let rect_of = |it: Item| lay.items.iter().find(|(i, _)| *i == it).map(|(_, r)| *r);
    assert_eq!(
        rect_of(Item::Panel { row: 0, panel: 0 }),
        Some(Rect {
            x: 0,
            y: 0,
            w: 30,
            h: 4
        })
    );
    assert_eq!(
        rect_of(Item::Header { row: 1 }),
        Some(Rect {
            x: 0,
            y: 4,
            w: 120,
            h: 1
        })
    );
    assert_eq!(rect_of(Item::Panel { row: 1, panel: 0 }), None);
    assert_eq!(
        rect_of(Item::Header { row: 2 }),
        Some(Rect {
            x: 0,
            y: 5,
            w: 120,
            h: 1
        })
    );
    assert_eq!(
        rect_of(Item::Panel { row: 2, panel: 1 }),
        Some(Rect {
            x: 0,
            y: 6,
            w: 120,
            h: 8
        })
    );
    assert_eq!(
        rect_of(Item::Panel { row: 2, panel: 0 }),
        Some(Rect {
            x: 0,
            y: 14,
            w: 120,
            h: 8
        })
    );
    assert_eq!(lay.height, 22);
    let vis = lay.visible(5, 4);
    assert!(vis.iter().all(|(_, r)| r.y + r.h <= 4));
    assert_eq!(vis.len(), 2);

    // Bad input: cut short, not JSON, not a dashboard.
    let cut = &text[..text.len() / 2];
    let e = parse(cut, "cut.json").unwrap_err().to_string();
    assert!(e.starts_with("cut.json: line 1, column "), "{e}");
    assert!(e.contains("ends early"), "{e}");
    let e = parse("{\"panels\": [}", "bad.json")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("bad.json: line 1, column 13: "), "{e}");
    let e = parse("[1,2]", "list.json").unwrap_err().to_string();
    assert_eq!(
        e,
        "list.json: not a Grafana dashboard: the top level is not a JSON object"
    );
    let e = parse("{\"title\": \"x\"}", "x.json")
        .unwrap_err()
        .to_string();
    assert!(e.contains("neither \"panels\" nor \"rows\""), "{e}");
    let e = load(&testdata("missing.json")).unwrap_err().to_string();
    assert!(e.contains("missing.json"), "{e}");
    // The API's envelope is read too.
    let wrapped = format!("{{\"dashboard\": {text}, \"meta\": {{}}}}");
    assert_eq!(parse(&wrapped, "w").unwrap().dashboard.title, "T");
}

#[test]
fn legend_over_labels() {
    let mut l = BTreeMap::new();
    l.insert("device".to_string(), "sda".to_string());
    assert_eq!(legend::legend("{{device}} read", &l, "q"), "sda read");
}

/// (title, type, queries) of every panel, rows in order.
fn panel_list(l: &Loaded) -> Vec<(String, String, usize)> {
    l.dashboard
        .panels()
        .map(|p| (p.title.clone(), p.type_name.clone(), p.queries().count()))
        .collect()
}

fn owned(v: &[(&str, &str, usize)]) -> Vec<(String, String, usize)> {
    v.iter()
        .map(|(a, b, n)| (a.to_string(), b.to_string(), *n))
        .collect()
}

#[test]
fn real_dashboards_read_every_panel() {
    let p = load(&testdata("prometheus.json")).unwrap();
    assert_eq!(p.dashboard.title, "Prometheus");
    assert_eq!(p.dashboard.schema_version, 14);
    assert_eq!(p.dashboard.refresh.as_deref(), Some("10s"));
    assert_eq!(
        panel_list(&p),
        owned(&[
            ("Prometheus Stats", "table", 2),
            ("Target Sync", "graph", 1),
            ("Targets", "graph", 1),
            ("Average Scrape Interval Duration", "graph", 1),
            ("Scrape failures", "graph", 4),
            ("Appended Samples", "graph", 1),
            ("Head Series", "graph", 1),
            ("Head Chunks", "graph", 1),
            ("Query Rate", "graph", 1),
            ("Stage Duration", "graph", 1),
        ])
    );
    let rows: Vec<Option<&str>> = p
        .dashboard
        .rows
        .iter()
        .map(|r| r.title.as_deref())
        .collect();
    assert_eq!(
        rows,
        [
            Some("Prometheus Stats"),
            Some("Discovery"),
            Some("Retrieval"),
            Some("Storage"),
            Some("Query")
        ]
    );
    // Legacy spans on 12 columns become widths on 24; 250px rows are 7 grid rows.
    let grids: Vec<(u32, u32, u32, u32)> = p
        .dashboard
        .panels()
        .map(|p| (p.grid.x, p.grid.y, p.grid.w, p.grid.h))
        .collect();
    assert_eq!(
        &grids[..4],
        &[(0, 1, 24, 7), (0, 9, 12, 7), (12, 9, 12, 7), (0, 17, 8, 7)]
    );
    let sync = p.dashboard.panels().nth(1).unwrap();
    assert_eq!(
        (sync.unit.as_deref(), sync.stack, sync.kind.clone()),
        (Some("ms"), Stack::None, PanelKind::TimeSeries)
    );
    assert_eq!(p.dashboard.panels().nth(2).unwrap().stack, Stack::Normal);
    let stats = p.dashboard.panels().next().unwrap();
    assert!(stats
        .targets
        .iter()
        .all(|t| t.runs_instant() && t.format == "table" && t.interval_factor == 2));
    assert!(p.notes.is_empty(), "{:?}", p.notes);
    assert_eq!(
        p.variables
            .iter()
            .map(|v| (v.name.as_str(), v.kind_name()))
            .collect::<Vec<_>>(),
        [
            ("datasource", "datasource"),
            ("job", "query"),
            ("instance", "query")
        ]
    );

    let u = load(&testdata("node-rsrc-use.json")).unwrap();
    assert_eq!(
        panel_list(&u),
        owned(&[
            ("CPU Utilisation", "timeseries", 1),
            ("CPU Saturation (Load1 per CPU)", "timeseries", 1),
            ("Memory Utilisation", "timeseries", 1),
            ("Memory Saturation (Major Page Faults)", "timeseries", 1),
            (
                "Network Utilisation (Bytes Receive/Transmit)",
                "timeseries",
                2
            ),
            (
                "Network Saturation (Drops Receive/Transmit)",
                "timeseries",
                2
            ),
            ("Disk IO Utilisation", "timeseries", 1),
            ("Disk IO Saturation", "timeseries", 1),
            ("Disk Space Utilisation", "timeseries", 1),
        ])
    );
    assert_eq!(u.dashboard.rows.len(), 5);
    assert!(u
        .dashboard
        .panels()
        .all(|p| p.stack == Stack::Normal && p.drawn()));
    assert!(u.notes.is_empty(), "{:?}", u.notes);

    let n = load(&testdata("nodes.json")).unwrap();
    assert_eq!(
        panel_list(&n),
        owned(&[
            ("CPU Usage", "timeseries", 1),
            ("Load Average", "timeseries", 4),
            ("Memory Usage", "timeseries", 4),
            ("Memory Usage", "gauge", 1),
            ("Disk I/O", "timeseries", 3),
            ("Disk Space Usage", "table", 2),
            ("Network Received", "timeseries", 1),
            ("Network Transmitted", "timeseries", 1),
        ])
    );
    let gauge = n.dashboard.panels().nth(3).unwrap();
    assert_eq!(
        (
            gauge.kind.clone(),
            gauge.unit.as_deref(),
            gauge.min,
            gauge.max
        ),
        (PanelKind::Gauge, Some("percent"), Some(0.0), Some(100.0))
    );
    let th = gauge.thresholds.as_ref().unwrap();
    assert_eq!(
        th.color_for(85.0, 0.0, 100.0),
        Some("rgba(237, 129, 40, 0.89)")
    );
    assert_eq!(
        th.color_for(10.0, 0.0, 100.0),
        Some("rgba(50, 172, 45, 0.97)")
    );
    assert_eq!(
        n.dashboard.panels().next().unwrap().targets[0].interval_factor,
        5
    );
    assert!(n.notes.is_empty(), "{:?}", n.notes);
}

#[test]
fn real_dashboards_lay_out_without_overlap() {
    for name in ["prometheus.json", "node-rsrc-use.json", "nodes.json"] {
        let l = load(&testdata(name)).unwrap();
        for width in [31u16, 80, 120, 200] {
            let lay = layout(&l.dashboard, width);
            let panels = lay
                .items
                .iter()
                .filter(|(i, _)| matches!(i, Item::Panel { .. }))
                .count();
            assert_eq!(
                panels,
                l.dashboard.panels().count(),
                "{name}: every panel placed"
            );
            for (a, (ia, ra)) in lay.items.iter().enumerate() {
                assert!(
                    u32::from(ra.x) + u32::from(ra.w) <= u32::from(width),
                    "{name} {width}: {ia:?} {ra:?}"
                );
                assert!(ra.y + ra.h <= lay.height, "{name}: {ra:?} below the canvas");
                for (ib, rb) in lay.items.iter().skip(a + 1).map(|(i, r)| (i, r)) {
                    assert!(
                        !ra.overlaps(rb),
                        "{name} {width}: {ia:?} {ra:?} overlaps {ib:?} {rb:?}"
                    );
                }
            }
            for scroll in [0, 5, 17, lay.height.saturating_sub(3)] {
                for (_, r) in lay.visible(scroll, 40) {
                    assert!(r.y + r.h <= 40 && u32::from(r.x) + u32::from(r.w) <= u32::from(width));
                }
            }
        }
    }
    // Grafana's relative grid: two half-width panels share a line, side by side.
    let u = load(&testdata("node-rsrc-use.json")).unwrap();
    let lay = layout(&u.dashboard, 100);
    let at = |row: usize, panel: usize| {
        lay.items
            .iter()
            .find(|(i, _)| *i == Item::Panel { row, panel })
            .map(|(_, r)| *r)
            .unwrap()
    };
    assert_eq!(
        at(0, 0),
        Rect {
            x: 0,
            y: 1,
            w: 50,
            h: 7
        }
    );
    assert_eq!(
        at(0, 1),
        Rect {
            x: 50,
            y: 1,
            w: 50,
            h: 7
        }
    );
    // The file leaves two empty grid rows above "Disk Space" (y 34 after panels ending at 32);
    // like Grafana's grid, items float up.
    assert_eq!(
        at(4, 0),
        Rect {
            x: 0,
            y: 33,
            w: 100,
            h: 7
        }
    );
    assert_eq!(lay.height, 40);
}

/// The variables of a real dashboard after the server answered their queries.
fn answered(l: &Loaded, answers: &[(&str, serde_json::Value)]) -> Vec<Variable> {
    let mut vars = l.variables.clone();
    let c = ctx();
    for (name, data) in answers {
        let snapshot = vars.clone();
        let i = Interpolator {
            vars: &snapshot,
            ctx: &c,
        };
        let v = vars.iter_mut().find(|v| v.name == *name).unwrap();
        let super::vars::VarKind::Query { query } = v.kind.clone() else {
            panic!("{name} is not a query variable")
        };
        let q = i.query(&query);
        assert!(v.request(&q, 0.0, 3600.0).is_some(), "{name}: {q}");
        v.options_from(&q, data).unwrap();
    }
    vars
}

#[test]
fn real_dashboard_queries_expand_as_grafana_sends_them() {
    // Prometheus mixin: job All (no all value) over two jobs, instance All then one value.
    let p = load(&testdata("prometheus.json")).unwrap();
    let job = p.variables.iter().find(|v| v.name == "job").unwrap();
    assert_eq!(
        job.request("label_values(prometheus_build_info, job)", 0.0, 3600.0),
        Some(VarRequest::LabelValues {
            label: "job".into(),
            matches: vec!["prometheus_build_info".into()],
            start: 0.0,
            end: 3600.0
        })
    );
    let mut vars = answered(
        &p,
        &[
            ("job", json!(["node", "prometheus"])),
            ("instance", json!(["127.0.0.1:9090", "localhost:9090"])),
        ],
    );
    // sort 2 is alphabetical, descending.
    assert_eq!(
        vars[1]
            .options
            .iter()
            .map(|o| o.value.as_str())
            .collect::<Vec<_>>(),
        ["prometheus", "node"]
    );
    assert!(vars[1].is_all() && vars[2].is_all());
    let c = ctx();
    let i = Interpolator {
        vars: &vars,
        ctx: &c,
    };
    let stats = &p.dashboard.panels().next().unwrap().targets[0];
    assert_eq!(
        i.sent(&stats.expr, None, &stats.interval, stats.interval_factor)
            .0,
        "count by (job, instance, version) (prometheus_build_info{job=~\"(prometheus|node)\", \
         instance=~\"(localhost:9090|127\\\\.0\\\\.0\\\\.1:9090)\"})"
    );
    vars[2].select(&["127.0.0.1:9090"]);
    let i = Interpolator {
        vars: &vars,
        ctx: &c,
    };
    let (q, s) = i.sent(&stats.expr, None, &stats.interval, stats.interval_factor);
    assert_eq!(
        q,
        "count by (job, instance, version) (prometheus_build_info{job=~\"(prometheus|node)\", \
         instance=~\"127\\\\.0\\\\.0\\\\.1:9090\"})"
    );
    assert_eq!(s.step_ms, 30_000, "intervalFactor 2 doubles the 15s step");
    let every = |l: &Loaded, i: &Interpolator, subst: &[(&str, &str)]| {
        for p in l.dashboard.panels() {
            for t in p.queries() {
                let (q, _) = i.sent(
                    &t.expr,
                    p.interval.as_deref(),
                    &t.interval,
                    t.interval_factor,
                );
                let mut want = t.expr.clone();
                for (from, to) in subst {
                    want = want.replace(from, to);
                }
                assert_eq!(q, want, "{}: {}", p.title, t.expr);
                assert!(!q.contains('$'), "{q}");
                crate::promql::engine::parse(&q)
                    .unwrap_or_else(|e| panic!("{}: {q}: {e}", p.title));
            }
        }
    };
    every(
        &p,
        &i,
        &[
            ("$job", "(prometheus|node)"),
            ("$instance", "127\\\\.0\\\\.0\\\\.1:9090"),
        ],
    );

    // Node mixin: cluster include-All with all value `.*`, one instance.
    let n = load(&testdata("nodes.json")).unwrap();
    let vars = answered(
        &n,
        &[
            ("cluster", json!([])),
            ("instance", json!(["host-1:9100", "host-2:9100"])),
        ],
    );
    let i = Interpolator {
        vars: &vars,
        ctx: &c,
    };
    // The instance variable's own query is sent with cluster expanded.
    let super::vars::VarKind::Query { query } = &vars[2].kind else {
        panic!()
    };
    assert_eq!(
        i.query(query),
        "label_values(node_uname_info{job=\"node\", cluster=~\".*\", sysname!=\"Darwin\"}, instance)"
    );
    assert_eq!(vars[2].current, ["host-1:9100"], "the first option");
    let cpu = &n.dashboard.panels().next().unwrap().targets[0];
    let (q, s) = i.sent(&cpu.expr, None, &cpu.interval, cpu.interval_factor);
    assert_eq!(
        q,
        "(\n  (1 - sum without (mode) (rate(node_cpu_seconds_total{job=\"node\", mode=~\"idle|iowait|steal\", \
         instance=\"host-1:9100\", cluster=~\".*\"}[1m0s])))\n/ ignoring(cpu) group_left\n  count without (cpu, mode) \
         (node_cpu_seconds_total{job=\"node\", mode=\"idle\", instance=\"host-1:9100\", cluster=~\".*\"})\n)\n"
    );
    // intervalFactor 5: a 75s step, while $__rate_interval keeps the 15s interval + scrape.
    assert_eq!((s.step_ms, s.rate_interval_ms), (75_000, 60_000));
    every(
        &n,
        &i,
        &[
            ("$__rate_interval", "1m0s"),
            ("$instance", "host-1:9100"),
            ("$cluster", ".*"),
        ],
    );
    // A day on a narrow panel: 24h / 500 points → 2m interval, rate interval 2m15s.
    let day = Context {
        range_ms: 86_400_000,
        max_data_points: 500,
        ..ctx()
    };
    let i = Interpolator {
        vars: &vars,
        ctx: &day,
    };
    let disk = &n.dashboard.panels().nth(4).unwrap().targets[0];
    assert_eq!(
        i.sent(&disk.expr, None, &disk.interval, disk.interval_factor).0,
        "rate(node_disk_read_bytes_total{job=\"node\", instance=\"host-1:9100\", cluster=~\".*\", device!=\"\"}[2m15s])"
    );

    let u = load(&testdata("node-rsrc-use.json")).unwrap();
    let vars = answered(
        &u,
        &[
            ("cluster", json!(["b", "a"])),
            ("instance", json!(["h:9100"])),
        ],
    );
    assert_eq!(
        vars[1]
            .options
            .iter()
            .map(|o| o.value.as_str())
            .collect::<Vec<_>>(),
        ["a", "b"],
        "sort 1"
    );
    let i = Interpolator {
        vars: &vars,
        ctx: &c,
    };
    every(&u, &i, &[("$instance", "h:9100"), ("$cluster", ".*")]);
}

#[test]
fn real_dashboard_with_bad_parts_loads_the_rest() {
    let text = std::fs::read_to_string(testdata("nodes.json")).unwrap();
    // Cut short: the file, line and column are named.
    let cut = &text[..text.len() * 2 / 3];
    let e = parse(cut, "nodes.json").unwrap_err();
    match &e {
        LoadError::Syntax {
            path,
            line,
            column,
            message,
        } => {
            assert_eq!(path, "nodes.json");
            assert_eq!(*line, cut.lines().count());
            assert!(*column > 0 && message.contains("ends early"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // An unknown panel type, a non-Prometheus datasource, an unknown variable kind.
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["panels"][1]["type"] = json!("polystat");
    v["panels"][2]["datasource"] = json!({"type": "loki", "uid": "logs"});
    for t in v["panels"][2]["targets"].as_array_mut().unwrap() {
        t["datasource"] = json!({"type": "loki", "uid": "logs"});
    }
    v["templating"]["list"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "weird", "type": "shiny"}));
    let l = parse(&v.to_string(), "nodes.json").unwrap();
    assert_eq!(
        l.notes,
        [
            "variable $weird: unknown variable type \"shiny\": left as written",
            "panel \"CPU Usage\": panel type \"polystat\" is not drawn",
            "panel \"Load Average\": datasource loki logs (loki) is not Prometheus: not drawn",
        ]
    );
    assert_eq!(l.dashboard.panels().filter(|p| p.drawn()).count(), 6);
    let c = ctx();
    let i = Interpolator {
        vars: &l.variables,
        ctx: &c,
    };
    assert_eq!(
        i.query("x{a=\"$weird\"}"),
        "x{a=\"$weird\"}",
        "left as written"
    );
}

mod fields;
mod repeat;
