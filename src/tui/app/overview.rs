//! The overview's behaviour: arriving on it, asking for its panels while it is shown (every
//! few seconds, and when it opens), selecting a panel, and putting a panel's query into the
//! prompt. Uses `app::actions` (views, syntax check) and `dashboard` (the panels' state).

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Cmd, View};
use crate::tui::dashboard::{Overview, OVERVIEW_EVERY, OVERVIEW_RANGE, OVERVIEW_STEP};

/// Seconds between fetches of the metric names while a panel has no data (to say why).
const NAMES_EVERY: f64 = 30.0;

impl App {
    /// Shows `overview` (the user's panels or the built-in ones) as the first view.
    pub fn arrive(&mut self, overview: Overview) {
        self.overview = overview;
        self.set_view(View::Overview);
    }

    /// Range queries for the overview's panels when it is shown and its data is older than
    /// the refresh interval (panels whose last query is still on its way are skipped).
    pub fn overview_refresh(&mut self) -> Vec<Cmd> {
        let o = &mut self.overview;
        if self.view != View::Overview || self.now - o.last_fetch < OVERVIEW_EVERY {
            return Vec::new();
        }
        o.last_fetch = self.now;
        let end = (self.now / OVERVIEW_STEP).floor() * OVERVIEW_STEP;
        let range = (end - OVERVIEW_RANGE, end, OVERVIEW_STEP);
        let mut out = Vec::new();
        for (index, (p, d)) in o.panels.iter().zip(o.data.iter_mut()).enumerate() {
            if d.pending {
                continue;
            }
            d.pending = true;
            out.push(Cmd::Panel {
                index,
                expr: p.query.clone(),
                range,
            });
        }
        // The names tell a metric that is not scraped from one without samples yet.
        if o.data.iter().any(|d| d.is_empty()) && self.now - o.last_names >= NAMES_EVERY {
            o.last_names = self.now;
            out.push(Cmd::MetricNames);
        }
        out
    }

    /// Keys of the overview pane: arrows (or h j k l) select, Enter puts the query into the
    /// prompt.
    pub(super) fn overview_key(&mut self, k: KeyEvent) -> Vec<Cmd> {
        let cols = self.overview.cols.get().max(1) as isize;
        match k.code {
            KeyCode::Left | KeyCode::Char('h') => self.overview.step(-1),
            KeyCode::Right | KeyCode::Char('l') => self.overview.step(1),
            KeyCode::Up | KeyCode::Char('k') => self.overview.step(-cols),
            KeyCode::Down | KeyCode::Char('j') => self.overview.step(cols),
            KeyCode::Home => self.overview.selected = 0,
            KeyCode::End => self.overview.selected = self.overview.panels.len().saturating_sub(1),
            KeyCode::Enter => {
                if let Some(p) = self.overview.panels.get(self.overview.selected) {
                    let q = p.query.clone();
                    self.editor.set(&q);
                    self.check_syntax();
                    self.set_view(View::Query);
                }
            }
            _ => {}
        }
        Vec::new()
    }
}
