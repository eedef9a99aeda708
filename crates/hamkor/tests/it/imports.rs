//! The import wizard over the API: an Outlook CSV checked (new, duplicate, error), run,
//! its rejected rows downloaded, undone; updates by id restored by undo; a vCard and a
//! Windows-1251 CSV; the refusals (a role that cannot create, someone else's import,
//! a file that is not what its name says), each leaving the database as it was.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn upload(
    t: &TestApp,
    who: &str,
    object: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = t
        .client
        .post(format!(
            "{}/api/v1/imports?object={object}&file_name={}",
            t.base,
            urlencoding::encode(name)
        ))
        .body(bytes);
    if let Some(token) = t.tokens.get(who) {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("upload");
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Waits for the job to leave `checking` / `running` / `undoing`.
async fn settle(t: &TestApp, who: &str, id: &str) -> Value {
    for _ in 0..400 {
        let (s, v) = t.get(who, &format!("/api/v1/imports/{id}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if !matches!(
            v["status"].as_str(),
            Some("checking" | "running" | "undoing")
        ) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the import {id} did not finish");
}

/// Runs an import with these choices and waits for it to finish.
async fn run(t: &TestApp, who: &str, id: &str, settings: Value) -> Value {
    let (s, v) = t
        .post(who, &format!("/api/v1/imports/{id}/run"), settings)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    settle(t, who, id).await
}

const OUTLOOK: &str = "\u{feff}First Name,Middle Name,Last Name,Company,Job Title,Business Phone,Mobile Phone,E-mail Address,Birthday\r\n\
Aziz,,Karimov,Orient Trade,Director,+998 71 200-00-01,+998 90 123 45 67,aziz@orient.uz,12.03.1985\r\n\
Иван,Петрович,Иванов,ООО Север,,,8 (916) 123-45-67,ivan@sever.ru,\r\n\
Malika,,Tursunova,Orient Trade,Accountant,,90 555 44 33,malika@orient.uz,1990-07-01\r\n\
Bad,,Row,,,,not a phone,not-an-email,31.02.1990\r\n\
Aziz,,Karimov 2,,,,+998 90 123-45-67,,\r\n\
Dilshod,,Yo'ldoshev,,,,,dilshod@example.uz,\r\n";

async fn outlook_csv_checked_run_reported_and_undone(t: TestApp) {
    // One contact already there with Dilshod's e-mail.
    t.contact("admin", "sales_a1", json!({"first_name": "Dilshod", "last_name": "Y", "phones": [{"number": "+998 93 000 00 00"}]})).await;
    let existing = t.contact("admin", "sales_a1", json!({"first_name": "Old", "last_name": "Karim", "phones": [{"number": "+998 71 200 00 01"}]})).await;
    let contacts = t.count("contacts").await;
    let accounts = t.count("accounts").await;
    let (s, v) = upload(
        &t,
        "sales_a1",
        "contacts",
        "outlook.csv",
        OUTLOOK.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["format"], "csv");
    assert_eq!(v["encoding"], "UTF-8");
    assert_eq!(v["status"], "uploaded");
    let id = v["id"].as_str().unwrap().to_string();
    let (s, p) = t
        .get("sales_a1", &format!("/api/v1/imports/{id}/preview"))
        .await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!(p["origin"], "outlook");
    assert_eq!(
        p["suggested"],
        json!([
            "first_name",
            "middle_name",
            "last_name",
            "account",
            "position",
            "phones",
            "phones",
            "emails",
            "birthday"
        ])
    );
    assert_eq!(p["rows"][1][2], "Иванов");
    let settings = json!({"columns": p["suggested"], "on_duplicate": "skip"});
    // The check writes nothing and tells each row's class.
    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/imports/{id}/check"),
            settings.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let v = settle(&t, "sales_a1", &id).await;
    assert_eq!(v["status"], "checked", "{v}");
    assert_eq!(v["total_rows"], 6);
    // Aziz's work phone is Old Karim's; Karimov 2 repeats Aziz's mobile (an earlier row).
    assert_eq!(
        v["counts"],
        json!({"new": 3, "duplicate": 2, "error": 1}),
        "{v}"
    );
    let dups = v["examples"]["duplicate"].as_array().unwrap();
    assert!(
        dups.iter()
            .any(|d| d["id"] == json!(existing) && d["reason"] == "same_phone"),
        "{dups:?}"
    );
    assert!(dups.iter().any(|d| d["of_row"] == json!(2)), "{dups:?}");
    let err = &v["examples"]["error"][0];
    assert_eq!(err["row"], 5);
    let columns: Vec<&str> = err["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["column"].as_str())
        .collect();
    assert!(
        columns.contains(&"Mobile Phone")
            && columns.contains(&"E-mail Address")
            && columns.contains(&"Birthday"),
        "{err}"
    );
    assert_eq!(t.count("contacts").await, contacts);
    // The run: three new contacts (and their two new accounts), the duplicates skipped.
    let v = run(&t, "sales_a1", &id, settings).await;
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(
        (
            v["created"].as_i64(),
            v["skipped"].as_i64(),
            v["rejected"].as_i64()
        ),
        (Some(5), Some(2), Some(1)),
        "{v}"
    );
    assert_eq!(t.count("contacts").await, contacts + 3);
    assert_eq!(t.count("accounts").await, accounts + 2);
    let (_, found) = t.get("sales_a1", "/api/v1/contacts?q=Tursunova").await;
    let malika = &found["items"][0];
    assert_eq!(malika["phones"][0]["e164"], "+998905554433");
    assert_eq!(malika["phones"][0]["kind"], "mobile");
    assert_eq!(malika["owner_id"], json!(t.id("sales_a1")));
    assert_eq!(malika["accounts"][0]["name"], "Orient Trade");
    assert_eq!(malika["accounts"][0]["position"], "Accountant");
    assert_eq!(malika["birthday"], "1990-07-01");
    // Her search text, number index entries and duplicate keys, worked out on the reading
    // thread, were written with her: she is found by a piece of her number, and a contact
    // with her e-mail is known as her duplicate.
    let (_, found) = t.get("sales_a1", "/api/v1/contacts?q=5554433").await;
    assert_eq!(found["items"][0]["id"], malika["id"], "{found}");
    let mut db = t.app.db.clone();
    let keys = hamkor_store::Exec::fetch_all(
        &mut db,
        &hamkor_store::Sql::new("SELECT key FROM dup_keys WHERE record_id = $1 ORDER BY key").arg(
            malika["id"]
                .as_str()
                .unwrap()
                .parse::<hamkor_domain::Id>()
                .unwrap(),
        ),
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.req_text("key").unwrap())
    .collect::<Vec<_>>();
    assert!(
        keys.contains(&"e:malika@orient.uz".to_string())
            && keys.contains(&"p:998905554433".to_string()),
        "{keys:?}"
    );
    // Aziz was Old Karim (the same work phone): skipped, not made twice.
    let (_, found) = t.get("sales_a1", "/api/v1/contacts?q=Aziz").await;
    assert_eq!(found["items"].as_array().unwrap().len(), 0, "{found}");
    let (_, found) = t.get("sales_a1", "/api/v1/contacts?q=Иванов").await;
    assert_eq!(found["items"][0]["middle_name"], "Петрович", "{found}");
    let (_, orient) = t.get("sales_a1", "/api/v1/accounts?q=Orient").await;
    assert_eq!(orient["items"].as_array().unwrap().len(), 1);
    // The rejected rows, as they were, with the reasons, to fix and import again.
    let resp = t
        .client
        .get(format!("{}/api/v1/imports/{id}/rejected.csv", t.base))
        .bearer_auth(&t.tokens["sales_a1"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    let mut lines = text.trim_start_matches('\u{feff}').lines();
    assert_eq!(
        lines.next().unwrap(),
        "First Name,Middle Name,Last Name,Company,Job Title,Business Phone,Mobile Phone,E-mail Address,Birthday,row,errors"
    );
    let bad = lines.next().unwrap();
    assert!(
        bad.starts_with("Bad,,Row,,,,not a phone,not-an-email,31.02.1990,5,"),
        "{bad}"
    );
    assert!(
        bad.contains("Mobile Phone: ") && bad.contains("E-mail Address: "),
        "{bad}"
    );
    assert!(lines.next().is_none());
    // Undo: what it created goes to the trash; the audit log says so.
    let audit = t.audit_rows().await;
    let (s, v) = t
        .post("sales_a1", &format!("/api/v1/imports/{id}/undo"), json!({}))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let v = settle(&t, "sales_a1", &id).await;
    assert_eq!(v["status"], "undone", "{v}");
    assert_eq!(t.count("contacts").await, contacts);
    assert_eq!(t.count("accounts").await, accounts);
    assert!(t.audit_rows().await > audit);
    let (_, trash) = t
        .get("admin", "/api/v1/contacts?trashed=true&q=Tursunova")
        .await;
    assert_eq!(trash["items"].as_array().unwrap().len(), 1, "{trash}");
    // A second undo has nothing to do.
    let (s, _) = t
        .post("sales_a1", &format!("/api/v1/imports/{id}/undo"), json!({}))
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
}
both!(outlook_csv_checked_run_reported_and_undone);

async fn updates_by_id_and_duplicates_updated_are_restored_by_undo(t: TestApp) {
    let a = t.contact("admin", "sales_a1", json!({"first_name": "Ali", "last_name": "Valiyev", "emails": [{"address": "ali@example.uz"}], "phones": [{"number": "+998 90 000 00 01"}]})).await;
    let b = t.contact("admin", "sales_a1", json!({"first_name": "Vali", "last_name": "Aliyev", "phones": [{"number": "+998 90 000 00 02"}]})).await;
    let csv = format!(
        "id;Фамилия;Имя;Телефон\n{a};Valiev;Ali;+998 90 000 00 01\n;Aliyev-Updated;Vali;+998 90 000 00 02\n"
    );
    let (s, v) = upload(&t, "sales_a1", "contacts", "update.csv", csv.into_bytes()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["delimiter"], ";");
    let id = v["id"].as_str().unwrap().to_string();
    let settings =
        json!({"columns": ["id", "last_name", "first_name", "phones"], "on_duplicate": "update"});
    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/imports/{id}/check"),
            settings.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let v = settle(&t, "sales_a1", &id).await;
    assert_eq!(v["counts"], json!({"update": 1, "duplicate": 1}), "{v}");
    let change = &v["examples"]["update"][0]["changes"];
    assert_eq!(change["last_name"], json!(["Valiyev", "Valiev"]), "{v}");
    t.post("sales_a1", &format!("/api/v1/imports/{id}/run"), settings)
        .await;
    let v = settle(&t, "sales_a1", &id).await;
    assert_eq!(
        (v["updated"].as_i64(), v["created"].as_i64()),
        (Some(2), Some(0)),
        "{v}"
    );
    let (_, ra) = t.get("sales_a1", &format!("/api/v1/contacts/{a}")).await;
    assert_eq!(ra["last_name"], "Valiev");
    assert_eq!(
        ra["emails"][0]["address"], "ali@example.uz",
        "fields not in the file stay"
    );
    let (_, rb) = t.get("sales_a1", &format!("/api/v1/contacts/{b}")).await;
    assert_eq!(rb["last_name"], "Aliyev-Updated");
    t.post("sales_a1", &format!("/api/v1/imports/{id}/undo"), json!({}))
        .await;
    let v = settle(&t, "sales_a1", &id).await;
    assert_eq!(v["status"], "undone");
    let (_, ra) = t.get("sales_a1", &format!("/api/v1/contacts/{a}")).await;
    assert_eq!(ra["last_name"], "Valiyev");
    let (_, rb) = t.get("sales_a1", &format!("/api/v1/contacts/{b}")).await;
    assert_eq!(rb["last_name"], "Aliyev");
    // The history shows the import's change and its undoing.
    let (_, h) = t
        .get("sales_a1", &format!("/api/v1/contacts/{a}/history"))
        .await;
    assert!(h["items"].as_array().unwrap().len() >= 3, "{h}");
}
both!(updates_by_id_and_duplicates_updated_are_restored_by_undo);

async fn vcards_and_windows_1251(t: TestApp) {
    let vcf = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Karimova;Aziza;;;\r\nFN:Aziza Karimova\r\nTEL;TYPE=CELL:+998 90 111 22 33\r\nEMAIL;TYPE=WORK:aziza@example.uz\r\nORG:Hamkor\r\nTITLE:Head of sales\r\nBDAY:1988-11-02\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Олег Ким\r\nN:Ким;Олег;;;\r\nTEL;VALUE=uri;TYPE=\"cell,voice\":tel:+998-93-000-00-00\r\nEND:VCARD\r\n";
    let (s, v) = upload(
        &t,
        "admin",
        "contacts",
        "phone.vcf",
        vcf.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["format"], "vcf");
    let id = v["id"].as_str().unwrap().to_string();
    let (_, p) = t
        .get("admin", &format!("/api/v1/imports/{id}/preview"))
        .await;
    t.post(
        "admin",
        &format!("/api/v1/imports/{id}/run"),
        json!({"columns": p["suggested"]}),
    )
    .await;
    let v = settle(&t, "admin", &id).await;
    assert_eq!(
        (v["status"].as_str(), v["rejected"].as_i64()),
        (Some("done"), Some(0)),
        "{v} {p}"
    );
    let (_, found) = t.get("admin", "/api/v1/contacts?q=Ким").await;
    assert_eq!(
        found["items"][0]["phones"][0]["e164"], "+998930000000",
        "{found}"
    );
    let (_, found) = t.get("admin", "/api/v1/contacts?q=Karimova").await;
    assert_eq!(
        found["items"][0]["accounts"][0]["position"], "Head of sales",
        "{found}"
    );
    // An accounts file from Excel in Windows-1251 with semicolons.
    let text = "Наименование;ИНН;Телефон;Отрасль\r\nООО «Ромашка»;123456789;+7 495 123 45 67;Торговля\r\nЎзбек Савдо;987654321;71 200 00 02;Savdo\r\n";
    let (bytes, _, _) = encoding_rs::WINDOWS_1251.encode(text);
    let (s, v) = upload(&t, "admin", "accounts", "база.csv", bytes.into_owned()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["encoding"], "windows-1251");
    let id = v["id"].as_str().unwrap().to_string();
    let (_, p) = t
        .get("admin", &format!("/api/v1/imports/{id}/preview"))
        .await;
    assert_eq!(
        p["suggested"],
        json!(["name", "tax_id", "phones", "industry"])
    );
    t.post(
        "admin",
        &format!("/api/v1/imports/{id}/run"),
        json!({"columns": p["suggested"]}),
    )
    .await;
    let v = settle(&t, "admin", &id).await;
    assert_eq!(v["created"], 2, "{v}");
    let (_, found) = t.get("admin", "/api/v1/accounts?q=Ромашка").await;
    assert_eq!(found["items"][0]["tax_id"], "123456789", "{found}");
}
both!(vcards_and_windows_1251);

async fn imports_refuse_outsiders_and_bad_files(t: TestApp) {
    let contacts = t.count("contacts").await;
    // A read-only role cannot import; nothing is stored.
    let (s, _) = upload(
        &t,
        "viewer",
        "contacts",
        "a.csv",
        b"First Name\nA\n".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = upload(
        &t,
        "nobody",
        "contacts",
        "a.csv",
        b"First Name\nA\n".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (_, list) = t.get("admin", "/api/v1/imports").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);
    // Saved mappings are for those who may import: a viewer reads none and saves none.
    let (s, _) = t
        .get("viewer", "/api/v1/import_mappings?object=contacts")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = t
        .post(
            "viewer",
            "/api/v1/import_mappings",
            json!({"object": "contacts", "name": "Mine", "headers": ["A"], "columns": ["last_name"]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = t
        .get("admin", "/api/v1/import_mappings?object=contacts")
        .await;
    assert_eq!(v["items"], json!([]), "nothing was saved");
    // A file that is not what its name says, an executable, an unknown object.
    let (s, v) = upload(
        &t,
        "sales_a1",
        "contacts",
        "clients.xlsx",
        b"First Name\nA\n".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("import-mismatch"), "{v}");
    let (s, v) = upload(
        &t,
        "sales_a1",
        "contacts",
        "clients.csv",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = upload(
        &t,
        "sales_a1",
        "users",
        "a.csv",
        b"First Name\nA\n".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // Someone else's import does not exist for a colleague; the owner's stays as it was.
    let (_, v) = upload(
        &t,
        "sales_a1",
        "contacts",
        "a.csv",
        b"First Name;Last Name\nA;B\n".to_vec(),
    )
    .await;
    let id = v["id"].as_str().unwrap().to_string();
    for (method, path) in [
        ("GET", format!("/api/v1/imports/{id}")),
        ("GET", format!("/api/v1/imports/{id}/preview")),
        ("POST", format!("/api/v1/imports/{id}/run")),
        ("POST", format!("/api/v1/imports/{id}/check")),
        ("POST", format!("/api/v1/imports/{id}/cancel")),
        ("POST", format!("/api/v1/imports/{id}/undo")),
        ("GET", format!("/api/v1/imports/{id}/rejected.csv")),
    ] {
        let body = json!({"columns": ["first_name", "last_name"]});
        let (s, _, _) = t
            .request("sales_b", method.parse().unwrap(), &path, Some(&body), &[])
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {path}");
    }
    let (_, v) = t.get("sales_a1", &format!("/api/v1/imports/{id}")).await;
    assert_eq!(v["status"], "uploaded");
    // Bad choices are named: an unknown field, a field twice.
    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/imports/{id}/run"),
            json!({"columns": ["password", "last_name"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = t
        .post(
            "sales_a1",
            &format!("/api/v1/imports/{id}/run"),
            json!({"columns": ["last_name", "last_name"]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // All or nothing: one bad row, nothing written.
    let (_, v) = upload(
        &t,
        "sales_a1",
        "contacts",
        "b.csv",
        b"First Name,Mobile Phone\nGood,+998 90 100 00 01\nBad,not a phone\n".to_vec(),
    )
    .await;
    let id2 = v["id"].as_str().unwrap().to_string();
    t.post(
        "sales_a1",
        &format!("/api/v1/imports/{id2}/run"),
        json!({"columns": ["first_name", "phones"], "skip_bad_rows": false}),
    )
    .await;
    let v = settle(&t, "sales_a1", &id2).await;
    assert_eq!(v["status"], "failed", "{v}");
    assert_eq!(t.count("contacts").await, contacts);
    // An owner column naming someone outside the importer's reach: that row is refused.
    let csv = format!(
        "Last Name,Owner\nMine,{}\nTheirs,sales_b@test.hamkor.uz\n",
        "sales_a1@test.hamkor.uz"
    );
    let (_, v) = upload(&t, "sales_a1", "contacts", "c.csv", csv.into_bytes()).await;
    let id3 = v["id"].as_str().unwrap().to_string();
    t.post(
        "sales_a1",
        &format!("/api/v1/imports/{id3}/run"),
        json!({"columns": ["last_name", "owner"]}),
    )
    .await;
    let v = settle(&t, "sales_a1", &id3).await;
    assert_eq!(
        (v["created"].as_i64(), v["rejected"].as_i64()),
        (Some(1), Some(1)),
        "{v}"
    );
    assert_eq!(t.count("contacts").await, contacts + 1);
}
both!(imports_refuse_outsiders_and_bad_files);

async fn a_stopped_run_goes_on_and_never_writes_a_row_twice(t: TestApp) {
    let contacts = t.count("contacts").await;
    let csv = "Last Name\nBirinchi\nIkkinchi\nUchinchi\n";
    let (_, v) = upload(&t, "sales_a1", "contacts", "s.csv", csv.as_bytes().to_vec()).await;
    let id = v["id"].as_str().unwrap().to_string();
    let settings = json!({"columns": ["last_name"]});
    t.post(
        "sales_a1",
        &format!("/api/v1/imports/{id}/run"),
        settings.clone(),
    )
    .await;
    let v = settle(&t, "sales_a1", &id).await;
    assert_eq!(v["created"], 3, "{v}");
    // As if the run had stopped after its last batch but before finishing.
    let mut db = t.app.db.clone();
    hamkor_store::Exec::execute(
        &mut db,
        &hamkor_store::Sql::new("UPDATE imports SET status = 'failed' WHERE id = $1")
            .arg(id.parse::<hamkor_domain::Id>().unwrap()),
    )
    .await
    .unwrap();
    // A check, or other choices, would start over: refused.
    let (s, _) = t
        .post(
            "sales_a1",
            &format!("/api/v1/imports/{id}/check"),
            settings.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = t
        .post(
            "sales_a1",
            &format!("/api/v1/imports/{id}/run"),
            json!({"columns": ["first_name"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // The same choices go on from where it stopped: nothing is written twice.
    let v = run(&t, "sales_a1", &id, settings).await;
    assert_eq!(
        (v["status"].as_str(), v["created"].as_i64()),
        (Some("done"), Some(3)),
        "{v}"
    );
    assert_eq!(t.count("contacts").await, contacts + 3);
}
both!(a_stopped_run_goes_on_and_never_writes_a_row_twice);

/// Leads have no duplicate index: a row is like an existing lead by a phone found in the
/// number index, whatever the number's spelling.
async fn lead_rows_like_existing_leads_by_phone(t: TestApp) {
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/leads",
            json!({"first_name": "Olim", "last_name": "Sobirov", "phones": [{"number": "+998 90 777 66 55"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let lead = v["id"].as_str().unwrap().to_string();
    let csv = "First Name,Last Name,Mobile Phone\nOlim,Sobirov,90 777-66-55\nNodira,Qodirova,+998 91 222 33 44\n";
    let (s, v) = upload(&t, "sales_a1", "leads", "leads.csv", csv.into()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let settings =
        json!({"columns": ["first_name", "last_name", "phones"], "on_duplicate": "skip"});
    let (s, v) = t
        .post("sales_a1", &format!("/api/v1/imports/{id}/check"), settings)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let v = settle(&t, "sales_a1", &id).await;
    assert_eq!(v["counts"], json!({"new": 1, "duplicate": 1}), "{v}");
    let dup = &v["examples"]["duplicate"][0];
    assert_eq!(dup["id"], lead.as_str(), "{v}");
    assert_eq!(dup["reason"], "same_phone", "{v}");
}
both!(lead_rows_like_existing_leads_by_phone);

/// A price list imported into the catalog: rows are like existing products by their code,
/// whatever its case and script (Cyrillic codes too); a code already taken is refused by
/// row, never by the batch; a bad code is an error naming its cell; undo puts the prices
/// back.
async fn products_are_matched_by_their_code(t: TestApp) {
    let mut ids = Vec::new();
    for (code, price) in [("АРТ-001", "50000"), ("TX-100", "42000")] {
        let (s, v) = t
            .post(
                "head_a",
                "/api/v1/products",
                json!({"code": code, "name": code, "unit": "m", "price": price}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let before = t.count("products").await;
    let csv = "Артикул;Наименование;Цена;Ед.\n\
        арт-001;Ткань, 150 см;55000;м\n\
        tx-100;Cotton fabric;43000;m\n\
        NEW-1;Buttons;1000;pcs\n\
        BAD CODE;Thread;1;pcs\n\
        new-1;Buttons again;2;pcs\n";
    let (s, v) = upload(&t, "head_a", "products", "prices.csv", csv.into()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let (_, p) = t
        .get("head_a", &format!("/api/v1/imports/{id}/preview"))
        .await;
    assert_eq!(
        p["suggested"],
        json!(["code", "name", "price", "unit"]),
        "{p}"
    );
    let settings = json!({"columns": p["suggested"], "on_duplicate": "update"});
    let (s, v) = t
        .post(
            "head_a",
            &format!("/api/v1/imports/{id}/check"),
            settings.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let v = settle(&t, "head_a", &id).await;
    assert_eq!(
        v["counts"],
        json!({"new": 1, "duplicate": 3, "error": 1}),
        "{v}"
    );
    let dups = v["examples"]["duplicate"].as_array().unwrap();
    for (row, of) in [(2, json!(ids[0])), (3, json!(ids[1]))] {
        assert!(
            dups.iter()
                .any(|d| d["row"] == row && d["id"] == of && d["reason"] == "same_code"),
            "row {row}: {dups:?}"
        );
    }
    assert!(
        dups.iter().any(|d| d["row"] == 6 && d["of_row"] == 4),
        "{dups:?}"
    );
    assert_eq!(v["examples"]["error"][0]["row"], 5, "{v}");
    assert_eq!(
        v["examples"]["error"][0]["errors"][0]["column"], "Артикул",
        "{v}"
    );
    let v = run(&t, "head_a", &id, settings).await;
    assert_eq!(v["status"], "done", "{v}");
    assert_eq!(
        (
            v["created"].as_i64(),
            v["updated"].as_i64(),
            v["rejected"].as_i64()
        ),
        (Some(1), Some(3), Some(1)),
        "{v}"
    );
    assert_eq!(t.count("products").await, before + 1);
    let (_, art) = t
        .get("head_a", &format!("/api/v1/products/{}", ids[0]))
        .await;
    assert_eq!(
        (art["code"].as_str(), art["price"].as_str()),
        (Some("АРТ-001"), Some("55000.00")),
        "{art}"
    );
    let (_, tx) = t
        .get("head_a", &format!("/api/v1/products/{}", ids[1]))
        .await;
    assert_eq!(tx["price"], "43000.00", "{tx}");
    // The last row repeats the new product's code (in another case): it updated what the
    // row before made, in the same batch.
    let (_, new) = t.get("head_a", "/api/v1/products?q=NEW-1").await;
    assert_eq!(new["items"].as_array().unwrap().len(), 1, "{new}");
    assert_eq!(
        (
            new["items"][0]["name"].as_str(),
            new["items"][0]["price"].as_str()
        ),
        (Some("Buttons again"), Some("2.00")),
        "{new}"
    );
    // "Create anyway" cannot make a second product with a code in use: those rows are
    // refused one by one, the new one is made.
    let csv = "code,name\nTX-100,Copy\nNEW-2,Needles\n";
    let (_, v) = upload(&t, "head_a", "products", "again.csv", csv.into()).await;
    let again = v["id"].as_str().unwrap().to_string();
    let v = run(
        &t,
        "head_a",
        &again,
        json!({"columns": ["code", "name"], "on_duplicate": "create"}),
    )
    .await;
    assert_eq!(
        (
            v["status"].as_str(),
            v["created"].as_i64(),
            v["rejected"].as_i64()
        ),
        (Some("done"), Some(1), Some(1)),
        "{v}"
    );
    assert_eq!(t.count("products").await, before + 2);
    // The refused row is in the report as it was, to fix and import again.
    let resp = t
        .client
        .get(format!("{}/api/v1/imports/{again}/rejected.csv", t.base))
        .bearer_auth(&t.tokens["head_a"])
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].starts_with("TX-100,Copy,2,"), "{text}");
    assert!(lines[1].contains("must be unique"), "{text}");
    // Undo of the price list: the prices are back, the new product goes.
    t.post("head_a", &format!("/api/v1/imports/{id}/undo"), json!({}))
        .await;
    let v = settle(&t, "head_a", &id).await;
    assert_eq!(v["status"], "undone", "{v}");
    let (_, tx) = t
        .get("head_a", &format!("/api/v1/products/{}", ids[1]))
        .await;
    assert_eq!(tx["price"], "42000.00", "{tx}");
    let (_, art) = t
        .get("head_a", &format!("/api/v1/products/{}", ids[0]))
        .await;
    assert_eq!(art["price"], "50000.00", "{art}");
    assert_eq!(t.count("products").await, before + 1);
    // A salesperson may not change the catalog, so may not import into it.
    let (s, _) = upload(&t, "sales_a1", "products", "prices.csv", csv.into()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(t.count("products").await, before + 1);
}
both!(products_are_matched_by_their_code);

/// Sends `POST path` with `body` over a raw connection, `pieces` parts `pause` apart
/// (the last part is held back when `stall`), and returns the status and the answer.
async fn trickle(
    t: &TestApp,
    path: &str,
    body: &[u8],
    pieces: usize,
    pause: std::time::Duration,
    stall: bool,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = t.base.trim_start_matches("http://");
    let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        t.tokens["admin"],
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let size = body.len().div_ceil(pieces);
    let parts: Vec<&[u8]> = body.chunks(size).collect();
    let send = if stall { parts.len() - 1 } else { parts.len() };
    for (i, part) in parts[..send].iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(pause).await;
        }
        // The server may answer (and close) before the rest is sent.
        if conn.write_all(part).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

/// An import's upload may take longer than the 30 s any other request has, as long as
/// its bytes keep coming; one whose bytes stop for 30 s is refused (422 naming the file)
/// and leaves no import behind. (SQLite only: this is the web layer's doing.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_uploads_finish_and_stalled_ones_are_refused() {
    let t = TestApp::spawn(crate::support::Backend::Sqlite)
        .await
        .expect("sqlite");
    let mut csv = String::from("First Name,Last Name,Mobile Phone\r\n");
    for i in 0..2000 {
        csv.push_str(&format!(
            "Sekin{i},Yuklovchi,+99890{:07}\r\n",
            1_000_000 + i
        ));
    }
    let pause = std::time::Duration::from_secs(5);
    let path = "/api/v1/imports?object=contacts&file_name=slow.csv";
    let (slow, stalled) = tokio::join!(
        // Eight parts five seconds apart: 35 s in all.
        trickle(&t, path, csv.as_bytes(), 8, pause, false),
        // Half the file, then nothing.
        trickle(&t, path, csv.as_bytes(), 2, pause, true),
    );
    assert_eq!(slow.0, 201, "{}", slow.1);
    assert_eq!(stalled.0, 422, "{}", stalled.1);
    assert!(stalled.1.contains("\"file\""), "{}", stalled.1);
    let (s, v) = t.get("admin", "/api/v1/imports").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["items"][0]["file_name"], "slow.csv", "{v}");
}
