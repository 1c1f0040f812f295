//! HTTP client settings shared by scrape, Alertmanager and remote-write configs: basic auth,
//! authorization, bearer tokens, TLS, proxies.
//!
//! Prometheus keeps these inline in each config section (common/config `HTTPClientConfig`); serde
//! cannot combine `flatten` with `deny_unknown_fields`, so `with_http_client_config!` appends the
//! fields to each struct instead. Checks follow `HTTPClientConfig.Validate` in our own words.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize, Serializer};

/// A credential that must never be printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<secret>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<secret>")
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub username_file: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub password_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme; Prometheus defaults it to `Bearer`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub credentials: Option<Secret>,
    #[serde(default)]
    pub credentials_file: Option<String>,
}

impl Authorization {
    pub fn scheme(&self) -> &str {
        self.kind.as_deref().unwrap_or("Bearer")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TlsVersion {
    TLS10,
    TLS11,
    TLS12,
    TLS13,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    #[serde(default)]
    pub ca: Option<String>,
    #[serde(default)]
    pub ca_file: Option<String>,
    #[serde(default)]
    pub cert: Option<String>,
    #[serde(default)]
    pub cert_file: Option<String>,
    #[serde(default)]
    pub key: Option<Secret>,
    #[serde(default)]
    pub key_file: Option<String>,
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
    #[serde(default)]
    pub min_version: Option<TlsVersion>,
    #[serde(default)]
    pub max_version: Option<TlsVersion>,
}

impl TlsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.ca.is_some() && self.ca_file.is_some() {
            return Err("at most one of ca and ca_file must be configured".into());
        }
        if self.cert.is_some() && self.cert_file.is_some() {
            return Err("at most one of cert and cert_file must be configured".into());
        }
        if self.key.is_some() && self.key_file.is_some() {
            return Err("at most one of key and key_file must be configured".into());
        }
        let has_cert = self.cert.is_some() || self.cert_file.is_some();
        let has_key = self.key.is_some() || self.key_file.is_some();
        if has_cert && !has_key {
            return Err("exactly one of key or key_file must be configured when a client certificate is configured".into());
        }
        if has_key && !has_cert {
            return Err("exactly one of cert or cert_file must be configured when a client key is configured".into());
        }
        if let (Some(min), Some(max)) = (self.min_version, self.max_version) {
            if (min as u8) > (max as u8) {
                return Err(format!(
                    "tls_config min_version {min:?} is greater than max_version {max:?}"
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn resolve_paths(&mut self, dir: &Path) {
        for p in [&mut self.ca_file, &mut self.cert_file, &mut self.key_file] {
            resolve(p, dir);
        }
    }
}

/// Borrowed view of the HTTP client fields of any section that has them.
#[derive(Debug, Clone, Copy)]
pub struct HttpClientRef<'a> {
    pub basic_auth: Option<&'a BasicAuth>,
    pub authorization: Option<&'a Authorization>,
    pub bearer_token: Option<&'a Secret>,
    pub bearer_token_file: Option<&'a str>,
    pub tls_config: &'a TlsConfig,
    pub proxy_url: Option<&'a str>,
    pub no_proxy: Option<&'a str>,
    pub proxy_from_environment: bool,
    pub follow_redirects: bool,
    pub enable_http2: bool,
}

impl HttpClientRef<'_> {
    /// Checks the combinations Prometheus rejects (at most one auth method, and so on).
    pub fn validate(&self) -> Result<(), String> {
        let bearer = self.bearer_token.is_some() || self.bearer_token_file.is_some();
        if self.bearer_token.is_some() && self.bearer_token_file.is_some() {
            return Err(
                "at most one of bearer_token & bearer_token_file must be configured".into(),
            );
        }
        if self.basic_auth.is_some() && bearer {
            return Err(
                "at most one of basic_auth, bearer_token & bearer_token_file must be configured"
                    .into(),
            );
        }
        if let Some(b) = self.basic_auth {
            if !b.username.is_empty() && b.username_file.is_some() {
                return Err(
                    "at most one of basic_auth username & username_file must be configured".into(),
                );
            }
            if b.password.is_some() && b.password_file.is_some() {
                return Err(
                    "at most one of basic_auth password & password_file must be configured".into(),
                );
            }
        }
        if let Some(a) = self.authorization {
            if bearer {
                return Err(
                    "authorization is not compatible with bearer_token & bearer_token_file".into(),
                );
            }
            if a.credentials.is_some() && a.credentials_file.is_some() {
                return Err("at most one of authorization credentials & credentials_file must be configured".into());
            }
            if a.scheme().eq_ignore_ascii_case("basic") {
                return Err(format!(
                    "authorization type cannot be set to {:?}, use \"basic_auth\" instead",
                    a.scheme()
                ));
            }
            if self.basic_auth.is_some() {
                return Err("at most one of basic_auth & authorization must be configured".into());
            }
        }
        if let Some(p) = self.proxy_url {
            let u = url::Url::parse(p).map_err(|e| format!("invalid proxy_url {p:?}: {e}"))?;
            if !matches!(u.scheme(), "http" | "https" | "socks5") {
                return Err(format!(
                    "invalid proxy_url {p:?}: unsupported scheme {:?}",
                    u.scheme()
                ));
            }
            if self.proxy_from_environment {
                return Err(
                    "if proxy_from_environment is configured, proxy_url must not be configured"
                        .into(),
                );
            }
        }
        if self.no_proxy.is_some() && self.proxy_url.is_none() {
            return Err("if no_proxy is configured, proxy_url must also be configured".into());
        }
        self.tls_config.validate()
    }
}

/// Makes a relative file reference relative to `dir` (the config file's directory).
pub(crate) fn resolve(path: &mut Option<String>, dir: &Path) {
    if let Some(p) = path {
        if !p.is_empty() && Path::new(p).is_relative() {
            *p = dir.join(&*p).to_string_lossy().into_owned();
        }
    }
}

pub(crate) fn default_true() -> bool {
    true
}

/// Declares a config struct and appends Prometheus's inline HTTP client fields to it, with
/// `http_client()` returning a borrowed view and `resolve_http_paths()` fixing relative files.
macro_rules! with_http_client_config {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty, )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty, )*
            #[serde(default)]
            pub basic_auth: Option<$crate::config::http::BasicAuth>,
            #[serde(default)]
            pub authorization: Option<$crate::config::http::Authorization>,
            #[serde(default)]
            pub bearer_token: Option<$crate::config::http::Secret>,
            #[serde(default)]
            pub bearer_token_file: Option<String>,
            #[serde(default)]
            pub tls_config: $crate::config::http::TlsConfig,
            #[serde(default)]
            pub proxy_url: Option<String>,
            #[serde(default)]
            pub no_proxy: Option<String>,
            #[serde(default)]
            pub proxy_from_environment: bool,
            #[serde(default = "crate::config::http::default_true")]
            pub follow_redirects: bool,
            #[serde(default = "crate::config::http::default_true")]
            pub enable_http2: bool,
        }

        impl $name {
            /// The HTTP client settings of this section.
            pub fn http_client(&self) -> $crate::config::http::HttpClientRef<'_> {
                $crate::config::http::HttpClientRef {
                    basic_auth: self.basic_auth.as_ref(),
                    authorization: self.authorization.as_ref(),
                    bearer_token: self.bearer_token.as_ref(),
                    bearer_token_file: self.bearer_token_file.as_deref(),
                    tls_config: &self.tls_config,
                    proxy_url: self.proxy_url.as_deref(),
                    no_proxy: self.no_proxy.as_deref(),
                    proxy_from_environment: self.proxy_from_environment,
                    follow_redirects: self.follow_redirects,
                    enable_http2: self.enable_http2,
                }
            }

            fn resolve_http_paths(&mut self, dir: &std::path::Path) {
                use $crate::config::http::resolve;
                resolve(&mut self.bearer_token_file, dir);
                if let Some(b) = &mut self.basic_auth {
                    resolve(&mut b.password_file, dir);
                    resolve(&mut b.username_file, dir);
                }
                if let Some(a) = &mut self.authorization {
                    resolve(&mut a.credentials_file, dir);
                }
                self.tls_config.resolve_paths(dir);
            }

            /// Checks the HTTP client keys and makes their relative files relative to `dir`
            /// (the config file's folder).
            #[allow(dead_code)]
            fn check_http_client(&mut self, dir: &std::path::Path) -> Result<(), String> {
                self.http_client().validate()?;
                self.resolve_http_paths(dir);
                Ok(())
            }
        }
    };
}
pub(crate) use with_http_client_config;
