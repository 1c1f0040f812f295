//! Table tests over testdata/config: every good file loads, every bad file fails with the line
//! and message that testdata/config/bad-files.tsv names.

use std::path::{Path, PathBuf};

use super::*;

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/config")
}

struct BadCase {
    file: String,
    line: Option<usize>,
    message: String,
}

fn bad_cases() -> Vec<BadCase> {
    let table = std::fs::read_to_string(testdata().join("bad-files.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 4, "bad-files.tsv row needs 4 columns: {l:?}");
            assert!(matches!(cols[2], "upstream" | "promterm"), "{l:?}");
            BadCase {
                file: cols[0].to_string(),
                line: (cols[1] != "-").then(|| cols[1].parse().unwrap()),
                message: cols[3].to_string(),
            }
        })
        .collect()
}

fn files_ending(suffix: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect();
    out.sort();
    out
}

#[test]
fn every_bad_file_fails_with_its_message_and_line() {
    let cases = bad_cases();
    assert!(
        cases.len() >= 25,
        "want at least 25 kinds of mistake, have {}",
        cases.len()
    );
    let listed: Vec<&str> = cases.iter().map(|c| c.file.as_str()).collect();
    for f in files_ending(".bad.yml") {
        assert!(listed.contains(&f.as_str()), "{f} is not in bad-files.tsv");
    }
    for c in &cases {
        let path = testdata().join(&c.file);
        let err = match Config::load(&path) {
            Ok(_) => panic!("{} loaded but should fail with {:?}", c.file, c.message),
            Err(e) => e,
        };
        let shown = err.to_string();
        assert!(
            shown.contains(&c.message),
            "{}: got {shown:?}, want {:?}",
            c.file,
            c.message
        );
        assert!(
            shown.contains(&c.file),
            "{}: error must name the file: {shown:?}",
            c.file
        );
        assert_eq!(err.line, c.line, "{}: wrong line in {shown:?}", c.file);
    }
}

#[test]
fn every_good_file_loads() {
    let good = files_ending(".good.yml");
    assert!(good.len() >= 3, "{good:?}");
    for f in good {
        Config::load(&testdata().join(&f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn prometheus_defaults_apply() {
    let cfg = Config::load(&testdata().join("minimal.good.yml")).unwrap();
    assert_eq!(cfg.global.scrape_interval, Duration::from_secs(60));
    assert_eq!(cfg.global.scrape_timeout, Duration::from_secs(10));
    assert_eq!(cfg.global.evaluation_interval, Duration::from_secs(60));
    let job = cfg.jobs().next().unwrap();
    assert_eq!(job.scrape_interval, Duration::from_secs(60));
    assert_eq!(job.scrape_timeout, Duration::from_secs(10));
    assert_eq!(job.metrics_path, "/metrics");
    assert_eq!(job.scheme, Scheme::Http);
    assert!(job.honor_timestamps);
    assert!(!job.honor_labels);
    assert!(job.enable_compression);
    assert!(job.follow_redirects);
    assert_eq!(job.sample_limit, Some(0));
}

#[test]
fn job_timeout_defaults_to_the_smaller_of_global_timeout_and_interval() {
    let cfg = Config::parse(
        "scrape_configs:\n  - job_name: fast\n    scrape_interval: 5s\n",
        Path::new("t.yml"),
    )
    .unwrap();
    let job = cfg.jobs().next().unwrap();
    assert_eq!(job.scrape_timeout, Duration::from_secs(5));
    let cfg = Config::parse("global:\n  scrape_interval: 5s\n", Path::new("t.yml")).unwrap();
    assert_eq!(cfg.global.scrape_timeout, Duration::from_secs(5));
}

#[test]
fn full_config_keeps_every_value() {
    let cfg = Config::load(&testdata().join("full.good.yml")).unwrap();
    assert_eq!(cfg.global.scrape_interval, Duration::from_secs(15));
    assert_eq!(
        cfg.global
            .external_labels
            .get("replica")
            .map(String::as_str),
        Some("1")
    );
    let names: Vec<&str> = cfg.jobs().map(|j| j.job_name.as_str()).collect();
    assert_eq!(names, ["prometheus", "node", "included-job"]);

    let prom = cfg.jobs().next().unwrap();
    assert_eq!(prom.scheme, Scheme::Https);
    assert_eq!(prom.metrics_path, "/custom/metrics");
    assert_eq!(prom.params["module"], ["http_2xx"]);
    assert_eq!(prom.scrape_timeout, Duration::from_secs(10));
    assert_eq!(prom.sample_limit, Some(5000));
    assert!(!prom.enable_compression && !prom.honor_timestamps && prom.honor_labels);
    assert_eq!(prom.tls_config.min_version, Some(TlsVersion::TLS12));
    let auth = prom.basic_auth.as_ref().unwrap();
    assert_eq!(auth.password.as_ref().unwrap().expose(), "s3cret");
    assert!(
        !format!("{prom:?}").contains("s3cret"),
        "secrets must not appear in Debug output"
    );

    let node = cfg.jobs().nth(1).unwrap();
    assert_eq!(
        node.scrape_timeout,
        Duration::from_secs(5),
        "inherits the global timeout"
    );
    assert_eq!(node.authorization.as_ref().unwrap().scheme(), "Bearer");
    let actions: Vec<Action> = node.relabel_configs.iter().map(|r| r.action).collect();
    use Action::*;
    assert_eq!(
        actions,
        [Replace, LabelMap, HashMod, Keep, LabelDrop, Lowercase, KeepEqual]
    );
    assert_eq!(node.relabel_configs[2].modulus, 4);
    let sd = &node.file_sd_configs[0];
    assert!(
        sd.files[0].ends_with("testdata/config/targets/*.json"),
        "{:?}",
        sd.files
    );
    assert_eq!(sd.refresh_interval, Duration::from_secs(60));

    let am = &cfg.alerting.alertmanagers[0];
    assert_eq!(am.path_prefix, "/am");
    assert_eq!(am.timeout, Duration::from_secs(5));
    assert_eq!(cfg.alerting.alert_relabel_configs[0].action, LabelDrop);

    let rw = cfg.remote_writes().next().unwrap();
    assert_eq!(rw.name.as_deref(), Some("mimir"));
    assert_eq!(rw.headers["X-Scope-OrgID"], "tenant-1");
    assert_eq!(rw.queue_config.capacity, 20_000);
    assert_eq!(rw.queue_config.min_backoff, Duration::from_millis(50));
    assert!(
        rw.queue_config.retry_on_http_429,
        "unset queue fields keep their defaults"
    );
    assert_eq!(rw.metadata_config, MetadataConfig::default());

    let rules = cfg.rule_file_paths();
    assert_eq!(rules.len(), 1, "{rules:?}");
    assert!(rules[0].ends_with("rules/example.rules.yml"));
    assert_eq!(cfg.warnings().len(), 1, "{:?}", cfg.warnings());
}

#[test]
fn summary_counts() {
    let cfg = Config::load(&testdata().join("full.good.yml")).unwrap();
    let s = cfg.summary();
    assert_eq!((s.jobs, s.static_targets, s.file_sd_configs), (3, 3, 1));
    assert_eq!((s.rule_files, s.alertmanagers, s.remote_writes), (1, 1, 1));
    assert_eq!(
        s.to_string(),
        "3 jobs, 3 static targets (+1 file_sd), 1 rule file, 1 alertmanager, 1 remote write"
    );
}

#[test]
fn embedded_default_monitors_itself_and_the_host() {
    let cfg = Config::embedded_default("127.0.0.1:9090");
    let targets: Vec<(&str, &str)> = cfg
        .jobs()
        .flat_map(|j| {
            j.static_configs.iter().flat_map(move |s| {
                s.targets
                    .iter()
                    .map(move |t| (j.job_name.as_str(), t.as_str()))
            })
        })
        .collect();
    assert_eq!(
        targets,
        [("promterm", "127.0.0.1:9090"), ("node", "127.0.0.1:9090")]
    );
    let paths: Vec<&str> = cfg.jobs().map(|j| j.metrics_path.as_str()).collect();
    assert_eq!(paths, ["/metrics", "/host/metrics"]);
    // An IPv6 listen address must still give a valid config.
    let v6 = Config::embedded_default("[::1]:9090");
    assert_eq!(v6.jobs().count(), 2);
}

#[test]
fn included_scrape_config_file_errors_name_that_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("extra.yml"),
        "scrape_configs:\n  - job_name: a\n    bogus: 1\n",
    )
    .unwrap();
    let main = dir.path().join("prometheus.yml");
    std::fs::write(
        &main,
        "scrape_config_files: ['extra.yml']\nscrape_configs:\n  - job_name: b\n",
    )
    .unwrap();
    let err = Config::load(&main).unwrap_err();
    assert!(err.file.ends_with("extra.yml"), "{err}");
    assert_eq!(err.line, Some(3), "{err}");

    std::fs::write(
        dir.path().join("extra.yml"),
        "scrape_configs:\n  - job_name: b\n",
    )
    .unwrap();
    let err = Config::load(&main).unwrap_err();
    assert!(
        err.to_string()
            .contains("found multiple scrape configs with job name \"b\""),
        "{err}"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let err = Config::load(Path::new("/nonexistent/prometheus.yml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/prometheus.yml: cannot read config file"),
        "{err}"
    );
}

#[test]
fn credential_files_resolve_against_the_config_directory() {
    let cfg = Config::parse(
        "scrape_configs:\n  - job_name: a\n    bearer_token_file: secrets/token\n    tls_config:\n      ca_file: /etc/ca.pem\n",
        Path::new("/etc/promterm/prometheus.yml"),
    )
    .unwrap();
    let job = cfg.jobs().next().unwrap();
    assert_eq!(
        job.bearer_token_file.as_deref(),
        Some("/etc/promterm/secrets/token")
    );
    assert_eq!(job.tls_config.ca_file.as_deref(), Some("/etc/ca.pem"));
}

#[test]
fn utf8_validation_scheme_allows_dotted_label_names() {
    let yaml = "global:\n  metric_name_validation_scheme: utf8\nscrape_configs:\n  - job_name: a\n    static_configs:\n      - targets: ['x:1']\n        labels: {service.name: api}\n";
    Config::parse(yaml, Path::new("t.yml")).unwrap();
    let legacy = yaml.replace("utf8", "legacy");
    assert!(Config::parse(&legacy, Path::new("t.yml")).is_err());
}

#[test]
fn otlp_section_is_checked_as_prometheus_3_checks_it() {
    let parse = |otlp: &str| Config::parse(&format!("otlp:\n{otlp}"), Path::new("t.yml"));
    // Defaults: Prometheus 3's, plus promterm's delta conversion on.
    let c = Config::parse("", Path::new("t.yml")).unwrap();
    assert_eq!(
        c.otlp.translation_strategy,
        TranslationStrategy::UnderscoreEscapingWithSuffixes
    );
    assert!(c.otlp.convert_delta_to_cumulative);
    assert!(c.otlp.label_name_underscore_sanitization);
    assert!(c.otlp.label_name_preserve_multiple_underscores);
    assert!(!c.otlp.promote_all_resource_attributes && !c.otlp.convert_histograms_to_nhcb);
    let c = parse("  promote_resource_attributes: [' k8s.pod.name ', cloud.region]\n  convert_delta_to_cumulative: false\n  convert_histograms_to_nhcb: true\n  promote_scope_metadata: true\n  keep_identifying_resource_attributes: true\n  translation_strategy: UnderscoreEscapingWithoutSuffixes\n").unwrap();
    assert_eq!(
        c.otlp.promote_resource_attributes,
        ["k8s.pod.name", "cloud.region"]
    );
    assert!(!c.otlp.convert_delta_to_cumulative && c.otlp.convert_histograms_to_nhcb);
    for (otlp, line, want) in [
        (
            "  promote_all_resource_attributes: true\n  promote_resource_attributes: [a]\n",
            1,
            "otlp: 'promote_all_resource_attributes' and 'promote_resource_attributes' cannot be configured simultaneously",
        ),
        (
            "  ignore_resource_attributes: [a]\n",
            1,
            "otlp: 'ignore_resource_attributes' cannot be configured unless 'promote_all_resource_attributes' is true",
        ),
        (
            "  promote_resource_attributes: [a, ' ', a]\n",
            1,
            "otlp: invalid 'promote_resource_attributes': empty promoted OTel resource attribute\nduplicated promoted OTel resource attribute \"a\"",
        ),
        (
            "  promote_all_resource_attributes: true\n  ignore_resource_attributes: [x, x]\n",
            1,
            "otlp: invalid 'ignore_resource_attributes': duplicated ignored OTel resource attribute \"x\"",
        ),
        (
            "  translation_strategy: NoUTF8EscapingWithSuffixes\n",
            1,
            "otlp: OTLP translation strategy \"NoUTF8EscapingWithSuffixes\" is not allowed when UTF8 is disabled",
        ),
        (
            "  translation_strategy: NoTranslation\n",
            1,
            "otlp: OTLP translation strategy \"NoTranslation\" is not allowed when UTF8 is disabled",
        ),
    ] {
        let e = parse(otlp).unwrap_err();
        assert!(e.message.starts_with(want), "{otlp:?}: {:?}", e.message);
        assert_eq!(e.line, Some(line), "{otlp:?}");
    }
    // UTF-8 strategies with UTF-8 names.
    for s in ["NoUTF8EscapingWithSuffixes", "NoTranslation"] {
        let yaml = format!(
            "global:\n  metric_name_validation_scheme: utf8\notlp:\n  translation_strategy: {s}\n"
        );
        Config::parse(&yaml, Path::new("t.yml")).unwrap();
    }
    // Unknown strategies and keys are refused by the parser.
    assert!(parse("  translation_strategy: Sometimes\n").is_err());
    assert!(parse("  promote_everything: true\n").is_err());
}

#[test]
fn storage_section_sizes_exemplars_and_reports_what_is_ignored() {
    let text = "storage:\n  tsdb:\n    out_of_order_time_window: 30m\n  exemplars:\n    max_exemplars: 500\n";
    let cfg = Config::parse(text, Path::new("s.yml")).unwrap();
    assert_eq!(cfg.max_exemplars(), 500);
    assert_eq!(
        cfg.warnings(),
        vec!["storage.tsdb.out_of_order_time_window is accepted but ignored".to_string()]
    );
    let cfg = Config::parse("storage:\n  exemplars: {}\n", Path::new("s.yml")).unwrap();
    assert_eq!(cfg.max_exemplars(), 100_000);
    assert!(cfg.warnings().is_empty(), "{:?}", cfg.warnings());
    assert_eq!(
        Config::parse("{}", Path::new("s.yml"))
            .unwrap()
            .max_exemplars(),
        100_000
    );
    let err = Config::parse(
        "storage:\n  exemplars:\n    max_exemplar: 5\n",
        Path::new("s.yml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("max_exemplar"), "{err}");
}

#[test]
fn native_histogram_settings_inherit_from_global_and_the_feature_flag() {
    let yaml = "global:\n  scrape_native_histograms: true\n  always_scrape_classic_histograms: true\n\
                scrape_configs:\n\
                - job_name: a\n  static_configs: [{targets: ['h:1']}]\n\
                - job_name: b\n  scrape_native_histograms: false\n  convert_classic_histograms_to_nhcb: true\n  native_histogram_bucket_limit: 160\n  native_histogram_min_bucket_factor: 1.1\n  static_configs: [{targets: ['h:1']}]\n";
    let cfg = Config::parse(yaml, Path::new("t.yml")).unwrap();
    let jobs: Vec<&ScrapeConfig> = cfg.jobs().collect();
    assert_eq!(jobs[0].scrape_native_histograms, Some(true));
    assert_eq!(jobs[0].always_scrape_classic_histograms, Some(true));
    assert_eq!(jobs[0].convert_classic_histograms_to_nhcb, Some(false));
    assert_eq!(jobs[0].protocols()[0], ScrapeProtocol::PrometheusProto);
    assert_eq!(jobs[1].scrape_native_histograms, Some(false));
    assert_eq!(jobs[1].convert_classic_histograms_to_nhcb, Some(true));
    assert_eq!(jobs[1].native_histogram_bucket_limit, 160);
    assert_eq!(jobs[1].native_histogram_min_bucket_factor, 1.1);
    assert_eq!(jobs[1].protocols(), ScrapeProtocol::DEFAULTS.to_vec());

    // `--enable-feature=native-histograms`: on where nothing says otherwise.
    let yaml = "scrape_configs:\n\
                - job_name: a\n  static_configs: [{targets: ['h:1']}]\n\
                - job_name: b\n  scrape_native_histograms: false\n  static_configs: [{targets: ['h:1']}]\n";
    let mut cfg = Config::parse(yaml, Path::new("t.yml")).unwrap();
    assert_eq!(cfg.jobs().next().unwrap().scrape_native_histograms, None);
    cfg.default_native_histograms();
    let on: Vec<bool> = cfg.jobs().map(ScrapeConfig::native_histograms).collect();
    assert_eq!(on, [true, false]);
    assert_eq!(cfg.global.scrape_native_histograms, Some(true));
    // ... unless global turns it off.
    let mut cfg = Config::parse(
        &format!("global:\n  scrape_native_histograms: false\n{yaml}"),
        Path::new("t.yml"),
    )
    .unwrap();
    cfg.default_native_histograms();
    assert!(!cfg.jobs().next().unwrap().native_histograms());
}

#[test]
fn bad_native_histogram_settings_are_refused() {
    let job = "scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['h:1']}]\n";
    let e = Config::parse(
        &format!("global:\n  scrape_protocols: []\n{job}"),
        Path::new("t.yml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("scrape_protocols cannot be empty"), "{e}");
    let e = Config::parse(
        &format!("global:\n  scrape_protocols: [PrometheusProto, PrometheusProto]\n{job}"),
        Path::new("t.yml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("duplicated protocol"), "{e}");
    let e = Config::parse(
        &format!("{job}  native_histogram_min_bucket_factor: -1\n"),
        Path::new("t.yml"),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("native_histogram_min_bucket_factor"), "{e}");
    // A global list is what a job without its own asks for.
    let cfg = Config::parse(
        &format!("global:\n  scrape_protocols: [PrometheusText0.0.4]\n{job}"),
        Path::new("t.yml"),
    )
    .unwrap();
    assert_eq!(
        cfg.jobs().next().unwrap().protocols(),
        vec![ScrapeProtocol::PrometheusText004]
    );
}

#[test]
fn enable_feature_values_apply_to_the_config() {
    let yaml = "scrape_configs:\n- job_name: a\n  static_configs: [{targets: ['h:1']}]\n";
    let mut cfg = Config::parse(yaml, Path::new("t.yml")).unwrap();
    cfg.apply_features(&["unknown-thing".to_string()]);
    let job = cfg.jobs().next().unwrap();
    assert!(!job.created_timestamp_zero_ingestion && !job.native_histograms());
    cfg.apply_features(&[" created-timestamp-zero-ingestion".to_string()]);
    assert!(cfg.jobs().next().unwrap().created_timestamp_zero_ingestion);
    assert!(!cfg.jobs().next().unwrap().native_histograms());
    cfg.apply_features(&["native-histograms".to_string()]);
    assert!(cfg.jobs().next().unwrap().native_histograms());
}

#[test]
fn every_sd_mechanism_parses_under_alertmanagers() {
    let yaml = "alerting:\n  alertmanagers:\n  - kubernetes_sd_configs: [{role: pod, namespaces: {names: [monitoring]}}]\n    http_sd_configs: [{url: 'http://sd:8080/am', bearer_token_file: tok}]\n    docker_sd_configs: [{host: 'unix:///var/run/docker.sock', port: 9093}]\n    dns_sd_configs: [{names: [_am._tcp.example], refresh_interval: 10s}]\n    consul_sd_configs: [{server: 'consul:8500', services: [alertmanager]}]\n    file_sd_configs: [{files: [am/*.json]}]\n    static_configs: [{targets: ['am:9093']}]\n";
    let cfg = Config::parse(yaml, Path::new("/etc/p/prometheus.yml")).unwrap();
    let am = &cfg.alerting.alertmanagers[0];
    let sd = am.sd_configs();
    assert_eq!(sd.kubernetes_sd_configs[0].namespaces.names, ["monitoring"]);
    assert_eq!(
        sd.http_sd_configs[0].bearer_token_file.as_deref(),
        Some("/etc/p/tok"),
        "relative files are resolved as in jobs"
    );
    assert_eq!(sd.docker_sd_configs[0].port, 9093);
    assert_eq!(sd.dns_sd_configs[0].names, ["_am._tcp.example"]);
    assert_eq!(sd.consul_sd_configs[0].services, ["alertmanager"]);
    assert_eq!(sd.file_sd_configs[0].files, ["/etc/p/am/*.json"]);
    assert_eq!(sd.static_configs[0].targets, ["am:9093"]);
    // The same checks as in jobs, with the entry, list and index named.
    let e = Config::parse(
        "alerting:\n  alertmanagers:\n  - dns_sd_configs: [{names: [x], type: MX}]\n",
        Path::new("t.yml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("alerting.alertmanagers[0]: dns_sd_configs[0]: a port is required"),
        "{e}"
    );
}
