//! The completion popup under the cursor (above the prompt when there is no room below).
//! Uses `app` and `format`.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use crate::tui::app::App;
use crate::tui::format::truncate;

/// Draws the popup, if open, next to the cursor in `prompt`, inside `screen`.
pub fn draw(app: &App, f: &mut Frame, prompt: Rect, screen: Rect) {
    let Some(p) = &app.popup else { return };
    let t = &app.theme;
    let (line, col) = app.editor.cursor_line_col();
    let h = (p.items.len().clamp(1, 10) as u16) + 2;
    let w = 70u16.min(screen.width);
    let x = (prompt.x + 1 + col as u16).min(screen.width.saturating_sub(w));
    let y = prompt.y + 2 + line as u16;
    let y = if y + h > screen.height {
        prompt.y.saturating_sub(h)
    } else {
        y
    };
    let area = Rect::new(x, y, w, h.min(screen.height));
    f.render_widget(Clear, area);
    let b = Block::bordered().border_style(t.border(true));
    let inner = b.inner(area);
    f.render_widget(b, area);
    if p.items.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled("(looking up…)", t.fg(t.dim))),
            inner,
        );
        return;
    }
    let first = p
        .selected
        .saturating_sub(inner.height.saturating_sub(1) as usize);
    let lines: Vec<Line> = p
        .items
        .iter()
        .enumerate()
        .skip(first)
        .take(inner.height as usize)
        .map(|(i, c)| {
            let mut l = Line::from(vec![
                Span::styled(format!("{:<28} ", truncate(&c.label, 28)), t.fg(t.metric)),
                Span::styled(c.detail.clone(), t.fg(t.dim)),
            ]);
            if i == p.selected {
                l = l.style(t.selected());
            }
            l
        })
        .collect();
    f.render_widget(Paragraph::new(Text::from(lines)), inner);
}
