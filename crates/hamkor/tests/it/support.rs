//! `TestApp::spawn` starts the real application; helpers speak HTTP to it as users of
//! every role.

use crate::smtp::SmtpSink;
use hamkor_app::App;
use hamkor_app::mail::Mailer;
use hamkor_app::users::UserRequest;
use hamkor_store::Db;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server with a user and an API token for each test persona.
pub struct TestApp {
    pub base: String,
    /// The database's URL, to open it again as another server would.
    pub db_url: String,
    pub app: App,
    pub client: reqwest::Client,
    pub tokens: HashMap<&'static str, String>,
    pub ids: HashMap<&'static str, String>,
    _dir: Option<tempfile::TempDir>,
}

/// The personas: (name, role, team).
pub const PERSONAS: &[(&str, &str, Option<&str>)] = &[
    ("admin", "administrator", None),
    ("head_a", "head", Some("Alpha")),
    ("sales_a1", "sales", Some("Alpha")),
    ("sales_a2", "sales", Some("Alpha")),
    ("head_b", "head", Some("Beta")),
    ("sales_b", "sales", Some("Beta")),
    ("marketer", "marketer", None),
    ("support", "support", None),
    ("viewer", "read_only", None),
];

pub const PASSWORD: &str = "correct horse battery staple";

/// The PostgreSQL server for tests, if configured. In CI it must be.
pub fn pg_url() -> Option<String> {
    match std::env::var("HAMKOR_TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").is_err(),
                "CI must set HAMKOR_TEST_DATABASE_URL so the PostgreSQL tests run"
            );
            None
        }
    }
}

/// A fresh, empty database URL for the backend (`None`: PostgreSQL not configured).
pub async fn fresh_database(backend: Backend) -> Option<(String, Option<tempfile::TempDir>)> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/test.db", dir.path().display());
            Some((url, Some(dir)))
        }
        Backend::Postgres => {
            let admin = pg_url()?;
            let name = format!("hamkor_test_{}", uuid::Uuid::now_v7().simple());
            let mut db = Db::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL server");
            use hamkor_store::Exec;
            let mut sql = hamkor_store::Sql::new("CREATE DATABASE ");
            // The name is ours (hex digits), not input.
            sql.push(Box::leak(name.clone().into_boxed_str()));
            db.execute(&sql).await.expect("create test database");
            db.close().await;
            let (prefix, _) = admin.rsplit_once('/').expect("database URL has a path");
            Some((format!("{prefix}/{name}"), None))
        }
    }
}

/// The web settings of the test servers.
pub fn web_config(base: &str) -> hamkor_web::WebConfig {
    hamkor_web::WebConfig {
        base_url: base.to_string(),
        // Small, so the tests can send a file over the limit.
        max_upload_bytes: 100_000,
        trusted_proxies: Vec::new(),
        max_concurrent_requests: hamkor_web::overload::DEFAULT_MAX_CONCURRENT_REQUESTS,
        // Every refusal is audited, so the tests can find each one.
        refusals_audited_per_minute: u32::MAX,
    }
}

impl TestApp {
    /// Starts the app with the personas, or `None` when the backend is not available.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, None).await
    }

    /// Starts the app sending mail through `mailer` (see [`TestApp::spawn_with_sink`]).
    pub async fn spawn_with(backend: Backend, mailer: Option<Mailer>) -> Option<TestApp> {
        let (url, dir) = fresh_database(backend).await?;
        let db = Db::connect(&url).await.expect("open database");
        db.migrate().await.expect("migrate");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let base = format!("http://{addr}");
        let app = App::new(db).with_mail(mailer, &base);
        app.refresh_search_keys().await.expect("search keys");
        let mut tokens = HashMap::new();
        let mut ids = HashMap::new();
        for (name, role, team) in PERSONAS {
            let team = match team {
                Some(t) => Some(app.ensure_team(t).await.expect("team").name),
                None => None,
            };
            let user = app
                .create_user(
                    None,
                    UserRequest {
                        email: format!("{name}@test.hamkor.uz"),
                        name: name.to_string(),
                        role: role.to_string(),
                        team,
                        language: Some("en".into()),
                        password: Some(PASSWORD.into()),
                    },
                )
                .await
                .expect("create persona");
            tokens.insert(
                *name,
                app.create_token(user.id, "tests").await.expect("token"),
            );
            ids.insert(*name, user.id.to_string());
        }
        let router = hamkor_web::router(app.clone(), web_config(&base));
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .expect("serve");
        });
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Some(TestApp {
            db_url: url.clone(),
            base,
            app,
            client,
            tokens,
            ids,
            _dir: dir,
        })
    }

    /// Starts the app with mail going to a fresh [`SmtpSink`], which it returns too.
    pub async fn spawn_with_sink(backend: Backend) -> Option<(TestApp, SmtpSink)> {
        let sink = SmtpSink::start();
        let mailer = Mailer::new(&sink.settings()).expect("a mailer for the sink");
        let app = Self::spawn_with(backend, Some(mailer)).await?;
        Some((app, sink))
    }

    /// Starts a second server on the same database, as another process behind a load
    /// balancer would be (its own caches), and returns its base URL.
    pub async fn another_server(&self) -> String {
        self.another_server_with(web_config(&self.base)).await
    }

    /// [`TestApp::another_server`] with other web settings (trusted proxies, say).
    pub async fn another_server_with(&self, config: hamkor_web::WebConfig) -> String {
        self.another_server_opts(config, hamkor_store::DbOptions::default())
            .await
    }

    /// [`TestApp::another_server_with`] with its own database pools' settings (shorter
    /// waits, a smaller pool).
    pub async fn another_server_opts(
        &self,
        config: hamkor_web::WebConfig,
        options: hamkor_store::DbOptions,
    ) -> String {
        let db = Db::open(&self.db_url, options)
            .await
            .expect("open database again");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let app = App::new(db).with_mail(None, &self.base);
        let router = hamkor_web::router(app, config);
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            .expect("serve");
        });
        base
    }

    pub fn id(&self, persona: &str) -> String {
        self.ids[persona].clone()
    }

    pub async fn request(
        &self,
        who: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = self.tokens.get(who) {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_default();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, headers, json)
    }

    pub async fn get(&self, who: &str, path: &str) -> (StatusCode, Value) {
        let (s, _, v) = self
            .request(who, reqwest::Method::GET, path, None, &[])
            .await;
        (s, v)
    }
    pub async fn post(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self
            .request(who, reqwest::Method::POST, path, Some(&body), &[])
            .await;
        (s, v)
    }
    pub async fn patch(&self, who: &str, path: &str, body: Value) -> (StatusCode, Value) {
        let (s, _, v) = self
            .request(who, reqwest::Method::PATCH, path, Some(&body), &[])
            .await;
        (s, v)
    }
    pub async fn delete(&self, who: &str, path: &str) -> StatusCode {
        self.request(who, reqwest::Method::DELETE, path, None, &[])
            .await
            .0
    }

    /// Creates an account as `who`, owned by `owner`; returns its id.
    pub async fn account(&self, who: &str, owner: &str, name: &str) -> String {
        let (s, v) = self
            .post(
                who,
                "/api/v1/accounts",
                json!({"name": name, "kind": "client", "owner_id": self.id(owner)}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "creating account {name}: {v}");
        v["id"].as_str().expect("id").to_string()
    }

    /// Creates a contact as `who`, owned by `owner`; returns its id.
    pub async fn contact(&self, who: &str, owner: &str, body: Value) -> String {
        let mut body = body;
        body["owner_id"] = json!(self.id(owner));
        let (s, v) = self.post(who, "/api/v1/contacts", body).await;
        assert_eq!(s, StatusCode::CREATED, "creating contact: {v}");
        v["id"].as_str().expect("id").to_string()
    }

    /// Creates a salesperson outside the fixture's teams, as the administrator; returns
    /// the id.
    pub async fn new_salesperson(&self, email: &str) -> String {
        let (s, v) = self
            .post(
                "admin",
                "/api/v1/users",
                json!({"email": email, "name": "Gone", "role": "sales", "password": PASSWORD}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["id"].as_str().expect("id").to_string()
    }

    /// Disables a user, as the administrator.
    pub async fn disable_user(&self, id: &str) {
        let (s, v) = self
            .patch(
                "admin",
                &format!("/api/v1/users/{id}"),
                json!({"disabled": true}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    /// The record as the administrator sees it (to check nothing changed).
    pub async fn snapshot(&self, path: &str) -> Value {
        self.get("admin", path).await.1
    }

    /// Counts live records of a type, as the administrator.
    pub async fn count(&self, plural: &str) -> i64 {
        let (s, v) = self
            .get("admin", &format!("/api/v1/{plural}?count=true&limit=1"))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["total"].as_i64().expect("total")
    }

    /// Audit entries other than refused requests (to check that a refused request changed
    /// nothing: its own `access_denied` entry is all it may leave).
    pub async fn audit_rows(&self) -> i64 {
        use hamkor_store::Exec;
        let mut db = self.app.db.clone();
        let row = db
            .fetch_optional(&hamkor_store::Sql::new(
                "SELECT COUNT(*) AS n FROM audit_log WHERE action <> 'access_denied'",
            ))
            .await
            .expect("count")
            .expect("row");
        row.req_int("n").expect("n")
    }

    /// The refused requests in the audit log, oldest first: (user id, method, path, ip).
    pub async fn refusals(&self) -> Vec<(Option<String>, String, String, Option<String>)> {
        use hamkor_store::Exec;
        let mut db = self.app.db.clone();
        db.fetch_all(&hamkor_store::Sql::new(
            "SELECT user_id, changes, ip FROM audit_log WHERE action = 'access_denied' \
             AND object = 'request' ORDER BY at, id",
        ))
        .await
        .expect("refusals")
        .iter()
        .map(|r| {
            let c = r.json("changes").unwrap().unwrap_or_default();
            (
                r.id("user_id").unwrap().map(|i| i.to_string()),
                c["method"].as_str().unwrap_or_default().to_string(),
                c["path"].as_str().unwrap_or_default().to_string(),
                r.text("ip").unwrap(),
            )
        })
        .collect()
    }
}

/// Runs an async test body on SQLite and on PostgreSQL. `both!(name, mail)` runs
/// `name(app, sink)`: the app sends its mail to the [`SmtpSink`] it is given.
#[macro_export]
macro_rules! both {
    ($name:ident, mail) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let (app, sink) =
                    $crate::support::TestApp::spawn_with_sink($crate::support::Backend::Sqlite)
                        .await
                        .expect("sqlite");
                super::$name(app, sink).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::support::TestApp::spawn_with_sink($crate::support::Backend::Postgres)
                    .await
                {
                    Some((app, sink)) => super::$name(app, sink).await,
                    None => eprintln!("skipped: set HAMKOR_TEST_DATABASE_URL to run on PostgreSQL"),
                }
            }
        }
    };
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::TestApp::spawn($crate::support::Backend::Sqlite)
                    .await
                    .expect("sqlite");
                super::$name(app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::support::TestApp::spawn($crate::support::Backend::Postgres).await {
                    Some(app) => super::$name(app).await,
                    None => eprintln!("skipped: set HAMKOR_TEST_DATABASE_URL to run on PostgreSQL"),
                }
            }
        }
    };
}
