//! Dashboards: a set of panels, each a title, a PromQL query and a unit, which the overview view
//! draws as labelled sparklines. Holds the built-in overview (promterm's own ingest, targets and
//! alerts, and the built-in host collector's metrics, which carry node_exporter's names), reading
//! the user's own set from `overview.toml` in the config dir, the overview's live state (the
//! answers per panel, the selection), values formatted by unit, and why a panel shows no data.
//! Uses `data` (query results), `format` (compact numbers, durations) and `highlight` (the metric
//! names of a query); the `toml` and `serde` crates read the file.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::data::QueryData;
use super::format::{human_secs, short_num};
use super::highlight::{tokenize, Kind};

/// How far back the overview's sparklines reach, and their step (91 points).
pub const OVERVIEW_RANGE: f64 = 900.0;
pub const OVERVIEW_STEP: f64 = 10.0;
/// Seconds between refreshes of the overview while it is shown.
pub const OVERVIEW_EVERY: f64 = 5.0;

/// How a panel's value is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unit {
    /// A compact number (`2917`, `12.3k`, `10.5`).
    Plain,
    /// Bytes in binary units (`1.5 GiB`).
    Bytes,
    /// Bytes per second (`1.5 MiB/s`).
    BytesPerSec,
    /// A fraction 0–1 written as a percentage.
    Ratio,
    /// A value already in percent.
    Percent,
    /// Seconds (`35ms`, `2.5s`, `3m4s`).
    Seconds,
    /// Events per second (`12.3k/s`).
    PerSec,
    /// Any other unit: written after the number.
    Suffix(String),
}

impl Unit {
    /// The unit named in a panel definition (`""`, `bytes`, `bytes/s`, `ratio`, `percent`,
    /// `seconds`, `/s`, some aliases, or any other text used as a suffix).
    pub fn parse(s: &str) -> Unit {
        match s.trim() {
            "" | "none" | "short" => Unit::Plain,
            "bytes" | "B" => Unit::Bytes,
            "bytes/s" | "B/s" | "Bps" => Unit::BytesPerSec,
            "ratio" | "percentunit" => Unit::Ratio,
            "percent" | "%" => Unit::Percent,
            "seconds" | "s" => Unit::Seconds,
            "/s" | "per_second" | "ops" => Unit::PerSec,
            other => Unit::Suffix(other.to_string()),
        }
    }

    /// `v` written short in this unit.
    pub fn format(&self, v: f64) -> String {
        if !v.is_finite() {
            return short_num(v);
        }
        match self {
            Unit::Plain => compact(v),
            Unit::Bytes => bytes(v),
            Unit::BytesPerSec => format!("{}/s", bytes(v)),
            Unit::Ratio => percent(v * 100.0),
            Unit::Percent => percent(v),
            Unit::Seconds => seconds(v),
            Unit::PerSec => format!("{}/s", compact(v)),
            Unit::Suffix(s) => format!("{} {s}", compact(v)),
        }
    }
}

/// A number for a glance: whole numbers below 10,000 as they are, else three significant
/// digits with `k`, `M`, `G` or `T` (`12.3k`, `10.5`, `0.0123`).
pub fn compact(v: f64) -> String {
    if !v.is_finite() || (v == v.trunc() && v.abs() < 1e4) {
        return short_num(v);
    }
    let a = v.abs();
    let (d, suffix) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e4, "k")]
        .into_iter()
        .find(|(at, _)| a >= *at)
        .map_or((v, ""), |(at, s)| (v / if at == 1e4 { 1e3 } else { at }, s));
    // Digits before the point (0 or less below 1).
    let digits = d.abs().log10().floor() as i32 + 1;
    let decimals = (3 - digits).clamp(0, 8) as usize;
    let s = format!("{d:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        &s
    };
    format!("{s}{suffix}")
}

fn percent(p: f64) -> String {
    let tenths = (p * 10.0).round();
    if tenths % 10.0 == 0.0 || p.abs() >= 99.95 {
        format!("{:.0}%", p.round())
    } else {
        format!("{:.1}%", tenths / 10.0)
    }
}

fn bytes(v: f64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut x = v;
    let mut i = 0;
    while x.abs() >= 1024.0 && i < UNITS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{x:.0} B")
    } else if x.abs() >= 100.0 {
        format!("{x:.0} {}", UNITS[i])
    } else {
        format!("{x:.1} {}", UNITS[i])
    }
}

fn seconds(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0s".into()
    } else if a < 1e-3 {
        format!("{:.0}µs", v * 1e6)
    } else if a < 1.0 {
        format!("{:.0}ms", v * 1e3)
    } else if a < 60.0 {
        format!("{}s", short_num((v * 100.0).round() / 100.0))
    } else {
        human_secs(v)
    }
}

/// One panel: a labelled query.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub title: String,
    pub query: String,
    pub unit: Unit,
}

impl Panel {
    fn new(title: &str, query: &str, unit: &str) -> Panel {
        Panel {
            title: title.to_string(),
            query: query.to_string(),
            unit: Unit::parse(unit),
        }
    }
}

/// The overview of the embedded default config: targets, ingest, the host, alerts. Against
/// other servers the same queries work where the data exists.
pub fn builtin() -> Vec<Panel> {
    vec![
        Panel::new("Targets up", "sum(up)", ""),
        Panel::new("Targets down", "count(up == 0) or vector(0)", ""),
        Panel::new(
            "Samples ingested",
            "sum(rate(prometheus_tsdb_head_samples_appended_total[1m]))",
            "/s",
        ),
        Panel::new("Head series", "sum(prometheus_tsdb_head_series)", ""),
        Panel::new(
            "CPU busy",
            "1 - avg(rate(node_cpu_seconds_total{mode=\"idle\"}[1m]))",
            "ratio",
        ),
        Panel::new(
            "Memory used",
            "1 - sum(node_memory_MemAvailable_bytes) / sum(node_memory_MemTotal_bytes)",
            "ratio",
        ),
        Panel::new("Load 1m", "max(node_load1)", ""),
        Panel::new(
            "Network in",
            "sum(rate(node_network_receive_bytes_total{device!=\"lo\"}[1m]))",
            "bytes/s",
        ),
        Panel::new(
            "Network out",
            "sum(rate(node_network_transmit_bytes_total{device!=\"lo\"}[1m]))",
            "bytes/s",
        ),
        Panel::new(
            "Disk used /",
            "max(1 - node_filesystem_avail_bytes{mountpoint=\"/\"} / node_filesystem_size_bytes{mountpoint=\"/\"})",
            "ratio",
        ),
        Panel::new(
            "Alerts firing",
            "count(ALERTS{alertstate=\"firing\"}) or vector(0)",
            "",
        ),
    ]
}

/// Why a dashboard file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    #[error("{path}: {message}")]
    Read { path: String, message: String },
    #[error("{path}: line {line}, column {column}: {message}")]
    Syntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    panel: Vec<PanelDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PanelDef {
    title: String,
    query: String,
    #[serde(default)]
    unit: String,
}

/// Reads a dashboard file: `[[panel]]` tables with `title`, `query` and an optional `unit`.
/// `path` names the file in errors.
pub fn parse(text: &str, path: &str) -> Result<Vec<Panel>, DashboardError> {
    let file: File = toml::from_str(text).map_err(|e| {
        let message = e.message().trim_end().replace('\n', "; ");
        let (line, column) = e.span().map_or((0, 0), |span| {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            (line, column)
        });
        DashboardError::Syntax {
            path: path.to_string(),
            line,
            column,
            message,
        }
    })?;
    let invalid = |message: String| DashboardError::Invalid {
        path: path.to_string(),
        message,
    };
    if file.panel.is_empty() {
        return Err(invalid("no [[panel]] tables".into()));
    }
    file.panel
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            if p.query.trim().is_empty() {
                return Err(invalid(format!(
                    "panel {} ({:?}) has an empty query",
                    i + 1,
                    p.title
                )));
            }
            Ok(Panel {
                title: p.title,
                query: p.query.trim().to_string(),
                unit: Unit::parse(&p.unit),
            })
        })
        .collect()
}

/// The overview's panels: the user's `path` when it exists, else the built-in set. A file that
/// cannot be used gives the built-in set and the error (shown in one line by the view).
pub fn load(path: Option<&Path>) -> Overview {
    let Some(path) = path.filter(|p| p.exists()) else {
        return Overview::new(builtin());
    };
    let shown = path.display().to_string();
    let read = std::fs::read_to_string(path).map_err(|e| DashboardError::Read {
        path: shown.clone(),
        message: e.to_string(),
    });
    match read.and_then(|text| parse(&text, &shown)) {
        Ok(panels) => {
            let mut o = Overview::new(panels);
            o.source = Some(path.to_path_buf());
            o
        }
        Err(e) => {
            let mut o = Overview::new(builtin());
            o.error = Some(e.to_string());
            o
        }
    }
}

/// The metric names a query reads (in order, once each).
pub fn metric_names(query: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in tokenize(query) {
        let name = &query[t.start..t.end];
        if t.kind == Kind::Metric && !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// One line on why a query returned nothing: a metric the server does not know (when the list
/// of `known` names is there to tell), else that the range held nothing.
pub fn no_data_reason(query: &str, known: &[String]) -> String {
    let names = metric_names(query);
    let missing: Vec<&str> = names
        .iter()
        .filter(|n| !known.iter().any(|k| k == *n))
        .map(String::as_str)
        .collect();
    match missing.as_slice() {
        [] => "no data: the query returned nothing in the last 15m".into(),
        _ if known.is_empty() => format!("no data yet: no samples of {}", missing.join(", ")),
        [one] => format!("no data: {one} is not scraped here"),
        many => format!("no data: {} are not scraped here", many.join(", ")),
    }
}

/// The last answer of one panel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PanelData {
    /// The window asked for: (start, end, step).
    pub window: (f64, f64, f64),
    /// The first series' points; how many series the answer had.
    pub points: Vec<(f64, f64)>,
    pub series: usize,
    pub error: Option<String>,
    /// An answer arrived; a query is on its way.
    pub loaded: bool,
    pub pending: bool,
}

impl PanelData {
    /// The latest finite value.
    pub fn last(&self) -> Option<f64> {
        self.points
            .iter()
            .rev()
            .map(|p| p.1)
            .find(|v| v.is_finite())
    }

    /// An answer came back and held nothing to draw.
    pub fn is_empty(&self) -> bool {
        self.loaded && self.error.is_none() && self.last().is_none()
    }

    /// The values per step of the window (None where the series has no point).
    pub fn slots(&self) -> Vec<Option<f64>> {
        let (start, end, step) = self.window;
        if step <= 0.0 || end < start {
            return Vec::new();
        }
        let n = ((end - start) / step).round() as usize + 1;
        let mut out = vec![None; n];
        for (t, v) in &self.points {
            let i = ((t - start) / step).round();
            if i >= 0.0 && (i as usize) < n && v.is_finite() {
                out[i as usize] = Some(*v);
            }
        }
        out
    }
}

/// The overview's state: its panels, their answers, the selection.
#[derive(Debug, Clone)]
pub struct Overview {
    pub panels: Vec<Panel>,
    pub data: Vec<PanelData>,
    /// Why the user's file was not used (the built-in set is shown instead).
    pub error: Option<String>,
    /// The user's file, when its panels are shown.
    pub source: Option<PathBuf>,
    pub selected: usize,
    /// Panels per row as last drawn (the view sets it, like ratatui's list offsets), so that
    /// Up and Down move by a row.
    pub cols: Cell<usize>,
    /// When the panels were last asked for, and the metric names (for no-data reasons).
    pub last_fetch: f64,
    pub last_names: f64,
}

impl Overview {
    pub fn new(panels: Vec<Panel>) -> Overview {
        let data = vec![PanelData::default(); panels.len()];
        Overview {
            panels,
            data,
            error: None,
            source: None,
            selected: 0,
            cols: Cell::new(1),
            last_fetch: f64::NEG_INFINITY,
            last_names: f64::NEG_INFINITY,
        }
    }

    /// Takes in one panel's answer (one that no longer has a panel is dropped).
    pub fn answer(
        &mut self,
        index: usize,
        window: (f64, f64, f64),
        result: Result<QueryData, String>,
    ) {
        let Some(d) = self.data.get_mut(index) else {
            return;
        };
        d.pending = false;
        d.loaded = true;
        d.window = window;
        match result {
            Ok(QueryData::Matrix(s) | QueryData::Vector(s)) => {
                d.series = s.len();
                d.points = s.into_iter().next().map(|s| s.points).unwrap_or_default();
                d.error = None;
            }
            Ok(QueryData::Scalar(t, v)) => {
                d.series = 1;
                d.points = vec![(t, v)];
                d.error = None;
            }
            Ok(QueryData::Str(..)) => {
                d.series = 0;
                d.points.clear();
                d.error = Some("the query gives a string, not numbers".into());
            }
            Ok(QueryData::Empty) => {
                d.series = 0;
                d.points.clear();
                d.error = None;
            }
            Err(e) => {
                d.points.clear();
                d.series = 0;
                d.error = Some(e);
            }
        }
    }

    /// Moves the selection by `delta` panels, staying on the grid.
    pub fn step(&mut self, delta: isize) {
        let n = self.panels.len() as isize;
        let to = self.selected as isize + delta;
        if (0..n).contains(&to) {
            self.selected = to as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::data::SeriesData;

    #[test]
    fn values_are_written_in_their_unit() {
        let f = |u: &str, v: f64| Unit::parse(u).format(v);
        assert_eq!(f("", 12345.0), "12.3k");
        assert_eq!(f("", 2917.0), "2917");
        assert_eq!(f("", 1234.6), "1235");
        assert_eq!(f("", 10.468), "10.5");
        assert_eq!(f("", 0.25), "0.25");
        assert_eq!(f("", 0.012345), "0.0123");
        assert_eq!(f("", -2.5e9), "-2.5G");
        assert_eq!(f("", 999999.0), "1000k");
        assert_eq!(f("bytes", 512.0), "512 B");
        assert_eq!(f("bytes", 1.5 * 1024.0 * 1024.0 * 1024.0), "1.5 GiB");
        assert_eq!(f("bytes/s", 300.0 * 1024.0), "300 KiB/s");
        assert_eq!(f("ratio", 0.4217), "42.2%");
        assert_eq!(f("ratio", 1.0), "100%");
        assert_eq!(f("ratio", 0.25), "25%");
        assert_eq!(f("percent", 99.97), "100%");
        assert_eq!(f("percent", 0.0), "0%");
        assert_eq!(f("seconds", 0.035), "35ms");
        assert_eq!(f("seconds", 2.5), "2.5s");
        assert_eq!(f("seconds", 184.0), "3m4s");
        assert_eq!(f("/s", 1500.0), "1500/s");
        assert_eq!(f("/s", 13.951), "14/s");
        assert_eq!(f("°C", 21.5), "21.5 °C");
        assert_eq!(f("bytes", f64::NAN), "NaN");
    }

    #[test]
    fn a_file_replaces_the_builtin_panels_and_a_bad_one_falls_back() {
        let panels = parse(
            "[[panel]]\ntitle = \"Heap\"\nquery = \"go_memstats_heap_alloc_bytes\"\nunit = \"bytes\"\n\n\
             [[panel]]\ntitle = \"Up\"\nquery = \" sum(up) \"\n",
            "o.toml",
        )
        .unwrap();
        assert_eq!(panels.len(), 2);
        assert_eq!(panels[0].unit, Unit::Bytes);
        assert_eq!(
            (panels[1].query.as_str(), &panels[1].unit),
            ("sum(up)", &Unit::Plain)
        );
        let e = parse("[[panel]]\ntitle = \"x\"\nquery = \n", "o.toml").unwrap_err();
        assert!(
            e.to_string().starts_with("o.toml: line 3, column 9: "),
            "{e}"
        );
        assert!(!e.to_string().contains('\n'), "one line: {e}");
        let e = parse("[[panel]]\ntitle = \"x\"\n", "o.toml").unwrap_err();
        assert!(e.to_string().contains("missing field `query`"), "{e}");
        let e = parse(
            "[[panel]]\ntitle = \"x\"\nquery = \"up\"\nunits = \"s\"\n",
            "o.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("unknown field `units`"), "{e}");
        let e = parse("[[panel]]\ntitle = \"x\"\nquery = \"  \"\n", "o.toml").unwrap_err();
        assert_eq!(e.to_string(), "o.toml: panel 1 (\"x\") has an empty query");
        assert_eq!(
            parse("", "o.toml").unwrap_err().to_string(),
            "o.toml: no [[panel]] tables"
        );

        // Loading: no file is the built-in set without an error; a bad file names itself.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("overview.toml");
        let o = load(Some(&path));
        assert_eq!((o.panels, o.error, o.source), (builtin(), None, None));
        assert_eq!(load(None).panels, builtin());
        std::fs::write(&path, "[[panel]]\ntitle = \"Heap\"\nquery = \"heap\"\n").unwrap();
        let o = load(Some(&path));
        assert_eq!(o.panels[0].title, "Heap");
        assert_eq!(
            (o.data.len(), o.source.as_deref()),
            (1, Some(path.as_path()))
        );
        std::fs::write(&path, "[[panel]\n").unwrap();
        let o = load(Some(&path));
        assert_eq!(o.panels, builtin());
        let e = o.error.unwrap();
        assert!(e.starts_with(&format!("{}: line 1", path.display())), "{e}");
    }

    #[test]
    fn empty_answers_name_the_missing_metric() {
        assert_eq!(
            metric_names("1 - sum(a_bytes) / sum(b_bytes{x=\"y\"}) or a_bytes or vector(0)"),
            ["a_bytes", "b_bytes"]
        );
        let known = vec!["up".to_string(), "a".to_string()];
        assert_eq!(
            no_data_reason("max(node_load1)", &known),
            "no data: node_load1 is not scraped here"
        );
        assert_eq!(
            no_data_reason("x / y", &known),
            "no data: x, y are not scraped here"
        );
        assert_eq!(
            no_data_reason("count(up == 0)", &known),
            "no data: the query returned nothing in the last 15m"
        );
        assert_eq!(
            no_data_reason("max(node_load1)", &[]),
            "no data yet: no samples of node_load1"
        );
    }

    #[test]
    fn answers_are_kept_per_panel_on_the_window_steps() {
        let mut o = Overview::new(builtin());
        o.data[0].pending = true;
        let series = |v: f64| SeriesData {
            labels: Default::default(),
            points: vec![(100.0, 1.0), (120.0, v)],
            ..Default::default()
        };
        o.answer(
            0,
            (100.0, 130.0, 10.0),
            Ok(QueryData::Matrix(vec![series(f64::NAN), series(3.0)])),
        );
        let d = &o.data[0];
        assert!(!d.pending && d.loaded && !d.is_empty());
        assert_eq!((d.series, d.last()), (2, Some(1.0)), "the first series");
        assert_eq!(d.slots(), [Some(1.0), None, None, None]);
        o.answer(1, (0.0, 10.0, 10.0), Ok(QueryData::Matrix(vec![])));
        assert!(o.data[1].is_empty());
        o.answer(2, (0.0, 10.0, 10.0), Err("bad_data: boom".into()));
        assert!(!o.data[2].is_empty() && o.data[2].error.is_some());
        o.answer(99, (0.0, 10.0, 10.0), Err("gone".into()));
        o.step(-1);
        assert_eq!(o.selected, 0);
        o.step(4);
        o.step(100);
        assert_eq!(o.selected, 4);
    }
}
