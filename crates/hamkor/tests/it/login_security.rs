//! Authentication hardening: failed-login limits (per account and per address, counted in
//! the database), "forgot password" by e-mail, the audit log of security events and its
//! administrator's view, two-factor authentication with TOTP and recovery codes, and
//! login restrictions to the office network behind trusted proxies.

use crate::auth::{csrf_token, login};
use crate::both;
use crate::smtp::SmtpSink;
use crate::support::{PASSWORD, TestApp, web_config};
use hamkor_store::{Exec, Sql};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// Posts the login form to `base`; extra headers as given.
async fn post_login(
    t: &TestApp,
    base: &str,
    email: &str,
    password: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = t.client.post(format!("{base}/login")).form(&[
        ("email", email),
        ("password", password),
        ("next", "/contacts"),
    ]);
    if !headers.iter().any(|(k, _)| *k == "user-agent") {
        req = req.header("user-agent", "login-test/1.0");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap()
}

/// The value of cookie `name` a response sets, if any (empty when it removes it).
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

async fn api_login(t: &TestApp, body: Value) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let resp = t
        .client
        .post(format!("{}/api/v1/login", t.base))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap_or(Value::Null))
}

async fn me_with_cookie(t: &TestApp, cookie: &str) -> StatusCode {
    t.client
        .get(format!("{}/api/v1/users/me", t.base))
        .header("cookie", format!("hamkor_session={cookie}"))
        .send()
        .await
        .unwrap()
        .status()
}

async fn exec(t: &TestApp, sql: Sql) -> Result<u64, hamkor_store::StoreError> {
    let mut db = t.app.db.clone();
    db.execute(&sql).await
}

async fn count(t: &TestApp, sql: Sql) -> i64 {
    let mut db = t.app.db.clone();
    db.fetch_optional(&sql)
        .await
        .unwrap()
        .unwrap()
        .req_int("n")
        .unwrap()
}

/// Audit entries of one action, as the administrator's API lists them.
async fn audit(t: &TestApp, query: &str) -> Vec<Value> {
    let (s, v) = t.get("admin", &format!("/api/v1/audit?{query}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn failed_logins_are_limited_per_account_and_per_address(t: TestApp) {
    // Five wrong passwords lock the account: the sixth attempt is refused even with the
    // right password, on the form and the API alike, with Retry-After.
    for _ in 0..5 {
        let r = post_login(
            &t,
            &t.base,
            "sales_a1@test.hamkor.uz",
            "wrong password",
            &[],
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = post_login(
        &t,
        &t.base,
        "SALES_A1@test.hamkor.uz",
        PASSWORD,
        &[("accept-language", "ru")],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "no oracle: the right password is refused too"
    );
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((850..=900).contains(&retry), "{retry}");
    assert!(set_cookie(&r, "hamkor_session").is_none());
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Слишком много неудачных попыток"),
        "translated: {html}"
    );
    let (s, h, v) = api_login(
        &t,
        json!({"email": "sales_a1@test.hamkor.uz", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(h.get("retry-after").is_some());
    assert!(h.get("set-cookie").is_none());
    // Another account from the same address is not locked.
    assert!(
        login(&t, "sales_a2@test.hamkor.uz", PASSWORD)
            .await
            .is_some()
    );
    // The failures leave the window: then the right password works (and clears them).
    exec(
        &t,
        Sql::new("UPDATE login_failures SET at = $1").arg(hamkor_domain::Timestamp::from_datetime(
            chrono::Utc::now() - chrono::Duration::minutes(16),
        )),
    )
    .await
    .unwrap();
    assert!(
        login(&t, "sales_a1@test.hamkor.uz", PASSWORD)
            .await
            .is_some()
    );

    // Twenty failures from one address lock the address, whatever the accounts.
    for i in 0..20 {
        let r = post_login(&t, &t.base, &format!("nobody{i}@test.hamkor.uz"), "x", &[]).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = post_login(&t, &t.base, "head_b@test.hamkor.uz", PASSWORD, &[]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // The count is in the database: another server sees the same lock.
    let other = t.another_server().await;
    let r = post_login(&t, &other, "head_b@test.hamkor.uz", PASSWORD, &[]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // API tokens are not logins: they keep working.
    assert_eq!(t.get("head_b", "/api/v1/users/me").await.0, StatusCode::OK);

    // Each attempt is audited with the e-mail tried, the address and the user agent.
    let failed = audit(&t, "action=login_failed&limit=500").await;
    assert_eq!(failed.len(), 25);
    let first = failed.last().unwrap();
    assert_eq!(first["changes"]["email"], "sales_a1@test.hamkor.uz");
    assert_eq!(first["record_id"], t.id("sales_a1").as_str());
    assert_eq!(first["ip"], "127.0.0.1");
    assert_eq!(first["user_agent"], "login-test/1.0");
    assert!(
        !first.to_string().contains("wrong password"),
        "no password is logged"
    );
    let unknown = &failed[0];
    assert_eq!(unknown["record_id"], Value::Null);
    assert_eq!(unknown["changes"]["email"], "nobody19@test.hamkor.uz");
    assert!(!audit(&t, "action=login_locked").await.is_empty());
}
both!(failed_logins_are_limited_per_account_and_per_address);

/// The plain text of a received message.
fn mail_text(data: &str) -> String {
    let msg = mail_parser::MessageParser::default()
        .parse(data.as_bytes())
        .expect("a MIME message");
    msg.body_text(0).expect("a text part").into_owned()
}

async fn forgot(t: &TestApp, email: &str) -> (StatusCode, String) {
    let r = t
        .client
        .post(format!("{}/forgot", t.base))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .form(&[("email", email)])
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

async fn a_forgotten_password_is_reset_by_an_e_mailed_link(t: TestApp, sink: SmtpSink) {
    let before = login(&t, "sales_b@test.hamkor.uz", PASSWORD).await.unwrap();
    // The same answer for an account and for no account; the Host header is forged.
    let (s1, known) = forgot(&t, "Sales_B@test.hamkor.uz").await;
    let (s2, unknown) = forgot(&t, "nobody@test.hamkor.uz").await;
    assert_eq!((s1, s2), (StatusCode::OK, StatusCode::OK));
    assert_eq!(known, unknown);
    assert!(known.contains("forgot-sent"));
    let mails = sink.wait_for(1, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 1, "no mail for an unknown e-mail");
    assert_eq!(mails[0].to, vec!["sales_b@test.hamkor.uz".to_string()]);
    let text = mail_text(&mails[0].data);
    assert!(!text.contains("evil.example"), "{text}");
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("http"))
        .expect("a link")
        .to_string();
    let prefix = format!("{}/reset/", t.base);
    assert!(link.starts_with(&prefix), "built from the base URL: {link}");
    let token = link[prefix.len()..].to_string();
    // Stored hashed only.
    let raw = count(
        &t,
        Sql::new("SELECT COUNT(*) AS n FROM password_resets WHERE token_hash = $1")
            .arg(token.clone()),
    )
    .await;
    let hashed = count(
        &t,
        Sql::new("SELECT COUNT(*) AS n FROM password_resets WHERE token_hash = $1")
            .arg(hamkor_store::users::hash_secret(&token)),
    )
    .await;
    assert_eq!((raw, hashed), (0, 1));

    let page = t.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("sales_b@test.hamkor.uz")
    );
    // The password rules apply; a refused password uses nothing up.
    let set = |pw: &'static str| t.client.post(&link).form(&[("password", pw)]).send();
    assert_eq!(
        set("short").await.unwrap().status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(me_with_cookie(&t, &before).await, StatusCode::OK);
    let done = set("a fresh long password").await.unwrap();
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/login?reset=1");
    // Every session of the user ended; the new password works, the old does not.
    assert_eq!(me_with_cookie(&t, &before).await, StatusCode::UNAUTHORIZED);
    assert!(
        login(&t, "sales_b@test.hamkor.uz", PASSWORD)
            .await
            .is_none()
    );
    assert!(
        login(&t, "sales_b@test.hamkor.uz", "a fresh long password")
            .await
            .is_some()
    );
    // Single use.
    assert_eq!(
        t.client.get(&link).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        set("yet another password").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert!(
        login(&t, "sales_b@test.hamkor.uz", "yet another password")
            .await
            .is_none()
    );

    // An expired link does nothing.
    let (_, link) = t
        .app
        .request_password_reset("sales_b@test.hamkor.uz", &Default::default())
        .await
        .unwrap()
        .unwrap();
    exec(
        &t,
        Sql::new("UPDATE password_resets SET expires_at = $1 WHERE used_at IS NULL").arg(
            hamkor_domain::Timestamp::from_datetime(
                chrono::Utc::now() - chrono::Duration::minutes(1),
            ),
        ),
    )
    .await
    .unwrap();
    let r = t
        .client
        .post(&link)
        .form(&[("password", "expired link password")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        login(&t, "sales_b@test.hamkor.uz", "expired link password")
            .await
            .is_none()
    );
    // The request and the reset are audited, with no token in them.
    let reset = audit(&t, "action=password_reset").await;
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0]["user_id"], t.id("sales_b").as_str());
    let asked = audit(&t, "action=password_reset_request").await;
    assert_eq!(asked.len(), 3);
    assert!(
        !asked
            .iter()
            .chain(&reset)
            .any(|e| e.to_string().contains(&token))
    );
}
both!(a_forgotten_password_is_reset_by_an_e_mailed_link, mail);

async fn administrators_read_the_audit_log_and_nobody_changes_it(t: TestApp) {
    let session = login(&t, "sales_a1@test.hamkor.uz", PASSWORD)
        .await
        .unwrap();
    let csrf = csrf_token(&t, &session).await;
    let r = t
        .client
        .post(format!("{}/settings/password", t.base))
        .header("cookie", format!("hamkor_session={session}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("current_password", PASSWORD),
            ("new_password", "changed password 123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = t
        .client
        .post(format!("{}/logout", t.base))
        .header("cookie", format!("hamkor_session={session}"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let account = t.account("sales_a2", "sales_a2", "Audited LLC").await;

    // Who, what, when, from where; filtered by who, action, object and dates.
    let mine = audit(&t, &format!("user_id={}&object=user", t.id("sales_a1"))).await;
    let actions: Vec<&str> = mine.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        ["logout", "password_change", "login"],
        "newest first"
    );
    for e in &mine {
        assert_eq!(e["ip"], "127.0.0.1");
        assert_eq!(e["user_name"], "sales_a1");
        assert!(e["at"].as_str().unwrap().ends_with('Z'));
    }
    assert_eq!(mine[2]["changes"]["method"], "password");
    let created = audit(
        &t,
        &format!("action=create&object=account&record_id={account}"),
    )
    .await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["user_id"], t.id("sales_a2").as_str());
    assert_eq!(
        created[0]["ip"], "127.0.0.1",
        "a record's change says from where"
    );
    // Dates are days in the administrator's time zone (Tashkent's is 5 hours ahead of
    // UTC: from 19:00 UTC it is already tomorrow there).
    let zone: chrono_tz::Tz = t.get("admin", "/api/v1/users/me").await.1["time_zone"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let tomorrow = today.succ_opt().unwrap();
    assert_eq!(
        audit(&t, &format!("action=login&from={today}&to={today}"))
            .await
            .len(),
        1
    );
    assert!(
        audit(&t, &format!("action=login&from={tomorrow}"))
            .await
            .is_empty()
    );
    // Pages by cursor.
    let (_, first) = t.get("admin", "/api/v1/audit?limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let (_, second) = t
        .get(
            "admin",
            &format!(
                "/api/v1/audit?limit=2&cursor={}",
                urlencoding::encode(&cursor)
            ),
        )
        .await;
    assert_ne!(first["items"][0]["id"], second["items"][0]["id"]);
    assert_ne!(first["items"][1]["id"], second["items"][0]["id"]);
    // Bad filters are named.
    let (s, v) = t.get("admin", "/api/v1/audit?from=yesterday").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "from");
    let (s, v) = t.get("admin", "/api/v1/audit?who=me").await;
    assert_eq!(
        (s, v["errors"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("who"))
    );

    // Only administrators, and looking changes nothing.
    let rows = t.audit_rows().await;
    for who in ["head_a", "sales_a1", "viewer"] {
        let (s, v) = t.get(who, "/api/v1/audit").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
    }
    assert_eq!(
        t.get("nobody", "/api/v1/audit").await.0,
        StatusCode::UNAUTHORIZED
    );
    let head = login(&t, "head_a@test.hamkor.uz", PASSWORD).await.unwrap();
    let rows = rows + 1; // that login
    let r = t
        .client
        .get(format!("{}/settings/audit", t.base))
        .header("cookie", format!("hamkor_session={head}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.audit_rows().await, rows);
    // Each refusal is in the log itself: who, what, from where.
    let refused = audit(&t, "action=access_denied&object=request").await;
    let by = |who: &str| {
        refused
            .iter()
            .filter(|e| e["user_id"] == t.id(who).as_str())
            .map(|e| {
                assert_eq!(e["ip"], "127.0.0.1");
                assert_eq!(e["changes"]["method"], "GET");
                e["changes"]["path"].as_str().unwrap().to_string()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(by("sales_a1"), ["/api/v1/audit"]);
    assert_eq!(by("viewer"), ["/api/v1/audit"]);
    assert_eq!(
        by("head_a"),
        ["/settings/audit", "/api/v1/audit"],
        "newest first"
    );
    // The administrator's page shows the entries, escaped.
    let admin = login(&t, "admin@test.hamkor.uz", PASSWORD).await.unwrap();
    let _ = post_login(
        &t,
        &t.base,
        "<script>@x.uz",
        "x",
        &[("user-agent", "<b>agent</b>")],
    )
    .await;
    let r = t
        .client
        .get(format!("{}/settings/audit?object=user", t.base))
        .header("cookie", format!("hamkor_session={admin}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    assert!(html.contains("password_change") && html.contains("127.0.0.1"));
    assert!(
        !html.contains("<script>@") && !html.contains("<b>agent"),
        "escaped"
    );
    assert!(html.contains("&lt;b&gt;agent") || html.contains("&#60;b&#62;agent"));

    // Append-only, on both engines: even the application's own connection cannot
    // change or remove an entry.
    let before = t.audit_rows().await;
    assert!(
        exec(&t, Sql::new("UPDATE audit_log SET action = 'nothing'"))
            .await
            .is_err()
    );
    assert!(exec(&t, Sql::new("DELETE FROM audit_log")).await.is_err());
    assert_eq!(t.audit_rows().await, before);
    assert!(audit(&t, "action=nothing").await.is_empty());
}
both!(administrators_read_the_audit_log_and_nobody_changes_it);

/// The TOTP of a base32 secret as shown on the set-up page (grouped by spaces).
fn totp(secret: &str) -> totp_rs::Totp {
    let secret = totp_rs::Secret::try_from_base32(secret.replace(' ', "")).unwrap();
    totp_rs::Builder::new().with_secret(secret).build().unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let at = html
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {html}"))
        + start.len();
    &html[at..at + html[at..].find(end).unwrap()]
}

/// Sets up 2FA through the profile page of a session; returns the secret and the
/// recovery codes.
async fn enrol(t: &TestApp, session: &str) -> (String, Vec<String>) {
    let page = t
        .client
        .get(format!("{}/settings/two-factor", t.base))
        .header("cookie", format!("hamkor_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "an inline QR code"
    );
    let secret = between(&html, "<code id=\"totp-secret\">", "</code>").to_string();
    let csrf = between(&html, "name=\"_csrf\" value=\"", "\"").to_string();
    let confirm = |code: String| {
        t.client
            .post(format!("{}/settings/two-factor/confirm", t.base))
            .header("cookie", format!("hamkor_session={session}"))
            .form(&[("_csrf", csrf.clone()), ("code", code)])
            .send()
    };
    // A wrong code turns nothing on.
    let wrong = confirm("000000".into()).await.unwrap();
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // The wrong-code page shows a new secret: take that one.
    let html = wrong.text().await.unwrap();
    let secret2 = between(&html, "<code id=\"totp-secret\">", "</code>").to_string();
    assert_ne!(secret, secret2);
    let code = totp(&secret2).generate(now()).to_string();
    let done = confirm(code).await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    let html = done.text().await.unwrap();
    let list = between(&html, "<ul id=\"recovery-codes\"", "</ul>");
    let codes: Vec<String> = list
        .split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_string())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret2, codes)
}

/// Logs in with a password to a user with 2FA: the pending cookie.
async fn first_step(t: &TestApp, email: &str, expect: &str) -> String {
    let r = post_login(t, &t.base, email, PASSWORD, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(expect),
        "{:?}",
        r.headers()["location"]
    );
    assert!(set_cookie(&r, "hamkor_session").is_none(), "no session yet");
    set_cookie(&r, "hamkor_login").expect("the pending cookie")
}

async fn second_step(t: &TestApp, pending: &str, code: &str) -> reqwest::Response {
    t.client
        .post(format!("{}/login/code", t.base))
        .header("cookie", format!("hamkor_login={pending}"))
        .form(&[("code", code), ("next", "/contacts")])
        .send()
        .await
        .unwrap()
}

async fn two_factor_logins_take_a_code_once(t: TestApp) {
    let email = "sales_a1@test.hamkor.uz";
    let session = login(&t, email, PASSWORD).await.unwrap();
    let (secret, codes) = enrol(&t, &session).await;
    let (_, me) = t.get("sales_a1", "/api/v1/users/me").await;
    assert_eq!(me["two_factor"], true, "API tokens are unaffected: {me}");
    assert_eq!(audit(&t, "action=two_factor_enable").await.len(), 1);
    let secret_in_db = count(
        &t,
        Sql::new("SELECT COUNT(*) AS n FROM recovery_codes WHERE code_hash = $1")
            .arg(codes[0].clone()),
    )
    .await;
    assert_eq!(secret_in_db, 0, "recovery codes are stored hashed");

    // The password alone is half a login, and the half grants nothing.
    let pending = first_step(&t, email, "/login/code").await;
    assert_eq!(me_with_cookie(&t, &pending).await, StatusCode::UNAUTHORIZED);
    let r = t
        .client
        .get(format!("{}/contacts", t.base))
        .header("cookie", format!("hamkor_session={pending}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    let r = t
        .client
        .get(format!("{}/login/code", t.base))
        .header("cookie", format!("hamkor_login={pending}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A wrong code, then a right one (one step early, as from a phone whose clock is
    // ahead, is still taken).
    assert_eq!(
        second_step(&t, &pending, "123456").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let code = totp(&secret).generate(now() + 30).to_string();
    let r = second_step(&t, &pending, &code).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/contacts");
    let full = set_cookie(&r, "hamkor_session").unwrap();
    assert_eq!(me_with_cookie(&t, &full).await, StatusCode::OK);
    assert_eq!(me_with_cookie(&t, &pending).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        second_step(&t, &pending, &code).await.status(),
        StatusCode::SEE_OTHER,
        "the half login is used up: start again"
    );
    // The same code is not taken twice, nor an older one still within the skew.
    let again = first_step(&t, email, "/login/code").await;
    assert_eq!(
        second_step(&t, &again, &code).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let older = totp(&secret).generate(now()).to_string();
    assert_eq!(
        second_step(&t, &again, &older).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // A recovery code works once, typed loosely.
    let r = second_step(&t, &again, &format!(" {} ", codes[3].to_uppercase())).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let third = first_step(&t, email, "/login/code").await;
    assert_eq!(
        second_step(&t, &third, &codes[3]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // The API login wants the code too.
    let (s, _, v) = api_login(&t, json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(v["errors"][0]["field"], "code");
    let (s, h, v) = api_login(
        &t,
        json!({"email": email, "password": PASSWORD, "code": codes[5]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["csrf_token"].as_str().is_some_and(|c| c.len() > 20));
    assert!(h["set-cookie"].to_str().unwrap().contains("HttpOnly"));
    // Codes are rate-limited like passwords: the failures so far plus these lock it.
    let locked = first_step(&t, email, "/login/code").await;
    for i in 0..5 {
        let s = second_step(&t, &locked, "000000").await.status();
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let fresh = totp(&secret).generate(now() + 30).to_string();
    let r = second_step(&t, &locked, &fresh).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "a right code is refused while locked"
    );
    assert!(r.headers().get("retry-after").is_some());
    // And the password step too: knowing the password does not reset the count.
    let r = post_login(&t, &t.base, email, PASSWORD, &[]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let failed = audit(&t, "action=second_factor_failed").await;
    assert!(failed.len() >= 5);
    assert!(
        !failed.iter().any(|e| e.to_string().contains("000000")),
        "codes are never logged"
    );
}
both!(two_factor_logins_take_a_code_once);

async fn administrators_require_and_reset_two_factor(t: TestApp) {
    // A session from before the rule, and the administrator's own session.
    let early = login(&t, "sales_b@test.hamkor.uz", PASSWORD).await.unwrap();
    let admin = login(&t, "admin@test.hamkor.uz", PASSWORD).await.unwrap();
    let admin_csrf = csrf_token(&t, &admin).await;
    let save_rules = |cookie: String, csrf: String, fields: Vec<(&'static str, &'static str)>| {
        let mut form = vec![("_csrf", csrf)];
        form.extend(fields.into_iter().map(|(k, v)| (k, v.to_string())));
        t.client
            .post(format!("{}/settings/security", t.base))
            .header("cookie", format!("hamkor_session={cookie}"))
            .form(&form)
            .send()
    };
    // Someone else may not change the rules, and nothing changes.
    let head = login(&t, "head_a@test.hamkor.uz", PASSWORD).await.unwrap();
    let head_csrf = csrf_token(&t, &head).await;
    let r = save_rules(head, head_csrf, vec![("two_factor_sales", "on")])
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        !t.app
            .two_factor_required(hamkor_domain::Role::Sales)
            .await
            .unwrap()
    );
    let r = save_rules(
        admin.clone(),
        admin_csrf.clone(),
        vec![("two_factor_sales", "on")],
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        t.app
            .two_factor_required(hamkor_domain::Role::Sales)
            .await
            .unwrap()
    );

    // A salesperson without 2FA is sent to set it up after the password, and the half
    // login grants nothing.
    let pending = first_step(&t, "sales_a2@test.hamkor.uz", "/login/enrol").await;
    assert_eq!(me_with_cookie(&t, &pending).await, StatusCode::UNAUTHORIZED);
    let page = t
        .client
        .get(format!("{}/login/enrol", t.base))
        .header("cookie", format!("hamkor_login={pending}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg"));
    let secret = between(&html, "<code id=\"totp-secret\">", "</code>").to_string();
    let r = t
        .client
        .post(format!("{}/login/enrol", t.base))
        .header("cookie", format!("hamkor_login={pending}"))
        .form(&[
            ("code", totp(&secret).generate(now()).to_string()),
            ("next", "/contacts".into()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let session = set_cookie(&r, "hamkor_session").unwrap();
    assert!(r.text().await.unwrap().contains("recovery-codes"));
    assert_eq!(me_with_cookie(&t, &session).await, StatusCode::OK);

    // The session from before the rule may only set 2FA up; its API token is unaffected.
    let r = t
        .client
        .get(format!("{}/accounts", t.base))
        .header("cookie", format!("hamkor_session={early}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/settings/two-factor");
    assert_eq!(me_with_cookie(&t, &early).await, StatusCode::FORBIDDEN);
    assert_eq!(t.get("sales_b", "/api/v1/users/me").await.0, StatusCode::OK);
    // The API login of such a user is refused: they set 2FA up in the web UI first.
    let (s, _, _) = api_login(
        &t,
        json!({"email": "sales_b@test.hamkor.uz", "password": PASSWORD}),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // 2FA cannot be turned off while the role requires it.
    let csrf = {
        let html = t
            .client
            .get(format!("{}/settings/tokens", t.base))
            .header("cookie", format!("hamkor_session={session}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        between(&html, "name=\"_csrf\" value=\"", "\"").to_string()
    };
    let r = t
        .client
        .post(format!("{}/settings/two-factor/disable", t.base))
        .header("cookie", format!("hamkor_session={session}"))
        .form(&[("_csrf", csrf.as_str()), ("current_password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        t.get("sales_a2", "/api/v1/users/me").await.1["two_factor"],
        true
    );

    // Resetting another's 2FA: administrators only (403 and nothing changed), then it is
    // off and the user's sessions end.
    let path = format!("/api/v1/users/{}/two_factor", t.id("sales_a2"));
    for who in ["head_a", "sales_a2", "sales_a1"] {
        assert_eq!(t.delete(who, &path).await, StatusCode::FORBIDDEN, "{who}");
    }
    assert_eq!(
        t.get("sales_a2", "/api/v1/users/me").await.1["two_factor"],
        true
    );
    assert_eq!(me_with_cookie(&t, &session).await, StatusCode::OK);
    assert_eq!(
        t.delete(
            "admin",
            "/api/v1/users/01999999-0000-7000-8000-000000000000/two_factor"
        )
        .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.delete("admin", &path).await, StatusCode::NO_CONTENT);
    assert_eq!(
        t.get("sales_a2", "/api/v1/users/me").await.1["two_factor"],
        false
    );
    assert_eq!(me_with_cookie(&t, &session).await, StatusCode::UNAUTHORIZED);
    let reset = audit(&t, "action=two_factor_reset").await;
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0]["user_id"], t.id("admin").as_str());
    assert_eq!(reset[0]["record_id"], t.id("sales_a2").as_str());
    // Their role still requires it: the next login goes to enrolment again.
    first_step(&t, "sales_a2@test.hamkor.uz", "/login/enrol").await;
    // Without the rule, a password is a login again.
    let r = save_rules(admin, admin_csrf, vec![]).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(
        login(&t, "sales_a2@test.hamkor.uz", PASSWORD)
            .await
            .is_some()
    );
    assert!(
        login(&t, "sales_b@test.hamkor.uz", PASSWORD)
            .await
            .is_some()
    );
    assert_eq!(me_with_cookie(&t, &early).await, StatusCode::OK);
}
both!(administrators_require_and_reset_two_factor);

async fn office_only_users_log_in_from_the_office_only(t: TestApp) {
    // 127.0.0.1, where the tests connect from, is outside the office.
    let admin = login(&t, "admin@test.hamkor.uz", PASSWORD).await.unwrap();
    let csrf = csrf_token(&t, &admin).await;
    let r = t
        .client
        .post(format!("{}/settings/security", t.base))
        .header("cookie", format!("hamkor_session={admin}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("office_networks", "10.0.0.0/8\n192.168.5.0/24"),
            ("network_support", "internet"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = t
        .client
        .post(format!(
            "{}/settings/users/{}/network",
            t.base,
            t.id("sales_b")
        ))
        .header("cookie", format!("hamkor_session={admin}"))
        .form(&[("_csrf", csrf.as_str()), ("login_network", "office")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let sales_b = format!("/api/v1/users/{}", t.id("sales_b"));
    let (_, user) = t.get("admin", &sales_b).await;
    assert_eq!(user["login_network"], "office");
    // The rule holds for every request: sales_b's API token is refused from outside.
    let (s, v) = t.get("sales_b", "/api/v1/users/me").await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["title"], "Not from this network");
    // A bad range is refused by name and changes nothing.
    let r = t
        .client
        .post(format!("{}/settings/security", t.base))
        .header("cookie", format!("hamkor_session={admin}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("office_networks", "10.0.0.0/8, 300.1.1.1"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("300.1.1.1"));

    let email = "sales_b@test.hamkor.uz";
    let r = post_login(&t, &t.base, email, PASSWORD, &[]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(&r, "hamkor_session").is_none());
    // A forged X-Forwarded-For from a peer that is no trusted proxy is ignored.
    let r = post_login(
        &t,
        &t.base,
        email,
        PASSWORD,
        &[("x-forwarded-for", "10.1.2.3")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (s, _, _) = api_login(&t, json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Behind a trusted proxy (127.0.0.1 here) the right-most untrusted address counts.
    let mut config = web_config(&t.base);
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let proxied = t.another_server_with(config).await;
    let r = post_login(
        &t,
        &proxied,
        email,
        PASSWORD,
        &[("x-forwarded-for", "10.1.2.3")],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "from the office through the proxy"
    );
    // The session begun in the office works there, and not from outside; nor does the
    // API token.
    let office_session = set_cookie(&r, "hamkor_session").unwrap();
    let use_from = |base: String, xff: &'static str, cookie: Option<String>| {
        let t = &t;
        async move {
            let mut req = t
                .client
                .get(format!("{base}/api/v1/users/me"))
                .header("x-forwarded-for", xff);
            req = match cookie {
                Some(c) => req.header("cookie", format!("hamkor_session={c}")),
                None => req.bearer_auth(&t.tokens["sales_b"]),
            };
            req.send().await.unwrap().status()
        }
    };
    for cookie in [Some(office_session.clone()), None] {
        let what = if cookie.is_some() { "session" } else { "token" };
        assert_eq!(
            use_from(proxied.clone(), "10.1.2.3", cookie.clone()).await,
            StatusCode::OK,
            "{what} in the office"
        );
        assert_eq!(
            use_from(proxied.clone(), "203.0.113.9", cookie.clone()).await,
            StatusCode::FORBIDDEN,
            "{what} from outside through the proxy"
        );
        assert_eq!(
            use_from(t.base.clone(), "10.1.2.3", cookie).await,
            StatusCode::FORBIDDEN,
            "{what} from outside with a forged office address"
        );
    }
    let r = t
        .client
        .get(format!("{}/contacts", t.base))
        .header("cookie", format!("hamkor_session={office_session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "the web UI from outside");
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("may not be used from this network")
    );
    let r = post_login(
        &t,
        &proxied,
        email,
        PASSWORD,
        &[("x-forwarded-for", "10.1.2.3, 203.0.113.9")],
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "a forged office address left of a real one"
    );
    let r = post_login(
        &t,
        &proxied,
        email,
        PASSWORD,
        &[("x-forwarded-for", "10.1.2.3, 127.0.0.1")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "past two trusted hops");
    // Support may log in only from outside the office; others anywhere.
    let r = post_login(
        &t,
        &proxied,
        "support@test.hamkor.uz",
        PASSWORD,
        &[("x-forwarded-for", "192.168.5.20")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        login(&t, "support@test.hamkor.uz", PASSWORD)
            .await
            .is_some()
    );
    let r = post_login(
        &t,
        &proxied,
        "marketer@test.hamkor.uz",
        PASSWORD,
        &[("x-forwarded-for", "192.168.5.20")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Refusals are audited with the address the rule saw.
    let refused = audit(&t, "action=login_refused_network").await;
    assert_eq!(refused.len(), 5);
    assert_eq!(refused[0]["ip"], "192.168.5.20");
    let logins = audit(&t, &format!("action=login&user_id={}", t.id("sales_b"))).await;
    assert_eq!(logins.len(), 2);
    assert_eq!(logins[0]["ip"], "10.1.2.3");

    // Only administrators set where users log in from; nothing changes otherwise.
    let head = login(&t, "head_a@test.hamkor.uz", PASSWORD).await.unwrap();
    let head_csrf = csrf_token(&t, &head).await;
    let r = t
        .client
        .post(format!(
            "{}/settings/users/{}/network",
            t.base,
            t.id("sales_b")
        ))
        .header("cookie", format!("hamkor_session={head}"))
        .form(&[("_csrf", head_csrf.as_str()), ("login_network", "any")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = t
        .client
        .get(format!("{}/settings/security", t.base))
        .header("cookie", format!("hamkor_session={head}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.get("admin", &sales_b).await.1["login_network"], "office");
}
both!(office_only_users_log_in_from_the_office_only);

async fn recovery_codes_are_renewed_and_two_factor_turned_off_with_the_password(t: TestApp) {
    let email = "head_b@test.hamkor.uz";
    let session = login(&t, email, PASSWORD).await.unwrap();
    let (_, old_codes) = enrol(&t, &session).await;
    let csrf = csrf_token(&t, &session).await;
    let post = |path: &'static str, password: &'static str| {
        t.client
            .post(format!("{}{path}", t.base))
            .header("cookie", format!("hamkor_session={session}"))
            .form(&[("_csrf", csrf.as_str()), ("current_password", password)])
            .send()
    };
    // A wrong password changes nothing (and counts as a failed login).
    let r = post("/settings/two-factor/recovery-codes", "not my password")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(audit(&t, "action=password_confirm_failed").await.len(), 1);
    let r = post("/settings/two-factor/recovery-codes", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let html = r.text().await.unwrap();
    let new_codes: Vec<String> = between(&html, "<ul id=\"recovery-codes\"", "</ul>")
        .split("<code>")
        .skip(1)
        .map(|c| c.split("</code>").next().unwrap().to_string())
        .collect();
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !old_codes.contains(c)));
    let pending = first_step(&t, email, "/login/code").await;
    assert_eq!(
        second_step(&t, &pending, &old_codes[0]).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        second_step(&t, &pending, &new_codes[0]).await.status(),
        StatusCode::SEE_OTHER
    );
    // Turning it off needs the password too; then a password is a login again.
    let r = post("/settings/two-factor/disable", "not my password")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        t.get("head_b", "/api/v1/users/me").await.1["two_factor"],
        true
    );
    let r = post("/settings/two-factor/disable", PASSWORD)
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        t.get("head_b", "/api/v1/users/me").await.1["two_factor"],
        false
    );
    assert!(login(&t, email, PASSWORD).await.is_some());
    let actions: Vec<String> = audit(&t, &format!("user_id={}&object=user", t.id("head_b")))
        .await
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for a in [
        "two_factor_enable",
        "recovery_codes_renew",
        "two_factor_disable",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}
both!(recovery_codes_are_renewed_and_two_factor_turned_off_with_the_password);

/// Every form of the login side refuses a post from another site (login CSRF) before it
/// does anything: no reset is issued, no failure counted, no audit entry written but the
/// refusal's own (with the address, and without the reset link's secret).
async fn login_side_forms_refuse_other_sites(t: TestApp) {
    let tables = ["password_resets", "login_failures", "sessions"];
    let audit = t.audit_rows().await;
    let refusals = t.refusals().await.len();
    let mut before = Vec::new();
    for table in tables {
        before.push(
            count(&t, {
                let mut q = Sql::new("SELECT COUNT(*) AS n FROM ");
                q.push_ident(table);
                q
            })
            .await,
        );
    }
    let forms: [(&str, &[(&str, &str)]); 5] = [
        (
            "/login",
            &[("email", "sales_b@test.hamkor.uz"), ("password", "wrong")],
        ),
        ("/forgot", &[("email", "sales_b@test.hamkor.uz")]),
        ("/reset/some-token", &[("password", "Another-long-pass-42")]),
        ("/login/code", &[("code", "123456")]),
        ("/login/enrol", &[("code", "123456")]),
    ];
    for (path, form) in forms {
        for (name, value) in [
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ] {
            let r = t
                .client
                .post(format!("{}{path}", t.base))
                .header(name, value)
                .form(form)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path} with {name}");
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (table, n) in tables.into_iter().zip(before) {
        let now = count(&t, {
            let mut q = Sql::new("SELECT COUNT(*) AS n FROM ");
            q.push_ident(table);
            q
        })
        .await;
        assert_eq!(now, n, "{table} unchanged");
    }
    assert_eq!(
        t.audit_rows().await,
        audit,
        "no audit entry but the refusals"
    );
    let refused = t.refusals().await;
    assert_eq!(refused.len(), refusals + 10, "each refusal audited");
    for (path, _) in forms {
        let logged = path.replace("some-token", "…");
        let n = refused[refusals..]
            .iter()
            .filter(|(who, m, p, ip)| {
                who.is_none() && m == "POST" && *p == logged && ip.as_deref() == Some("127.0.0.1")
            })
            .count();
        assert_eq!(n, 2, "{path} refused twice, logged as {logged}");
    }
    // The same post from this site is taken: the check above could fail.
    let r = t
        .client
        .post(format!("{}/login", t.base))
        .form(&[("email", "sales_b@test.hamkor.uz"), ("password", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let failures = count(&t, Sql::new("SELECT COUNT(*) AS n FROM login_failures")).await;
    assert!(failures > 0, "a same-site failure is counted");
}
both!(login_side_forms_refuse_other_sites);
