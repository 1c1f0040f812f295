//! The WAL record decoder on arbitrary bytes: framing, checksums, every record type. The
//! input is also framed with a valid header and checksum, so the payload decoders are reached.
#![no_main]
use libfuzzer_sys::fuzz_target;
use promterm::tsdb::wal;

fuzz_target!(|data: &[u8]| {
    let _ = wal::parse_records(data);
    let mut framed = Vec::with_capacity(data.len() + 8);
    framed.extend_from_slice(&(data.len() as u32).to_le_bytes());
    framed.extend_from_slice(&crc32c::crc32c(data).to_le_bytes());
    framed.extend_from_slice(data);
    let (recs, used) = wal::parse_records(&framed);
    assert!(used <= framed.len());
    assert!(recs.len() <= 1);
});
