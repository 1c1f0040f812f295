//! A time series panel's legend as Grafana's `options.legend` says: `displayMode` list (a
//! line per series: colour, name, then each statistic as `Min 3`), table (a header of the
//! statistics and aligned columns) or hidden; `placement` bottom (up to a third of the
//! height) or right (up to a third of the width). The statistics are the panel's
//! `legend.calcs` (legacy min/max/avg/current/total), or, with the dashboard's `l` toggle on,
//! min, max, mean and last on every panel. Each series comes with its colour, its unit and
//! decimals (field overrides) and what follows its name (the time cursor's read-out). Uses
//! `grafana` (legend reducers, options, units) and `theme`.

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::grafana::legend::{calc_label, reduce};
use crate::tui::grafana::model::Panel;
use crate::tui::grafana::options::LegendMode;
use crate::tui::grafana::units;
use crate::tui::theme::Theme;

/// One series of the legend.
pub struct LegendItem<'a> {
    pub name: &'a str,
    pub points: &'a [(f64, f64)],
    pub color: Color,
    pub unit: Option<&'a str>,
    pub decimals: Option<u32>,
    /// Shown after the name (the value at the time cursor).
    pub extra: Option<Span<'static>>,
}

/// The statistics `l` shows on every panel.
pub const TOGGLED: [&str; 4] = ["min", "max", "mean", "lastNotNull"];

/// The statistics a panel's legend shows: the toggled ones, else the panel's own.
pub fn legend_calcs(p: &Panel, toggled: bool) -> Vec<String> {
    if toggled {
        TOGGLED.iter().map(|c| c.to_string()).collect()
    } else {
        p.legend_calcs.clone()
    }
}

/// The legend's cells: (name, one text per statistic, "" where it has no value).
fn cells(series: &[LegendItem<'_>], calcs: &[String]) -> Vec<(String, Vec<String>)> {
    series
        .iter()
        .map(|s| {
            let values = calcs
                .iter()
                .map(|c| {
                    reduce(c, s.points)
                        .map_or(String::new(), |v| units::format(s.unit, v, s.decimals))
                })
                .collect();
            (s.name.to_string(), values)
        })
        .collect()
}

/// The lines of the legend (not yet cut to its area).
pub fn lines(
    t: &Theme,
    p: &Panel,
    series: &[LegendItem<'_>],
    calcs: &[String],
) -> Vec<Line<'static>> {
    let cells = cells(series, calcs);
    let mark = |i: usize| Span::styled("■ ", t.fg(series[i].color));
    let extra = |i: usize| series[i].extra.clone();
    if p.opts.legend.mode == LegendMode::Table && !calcs.is_empty() {
        let name_w = cells
            .iter()
            .map(|c| c.0.chars().count())
            .max()
            .unwrap_or(0)
            .min(60);
        let col_w: Vec<usize> = calcs
            .iter()
            .enumerate()
            .map(|(k, c)| {
                cells
                    .iter()
                    .map(|r| r.1[k].chars().count())
                    .chain([calc_label(c).chars().count()])
                    .max()
                    .unwrap_or(1)
            })
            .collect();
        let mut head = format!("  {:name_w$}", "");
        for (c, w) in calcs.iter().zip(&col_w) {
            head.push_str(&format!("  {:>w$}", calc_label(c)));
        }
        let mut out = vec![Line::styled(head, t.fg(t.dim).add_modifier(Modifier::BOLD))];
        for (i, (name, values)) in cells.into_iter().enumerate() {
            let name: String = name.chars().take(name_w).collect();
            let mut spans = vec![mark(i), Span::raw(format!("{name:name_w$}"))];
            for (v, w) in values.iter().zip(&col_w) {
                spans.push(Span::styled(format!("  {v:>w$}"), t.fg(t.dim)));
            }
            spans.extend(extra(i));
            out.push(Line::from(spans));
        }
        return out;
    }
    cells
        .into_iter()
        .enumerate()
        .map(|(i, (name, values))| {
            let mut spans = vec![mark(i), Span::raw(name)];
            spans.extend(extra(i));
            for (c, v) in calcs.iter().zip(values) {
                if !v.is_empty() {
                    spans.push(Span::styled(
                        format!("  {} {v}", calc_label(c)),
                        t.fg(t.dim),
                    ));
                }
            }
            Line::from(spans)
        })
        .collect()
}

/// Splits `area` into the chart's and the legend's rectangles and draws the legend.
pub fn draw(
    t: &Theme,
    p: &Panel,
    series: &[LegendItem<'_>],
    toggled: bool,
    f: &mut Frame,
    area: Rect,
) -> Rect {
    if p.opts.legend.mode == LegendMode::Hidden || series.is_empty() {
        return area;
    }
    let calcs = legend_calcs(p, toggled);
    let lines = lines(t, p, series, &calcs);
    if p.opts.legend.right {
        let widest = lines.iter().map(Line::width).max().unwrap_or(0) as u16;
        let w = widest.min(area.width / 3);
        if w == 0 {
            return area;
        }
        let chart = Rect {
            width: area.width - w,
            ..area
        };
        let legend = Rect {
            x: chart.right(),
            width: w,
            ..area
        };
        f.render_widget(Paragraph::new(lines), legend);
        return chart;
    }
    let rows = (lines.len() as u16).min(area.height / 3);
    let chart = Rect {
        height: area.height - rows,
        ..area
    };
    f.render_widget(
        Paragraph::new(lines),
        Rect {
            y: chart.bottom(),
            height: rows,
            ..area
        },
    );
    chart
}
