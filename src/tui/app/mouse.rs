//! The mouse (with `--mouse`): a click focuses the pane under the pointer, the wheel scrolls
//! it (lists, the graph's legend, the overview), a click on a legend entry hides or shows its
//! series, a click on an overview panel selects it, a click on a heatmap cell puts the
//! heatmap's cursor there, a click on the graph's plot puts the value cursor there and a drag across the plot zooms to the dragged time range. What is
//! under the pointer is found by `render::hit_at` (from the same layout the views draw with)
//! and arrives here as a `Hit`. Uses `app::{actions, keys}`.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Cmd, Focus};

/// Shortest range a drag zooms to, in seconds.
const MIN_ZOOM: f64 = 10.0;

/// What the pointer did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mouse {
    /// The left button went down.
    Down,
    /// The pointer moved with the left button down.
    Drag,
    /// The left button went up.
    Up,
    /// The wheel turned: down (true) or up.
    Wheel(bool),
}

/// What is under the pointer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub pane: Focus,
    pub spot: Spot,
}

/// Where in the pane the pointer is, when that matters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Spot {
    /// Nowhere in particular.
    Pane,
    /// A legend row: the series (its position in the legend), and the legend's first row as
    /// drawn.
    Legend { series: usize, first: usize },
    /// The graph's plot, at time `t` (unix seconds).
    Plot { t: f64 },
    /// An overview panel.
    Panel(usize),
    /// A heatmap cell: the time of its column and its row (lowest bucket 0).
    Cell { t: f64, row: usize },
}

impl Hit {
    /// A hit on `pane` anywhere.
    pub fn pane(pane: Focus) -> Hit {
        Hit {
            pane,
            spot: Spot::Pane,
        }
    }
}

impl App {
    /// Handles what the pointer did over `hit` (None: nothing that takes the mouse).
    pub fn mouse(&mut self, hit: Option<Hit>, m: Mouse) -> Vec<Cmd> {
        match m {
            Mouse::Drag => {
                if let (Some((from, _)), Some(Spot::Plot { t })) = (self.drag, hit.map(|h| h.spot))
                {
                    self.drag = Some((from, t));
                }
                return Vec::new();
            }
            Mouse::Up => return self.end_drag(hit),
            Mouse::Down | Mouse::Wheel(_) => {}
        }
        let Some(hit) = hit else { return Vec::new() };
        if self.help {
            self.help = false;
            return Vec::new();
        }
        // A click or the wheel ends filter editing (keeping the filter), as Enter does.
        self.filter_editing = false;
        self.focus = hit.pane;
        self.popup = None;
        if let Spot::Legend { first, .. } = hit.spot {
            self.legend_top = first;
        }
        match (m, hit.spot) {
            (Mouse::Wheel(down), _) if hit.pane != Focus::Prompt => {
                let code = if down { KeyCode::Down } else { KeyCode::Up };
                self.key(KeyEvent::new(code, KeyModifiers::NONE))
            }
            (Mouse::Down, Spot::Legend { series, .. }) => {
                self.legend_sel = series;
                self.key(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::NONE))
            }
            (Mouse::Down, Spot::Panel(i)) => {
                if i < self.overview.panels.len() {
                    self.overview.selected = i;
                }
                Vec::new()
            }
            (Mouse::Down, Spot::Plot { t }) => {
                self.drag = Some((t, t));
                Vec::new()
            }
            (Mouse::Down, Spot::Cell { t, row }) => {
                let (start, _, step) = self.window();
                let len = self.point_count();
                if len > 0 {
                    let i = ((t - start) / step).round().max(0.0) as usize;
                    self.cursor = Some(i.min(len - 1));
                }
                self.heat_row = Some(row);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    /// The button went up: a drag across the plot zooms to its range; one that did not move
    /// is a click, which puts the value cursor there.
    fn end_drag(&mut self, hit: Option<Hit>) -> Vec<Cmd> {
        let Some((from, mut to)) = self.drag.take() else {
            return Vec::new();
        };
        if let Some(Spot::Plot { t }) = hit.map(|h| h.spot) {
            to = t;
        }
        let (start, _, step) = self.window();
        if (to - from).abs() < step {
            let len = self.point_count();
            if len > 0 {
                let i = ((to - start) / step).round().max(0.0) as usize;
                self.cursor = Some(i.min(len - 1));
            }
            return Vec::new();
        }
        let (lo, hi) = (from.min(to), from.max(to));
        self.range_secs = (hi - lo).round().max(MIN_ZOOM);
        self.end_offset = (self.now - hi).max(0.0);
        self.live = false;
        self.cursor = None;
        self.run(self.shown_expr.clone())
    }
}
