//! Meetings and the calendar: who sees what (details or busy time), conflicts, time
//! zones, the private iCalendar feed, `.ics` import, and reminders that fire once —
//! after a restart, and with two servers on one database — by banner and by e-mail.

use crate::both;
use crate::smtp::SmtpSink;
use crate::support::TestApp;
use crate::tasks::in_hours;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::BufReader;
use std::time::Duration;

/// Tomorrow at `hh:mm` in Tashkent, as RFC 3339.
fn tomorrow_tashkent(hh: u32, mm: u32) -> String {
    let d = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    format!("{}T{hh:02}:{mm:02}:00+05:00", d.format("%Y-%m-%d"))
}

async fn event(t: &TestApp, who: &str, body: Value) -> String {
    let (s, v) = t.post(who, "/api/v1/events", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_string()
}

async fn page(t: &TestApp, who: &str, path: &str) -> String {
    let cookie = crate::auth::login(
        t,
        &format!("{who}@test.hamkor.uz"),
        crate::support::PASSWORD,
    )
    .await
    .expect("login");
    let resp = t
        .client
        .get(format!("{}{path}", t.base))
        .header("cookie", format!("hamkor_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "{path}");
    resp.text().await.unwrap()
}

async fn meetings_show_busy_time_conflicts_and_local_hours(t: TestApp) {
    let start = tomorrow_tashkent(9, 0);
    let id = event(
        &t,
        "sales_a1",
        json!({"title": "Visit to Chinor LLC", "starts_at": start, "ends_at": tomorrow_tashkent(10, 0),
            "location": "Chilonzor 7", "user_ids": [t.id("sales_a2")]}),
    )
    .await;
    // The organiser and the participant see it; someone else does not.
    assert_eq!(
        t.get("sales_a2", &format!("/api/v1/events/{id}")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        t.get("sales_b", &format!("/api/v1/events/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    // A participant may read it but not change it.
    let (s, _) = t
        .patch(
            "sales_a2",
            &format!("/api/v1/events/{id}"),
            json!({"title": "Mine now"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Others see the time as busy, without the details.
    let q = format!("/api/v1/calendar?users={}", t.id("sales_a1"));
    let (s, v) = t.get("sales_b", &q).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let entry = &v["entries"][0];
    assert_eq!(entry["busy_only"], true, "{v}");
    assert!(entry["event"].is_null());
    assert!(!v.to_string().contains("Chinor"), "{v}");
    // An overlapping meeting is a conflict.
    event(
        &t,
        "sales_a1",
        json!({"title": "Call with the bank", "starts_at": tomorrow_tashkent(9, 30), "ends_at": tomorrow_tashkent(10, 30)}),
    )
    .await;
    let (_, v) = t.get("sales_a1", &q).await;
    assert_eq!(v["entries"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["conflicts"], json!([[0, 1]]), "{v}");
    // Bad times: refused by name, nothing written.
    let before = t.count("events").await;
    for (body, field, code) in [
        (
            json!({"title": "x", "starts_at": tomorrow_tashkent(10, 0), "ends_at": tomorrow_tashkent(9, 0)}),
            "ends_at",
            "end-before-start",
        ),
        (
            json!({"title": "x", "starts_at": in_hours(1), "ends_at": in_hours(24 * 40)}),
            "ends_at",
            "event-too-long",
        ),
        (
            json!({"title": "x", "starts_at": in_hours(1)}),
            "ends_at",
            "required",
        ),
    ] {
        let (s, v) = t.post("sales_a1", "/api/v1/events", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(
            (
                v["errors"][0]["field"].as_str(),
                v["errors"][0]["code"].as_str()
            ),
            (Some(field), Some(code)),
            "{v}"
        );
    }
    assert_eq!(t.count("events").await, before);
    let (s, v) = t
        .get("sales_a1", "/api/v1/calendar?from=2026-01-01&to=2026-12-31")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    // 09:00 in Tashkent is 07:00 in Moscow.
    let (s, v) = t
        .patch(
            "sales_a2",
            "/api/v1/users/me",
            json!({"time_zone": "Europe/Moscow"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let date = &start[..10];
    let html = page(&t, "sales_a2", &format!("/calendar?view=day&date={date}")).await;
    assert!(
        html.contains("07:00–08:00") && html.contains("Visit to Chinor LLC"),
        "{html}"
    );
    let html = page(&t, "sales_a1", &format!("/calendar?view=week&date={date}")).await;
    assert!(
        html.contains("09:00–10:00") && html.contains("class=\"entry conflict"),
        "{html}"
    );
    // The month view and a colleague's calendar (busy only) render too.
    let html = page(
        &t,
        "sales_b",
        &format!(
            "/calendar?view=month&date={date}&who=user:{}",
            t.id("sales_a1")
        ),
    )
    .await;
    assert!(
        html.contains(" busy\"><time>09:00") && !html.contains("Chinor"),
        "{html}"
    );
}
both!(meetings_show_busy_time_conflicts_and_local_hours);

fn parse_feed(text: &str) -> ical::parser::ical::component::IcalCalendar {
    let mut parser = ical::IcalParser::new(BufReader::new(text.as_bytes()));
    let cal = parser.next().expect("a calendar").expect("the feed parses");
    assert!(parser.next().is_none(), "one calendar");
    cal
}

fn prop(props: &[ical::property::Property], name: &str) -> String {
    props
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.clone())
        .unwrap_or_default()
}

async fn the_private_feed_parses_and_can_be_revoked(t: TestApp) {
    event(
        &t,
        "sales_a1",
        json!({"title": "Yig‘ilish: reja, budjet; 2027", "starts_at": tomorrow_tashkent(9, 0),
            "ends_at": tomorrow_tashkent(10, 0), "location": "Toshkent, Amir Temur 1",
            "description": "Kun tartibi:\n1) narxlar\n2) yetkazib berish", "user_ids": [t.id("sales_a2")]}),
    )
    .await;
    let (s, _) = t
        .post(
            "sales_a2",
            "/api/v1/tasks",
            json!({"title": "Send the minutes", "due_at": in_hours(30)}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = t.post("sales_a2", "/api/v1/calendar/feed", json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let url = v["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&t.base) && url.ends_with(".ics"), "{url}");
    let resp = t.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/calendar")
    );
    let text = resp.text().await.unwrap();
    assert!(text.lines().all(|l| l.len() <= 75), "folded lines");
    assert!(text.contains("\r\n"));
    let cal = parse_feed(&text);
    assert_eq!(prop(&cal.properties, "VERSION"), "2.0");
    assert_eq!(cal.events.len(), 2, "{text}");
    let meeting = cal
        .events
        .iter()
        .find(|e| prop(&e.properties, "SUMMARY").starts_with("Yig"))
        .expect("the meeting");
    assert_eq!(
        prop(&meeting.properties, "SUMMARY"),
        "Yig‘ilish: reja\\, budjet\\; 2027"
    );
    assert!(
        prop(&meeting.properties, "DTSTART").ends_with("T040000Z"),
        "{text}"
    );
    assert!(prop(&meeting.properties, "LOCATION").contains("Amir Temur"));
    for required in ["UID", "DTSTAMP", "DTEND", "SEQUENCE", "STATUS"] {
        assert!(
            !prop(&meeting.properties, required).is_empty(),
            "{required}"
        );
    }
    assert!(
        cal.events
            .iter()
            .any(|e| prop(&e.properties, "SUMMARY") == "Send the minutes")
    );
    // Not another user's, and the token is the only key: a made-up one is 404.
    assert!(!text.contains("sales_b"));
    let bad = t
        .client
        .get(format!("{}/ical/nope.ics", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::NOT_FOUND);
    // A new address replaces the old; revoking ends it.
    let (_, v) = t.post("sales_a2", "/api/v1/calendar/feed", json!({})).await;
    let url2 = v["url"].as_str().unwrap().to_string();
    assert_eq!(
        t.client.get(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        t.client.get(&url2).send().await.unwrap().status(),
        StatusCode::OK
    );
    let (s, _, _) = t
        .request(
            "sales_a2",
            reqwest::Method::DELETE,
            "/api/v1/calendar/feed",
            None,
            &[],
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        t.client.get(&url2).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
}
both!(the_private_feed_parses_and_can_be_revoked);

async fn import(t: &TestApp, who: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let resp = t
        .client
        .post(format!("{}/api/v1/calendar/import", t.base))
        .bearer_auth(&t.tokens[who])
        .header("content-type", "text/calendar")
        .body(body)
        .send()
        .await
        .unwrap();
    let s = resp.status();
    let text = resp.text().await.unwrap();
    (
        s,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn ics_files_import_whole_or_not_at_all(t: TestApp) {
    let year = chrono::Utc::now()
        .format("%Y")
        .to_string()
        .parse::<i32>()
        .unwrap()
        + 1;
    let good = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0//EN\r\n\
BEGIN:VEVENT\r\nUID:a1\r\nSUMMARY:Supplier meeting\r\nDTSTART;TZID=Asia/Tashkent:{year}0310T100000\r\nDTEND;TZID=Asia/Tashkent:{year}0310T110000\r\nLOCATION:Office\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a2\r\nSUMMARY:Навруз\r\nDTSTART;VALUE=DATE:{year}0321\r\nDTEND;VALUE=DATE:{year}0322\r\nEND:VEVENT\r\n\
END:VCALENDAR\r\n"
    );
    let before = t.count("events").await;
    let (s, v) = import(&t, "sales_a1", good.clone().into_bytes()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["imported"], 2);
    assert_eq!(t.count("events").await, before + 2);
    let (_, v) = t.get("sales_a1", "/api/v1/events?q=Supplier").await;
    assert_eq!(
        v["items"][0]["starts_at"],
        format!("{year}-03-10T05:00:00.000000Z"),
        "{v}"
    );
    let (_, v) = t.get("sales_a1", "/api/v1/events?q=Навруз").await;
    assert_eq!(v["items"][0]["all_day"], true, "{v}");

    // One bad event among good ones: nothing is imported.
    let half_bad = good.replace(
        "END:VCALENDAR",
        &format!("BEGIN:VEVENT\r\nUID:a3\r\nSUMMARY:Broken\r\nDTSTART:{year}0401T100000Z\r\nDTEND:{year}0401T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR"),
    );
    for (body, code) in [
        (half_bad.into_bytes(), "ics-end-before-start"),
        (b"not a calendar at all".to_vec(), "ics-malformed"),
        (
            good.replace("END:VEVENT\r\nEND:VCALENDAR", "").into_bytes(),
            "ics-malformed",
        ),
        (vec![0xff, 0xfe, 0x00, 0x41], "ics-malformed"),
    ] {
        let (s, v) = import(&t, "sales_a1", body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["errors"][0]["code"], code, "{v}");
        assert_eq!(v["errors"][0]["field"], "file", "{v}");
    }
    // A file over 5 MiB is refused by name, before it is parsed.
    let big = format!(
        "BEGIN:VCALENDAR\r\nX-PAD:{}\r\nEND:VCALENDAR\r\n",
        "a".repeat(5 * 1024 * 1024 + 1000)
    );
    let (s, v) = import(&t, "sales_a1", big.into_bytes()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["code"], "ics-too-large", "{v}");
    // One far over the limit is not even read: 413, or the connection closed mid-upload.
    let huge = format!(
        "BEGIN:VCALENDAR\r\nX-PAD:{}\r\nEND:VCALENDAR\r\n",
        "a".repeat(8 * 1024 * 1024)
    );
    // On a client of its own: the server drops that connection, which must not be the
    // pooled one the next request reuses.
    let sent = reqwest::Client::new()
        .post(format!("{}/api/v1/calendar/import", t.base))
        .bearer_auth(&t.tokens["sales_a1"])
        .header("content-type", "text/calendar")
        .body(huge.into_bytes())
        .send()
        .await;
    if let Ok(r) = sent {
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // A role that may not create meetings imports nothing.
    let (s, _) = import(&t, "viewer", good.into_bytes()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(t.count("events").await, before + 2);
}
both!(ics_files_import_whole_or_not_at_all);

async fn notification_count(t: &TestApp) -> i64 {
    use hamkor_store::Exec;
    let mut db = t.app.db.clone();
    db.fetch_optional(&hamkor_store::Sql::new(
        "SELECT COUNT(*) AS n FROM notifications",
    ))
    .await
    .unwrap()
    .unwrap()
    .req_int("n")
    .unwrap()
}

async fn reminders_fire_once_by_banner_and_mail(t: TestApp) {
    let sink = SmtpSink::start();
    let mailer = hamkor_app::mail::Mailer::new(&sink.settings()).unwrap();
    let server = t.app.clone().with_mail(Some(mailer.clone()), &t.base);
    // Due now (a reminder may be set a little in the past: the time a form takes).
    let remind = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/tasks",
            json!({"title": "Prepare the offer", "assignee_id": t.id("sales_a2"), "due_at": in_hours(2), "remind_at": remind}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let task = v["id"].as_str().unwrap().to_string();
    let done = server.deliver_reminders("server-1").await.unwrap();
    assert_eq!((done.shown, done.emailed), (1, 1), "{done:?}");
    let mail = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail[0].to, vec!["sales_a2@test.hamkor.uz".to_string()]);
    assert!(mail[0].data.contains(&format!("/tasks/{task}")));
    // Delivered once: a second round finds nothing.
    assert_eq!(server.deliver_reminders("server-1").await.unwrap().shown, 0);
    // The banner: the assignee's unread notifications.
    let (_, v) = t.get("sales_a2", "/api/v1/notifications?unread=true").await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{v}");
    assert_eq!(items[0]["title"], "Prepare the offer");
    assert_eq!(items[0]["href"], format!("/tasks/{task}"));
    let nid = items[0]["id"].as_str().unwrap().to_string();
    // Nobody else's to read or dismiss.
    let (_, v) = t.get("sales_a1", "/api/v1/notifications").await;
    assert!(v["items"].as_array().unwrap().is_empty(), "{v}");
    let (s, _) = t
        .post(
            "sales_a1",
            &format!("/api/v1/notifications/{nid}/read"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // "Mark all read" by someone else leaves this one unread.
    let (s, _) = t
        .post("sales_a1", "/api/v1/notifications/read", json!({}))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = t.get("sales_a2", "/api/v1/notifications?unread=true").await;
    assert_eq!(v["items"].as_array().unwrap().len(), 1, "{v}");
    let (s, _) = t
        .post(
            "sales_a2",
            &format!("/api/v1/notifications/{nid}/read"),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, v) = t.get("sales_a2", "/api/v1/notifications?unread=true").await;
    assert!(v["items"].as_array().unwrap().is_empty());

    // A server that claimed a reminder and died: another delivers it once its claim ends.
    let remind = (chrono::Utc::now() - chrono::Duration::seconds(30)).to_rfc3339();
    t.post(
        "sales_a1",
        "/api/v1/tasks",
        json!({"title": "Call the bank", "remind_at": remind}),
    )
    .await;
    {
        let mut tx = t.app.db.begin().await.unwrap();
        let now = hamkor_domain::Timestamp::now();
        let until =
            hamkor_domain::Timestamp::from_datetime(now.0 + chrono::Duration::milliseconds(1500));
        let claimed = hamkor_store::reminders::claim_due(&mut tx, "crashed", now, until, 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 1);
        tx.commit().await.unwrap();
    }
    // A restarted server: a new process on the same database.
    let db = hamkor_store::Db::connect(&t.db_url).await.unwrap();
    let restarted = hamkor_app::App::new(db).with_mail(Some(mailer.clone()), &t.base);
    assert_eq!(
        restarted.deliver_reminders("server-2").await.unwrap().shown,
        0,
        "still claimed"
    );
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(
        restarted.deliver_reminders("server-2").await.unwrap().shown,
        1
    );
    assert_eq!(
        restarted.deliver_reminders("server-2").await.unwrap().shown,
        0
    );
    assert_eq!(notification_count(&t).await, 2);

    // Two servers on one database, many reminders due at once: each delivered once.
    let remind = (chrono::Utc::now() - chrono::Duration::seconds(10)).to_rfc3339();
    let n = 120;
    for i in 0..n {
        let who = ["sales_a1", "sales_a2", "head_a", "sales_b"][i % 4];
        let (s, v) = t
            .post(
                who,
                "/api/v1/tasks",
                json!({"title": format!("Reminder {i}"), "remind_at": remind}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let other = hamkor_app::App::new(hamkor_store::Db::connect(&t.db_url).await.unwrap())
        .with_mail(Some(mailer.clone()), &t.base);
    let a = tokio::spawn({
        let s = server.clone();
        async move {
            let mut total = 0;
            for _ in 0..5 {
                total += s.deliver_reminders("server-1").await.unwrap().shown;
            }
            total
        }
    });
    let b = tokio::spawn(async move {
        let mut total = 0;
        for _ in 0..5 {
            total += other.deliver_reminders("server-3").await.unwrap().shown;
        }
        total
    });
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    assert_eq!(a + b, n, "server one {a}, server two {b}");
    assert_eq!(notification_count(&t).await, 2 + n as i64);
    let mails = sink.wait_for(2 + n, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 2 + n, "each e-mail once");
}
both!(reminders_fire_once_by_banner_and_mail);

async fn birthdays_and_meetings_have_reminders(t: TestApp) {
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    let birthday = format!("1990-{}", tomorrow.format("%m-%d"));
    let contact = t
        .contact(
            "sales_a1",
            "sales_a1",
            json!({"first_name": "Dilnoza", "last_name": "Karimova", "birthday": birthday}),
        )
        .await;
    // A disabled owner is not reminded.
    let gone = t.new_salesperson("gone@test.hamkor.uz").await;
    let (s, v) = t
        .post(
            "admin",
            "/api/v1/contacts",
            json!({"first_name": "Aziz", "last_name": "Umarov", "birthday": birthday, "owner_id": gone}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let theirs: hamkor_domain::Id = v["id"].as_str().unwrap().parse().unwrap();
    t.disable_user(&gone).await;
    assert_eq!(t.app.sweep_dates().await.unwrap(), Some(1));
    // Another server within the hour does not sweep again.
    assert_eq!(t.app.sweep_dates().await.unwrap(), None);
    use hamkor_store::Exec;
    let mut db = t.app.db.clone();
    let none = db
        .fetch_optional(
            &hamkor_store::Sql::new("SELECT id FROM reminders WHERE record_id = $1").arg(theirs),
        )
        .await
        .unwrap();
    assert!(none.is_none(), "a disabled owner was reminded");
    let row = db
        .fetch_optional(
            &hamkor_store::Sql::new(
                "SELECT user_id, kind, due_at FROM reminders WHERE record_id = $1",
            )
            .arg(contact.parse::<hamkor_domain::Id>().unwrap()),
        )
        .await
        .unwrap()
        .expect("a birthday reminder");
    assert_eq!(row.req_text("kind").unwrap(), "birthday");
    assert_eq!(row.req_id("user_id").unwrap().to_string(), t.id("sales_a1"));
    // 09:00 in Tashkent on the day.
    assert_eq!(
        row.req_ts("due_at").unwrap().to_rfc3339(),
        format!("{}T04:00:00.000000Z", tomorrow.format("%Y-%m-%d"))
    );
    // A meeting reminds every participant a quarter of an hour before; moving it moves
    // the reminders, cancelling it removes them.
    let id = event(
        &t,
        "sales_a1",
        json!({"title": "Board", "starts_at": in_hours(3), "ends_at": in_hours(4), "user_ids": [t.id("sales_a2")]}),
    )
    .await;
    let count = |db: hamkor_store::Db, id: String| async move {
        let mut db = db;
        db.fetch_optional(
            &hamkor_store::Sql::new(
                "SELECT COUNT(*) AS n FROM reminders WHERE record_id = $1 AND sent_at IS NULL",
            )
            .arg(id.parse::<hamkor_domain::Id>().unwrap()),
        )
        .await
        .unwrap()
        .unwrap()
        .req_int("n")
        .unwrap()
    };
    assert_eq!(count(t.app.db.clone(), id.clone()).await, 2);
    let (s, _) = t
        .patch(
            "sales_a1",
            &format!("/api/v1/events/{id}"),
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(count(t.app.db.clone(), id.clone()).await, 0);
}
both!(birthdays_and_meetings_have_reminders);

async fn key_dates_remind_the_owner(t: TestApp) {
    // Only an administrator marks a field, and only a date field can be a key date.
    let field = json!({"object": "account", "key": "renewal", "label": "Contract renewal", "kind": "date", "key_date": true});
    let (s, _) = t
        .post("head_a", "/api/v1/custom_fields", field.clone())
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = t
        .post("admin", "/api/v1/custom_fields", json!({"object": "account", "key": "note", "label": "Note", "kind": "text", "key_date": true}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["field"], "key_date");
    let (s, v) = t.post("admin", "/api/v1/custom_fields", field).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["key_date"], true);
    let day = (chrono::Utc::now() + chrono::Duration::days(2)).date_naive();
    let (s, v) = t
        .post(
            "sales_a1",
            "/api/v1/accounts",
            json!({"name": "Renewing LLC", "custom": {"renewal": day.format("%Y-%m-%d").to_string()}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let acc: hamkor_domain::Id = v["id"].as_str().unwrap().parse().unwrap();
    assert!(t.app.sweep_dates().await.unwrap().unwrap() >= 1);
    use hamkor_store::Exec;
    let mut db = t.app.db.clone();
    let row = db
        .fetch_optional(
            &hamkor_store::Sql::new(
                "SELECT user_id, kind, title, due_at FROM reminders WHERE record_id = $1",
            )
            .arg(acc),
        )
        .await
        .unwrap()
        .expect("a key date reminder");
    assert_eq!(row.req_text("kind").unwrap(), "key_date");
    assert_eq!(row.req_text("title").unwrap(), "Contract renewal");
    assert_eq!(row.req_id("user_id").unwrap().to_string(), t.id("sales_a1"));
    assert_eq!(
        row.req_ts("due_at").unwrap().to_rfc3339(),
        format!("{}T04:00:00.000000Z", day.format("%Y-%m-%d"))
    );
}
both!(key_dates_remind_the_owner);
