//! The TUI's heatmap end to end: native histograms remote-written into `promterm serve`, then
//! `promterm tui --url` in a real pseudo-terminal queries them, shows the table's summary,
//! the graph, and with `g` again the heatmap (series, quantile legend, the cursor's readout).
//! Uses `tui::in_pty`.

use promterm::model::{CounterResetHint, Histogram, HistogramSample, HistogramValue, Span};
use promterm::remote::proto::{encode_v1, SeriesV1};

use crate::common::{bin, http_post, wait_ok, Server};
use crate::tui::in_pty;

/// Histogram number `i` of a counter: schema 0, buckets (0.5,1] (1,2] (2,4] (4,8] holding
/// i, 2i, 3i, i observations (the integer form stores the differences).
fn histogram(i: i64) -> Histogram {
    Histogram {
        counter_reset_hint: CounterResetHint::Unknown,
        schema: 0,
        zero_threshold: 0.001,
        zero_count: 0,
        count: 7 * i as u64,
        sum: 20.0 * i as f64,
        positive_spans: vec![Span {
            offset: 0,
            length: 4,
        }],
        positive_buckets: vec![i, i, i, -2 * i],
        negative_spans: Vec::new(),
        negative_buckets: Vec::new(),
        custom_values: Vec::new(),
    }
}

#[test]
fn a_native_histogram_shows_as_a_heatmap_in_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.yml"), "scrape_configs: []\n").unwrap();
    let srv = Server::start(&[
        "--headless",
        "--config",
        dir.path().join("p.yml").to_str().unwrap(),
        "--data",
        dir.path().join("d").to_str().unwrap(),
    ]);
    wait_ok(srv.addr, "/-/ready");
    // A histogram every 30 s over the last 50 minutes.
    let now = promterm::model::now_ms();
    let series = [SeriesV1 {
        labels: vec![("__name__", "rpc_h"), ("job", "it")],
        histograms: (1..=100)
            .map(|i| HistogramSample {
                t: now - 50 * 60_000 + i * 30_000 - 1000,
                h: HistogramValue::Int(histogram(i)),
            })
            .collect(),
        ..SeriesV1::default()
    }];
    let body = snap::raw::Encoder::new()
        .compress_vec(&encode_v1(&series))
        .unwrap();
    let (code, answer) = http_post(
        srv.addr,
        "/api/v1/write",
        &[
            ("Content-Type", "application/x-protobuf"),
            ("Content-Encoding", "snappy"),
        ],
        &body,
    );
    assert_eq!(code, 204, "{answer}");
    let state = dir.path().join("state");
    let cmd = format!(
        "XDG_STATE_HOME={} XDG_DATA_HOME={} {} tui --url http://{}",
        state.display(),
        state.display(),
        bin(),
        srv.addr
    );
    let (code, plain, _) = in_pty(
        &cmd,
        132,
        40,
        &[
            // The overview first: Esc to the prompt, run the query (a table), leave the
            // prompt, g: graph, g: heatmap, ←: the cursor, then quit.
            (2000, b"\x1b"),
            (300, b"rpc_h"),
            (300, b"\r"),
            (1000, b"\x1b"),
            (300, b"g"),
            (1500, b"g"),
            (1000, b"\x1b[D"),
            (1000, b"q"),
        ],
    );
    assert_eq!(code, 0, "{plain}");
    // The terminal gets only the cells that changed: compare without spaces, with words
    // that are new where they appear (132 columns: the status line's long key forms fit
    // beside the query statistics, so "g heatmap" lands where "g graph" was not).
    let squeezed: String = plain.chars().filter(|c| *c != ' ').collect();
    for want in [
        "{count:700 sum:2000 buckets:4",
        "Graph 1h",
        "g heatmap",
        "rpc_h{job=\"it\"} (native)",
        "p50",
        "p99",
        "percentile",
    ] {
        let want: String = want.chars().filter(|c| *c != ' ').collect();
        assert!(squeezed.contains(&want), "missing {want:?} in:\n{plain}");
    }
}
