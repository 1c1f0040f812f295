//! Gorilla XOR chunks, bit-exact with Prometheus's `chunkenc.XORChunk` (tsdb/chunkenc/xor.go):
//! a 2-byte big-endian sample count, then a bit stream: the first timestamp as a signed varint
//! and the first value as 64 raw bits; the second timestamp as an unsigned varint delta and the
//! value XORed with the previous; then delta-of-delta timestamps in 1/14/17/20/64-bit buckets and
//! XORed values with reusable leading/trailing-zero windows. NaN payloads survive untouched
//! because values are only ever handled as bits.
//!
//! Decoding is bounds-checked: corrupt bytes end iteration with an error, never a panic.

/// Samples per chunk before it is cut (Prometheus's default).
pub const SAMPLES_PER_CHUNK: u16 = 120;

/// Bit writer, most significant bit first.
#[derive(Clone, Debug, Default)]
struct BitWriter {
    bytes: Vec<u8>,
    /// Free bits left in the last byte (0 means a new byte is needed).
    free: u8,
}

impl BitWriter {
    fn write_bit(&mut self, bit: bool) {
        if self.free == 0 {
            self.bytes.push(0);
            self.free = 8;
        }
        if bit {
            let last = self.bytes.len() - 1;
            self.bytes[last] |= 1 << (self.free - 1);
        }
        self.free -= 1;
    }

    /// Writes the low `n` bits of `v`, high bit first.
    fn write_bits(&mut self, v: u64, mut n: u8) {
        while n > 0 {
            if self.free == 0 {
                self.bytes.push(0);
                self.free = 8;
            }
            let take = n.min(self.free);
            let chunk = ((v >> (n - take)) & ((1u64 << take) - 1)) as u8;
            let last = self.bytes.len() - 1;
            self.bytes[last] |= chunk << (self.free - take);
            self.free -= take;
            n -= take;
        }
    }

    fn write_byte(&mut self, b: u8) {
        self.write_bits(u64::from(b), 8);
    }
}

/// Bit reader over a byte slice; every read is bounds-checked.
#[derive(Clone, Debug)]
struct BitReader<'a> {
    bytes: &'a [u8],
    /// Position in bits.
    pos: usize,
}

impl<'a> BitReader<'a> {
    fn read_bit(&mut self) -> Option<bool> {
        let byte = *self.bytes.get(self.pos / 8)?;
        let bit = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(bit)
    }

    fn read_bits(&mut self, n: u8) -> Option<u64> {
        if self.pos + usize::from(n) > self.bytes.len() * 8 {
            return None;
        }
        let mut v = 0u64;
        let mut left = n;
        while left > 0 {
            let byte = self.bytes[self.pos / 8];
            let avail = 8 - (self.pos % 8) as u8;
            let take = left.min(avail);
            let bits = (byte >> (avail - take)) & (((1u16 << take) - 1) as u8);
            v = (v << take) | u64::from(bits);
            self.pos += usize::from(take);
            left -= take;
        }
        Some(v)
    }

    fn read_uvarint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.read_bits(8)? as u8;
            if shift == 63 && b > 1 {
                return None;
            }
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn read_varint(&mut self) -> Option<i64> {
        let u = self.read_uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

fn put_uvarint(w: &mut BitWriter, mut v: u64) {
    while v >= 0x80 {
        w.write_byte((v as u8) | 0x80);
        v >>= 7;
    }
    w.write_byte(v as u8);
}

fn put_varint(w: &mut BitWriter, v: i64) {
    put_uvarint(w, ((v << 1) ^ (v >> 63)) as u64);
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
                    self.w.write_bits(0b10, 2);
                    self.w.write_bits(dod as u64, 14);
                } else if bit_range(dod, 17) {
                    self.w.write_bits(0b110, 3);
                    self.w.write_bits(dod as u64, 17);
                } else if bit_range(dod, 20) {
                    self.w.write_bits(0b1110, 4);
                    self.w.write_bits(dod as u64, 20);
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
        let delta = v_bits ^ self.v_bits;
        if delta == 0 {
            self.w.write_bit(false);
            return;
        }
        self.w.write_bit(true);
        let mut lead = delta.leading_zeros() as u8;
        let trail = delta.trailing_zeros() as u8;
        if lead >= 32 {
            lead = 31;
        }
        if self.leading != 0xff && lead >= self.leading && trail >= self.trailing {
            self.w.write_bit(false);
            self.w
                .write_bits(delta >> self.trailing, 64 - self.leading - self.trailing);
            return;
        }
        self.leading = lead;
        self.trailing = trail;
        self.w.write_bit(true);
        self.w.write_bits(u64::from(lead), 5);
        let sigbits = 64 - lead - trail;
        // 64 significant bits are written as 0 (6 bits cannot hold 64); readers map 0 back.
        self.w.write_bits(u64::from(sigbits), 6);
        self.w.write_bits(delta >> trail, sigbits);
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
