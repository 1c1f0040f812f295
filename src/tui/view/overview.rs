//! The overview: a grid of labelled sparkline panels, each with its title, its current value
//! in the panel's unit, the last 15 minutes as bars and its query; a panel without data says
//! why in one line, and an unusable `overview.toml` is named on the first line. The grid
//! reflows with the size (more columns when the rows would not fit, scrolling to the selected
//! panel when nothing else helps). Uses `app`, `dashboard`, `format` and `view::panel`.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline, SparklineBar, Wrap};
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::{App, Focus};
use crate::tui::dashboard::{no_data_reason, PanelData};
use crate::tui::format::truncate;

/// Panel sizes: the width aimed for, the narrowest, and the lowest (borders and one line).
const IDEAL_W: u16 = 32;
const MIN_W: u16 = 20;
const MIN_H: u16 = 3;

/// How `n` panels sit in a `w`×`h` area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grid {
    pub cols: usize,
    pub row_h: u16,
    /// Rows that fit at once (the rest scroll).
    pub visible_rows: usize,
}

/// Columns for panels about `IDEAL_W` wide, more (down to `MIN_W`) when the rows would not
/// fit in the height; rows share the height.
pub fn grid(n: usize, w: u16, h: u16) -> Grid {
    let n = n.max(1);
    let rows_for = |cols: usize| n.div_ceil(cols) as u16;
    let mut cols = ((w / IDEAL_W) as usize).clamp(1, n);
    while rows_for(cols) * MIN_H > h && cols < n && w / (cols as u16 + 1) >= MIN_W {
        cols += 1;
    }
    let rows = rows_for(cols);
    let row_h = (h / rows).max(MIN_H).min(h.max(1));
    Grid {
        cols,
        row_h,
        visible_rows: ((h / row_h) as usize).max(1),
    }
}

/// The overview's title, and its inner area under the line naming an unusable
/// `overview.toml`.
fn frame(app: &App, area: Rect) -> (String, Rect) {
    let o = &app.overview;
    let title = match o.source.as_ref().and_then(|p| p.file_name()) {
        Some(name) => format!("Overview · last 15m · {}", name.to_string_lossy()),
        None => "Overview · last 15m".to_string(),
    };
    let mut inner = block(&title, false, &app.theme).inner(area);
    if o.error.is_some() && inner.height > 0 {
        inner.y += 1;
        inner.height -= 1;
    }
    (title, inner)
}

/// The panels shown in the overview pane `area` (scrolled to the selected one), each with
/// its cell, and the grid's columns: what `draw` draws and the mouse is tested against.
pub fn panel_cells(app: &App, area: Rect) -> (Vec<(usize, Rect)>, usize) {
    let o = &app.overview;
    let inner = frame(app, area).1;
    if o.panels.is_empty() || inner.is_empty() {
        return (Vec::new(), 1);
    }
    let g = grid(o.panels.len(), inner.width, inner.height);
    let sel_row = o.selected / g.cols;
    let first_row = sel_row.saturating_sub(g.visible_rows - 1);
    let cols = g.cols as u32;
    let cells = (first_row * g.cols..o.panels.len())
        .take(g.visible_rows * g.cols)
        .map(|i| {
            let (row, col) = ((i / g.cols - first_row) as u16, (i % g.cols) as u32);
            // Columns share the width; the rounding goes to the ones on the right.
            let x0 = inner.x + (col * u32::from(inner.width) / cols) as u16;
            let x1 = inner.x + ((col + 1) * u32::from(inner.width) / cols) as u16;
            let y = inner.y + row * g.row_h;
            let h = g.row_h.min(inner.bottom().saturating_sub(y));
            (i, Rect::new(x0, y, x1 - x0, h))
        })
        .collect();
    (cells, g.cols)
}

/// Draws the overview in `area`.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let o = &app.overview;
    let focused = app.focus == Focus::Results;
    let (title, inner) = frame(app, area);
    f.render_widget(block(&title, focused, t), area);
    if let Some(e) = &o.error {
        if inner.y > area.y + 1 {
            let text = format!("{e} (showing the built-in panels)");
            let line = Line::styled(truncate(&text, inner.width as usize), t.fg(t.error));
            f.render_widget(
                Paragraph::new(line),
                Rect {
                    y: inner.y - 1,
                    height: 1,
                    ..inner
                },
            );
        }
    }
    let (cells, cols) = panel_cells(app, area);
    if cells.is_empty() {
        return;
    }
    o.cols.set(cols);
    for (i, cell) in cells {
        draw_panel(app, f, cell, i, focused && i == o.selected);
    }
}

fn draw_panel(app: &App, f: &mut Frame, area: Rect, i: usize, selected: bool) {
    let t = &app.theme;
    let (p, d) = (&app.overview.panels[i], &app.overview.data[i]);
    let title_style = if selected {
        t.selected()
    } else {
        t.fg(t.title).add_modifier(Modifier::BOLD)
    };
    let mut b = Block::bordered()
        .border_style(t.border(selected))
        .title(Span::styled(format!(" {} ", p.title), title_style));
    if let Some(v) = d.last() {
        b = b.title(
            Line::styled(
                format!(" {} ", p.unit.format(v)),
                t.fg(t.number).add_modifier(Modifier::BOLD),
            )
            .right_aligned(),
        );
    }
    if d.series > 1 {
        b = b.title_bottom(
            Line::styled(format!(" first of {} series ", d.series), t.fg(t.dim)).right_aligned(),
        );
    }
    let inner = b.inner(area);
    f.render_widget(b, area);
    if inner.is_empty() {
        return;
    }
    // The query on the last line when there is room for it and one line of content.
    let body = if inner.height >= 2 {
        let q = Rect {
            y: inner.bottom() - 1,
            height: 1,
            ..inner
        };
        let line = Line::styled(truncate(&p.query, q.width as usize), t.fg(t.dim));
        f.render_widget(Paragraph::new(line), q);
        Rect {
            height: inner.height - 1,
            ..inner
        }
    } else {
        inner
    };
    let mut note = |text: String, style| {
        f.render_widget(
            Paragraph::new(Line::styled(text, style)).wrap(Wrap { trim: true }),
            body,
        );
    };
    if let Some(e) = &d.error {
        note(format!("error: {e}"), t.fg(t.error));
    } else if !d.loaded {
        note("loading…".into(), t.fg(t.dim));
    } else if d.is_empty() {
        note(
            no_data_reason(&p.query, &app.known.metrics),
            t.fg(t.warning),
        );
    } else {
        let bars = bars(d, body.width as usize, body.height);
        // Fewer points than columns: they sit at the right edge (the latest point is there).
        let w = bars.len() as u16;
        let at = Rect {
            x: body.right() - w,
            width: w,
            ..body
        };
        f.render_widget(
            Sparkline::default()
                .data(bars)
                .max(u64::from(body.height) * 8)
                .style(t.fg(t.series_color(i))),
            at,
        );
    }
}

/// The panel's points as at most `width` bars for a sparkline `height` rows high: each bar
/// is the last value of its share of the window, scaled between the lowest and highest value
/// (the lowest is one eighth of a row, so it shows; a flat line sits at half height, or at
/// the bottom when it is zero); steps without a point are gaps.
pub fn bars(d: &PanelData, width: usize, height: u16) -> Vec<SparklineBar> {
    let slots = d.slots();
    let n = slots.len().min(width);
    if n == 0 {
        return Vec::new();
    }
    let picked: Vec<Option<f64>> = (0..n)
        .map(|j| {
            let (from, to) = (j * slots.len() / n, (j + 1) * slots.len() / n);
            slots[from..to.max(from + 1)].iter().rev().find_map(|v| *v)
        })
        .collect();
    let (lo, hi) = picked
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let levels = u64::from(height.max(1)) * 8;
    picked
        .into_iter()
        .map(|v| {
            SparklineBar::from(v.map(|v| {
                if hi > lo {
                    1 + ((v - lo) / (hi - lo) * (levels - 1) as f64).round() as u64
                } else if v == 0.0 {
                    1
                } else {
                    levels / 2
                }
            }))
        })
        .collect()
}
