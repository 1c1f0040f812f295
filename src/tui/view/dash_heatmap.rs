//! A dashboard's heatmap panel: its queries' range answers read as histograms by `heatmap`
//! (native histograms from `histogram`/`histograms` samples; classic `le` series turned from
//! cumulative into per-bucket counts, ordered by `le`), every histogram series of the panel
//! summed into one, laid on `heatmap::Grid` (time on x, one column per step of the answers
//! stretched to the width, buckets on y, lowest at the bottom),
//! each cell shaded as the results pane's heatmap does (`SHADES` in the `RAMP` colours, the
//! shade alone under NO_COLOR), the y axis labelled with bucket upper bounds in the panel's
//! unit, and a last line with the scale. Answers that are not histograms say so in the panel.
//! Uses `app::grafana`, `grafana` (model, units), `heatmap`, `data` and the heatmap view's
//! shades.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

use super::heatmap::{RAMP, SHADES};
use crate::tui::app::grafana::DashView;
use crate::tui::data::QueryData;
use crate::tui::grafana::model::Panel;
use crate::tui::grafana::units;
use crate::tui::heatmap::{histogram_series, level, Bucket, Grid, HistSeries, LEVELS};
use crate::tui::theme::Theme;

/// The panel's histogram: every histogram series of its answers summed (buckets of the same
/// time side by side; the grid adds those of equal bounds). `Err`: why there is none.
pub fn panel_histogram(answers: &[&QueryData]) -> Result<HistSeries, String> {
    let mut by_time: std::collections::BTreeMap<i64, Vec<Bucket>> = Default::default();
    let mut native = false;
    let mut plain = 0usize;
    for a in answers {
        let found = histogram_series(a);
        if found.is_empty() {
            if let QueryData::Vector(v) | QueryData::Matrix(v) = a {
                plain += v.len();
            }
        }
        for s in found {
            native |= s.native;
            for (t, buckets) in s.samples {
                by_time
                    .entry((t * 1000.0).round() as i64)
                    .or_default()
                    .extend(buckets);
            }
        }
    }
    if by_time.is_empty() {
        return Err(if plain > 0 {
            format!(
                "not a histogram: {plain} series without an `le` label or native histogram \
                 samples"
            )
        } else {
            "no data".to_string()
        });
    }
    Ok(HistSeries {
        labels: Default::default(),
        native,
        samples: by_time
            .into_iter()
            .map(|(ms, b)| (ms as f64 / 1000.0, b))
            .collect(),
    })
}

/// How many columns the grid of `h` over `window` gets in `width` screen columns: one per
/// step of its samples (the smallest gap between them), at most `width`.
pub fn columns(h: &HistSeries, (start, end): (f64, f64), width: usize) -> usize {
    let step = h
        .samples
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|d| *d > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !step.is_finite() {
        return width.max(1);
    }
    let steps = ((end - start) / step).ceil().max(1.0);
    (steps as usize).clamp(1, width.max(1))
}

fn shade_style(t: &Theme, lvl: u8) -> Style {
    if t.no_color || lvl == 0 {
        return Style::default();
    }
    Style::default().fg(RAMP[usize::from(lvl - 1)].0)
}

/// Draws the heatmap of panel `p` (at `at`) in `area`; `Err` with the message to show.
pub fn draw(
    t: &Theme,
    d: &DashView,
    at: (usize, usize),
    p: &Panel,
    f: &mut Frame,
    area: Rect,
) -> Result<(), String> {
    let answers: Vec<&QueryData> = (0..p.targets.len())
        .filter_map(|ti| d.answers.get(&(at.0, at.1, ti)))
        .filter_map(|a| a.result.as_ref().ok())
        .collect();
    let hist = panel_histogram(&answers)?;
    let unit = p.opts.heat_unit.as_deref().or(p.unit.as_deref());
    let decimals = p.opts.heat_decimals.or(p.decimals);
    let plot_h = area.height.saturating_sub(1).max(1);
    let probe = Grid::new(&hist, d.window, 1, usize::from(plot_h));
    let label = |v: f64| units::format(unit, v, decimals);
    let gutter_w = probe
        .rows
        .iter()
        .map(|r| label(r.1).chars().count())
        .max()
        .unwrap_or(1)
        .min(12) as u16
        + 1;
    let gutter_w = gutter_w.min(area.width / 3);
    let plot = Rect::new(
        area.x + gutter_w,
        area.y,
        area.width.saturating_sub(gutter_w).max(1),
        plot_h.min(area.height),
    );
    // One column per step of the answers at most (Grafana draws a cell per step): a wider
    // plot stretches each column over several screen columns, leaving no gaps.
    let cols = columns(&hist, d.window, usize::from(plot.width));
    let grid = Grid::new(&hist, d.window, cols, usize::from(plot_h));
    if grid.rows.is_empty() {
        return Err("no buckets in this time range".into());
    }
    let row_h = (plot.height / grid.rows.len() as u16).max(1);
    let bottom = plot.bottom().saturating_sub(1);
    let top_of = |r: usize| bottom.saturating_sub((r as u16 + 1) * row_h - 1);
    let buf = f.buffer_mut();
    for dx in 0..plot.width {
        let x = plot.x + dx;
        let c = usize::from(dx) * cols / usize::from(plot.width);
        let Some(col) = grid.cells.get(c).and_then(Option::as_ref) else {
            continue;
        };
        for (r, v) in col.iter().enumerate() {
            let lvl = level(*v, grid.max);
            for dy in 0..row_h {
                let y = top_of(r) + dy;
                if y >= plot.y && y <= bottom {
                    buf[(x, y)]
                        .set_symbol(SHADES[usize::from(lvl)])
                        .set_style(shade_style(t, lvl));
                }
            }
        }
    }
    // Upper bounds on each row's top line (every other one when rows are one line high).
    let every = if row_h == 1 { 2 } else { 1 };
    let n = grid.rows.len();
    for (r, (_, upper)) in grid.rows.iter().enumerate() {
        let y = top_of(r);
        if (r % every != 0 && r != n - 1) || y < plot.y || gutter_w < 2 {
            continue;
        }
        let w = usize::from(gutter_w - 1);
        let text: String = label(*upper).chars().take(w).collect();
        buf.set_string(area.x, y, format!("{text:>w$}"), t.fg(t.dim));
    }
    if area.height > plot.height {
        let mut spans = vec![Span::styled("per cell ", t.fg(t.dim))];
        for lvl in 1..=LEVELS {
            spans.push(Span::styled(
                SHADES[usize::from(lvl)].repeat(2),
                shade_style(t, lvl),
            ));
            spans.push(Span::styled(
                format!(
                    "≤{} ",
                    crate::client::histogram::compact_num(
                        grid.max * f64::from(lvl) / f64::from(LEVELS)
                    )
                ),
                t.fg(t.dim),
            ));
        }
        let kind = if hist.native { "native" } else { "classic" };
        spans.push(Span::styled(format!(" ({kind})"), t.fg(t.dim)));
        f.render_widget(
            Paragraph::new(Line::from(spans)).wrap(Wrap { trim: true }),
            Rect::new(area.x, plot.bottom(), area.width, 1),
        );
    }
    Ok(())
}
