use super::*;
use crate::tui::data::query_data;
use serde_json::json;

fn classic_matrix() -> QueryData {
    // Cumulative: le=0.1 → 1, le=1 → 4, le=+Inf → 5 at t=10; 2, 2, 10 at t=20.
    query_data(&json!({"resultType": "matrix", "result": [
        {"metric": {"__name__": "x_bucket", "le": "0.1"}, "values": [[10, "1"], [20, "2"]]},
        {"metric": {"__name__": "x_bucket", "le": "+Inf"}, "values": [[10, "5"], [20, "10"]]},
        {"metric": {"__name__": "x_bucket", "le": "1"}, "values": [[10, "4"], [20, "2"]]}]}))
}

#[test]
fn classic_buckets_become_per_bucket_counts() {
    let d = classic_matrix();
    assert!(is_histogram(&d));
    let hs = histogram_series(&d);
    assert_eq!(hs.len(), 1);
    assert!(!hs[0].native);
    assert_eq!(hs[0].labels.get("le"), None);
    let (t, b) = &hs[0].samples[0];
    assert_eq!(*t, 10.0);
    let got: Vec<(f64, f64, f64)> = b.iter().map(|b| (b.lower, b.upper, b.count)).collect();
    assert_eq!(
        got,
        vec![(0.0, 0.1, 1.0), (0.1, 1.0, 3.0), (1.0, f64::INFINITY, 1.0)]
    );
    let counts: Vec<f64> = hs[0].samples[1].1.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![2.0, 0.0, 8.0]);
    // A plain result is not a histogram; neither is one series with le.
    let plain = query_data(&json!({"resultType": "matrix", "result": [
        {"metric": {"__name__": "up"}, "values": [[10, "1"]]}]}));
    assert!(!is_histogram(&plain) && histogram_series(&plain).is_empty());
    let one = query_data(&json!({"resultType": "vector", "result": [
        {"metric": {"le": "1"}, "value": [10, "1"]}]}));
    assert!(!is_histogram(&one));
}

#[test]
fn classic_groups_by_the_other_labels() {
    let d = query_data(&json!({"resultType": "vector", "result": [
        {"metric": {"job": "a", "le": "1"}, "value": [10, "1"]},
        {"metric": {"job": "b", "le": "1"}, "value": [10, "3"]},
        {"metric": {"job": "a", "le": "+Inf"}, "value": [10, "2"]},
        {"metric": {"job": "b", "le": "+Inf"}, "value": [10, "3"]}]}));
    let hs = histogram_series(&d);
    assert_eq!(hs.len(), 2);
    assert_eq!(hs[1].labels.get("job").map(String::as_str), Some("b"));
    let counts: Vec<f64> = hs[1].samples[0].1.iter().map(|b| b.count).collect();
    assert_eq!(counts, vec![3.0, 0.0]);
}

#[test]
fn native_histograms_are_read_from_their_buckets() {
    let h = json!({"count": "4", "sum": "3", "buckets": [
        [0, "0.5", "1", "1"], [0, "1", "2", "3"]]});
    let d = query_data(&json!({"resultType": "matrix", "result": [
        {"metric": {"__name__": "h"}, "histograms": [[10, h]]}]}));
    assert!(is_histogram(&d));
    let hs = histogram_series(&d);
    assert!(hs[0].native);
    assert_eq!(
        hs[0].samples[0].1,
        vec![
            Bucket {
                lower: 0.5,
                upper: 1.0,
                count: 1.0
            },
            Bucket {
                lower: 1.0,
                upper: 2.0,
                count: 3.0
            }
        ]
    );
}

/// (lower, upper, count) of each bucket.
type Buckets = Vec<(f64, f64, f64)>;

fn series(samples: Vec<(f64, Buckets)>) -> HistSeries {
    HistSeries {
        labels: LabelSet::new(),
        native: true,
        samples: samples
            .into_iter()
            .map(|(t, bs)| {
                (
                    t,
                    bs.into_iter()
                        .map(|(lower, upper, count)| Bucket {
                            lower,
                            upper,
                            count,
                        })
                        .collect(),
                )
            })
            .collect(),
    }
}

#[test]
fn grid_places_samples_in_columns_and_buckets_in_rows() {
    // Four exponential buckets 1,2,4,8,16; two samples in column 0 (averaged), one in column 3.
    let s = series(vec![
        (0.0, vec![(1.0, 2.0, 2.0), (2.0, 4.0, 4.0)]),
        (5.0, vec![(1.0, 2.0, 4.0), (2.0, 4.0, 0.0)]),
        (35.0, vec![(8.0, 16.0, 8.0)]),
        (99.0, vec![(8.0, 16.0, 100.0)]), // outside the window
    ]);
    let g = Grid::new(&s, (0.0, 40.0), 4, 10);
    assert_eq!(
        g.rows,
        vec![(1.0, 2.0), (2.0, 4.0), (4.0, 8.0), (8.0, 16.0)]
    );
    assert_eq!(g.cells[0], Some(vec![3.0, 2.0, 0.0, 0.0]));
    assert_eq!(g.cells[1], None);
    assert_eq!(g.cells[3], Some(vec![0.0, 0.0, 0.0, 8.0]));
    assert_eq!(g.max, 8.0);
    assert_eq!(g.column_at(12.0), 1);
    assert_eq!(g.column_at(1e9), 3);
    // Two rows: neighbouring buckets merge.
    let g2 = Grid::new(&s, (0.0, 40.0), 4, 2);
    assert_eq!(g2.rows, vec![(1.0, 4.0), (4.0, 16.0)]);
    assert_eq!(g2.cells[0], Some(vec![5.0, 0.0]));
}

#[test]
fn quantile_rows_and_readout() {
    // 10 observations: 5 in (0,1], 4 in (1,2], 1 in (2,4].
    let s = series(vec![(
        0.0,
        vec![(0.0, 1.0, 5.0), (1.0, 2.0, 4.0), (2.0, 4.0, 1.0)],
    )]);
    let g = Grid::new(&s, (0.0, 10.0), 1, 10);
    assert_eq!(g.quantile_row(0, 0.5), Some(0));
    assert_eq!(g.quantile_row(0, 0.9), Some(1));
    assert_eq!(g.quantile_row(0, 0.99), Some(2));
    let r = g.readout(0, 1).unwrap();
    assert_eq!((r.lower, r.upper, r.count), (1.0, 2.0, 4.0));
    assert!((r.fraction - 0.9).abs() < 1e-12);
    assert_eq!(g.readout(0, 7), None);
    let empty = Grid::new(&series(vec![]), (0.0, 10.0), 3, 10);
    assert!(empty.rows.is_empty() && empty.quantile_row(0, 0.5).is_none());
}

#[test]
fn levels_split_the_largest_cell_in_four() {
    assert_eq!(level(0.0, 8.0), 0);
    assert_eq!(level(f64::NAN, 8.0), 0);
    assert_eq!(level(1.0, 8.0), 1);
    assert_eq!(level(2.0, 8.0), 1);
    assert_eq!(level(2.1, 8.0), 2);
    assert_eq!(level(6.5, 8.0), 4);
    assert_eq!(level(8.0, 8.0), 4);
}

#[test]
fn odd_buckets_do_not_panic() {
    // A zero bucket of no width, infinite bounds, NaN bounds, and a bucket spanning others.
    let s = series(vec![
        (
            1.0,
            vec![
                (0.0, 0.0, 2.0),
                (f64::NEG_INFINITY, -1.0, 1.0),
                (1.0, f64::INFINITY, 1.0),
            ],
        ),
        (2.0, vec![(f64::NAN, 1.0, 1.0), (-1.0, 8.0, 9.0)]),
    ]);
    let g = Grid::new(&s, (0.0, 3.0), 3, 3);
    assert_eq!(g.rows.len(), 3);
    let total: f64 = g.cells.iter().flatten().flatten().sum();
    assert!(total.is_finite() && total > 0.0);
}

#[test]
fn metric_names_are_marked_as_histograms() {
    let md: BTreeMap<String, (String, String)> = [
        ("rpc", "histogram"),
        ("http_seconds", "histogram"),
        ("q", "summary"),
        ("up", "gauge"),
    ]
    .into_iter()
    .map(|(k, t)| (k.to_string(), (t.to_string(), String::new())))
    .collect();
    let names: Vec<String> = [
        "rpc",
        "http_seconds_bucket",
        "http_seconds_count",
        "q_count",
        "up",
        "raw_bucket",
        "raw_count",
        "lonely_bucket",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let kind = |n: &str| metric_kind(n, &md, &names);
    assert_eq!(kind("rpc"), Some(HistKind::Native));
    assert_eq!(kind("http_seconds_bucket"), Some(HistKind::Classic));
    assert_eq!(kind("http_seconds_count"), Some(HistKind::Classic));
    assert_eq!(kind("q_count"), None, "a summary's count");
    assert_eq!(kind("up"), None);
    // Without metadata: a _bucket beside a _count.
    assert_eq!(kind("raw_bucket"), Some(HistKind::Classic));
    assert_eq!(kind("raw_count"), Some(HistKind::Classic));
    assert_eq!(kind("lonely_bucket"), None);
    assert_eq!(HistKind::Native.label(), "native hist");
}
