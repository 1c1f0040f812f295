//! Table, heatmap, legend and mapped-value panels of the Grafana dashboard view against
//! promterm in process, drawn on a TestBackend: the real node mixin's "Disk Space Usage" table
//! (instant queries, transformations), table scrolling, classic heatmaps (bucket bounds in the
//! panel's unit, lowest at the bottom) and native histogram answers, legend statistics with
//! `l`, legend table and right placement, value mappings and noValue in stat panels, and bad
//! input (an unknown transformation, a table without data, a heatmap of series without `le`)
//! shown in its panel while the rest is drawn.

use crossterm::event::KeyCode;
use serde_json::json;

use super::dashboards::{file, open, promterm, Stored};
use super::{draw, key};
use crate::tui::data::query_data;
use crate::tui::view::dash_heatmap::panel_histogram;

/// A dashboard of `panels` (each given its place, 24 wide and `h` high, one under the other)
/// over the last 15 minutes.
fn dash(panels: Vec<serde_json::Value>, h: u32) -> String {
    let panels: Vec<serde_json::Value> = panels
        .into_iter()
        .enumerate()
        .map(|(i, mut p)| {
            p["gridPos"] = json!({"x": 0, "y": i as u32 * h, "w": 24, "h": h});
            p
        })
        .collect();
    json!({"title": "Panels", "time": {"from": "now-15m", "to": "now"}, "panels": panels})
        .to_string()
}

/// The column (in characters) where `text` starts in `line`.
fn chars_to(line: &str, text: &str) -> usize {
    line[..line.find(text).unwrap_or(0)].chars().count()
}

/// The screen line holding `text`.
fn line_of(screen: &str, text: &str) -> Option<usize> {
    screen.lines().position(|l| l.contains(text))
}

#[tokio::test]
async fn the_node_mixins_disk_table_shows_its_transformed_rows() {
    let fs = |m: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![
            ("job", "node"),
            ("instance", "h:9100"),
            ("cluster", "c1"),
            ("fstype", "ext4"),
            ("mountpoint", m),
        ]
    };
    let (root, home) = (fs("/"), fs("/home"));
    let node: &[(&str, &str)] = &[("job", "node"), ("instance", "h:9100"), ("cluster", "c1")];
    let (_dir, source) = promterm(&[
        ("node_uname_info", node, 1.0),
        ("node_filesystem_size_bytes", &root, 996e9),
        ("node_filesystem_avail_bytes", &root, 246e9),
        ("node_filesystem_size_bytes", &home, 496e6),
        ("node_filesystem_avail_bytes", &home, 96e6),
    ]);
    let mut a = open(&file("nodes.json"), &source, 200, 120).await;
    // The table's queries went as instant queries.
    let asked = source.asked.lock().unwrap().clone();
    let size_call = asked
        .iter()
        .find(|(_, ps)| {
            ps.iter()
                .any(|(k, v)| k == "query" && v.contains("node_filesystem_size_bytes"))
        })
        .expect("the size query");
    assert_eq!(size_call.0, "/api/v1/query", "{size_call:?}");
    let (screen, _) = draw(&mut a, 200, 120);
    // Organized headers, the computed columns, sorted by mountpoint, in decbytes.
    let head = line_of(&screen, "Mounted on").expect(&screen);
    let header = screen.lines().nth(head).unwrap();
    for h in ["Size", "Available", "Used", "Used, %"] {
        assert!(header.contains(h), "{h} not in {header}");
    }
    let root_row = screen.lines().nth(head + 1).unwrap();
    let home_row = screen.lines().nth(head + 2).unwrap();
    // Size, available and used (size - available) in decbytes, in the header's order.
    let root_at: Vec<usize> = ["996 GB", "246 GB", "750 GB"]
        .iter()
        .map(|v| {
            root_row
                .find(v)
                .unwrap_or_else(|| panic!("{v} not in {root_row}"))
        })
        .collect();
    assert!(root_at.windows(2).all(|w| w[0] < w[1]), "{root_row}");
    // The first column, under its header: `/` sorts before `/home`.
    let x = chars_to(header, "Mounted on");
    assert_eq!(root_row.chars().nth(x), Some('/'), "{root_row}");
    assert_eq!(chars_to(home_row, "/home"), x, "{home_row}");
    let home_at: Vec<usize> = ["/home", "496 MB", "96 MB", "400 MB"]
        .iter()
        .map(|v| {
            home_row
                .find(v)
                .unwrap_or_else(|| panic!("{v} not in {home_row}"))
        })
        .collect();
    assert!(home_at.windows(2).all(|w| w[0] < w[1]), "{home_row}");
    assert!(!screen.contains("not drawn yet (table)"), "{screen}");
    assert!(!screen.contains("not applied"), "{screen}");
}

#[tokio::test]
async fn a_long_table_scrolls_and_says_which_rows_it_shows() {
    let names = [
        "s00", "s01", "s02", "s03", "s04", "s05", "s06", "s07", "s08", "s09", "s10", "s11", "s12",
        "s13", "s14", "s15", "s16", "s17", "s18", "s19",
    ];
    let job: &[(&str, &str)] = &[("job", "j")];
    let stored: Vec<Stored> = names.iter().map(|n| (*n, job, 1.0)).collect();
    let (_dir, source) = promterm(&stored);
    let text = dash(
        vec![json!({"type": "table", "title": "Many rows",
            "targets": [{"expr": "{job=\"j\"}", "format": "table", "instant": true}],
            "options": {"sortBy": [{"displayName": "__name__"}]}})],
        6,
    );
    let mut a = open(&text, &source, 120, 30).await;
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(screen.contains("rows 1–"), "{screen}");
    assert!(screen.contains("of 20"), "{screen}");
    assert!(
        screen.contains("s00") && !screen.contains("s19"),
        "{screen}"
    );
    let d = a.grafana.as_mut().unwrap();
    d.table_scroll.insert((0, 0), 100);
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(
        screen.contains("s19") && !screen.contains("s00"),
        "{screen}"
    );
    assert!(screen.contains("of 20"), "{screen}");
}

#[tokio::test]
async fn page_keys_scroll_a_full_screen_table() {
    let names: Vec<String> = (0..40).map(|i| format!("s{i:02}")).collect();
    let job: &[(&str, &str)] = &[("job", "j")];
    let stored: Vec<Stored> = names.iter().map(|n| (n.as_str(), job, 1.0)).collect();
    let (_dir, source) = promterm(&stored);
    let text = dash(
        vec![json!({"type": "table", "title": "Many rows",
            "targets": [{"expr": "{job=\"j\"}", "format": "table", "instant": true}],
            "options": {"sortBy": [{"displayName": "__name__"}]}})],
        6,
    );
    let mut a = open(&text, &source, 120, 30).await;
    a.key(key(KeyCode::Tab));
    a.key(key(KeyCode::Char('f')));
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(
        screen.contains("s00") && !screen.contains("s39"),
        "{screen}"
    );
    a.key(key(KeyCode::End));
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(
        screen.contains("s39") && !screen.contains("s00"),
        "{screen}"
    );
    assert!(screen.contains("of 40"), "{screen}");
    a.key(key(KeyCode::Home));
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(screen.contains("s00"), "{screen}");
    a.key(key(KeyCode::PageDown));
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(
        !screen.contains("s00") && screen.contains("rows "),
        "{screen}"
    );
    a.key(key(KeyCode::PageUp));
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(screen.contains("s00"), "{screen}");
}

#[tokio::test]
async fn a_classic_heatmap_draws_buckets_lowest_at_the_bottom_in_the_panels_unit() {
    let b = |le: &'static str| -> Vec<(&'static str, &'static str)> {
        vec![("job", "api"), ("le", le)]
    };
    let (l1, l2, l3) = (b("0.1"), b("1"), b("+Inf"));
    let (_dir, source) = promterm(&[
        ("req_seconds_bucket", &l1, 1.0),
        ("req_seconds_bucket", &l2, 5.0),
        ("req_seconds_bucket", &l3, 6.0),
    ]);
    let text = dash(
        vec![json!({"type": "heatmap", "title": "Latency",
            "targets": [{"expr": "req_seconds_bucket", "format": "heatmap",
                         "legendFormat": "{{le}}"}],
            "yAxis": {"format": "s"}})],
        12,
    );
    let mut a = open(&text, &source, 100, 20).await;
    let (screen, _) = draw(&mut a, 100, 20);
    let low = line_of(&screen, "100ms").expect(&screen);
    let high = line_of(&screen, " 1s").expect(&screen);
    assert!(low > high, "the lowest bucket is drawn lowest:\n{screen}");
    assert!(
        screen.chars().any(|c| "░▒▓█".contains(c)),
        "cells are shaded:\n{screen}"
    );
    assert!(
        screen.contains("per cell") && screen.contains("(classic)"),
        "{screen}"
    );
    // The (0.1, 1] bucket holds 4 per sample, the most: the darkest shade, in every column
    // from the first sample to now (a column per step, stretched: no gaps).
    let one = screen.lines().nth(high).unwrap();
    let cells: String = one
        .chars()
        .skip_while(|c| *c != '█')
        .take_while(|c| *c != '│')
        .collect();
    assert!(cells.len() > 20, "{one}");
    assert!(cells.chars().all(|c| c == '█'), "{one}");
}

#[test]
fn native_histogram_answers_are_heatmap_buckets() {
    let answer = json!({"resultType": "matrix", "result": [{"metric": {"job": "api"},
        "histograms": [[100, {"count": "6", "sum": "3",
            "buckets": [[0, "0.5", "1", "2"], [0, "1", "2", "4"]]}],
                       [115, {"count": "7", "sum": "3",
            "buckets": [[0, "0.5", "1", "3"], [0, "1", "2", "4"]]}]]}]});
    let data = query_data(&answer);
    let h = panel_histogram(&[&data]).unwrap();
    assert!(h.native);
    assert_eq!(h.samples.len(), 2);
    let b = &h.samples[1].1;
    assert_eq!((b[0].lower, b[0].upper, b[0].count), (0.5, 1.0, 3.0));
    assert_eq!((b[1].lower, b[1].upper, b[1].count), (1.0, 2.0, 4.0));
    // Classic: cumulative counts become per-bucket counts, ordered by le.
    let classic = json!({"resultType": "matrix", "result": [
        {"metric": {"le": "+Inf"}, "values": [[100, "10"]]},
        {"metric": {"le": "0.5"}, "values": [[100, "3"]]},
        {"metric": {"le": "2"}, "values": [[100, "9"]]}]});
    let h = panel_histogram(&[&query_data(&classic)]).unwrap();
    let counts: Vec<(f64, f64)> = h.samples[0].1.iter().map(|b| (b.upper, b.count)).collect();
    assert_eq!(counts, [(0.5, 3.0), (2.0, 6.0), (f64::INFINITY, 1.0)]);
    // Series without `le`: not a histogram, said so.
    let plain = json!({"resultType": "matrix", "result": [
        {"metric": {"job": "a"}, "values": [[100, "1"]]}]});
    let e = panel_histogram(&[&query_data(&plain)]).unwrap_err();
    assert!(e.contains("not a histogram") && e.contains("le"), "{e}");
}

#[tokio::test]
async fn bad_panels_say_why_and_the_rest_is_drawn() {
    let (_dir, source) = promterm(&[("up", &[("job", "node"), ("instance", "a")], 1.0)]);
    let text = dash(
        vec![
            json!({"type": "heatmap", "title": "Not buckets",
                   "targets": [{"expr": "up", "format": "heatmap"}]}),
            json!({"type": "table", "title": "Empty table",
                   "targets": [{"expr": "absent_metric_xyz", "format": "table",
                                "instant": true}]}),
            json!({"type": "table", "title": "Odd transform",
                   "targets": [{"expr": "up", "format": "table", "instant": true}],
                   "transformations": [{"id": "frobnicate"},
                       {"id": "organize", "options": {"excludeByName": {"Time": true},
                                                      "renameByName": {"Value": "Up?"}}}]}),
            json!({"type": "timeseries", "title": "Still drawn",
                   "targets": [{"expr": "up", "legendFormat": "{{instance}}"}]}),
        ],
        6,
    );
    let mut a = open(&text, &source, 120, 30).await;
    let (screen, _) = draw(&mut a, 120, 30);
    assert!(screen.contains("not a histogram"), "{screen}");
    let empty = line_of(&screen, "Empty table").unwrap();
    assert!(
        screen.lines().nth(empty + 1).unwrap().contains("no data"),
        "{screen}"
    );
    assert!(screen.contains("\"frobnicate\" is not applied"), "{screen}");
    let odd = line_of(&screen, "Up?").expect(&screen);
    let header = screen.lines().nth(odd).unwrap();
    assert!(
        header.contains("instance") && !header.contains("Time"),
        "{header}"
    );
    assert!(screen.contains("Still drawn"), "{screen}");
    assert!(
        screen
            .chars()
            .any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
        "{screen}"
    );
}

#[tokio::test]
async fn l_shows_min_max_mean_last_and_legends_follow_their_options() {
    let (_dir, source) = promterm(&[
        ("load", &[("instance", "a")], 10.0),
        ("temp", &[("instance", "b")], 20.0),
    ]);
    let text = dash(
        vec![
            json!({"type": "timeseries", "title": "Load",
                   "targets": [{"expr": "load", "legendFormat": "load {{instance}}"}],
                   "options": {"legend": {"displayMode": "table", "placement": "bottom",
                                          "calcs": ["max"]}}}),
            json!({"type": "timeseries", "title": "Temp",
                   "targets": [{"expr": "temp", "legendFormat": "temp {{instance}}"}],
                   "options": {"legend": {"displayMode": "list", "placement": "right",
                                          "calcs": []}}}),
            json!({"type": "timeseries", "title": "Hidden",
                   "targets": [{"expr": "load", "legendFormat": "hidden legend"}],
                   "options": {"legend": {"displayMode": "hidden"}}}),
        ],
        10,
    );
    let mut a = open(&text, &source, 120, 34).await;
    let (screen, _) = draw(&mut a, 120, 34);
    // Table legend: a header of the statistics, the value under it (max = 10 + 4).
    let head = line_of(&screen, "Max").expect(&screen);
    let row = screen.lines().nth(head + 1).unwrap();
    assert!(row.contains("load a") && row.contains("14"), "{row}");
    assert!(!screen.contains("Mean"), "{screen}");
    // Right placement: the legend beside the chart's dots on the same line.
    let temp = line_of(&screen, "temp b").expect(&screen);
    let tl = screen.lines().nth(temp).unwrap();
    let at = tl.find("temp b").unwrap();
    assert!(at > 60, "legend at the right: {tl}");
    assert!(!screen.contains("hidden legend"), "{screen}");
    // `l`: min, max, mean and last on every panel.
    a.key(key(KeyCode::Char('l')));
    assert!(a.grafana.as_ref().unwrap().legend_stats);
    let (screen, _) = draw(&mut a, 120, 34);
    for s in ["Min", "Max", "Mean", "Last*"] {
        assert!(screen.contains(s), "{s} missing:\n{screen}");
    }
    let temp = line_of(&screen, "temp b").expect(&screen);
    assert!(
        screen.lines().nth(temp).unwrap().contains("Min 20"),
        "{screen}"
    );
    a.key(key(KeyCode::Char('l')));
    let (screen, _) = draw(&mut a, 120, 34);
    assert!(!screen.contains("Mean"), "{screen}");
}

#[tokio::test]
async fn stat_panels_show_mapped_text_and_novalue() {
    let (_dir, source) = promterm(&[("state", &[("job", "x")], 0.0)]);
    let text = dash(
        vec![
            json!({"type": "stat", "title": "State", "targets": [{"expr": "state"}],
                   "fieldConfig": {"defaults": {"unit": "bytes", "mappings": [
                       {"type": "value", "options": {"4": {"text": "RUNNING",
                                                           "color": "green"}}}]}}}),
            json!({"type": "gauge", "title": "Missing", "targets": [{"expr": "nothing_here"}],
                   "fieldConfig": {"defaults": {"noValue": "no such series"}}}),
        ],
        5,
    );
    let mut a = open(&text, &source, 100, 14).await;
    let (screen, _) = draw(&mut a, 100, 14);
    assert!(screen.contains("RUNNING"), "{screen}");
    assert!(!screen.contains("4 B"), "{screen}");
    assert!(screen.contains("no such series"), "{screen}");
}
