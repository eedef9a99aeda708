//! Upgrading a database made by an earlier release keeps every record, on both engines.
//!
//! There are no release tags: the previous release's schema is the migration set without
//! the newest migration. The test makes a database at the oldest schema the fixture was
//! written for (`upgrade/NNNN.sql`: rows in every table, every column with a value), then
//! runs the migrations one at a time up to the newest; before each it reads every table
//! as a backup would (`hamkor_store::backup::table_contents`: the rows, each value in its
//! canonical text, and the backup's per-table checksum), and after it reads the same
//! tables and columns again and requires the same rows and values. A fixture file of a
//! newer migration adds rows for what that migration added. The last step is the upgrade
//! from the previous release to this one.
//!
//! Keeping it current: a new migration makes [`fixture_is_reviewed_for_the_newest_migration`]
//! fail until the fixture is reviewed: add `upgrade/NNNN.sql` with rows for the new
//! tables and columns (the coverage check names any left empty), list a value the
//! migration changes on purpose in [`CHANGED_ON_PURPOSE`], and move [`REVIEWED_THROUGH`].

use crate::support::{Backend, fresh_database};
use hamkor_store::backup::{Table, TableContents, table_contents};
use hamkor_store::{Db, Exec, Sql};
use std::collections::BTreeMap;

/// The fixture files: the schema version each is loaded at, and its statements.
const FIXTURES: &[(i64, &str)] = &[
    (27, include_str!("upgrade/0027.sql")),
    (28, include_str!("upgrade/0028.sql")),
    (29, include_str!("upgrade/0029.sql")),
];

/// The newest migration the fixture has been reviewed against.
const REVIEWED_THROUGH: i64 = 30;

/// Values a migration changes on purpose (it moves or rewrites them): (the migration,
/// table, column). They are not compared across that migration; explain each.
const CHANGED_ON_PURPOSE: &[(i64, &str, &str)] = &[];

/// Columns the fixture may leave NULL in every row: (table, column). Explain each.
const MAY_BE_EMPTY: &[(&str, &str)] = &[];

#[test]
fn fixture_is_reviewed_for_the_newest_migration() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hamkor-store/migrations/sqlite"
    );
    let newest = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .split('_')
                .next()
                .and_then(|n| n.parse::<i64>().ok())
        })
        .max()
        .unwrap();
    assert_eq!(
        newest, REVIEWED_THROUGH,
        "migration {newest:04} is new: review the upgrade fixture (crates/hamkor/tests/it/upgrade.rs): \
         add upgrade/{newest:04}.sql with rows for the tables and columns it adds, list in \
         CHANGED_ON_PURPOSE any value it rewrites, then set REVIEWED_THROUGH to {newest}"
    );
    let mut versions: Vec<i64> = FIXTURES.iter().map(|(v, _)| *v).collect();
    versions.dedup();
    assert_eq!(
        versions.len(),
        FIXTURES.len(),
        "one fixture file per version"
    );
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "in order");
}

/// Runs the fixture's statements (one per `;` at the end of a line).
async fn load(db: &Db, sql: &'static str) {
    let mut ex = db.clone();
    let postgres = ex.backend() == hamkor_store::Backend::Postgres;
    for stmt in sql.split_inclusive(";\n") {
        let body: String = stmt
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        let body = body.trim().trim_end_matches(';').trim();
        if body.is_empty() {
            continue;
        }
        // Bytes: SQLite reads X'…', PostgreSQL '\x…'.
        let text = if postgres {
            bytes_for_postgres(body)
        } else {
            body.to_string()
        };
        let text: &'static str = Box::leak(text.into_boxed_str());
        ex.execute(&Sql::new(text))
            .await
            .unwrap_or_else(|e| panic!("fixture statement failed: {e}\n{text}"));
    }
}

fn bytes_for_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut prev = ' ';
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == 'X' && chars.peek() == Some(&'\'') && !prev.is_alphanumeric() && prev != '\'' {
            chars.next();
            out.push_str("'\\x");
            prev = 'x';
            continue;
        }
        out.push(c);
        prev = c;
    }
    out
}

async fn contents(db: &Db, tables: &[Table]) -> BTreeMap<String, TableContents> {
    table_contents(db, tables)
        .await
        .unwrap_or_else(|e| panic!("reading the tables: {e}"))
        .into_iter()
        .map(|c| (c.name.clone(), c))
        .collect()
}

/// Every table of `before` is in `after` with the same rows and values (bar the columns a
/// migration changes on purpose), and so the same checksum.
fn same(
    version: i64,
    tables: &[Table],
    before: &BTreeMap<String, TableContents>,
    after: &BTreeMap<String, TableContents>,
) {
    for t in tables {
        let (b, a) = (&before[&t.name], &after[&t.name]);
        let skip: Vec<usize> = t
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                CHANGED_ON_PURPOSE
                    .iter()
                    .any(|(v, tb, col)| *v == version && *tb == t.name && *col == c.name)
            })
            .map(|(i, _)| i)
            .collect();
        assert_eq!(
            b.rows, a.rows,
            "migration {version:04} changed the number of rows of {}",
            t.name
        );
        if skip.is_empty() {
            for (i, (rb, ra)) in b.values.iter().zip(&a.values).enumerate() {
                for (j, c) in t.columns.iter().enumerate() {
                    assert_eq!(
                        rb[j], ra[j],
                        "migration {version:04} changed {}.{} in row {i}",
                        t.name, c.name
                    );
                }
            }
            assert_eq!(
                b.checksum, a.checksum,
                "migration {version:04} changed {}",
                t.name
            );
        } else {
            for (rb, ra) in b.values.iter().zip(&a.values) {
                for (j, c) in t.columns.iter().enumerate() {
                    if !skip.contains(&j) {
                        assert_eq!(rb[j], ra[j], "{}.{}", t.name, c.name);
                    }
                }
            }
        }
    }
}

async fn upgrade_keeps_every_record(backend: Backend) {
    let Some((url, _dir)) = fresh_database(backend).await else {
        eprintln!("skipped: set HAMKOR_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    };
    let db = Db::connect(&url).await.unwrap();
    let versions = db.known_schema_versions();
    let newest = *versions.last().unwrap();
    let previous = versions[versions.len() - 2];
    let base = FIXTURES[0].0;
    assert!(
        base <= previous,
        "the fixture starts at or before the previous release"
    );
    db.migrate_to(base).await.unwrap();
    load(&db, FIXTURES[0].1).await;
    let mut steps = 0;
    for &v in versions.iter().filter(|v| **v > base) {
        let tables = db.describe_tables().await.unwrap();
        let before = contents(&db, &tables).await;
        db.migrate_to(v).await.unwrap();
        let after = contents(&db, &tables).await;
        same(v, &tables, &before, &after);
        steps += 1;
        if v == newest {
            // The upgrade from the previous release: every table had rows to keep.
            let empty: Vec<_> = before.values().filter(|c| c.rows == 0).collect();
            assert!(
                empty.is_empty(),
                "tables of schema {previous} without rows in the fixture: {:?}",
                empty.iter().map(|c| &c.name).collect::<Vec<_>>()
            );
        }
        if let Some((_, sql)) = FIXTURES.iter().find(|(fv, _)| *fv == v) {
            load(&db, sql).await;
        }
    }
    assert!(steps >= 1, "at least the newest migration ran");

    // The fixture is representative: every table of the newest schema has rows and every
    // column a value in one of them.
    let tables = db.describe_tables().await.unwrap();
    let now = contents(&db, &tables).await;
    let mut missing = Vec::new();
    for t in &tables {
        let c = &now[&t.name];
        for (j, col) in t.columns.iter().enumerate() {
            let filled = c.values.iter().any(|r| r[j].is_some());
            if !filled && !MAY_BE_EMPTY.contains(&(t.name.as_str(), col.name.as_str())) {
                missing.push(format!("{}.{}", t.name, col.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the upgrade fixture leaves these empty; give them values in upgrade/NNNN.sql: {missing:?}"
    );

    // And the application works on the upgraded database.
    db.migrate().await.unwrap();
    let app = hamkor_app::App::new(db.clone());
    app.refresh_search_keys().await.unwrap();
    app.refresh_dup_keys().await.unwrap();
    let admin = app.user_by_email("admin@firma.uz").await.unwrap().unwrap();
    assert_eq!(admin.name, "Dilnoza Karimova");
    let actor = app.actor(&admin).await.unwrap();
    let def = hamkor_domain::objects::ObjectDef::get(hamkor_domain::ObjectType::Account);
    let acc = app
        .get_record(
            &actor,
            def,
            "01900000-0000-7000-8000-000300000001".parse().unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(acc.fields["legal_name"], "Bahor Textile MChJ");
    assert_eq!(acc.version, 4);
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_keeps_every_record_sqlite() {
    upgrade_keeps_every_record(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upgrade_keeps_every_record_postgres() {
    upgrade_keeps_every_record(Backend::Postgres).await;
}
