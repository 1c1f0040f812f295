//! The OTLP/gRPC receiver: `opentelemetry.proto.collector.metrics.v1.MetricsService/Export`,
//! the `opentelemetry-proto` crate's generated tonic server over an `export::Sink`, served as
//! an axum `Router` (the server's listener speaks HTTP/2 cleartext and TLS with ALPN `h2`).
//!
//! - Compression: gzip and zstd requests are accepted; answers are compressed with what the
//!   client accepts (`grpc-accept-encoding`).
//! - Status codes as the OTLP spec gives them: INVALID_ARGUMENT for undecodable or invalid data
//!   (tonic answers INTERNAL for a message prost cannot decode; that is rewritten),
//!   RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` detail when too many exports are in
//!   flight (after a short wait for a slot), RESOURCE_EXHAUSTED without one for a message over the size limit (tonic's
//!   OUT_OF_RANGE, which OTLP clients would retry, is rewritten), UNAVAILABLE with RetryInfo
//!   when not ready or the store failed; `partial_success` for refused data points.
//! - The slot for an export is taken before its body is read, and the body is bounded, so a
//!   burst costs neither unbounded memory nor the cores scraping and queries need.
//!
//! Uses the sibling `export` (and through it the receiver); tonic, axum, http-body-util.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::Code;

use super::export::{self, Refusal, Sink};

/// The one method of the receiver.
pub const EXPORT_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// What the size limit is called in messages.
const LIMIT_NAME: &str = "--remote-write.max-bytes";

/// The `MetricsService` implementation: every export goes to the sink.
#[derive(Debug, Clone)]
pub struct Service {
    sink: Sink,
}

impl Service {
    pub fn new(sink: Sink) -> Self {
        Service { sink }
    }
}

#[tonic::async_trait]
impl MetricsService for Service {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let outcome = self
            .sink
            .store(request.into_inner())
            .await
            .map_err(|r| status(&r))?;
        Ok(tonic::Response::new(export::response(&outcome)))
    }
}

/// The gRPC status of a refusal, its `google.rpc.Status` (with `RetryInfo` when a retry can
/// help) in `grpc-status-details-bin`.
pub fn status(r: &Refusal) -> tonic::Status {
    let st = r.rpc_status();
    tonic::Status::with_details(r.code(), st.message.clone(), st.encode_to_vec().into())
}

/// Limits of the gRPC route.
#[derive(Debug)]
struct Guard {
    sink: Sink,
    /// Largest message, compressed or decompressed, and (with its frame) request body.
    max_message: usize,
}

/// The receiver as a router: the export method, anything else UNIMPLEMENTED. At most
/// `max_message` bytes per message, compressed or decompressed.
pub fn router(sink: Sink, max_message: usize) -> axum::Router {
    let max_message = max_message.max(1);
    let svc = MetricsServiceServer::new(Service::new(sink.clone()))
        .accept_compressed(CompressionEncoding::Gzip)
        .accept_compressed(CompressionEncoding::Zstd)
        .send_compressed(CompressionEncoding::Gzip)
        .send_compressed(CompressionEncoding::Zstd)
        .max_decoding_message_size(max_message);
    axum::Router::new()
        .route_service(EXPORT_PATH, svc)
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::new(Guard { sink, max_message }),
            guarded,
        ))
        .fallback(unimplemented)
}

/// Other methods: UNIMPLEMENTED; a request that is no gRPC call (OTLP/HTTP sent to the gRPC
/// port) gets a plain 404 saying where OTLP/HTTP is.
async fn unimplemented(req: Request) -> Response {
    let grpc = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"));
    if !grpc {
        return axum::response::IntoResponse::into_response((
            axum::http::StatusCode::NOT_FOUND,
            "this is promterm's OTLP gRPC receiver; OTLP/HTTP is served on its own port \
             (--otlp.http-listen-address, default 127.0.0.1:4318, path /v1/metrics)\n",
        ));
    }
    tonic::Status::unimplemented(format!(
        "promterm's OTLP gRPC receiver has no method {} (it serves {EXPORT_PATH})",
        req.uri().path()
    ))
    .into_http()
}

/// Takes a slot (or refuses), bounds the body, and gives tonic's own refusals the codes the
/// OTLP spec asks for.
async fn guarded(State(g): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let _slot = match g.sink.enter().await {
        Ok(s) => s,
        Err(r) => return status(&r).into_http(),
    };
    // One message and its 5-byte frame header.
    let (max_message, max_body) = (g.max_message, g.max_message.saturating_add(5));
    let req = req.map(|b| {
        Body::new(http_body_util::Limited::new(b, max_body).map_err(move |e| {
            if e.is::<http_body_util::LengthLimitError>() {
                too_large("the request is too large".into(), max_message)
            } else {
                tonic::Status::from_error(e)
            }
        }))
    });
    remap(next.run(req).await, g.max_message)
}

fn too_large(what: String, limit: usize) -> tonic::Status {
    status(&Refusal::TooLarge(format!(
        "{what}: the limit is {limit} bytes ({LIMIT_NAME})"
    )))
}

/// Rewrites tonic's refusals (sent in the headers, as gRPC's trailers-only answers) whose
/// codes the OTLP spec gives otherwise: an undecodable message is INVALID_ARGUMENT, not
/// INTERNAL; a message over the limit is RESOURCE_EXHAUSTED, not OUT_OF_RANGE (retryable).
fn remap(resp: Response, max_message: usize) -> Response {
    let Some(st) = tonic::Status::from_header_map(resp.headers()) else {
        return resp;
    };
    let msg = st.message();
    let new = match st.code() {
        Code::Internal if msg.starts_with("failed to decode Protobuf message") => {
            status(&Refusal::Invalid(format!("invalid OTLP protobuf: {msg}")))
        }
        Code::OutOfRange if msg.contains("message length too large") => {
            too_large("the message is too large".into(), max_message)
        }
        Code::ResourceExhausted if msg.contains("size limit") => {
            too_large("the decompressed message is too large".into(), max_message)
        }
        _ => return resp,
    };
    new.into_http()
}

#[cfg(test)]
mod tests;
