//! Tests for the `{{…}}` histogram notation and its expansions.

use super::*;

fn one(s: &str) -> FloatHistogram {
    parse(s).unwrap().h
}

fn sp(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

#[test]
fn every_key() {
    let p = parse("{{schema:1 sum:-5.5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 1] offset:-2 n_buckets:[3 0 Inf] n_offset:2 counter_reset_hint:gauge}}").unwrap();
    let h = &p.h;
    assert!(p.hint_given);
    assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
    assert_eq!(
        (h.schema, h.sum, h.count, h.zero_count, h.zero_threshold),
        (1, -5.5, 4.0, 1.0, 0.001)
    );
    assert_eq!(h.positive_spans, [sp(-2, 3)]);
    assert_eq!(h.positive_buckets, [1.0, 2.0, 1.0]);
    assert_eq!(h.negative_spans, [sp(2, 3)]);
    assert_eq!(h.negative_buckets, [3.0, 0.0, f64::INFINITY]);
    let c = one("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1] }}");
    assert_eq!(c.custom_values, [5.0, 10.0]);
    assert!(c.uses_custom_buckets());
    assert_eq!(c.positive_spans, [sp(0, 1)]);
    // Keys in any order and any case; everything optional.
    assert_eq!(one("{{COUNT:2 Sum:1}}"), one("{{sum:1 count:2}}"));
    assert_eq!(one("{{}}"), FloatHistogram::default());
    assert!(!parse("{{}}").unwrap().hint_given);
    for (lit, hint) in [
        ("unknown", CounterResetHint::Unknown),
        ("reset", CounterResetHint::CounterReset),
        ("not_reset", CounterResetHint::NotCounterReset),
    ] {
        assert_eq!(
            one(&format!("{{{{counter_reset_hint:{lit}}}}}")).counter_reset_hint,
            hint
        );
    }
    assert!(one("{{count:NaN sum:-inf}}").count.is_nan());
    assert_eq!(
        one("{{buckets:[1e3 .5 1_000]}}").positive_buckets,
        [1000.0, 0.5, 1000.0]
    );
}

#[test]
fn malformed_literals_are_errors() {
    for bad in [
        "{{schema:0 schema:1}}",
        "{{schema:1.5}}",
        "{{sum:abc}}",
        "{{nope:1}}",
        "{{buckets:[1 2}}",
        "{{buckets:[]}}",
        "{{buckets:1}}",
        "{{sum:[1]}}",
        "{{counter_reset_hint:maybe}}",
        "{{z_bucket_w:-1}}",
        "{{sum}}",
        "{{sum:}}",
        "{{schema:0",
    ] {
        assert!(
            parse(bad).is_err() || expand(bad).is_err(),
            "{bad} should fail"
        );
    }
    for bad in [
        "{{}}x",
        "{{}}xx",
        "{{}}+{{}}",
        "{{}}+{{}}x-1",
        "{{}}*{{}}x2",
    ] {
        assert!(expand(bad).is_err(), "{bad} should fail");
    }
    assert!(item_len("{{sum:1").is_err());
    assert!(item_len("{{}}+{{sum:1").is_err());
}

#[test]
fn expansions() {
    let v = expand("{{sum:1 count:1}}x3").unwrap();
    assert_eq!(v.len(), 4);
    assert!(v.iter().all(|p| p.h == one("{{sum:1 count:1}}")));
    let v = expand(
        "{{schema:0 sum:4 count:4 buckets:[1 2 1]}}+{{sum:2 count:1 buckets:[1] offset:1}}x2",
    )
    .unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!((v[2].h.sum, v[2].h.count), (8.0, 6.0));
    assert_eq!(v[2].h.positive_buckets, [1.0, 4.0, 1.0]);
    assert_eq!(v[2].h.positive_spans, [sp(0, 3)]);
    // Subtraction.
    let v = expand("{{sum:10 count:10 buckets:[5 5]}}-{{sum:1 count:2 buckets:[1 1]}}x2").unwrap();
    assert_eq!((v[2].h.sum, v[2].h.count), (8.0, 6.0));
    assert_eq!(v[2].h.positive_buckets, [3.0, 3.0]);
    // New buckets from the increment get spans of their own.
    let v = expand("{{buckets:[1] offset:-1}}+{{buckets:[1] offset:3}}x1").unwrap();
    assert_eq!(v[1].h.positive_spans, [sp(-1, 1), sp(3, 1)]);
    assert_eq!(v[1].h.positive_buckets, [1.0, 1.0]);
    // The increment is reduced to the lower schema: schema 0 buckets 1 and 2 fall into
    // schema -1 buckets 1 and 1 ((i-1)>>1)+1.
    let v = expand("{{schema:-1 sum:4 count:1 buckets:[1] offset:1}}+{{schema:0 sum:4 count:4 buckets:[2 2] offset:1}}x1").unwrap();
    assert_eq!(v[1].h.schema, -1);
    assert_eq!(v[1].h.positive_buckets, [5.0]);
    assert_eq!(v[1].h.positive_spans, [sp(1, 1)]);
    // A higher-resolution running histogram cannot take a coarser increment.
    assert!(expand("{{schema:1}}+{{schema:0}}x1")
        .unwrap_err()
        .contains("cannot merge from schema 0 to 1"));
    // ... but x0 never adds.
    assert_eq!(expand("{{schema:1}}+{{schema:0}}x0").unwrap().len(), 1);
    // Custom buckets add bucket by bucket when the bounds match.
    let v = expand("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}+{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}x2").unwrap();
    assert_eq!(v[2].h.positive_buckets, [3.0]);
    assert_eq!(v[2].h.custom_values, [5.0, 10.0]);
    assert!(expand("{{schema:-53 custom_values:[5]}}+{{schema:-53 custom_values:[6]}}x1").is_err());
    assert!(expand("{{schema:-53 custom_values:[5]}}+{{schema:0}}x1").is_err());
    // Gauge hints stay gauges; whether a hint was written comes from the increment.
    let v =
        expand("{{sum:1 counter_reset_hint:gauge}}+{{sum:1 counter_reset_hint:gauge}}x1").unwrap();
    assert_eq!(v[1].h.counter_reset_hint, CounterResetHint::Gauge);
    assert!(v.iter().all(|p| p.hint_given));
    let v = expand("{{sum:1 counter_reset_hint:gauge}}+{{sum:1}}x1").unwrap();
    assert!(v.iter().all(|p| !p.hint_given));
    // Zero buckets add when thresholds match.
    let v = expand("{{z_bucket:1 z_bucket_w:0.5}}+{{z_bucket:2 z_bucket_w:0.5}}x1").unwrap();
    assert_eq!(v[1].h.zero_count, 3.0);
}

#[test]
fn item_lengths() {
    assert_eq!(item_len("{{sum:1 count:2}} 5"), Ok(17));
    assert_eq!(item_len("{{a:1}}x3 {{b:2}}"), Ok(9));
    assert_eq!(item_len("{{buckets:[1 2]}}+{{buckets:[1]}}x10"), Ok(36));
}
