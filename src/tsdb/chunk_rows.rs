//! The `data` blob of a persisted chunk row, whatever its sample kind. The first byte names the
//! format: 0 and 1 are `chunkenc`'s float formats (XOR, decimal); 2 is an integer histogram
//! chunk and 3 a float histogram chunk (Prometheus's encoding numbers), followed by the chunk
//! bytes exactly as encoded (header included), so a reopened chunk appends bit-exactly. 4 is
//! several consecutive histogram chunks of one series in one row (their number as a uvarint,
//! then each as its form byte, its length as a uvarint and its bytes): a flush writes a series' sealed histogram chunks of one
//! 2h range so, since ~1 KB rows leave a quarter of each database page empty.
//! Decoding never panics: damaged bytes are `None`.
//!
//! Uses `chunkenc`, `histogram_head`, `varint`, `model`.

use super::chunkenc::decode_persisted;
use super::histogram_head::{decode_chunk, HistForm};
use super::varint::{put_uvarint, Reader};
use crate::model::HistogramSample;

/// Format byte of an integer histogram chunk row.
pub const FMT_HISTOGRAM: u8 = 2;
/// Format byte of a float histogram chunk row.
pub const FMT_FLOAT_HISTOGRAM: u8 = 3;
/// Format byte of a row of several histogram chunks.
pub const FMT_HISTOGRAM_CHUNKS: u8 = 4;

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

/// The row bytes of several consecutive histogram chunks of one series (one chunk gives the
/// single-chunk format).
pub fn encode_histogram_chunks_row(chunks: &[(HistForm, &[u8])]) -> Vec<u8> {
    if let [(form, chunk)] = chunks {
        return encode_histogram_row(*form, chunk);
    }
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.1.len() + 4).sum::<usize>() + 1);
    out.push(FMT_HISTOGRAM_CHUNKS);
    put_uvarint(&mut out, chunks.len() as u64);
    for (form, chunk) in chunks {
        out.push(match form {
            HistForm::Int => FMT_HISTOGRAM,
            HistForm::Float => FMT_FLOAT_HISTOGRAM,
        });
        put_uvarint(&mut out, chunk.len() as u64);
        out.extend_from_slice(chunk);
    }
    out
}

/// The histogram chunks inside row bytes, oldest first; `None` if the row holds floats or is
/// damaged.
pub fn histogram_chunks_of(b: &[u8]) -> Option<Vec<(HistForm, &[u8])>> {
    let form = |f: u8| match f {
        FMT_HISTOGRAM => Some(HistForm::Int),
        FMT_FLOAT_HISTOGRAM => Some(HistForm::Float),
        _ => None,
    };
    let first = *b.first()?;
    if first != FMT_HISTOGRAM_CHUNKS {
        return Some(vec![(form(first)?, &b[1..])]);
    }
    let mut r = Reader::new(b, 1);
    let count = r.uvarint()?;
    let mut out = Vec::new();
    while !r.done() {
        let f = form(*r.bytes(1)?.first()?)?;
        let n = usize::try_from(r.uvarint()?).ok()?;
        out.push((f, r.bytes(n)?));
    }
    (count > 0 && out.len() as u64 == count).then_some(out)
}

/// The first histogram chunk inside row bytes, if the row holds histograms.
pub fn histogram_chunk_of(b: &[u8]) -> Option<(HistForm, &[u8])> {
    histogram_chunks_of(b)?.into_iter().next()
}

/// Whether row bytes hold float samples (judged by the format byte alone; not checked).
pub fn is_float_row(b: &[u8]) -> bool {
    b.first().is_some_and(|f| {
        !matches!(
            *f,
            FMT_HISTOGRAM | FMT_FLOAT_HISTOGRAM | FMT_HISTOGRAM_CHUNKS
        )
    })
}

/// Decodes row bytes of any format; `None` if they are damaged.
pub fn decode_row(b: &[u8]) -> Option<RowSamples> {
    match *b.first()? {
        FMT_HISTOGRAM | FMT_FLOAT_HISTOGRAM | FMT_HISTOGRAM_CHUNKS => {
            let mut all = Vec::new();
            for (form, chunk) in histogram_chunks_of(b)? {
                all.extend(decode_chunk(form, chunk)?);
            }
            Some(RowSamples::Histograms(all))
        }
        _ => decode_persisted(b).map(RowSamples::Floats),
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

    #[test]
    fn a_row_of_several_chunks_decodes_them_in_order_and_damage_is_none() {
        let h = |count: u64| Histogram {
            count,
            sum: count as f64,
            positive_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            positive_buckets: vec![count as i64],
            ..Histogram::default()
        };
        let mut a = HistogramChunk::new();
        a.append(1, &h(1)).unwrap();
        a.append(2, &h(2)).unwrap();
        let mut b = HistogramChunk::new();
        b.append(3, &h(3)).unwrap();
        let row =
            encode_histogram_chunks_row(&[(HistForm::Int, a.bytes()), (HistForm::Int, b.bytes())]);
        assert_eq!(row[0], FMT_HISTOGRAM_CHUNKS);
        match decode_row(&row) {
            Some(RowSamples::Histograms(v)) => {
                let got: Vec<(i64, u64)> = v
                    .iter()
                    .map(|s| match &s.h {
                        HistogramValue::Int(x) => (s.t, x.count),
                        other => panic!("{other:?}"),
                    })
                    .collect();
                assert_eq!(got, vec![(1, 1), (2, 2), (3, 3)]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(histogram_chunk_of(&row), Some((HistForm::Int, a.bytes())));
        // One chunk is the single-chunk format.
        let one = encode_histogram_chunks_row(&[(HistForm::Int, b.bytes())]);
        assert_eq!(one, encode_histogram_row(HistForm::Int, b.bytes()));
        for cut in 1..row.len() {
            // A truncated row is refused (never fewer samples silently), and never panics.
            assert_eq!(
                decode_row(&row[..cut]),
                None,
                "cut at {cut} of {}",
                row.len()
            );
        }
        assert_eq!(decode_row(&[FMT_HISTOGRAM_CHUNKS]), None);
        assert_eq!(decode_row(&[FMT_HISTOGRAM_CHUNKS, 1, 7, 1, 0]), None);
    }
}
