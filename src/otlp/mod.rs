//! The OTLP metrics receiver shared by the gRPC and HTTP endpoints: an
//! `ExportMetricsServiceRequest` (`opentelemetry-proto`'s types) decoded from protobuf with
//! `prost` or from JSON by `json`, translated as Prometheus 3's OTLP endpoint does it under the
//! `otlp:` config in force (`translate`, with names from `names`, labels and `target_info`
//! from `resource`, delta temporality summed up by `delta`), and stored by `append`. What
//! cannot be stored is refused data point by data point, as OTLP partial success
//! (`Outcome.rejected_points`, `Outcome.error_message`); the rest of the request is stored.
//!
//! Files: `json` (OTLP/JSON decoding), `names` (metric and label names per strategy),
//! `resource` (attribute labels, promotion, scope labels, `job`/`instance`, `target_info`),
//! `delta` (delta-to-cumulative state), `translate` (metrics to samples, exemplars,
//! metadata and refusals), `append` (duplicates, created-timestamp zeros, appends), `native`
//! (exponential and explicit-bucket points as native histograms).
//!
//! Uses `config`, `model`, `storage`, `textparse` (metadata types), `opentelemetry-proto` and
//! `prost`.

pub mod append;
pub mod delta;
pub mod export;
pub mod grpc;
pub mod json;
pub mod names;
pub mod native;
pub mod resource;
pub mod translate;

use std::time::Instant;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use prost::Message;

pub use names::{MetricKind, Namer};

use crate::storage::{AppendStats, Appender, StorageError};

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum OtlpError {
    /// 400
    #[error("{0}")]
    Bad(String),
    /// 500
    #[error("{0}")]
    Storage(#[from] StorageError),
}

impl From<json::JsonError> for OtlpError {
    fn from(e: json::JsonError) -> Self {
        OtlpError::Bad(e.to_string())
    }
}

/// Decodes a request: OTLP/JSON when `json`, else protobuf.
pub fn decode(body: &[u8], json: bool) -> Result<ExportMetricsServiceRequest, OtlpError> {
    if json {
        Ok(json::decode(body)?)
    } else {
        ExportMetricsServiceRequest::decode(body)
            .map_err(|e| OtlpError::Bad(format!("invalid OTLP protobuf: {e}")))
    }
}

/// Metadata of the metrics stored: (family name, type, description, unit).
pub type MetadataList = Vec<(String, crate::textparse::Metadata)>;

/// What became of one export request: what was stored, the metrics' metadata, and the data
/// points refused (OTLP's `partial_success`: their number and a message naming why).
#[derive(Debug, Default)]
pub struct Outcome {
    pub stats: AppendStats,
    pub exemplars: crate::storage::ExemplarStats,
    pub metadata: MetadataList,
    /// Data points not stored (OTLP `rejected_data_points`).
    pub rejected_points: u64,
    /// Why they were refused (OTLP `error_message`); empty when none were.
    pub error_message: String,
}

/// The OTLP receiver shared by the gRPC and HTTP endpoints: the `otlp:` config in force and
/// the state kept between requests (delta-to-cumulative totals).
#[derive(Debug, Default)]
pub struct Receiver {
    config: parking_lot::RwLock<crate::config::OtlpConfig>,
    delta: parking_lot::Mutex<delta::DeltaState>,
}

impl Receiver {
    pub fn new(config: crate::config::OtlpConfig) -> Self {
        Receiver {
            config: parking_lot::RwLock::new(config),
            delta: Default::default(),
        }
    }

    /// Applies a reloaded `otlp:` section to the following requests.
    pub fn set_config(&self, config: crate::config::OtlpConfig) {
        *self.config.write() = config;
    }

    /// Decodes (`json` picks the JSON encoding), translates and stores one request; label
    /// limits apply to every series.
    pub fn receive(
        &self,
        appender: &dyn Appender,
        body: &[u8],
        json: bool,
        limits: &crate::model::LabelLimits,
    ) -> Result<Outcome, OtlpError> {
        let req = decode(body, json)?;
        self.store(appender, &req, limits)
    }

    /// Translates and stores a decoded request.
    pub fn store(
        &self,
        appender: &dyn Appender,
        req: &ExportMetricsServiceRequest,
        limits: &crate::model::LabelLimits,
    ) -> Result<Outcome, OtlpError> {
        self.store_at(appender, req, limits, Instant::now())
    }

    /// `store` as if at `now` (the clock of the delta state's expiry).
    pub(crate) fn store_at(
        &self,
        appender: &dyn Appender,
        req: &ExportMetricsServiceRequest,
        limits: &crate::model::LabelLimits,
        now: Instant,
    ) -> Result<Outcome, OtlpError> {
        let cfg = self.config.read().clone();
        let translate = |state: &mut delta::DeltaState| {
            let mut t = translate::Translator::new(&cfg, state, now);
            t.request(req);
            t.finish()
        };
        if !(cfg.convert_delta_to_cumulative && translate::has_delta(req)) {
            let translated = translate(&mut delta::DeltaState::default());
            return append::store(appender, translated, limits);
        }
        // Requests holding delta data wait for the shared state and hold it until stored, so
        // the totals move only with what was stored.
        let mut state = self.delta.lock();
        state.expire(now);
        let translated = translate(&mut state);
        let r = append::store(appender, translated, limits);
        if r.is_ok() {
            state.commit();
        } else {
            state.rollback();
        }
        r
    }

    /// How many delta streams are tracked.
    pub fn delta_streams(&self) -> usize {
        self.delta.lock().len()
    }
}

#[cfg(test)]
mod tests;
