//! The native-histogram samples of a head series: an open histogram chunk (integer histograms in
//! `histogram_chunk`, float histograms in `float_histogram_chunk`) and sealed ones waiting for a
//! flush, plus the newest histogram as appended (for telling repeats from duplicates).
//!
//! A chunk is cut as Prometheus's head cuts histogram chunks: when the form changes (integer ↔
//! float), when the encoder cannot append (schema, zero threshold or custom bounds change, a
//! counter reset, a gauge/counter switch, a live sample after a stale marker — the encoder hands
//! back the new chunk with its counter-reset header), at the 2h boundary, and once a chunk holds
//! 1,024 bytes and at least 10 samples. New buckets re-code the open chunk in place, as
//! Prometheus does. A chunk cut for size or time continuing a chunk of the same form gets the
//! counter-reset header the previous chunk's `appendable` verdict gives (`CounterReset` after a
//! reset, else `NotCounterReset`); a chunk after float samples (or none) keeps `Unknown`.
//!
//! Also the helpers shared by queries, flushes and deletions: decoding a chunk of either form,
//! and re-encoding a list of histogram samples into chunks.
//!
//! Uses `chunkenc` (the 2h range), `histogram_chunk`, `float_histogram_chunk`, `model`.

use std::sync::Arc;

use super::chunkenc::range_end;
use super::float_histogram_chunk::{FloatHistogramChunk, FloatHistogramIter};
use super::histogram_chunk::{
    Appended, CounterResetHeader, HistogramChunk, HistogramIter, Verdict,
};
use crate::model::{CounterResetHint, HistogramSample, HistogramValue};

/// A histogram chunk is cut once it holds this many bytes (Prometheus's
/// `TargetBytesPerHistogramChunk`) ...
pub const TARGET_BYTES: usize = 1024;
/// ... and at least this many samples (`MinSamplesPerHistogramChunk`).
pub const MIN_SAMPLES: u16 = 10;
/// A chunk is never fuller than this (the sample count is a u16).
const MAX_SAMPLES: u16 = u16::MAX - 1;

/// Which histogram chunk encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistForm {
    Int,
    Float,
}

impl HistForm {
    pub fn of(h: &HistogramValue) -> HistForm {
        match h {
            HistogramValue::Int(_) => HistForm::Int,
            HistogramValue::Float(_) => HistForm::Float,
        }
    }
}

/// A finished histogram chunk waiting to be persisted.
#[derive(Debug, Clone)]
pub struct SealedHistChunk {
    pub min_t: i64,
    pub max_t: i64,
    pub form: HistForm,
    pub data: Arc<[u8]>,
}

/// The chunk being appended to.
#[derive(Debug, Clone)]
pub enum OpenHistChunk {
    Int(HistogramChunk),
    Float(FloatHistogramChunk),
}

impl OpenHistChunk {
    fn new(form: HistForm) -> Self {
        match form {
            HistForm::Int => OpenHistChunk::Int(HistogramChunk::new()),
            HistForm::Float => OpenHistChunk::Float(FloatHistogramChunk::new()),
        }
    }

    /// Reopens encoded chunk bytes; `None` if they do not decode.
    pub fn from_bytes(form: HistForm, b: &[u8]) -> Option<Self> {
        Some(match form {
            HistForm::Int => OpenHistChunk::Int(HistogramChunk::from_bytes(b)?),
            HistForm::Float => OpenHistChunk::Float(FloatHistogramChunk::from_bytes(b)?),
        })
    }

    pub fn form(&self) -> HistForm {
        match self {
            OpenHistChunk::Int(_) => HistForm::Int,
            OpenHistChunk::Float(_) => HistForm::Float,
        }
    }

    pub fn num_samples(&self) -> u16 {
        match self {
            OpenHistChunk::Int(c) => c.num_samples(),
            OpenHistChunk::Float(c) => c.num_samples(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        match self {
            OpenHistChunk::Int(c) => c.bytes(),
            OpenHistChunk::Float(c) => c.bytes(),
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        match self {
            OpenHistChunk::Int(c) => c.into_bytes(),
            OpenHistChunk::Float(c) => c.into_bytes(),
        }
    }

    pub fn last_t(&self) -> i64 {
        match self {
            OpenHistChunk::Int(c) => c.last_t(),
            OpenHistChunk::Float(c) => c.last_t(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            OpenHistChunk::Int(c) => c.heap_bytes(),
            OpenHistChunk::Float(c) => c.heap_bytes(),
        }
    }

    fn header(&self) -> CounterResetHeader {
        match self {
            OpenHistChunk::Int(c) => c.counter_reset_header(),
            OpenHistChunk::Float(c) => c.counter_reset_header(),
        }
    }

    fn set_header(&mut self, h: CounterResetHeader) {
        match self {
            OpenHistChunk::Int(c) => c.set_counter_reset_header(h),
            OpenHistChunk::Float(c) => c.set_counter_reset_header(h),
        }
    }

    /// The header a new chunk starting with `h` gets when it continues this one.
    fn header_after(&self, h: &HistogramValue) -> CounterResetHeader {
        let v = match (self, h) {
            (OpenHistChunk::Int(c), HistogramValue::Int(h)) => c.appendable(h),
            (OpenHistChunk::Float(c), HistogramValue::Float(h)) => c.appendable(h),
            _ => return CounterResetHeader::Unknown,
        };
        match v {
            Verdict::NewChunk(hdr) => hdr,
            Verdict::Append | Verdict::Recode => CounterResetHeader::NotCounterReset,
        }
    }

    /// Appends `h` (of this chunk's form); a new chunk comes back when it cannot join this one.
    /// `None` when the encoder refuses the histogram (spans and buckets disagree).
    fn append(&mut self, t: i64, h: &HistogramValue) -> Option<Option<OpenHistChunk>> {
        match (self, h) {
            (OpenHistChunk::Int(c), HistogramValue::Int(h)) => match c.append(t, h).ok()? {
                Appended::NewChunk(n) => Some(Some(OpenHistChunk::Int(n))),
                _ => Some(None),
            },
            (OpenHistChunk::Float(c), HistogramValue::Float(h)) => match c.append(t, h).ok()? {
                Appended::NewChunk(n) => Some(Some(OpenHistChunk::Float(n))),
                _ => Some(None),
            },
            _ => None,
        }
    }

    /// Every sample of the chunk.
    pub fn samples(&self) -> Vec<HistogramSample> {
        decode_chunk(self.form(), self.bytes()).unwrap_or_default()
    }
}

/// Decodes a histogram chunk of `form`; `None` if it is damaged.
pub fn decode_chunk(form: HistForm, b: &[u8]) -> Option<Vec<HistogramSample>> {
    match form {
        HistForm::Int => {
            let mut it = HistogramIter::new(b);
            let v: Vec<HistogramSample> = it
                .by_ref()
                .map(|(t, h)| HistogramSample {
                    t,
                    h: HistogramValue::Int(h),
                })
                .collect();
            (!it.error && v.len() == usize::from(it.num_samples())).then_some(v)
        }
        HistForm::Float => {
            let mut it = FloatHistogramIter::new(b);
            let v: Vec<HistogramSample> = it
                .by_ref()
                .map(|(t, h)| HistogramSample {
                    t,
                    h: HistogramValue::Float(h),
                })
                .collect();
            (!it.error && v.len() == usize::from(it.num_samples())).then_some(v)
        }
    }
}

/// The counter-reset header of encoded chunk bytes.
pub fn chunk_header(b: &[u8]) -> CounterResetHeader {
    CounterResetHeader::from_flags(
        b.get(super::histogram_layout::FLAGS_POS)
            .copied()
            .unwrap_or(0),
    )
}

/// Re-encodes samples (time-ordered, e.g. what is left of a chunk after a deletion) into
/// chunks, cutting only where the encoder must (so what was one chunk stays one); the first
/// chunk gets `header` unless its first sample's hint sets one. Returns (min_t, max_t, form,
/// bytes) per chunk.
pub fn encode_samples(
    samples: &[HistogramSample],
    header: CounterResetHeader,
) -> Vec<(i64, i64, HistForm, Vec<u8>)> {
    let mut out = Vec::new();
    let mut cur: Option<(i64, OpenHistChunk)> = None;
    let done = |out: &mut Vec<(i64, i64, HistForm, Vec<u8>)>, (min_t, c): (i64, OpenHistChunk)| {
        if c.num_samples() > 0 {
            out.push((min_t, c.last_t(), c.form(), c.into_bytes()));
        }
    };
    for s in samples {
        // Decoded hints describe the old chunk; the new ones follow from the order.
        let mut h = s.h.clone();
        if h.counter_reset_hint() != CounterResetHint::Gauge {
            set_hint(&mut h, CounterResetHint::Unknown);
        }
        let form = HistForm::of(&h);
        match &mut cur {
            Some((_, c)) if c.form() == form && c.num_samples() < MAX_SAMPLES => {
                match c.append(s.t, &h) {
                    None | Some(None) => {}
                    Some(Some(next)) => {
                        if let Some(prev) = cur.replace((s.t, next)) {
                            done(&mut out, prev);
                        }
                    }
                }
            }
            _ => {
                let first = cur.is_none() && out.is_empty();
                if let Some(prev) = cur.take() {
                    done(&mut out, prev);
                }
                let mut c = OpenHistChunk::new(form);
                if c.append(s.t, &h).is_none() {
                    continue;
                }
                if first && c.header() == CounterResetHeader::Unknown {
                    c.set_header(header);
                }
                cur = Some((s.t, c));
            }
        }
    }
    if let Some(prev) = cur {
        done(&mut out, prev);
    }
    out
}

fn set_hint(h: &mut HistogramValue, hint: CounterResetHint) {
    match h {
        HistogramValue::Int(h) => h.counter_reset_hint = hint,
        HistogramValue::Float(h) => h.counter_reset_hint = hint,
    }
}

/// The histogram side of a head series.
#[derive(Debug, Clone)]
pub struct HistData {
    pub open: Option<OpenHistChunk>,
    pub open_min_t: i64,
    /// Whether the open chunk changed since it was last persisted.
    pub open_dirty: bool,
    pub sealed: Vec<SealedHistChunk>,
    /// Newest histogram sample time (`i64::MIN` if none) and the histogram as appended.
    pub last_t: i64,
    pub last: Option<HistogramValue>,
}

impl Default for HistData {
    fn default() -> Self {
        HistData {
            open: None,
            open_min_t: 0,
            open_dirty: false,
            sealed: Vec::new(),
            last_t: i64::MIN,
            last: None,
        }
    }
}

impl HistData {
    /// Appends a histogram the caller has checked is newer than every sample of the series.
    /// `continues` says the series' previous sample is the open chunk's last one (no float
    /// sample since). Returns the bytes of chunks sealed to make room.
    pub fn append(&mut self, t: i64, h: HistogramValue, continues: bool) -> usize {
        let form = HistForm::of(&h);
        let mut sealed = 0;
        let cut = match &self.open {
            None => true,
            Some(c) => {
                c.form() != form
                    || !continues
                    || t >= range_end(self.open_min_t)
                    || (c.bytes().len() >= TARGET_BYTES && c.num_samples() >= MIN_SAMPLES)
                    || c.num_samples() >= MAX_SAMPLES
            }
        };
        if cut {
            let header = match &self.open {
                Some(c) if continues && c.form() == form => c.header_after(&h),
                _ => CounterResetHeader::Unknown,
            };
            sealed += self.seal();
            let mut c = OpenHistChunk::new(form);
            if c.append(t, &h).is_none() {
                return sealed;
            }
            if c.header() == CounterResetHeader::Unknown {
                c.set_header(header);
            }
            self.open = Some(c);
            self.open_min_t = t;
        } else if let Some(c) = &mut self.open {
            match c.append(t, &h) {
                None => return sealed,
                Some(None) => {}
                Some(Some(next)) => {
                    sealed += self.seal();
                    self.open = Some(next);
                    self.open_min_t = t;
                }
            }
        }
        self.open_dirty = true;
        self.last_t = t;
        self.last = Some(h);
        sealed
    }

    /// Moves the open chunk (if any) to the sealed list; returns its size in bytes.
    pub fn seal(&mut self) -> usize {
        let mut n = 0;
        if let Some(c) = self.open.take() {
            if c.num_samples() > 0 {
                let max_t = c.last_t();
                let form = c.form();
                let data: Arc<[u8]> = c.into_bytes().into();
                n = data.len();
                self.sealed.push(SealedHistChunk {
                    min_t: self.open_min_t,
                    max_t,
                    form,
                    data,
                });
            }
        }
        self.open_dirty = false;
        n
    }

    /// Removes the samples in [mint, maxt] (re-encoding what is left of a chunk, dropping a
    /// chunk left empty). Returns (samples removed, sealed bytes freed).
    pub fn delete_range(&mut self, mint: i64, maxt: i64) -> (usize, usize) {
        let (mut removed, mut freed) = (0usize, 0usize);
        let keep = |s: &HistogramSample| s.t < mint || s.t > maxt;
        let mut sealed = Vec::with_capacity(self.sealed.len());
        for c in self.sealed.drain(..) {
            if c.max_t < mint || c.min_t > maxt {
                sealed.push(c);
                continue;
            }
            let all = decode_chunk(c.form, &c.data).unwrap_or_default();
            let kept: Vec<HistogramSample> = all.iter().filter(|s| keep(s)).cloned().collect();
            removed += all.len() - kept.len();
            freed += c.data.len();
            for (min_t, max_t, form, data) in encode_samples(&kept, chunk_header(&c.data)) {
                freed = freed.saturating_sub(data.len());
                sealed.push(SealedHistChunk {
                    min_t,
                    max_t,
                    form,
                    data: data.into(),
                });
            }
        }
        self.sealed = sealed;
        let open_hit = self
            .open
            .as_ref()
            .is_some_and(|c| c.num_samples() > 0 && c.last_t() >= mint && self.open_min_t <= maxt);
        if open_hit {
            let Some(c) = self.open.take() else {
                return (removed, freed);
            };
            let all = c.samples();
            let kept: Vec<HistogramSample> = all.iter().filter(|s| keep(s)).cloned().collect();
            removed += all.len() - kept.len();
            let mut chunks = encode_samples(&kept, chunk_header(c.bytes()));
            if let Some((min_t, _, form, data)) = chunks.pop() {
                for (min_t, max_t, form, data) in chunks {
                    self.sealed.push(SealedHistChunk {
                        min_t,
                        max_t,
                        form,
                        data: data.into(),
                    });
                }
                self.open = OpenHistChunk::from_bytes(form, &data);
                self.open_min_t = min_t;
            }
            self.open_dirty = true;
        }
        (removed, freed)
    }

    /// Oldest sample time in head chunks, if any.
    pub fn head_min_t(&self) -> Option<i64> {
        let sealed = self.sealed.iter().map(|c| c.min_t).min();
        let open = self
            .open
            .as_ref()
            .filter(|c| c.num_samples() > 0)
            .map(|_| self.open_min_t);
        match (sealed, open) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether any head chunk holds samples.
    pub fn has_head_data(&self) -> bool {
        !self.sealed.is_empty() || self.open.as_ref().is_some_and(|c| c.num_samples() > 0)
    }

    /// Head chunks overlapping [mint, maxt], oldest first, as (form, bytes).
    pub fn chunks_in(&self, mint: i64, maxt: i64) -> Vec<(HistForm, Arc<[u8]>)> {
        let mut out: Vec<(HistForm, Arc<[u8]>)> = self
            .sealed
            .iter()
            .filter(|c| c.max_t >= mint && c.min_t <= maxt)
            .map(|c| (c.form, c.data.clone()))
            .collect();
        if let Some(c) = &self.open {
            if c.num_samples() > 0 && c.last_t() >= mint && self.open_min_t <= maxt {
                out.push((c.form(), Arc::from(c.bytes())));
            }
        }
        out
    }

    /// Heap bytes held by chunks and the newest histogram.
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<HistData>()
            + self.open.as_ref().map_or(0, OpenHistChunk::heap_bytes)
            + self.sealed.iter().map(|c| c.data.len()).sum::<usize>()
            + self.sealed.capacity() * std::mem::size_of::<SealedHistChunk>()
            + self.last.as_ref().map_or(0, value_heap_bytes)
    }
}

/// Heap bytes of a histogram's vectors.
fn value_heap_bytes(h: &HistogramValue) -> usize {
    match h {
        HistogramValue::Int(h) => {
            (h.positive_spans.capacity() + h.negative_spans.capacity()) * 8
                + (h.positive_buckets.capacity() + h.negative_buckets.capacity()) * 8
                + h.custom_values.capacity() * 8
        }
        HistogramValue::Float(h) => {
            (h.positive_spans.capacity() + h.negative_spans.capacity()) * 8
                + (h.positive_buckets.capacity() + h.negative_buckets.capacity()) * 8
                + h.custom_values.capacity() * 8
        }
    }
}
