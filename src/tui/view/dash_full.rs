//! A dashboard panel full screen: a title line (dashboard › panel, the keys), the panel's
//! description under it, its queries as sent (the one `e` takes marked), then the panel over
//! the rest of the screen, drawn as on the grid. Reads `app::grafana::DashView` and its
//! `Selection`; uses `view::dashboard_view` to draw the panel and `theme`.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use crate::tui::app::grafana::DashView;
use crate::tui::app::App;
use crate::tui::grafana::model::Panel;

/// Lines at most for the description and for the query list.
const MAX_DESCRIPTION: u16 = 4;
const MAX_QUERIES: usize = 6;

/// The queries the panel runs, each as sent (or as it will be): (target index, ref id, text).
pub fn sent_queries(
    d: &DashView,
    at: (usize, usize),
    p: &Panel,
    now: f64,
) -> Vec<(usize, String, String)> {
    p.targets
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.hide && !t.expr.trim().is_empty() && t.skipped.is_none())
        .map(|(ti, t)| {
            let expr = d
                .answers
                .get(&(at.0, at.1, ti))
                .map(|a| a.expr.clone())
                .or_else(|| d.expand(at.0, at.1, ti, now))
                .unwrap_or_else(|| t.expr.clone());
            (ti, t.ref_id.clone(), expr)
        })
        .collect()
}

/// Lines `text` takes wrapped at `width` (roughly: by characters).
fn wrapped_lines(text: &str, width: u16) -> u16 {
    let w = usize::from(width.max(1));
    text.lines()
        .map(|l| l.chars().count().max(1).div_ceil(w) as u16)
        .sum()
}

/// Draws panel `p` (at `at`) over `area`.
pub fn draw(app: &App, d: &DashView, at: (usize, usize), p: &Panel, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let dash_title = d
        .loaded
        .as_ref()
        .map(|l| l.dashboard.title.clone())
        .unwrap_or_default();
    let queries = sent_queries(d, at, p, app.now);
    let description = p.description.trim();
    let desc_h = if description.is_empty() {
        0
    } else {
        wrapped_lines(description, area.width).min(MAX_DESCRIPTION)
    };
    let shown_q = queries.len().min(MAX_QUERIES);
    let [head, desc, qs, body] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(desc_h),
        Constraint::Length(shown_q as u16),
        Constraint::Min(3),
    ])
    .areas(area);
    let keys = if queries.len() > 1 {
        "Esc: grid · Tab: next panel · ↑↓: query · e: edit in the prompt"
    } else {
        "Esc: grid · Tab: next panel · e: edit in the prompt"
    };
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(
                format!(" {dash_title} › {} ", p.title),
                t.fg(t.title).add_modifier(Modifier::BOLD),
            ),
            Span::styled(keys, t.fg(t.dim)),
            Span::styled(
                app.dash_files
                    .notice
                    .as_ref()
                    .map(|n| format!(" · {n}"))
                    .unwrap_or_default(),
                t.fg(t.title),
            ),
        ])),
        head,
    );
    if desc_h > 0 {
        f.render_widget(
            Paragraph::new(description.to_string())
                .style(t.fg(t.dim))
                .wrap(Wrap { trim: true }),
            desc,
        );
    }
    let picked = d.sel.query.min(queries.len().saturating_sub(1));
    let first = picked.saturating_sub(MAX_QUERIES - 1);
    let lines: Vec<Line> = queries
        .iter()
        .enumerate()
        .skip(first)
        .take(shown_q)
        .map(|(i, (_, ref_id, expr))| {
            let mark = if i == picked { "▸" } else { " " };
            let style = if i == picked {
                t.fg(t.title)
            } else {
                t.fg(t.dim)
            };
            Line::from(vec![
                Span::styled(format!("{mark}{ref_id}: "), style),
                Span::raw(expr.replace('\n', " ")),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), qs);
    super::dashboard_view::draw_panel(app, d, at, p, f, body);
}
