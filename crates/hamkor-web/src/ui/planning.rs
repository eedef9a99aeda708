//! Pages for planning work: "my day", the calendar (day, week, month; a person's or a
//! team's, with colleagues' busy time and conflicts), team workload, a task's status
//! moves, checklist and comments, and the calendar settings (private feed, `.ics`
//! import).

use super::records::app_error_page;
use super::{Frame, render};
use crate::AppState;
use crate::auth::{Caller, UiForm, UiUpload, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{Datelike, Duration, NaiveDate};
use hamkor_app::AppError;
use hamkor_app::tasks::{day_bounds, local_date};
use hamkor_domain::objects::{EVENT, ObjectDef, TASK};
use hamkor_domain::tasks::check_transition;
use hamkor_domain::{Action, Id, ObjectType, Timestamp};
use hamkor_store::planning::{CalendarEntry, TaskView, task_role};
use hamkor_store::records::Record;
use hamkor_store::users::User;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/my-day", get(my_day))
        .route("/calendar", get(calendar))
        .route("/workload", get(workload))
        .route("/tasks/{id}/status", post(task_status))
        .route("/tasks/{id}/checklist", post(task_checklist))
        .route(
            "/tasks/{id}/comments",
            post(|s: State<AppState>, p: Path<String>, f: UiForm| comment(&TASK, s, p, f)),
        )
        .route(
            "/events/{id}/comments",
            post(|s: State<AppState>, p: Path<String>, f: UiForm| comment(&EVENT, s, p, f)),
        )
        .route("/settings/calendar", get(settings_page).post(settings_post))
        .route(
            "/settings/calendar/import",
            post(import).layer(axum::extract::DefaultBodyLimit::max(
                hamkor_domain::ical::MAX_ICS_BYTES + 1024 * 1024,
            )),
        )
}

/// A task as a row of a list.
pub struct TaskRow {
    pub id: String,
    pub href: String,
    pub title: String,
    pub due: String,
    pub overdue: bool,
    pub priority: String,
    pub priority_label: String,
    pub status: String,
    pub status_label: String,
    pub assignee: String,
    pub author: String,
    /// Status moves the viewer may make from the list: (status, label).
    pub actions: Vec<(String, String)>,
}

fn field<'a>(r: &'a Record, k: &str) -> &'a str {
    r.fields.get(k).and_then(Value::as_str).unwrap_or("")
}

fn user_name(users: &[User], id: Id) -> String {
    users
        .iter()
        .find(|u| u.id == id)
        .map(|u| u.name.clone())
        .unwrap_or_default()
}

/// The moves a viewer may make on a task without writing a comment.
fn quick_actions(loc: &Loc, c: &Caller, r: &Record) -> Vec<(String, String)> {
    let role = task_role(&c.actor, r);
    let from = field(r, "status");
    ["in_progress", "done", "accepted"]
        .into_iter()
        .filter(|to| *to != from && check_transition(from, to, role, None).is_ok())
        .map(|to| (to.to_string(), loc.t(&format!("task-do-{to}"))))
        .collect()
}

fn task_row(loc: &Loc, c: &Caller, users: &[User], r: &Record, now: Timestamp) -> TaskRow {
    let due = Timestamp::parse_rfc3339(field(r, "due_at"));
    let status = field(r, "status").to_string();
    let priority = field(r, "priority").to_string();
    TaskRow {
        id: r.id.to_string(),
        href: format!("/tasks/{}", r.id),
        title: r.title(),
        due: due.map(|t| loc.datetime(&t)).unwrap_or_default(),
        overdue: due.is_some_and(|t| t < now)
            && hamkor_domain::tasks::ACTIVE.contains(&status.as_str()),
        priority_label: if priority.is_empty() {
            String::new()
        } else {
            loc.t(&format!("choice-{priority}"))
        },
        priority,
        status_label: loc.t(&format!("choice-{status}")),
        status,
        assignee: user_name(users, r.owner_id),
        author: user_name(users, r.created_by),
        actions: quick_actions(loc, c, r),
    }
}

/// The task list page filtered like a view.
fn view_list_href(view: TaskView, me: Id, now: Timestamp, day_end: Timestamp) -> String {
    let enc = |t: Timestamp| urlencoding::encode(&t.to_rfc3339()).into_owned();
    let active = "status%5Bin%5D=open,in_progress,returned";
    match view {
        TaskView::Overdue => format!(
            "/tasks?owner_id={me}&{active}&due_at%5Blt%5D={}&sort=due_at",
            enc(now)
        ),
        TaskView::Today => format!(
            "/tasks?owner_id={me}&{active}&due_at%5Bgte%5D={}&due_at%5Blt%5D={}&sort=due_at",
            enc(now),
            enc(day_end)
        ),
        TaskView::Upcoming => format!(
            "/tasks?owner_id={me}&{active}&due_at%5Bgte%5D={}&due_at%5Bnull%5D=false&sort=due_at",
            enc(day_end)
        ),
        TaskView::Someday => format!("/tasks?owner_id={me}&{active}&due_at%5Bnull%5D=true"),
        TaskView::AssignedByMe => format!("/tasks?created_by={me}&{active}&sort=due_at"),
        TaskView::Waiting => format!("/tasks?created_by={me}&status=done&sort=due_at"),
        TaskView::Team => format!("/tasks?{active}&sort=due_at"),
    }
}

pub struct TaskSection {
    pub key: String,
    /// The whole list, as a filtered task list.
    pub more: String,
    pub title: String,
    pub count: i64,
    pub capped: bool,
    pub rows: Vec<TaskRow>,
}

/// A meeting as a line of a day.
pub struct MeetingRow {
    pub href: Option<String>,
    pub time: String,
    pub title: String,
    pub place: String,
    pub conflict: bool,
    pub cancelled: bool,
}

fn meeting_row(loc: &Loc, e: &CalendarEntry, conflict: bool) -> MeetingRow {
    let tz = loc.tz;
    let time = |t: Timestamp| t.0.with_timezone(&tz).format("%H:%M").to_string();
    let event = e.event.as_deref();
    MeetingRow {
        href: event.map(|r| format!("/events/{}", r.id)),
        time: if event.is_some_and(|r| r.all_day) {
            loc.t("all-day")
        } else {
            format!("{}–{}", time(e.starts_at), time(e.ends_at))
        },
        title: match event {
            Some(r) => r.title.clone(),
            None => loc.t("busy"),
        },
        place: event.and_then(|r| r.location.clone()).unwrap_or_default(),
        conflict,
        cancelled: event.is_some_and(|r| r.status.as_deref() == Some("cancelled")),
    }
}

#[derive(Template)]
#[template(path = "myday.html")]
struct MyDayPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    today: String,
    sections: Vec<TaskSection>,
    meetings: Vec<MeetingRow>,
}

async fn my_day(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    let loc = c.loc;
    let day = match s.app.my_day(&c.actor, loc.tz).await {
        Ok(d) => d,
        Err(e) => return app_error_page(&c, e),
    };
    let users = s.app.users().await.unwrap_or_default();
    let now = Timestamp::now();
    let day_end = day_bounds(loc.tz, local_date(loc.tz, now)).1;
    let sections = day
        .views
        .iter()
        .map(|(view, items, count)| TaskSection {
            key: view.as_str().to_string(),
            more: view_list_href(*view, c.user.id, now, day_end),
            title: loc.t(&format!("view-{}", view.as_str())),
            count: *count,
            capped: *count >= hamkor_store::planning::VIEW_COUNT_CAP,
            rows: items
                .iter()
                .map(|r| task_row(&loc, &c, &users, r, now))
                .collect(),
        })
        .collect();
    let conflicts = hamkor_app::tasks::conflicting(&day.meetings);
    let meetings = day
        .meetings
        .iter()
        .enumerate()
        .map(|(i, e)| meeting_row(&loc, e, conflicts.contains(&i)))
        .collect();
    let frame = Frame::for_caller(&c);
    render(&MyDayPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        today: loc.date(local_date(loc.tz, now)),
        sections,
        meetings,
    })
}

/// One day of a calendar.
pub struct DayCell {
    pub date: String,
    pub label: String,
    pub in_month: bool,
    pub today: bool,
    pub meetings: Vec<MeetingRow>,
    /// Meetings of the day not shown (see the day view).
    pub more: usize,
    pub tasks: Vec<(String, String, String)>,
}

/// One person's row of a team calendar.
pub struct PersonRow {
    pub name: String,
    pub days: Vec<DayCell>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    view: String,
    title: String,
    date: String,
    prev: String,
    next: String,
    today: String,
    who: String,
    people: Vec<(String, String)>,
    teams: Vec<(String, String)>,
    /// Day or week or month of one person: weeks of days.
    weeks: Vec<Vec<DayCell>>,
    /// A team's week: one row per person.
    team_rows: Vec<PersonRow>,
    weekdays: Vec<String>,
    conflicts: usize,
    error: Option<String>,
    can_add: bool,
}

fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

async fn calendar(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let loc = c.loc;
    let tz = loc.tz;
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let today = local_date(tz, Timestamp::now());
    let date = NaiveDate::parse_from_str(&get("date"), "%Y-%m-%d").unwrap_or(today);
    let view = match get("view").as_str() {
        "day" => "day",
        "month" => "month",
        _ => "week",
    };
    let who = get("who");
    let users = s.app.users().await.unwrap_or_default();
    let teams = s.app.teams().await.unwrap_or_default();
    // Whose calendar: mine, a colleague's (`user:ID`) or a team's (`team:ID`).
    let mut shown: Vec<Id> = Vec::new();
    let mut team_view = false;
    if let Some(id) = who.strip_prefix("user:").and_then(|x| x.parse::<Id>().ok()) {
        shown.push(id);
    } else if let Some(id) = who.strip_prefix("team:").and_then(|x| x.parse::<Id>().ok()) {
        shown = users
            .iter()
            .filter(|u| u.team_id == Some(id) && !u.disabled)
            .map(|u| u.id)
            .collect();
        team_view = true;
    }
    if shown.is_empty() && !team_view {
        shown.push(c.user.id);
    }
    let (first, last, prev, next) = match (view, team_view) {
        ("day", false) => (
            date,
            date,
            date - Duration::days(1),
            date + Duration::days(1),
        ),
        ("month", false) => {
            let first_of = date.with_day(1).unwrap_or(date);
            let next_month = (first_of + Duration::days(32))
                .with_day(1)
                .unwrap_or(first_of);
            let prev_month = (first_of - Duration::days(1))
                .with_day(1)
                .unwrap_or(first_of);
            let start = monday(first_of);
            let end = monday(next_month - Duration::days(1)) + Duration::days(6);
            (start, end, prev_month, next_month)
        }
        _ => {
            let start = monday(date);
            (
                start,
                start + Duration::days(6),
                start - Duration::days(7),
                start + Duration::days(7),
            )
        }
    };
    let from = day_bounds(tz, first).0;
    let to = day_bounds(tz, last).1;
    let (cal, error) = match s.app.calendar(&c.actor, &shown, from, to, team_view).await {
        Ok(cal) => (Some(cal), None),
        Err(AppError::Invalid(v)) => (None, Some(loc.errors(&v))),
        Err(e) => return app_error_page(&c, e),
    };
    let conflicts: std::collections::HashSet<usize> = cal
        .as_ref()
        .map(|c| c.conflicts.iter().flat_map(|(a, b)| [*a, *b]).collect())
        .unwrap_or_default();
    // Each entry under every local day it touches, so a day reads only its own.
    let mut by_day: std::collections::HashMap<NaiveDate, Vec<usize>> =
        std::collections::HashMap::new();
    if let Some(cal) = &cal {
        for (i, e) in cal.entries.iter().enumerate() {
            let from_day = local_date(tz, e.starts_at).max(first);
            // An end at midnight belongs to the day before.
            let end = Timestamp::from_datetime(e.ends_at.0 - Duration::microseconds(1));
            let to_day = local_date(tz, end).min(last);
            let mut d = from_day;
            while d <= to_day {
                by_day.entry(d).or_default().push(i);
                d = d.succ_opt().unwrap_or(d + Duration::days(1));
            }
        }
    }
    // A month shows a few meetings a day and how many more; the day view shows them all.
    let per_day = match view {
        "month" => 6,
        "week" => 16,
        _ => usize::MAX,
    };
    let cell = |d: NaiveDate, person: Option<Id>| -> DayCell {
        let (ds, de) = day_bounds(tz, d);
        let mut meetings = Vec::new();
        let mut more = 0;
        let mut tasks = Vec::new();
        if let Some(cal) = &cal {
            for &i in by_day.get(&d).map(Vec::as_slice).unwrap_or(&[]) {
                let e = &cal.entries[i];
                if person.is_some_and(|p| p != e.user_id) {
                    continue;
                }
                if meetings.len() >= per_day {
                    more += 1;
                    continue;
                }
                meetings.push(meeting_row(&loc, e, conflicts.contains(&i)));
            }
            for t in &cal.tasks {
                let Some(due) = Timestamp::parse_rfc3339(field(t, "due_at")) else {
                    continue;
                };
                if person.is_some_and(|p| p != t.owner_id) || due < ds || due >= de {
                    continue;
                }
                tasks.push((
                    format!("/tasks/{}", t.id),
                    due.0.with_timezone(&tz).format("%H:%M").to_string(),
                    t.title(),
                ));
            }
        }
        DayCell {
            date: d.format("%Y-%m-%d").to_string(),
            label: if view == "month" && !team_view {
                d.day().to_string()
            } else {
                loc.date(d)
            },
            in_month: view != "month" || d.month() == date.month(),
            today: d == today,
            meetings,
            more,
            tasks,
        }
    };
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| *d <= last).collect();
    let mut weeks = Vec::new();
    let mut team_rows = Vec::new();
    if team_view {
        for u in &shown {
            team_rows.push(PersonRow {
                name: user_name(&users, *u),
                days: days.iter().map(|d| cell(*d, Some(*u))).collect(),
            });
        }
    } else {
        for chunk in days.chunks(7) {
            weeks.push(chunk.iter().map(|d| cell(*d, None)).collect());
        }
    }
    let weekdays = (0..7).map(|i| loc.t(&format!("weekday-{i}"))).collect();
    let title = match (view, team_view) {
        ("month", false) => format!(
            "{} {}",
            loc.t(&format!("month-{}", date.month())),
            date.year()
        ),
        ("day", false) => loc.date(date),
        _ => format!("{} – {}", loc.date(first), loc.date(last)),
    };
    let frame = Frame::for_caller(&c);
    render(&CalendarPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        view: view.to_string(),
        title,
        date: date.format("%Y-%m-%d").to_string(),
        prev: prev.format("%Y-%m-%d").to_string(),
        next: next.format("%Y-%m-%d").to_string(),
        today: today.format("%Y-%m-%d").to_string(),
        who,
        people: users
            .iter()
            .filter(|u| !u.disabled && u.id != c.user.id)
            .map(|u| (format!("user:{}", u.id), u.name.clone()))
            .collect(),
        teams: teams
            .iter()
            .map(|t| (format!("team:{}", t.id), t.name.clone()))
            .collect(),
        weeks,
        team_rows,
        weekdays,
        conflicts: cal.as_ref().map(|c| c.conflicts.len()).unwrap_or(0),
        error,
        can_add: c.actor.scope(ObjectType::Event, Action::Write) != hamkor_domain::Scope::None,
    })
}

#[derive(Template)]
#[template(path = "workload.html")]
struct WorkloadPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    rows: Vec<hamkor_store::planning::Workload>,
    teams: Vec<(String, String, bool)>,
}

async fn workload(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let team = q
        .iter()
        .find(|(k, _)| k == "team")
        .and_then(|(_, v)| v.parse::<Id>().ok());
    let rows = match s.app.workload(&c.actor, c.loc.tz, team).await {
        Ok(r) => r,
        Err(e) => return app_error_page(&c, e),
    };
    let teams = s
        .app
        .teams()
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.id.to_string(), t.name, Some(t.id) == team))
        .collect();
    let frame = Frame::for_caller(&c);
    render(&WorkloadPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        rows,
        teams,
    })
}

/// Where a form sends the user back to: a local path it named, or the record.
fn back(f: &UiForm, fallback: String) -> String {
    let to = f.get("return_to");
    if to.is_empty() {
        fallback
    } else {
        super::safe_next(Some(to))
    }
}

async fn task_status(State(s): State<AppState>, Path(id): Path<String>, f: UiForm) -> Response {
    let c = &f.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    let comment = Some(f.get("comment")).filter(|x| !x.trim().is_empty());
    let version = f.get("version").parse::<i64>().ok();
    match s
        .app
        .set_task_status(&c.actor, id, f.get("status"), comment, version)
        .await
    {
        Ok(_) => Redirect::to(&back(&f, format!("/tasks/{id}"))).into_response(),
        Err(AppError::Invalid(v)) => super::message(
            Frame::for_caller(c),
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            c.loc.t("task-move-refused"),
            c.loc.errors(&v),
        ),
        Err(e) => app_error_page(c, e),
    }
}

/// Ticks or unticks one checklist step (`item`), by whoever may change the task.
async fn task_checklist(State(s): State<AppState>, Path(id): Path<String>, f: UiForm) -> Response {
    let c = &f.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    let task = match s.app.get_record(&c.actor, &TASK, id).await {
        Ok(t) => t,
        Err(e) => return app_error_page(c, e),
    };
    let mut items = task
        .fields
        .get("checklist")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(item) = f
        .get("item")
        .parse::<usize>()
        .ok()
        .and_then(|i| items.get_mut(i))
    else {
        return app_error_page(c, AppError::NotFound);
    };
    let done = item.get("done").and_then(Value::as_bool) == Some(true);
    item["done"] = json!(!done);
    let body = json!({ "checklist": items });
    let version = f.get("version").parse::<i64>().ok();
    match s
        .app
        .update_record(&c.actor, &TASK, id, &body, version)
        .await
    {
        Ok(_) => Redirect::to(&format!("/tasks/{id}#checklist")).into_response(),
        Err(e) => app_error_page(c, e),
    }
}

async fn comment(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    Path(id): Path<String>,
    f: UiForm,
) -> Response {
    let c = &f.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    match s.app.add_comment(&c.actor, def, id, f.get("body")).await {
        Ok(_) => Redirect::to(&format!("/{}/{id}#comments", def.plural)).into_response(),
        Err(AppError::Invalid(v)) => super::message(
            Frame::for_caller(c),
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            c.loc.t("comment-refused"),
            c.loc.errors(&v),
        ),
        Err(e) => app_error_page(c, e),
    }
}

/// What a task or meeting page adds: moves, checklist, comments.
pub struct WorkPanel {
    pub plural: &'static str,
    pub status_label: String,
    pub version: i64,
    /// (status, label, needs a comment)
    pub actions: Vec<(String, String, bool)>,
    pub checklist: Vec<(usize, String, bool)>,
    pub can_tick: bool,
    pub comments: Vec<(String, String, String, String)>,
    pub waiting_note: Option<String>,
}

/// The panel of a task or meeting page.
pub(crate) async fn work_panel(s: &AppState, c: &Caller, r: &Record) -> Option<WorkPanel> {
    let loc = &c.loc;
    let def = ObjectDef::get(r.object);
    if !matches!(r.object, ObjectType::Task | ObjectType::Event) {
        return None;
    }
    let comments = s
        .app
        .comments(&c.actor, def, r.id)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|cm| {
            let kind = if cm.kind == "comment" {
                String::new()
            } else {
                loc.t(&format!("choice-{}", cm.kind))
            };
            (cm.author_name, loc.datetime(&cm.created_at), kind, cm.body)
        })
        .collect();
    let mut panel = WorkPanel {
        plural: def.plural,
        status_label: String::new(),
        version: r.version,
        actions: Vec::new(),
        checklist: Vec::new(),
        can_tick: false,
        comments,
        waiting_note: None,
    };
    if r.object == ObjectType::Task {
        let from = field(r, "status");
        panel.status_label = loc.t(&format!("choice-{from}"));
        let role = task_role(&c.actor, r);
        for to in hamkor_domain::objects::TASK_STATUSES {
            if check_transition(from, to, role, Some("x")).is_ok() && *to != from {
                panel.actions.push((
                    to.to_string(),
                    loc.t(&format!("task-do-{to}")),
                    *to == "returned",
                ));
            }
        }
        if from == "done" && r.created_by != r.owner_id {
            panel.waiting_note = Some(loc.t("task-waiting-author"));
        }
        panel.can_tick = r.allows(&c.actor, Action::Write);
        panel.checklist = r
            .fields
            .get("checklist")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, item)| {
                (
                    i,
                    item.get("text")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    item.get("done").and_then(Value::as_bool) == Some(true),
                )
            })
            .collect();
    }
    Some(panel)
}

#[derive(Template)]
#[template(path = "calendar_settings.html")]
struct SettingsPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    feed_since: Option<String>,
    new_url: Option<String>,
    message: Option<String>,
    error: Option<String>,
}

async fn settings_render(
    s: &AppState,
    c: &Caller,
    new_url: Option<String>,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let since = s.app.feed_created(c.user.id).await.ok().flatten();
    let frame = Frame::for_caller(c);
    render(&SettingsPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        feed_since: since.map(|t| c.loc.datetime(&t)),
        new_url,
        message,
        error,
    })
}

async fn settings_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    settings_render(&s, &c, None, None, None).await
}

async fn settings_post(State(s): State<AppState>, f: UiForm) -> Response {
    let c = &f.caller;
    match f.get("action") {
        "new" => match s.app.new_feed_token(c.user.id).await {
            Ok(token) => {
                let url = format!(
                    "{}/ical/{token}.ics",
                    s.config.base_url.trim_end_matches('/')
                );
                settings_render(&s, c, Some(url), None, None).await
            }
            Err(e) => app_error_page(c, e),
        },
        "revoke" => match s.app.revoke_feed_token(c.user.id).await {
            Ok(_) => settings_render(&s, c, None, Some(c.loc.t("feed-revoked")), None).await,
            Err(e) => app_error_page(c, e),
        },
        _ => app_error_page(c, AppError::NotFound),
    }
}

async fn import(State(s): State<AppState>, up: UiUpload) -> Response {
    let c = &up.caller;
    let Some((_, bytes)) = &up.file else {
        return settings_render(&s, c, None, None, Some(c.loc.t("file-missing"))).await;
    };
    match s.app.import_ics(&c.actor, c.loc.tz, bytes).await {
        Ok(n) => {
            let msg = c.loc.t_args("ics-imported", &[("count", n.to_string())]);
            settings_render(&s, c, None, Some(msg), None).await
        }
        Err(AppError::Invalid(v)) => {
            settings_render(&s, c, None, None, Some(c.loc.errors(&v))).await
        }
        Err(e) => app_error_page(c, e),
    }
}
