//! Layers around the JSON API and `/federate`: Prometheus's CORS headers (its default
//! `--web.cors.origin=.*`: any Origin is echoed back; web/api/v1 `SetCORS` in our own words)
//! and gzip for clients that accept it. Both come from `tower-http`: bodies are compressed as
//! they stream, `Accept-Encoding` q-values are honoured (`gzip;q=0` is a refusal), and OPTIONS
//! preflights are answered by the CORS layer. Uses axum and tower-http.

use axum::extract::Request;
use axum::http::header::{self, HeaderName, HeaderValue};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use tower_http::compression::predicate::SizeAbove;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The headers Prometheus sends with every answer to a request that has an Origin (tower-http
/// sends the methods and headers only on preflights, and in lower case).
const PROMETHEUS_CORS: [(HeaderName, &str); 3] = [
    (
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        "Accept, Authorization, Content-Type, Origin",
    ),
    (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, OPTIONS"),
    (header::ACCESS_CONTROL_EXPOSE_HEADERS, "Date"),
];

async fn prometheus_cors_headers(req: Request, next: Next) -> Response {
    let cors = req.headers().contains_key(header::ORIGIN);
    let mut resp = next.run(req).await;
    if cors {
        let h = resp.headers_mut();
        for (name, value) in PROMETHEUS_CORS {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    resp
}

/// Wraps `routes` in CORS and gzip.
pub fn cors_and_gzip<S: Clone + Send + Sync + 'static>(routes: Router<S>) -> Router<S> {
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .vary([header::ORIGIN]);
    // Any body with content (a 204 has none) is compressed, at the fastest level, as before.
    let gzip = CompressionLayer::new()
        .quality(CompressionLevel::Fastest)
        .compress_when(SizeAbove::new(1));
    routes
        .layer(gzip)
        .layer(cors)
        .layer(axum::middleware::from_fn(prometheus_cors_headers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// Compressed answers stream: gzip output arrives while the handler is still writing.
    #[tokio::test]
    async fn gzip_streams_without_buffering_the_body() {
        use tokio::io::AsyncWriteExt;
        let (mut tx, rx) = tokio::io::duplex(1 << 20);
        let rx = std::sync::Arc::new(parking_lot::Mutex::new(Some(rx)));
        let app = cors_and_gzip(Router::new().route(
            "/api/v1/stream",
            axum::routing::get(move || {
                let rx = rx.lock().take();
                async move {
                    match rx {
                        Some(rx) => Body::from_stream(tokio_util::io::ReaderStream::new(rx)),
                        None => Body::empty(),
                    }
                }
            }),
        ));
        // Incompressible bytes, so the encoder has output long before the end.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..256 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        tx.write_all(&noise).await.unwrap();
        let resp = app
            .oneshot(
                axum::http::Request::get("/api/v1/stream")
                    .header("Accept-Encoding", "gzip")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.headers()["content-encoding"], "gzip");
        let mut body = resp.into_body();
        // `tx` is still open: a buffering layer would wait for the end and time out here.
        let frame = tokio::time::timeout(std::time::Duration::from_secs(10), body.frame())
            .await
            .expect("a compressed frame before the body ends")
            .expect("a frame")
            .expect("no error");
        assert!(frame.data_ref().is_some_and(|d| !d.is_empty()));
        drop(tx);
        let rest = body.collect().await.unwrap().to_bytes();
        assert!(!rest.is_empty());
    }
}
