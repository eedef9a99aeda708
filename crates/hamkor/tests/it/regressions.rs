//! Bugs found in review, each kept from coming back.

use crate::both;
use crate::support::{PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::json;

async fn editing_a_contact_keeps_its_other_links(t: TestApp) {
    let a = t.account("sales_a1", "sales_a1", "Alpha Savdo").await;
    let b = t.account("sales_a1", "sales_a1", "Beta Savdo").await;
    let id = t
        .contact("sales_a1", "sales_a1", json!({"last_name": "Linked", "accounts": [{"account_id": a, "position": "Boss"}, {"account_id": b, "position": "Advisor"}]}))
        .await;
    let cookie = crate::auth::login(&t, "sales_a1@test.hamkor.uz", PASSWORD)
        .await
        .unwrap();
    let page = |path: String| {
        let c = t.client.clone();
        let ck = cookie.clone();
        async move {
            c.get(path)
                .header("cookie", format!("hamkor_session={ck}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let html = page(format!("{}/contacts/{id}/edit", t.base)).await;
    let field = |name: &str| {
        let at = html
            .find(&format!("name=\"{name}\" value=\""))
            .map(|i| i + name.len() + 15)
            .unwrap_or(0);
        html[at..].split('"').next().unwrap_or("").to_string()
    };
    let (csrf, first, first_pos) = (
        field("_csrf"),
        field("orig_account_id"),
        field("orig_position"),
    );
    assert!(!first.is_empty());
    let post = |form: Vec<(&'static str, String)>| {
        let c = t.client.clone();
        let ck = cookie.clone();
        let url = format!("{}/contacts/{id}/edit", t.base);
        async move {
            c.post(url)
                .header("cookie", format!("hamkor_session={ck}"))
                .form(&form)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // Change only the phone: both links stay.
    let s = post(vec![
        ("_csrf", csrf.clone()),
        ("last_name", "Linked".into()),
        ("phones", "90 111 22 33".into()),
        ("account_id", first.clone()),
        ("position", first_pos.clone()),
        ("orig_account_id", first.clone()),
        ("orig_position", first_pos.clone()),
        ("owner_id", t.id("sales_a1")),
    ])
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = t.get("sales_a1", &format!("/api/v1/contacts/{id}")).await;
    assert_eq!(v["accounts"].as_array().unwrap().len(), 2, "{v}");
    // Change the position of the shown link: the other stays as it was.
    let s = post(vec![
        ("_csrf", csrf),
        ("last_name", "Linked".into()),
        ("account_id", first.clone()),
        ("position", "Chairman".into()),
        ("orig_account_id", first.clone()),
        ("orig_position", first_pos),
        ("owner_id", t.id("sales_a1")),
    ])
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, v) = t.get("sales_a1", &format!("/api/v1/contacts/{id}")).await;
    let links = v["accounts"].as_array().unwrap();
    assert_eq!(links.len(), 2, "{v}");
    assert!(
        links
            .iter()
            .any(|l| l["account_id"] == first.as_str() && l["position"] == "Chairman")
    );
}
both!(editing_a_contact_keeps_its_other_links);

async fn history_hides_accounts_the_reader_cannot_see(t: TestApp) {
    let hidden = t.account("admin", "sales_a2", "Teammate's account").await;
    let id = t.contact("admin", "sales_a1", json!({"last_name": "Shared", "accounts": [{"account_id": hidden, "position": "Secret role"}]})).await;
    let (s, h) = t
        .get("sales_a1", &format!("/api/v1/contacts/{id}/history"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(!h.to_string().contains(&hidden), "{h}");
    assert!(!h.to_string().contains("Secret role"));
    let (_, h) = t
        .get("admin", &format!("/api/v1/contacts/{id}/history"))
        .await;
    assert!(h.to_string().contains(&hidden), "the administrator sees it");
}
both!(history_hides_accounts_the_reader_cannot_see);

async fn a_trashed_head_office_does_not_block_edits(t: TestApp) {
    let head = t.account("admin", "sales_a1", "Head").await;
    let branch = t.account("admin", "sales_a1", "Branch").await;
    let (s, _) = t
        .patch(
            "admin",
            &format!("/api/v1/accounts/{branch}"),
            json!({"parent_id": head}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        t.delete("admin", &format!("/api/v1/accounts/{head}")).await,
        StatusCode::NO_CONTENT
    );
    // The form sends every field back, parent_id included.
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/accounts/{branch}"),
            json!({"parent_id": head, "industry": "Food"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A new link to it is still refused.
    let other = t.account("admin", "sales_a1", "Other").await;
    let (s, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/accounts/{other}"),
            json!({"parent_id": head}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(a_trashed_head_office_does_not_block_edits);

async fn date_filters_work_on_both_engines(t: TestApp) {
    t.contact(
        "admin",
        "admin",
        json!({"last_name": "Old", "birthday": "1970-05-01"}),
    )
    .await;
    t.contact(
        "admin",
        "admin",
        json!({"last_name": "Young", "birthday": "1999-05-01"}),
    )
    .await;
    t.contact("admin", "admin", json!({"last_name": "Unknown"}))
        .await;
    let (s, v) = t
        .get("admin", "/api/v1/contacts?birthday[gte]=1990-01-01")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Young"]);
    let (_, v) = t
        .get(
            "admin",
            "/api/v1/contacts?birthday[in]=1970-05-01,1999-05-01&count=true",
        )
        .await;
    assert_eq!(v["total"], 2);
    let (s, _) = t.get("admin", "/api/v1/contacts?birthday=yesterday").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(date_filters_work_on_both_engines);

async fn a_deleted_field_takes_its_values_along(t: TestApp) {
    let (_, f) = t
        .post(
            "admin",
            "/api/v1/custom_fields",
            json!({"object": "account", "key": "x", "label": "X", "kind": "text"}),
        )
        .await;
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/accounts",
            json!({"name": "Has x", "custom": {"x": "abc"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.delete(
            "admin",
            &format!("/api/v1/custom_fields/{}", f["id"].as_str().unwrap())
        )
        .await,
        StatusCode::NO_CONTENT
    );
    let (_, v) = t.get("admin", &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(v["custom"], json!({}), "{v}");
    assert_eq!(v["version"], 2, "the change bumps the version");
    let (s, _) = t
        .post(
            "admin",
            "/api/v1/custom_fields",
            json!({"object": "account", "key": "x", "label": "X", "kind": "number"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = t.get("admin", "/api/v1/accounts?sort=custom.x").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = t.get("admin", "/api/v1/accounts?custom.x[lt]=5").await;
    assert_eq!(s, StatusCode::OK);
}
both!(a_deleted_field_takes_its_values_along);

async fn writing_further_than_reading_still_answers(t: TestApp) {
    let (s, _) = t
        .patch(
            "admin",
            "/api/v1/roles/sales",
            json!({"permissions": {"account": {"write": "team"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "For my teammate", "owner_id": t.id("sales_a2")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["owner_id"], t.id("sales_a2"));
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(
        t.get("sales_a1", &format!("/api/v1/accounts/{id}")).await.0,
        StatusCode::NOT_FOUND,
        "reading stays own"
    );
}
both!(writing_further_than_reading_still_answers);

async fn small_things(t: TestApp) {
    // Checkbox filters take eq, ne and null only.
    let (s, _) = t
        .post(
            "admin",
            "/api/v1/custom_fields",
            json!({"object": "account", "key": "vip", "label": "VIP", "kind": "checkbox"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    for q in [
        "custom.vip[lt]=true",
        "custom.vip[in]=true,false",
        "custom.vip[like]=t",
    ] {
        assert_eq!(
            t.get("admin", &format!("/api/v1/accounts?{q}")).await.0,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{q}"
        );
    }
    // A new token's id is its own.
    let (_, a) = t
        .post("admin", "/api/v1/tokens", json!({"name": "one"}))
        .await;
    let (_, b) = t
        .post("admin", "/api/v1/tokens", json!({"name": "two"}))
        .await;
    let (_, list) = t.get("admin", "/api/v1/tokens").await;
    for tok in [&a, &b] {
        let listed = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == tok["id"])
            .expect("listed");
        assert_eq!(listed["name"], tok["name"]);
    }
    // A refused user leaves no new team behind.
    let (s, _) = t.post("admin", "/api/v1/users", json!({"email": "sales_a1@test.hamkor.uz", "name": "Dup", "role": "sales", "team": "Ghost"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !t.app
            .teams()
            .await
            .unwrap()
            .iter()
            .any(|x| x.name == "Ghost")
    );
}
both!(small_things);

/// Records stored before a change to how names are folded (the official Uzbek ʻ was
/// once kept as a letter) are found after the next start recomputes their search text.
async fn old_search_keys_are_refreshed(t: TestApp) {
    let id = t
        .contact(
            "admin",
            "admin",
            json!({"first_name": "Oʻktam", "last_name": "Gʻaniyev"}),
        )
        .await;
    use hamkor_store::Exec;
    let mut db = t.app.db.clone();
    db.execute(&hamkor_store::Sql::new(
        "UPDATE contacts SET search = 'stale'",
    ))
    .await
    .unwrap();
    db.execute(&hamkor_store::Sql::new(
        "DELETE FROM settings WHERE key = 'search_key_version'",
    ))
    .await
    .unwrap();
    let (_, v) = t.get("admin", "/api/v1/contacts?q=ganiyev").await;
    assert_eq!(v["items"], json!([]));
    assert!(t.app.refresh_search_keys().await.unwrap() > 0);
    let (_, v) = t.get("admin", "/api/v1/contacts?q=ganiyev").await;
    assert_eq!(v["items"][0]["id"], id.as_str(), "{v}");
    // Once done, it does not run again.
    assert_eq!(t.app.refresh_search_keys().await.unwrap(), 0);
}
both!(old_search_keys_are_refreshed);
