//! The receiving side: labels, limits, headers and bodies, remote write 2.0 symbols and
//! created timestamps.

use super::*;
use crate::model::Sample;
use parking_lot::Mutex;

type Stored = (Vec<(String, String)>, Vec<Sample>);

#[derive(Default)]
struct Recorder(Mutex<Vec<Stored>>);

impl Appender for Recorder {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut st = AppendStats::default();
        for s in batch {
            st.accepted += s.samples.len() as u64;
            self.0.lock().push((
                s.labels
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
                s.samples.clone(),
            ));
        }
        Ok(st)
    }
}

fn body(series: &[proto::SeriesToEncode<'_>]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&proto::encode_write_request(series))
        .unwrap()
}

fn one(
    labels: Vec<(&'static str, &'static str)>,
) -> (Vec<(&'static str, &'static str)>, Vec<Sample>) {
    (labels, vec![Sample { t: 1, v: 1.0 }])
}

const CT: Option<&str> = Some("application/x-protobuf");
const CE: Option<&str> = Some("snappy");

#[test]
fn stores_valid_series_sorted_without_empty_values() {
    let r = Recorder::default();
    let b = body(&[one(vec![("job", "a"), ("__name__", "up"), ("env", "")])]);
    let st = receive(&r, CT, CE, &b, Limits::default()).unwrap();
    assert_eq!(st.stats.accepted, 1);
    let got = r.0.lock();
    assert_eq!(
        got[0].0,
        vec![
            ("__name__".to_string(), "up".to_string()),
            ("job".into(), "a".into())
        ]
    );
}

#[test]
fn each_label_problem_is_named_and_the_rest_is_kept() {
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("__name__", "up"), ("", "x")], "empty label name"),
        (vec![("job", "x")], "has no metric name"),
        (
            vec![("__name__", "up"), ("job", "a"), ("job", "b")],
            "duplicate label name \"job\"",
        ),
        (vec![("__name__", "9up")], "invalid metric name \"9up\""),
        (
            vec![("__name__", "up"), ("bad-name", "x")],
            "invalid label name \"bad-name\"",
        ),
    ];
    for (labels, want) in cases {
        let r = Recorder::default();
        let b = body(&[one(labels.clone()), one(vec![("__name__", "ok")])]);
        let err = receive(&r, CT, CE, &b, Limits::default()).unwrap_err();
        assert_eq!(err.status(), 400);
        let msg = err.to_string();
        assert!(msg.contains(want), "{labels:?}: {msg}");
        assert!(msg.contains("1 samples were stored"), "{msg}");
        assert_eq!(r.0.lock().len(), 1, "the valid series is kept");
    }
}

#[test]
fn invalid_utf8_is_rejected() {
    let raw = proto::encode_write_request(&[one(vec![("__name__", "up"), ("job", "XX")])]);
    let pos = raw.windows(2).position(|w| w == b"XX").unwrap();
    let mut raw = raw;
    raw[pos] = 0xff;
    let b = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let err = receive(&Recorder::default(), CT, CE, &b, Limits::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("invalid UTF-8 in the value of label \"job\""),
        "{err}"
    );
}

const CT2: Option<&str> = Some("application/x-protobuf;proto=io.prometheus.write.v2.Request");

fn body2(series: &[proto::SeriesToEncodeV2<'_>]) -> Vec<u8> {
    snap::raw::Encoder::new()
        .compress_vec(&proto::encode_write_request_v2(series))
        .unwrap()
}

#[test]
fn series_over_the_label_limits_are_rejected_and_named() {
    let r = Recorder::default();
    let limits = Limits {
        labels: crate::model::LabelLimits {
            max_labels: 3,
            max_name_len: 10,
            max_value_len: 5,
        },
        ..Limits::default()
    };
    let b = body(&[
        one(vec![("__name__", "fine"), ("job", "a")]),
        one(vec![
            ("__name__", "wide"),
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
        ]),
        one(vec![("__name__", "long"), ("job", "abcdefgh")]),
    ]);
    let e = receive(&r, CT, CE, &b, limits).unwrap_err();
    assert_eq!(e.status(), 400);
    let m = e.to_string();
    assert!(m.contains("series wide has 4 labels"), "{m}");
    assert!(m.contains("1 more invalid series"), "{m}");
    assert!(m.contains("1 samples were stored"), "{m}");
    assert_eq!(r.0.lock().len(), 1, "the good series is stored");
}

#[test]
fn remote_write_2_symbols_created_timestamps_and_negotiation() {
    assert_eq!(check_headers(CT, CE).unwrap(), Version::V1);
    assert_eq!(check_headers(None, None).unwrap(), Version::V1);
    assert_eq!(check_headers(CT2, CE).unwrap(), Version::V2);
    assert_eq!(
        check_headers(
            Some("application/x-protobuf;proto=prometheus.WriteRequest"),
            CE
        )
        .unwrap(),
        Version::V1
    );
    let r = Recorder::default();
    let s = |t, v| Sample { t, v };
    let b = body2(&[
        (
            vec![("__name__", "http_requests_total"), ("job", "api")],
            vec![s(2000, 5.0), s(3000, 7.0)],
            1500,
            1,
        ),
        (
            vec![("__name__", "temp"), ("job", "api")],
            vec![s(2000, 21.5)],
            0,
            2,
        ),
    ]);
    let got = receive(&r, CT2, CE, &b, Limits::default()).unwrap();
    assert_eq!(got.samples_written, 3);
    let stored = r.0.lock().clone();
    // The created timestamp becomes a zero before the counter's first sample.
    assert_eq!(stored[0].1, vec![s(1500, 0.0)]);
    assert_eq!(
        stored[0].0[0],
        ("__name__".to_string(), "http_requests_total".to_string())
    );
    assert_eq!(stored[1].1, vec![s(2000, 5.0), s(3000, 7.0)]);
    assert_eq!(stored[2].0[0].1, "temp");
    // The same bytes as 1.0 are not a 2.0 request, and bad references are named.
    let v1 = body(&[one(vec![("__name__", "up")])]);
    assert_eq!(
        receive(&r, CT2, CE, &v1, Limits::default())
            .unwrap_err()
            .status(),
        400
    );
    let mut raw =
        proto::encode_write_request_v2(&[(vec![("__name__", "x")], vec![s(1, 1.0)], 0, 0)]);
    // Point the value at symbol 9 (there are 3).
    let at = raw.iter().rposition(|b| *b == 2).unwrap();
    raw[at] = 9;
    let bad = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
    let e = receive(&r, CT2, CE, &bad, Limits::default()).unwrap_err();
    assert!(e.to_string().contains("symbol 9"), "{e}");
}

#[test]
fn header_and_body_errors() {
    let r = Recorder::default();
    let b = body(&[one(vec![("__name__", "up")])]);
    let e = receive(&r, Some("application/json"), CE, &b, Limits::default()).unwrap_err();
    assert_eq!(e.status(), 415);
    assert!(e.to_string().contains("application/json"));
    let e = receive(&r, CT, Some("gzip"), &b, Limits::default()).unwrap_err();
    assert_eq!(e.status(), 415);
    let e = receive(
        &r,
        Some("application/x-protobuf;proto=io.prometheus.write.v3.Request"),
        CE,
        &b,
        Limits::default(),
    )
    .unwrap_err();
    assert_eq!(e.status(), 415);
    assert!(e.to_string().contains("v3"), "{e}");
    let e = receive(
        &r,
        CT,
        CE,
        &b,
        Limits {
            max_body: 3,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.status(), 413);
    let e = receive(&r, CT, CE, b"not snappy at all", Limits::default()).unwrap_err();
    assert!(e.to_string().contains("snappy"), "{e}");
    let not_proto = snap::raw::Encoder::new()
        .compress_vec(b"\x0a\xff\xff\xff")
        .unwrap();
    let e = receive(&r, CT, CE, &not_proto, Limits::default()).unwrap_err();
    assert!(e.to_string().contains("protobuf"), "{e}");
    let bomb = snap::raw::Encoder::new()
        .compress_vec(&vec![0u8; 10_000])
        .unwrap();
    let e = receive(
        &r,
        CT,
        CE,
        &bomb,
        Limits {
            max_decoded: 1000,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("above the limit"), "{e}");
    assert!(
        r.0.lock().is_empty(),
        "nothing stored from rejected requests"
    );
    // Missing headers are tolerated.
    receive(&r, None, None, &b, Limits::default()).unwrap();
}
