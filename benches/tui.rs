//! Rendering cost of the TUI with many targets and large range results (one frame into
//! ratatui's TestBackend): the panes must stay cheap with thousands of targets, and a graph of
//! 200 series at 160×48 (issue 19's figure) must draw well within a refresh.

use criterion::{criterion_group, criterion_main, Criterion};
use promterm::tui::app::{App, Msg, View};
use promterm::tui::data::{QueryData, SeriesData, Target};
use promterm::tui::prompt::History;
use promterm::tui::render;
use promterm::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn app() -> App {
    let mut a = App::new(
        Theme::load("default").unwrap(),
        History::load(None),
        "bench",
    );
    a.now = 1_700_000_000.0;
    let targets: Vec<Target> = (0..5000)
        .map(|i| Target {
            pool: format!("job{}", i / 50),
            instance: format!("host-{i}.example.com:9100"),
            labels: Default::default(),
            discovered: Default::default(),
            health: if i % 13 == 0 {
                "down".into()
            } else {
                "up".into()
            },
            last_error: if i % 13 == 0 {
                "connection refused".into()
            } else {
                String::new()
            },
            last_scrape: "2023-11-14T22:13:15Z".into(),
            duration: 0.01,
        })
        .collect();
    a.msg(Msg::Targets(Ok(targets.into())));
    a
}

/// Gives the app a range answer of `n` sine series over its graph window.
fn show_series(a: &mut App, n: usize) {
    let (s, e, step) = a.window();
    let series: Vec<SeriesData> = (0..n)
        .map(|k| SeriesData {
            labels: [("instance".to_string(), format!("host-{k}:9100"))].into(),
            points: {
                let mut v = Vec::new();
                let mut t = s;
                while t <= e {
                    v.push((t, (t / 300.0 + k as f64).sin() * (1.0 + k as f64)));
                    t += step;
                }
                v
            },
            histograms: Vec::new(),
        })
        .collect();
    a.msg(Msg::Query {
        id: 0,
        result: Ok((QueryData::Matrix(series), vec![])),
        seconds: 0.0,
        stats: None,
    });
}

fn bench(c: &mut Criterion) {
    let mut term = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let mut a = app();
    a.set_wide(true);
    c.bench_function("frame_5000_targets", |b| {
        b.iter(|| {
            term.draw(|f| render::render(&a, f)).unwrap();
        })
    });
    a.set_view(View::Targets);
    a.graph = true;
    show_series(&mut a, 50);
    a.set_view(View::Query);
    c.bench_function("frame_chart_50_series", |b| {
        b.iter(|| {
            term.draw(|f| render::render(&a, f)).unwrap();
        })
    });
}

/// One frame of the graph with 200 series at 160×48.
fn bench_200_series(c: &mut Criterion) {
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    let mut a = app();
    a.set_wide(true);
    a.graph = true;
    show_series(&mut a, 200);
    a.set_view(View::Query);
    c.bench_function("frame_chart_200_series_160x48", |b| {
        b.iter(|| {
            term.draw(|f| render::render(&a, f)).unwrap();
        })
    });
}

criterion_group!(benches, bench, bench_200_series);
criterion_main!(benches);
