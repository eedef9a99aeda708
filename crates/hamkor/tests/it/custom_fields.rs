//! Custom fields: only administrators define them; values are validated on every write,
//! returned under `custom`, filterable and sortable.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

async fn custom_fields_end_to_end(t: TestApp) {
    let field = json!({"object": "account", "key": "segment", "label": "Segment", "kind": "picklist", "options": ["gold", "silver"]});
    let (s, _) = t
        .post("head_a", "/api/v1/custom_fields", field.clone())
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "only administrators define fields"
    );
    let (s, v) = t
        .post("admin", "/api/v1/custom_fields", field.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = t.post("admin", "/api/v1/custom_fields", field).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "duplicate key: {v}");
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/custom_fields",
            json!({"object": "account", "key": "Bad Key!", "label": "x", "kind": "text"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "key");
    for (key, kind) in [
        ("budget", "money"),
        ("employees", "number"),
        ("renewal", "date"),
        ("vip", "checkbox"),
        ("manager", "user"),
    ] {
        let (s, v) = t
            .post(
                "admin",
                "/api/v1/custom_fields",
                json!({"object": "account", "key": key, "label": key, "kind": kind}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{kind}: {v}");
    }
    let (_, defs) = t
        .get("sales_a1", "/api/v1/custom_fields?object=account")
        .await;
    assert_eq!(defs["items"].as_array().unwrap().len(), 6);

    let mk = |name: &str, seg: &str, emp: i64, vip: bool| {
        json!({"name": name, "custom": {"segment": seg, "employees": emp, "vip": vip,
            "budget": {"amount": "1500.5", "currency": "uzs"}, "renewal": "2027-01-31", "manager": t.id("sales_a1")}})
    };
    for (n, seg, emp, vip) in [
        ("A", "gold", 120, true),
        ("B", "silver", 15, false),
        ("C", "gold", 40, false),
    ] {
        let (s, v) = t
            .post("sales_a1", "/api/v1/accounts", mk(n, seg, emp, vip))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(
            v["custom"]["budget"],
            json!({"amount": "1500.50", "currency": "UZS"})
        );
        assert_eq!(v["custom"]["segment"], seg);
    }
    let (_, v) = t
        .get(
            "sales_a1",
            "/api/v1/accounts?custom.segment=gold&sort=-custom.employees",
        )
        .await;
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["A", "C"]);
    let (_, v) = t
        .get(
            "sales_a1",
            "/api/v1/accounts?custom.employees[gte]=40&sort=custom.employees",
        )
        .await;
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["C", "A"]);
    let (_, v) = t.get("sales_a1", "/api/v1/accounts?custom.vip=true").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1);
    let (_, v) = t
        .get("sales_a1", "/api/v1/accounts?custom.vip=false&count=true")
        .await;
    assert_eq!(v["total"], 2);

    // Wrong values are refused by name.
    for (custom, field) in [
        (json!({"segment": "bronze"}), "custom.segment"),
        (json!({"employees": "many"}), "custom.employees"),
        (json!({"renewal": "2027-02-30"}), "custom.renewal"),
        (json!({"vip": "maybe"}), "custom.vip"),
        (
            json!({"budget": {"amount": "1.234", "currency": "UZS"}}),
            "custom.budget",
        ),
        (
            json!({"manager": "01999999-0000-7000-8000-000000000000"}),
            "custom.manager",
        ),
    ] {
        let (s, v) = t
            .post(
                "sales_a1",
                "/api/v1/accounts",
                json!({"name": "Bad", "custom": custom}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{custom}: {v}");
        assert_eq!(v["errors"][0]["field"], field);
    }
    // Clearing a value with null; the history records it.
    let (_, v) = t
        .get("sales_a1", "/api/v1/accounts?custom.segment=silver")
        .await;
    let id = v["items"][0]["id"].as_str().unwrap().to_string();
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/accounts/{id}"),
            json!({"custom": {"segment": null}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["custom"].get("segment").is_none());
    let (_, h) = t
        .get("sales_a1", &format!("/api/v1/accounts/{id}/history"))
        .await;
    assert_eq!(
        h["items"][0]["changes"]["custom.segment"],
        json!(["silver", null])
    );

    // A required field is required from then on.
    let (s, _) = t.post("admin", "/api/v1/custom_fields", json!({"object": "contact", "key": "source", "label": "Source", "kind": "text", "required": true})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/contacts",
            json!({"last_name": "No source"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "custom.source");
    let (s, _) = t
        .post(
            "sales_a1",
            "/api/v1/contacts",
            json!({"last_name": "With source", "custom": {"source": "Exhibition"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
}
both!(custom_fields_end_to_end);
