//! Durability: no lost update when 50 clients read-modify-write one record with
//! `If-Match` for a few seconds (each accepted write was based on the state the previous
//! accepted write left, the record ends as the last accepted write made it, and every other
//! write got 412); SQLite's `synchronous` setting is taken from the flag, the variable or
//! the settings file, and a wrong value is refused.

use crate::both;
use crate::support::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 50;
const SECONDS: u64 = 3;

/// An accepted write: the version it was based on and what it read and wrote.
#[derive(Debug, Clone)]
struct Accepted {
    based_on: i64,
    read: String,
    wrote: String,
}

async fn concurrent_writers_lose_no_update(t: TestApp) {
    let id = t.account("admin", "admin", "Contended").await;
    let path = format!("/api/v1/accounts/{id}");
    let (s, v) = t
        .patch("admin", &path, json!({"legal_name": "start"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let start_version = v["version"].as_i64().unwrap();
    let t = Arc::new(t);
    let deadline = Instant::now() + Duration::from_secs(SECONDS);
    // On a machine busy with other work few writes may get through in SECONDS: the clients
    // then go on (up to a minute) until ten have been accepted, so the checks below always
    // have a sequence to check.
    let enough = Instant::now() + Duration::from_secs(60);
    let total = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let t = t.clone();
        let path = path.clone();
        let total = total.clone();
        clients.push(tokio::spawn(async move {
            let (mut accepted, mut refused) = (Vec::new(), 0u64);
            let mut n = 0;
            let go_on = || {
                let now = Instant::now();
                now < deadline
                    || (now < enough && total.load(std::sync::atomic::Ordering::SeqCst) < 10)
            };
            while go_on() {
                let (s, v) = t.get("admin", &path).await;
                assert_eq!(s, StatusCode::OK, "{v}");
                let version = v["version"].as_i64().unwrap();
                let read = v["legal_name"].as_str().unwrap().to_string();
                // The new value depends on what was read: a write based on a stale read
                // would drop the writes in between.
                let wrote = format!("{}>{c}.{n}", read.rsplit('>').next().unwrap_or(""));
                n += 1;
                let (s, _, v) = t
                    .request(
                        "admin",
                        Method::PATCH,
                        &path,
                        Some(&json!({"legal_name": wrote})),
                        &[("if-match", &format!("\"{version}\""))],
                    )
                    .await;
                match s {
                    StatusCode::OK => {
                        assert_eq!(v["version"].as_i64(), Some(version + 1), "{v}");
                        accepted.push(Accepted {
                            based_on: version,
                            read,
                            wrote,
                        });
                        total.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    StatusCode::PRECONDITION_FAILED => refused += 1,
                    other => panic!("a write got {other}, not 200 or 412: {v}"),
                }
            }
            (accepted, refused)
        }));
    }
    let mut accepted: Vec<Accepted> = Vec::new();
    let mut refused = 0;
    for c in clients {
        let (a, r) = c.await.unwrap();
        accepted.extend(a);
        refused += r;
    }
    assert!(accepted.len() >= 10, "{} writes accepted", accepted.len());
    assert!(
        refused > 0,
        "with {CLIENTS} clients on one record some writes must collide"
    );
    // One accepted write per version, each based on the one before.
    accepted.sort_by_key(|a| a.based_on);
    let mut expected_read = "start".to_string();
    for (i, a) in accepted.iter().enumerate() {
        assert_eq!(a.based_on, start_version + i as i64, "versions in sequence");
        assert_eq!(
            a.read, expected_read,
            "write {i} read what the write before it wrote"
        );
        expected_read = a.wrote.clone();
    }
    let (s, v) = t.get("admin", &path).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        v["legal_name"],
        expected_read.as_str(),
        "the last accepted write stands"
    );
    assert_eq!(
        v["version"].as_i64(),
        Some(start_version + accepted.len() as i64)
    );
}
both!(concurrent_writers_lose_no_update);

#[test]
fn the_sqlite_synchronous_setting_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}/s.db", dir.path().display());
    let run = |value: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_hamkor"))
            .env("HAMKOR_DATABASE_URL", &db)
            .env("HAMKOR_CONFIG", "/nonexistent/hamkor.toml")
            .env("HAMKOR_LOG", "warn")
            .env("HAMKOR_SQLITE_SYNCHRONOUS", value)
            .arg("migrate")
            .output()
            .unwrap()
    };
    let out = run("full");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run("off");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sqlite_synchronous must be normal or full, not \"off\""),
        "{err}"
    );
    // From the settings file too.
    let config = dir.path().join("hamkor.toml");
    std::fs::write(&config, "sqlite_synchronous = \"sometimes\"\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hamkor"))
        .env("HAMKOR_DATABASE_URL", &db)
        .env("HAMKOR_CONFIG", &config)
        .env("HAMKOR_LOG", "warn")
        .env_remove("HAMKOR_SQLITE_SYNCHRONOUS")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"sometimes\""));
}

/// The indexes of `table` that are not unique, by name, as the database lists them, and
/// whether SQLite's trigger feeding its search index is there.
async fn secondary_indexes(db: &hamkor_store::Db, table: &'static str) -> (Vec<String>, bool) {
    use hamkor_store::{Backend, Exec, Sql};
    let mut q = db.clone();
    let mut sql = match q.backend() {
        Backend::Sqlite => Sql::new(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name = ",
        ),
        Backend::Postgres => Sql::new(
            "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() \
             AND indexdef NOT LIKE 'CREATE UNIQUE%' AND tablename = ",
        ),
    };
    sql.bind(table).push(" ORDER BY name");
    let names = q
        .fetch_all(&sql)
        .await
        .unwrap()
        .iter()
        .map(|r| r.req_text("name").unwrap())
        .collect();
    let trigger = match q.backend() {
        Backend::Sqlite => q
            .fetch_optional(
                &Sql::new("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = $1")
                    .arg(format!("{table}_search_insert")),
            )
            .await
            .unwrap()
            .is_some(),
        Backend::Postgres => true,
    };
    (names, trigger)
}

/// How many live contacts a search for `q` finds, as the generator's administrator.
async fn found(app: &hamkor_app::App, q: &str) -> usize {
    let admin = app
        .user_by_email("generator@hamkor.local")
        .await
        .unwrap()
        .unwrap();
    let actor = app.actor(&admin).await.unwrap();
    app.list_records(
        &actor,
        &hamkor_domain::objects::CONTACT,
        &[
            ("q".to_string(), q.to_string()),
            ("count".into(), "true".into()),
        ],
    )
    .await
    .unwrap()
    .total
    .unwrap() as usize
}

/// A bulk load (the generator) sets the indexes of the tables it fills aside and builds
/// them at its end; one that dies half-way has them built by the next start, search index
/// included, with the rows written meanwhile in it and the staged number keys moved in.
async fn deferred_indexes_come_back(backend: crate::support::Backend) {
    use hamkor_store::records::{BatchRecord, insert_batch_staged};
    let Some((url, _dir)) = crate::support::fresh_database(backend).await else {
        eprintln!("skipped: set HAMKOR_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    };
    let db = hamkor_store::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let before = secondary_indexes(&db, "contacts").await;
    assert!(before.0.len() >= 5 && before.1, "{before:?}");
    let app = hamkor_app::App::new(db.clone());
    let sizes = |contacts| hamkor_app::generate::Sizes {
        contacts,
        accounts: None,
        interactions: Some(200),
    };
    let planning = hamkor_app::generate::PlanningSizes::default();
    app.generate_with(sizes(300), &planning, 3, |_, _| {})
        .await
        .unwrap();
    assert_eq!(secondary_indexes(&db, "contacts").await, before);
    // The planner knows the rows are there (the load ends with ANALYZE).
    use hamkor_store::Exec;
    let mut ex = db.clone();
    let estimate = match backend {
        crate::support::Backend::Sqlite => ex
            .fetch_optional(&hamkor_store::Sql::new(
                "SELECT CAST(stat AS INTEGER) AS n FROM sqlite_stat1 \
                 WHERE tbl = 'contacts' AND idx = 'contacts_last_name'",
            ))
            .await
            .unwrap()
            .map(|r| r.req_int("n").unwrap()),
        crate::support::Backend::Postgres => ex
            .fetch_optional(&hamkor_store::Sql::new(
                "SELECT CAST(reltuples AS BIGINT) AS n FROM pg_class WHERE relname = 'contacts'",
            ))
            .await
            .unwrap()
            .map(|r| r.req_int("n").unwrap()),
    };
    assert!(estimate.unwrap_or(0) >= 300, "{estimate:?}");
    drop(ex);
    let generated = found(&app, "ov").await;
    assert!(generated > 0, "the generated contacts are found by name");

    // A load that dies after setting the indexes aside and writing a row.
    hamkor_store::deferred::defer_indexes(&db, &["contacts", "interactions", "search_numbers"])
        .await
        .unwrap();
    assert_eq!(
        secondary_indexes(&db, "contacts").await,
        (vec![], backend == crate::support::Backend::Postgres)
    );
    let owner = app
        .user_by_email("generator@hamkor.local")
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut fields = serde_json::Map::new();
    fields.insert("first_name".into(), json!("Zebiniso"));
    fields.insert("last_name".into(), json!("Xoldorovaxon"));
    fields.insert(
        "phones".into(),
        json!([{"number": "+998 97 111 20 33", "kind": "mobile", "e164": "+998971112033"}]),
    );
    let mut tx = db.begin().await.unwrap();
    insert_batch_staged(
        &mut tx,
        &hamkor_domain::objects::CONTACT,
        owner,
        &[BatchRecord {
            id: hamkor_domain::Id::new(),
            fields,
            owner_id: owner,
            created_at: hamkor_domain::Timestamp::now(),
            account_links: vec![],
            custom: serde_json::Map::new(),
            index: None,
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // A restore that fails part-way keeps the steps done before: each is a transaction
    // that takes itself off the note. (A step that cannot be built, put first among the
    // indexes: the staged rows and the search index come before it.)
    use hamkor_store::settings;
    const NOTE: &str = "bulk_load_deferred";
    let mut ex = db.clone();
    let mut note: serde_json::Value =
        serde_json::from_str(&settings::get(&mut ex, NOTE).await.unwrap().unwrap()).unwrap();
    let indexes = note["indexes"].as_array().unwrap().len();
    note["indexes"].as_array_mut().unwrap().insert(
        0,
        json!(["broken", "CREATE INDEX broken ON no_such_table (x)"]),
    );
    settings::set(&mut ex, NOTE, &note.to_string())
        .await
        .unwrap();
    if backend == crate::support::Backend::Sqlite {
        // FTS5 writes a segment whenever its pending terms pass this many bytes: small,
        // the rebuild leaves many.
        ex.execute(&hamkor_store::Sql::new(
            "INSERT INTO contacts_search (contacts_search, rank) VALUES ('hashsize', 1024)",
        ))
        .await
        .unwrap();
    }
    assert!(hamkor_store::deferred::restore_deferred(&db).await.is_err());
    let note: serde_json::Value =
        serde_json::from_str(&settings::get(&mut ex, NOTE).await.unwrap().unwrap()).unwrap();
    assert_eq!(note["staged"], json!([]), "{note}");
    assert_eq!(note["search"], json!([]), "{note}");
    assert_eq!(note["indexes"][0][0], "broken", "{note}");
    assert_eq!(note["indexes"].as_array().unwrap().len(), indexes + 1);
    let app = hamkor_app::App::new(db.clone());
    assert_eq!(
        found(&app, "xoldorovax").await,
        1,
        "the search index is back"
    );
    if backend == crate::support::Backend::Sqlite {
        // Rebuilt, and merged into one segment (a search asks each one).
        assert_eq!(
            hamkor_store::fts::segments(&db, "contacts_search")
                .await
                .unwrap(),
            1
        );
    }
    assert_eq!(found(&app, "971112033").await, 1, "the numbers are moved");
    // Without the broken step, the rest is left for the next start.
    let mut note = note;
    note["indexes"].as_array_mut().unwrap().remove(0);
    settings::set(&mut ex, NOTE, &note.to_string())
        .await
        .unwrap();
    drop(ex);
    db.close().await;

    // The next start builds them again, and the note of what was set aside is gone.
    let db = hamkor_store::Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    assert_eq!(secondary_indexes(&db, "contacts").await, before);
    assert!(!secondary_indexes(&db, "interactions").await.0.is_empty());
    let app = hamkor_app::App::new(db.clone());
    assert_eq!(found(&app, "xoldorovax").await, 1);
    // Its number keys waited in the staged table and are in the number index now.
    assert_eq!(found(&app, "971112033").await, 1);
    assert_eq!(found(&app, "ov").await, generated + 1);
    assert!(
        !hamkor_store::deferred::restore_deferred(&db).await.unwrap(),
        "nothing is left to build"
    );
    let mut ex = db.clone();
    assert_eq!(settings::get(&mut ex, NOTE).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_indexes_come_back_sqlite() {
    deferred_indexes_come_back(crate::support::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_indexes_come_back_postgres() {
    deferred_indexes_come_back(crate::support::Backend::Postgres).await;
}
