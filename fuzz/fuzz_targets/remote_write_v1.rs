//! The remote-write 1.0 path: protobuf decoding of arbitrary bytes (samples and metadata), and
//! the whole receive (snappy, validation) into a store that keeps nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use promterm::remote::{self, proto, Limits};
use promterm::storage::{AppendStats, Appender, SeriesInput, StorageError};

struct Null;
impl Appender for Null {
    fn append(&self, b: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        Ok(AppendStats {
            accepted: b.iter().map(|s| s.samples.len() as u64).sum(),
            ..AppendStats::default()
        })
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = proto::decode_write_request(data);
    let _ = proto::decode_metadata(data);
    let _ = remote::receive(
        &Null,
        Some("application/x-protobuf"),
        Some("snappy"),
        data,
        Limits::default(),
    );
    // The same bytes as an uncompressed body, compressed here, through the whole receive.
    if let Ok(body) = snap::raw::Encoder::new().compress_vec(data) {
        let _ = remote::receive(&Null, None, None, &body, Limits::default());
    }
});
