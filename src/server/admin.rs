//! The admin API (`--web.enable-admin-api`) over the store: snapshots, series deletion and
//! tombstone cleaning. Uses `tsdb` and `api`'s `Admin` trait.

use tracing::info;

use crate::api;
use crate::tsdb::Db;

/// The admin API over the store.
pub(super) struct Admin {
    pub(super) db: Db,
    pub(super) dir: std::path::PathBuf,
}

impl api::Admin for Admin {
    fn snapshot(&self, with_head: bool) -> Result<String, api::AdminError> {
        let name = snapshot_name();
        self.db
            .snapshot(&self.dir.join("snapshots").join(&name), with_head)
            .map_err(api::AdminError::new)?;
        info!(%name, "wrote a snapshot");
        Ok(name)
    }

    fn delete_series(
        &self,
        matchers: &[crate::model::Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<(), api::AdminError> {
        self.db
            .delete(matchers, mint, maxt)
            .map(|_| ())
            .map_err(api::AdminError::new)
    }

    fn clean_tombstones(&self) -> Result<(), api::AdminError> {
        self.db.compact().map_err(api::AdminError::new)
    }
}

/// A snapshot directory name as Prometheus makes them: UTC time, then 16 hex digits.
fn snapshot_name() -> String {
    let now = std::time::SystemTime::now();
    let t = crate::model::compact_utc(now);
    let nanos = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let r = xxhash_rust::xxh64::xxh64(&nanos.to_le_bytes(), 0) & 0x7fff_ffff_ffff_ffff;
    format!("{t}-{r:016x}")
}
