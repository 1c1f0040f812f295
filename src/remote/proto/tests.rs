//! Protobuf round trips, unknown fields, and garbage that must be an error, not a panic.

use super::*;

fn labels_of<'a>(d: &DecodedSeries<'a>) -> Vec<(&'a [u8], &'a [u8])> {
    d.labels.clone()
}

#[test]
fn roundtrip_with_negative_timestamps_and_nan_payloads() {
    let samples = vec![
        Sample { t: -1000, v: 1.5 },
        Sample {
            t: 1_700_000_000_000,
            v: f64::from_bits(0x7ff0_0000_0000_0002),
        },
    ];
    let body = encode_write_request(&[(vec![("__name__", "up"), ("job", "é")], samples.clone())]);
    let req = decode_write_request(Bytes::from(body)).unwrap();
    assert_eq!(req.timeseries.len(), 1);
    let got = req.timeseries[0].decoded();
    assert_eq!(
        labels_of(&got),
        vec![
            (&b"__name__"[..], &b"up"[..]),
            (&b"job"[..], "é".as_bytes())
        ]
    );
    assert_eq!(got.samples.len(), 2);
    assert_eq!(got.samples[0], samples[0]);
    assert_eq!(got.samples[1].t, samples[1].t);
    assert_eq!(got.samples[1].v.to_bits(), samples[1].v.to_bits());
}

#[test]
fn unknown_fields_are_skipped() {
    let mut body =
        encode_write_request(&[(vec![("__name__", "x")], vec![Sample { t: 1, v: 2.0 }])]);
    // metadata (field 3) and an unknown varint field 9.
    body.extend_from_slice(&[0x1a, 0x02, 0x08, 0x01, 0x48, 0x05]);
    let req = decode_write_request(&body[..]).unwrap();
    assert_eq!(req.timeseries.len(), 1);
    assert_eq!(req.metadata.len(), 1);
    assert_eq!(req.metadata[0].r#type, 1);
}

#[test]
fn metadata_roundtrips() {
    let body = encode_metadata(&[
        (1, "http_requests", "Requests.", ""),
        (2, "temp", "", "celsius"),
    ]);
    let req = decode_write_request(&body[..]).unwrap();
    let got: Vec<String> = req
        .metadata
        .iter()
        .map(|m| {
            let text = |b: &Bytes| String::from_utf8_lossy(b).into_owned();
            format!(
                "{} {} {:?} {:?}",
                m.r#type,
                text(&m.metric_family_name),
                text(&m.help),
                text(&m.unit)
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            "1 http_requests \"Requests.\" \"\"",
            "2 temp \"\" \"celsius\""
        ]
    );
}

#[test]
fn v2_roundtrips_through_the_symbols_table() {
    let body = encode_v2(&[
        SeriesV2 {
            labels: vec![("__name__", "reqs_total"), ("job", "api")],
            samples: vec![Sample { t: 5, v: 1.0 }],
            created: 3,
            metric_type: 1,
            help: "Requests.",
            unit: "",
            exemplars: Vec::new(),
            histograms: Vec::new(),
        },
        SeriesV2 {
            labels: vec![("__name__", "temp"), ("job", "api")],
            samples: vec![Sample { t: 6, v: 2.0 }],
            ..SeriesV2::default()
        },
    ]);
    let req = decode_write_request_v2(Bytes::from(body)).unwrap();
    // "", __name__, reqs_total, job, api, Requests., temp: "job" and "api" are shared.
    assert_eq!(req.symbols.len(), 7);
    let got = req.decoded_series().unwrap();
    assert_eq!(
        got[0].series.labels[0],
        (&b"__name__"[..], &b"reqs_total"[..])
    );
    assert_eq!(got[0].created, 3);
    assert_eq!(got[0].metric_type, 1);
    assert_eq!(got[0].help, b"Requests.");
    assert_eq!(got[0].unit, b"");
    assert_eq!(got[1].series.labels[1], (&b"job"[..], &b"api"[..]));
    assert_eq!(got[1].series.samples, vec![Sample { t: 6, v: 2.0 }]);
    assert_eq!(got[1].metric_type, 0);
}

fn exemplar(trace: &str, value: f64, t: i64) -> Exemplar {
    Exemplar {
        labels: Labels::from_pairs([("trace_id", trace), ("span_id", "s1")]),
        value,
        t,
    }
}

fn strings<'a>(pairs: &[(&'a [u8], &'a [u8])]) -> Vec<(&'a str, &'a str)> {
    pairs
        .iter()
        .map(|(n, v)| {
            (
                std::str::from_utf8(n).unwrap(),
                std::str::from_utf8(v).unwrap(),
            )
        })
        .collect()
}

#[test]
fn exemplars_roundtrip_in_both_versions() {
    let list = vec![exemplar("abc", 1.5, 1000), exemplar("def", -2.0, 2000)];
    let series = vec![
        (vec![("__name__", "a_total")], vec![Sample { t: 1, v: 2.0 }]),
        (vec![("__name__", "b_total")], vec![Sample { t: 1, v: 2.0 }]),
    ];
    let v1 = encode_write_request_with_exemplars(&series, std::slice::from_ref(&list));
    let req = decode_write_request(Bytes::from(v1)).unwrap();
    let got = req.timeseries[0].decoded().exemplars;
    assert_eq!(got.len(), 2);
    assert_eq!(
        strings(&got[0].labels),
        [("span_id", "s1"), ("trace_id", "abc")]
    );
    assert_eq!((got[1].value, got[1].t), (-2.0, 2000));
    assert!(req.timeseries[1].decoded().exemplars.is_empty());

    let v2 = encode_v2(&[SeriesV2 {
        labels: vec![("__name__", "a_total"), ("span_id", "s1")],
        samples: vec![Sample { t: 1, v: 2.0 }],
        exemplars: list,
        ..SeriesV2::default()
    }]);
    let req = decode_write_request_v2(Bytes::from(v2)).unwrap();
    // "", __name__, a_total, span_id, s1, trace_id, abc, def: exemplar labels share symbols.
    assert_eq!(req.symbols.len(), 8);
    let got = req.decoded_series().unwrap();
    let ex = &got[0].series.exemplars;
    assert_eq!(
        strings(&ex[1].labels),
        [("span_id", "s1"), ("trace_id", "def")]
    );
    assert_eq!((ex[0].value, ex[0].t), (1.5, 1000));

    let bad = v2::Request {
        symbols: vec![Bytes::new(), Bytes::from_static(b"__name__")],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 1],
            exemplars: vec![v2::Exemplar {
                labels_refs: vec![1, 7],
                ..v2::Exemplar::default()
            }],
            ..v2::TimeSeries::default()
        }],
        ..v2::Request::default()
    };
    let e = bad.decoded_series().unwrap_err();
    assert!(
        e.to_string()
            .contains("an exemplar's label value refers to symbol 7"),
        "{e}"
    );
}

#[test]
fn v2_refuses_a_1_0_body_bad_symbols_and_odd_refs() {
    let v1 = encode_write_request(&[(vec![("__name__", "x")], vec![Sample { t: 1, v: 2.0 }])]);
    let e = decode_write_request_v2(&v1[..]).unwrap_err();
    assert!(
        e.to_string().contains("proto=prometheus.WriteRequest"),
        "{e}"
    );
    let bad_first = v2::Request {
        symbols: vec![Bytes::from_static(b"x")],
        ..v2::Request::default()
    }
    .encode_to_vec();
    let e = decode_write_request_v2(&bad_first[..]).unwrap_err();
    assert!(e.to_string().contains("empty string"), "{e}");
    let odd = v2::Request {
        symbols: vec![Bytes::new(), Bytes::from_static(b"__name__")],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1],
            ..v2::TimeSeries::default()
        }],
        ..v2::Request::default()
    };
    let e = odd.decoded_series().unwrap_err();
    assert!(e.to_string().contains("odd number"), "{e}");
    let far = v2::Request {
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 9],
            ..v2::TimeSeries::default()
        }],
        ..odd
    };
    let e = far.decoded_series().unwrap_err();
    assert!(
        e.to_string().contains("a label value refers to symbol 9"),
        "{e}"
    );
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    let good = encode_write_request(&[(vec![("__name__", "x")], vec![Sample { t: 1, v: 2.0 }; 3])]);
    for len in 0..good.len() {
        let _ = decode_write_request(&good[..len]);
        let _ = decode_write_request_v2(&good[..len]);
    }
    assert!(decode_write_request(&good[..good.len() - 1]).is_err());
    let mut x = 99u64;
    for _ in 0..5000 {
        let mut b = good.clone();
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        let i = (x >> 33) as usize % b.len();
        b[i] = (x >> 20) as u8;
        let _ = decode_write_request(Bytes::from(b.clone()));
        let _ = decode_write_request_v2(&b[..]).map(|r| r.decoded_series().map(drop));
    }
    let err = decode_write_request(&[0x0a, 0xff, 0xff, 0x01][..]).unwrap_err();
    assert!(
        err.to_string().contains("invalid protobuf WriteRequest"),
        "{err}"
    );
    assert!(
        decode_write_request(&[0x0b][..]).is_err(),
        "wire type 3 (groups) is rejected"
    );
}
