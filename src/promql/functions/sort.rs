//! sort, sort_desc, sort_by_label and sort_by_label_desc over an instant vector; label values
//! compare in natural order (runs of digits as numbers).
//!
//! Uses `value` and `model`.

use std::cmp::Ordering;

use crate::promql::value::InstantSample;

/// Sorts by value, NaN last in both directions (Prometheus's sort and sort_desc).
pub fn by_value(v: &mut [InstantSample], desc: bool) {
    v.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if desc => b.v.partial_cmp(&a.v).unwrap_or(Ordering::Equal),
        _ => a.v.partial_cmp(&b.v).unwrap_or(Ordering::Equal),
    });
}

/// Sorts by the values of the labels `names` in natural order, then by the whole label set;
/// `desc` reverses the result.
pub fn by_labels(v: &mut [InstantSample], names: &[String], desc: bool) {
    v.sort_by(|a, b| {
        for n in names {
            let o = natural_cmp(a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
            if o != Ordering::Equal {
                return o;
            }
        }
        a.labels.cmp(&b.labels)
    });
    if desc {
        v.reverse();
    }
}

/// Natural order: runs of digits compare as numbers ("4m5" < "4m600", "1.2.3" < "1.11.3").
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < ab.len() && j < bb.len() {
        if ab[i].is_ascii_digit() && bb[j].is_ascii_digit() {
            let si = i;
            while i < ab.len() && ab[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < bb.len() && bb[j].is_ascii_digit() {
                j += 1;
            }
            let (na, nb) = (
                a[si..i].trim_start_matches('0'),
                b[sj..j].trim_start_matches('0'),
            );
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != Ordering::Equal {
                return o;
            }
        } else {
            let o = ab[i].cmp(&bb[j]);
            if o != Ordering::Equal {
                return o;
            }
            i += 1;
            j += 1;
        }
    }
    (ab.len() - i).cmp(&(bb.len() - j))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Labels;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("4m5", "4m600"), Ordering::Less);
        assert_eq!(natural_cmp("1.2.3", "1.11.3"), Ordering::Less);
        assert_eq!(natural_cmp("a007", "a7"), Ordering::Equal);
        assert_eq!(natural_cmp("b", "a10"), Ordering::Greater);
    }

    #[test]
    fn nan_sorts_last() {
        let s = |v: f64| InstantSample::new(Labels::default(), 0, v, false);
        let mut v = vec![s(f64::NAN), s(2.0), s(1.0)];
        by_value(&mut v, true);
        assert_eq!(v[0].v, 2.0);
        assert!(v[2].v.is_nan());
        by_value(&mut v, false);
        assert_eq!(v[0].v, 1.0);
        assert!(v[2].v.is_nan());
    }
}
