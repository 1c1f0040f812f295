//! Borrowed, allocation-light decoders for the remote-write v1 protobuf `WriteRequest`
//! (prometheus/prompb/remote.proto and types.proto) and the 2.0 `io.prometheus.write.v2.Request`
//! (a symbols table that series refer to by index, per-series metadata and created
//! timestamps): only the fields promterm stores are read; unknown fields are skipped by wire
//! type, as protobuf requires.
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

/// A protobuf wire-format reader over a borrowed buffer (also used by `otlp`).
pub(crate) struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }

    pub(crate) fn done(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub(crate) fn varint(&mut self) -> Result<u64, ProtoError> {
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

    pub(crate) fn fixed64(&mut self) -> Result<u64, ProtoError> {
        let s = self
            .b
            .get(self.pos..self.pos + 8)
            .ok_or_else(|| ProtoError(format!("truncated fixed64 at byte {}", self.pos)))?;
        self.pos += 8;
        Ok(u64::from_le_bytes(s.try_into().expect("slice of 8 bytes")))
    }

    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], ProtoError> {
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
    pub(crate) fn tag(&mut self) -> Result<(u64, u8), ProtoError> {
        let t = self.varint()?;
        let field = t >> 3;
        if field == 0 {
            return Err(ProtoError(format!("field number 0 at byte {}", self.pos)));
        }
        Ok((field, (t & 7) as u8))
    }

    pub(crate) fn skip(&mut self, wire: u8) -> Result<(), ProtoError> {
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

/// A remote write 2.0 series: labels resolved through the symbols table.
#[derive(Debug, Default, Clone)]
pub struct TimeSeriesV2<'a> {
    pub series: TimeSeries<'a>,
    pub exemplars: usize,
    /// `created_timestamp` (ms), 0 if unset.
    pub created: i64,
    /// Metadata type (0 unknown, 1 counter, 2 gauge, ...).
    pub metric_type: u64,
    /// Metadata help and unit, resolved through the symbols table (empty if unset).
    pub help: &'a [u8],
    pub unit: &'a [u8],
}

/// One 1.0 `MetricMetadata` (WriteRequest field 3): type, family name, help, unit.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MetadataV1<'a> {
    /// 0 unknown, 1 counter, 2 gauge, 3 histogram, 4 gaugehistogram, 5 summary, 6 info,
    /// 7 stateset.
    pub metric_type: u64,
    pub family: &'a [u8],
    pub help: &'a [u8],
    pub unit: &'a [u8],
}

/// The metadata entries of an uncompressed 1.0 WriteRequest.
pub fn decode_metadata(b: &[u8]) -> Result<Vec<MetadataV1<'_>>, ProtoError> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    while !r.done() {
        match r.tag()? {
            (3, w) => {
                expect_wire(3, w, 2, "WriteRequest.metadata")?;
                let mut m = Reader::new(r.bytes()?);
                let mut md = MetadataV1::default();
                while !m.done() {
                    match m.tag()? {
                        (1, 0) => md.metric_type = m.varint()?,
                        (2, 2) => md.family = m.bytes()?,
                        (4, 2) => md.help = m.bytes()?,
                        (5, 2) => md.unit = m.bytes()?,
                        (_, w) => m.skip(w)?,
                    }
                }
                out.push(md);
            }
            (_, w) => r.skip(w)?,
        }
    }
    Ok(out)
}

/// Encodes a 1.0 WriteRequest holding only metadata (what senders send every
/// `metadata_config.send_interval`): (type, family name, help, unit).
pub fn encode_metadata(entries: &[(u64, &str, &str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut m = Vec::new();
    for (t, family, help, unit) in entries {
        m.clear();
        if *t != 0 {
            m.push(0x08);
            varint(&mut m, *t);
        }
        field(&mut m, 0x12, family.as_bytes());
        if !help.is_empty() {
            field(&mut m, 0x22, help.as_bytes());
        }
        if !unit.is_empty() {
            field(&mut m, 0x2a, unit.as_bytes());
        }
        field(&mut out, 0x1a, &m);
    }
    out
}

/// Decodes packed (or, tolerated, unpacked) uint32 label references.
fn decode_refs(r: &mut Reader<'_>, wire: u8, out: &mut Vec<u64>) -> Result<(), ProtoError> {
    match wire {
        2 => {
            let mut p = Reader::new(r.bytes()?);
            while !p.done() {
                out.push(p.varint()?);
            }
            Ok(())
        }
        0 => {
            out.push(r.varint()?);
            Ok(())
        }
        w => Err(ProtoError(format!("labels_refs has wire type {w}"))),
    }
}

fn symbol<'a>(symbols: &[&'a [u8]], i: u64, what: &str) -> Result<&'a [u8], ProtoError> {
    symbols.get(i as usize).copied().ok_or_else(|| {
        ProtoError(format!(
            "{what} refers to symbol {i}, but the symbols table has {} entries",
            symbols.len()
        ))
    })
}

fn decode_series_v2<'a>(b: &'a [u8], symbols: &[&'a [u8]]) -> Result<TimeSeriesV2<'a>, ProtoError> {
    let mut r = Reader::new(b);
    let mut out = TimeSeriesV2::default();
    let mut refs = Vec::new();
    let (mut help_ref, mut unit_ref) = (0u64, 0u64);
    while !r.done() {
        match r.tag()? {
            (1, w) => decode_refs(&mut r, w, &mut refs)?,
            (2, w) => {
                expect_wire(2, w, 2, "TimeSeries.samples")?;
                out.series.samples.push(decode_sample(r.bytes()?)?);
            }
            (3, w) => {
                expect_wire(3, w, 2, "TimeSeries.histograms")?;
                r.bytes()?;
                out.series.histograms += 1;
            }
            (4, w) => {
                expect_wire(4, w, 2, "TimeSeries.exemplars")?;
                r.bytes()?;
                out.exemplars += 1;
            }
            (5, w) => {
                expect_wire(5, w, 2, "TimeSeries.metadata")?;
                let mut m = Reader::new(r.bytes()?);
                while !m.done() {
                    match m.tag()? {
                        (1, 0) => out.metric_type = m.varint()?,
                        (3, 0) => help_ref = m.varint()?,
                        (4, 0) => unit_ref = m.varint()?,
                        (_, w) => m.skip(w)?,
                    }
                }
            }
            (6, w) => {
                expect_wire(6, w, 0, "TimeSeries.created_timestamp")?;
                out.created = r.varint()? as i64;
            }
            (_, w) => r.skip(w)?,
        }
    }
    if refs.len() % 2 != 0 {
        return Err(ProtoError(format!(
            "labels_refs has an odd number of entries ({})",
            refs.len()
        )));
    }
    out.help = symbol(symbols, help_ref, "the metadata's help")?;
    out.unit = symbol(symbols, unit_ref, "the metadata's unit")?;
    for pair in refs.chunks(2) {
        out.series.labels.push((
            symbol(symbols, pair[0], "a label name")?,
            symbol(symbols, pair[1], "a label value")?,
        ));
    }
    Ok(out)
}

/// Decodes an uncompressed remote write 2.0 `io.prometheus.write.v2.Request` (symbols = 4,
/// timeseries = 5).
pub fn decode_write_request_v2(b: &[u8]) -> Result<Vec<TimeSeriesV2<'_>>, ProtoError> {
    let mut r = Reader::new(b);
    let mut symbols: Vec<&[u8]> = Vec::new();
    let mut series: Vec<&[u8]> = Vec::new();
    while !r.done() {
        match r.tag()? {
            (4, w) => {
                expect_wire(4, w, 2, "Request.symbols")?;
                symbols.push(r.bytes()?);
            }
            (5, w) => {
                expect_wire(5, w, 2, "Request.timeseries")?;
                series.push(r.bytes()?);
            }
            (f @ 1..=3, _) => {
                return Err(ProtoError(format!(
                    "field {f} is reserved in 2.0 (it is 1.0's): this looks like a prometheus.WriteRequest; send it with Content-Type application/x-protobuf;proto=prometheus.WriteRequest"
                )))
            }
            (_, w) => r.skip(w)?,
        }
    }
    if symbols.first().is_some_and(|s| !s.is_empty()) {
        return Err(ProtoError(
            "the symbols table must start with the empty string".into(),
        ));
    }
    series
        .into_iter()
        .map(|b| decode_series_v2(b, &symbols))
        .collect()
}

/// Appends a protobuf varint.
fn varint(b: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        b.push((v as u8) | 0x80);
        v >>= 7;
    }
    b.push(v as u8);
}

/// Appends a length-delimited field (`tag` is the whole key byte).
fn field(b: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    b.push(tag);
    varint(b, payload.len() as u64);
    b.extend_from_slice(payload);
}

/// A 2.0 series to encode: labels, samples, created timestamp (0: none), metric type.
pub type SeriesToEncodeV2<'a> = (Vec<(&'a str, &'a str)>, Vec<Sample>, i64, u64);

/// Encodes a remote write 2.0 Request without help or unit (for tests).
pub fn encode_write_request_v2(series: &[SeriesToEncodeV2<'_>]) -> Vec<u8> {
    let full: Vec<SeriesV2<'_>> = series
        .iter()
        .map(|(labels, samples, created, mtype)| SeriesV2 {
            labels: labels.clone(),
            samples: samples.clone(),
            created: *created,
            metric_type: *mtype,
            help: "",
            unit: "",
        })
        .collect();
    encode_v2(&full)
}

/// A 2.0 series to encode, with its metadata.
#[derive(Debug, Clone, Default)]
pub struct SeriesV2<'a> {
    pub labels: Vec<(&'a str, &'a str)>,
    pub samples: Vec<Sample>,
    /// Created timestamp (ms), 0 if none.
    pub created: i64,
    /// 0 unknown, 1 counter, 2 gauge, ...
    pub metric_type: u64,
    pub help: &'a str,
    pub unit: &'a str,
}

/// Encodes a remote write 2.0 `io.prometheus.write.v2.Request` (the sender's and tests').
pub fn encode_v2(series: &[SeriesV2<'_>]) -> Vec<u8> {
    let mut symbols: Vec<&str> = vec![""];
    let mut index: std::collections::HashMap<&str, u64> = [("", 0)].into_iter().collect();
    let mut body = Vec::new();
    for ser in series {
        let (labels, samples, created, mtype) =
            (&ser.labels, &ser.samples, &ser.created, &ser.metric_type);
        let mut refs = Vec::new();
        for (n, v) in labels {
            for s in [*n, *v] {
                let i = *index.entry(s).or_insert_with(|| {
                    symbols.push(s);
                    symbols.len() as u64 - 1
                });
                varint(&mut refs, i);
            }
        }
        let mut ts = Vec::new();
        field(&mut ts, 0x0a, &refs);
        for s in samples {
            let mut tmp = vec![0x09];
            tmp.extend_from_slice(&s.v.to_bits().to_le_bytes());
            tmp.push(0x10);
            varint(&mut tmp, s.t as u64);
            field(&mut ts, 0x12, &tmp);
        }
        if *mtype != 0 || !ser.help.is_empty() || !ser.unit.is_empty() {
            let mut m = Vec::new();
            if *mtype != 0 {
                m.push(0x08);
                varint(&mut m, *mtype);
            }
            for (tag, s) in [(0x18, ser.help), (0x20, ser.unit)] {
                if !s.is_empty() {
                    let i = *index.entry(s).or_insert_with(|| {
                        symbols.push(s);
                        symbols.len() as u64 - 1
                    });
                    m.push(tag);
                    varint(&mut m, i);
                }
            }
            field(&mut ts, 0x2a, &m);
        }
        if *created != 0 {
            ts.push(0x30);
            varint(&mut ts, *created as u64);
        }
        field(&mut body, 0x2a, &ts);
    }
    let mut out = Vec::new();
    for s in symbols {
        field(&mut out, 0x22, s.as_bytes());
    }
    out.extend_from_slice(&body);
    out
}

/// A series to encode: label pairs and samples.
pub type SeriesToEncode<'a> = (Vec<(&'a str, &'a str)>, Vec<Sample>);

/// Encodes a 1.0 WriteRequest (the sender's, tests' and benches').
pub fn encode_write_request(series: &[SeriesToEncode<'_>]) -> Vec<u8> {
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
