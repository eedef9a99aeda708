//! Tasks and the calendar: moving a task along (with the comment that goes with it),
//! comments, the "my day" page, team workload, calendars with colleagues' busy time and
//! conflicts, the private iCalendar feed and `.ics` import.

use crate::{App, AppError, AppResult};
use chrono::{Datelike, Duration, NaiveDate, TimeZone};
use hamkor_domain::ical::{self, FeedEvent, FeedTime};
use hamkor_domain::input::RecordInput;
use hamkor_domain::objects::{EVENT, ObjectDef, TASK, TASK_STATUSES};
use hamkor_domain::{Action, FieldError, Id, ObjectType, Scope, Timestamp, ValidationErrors};
use hamkor_store::Actor;
use hamkor_store::planning::{self, CalendarEntry, Comment, TaskView, Workload};
use hamkor_store::records::{self, Record};
use serde_json::{Value, json};

/// The longest comment.
pub const MAX_COMMENT: usize = 5000;

/// What a user's day holds.
#[derive(Debug, Clone)]
pub struct MyDay {
    /// Each task view with its first tasks and its count (capped).
    pub views: Vec<(TaskView, Vec<Record>, i64)>,
    /// Today's meetings (and those still running from yesterday), by start.
    pub meetings: Vec<CalendarEntry>,
}

/// A calendar laid out for one or more people.
#[derive(Debug, Clone)]
pub struct Calendar {
    pub from: Timestamp,
    pub to: Timestamp,
    pub entries: Vec<CalendarEntry>,
    /// Pairs of entries (indexes into `entries`) of one person that overlap.
    pub conflicts: Vec<(usize, usize)>,
    /// Tasks with a deadline in the period (team calendars).
    pub tasks: Vec<Record>,
}

/// Start and end of the local day holding `at`, in UTC.
pub fn day_bounds(tz: chrono_tz::Tz, date: NaiveDate) -> (Timestamp, Timestamp) {
    let start = |d: NaiveDate| {
        let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
        tz.from_local_datetime(&local)
            .earliest()
            .map(|t| Timestamp::from_datetime(t.with_timezone(&chrono::Utc)))
            .unwrap_or_else(|| Timestamp::from_datetime(local.and_utc()))
    };
    (start(date), start(date.succ_opt().unwrap_or(date)))
}

/// The local date of a moment.
pub fn local_date(tz: chrono_tz::Tz, t: Timestamp) -> NaiveDate {
    t.0.with_timezone(&tz).date_naive()
}

fn check_comment(body: &str) -> Result<String, FieldError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(FieldError::new("body", "error-required"));
    }
    if body.chars().count() > MAX_COMMENT {
        return Err(FieldError::new("body", "error-too-long").with("max", MAX_COMMENT));
    }
    if body
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldError::new("body", "error-control-chars"));
    }
    Ok(body.to_string())
}

/// The indexes of entries that overlap another of the same person.
pub fn conflicting(entries: &[CalendarEntry]) -> Vec<usize> {
    let mut out: Vec<usize> = conflicts(entries)
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Overlapping entries of the same person (a cancelled meeting conflicts with nothing).
fn conflicts(entries: &[CalendarEntry]) -> Vec<(usize, usize)> {
    let live =
        |e: &CalendarEntry| e.event.as_ref().and_then(|r| r.status.as_deref()) != Some("cancelled");
    let mut out = Vec::new();
    // Entries come sorted by person, then start.
    for i in 0..entries.len() {
        if !live(&entries[i]) {
            continue;
        }
        for j in i + 1..entries.len() {
            let (a, b) = (&entries[i], &entries[j]);
            if b.user_id != a.user_id || b.starts_at >= a.ends_at {
                break;
            }
            if live(b) {
                out.push((i, j));
            }
        }
    }
    out
}

impl App {
    /// Moves a task to `status`. Only the author accepts, returns (with a comment) or
    /// cancels; the assignee starts and finishes. The comment is kept with the task.
    pub async fn set_task_status(
        &self,
        actor: &Actor,
        id: Id,
        status: &str,
        comment: Option<&str>,
        if_version: Option<i64>,
    ) -> AppResult<Record> {
        let mut db = self.db.clone();
        // An unseen task is 404 whatever is sent.
        records::get(&mut db, actor, &TASK, id).await?;
        if !TASK_STATUSES.contains(&status) {
            return Err(FieldError::new("status", "error-choice")
                .with("options", TASK_STATUSES.join(", "))
                .into());
        }
        let comment = match comment.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Some(check_comment(c).map_err(|mut e| {
                e.field = "comment".into();
                e
            })?),
            None => None,
        };
        let customs = self.custom_fields(ObjectType::Task).await?;
        let mut input = RecordInput::default();
        input.fields.insert("status".into(), json!(status));
        let mut tx = self.db.begin().await?;
        let record = records::update_with(
            &mut tx,
            actor,
            &TASK,
            id,
            input,
            &customs,
            if_version,
            comment.as_deref(),
        )
        .await?;
        if let Some(c) = &comment {
            planning::add_comment(&mut tx, actor, &TASK, id, status, c).await?;
        }
        tx.commit().await?;
        Ok(record)
    }

    /// The comments on a record the actor may see, oldest first.
    pub async fn comments(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
    ) -> AppResult<Vec<Comment>> {
        let mut db = self.db.clone();
        records::get(&mut db, actor, def, id).await?;
        Ok(planning::comments(&mut db, id).await?)
    }

    /// Adds a comment to a record the actor may see.
    pub async fn add_comment(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        id: Id,
        body: &str,
    ) -> AppResult<Id> {
        let body = check_comment(body)?;
        let mut tx = self.db.begin().await?;
        let cid = planning::add_comment(&mut tx, actor, def, id, "comment", &body).await?;
        tx.commit().await?;
        Ok(cid)
    }

    /// One task view (see `TaskView`) with its first `limit` tasks and its count.
    pub async fn task_view(
        &self,
        actor: &Actor,
        tz: chrono_tz::Tz,
        view: TaskView,
        limit: i64,
    ) -> AppResult<(Vec<Record>, i64)> {
        if actor.scope(ObjectType::Task, Action::Read) == Scope::None {
            return Err(AppError::Forbidden);
        }
        let now = Timestamp::now();
        let (_, day_end) = day_bounds(tz, local_date(tz, now));
        let mut db = self.db.clone();
        Ok(planning::task_view(&mut db, actor, view, now, day_end, limit).await?)
    }

    /// The "my day" page: overdue, today's, upcoming and undated tasks, what waits for
    /// the user's acceptance, what they gave others, and today's meetings.
    pub async fn my_day(&self, actor: &Actor, tz: chrono_tz::Tz) -> AppResult<MyDay> {
        let now = Timestamp::now();
        let today = local_date(tz, now);
        let (start, end) = day_bounds(tz, today);
        let mut db = self.db.clone();
        let mut views = Vec::new();
        for (view, limit) in [
            (TaskView::Overdue, 50),
            (TaskView::Today, 50),
            (TaskView::Waiting, 20),
            (TaskView::Upcoming, 20),
            (TaskView::AssignedByMe, 20),
            (TaskView::Someday, 10),
        ] {
            let (items, n) = planning::task_view(&mut db, actor, view, now, end, limit).await?;
            views.push((view, items, n));
        }
        let meetings = planning::calendar(&mut db, actor, &[actor.user_id], start, end).await?;
        Ok(MyDay { views, meetings })
    }

    /// Open and overdue tasks per person the actor may see the tasks of.
    pub async fn workload(
        &self,
        actor: &Actor,
        tz: chrono_tz::Tz,
        team: Option<Id>,
    ) -> AppResult<Vec<Workload>> {
        let now = Timestamp::now();
        let today = local_date(tz, now);
        let week_end = day_bounds(
            tz,
            today + Duration::days(7 - i64::from(today.weekday().num_days_from_monday())),
        )
        .0;
        let mut db = self.db.clone();
        Ok(planning::workload(&mut db, actor, team, now, week_end).await?)
    }

    /// The calendar of `users` (the actor alone when empty) between two moments, with
    /// conflicts marked; `with_tasks` adds their tasks due in the period. Colleagues'
    /// meetings the actor may not read show as busy time only.
    pub async fn calendar(
        &self,
        actor: &Actor,
        users: &[Id],
        from: Timestamp,
        to: Timestamp,
        with_tasks: bool,
    ) -> AppResult<Calendar> {
        if to <= from {
            return Err(FieldError::new("to", "error-end-before-start").into());
        }
        if to.0 - from.0 > Duration::days(62) {
            return Err(FieldError::new("to", "error-period-too-long")
                .with("max", 62)
                .into());
        }
        if users.len() > 200 {
            return Err(FieldError::new("users", "error-too-many")
                .with("max", 200)
                .into());
        }
        let users: Vec<Id> = if users.is_empty() {
            vec![actor.user_id]
        } else {
            users.to_vec()
        };
        let mut db = self.db.clone();
        let entries = planning::calendar(&mut db, actor, &users, from, to).await?;
        let tasks = if with_tasks {
            planning::tasks_due(&mut db, actor, &users, from, to).await?
        } else {
            Vec::new()
        };
        Ok(Calendar {
            from,
            to,
            conflicts: conflicts(&entries),
            entries,
            tasks,
        })
    }

    /// The users of a team (active ones), for team calendars.
    pub async fn team_members(&self, team: Id) -> AppResult<Vec<hamkor_store::users::User>> {
        Ok(self
            .users()
            .await?
            .into_iter()
            .filter(|u| u.team_id == Some(team) && !u.disabled)
            .collect())
    }

    /// Makes (or replaces) the user's private calendar feed token; the old address stops
    /// working at once. The token is shown once and only its hash is kept.
    pub async fn new_feed_token(&self, user: Id) -> AppResult<String> {
        let token = crate::auth::random_secret();
        let hash = hamkor_store::users::hash_secret(&token);
        let mut tx = self.db.begin().await?;
        planning::set_feed_token(&mut tx, user, &hash).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Revokes the user's feed address.
    pub async fn revoke_feed_token(&self, user: Id) -> AppResult<bool> {
        let mut db = self.db.clone();
        Ok(planning::revoke_feed_token(&mut db, user).await?)
    }

    /// When the user's feed address was made, if they have one.
    pub async fn feed_created(&self, user: Id) -> AppResult<Option<Timestamp>> {
        let mut db = self.db.clone();
        Ok(planning::feed_created(&mut db, user).await?)
    }

    /// The iCalendar feed behind a token: the user's meetings from two months back to a
    /// year ahead, and their tasks with a deadline as short events. An unknown or
    /// revoked token, or a disabled user, is `NotFound`.
    pub async fn calendar_feed(&self, token: &str, base_url: &str) -> AppResult<String> {
        if token.len() > 200 {
            return Err(AppError::NotFound);
        }
        let hash = hamkor_store::users::hash_secret(token);
        let mut db = self.db.clone();
        let user_id = planning::feed_user(&mut db, &hash)
            .await?
            .ok_or(AppError::NotFound)?;
        let user = hamkor_store::users::by_id(&mut db, user_id)
            .await?
            .filter(|u| !u.disabled)
            .ok_or(AppError::NotFound)?;
        let actor = hamkor_store::users::actor_for(&user, self.policy().await?);
        let now = Timestamp::now();
        let from = Timestamp::from_datetime(now.0 - Duration::days(60));
        let to = Timestamp::from_datetime(now.0 + Duration::days(365));
        let users = self.users().await?;
        let person = |id: Id| {
            users
                .iter()
                .find(|u| u.id == id)
                .map(|u| (u.name.clone(), Some(u.email.clone())))
        };
        let mut events = Vec::new();
        // A year ahead in steps the calendar query takes; then the meetings in full.
        let mut spans: Vec<(Id, Timestamp, Timestamp)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut start = from;
        while start < to {
            let end = Timestamp::from_datetime((start.0 + Duration::days(62)).min(to.0));
            for e in planning::calendar(&mut db, &actor, &[user.id], start, end).await? {
                if e.event.is_some() && seen.insert(e.event_id) {
                    spans.push((e.event_id, e.starts_at, e.ends_at));
                }
            }
            start = end;
        }
        let ids: Vec<Id> = spans.iter().map(|(id, _, _)| *id).collect();
        let full: std::collections::HashMap<Id, Record> =
            records::records_by_ids(&mut db, &actor, &EVENT, &ids)
                .await?
                .into_iter()
                .map(|r| (r.id, r))
                .collect();
        let tz = hamkor_domain::time::user_zone(Some(&user.time_zone));
        for (id, starts_at, ends_at) in spans {
            let Some(r) = full.get(&id) else { continue };
            let get = |k: &str| r.fields.get(k).and_then(Value::as_str).map(str::to_string);
            let all_day = r.fields.get("all_day").and_then(Value::as_bool) == Some(true);
            let (s, en) = if all_day {
                let sd = local_date(tz, starts_at);
                let mut ed = local_date(tz, ends_at);
                if ed <= sd {
                    ed = sd.succ_opt().unwrap_or(sd);
                }
                (FeedTime::AllDay(sd), FeedTime::AllDay(ed))
            } else {
                (FeedTime::At(starts_at), FeedTime::At(ends_at))
            };
            events.push(FeedEvent {
                uid: format!("{}@hamkor", r.id),
                start: s,
                end: en,
                summary: r.title(),
                description: get("description"),
                location: get("location"),
                url: Some(format!("{base_url}/events/{}", r.id)),
                updated: r.updated_at,
                created: r.created_at,
                sequence: r.version,
                organizer: person(r.owner_id),
                attendees: r.participants().into_iter().filter_map(person).collect(),
                cancelled: get("status").as_deref() == Some("cancelled"),
            });
        }
        let tasks = planning::tasks_due(&mut db, &actor, &[user.id], from, to).await?;
        for t in tasks {
            let Some(due) = t
                .fields
                .get("due_at")
                .and_then(Value::as_str)
                .and_then(Timestamp::parse_rfc3339)
            else {
                continue;
            };
            let status = t.fields.get("status").and_then(Value::as_str).unwrap_or("");
            events.push(FeedEvent {
                uid: format!("{}@hamkor", t.id),
                start: FeedTime::At(Timestamp::from_datetime(due.0 - Duration::minutes(30))),
                end: FeedTime::At(due),
                summary: t.title(),
                description: t
                    .fields
                    .get("description")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                location: None,
                url: Some(format!("{base_url}/tasks/{}", t.id)),
                updated: t.updated_at,
                created: t.created_at,
                sequence: t.version,
                organizer: None,
                attendees: Vec::new(),
                cancelled: status == "cancelled",
            });
        }
        Ok(ical::write_feed(
            &format!("Hamkor — {}", user.name),
            &events,
        ))
    }

    /// Imports the meetings of an `.ics` file into the actor's calendar, all or none.
    /// Returns how many were created.
    pub async fn import_ics(
        &self,
        actor: &Actor,
        tz: chrono_tz::Tz,
        bytes: &[u8],
    ) -> AppResult<usize> {
        if actor.scope(ObjectType::Event, Action::Write) == Scope::None {
            return Err(AppError::Forbidden);
        }
        let events = ical::parse_ics(bytes, tz)?;
        let customs = self.custom_fields(ObjectType::Event).await?;
        let cc = {
            let mut db = self.db.clone();
            hamkor_store::settings::default_country_code(&mut db).await?
        };
        let mut tx = self.db.begin().await?;
        let n = events.len();
        for e in events {
            let time = |t: &FeedTime| match t {
                FeedTime::At(ts) => ts.to_rfc3339(),
                FeedTime::AllDay(d) => day_bounds(tz, *d).0.to_rfc3339(),
            };
            let body = json!({
                "title": if e.summary.trim().is_empty() { "—".to_string() } else { e.summary.chars().take(200).collect::<String>() },
                "starts_at": time(&e.start),
                "ends_at": time(&e.end),
                "all_day": matches!(e.start, FeedTime::AllDay(_)),
                "location": e.location.map(|l| l.chars().take(300).collect::<String>()),
                "description": e.description.map(|d| d.chars().take(20000).collect::<String>()),
            });
            let at_line = |errs: ValidationErrors| {
                let mut out = ValidationErrors::default();
                for mut fe in errs.0 {
                    fe = FieldError::new("file", "error-ics-event")
                        .with("line", e.line)
                        .with("field", fe.field.clone());
                    out.push(fe);
                }
                AppError::Invalid(out)
            };
            let input = hamkor_domain::input::parse_record_input(
                &EVENT,
                &customs,
                &body,
                hamkor_domain::input::Mode::Create,
                &cc,
            )
            .map_err(at_line)?;
            match records::create(&mut tx, actor, &EVENT, input, &customs).await {
                Ok(_) => {}
                Err(hamkor_store::StoreError::Invalid(v)) => return Err(at_line(v)),
                Err(other) => return Err(other.into()),
            }
        }
        tx.commit().await?;
        Ok(n)
    }
}

impl App {
    /// The tasks or meetings about a record, that the actor may see.
    pub async fn about(
        &self,
        actor: &Actor,
        def: &ObjectDef,
        target: Id,
        limit: i64,
    ) -> AppResult<Vec<Record>> {
        let mut db = self.db.clone();
        Ok(planning::about(&mut db, actor, def, target, limit).await?)
    }
}
