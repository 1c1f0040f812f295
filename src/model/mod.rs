//! Core data model shared by every other module: for now the rules for metric and label names.
//!
//! Uses std only. Later issues add Labels, Matcher, Sample and the stale-marker NaN here.

mod names;

pub use names::{is_valid_label_name, is_valid_metric_name, NameValidation};
