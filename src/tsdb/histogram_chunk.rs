//! Integer histogram chunks, bit-exact with Prometheus's `EncHistogram` (chunk encoding 2,
//! tsdb/docs/format/chunks.md): the shared header and layout (`histogram_layout`), then per
//! sample — the first: timestamp (varbit_int), count and zero count (varbit_uint), the sum as 64
//! raw bits, each bucket's stored delta (varbit_int); later ones: delta-of-deltas (varbit_int)
//! of timestamp, count, zero count and each bucket, the sum XORed with the previous one.
//!
//! Appending follows Prometheus's `AppendHistogram`: a counter histogram whose layout differs
//! only by new buckets re-codes the chunk in place with zero buckets inserted into every earlier
//! sample ([`Appended::Recoded`]); buckets the chunk has but the histogram lacks are filled with
//! zeros when they were empty; a counter reset (hint, count, zero count or a bucket going down, a
//! bucket in use disappearing, custom bounds changing), a schema or zero-threshold change, a
//! stale chunk receiving a live sample, or a switch between gauge and counter cuts a new chunk
//! carrying the counter-reset header Prometheus gives it ([`Appended::NewChunk`]). A stale
//! marker (sum = the stale NaN) is written as an empty histogram: no buckets, count dods 0.
//!
//! Uses `chunkenc` (bit writer/reader), `histogram_layout`, `model`.

use super::chunkenc::{BitReader, BitWriter};
use super::histogram_layout::{
    adjust_for_inserts, count_spans, expand_spans_and_buckets, expand_spans_both_ways,
    insert_deltas, put_varbit_int, put_varbit_uint, read_layout, read_varbit_int, read_varbit_uint,
    remaining_bits, set_header, write_layout, Insert, Layout, XorState, FLAGS_POS, HEADER_SIZE,
};
use crate::model::histogram::{CounterResetHint, Histogram, CUSTOM_BUCKETS_SCHEMA};
use crate::model::is_stale_nan;

pub use super::histogram_layout::CounterResetHeader;

/// Why a histogram could not be appended at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistogramChunkError {
    #[error("histogram has {buckets} {side} buckets but its spans describe {spans}")]
    BucketsDontMatchSpans {
        side: &'static str,
        buckets: usize,
        spans: usize,
    },
    #[error("histogram chunk is full ({0} samples)")]
    Full(u16),
}

/// What appending did.
#[derive(Debug)]
pub enum Appended<C> {
    /// The sample went into this chunk.
    InPlace,
    /// This chunk was re-encoded with the sample's new buckets (zeros in earlier samples), then
    /// the sample appended.
    Recoded,
    /// The sample cannot join this chunk: here is a new chunk holding it, with its
    /// counter-reset header set. This chunk is unchanged.
    NewChunk(C),
}

/// Whether a histogram fits a chunk, as Prometheus's `appendable`/`appendableGauge` decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Appends as is (missing empty buckets are filled in).
    Append,
    /// Appends after re-coding the chunk with new buckets.
    Recode,
    /// Needs a new chunk with this counter-reset header.
    NewChunk(CounterResetHeader),
}

/// The inserts that make a histogram fit, or the header of the chunk to cut.
struct Fit {
    forward: [Vec<Insert>; 2],
    backward: [Vec<Insert>; 2],
    /// Spans for the histogram when it gets backward inserts (gauge: the union).
    spans: Option<[Vec<crate::model::Span>; 2]>,
}

/// The running state shared by the encoder and the decoder.
#[derive(Clone, Debug)]
struct State {
    t: i64,
    cnt: u64,
    zcnt: u64,
    t_delta: i64,
    cnt_delta: i64,
    zcnt_delta: i64,
    /// Stored (delta-encoded) bucket values of the last sample, positive then negative.
    buckets: [Vec<i64>; 2],
    /// Their change since the sample before.
    bucket_deltas: [Vec<i64>; 2],
    sum: XorState,
}

impl State {
    fn new(layout: &Layout) -> Self {
        let np = count_spans(&layout.positive_spans);
        let nn = count_spans(&layout.negative_spans);
        State {
            t: 0,
            cnt: 0,
            zcnt: 0,
            t_delta: 0,
            cnt_delta: 0,
            zcnt_delta: 0,
            buckets: [vec![0; np], vec![0; nn]],
            bucket_deltas: [vec![0; np], vec![0; nn]],
            sum: XorState::new(0),
        }
    }
}

/// An integer histogram chunk being appended to.
#[derive(Clone, Debug)]
pub struct HistogramChunk {
    w: BitWriter,
    layout: Layout,
    st: State,
}

impl Default for HistogramChunk {
    fn default() -> Self {
        Self::new()
    }
}

fn stale_marker(sum: f64) -> Histogram {
    Histogram {
        sum,
        ..Histogram::default()
    }
}

fn check_shape(h: &Histogram) -> Result<(), HistogramChunkError> {
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

impl HistogramChunk {
    pub fn new() -> Self {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&[0; HEADER_SIZE]);
        HistogramChunk {
            w: BitWriter { bytes, free: 0 },
            layout: Layout::default(),
            st: State::new(&Layout::default()),
        }
    }

    /// Reopens an encoded chunk for appending. `None` if it is corrupt.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let mut it = HistogramIter::new(bytes);
        for _ in it.by_ref() {}
        if it.error || it.read != it.num {
            return None;
        }
        let mut c = HistogramChunk::new();
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

    pub fn iter(&self) -> HistogramIter<'_> {
        HistogramIter::new(&self.w.bytes)
    }

    /// Whether `h` fits this chunk (see [`Verdict`]).
    pub fn appendable(&self, h: &Histogram) -> Verdict {
        if self.num_samples() == 0 {
            return Verdict::Append;
        }
        match self.fit(h) {
            Ok(f) if f.forward.iter().all(Vec::is_empty) => Verdict::Append,
            Ok(_) => Verdict::Recode,
            Err(hdr) => Verdict::NewChunk(hdr),
        }
    }

    fn fit(&self, h: &Histogram) -> Result<Fit, CounterResetHeader> {
        let gauge_chunk = self.counter_reset_header() == CounterResetHeader::Gauge;
        let stale_chunk = is_stale_nan(self.st.sum.value());
        let l = &self.layout;
        let schema_changed = h.schema != l.schema || h.zero_threshold != l.zero_threshold;
        let bounds_changed =
            h.schema == CUSTOM_BUCKETS_SCHEMA && h.custom_values != l.custom_values;
        if h.counter_reset_hint == CounterResetHint::Gauge {
            if !gauge_chunk {
                return Err(CounterResetHeader::Gauge);
            }
            if h.is_stale() {
                return Ok(Fit::empty());
            }
            if stale_chunk || schema_changed || bounds_changed {
                return Err(CounterResetHeader::Gauge);
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
            return Err(CounterResetHeader::NotCounterReset);
        }
        if h.counter_reset_hint == CounterResetHint::CounterReset {
            return Err(CounterResetHeader::CounterReset);
        }
        if h.is_stale() {
            return Ok(Fit::empty());
        }
        if stale_chunk {
            return Err(CounterResetHeader::Unknown);
        }
        if h.count < self.st.cnt {
            return Err(CounterResetHeader::CounterReset);
        }
        if schema_changed {
            return Err(CounterResetHeader::Unknown);
        }
        if bounds_changed || h.zero_count < self.st.zcnt {
            return Err(CounterResetHeader::CounterReset);
        }
        let (pf, pb) = expand_spans_and_buckets(
            &l.positive_spans,
            &h.positive_spans,
            |i| self.st.buckets[0].get(i).copied(),
            &h.positive_buckets,
        )
        .ok_or(CounterResetHeader::CounterReset)?;
        let (nf, nb) = expand_spans_and_buckets(
            &l.negative_spans,
            &h.negative_spans,
            |i| self.st.buckets[1].get(i).copied(),
            &h.negative_buckets,
        )
        .ok_or(CounterResetHeader::CounterReset)?;
        Ok(Fit {
            forward: [pf, nf],
            backward: [pb, nb],
            spans: None,
        })
    }

    /// Appends a histogram at `t` (after the last timestamp; the caller checks order).
    pub fn append(
        &mut self,
        t: i64,
        h: &Histogram,
    ) -> Result<Appended<HistogramChunk>, HistogramChunkError> {
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
                let mut c = HistogramChunk::new();
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
                insert_deltas(&h.positive_buckets, &fit.backward[0], count_spans(&ps));
            expanded.negative_buckets =
                insert_deltas(&h.negative_buckets, &fit.backward[1], count_spans(&ns));
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
    fn recode(
        &mut self,
        forward: &[Vec<Insert>; 2],
        ps: &[crate::model::Span],
        ns: &[crate::model::Span],
    ) {
        let mut c = HistogramChunk::new();
        let (np, nn) = (count_spans(ps), count_spans(ns));
        for (t, mut old) in self.iter() {
            if !old.is_stale() {
                old.positive_buckets = insert_deltas(&old.positive_buckets, &forward[0], np);
                old.negative_buckets = insert_deltas(&old.negative_buckets, &forward[1], nn);
                old.positive_spans = ps.to_vec();
                old.negative_spans = ns.to_vec();
            }
            c.append_raw(t, &old);
        }
        c.set_counter_reset_header(self.counter_reset_header());
        *self = c;
    }

    /// Writes a sample whose shape fits the layout (or the first sample, which sets it).
    fn append_raw(&mut self, t: i64, h: &Histogram) {
        let stale;
        let h = if h.is_stale() {
            stale = stale_marker(h.sum);
            &stale
        } else {
            h
        };
        let num = self.num_samples();
        let w = &mut self.w;
        let st = &mut self.st;
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
            *st = State::new(&self.layout);
            put_varbit_int(w, t);
            put_varbit_uint(w, h.count);
            put_varbit_uint(w, h.zero_count);
            w.write_bits(h.sum.to_bits(), 64);
            for &b in h.positive_buckets.iter().chain(&h.negative_buckets) {
                put_varbit_int(w, b);
            }
            st.buckets = [h.positive_buckets.clone(), h.negative_buckets.clone()];
            st.sum = XorState::new(h.sum.to_bits());
            st.t_delta = 0;
            st.cnt_delta = 0;
            st.zcnt_delta = 0;
        } else {
            let t_delta = t.wrapping_sub(st.t);
            let cnt_delta = (h.count as i64).wrapping_sub(st.cnt as i64);
            let zcnt_delta = (h.zero_count as i64).wrapping_sub(st.zcnt as i64);
            put_varbit_int(w, t_delta.wrapping_sub(st.t_delta));
            if h.is_stale() {
                put_varbit_int(w, 0);
                put_varbit_int(w, 0);
            } else {
                put_varbit_int(w, cnt_delta.wrapping_sub(st.cnt_delta));
                put_varbit_int(w, zcnt_delta.wrapping_sub(st.zcnt_delta));
            }
            st.sum.write(w, h.sum);
            for (side, buckets) in [&h.positive_buckets, &h.negative_buckets]
                .into_iter()
                .enumerate()
            {
                for (i, &b) in buckets.iter().enumerate() {
                    let delta = b.wrapping_sub(st.buckets[side][i]);
                    put_varbit_int(w, delta.wrapping_sub(st.bucket_deltas[side][i]));
                    st.bucket_deltas[side][i] = delta;
                    st.buckets[side][i] = b;
                }
            }
            st.t_delta = t_delta;
            st.cnt_delta = cnt_delta;
            st.zcnt_delta = zcnt_delta;
        }
        st.t = t;
        st.cnt = h.count;
        st.zcnt = h.zero_count;
        let n = (num + 1).to_be_bytes();
        self.w.bytes[0..2].copy_from_slice(&n);
    }
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

/// Decodes an integer histogram chunk. On corrupt input it stops and sets `error`.
#[derive(Clone, Debug)]
pub struct HistogramIter<'a> {
    r: BitReader<'a>,
    num: u16,
    read: u16,
    header: CounterResetHeader,
    layout: Layout,
    st: State,
    /// Set when the bytes ended early or held an impossible value.
    pub error: bool,
}

impl<'a> HistogramIter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        let ok = bytes.len() >= HEADER_SIZE;
        HistogramIter {
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

    fn step(&mut self) -> Option<(i64, Histogram)> {
        let r = &mut self.r;
        let st = &mut self.st;
        if self.read == 0 {
            self.layout = read_layout(r)?;
            *st = State::new(&self.layout);
            st.t = read_varbit_int(r)?;
            st.cnt = read_varbit_uint(r)?;
            st.zcnt = read_varbit_uint(r)?;
            st.sum = XorState::new(r.read_bits(64)?);
            for side in 0..2 {
                for i in 0..st.buckets[side].len() {
                    st.buckets[side][i] = read_varbit_int(r)?;
                }
            }
        } else {
            st.t_delta = st.t_delta.wrapping_add(read_varbit_int(r)?);
            st.t = st.t.wrapping_add(st.t_delta);
            st.cnt_delta = st.cnt_delta.wrapping_add(read_varbit_int(r)?);
            st.cnt = (st.cnt as i64).wrapping_add(st.cnt_delta) as u64;
            st.zcnt_delta = st.zcnt_delta.wrapping_add(read_varbit_int(r)?);
            st.zcnt = (st.zcnt as i64).wrapping_add(st.zcnt_delta) as u64;
            st.sum.read(r)?;
            if !is_stale_nan(st.sum.value()) {
                if st.buckets.iter().map(Vec::len).sum::<usize>() > remaining_bits(r) {
                    return None;
                }
                for side in 0..2 {
                    for i in 0..st.buckets[side].len() {
                        let d = st.bucket_deltas[side][i].wrapping_add(read_varbit_int(r)?);
                        st.bucket_deltas[side][i] = d;
                        st.buckets[side][i] = st.buckets[side][i].wrapping_add(d);
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
            Histogram {
                counter_reset_hint: self.header.hint_for(index),
                schema: l.schema,
                zero_threshold: l.zero_threshold,
                zero_count: st.zcnt,
                count: st.cnt,
                sum,
                positive_spans: l.positive_spans.clone(),
                negative_spans: l.negative_spans.clone(),
                positive_buckets: st.buckets[0].clone(),
                negative_buckets: st.buckets[1].clone(),
                custom_values: l.custom_values.clone(),
            },
        ))
    }
}

impl Iterator for HistogramIter<'_> {
    type Item = (i64, Histogram);

    fn next(&mut self) -> Option<(i64, Histogram)> {
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
