//! Duplicate pages: the groups of the last full scan (`/duplicates`), merging records
//! field by field (`/{accounts,contacts}/merge?ids=…`), the undo of a merge, and the
//! "possible duplicates" panel of a record page.

use super::records::{app_error_page, field_label, names_for, object_title, value_text};
use super::{Frame, render};
use crate::AppState;
use crate::auth::{Caller, UiForm, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_app::dedup::{COMBINE, dedup_def, mergeable_fields};
use hamkor_domain::dedup::Reason;
use hamkor_domain::dedup::combine_lists;
use hamkor_domain::objects::{ACCOUNT, CONTACT, ObjectDef};
use hamkor_domain::{Action, Id};
use hamkor_store::records::Record;
use hamkor_store::users::User;
use serde_json::{Map, Value};

pub fn routes() -> Router<AppState> {
    let mut r = Router::new()
        .route("/duplicates", get(groups_page))
        .route("/duplicates/scan", post(scan_post))
        .route("/merges/{id}/undo", post(undo_post));
    for def in [&ACCOUNT, &CONTACT] {
        let d: &'static ObjectDef = def;
        r = r.route(
            &format!("/{}/merge", d.plural),
            get(
                move |s: State<AppState>, u: UiUser, q: Query<Vec<(String, String)>>| {
                    merge_page(d, s, u, q)
                },
            )
            .post(move |s: State<AppState>, f: UiForm| merge_post(d, s, f)),
        );
    }
    r
}

/// Reasons as words ("same phone, name 94% similar").
pub fn reasons_text(loc: &Loc, reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(|r| match r {
            Reason::NameSimilar { percent } => {
                loc.t_args(r.message_key(), &[("percent", percent.to_string())])
            }
            other => loc.t(other.message_key()),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A possible duplicate as a record page shows it.
pub struct DupLink {
    pub href: String,
    pub title: String,
    pub note: String,
    /// The merge page for this record and the one shown, for one who may merge.
    pub merge_href: Option<String>,
}

/// The possible duplicates of an account or contact, for its page.
pub async fn dup_links(s: &AppState, c: &Caller, r: &Record) -> Vec<DupLink> {
    if !hamkor_domain::dedup::applies(r.object) {
        return Vec::new();
    }
    let def = ObjectDef::get(r.object);
    let can_merge = r.allows(&c.actor, Action::Write);
    s.app
        .record_duplicates(&c.actor, r)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|d| DupLink {
            href: format!("/{}/{}", def.plural, d.id),
            title: d.title,
            note: format!("{} · {}%", reasons_text(&c.loc, &d.reasons), d.score),
            merge_href: can_merge
                .then(|| format!("/{}/merge?ids={}&ids={}", def.plural, r.id, d.id)),
        })
        .collect()
}

pub struct GroupRow {
    score: u8,
    reasons: String,
    records: Vec<(String, String)>,
    merge_href: String,
}

#[derive(Template)]
#[template(path = "duplicates.html")]
struct GroupsPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    plural: &'static str,
    can_scan: bool,
    scan: Option<String>,
    running: bool,
    groups: Vec<GroupRow>,
}

async fn groups_page(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let plural = params
        .iter()
        .find(|(k, _)| k == "object")
        .map(|(_, v)| v.as_str())
        .unwrap_or("contacts");
    let Some(def) = dedup_def(plural) else {
        return app_error_page(&c, AppError::NotFound);
    };
    let (state, groups) = match s.app.duplicate_groups(&c.actor, def, 200, 0).await {
        Ok(x) => x,
        Err(e) => return app_error_page(&c, e),
    };
    let loc = c.loc;
    let scan = state.as_ref().map(|st| {
        let when = st
            .finished_at
            .unwrap_or(st.started_at)
            .0
            .format("%Y-%m-%d %H:%M UTC")
            .to_string();
        loc.t_args(
            &format!("dedup-scan-{}", st.status),
            &[
                ("when", when),
                ("records", st.records.to_string()),
                ("groups", st.groups.to_string()),
            ],
        )
    });
    let frame = Frame::for_caller(&c);
    render(&GroupsPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        plural: def.plural,
        can_scan: c.actor.is_admin(),
        running: state.as_ref().is_some_and(|s| s.status == "running"),
        scan,
        groups: groups
            .into_iter()
            .map(|g| GroupRow {
                score: g.score,
                reasons: reasons_text(&loc, &g.reasons),
                merge_href: format!(
                    "/{}/merge?{}",
                    def.plural,
                    g.records
                        .iter()
                        .map(|r| format!("ids={}", r.id))
                        .collect::<Vec<_>>()
                        .join("&")
                ),
                records: g
                    .records
                    .into_iter()
                    .map(|r| (format!("/{}/{}", def.plural, r.id), r.title))
                    .collect(),
            })
            .collect(),
    })
}

async fn scan_post(State(s): State<AppState>, f: UiForm) -> Response {
    let c = &f.caller;
    let Some(def) = dedup_def(f.get("object")) else {
        return app_error_page(c, AppError::NotFound);
    };
    match s.app.start_scan(&c.actor, def).await {
        Ok(_) | Err(AppError::Conflict(_)) => {
            Redirect::to(&format!("/duplicates?object={}", def.plural)).into_response()
        }
        Err(e) => app_error_page(c, e),
    }
}

/// One field of the merge page: a radio per record whose value differs and, for a list
/// of phones, e-mails and the like, one more (checked) taking every record's entries.
pub struct MergeRow {
    name: String,
    label: String,
    /// (record id, value as text)
    values: Vec<(String, String)>,
    differ: bool,
    /// The lists combined, as text.
    combined: Option<String>,
}

#[derive(Template)]
#[template(path = "merge.html")]
struct MergePage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    title: String,
    plural: &'static str,
    /// (id, title, href)
    records: Vec<(String, String, String)>,
    rows: Vec<MergeRow>,
    error: Option<String>,
}

async fn merge_render(
    s: &AppState,
    c: &Caller,
    def: &'static ObjectDef,
    ids: &[Id],
    error: Option<String>,
) -> Response {
    let mut records = Vec::new();
    for id in ids {
        match s.app.get_record(&c.actor, def, *id).await {
            Ok(r) => records.push(r),
            Err(e) => return app_error_page(c, e),
        }
    }
    if records.len() < 2 {
        return app_error_page(c, AppError::NotFound);
    }
    let loc = c.loc;
    let refs: Vec<&Record> = records.iter().collect();
    let names = names_for(s, &c.actor, def, &refs).await;
    let customs = s.app.custom_fields(def.object).await.unwrap_or_default();
    let mut rows = Vec::new();
    let cc = s.app.default_country_code().await.unwrap_or_default();
    let mut push =
        |name: String, label: String, values: Vec<(String, String)>, combined: Option<String>| {
            let differ = values.iter().any(|v| v.1 != values[0].1);
            rows.push(MergeRow {
                name,
                label,
                values,
                differ,
                combined: combined.filter(|_| differ),
            });
        };
    for f in mergeable_fields(def) {
        let kind = def.field(f).map(|d| d.kind);
        let lists: Vec<&Value> = records
            .iter()
            .map(|r| r.fields.get(f).unwrap_or(&Value::Null))
            .collect();
        let values = records
            .iter()
            .zip(&lists)
            .map(|(r, v)| (r.id.to_string(), value_text(&loc, kind, v, &names)))
            .collect();
        let combined = kind
            .and_then(|k| combine_lists(k, &lists, &cc))
            .map(|v| value_text(&loc, kind, &v, &names));
        push(f.to_string(), field_label(&loc, def, f), values, combined);
    }
    for cf in &customs {
        let values = records
            .iter()
            .map(|r| {
                let v = r.custom.get(&cf.key).unwrap_or(&Value::Null);
                (r.id.to_string(), value_text(&loc, None, v, &names))
            })
            .collect();
        push(format!("custom.{}", cf.key), cf.label.clone(), values, None);
    }
    let owners = records
        .iter()
        .map(|r| {
            let name = names
                .users
                .iter()
                .find(|u| u.id == r.owner_id)
                .map(|u| u.name.clone())
                .unwrap_or_default();
            (r.id.to_string(), name)
        })
        .collect();
    push(
        "owner_id".into(),
        field_label(&loc, def, "owner_id"),
        owners,
        None,
    );
    let frame = Frame::for_caller(c);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    (
        status,
        render(&MergePage {
            loc,
            user: frame.user,
            csrf: frame.csrf,
            langs: frame.langs,
            search_value: String::new(),
            title: format!("{} · {}", loc.t("dedup-merge"), object_title(&loc, def)),
            plural: def.plural,
            records: records
                .iter()
                .map(|r| {
                    (
                        r.id.to_string(),
                        r.title(),
                        format!("/{}/{}", def.plural, r.id),
                    )
                })
                .collect(),
            rows,
            error,
        }),
    )
        .into_response()
}

fn ids_of(params: &[(String, String)]) -> Option<Vec<Id>> {
    let mut out: Vec<Id> = Vec::new();
    for (k, v) in params {
        if k == "ids" {
            for part in v.split(',').filter(|p| !p.trim().is_empty()) {
                let id = part.trim().parse().ok()?;
                if !out.contains(&id) {
                    out.push(id);
                }
            }
        }
    }
    (2..=hamkor_app::dedup::MAX_MERGED + 1)
        .contains(&out.len())
        .then_some(out)
}

async fn merge_page(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let Some(ids) = ids_of(&params) else {
        return app_error_page(&c, AppError::NotFound);
    };
    merge_render(&s, &c, def, &ids, None).await
}

async fn merge_post(def: &'static ObjectDef, State(s): State<AppState>, f: UiForm) -> Response {
    let c = &f.caller;
    let Some(ids) = ids_of(&f.fields) else {
        return app_error_page(c, AppError::NotFound);
    };
    let Ok(survivor) = f.get("survivor").parse::<Id>() else {
        return merge_render(&s, c, def, &ids, Some(c.loc.t("dedup-choose-survivor"))).await;
    };
    let merged: Vec<Id> = ids.iter().copied().filter(|i| *i != survivor).collect();
    let mut fields = Map::new();
    for (k, v) in &f.fields {
        if let Some(name) = k.strip_prefix("f_")
            && (v.parse::<Id>().is_ok() || v == COMBINE)
        {
            fields.insert(name.to_string(), Value::String(v.clone()));
        }
    }
    match s
        .app
        .merge_records(&c.actor, def, survivor, &merged, &fields)
        .await
    {
        Ok(done) => Redirect::to(&format!(
            "/{}/{}?merged={}",
            def.plural, survivor, done.merge_id
        ))
        .into_response(),
        Err(AppError::Invalid(v)) => merge_render(&s, c, def, &ids, Some(c.loc.errors(&v))).await,
        Err(e) => app_error_page(c, e),
    }
}

async fn undo_post(State(s): State<AppState>, Path(id): Path<String>, f: UiForm) -> Response {
    let c = &f.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    match s.app.undo_merge(&c.actor, id).await {
        Ok(r) => {
            Redirect::to(&format!("/{}/{}", ObjectDef::get(r.object).plural, r.id)).into_response()
        }
        Err(AppError::Conflict(what)) => super::message(
            Frame::for_caller(c),
            StatusCode::CONFLICT,
            c.loc.t("dedup-undo"),
            c.loc.t(if what == "merge_undone" {
                "dedup-undo-done"
            } else {
                "dedup-undo-restored"
            }),
        ),
        Err(e) => app_error_page(c, e),
    }
}
