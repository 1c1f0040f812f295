//! Picking a dashboard panel and what follows: Tab / Shift-Tab select the next / previous
//! panel in reading order (top to bottom, left to right, as laid out) and scroll it into view;
//! `f` or Enter opens it full screen (↑↓ pick one of its queries there; Esc back to the grid
//! at the scroll it had; PgUp/PgDn/Space/Home/End scroll a table panel's rows); `e` puts the panel's query (the first, or the one picked full
//! screen) into the prompt exactly as it was sent (variables, `$__interval`,
//! `$__rate_interval`, `$__range` expanded), sets the graph to the dashboard's time range and
//! leaves the dashboard so the user can edit and run it. Also hands `S` (save) and `o` (the
//! dashboards list) to `dash_save`. Uses `app::grafana` (the view's state) and `grafana`
//! (layout, interpolation, a table's rows).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::grafana::DashView;
use super::{App, Cmd, Focus, View};
use crate::tui::grafana::interpolate::{Context, Interpolator};
use crate::tui::grafana::layout::{layout, Item, Rect};
use crate::tui::grafana::model::{Panel, PanelKind};
use crate::tui::grafana::table::{build, frame_of, value_name};

impl DashView {
    /// The panels in reading order with where they sit on the canvas.
    pub fn panel_order(&self) -> Vec<((usize, usize), Rect)> {
        let Ok(l) = &self.loaded else {
            return Vec::new();
        };
        let mut v: Vec<((usize, usize), Rect)> = layout(&l.dashboard, self.size.0)
            .items
            .into_iter()
            .filter_map(|(item, r)| match item {
                Item::Panel { row, panel } => Some(((row, panel), r)),
                Item::Header { .. } => None,
            })
            .collect();
        v.sort_by_key(|(_, r)| (r.y, r.x));
        v
    }

    /// The selected panel's model.
    pub fn selected_panel(&self) -> Option<&Panel> {
        let (row, panel) = self.sel.panel?;
        let l = self.loaded.as_ref().ok()?;
        l.dashboard.rows.get(row)?.panels.get(panel)
    }

    /// The rows the selected panel's table has now (as `dash_table` builds it); `None` when
    /// the selected panel is not a table.
    fn table_rows(&self) -> Option<usize> {
        let (row, panel) = self.sel.panel?;
        let p = self
            .selected_panel()
            .filter(|p| p.kind == PanelKind::Table)?;
        let several = p.queries().count() > 1;
        let frames = p
            .targets
            .iter()
            .enumerate()
            .filter_map(|(ti, t)| {
                let data = self.answers.get(&(row, panel, ti))?.result.as_ref().ok()?;
                Some(frame_of(data, &value_name(&t.ref_id, several)))
            })
            .collect();
        Some(build(p, frames).frame.rows())
    }

    /// PgDn/Space, PgUp, Home, End on a full-screen table panel: its first row shown.
    fn scroll_table(&mut self, code: KeyCode) {
        let (Some(at), Some(rows)) = (self.sel.panel, self.table_rows()) else {
            return;
        };
        // The rows a full-screen table shows: the body less its title, description, queries,
        // border and header lines (roughly; the view clamps the offset to what fits).
        let page = (self.body_height() as usize).saturating_sub(8).max(1);
        let last = rows.saturating_sub(page);
        let cur = self.table_scroll.get(&at).copied().unwrap_or(0).min(last);
        let next = match code {
            KeyCode::PageDown | KeyCode::Char(' ') => (cur + page).min(last),
            KeyCode::PageUp => cur.saturating_sub(page),
            KeyCode::Home => 0,
            KeyCode::End => last,
            _ => cur,
        };
        self.table_scroll.insert(at, next);
    }

    /// Selects the next (or previous) panel, wrapping, and scrolls it into view.
    pub fn select_next(&mut self, forward: bool) {
        let order = self.panel_order();
        if order.is_empty() {
            return;
        }
        let at = self
            .sel
            .panel
            .and_then(|s| order.iter().position(|(k, _)| *k == s));
        let n = order.len();
        let i = match (at, forward) {
            (None, true) => 0,
            (None, false) => n - 1,
            (Some(i), true) => (i + 1) % n,
            (Some(i), false) => (i + n - 1) % n,
        };
        let (key, r) = order[i];
        self.sel.panel = Some(key);
        self.sel.query = 0;
        let body = self.body_height();
        if r.y < self.scroll {
            self.scroll = r.y;
        } else if r.y + r.h > self.scroll + body {
            self.scroll = (r.y + r.h).saturating_sub(body).min(r.y);
        }
    }

    /// The query of the selected panel `e` takes: the picked one full screen, else the first
    /// that runs; (target index, expression as sent, runs as a range query).
    pub fn selected_query(&self, now: f64) -> Option<(usize, String, bool)> {
        let (row, panel) = self.sel.panel?;
        let p = self.selected_panel()?;
        let runs: Vec<usize> = p
            .targets
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.hide && !t.expr.trim().is_empty() && t.skipped.is_none())
            .map(|(i, _)| i)
            .collect();
        let ti = if self.sel.full {
            *runs.get(self.sel.query.min(runs.len().saturating_sub(1)))?
        } else {
            *runs.first()?
        };
        let t = p.targets.get(ti)?;
        // What was sent, when it was; else expanded the way the next round will send it.
        let expr = match self.answers.get(&(row, panel, ti)) {
            Some(a) => a.expr.clone(),
            None => self.expand(row, panel, ti, now)?,
        };
        Some((ti, expr, t.runs_range() && p.kind != PanelKind::Table))
    }

    /// Target `ti` of a panel interpolated as `requests` sends it.
    pub fn expand(&self, row: usize, panel: usize, ti: usize, now: f64) -> Option<String> {
        let l = self.loaded.as_ref().ok()?;
        let p = l.dashboard.rows.get(row)?.panels.get(panel)?;
        let t = p.targets.get(ti)?;
        let (start, end) = if self.sent_at > 0.0 {
            self.window
        } else {
            self.range_at(now)
        };
        let width = self
            .panel_order()
            .into_iter()
            .find(|(k, _)| *k == (row, panel))
            .map_or(self.size.0, |(_, r)| r.w);
        let ctx = Context {
            range_ms: ((end - start) * 1000.0) as i64,
            max_data_points: p
                .max_data_points
                .unwrap_or(u64::from(width.saturating_sub(2)).max(10) * 2),
            dashboard_title: l.dashboard.title.clone(),
            dashboard_uid: l.dashboard.uid.clone(),
            ..Context::default()
        };
        let interp = Interpolator {
            vars: &l.variables,
            ctx: &ctx,
        };
        Some(
            interp
                .sent(
                    &t.expr,
                    p.interval.as_deref(),
                    &t.interval,
                    t.interval_factor,
                )
                .0,
        )
    }

    /// The number of queries the selected panel runs (those ↑↓ pick from full screen).
    fn query_count(&self) -> usize {
        self.selected_panel().map_or(0, |p| p.queries().count())
    }
}

impl App {
    /// The dashboard keys of panel selection, full screen, `e`, `S` and `o`, while the
    /// dashboard is shown; `None` for the others.
    pub(super) fn dash_select_key(&mut self, k: KeyEvent) -> Option<Vec<Cmd>> {
        let now = self.now;
        let d = self.grafana.as_mut().filter(|d| d.shown)?;
        if k.modifiers.contains(KeyModifiers::CONTROL) {
            return None;
        }
        match k.code {
            KeyCode::Tab => d.select_next(true),
            KeyCode::BackTab => d.select_next(false),
            KeyCode::Char('f') | KeyCode::Enter => {
                if d.sel.full {
                    d.sel.full = false;
                } else {
                    if d.sel.panel.is_none() {
                        d.select_next(true);
                    }
                    d.sel.full = d.sel.panel.is_some();
                    d.sel.query = 0;
                }
            }
            KeyCode::Esc if d.sel.full => d.sel.full = false,
            KeyCode::Up | KeyCode::Char('k') if d.sel.full => {
                d.sel.query = d.sel.query.saturating_sub(1)
            }
            KeyCode::Down | KeyCode::Char('j') if d.sel.full => {
                d.sel.query = (d.sel.query + 1).min(d.query_count().saturating_sub(1))
            }
            // Full screen, the page keys scroll a table panel's rows (nothing else scrolls).
            KeyCode::PageUp
            | KeyCode::PageDown
            | KeyCode::Home
            | KeyCode::End
            | KeyCode::Char(' ')
                if d.sel.full =>
            {
                d.scroll_table(k.code)
            }
            KeyCode::Char('e') => {
                if d.sel.panel.is_none() {
                    d.select_next(true);
                }
                return Some(self.panel_query_to_prompt(now));
            }
            KeyCode::Char('S') => return Some(self.save_dashboard()),
            KeyCode::Char('o') => return Some(self.open_dash_list()),
            _ => return None,
        }
        Some(Vec::new())
    }

    /// `e`: the selected panel's query into the prompt, the graph on the dashboard's range.
    fn panel_query_to_prompt(&mut self, now: f64) -> Vec<Cmd> {
        let Some(d) = self.grafana.as_mut() else {
            return Vec::new();
        };
        let Some((_, expr, range)) = d.selected_query(now) else {
            self.dash_files.notice = Some("this panel has no query to edit".into());
            return Vec::new();
        };
        let (start, end) = if d.sent_at > 0.0 {
            d.window
        } else {
            d.range_at(now)
        };
        d.shown = false;
        d.sel.full = false;
        self.editor.set(&expr);
        self.check_syntax();
        self.graph = range;
        self.heatmap = false;
        if end > start {
            self.range_secs = end - start;
            self.end_offset = (now - end).max(0.0);
        }
        self.set_view(View::Query);
        self.focus = Focus::Prompt;
        Vec::new()
    }
}
