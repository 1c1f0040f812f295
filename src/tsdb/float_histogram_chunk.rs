//! Float histogram chunks, bit-exact with Prometheus's `EncFloatHistogram` (chunk encoding 3,
//! tsdb/docs/format/chunks.md): the header and layout shared with integer histogram chunks
//! (`histogram_layout`), then per sample — the first: timestamp (varbit_int), then count, zero
//! count, sum and every absolute bucket count as 64 raw bits; later ones: the timestamp's
//! delta-of-delta (varbit_int) and every other field XORed with its previous value, each field
//! with a leading/trailing-zero window of its own.
//!
//! Appending follows Prometheus's `AppendFloatHistogram` (the same rules as the integer chunk in
//! `histogram_chunk`: re-code on new buckets, new chunk on counter resets, layout changes, a
//! live sample after a stale one, or a gauge/counter switch). A stale marker is written as an
//! empty histogram with the stale sum.
//!
//! Uses `chunkenc` (bit writer/reader), `histogram_layout`, `histogram_chunk` (the result
//! types), `model`.

use super::chunkenc::{BitReader, BitWriter};
use super::histogram_chunk::{Appended, HistogramChunkError, Verdict};
use super::histogram_layout::{
    adjust_for_inserts, count_spans, expand_spans_and_buckets, expand_spans_both_ways,
    insert_absolute, put_varbit_int, read_layout, read_varbit_int, remaining_bits, set_header,
    write_layout, CounterResetHeader, Insert, Layout, XorState, FLAGS_POS, HEADER_SIZE,
};
use crate::model::histogram::{CounterResetHint, FloatHistogram, Span, CUSTOM_BUCKETS_SCHEMA};
use crate::model::is_stale_nan;

/// The inserts that make a histogram fit.
struct Fit {
    forward: [Vec<Insert>; 2],
    backward: [Vec<Insert>; 2],
    spans: Option<[Vec<Span>; 2]>,
}

impl Fit {
    fn empty() -> Self {
        Fit {
            forward: Default::default(),
            backward: Default::default(),
            spans: None,
        }
    }
}

/// The running state shared by the encoder and the decoder.
#[derive(Clone, Debug)]
struct State {
    t: i64,
    t_delta: i64,
    cnt: XorState,
    zcnt: XorState,
    sum: XorState,
    buckets: [Vec<XorState>; 2],
}

impl State {
    fn new(layout: &Layout) -> Self {
        let z = XorState::new(0);
        State {
            t: 0,
            t_delta: 0,
            cnt: z,
            zcnt: z,
            sum: z,
            buckets: [
                vec![z; count_spans(&layout.positive_spans)],
                vec![z; count_spans(&layout.negative_spans)],
            ],
        }
    }

    fn values(&self, side: usize) -> Vec<f64> {
        self.buckets[side].iter().map(XorState::value).collect()
    }
}

/// A float histogram chunk being appended to.
#[derive(Clone, Debug)]
pub struct FloatHistogramChunk {
    w: BitWriter,
    layout: Layout,
    st: State,
}

impl Default for FloatHistogramChunk {
    fn default() -> Self {
        Self::new()
    }
}

fn stale_marker(sum: f64) -> FloatHistogram {
    FloatHistogram {
        sum,
        ..FloatHistogram::default()
    }
}

fn check_shape(h: &FloatHistogram) -> Result<(), HistogramChunkError> {
    for (side, spans, buckets) in [
        ("positive", &h.positive_spans, h.positive_buckets.len()),
        ("negative", &h.negative_spans, h.negative_buckets.len()),
    ] {
        let n = count_spans(spans);
        if n != buckets {
            return Err(HistogramChunkError::BucketsDontMatchSpans {
                side,
                buckets,
                spans: n,
            });
        }
    }
    Ok(())
}

impl FloatHistogramChunk {
    pub fn new() -> Self {
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(&[0; HEADER_SIZE]);
        FloatHistogramChunk {
            w: BitWriter { bytes, free: 0 },
            layout: Layout::default(),
            st: State::new(&Layout::default()),
        }
    }

    /// Reopens an encoded chunk for appending. `None` if it is corrupt.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut it = FloatHistogramIter::new(bytes);
        for _ in it.by_ref() {}
        if it.error || it.read != it.num {
            return None;
        }
        let mut c = FloatHistogramChunk::new();
        c.w.bytes[..HEADER_SIZE].copy_from_slice(&bytes[..HEADER_SIZE]);
        if it.num > 0 {
            let used = it.r.pos - HEADER_SIZE * 8;
            c.w.bytes = bytes[..HEADER_SIZE + used.div_ceil(8)].to_vec();
            c.w.free = ((8 - used % 8) % 8) as u8;
            c.layout = it.layout;
            c.st = it.st;
        }
        Some(c)
    }

    pub fn num_samples(&self) -> u16 {
        u16::from_be_bytes([self.w.bytes[0], self.w.bytes[1]])
    }

    /// The encoded chunk (header included).
    pub fn bytes(&self) -> &[u8] {
        &self.w.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        let mut b = self.w.bytes;
        b.shrink_to_fit();
        b
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.w.bytes.capacity()
            + (self.st.buckets[0].capacity() + self.st.buckets[1].capacity()) * 16
            + (self.layout.positive_spans.capacity() + self.layout.negative_spans.capacity()) * 8
            + self.layout.custom_values.capacity() * 8
    }

    pub fn counter_reset_header(&self) -> CounterResetHeader {
        CounterResetHeader::from_flags(self.w.bytes[FLAGS_POS])
    }

    pub fn set_counter_reset_header(&mut self, h: CounterResetHeader) {
        set_header(&mut self.w.bytes, h);
    }

    /// The last timestamp appended (meaningless when empty).
    pub fn last_t(&self) -> i64 {
        self.st.t
    }

    pub fn iter(&self) -> FloatHistogramIter<'_> {
        FloatHistogramIter::new(&self.w.bytes)
    }

    /// Whether `h` fits this chunk (see [`Verdict`]).
    pub fn appendable(&self, h: &FloatHistogram) -> Verdict {
        if self.num_samples() == 0 {
            return Verdict::Append;
        }
        match self.fit(h) {
            Ok(f) if f.forward.iter().all(Vec::is_empty) => Verdict::Append,
            Ok(_) => Verdict::Recode,
            Err(hdr) => Verdict::NewChunk(hdr),
        }
    }

    /// Prometheus's float `appendable` says only "counter reset or not": a cut chunk's header
    /// is `CounterReset` or stays `Unknown` (gauge chunks: `Gauge`).
    fn fit(&self, h: &FloatHistogram) -> Result<Fit, CounterResetHeader> {
        use CounterResetHeader::{CounterReset, Gauge, Unknown};
        let gauge_chunk = self.counter_reset_header() == Gauge;
        let stale_chunk = is_stale_nan(self.st.sum.value());
        let l = &self.layout;
        let schema_changed = h.schema != l.schema || h.zero_threshold != l.zero_threshold;
        let bounds_changed =
            h.schema == CUSTOM_BUCKETS_SCHEMA && h.custom_values != l.custom_values;
        if h.counter_reset_hint == CounterResetHint::Gauge {
            if !gauge_chunk {
                return Err(Gauge);
            }
            if h.is_stale() {
                return Ok(Fit::empty());
            }
            if stale_chunk || schema_changed || bounds_changed {
                return Err(Gauge);
            }
            let (pf, pb, ps) = expand_spans_both_ways(&l.positive_spans, &h.positive_spans);
            let (nf, nb, ns) = expand_spans_both_ways(&l.negative_spans, &h.negative_spans);
            return Ok(Fit {
                forward: [pf, nf],
                backward: [pb, nb],
                spans: Some([ps, ns]),
            });
        }
        if gauge_chunk {
            return Err(Unknown);
        }
        if h.counter_reset_hint == CounterResetHint::CounterReset {
            return Err(CounterReset);
        }
        if h.is_stale() {
            return Ok(Fit::empty());
        }
        if stale_chunk {
            return Err(Unknown);
        }
        if h.count < self.st.cnt.value() {
            return Err(CounterReset);
        }
        if schema_changed {
            return Err(Unknown);
        }
        if bounds_changed || h.zero_count < self.st.zcnt.value() {
            return Err(CounterReset);
        }
        let (pf, pb) = expand_spans_and_buckets(
            &l.positive_spans,
            &h.positive_spans,
            |i| self.st.buckets[0].get(i).map(XorState::value),
            &h.positive_buckets,
        )
        .ok_or(CounterReset)?;
        let (nf, nb) = expand_spans_and_buckets(
            &l.negative_spans,
            &h.negative_spans,
            |i| self.st.buckets[1].get(i).map(XorState::value),
            &h.negative_buckets,
        )
        .ok_or(CounterReset)?;
        Ok(Fit {
            forward: [pf, nf],
            backward: [pb, nb],
            spans: None,
        })
    }

    /// Appends a float histogram at `t` (after the last timestamp; the caller checks order).
    pub fn append(
        &mut self,
        t: i64,
        h: &FloatHistogram,
    ) -> Result<Appended<FloatHistogramChunk>, HistogramChunkError> {
        if !h.is_stale() {
            check_shape(h)?;
        }
        let num = self.num_samples();
        if num == 0 {
            self.append_raw(t, h);
            match h.counter_reset_hint {
                CounterResetHint::Gauge => self.set_counter_reset_header(CounterResetHeader::Gauge),
                CounterResetHint::CounterReset => {
                    self.set_counter_reset_header(CounterResetHeader::CounterReset)
                }
                _ => {}
            }
            return Ok(Appended::InPlace);
        }
        if num == u16::MAX {
            return Err(HistogramChunkError::Full(num));
        }
        let fit = match self.fit(h) {
            Ok(f) => f,
            Err(hdr) => {
                let mut c = FloatHistogramChunk::new();
                c.set_counter_reset_header(hdr);
                c.append_raw(t, h);
                return Ok(Appended::NewChunk(c));
            }
        };
        let has_backward = fit.backward.iter().any(|b| !b.is_empty());
        let has_forward = fit.forward.iter().any(|f| !f.is_empty());
        let mut expanded;
        let mut h = h;
        if has_backward {
            expanded = h.clone();
            let [ps, ns] = match fit.spans {
                Some(s) => s,
                None if !has_forward => [
                    self.layout.positive_spans.clone(),
                    self.layout.negative_spans.clone(),
                ],
                None => [
                    adjust_for_inserts(&h.positive_spans, &fit.backward[0]),
                    adjust_for_inserts(&h.negative_spans, &fit.backward[1]),
                ],
            };
            expanded.positive_buckets =
                insert_absolute(&h.positive_buckets, &fit.backward[0], count_spans(&ps));
            expanded.negative_buckets =
                insert_absolute(&h.negative_buckets, &fit.backward[1], count_spans(&ns));
            expanded.positive_spans = ps;
            expanded.negative_spans = ns;
            h = &expanded;
        }
        if has_forward {
            self.recode(&fit.forward, &h.positive_spans, &h.negative_spans);
            self.append_raw(t, h);
            return Ok(Appended::Recoded);
        }
        self.append_raw(t, h);
        Ok(Appended::InPlace)
    }

    /// Re-encodes every sample with zero buckets inserted, keeping the header.
    fn recode(&mut self, forward: &[Vec<Insert>; 2], ps: &[Span], ns: &[Span]) {
        let mut c = FloatHistogramChunk::new();
        let (np, nn) = (count_spans(ps), count_spans(ns));
        for (t, mut old) in self.iter() {
            if !old.is_stale() {
                old.positive_buckets = insert_absolute(&old.positive_buckets, &forward[0], np);
                old.negative_buckets = insert_absolute(&old.negative_buckets, &forward[1], nn);
                old.positive_spans = ps.to_vec();
                old.negative_spans = ns.to_vec();
            }
            c.append_raw(t, &old);
        }
        c.set_counter_reset_header(self.counter_reset_header());
        *self = c;
    }

    /// Writes a sample whose shape fits the layout (or the first sample, which sets it).
    fn append_raw(&mut self, t: i64, h: &FloatHistogram) {
        let stale;
        let h = if h.is_stale() {
            stale = stale_marker(h.sum);
            &stale
        } else {
            h
        };
        let num = self.num_samples();
        let w = &mut self.w;
        if num == 0 {
            self.layout = Layout {
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                positive_spans: h.positive_spans.clone(),
                negative_spans: h.negative_spans.clone(),
                custom_values: if h.schema == CUSTOM_BUCKETS_SCHEMA {
                    h.custom_values.clone()
                } else {
                    Vec::new()
                },
            };
            write_layout(w, &self.layout);
            let st = &mut self.st;
            *st = State::new(&self.layout);
            put_varbit_int(w, t);
            for v in [h.count, h.zero_count, h.sum] {
                w.write_bits(v.to_bits(), 64);
            }
            st.cnt = XorState::new(h.count.to_bits());
            st.zcnt = XorState::new(h.zero_count.to_bits());
            st.sum = XorState::new(h.sum.to_bits());
            for (side, buckets) in [&h.positive_buckets, &h.negative_buckets]
                .into_iter()
                .enumerate()
            {
                for (i, &b) in buckets.iter().enumerate() {
                    w.write_bits(b.to_bits(), 64);
                    st.buckets[side][i] = XorState::new(b.to_bits());
                }
            }
            st.t_delta = 0;
        } else {
            let st = &mut self.st;
            let t_delta = t.wrapping_sub(st.t);
            put_varbit_int(w, t_delta.wrapping_sub(st.t_delta));
            st.cnt.write(w, h.count);
            st.zcnt.write(w, h.zero_count);
            st.sum.write(w, h.sum);
            for (side, buckets) in [&h.positive_buckets, &h.negative_buckets]
                .into_iter()
                .enumerate()
            {
                for (i, &b) in buckets.iter().enumerate() {
                    st.buckets[side][i].write(w, b);
                }
            }
            st.t_delta = t_delta;
        }
        self.st.t = t;
        let n = (num + 1).to_be_bytes();
        self.w.bytes[0..2].copy_from_slice(&n);
    }
}

/// Decodes a float histogram chunk. On corrupt input it stops and sets `error`.
#[derive(Clone, Debug)]
pub struct FloatHistogramIter<'a> {
    r: BitReader<'a>,
    num: u16,
    read: u16,
    header: CounterResetHeader,
    layout: Layout,
    st: State,
    /// Set when the bytes ended early or held an impossible value.
    pub error: bool,
}

impl<'a> FloatHistogramIter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        let ok = bytes.len() >= HEADER_SIZE;
        FloatHistogramIter {
            r: BitReader {
                bytes,
                pos: HEADER_SIZE * 8,
            },
            num: if ok {
                u16::from_be_bytes([bytes[0], bytes[1]])
            } else {
                0
            },
            read: 0,
            header: CounterResetHeader::from_flags(if ok { bytes[FLAGS_POS] } else { 0 }),
            layout: Layout::default(),
            st: State::new(&Layout::default()),
            error: !ok,
        }
    }

    /// The sample count the header claims.
    pub fn num_samples(&self) -> u16 {
        self.num
    }

    pub fn counter_reset_header(&self) -> CounterResetHeader {
        self.header
    }

    fn step(&mut self) -> Option<(i64, FloatHistogram)> {
        let r = &mut self.r;
        let st = &mut self.st;
        if self.read == 0 {
            self.layout = read_layout(r)?;
            *st = State::new(&self.layout);
            st.t = read_varbit_int(r)?;
            st.cnt = XorState::new(r.read_bits(64)?);
            st.zcnt = XorState::new(r.read_bits(64)?);
            st.sum = XorState::new(r.read_bits(64)?);
            for side in 0..2 {
                for b in st.buckets[side].iter_mut() {
                    *b = XorState::new(r.read_bits(64)?);
                }
            }
        } else {
            st.t_delta = st.t_delta.wrapping_add(read_varbit_int(r)?);
            st.t = st.t.wrapping_add(st.t_delta);
            st.cnt.read(r)?;
            st.zcnt.read(r)?;
            st.sum.read(r)?;
            if !is_stale_nan(st.sum.value()) {
                if st.buckets.iter().map(Vec::len).sum::<usize>() > remaining_bits(r) {
                    return None;
                }
                for side in 0..2 {
                    for b in st.buckets[side].iter_mut() {
                        b.read(r)?;
                    }
                }
            }
        }
        let index = self.read;
        self.read += 1;
        let sum = st.sum.value();
        if is_stale_nan(sum) {
            return Some((st.t, stale_marker(sum)));
        }
        let l = &self.layout;
        Some((
            st.t,
            FloatHistogram {
                counter_reset_hint: self.header.hint_for(index),
                schema: l.schema,
                zero_threshold: l.zero_threshold,
                zero_count: st.zcnt.value(),
                count: st.cnt.value(),
                sum,
                positive_spans: l.positive_spans.clone(),
                negative_spans: l.negative_spans.clone(),
                positive_buckets: st.values(0),
                negative_buckets: st.values(1),
                custom_values: l.custom_values.clone(),
            },
        ))
    }
}

impl Iterator for FloatHistogramIter<'_> {
    type Item = (i64, FloatHistogram);

    fn next(&mut self) -> Option<(i64, FloatHistogram)> {
        if self.error || self.read >= self.num {
            return None;
        }
        let s = self.step();
        if s.is_none() {
            self.error = true;
        }
        s
    }
}
