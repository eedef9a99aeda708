//! What the crate's unit tests share.

/// A SQLite file in the temporary directory, removed with its WAL when dropped.
pub(crate) struct TempSqlite(pub(crate) std::path::PathBuf);

impl TempSqlite {
    pub(crate) fn new(name: &str) -> TempSqlite {
        TempSqlite(std::env::temp_dir().join(format!(
            "hamkor-{name}-{}.db",
            uuid::Uuid::now_v7().simple()
        )))
    }

    pub(crate) fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}
