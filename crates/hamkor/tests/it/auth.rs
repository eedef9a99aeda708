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

async fn csrf_token(t: &TestApp, cookie: &str) -> String {
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
