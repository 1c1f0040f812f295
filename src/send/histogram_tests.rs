//! Native histograms on the sending side: WAL histogram records become items only with
//! `send_native_histograms`, and a batch of them (with float samples of the same series)
//! encodes into 1.0 and 2.0 bodies that decode back to the same samples, integer as integer
//! and float as float.

use super::encode::{Counts, Grouped, Item, Value};
use super::queue::to_send;
use crate::config::RemoteWriteConfig;
use crate::model::{
    CounterResetHint, FloatHistogram, Histogram, HistogramSample, HistogramValue, Labels, Sample,
    Span,
};
use crate::remote::proto::{decode_write_request, decode_write_request_v2, DecodedSeries};
use crate::tsdb::wal::{parse_records, Encoder, Record};

fn config(extra: &str) -> RemoteWriteConfig {
    serde_yaml::from_str(&format!("url: http://127.0.0.1:1/write\n{extra}"))
        .expect("a valid remote_write entry")
}

fn span(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

/// Histograms of every kind the sender must carry: integer and float, schemas −4, 0, 8 and
/// −53, every reset hint, a stale marker.
fn samples() -> Vec<HistogramSample> {
    let int = |schema, hint| Histogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold: 0.001,
        zero_count: 1,
        count: 7,
        sum: 12.5,
        positive_spans: vec![span(-1, 2), span(2, 1)],
        positive_buckets: vec![2, -1, 1],
        negative_spans: vec![span(0, 1)],
        negative_buckets: vec![2],
        custom_values: Vec::new(),
    };
    let float = |schema, hint| FloatHistogram {
        counter_reset_hint: hint,
        schema,
        zero_threshold: 0.25,
        zero_count: 0.5,
        count: 3.75,
        sum: -1.25,
        positive_spans: vec![span(3, 2)],
        positive_buckets: vec![1.25, 2.0],
        negative_spans: Vec::new(),
        negative_buckets: Vec::new(),
        custom_values: Vec::new(),
    };
    let nhcb = Histogram {
        schema: -53,
        count: 3,
        sum: 1.5,
        positive_spans: vec![span(0, 1), span(1, 1)],
        positive_buckets: vec![1, 1],
        custom_values: vec![0.5, 1.0, 2.5],
        ..Histogram::default()
    };
    let stale = FloatHistogram {
        sum: crate::model::stale_nan(),
        ..FloatHistogram::default()
    };
    let values = vec![
        HistogramValue::Int(int(-4, CounterResetHint::Unknown)),
        HistogramValue::Int(int(0, CounterResetHint::CounterReset)),
        HistogramValue::Float(float(8, CounterResetHint::NotCounterReset)),
        HistogramValue::Float(float(2, CounterResetHint::Gauge)),
        HistogramValue::Int(nhcb.clone()),
        HistogramValue::Float(nhcb.to_float()),
        HistogramValue::Float(stale),
    ];
    values
        .into_iter()
        .enumerate()
        .map(|(i, h)| HistogramSample {
            t: 1000 * (i as i64 + 1),
            h,
        })
        .collect()
}

/// The WAL bytes of a float-samples record and a histograms record for series 1 and 2.
fn wal_bytes(hs: &[HistogramSample]) -> Vec<u8> {
    let mut e = Encoder::default();
    e.samples(&[(1, 500, 1.5), (2, 600, 2.5)]);
    let with_ids: Vec<(u64, &HistogramSample)> = hs
        .iter()
        .enumerate()
        .map(|(i, s)| (1 + (i as u64 % 2), s))
        .collect();
    e.histograms(with_ids);
    e.buf
}

fn labels_of(id: u64) -> Labels {
    Labels::from_pairs([
        ("__name__", "lat_seconds"),
        ("id", if id == 1 { "a" } else { "b" }),
    ])
}

/// The items a sender with `extra` settings makes of the WAL bytes.
fn items(extra: &str, wal: &[u8]) -> Vec<Item> {
    let cfg = config(extra);
    let (records, used) = parse_records(wal);
    assert_eq!(used, wal.len(), "every record parses");
    assert!(records.iter().any(|r| matches!(r, Record::Histograms(_))));
    records
        .into_iter()
        .filter_map(|r| to_send(r, &cfg))
        .flatten()
        .map(|(id, t, value)| Item {
            labels: labels_of(id),
            t,
            value,
            seg: 0,
        })
        .collect()
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("UTF-8")
}

/// Checks decoded series against what was written: series "a" holds the float 1.5 and the
/// even-numbered histograms, "b" the float 2.5 and the others, bit for bit.
fn check(decoded: &[DecodedSeries<'_>], hs: &[HistogramSample], what: &str) {
    assert_eq!(decoded.len(), 2, "{what}");
    for (k, d) in decoded.iter().enumerate() {
        let id = d
            .labels
            .iter()
            .find(|(n, _)| *n == b"id")
            .map(|x| text(x.1));
        assert_eq!(id, Some(if k == 0 { "a" } else { "b" }), "{what}");
        assert_eq!(
            d.samples,
            vec![Sample {
                t: 500 + 100 * k as i64,
                v: 1.5 + k as f64
            }],
            "{what}"
        );
        let want: Vec<&HistogramSample> = hs.iter().skip(k).step_by(2).collect();
        assert_eq!(d.histograms.len(), want.len(), "{what}");
        for (got, want) in d.histograms.iter().zip(want) {
            assert_eq!(got.t, want.t, "{what}");
            assert!(
                got.h.same_bits(&want.h),
                "{what}: {:?} came back as {:?}",
                want.h,
                got.h
            );
        }
    }
}

#[test]
fn wal_histograms_encode_into_1_0_and_2_0_bodies_that_decode_back() {
    let hs = samples();
    let wal = wal_bytes(&hs);
    let items = items("send_native_histograms: true\n", &wal);
    assert_eq!(
        Counts::of(&items),
        Counts {
            samples: 2,
            exemplars: 0,
            histograms: hs.len() as u64
        }
    );
    let refs: Vec<&Item> = items.iter().collect();
    let grouped = Grouped::new(&refs);

    let v1 = decode_write_request(&grouped.v1()[..]).expect("a 1.0 body");
    let decoded: Vec<DecodedSeries<'_>> = v1.timeseries.iter().map(|t| t.decoded()).collect();
    check(&decoded, &hs, "1.0");
    // Integer histograms travel with integer counts and deltas, float ones with float counts.
    let first = &v1.timeseries[0].histograms[0];
    assert!(!first.is_float() && !first.positive_deltas.is_empty());
    assert!(first.positive_counts.is_empty());
    let float = &v1.timeseries[0].histograms[1];
    assert!(float.is_float() && float.positive_deltas.is_empty());
    assert_eq!(float.positive_counts, vec![1.25, 2.0]);

    let v2 = decode_write_request_v2(&grouped.v2(|_| None)[..]).expect("a 2.0 body");
    let series = v2.decoded_series().expect("symbols resolve");
    let decoded: Vec<DecodedSeries<'_>> = series.into_iter().map(|s| s.series).collect();
    check(&decoded, &hs, "2.0");
}

#[test]
fn histograms_stay_home_without_send_native_histograms() {
    let hs = samples();
    let wal = wal_bytes(&hs);
    for extra in ["", "send_native_histograms: false\n"] {
        let items = items(extra, &wal);
        assert_eq!(
            Counts::of(&items),
            Counts {
                samples: 2,
                exemplars: 0,
                histograms: 0
            },
            "{extra:?}"
        );
        assert!(items.iter().all(|i| matches!(i.value, Value::Sample(_))));
    }
}
