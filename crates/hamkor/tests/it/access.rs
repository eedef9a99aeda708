//! Who may list, read, change and delete what, for every role, on accounts and contacts.
//! Every refusal is checked to have changed nothing.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

/// (persona, sees [A1, B, M], may write [A1, B, M], may delete [A1, B, M])
/// where A1 is owned by sales_a1 (team Alpha), B by sales_b (team Beta), M by the marketer.
/// Persona, then what it may read, write and delete of [A1, B, M].
type Expectation = (&'static str, [bool; 3], [bool; 3], [bool; 3]);

const MATRIX: &[Expectation] = &[
    (
        "admin",
        [true, true, true],
        [true, true, true],
        [true, true, true],
    ),
    (
        "head_a",
        [true, false, false],
        [true, false, false],
        [true, false, false],
    ),
    (
        "sales_a1",
        [true, false, false],
        [true, false, false],
        [true, false, false],
    ),
    (
        "sales_a2",
        [false, false, false],
        [false, false, false],
        [false, false, false],
    ),
    (
        "head_b",
        [false, true, false],
        [false, true, false],
        [false, true, false],
    ),
    (
        "sales_b",
        [false, true, false],
        [false, true, false],
        [false, true, false],
    ),
    (
        "marketer",
        [true, true, true],
        [false, false, true],
        [false, false, true],
    ),
    (
        "support",
        [true, true, true],
        [false, false, false],
        [false, false, false],
    ),
    (
        "viewer",
        [true, true, true],
        [false, false, false],
        [false, false, false],
    ),
];

async fn make(t: &TestApp, plural: &str, owner: &str, label: &str) -> String {
    match plural {
        "accounts" => t.account("admin", owner, label).await,
        _ => t.contact("admin", owner, json!({"last_name": label})).await,
    }
}

async fn check_object(t: &TestApp, plural: &str) {
    let owners = ["sales_a1", "sales_b", "marketer"];
    for (persona, sees, writes, deletes) in MATRIX {
        let mut ids = Vec::new();
        for o in owners {
            // A word unique to this persona's records, so search can count them.
            ids.push(make(t, plural, o, &format!("p{}q {o}", persona.replace('_', ""))).await);
        }
        // List and read.
        let (s, list) = t.get(persona, &format!("/api/v1/{plural}?limit=500")).await;
        assert_eq!(s, StatusCode::OK, "{persona} lists {plural}");
        let listed: Vec<&str> = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                listed.contains(&id.as_str()),
                sees[i],
                "{persona} lists {plural} of {}",
                owners[i]
            );
            let (s, _) = t.get(persona, &format!("/api/v1/{plural}/{id}")).await;
            assert_eq!(
                s,
                if sees[i] {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                },
                "{persona} reads {plural} of {}",
                owners[i]
            );
            let (s, h) = t
                .get(persona, &format!("/api/v1/{plural}/{id}/history"))
                .await;
            assert_eq!(
                s,
                if sees[i] {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                },
                "{persona} reads history: {h}"
            );
        }
        // Count and search agree with the list.
        let (_, counted) = t
            .get(
                persona,
                &format!(
                    "/api/v1/{plural}?count=true&q=p{}q",
                    persona.replace('_', "")
                ),
            )
            .await;
        assert_eq!(
            counted["total"].as_i64().unwrap(),
            sees.iter().filter(|s| **s).count() as i64,
            "{persona} counts {plural}"
        );
        // Change.
        for (i, id) in ids.iter().enumerate() {
            let path = format!("/api/v1/{plural}/{id}");
            let before = t.snapshot(&path).await;
            let audit_before = t.audit_rows().await;
            let field = if plural == "accounts" {
                "industry"
            } else {
                "middle_name"
            };
            let (s, v) = t.patch(persona, &path, json!({ field: "Changed" })).await;
            let expected = if writes[i] {
                StatusCode::OK
            } else if sees[i] {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(
                s, expected,
                "{persona} patches {plural} of {}: {v}",
                owners[i]
            );
            if !writes[i] {
                assert_eq!(
                    t.snapshot(&path).await,
                    before,
                    "refused patch changed nothing"
                );
                assert_eq!(
                    t.audit_rows().await,
                    audit_before,
                    "refused patch wrote no audit entry"
                );
            }
        }
        // Delete.
        for (i, id) in ids.iter().enumerate() {
            let path = format!("/api/v1/{plural}/{id}");
            let before = t.snapshot(&path).await;
            let s = t.delete(persona, &path).await;
            let expected = if deletes[i] {
                StatusCode::NO_CONTENT
            } else if sees[i] {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::NOT_FOUND
            };
            assert_eq!(s, expected, "{persona} deletes {plural} of {}", owners[i]);
            if !deletes[i] {
                assert_eq!(
                    t.snapshot(&path).await,
                    before,
                    "refused delete changed nothing"
                );
            } else {
                // Restore is a delete right too; someone who cannot see it gets 404.
                let (s, _) = t
                    .post("sales_a2", &format!("{path}/restore"), json!({}))
                    .await;
                assert_eq!(
                    s,
                    StatusCode::NOT_FOUND,
                    "sales_a2 cannot restore what it cannot see"
                );
            }
        }
    }
}

async fn role_matrix_accounts(t: TestApp) {
    check_object(&t, "accounts").await;
}
both!(role_matrix_accounts);

async fn role_matrix_contacts(t: TestApp) {
    check_object(&t, "contacts").await;
}
both!(role_matrix_contacts);

async fn who_may_create_and_for_whom(t: TestApp) {
    let before = t.count("accounts").await;
    for persona in ["support", "viewer"] {
        let (s, v) = t
            .post(persona, "/api/v1/accounts", json!({"name": "Nope"}))
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{persona}: {v}");
    }
    // A salesperson may not hand a new record to someone else (mass assignment of owner).
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "Nope", "owner_id": t.id("sales_b")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "owner_id");
    // A head may give records to their team, not to another team.
    let (s, v) = t
        .post(
            "head_a",
            "/api/v1/accounts",
            json!({"name": "Ours", "owner_id": t.id("sales_a2")}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, _) = t
        .post(
            "head_a",
            "/api/v1/accounts",
            json!({"name": "Theirs", "owner_id": t.id("sales_b")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.count("accounts").await, before + 1);
    // Nor take someone's record over by patching owner_id.
    let id = t.account("sales_a1", "sales_a1", "Mine").await;
    let path = format!("/api/v1/accounts/{id}");
    let (s, _) = t
        .patch("sales_a1", &path, json!({"owner_id": t.id("sales_b")}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.snapshot(&path).await["owner_id"], t.id("sales_a1"));
    // A contact cannot be linked to an account its author cannot see.
    let hidden = t.account("admin", "sales_b", "Hidden").await;
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/contacts",
            json!({"last_name": "X", "accounts": [{"account_id": hidden}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "accounts[0].account_id");
}
both!(who_may_create_and_for_whom);

async fn contacts_show_only_visible_accounts(t: TestApp) {
    let visible = t.account("admin", "sales_a1", "Visible").await;
    let hidden = t.account("admin", "sales_b", "Hidden").await;
    let id = t
        .contact("admin", "sales_a1", json!({"last_name": "Linked", "accounts": [{"account_id": visible}, {"account_id": hidden}]}))
        .await;
    let (_, v) = t.get("sales_a1", &format!("/api/v1/contacts/{id}")).await;
    let names: Vec<&str> = v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Visible"]);
    // Editing the links keeps the ones the editor cannot see.
    let (s, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/contacts/{id}"),
            json!({"accounts": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = t.get("admin", &format!("/api/v1/contacts/{id}")).await;
    let names: Vec<&str> = v["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Hidden"]);
}
both!(contacts_show_only_visible_accounts);
