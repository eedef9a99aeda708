//! The access model beyond owners: the team tree (a head's team scope reaches the teams
//! below) and records shared one by one with a user or a team. Every refusal is checked
//! to have changed nothing.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn team_id(t: &TestApp, name: &str) -> String {
    let (s, v) = t.get("admin", "/api/v1/teams").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .unwrap_or_else(|| panic!("team {name} in {v}"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn status(t: &TestApp, who: &str, path: &str) -> StatusCode {
    t.get(who, path).await.0
}

async fn team_tree(t: TestApp) {
    let alpha = team_id(&t, "Alpha").await;
    let beta = team_id(&t, "Beta").await;
    let b = t
        .contact("admin", "sales_b", json!({"last_name": "Beta's"}))
        .await;
    let path = format!("/api/v1/contacts/{b}");
    // Side by side, Alpha's head does not reach Beta's records.
    assert_eq!(status(&t, "head_a", &path).await, StatusCode::NOT_FOUND);

    // Only an administrator arranges teams; a refusal changes nothing.
    let teams_before = t.get("admin", "/api/v1/teams").await.1;
    let (s, v) = t
        .patch(
            "head_a",
            &format!("/api/v1/teams/{beta}"),
            json!({"parent_id": alpha}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (s, _) = t
        .post("head_a", "/api/v1/teams", json!({"name": "Gamma"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(t.get("admin", "/api/v1/teams").await.1, teams_before);

    // Beta goes under Alpha: Alpha's head now reads, changes and deletes Beta's records;
    // Beta's head still does not reach Alpha's, and a salesperson's scope is unchanged.
    let (s, v) = t
        .patch(
            "admin",
            &format!("/api/v1/teams/{beta}"),
            json!({"parent_id": alpha}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["parent_id"], json!(alpha));
    assert_eq!(v["name"], "Beta");
    assert_eq!(status(&t, "head_a", &path).await, StatusCode::OK);
    let (_, list) = t.get("head_a", "/api/v1/contacts?limit=500").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == json!(b)),
        "head_a lists Beta's contact"
    );
    let a = t
        .contact("admin", "sales_a1", json!({"last_name": "Alpha's"}))
        .await;
    assert_eq!(
        status(&t, "head_b", &format!("/api/v1/contacts/{a}")).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(status(&t, "sales_a2", &path).await, StatusCode::NOT_FOUND);
    let (s, v) = t
        .patch("head_a", &path, json!({"middle_name": "Seen"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A head may give a record to someone in a team below.
    let (s, v) = t
        .post(
            "head_a",
            "/api/v1/contacts",
            json!({"last_name": "For Beta", "owner_id": t.id("sales_b")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // A loop is refused and changes nothing.
    let before = t.get("admin", "/api/v1/teams").await.1;
    let (s, v) = t
        .patch(
            "admin",
            &format!("/api/v1/teams/{alpha}"),
            json!({"parent_id": beta}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("parent_id"), "{v}");
    let (s, _) = t
        .patch(
            "admin",
            &format!("/api/v1/teams/{alpha}"),
            json!({"parent_id": alpha}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.get("admin", "/api/v1/teams").await.1, before);

    // Bad input names the field and changes nothing.
    for body in [
        json!({"parent_id": "not-an-id"}),
        json!({"parent_id": "0190a0a0-0000-7000-8000-000000000000"}),
        json!({"name": ""}),
        json!({"name": "Beta"}),
        json!({"owner": "x"}),
    ] {
        let (s, v) = t
            .patch("admin", &format!("/api/v1/teams/{alpha}"), body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    assert_eq!(t.get("admin", "/api/v1/teams").await.1, before);
    assert_eq!(
        t.patch(
            "admin",
            "/api/v1/teams/0190a0a0-0000-7000-8000-000000000000",
            json!({"name": "X"})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // A new team under Beta: a head of Alpha reaches it too (two levels down).
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/teams",
            json!({"name": "Beta North", "parent_id": beta}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = t
        .patch(
            "admin",
            &format!("/api/v1/users/{}", t.id("sales_a2")),
            json!({"team": "Beta North"}),
        )
        .await;
    if s == StatusCode::OK {
        let c = t
            .contact("admin", "sales_a2", json!({"last_name": "North"}))
            .await;
        assert_eq!(
            status(&t, "head_a", &format!("/api/v1/contacts/{c}")).await,
            StatusCode::OK
        );
        assert_eq!(
            status(&t, "head_b", &format!("/api/v1/contacts/{c}")).await,
            StatusCode::OK
        );
    } else {
        assert!(s.is_client_error(), "{v}");
    }
    // The changes are in the audit log.
    let (s, log) = t.get("admin", "/api/v1/audit?object=team").await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let text = log.to_string();
    assert!(
        text.contains("team_changed") && text.contains("team_created"),
        "{log}"
    );
    for e in log["items"].as_array().unwrap() {
        assert_eq!(
            e["ip"], "127.0.0.1",
            "an administrator's change says from where"
        );
    }
}
both!(team_tree);

async fn shares(t: TestApp) {
    let c = t
        .contact("admin", "sales_a1", json!({"last_name": "Shared"}))
        .await;
    let path = format!("/api/v1/contacts/{c}");
    let shares = format!("{path}/shares");
    assert_eq!(status(&t, "sales_b", &path).await, StatusCode::NOT_FOUND);
    // Who cannot read the record cannot see or change its shares.
    assert_eq!(status(&t, "sales_b", &shares).await, StatusCode::NOT_FOUND);
    let (s, _) = t
        .post(
            "sales_b",
            &shares,
            json!({"user_id": t.id("sales_b"), "access": "edit"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(status(&t, "sales_b", &path).await, StatusCode::NOT_FOUND);

    // Bad bodies name the problem and share nothing.
    for body in [
        json!({}),
        json!({"user_id": t.id("sales_b"), "team_id": t.id("sales_b")}),
        json!({"user_id": "nobody"}),
        json!({"user_id": "0190a0a0-0000-7000-8000-000000000000"}),
        json!({"user_id": t.id("sales_b"), "access": "owner"}),
        json!({"user_id": t.id("sales_b"), "access": 1}),
        json!({"user_id": t.id("sales_b"), "owner_id": t.id("sales_b")}),
    ] {
        let (s, v) = t.post("sales_a1", &shares, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    assert_eq!(t.get("sales_a1", &shares).await.1["items"], json!([]));

    // The owner shares it to read: sales_b reads and lists it, but may not change,
    // delete or pass it on.
    let (s, v) = t
        .post(
            "sales_a1",
            &shares,
            json!({"user_id": t.id("sales_b"), "access": "read"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let share = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["name"], "sales_b");
    assert_eq!(status(&t, "sales_b", &path).await, StatusCode::OK);
    let (_, list) = t.get("sales_b", "/api/v1/contacts?limit=500").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == json!(c))
    );
    let (_, found) = t.get("sales_b", "/api/v1/contacts?q=Shared").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let before = t.snapshot(&path).await;
    let audit_before = t.audit_rows().await;
    let (s, v) = t.patch("sales_b", &path, json!({"middle_name": "X"})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(t.delete("sales_b", &path).await, StatusCode::FORBIDDEN);
    let (s, _) = t
        .post(
            "sales_b",
            &shares,
            json!({"user_id": t.id("sales_a2"), "access": "read"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(t.snapshot(&path).await, before);
    assert_eq!(t.audit_rows().await, audit_before);
    let (s, v) = t.get("sales_b", &shares).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["may_share"], false);
    // Others are untouched: sales_a2 (same team, own scope) still does not see it.
    assert_eq!(status(&t, "sales_a2", &path).await, StatusCode::NOT_FOUND);

    // Sharing again changes the access: now sales_b edits it (but still may not delete).
    let (s, v) = t
        .post(
            "sales_a1",
            &shares,
            json!({"user_id": t.id("sales_b"), "access": "edit"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"], json!(share));
    let (s, v) = t
        .patch("sales_b", &path, json!({"middle_name": "Edited"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(t.delete("sales_b", &path).await, StatusCode::FORBIDDEN);
    // Mass assignment through a shared edit: the owner stays.
    let (s, _) = t
        .patch("sales_b", &path, json!({"owner_id": t.id("sales_b")}))
        .await;
    assert!(s.is_client_error(), "{s}");
    assert_eq!(t.snapshot(&path).await["owner_id"], json!(t.id("sales_a1")));

    // Shared with team Beta: its head reads it too.
    let beta = team_id(&t, "Beta").await;
    assert_eq!(status(&t, "head_b", &path).await, StatusCode::NOT_FOUND);
    let (s, v) = t.post("sales_a1", &shares, json!({"team_id": beta})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["access"], "read");
    let team_share = v["id"].as_str().unwrap().to_string();
    assert_eq!(status(&t, "head_b", &path).await, StatusCode::OK);
    let (_, v) = t.get("sales_a1", &shares).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["may_share"], true);

    // The history says who shared what.
    let (_, h) = t.get("sales_a1", &format!("{path}/history")).await;
    assert!(h.to_string().contains("\"share\""), "{h}");

    // Ending the share ends the access.
    assert_eq!(
        t.delete("sales_b", &format!("{shares}/{share}")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.delete("sales_a1", &format!("{shares}/{share}")).await,
        StatusCode::NO_CONTENT
    );
    // Still shared with sales_b's team, to read.
    let (s, _) = t
        .patch("sales_b", &path, json!({"middle_name": "Again"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(status(&t, "sales_b", &path).await, StatusCode::OK);
    assert_eq!(
        t.delete("sales_a1", &format!("{shares}/{team_share}"))
            .await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(status(&t, "sales_b", &path).await, StatusCode::NOT_FOUND);
    assert_eq!(status(&t, "head_b", &path).await, StatusCode::NOT_FOUND);
    assert_eq!(
        t.delete("sales_a1", &format!("{shares}/{share}")).await,
        StatusCode::NOT_FOUND
    );
    let (_, h) = t.get("sales_a1", &format!("{path}/history")).await;
    assert!(h.to_string().contains("\"unshare\""), "{h}");

    // A shared account shows its timeline to whom it is shared with.
    let acc = t.account("admin", "sales_a1", "Shared Co").await;
    assert_eq!(
        status(&t, "sales_b", &format!("/api/v1/accounts/{acc}/timeline")).await,
        StatusCode::NOT_FOUND
    );
    let (s, _) = t
        .post(
            "sales_a1",
            &format!("/api/v1/accounts/{acc}/shares"),
            json!({"user_id": t.id("sales_b")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        status(&t, "sales_b", &format!("/api/v1/accounts/{acc}/timeline")).await,
        StatusCode::OK
    );
    // Objects that are not shared one by one have no shares.
    let (s, _): (StatusCode, Value) = t.get("admin", "/api/v1/products").await;
    assert_eq!(s, StatusCode::OK);
}
both!(shares);

/// Creating, exporting and bulk editing are rights of their own per role; until an
/// administrator sets them apart they follow writing and reading.
async fn create_export_bulk_rights(t: TestApp) {
    let (_, roles) = t.get("admin", "/api/v1/roles").await;
    let head = roles["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "head")
        .unwrap()
        .clone();
    assert_eq!(head["permissions"]["contact"]["create"], "team", "{head}");
    assert_eq!(head["permissions"]["contact"]["export"], "team");
    assert_eq!(head["permissions"]["contact"]["bulk_edit"], "team");

    let mine = t
        .contact("admin", "head_a", json!({"last_name": "Headsown"}))
        .await;
    let theirs = t
        .contact("admin", "sales_a1", json!({"last_name": "Teams"}))
        .await;
    let export = "/api/v1/contacts/export?format=csv";
    let lines = |body: &str| body.lines().filter(|l| !l.trim().is_empty()).count();
    let get_text = |who: &'static str| {
        let t = &t;
        async move {
            let (s, h, _) = t
                .request(who, reqwest::Method::GET, export, None, &[])
                .await;
            (s, h)
        }
    };
    let (s, _) = get_text("head_a").await;
    assert_eq!(s, StatusCode::OK);

    // The head exports only their own contacts, still reads the team's.
    let (s, v) = t
        .patch(
            "admin",
            "/api/v1/roles/head",
            json!({"permissions": {"contact": {"export": "own", "create": "own", "bulk_edit": "none"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let raw = t
        .client
        .get(format!("{}{export}", t.base))
        .bearer_auth(&t.tokens["head_a"])
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::OK);
    let body = raw.text().await.unwrap();
    assert!(
        body.contains("Headsown") && !body.contains("Teams"),
        "{body}"
    );
    assert_eq!(lines(&body), 2, "{body}");
    assert_eq!(
        status(&t, "head_a", &format!("/api/v1/contacts/{theirs}")).await,
        StatusCode::OK
    );

    // Creating for a team member is refused (own), for oneself allowed; changing the
    // owner of a team record (write: team) still works.
    let before = t.count("contacts").await;
    let (s, v) = t
        .post(
            "head_a",
            "/api/v1/contacts",
            json!({"last_name": "New", "owner_id": t.id("sales_a1")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("owner_id"), "{v}");
    assert_eq!(t.count("contacts").await, before);
    let (s, v) = t
        .post("head_a", "/api/v1/contacts", json!({"last_name": "New"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = t
        .patch(
            "head_a",
            &format!("/api/v1/contacts/{mine}"),
            json!({"owner_id": t.id("sales_a1")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // No bulk editing: refused as a whole, nothing changed.
    let snap = t.snapshot(&format!("/api/v1/contacts/{theirs}")).await;
    let (s, v) = t
        .post(
            "head_a",
            "/api/v1/contacts/bulk",
            json!({"ids": [theirs], "action": "set_field", "field": "middle_name", "value": "Bulk"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(
        t.snapshot(&format!("/api/v1/contacts/{theirs}")).await,
        snap
    );
    // One by one it may still change it.
    let (s, _) = t
        .patch(
            "head_a",
            &format!("/api/v1/contacts/{theirs}"),
            json!({"middle_name": "One"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    // No export and no creating at all.
    let (s, _) = t
        .patch(
            "admin",
            "/api/v1/roles/head",
            json!({"permissions": {"contact": {"export": "none", "create": "none"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = get_text("head_a").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let before = t.count("contacts").await;
    let (s, _) = t
        .post("head_a", "/api/v1/contacts", json!({"last_name": "Nope"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(t.count("contacts").await, before);
    // The changes of rights are in the audit log.
    let (_, log) = t.get("admin", "/api/v1/audit?object=role").await;
    assert!(log.to_string().contains("head.contact.export"), "{log}");
}
both!(create_export_bulk_rights);

/// Field-level security: a field hidden from a role is absent from its reads, lists,
/// exports and history, cannot be filtered or sorted by, and cannot be set; a read-only
/// field is shown but cannot be set. Administrators are never restricted.
async fn field_rules(t: TestApp) {
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/accounts",
            json!({"name": "Secretive", "kind": "client", "owner_id": t.id("sales_a1"),
                   "tax_id": "301234567", "industry": "Retail"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/accounts/{id}");

    // Only administrators set field rules; bad ones are named and change nothing.
    let (s, _) = t
        .patch(
            "head_a",
            "/api/v1/roles/sales",
            json!({"fields": {"account": {"tax_id": "hidden"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for body in [
        json!({"fields": {"account": {"no_such_field": "hidden"}}}),
        json!({"fields": {"account": {"tax_id": "secret"}}}),
        json!({"fields": {"galaxy": {"tax_id": "hidden"}}}),
        json!({"fields": {"account": "hidden"}}),
    ] {
        let (s, v) = t.patch("admin", "/api/v1/roles/sales", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    let (s, v) = t
        .patch(
            "admin",
            "/api/v1/roles/administrator",
            json!({"fields": {"account": {"tax_id": "hidden"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(t.get("sales_a1", &path).await.1["tax_id"], "301234567");

    let (s, v) = t
        .patch(
            "admin",
            "/api/v1/roles/sales",
            json!({"fields": {"account": {"tax_id": "hidden", "industry": "read_only"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["fields"]["account"]["tax_id"], "hidden", "{v}");

    // Reads: hidden is empty, read-only is shown; the administrator sees both.
    let (_, r) = t.get("sales_a1", &path).await;
    assert_eq!(r["tax_id"], Value::Null, "{r}");
    assert_eq!(r["industry"], "Retail");
    assert_eq!(t.get("admin", &path).await.1["tax_id"], "301234567");
    let (_, list) = t.get("sales_a1", "/api/v1/accounts?limit=500").await;
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["tax_id"].is_null()),
        "{list}"
    );
    // No narrowing a list down by the hidden value, nor sorting by it.
    for q in ["tax_id=301234567", "sort=tax_id", "sort=-tax_id&tax_id=1"] {
        let (s, v) = t.get("sales_a1", &format!("/api/v1/accounts?{q}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
    }
    let (s, _) = t.get("sales_a1", "/api/v1/accounts?industry=Retail").await;
    assert_eq!(s, StatusCode::OK);

    // Writes that set them are refused, naming the field, and change nothing.
    let before = t.snapshot(&path).await;
    for body in [json!({"tax_id": "309999999"}), json!({"industry": "Banks"})] {
        let (s, v) = t.patch("sales_a1", &path, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        let key = body.as_object().unwrap().keys().next().unwrap().clone();
        assert!(v.to_string().contains(&key), "{v}");
    }
    assert_eq!(t.snapshot(&path).await, before);
    let n = t.count("accounts").await;
    let (s, _) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "Sneaky", "kind": "client", "tax_id": "305555555"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.count("accounts").await, n);
    // Other fields are changed as before, and the hidden value survives.
    let (s, v) = t
        .patch("sales_a1", &path, json!({"website": "https://example.uz"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(t.get("admin", &path).await.1["tax_id"], "301234567");

    // History: the administrator's change of the hidden field is not shown to the role.
    let (s, _) = t
        .patch("admin", &path, json!({"tax_id": "307777777"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, h) = t.get("sales_a1", &format!("{path}/history")).await;
    assert!(
        !h.to_string().contains("307777777") && !h.to_string().contains("tax_id"),
        "{h}"
    );
    let (_, h) = t.get("admin", &format!("{path}/history")).await;
    assert!(h.to_string().contains("307777777"), "{h}");

    // Search: a hidden value finds nothing for the role (in lists, by number and by part,
    // and in the search box), the name still does, and the administrator finds it by both.
    let found = |who: &'static str, q: &'static str| {
        let t = &t;
        async move {
            let (s, v) = t
                .get(who, &format!("/api/v1/accounts?q={q}&limit=100"))
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    for q in ["307777777", "7777777", "777"] {
        assert!(!found("sales_a1", q).await.contains(&id), "{q}");
        assert!(found("admin", q).await.contains(&id), "{q}");
        let (_, all) = t.get("sales_a1", &format!("/api/v1/search?q={q}")).await;
        assert!(!all.to_string().contains(&id), "{q}: {all}");
        let (_, all) = t.get("admin", &format!("/api/v1/search?q={q}")).await;
        assert!(all.to_string().contains(&id), "{q}: {all}");
    }
    assert!(found("sales_a1", "secretive").await.contains(&id));
    // Pages and counts hold only what matches the visible fields.
    let mut visible = Vec::new();
    for (name, tax) in [
        ("Alfa 5151", None),
        ("Beta", Some("305151000")),
        ("Delta 5151", None),
        ("Omega", Some("305151999")),
        ("Gamma 5151", None),
    ] {
        let (s, v) = t
            .post(
                "admin",
                "/api/v1/accounts",
                json!({"name": name, "kind": "client", "owner_id": t.id("sales_a1"), "tax_id": tax}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        if tax.is_none() {
            visible.push(v["id"].as_str().unwrap().to_string());
        }
    }
    let mut paged = Vec::new();
    let mut next = String::new();
    loop {
        let (s, v) = t
            .get(
                "sales_a1",
                &format!("/api/v1/accounts?q=5151&limit=1&sort=name&count=true{next}"),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["total"], 3, "{v}");
        paged.extend(
            v["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["id"].as_str().unwrap().to_string()),
        );
        match v["next_cursor"].as_str() {
            Some(c) => next = format!("&cursor={}", urlencoding::encode(c)),
            None => break,
        }
    }
    assert_eq!(
        paged, visible,
        "Alfa, Delta, Gamma by name, no hidden match"
    );
    let (_, v) = t.get("admin", "/api/v1/accounts?q=5151&count=true").await;
    assert_eq!(v["total"], 5, "{v}");
    // A change by the role keeps the hidden value (and its search) for those who see it,
    // and its answer, changing something or not, hides it.
    for _ in 0..2 {
        let (s, v) = t
            .patch(
                "sales_a1",
                &path,
                json!({"website": "https://secretive.uz"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["tax_id"], Value::Null, "{v}");
        assert_eq!(t.get("admin", &path).await.1["tax_id"], "307777777");
        for q in ["307777777", "77777"] {
            assert!(found("admin", q).await.contains(&id), "{q}");
        }
    }

    // Exports: no hidden column, and asking for it is an error.
    let export = |who: &'static str, q: &'static str| export_csv(&t, who, "accounts", q);
    let (s, body) = export("sales_a1", "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !body.contains("307777777") && !body.contains("Tax id"),
        "{body}"
    );
    assert!(body.contains("Secretive"));
    let (s, _) = export("sales_a1", "&columns=name,tax_id").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, body) = export("admin", "").await;
    assert!(body.contains("307777777"));

    // Shown again: the role reads it once more.
    let (s, _) = t
        .patch(
            "admin",
            "/api/v1/roles/sales",
            json!({"fields": {"account": {"tax_id": "visible"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t.get("sales_a1", &path).await.1["tax_id"], "307777777");
    let (_, log) = t.get("admin", "/api/v1/audit?object=role").await;
    assert!(log.to_string().contains("field_rules_changed"), "{log}");
}
both!(field_rules);

/// The pages of the access model refuse those without the right, and change nothing.
async fn access_pages_refuse_outsiders(t: TestApp) {
    use crate::ui::Session;
    let c = t
        .contact("admin", "sales_a1", json!({"last_name": "Paged"}))
        .await;
    let sales_b = Session::new(&t, "sales_b").await;
    let teams = t.get("admin", "/api/v1/teams").await.1;
    let roles = t.get("admin", "/api/v1/roles").await.1;
    let (s, _) = sales_b.get("/settings/teams").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = sales_b
        .post("/settings/teams", &[("name", "Mine"), ("parent_id", "")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = sales_b
        .post(
            "/settings/roles/fields",
            &[
                ("role", "sales"),
                ("field", "account|tax_id"),
                ("mode", "hidden"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let with = format!("user:{}", t.id("sales_b"));
    let (s, _) = sales_b
        .post(
            &format!("/contacts/{c}/shares"),
            &[("with", with.as_str()), ("access", "edit")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(t.get("admin", "/api/v1/teams").await.1, teams);
    assert_eq!(t.get("admin", "/api/v1/roles").await.1, roles);
    assert_eq!(
        t.get("admin", &format!("/api/v1/contacts/{c}/shares"))
            .await
            .1["items"],
        json!([])
    );
    // The owner shares it from the record page.
    let owner = Session::new(&t, "sales_a1").await;
    let (s, _) = owner
        .post(
            &format!("/contacts/{c}/shares"),
            &[("with", with.as_str()), ("access", "read")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, html) = owner.get(&format!("/contacts/{c}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"shares\"") && html.contains("sales_b"),
        "{html}"
    );
}
both!(access_pages_refuse_outsiders);

/// Custom fields are hidden or made read-only like the object's own: not read, not
/// listed, filtered, sorted or exported, not set, left out of history; and a change by the
/// role keeps the hidden value.
async fn custom_field_rules(t: TestApp) {
    for (key, kind) in [("margin", "number"), ("grade", "text")] {
        let (s, v) = t
            .post(
                "admin",
                "/api/v1/custom_fields",
                json!({"object": "contact", "key": key, "label": key, "kind": kind}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let c = t
        .contact(
            "admin",
            "sales_a1",
            json!({"last_name": "Customised", "custom": {"margin": 42, "grade": "A"}}),
        )
        .await;
    let path = format!("/api/v1/contacts/{c}");
    // Unknown custom fields are named.
    let (s, v) = t
        .patch(
            "admin",
            "/api/v1/roles/sales",
            json!({"fields": {"contact": {"custom.nothing": "hidden"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("custom.nothing"), "{v}");
    let (s, v) = t
        .patch(
            "admin",
            "/api/v1/roles/sales",
            json!({"fields": {"contact": {"custom.margin": "hidden", "custom.grade": "read_only"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let (_, r) = t.get("sales_a1", &path).await;
    assert!(r["custom"].get("margin").is_none(), "{r}");
    assert_eq!(r["custom"]["grade"], "A");
    assert_eq!(t.get("admin", &path).await.1["custom"]["margin"], 42.0);
    let (_, list) = t.get("sales_a1", "/api/v1/contacts?limit=500").await;
    assert!(!list.to_string().contains("\"margin\""), "{list}");
    for q in [
        "custom.margin=42",
        "sort=custom.margin",
        "custom.margin[gte]=1",
    ] {
        let (s, v) = t.get("sales_a1", &format!("/api/v1/contacts?{q}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
    }
    let (s, _) = t.get("sales_a1", "/api/v1/contacts?custom.grade=A").await;
    assert_eq!(s, StatusCode::OK);
    // Setting either is refused, naming it, and changes nothing.
    let before = t.snapshot(&path).await;
    for body in [
        json!({"custom": {"margin": 1}}),
        json!({"custom": {"grade": "B"}}),
    ] {
        let (s, v) = t.patch("sales_a1", &path, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(v.to_string().contains("custom."), "{v}");
    }
    assert_eq!(t.snapshot(&path).await, before);
    // Another change keeps the hidden value.
    let (s, v) = t
        .patch("sales_a1", &path, json!({"middle_name": "Buyer"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["custom"].get("margin").is_none(), "{v}");
    let (_, r) = t.get("admin", &path).await;
    assert_eq!(
        (r["custom"]["margin"].clone(), r["custom"]["grade"].clone()),
        (json!(42.0), json!("A"))
    );
    // History and exports leave it out.
    let (s, _) = t
        .patch("admin", &path, json!({"custom": {"margin": 43}}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, h) = t.get("sales_a1", &format!("{path}/history")).await;
    assert!(!h.to_string().contains("custom.margin"), "{h}");
    let (_, h) = t.get("admin", &format!("{path}/history")).await;
    assert!(h.to_string().contains("custom.margin"), "{h}");
    let export = |who: &'static str, q: &'static str| export_csv(&t, who, "contacts", q);
    let (s, body) = export("sales_a1", "").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("Customised") && !body.contains("margin") && body.contains("grade"),
        "{body}"
    );
    let (s, _) = export("sales_a1", "&columns=last_name,custom.margin").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, body) = export("admin", "").await;
    assert!(body.contains("margin") && body.contains("43"), "{body}");
    // The form has no input for either; the administrator's has both.
    let edit = format!("/contacts/{c}/edit");
    let (s, html) = crate::ui::Session::new(&t, "sales_a1")
        .await
        .get(&edit)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        !html.contains("name=\"custom.margin\"") && !html.contains("name=\"custom.grade\""),
        "{html}"
    );
    let (_, html) = crate::ui::Session::new(&t, "admin").await.get(&edit).await;
    assert!(html.contains("name=\"custom.margin\"") && html.contains("name=\"custom.grade\""));
}
both!(custom_field_rules);

/// An administrator gives a user another role or team, in the API and on
/// `/settings/users`: it holds from the user's next request, is audited with who, what and
/// from where; anyone else, or a bad value, is refused and changes nothing.
async fn administrators_change_a_users_role_and_team(t: TestApp) {
    let user = format!("/api/v1/users/{}", t.id("sales_a1"));
    let before = t.get("admin", &user).await.1;
    assert_eq!(before["role"], "sales");
    let (s, _) = t
        .patch("head_a", &user, json!({"role": "administrator"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .patch("sales_a1", &user, json!({"role": "administrator"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (body, field) in [
        (json!({"role": "galaxy"}), "role"),
        (json!({"role": 5}), "role"),
        (
            json!({"team_id": "01a22454-ae83-71a2-9a28-03f901970f9a"}),
            "team_id",
        ),
        (json!({"team_id": 7}), "team_id"),
        (json!({"email": "x@y.uz"}), "email"),
        (json!({"role": "read_only", "team_id": "nope"}), "team_id"),
    ] {
        let (s, v) = t.patch("admin", &user, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{body}: {v}");
    }
    let me = format!("/api/v1/users/{}", t.id("admin"));
    let (s, v) = t.patch("admin", &me, json!({"role": "sales"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "role");
    assert_eq!(t.get("admin", &user).await.1, before, "nothing changed");
    assert_eq!(t.get("admin", &me).await.1["role"], "administrator");

    // A salesperson made a viewer can no longer create, at once.
    let (s, _) = t
        .post(
            "sales_a1",
            "/api/v1/contacts",
            json!({"last_name": "Before"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = t.patch("admin", &user, json!({"role": "read_only"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["role"], "read_only");
    let (s, _) = t
        .post(
            "sales_a1",
            "/api/v1/contacts",
            json!({"last_name": "After"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Into a team and out of it.
    let (s, team) = t
        .post("admin", "/api/v1/teams", json!({"name": "Samarqand"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{team}");
    let (s, v) = t
        .patch("admin", &user, json!({"team_id": team["id"]}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["team_id"], team["id"]);
    assert_eq!(v["role"], "read_only", "the role stays");
    let (s, v) = t.patch("admin", &user, json!({"team_id": null})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["team_id"], Value::Null);
    // Each change is audited with the values before and after, and the address.
    let (_, log) = t
        .get(
            "admin",
            &format!(
                "/api/v1/audit?action=user_access_change&record_id={}",
                t.id("sales_a1")
            ),
        )
        .await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{log}");
    assert_eq!(items[2]["changes"]["role"], json!(["sales", "read_only"]));
    assert_eq!(items[1]["changes"]["team_id"][1], team["id"]);
    assert!(
        items
            .iter()
            .all(|e| e["ip"] == "127.0.0.1" && e["user_id"] == t.id("admin").as_str())
    );

    // The users page does the same; a head's post is refused and changes nothing.
    let path = format!("/settings/users/{}/access", t.id("sales_a1"));
    let head = crate::ui::Session::new(&t, "head_a").await;
    let (s, _) = head
        .post(&path, &[("role", "administrator"), ("team_id", "")])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(t.get("admin", &user).await.1["role"], "read_only");
    let admin = crate::ui::Session::new(&t, "admin").await;
    let (s, html) = admin.get("/settings/users").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains(&path), "a form per user");
    let (s, _) = admin
        .post(&path, &[("role", "sales"), ("team_id", "")])
        .await;
    assert!(s.is_redirection(), "{s}");
    assert_eq!(t.get("admin", &user).await.1["role"], "sales");
    let (s, _) = admin
        .post(&path, &[("role", "galaxy"), ("team_id", "")])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.get("admin", &user).await.1["role"], "sales");
}
both!(administrators_change_a_users_role_and_team);

/// A CSV export of `plural` as `who`, with the extra query `q`: its status and text.
async fn export_csv(t: &TestApp, who: &str, plural: &str, q: &str) -> (StatusCode, String) {
    let r = t
        .client
        .get(format!("{}/api/v1/{plural}/export?format=csv{q}", t.base))
        .bearer_auth(&t.tokens[who])
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}
