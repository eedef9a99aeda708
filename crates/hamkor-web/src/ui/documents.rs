//! What record pages add for selling: the lines of a deal or document (with a form to
//! change them while that is allowed), a document's PDF, payments, shipments and the
//! e-mail to the client, documents made from a deal or another document, and a client's
//! balance on the account page.

use super::records::app_error_page;
use crate::AppState;
use crate::auth::{Caller, UiForm, UiUser};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hamkor_app::AppError;
use hamkor_app::sales::LineRequest;
use hamkor_domain::money::{Quantity, format_amount};
use hamkor_domain::objects::{DEAL, DOCUMENT, ObjectDef, PRODUCT};
use hamkor_domain::{Action, Id, ObjectType};
use hamkor_store::documents::MovementKind;
use hamkor_store::records::Record;
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/deals/{id}/lines",
            post(|s, p, f| save_lines(&DEAL, s, p, f)),
        )
        .route(
            "/documents/{id}/lines",
            post(|s, p, f| save_lines(&DOCUMENT, s, p, f)),
        )
        .route("/deals/{id}/make", post(make_from_deal))
        .route("/documents/{id}/make", post(make_from_document))
        .route("/documents/{id}/pdf", get(pdf))
        .route(
            "/documents/{id}/payments",
            post(|s, p, f| add_movement(MovementKind::Payment, s, p, f)),
        )
        .route(
            "/documents/{id}/shipments",
            post(|s, p, f| add_movement(MovementKind::Shipment, s, p, f)),
        )
        .route("/documents/{id}/send", post(send))
}

pub struct LineRow {
    pub name: String,
    pub quantity: String,
    pub unit: String,
    pub price: String,
    pub discount: String,
    pub vat: String,
    pub total: String,
}

pub struct LineInputRow {
    pub product_id: String,
    pub name: String,
    pub quantity: String,
    pub unit: String,
    pub price: String,
    pub discount: String,
    pub vat: String,
}

/// The lines section of a deal or document page.
pub struct LinesPanel {
    pub rows: Vec<LineRow>,
    pub totals: Vec<(String, String)>,
    pub editable: bool,
    pub vat_included: bool,
    pub inputs: Vec<LineInputRow>,
    pub products: Vec<(String, String)>,
    /// Documents to make from a deal: (kind, label).
    pub make: Vec<(&'static str, String)>,
    pub error: Option<String>,
}

/// A document's own section.
pub struct DocPanel {
    pub title: String,
    pub make: Vec<(&'static str, String)>,
    pub can_send: bool,
    pub default_to: String,
    pub subject: String,
    pub mail_text: String,
    pub movements: Vec<MovementsView>,
    pub error: Option<String>,
}

pub struct MovementsView {
    pub title: String,
    pub path: &'static str,
    /// (date, amount, reference)
    pub items: Vec<(String, String, String)>,
    pub can_add: bool,
    pub add_label: String,
    pub open: String,
}

/// A client's balance on the account page: (currency, invoiced, paid, shipped, owed,
/// overdue, anything overdue).
pub struct BalancePanel {
    pub rows: Vec<(String, String, String, String, String, String, bool)>,
}

const EMPTY_ROWS: usize = 3;

/// The lines panel of a deal or document, or `None` for other records.
pub(crate) async fn lines_panel(
    s: &AppState,
    c: &Caller,
    r: &Record,
    error: Option<String>,
) -> Option<LinesPanel> {
    let def: &'static ObjectDef = match r.object {
        ObjectType::Deal => &DEAL,
        ObjectType::Document => &DOCUMENT,
        _ => return None,
    };
    let loc = &c.loc;
    let data = s.app.record_lines(&c.actor, def, r.id).await.ok()?;
    let digits = data.currency.minor_digits;
    let amount = |m: i64| loc.amount(m, digits);
    let pct = |bp: i64| format_amount(bp, 2).trim_end_matches(".00").to_string();
    let rows = data
        .lines
        .iter()
        .map(|l| LineRow {
            name: l.name.clone(),
            quantity: Quantity(l.quantity).format(),
            unit: l.unit.clone().unwrap_or_default(),
            price: amount(l.unit_price),
            discount: if l.discount == 0 {
                String::new()
            } else {
                amount(l.discount)
            },
            vat: format!("{}% · {}", pct(l.vat_rate_bp), amount(l.vat)),
            total: amount(l.total),
        })
        .collect();
    let mut totals = vec![(loc.t("pdf-net"), amount(data.totals.net))];
    totals.push((loc.t("field-document-vat_total"), amount(data.totals.vat)));
    totals.push((
        format!("{}, {}", loc.t("pdf-total"), data.currency.code),
        amount(data.totals.total),
    ));
    let writable = r.allows(&c.actor, Action::Write);
    let editable = writable
        && match r.object {
            ObjectType::Document => r.text("status") == "draft",
            _ => r.text("status") == "open",
        };
    let mut inputs: Vec<LineInputRow> = data
        .lines
        .iter()
        .map(|l| LineInputRow {
            product_id: l.product_id.map(|p| p.to_string()).unwrap_or_default(),
            name: l.name.clone(),
            quantity: Quantity(l.quantity).format(),
            unit: l.unit.clone().unwrap_or_default(),
            price: format_amount(l.unit_price, digits),
            discount: match (l.discount_bp, l.discount_amount) {
                (Some(bp), _) => format!("{}%", pct(bp)),
                (_, Some(a)) => format_amount(a, digits),
                _ => String::new(),
            },
            vat: pct(l.vat_rate_bp),
        })
        .collect();
    let mut products = Vec::new();
    if editable {
        for _ in 0..EMPTY_ROWS {
            inputs.push(LineInputRow {
                product_id: String::new(),
                name: String::new(),
                quantity: String::new(),
                unit: String::new(),
                price: String::new(),
                discount: String::new(),
                vat: String::new(),
            });
        }
        let params = vec![
            ("active".to_string(), "true".to_string()),
            ("limit".to_string(), "200".to_string()),
        ];
        if let Ok(page) = s.app.list_records(&c.actor, &PRODUCT, &params).await {
            products = page
                .items
                .iter()
                .map(|p| (p.id.to_string(), p.title()))
                .collect();
        }
    }
    let make = if r.object == ObjectType::Deal
        && c.actor.scope(ObjectType::Document, Action::Write) != hamkor_domain::Scope::None
    {
        ["quote", "order", "invoice"]
            .into_iter()
            .map(|k| (k, loc.t(&format!("document-make-{k}"))))
            .collect()
    } else {
        Vec::new()
    };
    Some(LinesPanel {
        rows,
        totals,
        editable,
        vat_included: data.vat_included,
        inputs,
        products,
        make,
        error,
    })
}

/// A document's own panel, or `None` for other records.
pub(crate) async fn doc_panel(
    s: &AppState,
    c: &Caller,
    r: &Record,
    error: Option<String>,
) -> Option<DocPanel> {
    if r.object != ObjectType::Document {
        return None;
    }
    let loc = &c.loc;
    let kind = r.text("kind");
    let status = r.text("status");
    let writable = r.allows(&c.actor, Action::Write);
    let live = status != "cancelled";
    let make = if writable && live {
        match kind {
            "quote" => vec!["order", "invoice"],
            "order" => vec!["invoice"],
            _ => vec![],
        }
        .into_iter()
        .map(|k| (k, loc.t(&format!("document-make-{k}"))))
        .collect()
    } else {
        Vec::new()
    };
    let currency = hamkor_domain::money::currency(r.text("currency"))
        .or_else(|| hamkor_domain::money::currency("UZS"))?;
    let minor = |k: &str| hamkor_app::documents::minor(r, k, currency);
    let mut movements = Vec::new();
    for (mk, path, title, add, applies, done_field) in [
        (
            MovementKind::Payment,
            "payments",
            "document-payments",
            "document-add-payment",
            kind == "invoice",
            "paid",
        ),
        (
            MovementKind::Shipment,
            "shipments",
            "document-shipments",
            "document-add-shipment",
            kind == "invoice" || kind == "order",
            "shipped",
        ),
    ] {
        if !applies {
            continue;
        }
        let items = s
            .app
            .movements(&c.actor, mk, r.id)
            .await
            .unwrap_or_default()
            .iter()
            .map(|m| {
                (
                    loc.date(m.on_date),
                    format!(
                        "{} {}",
                        format_amount(m.amount, currency.minor_digits),
                        m.currency
                    ),
                    [m.method.clone(), m.reference.clone()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · "),
                )
            })
            .collect();
        let open = minor("total") - minor(done_field);
        movements.push(MovementsView {
            title: loc.t(title),
            path,
            items,
            can_add: writable && open > 0 && !matches!(status, "draft" | "cancelled"),
            add_label: loc.t(add),
            open: format_amount(open.max(0), currency.minor_digits),
        });
    }
    let (account, contact) = s.app.document_parties(&c.actor, r).await;
    let first_email = |rec: &Option<Record>| {
        rec.as_ref()
            .and_then(|x| x.fields.get("emails"))
            .and_then(Value::as_array)
            .and_then(|a| a.first())
            .and_then(|e| e.get("address"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let number = r.text("number").to_string();
    Some(DocPanel {
        title: loc.t_args(&format!("pdf-title-{kind}"), &[("number", number.clone())]),
        make,
        can_send: writable && live,
        default_to: first_email(&contact)
            .or_else(|| first_email(&account))
            .unwrap_or_default(),
        subject: loc.t_args(&format!("pdf-title-{kind}"), &[("number", number.clone())]),
        mail_text: loc.t_args("document-mail-text", &[("number", number)]),
        movements,
        error,
    })
}

/// The balance panel of an account page, or `None` for other records.
pub(crate) async fn balance_panel(s: &AppState, c: &Caller, r: &Record) -> Option<BalancePanel> {
    if r.object != ObjectType::Account
        || c.actor.scope(ObjectType::Document, Action::Read) == hamkor_domain::Scope::None
    {
        return None;
    }
    let list = s.app.balances(&c.actor, r.id).await.ok()?;
    Some(BalancePanel {
        rows: list
            .iter()
            .map(|b| {
                let digits =
                    hamkor_domain::money::currency(&b.currency).map_or(2, |x| x.minor_digits);
                let a = |m: i64| format_amount(m, digits);
                (
                    b.currency.clone(),
                    a(b.invoiced),
                    a(b.paid),
                    a(b.shipped),
                    a(b.owed),
                    a(b.overdue),
                    b.overdue > 0,
                )
            })
            .collect(),
    })
}

fn parse_id(c: &Caller, id: &str) -> Result<Id, Box<Response>> {
    id.parse::<Id>()
        .map_err(|_| Box::new(app_error_page(c, AppError::NotFound)))
}

/// The values of a field that repeats once per row, in order.
fn column<'a>(f: &'a UiForm, name: &str) -> Vec<&'a str> {
    f.fields
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

async fn save_lines(
    def: &'static ObjectDef,
    State(s): State<AppState>,
    Path(id): Path<String>,
    f: UiForm,
) -> Response {
    let c = &f.caller;
    let id = match parse_id(c, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let cols: Vec<Vec<&str>> = [
        "product_id",
        "name",
        "quantity",
        "unit",
        "unit_price",
        "discount",
        "vat_rate",
    ]
    .iter()
    .map(|n| column(&f, n))
    .collect();
    let rows = cols.iter().map(Vec::len).max().unwrap_or(0);
    let cell = |col: usize, row: usize| -> Option<String> {
        cols[col]
            .get(row)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut lines = Vec::new();
    for row in 0..rows {
        if (0..cols.len()).all(|col| cell(col, row).is_none()) {
            continue;
        }
        lines.push(LineRequest {
            product_id: cell(0, row).and_then(|p| p.parse().ok()),
            name: cell(1, row),
            quantity: cell(2, row).unwrap_or_else(|| "1".into()),
            unit: cell(3, row),
            unit_price: cell(4, row),
            discount: cell(5, row),
            vat_rate: cell(6, row),
        });
    }
    let vat_included = f.get("vat_included") == "yes";
    match s
        .app
        .set_record_lines(&c.actor, def, id, vat_included, &lines)
        .await
    {
        Ok(_) => Redirect::to(&format!("/{}/{id}#lines", def.plural)).into_response(),
        Err(AppError::Invalid(v)) => {
            let message = c.loc.errors(&v);
            super::records::record_page_with(&s, c, def, id, Some(message), None).await
        }
        Err(e) => app_error_page(c, e),
    }
}

async fn make_from_deal(State(s): State<AppState>, Path(id): Path<String>, f: UiForm) -> Response {
    let c = &f.caller;
    let id = match parse_id(c, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match s.app.document_from_deal(&c.actor, id, f.get("kind")).await {
        Ok(d) => Redirect::to(&format!("/documents/{}", d.id)).into_response(),
        Err(AppError::Invalid(v)) => {
            let message = c.loc.errors(&v);
            super::records::record_page_with(&s, c, &DEAL, id, Some(message), None).await
        }
        Err(e) => app_error_page(c, e),
    }
}

async fn make_from_document(
    State(s): State<AppState>,
    Path(id): Path<String>,
    f: UiForm,
) -> Response {
    let c = &f.caller;
    let id = match parse_id(c, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match s
        .app
        .document_from_document(&c.actor, id, f.get("kind"))
        .await
    {
        Ok(d) => Redirect::to(&format!("/documents/{}", d.id)).into_response(),
        Err(AppError::Invalid(v)) => {
            let message = c.loc.errors(&v);
            super::records::record_page_with(&s, c, &DOCUMENT, id, None, Some(message)).await
        }
        Err(e) => app_error_page(c, e),
    }
}

async fn pdf(State(s): State<AppState>, UiUser(c): UiUser, Path(id): Path<String>) -> Response {
    let id = match parse_id(&c, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    match crate::api::documents::render_pdf(&s, &c, id).await {
        Ok((doc, bytes)) => crate::api::documents::pdf_response(&doc, bytes),
        Err(e) => app_error_page(&c, e),
    }
}

async fn add_movement(
    kind: MovementKind,
    State(s): State<AppState>,
    Path(id): Path<String>,
    f: UiForm,
) -> Response {
    let c = &f.caller;
    let id = match parse_id(c, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let mut body = serde_json::Map::new();
    for k in ["amount", "on_date", "reference"] {
        let v = f.get(k).trim();
        if !v.is_empty() {
            body.insert(k.into(), json!(v));
        }
    }
    match s
        .app
        .add_movement(&c.actor, kind, id, &Value::Object(body))
        .await
    {
        Ok(_) => Redirect::to(&format!("/documents/{id}#document")).into_response(),
        Err(AppError::Invalid(v)) => {
            let message = c.loc.errors(&v);
            super::records::record_page_with(&s, c, &DOCUMENT, id, None, Some(message)).await
        }
        Err(e) => app_error_page(c, e),
    }
}

async fn send(State(s): State<AppState>, Path(id): Path<String>, f: UiForm) -> Response {
    let c = &f.caller;
    let id = match parse_id(c, &id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let body = json!({"to": f.get("to"), "subject": f.get("subject"), "text": f.get("text")});
    match crate::api::documents::send_document(&s, c, id, &body).await {
        Ok(_) => Redirect::to(&format!("/documents/{id}#document")).into_response(),
        Err(AppError::Invalid(v)) => {
            let message = c.loc.errors(&v);
            let mut resp =
                super::records::record_page_with(&s, c, &DOCUMENT, id, None, Some(message)).await;
            *resp.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            resp
        }
        Err(e) => app_error_page(c, e),
    }
}

#[derive(askama::Template)]
#[template(path = "document_settings.html")]
struct SettingsPage {
    loc: crate::i18n::Loc,
    user: Option<hamkor_store::users::User>,
    csrf: String,
    langs: [crate::i18n::Lang; 3],
    search_value: String,
    st: hamkor_store::documents::DocumentSettings,
    has_logo: bool,
    placeholders: &'static [&'static str],
    message: Option<String>,
    error: Option<String>,
}

fn settings_render(
    c: &Caller,
    st: hamkor_store::documents::DocumentSettings,
    message: Option<String>,
    error: Option<String>,
) -> Response {
    let frame = super::Frame::for_caller(c);
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut resp = super::render(&SettingsPage {
        loc: c.loc,
        user: frame.user,
        csrf: frame.csrf,
        langs: frame.langs,
        search_value: String::new(),
        has_logo: st.logo.is_some(),
        st,
        placeholders: crate::api::documents::PLACEHOLDERS,
        message,
        error,
    });
    *resp.status_mut() = status;
    resp
}

/// `/settings/documents`: the company's details, logo and texts on every document
/// (administrators).
async fn settings_page(State(s): State<AppState>, UiUser(c): UiUser) -> Response {
    if !c.actor.is_admin() {
        return app_error_page(&c, AppError::Forbidden);
    }
    match s.app.document_settings().await {
        Ok(st) => settings_render(&c, st, None, None),
        Err(e) => app_error_page(&c, e),
    }
}

async fn settings_post(State(s): State<AppState>, up: crate::auth::UiUpload) -> Response {
    let c = &up.caller;
    if !c.actor.is_admin() {
        return app_error_page(c, AppError::Forbidden);
    }
    let get = |k: &str| {
        up.fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let current = match s.app.document_settings().await {
        Ok(st) => st,
        Err(e) => return app_error_page(c, e),
    };
    let st = hamkor_store::documents::DocumentSettings {
        company: get("company").trim().to_string(),
        details: get("details").replace("\r\n", "\n"),
        header: get("header").replace("\r\n", "\n"),
        footer: get("footer").replace("\r\n", "\n"),
        accent: get("accent").trim().to_string(),
        invoice_days: get("invoice_days").trim().parse().unwrap_or(-1),
        logo: up
            .file
            .as_ref()
            .filter(|(_, bytes)| !bytes.is_empty())
            .map(|(_, bytes)| bytes.clone()),
    };
    let drop_logo = get("drop_logo") == "yes" && st.logo.is_none();
    let attempt = st.clone();
    match s
        .app
        .set_document_settings(
            &c.actor,
            st,
            drop_logo,
            crate::api::documents::check_settings,
        )
        .await
    {
        Ok(saved) => settings_render(c, saved, Some(c.loc.t("web-form-saved")), None),
        Err(AppError::Invalid(v)) => {
            let mut shown = attempt;
            shown.logo = current.logo;
            settings_render(c, shown, None, Some(c.loc.errors(&v)))
        }
        Err(e) => app_error_page(c, e),
    }
}

pub fn settings_routes() -> Router<AppState> {
    Router::new().route(
        "/settings/documents",
        get(settings_page).post(settings_post),
    )
}
