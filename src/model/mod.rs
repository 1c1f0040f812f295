//! Core data model shared by every other module: metric and label names, label sets, matchers,
//! samples and the stale marker, and a base64 decoder.
//!
//! Uses std, `regex` (for matchers), `chrono` (for calendar time) and `thiserror` only.

mod base64;
mod fxhash;
mod labels;
mod matcher;
mod names;
mod sample;
pub mod time;
mod xxh64;

pub use base64::base64_decode;
pub use fxhash::{FxBuild, FxHasher, FxMap};
pub use labels::{hash_pairs, Label, LabelLimits, Labels, METRIC_NAME};
pub use matcher::{MatchOp, Matcher, MatcherError};
pub use names::{is_valid_label_name, is_valid_metric_name, NameValidation};
pub use sample::{format_go_g, is_stale_nan, now_ms, stale_nan, Sample, Timestamp, STALE_NAN_BITS};
pub use time::{
    civil_from_days, compact_utc, parse_time, rfc3339_nano, rfc3339_system, TimeError, MAX_TIME,
    MIN_TIME,
};
pub use xxh64::{labels_hash, xxh64};
