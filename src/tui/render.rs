//! Drawing the state: one screen at 100×30 and larger (prompt on top; results; targets and
//! alerts on the right; a status line), tabs below that. Pure: `render(&App, frame)`.

use ratatui::layout::{Constraint, Layout, Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{
    Axis, Block, Cell, Chart, Clear, Dataset, GraphType, Paragraph, Row, Table, Tabs, Wrap,
};
use ratatui::Frame;

use super::app::{App, Focus, View, VIEWS};
use super::data::{parse_rfc3339, series_name, QueryData};
use super::highlight::{tokenize, Kind};
use super::theme::Theme;

/// Smallest size for the one-screen layout.
pub const WIDE_COLS: u16 = 100;
pub const WIDE_ROWS: u16 = 30;

/// Whether a terminal of this size gets the one-screen layout.
pub fn is_wide(area: Rect) -> bool {
    area.width >= WIDE_COLS && area.height >= WIDE_ROWS
}

fn block<'a>(title: &'a str, focused: bool, t: &Theme) -> Block<'a> {
    Block::bordered()
        .title(Span::styled(
            format!(" {title} "),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ))
        .border_style(t.border(focused))
}

/// Where the panes of the one-screen layout are.
struct Wide {
    prompt: Rect,
    msgs: Rect,
    main: Rect,
    targets: Rect,
    alerts: Rect,
    status: Rect,
}

fn wide_layout(app: &App, area: Rect) -> Wide {
    let prompt_h = (app.editor.text().lines().count().max(1) as u16 + 2).clamp(3, 8);
    let msg_h = messages(app).len().min(3) as u16;
    let [prompt, msgs, body, status] = Layout::vertical([
        Constraint::Length(prompt_h),
        Constraint::Length(msg_h),
        Constraint::Min(5),
        Constraint::Length(1),
    ])
    .areas(area);
    let [main, side] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(body);
    let [targets, alerts] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(side);
    Wide {
        prompt,
        msgs,
        main,
        targets,
        alerts,
        status,
    }
}

/// The pane under a mouse position (for `--mouse`).
pub fn pane_at(app: &App, area: Rect, x: u16, y: u16) -> Option<Focus> {
    let p = Position::new(x, y);
    if app.wide {
        let w = wide_layout(app, area);
        [
            (w.prompt, Focus::Prompt),
            (w.main, Focus::Results),
            (w.targets, Focus::Targets),
            (w.alerts, Focus::Alerts),
        ]
        .into_iter()
        .find(|(r, _)| r.contains(p))
        .map(|x| x.1)
    } else {
        match app.view {
            View::Query => Some(if y <= area.y + 3 {
                Focus::Prompt
            } else {
                Focus::Results
            }),
            View::Targets => Some(Focus::Targets),
            View::Alerts => Some(Focus::Alerts),
            View::Rules | View::Metrics => Some(Focus::Results),
        }
    }
}

/// Draws everything.
pub fn render(app: &App, f: &mut Frame) {
    let area = f.area();
    let t = &app.theme;
    if app.wide {
        let Wide {
            prompt,
            msgs,
            main,
            targets,
            alerts,
            status,
        } = wide_layout(app, area);
        draw_prompt(app, f, prompt);
        draw_messages(app, f, msgs);
        match app.view {
            View::Rules => draw_rules(app, f, main),
            View::Metrics => draw_metrics(app, f, main),
            _ => draw_results(app, f, main),
        }
        draw_targets(app, f, targets);
        draw_alerts(app, f, alerts);
        draw_status(app, f, status);
        if app.popup.is_some() {
            draw_popup(app, f, prompt, area);
        }
    } else {
        let [tabs, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(area);
        let titles: Vec<Line> = VIEWS
            .iter()
            .enumerate()
            .map(|(i, (_, n))| Line::from(format!("{} {n}", i + 1)))
            .collect();
        let sel = VIEWS.iter().position(|(v, _)| *v == app.view).unwrap_or(0);
        f.render_widget(
            Tabs::new(titles)
                .select(sel)
                .style(t.fg(t.dim))
                .highlight_style(t.selected()),
            tabs,
        );
        match app.view {
            View::Query => {
                let prompt_h = (app.editor.text().lines().count().max(1) as u16 + 2).clamp(3, 6);
                let msg_h = messages(app).len().min(2) as u16;
                let [prompt, msgs, results] = Layout::vertical([
                    Constraint::Length(prompt_h),
                    Constraint::Length(msg_h),
                    Constraint::Min(3),
                ])
                .areas(body);
                draw_prompt(app, f, prompt);
                draw_messages(app, f, msgs);
                draw_results(app, f, results);
                if app.popup.is_some() {
                    draw_popup(app, f, prompt, area);
                }
            }
            View::Targets => draw_targets(app, f, body),
            View::Alerts => draw_alerts(app, f, body),
            View::Rules => draw_rules(app, f, body),
            View::Metrics => draw_metrics(app, f, body),
        }
        draw_status(app, f, status);
    }
    if app.help {
        draw_help(app, f, area);
    }
}

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

fn draw_prompt(app: &App, f: &mut Frame, area: Rect) {
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
        lines = vec![Line::styled("type a query, Enter to run", t.fg(t.dim))];
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
fn messages(app: &App) -> Vec<Line<'static>> {
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
    for w in &app.warnings {
        out.push(Line::styled(w.clone(), t.fg(t.warning)));
    }
    out
}

fn draw_messages(app: &App, f: &mut Frame, area: Rect) {
    if area.height > 0 {
        f.render_widget(Paragraph::new(Text::from(messages(app))), area);
    }
}

/// A compact number: `1.23k`, `45.6M`, `0.5`, `NaN`.
pub fn short_num(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let a = v.abs();
    let (d, suffix) = if a >= 1e12 {
        (v / 1e12, "T")
    } else if a >= 1e9 {
        (v / 1e9, "G")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = if d == d.trunc() && d.abs() < 1e4 {
        format!("{d:.0}")
    } else if d.abs() >= 100.0 {
        format!("{d:.1}")
    } else if d.abs() >= 0.01 || d == 0.0 {
        format!("{d:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{d:.2e}")
    };
    format!("{s}{suffix}")
}

/// Sparkline of values with block characters, `width` wide.
pub fn sparkline(values: &[f64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() || width == 0 {
        return " ".repeat(width);
    }
    let (lo, hi) = finite
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
    let n = values.len();
    (0..width)
        .map(|i| {
            let j = if n <= width {
                i * n / width.max(1)
            } else {
                i * n / width
            };
            match values.get(j.min(n - 1)) {
                Some(v) if v.is_finite() => {
                    let r = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                    BARS[((r * 7.0).round() as usize).min(7)]
                }
                _ => ' ',
            }
        })
        .collect()
}

/// Offset of local time from UTC in seconds (`localtime_r`), 0 if unknown.
pub fn local_offset(at: f64) -> i64 {
    #[cfg(unix)]
    {
        let t = at as libc::time_t;
        // SAFETY: an all-zero `struct tm` is a valid value (integers and a null zone pointer).
        let mut tm: libc::tm = unsafe { std::mem::zeroed() };
        // SAFETY: localtime_r reads `t` and writes only into `tm`; both live for the call.
        let r = unsafe { libc::localtime_r(&t, &mut tm) };
        if !r.is_null() {
            return i64::from(tm.tm_gmtoff);
        }
    }
    #[cfg(not(unix))]
    let _ = at;
    0
}

/// `HH:MM` (or `MM-DD HH:MM` for long ranges) of a unix time, local or UTC.
pub fn clock(t: f64, utc: bool, with_date: bool) -> String {
    let off = if utc { 0 } else { local_offset(t) };
    let s = t as i64 + off;
    let days = s.div_euclid(86400);
    let sod = s.rem_euclid(86400);
    let hm = format!("{:02}:{:02}", sod / 3600, (sod / 60) % 60);
    if with_date {
        let (_, m, d) = crate::model::civil_from_days(days);
        format!("{m:02}-{d:02} {hm}")
    } else {
        let secs = sod % 60;
        if secs != 0 {
            format!("{hm}:{secs:02}")
        } else {
            hm
        }
    }
}

fn draw_results(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Results;
    let title = if app.graph {
        format!(
            "Graph {} {}{}",
            human_range(app.range_secs),
            if app.live { "● live" } else { "" },
            if app.end_offset > 0.0 {
                format!(" (ends {} ago)", human_range(app.end_offset))
            } else {
                String::new()
            }
        )
    } else {
        "Table".to_string()
    };
    let b = block(&title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    match &app.result {
        QueryData::Empty => {
            let hint = if app.shown_expr.is_empty() {
                "Enter runs the query. g: graph / table. ?: keys."
            } else {
                "no data"
            };
            f.render_widget(Paragraph::new(Line::styled(hint, t.fg(t.dim))), inner);
        }
        QueryData::Scalar(_, v) => {
            f.render_widget(
                Paragraph::new(Line::from(vec![
                    Span::styled("scalar  ", t.fg(t.dim)),
                    Span::styled(crate::model::format_go_g(*v), t.fg(t.number)),
                ])),
                inner,
            );
        }
        QueryData::Str(_, s) => {
            f.render_widget(Paragraph::new(format!("string  {s:?}")), inner);
        }
        QueryData::Vector(_) => draw_table(app, f, inner),
        QueryData::Matrix(_) => {
            if app.graph {
                draw_chart(app, f, inner);
            } else {
                draw_matrix_table(app, f, inner);
            }
        }
    }
}

fn human_range(s: f64) -> String {
    let s = s as i64;
    if s % 86400 == 0 && s >= 86400 {
        format!("{}d", s / 86400)
    } else if s % 3600 == 0 && s >= 3600 {
        format!("{}h", s / 3600)
    } else if s % 60 == 0 && s >= 60 {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

fn draw_table(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let rows_all = app.sorted_series();
    let height = area.height.saturating_sub(1) as usize;
    let first = app.table_sel.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = rows_all
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, (_, s))| {
            let v = s.points.first().map_or(f64::NAN, |p| p.1);
            let style = if i == app.table_sel && app.focus == Focus::Results {
                t.selected()
            } else {
                Style::default()
            };
            Row::new(vec![
                Cell::from(series_name(&s.labels)),
                Cell::from(Span::styled(crate::model::format_go_g(v), t.fg(t.number))),
            ])
            .style(style)
        })
        .collect();
    let arrow = if app.sort_desc { "↓" } else { "↑" };
    let (sl, sv) = match app.sort {
        super::app::SortKey::Labels => (arrow, ""),
        super::app::SortKey::Value => ("", arrow),
    };
    let header = Row::new(vec![
        format!("series ({}) {sl}", rows_all.len()),
        format!("value {sv}"),
    ])
    .style(t.fg(t.dim).add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(
            rows,
            [Constraint::Percentage(78), Constraint::Percentage(22)],
        )
        .header(header),
        area,
    );
}

fn draw_matrix_table(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let width = 16usize;
    let rows: Vec<Row> = app
        .sorted_series()
        .into_iter()
        .map(|(_, s)| {
            let vals: Vec<f64> = s.points.iter().map(|p| p.1).collect();
            Row::new(vec![
                Cell::from(series_name(&s.labels)),
                Cell::from(sparkline(&vals, width)),
                Cell::from(Span::styled(
                    vals.last().map_or(String::new(), |v| short_num(*v)),
                    t.fg(t.number),
                )),
            ])
        })
        .collect();
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Min(20),
                Constraint::Length(width as u16),
                Constraint::Length(10),
            ],
        ),
        area,
    );
}

fn draw_chart(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let series = app.sorted_series();
    let (start, end, step) = app.window();
    let legend_h = (series.len() as u16).min(area.height / 3).max(1);
    let [chart_area, legend_area] =
        Layout::vertical([Constraint::Min(4), Constraint::Length(legend_h)]).areas(area);
    let cursor_t = app
        .cursor
        .map(|c| start + c as f64 * step)
        .filter(|c| *c <= end);
    let data: Vec<(usize, Vec<(f64, f64)>)> = series
        .iter()
        .enumerate()
        .filter(|(i, _)| !app.hidden.contains(i))
        .map(|(i, (_, s))| {
            (
                i,
                s.points
                    .iter()
                    .copied()
                    .filter(|p| p.1.is_finite())
                    .collect(),
            )
        })
        .collect();
    let (mut lo, mut hi) = data
        .iter()
        .flat_map(|(_, d)| d.iter().map(|p| p.1))
        .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    if lo > hi {
        (lo, hi) = (0.0, 1.0);
    }
    if (hi - lo).abs() < f64::EPSILON {
        lo -= 1.0;
        hi += 1.0;
    }
    let pad = (hi - lo) * 0.05;
    let (lo, hi) = (lo - pad, hi + pad);
    let cursor_line = cursor_t.map(|c| vec![(c, lo), (c, hi)]);
    let mut datasets: Vec<Dataset> = data
        .iter()
        .map(|(i, d)| {
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.fg(t.series_color(*i)))
                .data(d)
        })
        .collect();
    if let Some(cl) = &cursor_line {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.fg(t.dim))
                .data(cl),
        );
    }
    let long = end - start > 86400.0;
    let x_labels = vec![
        Span::raw(clock(start, app.utc, long)),
        Span::raw(clock((start + end) / 2.0, app.utc, long)),
        Span::raw(format!(
            "{} {}",
            clock(end, app.utc, long),
            if app.utc { "UTC" } else { "local" }
        )),
    ];
    let y_labels = vec![
        Span::raw(short_num(lo)),
        Span::raw(short_num((lo + hi) / 2.0)),
        Span::raw(short_num(hi)),
    ];
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([start, end])
                .labels(x_labels)
                .style(t.fg(t.dim)),
        )
        .y_axis(
            Axis::default()
                .bounds([lo, hi])
                .labels(y_labels)
                .style(t.fg(t.dim)),
        );
    f.render_widget(chart, chart_area);
    // Legend: swatch, sparkline, value at the cursor (or the last), series.
    let focused = app.focus == Focus::Results;
    let first = app
        .legend_sel
        .saturating_sub(legend_area.height.saturating_sub(1) as usize);
    let lines: Vec<Line> = series
        .iter()
        .enumerate()
        .skip(first)
        .take(legend_area.height as usize)
        .map(|(i, (_, s))| {
            let hidden = app.hidden.contains(&i);
            let vals: Vec<f64> = s.points.iter().map(|p| p.1).collect();
            let at = match cursor_t {
                Some(c) => s
                    .points
                    .iter()
                    .rev()
                    .find(|p| p.0 <= c + step / 2.0)
                    .map(|p| p.1),
                None => vals.last().copied(),
            };
            let swatch = Span::styled(if hidden { "□ " } else { "■ " }, t.fg(t.series_color(i)));
            let mut line = Line::from(vec![
                swatch,
                Span::styled(sparkline(&vals, 12), t.fg(t.series_color(i))),
                Span::raw(" "),
                Span::styled(
                    format!("{:>9} ", at.map_or("-".into(), short_num)),
                    t.fg(t.number),
                ),
                Span::raw(series_name(&s.labels)),
            ]);
            if hidden {
                line = line.style(t.fg(t.dim));
            }
            if focused && i == app.legend_sel {
                line = line.style(t.selected());
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(Text::from(lines)), legend_area);
}

fn health_style(h: &str, t: &Theme) -> Style {
    match h {
        "up" => t.fg(t.up),
        "down" => t.fg(t.down).add_modifier(Modifier::BOLD),
        _ => t.fg(t.unknown),
    }
}

/// "12s ago" from an RFC 3339 time.
fn ago(now: f64, rfc: &str) -> String {
    match parse_rfc3339(rfc) {
        Some(t) if t > 0.0 => {
            let d = (now - t).max(0.0);
            format!("{} ago", human_secs(d))
        }
        _ => "never".into(),
    }
}

fn human_secs(d: f64) -> String {
    let s = d as i64;
    if s >= 86400 {
        format!("{}d{}h", s / 86400, (s % 86400) / 3600)
    } else if s >= 3600 {
        format!("{}h{}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn draw_targets(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Targets;
    let list = app.visible_targets();
    let up = list.iter().filter(|x| x.health == "up").count();
    let title = if app.targets_filter.is_empty() && !app.filter_editing {
        format!("Targets {up}/{} up", list.len())
    } else {
        format!(
            "Targets {up}/{} up  /{}{}",
            list.len(),
            app.targets_filter,
            if app.filter_editing && focused {
                "▏"
            } else {
                ""
            }
        )
    };
    let b = block(&title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    if let Some(e) = &app.targets_error {
        f.render_widget(
            Paragraph::new(Line::styled(e.clone(), t.fg(t.error))).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    // Remote-write senders on top: where data goes, and whether it is keeping up.
    let inner = if app.senders.is_empty() {
        inner
    } else {
        let n = (app.senders.len() as u16).min(inner.height / 3);
        let lines: Vec<Line> = app
            .senders
            .iter()
            .take(n as usize)
            .map(|s| {
                let trouble = s.failed > 0 && s.pending > 0;
                Line::from(vec![
                    Span::styled("→ ", if trouble { t.fg(t.error) } else { t.fg(t.up) }),
                    Span::raw(format!("{} ", truncate(&s.name, 24))),
                    Span::styled(
                        format!(
                            "sent {} · pending {} · failed {} · dropped {}{}",
                            short_num(s.sent as f64),
                            short_num(s.pending as f64),
                            s.failed,
                            s.dropped,
                            if s.shards > 0 {
                                format!(
                                    " · {} shard{} · RW {}",
                                    s.shards,
                                    if s.shards == 1 { "" } else { "s" },
                                    s.protocol
                                )
                            } else {
                                String::new()
                            }
                        ),
                        t.fg(t.dim),
                    ),
                ])
            })
            .collect();
        f.render_widget(
            Paragraph::new(Text::from(lines)),
            Rect::new(inner.x, inner.y, inner.width, n),
        );
        Rect::new(inner.x, inner.y + n, inner.width, inner.height - n)
    };
    // Rows are indexed first (cheap), and lines are built only for what fits around the
    // selection, so thousands of targets cost little per frame.
    enum Row {
        Header(usize),
        Target(usize),
        Error(usize),
    }
    let height = inner.height as usize;
    let mut counts: std::collections::HashMap<&str, (usize, usize)> = Default::default();
    for x in &list {
        let e = counts.entry(x.pool.as_str()).or_default();
        e.0 += 1;
        e.1 += usize::from(x.health == "up");
    }
    let mut rows: Vec<Row> = Vec::with_capacity(list.len() + counts.len());
    let mut last_pool: Option<&str> = None;
    for (i, x) in list.iter().enumerate() {
        if last_pool != Some(x.pool.as_str()) {
            rows.push(Row::Header(i));
            last_pool = Some(&x.pool);
        }
        rows.push(Row::Target(i));
        if !x.last_error.is_empty() {
            rows.push(Row::Error(i));
        }
    }
    let sel_row = rows
        .iter()
        .position(|r| matches!(r, Row::Target(i) if *i == app.targets_sel))
        .unwrap_or(0);
    let first = sel_row.saturating_sub(height.saturating_sub(1));
    let inst_w = (inner.width as usize).saturating_sub(25).max(10);
    let shown: Vec<Line> = rows
        .iter()
        .skip(first)
        .take(height)
        .map(|r| match *r {
            Row::Header(i) => {
                let pool = list[i].pool.as_str();
                let (n, u) = counts.get(pool).copied().unwrap_or_default();
                Line::from(Span::styled(
                    format!("{pool} ({u}/{n})"),
                    t.fg(t.title).add_modifier(Modifier::BOLD),
                ))
            }
            Row::Error(i) => Line::from(Span::styled(
                format!("   ↳ {}", list[i].last_error),
                t.fg(t.error),
            )),
            Row::Target(i) => {
                let x = list[i];
                let dot = match x.health.as_str() {
                    "up" => "●",
                    "down" => "✖",
                    _ => "○",
                };
                let line = Line::from(vec![
                    Span::styled(format!(" {dot} "), health_style(&x.health, t)),
                    Span::raw(format!("{:<inst_w$} ", truncate(&x.instance, inst_w))),
                    Span::styled(format!("{:<5}", x.health), health_style(&x.health, t)),
                    Span::styled(
                        format!(
                            "{:>8} {:>4}ms",
                            ago(app.now, &x.last_scrape).trim_end_matches(" ago"),
                            (x.duration * 1000.0).round()
                        ),
                        t.fg(t.dim),
                    ),
                ]);
                if focused && i == app.targets_sel {
                    line.style(t.selected())
                } else {
                    line
                }
            }
        })
        .collect();
    if shown.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled("no targets", t.fg(t.dim))),
            inner,
        );
    } else {
        f.render_widget(Paragraph::new(Text::from(shown)), inner);
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn draw_alerts(app: &App, f: &mut Frame, area: Rect) {
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

fn draw_rules(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Results;
    let title = format!("Rules ({})", app.rules.len());
    let b = block(&title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = inner.height.saturating_sub(1) as usize;
    let first = app.rules_sel.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = app
        .rules
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, r)| {
            let health = if r.health == "ok" {
                t.fg(t.up)
            } else {
                t.fg(t.down)
            };
            let state = match r.state.as_str() {
                "firing" => t.fg(t.firing),
                "pending" => t.fg(t.pending),
                _ => t.fg(t.dim),
            };
            let row = Row::new(vec![
                Cell::from(r.group.clone()),
                Cell::from(r.name.clone()),
                Cell::from(if r.kind == "alerting" {
                    "alert"
                } else {
                    "record"
                }),
                Cell::from(Span::styled(r.health.clone(), health)),
                Cell::from(Span::styled(r.state.clone(), state)),
                Cell::from(format!("{:.1}ms", r.eval_secs * 1000.0)),
                Cell::from(if r.last_error.is_empty() {
                    r.query.clone()
                } else {
                    r.last_error.clone()
                }),
            ]);
            if focused && i == app.rules_sel {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(vec![
        "group",
        "name",
        "type",
        "health",
        "state",
        "eval",
        "query / error",
    ])
    .style(t.fg(t.dim).add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Length(12),
                Constraint::Length(22),
                Constraint::Length(6),
                Constraint::Length(6),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Min(10),
            ],
        )
        .header(header),
        inner,
    );
}

fn draw_metrics(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focused = app.focus == Focus::Results;
    let list = app.visible_metrics();
    let title = if app.metrics_filter.is_empty() && !app.filter_editing {
        format!("Metrics ({})", list.len())
    } else {
        format!("Metrics ({})  /{}", list.len(), app.metrics_filter)
    };
    let b = block(&title, focused, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    let height = inner.height.saturating_sub(1) as usize;
    let first = app.metrics_sel.saturating_sub(height.saturating_sub(1));
    let rows: Vec<Row> = list
        .iter()
        .enumerate()
        .skip(first)
        .take(height)
        .map(|(i, m)| {
            let (ty, help) = app.known.metadata.get(*m).cloned().unwrap_or_default();
            let count = app
                .series_counts
                .get(*m)
                .map_or(String::new(), |c| c.to_string());
            let row = Row::new(vec![
                Cell::from(Span::styled(m.to_string(), t.fg(t.metric))),
                Cell::from(Span::styled(ty, t.fg(t.keyword))),
                Cell::from(count),
                Cell::from(Span::styled(help, t.fg(t.dim))),
            ]);
            if focused && i == app.metrics_sel {
                row.style(t.selected())
            } else {
                row
            }
        })
        .collect();
    let header = Row::new(vec!["metric", "type", "series", "help"])
        .style(t.fg(t.dim).add_modifier(Modifier::BOLD));
    f.render_widget(
        Table::new(
            rows,
            [
                Constraint::Percentage(38),
                Constraint::Length(10),
                Constraint::Length(7),
                Constraint::Min(10),
            ],
        )
        .header(header),
        inner,
    );
}

fn draw_status(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let focus = match app.focus {
        Focus::Prompt => "prompt: Enter run · Tab complete · Ctrl-R search · Esc leave",
        Focus::Results if app.view == View::Rules => "rules: ↑↓ select · Enter to prompt",
        Focus::Results if app.view == View::Metrics => "metrics: / filter · Enter insert",
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

fn draw_popup(app: &App, f: &mut Frame, prompt: Rect, screen: Rect) {
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

/// Every key, as the help overlay lists them.
pub const HELP: &[(&str, &str)] = &[
    ("Anywhere", ""),
    ("Ctrl-C", "quit"),
    ("Tab / Shift-Tab", "next / previous pane"),
    ("F1, ? (outside the prompt)", "this help; any key closes it"),
    ("q (outside the prompt)", "quit"),
    (
        "1 2 3 4 5 (outside the prompt)",
        "Query, Targets, Alerts, Rules, Metrics",
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
    ("Targets, metrics", ""),
    ("/", "filter (Enter keeps, Esc clears)"),
    ("Alerts, rules, metrics", ""),
    ("Enter", "put the expression (or name) into the prompt"),
];

fn draw_help(app: &App, f: &mut Frame, screen: Rect) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_sparklines_and_clocks() {
        assert_eq!(short_num(1234.0), "1234");
        assert_eq!(short_num(12345.0), "12.345k");
        assert_eq!(short_num(2.5e9), "2.5G");
        assert_eq!(short_num(0.125), "0.125");
        assert_eq!(short_num(f64::NAN), "NaN");
        assert_eq!(
            sparkline(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 8),
            "▁▂▃▄▅▆▇█"
        );
        assert_eq!(
            sparkline(&[1.0, f64::NAN], 2),
            "▅ ",
            "a flat line sits mid-height"
        );
        assert_eq!(clock(3600.0 * 25.0 + 61.0, true, false), "01:01:01");
        assert_eq!(clock(0.0, true, true), "01-01 00:00");
    }
}
