//! The status line: the keys of the focused pane on the left; series count, query time and
//! the server on the right. Uses `app` and `data`.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use crate::tui::app::{App, Focus, View};
use crate::tui::data::QueryData;

/// Draws the status line.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focus = match app.focus {
        Focus::Prompt => "prompt: Enter run · Tab complete · Ctrl-R search · Esc leave",
        Focus::Results if app.view == View::Rules => "rules: ↑↓ select · Enter to prompt",
        Focus::Results if app.view == View::Metrics => "metrics: / filter · Enter insert",
        Focus::Results if app.view == View::Overview => {
            "overview: ←↑↓→ select · Enter query to prompt"
        }
        Focus::Results if app.graph => {
            "graph: g table · +/- zoom · [ ] pan · 0 live · ←→ cursor · space hide · u UTC"
        }
        Focus::Results => "table: g graph · s sort · r reverse · ↑↓ scroll",
        Focus::Targets => "targets: / filter · ↑↓ scroll",
        Focus::Alerts => "alerts: ↑↓ select · Enter query to prompt",
    };
    let mut right = String::new();
    if !app.shown_expr.is_empty() && !matches!(app.result, QueryData::Empty) {
        let n = app.sorted_series().len();
        right = format!("{n} series · {:.0}ms · ", app.result_seconds * 1000.0);
    }
    right.push_str(&app.source_name);
    right.push(' ');
    let keys = if app.focus == Focus::Prompt {
        "F1 keys"
    } else {
        "? keys · q quit"
    };
    f.render_widget(
        Paragraph::new(Line::styled(format!(" {focus} · {keys}"), t.fg(t.dim))),
        area,
    );
    let w = (right.chars().count() as u16).min(area.width / 2);
    let ra = Rect::new(area.x + area.width - w, area.y, w, 1);
    f.render_widget(Clear, ra);
    f.render_widget(
        Paragraph::new(Line::styled(right, t.fg(t.title)))
            .alignment(ratatui::layout::Alignment::Right),
        ra,
    );
}
