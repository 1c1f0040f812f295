//! Repeated panels and field overrides drawn on a TestBackend against promterm in process:
//! one panel per value of the repeat variable, each titled and answered with its own value;
//! a negative-Y override drawing a series below zero; overrides' display names and units.

use serde_json::json;

use super::dashboards::{open, promterm};
use super::draw;
use crate::tui::grafana::units;

/// A dashboard with a custom multi `host` variable (a, b, c; All selected) and `panels`.
fn dashboard(panels: serde_json::Value) -> String {
    json!({
        "title": "Repeats",
        "templating": {"list": [{"name": "host", "type": "custom", "multi": true,
            "includeAll": true, "query": "a,b,c", "current": {"value": ["$__all"]}}]},
        "panels": panels,
    })
    .to_string()
}

#[tokio::test]
async fn a_repeated_panel_is_drawn_once_per_value_with_its_own_data() {
    let (_dir, source) = promterm(&[
        ("cpu", &[("host", "a")], 10.0),
        ("cpu", &[("host", "b")], 20.0),
        ("cpu", &[("host", "c")], 30.0),
    ]);
    let text = dashboard(json!([
        {"type": "stat", "title": "CPU $host", "repeat": "host",
         "gridPos": {"x": 0, "y": 0, "w": 8, "h": 5},
         "targets": [{"refId": "A", "expr": "cpu{host=~\"$host\"}"}]},
        {"type": "stat", "title": "Every host", "gridPos": {"x": 0, "y": 5, "w": 24, "h": 4},
         "targets": [{"refId": "A", "expr": "count(cpu{host=~\"$host\"})"}]},
    ]));
    let mut a = open(&text, &source, 120, 30).await;
    let sent = source.queries();
    for h in ["a", "b", "c"] {
        assert!(
            sent.contains(&format!("cpu{{host=~\"{h}\"}}")),
            "{h}: {sent:#?}"
        );
    }
    assert!(
        sent.contains(&"count(cpu{host=~\"(a|b|c)\"})".to_string()),
        "{sent:#?}"
    );
    let (screen, _) = draw(&mut a, 120, 30);
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    // The column (in cells) where `s` starts on line `l`.
    let col = |l: &[char], s: &str| {
        let want: Vec<char> = s.chars().collect();
        l.windows(want.len()).position(|w| w == want.as_slice())
    };
    // The three copies side by side on one line, in the variable's order, a third each.
    let titled = lines
        .iter()
        .find(|l| col(l, "CPU a").is_some())
        .unwrap_or_else(|| panic!("no CPU a:\n{screen}"));
    let at = |s: &str| col(titled, s).unwrap_or_else(|| panic!("{s}:\n{screen}"));
    assert!(
        at("CPU a") < 40 && (40..80).contains(&at("CPU b")),
        "{screen}"
    );
    assert!(at("CPU c") >= 80, "{screen}");
    // Each answered with its own host's last value (v + 4), inside its own third.
    for (k, (h, v)) in [("a", 14.0), ("b", 24.0), ("c", 34.0)]
        .into_iter()
        .enumerate()
    {
        let want = units::format(None, v, None);
        let shown = lines.iter().any(|l| {
            let third: String = l.iter().skip(40 * k).take(40).collect();
            third.contains(&want) && !third.contains("CPU")
        });
        assert!(shown, "{h} {want}:\n{screen}");
    }
    assert!(screen.contains("Every host"), "{screen}");
    assert!(!screen.contains("$host"), "{screen}");
}

#[tokio::test]
async fn a_negative_y_override_draws_its_series_below_zero() {
    let (_dir, source) = promterm(&[("rx", &[], 10.0), ("tx", &[], 50.0)]);
    let panel = |overrides: serde_json::Value| {
        dashboard(json!([{"type": "timeseries", "title": "Network",
            "gridPos": {"x": 0, "y": 0, "w": 24, "h": 16},
            "fieldConfig": {"defaults": {"unit": "short"}, "overrides": overrides},
            "targets": [{"refId": "A", "expr": "rx", "legendFormat": "Receive"},
                        {"refId": "B", "expr": "tx", "legendFormat": "Transmit"}]}]))
    };
    // tx's largest value is 54: drawn negated, the axis goes down to -54.
    let low = units::format(Some("short"), -54.0, None);
    let text = panel(json!([{"matcher": {"id": "byRegexp", "options": "/Trans/"},
        "properties": [{"id": "custom.transform", "value": "negative-Y"},
                       {"id": "displayName", "value": "Out"}]}]));
    let mut a = open(&text, &source, 100, 24).await;
    let (screen, _) = draw(&mut a, 100, 24);
    assert!(screen.contains(&low), "{low}:\n{screen}");
    // The legend shows the override's display name and the value as measured (positive).
    assert!(screen.contains("Out"), "{screen}");
    assert!(screen.contains("Receive"), "{screen}");
    // Without the override: nothing below zero.
    let mut a = open(&panel(json!([])), &source, 100, 24).await;
    let (screen, _) = draw(&mut a, 100, 24);
    assert!(!screen.contains(&low), "{screen}");
    assert!(screen.contains("Transmit"), "{screen}");
}

#[tokio::test]
async fn a_repeated_row_draws_its_title_and_panels_per_value() {
    let (_dir, source) = promterm(&[
        ("cpu", &[("host", "a")], 10.0),
        ("cpu", &[("host", "b")], 20.0),
        ("cpu", &[("host", "c")], 30.0),
    ]);
    let text = dashboard(json!([
        {"type": "row", "title": "Host $host", "repeat": "host",
         "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
        {"type": "stat", "title": "Load of $host", "gridPos": {"x": 0, "y": 1, "w": 24, "h": 3},
         "targets": [{"expr": "cpu{host=~\"$host\"}"}]},
    ]));
    let mut a = open(&text, &source, 80, 30).await;
    let (screen, _) = draw(&mut a, 80, 30);
    let row = |s: &str| {
        screen
            .lines()
            .position(|l| l.contains(s))
            .unwrap_or_else(|| panic!("{s}:\n{screen}"))
    };
    assert!(row("Host a") < row("Load of a"));
    assert!(row("Load of a") < row("Host b"));
    assert!(row("Host b") < row("Load of b"));
    assert!(row("Load of b") < row("Host c"));
    assert!(row("Host c") < row("Load of c"));
    assert!(
        screen.contains(&units::format(None, 34.0, None)),
        "{screen}"
    );
}

#[test]
fn negative_y_series_stack_downwards_apart_and_hidden_ones_are_not_drawn() {
    use crate::tui::grafana::model::Stack;
    use crate::tui::view::dashboard_series::drawn;
    use crate::tui::view::dashboard_view::Named;
    let s = |v: f64, negative: bool, hidden: bool| {
        let mut n = Named {
            points: vec![(10.0, v)],
            ..Named::default()
        };
        n.field.stack = Stack::Normal;
        n.field.stack_group = "A".into();
        n.field.negative_y = negative;
        n.field.hide_viz = hidden;
        n
    };
    let series = [
        s(1.0, false, false),
        s(2.0, true, false),
        s(3.0, false, false),
        s(4.0, true, false),
        s(5.0, false, true),
    ];
    let d = drawn(&series);
    assert_eq!(d[0], vec![(10.0, 1.0)]);
    assert_eq!(d[1], vec![(10.0, -2.0)]);
    assert_eq!(d[2], vec![(10.0, 4.0)], "on the positive stack only");
    assert_eq!(d[3], vec![(10.0, -6.0)], "on the negative stack only");
    assert!(d[4].is_empty(), "hidden from the graph");
}
