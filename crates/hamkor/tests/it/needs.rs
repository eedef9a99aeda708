//! Needs and interests: what a client wants and what they care about, from a managed list.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;

async fn needs_belong_to_the_client(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Needy Client").await;
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/needs",
            json!({"title": "Cotton fabric, 2,000 m a month", "account_id": acc, "budget": "1 500,5",
                "currency": "USD", "needed_by": "2027-02-01", "status": "open"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["budget"], "1500.50");
    let need = v["id"].as_str().unwrap().to_string();
    t.post(
        "sales_a1",
        "/api/v1/needs",
        json!({"title": "Dyeing service", "account_id": acc, "status": "satisfied", "budget": 200}),
    )
    .await;
    let (_, v) = t
        .get(
            "sales_a1",
            &format!("/api/v1/needs?account_id={acc}&status=open"),
        )
        .await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = t
        .get("sales_a1", "/api/v1/needs?budget[gte]=1000&sort=-budget")
        .await;
    assert_eq!(v["items"][0]["id"], need.as_str(), "{v}");
    // Shown on the client's page.
    let cookie = crate::auth::login(&t, "sales_a1@test.hamkor.uz", crate::support::PASSWORD)
        .await
        .unwrap();
    let html = t
        .client
        .get(format!("{}/accounts/{acc}", t.base))
        .header("cookie", format!("hamkor_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Cotton fabric, 2,000 m a month") && html.contains("/needs/new?account_id=")
    );

    // Bad input and other people's clients.
    for (body, field) in [
        (
            json!({"title": "x", "account_id": acc, "budget": "12.345"}),
            "budget",
        ),
        (
            json!({"title": "x", "account_id": acc, "budget": "-5"}),
            "budget",
        ),
        (json!({"title": "   ", "account_id": acc}), "title"),
        (json!({"title": "x"}), "account_id"),
        (
            json!({"title": "x", "account_id": acc, "currency": "BTC"}),
            "currency",
        ),
    ] {
        let (s, v) = t.post("sales_a1", "/api/v1/needs", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    let (s, _) = t.get("sales_b", &format!("/api/v1/needs/{need}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t
        .post(
            "sales_b",
            "/api/v1/needs",
            json!({"title": "x", "account_id": acc}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = t
        .patch(
            "sales_b",
            &format!("/api/v1/needs/{need}"),
            json!({"status": "dropped"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(t.count("needs").await, 2);
}
both!(needs_belong_to_the_client);

async fn interests_come_from_a_managed_list(t: TestApp) {
    // Only an administrator changes the list.
    let (s, _) = t
        .post(
            "head_a",
            "/api/v1/picklists/interests",
            json!({"value": "Cotton"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = t.get("sales_a1", "/api/v1/picklists/interests").await;
    assert_eq!(v["items"], json!([]));
    for value in ["Cotton", "Silk"] {
        let (s, v) = t
            .post(
                "admin",
                "/api/v1/picklists/interests",
                json!({"value": value}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, _) = t
        .post(
            "admin",
            "/api/v1/picklists/interests",
            json!({"value": "cotton"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = t.get("admin", "/api/v1/picklists/colours").await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "Interested", "interests": ["Cotton", "Silk", "Cotton"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["interests"], json!(["Cotton", "Silk"]));
    let acc = v["id"].as_str().unwrap().to_string();
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/contacts",
            json!({"last_name": "X", "interests": ["Wool"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "interests[0]");
    let (_, v) = t.get("sales_a1", "/api/v1/accounts?interests=Silk").await;
    assert_eq!(v["items"][0]["id"], acc.as_str());

    // A retired value stays where it is, cannot be chosen again, and does not block edits.
    let (s, _) = t
        .patch(
            "admin",
            "/api/v1/picklists/interests/Cotton",
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/accounts/{acc}"),
            json!({"industry": "Textile", "interests": ["Cotton", "Silk"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["interests"], json!(["Cotton", "Silk"]));
    let (s, _) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "Late", "interests": ["Cotton"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = t
        .patch(
            "sales_a1",
            "/api/v1/picklists/interests/Silk",
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .post(
            "marketer",
            "/api/v1/picklists/interests",
            json!({"value": "Wool"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = t.get("admin", "/api/v1/picklists/interests").await;
    let active: Vec<(&str, bool)> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["value"].as_str().unwrap(), i["active"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        active,
        [("Cotton", false), ("Silk", true)],
        "nothing changed"
    );
}
both!(interests_come_from_a_managed_list);
