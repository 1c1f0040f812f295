//! Applying relabel configs to a label set: every action with Prometheus's semantics (its
//! model/relabel `relabel` function, in our own words). Label sets are plain name → value maps
//! here; an empty value means the label is absent.
//!
//! `process` is the path every target and sample takes; `process_until_drop` costs the same
//! and also tells which rule dropped the set. `process_traced` applies the same steps one by
//! one and records the labels after each (for `promterm check service-discovery`,
//! `/api/v1/targets/relabel_steps` and the TUI's relabeling view).

use std::collections::BTreeMap;

use md5::{Digest, Md5};

use crate::config::{Action, RelabelConfig};
use crate::model::{is_valid_label_name, NameValidation};

/// A mutable label set (sorted by name).
pub type LabelMap = BTreeMap<String, String>;

/// Applies `cfgs` in order; `false` if a step drops the set.
pub fn process(cfgs: &[RelabelConfig], l: &mut LabelMap) -> bool {
    cfgs.iter().all(|c| apply(c, l))
}

/// Applies `cfgs` in order; the index of the rule that dropped the set, if one did.
pub fn process_until_drop(cfgs: &[RelabelConfig], l: &mut LabelMap) -> Option<usize> {
    cfgs.iter().position(|c| !apply(c, l))
}

/// The result of one rule in a traced relabeling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Whether the set is still kept after this rule.
    pub keep: bool,
    /// The labels after this rule (empty once the set is dropped, as Prometheus shows them).
    pub output: LabelMap,
}

/// Applies `cfgs` in order like [`process`], recording one [`Step`] per rule: every rule gets
/// a step, those after a drop an empty, dropped one (Prometheus's relabel_steps). `l` ends as
/// `process` leaves it.
pub fn process_traced(cfgs: &[RelabelConfig], l: &mut LabelMap) -> Vec<Step> {
    let mut steps = Vec::with_capacity(cfgs.len());
    let mut kept = true;
    for c in cfgs {
        kept = kept && apply(c, l);
        steps.push(Step {
            keep: kept,
            output: if kept { l.clone() } else { LabelMap::new() },
        });
    }
    steps
}

/// The index of the first dropped step, if any.
pub fn dropped_at(steps: &[Step]) -> Option<usize> {
    steps.iter().position(|s| !s.keep)
}

fn get<'a>(l: &'a LabelMap, name: &str) -> &'a str {
    l.get(name).map_or("", String::as_str)
}

fn set(l: &mut LabelMap, name: String, value: String) {
    if value.is_empty() {
        l.remove(&name);
    } else {
        l.insert(name, value);
    }
}

/// The hashmod value: the last 8 bytes of the MD5 of `s`, big-endian, modulo `m`.
pub fn hashmod(s: &str, m: u64) -> u64 {
    let d = Md5::digest(s.as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[8..16]);
    u64::from_be_bytes(b) % m
}

fn apply(c: &RelabelConfig, l: &mut LabelMap) -> bool {
    let val = c
        .source_labels
        .iter()
        .map(|n| get(l, n))
        .collect::<Vec<_>>()
        .join(&c.separator);
    let re = c.regex.compiled();
    match c.action {
        Action::Drop => !re.is_match(&val),
        Action::Keep => re.is_match(&val),
        Action::DropEqual => get(l, &c.target_label) != val,
        Action::KeepEqual => get(l, &c.target_label) == val,
        Action::Replace => {
            let Some(caps) = re.captures(&val) else {
                return true;
            };
            let mut target = String::new();
            caps.expand(&c.target_label, &mut target);
            if !is_valid_label_name(&target, NameValidation::Legacy) {
                return true;
            }
            let mut res = String::new();
            caps.expand(&c.replacement, &mut res);
            set(l, target, res);
            true
        }
        Action::Lowercase => {
            set(l, c.target_label.clone(), val.to_lowercase());
            true
        }
        Action::Uppercase => {
            set(l, c.target_label.clone(), val.to_uppercase());
            true
        }
        Action::HashMod => {
            set(
                l,
                c.target_label.clone(),
                hashmod(&val, c.modulus).to_string(),
            );
            true
        }
        Action::LabelMap => {
            let mut add = Vec::new();
            for (name, value) in l.iter() {
                if let Some(caps) = re.captures(name) {
                    let mut n = String::new();
                    caps.expand(&c.replacement, &mut n);
                    add.push((n, value.clone()));
                }
            }
            for (n, v) in add {
                set(l, n, v);
            }
            true
        }
        Action::LabelDrop => {
            l.retain(|n, _| !re.is_match(n));
            true
        }
        Action::LabelKeep => {
            l.retain(|n, _| re.is_match(n));
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfgs(yaml: &str) -> Vec<RelabelConfig> {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn map(pairs: &[(&str, &str)]) -> LabelMap {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn replace_with_captures_and_defaults() {
        let c = cfgs(
            r#"
- source_labels: [__address__]
  regex: '([^:]+):(\d+)'
  target_label: host
  replacement: '${1}'
- source_labels: [__address__]
  regex: '([^:]+):(\d+)'
  target_label: port_$2
  replacement: 'p$2'
- source_labels: [job, missing]
  target_label: joined
- source_labels: [nomatch]
  regex: 'x+'
  target_label: never
- source_labels: [missing]
  target_label: job
"#,
        );
        let mut l = map(&[("__address__", "db1:9100"), ("job", "node")]);
        assert!(process(&c, &mut l));
        assert_eq!(get(&l, "host"), "db1");
        assert_eq!(get(&l, "port_9100"), "p9100");
        // Missing source labels join as empty strings, with the default ';' separator.
        assert_eq!(get(&l, "joined"), "node;");
        assert!(!l.contains_key("never"));
        // An empty replacement result deletes the target.
        assert!(!l.contains_key("job"));
    }

    #[test]
    fn keep_drop_and_equal() {
        let keep = cfgs("[{source_labels: [job], regex: 'node|api', action: keep}]");
        assert!(process(&keep, &mut map(&[("job", "api")])));
        assert!(!process(&keep, &mut map(&[("job", "apis")])));
        assert!(!process(&keep, &mut map(&[])));
        let drop = cfgs("[{source_labels: [__name__], regex: 'go_.*', action: drop}]");
        assert!(!process(&drop, &mut map(&[("__name__", "go_goroutines")])));
        assert!(process(&drop, &mut map(&[("__name__", "up")])));
        let ke = cfgs("[{source_labels: [a], target_label: b, action: keepequal}]");
        assert!(process(&ke, &mut map(&[("a", "1"), ("b", "1")])));
        assert!(!process(&ke, &mut map(&[("a", "1"), ("b", "2")])));
        let de = cfgs("[{source_labels: [a], target_label: b, action: dropequal}]");
        assert!(!process(&de, &mut map(&[("a", "1"), ("b", "1")])));
    }

    #[test]
    fn label_actions_and_case() {
        let c = cfgs(
            r#"
- action: labelmap
  regex: '__meta_kv_(.+)'
  replacement: 'kv_$1'
- action: labeldrop
  regex: '__meta_.*'
- source_labels: [Mode]
  target_label: mode
  action: lowercase
- source_labels: [mode]
  target_label: MODE
  action: uppercase
- action: labelkeep
  regex: 'kv_.*|mode|MODE'
"#,
        );
        let mut l = map(&[
            ("__meta_kv_zone", "eu"),
            ("__meta_other", "x"),
            ("Mode", "IdLe"),
            ("extra", "1"),
        ]);
        assert!(process(&c, &mut l));
        assert_eq!(
            l,
            map(&[("kv_zone", "eu"), ("mode", "idle"), ("MODE", "IDLE")])
        );
    }

    #[test]
    fn traced_steps_follow_process_and_name_the_dropping_rule() {
        let c = cfgs(
            r#"
- {source_labels: [a], target_label: b}
- {source_labels: [b], regex: 'x', action: drop}
- {target_label: c, replacement: never}
"#,
        );
        let mut l = map(&[("a", "1")]);
        let steps = process_traced(&c, &mut l);
        assert_eq!(steps.len(), 3);
        assert_eq!(steps[0].output, map(&[("a", "1"), ("b", "1")]));
        assert!(steps.iter().all(|s| s.keep));
        assert_eq!(
            steps[2].output,
            map(&[("a", "1"), ("b", "1"), ("c", "never")])
        );
        assert_eq!(dropped_at(&steps), None);
        let mut plain = map(&[("a", "1")]);
        assert_eq!(process_until_drop(&c, &mut plain), None);
        assert_eq!(plain, l, "traced and plain runs agree");

        let mut l = map(&[("a", "x")]);
        let steps = process_traced(&c, &mut l);
        assert_eq!(dropped_at(&steps), Some(1));
        assert!(steps[0].keep && !steps[1].keep && !steps[2].keep);
        assert!(steps[1].output.is_empty() && steps[2].output.is_empty());
        assert_eq!(process_until_drop(&c, &mut map(&[("a", "x")])), Some(1));
        assert!(!process(&c, &mut map(&[("a", "x")])));
    }

    #[test]
    fn hashmod_matches_prometheus() {
        // Prometheus's relabel tests: the value "baz" with modulus 1000 gives 976.
        let c = cfgs("[{source_labels: [c], target_label: d, modulus: 1000, action: hashmod}]");
        let mut l = map(&[("c", "baz")]);
        assert!(process(&c, &mut l));
        assert_eq!(get(&l, "d"), "976");
        assert_ne!(hashmod("foo", 1000), hashmod("baz", 1000));
    }
}

/// Property tests: relabeling agrees with a plain reading of each action on arbitrary labels.
#[cfg(test)]
mod prop_tests {
    use super::*;
    use proptest::prelude::*;

    fn labels() -> impl Strategy<Value = LabelMap> {
        proptest::collection::btree_map("[a-c][a-z_]{0,3}", "[a-z0-9:]{0,6}", 0..6)
    }

    fn cfg(yaml: &str) -> Vec<RelabelConfig> {
        serde_yaml::from_str(yaml).unwrap()
    }

    proptest! {
        /// keep keeps exactly the label sets whose joined source values match the anchored
        /// regex; drop is its complement; neither changes the labels.
        #[test]
        fn keep_and_drop_follow_the_anchored_regex(l in labels(), re in "[a-z0-9]{0,2}(\\.\\*)?") {
            let joined = format!("{};{}", l.get("a").map_or("", String::as_str), l.get("b").map_or("", String::as_str));
            let want = regex::Regex::new(&format!("^(?:{re})$")).unwrap().is_match(&joined);
            let mut k = l.clone();
            let kept = process(&cfg(&format!("- {{action: keep, source_labels: [a, b], regex: '{re}'}}")), &mut k);
            prop_assert_eq!(kept, want);
            prop_assert_eq!(&k, &l);
            let mut d = l.clone();
            let dropped = !process(&cfg(&format!("- {{action: drop, source_labels: [a, b], regex: '{re}'}}")), &mut d);
            prop_assert_eq!(dropped, want);
        }

        /// labeldrop removes exactly the names the regex matches; labelkeep keeps exactly them.
        #[test]
        fn labeldrop_and_labelkeep_partition_the_names(l in labels(), re in "[a-c][a-z_]?\\.\\*|[a-c]") {
            let r = regex::Regex::new(&format!("^(?:{re})$")).unwrap();
            let mut dropped = l.clone();
            let c = cfg(&format!("- {{action: labeldrop, regex: '{re}'}}"));
            prop_assert!(process(&c, &mut dropped));
            let mut kept = l.clone();
            let c = cfg(&format!("- {{action: labelkeep, regex: '{re}'}}"));
            prop_assert!(process(&c, &mut kept));
            for (n, v) in &l {
                prop_assert_eq!(dropped.contains_key(n), !r.is_match(n));
                prop_assert_eq!(kept.contains_key(n), r.is_match(n));
                if let Some(x) = dropped.get(n).or(kept.get(n)) {
                    prop_assert_eq!(x, v);
                }
            }
            prop_assert_eq!(dropped.len() + kept.len(), l.len());
        }

        /// hashmod writes a number below the modulus, the same for the same input.
        #[test]
        fn hashmod_is_below_the_modulus_and_stable(l in labels(), m in 1u64..1000) {
            let c = cfg(&format!("- {{action: hashmod, source_labels: [a], target_label: shard, modulus: {m}}}"));
            let (mut x, mut y) = (l.clone(), l.clone());
            prop_assert!(process(&c, &mut x));
            prop_assert!(process(&c, &mut y));
            let shard: u64 = x["shard"].parse().unwrap();
            prop_assert!(shard < m);
            prop_assert_eq!(&x["shard"], &y["shard"]);
        }

        /// A traced run keeps exactly when the plain one keeps, ends with the same labels, and
        /// its first dropped step is the rule `process_until_drop` names.
        #[test]
        fn traced_agrees_with_plain(l in labels(), re in "[a-z0-9]{0,2}(\\.\\*)?") {
            let c = cfg(&format!("- {{source_labels: [a], target_label: copy}}\n- {{action: drop, source_labels: [b], regex: '{re}'}}\n- {{action: labeldrop, regex: 'c.*'}}"));
            let (mut x, mut y) = (l.clone(), l.clone());
            let steps = process_traced(&c, &mut x);
            let at = process_until_drop(&c, &mut y);
            prop_assert_eq!(dropped_at(&steps), at);
            prop_assert_eq!(steps.len(), c.len());
            if at.is_none() {
                prop_assert_eq!(&x, &y);
                prop_assert_eq!(&steps[c.len() - 1].output, &y);
            }
        }

        /// replace with the default regex copies the source value to the target (an empty
        /// value removes the target).
        #[test]
        fn replace_copies_the_source(l in labels()) {
            let mut x = l.clone();
            let c = cfg("- {source_labels: [a], target_label: copy}");
            let ok = process(&c, &mut x);
            prop_assert!(ok);
            match l.get("a").filter(|v| !v.is_empty()) {
                Some(v) => prop_assert_eq!(x.get("copy"), Some(v)),
                None => prop_assert_eq!(x.get("copy"), None),
            }
        }
    }
}
