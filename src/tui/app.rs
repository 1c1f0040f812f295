//! The TUI's state and how keys and data change it (`App::key`, `App::msg`, `App::tick`).
//! Nothing here draws or does I/O: changes that need data return `Cmd`s for the event loop,
//! whose answers come back as `Msg`s. That keeps every behaviour testable without a terminal.

use std::collections::{BTreeMap, BTreeSet};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::complete::{candidates, Candidate, Known};
use super::data::{AlertRow, QueryData, RuleRow, Target};
use super::highlight::{context, Context};
use super::prompt::{Editor, History};
use super::theme::Theme;

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
}

pub const VIEWS: [(View, &str); 5] = [
    (View::Query, "Query"),
    (View::Targets, "Targets"),
    (View::Alerts, "Alerts"),
    (View::Rules, "Rules"),
    (View::Metrics, "Metrics"),
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
}

/// Data the loop fetched.
#[derive(Debug, Clone, PartialEq)]
pub enum Msg {
    Query {
        id: u64,
        result: Result<(QueryData, Vec<String>), String>,
        seconds: f64,
    },
    Targets(Result<Vec<Target>, String>),
    Rules(Result<(Vec<RuleRow>, Vec<AlertRow>), String>),
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
    /// Parse error of the text being typed: (message, line, column) if known.
    pub live_error: Option<(String, usize, usize)>,
    /// The query whose result is shown.
    pub shown_expr: String,
    pub result: QueryData,
    pub result_seconds: f64,
    pub running: bool,
    pub query_id: u64,
    pub graph: bool,
    pub range_secs: f64,
    /// How far the graph's end is before now (panning).
    pub end_offset: f64,
    pub live: bool,
    pub last_run: f64,
    pub cursor: Option<usize>,
    pub hidden: BTreeSet<usize>,
    pub legend_sel: usize,
    pub table_sel: usize,
    pub sort: SortKey,
    pub sort_desc: bool,
    pub utc: bool,
    pub targets: Vec<Target>,
    pub targets_error: Option<String>,
    pub targets_filter: String,
    pub filter_editing: bool,
    pub targets_sel: usize,
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
            live_error: None,
            shown_expr: String::new(),
            result: QueryData::Empty,
            result_seconds: 0.0,
            running: false,
            query_id: 0,
            graph: false,
            range_secs: 3600.0,
            end_offset: 0.0,
            live: false,
            last_run: 0.0,
            cursor: None,
            hidden: BTreeSet::new(),
            legend_sel: 0,
            table_sel: 0,
            sort: SortKey::Labels,
            sort_desc: false,
            utc: false,
            targets: Vec::new(),
            targets_error: None,
            targets_filter: String::new(),
            filter_editing: false,
            targets_sel: 0,
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
            quit: false,
            now: wall_now(),
            source_name: source_name.to_string(),
        }
    }

    /// Requests sent at start: panels and completion data.
    pub fn start(&mut self) -> Vec<Cmd> {
        vec![
            Cmd::Targets,
            Cmd::Rules,
            Cmd::MetricNames,
            Cmd::Metadata,
            Cmd::SeriesCounts,
            Cmd::RemoteWrite,
        ]
    }

    /// The clock moved on (called about once a second).
    pub fn tick(&mut self, now: f64, panels_due: bool) -> Vec<Cmd> {
        self.now = now;
        let mut out = Vec::new();
        if panels_due {
            out.push(Cmd::Targets);
            out.push(Cmd::Rules);
            out.push(Cmd::RemoteWrite);
        }
        if self.live && self.graph && !self.running && now - self.last_run >= LIVE_EVERY {
            if let Some(c) = self.run(self.shown_expr.clone()) {
                out.push(c);
            }
        }
        out
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

    fn run(&mut self, expr: String) -> Option<Cmd> {
        if expr.trim().is_empty() {
            return None;
        }
        self.query_id += 1;
        self.running = true;
        self.last_run = self.now;
        self.shown_expr = expr.clone();
        let range = self.graph.then(|| self.window());
        Some(Cmd::Query {
            id: self.query_id,
            expr,
            time: self.now,
            range,
        })
    }

    fn submit(&mut self) -> Vec<Cmd> {
        let q = self.editor.text().trim().to_string();
        if q.is_empty() {
            return Vec::new();
        }
        self.history.push(&q);
        self.popup = None;
        self.cursor = None;
        self.hidden.clear();
        self.table_sel = 0;
        self.legend_sel = 0;
        self.run(q).into_iter().collect()
    }

    fn check_syntax(&mut self) {
        let text = self.editor.text();
        if text.trim().is_empty() {
            self.live_error = None;
            return;
        }
        self.live_error = match crate::promql::engine::parse(text) {
            Ok(_) => None,
            Err(e) => Some(parse_position(&e.to_string())),
        };
    }

    fn focus_order(&self) -> Vec<Focus> {
        if self.wide {
            vec![Focus::Prompt, Focus::Results, Focus::Targets, Focus::Alerts]
        } else {
            match self.view {
                View::Query => vec![Focus::Prompt, Focus::Results],
                View::Targets => vec![Focus::Targets],
                View::Alerts => vec![Focus::Alerts],
                View::Rules | View::Metrics => vec![Focus::Results],
            }
        }
    }

    fn move_focus(&mut self, forward: bool) {
        let order = self.focus_order();
        let i = order.iter().position(|f| *f == self.focus).unwrap_or(0);
        let n = order.len();
        self.focus = order[if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        }];
        self.popup = None;
    }

    /// Selects a view; on one screen Targets and Alerts are panes, so they get focus.
    pub fn set_view(&mut self, v: View) {
        if self.wide {
            match v {
                View::Targets => self.focus = Focus::Targets,
                View::Alerts => self.focus = Focus::Alerts,
                View::Query => {
                    self.view = View::Query;
                    self.focus = Focus::Prompt;
                }
                View::Rules | View::Metrics => {
                    self.view = v;
                    self.focus = Focus::Results;
                }
            }
        } else {
            self.view = v;
            self.focus = match v {
                View::Query => Focus::Prompt,
                View::Targets => Focus::Targets,
                View::Alerts => Focus::Alerts,
                View::Rules | View::Metrics => Focus::Results,
            };
        }
    }

    /// Keeps focus valid after a resize between one screen and tabs.
    pub fn set_wide(&mut self, wide: bool) {
        if self.wide == wide {
            return;
        }
        self.wide = wide;
        if !wide {
            self.view = match self.focus {
                Focus::Targets => View::Targets,
                Focus::Alerts => View::Alerts,
                _ => self.view,
            };
        } else if matches!(self.view, View::Targets | View::Alerts) {
            self.view = View::Query;
        }
    }

    /// A mouse click or wheel over `pane` (with `--mouse`): focus it, and scroll it.
    pub fn mouse(&mut self, pane: Option<Focus>, scroll: Option<bool>) -> Vec<Cmd> {
        let Some(p) = pane else { return Vec::new() };
        if self.help {
            self.help = false;
            return Vec::new();
        }
        self.focus = p;
        self.popup = None;
        match (scroll, p) {
            (Some(down), f) if f != Focus::Prompt => {
                let code = if down { KeyCode::Down } else { KeyCode::Up };
                self.key(KeyEvent::new(code, KeyModifiers::NONE))
            }
            _ => Vec::new(),
        }
    }

    /// Handles a key; returns work for the loop.
    pub fn key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let alt = k.modifiers.contains(KeyModifiers::ALT);
        if ctrl && k.code == KeyCode::Char('c') {
            self.quit = true;
            return Vec::new();
        }
        if self.help {
            self.help = false;
            return Vec::new();
        }
        if k.code == KeyCode::F(1) {
            self.help = true;
            return Vec::new();
        }
        if k.code == KeyCode::BackTab {
            self.move_focus(false);
            return Vec::new();
        }
        if self.focus == Focus::Prompt {
            return self.prompt_key(k, ctrl, alt);
        }
        // Filter editing in the targets pane or the metrics explorer.
        if self.filter_editing {
            let filter = if self.focus == Focus::Targets {
                &mut self.targets_filter
            } else {
                &mut self.metrics_filter
            };
            match k.code {
                KeyCode::Esc => {
                    filter.clear();
                    self.filter_editing = false;
                }
                KeyCode::Enter => self.filter_editing = false,
                KeyCode::Backspace => {
                    filter.pop();
                }
                KeyCode::Char(c) if !ctrl => filter.push(c),
                _ => {}
            }
            self.targets_sel = 0;
            self.metrics_sel = 0;
            return Vec::new();
        }
        match k.code {
            KeyCode::Char('q') => {
                self.quit = true;
                return Vec::new();
            }
            KeyCode::Char('?') => {
                self.help = true;
                return Vec::new();
            }
            KeyCode::Tab => {
                self.move_focus(true);
                return Vec::new();
            }
            KeyCode::Esc => {
                self.set_view(View::Query);
                return Vec::new();
            }
            KeyCode::Char(c @ '1'..='5') => {
                let i = (c as u8 - b'1') as usize;
                self.set_view(VIEWS[i].0);
                return Vec::new();
            }
            _ => {}
        }
        match self.focus {
            Focus::Results => match self.view {
                View::Rules => self.rules_key(k),
                View::Metrics => self.metrics_key(k),
                _ => self.results_key(k),
            },
            Focus::Targets => {
                let n = self.visible_targets().len();
                match k.code {
                    KeyCode::Char('/') => self.filter_editing = true,
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.targets_sel = self.targets_sel.saturating_sub(1)
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.targets_sel = (self.targets_sel + 1).min(n.saturating_sub(1))
                    }
                    KeyCode::PageDown => {
                        self.targets_sel = (self.targets_sel + 10).min(n.saturating_sub(1))
                    }
                    KeyCode::PageUp => self.targets_sel = self.targets_sel.saturating_sub(10),
                    _ => {}
                }
                Vec::new()
            }
            Focus::Alerts => {
                match k.code {
                    KeyCode::Up | KeyCode::Char('k') => {
                        self.alerts_sel = self.alerts_sel.saturating_sub(1)
                    }
                    KeyCode::Down | KeyCode::Char('j') => {
                        self.alerts_sel =
                            (self.alerts_sel + 1).min(self.alerts.len().saturating_sub(1))
                    }
                    KeyCode::Enter => {
                        if let Some(a) = self.alerts.get(self.alerts_sel) {
                            let q = a.query.clone();
                            self.editor.set(&q);
                            self.check_syntax();
                            self.set_view(View::Query);
                        }
                    }
                    _ => {}
                }
                Vec::new()
            }
            Focus::Prompt => Vec::new(),
        }
    }

    fn rules_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        match k.code {
            KeyCode::Up | KeyCode::Char('k') => self.rules_sel = self.rules_sel.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => {
                self.rules_sel = (self.rules_sel + 1).min(self.rules.len().saturating_sub(1))
            }
            KeyCode::Enter => {
                if let Some(r) = self.rules.get(self.rules_sel) {
                    let q = r.query.clone();
                    self.editor.set(&q);
                    self.check_syntax();
                    self.set_view(View::Query);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn metrics_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let n = self.visible_metrics().len();
        match k.code {
            KeyCode::Char('/') => self.filter_editing = true,
            KeyCode::Up | KeyCode::Char('k') => {
                self.metrics_sel = self.metrics_sel.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') => {
                self.metrics_sel = (self.metrics_sel + 1).min(n.saturating_sub(1))
            }
            KeyCode::PageDown => {
                self.metrics_sel = (self.metrics_sel + 10).min(n.saturating_sub(1))
            }
            KeyCode::PageUp => self.metrics_sel = self.metrics_sel.saturating_sub(10),
            KeyCode::Enter => {
                if let Some(m) = self
                    .visible_metrics()
                    .get(self.metrics_sel)
                    .map(|s| s.to_string())
                {
                    self.editor.insert_str(&m);
                    self.check_syntax();
                    self.set_view(View::Query);
                }
            }
            _ => {}
        }
        Vec::new()
    }

    fn results_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let n = self.sorted_series().len();
        match k.code {
            KeyCode::Char('g') => {
                self.graph = !self.graph;
                self.cursor = None;
                return self.run(self.shown_expr.clone()).into_iter().collect();
            }
            KeyCode::Char('u') => self.utc = !self.utc,
            KeyCode::Char('s') if !self.graph => {
                self.sort = match self.sort {
                    SortKey::Labels => SortKey::Value,
                    SortKey::Value => SortKey::Labels,
                }
            }
            KeyCode::Char('r') if !self.graph => self.sort_desc = !self.sort_desc,
            KeyCode::Up | KeyCode::Char('k') => {
                if self.graph {
                    self.legend_sel = self.legend_sel.saturating_sub(1);
                } else {
                    self.table_sel = self.table_sel.saturating_sub(1);
                }
            }
            KeyCode::Down | KeyCode::Char('j') => {
                let last = n.saturating_sub(1);
                if self.graph {
                    self.legend_sel = (self.legend_sel + 1).min(last);
                } else {
                    self.table_sel = (self.table_sel + 1).min(last);
                }
            }
            KeyCode::PageDown => self.table_sel = (self.table_sel + 10).min(n.saturating_sub(1)),
            KeyCode::PageUp => self.table_sel = self.table_sel.saturating_sub(10),
            KeyCode::Char(' ') if self.graph => {
                let i = self.legend_sel;
                let was_hidden = self.hidden.remove(&i);
                if !was_hidden {
                    self.hidden.insert(i);
                }
            }
            KeyCode::Char('+') | KeyCode::Char('=') if self.graph => {
                let i = RANGES.iter().rposition(|r| *r < self.range_secs);
                if let Some(i) = i {
                    self.range_secs = RANGES[i];
                    return self.run(self.shown_expr.clone()).into_iter().collect();
                }
            }
            KeyCode::Char('-') if self.graph => {
                if let Some(r) = RANGES.iter().find(|r| **r > self.range_secs) {
                    self.range_secs = *r;
                    return self.run(self.shown_expr.clone()).into_iter().collect();
                }
            }
            KeyCode::Char('[') if self.graph => {
                self.end_offset += self.range_secs / 4.0;
                self.live = false;
                return self.run(self.shown_expr.clone()).into_iter().collect();
            }
            KeyCode::Char(']') if self.graph => {
                self.end_offset = (self.end_offset - self.range_secs / 4.0).max(0.0);
                return self.run(self.shown_expr.clone()).into_iter().collect();
            }
            KeyCode::Char('0') if self.graph => {
                self.live = !self.live;
                if self.live {
                    self.end_offset = 0.0;
                    return self.run(self.shown_expr.clone()).into_iter().collect();
                }
            }
            KeyCode::Left | KeyCode::Right if self.graph => {
                let len = self.point_count();
                if len > 0 {
                    let c = self.cursor.unwrap_or(len - 1);
                    self.cursor = Some(if k.code == KeyCode::Left {
                        c.saturating_sub(1)
                    } else {
                        (c + 1).min(len - 1)
                    });
                }
            }
            _ => {}
        }
        Vec::new()
    }

    /// Number of steps in the graph window (positions of the value cursor).
    pub fn point_count(&self) -> usize {
        let (s, e, step) = self.window();
        ((e - s) / step) as usize + 1
    }

    fn prompt_key(&mut self, k: KeyEvent, ctrl: bool, alt: bool) -> Vec<Cmd> {
        // Reverse search mode.
        if let Some((needle, hit)) = self.search.clone() {
            match k.code {
                KeyCode::Char('r') if ctrl => {
                    let before = hit.unwrap_or(self.history.entries().len());
                    let found = self.history.search(&needle, before).map(|x| x.0);
                    self.search = Some((needle, found.or(hit)));
                }
                KeyCode::Char('g') if ctrl => self.search = None,
                KeyCode::Esc => self.search = None,
                KeyCode::Enter | KeyCode::Right | KeyCode::Left => {
                    if let Some(e) = hit.and_then(|i| self.history.entries().get(i)).cloned() {
                        self.editor.set(&e);
                        self.check_syntax();
                    }
                    self.search = None;
                }
                KeyCode::Backspace => {
                    let mut n = needle;
                    n.pop();
                    let found = self
                        .history
                        .search(&n, self.history.entries().len())
                        .map(|x| x.0);
                    self.search = Some((n, found));
                }
                KeyCode::Char(c) if !ctrl => {
                    let mut n = needle;
                    n.push(c);
                    let found = self
                        .history
                        .search(&n, self.history.entries().len())
                        .map(|x| x.0);
                    self.search = Some((n, found));
                }
                _ => {}
            }
            return Vec::new();
        }
        // The completion popup.
        if let Some(p) = &mut self.popup {
            match k.code {
                KeyCode::Up => {
                    p.selected = p.selected.saturating_sub(1);
                    return Vec::new();
                }
                KeyCode::Down => {
                    p.selected = (p.selected + 1).min(p.items.len().saturating_sub(1));
                    return Vec::new();
                }
                KeyCode::Tab | KeyCode::Enter => {
                    if let Some(c) = p.items.get(p.selected).cloned() {
                        let start = p.start;
                        self.editor.replace_before_cursor(start, &c.insert);
                        self.check_syntax();
                    }
                    self.popup = None;
                    return Vec::new();
                }
                KeyCode::Esc => {
                    self.popup = None;
                    return Vec::new();
                }
                _ => {}
            }
        }
        let mut cmds = Vec::new();
        let mut edited = true;
        match k.code {
            KeyCode::Enter if alt => self.editor.insert('\n'),
            KeyCode::Enter => return self.submit(),
            KeyCode::Tab => {
                let ctx = context(self.editor.text(), self.editor.cursor());
                if ctx == Context::None {
                    self.move_focus(true);
                    return Vec::new();
                }
                cmds.extend(self.data_for(&ctx));
                self.open_popup(&ctx, true);
                return cmds;
            }
            KeyCode::Esc => {
                self.focus = Focus::Results;
                return Vec::new();
            }
            KeyCode::Up => {
                edited = false;
                if self.editor.on_first_line() {
                    if let Some(h) = self.history.older(self.editor.text()) {
                        self.editor.set(&h);
                        self.check_syntax();
                    }
                } else {
                    self.editor.vertical(false);
                }
            }
            KeyCode::Down => {
                edited = false;
                if self.editor.on_last_line() {
                    if let Some(h) = self.history.newer() {
                        self.editor.set(&h);
                        self.check_syntax();
                    }
                } else {
                    self.editor.vertical(true);
                }
            }
            KeyCode::Char('r') if ctrl => {
                self.search = Some((String::new(), None));
                return Vec::new();
            }
            KeyCode::Char('a') if ctrl => self.editor.home(),
            KeyCode::Char('e') if ctrl => self.editor.end(),
            KeyCode::Char('w') if ctrl => self.editor.kill_word(),
            KeyCode::Char('u') if ctrl => self.editor.kill_to_start(),
            KeyCode::Char('k') if ctrl => self.editor.kill_to_end(),
            KeyCode::Char('d') if ctrl => self.editor.delete(),
            KeyCode::Char('b') if alt => self.editor.word_left(),
            KeyCode::Char('f') if alt => self.editor.word_right(),
            KeyCode::Home => self.editor.home(),
            KeyCode::End => self.editor.end(),
            KeyCode::Left => {
                self.editor.left();
                edited = false;
            }
            KeyCode::Right => {
                self.editor.right();
                edited = false;
            }
            KeyCode::Backspace => self.editor.backspace(),
            KeyCode::Delete => self.editor.delete(),
            KeyCode::Char(c) if !ctrl && !alt => self.editor.insert(c),
            _ => edited = false,
        }
        if edited {
            self.history.reset_browse();
            self.check_syntax();
        }
        if self.popup.is_some() {
            let ctx = context(self.editor.text(), self.editor.cursor());
            if ctx == Context::None {
                self.popup = None;
            } else {
                cmds.extend(self.data_for(&ctx));
                self.open_popup(&ctx, false);
            }
        }
        cmds
    }

    /// Fetches what a completion context needs and is not known yet.
    fn data_for(&self, ctx: &Context) -> Vec<Cmd> {
        match ctx {
            Context::LabelName { metric, .. } => {
                let m = metric.clone().unwrap_or_default();
                if self.known.labels.contains_key(&m) {
                    Vec::new()
                } else {
                    vec![Cmd::LabelNames { metric: m }]
                }
            }
            Context::LabelValue { metric, label, .. } => {
                let key = (metric.clone().unwrap_or_default(), label.clone());
                if self.known.values.contains_key(&key) {
                    Vec::new()
                } else {
                    vec![Cmd::LabelValues {
                        metric: key.0,
                        label: key.1,
                    }]
                }
            }
            Context::Metric { .. } if self.known.metrics.is_empty() => vec![Cmd::MetricNames],
            _ => Vec::new(),
        }
    }

    fn open_popup(&mut self, ctx: &Context, explicit: bool) {
        let items = candidates(ctx, &self.known, 50);
        let waiting = self.popup.as_ref().is_some_and(|p| p.waiting);
        let explicit = explicit || (waiting && !items.is_empty());
        let start = match ctx {
            Context::Metric { start, .. }
            | Context::LabelName { start, .. }
            | Context::LabelValue { start, .. }
            | Context::Duration { start, .. } => *start,
            Context::None => self.editor.cursor(),
        };
        // Tab with one candidate inserts it at once.
        if explicit && items.len() == 1 {
            self.editor.replace_before_cursor(start, &items[0].insert);
            self.check_syntax();
            self.popup = None;
            return;
        }
        let selected = self
            .popup
            .as_ref()
            .map_or(0, |p| p.selected.min(items.len().saturating_sub(1)));
        // Keep an empty popup open while data for it is on its way.
        self.popup = Some(Popup {
            waiting: explicit && items.is_empty(),
            items,
            selected,
            start,
        });
    }

    /// Takes in fetched data.
    pub fn msg(&mut self, m: Msg) {
        match m {
            Msg::Query {
                id,
                result,
                seconds,
            } => {
                if id != self.query_id {
                    return;
                }
                self.running = false;
                self.result_seconds = seconds;
                match result {
                    Ok((data, warnings)) => {
                        self.result = data;
                        self.warnings = warnings;
                        self.error = None;
                    }
                    Err(e) => {
                        self.error = Some(e);
                        self.warnings.clear();
                    }
                }
                let n = self.sorted_series().len();
                self.table_sel = self.table_sel.min(n.saturating_sub(1));
                self.legend_sel = self.legend_sel.min(n.saturating_sub(1));
            }
            Msg::Targets(r) => match r {
                Ok(t) => {
                    self.targets = t;
                    self.targets_error = None;
                    let n = self.visible_targets().len();
                    self.targets_sel = self.targets_sel.min(n.saturating_sub(1));
                }
                Err(e) => self.targets_error = Some(e),
            },
            Msg::Rules(r) => match r {
                Ok((rules, alerts)) => {
                    self.rules = rules;
                    self.alerts = alerts;
                    self.rules_error = None;
                    self.alerts_sel = self.alerts_sel.min(self.alerts.len().saturating_sub(1));
                    self.rules_sel = self.rules_sel.min(self.rules.len().saturating_sub(1));
                }
                Err(e) => self.rules_error = Some(e),
            },
            Msg::Metadata(m) => self.known.metadata = m,
            Msg::MetricNames(n) => {
                self.known.metrics = n;
                self.refresh_popup();
            }
            Msg::SeriesCounts(c) => self.series_counts = c,
            Msg::RemoteWrite(s) => self.senders = s,
            Msg::LabelNames { metric, names } => {
                self.known.labels.insert(metric, names);
                self.refresh_popup();
            }
            Msg::LabelValues {
                metric,
                label,
                values,
            } => {
                self.known.values.insert((metric, label), values);
                self.refresh_popup();
            }
        }
    }

    fn refresh_popup(&mut self) {
        if self.popup.is_some() {
            let ctx = context(self.editor.text(), self.editor.cursor());
            self.open_popup(&ctx, false);
        }
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
