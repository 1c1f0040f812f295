//! The graph of a range result: braille lines per series, a value cursor, time and value axes,
//! and a legend (swatch, sparkline, value at the cursor, series; hidden series dimmed).
//! Uses `app`, `data` and `format`.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};
use ratatui::Frame;

use crate::tui::app::{App, Focus};
use crate::tui::data::series_name;
use crate::tui::format::{clock, short_num, sparkline};

/// Draws the graph and its legend in `area`.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let series = app.sorted_series();
    let (start, end, step) = app.window();
    let legend_h = (series.len() as u16).min(area.height / 3).max(1);
    let [chart_area, legend_area] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(legend_h)]).areas(area);
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
    let (mut lo, mut hi) = data
        .iter()
        .flat_map(|(_, d)| d.iter().map(|p| p.1))
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        lo -= 1.0;
        hi += 1.0;
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
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
    let long = end - start > 86400.0;
    let x_labels = vec![
        Span::raw(clock(start, app.utc, long)),
        Span::raw(clock((start + end) / 2.0, app.utc, long)),
        Span::raw(format!(
            "{} {}",
            clock(end, app.utc, long),
            if app.utc { "UTC" } else { "local" }
        )),
    ];
    let y_labels = vec![
        Span::raw(short_num(lo)),
        Span::raw(short_num((lo + hi) / 2.0)),
        Span::raw(short_num(hi)),
    ];
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
    // Legend: swatch, sparkline, value at the cursor (or the last), series.
    let focused = app.focus == Focus::Results;
    let first = app
        .legend_sel
        .saturating_sub(legend_area.height.saturating_sub(1) as usize);
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
