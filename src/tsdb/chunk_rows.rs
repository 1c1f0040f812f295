//! The `data` blob of a persisted chunk row, whatever its sample kind. The first byte names the
//! format: 0 and 1 are `chunkenc`'s float formats (XOR, decimal); 2 is an integer histogram
//! chunk and 3 a float histogram chunk (Prometheus's encoding numbers), followed by the chunk
//! bytes exactly as encoded (header included), so a reopened chunk appends bit-exactly.
//! Decoding never panics: damaged bytes are `None`.
//!
//! Uses `chunkenc`, `histogram_head`, `model`.

use super::chunkenc::decode_persisted;
use super::histogram_head::{decode_chunk, HistForm};
use crate::model::HistogramSample;

/// Format byte of an integer histogram chunk row.
pub const FMT_HISTOGRAM: u8 = 2;
/// Format byte of a float histogram chunk row.
pub const FMT_FLOAT_HISTOGRAM: u8 = 3;

/// The samples of a persisted row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowSamples {
    Floats(Vec<(i64, f64)>),
    Histograms(Vec<HistogramSample>),
}

/// The row bytes of a histogram chunk.
pub fn encode_histogram_row(form: HistForm, chunk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len() + 1);
    out.push(match form {
        HistForm::Int => FMT_HISTOGRAM,
        HistForm::Float => FMT_FLOAT_HISTOGRAM,
    });
    out.extend_from_slice(chunk);
    out
}

/// The histogram chunk inside row bytes, if the row holds one.
pub fn histogram_chunk_of(b: &[u8]) -> Option<(HistForm, &[u8])> {
    match *b.first()? {
        FMT_HISTOGRAM => Some((HistForm::Int, &b[1..])),
        FMT_FLOAT_HISTOGRAM => Some((HistForm::Float, &b[1..])),
        _ => None,
    }
}

/// Decodes row bytes of any format; `None` if they are damaged.
pub fn decode_row(b: &[u8]) -> Option<RowSamples> {
    match histogram_chunk_of(b) {
        Some((form, chunk)) => decode_chunk(form, chunk).map(RowSamples::Histograms),
        None => decode_persisted(b).map(RowSamples::Floats),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Histogram, HistogramValue, Span};
    use crate::tsdb::chunkenc::encode_persisted;
    use crate::tsdb::histogram_chunk::HistogramChunk;

    #[test]
    fn rows_of_each_format_decode_and_damage_is_none() {
        let floats = encode_persisted(&[(1, 1.5), (2, 2.5)], None);
        assert_eq!(
            decode_row(&floats),
            Some(RowSamples::Floats(vec![(1, 1.5), (2, 2.5)]))
        );
        let h = Histogram {
            count: 2,
            sum: 3.0,
            positive_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            positive_buckets: vec![2],
            ..Histogram::default()
        };
        let mut c = HistogramChunk::new();
        c.append(5, &h).unwrap();
        let row = encode_histogram_row(HistForm::Int, c.bytes());
        match decode_row(&row) {
            Some(RowSamples::Histograms(v)) => {
                assert_eq!(v.len(), 1);
                assert_eq!(v[0].t, 5);
                assert_eq!(v[0].h, HistogramValue::Int(h.clone()));
            }
            other => panic!("{other:?}"),
        }
        for cut in 0..row.len() {
            // Truncated rows never panic; most are refused.
            let _ = decode_row(&row[..cut]);
        }
        assert_eq!(decode_row(&[FMT_HISTOGRAM, 0, 5, 0]), None);
        assert_eq!(decode_row(&[9, 1, 2]), None);
    }
}
