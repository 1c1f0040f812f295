//! The TUI's state and how keys and data change it (`App::key`, `App::msg`, `App::tick`).
//! Nothing here draws or does I/O: changes that need data return `Cmd`s for the event loop,
//! whose answers come back as `Msg`s. That keeps every behaviour testable without a terminal.
//!
//! This file holds the state (`App`, `Focus`, `View`, `Cmd`, `Msg`, the popup) and what is
//! read from it (filtered lists, sorted series, the graph window). The changes live beside it,
//! each file using only those before it: `grafana_vars` (the dashboard's variable bar) and
//! `grafana_time` (its shared range and time cursor), `grafana` (the Grafana dashboard opened
//! with `--dashboard`: its variables, rounds of panel queries, answers, scrolling and keys),
//! `dash_select` (selecting a dashboard panel, full screen, its query into the prompt; the
//! selection itself is `dash_state`),
//! `dash_save` (panels added from the prompt, saving, the dashboards list),
//! `exemplars` (the graph's exemplars: which are in
//! view, the one at the cursor, jumping to the next, showing or hiding them), `actions` (run a
//! query, focus, views, the clock),
//! `overview` (the overview's refresh and keys), `completion` (the popup and the data it
//! needs), `relabel` (the targets pane's dropped list and relabeling view), `msg` (fetched
//! data), `prompt_keys` (the line editor, history search, popup keys), `keys` (every other
//! key) and `mouse` (clicks, the wheel and drags, on what `render` found under the pointer).
//! Uses `complete`, `dashboard`, `data`, `grafana`, `heatmap`, `highlight`, `prompt` and
//! `theme`, and
//! `client::stats` (a result's query statistics).

use std::collections::{BTreeMap, BTreeSet};

use super::complete::{Candidate, Known};
use super::dashboard::Overview;
use super::data::{
    AlertRow, DiscoveryError, DroppedTarget, ExemplarSeries, QueryData, RuleRow, StepRow, Target,
    TargetsData,
};
use super::prompt::{Editor, History};
use super::theme::Theme;
use crate::client::stats::Stats;

mod actions;
mod completion;
pub mod dash_save;
pub mod dash_select;
pub mod dash_state;
mod exemplars;
pub mod grafana;
pub mod grafana_time;
pub mod grafana_vars;
mod keys;
mod mouse;
mod msg;
mod overview;
mod prompt_keys;
mod relabel;

pub use exemplars::ExemplarPoint;
pub use mouse::{Hit, Mouse, Spot};

/// Panes that take keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Prompt,
    Results,
    Targets,
    Alerts,
}

/// What the main pane (or, on small terminals, the whole screen) shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Query,
    Targets,
    Alerts,
    Rules,
    Metrics,
    /// The grid of sparkline panels shown on arrival.
    Overview,
}

/// The views in the order of their number keys (`1`…`6`).
pub const VIEWS: [(View, &str); 6] = [
    (View::Query, "Query"),
    (View::Targets, "Targets"),
    (View::Alerts, "Alerts"),
    (View::Rules, "Rules"),
    (View::Metrics, "Metrics"),
    (View::Overview, "Overview"),
];

/// Work for the event loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// An instant query at `time`, or a range query.
    Query {
        id: u64,
        expr: String,
        time: f64,
        range: Option<(f64, f64, f64)>,
    },
    Targets,
    Rules,
    Metadata,
    MetricNames,
    SeriesCounts,
    LabelNames {
        metric: String,
    },
    LabelValues {
        metric: String,
        label: String,
    },
    /// promterm's remote-write senders (other servers answer 404; ignored).
    RemoteWrite,
    /// The relabeling steps of a target of `pool` with these discovered labels (Prometheus 3.x
    /// and promterm; others answer 404 and the view shows the two label sets only).
    RelabelSteps {
        pool: String,
        labels: super::data::LabelSet,
    },
    /// A range query for overview panel `index` over `range` (start, end, step).
    Panel {
        index: usize,
        expr: String,
        range: (f64, f64, f64),
    },
    /// Why query `id` (evaluated at `time`, the end of a range) answered no series.
    Explain {
        id: u64,
        expr: String,
        time: f64,
    },
    /// The exemplars of graphed query `id` within `range` (start, end).
    Exemplars {
        id: u64,
        expr: String,
        range: (f64, f64),
    },
    /// A Grafana dashboard panel's query of refresh `round`: a range query over `range`
    /// (start, end, step), else an instant query at `time`.
    DashQuery {
        round: u64,
        key: grafana::QueryKey,
        expr: String,
        time: f64,
        range: Option<(f64, f64, f64)>,
    },
    /// The API call listing dashboard variable `index`'s options (its `query` interpolated).
    DashVar {
        index: usize,
        query: String,
        request: super::grafana::vars::VarRequest,
    },
    /// Listing, reading or saving dashboard files.
    DashFile(super::grafana::files::FileOp),
}

/// Data the loop fetched.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Query {
        id: u64,
        result: Result<(QueryData, Vec<String>), String>,
        seconds: f64,
        /// The server's query statistics, when it gave them.
        stats: Option<Stats>,
    },
    Targets(Result<TargetsData, String>),
    Rules(Result<(Vec<RuleRow>, Vec<AlertRow>), String>),
    /// The answer to `Cmd::RelabelSteps` for these labels.
    RelabelSteps {
        pool: String,
        labels: super::data::LabelSet,
        result: Result<Vec<StepRow>, String>,
    },
    Metadata(BTreeMap<String, (String, String)>),
    MetricNames(Vec<String>),
    SeriesCounts(BTreeMap<String, usize>),
    LabelNames {
        metric: String,
        names: Vec<String>,
    },
    LabelValues {
        metric: String,
        label: String,
        values: Vec<String>,
    },
    RemoteWrite(Vec<super::data::SenderRow>),
    Panel {
        index: usize,
        range: (f64, f64, f64),
        result: Result<QueryData, String>,
    },
    /// A dashboard panel query's answer (`expr` as sent).
    DashQuery {
        round: u64,
        key: grafana::QueryKey,
        expr: String,
        result: Result<QueryData, String>,
    },
    /// A dashboard variable's API answer (the `data` field).
    DashVar {
        index: usize,
        query: String,
        result: Result<serde_json::Value, String>,
    },
    /// What the dashboard file work did.
    DashFile(super::grafana::files::FileDone),
    /// Why query `id` answered no series (no lines: not known).
    Explain {
        id: u64,
        lines: Vec<String>,
    },
    /// The exemplars of query `id` (none when the server keeps none or the request failed).
    Exemplars {
        id: u64,
        exemplars: Vec<ExemplarSeries>,
    },
}

/// Instant results sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Labels,
    Value,
}

/// The completion popup.
#[derive(Debug, Clone, PartialEq)]
pub struct Popup {
    pub items: Vec<Candidate>,
    pub selected: usize,
    /// Where the replaced prefix starts.
    pub start: usize,
    /// Opened by Tab before its data arrived: a single candidate is inserted on arrival.
    pub waiting: bool,
}

/// The relabeling view of one target: its discovered labels beside its target labels (or the
/// rule that dropped it), and the relabeling steps once they come.
#[derive(Debug, Clone, PartialEq)]
pub struct RelabelView {
    pub pool: String,
    pub discovered: super::data::LabelSet,
    /// The target labels of an active target; `None` for a dropped one.
    pub labels: Option<super::data::LabelSet>,
    /// For a dropped target, the rule that dropped it when the server says.
    pub dropped_by: Option<(usize, String)>,
    /// `None` while asked for; an error when the server has no relabel_steps.
    pub steps: Option<Result<Vec<StepRow>, String>>,
    /// The first line shown.
    pub scroll: u16,
}

/// Everything on screen.
pub struct App {
    pub theme: Theme,
    pub editor: Editor,
    pub history: History,
    /// Ctrl-R search: the text searched, and the history index found.
    pub search: Option<(String, Option<usize>)>,
    pub popup: Option<Popup>,
    pub focus: Focus,
    pub view: View,
    /// Set by the renderer from the terminal size: one screen (true) or tabs.
    pub wide: bool,
    pub help: bool,
    /// Last query's error and annotations.
    pub error: Option<String>,
    pub warnings: Vec<String>,
    /// Why the last query answered no series, when known.
    pub explanation: Vec<String>,
    /// Parse error of the text being typed: (message, line, column) if known.
    pub live_error: Option<(String, usize, usize)>,
    /// The query whose result is shown.
    pub shown_expr: String,
    pub result: QueryData,
    pub result_seconds: f64,
    /// The shown result's query statistics (server time and samples), if the server gave them.
    pub result_stats: Option<Stats>,
    pub running: bool,
    pub query_id: u64,
    pub graph: bool,
    /// With `graph`: a histogram result is shown as a heatmap (`g` cycles graph, heatmap,
    /// table when the result is a histogram).
    pub heatmap: bool,
    /// The heatmap cursor's row (lowest bucket 0; None: the median's row), the histogram
    /// series shown (`n`/`N`), and, as the heatmap last drew (a `Cell`: drawing takes `&App`),
    /// its number of rows and the cursor's row.
    pub heat_row: Option<usize>,
    pub heat_series: usize,
    pub heat_rows: std::cell::Cell<(usize, usize)>,
    pub range_secs: f64,
    /// How far the graph's end is before now (panning).
    pub end_offset: f64,
    pub live: bool,
    pub last_run: f64,
    pub cursor: Option<usize>,
    pub hidden: BTreeSet<usize>,
    pub legend_sel: usize,
    /// The legend's first row as last placed by the mouse (the legend scrolls from it to keep
    /// the selection in sight).
    pub legend_top: usize,
    /// A drag on the graph: the times where it started and where it is now.
    pub drag: Option<(f64, f64)>,
    /// The graphed query's exemplars, whether they are shown (`e`, on at start, kept for the
    /// session), and the one `n`/`N` last jumped to (an index into `exemplar_points`).
    pub exemplars: Vec<ExemplarSeries>,
    pub show_exemplars: bool,
    pub exemplar_sel: Option<usize>,
    pub table_sel: usize,
    pub sort: SortKey,
    pub sort_desc: bool,
    pub utc: bool,
    pub targets: Vec<Target>,
    pub targets_error: Option<String>,
    pub targets_filter: String,
    pub filter_editing: bool,
    pub targets_sel: usize,
    /// Targets dropped by relabeling, and failing discoverers (promterm says).
    pub dropped: Vec<DroppedTarget>,
    pub discovery_errors: Vec<DiscoveryError>,
    /// The targets pane lists the dropped targets instead of the active ones (`d`).
    pub show_dropped: bool,
    /// The open relabeling view (Enter on a target).
    pub relabel: Option<RelabelView>,
    pub alerts: Vec<AlertRow>,
    pub rules: Vec<RuleRow>,
    pub rules_error: Option<String>,
    pub alerts_sel: usize,
    pub rules_sel: usize,
    pub known: Known,
    pub series_counts: BTreeMap<String, usize>,
    /// Remote-write senders (promterm only).
    pub senders: Vec<super::data::SenderRow>,
    pub metrics_filter: String,
    pub metrics_sel: usize,
    /// When the metrics explorer's data (names, metadata, series counts) was last asked for.
    pub metrics_at: f64,
    /// The first help line shown, and what the help view found room for when it last drew:
    /// (the largest useful scroll, lines per page). A `Cell` because drawing takes `&App`.
    pub help_scroll: u16,
    pub help_bounds: std::cell::Cell<(u16, u16)>,
    /// The overview's panels and their latest answers.
    pub overview: Overview,
    /// The Grafana dashboard opened with `--dashboard`.
    pub grafana: Option<grafana::DashView>,
    /// The dashboards directory, its list, the last save or add (`dash_save`).
    pub dash_files: dash_save::DashFiles,
    pub quit: bool,
    /// The clock (unix seconds); tests set it.
    pub now: f64,
    /// The server the TUI talks to (shown in the status line).
    pub source_name: String,
}

/// Graph ranges offered by `+`/`-`.
const RANGES: [f64; 10] = [
    300.0, 900.0, 1800.0, 3600.0, 10800.0, 21600.0, 43200.0, 86400.0, 172800.0, 604800.0,
];

/// Seconds between live refreshes of the graph, and between target/alert refreshes.
pub const LIVE_EVERY: f64 = 5.0;
pub const PANELS_EVERY: f64 = 5.0;

fn wall_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl App {
    pub fn new(theme: Theme, history: History, source_name: &str) -> App {
        let now = wall_now();
        App {
            theme,
            editor: Editor::default(),
            history,
            search: None,
            popup: None,
            focus: Focus::Prompt,
            view: View::Query,
            wide: true,
            help: false,
            error: None,
            warnings: Vec::new(),
            explanation: Vec::new(),
            live_error: None,
            shown_expr: String::new(),
            result: QueryData::Empty,
            result_seconds: 0.0,
            result_stats: None,
            running: false,
            query_id: 0,
            graph: false,
            heatmap: false,
            heat_row: None,
            heat_series: 0,
            heat_rows: std::cell::Cell::new((usize::MAX, 0)),
            range_secs: 3600.0,
            end_offset: 0.0,
            live: false,
            last_run: 0.0,
            cursor: None,
            hidden: BTreeSet::new(),
            legend_sel: 0,
            legend_top: 0,
            drag: None,
            exemplars: Vec::new(),
            show_exemplars: true,
            exemplar_sel: None,
            table_sel: 0,
            sort: SortKey::Labels,
            sort_desc: false,
            utc: false,
            targets: Vec::new(),
            targets_error: None,
            targets_filter: String::new(),
            filter_editing: false,
            targets_sel: 0,
            dropped: Vec::new(),
            discovery_errors: Vec::new(),
            show_dropped: false,
            relabel: None,
            alerts: Vec::new(),
            rules: Vec::new(),
            rules_error: None,
            alerts_sel: 0,
            rules_sel: 0,
            known: Known::default(),
            series_counts: BTreeMap::new(),
            senders: Vec::new(),
            metrics_filter: String::new(),
            metrics_sel: 0,
            metrics_at: now,
            help_scroll: 0,
            help_bounds: std::cell::Cell::new((u16::MAX, 10)),
            overview: Overview::new(super::dashboard::builtin()),
            grafana: None,
            dash_files: dash_save::DashFiles::default(),
            quit: false,
            now,
            source_name: source_name.to_string(),
        }
    }

    /// Targets after the `/` filter, in display order.
    pub fn visible_targets(&self) -> Vec<&Target> {
        let f = self.targets_filter.to_lowercase();
        self.targets
            .iter()
            .filter(|t| {
                f.is_empty()
                    || t.pool.to_lowercase().contains(&f)
                    || t.instance.to_lowercase().contains(&f)
                    || t.health.contains(&f)
                    || t.last_error.to_lowercase().contains(&f)
                    || t.labels.values().any(|v| v.to_lowercase().contains(&f))
            })
            .collect()
    }

    /// Dropped targets after the `/` filter, in display order.
    pub fn visible_dropped(&self) -> Vec<&DroppedTarget> {
        let f = self.targets_filter.to_lowercase();
        self.dropped
            .iter()
            .filter(|t| {
                f.is_empty()
                    || t.pool.to_lowercase().contains(&f)
                    || t.discovered.values().any(|v| v.to_lowercase().contains(&f))
                    || t.dropped_by.as_ref().is_some_and(|(_, a)| a.contains(&f))
            })
            .collect()
    }

    /// How many rows the targets pane's list has now (active or dropped).
    pub fn targets_len(&self) -> usize {
        if self.show_dropped {
            self.visible_dropped().len()
        } else {
            self.visible_targets().len()
        }
    }

    /// Metric names after the filter.
    pub fn visible_metrics(&self) -> Vec<&String> {
        let f = self.metrics_filter.to_lowercase();
        self.known
            .metrics
            .iter()
            .filter(|m| {
                f.is_empty()
                    || m.to_lowercase().contains(&f)
                    || self
                        .known
                        .metadata
                        .get(*m)
                        .is_some_and(|(_, h)| h.to_lowercase().contains(&f))
            })
            .collect()
    }

    /// The series of the result in table order (instant) or legend order (range).
    pub fn sorted_series(&self) -> Vec<(usize, &super::data::SeriesData)> {
        let list = match &self.result {
            QueryData::Vector(v) | QueryData::Matrix(v) => v,
            _ => return Vec::new(),
        };
        let mut idx: Vec<(usize, &super::data::SeriesData)> = list.iter().enumerate().collect();
        if matches!(self.result, QueryData::Vector(_)) {
            match self.sort {
                SortKey::Labels => idx.sort_by(|a, b| a.1.labels.cmp(&b.1.labels)),
                SortKey::Value => idx.sort_by(|a, b| {
                    let x = a.1.points.first().map_or(f64::NAN, |p| p.1);
                    let y = b.1.points.first().map_or(f64::NAN, |p| p.1);
                    x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal)
                }),
            }
            if self.sort_desc {
                idx.reverse();
            }
        }
        idx
    }

    /// The graph's time window (start, end, step) now.
    pub fn window(&self) -> (f64, f64, f64) {
        let end = (self.now - self.end_offset).floor();
        let start = end - self.range_secs;
        let step = (self.range_secs / 240.0).max(1.0).round();
        (start, end, step)
    }

    /// Whether the results pane shows a heatmap now: the heatmap chosen, over a range result
    /// that is a histogram.
    pub fn showing_heatmap(&self) -> bool {
        self.graph
            && self.heatmap
            && matches!(self.result, QueryData::Matrix(_))
            && super::heatmap::is_histogram(&self.result)
    }

    /// Number of steps in the graph window (positions of the value cursor).
    pub fn point_count(&self) -> usize {
        let (s, e, step) = self.window();
        ((e - s) / step) as usize + 1
    }

    /// Counts of alerts by state: (firing, pending, rules without active alerts).
    pub fn alert_counts(&self) -> (usize, usize, usize) {
        let firing = self.alerts.iter().filter(|a| a.state == "firing").count();
        let pending = self.alerts.iter().filter(|a| a.state == "pending").count();
        let inactive = self
            .rules
            .iter()
            .filter(|r| r.kind == "alerting" && r.state == "inactive")
            .count();
        (firing, pending, inactive)
    }
}

/// `1:5: parse error: msg` → (message, line, column); 0s when there is no position.
pub fn parse_position(e: &str) -> (String, usize, usize) {
    let mut parts = e.splitn(3, ':');
    let l = parts.next().and_then(|x| x.trim().parse::<usize>().ok());
    let c = parts.next().and_then(|x| x.trim().parse::<usize>().ok());
    match (l, c, parts.next()) {
        (Some(l), Some(c), Some(rest)) => (rest.trim().to_string(), l, c),
        _ => (e.to_string(), 0, 0),
    }
}

#[cfg(test)]
mod tests;
