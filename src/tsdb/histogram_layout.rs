//! What Prometheus's two histogram chunk encodings (`EncHistogram` = 2 for integer histograms,
//! `EncFloatHistogram` = 3 for float histograms; tsdb/docs/format/chunks.md) share: the 3-byte
//! header (a big-endian u16 sample count, then a flags byte whose top two bits are the
//! counter-reset header), the layout written once per chunk (zero threshold, schema, positive
//! and negative spans, custom bucket bounds for schema −53), the `varbit` integer encodings,
//! Gorilla XOR values with their leading/trailing window, and the bucket arithmetic that tells
//! whether a histogram fits a chunk's layout (new buckets appearing are "forward inserts" that
//! re-code the chunk; buckets the chunk has but the histogram lacks are "backward inserts" that
//! are filled with zeros in the histogram, allowed only when they were empty).
//!
//! Decoding is bounds-checked: every read returns `None` on truncated or impossible input.
//!
//! Uses `chunkenc` (the bit writer and reader) and `model` (spans, hints).

use std::cmp::Ordering;

use super::chunkenc::{write_xor_value, BitReader, BitWriter};
use crate::model::histogram::{
    CounterResetHint, Span, CUSTOM_BUCKETS_SCHEMA, MAX_EXPONENTIAL_SCHEMA, MIN_EXPONENTIAL_SCHEMA,
};

/// Bytes before the bit stream: u16 sample count, then the flags byte.
pub(crate) const HEADER_SIZE: usize = 3;
/// Position of the flags byte.
pub(crate) const FLAGS_POS: usize = 2;
const COUNTER_RESET_MASK: u8 = 0b1100_0000;

/// The counter-reset header: the top two bits of a histogram chunk's flags byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CounterResetHeader {
    /// `00`: not known whether a counter reset happened before this chunk.
    #[default]
    Unknown,
    /// `10`: this chunk was cut because of a counter reset.
    CounterReset,
    /// `01`: there was no counter reset between the previous chunk and this one.
    NotCounterReset,
    /// `11`: a gauge histogram chunk; counter resets do not apply.
    Gauge,
}

impl CounterResetHeader {
    /// The flags-byte bits.
    pub fn bits(self) -> u8 {
        match self {
            CounterResetHeader::Unknown => 0b0000_0000,
            CounterResetHeader::CounterReset => 0b1000_0000,
            CounterResetHeader::NotCounterReset => 0b0100_0000,
            CounterResetHeader::Gauge => 0b1100_0000,
        }
    }

    /// Reads the header from a flags byte (other bits ignored).
    pub fn from_flags(flags: u8) -> Self {
        match flags & COUNTER_RESET_MASK {
            0b1000_0000 => CounterResetHeader::CounterReset,
            0b0100_0000 => CounterResetHeader::NotCounterReset,
            0b1100_0000 => CounterResetHeader::Gauge,
            _ => CounterResetHeader::Unknown,
        }
    }

    /// The hint a decoded histogram gets: gauge chunks give `Gauge`; in a counter chunk every
    /// sample after the first is `NotCounterReset`; the first is `Unknown`, as Prometheus 3 reads
    /// it (the previous chunk may be gone), whatever the header says.
    pub(crate) fn hint_for(self, index: u16) -> CounterResetHint {
        match self {
            CounterResetHeader::Gauge => CounterResetHint::Gauge,
            _ if index > 0 => CounterResetHint::NotCounterReset,
            _ => CounterResetHint::Unknown,
        }
    }
}

/// Sets the counter-reset bits of a chunk's flags byte.
pub(crate) fn set_header(bytes: &mut [u8], h: CounterResetHeader) {
    if let Some(f) = bytes.get_mut(FLAGS_POS) {
        *f = (*f & !COUNTER_RESET_MASK) | h.bits();
    }
}

/// Schemas a chunk may hold: exponential −4…8 and custom buckets (−53).
pub(crate) fn is_known_schema(s: i32) -> bool {
    (MIN_EXPONENTIAL_SCHEMA..=MAX_EXPONENTIAL_SCHEMA).contains(&s) || s == CUSTOM_BUCKETS_SCHEMA
}

// ---------------------------------------------------------------------------------------------
// varbit integers: a unary prefix of 0–8 one-bits (ended by a zero bit below 8) picks the width.
//   0 → value 0 (1 bit); 10 → 3 bits; 110 → 6; 1110 → 9; 11110 → 12; 111110 → 18;
//   1111110 → 25; 11111110 → 56; 11111111 → 64.
// Signed values are two's complement in the width, the range being −(2^(n−1)−1) … 2^(n−1).

const WIDTHS: [u8; 8] = [3, 6, 9, 12, 18, 25, 56, 64];

fn fits_signed(v: i64, n: u8) -> bool {
    let lim = 1i64 << (n - 1);
    -(lim - 1) <= v && v <= lim
}

pub(crate) fn put_varbit_int(w: &mut BitWriter, v: i64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &n) in WIDTHS.iter().enumerate() {
        if n == 64 || fits_signed(v, n) {
            put_prefix(w, i);
            w.write_bits(v as u64, n);
            return;
        }
    }
}

pub(crate) fn put_varbit_uint(w: &mut BitWriter, v: u64) {
    if v == 0 {
        w.write_bit(false);
        return;
    }
    for (i, &n) in WIDTHS.iter().enumerate() {
        if n == 64 || v >> n == 0 {
            put_prefix(w, i);
            w.write_bits(v, n);
            return;
        }
    }
}

/// `i + 1` one-bits, then a zero bit unless the prefix is the full eight ones.
fn put_prefix(w: &mut BitWriter, i: usize) {
    let ones = i as u8 + 1;
    if ones == 8 {
        w.write_bits(0xff, 8);
    } else {
        w.write_bits(((1u64 << ones) - 1) << 1, ones + 1);
    }
}

/// The width a prefix announces (0 for the single zero bit).
fn read_width(r: &mut BitReader) -> Option<u8> {
    let mut ones = 0usize;
    while ones < 8 && r.read_bit()? {
        ones += 1;
    }
    Some(if ones == 0 { 0 } else { WIDTHS[ones - 1] })
}

pub(crate) fn read_varbit_int(r: &mut BitReader) -> Option<i64> {
    let n = read_width(r)?;
    if n == 0 {
        return Some(0);
    }
    let bits = r.read_bits(n)?;
    if n < 64 && bits > 1u64 << (n - 1) {
        return Some((bits as i64).wrapping_sub(1i64 << n));
    }
    Some(bits as i64)
}

pub(crate) fn read_varbit_uint(r: &mut BitReader) -> Option<u64> {
    match read_width(r)? {
        0 => Some(0),
        n => r.read_bits(n),
    }
}

// ---------------------------------------------------------------------------------------------
// Gorilla XOR values, written with the XOR chunk's own `write_xor_value` (the same bits).

/// A value and its XOR window; `leading == 0xff` means no window was written yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct XorState {
    pub(crate) bits: u64,
    pub(crate) leading: u8,
    pub(crate) trailing: u8,
}

impl XorState {
    pub(crate) fn new(bits: u64) -> Self {
        XorState {
            bits,
            leading: 0xff,
            trailing: 0,
        }
    }

    pub(crate) fn value(&self) -> f64 {
        f64::from_bits(self.bits)
    }

    pub(crate) fn write(&mut self, w: &mut BitWriter, v: f64) {
        let new = v.to_bits();
        write_xor_value(w, self.bits, new, &mut self.leading, &mut self.trailing);
        self.bits = new;
    }

    /// Reads one XOR value. A window reused before any was set reads as the full 64 bits (what
    /// Prometheus's reader does, whose window starts at zero).
    pub(crate) fn read(&mut self, r: &mut BitReader) -> Option<()> {
        if !r.read_bit()? {
            return Some(());
        }
        let (sig, trail) = if !r.read_bit()? {
            if self.leading == 0xff {
                (64, 0)
            } else {
                (
                    64u8.checked_sub(self.leading + self.trailing)?,
                    self.trailing,
                )
            }
        } else {
            let lead = r.read_bits(5)? as u8;
            let sig = match r.read_bits(6)? as u8 {
                0 => 64,
                m => m,
            };
            let trail = 64u8.checked_sub(lead)?.checked_sub(sig)?;
            self.leading = lead;
            self.trailing = trail;
            (sig, trail)
        };
        let v = r.read_bits(sig)?;
        self.bits ^= v.checked_shl(u32::from(trail)).unwrap_or(0);
        Some(())
    }
}

// ---------------------------------------------------------------------------------------------
// The layout.

/// What a chunk's first sample fixes for all of its samples.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Layout {
    pub(crate) schema: i32,
    pub(crate) zero_threshold: f64,
    pub(crate) positive_spans: Vec<Span>,
    pub(crate) negative_spans: Vec<Span>,
    pub(crate) custom_values: Vec<f64>,
}

/// The zero threshold: byte 0 for 0; a power of two 2^−243…2^10 as one byte holding its
/// `frexp` exponent + 243 (1…254); anything else as byte 255 and the 64 float bits.
fn put_zero_threshold(w: &mut BitWriter, z: f64) {
    if z == 0.0 {
        w.write_byte(0);
        return;
    }
    let bits = z.to_bits();
    let biased = (bits >> 52) & 0x7ff;
    // A positive normal power of two 2^(e−1023) = 0.5 · 2^(e−1022).
    if z > 0.0 && bits & ((1u64 << 52) - 1) == 0 && (1..0x7ff).contains(&biased) {
        let exp = biased as i64 - 1022;
        if (-242..=11).contains(&exp) {
            w.write_byte((exp + 243) as u8);
            return;
        }
    }
    w.write_byte(255);
    w.write_bits(bits, 64);
}

fn read_zero_threshold(r: &mut BitReader) -> Option<f64> {
    match r.read_bits(8)? as u8 {
        0 => Some(0.0),
        255 => Some(f64::from_bits(r.read_bits(64)?)),
        // 0.5 · 2^(b−243) = 2^(b−244), always a normal float here.
        b => Some(f64::from_bits(((i64::from(b) - 244 + 1023) as u64) << 52)),
    }
}

/// A custom bucket bound: x·1000 when it is a whole number 0…33554430 is stored as
/// varbit_uint(x·1000 + 1) (so it starts with a one bit); anything else as a zero bit and
/// the 64 float bits.
fn put_custom_bound(w: &mut BitWriter, x: f64) {
    let y = x * 1000.0;
    let whole = {
        let i = (x * 1000.0).round() as u64;
        i as f64 / 1000.0 == x
    };
    if !(0.0..=33_554_430.0).contains(&y) || !whole {
        w.write_bit(false);
        w.write_bits(x.to_bits(), 64);
        return;
    }
    put_varbit_uint(w, y.round() as u64 + 1);
}

fn read_custom_bound(r: &mut BitReader) -> Option<f64> {
    match read_varbit_uint(r)? {
        0 => Some(f64::from_bits(r.read_bits(64)?)),
        b => Some((b - 1) as f64 / 1000.0),
    }
}

fn put_spans(w: &mut BitWriter, spans: &[Span]) {
    put_varbit_uint(w, spans.len() as u64);
    for s in spans {
        put_varbit_uint(w, u64::from(s.length));
        put_varbit_int(w, i64::from(s.offset));
    }
}

/// Reads spans; a count larger than the bits left is corruption (each span takes ≥ 2 bits).
fn read_spans(r: &mut BitReader) -> Option<Vec<Span>> {
    let n = usize::try_from(read_varbit_uint(r)?).ok()?;
    if n > remaining_bits(r) {
        return None;
    }
    let mut spans = Vec::with_capacity(n);
    for _ in 0..n {
        let length = u32::try_from(read_varbit_uint(r)?).ok()?;
        let offset = i32::try_from(read_varbit_int(r)?).ok()?;
        spans.push(Span { offset, length });
    }
    Some(spans)
}

pub(crate) fn remaining_bits(r: &BitReader) -> usize {
    (r.bytes.len() * 8).saturating_sub(r.pos)
}

pub(crate) fn write_layout(w: &mut BitWriter, l: &Layout) {
    put_zero_threshold(w, l.zero_threshold);
    put_varbit_int(w, i64::from(l.schema));
    put_spans(w, &l.positive_spans);
    put_spans(w, &l.negative_spans);
    if l.schema == CUSTOM_BUCKETS_SCHEMA {
        put_varbit_uint(w, l.custom_values.len() as u64);
        for &v in &l.custom_values {
            put_custom_bound(w, v);
        }
    }
}

/// Reads the layout; unknown schemas and bucket counts beyond the bits left are corruption.
pub(crate) fn read_layout(r: &mut BitReader) -> Option<Layout> {
    let zero_threshold = read_zero_threshold(r)?;
    let schema = i32::try_from(read_varbit_int(r)?).ok()?;
    if !is_known_schema(schema) {
        return None;
    }
    let positive_spans = read_spans(r)?;
    let negative_spans = read_spans(r)?;
    let mut custom_values = Vec::new();
    if schema == CUSTOM_BUCKETS_SCHEMA {
        let n = usize::try_from(read_varbit_uint(r)?).ok()?;
        if n > remaining_bits(r) {
            return None;
        }
        custom_values.reserve(n);
        for _ in 0..n {
            custom_values.push(read_custom_bound(r)?);
        }
    }
    let buckets = count_spans(&positive_spans).checked_add(count_spans(&negative_spans))?;
    if buckets > remaining_bits(r) {
        return None;
    }
    Some(Layout {
        schema,
        zero_threshold,
        positive_spans,
        negative_spans,
        custom_values,
    })
}

/// Buckets the spans describe.
pub(crate) fn count_spans(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.length as usize).sum()
}

// ---------------------------------------------------------------------------------------------
// Bucket arithmetic.

/// Walks the absolute bucket indexes the spans describe (empty spans allowed).
struct BucketIndexes<'a> {
    spans: &'a [Span],
    span: usize,
    in_span: u32,
    idx: i64,
}

impl<'a> BucketIndexes<'a> {
    fn new(spans: &'a [Span]) -> Self {
        BucketIndexes {
            spans,
            span: 0,
            in_span: 0,
            idx: spans.first().map_or(0, |s| i64::from(s.offset)) - 1,
        }
    }
}

impl Iterator for BucketIndexes<'_> {
    type Item = i64;

    fn next(&mut self) -> Option<i64> {
        let first = self.spans.get(self.span)?;
        if self.in_span < first.length {
            self.in_span += 1;
            self.idx += 1;
            return Some(self.idx);
        }
        while self.span + 1 < self.spans.len() {
            self.span += 1;
            let s = self.spans[self.span];
            self.idx += i64::from(s.offset);
            if s.length == 0 {
                continue;
            }
            self.in_span = 1;
            self.idx += 1;
            return Some(self.idx);
        }
        self.span = self.spans.len();
        None
    }
}

/// `num` new buckets go before the `pos`-th bucket of the old list; `bucket_idx` is the
/// absolute index of the first of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Insert {
    pos: usize,
    num: usize,
    bucket_idx: i64,
}

/// How bucket values turn into absolute counts while walking them.
pub(crate) trait BucketValue: Copy + PartialOrd + Default {
    /// The absolute count of a bucket given the previous bucket's and this one's stored value.
    fn absolute(prev_abs: Self, stored: Self) -> Self;
    fn is_zero(self) -> bool;
}

impl BucketValue for i64 {
    fn absolute(prev_abs: i64, stored: i64) -> i64 {
        prev_abs.wrapping_add(stored)
    }
    fn is_zero(self) -> bool {
        self == 0
    }
}

impl BucketValue for f64 {
    fn absolute(_: f64, stored: f64) -> f64 {
        stored
    }
    fn is_zero(self) -> bool {
        self == 0.0
    }
}

fn push_run(inserts: &mut Vec<Insert>, run: &mut Insert, bucket: i64) {
    if run.num == 0 {
        run.bucket_idx = bucket;
    } else if run.bucket_idx + run.num as i64 != bucket {
        inserts.push(*run);
        run.num = 0;
        run.bucket_idx = bucket;
    }
    run.num += 1;
}

/// For a counter histogram: the forward inserts (buckets of `b` missing from the chunk's `a`)
/// and backward inserts (empty buckets of `a` missing from `b`); `None` when a bucket of `a`
/// in use is missing from `b` or any bucket's count went down (a counter reset).
pub(crate) fn expand_spans_and_buckets<T: BucketValue>(
    a: &[Span],
    b: &[Span],
    a_buckets: impl Fn(usize) -> Option<T>,
    b_buckets: &[T],
) -> Option<(Vec<Insert>, Vec<Insert>)> {
    let b_buckets = |i: usize| b_buckets.get(i).copied();
    let (mut ai, mut bi) = (BucketIndexes::new(a), BucketIndexes::new(b));
    let (mut a_ins, mut b_ins) = (Vec::new(), Vec::new());
    let (mut a_run, mut b_run) = (Insert::default(), Insert::default());
    let (mut a_idx, mut b_idx) = (ai.next(), bi.next());
    let (mut a_pos, mut b_pos) = (0usize, 0usize);
    let mut a_count = if a_idx.is_some() {
        a_buckets(0)?
    } else {
        T::default()
    };
    let mut b_count = if b_idx.is_some() {
        b_buckets(0)?
    } else {
        T::default()
    };
    macro_rules! advance {
        ($idx:ident, $it:ident, $pos:ident, $run:ident, $ins:ident, $count:ident, $buckets:ident) => {
            if $run.num > 0 {
                $ins.push($run);
                $run.num = 0;
            }
            $idx = $it.next();
            $run.pos += 1;
            $pos += 1;
            if $idx.is_some() {
                $count = T::absolute($count, $buckets($pos)?);
            }
        };
    }
    loop {
        match order(a_idx, b_idx) {
            Some(Ordering::Equal) => {
                if a_count > b_count {
                    return None;
                }
                advance!(a_idx, ai, a_pos, a_run, a_ins, a_count, a_buckets);
                advance!(b_idx, bi, b_pos, b_run, b_ins, b_count, b_buckets);
            }
            Some(Ordering::Less) => {
                // The histogram lacks a bucket of the chunk: fine only if it was empty.
                if !a_count.is_zero() {
                    return None;
                }
                push_run(&mut b_ins, &mut b_run, a_idx?);
                advance!(a_idx, ai, a_pos, a_run, a_ins, a_count, a_buckets);
            }
            Some(Ordering::Greater) => {
                push_run(&mut a_ins, &mut a_run, b_idx?);
                advance!(b_idx, bi, b_pos, b_run, b_ins, b_count, b_buckets);
            }
            None => {
                if a_run.num > 0 {
                    a_ins.push(a_run);
                }
                if b_run.num > 0 {
                    b_ins.push(b_run);
                }
                return Some((a_ins, b_ins));
            }
        }
    }
}

/// For a gauge histogram: the forward and backward inserts to bring both to the union of
/// their buckets, and the spans of that union.
pub(crate) fn expand_spans_both_ways(
    a: &[Span],
    b: &[Span],
) -> (Vec<Insert>, Vec<Insert>, Vec<Span>) {
    let (mut ai, mut bi) = (BucketIndexes::new(a), BucketIndexes::new(b));
    let (mut f_ins, mut b_ins) = (Vec::new(), Vec::new());
    let (mut f_run, mut b_run) = (Insert::default(), Insert::default());
    let mut merged = SpanBuilder::default();
    let (mut av, mut bv) = (ai.next(), bi.next());
    loop {
        match (av, bv, order(av, bv)) {
            (Some(x), _, Some(Ordering::Equal)) => {
                flush(&mut f_ins, &mut f_run);
                flush(&mut b_ins, &mut b_run);
                merged.add(x);
                av = ai.next();
                bv = bi.next();
                f_run.pos += 1;
                b_run.pos += 1;
            }
            (Some(x), _, Some(Ordering::Less)) => {
                b_run.num += 1;
                flush(&mut f_ins, &mut f_run);
                merged.add(x);
                f_run.pos += 1;
                av = ai.next();
            }
            (_, Some(y), _) => {
                f_run.num += 1;
                flush(&mut b_ins, &mut b_run);
                merged.add(y);
                b_run.pos += 1;
                bv = bi.next();
            }
            _ => {
                flush(&mut f_ins, &mut f_run);
                flush(&mut b_ins, &mut b_run);
                return (f_ins, b_ins, merged.spans);
            }
        }
    }
}

/// Which of two bucket walks is behind: `Less` when only `a` has the next bucket, `Greater`
/// when only `b` has it, `Equal` when both; `None` when both ended.
fn order(a: Option<i64>, b: Option<i64>) -> Option<Ordering> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(_), None) => Some(Ordering::Less),
        (None, Some(_)) => Some(Ordering::Greater),
        (None, None) => None,
    }
}

fn flush(inserts: &mut Vec<Insert>, run: &mut Insert) {
    if run.num > 0 {
        inserts.push(*run);
        run.num = 0;
    }
}

/// Builds spans from ascending absolute bucket indexes.
#[derive(Default)]
struct SpanBuilder {
    spans: Vec<Span>,
    last: i64,
}

impl SpanBuilder {
    fn add(&mut self, b: i64) {
        match self.spans.last_mut() {
            Some(s) if b - self.last == 1 => s.length += 1,
            _ => {
                let offset = if self.spans.is_empty() {
                    b
                } else {
                    b - self.last - 1
                };
                self.spans.push(Span {
                    offset: offset as i32,
                    length: 1,
                });
            }
        }
        self.last = b;
    }
}

/// The spans `spans` become once the (backward) inserts' buckets are added.
pub(crate) fn adjust_for_inserts(spans: &[Span], inserts: &[Insert]) -> Vec<Span> {
    if inserts.is_empty() {
        return spans.to_vec();
    }
    let mut merged = SpanBuilder::default();
    let mut pending = inserts
        .iter()
        .flat_map(|i| (0..i.num as i64).map(move |k| i.bucket_idx + k))
        .peekable();
    for b in BucketIndexes::new(spans) {
        while let Some(&x) = pending.peek() {
            if x >= b {
                break;
            }
            merged.add(x);
            pending.next();
        }
        merged.add(b);
    }
    for x in pending {
        merged.add(x);
    }
    merged.spans
}

/// The zero buckets to insert before old bucket `i`: every insert at that position (runs of
/// new buckets separated by a gap share the position of the old bucket after them).
fn zeros_at(inserts: &[Insert], ii: &mut usize, i: usize) -> usize {
    let mut n = 0;
    while let Some(ins) = inserts.get(*ii).filter(|x| x.pos == i) {
        n += ins.num;
        *ii += 1;
    }
    n
}

/// Delta-encoded buckets with zero-count buckets inserted: an inserted run starts with minus
/// the running count (back to zero) and the following old bucket re-bases onto zero.
pub(crate) fn insert_deltas(input: &[i64], inserts: &[Insert], total: usize) -> Vec<i64> {
    let mut out = Vec::with_capacity(total);
    let mut cur = 0i64;
    let mut ii = 0;
    for (i, &d) in input.iter().enumerate() {
        let n = zeros_at(inserts, &mut ii, i);
        if n > 0 {
            out.push(cur.wrapping_neg());
            out.extend(std::iter::repeat_n(0, n - 1));
            cur = cur.wrapping_add(d);
            out.push(cur);
            continue;
        }
        out.push(d);
        cur = cur.wrapping_add(d);
    }
    let n = zeros_at(inserts, &mut ii, input.len());
    if n > 0 {
        out.push(cur.wrapping_neg());
        out.extend(std::iter::repeat_n(0, n - 1));
    }
    out
}

/// Absolute buckets with zero buckets inserted.
pub(crate) fn insert_absolute(input: &[f64], inserts: &[Insert], total: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(total);
    let mut ii = 0;
    for (i, &v) in input.iter().enumerate() {
        out.extend(std::iter::repeat_n(0.0, zeros_at(inserts, &mut ii, i)));
        out.push(v);
    }
    out.extend(std::iter::repeat_n(
        0.0,
        zeros_at(inserts, &mut ii, input.len()),
    ));
    out
}
