//! Bad input gets a clear 4xx problem naming the field, and the database is unchanged.

use crate::both;
use crate::support::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn bad_bodies_change_nothing(t: TestApp) {
    let id = t.account("sales_a1", "sales_a1", "Original").await;
    let path = format!("/api/v1/accounts/{id}");
    let before = t.snapshot(&path).await;
    let count = t.count("accounts").await;
    let audit = t.audit_rows().await;

    // Malformed JSON and a wrong content type.
    let resp = t
        .client
        .post(format!("{}/api/v1/accounts", t.base))
        .bearer_auth(&t.tokens["sales_a1"])
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let p: Value = resp.json().await.unwrap();
    assert_eq!(p["status"], 400);
    assert!(p["detail"].as_str().unwrap().contains("JSON"));
    let resp = t
        .client
        .post(format!("{}/api/v1/accounts", t.base))
        .bearer_auth(&t.tokens["sales_a1"])
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Each invalid body names its field.
    let cases: Vec<(Value, &str)> = vec![
        (json!({"name": "X", "colour": "red"}), "colour"),
        (json!({"name": 42}), "name"),
        (json!({"name": "x".repeat(201)}), "name"),
        (
            json!({"name": "X", "emails": ["not-an-email"]}),
            "emails[0]",
        ),
        (json!({"name": "X", "phones": ["12-34"]}), "phones[0]"),
        (json!({"name": "X", "kind": "friend"}), "kind"),
        (json!({"name": "X", "tax_id": "12ab"}), "tax_id"),
        (json!({"name": "X", "tax_id": "7707083894"}), "tax_id"),
        (json!({"name": "X", "tax_id": "30123456"}), "tax_id"),
        (json!({"name": "X", "size": "huge"}), "size"),
        (
            json!({"name": "X", "addresses": [{"address": "  "}]}),
            "addresses[0]",
        ),
        (
            json!({"name": "X", "addresses": [{"address": "Toshkent", "kind": "moon"}]}),
            "addresses[0].kind",
        ),
        (json!({"name": "   "}), "name"),
        (
            json!({"name": "X", "website": "javascript:alert(1)"}),
            "website",
        ),
        (json!({"name": "X", "id": "01a2..."}), "id"),
        (json!({"name": "X", "version": 7}), "version"),
        (
            json!({"name": "X", "created_by": t.id("admin")}),
            "created_by",
        ),
        (json!({"name": "X", "owner_id": "not an id"}), "owner_id"),
        (json!({"name": "X", "custom": {"nope": 1}}), "custom.nope"),
        (
            json!({"name": "X", "parent_id": "01999999-0000-7000-8000-000000000000"}),
            "parent_id",
        ),
        (json!(["name", "X"]), ""),
        (json!({}), "name"),
    ];
    for (body, field) in &cases {
        let (s, v) = t.post("sales_a1", "/api/v1/accounts", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "POST {body}: {v}");
        assert!(
            v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == *field),
            "POST {body} should name {field}: {v}"
        );
        assert!(
            v["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
        let (s, v) = t.patch("sales_a1", &path, body.clone()).await;
        if *field != "name" || !body.as_object().is_some_and(|o| o.is_empty()) {
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "PATCH {body}: {v}");
        }
    }
    // A null for a required field on PATCH.
    let (s, v) = t.patch("sales_a1", &path, json!({"name": null})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["errors"][0]["field"], "name");
    // A malformed If-Match.
    let (s, _, _) = t
        .request(
            "sales_a1",
            Method::PATCH,
            &path,
            Some(&json!({"name": "Y"})),
            &[("if-match", "yesterday")],
        )
        .await;
    assert_eq!(s, StatusCode::PRECONDITION_FAILED);

    // Contacts: names of whitespace, numbers that are not phones, bad messengers and
    // consents, each named.
    for (body, field) in [
        (
            json!({"first_name": "   ", "last_name": "\t "}),
            "last_name",
        ),
        (
            json!({"last_name": "X", "phones": ["call me"]}),
            "phones[0]",
        ),
        (
            json!({"last_name": "X", "phones": [{"number": "90 123 45 67", "kind": "pager"}]}),
            "phones[0].kind",
        ),
        (
            json!({"last_name": "X", "messengers": [{"handle": "@x", "kind": "telegram"}]}),
            "messengers[0]",
        ),
        (
            json!({"last_name": "X", "email_consent": "maybe"}),
            "email_consent",
        ),
        (
            json!({"last_name": "X", "birthday": "1990-02-30"}),
            "birthday",
        ),
        (
            json!({"last_name": "X", "preferred_channel": "pigeon"}),
            "preferred_channel",
        ),
    ] {
        let (s, v) = t.post("sales_a1", "/api/v1/contacts", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "POST {body}: {v}");
        assert!(
            v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "POST {body} should name {field}: {v}"
        );
    }
    assert_eq!(t.count("contacts").await, 0, "no contact created");

    assert_eq!(t.snapshot(&path).await, before, "nothing changed");
    assert_eq!(t.count("accounts").await, count, "nothing created");
    assert_eq!(t.audit_rows().await, audit, "nothing audited");
}
both!(bad_bodies_change_nothing);

async fn errors_speak_the_callers_language(t: TestApp) {
    let (_, _, v) = t
        .request(
            "sales_a1",
            Method::POST,
            "/api/v1/accounts",
            Some(&json!({})),
            &[],
        )
        .await;
    assert_eq!(
        v["errors"][0]["message"], "This field is required.",
        "persona language is English: {v}"
    );
    let (s, _) = t
        .patch("sales_a1", "/api/v1/users/me", json!({"language": "ru"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, _, v) = t
        .request(
            "sales_a1",
            Method::POST,
            "/api/v1/accounts",
            Some(&json!({})),
            &[],
        )
        .await;
    assert_eq!(v["errors"][0]["message"], "Обязательное поле.");
    // A user cannot raise their own role or move team through /users/me.
    let (s, v) = t
        .patch(
            "sales_a1",
            "/api/v1/users/me",
            json!({"role": "administrator", "team_id": null}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let fields: Vec<&str> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"role") && fields.contains(&"team_id"));
    let (_, me) = t.get("sales_a1", "/api/v1/users/me").await;
    assert_eq!(me["role"], "sales");
    // Only administrators create users.
    let (s, _) = t
        .post(
            "head_a",
            "/api/v1/users",
            json!({"email": "x@y.uz", "name": "X", "role": "administrator"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, users) = t.get("admin", "/api/v1/users").await;
    assert!(
        !users["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "x@y.uz")
    );
}
both!(errors_speak_the_callers_language);
