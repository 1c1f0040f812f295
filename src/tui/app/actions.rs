//! State changes the keys and the clock share: running a query (and re-running it live),
//! keeping the panels and the metrics explorer fresh, checking the prompt's syntax, moving
//! focus, switching views (which refreshes what the view shows), scrolling the help,
//! following the terminal size. Uses the state in `app`.

use crossterm::event::KeyCode;

use super::{App, Cmd, Focus, View, LIVE_EVERY};

/// Seconds between refreshes of the metric names and metadata (completion, the metrics
/// explorer). Series counts (a query over every series, heavy on a large server) are asked
/// for at that cadence only while the explorer is open, and when it opens. While it is open,
/// or nothing is known yet (a server started before its first scrape), names and metadata
/// follow the panels' 5 s cadence.
pub const METRICS_EVERY: f64 = 30.0;

impl App {
    /// Requests sent at start: panels and completion data.
    pub fn start(&mut self) -> Vec<Cmd> {
        let mut out = vec![Cmd::Targets, Cmd::Rules];
        out.extend(self.refresh_metrics());
        out.push(Cmd::RemoteWrite);
        out
    }

    /// Asks for the metric names, metadata and series counts again.
    fn refresh_metrics(&mut self) -> Vec<Cmd> {
        self.metrics_at = self.now;
        vec![Cmd::MetricNames, Cmd::Metadata, Cmd::SeriesCounts]
    }

    /// The clock moved on (called about once a second); `panels_due` every 5 s.
    pub fn tick(&mut self, now: f64, panels_due: bool) -> Vec<Cmd> {
        self.now = now;
        let mut out = self.dashboard_tick(now);
        if panels_due {
            out.push(Cmd::Targets);
            out.push(Cmd::Rules);
            out.push(Cmd::RemoteWrite);
        }
        let nothing_known = self.known.metrics.is_empty();
        if now - self.metrics_at >= METRICS_EVERY || (panels_due && nothing_known) {
            let mut cmds = self.refresh_metrics();
            if self.view != View::Metrics && !nothing_known {
                cmds.retain(|c| *c != Cmd::SeriesCounts);
            }
            out.extend(cmds);
        } else if panels_due && self.view == View::Metrics {
            // The cheap part; counts keep the slower cadence.
            out.push(Cmd::MetricNames);
            out.push(Cmd::Metadata);
        }
        out.extend(self.overview_refresh());
        if self.live && self.graph && !self.running && now - self.last_run >= LIVE_EVERY {
            out.extend(self.run(self.shown_expr.clone()));
        }
        out
    }

    /// Runs `expr`: the query, and for a graph its exemplars (in the same refresh).
    pub(super) fn run(&mut self, expr: String) -> Vec<Cmd> {
        if expr.trim().is_empty() {
            return Vec::new();
        }
        self.query_id += 1;
        self.running = true;
        self.last_run = self.now;
        self.shown_expr = expr.clone();
        let range = self.graph.then(|| self.window());
        let mut out = vec![Cmd::Query {
            id: self.query_id,
            expr,
            time: self.now,
            range,
        }];
        out.extend(self.exemplar_cmd());
        out
    }

    pub(super) fn submit(&mut self) -> Vec<Cmd> {
        let q = self.editor.text().trim().to_string();
        if q.is_empty() {
            return Vec::new();
        }
        self.history.push(&q);
        self.explanation.clear();
        self.popup = None;
        self.cursor = None;
        self.heat_row = None;
        self.heat_series = 0;
        self.hidden.clear();
        self.exemplars.clear();
        self.exemplar_sel = None;
        self.table_sel = 0;
        self.legend_sel = 0;
        self.legend_top = 0;
        self.run(q)
    }

    pub(super) fn check_syntax(&mut self) {
        let text = self.editor.text();
        if text.trim().is_empty() {
            self.live_error = None;
            return;
        }
        self.live_error = match crate::promql::engine::parse(text) {
            Ok(_) => None,
            Err(e) => Some(super::parse_position(&e.to_string())),
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
                View::Rules | View::Metrics | View::Overview => vec![Focus::Results],
            }
        }
    }

    pub(super) fn move_focus(&mut self, forward: bool) {
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

    /// Opens a view (its number key): selects it and asks for its data again, so a view
    /// opened after a scrape or a reload shows what is there now.
    pub fn open_view(&mut self, v: View) -> Vec<Cmd> {
        self.set_view(v);
        match v {
            View::Metrics => self.refresh_metrics(),
            View::Rules | View::Alerts => vec![Cmd::Rules],
            View::Targets => vec![Cmd::Targets],
            _ => Vec::new(),
        }
    }

    /// A key while the help is shown: ↑↓ (j k), PgUp PgDn, Home End scroll it; any other key
    /// closes it. The help view leaves in `help_bounds` how far scrolling is useful.
    pub(super) fn help_key(&mut self, code: KeyCode) {
        let (max, page) = self.help_bounds.get();
        let page = page.max(1);
        self.help_scroll = match code {
            KeyCode::Up | KeyCode::Char('k') => self.help_scroll.saturating_sub(1),
            KeyCode::Down | KeyCode::Char('j') => self.help_scroll.saturating_add(1),
            KeyCode::PageUp => self.help_scroll.saturating_sub(page),
            KeyCode::PageDown | KeyCode::Char(' ') => self.help_scroll.saturating_add(page),
            KeyCode::Home => 0,
            KeyCode::End => max,
            _ => {
                self.help = false;
                0
            }
        }
        .min(max);
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
                View::Rules | View::Metrics | View::Overview => {
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
                View::Rules | View::Metrics | View::Overview => Focus::Results,
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
                // The overview has no prompt on a small screen.
                Focus::Prompt if self.view == View::Overview => View::Query,
                _ => self.view,
            };
        } else if matches!(self.view, View::Targets | View::Alerts) {
            self.view = View::Query;
        }
    }
}
