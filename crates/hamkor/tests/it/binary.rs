//! The real `hamkor` binary: first start prints a one-time setup link and no default
//! password exists; `serve --demo` prints working demo logins; the shell commands work;
//! SIGTERM stops the server cleanly. Runs on both backends.

use crate::support::{Backend, fresh_database};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub(crate) fn hamkor(db: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hamkor"));
    c.env("HAMKOR_DATABASE_URL", db)
        .env("HAMKOR_CONFIG", "/nonexistent/hamkor.toml")
        .env("HAMKOR_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    c
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `serve` and collects its output up to the "listening" line.
pub(crate) async fn start(db: &str, extra: &[&str]) -> (Child, Vec<String>, String) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = hamkor(db)
        .arg("serve")
        .args(extra)
        .arg("--listen")
        .arg(&listen)
        .spawn()
        .expect("spawn hamkor");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut out = Vec::new();
    let read = async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let done = line.contains("listening");
            out.push(line);
            if done {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("server started");
    (child, out, format!("http://{listen}"))
}

pub(crate) async fn stop(mut child: Child) {
    let pid = child.id().expect("pid") as i32;
    // SIGTERM: a graceful stop that exits 0.
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("stopped in time")
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}

async fn first_start(backend: Backend) {
    let Some((db, _dir)) = fresh_database(backend).await else {
        return;
    };
    let (child, out, base) = start(&db, &[]).await;
    let link = out
        .iter()
        .find_map(|l| l.trim().strip_prefix(&format!("{base}/setup/")))
        .expect("setup link printed")
        .to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // No default password works.
    for pw in ["admin", "password", "hamkor", ""] {
        let r = client
            .post(format!("{base}/login"))
            .form(&[("email", "admin@localhost.localdomain"), ("password", pw)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    }
    let page = client
        .get(format!("{base}/setup/{link}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let short = client
        .post(format!("{base}/setup/{link}"))
        .form(&[("password", "short")])
        .send()
        .await
        .unwrap();
    assert_eq!(short.status(), reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let set = client
        .post(format!("{base}/setup/{link}"))
        .form(&[("password", "a long enough password")])
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), reqwest::StatusCode::SEE_OTHER);
    let again = client
        .get(format!("{base}/setup/{link}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.status(),
        reqwest::StatusCode::NOT_FOUND,
        "the link works once"
    );
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("email", "admin@localhost.localdomain"),
            ("password", "a long enough password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    stop(child).await;

    // The shell commands against the same database.
    let out = hamkor(&db)
        .args([
            "user",
            "create",
            "--email",
            "Aziz@Firma.UZ",
            "--name",
            "Aziz",
            "--role",
            "sales",
        ])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/setup/"), "{text}");
    let bad = hamkor(&db)
        .args([
            "user", "create", "--email", "x@y.uz", "--name", "X", "--role", "root",
        ])
        .output()
        .await
        .unwrap();
    assert!(!bad.status.success());
    let list = hamkor(&db).args(["user", "list"]).output().await.unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("aziz@firma.uz"));
    let token = hamkor(&db)
        .args([
            "token",
            "create",
            "--user",
            "aziz@firma.uz",
            "--name",
            "script",
        ])
        .output()
        .await
        .unwrap();
    assert!(token.status.success());
    let secret = String::from_utf8_lossy(&token.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let (child, _, base) = start(&db, &[]).await;
    let me: serde_json::Value = client
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "aziz@firma.uz");
    assert_eq!(me["role"], "sales");
    assert_eq!(me["two_factor"], false);
    stop(child).await;
    // `user reset-2fa` turns off a user's second factor (here set up behind its back).
    {
        use hamkor_store::Exec;
        let mut store = hamkor_store::Db::connect(&db).await.unwrap();
        store
            .execute(
                &hamkor_store::Sql::new(
                    "UPDATE users SET totp_secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' WHERE email = $1",
                )
                .arg("aziz@firma.uz"),
            )
            .await
            .unwrap();
        store.close().await;
    }
    let reset = hamkor(&db)
        .args(["user", "reset-2fa", "aziz@firma.uz"])
        .output()
        .await
        .unwrap();
    assert!(reset.status.success(), "{reset:?}");
    let (child, _, base) = start(&db, &[]).await;
    let me: serde_json::Value = client
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["two_factor"], false);
    stop(child).await;
    let disable = hamkor(&db)
        .args(["user", "disable", "aziz@firma.uz"])
        .output()
        .await
        .unwrap();
    assert!(disable.status.success());
    let (child, _, base) = start(&db, &[]).await;
    let r = client
        .get(format!("{base}/api/v1/users/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
    stop(child).await;
}

async fn demo(backend: Backend) {
    let Some((db, _dir)) = fresh_database(backend).await else {
        return;
    };
    let (child, out, base) = start(&db, &["--demo"]).await;
    let password = out
        .iter()
        .find_map(|l| l.strip_prefix("Password for all demo users: "))
        .expect("password printed")
        .to_string();
    assert!(out.iter().any(|l| l.contains("head@demo.hamkor.uz")));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .cookie_store(true)
        .build()
        .unwrap();
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("email", "admin@demo.hamkor.uz"),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::SEE_OTHER);
    let accounts = client
        .get(format!("{base}/accounts?limit=100"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(accounts.contains("Bahor Textile MChJ"), "Latin names");
    assert!(accounts.contains("Ипак Йўли Савдо"), "Cyrillic names");
    let contacts = client
        .get(format!("{base}/contacts"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(contacts.contains("Иванов"));
    stop(child).await;
    // A second start with --demo prints the same logins and adds nothing.
    let (child, out2, _) = start(&db, &["--demo"]).await;
    assert!(out2.iter().any(|l| l.ends_with(&password)));
    stop(child).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_sqlite() {
    first_start(Backend::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_postgres() {
    first_start(Backend::Postgres).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_sqlite() {
    demo(Backend::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_postgres() {
    demo(Backend::Postgres).await;
}

/// Reminders survive the server: one due while the server is down is delivered once
/// after it starts again, and a second restart sends nothing more; two servers on one
/// database deliver each reminder once.
async fn reminders_across_restarts(backend: Backend) {
    let Some((db_url, _dir)) = fresh_database(backend).await else {
        return;
    };
    let sink = crate::smtp::SmtpSink::start();
    // A user with an API token, made before any server runs.
    let token = {
        let db = hamkor_store::Db::connect(&db_url).await.unwrap();
        db.migrate().await.unwrap();
        let app = hamkor_app::App::new(db.clone());
        let u = app
            .create_user(
                None,
                hamkor_app::users::UserRequest {
                    email: "aziz@test.hamkor.uz".into(),
                    name: "Aziz".into(),
                    role: "sales".into(),
                    team: None,
                    language: Some("uz".into()),
                    password: Some(crate::support::PASSWORD.into()),
                },
            )
            .await
            .unwrap();
        let token = app.create_token(u.id, "tests").await.unwrap();
        db.close().await;
        token
    };
    let port = sink.port.to_string();
    let serve = |db: &str| {
        let mut c = hamkor(db);
        c.env("HAMKOR_SMTP_HOST", "127.0.0.1")
            .env("HAMKOR_SMTP_PORT", &port)
            .env("HAMKOR_SMTP_SECURITY", "none")
            .env("HAMKOR_SCHEDULER_SECONDS", "1");
        c
    };
    let launch = |mut c: Command| async move {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut child = c.arg("serve").arg("--listen").arg(&listen).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("listening") {
                    break;
                }
            }
        })
        .await
        .expect("server started");
        (child, format!("http://{listen}"))
    };
    let (mut first, base) = launch(serve(&db_url)).await;
    let client = reqwest::Client::new();
    let remind = (chrono::Utc::now() + chrono::Duration::seconds(4)).to_rfc3339();
    let r = client
        .post(format!("{base}/api/v1/tasks"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"title": "Qo‘ng‘iroq qilish", "remind_at": remind}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    // The server dies before the reminder is due.
    first.kill().await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(sink.messages().is_empty());
    let (mut second, base) = launch(serve(&db_url)).await;
    let mail = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].to, vec!["aziz@test.hamkor.uz".to_string()]);
    let notes: serde_json::Value = client
        .get(format!("{base}/api/v1/notifications"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(notes["items"].as_array().unwrap().len(), 1, "{notes}");
    second.kill().await.unwrap();
    // Two servers at once, many reminders due: each goes out once.
    let (a, base) = launch(serve(&db_url)).await;
    let (b, _) = launch(serve(&db_url)).await;
    let remind = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    for i in 0..30 {
        let r = client
            .post(format!("{base}/api/v1/tasks"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"title": format!("Task {i}"), "remind_at": remind}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    }
    let mail = sink.wait_for(31, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.messages().len(), 31, "each reminder once");
    assert_eq!(mail.len(), 31);
    stop(a).await;
    stop(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_across_restarts_sqlite() {
    reminders_across_restarts(Backend::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_across_restarts_postgres() {
    reminders_across_restarts(Backend::Postgres).await;
}

/// An import killed mid-run (`kill -9`) is taken up by the next server from its last
/// batch: the file's rows end up in the database exactly once, the duplicate in the file
/// is skipped once, and nothing is written twice.
async fn import_resumes_after_kill(backend: Backend) {
    let Some((db_url, dir)) = fresh_database(backend).await else {
        return;
    };
    let db = hamkor_store::Db::connect(&db_url).await.unwrap();
    db.migrate().await.unwrap();
    let app = hamkor_app::App::new(db.clone());
    app.create_user(
        None,
        hamkor_app::users::UserRequest {
            email: "admin@test.hamkor.uz".into(),
            name: "Admin".into(),
            role: "administrator".into(),
            team: None,
            language: None,
            password: Some(crate::support::PASSWORD.into()),
        },
    )
    .await
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("clients.csv");
    let rows = 24_000;
    let mut csv = String::from("First Name,Last Name,Mobile Phone,E-mail Address\n");
    for i in 0..rows {
        csv.push_str(&format!(
            "Ism{i},Familiya{},+998 9{} {:03} {:04},user{i}@example.uz\n",
            i % 97,
            i % 10,
            i / 10_000 % 1000,
            i % 10_000
        ));
    }
    // The last row repeats the first one's e-mail: a duplicate, skipped.
    csv.push_str("Again,Same,,user0@example.uz\n");
    std::fs::write(&path, csv).unwrap();
    let mut child = hamkor(&db_url)
        .env("HAMKOR_IMPORT_LEASE_SECS", "2")
        .arg("import")
        .arg("contacts")
        .arg(&path)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once a few batches are in, well before the end.
    let mut pool = db.clone();
    let mut seen = 0;
    for _ in 0..3000 {
        let q = hamkor_store::Sql::new("SELECT next_row FROM imports");
        if let Some(r) = hamkor_store::Exec::fetch_optional(&mut pool, &q)
            .await
            .unwrap()
        {
            seen = r.req_int("next_row").unwrap();
            if seen >= 4000 {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    assert!((4000..rows).contains(&seen), "killed after {seen} rows");
    let status = |pool: hamkor_store::Db| async move {
        let mut pool = pool;
        let q = hamkor_store::Sql::new("SELECT status, next_row, created, skipped FROM imports");
        let r = hamkor_store::Exec::fetch_optional(&mut pool, &q)
            .await
            .unwrap()
            .unwrap();
        (
            r.req_text("status").unwrap(),
            r.req_int("next_row").unwrap(),
            r.req_int("created").unwrap(),
            r.req_int("skipped").unwrap(),
        )
    };
    let (s, n, _, _) = status(db.clone()).await;
    assert_eq!(s, "running");
    assert!(n < rows, "the kill came before the end ({n})");
    // The lease of the killed process runs out; a server takes the job up.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let (server, _, _) = {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut c = hamkor(&db_url);
        c.env("HAMKOR_SCHEDULER_SECONDS", "1")
            .env("HAMKOR_IMPORT_LEASE_SECS", "2");
        let mut child = c.arg("serve").arg("--listen").arg(&listen).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if line.contains("listening") {
                    break;
                }
            }
        })
        .await
        .expect("server started");
        (child, (), ())
    };
    let mut last = (String::new(), 0, 0, 0);
    for _ in 0..600 {
        last = status(db.clone()).await;
        if last.0 == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(server).await;
    assert_eq!(last.0, "done", "{last:?}");
    assert_eq!((last.1, last.2, last.3), (rows + 1, rows, 1), "{last:?}");
    let mut pool = db.clone();
    let q = hamkor_store::Sql::new(
        "SELECT count(*) AS n, count(DISTINCT first_name) AS d FROM contacts",
    );
    let r = hamkor_store::Exec::fetch_optional(&mut pool, &q)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.req_int("n").unwrap(), rows, "every row once");
    assert_eq!(r.req_int("d").unwrap(), rows, "no row twice");
    db.close().await;
    drop(dir);
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_resumes_after_kill_sqlite() {
    import_resumes_after_kill(Backend::Sqlite).await;
}
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_resumes_after_kill_postgres() {
    import_resumes_after_kill(Backend::Postgres).await;
}

/// `hamkor generate --csv DIR` writes accounts and contacts the importer takes whole: every
/// row is imported, none rejected, each contact linked to the account its company names.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_csv_files_import_whole() {
    let Some((db, _dir)) = fresh_database(Backend::Sqlite).await else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("csv");
    let out = hamkor(&db)
        .args(["generate", "--contacts", "1500", "--seed", "5", "--csv"])
        .arg(&dir)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let (accounts, contacts) = (text("accounts.csv"), text("contacts.csv"));
    assert_eq!(accounts.lines().count(), 301);
    assert_eq!(contacts.lines().count(), 1501);
    assert!(contacts.starts_with("First Name,Last Name,Mobile Phone,E-mail Address,Company"));
    // The same seed writes the same files.
    let again = tmp.path().join("again");
    let out = hamkor(&db)
        .args(["generate", "--contacts", "1500", "--seed", "5", "--csv"])
        .arg(&again)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        std::fs::read_to_string(again.join("contacts.csv")).unwrap(),
        contacts
    );

    let out = hamkor(&db)
        .args([
            "user",
            "create",
            "--email",
            "csv@test.hamkor.uz",
            "--name",
            "Csv",
            "--role",
            "administrator",
        ])
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for (object, rows) in [("accounts", 300), ("contacts", 1500)] {
        let out = hamkor(&db)
            .args(["import", object])
            .arg(dir.join(format!("{object}.csv")))
            .output()
            .await
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{said}");
        assert!(
            said.contains(&format!("created {rows}, updated 0, skipped 0, rejected 0")),
            "{said}"
        );
    }
    let db = hamkor_store::Db::connect(&db).await.unwrap();
    use hamkor_store::Exec;
    let n = |sql: &'static str| {
        let mut q = db.clone();
        async move {
            q.fetch_optional(&hamkor_store::Sql::new(sql))
                .await
                .unwrap()
                .unwrap()
                .req_int("n")
                .unwrap()
        }
    };
    assert_eq!(n("SELECT COUNT(*) AS n FROM accounts").await, 300);
    assert_eq!(
        n("SELECT COUNT(DISTINCT contact_id) AS n FROM contact_accounts").await,
        1500
    );
}
