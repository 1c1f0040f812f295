//! Group evaluation against a real store: recording results and staleness, the alert state
//! machine, ALERTS series, templates, limits, `for` restoration.

use super::*;
use crate::config::RuleFile;
use crate::model::{is_stale_nan, MatchOp};
use crate::tsdb::{Db, Options};

const S: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * S;

struct Fx {
    _dir: tempfile::TempDir,
    db: Db,
    engine: Engine,
    ext: BTreeMap<String, String>,
}

fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(dir.path(), Options::default()).unwrap();
    Fx {
        _dir: dir,
        db,
        engine: Engine::default(),
        ext: [("cluster".to_string(), "eu".to_string())].into(),
    }
}

impl Fx {
    fn ctx(&self) -> EvalCtx<'_> {
        EvalCtx {
            querier: &self.db,
            appender: &self.db,
            engine: &self.engine,
            external_labels: &self.ext,
            external_url: "http://promterm:9090",
            resend_delay_ns: 60 * S,
            query_timeout: std::time::Duration::from_secs(10),
        }
    }

    fn put(&self, labels: &[(&str, &str)], t: i64, v: f64) {
        let mut l = labels.to_vec();
        l.sort();
        self.db
            .append(&[SeriesInput {
                labels: l,
                samples: vec![Sample {
                    t: t / NS_PER_MS,
                    v,
                }],
            }])
            .unwrap();
    }

    /// Every sample of series named `name`: (labels, [(t ms, value)]), stale markers as NaN
    /// strings.
    fn series(&self, name: &str) -> Vec<(String, Vec<(i64, String)>)> {
        let m = [Matcher::new(MatchOp::Equal, METRIC_NAME, name).unwrap()];
        self.db
            .select(&m, i64::MIN, i64::MAX)
            .unwrap()
            .into_iter()
            .map(|s| {
                let pts = s
                    .samples
                    .iter()
                    .map(|x| {
                        let v = if is_stale_nan(x.v) {
                            "stale".to_string()
                        } else {
                            format_go_g(x.v)
                        };
                        ((x.t - T0 / NS_PER_MS) / 1000, v)
                    })
                    .collect();
                (s.labels.to_string(), pts)
            })
            .collect()
    }
}

fn group(text: &str) -> Group {
    let rf = RuleFile::parse(text, "t.yml").unwrap();
    Group::new(
        "t.yml",
        &rf.groups[0],
        std::time::Duration::from_secs(10),
        std::time::Duration::ZERO,
    )
    .unwrap()
}

#[test]
fn recording_rules_rename_relabel_and_go_stale() {
    let f = fx();
    let mut g = group(
        "groups:\n- name: g\n  labels: {team: a}\n  rules:\n  - record: job:x:sum\n    expr: sum by (job) (x)\n    labels: {team: b, src: rec}\n  - record: job:x:double\n    expr: job:x:sum * 2\n",
    );
    f.put(&[("__name__", "x"), ("job", "a"), ("i", "1")], T0, 1.0);
    f.put(&[("__name__", "x"), ("job", "a"), ("i", "2")], T0, 2.0);
    f.put(&[("__name__", "x"), ("job", "b"), ("i", "1")], T0, 5.0);
    g.eval(T0, &f.ctx());
    assert!(
        g.rules.iter().all(|r| r.health == Health::Good),
        "{:?}",
        g.rules[0].last_error
    );
    assert_eq!(
        f.series("job:x:sum"),
        vec![
            (
                r#"{__name__="job:x:sum", job="a", src="rec", team="b"}"#.to_string(),
                vec![(0, "3".to_string())]
            ),
            (
                r#"{__name__="job:x:sum", job="b", src="rec", team="b"}"#.to_string(),
                vec![(0, "5".to_string())]
            ),
        ]
    );
    // The second rule sees the first one's result at the same timestamp.
    let d = f.series("job:x:double");
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].1, vec![(0, "6".to_string())]);
    assert!(
        d[0].0.contains("team=\"a\""),
        "group labels apply: {}",
        d[0].0
    );
    // job b goes away: its recorded series get stale markers at the next evaluation.
    f.put(
        &[("__name__", "x"), ("job", "a"), ("i", "1")],
        T0 + 10 * S,
        1.0,
    );
    f.put(
        &[("__name__", "x"), ("job", "a"), ("i", "2")],
        T0 + 10 * S,
        2.0,
    );
    f.put(
        &[("__name__", "x"), ("job", "b"), ("i", "1")],
        T0 + 10 * S,
        f64::from_bits(crate::model::STALE_NAN_BITS),
    );
    g.eval(T0 + 10 * S, &f.ctx());
    let s = f.series("job:x:sum");
    assert_eq!(s[0].1, vec![(0, "3".to_string()), (10, "3".to_string())]);
    assert_eq!(
        s[1].1,
        vec![(0, "5".to_string()), (10, "stale".to_string())]
    );
    assert_eq!(g.to_json()["rules"][0]["health"], "ok");
}

#[test]
fn recording_rule_errors_set_health_and_write_nothing() {
    let f = fx();
    let mut g = group(
        "groups:\n- name: g\n  limit: 1\n  rules:\n  - record: r\n    expr: x\n  - record: s\n    expr: x\n    labels: {i: same}\n  - record: t\n    expr: vector(7)\n",
    );
    f.put(&[("__name__", "x"), ("i", "1")], T0, 1.0);
    f.put(&[("__name__", "x"), ("i", "2")], T0, 2.0);
    g.eval(T0, &f.ctx());
    assert_eq!(g.rules[0].health, Health::Bad);
    assert_eq!(
        g.rules[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 series")
    );
    assert_eq!(
        g.rules[1].last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying rule labels")
    );
    assert!(f.series("r").is_empty() && f.series("s").is_empty());
    // A scalar-valued vector without labels is fine and takes the rule's name.
    assert_eq!(g.rules[2].health, Health::Good);
    assert_eq!(f.series("t")[0].1, vec![(0, "7".to_string())]);
    let j = g.to_json();
    assert_eq!(
        j["rules"][0]["lastError"],
        "exceeded limit of 1 with 2 series"
    );
    assert_eq!(j["rules"][0]["health"], "err");
}

const ALERT_RULES: &str = "groups:\n- name: g\n  rules:\n  - alert: High\n    expr: x > 10\n    for: 20s\n    labels:\n      severity: page\n      instance_short: '{{ $labels.instance | stripPort }}'\n    annotations:\n      summary: '{{ $labels.instance }} at {{ $value }} in {{ $externalLabels.cluster }}'\n";

#[test]
fn alerts_go_pending_firing_resolved_with_alerts_series() {
    let f = fx();
    let mut g = group(ALERT_RULES);
    g.rules[0].alerting.as_mut().unwrap().restored = true;
    let inst = [("__name__", "x"), ("instance", "h:9100")];
    let mut states = Vec::new();
    let mut sent = Vec::new();
    // Above the threshold at 0..30s, below from 40s.
    for (k, v) in [
        (0, 20.0),
        (10, 21.0),
        (20, 22.0),
        (30, 23.0),
        (40, 1.0),
        (50, 1.0),
    ] {
        let ts = T0 + k * S;
        f.put(&inst, ts, v);
        let notes = g.eval(ts, &f.ctx());
        let a = g.rules[0].alerting.as_ref().unwrap();
        let st: Vec<&str> = a.active.values().map(|x| x.state.as_str()).collect();
        states.push((k, st.join(",")));
        for (_, alerts) in notes {
            for al in alerts {
                sent.push((k, al.state.as_str(), al.resolved_at != 0));
            }
        }
    }
    assert_eq!(
        states,
        vec![
            (0, "pending".to_string()),
            (10, "pending".to_string()),
            (20, "firing".to_string()),
            (30, "firing".to_string()),
            (40, "inactive".to_string()),
            (50, "inactive".to_string()),
        ]
    );
    // Sent when it fires, again when resolved; not re-sent within the resend delay.
    assert_eq!(sent, vec![(20, "firing", false), (40, "inactive", true)]);
    let alert_labels = r#"{__name__="ALERTS", alertname="High", alertstate="#;
    let s = f.series("ALERTS");
    assert_eq!(s.len(), 2, "{s:?}");
    assert_eq!(
        s[0].0,
        format!(
            r#"{alert_labels}"firing", instance="h:9100", instance_short="h", severity="page"}}"#
        )
    );
    assert_eq!(
        s[0].1,
        vec![(20, "1".into()), (30, "1".into()), (40, "stale".into())]
    );
    assert_eq!(
        s[1].1,
        vec![(0, "1".into()), (10, "1".into()), (20, "stale".into())]
    );
    let fs = f.series("ALERTS_FOR_STATE");
    assert_eq!(fs[0].1[0], (0, format_go_g((T0 / S) as f64)));
    // The annotation saw the value and the external labels.
    let a = g.rules[0].alerting.as_ref().unwrap();
    let al = a.active.values().next().unwrap();
    assert_eq!(
        al.annotations["summary"],
        "h:9100 at 1 in eu".replace(" 1 ", " 23 ")
    );
    assert_eq!(al.resolved_at, T0 + 40 * S);
    // Resolved alerts are dropped 15 minutes later.
    f.put(&inst, T0 + 40 * S + RESOLVED_RETENTION_NS + S, 1.0);
    g.eval(T0 + 40 * S + RESOLVED_RETENTION_NS + S, &f.ctx());
    assert!(g.rules[0].alerting.as_ref().unwrap().active.is_empty());
}

#[test]
fn pending_alerts_vanish_and_keep_firing_for_holds() {
    let f = fx();
    let mut g = group("groups:\n- name: g\n  rules:\n  - alert: A\n    expr: x > 0\n    for: 30s\n  - alert: B\n    expr: x > 0\n    keep_firing_for: 15s\n");
    for r in &mut g.rules {
        r.alerting.as_mut().unwrap().restored = true;
    }
    let l = [("__name__", "x")];
    let mut seen = Vec::new();
    for (k, v) in [(0, 1.0), (10, 0.0), (20, 0.0), (30, 0.0), (40, 0.0)] {
        f.put(&l, T0 + k * S, v);
        g.eval(T0 + k * S, &f.ctx());
        let a = &g.rules[0].alerting.as_ref().unwrap().active;
        let b = &g.rules[1].alerting.as_ref().unwrap().active;
        let show = |m: &HashMap<Labels, Alert>| {
            m.values()
                .map(|x| x.state.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        seen.push(format!("{k}:{}|{}", show(a), show(b)));
    }
    assert_eq!(
        seen,
        [
            "0:pending|firing",
            "10:|firing",
            "20:|firing",
            "30:|inactive",
            "40:|inactive"
        ]
    );
    let j = g.to_json();
    assert_eq!(j["rules"][1]["keepFiringFor"], 15.0);
    assert_eq!(j["rules"][1]["state"], "inactive");
    assert_eq!(j["rules"][1]["alerts"], json!([]));
}

#[test]
fn alert_limit_and_duplicate_labelsets_are_errors() {
    let f = fx();
    let mut g = group("groups:\n- name: g\n  limit: 1\n  rules:\n  - alert: A\n    expr: x\n  - alert: B\n    expr: x\n    labels: {i: same}\n");
    f.put(&[("__name__", "x"), ("i", "1")], T0, 1.0);
    f.put(&[("__name__", "y"), ("i", "1")], T0, 1.0);
    f.put(&[("__name__", "x"), ("i", "2")], T0, 1.0);
    g.eval(T0, &f.ctx());
    assert_eq!(
        g.rules[0].last_error.as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
    assert!(g.rules[0].alerting.as_ref().unwrap().active.is_empty());
    assert_eq!(
        g.rules[1].last_error.as_deref(),
        Some("vector contains metrics with the same labelset after applying alert labels")
    );
}

#[test]
fn for_state_is_restored_after_a_restart() {
    let f = fx();
    let text = "groups:\n- name: g\n  rules:\n  - alert: Long\n    expr: x > 0\n    for: 30m\n";
    let mut g = group(text);
    g.rules[0].alerting.as_mut().unwrap().restored = true;
    let l = [("__name__", "x")];
    // Pending for 10 minutes before the "restart".
    for k in 0..=60 {
        f.put(&l, T0 + k * 10 * S, 1.0);
        g.eval(T0 + k * 10 * S, &f.ctx());
    }
    // Down for 5 minutes; a fresh group evaluates twice, then restores.
    let mut g2 = group(text);
    let up = T0 + 900 * S;
    for k in 0..2 {
        f.put(&l, up + k * 10 * S, 1.0);
        g2.eval(up + k * 10 * S, &f.ctx());
    }
    assert!(
        f.series("ALERTS")
            .iter()
            .all(|s| s.1.iter().all(|p| p.0 <= 600 || p.1 == "stale")),
        "no ALERTS before the state is restored"
    );
    g2.restore_for_state(up + 10 * S, &f.db, 10 * 60 * S, 3600 * S);
    let a = g2.rules[0].alerting.as_ref().unwrap();
    let alert = a.active.values().next().unwrap();
    // Active since T0, last seen at 600s, restored at 910s: the 10 minutes pending carry
    // over, shifted by the 310s outage.
    assert_eq!(alert.active_at, T0 + 310 * S);
    assert!(a.restored);
    // Short `for` (below the grace period): nothing to restore.
    let mut g3 =
        group("groups:\n- name: g\n  rules:\n  - alert: Short\n    expr: x > 0\n    for: 1m\n");
    g3.eval(up, &f.ctx());
    g3.restore_for_state(up, &f.db, 10 * 60 * S, 3600 * S);
    assert!(g3.rules[0].alerting.as_ref().unwrap().restored);
}

#[test]
fn restore_within_the_grace_period_delays_firing() {
    let f = fx();
    let text = "groups:\n- name: g\n  rules:\n  - alert: Long\n    expr: x > 0\n    for: 15m\n";
    let mut g = group(text);
    g.rules[0].alerting.as_mut().unwrap().restored = true;
    let l = [("__name__", "x")];
    // Pending for 10 minutes: 5 left, less than the 10 minute grace.
    for k in 0..=60 {
        f.put(&l, T0 + k * 10 * S, 1.0);
        g.eval(T0 + k * 10 * S, &f.ctx());
    }
    let mut g2 = group(text);
    let up = T0 + 660 * S;
    f.put(&l, up, 1.0);
    g2.eval(up, &f.ctx());
    g2.restore_for_state(up, &f.db, 10 * 60 * S, 3600 * S);
    let alert = g2.rules[0]
        .alerting
        .as_ref()
        .unwrap()
        .active
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(alert.active_at, up + 600 * S - 900 * S);
}

#[test]
fn eval_timestamps_are_aligned_per_group() {
    let g = group("groups:\n- name: g\n  interval: 15s\n  rules: []\n");
    let t = g.eval_timestamp(T0 + 7 * S + 123);
    assert!(t <= T0 + 7 * S + 123 && t > T0 + 7 * S + 123 - 15 * S);
    assert_eq!(g.eval_timestamp(t), t);
    assert_eq!(g.eval_timestamp(t + 15 * S - 1), t);
    assert_eq!(g.eval_timestamp(t + 15 * S), t + 15 * S);
    let other = group("groups:\n- name: other\n  interval: 15s\n  rules: []\n");
    assert_ne!(
        other.eval_timestamp(t).rem_euclid(15 * S),
        t.rem_euclid(15 * S)
    );
}

#[test]
fn copy_state_keeps_alerts_of_unchanged_rules() {
    let f = fx();
    let mut g = group(ALERT_RULES);
    g.rules[0].alerting.as_mut().unwrap().restored = true;
    f.put(&[("__name__", "x"), ("instance", "a:1")], T0, 50.0);
    g.eval(T0, &f.ctx());
    let mut g2 = group(ALERT_RULES);
    g2.copy_state(&g);
    assert_eq!(g2.rules[0].alerting.as_ref().unwrap().active.len(), 1);
    assert_eq!(g2.rules[0].prev_series.len(), 2);
    let mut g3 = group(&ALERT_RULES.replace("severity: page", "severity: warn"));
    g3.copy_state(&g);
    assert!(g3.rules[0].alerting.as_ref().unwrap().active.is_empty());
}

#[test]
fn json_shapes_match_the_rules_api() {
    let f = fx();
    let mut g = group(ALERT_RULES);
    g.rules[0].alerting.as_mut().unwrap().restored = true;
    f.put(&[("__name__", "x"), ("instance", "a:1")], T0, 50.0);
    g.eval(T0, &f.ctx());
    let j = g.to_json();
    assert_eq!(j["interval"], 10.0);
    assert_eq!(j["file"], "t.yml");
    let r = &j["rules"][0];
    assert_eq!(r["type"], "alerting");
    assert_eq!(r["state"], "pending");
    assert_eq!(r["duration"], 20.0);
    assert_eq!(r["query"], "x > 10");
    assert_eq!(r["alerts"][0]["value"], "5e+01");
    assert_eq!(r["alerts"][0]["activeAt"], rfc3339_nano(T0));
    assert_eq!(r["alerts"][0]["labels"]["alertname"], "High");
    assert!(r.get("lastError").is_none());
    assert_eq!(
        rfc3339_nano(T0 + 151_810_036),
        "2023-11-14T22:13:20.151810036Z"
    );
    assert_eq!(rfc3339_nano(0), "0001-01-01T00:00:00Z");
    assert_eq!(format_go_e(0.5), "5e-01");
    assert_eq!(format_go_e(123.4), "1.234e+02");
}

fn hist(count: f64, sum: f64) -> crate::model::FloatHistogram {
    crate::model::FloatHistogram {
        count,
        sum,
        positive_spans: vec![crate::model::Span {
            offset: 0,
            length: 2,
        }],
        positive_buckets: vec![count - 1.0, 1.0],
        ..Default::default()
    }
}

impl Fx {
    fn put_h(&self, labels: &[(&str, &str)], t: i64, h: crate::model::FloatHistogram) {
        use crate::model::{HistogramSample, HistogramValue};
        let mut l = labels.to_vec();
        l.sort();
        let st = self
            .db
            .append_histograms(&[crate::storage::HistogramInput {
                labels: l,
                histograms: vec![HistogramSample {
                    t: t / NS_PER_MS,
                    h: HistogramValue::Float(h),
                }],
            }])
            .unwrap();
        assert_eq!(st.accepted, 1);
    }

    /// Every sample of series named `name`, floats and histograms in time order: (labels,
    /// [(t s, value)]), a histogram as `h<count>/<sum>`, stale markers (of either kind) as
    /// `stale` for a float and `hstale` for a histogram.
    fn all_samples(&self, name: &str) -> Vec<(String, Vec<(i64, String)>)> {
        let m = [Matcher::new(MatchOp::Equal, METRIC_NAME, name).unwrap()];
        let rel = |t: i64| (t - T0 / NS_PER_MS) / 1000;
        self.db
            .select(&m, i64::MIN, i64::MAX)
            .unwrap()
            .into_iter()
            .map(|s| {
                let mut pts: Vec<(i64, String)> = s
                    .samples
                    .iter()
                    .map(|x| {
                        let v = if is_stale_nan(x.v) {
                            "stale".to_string()
                        } else {
                            format_go_g(x.v)
                        };
                        (rel(x.t), v)
                    })
                    .collect();
                pts.extend(s.histograms.iter().map(|x| {
                    let h = x.h.to_float();
                    let v = if h.is_stale() {
                        "hstale".to_string()
                    } else {
                        format!("h{}/{}", format_go_g(h.count), format_go_g(h.sum))
                    };
                    (rel(x.t), v)
                }));
                pts.sort();
                (s.labels.to_string(), pts)
            })
            .collect()
    }
}

#[test]
fn recording_rules_record_histograms_flip_kinds_and_go_stale() {
    let f = fx();
    let a = [("__name__", "lat"), ("job", "a")];
    let b = [("__name__", "lat"), ("job", "b")];
    f.put_h(&a, T0, hist(2.0, 1.5));
    f.put(&b, T0, 4.0);
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - record: rec:lat\n    expr: lat\n    labels: {src: rec}\n",
    );
    g.eval(T0, &f.ctx());
    assert_eq!(
        g.rules[0].health,
        Health::Good,
        "{:?}",
        g.rules[0].last_error
    );
    // Each series flips kind at 10s.
    f.put(&a, T0 + 10 * S, 7.0);
    f.put_h(&b, T0 + 10 * S, hist(3.0, 2.5));
    g.eval(T0 + 10 * S, &f.ctx());
    assert_eq!(
        g.rules[0].health,
        Health::Good,
        "{:?}",
        g.rules[0].last_error
    );
    // Both go away at 20s: the recorded series get stale markers, a histogram one for the
    // series whose last recorded sample is a histogram.
    let stale = f64::from_bits(crate::model::STALE_NAN_BITS);
    f.put(&a, T0 + 20 * S, stale);
    f.put(&b, T0 + 20 * S, stale);
    g.eval(T0 + 20 * S, &f.ctx());
    assert_eq!(
        f.all_samples("rec:lat"),
        vec![
            (
                r#"{__name__="rec:lat", job="a", src="rec"}"#.to_string(),
                vec![
                    (0, "h2/1.5".to_string()),
                    (10, "7".to_string()),
                    (20, "stale".to_string())
                ]
            ),
            (
                r#"{__name__="rec:lat", job="b", src="rec"}"#.to_string(),
                vec![
                    (0, "4".to_string()),
                    (10, "h3/2.5".to_string()),
                    (20, "hstale".to_string())
                ]
            ),
        ]
    );
    // Removing the group marks what it wrote last as stale too.
    f.put_h(&a, T0 + 30 * S, hist(5.0, 4.0));
    g.eval(T0 + 30 * S, &f.ctx());
    g.mark_stale((T0 + 40 * S) / NS_PER_MS, &f.db);
    let s = f.all_samples("rec:lat");
    assert_eq!(
        &s[0].1[3..],
        &[(30, "h5/4".to_string()), (40, "hstale".to_string())]
    );
}

#[test]
fn alerts_fire_for_histogram_samples_with_the_histogram_as_value() {
    let f = fx();
    let mut g = group(
        "groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: lat\n    for: 10s\n    keep_firing_for: 20s\n    labels:\n      severity: '{{ if gt $value.Count 2.0 }}page{{ else }}ticket{{ end }}'\n    annotations:\n      summary: '{{ $labels.job }}: {{ $value }}'\n      count: '{{ .Value.Count }} {{ humanize $value.Sum }}'\n",
    );
    g.rules[0].alerting.as_mut().unwrap().restored = true;
    let a = [("__name__", "lat"), ("job", "a")];
    let mut states = Vec::new();
    for k in 0..6 {
        let t = T0 + k * 10 * S;
        if k < 2 {
            f.put_h(&a, t, hist(3.0, 1500.0));
        } else if k == 2 {
            f.put(&a, t, f64::from_bits(crate::model::STALE_NAN_BITS));
        }
        g.eval(t, &f.ctx());
        assert_eq!(
            g.rules[0].health,
            Health::Good,
            "{:?}",
            g.rules[0].last_error
        );
        let al = &g.rules[0].alerting.as_ref().unwrap().active;
        states.push(al.values().next().map(|x| x.state));
        if k == 1 {
            let x = al.values().next().unwrap();
            assert_eq!(
                x.annotations["summary"],
                "a: {count:3, sum:1500, (0.5,1]:2, (1,2]:1}"
            );
            assert_eq!(x.annotations["count"], "3 1.5k");
            assert_eq!(x.labels.get("severity"), Some("page"));
            // The alert's value is the sample's float: 0 for a histogram sample.
            assert_eq!(x.value, 0.0);
            let j = g.to_json();
            assert_eq!(j["rules"][0]["alerts"][0]["value"], "0e+00");
            assert_eq!(j["rules"][0]["state"], "firing");
        }
    }
    use AlertState::*;
    // Pending, firing after `for`, kept firing for 20s after the histogram went, resolved.
    assert_eq!(
        states,
        vec![
            Some(Pending),
            Some(Firing),
            Some(Firing),
            Some(Firing),
            Some(Inactive),
            Some(Inactive)
        ]
    );
    // The ALERTS series are floats, as for any alert.
    let alerts = f.all_samples("ALERTS");
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(alerts
        .iter()
        .all(|(_, p)| p.iter().all(|x| !x.1.starts_with('h'))));
}
