//! The exposition parser (Prometheus text and OpenMetrics) on arbitrary bytes: no panics,
//! and every entry's labels either parse or give an error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use promterm::textparse::{Entry, Format, Parser};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Text, Format::OpenMetrics] {
        for e in Parser::new(text, format).take(10_000) {
            if let Ok(Entry::Sample(s)) = e {
                let _ = s.labels();
            }
        }
    }
});
