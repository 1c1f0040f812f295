//! The metrics explorer: metric names with type, series count and help; `/` filters.
//! Uses `app` and `view::panel`.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::{App, Focus};

/// Draws the metrics explorer.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Results;
    let list = app.visible_metrics();
    let title = if app.metrics_filter.is_empty() && !app.filter_editing {
        format!("Metrics ({})", list.len())
    } else {
        format!("Metrics ({})  /{}", list.len(), app.metrics_filter)
    };
    let b = block(&title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = inner.height.saturating_sub(1) as usize;
    let first = app.metrics_sel.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = list
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, m)| {
            let (ty, help) = app.known.metadata.get(*m).cloned().unwrap_or_default();
            let count = app
                .series_counts
                .get(*m)
                .map_or(String::new(), |c| c.to_string());
            let row = Row::new(vec![
                Cell::from(Span::styled(m.to_string(), t.fg(t.metric))),
                Cell::from(Span::styled(ty, t.fg(t.keyword))),
                Cell::from(count),
                Cell::from(Span::styled(help, t.fg(t.dim))),
            ]);
            if focused && i == app.metrics_sel {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(vec!["metric", "type", "series", "help"])
        .style(t.fg(t.dim).add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Percentage(38),
                Constraint::Length(10),
                Constraint::Length(7),
                Constraint::Min(10),
            ],
        )
        .header(header),
        inner,
    );
}
