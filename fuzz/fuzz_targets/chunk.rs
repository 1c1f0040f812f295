//! Chunk decoding of arbitrary bytes (both persisted formats, the XOR iterator, resuming an
//! encoder), and the round trip: arbitrary samples in increasing time order encode and decode
//! to exactly themselves (bit for bit, NaN payloads included).
#![no_main]
use libfuzzer_sys::fuzz_target;
use promterm::tsdb::chunkenc::{decode_persisted, encode_persisted, XorEncoder, XorIter};

fuzz_target!(|data: &[u8]| {
    let _ = decode_persisted(data);
    let _: Vec<(i64, f64)> = XorIter::new(data).take(100_000).collect();
    if let Some(mut e) = XorEncoder::resume(data) {
        let t = e.last_t().saturating_add(1);
        e.append(t, 1.0);
        let _: Vec<(i64, f64)> = e.iter().take(100_000).collect();
    }
    // Round trip: 16 bytes per sample, timestamps made increasing.
    let mut samples: Vec<(i64, f64)> = Vec::new();
    let mut t = i64::MIN / 4;
    for c in data.chunks_exact(16).take(120) {
        let dt = i64::from_le_bytes(c[..8].try_into().unwrap()) & 0x0000_ffff_ffff;
        t = t.saturating_add(dt.max(1));
        samples.push((
            t,
            f64::from_bits(u64::from_le_bytes(c[8..].try_into().unwrap())),
        ));
    }
    let bytes = encode_persisted(&samples, None);
    let back = decode_persisted(&bytes).expect("our own chunk decodes");
    assert_eq!(back.len(), samples.len());
    for (a, b) in back.iter().zip(&samples) {
        assert_eq!(a.0, b.0);
        assert_eq!(a.1.to_bits(), b.1.to_bits());
    }
});
