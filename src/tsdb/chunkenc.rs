//! Gorilla XOR chunks, bit-exact with Prometheus's `chunkenc.XORChunk` (tsdb/chunkenc/xor.go):
//! a 2-byte big-endian sample count, then a bit stream: the first timestamp as a signed varint
//! and the first value as 64 raw bits; the second timestamp as an unsigned varint delta and the
//! value XORed with the previous; then delta-of-delta timestamps in 1/14/17/20/64-bit buckets and
//! XORed values with reusable leading/trailing-zero windows. NaN payloads survive untouched
//! because values are only ever handled as bits.
//!
//! Decoding is bounds-checked: corrupt bytes end iteration with an error, never a panic.

use super::packed::{self, mantissa, MAX_DIGITS, POW10};
use super::varint;

/// Samples per chunk before it is cut (Prometheus's default).
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// Chunks never span a multiple of this (2h, as Prometheus's head chunk range).
pub const CHUNK_RANGE_MS: i64 = 2 * 3600 * 1000;

/// The end (exclusive) of the 2h range holding `t`.
pub fn range_end(t: i64) -> i64 {
    (t.div_euclid(CHUNK_RANGE_MS) + 1) * CHUNK_RANGE_MS
}

/// Bit writer, most significant bit first.
#[derive(Clone, Debug, Default)]
pub(crate) struct BitWriter {
    pub(crate) bytes: Vec<u8>,
    /// Free bits left in the last byte (0 means a new byte is needed).
    pub(crate) free: u8,
}

impl BitWriter {
    /// Makes room for at least 8 more bytes. The buffer grows by a quarter (at least 16
    /// bytes) rather than doubling: an open head chunk lives as long as its series appends,
    /// and doubling left open chunks holding about twice their bytes.
    #[inline]
    fn reserve(&mut self) {
        let len = self.bytes.len();
        if self.bytes.capacity() - len < 8 {
            self.bytes.reserve_exact((len / 4).max(16));
        }
    }

    pub(crate) fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.reserve();
            self.bytes.push(0);
            self.free = 8;
        }
        if bit {
            if let Some(last) = self.bytes.last_mut() {
                *last |= 1 << (self.free - 1);
            }
        }
        self.free -= 1;
    }

    /// Writes the low `n` bits of `v` (`n` ≤ 64), high bit first: the free bits of the last
    /// byte, then the rest as whole bytes in one copy (the last one partly filled).
    pub(crate) fn write_bits(&mut self, v: u64, mut n: u8) {
        if self.free > 0 {
            let take = n.min(self.free);
            let chunk = ((v >> (n - take)) & ((1u64 << take) - 1)) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= chunk << (self.free - take);
            }
            self.free -= take;
            n -= take;
        }
        if n > 0 {
            self.reserve();
            let whole = n.div_ceil(8);
            let top = v << (64 - n);
            // A fixed 8-byte copy (one store, not a memcpy call), cut back to the bytes used.
            let len = self.bytes.len();
            self.bytes.extend_from_slice(&top.to_be_bytes());
            self.bytes.truncate(len + usize::from(whole));
            self.free = whole * 8 - n;
        }
    }

    pub(crate) fn write_byte(&mut self, b: u8) {
        self.write_bits(u64::from(b), 8);
    }
}

/// Bit reader over a byte slice; every read is bounds-checked.
#[derive(Clone, Debug)]
pub(crate) struct BitReader<'a> {
    pub(crate) bytes: &'a [u8],
    /// Position in bits.
    pub(crate) pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let bit = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(bit)
    }

    pub(crate) fn read_bits(&mut self, n: u8) -> Option<u64> {
        if n == 0 {
            return Some(0);
        }
        let end = self.pos + usize::from(n.min(64));
        if end > self.bytes.len() * 8 {
            return None;
        }
        // The (at most 9) bytes holding the bits, as one big-endian word: the bits wanted
        // start `shift` bits into it.
        let at = self.pos / 8;
        let shift = (self.pos % 8) as u32;
        let word = match self.bytes.get(at..at + 16) {
            Some(b) => u128::from_be_bytes(b.try_into().expect("a 16-byte slice")),
            None => {
                let mut buf = [0u8; 16];
                let tail = &self.bytes[at..];
                buf[..tail.len()].copy_from_slice(tail);
                u128::from_be_bytes(buf)
            }
        };
        self.pos = end;
        Some(((word << shift) >> (128 - u32::from(n.min(64)))) as u64)
    }

    /// A varint stored as whole bytes in the bit stream (the same encoding as `varint`).
    fn read_uvarint(&mut self) -> Option<u64> {
        varint::read_uvarint(|| self.read_bits(8).map(|b| b as u8))
    }

    fn read_varint(&mut self) -> Option<i64> {
        self.read_uvarint().map(varint::unzigzag)
    }
}

/// Writes a varint as whole bytes into the bit stream (the same encoding as `varint`).
fn put_uvarint(w: &mut BitWriter, v: u64) {
    varint::write_uvarint(v, |b| w.write_byte(b));
}

fn put_varint(w: &mut BitWriter, v: i64) {
    put_uvarint(w, varint::zigzag(v));
}

/// Whether `x` fits Prometheus's `bitRange(x, nbits)`.
fn bit_range(x: i64, nbits: u8) -> bool {
    let lim = 1i64 << (nbits - 1);
    -(lim - 1) <= x && x <= lim
}

/// An XOR chunk being appended to.
#[derive(Clone, Debug)]
pub struct XorEncoder {
    w: BitWriter,
    num: u16,
    t: i64,
    t_delta: u64,
    v_bits: u64,
    leading: u8,
    trailing: u8,
}

impl Default for XorEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl XorEncoder {
    pub fn new() -> Self {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(&[0, 0]);
        XorEncoder {
            w: BitWriter { bytes, free: 0 },
            num: 0,
            t: 0,
            t_delta: 0,
            v_bits: 0,
            leading: 0xff,
            trailing: 0,
        }
    }

    /// Reopens an encoded chunk for appending (after a restart, say). `None` if it is corrupt.
    pub fn resume(bytes: &[u8]) -> Option<XorEncoder> {
        let mut it = XorIter::new(bytes);
        let mut last = None;
        for s in it.by_ref() {
            last = Some(s);
        }
        if it.error || it.count != it.num {
            return None;
        }
        let mut enc = XorEncoder::new();
        if let Some((t, _)) = last {
            enc.w.bytes = bytes.to_vec();
            // Bits used so far, rounded up to whole bytes in the buffer.
            let used = it.r.pos - 16;
            enc.w.bytes.truncate(2 + used.div_ceil(8));
            enc.w.free = ((8 - used % 8) % 8) as u8;
            enc.num = it.num;
            enc.t = t;
            enc.t_delta = it.t_delta;
            enc.v_bits = it.v_bits;
            enc.leading = it.leading;
            enc.trailing = it.trailing;
        }
        Some(enc)
    }

    pub fn num_samples(&self) -> u16 {
        self.num
    }

    /// The last timestamp appended (meaningless when empty).
    pub fn last_t(&self) -> i64 {
        self.t
    }

    /// The last value appended (meaningless when empty).
    pub fn last_v(&self) -> f64 {
        f64::from_bits(self.v_bits)
    }

    /// Appends a sample. The caller keeps timestamps strictly increasing.
    pub fn append(&mut self, t: i64, v: f64) {
        let v_bits = v.to_bits();
        let mut t_delta = 0u64;
        match self.num {
            0 => {
                put_varint(&mut self.w, t);
                self.w.write_bits(v_bits, 64);
            }
            1 => {
                t_delta = t.wrapping_sub(self.t) as u64;
                put_uvarint(&mut self.w, t_delta);
                self.write_v_delta(v_bits);
            }
            _ => {
                t_delta = t.wrapping_sub(self.t) as u64;
                let dod = t_delta.wrapping_sub(self.t_delta) as i64;
                if dod == 0 {
                    self.w.write_bit(false);
                } else if bit_range(dod, 14) {
                    // The bucket's prefix and the low bits of the delta-of-delta in one write.
                    self.w.write_bits((0b10 << 14) | (dod as u64 & 0x3fff), 16);
                } else if bit_range(dod, 17) {
                    self.w
                        .write_bits((0b110 << 17) | (dod as u64 & 0x1_ffff), 20);
                } else if bit_range(dod, 20) {
                    self.w
                        .write_bits((0b1110 << 20) | (dod as u64 & 0xf_ffff), 24);
                } else {
                    self.w.write_bits(0b1111, 4);
                    self.w.write_bits(dod as u64, 64);
                }
                self.write_v_delta(v_bits);
            }
        }
        self.t = t;
        self.v_bits = v_bits;
        self.t_delta = t_delta;
        self.num += 1;
        self.w.bytes[0..2].copy_from_slice(&self.num.to_be_bytes());
    }

    fn write_v_delta(&mut self, v_bits: u64) {
        write_xor_value(
            &mut self.w,
            self.v_bits,
            v_bits,
            &mut self.leading,
            &mut self.trailing,
        );
    }

    /// The encoded chunk, header included.
    pub fn bytes(&self) -> &[u8] {
        &self.w.bytes
    }

    /// Finishes the chunk, returning its bytes without spare capacity.
    pub fn into_bytes(self) -> Vec<u8> {
        let mut b = self.w.bytes;
        b.shrink_to_fit();
        b
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.w.bytes.capacity()
    }

    pub fn iter(&self) -> XorIter<'_> {
        XorIter::new(&self.w.bytes)
    }
}

/// Iterates the samples of an encoded XOR chunk. On corrupt input it stops and sets `error`.
#[derive(Clone, Debug)]
pub struct XorIter<'a> {
    r: BitReader<'a>,
    num: u16,
    count: u16,
    t: i64,
    t_delta: u64,
    v_bits: u64,
    leading: u8,
    trailing: u8,
    /// Set when the bytes ended early or held an impossible value.
    pub error: bool,
}

impl<'a> XorIter<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        let (num, error) = match bytes {
            [a, b, ..] => (u16::from_be_bytes([*a, *b]), false),
            _ => (0, true),
        };
        XorIter {
            r: BitReader { bytes, pos: 16 },
            num,
            count: 0,
            t: 0,
            t_delta: 0,
            v_bits: 0,
            // 0xff = no leading/trailing window yet, as in the encoder; a "reuse the window"
            // control bit before any window is set is corruption.
            leading: 0xff,
            trailing: 0,
            error,
        }
    }

    /// The sample count the chunk header claims.
    pub fn num_samples(&self) -> u16 {
        self.num
    }

    fn step(&mut self) -> Option<(i64, f64)> {
        match self.count {
            0 => {
                self.t = self.r.read_varint()?;
                self.v_bits = self.r.read_bits(64)?;
            }
            1 => {
                self.t_delta = self.r.read_uvarint()?;
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.read_v()?;
            }
            _ => {
                let mut ones = 0u8;
                while ones < 4 {
                    if !self.r.read_bit()? {
                        break;
                    }
                    ones += 1;
                }
                let size = match ones {
                    0 => 0,
                    1 => 14,
                    2 => 17,
                    3 => 20,
                    _ => 64,
                };
                let mut dod = 0i64;
                if size > 0 {
                    let bits = self.r.read_bits(size)?;
                    dod = if size < 64 && bits > (1u64 << (size - 1)) {
                        (bits as i64) - (1i64 << size)
                    } else {
                        bits as i64
                    };
                }
                self.t_delta = self.t_delta.wrapping_add(dod as u64);
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.read_v()?;
            }
        }
        self.count += 1;
        Some((self.t, f64::from_bits(self.v_bits)))
    }

    fn read_v(&mut self) -> Option<()> {
        if !self.r.read_bit()? {
            return Some(());
        }
        let mbits = if !self.r.read_bit()? {
            64u8.checked_sub(self.leading)?.checked_sub(self.trailing)?
        } else {
            self.leading = self.r.read_bits(5)? as u8;
            let mut m = self.r.read_bits(6)? as u8;
            if m == 0 {
                m = 64;
            }
            self.trailing = 64u8.checked_sub(self.leading)?.checked_sub(m)?;
            m
        };
        let bits = self.r.read_bits(mbits)?;
        self.v_bits ^= bits.checked_shl(u32::from(self.trailing)).unwrap_or(0);
        Some(())
    }
}

impl Iterator for XorIter<'_> {
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        if self.error || self.count >= self.num {
            return None;
        }
        let s = self.step();
        if s.is_none() {
            self.error = true;
        }
        s
    }
}

impl XorEncoder {
    /// Encodes samples (strictly increasing timestamps) into a fresh XOR chunk.
    pub fn from_samples(samples: &[(i64, f64)]) -> XorEncoder {
        // Encode into room for the worst case (19 bytes a sample), then keep an exact copy:
        // two allocations instead of a growth step every few samples (reopening 196k open
        // chunks at startup spent half its time in realloc).
        let mut e = XorEncoder::new();
        e.w.bytes.reserve_exact(20 + 19 * samples.len());
        for &(t, v) in samples {
            e.append(t, v);
        }
        e.w.bytes = e.w.bytes.as_slice().to_vec();
        e
    }
}

// ---------------------------------------------------------------------------------------------
// Persisted format. Chunks written to the database start with a format byte:
//   0: a Prometheus XOR chunk follows, unchanged.
//   1: "decimal columns" (written by earlier versions; still read): uvarint n; timestamps as
//      zigzag varints (t0, first delta, then delta-of-deltas); a mode byte (low 7 bits: decimal
//      digits d; high bit: values stored as delta-of-deltas instead of deltas); then the
//      integer mantissas m (v = m / 10^d) as zigzag varints (m0, then deltas or
//      delta-of-deltas).
//   5: "packed columns" (`packed`): timestamps and decimal mantissas as two columns of
//      bit-packed integers (patched frame of reference), timestamps on a step grid when that
//      is smaller; values that are no short decimal keep their raw bits in a list apart.
// Formats 2, 3 and 4 are histogram rows (`chunk_rows`). A flush writes format 5, or XOR when
// that is smaller (values that are mostly not short decimals); format 1 only for runs longer
// than format 5 holds. Scraped values are mostly integers or short decimals, which format 5
// stores in about a byte where XOR needs 3-6; jittered timestamps in under a byte.

const FMT_XOR: u8 = 0;
const FMT_DECIMAL: u8 = 1;
/// Format byte of a packed-columns row.
pub const FMT_PACKED: u8 = 5;

/// Most samples one persisted chunk may hold (XOR chunk headers count in a u16).
pub const MAX_PERSISTED_SAMPLES: usize = 4096;

/// Writes `new` as Gorilla XOR against `prev`: `0` unchanged; `10` + the significant bits in
/// the previous leading/trailing window; `11` + 5 bits leading zeros + 6 bits significant
/// count (0 meaning 64) + the bits, which sets the window. `leading == 0xff`: no window yet.
/// The float chunk and the histogram chunks write their values with it.
pub(crate) fn write_xor_value(
    w: &mut BitWriter,
    prev: u64,
    new: u64,
    leading: &mut u8,
    trailing: &mut u8,
) {
    let delta = new ^ prev;
    if delta == 0 {
        w.write_bit(false);
        return;
    }
    let lead = (delta.leading_zeros() as u8).min(31);
    let trail = delta.trailing_zeros() as u8;
    if *leading != 0xff && lead >= *leading && trail >= *trailing {
        w.write_bits(0b10, 2);
        w.write_bits(delta >> *trailing, 64 - *leading - *trailing);
        return;
    }
    *leading = lead;
    *trailing = trail;
    let sigbits = 64 - lead - trail;
    // `11`, 5 bits of leading zeros, 6 bits of significant bits in one write; 64 significant
    // bits are written as 0 (6 bits cannot hold 64); readers map 0 back.
    w.write_bits(
        (0b11 << 11) | (u64::from(lead) << 6) | u64::from(sigbits & 63),
        13,
    );
    w.write_bits(delta >> trail, sigbits);
}

/// Encodes samples for the database, choosing the smaller lossless format. `xor_len_hint` is
/// the size of the same samples as XOR, when the caller already knows it.
pub fn encode_persisted(samples: &[(i64, f64)], xor_len_hint: Option<usize>) -> Vec<u8> {
    debug_assert!(samples.len() <= MAX_PERSISTED_SAMPLES);
    let Some(packed) = packed::encode(FMT_PACKED, samples) else {
        return encode_decimal(samples, xor_len_hint);
    };
    let xor_size = xor_len_hint.unwrap_or_else(|| xor_len(samples));
    if packed.len() <= xor_size + 1 {
        return packed;
    }
    let mut out = Vec::with_capacity(xor_size + 1);
    out.push(FMT_XOR);
    out.extend_from_slice(XorEncoder::from_samples(samples).bytes());
    out
}

/// Encodes samples in format 1 ("decimal columns", or XOR when that is smaller), as versions
/// before format 5 did: rows too long for format 5 use it, and tests and benches make old
/// rows with it.
pub fn encode_decimal(samples: &[(i64, f64)], xor_len_hint: Option<usize>) -> Vec<u8> {
    let xor = || {
        let mut out = vec![FMT_XOR];
        out.extend_from_slice(XorEncoder::from_samples(samples).bytes());
        out
    };
    // One pass: keep the digits needed so far and raise them only when a value needs more.
    let mut d = 0usize;
    let mut ms: Vec<i64> = Vec::with_capacity(samples.len());
    for &(_, v) in samples {
        match mantissa(v, d) {
            Some(m) => ms.push(m),
            None => {
                let Some(nd) = (d + 1..=MAX_DIGITS).find(|&nd| mantissa(v, nd).is_some()) else {
                    return xor();
                };
                d = nd;
                // Earlier values must hold at the new precision too.
                let Some(redone) = samples[..ms.len() + 1]
                    .iter()
                    .map(|&(_, v)| mantissa(v, d))
                    .collect::<Option<Vec<i64>>>()
                else {
                    return xor();
                };
                ms = redone;
            }
        }
    }
    let deltas: Vec<i64> = ms.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let dod_cost: usize = deltas
        .windows(2)
        .map(|w| varint::varint_len(w[1].wrapping_sub(w[0])))
        .sum::<usize>()
        + deltas.first().map_or(0, |&x| varint::varint_len(x));
    let delta_cost: usize = deltas.iter().map(|&x| varint::varint_len(x)).sum();
    let use_dod = dod_cost < delta_cost;

    let mut out = Vec::with_capacity(samples.len() * 3 + 16);
    out.push(FMT_DECIMAL);
    varint::put_uvarint(&mut out, samples.len() as u64);
    let (mut pt, mut pd) = (0i64, 0i64);
    for (i, &(t, _)) in samples.iter().enumerate() {
        match i {
            0 => varint::put_varint(&mut out, t),
            1 => {
                pd = t.wrapping_sub(pt);
                varint::put_varint(&mut out, pd);
            }
            _ => {
                let d = t.wrapping_sub(pt);
                varint::put_varint(&mut out, d.wrapping_sub(pd));
                pd = d;
            }
        }
        pt = t;
    }
    out.push(d as u8 | if use_dod { 0x80 } else { 0 });
    if let Some(&m0) = ms.first() {
        varint::put_varint(&mut out, m0);
    }
    let mut prev = 0i64;
    for (i, &x) in deltas.iter().enumerate() {
        if use_dod && i > 0 {
            varint::put_varint(&mut out, x.wrapping_sub(prev));
        } else {
            varint::put_varint(&mut out, x);
        }
        prev = x;
    }
    let xor_size = xor_len_hint.unwrap_or_else(|| xor_len(samples));
    if out.len() > xor_size {
        return xor();
    }
    out
}

fn xor_len(samples: &[(i64, f64)]) -> usize {
    XorEncoder::from_samples(samples).bytes().len()
}

/// Decodes a persisted chunk (either format). `None` if the bytes are corrupt.
pub fn decode_persisted(b: &[u8]) -> Option<Vec<(i64, f64)>> {
    match *b.first()? {
        FMT_XOR => {
            let mut it = XorIter::new(&b[1..]);
            let v: Vec<(i64, f64)> = it.by_ref().collect();
            (!it.error && v.len() == usize::from(it.num_samples())).then_some(v)
        }
        FMT_DECIMAL => {
            let mut r = varint::Reader::new(b, 1);
            let n = usize::try_from(r.uvarint()?).ok()?;
            if n > b.len() * 8 {
                return None;
            }
            let mut ts = Vec::with_capacity(n);
            let (mut t, mut d) = (0i64, 0i64);
            for i in 0..n {
                match i {
                    0 => t = r.varint()?,
                    1 => {
                        d = r.varint()?;
                        t = t.wrapping_add(d);
                    }
                    _ => {
                        d = d.wrapping_add(r.varint()?);
                        t = t.wrapping_add(d);
                    }
                }
                ts.push(t);
            }
            let mode = r.byte()?;
            let digits = usize::from(mode & 0x7f);
            let use_dod = mode & 0x80 != 0;
            let p = *POW10.get(digits)?;
            let mut out = Vec::with_capacity(n);
            let (mut m, mut delta) = (0i64, 0i64);
            for (i, &t) in ts.iter().enumerate() {
                match i {
                    0 => m = r.varint()?,
                    1 => {
                        delta = r.varint()?;
                        m = m.wrapping_add(delta);
                    }
                    _ => {
                        let x = r.varint()?;
                        delta = if use_dod { delta.wrapping_add(x) } else { x };
                        m = m.wrapping_add(delta);
                    }
                }
                out.push((t, m as f64 / p));
            }
            r.done().then_some(out)
        }
        FMT_PACKED => packed::decode(b),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(samples: &[(i64, f64)]) -> Vec<u8> {
        let mut e = XorEncoder::new();
        for &(t, v) in samples {
            e.append(t, v);
        }
        let got: Vec<(i64, u64)> = e.iter().map(|(t, v)| (t, v.to_bits())).collect();
        let want: Vec<(i64, u64)> = samples.iter().map(|&(t, v)| (t, v.to_bits())).collect();
        assert_eq!(got, want);
        e.into_bytes()
    }

    #[test]
    fn known_bytes_match_prometheus() {
        // Two samples: t=1000 v=1, t=2000 v=1. Prometheus: count 0x0002, varint(1000)=0xd00f,
        // 64 bits of 1.0 (0x3ff0000000000000), uvarint(1000)=0xe807, then one '0' bit.
        let b = roundtrip(&[(1000, 1.0), (2000, 1.0)]);
        assert_eq!(
            b,
            [0x00, 0x02, 0xd0, 0x0f, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xe8, 0x07, 0x00]
        );
        // A third sample with the same spacing and value costs two zero bits (dod=0, xor=0).
        let b3 = roundtrip(&[(1000, 1.0), (2000, 1.0), (3000, 1.0)]);
        assert_eq!(b3.len(), b.len());
        assert_eq!(b3[0..2], [0, 3]);
    }

    #[test]
    fn every_dod_bucket_and_value_pattern() {
        let mut s = vec![];
        let mut t = 1_600_000_000_000i64;
        let gaps = [
            15_000,
            15_000,
            15_001,
            14_000,
            30_000,
            200_000,
            15_000,
            1_000_000_000,
            1,
            2,
            15_000,
        ];
        let values = [
            0.0,
            1.0,
            1.0,
            -1.0,
            1e300,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            42.5,
            42.5,
            f64::from_bits(0x7ff0_0000_0000_0002),
            f64::from_bits(0x7ff8_0000_0000_0001),
            3.0,
        ];
        for (i, v) in values.iter().enumerate() {
            s.push((t, *v));
            t += gaps[i % gaps.len()];
        }
        roundtrip(&s);
        // Negative timestamps and a negative delta-of-delta at the bucket edges.
        roundtrip(&[
            (-5, 1.0),
            (0, 2.0),
            (8192, 3.0),
            (8192 * 2 - 8191, 4.0),
            (100_000, 5.0),
        ]);
        // Bucket boundaries: +2^(n-1) fits, -(2^(n-1)) does not.
        for n in [14u32, 17, 20] {
            let lim = 1i64 << (n - 1);
            roundtrip(&[
                (0, 0.0),
                (10, 0.0),
                (20 + lim, 0.0),
                (30 + lim, 0.0),
                (40 + lim - lim - 1 + 10 * lim, 0.0),
            ]);
        }
    }

    #[test]
    fn pseudo_random_values_roundtrip() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut s = vec![];
        for i in 0..120 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = if i % 3 == 0 {
                f64::from_bits(x)
            } else {
                (x % 1000) as f64 / 7.0
            };
            s.push((i * 15_000 + (x % 50) as i64, v));
        }
        roundtrip(&s);
    }

    #[test]
    fn resume_continues_bit_exactly() {
        let samples: Vec<(i64, f64)> = (0..50)
            .map(|i| (i * 1000 + i % 3, (i * i) as f64 * 0.5))
            .collect();
        for cut in [0usize, 1, 2, 3, 17, 49] {
            let mut whole = XorEncoder::new();
            let mut first = XorEncoder::new();
            for &(t, v) in &samples[..cut] {
                first.append(t, v);
                whole.append(t, v);
            }
            let mut resumed = XorEncoder::resume(first.bytes()).expect("valid chunk");
            for &(t, v) in &samples[cut..] {
                resumed.append(t, v);
                whole.append(t, v);
            }
            assert_eq!(resumed.bytes(), whole.bytes(), "cut at {cut}");
        }
    }

    fn persisted_roundtrip(samples: &[(i64, f64)]) -> usize {
        let b = encode_persisted(samples, None);
        let got = decode_persisted(&b).expect("decodes");
        let bits = |v: &[(i64, f64)]| v.iter().map(|&(t, v)| (t, v.to_bits())).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(samples));
        b.len()
    }

    #[test]
    fn persisted_format_is_lossless_and_smaller_for_decimals() {
        let t0 = 1_700_000_000_000i64;
        let jitter = |i: i64| (i * 7919) % 50;
        let counter: Vec<(i64, f64)> = (0..120)
            .map(|i| (t0 + i * 15_000 + jitter(i), (1000 + i * 37 + i % 5) as f64))
            .collect();
        let decimals: Vec<(i64, f64)> = (0..120)
            .map(|i| {
                (
                    t0 + i * 15_000 + jitter(i),
                    ((i * 1234) % 9999) as f64 / 100.0,
                )
            })
            .collect();
        let n = persisted_roundtrip(&counter);
        assert!(
            n * 10 < xor_len(&counter) * 7,
            "{n} vs xor {}",
            xor_len(&counter)
        );
        let n = persisted_roundtrip(&decimals);
        assert!(n < xor_len(&decimals), "{n} vs xor {}", xor_len(&decimals));
        // Values that are not short decimals fall back to XOR, still bit-exact.
        let odd = [
            (1, f64::NAN),
            (2, -0.0),
            (3, f64::INFINITY),
            (4, 0.1 + 0.2),
            (5, 1e300),
            (6, f64::from_bits(0x7ff0_0000_0000_0002)),
        ];
        persisted_roundtrip(&odd);
        assert_eq!(encode_persisted(&odd, None)[0], FMT_XOR);
        // Precision rising part-way through a chunk is handled.
        persisted_roundtrip(&[(1, 1.0), (2, 2.5), (3, 2.25), (4, 7.0), (5, 0.001)]);
        persisted_roundtrip(&[]);
        persisted_roundtrip(&[(-5, -2.5)]);
        persisted_roundtrip(&[(0, 1e15), (1, -1e15), (i64::MAX / 2, 0.5)]);
    }

    #[test]
    fn persisted_garbage_never_panics() {
        let good = encode_persisted(
            &(0..100)
                .map(|i| (i * 1000, i as f64 * 0.25))
                .collect::<Vec<_>>(),
            None,
        );
        assert!(decode_persisted(&good[..good.len() - 1]).is_none());
        let mut x = 3u64;
        for _ in 0..3000 {
            let mut b = good.clone();
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (x >> 33) as usize % b.len();
            b[i] ^= (x >> 11) as u8 | 1;
            let _ = decode_persisted(&b);
        }
        assert!(decode_persisted(&[]).is_none());
        assert!(decode_persisted(&[9, 1, 2]).is_none());
    }

    #[test]
    fn corrupt_bytes_never_panic() {
        let good = roundtrip(
            &(0..120)
                .map(|i| (i * 15_000, (i as f64).sqrt()))
                .collect::<Vec<_>>(),
        );
        for len in 0..good.len() {
            let it = XorIter::new(&good[..len]);
            let n = it.clone().count();
            assert!(n <= 120);
        }
        let mut x = 7u64;
        for _ in 0..2000 {
            let mut b = good.clone();
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let i = (x >> 33) as usize % b.len();
            b[i] ^= (x >> 13) as u8 | 1;
            let _ = XorIter::new(&b).count();
            let _ = XorEncoder::resume(&b);
        }
        assert!(XorEncoder::resume(&good[..good.len() / 2]).is_none());
    }
}

/// Property tests: any increasing samples survive both chunk formats bit for bit.
#[cfg(test)]
mod prop_tests {
    use super::*;
    use proptest::prelude::*;

    fn samples() -> impl Strategy<Value = Vec<(i64, f64)>> {
        (
            -(1i64 << 50)..(1i64 << 50),
            proptest::collection::vec(
                (
                    prop_oneof![1i64..2, 1i64..100_000, 1i64..(1i64 << 40)],
                    prop_oneof![
                        any::<f64>(),
                        (-1000i64..1000).prop_map(|x| x as f64 / 100.0),
                        Just(f64::from_bits(crate::model::STALE_NAN_BITS)),
                        Just(0.0),
                    ],
                ),
                0..300,
            ),
        )
            .prop_map(|(start, steps)| {
                let mut t = start;
                steps
                    .into_iter()
                    .map(|(dt, v)| {
                        t += dt;
                        (t, v)
                    })
                    .collect()
            })
    }

    proptest! {
        #[test]
        fn persisted_chunks_round_trip(s in samples()) {
            let bytes = encode_persisted(&s, None);
            let back = decode_persisted(&bytes).expect("decodes");
            prop_assert_eq!(back.len(), s.len());
            for (a, b) in back.iter().zip(&s) {
                prop_assert_eq!(a.0, b.0);
                prop_assert_eq!(a.1.to_bits(), b.1.to_bits());
            }
        }

        #[test]
        fn xor_chunks_round_trip_and_resume(s in samples()) {
            let enc = XorEncoder::from_samples(&s);
            let back: Vec<(i64, f64)> = enc.iter().collect();
            prop_assert_eq!(back.len(), s.len());
            for (a, b) in back.iter().zip(&s) {
                prop_assert_eq!((a.0, a.1.to_bits()), (b.0, b.1.to_bits()));
            }
            if let Some(last) = s.last() {
                let mut r = XorEncoder::resume(enc.bytes()).expect("resumes");
                r.append(last.0 + 1, 42.0);
                let all: Vec<(i64, f64)> = r.iter().collect();
                prop_assert_eq!(all.len(), s.len() + 1);
                prop_assert_eq!(all.last().copied(), Some((last.0 + 1, 42.0)));
            }
        }
    }
}
