//! Tests of `persist` (a child module of it, declared under `#[cfg(test)]` in persist.rs, so
//! they reach its private items).

use super::*;

#[test]
fn labels_roundtrip_and_reject_garbage() {
    let none = crate::model::FxMap::default();
    let l = Labels::from_pairs([("__name__", "up"), ("job", "a\u{e9}b")]);
    let spelled = series_labels::encode_spelled(&l);
    assert_eq!(series_labels::decode(&spelled, &none), Some(l));
    assert_eq!(series_labels::decode(&[0x05, b'a'], &none), None);
    assert_eq!(series_labels::decode(&[0x01, 0xff], &none), None);
    assert_eq!(series_labels::decode(&[0x00, 0x01], &none), None);
}

/// Series labels are stored as pair ids, shared pairs once; rows written spelled out (by
/// earlier versions) load alongside, and ids survive a reopen.
#[test]
fn labels_are_stored_as_shared_pairs_and_old_rows_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let a = Labels::from_pairs([
        ("__name__", "up"),
        ("instance", "host-1:9100"),
        ("job", "node"),
    ]);
    let b = Labels::from_pairs([
        ("__name__", "up"),
        ("instance", "host-2:9100"),
        ("job", "node"),
    ]);
    let old = Labels::from_pairs([("__name__", "old"), ("job", "node")]);
    {
        let p = Persist::open(&path).unwrap();
        p.write(&FlushBatch {
            series: vec![(1, &a), (2, &b)],
            ..Default::default()
        })
        .unwrap();
        p.writer
            .lock()
            .execute(
                "INSERT INTO series (id, labels) VALUES (3, ?1)",
                [series_labels::encode_spelled(&old)],
            )
            .unwrap();
    }
    let p = Persist::open(&path).unwrap();
    let c = Labels::from_pairs([
        ("__name__", "up"),
        ("instance", "host-3:9100"),
        ("job", "node"),
    ]);
    p.write(&FlushBatch {
        series: vec![(4, &c)],
        ..Default::default()
    })
    .unwrap();
    let (loaded, bad) = p.load_series().unwrap();
    assert_eq!(bad, 0);
    assert_eq!(loaded, vec![(1, a), (2, b), (3, old), (4, c.clone())]);
    let pairs: i64 = p
        .reader
        .lock()
        .query_row("SELECT COUNT(*) FROM label_pairs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(pairs, 5, "up, node, three instances");
    let blob: Vec<u8> = p
        .reader
        .lock()
        .query_row("SELECT labels FROM series WHERE id = 4", [], |r| r.get(0))
        .unwrap();
    assert!(blob.len() <= 4, "{blob:?}");
    // Loaded series share their pair strings.
    let (again, _) = p.load_series().unwrap();
    let job = |i: usize| {
        again[i]
            .1
            .iter()
            .find(|l| &*l.name == "job")
            .unwrap()
            .value
            .clone()
    };
    assert!(crate::model::Sym::ptr_eq(&job(0), &job(3)));
}

#[test]
fn chunk_lookup_seeks_to_the_range_and_misses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = Persist::open(&dir.path().join("db")).unwrap();
    let l = Labels::from_pairs([("__name__", "x")]);
    // 1000 chunks of 10 ms each, 5 ms apart: [0,9], [15,24], ...
    let sealed: Vec<ChunkRow> = (0..1000)
        .map(|i| ChunkRow {
            series_id: 1,
            min_t: i * 15,
            max_t: i * 15 + 9,
            data: vec![i as u8],
        })
        .collect();
    p.write(&FlushBatch {
        series: vec![(1, &l)],
        sealed,
        ..Default::default()
    })
    .unwrap();
    let starts = |mint, maxt| {
        let mut v: Vec<i64> = p
            .chunks(1, mint, maxt)
            .unwrap()
            .iter()
            .map(|r| r.min_t)
            .collect();
        v.sort();
        v
    };
    // mint inside a chunk, on its first and last sample, in a gap; ranges past both ends.
    assert_eq!(starts(5, 20), vec![0, 15]);
    assert_eq!(starts(9, 9), vec![0]);
    assert_eq!(starts(15, 15), vec![15]);
    assert_eq!(starts(10, 14), Vec::<i64>::new());
    assert_eq!(starts(14_990, 20_000), vec![14_985]);
    assert_eq!(starts(-100, 0), vec![0]);
    assert_eq!(starts(-100, -1), Vec::<i64>::new());
    assert_eq!(starts(i64::MIN, i64::MAX).len(), 1000);
}

#[test]
fn open_chunks_are_replaced_sealed_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    let p = Persist::open(&dir.path().join("db")).unwrap();
    let l = Labels::from_pairs([("__name__", "x")]);
    let row = |min_t, max_t, data: &[u8]| ChunkRow {
        series_id: 1,
        min_t,
        max_t,
        data: data.to_vec(),
    };
    p.write(&FlushBatch {
        series: vec![(1, &l)],
        open: vec![row(0, 10, b"ab")],
        ..Default::default()
    })
    .unwrap();
    p.write(&FlushBatch {
        series: vec![(1, &l)],
        sealed: vec![row(0, 20, b"abcd")],
        open: vec![row(21, 30, b"e")],
        ..Default::default()
    })
    .unwrap();
    let mut rows = p.chunks(1, 0, 100).unwrap();
    rows.sort_by_key(|r| r.min_t);
    assert_eq!(rows, vec![row(0, 20, b"abcd"), row(21, 30, b"e")]);
    assert_eq!(p.load_series().unwrap().0, vec![(1, l)]);
    let sums = p.load_summaries().unwrap();
    assert_eq!(sums.len(), 1);
    assert_eq!(sums[0].min_t, 0);
    assert!(
        sums[0].last_sealed.is_none(),
        "the open chunk is newer: the sealed row is not read"
    );
    assert_eq!(sums[0].open.as_ref().unwrap().min_t, 21);
    p.write(&FlushBatch {
        drop_open: vec![1],
        ..Default::default()
    })
    .unwrap();
    assert_eq!(p.chunks(1, 0, 100).unwrap().len(), 1);
    let sums = p.load_summaries().unwrap();
    assert_eq!(sums.len(), 1);
    assert_eq!(sums[0].min_t, 0);
    assert_eq!(sums[0].last_sealed, Some(row(0, 20, b"abcd")));
    assert!(sums[0].open.is_none());
    assert_eq!(p.delete_before(25).unwrap(), 1);
    assert_eq!(p.series_without_chunks().unwrap(), vec![1]);
}
