//! Tasks: who may move them where, who sees them, repeating series, deadlines, views.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// An RFC 3339 moment `hours` from now.
pub fn in_hours(hours: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::hours(hours)).to_rfc3339()
}

pub async fn task(t: &TestApp, who: &str, body: Value) -> Value {
    let (s, v) = t.post(who, "/api/v1/tasks", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

async fn status(
    t: &TestApp,
    who: &str,
    id: &str,
    to: &str,
    comment: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({ "status": to });
    if let Some(c) = comment {
        body["comment"] = json!(c);
    }
    t.post(who, &format!("/api/v1/tasks/{id}/status"), body)
        .await
}

async fn status_moves_belong_to_the_author_and_the_assignee(t: TestApp) {
    let v = task(
        &t,
        "sales_a1",
        json!({"title": "Send the price list", "assignee_id": t.id("sales_a2"), "due_at": in_hours(5),
            "priority": "high", "checklist": ["Find the list", {"text": "Mail it", "done": false}]}),
    )
    .await;
    let id = v["id"].as_str().unwrap().to_string();
    assert_eq!(v["status"], "open");
    assert_eq!(v["assignee_id"], t.id("sales_a2"));
    assert_eq!(v["owner_id"], t.id("sales_a2"));
    assert_eq!(v["created_by"], t.id("sales_a1"));
    assert_eq!(v["checklist"][1], json!({"text": "Mail it", "done": false}));

    // The author cannot do the assignee's part, nor can someone merely reading it.
    let before = t.snapshot(&format!("/api/v1/tasks/{id}")).await;
    let audit = t.audit_rows().await;
    for who in ["sales_a1", "viewer"] {
        let (s, v) = status(&t, who, &id, "in_progress", None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
    }
    // Someone from another team does not see it at all.
    let (s, _) = status(&t, "sales_b", &id, "in_progress", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        t.get("sales_b", &format!("/api/v1/tasks/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(t.snapshot(&format!("/api/v1/tasks/{id}")).await, before);
    assert_eq!(t.audit_rows().await, audit);

    // The assignee works it; a move that does not exist is refused by name.
    let (s, v) = status(&t, "sales_a2", &id, "accepted", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["code"], "transition", "{v}");
    let (s, v) = status(&t, "sales_a2", &id, "in_progress", None).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("in_progress")),
        "{v}"
    );
    let (s, v) = status(&t, "sales_a2", &id, "done", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["completed_at"].is_string(), "{v}");
    // Only the author accepts or returns: not the assignee, not their head.
    for who in ["sales_a2", "head_a"] {
        let (s, v) = status(&t, who, &id, "accepted", None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{who}: {v}");
    }
    // It waits for the author.
    let (_, v) = t.get("sales_a1", "/api/v1/task_views/waiting").await;
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["items"][0]["id"], id.as_str());
    // Returning needs a comment, which is kept.
    let (s, v) = status(&t, "sales_a1", &id, "returned", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "comment", "{v}");
    let (s, v) = status(
        &t,
        "sales_a1",
        &id,
        "returned",
        Some("Prices are last year's"),
    )
    .await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("returned")),
        "{v}"
    );
    let (_, v) = t
        .get("sales_a2", &format!("/api/v1/tasks/{id}/comments"))
        .await;
    assert_eq!(v["items"][0]["body"], "Prices are last year's", "{v}");
    assert_eq!(v["items"][0]["kind"], "returned");
    // Done again, and accepted by the author.
    assert_eq!(
        status(&t, "sales_a2", &id, "done", None).await.0,
        StatusCode::OK
    );
    let (s, v) = status(&t, "sales_a1", &id, "accepted", None).await;
    assert_eq!(
        (s, v["status"].as_str()),
        (StatusCode::OK, Some("accepted")),
        "{v}"
    );
    // Accepted is the end.
    let (s, v) = status(&t, "sales_a1", &id, "open", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["code"], "transition", "{v}");
    // The same rules hold through PATCH.
    let id2 = task(
        &t,
        "sales_a1",
        json!({"title": "Call back", "assignee_id": t.id("sales_a2")}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/tasks/{id2}"),
            json!({"status": "done"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .patch(
            "sales_a2",
            &format!("/api/v1/tasks/{id2}"),
            json!({"status": "done"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A new task starts open, whatever is asked.
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/tasks",
            json!({"title": "x", "status": "accepted"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // The system's fields are not the caller's to set.
    for field in ["completed_at", "series_id", "occurrence"] {
        let (s, v) = t
            .post(
                "sales_a1",
                "/api/v1/tasks",
                json!({"title": "x", field: null}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {v}");
        assert_eq!(v["errors"][0]["code"], "read-only", "{v}");
    }
}
both!(status_moves_belong_to_the_author_and_the_assignee);

async fn tasks_are_seen_by_author_assignee_team_and_scope(t: TestApp) {
    let id = task(
        &t,
        "sales_a1",
        json!({"title": "For a colleague in Beta", "assignee_id": t.id("sales_b")}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    for (who, seen) in [
        ("sales_a1", true), // author
        ("sales_b", true),  // assignee
        ("head_b", true),   // the assignee's head (team scope)
        ("admin", true),
        ("viewer", true),    // read-only reads everything
        ("sales_a2", false), // a colleague of the author: neither
        ("head_a", false),   // the author's head: the task is owned in Beta
        ("marketer", false),
    ] {
        let (s, _) = t.get(who, &format!("/api/v1/tasks/{id}")).await;
        assert_eq!(s == StatusCode::OK, seen, "{who}: {s}");
        let (_, v) = t.get(who, "/api/v1/tasks?limit=200").await;
        let listed = v["items"]
            .as_array()
            .map(|a| a.iter().any(|x| x["id"] == id.as_str()))
            .unwrap_or(false);
        assert_eq!(listed, seen, "{who} list");
    }
    // A task given to a team: its members see it; the first to start it takes it.
    let (_, teams) = t.get("admin", "/api/v1/users").await;
    let alpha = teams["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == t.id("sales_a1").as_str())
        .unwrap()["team_id"]
        .as_str()
        .unwrap()
        .to_string();
    let team_task = task(
        &t,
        "head_b",
        json!({"title": "Whoever is free: visit the warehouse", "team_id": alpha}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        t.get("sales_a2", &format!("/api/v1/tasks/{team_task}"))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        t.get("sales_b", &format!("/api/v1/tasks/{team_task}"))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = status(&t, "sales_a2", &team_task, "in_progress", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["assignee_id"], t.id("sales_a2"), "{v}");
    // An unknown team, a disabled assignee, a deadline in the past, a repeat without a
    // deadline or that never fires: refused by name, nothing created.
    let before = t.count("tasks").await;
    let disabled = t.new_salesperson("gone@test.hamkor.uz").await;
    t.disable_user(&disabled).await;
    for (body, field, key) in [
        (
            json!({"title": "x", "team_id": uuid::Uuid::now_v7().to_string()}),
            "team_id",
            "error-unknown-team",
        ),
        (
            json!({"title": "x", "assignee_id": disabled}),
            "assignee_id",
            "error-user-disabled",
        ),
        (
            json!({"title": "x", "due_at": in_hours(-2)}),
            "due_at",
            "error-in-past",
        ),
        (
            json!({"title": "x", "recurrence": {"every": "week"}}),
            "recurrence",
            "error-recurrence-needs-deadline",
        ),
        (
            json!({"title": "x", "due_at": in_hours(24), "recurrence": {"every": "month", "until": "2001-01-01"}}),
            "recurrence",
            "error-recurrence-never",
        ),
        (
            json!({"title": "x", "recurrence": {"every": "fortnight"}}),
            "recurrence",
            "error-recurrence-invalid",
        ),
        (
            json!({"title": "x", "related": {"type": "account", "id": uuid::Uuid::now_v7().to_string()}}),
            "related",
            "error-unknown-record",
        ),
        (
            json!({"title": "x", "related": {"type": "task", "id": uuid::Uuid::now_v7().to_string()}}),
            "related.type",
            "error-related-type",
        ),
        (
            json!({"title": "x", "checklist": [{"text": "a", "owner": "me"}]}),
            "checklist[0].owner",
            "error-unknown-field",
        ),
    ] {
        let (s, v) = t.post("sales_a1", "/api/v1/tasks", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        let code = key.trim_start_matches("error-");
        assert_eq!(
            (
                v["errors"][0]["field"].as_str(),
                v["errors"][0]["code"].as_str()
            ),
            (Some(field), Some(code)),
            "{body}: {v}"
        );
    }
    assert_eq!(t.count("tasks").await, before);
    // A task about a client the user cannot see is refused the same way.
    let hidden = t.account("sales_b", "sales_b", "Beta's client").await;
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/tasks",
            json!({"title": "x", "related": {"type": "account", "id": hidden}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // And one about a visible client shows on its page.
    let acc = t.account("sales_a1", "sales_a1", "Pakhta Savdo").await;
    task(
        &t,
        "sales_a1",
        json!({"title": "Prepare the contract", "related": format!("account:{acc}")}),
    )
    .await;
    let (_, v) = t.get("sales_a1", "/api/v1/tasks?q=Prepare").await;
    assert_eq!(
        v["items"][0]["related"],
        json!({"type": "account", "id": acc}),
        "{v}"
    );
}
both!(tasks_are_seen_by_author_assignee_team_and_scope);

async fn repeating_tasks_follow_month_ends_and_leap_years(t: TestApp) {
    // 09:00 in Tashkent (the default zone) on 31 January 2030, monthly.
    let v = task(
        &t,
        "sales_a1",
        json!({"title": "Monthly report", "due_at": "2030-01-31T09:00:00+05:00",
            "recurrence": {"every": "month"}, "checklist": [{"text": "Totals", "done": true}]}),
    )
    .await;
    assert_eq!(v["recurrence"]["day"], 31, "{v}");
    let mut id = v["id"].as_str().unwrap().to_string();
    let mut dues = Vec::new();
    for _ in 0..4 {
        // Self-assigned: done closes the occurrence.
        let (s, v) = status(&t, "sales_a1", &id, "done", None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, list) = t
            .get("sales_a1", "/api/v1/tasks?status=open&sort=due_at&limit=10")
            .await;
        let next = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["title"] == "Monthly report")
            .cloned()
            .expect("next occurrence");
        assert_eq!(next["checklist"][0]["done"], false, "{next}");
        assert_eq!(next["created_by"], t.id("sales_a1"));
        dues.push(next["due_at"].as_str().unwrap().to_string());
        id = next["id"].as_str().unwrap().to_string();
    }
    assert_eq!(
        dues,
        [
            "2030-02-28T04:00:00.000000Z",
            "2030-03-31T04:00:00.000000Z",
            "2030-04-30T04:00:00.000000Z",
            "2030-05-31T04:00:00.000000Z"
        ]
    );
    // Closing it twice makes no second copy.
    let (_, all) = t.get("sales_a1", "/api/v1/tasks?q=Monthly&limit=50").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);

    // A yearly task on 29 February, assigned to a colleague: the next one is created
    // when the author accepts.
    let v = task(
        &t,
        "sales_a1",
        json!({"title": "Leap day check", "due_at": "2032-02-29T10:00:00Z", "assignee_id": t.id("sales_a2"),
            "recurrence": {"every": "year"}}),
    )
    .await;
    let id = v["id"].as_str().unwrap().to_string();
    status(&t, "sales_a2", &id, "done", None).await;
    let (_, list) = t.get("sales_a1", "/api/v1/tasks?q=Leap&limit=10").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "not before acceptance: {list}"
    );
    assert_eq!(
        status(&t, "sales_a1", &id, "accepted", None).await.0,
        StatusCode::OK
    );
    let (_, list) = t
        .get("sales_a2", "/api/v1/tasks?q=Leap&status=open&limit=10")
        .await;
    assert_eq!(
        list["items"][0]["due_at"], "2033-02-28T10:00:00.000000Z",
        "{list}"
    );
    assert_eq!(list["items"][0]["assignee_id"], t.id("sales_a2"));
    assert_eq!(list["items"][0]["series_id"], id.as_str());
    assert_eq!(list["items"][0]["occurrence"], 2);
}
both!(repeating_tasks_follow_month_ends_and_leap_years);

async fn my_day_lists_what_is_due(t: TestApp) {
    let overdue = task(
        &t,
        "sales_a1",
        json!({"title": "Overdue one", "due_at": in_hours(0)}),
    )
    .await;
    task(
        &t,
        "sales_a1",
        json!({"title": "Next week", "due_at": in_hours(24 * 8)}),
    )
    .await;
    task(
        &t,
        "sales_a1",
        json!({"title": "Someday", "priority": "low"}),
    )
    .await;
    task(&t, "head_a", json!({"title": "From my head", "assignee_id": t.id("sales_a1"), "due_at": in_hours(24 * 3)})).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (s, v) = t.get("sales_a1", "/api/v1/my_day").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["overdue"]["count"], 1, "{v}");
    assert_eq!(v["overdue"]["items"][0]["id"], overdue["id"]);
    assert_eq!(v["upcoming"]["count"], 2, "{v}");
    assert_eq!(v["someday"]["items"][0]["title"], "Someday");
    let (_, v) = t.get("head_a", "/api/v1/task_views/assigned_by_me").await;
    assert_eq!(v["count"], 1, "{v}");
    let (_, v) = t.get("head_a", "/api/v1/task_views/team").await;
    assert!(v["count"].as_i64().unwrap() >= 4, "{v}");
    let (s, _) = t.get("sales_a1", "/api/v1/task_views/everything").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = t.get("head_a", "/api/v1/workload").await;
    assert_eq!(s, StatusCode::OK);
    let a1 = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["user_id"] == t.id("sales_a1").as_str())
        .cloned()
        .unwrap();
    assert_eq!(
        (a1["open"].as_i64(), a1["overdue"].as_i64()),
        (Some(4), Some(1)),
        "{a1}"
    );
    // A salesperson sees only their own line; another team's head does not see Alpha.
    let (_, v) = t.get("sales_a2", "/api/v1/workload").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = t.get("head_b", "/api/v1/workload").await;
    assert!(
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["user_id"] != t.id("sales_a1").as_str())
    );
    // Without credentials: 401 everywhere.
    for path in [
        "/api/v1/my_day",
        "/api/v1/workload",
        "/api/v1/task_views/today",
        "/api/v1/notifications",
        "/api/v1/calendar",
    ] {
        let s = t
            .client
            .get(format!("{}{path}", t.base))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{path}");
    }
}
both!(my_day_lists_what_is_due);

async fn late_repeats_and_who_may_comment(t: TestApp) {
    // A daily task closed three days late: the next one is not already overdue.
    let v = task(
        &t,
        "sales_a1",
        json!({"title": "Daily check", "due_at": in_hours(1), "recurrence": {"every": "day"}}),
    )
    .await;
    let id: hamkor_domain::Id = v["id"].as_str().unwrap().parse().unwrap();
    {
        use hamkor_store::Exec;
        let mut db = t.app.db.clone();
        let three_days_ago =
            hamkor_domain::Timestamp::from_datetime(chrono::Utc::now() - chrono::Duration::days(3));
        db.execute(
            &hamkor_store::Sql::new("UPDATE tasks SET due_at = $1 WHERE id = $2")
                .arg(three_days_ago)
                .arg(id),
        )
        .await
        .unwrap();
    }
    let (s, v) = status(&t, "sales_a1", &id.to_string(), "done", None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, list) = t.get("sales_a1", "/api/v1/tasks?q=Daily&status=open").await;
    let next = list["items"][0]["due_at"].as_str().unwrap();
    let next = chrono::DateTime::parse_from_rfc3339(next).unwrap();
    assert!(next > chrono::Utc::now(), "{next}");
    assert!(
        next < chrono::Utc::now() + chrono::Duration::days(1),
        "{next}"
    );

    // Comments: the author and the assignee; not someone who merely reads the task.
    let v = task(
        &t,
        "sales_a1",
        json!({"title": "Discuss", "assignee_id": t.id("sales_a2")}),
    )
    .await;
    let path = format!("/api/v1/tasks/{}/comments", v["id"].as_str().unwrap());
    for (who, want) in [
        ("sales_a1", StatusCode::CREATED),
        ("sales_a2", StatusCode::CREATED),
        ("viewer", StatusCode::FORBIDDEN),
        ("sales_b", StatusCode::NOT_FOUND),
    ] {
        let (s, v) = t
            .post(who, &path, json!({"body": format!("from {who}")}))
            .await;
        assert_eq!(s, want, "{who}: {v}");
    }
    let (s, v) = t.post("sales_a1", &path, json!({"body": "   "})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = t
        .post(
            "sales_a1",
            &path,
            json!({"body": "x", "author_id": t.id("admin")}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (_, v) = t.get("viewer", &path).await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{v}");
    assert_eq!(items[0]["author_id"], t.id("sales_a1"));
}
both!(late_repeats_and_who_may_comment);
