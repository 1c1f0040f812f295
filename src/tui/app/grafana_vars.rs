//! The dashboard's variable bar: which variables it shows (`hide` 0 with its label, 1 value
//! only, 2 and constants not at all), the picked one, its open option list and a textbox
//! being typed into, and the keys that change them. `v` focuses the bar; inside it ←→ /
//! Tab / Shift-Tab pick a variable, Enter or ↓ open its options (All first when offered),
//! ↑↓ move, Space toggles a value of a multi-value variable (picks one of another), `a`
//! picks All, Enter applies, Esc cancels (and leaves the bar); a textbox opens for typing.
//! Applying a new value returns the variable; the view (`app::grafana`) then re-lists the
//! query variables that depend on it (`dependents`, in order, through chains) and re-sends
//! the panels, as Grafana refreshes on a variable change; a range change re-lists those
//! whose `refresh` is 2 (`on_time_change`).
//! Uses `grafana::vars` (variables, options) and `grafana::interpolate` (to find references).

use crossterm::event::{KeyCode, KeyEvent};
use serde_json::Value;

use crate::tui::grafana::interpolate::{Context, Interpolator};
use crate::tui::grafana::vars::{VarKind, VarOption, Variable, ALL};

/// An open option list: the highlighted entry and the values picked so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OptionList {
    pub cursor: usize,
    pub picked: Vec<String>,
}

/// The bar's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VarBar {
    /// Keys go to the bar.
    pub focused: bool,
    /// The picked variable (its index among the dashboard's variables).
    pub sel: usize,
    /// The picked variable's open option list.
    pub list: Option<OptionList>,
    /// A textbox variable's text being typed.
    pub typing: Option<String>,
}

/// What a key did to the bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKey {
    /// Not the bar's: the dashboard's keys take it.
    NotMine,
    Handled,
    /// Variable `index` has a new value.
    Changed(usize),
}

/// The variables the bar shows, by index: all but `hide` 2, constants, and kinds whose
/// values are not used (ad hoc filters, unknown kinds).
pub fn shown(vars: &[Variable]) -> Vec<usize> {
    vars.iter()
        .enumerate()
        .filter(|(_, v)| {
            v.hide < 2
                && !matches!(
                    v.kind,
                    VarKind::Constant { .. } | VarKind::Adhoc | VarKind::Unknown { .. }
                )
        })
        .map(|(i, _)| i)
        .collect()
}

/// A variable's option list entries: All first when offered, then its options.
pub fn entries(v: &Variable) -> Vec<VarOption> {
    let all = v.include_all.then(|| VarOption::new("All", ALL));
    all.into_iter().chain(v.options.iter().cloned()).collect()
}

/// What the bar writes for a variable's value: `All`, the options' texts joined by ` + `, an
/// interval's `auto` with what it stands for over a range of `range_ms`.
pub fn value_text(vars: &[Variable], index: usize, range_ms: i64) -> String {
    let Some(v) = vars.get(index) else {
        return String::new();
    };
    if v.is_all() {
        return "All".into();
    }
    let text: Vec<&str> = v
        .current
        .iter()
        .map(|c| {
            v.options
                .iter()
                .find(|o| &o.value == c)
                .map_or(c.as_str(), |o| o.text.as_str())
        })
        .collect();
    let text = text.join(" + ");
    if matches!(v.kind, VarKind::Interval { .. }) && text == "auto" {
        let ctx = Context {
            range_ms,
            ..Context::default()
        };
        let i = Interpolator { vars, ctx: &ctx };
        return format!("auto ({})", i.text(&format!("${{{}}}", v.name)));
    }
    if text.is_empty() {
        "(none)".into()
    } else {
        text
    }
}

/// Whether `text` refers to the variable named `name` (`$name`, `${name…}`, `[[name]]`).
pub fn refers_to(text: &str, name: &str) -> bool {
    let mut probe = Variable::parse(&serde_json::json!({
        "name": name, "type": "custom", "query": "x",
    }));
    probe.select(&["x"]);
    let ctx = Context::default();
    let with = Interpolator {
        vars: std::slice::from_ref(&probe),
        ctx: &ctx,
    };
    let without = Interpolator {
        vars: &[],
        ctx: &ctx,
    };
    with.text(text) != without.text(text)
}

/// The query variables to list again, in order, when `changed` changed: those whose query
/// or regex refers to it or to one listed again before them (chained variables).
pub fn dependents(vars: &[Variable], changed: &[usize]) -> Vec<usize> {
    let mut names: Vec<&str> = changed
        .iter()
        .filter_map(|i| vars.get(*i).map(|v| v.name.as_str()))
        .collect();
    let mut out: Vec<usize> = Vec::new();
    // Until nothing new: a variable may use one defined after it.
    loop {
        let before = out.len();
        for (i, v) in vars.iter().enumerate() {
            let VarKind::Query { query } = &v.kind else {
                continue;
            };
            if out.contains(&i) || changed.contains(&i) {
                continue;
            }
            if names
                .iter()
                .any(|n| refers_to(query, n) || refers_to(&v.regex, n))
            {
                out.push(i);
                names.push(v.name.as_str());
            }
        }
        if out.len() == before {
            break;
        }
    }
    out.sort_unstable();
    out
}

/// The query variables to list again when the time range changes: those with `refresh` 2
/// ("on time range change") in `templating`, and those depending on them.
pub fn on_time_change(templating: &[Value], vars: &[Variable]) -> Vec<usize> {
    let timed: Vec<usize> = vars
        .iter()
        .enumerate()
        .filter(|(i, v)| {
            matches!(v.kind, VarKind::Query { .. })
                && templating
                    .get(*i)
                    .and_then(|t| t["refresh"].as_u64())
                    .is_some_and(|r| r == 2)
        })
        .map(|(i, _)| i)
        .collect();
    let mut all = timed.clone();
    all.extend(dependents(vars, &timed));
    all.sort_unstable();
    all.dedup();
    all
}

/// Sets `v` to `picked` (in the options' order); nothing picked: All when offered, else the
/// first option. Whether the value changed.
pub fn apply(v: &mut Variable, picked: &[String]) -> bool {
    let before = v.current.clone();
    if let VarKind::Textbox { .. } = v.kind {
        v.current = picked.iter().take(1).cloned().collect();
        return v.current != before;
    }
    if picked.iter().any(|p| p == ALL) && v.include_all {
        v.current = vec![ALL.to_string()];
    } else {
        v.current = v
            .options
            .iter()
            .filter(|o| picked.contains(&o.value))
            .map(|o| o.value.clone())
            .collect();
        if !v.multi {
            v.current.truncate(1);
        }
        v.validate();
    }
    v.current != before
}

impl VarBar {
    /// The bar's height on the screen: one line when it shows a variable.
    pub fn height(vars: &[Variable]) -> u16 {
        u16::from(!shown(vars).is_empty())
    }

    /// `v`: focus the bar on its first (or last picked) variable; false when it shows none.
    pub fn focus(&mut self, vars: &[Variable]) -> bool {
        let s = shown(vars);
        if s.is_empty() {
            return false;
        }
        if !s.contains(&self.sel) {
            self.sel = s[0];
        }
        self.focused = true;
        true
    }

    /// A key while the bar is focused.
    pub fn key(&mut self, k: KeyEvent, vars: &mut [Variable]) -> BarKey {
        if let Some(text) = self.typing.as_mut() {
            match k.code {
                KeyCode::Char(c) => text.push(c),
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Esc => self.typing = None,
                KeyCode::Enter => {
                    let text = self.typing.take().unwrap_or_default();
                    if let Some(v) = vars.get_mut(self.sel) {
                        if apply(v, &[text]) {
                            return BarKey::Changed(self.sel);
                        }
                    }
                }
                _ => {}
            }
            return BarKey::Handled;
        }
        let Some(v) = vars.get_mut(self.sel) else {
            self.focused = false;
            return BarKey::NotMine;
        };
        if let Some(list) = self.list.as_mut() {
            let n = entries(v).len();
            match k.code {
                KeyCode::Up | KeyCode::Char('k') => list.cursor = list.cursor.saturating_sub(1),
                KeyCode::Down | KeyCode::Char('j') => {
                    list.cursor = (list.cursor + 1).min(n.saturating_sub(1))
                }
                KeyCode::Home => list.cursor = 0,
                KeyCode::End => list.cursor = n.saturating_sub(1),
                KeyCode::Char(' ') => toggle(v, list),
                KeyCode::Char('a') if v.include_all => list.picked = vec![ALL.to_string()],
                KeyCode::Esc => self.list = None,
                KeyCode::Enter => {
                    if !v.multi {
                        toggle(v, list);
                    }
                    let picked = list.picked.clone();
                    self.list = None;
                    if apply(v, &picked) {
                        return BarKey::Changed(self.sel);
                    }
                }
                _ => {}
            }
            return BarKey::Handled;
        }
        let s = shown(vars);
        let at = s.iter().position(|i| *i == self.sel).unwrap_or(0);
        match k.code {
            KeyCode::Left | KeyCode::BackTab => self.sel = s[(at + s.len() - 1) % s.len()],
            KeyCode::Right | KeyCode::Tab => self.sel = s[(at + 1) % s.len()],
            KeyCode::Enter | KeyCode::Down => self.open(vars),
            KeyCode::Char('a') => {
                if let Some(v) = vars.get_mut(self.sel).filter(|v| v.include_all) {
                    if apply(v, &[ALL.to_string()]) {
                        return BarKey::Changed(self.sel);
                    }
                }
            }
            KeyCode::Esc | KeyCode::Char('v') => self.focused = false,
            _ => return BarKey::NotMine,
        }
        BarKey::Handled
    }

    /// Opens the picked variable's options (or its text for typing), on its current value.
    fn open(&mut self, vars: &[Variable]) {
        let Some(v) = vars.get(self.sel) else { return };
        if let VarKind::Textbox { .. } = v.kind {
            self.typing = Some(v.current.first().cloned().unwrap_or_default());
            return;
        }
        let e = entries(v);
        let cursor = e
            .iter()
            .position(|o| v.current.contains(&o.value))
            .unwrap_or(0);
        self.list = Some(OptionList {
            cursor,
            picked: v.current.clone(),
        });
    }
}

/// Space on the highlighted entry: All alone; a value added or removed (multi), or the
/// only one.
fn toggle(v: &Variable, list: &mut OptionList) {
    let Some(o) = entries(v).into_iter().nth(list.cursor) else {
        return;
    };
    if o.value == ALL || !v.multi {
        list.picked = vec![o.value];
        return;
    }
    list.picked.retain(|p| p != ALL);
    if let Some(at) = list.picked.iter().position(|p| *p == o.value) {
        list.picked.remove(at);
    } else {
        list.picked.push(o.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;
    use serde_json::json;

    fn var(v: Value) -> Variable {
        Variable::parse(&v)
    }

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    /// region → cluster (uses $region) → node (uses $cluster), with `unrelated` between and
    /// `late` defined before what it uses.
    fn chain() -> Vec<Variable> {
        vec![
            var(
                json!({"name": "late", "type": "query", "query": "label_values(up{n=\"${node}\"}, x)"}),
            ),
            var(json!({"name": "region", "type": "query", "query": "label_values(region)"})),
            var(json!({"name": "cluster", "type": "query",
                "query": "label_values(up{region=~\"$region\"}, cluster)"})),
            var(json!({"name": "unrelated", "type": "query", "query": "label_values(job)"})),
            var(json!({"name": "node", "type": "query",
                "query": "label_values(up{cluster=\"[[cluster]]\"}, node)"})),
            var(
                json!({"name": "regexed", "type": "query", "query": "label_values(pod)",
                "regex": "/$region-(.*)/"}),
            ),
            var(json!({"name": "regionx", "type": "custom", "query": "$region"})),
        ]
    }

    #[test]
    fn dependents_follow_chains_in_order() {
        let v = chain();
        // cluster uses region; node uses cluster; late uses node; regexed's regex uses
        // region; a custom variable is not listed; $regionx is another name.
        assert_eq!(dependents(&v, &[1]), vec![0, 2, 4, 5]);
        assert_eq!(dependents(&v, &[4]), vec![0]);
        assert!(dependents(&v, &[3]).is_empty());
        assert!(refers_to("x{a=\"${region:regex}\"}", "region"));
        assert!(!refers_to("x{a=\"$regionx\"}", "region"));
    }

    #[test]
    fn refresh_on_time_change_brings_its_dependents() {
        let v = chain();
        let templating = vec![
            json!({}),
            json!({}),
            json!({"refresh": 2}),
            json!({"refresh": 1}),
            json!({}),
            json!({}),
            json!({}),
        ];
        assert_eq!(on_time_change(&templating, &v), vec![0, 2, 4]);
    }

    fn multi() -> Vec<Variable> {
        let mut m = var(json!({"name": "m", "type": "custom", "multi": true,
            "includeAll": true, "query": "a,b,c", "current": {"value": ["b"]}}));
        m.validate();
        let one = var(json!({"name": "one", "type": "custom", "query": "x,y",
            "current": {"value": "x"}}));
        let hidden = var(json!({"name": "h", "type": "custom", "query": "p", "hide": 2}));
        vec![m, hidden, one]
    }

    #[test]
    fn keys_pick_toggle_and_apply() {
        let mut v = multi();
        let mut bar = VarBar::default();
        assert!(bar.focus(&v));
        assert_eq!(bar.sel, 0);
        // → skips the hidden variable; ← back; Tab wraps.
        assert_eq!(bar.key(k(KeyCode::Right), &mut v), BarKey::Handled);
        assert_eq!(bar.sel, 2);
        bar.key(k(KeyCode::Tab), &mut v);
        assert_eq!(bar.sel, 0);
        // Enter opens on the current value (b: entry 2 after All and a).
        bar.key(k(KeyCode::Enter), &mut v);
        assert_eq!(bar.list.as_ref().map(|l| l.cursor), Some(2));
        // ↓ Space adds c; ↑↑ Space adds a; Space again removes it.
        for c in [KeyCode::Down, KeyCode::Char(' '), KeyCode::Up, KeyCode::Up] {
            assert_eq!(bar.key(k(c), &mut v), BarKey::Handled);
        }
        bar.key(k(KeyCode::Char(' ')), &mut v);
        assert_eq!(bar.list.as_ref().unwrap().picked, ["b", "c", "a"]);
        bar.key(k(KeyCode::Char(' ')), &mut v);
        // Nothing applied yet.
        assert_eq!(v[0].current, ["b"]);
        assert_eq!(bar.key(k(KeyCode::Enter), &mut v), BarKey::Changed(0));
        // In the options' order.
        assert_eq!(v[0].current, ["b", "c"]);
        // Esc cancels a list; the value stays.
        bar.key(k(KeyCode::Enter), &mut v);
        bar.key(k(KeyCode::Char('a')), &mut v);
        assert_eq!(bar.list.as_ref().unwrap().picked, [ALL]);
        assert_eq!(bar.key(k(KeyCode::Esc), &mut v), BarKey::Handled);
        assert!(bar.list.is_none());
        assert_eq!(v[0].current, ["b", "c"]);
        // A single-value variable: Enter picks the highlighted one.
        bar.key(k(KeyCode::Left), &mut v);
        bar.key(k(KeyCode::Down), &mut v);
        bar.key(k(KeyCode::Down), &mut v);
        assert_eq!(bar.key(k(KeyCode::Enter), &mut v), BarKey::Changed(2));
        assert_eq!(v[2].current, ["y"]);
        // The same value again is no change.
        bar.key(k(KeyCode::Enter), &mut v);
        assert_eq!(bar.key(k(KeyCode::Enter), &mut v), BarKey::Handled);
        // Keys the bar does not use fall through; Esc leaves.
        assert_eq!(bar.key(k(KeyCode::PageDown), &mut v), BarKey::NotMine);
        bar.key(k(KeyCode::Esc), &mut v);
        assert!(!bar.focused);
    }

    #[test]
    fn nothing_picked_is_all_when_offered_else_the_first_option() {
        let mut v = multi();
        assert!(apply(&mut v[0], &[]));
        assert!(v[0].is_all());
        v[2].select(&["y"]);
        assert!(apply(&mut v[2], &[]));
        assert_eq!(v[2].current, ["x"]);
        // A value that is not an option is not taken.
        assert!(!apply(&mut v[2], &["zz".to_string()]));
        assert_eq!(v[2].current, ["x"]);
    }

    #[test]
    fn the_bar_writes_all_texts_and_auto() {
        let mut v = multi();
        v[0].select(&["a", "c"]);
        assert_eq!(value_text(&v, 0, 3_600_000), "a + c");
        v[0].select(&[ALL]);
        assert_eq!(value_text(&v, 0, 3_600_000), "All");
        let i = vec![var(
            json!({"name": "i", "type": "interval", "query": "1m,10m",
            "auto": true, "auto_count": 10, "auto_min": "1m",
            "current": {"value": "$__auto_interval_i"}}),
        )];
        // 6h / 10 = 36m → 30m (Grafana's rounding); 1h / 10 → 5m; 5m / 10 → the 1m floor.
        assert_eq!(value_text(&i, 0, 21_600_000), "auto (30m)");
        assert_eq!(value_text(&i, 0, 3_600_000), "auto (5m)");
        assert_eq!(value_text(&i, 0, 300_000), "auto (1m)");
        assert_eq!(shown(&v), vec![0, 2]);
    }
}
