//! Quotes, orders and invoices: numbering per kind and year without gaps (also under
//! concurrent creation), made from a deal and from one another with exact lines, frozen
//! once issued, payments and shipments giving each client's balance, the PDF, sending
//! by e-mail (to a real SMTP sink), and who may do what.

use crate::both;
use crate::smtp::SmtpSink;
use crate::support::TestApp;
use mail_parser::MimeHeaders;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

fn codes(v: &Value) -> Vec<String> {
    v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    format!(
                        "{}:{}",
                        e["field"].as_str().unwrap_or(""),
                        e["code"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn deal_with_lines(t: &TestApp, who: &str, account: &str) -> String {
    let (s, d) = t
        .post(
            who,
            "/api/v1/deals",
            json!({"title": "Cables", "account_id": account, "currency": "UZS"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    let id = d["id"].as_str().unwrap().to_string();
    let (s, _, v) = t
        .request(
            who,
            reqwest::Method::PUT,
            &format!("/api/v1/deals/{id}/lines"),
            Some(&json!({"vat_included": false, "lines": [
                {"name": "Cable VVG 3x2.5, m", "quantity": "120", "unit_price": "8500", "vat_rate": "12", "unit": "m"},
                {"name": "Installation", "quantity": "1", "unit_price": "1500000.50", "discount": "10%", "vat_rate": "12"},
            ]})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    id
}

async fn documents_from_deal_to_payment(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Elektr Savdo").await;
    let deal = deal_with_lines(&t, "sales_a1", &acc).await;
    let (s, q) = t
        .post(
            "sales_a1",
            &format!("/api/v1/deals/{deal}/documents"),
            json!({"kind": "quote"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(q["number"], format!("Q-{year}-00001"));
    assert_eq!(q["status"], "draft");
    assert_eq!(q["account_id"], acc.as_str());
    // 120 × 8 500 = 1 020 000, VAT 12 % = 122 400; 1 500 000.50 − 10 % (150 000.05) =
    // 1 350 000.45, VAT 162 000.05 (162 000.054 rounded); net 2 370 000.45, VAT
    // 284 400.05, total 2 654 400.50.
    assert_eq!(q["net_total"], "2370000.45", "{q}");
    assert_eq!(q["vat_total"], "284400.05", "{q}");
    assert_eq!(q["total"], "2654400.50", "{q}");
    let qid = q["id"].as_str().unwrap().to_string();
    let (_, lines) = t
        .get("sales_a1", &format!("/api/v1/documents/{qid}/lines"))
        .await;
    assert_eq!(lines["lines"].as_array().unwrap().len(), 2, "{lines}");
    assert_eq!(lines["totals"]["total"], "2654400.50");

    // Quote → invoice: the same lines and totals, pointing back.
    let (s, inv) = t
        .post(
            "sales_a1",
            &format!("/api/v1/documents/{qid}/documents"),
            json!({"kind": "invoice"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["number"], format!("INV-{year}-00001"));
    assert_eq!(inv["source_id"], qid.as_str());
    assert_eq!(inv["total"], "2654400.50");
    assert!(inv["due_on"].is_string(), "an invoice falls due: {inv}");
    let iid = inv["id"].as_str().unwrap().to_string();
    // An invoice cannot become a quote.
    let (s, e) = t
        .post(
            "sales_a1",
            &format!("/api/v1/documents/{iid}/documents"),
            json!({"kind": "quote"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");

    // A draft takes no payment; bad statuses are refused.
    let (s, e) = t
        .post(
            "sales_a1",
            &format!("/api/v1/documents/{iid}/payments"),
            json!({"amount": "100"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    for (body, code) in [
        (json!({"status": "accepted"}), "status:document-status"),
        (json!({"status": "paid"}), "status:status-by-payments"),
        (json!({"kind": "quote"}), "kind:read-only"),
        (json!({"number": "INV-1"}), "number:read-only"),
        (json!({"total": "1.00"}), "total:read-only"),
    ] {
        let (s, e) = t
            .patch(
                "sales_a1",
                &format!("/api/v1/documents/{iid}"),
                body.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert!(codes(&e).contains(&code.to_string()), "{body}: {e}");
    }
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/documents/{iid}"),
            json!({"status": "issued"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Issued: its contents are frozen.
    let before = t.snapshot(&format!("/api/v1/documents/{iid}")).await;
    let (s, e) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/documents/{iid}"),
            json!({"currency": "USD"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _, e) = t
        .request(
            "sales_a1",
            reqwest::Method::PUT,
            &format!("/api/v1/documents/{iid}/lines"),
            Some(&json!({"lines": [{"name": "x", "quantity": "1", "unit_price": "1"}]})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(
        t.snapshot(&format!("/api/v1/documents/{iid}")).await,
        before
    );

    // Payments: part, then more than is open (refused), then the rest.
    let (s, p) = t
        .post(
            "sales_a1",
            &format!("/api/v1/documents/{iid}/payments"),
            json!({"amount": "1000000", "on_date": "2026-11-20", "method": "bank", "reference": "PP 17"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let doc = t.snapshot(&format!("/api/v1/documents/{iid}")).await;
    assert_eq!(doc["paid"], "1000000.00");
    assert_eq!(doc["status"], "partly_paid");
    for (body, code) in [
        (json!({"amount": "1654400.51"}), "amount:more-than-open"),
        (json!({"amount": "-5"}), "amount:positive"),
        (json!({"amount": "0.001"}), "amount:amount-decimals"),
        (
            json!({"amount": "1", "on_date": "28.11.2026"}),
            "on_date:type-date",
        ),
        (
            json!({"amount": "1", "owner_id": t.id("admin")}),
            "owner_id:unknown-field",
        ),
    ] {
        let (s, e) = t
            .post(
                "sales_a1",
                &format!("/api/v1/documents/{iid}/payments"),
                body.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert!(
            codes(&e)
                .iter()
                .any(|c| c.starts_with(code.split(':').next().unwrap())),
            "{body}: {e}"
        );
    }
    // Someone who cannot see the invoice cannot pay it, nor see its payments.
    let (s, _) = t
        .post(
            "sales_b",
            &format!("/api/v1/documents/{iid}/payments"),
            json!({"amount": "1"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t
        .get("sales_b", &format!("/api/v1/documents/{iid}/payments"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = t.get("support", &format!("/api/v1/documents/{iid}")).await;
    assert!(s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND);
    // A shipment of everything, then the rest of the payment.
    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/documents/{iid}/shipments"),
            json!({"reference": "TTN 5"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["amount"], "2654400.50");
    // The balance before paying the rest: owed 1 654 400.50, nothing overdue yet.
    let (_, b) = t
        .get("sales_a1", &format!("/api/v1/accounts/{acc}/balance"))
        .await;
    assert_eq!(
        b["items"][0],
        json!({"currency": "UZS", "invoiced": "2654400.50", "paid": "1000000.00", "shipped": "2654400.50",
               "owed": "1654400.50", "overdue": "0.00", "settlement": "1654400.50"}),
        "{b}"
    );
    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/documents/{iid}/payments"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["amount"], "1654400.50");
    let doc = t.snapshot(&format!("/api/v1/documents/{iid}")).await;
    assert_eq!(doc["status"], "paid");
    // A paid invoice is not cancelled.
    let (s, e) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/documents/{iid}"),
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (_, pays) = t
        .get("sales_a1", &format!("/api/v1/documents/{iid}/payments"))
        .await;
    assert_eq!(pays["items"].as_array().unwrap().len(), 2);
    assert_eq!(pays["items"][0]["reference"], "PP 17");

    // The PDF: a real PDF with the number, the client and the total.
    let resp = t
        .client
        .get(format!("{}/api/v1/documents/{iid}/pdf", t.base))
        .bearer_auth(&t.tokens["sales_a1"])
        .send()
        .await
        .unwrap();
    let status = resp.status();
    if status != StatusCode::OK {
        panic!("{status}: {}", resp.text().await.unwrap());
    }
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let bytes = resp.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let pdf = lopdf::Document::load_mem(&bytes).expect("a PDF lopdf reads");
    let text = pdf
        .extract_text(&pdf.get_pages().keys().copied().collect::<Vec<_>>())
        .unwrap_or_default();
    assert!(text.contains(&format!("INV-{year}-00001")), "{text}");
    assert!(text.contains("Elektr Savdo"), "{text}");
    assert!(
        text.contains("2 654 400.50") || text.contains("2\u{a0}654\u{a0}400.50"),
        "{text}"
    );
    let resp = t
        .client
        .get(format!("{}/api/v1/documents/{iid}/pdf", t.base))
        .bearer_auth(&t.tokens["sales_b"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
both!(documents_from_deal_to_payment);

async fn numbers_have_no_gaps_under_concurrency(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Parallel").await;
    // A document refused midway (bad field) gives its number back.
    let (s, _) = t
        .post(
            "sales_a1",
            "/api/v1/documents",
            json!({"kind": "order", "account_id": acc, "due_on": "2020-01-01", "issued_on": "2026-05-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let mut set = tokio::task::JoinSet::new();
    let n = 24;
    for i in 0..n {
        let who = ["sales_a1", "head_a", "admin"][i % 3];
        let client = t.client.clone();
        let url = format!("{}/api/v1/documents", t.base);
        let token = t.tokens[who].clone();
        let acc = acc.clone();
        set.spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"kind": "order", "account_id": acc, "issued_on": "2026-05-01"}))
                .send()
                .await
                .unwrap();
            let status = r.status();
            let v: Value = r.json().await.unwrap();
            assert_eq!(status, StatusCode::CREATED, "{v}");
            v["number"].as_str().unwrap().to_string()
        });
    }
    let mut numbers = Vec::new();
    while let Some(r) = set.join_next().await {
        numbers.push(r.unwrap());
    }
    numbers.sort();
    let expected: Vec<String> = (1..=n).map(|i| format!("ORD-2026-{i:05}")).collect();
    assert_eq!(numbers, expected, "consecutive, no gaps, no duplicates");
    // Another year and another kind count on their own.
    let (_, v) = t
        .post(
            "sales_a1",
            "/api/v1/documents",
            json!({"kind": "order", "account_id": acc, "issued_on": "2027-01-02"}),
        )
        .await;
    assert_eq!(v["number"], "ORD-2027-00001");
    let (_, v) = t
        .post(
            "sales_a1",
            "/api/v1/documents",
            json!({"kind": "invoice", "account_id": acc, "issued_on": "2026-05-01"}),
        )
        .await;
    assert_eq!(v["number"], "INV-2026-00001");
}
both!(numbers_have_no_gaps_under_concurrency);

async fn overdue_and_settings(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Late Payer").await;
    let (s, inv) = t
        .post(
            "sales_a1",
            "/api/v1/documents",
            json!({"kind": "invoice", "account_id": acc, "issued_on": "2026-01-10", "due_on": "2026-01-20", "currency": "USD"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    let id = inv["id"].as_str().unwrap().to_string();
    let (s, _, v) = t
        .request(
            "sales_a1",
            reqwest::Method::PUT,
            &format!("/api/v1/documents/{id}/lines"),
            Some(&json!({"lines": [{"name": "Consulting, hour", "quantity": "10", "unit_price": "45.50", "vat_rate": "0"}]})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    t.patch(
        "sales_a1",
        &format!("/api/v1/documents/{id}"),
        json!({"status": "issued"}),
    )
    .await;
    t.post(
        "sales_a1",
        &format!("/api/v1/documents/{id}/payments"),
        json!({"amount": "100"}),
    )
    .await;
    let (_, b) = t
        .get("head_a", &format!("/api/v1/accounts/{acc}/balance"))
        .await;
    assert_eq!(b["items"][0]["currency"], "USD");
    assert_eq!(b["items"][0]["owed"], "355.00", "{b}");
    assert_eq!(b["items"][0]["overdue"], "355.00", "{b}");
    // Another team's head sees no balance of an account they cannot see.
    let (s, _) = t
        .get("head_b", &format!("/api/v1/accounts/{acc}/balance"))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Document settings are the administrator's; bad templates and logos are refused.
    let (s, _, _) = t
        .request(
            "head_a",
            reqwest::Method::PUT,
            "/api/v1/document_settings",
            Some(&json!({"company": "Hijack"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for bad in [
        json!({"header": "Invoice {document.secret}"}),
        json!({"footer": "unbalanced {company.name"}),
        json!({"accent": "red"}),
    ] {
        let (s, _, e) = t
            .request(
                "admin",
                reqwest::Method::PUT,
                "/api/v1/document_settings",
                Some(&bad),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
    }
    let (s, _, v) = t
        .request(
            "admin",
            reqwest::Method::PUT,
            "/api/v1/document_settings",
            Some(&json!({"company": "Hamkor Demo MChJ", "details": "STIR 301234567\nToshkent, Amir Temur 1",
                         "header": "{company.name} · {document.number}", "footer": "Thank you, {client.name}!",
                         "accent": "#0a7d4f"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let resp = t
        .client
        .put(format!("{}/api/v1/document_settings/logo", t.base))
        .bearer_auth(&t.tokens["admin"])
        .body(b"MZ\x90\x00 not an image".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let resp = t
        .client
        .get(format!("{}/api/v1/documents/{id}/pdf", t.base))
        .bearer_auth(&t.tokens["sales_a1"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.bytes().await.unwrap();
    let pdf = lopdf::Document::load_mem(&bytes).unwrap();
    let text = pdf
        .extract_text(&pdf.get_pages().keys().copied().collect::<Vec<_>>())
        .unwrap_or_default();
    assert!(text.contains("Hamkor Demo MChJ"), "{text}");
    assert!(text.contains("Thank you, Late Payer!"), "{text}");
    // Sending needs mail set up; without it the refusal says so and nothing changes.
    let before = t.snapshot(&format!("/api/v1/documents/{id}")).await;
    let (s, e) = t
        .post(
            "sales_a1",
            &format!("/api/v1/documents/{id}/send"),
            json!({"to": "buh@late.uz"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(codes(&e).contains(&"to:mail-off".to_string()), "{e}");
    let (s, e) = t
        .post(
            "sales_a1",
            &format!("/api/v1/documents/{id}/send"),
            json!({"to": "not an address"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(t.snapshot(&format!("/api/v1/documents/{id}")).await, before);
}
both!(overdue_and_settings);

/// `POST /api/v1/documents/{id}/send` as `who`.
async fn send(t: &TestApp, who: &str, doc: &str, body: Value) -> (StatusCode, Value) {
    t.post(who, &format!("/api/v1/documents/{doc}/send"), body)
        .await
}

/// An invoice for a new deal of `account` (with `contact`, if any), as `who`.
async fn invoice(t: &TestApp, who: &str, account: &str, contact: Option<&str>) -> Value {
    let deal = deal_with_lines(t, who, account).await;
    if let Some(c) = contact {
        let (s, v) = t
            .patch(
                who,
                &format!("/api/v1/deals/{deal}"),
                json!({"contact_id": c}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, inv) = t
        .post(
            who,
            &format!("/api/v1/deals/{deal}/documents"),
            json!({"kind": "invoice"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    inv
}

async fn sending_an_invoice_by_mail(t: TestApp, sink: SmtpSink) {
    let acc = t.account("sales_a1", "sales_a1", "Elektr Savdo").await;
    let contact = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"first_name": "Dilnoza", "last_name": "Rashidova", "accounts": [{"account_id": acc}]}),
        )
        .await;
    let inv = invoice(&t, "sales_a1", &acc, Some(&contact)).await;
    let id = inv["id"].as_str().unwrap().to_string();
    let number = inv["number"].as_str().unwrap().to_string();
    let year = chrono::Utc::now().format("%Y").to_string();
    assert_eq!(number, format!("INV-{year}-00001"));
    assert_eq!(inv["contact_id"], contact.as_str(), "{inv}");
    assert_eq!(inv["status"], "draft");
    assert!(inv["sent_at"].is_null(), "{inv}");

    let (s, v) = send(&t, "sales_a1", &id, json!({"to": "buh@client.uz"})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "sent", "{v}");
    assert!(v["sent_at"].is_string(), "{v}");

    // One message, to that address, with the invoice as a PDF.
    let got = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].to.len(), 1);
    assert!(got[0].to[0].contains("buh@client.uz"), "{:?}", got[0].to);
    let parsed = mail_parser::MessageParser::default()
        .parse(got[0].data.as_bytes())
        .expect("a parsable message");
    let to = parsed.to().and_then(|a| a.first()).expect("a To header");
    assert_eq!(to.address(), Some("buh@client.uz"));
    let subject = parsed.subject().expect("a subject").to_string();
    assert!(subject.contains(&number), "{subject}");
    assert_eq!(
        parsed.content_type().map(|c| (c.ctype(), c.subtype())),
        Some(("multipart", Some("mixed")))
    );
    let text = parsed.body_text(0).expect("a text part");
    assert!(text.contains(&number), "{text}");
    assert_eq!(parsed.attachment_count(), 1);
    let pdf = parsed.attachment(0).expect("an attachment");
    assert_eq!(
        pdf.attachment_name(),
        Some(format!("{number}.pdf").as_str())
    );
    assert_eq!(
        pdf.content_type().map(|c| (c.ctype(), c.subtype())),
        Some(("application", Some("pdf")))
    );
    let bytes = pdf.contents();
    assert!(bytes.starts_with(b"%PDF-"));
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF lopdf reads");
    let pdf_text = doc
        .extract_text(&doc.get_pages().keys().copied().collect::<Vec<_>>())
        .unwrap_or_default();
    assert!(pdf_text.contains(&number), "{pdf_text}");

    // The document is sent, and the e-mail is in the client's history.
    let doc = t.snapshot(&format!("/api/v1/documents/{id}")).await;
    assert_eq!(doc["status"], "sent", "{doc}");
    assert!(doc["sent_at"].is_string(), "{doc}");
    let emails = |v: &Value| v["items"].as_array().cloned().unwrap_or_default();
    let (s, v) = t
        .get(
            "sales_a1",
            &format!("/api/v1/accounts/{acc}/timeline?kind=email"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let items = emails(&v);
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["subject"], subject.as_str(), "{v}");
    assert_eq!(items[0]["direction"], "outgoing", "{v}");
    assert_eq!(items[0]["contact_id"], contact.as_str(), "{v}");
    let body = items[0]["body"].as_str().unwrap_or("");
    assert!(
        body.contains(&format!("{number}.pdf")) && body.contains("buh@client.uz"),
        "{body}"
    );
    let (_, v) = t
        .get(
            "sales_a1",
            &format!("/api/v1/contacts/{contact}/timeline?kind=email"),
        )
        .await;
    assert_eq!(emails(&v).len(), 1, "{v}");

    // Refusals send nothing and change nothing.
    let before = t.snapshot(&format!("/api/v1/documents/{id}")).await;
    // Someone who cannot see the invoice does not learn it exists.
    let (s, v) = send(&t, "sales_b", &id, json!({"to": "buh@client.uz"})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    for to in [
        "not an address",
        "",
        "buh@client.uz, spy@example.com",
        "buh@client.uz\r\nBcc: spy@example.com",
    ] {
        let (s, v) = send(&t, "sales_a1", &id, json!({"to": to})).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{to:?}: {v}");
        assert!(codes(&v).contains(&"to:email".to_string()), "{to:?}: {v}");
    }
    let (s, v) = send(&t, "sales_a1", &id, json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // A subject that would start a header of its own is refused before the mail goes,
    // not after it went (the e-mail could not be logged with it).
    let (s, v) = send(
        &t,
        "sales_a1",
        &id,
        json!({"to": "buh@client.uz", "subject": "Invoice\r\nBcc: spy@example.com"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        codes(&v).contains(&"subject:control-chars".to_string()),
        "{v}"
    );
    let (s, v) = send(
        &t,
        "sales_a1",
        &id,
        json!({"to": "buh@client.uz", "text": "Hello\u{1b}[31m"}),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(codes(&v).contains(&"text:control-chars".to_string()), "{v}");
    // A mailbox the server refuses: an error, and nothing logged.
    let (s, v) = send(&t, "sales_a1", &id, json!({"to": "reject@client.uz"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(codes(&v).contains(&"to:mail-failed".to_string()), "{v}");
    assert_eq!(sink.messages().len(), 1, "the refused sends mailed nothing");
    assert_eq!(t.snapshot(&format!("/api/v1/documents/{id}")).await, before);
    let (_, v) = t
        .get(
            "sales_a1",
            &format!("/api/v1/accounts/{acc}/timeline?kind=email"),
        )
        .await;
    assert_eq!(emails(&v).len(), 1, "{v}");

    // A cancelled invoice is not sent.
    let cancelled = invoice(&t, "sales_a1", &acc, None).await;
    let cid = cancelled["id"].as_str().unwrap();
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/documents/{cid}"),
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = send(&t, "sales_a1", cid, json!({"to": "buh@client.uz"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        codes(&v).contains(&"status:document-cancelled".to_string()),
        "{v}"
    );
    let doc = t.snapshot(&format!("/api/v1/documents/{cid}")).await;
    assert_eq!(doc["status"], "cancelled");
    assert!(doc["sent_at"].is_null(), "{doc}");

    // An issued invoice becomes sent too, with the subject and text given.
    let issued = invoice(&t, "sales_a1", &acc, None).await;
    let iid = issued["id"].as_str().unwrap();
    t.patch(
        "sales_a1",
        &format!("/api/v1/documents/{iid}"),
        json!({"status": "issued"}),
    )
    .await;
    let (s, v) = send(
        &t,
        "sales_a1",
        iid,
        json!({"to": " Buh@Client.uz ", "subject": "Hisob-faktura — счёт", "text": "Salom!\nИловада."}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "sent", "{v}");
    let got = sink.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 2, "only the two good sends went: {got:?}");
    let parsed = mail_parser::MessageParser::default()
        .parse(got[1].data.as_bytes())
        .unwrap();
    assert_eq!(parsed.subject(), Some("Hisob-faktura — счёт"));
    assert_eq!(
        parsed
            .body_text(0)
            .map(|t| t.replace("\r\n", "\n").trim_end().to_string()),
        Some("Salom!\nИловада.".to_string())
    );
}
both!(sending_an_invoice_by_mail, mail);

async fn a_document_of_a_trashed_client_is_refused_before_mailing(t: TestApp, sink: SmtpSink) {
    let acc = t.account("sales_a1", "sales_a1", "Closed Down").await;
    let inv = invoice(&t, "sales_a1", &acc, None).await;
    let id = inv["id"].as_str().unwrap();
    let s = t
        .delete("sales_a1", &format!("/api/v1/accounts/{acc}"))
        .await;
    assert!(s.is_success(), "{s}");
    let before = t.snapshot(&format!("/api/v1/documents/{id}")).await;
    let audit = t.audit_rows().await;
    // The e-mail could not be logged on the trashed client: refused before mailing.
    let (s, v) = send(&t, "sales_a1", id, json!({"to": "buh@client.uz"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        codes(&v).contains(&"account_id:unknown-record".to_string()),
        "{v}"
    );
    // The rehearsal of what sending writes left nothing behind.
    assert_eq!(t.audit_rows().await, audit);
    assert_eq!(t.count("interactions").await, 0);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        sink.messages().len(),
        0,
        "a refused send must not have mailed"
    );
    assert_eq!(t.snapshot(&format!("/api/v1/documents/{id}")).await, before);
}
both!(
    a_document_of_a_trashed_client_is_refused_before_mailing,
    mail
);

/// Every documents endpoint refuses one who may not reach the document (404) or whose
/// role has no part in it (403), and changes nothing.
async fn documents_refuse_outsiders(t: TestApp) {
    let acc = t.account("sales_a1", "sales_a1", "Guarded").await;
    let deal = deal_with_lines(&t, "sales_a1", &acc).await;
    let (_, q) = t
        .post(
            "sales_a1",
            &format!("/api/v1/deals/{deal}/documents"),
            json!({"kind": "quote"}),
        )
        .await;
    let qid = q["id"].as_str().unwrap().to_string();
    let (_, inv) = t
        .post(
            "sales_a1",
            &format!("/api/v1/deals/{deal}/documents"),
            json!({"kind": "order"}),
        )
        .await;
    let oid = inv["id"].as_str().unwrap().to_string();
    t.patch(
        "sales_a1",
        &format!("/api/v1/documents/{oid}"),
        json!({"status": "confirmed"}),
    )
    .await;
    let docs = t.count("documents").await;
    let audit = t.audit_rows().await;
    let quote = t.snapshot(&format!("/api/v1/documents/{qid}")).await;
    let lines = t.snapshot(&format!("/api/v1/documents/{qid}/lines")).await;
    let order = t.snapshot(&format!("/api/v1/documents/{oid}")).await;
    let settings = t.snapshot("/api/v1/document_settings").await;
    for who in ["sales_b", "head_b"] {
        for (method, path, body) in [
            (
                "POST",
                format!("/api/v1/deals/{deal}/documents"),
                json!({"kind": "invoice"}),
            ),
            (
                "POST",
                format!("/api/v1/documents/{qid}/documents"),
                json!({"kind": "order"}),
            ),
            (
                "PUT",
                format!("/api/v1/documents/{qid}/lines"),
                json!({"lines": []}),
            ),
            ("GET", format!("/api/v1/documents/{qid}/lines"), Value::Null),
            (
                "POST",
                format!("/api/v1/documents/{oid}/shipments"),
                json!({}),
            ),
            (
                "GET",
                format!("/api/v1/documents/{oid}/shipments"),
                Value::Null,
            ),
            ("GET", format!("/api/v1/documents/{qid}/pdf"), Value::Null),
            (
                "PATCH",
                format!("/api/v1/documents/{qid}"),
                json!({"notes": "x"}),
            ),
        ] {
            let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let body = (!body.is_null()).then_some(&body);
            let (s, _, v) = t.request(who, m, &path, body, &[]).await;
            assert_eq!(s, StatusCode::NOT_FOUND, "{who} {method} {path}: {v}");
        }
    }
    // Roles with no part in documents.
    for who in ["marketer", "support"] {
        let (s, _) = t.get(who, "/api/v1/documents").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
    }
    // The company's document settings are the administrator's.
    let (s, _) = t.get("head_a", "/api/v1/document_settings").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for method in [reqwest::Method::PUT, reqwest::Method::DELETE] {
        let r = t
            .client
            .request(
                method.clone(),
                format!("{}/api/v1/document_settings/logo", t.base),
            )
            .bearer_auth(&t.tokens["head_a"])
            .body(b"\x89PNG\r\n\x1a\n".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{method}");
    }
    // An unknown placeholder is named in the refusal.
    let (s, _, e) = t
        .request(
            "admin",
            reqwest::Method::PUT,
            "/api/v1/document_settings",
            Some(&json!({"header": "{document.secret}"})),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        codes(&e).contains(&"header:template-placeholder".to_string()),
        "{e}"
    );
    assert!(
        e["detail"].as_str().unwrap().contains("document.secret"),
        "{e}"
    );
    assert_eq!(t.count("documents").await, docs);
    assert_eq!(t.audit_rows().await, audit);
    assert_eq!(t.snapshot(&format!("/api/v1/documents/{qid}")).await, quote);
    assert_eq!(
        t.snapshot(&format!("/api/v1/documents/{qid}/lines")).await,
        lines
    );
    assert_eq!(t.snapshot(&format!("/api/v1/documents/{oid}")).await, order);
    assert_eq!(t.snapshot("/api/v1/document_settings").await, settings);
}
both!(documents_refuse_outsiders);
