//! Exchange rates: `GET/POST /api/v1/currency_rates`, `POST /api/v1/currency_rates/import`
//! (the central bank's JSON or a CSV, all or nothing) and
//! `GET /api/v1/currency_rates/convert` (an amount in the base currency at the rate of a
//! day). Everyone logged in reads; administrators and heads write.

use super::json_body;
use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::i18n::Loc;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use hamkor_app::currencies::{MAX_IMPORT_BYTES, parse_date};
use hamkor_domain::money::{self, Currency};
use hamkor_domain::{FieldError, Timestamp, ValidationErrors};
use hamkor_store::currencies::{CurrencyRate, RateFilter};
use serde_json::{Value, json};

/// Rates a listing returns unless asked for another number.
const DEFAULT_LIMIT: i64 = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/currency_rates", get(list).post(set))
        .route(
            "/api/v1/currency_rates/import",
            // Room above the file limit, so an oversized file gets our message, not a bare 413.
            post(import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES + 1024 * 1024)),
        )
        .route("/api/v1/currency_rates/convert", get(convert))
}

fn rate_json(r: &CurrencyRate) -> Value {
    json!({
        "currency": r.currency.code,
        "date": r.date.format("%Y-%m-%d").to_string(),
        "rate": r.rate.format(),
        "source": r.source.as_str(),
        "created_by": r.created_by.to_string(),
        "created_at": r.created_at.to_rfc3339(),
    })
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

fn invalid(errors: ValidationErrors, loc: &Loc) -> ApiError {
    ApiError::invalid(&errors, loc)
}

/// `GET /api/v1/currency_rates?currency=&from=&to=&limit=`: newest first.
async fn list(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut errors = ValidationErrors::default();
    let currency = param(&q, "currency")
        .map(|v| money::parse_currency(v, "currency"))
        .transpose()
        .unwrap_or_else(|e| {
            errors.push(e);
            None
        });
    let mut date = |name: &str| -> Option<NaiveDate> {
        param(&q, name)
            .map(|v| parse_date(v, name))
            .transpose()
            .unwrap_or_else(|e| {
                errors.push(e);
                None
            })
    };
    let (from, to) = (date("from"), date("to"));
    let limit = match param(&q, "limit") {
        None => DEFAULT_LIMIT,
        // Out of range is refused by the use case, with the limit in the message.
        Some(v) => v.parse::<i64>().unwrap_or(0),
    };
    errors.into_result().map_err(|e| invalid(e, &c.loc))?;
    let items = s
        .app
        .rates(RateFilter {
            currency,
            from,
            to,
            limit,
        })
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    let base = s
        .app
        .base_currency()
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({
        "base_currency": base.code,
        "items": items.iter().map(rate_json).collect::<Vec<_>>(),
    }))
    .into_response())
}

/// `POST /api/v1/currency_rates` `{"currency": "USD", "date": "2026-11-28",
/// "rate": "12650.45"}`: sets (or replaces) the rate of that day.
async fn set(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&headers, &body, &c.loc)?;
    let Some(obj) = body.as_object() else {
        return Err(invalid(
            FieldError::new("body", "error-not-object").into(),
            &c.loc,
        ));
    };
    let mut errors = ValidationErrors::default();
    for k in obj.keys() {
        if !["currency", "date", "rate"].contains(&k.as_str()) {
            errors.push(FieldError::new(k.clone(), "error-unknown-field"));
        }
    }
    let mut text = |name: &'static str| -> String {
        match obj.get(name) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(v)) => v.clone(),
            // A rate may come as a JSON number; it is read back from its shortest form.
            Some(Value::Number(n)) if name == "rate" => n.to_string(),
            Some(_) => {
                errors.push(FieldError::new(name, "error-type-text"));
                String::new()
            }
        }
    };
    let (currency, date, rate) = (text("currency"), text("date"), text("rate"));
    errors.into_result().map_err(|e| invalid(e, &c.loc))?;
    let stored = s
        .app
        .set_rate(&c.actor, &currency, &date, &rate)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((StatusCode::CREATED, axum::Json(rate_json(&stored))).into_response())
}

/// `POST /api/v1/currency_rates/import`: the body is the file, the central bank's JSON or
/// a CSV `currency,date,rate`, told apart by its content.
async fn import(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    let done = s
        .app
        .import_rates(&c.actor, &body)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"imported": done.imported, "skipped": done.skipped})),
    )
        .into_response())
}

/// `GET /api/v1/currency_rates/convert?amount=1500.00&currency=USD&date=2026-11-28`: the
/// amount in the base currency at the latest rate on or before the date (default: the
/// caller's today).
async fn convert(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut errors = ValidationErrors::default();
    let currency: Option<&'static Currency> = match param(&q, "currency") {
        None => {
            errors.push(FieldError::new("currency", "error-required"));
            None
        }
        Some(v) => money::parse_currency(v, "currency")
            .map_err(|e| errors.push(e))
            .ok(),
    };
    let date = match param(&q, "date") {
        None => Some(hamkor_app::tasks::local_date(c.loc.tz, Timestamp::now())),
        Some(v) => parse_date(v, "date").map_err(|e| errors.push(e)).ok(),
    };
    let amount = match (param(&q, "amount"), currency) {
        (None, _) => {
            errors.push(FieldError::new("amount", "error-required"));
            None
        }
        (Some(v), Some(cur)) => money::parse_amount(v, cur, "amount")
            .map_err(|e| errors.push(e))
            .ok(),
        // Its decimals depend on the currency, which is already refused.
        (Some(_), None) => None,
    };
    let (Some(currency), Some(date), Some(amount)) = (currency, date, amount) else {
        return Err(invalid(errors, &c.loc));
    };
    let done = s
        .app
        .convert_to_base(amount, currency, date)
        .await
        .map_err(|e| ApiError::from_app(e, &c.loc))?;
    Ok(axum::Json(json!({
        "amount": money::format_amount(done.amount_minor, done.currency.minor_digits),
        "currency": done.currency.code,
        "rate": done.rate.format(),
        "rate_date": done.rate_date.map(|d| d.format("%Y-%m-%d").to_string()),
    }))
    .into_response())
}
