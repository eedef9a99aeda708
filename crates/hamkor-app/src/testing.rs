//! Helpers for the tests of this crate that need a database of their own.

use hamkor_domain::Id;
use hamkor_store::{Exec, Sql};

/// A fresh database: SQLite in a temporary file, or a new database on the PostgreSQL
/// server of `HAMKOR_TEST_DATABASE_URL`. Returns it with how to remove it.
pub(crate) async fn fresh(pg: bool) -> Option<(hamkor_store::Db, String, String)> {
    let url = if pg {
        let admin = std::env::var("HAMKOR_TEST_DATABASE_URL")
            .ok()
            .filter(|u| u.starts_with("postgres"))?;
        let name = format!("hamkor_app_test_{}", uuid::Uuid::now_v7().simple());
        let mut db = hamkor_store::Db::connect(&admin).await.unwrap();
        let mut sql = Sql::new("CREATE DATABASE ");
        // The name is ours (hex digits), not input.
        sql.push(Box::leak(name.clone().into_boxed_str()));
        db.execute(&sql).await.unwrap();
        db.close().await;
        let (prefix, _) = admin.rsplit_once('/').unwrap();
        format!("{prefix}/{name}")
    } else {
        let path = std::env::temp_dir().join(format!("hamkor-app-test-{}.db", Id::new()));
        format!("sqlite://{}", path.display())
    };
    let db = hamkor_store::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    Some((
        db,
        url,
        std::env::var("HAMKOR_TEST_DATABASE_URL").unwrap_or_default(),
    ))
}

/// Closes and removes a database made by [`fresh`].
pub(crate) async fn remove(db: hamkor_store::Db, url: &str, admin: &str) {
    db.close().await;
    match url.strip_prefix("sqlite://") {
        Some(path) => {
            for end in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{end}"));
            }
        }
        None => {
            let (_, name) = url.rsplit_once('/').unwrap();
            let mut a = hamkor_store::Db::connect(admin).await.unwrap();
            let mut sql = Sql::new("DROP DATABASE IF EXISTS ");
            sql.push(Box::leak(name.to_string().into_boxed_str()));
            a.execute(&sql).await.unwrap();
            a.close().await;
        }
    }
}
