//! The OTLP listeners: OTLP/gRPC (default `127.0.0.1:4317`) and OTLP/HTTP (`/v1/metrics`,
//! default `127.0.0.1:4318`), on by default so an application with a default OpenTelemetry SDK
//! reaches promterm. Each address comes from its flag when given, else from the config file's
//! `otlp:` section, else the default; an empty address turns that listener off. A listener that
//! cannot bind (the port is taken) logs one warning and stays off: the rest is served.
//! Uses `api` (the routers), `config` and the sibling `listen`.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tracing::warn;

use crate::config::OtlpConfig;

/// Default OTLP/gRPC address (the OTLP default port, on loopback only).
pub const DEFAULT_GRPC_LISTEN: &str = "127.0.0.1:4317";
/// Default OTLP/HTTP address (the OTLP default port, on loopback only).
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:4318";

/// The two OTLP receivers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Grpc,
    Http,
}

impl Kind {
    pub(super) fn flag(self) -> &'static str {
        match self {
            Kind::Grpc => "--otlp.grpc-listen-address",
            Kind::Http => "--otlp.http-listen-address",
        }
    }

    /// How the log names the receiver.
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Grpc => "OTLP gRPC receiver",
            Kind::Http => "OTLP HTTP receiver",
        }
    }
}

/// The address a receiver listens on: the flag when given, else the config file's, else the
/// default; empty means off.
pub(super) fn address(kind: Kind, flag: Option<&str>, config: &OtlpConfig) -> String {
    let from_config = match kind {
        Kind::Grpc => config.grpc_listen_address.as_deref(),
        Kind::Http => config.http_listen_address.as_deref(),
    };
    let default = match kind {
        Kind::Grpc => DEFAULT_GRPC_LISTEN,
        Kind::Http => DEFAULT_HTTP_LISTEN,
    };
    flag.or(from_config).unwrap_or(default).trim().to_string()
}

/// Binds a receiver's address; `None` when it is off, or (after one warning naming the address
/// and the flag) when it cannot be bound.
pub(super) async fn bind(kind: Kind, addr: &str) -> Option<(TcpListener, SocketAddr)> {
    if addr.is_empty() {
        return None;
    }
    match super::listen::bind(addr).await {
        Ok(x) => Some(x),
        Err(e) => {
            warn!(
                "{} is off: cannot listen on {addr:?} ({:#}); everything else is served. \
                 Choose another address with {} (or \"\" to turn it off)",
                kind.name(),
                e.root_cause(),
                kind.flag()
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_over_the_config_file_which_wins_over_the_default() {
        let mut cfg = OtlpConfig::default();
        assert_eq!(address(Kind::Grpc, None, &cfg), DEFAULT_GRPC_LISTEN);
        assert_eq!(address(Kind::Http, None, &cfg), DEFAULT_HTTP_LISTEN);
        cfg.grpc_listen_address = Some("0.0.0.0:14317".into());
        cfg.http_listen_address = Some(String::new());
        assert_eq!(address(Kind::Grpc, None, &cfg), "0.0.0.0:14317");
        assert_eq!(address(Kind::Http, None, &cfg), "");
        assert_eq!(address(Kind::Grpc, Some(""), &cfg), "");
        assert_eq!(address(Kind::Http, Some(":4318"), &cfg), ":4318");
    }

    #[tokio::test]
    async fn a_taken_port_leaves_the_receiver_off() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        assert!(bind(Kind::Grpc, &addr).await.is_none());
        assert!(bind(Kind::Grpc, "").await.is_none());
        assert!(bind(Kind::Http, "127.0.0.1:0").await.is_some());
    }
}
