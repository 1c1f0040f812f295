//! The dashboards list over the screen (`o` in a dashboard, F2 without one): the dashboards
//! directory's `*.json` files with their titles, a file that does not open shown with its
//! error, the selection highlighted, the keys at the bottom. Reads `app::dash_save::DashList`;
//! uses `view::panel` and `theme`.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::dash_save::DashList;
use crate::tui::app::App;

/// Draws the list centred over `area`.
pub fn draw(app: &App, list: &DashList, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let w = area.width.saturating_sub(4).min(100);
    let h = area.height.saturating_sub(2);
    let r = Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    );
    f.render_widget(Clear, r);
    let title = format!("Dashboards in {}", list.dir.display());
    let b = block(&title, true, t);
    let inner = b.inner(r);
    f.render_widget(b, r);
    let mut lines: Vec<Line> = Vec::new();
    match &list.entries {
        None => lines.push(Line::styled("reading…", t.fg(t.dim))),
        Some(Err(e)) => lines.push(Line::styled(e.clone(), t.fg(t.error))),
        Some(Ok(entries)) if entries.is_empty() => lines.push(Line::styled(
            "no dashboards here yet: S in a dashboard saves one (a in the results adds a panel)",
            t.fg(t.dim),
        )),
        Some(Ok(entries)) => {
            let room = usize::from(inner.height.saturating_sub(2)).max(1);
            let first = list.selected.saturating_sub(room - 1);
            for (i, e) in entries.iter().enumerate().skip(first).take(room) {
                let name = e
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                let sel = i == list.selected;
                let mark = if sel { "▸ " } else { "  " };
                let mut spans = vec![Span::raw(mark)];
                match &e.title {
                    Ok(title) => {
                        spans.push(Span::styled(title.clone(), t.fg(t.title)));
                        spans.push(Span::styled(format!("  {name}"), t.fg(t.dim)));
                    }
                    Err(why) => {
                        spans.push(Span::styled(format!("{name}  "), t.fg(t.dim)));
                        spans.push(Span::styled(why.clone(), t.fg(t.error)));
                    }
                }
                let line = Line::from(spans);
                lines.push(if sel { line.style(t.selected()) } else { line });
            }
        }
    }
    lines.push(Line::raw(""));
    let mut keys = "↑↓ select · Enter open · Esc close".to_string();
    if let Some(n) = &app.dash_files.notice {
        keys.push_str(&format!(" · {n}"));
    }
    lines.push(Line::styled(keys, t.fg(t.dim)));
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
