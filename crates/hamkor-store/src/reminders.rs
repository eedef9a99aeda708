//! Reminders and the notifications they leave. A reminder is a row with the moment it is
//! due; it is written in the same transaction as the task or meeting it is about, so no
//! write can lose one. Servers claim due rows for a while (`claimed_until`), deliver
//! them, and mark them sent: a restarted server finds what it had not finished, and two
//! servers on one database never deliver the same reminder twice. Each reminder has a
//! unique `key` (a task's deadline for its assignee, a contact's birthday in a year), so
//! servers that create the same reminder create it once.

use crate::db::{Exec, Sql};
use crate::records::Record;
use crate::{Backend, StoreError};
use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use hamkor_domain::{Id, ObjectType, Timestamp, tasks};
use serde_json::Value;

/// What a reminder is about.
pub mod kind {
    pub const TASK_DUE: &str = "task_due";
    pub const EVENT_START: &str = "event_start";
    pub const BIRTHDAY: &str = "birthday";
    pub const KEY_DATE: &str = "key_date";
}

/// The local hour at which date reminders (birthdays, key dates) are due.
pub const DATE_REMINDER_HOUR: u32 = 9;

/// A reminder to write (`dates_due` finds them; `insert_dates` writes them).
#[derive(Debug, Clone)]
pub struct NewReminder {
    key: String,
    user: Id,
    object: ObjectType,
    record: Id,
    kind: &'static str,
    due: Timestamp,
    title: String,
    /// The moment the reminder is about (the deadline, the start).
    at: Option<Timestamp>,
}

async fn insert(tx: &mut impl Exec, r: &NewReminder) -> Result<u64, StoreError> {
    tx.execute(
        &Sql::new(
            "INSERT INTO reminders (id, key, user_id, object, record_id, kind, due_at, title, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key) DO NOTHING",
        )
        .arg(Id::new())
        .arg(r.key.clone())
        .arg(r.user)
        .arg(r.object.as_str())
        .arg(r.record)
        .arg(r.kind)
        .arg(r.due)
        .arg(r.title.clone())
        .arg(r.at),
    )
    .await
}

async fn clear_pending(tx: &mut impl Exec, record: Id) -> Result<(), StoreError> {
    tx.execute(
        &Sql::new("DELETE FROM reminders WHERE record_id = $1 AND sent_at IS NULL").arg(record),
    )
    .await?;
    Ok(())
}

fn ts(record: &Record, name: &str) -> Option<Timestamp> {
    record
        .fields
        .get(name)
        .and_then(Value::as_str)
        .and_then(Timestamp::parse_rfc3339)
}

/// A task's reminder: to its assignee, at `remind_at` or else at the deadline, while the
/// assignee still has work to do.
pub async fn sync_task(tx: &mut impl Exec, task: &Record) -> Result<(), StoreError> {
    clear_pending(tx, task.id).await?;
    let status = task
        .fields
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("open");
    if task.deleted_at.is_some() || !tasks::ACTIVE.contains(&status) {
        return Ok(());
    }
    let Some(due) = ts(task, "remind_at").or_else(|| ts(task, "due_at")) else {
        return Ok(());
    };
    insert(
        tx,
        &NewReminder {
            key: format!("task:{}:{}:{}", task.id, task.owner_id, due.to_storage()),
            user: task.owner_id,
            object: ObjectType::Task,
            record: task.id,
            kind: kind::TASK_DUE,
            due,
            title: task.title(),
            at: ts(task, "due_at"),
        },
    )
    .await?;
    Ok(())
}

/// A meeting's reminders: one to each participant, `remind_before` ahead of the start.
pub async fn sync_event(tx: &mut impl Exec, event: &Record) -> Result<(), StoreError> {
    clear_pending(tx, event.id).await?;
    let cancelled = event.fields.get("status").and_then(Value::as_str) == Some("cancelled");
    let before = event.fields.get("remind_before").and_then(Value::as_i64);
    let (Some(start), Some(before)) = (ts(event, "starts_at"), before) else {
        return Ok(());
    };
    if event.deleted_at.is_some() || cancelled || start < Timestamp::now() {
        return Ok(());
    }
    let due = Timestamp::from_datetime(start.0 - Duration::seconds(before));
    let mut users = vec![event.owner_id];
    for u in event.participants() {
        if !users.contains(&u) {
            users.push(u);
        }
    }
    for u in users {
        insert(
            tx,
            &NewReminder {
                key: format!("event:{}:{}:{}", event.id, u, due.to_storage()),
                user: u,
                object: ObjectType::Event,
                record: event.id,
                kind: kind::EVENT_START,
                due,
                title: event.title(),
                at: Some(start),
            },
        )
        .await?;
    }
    Ok(())
}

/// The moment a date reminder is due: `DATE_REMINDER_HOUR` on that date in the zone.
fn date_due(date: NaiveDate, tz: chrono_tz::Tz) -> Option<Timestamp> {
    let local = date.and_hms_opt(DATE_REMINDER_HOUR, 0, 0)?;
    let t = tz.from_local_datetime(&local).earliest()?;
    Some(Timestamp::from_datetime(t.with_timezone(&chrono::Utc)))
}

/// This year's occurrence of a birthday (29 February is kept on the 28th in other years).
fn birthday_in(birthday: NaiveDate, year: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, birthday.month(), birthday.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, birthday.month(), birthday.day() - 1))
}

/// The days `from ..= to` (at most 31) as `MM-DD`, with `02-29` when the 28th of a
/// February without a 29th is among them (such birthdays are remembered on the 28th).
fn month_days(days: &[NaiveDate]) -> Vec<String> {
    let mut month_days: Vec<String> = days.iter().map(|d| d.format("%m-%d").to_string()).collect();
    if days.iter().any(|d| {
        d.month() == 2 && d.day() == 28 && NaiveDate::from_ymd_opt(d.year(), 2, 29).is_none()
    }) {
        month_days.push("02-29".into());
    }
    month_days
}

fn days_between(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let mut days = Vec::new();
    let mut d = from;
    while d <= to && days.len() < 31 {
        days.push(d);
        d = d.succ_opt().unwrap_or(d);
        if d == from {
            break;
        }
    }
    days
}

/// The contacts whose birthday falls on one of `month_days` (`MM-DD`). The contacts
/// alone, through the index on the birthday's month and day: joined with `users`, SQLite
/// chose at a million contacts to walk every owner's contacts instead (14 s with a cold
/// cache).
fn birthdays_query(b: Backend, month_days: &[String]) -> Sql {
    let mut sql = Sql::new(
        "SELECT c.id, c.first_name, c.last_name, c.birthday, c.owner_id FROM contacts c \
         WHERE c.birthday IS NOT NULL AND c.deleted_at IS NULL AND ",
    );
    match b {
        Backend::Sqlite => sql.push("substr(c.birthday, 6)"),
        Backend::Postgres => sql.push(
            "(EXTRACT(MONTH FROM c.birthday)::int * 100 + EXTRACT(DAY FROM c.birthday)::int)",
        ),
    };
    sql.push(" IN (");
    for (i, md) in month_days.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        match b {
            Backend::Sqlite => sql.bind(md.clone()),
            Backend::Postgres => sql.bind(md.replace('-', "").parse::<i64>().unwrap_or(0)),
        };
    }
    sql.push(")");
    sql
}

/// The time zone of every user who may be reminded (not disabled).
async fn active_zones(
    ex: &mut impl Exec,
) -> Result<std::collections::HashMap<Id, chrono_tz::Tz>, StoreError> {
    let rows = ex
        .fetch_all(&Sql::new("SELECT id, time_zone FROM users WHERE disabled = $1").arg(false))
        .await?;
    let mut zones = std::collections::HashMap::with_capacity(rows.len());
    for r in rows {
        let tz = hamkor_domain::time::user_zone(r.text("time_zone")?.as_deref());
        zones.insert(r.req_id("id")?, tz);
    }
    Ok(zones)
}

/// The reminders of birthdays and key dates falling on the days `from ..= to` (each at
/// `DATE_REMINDER_HOUR` in the owner's time zone), to their owners who are not disabled.
/// Only reads: run it outside the transaction that writes them (`insert_dates`), so a
/// sweep over a large base never holds the writer while it reads.
pub async fn dates_due(
    ex: &mut impl Exec,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<NewReminder>, StoreError> {
    let days = days_between(from, to);
    let zones = active_zones(ex).await?;
    let rows = ex
        .fetch_all(&birthdays_query(ex.backend(), &month_days(&days)))
        .await?;
    let mut due = Vec::new();
    for r in rows {
        let Some(birthday) = r.date("birthday")? else {
            continue;
        };
        let owner = r.req_id("owner_id")?;
        let Some(&tz) = zones.get(&owner) else {
            continue;
        };
        let Some(date) = days
            .iter()
            .copied()
            .find(|d| birthday_in(birthday, d.year()) == Some(*d))
        else {
            continue;
        };
        let Some(at) = date_due(date, tz) else {
            continue;
        };
        let id = r.req_id("id")?;
        let name = [r.text("last_name")?, r.text("first_name")?]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        due.push(NewReminder {
            key: format!("birthday:{id}:{}", date.year()),
            user: owner,
            object: ObjectType::Contact,
            record: id,
            kind: kind::BIRTHDAY,
            due: at,
            title: name,
            at: None,
        });
    }
    key_dates_due(ex, &days, &zones, &mut due).await?;
    Ok(due)
}

/// Reminders of dates held in custom date fields marked as key dates.
async fn key_dates_due(
    ex: &mut impl Exec,
    days: &[NaiveDate],
    zones: &std::collections::HashMap<Id, chrono_tz::Tz>,
    due: &mut Vec<NewReminder>,
) -> Result<(), StoreError> {
    let b = ex.backend();
    let fields = ex
        .fetch_all(
            &Sql::new("SELECT object, key, label FROM custom_fields WHERE key_date = $1 AND kind = 'date'")
                .arg(true),
        )
        .await?;
    for f in fields {
        let Some(object) = ObjectType::parse(&f.req_text("object")?) else {
            continue;
        };
        let def = hamkor_domain::objects::ObjectDef::get(object);
        let key = f.req_text("key")?;
        let label = f.req_text("label")?;
        let mut sql = Sql::new("SELECT t.id, t.owner_id, ");
        crate::dialect::push_custom_value(&mut sql, b, &key, crate::dialect::JsonAs::Text);
        sql.push(" AS kd FROM ")
            .push_ident(def.plural)
            .push(" t WHERE t.deleted_at IS NULL AND ");
        crate::dialect::push_custom_value(&mut sql, b, &key, crate::dialect::JsonAs::Text);
        sql.push(" IN (");
        for (i, d) in days.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(d.format("%Y-%m-%d").to_string());
        }
        sql.push(")");
        for r in ex.fetch_all(&sql).await? {
            let Some(date) = r
                .text("kd")?
                .and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
            else {
                continue;
            };
            let owner = r.req_id("owner_id")?;
            let Some(&tz) = zones.get(&owner) else {
                continue;
            };
            let Some(at) = date_due(date, tz) else {
                continue;
            };
            let id = r.req_id("id")?;
            due.push(NewReminder {
                key: format!("keydate:{key}:{id}:{date}"),
                user: owner,
                object,
                record: id,
                kind: kind::KEY_DATE,
                due: at,
                title: label.clone(),
                at: None,
            });
        }
    }
    Ok(())
}

/// Writes date reminders found by `dates_due`; one already written (by an earlier sweep
/// or another server) is left as it is. Returns how many were new.
pub async fn insert_dates(tx: &mut impl Exec, due: &[NewReminder]) -> Result<u64, StoreError> {
    let mut written = 0;
    for r in due {
        written += insert(tx, r).await?;
    }
    Ok(written)
}

/// Runs a periodic job on at most one server: moves the job's next run from a moment
/// already passed to `next`, and says whether this caller did it.
pub async fn claim_schedule(
    ex: &mut impl Exec,
    name: &'static str,
    now: Timestamp,
    next: Timestamp,
) -> Result<bool, StoreError> {
    ex.execute(
        &Sql::new("INSERT INTO schedules (name, next_run_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .arg(name)
            .arg(now),
    )
    .await?;
    let n = ex
        .execute(
            &Sql::new(
                "UPDATE schedules SET next_run_at = $1 WHERE name = $2 AND next_run_at <= $3",
            )
            .arg(next)
            .arg(name)
            .arg(now),
        )
        .await?;
    Ok(n == 1)
}

/// A reminder claimed for delivery.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: Id,
    pub user_id: Id,
    pub object: ObjectType,
    pub record_id: Id,
    pub kind: String,
    pub title: String,
    pub due_at: Timestamp,
    pub at: Option<Timestamp>,
    pub attempts: i64,
}

/// Claims up to `limit` due reminders for `server` until `until`: nobody else delivers
/// them meanwhile; if this server dies, they are due again after `until`.
pub async fn claim_due(
    ex: &mut impl Exec,
    server: &str,
    now: Timestamp,
    until: Timestamp,
    limit: i64,
) -> Result<Vec<Due>, StoreError> {
    let b = ex.backend();
    let mut sql = Sql::new("UPDATE reminders SET claimed_by = ");
    sql.bind(server.to_string())
        .push(", claimed_until = ")
        .bind(until)
        .push(", attempts = attempts + 1 WHERE id IN (SELECT id FROM reminders WHERE sent_at IS NULL AND due_at <= ")
        .bind(now)
        .push(" AND (claimed_until IS NULL OR claimed_until < ")
        .bind(now)
        .push(") ORDER BY due_at LIMIT ")
        .bind(limit);
    if b == Backend::Postgres {
        sql.push(" FOR UPDATE SKIP LOCKED");
    }
    sql.push(") AND sent_at IS NULL AND (claimed_until IS NULL OR claimed_until <= ")
        .bind(until)
        .push(") RETURNING id, user_id, object, record_id, kind, title, due_at, at, attempts");
    let rows = ex.fetch_all(&sql).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(object) = ObjectType::parse(&r.req_text("object")?) else {
            continue;
        };
        out.push(Due {
            id: r.req_id("id")?,
            user_id: r.req_id("user_id")?,
            object,
            record_id: r.req_id("record_id")?,
            kind: r.req_text("kind")?,
            title: r.req_text("title")?,
            due_at: r.req_ts("due_at")?,
            at: r.ts("at")?,
            attempts: r.req_int("attempts")?,
        });
    }
    Ok(out)
}

/// Marks a claimed reminder delivered and leaves its notification, once: `false` when
/// it was delivered already or is no longer this server's (the task changed meanwhile).
pub async fn mark_sent(
    tx: &mut impl Exec,
    server: &str,
    due: &Due,
    emailed: bool,
    error: Option<&str>,
) -> Result<bool, StoreError> {
    let now = Timestamp::now();
    let n = tx
        .execute(
            &Sql::new(
                "UPDATE reminders SET sent_at = $1, last_error = $2 \
                 WHERE id = $3 AND claimed_by = $4 AND sent_at IS NULL",
            )
            .arg(now)
            .arg(error.map(str::to_string))
            .arg(due.id)
            .arg(server.to_string()),
        )
        .await?;
    if n == 0 {
        return Ok(false);
    }
    tx.execute(
        &Sql::new(
            "INSERT INTO notifications (id, user_id, reminder_id, kind, object, record_id, title, at, created_at, emailed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (reminder_id) DO NOTHING",
        )
        .arg(Id::new())
        .arg(due.user_id)
        .arg(due.id)
        .arg(due.kind.clone())
        .arg(due.object.as_str())
        .arg(due.record_id)
        .arg(due.title.clone())
        .arg(due.at)
        .arg(now)
        .arg(emailed.then_some(now)),
    )
    .await?;
    Ok(true)
}

/// Leaves a claimed reminder for a later attempt (its claim runs out at `retry_at`).
pub async fn retry_later(
    ex: &mut impl Exec,
    server: &str,
    due: &Due,
    retry_at: Timestamp,
    error: &str,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new(
            "UPDATE reminders SET claimed_until = $1, last_error = $2 WHERE id = $3 AND claimed_by = $4 AND sent_at IS NULL",
        )
        .arg(retry_at)
        .arg(error.to_string())
        .arg(due.id)
        .arg(server.to_string()),
    )
    .await?;
    Ok(())
}

/// A notification shown to a user.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Notification {
    pub id: Id,
    pub kind: String,
    pub object: Option<String>,
    pub record_id: Option<Id>,
    pub title: String,
    pub at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// A user's notifications, newest first: unread only, or all.
pub async fn notifications(
    ex: &mut impl Exec,
    user: Id,
    unread_only: bool,
    limit: i64,
) -> Result<Vec<Notification>, StoreError> {
    let mut sql = Sql::new(
        "SELECT id, kind, object, record_id, title, at, created_at, read_at FROM notifications WHERE user_id = $1",
    )
    .arg(user);
    if unread_only {
        sql.push(" AND read_at IS NULL");
    }
    sql.push(" ORDER BY created_at DESC LIMIT ").bind(limit);
    let rows = ex.fetch_all(&sql).await?;
    rows.iter()
        .map(|r| {
            Ok(Notification {
                id: r.req_id("id")?,
                kind: r.req_text("kind")?,
                object: r.text("object")?,
                record_id: r.id("record_id")?,
                title: r.req_text("title")?,
                at: r.ts("at")?,
                created_at: r.req_ts("created_at")?,
                read_at: r.ts("read_at")?,
            })
        })
        .collect()
}

/// Marks a user's notification read (`None`: all of them). Another user's is untouched.
pub async fn mark_read(ex: &mut impl Exec, user: Id, id: Option<Id>) -> Result<u64, StoreError> {
    let mut sql =
        Sql::new("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
            .arg(Timestamp::now())
            .arg(user);
    if let Some(id) = id {
        sql.push(" AND id = ").bind(id);
    }
    ex.execute(&sql).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `sqlite_stat1` rows of `contacts` and `users` in a generated base of a million
    /// contacts (`hamkor generate`, then grown by benchmark runs), as `ANALYZE` with its
    /// row limit left them.
    const MILLION_CONTACTS_STATS: &[(&str, &str, &str)] = &[
        ("users", "users_team", "11 4"),
        ("users", "sqlite_autoindex_users_3", "11 11"),
        ("users", "sqlite_autoindex_users_2", "11 1"),
        ("users", "sqlite_autoindex_users_1", "11 1"),
        ("contacts", "contacts_updated", "1120791 1 1"),
        (
            "contacts",
            "contacts_owner_last_name",
            "1097440 1001 1001 1",
        ),
        ("contacts", "contacts_owner", "1123668 1001 1"),
        ("contacts", "contacts_last_name", "1541760 1001 1"),
        ("contacts", "contacts_first_name", "1643400 1001 1"),
        ("contacts", "contacts_created", "1120791 1 1"),
        ("contacts", "contacts_birthday", "417774 1001"),
        ("contacts", "sqlite_autoindex_contacts_1", "784350 1"),
    ];

    /// The birthdays of a few days are read through the index on month and day, not by
    /// walking every contact: with these statistics the query joined with `users` walked
    /// each owner's contacts, 14 s at a million contacts with a cold cache, and did so
    /// inside the writer's transaction.
    #[tokio::test]
    async fn birthdays_are_read_through_their_index() {
        let file = crate::test_support::TempSqlite::new("birthdays");
        let db = crate::Db::connect(&file.url()).await.unwrap();
        db.migrate().await.unwrap();
        let mut ex = db.clone();
        ex.execute(&Sql::new("ANALYZE")).await.unwrap();
        ex.execute(&Sql::new("DELETE FROM sqlite_stat1"))
            .await
            .unwrap();
        for (tbl, idx, stat) in MILLION_CONTACTS_STATS {
            ex.execute(
                &Sql::new("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ($1, $2, $3)")
                    .arg(*tbl)
                    .arg(*idx)
                    .arg(*stat),
            )
            .await
            .unwrap();
        }
        // The planner reads the statistics again on the next connection it opens.
        db.close().await;
        let db = crate::Db::connect(&file.url()).await.unwrap();
        let mut ex = db.clone();
        let days = days_between(
            NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
        );
        let mut explain = Sql::new("EXPLAIN QUERY PLAN ");
        explain.append(birthdays_query(Backend::Sqlite, &month_days(&days)));
        let plan: Vec<String> = ex
            .fetch_all(&explain)
            .await
            .unwrap()
            .iter()
            .map(|r| r.req_text("detail").unwrap())
            .collect();
        assert!(
            plan.iter()
                .any(|d| d.contains("USING INDEX contacts_birthday"))
                && !plan.iter().any(|d| d.starts_with("SCAN")),
            "{plan:?}"
        );
        db.close().await;
    }

    #[test]
    fn the_days_of_a_sweep() {
        let d = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(
            month_days(&days_between(d(2027, 2, 27), d(2027, 3, 1))),
            ["02-27", "02-28", "03-01", "02-29"]
        );
        assert_eq!(
            month_days(&days_between(d(2028, 2, 28), d(2028, 2, 29))),
            ["02-28", "02-29"]
        );
        assert_eq!(days_between(d(2026, 1, 1), d(2027, 1, 1)).len(), 31);
    }
}
