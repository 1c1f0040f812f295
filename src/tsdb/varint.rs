//! Base-128 varints (unsigned, and zigzag for signed; the encoding of Go's `encoding/binary`
//! `PutUvarint`/`PutVarint`) as used by the WAL, the persisted chunk format, the label encoding
//! in the database and the XOR chunks' bit stream, with a bounds-checked reader.
//!
//! The one encoder and decoder work through a byte sink and a byte source, so the XOR chunks
//! (which write bytes into a bit stream) share them with the byte-slice users.
//!
//! Uses nothing else.

/// Writes `v` as a base-128 varint, low groups first, one byte at a time into `put`.
pub fn write_uvarint(mut v: u64, mut put: impl FnMut(u8)) {
    while v >= 0x80 {
        put((v as u8) | 0x80);
        v >>= 7;
    }
    put(v as u8);
}

/// Reads a base-128 varint from `next`; `None` when the bytes end first or the value
/// overflows 64 bits (as Go's `binary.ReadUvarint`).
pub fn read_uvarint(mut next: impl FnMut() -> Option<u8>) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = next()?;
        if shift == 63 && byte > 1 {
            return None;
        }
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

pub fn put_uvarint(b: &mut Vec<u8>, v: u64) {
    write_uvarint(v, |x| b.push(x));
}

/// Maps signed to unsigned so small magnitudes stay small: 0, -1, 1, -2 → 0, 1, 2, 3.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// The inverse of [`zigzag`].
pub fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

pub fn put_varint(b: &mut Vec<u8>, v: i64) {
    put_uvarint(b, zigzag(v));
}

/// Bytes `put_varint(v)` writes.
pub fn varint_len(v: i64) -> usize {
    (64 - zigzag(v).leading_zeros() as usize).max(1).div_ceil(7)
}

/// Reads varints and byte strings from a slice; every read returns `None` past the end.
pub struct Reader<'a> {
    b: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8], pos: usize) -> Self {
        Reader { b, pos }
    }

    pub fn done(&self) -> bool {
        self.pos >= self.b.len()
    }

    pub fn byte(&mut self) -> Option<u8> {
        let v = *self.b.get(self.pos)?;
        self.pos += 1;
        Some(v)
    }

    pub fn uvarint(&mut self) -> Option<u64> {
        read_uvarint(|| self.byte())
    }

    pub fn varint(&mut self) -> Option<i64> {
        self.uvarint().map(unzigzag)
    }

    pub fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }

    /// A uvarint length followed by that many bytes of UTF-8.
    pub fn str(&mut self) -> Option<&'a str> {
        let n = usize::try_from(self.uvarint()?).ok()?;
        std::str::from_utf8(self.bytes(n)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_bounds() {
        let mut b = Vec::new();
        for v in [0i64, -1, 1, 63, -64, 64, i64::MAX, i64::MIN] {
            put_varint(&mut b, v);
            assert_eq!(varint_len(v), {
                let mut x = Vec::new();
                put_varint(&mut x, v);
                x.len()
            });
        }
        put_uvarint(&mut b, 3);
        b.extend_from_slice(b"abc");
        let mut r = Reader::new(&b, 0);
        for v in [0i64, -1, 1, 63, -64, 64, i64::MAX, i64::MIN] {
            assert_eq!(r.varint(), Some(v));
        }
        assert_eq!(r.str(), Some("abc"));
        assert!(r.done());
        assert_eq!(r.uvarint(), None);
        assert_eq!(Reader::new(&[0x80, 0x80], 0).uvarint(), None);
        assert_eq!(Reader::new(&[0x05, b'a'], 0).str(), None);
        // Ten bytes whose last holds more than the 64th bit overflow.
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert_eq!(Reader::new(&over, 0).uvarint(), None);
        over[9] = 0x01;
        assert_eq!(Reader::new(&over, 0).uvarint(), Some(u64::MAX));
    }
}
