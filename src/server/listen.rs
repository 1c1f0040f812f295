//! The listeners: the bound address, the web config (TLS, basic auth, headers) around a
//! router, the connection limit, and graceful shutdown. Each serves HTTP/1.1 and HTTP/2 (h2c
//! with prior knowledge, and `h2` by ALPN over TLS), which gRPC needs. Uses `web`; anyhow.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::web::Web;

/// Binds `listen` (`:9090` means every interface, as in Prometheus).
pub(super) async fn bind(listen: &str) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(normalize_listen(listen))
        .await
        .with_context(|| format!("cannot listen on {listen:?}"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    Ok((listener, addr))
}

/// Serves `app` on `listener` until `shutdown` fires, with the web config applied; `what`
/// names the listener in the log ("" for the API's).
pub(super) fn serve(
    what: &str,
    listener: TcpListener,
    addr: SocketAddr,
    web: Option<Web>,
    mut app: axum::Router,
    max_connections: usize,
    shutdown: CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<()>>> {
    let scheme = if web.as_ref().is_some_and(|w| w.tls.is_some()) {
        "https"
    } else {
        "http"
    };
    if let Some(w) = &web {
        if w.auth.is_some() || !w.headers.is_empty() {
            app = app.layer(axum::middleware::from_fn_with_state(
                Arc::new(w.clone()),
                crate::web::middleware,
            ));
        }
    }
    let what = if what.is_empty() {
        String::new()
    } else {
        format!("{what} ")
    };
    info!(
        tls = scheme == "https",
        basic_auth = web.as_ref().is_some_and(|w| w.auth.is_some()),
        "{what}listening on {scheme}://{addr}"
    );
    let done = async move { shutdown.cancelled().await };
    Ok(match web.and_then(|w| w.tls) {
        Some(tls) => {
            let l =
                crate::web::TlsListener::new(listener, tls).context("starting the TLS listener")?;
            tokio::spawn(async move {
                axum::serve(crate::web::Limited::new(l, max_connections), app)
                    .with_graceful_shutdown(done)
                    .await
                    .context("HTTP server failed")
            })
        }
        None => tokio::spawn(async move {
            use axum::serve::ListenerExt;
            // Small answers (gRPC's trailers, HTTP/2 frames) go out at once, not after the
            // peer's delayed ACK.
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            axum::serve(crate::web::Limited::new(listener, max_connections), app)
                .with_graceful_shutdown(done)
                .await
                .context("HTTP server failed")
        }),
    })
}

/// `--web.external-url` without a trailing slash, or `http://<hostname>:<port>`.
pub(super) fn external_url(flag: Option<&str>, addr: &std::net::SocketAddr) -> String {
    if let Some(u) = flag.filter(|u| !u.is_empty()) {
        return u.trim_end_matches('/').to_string();
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("http://{host}:{}", addr.port())
}

fn normalize_listen(listen: &str) -> String {
    if listen.starts_with(':') {
        format!("0.0.0.0{listen}")
    } else {
        listen.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_shorthand_means_all_interfaces() {
        assert_eq!(normalize_listen(":9090"), "0.0.0.0:9090");
        assert_eq!(normalize_listen("127.0.0.1:9090"), "127.0.0.1:9090");
    }
}
