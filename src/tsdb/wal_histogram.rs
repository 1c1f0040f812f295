//! The payload of the WAL's histogram-samples record: (series id, timestamp, histogram) with
//! ids and timestamps delta-coded as in the float samples record, then the histogram field by
//! field (form, hint, schema, zero threshold, zero count, count, sum, spans, buckets, custom
//! bounds). Integer histograms keep their delta buckets as signed varints; floats are stored as
//! their bits. Decoding never panics; a payload that does not decode is `None`.
//!
//! Uses `varint` and `model` only.

use super::varint::{put_uvarint, put_varint, Reader};
use crate::model::{
    CounterResetHint, FloatHistogram, Histogram, HistogramSample, HistogramValue, Span,
};

const FORM_INT: u8 = 0;
const FORM_FLOAT: u8 = 1;
/// No histogram in a WAL record has more spans, buckets or custom bounds than this.
const MAX_PARTS: u64 = 1 << 20;

fn hint_byte(h: CounterResetHint) -> u8 {
    match h {
        CounterResetHint::Unknown => 0,
        CounterResetHint::CounterReset => 1,
        CounterResetHint::NotCounterReset => 2,
        CounterResetHint::Gauge => 3,
    }
}

fn hint_of(b: u8) -> Option<CounterResetHint> {
    Some(match b {
        0 => CounterResetHint::Unknown,
        1 => CounterResetHint::CounterReset,
        2 => CounterResetHint::NotCounterReset,
        3 => CounterResetHint::Gauge,
        _ => return None,
    })
}

fn put_f64(b: &mut Vec<u8>, v: f64) {
    b.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn put_spans(b: &mut Vec<u8>, spans: &[Span]) {
    put_uvarint(b, spans.len() as u64);
    for s in spans {
        put_varint(b, i64::from(s.offset));
        put_uvarint(b, u64::from(s.length));
    }
}

fn put_floats(b: &mut Vec<u8>, v: &[f64]) {
    put_uvarint(b, v.len() as u64);
    for x in v {
        put_f64(b, *x);
    }
}

/// Appends the payload for `samples` (series id, sample) to `b`.
pub fn encode<'a>(b: &mut Vec<u8>, samples: impl IntoIterator<Item = (u64, &'a HistogramSample)>) {
    let (mut pid, mut pt) = (0i64, 0i64);
    for (id, s) in samples {
        put_varint(b, (id as i64).wrapping_sub(pid));
        put_varint(b, s.t.wrapping_sub(pt));
        pid = id as i64;
        pt = s.t;
        match &s.h {
            HistogramValue::Int(h) => {
                b.push(FORM_INT);
                b.push(hint_byte(h.counter_reset_hint));
                put_varint(b, i64::from(h.schema));
                put_f64(b, h.zero_threshold);
                put_uvarint(b, h.zero_count);
                put_uvarint(b, h.count);
                put_f64(b, h.sum);
                put_spans(b, &h.positive_spans);
                put_spans(b, &h.negative_spans);
                for buckets in [&h.positive_buckets, &h.negative_buckets] {
                    put_uvarint(b, buckets.len() as u64);
                    for d in buckets {
                        put_varint(b, *d);
                    }
                }
                put_floats(b, &h.custom_values);
            }
            HistogramValue::Float(h) => {
                b.push(FORM_FLOAT);
                b.push(hint_byte(h.counter_reset_hint));
                put_varint(b, i64::from(h.schema));
                put_f64(b, h.zero_threshold);
                put_f64(b, h.zero_count);
                put_f64(b, h.count);
                put_f64(b, h.sum);
                put_spans(b, &h.positive_spans);
                put_spans(b, &h.negative_spans);
                put_floats(b, &h.positive_buckets);
                put_floats(b, &h.negative_buckets);
                put_floats(b, &h.custom_values);
            }
        }
    }
}

fn f64_of(c: &mut Reader<'_>) -> Option<f64> {
    Some(f64::from_bits(u64::from_le_bytes(
        c.bytes(8)?.try_into().ok()?,
    )))
}

fn count_of(c: &mut Reader<'_>) -> Option<usize> {
    let n = c.uvarint()?;
    (n <= MAX_PARTS).then_some(n as usize)
}

fn spans_of(c: &mut Reader<'_>) -> Option<Vec<Span>> {
    let n = count_of(c)?;
    let mut out = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let offset = i32::try_from(c.varint()?).ok()?;
        let length = u32::try_from(c.uvarint()?).ok()?;
        out.push(Span { offset, length });
    }
    Some(out)
}

fn floats_of(c: &mut Reader<'_>) -> Option<Vec<f64>> {
    let n = count_of(c)?;
    let mut out = Vec::with_capacity(n.min(256));
    for _ in 0..n {
        out.push(f64_of(c)?);
    }
    Some(out)
}

fn deltas_of(c: &mut Reader<'_>) -> Option<Vec<i64>> {
    let n = count_of(c)?;
    let mut out = Vec::with_capacity(n.min(256));
    for _ in 0..n {
        out.push(c.varint()?);
    }
    Some(out)
}

/// Decodes a whole payload written by `encode`.
pub fn decode(payload: &[u8]) -> Option<Vec<(u64, HistogramSample)>> {
    let mut c = Reader::new(payload, 0);
    let mut out = Vec::new();
    let (mut id, mut t) = (0i64, 0i64);
    while !c.done() {
        id = id.wrapping_add(c.varint()?);
        t = t.wrapping_add(c.varint()?);
        let form = *c.bytes(1)?.first()?;
        let hint = hint_of(*c.bytes(1)?.first()?)?;
        let schema = i32::try_from(c.varint()?).ok()?;
        let zero_threshold = f64_of(&mut c)?;
        let h = match form {
            FORM_INT => {
                let zero_count = c.uvarint()?;
                let count = c.uvarint()?;
                let sum = f64_of(&mut c)?;
                let positive_spans = spans_of(&mut c)?;
                let negative_spans = spans_of(&mut c)?;
                let positive_buckets = deltas_of(&mut c)?;
                let negative_buckets = deltas_of(&mut c)?;
                let custom_values = floats_of(&mut c)?;
                HistogramValue::Int(Histogram {
                    counter_reset_hint: hint,
                    schema,
                    zero_threshold,
                    zero_count,
                    count,
                    sum,
                    positive_spans,
                    negative_spans,
                    positive_buckets,
                    negative_buckets,
                    custom_values,
                })
            }
            FORM_FLOAT => {
                let zero_count = f64_of(&mut c)?;
                let count = f64_of(&mut c)?;
                let sum = f64_of(&mut c)?;
                let positive_spans = spans_of(&mut c)?;
                let negative_spans = spans_of(&mut c)?;
                let positive_buckets = floats_of(&mut c)?;
                let negative_buckets = floats_of(&mut c)?;
                let custom_values = floats_of(&mut c)?;
                HistogramValue::Float(FloatHistogram {
                    counter_reset_hint: hint,
                    schema,
                    zero_threshold,
                    zero_count,
                    count,
                    sum,
                    positive_spans,
                    negative_spans,
                    positive_buckets,
                    negative_buckets,
                    custom_values,
                })
            }
            _ => return None,
        };
        out.push((id as u64, HistogramSample { t, h }));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::stale_nan;

    fn samples() -> Vec<(u64, HistogramSample)> {
        let int = Histogram {
            counter_reset_hint: CounterResetHint::CounterReset,
            schema: -4,
            zero_threshold: 1e-128,
            zero_count: 2,
            count: 9,
            sum: -3.5,
            positive_spans: vec![
                Span {
                    offset: -2,
                    length: 2,
                },
                Span {
                    offset: 3,
                    length: 1,
                },
            ],
            negative_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            positive_buckets: vec![3, -1, -2],
            negative_buckets: vec![1],
            custom_values: Vec::new(),
        };
        let float = FloatHistogram {
            counter_reset_hint: CounterResetHint::Gauge,
            schema: -53,
            count: 2.5,
            sum: stale_nan(),
            positive_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            positive_buckets: vec![0.5, 2.0],
            custom_values: vec![0.1, 1.0],
            ..Default::default()
        };
        vec![
            (
                7,
                HistogramSample {
                    t: 1_000,
                    h: HistogramValue::Int(int.clone()),
                },
            ),
            (
                3,
                HistogramSample {
                    t: -5,
                    h: HistogramValue::Float(float),
                },
            ),
            (
                u64::MAX,
                HistogramSample {
                    t: i64::MAX,
                    h: HistogramValue::Int(int),
                },
            ),
        ]
    }

    #[test]
    fn roundtrips_bit_exact() {
        let want = samples();
        let mut b = Vec::new();
        encode(&mut b, want.iter().map(|(id, s)| (*id, s)));
        let got = decode(&b).expect("decodes");
        assert_eq!(got.len(), want.len());
        for ((gi, gs), (wi, ws)) in got.iter().zip(&want) {
            assert_eq!((gi, gs.t), (wi, ws.t));
            assert!(gs.h.same_bits(&ws.h), "{gs:?} != {ws:?}");
        }
    }

    #[test]
    fn every_truncation_is_refused_without_panic() {
        let mut b = Vec::new();
        let s = samples();
        encode(&mut b, s.iter().map(|(id, s)| (*id, s)));
        for n in 0..b.len() {
            // A prefix may end on a sample boundary (then it decodes to fewer samples).
            if let Some(v) = decode(&b[..n]) {
                assert!(v.len() < s.len());
            }
        }
        let mut bad = b.clone();
        bad[3] = 9; // the first sample's form byte (after id 7 and t 1000 as varints)
        assert!(decode(&bad).is_none());
    }
}
