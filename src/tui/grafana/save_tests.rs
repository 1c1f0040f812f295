//! Tests of `save` and `files`: dashboards built in the TUI read back by our loader with the
//! same panels, the exported shape, real dashboards written back unchanged plus the added
//! panels, file names, and the dashboards directory (listing with a broken file, saving
//! without replacing another dashboard).

use serde_json::{json, Value};

use super::files::{list, save};
use super::model::PanelKind;
use super::save::{add_panel, new_dashboard, relative_from, slug, to_text, NewPanel};

fn testdata(name: &str) -> (String, Value) {
    let text = std::fs::read_to_string(format!("testdata/grafana/{name}")).unwrap();
    let v = serde_json::from_str(&text).unwrap();
    (text, v)
}

#[test]
fn a_built_dashboard_reads_back_with_its_panels() {
    let mut doc = new_dashboard("promterm", "promterm-abc", 3600.0);
    add_panel(&mut doc, "rate(up[5m])", NewPanel::Graph).unwrap();
    add_panel(&mut doc, "up", NewPanel::Table).unwrap();
    add_panel(&mut doc, "scalar(time())", NewPanel::Stat).unwrap();
    let l = super::parse(&to_text(&doc), "built.json").unwrap();
    assert!(l.notes.is_empty(), "{:?}", l.notes);
    let d = &l.dashboard;
    assert_eq!(d.title, "promterm");
    assert_eq!(d.uid, "promterm-abc");
    assert_eq!(d.schema_version, 39);
    assert_eq!(
        (d.time_from.as_str(), d.time_to.as_str()),
        ("now-1h", "now")
    );
    let panels: Vec<_> = d.panels().collect();
    assert_eq!(panels.len(), 3);
    let kinds: Vec<_> = panels.iter().map(|p| p.kind.clone()).collect();
    assert_eq!(
        kinds,
        [PanelKind::TimeSeries, PanelKind::Table, PanelKind::Stat]
    );
    for (p, q) in panels.iter().zip(["rate(up[5m])", "up", "scalar(time())"]) {
        assert_eq!(p.title, q);
        assert_eq!(p.targets.len(), 1);
        assert_eq!(p.targets[0].expr, q);
        assert_eq!(p.targets[0].ref_id, "A");
        assert_eq!(p.unit.as_deref(), Some("none"));
        assert!(p.drawn(), "{:?}", p.problem);
        assert_eq!(p.queries().count(), 1);
    }
    assert!(panels[0].targets[0].runs_range() && !panels[0].targets[0].runs_instant());
    assert!(panels[1].targets[0].runs_instant() && !panels[1].targets[0].runs_range());
    // Two side by side on the 24-column grid, the third under them.
    let g: Vec<_> = panels
        .iter()
        .map(|p| (p.grid.x, p.grid.y, p.grid.w))
        .collect();
    assert_eq!(g, [(0, 0, 12), (12, 0, 12), (0, 8, 12)]);
    let ids: Vec<_> = panels.iter().map(|p| p.id).collect();
    assert_eq!(ids, [Some(1), Some(2), Some(3)]);
}

#[test]
fn a_new_dashboard_has_the_shape_grafana_exports() {
    let mut doc = new_dashboard("My board", "u1", 900.0);
    add_panel(&mut doc, "up", NewPanel::Graph).unwrap();
    for k in [
        "__inputs",
        "__requires",
        "annotations",
        "panels",
        "templating",
        "time",
        "refresh",
        "schemaVersion",
        "title",
        "uid",
        "version",
    ] {
        assert!(doc.get(k).is_some(), "no {k}");
    }
    assert_eq!(doc["time"]["from"], "now-15m");
    assert_eq!(doc["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(doc["__inputs"][0]["pluginId"], "prometheus");
    let p = &doc["panels"][0];
    let ds = json!({"type": "prometheus", "uid": "${DS_PROMETHEUS}"});
    assert_eq!(p["datasource"], ds);
    assert_eq!(p["targets"][0]["datasource"], ds);
    assert_eq!(p["targets"][0]["legendFormat"], "__auto");
    assert_eq!(p["gridPos"], json!({"h": 8, "w": 12, "x": 0, "y": 0}));
    assert_eq!(p["fieldConfig"]["defaults"]["unit"], "none");
    // The panel type is listed among what the dashboard requires.
    assert!(doc["__requires"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["type"] == "panel" && r["id"] == "timeseries"));
}

/// The panels of `doc` not in `orig` (top level, or in rows for legacy dashboards), and
/// `doc` with them taken out.
fn split_added(orig: &Value, doc: &Value) -> (Vec<Value>, Value) {
    let mut rest = doc.clone();
    let key = if orig["panels"].as_array().is_some_and(|p| !p.is_empty()) {
        "panels"
    } else {
        "rows"
    };
    let n = orig[key].as_array().map_or(0, Vec::len);
    let added = rest[key].as_array_mut().unwrap().split_off(n);
    (added, rest)
}

#[test]
fn real_dashboards_are_written_back_unchanged_plus_the_added_panels() {
    for name in ["node-rsrc-use.json", "nodes.json", "prometheus.json"] {
        let (text, orig) = testdata(name);
        let l = super::parse(&text, name).unwrap();
        // Unchanged: equal as JSON.
        let back: Value = serde_json::from_str(&to_text(&l.source)).unwrap();
        assert_eq!(back, orig, "{name}");
        // Plus two panels: the original is what remains when they are taken out.
        let mut doc = l.source.clone();
        add_panel(&mut doc, "up{job=\"x\"}", NewPanel::Graph).unwrap();
        add_panel(&mut doc, "count(up)", NewPanel::Table).unwrap();
        let saved: Value = serde_json::from_str(&to_text(&doc)).unwrap();
        let (added, rest) = split_added(&orig, &saved);
        assert_eq!(rest, orig, "{name}: fields changed");
        assert!(!added.is_empty(), "{name}");
        // The panels use the dashboard's own datasource variable.
        let text = serde_json::to_string(&added).unwrap();
        assert!(text.contains("${datasource}"), "{name}: {text}");
        assert!(!text.contains("DS_PROMETHEUS"), "{name}");
        // Our loader reads the old panels and the new ones.
        let again = super::parse(&to_text(&saved), name).unwrap();
        let titles: Vec<String> = again.dashboard.panels().map(|p| p.title.clone()).collect();
        let before: Vec<String> = l.dashboard.panels().map(|p| p.title.clone()).collect();
        assert_eq!(titles.len(), before.len() + 2, "{name}");
        assert_eq!(titles[..before.len()], before[..], "{name}");
        assert_eq!(
            titles[before.len()..],
            ["up{job=\"x\"}", "count(up)"],
            "{name}"
        );
        // Ids stay unique.
        let mut ids: Vec<i64> = again.dashboard.panels().filter_map(|p| p.id).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{name}");
    }
}

#[test]
fn a_panel_added_below_a_collapsed_row_gets_a_row_of_its_own() {
    let doc_text = r#"{"title": "c", "uid": "c", "schemaVersion": 39, "panels": [
        {"type": "row", "title": "R", "collapsed": true, "id": 4,
         "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1},
         "panels": [{"type": "stat", "title": "hidden", "id": 5,
                     "gridPos": {"x": 0, "y": 1, "w": 6, "h": 4}}]}]}"#;
    let mut doc: Value = serde_json::from_str(doc_text).unwrap();
    add_panel(&mut doc, "up", NewPanel::Graph).unwrap();
    let l = super::parse(&to_text(&doc), "c").unwrap();
    let last = l.dashboard.rows.last().unwrap();
    assert_eq!(last.title.as_deref(), Some("promterm"));
    assert!(!last.collapsed);
    assert_eq!(last.panels.len(), 1);
    assert_eq!(last.panels[0].title, "up");
    assert_eq!(last.panels[0].id, Some(7));
    // No datasource in the dashboard: the export's input is added.
    assert_eq!(doc["__inputs"][0]["name"], "DS_PROMETHEUS");
}

#[test]
fn file_names_and_relative_times() {
    assert_eq!(
        slug("Node Exporter / USE Method / Node"),
        "node-exporter-use-method-node"
    );
    assert_eq!(slug("  rate(x[5m])  "), "rate-x-5m");
    assert_eq!(slug("../../etc"), "etc");
    assert_eq!(slug("///"), "dashboard");
    assert_eq!(relative_from(3600.0), "now-1h");
    assert_eq!(relative_from(5400.0), "now-90m");
    assert_eq!(relative_from(172800.0), "now-2d");
    assert_eq!(relative_from(45.0), "now-45s");
}

#[test]
fn the_directory_lists_titles_and_a_broken_file_with_its_error() {
    let dir = tempfile::tempdir().unwrap();
    let (text, _) = testdata("nodes.json");
    std::fs::write(dir.path().join("nodes.json"), &text).unwrap();
    std::fs::write(dir.path().join("broken.json"), &text[..200]).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not listed").unwrap();
    let entries = list(dir.path()).unwrap();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries[0].path.ends_with("broken.json"));
    let err = entries[0].title.as_ref().unwrap_err();
    assert!(
        err.contains("broken.json") && err.contains("truncated"),
        "{err}"
    );
    assert!(entries[1].path.ends_with("nodes.json"));
    assert_eq!(entries[1].title.as_deref(), Ok("Node Exporter / Nodes"));
    // A directory not made yet is empty, not an error.
    assert_eq!(list(&dir.path().join("none")).unwrap(), Vec::new());
}

#[test]
fn saving_never_replaces_another_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("dashboards");
    let mut a = new_dashboard("promterm", "uid-a", 3600.0);
    add_panel(&mut a, "up", NewPanel::Graph).unwrap();
    let s1 = save(&sub, &a, None).unwrap();
    assert_eq!(s1.path, sub.join("promterm.json"));
    assert!(s1.message.contains("promterm.json"), "{}", s1.message);
    // The same dashboard again: replaced.
    add_panel(&mut a, "count(up)", NewPanel::Table).unwrap();
    let s2 = save(&sub, &a, None).unwrap();
    assert_eq!(s2.path, s1.path);
    assert!(s2.message.contains("replacing"), "{}", s2.message);
    let back = super::load(&s2.path).unwrap();
    assert_eq!(back.dashboard.panels().count(), 2);
    // Another dashboard with the same title: goes beside it, and says so.
    let b = new_dashboard("promterm", "uid-b", 3600.0);
    let s3 = save(&sub, &b, None).unwrap();
    assert_eq!(s3.path, sub.join("promterm-2.json"));
    assert!(
        s3.message.contains("promterm.json holds another dashboard"),
        "{}",
        s3.message
    );
    assert_eq!(super::load(&s1.path).unwrap().dashboard.uid, "uid-a");
    // An unreadable file of that name is not replaced either.
    std::fs::write(sub.join("other.json"), "{").unwrap();
    let c = new_dashboard("Other", "", 3600.0);
    let s4 = save(&sub, &c, None).unwrap();
    assert_eq!(s4.path, sub.join("other-2.json"));
    assert_eq!(
        std::fs::read_to_string(sub.join("other.json")).unwrap(),
        "{"
    );
}
