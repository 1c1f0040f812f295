//! The remote-write 1.0 path: protobuf decoding of arbitrary bytes (samples and metadata), and
//! the whole receive (snappy, validation) into a store that keeps nothing.
#![no_main]
use libfuzzer_sys::fuzz_target;
use promterm::remote::{self, proto, Limits};

mod null;
use null::Null;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = proto::decode_write_request(data) {
        for ts in &req.timeseries {
            let _ = ts.decoded();
        }
    }
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
