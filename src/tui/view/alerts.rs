//! The alerts pane: counts by state, then each active alert with its labels and how long it
//! has been pending or firing. Uses `app`, `data`, `format` and `view::panel`.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::{App, Focus};
use crate::tui::data::parse_rfc3339;
use crate::tui::format::human_secs;

/// Draws the alerts pane.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Alerts;
    let (firing, pending, inactive) = app.alert_counts();
    let b = block("Alerts", focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("{firing} firing"),
            t.fg(t.firing).add_modifier(Modifier::BOLD),
        ),
        Span::raw("  "),
        Span::styled(format!("{pending} pending"), t.fg(t.pending)),
        Span::raw("  "),
        Span::styled(format!("{inactive} inactive"), t.fg(t.inactive)),
    ])];
    if let Some(e) = &app.rules_error {
        lines.push(Line::styled(e.clone(), t.fg(t.error)));
    }
    let height = (inner.height.saturating_sub(1) / 2) as usize;
    let first = app.alerts_sel.saturating_sub(height.saturating_sub(1));
    for (i, a) in app.alerts.iter().enumerate().skip(first).take(height) {
        let style = if a.state == "firing" {
            t.fg(t.firing)
        } else {
            t.fg(t.pending)
        };
        let since = parse_rfc3339(&a.active_at).unwrap_or(app.now);
        let mut when = format!("since {}", human_secs((app.now - since).max(0.0)));
        if a.state == "pending" && a.for_secs > 0.0 {
            let left = (a.for_secs - (app.now - since)).max(0.0);
            when.push_str(&format!(", fires in {}", human_secs(left)));
        }
        let labels: Vec<String> = a
            .labels
            .iter()
            .filter(|(k, _)| *k != "alertname")
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let mut line = Line::from(vec![
            Span::styled(
                format!("{:<8}", a.state),
                style.add_modifier(Modifier::BOLD),
            ),
            Span::styled(format!("{} ", a.name), style),
            Span::raw(labels.join(" ")),
        ]);
        if focused && i == app.alerts_sel {
            line = line.style(t.selected());
        }
        lines.push(line);
        lines.push(Line::styled(format!("        {when}"), t.fg(t.dim)));
    }
    if app.alerts.is_empty() && app.rules_error.is_none() {
        lines.push(Line::styled("no active alerts", t.fg(t.dim)));
    }
    f.render_widget(Paragraph::new(Text::from(lines)), inner);
}
