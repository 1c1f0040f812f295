//! Native histograms received over remote write 1.0 and 2.0: integer and float forms, every
//! schema, reset hints, created timestamps, and each validation rule broken once (named with
//! its series, the rest of the request stored).

use super::proto::{encode_v1, encode_v2, SeriesV1, SeriesV2};
use super::*;
use crate::model::{
    stale_nan, CounterResetHint, FloatHistogram, Histogram, HistogramValue, Sample, Span,
};
use parking_lot::Mutex;

/// Records what the receiver stores, by series (`{name="value", ...}`).
#[derive(Default)]
struct Recorder {
    floats: Mutex<Vec<(String, Vec<Sample>)>>,
    histograms: Mutex<Vec<(String, Vec<HistogramSample>)>>,
    /// Histogram samples at or before this time are counted out of order.
    ooo_before: Option<i64>,
}

impl Appender for Recorder {
    fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut st = AppendStats::default();
        for s in batch {
            st.accepted += s.samples.len() as u64;
            self.floats
                .lock()
                .push((series_text(&s.labels), s.samples.clone()));
        }
        Ok(st)
    }

    fn append_histograms(&self, batch: &[HistogramInput<'_>]) -> Result<AppendStats, StorageError> {
        let mut st = AppendStats::default();
        for s in batch {
            let kept: Vec<HistogramSample> = s
                .histograms
                .iter()
                .filter(|h| self.ooo_before.is_none_or(|t| h.t > t))
                .cloned()
                .collect();
            st.out_of_order += (s.histograms.len() - kept.len()) as u64;
            st.accepted += kept.len() as u64;
            self.histograms.lock().push((series_text(&s.labels), kept));
        }
        Ok(st)
    }
}

impl Recorder {
    fn histograms_of(&self, series: &str) -> Vec<HistogramSample> {
        self.histograms
            .lock()
            .iter()
            .filter(|(s, _)| s == series)
            .flat_map(|(_, h)| h.clone())
            .collect()
    }
}

const CT1: Option<&str> = Some("application/x-protobuf");
const CT2: Option<&str> = Some("application/x-protobuf;proto=io.prometheus.write.v2.Request");
const CE: Option<&str> = Some("snappy");

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

/// A valid integer histogram with negative, zero and positive buckets.
fn int_h(schema: i32, hint: CounterResetHint) -> Histogram {
    Histogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold: 0.001,
        zero_count: 2,
        count: 14,
        sum: 21.75,
        positive_spans: vec![span(-2, 2), span(3, 1)],
        positive_buckets: vec![1, 2, -1],
        negative_spans: vec![span(0, 2)],
        negative_buckets: vec![3, 0],
        custom_values: Vec::new(),
    }
}

/// A valid float histogram (fractional counts).
fn float_h(schema: i32, hint: CounterResetHint) -> FloatHistogram {
    FloatHistogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold: 0.5,
        zero_count: 1.5,
        count: 9.25,
        sum: -3.5,
        positive_spans: vec![span(1, 3)],
        positive_buckets: vec![0.25, 4.0, 1.0],
        negative_spans: vec![span(-1, 1)],
        negative_buckets: vec![2.5],
        custom_values: Vec::new(),
    }
}

/// A valid integer custom-bucket (schema −53) histogram.
fn nhcb_int() -> Histogram {
    Histogram {
        schema: -53,
        count: 6,
        sum: 4.0,
        positive_spans: vec![span(0, 2), span(1, 1)],
        positive_buckets: vec![1, 2, -1],
        custom_values: vec![0.1, 0.5, 1.0, 5.0],
        ..Histogram::default()
    }
}

/// A valid custom-bucket histogram of either form.
fn nhcb(float: bool) -> HistogramValue {
    let h = nhcb_int();
    if float {
        HistogramValue::Float(h.to_float())
    } else {
        HistogramValue::Int(h)
    }
}

/// A series of a request: labels, float samples, histogram samples.
type Series<'a> = (Vec<(&'a str, &'a str)>, Vec<Sample>, Vec<HistogramSample>);

/// A request body and its Content-Type: `series` as 1.0 or 2.0.
fn request(v2: bool, series: &[Series<'_>], created: i64) -> (Vec<u8>, Option<&'static str>) {
    let raw = if v2 {
        let s: Vec<SeriesV2<'_>> = series
            .iter()
            .map(|(l, f, h)| SeriesV2 {
                labels: l.clone(),
                samples: f.clone(),
                histograms: h.clone(),
                created,
                ..SeriesV2::default()
            })
            .collect();
        encode_v2(&s)
    } else {
        let s: Vec<SeriesV1<'_>> = series
            .iter()
            .map(|(l, f, h)| SeriesV1 {
                labels: l.clone(),
                samples: f.clone(),
                histograms: h.clone(),
                ..SeriesV1::default()
            })
            .collect();
        encode_v1(&s)
    };
    let body = snap::raw::Encoder::new()
        .compress_vec(&raw)
        .expect("snappy compresses");
    (body, if v2 { CT2 } else { CT1 })
}

const HINTS: [CounterResetHint; 4] = [
    CounterResetHint::Unknown,
    CounterResetHint::CounterReset,
    CounterResetHint::NotCounterReset,
    CounterResetHint::Gauge,
];

#[test]
fn integer_and_float_histograms_of_every_schema_and_hint_are_stored_as_sent() {
    for v2 in [false, true] {
        let mut sent: Vec<(String, Vec<HistogramSample>)> = Vec::new();
        let mut names = Vec::new();
        for schema in (-4..=8).chain([-53]) {
            names.push(format!("h_schema_{}", schema + 100));
        }
        let mut series = Vec::new();
        for (i, schema) in (-4..=8).chain([-53]).enumerate() {
            let mut list = Vec::new();
            for (k, hint) in HINTS.iter().enumerate() {
                let t = 1000 * (k as i64 + 1);
                let h = if schema == -53 {
                    nhcb(k % 2 == 1)
                } else if k % 2 == 0 {
                    HistogramValue::Int(int_h(schema, *hint))
                } else {
                    HistogramValue::Float(float_h(schema, *hint))
                };
                let h = match h {
                    HistogramValue::Int(mut x) => {
                        x.counter_reset_hint = *hint;
                        HistogramValue::Int(x)
                    }
                    HistogramValue::Float(mut x) => {
                        x.counter_reset_hint = *hint;
                        HistogramValue::Float(x)
                    }
                };
                list.push(HistogramSample { t, h });
            }
            sent.push((
                format!("{{__name__={:?}, job=\"nh\"}}", names[i]),
                list.clone(),
            ));
            series.push((
                vec![("__name__", names[i].as_str()), ("job", "nh")],
                vec![Sample {
                    t: 500,
                    v: i as f64,
                }],
                list,
            ));
        }
        let r = Recorder::default();
        let (body, ct) = request(v2, &series, 0);
        let got = receive(&r, ct, CE, &body, Limits::default()).unwrap();
        assert_eq!(got.samples_written, 14, "v2={v2}: float samples apart");
        assert_eq!(got.histograms.accepted, 14 * 4, "v2={v2}");
        for (name, want) in &sent {
            let stored = r.histograms_of(name);
            assert_eq!(stored.len(), want.len(), "v2={v2} {name}");
            for (a, b) in stored.iter().zip(want) {
                assert_eq!(a.t, b.t);
                assert!(a.h.same_bits(&b.h), "v2={v2} {name}: {a:?} != {b:?}");
            }
        }
        // Integer stays integer, float stays float, hints kept.
        let s0 = r.histograms_of(&sent[4].0);
        assert!(matches!(s0[0].h, HistogramValue::Int(_)));
        assert!(matches!(s0[1].h, HistogramValue::Float(_)));
        let hints: Vec<CounterResetHint> = s0.iter().map(|s| s.h.counter_reset_hint()).collect();
        assert_eq!(hints, HINTS.to_vec());
        assert_eq!(r.histograms_of(&sent[13].0)[1].h.schema(), -53);
    }
}

/// One broken histogram per rule: (name, histogram, what the message must say).
fn broken() -> Vec<(&'static str, HistogramValue, &'static str)> {
    let i = |h: Histogram| HistogramValue::Int(h);
    let f = |h: FloatHistogram| HistogramValue::Float(h);
    let ok_i = int_h(0, CounterResetHint::Unknown);
    let ok_f = float_h(0, CounterResetHint::Unknown);
    let c_i = nhcb_int();
    let c_f = c_i.to_float();
    vec![
        (
            "schema",
            i(Histogram {
                schema: 9,
                ..ok_i.clone()
            }),
            "invalid schema",
        ),
        (
            "span_offset",
            f(FloatHistogram {
                positive_spans: vec![span(0, 2), span(-1, 1)],
                ..ok_f.clone()
            }),
            "span whose offset is negative",
        ),
        (
            "spans_vs_buckets",
            i(Histogram {
                positive_spans: vec![span(0, 4)],
                ..ok_i.clone()
            }),
            "spans specify different number of buckets than provided",
        ),
        (
            "negative_bucket",
            i(Histogram {
                negative_buckets: vec![3, -4],
                ..ok_i.clone()
            }),
            "bucket whose observation count is negative",
        ),
        (
            "negative_float_bucket",
            f(FloatHistogram {
                positive_buckets: vec![0.25, -4.0, 1.0],
                ..ok_f.clone()
            }),
            "bucket whose observation count is negative",
        ),
        (
            "negative_zero_count",
            f(FloatHistogram {
                zero_count: -1.0,
                ..ok_f.clone()
            }),
            "zero bucket has observation count of -1",
        ),
        (
            "negative_count",
            f(FloatHistogram {
                count: -2.0,
                ..ok_f.clone()
            }),
            "observation count is negative",
        ),
        (
            "count_mismatch",
            i(Histogram {
                count: 13,
                ..ok_i.clone()
            }),
            "observation count should equal the number of observations found in the buckets",
        ),
        (
            "count_too_small_with_nan",
            i(Histogram {
                count: 3,
                sum: f64::NAN,
                ..ok_i.clone()
            }),
            "should be at least the number of observations found in the buckets",
        ),
        (
            "custom_nan",
            i(Histogram {
                custom_values: vec![0.1, f64::NAN, 1.0, 5.0],
                ..c_i.clone()
            }),
            "custom bounds must not be NaN",
        ),
        (
            "custom_order",
            f(FloatHistogram {
                custom_values: vec![0.1, 0.5, 0.5, 5.0],
                ..c_f.clone()
            }),
            "strictly increasing order",
        ),
        (
            "custom_inf",
            i(Histogram {
                custom_values: vec![0.1, 0.5, 1.0, f64::INFINITY],
                ..c_i.clone()
            }),
            "custom bounds must be finite",
        ),
        (
            "custom_too_few",
            f(FloatHistogram {
                custom_values: vec![0.1, 0.5],
                ..c_f.clone()
            }),
            "custom bounds are too few",
        ),
        (
            "custom_zero_count",
            f(FloatHistogram {
                zero_count: 1.0,
                count: 7.0,
                ..c_f.clone()
            }),
            "must have zero count of 0",
        ),
        (
            "custom_zero_threshold",
            i(Histogram {
                zero_threshold: 0.001,
                ..c_i.clone()
            }),
            "must have zero threshold of 0",
        ),
        (
            "custom_negative_spans",
            i(Histogram {
                negative_spans: vec![span(0, 1)],
                negative_buckets: vec![1],
                count: 7,
                ..c_i.clone()
            }),
            "must not have negative spans",
        ),
        (
            "custom_negative_buckets",
            f(FloatHistogram {
                negative_buckets: vec![1.0],
                ..c_f.clone()
            }),
            "must not have negative buckets",
        ),
        (
            "exponential_with_bounds",
            i(Histogram {
                custom_values: vec![1.0],
                ..ok_i
            }),
            "must not have custom bounds",
        ),
    ]
}

#[test]
fn each_validation_rule_broken_once_names_series_and_rule_and_keeps_the_rest() {
    let good = HistogramSample {
        t: 2000,
        h: HistogramValue::Int(int_h(3, CounterResetHint::NotCounterReset)),
    };
    for v2 in [false, true] {
        for (rule, h, want) in broken() {
            assert!(h.validate().is_err(), "{rule} must be invalid");
            let r = Recorder::default();
            let (body, ct) = request(
                v2,
                &[
                    (
                        vec![("__name__", "broken"), ("rule", rule)],
                        vec![],
                        vec![HistogramSample { t: 1000, h }],
                    ),
                    (
                        vec![("__name__", "fine"), ("job", "a")],
                        vec![Sample { t: 1000, v: 1.0 }],
                        vec![good.clone()],
                    ),
                ],
                0,
            );
            let err = receive(&r, ct, CE, &body, Limits::default()).unwrap_err();
            assert_eq!(err.status(), 400, "{rule}");
            let msg = err.to_string();
            assert!(msg.contains(want), "v2={v2} {rule}: {msg}");
            assert!(
                msg.contains(&format!(
                    "invalid native histogram at timestamp 1000 in series {{__name__=\"broken\", rule=\"{rule}\"}}"
                )),
                "v2={v2} {rule}: {msg}"
            );
            assert!(
                msg.contains("1 samples were stored, 1 histogram samples were stored"),
                "{msg}"
            );
            let WriteError::Partial {
                histograms_written,
                stats,
                ..
            } = err
            else {
                panic!("{rule}: not a partial write")
            };
            assert_eq!((histograms_written, stats.accepted), (1, 1));
            let stored = r.histograms_of("{__name__=\"fine\", job=\"a\"}");
            assert!(
                stored.len() == 1 && stored[0].h.same_bits(&good.h),
                "{rule}"
            );
            assert!(
                r.histograms_of(&format!("{{__name__=\"broken\", rule=\"{rule}\"}}"))
                    .is_empty(),
                "{rule}: nothing of the broken series stored"
            );
            assert_eq!(r.floats.lock().len(), 1);
        }
    }
}

#[test]
fn several_invalid_histograms_are_counted_and_valid_ones_of_the_same_series_kept() {
    let r = Recorder::default();
    let ok = HistogramValue::Int(int_h(1, CounterResetHint::Unknown));
    let bad = HistogramValue::Int(Histogram {
        count: 1,
        ..int_h(1, CounterResetHint::Unknown)
    });
    let hs = vec![
        HistogramSample {
            t: 1,
            h: bad.clone(),
        },
        HistogramSample {
            t: 2,
            h: ok.clone(),
        },
        HistogramSample { t: 3, h: bad },
    ];
    let (body, ct) = request(false, &[(vec![("__name__", "mixed")], vec![], hs)], 0);
    let err = receive(&r, ct, CE, &body, Limits::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("at timestamp 1 in series {__name__=\"mixed\"}"),
        "{msg}"
    );
    assert!(msg.contains("(and 1 more invalid histograms)"), "{msg}");
    let stored = r.histograms_of("{__name__=\"mixed\"}");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].t, 2);
}

#[test]
fn histograms_of_series_with_bad_labels_are_refused_with_the_series() {
    let r = Recorder::default();
    let h = HistogramSample {
        t: 5,
        h: HistogramValue::Int(int_h(0, CounterResetHint::Unknown)),
    };
    let (body, ct) = request(
        true,
        &[
            (vec![("job", "nameless")], vec![], vec![h.clone()]),
            (vec![("__name__", "named")], vec![], vec![h]),
        ],
        0,
    );
    let msg = receive(&r, ct, CE, &body, Limits::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("has no metric name"), "{msg}");
    assert!(msg.contains("1 histogram samples were stored"), "{msg}");
    assert_eq!(r.histograms_of("{__name__=\"named\"}").len(), 1);
}

#[test]
fn stale_markers_and_out_of_order_histograms() {
    let r = Recorder {
        ooo_before: Some(1500),
        ..Recorder::default()
    };
    let stale = HistogramValue::Float(FloatHistogram {
        sum: stale_nan(),
        ..FloatHistogram::default()
    });
    let hs = vec![
        HistogramSample {
            t: 1000,
            h: HistogramValue::Int(int_h(2, CounterResetHint::Unknown)),
        },
        HistogramSample { t: 2000, h: stale },
    ];
    let (body, ct) = request(false, &[(vec![("__name__", "st")], vec![], hs)], 0);
    let err = receive(&r, ct, CE, &body, Limits::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("1 out-of-order histogram samples rejected"),
        "{msg}"
    );
    let stored = r.histograms_of("{__name__=\"st\"}");
    assert_eq!(stored.len(), 1);
    assert!(stored[0].h.is_stale(), "the stale marker passes validation");
}

#[test]
fn a_store_without_histograms_refuses_them_by_name() {
    struct FloatsOnly;
    impl Appender for FloatsOnly {
        fn append(&self, batch: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
            Ok(AppendStats {
                accepted: batch.iter().map(|s| s.samples.len() as u64).sum(),
                ..AppendStats::default()
            })
        }
    }
    let h = HistogramSample {
        t: 5,
        h: HistogramValue::Int(int_h(0, CounterResetHint::Unknown)),
    };
    let (body, ct) = request(false, &[(vec![("__name__", "x")], vec![], vec![h])], 0);
    let msg = receive(&FloatsOnly, ct, CE, &body, Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("1 histogram samples refused by the store"),
        "{msg}"
    );
}

#[test]
fn a_created_timestamp_puts_a_zero_histogram_before_the_first() {
    for float in [false, true] {
        let r = Recorder::default();
        let h = nhcb(float);
        let (body, ct) = request(
            true,
            &[(
                vec![("__name__", "ct_h")],
                vec![],
                vec![HistogramSample {
                    t: 5000,
                    h: h.clone(),
                }],
            )],
            4000,
        );
        let got = receive(&r, ct, CE, &body, Limits::default()).unwrap();
        assert_eq!(got.histograms.accepted, 1, "the zero is not counted");
        let stored = r.histograms_of("{__name__=\"ct_h\"}");
        assert_eq!(stored.len(), 2);
        assert_eq!(stored[0].t, 4000);
        let zero = &stored[0].h;
        assert_eq!(zero.count_and_sum(), (0.0, 0.0));
        assert_eq!(zero.schema(), -53);
        assert_eq!(zero.counter_reset_hint(), CounterResetHint::CounterReset);
        assert_eq!(matches!(zero, HistogramValue::Float(_)), float);
        assert!(zero.validate().is_ok());
        assert!(stored[1].h.same_bits(&h));
    }
}

#[test]
fn the_message_decides_the_form_and_unknown_hints_are_unknown() {
    use super::proto::v1;
    let mut m = v1::Histogram::from_sample(&HistogramSample {
        t: 7,
        h: HistogramValue::Float(float_h(1, CounterResetHint::Gauge)),
    });
    assert!(m.is_float());
    assert_eq!(m.reset_hint, 3);
    assert_eq!(m.timestamp, 7);
    m.reset_hint = 42;
    assert_eq!(
        m.to_sample().h.counter_reset_hint(),
        CounterResetHint::Unknown
    );
    // No count at all reads as an (empty) integer histogram, as Prometheus reads it.
    let empty = v1::Histogram {
        count: None,
        sum: 0.0,
        schema: 0,
        zero_threshold: 0.0,
        zero_count: None,
        negative_spans: vec![],
        negative_deltas: vec![],
        negative_counts: vec![],
        positive_spans: vec![],
        positive_deltas: vec![],
        positive_counts: vec![],
        reset_hint: 0,
        timestamp: 1,
        custom_values: vec![],
    };
    assert!(matches!(empty.to_sample().h, HistogramValue::Int(_)));
    assert!(empty.to_sample().h.validate().is_ok());
}
