//! The rules view: one row per recording or alerting rule with its group, health, state,
//! evaluation time and query (or last error). Uses `app` and `view::panel`.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Row, Table};
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::{App, Focus};

/// Draws the rules view.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Results;
    let title = format!("Rules ({})", app.rules.len());
    let b = block(&title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = inner.height.saturating_sub(1) as usize;
    let first = app.rules_sel.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = app
        .rules
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, r)| {
            let health = if r.health == "ok" {
                t.fg(t.up)
            } else {
                t.fg(t.down)
            };
            let state = match r.state.as_str() {
                "firing" => t.fg(t.firing),
                "pending" => t.fg(t.pending),
                _ => t.fg(t.dim),
            };
            let row = Row::new(vec![
                Cell::from(r.group.clone()),
                Cell::from(r.name.clone()),
                Cell::from(if r.kind == "alerting" {
                    "alert"
                } else {
                    "record"
                }),
                Cell::from(Span::styled(r.health.clone(), health)),
                Cell::from(Span::styled(r.state.clone(), state)),
                Cell::from(format!("{:.1}ms", r.eval_secs * 1000.0)),
                Cell::from(if r.last_error.is_empty() {
                    r.query.clone()
                } else {
                    r.last_error.clone()
                }),
            ]);
            if focused && i == app.rules_sel {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(vec![
        "group",
        "name",
        "type",
        "health",
        "state",
        "eval",
        "query / error",
    ])
    .style(t.fg(t.dim).add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(12),
                Constraint::Length(22),
                Constraint::Length(6),
                Constraint::Length(6),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Min(10),
            ],
        )
        .header(header),
        inner,
    );
}
