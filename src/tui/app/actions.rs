//! State changes the keys and the clock share: running a query (and re-running it live),
//! checking the prompt's syntax, moving focus, switching views, following the terminal size.
//! Uses the state in `app`.

use super::{App, Cmd, Focus, View, LIVE_EVERY};

impl App {
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

    pub(super) fn run(&mut self, expr: String) -> Option<Cmd> {
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

    pub(super) fn submit(&mut self) -> Vec<Cmd> {
        let q = self.editor.text().trim().to_string();
        if q.is_empty() {
            return Vec::new();
        }
        self.history.push(&q);
        self.explanation.clear();
        self.popup = None;
        self.cursor = None;
        self.hidden.clear();
        self.table_sel = 0;
        self.legend_sel = 0;
        self.run(q).into_iter().collect()
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
                View::Rules | View::Metrics => vec![Focus::Results],
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
}
