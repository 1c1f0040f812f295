use prost::Message;

use super::super::{Mode, Store};
use crate::textparse::proto::{
    BucketSpan, Counter, Histogram as PHistogram, LabelPair, Metric, MetricFamily, MetricType as T,
};

fn family(name: &str, t: T, metric: Metric) -> MetricFamily {
    MetricFamily {
        name: name.into(),
        help: String::new(),
        r#type: t as i32,
        metric: vec![metric],
        unit: String::new(),
    }
}

fn native(count: u64) -> Metric {
    Metric {
        label: vec![LabelPair {
            name: "path".into(),
            value: "/".into(),
        }],
        histogram: Some(PHistogram {
            sample_count: count,
            sample_sum: f64::NAN,
            schema: 2,
            zero_threshold: 0.001,
            zero_count: 1,
            positive_span: vec![BucketSpan {
                offset: -2,
                length: 2,
            }],
            positive_delta: vec![1, 1],
            ..PHistogram::default()
        }),
        ..Metric::default()
    }
}

fn body(families: &[MetricFamily]) -> Vec<u8> {
    let mut out = Vec::new();
    for f in families {
        f.encode_length_delimited(&mut out).expect("a Vec grows");
    }
    out
}

fn key() -> Vec<(String, String)> {
    vec![("job".into(), "batch".into())]
}

#[test]
fn protobuf_pushes_keep_native_histograms_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(Some(dir.path()));
    let counter = Metric {
        counter: Some(Counter {
            value: 7.0,
            ..Counter::default()
        }),
        ..Metric::default()
    };
    let b = body(&[
        family("done_total", T::Counter, counter),
        family("took_seconds", T::Histogram, native(4)),
    ]);
    s.push_protobuf(key(), &b, Mode::Replace, 100.0).unwrap();
    let floats: Vec<String> = s
        .series()
        .iter()
        .map(|(l, v)| format!("{} {v}", l.get("__name__").unwrap_or("")))
        .collect();
    assert!(floats.contains(&"done_total 7".to_string()), "{floats:?}");
    assert!(
        !floats.iter().any(|f| f.starts_with("took_seconds")),
        "the histogram is not a float series"
    );
    let hists = s.histograms();
    assert_eq!(hists.len(), 1);
    assert_eq!(hists[0].0.get("job"), Some("batch"));
    assert_eq!(hists[0].0.get("path"), Some("/"));
    let (count, sum) = hists[0].1.count_and_sum();
    assert_eq!(count, 4.0);
    assert!(sum.is_nan(), "a NaN sum survives");
    // Kept in pushgateway.json: the same histogram, bit for bit, after a restart.
    let again = Store::open(Some(dir.path()));
    let h2 = again.histograms();
    assert_eq!(h2.len(), 1);
    assert!(h2[0].1.same_bits(&hists[0].1));
}

#[test]
fn protobuf_pushes_are_refused_whole_for_invalid_histograms_and_timestamps() {
    let s = Store::open(None);
    // Buckets hold 1 + 2 + the zero bucket's 1 = 4, not 9.
    let mut bad = native(9);
    if let Some(h) = bad.histogram.as_mut() {
        // With a NaN sum a larger count is allowed; with a number it must match.
        h.sample_sum = 2.0;
    }
    let e = s
        .push_protobuf(
            key(),
            &body(&[family("took_seconds", T::Histogram, bad)]),
            Mode::Replace,
            1.0,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("took_seconds{"), "{e}");
    assert!(e.contains("path=\"/\""), "{e}");
    assert!(e.contains("observation count"), "{e}");
    assert!(s.histograms().is_empty());
    let mut m = native(4);
    m.timestamp_ms = 5;
    let e = s
        .push_protobuf(
            key(),
            &body(&[family("took_seconds", T::Histogram, m)]),
            Mode::Replace,
            1.0,
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("must not have timestamps"), "{e}");
    let e = s
        .push_protobuf(key(), b"\x05abc", Mode::Replace, 1.0)
        .unwrap_err()
        .to_string();
    assert!(e.contains("invalid protobuf body"), "{e}");
}
