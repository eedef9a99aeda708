//! Quotes, orders and invoices: made from a deal or from one another (the lines are
//! copied exactly), payments and shipments recorded against them, client balances, the
//! company's document settings, and sending a document by e-mail (logged as an
//! interaction).

use crate::sales::record_currency;
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use hamkor_domain::input::{Mode, RecordInput, parse_record_input};
use hamkor_domain::money::{self, Currency};
use hamkor_domain::objects::{ACCOUNT, CONTACT, DEAL, DOCUMENT, INTERACTION};
use hamkor_domain::{Action, FieldError, Id, ObjectType, ValidationErrors};
use hamkor_store::Actor;
use hamkor_store::documents::{self, Balance, DocumentSettings, Movement, MovementKind};
use hamkor_store::records::{self, Record};
use hamkor_store::sales::{self, LineOwner};
use hamkor_store::settings;
use serde_json::{Value, json};

/// The largest logo accepted, in bytes.
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;

/// The custom fields of interactions and documents, for logging a sent document.
struct Customs {
    interaction: Vec<hamkor_domain::custom::CustomFieldDef>,
    document: Vec<hamkor_domain::custom::CustomFieldDef>,
}

/// An amount field of a record in minor units of currency `c` (0 when empty).
pub fn minor(r: &Record, k: &str, c: &Currency) -> i64 {
    money::parse_amount(r.text(k), c, k).unwrap_or(0)
}

impl App {
    async fn document_input(&self, body: &Value) -> AppResult<RecordInput> {
        let customs = self.custom_fields(ObjectType::Document).await?;
        let mut db = self.db.clone();
        let cc = settings::default_country_code(&mut db).await?;
        Ok(parse_record_input(
            &DOCUMENT,
            &customs,
            body,
            Mode::Create,
            &cc,
        )?)
    }

    /// Makes a document of `kind` with `fields`, copying `lines` (already computed in the
    /// document's currency), in one transaction.
    async fn document_with_lines(
        &self,
        actor: &Actor,
        body: Value,
        extra: &[(&str, Value)],
        vat_included: bool,
        lines: Vec<sales::Line>,
    ) -> AppResult<Record> {
        let mut input = self.document_input(&body).await?;
        for (k, v) in extra {
            input.fields.insert((*k).to_string(), v.clone());
        }
        input
            .fields
            .insert("vat_included".into(), json!(vat_included));
        let customs = self.custom_fields(ObjectType::Document).await?;
        let mut tx = self.db.begin().await?;
        let doc = records::create(&mut tx, actor, &DOCUMENT, input, &customs).await?;
        let c = record_currency(&doc);
        sales::set_lines(
            &mut tx,
            actor,
            LineOwner::Document,
            doc.id,
            vat_included,
            &lines,
        )
        .await?;
        let sum = |f: fn(&sales::Line) -> i64| -> Result<i64, AppError> {
            lines.iter().try_fold(0i64, |acc, l| {
                acc.checked_add(f(l))
                    .ok_or_else(|| FieldError::new("lines", "error-amount-overflow").into())
            })
        };
        let mut totals = RecordInput::default();
        for (k, v) in [
            ("net_total", sum(|l| l.net)?),
            ("vat_total", sum(|l| l.vat)?),
            ("total", sum(|l| l.total)?),
        ] {
            totals
                .fields
                .insert(k.into(), json!(money::format_amount(v, c.minor_digits)));
        }
        let doc =
            records::update(&mut tx, actor, &DOCUMENT, doc.id, totals, &customs, None).await?;
        tx.commit().await?;
        Ok(doc)
    }

    /// A quote, order or invoice for a deal: its client, currency and lines.
    pub async fn document_from_deal(
        &self,
        actor: &Actor,
        deal: Id,
        kind: &str,
    ) -> AppResult<Record> {
        let d = self.get_record(actor, &DEAL, deal).await?;
        let mut db = self.db.clone();
        let (vat_included, lines) = sales::lines(&mut db, LineOwner::Deal, deal).await?;
        let body = json!({
            "kind": kind,
            "account_id": d.fields.get("account_id"),
            "contact_id": d.fields.get("contact_id"),
            "deal_id": deal.to_string(),
            "currency": record_currency(&d).code,
        });
        self.document_with_lines(actor, body, &[], vat_included, lines)
            .await
    }

    /// An order from a quote, or an invoice from a quote or order: the same client,
    /// currency and lines, pointing back to its source.
    pub async fn document_from_document(
        &self,
        actor: &Actor,
        source: Id,
        kind: &str,
    ) -> AppResult<Record> {
        let s = self.get_record(actor, &DOCUMENT, source).await?;
        let from = s.text("kind");
        let allowed = matches!(
            (from, kind),
            ("quote", "order") | ("quote", "invoice") | ("order", "invoice")
        );
        if !allowed {
            return Err(FieldError::new("kind", "error-document-from")
                .with("from", from)
                .with("to", kind)
                .into());
        }
        if s.text("status") == "cancelled" {
            return Err(FieldError::new("source_id", "error-document-cancelled").into());
        }
        let mut db = self.db.clone();
        let (vat_included, lines) = sales::lines(&mut db, LineOwner::Document, source).await?;
        let body = json!({
            "kind": kind,
            "account_id": s.fields.get("account_id"),
            "contact_id": s.fields.get("contact_id"),
            "deal_id": s.fields.get("deal_id"),
            "currency": record_currency(&s).code,
            "notes": s.fields.get("notes"),
        });
        self.document_with_lines(
            actor,
            body,
            &[("source_id", json!(source.to_string()))],
            vat_included,
            lines,
        )
        .await
    }

    /// Records a payment against an invoice, or a shipment against an order or invoice:
    /// a positive amount in the document's currency, at most what is still open; the
    /// document's `paid` (and payment status) or `shipped` follows, in one transaction.
    pub async fn add_movement(
        &self,
        actor: &Actor,
        kind: MovementKind,
        doc_id: Id,
        body: &Value,
    ) -> AppResult<Movement> {
        let doc = self.get_record(actor, &DOCUMENT, doc_id).await?;
        if !doc.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        let doc_kind = doc.text("kind");
        let status = doc
            .fields
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("");
        let c = record_currency(&doc);
        let mut errors = ValidationErrors::default();
        let fits = match kind {
            MovementKind::Payment => doc_kind == "invoice",
            MovementKind::Shipment => doc_kind == "invoice" || doc_kind == "order",
        };
        if !fits {
            errors.push(FieldError::new("kind", "error-movement-kind").with("kind", doc_kind));
        } else if matches!(status, "draft" | "cancelled") {
            errors.push(FieldError::new("status", "error-movement-status").with("status", status));
        }
        if let Some(o) = body.as_object() {
            for k in o.keys() {
                if !["amount", "on_date", "method", "reference"].contains(&k.as_str()) {
                    errors.push(FieldError::new(k.clone(), "error-unknown-field"));
                }
            }
        } else {
            return Err(FieldError::new("", "error-not-object").into());
        }
        let total = minor(&doc, "total", c);
        let done = match kind {
            MovementKind::Payment => minor(&doc, "paid", c),
            MovementKind::Shipment => minor(&doc, "shipped", c),
        };
        let open = total - done;
        let amount = match body.get("amount") {
            None | Some(Value::Null) => Ok(open),
            Some(Value::String(s)) => money::parse_amount(s, c, "amount"),
            Some(Value::Number(n)) => money::parse_amount(&n.to_string(), c, "amount"),
            Some(_) => Err(FieldError::new("amount", "error-type-amount")),
        };
        let amount = match amount {
            Ok(a) if a <= 0 => {
                errors.push(FieldError::new("amount", "error-positive"));
                0
            }
            Ok(a) if a > open => {
                errors.push(
                    FieldError::new("amount", "error-more-than-open")
                        .with("open", money::format_amount(open.max(0), c.minor_digits)),
                );
                0
            }
            Ok(a) => a,
            Err(e) => {
                errors.push(e);
                0
            }
        };
        let on_date = match body.get("on_date") {
            None | Some(Value::Null) => chrono::Utc::now().date_naive(),
            Some(Value::String(s)) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => d,
                Err(_) => {
                    errors.push(FieldError::new("on_date", "error-type-date"));
                    chrono::Utc::now().date_naive()
                }
            },
            Some(_) => {
                errors.push(FieldError::new("on_date", "error-type-date"));
                chrono::Utc::now().date_naive()
            }
        };
        let short = |k: &str, errors: &mut ValidationErrors| -> Option<String> {
            match body.get(k) {
                Some(Value::String(s)) if s.chars().count() > 200 => {
                    errors.push(FieldError::new(k, "error-too-long").with("max", 200));
                    None
                }
                Some(Value::String(s)) if s.chars().any(char::is_control) => {
                    errors.push(FieldError::new(k, "error-control-chars"));
                    None
                }
                Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
                None | Some(Value::Null) | Some(Value::String(_)) => None,
                Some(_) => {
                    errors.push(FieldError::new(k, "error-type-text"));
                    None
                }
            }
        };
        let method = short("method", &mut errors);
        let reference = short("reference", &mut errors);
        errors.into_result()?;
        let customs = self.custom_fields(ObjectType::Document).await?;
        let mut tx = self.db.begin().await?;
        // Lock the document and re-read what is open, so two payments at once cannot
        // together pay more than the total.
        let fresh = records::get_for_update(&mut tx, actor, &DOCUMENT, doc_id).await?;
        let done_now = documents::movement_sum(&mut tx, kind, doc_id).await?;
        if done_now + amount > minor(&fresh, "total", c) {
            return Err(FieldError::new("amount", "error-more-than-open")
                .with(
                    "open",
                    money::format_amount(
                        (minor(&fresh, "total", c) - done_now).max(0),
                        c.minor_digits,
                    ),
                )
                .into());
        }
        let id = documents::add_movement(
            &mut tx, actor, kind, &fresh, on_date, amount, c.code, method, reference,
        )
        .await?;
        let new_done = done_now + amount;
        let mut input = RecordInput::default();
        let amount_text = json!(money::format_amount(new_done, c.minor_digits));
        match kind {
            MovementKind::Payment => {
                input.fields.insert("paid".into(), amount_text);
                let status = if new_done >= minor(&fresh, "total", c) {
                    "paid"
                } else {
                    "partly_paid"
                };
                input.fields.insert("status".into(), json!(status));
            }
            MovementKind::Shipment => {
                input.fields.insert("shipped".into(), amount_text);
                if doc_kind == "order" && new_done >= minor(&fresh, "total", c) {
                    input.fields.insert("status".into(), json!("shipped"));
                }
            }
        }
        records::update(&mut tx, actor, &DOCUMENT, doc_id, input, &customs, None).await?;
        tx.commit().await?;
        let mut db = self.db.clone();
        documents::movements(&mut db, kind, doc_id)
            .await?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or(AppError::NotFound)
    }

    /// A document's payments or shipments.
    pub async fn movements(
        &self,
        actor: &Actor,
        kind: MovementKind,
        doc: Id,
    ) -> AppResult<Vec<Movement>> {
        self.get_record(actor, &DOCUMENT, doc).await?;
        let mut db = self.db.clone();
        Ok(documents::movements(&mut db, kind, doc).await?)
    }

    /// What a client owes, per currency, as far as the actor may see its documents.
    pub async fn balances(&self, actor: &Actor, account: Id) -> AppResult<Vec<Balance>> {
        self.get_record(actor, &ACCOUNT, account).await?;
        let mut db = self.db.clone();
        Ok(documents::balances(&mut db, actor, account, chrono::Utc::now().date_naive()).await?)
    }

    /// The company's document settings.
    pub async fn document_settings(&self) -> AppResult<DocumentSettings> {
        let mut db = self.db.clone();
        Ok(documents::settings(&mut db).await?)
    }

    /// Saves the document settings (administrators). `check` validates the texts (the
    /// PDF layer knows the placeholders); a logo must be a PNG or JPEG of at most
    /// `MAX_LOGO_BYTES`.
    pub async fn set_document_settings(
        &self,
        actor: &Actor,
        s: DocumentSettings,
        drop_logo: bool,
        check: impl Fn(&DocumentSettings) -> Result<(), FieldError>,
    ) -> AppResult<DocumentSettings> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::default();
        for (k, v, max) in [
            ("company", &s.company, 200),
            ("details", &s.details, 2000),
            ("header", &s.header, 2000),
            ("footer", &s.footer, 2000),
        ] {
            if v.chars().count() > max {
                errors.push(FieldError::new(k, "error-too-long").with("max", max));
            }
        }
        if !(0..=365).contains(&s.invoice_days) {
            errors.push(FieldError::new("invoice_days", "error-invoice-days").with("max", 365));
        }
        if let Some(logo) = &s.logo {
            let png = logo.starts_with(b"\x89PNG\r\n\x1a\n");
            let jpeg = logo.starts_with(&[0xff, 0xd8, 0xff]);
            if logo.len() > MAX_LOGO_BYTES {
                errors.push(FieldError::new("logo", "error-file-too-large").with("max", "1 MiB"));
            } else if !png && !jpeg {
                errors.push(FieldError::new("logo", "error-logo-type"));
            }
        }
        if let Err(e) = check(&s) {
            errors.push(e);
        }
        errors.into_result()?;
        let mut tx = self.db.begin().await?;
        documents::set_settings(&mut tx, &s, drop_logo).await?;
        tx.commit().await?;
        self.document_settings().await
    }

    /// Sends a document to its client by e-mail with its PDF, logs the e-mail in the
    /// client's history, and marks a draft or issued document sent.
    #[allow(clippy::too_many_arguments)]
    pub async fn send_document(
        &self,
        actor: &Actor,
        id: Id,
        to: &str,
        subject: &str,
        text: &str,
        file_name: &str,
        pdf: Vec<u8>,
    ) -> AppResult<Record> {
        let doc = self.get_record(actor, &DOCUMENT, id).await?;
        if !doc.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::default();
        if hamkor_domain::email::normalize_email(to).is_err() {
            errors.push(FieldError::new("to", "error-email"));
        }
        if subject.trim().is_empty() {
            errors.push(FieldError::new("subject", "error-required"));
        } else if subject.chars().count() > 200 {
            errors.push(FieldError::new("subject", "error-too-long").with("max", 200));
        } else if subject.chars().any(char::is_control) {
            errors.push(FieldError::new("subject", "error-control-chars"));
        }
        if text.chars().count() > 10_000 {
            errors.push(FieldError::new("text", "error-too-long").with("max", 10_000));
        } else if text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            errors.push(FieldError::new("text", "error-control-chars"));
        }
        if doc.text("status") == "cancelled" {
            errors.push(FieldError::new("status", "error-document-cancelled"));
        }
        errors.into_result()?;
        let Some(mailer) = &self.mailer else {
            return Err(FieldError::new("to", "error-mail-off").into());
        };
        // What is written once the mail is out, written now and rolled back: a mail that
        // went out must not be refused afterwards (a client since trashed, a required
        // custom field), unlogged and the document not marked sent.
        let customs = Customs {
            interaction: self.custom_fields(ObjectType::Interaction).await?,
            document: self.custom_fields(ObjectType::Document).await?,
        };
        let account = doc.link("account_id");
        let contact = doc.link("contact_id");
        let interaction = if account.is_some() || contact.is_some() {
            let mut db = self.db.clone();
            let cc = settings::default_country_code(&mut db).await?;
            let body = json!({
                "kind": "email", "direction": "outgoing", "subject": subject,
                "body": format!("{text}\n\n[{file_name}] → {}", to.trim()),
                "account_id": account.map(|a| a.to_string()),
                "contact_id": contact.map(|c| c.to_string()),
                "occurred_at": hamkor_domain::Timestamp::now().to_rfc3339(),
            });
            Some(parse_record_input(
                &INTERACTION,
                &customs.interaction,
                &body,
                Mode::Create,
                &cc,
            )?)
        } else {
            None
        };
        let dry_run = self.db.begin().await?;
        self.note_sent(dry_run, actor, &doc, interaction.clone(), &customs, false)
            .await?;
        mailer
            .send(&crate::mail::Mail {
                to: to.trim().to_string(),
                to_name: None,
                subject: subject.to_string(),
                text: text.to_string(),
                html: None,
                attachments: vec![(file_name.to_string(), "application/pdf".into(), pdf)],
            })
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "sending a document failed");
                AppError::from(
                    FieldError::new("to", "error-mail-failed").with("reason", e.to_string()),
                )
            })?;
        let tx = self.db.begin().await?;
        self.note_sent(tx, actor, &doc, interaction, &customs, true)
            .await
    }

    /// Logs a sent document's e-mail in the client's history (`interaction`) and marks
    /// the document sent, in `tx`; committed when `commit`, else rolled back.
    async fn note_sent(
        &self,
        mut tx: hamkor_store::Tx,
        actor: &Actor,
        doc: &Record,
        interaction: Option<RecordInput>,
        customs: &Customs,
        commit: bool,
    ) -> AppResult<Record> {
        if let Some(input) = interaction {
            records::create(&mut tx, actor, &INTERACTION, input, &customs.interaction).await?;
        }
        let mut input = RecordInput::default();
        input.fields.insert(
            "sent_at".into(),
            json!(hamkor_domain::Timestamp::now().to_rfc3339()),
        );
        if matches!(doc.text("status"), "draft" | "issued") {
            input.fields.insert("status".into(), json!("sent"));
        }
        let updated = records::update(
            &mut tx,
            actor,
            &DOCUMENT,
            doc.id,
            input,
            &customs.document,
            None,
        )
        .await?;
        if commit {
            tx.commit().await?;
        }
        Ok(updated)
    }

    /// Titles of a document's client, for printing: (account, contact).
    pub async fn document_parties(
        &self,
        actor: &Actor,
        doc: &Record,
    ) -> (Option<Record>, Option<Record>) {
        let account = match doc.link("account_id") {
            Some(a) => self.get_record(actor, &ACCOUNT, a).await.ok(),
            None => None,
        };
        let contact = match doc.link("contact_id") {
            Some(c) => self.get_record(actor, &CONTACT, c).await.ok(),
            None => None,
        };
        (account, contact)
    }
}
