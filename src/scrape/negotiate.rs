//! Content negotiation for a scrape, as Prometheus 3 does it: the `Accept` header built from a
//! job's `scrape_protocols` (each format with a descending q-weight, the 1.0.0 text formats
//! with the name-escaping scheme, then `*/*`), and the parser picked by the response's
//! Content-Type (`fallback_scrape_protocol` when the type is blank or unknown). Uses `config`
//! and `textparse`.

use crate::config::{ScrapeConfig, ScrapeProtocol, ValidationScheme};
use crate::textparse::{protobuf, Format};

/// How a fetched page is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageFormat {
    /// The text formats (Prometheus text or OpenMetrics).
    Text(Format),
    /// The delimited protobuf format (`textparse::protobuf`).
    Protobuf,
}

/// The media type (with its version) a protocol is asked for with.
pub fn media_type(p: ScrapeProtocol) -> &'static str {
    match p {
        ScrapeProtocol::PrometheusProto => {
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited"
        }
        ScrapeProtocol::PrometheusText004 => "text/plain;version=0.0.4",
        ScrapeProtocol::PrometheusText100 => "text/plain;version=1.0.0",
        ScrapeProtocol::OpenMetricsText001 => "application/openmetrics-text;version=0.0.1",
        ScrapeProtocol::OpenMetricsText100 => "application/openmetrics-text;version=1.0.0",
    }
}

/// The name-escaping scheme a job asks for: `underscores` under legacy name validation,
/// `allow-utf-8` otherwise (Prometheus 3's default).
pub fn escaping(job: &ScrapeConfig) -> &'static str {
    match job.metric_name_validation_scheme {
        Some(ValidationScheme::Legacy) => "underscores",
        _ => "allow-utf-8",
    }
}

/// The `Accept` header for `protocols` (most wanted first): the first gets q=0.6 (one more
/// than the number of protocols Prometheus knows), each next one a tenth less, and `*/*`
/// the weight after the last; the 1.0.0 text formats carry `escaping=<scheme>`.
pub fn accept_header(protocols: &[ScrapeProtocol], escaping: &str) -> String {
    const KNOWN: usize = 5;
    let mut weight = KNOWN + 1;
    let mut parts: Vec<String> = Vec::with_capacity(protocols.len() + 1);
    for p in protocols {
        let mut v = media_type(*p).to_string();
        if matches!(
            p,
            ScrapeProtocol::PrometheusText100 | ScrapeProtocol::OpenMetricsText100
        ) {
            v.push_str(";escaping=");
            v.push_str(escaping);
        }
        v.push_str(&format!(";q=0.{weight}"));
        parts.push(v);
        weight = weight.saturating_sub(1);
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

/// The `Accept` header of a job.
pub fn job_accept_header(job: &ScrapeConfig) -> String {
    accept_header(&job.protocols(), escaping(job))
}

/// The format a protocol names.
fn protocol_format(p: ScrapeProtocol) -> PageFormat {
    match p {
        ScrapeProtocol::PrometheusProto => PageFormat::Protobuf,
        ScrapeProtocol::OpenMetricsText001 | ScrapeProtocol::OpenMetricsText100 => {
            PageFormat::Text(Format::OpenMetrics)
        }
        ScrapeProtocol::PrometheusText004 | ScrapeProtocol::PrometheusText100 => {
            PageFormat::Text(Format::Text)
        }
    }
}

/// The parser for a response's Content-Type: protobuf (delimited), OpenMetrics, Prometheus
/// text; a blank or unknown type is read as `fallback` when the job names one, else as
/// Prometheus text (promterm's lenient default; Prometheus 3 fails such a scrape).
pub fn page_format(content_type: &str, fallback: Option<ScrapeProtocol>) -> PageFormat {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if protobuf::is_protobuf_content_type(content_type) {
        return PageFormat::Protobuf;
    } else if media == "application/openmetrics-text" {
        return PageFormat::Text(Format::OpenMetrics);
    } else if media == "text/plain" {
        return PageFormat::Text(Format::Text);
    }
    match fallback {
        Some(p) => protocol_format(p),
        None => PageFormat::Text(Format::from_content_type(content_type)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScrapeProtocol as P;

    const PROTO: &str =
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited";

    #[test]
    fn accept_headers_as_prometheus_sends_them() {
        assert_eq!(
            accept_header(&P::DEFAULTS, "allow-utf-8"),
            "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
             application/openmetrics-text;version=0.0.1;q=0.5,\
             text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
             text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
        );
        assert_eq!(
            accept_header(&P::PROTO_FIRST, "underscores"),
            format!(
                "{PROTO};q=0.6,\
                 application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.5,\
                 application/openmetrics-text;version=0.0.1;q=0.4,\
                 text/plain;version=1.0.0;escaping=underscores;q=0.3,\
                 text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
            )
        );
        assert_eq!(
            accept_header(&[P::PrometheusText004], "allow-utf-8"),
            "text/plain;version=0.0.4;q=0.6,*/*;q=0.5"
        );
        assert_eq!(
            accept_header(&[P::PrometheusProto, P::PrometheusText004], "underscores"),
            format!("{PROTO};q=0.6,text/plain;version=0.0.4;q=0.5,*/*;q=0.4")
        );
        assert_eq!(
            accept_header(&[P::OpenMetricsText001, P::PrometheusProto], "allow-utf-8"),
            format!("application/openmetrics-text;version=0.0.1;q=0.6,{PROTO};q=0.5,*/*;q=0.4")
        );
    }

    fn job(yaml: &str) -> ScrapeConfig {
        let text = format!(
            "{yaml}scrape_configs:\n- job_name: j\n  static_configs: [{{targets: ['h:1']}}]\n"
        );
        let cfg = crate::config::Config::parse(&text, std::path::Path::new("t.yml")).unwrap();
        let job = cfg.jobs().next().unwrap().clone();
        job
    }

    #[test]
    fn the_default_list_follows_scrape_native_histograms() {
        let plain = job("");
        assert_eq!(plain.protocols(), P::DEFAULTS.to_vec());
        assert!(job_accept_header(&plain).starts_with("application/openmetrics-text"));
        let native = job("global:\n  scrape_native_histograms: true\n");
        assert_eq!(native.protocols(), P::PROTO_FIRST.to_vec());
        assert!(job_accept_header(&native).starts_with(PROTO));
        // A global list wins over the native-histogram default, as in Prometheus.
        let listed = job(
            "global:\n  scrape_native_histograms: true\n  scrape_protocols: [PrometheusText0.0.4]\n",
        );
        assert_eq!(listed.protocols(), vec![P::PrometheusText004]);
        let legacy = job("global:\n  metric_name_validation_scheme: legacy\n");
        assert!(job_accept_header(&legacy).contains("escaping=underscores"));
    }

    #[test]
    fn content_types_pick_the_parser() {
        assert_eq!(page_format(PROTO, None), PageFormat::Protobuf);
        assert_eq!(
            page_format(
                "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
                None
            ),
            PageFormat::Protobuf
        );
        assert_eq!(
            page_format(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                None
            ),
            PageFormat::Text(Format::OpenMetrics)
        );
        assert_eq!(
            page_format("text/plain; version=0.0.4", Some(P::PrometheusProto)),
            PageFormat::Text(Format::Text)
        );
        // Blank or unknown: the fallback protocol, else text.
        assert_eq!(
            page_format("", Some(P::PrometheusProto)),
            PageFormat::Protobuf
        );
        assert_eq!(
            page_format("application/json", Some(P::OpenMetricsText100)),
            PageFormat::Text(Format::OpenMetrics)
        );
        assert_eq!(page_format("", None), PageFormat::Text(Format::Text));
    }
}
