//! The rules tasks and meetings add to the generic record repository: a task's status
//! moves only as `hamkor_domain::tasks` allows and only by the right person, deadlines
//! lie ahead, a repeating task's next occurrence is created when one is closed, a
//! meeting ends after it starts, and both keep their reminders (and a meeting its
//! participants' calendar rows) in step, in the same transaction as the write.

use crate::access::Actor;
use crate::db::{Exec, Sql};
use crate::records::Record;
use crate::{StoreError, reminders};
use chrono::{Duration, NaiveDateTime, TimeZone};
use hamkor_domain::input::RecordInput;
use hamkor_domain::recurrence::Recurrence;
use hamkor_domain::tasks::{self, TaskRole};
use hamkor_domain::{Action, FieldError, Id, ObjectType, Timestamp, ValidationErrors};
use serde_json::{Value, json};

/// How far in the past a deadline or a reminder may be set (the time a form takes to
/// fill in, and clocks that differ a little).
const PAST_SLACK: Duration = Duration::minutes(5);

/// The longest a meeting may last.
pub const MAX_EVENT_DAYS: i64 = 31;

/// A meeting's reminder when none is chosen: a quarter of an hour before.
pub const DEFAULT_REMIND_BEFORE: i64 = 15 * 60;

/// A user's time zone (the zone deadlines repeat in).
pub async fn user_tz(ex: &mut impl Exec, user: Id) -> Result<chrono_tz::Tz, StoreError> {
    let tz = ex
        .fetch_optional(&Sql::new("SELECT time_zone FROM users WHERE id = $1").arg(user))
        .await?
        .map(|r| r.text("time_zone"))
        .transpose()?
        .flatten();
    Ok(hamkor_domain::time::user_zone(tz.as_deref()))
}

fn ts_field(input: &RecordInput, current: Option<&Record>, name: &str) -> Option<Timestamp> {
    input
        .fields
        .get(name)
        .or_else(|| current.and_then(|c| c.fields.get(name)))
        .and_then(Value::as_str)
        .and_then(Timestamp::parse_rfc3339)
}

fn changed(input: &RecordInput, current: Option<&Record>, name: &str) -> bool {
    match input.fields.get(name) {
        None => false,
        Some(v) => current.is_none_or(|c| c.fields.get(name).unwrap_or(&Value::Null) != v),
    }
}

/// The part the actor plays in a task.
pub fn task_role(actor: &Actor, task: &Record) -> TaskRole {
    let in_team = actor.team_id.is_some() && task.team() == actor.team_id;
    TaskRole {
        author: task.created_by == actor.user_id,
        assignee: task.owner_id == actor.user_id
            || actor.allows(
                ObjectType::Task,
                Action::Write,
                task.owner_id,
                task.owner_team(),
            )
            || in_team,
    }
}

/// Does this patch of a task change nothing but its status (a move that the task rules,
/// not the role's write scope, decide)?
pub fn status_only(object: ObjectType, input: &RecordInput) -> bool {
    object == ObjectType::Task
        && input.custom.is_empty()
        && input.owner_id.is_none()
        && input.account_links.is_none()
        && input.fields.keys().all(|k| k == "status")
}

/// Checks a task or meeting before it is written and fills what the system sets.
/// `author` is who the task is by (the actor on create).
pub async fn prepare(
    tx: &mut impl Exec,
    actor: &Actor,
    object: ObjectType,
    current: Option<&Record>,
    input: &mut RecordInput,
    comment: Option<&str>,
) -> Result<(), StoreError> {
    match object {
        ObjectType::Task => prepare_task(tx, actor, current, input, comment).await,
        ObjectType::Event => prepare_event(current, input),
        ObjectType::Deal => crate::sales::prepare_deal(tx, current, input).await,
        ObjectType::Product => crate::sales::prepare_product(current, input),
        ObjectType::Lead => crate::leads::prepare_lead(current, input),
        ObjectType::Document => {
            let days = crate::documents::settings(tx).await?.invoice_days;
            crate::documents::prepare_document(tx, current, input, days).await
        }
        _ => Ok(()),
    }
}

async fn prepare_task(
    tx: &mut impl Exec,
    actor: &Actor,
    current: Option<&Record>,
    input: &mut RecordInput,
    comment: Option<&str>,
) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::default();
    let now = Timestamp::now();
    let past = Timestamp(now.0 - PAST_SLACK);
    for name in ["due_at", "remind_at"] {
        if changed(input, current, name)
            && let Some(t) = ts_field(input, None, name)
            && t < past
        {
            errors.push(FieldError::new(name, "error-in-past"));
        }
    }
    match current {
        None => {
            match input.fields.get("status").and_then(Value::as_str) {
                None | Some("open") => {}
                Some(other) => errors.push(
                    FieldError::new("status", "error-transition")
                        .with("from", "")
                        .with("to", other),
                ),
            }
            input.fields.insert("status".into(), json!("open"));
            if input.fields.get("priority").is_none_or(Value::is_null) {
                input.fields.insert("priority".into(), json!("normal"));
            }
        }
        Some(task) => {
            let from = task
                .fields
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("open");
            if let Some(to) = input.fields.get("status").and_then(Value::as_str)
                && to != from
            {
                let role = task_role(actor, task);
                match tasks::check_transition(from, to, role, comment) {
                    // A move that is someone else's to make: refused like any other
                    // action the user's part does not allow.
                    Err(e) if e.key == "error-transition-forbidden" => {
                        return Err(StoreError::Forbidden);
                    }
                    Err(e) => errors.push(e),
                    Ok(()) => {
                        // A team member who starts or finishes a team's task takes it.
                        if task.owner_id != actor.user_id
                            && role.assignee
                            && !role.author
                            && actor.team_id.is_some()
                            && task.team() == actor.team_id
                            && input.owner_id.is_none()
                            && ["in_progress", "done"].contains(&to)
                        {
                            input.owner_id = Some(actor.user_id);
                        }
                        let completed = match to {
                            "done" => Value::String(now.to_rfc3339()),
                            "accepted" | "cancelled" => task
                                .fields
                                .get("completed_at")
                                .filter(|v| !v.is_null())
                                .cloned()
                                .unwrap_or_else(|| Value::String(now.to_rfc3339())),
                            _ => Value::Null,
                        };
                        input.fields.insert("completed_at".into(), completed);
                    }
                }
            } else if input.fields.get("status").is_some_and(Value::is_null) {
                input.fields.remove("status");
            }
        }
    }
    if (changed(input, current, "recurrence")
        || (current.is_some() && changed(input, current, "due_at")))
        && let Some(rule) = input
            .fields
            .get("recurrence")
            .or_else(|| current.and_then(|c| c.fields.get("recurrence")))
            .filter(|v| !v.is_null())
            .cloned()
    {
        match ts_field(input, current, "due_at") {
            None => errors.push(FieldError::new(
                "recurrence",
                "error-recurrence-needs-deadline",
            )),
            Some(due) => {
                let author = current.map(|c| c.created_by).unwrap_or(actor.user_id);
                let tz = user_tz(tx, author).await?;
                let local = due.0.with_timezone(&tz).naive_local();
                let anchored = Recurrence::parse(&rule).and_then(|r| {
                    Recurrence {
                        day: None,
                        month: None,
                        ..r
                    }
                    .anchor(local)
                });
                match anchored {
                    Ok(r) => {
                        input.fields.insert(
                            "recurrence".into(),
                            serde_json::to_value(r).unwrap_or(Value::Null),
                        );
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
    }
    errors.into_result().map_err(StoreError::Invalid)
}

fn prepare_event(current: Option<&Record>, input: &mut RecordInput) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::default();
    if current.is_none() {
        if input.fields.get("status").is_none_or(Value::is_null) {
            input.fields.insert("status".into(), json!("planned"));
        }
        if !input.fields.contains_key("remind_before") {
            input
                .fields
                .insert("remind_before".into(), json!(DEFAULT_REMIND_BEFORE));
        }
    }
    if (changed(input, current, "starts_at") || changed(input, current, "ends_at"))
        && let (Some(start), Some(end)) = (
            ts_field(input, current, "starts_at"),
            ts_field(input, current, "ends_at"),
        )
    {
        if end <= start {
            errors.push(FieldError::new("ends_at", "error-end-before-start"));
        } else if end.0 - start.0 > Duration::days(MAX_EVENT_DAYS) {
            errors.push(
                FieldError::new("ends_at", "error-event-too-long").with("max", MAX_EVENT_DAYS),
            );
        }
    }
    errors.into_result().map_err(StoreError::Invalid)
}

/// Keeps what follows from a task, meeting or deal in step after it was written
/// (created, changed, trashed or restored): reminders, calendar rows, stage history.
/// `record` is what was written, `previous` what it was before a change.
pub async fn after_write(
    tx: &mut impl Exec,
    actor: &Actor,
    record: &Record,
    previous: Option<&Record>,
) -> Result<(), StoreError> {
    match record.object {
        ObjectType::Deal => crate::sales::after_write(tx, actor, record, previous).await,
        ObjectType::Task => reminders::sync_task(tx, record).await,
        ObjectType::Event => {
            write_event_users(tx, record).await?;
            reminders::sync_event(tx, record).await
        }
        _ => Ok(()),
    }
}

/// Rewrites a meeting's rows in `event_users` (none while it is in the trash).
async fn write_event_users(tx: &mut impl Exec, event: &Record) -> Result<(), StoreError> {
    tx.execute(&Sql::new("DELETE FROM event_users WHERE event_id = $1").arg(event.id))
        .await?;
    if event.deleted_at.is_some() {
        return Ok(());
    }
    let (Some(start), Some(end)) = (
        event
            .fields
            .get("starts_at")
            .and_then(Value::as_str)
            .and_then(Timestamp::parse_rfc3339),
        event
            .fields
            .get("ends_at")
            .and_then(Value::as_str)
            .and_then(Timestamp::parse_rfc3339),
    ) else {
        return Ok(());
    };
    let mut users = vec![event.owner_id];
    for u in event.participants() {
        if !users.contains(&u) {
            users.push(u);
        }
    }
    for u in users {
        tx.execute(
            &Sql::new(
                "INSERT INTO event_users (event_id, user_id, starts_at, ends_at) VALUES ($1, $2, $3, $4)",
            )
            .arg(event.id)
            .arg(u)
            .arg(start)
            .arg(end),
        )
        .await?;
    }
    Ok(())
}

/// The next occurrence of a repeating task that has just been closed, as the input of a
/// new task: same title, assignee, team, link and checklist (unticked), the next deadline
/// in the author's time zone. `None` when the task does not repeat, the series has
/// ended, or the next one exists already.
pub async fn next_occurrence(
    tx: &mut impl Exec,
    task: &Record,
) -> Result<Option<(RecordInput, Id)>, StoreError> {
    let status = task
        .fields
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !tasks::completes_occurrence(status, task.created_by == task.owner_id) {
        return Ok(None);
    }
    let Some(rule) = task
        .fields
        .get("recurrence")
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value::<Recurrence>(v.clone()).ok())
    else {
        return Ok(None);
    };
    let Some(due) = task
        .fields
        .get("due_at")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse_rfc3339)
    else {
        return Ok(None);
    };
    let series = task
        .fields
        .get("series_id")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<Id>().ok())
        .unwrap_or(task.id);
    let occurrence = task
        .fields
        .get("occurrence")
        .and_then(Value::as_i64)
        .unwrap_or(1)
        .max(1);
    let exists = tx
        .fetch_optional(
            &Sql::new("SELECT id FROM tasks WHERE series_id = $1 AND occurrence = $2")
                .arg(series)
                .arg(occurrence + 1),
        )
        .await?
        .is_some();
    if exists {
        return Ok(None);
    }
    let tz = user_tz(tx, task.created_by).await?;
    let local: NaiveDateTime = due.0.with_timezone(&tz).naive_local();
    let occurrence_no = u32::try_from(occurrence).unwrap_or(u32::MAX);
    let Some(mut next_local) = rule.next(local, occurrence_no) else {
        return Ok(None);
    };
    // A task closed late does not leave its next occurrence already overdue: the series
    // moves on to its first date after today (as many steps as it takes, within reason).
    let today_local = Timestamp::now().0.with_timezone(&tz).naive_local();
    let mut skipped = 0u32;
    while next_local < today_local && skipped < 1000 {
        skipped += 1;
        match rule.next(next_local, occurrence_no.saturating_add(skipped)) {
            Some(n) => next_local = n,
            None => return Ok(None),
        }
    }
    let Some(next) = tz.from_local_datetime(&next_local).earliest().or_else(|| {
        tz.from_local_datetime(&(next_local + Duration::hours(1)))
            .earliest()
    }) else {
        return Ok(None);
    };
    let next = Timestamp::from_datetime(next.with_timezone(&chrono::Utc));
    let mut input = RecordInput::default();
    for k in [
        "title",
        "priority",
        "team_id",
        "related",
        "description",
        "recurrence",
    ] {
        if let Some(v) = task.fields.get(k).filter(|v| !v.is_null()) {
            input.fields.insert(k.into(), v.clone());
        }
    }
    if let Some(Value::Array(items)) = task.fields.get("checklist") {
        let fresh: Vec<Value> = items
            .iter()
            .map(|i| json!({"text": i.get("text").cloned().unwrap_or(Value::Null), "done": false}))
            .collect();
        input.fields.insert("checklist".into(), Value::Array(fresh));
    }
    // The reminder keeps its distance from the deadline.
    if let Some(remind) = task
        .fields
        .get("remind_at")
        .and_then(Value::as_str)
        .and_then(Timestamp::parse_rfc3339)
    {
        let lead = due.0 - remind.0;
        input.fields.insert(
            "remind_at".into(),
            json!(Timestamp::from_datetime(next.0 - lead).to_rfc3339()),
        );
    }
    input.fields.insert("status".into(), json!("open"));
    input
        .fields
        .insert("due_at".into(), json!(next.to_rfc3339()));
    input
        .fields
        .insert("series_id".into(), json!(series.to_string()));
    input
        .fields
        .insert("occurrence".into(), json!(occurrence + 1));
    input.owner_id = Some(task.owner_id);
    Ok(Some((input, task.created_by)))
}

/// Writes a comment on a record the actor takes part in (a task's author or assignee, a
/// meeting's participant) or may change; one they cannot see is `NotFound`.
pub async fn add_comment(
    tx: &mut impl Exec,
    actor: &Actor,
    def: &hamkor_domain::objects::ObjectDef,
    record: Id,
    kind: &str,
    body: &str,
) -> Result<Id, StoreError> {
    // Whoever takes part may discuss it; merely reading is not enough.
    let r = crate::records::get(tx, actor, def, record).await?;
    let part = match r.object {
        ObjectType::Task => {
            let role = task_role(actor, &r);
            role.author || role.assignee
        }
        ObjectType::Event => r.participants().contains(&actor.user_id),
        _ => false,
    };
    if !part && !r.allows(actor, Action::Write) {
        return Err(StoreError::Forbidden);
    }
    let (object, author) = (def.object, actor.user_id);
    let id = Id::new();
    tx.execute(
        &Sql::new(
            "INSERT INTO comments (id, object, record_id, author_id, kind, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .arg(id)
        .arg(object.as_str())
        .arg(record)
        .arg(author)
        .arg(kind.to_string())
        .arg(body.to_string())
        .arg(Timestamp::now()),
    )
    .await?;
    Ok(id)
}

/// One comment, with its author's name.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Comment {
    pub id: Id,
    pub author_id: Id,
    pub author_name: String,
    pub kind: String,
    pub body: String,
    pub created_at: Timestamp,
}

/// A record's comments, oldest first (the caller has checked the actor may see it).
pub async fn comments(ex: &mut impl Exec, record: Id) -> Result<Vec<Comment>, StoreError> {
    let rows = ex
        .fetch_all(
            &Sql::new(
                "SELECT c.id, c.author_id, u.name, c.kind, c.body, c.created_at FROM comments c \
                 JOIN users u ON u.id = c.author_id WHERE c.record_id = $1 \
                 ORDER BY c.created_at, c.id LIMIT 1000",
            )
            .arg(record),
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Comment {
                id: r.req_id("id")?,
                author_id: r.req_id("author_id")?,
                author_name: r.req_text("name")?,
                kind: r.req_text("kind")?,
                body: r.req_text("body")?,
                created_at: r.req_ts("created_at")?,
            })
        })
        .collect()
}

/// The task lists of a user's day and of their work with others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskView {
    /// Mine, unfinished, past their deadline (earliest first).
    Overdue,
    /// Mine, unfinished, due between now and the end of my day.
    Today,
    /// Mine, unfinished, due after today.
    Upcoming,
    /// Mine, unfinished, with no deadline.
    Someday,
    /// Given by me to others and not yet finished.
    AssignedByMe,
    /// Done by others, waiting for me to accept or return.
    Waiting,
    /// My team's unfinished tasks (assigned to its members or to the team).
    Team,
}

impl TaskView {
    pub const ALL: [TaskView; 7] = [
        TaskView::Overdue,
        TaskView::Today,
        TaskView::Upcoming,
        TaskView::Someday,
        TaskView::AssignedByMe,
        TaskView::Waiting,
        TaskView::Team,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            TaskView::Overdue => "overdue",
            TaskView::Today => "today",
            TaskView::Upcoming => "upcoming",
            TaskView::Someday => "someday",
            TaskView::AssignedByMe => "assigned_by_me",
            TaskView::Waiting => "waiting",
            TaskView::Team => "team",
        }
    }
    pub fn parse(s: &str) -> Option<TaskView> {
        TaskView::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// How many a view counts at most (more shows as "10,000+").
pub const VIEW_COUNT_CAP: i64 = 10_000;

/// One task view for the actor: the first `limit` tasks and how many there are (counted
/// up to `VIEW_COUNT_CAP`). `now` and `day_end` (the end of the actor's day) bound the
/// deadline views. Unfinished tasks are read through a partial index (migration 0014)
/// whose condition the statement repeats word for word.
pub async fn task_view(
    ex: &mut impl Exec,
    actor: &Actor,
    view: TaskView,
    now: Timestamp,
    day_end: Timestamp,
    limit: i64,
) -> Result<(Vec<Record>, i64), StoreError> {
    use hamkor_domain::objects::TASK;
    let b = ex.backend();
    let active = " AND t.status IN ('open', 'in_progress', 'returned') AND t.deleted_at IS NULL";
    // The deadline as the index holds it (no deadline sorts last); "no deadline" is
    // tested on the same expression so the index answers it too.
    let (due, none) = match b {
        crate::Backend::Sqlite => (
            "COALESCE(t.due_at, '9999-12-31T00:00:00.000000Z')",
            "'9999-12-31T00:00:00.000000Z'",
        ),
        crate::Backend::Postgres => (
            "COALESCE(t.due_at, TIMESTAMPTZ '9999-12-31 00:00:00+00')",
            "TIMESTAMPTZ '9999-12-31 00:00:00+00'",
        ),
    };
    let conditions = |sql: &mut Sql| {
        match view {
            TaskView::Overdue | TaskView::Today | TaskView::Upcoming | TaskView::Someday => {
                sql.push(" AND t.owner_id = ")
                    .bind(actor.user_id)
                    .push(active);
                match view {
                    TaskView::Overdue => {
                        sql.push(" AND ").push(due).push(" < ").bind(now);
                    }
                    TaskView::Today => {
                        sql.push(" AND ")
                            .push(due)
                            .push(" >= ")
                            .bind(now)
                            .push(" AND ")
                            .push(due)
                            .push(" < ")
                            .bind(day_end);
                    }
                    TaskView::Upcoming => {
                        sql.push(" AND ")
                            .push(due)
                            .push(" >= ")
                            .bind(day_end)
                            .push(" AND ")
                            .push(due)
                            .push(" < ")
                            .push(none);
                    }
                    _ => {
                        sql.push(" AND ").push(due).push(" = ").push(none);
                    }
                }
            }
            // Tasks given to others, through the partial index `tasks_given` (migration
            // 0015), whose condition `created_by <> owner_id` is repeated here.
            TaskView::AssignedByMe => {
                sql.push(" AND t.created_by = ")
                    .bind(actor.user_id)
                    .push(" AND t.created_by <> t.owner_id")
                    .push(active);
            }
            TaskView::Waiting => {
                sql.push(" AND t.created_by = ")
                    .bind(actor.user_id)
                    .push(" AND t.created_by <> t.owner_id AND t.status = 'done' AND t.deleted_at IS NULL");
            }
            TaskView::Team => {
                match actor.team_id {
                    Some(team) => {
                        sql.push(" AND (t.team_id = ")
                            .bind(team)
                            .push(" OR t.owner_id IN (SELECT id FROM users WHERE team_id = ")
                            .bind(team)
                            .push("))");
                    }
                    None => {
                        sql.push(" AND t.owner_id = ").bind(actor.user_id);
                    }
                }
                sql.push(active);
            }
        }
        crate::records::push_read_scope(sql, actor, &TASK);
    };
    let mut sql = Sql::new("SELECT ");
    crate::records::push_columns(&mut sql, &TASK, actor, b);
    sql.push(" FROM tasks t WHERE 1 = 1");
    conditions(&mut sql);
    sql.push(" ORDER BY ")
        .push(due)
        .push(", t.id LIMIT ")
        .bind(limit);
    let rows = ex.fetch_all(&sql).await?;
    let items = rows
        .iter()
        .map(|r| crate::records::from_row(&TASK, r))
        .collect::<Result<Vec<_>, _>>()?;
    let mut count = Sql::new("SELECT COUNT(*) AS n FROM (SELECT 1 FROM tasks t WHERE 1 = 1");
    conditions(&mut count);
    count.push(" LIMIT ").bind(VIEW_COUNT_CAP).push(") capped");
    let n = ex
        .fetch_optional(&count)
        .await?
        .map(|r| r.req_int("n"))
        .transpose()?
        .unwrap_or(0);
    Ok((items, n))
}

/// Open tasks and overdue ones per person of a team (or of everyone, for `None`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Workload {
    pub user_id: Id,
    pub name: String,
    pub open: i64,
    pub overdue: i64,
    pub due_this_week: i64,
}

/// The workload of the users the actor may see the tasks of: with team scope, their
/// team; with all, everyone; otherwise just themselves.
pub async fn workload(
    ex: &mut impl Exec,
    actor: &Actor,
    team: Option<Id>,
    now: Timestamp,
    week_end: Timestamp,
) -> Result<Vec<Workload>, StoreError> {
    let mut sql = Sql::new(
        "SELECT u.id, u.name, \
         (SELECT COUNT(*) FROM tasks t WHERE t.owner_id = u.id AND t.status IN ('open', 'in_progress', 'returned') AND t.deleted_at IS NULL) AS open_n, \
         (SELECT COUNT(*) FROM tasks t WHERE t.owner_id = u.id AND t.status IN ('open', 'in_progress', 'returned') AND t.deleted_at IS NULL AND t.due_at < ",
    );
    sql.bind(now)
        .push(") AS overdue_n, (SELECT COUNT(*) FROM tasks t WHERE t.owner_id = u.id AND t.status IN ('open', 'in_progress', 'returned') AND t.deleted_at IS NULL AND t.due_at >= ")
        .bind(now)
        .push(" AND t.due_at < ")
        .bind(week_end)
        .push(") AS week_n FROM users u WHERE u.disabled = ")
        .bind(false);
    match actor.scope(ObjectType::Task, Action::Read) {
        hamkor_domain::Scope::All => {}
        hamkor_domain::Scope::Team if actor.team_id.is_some() => {
            sql.push(" AND u.team_id = ").bind(actor.team_id);
        }
        _ => {
            sql.push(" AND u.id = ").bind(actor.user_id);
        }
    }
    if let Some(team) = team {
        sql.push(" AND u.team_id = ").bind(team);
    }
    sql.push(" ORDER BY u.name LIMIT 500");
    let rows = ex.fetch_all(&sql).await?;
    rows.iter()
        .map(|r| {
            Ok(Workload {
                user_id: r.req_id("id")?,
                name: r.req_text("name")?,
                open: r.req_int("open_n")?,
                overdue: r.req_int("overdue_n")?,
                due_this_week: r.req_int("week_n")?,
            })
        })
        .collect()
}

/// One block of someone's time in a calendar: a meeting they are in, with the meeting
/// itself when the actor may see it (otherwise just "busy").
#[derive(Debug, Clone)]
pub struct CalendarEntry {
    pub user_id: Id,
    pub event_id: Id,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    /// Shared by the entries of every participant shown.
    pub event: Option<std::sync::Arc<EventSummary>>,
}

/// What a calendar shows of a meeting the actor may read (the whole record is at
/// `records::get`): reading a month of meetings in full took most of the page's time.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EventSummary {
    pub id: Id,
    pub title: String,
    pub location: Option<String>,
    pub status: Option<String>,
    pub all_day: bool,
    pub owner_id: Id,
}

/// The summaries of the meetings among `ids` that the actor may read.
async fn event_summaries(
    ex: &mut impl Exec,
    actor: &Actor,
    ids: &[Id],
) -> Result<Vec<EventSummary>, StoreError> {
    use hamkor_domain::objects::EVENT;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT t.id, t.title, t.location, t.status, t.all_day, t.owner_id FROM events t \
             WHERE t.deleted_at IS NULL AND t.id IN (",
        );
        for (i, id) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(*id);
        }
        sql.push(")");
        crate::records::push_read_scope(&mut sql, actor, &EVENT);
        for r in ex.fetch_all(&sql).await? {
            out.push(EventSummary {
                id: r.req_id("id")?,
                title: r.req_text("title")?,
                location: r.text("location")?,
                status: r.text("status")?,
                all_day: r.opt_bool("all_day")?.unwrap_or(false),
                owner_id: r.req_id("owner_id")?,
            });
        }
    }
    Ok(out)
}

/// The meetings of `users` that overlap `from .. to`, each user's by start. Busy time is
/// shown for everyone listed; details only for the meetings the actor may read.
pub async fn calendar(
    ex: &mut impl Exec,
    actor: &Actor,
    users: &[Id],
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<CalendarEntry>, StoreError> {
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let earliest = Timestamp::from_datetime(from.0 - Duration::days(MAX_EVENT_DAYS));
    // `event_users` holds live meetings only (trashing one removes its rows), so the
    // covering index `event_users_span` answers this without reading `events`.
    let mut sql = Sql::new(
        "SELECT eu.user_id, eu.event_id, eu.starts_at, eu.ends_at FROM event_users eu \
         WHERE eu.user_id IN (",
    );
    for (i, u) in users.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*u);
    }
    sql.push(") AND eu.starts_at < ")
        .bind(to)
        .push(" AND eu.starts_at > ")
        .bind(earliest)
        .push(" AND eu.ends_at > ")
        .bind(from)
        .push(" ORDER BY eu.user_id, eu.starts_at LIMIT 20000");
    let rows = ex.fetch_all(&sql).await?;
    let mut entries = Vec::with_capacity(rows.len());
    let mut ids: Vec<Id> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for r in &rows {
        let event_id = r.req_id("event_id")?;
        if seen.insert(event_id) {
            ids.push(event_id);
        }
        entries.push(CalendarEntry {
            user_id: r.req_id("user_id")?,
            event_id,
            starts_at: r.req_ts("starts_at")?,
            ends_at: r.req_ts("ends_at")?,
            event: None,
        });
    }
    let visible = event_summaries(ex, actor, &ids).await?;
    let by_id: std::collections::HashMap<Id, std::sync::Arc<EventSummary>> = visible
        .into_iter()
        .map(|r| (r.id, std::sync::Arc::new(r)))
        .collect();
    for e in &mut entries {
        e.event = by_id.get(&e.event_id).cloned();
    }
    Ok(entries)
}

/// The tasks with a deadline in `from .. to` of the given users that the actor may see
/// (for team calendars).
pub async fn tasks_due(
    ex: &mut impl Exec,
    actor: &Actor,
    users: &[Id],
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Record>, StoreError> {
    use hamkor_domain::objects::TASK;
    if users.is_empty() {
        return Ok(Vec::new());
    }
    let b = ex.backend();
    let mut sql = Sql::new("SELECT ");
    crate::records::push_columns(&mut sql, &TASK, actor, b);
    sql.push(" FROM tasks t WHERE t.deleted_at IS NULL AND t.status NOT IN ('cancelled') AND t.owner_id IN (");
    for (i, u) in users.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(*u);
    }
    sql.push(") AND t.due_at >= ")
        .bind(from)
        .push(" AND t.due_at < ")
        .bind(to);
    crate::records::push_read_scope(&mut sql, actor, &TASK);
    sql.push(" ORDER BY t.due_at, t.id LIMIT 5000");
    let rows = ex.fetch_all(&sql).await?;
    rows.iter()
        .map(|r| crate::records::from_row(&TASK, r))
        .collect()
}

/// Replaces a user's calendar feed token (by its hash).
pub async fn set_feed_token(tx: &mut impl Exec, user: Id, hash: &str) -> Result<(), StoreError> {
    tx.execute(&Sql::new("DELETE FROM calendar_feeds WHERE user_id = $1").arg(user))
        .await?;
    tx.execute(
        &Sql::new(
            "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES ($1, $2, $3)",
        )
        .arg(user)
        .arg(hash.to_string())
        .arg(Timestamp::now()),
    )
    .await?;
    Ok(())
}

/// Removes a user's calendar feed token; whether there was one.
pub async fn revoke_feed_token(ex: &mut impl Exec, user: Id) -> Result<bool, StoreError> {
    Ok(ex
        .execute(&Sql::new("DELETE FROM calendar_feeds WHERE user_id = $1").arg(user))
        .await?
        > 0)
}

/// When the user's feed token was made.
pub async fn feed_created(ex: &mut impl Exec, user: Id) -> Result<Option<Timestamp>, StoreError> {
    ex.fetch_optional(
        &Sql::new("SELECT created_at FROM calendar_feeds WHERE user_id = $1").arg(user),
    )
    .await?
    .map(|r| r.req_ts("created_at"))
    .transpose()
}

/// The user a feed token hash belongs to.
pub async fn feed_user(ex: &mut impl Exec, hash: &str) -> Result<Option<Id>, StoreError> {
    ex.fetch_optional(
        &Sql::new("SELECT user_id FROM calendar_feeds WHERE token_hash = $1").arg(hash.to_string()),
    )
    .await?
    .map(|r| r.req_id("user_id"))
    .transpose()
}

/// The tasks or meetings (by `def`) about one record (`related.id`), that the actor may
/// see: tasks unfinished first by deadline, meetings latest first.
pub async fn about(
    ex: &mut impl Exec,
    actor: &Actor,
    def: &hamkor_domain::objects::ObjectDef,
    target: Id,
    limit: i64,
) -> Result<Vec<Record>, StoreError> {
    let b = ex.backend();
    let mut sql = Sql::new("SELECT ");
    crate::records::push_columns(&mut sql, def, actor, b);
    sql.push(" FROM ")
        .push_ident(def.plural)
        .push(" t WHERE t.deleted_at IS NULL AND ");
    match b {
        crate::Backend::Sqlite => sql.push("json_extract(t.related, '$.id') = "),
        crate::Backend::Postgres => sql.push("(t.related->>'id') = "),
    };
    sql.bind(target.to_string());
    crate::records::push_read_scope(&mut sql, actor, def);
    if def.object == ObjectType::Task {
        sql.push(
            " ORDER BY CASE WHEN t.status IN ('open', 'in_progress', 'returned', 'done') THEN 0 ELSE 1 END, ",
        );
        match b {
            crate::Backend::Sqlite => sql.push("COALESCE(t.due_at, '9999-12-31T00:00:00.000000Z')"),
            crate::Backend::Postgres => {
                sql.push("COALESCE(t.due_at, TIMESTAMPTZ '9999-12-31 00:00:00+00')")
            }
        };
    } else {
        sql.push(" ORDER BY t.starts_at DESC");
    }
    sql.push(", t.id LIMIT ").bind(limit);
    let rows = ex.fetch_all(&sql).await?;
    rows.iter()
        .map(|r| crate::records::from_row(def, r))
        .collect()
}
