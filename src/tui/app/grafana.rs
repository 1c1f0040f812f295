//! The Grafana dashboard view's state: the loaded dashboard (or why it did not load), the
//! scroll position, the screen size it is laid out for, and the answers of its panels'
//! queries. Builds the panels' requests (`Cmd::DashQuery`, interpolated as Grafana sends them)
//! on the dashboard's refresh interval, takes their answers (`Msg::DashQuery`, stale rounds
//! dropped) and its keys (PgUp/PgDn, arrows, Home/End scroll; `r` refreshes; `l` toggles
//! legend statistics; Esc leaves). Table panels' queries of `format: table` or `instant` are
//! sent as instant queries at the range's end.
//! On opening, query variables are listed one after the other (`Cmd::DashVar`, each
//! interpolated with those before it) and keep their saved value when it is still an option;
//! the panels' first round follows. The variable bar (`grafana_vars`) and the shared range
//! and cursor (`grafana_time`) take their keys first; a new variable value re-lists the
//! variables depending on it, a new range those refreshed on time change, then the panels
//! are sent again. Repeated panels and rows are expanded again (`DashView::expand_repeats`)
//! when a variable's options change; a copy's queries bind its variable to its value, and its
//! answers are keyed by its own place.
//! Uses `grafana` (model, layout, interpolation), `data`, `grafana_vars` and `grafana_time`.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent};
use serde_json::Value;

use super::grafana_time::{data_step, TimeCtl, TimeKey, FALLBACK_SPAN};
use super::grafana_vars::{dependents, on_time_change, BarKey, VarBar};
use super::{App, Cmd};
use crate::tui::data::QueryData;
use crate::tui::grafana::interpolate::{parse_interval, Context, Interpolator};
use crate::tui::grafana::layout::{layout, Item};
use crate::tui::grafana::repeat;
use crate::tui::grafana::table::instant_only;
use crate::tui::grafana::vars::VarKind;
use crate::tui::grafana::Loaded;

/// Refresh when the dashboard names no interval (seconds).
pub const DEFAULT_REFRESH: f64 = 30.0;

/// Which query: (row, panel in the row, target in the panel).
pub type QueryKey = (usize, usize, usize);

/// What one query answered, with the expression sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub expr: String,
    pub result: Result<QueryData, String>,
}

/// An open dashboard.
#[derive(Debug, Clone)]
pub struct DashView {
    /// The dashboard, or the load error shown instead.
    pub loaded: Result<Loaded, String>,
    /// Shown over the rest of the TUI (Esc hides it, F2 shows it again).
    pub shown: bool,
    /// Lines scrolled down.
    pub scroll: u32,
    /// The screen (width, height) the panels are laid out for.
    pub size: (u16, u16),
    /// The current refresh round; answers of older rounds are dropped.
    pub round: u64,
    /// When the last round was sent (unix seconds; 0 = never).
    pub sent_at: f64,
    /// Answers by query.
    pub answers: BTreeMap<QueryKey, Answer>,
    /// The (start, end) of the last round, unix seconds.
    pub window: (f64, f64),
    /// While the variables are listed: the one asked for (its index).
    pub var_pending: Option<usize>,
    /// Whether the variables were listed (or tried).
    pub vars_done: bool,
    /// Why a variable's options could not be listed.
    pub var_errors: Vec<String>,
    /// The variable bar.
    pub bar: VarBar,
    /// The shared time range and cursor.
    pub time: TimeCtl,
    /// While variables are listed again after a change: which (all when `None`).
    pub relist: Option<Vec<usize>>,
    /// The selected panel, full screen or not (`dash_select`).
    pub sel: super::dash_state::Selection,
    /// `l`: every time series legend shows min, max, mean and last.
    pub legend_stats: bool,
    /// The first row shown of each table panel that has more rows than fit, by (row, panel).
    pub table_scroll: BTreeMap<(usize, usize), usize>,
}

impl DashView {
    pub fn new(loaded: Result<Loaded, String>) -> DashView {
        DashView {
            loaded,
            shown: true,
            scroll: 0,
            size: (120, 40),
            round: 0,
            sent_at: 0.0,
            answers: BTreeMap::new(),
            window: (0.0, 0.0),
            var_pending: None,
            vars_done: false,
            var_errors: Vec::new(),
            bar: VarBar::default(),
            time: TimeCtl::default(),
            relist: None,
            sel: Default::default(),
            legend_stats: false,
            table_scroll: BTreeMap::new(),
        }
    }

    /// The request listing the next query variable from `from` on, at `now`; none left: the
    /// variables are done.
    pub fn next_variable(&mut self, from: usize, now: f64) -> Option<Cmd> {
        let (start, end) = self.range_at(now);
        let Ok(l) = &self.loaded else {
            return None;
        };
        let ctx = Context {
            range_ms: ((end - start) * 1000.0) as i64,
            dashboard_title: l.dashboard.title.clone(),
            dashboard_uid: l.dashboard.uid.clone(),
            ..Context::default()
        };
        let interp = Interpolator {
            vars: &l.variables,
            ctx: &ctx,
        };
        for (i, v) in l.variables.iter().enumerate().skip(from) {
            let VarKind::Query { query } = &v.kind else {
                continue;
            };
            if self.relist.as_ref().is_some_and(|r| !r.contains(&i)) {
                continue;
            }
            let query = interp.query(query);
            if let Some(request) = v.request(&query, start, end) {
                self.var_pending = Some(i);
                return Some(Cmd::DashVar {
                    index: i,
                    query,
                    request,
                });
            }
        }
        self.var_pending = None;
        self.vars_done = true;
        self.relist = None;
        None
    }

    /// Seconds between refreshes: the dashboard's `refresh`, else 30 s.
    pub fn refresh_every(&self) -> f64 {
        self.loaded
            .as_ref()
            .ok()
            .and_then(|l| l.dashboard.refresh.as_deref())
            .and_then(parse_interval)
            .filter(|ms| *ms > 0)
            .map_or(DEFAULT_REFRESH, |ms| ms as f64 / 1000.0)
    }

    /// The time range at `now` (unix seconds): the one chosen with the keys, else the
    /// dashboard's; the last 6 hours when it cannot be read (`time_error` says why).
    pub fn range_at(&self, now: f64) -> (f64, f64) {
        self.loaded
            .as_ref()
            .ok()
            .and_then(|l| self.time.range(&l.dashboard, now).ok())
            .unwrap_or((now - FALLBACK_SPAN, now))
    }

    /// Why the time range cannot be read, if so.
    pub fn time_error(&self, now: f64) -> Option<String> {
        let l = self.loaded.as_ref().ok()?;
        self.time.range(&l.dashboard, now).err()
    }

    /// The variable bar's height (0 when it shows no variable).
    pub fn bar_height(&self) -> u16 {
        self.loaded
            .as_ref()
            .map_or(0, |l| VarBar::height(&l.variables))
    }

    /// The lines of the canvas under the title line and the variable bar.
    pub fn body_height(&self) -> u32 {
        u32::from(self.size.1.saturating_sub(1 + self.bar_height()))
    }

    /// Lists variables `relist` again (in order), then sends the panels; only the panels
    /// while the first listing is still going (it sends them when done).
    fn relist_then_panels(&mut self, relist: Vec<usize>, now: f64) -> Vec<Cmd> {
        if !self.vars_done {
            return Vec::new();
        }
        // A repeated panel follows its variable's new selection.
        self.expand_repeats();
        if relist.is_empty() {
            return self.requests(now);
        }
        self.relist = Some(relist);
        match self.next_variable(0, now) {
            Some(c) => vec![c],
            None => self.requests(now),
        }
    }

    /// The times and spacing of the data drawn: (newest point, one data point column).
    pub fn data_times(&self) -> (Option<f64>, f64) {
        let series: Vec<&[(f64, f64)]> = self
            .answers
            .values()
            .filter_map(|a| match &a.result {
                Ok(QueryData::Matrix(v)) => Some(v),
                _ => None,
            })
            .flatten()
            .map(|s| s.points.as_slice())
            .collect();
        let newest = series
            .iter()
            .filter_map(|s| s.last().map(|p| p.0))
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
        let (start, end) = self.window;
        let step = data_step(series).unwrap_or(((end - start) / 100.0).max(1.0));
        (newest, step)
    }

    /// The bar's and the time controls' keys; `None` when the key is neither's.
    fn control_key(&mut self, k: KeyEvent, now: f64) -> Option<Vec<Cmd>> {
        let l = self.loaded.as_mut().ok()?;
        if !self.bar.focused && k.code == KeyCode::Char('v') {
            self.bar.focus(&l.variables);
            return Some(Vec::new());
        }
        if self.bar.focused {
            match self.bar.key(k, &mut l.variables) {
                BarKey::NotMine => {}
                BarKey::Handled => return Some(Vec::new()),
                BarKey::Changed(i) => {
                    let relist = dependents(&l.variables, &[i]);
                    return Some(self.relist_then_panels(relist, now));
                }
            }
        }
        let current = self.range_at(now);
        let (newest, step) = self.data_times();
        let shown = if self.sent_at > 0.0 {
            self.window
        } else {
            current
        };
        match self.time.key(k.code, current, newest, step) {
            TimeKey::NotMine => None,
            TimeKey::Moved => {
                // The cursor walks over the drawn window.
                if let Some(c) = self.time.cursor {
                    self.time.cursor = Some(c.clamp(shown.0, shown.1));
                }
                Some(Vec::new())
            }
            TimeKey::Range => {
                let relist = self
                    .loaded
                    .as_ref()
                    .map(|l| on_time_change(&l.dashboard.templating, &l.variables))
                    .unwrap_or_default();
                self.time.keep_cursor_in(self.range_at(now));
                Some(self.relist_then_panels(relist, now))
            }
        }
    }

    /// The requests of a new round at `now`: every drawn panel's queries on screen or not,
    /// interpolated with the variables' current values.
    pub fn requests(&mut self, now: f64) -> Vec<Cmd> {
        let Ok(l) = &self.loaded else {
            return Vec::new();
        };
        self.round += 1;
        self.sent_at = now;
        // To the millisecond, as the API takes times: the chart's window is then exactly the
        // range asked for, and the last step's point (at `end`) lies inside it.
        let ms = |t: f64| (t * 1000.0).round() / 1000.0;
        let (start, end) = self.range_at(now);
        let (start, end) = (ms(start), ms(end));
        self.window = (start, end);
        let lay = layout(&l.dashboard, self.size.0);
        let mut out = Vec::new();
        for (item, rect) in &lay.items {
            let Item::Panel { row, panel } = *item else {
                continue;
            };
            let Some(rw) = l.dashboard.rows.get(row) else {
                continue;
            };
            let Some(p) = rw.panels.get(panel) else {
                continue;
            };
            if !p.drawn() {
                continue;
            }
            // A repeat copy's queries see its variable bound to its one value.
            let bound = repeat::scope(rw, p);
            let scoped;
            let vars = if bound.is_empty() {
                &l.variables
            } else {
                scoped = repeat::bind(&l.variables, &bound);
                &scoped
            };
            let ctx = Context {
                range_ms: ((end - start) * 1000.0) as i64,
                max_data_points: p
                    .max_data_points
                    .unwrap_or(u64::from(rect.w.saturating_sub(2)).max(10) * 2),
                dashboard_title: l.dashboard.title.clone(),
                dashboard_uid: l.dashboard.uid.clone(),
                ..Context::default()
            };
            let interp = Interpolator { vars, ctx: &ctx };
            for (ti, t) in p.targets.iter().enumerate() {
                if t.hide || t.skipped.is_some() || t.expr.trim().is_empty() {
                    continue;
                }
                let (expr, steps) = interp.sent(
                    &t.expr,
                    p.interval.as_deref(),
                    &t.interval,
                    t.interval_factor,
                );
                let step = (steps.step_ms as f64 / 1000.0).max(0.001);
                let range = (t.runs_range() && !instant_only(p, t)).then_some((start, end, step));
                out.push(Cmd::DashQuery {
                    round: self.round,
                    key: (row, panel, ti),
                    expr,
                    time: end,
                    range,
                });
            }
        }
        out
    }
}

impl DashView {
    /// Expands repeated panels and rows for the variables' current values; call it after the
    /// variables' options or selections change. When the panels drawn change, the answers
    /// (keyed by the old places) are dropped, answers still on their way are ignored, and the
    /// next tick sends a new round. Answers whether the panels changed.
    pub fn expand_repeats(&mut self) -> bool {
        let Ok(l) = self.loaded.as_mut() else {
            return false;
        };
        let rows = repeat::expand(&l.dashboard.template, &l.variables);
        if rows == l.dashboard.rows {
            return false;
        }
        l.dashboard.rows = rows;
        self.answers.clear();
        self.round += 1;
        self.sent_at = 0.0;
        true
    }
}

impl App {
    /// Opens a dashboard (or shows why it did not load); its first round goes at the next tick.
    pub fn open_dashboard(&mut self, loaded: Result<Loaded, String>) {
        self.grafana = Some(DashView::new(loaded));
    }

    /// The dashboard's requests when its refresh is due at `now`.
    pub fn dashboard_tick(&mut self, now: f64) -> Vec<Cmd> {
        match self.grafana.as_mut() {
            Some(d) if d.loaded.is_ok() && !d.vars_done && d.var_pending.is_none() => {
                match d.next_variable(0, now) {
                    Some(c) => vec![c],
                    None => d.requests(now),
                }
            }
            Some(d)
                if d.vars_done
                    && d.var_pending.is_none()
                    && d.loaded.is_ok()
                    && now - d.sent_at >= d.refresh_every() =>
            {
                d.requests(now)
            }
            _ => Vec::new(),
        }
    }

    /// Takes a query variable's options; asks for the next variable, or the panels when
    /// it was the last.
    pub fn dashboard_variable(
        &mut self,
        index: usize,
        query: &str,
        result: Result<Value, String>,
    ) -> Vec<Cmd> {
        let now = self.now;
        let Some(d) = self
            .grafana
            .as_mut()
            .filter(|d| d.var_pending == Some(index))
        else {
            return Vec::new();
        };
        if let Ok(l) = d.loaded.as_mut() {
            if let Some(v) = l.variables.get_mut(index) {
                if let Err(e) = result.and_then(|data| v.options_from(query, &data)) {
                    d.var_errors.push(format!("${}: {e}", v.name));
                }
            }
        }
        d.expand_repeats();
        match d.next_variable(index + 1, now) {
            Some(c) => vec![c],
            None => d.requests(now),
        }
    }

    /// Takes one query's answer.
    pub fn dashboard_answer(
        &mut self,
        round: u64,
        key: QueryKey,
        expr: String,
        result: Result<QueryData, String>,
    ) {
        if let Some(d) = self.grafana.as_mut().filter(|d| d.round == round) {
            d.answers.insert(key, Answer { expr, result });
        }
    }

    /// Whether the dashboard takes the keys.
    pub fn dashboard_shown(&self) -> bool {
        self.grafana.as_ref().is_some_and(|d| d.shown)
    }

    /// A key while the dashboard is shown; `None` when it is not the dashboard's.
    pub fn dashboard_key(&mut self, k: KeyEvent) -> Option<Vec<Cmd>> {
        let now = self.now;
        let d = self.grafana.as_mut()?;
        if !d.shown {
            if k.code == KeyCode::F(2) {
                d.shown = true;
                return Some(Vec::new());
            }
            return None;
        }
        if let Some(cmds) = d.control_key(k, now) {
            return Some(cmds);
        }
        if let Some(cmds) = self.dash_select_key(k) {
            return Some(cmds);
        }
        let d = self.grafana.as_mut()?;
        let page = d.body_height().saturating_sub(1).max(1);
        let canvas = match &d.loaded {
            Ok(l) => layout(&l.dashboard, d.size.0).height,
            Err(_) => 0,
        };
        let bottom = canvas.saturating_sub(d.body_height());
        match k.code {
            KeyCode::PageDown | KeyCode::Char(' ') => d.scroll = (d.scroll + page).min(bottom),
            KeyCode::PageUp => d.scroll = d.scroll.saturating_sub(page),
            KeyCode::Down | KeyCode::Char('j') => d.scroll = (d.scroll + 1).min(bottom),
            KeyCode::Up | KeyCode::Char('k') => d.scroll = d.scroll.saturating_sub(1),
            KeyCode::Home => d.scroll = 0,
            KeyCode::End => d.scroll = bottom,
            KeyCode::Char('r') => return Some(d.requests(now)),
            KeyCode::Char('l') => d.legend_stats = !d.legend_stats,
            KeyCode::Esc | KeyCode::F(2) => d.shown = false,
            KeyCode::Char('q') => self.quit = true,
            _ => {}
        }
        Some(Vec::new())
    }
}
