//! Label sets: sorted by name, cheap to clone (one `Arc`), hashed consistently whether the pairs
//! are owned or borrowed from a request being decoded.

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use super::sym::Sym;

/// The label holding the metric name.
pub const METRIC_NAME: &str = "__name__";

/// One name/value pair. The strings are shared ([`Sym`]) so a symbol table can intern them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Label {
    pub name: Sym,
    pub value: Sym,
}

/// A set of labels sorted by name, with unique names and no empty values.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Labels(Arc<[Label]>);

impl Labels {
    /// Builds a label set from pairs in any order. Empty values are dropped (an empty value
    /// means "no such label" in Prometheus); on duplicate names the last one wins.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut v: Vec<Label> = pairs
            .into_iter()
            .filter(|(_, val)| !val.as_ref().is_empty())
            .map(|(n, val)| Label {
                name: Sym::new(n.as_ref()),
                value: Sym::new(val.as_ref()),
            })
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.dedup_by(|later, earlier| {
            if later.name == earlier.name {
                std::mem::swap(later, earlier);
                true
            } else {
                false
            }
        });
        Labels(v.into())
    }

    /// Wraps labels that are already sorted by unique name with no empty values.
    pub fn from_sorted(labels: Vec<Label>) -> Self {
        debug_assert!(
            labels.windows(2).all(|w| w[0].name < w[1].name),
            "labels must be sorted and unique"
        );
        Labels(labels.into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The identity of this label set's shared storage: equal for clones, distinct for
    /// separately built sets while both are alive.
    pub fn id(&self) -> usize {
        std::sync::Arc::as_ptr(&self.0) as *const Label as usize
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Label> {
        self.0.iter()
    }

    /// The value of `name`, or `None`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .binary_search_by(|l| l.name.as_ref().cmp(name))
            .ok()
            .map(|i| self.0[i].value.as_ref())
    }

    /// The metric name, if any.
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME)
    }

    /// A hash of the pairs, equal to [`hash_pairs`] over the same pairs in the same order.
    pub fn stable_hash(&self) -> u64 {
        hash_pairs(self.0.iter().map(|l| (l.name.as_ref(), l.value.as_ref())))
    }

    /// Whether these labels are exactly the (sorted) `pairs`.
    pub fn eq_pairs<'a>(&self, pairs: impl ExactSizeIterator<Item = (&'a str, &'a str)>) -> bool {
        pairs.len() == self.0.len()
            && self
                .0
                .iter()
                .zip(pairs)
                .all(|(l, (n, v))| l.name.as_ref() == n && l.value.as_ref() == v)
    }

    /// A copy with `name` removed.
    pub fn without(&self, name: &str) -> Labels {
        Labels(
            self.0
                .iter()
                .filter(|l| l.name.as_ref() != name)
                .cloned()
                .collect(),
        )
    }
}

/// Hashes sorted label pairs: XXH64 over `name 0xff value 0xff` for each pair, gathered on
/// the stack (on the heap past 512 bytes). `0xff` separators cannot occur inside UTF-8 text,
/// so different splits of the same bytes hash differently (as in Prometheus's `Labels.Hash`).
pub fn hash_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut stack = [0u8; 512];
    let mut len = 0;
    let mut heap: Vec<u8> = Vec::new();
    for (n, v) in pairs {
        for part in [n.as_bytes(), &[0xff], v.as_bytes(), &[0xff]] {
            match stack.get_mut(len..len + part.len()) {
                Some(dst) if heap.is_empty() => {
                    dst.copy_from_slice(part);
                    len += part.len();
                }
                _ => {
                    if heap.is_empty() {
                        heap.extend_from_slice(&stack[..len]);
                    }
                    heap.extend_from_slice(part);
                }
            }
        }
    }
    let bytes = if heap.is_empty() {
        &stack[..len]
    } else {
        &heap[..]
    };
    xxhash_rust::xxh64::xxh64(bytes, 0)
}

impl PartialOrd for Labels {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Label sets order pair by pair (name, then value), then by length, as in Prometheus.
impl Ord for Labels {
    fn cmp(&self, other: &Self) -> Ordering {
        // Interned strings (the head's) are often the same allocation: `Sym`s compare equal
        // without a look then.
        for (a, b) in self.0.iter().zip(other.0.iter()) {
            let o = a.name.cmp(&b.name).then_with(|| a.value.cmp(&b.value));
            if o != Ordering::Equal {
                return o;
            }
        }
        self.0.len().cmp(&other.0.len())
    }
}

/// `{__name__="up", job="node"}` style, as Prometheus prints label sets.
impl fmt::Display for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}={:?}", l.name, l.value.as_ref())?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Prometheus's `labels.Labels.Hash()`: XXH64 over `name 0xff value 0xff` for each label
/// (the same as [`Labels::stable_hash`]).
pub fn labels_hash(l: &Labels) -> u64 {
    l.stable_hash()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_hash_is_prometheus_hash() {
        // XXH64 (seed 0) of `name 0xff value 0xff ...`, as Prometheus's `Labels.Hash()`; the
        // digest comes from the Python `xxhash` package over the same bytes.
        let l = Labels::from_pairs([("__name__", "http_requests"), ("instance", "0")]);
        assert_eq!(labels_hash(&l), 0xeecd_b40c_5c05_3a0d);
    }

    #[test]
    fn sorted_deduplicated_and_empty_values_dropped() {
        let l = Labels::from_pairs([("job", "a"), ("__name__", "up"), ("env", ""), ("job", "b")]);
        let names: Vec<&str> = l.iter().map(|l| l.name.as_ref()).collect();
        assert_eq!(names, ["__name__", "job"]);
        assert_eq!(l.get("job"), Some("b"));
        assert_eq!(l.get("env"), None);
        assert_eq!(l.metric_name(), Some("up"));
    }

    #[test]
    fn hash_matches_borrowed_pairs_and_separates_splits() {
        let l = Labels::from_pairs([("a", "bc"), ("d", "e")]);
        assert_eq!(
            l.stable_hash(),
            hash_pairs([("a", "bc"), ("d", "e")].into_iter())
        );
        assert_ne!(
            hash_pairs([("a", "bc")].into_iter()),
            hash_pairs([("ab", "c")].into_iter())
        );
        assert!(l.eq_pairs([("a", "bc"), ("d", "e")].into_iter()));
        assert!(!l.eq_pairs([("a", "bc")].into_iter()));
    }

    #[test]
    fn ordering_is_pairwise() {
        let a = Labels::from_pairs([("__name__", "a"), ("z", "1")]);
        let b = Labels::from_pairs([("__name__", "b")]);
        let a2 = Labels::from_pairs([("__name__", "a")]);
        assert!(a < b);
        assert!(a2 < a);
        assert_eq!(a.to_string(), "{__name__=\"a\", z=\"1\"}");
    }
}

/// Limits on one series' labels, applied to everything pushed in (remote write, OTLP, the
/// built-in Pushgateway); 0 means no limit. Scrapes have their own per-job limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelLimits {
    /// Most labels per series, `__name__` included.
    pub max_labels: usize,
    pub max_name_len: usize,
    pub max_value_len: usize,
}

impl Default for LabelLimits {
    fn default() -> Self {
        LabelLimits {
            max_labels: 64,
            max_name_len: 1024,
            max_value_len: 4096,
        }
    }
}

impl LabelLimits {
    /// No limits.
    pub const NONE: LabelLimits = LabelLimits {
        max_labels: 0,
        max_name_len: 0,
        max_value_len: 0,
    };

    /// Checks a series' label pairs; the error names the series, the label and the limit.
    pub fn check<N: AsRef<str>, V: AsRef<str>>(
        &self,
        pairs: &[(N, V)],
    ) -> Result<(), LabelLimitError> {
        let metric = pairs
            .iter()
            .find(|(n, _)| n.as_ref() == METRIC_NAME)
            .map_or("", |(_, v)| v.as_ref());
        if self.max_labels > 0 && pairs.len() > self.max_labels {
            return Err(LabelLimitError::TooManyLabels {
                series: shorten(metric),
                count: pairs.len(),
                limit: self.max_labels,
            });
        }
        for (n, v) in pairs {
            let (n, v) = (n.as_ref(), v.as_ref());
            if self.max_name_len > 0 && n.len() > self.max_name_len {
                return Err(LabelLimitError::NameTooLong {
                    series: shorten(metric),
                    label: shorten(n),
                    len: n.len(),
                    limit: self.max_name_len,
                });
            }
            if self.max_value_len > 0 && v.len() > self.max_value_len {
                return Err(LabelLimitError::ValueTooLong {
                    series: shorten(metric),
                    label: shorten(n),
                    len: v.len(),
                    limit: self.max_value_len,
                });
            }
        }
        Ok(())
    }
}

/// A series over one of the [`LabelLimits`]. `series` (the metric name) and `label` are cut to
/// 64 bytes with `...` appended, as the messages show them; `len` is the full length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelLimitError {
    #[error(
        "series {series} has {count} labels, more than the limit of {limit} (--storage.max-labels-per-series)"
    )]
    TooManyLabels {
        series: String,
        count: usize,
        limit: usize,
    },
    #[error(
        "series {series}: label name {label} is {len} bytes long, more than the limit of {limit} (--storage.max-label-name-length)"
    )]
    NameTooLong {
        series: String,
        label: String,
        len: usize,
        limit: usize,
    },
    #[error(
        "series {series}: the value of label {label} is {len} bytes long, more than the limit of {limit} (--storage.max-label-value-length)"
    )]
    ValueTooLong {
        series: String,
        label: String,
        len: usize,
        limit: usize,
    },
}

/// `s` cut to at most 64 bytes (on a character boundary) with `...` appended when cut.
fn shorten(s: &str) -> String {
    if s.len() > 64 {
        let mut end = 64;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;

    #[test]
    fn label_limits_name_the_series_label_and_limit() {
        let l = LabelLimits {
            max_labels: 3,
            max_name_len: 8,
            max_value_len: 10,
        };
        assert!(l.check(&[("__name__", "up"), ("job", "a")]).is_ok());
        let e = l
            .check(&[("__name__", "up"), ("a", "1"), ("b", "2"), ("c", "3")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("up has 4 labels") && e.contains("limit of 3"),
            "{e}"
        );
        let e = l
            .check(&[("__name__", "up"), ("verylongname", "x")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("label name verylongname is 12 bytes"), "{e}");
        let e = l
            .check(&[("__name__", "up"), ("job", "01234567890")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("value of label job is 11 bytes"), "{e}");
        assert!(LabelLimits::NONE
            .check(&[("__name__", "x".repeat(100_000).as_str())])
            .is_ok());
    }
}
