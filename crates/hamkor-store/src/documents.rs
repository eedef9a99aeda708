//! Sales documents: the rules a quote, order or invoice follows, its number (per kind and
//! year, without gaps: taken in the document's own transaction, so a document that is not
//! saved gives its number back), payments and shipments recorded against it, the client
//! balances they add up to, and the company's details printed on every document.

use crate::StoreError;
use crate::access::Actor;
use crate::db::{Arg, Exec, Sql};
use crate::records::Record;
use chrono::{Datelike, NaiveDate};
use hamkor_domain::input::RecordInput;
use hamkor_domain::objects::document_statuses;
use hamkor_domain::{Action, FieldError, Id, ObjectType, Scope, Timestamp, ValidationErrors};
use serde::Serialize;
use serde_json::{Value, json};

/// The prefix of a kind's numbers: `INV-2026-00017`.
pub fn prefix(kind: &str) -> &'static str {
    match kind {
        "quote" => "Q",
        "order" => "ORD",
        _ => "INV",
    }
}

/// Takes the next number of a kind in a year. The counter row stays locked until the
/// caller's transaction ends, so concurrent documents get consecutive numbers, and a
/// rolled-back document leaves no gap.
pub async fn next_number(tx: &mut impl Exec, kind: &str, year: i32) -> Result<String, StoreError> {
    let row = tx
        .fetch_optional(
            &Sql::new(
                "INSERT INTO document_numbers (kind, year, last) VALUES ($1, $2, 1) \
                 ON CONFLICT (kind, year) DO UPDATE SET last = document_numbers.last + 1 RETURNING last",
            )
            .arg(kind.to_string())
            .arg(i64::from(year)),
        )
        .await?
        .ok_or_else(|| StoreError::Decode("no number returned".into()))?;
    let n = row.req_int("last")?;
    Ok(format!("{}-{year}-{n:05}", prefix(kind)))
}

fn text<'a>(input: &'a RecordInput, current: Option<&'a Record>, k: &str) -> Option<&'a str> {
    match input.fields.get(k) {
        Some(v) => v.as_str(),
        None => current
            .and_then(|r| r.fields.get(k))
            .and_then(Value::as_str),
    }
}

/// Fields a document keeps once it is no longer a draft.
const FROZEN: &[&str] = &[
    "kind",
    "issued_on",
    "account_id",
    "contact_id",
    "currency",
    "vat_included",
];

/// Checks a document before it is written: its kind never changes, its status is one of
/// its kind's (`paid` and `partly_paid` come from payments), a document past its draft
/// keeps what it says, an invoice falls due after it is issued. A new document gets its
/// number, today's date, UZS, and an invoice its due date.
pub async fn prepare_document(
    tx: &mut impl Exec,
    current: Option<&Record>,
    input: &mut RecordInput,
    invoice_days: i64,
) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::default();
    let kind = text(input, current, "kind").unwrap_or("").to_string();
    if let Some(cur) = current
        && let Some(v) = input.fields.get("kind")
        && v.as_str() != cur.fields.get("kind").and_then(Value::as_str)
    {
        errors.push(FieldError::new("kind", "error-read-only"));
    }
    let was = current.and_then(|r| r.fields.get("status").and_then(Value::as_str));
    let system = input.fields.contains_key("paid") || input.fields.contains_key("shipped");
    match input.fields.get("status").and_then(Value::as_str) {
        None if current.is_none() => {
            input.fields.insert("status".into(), json!("draft"));
        }
        None => {
            if input.fields.get("status") == Some(&Value::Null) {
                errors.push(FieldError::new("status", "error-required"));
            }
        }
        Some(s) => {
            if !document_statuses(&kind).contains(&s) {
                errors.push(
                    FieldError::new("status", "error-document-status")
                        .with("kind", &kind)
                        .with("status", s),
                );
            } else if !system && matches!(s, "paid" | "partly_paid") && was != Some(s) {
                errors.push(FieldError::new("status", "error-status-by-payments"));
            } else if s == "cancelled"
                && was != Some("cancelled")
                && current.is_some_and(|r| {
                    r.fields
                        .get("paid")
                        .and_then(Value::as_str)
                        .is_some_and(|p| !p.trim_start_matches(['0', '.']).is_empty())
                })
            {
                errors.push(FieldError::new("status", "error-document-paid"));
            } else if was == Some("cancelled") && s != "cancelled" {
                errors.push(FieldError::new("status", "error-document-cancelled"));
            }
        }
    }
    if let Some(cur) = current
        && cur.fields.get("status").and_then(Value::as_str) != Some("draft")
    {
        for k in FROZEN {
            if let Some(v) = input.fields.get(*k)
                && cur.fields.get(*k).unwrap_or(&Value::Null) != v
            {
                errors.push(FieldError::new(*k, "error-document-locked"));
            }
        }
    }
    // A document always has its date of issue: `null` does not empty it (NOT NULL).
    if current.is_some() && input.fields.get("issued_on").is_some_and(Value::is_null) {
        errors.push(FieldError::new("issued_on", "error-required"));
    }
    if current.is_none() {
        let today = chrono::Utc::now().date_naive();
        if input.fields.get("issued_on").is_none_or(Value::is_null) {
            input
                .fields
                .insert("issued_on".into(), json!(today.to_string()));
        }
        if input.fields.get("currency").is_none_or(Value::is_null) {
            input.fields.insert("currency".into(), json!("UZS"));
        }
        if input.fields.get("vat_included").is_none_or(Value::is_null) {
            input.fields.insert("vat_included".into(), json!(false));
        }
        for k in ["net_total", "vat_total", "total", "paid", "shipped"] {
            input.fields.insert(k.into(), json!("0.00"));
        }
        let issued = input
            .fields
            .get("issued_on")
            .and_then(Value::as_str)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .unwrap_or(today);
        if kind == "invoice" && input.fields.get("due_on").is_none_or(Value::is_null) {
            input.fields.insert(
                "due_on".into(),
                json!((issued + chrono::Duration::days(invoice_days)).to_string()),
            );
        }
        if errors.is_empty() && !kind.is_empty() {
            let number = next_number(tx, &kind, issued.year()).await?;
            input.fields.insert("number".into(), json!(number));
        }
    }
    if let (Some(issued), Some(due)) = (
        text(input, current, "issued_on")
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        text(input, current, "due_on").and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
    ) && due < issued
    {
        errors.push(FieldError::new("due_on", "error-due-before-issue"));
    }
    errors.into_result().map_err(StoreError::Invalid)
}

/// A payment received or a shipment made against a document.
#[derive(Debug, Clone, Serialize)]
pub struct Movement {
    pub id: Id,
    pub document_id: Id,
    pub on_date: NaiveDate,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub method: Option<String>,
    pub reference: Option<String>,
    pub created_by: Id,
    pub created_at: Timestamp,
}

/// Payments or shipments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementKind {
    Payment,
    Shipment,
}

impl MovementKind {
    fn table(self) -> &'static str {
        match self {
            MovementKind::Payment => "payments",
            MovementKind::Shipment => "shipments",
        }
    }
}

/// Records a payment or shipment (checked by the caller) against a document the actor
/// may change, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn add_movement(
    tx: &mut impl Exec,
    actor: &Actor,
    kind: MovementKind,
    doc: &Record,
    on_date: NaiveDate,
    amount: i64,
    currency: &str,
    method: Option<String>,
    reference: Option<String>,
) -> Result<Id, StoreError> {
    if !doc.allows(actor, Action::Write) {
        return Err(StoreError::Forbidden);
    }
    let by = actor.user_id;
    let id = Id::new();
    let account = doc.link("account_id");
    let mut sql = Sql::new("INSERT INTO ");
    sql.push_ident(kind.table()).push(
        " (id, document_id, account_id, on_date, amount, currency, method, reference, created_by, created_at) VALUES (",
    );
    let args = [
        Arg::from(id),
        Arg::from(doc.id),
        Arg::from(account),
        Arg::Date(Some(on_date)),
        Arg::from(amount),
        Arg::from(currency.to_string()),
        Arg::from(method),
        Arg::from(reference),
        Arg::from(by),
        Arg::from(Timestamp::now()),
    ];
    for (i, a) in args.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind(a);
    }
    sql.push(")");
    tx.execute(&sql).await?;
    Ok(id)
}

/// A document's payments or shipments, oldest first.
pub async fn movements(
    ex: &mut impl Exec,
    kind: MovementKind,
    doc: Id,
) -> Result<Vec<Movement>, StoreError> {
    let mut sql = Sql::new(
        "SELECT id, document_id, on_date, amount, currency, method, reference, created_by, created_at FROM ",
    );
    sql.push_ident(kind.table())
        .push(" WHERE document_id = ")
        .bind(doc)
        .push(" ORDER BY on_date, created_at");
    ex.fetch_all(&sql)
        .await?
        .iter()
        .map(|r| {
            Ok(Movement {
                id: r.req_id("id")?,
                document_id: r.req_id("document_id")?,
                on_date: r
                    .date("on_date")?
                    .ok_or_else(|| StoreError::Decode("on_date".into()))?,
                amount: r.req_int("amount")?,
                currency: r.req_text("currency")?,
                method: r.text("method")?,
                reference: r.text("reference")?,
                created_by: r.req_id("created_by")?,
                created_at: r.req_ts("created_at")?,
            })
        })
        .collect()
}

/// The sum of a document's payments or shipments.
pub async fn movement_sum(
    ex: &mut impl Exec,
    kind: MovementKind,
    doc: Id,
) -> Result<i64, StoreError> {
    let mut sql = Sql::new("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM ");
    sql.push_ident(kind.table())
        .push(" WHERE document_id = ")
        .bind(doc);
    Ok(ex
        .fetch_optional(&sql)
        .await?
        .map(|r| r.req_int("n"))
        .transpose()?
        .unwrap_or(0))
}

/// Where a client stands in one currency: what was invoiced, paid and shipped, what is
/// owed, and the part of it past due.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Balance {
    pub currency: String,
    /// Totals of invoices issued (not drafts, not cancelled).
    pub invoiced: i64,
    pub paid: i64,
    pub shipped: i64,
    /// `invoiced - paid`.
    pub owed: i64,
    /// What is unpaid of invoices whose due date has passed.
    pub overdue: i64,
    /// `shipped - paid`: positive when the client has goods not yet paid for, negative
    /// when they paid for goods not yet shipped (1C's mutual settlements).
    pub settlement: i64,
}

/// A client's balances, per currency, from the documents the actor may see. `today`
/// decides what is overdue.
pub async fn balances(
    ex: &mut impl Exec,
    actor: &Actor,
    account: Id,
    today: NaiveDate,
) -> Result<Vec<Balance>, StoreError> {
    if actor.scope(ObjectType::Document, Action::Read) == Scope::None {
        return Ok(Vec::new());
    }
    let def = &hamkor_domain::objects::DOCUMENT;
    let mut sql = Sql::new(
        "SELECT currency, \
         CAST(COALESCE(SUM(total), 0) AS BIGINT) AS invoiced, \
         CAST(COALESCE(SUM(paid), 0) AS BIGINT) AS paid, \
         CAST(COALESCE(SUM(shipped), 0) AS BIGINT) AS shipped, \
         CAST(COALESCE(SUM(CASE WHEN due_on < ",
    );
    sql.bind(Arg::Date(Some(today)));
    sql.push(
        " THEN total - COALESCE(paid, 0) ELSE 0 END), 0) AS BIGINT) AS overdue \
         FROM documents t WHERE deleted_at IS NULL AND kind = 'invoice' \
         AND status NOT IN ('draft', 'cancelled') AND account_id = ",
    );
    sql.bind(account);
    crate::records::push_read_scope(&mut sql, actor, def);
    sql.push(" GROUP BY currency ORDER BY currency");
    let rows = ex.fetch_all(&sql).await?;
    // Shipments against orders count too (goods handed over before an invoice).
    let mut orders = Sql::new(
        "SELECT currency, CAST(COALESCE(SUM(shipped), 0) AS BIGINT) AS shipped FROM documents t \
         WHERE deleted_at IS NULL AND kind = 'order' AND status <> 'cancelled' AND account_id = ",
    );
    orders.bind(account);
    crate::records::push_read_scope(&mut orders, actor, def);
    orders.push(" GROUP BY currency");
    let order_rows = ex.fetch_all(&orders).await?;
    let mut out: Vec<Balance> = Vec::new();
    for r in rows {
        let invoiced = r.req_int("invoiced")?;
        let paid = r.req_int("paid")?;
        let shipped = r.req_int("shipped")?;
        out.push(Balance {
            currency: r.text("currency")?.unwrap_or_else(|| "UZS".into()),
            invoiced,
            paid,
            shipped,
            owed: invoiced - paid,
            overdue: r.req_int("overdue")?.max(0),
            settlement: shipped - paid,
        });
    }
    for r in order_rows {
        let currency = r.text("currency")?.unwrap_or_else(|| "UZS".into());
        let shipped = r.req_int("shipped")?;
        if shipped == 0 {
            continue;
        }
        match out.iter_mut().find(|b| b.currency == currency) {
            Some(b) => {
                b.shipped += shipped;
                b.settlement += shipped;
            }
            None => out.push(Balance {
                currency,
                invoiced: 0,
                paid: 0,
                shipped,
                owed: 0,
                overdue: 0,
                settlement: shipped,
            }),
        }
    }
    Ok(out)
}

/// The company's details and the editable parts of every document's PDF.
#[derive(Debug, Clone, Serialize, Default)]
pub struct DocumentSettings {
    pub company: String,
    /// Lines under the company's name: legal name, address, tax id, bank account …
    pub details: String,
    pub header: String,
    pub footer: String,
    pub accent: String,
    #[serde(skip)]
    pub logo: Option<Vec<u8>>,
    /// Days from an invoice's date to its due date, unless given.
    pub invoice_days: i64,
}

pub async fn settings(ex: &mut impl Exec) -> Result<DocumentSettings, StoreError> {
    let row = ex
        .fetch_optional(&Sql::new(
            "SELECT company, details, header, footer, accent, logo, invoice_days FROM document_settings WHERE id = 1",
        ))
        .await?;
    let Some(r) = row else {
        return Ok(DocumentSettings {
            accent: "#1f6feb".into(),
            invoice_days: 10,
            ..Default::default()
        });
    };
    Ok(DocumentSettings {
        company: r.req_text("company")?,
        details: r.req_text("details")?,
        header: r.req_text("header")?,
        footer: r.req_text("footer")?,
        accent: r.req_text("accent")?,
        logo: r.bytes("logo")?,
        invoice_days: r.req_int("invoice_days")?,
    })
}

/// Saves the settings (checked by the caller); `logo: None` keeps the logo unless
/// `drop_logo`.
pub async fn set_settings(
    tx: &mut impl Exec,
    s: &DocumentSettings,
    drop_logo: bool,
) -> Result<(), StoreError> {
    tx.execute(
        &Sql::new(
            "UPDATE document_settings SET company = $1, details = $2, header = $3, footer = $4, accent = $5, \
             invoice_days = $6, updated_at = $7 WHERE id = 1",
        )
        .arg(s.company.clone())
        .arg(s.details.clone())
        .arg(s.header.clone())
        .arg(s.footer.clone())
        .arg(s.accent.clone())
        .arg(s.invoice_days)
        .arg(Timestamp::now()),
    )
    .await?;
    if s.logo.is_some() || drop_logo {
        tx.execute(
            &Sql::new("UPDATE document_settings SET logo = $1 WHERE id = 1")
                .arg(Arg::Bytes(s.logo.clone())),
        )
        .await?;
    }
    Ok(())
}
