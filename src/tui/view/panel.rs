//! The frame every panel draws in: a border (highlighted when focused) with a bold title.
//! Uses `theme`.

use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::Block;

use crate::tui::theme::Theme;

/// A bordered block titled ` title `.
pub fn block<'a>(title: &'a str, focused: bool, t: &Theme) -> Block<'a> {
    Block::bordered()
        .title(Span::styled(
            format!(" {title} "),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ))
        .border_style(t.border(focused))
}
