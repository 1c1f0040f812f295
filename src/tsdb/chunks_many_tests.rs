//! Tests of `Persist::chunks_many`: for any set of series ids it answers exactly the rows
//! `Persist::chunks` answers for each id (sealed and open), across statement batches, for
//! unknown ids, repeated ids and ranges at and past the chunks' edges.
//!
//! Uses `persist` and `model`.

use super::persist::{ChunkRow, FlushBatch, Persist};
use crate::model::Labels;

/// Rows as comparable tuples, sorted.
fn key(rows: Vec<ChunkRow>) -> Vec<(u64, i64, i64, Vec<u8>)> {
    let mut v: Vec<_> = rows
        .into_iter()
        .map(|r| (r.series_id, r.min_t, r.max_t, r.data))
        .collect();
    v.sort();
    v
}

#[test]
fn chunks_many_answers_what_chunks_answers_per_series() {
    let dir = tempfile::tempdir().unwrap();
    let p = Persist::open(&dir.path().join("db")).unwrap();
    let labels: Vec<Labels> = (0..300u64)
        .map(|i| Labels::from_pairs([("__name__", "x".to_string()), ("i", i.to_string())]))
        .collect();
    // Series i has (i % 7) sealed chunks of 10 ms each, 5 ms apart, starting at i, and an
    // open chunk after them when i is even.
    let mut sealed = Vec::new();
    let mut open = Vec::new();
    for i in 0..300u64 {
        let base = i as i64;
        let n = (i % 7) as i64;
        for k in 0..n {
            let min_t = base + k * 15;
            sealed.push(ChunkRow {
                series_id: i,
                min_t,
                max_t: min_t + 9,
                data: vec![i as u8, k as u8],
            });
        }
        if i % 2 == 0 {
            let min_t = base + n * 15;
            open.push(ChunkRow {
                series_id: i,
                min_t,
                max_t: min_t + 4,
                data: vec![i as u8, 255],
            });
        }
    }
    p.write(&FlushBatch {
        series: (0..300u64).map(|i| (i, &labels[i as usize])).collect(),
        sealed,
        open,
        ..Default::default()
    })
    .unwrap();
    let all: Vec<u64> = (0..300).collect();
    let id_sets: Vec<Vec<u64>> = vec![
        all.clone(),
        vec![],
        vec![3],
        vec![5, 1_000_000, 5, 7],
        all.iter().rev().copied().chain([9_999]).collect(),
    ];
    let ranges = [
        (i64::MIN, i64::MAX),
        (0, 0),
        (50, 60),
        (100, 100),
        (9, 9),
        (10, 14),
        (-5, -1),
        (400, 500),
    ];
    for ids in &id_sets {
        for &(mint, maxt) in &ranges {
            let mut want = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for &id in ids {
                // A repeated id is answered once.
                if seen.insert(id) {
                    want.extend(p.chunks(id, mint, maxt).unwrap());
                }
            }
            let mut unique: Vec<u64> = ids.clone();
            unique.sort();
            unique.dedup();
            let got = p.chunks_many(&unique, mint, maxt).unwrap();
            assert_eq!(
                key(got),
                key(want),
                "ids {} .. range [{mint}, {maxt}]",
                ids.len()
            );
        }
    }
    // Everything, over all time: every row of every series.
    let got = p.chunks_many(&all, i64::MIN, i64::MAX).unwrap();
    let sealed_rows: u64 = (0..300u64).map(|i| i % 7).sum();
    assert_eq!(got.len() as u64, sealed_rows + 150);
}
