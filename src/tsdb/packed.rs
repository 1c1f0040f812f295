//! Format 5 of a persisted float row, "packed columns": timestamps and values as two
//! columns, each a stream of small integers stored with patched frame-of-reference bit packing
//! (PFOR: every value as `base + w bits`, the few that do not fit listed apart as exceptions).
//!
//! Row layout (after the format byte, which `chunkenc` writes and dispatches on):
//! - uvarint n; nothing more when n = 0; then varint t0.
//! - n ≥ 2: a time mode byte and a varint step, then either
//!   - mode 0 "deltas": one PFOR stream of the n−1 `(t[i] − t[i−1]) − step`, or
//!   - mode 1 "grid": each t[i] = t0 + k[i]·step + e[i] with k[0] = 0, as two PFOR streams:
//!     the n−1 `k[i] − k[i−1] − 1` (0 unless a scrape was missed) and the n−1 offsets e[i]
//!     from the grid. Jittered scrapes cost only their jitter, once (a delta holds it twice).
//! - a value mode byte: the low 4 bits are the decimal digits d (values are mantissas m with
//!   v = m / 10^d); bit 7 set: the stream holds delta-of-deltas of m, else deltas; bit 6 set:
//!   raw values follow; bits 4 and 5 are 0.
//!   n ≥ 1: varint m0; n ≥ 2: one PFOR stream of the n−1 deltas (or delta-of-deltas).
//! - with raw values: their uvarint count, then each as (uvarint position gap, 8 bytes
//!   little-endian f64 bits): values that are no short decimal (NaN, stale markers, −0.0, 0.1+0.2) keep their
//!   exact bits there; their slot in the mantissa column repeats the previous mantissa.
//!
//! A PFOR stream of c values: a byte with the width w (0..=64) in its low 7 bits and, in bit
//! 7, whether exceptions follow; varint base; with exceptions, their uvarint count; then
//! ⌈c·w/8⌉ bytes of w-bit fields, least significant bit first, then the exceptions as
//! (uvarint position gap, varint value − base). Every integer is handled with wrapping
//! arithmetic, so any i64 round-trips whatever the overflow; the encoder picks the width that
//! makes the stream smallest.
//!
//! Decoding is bounds-checked: damaged bytes give `None`, never a panic.
//!
//! Uses `varint`.

use super::varint::{self, put_uvarint, put_varint, Reader};

/// Most decimal digits a mantissa may carry.
pub(crate) const MAX_DIGITS: usize = 15;
/// 10^d for each number of digits d.
pub(crate) const POW10: [f64; MAX_DIGITS + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];
/// Mantissas stay below 2^53 so every one is an exact f64.
const MAX_MANTISSA: f64 = 9_007_199_254_740_992.0;

/// Most samples one packed row holds (more are refused as damage when decoding).
pub const MAX_PACKED_SAMPLES: usize = 1 << 16;

/// The mantissa m with `m / 10^d` bit-exactly `v`, if there is one below 2^53.
pub(crate) fn mantissa(v: f64, d: usize) -> Option<i64> {
    let m = (v * POW10[d]).round();
    if !m.is_finite() || m.abs() >= MAX_MANTISSA {
        return None;
    }
    let m = m as i64;
    ((m as f64 / POW10[d]).to_bits() == v.to_bits()).then_some(m)
}

/// Encodes samples as a packed row, format byte `fmt` first. `None` when there are more than
/// `MAX_PACKED_SAMPLES`.
pub(crate) fn encode(fmt: u8, samples: &[(i64, f64)]) -> Option<Vec<u8>> {
    let n = samples.len();
    if n > MAX_PACKED_SAMPLES {
        return None;
    }
    let mut out = Vec::with_capacity(n * 2 + 24);
    out.push(fmt);
    put_uvarint(&mut out, n as u64);
    let Some(&(t0, _)) = samples.first() else {
        return Some(out);
    };
    put_varint(&mut out, t0);
    let mut scratch = Vec::with_capacity(n);
    if n >= 2 {
        encode_times(&mut out, samples, &mut scratch);
    }
    encode_values(&mut out, samples, &mut scratch);
    Some(out)
}

fn encode_times(out: &mut Vec<u8>, samples: &[(i64, f64)], scratch: &mut Vec<i64>) {
    let deltas: Vec<i64> = samples
        .windows(2)
        .map(|w| w[1].0.wrapping_sub(w[0].0))
        .collect();
    let mut sorted = deltas.clone();
    let mid = sorted.len() / 2;
    let step = *sorted.select_nth_unstable(mid).1;
    let mut by_delta = vec![0u8];
    put_varint(&mut by_delta, step);
    let r: Vec<i64> = deltas.iter().map(|d| d.wrapping_sub(step)).collect();
    put_pfor(&mut by_delta, &r, scratch);
    let mut best = by_delta;
    if step > 0 {
        let grid = grid_times(samples, step, scratch);
        // The median delta is off the true interval when scrapes jitter; the interval over
        // the whole row (in the grid steps the median found) is closer.
        let (k_last, span) = grid.1;
        let refined = (k_last > 0)
            .then(|| (span + k_last as i128 / 2).div_euclid(k_last as i128))
            .and_then(|s| i64::try_from(s).ok())
            .filter(|&s| s > 0 && s != step);
        let mut grid = grid.0;
        if let Some(s) = refined {
            let other = grid_times(samples, s, scratch).0;
            if other.len() < grid.len() {
                grid = other;
            }
        }
        if grid.len() < best.len() {
            best = grid;
        }
    }
    out.extend_from_slice(&best);
}

/// Time mode 1 (grid) with this step, and (k of the last sample, its distance from t0).
fn grid_times(samples: &[(i64, f64)], step: i64, scratch: &mut Vec<i64>) -> (Vec<u8>, (i64, i128)) {
    let t0 = samples[0].0;
    let mut grid = vec![1u8];
    put_varint(&mut grid, step);
    let (mut dk, mut e) = (
        Vec::with_capacity(samples.len()),
        Vec::with_capacity(samples.len()),
    );
    let (mut prev_k, mut span) = (0i64, 0i128);
    let s = i128::from(step);
    for &(t, _) in &samples[1..] {
        span = i128::from(t) - i128::from(t0);
        // The next grid point when the sample is within half a step of it (no division);
        // else the nearest one. Any k is lossless: e makes up the rest.
        let r = span - (i128::from(prev_k) + 1) * s;
        let k = if 2 * r.abs() <= s {
            prev_k.wrapping_add(1)
        } else {
            (span + s / 2).div_euclid(s) as i64
        };
        dk.push(k.wrapping_sub(prev_k).wrapping_sub(1));
        e.push(t.wrapping_sub(t0).wrapping_sub(k.wrapping_mul(step)));
        prev_k = k;
    }
    put_pfor(&mut grid, &dk, scratch);
    put_pfor(&mut grid, &e, scratch);
    (grid, (prev_k, span))
}

fn encode_values(out: &mut Vec<u8>, samples: &[(i64, f64)], scratch: &mut Vec<i64>) {
    // The fewest digits every decimal value needs; values no digits fit go raw.
    let mut d = 0usize;
    for &(_, v) in samples {
        if mantissa(v, d).is_none() {
            if let Some(nd) = (d + 1..=MAX_DIGITS).find(|&nd| mantissa(v, nd).is_some()) {
                d = nd;
            }
        }
    }
    let mut ms = Vec::with_capacity(samples.len());
    let mut raw: Vec<(usize, u64)> = Vec::new();
    let mut prev = 0i64;
    for (i, &(_, v)) in samples.iter().enumerate() {
        match mantissa(v, d) {
            Some(m) => prev = m,
            None => raw.push((i, v.to_bits())),
        }
        ms.push(prev);
    }
    let deltas: Vec<i64> = ms.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let mut by_delta = Vec::new();
    put_pfor(&mut by_delta, &deltas, scratch);
    let dods: Vec<i64> = deltas
        .iter()
        .scan(0i64, |p, &x| {
            let dod = x.wrapping_sub(*p);
            *p = x;
            Some(dod)
        })
        .collect();
    let mut by_dod = Vec::new();
    put_pfor(&mut by_dod, &dods, scratch);
    let use_dod = by_dod.len() < by_delta.len();
    let has_raw = if raw.is_empty() { 0 } else { 0x40 };
    out.push(d as u8 | has_raw | if use_dod { 0x80 } else { 0 });
    if let Some(&m0) = ms.first() {
        put_varint(out, m0);
    }
    if ms.len() >= 2 {
        out.extend_from_slice(if use_dod { &by_dod } else { &by_delta });
    }
    if !raw.is_empty() {
        put_uvarint(out, raw.len() as u64);
    }
    let mut last = 0usize;
    for (i, bits) in raw {
        put_uvarint(out, (i - last) as u64);
        out.extend_from_slice(&bits.to_le_bytes());
        last = i;
    }
}

/// Width, base and size in bytes of the smallest PFOR stream of `xs`: the width that holds
/// every value, or a narrower one when the values it leaves out (as exceptions) cost less than
/// the bits it saves.
fn choose(xs: &[i64], sorted: &mut Vec<i64>) -> (u32, i64, usize) {
    let n = xs.len();
    let (Some(&min), Some(&max)) = (xs.iter().min(), xs.iter().max()) else {
        return (0, 0, 2);
    };
    let full = 64 - (max.wrapping_sub(min) as u64).leading_zeros();
    let mut best = (
        full,
        min,
        1 + varint::varint_len(min) + (n * full as usize).div_ceil(8),
    );
    if full == 0 || n < 8 {
        return best;
    }
    sorted.clear();
    sorted.extend_from_slice(xs);
    sorted.sort_unstable();
    for w in (0..full).rev() {
        // The window [lo, lo + 2^w) holding the most values.
        let (mut lo, mut inside) = (min, 0usize);
        let mut j = 0usize;
        for i in 0..n {
            while !fits(sorted[i].wrapping_sub(sorted[j]) as u64, w) {
                j += 1;
            }
            if i + 1 - j > inside {
                inside = i + 1 - j;
                lo = sorted[j];
            }
        }
        // Each exception takes at least 2 bytes, and narrower widths leave out more.
        let floor = 2 * (n - inside);
        if floor >= best.2 {
            break;
        }
        let packed = (n * w as usize).div_ceil(8);
        if packed + floor + 2 >= best.2 {
            continue;
        }
        let mut size = 1 + varint::varint_len(lo) + packed;
        let (mut exceptions, mut last) = (0usize, 0usize);
        for (i, &x) in xs.iter().enumerate() {
            let off = x.wrapping_sub(lo) as u64;
            if !in_window(x, lo, off, w) {
                size += uvarint_len((i - last) as u64) + varint::varint_len(off as i64);
                last = i;
                exceptions += 1;
            }
        }
        size += uvarint_len(exceptions as u64);
        if size < best.2 {
            best = (w, lo, size);
        }
    }
    best
}

/// Whether an unsigned offset fits in w bits.
fn fits(off: u64, w: u32) -> bool {
    w >= 64 || off >> w == 0
}

/// Whether x lies in [lo, lo + 2^w) (`off` is x − lo, wrapping).
fn in_window(x: i64, lo: i64, off: u64, w: u32) -> bool {
    x >= lo && fits(off, w)
}

fn uvarint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends the PFOR stream of `xs`.
fn put_pfor(out: &mut Vec<u8>, xs: &[i64], scratch: &mut Vec<i64>) {
    let (w, base, _) = choose(xs, scratch);
    let mut exceptions = Vec::new();
    let (mut acc, mut have) = (0u128, 0u32);
    let mut bits = Vec::with_capacity((xs.len() * w as usize).div_ceil(8));
    for (i, &x) in xs.iter().enumerate() {
        let off = x.wrapping_sub(base) as u64;
        let field = if in_window(x, base, off, w) {
            off
        } else {
            exceptions.push((i, off as i64));
            0
        };
        if w == 0 {
            continue;
        }
        acc |= u128::from(field) << have;
        have += w;
        while have >= 8 {
            bits.push(acc as u8);
            acc >>= 8;
            have -= 8;
        }
    }
    if have > 0 {
        bits.push(acc as u8);
    }
    out.push(w as u8 | if exceptions.is_empty() { 0 } else { 0x80 });
    put_varint(out, base);
    if !exceptions.is_empty() {
        put_uvarint(out, exceptions.len() as u64);
    }
    out.extend_from_slice(&bits);
    let mut last = 0usize;
    for (i, off) in exceptions {
        put_uvarint(out, (i - last) as u64);
        put_varint(out, off);
        last = i;
    }
}

/// Reads a PFOR stream of `count` values into `out` (cleared first).
fn read_pfor(r: &mut Reader, count: usize, out: &mut Vec<i64>) -> Option<()> {
    out.clear();
    let head = r.byte()?;
    let w = u32::from(head & 0x7f);
    if w > 64 {
        return None;
    }
    let base = r.varint()?;
    let exceptions = if head & 0x80 != 0 {
        usize::try_from(r.uvarint()?).ok()?
    } else {
        0
    };
    if exceptions > count || (head & 0x80 != 0 && exceptions == 0) {
        return None;
    }
    let src = r.bytes((count * w as usize).div_ceil(8))?;
    out.resize(count, base);
    if (1..=56).contains(&w) {
        // Each field lies within the 8 bytes from its first byte: one load, shift and mask
        // per field, over a copy padded so that every load is in bounds.
        let mask = (1u64 << w) - 1;
        let mut padded = Vec::with_capacity(src.len() + 8);
        padded.extend_from_slice(src);
        padded.resize(src.len() + 8, 0);
        let mut pos = 0usize;
        for slot in out.iter_mut() {
            let at = pos >> 3;
            let mut word = [0u8; 8];
            word.copy_from_slice(padded.get(at..at + 8)?);
            *slot = base.wrapping_add(((u64::from_le_bytes(word) >> (pos & 7)) & mask) as i64);
            pos += w as usize;
        }
    } else if w > 0 {
        let mask = if w == 64 { u64::MAX } else { (1u64 << w) - 1 };
        let (mut acc, mut have, mut p) = (0u128, 0u32, 0usize);
        for slot in out.iter_mut() {
            if have < w {
                if let Some(b8) = src.get(p..p + 8) {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b8);
                    acc |= u128::from(u64::from_le_bytes(a)) << have;
                    have += 64;
                    p += 8;
                } else {
                    while have < w {
                        acc |= u128::from(*src.get(p)?) << have;
                        have += 8;
                        p += 1;
                    }
                }
            }
            *slot = base.wrapping_add((acc as u64 & mask) as i64);
            acc >>= w;
            have -= w;
        }
    }
    let mut at = 0usize;
    for i in 0..exceptions {
        let gap = usize::try_from(r.uvarint()?).ok()?;
        if i > 0 && gap == 0 {
            return None;
        }
        at = at.checked_add(gap)?;
        let off = r.varint()?;
        *out.get_mut(at)? = base.wrapping_add(off);
    }
    Some(())
}

/// Decodes a packed row (format byte included). `None` if the bytes are damaged.
pub(crate) fn decode(b: &[u8]) -> Option<Vec<(i64, f64)>> {
    let mut r = Reader::new(b, 1);
    let n = usize::try_from(r.uvarint()?).ok()?;
    if n > MAX_PACKED_SAMPLES {
        return None;
    }
    let mut out: Vec<(i64, f64)> = Vec::with_capacity(n);
    if n == 0 {
        return r.done().then_some(out);
    }
    let t0 = r.varint()?;
    out.push((t0, 0.0));
    let mut a = Vec::with_capacity(n);
    if n >= 2 {
        let mode = r.byte()?;
        let step = r.varint()?;
        match mode {
            0 => {
                read_pfor(&mut r, n - 1, &mut a)?;
                let mut t = t0;
                for &x in &a {
                    t = t.wrapping_add(step).wrapping_add(x);
                    out.push((t, 0.0));
                }
            }
            1 => {
                let mut e = Vec::with_capacity(n);
                read_pfor(&mut r, n - 1, &mut a)?;
                read_pfor(&mut r, n - 1, &mut e)?;
                let mut k = 0i64;
                for (&dk, &e) in a.iter().zip(&e) {
                    k = k.wrapping_add(dk).wrapping_add(1);
                    let t = t0.wrapping_add(k.wrapping_mul(step)).wrapping_add(e);
                    out.push((t, 0.0));
                }
            }
            _ => return None,
        }
    }
    let vmode = r.byte()?;
    if vmode & 0x30 != 0 {
        return None;
    }
    let p = *POW10.get(usize::from(vmode & 0x0f))?;
    let mut m = r.varint()?;
    out[0].1 = m as f64 / p;
    if n >= 2 {
        read_pfor(&mut r, n - 1, &mut a)?;
        if vmode & 0x80 != 0 {
            // Delta-of-deltas: sum once into deltas, then as below.
            let mut delta = 0i64;
            for x in a.iter_mut() {
                delta = delta.wrapping_add(*x);
                *x = delta;
            }
        }
        if p == 1.0 {
            // Integers (the most common values): m / 1 is m exactly, without a division.
            for (s, &x) in out[1..].iter_mut().zip(&a) {
                m = m.wrapping_add(x);
                s.1 = m as f64;
            }
        } else {
            for (s, &x) in out[1..].iter_mut().zip(&a) {
                m = m.wrapping_add(x);
                s.1 = m as f64 / p;
            }
        }
    }
    let raw = if vmode & 0x40 != 0 {
        usize::try_from(r.uvarint()?).ok()?
    } else {
        0
    };
    if raw > n || (vmode & 0x40 != 0 && raw == 0) {
        return None;
    }
    let mut at = 0usize;
    for i in 0..raw {
        let gap = usize::try_from(r.uvarint()?).ok()?;
        if i > 0 && gap == 0 {
            return None;
        }
        at = at.checked_add(gap)?;
        let mut bits = [0u8; 8];
        bits.copy_from_slice(r.bytes(8)?);
        out.get_mut(at)?.1 = f64::from_bits(u64::from_le_bytes(bits));
    }
    r.done().then_some(out)
}
