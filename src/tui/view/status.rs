//! The status line: the keys that work where the focus is on the left (the prompt's keys while
//! it has focus, the completion popup's, the history search's, a filter's, else the focused
//! pane's); the query's time and the samples the server read (when it gave query statistics;
//! else the series count and the round trip) and the server on the right. When the line is short the
//! keys get a shorter form first, then the right side gives way (server, then the figures).
//! Uses `app`, `data` and `heatmap`.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::app::{App, Focus, View};
use crate::tui::data::QueryData;
use crate::tui::heatmap;

/// Keys outside the prompt that work in every pane.
const PANE_KEYS: &str = "Esc prompt · ? keys · q quit";

/// The keys that work where the focus is: (long form, short form).
pub fn focus_keys(app: &App) -> (String, String) {
    let pane = |name: &str, keys: &str, short: &str| {
        (
            format!("{name}: {keys} · {PANE_KEYS}"),
            format!("{short} · Esc prompt · ? keys"),
        )
    };
    let fixed = |long: &str, short: &str| (long.to_string(), short.to_string());
    if app.help {
        return fixed(
            "help: ↑↓ PgUp PgDn scroll · any other key closes",
            "↑↓ PgUp PgDn scroll · other keys close",
        );
    }
    match app.focus {
        Focus::Prompt if app.search.is_some() => fixed(
            "history search: type to search · Ctrl-R older · Enter take · Esc cancel",
            "Ctrl-R older · Enter take · Esc cancel",
        ),
        Focus::Prompt if app.popup.is_some() => fixed(
            "completion: ↑↓ choose · Tab/Enter insert · Esc close · keep typing to narrow",
            "↑↓ choose · Tab/Enter insert · Esc close",
        ),
        Focus::Prompt => fixed(
            "prompt: Enter run · Tab complete · ↑↓ history · Ctrl-R search · Esc leave the prompt · F1 keys",
            "Enter run · Tab complete · Esc leave · F1 keys",
        ),
        _ if app.filter_editing => fixed(
            "filter: type to filter · Enter keep · Esc clear",
            "Enter keep · Esc clear",
        ),
        Focus::Results if app.view == View::Rules => pane(
            "rules",
            "↑↓ select · Enter query to prompt",
            "↑↓ · Enter to prompt",
        ),
        Focus::Results if app.view == View::Metrics => pane(
            "metrics",
            "/ filter · ↑↓ select · Enter insert into prompt",
            "/ filter · Enter insert",
        ),
        Focus::Results if app.view == View::Overview => pane(
            "overview",
            "←↑↓→ select · Enter query to prompt",
            "←↑↓→ · Enter to prompt",
        ),
        Focus::Results if app.showing_heatmap() => pane(
            "heatmap",
            "g table · ←→ time ↑↓ bucket cursor · n N series · +/- zoom · [ ] pan · 0 live · u UTC",
            "g table · ←→↑↓ cursor · n N series",
        ),
        Focus::Results if app.graph && heatmap::is_histogram(&app.result) => pane(
            "graph",
            "g heatmap · +/- zoom · [ ] pan · 0 live · ←→ cursor · space hide · u UTC",
            "g heatmap · +/- zoom · [ ] pan",
        ),
        // With exemplars on the graph their keys come first in the short form too.
        Focus::Results if app.graph && app.show_exemplars && !app.exemplars.is_empty() => pane(
            "graph",
            "g table · +/- zoom · [ ] pan · 0 live · ←→ cursor · n N e exemplars · space hide · u UTC",
            "g table · +/- zoom · [ ] pan · n N e exemplars",
        ),
        Focus::Results if app.graph => pane(
            "graph",
            "g table · +/- zoom · [ ] pan · 0 live · ←→ cursor · space hide · u UTC · e exemplars",
            "g table · +/- zoom · [ ] pan",
        ),
        Focus::Results => pane(
            "table",
            "g graph · s sort · r reverse · ↑↓ scroll",
            "g graph · s sort",
        ),
        // Esc closes the view here (not back to the prompt).
        Focus::Targets if app.relabel.is_some() => fixed(
            "relabeling: Esc close · ↑↓ next target · PgUp/PgDn scroll · ? keys · q quit",
            "Esc close · ↑↓ target · ? keys",
        ),
        Focus::Targets => pane(
            "targets",
            "/ filter · ↑↓ scroll · Enter relabeling · d dropped/active",
            "/ filter · Enter relabeling · d dropped",
        ),
        Focus::Alerts => pane(
            "alerts",
            "↑↓ select · Enter query to prompt",
            "↑↓ · Enter to prompt",
        ),
    }
}

/// The status line's text: (left, right), fitted to `width` columns.
pub fn fitted(app: &App, width: u16) -> (String, String) {
    let width = width as usize;
    let (long, short) = focus_keys(app);
    let mut stats = String::new();
    if !app.shown_expr.is_empty() && !matches!(app.result, QueryData::Empty) {
        let n = app.sorted_series().len();
        stats = match &app.result_stats {
            // The server's own time and the samples it read, e.g. "12 ms · 48k samples" (the
            // series count is in the pane's title; the line keeps room for the keys).
            Some(s) => s.short(),
            None => format!("{n} series · {:.0}ms", app.result_seconds * 1000.0),
        };
    }
    let source = app.source_name.clone();
    let both = match (stats.is_empty(), source.is_empty()) {
        (true, _) => source.clone(),
        (_, true) => stats.clone(),
        _ => format!("{stats} · {source}"),
    };
    let len = |s: &str| s.chars().count();
    // " left" alone, or " left", a space, and "right ".
    let fits = |l: &str, r: &str| {
        let used = if r.is_empty() {
            len(l)
        } else {
            len(l) + len(r) + 2
        };
        used < width
    };
    for (l, r) in [
        (&long, &both),
        (&short, &both),
        (&short, &stats),
        (&short, &source),
    ] {
        if fits(l, r) {
            return (l.clone(), r.clone());
        }
    }
    // Not even the short form fits: keep the keys that do, whole.
    let mut keys: Vec<&str> = short.split(" · ").collect();
    while keys.len() > 1 && len(&keys.join(" · ")) >= width {
        keys.pop();
    }
    (keys.join(" · "), String::new())
}

/// Draws the status line.
pub fn draw(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.theme;
    let (mut left, right) = fitted(app, area.width);
    // What the last dashboard add, save or open did, until the next key.
    let right = match &app.dash_files.notice {
        Some(n) => {
            left = n.clone();
            String::new()
        }
        None => right,
    };
    f.render_widget(
        Paragraph::new(Line::styled(format!(" {left}"), t.fg(t.dim))),
        area,
    );
    if right.is_empty() {
        return;
    }
    let w = (right.chars().count() as u16 + 1).min(area.width);
    let ra = Rect::new(area.x + area.width - w, area.y, w, 1);
    f.render_widget(
        Paragraph::new(Line::styled(format!("{right} "), t.fg(t.title)))
            .alignment(ratatui::layout::Alignment::Right),
        ra,
    );
}
