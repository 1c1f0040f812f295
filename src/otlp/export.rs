//! One OTLP export, whichever transport brings it (gRPC, OTLP/HTTP on its own port or on the
//! API port): readiness, the bound on exports in flight (so a burst of exports never takes the
//! cores scraping and queries need), translation and storage on a blocking thread through the
//! `Receiver`, the `partial_success` answer, and the `google.rpc` messages (`Status`,
//! `RetryInfo`) that OTLP error answers carry, in protobuf and in JSON.
//!
//! The transports map a `Refusal` to their own codes: gRPC status codes as the OTLP spec
//! lists them, and the HTTP statuses of OTLP/HTTP (`Refusal::code`, `Refusal::retry_after`).
//! Uses `model`, `storage`, the receiver (`super`), prost, tonic's `Code` and tokio.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{OtlpError, Outcome, Receiver};
use crate::model::LabelLimits;
use crate::storage::Appender;

/// How long a client is asked to wait when promterm is busy with other exports.
pub const RETRY_BUSY: Duration = Duration::from_secs(1);
/// How long a client is asked to wait when promterm is not ready (starting, shutting down)
/// or its store failed.
pub const RETRY_UNAVAILABLE: Duration = Duration::from_secs(5);

/// Longest an export waits for a slot before it is refused as busy: a short wait absorbs
/// exports that arrive together (applications flushing on the same tick) without a retry;
/// waiting costs nothing but the open connection.
pub const SLOT_WAIT: Duration = Duration::from_millis(500);

/// Exports handled at once by default: two per core. Decoding and translating are CPU work;
/// more at once would only queue on the cores scraping and queries also need.
pub fn default_in_flight() -> usize {
    2 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Why an export was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Starting up or shutting down.
    #[error("promterm is not ready to accept writes (starting or shutting down); retry later")]
    NotReady,
    /// As many exports as allowed are in flight.
    #[error("too many OTLP exports in flight (at most {0} at once); retry later")]
    Busy(usize),
    /// Undecodable or invalid data: retrying the same request cannot help.
    #[error("{0}")]
    Invalid(String),
    /// A request (or its decompressed form) over a size limit.
    #[error("{0}")]
    TooLarge(String),
    /// The store failed.
    #[error("cannot store the export: {0}")]
    Unavailable(String),
}

impl Refusal {
    /// The gRPC status code the OTLP spec gives this refusal (also the `code` of the
    /// `google.rpc.Status` an OTLP/HTTP error answer carries).
    pub fn code(&self) -> tonic::Code {
        match self {
            Refusal::NotReady | Refusal::Unavailable(_) => tonic::Code::Unavailable,
            Refusal::Busy(_) | Refusal::TooLarge(_) => tonic::Code::ResourceExhausted,
            Refusal::Invalid(_) => tonic::Code::InvalidArgument,
        }
    }

    /// The HTTP status of OTLP/HTTP: 400 bad data, 413 too large, 429 busy, 503 not ready or
    /// store failed.
    pub fn http_status(&self) -> u16 {
        match self {
            Refusal::Invalid(_) => 400,
            Refusal::TooLarge(_) => 413,
            Refusal::Busy(_) => 429,
            Refusal::NotReady | Refusal::Unavailable(_) => 503,
        }
    }

    /// When the client should try again (gRPC `RetryInfo`, HTTP `Retry-After`); `None` for
    /// refusals a retry cannot cure.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Refusal::Busy(_) => Some(RETRY_BUSY),
            Refusal::NotReady | Refusal::Unavailable(_) => Some(RETRY_UNAVAILABLE),
            Refusal::Invalid(_) | Refusal::TooLarge(_) => None,
        }
    }

    /// The `google.rpc.Status` describing this refusal (with `RetryInfo` when retryable).
    pub fn rpc_status(&self) -> rpc::Status {
        rpc::Status::new(self.code(), self.to_string(), self.retry_after())
    }
}

/// Whether the server takes writes now.
pub type ReadyFn = Arc<dyn Fn() -> bool + Send + Sync>;
/// Called with every stored export's outcome (metadata for `/api/v1/metadata`, telemetry).
pub type OutcomeHook = Arc<dyn Fn(&Outcome) + Send + Sync>;

/// Where exports go: the store, the receiver (translation config), the label limits, and
/// the server's hooks, as plain values so every transport can share them.
#[derive(Clone)]
pub struct Sink {
    pub appender: Arc<dyn Appender>,
    pub receiver: Arc<Receiver>,
    pub labels: LabelLimits,
    pub ready: ReadyFn,
    pub on_stored: OutcomeHook,
    /// Slots for exports in flight, shared by every OTLP endpoint.
    pub in_flight: Arc<Semaphore>,
    /// How many slots there are (for the message when none is free).
    pub max_in_flight: usize,
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sink")
            .field("max_in_flight", &self.max_in_flight)
            .finish()
    }
}

impl Sink {
    /// Takes a slot for one export: refused when not ready, or when no slot frees up within
    /// `SLOT_WAIT` (a longer burst is pushed back to the clients instead of queueing here).
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Refusal> {
        if !(self.ready)() {
            return Err(Refusal::NotReady);
        }
        let slots = self.in_flight.clone();
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        match tokio::time::timeout(SLOT_WAIT, slots.acquire_owned()).await {
            Ok(Ok(slot)) => Ok(slot),
            _ => Err(Refusal::Busy(self.max_in_flight)),
        }
    }

    /// Translates and stores a decoded request on a blocking thread.
    pub async fn store(&self, req: ExportMetricsServiceRequest) -> Result<Outcome, Refusal> {
        let (receiver, appender, labels) =
            (self.receiver.clone(), self.appender.clone(), self.labels);
        self.run(move || receiver.store(appender.as_ref(), &req, &labels))
            .await
    }

    /// Decodes (OTLP/JSON when `json`, else protobuf), translates and stores a request body
    /// on a blocking thread.
    pub async fn receive(&self, body: Vec<u8>, json: bool) -> Result<Outcome, Refusal> {
        let (receiver, appender, labels) =
            (self.receiver.clone(), self.appender.clone(), self.labels);
        self.run(move || receiver.receive(appender.as_ref(), &body, json, &labels))
            .await
    }

    async fn run(
        &self,
        work: impl FnOnce() -> Result<Outcome, OtlpError> + Send + 'static,
    ) -> Result<Outcome, Refusal> {
        if !(self.ready)() {
            return Err(Refusal::NotReady);
        }
        let outcome = match tokio::task::spawn_blocking(work).await {
            Ok(Ok(o)) => o,
            Ok(Err(OtlpError::Bad(m))) => return Err(Refusal::Invalid(m)),
            Ok(Err(e)) => return Err(Refusal::Unavailable(e.to_string())),
            Err(e) => return Err(Refusal::Unavailable(format!("the store task failed: {e}"))),
        };
        (self.on_stored)(&outcome);
        Ok(outcome)
    }
}

/// The answer to a stored export: `partial_success` only when something was refused or
/// there is a warning.
pub fn response(o: &Outcome) -> ExportMetricsServiceResponse {
    ExportMetricsServiceResponse {
        partial_success: partial_success(o),
    }
}

/// `partial_success` of an export: the data points the translation refused (the receiver's
/// count and message) and the samples the store refused (out of order, duplicate or invalid), which
/// are counted here.
pub fn partial_success(o: &Outcome) -> Option<ExportMetricsPartialSuccess> {
    let stored_rejects = o.stats.rejected();
    let mut message = o.error_message.clone();
    if stored_rejects > 0 {
        if !message.is_empty() {
            message.push_str("; ");
        }
        let invalid = if o.stats.invalid > 0 {
            format!(", {} invalid", o.stats.invalid)
        } else {
            String::new()
        };
        message.push_str(&format!(
            "{stored_rejects} samples refused by the store ({} out of order, {} duplicate: same timestamp, another value{invalid}); {} stored",
            o.stats.out_of_order, o.stats.duplicate, o.stats.accepted
        ));
    }
    let rejected = o.rejected_points.saturating_add(stored_rejects);
    (rejected > 0 || !message.is_empty()).then(|| ExportMetricsPartialSuccess {
        rejected_data_points: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message,
    })
}

/// The OTLP/JSON form of a response: `{}`, or `{"partialSuccess": {...}}` with the int64 as a
/// string (the protobuf JSON mapping OTLP/JSON follows).
pub fn response_json(r: &ExportMetricsServiceResponse) -> serde_json::Value {
    match &r.partial_success {
        None => serde_json::json!({}),
        Some(p) => {
            let mut ps = serde_json::Map::new();
            if p.rejected_data_points != 0 {
                ps.insert(
                    "rejectedDataPoints".into(),
                    p.rejected_data_points.to_string().into(),
                );
            }
            if !p.error_message.is_empty() {
                ps.insert("errorMessage".into(), p.error_message.clone().into());
            }
            serde_json::json!({ "partialSuccess": ps })
        }
    }
}

/// The `google.rpc` messages of OTLP error answers, as prost derives.
pub mod rpc {
    use std::time::Duration;

    /// `type_url` of a packed `google.rpc.RetryInfo`.
    pub const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

    /// `google.rpc.Status`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Status {
        #[prost(int32, tag = "1")]
        pub code: i32,
        #[prost(string, tag = "2")]
        pub message: String,
        #[prost(message, repeated, tag = "3")]
        pub details: Vec<Any>,
    }

    /// `google.protobuf.Any`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Any {
        #[prost(string, tag = "1")]
        pub type_url: String,
        #[prost(bytes = "vec", tag = "2")]
        pub value: Vec<u8>,
    }

    /// `google.rpc.RetryInfo`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RetryInfo {
        #[prost(message, optional, tag = "1")]
        pub retry_delay: Option<ProtoDuration>,
    }

    /// `google.protobuf.Duration`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ProtoDuration {
        #[prost(int64, tag = "1")]
        pub seconds: i64,
        #[prost(int32, tag = "2")]
        pub nanos: i32,
    }

    impl Status {
        /// A status with `code` and `message`, and a `RetryInfo` detail when `retry` is set.
        pub fn new(code: tonic::Code, message: String, retry: Option<Duration>) -> Status {
            let details = retry
                .map(|d| Any {
                    type_url: RETRY_INFO_TYPE.into(),
                    value: prost::Message::encode_to_vec(&RetryInfo {
                        retry_delay: Some(ProtoDuration {
                            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                            nanos: d.subsec_nanos() as i32,
                        }),
                    }),
                })
                .into_iter()
                .collect();
            Status {
                code: code as i32,
                message,
                details,
            }
        }

        /// The retry delay of its `RetryInfo` detail, if it has one.
        pub fn retry_delay(&self) -> Option<Duration> {
            self.details
                .iter()
                .filter(|a| a.type_url == RETRY_INFO_TYPE)
                .find_map(|a| <RetryInfo as prost::Message>::decode(&a.value[..]).ok())
                .and_then(|r| r.retry_delay)
                .map(|d| {
                    Duration::new(
                        u64::try_from(d.seconds).unwrap_or(0),
                        u32::try_from(d.nanos).unwrap_or(0),
                    )
                })
        }

        /// The protobuf JSON form: `{"code": 3, "message": "...", "details": [{"@type":
        /// "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}]}`.
        pub fn to_json(&self) -> serde_json::Value {
            let mut v = serde_json::json!({ "code": self.code, "message": self.message });
            if let Some(d) = self.retry_delay() {
                v["details"] = serde_json::json!([{
                    "@type": RETRY_INFO_TYPE,
                    "retryDelay": json_duration(d),
                }]);
            }
            v
        }
    }

    /// A `google.protobuf.Duration` in JSON: seconds with a fraction only when needed ("1s",
    /// "1.500s").
    pub fn json_duration(d: Duration) -> String {
        let nanos = d.subsec_nanos();
        if nanos == 0 {
            format!("{}s", d.as_secs())
        } else {
            let frac = format!("{nanos:09}");
            format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn refusals_map_to_the_otlp_codes() {
        let cases = [
            (Refusal::NotReady, tonic::Code::Unavailable, 503, true),
            (Refusal::Busy(4), tonic::Code::ResourceExhausted, 429, true),
            (
                Refusal::Invalid("x".into()),
                tonic::Code::InvalidArgument,
                400,
                false,
            ),
            (
                Refusal::TooLarge("x".into()),
                tonic::Code::ResourceExhausted,
                413,
                false,
            ),
            (
                Refusal::Unavailable("disk".into()),
                tonic::Code::Unavailable,
                503,
                true,
            ),
        ];
        for (r, code, http, retry) in cases {
            assert_eq!(r.code(), code, "{r:?}");
            assert_eq!(r.http_status(), http, "{r:?}");
            assert_eq!(r.retry_after().is_some(), retry, "{r:?}");
            let st = r.rpc_status();
            assert_eq!(st.code, code as i32);
            assert_eq!(st.retry_delay(), r.retry_after(), "{r:?}");
        }
        assert!(Refusal::Busy(4).to_string().contains("at most 4"));
    }

    struct Nothing;

    impl Appender for Nothing {
        fn append(
            &self,
            _: &[crate::storage::SeriesInput<'_>],
        ) -> Result<crate::storage::AppendStats, crate::storage::StorageError> {
            Ok(Default::default())
        }
    }

    #[tokio::test]
    async fn an_export_waits_briefly_for_a_slot_then_is_refused_as_busy() {
        let ready = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let r = ready.clone();
        let sink = Sink {
            appender: Arc::new(Nothing),
            receiver: Arc::default(),
            labels: LabelLimits::default(),
            ready: Arc::new(move || r.load(std::sync::atomic::Ordering::SeqCst)),
            on_stored: Arc::new(|_| {}),
            in_flight: Arc::new(Semaphore::new(1)),
            max_in_flight: 1,
        };
        let held = sink.enter().await.unwrap();
        // Freed within the wait: taken.
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            drop(held);
        });
        let again = sink.enter().await.expect("the slot freed in time");
        // Not freed: busy after SLOT_WAIT.
        let started = std::time::Instant::now();
        assert_eq!(sink.enter().await.unwrap_err(), Refusal::Busy(1));
        assert!(started.elapsed() >= SLOT_WAIT);
        drop(again);
        ready.store(false, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(sink.enter().await.unwrap_err(), Refusal::NotReady);
    }

    #[test]
    fn retry_info_round_trips_through_protobuf_and_reads_as_json() {
        let st = rpc::Status::new(
            tonic::Code::ResourceExhausted,
            "busy".into(),
            Some(Duration::from_millis(1500)),
        );
        let back = rpc::Status::decode(&st.encode_to_vec()[..]).unwrap();
        assert_eq!(back, st);
        assert_eq!(back.details[0].type_url, rpc::RETRY_INFO_TYPE);
        assert_eq!(back.retry_delay(), Some(Duration::from_millis(1500)));
        assert_eq!(
            st.to_json(),
            serde_json::json!({"code": 8, "message": "busy", "details": [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]})
        );
        let plain = rpc::Status::new(tonic::Code::InvalidArgument, "bad".into(), None);
        assert_eq!(
            plain.to_json(),
            serde_json::json!({"code": 3, "message": "bad"})
        );
        assert_eq!(rpc::json_duration(Duration::from_secs(5)), "5s");
    }

    #[test]
    fn partial_success_names_translation_and_store_refusals() {
        let mut o = Outcome::default();
        assert_eq!(partial_success(&o), None);
        assert_eq!(response_json(&response(&o)), serde_json::json!({}));
        o.rejected_points = 2;
        o.error_message = "delta temporality refused for \"x\"".into();
        o.stats.accepted = 5;
        o.stats.out_of_order = 1;
        o.stats.duplicate = 2;
        let p = partial_success(&o).unwrap();
        assert_eq!(p.rejected_data_points, 5);
        assert!(
            p.error_message.starts_with("delta temporality"),
            "{}",
            p.error_message
        );
        assert!(
            p.error_message.contains("1 out of order, 2 duplicate"),
            "{}",
            p.error_message
        );
        let j = response_json(&response(&o));
        assert_eq!(j["partialSuccess"]["rejectedDataPoints"], "5");
        assert_eq!(
            j["partialSuccess"]["errorMessage"],
            p.error_message.as_str()
        );
        // A warning alone (nothing refused) is still reported.
        let w = Outcome {
            error_message: "careful".into(),
            ..Outcome::default()
        };
        let j = response_json(&response(&w));
        assert_eq!(
            j,
            serde_json::json!({"partialSuccess": {"errorMessage": "careful"}})
        );
        // The protobuf answer decodes back to the same counts.
        let bytes = response(&o).encode_to_vec();
        let back = ExportMetricsServiceResponse::decode(&bytes[..]).unwrap();
        assert_eq!(back.partial_success.unwrap().rejected_data_points, 5);
    }
}
