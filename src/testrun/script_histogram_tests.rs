//! Histogram series lines in scripts: our own small cases, and every histogram line of the
//! upstream scripts (when `../shared/promqltest` is beside the project).

use super::*;
use crate::model::histogram::CounterResetHint;

#[test]
fn histogram_lines_in_load_blocks() {
    let text = "load 1m\n  h{a=\"1\"} {{schema:0 sum:5 count:4 buckets:[1 2 1]}}x2 _ stale {{}}+{{count:1}}x1 7\n  m 1 2\n\nload_with_nhcb 1m\n  g {{count:2 counter_reset_hint:gauge}}\n\neval instant at 1m h\n  h{a=\"1\"} {{schema:0 sum:5 count:4 buckets:[1 2 1]}}\n";
    let cmds = parse(text).unwrap();
    let Command::Load { series, nhcb, .. } = &cmds[0] else {
        panic!("not a load: {:?}", cmds[0])
    };
    assert!(!nhcb);
    let h = &series[0];
    assert!(h.histogram);
    assert_eq!(h.values.len(), 8);
    // Slots: 3 histograms, a gap, a stale float, 2 histograms, a float.
    let slots: Vec<usize> = h.histograms.iter().map(|(i, _)| *i).collect();
    assert_eq!(slots, [0, 1, 2, 5, 6]);
    assert!(crate::model::is_stale_nan(h.values[4].unwrap()));
    assert_eq!(h.values[7], Some(7.0));
    assert_eq!(h.values[3], None);
    assert_eq!(
        h.samples(60_000).len(),
        2,
        "floats only: the stale marker and 7"
    );
    let hs = h.histogram_samples(60_000);
    assert_eq!(hs.len(), 5);
    assert_eq!((hs[4].0, hs[4].1.count), (360_000, 1.0));
    assert_eq!(hs[0].1.positive_buckets, [1.0, 2.0, 1.0]);
    assert!(!series[1].histogram && series[1].histograms.is_empty());
    let Command::Load { series, nhcb, .. } = &cmds[1] else {
        panic!()
    };
    assert!(nhcb);
    assert_eq!(
        series[0].histograms[0].1.h.counter_reset_hint,
        CounterResetHint::Gauge
    );
    let Command::Eval(e) = &cmds[2] else { panic!() };
    let Expected::Series(lines) = &e.expected else {
        panic!()
    };
    assert!(lines[0].histogram && lines[0].histograms.len() == 1);
    // An instant eval may not expect two histograms.
    assert!(parse("eval instant at 0 h\n  h {{}}x1\n").is_err());
    // A broken literal names its line.
    let err = parse("load 1m\n  h {{sum:1 sum:2}}\n").unwrap_err();
    assert!(
        err.starts_with("line 2:") && err.contains("duplicate key"),
        "{err}"
    );
}

#[test]
fn every_upstream_histogram_line_parses() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/promqltest");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!(
            "skipped: {} is absent (the upstream scripts live beside the project)",
            dir.display()
        );
        return;
    };
    let (mut lines, mut histograms, mut invalid) = (0, 0, 0);
    for e in rd {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "test") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for cmd in parse(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display())) {
            let Command::Load { line, series, .. } = cmd else {
                continue;
            };
            for s in series.iter().filter(|s| s.histogram) {
                lines += 1;
                for (_, h) in &s.histograms {
                    histograms += 1;
                    if let Err(e) = h.h.validate() {
                        invalid += 1;
                        eprintln!("{}:{line}: {} {e}", p.display(), s.labels);
                    }
                }
            }
        }
        // Independently of the block structure: every non-comment line holding `{{` parses
        // as a series line (series lines are everything after the first token of a body).
        for (n, l) in text.lines().enumerate() {
            let l = l.trim();
            if l.starts_with('#') || !l.contains("{{") || l.starts_with("eval") {
                continue;
            }
            let s = parse_series(l).unwrap_or_else(|e| panic!("{}:{}: {e}", p.display(), n + 1));
            assert!(!s.histograms.is_empty(), "{}:{}", p.display(), n + 1);
        }
    }
    eprintln!(
        "{lines} histogram series lines in load blocks, {histograms} histograms, {invalid} invalid"
    );
    assert!(
        lines > 100 && histograms > 1000,
        "{lines} lines, {histograms} histograms"
    );
    assert_eq!(invalid, 0, "upstream loads only valid histograms");
}
