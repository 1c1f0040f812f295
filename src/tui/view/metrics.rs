//! The metrics explorer: metric names with type, series count and help (a narrow pane keeps
//! name and count; a classic histogram's series show their family's help); histograms are
//! marked (type `native hist` or `classic hist`, for the
//! `_bucket`/`_sum`/`_count` series of a classic one; `▦` after the name when narrow); `/`
//! filters. The data refreshes every 30 s, and when the view opens
//! (`app::actions`); an empty list says so. Uses `app`, `heatmap` and `view::panel`.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::{App, Focus};
use crate::tui::heatmap::metric_kind;

/// How a narrow explorer marks a histogram's names.
pub const HIST_MARK: &str = "▦";

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
    if list.is_empty() {
        let why = if app.known.metrics.is_empty() {
            "no metrics yet (nothing scraped or written so far); this list refreshes every 30s and when the view opens".to_string()
        } else {
            format!("no metric name or help contains {:?}", app.metrics_filter)
        };
        f.render_widget(
            Paragraph::new(Line::styled(why, t.fg(t.dim))).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    let narrow = inner.width < 60;
    let height = inner.height.saturating_sub(1) as usize;
    let first = app.metrics_sel.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = list
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, m)| {
            let (mut ty, help) = app.known.metadata.get(*m).cloned().unwrap_or_default();
            let hist = metric_kind(m, &app.known.metadata, &app.known.metrics);
            if let Some(k) = hist {
                ty = k.label().to_string();
            }
            // A classic histogram's series: the family's help.
            let help = if help.is_empty() {
                ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| m.strip_suffix(s))
                    .and_then(|base| app.known.metadata.get(base))
                    .map_or(help, |(_, h)| h.clone())
            } else {
                help
            };
            let count = app
                .series_counts
                .get(*m)
                .map_or(String::new(), |c| c.to_string());
            let name = if narrow && hist.is_some() {
                format!("{m} {HIST_MARK}")
            } else {
                m.to_string()
            };
            let name = Cell::from(Span::styled(name, t.fg(t.metric)));
            let row = if narrow {
                Row::new(vec![name, Cell::from(count)])
            } else {
                Row::new(vec![
                    name,
                    Cell::from(Span::styled(ty, t.fg(t.keyword))),
                    Cell::from(count),
                    Cell::from(Span::styled(help, t.fg(t.dim))),
                ])
            };
            if focused && i == app.metrics_sel {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let (names, widths) = if narrow {
        (
            vec!["metric", "series"],
            vec![Constraint::Min(10), Constraint::Length(7)],
        )
    } else {
        (
            vec!["metric", "type", "series", "help"],
            vec![
                Constraint::Percentage(38),
                Constraint::Length(12),
                Constraint::Length(7),
                Constraint::Min(10),
            ],
        )
    };
    let header = Row::new(names).style(t.fg(t.dim).add_modifier(Modifier::BOLD));
    f.render_widget(Table::new(rows, widths).header(header), inner);
}
