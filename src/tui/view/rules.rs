//! The rules view: one row per recording or alerting rule with its group, health, state,
//! evaluation time and query (or last error); narrower panes drop the group and evaluation
//! time, then the type and health. The list refreshes with the panels (every 5 s) and when the
//! view opens, so a reload shows. Uses `app` and `view::panel`.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::{App, Focus};

/// Which columns fit in `width`: (name, width constraint).
fn columns(width: u16) -> Vec<(&'static str, Constraint)> {
    let all = [
        ("group", Constraint::Length(12)),
        ("name", Constraint::Length(22)),
        ("type", Constraint::Length(6)),
        ("health", Constraint::Length(6)),
        ("state", Constraint::Length(8)),
        ("eval", Constraint::Length(8)),
        ("query / error", Constraint::Min(10)),
    ];
    let keep: &[&str] = if width >= 100 {
        &[
            "group",
            "name",
            "type",
            "health",
            "state",
            "eval",
            "query / error",
        ]
    } else if width >= 64 {
        &["name", "type", "health", "state", "query / error"]
    } else {
        &["name", "state", "query / error"]
    };
    all.into_iter().filter(|(n, _)| keep.contains(n)).collect()
}

/// Draws the rules view.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Results;
    let title = format!("Rules ({})", app.rules.len());
    let b = block(&title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    if app.rules.is_empty() {
        let text = match &app.rules_error {
            Some(e) => Line::styled(e.clone(), t.fg(t.error)),
            None => Line::styled(
                "no rules loaded (rule_files in the config); this list refreshes every 5s",
                t.fg(t.dim),
            ),
        };
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
        return;
    }
    let cols = columns(inner.width);
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
            let cells = cols.iter().map(|(c, _)| match *c {
                "group" => Cell::from(r.group.clone()),
                "name" => Cell::from(r.name.clone()),
                "type" => Cell::from(if r.kind == "alerting" {
                    "alert"
                } else {
                    "record"
                }),
                "health" => Cell::from(Span::styled(r.health.clone(), health)),
                "state" => Cell::from(Span::styled(r.state.clone(), state)),
                "eval" => Cell::from(format!("{:.1}ms", r.eval_secs * 1000.0)),
                _ => Cell::from(if r.last_error.is_empty() {
                    r.query.clone()
                } else {
                    r.last_error.clone()
                }),
            });
            let row = Row::new(cells.collect::<Vec<_>>());
            if focused && i == app.rules_sel {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(cols.iter().map(|(n, _)| *n).collect::<Vec<_>>())
        .style(t.fg(t.dim).add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(rows, cols.iter().map(|(_, c)| *c)).header(header),
        inner,
    );
}
