//! The admin API over the store, end to end: a snapshot is a complete copy that opens on its
//! own, and deleted series stay deleted across a flush and a restart. Uses the remote-write
//! helpers of `storage`.

use crate::common::{escape, http, http_post};
use crate::storage::{batch, expected, serve, stored, write, BASE};

#[test]
fn admin_snapshot_is_a_complete_copy() {
    let data = tempfile::tempdir().unwrap();
    let mut plain = serve(data.path(), &[]);
    let (code, body) = http_post(plain.addr, "/api/v1/admin/tsdb/snapshot", &[], b"");
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("\"errorType\":\"unavailable\""), "{body}");
    assert!(plain.terminate().success());

    let mut srv = serve(data.path(), &["--web.enable-admin-api"]);
    assert_eq!(write(srv.addr, &batch(0)).0, 204);
    assert_eq!(write(srv.addr, &batch(1)).0, 204);
    let (code, body) = http_post(srv.addr, "/api/v1/admin/tsdb/snapshot", &[], b"");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let name = v["data"]["name"].as_str().unwrap().to_string();
    assert!(name.len() > 17 && name.contains('T'), "{name}");
    let (code, _) = http_post(srv.addr, "/api/v1/admin/tsdb/clean_tombstones", &[], b"");
    assert_eq!(code, 204);
    // Written after the snapshot: not in it.
    assert_eq!(write(srv.addr, &batch(2)).0, 204);
    let snap = data.path().join("snapshots").join(&name);
    assert!(snap.join("promterm.db").exists());
    let got = stored(&snap);
    let mut want = Vec::new();
    for k in 0..2 {
        for (labels, samples) in batch(k) {
            let inst = labels
                .iter()
                .find(|l| l.0 == "instance")
                .unwrap()
                .1
                .to_string();
            want.extend(samples.iter().map(|s| (inst.clone(), s.t, s.v.to_bits())));
        }
    }
    want.sort();
    assert_eq!(got, want);
    assert!(srv.terminate().success());
}

/// `delete_series` hides the samples at once (queries, series API) and for good (restart);
/// bad input gets `bad_data` and deletes nothing.
#[test]
fn admin_delete_series_removes_samples_for_good() {
    let data = tempfile::tempdir().unwrap();
    let mut srv = serve(data.path(), &["--web.enable-admin-api"]);
    assert_eq!(write(srv.addr, &batch(0)).0, 204);
    assert_eq!(write(srv.addr, &batch(1)).0, 204);
    let del = |q: &str, body: &[u8]| {
        let form = [("Content-Type", "application/x-www-form-urlencoded")];
        http_post(
            srv.addr,
            &escape(&format!("/api/v1/admin/tsdb/delete_series{q}")),
            &form,
            body,
        )
    };
    let (code, body) = del("", b"");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("no match[] parameter provided"), "{body}");
    let (code, body) = del("?match[]=load_test{", b"");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("bad_data"), "{body}");
    let (code, body) = del("?match[]=load_test&start=yesterday", b"");
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("invalid parameter \\\"start\\\""), "{body}");
    // All of i1; i2 from BASE+5s to BASE+14s (form body, times in seconds).
    let (code, body) = del("?match[]=load_test{instance=\"i1\"}", b"");
    assert_eq!(code, 204, "{body}");
    let form = format!(
        "match%5B%5D=load_test%7Binstance%3D%22i2%22%7D&start={}&end={}",
        (BASE + 5000) as f64 / 1000.0,
        (BASE + 14000) as f64 / 1000.0
    );
    let (code, body) = del("", form.as_bytes());
    assert_eq!(code, 204, "{body}");
    let (_, body) = http(
        srv.addr,
        "GET",
        &escape("/api/v1/label/instance/values?match[]=load_test"),
    );
    assert!(
        body.contains("\"data\":[\"i0\",\"i2\",\"i3\",\"i4\"]"),
        "{body}"
    );
    let t = (BASE + 10_000) as f64 / 1000.0;
    let (_, body) = http(
        srv.addr,
        "GET",
        &escape(&format!("/api/v1/query?query=count(load_test)&time={t}")),
    );
    // At BASE+10s the lookback still finds i2 (its BASE+4s sample); i1 is gone.
    assert!(body.contains("\"4\"]"), "{body}");
    let (_, body) = http(
        srv.addr,
        "GET",
        &escape(&format!(
            "/api/v1/query?query=count_over_time(load_test{{instance=\"i2\"}}[30s])&time={}",
            (BASE + 19_000) as f64 / 1000.0
        )),
    );
    assert!(
        body.contains("\"10\"]"),
        "20 samples less the 10 deleted: {body}"
    );
    assert!(srv.terminate().success());
    let mut want: Vec<(String, i64, u64)> = expected(0..2)
        .into_iter()
        .filter(|(inst, t, _)| {
            inst != "i1" && !(inst == "i2" && (BASE + 5000..=BASE + 14000).contains(t))
        })
        .collect();
    want.sort();
    let mut got = stored(data.path());
    got.sort();
    assert_eq!(got, want);
    assert_eq!(got.len(), 100 - 20 - 10);
}
