//! Histogram chunks written by a real Prometheus (Debian's 2.42.0, `--enable-feature=
//! native-histograms`): integer histograms were remote-written into it and the chunks it
//! m-mapped to `chunks_head/000001` copied here byte for byte. The tests decode them into the
//! histograms that were sent and re-encode those histograms into the very same bytes
//! (including Prometheus's re-coding of the chunk when a bucket appeared at sample 100).
//!
//! The series (`nh_test`, sample i at 1700000000000 + 15000·i ms): schema 1, zero threshold
//! 2^-128, positive spans {-2,3},{1,2} (a third bucket in the second span from i = 100),
//! negative span {0,1}; with j = i (i − 180 after a counter reset at i = 180): positive bucket k
//! = (k+1)·j + j/3, the new bucket j − 99, negative bucket 2·j, zero bucket j/2, sum
//! 1.25·i + 0.001·(i mod 7). Prometheus cut chunk 1 after i = 142 and chunk 2 after i = 179.

use super::histogram_chunk::{
    Appended, CounterResetHeader, HistogramChunk, HistogramIter, Verdict,
};
use crate::model::histogram::{CounterResetHint, Histogram, Span};

/// Chunk 1: encoding 2, t 1700000000000…1700002130000, 1480 bytes.
const PROMETHEUS_CHUNK_1: &str = concat!(
    "008f00748ca769c6317f0000c5e7f2b4000000000000000000003e0ea6322c5effe8083126e978d6318c63bb9231c25f",
    "ff00a5f667404789cb74d962173791d7a6808f1396e9b2dc225efb34d01062b2557ef00c3467033a657ef125885cdd5f",
    "563fc3126e978d5b8448c76e76020c49ba5e340297940c29b59dc4b442e6f23b34f808f1396e9b3b844bde283857ef19",
    "89d00c346580831592abf6885cdd5f5ebe43066b63336bb8448c60e0c49ba5e3540052f0d010624dd2f1e21737918d81",
    "8536b3b89570897bc1404789cb74d900c3461e0e15fbc6627c42e6eaf0501062b2557eae112319d819d32bf7892014bc",
    "34189374bc6a8885cde460e020c49ba5e3dc225ef1d030a6d677128030d185808f1396e9b310b9babc141c2bf78cc4fb",
    "8448c74edfc0697cf5c49a8052fc30a0674cafde25885cde477df60c49ba5e356e112f7dd97404189374bc601868c703",
    "0a6d67712442e6eaf3404789cb74db708918edcfb070afde33138052f0a020c564aafc885cde463c0ce995fbc4b70897",
    "bc283126e978d50030d19b010624dd2f1c42e6eaf1a0614dacee24b8448c61c04789cb74da014becd3e83857ef1989e2",
    "1737918580831592abf2e112f782819d32bf7894030d18f83126e978d522173757828083126e978ee1123185818536b3",
    "b89002979e808f1396e9b621737918383857ef1989ee112f78680831592abf0030d18d819d32bf789621737578283126",
    "e978d52e11231878083126e978c029782818536b3b8922173791d7a7e81c2bf78cc4dc225ef0341c2bf78cc48061a3c6",
    "fe020c564aaff10b9babefc3a0674cafde26e11231960c49ba5e35402978a020c49ba5e62173791dd97e0614dacee237",
    "0897bc2808f1396e9b0061a3160e15fbc662510b9babce80831592abfdc224630e0674cafde24014bc683126e978d544",
    "2e6f23b72f6020c49ba5e6e112f7e37d030a6d6771100c34785fe023c4e5ba6e2173757941c2bf78cc4dc22463bf1d80",
    "831592abf8052f340ce995fbc4a21737918e0c49ba5e35570897beec7d010624dd2f201868f0c2c0c29b59dc46217375",
    "79404789cb74dae11231df87c1c2bf78cc48052fc6fa020c564aaff10b9bc8f0bec0ce995fbc4dc225efb33fd0624dd2",
    "f1aa01868c0e020c49ba5e62173757e186818536b3b88dc22463bf0d808f1396e9b00a5e283857ef1989885cde47861e",
    "020c564aaff70897bca0674cafde2401868eec7b0624dd2f1ab10b9babc68083126e979b8448c78dfc0c29b59dc44029",
    "7df87404789cb74dc42e6f232c1c2bf78cc4dc225efc6fa020c564aafe01868edcbf819d32bf789885cdd5e0a0c49ba5",
    "e356e11231858083126e97900a5f7e3d030a6d67711885cde463808f1396e9b5c225ef341c2bf78cc48030d1dd976020",
    "c564aaff10b9babc2819d32bf7895c224631e0c49ba5e354014bc28083126e979442e563360614dacee2370917bc6808",
    "f1396e9b0061a30e0e15fbc662510b9babeadbff8697cf5c49bb8448c60160674cafde24029780283126e978d5885cde",
    "4603e020c49ba5e6e112f7802818536b3b8b00c346016023c4e5ba62217375781e83857ef1989b8448c600e020c564aa",
    "fc0297806819d32bf789885cde460360c49ba5e356e112f78028083126e97900c34601e0614dacee2e2173757802808f",
    "1396e98b8448c60f60e15fbc6624029780680831592abf885cde4600e0674cafde26e112f780e83126e978d500c34601",
    "6020c49ba5e62173757802818536b3b8bb8448c607e023c4e5ba60029780283857ef1989885cde46016020c564aafee1",
    "12f780e819d32bf78900c34600e0c49ba5e35621737578068083126e979b8448c61f60614dacee2c0297802808f1396e",
    "98885cde4601e0e15fbc6626e112f780280831592abf00c3460360674cafde26217375780683126e978d5b8448c600e0",
    "20c49ba5e4029781e818536b3b8b885cde46016023c4e5ba62e112f780283857ef198900c34603e020c564aafe217375",
    "7802819d32bf789b8448c60160c49ba5e354029783e8083126e979885cde4600e0614dacee2ee110",
);

/// Chunk 2: encoding 2, t 1700002145000…1700002685000, 404 bytes.
const PROMETHEUS_CHUNK_2: &str = concat!(
    "002540748ca769c6317f0000c5e80311747ab7788e80ccb03126e978d5cbee47f23f91fc8ff6997847be0ea63311e186",
    "c1c2bf78cc4ca318c77726eaf140418ac955fdc224633c0ce995fbc48052f14189374bc6ac42e6f23bf1ec04189374bc",
    "dc225ef1a0614dacee2c030d187011e272dd3110b9babce83857ef1989b8448c62c0418ac955f8052f0a0674cafde262",
    "173791d9a7fc189374bc6adc225ef01404189374bc8061a302c0c29b59dc5c42e6eaf07404789cb74c5c2246301c1c2b",
    "f78cc48052f0340418ac955fc42e6f230ec0ce995fbc4dc225ef014189374bc6a8061a303c04189374bcc42e6eaf0140",
    "c29b59dc5dc2246306c04789cb74c0052f0341c2bf78cc4c42e6f2301c0418ac955fdc225ef1f40ce995fbc48061a302",
    "c189374bc6ac42e6eaf01404189374bcdc2246307c0c29b59dc58052f01404789cb74c442e6f2302c1c2bf78cc4dc225",
    "ef0f40418ac955f8061a301c0ce995fbc4c42e6eaf034189374bc6adc2246306c04189374bc8052f0140c29b59dc5c42",
    "e6f2303c04789cb74c5c225ef0141c2bf78cc480",
);

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn sp(offset: i32, length: u32) -> Span {
    Span { offset, length }
}

fn deltas(abs: &[u64]) -> Vec<i64> {
    let mut prev = 0i64;
    abs.iter()
        .map(|&a| {
            let d = a as i64 - prev;
            prev = a as i64;
            d
        })
        .collect()
}

/// Sample i as it was sent.
fn sent(i: i64) -> (i64, Histogram) {
    let j = if i >= 180 { i - 180 } else { i };
    let mut p: Vec<u64> = (0..5).map(|k| ((k + 1) * j + j / 3) as u64).collect();
    let ps = if i < 100 {
        vec![sp(-2, 3), sp(1, 2)]
    } else {
        p.push(if i < 180 { j - 99 } else { j + 1 } as u64);
        vec![sp(-2, 3), sp(1, 3)]
    };
    let q = [2 * j as u64];
    let z = (j / 2) as u64;
    (
        1_700_000_000_000 + 15_000 * i,
        Histogram {
            counter_reset_hint: CounterResetHint::Unknown,
            schema: 1,
            zero_threshold: f64::powi(2.0, -128),
            zero_count: z,
            count: p.iter().sum::<u64>() + q[0] + z,
            sum: i as f64 * 1.25 + (i % 7) as f64 * 0.001,
            positive_spans: ps,
            negative_spans: vec![sp(0, 1)],
            positive_buckets: deltas(&p),
            negative_buckets: deltas(&q),
            custom_values: vec![],
        },
    )
}

/// Sample i as a chunk re-coded for the new bucket holds it: a zero in the new bucket.
fn recoded(i: i64) -> Histogram {
    let (_, mut h) = sent(i);
    if i < 100 {
        let last: i64 = h.positive_buckets.iter().sum();
        h.positive_buckets.push(-last);
        h.positive_spans = vec![sp(-2, 3), sp(1, 3)];
    }
    h
}

fn hint(index: usize) -> CounterResetHint {
    if index == 0 {
        CounterResetHint::Unknown
    } else {
        CounterResetHint::NotCounterReset
    }
}

#[test]
fn decodes_chunks_written_by_prometheus() {
    for (hex, range, header) in [
        (PROMETHEUS_CHUNK_1, 0..143, CounterResetHeader::Unknown),
        (
            PROMETHEUS_CHUNK_2,
            143..180,
            CounterResetHeader::NotCounterReset,
        ),
    ] {
        let bytes = unhex(hex);
        let mut it = HistogramIter::new(&bytes);
        assert_eq!(it.counter_reset_header(), header);
        let got: Vec<(i64, Histogram)> = it.by_ref().collect();
        assert!(!it.error);
        let want: Vec<(i64, Histogram)> = range
            .clone()
            .enumerate()
            .map(|(n, i)| {
                let h = Histogram {
                    counter_reset_hint: hint(n),
                    ..recoded(i)
                };
                (sent(i).0, h)
            })
            .collect();
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w);
        }
        // Absolute counts are what was sent.
        let (_, last) = sent(range.end - 1);
        assert_eq!(
            got.last().map(|(_, h)| h.to_float().count),
            Some(last.count as f64)
        );
    }
}

#[test]
fn encodes_the_same_bytes_as_prometheus() {
    // Chunk 1: appending the histograms as sent re-codes at i = 100, as Prometheus did.
    let mut c = HistogramChunk::new();
    for i in 0..143 {
        let (t, h) = sent(i);
        match c.append(t, &h).expect("valid") {
            Appended::InPlace => assert_ne!(i, 100),
            Appended::Recoded => assert_eq!(i, 100),
            Appended::NewChunk(_) => panic!("cut at {i}"),
        }
    }
    assert_eq!(c.bytes(), unhex(PROMETHEUS_CHUNK_1).as_slice());
    // Chunk 2 was cut by size with the "no counter reset" header.
    let mut c = HistogramChunk::new();
    c.set_counter_reset_header(CounterResetHeader::NotCounterReset);
    for i in 143..180 {
        let (t, h) = sent(i);
        assert!(matches!(c.append(t, &h), Ok(Appended::InPlace)));
    }
    let want = unhex(PROMETHEUS_CHUNK_2);
    assert_eq!(c.bytes(), want.as_slice());
    // Reopened from Prometheus's bytes, the chunk sees the counter reset at i = 180.
    let reopened = HistogramChunk::from_bytes(&want).expect("valid");
    assert_eq!(reopened.bytes(), want.as_slice());
    let (_, reset) = sent(180);
    assert_eq!(
        reopened.appendable(&reset),
        Verdict::NewChunk(CounterResetHeader::CounterReset)
    );
}
