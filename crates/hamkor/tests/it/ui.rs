//! The web pages over plain HTTP: who may open what, escaping, forms and their errors.

use crate::auth::login;
use crate::both;
use crate::support::{PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::json;

pub(crate) struct Session<'a> {
    t: &'a TestApp,
    cookie: String,
    csrf: String,
}

impl<'a> Session<'a> {
    pub(crate) fn cookie(&self) -> &str {
        &self.cookie
    }
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }
    pub(crate) async fn new(t: &'a TestApp, persona: &str) -> Session<'a> {
        let cookie = login(t, &format!("{persona}@test.hamkor.uz"), PASSWORD)
            .await
            .expect("login");
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
        let csrf = html[at..].split('"').next().unwrap().to_string();
        Session { t, cookie, csrf }
    }
    pub(crate) async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .t
            .client
            .get(format!("{}{}", self.t.base, path))
            .header("cookie", format!("hamkor_session={}", self.cookie))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
    pub(crate) async fn post(&self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
        let mut f: Vec<(&str, &str)> = vec![("_csrf", self.csrf.as_str())];
        f.extend_from_slice(form);
        let r = self
            .t
            .client
            .post(format!("{}{}", self.t.base, path))
            .header("cookie", format!("hamkor_session={}", self.cookie))
            .form(&f)
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

async fn settings_are_for_administrators(t: TestApp) {
    let head = Session::new(&t, "head_a").await;
    let (s, _) = head.get("/settings/fields").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = head
        .post(
            "/settings/fields",
            &[
                ("object", "account"),
                ("key", "x"),
                ("label", "X"),
                ("kind", "text"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = t.get("admin", "/api/v1/custom_fields?object=account").await;
    assert_eq!(v["items"], json!([]), "nothing was added");
    let admin = Session::new(&t, "admin").await;
    let (s, html) = admin
        .post(
            "/settings/fields",
            &[
                ("object", "account"),
                ("key", "Bad Key"),
                ("label", "X"),
                ("kind", "text"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("Lower-case Latin letters"),
        "the error is explained"
    );
    let (s, _) = admin
        .post(
            "/settings/fields",
            &[
                ("object", "account"),
                ("key", "region"),
                ("label", "Region"),
                ("kind", "text"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = t.get("admin", "/api/v1/custom_fields?object=account").await;
    let id = v["items"][0]["id"].as_str().unwrap().to_string();
    let (s, _) = head
        .post(&format!("/settings/fields/{id}/delete"), &[])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = t.get("admin", "/api/v1/custom_fields?object=account").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "still there");
}
both!(settings_are_for_administrators);

async fn pages_escape_what_users_typed(t: TestApp) {
    let evil = "<script>alert('x')</script>\"><img src=x onerror=alert(1)>";
    let (s, v) = t.post("admin", "/api/v1/accounts", json!({"name": evil, "industry": evil, "tags": [evil.chars().take(50).collect::<String>()]})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let admin = Session::new(&t, "admin").await;
    for path in [
        format!("/accounts/{id}"),
        "/accounts".to_string(),
        "/search?q=alert".to_string(),
        format!("/accounts/{id}/edit"),
    ] {
        let (s, html) = admin.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        assert!(
            !html.contains("<script>alert"),
            "{path} shows the script unescaped"
        );
        assert!(
            !html.contains("<img src=x"),
            "{path} shows the tag unescaped"
        );
        assert!(
            html.contains("&lt;script&gt;")
                || html.contains("&#60;script&#62;")
                || html.contains("&lt;script"),
            "{path} shows the name escaped"
        );
    }
}
both!(pages_escape_what_users_typed);

async fn record_pages_and_forms(t: TestApp) {
    let sales = Session::new(&t, "sales_a1").await;
    // A form with errors keeps what was typed and names the problem.
    let (s, html) = sales
        .post(
            "/accounts/new",
            &[
                ("name", ""),
                ("emails", "nope"),
                ("owner_id", &t.id("sales_a1")),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("This field is required.") && html.contains("Not a valid e-mail address.")
    );
    assert!(html.contains("value=\"nope\""));
    let (s, _) = sales
        .post(
            "/accounts/new",
            &[
                ("name", "Formdan MChJ"),
                ("kind", "client"),
                ("owner_id", &t.id("sales_a1")),
                ("tags", "vip, new"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = t.get("sales_a1", "/api/v1/accounts?q=formdan").await;
    assert_eq!(v["items"][0]["tags"], json!(["vip", "new"]));
    let id = v["items"][0]["id"].as_str().unwrap().to_string();
    let (s, html) = sales.get(&format!("/accounts/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("History of changes") && html.contains("created"));
    // Editing with the version shown; a stale version is refused.
    let (s, _) = sales
        .post(
            &format!("/accounts/{id}/edit"),
            &[
                ("name", "Formdan Savdo"),
                ("version", "1"),
                ("owner_id", &t.id("sales_a1")),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, html) = sales
        .post(
            &format!("/accounts/{id}/edit"),
            &[
                ("name", "Overwrite"),
                ("version", "1"),
                ("owner_id", &t.id("sales_a1")),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);
    assert!(html.contains("Changed by someone else"));
    assert_eq!(
        t.snapshot(&format!("/api/v1/accounts/{id}")).await["name"],
        "Formdan Savdo"
    );
    // Someone who cannot see it gets the not-found page, for reading, editing and deleting.
    let other = Session::new(&t, "sales_b").await;
    assert_eq!(
        other.get(&format!("/accounts/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.get(&format!("/accounts/{id}/edit")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other
            .post(&format!("/accounts/{id}/edit"), &[("name", "Mine now")])
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        other.post(&format!("/accounts/{id}/delete"), &[]).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.snapshot(&format!("/api/v1/accounts/{id}")).await["name"],
        "Formdan Savdo"
    );
    // The read-only user sees it but may not delete it.
    let viewer = Session::new(&t, "viewer").await;
    assert_eq!(
        viewer.get(&format!("/accounts/{id}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        viewer.post(&format!("/accounts/{id}/delete"), &[]).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.get("admin", &format!("/api/v1/accounts/{id}")).await.0,
        StatusCode::OK
    );
    // Deleting from the page moves it to the trash.
    assert_eq!(
        sales
            .post(&format!("/accounts/{id}/delete"), &[("version", "2")])
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        t.get("admin", &format!("/api/v1/accounts/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
}
both!(record_pages_and_forms);

async fn list_page_filters_and_columns(t: TestApp) {
    for (name, kind) in [
        ("Alfa", "client"),
        ("Beta", "prospect"),
        ("Gamma", "client"),
    ] {
        let (s, _) = t
            .post(
                "admin",
                "/api/v1/accounts",
                json!({"name": name, "kind": kind, "tax_id": "305123456"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let admin = Session::new(&t, "admin").await;
    let r = t
        .client
        .get(format!(
            "{}/accounts?ffield=kind&fop=eq&fvalue=client",
            t.base
        ))
        .header("cookie", format!("hamkor_session={}", admin.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let target = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(target, "/accounts?kind%5Beq%5D=client");
    let (_, html) = admin
        .get(&format!("{target}&col=name&col=created_at&sort=-name"))
        .await;
    assert!(html.contains("Gamma") && html.contains("Alfa") && !html.contains(">Beta<"));
    assert!(
        html.find("Gamma").unwrap() < html.find("Alfa").unwrap(),
        "sorted by name, descending"
    );
    let head = &html[html.find("<thead>").unwrap()..html.find("</thead>").unwrap()];
    assert!(
        head.contains(">Created"),
        "the chosen column is shown: {head}"
    );
    assert!(
        !head.contains("Tax id"),
        "columns not chosen are hidden: {head}"
    );
    let (s, _) = admin.get("/accounts?sort=password_hash").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(list_page_filters_and_columns);

async fn rights_and_tokens_pages(t: TestApp) {
    let head = Session::new(&t, "head_a").await;
    assert_eq!(head.get("/settings/roles").await.0, StatusCode::FORBIDDEN);
    let (s, _) = head
        .post("/settings/roles", &[("sales.contact.read", "all")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, roles) = t.get("admin", "/api/v1/roles").await;
    let sales = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "sales")
        .unwrap()
        .clone();
    assert_eq!(
        sales["permissions"]["contact"]["read"], "own",
        "nothing changed"
    );

    let admin = Session::new(&t, "admin").await;
    let (s, html) = admin.get("/settings/roles").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("name=\"sales.contact.read\""));
    assert!(
        !html.contains("name=\"administrator.contact.read\""),
        "the administrator's rights are fixed"
    );
    let (s, _) = admin
        .post(
            "/settings/roles",
            &[
                ("sales.contact.read", "team"),
                ("marketer.account.write", "none"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, roles) = t.get("admin", "/api/v1/roles").await;
    let find = |r: &str| {
        roles["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["role"] == r)
            .unwrap()
            .clone()
    };
    assert_eq!(find("sales")["permissions"]["contact"]["read"], "team");
    assert_eq!(find("marketer")["permissions"]["account"]["write"], "none");
    let (s, html) = admin
        .post("/settings/roles", &[("sales.contact.read", "everything")])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Not one of the allowed values"));

    // Tokens: created from the page, shown once, revocable only by their owner.
    let sales = Session::new(&t, "sales_a1").await;
    let (s, html) = sales
        .post("/settings/tokens", &[("name", "Excel macro")])
        .await;
    assert_eq!(s, StatusCode::OK);
    let at = html.find("id=\"new-token\">").expect("token shown") + 15;
    let secret = html[at..].split('<').next().unwrap().to_string();
    assert!(secret.starts_with("hk_"));
    let (_, again) = sales.get("/settings/tokens").await;
    assert!(
        again.contains("Excel macro") && !again.contains(&secret),
        "shown only once"
    );
    let (_, list) = t.get("sales_a1", "/api/v1/tokens").await;
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Excel macro")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other = Session::new(&t, "sales_b").await;
    assert_eq!(
        other
            .post(&format!("/settings/tokens/{id}/revoke"), &[])
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let ok = t
        .client
        .get(format!("{}/api/v1/users/me", t.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK, "still works");
    assert_eq!(
        sales
            .post(&format!("/settings/tokens/{id}/revoke"), &[])
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    let gone = t
        .client
        .get(format!("{}/api/v1/users/me", t.base))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
}
both!(rights_and_tokens_pages);

async fn administrators_manage_users(t: TestApp) {
    // Not for others: page, form and API.
    let head = Session::new(&t, "head_a").await;
    assert_eq!(head.get("/settings/users").await.0, StatusCode::FORBIDDEN);
    let (s, _) = head
        .post(
            "/settings/users",
            &[
                ("name", "Intruder"),
                ("email", "intruder@x.uz"),
                ("role", "administrator"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        t.app
            .user_by_email("intruder@x.uz")
            .await
            .unwrap()
            .is_none()
    );
    let sales_b = t.id("sales_b");
    assert_eq!(
        head.post(&format!("/settings/users/{sales_b}/disable"), &[])
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, _) = t
        .patch(
            "head_a",
            &format!("/api/v1/users/{sales_b}"),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(
        t.get("sales_b", "/api/v1/users/me").await.0,
        StatusCode::OK,
        "still active"
    );

    // An administrator adds a user in a new team and gets a one-time setup link.
    let admin = Session::new(&t, "admin").await;
    let (s, html) = admin
        .post(
            "/settings/users",
            &[
                ("name", "Zarina Qodirova"),
                ("email", "Zarina@Firma.uz"),
                ("role", "sales"),
                ("team", "Buxoro"),
                ("language", "uz"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    let at = html.find("id=\"setup-link\">").expect("setup link shown") + 16;
    let link = html[at..].split('<').next().unwrap().to_string();
    assert!(link.starts_with(&format!("{}/setup/", t.base)));
    let u = t
        .app
        .user_by_email("zarina@firma.uz")
        .await
        .unwrap()
        .expect("created");
    let team = t
        .app
        .teams()
        .await
        .unwrap()
        .into_iter()
        .find(|x| x.name == "Buxoro")
        .expect("team created");
    assert_eq!(u.team_id, Some(team.id));
    let (s, html) = admin
        .post(
            "/settings/users",
            &[
                ("name", "Again"),
                ("email", "zarina@firma.uz"),
                ("role", "sales"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("already exists"));
    let (s, _) = admin
        .post(
            "/settings/users",
            &[
                ("name", "Bad"),
                ("email", "bad@x.uz"),
                ("role", "root"),
                ("team", "Never"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !t.app
            .teams()
            .await
            .unwrap()
            .iter()
            .any(|x| x.name == "Never"),
        "no team is made for an invalid user"
    );

    // Disabling stops the user at once; enabling lets them back in.
    assert_eq!(
        admin
            .post(&format!("/settings/users/{sales_b}/disable"), &[])
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        t.get("sales_b", "/api/v1/users/me").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, v) = t
        .patch(
            "admin",
            &format!("/api/v1/users/{sales_b}"),
            json!({"disabled": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["disabled"], false);
    assert_eq!(t.get("sales_b", "/api/v1/users/me").await.0, StatusCode::OK);
    let (s, v) = t
        .patch(
            "admin",
            &format!("/api/v1/users/{sales_b}"),
            json!({"email": "someone@else.uz"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let admin_id = t.id("admin");
    let (s, _) = t
        .patch(
            "admin",
            &format!("/api/v1/users/{admin_id}"),
            json!({"disabled": true}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an administrator cannot lock themselves out"
    );
}
both!(administrators_manage_users);

async fn users_change_their_own_password(t: TestApp) {
    let here = Session::new(&t, "sales_a2").await;
    let elsewhere = Session::new(&t, "sales_a2").await;
    let (s, html) = here
        .post(
            "/settings/password",
            &[
                ("current_password", "wrong one"),
                ("new_password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("The current password is not right."));
    assert_eq!(
        elsewhere.get("/accounts").await.0,
        StatusCode::OK,
        "nothing changed"
    );
    assert!(
        login(&t, "sales_a2@test.hamkor.uz", PASSWORD)
            .await
            .is_some(),
        "old password still works"
    );
    let (s, _) = here
        .post(
            "/settings/password",
            &[("current_password", PASSWORD), ("new_password", "short")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, html) = here
        .post(
            "/settings/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "a new long password"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Your password is changed."));
    assert_eq!(
        here.get("/accounts").await.0,
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        elsewhere.get("/accounts").await.0,
        StatusCode::SEE_OTHER,
        "the other session ended"
    );
    assert!(
        login(&t, "sales_a2@test.hamkor.uz", PASSWORD)
            .await
            .is_none()
    );
    assert!(
        login(&t, "sales_a2@test.hamkor.uz", "a new long password")
            .await
            .is_some()
    );
}
both!(users_change_their_own_password);

/// "Log a call" from an account page lands on its timeline, escaped; a user who cannot
/// see the account can neither open its page nor log on it.
async fn log_a_call_from_the_account_page(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Timeline Client").await;
    let page = format!("/accounts/{acc}");
    let me = Session::new(&t, "sales_a1").await;
    let (s, html) = me.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("id=\"log-call\""), "quick forms shown");
    let return_to = format!("{page}#timeline");
    let (s, _) = me
        .post(
            "/interactions/new",
            &[
                ("version", "0"),
                ("kind", "call"),
                ("account_id", &acc),
                ("direction", "incoming"),
                ("duration", "4:05"),
                ("subject", "<script>alert(1)</script> asked for prices"),
                ("occurred_at", "2026-11-20T10:30"),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = me.get(&page).await;
    assert!(html.contains("&#60;script&#62;alert(1)&#60;/script&#62; asked for prices"));
    assert!(!html.contains("<script>alert(1)"));
    assert!(html.contains("4:05"));
    // The time was typed in the user's zone (Tashkent, UTC+5) and is shown back in it.
    assert!(
        html.contains("20.11.2026 10:30") || html.contains("Nov 20, 2026 10:30"),
        "{html}"
    );
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/accounts/{acc}/timeline"))
        .await;
    assert_eq!(v["items"][0]["occurred_at"], "2026-11-20T05:30:00.000000Z");

    // Filtering the timeline on the page.
    let (_, html) = me.get(&format!("{page}?tl_kind=note")).await;
    assert!(!html.contains("asked for prices"));
    let (_, html) = me.get(&format!("{page}?tl_from=2026-13-01")).await;
    assert!(
        html.contains("role=\"alert\""),
        "a bad date is reported, not a crash"
    );

    // A note with a bad value re-opens the full form with the error, and saves nothing.
    let (s, html) = me
        .post(
            "/interactions/new",
            &[
                ("version", "0"),
                ("kind", "call"),
                ("account_id", &acc),
                ("duration", "99:99"),
                ("return_to", &return_to),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("name=\"return_to\""));
    assert_eq!(t.count("interactions").await, 1);

    // Another team's salesperson: no page, no logging on it.
    let other = Session::new(&t, "sales_b").await;
    let (s, _) = other.get(&page).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other
        .post(
            "/interactions/new",
            &[
                ("version", "0"),
                ("kind", "note"),
                ("account_id", &acc),
                ("body", "x"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.count("interactions").await, 1);
    // A return address elsewhere is not followed.
    let (s, _) = me
        .post(
            "/interactions/new",
            &[
                ("version", "0"),
                ("kind", "note"),
                ("account_id", &acc),
                ("body", "x"),
                ("return_to", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
}
both!(log_a_call_from_the_account_page);

async fn quick_entry_page(t: TestApp) {
    let me = Session::new(&t, "sales_a1").await;
    let (s, html) = me.get("/quick").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("name=\"account.name\"") && html.contains("name=\"interaction.subject\"")
    );
    let (s, _) = me
        .post(
            "/quick",
            &[
                ("account.name", "Quick Co"),
                ("account.kind", "prospect"),
                ("contact.last_name", "Quickov"),
                ("contact.phones", "90 555 44 33 (work)"),
                ("position", "Boss"),
                ("interaction.kind", "call"),
                ("interaction.direction", "incoming"),
                ("interaction.subject", "Called from an ad"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = t.get("sales_a1", "/api/v1/contacts?q=quickov").await;
    assert_eq!(v["items"][0]["phones"][0]["kind"], "work");
    assert_eq!(v["items"][0]["accounts"][0]["name"], "Quick Co");
    assert_eq!(t.count("interactions").await, 1);
    // A private person: the preset company kind and call direction alone create nothing.
    let (s, _) = me
        .post(
            "/quick",
            &[
                ("account.kind", "prospect"),
                ("contact.first_name", "Private"),
                ("interaction.kind", "call"),
                ("interaction.direction", "incoming"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(t.count("accounts").await, 1);
    assert_eq!(t.count("contacts").await, 2);
    assert_eq!(t.count("interactions").await, 1);
    // Errors come back on the page with the values kept.
    let (s, html) = me
        .post(
            "/quick",
            &[
                ("account.name", "<b>Bold</b> Co"),
                ("account.tax_id", "123"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("value=\"&#60;b&#62;Bold&#60;/b&#62; Co\""),
        "escaped and kept"
    );
    assert_eq!(t.count("accounts").await, 1);
}
both!(quick_entry_page);

async fn bulk_and_views_from_the_list_page(t: TestApp) {
    let a = t.account("sales_a1", "sales_a1", "Bulk A").await;
    let b = t.account("sales_b", "sales_b", "Bulk B").await;
    let me = Session::new(&t, "head_a").await;
    let (_, html) = me.get("/accounts").await;
    assert!(html.contains("id=\"bulk\"") && html.contains("id=\"save-view\""));
    let (s, html) = me
        .post(
            "/accounts/bulk",
            &[
                ("action", "add_tag"),
                ("tag", "<i>hot</i>"),
                ("ids", &a),
                ("ids", &b),
                ("return_to", "/accounts?kind=client"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<strong>1</strong>"), "one done, one refused");
    assert!(html.contains("href=\"/accounts?kind=client\""));
    let (_, v) = t.get("admin", &format!("/api/v1/accounts/{a}")).await;
    assert_eq!(v["tags"], json!(["<i>hot</i>"]));
    let (s, _) = me
        .post(
            "/accounts/bulk",
            &[
                ("action", "set_field"),
                ("field", "industry"),
                ("value", "Textile"),
                ("ids", &a),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = t.get("admin", &format!("/api/v1/accounts/{a}")).await;
    assert_eq!(v["industry"], "Textile");
    let (_, html) = me.get(&format!("/accounts/{a}")).await;
    assert!(html.contains("&#60;i&#62;hot&#60;/i&#62;") && !html.contains("<i>hot</i>"));
    // Save the current list as a view; it shows among the views.
    let (s, _) = me
        .post(
            "/accounts/views",
            &[("name", "Hot clients"), ("params", "tags=hot&sort=name")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = me.get("/accounts").await;
    assert!(
        html.contains(">Hot clients</a>") && html.contains("tags=hot"),
        "{html}"
    );
    let (s, _) = me
        .post(
            "/accounts/views",
            &[("name", "Bad"), ("params", "sort=nope")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Another user cannot delete the private view, and it stays.
    let (_, v) = t.get("head_a", "/api/v1/views?object=account").await;
    let view = v["items"][0]["id"].as_str().unwrap().to_string();
    let other = Session::new(&t, "sales_b").await;
    let (s, _) = other
        .post(&format!("/accounts/views/{view}/delete"), &[])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = t.get("head_a", "/api/v1/views?object=account").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    // Only administrators keep the list of interests.
    let (s, _) = other
        .post("/settings/interests", &[("value", "Silk")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = other
        .post(
            "/settings/interests/state",
            &[("value", "Silk"), ("active", "false")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = t.get("admin", "/api/v1/picklists/interests").await;
    assert_eq!(v["items"], json!([]));
}
both!(bulk_and_views_from_the_list_page);

async fn attach_a_file_from_the_record_page(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Files Co").await;
    let me = Session::new(&t, "sales_a1").await;
    let (_, html) = me.get(&format!("/accounts/{acc}")).await;
    assert!(html.contains("enctype=\"multipart/form-data\""));
    let send = |csrf: String, name: &'static str| {
        let part = reqwest::multipart::Part::bytes(b"%PDF-1.4\n%%EOF\n".to_vec()).file_name(name);
        let form = reqwest::multipart::Form::new()
            .text("_csrf", csrf)
            .part("file", part);
        t.client
            .post(format!("{}/accounts/{acc}/attachments", t.base))
            .header("cookie", format!("hamkor_session={}", me.cookie))
            .multipart(form)
            .send()
    };
    let r = send("wrong".into(), "a.pdf").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(me.csrf.clone(), "Shartnoma <script>.pdf")
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, html) = me.get(&format!("/accounts/{acc}")).await;
    assert!(html.contains("Shartnoma script.pdf"), "the name is cleaned");
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/accounts/{acc}/attachments"))
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let id = v["items"][0]["id"].as_str().unwrap().to_string();
    let (s, body) = me.get(&format!("/attachments/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.starts_with("%PDF"));
    let other = Session::new(&t, "sales_b").await;
    let (s, _) = other.get(&format!("/attachments/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other.post(&format!("/attachments/{id}/delete"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = me
        .post(
            &format!("/attachments/{id}/delete"),
            &[("return_to", "/accounts")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/accounts/{acc}/attachments"))
        .await;
    assert_eq!(v["items"], json!([]));
}
both!(attach_a_file_from_the_record_page);

async fn planning_pages(t: TestApp) {
    let due = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    let (_, v) = t
        .post(
            "sales_a1",
            "/api/v1/tasks",
            json!({"title": "<b>Bold</b> offer", "assignee_id": t.id("sales_a2"), "due_at": due,
                "checklist": ["Draft", "Send"], "recurrence": {"every": "week", "interval": 2}}),
        )
        .await;
    let id = v["id"].as_str().unwrap().to_string();
    let author = Session::new(&t, "sales_a1").await;
    let assignee = Session::new(&t, "sales_a2").await;
    // My day: what I gave a colleague, escaped; the assignee's has it upcoming or today.
    let (s, html) = author.get("/my-day").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("Assigned by me") && html.contains("&#60;b&#62;Bold&#60;/b&#62; offer"),
        "{html}"
    );
    assert!(!html.contains("<b>Bold</b>"));
    let (_, html) = assignee.get("/my-day").await;
    assert!(
        html.contains(&format!("action=\"/tasks/{id}/status\"")),
        "{html}"
    );
    // The task page: the author may cancel, not start; the assignee may start; the
    // repeat rule and the author are shown.
    let (_, html) = author.get(&format!("/tasks/{id}")).await;
    assert!(
        html.contains("value=\"cancelled\"") && !html.contains("value=\"in_progress\""),
        "{html}"
    );
    assert!(html.contains("Every 2 weeks"), "{html}");
    assert!(html.contains("Author") && html.contains("sales_a1"));
    let (_, html) = assignee.get(&format!("/tasks/{id}")).await;
    assert!(
        html.contains("value=\"in_progress\"") && !html.contains("value=\"cancelled\""),
        "{html}"
    );
    // A move without the form's CSRF token is refused and changes nothing.
    let before = t.snapshot(&format!("/api/v1/tasks/{id}")).await;
    let r = t
        .client
        .post(format!("{}/tasks/{id}/status", t.base))
        .header("cookie", format!("hamkor_session={}", assignee.cookie))
        .form(&[("status", "in_progress")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.snapshot(&format!("/api/v1/tasks/{id}")).await, before);
    // The author cannot do the assignee's part from the page either.
    let (s, _) = author
        .post(&format!("/tasks/{id}/status"), &[("status", "in_progress")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(t.snapshot(&format!("/api/v1/tasks/{id}")).await, before);
    // The assignee starts it, ticks a step, comments; a colleague without access cannot.
    let (s, _) = assignee
        .post(&format!("/tasks/{id}/status"), &[("status", "in_progress")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = assignee
        .post(&format!("/tasks/{id}/checklist"), &[("item", "0")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = assignee
        .post(&format!("/tasks/{id}/comments"), &[("body", "On it")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = t.get("admin", &format!("/api/v1/tasks/{id}")).await;
    assert_eq!(
        (v["status"].as_str(), v["checklist"][0]["done"].as_bool()),
        (Some("in_progress"), Some(true)),
        "{v}"
    );
    let other = Session::new(&t, "sales_b").await;
    let (s, _) = other.get(&format!("/tasks/{id}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other
        .post(&format!("/tasks/{id}/comments"), &[("body", "Sneaky")])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other
        .post(&format!("/tasks/{id}/checklist"), &[("item", "1")])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = t
        .get("admin", &format!("/api/v1/tasks/{id}/comments"))
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    // The forms: a new task has the assignee next to the title and no status field.
    let (_, html) = author.get("/tasks/new").await;
    let title_at = html.find("name=\"title\"").unwrap();
    let owner_at = html.find("name=\"owner_id\"").unwrap();
    let checklist_at = html.find("name=\"checklist\"").unwrap();
    assert!(title_at < owner_at && owner_at < checklist_at);
    assert!(!html.contains("name=\"status\"") && !html.contains("name=\"completed_at\""));
    // Creating a task from the form, with a checklist and a repeat.
    let (s, html) = author
        .post(
            "/tasks/new",
            &[
                ("version", "0"),
                ("title", "From the form"),
                ("owner_id", &t.id("sales_a2")),
                ("priority", "high"),
                ("checklist", "[x] First\nSecond"),
                ("recurrence", "month"),
                ("due_at", "2031-01-31T10:00"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{html}");
    let (_, v) = t.get("sales_a1", "/api/v1/tasks?q=From%20the%20form").await;
    let made = &v["items"][0];
    assert_eq!(
        made["checklist"],
        json!([{"text": "First", "done": true}, {"text": "Second", "done": false}]),
        "{v}"
    );
    assert_eq!(made["recurrence"]["every"], "month");
    assert_eq!(made["assignee_id"], t.id("sales_a2"));
    // The calendar, workload and calendar settings pages open; a feed address is made
    // once and shown once.
    let (s, html) = author.get("/tasks").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("From the form") && html.contains("sales_a2"),
        "{html}"
    );
    let (s, html) = author
        .get(&format!(
            "/tasks?owner_id={}&status%5Bin%5D=open,in_progress,returned&sort=due_at",
            t.id("sales_a2")
        ))
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("From the form"));
    for path in [
        "/events",
        "/events/new",
        "/calendar",
        "/calendar?view=month",
        "/calendar?view=day&date=2026-02-30",
        "/workload",
        "/settings/calendar",
    ] {
        let (s, _) = author.get(path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
    }
    let (s, html) = author
        .post("/settings/calendar", &[("action", "new")])
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("/ical/") && html.contains(".ics"), "{html}");
    let (_, html) = author.get("/settings/calendar").await;
    assert!(!html.contains("/ical/"), "the address is shown only once");
    // "/" opens my day.
    let (s, _) = author.get("/").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
}
both!(planning_pages);

async fn deal_board_page(t: TestApp) {
    let (_, v) = t
        .post(
            "sales_a1",
            "/api/v1/deals",
            json!({"title": "<i>Big</i> order", "amount": "1500", "currency": "USD"}),
        )
        .await;
    let id = v["id"].as_str().unwrap().to_string();
    let (_, p) = t.get("sales_a1", "/api/v1/pipelines").await;
    let stages = p["items"][0]["stages"].as_array().unwrap().clone();
    let next = stages[1]["id"].as_str().unwrap().to_string();
    let me = Session::new(&t, "sales_a1").await;
    let (s, html) = me.get("/deals/board").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("&#60;i&#62;Big&#60;/i&#62; order") && !html.contains("<i>Big"),
        "{html}"
    );
    assert!(
        html.contains("1,500.00 USD")
            || html.contains("1 500.00 USD")
            || html.contains("1500.00 USD"),
        "{html}"
    );
    assert!(html.contains(&format!("action=\"/deals/{id}/move\"")));
    // Moving with the card's form.
    let (s, _) = me
        .post(&format!("/deals/{id}/move"), &[("stage_id", next.as_str())])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = t.get("sales_a1", &format!("/api/v1/deals/{id}")).await;
    assert_eq!(v["stage_id"], next.as_str());
    // A stage that is not there, another's deal, a post without the CSRF token: refused,
    // nothing changed.
    let before = t.snapshot(&format!("/api/v1/deals/{id}")).await;
    let (s, _) = me
        .post(
            &format!("/deals/{id}/move"),
            &[("stage_id", &uuid::Uuid::now_v7().to_string())],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let other = Session::new(&t, "sales_b").await;
    let (s, _) = other
        .post(
            &format!("/deals/{id}/move"),
            &[("stage_id", stages[2]["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = t
        .client
        .post(format!("{}/deals/{id}/move", t.base))
        .header("cookie", format!("hamkor_session={}", me.cookie))
        .form(&[("stage_id", stages[3]["id"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(t.snapshot(&format!("/api/v1/deals/{id}")).await, before);
    // The deal's page shows its way through the stages.
    let (s, html) = me.get(&format!("/deals/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("Stages") && html.contains("Qualified"),
        "{html}"
    );
    // The funnel page draws its chart on the server.
    let (s, html) = me.get("/deals/funnel").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("<svg") && html.contains("New: 1") && html.contains("Qualified: 1"),
        "{html}"
    );
    let (s, _) = me
        .get("/deals/funnel?from=2020-01-01&to=2020-12-31&pipeline=nonsense")
        .await;
    assert_eq!(s, StatusCode::OK);
    // A role without deals gets no board and no funnel.
    let support = Session::new(&t, "support").await;
    let (s, _) = support.get("/deals/board").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = support.get("/deals/funnel").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Another team cannot tick a deal's steps from the page; nothing changes.
    let before = t.snapshot(&format!("/api/v1/deals/{id}/script")).await;
    let (s, _) = other
        .post(
            &format!("/deals/{id}/steps/{}", uuid::Uuid::now_v7()),
            &[("done", "true")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        t.snapshot(&format!("/api/v1/deals/{id}/script")).await,
        before
    );
}
both!(deal_board_page);

async fn lead_pages(t: TestApp) {
    // An existing account the lead turns out to be.
    let acc = t.account("sales_a1", "sales_a1", "Ipak Yoli Savdo").await;
    let (_, l) = t
        .post(
            "sales_a1",
            "/api/v1/leads",
            json!({"first_name": "Kamola", "company": "Ipak Yoli Savdo", "source": "referral"}),
        )
        .await;
    let id = l["id"].as_str().unwrap().to_string();
    let me = Session::new(&t, "sales_a1").await;
    let (s, html) = me.get(&format!("/leads/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("href=\"/leads/{id}/convert\"")),
        "{html}"
    );
    let (s, html) = me.get(&format!("/leads/{id}/convert")).await;
    assert_eq!(s, StatusCode::OK);
    // The duplicate is offered, and chosen by default.
    assert!(
        html.contains(&format!("name=\"account\" value=\"{acc}\" checked")),
        "{html}"
    );
    assert!(html.contains("same name"), "{html}");
    // Someone who cannot see the lead gets no page and converts nothing.
    let other = Session::new(&t, "sales_b").await;
    let (s, _) = other.get(&format!("/leads/{id}/convert")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other
        .post(
            &format!("/leads/{id}/convert"),
            &[("account", "create"), ("contact", "create")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        t.snapshot(&format!("/api/v1/leads/{id}")).await["status"],
        "new"
    );
    // Converting from the page: linked to the account, a new contact and a deal.
    let (s, _) = me
        .post(
            &format!("/leads/{id}/convert"),
            &[
                ("account", acc.as_str()),
                ("contact", "create"),
                ("deal", "yes"),
                ("deal_title", "Silk for spring"),
                ("amount", "12000000"),
                ("currency", "UZS"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let lead = t.snapshot(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(lead["status"], "converted");
    assert_eq!(lead["account_id"], acc.as_str());
    let deal = t
        .snapshot(&format!(
            "/api/v1/deals/{}",
            lead["deal_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(deal["title"], "Silk for spring");
    assert_eq!(deal["source"], "referral");
    let (_, html) = me.get(&format!("/leads/{id}")).await;
    assert!(
        !html.contains("/convert\""),
        "a converted lead offers no conversion"
    );

    // Web forms and assignment rules are the administrator's pages.
    let (s, _) = me.get("/settings/web-forms").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = me.get("/settings/lead-rules").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = me
        .post(
            "/settings/web-forms",
            &[
                ("action", "create"),
                ("name", "Sneaky"),
                ("fields", "first_name"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin = Session::new(&t, "admin").await;
    let (s, html) = admin
        .post(
            "/settings/web-forms",
            &[
                ("action", "create"),
                ("name", "Spring <expo>"),
                ("fields", "first_name"),
                ("fields", "phones"),
                ("required", "phones"),
                ("language", "uz"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("Spring &#60;expo&#62;"), "{html}");
    // The snippet is shown as text to copy, not as a live form.
    assert!(
        html.contains("&#60;form class=&#34;hamkor-form&#34;"),
        "{html}"
    );
    let (_, forms) = t.get("admin", "/api/v1/web_forms").await;
    assert_eq!(forms["items"].as_array().unwrap().len(), 1);
    assert_eq!(forms["items"][0]["language"], "uz");
    // A form that asks nothing is refused with a message; nothing is made.
    let (s, html) = admin
        .post(
            "/settings/web-forms",
            &[("action", "create"), ("name", "Empty")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert_eq!(
        t.get("admin", "/api/v1/web_forms").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A rule from the rules page, and its removal.
    let (s, _) = admin
        .post(
            "/settings/lead-rules",
            &[
                ("action", "add"),
                ("name", "Referrals to Beta"),
                ("field", "source"),
                ("op", "eq"),
                ("value", "referral"),
                ("target", &format!("user:{}", t.id("head_b"))),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = admin.get("/settings/lead-rules").await;
    assert!(
        html.contains("Referrals to Beta") && html.contains("head_b"),
        "{html}"
    );
    let (s, _) = admin
        .post(
            "/settings/lead-rules",
            &[("action", "delete"), ("index", "0")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(
        t.get("admin", "/api/v1/lead_rules").await.1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
both!(lead_pages);

/// A move the pipeline's steps forbid shows the deal's board again, the reason (naming the
/// step) above the columns and the card still in its stage, rather than a dead-end page;
/// the deal's stage history links to the board of the deal's own pipeline.
async fn a_refused_move_shows_the_board_with_the_reason(t: TestApp) {
    let (s, p) = t
        .post(
            "admin",
            "/api/v1/pipelines",
            json!({"name": "Export", "enforce_steps": true,
                "stages": [{"name": "Lead"}, {"name": "Offer"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let pipeline = p["id"].as_str().unwrap().to_string();
    let lead = p["stages"][0]["id"].as_str().unwrap().to_string();
    let offer = p["stages"][1]["id"].as_str().unwrap().to_string();
    let (s, _, v) = t
        .request(
            "admin",
            reqwest::Method::PUT,
            &format!("/api/v1/stages/{lead}/script"),
            Some(&json!({"steps": [{"text": "Call the buyer", "required": true}]})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/deals",
            json!({"title": "Cotton yarn", "pipeline_id": pipeline}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let me = Session::new(&t, "sales_a1").await;
    let (s, html) = me
        .post(
            &format!("/deals/{id}/move"),
            &[("stage_id", offer.as_str())],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // The deal's board (not the first pipeline's), with the reason as an alert.
    assert!(
        html.contains("Export") && html.contains("id=\"board\""),
        "{html}"
    );
    let alert = html
        .split("id=\"board-error\"")
        .nth(1)
        .and_then(|rest| rest.split("</p>").next())
        .expect("the refusal");
    assert!(
        alert.contains("role=\"alert\"")
            && !alert.contains("hidden")
            && alert.contains("The deal was not moved")
            && alert.contains("Call the buyer"),
        "{alert}"
    );
    // The card is still in its stage's column, marked.
    let column = |stage: &str| {
        html.split(&format!("data-stage=\"{stage}\""))
            .nth(1)
            .and_then(|rest| rest.split("</section>").next())
            .unwrap_or("")
            .to_string()
    };
    assert!(column(&lead).contains(&format!("id=\"deal-{id}\"")));
    assert!(!column(&offer).contains(&format!("id=\"deal-{id}\"")));
    assert!(column(&lead).contains("deal-card refused"), "{html}");
    let (_, v) = t.get("sales_a1", &format!("/api/v1/deals/{id}")).await;
    assert_eq!(v["stage_id"], lead.as_str());
    // Without a refusal, the board's alert is there but hidden.
    let (_, html) = me.get(&format!("/deals/board?pipeline={pipeline}")).await;
    assert!(
        html.contains("id=\"board-error\" role=\"alert\" hidden") && !html.contains("refused"),
        "{html}"
    );
    // The stage history leads to this pipeline's board.
    let (_, html) = me.get(&format!("/deals/{id}")).await;
    assert!(
        html.contains(&format!(
            "href=\"/deals/board?pipeline={pipeline}#deal-{id}\""
        )),
        "{html}"
    );
}
both!(a_refused_move_shows_the_board_with_the_reason);

async fn document_pages(t: TestApp) {
    let acc = t
        .account("sales_a1", "sales_a1", "Chorsu Bazaar <b>LLC</b>")
        .await;
    let (_, d) = t
        .post(
            "sales_a1",
            "/api/v1/deals",
            json!({"title": "Shelves", "account_id": acc}),
        )
        .await;
    let deal = d["id"].as_str().unwrap().to_string();
    let me = Session::new(&t, "sales_a1").await;
    // Lines typed on the deal page: two rows filled, the empty ones left out.
    let (s, html) = me.get(&format!("/deals/{deal}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("action=\"/deals/{deal}/lines\"")),
        "{html}"
    );
    let form: Vec<(&str, &str)> = vec![
        ("product_id", ""),
        ("name", "Shelf, oak"),
        ("quantity", "4"),
        ("unit", "pcs"),
        ("unit_price", "250000"),
        ("discount", "5%"),
        ("vat_rate", "12"),
        ("product_id", ""),
        ("name", "Delivery"),
        ("quantity", "1"),
        ("unit", ""),
        ("unit_price", "100000"),
        ("discount", ""),
        ("vat_rate", "0"),
        ("product_id", ""),
        ("name", ""),
        ("quantity", ""),
        ("unit", ""),
        ("unit_price", ""),
        ("discount", ""),
        ("vat_rate", ""),
    ];
    let (s, _) = me.post(&format!("/deals/{deal}/lines"), &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // 4 × 250 000 = 1 000 000 − 5 % = 950 000 + 12 % = 1 064 000; + 100 000 = 1 164 000.
    assert_eq!(
        t.snapshot(&format!("/api/v1/deals/{deal}")).await["amount"],
        "1164000.00"
    );
    // A bad line is shown on the page with the reason; nothing changes.
    let (s, html) = me
        .post(
            &format!("/deals/{deal}/lines"),
            &[("name", "Broken"), ("quantity", "-1"), ("unit_price", "10")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("role=\"alert\""), "{html}");
    assert_eq!(
        t.snapshot(&format!("/api/v1/deals/{deal}")).await["amount"],
        "1164000.00"
    );
    // An invoice from the deal page, issued, paid in part, with its PDF.
    let (s, html) = me
        .post(&format!("/deals/{deal}/make"), &[("kind", "invoice")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{html}");
    let (_, list) = t.get("sales_a1", "/api/v1/documents?kind=invoice").await;
    let inv = list["items"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(list["items"][0]["total"], "1164000.00");
    let (s, html) = me.get(&format!("/documents/{inv}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("href=\"/documents/{inv}/pdf\"")),
        "{html}"
    );
    assert!(html.contains("Shelf, oak"), "{html}");
    // A draft takes no payment: no form for it yet.
    assert!(!html.contains(&format!("action=\"/documents/{inv}/payments\"")));
    t.patch(
        "sales_a1",
        &format!("/api/v1/documents/{inv}"),
        json!({"status": "issued"}),
    )
    .await;
    let (_, html) = me.get(&format!("/documents/{inv}")).await;
    assert!(
        html.contains(&format!("action=\"/documents/{inv}/payments\"")),
        "{html}"
    );
    let (s, _) = me
        .post(
            &format!("/documents/{inv}/payments"),
            &[("amount", "164000"), ("reference", "PP 3")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, html) = me
        .post(
            &format!("/documents/{inv}/payments"),
            &[("amount", "2000000")],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("1000000.00"),
        "the open amount is named: {html}"
    );
    let r = t
        .client
        .get(format!("{}/documents/{inv}/pdf", t.base))
        .header("cookie", format!("hamkor_session={}", me.cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.bytes().await.unwrap().starts_with(b"%PDF-"));
    // The account page shows what the client owes.
    let (_, html) = me.get(&format!("/accounts/{acc}")).await;
    assert!(html.contains("id=\"balance\""), "{html}");
    assert!(html.contains("1000000.00"), "{html}");
    // Another team sees none of it and changes nothing.
    let other = Session::new(&t, "sales_b").await;
    let (s, _) = other.get(&format!("/documents/{inv}/pdf")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other
        .post(&format!("/documents/{inv}/payments"), &[("amount", "1")])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other
        .post(&format!("/deals/{deal}/make"), &[("kind", "quote")])
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        t.snapshot(&format!("/api/v1/documents/{inv}")).await["paid"],
        "164000.00"
    );
    // Document settings: the administrator's page; a bad colour is refused.
    let (s, _) = me.get("/settings/documents").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let admin = Session::new(&t, "admin").await;
    let (s, html) = admin.get("/settings/documents").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("{document.number}"), "{html}");
}
both!(document_pages);

/// The selling pages refuse outsiders and change nothing.
async fn selling_pages_refuse_outsiders(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Guarded Page").await;
    let (_, d) = t
        .post(
            "sales_a1",
            "/api/v1/deals",
            json!({"title": "Guarded", "account_id": acc}),
        )
        .await;
    let deal = d["id"].as_str().unwrap().to_string();
    let (_, q) = t
        .post(
            "sales_a1",
            &format!("/api/v1/deals/{deal}/documents"),
            json!({"kind": "order"}),
        )
        .await;
    let doc = q["id"].as_str().unwrap().to_string();
    let deal_before = t.snapshot(&format!("/api/v1/deals/{deal}")).await;
    let doc_before = t.snapshot(&format!("/api/v1/documents/{doc}")).await;
    let docs = t.count("documents").await;
    let other = Session::new(&t, "sales_b").await;
    for (path, form) in [
        (
            format!("/deals/{deal}/lines"),
            vec![("name", "x"), ("quantity", "1"), ("unit_price", "1")],
        ),
        (format!("/deals/{deal}/make"), vec![("kind", "quote")]),
        (format!("/documents/{doc}/make"), vec![("kind", "invoice")]),
        (
            format!("/documents/{doc}/lines"),
            vec![("name", "x"), ("quantity", "1"), ("unit_price", "1")],
        ),
        (format!("/documents/{doc}/shipments"), vec![("amount", "1")]),
        (
            format!("/documents/{doc}/send"),
            vec![("to", "x@example.uz")],
        ),
    ] {
        let (s, _) = other.post(&path, &form).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    let (s, _) = other.get(&format!("/documents/{doc}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Lead import and the lead rules are not for every role.
    let support = Session::new(&t, "support").await;
    let (s, _) = support.get("/leads/import").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let sales = Session::new(&t, "sales_a1").await;
    let (s, _) = sales
        .post(
            "/settings/lead-rules",
            &[
                ("action", "add"),
                ("name", "Mine"),
                ("target", &format!("user:{}", t.id("sales_a1"))),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = sales.get("/settings/documents").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(
        t.get("admin", "/api/v1/lead_rules").await.1["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        t.snapshot(&format!("/api/v1/deals/{deal}")).await,
        deal_before
    );
    assert_eq!(
        t.snapshot(&format!("/api/v1/documents/{doc}")).await,
        doc_before
    );
    assert_eq!(t.count("documents").await, docs);
}
both!(selling_pages_refuse_outsiders);

async fn the_import_wizard_in_the_browser(t: TestApp) {
    let me = Session::new(&t, "sales_a1").await;
    let (s, html) = me.get("/imports").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("enctype=\"multipart/form-data\""));
    let contacts = t.count("contacts").await;
    let send = |csrf: String, name: &'static str, bytes: &'static [u8]| {
        let part = reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(name);
        let form = reqwest::multipart::Form::new()
            .text("_csrf", csrf)
            .text("object", "contacts")
            .part("file", part);
        t.client
            .post(format!("{}/imports", t.base))
            .header("cookie", format!("hamkor_session={}", me.cookie))
            .multipart(form)
            .send()
    };
    // Without the CSRF token nothing is stored.
    let r = send("wrong".into(), "a.csv", b"Name\nA\n").await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // The file is read as it arrives, so the token must come before it (as the form
    // sends it): a token after the file is refused before the file is read.
    let late = reqwest::multipart::Form::new()
        .text("object", "contacts")
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"Name\nA\n".to_vec()).file_name("b.csv"),
        )
        .text("_csrf", me.csrf.clone());
    let r = t
        .client
        .post(format!("{}/imports", t.base))
        .header("cookie", format!("hamkor_session={}", me.cookie))
        .multipart(late)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let (_, v) = t.get("sales_a1", "/api/v1/imports").await;
    assert_eq!(v["items"], json!([]), "nothing stored: {v}");
    // A file that is not what its name says is named as such on the page.
    let r = send(me.csrf.clone(), "a.xlsx", b"Name\nA\n").await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("content is csv"));
    let csv: &'static [u8] = "Фамилия;Имя;Мобильный телефон;Компания\nKarimova;Aziza;+998 90 111 22 33;Orient <b>Trade</b>\nBad;Row;not a phone;\n".as_bytes();
    let r = send(me.csrf.clone(), "mijozlar.csv", csv).await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = r.headers()["location"].to_str().unwrap().to_string();
    let (s, html) = me.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    // The columns come with their suggestions and sample values, escaped.
    assert!(
        html.contains("<option value=\"last_name\" selected>"),
        "{html}"
    );
    assert!(
        html.contains("<option value=\"account\" selected>"),
        "{html}"
    );
    assert!(
        html.contains("Orient &lt;b&gt;Trade&lt;/b&gt;")
            || html.contains("Orient &#60;b&#62;Trade"),
        "{html}"
    );
    assert!(!html.contains("Orient <b>Trade</b>"));
    let id = page.trim_start_matches("/imports/").to_string();
    let form = [
        ("column_0", "last_name"),
        ("column_1", "first_name"),
        ("column_2", "phones"),
        ("column_3", "account"),
        ("on_duplicate", "skip"),
        ("on_update", "update"),
        ("skip_bad_rows", "on"),
        ("day_first", "day"),
        ("mapping_name", "Mijozlar"),
        ("action", "check"),
    ];
    let (s, _) = me.post(&format!("/imports/{id}/start"), &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mut html = String::new();
    for _ in 0..200 {
        html = me.get(&page).await.1;
        if html.contains("data-status=\"checked\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(html.contains("data-status=\"checked\""), "{html}");
    assert!(html.contains("Row 3: Мобильный телефон: "), "{html}");
    assert_eq!(
        t.count("contacts").await,
        contacts,
        "a check writes nothing"
    );
    let mut run = form.to_vec();
    run.retain(|(k, _)| *k != "action" && *k != "mapping_name");
    run.push(("action", "run"));
    let (s, _) = me.post(&format!("/imports/{id}/start"), &run).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    for _ in 0..200 {
        html = me.get(&page).await.1;
        if html.contains("data-status=\"done\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(html.contains("id=\"import-result\""), "{html}");
    assert!(html.contains("rejected.csv"));
    assert_eq!(t.count("contacts").await, contacts + 1);
    // The saved mapping is offered next time.
    let (_, v) = t
        .get("sales_a1", "/api/v1/import_mappings?object=contacts")
        .await;
    assert_eq!(v["items"][0]["name"], "Mijozlar", "{v}");
    // Another salesperson cannot see, run or undo it; a viewer cannot import at all.
    let other = Session::new(&t, "sales_b").await;
    let (s, _) = other.get(&page).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other.post(&format!("/imports/{id}/undo"), &[]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = other.get(&format!("/imports/{id}/rejected.csv")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(t.count("contacts").await, contacts + 1);
    let viewer = Session::new(&t, "viewer").await;
    let (s, _) = viewer.get("/imports").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Undo from the page.
    let (s, _) = me.post(&format!("/imports/{id}/undo"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    for _ in 0..200 {
        html = me.get(&page).await.1;
        if html.contains("data-status=\"undone\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(html.contains("data-status=\"undone\""), "{html}");
    assert_eq!(t.count("contacts").await, contacts);
}
both!(the_import_wizard_in_the_browser);

/// The duplicate pages: the warning on a record page, the merge page with a choice per
/// field, the undo offered after the merge, and the scan's groups.
async fn duplicate_pages(t: TestApp) {
    let a = t
        .contact("sales_a1", "sales_a1", json!({"first_name": "Aziz", "last_name": "Karimov", "phones": [{"number": "90 123 45 67"}]}))
        .await;
    let b = t
        .contact("sales_a1", "sales_a1", json!({"first_name": "Азиз", "last_name": "Каримов", "phones": [{"number": "+998 90 123-45-67"}], "emails": [{"address": "aziz@bahor.uz"}]}))
        .await;
    let ui = Session::new(&t, "sales_a1").await;
    let (s, html) = ui.get(&format!("/contacts/{a}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Possible duplicates"), "{html}");
    assert!(html.contains(&format!("/contacts/{b}")), "{html}");
    assert!(html.contains("same phone, name 100% similar"), "{html}");
    assert!(
        html.contains(&format!("/contacts/merge?ids={a}&#38;ids={b}")),
        "{html}"
    );
    // The form carries the check for its script.
    let (_, html) = ui.get(&format!("/contacts/{a}/edit")).await;
    assert!(
        html.contains("data-url=\"/api/v1/contacts/duplicates\""),
        "{html}"
    );
    // The merge page: a choice where the values differ.
    let (s, html) = ui.get(&format!("/contacts/merge?ids={a}&ids={b}")).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("name=\"f_emails\""), "{html}");
    assert!(html.contains("name=\"survivor\""), "{html}");
    // A list can be taken from both records, and that is the choice made.
    assert!(
        html.contains("name=\"f_emails\" value=\"all\" checked"),
        "{html}"
    );
    assert!(html.contains("all of them: aziz@bahor.uz"), "{html}");
    let (s, _) = ui
        .post(
            "/contacts/merge",
            &[
                ("ids", &a),
                ("ids", &b),
                ("survivor", &a),
                ("f_emails", &b),
                ("f_phones", "all"),
                ("f_first_name", &a),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = t.get("admin", &format!("/api/v1/contacts/{a}")).await;
    assert_eq!(v["emails"][0]["address"], "aziz@bahor.uz", "{v}");
    assert_eq!(v["phones"].as_array().unwrap().len(), 1, "one number: {v}");
    assert_eq!(v["phones"][0]["number"], "90 123 45 67", "{v}");
    assert_eq!(
        t.get("admin", &format!("/api/v1/contacts/{b}")).await.0,
        StatusCode::NOT_FOUND
    );
    // Undo from the page the merge leads to.
    let (_, v) = t
        .get("admin", &format!("/api/v1/contacts/{a}/history"))
        .await;
    let merge = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "merge")
        .unwrap()["changes"]["merge_id"][1]
        .as_str()
        .unwrap()
        .to_string();
    let (_, html) = ui.get(&format!("/contacts/{a}?merged={merge}")).await;
    assert!(html.contains(&format!("/merges/{merge}/undo")), "{html}");
    let (s, _) = ui.post(&format!("/merges/{merge}/undo"), &[]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        t.get("admin", &format!("/api/v1/contacts/{b}")).await.0,
        StatusCode::OK
    );
    // The groups page; only administrators get the scan button.
    let (s, html) = ui.get("/duplicates?object=contacts").await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains("action=\"/duplicates/scan\""), "{html}");
    let admin = Session::new(&t, "admin").await;
    let (s, _) = admin
        .post("/duplicates/scan", &[("object", "contacts")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    for _ in 0..100 {
        let (_, v) = t.get("admin", "/api/v1/duplicates?object=contacts").await;
        if v["scan"]["status"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (_, html) = admin.get("/duplicates?object=contacts").await;
    assert!(html.contains(&format!("/contacts/{a}")), "{html}");
    assert!(html.contains("groups"), "{html}");
    let (_, html) = ui.get("/duplicates?object=contacts").await;
    assert!(html.contains("/contacts/merge?ids="), "{html}");
}
both!(duplicate_pages);
