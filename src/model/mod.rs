//! Core data model shared by every other module: metric and label names, label sets, matchers,
//! samples and the stale marker, native histograms, time parsing and formatting.
//!
//! Uses std, `regex` (matchers), `chrono` (calendar time), `thiserror`, `xxhash-rust` (the
//! label hash) and `rustc-hash`.

pub mod histogram;
mod labels;
mod matcher;
mod names;
mod sample;
mod sym;
pub mod time;

pub use histogram::{
    CombineOutcome, CounterResetHint, FloatHistogram, Histogram, HistogramMathError,
    HistogramSample, HistogramValue, Span,
};
pub use labels::{
    hash_pairs, labels_hash, Label, LabelLimitError, LabelLimits, Labels, METRIC_NAME,
};
pub use matcher::{MatchOp, Matcher, MatcherError, RegexShape};
pub use names::{is_valid_label_name, is_valid_metric_name, NameValidation};
/// Fx hashing (`rustc-hash`) for in-process maps keyed by integers or short strings: query
/// memos, head shards, the scrape cache.
pub use rustc_hash::FxHasher;
pub use sym::Sym;
/// The `BuildHasher` for `FxHasher`.
pub type FxBuild = std::hash::BuildHasherDefault<FxHasher>;
/// A `HashMap` with Fx hashing.
pub type FxMap<K, V> = std::collections::HashMap<K, V, FxBuild>;
pub use sample::{format_go_g, is_stale_nan, now_ms, stale_nan, Sample, Timestamp, STALE_NAN_BITS};
pub use time::{
    civil_from_days, compact_utc, parse_time, rfc3339_nano, rfc3339_system, TimeError, MAX_TIME,
    MIN_TIME,
};
