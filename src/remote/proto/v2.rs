//! The remote write 2.0 messages (package `io.prometheus.write.v2`) declared for `prost`:
//! `Request` holds a symbols table that series, exemplars and metadata refer to by index
//! (entry 0 is the empty string). `Sample`, `Histogram` and `BucketSpan` have the same fields
//! as 1.0's and are reused from `v1`. Symbols are `bytes` (UTF-8 is checked per series by the
//! receiver). Uses `prost` and `v1`.

use prost::bytes::Bytes;

pub use super::v1::{BucketSpan, Histogram, MetricType, Sample};

/// `io.prometheus.write.v2.Request`. Fields 1 to 3 are reserved in 2.0 (they are 1.0's); they
/// are read here only to tell a 1.0 body sent with the 2.0 Content-Type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Request {
    #[prost(message, repeated, tag = "1")]
    pub reserved_v1_timeseries: Vec<Ignored>,
    #[prost(message, repeated, tag = "3")]
    pub reserved_v1_metadata: Vec<Ignored>,
    #[prost(bytes = "bytes", repeated, tag = "4")]
    pub symbols: Vec<Bytes>,
    #[prost(message, repeated, tag = "5")]
    pub timeseries: Vec<TimeSeries>,
}

/// A message whose fields are all skipped.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Ignored {}

/// One series: label pairs as symbol references (name, value, name, value, ...).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    pub histograms: Vec<Histogram>,
    #[prost(message, repeated, tag = "4")]
    pub exemplars: Vec<Exemplar>,
    #[prost(message, optional, tag = "5")]
    pub metadata: Option<Metadata>,
    /// Milliseconds; 0 when unknown.
    #[prost(int64, tag = "6")]
    pub created_timestamp: i64,
}

/// An exemplar: labels as symbol references, value, timestamp (ms).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    #[prost(uint32, repeated, tag = "1")]
    pub labels_refs: Vec<u32>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

/// A series' metadata: type, and help and unit as symbol references (0: none). Field 2 is
/// reserved.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Metadata {
    #[prost(enumeration = "MetricType", tag = "1")]
    pub r#type: i32,
    #[prost(uint32, tag = "3")]
    pub help_ref: u32,
    #[prost(uint32, tag = "4")]
    pub unit_ref: u32,
}
