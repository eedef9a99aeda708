//! Lists: filters and sort through a whitelist, keyset pagination, counting, search
//! across scripts and phone formats.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use std::collections::HashSet;

async fn pages_cover_everything_once(t: TestApp) {
    for i in 0..23 {
        let kind = if i % 2 == 0 { "client" } else { "prospect" };
        let (s, v) = t
            .post("admin", "/api/v1/accounts", json!({"name": format!("Firm {:02}", i % 7), "kind": kind, "industry": format!("I{}", i % 3)}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    for sort in [
        "name",
        "-name",
        "-created_at",
        "industry,-name",
        "kind,name,-updated_at",
    ] {
        let mut seen = HashSet::new();
        let mut cursor: Option<String> = None;
        let mut previous: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/accounts?limit=4&sort={sort}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (s, v) = t.get("admin", &path).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            for item in v["items"].as_array().unwrap() {
                assert!(
                    seen.insert(item["id"].as_str().unwrap().to_string()),
                    "{sort}: an item came twice"
                );
                if sort == "name" {
                    let name = item["name"].as_str().unwrap().to_string();
                    if let Some(p) = &previous {
                        assert!(p <= &name, "sorted by name");
                    }
                    previous = Some(name);
                }
            }
            match v["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 23, "{sort}: every record once");
    }
    let (_, v) = t
        .get("admin", "/api/v1/accounts?kind=client&count=true")
        .await;
    assert_eq!(v["total"], 12);
    let (_, v) = t
        .get(
            "admin",
            "/api/v1/accounts?kind[ne]=client&industry[in]=I0,I1&count=true",
        )
        .await;
    assert_eq!(v["total"], v["items"].as_array().unwrap().len());
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"] == "prospect" && r["industry"] != "I2")
    );
    let (_, v) = t
        .get("admin", "/api/v1/accounts?name[like]=firm%2003&count=true")
        .await;
    assert!(v["total"].as_i64().unwrap() >= 1);
    let (_, v) = t
        .get("admin", "/api/v1/accounts?legal_name[null]=true&count=true")
        .await;
    assert_eq!(v["total"], 23);
}
both!(pages_cover_everything_once);

async fn unknown_names_are_refused(t: TestApp) {
    for (query, field) in [
        ("sort=name;DROP TABLE accounts", "sort"),
        ("sort=password_hash", "sort"),
        ("sort=phones", "sort"),
        ("owner_id[gt]=x", "owner_id[gt]"),
        ("search=1", "search"),
        ("name[regex]=.*", "name[regex]"),
        ("limit=100000", "limit"),
        ("cursor=garbage", "cursor"),
        ("created_at[gt]=yesterday", "created_at[gt]"),
        ("custom.nope=1", "custom.nope"),
    ] {
        let (s, v) = t.get("admin", &format!("/api/v1/accounts?{query}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {v}");
        assert_eq!(v["errors"][0]["field"], field, "{query}");
    }
    // The table is still there.
    assert_eq!(t.get("admin", "/api/v1/accounts").await.0, StatusCode::OK);
}
both!(unknown_names_are_refused);

async fn search_finds_people_across_scripts_and_formats(t: TestApp) {
    let ivanov = t
        .contact("admin", "admin", json!({"first_name": "Алексей", "last_name": "Иванов", "phones": ["+998 90 123-45-67"], "emails": ["a.ivanov@sever.ru"]}))
        .await;
    t.contact(
        "admin",
        "admin",
        json!({"first_name": "Rustam", "last_name": "Ismoilov", "phones": ["+7 916 555 12 12"]}),
    )
    .await;
    let acc = t.account("admin", "admin", "Тошкент Савдо").await;
    for q in [
        "Ivanov",
        "иванов",
        "IVANOV Aleksey",
        "90 123 45 67",
        "998901234567",
        "901234567",
        "a.ivanov@sever",
    ] {
        let (s, v) = t
            .get("admin", &format!("/api/v1/search?q={}", urlencode(q)))
            .await;
        assert_eq!(s, StatusCode::OK);
        let ids = item_ids(&v);
        assert!(ids.contains(&ivanov.as_str()), "{q} finds Иванов: {v}");
        assert_eq!(v["items"][0]["type"], "contact");
    }
    let (_, v) = t.get("admin", "/api/v1/search?q=toshkent").await;
    assert_eq!(v["items"][0]["id"], acc.as_str());
    assert_eq!(v["items"][0]["title"], "Тошкент Савдо");
    // Search only shows what the caller may see.
    let (_, v) = t.get("sales_a1", "/api/v1/search?q=ivanov").await;
    assert_eq!(v["items"], json!([]));
    // LIKE wildcards in the query are taken literally.
    let (_, v) = t.get("admin", "/api/v1/contacts?q=%25&count=true").await;
    assert_eq!(v["total"], 0);
}
both!(search_finds_people_across_scripts_and_formats);

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn edge_cases_of_filters_and_cursors(t: TestApp) {
    for i in 0..5 {
        t.account("admin", "admin", &format!("Edge {i}")).await;
    }
    // Sorting by id pages through everything.
    let (s, v) = t.get("admin", "/api/v1/accounts?sort=-id&limit=2").await;
    assert_eq!(s, StatusCode::OK);
    let cursor = v["next_cursor"].as_str().unwrap().to_string();
    let (s, v) = t
        .get(
            "admin",
            &format!("/api/v1/accounts?sort=-id&limit=2&cursor={cursor}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    // `like` is for text; on ids and timestamps it is refused, not a server error.
    for q in [
        "id[like]=01",
        "created_at[like]=2026",
        "version[like]=1",
        "phones=1",
        "emails[like]=a",
    ] {
        let (s, v) = t.get("admin", &format!("/api/v1/accounts?{q}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
    }
    // A number filter does not match records without a number.
    let (s, _) = t
        .post(
            "admin",
            "/api/v1/custom_fields",
            json!({"object": "account", "key": "staff", "label": "Staff", "kind": "number"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = t
        .post(
            "admin",
            "/api/v1/accounts",
            json!({"name": "Small", "custom": {"staff": 3}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, v) = t
        .get("admin", "/api/v1/accounts?custom.staff[lt]=10&count=true")
        .await;
    assert_eq!(v["total"], 1, "{v}");
    // If-Match: * matches whatever the current version is.
    let (_, v) = t.get("admin", "/api/v1/accounts?name=Small").await;
    let id = v["items"][0]["id"].as_str().unwrap().to_string();
    let (s, _, _) = t
        .request(
            "admin",
            reqwest::Method::PATCH,
            &format!("/api/v1/accounts/{id}"),
            Some(&json!({"industry": "Any"})),
            &[("if-match", "*")],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}
both!(edge_cases_of_filters_and_cursors);

async fn search_follows_changes(t: TestApp) {
    let id = t
        .contact(
            "admin",
            "admin",
            json!({"last_name": "Qodirov", "first_name": "Anvar"}),
        )
        .await;
    let found = |q: &'static str| {
        let t = &t;
        async move {
            let (_, v) = t
                .get("admin", &format!("/api/v1/contacts?q={q}&count=true"))
                .await;
            v["total"].as_i64().unwrap()
        }
    };
    assert_eq!(found("qodirov").await, 1);
    let (s, _) = t
        .patch(
            "admin",
            &format!("/api/v1/contacts/{id}"),
            json!({"last_name": "Rahimov"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        found("qodirov").await,
        0,
        "the old name is gone from the index"
    );
    assert_eq!(found("rahimov").await, 1);
    assert_eq!(found("rahimov%20anvar").await, 1);
    assert_eq!(found("an").await, 1, "two letters still find");
    assert_eq!(
        t.delete("admin", &format!("/api/v1/contacts/{id}")).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(found("rahimov").await, 0);
}
both!(search_follows_changes);

/// 2,500 generated contacts (seed 7): more than the search index path takes for a word
/// they nearly all share.
async fn generate_contacts(t: &TestApp) {
    generate(t, 0).await;
}

/// 2,500 generated contacts and their accounts, and `interactions` interactions.
async fn generate(t: &TestApp, interactions: usize) {
    t.app
        .generate(
            hamkor_app::generate::Sizes {
                contacts: 2_500,
                accounts: None,
                interactions: Some(interactions),
            },
            7,
            |_, _| {},
        )
        .await
        .expect("generate");
}

/// The ids of a list or search answer's items.
fn item_ids(v: &serde_json::Value) -> Vec<&str> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect()
}

/// Rare terms go through the search index, common ones through a scan (on SQLite the list
/// chooses by probing the index): both must find exactly what a plain scan finds.
async fn both_search_paths_agree_with_a_scan(t: TestApp) {
    generate_contacts(&t).await;
    for q in [
        "karimov",
        "mail",
        "aziz karimov",
        "sherzod",
        "qodirov",
        "zzzz",
        // More words than the index looks up (the two longest): the others are checked
        // on the rows it finds, so a word no record has still rules every one out.
        "aziz karimov mail uz",
        "karimov aziz zzz",
        "karimova mail uz",
    ] {
        let (s, v) = t
            .get(
                "admin",
                &format!(
                    "/api/v1/contacts?q={}&count=true&limit=5",
                    q.replace(' ', "%20")
                ),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let mut sql =
            hamkor_store::Sql::new("SELECT COUNT(*) AS n FROM contacts WHERE deleted_at IS NULL");
        for w in q.split(' ') {
            sql.push(" AND search LIKE ").bind(format!("%{w}%"));
        }
        use hamkor_store::Exec;
        let mut db = t.app.db.clone();
        let expected = db
            .fetch_optional(&sql)
            .await
            .unwrap()
            .unwrap()
            .req_int("n")
            .unwrap();
        assert_eq!(v["total"].as_i64().unwrap(), expected, "{q}");
        assert_eq!(
            v["items"].as_array().unwrap().len() as i64,
            expected.min(5),
            "{q}"
        );
    }
}
both!(both_search_paths_agree_with_a_scan);

/// The search box looks for a common word among the index's first hits (any matches will
/// do there), and scans the table when those hold none: a record created after thousands
/// that share the word is still found by a word only it has.
async fn the_search_box_finds_past_a_common_words_first_hits(t: TestApp) {
    generate_contacts(&t).await;
    // Every generated contact has an e-mail at a "mail" domain: more hits than the index
    // path takes (2,000), so the search box reads the first of them.
    let (s, v) = t.get("admin", "/api/v1/search?q=mail").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(!v["items"].as_array().unwrap().is_empty(), "{v}");
    // The newest record, past the first hits: "qx" is too short for the index, so the
    // first hits are checked for it, hold none, and the table is scanned.
    let newest = t
        .contact(
            "admin",
            "sales_a1",
            json!({"first_name": "Qx", "last_name": "Mailov"}),
        )
        .await;
    for q in ["mail%20qx", "qx%20mailov"] {
        let (s, v) = t.get("admin", &format!("/api/v1/search?q={q}")).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let ids = item_ids(&v);
        assert_eq!(ids, vec![newest.as_str()], "{q}: {v}");
    }
}
both!(the_search_box_finds_past_a_common_words_first_hits);

/// The search box asks every kind's index in one statement, reads only the kinds it found
/// something of, and stops at a word's first hits: what it shows of each kind is what
/// that kind's list finds for the same terms (as many as the list has, up to ten), whether
/// through the index or a scan, and whoever asks — a salesperson whose one match comes
/// after sixty of a colleague's too.
async fn the_search_box_finds_what_each_list_finds(t: TestApp) {
    // Interactions enough for a word of their subjects ("Shartnoma loyihasi", one in
    // twelve) to be common: the index of words then leaves it to a scan.
    generate(&t, 40_000).await;
    let acc = t.account("admin", "sales_a1", "Karimov Savdo").await;
    family(&t, "Ali", "Zarifov", 0..60).await;
    let theirs = t
        .contact(
            "admin",
            "sales_b",
            json!({"first_name": "Nodira", "last_name": "Zarifova", "phones": ["+998 90 765 43 21"]}),
        )
        .await;
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/tasks",
            json!({"title": "Karimov bilan uchrashuv", "related": {"type": "account", "id": acc}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/interactions",
            json!({"kind": "note", "account_id": acc, "body": "Karimov savdo shartnomasi"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let objects = [
        ("account", "accounts"),
        ("contact", "contacts"),
        ("task", "tasks"),
        ("interaction", "interactions"),
    ];
    for who in ["admin", "sales_a1", "sales_b"] {
        for q in [
            "karimov",
            "Каримов",
            "zarifov",
            "nodira zarifova",
            "savdo",
            "765 43 21",
            "ka",
            "qwzx",
            "shartnoma",
            "shartnoma loyihasi",
        ] {
            let (s, found) = t
                .get(who, &format!("/api/v1/search?q={}", urlencode(q)))
                .await;
            assert_eq!(s, StatusCode::OK, "{found}");
            let items = found["items"].as_array().unwrap();
            for (kind, plural) in objects {
                let boxed: Vec<&str> = items
                    .iter()
                    .filter(|i| i["type"] == kind)
                    .map(|i| i["id"].as_str().unwrap())
                    .collect();
                let (s, list) = t
                    .get(
                        who,
                        &format!("/api/v1/{plural}?q={}&limit=500", urlencode(q)),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "{list}");
                let listed = item_ids(&list);
                assert_eq!(
                    boxed.len(),
                    listed.len().min(10),
                    "{who} searching {q:?}: {kind}"
                );
                assert!(
                    boxed.iter().all(|id| listed.contains(id)),
                    "{who} searching {q:?}: {kind}: {boxed:?}"
                );
            }
            if q == "qwzx" {
                assert_eq!(items.len(), 0, "{found}");
            }
            if who == "sales_b" && q == "zarifov" {
                assert_eq!(item_ids(&found), vec![theirs.as_str()], "{found}");
            }
        }
    }
}
both!(the_search_box_finds_what_each_list_finds);

/// The search box's table: every kind of query from the client-base issue finds its
/// record, across scripts both ways and phone numbers in any spelling; interactions are
/// found by the words in them; nothing the caller may not see is found.
async fn search_table(t: TestApp) {
    let acc = t
        .account("sales_a1", "sales_a1", "Тошкент Ғалла Савдо")
        .await;
    let (s, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/accounts/{acc}"),
            json!({"tax_id": "305 123 456", "emails": ["info@galla.uz"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let shukurov = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"first_name": "Чори", "last_name": "Шукуров", "phones": ["+998 90 123-45-67"]}),
        )
        .await;
    let ivanov = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"first_name": "Oleg", "last_name": "Ivanov", "emails": ["oleg.ivanov@mail.ru"]}),
        )
        .await;
    let ozod = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"first_name": "Ўткир", "last_name": "Oʻzodov"}),
        )
        .await;
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/interactions",
            json!({"kind": "note", "account_id": acc, "body": "Hamkorlik shartnomasi bo'yicha muzokara"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let note = v["id"].as_str().unwrap().to_string();
    let cases: Vec<(&str, &str)> = vec![
        ("Иванов", &ivanov),
        ("ivanov", &ivanov),
        ("ИВАНОВ Олег", &ivanov),
        ("Toshkent", &acc),
        ("тошкент", &acc),
        ("G'alla", &acc),
        ("g‘alla", &acc),
        ("Shukurov", &shukurov),
        ("Chori", &shukurov),
        ("шукуров", &shukurov),
        ("O'tkir", &ozod),
        ("Ozodov", &ozod),
        ("Ўзодов", &ozod),
        ("+998 90 123-45-67", &shukurov),
        ("901234567", &shukurov),
        ("998901234567", &shukurov),
        ("90 123 45 67", &shukurov),
        ("305123456", &acc),
        ("info@galla.uz", &acc),
        ("oleg.ivanov@mail", &ivanov),
        ("shartnomasi", &note),
        ("muzokara", &note),
        ("шартномаси", &note),
    ];
    for (q, want) in &cases {
        let (s, v) = t
            .get("sales_a1", &format!("/api/v1/search?q={}", urlencode(q)))
            .await;
        assert_eq!(s, StatusCode::OK);
        let ids = item_ids(&v);
        assert!(ids.contains(want), "{q:?} should find {want}: {v}");
        // And nobody outside the owner's reach finds it.
        let (_, v) = t
            .get("sales_b", &format!("/api/v1/search?q={}", urlencode(q)))
            .await;
        assert_eq!(v["items"], json!([]), "{q:?} as sales_b");
    }
}
both!(search_table);

/// Recent items: what the user opened last, newest first, and only what they may still see.
async fn recent_items(t: TestApp) {
    let a = t.account("admin", "sales_a1", "First opened").await;
    let b = t.account("admin", "sales_a1", "Second opened").await;
    let (_, v) = t.get("sales_a1", "/api/v1/recent").await;
    assert_eq!(v["items"], json!([]));
    let cookie = crate::auth::login(&t, "sales_a1@test.hamkor.uz", crate::support::PASSWORD)
        .await
        .unwrap();
    for id in [&a, &b] {
        let r = t
            .client
            .get(format!("{}/accounts/{id}", t.base))
            .header("cookie", format!("hamkor_session={cookie}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let (_, v) = t.get("sales_a1", "/api/v1/recent").await;
    let titles: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Second opened", "First opened"]);
    assert_eq!(v["items"][0]["href"], format!("/accounts/{b}").as_str());
    // Given to another owner, the account drops out of the list.
    let (s, _) = t
        .patch(
            "admin",
            &format!("/api/v1/accounts/{b}"),
            json!({"owner_id": t.id("sales_b")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = t.get("sales_a1", "/api/v1/recent").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["items"][0]["title"], "First opened");
}
both!(recent_items);

/// Numbers of seven or more digits are found by their beginning or their end, whatever
/// the spelling; a changed number is found by its new digits only.
async fn numbers_are_found_by_either_end(t: TestApp) {
    let c = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"last_name": "Raqamov", "phones": ["+998 90 765-43-21"], "messengers": [{"handle": "93 111 22 33", "kind": "whatsapp"}]}),
        )
        .await;
    let a = t.account("sales_a1", "sales_a1", "Raqam MChJ").await;
    t.patch(
        "sales_a1",
        &format!("/api/v1/accounts/{a}"),
        json!({"tax_id": "305 987 654"}),
    )
    .await;
    let found = |v: &serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    for (q, want) in [
        ("7654321", &c),
        ("907654", &c),
        ("9076543", &c),
        ("765-43-21", &c),
        ("90 765 43 21", &c),
        ("(90) 765-43-21", &c),
        ("+998907654321", &c),
        ("931112233", &c),
        ("3059876", &a),
        ("305987654", &a),
    ] {
        let (_, v) = t
            .get("sales_a1", &format!("/api/v1/search?q={}", urlencode(q)))
            .await;
        assert!(found(&v).contains(want), "{q} should find {want}: {v}");
        let (_, v) = t
            .get("sales_b", &format!("/api/v1/search?q={}", urlencode(q)))
            .await;
        assert_eq!(v["items"], json!([]), "{q} as sales_b");
    }
    // A new number replaces the old one in the index.
    let (s, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/contacts/{c}"),
            json!({"phones": ["+998 97 000 11 22"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = t.get("sales_a1", "/api/v1/search?q=7654321").await;
    assert!(!found(&v).contains(&c), "{v}");
    let (_, v) = t.get("sales_a1", "/api/v1/contacts?q=970001122").await;
    assert_eq!(found(&v), vec![c]);
}
both!(numbers_are_found_by_either_end);

/// Contacts of `sales_a1` named `<first><i> <last>` for each `i`, one write each.
async fn family(t: &TestApp, first: &str, last: &str, numbers: std::ops::Range<usize>) {
    for i in numbers {
        t.contact(
            "admin",
            "sales_a1",
            json!({"first_name": format!("{first}{i}"), "last_name": last}),
        )
        .await;
    }
}

/// Each write adds a segment to SQLite's search index, and a search asks every segment:
/// the scheduler's tidy merges those of a level, two or more (FTS5 alone waits for four),
/// and the index still finds every record.
async fn search_indexes_are_merged_as_they_grow(t: TestApp) {
    use hamkor_store::Exec;
    let db = &t.app.db;
    let sqlite = db.backend() == hamkor_store::Backend::Sqlite;
    let segments = || async {
        hamkor_store::fts::segments(db, "contacts_search")
            .await
            .unwrap()
    };
    // Three writes, three small segments: too few for FTS5 to merge on its own.
    family(&t, "Bek", "Tozalov", 0..3).await;
    if sqlite {
        assert_eq!(segments().await, 3);
        assert!(hamkor_store::fts::tidy(db).await.unwrap() > 0);
        assert_eq!(segments().await, 1);
    }
    family(&t, "Bek", "Tozalov", 3..40).await;
    if sqlite {
        let before = segments().await;
        assert!(before > 3, "{before} segments after 37 writes");
        assert!(hamkor_store::fts::tidy(db).await.unwrap() > 0);
        let after = segments().await;
        assert!(after < before && after <= 3, "{before} → {after} segments");
        // Nothing left to merge: the next tidy only looks.
        assert_eq!(hamkor_store::fts::tidy(db).await.unwrap(), 0);
        let mut ex = db.clone();
        ex.execute(&hamkor_store::Sql::new(
            "INSERT INTO contacts_search (contacts_search, rank) VALUES ('integrity-check', 1)",
        ))
        .await
        .expect("the index agrees with the contacts");
        assert!(hamkor_store::fts::segments(db, "no_such").await.is_err());
    } else {
        assert_eq!(hamkor_store::fts::tidy(db).await.unwrap(), 0);
    }
    let (s, v) = t.get("admin", "/api/v1/contacts?q=tozalov&limit=100").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(item_ids(&v).len(), 40);
    let (s, v) = t.get("admin", "/api/v1/search?q=bek17%20tozalov").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(item_ids(&v).len(), 1, "{v}");
}
both!(search_indexes_are_merged_as_they_grow);
