//! The HTTP surface, built as an axum `Router` so tests can call it without sockets.
//!
//! For now: `/-/healthy` and `/-/ready` (GET and HEAD, Prometheus's wording). Later issues add
//! `/api/v1/*`, remote write, federation and `/metrics`. Uses axum and `model`/`config` only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

/// State shared by all handlers.
#[derive(Debug, Clone, Default)]
pub struct ApiState {
    ready: Arc<AtomicBool>,
}

impl ApiState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the server ready (writes are accepted) or not (starting up, shutting down).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }
}

/// The whole HTTP router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/-/healthy", get(healthy))
        .route("/-/ready", get(ready))
        .with_state(state)
}

async fn healthy() -> &'static str {
    "promterm Server is Healthy.\n"
}

async fn ready(State(state): State<ApiState>) -> (StatusCode, &'static str) {
    if state.is_ready() {
        (StatusCode::OK, "promterm Server is Ready.\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Method, Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(state: &ApiState, method: Method, path: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .method(method)
            .uri(path)
            .body(Body::empty())
            .unwrap();
        let resp = router(state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn healthy_always_answers() {
        let state = ApiState::new();
        let (status, body) = call(&state, Method::GET, "/-/healthy").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Healthy"), "{body}");
    }

    #[tokio::test]
    async fn ready_follows_state() {
        let state = ApiState::new();
        assert_eq!(
            call(&state, Method::GET, "/-/ready").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        state.set_ready(true);
        let (status, body) = call(&state, Method::GET, "/-/ready").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("Ready"), "{body}");
        let (status, body) = call(&state, Method::HEAD, "/-/ready").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.is_empty(), "HEAD must not send a body: {body:?}");
    }

    #[tokio::test]
    async fn unknown_paths_are_404_and_wrong_methods_405() {
        let state = ApiState::new();
        assert_eq!(
            call(&state, Method::GET, "/nope").await.0,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            call(&state, Method::POST, "/-/ready").await.0,
            StatusCode::METHOD_NOT_ALLOWED
        );
    }
}
