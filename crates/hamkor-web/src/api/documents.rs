//! Quotes, orders and invoices beyond their records (`/api/v1/documents` is generic):
//! making them from a deal or from one another, payments and shipments, client balances,
//! the PDF, sending by e-mail, and the company's document settings.

use super::json_body;
use super::records::{parse_id, record_json};
use crate::AppState;
use crate::auth::{ApiUser, Caller};
use crate::error::ApiError;
use crate::i18n::Loc;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use hamkor_app::AppError;
use hamkor_domain::money::{self, Quantity, format_amount};
use hamkor_domain::objects::DOCUMENT;
use hamkor_domain::{FieldError, Id, ValidationErrors};
use hamkor_store::documents::{Balance, DocumentSettings, Movement, MovementKind};
use hamkor_store::records::Record;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/deals/{id}/documents", post(from_deal))
        .route("/api/v1/documents/{id}/documents", post(from_document))
        .route(
            "/api/v1/documents/{id}/payments",
            get(|s, u, p| list_movements(MovementKind::Payment, s, u, p))
                .post(|s, u, p, h, b| add_movement(MovementKind::Payment, s, u, p, h, b)),
        )
        .route(
            "/api/v1/documents/{id}/shipments",
            get(|s, u, p| list_movements(MovementKind::Shipment, s, u, p))
                .post(|s, u, p, h, b| add_movement(MovementKind::Shipment, s, u, p, h, b)),
        )
        .route("/api/v1/documents/{id}/pdf", get(pdf))
        .route("/api/v1/documents/{id}/send", post(send))
        .route("/api/v1/accounts/{id}/balance", get(balance))
        .route(
            "/api/v1/document_settings",
            get(get_settings).put(put_settings),
        )
        .route(
            "/api/v1/document_settings/logo",
            put(put_logo).delete(delete_logo),
        )
}

fn app_err(c: &Caller) -> impl Fn(AppError) -> ApiError + '_ {
    move |e| ApiError::from_app(e, &c.loc)
}

fn kind_of(body: &Value, loc: &Loc) -> Result<String, ApiError> {
    match body.get("kind").and_then(Value::as_str) {
        Some(k) if hamkor_domain::objects::DOCUMENT_KINDS.contains(&k) => Ok(k.to_string()),
        _ => Err(ApiError::invalid(
            &FieldError::new("kind", "error-choice").into(),
            loc,
        )),
    }
}

fn created(r: &Record) -> Response {
    let mut resp = (StatusCode::CREATED, axum::Json(record_json(r))).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/documents/{}", r.id)) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// `POST /api/v1/deals/{id}/documents` `{"kind": "quote"}`: a document for the deal's
/// client with the deal's lines.
async fn from_deal(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let kind = kind_of(&body, &c.loc)?;
    let r = s
        .app
        .document_from_deal(&c.actor, id, &kind)
        .await
        .map_err(app_err(&c))?;
    Ok(created(&r))
}

/// `POST /api/v1/documents/{id}/documents` `{"kind": "invoice"}`: an order from a quote,
/// an invoice from a quote or an order.
async fn from_document(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let kind = kind_of(&body, &c.loc)?;
    let r = s
        .app
        .document_from_document(&c.actor, id, &kind)
        .await
        .map_err(app_err(&c))?;
    Ok(created(&r))
}

fn movement_json(m: &Movement) -> Value {
    let digits = money::currency(&m.currency).map_or(2, |c| c.minor_digits);
    json!({
        "id": m.id.to_string(), "document_id": m.document_id.to_string(),
        "on_date": m.on_date.to_string(), "amount": format_amount(m.amount, digits),
        "currency": m.currency, "method": m.method, "reference": m.reference,
        "created_by": m.created_by.to_string(), "created_at": m.created_at.to_rfc3339(),
    })
}

async fn list_movements(
    kind: MovementKind,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let list = s
        .app
        .movements(&c.actor, kind, id)
        .await
        .map_err(app_err(&c))?;
    let items: Vec<Value> = list.iter().map(movement_json).collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// `POST /api/v1/documents/{id}/payments` (invoices) or `…/shipments` (orders, invoices)
/// `{"amount": "500.00", "on_date": "2026-11-28", "method": "bank", "reference": "PP 17"}`;
/// without an amount, all that is open.
async fn add_movement(
    kind: MovementKind,
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    let m = s
        .app
        .add_movement(&c.actor, kind, id, &body)
        .await
        .map_err(app_err(&c))?;
    Ok((StatusCode::CREATED, axum::Json(movement_json(&m))).into_response())
}

pub(crate) fn balance_json(b: &Balance) -> Value {
    let digits = money::currency(&b.currency).map_or(2, |c| c.minor_digits);
    let a = |m: i64| format_amount(m, digits);
    json!({
        "currency": b.currency, "invoiced": a(b.invoiced), "paid": a(b.paid),
        "shipped": a(b.shipped), "owed": a(b.owed), "overdue": a(b.overdue),
        "settlement": a(b.settlement),
    })
}

/// `GET /api/v1/accounts/{id}/balance`: per currency, what the client was invoiced, paid,
/// received, owes, and owes past due.
async fn balance(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let list = s.app.balances(&c.actor, id).await.map_err(app_err(&c))?;
    let items: Vec<Value> = list.iter().map(balance_json).collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// Placeholders a document template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "company.name",
    "document.number",
    "document.date",
    "document.due",
    "document.total",
    "document.currency",
    "client.name",
];

fn template_of(s: &DocumentSettings) -> hamkor_pdf::Template {
    hamkor_pdf::Template {
        header: s.header.clone(),
        footer: s.footer.clone(),
        accent: s.accent.clone(),
    }
}

/// Checks the texts of the settings the way the PDF will read them.
pub(crate) fn check_settings(s: &DocumentSettings) -> Result<(), FieldError> {
    if let Some(logo) = &s.logo {
        // A logo that cannot be drawn is refused now, not when a document is printed.
        let company = hamkor_pdf::Company {
            name: String::new(),
            details: Vec::new(),
            logo: Some(logo.clone()),
        };
        let doc = hamkor_pdf::Document {
            columns: vec![hamkor_pdf::Column {
                title: "#".into(),
                align_right: false,
                width: 1.0,
            }],
            ..Default::default()
        };
        let t = hamkor_pdf::Template {
            accent: "#000000".into(),
            ..Default::default()
        };
        if let Err(e) = hamkor_pdf::render(&company, &doc, &t, &BTreeMap::new()) {
            return Err(FieldError::new("logo", "error-logo-type").with("reason", e.to_string()));
        }
    }
    use hamkor_pdf::PdfError;
    hamkor_pdf::check_template(&template_of(s), PLACEHOLDERS).map_err(|e| match e {
        PdfError::UnknownPlaceholder { field, name } | PdfError::BadPlaceholder { field, name } => {
            FieldError::new(field, "error-template-placeholder").with("name", name)
        }
        PdfError::UnbalancedBrace { field, position } => {
            FieldError::new(field, "error-template-brace").with("position", position)
        }
        PdfError::BadColour(_) => FieldError::new("accent", "error-template-colour"),
        other => FieldError::new("header", "error-template").with("reason", other.to_string()),
    })
}

/// Renders a document the caller may see as PDF, in the caller's language.
pub(crate) async fn render_pdf(
    s: &AppState,
    c: &Caller,
    id: Id,
) -> Result<(Record, Vec<u8>), AppError> {
    let doc = s.app.get_record(&c.actor, &DOCUMENT, id).await?;
    let lines = s.app.record_lines(&c.actor, &DOCUMENT, id).await?;
    let settings = s.app.document_settings().await?;
    let (account, contact) = s.app.document_parties(&c.actor, &doc).await;
    let loc = &c.loc;
    let text = |k: &str| doc.text(k).to_string();
    let kind = text("kind");
    let digits = lines.currency.minor_digits;
    let amount = |m: i64| grouped(&format_amount(m, digits));
    let date = |k: &str| {
        chrono::NaiveDate::parse_from_str(&text(k), "%Y-%m-%d")
            .map(|d| loc.date(d))
            .unwrap_or_default()
    };
    let mut meta = vec![(loc.t("pdf-date"), date("issued_on"))];
    if !text("due_on").is_empty() {
        meta.push((loc.t("pdf-due"), date("due_on")));
    }
    meta.push((
        loc.t("field-document-currency"),
        lines.currency.code.to_string(),
    ));
    let client_name = account
        .as_ref()
        .map(Record::title)
        .or_else(|| contact.as_ref().map(Record::title))
        .unwrap_or_default();
    let mut client_lines = vec![client_name.clone()];
    if let Some(a) = &account {
        let f = |k: &str| a.text(k).to_string();
        if !f("legal_name").is_empty() {
            client_lines.push(f("legal_name"));
        }
        if !f("tax_id").is_empty() {
            client_lines.push(format!(
                "{}: {}",
                loc.t("field-account-tax_id"),
                f("tax_id")
            ));
        }
        if let Some(addr) = a
            .fields
            .get("addresses")
            .and_then(Value::as_array)
            .and_then(|x| x.first())
            .and_then(|x| x.get("address"))
            .and_then(Value::as_str)
        {
            client_lines.push(addr.to_string());
        }
    }
    if let (Some(_), Some(ct)) = (&account, &contact) {
        client_lines.push(ct.title());
    }
    let columns = [
        ("#", 0.8, true),
        ("pdf-col-name", 3.0, false),
        ("pdf-col-qty", 1.2, true),
        ("pdf-col-unit", 1.1, false),
        ("pdf-col-price", 2.3, true),
        ("pdf-col-discount", 1.9, true),
        ("pdf-col-vat-rate", 1.2, true),
        ("pdf-col-vat", 2.3, true),
        ("pdf-col-total", 2.6, true),
    ]
    .iter()
    .map(|(k, w, right)| hamkor_pdf::Column {
        title: if *k == "#" { "#".into() } else { loc.t(k) },
        align_right: *right,
        width: *w,
    })
    .collect();
    let pct = |bp: i64| format_amount(bp, 2).trim_end_matches(".00").to_string();
    let rows = lines
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            vec![
                (i + 1).to_string(),
                l.name.clone(),
                Quantity(l.quantity).format(),
                match l.unit.as_deref() {
                    Some(u) if hamkor_domain::objects::UNITS.contains(&u) => {
                        loc.t(&format!("choice-{u}"))
                    }
                    Some(u) => u.to_string(),
                    None => String::new(),
                },
                amount(l.unit_price),
                if l.discount == 0 {
                    String::new()
                } else {
                    amount(l.discount)
                },
                format!("{}%", pct(l.vat_rate_bp)),
                amount(l.vat),
                amount(l.total),
            ]
        })
        .collect();
    let mut totals = vec![(loc.t("pdf-net"), amount(lines.totals.net))];
    for r in &lines.totals.by_rate {
        totals.push((
            loc.t_args(
                "pdf-vat-rate",
                &[(
                    "rate",
                    format_amount(i64::from(r.rate_bp), 2)
                        .trim_end_matches(".00")
                        .to_string(),
                )],
            ),
            amount(r.vat),
        ));
    }
    totals.push((
        format!("{}, {}", loc.t("pdf-total"), lines.currency.code),
        amount(lines.totals.total),
    ));
    let number = text("number");
    let title = loc.t_args(&format!("pdf-title-{kind}"), &[("number", number.clone())]);
    let pdf_doc = hamkor_pdf::Document {
        title,
        meta,
        parties: vec![
            hamkor_pdf::Party {
                heading: loc.t("pdf-seller"),
                lines: std::iter::once(settings.company.clone())
                    .chain(settings.details.lines().map(str::to_string))
                    .filter(|l| !l.trim().is_empty())
                    .collect(),
            },
            hamkor_pdf::Party {
                heading: loc.t("pdf-buyer"),
                lines: client_lines,
            },
        ],
        columns,
        rows,
        totals,
        notes: text("notes"),
        page_label: loc.t("pdf-page"),
    };
    let company = hamkor_pdf::Company {
        name: settings.company.clone(),
        details: settings
            .details
            .lines()
            .map(str::to_string)
            .filter(|l| !l.trim().is_empty())
            .collect(),
        logo: settings.logo.clone(),
    };
    let mut values = BTreeMap::new();
    values.insert("company.name".to_string(), settings.company.clone());
    values.insert("document.number".to_string(), number);
    values.insert("document.date".to_string(), date("issued_on"));
    values.insert("document.due".to_string(), date("due_on"));
    values.insert("document.total".to_string(), amount(lines.totals.total));
    values.insert(
        "document.currency".to_string(),
        lines.currency.code.to_string(),
    );
    values.insert("client.name".to_string(), client_name);
    let bytes =
        hamkor_pdf::render(&company, &pdf_doc, &template_of(&settings), &values).map_err(|e| {
            AppError::from(
                FieldError::new("template", "error-template").with("reason", e.to_string()),
            )
        })?;
    Ok((doc, bytes))
}

/// `1234567.89` → `1 234 567.89`: thousands apart, as printed documents show them.
fn grouped(s: &str) -> String {
    crate::i18n::group_digits(s, "\u{a0}", ".")
}

/// The file name of a document's PDF: `INV-2026-00017.pdf`.
pub(crate) fn file_name(doc: &Record) -> String {
    let n = match doc.text("number") {
        "" => "document",
        n => n,
    };
    format!(
        "{}.pdf",
        n.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect::<String>()
    )
}

pub(crate) fn pdf_response(doc: &Record, bytes: Vec<u8>) -> Response {
    let mut resp = bytes.into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/pdf"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{}\"", file_name(doc))) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// `GET /api/v1/documents/{id}/pdf`.
async fn pdf(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let (doc, bytes) = render_pdf(&s, &c, id).await.map_err(app_err(&c))?;
    Ok(pdf_response(&doc, bytes))
}

/// `POST /api/v1/documents/{id}/send` `{"to": "buh@client.uz", "subject": …, "text": …}`:
/// the PDF by e-mail, logged in the client's history; a draft becomes sent.
async fn send(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let body = json_body(&headers, &body, &c.loc)?;
    super::fields_of(&body, "", &["to", "subject", "text"])
        .map_err(|e| ApiError::invalid(&ValidationErrors::from(e), &c.loc))?;
    let r = send_document(&s, &c, id, &body)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(record_json(&r)).into_response())
}

/// Sends a document with its PDF (shared by the API and the page).
pub(crate) async fn send_document(
    s: &AppState,
    c: &Caller,
    id: Id,
    body: &Value,
) -> Result<Record, AppError> {
    let (doc, bytes) = render_pdf(s, c, id).await?;
    let get = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let number = doc.text("number").to_string();
    let kind = doc.text("kind");
    let subject = match get("subject") {
        s if s.trim().is_empty() => c
            .loc
            .t_args(&format!("pdf-title-{kind}"), &[("number", number.clone())]),
        s => s,
    };
    let text = match get("text") {
        t if t.trim().is_empty() => c.loc.t_args("document-mail-text", &[("number", number)]),
        t => t,
    };
    s.app
        .send_document(
            &c.actor,
            id,
            &get("to"),
            &subject,
            &text,
            &file_name(&doc),
            bytes,
        )
        .await
}

fn settings_json(s: &DocumentSettings) -> Value {
    json!({
        "company": s.company, "details": s.details, "header": s.header, "footer": s.footer,
        "accent": s.accent, "invoice_days": s.invoice_days, "logo": s.logo.is_some(),
        "placeholders": PLACEHOLDERS,
    })
}

async fn get_settings(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
) -> Result<Response, ApiError> {
    if !c.actor.is_admin() {
        return Err(ApiError::from_app(AppError::Forbidden, &c.loc));
    }
    let st = s.app.document_settings().await.map_err(app_err(&c))?;
    Ok(axum::Json(settings_json(&st)).into_response())
}

/// `PUT /api/v1/document_settings` `{"company", "details", "header", "footer", "accent",
/// "invoice_days"}` (administrators); the texts may use the `placeholders`.
async fn put_settings(
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
        &[
            "company",
            "details",
            "header",
            "footer",
            "accent",
            "invoice_days",
        ],
    )
    .map_err(invalid)?;
    let mut st = s.app.document_settings().await.map_err(app_err(&c))?;
    for (k, slot) in [
        ("company", &mut st.company),
        ("details", &mut st.details),
        ("header", &mut st.header),
        ("footer", &mut st.footer),
        ("accent", &mut st.accent),
    ] {
        match body.get(k) {
            None => {}
            Some(Value::String(v)) => *slot = v.clone(),
            Some(Value::Null) => slot.clear(),
            Some(_) => return Err(invalid(FieldError::new(k, "error-type-text"))),
        }
    }
    match body.get("invoice_days") {
        None => {}
        Some(v) => match v.as_i64() {
            Some(n) => st.invoice_days = n,
            None => {
                return Err(invalid(FieldError::new(
                    "invoice_days",
                    "error-type-number",
                )));
            }
        },
    }
    st.logo = None;
    let saved = s
        .app
        .set_document_settings(&c.actor, st, false, check_settings)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(settings_json(&saved)).into_response())
}

/// `PUT /api/v1/document_settings/logo` with a PNG or JPEG body (administrators).
async fn put_logo(
    State(s): State<AppState>,
    ApiUser(c): ApiUser,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut st = s.app.document_settings().await.map_err(app_err(&c))?;
    st.logo = Some(body.to_vec());
    let saved = s
        .app
        .set_document_settings(&c.actor, st, false, check_settings)
        .await
        .map_err(app_err(&c))?;
    Ok(axum::Json(settings_json(&saved)).into_response())
}

async fn delete_logo(State(s): State<AppState>, ApiUser(c): ApiUser) -> Result<Response, ApiError> {
    let mut st = s.app.document_settings().await.map_err(app_err(&c))?;
    st.logo = None;
    s.app
        .set_document_settings(&c.actor, st, true, check_settings)
        .await
        .map_err(app_err(&c))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
