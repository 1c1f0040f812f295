//! The results pane: its title (graph range, live, panning), and what the result is: a hint,
//! a scalar, a string, the instant-vector table (sortable), the range table (a sparkline per
//! series), the graph (`view::graph`) or, for a histogram, the heatmap (`view::heatmap`); no
//! series, with why when it is known. A native histogram shows as its summary in the table
//! (its count in sparklines, the graph and the range table's last value, marked `n=`).
//! Uses `app`, `data`, `format` and `view::{graph, heatmap, panel}`.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::panel::block;
use super::{graph, heatmap};
use crate::tui::app::{App, Focus, SortKey};
use crate::tui::data::{series_name, QueryData};
use crate::tui::format::{human_range, short_num, sparkline};

/// Where the graph is drawn when the pane in `area` shows one (for the mouse).
pub fn graph_area(app: &App, area: Rect) -> Option<Rect> {
    let QueryData::Matrix(v) = &app.result else {
        return None;
    };
    // No series with an explanation shows the explanation instead.
    let graph = app.graph && (!v.is_empty() || app.explanation.is_empty());
    graph.then(|| block("", false, &app.theme).inner(area))
}

/// Draws the results pane.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Results;
    let title = if app.graph {
        format!(
            "{} {} {}{}",
            if app.showing_heatmap() {
                "Heatmap"
            } else {
                "Graph"
            },
            human_range(app.range_secs),
            if app.live { "● live" } else { "" },
            if app.end_offset > 0.0 {
                format!(" (ends {} ago)", human_range(app.end_offset))
            } else {
                String::new()
            }
        )
    } else {
        "Table".to_string()
    };
    let b = block(&title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    match &app.result {
        QueryData::Empty => {
            let hint = if app.shown_expr.is_empty() {
                // The keys that work where the focus is: typing goes to the prompt.
                if app.focus == Focus::Prompt {
                    "Type a query: Enter runs it, Tab completes. Esc leaves the prompt (then g: graph / table, ?: keys)."
                } else {
                    "No query yet. g: graph / table, ?: keys, Esc: back to the prompt."
                }
            } else {
                "no data"
            };
            f.render_widget(
                Paragraph::new(Line::styled(hint, t.fg(t.dim)))
                    .wrap(ratatui::widgets::Wrap { trim: true }),
                inner,
            );
        }
        QueryData::Scalar(_, v) => {
            f.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled("scalar  ", t.fg(t.dim)),
                    Span::styled(crate::model::format_go_g(*v), t.fg(t.number)),
                ])),
                inner,
            );
        }
        QueryData::Str(_, s) => {
            f.render_widget(Paragraph::new(format!("string  {s:?}")), inner);
        }
        QueryData::Vector(v) | QueryData::Matrix(v)
            if v.is_empty() && !app.explanation.is_empty() =>
        {
            draw_explanation(app, f, inner)
        }
        QueryData::Vector(_) => draw_table(app, f, inner),
        QueryData::Matrix(_) => {
            if app.showing_heatmap() {
                heatmap::draw(app, f, inner);
            } else if app.graph {
                graph::draw(app, f, inner);
            } else {
                draw_matrix_table(app, f, inner);
            }
        }
    }
}

/// No series, and why (wrapped to the pane).
fn draw_explanation(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let mut lines = vec![Line::styled(
        "no series:",
        t.fg(t.dim).add_modifier(Modifier::BOLD),
    )];
    lines.extend(
        app.explanation
            .iter()
            .map(|l| Line::styled(l.clone(), t.fg(t.warning))),
    );
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn draw_table(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let rows_all = app.sorted_series();
    let height = area.height.saturating_sub(1) as usize;
    let first = app.table_sel.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = rows_all
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, (_, s))| {
            let v = s.points.first().map_or(f64::NAN, |p| p.1);
            let shown = match s.last_histogram() {
                Some(h) => h.summary(),
                None => crate::model::format_go_g(v),
            };
            let style = if i == app.table_sel && app.focus == Focus::Results {
                t.selected()
            } else {
                Style::default()
            };
            Row::new(vec![
                Cell::from(series_name(&s.labels)),
                Cell::from(Span::styled(shown, t.fg(t.number))),
            ])
            .style(style)
        })
        .collect();
    let arrow = if app.sort_desc { "↓" } else { "↑" };
    let (sl, sv) = match app.sort {
        SortKey::Labels => (arrow, ""),
        SortKey::Value => ("", arrow),
    };
    let header = Row::new(vec![
        format!("series ({}) {sl}", rows_all.len()),
        format!("value {sv}"),
    ])
    .style(t.fg(t.dim).add_modifier(Modifier::BOLD));
    // Histogram summaries need a wider value column.
    let value_pct = if rows_all.iter().any(|(_, s)| !s.histograms.is_empty()) {
        55
    } else {
        22
    };
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Percentage(100 - value_pct),
                Constraint::Percentage(value_pct),
            ],
        )
        .header(header),
        area,
    );
}

fn draw_matrix_table(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let width = 16usize;
    let rows: Vec<Row> = app
        .sorted_series()
        .into_iter()
        .map(|(_, s)| {
            let vals: Vec<f64> = s.points.iter().map(|p| p.1).collect();
            Row::new(vec![
                Cell::from(series_name(&s.labels)),
                Cell::from(format!("{:>width$}", sparkline(&vals, width))),
                Cell::from(Span::styled(
                    match (vals.last(), s.last_histogram()) {
                        (Some(v), Some(_)) => format!("n={}", short_num(*v)),
                        (Some(v), None) => short_num(*v),
                        (None, _) => String::new(),
                    },
                    t.fg(t.number),
                )),
            ])
        })
        .collect();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(20),
                Constraint::Length(width as u16),
                Constraint::Length(10),
            ],
        ),
        area,
    );
}
