//! The graph of a range result: braille lines per series, a value cursor, time and value axes,
//! exemplars as `◆` at their time and value (in their series' colour; the one at the cursor
//! reversed), a drag's range (reversed), a line reading out the exemplar at the cursor (its
//! labels, the trace id first, value, time and series) and a legend (swatch, sparkline, value
//! at the cursor, series; hidden series dimmed). `layout` says where each part is, for drawing
//! and for the mouse. Uses `app`, `data` and `format`.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use crate::tui::app::{App, ExemplarPoint, Focus};
use crate::tui::data::{exemplar_labels, series_name};
use crate::tui::format::{clock, clock_ms, short_num, sparkline};

/// How an exemplar is marked on the graph.
pub const EXEMPLAR_MARK: &str = "◆";

/// Narrower graphs read an exemplar out on two rows.
const EXEMPLAR_WIDE: u16 = 110;

/// Where the graph's parts sit in its area, and the axes' bounds: what `draw` draws with and
/// what the mouse is tested against.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphLayout {
    /// The chart with its axes and labels.
    pub chart: Rect,
    /// The plot inside the chart (where the lines are drawn; x maps to time).
    pub plot: Rect,
    /// The exemplar line between the chart and the legend (no height without exemplars).
    pub exemplar: Rect,
    pub legend: Rect,
    /// The series in the legend's first row.
    pub first: usize,
    /// The time window (start, end, step) and the value bounds.
    pub window: (f64, f64, f64),
    pub values: (f64, f64),
}

impl GraphLayout {
    /// The time under plot column `x` (clamped to the plot).
    pub fn time_at(&self, x: u16) -> f64 {
        let (start, end, _) = self.window;
        let w = self.plot.width.max(1);
        let col = x.clamp(self.plot.x, self.plot.x + w - 1) - self.plot.x;
        // The plot has two braille dots per column; the time is the column's middle.
        let dots = f64::from(w) * 2.0 - 1.0;
        let frac = if dots > 0.0 {
            (f64::from(col) * 2.0 + 0.5) / dots
        } else {
            0.0
        };
        start + frac.min(1.0) * (end - start)
    }

    /// The plot column showing time `t` (clamped to the plot).
    pub fn column_at(&self, t: f64) -> u16 {
        let (start, end, _) = self.window;
        let w = self.plot.width.max(1);
        let frac = if end > start {
            ((t - start) / (end - start)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let col = ((frac * (f64::from(w) * 2.0 - 1.0) - 0.5) / 2.0).round();
        self.plot.x + (col.max(0.0) as u16).min(w - 1)
    }

    /// The cell where ratatui's braille canvas puts the dot of (`t`, `v`), when it is on the
    /// plot (the same arithmetic as the canvas, so a marker sits on its series' line).
    pub fn cell_at(&self, t: f64, v: f64) -> Option<(u16, u16)> {
        let ((start, end, _), (lo, hi)) = (self.window, self.values);
        let (w, h) = (f64::from(self.plot.width), f64::from(self.plot.height));
        if !(start..=end).contains(&t) || !(lo..=hi).contains(&v) || end <= start || hi <= lo {
            return None;
        }
        let x = ((t - start) * (w * 2.0 - 1.0) / (end - start)).floor() / 2.0;
        let y = ((hi - v) * (h * 4.0 - 1.0) / (hi - lo)).floor() / 4.0;
        let (x, y) = (x.floor() as u16, y.floor() as u16);
        (x < self.plot.width && y < self.plot.height).then(|| (self.plot.x + x, self.plot.y + y))
    }

    /// The series of legend row `y`, when that row shows one.
    pub fn series_at(&self, y: u16, n: usize) -> Option<usize> {
        if y < self.legend.y || y >= self.legend.bottom() {
            return None;
        }
        let i = self.first + usize::from(y - self.legend.y);
        (i < n).then_some(i)
    }
}

/// The value bounds of the shown series and exemplars (with 5% padding).
fn value_bounds(app: &App) -> (f64, f64) {
    let exemplars: Vec<f64> = app
        .exemplar_points()
        .iter()
        .map(|p| p.exemplar.value)
        .collect();
    let (mut lo, mut hi) = app
        .sorted_series()
        .iter()
        .enumerate()
        .filter(|(i, _)| !app.hidden.contains(i))
        .flat_map(|(_, (_, s))| s.points.iter().map(|p| p.1).filter(|v| v.is_finite()))
        .chain(exemplars)
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        lo -= 1.0;
        hi += 1.0;
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

fn x_labels(app: &App, (start, end, _): (f64, f64, f64)) -> Vec<String> {
    let long = end - start > 86400.0;
    vec![
        clock(start, app.utc, long),
        clock((start + end) / 2.0, app.utc, long),
        format!(
            "{} {}",
            clock(end, app.utc, long),
            if app.utc { "UTC" } else { "local" }
        ),
    ]
}

fn y_labels((lo, hi): (f64, f64)) -> Vec<String> {
    vec![short_num(lo), short_num((lo + hi) / 2.0), short_num(hi)]
}

/// The legend's first row: from `app.legend_top`, scrolled just enough to show the selection
/// and to fill the rows.
fn legend_first(app: &App, rows: usize, n: usize) -> usize {
    let (sel, top) = (app.legend_sel, app.legend_top.min(n.saturating_sub(rows)));
    if sel < top {
        sel
    } else if sel >= top + rows {
        sel + 1 - rows
    } else {
        top
    }
}

/// The graph's layout in `area`: the legend under the chart (a row per series, up to a third
/// of the height) with the exemplar line (two on narrow screens) above it while there are
/// exemplars to show, and the
/// plot where ratatui's `Chart` puts it (the x labels and axis below it, the y labels and axis
/// on its left, labels taking at most a third of the width).
pub fn layout(app: &App, area: Rect) -> GraphLayout {
    let n = app.sorted_series().len();
    let legend_h = (n as u16).min(area.height / 3).max(1);
    // Two rows on narrow screens, where a trace id, value and time do not fit in one.
    let exemplar_h = match (app.show_exemplars && !app.exemplars.is_empty(), area.width) {
        (false, _) => 0,
        (true, w) if w < EXEMPLAR_WIDE => 2,
        _ => 1,
    };
    let [chart, exemplar, legend] = Layout::vertical([
        Constraint::Min(4),
        Constraint::Length(exemplar_h),
        Constraint::Length(legend_h),
    ])
    .areas(area);
    let window = app.window();
    let values = value_bounds(app);
    let first_x = x_labels(app, window)[0].chars().count() as u16;
    let widest_y = y_labels(values)
        .iter()
        .map(|l| l.chars().count() as u16)
        .max()
        .unwrap_or(0);
    // Left of the y axis: the y labels, or the first x label but its last character.
    let left = widest_y.max(first_x.saturating_sub(1)).min(chart.width / 3);
    let mut x = chart.x + left;
    if x + 1 < chart.right() {
        x += 1;
    }
    // Below the plot: the x labels and the axis, when there is room above them.
    let mut y = chart.bottom().saturating_sub(1);
    for _ in 0..2 {
        if y > chart.y {
            y -= 1;
        }
    }
    let plot = Rect::new(
        x,
        chart.y,
        chart.right().saturating_sub(x),
        y.saturating_sub(chart.y) + 1,
    )
    .intersection(chart);
    GraphLayout {
        chart,
        plot,
        exemplar,
        legend,
        first: legend_first(app, legend.height as usize, n),
        window,
        values,
    }
}

/// Draws the graph and its legend in `area`.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let series = app.sorted_series();
    let g = layout(app, area);
    let (chart_area, legend_area) = (g.chart, g.legend);
    let (start, end, step) = g.window;
    let (lo, hi) = g.values;
    let cursor_t = app
        .cursor
        .map(|c| start + c as f64 * step)
        .filter(|c| *c <= end);
    let data: Vec<(usize, Vec<(f64, f64)>)> = series
        .iter()
        .enumerate()
        .filter(|(i, _)| !app.hidden.contains(i))
        .map(|(i, (_, s))| {
            (
                i,
                s.points
                    .iter()
                    .copied()
                    .filter(|p| p.1.is_finite())
                    .collect(),
            )
        })
        .collect();
    let cursor_line = cursor_t.map(|c| vec![(c, lo), (c, hi)]);
    let mut datasets: Vec<Dataset> = data
        .iter()
        .map(|(i, d)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.fg(t.series_color(*i)))
                .data(d)
        })
        .collect();
    if let Some(cl) = &cursor_line {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.fg(t.dim))
                .data(cl),
        );
    }
    let x_labels: Vec<Span> = x_labels(app, g.window).into_iter().map(Span::raw).collect();
    let y_labels: Vec<Span> = y_labels(g.values).into_iter().map(Span::raw).collect();
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([start, end])
                .labels(x_labels)
                .style(t.fg(t.dim)),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels(y_labels)
                .style(t.fg(t.dim)),
        );
    f.render_widget(chart, chart_area);
    draw_exemplars(app, f, &g);
    // A drag in progress: the range it zooms to, shown reversed.
    if let Some((a, b)) = app.drag {
        let (x0, x1) = (g.column_at(a.min(b)), g.column_at(a.max(b)));
        let band = Rect {
            x: x0,
            width: x1 - x0 + 1,
            ..g.plot
        };
        f.buffer_mut()
            .set_style(band, Style::new().add_modifier(Modifier::REVERSED));
    }
    // Legend: swatch, sparkline, value at the cursor (or the last), series.
    let focused = app.focus == Focus::Results;
    let first = g.first;
    let lines: Vec<Line> = series
        .iter()
        .enumerate()
        .skip(first)
        .take(legend_area.height as usize)
        .map(|(i, (_, s))| {
            let hidden = app.hidden.contains(&i);
            let vals: Vec<f64> = s.points.iter().map(|p| p.1).collect();
            let at = match cursor_t {
                Some(c) => s
                    .points
                    .iter()
                    .rev()
                    .find(|p| p.0 <= c + step / 2.0)
                    .map(|p| p.1),
                None => vals.last().copied(),
            };
            let swatch = Span::styled(if hidden { "□ " } else { "■ " }, t.fg(t.series_color(i)));
            let mut line = Line::from(vec![
                swatch,
                Span::styled(
                    format!("{:>12}", sparkline(&vals, 12)),
                    t.fg(t.series_color(i)),
                ),
                Span::raw(" "),
                Span::styled(
                    format!("{:>9} ", at.map_or("-".into(), short_num)),
                    t.fg(t.number),
                ),
                Span::raw(series_name(&s.labels)),
            ]);
            if hidden {
                line = line.style(t.fg(t.dim));
            }
            if focused && i == app.legend_sel {
                line = line.style(t.selected());
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(Text::from(lines)), legend_area);
}

/// The marker's style: its series' colour (a warning colour when no result series matches it),
/// bold; reversed for the exemplar at the cursor.
fn marker_style(app: &App, p: &ExemplarPoint, at_cursor: bool) -> Style {
    let t = &app.theme;
    let colour = p.series.map_or(t.warning, |i| t.series_color(i));
    let s = t.fg(colour).add_modifier(Modifier::BOLD);
    if at_cursor {
        s.add_modifier(Modifier::REVERSED)
    } else {
        s
    }
}

/// Marks the exemplars on the plot and reads out the one at the cursor (or says how many
/// there are and the keys) on the exemplar line.
fn draw_exemplars(app: &App, f: &mut Frame, g: &GraphLayout) {
    let t = &app.theme;
    let points = app.exemplar_points();
    let current = app.cursor_exemplar();
    // The one at the cursor last, so it is on top.
    let cur_i = current.map(|(i, _)| i);
    let order = (0..points.len()).filter(|i| Some(*i) != cur_i).chain(cur_i);
    for i in order {
        let p = &points[i];
        if let Some((x, y)) = g.cell_at(p.exemplar.time, p.exemplar.value) {
            f.buffer_mut()[(x, y)]
                .set_symbol(EXEMPLAR_MARK)
                .set_style(marker_style(app, p, Some(i) == cur_i));
        }
    }
    if g.exemplar.height == 0 {
        return;
    }
    let text = match current {
        Some((_, p)) => {
            let e = p.exemplar;
            let labels = exemplar_labels(&e.labels);
            let mut first = vec![
                Span::styled(format!("{EXEMPLAR_MARK} "), marker_style(app, &p, false)),
                Span::styled(
                    if labels.is_empty() {
                        "(no labels)".to_string()
                    } else {
                        labels
                    },
                    t.fg(t.text).add_modifier(Modifier::BOLD),
                ),
                Span::raw("  "),
            ];
            let rest = vec![
                Span::styled(crate::model::format_go_g(e.value), t.fg(t.number)),
                Span::styled(
                    format!(
                        " at {}  ",
                        clock_ms(e.time, app.utc, app.range_secs > 86400.0)
                    ),
                    t.fg(t.dim),
                ),
                Span::styled(series_name(p.series_labels), t.fg(t.dim)),
            ];
            // Labels on the first row, value, time and series on the second when there is one.
            if g.exemplar.height > 1 {
                Text::from(vec![Line::from(first), Line::from(rest)])
            } else {
                first.extend(rest);
                Text::from(Line::from(first))
            }
        }
        None => {
            let text = match points.len() {
                0 => "no exemplars in view · e hide".to_string(),
                1 => "1 exemplar · n/N cursor to it · e hide".to_string(),
                n => format!("{n} exemplars · n/N cursor to the next/previous · e hide"),
            };
            Text::from(Line::from(vec![
                Span::styled(format!("{EXEMPLAR_MARK} "), t.fg(t.warning)),
                Span::styled(text, t.fg(t.dim)),
            ]))
        }
    };
    f.render_widget(
        Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
        g.exemplar,
    );
}
