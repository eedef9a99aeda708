//! Interactions and timelines: what was logged shows on the client, newest first,
//! filtered by kind, user and period; and only to those who may see the client.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn log(t: &TestApp, who: &str, body: Value) -> Value {
    let (s, v) = t.post(who, "/api/v1/interactions", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

fn subjects(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {v}"))
        .iter()
        .map(|i| i["subject"].as_str().unwrap_or("").to_string())
        .collect()
}

async fn timeline_order_and_filters(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Bahor MChJ").await;
    let contact = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"first_name": "Aziz", "last_name": "Karimov", "accounts": [{"account_id": acc}]}),
        )
        .await;
    // A call logged on the contact alone is filed under the contact's only account.
    let call = log(
        &t,
        "sales_a1",
        json!({"kind": "call", "contact_id": contact, "subject": "First call", "direction": "outgoing",
            "duration": "2:05", "result": "reached", "occurred_at": "2026-11-01T09:00:00+05:00"}),
    )
    .await;
    assert_eq!(call["account_id"], acc.as_str());
    assert_eq!(call["duration"], 125);
    assert_eq!(call["occurred_at"], "2026-11-01T04:00:00.000000Z");
    assert_eq!(call["owner_id"], t.id("sales_a1"));
    log(
        &t,
        "sales_a1",
        json!({"kind": "meeting", "account_id": acc, "subject": "Meeting in office",
            "occurred_at": "2026-11-10T10:00:00Z", "user_ids": [t.id("sales_a2")]}),
    )
    .await;
    log(
        &t,
        "head_a",
        json!({"kind": "note", "account_id": acc, "subject": "Note by a colleague",
            "body": "Wants <b>10%</b> discount", "occurred_at": "2026-11-05T10:00:00Z"}),
    )
    .await;
    // Without a time, the interaction happened now: it comes first.
    let now = log(
        &t,
        "sales_a1",
        json!({"kind": "note", "account_id": acc, "subject": "Just now"}),
    )
    .await;
    assert!(now["occurred_at"].as_str().unwrap() > "2026-11-28");

    let path = format!("/api/v1/accounts/{acc}/timeline");
    let (s, v) = t.get("sales_a1", &path).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        subjects(&v),
        [
            "Just now",
            "Meeting in office",
            "Note by a colleague",
            "First call"
        ]
    );
    // The contact's timeline has the call only (the contact took part in nothing else).
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/contacts/{contact}/timeline"))
        .await;
    assert_eq!(subjects(&v), ["First call"]);

    // Filters: kind, user (owner or participant), period (dates included).
    let (_, v) = t.get("sales_a1", &format!("{path}?kind=note")).await;
    assert_eq!(subjects(&v), ["Just now", "Note by a colleague"]);
    let (_, v) = t
        .get("sales_a1", &format!("{path}?kind=call,meeting"))
        .await;
    assert_eq!(subjects(&v), ["Meeting in office", "First call"]);
    let (_, v) = t
        .get("sales_a1", &format!("{path}?user={}", t.id("sales_a2")))
        .await;
    assert_eq!(subjects(&v), ["Meeting in office"]);
    let (_, v) = t
        .get("sales_a1", &format!("{path}?user={}", t.id("head_a")))
        .await;
    assert_eq!(subjects(&v), ["Note by a colleague"]);
    let (_, v) = t
        .get("sales_a1", &format!("{path}?from=2026-11-01&to=2026-11-05"))
        .await;
    assert_eq!(subjects(&v), ["Note by a colleague", "First call"]);

    // Pages follow each other without gaps or repeats.
    let (_, v) = t.get("sales_a1", &format!("{path}?limit=3")).await;
    assert_eq!(subjects(&v).len(), 3);
    let cursor = v["next_cursor"].as_str().expect("a next page").to_string();
    let (_, v) = t
        .get("sales_a1", &format!("{path}?limit=3&cursor={cursor}"))
        .await;
    assert_eq!(subjects(&v), ["First call"]);
    assert!(v["next_cursor"].is_null());

    // Bad filters name themselves.
    for (q, field) in [
        ("kind=party", "kind"),
        ("from=yesterday", "from"),
        ("from=2026-11-05&to=2026-11-01", "to"),
        ("user=nobody", "user"),
        ("cursor=xyz", "cursor"),
        ("colour=red", "colour"),
    ] {
        let (s, v) = t.get("sales_a1", &format!("{path}?{q}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{q}: {v}");
    }
}
both!(timeline_order_and_filters);

async fn participants_and_branches(t: TestApp) {
    let head = t.account("sales_a1", "sales_a1", "Head office").await;
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "Branch", "parent_id": head}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let branch = v["id"].as_str().unwrap().to_string();
    let c1 = t
        .contact("sales_a1", "sales_a1", json!({"last_name": "One"}))
        .await;
    let c2 = t
        .contact("sales_a1", "sales_a1", json!({"last_name": "Two"}))
        .await;
    log(
        &t,
        "sales_a1",
        json!({"kind": "meeting", "account_id": branch, "contact_id": c1, "contact_ids": [c2],
            "subject": "Branch meeting", "occurred_at": "2026-10-01T10:00:00Z"}),
    )
    .await;
    log(
        &t,
        "sales_a1",
        json!({"kind": "call", "account_id": head, "subject": "Head call",
            "occurred_at": "2026-10-02T10:00:00Z"}),
    )
    .await;
    // Both contacts see the meeting they took part in.
    for c in [&c1, &c2] {
        let (_, v) = t
            .get("sales_a1", &format!("/api/v1/contacts/{c}/timeline"))
            .await;
        assert_eq!(subjects(&v), ["Branch meeting"]);
    }
    // The head office shows its own history, or the whole group's on request.
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/accounts/{head}/timeline"))
        .await;
    assert_eq!(subjects(&v), ["Head call"]);
    let (_, v) = t
        .get(
            "sales_a1",
            &format!("/api/v1/accounts/{head}/timeline?branches=true"),
        )
        .await;
    assert_eq!(subjects(&v), ["Head call", "Branch meeting"]);

    // Removing a participant takes the meeting off their timeline.
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/contacts/{c2}/timeline"))
        .await;
    let id = v["items"][0]["id"].as_str().unwrap().to_string();
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/interactions/{id}"),
            json!({"contact_ids": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = t
        .get("sales_a1", &format!("/api/v1/contacts/{c2}/timeline"))
        .await;
    assert_eq!(subjects(&v), Vec::<String>::new());
}
both!(participants_and_branches);

/// A user who cannot see an account sees none of its interactions, cannot log one on it,
/// and cannot change one; the database is unchanged after each refusal.
async fn interactions_follow_the_client(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Private client").await;
    let call = log(
        &t,
        "sales_a1",
        json!({"kind": "call", "account_id": acc, "subject": "Secret terms", "body": "price 100"}),
    )
    .await;
    let id = call["id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/interactions/{id}");
    let before = t.snapshot(&path).await;
    let audit = t.audit_rows().await;

    // sales_b (another team, own scope) cannot see the account, so not its interactions.
    let (s, _) = t.get("sales_b", &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t
        .get("sales_b", &format!("/api/v1/accounts/{acc}/timeline"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = t.get("sales_b", "/api/v1/interactions").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    let (_, v) = t.get("sales_b", "/api/v1/interactions?q=secret").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    let (_, v) = t.get("sales_b", "/api/v1/search?q=secret").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 0, "{v}");
    let (s, _) = t
        .patch("sales_b", &path, json!({"subject": "changed"}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(t.delete("sales_b", &path).await, StatusCode::NOT_FOUND);
    let (s, v) = t
        .post(
            "sales_b",
            "/api/v1/interactions",
            json!({"kind": "note", "account_id": acc, "subject": "sneaky"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "account_id");

    // The head of the team sees it (team scope on the account) but may not change a
    // colleague's call beyond their team rights; the read-only user may not log anything.
    let (s, _) = t.get("head_a", &path).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t
        .post(
            "viewer",
            "/api/v1/interactions",
            json!({"kind": "note", "account_id": acc}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // sales_a2 cannot see sales_a1's account (own scope) either.
    let (s, _) = t.get("sales_a2", &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // An interaction needs a client; participants must be active users.
    let (s, v) = t
        .post("sales_a1", "/api/v1/interactions", json!({"kind": "note"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "account_id");
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/interactions",
            json!({"kind": "call", "account_id": acc, "user_ids": ["01999999-0000-7000-8000-000000000000"],
                "duration": "99:99", "occurred_at": "2026-11-01 10:00"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"duration") && fields.contains(&"occurred_at"),
        "{v}"
    );

    assert_eq!(t.snapshot(&path).await, before);
    assert_eq!(t.audit_rows().await, audit);

    // Trashing the account hides its history; restoring brings it back.
    assert_eq!(
        t.delete("sales_a1", &format!("/api/v1/accounts/{acc}"))
            .await,
        StatusCode::NO_CONTENT
    );
    let (s, _) = t.get("sales_a1", &path).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = t
        .request(
            "sales_a1",
            reqwest::Method::POST,
            &format!("/api/v1/accounts/{acc}/restore"),
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = t.get("sales_a1", &path).await;
    assert_eq!(s, StatusCode::OK);
}
both!(interactions_follow_the_client);
