//! The attacks CRMs fall to, on both backends. Each case is refused (or made harmless) and
//! leaves the database exactly as it was: every table's row count and checksum (the
//! backup's per-table checksums) is compared before and after, and each refusal with 403
//! left exactly one `access_denied` entry in the audit log naming the caller, the method,
//! the path and the address. Other suites go deeper on
//! some kinds (exports: `export::hostile_cells_are_neutralised`; uploads:
//! `attachments::attachments_follow_the_record`; XLSX bombs and entities:
//! `imports::imports_refuse_outsiders_and_bad_files`; sessions and CSRF: `auth`; forged
//! `Host` and `X-Forwarded-For`, office-only users: `login_security`).

use crate::both;
use crate::support::TestApp;
use crate::ui::Session;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Tables a request may touch without changing data: a token's or session's last use,
/// the recent items, failed logins; and the audit log, where a refused request leaves its
/// `access_denied` entry (the other entries are counted apart: the log is append-only).
const VOLATILE: &[&str] = &[
    "api_tokens",
    "sessions",
    "recent_visits",
    "login_failures",
    "audit_log",
];

/// Every table's name, row count and checksum, and the number of audit entries other than
/// refusals.
async fn fingerprint(t: &TestApp) -> Vec<(String, u64, String)> {
    let dir = tempfile::tempdir().unwrap();
    let report = hamkor_store::backup::backup(&t.app.db, &dir.path().join("fp.gz"), &mut |_, _| {})
        .await
        .expect("fingerprint");
    report
        .manifest
        .tables
        .into_iter()
        .filter(|x| !VOLATILE.contains(&x.name.as_str()))
        .map(|x| (x.name, x.rows, x.checksum))
        .chain([(
            "audit_log without refusals".to_string(),
            t.audit_rows().await as u64,
            String::new(),
        )])
        .collect()
}

/// Checks the audit log's refusals after a request answered `status`: a 403 left exactly
/// one `access_denied` entry naming the caller (`user`, when known), the method and the
/// path, and anything else left none.
async fn check_refusal_audited(
    t: &TestApp,
    before: usize,
    status: StatusCode,
    user: Option<String>,
    method: &Method,
    path: &str,
) {
    let refusals = t.refusals().await;
    if status != StatusCode::FORBIDDEN {
        assert_eq!(
            refusals.len(),
            before,
            "{method} {path} ({status}) audited a refusal"
        );
        return;
    }
    assert_eq!(
        refusals.len(),
        before + 1,
        "{method} {path}: the refusal is audited once"
    );
    let (who, m, p, ip) = refusals.last().unwrap();
    assert_eq!(who, &user, "{method} {path}: the refusal names the caller");
    assert_eq!(m, method.as_str());
    assert_eq!(
        p,
        path.split('?').next().unwrap(),
        "the path, without the query"
    );
    assert_eq!(
        ip.as_deref(),
        Some("127.0.0.1"),
        "the refusal says where from"
    );
}

struct Suite<'a> {
    t: &'a TestApp,
    cases: usize,
}

impl Suite<'_> {
    /// Sends one hostile request as `who`; its answer must be one of `expect`, and the
    /// database must be unchanged.
    async fn refused(
        &mut self,
        what: &str,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        expect: &[StatusCode],
    ) -> Value {
        let before = fingerprint(self.t).await;
        let refusals = self.t.refusals().await.len();
        let (s, _, v) = self
            .t
            .request(who, method.clone(), path, body.as_ref(), &[])
            .await;
        assert!(expect.contains(&s), "{what}: {path} answered {s}: {v}");
        assert!(
            s.as_u16() < 500,
            "{what}: {path} answered a server error {s}"
        );
        let after = fingerprint(self.t).await;
        assert_eq!(before, after, "{what}: {path} changed the database");
        let user = self.t.tokens.get(who).map(|_| self.t.id(who));
        check_refusal_audited(self.t, refusals, s, user, &method, path).await;
        self.cases += 1;
        v
    }
}

const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

async fn attack_suite(t: TestApp) {
    let mut suite = Suite { t: &t, cases: 0 };
    let mine = t.account("admin", "sales_a1", "Alpha client").await;
    let theirs = t.account("admin", "sales_b", "Beta client").await;
    let contact = t
        .contact(
            "admin",
            "sales_b",
            json!({"last_name": "Betasecret", "phones": [{"number": "+998901112233"}]}),
        )
        .await;
    // The fingerprint sees a change of one field of one record...
    let before = fingerprint(&t).await;
    let (st, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/accounts/{mine}"),
            json!({"industry": "Seen"}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_ne!(
        fingerprint(&t).await,
        before,
        "the fingerprint misses a change"
    );
    // ...and a harmless read changes nothing.
    suite
        .refused(
            "a plain read",
            "sales_a1",
            Method::GET,
            "/api/v1/accounts",
            None,
            &[StatusCode::OK],
        )
        .await;

    // 1. SQL injection through every list parameter, sort column names and search.
    let sqli = [
        "'; DROP TABLE accounts; --",
        "' OR '1'='1",
        "1) OR (1=1",
        "%' UNION SELECT id, name FROM users --",
        "\\'; DELETE FROM contacts; --",
        "name; DELETE FROM accounts",
    ];
    for plural in ["accounts", "contacts"] {
        for evil in sqli {
            let e = urlencoding::encode(evil);
            for (what, query, expect) in [
                ("sort column", format!("sort={e}"), &[UNPROCESSABLE][..]),
                (
                    "descending sort column",
                    format!("sort=-{e}"),
                    &[UNPROCESSABLE][..],
                ),
                ("filter name", format!("{e}=1"), &[UNPROCESSABLE][..]),
                (
                    "filter operator",
                    format!("name[{e}]=1"),
                    &[UNPROCESSABLE][..],
                ),
                ("limit", format!("limit={e}"), &[UNPROCESSABLE][..]),
                ("cursor", format!("cursor={e}"), &[UNPROCESSABLE][..]),
                (
                    "columns",
                    format!("columns={e}"),
                    &[StatusCode::OK, UNPROCESSABLE][..],
                ),
                ("search", format!("q={e}"), &[StatusCode::OK][..]),
                (
                    "filter value",
                    format!("owner_id={e}"),
                    &[StatusCode::OK, UNPROCESSABLE][..],
                ),
                (
                    "text filter value",
                    format!("created_at={e}"),
                    &[StatusCode::OK, UNPROCESSABLE][..],
                ),
            ] {
                let v = suite
                    .refused(
                        &format!("SQL injection in the {what}"),
                        "sales_a1",
                        Method::GET,
                        &format!("/api/v1/{plural}?{query}"),
                        None,
                        expect,
                    )
                    .await;
                // Whatever came back is only what sales_a1 may see.
                if let Some(items) = v["items"].as_array() {
                    for r in items {
                        assert_ne!(r["id"], json!(theirs), "{what}: {evil}");
                        assert_ne!(r["id"], json!(contact), "{what}: {evil}");
                    }
                }
            }
        }
    }
    for evil in sqli {
        let e = urlencoding::encode(evil);
        suite
            .refused(
                "SQL injection in global search",
                "sales_a1",
                Method::GET,
                &format!("/api/v1/search?q={e}"),
                None,
                &[StatusCode::OK],
            )
            .await;
        suite
            .refused(
                "SQL injection in the duplicate check",
                "sales_a1",
                Method::GET,
                &format!("/api/v1/contacts/duplicates?last_name={e}&phone={e}"),
                None,
                &[StatusCode::OK, UNPROCESSABLE],
            )
            .await;
        suite
            .refused(
                "SQL injection in the audit filters",
                "admin",
                Method::GET,
                &format!("/api/v1/audit?action={e}&object={e}"),
                None,
                &[StatusCode::OK, UNPROCESSABLE],
            )
            .await;
    }

    // 4. IDOR: another user's records, users, tokens, shares and the audit log by id.
    for (method, path, body) in [
        (Method::GET, format!("/api/v1/accounts/{theirs}"), None),
        (
            Method::PATCH,
            format!("/api/v1/accounts/{theirs}"),
            Some(json!({"industry": "Mine"})),
        ),
        (Method::DELETE, format!("/api/v1/accounts/{theirs}"), None),
        (
            Method::POST,
            format!("/api/v1/accounts/{theirs}/restore"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/accounts/{theirs}/history"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/accounts/{theirs}/timeline"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/accounts/{theirs}/attachments"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/accounts/{theirs}/shares"),
            None,
        ),
        (
            Method::POST,
            format!("/api/v1/accounts/{theirs}/shares"),
            Some(json!({"user_id": t.id("sales_a1"), "access": "edit"})),
        ),
        (Method::GET, format!("/api/v1/contacts/{contact}"), None),
        (
            Method::PATCH,
            format!("/api/v1/contacts/{contact}"),
            Some(json!({"last_name": "Taken"})),
        ),
    ] {
        suite
            .refused(
                "IDOR on a record",
                "sales_a1",
                method,
                &path,
                body,
                &[StatusCode::NOT_FOUND],
            )
            .await;
    }
    let (_, tokens) = t.get("sales_b", "/api/v1/tokens").await;
    let token_id = tokens["items"][0]["id"].as_str().unwrap().to_string();
    suite
        .refused(
            "IDOR on another user's token",
            "sales_a1",
            Method::DELETE,
            &format!("/api/v1/tokens/{token_id}"),
            None,
            &[StatusCode::NOT_FOUND],
        )
        .await;
    for (method, path, body) in [
        (
            Method::PATCH,
            format!("/api/v1/users/{}", t.id("sales_b")),
            Some(json!({"disabled": true})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/users/{}/two_factor", t.id("sales_b")),
            None,
        ),
        (Method::GET, "/api/v1/audit".to_string(), None),
        (
            Method::PATCH,
            "/api/v1/roles/sales".to_string(),
            Some(json!({"permissions": {"account": {"read": "all"}}})),
        ),
        (
            Method::POST,
            "/api/v1/teams".to_string(),
            Some(json!({"name": "Mine"})),
        ),
        (
            Method::POST,
            "/api/v1/users".to_string(),
            Some(json!({"email": "x@y.uz", "name": "X", "role": "administrator"})),
        ),
    ] {
        suite
            .refused(
                "an administrator's action by a salesperson",
                "sales_a1",
                method,
                &path,
                body,
                &[StatusCode::FORBIDDEN, StatusCode::NOT_FOUND],
            )
            .await;
    }

    // 5. A refused write changes nothing: read but not write (viewer, support), read but
    // not delete (marketer on others' records), whole-list bulk by a viewer.
    for who in ["viewer", "support"] {
        suite
            .refused(
                "a write refused with 403",
                who,
                Method::PATCH,
                &format!("/api/v1/accounts/{mine}"),
                Some(json!({"industry": "Changed", "tags": ["x"]})),
                &[StatusCode::FORBIDDEN],
            )
            .await;
        suite
            .refused(
                "a delete refused with 403",
                who,
                Method::DELETE,
                &format!("/api/v1/accounts/{mine}"),
                None,
                &[StatusCode::FORBIDDEN],
            )
            .await;
        suite
            .refused(
                "a bulk change refused",
                who,
                Method::POST,
                "/api/v1/accounts/bulk",
                Some(json!({"matching": {}, "action": "set_field", "field": "industry", "value": "Bulk"})),
                &[StatusCode::FORBIDDEN, StatusCode::OK],
            )
            .await;
    }
    suite
        .refused(
            "a delete refused with 403",
            "marketer",
            Method::DELETE,
            &format!("/api/v1/accounts/{mine}"),
            None,
            &[StatusCode::FORBIDDEN],
        )
        .await;

    // 6. Mass assignment: fields nobody sets, or this user may not, in every writable body.
    for body in [
        json!({"name": "X", "owner_id": t.id("sales_b")}),
        json!({"name": "X", "created_by": t.id("admin")}),
        json!({"name": "X", "created_at": "2020-01-01T00:00:00Z"}),
        json!({"name": "X", "version": 99}),
        json!({"name": "X", "id": theirs}),
        json!({"name": "X", "deleted_at": "2020-01-01T00:00:00Z"}),
        json!({"name": "X", "role": "administrator"}),
        json!({"name": "X", "team_id": t.id("admin")}),
        json!({"name": "X", "search": "x"}),
    ] {
        suite
            .refused(
                "mass assignment on create",
                "sales_a1",
                Method::POST,
                "/api/v1/accounts",
                Some(body.clone()),
                &[UNPROCESSABLE],
            )
            .await;
        let mut patch = body.clone();
        patch.as_object_mut().unwrap().remove("name");
        suite
            .refused(
                "mass assignment on change",
                "sales_a1",
                Method::PATCH,
                &format!("/api/v1/accounts/{mine}"),
                Some(patch),
                &[UNPROCESSABLE],
            )
            .await;
    }
    for body in [
        json!({"role": "administrator"}),
        json!({"team_id": t.id("admin")}),
        json!({"email": "boss@test.hamkor.uz"}),
        json!({"disabled": false, "role": "head"}),
    ] {
        suite
            .refused(
                "mass assignment on oneself",
                "sales_a1",
                Method::PATCH,
                "/api/v1/users/me",
                Some(body),
                &[UNPROCESSABLE, StatusCode::FORBIDDEN],
            )
            .await;
    }
    suite
        .refused(
            "mass assignment on a share",
            "sales_a1",
            Method::POST,
            &format!("/api/v1/accounts/{mine}/shares"),
            Some(json!({"user_id": t.id("sales_b"), "created_by": t.id("admin")})),
            &[UNPROCESSABLE],
        )
        .await;

    // 7. Dangerous uploads: an executable renamed, an SVG with a script.
    for (name, bytes) in [
        (
            "invoice.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00".to_vec(),
        ),
        (
            "logo.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(),
        ),
        (
            "report.html",
            b"<html><script>alert(1)</script></html>".to_vec(),
        ),
    ] {
        let before = fingerprint(&t).await;
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str("application/pdf")
            .unwrap();
        let r = t
            .client
            .post(format!("{}/api/v1/accounts/{mine}/attachments", t.base))
            .bearer_auth(&t.tokens["sales_a1"])
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), UNPROCESSABLE, "upload {name}");
        assert_eq!(
            fingerprint(&t).await,
            before,
            "upload {name} changed the database"
        );
        suite.cases += 1;
    }

    // 9. CSRF: a session's change without its token, or from another site.
    let s = Session::new(&t, "sales_a1").await;
    let cookie = s.cookie().to_string();
    for (headers, what) in [
        (vec![], "no CSRF token"),
        (vec![("x-csrf-token", "forged")], "a forged CSRF token"),
        (
            vec![("x-csrf-token", s.csrf()), ("sec-fetch-site", "cross-site")],
            "a cross-site request",
        ),
    ] {
        let before = fingerprint(&t).await;
        let refusals = t.refusals().await.len();
        let mut req = t
            .client
            .request(Method::PATCH, format!("{}/api/v1/accounts/{mine}", t.base))
            .header("cookie", format!("hamkor_session={cookie}"))
            .json(&json!({"industry": "CSRF"}));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{what}");
        assert_eq!(fingerprint(&t).await, before, "{what} changed the database");
        let me = Some(t.id("sales_a1"));
        let path = format!("/api/v1/accounts/{mine}");
        check_refusal_audited(&t, refusals, r.status(), me.clone(), &Method::PATCH, &path).await;
        suite.cases += 1;
        let before = fingerprint(&t).await;
        let refusals = t.refusals().await.len();
        let r = t
            .client
            .post(format!("{}/accounts/{mine}/delete", t.base))
            .header("cookie", format!("hamkor_session={cookie}"))
            .header("sec-fetch-site", "cross-site")
            .form(&[("version", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "a form posted {what}");
        assert_eq!(fingerprint(&t).await, before, "a form posted {what}");
        let path = format!("/accounts/{mine}/delete");
        check_refusal_audited(&t, refusals, r.status(), me, &Method::POST, &path).await;
        suite.cases += 1;
    }

    // 2. Stored XSS, rendered in pages, lists, search and the record's history.
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    let (st, v) = t
        .post("sales_a1", "/api/v1/contacts", json!({"last_name": evil, "first_name": "\"><svg onload=alert(3)>", "tags": ["<b>t</b>"]}))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let xss = v["id"].as_str().unwrap().to_string();
    let (st, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/contacts/{xss}"),
            json!({"middle_name": evil}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    for path in [
        format!("/contacts/{xss}"),
        format!("/contacts/{xss}/edit"),
        "/contacts".to_string(),
        "/search?q=script".to_string(),
    ] {
        let (st, html) = s.get(&path).await;
        assert_eq!(st, StatusCode::OK, "{path}");
        for raw in ["<script>alert(1)", "<img src=x", "<svg onload", "<b>t</b>"] {
            assert!(!html.contains(raw), "{path} shows {raw} unescaped");
        }
        suite.cases += 1;
    }

    eprintln!(
        "attack suite: {} cases refused, database unchanged",
        suite.cases
    );
}
both!(attack_suite);
