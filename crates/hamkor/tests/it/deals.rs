//! Deals in pipelines: where a new deal starts, moving between stages with their
//! history, closing as won or lost (with a reason from the managed list), who sees
//! which deals, the board's columns, and pipelines defined by administrators.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn deal(t: &TestApp, who: &str, body: Value) -> Value {
    let (s, v) = t.post(who, "/api/v1/deals", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn deals_move_through_their_pipeline(t: TestApp) {
    let (_, pipelines) = t.get("sales_a1", "/api/v1/pipelines").await;
    let sales = &pipelines["items"][0];
    assert_eq!(sales["name"], "Sales", "{pipelines}");
    let stages: Vec<String> = sales["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stages.len(), 5);
    let acc = t.account("sales_a1", "sales_a1", "Bahor Textile").await;
    let v = deal(
        &t,
        "sales_a1",
        json!({"title": "Fabric for 2027", "account_id": acc, "amount": "150000000", "expected_close": "2027-03-01"}),
    )
    .await;
    let id = v["id"].as_str().unwrap().to_string();
    // A new deal starts open, at the first stage of the first pipeline, with its probability.
    assert_eq!(v["status"], "open");
    assert_eq!(v["pipeline_id"], sales["id"]);
    assert_eq!(v["stage_id"], stages[0].as_str());
    assert_eq!(v["probability"], 10);
    assert_eq!(v["currency"], "UZS");
    // Moving it: the history keeps when it left one stage and entered the next, and who.
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"stage_id": stages[2]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["probability"], 50);
    let (_, h) = t
        .get("sales_a1", &format!("/api/v1/deals/{id}/stages"))
        .await;
    let visits = h["items"].as_array().unwrap();
    assert_eq!(visits.len(), 2, "{h}");
    assert_eq!(visits[0]["stage"], "New");
    assert!(
        visits[0]["left_at"].is_string() && visits[1]["left_at"].is_null(),
        "{h}"
    );
    assert_eq!(visits[1]["entered_by"], t.id("sales_a1"));
    // Bad moves change nothing.
    let other = {
        let (s, v) = t
            .post(
                "admin",
                "/api/v1/pipelines",
                json!({"name": "Wholesale", "stages": [{"name": "Request", "probability": 20}, {"name": "Offer", "probability": 60}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    };
    let foreign_stage = other["stages"][0]["id"].as_str().unwrap().to_string();
    let before = t.snapshot(&format!("/api/v1/deals/{id}")).await;
    for (body, field, code) in [
        (
            json!({"stage_id": foreign_stage}),
            "stage_id",
            "stage-pipeline",
        ),
        (
            json!({"stage_id": uuid::Uuid::now_v7().to_string()}),
            "stage_id",
            "unknown-stage",
        ),
        (json!({"probability": 150}), "probability", "probability"),
        (json!({"amount": "-5"}), "amount", "type-amount"),
        (
            json!({"status": "lost"}),
            "lost_reason",
            "lost-reason-required",
        ),
        (
            json!({"status": "lost", "lost_reason": "Aliens"}),
            "lost_reason",
            "choice",
        ),
        (
            json!({"stage_entered_at": "2026-01-01T00:00:00Z"}),
            "stage_entered_at",
            "read-only",
        ),
    ] {
        let (s, v) = t
            .patch("sales_a1", &format!("/api/v1/deals/{id}"), body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(
            (
                v["errors"][0]["field"].as_str(),
                v["errors"][0]["code"].as_str()
            ),
            (Some(field), Some(code)),
            "{body}: {v}"
        );
    }
    assert_eq!(t.snapshot(&format!("/api/v1/deals/{id}")).await, before);
    // Moving to another pipeline takes the deal to its first stage.
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"pipeline_id": other["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["stage_id"], foreign_stage.as_str());
    assert_eq!(v["probability"], 20);
    // Lost, with a reason from the list; a closed deal does not move; reopened, it does.
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"status": "lost", "lost_reason": "Price too high"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["closed_at"].is_string());
    assert_eq!(v["probability"], 0);
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"stage_id": other["stages"][1]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["code"], "deal-closed");
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"status": "open", "stage_id": other["stages"][1]["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["closed_at"].is_null() && v["lost_reason"].is_null(),
        "{v}"
    );
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"status": "won"}),
        )
        .await;
    assert_eq!(
        (s, v["probability"].as_i64()),
        (StatusCode::OK, Some(100)),
        "{v}"
    );
    // A new deal cannot start won.
    let (s, _) = t
        .post(
            "sales_a1",
            "/api/v1/deals",
            json!({"title": "x", "status": "won"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
both!(deals_move_through_their_pipeline);

async fn deals_follow_scope_and_the_board_adds_up(t: TestApp) {
    let (_, pipelines) = t.get("admin", "/api/v1/pipelines").await;
    let stages = pipelines["items"][0]["stages"].as_array().unwrap().clone();
    let second = stages[1]["id"].as_str().unwrap().to_string();
    for (who, title, amount, currency, stage) in [
        ("sales_a1", "A1 first", "100.50", "UZS", None),
        ("sales_a1", "A1 second", "200", "UZS", Some(second.clone())),
        ("sales_a1", "A1 dollars", "1000", "USD", None),
        ("sales_a2", "A2 deal", "50", "UZS", None),
        ("sales_b", "B deal", "70", "UZS", None),
    ] {
        let mut body = json!({"title": title, "amount": amount, "currency": currency});
        if let Some(st) = stage {
            body["stage_id"] = json!(st);
        }
        deal(&t, who, body).await;
    }
    let (_, v) = t.get("sales_b", "/api/v1/deals?q=A1").await;
    assert!(v["items"].as_array().unwrap().is_empty(), "{v}");
    // The head of Alpha sees Alpha's four; the board's first column adds them per currency.
    let (s, v) = t.get("head_a", "/api/v1/deals/board").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let first = &v["columns"][0];
    assert_eq!(first["count"], 3, "{v}");
    assert_eq!(
        first["sums"],
        json!([{"currency": "USD", "amount": "1000.00"}, {"currency": "UZS", "amount": "150.50"}]),
        "{v}"
    );
    assert_eq!(v["columns"][1]["count"], 1);
    // A salesperson's board holds their own deals; the limit caps the cards, not the count.
    let (_, v) = t.get("sales_a1", "/api/v1/deals/board?limit=1").await;
    assert_eq!(v["columns"][0]["count"], 2, "{v}");
    assert_eq!(v["columns"][0]["deals"].as_array().unwrap().len(), 1);
    // Marketing reads deals but changes none; support has no part in them.
    let (_, v) = t.get("marketer", "/api/v1/deals?limit=50").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 5, "{v}");
    let (s, _) = t
        .post("marketer", "/api/v1/deals", json!({"title": "x"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t.get("support", "/api/v1/deals/board").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Pipelines are for administrators to define; bad ones are refused by name.
    let (s, _) = t
        .post(
            "head_a",
            "/api/v1/pipelines",
            json!({"name": "Mine", "stages": [{"name": "One"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (body, field) in [
        (json!({"name": "", "stages": [{"name": "One"}]}), "name"),
        (json!({"name": "P", "stages": []}), "stages"),
        (
            json!({"name": "P", "stages": [{"name": "One", "probability": 150}]}),
            "stages[0].probability",
        ),
        (
            json!({"name": "P", "stages": [{"name": "One"}, {"name": "One"}]}),
            "stages[1].name",
        ),
        (
            json!({"name": "P", "stages": [{"name": "One"}], "owner": "me"}),
            "owner",
        ),
    ] {
        let (s, v) = t.post("admin", "/api/v1/pipelines", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{body}: {v}");
    }
    let (_, v) = t.get("admin", "/api/v1/pipelines").await;
    assert_eq!(
        v["items"].as_array().unwrap().len(),
        1,
        "nothing half-made: {v}"
    );
    // Tasks can be about a deal.
    let (_, list) = t.get("sales_a1", "/api/v1/deals?q=first").await;
    let d = list["items"][0]["id"].as_str().unwrap();
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/tasks",
            json!({"title": "Send the offer", "related": {"type": "deal", "id": d}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}
both!(deals_follow_scope_and_the_board_adds_up);

async fn scripts_guide_and_guard_each_stage(t: TestApp) {
    let (_, p) = t.get("admin", "/api/v1/pipelines").await;
    let stages = p["items"][0]["stages"].as_array().unwrap().clone();
    let (new, qualified) = (
        stages[0]["id"].as_str().unwrap().to_string(),
        stages[1]["id"].as_str().unwrap().to_string(),
    );
    // An administrator writes the scripts; nobody else may.
    let script = json!({"text": "Ask who decides and by when.", "steps": [
        {"text": "Find the decision maker", "required": true},
        {"text": "Send the company profile", "required": false, "task_days": 1}]});
    let (s, _, _) = t
        .request(
            "head_a",
            reqwest::Method::PUT,
            &format!("/api/v1/stages/{new}/script"),
            Some(&script),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, v) = t
        .request(
            "admin",
            reqwest::Method::PUT,
            &format!("/api/v1/stages/{new}/script"),
            Some(&script),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let required_step = v["steps"][0]["id"].as_str().unwrap().to_string();
    let qualified_script =
        json!({"steps": [{"text": "Agree the budget", "required": true, "task_days": 2}]});
    let (s, _, v) = t
        .request(
            "admin",
            reqwest::Method::PUT,
            &format!("/api/v1/stages/{qualified}/script"),
            Some(&qualified_script),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let bad = json!({"steps": [{"text": "", "task_days": 900}]});
    let (s, _, v) = t
        .request(
            "admin",
            reqwest::Method::PUT,
            &format!("/api/v1/stages/{qualified}/script"),
            Some(&bad),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    let v = deal(&t, "sales_a1", json!({"title": "Scripted deal"})).await;
    let id = v["id"].as_str().unwrap().to_string();
    // Another team's salesperson sees neither the deal's script, stages nor lines;
    // support reads no scripts at all.
    for path in [
        format!("/api/v1/deals/{id}/script"),
        format!("/api/v1/deals/{id}/stages"),
        format!("/api/v1/deals/{id}/lines"),
    ] {
        assert_eq!(
            t.get("sales_b", &path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        t.get("support", &format!("/api/v1/stages/{new}/script"))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (_, sc) = t
        .get("sales_a1", &format!("/api/v1/deals/{id}/script"))
        .await;
    assert_eq!(sc["text"], "Ask who decides and by when.");
    assert_eq!(sc["steps"][0]["done"], false);
    // Skipping the required step is refused, naming it; nothing moves.
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"stage_id": qualified}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["code"], "steps-required");
    assert!(
        v["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Find the decision maker"),
        "{v}"
    );
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"status": "won"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // Someone who may not change the deal cannot tick its steps.
    let (s, _) = t
        .post(
            "sales_b",
            &format!("/api/v1/deals/{id}/steps/{required_step}"),
            json!({"done": true}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/deals/{id}/steps/{required_step}"),
            json!({"done": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["steps"][0]["done"], true);
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"stage_id": qualified}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Entering the stage gave the owner its task, about the deal, due in two days.
    let (_, tasks) = t.get("sales_a1", "/api/v1/tasks?q=Agree").await;
    let task = &tasks["items"][0];
    assert_eq!(
        task["related"],
        json!({"type": "deal", "id": id}),
        "{tasks}"
    );
    assert_eq!(task["assignee_id"], t.id("sales_a1"));
    // A step of another stage is not this deal's to tick; moving back needs nothing.
    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/deals/{id}/steps/{required_step}"),
            json!({"done": false}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{id}"),
            json!({"stage_id": new}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    // A pipeline that only warns lets the deal move on.
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/pipelines",
            json!({"name": "Retail", "enforce_steps": false, "stages": [{"name": "Visit"}, {"name": "Order"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let visit = v["stages"][0]["id"].as_str().unwrap().to_string();
    let order = v["stages"][1]["id"].as_str().unwrap().to_string();
    let (s, _, _) = t
        .request(
            "admin",
            reqwest::Method::PUT,
            &format!("/api/v1/stages/{visit}/script"),
            Some(&json!({"steps": [{"text": "Take photos", "required": true}]})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let v = deal(&t, "sales_a1", json!({"title": "Shop", "stage_id": visit})).await;
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/deals/{}", v["id"].as_str().unwrap()),
            json!({"stage_id": order}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
both!(scripts_guide_and_guard_each_stage);

async fn the_catalog_is_kept_by_heads(t: TestApp) {
    let (s, v) = t
        .post(
            "head_a",
            "/api/v1/products",
            json!({"code": "TX-100", "name": "Cotton fabric, 150 cm", "unit": "m",
            "price": "42000", "vat_rate": "12"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (
            v["currency"].as_str(),
            v["vat_rate"].as_str(),
            v["active"].as_bool()
        ),
        (Some("UZS"), Some("12.00"), Some(true)),
        "{v}"
    );
    let id = v["id"].as_str().unwrap().to_string();
    // Everyone reads the catalog; only heads and administrators change it.
    let (_, v) = t.get("sales_b", "/api/v1/products?q=TX-100").await;
    assert_eq!(v["items"][0]["id"], id.as_str(), "{v}");
    let (s, _) = t
        .post(
            "sales_a1",
            "/api/v1/products",
            json!({"code": "X", "name": "X"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/products/{id}"),
            json!({"price": "1"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Codes are unique; bad values are refused by name.
    let before = t.count("products").await;
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/products",
            json!({"code": "TX-100", "name": "Copy"}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    for (body, field, code) in [
        (json!({"code": "A B", "name": "x"}), "code", "product-code"),
        (
            json!({"code": "V1", "name": "x", "vat_rate": "150"}),
            "vat_rate",
            "vat-rate",
        ),
        (
            json!({"code": "P1", "name": "x", "price": "-5"}),
            "price",
            "type-amount",
        ),
        (
            json!({"code": "U1", "name": "x", "unit": "parsec"}),
            "unit",
            "choice",
        ),
        (json!({"name": "no code"}), "code", "required"),
    ] {
        let (s, v) = t.post("admin", "/api/v1/products", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(
            (
                v["errors"][0]["field"].as_str(),
                v["errors"][0]["code"].as_str()
            ),
            (Some(field), Some(code)),
            "{body}: {v}"
        );
    }
    assert_eq!(t.count("products").await, before);
    // A product in the trash frees its code.
    assert_eq!(
        t.delete("admin", &format!("/api/v1/products/{id}")).await,
        StatusCode::NO_CONTENT
    );
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/products",
            json!({"code": "TX-100", "name": "Cotton, new"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}
both!(the_catalog_is_kept_by_heads);

async fn deal_lines_add_up_exactly(t: TestApp) {
    let (_, p) = t
        .post(
            "admin",
            "/api/v1/products",
            json!({"code": "SRV-1", "name": "Installation", "unit": "hour",
            "price": "100", "vat_rate": "12"}),
        )
        .await;
    let product = p["id"].as_str().unwrap().to_string();
    let v = deal(&t, "sales_a1", json!({"title": "Lines", "currency": "UZS"})).await;
    let id = v["id"].as_str().unwrap().to_string();
    // Line 1: 3 h × 100.00 from the catalog, VAT 12 %: 300.00 + 36.00 = 336.00.
    // Line 2: 2.5 × 10.01 = 25.025 → 25.03; 10 % off: 2.503 → 2.50; net 22.53;
    //   VAT 12 %: 2.7036 → 2.70; total 25.23.
    // Document: net 322.53, VAT 38.70, total 361.23.
    let body = json!({"lines": [
        {"product_id": product, "quantity": "3"},
        {"name": "Cable, m", "quantity": "2.5", "unit_price": "10.01", "discount": "10%", "vat_rate": "12"}]});
    let (s, _, v) = t
        .request(
            "sales_a1",
            reqwest::Method::PUT,
            &format!("/api/v1/deals/{id}/lines"),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["lines"][0]["name"], "Installation");
    assert_eq!(v["lines"][0]["unit"], "hour");
    assert_eq!(v["lines"][0]["total"], "336.00");
    assert_eq!(
        (
            v["lines"][1]["gross"].as_str(),
            v["lines"][1]["discount_amount"].as_str(),
            v["lines"][1]["vat"].as_str(),
            v["lines"][1]["total"].as_str()
        ),
        (Some("25.03"), Some("2.50"), Some("2.70"), Some("25.23")),
        "{v}"
    );
    assert_eq!(
        v["totals"],
        json!({"gross": "325.03", "discount": "2.50", "net": "322.53", "vat": "38.70", "total": "361.23",
        "by_rate": [{"vat_rate": "12.00", "net": "322.53", "vat": "38.70", "total": "361.23"}]}),
        "{v}"
    );
    // The deal's amount is the lines' total.
    let (_, d) = t.get("sales_a1", &format!("/api/v1/deals/{id}")).await;
    assert_eq!(d["amount"], "361.23");
    // Bad lines refuse the whole change, each named.
    let before = t.snapshot(&format!("/api/v1/deals/{id}/lines")).await;
    for (line, field, code) in [
        (
            json!({"name": "x", "quantity": "-1", "unit_price": "1"}),
            "lines[0].quantity",
            "negative",
        ),
        (
            json!({"name": "x", "quantity": "1", "unit_price": "1", "discount": "120%"}),
            "lines[0].discount",
            "discount-too-large",
        ),
        (
            json!({"name": "x", "quantity": "1", "unit_price": "1.005"}),
            "lines[0].unit_price",
            "amount-decimals",
        ),
        (
            json!({"name": "x", "quantity": "1"}),
            "lines[0].unit_price",
            "required",
        ),
        (
            json!({"quantity": "1", "unit_price": "1"}),
            "lines[0].name",
            "required",
        ),
        (
            json!({"product_id": uuid::Uuid::now_v7().to_string(), "quantity": "1"}),
            "lines[0].product_id",
            "unknown-record",
        ),
        (
            json!({"name": "x", "quantity": "1000000000", "unit_price": "9000000000000"}),
            "lines[0]",
            "amount-overflow",
        ),
    ] {
        let body = json!({"lines": [{"name": "ok", "quantity": "1", "unit_price": "5"}, line]});
        let (s, _, v) = t
            .request(
                "sales_a1",
                reqwest::Method::PUT,
                &format!("/api/v1/deals/{id}/lines"),
                Some(&body),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        let want_field = field.replace("lines[0]", "lines[1]");
        assert!(
            v["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == want_field.as_str() && e["code"] == code),
            "{body}: {v}"
        );
    }
    assert_eq!(
        t.snapshot(&format!("/api/v1/deals/{id}/lines")).await,
        before
    );
    // Someone who may not change the deal cannot change its lines.
    let (s, _, _) = t
        .request(
            "sales_b",
            reqwest::Method::PUT,
            &format!("/api/v1/deals/{id}/lines"),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = t
        .request(
            "head_a",
            reqwest::Method::PUT,
            &format!("/api/v1/deals/{id}/lines"),
            Some(&json!({"vat_included": true, "lines": []})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "a head changes the team's deals");
}
both!(deal_lines_add_up_exactly);

async fn price_lists_price_deal_lines(t: TestApp) {
    let (_, p) = t
        .post("admin", "/api/v1/products", json!({"code": "CT-1", "name": "Cotton", "unit": "m", "price": "40000", "vat_rate": "12"}))
        .await;
    let product = p["id"].as_str().unwrap().to_string();
    let year = chrono::Utc::now().format("%Y").to_string();
    // An expired list and this year's list, in dollars.
    for (name, from, to, price) in [
        ("Export 2020", "2020-01-01", "2020-12-31", "2.50"),
        (
            "Export",
            &*format!("{year}-01-01"),
            &*format!("{year}-12-31"),
            "3.20",
        ),
    ] {
        let (s, v) = t
            .post(
                "head_a",
                "/api/v1/price_lists",
                json!({"name": name, "currency": "USD", "valid_from": from, "valid_to": to,
                "items": [{"product_id": product, "price": price}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // A dollar deal takes the price valid today; a sum deal the catalog's.
    let usd = deal(
        &t,
        "sales_a1",
        json!({"title": "Export", "currency": "USD"}),
    )
    .await;
    let body = json!({"lines": [{"product_id": product, "quantity": "100"}]});
    let (s, _, v) = t
        .request(
            "sales_a1",
            reqwest::Method::PUT,
            &format!("/api/v1/deals/{}/lines", usd["id"].as_str().unwrap()),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (
            v["lines"][0]["unit_price"].as_str(),
            v["totals"]["total"].as_str()
        ),
        (Some("3.20"), Some("358.40")),
        "{v}"
    );
    let uzs = deal(&t, "sales_a1", json!({"title": "Local", "currency": "UZS"})).await;
    let (_, _, v) = t
        .request(
            "sales_a1",
            reqwest::Method::PUT,
            &format!("/api/v1/deals/{}/lines", uzs["id"].as_str().unwrap()),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(v["lines"][0]["unit_price"], "40000.00", "{v}");
    // A euro deal has neither: the price must be given.
    let eur = deal(&t, "sales_a1", json!({"title": "Euro", "currency": "EUR"})).await;
    let (s, _, v) = t
        .request(
            "sales_a1",
            reqwest::Method::PUT,
            &format!("/api/v1/deals/{}/lines", eur["id"].as_str().unwrap()),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["code"], "price-currency");
    // Only those who keep the catalog make price lists; bad ones are refused by name.
    let (s, _) = t
        .post(
            "sales_a1",
            "/api/v1/price_lists",
            json!({"name": "Mine", "currency": "UZS", "items": []}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (body, field) in [
        (
            json!({"name": "X", "currency": "XXX", "items": []}),
            "currency",
        ),
        (
            json!({"name": "X", "currency": "UZS", "valid_from": "2026-05-01", "valid_to": "2026-04-01", "items": []}),
            "valid_to",
        ),
        (
            json!({"name": "X", "currency": "UZS", "items": [{"product_id": product, "price": "-1"}]}),
            "items[0].price",
        ),
        (
            json!({"name": "X", "currency": "UZS", "items": [{"product_id": product, "price": "1"}, {"product_id": product, "price": "2"}]}),
            "items[1].product_id",
        ),
        (
            json!({"name": "X", "currency": "UZS", "items": [{"product_id": product, "price": "1", "vat": "12"}]}),
            "items[0].vat",
        ),
    ] {
        let (s, v) = t.post("admin", "/api/v1/price_lists", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{body}: {v}");
    }
    let (_, v) = t.get("sales_b", "/api/v1/price_lists").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2, "{v}");
}
both!(price_lists_price_deal_lines);

async fn the_funnel_counts_a_hand_made_year(t: TestApp) {
    let (_, p) = t.get("admin", "/api/v1/pipelines").await;
    let st: Vec<String> = p["items"][0]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let mk = |title: &str, amount: &str, currency: &str, close: &str| json!({"title": title, "amount": amount, "currency": currency, "expected_close": close});
    let d1 = deal(&t, "sales_a1", mk("D1", "100", "UZS", "2030-01-15")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let d2 = deal(&t, "sales_a1", mk("D2", "200", "UZS", "2030-01-20")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    deal(&t, "sales_a1", mk("D3", "50", "USD", "2030-02-01")).await;
    let d4 = deal(&t, "sales_a1", mk("D4", "400", "UZS", "2030-03-01")).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let patch = |id: String, body: Value| {
        let t = &t;
        async move {
            let (s, v) = t
                .patch("sales_a1", &format!("/api/v1/deals/{id}"), body)
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    };
    patch(d1.clone(), json!({"stage_id": st[1]})).await;
    patch(d1.clone(), json!({"stage_id": st[2]})).await;
    patch(d2.clone(), json!({"stage_id": st[1]})).await;
    patch(
        d2.clone(),
        json!({"status": "lost", "lost_reason": "No budget"}),
    )
    .await;
    patch(d4.clone(), json!({"status": "won"})).await;
    let (s, f) = t.get("head_a", "/api/v1/deals/funnel").await;
    assert_eq!(s, StatusCode::OK, "{f}");
    let stage = |i: usize| &f["stages"][i];
    // New: all four entered; D1, D2 went on and D4 was won: 3 of 4.
    assert_eq!(stage(0)["entered"], 4, "{f}");
    assert_eq!(
        stage(0)["amounts"],
        json!([{"currency": "USD", "amount": "50.00"}, {"currency": "UZS", "amount": "700.00"}])
    );
    assert_eq!(stage(0)["conversion"], 75.0);
    assert_eq!(stage(0)["avg_days"], 0.0);
    // Qualified: D1 and D2; only D1 went on.
    assert_eq!(
        (
            stage(1)["entered"].as_i64(),
            stage(1)["conversion"].as_f64()
        ),
        (Some(2), Some(50.0)),
        "{f}"
    );
    assert_eq!(
        stage(1)["amounts"],
        json!([{"currency": "UZS", "amount": "300.00"}])
    );
    // Proposal: D1, which is still there.
    assert_eq!(
        (
            stage(2)["entered"].as_i64(),
            stage(2)["conversion"].as_f64()
        ),
        (Some(1), Some(0.0)),
        "{f}"
    );
    assert!(stage(3)["conversion"].is_null() && stage(4)["conversion"].is_null());
    assert_eq!(
        (
            f["won"].as_i64(),
            f["lost"].as_i64(),
            f["win_rate"].as_f64()
        ),
        (Some(1), Some(1), Some(50.0))
    );
    assert_eq!(
        f["lost_reasons"],
        json!([{"reason": "No budget", "count": 1}])
    );
    // Forecast of the open deals: D1 100 × 50 %, D3 50 × 10 %.
    assert_eq!(
        f["forecast"],
        json!([
        {"month": "2030-01", "currency": "UZS", "amount": "50.00"},
        {"month": "2030-02", "currency": "USD", "amount": "5.00"}]),
        "{f}"
    );
    // A colleague sees only their own (none); another team's head sees none of Alpha's.
    let (_, f2) = t.get("sales_a2", "/api/v1/deals/funnel").await;
    assert_eq!(f2["stages"][0]["entered"], 0, "{f2}");
    let (_, f3) = t.get("head_b", "/api/v1/deals/funnel").await;
    assert_eq!(f3["won"], 0);
    // One salesperson's funnel; a period before anything happened; bad parameters.
    let (_, f4) = t
        .get(
            "head_a",
            &format!("/api/v1/deals/funnel?owner={}", t.id("sales_a2")),
        )
        .await;
    assert_eq!(f4["stages"][0]["entered"], 0);
    let (_, f5) = t
        .get(
            "head_a",
            "/api/v1/deals/funnel?from=2020-01-01&to=2020-12-31",
        )
        .await;
    assert_eq!(
        (f5["stages"][0]["entered"].as_i64(), f5["won"].as_i64()),
        (Some(0), Some(0)),
        "{f5}"
    );
    // By team, and by product (the deals with a line of it).
    let (_, users) = t.get("admin", "/api/v1/users").await;
    let team_of = |who: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == t.id(who).as_str())
            .unwrap()["team_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (_, f6) = t
        .get(
            "admin",
            &format!("/api/v1/deals/funnel?team={}", team_of("sales_a1")),
        )
        .await;
    assert_eq!(f6["stages"][0]["entered"], 4, "{f6}");
    let (_, f7) = t
        .get(
            "admin",
            &format!("/api/v1/deals/funnel?team={}", team_of("sales_b")),
        )
        .await;
    assert_eq!(f7["stages"][0]["entered"], 0, "{f7}");
    let (_, prod) = t
        .post(
            "admin",
            "/api/v1/products",
            json!({"code": "F-1", "name": "Funnel product", "price": "10"}),
        )
        .await;
    let body = json!({"lines": [{"product_id": prod["id"], "quantity": "10"}]});
    let (s, _, v) = t
        .request(
            "sales_a1",
            reqwest::Method::PUT,
            &format!("/api/v1/deals/{d1}/lines"),
            Some(&body),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, f8) = t
        .get(
            "head_a",
            &format!(
                "/api/v1/deals/funnel?product={}",
                prod["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(
        (
            f8["stages"][0]["entered"].as_i64(),
            f8["stages"][2]["entered"].as_i64()
        ),
        (Some(1), Some(1)),
        "{f8}"
    );
    // The same funnel as a workbook, read back by an independent reader.
    let resp = t
        .client
        .get(format!("{}/api/v1/deals/funnel.xlsx", t.base))
        .bearer_auth(&t.tokens["head_a"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    let bytes = resp.bytes().await.unwrap().to_vec();
    {
        use calamine::Reader;
        let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).expect("an xlsx");
        let names = book.sheet_names().to_vec();
        assert_eq!(names.len(), 3, "{names:?}");
        let sheet = book.worksheet_range(&names[0]).expect("the funnel sheet");
        let cell = |r: u32, c: u32| {
            sheet
                .get_value((r, c))
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        assert_eq!(cell(0, 0), "Stage");
        assert_eq!(cell(1, 0), "New");
        assert_eq!(cell(1, 1), "4");
        let reasons = book.worksheet_range(&names[1]).expect("reasons");
        assert_eq!(
            reasons.get_value((1, 0)).map(|v| v.to_string()),
            Some("No budget".into())
        );
    }
    let (s, _) = t.get("support", "/api/v1/deals/funnel.xlsx").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t.get("head_a", "/api/v1/deals/funnel?team=nope").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = t.get("head_a", "/api/v1/deals/funnel?from=yesterday").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = t.get("support", "/api/v1/deals/funnel").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
both!(the_funnel_counts_a_hand_made_year);
