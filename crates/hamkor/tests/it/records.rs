//! Record conventions: create, read, patch with If-Match, trash and restore, history.

use crate::both;
use crate::support::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn account_lifecycle(t: TestApp) {
    let body = json!({"name": "Bahor MChJ", "kind": "client", "tax_id": "305123456",
        "phones": ["90 123 45 67"], "emails": ["Info@Bahor.UZ"], "website": "bahor.uz", "tags": ["vip"]});
    let (s, h, v) = t
        .request(
            "sales_a1",
            Method::POST,
            "/api/v1/accounts",
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(h["location"], format!("/api/v1/accounts/{id}").as_str());
    assert_eq!(h["etag"], "\"1\"");
    assert_eq!(v["version"], 1);
    assert_eq!(v["owner_id"], t.id("sales_a1"));
    assert_eq!(v["created_by"], t.id("sales_a1"));
    assert_eq!(v["phones"][0]["e164"], "+998901234567");
    assert_eq!(v["phones"][0]["number"], "90 123 45 67");
    assert_eq!(v["emails"][0]["address"], "Info@bahor.uz");
    assert_eq!(v["website"], "https://bahor.uz");
    assert!(v["created_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["custom"], json!({}));

    let (s, v) = t.get("sales_a1", &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "Bahor MChJ");

    // PATCH changes only what is sent, and needs the current version when If-Match is given.
    let path = format!("/api/v1/accounts/{id}");
    let (s, h, v) = t
        .request(
            "sales_a1",
            Method::PATCH,
            &path,
            Some(&json!({"industry": "Textile"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(h["etag"], "\"2\"");
    assert_eq!(v["industry"], "Textile");
    assert_eq!(v["name"], "Bahor MChJ");
    let (s, _, v) = t
        .request(
            "sales_a1",
            Method::PATCH,
            &path,
            Some(&json!({"industry": "Food"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED, "{v}");
    assert_eq!(v["status"], 412);
    assert_eq!(
        t.snapshot(&path).await["industry"],
        "Textile",
        "a stale write changed nothing"
    );
    let (s, _, _) = t
        .request(
            "sales_a1",
            Method::DELETE,
            &path,
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);

    // Delete moves to the trash; restore brings it back.
    assert_eq!(t.delete("sales_a1", &path).await, StatusCode::NO_CONTENT);
    assert_eq!(t.get("sales_a1", &path).await.0, StatusCode::NOT_FOUND);
    let (_, list) = t.get("sales_a1", "/api/v1/accounts?trashed=true").await;
    assert_eq!(list["items"][0]["id"], id.as_str());
    assert!(list["items"][0]["deleted_at"].is_string());
    let (s, v) = t
        .post("sales_a1", &format!("{path}/restore"), json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.get("deleted_at").is_none());
    assert_eq!(t.get("sales_a1", &path).await.0, StatusCode::OK);

    // The history has who, when and each field's before and after.
    let (s, h) = t.get("sales_a1", &format!("{path}/history")).await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = h["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["restore", "delete", "update", "create"]);
    let update = &h["items"][2];
    assert_eq!(update["changes"]["industry"], json!([null, "Textile"]));
    assert_eq!(update["user_id"], t.id("sales_a1"));
    assert_eq!(
        h["items"][3]["changes"]["name"],
        json!([null, "Bahor MChJ"])
    );
}
both!(account_lifecycle);

async fn contacts_link_to_accounts(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Samarqand Non").await;
    let body = json!({"first_name": "Otabek", "last_name": "Umarov", "birthday": "1990-11-20",
        "accounts": [{"account_id": acc, "position": "Ta'minot bo'limi boshlig'i"}]});
    let id = t.contact("sales_a1", "sales_a1", body).await;
    let (s, v) = t.get("sales_a1", &format!("/api/v1/contacts/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["accounts"][0]["account_id"], acc.as_str());
    assert_eq!(v["accounts"][0]["name"], "Samarqand Non");
    assert_eq!(v["accounts"][0]["position"], "Ta'minot bo'limi boshlig'i");
    assert_eq!(v["birthday"], "1990-11-20");
    // The account's contacts list shows the person (through the UI page).
    // A contact without any name is refused, naming the field.
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/contacts",
            json!({"emails": ["a@b.uz"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "last_name");
    // Unlinking with an empty list.
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/contacts/{id}"),
            json!({"accounts": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["accounts"], json!([]));
}
both!(contacts_link_to_accounts);

async fn branches_cannot_loop(t: TestApp) {
    let head = t.account("admin", "admin", "Head office").await;
    let branch = t.account("admin", "admin", "Branch").await;
    let (s, v) = t
        .patch(
            "admin",
            &format!("/api/v1/accounts/{branch}"),
            json!({"parent_id": head}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = t
        .patch(
            "admin",
            &format!("/api/v1/accounts/{head}"),
            json!({"parent_id": branch}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "parent_id");
    let (s, _) = t
        .patch(
            "admin",
            &format!("/api/v1/accounts/{head}"),
            json!({"parent_id": head}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(branches_cannot_loop);

/// Accounts keep several addresses, a size and a source; tax ids follow the country's
/// rules; contacts keep messengers, a preferred channel and dated consents.
async fn client_fields(t: TestApp) {
    let body = json!({"name": "Volga Trade OOO", "tax_id": "7707-083-893", "size": "medium",
        "source": "exhibition", "addresses": [{"address": "Moskva, Tverskaya 1", "kind": "legal"},
        "Toshkent, Navoiy 5"]});
    let (s, _, v) = t
        .request(
            "sales_a1",
            Method::POST,
            "/api/v1/accounts",
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["tax_id"], "7707083893");
    assert_eq!(
        v["addresses"][0],
        json!({"address": "Moskva, Tverskaya 1", "kind": "legal"})
    );
    assert_eq!(
        v["addresses"][1],
        json!({"address": "Toshkent, Navoiy 5", "kind": "actual"})
    );
    assert_eq!(v["size"], "medium");
    let account = v["id"].as_str().unwrap().to_string();

    // A typo in an INN is caught by its check digits and nothing is stored.
    let (s, _, v) = t
        .request(
            "sales_a1",
            Method::PATCH,
            &format!("/api/v1/accounts/{account}"),
            Some(&json!({"tax_id": "7707083894"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "tax_id");
    assert_eq!(v["errors"][0]["code"], "tax-id-checksum", "{v}");
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/accounts/{account}"))
        .await;
    assert_eq!(v["tax_id"], "7707083893");
    assert_eq!(v["version"], 1);

    let body = json!({"first_name": "Dilshod", "last_name": "Karimov",
        "messengers": ["@dilshod_k", {"handle": "90 123 45 67", "kind": "whatsapp"}],
        "preferred_channel": "telegram", "email_consent": "granted"});
    let (s, _, v) = t
        .request(
            "sales_a1",
            Method::POST,
            "/api/v1/contacts",
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["messengers"][0],
        json!({"handle": "@dilshod_k", "kind": "telegram"})
    );
    assert_eq!(v["messengers"][1]["e164"], "+998901234567");
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    assert_eq!(v["email_consent_at"], today.as_str());
    assert_eq!(v["sms_consent_at"], serde_json::Value::Null);
    let contact = v["id"].as_str().unwrap().to_string();
    // A handle found by search, and the WhatsApp number by its digits.
    let (_, v) = t.get("sales_a1", "/api/v1/contacts?q=dilshod_k").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = t.get("sales_a1", "/api/v1/contacts?q=901234567").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");

    // Withdrawing consent with an explicit date keeps that date; clearing clears it.
    let (s, _, v) = t
        .request(
            "sales_a1",
            Method::PATCH,
            &format!("/api/v1/contacts/{contact}"),
            Some(&json!({"email_consent": "withdrawn", "email_consent_at": "2026-01-15"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["email_consent_at"], "2026-01-15");
    let (_, _, v) = t
        .request(
            "sales_a1",
            Method::PATCH,
            &format!("/api/v1/contacts/{contact}"),
            Some(&json!({"email_consent": null})),
            &[],
        )
        .await;
    assert_eq!(v["email_consent_at"], serde_json::Value::Null);

    let (s, _, v) = t
        .request(
            "sales_a1",
            Method::POST,
            "/api/v1/contacts",
            Some(&json!({"last_name": "X", "messengers": ["@ab"]})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "messengers[0]");
}
both!(client_fields);

/// Quick entry: company, contact and first call in one transaction, or nothing at all.
async fn quick_entry(t: TestApp) {
    let body = json!({
        "account": {"name": "Yangi Mijoz MChJ", "phones": ["71 200 00 01"]},
        "contact": {"first_name": "Nodira", "last_name": "Usmonova", "phones": ["93 111 22 33"]},
        "position": "Buxgalter",
        "interaction": {"kind": "call", "direction": "incoming", "subject": "Found us on the website"}
    });
    let (s, _, v) = t
        .request(
            "sales_a1",
            Method::POST,
            "/api/v1/quick_entry",
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let acc = v["account"]["id"].as_str().unwrap();
    let contact = v["contact"]["id"].as_str().unwrap();
    assert_eq!(v["contact"]["accounts"][0]["account_id"], acc);
    assert_eq!(v["contact"]["accounts"][0]["position"], "Buxgalter");
    assert_eq!(v["interaction"]["account_id"], acc);
    assert_eq!(v["interaction"]["contact_id"], contact);
    assert_eq!(v["interaction"]["owner_id"], t.id("sales_a1"));
    let (_, tl) = t
        .get("sales_a1", &format!("/api/v1/contacts/{contact}/timeline"))
        .await;
    assert_eq!(tl["items"][0]["subject"], "Found us on the website");

    // One bad part: every problem named with its part, nothing saved.
    let before = (
        t.count("accounts").await,
        t.count("contacts").await,
        t.count("interactions").await,
        t.audit_rows().await,
    );
    let bad = json!({
        "account": {"name": "Half Saved", "tax_id": "7707083894"},
        "contact": {"first_name": "  ", "phones": ["12"]},
        "interaction": {"kind": "call", "duration": "forever"}
    });
    let (s, _, v) = t
        .request(
            "sales_a1",
            Method::POST,
            "/api/v1/quick_entry",
            Some(&bad),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in [
        "account.tax_id",
        "contact.phones[0]",
        "contact.last_name",
        "interaction.duration",
    ] {
        assert!(fields.contains(&f), "{f} in {fields:?}");
    }
    // A store-level refusal late in the transaction (an owner the caller may not give
    // records to) also leaves nothing behind.
    let late = json!({
        "account": {"name": "Late Failure"},
        "contact": {"last_name": "Owner", "owner_id": t.id("sales_b")}
    });
    let (s, _, v) = t
        .request(
            "sales_a1",
            Method::POST,
            "/api/v1/quick_entry",
            Some(&late),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "contact.owner_id");
    // A role that may not create records is refused.
    let (s, _, _) = t
        .request(
            "viewer",
            Method::POST,
            "/api/v1/quick_entry",
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let after = (
        t.count("accounts").await,
        t.count("contacts").await,
        t.count("interactions").await,
        t.audit_rows().await,
    );
    assert_eq!(before, after);
}
both!(quick_entry);
