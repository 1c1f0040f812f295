//! The OTLP/HTTP decoders (protobuf and JSON) and translation, on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

mod null;
use null::Null;

fuzz_target!(|data: &[u8]| {
    let _ = promterm::otlp::receive(&Null, data, false);
    let _ = promterm::otlp::receive(&Null, data, true);
});
