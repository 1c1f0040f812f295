//! A borrowed, allocation-light decoder for the remote-write v1 protobuf `WriteRequest`
//! (prometheus/prompb/remote.proto and types.proto): only the fields promterm stores are read;
//! unknown fields are skipped by wire type, as protobuf requires.
//!
//! Messages: WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata
//! metadata = 3; } TimeSeries { repeated Label labels = 1; repeated Sample samples = 2;
//! repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; } Label { string name = 1;
//! string value = 2; } Sample { double value = 1; int64 timestamp = 2; }

use crate::model::Sample;

/// Why a body is not a valid WriteRequest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid protobuf WriteRequest: {0}")]
pub struct ProtoError(pub String);

/// One decoded series, borrowing its label bytes from the request body.
#[derive(Debug, Default, Clone)]
pub struct TimeSeries<'a> {
    pub labels: Vec<(&'a [u8], &'a [u8])>,
    pub samples: Vec<Sample>,
    pub histograms: usize,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.b.len()
    }

    fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let Some(&byte) = self.b.get(self.pos) else {
                return Err(ProtoError(format!("truncated varint at byte {}", self.pos)));
            };
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err(ProtoError(format!(
                    "varint overflows 64 bits at byte {}",
                    self.pos
                )));
            }
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ProtoError(format!("varint too long at byte {}", self.pos)))
    }

    fn fixed64(&mut self) -> Result<u64, ProtoError> {
        let s = self
            .b
            .get(self.pos..self.pos + 8)
            .ok_or_else(|| ProtoError(format!("truncated fixed64 at byte {}", self.pos)))?;
        self.pos += 8;
        Ok(u64::from_le_bytes(s.try_into().expect("slice of 8 bytes")))
    }

    fn bytes(&mut self) -> Result<&'a [u8], ProtoError> {
        let n = self.varint()?;
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.pos.checked_add(n))
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                ProtoError(format!("length {n} at byte {} runs past the end", self.pos))
            })?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    /// Reads a tag: (field number, wire type).
    fn tag(&mut self) -> Result<(u64, u8), ProtoError> {
        let t = self.varint()?;
        let field = t >> 3;
        if field == 0 {
            return Err(ProtoError(format!("field number 0 at byte {}", self.pos)));
        }
        Ok((field, (t & 7) as u8))
    }

    fn skip(&mut self, wire: u8) -> Result<(), ProtoError> {
        match wire {
            0 => self.varint().map(drop),
            1 => self.fixed64().map(drop),
            2 => self.bytes().map(drop),
            5 => {
                if self.pos + 4 > self.b.len() {
                    return Err(ProtoError("truncated fixed32".into()));
                }
                self.pos += 4;
                Ok(())
            }
            w => Err(ProtoError(format!(
                "unsupported wire type {w} at byte {}",
                self.pos
            ))),
        }
    }
}

fn expect_wire(field: u64, wire: u8, want: u8, what: &str) -> Result<(), ProtoError> {
    if wire != want {
        return Err(ProtoError(format!(
            "{what} (field {field}) has wire type {wire}, want {want}"
        )));
    }
    Ok(())
}

fn decode_label(b: &[u8]) -> Result<(&[u8], &[u8]), ProtoError> {
    let mut r = Reader::new(b);
    let (mut name, mut value): (&[u8], &[u8]) = (&[], &[]);
    while !r.done() {
        match r.tag()? {
            (1, w) => {
                expect_wire(1, w, 2, "Label.name")?;
                name = r.bytes()?;
            }
            (2, w) => {
                expect_wire(2, w, 2, "Label.value")?;
                value = r.bytes()?;
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok((name, value))
}

fn decode_sample(b: &[u8]) -> Result<Sample, ProtoError> {
    let mut r = Reader::new(b);
    let mut s = Sample { t: 0, v: 0.0 };
    while !r.done() {
        match r.tag()? {
            (1, w) => {
                expect_wire(1, w, 1, "Sample.value")?;
                s.v = f64::from_bits(r.fixed64()?);
            }
            (2, w) => {
                expect_wire(2, w, 0, "Sample.timestamp")?;
                s.t = r.varint()? as i64;
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(s)
}

fn decode_series(b: &[u8]) -> Result<TimeSeries<'_>, ProtoError> {
    let mut r = Reader::new(b);
    let mut ts = TimeSeries::default();
    while !r.done() {
        match r.tag()? {
            (1, w) => {
                expect_wire(1, w, 2, "TimeSeries.labels")?;
                ts.labels.push(decode_label(r.bytes()?)?);
            }
            (2, w) => {
                expect_wire(2, w, 2, "TimeSeries.samples")?;
                ts.samples.push(decode_sample(r.bytes()?)?);
            }
            (4, w) => {
                expect_wire(4, w, 2, "TimeSeries.histograms")?;
                r.bytes()?;
                ts.histograms += 1;
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(ts)
}

/// Decodes an uncompressed WriteRequest.
pub fn decode_write_request(b: &[u8]) -> Result<Vec<TimeSeries<'_>>, ProtoError> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    while !r.done() {
        match r.tag()? {
            (1, w) => {
                expect_wire(1, w, 2, "WriteRequest.timeseries")?;
                out.push(decode_series(r.bytes()?)?);
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(out)
}

/// Encodes a WriteRequest (for tests, benches and, later, the sender).
/// A series to encode: label pairs and samples.
pub type SeriesToEncode<'a> = (Vec<(&'a str, &'a str)>, Vec<Sample>);

pub fn encode_write_request(series: &[SeriesToEncode<'_>]) -> Vec<u8> {
    fn varint(b: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            b.push((v as u8) | 0x80);
            v >>= 7;
        }
        b.push(v as u8);
    }
    fn field(b: &mut Vec<u8>, tag: u8, payload: &[u8]) {
        b.push(tag);
        varint(b, payload.len() as u64);
        b.extend_from_slice(payload);
    }
    let mut out = Vec::new();
    let mut ts = Vec::new();
    let mut tmp = Vec::new();
    for (labels, samples) in series {
        ts.clear();
        for (n, v) in labels {
            tmp.clear();
            field(&mut tmp, 0x0a, n.as_bytes());
            field(&mut tmp, 0x12, v.as_bytes());
            field(&mut ts, 0x0a, &tmp);
        }
        for s in samples {
            tmp.clear();
            tmp.push(0x09);
            tmp.extend_from_slice(&s.v.to_bits().to_le_bytes());
            tmp.push(0x10);
            varint(&mut tmp, s.t as u64);
            field(&mut ts, 0x12, &tmp);
        }
        field(&mut out, 0x0a, &ts);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_with_negative_timestamps_and_nan_payloads() {
        let samples = vec![
            Sample { t: -1000, v: 1.5 },
            Sample {
                t: 1_700_000_000_000,
                v: f64::from_bits(0x7ff0_0000_0000_0002),
            },
        ];
        let body =
            encode_write_request(&[(vec![("__name__", "up"), ("job", "é")], samples.clone())]);
        let got = decode_write_request(&body).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].labels,
            vec![
                (&b"__name__"[..], &b"up"[..]),
                (&b"job"[..], "é".as_bytes())
            ]
        );
        assert_eq!(got[0].samples, samples);
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let mut body =
            encode_write_request(&[(vec![("__name__", "x")], vec![Sample { t: 1, v: 2.0 }])]);
        // metadata (field 3) and an unknown varint field 9.
        body.extend_from_slice(&[0x1a, 0x02, 0x08, 0x01, 0x48, 0x05]);
        assert_eq!(decode_write_request(&body).unwrap().len(), 1);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good =
            encode_write_request(&[(vec![("__name__", "x")], vec![Sample { t: 1, v: 2.0 }; 3])]);
        for len in 0..good.len() {
            let _ = decode_write_request(&good[..len]);
        }
        assert!(decode_write_request(&good[..good.len() - 1]).is_err());
        let mut x = 99u64;
        for _ in 0..5000 {
            let mut b = good.clone();
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            let i = (x >> 33) as usize % b.len();
            b[i] = (x >> 20) as u8;
            let _ = decode_write_request(&b);
        }
        let err = decode_write_request(&[0x0a, 0xff, 0xff, 0x01]).unwrap_err();
        assert!(err.to_string().contains("runs past the end"), "{err}");
        assert!(
            decode_write_request(&[0x0b]).is_err(),
            "wire type 3 (groups) is rejected"
        );
    }
}
