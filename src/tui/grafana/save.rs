//! Dashboards built in the TUI, as Grafana dashboard JSON: a new dashboard the way Grafana's
//! "Export for sharing externally" writes one (schema 39, `__inputs` naming `DS_PROMETHEUS`,
//! panels referring to it as `${DS_PROMETHEUS}`), and panels added from the prompt to a new
//! or a loaded dashboard. A loaded dashboard is kept as the JSON it was read from
//! (`Loaded::source`), so saving it writes every field back, ours or not, with only the added
//! panels appended. Also the file name a title is saved under (`slug`).
//!
//! Works on `serde_json::Value`; uses `model` only to tell the datasource a dashboard's
//! panels use. Pure: the file is written by `files`.

use serde_json::{json, Value};

/// The schema version of dashboards we create (Grafana 10.4 / 11 write 39).
pub const SCHEMA_VERSION: u64 = 39;

/// The `__inputs` name of the Prometheus datasource in dashboards we create.
pub const DS_INPUT: &str = "DS_PROMETHEUS";

/// Width and height of an added panel on Grafana's 24-column grid (two side by side).
pub const PANEL_W: u64 = 12;
pub const PANEL_H: u64 = 8;

/// The title of the row added below a collapsed last row (its panels would hide ours).
pub const ADDED_ROW: &str = "promterm";

/// What an added panel draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewPanel {
    /// A range query as lines (`timeseries`).
    Graph,
    /// An instant query as a table (`table`).
    Table,
    /// An instant query's single value (`stat`).
    Stat,
}

impl NewPanel {
    pub fn type_name(self) -> &'static str {
        match self {
            NewPanel::Graph => "timeseries",
            NewPanel::Table => "table",
            NewPanel::Stat => "stat",
        }
    }
}

/// A Grafana relative time for a range of `secs` seconds before now: `now-1h`, `now-90m`, …
pub fn relative_from(secs: f64) -> String {
    let s = secs.max(1.0).round() as u64;
    let (n, unit) = if s.is_multiple_of(86_400) {
        (s / 86_400, "d")
    } else if s.is_multiple_of(3_600) {
        (s / 3_600, "h")
    } else if s.is_multiple_of(60) {
        (s / 60, "m")
    } else {
        (s, "s")
    };
    format!("now-{n}{unit}")
}

/// A new, empty dashboard as Grafana exports one for sharing: `title`, `uid`, the last
/// `range_secs` seconds, refreshed every 30 s.
pub fn new_dashboard(title: &str, uid: &str, range_secs: f64) -> Value {
    json!({
        "__inputs": [{
            "name": DS_INPUT,
            "label": "Prometheus",
            "description": "",
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus"
        }],
        "__elements": {},
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"}
        ],
        "annotations": {"list": [{
            "builtIn": 1,
            "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": true,
            "hide": true,
            "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts",
            "type": "dashboard"
        }]},
        "editable": true,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 0,
        "id": null,
        "links": [],
        "panels": [],
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "tags": [],
        "templating": {"list": []},
        "time": {"from": relative_from(range_secs), "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": title,
        "uid": uid,
        "version": 1,
        "weekStart": ""
    })
}

/// The datasource reference added panels use: the dashboard's Prometheus `datasource`
/// variable, else its Prometheus `__inputs` entry, else `${DS_PROMETHEUS}` (the input is
/// added to the dashboard then).
pub fn datasource_for(doc: &mut Value) -> Value {
    let is_prom = |v: &Value, k: &str| v[k].as_str().is_some_and(super::model::is_prometheus);
    if let Some(name) = doc["templating"]["list"].as_array().and_then(|l| {
        l.iter()
            .find(|v| v["type"].as_str() == Some("datasource") && is_prom(v, "query"))
            .and_then(|v| v["name"].as_str())
    }) {
        return json!({"type": "prometheus", "uid": format!("${{{name}}}")});
    }
    if let Some(name) = doc["__inputs"].as_array().and_then(|l| {
        l.iter()
            .find(|i| is_prom(i, "pluginId"))
            .and_then(|i| i["name"].as_str())
    }) {
        return json!({"type": "prometheus", "uid": format!("${{{name}}}")});
    }
    if let Some(o) = doc.as_object_mut() {
        let inputs = o.entry("__inputs").or_insert_with(|| json!([]));
        if let Some(a) = inputs.as_array_mut() {
            a.push(json!({
                "name": DS_INPUT,
                "label": "Prometheus",
                "description": "",
                "type": "datasource",
                "pluginId": "prometheus",
                "pluginName": "Prometheus"
            }));
        }
    }
    json!({"type": "prometheus", "uid": format!("${{{DS_INPUT}}}")})
}

/// Every panel object of the dashboard: top level, inside rows, inside legacy rows.
fn all_panels(doc: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in doc["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    for r in doc["rows"].as_array().into_iter().flatten() {
        out.extend(r["panels"].as_array().into_iter().flatten());
    }
    out
}

/// The next free panel id.
fn next_id(doc: &Value) -> i64 {
    all_panels(doc)
        .iter()
        .filter_map(|p| p["id"].as_i64())
        .max()
        .unwrap_or(0)
        + 1
}

/// The panel's JSON (no `gridPos` yet).
fn panel_json(expr: &str, kind: NewPanel, id: i64, ds: &Value) -> Value {
    let instant = kind != NewPanel::Graph;
    let mut target = json!({
        "datasource": ds,
        "editorMode": "code",
        "expr": expr,
        "instant": instant,
        "legendFormat": "__auto",
        "range": !instant,
        "refId": "A"
    });
    if kind == NewPanel::Table {
        target["format"] = json!("table");
    }
    let options = match kind {
        NewPanel::Graph => json!({
            "legend": {"calcs": [], "displayMode": "list", "placement": "bottom", "showLegend": true},
            "tooltip": {"mode": "single", "sort": "none"}
        }),
        NewPanel::Table => json!({"cellHeight": "sm", "showHeader": true}),
        NewPanel::Stat => json!({
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "orientation": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
            "textMode": "auto"
        }),
    };
    json!({
        "datasource": ds,
        "fieldConfig": {"defaults": {"unit": "none"}, "overrides": []},
        "id": id,
        "options": options,
        "targets": [target],
        "title": expr,
        "type": kind.type_name()
    })
}

/// Where a new panel goes in a flat `panels` list: beside the last panel when it is the left
/// half of the bottom line, else at the left under everything.
fn next_grid(panels: &[Value]) -> (u64, u64) {
    let bottom = |p: &Value| p["gridPos"]["y"].as_u64().unwrap_or(0) + grid_h(p);
    let max_y = panels.iter().map(bottom).max().unwrap_or(0);
    if let Some(last) = panels.last() {
        let g = &last["gridPos"];
        let left_half = last["type"].as_str() != Some("row")
            && g["x"].as_u64() == Some(0)
            && g["w"].as_u64().is_some_and(|w| w <= 24 - PANEL_W);
        if left_half && bottom(last) == max_y {
            return (24 - PANEL_W, g["y"].as_u64().unwrap_or(0));
        }
    }
    (0, max_y)
}

fn grid_h(p: &Value) -> u64 {
    if p["type"].as_str() == Some("row") {
        1
    } else {
        p["gridPos"]["h"].as_u64().unwrap_or(PANEL_H)
    }
}

/// Adds a panel running `expr` to the dashboard `doc` (titled with the query, unit none);
/// returns its id. A flat `panels` list gets it at the bottom (behind a new expanded row
/// when the last row is collapsed, which would hide it); a legacy `rows[]` dashboard gets it
/// in a trailing row of ours.
pub fn add_panel(doc: &mut Value, expr: &str, kind: NewPanel) -> Result<i64, String> {
    if !doc.is_object() {
        return Err("the dashboard is not a JSON object".into());
    }
    let ds = datasource_for(doc);
    let id = next_id(doc);
    let mut panel = panel_json(expr, kind, id, &ds);
    let legacy = doc["rows"].is_array()
        && doc["panels"].as_array().is_none_or(|p| p.is_empty())
        && doc["rows"].as_array().is_some_and(|r| !r.is_empty());
    let o = doc
        .as_object_mut()
        .ok_or("the dashboard is not a JSON object")?;
    if legacy {
        let rows = o
            .get_mut("rows")
            .and_then(Value::as_array_mut)
            .ok_or("the dashboard's rows are not a list")?;
        let ours = rows
            .last()
            .is_some_and(|r| r["title"].as_str() == Some(ADDED_ROW));
        if !ours {
            rows.push(json!({
                "collapse": false,
                "height": "250px",
                "panels": [],
                "repeat": null,
                "showTitle": true,
                "title": ADDED_ROW
            }));
        }
        panel["span"] = json!(PANEL_W / 2);
        let row = rows.last_mut().ok_or("no row to add the panel to")?;
        row["panels"]
            .as_array_mut()
            .ok_or("the row's panels are not a list")?
            .push(panel);
        return Ok(id);
    }
    let panels = o
        .entry("panels")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or("the dashboard's panels are not a list")?;
    let last_row_collapsed = panels
        .iter()
        .rev()
        .find(|p| p["type"].as_str() == Some("row"))
        .is_some_and(|r| r["collapsed"].as_bool() == Some(true));
    if last_row_collapsed {
        let (_, y) = next_grid(panels);
        let row_id = id;
        panels.push(json!({
            "collapsed": false,
            "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
            "id": row_id,
            "panels": [],
            "title": ADDED_ROW,
            "type": "row"
        }));
        panel["id"] = json!(row_id + 1);
    }
    let (x, y) = next_grid(panels);
    panel["gridPos"] = json!({"h": PANEL_H, "w": PANEL_W, "x": x, "y": y});
    let id = panel["id"].as_i64().unwrap_or(id);
    panels.push(panel);
    if let Some(req) = o.get_mut("__requires").and_then(Value::as_array_mut) {
        let listed = req.iter().any(|r| {
            r["type"].as_str() == Some("panel") && r["id"].as_str() == Some(kind.type_name())
        });
        if !listed {
            let name = match kind {
                NewPanel::Graph => "Time series",
                NewPanel::Table => "Table",
                NewPanel::Stat => "Stat",
            };
            req.push(json!({"type": "panel", "id": kind.type_name(), "name": name, "version": ""}));
        }
    }
    Ok(id)
}

/// The file name (without `.json`) a dashboard titled `title` is saved under: lower case
/// letters and digits, other runs as one `-`; "dashboard" when nothing is left.
pub fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    let out: String = out.chars().take(80).collect();
    if out.is_empty() {
        "dashboard".into()
    } else {
        out
    }
}

/// The dashboard's text as saved: pretty JSON with Grafana's two-space indent.
pub fn to_text(doc: &Value) -> String {
    let mut s = serde_json::to_string_pretty(doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

/// The `title` of a dashboard JSON (also in the API's `{dashboard: …}` form).
pub fn title_of(doc: &Value) -> Option<String> {
    let d = doc
        .get("dashboard")
        .filter(|d| d.is_object())
        .unwrap_or(doc);
    d.get("title").and_then(Value::as_str).map(str::to_string)
}

/// A uid for a new dashboard titled `title` created at `now` (unix seconds): Grafana's limit
/// is 40 characters of letters, digits, `-` and `_`.
pub fn new_uid(title: &str, now: f64) -> String {
    let stamp = radix36(now.max(0.0) as u64);
    let room = 40 - stamp.len() - 1;
    let base: String = slug(title).chars().take(room).collect();
    format!("{base}-{stamp}")
}

fn radix36(mut n: u64) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}
