//! Logging in, sessions, CSRF, API tokens, disabling users and changing passwords.

use crate::both;
use crate::support::{PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::json;

/// Logs in through the form and returns the session cookie value.
pub async fn login(t: &TestApp, email: &str, password: &str) -> Option<String> {
    let resp = t
        .client
        .post(format!("{}/login", t.base))
        .form(&[
            ("email", email),
            ("password", password),
            ("next", "/contacts"),
        ])
        .send()
        .await
        .unwrap();
    if resp.status() != StatusCode::SEE_OTHER {
        return None;
    }
    assert_eq!(resp.headers()["location"], "/contacts");
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain http test server: {cookie}"
    );
    Some(
        cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_string(),
    )
}

pub async fn csrf_token(t: &TestApp, cookie: &str) -> String {
    let html = t
        .client
        .get(format!("{}/accounts", t.base))
        .header("cookie", format!("hamkor_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html.find("name=\"_csrf\" value=\"").expect("csrf field") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

async fn sessions_and_csrf(t: TestApp) {
    assert!(
        login(&t, "sales_a1@test.hamkor.uz", "wrong password")
            .await
            .is_none()
    );
    assert!(login(&t, "nobody@test.hamkor.uz", PASSWORD).await.is_none());
    let first = login(&t, "sales_a1@test.hamkor.uz", PASSWORD)
        .await
        .expect("login");
    let second = login(&t, "sales_a1@test.hamkor.uz", PASSWORD)
        .await
        .expect("login again");
    assert_ne!(first, second, "a new session id at every login");

    let api = |cookie: &str| {
        t.client
            .post(format!("{}/api/v1/accounts", t.base))
            .header("cookie", format!("hamkor_session={cookie}"))
            .json(&json!({"name": "Via cookie"}))
    };
    let before = t.count("accounts").await;
    assert_eq!(
        api(&first).send().await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "no CSRF token"
    );
    assert_eq!(
        api(&first)
            .header("x-csrf-token", "forged")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::FORBIDDEN
    );
    let csrf = csrf_token(&t, &first).await;
    let cross = api(&first)
        .header("x-csrf-token", &csrf)
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(
        cross.status(),
        StatusCode::FORBIDDEN,
        "cross-site request refused"
    );
    assert_eq!(
        t.count("accounts").await,
        before,
        "refused requests created nothing"
    );
    let ok = api(&first)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::CREATED);

    // A form post without the CSRF field is refused too.
    let resp = t
        .client
        .post(format!("{}/accounts/new", t.base))
        .header("cookie", format!("hamkor_session={first}"))
        .form(&[("name", "Form without token")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = t
        .client
        .post(format!("{}/accounts/new", t.base))
        .header("cookie", format!("hamkor_session={first}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("name", "Form with token"),
            ("kind", "client"),
            ("owner_id", &t.id("sales_a1")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(t.count("accounts").await, before + 2);

    // Logout ends the session.
    let resp = t
        .client
        .post(format!("{}/logout", t.base))
        .header("cookie", format!("hamkor_session={first}"))
        .form(&[("_csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = t
        .client
        .get(format!("{}/api/v1/users/me", t.base))
        .header("cookie", format!("hamkor_session={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let resp = t
        .client
        .get(format!("{}/accounts", t.base))
        .header("cookie", format!("hamkor_session={first}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(
        resp.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );

    // A password change ends the other sessions.
    let resp = t
        .client
        .get(format!("{}/api/v1/users/me", t.base))
        .header("cookie", format!("hamkor_session={second}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let user = t
        .app
        .user_by_email("sales_a1@test.hamkor.uz")
        .await
        .unwrap()
        .unwrap();
    t.app
        .set_password(user.id, "a brand new password")
        .await
        .unwrap();
    let resp = t
        .client
        .get(format!("{}/api/v1/users/me", t.base))
        .header("cookie", format!("hamkor_session={second}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        login(&t, "sales_a1@test.hamkor.uz", "a brand new password")
            .await
            .is_some()
    );
}
both!(sessions_and_csrf);

async fn tokens_and_disabled_users(t: TestApp) {
    let (s, v) = t.get("nobody", "/api/v1/users/me").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(v["status"], 401);
    let resp = t
        .client
        .get(format!("{}/api/v1/accounts", t.base))
        .bearer_auth("hk_not_a_token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (s, me) = t.get("sales_b", "/api/v1/users/me").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["email"], "sales_b@test.hamkor.uz");
    assert!(me.get("password_hash").is_none());
    let session = login(&t, "sales_b@test.hamkor.uz", PASSWORD).await.unwrap();
    // Disabling a user stops their token and session at once.
    let user = t
        .app
        .user_by_email("sales_b@test.hamkor.uz")
        .await
        .unwrap()
        .unwrap();
    t.app.set_user_disabled(None, user.id, true).await.unwrap();
    assert_eq!(
        t.get("sales_b", "/api/v1/users/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let resp = t
        .client
        .get(format!("{}/api/v1/users/me", t.base))
        .header("cookie", format!("hamkor_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        login(&t, "sales_b@test.hamkor.uz", PASSWORD)
            .await
            .is_none()
    );
}
both!(tokens_and_disabled_users);

async fn tokens_are_shown_once_and_revocable(t: TestApp) {
    let (s, v) = t
        .post("sales_a1", "/api/v1/tokens", json!({"name": "script"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let secret = v["token"].as_str().unwrap().to_string();
    let id = v["id"].as_str().unwrap().to_string();
    let (_, list) = t.get("sales_a1", "/api/v1/tokens").await;
    assert!(
        !list.to_string().contains(&secret),
        "the secret is never listed"
    );
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str())
    );
    let me = |tok: String| {
        let c = t.client.clone();
        let url = format!("{}/api/v1/users/me", t.base);
        async move { c.get(url).bearer_auth(tok).send().await.unwrap().status() }
    };
    assert_eq!(me(secret.clone()).await, StatusCode::OK);
    // Someone else cannot revoke it (not found), its owner can.
    assert_eq!(
        t.delete("sales_b", &format!("/api/v1/tokens/{id}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(me(secret.clone()).await, StatusCode::OK);
    assert_eq!(
        t.delete("sales_a1", &format!("/api/v1/tokens/{id}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        me(secret).await,
        StatusCode::UNAUTHORIZED,
        "revoked at once on this server"
    );
    let (s, _) = t
        .post("sales_a1", "/api/v1/tokens", json!({"name": ""}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(tokens_are_shown_once_and_revocable);

async fn administrators_change_role_rights(t: TestApp) {
    let theirs = t
        .contact("admin", "sales_a1", json!({"last_name": "Teammate's"}))
        .await;
    let path = format!("/api/v1/contacts/{theirs}");
    assert_eq!(t.get("sales_a2", &path).await.0, StatusCode::NOT_FOUND);
    // Only administrators see or change the rights.
    assert_eq!(
        t.get("head_a", "/api/v1/roles").await.0,
        StatusCode::FORBIDDEN
    );
    let (s, _) = t
        .patch(
            "head_a",
            "/api/v1/roles/sales",
            json!({"permissions": {"contact": {"read": "all"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        t.get("sales_a2", &path).await.0,
        StatusCode::NOT_FOUND,
        "nothing changed"
    );
    let (s, v) = t
        .patch(
            "admin",
            "/api/v1/roles/sales",
            json!({"permissions": {"contact": {"read": "everyone"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "permissions.contact.read");
    let (s, _) = t
        .patch(
            "admin",
            "/api/v1/roles/administrator",
            json!({"permissions": {"contact": {"read": "none"}}}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "nobody locks the company out"
    );
    // Sales read their team's contacts from now on; writing stays their own.
    let (s, v) = t
        .patch(
            "admin",
            "/api/v1/roles/sales",
            json!({"permissions": {"contact": {"read": "team"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["permissions"]["contact"]["read"], "team");
    assert_eq!(t.get("sales_a2", &path).await.0, StatusCode::OK);
    assert_eq!(
        t.get("sales_b", &path).await.0,
        StatusCode::NOT_FOUND,
        "another team still cannot"
    );
    assert_eq!(
        t.patch("sales_a2", &path, json!({"middle_name": "X"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (_, roles) = t.get("admin", "/api/v1/roles").await;
    let sales = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "sales")
        .unwrap();
    assert_eq!(sales["permissions"]["contact"]["write"], "own");
}
both!(administrators_change_role_rights);

/// `GET /api/v1/users/me` on `base` with a bearer token or a session cookie.
async fn me_status(
    t: &TestApp,
    base: &str,
    token: Option<&str>,
    cookie: Option<&str>,
) -> StatusCode {
    let mut req = t.client.get(format!("{base}/api/v1/users/me"));
    if let Some(tok) = token {
        req = req.bearer_auth(tok);
    }
    if let Some(c) = cookie {
        req = req.header("cookie", format!("hamkor_session={c}"));
    }
    req.send().await.unwrap().status()
}

/// A disabled user's token and sessions stop within a second on every server, even on a
/// server that keeps using (and so caching) the token all the while.
async fn disabling_stops_credentials_on_every_server_within_a_second(t: TestApp) {
    let other = t.another_server().await;
    let token = t.tokens["sales_a2"].clone();
    let session = login(&t, "sales_a2@test.hamkor.uz", PASSWORD)
        .await
        .unwrap();
    for base in [t.base.as_str(), other.as_str()] {
        assert_eq!(
            me_status(&t, base, Some(&token), None).await,
            StatusCode::OK
        );
        assert_eq!(
            me_status(&t, base, None, Some(&session)).await,
            StatusCode::OK
        );
    }
    // The other server uses the token without a pause, so its cached copy is always warm.
    let busy = {
        let (c, url, tok) = (
            t.client.clone(),
            format!("{other}/api/v1/users/me"),
            token.clone(),
        );
        tokio::spawn(async move {
            let mut last = StatusCode::OK;
            let until = std::time::Instant::now() + std::time::Duration::from_millis(2500);
            let mut stopped_at = None;
            while std::time::Instant::now() < until {
                last = c.get(&url).bearer_auth(&tok).send().await.unwrap().status();
                if last == StatusCode::UNAUTHORIZED && stopped_at.is_none() {
                    stopped_at = Some(std::time::Instant::now());
                }
                if stopped_at.is_some() {
                    assert_eq!(
                        last,
                        StatusCode::UNAUTHORIZED,
                        "once stopped, it stays stopped"
                    );
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            (last, stopped_at)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let user = t
        .app
        .user_by_email("sales_a2@test.hamkor.uz")
        .await
        .unwrap()
        .unwrap();
    let disabled_at = std::time::Instant::now();
    t.app.set_user_disabled(None, user.id, true).await.unwrap();
    // At once on the server that made the change, for the token and the session; the
    // session at once on the other server too (sessions are read from the database).
    assert_eq!(
        me_status(&t, &t.base, Some(&token), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me_status(&t, &t.base, None, Some(&session)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me_status(&t, &other, None, Some(&session)).await,
        StatusCode::UNAUTHORIZED
    );
    let (last, stopped_at) = busy.await.unwrap();
    assert_eq!(last, StatusCode::UNAUTHORIZED);
    let stopped_at = stopped_at.expect("the token stopped working on the other server");
    let after = stopped_at.saturating_duration_since(disabled_at);
    assert!(
        after <= std::time::Duration::from_millis(1100),
        "the other server trusted its copy for {after:?}"
    );
    // Enabled again, the same token works again (it was never revoked).
    t.app.set_user_disabled(None, user.id, false).await.unwrap();
    assert_eq!(
        me_status(&t, &other, Some(&token), None).await,
        StatusCode::OK
    );
}
both!(disabling_stops_credentials_on_every_server_within_a_second);

/// Changing one's password through the profile page ends one's other sessions at once on
/// every server; the session used for the change stays, and so do API tokens (separate
/// credentials, revoked on their own page).
async fn a_password_change_ends_the_other_sessions(t: TestApp) {
    let other = t.another_server().await;
    let mine = login(&t, "sales_a1@test.hamkor.uz", PASSWORD)
        .await
        .unwrap();
    let elsewhere = login(&t, "sales_a1@test.hamkor.uz", PASSWORD)
        .await
        .unwrap();
    let csrf = csrf_token(&t, &mine).await;
    let resp = t
        .client
        .post(format!("{}/settings/password", t.base))
        .header("cookie", format!("hamkor_session={mine}"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("current_password", PASSWORD),
            ("new_password", "another long password"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    for base in [t.base.as_str(), other.as_str()] {
        assert_eq!(
            me_status(&t, base, None, Some(&elsewhere)).await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(me_status(&t, base, None, Some(&mine)).await, StatusCode::OK);
        assert_eq!(
            me_status(&t, base, Some(&t.tokens["sales_a1"]), None).await,
            StatusCode::OK
        );
    }
    assert!(
        login(&t, "sales_a1@test.hamkor.uz", PASSWORD)
            .await
            .is_none()
    );
    assert!(
        login(&t, "sales_a1@test.hamkor.uz", "another long password")
            .await
            .is_some()
    );
}
both!(a_password_change_ends_the_other_sessions);
