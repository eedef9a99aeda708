//! The migrated databases, as the engines themselves describe them, have the same tables
//! and columns on SQLite and PostgreSQL (SQLite's full-text index tables aside: PostgreSQL
//! indexes the same column with a trigram index instead).

use crate::support::{Backend, fresh_database};
use hamkor_store::{Db, Exec, Sql};
use std::collections::BTreeSet;

async fn columns(backend: Backend) -> Option<BTreeSet<(String, String)>> {
    let (url, _dir) = fresh_database(backend).await?;
    let mut db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    db.migrate().await.expect("migrating twice is harmless");
    let sql = match backend {
        Backend::Sqlite => Sql::new(
            "SELECT m.name AS t, p.name AS c FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%' \
             AND m.name NOT IN (SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%') \
             AND m.name NOT GLOB '*_search_*'",
        ),
        Backend::Postgres => Sql::new(
            "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
        ),
    };
    let rows = db.fetch_all(&sql).await.unwrap();
    Some(
        rows.iter()
            .map(|r| (r.req_text("t").unwrap(), r.req_text("c").unwrap()))
            .collect(),
    )
}

#[tokio::test]
async fn both_backends_have_the_same_schema() {
    let lite = columns(Backend::Sqlite).await.unwrap();
    assert!(lite.contains(&("contacts".into(), "owner_id".into())));
    match columns(Backend::Postgres).await {
        Some(pg) => assert_eq!(lite, pg),
        None => eprintln!("skipped the PostgreSQL side: set HAMKOR_TEST_DATABASE_URL"),
    }
}
