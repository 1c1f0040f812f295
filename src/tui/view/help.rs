//! The key help overlay, in one column or two. Uses `app` and `view::panel`.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::App;

/// Every key, as the help overlay lists them.
pub const HELP: &[(&str, &str)] = &[
    ("Anywhere", ""),
    ("Ctrl-C", "quit"),
    ("Tab / Shift-Tab", "next / previous pane"),
    ("F1, ? (outside the prompt)", "this help; any key closes it"),
    ("q (outside the prompt)", "quit"),
    (
        "1 2 3 4 5 6 (outside the prompt)",
        "Query, Targets, Alerts, Rules, Metrics, Overview",
    ),
    ("Esc (outside the prompt)", "back to the prompt"),
    ("Prompt", ""),
    ("Enter / Alt-Enter", "run / new line"),
    (
        "Tab",
        "complete (metrics, functions, labels, values, durations)",
    ),
    ("Up / Down", "history (or move between lines)"),
    ("Ctrl-R", "search history (again: older; Enter takes it)"),
    ("Ctrl-A Ctrl-E / Home End", "start / end of line"),
    ("Ctrl-W Ctrl-U Ctrl-K", "delete word / to start / to end"),
    ("Alt-B Alt-F", "word left / right"),
    ("Esc", "leave the prompt"),
    ("Results", ""),
    ("g", "graph (range query) / table (instant query)"),
    ("s / r", "sort by labels or value / reverse"),
    ("+ / -", "zoom in / out"),
    ("[ / ]", "pan back / forward"),
    ("0", "live mode: re-run every 5s"),
    ("← / →", "value cursor"),
    ("↑ ↓ / space", "select series / hide or show it"),
    ("u", "local time / UTC"),
    ("Overview", ""),
    ("← → ↑ ↓ / h j k l", "select a panel"),
    ("Enter", "put the panel's query into the prompt"),
    ("Targets, metrics", ""),
    ("/", "filter (Enter keeps, Esc clears)"),
    ("Alerts, rules, metrics", ""),
    ("Enter", "put the expression (or name) into the prompt"),
];

/// Draws the overlay centred on `screen`.
pub fn draw(app: &App, f: &mut Frame, screen: Rect) {
    let t = &app.theme;
    // One column when it fits, else two side by side.
    let cols = if HELP.len() as u16 + 2 <= screen.height {
        1
    } else {
        2
    };
    let per_col = HELP.len().div_ceil(cols);
    let h = (per_col as u16 + 2).min(screen.height);
    let w = if cols == 1 { 80u16 } else { 140 }.min(screen.width);
    let area = Rect::new((screen.width - w) / 2, (screen.height - h) / 2, w, h);
    f.render_widget(Clear, area);
    let b = block("Keys", true, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let col_w = inner.width / cols as u16;
    let key_w = if cols == 1 {
        32
    } else {
        (col_w as usize * 2 / 5).max(12)
    };
    for (c, chunk) in HELP.chunks(per_col).enumerate() {
        let lines: Vec<Line> = chunk
            .iter()
            .map(|(k, d)| {
                if d.is_empty() {
                    Line::styled(k.to_string(), t.fg(t.title).add_modifier(Modifier::BOLD))
                } else {
                    Line::from(vec![
                        Span::styled(format!(" {k:<key_w$} "), t.fg(t.keyword)),
                        Span::raw(d.to_string()),
                    ])
                }
            })
            .collect();
        let r = Rect::new(inner.x + c as u16 * col_w, inner.y, col_w, inner.height);
        f.render_widget(Paragraph::new(Text::from(lines)), r);
    }
}
