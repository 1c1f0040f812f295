//! A store that accepts everything and keeps nothing, for the ingest targets.
use promterm::storage::{AppendStats, Appender, SeriesInput, StorageError};

pub struct Null;

impl Appender for Null {
    fn append(&self, b: &[SeriesInput<'_>]) -> Result<AppendStats, StorageError> {
        Ok(AppendStats {
            accepted: b.iter().map(|s| s.samples.len() as u64).sum(),
            ..AppendStats::default()
        })
    }
}
