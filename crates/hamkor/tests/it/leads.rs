//! Leads: their own rules, who sees them, conversion (with an existing duplicate
//! account, in one transaction), assignment rules (round-robin within a team and by
//! field conditions), and public web forms (the snippet, the honeypot, the rate limit,
//! untrusted input).

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn lead(t: &TestApp, who: &str, body: Value) -> Value {
    let (s, v) = t.post(who, "/api/v1/leads", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

fn codes(v: &Value) -> Vec<(String, String)> {
    v["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["field"].as_str().unwrap_or("").to_string(),
                        e["code"].as_str().unwrap_or("").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn leads_follow_their_rules(t: TestApp) {
    let v = lead(
        &t,
        "sales_a1",
        json!({"first_name": "Dilnoza", "company": "Oqtepa Savdo", "phones": [{"number": "+998 90 111 22 33"}], "source": "website"}),
    )
    .await;
    assert_eq!(v["status"], "new");
    let id = v["id"].as_str().unwrap().to_string();
    // A lead names someone.
    let (s, e) = t
        .post("sales_a1", "/api/v1/leads", json!({"interest": "anything"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        codes(&e).contains(&("last_name".into(), "lead-empty".into())),
        "{e}"
    );
    // Unqualified needs a reason; converted is set by conversion only.
    let before = t.snapshot(&format!("/api/v1/leads/{id}")).await;
    for (body, field, code) in [
        (
            json!({"status": "unqualified"}),
            "status_reason",
            "required",
        ),
        (
            json!({"status": "converted"}),
            "status",
            "lead-convert-instead",
        ),
        (json!({"account_id": id}), "account_id", "read-only"),
    ] {
        let (s, e) = t
            .patch("sales_a1", &format!("/api/v1/leads/{id}"), body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {e}");
        assert!(
            codes(&e).iter().any(|(f, c)| f == field && c == code),
            "{body}: {e}"
        );
    }
    assert_eq!(t.snapshot(&format!("/api/v1/leads/{id}")).await, before);
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/leads/{id}"),
            json!({"status": "unqualified", "status_reason": "No budget this year"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Who sees it: its owner and the owner's head; not another team, not support.
    for (who, status) in [
        ("sales_a1", StatusCode::OK),
        ("head_a", StatusCode::OK),
        ("marketer", StatusCode::OK),
        ("sales_a2", StatusCode::NOT_FOUND),
        ("head_b", StatusCode::NOT_FOUND),
        ("support", StatusCode::FORBIDDEN),
    ] {
        let (s, _) = t.get(who, &format!("/api/v1/leads/{id}")).await;
        assert!(
            s == status || (status == StatusCode::FORBIDDEN && s == StatusCode::NOT_FOUND),
            "{who}: {s}"
        );
    }
    let before = t.snapshot(&format!("/api/v1/leads/{id}")).await;
    let (s, _) = t
        .patch(
            "sales_b",
            &format!("/api/v1/leads/{id}"),
            json!({"status": "contacted"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(t.snapshot(&format!("/api/v1/leads/{id}")).await, before);
    // Search finds a lead by its company and its phone.
    let (_, found) = t.get("sales_a1", "/api/v1/leads?q=oqtepa").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let (_, found) = t.get("sales_a1", "/api/v1/leads?q=901112233").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
}
both!(leads_follow_their_rules);

async fn conversion_links_an_existing_duplicate_account(t: TestApp) {
    // The client is already there as an account with the same phone and a similar name.
    let (s, acc) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "Bahor Textile", "phones": [{"number": "+998712345678"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{acc}");
    let acc_id = acc["id"].as_str().unwrap().to_string();
    let l = lead(
        &t,
        "sales_a1",
        json!({"first_name": "Aziz", "last_name": "Karimov", "company": "Bahor Textile",
               "phones": [{"number": "+998 71 234 56 78"}], "emails": [{"address": "aziz@bahor.uz"}],
               "source": "exhibition", "interest": "Cotton fabric, 5 t a month"}),
    )
    .await;
    let id = l["id"].as_str().unwrap().to_string();
    let (s, d) = t
        .get("sales_a1", &format!("/api/v1/leads/{id}/duplicates"))
        .await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let accounts = d["accounts"].as_array().unwrap();
    assert_eq!(accounts.len(), 1, "{d}");
    assert_eq!(accounts[0]["id"], acc_id.as_str());
    let reasons: Vec<&str> = accounts[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        reasons.contains(&"same-phone") && reasons.contains(&"same-name"),
        "{d}"
    );

    // Creating a second account is refused while the duplicate exists; nothing is made.
    let (accounts_before, contacts_before, deals_before, audit_before) = (
        t.count("accounts").await,
        t.count("contacts").await,
        t.count("deals").await,
        t.audit_rows().await,
    );
    let (s, e) = t
        .post(
            "sales_a1",
            &format!("/api/v1/leads/{id}/convert"),
            json!({"account": "create", "contact": "create", "deal": {"amount": "1000"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(
        codes(&e).contains(&("account".into(), "lead-duplicate".into())),
        "{e}"
    );
    assert!(
        e["detail"].as_str().unwrap().contains("Bahor Textile"),
        "{e}"
    );
    // A deal that cannot be made (bad amount) rolls everything back.
    let (s, e) = t
        .post(
            "sales_a1",
            &format!("/api/v1/leads/{id}/convert"),
            json!({"account": {"id": acc_id}, "contact": "create", "deal": {"amount": "-5"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(t.count("accounts").await, accounts_before);
    assert_eq!(t.count("contacts").await, contacts_before);
    assert_eq!(t.count("deals").await, deals_before);
    assert_eq!(t.audit_rows().await, audit_before);
    // Someone who cannot see the lead cannot convert it.
    let (s, _) = t
        .post(
            "sales_b",
            &format!("/api/v1/leads/{id}/convert"),
            json!({"account": "create"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Linking the existing account: a contact and a deal are made, all keep the source.
    let (s, done) = t
        .post(
            "sales_a1",
            &format!("/api/v1/leads/{id}/convert"),
            json!({"account": {"id": acc_id}, "contact": "create",
                   "deal": {"title": "Cotton 2027", "amount": "250000000", "currency": "UZS"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(done["account_id"], acc_id.as_str());
    assert_eq!(t.count("accounts").await, accounts_before);
    let contact = t
        .snapshot(&format!(
            "/api/v1/contacts/{}",
            done["contact_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(contact["last_name"], "Karimov");
    assert_eq!(contact["source"], "exhibition");
    assert_eq!(
        contact["accounts"][0]["account_id"],
        acc_id.as_str(),
        "{contact}"
    );
    assert_eq!(contact["phones"][0]["e164"], "+998712345678", "{contact}");
    let deal = t
        .snapshot(&format!(
            "/api/v1/deals/{}",
            done["deal_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(deal["title"], "Cotton 2027");
    assert_eq!(deal["source"], "exhibition");
    assert_eq!(deal["lead_id"], id.as_str());
    assert_eq!(deal["account_id"], acc_id.as_str());
    assert_eq!(deal["amount"], "250000000.00");
    assert!(
        deal["description"]
            .as_str()
            .unwrap()
            .contains("Cotton fabric"),
        "{deal}"
    );
    let l = t.snapshot(&format!("/api/v1/leads/{id}")).await;
    assert_eq!(l["status"], "converted");
    assert_eq!(l["deal_id"], done["deal_id"]);
    assert!(l["converted_at"].is_string());
    // Once converted, always converted.
    let (s, e) = t
        .post(
            "sales_a1",
            &format!("/api/v1/leads/{id}/convert"),
            json!({"account": "create", "allow_duplicates": true}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let (s, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/leads/{id}"),
            json!({"status": "new"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // A lead with no duplicate becomes a new account and contact at once.
    let l2 = lead(
        &t,
        "sales_a1",
        json!({"last_name": "Yusupova", "company": "Zarafshon Mebel", "source": "referral"}),
    )
    .await;
    let (s, done) = t
        .post(
            "sales_a1",
            &format!("/api/v1/leads/{}/convert", l2["id"].as_str().unwrap()),
            json!({"account": "create", "contact": "create"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert!(done["deal_id"].is_null());
    let acc = t
        .snapshot(&format!(
            "/api/v1/accounts/{}",
            done["account_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(acc["name"], "Zarafshon Mebel");
    assert_eq!(acc["source"], "referral");
    assert_eq!(acc["owner_id"], t.id("sales_a1").as_str());
}
both!(conversion_links_an_existing_duplicate_account);

async fn rules_assign_leads(t: TestApp) {
    let teams = t.get("admin", "/api/v1/teams").await.1;
    let alpha = teams["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "Alpha")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Only administrators set the rules; bad rules are refused whole.
    let rules = json!([
        {"name": "Exhibitions to Beta's head", "conditions": [{"field": "source", "op": "eq", "value": "exhibition"}], "user_id": t.id("head_b")},
        {"name": "Everything else to Alpha in turn", "conditions": [], "team_id": alpha},
    ]);
    let (s, _, _) = t
        .request(
            "head_a",
            reqwest::Method::PUT,
            "/api/v1/lead_rules",
            Some(&rules),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for bad in [
        json!([{"name": "x", "conditions": [{"field": "password", "op": "eq", "value": "1"}], "user_id": t.id("head_b")}]),
        json!([{"name": "x", "conditions": [], "user_id": t.id("head_b"), "team_id": alpha}]),
        json!([{"name": "", "conditions": []}]),
    ] {
        let (s, _, v) = t
            .request(
                "admin",
                reqwest::Method::PUT,
                "/api/v1/lead_rules",
                Some(&bad),
                &[],
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    let (s, _, v) = t
        .request(
            "admin",
            reqwest::Method::PUT,
            "/api/v1/lead_rules",
            Some(&rules),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);

    // A web form's leads go where the rules say.
    let (s, form) = t
        .post(
            "admin",
            "/api/v1/web_forms",
            json!({"name": "Site", "fields": ["first_name", "company", "phones"], "required": ["phones"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{form}");
    let url = form["url"].as_str().unwrap().to_string();
    let client = reqwest::Client::new();
    let mut owners = Vec::new();
    for i in 0..4 {
        let resp = client
            .post(&url)
            .json(&json!({"first_name": format!("Visitor {i}"), "phones": format!("+99890000000{i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::CREATED);
        let (_, list) = t
            .get("admin", &format!("/api/v1/leads?q=Visitor%20{i}"))
            .await;
        let item = &list["items"][0];
        assert_eq!(item["web_form"], "Site", "{list}");
        assert_eq!(item["source"], "website");
        assert_eq!(item["team_id"], alpha.as_str());
        owners.push(item["owner_id"].as_str().unwrap().to_string());
    }
    // Alpha's members in turn (ordered by name: head_a, sales_a1, sales_a2), then again.
    let expect: Vec<String> = ["head_a", "sales_a1", "sales_a2", "head_a"]
        .iter()
        .map(|p| t.id(p))
        .collect();
    assert_eq!(owners, expect);
    // The first rule takes a lead whose source matches, through the API's assign.
    let l = lead(
        &t,
        "admin",
        json!({"company": "Expo Visitor", "source": "exhibition"}),
    )
    .await;
    let (s, v) = t
        .post(
            "admin",
            &format!("/api/v1/leads/{}/assign", l["id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["owner_id"], t.id("head_b").as_str());
}
both!(rules_assign_leads);

async fn web_forms_take_untrusted_input(t: TestApp) {
    // Only administrators make forms.
    let (s, _) = t
        .post("head_a", "/api/v1/web_forms", json!({"name": "x"}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for bad in [
        json!({"name": "x", "fields": ["password_hash"]}),
        json!({"name": "x", "fields": ["first_name"], "required": ["phones"]}),
        json!({"name": "x", "redirect_url": "javascript:alert(1)"}),
        json!({"name": "x", "owner": "me"}),
    ] {
        let (s, v) = t.post("admin", "/api/v1/web_forms", bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    let (s, form) = t
        .post(
            "admin",
            "/api/v1/web_forms",
            json!({"name": "Contact us <b>now</b>", "fields": ["first_name", "emails", "notes"],
                   "required": ["emails"], "campaign": "Navruz 2027", "owner_id": t.id("sales_a2"),
                   "language": "ru"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{form}");
    let url = form["url"].as_str().unwrap().to_string();
    let snippet = form["snippet"].as_str().unwrap();
    assert!(snippet.contains(&format!("action=\"{url}\"")), "{snippet}");
    assert!(snippet.contains("name=\"hk_website\""), "{snippet}");
    assert!(
        snippet.contains("name=\"emails\"") && snippet.contains("required"),
        "{snippet}"
    );
    // The hosted page escapes the form's name.
    let page = reqwest::get(&url).await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Contact us &#60;b&#62;now") && !html.contains("<b>now"),
        "{html}"
    );

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let leads_before = t.count("leads").await;
    // A robot fills the honeypot: thanked, nothing kept.
    let resp = client
        .post(&url)
        .form(&[
            ("first_name", "Bot"),
            ("emails", "bot@spam.example"),
            ("hk_website", "http://spam"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(t.count("leads").await, leads_before);
    // A missing required field, an overlong name, a bad e-mail: refused, nothing kept.
    for form_data in [
        vec![("first_name", "Ann".to_string())],
        vec![("first_name", "x".repeat(101)), ("emails", "a@b.uz".into())],
        vec![("emails", "not an address".to_string())],
    ] {
        let resp = client.post(&url).form(&form_data).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(resp.text().await.unwrap().contains("hamkor-form"));
    }
    assert_eq!(t.count("leads").await, leads_before);
    // A real visitor with markup in their text: kept as text, shown escaped.
    let resp = client
        .post(&url)
        .form(&[
            ("first_name", "<script>alert(1)</script>"),
            ("emails", "Visitor@Example.UZ"),
            ("notes", "Call me <img src=x onerror=alert(2)>"),
            ("owner_id", t.id("admin").as_str()),
            ("status", "converted"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert!(body.contains("role=\"status\""), "{body}");
    let (_, list) = t.get("admin", "/api/v1/leads?q=Navruz").await;
    let item = &list["items"][0];
    assert_eq!(item["first_name"], "<script>alert(1)</script>");
    // Only the form's fields are read: the owner and status come from the form.
    assert_eq!(item["owner_id"], t.id("sales_a2").as_str(), "{item}");
    assert_eq!(item["status"], "new");
    assert_eq!(item["campaign"], "Navruz 2027");

    // The rate limit: five submissions per address per window, refused ones included
    // (four were made above), then 429 with Retry-After.
    let mut limited = None;
    for i in 0..10 {
        let resp = client
            .post(&url)
            .form(&[("emails", format!("v{i}@example.uz"))])
            .send()
            .await
            .unwrap();
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some((i, resp.headers().get("retry-after").cloned()));
            break;
        }
        assert_eq!(resp.status(), StatusCode::OK);
    }
    let (i, retry) = limited.expect("the rate limit answers 429");
    assert_eq!(i, 1, "five submissions per address per window");
    assert!(retry.is_some());
    let kept = t.count("leads").await;
    assert_eq!(kept, leads_before + 2);
    // A closed form no longer answers; nothing is kept.
    let (s, _) = t
        .patch(
            "admin",
            &format!("/api/v1/web_forms/{}", form["id"].as_str().unwrap()),
            json!({"active": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let resp = client
        .post(&url)
        .form(&[("emails", "late@example.uz")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let resp = client
        .post(format!("{}/f/not-a-token", t.base))
        .form(&[("emails", "x@example.uz")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(t.count("leads").await, kept);
}
both!(web_forms_take_untrusted_input);

async fn import_csv(t: &TestApp, who: &str, csv: &str) -> (StatusCode, Value) {
    let r = t
        .client
        .post(format!("{}/api/v1/leads/import", t.base))
        .bearer_auth(&t.tokens[who])
        .header("content-type", "text/csv")
        .body(csv.as_bytes().to_vec())
        .send()
        .await
        .unwrap();
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn leads_are_imported_whole_or_not_at_all(t: TestApp) {
    let before = t.count("leads").await;
    let audit = t.audit_rows().await;
    // Russian headers, semicolons, a BOM; the third row has a bad e-mail and the fourth
    // an unknown source: nothing is imported, and each problem names its line.
    let bad = "\u{feff}Имя;Фамилия;Компания;Телефон;E-mail;Источник\n\
               Анвар;Каримов;ООО «Бахор»;+998 90 111 22 33;anvar@bahor.uz;exhibition\n\
               Lola;;;;not-an-email;\n\
               ;Qodirov;Sement Savdo;;;television\n";
    let (s, e) = import_csv(&t, "sales_a1", bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let fields: Vec<&str> = e["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.iter().any(|f| f.starts_with("rows[3].emails")),
        "{e}"
    );
    assert!(fields.contains(&"rows[4].source"), "{e}");
    assert_eq!(t.count("leads").await, before);
    assert_eq!(t.audit_rows().await, audit);
    // An unknown column is named; a formula-looking value is kept as plain text.
    let (s, e) = import_csv(&t, "sales_a1", "name,password\nA,b\n").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["detail"].as_str().unwrap().contains("password"), "{e}");
    let good = "first_name,company,phones,interest\n\
                Anvar,Bahor,+998 90 111 22 33,=HYPERLINK(\"http://x\")\n\
                ,Sement Savdo,,\n\n";
    let (s, v) = import_csv(&t, "sales_a1", good).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["created"], 2);
    let (_, list) = t.get("sales_a1", "/api/v1/leads?q=Bahor").await;
    let lead = &list["items"][0];
    assert_eq!(lead["interest"], "=HYPERLINK(\"http://x\")");
    assert_eq!(lead["source"], "other");
    assert_eq!(lead["owner_id"], t.id("sales_a1").as_str());
    assert_eq!(lead["phones"][0]["e164"], "+998901112233");
    // Not UTF-8, and a role without leads: refused.
    let (s, _) = import_csv(&t, "sales_a1", "").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let r = t
        .client
        .post(format!("{}/api/v1/leads/import", t.base))
        .bearer_auth(&t.tokens["sales_a1"])
        .body(vec![0xC8, 0xEC, 0xFF, b'\n', 0xC0])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = import_csv(&t, "support", good).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(t.count("leads").await, before + 2);
}
both!(leads_are_imported_whole_or_not_at_all);

/// Every lead endpoint beyond the records refuses one who may not reach the lead (404) or
/// whose role may not (403), and changes nothing.
async fn lead_endpoints_refuse_outsiders(t: TestApp) {
    let l = lead(
        &t,
        "sales_a1",
        json!({"company": "Guarded Lead", "source": "exhibition"}),
    )
    .await;
    let id = l["id"].as_str().unwrap().to_string();
    let (s, form) = t
        .post(
            "admin",
            "/api/v1/web_forms",
            json!({"name": "Guarded form"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{form}");
    let fid = form["id"].as_str().unwrap().to_string();
    let rules = json!([{"name": "All to head_b", "conditions": [], "user_id": t.id("head_b")}]);
    let (s, _, _) = t
        .request(
            "admin",
            reqwest::Method::PUT,
            "/api/v1/lead_rules",
            Some(&rules),
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let lead_before = t.snapshot(&format!("/api/v1/leads/{id}")).await;
    let form_before = t.snapshot(&format!("/api/v1/web_forms/{fid}")).await;
    let audit = t.audit_rows().await;
    for who in ["sales_b", "head_b", "sales_a2"] {
        let (s, _) = t.get(who, &format!("/api/v1/leads/{id}/duplicates")).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
        let (s, _) = t
            .post(who, &format!("/api/v1/leads/{id}/assign"), json!({}))
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{who}");
    }
    let (s, _) = t.get("support", "/api/v1/lead_rules").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for who in ["head_a", "sales_a1", "marketer"] {
        let (s, _) = t.get(who, &format!("/api/v1/web_forms/{fid}")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
        let (s, _) = t.get(who, "/api/v1/web_forms").await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
        let (s, _) = t
            .patch(
                who,
                &format!("/api/v1/web_forms/{fid}"),
                json!({"active": false}),
            )
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
        let s = t.delete(who, &format!("/api/v1/web_forms/{fid}")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}");
    }
    let (s, _) = t.get("nobody", "/api/v1/teams").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        t.snapshot(&format!("/api/v1/leads/{id}")).await,
        lead_before
    );
    assert_eq!(
        t.snapshot(&format!("/api/v1/web_forms/{fid}")).await,
        form_before
    );
    assert_eq!(t.audit_rows().await, audit);
    assert_eq!(
        t.get("admin", "/api/v1/lead_rules").await.1["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
both!(lead_endpoints_refuse_outsiders);
