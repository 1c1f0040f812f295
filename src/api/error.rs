//! What handlers return when they fail, so they can use `?`: `ApiError` answers with
//! Prometheus's JSON envelope and status code (web/api/v1/api.go `respondError`, in our own
//! words), `TextError` with a plain-text line (remote write, pushes, federation, lifecycle), and
//! `blocking` runs storage work off the async runtime, turning a panic there into either.
//!
//! Uses axum, serde_json, tokio, and the error types of `storage` and `promql`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::promql::engine::QueryError;
use crate::storage::StorageError;

/// Prometheus's `errorType` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    BadData,
    Execution,
    Timeout,
    Canceled,
    Internal,
    Unavailable,
    NotFound,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::Unavailable => "unavailable",
            ErrorType::NotFound => "not_found",
        }
    }

    /// The status code each type answers with. A cancelled query answers 503 as a timeout
    /// does (the client that cancelled it has gone and sees nothing).
    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Timeout | ErrorType::Canceled | ErrorType::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

impl std::fmt::Display for ErrorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed API call: `{"status":"error","errorType":...,"error":...}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct ApiError {
    pub kind: ErrorType,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorType, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    pub fn bad_data(message: impl Into<String>) -> Self {
        Self::new(ErrorType::BadData, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Internal, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorType::Unavailable, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({"status": "error", "errorType": self.kind.as_str(), "error": self.message});
        (self.kind.status(), axum::Json(body)).into_response()
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        ApiError::internal(e.to_string())
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Parse(m) => ApiError::bad_data(format!("invalid parameter \"query\": {m}")),
            QueryError::BadData(m) => ApiError::bad_data(m),
            QueryError::Execution(m) => ApiError::new(ErrorType::Execution, m),
            QueryError::Timeout(m) => ApiError::new(ErrorType::Timeout, m),
            QueryError::Canceled(m) => ApiError::new(ErrorType::Canceled, m),
            QueryError::Storage(e) => e.into(),
        }
    }
}

impl From<TaskFailed> for ApiError {
    fn from(e: TaskFailed) -> Self {
        ApiError::internal(e.to_string())
    }
}

/// A failure answered as one line of plain text, as Prometheus does outside the JSON API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TextError {
    pub status: StatusCode,
    pub message: String,
}

impl TextError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        TextError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for TextError {
    fn into_response(self) -> Response {
        (self.status, format!("{}\n", self.message)).into_response()
    }
}

impl From<TaskFailed> for TextError {
    fn from(e: TaskFailed) -> Self {
        TextError::internal(e.to_string())
    }
}

impl From<StorageError> for TextError {
    fn from(e: StorageError) -> Self {
        TextError::internal(e.to_string())
    }
}

/// Work sent to the blocking pool panicked (or the runtime is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("{what} task failed: {source}")]
pub struct TaskFailed {
    what: &'static str,
    source: tokio::task::JoinError,
}

/// Runs `f` on the blocking pool (storage and evaluation must not stall the async runtime);
/// `what` names the work in the error should it panic.
pub async fn blocking<T: Send + 'static>(
    what: &'static str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, TaskFailed> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|source| TaskFailed { what, source })
}

/// `{"status":"success","data":...}` with optional warnings.
pub fn success(data: serde_json::Value, warnings: Vec<String>) -> Response {
    let mut body = json!({"status": "success", "data": data});
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    (StatusCode::OK, axum::Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn envelope_and_status_codes() {
        use http_body_util::BodyExt;
        for (kind, code) in [
            (ErrorType::BadData, 400),
            (ErrorType::Execution, 422),
            (ErrorType::Timeout, 503),
            (ErrorType::Canceled, 503),
            (ErrorType::Internal, 500),
            (ErrorType::Unavailable, 503),
            (ErrorType::NotFound, 404),
        ] {
            let r = ApiError::new(kind, "boom \"x\"").into_response();
            assert_eq!(r.status().as_u16(), code);
            let body = r.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                std::str::from_utf8(&body).unwrap(),
                format!(
                    r#"{{"error":"boom \"x\"","errorType":"{}","status":"error"}}"#,
                    kind.as_str()
                )
            );
        }
        let r = TextError::bad_request("no").into_response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"no\n");
        let e = blocking("sum", || -> u8 { panic!("on purpose") })
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("sum task failed: "), "{e}");
        assert_eq!(blocking("sum", || 1 + 1).await.unwrap(), 2);
    }
}
