//! The scrape manager's discovery bookkeeping: what it counts as discovered, and discovered
//! labels that change while the target stays the same.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::Manager;
use crate::tsdb::{Db, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_counts_and_labels_follow_discovery() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = Db::open(&dir.path().join("data"), Options::default()).unwrap();
    let sd = dir.path().join("t.json");
    let write = |rev: &str| {
        let text = format!(
            r#"[{{"targets": ["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:2"], "labels": {{"rev": "{rev}"}}}}]"#
        );
        std::fs::write(&sd, text).unwrap();
    };
    write("1");
    let cfg = crate::config::Config::parse(
        r#"
scrape_configs:
- job_name: a
  scrape_interval: 1h
  static_configs: [{targets: ['drop:1']}]
  file_sd_configs: [{files: [t.json]}]
  relabel_configs:
  - {action: labeldrop, regex: rev}
  - {source_labels: [__address__], regex: 'drop:.*', action: drop}
"#,
        &dir.path().join("p.yml"),
    )
    .unwrap();
    let m = Manager::new(Arc::new(db), CancellationToken::new());
    m.apply(&cfg);
    // Discovered counts every target found, kept, dropped or a duplicate of another.
    assert_eq!(m.discovered_counts()["a"], 4);
    assert_eq!(m.active().len(), 2);
    let revs = |m: &Manager| -> Vec<String> {
        m.active()
            .iter()
            .map(|a| a.target.discovered["rev"].clone())
            .collect()
    };
    assert_eq!(revs(&m), ["1", "1"]);
    let hashes: Vec<u64> = m.active().iter().map(|a| a.target.hash()).collect();
    // Only a label relabeling drops changes: same targets, same loops, new discovered labels.
    write("22");
    {
        let mut pools = m.pools.lock();
        let pool = pools.get_mut("a").unwrap();
        assert!(m.discover(pool, false, true), "the file changed");
        m.sync(pool);
    }
    assert_eq!(revs(&m), ["22", "22"]);
    let after: Vec<u64> = m.active().iter().map(|a| a.target.hash()).collect();
    assert_eq!(hashes, after);
    m.stop();
}
