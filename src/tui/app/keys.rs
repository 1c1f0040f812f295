//! Keys outside the prompt: quit, help, focus and views, filters, then the
//! focused pane's keys (results table, graph and heatmap controls, targets, alerts, rules,
//! metrics). Uses `app::{actions, overview, prompt_keys, relabel}` and `heatmap`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Cmd, Focus, SortKey, View, RANGES, VIEWS};
use crate::tui::heatmap::is_histogram;

impl App {
    /// Handles a key; returns work for the loop.
    pub fn key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let alt = k.modifiers.contains(KeyModifiers::ALT);
        if ctrl && k.code == KeyCode::Char('c') {
            self.quit = true;
            return Vec::new();
        }
        if self.help {
            self.help_key(k.code);
            return Vec::new();
        }
        self.dash_files.notice = None;
        if let Some(cmds) = self.dash_list_key(k) {
            return cmds;
        }
        if let Some(cmds) = self.dashboard_key(k) {
            return cmds;
        }
        // No dashboard open: F2 lists the dashboards directory.
        if k.code == KeyCode::F(2) && self.grafana.is_none() {
            return self.open_dash_list();
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
        if self.focus == Focus::Targets && self.relabel.is_some() {
            if let Some(cmds) = self.relabel_key(k) {
                return cmds;
            }
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
            KeyCode::Char(c @ '1'..='6') => {
                let i = (c as u8 - b'1') as usize;
                let mut cmds = self.open_view(VIEWS[i].0);
                cmds.extend(self.overview_refresh());
                return cmds;
            }
            _ => {}
        }
        match self.focus {
            Focus::Results => match self.view {
                View::Rules => self.rules_key(k),
                View::Metrics => self.metrics_key(k),
                View::Overview => self.overview_key(k),
                _ => self.results_key(k),
            },
            Focus::Targets => {
                let n = self.targets_len();
                match k.code {
                    KeyCode::Char('/') => self.filter_editing = true,
                    KeyCode::Char('d') => self.toggle_dropped(),
                    KeyCode::Enter => return self.open_relabel(),
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
        if self.showing_heatmap() {
            if let Some(cmds) = self.heatmap_key(k) {
                return cmds;
            }
        }
        match k.code {
            KeyCode::Char('g') => {
                self.cursor = None;
                self.heat_row = None;
                // A histogram's graph goes on to its heatmap (the same range query).
                if self.graph && !self.heatmap && is_histogram(&self.result) {
                    self.heatmap = true;
                    return Vec::new();
                }
                self.graph = !self.graph;
                self.heatmap = false;
                return self.run(self.shown_expr.clone());
            }
            KeyCode::Char('u') => self.utc = !self.utc,
            KeyCode::Char('a') => return self.add_prompt_panel(),
            KeyCode::Char('e') if self.graph => return self.toggle_exemplars(),
            KeyCode::Char('n') if self.graph => self.jump_exemplar(true),
            KeyCode::Char('N') if self.graph => self.jump_exemplar(false),
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
                    return self.run(self.shown_expr.clone());
                }
            }
            KeyCode::Char('-') if self.graph => {
                if let Some(r) = RANGES.iter().find(|r| **r > self.range_secs) {
                    self.range_secs = *r;
                    return self.run(self.shown_expr.clone());
                }
            }
            KeyCode::Char('[') if self.graph => {
                self.end_offset += self.range_secs / 4.0;
                self.live = false;
                return self.run(self.shown_expr.clone());
            }
            KeyCode::Char(']') if self.graph => {
                self.end_offset = (self.end_offset - self.range_secs / 4.0).max(0.0);
                return self.run(self.shown_expr.clone());
            }
            KeyCode::Char('0') if self.graph => {
                self.live = !self.live;
                if self.live {
                    self.end_offset = 0.0;
                    return self.run(self.shown_expr.clone());
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

    /// The heatmap's own keys: ↑↓ (k j) move the cursor between buckets, `n`/`N` show the
    /// next/previous histogram series; `None` for the keys it shares with the graph.
    fn heatmap_key(&mut self, k: KeyEvent) -> Option<Vec<Cmd>> {
        let (rows, shown_row) = self.heat_rows.get();
        let rows = rows.max(1);
        let series = crate::tui::heatmap::histogram_series(&self.result).len();
        match k.code {
            KeyCode::Up | KeyCode::Char('k') => {
                let r = self.heat_row.unwrap_or(shown_row).min(rows - 1);
                self.heat_row = Some((r + 1).min(rows - 1));
            }
            KeyCode::Down | KeyCode::Char('j') => {
                let r = self.heat_row.unwrap_or(shown_row).min(rows - 1);
                self.heat_row = Some(r.saturating_sub(1));
            }
            KeyCode::Char('n') | KeyCode::Char('N') if series > 0 => {
                let fwd = k.code == KeyCode::Char('n');
                let cur = self.heat_series.min(series - 1);
                self.heat_series = if fwd {
                    (cur + 1) % series
                } else {
                    (cur + series - 1) % series
                };
            }
            KeyCode::Char('e') | KeyCode::Char(' ') => {}
            _ => return None,
        }
        Some(Vec::new())
    }
}
