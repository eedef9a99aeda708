//! Bulk actions on a selection and saved list views.

use crate::both;
use crate::support::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn bulk(t: &TestApp, who: &str, plural: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, v) = t
        .request(
            who,
            Method::POST,
            &format!("/api/v1/{plural}/bulk"),
            Some(&body),
            &[],
        )
        .await;
    (s, v)
}

/// A selection that mixes records the user may change, records they may only read and
/// records they cannot see: each is judged on its own, and the report says which.
async fn bulk_actions_mix_allowed_and_forbidden(t: TestApp) {
    let mine1 = t.account("sales_a1", "sales_a1", "Mine one").await;
    let mine2 = t.account("sales_a1", "sales_a1", "Mine two").await;
    let colleague = t.account("sales_a2", "sales_a2", "Colleague's").await;
    let other_team = t.account("sales_b", "sales_b", "Other team").await;
    let ids = json!([
        mine1,
        mine2,
        colleague,
        other_team,
        "01999999-0000-7000-8000-000000000000"
    ]);

    // head_a: team scope. Mine/colleague's are in the team; the other team's is not.
    let (s, v) = bulk(
        &t,
        "head_a",
        "accounts",
        json!({"ids": ids, "action": "add_tag", "tag": "vip"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["done"], 3, "{v}");
    let refused: Vec<(&str, &str)> = v["refused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        refused,
        [
            (other_team.as_str(), "not_found"),
            ("01999999-0000-7000-8000-000000000000", "not_found")
        ]
    );
    let (_, v) = t
        .get("admin", &format!("/api/v1/accounts/{other_team}"))
        .await;
    assert_eq!(v["tags"], Value::Null, "untouched");
    let (_, v) = t.get("admin", &format!("/api/v1/accounts/{mine1}")).await;
    assert_eq!(v["tags"], json!(["vip"]));
    // Adding again changes nothing; removing removes.
    let (_, v) = bulk(
        &t,
        "head_a",
        "accounts",
        json!({"ids": [mine1], "action": "add_tag", "tag": "VIP"}),
    )
    .await;
    assert_eq!(v["done"], 1);
    let (_, a) = t.get("admin", &format!("/api/v1/accounts/{mine1}")).await;
    assert_eq!(a["tags"], json!(["vip"]));
    assert_eq!(a["version"], 2);

    // The marketer reads all accounts but writes only their own: readable ones are refused
    // as forbidden, and nothing changes on them.
    let audit = t.audit_rows().await;
    let (_, v) = bulk(&t, "marketer", "accounts", json!({"ids": [mine1, other_team], "action": "set_field", "field": "industry", "value": "Textile"})).await;
    assert_eq!(v["done"], 0);
    assert_eq!(v["refused"][0]["reason"], "forbidden");
    assert_eq!(v["refused"][1]["reason"], "forbidden");
    assert_eq!(t.audit_rows().await, audit);

    // A salesperson may not give records away (own scope: the new owner is out of reach);
    // their head may, within the team.
    let (_, v) = bulk(
        &t,
        "sales_a1",
        "accounts",
        json!({"ids": [mine1], "action": "set_owner", "owner_id": t.id("sales_a2")}),
    )
    .await;
    assert_eq!(v["done"], 0, "{v}");
    assert_eq!(v["refused"][0]["reason"], "invalid");
    let (_, v) = bulk(&t, "head_a", "accounts", json!({"ids": [mine1, mine2, other_team], "action": "set_owner", "owner_id": t.id("sales_a2")})).await;
    assert_eq!(v["done"], 2, "{v}");
    assert_eq!(v["refused"][0]["id"], other_team.as_str());
    let (_, a) = t.get("admin", &format!("/api/v1/accounts/{mine2}")).await;
    assert_eq!(a["owner_id"], t.id("sales_a2"));
    // Invalid values are refused per record with the reason.
    let (_, v) = bulk(
        &t,
        "admin",
        "accounts",
        json!({"ids": [mine1], "action": "set_field", "field": "kind", "value": "friend"}),
    )
    .await;
    assert_eq!(v["refused"][0]["reason"], "invalid");
    // Delete: only what the user may delete goes to the trash.
    let (_, v) = bulk(
        &t,
        "sales_b",
        "accounts",
        json!({"ids": [other_team, mine1], "action": "delete"}),
    )
    .await;
    assert_eq!(v["done"], 1);
    assert_eq!(t.count("accounts").await, 3);

    // Bad requests change nothing.
    for body in [
        json!({"ids": [mine1], "action": "explode"}),
        json!({"ids": "all", "action": "delete"}),
        json!({"ids": [], "action": "delete"}),
        json!({"ids": [mine1], "action": "set_field", "field": "owner_id; DROP TABLE accounts", "value": 1}),
        json!({"ids": [mine1], "action": "set_field", "field": "phones", "value": []}),
        json!({"ids": [mine1], "action": "add_tag", "tag": ""}),
    ] {
        let (s, v) = bulk(&t, "admin", "accounts", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    let too_many: Vec<String> = (0..501).map(|_| mine1.clone()).collect();
    let (s, _) = bulk(
        &t,
        "admin",
        "accounts",
        json!({"ids": too_many, "action": "delete"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(t.count("accounts").await, 3);
}
both!(bulk_actions_mix_allowed_and_forbidden);

async fn saved_views(t: TestApp) {
    let (s, v) = t
        .post("sales_a1", "/api/v1/views", json!({"object": "account", "name": "My clients", "params": "kind=client&sort=-name&col=name"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["href"], "/accounts?kind=client&sort=-name&col=name");
    let private = v["id"].as_str().unwrap().to_string();
    // Only heads and administrators share.
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/views",
            json!({"object": "account", "name": "For all", "params": "", "shared": true}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = t
        .post("head_a", "/api/v1/views", json!({"object": "account", "name": "Prospects", "params": "kind=prospect", "shared": true}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let shared = v["id"].as_str().unwrap().to_string();
    // A view must be a valid list.
    for params in ["colour=red", "sort=password_hash", "name[zz]=1"] {
        let (s, _) = t
            .post(
                "head_a",
                "/api/v1/views",
                json!({"object": "account", "name": "Bad", "params": params}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{params}");
    }
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = t.get("sales_a1", "/api/v1/views?object=account").await;
    assert_eq!(names(&v), ["My clients", "Prospects"]);
    let (_, v) = t.get("sales_b", "/api/v1/views?object=account").await;
    assert_eq!(names(&v), ["Prospects"]);
    let (_, v) = t.get("sales_b", "/api/v1/views?object=contact").await;
    assert_eq!(names(&v), Vec::<String>::new());
    // Others cannot delete a private view (it does not exist for them) or a shared one.
    assert_eq!(
        t.delete("sales_b", &format!("/api/v1/views/{private}"))
            .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.delete("sales_b", &format!("/api/v1/views/{shared}"))
            .await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        t.delete("admin", &format!("/api/v1/views/{shared}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        t.delete("sales_a1", &format!("/api/v1/views/{private}"))
            .await,
        StatusCode::NO_CONTENT
    );
    let (_, v) = t.get("sales_a1", "/api/v1/views?object=account").await;
    assert_eq!(names(&v), Vec::<String>::new());
}
both!(saved_views);
