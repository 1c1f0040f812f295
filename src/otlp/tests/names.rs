//! Metric and label names per `translation_strategy`. Expectations are those of the
//! `otlptranslator` Go module's own tests (metric_namer_test.go, label_namer_test.go) and
//! Prometheus's OTLP guide.

use crate::config::{OtlpConfig, TranslationStrategy};
use crate::otlp::names::{MetricKind, Namer};

use MetricKind::*;
use TranslationStrategy::*;

fn namer(strategy: TranslationStrategy) -> Namer {
    Namer::new(&OtlpConfig {
        translation_strategy: strategy,
        ..OtlpConfig::default()
    })
}

#[test]
fn metric_names_per_strategy() {
    // (strategy, OTLP name, unit, kind, Prometheus name)
    let cases: &[(TranslationStrategy, &str, &str, MetricKind, &str)] = &[
        // Underscore escaping with suffixes (the default).
        (
            UnderscoreEscapingWithSuffixes,
            "requests",
            "",
            MonotonicCounter,
            "requests_total",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "cpu_usage",
            "1",
            Gauge,
            "cpu_usage_ratio",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "items",
            "1",
            MonotonicCounter,
            "items_total",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "response_time",
            "ms",
            Gauge,
            "response_time_milliseconds",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "memory_usage",
            "By",
            Gauge,
            "memory_usage_bytes",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "requests",
            "1/s",
            Gauge,
            "requests_per_second",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "throughput",
            "By/s",
            Gauge,
            "throughput_bytes_per_second",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "custom_metric",
            "custom_unit",
            Gauge,
            "custom_metric_custom_unit",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "custom_metric",
            "{custom}",
            Gauge,
            "custom_metric",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "custom_metric",
            "By/{custom}",
            Gauge,
            "custom_metric_bytes",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "requests_total",
            "",
            MonotonicCounter,
            "requests_total",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "cpu_usage_ratio",
            "1",
            Gauge,
            "cpu_usage_ratio",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "response_time_seconds",
            "s",
            Gauge,
            "response_time_seconds",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "metric__with__multiple__underscores",
            "unit__multiple__underscores",
            Gauge,
            "metric_with_multiple_underscores_unit_multiple_underscores",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "custom_metric",
            "unit@with#special/chars",
            Gauge,
            "custom_metric_unit_with_special_per_chars",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "request_duration",
            "s",
            Histogram,
            "request_duration_seconds",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "response_time",
            "ms",
            Summary,
            "response_time_milliseconds",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "active_connections",
            "",
            NonMonotonicCounter,
            "active_connections",
        ),
        // A non-monotonic sum is no gauge for `_ratio`.
        (
            UnderscoreEscapingWithSuffixes,
            "busy",
            "1",
            NonMonotonicCounter,
            "busy",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "uptime",
            "d",
            Gauge,
            "uptime_days",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "http.server.duration",
            "ms",
            Histogram,
            "http_server_duration_milliseconds",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "system.network.io",
            "By",
            MonotonicCounter,
            "system_network_io_bytes_total",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "2xx.count",
            "",
            Gauge,
            "_2xx_count",
        ),
        (
            UnderscoreEscapingWithSuffixes,
            "total.requests.total",
            "",
            MonotonicCounter,
            "requests_total",
        ),
        // Without suffixes: escaping only.
        (
            UnderscoreEscapingWithoutSuffixes,
            "simple_metric",
            "",
            Gauge,
            "simple_metric",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "metric@with#special$chars",
            "",
            Gauge,
            "metric_with_special_chars",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "123metric",
            "",
            Gauge,
            "_123metric",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "metric@@##$$name",
            "",
            Gauge,
            "metric_name",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "requests",
            "s",
            MonotonicCounter,
            "requests",
        ),
        (
            UnderscoreEscapingWithoutSuffixes,
            "keep__double",
            "",
            Gauge,
            "keep__double",
        ),
        // UTF-8 names with suffixes.
        (
            NoUTF8EscapingWithSuffixes,
            "requêsts",
            "",
            MonotonicCounter,
            "requêsts_total",
        ),
        (
            NoUTF8EscapingWithSuffixes,
            "cpu_usagé",
            "1",
            Gauge,
            "cpu_usagé_ratio",
        ),
        (
            NoUTF8EscapingWithSuffixes,
            "respønse_time",
            "ms",
            Gauge,
            "respønse_time_milliseconds",
        ),
        (
            NoUTF8EscapingWithSuffixes,
            "requêsts",
            "1/s",
            Gauge,
            "requêsts_per_second",
        ),
        (
            NoUTF8EscapingWithSuffixes,
            "@#$%",
            "",
            MonotonicCounter,
            "@#$%_total",
        ),
        (
            NoUTF8EscapingWithSuffixes,
            "requests_total",
            "",
            MonotonicCounter,
            "requests_total",
        ),
        (
            NoUTF8EscapingWithSuffixes,
            "cpu_seconds_total",
            "s",
            MonotonicCounter,
            "cpu_seconds_total",
        ),
        (
            NoUTF8EscapingWithSuffixes,
            "http.server.duration",
            "s",
            Histogram,
            "http.server.duration_seconds",
        ),
        // No translation at all.
        (
            NoTranslation,
            "http.server.duration",
            "s",
            Histogram,
            "http.server.duration",
        ),
        (NoTranslation, "requests", "", MonotonicCounter, "requests"),
    ];
    for (strategy, name, unit, kind, want) in cases {
        let got = namer(*strategy).metric(name, unit, *kind);
        assert_eq!(
            got.as_deref(),
            Ok(*want),
            "{strategy:?} {name:?} unit {unit:?} {kind:?}"
        );
    }
}

#[test]
fn names_that_translate_to_nothing_are_errors() {
    for (strategy, name) in [
        (UnderscoreEscapingWithSuffixes, "@#$%"),
        (UnderscoreEscapingWithoutSuffixes, "@#$%"),
        (UnderscoreEscapingWithSuffixes, ""),
        (NoTranslation, ""),
    ] {
        let e = namer(strategy).metric(name, "", Gauge).unwrap_err();
        assert!(e.contains("empty name"), "{strategy:?} {name:?}: {e}");
    }
    let e = namer(UnderscoreEscapingWithoutSuffixes)
        .metric("_.", "", Gauge)
        .unwrap_err();
    assert!(e.contains("invalid name \"_\""), "{e}");
}

#[test]
fn label_names_per_strategy() {
    let escaping = namer(UnderscoreEscapingWithSuffixes);
    for (key, want) in [
        ("http.method", "http_method"),
        ("123invalid", "key_123invalid"),
        ("_private", "key_private"),
        ("__reserved__", "__reserved__"),
        ("label@with$special", "label_with_special"),
        ("multiple..dots", "multiple__dots"),
    ] {
        assert_eq!(escaping.label(key).as_deref(), Ok(want), "{key:?}");
    }
    // `ünïcode` → `_n_code`, then `key` before the single underscore.
    assert_eq!(
        namer(UnderscoreEscapingWithoutSuffixes)
            .label("ünïcode")
            .unwrap(),
        "key_n_code"
    );
    assert!(escaping.label("").is_err());
    assert!(escaping
        .label("...")
        .unwrap_err()
        .contains("invalid label name"));
    for s in [NoUTF8EscapingWithSuffixes, NoTranslation] {
        assert_eq!(namer(s).label("http.method").unwrap(), "http.method");
        assert!(namer(s).label("").is_err());
    }
    // The two label switches.
    let mut cfg = OtlpConfig {
        label_name_underscore_sanitization: false,
        ..OtlpConfig::default()
    };
    assert_eq!(Namer::new(&cfg).label("_private").unwrap(), "_private");
    cfg.label_name_preserve_multiple_underscores = false;
    assert_eq!(Namer::new(&cfg).label("a..b__c").unwrap(), "a_b_c");
    assert_eq!(Namer::new(&cfg).label("__keep").unwrap(), "__keep");
}
