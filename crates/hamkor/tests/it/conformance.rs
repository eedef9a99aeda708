//! What schemathesis (scripts/schemathesis.sh) found when it ran the API against its
//! OpenAPI description, each kept from coming back: answers outside the description and
//! server errors.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;

/// The content type of an answer, without its parameters.
fn media_type(h: &reqwest::header::HeaderMap) -> String {
    h.get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .to_string()
}

/// An upload that is not `multipart/form-data`, or whose form is broken, was refused by the
/// framework in plain text; the API answers every refusal as a problem.
async fn a_refused_upload_is_a_problem(t: TestApp) {
    let id = t.account("admin", "admin", "Upload Savdo").await;
    let path = format!("/api/v1/accounts/{id}/attachments");
    // No body at all, and a JSON body: the wrong media type.
    for body in [None, Some(&serde_json::json!({"file": "x"}))] {
        let (s, h, v) = t
            .request("admin", reqwest::Method::POST, &path, body, &[])
            .await;
        assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
        assert_eq!(media_type(&h), "application/problem+json", "{v}");
        assert_eq!(v["status"], 415);
    }
    // multipart/form-data without a boundary, and with a body that is not the form it says.
    for ct in ["multipart/form-data", "multipart/form-data; boundary=XYZ"] {
        let resp = t
            .client
            .post(format!("{}{path}", t.base))
            .bearer_auth(&t.tokens["admin"])
            .header("content-type", ct)
            .body("not a form")
            .send()
            .await
            .unwrap();
        let s = resp.status();
        let h = resp.headers().clone();
        let v: serde_json::Value = resp.json().await.unwrap_or_default();
        assert_eq!(s, StatusCode::BAD_REQUEST, "{ct}: {v}");
        assert_eq!(media_type(&h), "application/problem+json", "{ct}");
        assert_eq!(v["status"], 400, "{ct}");
    }
    // Nothing was attached.
    let (s, v) = t.get("admin", &path).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["items"], serde_json::json!([]));
}
both!(a_refused_upload_is_a_problem);

/// A deal's status cannot be emptied: `"status": null` in a change reached the database's
/// NOT NULL and came back as a 500. It is invalid input, and nothing changes.
async fn a_deals_status_cannot_be_emptied(t: TestApp) {
    let (s, deal) = t
        .post(
            "sales_a1",
            "/api/v1/deals",
            serde_json::json!({"title": "Null status"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{deal}");
    let id = deal["id"].as_str().unwrap();
    let path = format!("/api/v1/deals/{id}");
    let (s, v) = t
        .patch("sales_a1", &path, serde_json::json!({"status": null}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "status", "{v}");
    // The same through a bulk change: refused for that record, not a server error.
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/deals/bulk",
            serde_json::json!({"action": "set_field", "field": "status", "value": null, "ids": [id]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["done"], 0, "{v}");
    assert_eq!(v["refused_count"], 1, "{v}");
    let (_, after) = t.get("sales_a1", &path).await;
    assert_eq!(after["status"], "open");
    assert_eq!(after["version"], deal["version"]);
}
both!(a_deals_status_cannot_be_emptied);

/// Nor its pipeline or stage: `null` for either in a change was a 500 from the columns'
/// NOT NULL.
async fn a_deals_stage_cannot_be_emptied(t: TestApp) {
    let (s, deal) = t
        .post(
            "sales_a1",
            "/api/v1/deals",
            serde_json::json!({"title": "Null stage"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{deal}");
    let path = format!("/api/v1/deals/{}", deal["id"].as_str().unwrap());
    for field in ["pipeline_id", "stage_id"] {
        let (s, v) = t
            .patch("sales_a1", &path, serde_json::json!({ field: null }))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{v}");
    }
    let (_, after) = t.get("sales_a1", &path).await;
    assert_eq!(after["stage_id"], deal["stage_id"]);
    assert_eq!(after["version"], deal["version"]);
}
both!(a_deals_stage_cannot_be_emptied);

/// A draft document's date of issue cannot be emptied (`"issued_on": null` was a 500 from
/// the column's NOT NULL).
async fn a_documents_date_cannot_be_emptied(t: TestApp) {
    let (s, doc) = t
        .post(
            "admin",
            "/api/v1/documents",
            serde_json::json!({"kind": "quote"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{doc}");
    let path = format!("/api/v1/documents/{}", doc["id"].as_str().unwrap());
    let (s, v) = t
        .patch("admin", &path, serde_json::json!({"issued_on": null}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "issued_on", "{v}");
    let (_, after) = t.get("admin", &path).await;
    assert_eq!(after["issued_on"], doc["issued_on"]);
    assert_eq!(after["version"], doc["version"]);
}
both!(a_documents_date_cannot_be_emptied);
