//! A Grafana dashboard as Grafana exports it, read leniently: panels at the top level and inside
//! rows (collapsed rows keep theirs in `panels`), the legacy `rows[]` of old schemas (panel
//! widths as `span` on a 12-column grid, row heights in pixels), `gridPos` on the 24-column
//! grid, panel types, queries (`targets`), units, thresholds, reductions, stacking, `__inputs`
//! and datasources given as a name or as `{type, uid}`. Unknown panel types and fields never
//! fail a load: such a panel is kept as "not drawn"; a panel whose datasource is not Prometheus
//! keeps its queries and says why it is not drawn. Only a file that is not JSON (cut short,
//! invalid) fails, naming the file, line and column.
//!
//! Works on `serde_json::Value` so that any field may be missing or of another type; uses
//! `options` for what tables, heatmaps, legends and mappings need, nothing else of the crate
//! (the variables are read by `vars`, the layout is `layout`).

use serde_json::Value;

use super::options::PanelOptions;

/// Why a dashboard file could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: line {line}, column {column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: not a Grafana dashboard: {message}")]
    NotDashboard { path: String, message: String },
}

/// A panel's place on Grafana's grid: 24 columns, rows of 30 pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GridPos {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// What a panel is drawn as. `NotDrawn` keeps the type Grafana gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PanelKind {
    /// `timeseries`, or the legacy `graph`.
    TimeSeries,
    /// `stat`, or the legacy `singlestat`.
    Stat,
    Gauge,
    BarGauge,
    /// `table`, or the legacy `table-old`.
    Table,
    Heatmap,
    Text,
    NotDrawn(String),
}

impl PanelKind {
    pub fn of(type_name: &str) -> PanelKind {
        match type_name {
            "timeseries" | "graph" => PanelKind::TimeSeries,
            "stat" | "singlestat" => PanelKind::Stat,
            "gauge" => PanelKind::Gauge,
            "bargauge" => PanelKind::BarGauge,
            "table" | "table-old" => PanelKind::Table,
            "heatmap" => PanelKind::Heatmap,
            "text" => PanelKind::Text,
            other => PanelKind::NotDrawn(other.to_string()),
        }
    }
}

/// A datasource reference as the JSON gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasourceRef {
    /// A name, a `$variable` or a `${DS_X}` input placeholder.
    Name(String),
    /// `{type, uid}` (schema 33 and later).
    Ref {
        kind: Option<String>,
        uid: Option<String>,
    },
}

impl DatasourceRef {
    fn parse(v: &Value) -> Option<DatasourceRef> {
        match v {
            Value::String(s) => Some(DatasourceRef::Name(s.clone())),
            Value::Object(o) => Some(DatasourceRef::Ref {
                kind: o.get("type").and_then(Value::as_str).map(str::to_string),
                uid: o.get("uid").and_then(Value::as_str).map(str::to_string),
            }),
            _ => None,
        }
    }

    /// The text shown for it (`uid` or name).
    pub fn shown(&self) -> String {
        match self {
            DatasourceRef::Name(n) => n.clone(),
            DatasourceRef::Ref { kind, uid } => match (kind, uid) {
                (Some(k), Some(u)) => format!("{k} {u}"),
                (Some(k), None) => k.clone(),
                (None, Some(u)) => u.clone(),
                (None, None) => "(none)".into(),
            },
        }
    }
}

/// One query of a panel.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Target {
    pub ref_id: String,
    pub expr: String,
    pub legend_format: String,
    /// The query's "min step" (`interval`), as written (may hold a variable).
    pub interval: String,
    pub interval_factor: u32,
    pub instant: bool,
    pub range: bool,
    pub hide: bool,
    /// `time_series`, `table` or `heatmap`.
    pub format: String,
    pub datasource: Option<DatasourceRef>,
    /// Why the query is not sent (its datasource is not Prometheus).
    pub skipped: Option<String>,
}

impl Target {
    fn parse(v: &Value, index: usize) -> Target {
        let ref_id = str_of(v, "refId").unwrap_or_else(|| {
            // Grafana names unnamed queries A, B, C …
            char::from_u32('A' as u32 + (index % 26) as u32)
                .map(String::from)
                .unwrap_or_default()
        });
        Target {
            ref_id,
            expr: str_of(v, "expr").unwrap_or_default(),
            legend_format: str_of(v, "legendFormat").unwrap_or_default(),
            interval: str_of(v, "interval").unwrap_or_default(),
            interval_factor: v
                .get("intervalFactor")
                .and_then(Value::as_u64)
                .map_or(1, |f| f.max(1) as u32),
            instant: bool_of(v, "instant"),
            range: bool_of(v, "range"),
            hide: bool_of(v, "hide"),
            format: str_of(v, "format").unwrap_or_else(|| "time_series".into()),
            datasource: v.get("datasource").and_then(DatasourceRef::parse),
            skipped: None,
        }
    }

    /// The queries Grafana runs for it: neither flag set is a range query (old dashboards),
    /// both set is one of each.
    pub fn runs_range(&self) -> bool {
        self.range || !self.instant
    }
    pub fn runs_instant(&self) -> bool {
        self.instant
    }
}

/// How values map to colours.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Thresholds {
    /// `percentage` mode: step values are percent of min..max.
    pub percentage: bool,
    /// (from, colour), the first from -∞ (`None`).
    pub steps: Vec<(Option<f64>, String)>,
}

impl Thresholds {
    /// The colour for `v` (min and max for percentage mode).
    pub fn color_for(&self, v: f64, min: f64, max: f64) -> Option<&str> {
        let at = if self.percentage && max > min {
            (v - min) / (max - min) * 100.0
        } else {
            v
        };
        self.steps
            .iter()
            .rev()
            .find(|(from, _)| from.is_none_or(|f| at >= f))
            .map(|(_, c)| c.as_str())
    }
}

/// How a time series panel stacks its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stack {
    #[default]
    None,
    Normal,
    Percent,
}

/// One panel.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub id: Option<i64>,
    pub title: String,
    /// The panel's `description` (shown under its title when it is full screen).
    pub description: String,
    /// The type as Grafana wrote it.
    pub type_name: String,
    pub kind: PanelKind,
    pub grid: GridPos,
    pub datasource: Option<DatasourceRef>,
    pub targets: Vec<Target>,
    pub unit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub decimals: Option<u32>,
    pub thresholds: Option<Thresholds>,
    /// Reductions for stat, gauge and bar gauge (`reduceOptions.calcs`, legacy `valueName`).
    pub calcs: Vec<String>,
    /// Reductions shown in a time series legend (`legend.calcs`, legacy min/max/avg/current).
    pub legend_calcs: Vec<String>,
    pub stack: Stack,
    /// The panel's min interval and max data points, when set.
    pub interval: Option<String>,
    pub max_data_points: Option<u64>,
    /// A text panel's content.
    pub content: String,
    /// Why the panel is not drawn beyond its type (set by `Dashboard::check_datasources`).
    pub problem: Option<String>,
    /// `repeat`: the panel is drawn once per selected value of this variable.
    pub repeat: Option<Repeat>,
    /// Set on the panels `repeat::expand` made: the variables bound and the place.
    pub copy: Option<RepeatCopy>,
    /// `fieldConfig` as written (defaults and overrides), read by `fields`.
    pub field_config: Value,
    /// Mappings, table, legend and heatmap options (`options`).
    pub opts: PanelOptions,
}

/// A panel's or row's `repeat` options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeat {
    /// The variable's name (without `$`).
    pub var: String,
    /// `repeatDirection` "v": stacked; otherwise side by side.
    pub vertical: bool,
    /// `maxPerRow` (Grafana's default 4).
    pub max_per_row: u32,
}

impl Repeat {
    fn parse(v: &Value) -> Option<Repeat> {
        let var = str_of(v, "repeat")?
            .trim()
            .trim_start_matches('$')
            .to_string();
        if var.is_empty() {
            return None;
        }
        Some(Repeat {
            var,
            vertical: v["repeatDirection"].as_str() == Some("v"),
            max_per_row: v["maxPerRow"]
                .as_u64()
                .filter(|m| *m > 0)
                .map_or(4, |m| m.min(24) as u32),
        })
    }
}

/// What makes a repeated panel or row one copy: the variables it binds (name, value), and
/// for side-by-side copies their column among `columns` equal ones (Grafana divides the
/// width exactly; the grid's whole columns only approximate it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepeatCopy {
    pub bound: Vec<(String, String)>,
    /// (column, columns) of a side-by-side copy.
    pub slot: Option<(u32, u32)>,
}

impl Panel {
    fn parse(v: &Value, grid: GridPos) -> Panel {
        let type_name = str_of(v, "type").unwrap_or_else(|| "graph".into());
        let kind = PanelKind::of(&type_name);
        let defaults = &v["fieldConfig"]["defaults"];
        let legacy_axis = &v["yaxes"][0];
        let unit = str_of(defaults, "unit")
            .or_else(|| str_of(legacy_axis, "format"))
            .or_else(|| str_of(v, "format"))
            .filter(|u| !u.is_empty());
        let num = |a: &Value, b: &Value| a.as_f64().or_else(|| num_str(b));
        let targets = v["targets"]
            .as_array()
            .map(|a| {
                a.iter()
                    .enumerate()
                    .map(|(i, t)| Target::parse(t, i))
                    .collect()
            })
            .unwrap_or_default();
        Panel {
            id: v.get("id").and_then(Value::as_i64),
            title: str_of(v, "title").unwrap_or_default(),
            description: str_of(v, "description").unwrap_or_default(),
            kind,
            grid,
            datasource: v.get("datasource").and_then(DatasourceRef::parse),
            targets,
            unit,
            min: num(&defaults["min"], &legacy_axis["min"]),
            max: num(&defaults["max"], &legacy_axis["max"]),
            decimals: defaults["decimals"]
                .as_u64()
                .or_else(|| v["decimals"].as_u64())
                .map(|d| d.min(12) as u32),
            thresholds: thresholds(&defaults["thresholds"]),
            calcs: calcs(v),
            legend_calcs: legend_calcs(v),
            stack: stack(v),
            interval: str_of(v, "interval").filter(|s| !s.is_empty()),
            max_data_points: v.get("maxDataPoints").and_then(Value::as_u64),
            content: str_of(&v["options"], "content")
                .or_else(|| str_of(v, "content"))
                .unwrap_or_default(),
            problem: None,
            repeat: Repeat::parse(v),
            copy: None,
            field_config: field_config(v),
            opts: PanelOptions::parse(v),
            type_name,
        }
    }

    /// The queries that run: not hidden, with an expression.
    pub fn queries(&self) -> impl Iterator<Item = &Target> {
        self.targets
            .iter()
            .filter(|t| !t.hide && !t.expr.trim().is_empty() && t.skipped.is_none())
    }

    /// Whether the view draws it (a known kind, a Prometheus source).
    pub fn drawn(&self) -> bool {
        !matches!(self.kind, PanelKind::NotDrawn(_)) && self.problem.is_none()
    }

    /// One line for a panel that is not drawn.
    pub fn not_drawn_reason(&self) -> Option<String> {
        if let Some(p) = &self.problem {
            return Some(p.clone());
        }
        match &self.kind {
            PanelKind::NotDrawn(t) => Some(format!("panel type {t:?} is not drawn")),
            _ => None,
        }
    }
}

pub(crate) fn thresholds(v: &Value) -> Option<Thresholds> {
    let steps: Vec<(Option<f64>, String)> = v["steps"]
        .as_array()?
        .iter()
        .map(|s| (s["value"].as_f64(), str_of(s, "color").unwrap_or_default()))
        .collect();
    Some(Thresholds {
        percentage: v["mode"].as_str() == Some("percentage"),
        steps,
    })
}

fn calcs(v: &Value) -> Vec<String> {
    if let Some(a) = v["options"]["reduceOptions"]["calcs"].as_array() {
        return a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    // Legacy singlestat: valueName.
    match v["valueName"].as_str() {
        Some(n) => vec![legacy_calc(n).to_string()],
        None => Vec::new(),
    }
}

/// A legacy reducer name as the new one (`avg` → `mean`, `current` → `lastNotNull`, …).
pub fn legacy_calc(name: &str) -> &str {
    match name {
        "avg" => "mean",
        "current" => "lastNotNull",
        "total" => "sum",
        other => other,
    }
}

fn legend_calcs(v: &Value) -> Vec<String> {
    if let Some(a) = v["options"]["legend"]["calcs"].as_array() {
        return a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
    }
    let l = &v["legend"];
    ["min", "max", "avg", "current", "total"]
        .into_iter()
        .filter(|k| l[*k].as_bool() == Some(true))
        .map(|k| legacy_calc(k).to_string())
        .collect()
}

fn stack(v: &Value) -> Stack {
    match v["fieldConfig"]["defaults"]["custom"]["stacking"]["mode"].as_str() {
        Some("normal") => return Stack::Normal,
        Some("percent") => return Stack::Percent,
        Some(_) => return Stack::None,
        None => {}
    }
    match (bool_of(v, "stack"), bool_of(v, "percentage")) {
        (true, true) => Stack::Percent,
        (true, false) => Stack::Normal,
        _ => Stack::None,
    }
}

/// The panel's `fieldConfig`, with a legacy graph's `seriesOverrides` (and its bars / points
/// switches) written as the overrides and defaults Grafana's migration to `timeseries` makes.
fn field_config(v: &Value) -> Value {
    let mut fc = match &v["fieldConfig"] {
        Value::Object(o) => Value::Object(o.clone()),
        _ => serde_json::json!({}),
    };
    if v["type"].as_str() != Some("graph") {
        return fc;
    }
    let style = if bool_of(v, "bars") {
        Some("bars")
    } else if bool_of(v, "points") && v["lines"].as_bool() == Some(false) {
        Some("points")
    } else {
        None
    };
    if let (Some(style), Some(o)) = (style, fc.as_object_mut()) {
        let custom = o
            .entry("defaults")
            .or_insert_with(|| serde_json::json!({}))
            .as_object_mut()
            .map(|d| d.entry("custom").or_insert_with(|| serde_json::json!({})));
        if let Some(Value::Object(c)) = custom {
            c.entry("drawStyle").or_insert_with(|| style.into());
        }
    }
    let legacy: Vec<Value> = v["seriesOverrides"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(legacy_override)
        .collect();
    if legacy.is_empty() {
        return fc;
    }
    if let Some(o) = fc.as_object_mut() {
        let list = o
            .entry("overrides")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(a) = list {
            a.extend(legacy);
        } else {
            *list = Value::Array(legacy);
        }
    }
    fc
}

/// One `seriesOverrides` entry as a field override: `alias` (`/regex/` or a name) as the
/// matcher; `transform`, `stack`, `color`, `legend`, `bars`/`lines`/`points` as properties.
fn legacy_override(o: &Value) -> Option<Value> {
    use serde_json::json;
    let alias = str_of(o, "alias").filter(|a| !a.is_empty())?;
    let matcher = if alias.starts_with('/') {
        json!({"id": "byRegexp", "options": alias})
    } else {
        json!({"id": "byName", "options": alias})
    };
    let mut props = Vec::new();
    if let Some(t) = str_of(o, "transform") {
        props.push(json!({"id": "custom.transform", "value": t}));
    }
    match &o["stack"] {
        Value::Bool(false) => {
            props.push(json!({"id": "custom.stacking", "value": {"mode": "none"}}));
        }
        Value::Bool(true) => {
            props.push(json!({"id": "custom.stacking", "value": {"mode": "normal"}}));
        }
        Value::String(g) => {
            props.push(json!({"id": "custom.stacking", "value": {"mode": "normal", "group": g}}))
        }
        _ => {}
    }
    if let Some(c) = str_of(o, "color") {
        props.push(json!({"id": "color", "value": {"mode": "fixed", "fixedColor": c}}));
    }
    if o["legend"].as_bool() == Some(false) {
        props.push(json!({"id": "custom.hideFrom",
            "value": {"legend": true, "tooltip": false, "viz": false}}));
    }
    if o["bars"].as_bool() == Some(true) {
        props.push(json!({"id": "custom.drawStyle", "value": "bars"}));
    } else if o["points"].as_bool() == Some(true) && o["lines"].as_bool() == Some(false) {
        props.push(json!({"id": "custom.drawStyle", "value": "points"}));
    } else if o["lines"].as_bool() == Some(true) {
        props.push(json!({"id": "custom.drawStyle", "value": "line"}));
    }
    (!props.is_empty()).then(|| json!({"matcher": matcher, "properties": props}))
}

/// A row: a header over the panels below it until the next row. Panels before the first row
/// sit in a row without a title.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub title: Option<String>,
    pub collapsed: bool,
    /// The header's grid row (None for the untitled first row).
    pub y: Option<u32>,
    pub panels: Vec<Panel>,
    /// `repeat`: the row and its panels are drawn once per selected value.
    pub repeat: Option<Repeat>,
    /// The variables a repeated row's copy binds (name, value); empty otherwise.
    pub bound: Vec<(String, String)>,
}

/// One `__inputs` entry: what a `${NAME}` placeholder stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    pub kind: String,
    pub plugin_id: String,
}

/// A dashboard.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    pub title: String,
    pub uid: String,
    pub schema_version: u64,
    pub refresh: Option<String>,
    /// `time.from` / `time.to` as written (`now-6h`, `now/d`, an ISO date, epoch ms).
    pub time_from: String,
    pub time_to: String,
    /// `timezone`: `utc`, or empty/`browser` for the machine's zone.
    pub timezone: String,
    /// `weekStart`: `monday` (empty), `sunday` or `saturday`.
    pub week_start: String,
    pub rows: Vec<Row>,
    /// The rows as the file has them, before `repeat::expand` made `rows` from them.
    pub template: Vec<Row>,
    /// `templating.list`, read by `vars`.
    pub templating: Vec<Value>,
    pub inputs: Vec<Input>,
}

/// The error at JSON position of `e`, naming `path`.
fn syntax_error(path: &str, e: &serde_json::Error) -> LoadError {
    let what = e.to_string();
    // serde_json appends " at line L column C"; the position is given apart.
    let message = what
        .rsplit_once(" at line ")
        .map_or(what.as_str(), |(m, _)| m)
        .to_string();
    let message = if e.classify() == serde_json::error::Category::Eof {
        format!("the file ends early (truncated?): {message}")
    } else {
        message
    };
    LoadError::Syntax {
        path: path.to_string(),
        line: e.line(),
        column: e.column(),
        message,
    }
}

impl Dashboard {
    /// Reads a dashboard (also the `{"dashboard": …, "meta": …}` the HTTP API answers).
    /// `path` names the file in errors.
    pub fn parse(text: &str, path: &str) -> Result<Dashboard, LoadError> {
        let v: Value = serde_json::from_str(text).map_err(|e| syntax_error(path, &e))?;
        let not = |message: &str| LoadError::NotDashboard {
            path: path.to_string(),
            message: message.to_string(),
        };
        let v = match v.get("dashboard") {
            Some(d) if d.is_object() && v.get("panels").is_none() => d,
            _ => &v,
        };
        if !v.is_object() {
            return Err(not("the top level is not a JSON object"));
        }
        if v.get("panels").is_none() && v.get("rows").is_none() {
            return Err(not("it has neither \"panels\" nor \"rows\""));
        }
        let rows = match (v["panels"].as_array(), v["rows"].as_array()) {
            (Some(p), _) if !p.is_empty() || v.get("rows").is_none() => panel_rows(p),
            (_, Some(r)) => legacy_rows(r),
            _ => Vec::new(),
        };
        let mut d = Dashboard {
            title: str_of(v, "title").unwrap_or_default(),
            uid: str_of(v, "uid").unwrap_or_default(),
            schema_version: v["schemaVersion"].as_u64().unwrap_or(0),
            refresh: str_of(v, "refresh").filter(|r| !r.is_empty()),
            time_from: time_of(&v["time"]["from"]).unwrap_or_else(|| "now-6h".into()),
            time_to: time_of(&v["time"]["to"]).unwrap_or_else(|| "now".into()),
            timezone: str_of(v, "timezone").unwrap_or_default(),
            week_start: str_of(v, "weekStart").unwrap_or_default(),
            rows,
            template: Vec::new(),
            templating: v["templating"]["list"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            inputs: v["__inputs"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|i| Input {
                            name: str_of(i, "name").unwrap_or_default(),
                            kind: str_of(i, "type").unwrap_or_default(),
                            plugin_id: str_of(i, "pluginId").unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        d.check_datasources();
        d.template = d.rows.clone();
        Ok(d)
    }

    /// Every panel, rows in order.
    pub fn panels(&self) -> impl Iterator<Item = &Panel> {
        self.rows.iter().flat_map(|r| r.panels.iter())
    }

    /// The plugin a datasource reference names, when the dashboard tells: `{type}`, an
    /// `__inputs` entry, or a `datasource` variable's plugin.
    pub fn plugin_of(&self, ds: &DatasourceRef) -> Option<String> {
        match ds {
            DatasourceRef::Ref { kind, uid } => {
                // Grafana's own sources are `{type: "datasource", uid: "-- Mixed --"}` etc.
                if let Some(special) = uid.as_deref().and_then(special_source) {
                    return Some(special.to_string());
                }
                if let Some(k) = kind.as_deref().filter(|k| !k.is_empty()) {
                    return Some(k.to_string());
                }
                uid.as_deref().and_then(|u| self.plugin_of_name(u))
            }
            DatasourceRef::Name(n) => self.plugin_of_name(n),
        }
    }

    fn plugin_of_name(&self, name: &str) -> Option<String> {
        let bare = name
            .trim_start_matches("${")
            .trim_start_matches('$')
            .trim_end_matches('}');
        if let Some(i) = self.inputs.iter().find(|i| i.name == bare) {
            return Some(i.plugin_id.clone());
        }
        if let Some(v) = self
            .templating
            .iter()
            .find(|v| v["type"].as_str() == Some("datasource") && v["name"].as_str() == Some(bare))
        {
            return v["query"].as_str().map(str::to_string);
        }
        special_source(name).map(str::to_string)
    }

    /// Marks queries whose datasource is known and not Prometheus (they are not sent), and
    /// panels where that is every query (not drawn, saying why).
    fn check_datasources(&mut self) {
        // (row, panel, per-query reason)
        let mut found: Vec<(usize, usize, Vec<Option<String>>)> = Vec::new();
        for (ri, row) in self.rows.iter().enumerate() {
            for (pi, p) in row.panels.iter().enumerate() {
                let panel_plugin = p.datasource.as_ref().and_then(|d| self.plugin_of(d));
                let reasons: Vec<Option<String>> = p
                    .targets
                    .iter()
                    .map(|t| {
                        let ds = t.datasource.as_ref().or(p.datasource.as_ref())?;
                        let plugin = self.plugin_of(ds).or_else(|| panel_plugin.clone())?;
                        (!is_prometheus(&plugin)).then(|| {
                            format!("datasource {} ({plugin}) is not Prometheus", ds.shown())
                        })
                    })
                    .collect();
                if reasons.iter().any(Option::is_some) {
                    found.push((ri, pi, reasons));
                }
            }
        }
        for (ri, pi, reasons) in found {
            let Some(p) = self.rows.get_mut(ri).and_then(|r| r.panels.get_mut(pi)) else {
                continue;
            };
            if reasons.iter().all(Option::is_some) {
                p.problem = reasons
                    .first()
                    .cloned()
                    .flatten()
                    .map(|r| format!("{r}: not drawn"));
            }
            for (t, r) in p.targets.iter_mut().zip(reasons) {
                t.skipped = r;
            }
        }
    }
}

/// Grafana's built-in sources by name or uid.
fn special_source(name: &str) -> Option<&'static str> {
    match name {
        "-- Grafana --" | "grafana" => Some("grafana"),
        "-- Dashboard --" => Some("dashboard"),
        "-- Mixed --" => Some("mixed"),
        _ => None,
    }
}

/// Plugins whose queries are PromQL (and mixed panels, decided per query).
pub fn is_prometheus(plugin: &str) -> bool {
    matches!(plugin, "prometheus" | "mixed" | "") || plugin.contains("prometheus")
}

/// Schema 16 and later: a flat `panels` list where `row` panels start rows.
fn panel_rows(panels: &[Value]) -> Vec<Row> {
    let mut rows = vec![Row {
        title: None,
        collapsed: false,
        y: None,
        panels: Vec::new(),
        repeat: None,
        bound: Vec::new(),
    }];
    for v in panels {
        let grid = grid_of(v);
        if v["type"].as_str() == Some("row") {
            let collapsed = bool_of(v, "collapsed");
            let inner = v["panels"]
                .as_array()
                .map(|a| a.iter().map(|p| Panel::parse(p, grid_of(p))).collect())
                .unwrap_or_default();
            rows.push(Row {
                title: Some(str_of(v, "title").unwrap_or_default()),
                collapsed,
                y: Some(grid.y),
                panels: inner,
                repeat: Repeat::parse(v),
                bound: Vec::new(),
            });
        } else if let Some(last) = rows.last_mut() {
            last.panels.push(Panel::parse(v, grid));
        }
    }
    if rows.first().is_some_and(|r| r.panels.is_empty()) && rows.len() > 1 {
        rows.remove(0);
    }
    rows
}

/// Grafana's cell height with its margin, in pixels: legacy row heights become grid rows.
const LEGACY_CELL_PX: f64 = 38.0;

/// Old schemas: `rows[]` of panels with `span` (12 columns) and a row height in pixels. The
/// panels flow left to right and wrap, as Grafana's schema migration places them.
fn legacy_rows(rows: &[Value]) -> Vec<Row> {
    let mut out = Vec::new();
    let mut y = 0u32;
    for r in rows {
        let px = match &r["height"] {
            Value::String(s) => s.trim_end_matches("px").trim().parse::<f64>().ok(),
            Value::Number(n) => n.as_f64(),
            _ => None,
        }
        .unwrap_or(250.0);
        let h = ((px / LEGACY_CELL_PX).ceil() as u32).max(1);
        let show_title = bool_of(r, "showTitle") || bool_of(r, "collapse");
        let header_y = y;
        if show_title {
            y += 1;
        }
        let (mut x, mut row_y, mut max_h) = (0u32, y, 0u32);
        let mut panels = Vec::new();
        for p in r["panels"].as_array().into_iter().flatten() {
            let span = p["span"].as_f64().unwrap_or(12.0).clamp(1.0, 12.0);
            let w = ((span.floor() as u32) * 2).max(1);
            let ph = match &p["height"] {
                Value::String(s) => s.trim_end_matches("px").trim().parse::<f64>().ok(),
                Value::Number(n) => n.as_f64(),
                _ => None,
            }
            .map_or(h, |px| ((px / LEGACY_CELL_PX).ceil() as u32).max(1));
            if x + w > 24 {
                x = 0;
                row_y += max_h;
                max_h = 0;
            }
            panels.push(Panel::parse(
                p,
                GridPos {
                    x,
                    y: row_y,
                    w,
                    h: ph,
                },
            ));
            x += w;
            max_h = max_h.max(ph);
        }
        y = row_y + max_h;
        out.push(Row {
            title: show_title.then(|| str_of(r, "title").unwrap_or_default()),
            collapsed: bool_of(r, "collapse"),
            y: show_title.then_some(header_y),
            panels,
            repeat: Repeat::parse(r),
            bound: Vec::new(),
        });
    }
    out
}

fn grid_of(v: &Value) -> GridPos {
    let g = &v["gridPos"];
    let n = |k: &str, d: u32| g[k].as_u64().map_or(d, |x| x.min(10_000) as u32);
    GridPos {
        x: n("x", 0).min(23),
        y: n("y", 0),
        w: n("w", 12).clamp(1, 24),
        h: n("h", 8).max(1),
    }
}

/// A `time.from`/`time.to`: a string, or epoch milliseconds as a number.
fn time_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn str_of(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

pub(crate) fn bool_of(v: &Value, k: &str) -> bool {
    v.get(k).and_then(Value::as_bool).unwrap_or(false)
}

fn num_str(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
