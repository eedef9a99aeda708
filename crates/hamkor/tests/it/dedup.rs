//! Duplicate accounts and contacts: detection across scripts and phone formats, the check
//! endpoint and the `duplicates` of a create's answer, the full scan's groups, and
//! merging (everything linked moves to the survivor; undo puts it all back), with the
//! refusals that change nothing.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn q(s: &str) -> String {
    urlencoding::encode(s).into_owned()
}

/// The ids and reasons of a `{"items": [...]}` answer.
fn found(v: &Value) -> Vec<(String, Vec<String>)> {
    v["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|i| {
            let reasons = i["reasons"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| match r["percent"].as_u64() {
                    Some(p) => format!("{}:{p}", r["reason"].as_str().unwrap()),
                    None => r["reason"].as_str().unwrap().to_string(),
                })
                .collect();
            (i["id"].as_str().unwrap().to_string(), reasons)
        })
        .collect()
}

async fn detection_across_scripts_and_formats(t: TestApp) {
    let ivan = t
        .contact(
            "admin",
            "admin",
            json!({"first_name": "Иван", "last_name": "Иванов",
                   "phones": [{"number": "+998 90 123-45-67"}],
                   "emails": [{"address": "ivan.ivanov@gmail.com"}]}),
        )
        .await;
    let ulugbek = t
        .contact(
            "admin",
            "admin",
            json!({"first_name": "Ulug'bek", "last_name": "Yo'ldoshev"}),
        )
        .await;
    let gayrat = t
        .contact(
            "admin",
            "admin",
            json!({"first_name": "Ғайрат", "last_name": "Ўткиров"}),
        )
        .await;
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/accounts",
            json!({"name": "ООО «Тошкент Савдо»", "tax_id": "301234567",
                   "phones": [{"number": "71 200 00 00"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let toshkent = v["id"].as_str().unwrap().to_string();

    // (object, query, the record expected first, its reasons)
    let cases: &[(&str, String, Option<&str>, &[&str])] = &[
        (
            "contacts",
            "first_name=Ivan&last_name=Ivanov".to_string(),
            Some(&ivan),
            &["name_similar:100"],
        ),
        (
            "contacts",
            format!(
                "last_name=Ivanov&first_name=Ivan&phone={}",
                q("8 (90) 1234567")
            ),
            Some(&ivan),
            &["same_phone", "name_similar:100"],
        ),
        (
            "contacts",
            format!("phone={}", q("998901234567")),
            Some(&ivan),
            &["same_phone"],
        ),
        (
            "contacts",
            format!("phone={}", q("(90) 123-45-67")),
            Some(&ivan),
            &["same_phone"],
        ),
        (
            "contacts",
            format!("phones={}", q("+998 90 123 45 67")),
            Some(&ivan),
            &["same_phone"],
        ),
        (
            "contacts",
            format!("email={}", q("Ivan.Ivanov+crm@googlemail.com")),
            Some(&ivan),
            &["same_email"],
        ),
        (
            "contacts",
            format!("email={}", q("IVANIVANOV@GMAIL.COM")),
            Some(&ivan),
            &["same_email"],
        ),
        (
            "contacts",
            "first_name=Ulugbek&last_name=Yuldashev".to_string(),
            Some(&ulugbek),
            &["name_similar:95"],
        ),
        (
            "contacts",
            format!("first_name={}&last_name={}", q("Улуғбек"), q("Йўлдошев")),
            Some(&ulugbek),
            &["name_similar:100"],
        ),
        (
            "contacts",
            format!("first_name={}&last_name={}", q("G‘ayrat"), q("O'tkirov")),
            Some(&gayrat),
            &["name_similar:100"],
        ),
        (
            "contacts",
            "first_name=Malika&last_name=Tursunova".to_string(),
            None,
            &[],
        ),
        (
            "accounts",
            format!("name={}", q("Toshkent Savdo MChJ")),
            Some(&toshkent),
            &["name_similar:100"],
        ),
        (
            "accounts",
            format!("name={}", q("\"Toshkent Savdo\" LLC")),
            Some(&toshkent),
            &["name_similar:100"],
        ),
        (
            "accounts",
            format!("tax_id={}", q("301 234 567")),
            Some(&toshkent),
            &["same_tax_id"],
        ),
        (
            "accounts",
            format!("phone={}", q("+998 71 200-00-00")),
            Some(&toshkent),
            &["same_phone"],
        ),
        ("accounts", "name=Bahor".to_string(), None, &[]),
    ];
    for (plural, query, want, reasons) in cases {
        let (s, v) = t
            .get("admin", &format!("/api/v1/{plural}/duplicates?{query}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{query}: {v}");
        let got = found(&v);
        match want {
            None => assert!(got.is_empty(), "{query}: {v}"),
            Some(id) => {
                assert_eq!(got.first().map(|g| g.0.as_str()), Some(*id), "{query}: {v}");
                assert_eq!(got[0].1, *reasons, "{query}: {v}");
                let score = v["items"][0]["score"].as_u64().unwrap();
                assert!((1..=100).contains(&score), "{v}");
                assert!(
                    v["items"][0]["title"]
                        .as_str()
                        .is_some_and(|t| !t.is_empty())
                );
            }
        }
    }
    // The record being edited is left out.
    let (_, v) = t
        .get(
            "admin",
            &format!("/api/v1/contacts/duplicates?first_name=Ivan&last_name=Ivanov&id={ivan}"),
        )
        .await;
    assert!(found(&v).is_empty(), "{v}");
    // Only records the caller may read: a salesperson does not see the administrator's.
    let (s, v) = t
        .get(
            "sales_a1",
            "/api/v1/contacts/duplicates?first_name=Ivan&last_name=Ivanov",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(found(&v).is_empty(), "{v}");
    // Unknown parameters are refused.
    let (s, v) = t
        .get("admin", "/api/v1/contacts/duplicates?name=Ivan")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // A trashed record is no candidate, and is one again once restored.
    assert_eq!(
        t.delete("admin", &format!("/api/v1/contacts/{ulugbek}"))
            .await,
        StatusCode::NO_CONTENT
    );
    let path = "/api/v1/contacts/duplicates?first_name=Ulugbek&last_name=Yuldashev";
    assert!(found(&t.get("admin", path).await.1).is_empty());
    let (s, _) = t
        .post(
            "admin",
            &format!("/api/v1/contacts/{ulugbek}/restore"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(found(&t.get("admin", path).await.1).len(), 1);
    // An edit changes the keys: the old name no longer meets, the new one does.
    let (s, v) = t
        .patch(
            "admin",
            &format!("/api/v1/contacts/{ulugbek}"),
            json!({"last_name": "Karimov"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(found(&t.get("admin", path).await.1).is_empty());
    let (_, v) = t
        .get(
            "admin",
            "/api/v1/contacts/duplicates?first_name=Ulugbek&last_name=Karimov",
        )
        .await;
    assert_eq!(found(&v)[0].0, ulugbek, "{v}");
}
both!(detection_across_scripts_and_formats);

async fn answers_of_writes_list_duplicates(t: TestApp) {
    let first = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"first_name": "Aziz", "last_name": "Karimov", "phones": [{"number": "90 555 44 33"}]}),
        )
        .await;
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/contacts",
            json!({"first_name": "Азиз", "last_name": "Каримов", "phones": [{"number": "+998905554433"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let second = v["id"].as_str().unwrap().to_string();
    let dups = v["duplicates"].as_array().unwrap();
    assert_eq!(dups.len(), 1, "{v}");
    assert_eq!(dups[0]["id"], first.as_str());
    assert_eq!(
        dups[0]["reasons"],
        json!([{"reason": "same_phone"}, {"reason": "name_similar", "percent": 100}])
    );
    // An update's answer too; a record unlike any has none.
    let (s, v) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/contacts/{second}"),
            json!({"first_name": "Bobur", "last_name": "Tursunov", "phones": []}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["duplicates"], json!([]), "{v}");
    // Other objects carry no such field.
    let (s, v) = t
        .post("sales_a1", "/api/v1/tasks", json!({"title": "Call back"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v.get("duplicates").is_none(), "{v}");
}
both!(answers_of_writes_list_duplicates);

/// A name shared by many: the check lists each record once (a record shares both the
/// name's key and its sound's), at most ten, and the one sharing a phone first.
async fn a_common_name_lists_each_record_once(t: TestApp) {
    for _ in 0..24 {
        t.contact(
            "admin",
            "admin",
            json!({"first_name": "Bobur", "last_name": "Xolmatov"}),
        )
        .await;
    }
    let phone = t
        .contact(
            "admin",
            "admin",
            json!({"first_name": "Bobur", "last_name": "Xolmatov",
                   "phones": [{"number": "+998 93 100-20-30"}]}),
        )
        .await;
    let (s, v) = t
        .get(
            "admin",
            &format!(
                "/api/v1/contacts/duplicates?first_name=Bobur&last_name=Xolmatov&phones={}",
                q("931002030")
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let ids: Vec<String> = found(&v).into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 10, "{v}");
    assert_eq!(ids[0], phone, "{v}");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a record listed twice: {v}");
}
both!(a_common_name_lists_each_record_once);

async fn wait_scan(t: &TestApp, who: &str, object: &str) -> Value {
    for _ in 0..200 {
        let (s, v) = t
            .get(who, &format!("/api/v1/duplicates?object={object}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if v["scan"]["status"] == "done" {
            return v;
        }
        assert_ne!(v["scan"]["status"], "failed", "{v}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the scan did not finish");
}

async fn scan_lists_duplicate_groups(t: TestApp) {
    let c = |body: Value| t.contact("admin", "admin", body);
    let a1 = c(json!({"first_name": "Иван", "last_name": "Петров", "phones": [{"number": "+998 90 111 22 33"}]})).await;
    let a2 = c(json!({"first_name": "Ivan", "last_name": "Petrov"})).await;
    let a3 = c(json!({"first_name": "Sardor", "last_name": "Umarov", "phones": [{"number": "8 (90) 1112233"}]})).await;
    let b1 = c(json!({"first_name": "Malika", "last_name": "Saidova", "emails": [{"address": "m.saidova@gmail.com"}]})).await;
    let b2 = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"first_name": "Малика", "last_name": "Саидова", "emails": [{"address": "msaidova+crm@gmail.com"}]}),
        )
        .await;
    let _alone = c(json!({"first_name": "Otabek", "last_name": "Nazarov"})).await;
    let trashed = c(json!({"first_name": "Otabek", "last_name": "Nazarov", "emails": [{"address": "m.saidova@gmail.com"}]})).await;
    assert_eq!(
        t.delete("admin", &format!("/api/v1/contacts/{trashed}"))
            .await,
        StatusCode::NO_CONTENT
    );

    // Only an administrator starts a scan; nothing is recorded for the refused one.
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/duplicates/scan?object=contacts",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    let (_, v) = t.get("admin", "/api/v1/duplicates?object=contacts").await;
    assert_eq!(v["scan"], Value::Null, "{v}");
    let (s, v) = t
        .post("admin", "/api/v1/duplicates/scan?object=people", json!({}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    let (s, v) = t
        .post(
            "admin",
            "/api/v1/duplicates/scan?object=contacts",
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let v = wait_scan(&t, "admin", "contacts").await;
    let mut groups: Vec<Vec<String>> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let mut ids: Vec<String> = g["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        })
        .collect();
    groups.sort();
    let mut want = vec![
        vec![a1.clone(), a2.clone(), a3.clone()],
        vec![b1.clone(), b2.clone()],
    ];
    for w in &mut want {
        w.sort();
    }
    want.sort();
    assert_eq!(groups, want, "{v}");
    assert_eq!(v["scan"]["groups"], 2, "{v}");
    let b = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["records"].as_array().unwrap().len() == 2)
        .unwrap();
    assert_eq!(
        b["reasons"],
        json!([{"reason": "same_email"}, {"reason": "name_similar", "percent": 100}]),
        "{b}"
    );
    assert!(b["records"][0]["title"].as_str().is_some());
    // The groups survive a restart: another server reads the same.
    let other = hamkor_app::App::new(hamkor_store::Db::connect(&t.db_url).await.unwrap());
    other.refresh_dup_keys().await.unwrap();
    let (_, again) = t.get("admin", "/api/v1/duplicates?object=contacts").await;
    assert_eq!(again["items"], v["items"]);
    // A salesperson sees only groups of which they may read two records: none here.
    let (s, v) = t
        .get("sales_a1", "/api/v1/duplicates?object=contacts")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"], json!([]), "{v}");
}
both!(scan_lists_duplicate_groups);

/// Every record linked to `id`, as the administrator sees it, without what a move changes
/// on its own (version, updated_at).
async fn linked_state(t: &TestApp, paths: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    for p in paths {
        let (_, mut v) = t.get("admin", p).await;
        fn strip(v: &mut Value) {
            if let Some(o) = v.as_object_mut() {
                o.remove("version");
                o.remove("updated_at");
                if let Some(items) = o.get_mut("items").and_then(Value::as_array_mut) {
                    items.iter_mut().for_each(strip);
                }
            }
        }
        strip(&mut v);
        out.push(v);
    }
    out
}

async fn upload(t: &TestApp, path: &str) -> String {
    let part = reqwest::multipart::Part::bytes(b"%PDF-1.7\n%%EOF\n".to_vec())
        .file_name("card.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let resp = t
        .client
        .post(format!("{}{path}", t.base))
        .bearer_auth(&t.tokens["admin"])
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let v: Value = resp.json().await.unwrap();
    v["id"].as_str().unwrap().to_string()
}

async fn created(t: &TestApp, path: &str, body: Value) -> String {
    let (s, v) = t.post("admin", path, body).await;
    assert_eq!(s, StatusCode::CREATED, "{path}: {v}");
    v["id"].as_str().unwrap().to_string()
}

async fn count_rows(t: &TestApp, table: &'static str) -> i64 {
    use hamkor_store::Exec;
    let mut sql = hamkor_store::Sql::new("SELECT COUNT(*) AS n FROM ");
    sql.push(table);
    let mut db = t.app.db.clone();
    db.fetch_optional(&sql)
        .await
        .unwrap()
        .unwrap()
        .req_int("n")
        .unwrap()
}

async fn merging_contacts_moves_everything_and_undo_puts_it_back(t: TestApp) {
    let p1 = t.account("admin", "admin", "Bahor").await;
    let p2 = t.account("admin", "admin", "Orient").await;
    let p3 = t.account("admin", "admin", "Navoiy").await;
    let survivor = t
        .contact(
            "admin",
            "sales_a1",
            json!({"first_name": "Aziz", "last_name": "Karimov", "phones": [{"number": "90 111 11 11"}],
                   "accounts": [{"account_id": p1, "position": "CEO"}, {"account_id": p2}]}),
        )
        .await;
    let merged = t
        .contact(
            "admin",
            "sales_a1",
            json!({"first_name": "Азиз", "last_name": "Каримов", "phones": [{"number": "90 222 22 22"}],
                   "emails": [{"address": "aziz@bahor.uz"}],
                   "accounts": [{"account_id": p1, "position": "Director"}, {"account_id": p3}]}),
        )
        .await;
    let other = t
        .contact(
            "admin",
            "admin",
            json!({"first_name": "Sevara", "last_name": "Umarova"}),
        )
        .await;
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/custom_fields",
            json!({"object": "deal", "key": "referrer", "label": "Referrer", "kind": "link", "link_object": "contact"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Everything that can point at a contact.
    let call = created(
        &t,
        "/api/v1/interactions",
        json!({"kind": "call", "contact_id": merged, "subject": "Price"}),
    )
    .await;
    let meeting = created(&t, "/api/v1/interactions", json!({"kind": "meeting", "contact_id": other, "contact_ids": [merged, survivor], "subject": "Visit"})).await;
    let need = created(
        &t,
        "/api/v1/needs",
        json!({"title": "Cotton", "contact_id": merged}),
    )
    .await;
    let deal = created(
        &t,
        "/api/v1/deals",
        json!({"title": "Cotton deal", "contact_id": merged, "custom": {"referrer": merged}}),
    )
    .await;
    let referred = created(
        &t,
        "/api/v1/deals",
        json!({"title": "Referred", "account_id": p2, "custom": {"referrer": merged}}),
    )
    .await;
    let task = created(
        &t,
        "/api/v1/tasks",
        json!({"title": "Call Aziz", "related": {"type": "contact", "id": merged}}),
    )
    .await;
    let event = created(&t, "/api/v1/events", json!({"title": "Lunch", "starts_at": "2030-01-01T12:00:00+05:00", "ends_at": "2030-01-01T13:00:00+05:00",
        "related": {"type": "contact", "id": merged}, "contact_ids": [merged]})).await;
    let lead = created(
        &t,
        "/api/v1/leads",
        json!({"first_name": "Aziz", "company": "Bahor"}),
    )
    .await;
    let (s, v) = t
        .post(
            "admin",
            &format!("/api/v1/leads/{lead}/convert"),
            json!({"contact": {"id": merged}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let file = upload(&t, &format!("/api/v1/contacts/{merged}/attachments")).await;
    // The survivor's own things stay.
    let own_call = created(
        &t,
        "/api/v1/interactions",
        json!({"kind": "call", "contact_id": survivor}),
    )
    .await;
    // The administrator opened the merged contact.
    let (s, _) = t.get("admin", &format!("/api/v1/contacts/{merged}")).await;
    assert_eq!(s, StatusCode::OK);

    let paths: Vec<String> = [
        format!("/api/v1/contacts/{survivor}"),
        format!("/api/v1/contacts/{other}"),
        format!("/api/v1/interactions/{call}"),
        format!("/api/v1/interactions/{meeting}"),
        format!("/api/v1/interactions/{own_call}"),
        format!("/api/v1/needs/{need}"),
        format!("/api/v1/deals/{deal}"),
        format!("/api/v1/deals/{referred}"),
        format!("/api/v1/tasks/{task}"),
        format!("/api/v1/events/{event}"),
        format!("/api/v1/leads/{lead}"),
        format!("/api/v1/contacts/{merged}/attachments"),
        format!("/api/v1/contacts/{survivor}/attachments"),
        format!("/api/v1/contacts/{merged}/timeline"),
        format!("/api/v1/contacts/{survivor}/timeline"),
    ]
    .into_iter()
    .collect();
    let before = linked_state(&t, &paths).await;
    let merged_before = linked_state(&t, &[format!("/api/v1/contacts/{merged}")]).await;
    let links_before = count_rows(&t, "contact_accounts").await;

    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/contacts/merge",
            json!({"survivor_id": survivor, "merged_ids": [merged],
                   "fields": {"emails": merged, "phones": merged, "first_name": survivor}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let merge_id = v["merge_id"].as_str().unwrap().to_string();
    let rec = &v["record"];
    assert_eq!(rec["emails"][0]["address"], "aziz@bahor.uz", "{v}");
    assert_eq!(rec["phones"][0]["e164"], "+998902222222", "{v}");
    assert_eq!(rec["first_name"], "Aziz");
    // The merged contact is in the trash.
    let (s, _) = t.get("admin", &format!("/api/v1/contacts/{merged}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, v) = t.get("admin", "/api/v1/contacts?trashed=true").await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == merged.as_str()),
        "{v}"
    );
    // Everything moved.
    let get = |p: String| {
        let t = &t;
        async move { t.get("admin", &p).await.1 }
    };
    assert_eq!(
        get(format!("/api/v1/interactions/{call}")).await["contact_id"],
        survivor.as_str()
    );
    let m = get(format!("/api/v1/interactions/{meeting}")).await;
    assert_eq!(m["contact_ids"], json!([survivor]), "no id twice: {m}");
    assert_eq!(
        get(format!("/api/v1/needs/{need}")).await["contact_id"],
        survivor.as_str()
    );
    let d = get(format!("/api/v1/deals/{deal}")).await;
    assert_eq!(d["contact_id"], survivor.as_str());
    assert_eq!(d["custom"]["referrer"], survivor.as_str());
    assert_eq!(
        get(format!("/api/v1/deals/{referred}")).await["custom"]["referrer"],
        survivor.as_str()
    );
    assert_eq!(
        get(format!("/api/v1/tasks/{task}")).await["related"]["id"],
        survivor.as_str()
    );
    let e = get(format!("/api/v1/events/{event}")).await;
    assert_eq!(e["related"]["id"], survivor.as_str());
    assert_eq!(e["contact_ids"], json!([survivor]));
    assert_eq!(
        get(format!("/api/v1/leads/{lead}")).await["contact_id"],
        survivor.as_str()
    );
    let files = get(format!("/api/v1/contacts/{survivor}/attachments")).await;
    assert!(files.to_string().contains(&file), "{files}");
    let tl = get(format!("/api/v1/contacts/{survivor}/timeline")).await;
    assert_eq!(tl["items"].as_array().unwrap().len(), 3, "{tl}");
    // Links to accounts: the survivor's kept (its position too), the merged one's added,
    // none twice.
    let s_rec = get(format!("/api/v1/contacts/{survivor}")).await;
    let mut accounts: Vec<(String, Value)> = s_rec["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["account_id"].as_str().unwrap().to_string(),
                a["position"].clone(),
            )
        })
        .collect();
    accounts.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want = vec![
        (p1.clone(), json!("CEO")),
        (p2.clone(), Value::Null),
        (p3.clone(), Value::Null),
    ];
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(accounts, want, "{s_rec}");
    // The history tells of the merge.
    let (_, h) = t
        .get("admin", &format!("/api/v1/contacts/{survivor}/history"))
        .await;
    assert!(
        h["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "merge"),
        "{h}"
    );
    // It is no candidate any more.
    let (_, v) = t
        .get(
            "admin",
            &format!("/api/v1/contacts/duplicates?first_name=Aziz&last_name=Karimov&id={survivor}"),
        )
        .await;
    assert!(found(&v).is_empty(), "{v}");

    // Undo by someone who may not: refused, nothing changes.
    let after_merge = linked_state(&t, &paths).await;
    for (who, status) in [
        ("sales_b", StatusCode::NOT_FOUND),
        ("viewer", StatusCode::FORBIDDEN),
    ] {
        let (s, v) = t
            .post(who, &format!("/api/v1/merges/{merge_id}/undo"), json!({}))
            .await;
        assert_eq!(s, status, "{who}: {v}");
    }
    assert_eq!(linked_state(&t, &paths).await, after_merge);

    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/merges/{merge_id}/undo"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(linked_state(&t, &paths).await, before, "everything is back");
    assert_eq!(
        linked_state(&t, &[format!("/api/v1/contacts/{merged}")]).await,
        merged_before
    );
    assert_eq!(count_rows(&t, "contact_accounts").await, links_before);
    let (_, h) = t
        .get("admin", &format!("/api/v1/contacts/{survivor}/history"))
        .await;
    assert!(
        h["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "merge_undo"),
        "{h}"
    );
    // Once only.
    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/merges/{merge_id}/undo"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
}
both!(merging_contacts_moves_everything_and_undo_puts_it_back);

async fn merging_accounts_moves_branches_and_links(t: TestApp) {
    let survivor = created(
        &t,
        "/api/v1/accounts",
        json!({"name": "Bahor Savdo", "tax_id": "301234567"}),
    )
    .await;
    let merged = created(
        &t,
        "/api/v1/accounts",
        json!({"name": "ООО Баҳор Савдо", "industry": "Textile"}),
    )
    .await;
    let third = created(
        &t,
        "/api/v1/accounts",
        json!({"name": "Bahor Savdo MChJ", "parent_id": merged}),
    )
    .await;
    let branch = created(
        &t,
        "/api/v1/accounts",
        json!({"name": "Bahor Samarqand", "parent_id": merged}),
    )
    .await;
    let contact = t
        .contact("admin", "admin", json!({"last_name": "Umarov", "accounts": [{"account_id": merged}, {"account_id": survivor}]}))
        .await;
    let call = created(
        &t,
        "/api/v1/interactions",
        json!({"kind": "call", "account_id": merged}),
    )
    .await;
    let deal = created(
        &t,
        "/api/v1/deals",
        json!({"title": "Yarn", "account_id": third}),
    )
    .await;
    let task = created(
        &t,
        "/api/v1/tasks",
        json!({"title": "Visit", "related": {"type": "account", "id": merged}}),
    )
    .await;
    let paths: Vec<String> = vec![
        format!("/api/v1/accounts/{survivor}"),
        format!("/api/v1/accounts/{branch}"),
        format!("/api/v1/contacts/{contact}"),
        format!("/api/v1/interactions/{call}"),
        format!("/api/v1/deals/{deal}"),
        format!("/api/v1/tasks/{task}"),
    ];
    let before = linked_state(&t, &paths).await;
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/accounts/merge",
            json!({"survivor_id": survivor, "merged_ids": [merged, third], "fields": {"industry": merged}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["record"]["industry"], "Textile");
    let merge_id = v["merge_id"].as_str().unwrap().to_string();
    let get = |p: String| {
        let t = &t;
        async move { t.get("admin", &p).await.1 }
    };
    assert_eq!(
        get(format!("/api/v1/accounts/{branch}")).await["parent_id"],
        survivor.as_str()
    );
    assert_eq!(
        get(format!("/api/v1/interactions/{call}")).await["account_id"],
        survivor.as_str()
    );
    assert_eq!(
        get(format!("/api/v1/deals/{deal}")).await["account_id"],
        survivor.as_str()
    );
    assert_eq!(
        get(format!("/api/v1/tasks/{task}")).await["related"]["id"],
        survivor.as_str()
    );
    let c = get(format!("/api/v1/contacts/{contact}")).await;
    assert_eq!(
        c["accounts"].as_array().unwrap().len(),
        1,
        "one link, not two: {c}"
    );
    assert_eq!(c["accounts"][0]["account_id"], survivor.as_str());
    for id in [&merged, &third] {
        let (s, _) = t.get("admin", &format!("/api/v1/accounts/{id}")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, v) = t
        .post(
            "admin",
            &format!("/api/v1/merges/{merge_id}/undo"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(linked_state(&t, &paths).await, before);
    assert_eq!(
        get(format!("/api/v1/accounts/{third}")).await["parent_id"],
        merged.as_str()
    );
}
both!(merging_accounts_moves_branches_and_links);

async fn merge_refusals_change_nothing(t: TestApp) {
    let mine = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"last_name": "Rahimov", "first_name": "Jasur"}),
        )
        .await;
    let mine2 = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"last_name": "Рахимов", "first_name": "Жасур"}),
        )
        .await;
    let colleague = t
        .contact(
            "sales_a2",
            "sales_a2",
            json!({"last_name": "Rahimov", "first_name": "Jasur"}),
        )
        .await;
    let call = t
        .post(
            "sales_a1",
            "/api/v1/interactions",
            json!({"kind": "call", "contact_id": mine2}),
        )
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_string();
    let paths = vec![
        format!("/api/v1/contacts/{mine}"),
        format!("/api/v1/contacts/{mine2}"),
        format!("/api/v1/contacts/{colleague}"),
        format!("/api/v1/interactions/{call}"),
    ];
    let state = || async {
        (
            linked_state(&t, &paths).await,
            t.count("contacts").await,
            t.audit_rows().await,
            count_rows(&t, "merges").await,
        )
    };
    let before = state().await;
    let body = |s: &str, m: &str| json!({"survivor_id": s, "merged_ids": [m], "fields": {}});
    for (who, b, status) in [
        // Cannot see the colleague's contact: it does not exist for them.
        ("sales_a1", body(&mine, &colleague), StatusCode::NOT_FOUND),
        ("sales_a1", body(&colleague, &mine), StatusCode::NOT_FOUND),
        // Sees both but may change neither.
        ("viewer", body(&mine, &mine2), StatusCode::FORBIDDEN),
        // May change their own survivor but not delete the other's (support reads all).
        ("sales_b", body(&mine, &mine2), StatusCode::NOT_FOUND),
        ("marketer", body(&mine, &mine2), StatusCode::FORBIDDEN),
        // Bad requests.
        (
            "sales_a1",
            body(&mine, &mine),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sales_a1",
            json!({"survivor_id": mine, "merged_ids": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sales_a1",
            json!({"survivor_id": mine, "merged_ids": [mine2], "fields": {"phones": colleague}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sales_a1",
            json!({"survivor_id": mine, "merged_ids": [mine2], "fields": {"version": mine2}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        // Only lists are taken from every record.
        (
            "sales_a1",
            json!({"survivor_id": mine, "merged_ids": [mine2], "fields": {"first_name": "all"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "sales_a1",
            json!({"survivor_id": mine, "merged_ids": [mine2], "fields": {"owner_id": "all", "phones": "all"}}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, v) = t.post(who, "/api/v1/contacts/merge", b.clone()).await;
        assert_eq!(s, status, "{who} {b}: {v}");
        assert_eq!(state().await, before, "{who} {b} changed something");
    }
    // Head of the team may merge the team's contacts.
    let (s, v) = t
        .post("head_a", "/api/v1/contacts/merge", body(&mine, &colleague))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
both!(merge_refusals_change_nothing);

/// `"all"` gives the survivor every record's phones, e-mails and messengers, each named
/// once (the survivor's spelling first); the merged numbers find it; undo gives back its
/// own lists.
async fn merging_combines_lists(t: TestApp) {
    let a = t
        .contact(
            "admin",
            "admin",
            json!({"first_name": "Aziz", "last_name": "Karimov",
                   "phones": [{"number": "90 123 45 67", "kind": "mobile"}],
                   "emails": [{"address": "aziz@bahor.uz"}]}),
        )
        .await;
    let b = t
        .contact(
            "admin",
            "admin",
            json!({"first_name": "Азиз", "last_name": "Каримов",
                   "phones": [{"number": "+998 (90) 123-45-67", "kind": "work"},
                              {"number": "71 200 00 00", "kind": "work"}],
                   "emails": [{"address": "Aziz@Bahor.uz"}, {"address": "aziz.k@gmail.com"}],
                   "messengers": [{"kind": "telegram", "handle": "@aziz_k"}]}),
        )
        .await;
    let before = t.snapshot(&format!("/api/v1/contacts/{a}")).await;
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/contacts/merge",
            json!({"survivor_id": a, "merged_ids": [b],
                   "fields": {"phones": "all", "emails": "all", "messengers": "all"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let r = &v["record"];
    let numbers: Vec<(&str, &str)> = r["phones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["number"].as_str().unwrap(), p["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        numbers,
        [("90 123 45 67", "mobile"), ("71 200 00 00", "work")],
        "{v}"
    );
    let emails: Vec<&str> = r["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["address"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["aziz@bahor.uz", "aziz.k@gmail.com"], "{v}");
    assert_eq!(r["messengers"][0]["handle"], "@aziz_k", "{v}");
    // The number that came from the merged record finds the survivor.
    let (_, found) = t
        .get(
            "admin",
            &format!("/api/v1/contacts?q={}", q("71 200-00-00")),
        )
        .await;
    let ids: Vec<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str()], "{found}");
    let (s, v) = t
        .post(
            "admin",
            &format!("/api/v1/merges/{}/undo", v["merge_id"].as_str().unwrap()),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let after = t.snapshot(&format!("/api/v1/contacts/{a}")).await;
    for f in ["phones", "emails", "messengers"] {
        assert_eq!(after[f], before[f], "{f}");
    }
}
both!(merging_combines_lists);

/// Records written before the keys existed get them at the next start.
async fn keys_are_backfilled(t: TestApp) {
    let id = t
        .contact("admin", "admin", json!({"first_name": "Dilnoza", "last_name": "Qodirova", "phones": [{"number": "93 777 66 55"}]}))
        .await;
    use hamkor_store::Exec;
    let mut db = t.app.db.clone();
    db.execute(&hamkor_store::Sql::new("DELETE FROM dup_keys"))
        .await
        .unwrap();
    db.execute(&hamkor_store::Sql::new(
        "DELETE FROM settings WHERE key = 'dup_key_version'",
    ))
    .await
    .unwrap();
    let path = format!("/api/v1/contacts/duplicates?phone={}", q("+998937776655"));
    assert!(found(&t.get("admin", &path).await.1).is_empty());
    assert!(t.app.refresh_dup_keys().await.unwrap() > 0);
    assert_eq!(found(&t.get("admin", &path).await.1)[0].0, id);
    assert_eq!(t.app.refresh_dup_keys().await.unwrap(), 0);
}
both!(keys_are_backfilled);
