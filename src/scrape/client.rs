//! The HTTP client for one scrape pool (reqwest with rustls): TLS with a CA, a client
//! certificate and `insecure_skip_verify`, proxies, redirects and gzip from the job's config;
//! credentials (basic auth, authorization, bearer token and files, re-read per request as
//! Prometheus does) are added per request.

use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, USER_AGENT};

use crate::config::{HttpClientRef, ScrapeConfig};

/// Why an HTTP client or a request's credentials could not be set up. The messages name the
/// bad value; a variant's Display includes its cause's text, as the messages always have.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    /// A credentials file (basic auth, authorization, bearer token) could not be read.
    #[error("unable to read {what} file {path:?}: {source}")]
    ReadCredentials {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A TLS file (CA, client certificate or key) could not be read.
    #[error("unable to read {what} {path:?}: {source}")]
    ReadTls {
        what: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("unable to use CA certificate: {0}")]
    CaCertificate(#[source] reqwest::Error),
    #[error("unable to use client certificate: {0}")]
    ClientCertificate(#[source] reqwest::Error),
    #[error("invalid proxy_url: {0}")]
    ProxyUrl(#[source] reqwest::Error),
    #[error("cannot build HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    #[error("credentials are not a valid header value")]
    InvalidCredentials(#[source] reqwest::header::InvalidHeaderValue),
}

fn read_file(path: &str, what: &'static str) -> Result<String, HttpClientError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .map_err(|source| HttpClientError::ReadCredentials {
            what,
            path: path.to_string(),
            source,
        })
}

fn pem(
    inline: Option<&str>,
    file: Option<&str>,
    what: &'static str,
) -> Result<Option<Vec<u8>>, HttpClientError> {
    if let Some(s) = inline.filter(|s| !s.is_empty()) {
        return Ok(Some(s.as_bytes().to_vec()));
    }
    match file.filter(|f| !f.is_empty()) {
        Some(f) => std::fs::read(f)
            .map(Some)
            .map_err(|source| HttpClientError::ReadTls {
                what,
                path: f.to_string(),
                source,
            }),
        None => Ok(None),
    }
}

/// An error with its causes, `outer: inner: ...`, the way Go prints wrapped errors.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

/// Builds the pool's client.
pub fn build(job: &ScrapeConfig) -> Result<reqwest::Client, HttpClientError> {
    build_client(
        &job.http_client(),
        job.scrape_timeout.as_std(),
        job.enable_compression,
    )
}

/// Builds a client from any section's HTTP settings (scrape jobs, Alertmanagers).
pub fn build_client(
    h: &HttpClientRef<'_>,
    timeout: std::time::Duration,
    gzip: bool,
) -> Result<reqwest::Client, HttpClientError> {
    let tls = h.tls_config;
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .pool_max_idle_per_host(2);
    if !gzip {
        b = b.no_gzip();
    }
    b = b.redirect(if h.follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    });
    if let Some(ca) = pem(tls.ca.as_deref(), tls.ca_file.as_deref(), "CA certificate")? {
        for c in
            reqwest::Certificate::from_pem_bundle(&ca).map_err(HttpClientError::CaCertificate)?
        {
            b = b.add_root_certificate(c);
        }
    }
    let cert = pem(
        tls.cert.as_deref(),
        tls.cert_file.as_deref(),
        "client certificate",
    )?;
    let key = pem(
        tls.key.as_ref().map(|s| s.expose()),
        tls.key_file.as_deref(),
        "client key",
    )?;
    if let (Some(mut cert), Some(key)) = (cert, key) {
        cert.push(b'\n');
        cert.extend_from_slice(&key);
        b = b.identity(
            reqwest::Identity::from_pem(&cert).map_err(HttpClientError::ClientCertificate)?,
        );
    }
    if tls.insecure_skip_verify {
        b = b.danger_accept_invalid_certs(true);
    }
    if let Some(p) = h.proxy_url {
        let mut proxy = reqwest::Proxy::all(p).map_err(HttpClientError::ProxyUrl)?;
        if let Some(np) = h.no_proxy {
            proxy = proxy.no_proxy(reqwest::NoProxy::from_string(np));
        }
        b = b.proxy(proxy);
    } else if !h.proxy_from_environment {
        b = b.no_proxy();
    }
    b.build().map_err(HttpClientError::Build)
}

/// The request for one scrape, with headers (`accept`: the job's negotiated `Accept`) and
/// credentials.
pub fn request(
    client: &reqwest::Client,
    job: &ScrapeConfig,
    url: &str,
    accept: &HeaderValue,
    timeout_s: f64,
) -> Result<reqwest::RequestBuilder, HttpClientError> {
    let r = client
        .get(url)
        .header(ACCEPT, accept.clone())
        .header(USER_AGENT, concat!("promterm/", env!("CARGO_PKG_VERSION")))
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            format!("{timeout_s}"),
        );
    with_auth(r, &job.http_client())
}

/// Adds the credentials of an HTTP client section (files are read now).
pub fn with_auth(
    mut r: reqwest::RequestBuilder,
    h: &HttpClientRef<'_>,
) -> Result<reqwest::RequestBuilder, HttpClientError> {
    if let Some(b) = h.basic_auth {
        let user = match &b.username_file {
            Some(f) => read_file(f, "basic auth username")?,
            None => b.username.clone(),
        };
        let pass = match (&b.password, &b.password_file) {
            (Some(p), _) => Some(p.expose().to_string()),
            (None, Some(f)) => Some(read_file(f, "basic auth password")?),
            _ => None,
        };
        r = r.basic_auth(user, pass);
    }
    let token = match (h.authorization, h.bearer_token, h.bearer_token_file) {
        (Some(a), _, _) => {
            let cred = match (&a.credentials, &a.credentials_file) {
                (Some(c), _) => c.expose().to_string(),
                (None, Some(f)) => read_file(f, "authorization credentials")?,
                _ => String::new(),
            };
            Some(format!("{} {cred}", a.scheme()))
        }
        (None, Some(t), _) => Some(format!("Bearer {}", t.expose())),
        (None, None, Some(f)) => Some(format!("Bearer {}", read_file(f, "bearer token")?)),
        _ => None,
    };
    if let Some(t) = token {
        r = r.header(
            AUTHORIZATION,
            HeaderValue::from_str(&t).map_err(HttpClientError::InvalidCredentials)?,
        );
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TlsConfig;

    fn settings<'a>(tls: &'a TlsConfig, token_file: Option<&'a str>) -> HttpClientRef<'a> {
        HttpClientRef {
            basic_auth: None,
            authorization: None,
            bearer_token: None,
            bearer_token_file: token_file,
            tls_config: tls,
            proxy_url: None,
            no_proxy: None,
            proxy_from_environment: false,
            follow_redirects: true,
            enable_http2: false,
        }
    }

    #[test]
    fn errors_name_the_bad_value() {
        let missing = "/nonexistent/promterm-test/token";
        let tls = TlsConfig::default();
        let req = reqwest::Client::new().get("http://localhost/");
        let e = with_auth(req, &settings(&tls, Some(missing))).unwrap_err();
        assert!(matches!(&e, HttpClientError::ReadCredentials { path, .. } if path == missing));
        assert!(
            e.to_string()
                .starts_with(&format!("unable to read bearer token file {missing:?}: ")),
            "{e}"
        );
        let tls = TlsConfig {
            ca_file: Some("/nonexistent/promterm-test/ca.pem".into()),
            ..TlsConfig::default()
        };
        let e = build_client(
            &settings(&tls, None),
            std::time::Duration::from_secs(1),
            true,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with(
                "unable to read CA certificate \"/nonexistent/promterm-test/ca.pem\": "
            ),
            "{e}"
        );
    }
}
