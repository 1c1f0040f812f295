//! The shared time cursor on a dashboard's time series panels: the vertical line a chart
//! draws at the cursor's time (over the whole value axis), and the legend's read-out of a
//! series' value at that time in the panel's unit.
//! Reads `app::grafana::DashView` and `app::grafana_time`; uses `grafana::units` and `theme`.

use ratatui::style::Modifier;
use ratatui::text::Span;

use crate::tui::app::grafana::DashView;
use crate::tui::app::grafana_time::value_at;
use crate::tui::grafana::units;
use crate::tui::theme::Theme;

/// The cursor's line from `lo` to `hi` when the cursor is within the window drawn.
pub fn line(d: &DashView, lo: f64, hi: f64) -> Option<Vec<(f64, f64)>> {
    let c = d.time.cursor?;
    let (start, end) = d.window;
    (c >= start && c <= end).then(|| vec![(c, lo), (c, hi)])
}

/// A legend's read-out of `points` at the cursor: `  at cursor 12 MB` (`–` when the series
/// has no point there); none while the cursor is hidden.
pub fn legend_span(
    d: &DashView,
    points: &[(f64, f64)],
    unit: Option<&str>,
    decimals: Option<u32>,
    t: &Theme,
) -> Option<Span<'static>> {
    let c = d.time.cursor?;
    let text =
        value_at(points, c, 0.0).map_or("–".to_string(), |v| units::format(unit, v, decimals));
    Some(Span::styled(
        format!("  at cursor {text}"),
        t.fg(t.warning).add_modifier(Modifier::BOLD),
    ))
}
