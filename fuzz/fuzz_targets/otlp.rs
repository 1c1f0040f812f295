//! The OTLP/HTTP decoders (protobuf and JSON) and translation, on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
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
    let _ = promterm::otlp::receive(&Null, data, false);
    let _ = promterm::otlp::receive(&Null, data, true);
});
