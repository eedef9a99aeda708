//! Pipelines and the deal board: `GET/POST /api/v1/pipelines`,
//! `GET /api/v1/deals/board`, `GET /api/v1/deals/{id}/stages`. Deals themselves are
//! records (`/api/v1/deals`); moving one is a `PATCH` of its `stage_id`.

use super::json_body;
use super::records::{parse_id, record_json};
use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hamkor_domain::{FieldError, Id, ValidationErrors};
use hamkor_store::sales::Column;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/pipelines", get(list).post(create))
        .route("/api/v1/deals/board", get(board))
        .route("/api/v1/deals/{id}/stages", get(stages))
}

async fn list(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let items = s
        .app
        .pipelines()
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// `POST /api/v1/pipelines` `{"name": "Wholesale", "enforce_steps": true,
/// "stages": [{"name": "New", "probability": 10}, …]}` (administrators only).
async fn create(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    let invalid = |e: FieldError| ApiError::invalid(&ValidationErrors::from(e), &c.loc);
    super::fields_of(&body, "", &["name", "enforce_steps", "stages"]).map_err(invalid)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    let enforce = match body.get("enforce_steps") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid(FieldError::new("enforce_steps", "error-type-bool"))),
    };
    let mut stages = Vec::new();
    for (i, st) in body
        .get("stages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let name = st.get("name").and_then(Value::as_str).unwrap_or("");
        let probability = match st.get("probability") {
            None | Some(Value::Null) => 0,
            Some(v) => v.as_i64().ok_or_else(|| {
                invalid(FieldError::new(
                    format!("stages[{i}].probability"),
                    "error-type-number",
                ))
            })?,
        };
        stages.push((name.to_string(), probability));
    }
    let p = s
        .app
        .create_pipeline(&c.actor, name, enforce, &stages)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((StatusCode::CREATED, axum::Json(json!(p))).into_response())
}

pub(crate) fn column_json(col: &Column) -> Value {
    json!({
        "stage": col.stage,
        "count": col.count,
        "sums": col.sums.iter().map(|(currency, minor)| json!({
            "currency": currency, "amount": hamkor_domain::money::format_in(*minor, currency)})).collect::<Vec<_>>(),
        "deals": col.deals.iter().map(record_json).collect::<Vec<_>>(),
    })
}

/// `GET /api/v1/deals/board?pipeline=&limit=` (default the first pipeline, 50 a column).
async fn board(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let invalid = |e: FieldError| ApiError::invalid(&ValidationErrors::from(e), &c.loc);
    let limit = super::planning::limit_param(&q, 50).map_err(invalid)?;
    let pipeline = match q.iter().find(|(k, v)| k == "pipeline" && !v.is_empty()) {
        Some((_, v)) => Some(
            v.parse::<Id>()
                .map_err(|_| invalid(FieldError::new("pipeline", "error-id")))?,
        ),
        None => None,
    };
    let (p, columns) = s
        .app
        .board(&c.actor, pipeline, limit)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({
        "pipeline": {"id": p.id, "name": p.name, "enforce_steps": p.enforce_steps},
        "columns": columns.iter().map(column_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/v1/deals/{id}/stages`: when the deal entered and left each stage, and by whom.
async fn stages(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let items = s
        .app
        .deal_stages(&c.actor, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({ "items": items })).into_response())
}

pub fn script_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/stages/{id}/script",
            get(stage_script).put(put_stage_script),
        )
        .route("/api/v1/deals/{id}/script", get(deal_script))
        .route(
            "/api/v1/deals/{id}/steps/{step}",
            axum::routing::post(tick_step),
        )
}

fn deal_script_json(d: &hamkor_app::sales::DealScript) -> Value {
    json!({
        "stage_id": d.stage_id,
        "text": d.text,
        "steps": d.steps.iter().map(|(s, done)| json!({
            "id": s.id, "text": s.text, "required": s.required, "task_days": s.task_days, "done": done,
        })).collect::<Vec<_>>(),
    })
}

async fn stage_script(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let script = s
        .app
        .stage_script(&c.actor, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!(script)).into_response())
}

/// `PUT /api/v1/stages/{id}/script` `{"text": "…", "steps": [{"id"?, "text", "required",
/// "task_days"}]}` (administrators only).
async fn put_stage_script(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let invalid = |e: FieldError| ApiError::invalid(&ValidationErrors::from(e), &c.loc);
    super::fields_of(&body, "", &["text", "steps"]).map_err(invalid)?;
    let text = match body.get("text") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(_) => return Err(invalid(FieldError::new("text", "error-type-text"))),
    };
    let mut steps = Vec::new();
    for (i, st) in body
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let o = super::fields_of(
            st,
            &format!("steps[{i}]"),
            &["id", "text", "required", "task_days"],
        )
        .map_err(invalid)?;
        steps.push(hamkor_app::sales::StepRequest {
            id: o
                .get("id")
                .and_then(Value::as_str)
                .and_then(|x| x.parse().ok()),
            text: o
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            required: o.get("required").and_then(Value::as_bool).unwrap_or(false),
            task_days: match o.get("task_days") {
                None | Some(Value::Null) => None,
                Some(v) => Some(v.as_i64().ok_or_else(|| {
                    invalid(FieldError::new(
                        format!("steps[{i}].task_days"),
                        "error-type-number",
                    ))
                })?),
            },
        });
    }
    let script = s
        .app
        .set_stage_script(&c.actor, id, text, &steps)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!(script)).into_response())
}

async fn deal_script(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let d = s
        .app
        .deal_script(&c.actor, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(deal_script_json(&d)).into_response())
}

/// `POST /api/v1/deals/{id}/steps/{step}` `{"done": true}`.
async fn tick_step(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path((id, step)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let step = parse_id(&step)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let done = match body.get("done") {
        Some(Value::Bool(b)) => *b,
        _ => {
            return Err(ApiError::invalid(
                &ValidationErrors::from(FieldError::new("done", "error-type-bool")),
                &c.loc,
            ));
        }
    };
    let d = s
        .app
        .set_deal_step(&c.actor, id, step, done)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(deal_script_json(&d)).into_response())
}

pub fn line_routes() -> Router<AppState> {
    use hamkor_domain::objects::{DEAL, DOCUMENT};
    let mut r = Router::new();
    for def in [&DEAL, &DOCUMENT] {
        let path = if def.object == hamkor_domain::ObjectType::Deal {
            "/api/v1/deals/{id}/lines"
        } else {
            "/api/v1/documents/{id}/lines"
        };
        r = r.route(
            path,
            get(move |st, u, p| get_lines(def, st, u, p))
                .put(move |st, u, p, h, b| put_lines(def, st, u, p, h, b)),
        );
    }
    r
}

pub(crate) fn lines_json(d: &hamkor_app::sales::DealLines) -> Value {
    use hamkor_domain::money::{Quantity, format_amount};
    let digits = d.currency.minor_digits;
    let amount = |m: i64| format_amount(m, digits);
    json!({
        "currency": d.currency.code,
        "vat_included": d.vat_included,
        "lines": d.lines.iter().map(|l| json!({
            "product_id": l.product_id, "name": l.name, "unit": l.unit,
            "quantity": Quantity(l.quantity).format(), "unit_price": amount(l.unit_price),
            "discount": match (l.discount_bp, l.discount_amount) {
                (Some(bp), _) => Some(format!("{}%", format_amount(bp, 2))),
                (_, Some(a)) => Some(amount(a)),
                _ => None,
            },
            "vat_rate": format_amount(l.vat_rate_bp, 2),
            "gross": amount(l.gross), "discount_amount": amount(l.discount), "net": amount(l.net),
            "vat": amount(l.vat), "total": amount(l.total),
        })).collect::<Vec<_>>(),
        "totals": {
            "gross": amount(d.totals.gross), "discount": amount(d.totals.discount),
            "net": amount(d.totals.net), "vat": amount(d.totals.vat), "total": amount(d.totals.total),
            "by_rate": d.totals.by_rate.iter().map(|r| json!({
                "vat_rate": format_amount(i64::from(r.rate_bp), 2), "net": amount(r.net),
                "vat": amount(r.vat), "total": amount(r.total)})).collect::<Vec<_>>(),
        },
    })
}

async fn get_lines(
    def: &'static hamkor_domain::objects::ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let d = s
        .app
        .record_lines(&c.actor, def, id)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(lines_json(&d)).into_response())
}

/// `PUT /api/v1/deals/{id}/lines` `{"vat_included": false, "lines": [{"product_id"?,
/// "name"?, "unit"?, "quantity": "2.5", "unit_price": "10.01", "discount": "10%",
/// "vat_rate": "12"}]}`.
async fn put_lines(
    def: &'static hamkor_domain::objects::ObjectDef,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let invalid = |e: FieldError| ApiError::invalid(&ValidationErrors::from(e), &c.loc);
    super::fields_of(&body, "", &["vat_included", "lines"]).map_err(invalid)?;
    let vat_included = match body.get("vat_included") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(invalid(FieldError::new("vat_included", "error-type-bool"))),
    };
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut lines = Vec::new();
    let Some(items) = body.get("lines").and_then(Value::as_array) else {
        return Err(invalid(FieldError::new("lines", "error-type-list")));
    };
    for (i, item) in items.iter().enumerate() {
        let o = super::fields_of(
            item,
            &format!("lines[{i}]"),
            &[
                "product_id",
                "name",
                "unit",
                "quantity",
                "unit_price",
                "discount",
                "vat_rate",
            ],
        )
        .map_err(invalid)?;
        let product_id = match o.get("product_id") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_str().and_then(|x| x.parse().ok()).ok_or_else(|| {
                invalid(FieldError::new(
                    format!("lines[{i}].product_id"),
                    "error-id",
                ))
            })?),
        };
        lines.push(hamkor_app::sales::LineRequest {
            product_id,
            name: text(o.get("name")),
            unit: text(o.get("unit")),
            quantity: text(o.get("quantity")).unwrap_or_default(),
            unit_price: text(o.get("unit_price")),
            discount: text(o.get("discount")),
            vat_rate: text(o.get("vat_rate")),
        });
    }
    let d = s
        .app
        .set_record_lines(&c.actor, def, id, vat_included, &lines)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(lines_json(&d)).into_response())
}

pub fn price_list_routes() -> Router<AppState> {
    Router::new().route(
        "/api/v1/price_lists",
        get(list_price_lists).post(create_price_list),
    )
}

fn price_list_json(l: &hamkor_store::sales::PriceList) -> Value {
    json!({
        "id": l.id, "name": l.name, "currency": l.currency,
        "valid_from": l.valid_from, "valid_to": l.valid_to, "active": l.active,
        "items": l.items.iter().map(|(p, price)| json!({
            "product_id": p, "price": hamkor_domain::money::format_in(*price, &l.currency)})).collect::<Vec<_>>(),
    })
}

async fn list_price_lists(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
) -> Result<Response, ApiError> {
    let lists = s
        .app
        .price_lists()
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(
        axum::Json(json!({"items": lists.iter().map(price_list_json).collect::<Vec<_>>()}))
            .into_response(),
    )
}

/// `POST /api/v1/price_lists` `{"name", "currency", "valid_from"?, "valid_to"?,
/// "items": [{"product_id", "price"}]}` (heads and administrators).
async fn create_price_list(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    let invalid = |e: FieldError| ApiError::invalid(&ValidationErrors::from(e), &c.loc);
    super::fields_of(
        &body,
        "",
        &["name", "currency", "valid_from", "valid_to", "items"],
    )
    .map_err(invalid)?;
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let mut items = Vec::new();
    for (i, item) in body
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let o = super::fields_of(item, &format!("items[{i}]"), &["product_id", "price"])
            .map_err(invalid)?;
        items.push((
            o.get("product_id")
                .and_then(Value::as_str)
                .and_then(|x| x.parse().ok()),
            text(o.get("price")).unwrap_or_default(),
        ));
    }
    let req = hamkor_app::sales::PriceListRequest {
        name: text(body.get("name")).unwrap_or_default(),
        currency: text(body.get("currency")).unwrap_or_default(),
        valid_from: text(body.get("valid_from")),
        valid_to: text(body.get("valid_to")),
        items,
    };
    let l = s
        .app
        .create_price_list(&c.actor, &req)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((StatusCode::CREATED, axum::Json(price_list_json(&l))).into_response())
}

pub fn funnel_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/deals/funnel", get(funnel))
        .route("/api/v1/deals/funnel.xlsx", get(funnel_xlsx))
}

/// What a funnel is asked for.
struct FunnelQuery {
    pipeline: Option<Id>,
    filter: hamkor_store::sales::FunnelFilter,
    from: hamkor_domain::Timestamp,
    to: hamkor_domain::Timestamp,
}

/// Reads `pipeline`, `from`, `to` (dates in the caller's zone, both included; by default
/// this year), `owner`, `team` and `product`.
fn funnel_query(q: &[(String, String)], tz: chrono_tz::Tz) -> Result<FunnelQuery, FieldError> {
    use chrono::Datelike;
    let today = hamkor_app::tasks::local_date(tz, hamkor_domain::Timestamp::now());
    let mut out = FunnelQuery {
        pipeline: None,
        filter: hamkor_store::sales::FunnelFilter::default(),
        from: hamkor_app::tasks::day_bounds(
            tz,
            chrono::NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today),
        )
        .0,
        to: hamkor_app::tasks::day_bounds(tz, today).1,
    };
    for (k, v) in q {
        let v = v.trim();
        match k.as_str() {
            "from" | "to" => {
                let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map_err(|_| FieldError::new(k.clone(), "error-type-date"))?;
                let (start, end) = hamkor_app::tasks::day_bounds(tz, d);
                if k == "from" {
                    out.from = start;
                } else {
                    out.to = end;
                }
            }
            "pipeline" | "owner" | "team" | "product" if !v.is_empty() => {
                let id = v
                    .parse::<Id>()
                    .map_err(|_| FieldError::new(k.clone(), "error-id"))?;
                match k.as_str() {
                    "pipeline" => out.pipeline = Some(id),
                    "owner" => out.filter.owner = Some(id),
                    "team" => out.filter.team = Some(id),
                    _ => out.filter.product = Some(id),
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// `GET /api/v1/deals/funnel?pipeline=&from=&to=&owner=&team=&product=`.
async fn funnel(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let FunnelQuery {
        pipeline,
        filter,
        from,
        to,
    } = funnel_query(&q, c.loc.tz)
        .map_err(|e| ApiError::invalid(&ValidationErrors::from(e), &c.loc))?;
    let f = s
        .app
        .funnel(&c.actor, pipeline, &filter, from, to)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let money =
        |c: &str, m: i64| json!({"currency": c, "amount": hamkor_domain::money::format_in(m, c)});
    Ok(axum::Json(json!({
        "pipeline_id": f.pipeline_id,
        "from": from.to_rfc3339(),
        "to": to.to_rfc3339(),
        "stages": f.stages.iter().map(|st| json!({
            "stage_id": st.stage_id, "name": st.name, "entered": st.entered,
            "amounts": st.amounts.iter().map(|(c, m)| money(c, *m)).collect::<Vec<_>>(),
            "conversion": st.conversion, "avg_days": st.avg_days,
        })).collect::<Vec<_>>(),
        "won": f.won, "lost": f.lost, "win_rate": f.win_rate,
        "lost_reasons": f.lost_reasons.iter().map(|(r, n)| json!({"reason": r, "count": n})).collect::<Vec<_>>(),
        "forecast": f.forecast.iter().map(|(m, c, v)| {
            let mut x = money(c, *v);
            x["month"] = json!(m);
            x
        }).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `GET /api/v1/deals/funnel.xlsx?…`: the same funnel as a workbook: the stages, the
/// lost reasons and the forecast, each on a sheet. Every text cell is written as text, so
/// a stage or reason starting with `=` is never a formula.
async fn funnel_xlsx(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let fq = funnel_query(&q, c.loc.tz)
        .map_err(|e| ApiError::invalid(&ValidationErrors::from(e), &c.loc))?;
    let f = s
        .app
        .funnel(&c.actor, fq.pipeline, &fq.filter, fq.from, fq.to)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let loc = c.loc;
    let amount = |cur: &str, m: i64| hamkor_domain::money::units_in(m, cur);
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = book.add_worksheet().set_name(loc.t("funnel"))?;
        let heads = [
            loc.t("field-deal-stage_id"),
            loc.t("funnel-entered"),
            loc.t("field-deal-amount"),
            loc.t("field-deal-currency"),
            loc.t("funnel-conversion"),
            loc.t("funnel-days"),
        ];
        for (col, h) in heads.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, h, &bold)?;
        }
        let mut row = 1u32;
        for st in &f.stages {
            let lines: Vec<(String, i64)> = if st.amounts.is_empty() {
                vec![(String::new(), 0)]
            } else {
                st.amounts.clone()
            };
            for (cur, m) in lines {
                sheet.write_string(row, 0, &st.name)?;
                sheet.write_number(row, 1, st.entered as f64)?;
                if !cur.is_empty() {
                    sheet.write_number(row, 2, amount(&cur, m))?;
                    sheet.write_string(row, 3, &cur)?;
                }
                if let Some(cv) = st.conversion {
                    sheet.write_number(row, 4, cv)?;
                }
                if let Some(d) = st.avg_days {
                    sheet.write_number(row, 5, d)?;
                }
                row += 1;
            }
        }
        let reasons = book
            .add_worksheet()
            .set_name(loc.t("field-deal-lost_reason"))?;
        reasons.write_string_with_format(0, 0, loc.t("field-deal-lost_reason"), &bold)?;
        reasons.write_string_with_format(0, 1, loc.t("funnel-entered"), &bold)?;
        for (i, (r, n)) in f.lost_reasons.iter().enumerate() {
            reasons.write_string(i as u32 + 1, 0, r)?;
            reasons.write_number(i as u32 + 1, 1, *n as f64)?;
        }
        let forecast = book
            .add_worksheet()
            .set_name(loc.t("funnel-forecast-sheet"))?;
        for (col, h) in ["month", "field-deal-currency", "field-deal-amount"]
            .iter()
            .enumerate()
        {
            let text = if *h == "month" {
                loc.t("funnel-month")
            } else {
                loc.t(h)
            };
            forecast.write_string_with_format(0, col as u16, text, &bold)?;
        }
        for (i, (m, cur, v)) in f.forecast.iter().enumerate() {
            forecast.write_string(i as u32 + 1, 0, m)?;
            forecast.write_string(i as u32 + 1, 1, cur)?;
            forecast.write_number(i as u32 + 1, 2, amount(cur, *v))?;
        }
        book.save_to_buffer()
    };
    let bytes = build().map_err(|e| {
        tracing::error!(error = %e, "funnel workbook failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "The workbook could not be made.",
        )
    })?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"funnel.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
}
