//! The web config file (`--web.config.file`), in the format of Prometheus's exporter-toolkit:
//! server TLS (`tls_server_config`: certificate and key, client certificates checked against a
//! CA by `client_auth_type`, TLS versions), basic-auth users with bcrypt hashes
//! (`basic_auth_users`), and response headers (`http_server_config.headers`). Loaded and
//! checked once at start (`promterm check web-config FILE` checks it alone).
//!
//! Serving: a TLS listener for `axum::serve` (handshakes run in their own tasks, so a slow
//! client holds up no one; ALPN offers `h2` and `http/1.1`) and a basic-auth middleware that
//! answers 401 with `WWW-Authenticate: Basic` (a gRPC call gets `grpc-status` 16,
//! UNAUTHENTICATED) and caches verified credentials (bcrypt is slow on purpose).
//! Used by `server`; uses rustls (ring) and the bcrypt crate.

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use parking_lot::Mutex;
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::debug;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    #[serde(default)]
    pub tls_server_config: Option<TlsServerConfig>,
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
}

/// `tls_server_config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Inline PEM instead of the files.
    #[serde(default)]
    pub cert: Option<String>,
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub client_auth_type: Option<String>,
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    #[serde(default)]
    pub client_ca: Option<String>,
    #[serde(default)]
    pub min_version: Option<String>,
    #[serde(default)]
    pub max_version: Option<String>,
    /// Accepted for compatibility; rustls picks its own safe suites and curves.
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    #[serde(default)]
    pub curve_preferences: Vec<String>,
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    #[serde(default)]
    pub client_allowed_sans: Vec<String>,
}

/// `http_server_config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// `false`: TLS clients are not offered HTTP/2 (ALPN `h2`), which gRPC needs.
    #[serde(default)]
    pub http2: Option<bool>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

/// Headers exporter-toolkit lets the file set.
const ALLOWED_HEADERS: &[&str] = &[
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "X-XSS-Protection",
    "Content-Security-Policy",
];

const CLIENT_AUTH_TYPES: &[&str] = &[
    "NoClientCert",
    "RequestClientCert",
    "RequireAnyClientCert",
    "VerifyClientCertIfGiven",
    "RequireAndVerifyClientCert",
];

/// A checked web config, ready to serve with.
#[derive(Clone)]
pub struct Web {
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub auth: Option<Arc<BasicAuth>>,
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for Web {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Web")
            .field("tls", &self.tls.is_some())
            .field("users", &self.auth.as_ref().map_or(0, |a| a.users.len()))
            .finish()
    }
}

/// Why a web config was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read web config {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// What is wrong, naming the key and the bad value; `file` is set when read from one.
    #[error("{}{problem}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
    Invalid {
        file: Option<PathBuf>,
        problem: String,
    },
}

/// Reads and checks a web config file; relative paths in it are relative to its directory.
pub fn load(path: &Path) -> Result<Web, WebConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| WebConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    check(&text, dir).map_err(|problem| WebConfigError::Invalid {
        file: Some(path.to_path_buf()),
        problem,
    })
}

/// Parses and checks a web config's text.
pub fn parse(text: &str, dir: &Path) -> Result<Web, WebConfigError> {
    check(text, dir).map_err(|problem| WebConfigError::Invalid {
        file: None,
        problem,
    })
}

fn check(text: &str, dir: &Path) -> Result<Web, String> {
    let cfg: WebConfig = if text.trim().is_empty() {
        WebConfig::default()
    } else {
        serde_yaml::from_str(text).map_err(|e| e.to_string())?
    };
    let mut headers = Vec::new();
    for (k, v) in &cfg.http_server_config.headers {
        let Some(name) = ALLOWED_HEADERS.iter().find(|h| h.eq_ignore_ascii_case(k)) else {
            return Err(format!(
                "http_server_config.headers: {k:?} cannot be set here (allowed: {})",
                ALLOWED_HEADERS.join(", ")
            ));
        };
        let value = HeaderValue::from_str(v)
            .map_err(|_| format!("http_server_config.headers: invalid value for {k}: {v:?}"))?;
        let name = header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("header {name}: {e}"))?;
        headers.push((name, value));
    }
    let mut users = BTreeMap::new();
    for (user, hash) in &cfg.basic_auth_users {
        if user.is_empty() {
            return Err("basic_auth_users: empty user name".into());
        }
        if !is_bcrypt_hash(hash) {
            return Err(format!(
                "basic_auth_users: the password of {user:?} is not a bcrypt hash (like \"$2y$10$...\", 60 characters)"
            ));
        }
        users.insert(user.clone(), hash.clone());
    }
    let tls = match &cfg.tls_server_config {
        None => None,
        Some(t) => {
            let mut c = tls_config(t, dir)?;
            if cfg.http_server_config.http2 == Some(false) {
                c.alpn_protocols = vec![b"http/1.1".to_vec()];
            }
            Some(Arc::new(c))
        }
    };
    Ok(Web {
        tls,
        auth: (!users.is_empty()).then(|| Arc::new(BasicAuth::new(users))),
        headers,
    })
}

fn is_bcrypt_hash(h: &str) -> bool {
    h.len() == 60
        && ["$2a$", "$2b$", "$2x$", "$2y$"]
            .iter()
            .any(|p| h.starts_with(p))
        && h[4..6].bytes().all(|b| b.is_ascii_digit())
        && &h[6..7] == "$"
}

fn pem(
    inline: &Option<String>,
    file: &Option<PathBuf>,
    dir: &Path,
    what: &str,
) -> Result<Vec<u8>, String> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(format!(
            "tls_server_config: {what} and {what}_file are both set"
        )),
        (Some(s), None) => Ok(s.as_bytes().to_vec()),
        (None, Some(f)) => {
            let p = if f.is_absolute() {
                f.clone()
            } else {
                dir.join(f)
            };
            std::fs::read(&p).map_err(|e| {
                format!(
                    "tls_server_config: cannot read {what}_file {}: {e}",
                    p.display()
                )
            })
        }
        (None, None) => Err(format!("tls_server_config: {what}_file is required")),
    }
}

fn tls_config(t: &TlsServerConfig, dir: &Path) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let cert_pem = pem(&t.cert, &t.cert_file, dir, "cert")?;
    let key_pem = pem(&t.key, &t.key_file, dir, "key")?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("tls_server_config: bad certificate PEM: {e}"))?;
    if certs.is_empty() {
        return Err("tls_server_config: no certificate in cert_file".into());
    }
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| format!("tls_server_config: bad private key PEM: {e}"))?;
    let version = |v: &Option<String>,
                   default: &'static rustls::SupportedProtocolVersion|
     -> Result<&'static rustls::SupportedProtocolVersion, String> {
        match v.as_deref() {
            None | Some("") => Ok(default),
            Some("TLS12") => Ok(&rustls::version::TLS12),
            Some("TLS13") => Ok(&rustls::version::TLS13),
            Some(x @ ("TLS10" | "TLS11")) => Err(format!(
                "tls_server_config: {x} is not supported (TLS12 and TLS13 are)"
            )),
            Some(x) => Err(format!(
                "tls_server_config: unknown TLS version {x:?} (TLS12, TLS13)"
            )),
        }
    };
    let min = version(&t.min_version, &rustls::version::TLS12)?;
    let max = version(&t.max_version, &rustls::version::TLS13)?;
    let versions: Vec<&'static rustls::SupportedProtocolVersion> =
        [&rustls::version::TLS12, &rustls::version::TLS13]
            .into_iter()
            .filter(|v| {
                let n = |x: &rustls::SupportedProtocolVersion| {
                    if x.version == rustls::ProtocolVersion::TLSv1_2 {
                        12
                    } else {
                        13
                    }
                };
                n(v) >= n(min) && n(v) <= n(max)
            })
            .collect();
    if versions.is_empty() {
        return Err("tls_server_config: min_version is above max_version".into());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| format!("tls_server_config: {e}"))?;
    let auth_type = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    if !CLIENT_AUTH_TYPES.contains(&auth_type) {
        return Err(format!(
            "tls_server_config: invalid client_auth_type {auth_type:?} (one of {})",
            CLIENT_AUTH_TYPES.join(", ")
        ));
    }
    let has_ca = t.client_ca_file.is_some() || t.client_ca.is_some();
    if !has_ca
        && matches!(
            auth_type,
            "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert"
        )
    {
        return Err(format!(
            "tls_server_config: client_auth_type {auth_type} needs client_ca_file"
        ));
    }
    if !t.client_allowed_sans.is_empty() {
        return Err("tls_server_config: client_allowed_sans is not supported".into());
    }
    let builder = if auth_type == "NoClientCert" || !has_ca {
        // RequestClientCert / RequireAnyClientCert without a CA cannot verify anything: as in
        // Go, certificates are then not checked (rustls cannot accept unverified ones, so
        // promterm does not ask for them).
        builder.with_no_client_auth()
    } else {
        let ca_pem = pem(&t.client_ca, &t.client_ca_file, dir, "client_ca")?;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&ca_pem) {
            let c = c.map_err(|e| format!("tls_server_config: bad client CA PEM: {e}"))?;
            roots
                .add(c)
                .map_err(|e| format!("tls_server_config: bad client CA certificate: {e}"))?;
        }
        if roots.is_empty() {
            return Err("tls_server_config: no certificate in client_ca_file".into());
        }
        let v =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
        let v = match auth_type {
            "RequireAndVerifyClientCert" | "RequireAnyClientCert" => v,
            _ => v.allow_unauthenticated(),
        };
        builder.with_client_cert_verifier(v.build().map_err(|e| format!("tls_server_config: {e}"))?)
    };
    let mut cfg = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls_server_config: certificate and key do not go together: {e}"))?;
    // HTTP/2 first: gRPC clients need it; browsers and curl pick either.
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

/// Basic-auth users and the credentials already verified.
pub struct BasicAuth {
    users: BTreeMap<String, String>,
    /// Keyed hashes of `Authorization` values that passed (never the values themselves).
    ok: Mutex<HashSet<[u8; 16]>>,
    key: [u8; 16],
}

impl BasicAuth {
    fn new(users: BTreeMap<String, String>) -> Self {
        let mut key = [0u8; 16];
        let seed = format!(
            "{:?}{:?}",
            std::time::SystemTime::now(),
            std::thread::current().id()
        );
        let d = md5_of(seed.as_bytes(), &[]);
        key.copy_from_slice(&d);
        BasicAuth {
            users,
            ok: Mutex::default(),
            key,
        }
    }

    /// Whether an `Authorization` header value names a user with the right password.
    pub fn check(&self, authorization: Option<&str>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let tag = md5_of(&self.key, value.as_bytes());
        if self.ok.lock().contains(&tag) {
            return true;
        }
        let Some(b64) = value
            .strip_prefix("Basic ")
            .or_else(|| value.strip_prefix("basic "))
        else {
            return false;
        };
        // Standard alphabet with padding, as Go's `Request.BasicAuth` reads it.
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        let Ok(decoded) = String::from_utf8(decoded) else {
            return false;
        };
        let Some((user, pass)) = decoded.split_once(':') else {
            return false;
        };
        let Some(hash) = self.users.get(user) else {
            // Spend the same time as for a known user, so names cannot be probed by timing.
            let _ = bcrypt::verify(
                pass,
                "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi",
            );
            return false;
        };
        let ok = bcrypt::verify(pass, hash).unwrap_or(false);
        if ok {
            let mut set = self.ok.lock();
            if set.len() > 1024 {
                set.clear();
            }
            set.insert(tag);
        }
        ok
    }
}

fn md5_of(a: &[u8], b: &[u8]) -> [u8; 16] {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    h.update(a);
    h.update(b);
    h.finalize().into()
}

/// The middleware: basic auth (when users are configured) and the configured headers.
pub async fn middleware(State(web): State<Arc<Web>>, req: Request, next: Next) -> Response {
    if let Some(auth) = &web.auth {
        let value = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let a = auth.clone();
        // bcrypt takes tens of milliseconds: off the async workers.
        let ok = tokio::task::spawn_blocking(move || a.check(value.as_deref()))
            .await
            .unwrap_or(false);
        if !ok {
            let mut r = if is_grpc(&req) {
                grpc_unauthenticated()
            } else {
                drain(req.into_body()).await;
                (StatusCode::UNAUTHORIZED, "Unauthorized\n").into_response()
            };
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
            return r;
        }
    }
    let mut r = next.run(req).await;
    for (k, v) in &web.headers {
        r.headers_mut().insert(k.clone(), v.clone());
    }
    r
}

/// Reads and drops what is left of a request body that will not be used, at most 256 KiB
/// within a second: over HTTP/2 an answer sent before the whole body arrived ends the stream
/// with a reset, which some clients (curl 7) report as an error instead of the answer.
pub async fn drain(body: axum::body::Body) {
    use http_body_util::BodyExt;
    let limited = http_body_util::Limited::new(body, 256 << 10);
    let _ = tokio::time::timeout(Duration::from_secs(1), limited.collect()).await;
}

/// Whether a request is a gRPC call (`application/grpc`, `application/grpc+proto`, ...).
fn is_grpc(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// The refusal a gRPC client understands: HTTP 200 with `grpc-status` 16 (UNAUTHENTICATED) in
/// the headers (a trailers-only answer), as gRPC servers answer a missing or wrong credential.
fn grpc_unauthenticated() -> Response {
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    h.insert("grpc-status", HeaderValue::from_static("16"));
    h.insert(
        "grpc-message",
        HeaderValue::from_static("Unauthorized: basic auth credentials are missing or wrong"),
    );
    r
}

/// A TLS listener for `axum::serve`: TCP connections are accepted here and their handshakes
/// finish in their own tasks (10 s at most).
pub struct TlsListener {
    rx: mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, cfg: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    r = tcp.accept() => r,
                    // The server is gone: stop listening.
                    _ = tx.closed() => return,
                };
                let (sock, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        debug!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                // Small answers (gRPC's trailers, HTTP/2 frames) go out at once, not after the
                // peer's delayed ACK.
                let _ = sock.set_nodelay(true);
                let (acceptor, tx2) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(sock)).await
                    {
                        Ok(Ok(s)) => {
                            let _ = tx2.send((s, peer)).await;
                        }
                        Ok(Err(e)) => debug!(%peer, "TLS handshake failed: {e}"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { rx, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(x) => x,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// `--web.max-connections`: at most `n` connections are open at once; further clients wait
/// in the kernel's accept queue until one closes (as Prometheus's limit listener does).
pub struct Limited<L> {
    inner: L,
    slots: Arc<tokio::sync::Semaphore>,
}

impl<L> Limited<L> {
    pub fn new(inner: L, n: usize) -> Self {
        Limited {
            inner,
            slots: Arc::new(tokio::sync::Semaphore::new(n.max(1))),
        }
    }
}

impl<L: axum::serve::Listener> axum::serve::Listener for Limited<L>
where
    L::Io: Unpin,
{
    type Io = Slotted<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let slot = match self.slots.clone().acquire_owned().await {
            Ok(s) => s,
            // The semaphore is never closed.
            Err(_) => std::future::pending().await,
        };
        let (io, addr) = self.inner.accept().await;
        (Slotted { io, _slot: slot }, addr)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection holding one of `Limited`'s slots until it is dropped.
pub struct Slotted<T> {
    io: T,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for Slotted<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for Slotted<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
}

#[cfg(test)]
mod tests;
