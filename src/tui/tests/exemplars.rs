//! Exemplars on the graph, drawn into a buffer: `◆` on their series' line in its colour, a
//! line under the chart counting them and then reading out the one at the cursor (trace id,
//! span id, value, time, series), the marker at the cursor reversed, readable without
//! colours; `e` hides them. And the loop's request for them against a fake server: the
//! expression and range sent, Prometheus's JSON read, and a server without exemplar storage
//! (an error) giving no markers and no error.

use std::sync::{Arc, Mutex};

use crossterm::event::KeyCode;
use ratatui::style::Modifier;

use super::{app_with_data, draw, execute_cmd, key};
use crate::client::{Answer, ClientError, Source};
use crate::tui::app::{App, Cmd, Focus, Msg};
use crate::tui::data::{ExemplarData, ExemplarSeries, QueryData, SeriesData};
use crate::tui::theme::Theme;
use crate::tui::view::graph::EXEMPLAR_MARK;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn labels(pairs: &[(&str, &str)]) -> crate::tui::data::LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `x` graphed: job a flat at 2, job b flat at 6; three exemplars on those lines.
fn graph_with_exemplars(theme: Theme) -> App {
    let mut a = app_with_data(theme);
    a.graph = true;
    a.editor.set("x");
    let cmds = a.key(key(KeyCode::Enter));
    let id = match cmds.as_slice() {
        [Cmd::Query { id, .. }, Cmd::Exemplars { .. }] => *id,
        other => panic!("{other:?}"),
    };
    let (s, e, step) = a.window();
    let line = |job: &str, v: f64| SeriesData {
        labels: labels(&[("__name__", "x"), ("job", job)]),
        points: (0..=((e - s) / step) as usize)
            .map(|i| (s + i as f64 * step, v))
            .collect(),
        ..Default::default()
    };
    a.msg(Msg::Query {
        id,
        result: Ok((
            QueryData::Matrix(vec![line("a", 2.0), line("b", 6.0)]),
            vec![],
        )),
        seconds: 0.01,
        stats: None,
    });
    let ex = |l: &[(&str, &str)], value: f64, time: f64| ExemplarData {
        labels: labels(l),
        value,
        time,
    };
    a.msg(Msg::Exemplars {
        id,
        exemplars: vec![
            ExemplarSeries {
                series: labels(&[("__name__", "x"), ("job", "a")]),
                exemplars: vec![ex(&[("trace_id", "aaaa")], 2.0, s + 2400.0)],
            },
            ExemplarSeries {
                series: labels(&[("__name__", "x"), ("job", "b")]),
                exemplars: vec![
                    ex(&[("span_id", SPAN), ("trace_id", TRACE)], 6.0, s + 1200.5),
                    ex(&[("trace_id", "bbbb")], 6.0, s + 3000.0),
                ],
            },
        ],
    });
    a.key(key(KeyCode::Esc));
    assert_eq!(a.focus, Focus::Results);
    a
}

/// Where the markers are: (column, row) of each `◆`.
fn markers(text: &str) -> Vec<(usize, usize)> {
    text.lines()
        .enumerate()
        .flat_map(|(y, l)| {
            l.chars()
                .enumerate()
                .filter(|(_, c)| c.to_string() == EXEMPLAR_MARK)
                .map(move |(x, _)| (x, y))
        })
        .collect()
}

fn is_braille(c: char) -> bool {
    ('\u{2801}'..='\u{28ff}').contains(&c)
}

fn char_at(text: &str, x: usize, y: usize) -> char {
    text.lines()
        .nth(y)
        .and_then(|l| l.chars().nth(x))
        .unwrap_or(' ')
}

#[test]
fn markers_sit_on_their_series_line_and_the_cursor_reads_one_out() {
    for (w, h) in [(80, 24), (160, 48)] {
        let mut a = graph_with_exemplars(Theme::load("default").unwrap());
        let (text, buf) = draw(&mut a, w, h);
        let m = markers(&text);
        // The readout line's own symbol is one of them: three on the plot, one in the line.
        assert_eq!(m.len(), 4, "{w}x{h}:\n{text}");
        assert!(
            text.contains("3 exemplars · n/N"),
            "{w}x{h} counts them:\n{text}"
        );
        let mut on_plot: Vec<(usize, usize)> = m
            .iter()
            .copied()
            .filter(|(x, y)| is_braille(char_at(&text, x - 1, *y)))
            .collect();
        on_plot.sort();
        assert_eq!(on_plot.len(), 3, "{w}x{h}:\n{text}");
        // On the line: the flat line's dots go on at both sides, in the series' colour.
        let rows: Vec<usize> = on_plot.iter().map(|p| p.1).collect();
        for &(x, y) in &on_plot {
            assert!(
                is_braille(char_at(&text, x + 1, y)),
                "{w}x{h} at {x},{y}:\n{text}"
            );
            let line_fg = buf[((x - 1) as u16, y as u16)].fg;
            assert_eq!(buf[(x as u16, y as u16)].fg, line_fg, "{w}x{h} at {x},{y}");
        }
        // Job b (6) is above job a (2); the two on b share its row, in time order.
        let (a_row, b_row) = (rows[1], rows[0]);
        assert!(b_row < a_row && rows[2] == b_row, "{rows:?}\n{text}");
        assert!(on_plot[0].0 < on_plot[1].0 && on_plot[1].0 < on_plot[2].0);
        assert!(
            !text.contains(TRACE),
            "no readout before the cursor is on one"
        );

        // `n`: the cursor goes to the first; its labels, value, time and series are read out.
        a.key(key(KeyCode::Char('n')));
        let (s, _, _) = a.window();
        let (text, buf) = draw(&mut a, w, h);
        // Its two rows on a narrow screen, joined.
        let lines: Vec<&str> = text.lines().collect();
        let i = lines
            .iter()
            .position(|l| l.contains(&format!("trace_id={TRACE}")))
            .unwrap_or_else(|| panic!("{w}x{h} no readout:\n{text}"));
        let two = !lines[i + 1].contains('■');
        let rows = &lines[i..i + 1 + usize::from(two)];
        let readout = rows
            .iter()
            .flat_map(|l| l.split(['│', ' ']))
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let time = crate::tui::format::clock_ms(s + 1200.5, false, false);
        for want in [
            format!("trace_id={TRACE} span_id={SPAN}"),
            format!("6 at {time}"),
        ] {
            assert!(readout.contains(&want), "{w}x{h} lacks {want:?}: {readout}");
        }
        assert!(readout.contains("x{job=\"b\"}"), "{readout}\n{text}");
        if w >= 160 {
            let status = text.lines().last().unwrap_or_default();
            assert!(status.contains("n N e exemplars"), "{status}");
        }
        // Its marker is reversed (the cursor line runs through it).
        let (x, y) = on_plot[0];
        assert_eq!(char_at(&text, x, y).to_string(), EXEMPLAR_MARK, "{text}");
        assert!(buf[(x as u16, y as u16)]
            .modifier
            .contains(Modifier::REVERSED));
        assert!(!buf[(on_plot[1].0 as u16, on_plot[1].1 as u16)]
            .modifier
            .contains(Modifier::REVERSED));

        // `e` hides them all, and the line; again brings them back.
        a.key(key(KeyCode::Char('e')));
        let (text, _) = draw(&mut a, w, h);
        assert!(markers(&text).is_empty() && !text.contains(TRACE), "{text}");
        a.key(key(KeyCode::Char('e')));
        assert_eq!(markers(&draw(&mut a, w, h).0).len(), 4);
    }
}

#[test]
fn without_colours_the_markers_and_the_one_at_the_cursor_still_show() {
    let mut a = graph_with_exemplars(Theme::load("default").unwrap().without_colors());
    a.key(key(KeyCode::Char('N')));
    let (text, buf) = draw(&mut a, 120, 40);
    let m = markers(&text);
    assert_eq!(m.len(), 4, "{text}");
    assert!(text.contains("trace_id=bbbb"), "the last one:\n{text}");
    let reversed: Vec<_> = m
        .iter()
        .filter(|(x, y)| {
            buf[(*x as u16, *y as u16)]
                .modifier
                .contains(Modifier::REVERSED)
        })
        .collect();
    assert_eq!(reversed.len(), 1, "{text}");
    assert!(m
        .iter()
        .all(|(x, y)| buf[(*x as u16, *y as u16)].fg == ratatui::style::Color::Reset));
}

/// A request: the path and its parameters.
type Asked = (String, Vec<(String, String)>);

/// A server with canned answers; it records what it was asked.
struct Fake {
    exemplars: Result<&'static str, u16>,
    asked: Mutex<Vec<Asked>>,
}

impl Source for Fake {
    fn get<'a>(
        &'a self,
        path: &'a str,
        params: &'a [(&'a str, String)],
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Answer, ClientError>> + Send + 'a>>
    {
        Box::pin(async move {
            let p = params.iter().map(|(k, v)| (k.to_string(), v.clone()));
            self.asked
                .lock()
                .unwrap()
                .push((path.to_string(), p.collect()));
            match (path, self.exemplars) {
                ("/api/v1/query_exemplars", Ok(raw)) => {
                    let v: serde_json::Value = serde_json::from_str(raw).unwrap();
                    Ok(Answer {
                        raw: raw.to_string(),
                        data: v["data"].clone(),
                        warnings: vec![],
                        infos: vec![],
                    })
                }
                (_, Err(status)) => Err(ClientError::Protocol {
                    url: path.to_string(),
                    status,
                    msg: "404 page not found".into(),
                }),
                _ => Err(ClientError::Setup("not canned".into())),
            }
        })
    }
}

#[tokio::test]
async fn the_loop_asks_for_them_and_a_server_without_them_is_no_error() {
    let raw = r#"{"status":"success","data":[{"seriesLabels":{"__name__":"x","job":"b"},"exemplars":[{"labels":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"},"value":"6","timestamp":1699999000.479}]}]}"#;
    let fake = Arc::new(Fake {
        exemplars: Ok(raw),
        asked: Mutex::new(Vec::new()),
    });
    let mut a = graph_with_exemplars(Theme::load("default").unwrap());
    a.exemplars.clear();
    let (s, e, _) = a.window();
    let cmd = a.key(key(KeyCode::Char('-'))).pop().expect("two commands");
    let m = execute_cmd(fake.as_ref(), cmd).await;
    let asked = fake.asked.lock().unwrap().clone();
    let (s2, e2) = (e - 3.0 * (e - s), e);
    assert_eq!(asked[0].0, "/api/v1/query_exemplars");
    assert_eq!(
        asked[0].1,
        vec![
            ("query".to_string(), "x".to_string()),
            ("start".into(), crate::client::fmt_time(s2)),
            ("end".into(), crate::client::fmt_time(e2)),
        ]
    );
    a.msg(m);
    assert_eq!(a.exemplars.len(), 1);
    assert_eq!(a.exemplars[0].exemplars[0].time, 1699999000.479);
    a.key(key(KeyCode::Char('n')));
    let (text, _) = draw(&mut a, 160, 48);
    assert!(text.contains(&format!("trace_id={TRACE}")), "{text}");

    // No exemplar storage: 404 → no exemplars, no error shown, the graph as before.
    let none = Fake {
        exemplars: Err(404),
        asked: Mutex::new(Vec::new()),
    };
    let cmd = a.key(key(KeyCode::Char('+'))).pop().expect("two commands");
    a.msg(execute_cmd(&none, cmd).await);
    assert!(a.exemplars.is_empty() && a.error.is_none());
    let (text, _) = draw(&mut a, 160, 48);
    assert!(markers(&text).is_empty(), "{text}");
    assert!(
        !text.contains("404") && !text.contains("not found") && !text.contains("in view"),
        "{text}"
    );
}
