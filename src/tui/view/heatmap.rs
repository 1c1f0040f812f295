//! The heatmap of a histogram result: time on x, buckets on y (lowest at the bottom, each
//! row labelled with its upper bound; rows stretch to fill the height when there are few
//! buckets), each cell shaded by its observations in four levels of the largest cell — a
//! shade character (` ░▒▓█`) in a colour of a ramp the 16 ANSI colours show (blue, cyan,
//! yellow, red), the character alone under NO_COLOR — with the p50/p90/p99 of each column
//! drawn over it (`━`, `─`, `┄`), a cursor cell (reversed) read out below (time, bucket range,
//! count, percentile), and a legend of the scale. The header names the series (`n`/`N` go
//! through several). `layout` says where each part is, for drawing and the mouse.
//! Uses `app`, `heatmap`, `format` and `client::histogram` (numbers).

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::client::histogram::compact_num;
use crate::tui::app::App;
use crate::tui::data::series_name;
use crate::tui::format::clock;
use crate::tui::heatmap::{histogram_series, level, Grid, Readout, LEVELS, QUANTILES};

/// The shade of each level (0: no observations).
pub const SHADES: [&str; LEVELS as usize + 1] = [" ", "░", "▒", "▓", "█"];

/// The colour of each level above 0, and the colour that reads on it.
pub const RAMP: [(Color, Color); LEVELS as usize] = [
    (Color::Blue, Color::White),
    (Color::Cyan, Color::Black),
    (Color::Yellow, Color::Black),
    (Color::Red, Color::White),
];

/// How each quantile of `QUANTILES` is drawn.
pub const QUANTILE_MARKS: [&str; 3] = ["━", "─", "┄"];

/// Where the heatmap's parts are, and the grid drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatLayout {
    /// The series' name (and which of several).
    pub header: Rect,
    /// The cells (x maps to columns, y to rows from the bottom).
    pub plot: Rect,
    /// The row labels, left of the plot.
    pub gutter: Rect,
    pub axis: Rect,
    pub readout: Rect,
    pub legend: Rect,
    /// Screen lines per row.
    pub row_h: u16,
    pub grid: Grid,
    /// The series shown (index among the histogram series) and how many there are.
    pub series: usize,
    pub count: usize,
    pub name: String,
}

impl HeatLayout {
    /// The row at screen line `y` (none above the rows).
    pub fn row_at(&self, y: u16) -> Option<usize> {
        let bottom = self.plot.bottom().checked_sub(1)?;
        if y > bottom || y < self.plot.y {
            return None;
        }
        let r = usize::from((bottom - y) / self.row_h.max(1));
        (r < self.grid.rows.len()).then_some(r)
    }

    /// The top screen line of row `r`'s band (where its upper bound is labelled).
    pub fn top_of(&self, r: usize) -> u16 {
        let bottom = self.plot.bottom().saturating_sub(1);
        bottom.saturating_sub((r as u16 + 1) * self.row_h - 1)
    }

    /// The screen line where row `r` is marked (the middle of its band).
    pub fn line_of(&self, r: usize) -> u16 {
        self.top_of(r) + (self.row_h - 1) / 2
    }

    /// The time under plot column `x` (the middle of its column's span).
    pub fn time_at(&self, x: u16) -> f64 {
        let c = usize::from(x.saturating_sub(self.plot.x)).min(self.grid.spans.len() - 1);
        let (a, b) = self.grid.spans[c];
        (a + b) / 2.0
    }
}

/// A bound as the axis and readout write it.
fn bound(v: f64) -> String {
    compact_num(v)
}

/// The heatmap's layout in `area` (the results pane's inside).
pub fn layout(app: &App, area: Rect) -> HeatLayout {
    let all = histogram_series(&app.result);
    let count = all.len();
    let series = app.heat_series.min(count.saturating_sub(1));
    let (start, end, _) = app.window();
    let [header, body, axis, readout, legend] = rows_of(area);
    let plot_h = body.height.max(1);
    // First pass for the row labels' width, then the grid in the plot's width.
    let probe = all
        .get(series)
        .map(|s| Grid::new(s, (start, end), 1, plot_h as usize));
    let label_w = probe
        .iter()
        .flat_map(|g| g.rows.iter().map(|r| bound(r.1).chars().count()))
        .max()
        .unwrap_or(1)
        .min(9) as u16;
    let gutter = Rect::new(
        body.x,
        body.y,
        (label_w + 1).min(body.width / 3),
        body.height,
    );
    let plot = Rect::new(
        gutter.right(),
        body.y,
        body.width.saturating_sub(gutter.width).max(1),
        body.height,
    );
    let grid = match all.get(series) {
        Some(s) => Grid::new(s, (start, end), plot.width as usize, plot_h as usize),
        None => Grid::new(
            &crate::tui::heatmap::HistSeries {
                labels: Default::default(),
                native: true,
                samples: Vec::new(),
            },
            (start, end),
            plot.width as usize,
            1,
        ),
    };
    let row_h = (plot_h / (grid.rows.len().max(1) as u16)).max(1);
    let name = all
        .get(series)
        .map(|s| {
            let kind = if s.native { "native" } else { "classic" };
            format!("{} ({kind})", series_name(&s.labels))
        })
        .unwrap_or_default();
    HeatLayout {
        header,
        plot,
        gutter,
        axis,
        readout,
        legend,
        row_h,
        grid,
        series,
        count,
        name,
    }
}

/// Header, body, time axis, readout, legend.
fn rows_of(area: Rect) -> [Rect; 5] {
    use ratatui::layout::{Constraint, Layout};
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// The cell under the cursor: the cursor's time (the newest column with samples when it is
/// not set) and the chosen row (the column's median when not chosen); none without a cursor.
pub fn cursor_cell(app: &App, g: &HeatLayout) -> Option<(usize, usize)> {
    if app.cursor.is_none() && app.heat_row.is_none() {
        return None;
    }
    let cols = g.grid.spans.len();
    let col = match app.cursor {
        Some(c) => {
            let (start, _, step) = app.window();
            g.grid.column_at(start + c as f64 * step)
        }
        None => (0..cols)
            .rev()
            .find(|c| g.grid.cells[*c].is_some())
            .unwrap_or(cols.saturating_sub(1)),
    };
    let rows = g.grid.rows.len();
    if rows == 0 {
        return None;
    }
    let row = app
        .heat_row
        .or_else(|| g.grid.quantile_row(col, 0.5))
        .unwrap_or(0)
        .min(rows - 1);
    Some((col, row))
}

/// The readout of a cell: time, bucket range, count, percentile (the share of the column's
/// observations at or below the bucket's upper bound).
pub fn readout_text(app: &App, r: &Readout) -> String {
    let long = app.range_secs > 86400.0;
    format!(
        "{}  bucket ({}, {}]  count {}  percentile {}%",
        clock(r.from, app.utc, long),
        bound(r.lower),
        bound(r.upper),
        compact_num(r.count),
        if r.fraction.is_nan() {
            "-".to_string()
        } else {
            compact_num(r.fraction * 100.0)
        },
    )
}

/// The style of a cell at `lvl` (and of a mark drawn on it).
fn cell_style(app: &App, lvl: u8, mark: bool) -> Style {
    let base = if mark {
        Style::default().add_modifier(Modifier::BOLD)
    } else {
        Style::default()
    };
    if app.theme.no_color || lvl == 0 {
        return base;
    }
    let (c, on) = RAMP[usize::from(lvl - 1)];
    if mark {
        base.fg(on).bg(c)
    } else {
        base.fg(c)
    }
}

/// Draws the heatmap in `area`.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let g = layout(app, area);
    let cur = cursor_cell(app, &g);
    app.heat_rows
        .set((g.grid.rows.len(), cur.map_or(0, |(_, r)| r)));
    // Header: the series, and how to go through several.
    let mut header = vec![Span::styled(g.name.clone(), t.fg(t.text))];
    if g.count > 1 {
        header.push(Span::styled(
            format!("  {}/{} · n/N next/previous", g.series + 1, g.count),
            t.fg(t.dim),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(header)), g.header);
    if g.grid.rows.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled("no buckets in this window", t.fg(t.dim))),
            g.plot,
        );
    }
    let buf = f.buffer_mut();
    // Cells.
    for (c, col) in g.grid.cells.iter().enumerate() {
        let x = g.plot.x + c as u16;
        if x >= g.plot.right() {
            break;
        }
        let Some(col) = col else { continue };
        for (r, v) in col.iter().enumerate() {
            let lvl = level(*v, g.grid.max);
            let top = g.top_of(r);
            for dy in 0..g.row_h {
                let y = top + dy;
                if y >= g.plot.y && y < g.plot.bottom() {
                    buf[(x, y)]
                        .set_symbol(SHADES[usize::from(lvl)])
                        .set_style(cell_style(app, lvl, false));
                }
            }
        }
        // Quantile marks, p50 last so it stays on top.
        for (q, mark) in QUANTILES.iter().zip(QUANTILE_MARKS).rev() {
            if let Some(r) = g.grid.quantile_row(c, *q) {
                let y = g.line_of(r);
                if y >= g.plot.y && y < g.plot.bottom() {
                    let lvl = level(col[r], g.grid.max);
                    buf[(x, y)]
                        .set_symbol(mark)
                        .set_style(cell_style(app, lvl, true));
                }
            }
        }
    }
    // Row labels: each row's upper bound on its top line, every other row when rows are
    // one line high.
    let every = if g.row_h == 1 { 2 } else { 1 };
    let n = g.grid.rows.len();
    for (r, (_, upper)) in g.grid.rows.iter().enumerate() {
        if r % every != 0 && r != n - 1 {
            continue;
        }
        let y = g.top_of(r);
        if y < g.gutter.y || y >= g.gutter.bottom() || g.gutter.width < 2 {
            continue;
        }
        let w = usize::from(g.gutter.width - 1);
        let text = format!("{:>w$}", bound(*upper));
        let text: String = text
            .chars()
            .rev()
            .take(w)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        buf.set_string(g.gutter.x, y, text, t.fg(t.dim));
    }
    // The cursor.
    if let Some((c, r)) = cur {
        let x = g.plot.x + c as u16;
        let y = g.line_of(r);
        if x < g.plot.right() && y >= g.plot.y && y < g.plot.bottom() {
            let cell = &mut buf[(x, y)];
            let style = cell.style().add_modifier(Modifier::REVERSED);
            cell.set_style(style);
        }
    }
    // Time axis: start, middle, end.
    let (start, end, _) = app.window();
    let long = end - start > 86400.0;
    let (a, m, b) = (
        clock(start, app.utc, long),
        clock((start + end) / 2.0, app.utc, long),
        format!(
            "{} {}",
            clock(end, app.utc, long),
            if app.utc { "UTC" } else { "local" }
        ),
    );
    let w = g.plot.width as usize;
    let mut axis = format!("{a:<w$}");
    let mid_at = (w / 2).saturating_sub(m.chars().count() / 2);
    if mid_at > a.chars().count() + 1 && mid_at + m.chars().count() + b.chars().count() < w {
        axis.replace_range(mid_at..mid_at + m.len(), &m);
    }
    let end_at = w.saturating_sub(b.chars().count());
    if end_at > a.chars().count() {
        axis.truncate(end_at);
        axis.push_str(&b);
    }
    if g.axis.height > 0 && g.plot.width > 0 {
        let axis: String = axis.chars().take(w).collect();
        buf.set_string(g.plot.x, g.axis.y, axis, t.fg(t.dim));
    }
    // Readout of the cursor cell, or the keys.
    let readout = match cur {
        Some((c, r)) => match g.grid.readout(c, r) {
            Some(rd) => Line::styled(format!("▸ {}", readout_text(app, &rd)), t.fg(t.text)),
            None => Line::styled(
                format!("▸ {}  no samples", clock(g.grid.spans[c].0, app.utc, long)),
                t.fg(t.dim),
            ),
        },
        None => Line::styled(
            "←→ time · ↑↓ bucket (reads out count and percentile) · g table",
            t.fg(t.dim),
        ),
    };
    f.render_widget(Paragraph::new(readout), g.readout);
    f.render_widget(Paragraph::new(legend_line(app, g.grid.max)), g.legend);
}

/// The scale: each shade with the largest count it stands for, and the quantile marks.
pub fn legend_line(app: &App, max: f64) -> Line<'static> {
    let t = &app.theme;
    let mut spans = vec![Span::styled("per cell ", t.fg(t.dim))];
    for lvl in 1..=LEVELS {
        spans.push(Span::styled(
            SHADES[usize::from(lvl)].repeat(2),
            cell_style(app, lvl, false),
        ));
        spans.push(Span::raw(format!(
            "≤{} ",
            compact_num(max * f64::from(lvl) / f64::from(LEVELS))
        )));
    }
    spans.push(Span::raw(" "));
    for (q, mark) in QUANTILES.iter().zip(QUANTILE_MARKS) {
        spans.push(Span::styled(
            mark.to_string(),
            Style::default().add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::raw(format!(" p{} ", compact_num(q * 100.0))));
    }
    Line::from(spans)
}
