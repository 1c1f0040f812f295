//! Template tests: expected outputs follow Go's text/template and Prometheus's functions.

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn run_with(text: &str, value: f64, query: Option<QueryFn<'_>>) -> Result<String, String> {
    run_val(text, Val::Float(value), query)
}

fn run_val(text: &str, value: Val, query: Option<QueryFn<'_>>) -> Result<String, String> {
    let t = Template::parse("__alert_T", text, &ALERT_VARS)?;
    let l = labels(&[("instance", "db-1.example.com:9100"), ("job", "node")]);
    let el = labels(&[("cluster", "eu")]);
    let (dot, vars) = alert_data(&l, &el, "http://prom.example:9090/prefix", value);
    let env = Env {
        query,
        external_url: "http://prom.example:9090/prefix",
    };
    t.execute(&dot, &vars, &env)
}

fn run(text: &str) -> String {
    run_with(text, 0.5, None).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn variables_fields_and_printing() {
    assert_eq!(
        run("{{ $labels.instance }} in {{ $externalLabels.cluster }}"),
        "db-1.example.com:9100 in eu"
    );
    assert_eq!(
        run("{{ .Labels.job }}/{{ .Value }}/{{ $value }}"),
        "node/0.5/0.5"
    );
    assert_eq!(
        run("[{{ $labels.missing }}]"),
        "[]",
        "missing keys read as empty"
    );
    assert_eq!(run_with("{{ $value }}", 1e6, None).unwrap(), "1e+06");
    assert_eq!(run_with("{{ $value }}", 123456.0, None).unwrap(), "123456");
    assert_eq!(run("{{ $x := 3 }}{{ $x }} {{ $x = \"s\" }}{{ $x }}"), "3 s");
    assert_eq!(
        run("{{ 1.50 }} {{ 0x1F }} {{ true }} {{ \"a\\tb\" }} {{ `raw\\n` }}"),
        "1.5 31 true a\tb raw\\n"
    );
    assert_eq!(run("{{ .ExternalURL }}"), "http://prom.example:9090/prefix");
    assert_eq!(
        run("{{ $labels }}"),
        "map[instance:db-1.example.com:9100 job:node]"
    );
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(run("a  {{- 1 -}}  b"), "a1b");
    assert_eq!(run("a {{/* note */}} b"), "a  b");
    assert_eq!(run("a \n{{- /* note */ -}}\n b"), "ab");
    assert_eq!(run("{{- \"x\" }}\n"), "x\n");
}

#[test]
fn control_structures() {
    assert_eq!(
        run("{{ if gt $value 0.4 }}high{{ else }}low{{ end }}"),
        "high"
    );
    assert_eq!(
        run("{{ if gt $value 0.9 }}a{{ else if gt $value 0.4 }}b{{ else }}c{{ end }}"),
        "b"
    );
    assert_eq!(run("{{ if $labels.missing }}x{{ end }}"), "");
    assert_eq!(
        run("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
        "instance=db-1.example.com:9100;job=node;"
    );
    assert_eq!(
        run("{{ range $labels }}<{{ . }}>{{ end }}"),
        "<db-1.example.com:9100><node>"
    );
    assert_eq!(
        run("{{ with $labels.job }}job {{ . }}{{ end }}"),
        "job node"
    );
    assert_eq!(
        run("{{ with $labels.nope }}x{{ else }}none{{ end }}"),
        "none"
    );
    assert_eq!(
        run("{{ if and (eq $labels.job \"node\") (not false) }}y{{ end }}"),
        "y"
    );
    assert_eq!(run("{{ or \"\" \"fallback\" }}"), "fallback");
    assert_eq!(
        run("{{ $n := 0 }}{{ if true }}{{ $n = 5 }}{{ end }}{{ $n }}"),
        "5"
    );
}

#[test]
fn pipelines_and_string_functions() {
    assert_eq!(run("{{ $labels.job | toUpper }}"), "NODE");
    assert_eq!(
        run("{{ \"HeLLo\" | toLower }} {{ title \"disk full on sda\" }}"),
        "hello Disk Full On Sda"
    );
    assert_eq!(
        run("{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}"),
        "db-1.example.com"
    );
    assert_eq!(
        run("{{ $labels.instance | stripPort }} {{ $labels.instance | stripDomain }}"),
        "db-1.example.com db-1:9100"
    );
    assert_eq!(run("{{ match \"^db-\" $labels.instance }}"), "true");
    assert_eq!(
        run("{{ printf \"%.2f%% of %s (%d)\" 12.3456 \"disk\" 7 }}"),
        "12.35% of disk (7)"
    );
    assert_eq!(
        run("{{ printf \"%5.1f|%-4d|%05d|%x|%q|%v\" 3.14159 42 -42 255 \"q\" true }}"),
        "  3.1|42  |-0042|ff|\"q\"|true"
    );
    assert_eq!(run("{{ printf \"%d\" 1.5 }}"), "%!d(float64=1.5)");
    assert_eq!(run("{{ printf \"%s %s\" \"a\" }}"), "a %!s(MISSING)");
    assert_eq!(
        run("{{ printf \"%e %g %.3g\" 123456.0 0.00001234 1234567.0 }}"),
        "1.234560e+05 1.234e-05 1.23e+06"
    );
    assert_eq!(
        run("{{ len $labels }} {{ index $labels \"job\" }}"),
        "2 node"
    );
    assert_eq!(
        run("{{ tableLink \"up == 0\" }}"),
        "/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    );
    assert_eq!(run("{{ pathPrefix }}"), "/prefix");
    assert_eq!(run("{{ print 1 2 \"a\" 3 }}"), "1 2a3");
    assert_eq!(run("{{ (args 1 \"x\").arg1 }}"), "x");
}

#[test]
fn humanize_family() {
    let cases = [
        ("humanize", 0.0, "0"),
        ("humanize", 1234567.0, "1.235M"),
        ("humanize", 1000.0, "1k"),
        ("humanize", 0.00123, "1.23m"),
        ("humanize", -2.5e-7, "-250n"),
        ("humanize", f64::INFINITY, "+Inf"),
        ("humanize1024", 1.0, "1"),
        ("humanize1024", 1048576.0, "1Mi"),
        ("humanize1024", 3000.0, "2.93ki"),
        ("humanizeDuration", 0.0, "0s"),
        ("humanizeDuration", 1.5, "1.5s"),
        ("humanizeDuration", 61.0, "1m 1s"),
        ("humanizeDuration", 3725.0, "1h 2m 5s"),
        ("humanizeDuration", 90061.0, "1d 1h 1m 1s"),
        ("humanizeDuration", -125.0, "-2m 5s"),
        ("humanizeDuration", 0.0032, "3.2ms"),
        ("humanizePercentage", 0.1234567, "12.35%"),
        (
            "humanizeTimestamp",
            1435065584.128,
            "2015-06-23 13:19:44.128 +0000 UTC",
        ),
        ("humanizeTimestamp", 0.0, "1970-01-01 00:00:00 +0000 UTC"),
    ];
    for (f, v, want) in cases {
        let got = run_with(&format!("{{{{ {f} $value }}}}"), v, None).unwrap();
        assert_eq!(got, want, "{f} {v}");
    }
    // Strings are converted as Prometheus's convertToFloat does.
    assert_eq!(run("{{ humanize \"2048\" }}"), "2.048k");
    let e = run_with("{{ humanize \"x\" }}", 1.0, None).unwrap_err();
    assert!(
        e.contains("error calling humanize") && e.contains("invalid syntax"),
        "{e}"
    );
}

#[test]
fn queries_first_label_value() {
    let q = |expr: &str| -> Result<Vec<QuerySample>, String> {
        if expr == "fail" {
            return Err("query failed".into());
        }
        Ok(vec![
            QuerySample {
                labels: labels(&[("instance", "b")]),
                value: 2.0,
                histogram: None,
            },
            QuerySample {
                labels: labels(&[("instance", "a")]),
                value: 1.0,
                histogram: None,
            },
        ])
    };
    let got = run_with("{{ query \"up\" | first | value }} {{ with query \"up\" }}{{ . | first | label \"instance\" }}{{ end }}", 0.0, Some(&q)).unwrap();
    assert_eq!(got, "2 b");
    let got = run_with("{{ range query \"up\" | sortByLabel \"instance\" }}{{ .Labels.instance }}={{ .Value }} {{ end }}", 0.0, Some(&q)).unwrap();
    assert_eq!(got, "a=1 b=2 ");
    let e = run_with("{{ query \"fail\" }}", 0.0, Some(&q)).unwrap_err();
    assert!(e.contains("query failed"), "{e}");
}

#[test]
fn errors_read_like_go() {
    let parse = |t: &str| Template::parse("__alert_x", t, &ALERT_VARS).unwrap_err();
    assert_eq!(
        parse("{{ $labels.x "),
        "template: __alert_x:1: unclosed action"
    );
    assert_eq!(
        parse("a\n{{ nofunc 1 }}"),
        "template: __alert_x:2: function \"nofunc\" not defined"
    );
    assert_eq!(
        parse("{{ $nope }}"),
        "template: __alert_x:1: undefined variable \"$nope\""
    );
    assert_eq!(
        parse("{{ if 1 }}x"),
        "template: __alert_x:1: unexpected EOF"
    );
    assert!(parse("{{ end }}").contains("unexpected {{end}}"));
    assert!(parse("{{ define \"x\" }}{{ end }}").contains("{{define}} is not supported"));
    // A variable declared in a block is gone after it.
    assert!(parse("{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}").contains("undefined variable"));
    let e = run_with("{{ gt $value 1 }}", 2.0, None).unwrap_err();
    assert!(e.contains("incompatible types for comparison"), "{e}");
    let e = run_with("{{ .Nope }}", 2.0, None).unwrap_err();
    assert!(e.contains("can't evaluate field Nope"), "{e}");
    let e = run_with(
        "{{ first (query \"x\") }}",
        2.0,
        Some(&|_: &str| Ok(vec![])),
    )
    .unwrap_err();
    assert!(
        e.contains("first() called on vector with no elements"),
        "{e}"
    );
}

#[test]
fn go_float_formatting() {
    assert_eq!(go_fmt_float(12345.0, 'g', Some(4), false), "1.234e+04");
    assert_eq!(go_fmt_float(100.0, 'g', Some(4), false), "100");
    assert_eq!(go_fmt_float(1.5, 'g', Some(4), false), "1.5");
    assert_eq!(go_fmt_float(0.0001234, 'g', Some(4), false), "0.0001234");
    assert_eq!(go_fmt_float(0.00001234, 'g', Some(4), false), "1.234e-05");
    assert_eq!(go_fmt_float(-0.5, 'g', Some(4), false), "-0.5");
    assert_eq!(go_fmt_float(0.125, 'f', Some(2), false), "0.12");
    assert_eq!(go_fmt_float(1e21, 'e', Some(2), false), "1.00e+21");
}

fn sample_histogram() -> Arc<crate::model::FloatHistogram> {
    Arc::new(crate::model::FloatHistogram {
        schema: 0,
        count: 4.0,
        sum: 5.0,
        positive_spans: vec![crate::model::Span {
            offset: 0,
            length: 3,
        }],
        positive_buckets: vec![1.0, 2.0, 1.0],
        ..Default::default()
    })
}

#[test]
fn a_histogram_value_prints_and_reads_as_in_prometheus_3() {
    let h = Val::Histogram(sample_histogram());
    let run_h = |t: &str| run_val(t, h.clone(), None);
    assert_eq!(
        run_h("{{ $value }}").unwrap(),
        "{count:4, sum:5, (0.5,1]:1, (1,2]:2, (2,4]:1}"
    );
    assert_eq!(
        run_h("{{ .Value.Count }} {{ $value.Sum }} {{ $value.Schema }}").unwrap(),
        "4 5 0"
    );
    assert_eq!(
        run_h("{{ $value.Count | humanize }} {{ printf \"%s\" $value }}").unwrap(),
        "4 {count:4, sum:5, (0.5,1]:1, (1,2]:2, (2,4]:1}"
    );
    assert_eq!(
        run_h("{{ if gt $value.Count 3.0 }}many{{ end }}").unwrap(),
        "many"
    );
    let e = run_h("{{ humanize $value }}").unwrap_err();
    assert!(
        e.contains("can't convert *histogram.FloatHistogram to float"),
        "{e}"
    );
    let e = run_h("{{ gt $value 1.0 }}").unwrap_err();
    assert!(e.contains("invalid type for comparison"), "{e}");
    let e = run_h("{{ $value.Nope }}").unwrap_err();
    assert!(
        e.contains("can't evaluate field Nope in type *histogram.FloatHistogram"),
        "{e}"
    );
}

#[test]
fn query_results_carry_histograms() {
    let q = |_: &str| -> Result<Vec<QuerySample>, String> {
        Ok(vec![QuerySample {
            labels: labels(&[("instance", "a")]),
            value: 0.0,
            histogram: Some(sample_histogram()),
        }])
    };
    let got = run_with(
        "{{ query \"h\" | first | value }}|{{ range query \"h\" }}{{ .Value.Count }} {{ . }}{{ end }}",
        0.0,
        Some(&q),
    )
    .unwrap();
    assert_eq!(
        got,
        "{count:4, sum:5, (0.5,1]:1, (1,2]:2, (2,4]:1}|4 &{map[instance:a] {count:4, sum:5, (0.5,1]:1, (1,2]:2, (2,4]:1}}"
    );
}
