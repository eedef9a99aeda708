//! Pages of the access model: the team tree (`/settings/teams`, administrators) and the
//! "Shared with" panel of a record with its forms.

use super::records::app_error_page;
use super::settings::forbidden;
use super::{Frame, render};
use crate::AppState;
use crate::auth::{Caller, UiForm, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_domain::objects::ObjectDef;
use hamkor_domain::{FieldError, Id};
use hamkor_store::access::{ShareAccess, shareable};
use hamkor_store::records::Record;
use hamkor_store::shares::ShareTarget;
use hamkor_store::users::User;

pub fn routes() -> Router<AppState> {
    let mut r = Router::new()
        .route("/settings/teams", get(teams_page).post(add_team))
        .route("/settings/teams/{id}", post(save_team));
    for def in hamkor_domain::objects::OBJECTS {
        let d: &'static ObjectDef = def;
        if !shareable(d.object) {
            continue;
        }
        r = r
            .route(
                &format!("/{}/{{id}}/shares", d.plural),
                post(move |s: State<AppState>, p: Path<String>, f: UiForm| share(d, s, p, f)),
            )
            .route(
                &format!("/{}/{{id}}/shares/{{share}}/delete", d.plural),
                post(
                    move |s: State<AppState>, p: Path<(String, String)>, f: UiForm| {
                        unshare(d, s, p, f)
                    },
                ),
            );
    }
    r
}

/// A team as the teams page lists it.
pub struct TeamRow {
    id: String,
    name: String,
    /// The names of the teams above, top first ("Sales › North").
    path: String,
    parent: String,
}

#[derive(Template)]
#[template(path = "teams.html")]
struct TeamsPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    teams: Vec<TeamRow>,
}

async fn teams_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    if !c.actor.is_admin() {
        return forbidden(&c);
    }
    let teams = s.app.teams().await.unwrap_or_default();
    let name_of = |id: Id| teams.iter().find(|t| t.id == id);
    let rows = teams
        .iter()
        .map(|t| {
            let mut above = Vec::new();
            let mut at = t.parent_id;
            while let Some(p) = at.and_then(name_of) {
                if above.len() > 32 {
                    break;
                }
                above.push(p.name.clone());
                at = p.parent_id;
            }
            above.reverse();
            TeamRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                path: above.join(" › "),
                parent: t.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            }
        })
        .collect();
    let frame = Frame::for_caller(&c);
    render(&TeamsPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        teams: rows,
    })
}

/// The parent chosen in a form: empty for the top, otherwise a team's id.
fn parent_field(raw: &str) -> Result<Option<Id>, AppError> {
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse::<Id>()
        .map(Some)
        .map_err(|_| FieldError::new("parent_id", "error-unknown-team").into())
}

async fn add_team(State(s): State<AppState>, form: UiForm) -> Response {
    let c = &form.caller;
    let result = match parent_field(form.get("parent_id")) {
        Ok(parent) => s.app.create_team(&c.actor, form.get("name"), parent).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/settings/teams").into_response(),
        Err(e) => app_error_page(c, e),
    }
}

async fn save_team(State(s): State<AppState>, Path(id): Path<String>, form: UiForm) -> Response {
    let c = &form.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    let result = match parent_field(form.get("parent_id")) {
        Ok(parent) => {
            s.app
                .update_team(&c.actor, id, form.get("name"), parent)
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Redirect::to("/settings/teams").into_response(),
        Err(e) => app_error_page(c, e),
    }
}

/// One share as the record page shows it.
pub struct ShareView {
    pub name: String,
    /// "user" or "team", translated.
    pub kind: String,
    pub access: String,
    /// The form action ending it, for one who may.
    pub remove: Option<String>,
}

/// The "Shared with" panel of a shareable record the viewer may read.
pub struct SharesPanel {
    pub items: Vec<ShareView>,
    /// Where the share form posts, for one who may share the record.
    pub action: Option<String>,
    /// Active users and teams to share with: (value, label).
    pub users: Vec<(String, String)>,
    pub teams: Vec<(String, String)>,
}

pub async fn shares_panel(s: &AppState, c: &Caller, r: &Record) -> Option<SharesPanel> {
    let def = ObjectDef::get(r.object);
    if !shareable(def.object) {
        return None;
    }
    let loc = c.loc;
    let (list, may) = s.app.record_shares(&c.actor, def, r.id).await.ok()?;
    if list.is_empty() && !may {
        return None;
    }
    let items = list
        .iter()
        .map(|sh| ShareView {
            name: sh.name.clone(),
            kind: loc.t(if sh.user_id.is_some() {
                "share-kind-user"
            } else {
                "share-kind-team"
            }),
            access: loc.t(&format!("share-access-{}", sh.access)),
            remove: may.then(|| format!("/{}/{}/shares/{}/delete", def.plural, r.id, sh.id)),
        })
        .collect();
    let (users, teams) = if may {
        let users = s
            .app
            .users()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|u| !u.disabled && u.id != c.actor.user_id)
            .map(|u| (format!("user:{}", u.id), u.name))
            .collect();
        let teams = s
            .app
            .teams()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|t| (format!("team:{}", t.id), t.name))
            .collect();
        (users, teams)
    } else {
        (Vec::new(), Vec::new())
    };
    Some(SharesPanel {
        items,
        action: may.then(|| format!("/{}/{}/shares", def.plural, r.id)),
        users,
        teams,
    })
}

async fn share(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    Path(id): Path<String>,
    form: UiForm,
) -> Response {
    let c = &form.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    let target = match form.get("with").split_once(':') {
        Some(("user", u)) => u.parse().ok().map(ShareTarget::User),
        Some(("team", t)) => t.parse().ok().map(ShareTarget::Team),
        _ => None,
    };
    let Some(target) = target else {
        return app_error_page(c, FieldError::new("user_id", "error-share-target").into());
    };
    let Some(access) = ShareAccess::parse(form.get("access")) else {
        return app_error_page(
            c,
            FieldError::new("access", "error-choice")
                .with("options", "read, edit")
                .into(),
        );
    };
    match s.app.share_record(&c.actor, def, id, target, access).await {
        Ok(_) => Redirect::to(&format!("/{}/{id}#shares", def.plural)).into_response(),
        Err(e) => app_error_page(c, e),
    }
}

async fn unshare(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    Path((id, share)): Path<(String, String)>,
    form: UiForm,
) -> Response {
    let c = &form.caller;
    let (Ok(id), Ok(share)) = (id.parse::<Id>(), share.parse::<Id>()) else {
        return app_error_page(c, AppError::NotFound);
    };
    match s.app.unshare_record(&c.actor, def, id, share).await {
        Ok(()) => Redirect::to(&format!("/{}/{id}#shares", def.plural)).into_response(),
        Err(e) => app_error_page(c, e),
    }
}
