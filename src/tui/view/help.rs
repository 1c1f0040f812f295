//! The key help overlay: one column, or two side by side when the screen is wide and short;
//! keys and descriptions wrap to the width (a key over its description on narrow screens), and
//! what does not fit scrolls (↑↓ PgUp PgDn Home End), with a last line saying there is more.
//! Uses `app`, `theme` and `view::panel`.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::panel::block;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// Every key, as the help overlay lists them.
pub const HELP: &[(&str, &str)] = &[
    ("Anywhere", ""),
    ("Ctrl-C", "quit"),
    ("Tab / Shift-Tab", "next / previous pane"),
    (
        "F1, ? (outside the prompt)",
        "this help (↑↓ PgUp PgDn scroll it; other keys close it)",
    ),
    ("q (outside the prompt)", "quit"),
    (
        "1-6 (outside the prompt)",
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
    (
        "g",
        "graph (range query) / table (instant query); a histogram: graph / heatmap / table",
    ),
    ("s / r", "sort by labels or value / reverse"),
    ("+ / -", "zoom in / out"),
    ("[ / ]", "pan back / forward"),
    ("0", "live mode: re-run every 5s"),
    ("← / →", "value cursor"),
    (
        "n / N",
        "value cursor to the next / previous exemplar (its trace id shows under the graph)",
    ),
    ("e", "exemplars (◆ on the graph): show / hide"),
    ("↑ ↓ / space", "select series / hide or show it"),
    ("u", "local time / UTC"),
    (
        "a",
        "add the query as a panel (graph or table as shown) to the dashboard being built (the open one, else a new \"promterm\")",
    ),
    ("Heatmap (histograms)", ""),
    (
        "← → / ↑ ↓ (k j)",
        "cursor: time / bucket (reads out the bucket, count and percentile)",
    ),
    ("n / N", "next / previous histogram series"),
    ("Overview", ""),
    ("← → ↑ ↓ / h j k l", "select a panel"),
    ("Enter", "put the panel's query into the prompt"),
    ("Targets, metrics", ""),
    ("/", "filter (Enter keeps, Esc clears)"),
    ("Targets", ""),
    (
        "d",
        "list the targets relabeling dropped (again: the active ones)",
    ),
    (
        "Enter",
        "relabeling: discovered beside target labels, and each relabel step (Esc closes)",
    ),
    ("Alerts, rules, metrics", ""),
    ("Enter", "put the expression (or name) into the prompt"),
    ("Grafana dashboard (--dashboard)", ""),
    ("PgUp PgDn ↑↓ Home End / r", "scroll / refresh now"),
    (
        "F2",
        "the dashboard again (none open: the dashboards list); Esc: the rest",
    ),
    ("Tab / Shift-Tab", "select a panel"),
    (
        "f / Enter",
        "it full screen (↑↓ pick a query, PgUp PgDn Home End a table's rows; Esc: back)",
    ),
    ("e", "its query, as sent, into the prompt"),
    ("S / o", "save the dashboard as Grafana JSON / dashboards list"),
    (
        "v",
        "variable bar: ←→ pick, Enter values, Space toggle, a All, Enter apply",
    ),
    ("+ - [ ] 0 t", "zoom, pan, own range, next preset (all panels)"),
    (", . x", "time cursor back / forward / hidden"),
    ("l", "legends: min, max, mean, last"),
    ("Mouse (with --mouse)", ""),
    (
        "click",
        "focus a pane, hide a legend series, pick a panel, put the heatmap cursor",
    ),
    ("wheel", "scroll the list or legend under the pointer"),
    ("drag on the graph", "zoom to the dragged time range"),
];

/// Widest column the help uses (wider reads badly).
const MAX_COL: u16 = 88;
/// Narrowest column of a two-column help.
const MIN_TWO_COL: u16 = 56;
/// Below this column width a key goes over its description instead of beside it.
const SIDE_BY_SIDE: usize = 44;

/// `text` broken at spaces into lines of at most `width` characters (a longer word is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            out.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        let n = cur.chars().count();
        if n > 0 && n + 1 + word.chars().count() > width {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(&word);
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// The help's lines for `entries` in a column `width` characters wide.
pub fn lines(entries: &[(&str, &str)], width: u16, t: &Theme) -> Vec<Line<'static>> {
    let width = width as usize;
    let key_style = t.fg(t.keyword);
    let mut out = Vec::new();
    let key_w = entries
        .iter()
        .filter(|(_, d)| !d.is_empty())
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(1)
        .min(width / 2);
    for (k, d) in entries {
        if d.is_empty() {
            for part in wrap(k, width) {
                out.push(Line::styled(
                    part,
                    t.fg(t.title).add_modifier(Modifier::BOLD),
                ));
            }
        } else if width < SIDE_BY_SIDE {
            for part in wrap(k, width.saturating_sub(1)) {
                out.push(Line::from(Span::styled(format!(" {part}"), key_style)));
            }
            for part in wrap(d, width.saturating_sub(4)) {
                out.push(Line::raw(format!("    {part}")));
            }
        } else {
            let keys = wrap(k, key_w);
            let descs = wrap(d, width.saturating_sub(key_w + 3));
            for i in 0..keys.len().max(descs.len()) {
                let kp = keys.get(i).map_or("", String::as_str);
                let dp = descs.get(i).map_or("", String::as_str);
                out.push(Line::from(vec![
                    Span::styled(format!(" {kp:<key_w$}  "), key_style),
                    Span::raw(dp.to_string()),
                ]));
            }
        }
    }
    out
}

/// Draws the overlay centred on `screen`, scrolled to `app.help_scroll`; records in
/// `app.help_bounds` how far scrolling goes and how many lines a page holds.
pub fn draw(app: &App, f: &mut Frame, screen: Rect) {
    let t = &app.theme;
    let rows = screen.height.saturating_sub(2);
    // One column when it fits, else two side by side when the screen is wide enough and
    // that needs less scrolling.
    let one_w = screen.width.saturating_sub(2).min(MAX_COL);
    let mut columns = vec![lines(HELP, one_w, t)];
    let mut col_w = one_w;
    let two_w = (screen.width.saturating_sub(3) / 2).min(MAX_COL);
    if columns[0].len() > rows as usize && two_w >= MIN_TWO_COL {
        // Split at the section title nearest the middle.
        let half = HELP.len() / 2;
        let split = (0..HELP.len())
            .filter(|i| *i > 0 && HELP[*i].1.is_empty())
            .min_by_key(|i| i.abs_diff(half))
            .unwrap_or(half);
        let two = vec![
            lines(&HELP[..split], two_w, t),
            lines(&HELP[split..], two_w, t),
        ];
        if two.iter().map(Vec::len).max() < columns.iter().map(Vec::len).max() {
            columns = two;
            col_w = two_w;
        }
    }
    let total = columns.iter().map(Vec::len).max().unwrap_or(0) as u16;
    let ncols = columns.len() as u16;
    let w = (col_w * ncols + ncols.saturating_sub(1) + 2).min(screen.width);
    let h = (total + 2).min(screen.height);
    let area = Rect::new(
        screen.x + (screen.width - w) / 2,
        screen.y + (screen.height - h) / 2,
        w,
        h,
    );
    f.render_widget(Clear, area);
    let b = block("Keys", true, t);
    let inner = b.inner(area);
    f.render_widget(b, area);
    // When it does not all fit, the last line says so and the rest scrolls.
    let scrolls = total > inner.height;
    let page = if scrolls {
        inner.height.saturating_sub(1)
    } else {
        inner.height
    };
    let max = total.saturating_sub(page);
    app.help_bounds.set((max, page));
    let first = app.help_scroll.min(max);
    for (c, col) in columns.into_iter().enumerate() {
        let shown: Vec<Line> = col
            .into_iter()
            .skip(first as usize)
            .take(page as usize)
            .collect();
        let r = Rect::new(
            inner.x + c as u16 * (col_w + 1),
            inner.y,
            col_w.min(inner.width),
            page,
        );
        f.render_widget(Paragraph::new(Text::from(shown)), r);
    }
    if scrolls && inner.height > 0 {
        let last = (first + page).min(total);
        let note = match (first < max, inner.width >= 60) {
            (true, true) => format!(
                "↓ more below ({}-{last} of {total}): ↑↓ PgUp PgDn scroll",
                first + 1
            ),
            (true, false) => "↓ more below: ↑↓ PgUp PgDn".to_string(),
            (false, true) => format!(
                "end ({}-{last} of {total}): ↑ PgUp scroll back, other keys close",
                first + 1
            ),
            (false, false) => "end: ↑ PgUp scroll back".to_string(),
        };
        f.render_widget(
            Paragraph::new(Line::styled(note, t.fg(t.dim))),
            Rect::new(inner.x, inner.y + page, inner.width, 1),
        );
    }
}
