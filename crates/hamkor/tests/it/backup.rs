//! `hamkor backup` and `hamkor restore`: a backup of the demo company with an attachment
//! restores into a new database of the same engine and of the other one, with every
//! table's checksum and the API's answers unchanged; a backup taken while others write is
//! of one moment; a restore refuses a database with data and a damaged file, and changes
//! nothing then; bad files never make it panic.

use crate::support::{Backend, TestApp, fresh_database, pg_url};
use hamkor_app::App;
use hamkor_store::backup::{self, BackupError, format::Manifest};
use hamkor_store::{Db, Exec, Sql};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A PDF whose body holds every byte value, so a blob that loses or changes one shows.
fn attachment_bytes() -> Vec<u8> {
    let mut b = b"%PDF-1.7\n%".to_vec();
    for _ in 0..40 {
        b.extend(0u8..=255);
    }
    b.extend_from_slice(b"\n%%EOF\n");
    b
}

/// Serves `app` on a free port; returns its address.
async fn serve(app: App) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = hamkor_web::router(
        app,
        hamkor_web::WebConfig {
            base_url: base.clone(),
            max_upload_bytes: 1 << 20,
            trusted_proxies: Vec::new(),
            max_concurrent_requests: hamkor_web::overload::DEFAULT_MAX_CONCURRENT_REQUESTS,
            // Every refusal is audited, so the tests can find each one.
            refusals_audited_per_minute: u32::MAX,
        },
    );
    tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    base
}

async fn get(base: &str, token: &str, path: &str) -> (reqwest::StatusCode, Vec<u8>) {
    let resp = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.bytes().await.unwrap().to_vec())
}

async fn get_json(base: &str, token: &str, path: &str) -> Value {
    let (s, body) = get(base, token, path).await;
    assert_eq!(
        s,
        reqwest::StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body).unwrap()
}

/// A database with the demo company, an API token and a file on an account.
struct Source {
    db: Db,
    base: String,
    token: String,
    contact: String,
    search: String,
    attachment: String,
    _dir: Option<tempfile::TempDir>,
}

async fn demo_source(backend: Backend) -> Option<Source> {
    let (url, dir) = fresh_database(backend).await?;
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let app = App::new(db.clone());
    app.refresh_search_keys().await.unwrap();
    app.ensure_demo().await.unwrap().expect("the demo company");
    let admin = app
        .user_by_email("admin@demo.hamkor.uz")
        .await
        .unwrap()
        .expect("the demo administrator");
    let token = app.create_token(admin.id, "backup test").await.unwrap();
    let actor = app.actor(&admin).await.unwrap();
    let base = serve(app.clone()).await;
    let contacts = get_json(&base, &token, "/api/v1/contacts?sort=last_name&limit=5").await;
    let contact = contacts["items"][0]["id"].as_str().unwrap().to_string();
    let search = contacts["items"][0]["last_name"]
        .as_str()
        .unwrap()
        .to_string();
    let accounts = get_json(&base, &token, "/api/v1/accounts?limit=1").await;
    let account: hamkor_domain::Id = accounts["items"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let meta = app
        .attach(
            &actor,
            &hamkor_domain::objects::ACCOUNT,
            account,
            "Shartnoma №7.pdf",
            attachment_bytes(),
            1 << 20,
        )
        .await
        .unwrap();
    Some(Source {
        db,
        base,
        token,
        contact,
        search,
        attachment: meta.id.to_string(),
        _dir: dir,
    })
}

fn quiet() -> impl FnMut(&str, u64) + Send {
    |_: &str, _: u64| {}
}

async fn take_backup(db: &Db, path: &Path) -> Manifest {
    backup::backup(db, path, &mut quiet())
        .await
        .expect("backup")
        .manifest
}

/// Restores `file` into a new database of `backend`; `None` when that engine is not
/// configured.
async fn restore_fresh(
    backend: Backend,
    file: &Path,
) -> Option<(Db, backup::RestoreReport, Option<tempfile::TempDir>)> {
    let (url, dir) = fresh_database(backend).await?;
    let db = Db::connect(&url).await.unwrap();
    let report = backup::restore(&db, file, &mut quiet())
        .await
        .unwrap_or_else(|e| panic!("restore into {backend:?}: {e}"));
    Some((db, report, dir))
}

fn tables(m: &Manifest) -> Vec<(String, u64, String)> {
    m.tables
        .iter()
        .map(|t| (t.name.clone(), t.rows, t.checksum.clone()))
        .collect()
}

async fn round_trip(from: Backend) {
    let Some(src) = demo_source(from).await else {
        eprintln!("skipped: set HAMKOR_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hamkor.backup");
    let manifest = take_backup(&src.db, &file).await;
    let row_count = |name: &str| {
        manifest
            .tables
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.rows)
            .unwrap_or_else(|| panic!("no table {name} in {:?}", tables(&manifest)))
    };
    assert!(row_count("contacts") >= 10, "{:?}", tables(&manifest));
    assert_eq!(row_count("attachments"), 1);
    assert!(row_count("interactions") > 0 && row_count("users") >= 6);
    assert!(
        !manifest.tables.iter().any(|t| t.name.ends_with("_search")
            || t.name.starts_with("sqlite")
            || t.name.starts_with("_sqlx")),
        "derived and internal tables are left out: {:?}",
        tables(&manifest)
    );
    let contact_path = format!("/api/v1/contacts/{}", src.contact);
    let search_path = format!("/api/v1/search?q={}", urlencoding::encode(&src.search));
    let attachment_path = format!("/api/v1/attachments/{}", src.attachment);
    let contact = get_json(&src.base, &src.token, &contact_path).await;
    let found = get_json(&src.base, &src.token, &search_path).await;
    assert!(
        found["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == contact["id"]),
        "the source finds the contact: {found}"
    );
    let (s, bytes) = get(&src.base, &src.token, &attachment_path).await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert_eq!(bytes, attachment_bytes());
    let other = match from {
        Backend::Sqlite => Backend::Postgres,
        Backend::Postgres => Backend::Sqlite,
    };
    let mut restored_into = 0;
    for to in [from, other] {
        let Some((db, report, _dir)) = restore_fresh(to, &file).await else {
            eprintln!("{from:?} → {to:?} skipped: PostgreSQL not configured");
            continue;
        };
        restored_into += 1;
        assert_eq!(report.tables.len(), manifest.tables.len());
        assert!(report.tables.iter().all(|t| t.ok()), "{:?}", report.tables);
        // Independently: a backup of the restored database has the same checksums.
        let again = take_backup(&db, &dir.path().join(format!("again-{to:?}"))).await;
        assert_eq!(tables(&again), tables(&manifest), "{from:?} → {to:?}");
        assert_eq!(
            again.engine,
            if to == Backend::Sqlite {
                "sqlite"
            } else {
                "postgres"
            }
        );
        // And the API answers the same, with the same token.
        let base = serve(App::new(db.clone())).await;
        assert_eq!(
            get_json(&base, &src.token, &contact_path).await,
            contact,
            "{from:?} → {to:?}"
        );
        assert_eq!(
            get_json(&base, &src.token, &search_path).await,
            found,
            "search after {from:?} → {to:?}"
        );
        let (s, restored) = get(&base, &src.token, &attachment_path).await;
        assert_eq!(s, reqwest::StatusCode::OK);
        assert!(
            restored == attachment_bytes(),
            "the attachment's bytes survive {from:?} → {to:?}"
        );
        // The restored database takes new writes (keys, search index, triggers work).
        let resp = reqwest::Client::new()
            .post(format!("{base}/api/v1/contacts"))
            .bearer_auth(&src.token)
            .json(&serde_json::json!({"first_name": "Yangi", "last_name": "Tiklangan"}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::CREATED);
        let hit = get_json(&base, &src.token, "/api/v1/search?q=Tiklangan").await;
        assert_eq!(hit["items"].as_array().unwrap().len(), 1, "{hit}");
    }
    assert!(restored_into >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_backup_restores_into_both_engines() {
    round_trip(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_backup_restores_into_both_engines() {
    round_trip(Backend::Postgres).await;
}

/// Writes pairs, a team and a saved view of the same name, in one transaction each until
/// stopped.
fn write_pairs(
    db: Db,
    user: hamkor_domain::Id,
    stop: Arc<AtomicBool>,
    committed: Arc<AtomicU64>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut n = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let now = hamkor_domain::Timestamp::now();
            let name = format!("pair-{n}");
            let mut tx = db.begin().await.unwrap();
            tx.execute(
                &Sql::new(
                    "INSERT INTO teams (id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)",
                )
                .arg(hamkor_domain::Id::new())
                .arg(name.clone())
                .arg(now),
            )
            .await
            .unwrap();
            // Yield between the two, so the backup could see one without the other.
            tokio::task::yield_now().await;
            tx.execute(
                &Sql::new(
                    "INSERT INTO saved_views (id, user_id, object, name, params, shared, created_at) \
                     VALUES ($1, $2, 'pair', $3, '{}', $4, $5)",
                )
                .arg(hamkor_domain::Id::new())
                .arg(user)
                .arg(name)
                .arg(false)
                .arg(now),
            )
            .await
            .unwrap();
            tx.commit().await.unwrap();
            n += 1;
            committed.store(n, Ordering::SeqCst);
        }
    })
}

async fn count(db: &Db, sql: &'static str) -> i64 {
    let mut db = db.clone();
    db.fetch_optional(&Sql::new(sql))
        .await
        .unwrap()
        .unwrap()
        .req_int("n")
        .unwrap()
}

async fn consistent_while_others_write(backend: Backend) {
    let Some((url, _dir)) = fresh_database(backend).await else {
        eprintln!("skipped: set HAMKOR_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    };
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    let app = App::new(db.clone());
    app.generate_with(
        hamkor_app::generate::Sizes {
            contacts: 1500,
            accounts: None,
            interactions: None,
        },
        &hamkor_app::generate::PlanningSizes::default(),
        7,
        |_, _| {},
    )
    .await
    .unwrap();
    // The two halves of a pair are read far apart, with the big tables between.
    let order: Vec<String> = db
        .describe_tables()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    let at = |n: &str| order.iter().position(|t| t == n).unwrap();
    assert!(
        at("teams") < at("interactions") && at("interactions") < at("saved_views"),
        "{order:?}"
    );
    let mut q = db.clone();
    let user = q
        .fetch_optional(&Sql::new("SELECT id FROM users ORDER BY id LIMIT 1"))
        .await
        .unwrap()
        .unwrap()
        .req_id("id")
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(0));
    let writer = write_pairs(db.clone(), user, stop.clone(), committed.clone());
    while committed.load(Ordering::SeqCst) < 5 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("busy.backup");
    let before = committed.load(Ordering::SeqCst);
    let manifest = take_backup(&db, &file).await;
    let after = committed.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    assert!(
        after > before,
        "pairs were written while the backup ran ({before}, {after})"
    );
    let (restored, report, _d) = restore_fresh(backend, &file).await.unwrap();
    assert!(report.tables.iter().all(|t| t.ok()));
    let teams = count(
        &restored,
        "SELECT COUNT(*) AS n FROM teams WHERE name LIKE 'pair-%'",
    )
    .await;
    let views = count(
        &restored,
        "SELECT COUNT(*) AS n FROM saved_views WHERE object = 'pair'",
    )
    .await;
    let matched = count(
        &restored,
        "SELECT COUNT(*) AS n FROM teams t JOIN saved_views v ON v.name = t.name AND v.object = 'pair'",
    )
    .await;
    assert_eq!((teams, views), (matched, matched), "no half pair");
    assert!(
        (before as i64..=after as i64).contains(&teams),
        "the snapshot holds {teams} pairs: at least the {before} before and at most the {after} after"
    );
    let rows = |name: &str| {
        manifest
            .tables
            .iter()
            .find(|t| t.name == name)
            .unwrap()
            .rows
    };
    assert!(rows("interactions") >= 7000);
    // The source kept writing: it has more than the backup.
    assert!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM teams WHERE name LIKE 'pair-%'"
        )
        .await
            >= after as i64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_others_write_is_of_one_moment_sqlite() {
    consistent_while_others_write(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_others_write_is_of_one_moment_postgres() {
    consistent_while_others_write(Backend::Postgres).await;
}

async fn a_database_with_data_is_refused(t: TestApp) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("own.backup");
    let before = take_backup(&t.app.db, &file).await;
    let err = backup::restore(&t.app.db, &file, &mut quiet())
        .await
        .expect_err("a database with data is refused");
    assert!(matches!(err, BackupError::NotEmpty { .. }), "{err}");
    assert!(err.to_string().contains("not empty"), "{err}");
    let after = take_backup(&t.app.db, &dir.path().join("after")).await;
    assert_eq!(tables(&after), tables(&before), "nothing changed");
}
crate::both!(a_database_with_data_is_refused);

/// The file's lines, uncompressed.
fn lines(file: &Path) -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(file).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(str::to_string).collect()
}

fn write_lines(file: &Path, lines: &[String]) {
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(file).unwrap(),
        flate2::Compression::fast(),
    );
    for l in lines {
        gz.write_all(l.as_bytes()).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    gz.finish().unwrap();
}

/// Restores `file` into a new database, expecting a refusal that says `says`; the
/// database keeps no row.
async fn refused(backend: Backend, file: &Path, says: &str) {
    let (url, _dir) = fresh_database(backend).await.unwrap();
    let db = Db::connect(&url).await.unwrap();
    let err = backup::restore(&db, file, &mut quiet())
        .await
        .expect_err("a bad file is refused");
    let text = err.to_string();
    assert!(text.contains(says), "expected {says:?} in: {text}");
    assert_eq!(backup::table_with_rows(&db).await.unwrap(), None, "{text}");
    db.close().await;
}

async fn a_damaged_file_is_refused_and_nothing_is_kept(t: TestApp) {
    let backend = if t.db_url.starts_with("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    t.account("sales_a1", "sales_a1", "Bad file test").await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.backup");
    take_backup(&t.app.db, &good).await;
    let bytes = std::fs::read(&good).unwrap();
    let original = lines(&good);
    let path = |name: &str| dir.path().join(name);

    // Cut in the middle.
    std::fs::write(path("cut"), &bytes[..bytes.len() / 2]).unwrap();
    refused(backend, &path("cut"), "truncated").await;
    // A byte changed inside the compressed stream.
    let mut flipped = bytes.clone();
    let at = bytes.len() * 2 / 3;
    flipped[at] ^= 0x55;
    std::fs::write(path("flipped"), &flipped).unwrap();
    refused(backend, &path("flipped"), "the backup file").await;
    // Not a backup at all.
    std::fs::write(path("text"), "id,name\n1,Toshkent\n").unwrap();
    refused(backend, &path("text"), "not a Hamkor backup").await;
    std::fs::write(path("empty"), b"").unwrap();
    refused(backend, &path("empty"), "not a Hamkor backup").await;
    // A value changed, the compression intact: the table's checksum catches it.
    let mut edited = original.clone();
    let row = edited
        .iter()
        .position(|l| l.starts_with('[') && l.contains("Bad file test"))
        .unwrap();
    edited[row] = edited[row].replace("Bad file test", "Bad file tset");
    write_lines(&path("edited"), &edited);
    refused(backend, &path("edited"), "do not add up to the checksum").await;
    // A row left out, with the rest intact.
    let mut dropped = original.clone();
    dropped.remove(row);
    write_lines(&path("dropped"), &dropped);
    refused(backend, &path("dropped"), "rows, but its end says").await;
    // The manifest lost.
    write_lines(&path("nomanifest"), &original[..original.len() - 1]);
    refused(backend, &path("nomanifest"), "without the manifest").await;
    // From a newer Hamkor.
    let mut newer = original.clone();
    newer[0] = newer[0].replacen("\"schema_version\":", "\"schema_version\":9", 1);
    write_lines(&path("newer"), &newer);
    refused(backend, &path("newer"), "newer than this Hamkor knows").await;
    let mut format = original.clone();
    format[0] = format[0].replace("\"format_version\":1", "\"format_version\":2");
    write_lines(&path("format"), &format);
    refused(backend, &path("format"), "format version 2").await;
    // A good file after all that restores.
    let (_db, report, _d) = restore_fresh(backend, &good).await.unwrap();
    assert!(report.tables.iter().all(|t| t.ok()));
}
crate::both!(a_damaged_file_is_refused_and_nothing_is_kept);

/// A backup of a schema older than this program's: restored at its version, then the
/// newer migrations run over it. The older database is made by running the migrations
/// up to 27 (before the login-security tables of 28).
async fn an_older_backup_is_migrated_after_restoring(t: TestApp) {
    let backend = if t.db_url.starts_with("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let dir = tempfile::tempdir().unwrap();
    let (url, _d0) = fresh_database(backend).await.unwrap();
    let older = Db::connect(&url).await.unwrap();
    older.migrate_to(27).await.unwrap();
    let team = hamkor_domain::Id::new();
    let now = hamkor_domain::Timestamp::now();
    let mut ex = older.clone();
    ex.execute(
        &Sql::new("INSERT INTO teams (id, name, created_at, updated_at) VALUES ($1, $2, $3, $4)")
            .arg(team)
            .arg("Toshkent — «Север»")
            .arg(now)
            .arg(now),
    )
    .await
    .unwrap();
    let old = dir.path().join("old.backup");
    let m = take_backup(&older, &old).await;
    assert_eq!(m.schema_version, 27);
    let latest = *older.known_schema_versions().iter().max().unwrap();
    assert!(latest > 27, "this test needs a migration after 27");
    let (db, report, _d) = restore_fresh(backend, &old).await.unwrap();
    assert_eq!(report.header.schema_version, 27);
    assert_eq!(report.schema_version, latest);
    assert!(report.tables.iter().all(|t| t.ok()));
    let again = take_backup(&db, &dir.path().join("again")).await;
    assert_eq!(again.schema_version, latest);
    let mut ex = db.clone();
    let row = ex
        .fetch_optional(&Sql::new("SELECT name FROM teams WHERE id = $1").arg(team))
        .await
        .unwrap()
        .expect("the team came back");
    assert_eq!(row.req_text("name").unwrap(), "Toshkent — «Север»");
    // A database already at a newer schema than the backup is refused.
    let (url, _d2) = fresh_database(backend).await.unwrap();
    let target = Db::connect(&url).await.unwrap();
    target.migrate().await.unwrap();
    let err = backup::restore(&target, &old, &mut quiet())
        .await
        .unwrap_err();
    assert!(matches!(err, BackupError::TargetNewer { .. }), "{err}");
}
crate::both!(an_older_backup_is_migrated_after_restoring);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_never_panic() {
    use rand::{Rng, SeedableRng};
    let t = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.backup");
    take_backup(&t.app.db, &good).await;
    let bytes = std::fs::read(&good).unwrap();
    let original = lines(&good);
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let bad = dir.path().join("bad");
    for i in 0..300 {
        if i % 2 == 0 {
            // Damage to the compressed bytes.
            let mut b = bytes.clone();
            match rng.random_range(0..3) {
                0 => b.truncate(rng.random_range(0..b.len())),
                1 => {
                    let at = rng.random_range(0..b.len());
                    b[at] = rng.random();
                }
                _ => {
                    let at = rng.random_range(0..b.len());
                    b.insert(at, rng.random());
                }
            }
            std::fs::write(&bad, &b).unwrap();
        } else {
            // Damage the compression cannot see: to the lines themselves.
            let mut l = original.clone();
            let n = rng.random_range(0..l.len());
            match rng.random_range(0..4) {
                0 => {
                    let s = &mut l[n];
                    let mut chars: Vec<char> = s.chars().collect();
                    let at = rng.random_range(0..chars.len().max(1));
                    if at < chars.len() {
                        chars[at] =
                            ['"', '[', '{', '0', 'x', ',', ']', '}'][rng.random_range(0..8)];
                    }
                    *s = chars.into_iter().collect();
                }
                1 => {
                    l.remove(n);
                }
                2 => {
                    let dup = l[n].clone();
                    l.insert(n, dup);
                }
                _ => {
                    let m = rng.random_range(0..l.len());
                    l.swap(n, m);
                }
            }
            if l == original {
                continue;
            }
            write_lines(&bad, &l);
        }
        if let Err(e) = backup::check_file(&bad).await {
            let text = e.to_string();
            assert!(!text.is_empty() && !text.contains("unexpectedly"), "{text}");
        }
    }
}

/// Both engines describe every table alike (columns and what they hold, keys,
/// references), and a new database has rows only where the migrations put them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_describe_every_table_alike() {
    let mut described = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some((url, dir)) = fresh_database(backend).await else {
            continue;
        };
        let db = Db::connect(&url).await.unwrap();
        db.migrate().await.unwrap();
        let mut filled = Vec::new();
        let mut all = Vec::new();
        for t in db.describe_tables().await.unwrap() {
            let sql = format!("SELECT COUNT(*) AS n FROM {}", t.name);
            let mut q = db.clone();
            let n = q
                .fetch_optional(&Sql::new(Box::leak(sql.into_boxed_str())))
                .await
                .unwrap()
                .unwrap()
                .req_int("n")
                .unwrap();
            if n > 0 {
                filled.push(t.name.clone());
            }
            let mut refs = t.refs.clone();
            refs.sort();
            let cols: Vec<_> = t
                .columns
                .iter()
                .map(|c| (c.name.clone(), c.kind, c.not_null))
                .collect();
            all.push((t.name, cols, t.primary_key, refs));
        }
        assert_eq!(filled, backup::FILLED_BY_MIGRATIONS, "{backend:?}");
        described.push((backend, all));
        drop(dir);
    }
    if pg_url().is_none() {
        eprintln!("only SQLite described: set HAMKOR_TEST_DATABASE_URL to compare");
        return;
    }
    let (a, b) = (&described[0].1, &described[1].1);
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(
            x, y,
            "table {} differs between SQLite and PostgreSQL; a new column of a kind SQLite's \
             declared type does not say (uuid, timestamp, date, json, bool) needs its line in \
             crates/hamkor-store/src/backup/sqlite_types.txt",
            x.0
        );
    }
}

// The binary, as an administrator runs it.

fn hamkor(db: &str) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_hamkor"));
    c.env("HAMKOR_DATABASE_URL", db)
        .env("HAMKOR_CONFIG", "/nonexistent/hamkor.toml")
        .env("HAMKOR_LOG", "warn");
    c
}

fn run(c: &mut std::process::Command) -> (bool, String, String) {
    let out = c.output().expect("run hamkor");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_commands_move_a_sqlite_database_to_postgres() {
    let (src, _d1) = fresh_database(Backend::Sqlite).await.unwrap();
    let (ok, _, err) = run(hamkor(&src).args([
        "generate",
        "--contacts",
        "300",
        "--deals",
        "30",
        "--tasks",
        "30",
    ]));
    assert!(ok, "{err}");
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("crm.backup");
    let (ok, out, err) = run(hamkor(&src).arg("backup").arg(&file));
    assert!(ok, "{out}{err}");
    assert!(
        err.contains("Backed up") && err.contains("rows of"),
        "{err}"
    );
    assert!(!dir.path().join("crm.backup.part").exists());
    let (ok, out, err) = run(hamkor(&src).args(["restore", "--check"]).arg(&file));
    assert!(ok, "{out}{err}");
    assert!(out.contains("every table matches"), "{out}");
    // Into PostgreSQL when there is one, else into another SQLite file.
    let target = if pg_url().is_some() {
        Backend::Postgres
    } else {
        Backend::Sqlite
    };
    let (dst, _d2) = fresh_database(target).await.unwrap();
    let (ok, out, err) = run(hamkor(&dst).arg("restore").arg(&file));
    assert!(ok, "{out}{err}");
    let contacts = out
        .lines()
        .find(|l| l.starts_with("contacts "))
        .unwrap_or_else(|| panic!("a line for contacts: {out}"));
    assert!(
        contacts.contains(" 300 ") && contacts.ends_with("ok"),
        "{contacts}"
    );
    assert!(out.contains("every table matches"), "{out}");
    // Again into the same database: refused, exit 1, the reason named.
    let (ok, out, err) = run(hamkor(&dst).arg("restore").arg(&file));
    assert!(!ok, "{out}");
    assert!(err.contains("not empty"), "{err}");
    // A cut file into a new database: refused, the database holds nothing.
    let cut = dir.path().join("cut.backup");
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() - 100]).unwrap();
    let (dst2, _d3) = fresh_database(target).await.unwrap();
    let (ok, out, err) = run(hamkor(&dst2).arg("restore").arg(&cut));
    assert!(!ok, "{out}");
    assert!(
        err.contains("truncated") && err.contains("holds none of it"),
        "{err}"
    );
    let db = Db::connect(&dst2).await.unwrap();
    assert_eq!(backup::table_with_rows(&db).await.unwrap(), None);
    // The restored copy serves: the generated data is there.
    let restored = Db::connect(&dst).await.unwrap();
    assert!(count(&restored, "SELECT COUNT(*) AS n FROM contacts").await == 300);
}
