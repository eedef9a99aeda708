//! The board of a pipeline: a column per stage with its open deals, their count and
//! sums. A card moves with a small form (no JavaScript needed) or by dragging it onto
//! another column, which submits the same form.

use super::records::app_error_page;
use super::{Frame, render};
use crate::AppState;
use crate::auth::{UiForm, UiUser};
use crate::i18n::{Lang, Loc};
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_domain::objects::DEAL;
use hamkor_domain::{Action, Id, ObjectType, Scope};
use hamkor_store::users::User;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/deals/board", get(board))
        .route("/deals/funnel", get(funnel_page))
        .route("/deals/{id}/move", post(move_deal))
        .route("/deals/{id}/steps/{step}", post(tick_step))
}

pub struct Card {
    pub id: String,
    pub title: String,
    pub amount: String,
    pub close: String,
    pub owner: String,
    pub account: String,
}

pub struct BoardColumn {
    pub stage_id: String,
    pub name: String,
    pub probability: i64,
    pub count: i64,
    pub sums: Vec<String>,
    pub cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    pipeline: String,
    pipeline_id: String,
    pipelines: Vec<(String, String)>,
    columns: Vec<BoardColumn>,
    stages: Vec<(String, String)>,
    can_add: bool,
    /// Why the last move was refused (title, reasons), shown above the columns.
    refusal: Option<(String, String)>,
    /// The card whose move was refused.
    refused: String,
}

/// A refused move, to show on the board.
struct Refusal {
    deal: Id,
    reasons: String,
}

async fn board(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let pipeline = q
        .iter()
        .find(|(k, _)| k == "pipeline")
        .and_then(|(_, v)| v.parse::<Id>().ok());
    board_page(&s, &c, pipeline, None).await
}

/// The board of `pipeline` (the first when `None`), with a refused move when there was one
/// (then with status 422): the card is shown where it still is, the reason above.
async fn board_page(
    s: &AppState,
    c: &crate::auth::Caller,
    pipeline: Option<Id>,
    refusal: Option<Refusal>,
) -> Response {
    let loc = c.loc;
    let (p, columns) = match s.app.board(&c.actor, pipeline, 50).await {
        Ok(b) => b,
        Err(e) => return app_error_page(c, e),
    };
    let users = s.app.users().await.unwrap_or_default();
    // The accounts named on the cards, as the viewer may see them.
    let account_ids: Vec<Id> = columns
        .iter()
        .flat_map(|col| col.deals.iter())
        .filter_map(|d| d.fields.get("account_id")?.as_str()?.parse().ok())
        .collect();
    let accounts = s
        .app
        .record_titles(&c.actor, &hamkor_domain::objects::ACCOUNT, &account_ids)
        .await
        .unwrap_or_default();
    let refusal_status = refusal.is_some();
    let cols = columns
        .iter()
        .map(|col| BoardColumn {
            stage_id: col.stage.id.to_string(),
            name: col.stage.name.clone(),
            probability: col.stage.probability,
            count: col.count,
            sums: col
                .sums
                .iter()
                .map(|(cur, minor)| {
                    let digits = hamkor_domain::money::currency(cur).map_or(2, |c| c.minor_digits);
                    format!("{} {cur}", loc.amount(*minor, digits))
                })
                .collect(),
            cards: col
                .deals
                .iter()
                .map(|d| {
                    let get = |k: &str| d.fields.get(k).and_then(Value::as_str).unwrap_or("");
                    let amount = get("amount");
                    Card {
                        id: d.id.to_string(),
                        title: d.title(),
                        amount: if amount.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "{} {}",
                                amount
                                    .parse::<f64>()
                                    .map(|f| loc.number(f, 2))
                                    .unwrap_or_else(|_| amount.to_string()),
                                get("currency")
                            )
                        },
                        close: chrono::NaiveDate::parse_from_str(get("expected_close"), "%Y-%m-%d")
                            .map(|day| loc.date(day))
                            .unwrap_or_default(),
                        owner: users
                            .iter()
                            .find(|u| u.id == d.owner_id)
                            .map(|u| u.name.clone())
                            .unwrap_or_default(),
                        account: accounts
                            .iter()
                            .find(|(id, _)| id.to_string() == get("account_id"))
                            .map(|(_, n)| n.clone())
                            .unwrap_or_default(),
                    }
                })
                .collect(),
        })
        .collect();
    let pipelines = s
        .app
        .pipelines()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|x| x.active)
        .map(|x| (x.id.to_string(), x.name))
        .collect();
    let frame = Frame::for_caller(c);
    let mut page = render(&BoardPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        pipeline: p.name.clone(),
        pipeline_id: p.id.to_string(),
        pipelines,
        stages: p
            .stages
            .iter()
            .map(|st| (st.id.to_string(), st.name.clone()))
            .collect(),
        columns: cols,
        can_add: c.actor.scope(ObjectType::Deal, Action::Write) != Scope::None,
        refused: refusal
            .as_ref()
            .map(|r| r.deal.to_string())
            .unwrap_or_default(),
        refusal: refusal.map(|r| (loc.t("deal-move-refused"), r.reasons)),
    });
    if refusal_status && page.status().is_success() {
        *page.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
    }
    page
}

/// Moves a deal to another stage (the board's card form, or a drop). A refused move shows
/// the deal's board again with the reason, the card still in its stage.
async fn move_deal(State(s): State<AppState>, Path(id): Path<String>, f: UiForm) -> Response {
    let c = &f.caller;
    let Ok(id) = id.parse::<Id>() else {
        return app_error_page(c, AppError::NotFound);
    };
    let body = json!({ "stage_id": f.get("stage_id") });
    match s.app.update_record(&c.actor, &DEAL, id, &body, None).await {
        Ok(d) => {
            let pipeline = d
                .fields
                .get("pipeline_id")
                .and_then(Value::as_str)
                .unwrap_or("");
            Redirect::to(&format!("/deals/board?pipeline={pipeline}#deal-{id}")).into_response()
        }
        Err(AppError::Invalid(v)) => {
            let pipeline = match s.app.get_record(&c.actor, &DEAL, id).await {
                Ok(d) => d
                    .fields
                    .get("pipeline_id")
                    .and_then(Value::as_str)
                    .and_then(|p| p.parse::<Id>().ok()),
                Err(e) => return app_error_page(c, e),
            };
            let refusal = Refusal {
                deal: id,
                reasons: c.loc.errors(&v),
            };
            board_page(&s, c, pipeline, Some(refusal)).await
        }
        Err(e) => app_error_page(c, e),
    }
}

/// What a deal page adds: the script of its stage and the steps to tick.
pub struct DealPanel {
    pub script: String,
    /// (step id, text, required, done)
    pub steps: Vec<(String, String, bool, bool)>,
    pub can_tick: bool,
}

pub(crate) async fn deal_panel(
    s: &AppState,
    c: &crate::auth::Caller,
    r: &hamkor_store::records::Record,
) -> Option<DealPanel> {
    if r.object != ObjectType::Deal {
        return None;
    }
    let script = s.app.deal_script(&c.actor, r.id).await.ok()?;
    Some(DealPanel {
        script: script.text.unwrap_or_default(),
        steps: script
            .steps
            .into_iter()
            .map(|(st, done)| (st.id.to_string(), st.text, st.required, done))
            .collect(),
        can_tick: r.allows(&c.actor, Action::Write),
    })
}

/// Ticks or unticks a step of a deal (the deal page's checklist).
async fn tick_step(
    State(s): State<AppState>,
    Path((id, step)): Path<(String, String)>,
    f: UiForm,
) -> Response {
    let c = &f.caller;
    let (Ok(id), Ok(step)) = (id.parse::<Id>(), step.parse::<Id>()) else {
        return app_error_page(c, AppError::NotFound);
    };
    let done = f.get("done") == "true";
    match s.app.set_deal_step(&c.actor, id, step, done).await {
        Ok(_) => Redirect::to(&format!("/deals/{id}#script")).into_response(),
        Err(e) => app_error_page(c, e),
    }
}

/// One bar of the funnel chart.
pub struct FunnelBar {
    pub name: String,
    pub entered: i64,
    pub amounts: String,
    pub conversion: String,
    pub avg_days: String,
    /// Bar geometry in the SVG's units.
    pub y: i64,
    pub width: i64,
    pub x: i64,
}

#[derive(Template)]
#[template(path = "funnel.html")]
struct FunnelPage {
    loc: Loc,
    user: Option<User>,
    csrf: String,
    langs: [Lang; 3],
    search_value: String,
    pipeline: String,
    pipeline_id: String,
    pipelines: Vec<(String, String)>,
    from: String,
    to: String,
    bars: Vec<FunnelBar>,
    height: i64,
    won: i64,
    lost: i64,
    win_rate: String,
    lost_reasons: Vec<(String, i64)>,
    forecast: Vec<(String, String)>,
    error: Option<String>,
}

/// The chart's width; bars are centred, the widest stage fills it.
const CHART_WIDTH: i64 = 600;
const BAR_HEIGHT: i64 = 34;

async fn funnel_page(
    State(s): State<AppState>,
    UiUser(c): UiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    use chrono::Datelike;
    let loc = c.loc;
    let tz = loc.tz;
    let get = |k: &str| {
        q.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_default()
    };
    let today = hamkor_app::tasks::local_date(tz, hamkor_domain::Timestamp::now());
    let from_day = chrono::NaiveDate::parse_from_str(&get("from"), "%Y-%m-%d")
        .unwrap_or_else(|_| chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to_day = chrono::NaiveDate::parse_from_str(&get("to"), "%Y-%m-%d").unwrap_or(today);
    let pipeline = get("pipeline").parse::<Id>().ok();
    let from = hamkor_app::tasks::day_bounds(tz, from_day).0;
    let to = hamkor_app::tasks::day_bounds(tz, to_day).1;
    let pipelines = s.app.pipelines().await.unwrap_or_default();
    let filter = hamkor_store::sales::FunnelFilter::default();
    let (funnel, error) = match s.app.funnel(&c.actor, pipeline, &filter, from, to).await {
        Ok(f) => (Some(f), None),
        Err(AppError::Invalid(v)) => (None, Some(loc.errors(&v))),
        Err(e) => return app_error_page(&c, e),
    };
    let money =
        |cur: &str, minor: i64| format!("{} {cur}", hamkor_domain::money::format_in(minor, cur));
    let max = funnel
        .as_ref()
        .and_then(|f| f.stages.iter().map(|s| s.entered).max())
        .unwrap_or(0)
        .max(1);
    let bars: Vec<FunnelBar> = funnel
        .as_ref()
        .map(|f| {
            f.stages
                .iter()
                .enumerate()
                .map(|(i, st)| {
                    let width = (st.entered * CHART_WIDTH / max).max(2);
                    FunnelBar {
                        name: st.name.clone(),
                        entered: st.entered,
                        amounts: st
                            .amounts
                            .iter()
                            .map(|(cur, m)| money(cur, *m))
                            .collect::<Vec<_>>()
                            .join(", "),
                        conversion: st.conversion.map(|c| format!("{c}%")).unwrap_or_default(),
                        avg_days: st.avg_days.map(|d| d.to_string()).unwrap_or_default(),
                        y: i as i64 * (BAR_HEIGHT + 6),
                        width,
                        x: (CHART_WIDTH - width) / 2,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let chosen = funnel.as_ref().map(|f| f.pipeline_id);
    let frame = Frame::for_caller(&c);
    render(&FunnelPage {
        loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        pipeline: pipelines
            .iter()
            .find(|p| Some(p.id) == chosen)
            .map(|p| p.name.clone())
            .unwrap_or_default(),
        pipeline_id: chosen.map(|id| id.to_string()).unwrap_or_default(),
        pipelines: pipelines
            .iter()
            .map(|p| (p.id.to_string(), p.name.clone()))
            .collect(),
        from: from_day.format("%Y-%m-%d").to_string(),
        to: to_day.format("%Y-%m-%d").to_string(),
        height: bars.len() as i64 * (BAR_HEIGHT + 6),
        bars,
        won: funnel.as_ref().map(|f| f.won).unwrap_or(0),
        lost: funnel.as_ref().map(|f| f.lost).unwrap_or(0),
        win_rate: funnel
            .as_ref()
            .and_then(|f| f.win_rate)
            .map(|w| format!("{w}%"))
            .unwrap_or_default(),
        lost_reasons: funnel
            .as_ref()
            .map(|f| f.lost_reasons.clone())
            .unwrap_or_default(),
        forecast: funnel
            .as_ref()
            .map(|f| {
                f.forecast
                    .iter()
                    .map(|(m, cur, v)| (m.clone(), money(cur, *v)))
                    .collect()
            })
            .unwrap_or_default(),
        error,
    })
}
