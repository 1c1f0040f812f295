//! The prompt pane (the query with syntax colours, or the Ctrl-R search line) and the message
//! lines under it (live parse error with a caret, the last query's error, its warnings and
//! infos).
//! Uses `app`, `highlight`, `theme` and `view::panel`.

use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::{App, Focus};
use crate::tui::highlight::{tokenize, Kind};
use crate::tui::theme::Theme;

fn kind_style(k: Kind, t: &Theme) -> Style {
    let c = match k {
        Kind::Metric => t.metric,
        Kind::Function => t.function,
        Kind::Keyword => t.keyword,
        Kind::LabelName => t.label,
        Kind::String => t.string,
        Kind::Number => t.number,
        Kind::Duration => t.duration,
        Kind::Operator | Kind::Paren | Kind::Space => t.operator,
        Kind::Comment => t.comment,
        Kind::Error => t.error,
    };
    let s = Style::default().fg(c);
    if k == Kind::Function && t.no_color {
        s.add_modifier(Modifier::BOLD)
    } else {
        s
    }
}

/// The query with syntax colours, one `Line` per text line.
pub fn highlighted(text: &str, t: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = vec![Line::default()];
    for tok in tokenize(text) {
        let style = kind_style(tok.kind, t);
        let piece = &text[tok.start..tok.end];
        for (i, part) in piece.split('\n').enumerate() {
            if i > 0 {
                lines.push(Line::default());
            }
            if !part.is_empty() {
                if let Some(l) = lines.last_mut() {
                    l.spans.push(Span::styled(part.to_string(), style));
                }
            }
        }
    }
    lines
}

/// Draws the prompt pane.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Prompt;
    let title = if app.running {
        "PromQL (running…)"
    } else {
        "PromQL"
    };
    let b = block(title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    if let Some((needle, hit)) = &app.search {
        let found = hit
            .and_then(|i| app.history.entries().get(i))
            .cloned()
            .unwrap_or_default();
        let line = Line::from(vec![
            Span::styled(format!("(reverse-i-search)`{needle}': "), t.fg(t.dim)),
            Span::raw(found.replace('\n', " ")),
        ]);
        f.render_widget(Paragraph::new(line), inner);
        return;
    }
    let mut lines = highlighted(app.editor.text(), t);
    if app.editor.text().is_empty() && !focused {
        // Keys typed now go to the focused pane: say how to come back.
        lines = vec![Line::styled(
            "Esc comes back here to type a query",
            t.fg(t.dim),
        )];
    }
    let (cl, cc) = app.editor.cursor_line_col();
    let scroll = (cl as u16).saturating_sub(inner.height.saturating_sub(1));
    f.render_widget(Paragraph::new(Text::from(lines)).scroll((scroll, 0)), inner);
    if focused {
        let x = inner.x + (cc as u16).min(inner.width.saturating_sub(1));
        let y = inner.y + (cl as u16 - scroll).min(inner.height.saturating_sub(1));
        f.set_cursor_position(Position::new(x, y));
    }
}

/// Lines under the prompt: the live parse error with a caret, the last query's error,
/// warnings.
pub fn messages(app: &App) -> Vec<Line<'static>> {
    let t = &app.theme;
    let mut out = Vec::new();
    if let Some((msg, line, col)) = &app.live_error {
        if *line > 0 && *col > 0 {
            out.push(Line::from(vec![
                Span::raw(" ".repeat(col.saturating_sub(1))),
                Span::styled(
                    format!("^ {msg} (line {line}, column {col})"),
                    t.fg(t.error),
                ),
            ]));
        } else {
            out.push(Line::styled(msg.clone(), t.fg(t.error)));
        }
    } else if let Some(e) = &app.error {
        out.push(Line::styled(format!("error: {e}"), t.fg(t.error)));
    }
    // The query's annotations: warnings in the warning colour, infos (Prometheus starts
    // them with "PromQL info") in the label colour.
    for w in &app.warnings {
        let colour = if w.starts_with("PromQL info") {
            t.label
        } else {
            t.warning
        };
        out.push(Line::styled(w.clone(), t.fg(colour)));
    }
    out
}

/// Draws the message lines (nothing when `area` has no height).
pub fn draw_messages(app: &App, f: &mut Frame, area: Rect) {
    if area.height > 0 {
        f.render_widget(Paragraph::new(Text::from(messages(app))), area);
    }
}
