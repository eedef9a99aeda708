//! Quick entry: a new client, its contact person and the call that brought them, in one
//! step and one transaction. Either all three are saved or nothing is, and every problem
//! is named with its part (`account.name`, `contact.phones[0]`, `interaction.duration`).

use crate::{App, AppError, AppResult};
use hamkor_domain::input::{AccountLink, Mode, RecordInput, parse_record_input};
use hamkor_domain::objects::{ACCOUNT, CONTACT, INTERACTION, ObjectDef};
use hamkor_domain::{FieldError, Timestamp, ValidationErrors};
use hamkor_store::records::{self, Record};
use hamkor_store::{Actor, StoreError, settings};
use serde_json::Value;

/// What quick entry created.
#[derive(Debug, Clone)]
pub struct QuickEntry {
    pub account: Option<Record>,
    pub contact: Option<Record>,
    pub interaction: Option<Record>,
}

fn prefixed(part: &str, errors: ValidationErrors) -> ValidationErrors {
    ValidationErrors(
        errors
            .0
            .into_iter()
            .map(|mut e| {
                e.field = if e.field.is_empty() {
                    part.to_string()
                } else {
                    format!("{part}.{}", e.field)
                };
                e
            })
            .collect(),
    )
}

/// A part of the body: absent, `null` or an object with nothing filled in is left out.
fn part<'a>(body: &'a Value, key: &str) -> Option<&'a Value> {
    body.get(key).filter(|v| {
        v.as_object().is_some_and(|o| {
            o.values().any(|x| match x {
                Value::Null => false,
                Value::String(s) => !s.trim().is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            })
        })
    })
}

impl App {
    /// Creates an account, a contact (linked to it, with `position`) and an interaction
    /// (on both) from `{"account": {…}, "contact": {…}, "position": "…", "interaction": {…}}`.
    /// An account or a contact is needed; the interaction is optional.
    pub async fn quick_entry(&self, actor: &Actor, body: &Value) -> AppResult<QuickEntry> {
        if !body.is_object() {
            return Err(FieldError::new("", "error-not-object").into());
        }
        let mut errors = ValidationErrors::default();
        let mut db = self.db.clone();
        let cc = settings::default_country_code(&mut db).await?;
        let mut parse = |def: &'static ObjectDef, key: &str, customs| -> Option<RecordInput> {
            let v = part(body, key)?;
            match parse_record_input(def, customs, v, Mode::Create, &cc) {
                Ok(i) => Some(i),
                Err(e) => {
                    errors.0.extend(prefixed(key, e).0);
                    None
                }
            }
        };
        let account_customs = self.custom_fields(ACCOUNT.object).await?;
        let contact_customs = self.custom_fields(CONTACT.object).await?;
        let interaction_customs = self.custom_fields(INTERACTION.object).await?;
        let account = parse(&ACCOUNT, "account", &account_customs);
        let contact = parse(&CONTACT, "contact", &contact_customs);
        let interaction = parse(&INTERACTION, "interaction", &interaction_customs);
        if part(body, "account").is_none() && part(body, "contact").is_none() {
            errors.push(FieldError::new("account.name", "error-quick-client"));
        }
        if let Some(c) = part(body, "contact") {
            let named = ["first_name", "last_name"].iter().any(|k| {
                c.get(k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| !s.trim().is_empty())
            });
            if !named {
                errors.push(FieldError::new("contact.last_name", "error-contact-name"));
            }
        }
        let position = match body.get("position") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) if s.trim().chars().count() <= 100 => Some(s.trim().to_string()),
            Some(_) => {
                errors.push(FieldError::new("position", "error-too-long").with("max", 100));
                None
            }
        };
        errors.into_result()?;

        let mut tx = self.db.begin().await?;
        let fail = |key: &'static str| {
            move |e: StoreError| match e {
                StoreError::Invalid(v) => AppError::Invalid(prefixed(key, v)),
                other => other.into(),
            }
        };
        let account = match account {
            Some(input) => Some(
                records::create(&mut tx, actor, &ACCOUNT, input, &account_customs)
                    .await
                    .map_err(fail("account"))?,
            ),
            None => None,
        };
        let contact = match contact {
            Some(mut input) => {
                if let Some(a) = &account {
                    input.account_links = Some(vec![AccountLink {
                        account_id: a.id,
                        position: position.clone(),
                    }]);
                }
                Some(
                    records::create(&mut tx, actor, &CONTACT, input, &contact_customs)
                        .await
                        .map_err(fail("contact"))?,
                )
            }
            None => None,
        };
        let interaction = match interaction {
            Some(mut input) => {
                if let Some(a) = &account {
                    input
                        .fields
                        .insert("account_id".into(), Value::String(a.id.to_string()));
                }
                if let Some(c) = &contact {
                    input
                        .fields
                        .insert("contact_id".into(), Value::String(c.id.to_string()));
                }
                if input.fields.get("occurred_at").is_none_or(Value::is_null) {
                    input.fields.insert(
                        "occurred_at".into(),
                        Value::String(Timestamp::now().to_rfc3339()),
                    );
                }
                Some(
                    records::create(&mut tx, actor, &INTERACTION, input, &interaction_customs)
                        .await
                        .map_err(fail("interaction"))?,
                )
            }
            None => None,
        };
        tx.commit().await?;
        Ok(QuickEntry {
            account,
            contact,
            interaction,
        })
    }
}
