//! Parser tests over testdata/textparse/ pages and hand-written bad lines.

use super::*;

/// Every entry, with each sample's labels parsed as a scrape would.
fn all(text: &str, f: Format) -> Result<Vec<Entry<'_>>, ParseError> {
    let entries: Vec<Entry<'_>> = Parser::new(text, f).collect::<Result<_, _>>()?;
    for e in &entries {
        if let Entry::Sample(s) = e {
            s.labels()?;
        }
    }
    Ok(entries)
}

type Row = (String, Vec<(String, String)>, f64, Option<i64>);

fn samples(entries: &[Entry<'_>]) -> Vec<Row> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Sample(s) => {
                let l = s.labels().unwrap();
                Some((
                    l.name.to_string(),
                    l.labels
                        .iter()
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .collect(),
                    s.value,
                    s.timestamp,
                ))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn text_page() {
    let text = std::fs::read_to_string("testdata/textparse/node.prom").unwrap();
    let e = all(&text, Format::Text).unwrap();
    let s = samples(&e);
    assert_eq!(s.len(), 7, "{s:?}");
    assert_eq!(s[0].0, "node_cpu_seconds_total");
    assert_eq!(
        s[0].1,
        vec![("cpu".into(), "0".into()), ("mode".into(), "idle".into())]
    );
    assert_eq!(s[0].2, 12345.67);
    assert_eq!(s[2], ("node_load1".into(), vec![], 0.42, None));
    // Escapes in label values; trailing comma; timestamp in ms.
    assert_eq!(s[3].1[0].1, "C:\\dir");
    assert_eq!(s[3].1[1].1, "say \"hi\"\nbye");
    assert_eq!(s[3].2, f64::INFINITY);
    assert_eq!(s[3].3, Some(1_700_000_000_000));
    // Whitespace around names, equals signs and values is tolerated in text.
    assert_eq!(s[4].0, "spaced_metric");
    assert_eq!(
        s[4].1,
        vec![("a".into(), "1".into()), ("b".into(), "2".into())]
    );
    assert_eq!(s[4].2, f64::NEG_INFINITY);
    assert!(s[5].2.is_nan());
    assert_eq!(s[6].2, 0.0015);
    // HELP and TYPE.
    assert!(e.contains(&Entry::Type {
        metric: "node_load1".into(),
        kind: MetricType::Gauge
    }));
    assert!(e.contains(&Entry::Help {
        metric: "weird_help".into(),
        text: "Backslash \\ and newline \n, quote \\\" stays escaped in text.".into()
    }));
    assert!(e.contains(&Entry::Type {
        metric: "weird_help".into(),
        kind: MetricType::Unknown
    }));
    // The raw series text is the cache key: name and label block as written.
    let Entry::Sample(first) = &e[2] else {
        panic!("{:?}", e[2])
    };
    assert_eq!(
        first.series,
        "node_cpu_seconds_total{cpu=\"0\",mode=\"idle\"}"
    );
}

#[test]
fn openmetrics_page() {
    let text = std::fs::read_to_string("testdata/textparse/app.om").unwrap();
    let e = all(&text, Format::OpenMetrics).unwrap();
    let s = samples(&e);
    assert_eq!(s.len(), 6, "{s:?}");
    assert_eq!(s[0].1, vec![("le".into(), "0.1".into())]);
    assert_eq!(s[0].2, 5.0);
    assert_eq!(s[4].0, "http_request_duration_seconds_created");
    // OpenMetrics timestamps are seconds.
    assert_eq!(s[5].3, Some(1_700_000_001_250));
    assert!(e.contains(&Entry::Unit {
        metric: "http_request_duration_seconds".into(),
        unit: "seconds"
    }));
    assert!(e.contains(&Entry::Help {
        metric: "http_request_duration_seconds".into(),
        text: "Request latency, \"quoted\" and \\ escaped.".into()
    }));
    assert!(e.contains(&Entry::Type {
        metric: "build".into(),
        kind: MetricType::Info
    }));
}

#[test]
fn utf8_quoted_names() {
    let e = all("{\"my.metric\", \"label.x\"=\"v\"} 1\n", Format::Text).unwrap();
    let s = samples(&e);
    assert_eq!(s[0].0, "my.metric");
    assert_eq!(s[0].1, vec![("label.x".into(), "v".into())]);
}

#[test]
fn bad_pages_name_line_and_text() {
    let cases: &[(&str, Format, usize, &str)] = &[
        ("ok 1\nbad-name 1\n", Format::Text, 2, "expected a space"),
        ("a{b=\"1\" 1\n", Format::Text, 1, "unterminated label set"),
        (
            "a{b=\"1\" c=\"2\"} 1\n",
            Format::Text,
            1,
            "expected ',' or '}'",
        ),
        ("a{b=1} 1\n", Format::Text, 1, "expected a quoted value"),
        (
            "a{b=\"1\",b=\"2\"} 1\n",
            Format::Text,
            1,
            "duplicate label name",
        ),
        ("a 1x\n", Format::Text, 1, "invalid value \"1x\""),
        ("a 1 2 3\n", Format::Text, 1, "expected a value"),
        ("a 1 1.5\n", Format::Text, 1, "invalid timestamp \"1.5\""),
        ("a\n", Format::Text, 1, "expected a space"),
        (
            "# TYPE a summer\n",
            Format::Text,
            1,
            "invalid metric type \"summer\"",
        ),
        ("{\"unterminated 1\n", Format::Text, 1, "unterminated"),
        ("a{1=\"x\"} 1\n", Format::Text, 1, "invalid label name"),
        ("a 1\n", Format::OpenMetrics, 1, "does not end with # EOF"),
        ("a 1\n# EOF\nb 2\n", Format::OpenMetrics, 2, "after # EOF"),
        ("a 1\n\n# EOF\n", Format::OpenMetrics, 2, "empty line"),
        (
            "# random words\n# EOF\n",
            Format::OpenMetrics,
            1,
            "invalid comment",
        ),
        (
            "# TYPE a untyped\n# EOF\n",
            Format::OpenMetrics,
            1,
            "invalid metric type",
        ),
        (
            "# UNIT a_bytes seconds\n# EOF\n",
            Format::OpenMetrics,
            1,
            "not a suffix",
        ),
        (
            "a 1 # notexemplar\n# EOF\n",
            Format::OpenMetrics,
            1,
            "invalid exemplar",
        ),
        ("a 1_000\n", Format::Text, 1, "invalid value"),
    ];
    for (text, f, line, want) in cases {
        let err = all(text, *f).expect_err(text);
        assert_eq!(err.line, *line, "{text:?}: {err}");
        assert!(err.msg.contains(want), "{text:?}: got {err}, want {want:?}");
    }
}

#[test]
fn garbage_never_panics() {
    // Deterministic pseudo-random pages built from exposition-like fragments.
    let parts = [
        "a", "{", "}", "\"", "\\", "=", ",", " ", "\n", "1", "NaN", "# ", "HELP ", "TYPE ", "EOF",
        "x_total", "é", "\t", "#", "le", "+Inf", "\r",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..5000 {
        let mut page = String::new();
        for _ in 0..(seed % 40) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            page.push_str(parts[(seed % parts.len() as u64) as usize]);
        }
        for f in [Format::Text, Format::OpenMetrics] {
            for e in Parser::new(&page, f).flatten() {
                if let Entry::Sample(s) = e {
                    // Parsing the labels of an accepted line reports, never panics.
                    let _ = s.labels();
                }
            }
        }
    }
}

#[test]
fn content_types() {
    assert_eq!(
        Format::from_content_type("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::from_content_type("text/plain; version=0.0.4"),
        Format::Text
    );
    assert_eq!(Format::from_content_type(""), Format::Text);
}

#[test]
fn openmetrics_exemplars_are_parsed() {
    let page = "# TYPE foo counter\n\
                foo_total{a=\"1\"} 17 # {trace_id=\"KOO5S4vxi0o\",span_id=\"x\\\"y\"} 0.67\n\
                foo_total{a=\"2\"} 18 1600000001 # {trace_id=\"abc\"} 1.5 1600000000.123\n\
                foo_total{a=\"3\"} 19 # {} 3\n\
                foo_total{a=\"4\"} 20\n\
                # EOF\n";
    let samples: Vec<Sample> = Parser::new(page, Format::OpenMetrics)
        .filter_map(|e| match e.unwrap() {
            Entry::Sample(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(samples.len(), 4);
    let e = samples[0].exemplar.as_ref().unwrap();
    assert_eq!(
        e.labels,
        vec![
            (Cow::from("trace_id"), Cow::from("KOO5S4vxi0o")),
            (Cow::from("span_id"), Cow::from("x\"y"))
        ]
    );
    assert_eq!((e.value, e.timestamp), (0.67, None));
    assert_eq!(samples[1].timestamp, Some(1_600_000_001_000));
    let e = samples[1].exemplar.as_ref().unwrap();
    assert_eq!((e.value, e.timestamp), (1.5, Some(1_600_000_000_123)));
    let e = samples[2].exemplar.as_ref().unwrap();
    assert!(e.labels.is_empty());
    assert_eq!(e.value, 3.0);
    assert!(samples[3].exemplar.is_none());
    // Missing or extra fields, a non-finite timestamp, bad labels: errors on their line.
    for bad in [
        "a 1 # {x=\"1\"}\n# EOF\n",
        "a 1 # {x=\"1\"} 1 2 3\n# EOF\n",
        "a 1 # {x=\"1\"} 1 NaN\n# EOF\n",
        "a 1 # {x=1} 1\n# EOF\n",
    ] {
        let err = all(bad, Format::OpenMetrics).expect_err(bad);
        assert_eq!(err.line, 1, "{bad:?}");
    }
}
