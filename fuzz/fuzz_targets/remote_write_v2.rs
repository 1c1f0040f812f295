//! The remote-write 2.0 path: symbols-table decoding of arbitrary bytes, and the whole receive.
#![no_main]
use libfuzzer_sys::fuzz_target;
use promterm::remote::{self, proto, Limits};

mod null;
use null::Null;

const CT2: Option<&str> = Some("application/x-protobuf;proto=io.prometheus.write.v2.Request");

fuzz_target!(|data: &[u8]| {
    let _ = proto::decode_write_request_v2(data).map(|req| req.decoded_series().map(drop));
    if let Ok(body) = snap::raw::Encoder::new().compress_vec(data) {
        let _ = remote::receive(&Null, CT2, None, &body, Limits::default());
    }
});
