//! Tests of the head: series creation, the label index and postings, removal, the ranked sort.

use super::*;
use crate::model::MatchOp;

fn head_with(series: &[&[(&str, &str)]]) -> Head {
    let h = Head::new();
    for s in series {
        let mut p = s.to_vec();
        p.sort();
        h.get_or_create(&p);
    }
    h
}

fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
    Matcher::new(op, n, v).unwrap()
}

#[test]
fn get_or_create_is_idempotent() {
    let h = Head::new();
    let (a, new_a) = h.get_or_create(&[("__name__", "up"), ("job", "x")]);
    let (b, new_b) = h.get_or_create(&[("__name__", "up"), ("job", "x")]);
    assert!(new_a && !new_b);
    assert_eq!(a.id, b.id);
    assert_eq!(h.num_series(), 1);
}

#[test]
fn postings_follow_prometheus_semantics() {
    let h = head_with(&[
        &[("__name__", "up"), ("job", "api"), ("env", "prod")],
        &[("__name__", "up"), ("job", "node")],
        &[("__name__", "cpu"), ("job", "node"), ("env", "dev")],
    ]);
    let ids = |ms: &[Matcher]| h.postings(ms).len();
    assert_eq!(ids(&[m(MatchOp::Equal, "__name__", "up")]), 2);
    assert_eq!(
        ids(&[
            m(MatchOp::Equal, "__name__", "up"),
            m(MatchOp::Equal, "job", "node")
        ]),
        1
    );
    assert_eq!(ids(&[m(MatchOp::Regex, "job", "api|node")]), 3);
    assert_eq!(
        ids(&[m(MatchOp::Regex, "job", "no")]),
        0,
        "regex is anchored"
    );
    // != and !~ keep series without the label.
    assert_eq!(
        ids(&[
            m(MatchOp::Equal, "__name__", "up"),
            m(MatchOp::NotEqual, "env", "prod")
        ]),
        1
    );
    assert_eq!(ids(&[m(MatchOp::NotRegex, "env", "prod|dev")]), 1);
    // env="" selects series without env.
    assert_eq!(ids(&[m(MatchOp::Equal, "env", "")]), 1);
    assert_eq!(ids(&[m(MatchOp::Regex, "env", ".+")]), 2);
    assert_eq!(ids(&[m(MatchOp::Equal, "nope", "x")]), 0);
    assert_eq!(h.label_names(), ["__name__", "env", "job"]);
    assert_eq!(h.label_values("job"), ["api", "node"]);
}

#[test]
fn chunks_cut_at_120_samples_and_2h_boundaries() {
    let mut d = SeriesData::default();
    for i in 0..250 {
        d.append(i * 1000, i as f64);
    }
    assert_eq!(d.sealed.len(), 2);
    assert_eq!(d.open.as_ref().unwrap().num_samples(), 10);
    let mut d = SeriesData::default();
    d.append(CHUNK_RANGE_MS - 1000, 1.0);
    d.append(CHUNK_RANGE_MS, 2.0);
    assert_eq!(
        d.sealed.len(),
        1,
        "a sample at the boundary starts a new chunk"
    );
    assert_eq!(d.open_min_t, CHUNK_RANGE_MS);
    assert_eq!(range_end(-1), 0);
}

#[test]
fn insert_many_matches_one_by_one_inserts_and_skips_known_series() {
    let syms: Vec<Arc<str>> = ["__name__", "up", "job", "a", "b", "cpu"]
        .into_iter()
        .map(Arc::from)
        .collect();
    let h = Head::new();
    h.insert_with_id(9, Labels::from_pairs([("__name__", "cpu")]));
    let data = |t| SeriesData {
        last_t: t,
        ..SeriesData::default()
    };
    let mut series = SymbolSeries::default();
    series.push(3, [(0, 1), (2, 3)]);
    series.push(5, [(0, 1), (2, 4)]);
    // the labels of series 3, the id of series 9, a symbol out of range
    series.push(6, [(0, 1), (2, 3)]);
    series.push(9, [(0, 1)]);
    series.push(7, [(0, 1), (2, 40)]);
    // the labels series 9 has
    series.push(8, [(0, 5)]);
    // data out of order, and for an id with no series
    let times = [
        (8, 80),
        (3, 30),
        (5, 50),
        (6, 60),
        (9, 90),
        (7, 70),
        (11, 110),
    ];
    let ok = || Ok::<_, ()>(times.to_vec());
    let max_t = h.insert_many(&syms, series, ok, data, true).unwrap();
    assert_eq!(max_t, 50, "only added series count");
    assert_eq!(h.num_series(), 3);
    let ids = |ms: &[Matcher]| h.postings(ms);
    assert_eq!(ids(&[m(MatchOp::Equal, "__name__", "up")]), [3, 5]);
    assert_eq!(ids(&[m(MatchOp::Equal, "job", "b")]), [5]);
    assert_eq!(ids(&[m(MatchOp::Regex, "__name__", ".+")]), [3, 5, 9]);
    assert_eq!(h.label_values("__name__"), ["cpu", "up"]);
    let s = h.lookup(&[("__name__", "up"), ("job", "a")]).unwrap();
    assert_eq!((s.id, s.data.lock().last_t), (3, 30));
    assert!(s.persisted.load(Ordering::Relaxed) && s.logged.load(Ordering::Relaxed));
    // Shared strings: the head's symbol table holds the restored ones.
    let (n, _) = h.get_or_create(&[("__name__", "up"), ("job", "c")]);
    assert_eq!(n.id, 10);
    assert!(Sym::ptr_eq(
        &n.labels.iter().next().unwrap().value,
        &s.labels.iter().next().unwrap().value
    ));
}

/// Above the size where series are built on several threads, with repeated labels and ids
/// scattered through: the same head as inserting one by one.
#[test]
fn a_large_insert_many_matches_one_by_one_inserts() {
    let n = 20_000u64;
    let mut syms: Vec<Arc<str>> = vec![Arc::from("__name__"), Arc::from("id")];
    syms.extend((0..13).map(|i| Arc::from(format!("m{i}"))));
    syms.extend((0..n).map(|i| Arc::from(format!("{i}"))));
    let pairs = |i: u64| vec![(0, 2 + (i % 13) as u32), (1, 15 + i as u32)];
    // (id, label pairs, newest time)
    type Row = (u64, Vec<(u32, u32)>, i64);
    let mut series: Vec<Row> = (0..n).map(|i| (i + 1, pairs(i), i as i64)).collect();
    // Every 997th series repeats the labels of the one 500 before; every 1009th an id.
    for i in (600..n).step_by(997) {
        series[i as usize].1 = pairs(i - 500);
    }
    for i in (600..n).step_by(1009) {
        series[i as usize].0 = i - 300;
    }
    series.sort_by_key(|s| s.0);
    let many = Head::new();
    let mut many_series = SymbolSeries::default();
    let mut times = Vec::new();
    let mut seen = HashSet::new();
    for (id, p, t) in &series {
        many_series.push(*id, p.iter().copied());
        // Every third id has no data, the others data for their first series.
        if id % 3 != 0 && seen.insert(*id) {
            times.push((*id, *t));
        }
    }
    let last_t = |t| SeriesData {
        last_t: t,
        ..SeriesData::default()
    };
    let ok = || Ok::<_, ()>(times);
    let max_t = many
        .insert_many(&syms, many_series, ok, last_t, true)
        .unwrap();
    let one = Head::new();
    let mut want_t = i64::MIN;
    for (id, p, t) in &series {
        let labels = Labels::from_pairs(
            p.iter()
                .map(|&(a, b)| (&*syms[a as usize], &*syms[b as usize])),
        );
        let pairs: Vec<(&str, &str)> = labels.iter().map(|l| (&*l.name, &*l.value)).collect();
        if one.get(*id).is_some() || one.lookup(&pairs).is_some() {
            continue;
        }
        one.insert_with_id(*id, labels);
        let got = many.get(*id).map(|s| s.data.lock().last_t);
        if id % 3 != 0 {
            want_t = want_t.max(*t);
            assert_eq!(got, Some(*t), "series {id}");
        } else {
            assert_eq!(got, Some(i64::MIN), "series {id}");
        }
    }
    assert!(one.num_series() < n as usize - 30, "repeats were made");
    assert_eq!(many.num_series(), one.num_series());
    assert_eq!(max_t, want_t);
    for ms in [
        vec![m(MatchOp::Equal, "__name__", "m3")],
        vec![m(MatchOp::Regex, "__name__", ".+")],
        vec![
            m(MatchOp::Regex, "id", "1.*"),
            m(MatchOp::NotEqual, "__name__", "m0"),
        ],
    ] {
        let (a, b) = (many.postings(&ms), one.postings(&ms));
        let first_diff = a.iter().zip(&b).position(|(x, y)| x != y);
        assert!(
            a == b,
            "{ms:?}: {} vs {} ids, first difference at {first_diff:?}",
            a.len(),
            b.len()
        );
    }
    let mut a: Vec<(u64, String)> = many
        .all()
        .iter()
        .map(|s| (s.id, s.labels.to_string()))
        .collect();
    let mut b: Vec<(u64, String)> = one
        .all()
        .iter()
        .map(|s| (s.id, s.labels.to_string()))
        .collect();
    a.sort();
    b.sort();
    assert!(a == b, "series differ: {} vs {}", a.len(), b.len());
}

#[test]
fn remove_clears_indexes() {
    let h = head_with(&[&[("__name__", "a")], &[("__name__", "b")]]);
    let id = h.postings(&[m(MatchOp::Equal, "__name__", "a")])[0];
    h.remove(&HashSet::from([id]));
    assert_eq!(h.num_series(), 1);
    assert_eq!(h.label_values("__name__"), ["b"]);
    let (_, created) = h.get_or_create(&[("__name__", "a")]);
    assert!(created);
}

fn label_sorted(v: &[Arc<MemSeries>]) -> Vec<u64> {
    let mut w = v.to_vec();
    w.sort_by(|a, b| a.labels.cmp(&b.labels));
    w.iter().map(|s| s.id).collect()
}

/// The ranked sort answers as comparing labels does: first ranking, steady series,
/// series added after the ranking (stale ranks), removed series, a half selection.
#[test]
fn ranked_sort_agrees_with_comparing_labels() {
    let h = Head::new();
    let add = |i: u64| {
        let (name, id) = (
            format!("m{}", (i * 7919) % 13),
            format!("{}", (i * 104_729) % 100_003),
        );
        h.get_or_create(&[("__name__", name.as_str()), ("id", id.as_str())]);
    };
    (0..6000).for_each(add);
    for round in 0..4 {
        let mut all = h.all();
        let want = label_sorted(&all);
        h.sort_by_labels(&mut all);
        assert_eq!(
            all.iter().map(|s| s.id).collect::<Vec<_>>(),
            want,
            "round {round}"
        );
        match round {
            0 => {}
            1 => {
                // New series get no rank until the next sort: must still come out right.
                (6000..6100).for_each(add);
                h.ranked.lock().0 = h.generation.load(Ordering::Acquire);
            }
            _ => {
                let gone: HashSet<u64> = h.all().iter().take(50).map(|s| s.id).collect();
                h.remove(&gone);
            }
        }
    }
    let mut half: Vec<Arc<MemSeries>> = h.all().into_iter().step_by(2).collect();
    let want = label_sorted(&half);
    h.sort_by_labels(&mut half);
    assert_eq!(half.iter().map(|s| s.id).collect::<Vec<_>>(), want);
}
