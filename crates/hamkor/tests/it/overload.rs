//! Overload: beyond `max_concurrent_requests` the server answers 503 with `Retry-After`
//! at once, `/healthz` and `/readyz` keep answering, and the server recovers; a request
//! that finds the database busy (SQLite's write lock held by another program beyond the
//! busy timeout, no pool connection in time) gets 503 with `Retry-After`, never a 500 or
//! "database is locked", and nothing of it is written.

use crate::both;
use crate::support::{Backend, PASSWORD, TestApp, web_config};
use hamkor_domain::Id;
use hamkor_store::{Db, DbOptions, Exec, Sql, Tx};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// Holds the database as another program would: on SQLite its write lock (a transaction
/// begun `IMMEDIATE`), on PostgreSQL the account's row (`FOR UPDATE`). Dropping the
/// transaction lets go.
async fn hold(url: &str, account: &str) -> (Db, Tx) {
    let db = Db::connect(url).await.unwrap();
    let mut tx = db.begin().await.unwrap();
    let id: Id = account.parse().unwrap();
    tx.fetch_all(&Sql::new("SELECT id FROM accounts WHERE id = $1").arg(id))
        .await
        .unwrap();
    if tx.backend() == hamkor_store::Backend::Postgres {
        tx.fetch_all(&Sql::new("SELECT id FROM accounts WHERE id = $1 FOR UPDATE").arg(id))
            .await
            .unwrap();
    }
    (db, tx)
}

/// A response of an overloaded or busy server: 2xx, or 503 with `Retry-After` and a body
/// that does not give the database's words away.
fn acceptable(what: &str, status: StatusCode, headers: &reqwest::header::HeaderMap, body: &str) {
    let lower = body.to_lowercase();
    assert!(
        !lower.contains("locked") && !lower.contains("sqlite") && !lower.contains("pool"),
        "{what}: the database's words reached the client: {body}"
    );
    if status == StatusCode::SERVICE_UNAVAILABLE {
        let secs: u64 = headers
            .get("retry-after")
            .unwrap_or_else(|| panic!("{what}: 503 without Retry-After"))
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(secs >= 1, "{what}");
    } else {
        assert!(status.is_success(), "{what}: {status} {body}");
    }
}

async fn send(
    client: &reqwest::Client,
    token: &str,
    method: Method,
    url: String,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = client.request(method, url).bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap_or_default())
}

const LIMIT: usize = 4;

async fn beyond_the_limit_503_then_recovery(t: TestApp) {
    let account = t.account("admin", "admin", "Contended").await;
    let mut config = web_config(&t.base);
    config.max_concurrent_requests = LIMIT;
    let base = t.another_server_with(config).await;
    let token = t.tokens["admin"].clone();
    let client = t.client.clone();

    // Fill the server: LIMIT writes wait for the account another program holds. Each
    // sends again while it is refused (the probes below take a place for a moment).
    let (_held_db, held) = hold(&t.db_url, &account).await;
    let mut writers = Vec::new();
    for i in 0..LIMIT {
        let (client, token) = (client.clone(), token.clone());
        let url = format!("{base}/api/v1/accounts/{account}");
        writers.push(tokio::spawn(async move {
            loop {
                let r = send(
                    &client,
                    &token,
                    Method::PATCH,
                    url.clone(),
                    Some(json!({"legal_name": format!("writer {i}")})),
                )
                .await;
                if r.0 != StatusCode::SERVICE_UNAVAILABLE || r.1["retry-after"] != "1" {
                    return r;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    // Once they are all in, the next request is refused at once.
    let probe = format!("{base}/api/v1/accounts/{account}");
    let mut refused = None;
    for _ in 0..500 {
        let r = send(&client, &token, Method::GET, probe.clone(), None).await;
        acceptable("probe", r.0, &r.1, &r.2);
        if r.0 == StatusCode::SERVICE_UNAVAILABLE {
            refused = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let Some((_, headers, body)) = refused else {
        let mut done = Vec::new();
        for w in writers {
            if w.is_finished() {
                done.push(w.await.unwrap());
            }
        }
        panic!("no request beyond the limit was refused; writes that ended: {done:?}");
    };
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(headers["content-type"], "application/problem+json");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["status"], 503);

    // Many more requests than the limit, of every kind: each is 2xx or 503 with
    // Retry-After; a create refused left nothing behind.
    let mut burst = Vec::new();
    for i in 0..120usize {
        let (client, token, base, account) =
            (client.clone(), token.clone(), base.clone(), account.clone());
        burst.push(tokio::spawn(async move {
            let name = format!("Burst {i}");
            let r = match i % 4 {
                0 => {
                    send(
                        &client,
                        &token,
                        Method::POST,
                        format!("{base}/api/v1/accounts"),
                        Some(json!({"name": name, "kind": "client"})),
                    )
                    .await
                }
                1 => {
                    send(
                        &client,
                        &token,
                        Method::GET,
                        format!("{base}/api/v1/accounts?q=burst"),
                        None,
                    )
                    .await
                }
                2 => {
                    send(
                        &client,
                        &token,
                        Method::GET,
                        format!("{base}/api/v1/accounts/{account}"),
                        None,
                    )
                    .await
                }
                _ => {
                    let r = client.get(format!("{base}/accounts")).send().await.unwrap();
                    let (s, h) = (r.status(), r.headers().clone());
                    let s = if s == StatusCode::SEE_OTHER {
                        StatusCode::OK
                    } else {
                        s
                    };
                    (s, h, r.text().await.unwrap_or_default())
                }
            };
            (i, name, r)
        }));
    }
    let mut created = Vec::new();
    let mut refused_creates = Vec::new();
    let mut shed = 0;
    for b in burst {
        let (i, name, (status, headers, body)) = b.await.unwrap();
        acceptable(&format!("burst request {i}"), status, &headers, &body);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            shed += 1;
        }
        if i % 4 == 0 {
            if status == StatusCode::CREATED {
                created.push(name);
            } else {
                refused_creates.push(name);
            }
        }
    }
    assert!(shed > 0, "the burst met a full server");
    // The checks of a load balancer and of monitoring still answer.
    for path in ["/healthz", "/readyz", "/metrics"] {
        let r = client.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }

    // The other program lets go: the waiting writes end (2xx, or 503 if they waited
    // longer than the database allows), and the server serves everyone again.
    drop(held);
    for w in writers {
        let (status, headers, body) = w.await.unwrap();
        acceptable("a waiting write", status, &headers, &body);
    }
    for i in 0..3 * LIMIT {
        let (s, _, body) = send(
            &client,
            &token,
            Method::POST,
            format!("{base}/api/v1/accounts"),
            Some(json!({"name": format!("After {i}"), "kind": "client"})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "after the overload: {body}");
    }
    let mut parallel = Vec::new();
    for _ in 0..LIMIT {
        let (client, token, url) = (client.clone(), token.clone(), probe.clone());
        parallel.push(tokio::spawn(async move {
            send(&client, &token, Method::GET, url, None).await.0
        }));
    }
    for p in parallel {
        assert_eq!(p.await.unwrap(), StatusCode::OK, "up to the limit at once");
    }
    for name in &created {
        let (_, v) = t
            .get(
                "admin",
                &format!("/api/v1/accounts?name={}", urlencoding::encode(name)),
            )
            .await;
        assert_eq!(
            v["items"].as_array().map(Vec::len),
            Some(1),
            "{name} was created"
        );
    }
    for name in &refused_creates {
        let (_, v) = t
            .get(
                "admin",
                &format!("/api/v1/accounts?name={}", urlencoding::encode(name)),
            )
            .await;
        assert_eq!(v["items"], json!([]), "{name} was refused and is not there");
    }
}
both!(beyond_the_limit_503_then_recovery);

/// Logs in on `base` and returns the session cookie and its CSRF token.
async fn ui_session(t: &TestApp, persona: &str) -> (String, String) {
    let resp = t
        .client
        .post(format!("{}/login", t.base))
        .form(&[
            ("email", format!("{persona}@test.hamkor.uz").as_str()),
            ("password", PASSWORD),
            ("next", "/accounts"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let cookie = resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let html = t
        .client
        .get(format!("{}/quick", t.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html.find("name=\"_csrf\" value=\"").expect("csrf field") + 20;
    let csrf = html[at..].split('"').next().unwrap().to_string();
    (cookie, csrf)
}

/// SQLite: another program holds the write lock longer than the busy timeout. A write
/// through the API, a second one queued behind it for the single writer connection, and
/// a form of the web UI that writes three records at once all get 503 with Retry-After;
/// nothing of them is written; reads go on; once the lock is let go, writes succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_sqlite_write_lock_is_503_and_writes_nothing() {
    let t = TestApp::spawn(Backend::Sqlite).await.unwrap();
    let account = t.account("admin", "admin", "Existing").await;
    // This server waits a moment for the lock and for its writer, not ten seconds.
    let base = t
        .another_server_opts(
            web_config(&t.base),
            DbOptions {
                busy_timeout: Duration::from_millis(300),
                acquire_timeout: Duration::from_millis(300),
                ..DbOptions::default()
            },
        )
        .await;
    let (cookie, csrf) = ui_session(&t, "sales_a1").await;
    let before = (
        t.count("accounts").await,
        t.count("contacts").await,
        t.count("interactions").await,
        t.audit_rows().await,
    );
    let token = t.tokens["admin"].clone();
    let client = Arc::new(t.client.clone());

    let (_held_db, held) = hold(&t.db_url, &account).await;
    let mut writes = Vec::new();
    for i in 0..2 {
        let (client, token, base) = (client.clone(), token.clone(), base.clone());
        writes.push(tokio::spawn(async move {
            send(
                &client,
                &token,
                Method::POST,
                format!("{base}/api/v1/accounts"),
                Some(json!({"name": format!("Blocked {i}"), "kind": "client"})),
            )
            .await
        }));
    }
    for w in writes {
        let (status, headers, body) = w.await.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        acceptable("a write behind the lock", status, &headers, &body);
        let problem: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["status"], 503);
    }
    let form = client
        .post(format!("{base}/quick"))
        .header("cookie", &cookie)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("account.name", "Quick Blocked"),
            ("account.kind", "prospect"),
            ("contact.last_name", "Blockov"),
            ("interaction.kind", "call"),
            ("interaction.direction", "incoming"),
            (
                "interaction.subject",
                "Called while the database was locked",
            ),
        ])
        .send()
        .await
        .unwrap();
    let (status, headers) = (form.status(), form.headers().clone());
    let html = form.text().await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{html}");
    acceptable("the quick form", status, &headers, &html);
    assert!(html.contains("The server is busy"), "{html}");
    // Reads do not wait for the writer.
    let (s, _, body) = send(
        &client,
        &token,
        Method::GET,
        format!("{base}/api/v1/accounts/{account}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    drop(held);

    let after = (
        t.count("accounts").await,
        t.count("contacts").await,
        t.count("interactions").await,
        t.audit_rows().await,
    );
    assert_eq!(before, after, "nothing of the refused writes was kept");
    let (s, _, body) = send(
        &client,
        &token,
        Method::POST,
        format!("{base}/api/v1/accounts"),
        Some(json!({"name": "After the lock", "kind": "client"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
}

/// PostgreSQL: every connection of the server's pool waits for a row another program
/// holds; the next request cannot get a connection in time and gets 503 with
/// Retry-After; when the row is let go, the server answers again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_postgres_pool_is_503() {
    let Some(t) = TestApp::spawn(Backend::Postgres).await else {
        eprintln!("skipped: set HAMKOR_TEST_DATABASE_URL to run on PostgreSQL");
        return;
    };
    let account = t.account("admin", "admin", "Held").await;
    let base = t
        .another_server_opts(
            web_config(&t.base),
            DbOptions {
                acquire_timeout: Duration::from_millis(300),
                pg_max_connections: 2,
                ..DbOptions::default()
            },
        )
        .await;
    let token = t.tokens["admin"].clone();
    let client = t.client.clone();
    let (_held_db, held) = hold(&t.db_url, &account).await;
    let mut writers = Vec::new();
    for i in 0..2 {
        let (client, token) = (client.clone(), token.clone());
        let url = format!("{base}/api/v1/accounts/{account}");
        writers.push(tokio::spawn(async move {
            send(
                &client,
                &token,
                Method::PATCH,
                url,
                Some(json!({"legal_name": format!("writer {i}")})),
            )
            .await
        }));
    }
    let mut refused = false;
    for _ in 0..500 {
        // A request of its own each time: the token's check reads the database too.
        let (s, h, body) = send(
            &client,
            &token,
            Method::GET,
            format!("{base}/api/v1/accounts?limit=1"),
            None,
        )
        .await;
        acceptable("while the pool is taken", s, &h, &body);
        if s == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(h["retry-after"], hamkor_app::BUSY_RETRY_SECS.to_string());
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "a request found no free connection");
    drop(held);
    for w in writers {
        let (status, headers, body) = w.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        acceptable("a write that waited", status, &headers, &body);
    }
    let (s, _, body) = send(
        &client,
        &token,
        Method::GET,
        format!("{base}/api/v1/accounts/{account}"),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{body}");
}
