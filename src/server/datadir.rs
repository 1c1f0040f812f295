//! The data directory's exclusive lock: one promterm per directory. Uses std and anyhow.

use std::fs::{File, OpenOptions};
use std::path::Path;

use anyhow::{bail, Context};

/// The data directory, held with an exclusive lock on `<data>/lock` for the life of the server.
pub struct DataDir {
    _lock: File,
}

impl DataDir {
    pub fn open(dir: &Path) -> anyhow::Result<DataDir> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create data directory {:?}", dir.display()))?;
        let lock_path = dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open lock file {:?}", lock_path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(DataDir { _lock: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "data directory {:?} is in use by another promterm process (lock held on {:?})",
                dir.display(),
                lock_path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("cannot lock {:?}", lock_path.display()))
            }
        }
    }
}
