use super::*;
use crate::model::MatchOp;

fn ex(trace: &str, v: f64, t: i64) -> Exemplar {
    Exemplar {
        labels: Labels::from_pairs([("trace_id", trace)]),
        value: v,
        t,
    }
}

fn series(name: &str) -> Labels {
    Labels::from_pairs([("__name__", name)])
}

fn all_sets() -> Vec<Vec<Matcher>> {
    vec![vec![
        Matcher::new(MatchOp::Regex, "__name__", ".+").expect("valid regex")
    ]]
}

fn times(r: &ExemplarRing, name: &str) -> Vec<i64> {
    let set = vec![vec![Matcher::equal("__name__", name)]];
    r.select(&set, i64::MIN, i64::MAX)
        .into_iter()
        .flat_map(|s| s.exemplars.into_iter().map(|e| e.t))
        .collect()
}

#[test]
fn capacity_bounds_the_ring_and_keeps_the_newest() {
    let mut r = ExemplarRing::new(3);
    let a = series("a");
    for t in 1..=5 {
        assert_eq!(r.add(1, &a, ex("x", t as f64, t)), Added::Stored);
    }
    assert_eq!(r.len(), 3);
    assert_eq!(times(&r, "a"), vec![3, 4, 5]);
    assert_eq!(r.oldest_t(), Some(3));
    assert_eq!(r.appended, 5);
}

#[test]
fn eviction_spans_series() {
    let mut r = ExemplarRing::new(3);
    let (a, b) = (series("a"), series("b"));
    r.add(1, &a, ex("x", 1.0, 1));
    r.add(2, &b, ex("y", 1.0, 2));
    r.add(1, &a, ex("x", 1.0, 3));
    // Evicts a@1; then b@2 (b's only exemplar, so b leaves the index).
    r.add(1, &a, ex("x", 1.0, 4));
    assert_eq!(r.num_series(), 2);
    r.add(1, &a, ex("x", 1.0, 5));
    assert_eq!(r.num_series(), 1);
    assert_eq!(times(&r, "a"), vec![3, 4, 5]);
    assert!(times(&r, "b").is_empty());
}

#[test]
fn out_of_order_and_duplicates_are_refused() {
    let mut r = ExemplarRing::new(10);
    let a = series("a");
    assert_eq!(r.add(1, &a, ex("x", 1.0, 10)), Added::Stored);
    assert_eq!(r.add(1, &a, ex("x", 1.0, 10)), Added::Duplicate);
    assert_eq!(r.add(1, &a, ex("x", 2.0, 10)), Added::OutOfOrder);
    assert_eq!(r.add(1, &a, ex("y", 1.0, 10)), Added::OutOfOrder);
    assert_eq!(r.add(1, &a, ex("x", 1.0, 9)), Added::OutOfOrder);
    // Another series has its own order.
    assert_eq!(r.add(2, &series("b"), ex("x", 1.0, 5)), Added::Stored);
    assert_eq!(r.out_of_order, 3);
    assert_eq!(r.appended, 2);
    assert_eq!(r.len(), 2);
}

#[test]
fn label_length_limit_counts_characters_not_bytes() {
    let mut r = ExemplarRing::new(10);
    let a = series("a");
    // "trace_id" is 8 characters; 120 more make exactly 128.
    let fits = "é".repeat(120);
    assert_eq!(r.add(1, &a, ex(&fits, 1.0, 1)), Added::Stored);
    let over = "é".repeat(121);
    assert_eq!(r.add(1, &a, ex(&over, 1.0, 2)), Added::Invalid);
    assert_eq!(r.len(), 1);
}

#[test]
fn zero_capacity_disables() {
    let mut r = ExemplarRing::new(0);
    assert_eq!(r.add(1, &series("a"), ex("x", 1.0, 1)), Added::Disabled);
    assert!(r.is_empty());
    assert!(r.select(&all_sets(), i64::MIN, i64::MAX).is_empty());
}

#[test]
fn resize_keeps_the_newest() {
    let mut r = ExemplarRing::new(5);
    let (a, b) = (series("a"), series("b"));
    for t in 1..=4 {
        r.add(1, &a, ex("x", 1.0, t * 10));
        r.add(2, &b, ex("y", 1.0, t * 10 + 1));
    }
    // The ring of 5 holds the last five: b21 a30 b31 a40 b41.
    assert_eq!(times(&r, "a"), vec![30, 40]);
    assert_eq!(times(&r, "b"), vec![21, 31, 41]);
    assert_eq!(r.resize(3), 2);
    assert_eq!(r.capacity(), 3);
    assert_eq!(times(&r, "a"), vec![40]);
    assert_eq!(times(&r, "b"), vec![31, 41]);
    // Growing keeps everything and takes more.
    assert_eq!(r.resize(6), 0);
    r.add(1, &a, ex("x", 1.0, 50));
    r.add(1, &a, ex("x", 1.0, 60));
    r.add(1, &a, ex("x", 1.0, 70));
    assert_eq!(times(&r, "a"), vec![40, 50, 60, 70]);
    assert_eq!(times(&r, "b"), vec![31, 41]);
    // A new exemplar is still checked against the series' newest after a resize.
    assert_eq!(r.add(2, &b, ex("y", 1.0, 41)), Added::Duplicate);
    assert_eq!(r.resize(0), 6);
    assert!(r.is_empty());
    assert_eq!(r.num_series(), 0);
}

#[test]
fn select_filters_by_matchers_and_time_and_sorts_by_labels() {
    let mut r = ExemplarRing::new(100);
    let (a, b, c) = (series("zz"), series("aa"), series("mm"));
    for t in 1..=5 {
        r.add(1, &a, ex("x", 1.0, t));
        r.add(2, &b, ex("y", 2.0, t));
        r.add(3, &c, ex("z", 3.0, t));
    }
    let sets = vec![
        vec![Matcher::equal("__name__", "zz")],
        vec![Matcher::equal("__name__", "aa")],
    ];
    let got = r.select(&sets, 2, 4);
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].labels, b);
    assert_eq!(got[1].labels, a);
    let ts: Vec<i64> = got[0].exemplars.iter().map(|e| e.t).collect();
    assert_eq!(ts, vec![2, 3, 4]);
    assert_eq!(got[0].exemplars[0].value, 2.0);
    assert!(r.select(&sets, 6, 10).is_empty());
    assert_eq!(r.select(&all_sets(), i64::MIN, i64::MAX).len(), 3);
}

#[test]
fn all_lists_oldest_first_across_wraps() {
    let mut r = ExemplarRing::new(3);
    let a = series("a");
    for t in 1..=7 {
        r.add(1, &a, ex("x", 1.0, t));
    }
    let ts: Vec<i64> = r.all().into_iter().map(|(_, e)| e.t).collect();
    assert_eq!(ts, vec![5, 6, 7]);
    assert!(r.heap_bytes() > 0);
}

#[test]
fn one_answer_per_label_set_when_a_series_came_back_with_a_new_id() {
    let mut r = ExemplarRing::new(10);
    let a = series("a");
    r.add(1, &a, ex("x", 1.0, 1));
    r.add(7, &a, ex("y", 1.0, 3));
    r.add(1, &a, ex("x", 1.0, 2));
    let got = r.select(&all_sets(), i64::MIN, i64::MAX);
    assert_eq!(got.len(), 1);
    let ts: Vec<i64> = got[0].exemplars.iter().map(|e| e.t).collect();
    assert_eq!(ts, vec![1, 2, 3]);
}
