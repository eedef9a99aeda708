//! Leads: conversion into an account, a contact and a deal (after a look for duplicates),
//! the public web forms that bring leads in, and the rules that give each new one an owner.

use crate::{App, AppError, AppResult};
use hamkor_domain::dedup::{Profile, Reason};
use hamkor_domain::input::{Mode, RecordInput, parse_record_input};
use hamkor_domain::objects::{ACCOUNT, CONTACT, DEAL, LEAD, ObjectDef, SOURCES};
use hamkor_domain::{Action, FieldError, Id, ObjectType, Role, Scope, ValidationErrors};
use hamkor_store::dedup;
use hamkor_store::leads::{self, Condition, LeadRule, WebForm, WebFormInput};
use hamkor_store::records::{self, Record};
use hamkor_store::{Actor, settings};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Submissions one address may make to one form in `RATE_WINDOW` before it is refused.
pub const RATE_LIMIT: i64 = 5;
/// The window of the web-form rate limit.
pub const RATE_WINDOW_SECONDS: i64 = 600;
/// The hidden field of every form snippet: people leave it empty, robots fill it.
pub const HONEYPOT: &str = "hk_website";
/// Lead fields a web form may ask for.
pub const FORM_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phones",
    "emails",
    "interest",
    "notes",
];
/// The most rules and conditions per rule.
pub const MAX_RULES: usize = 100;
const MAX_CONDITIONS: usize = 10;
/// Lead fields an assignment rule may test.
pub const RULE_FIELDS: &[&str] = &[
    "source",
    "campaign",
    "interest",
    "company",
    "job_title",
    "web_form",
    "phones",
    "emails",
    "first_name",
    "last_name",
];
const RULE_OPS: &[&str] = &["eq", "contains", "empty"];

/// A record that may be the same client as a lead, and why it is thought so.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub id: Id,
    pub title: String,
    /// `same-phone`, `same-email`, `same-tax-id`, `same-name`, `similar-name`.
    pub reasons: Vec<&'static str>,
}

/// Accounts and contacts a lead may already be.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Duplicates {
    pub accounts: Vec<Candidate>,
    pub contacts: Vec<Candidate>,
}

/// What conversion does with one kind of record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Nothing of this kind.
    Skip,
    /// A new record from the lead's data.
    Create,
    /// Link the record with this id (it must be readable).
    Existing(Id),
}

/// What to make of a lead.
#[derive(Debug, Clone)]
pub struct Conversion {
    pub account: Target,
    pub contact: Target,
    /// The deal to open, as fields (`title`, `pipeline_id`, `amount`, `currency`,
    /// `expected_close` …) checked as any deal's; `None`: no deal.
    pub deal: Option<Map<String, Value>>,
    /// Create even though a similar account or contact exists.
    pub allow_duplicates: bool,
}

/// What a conversion made.
#[derive(Debug, Clone, Serialize)]
pub struct Converted {
    pub account_id: Option<Id>,
    pub contact_id: Option<Id>,
    pub deal_id: Option<Id>,
}

/// What became of a web-form submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submitted {
    /// A lead was made.
    Lead(Id),
    /// The honeypot was filled: answered as a success, nothing kept.
    Ignored,
}

impl App {
    /// Accounts and contacts the actor can see that may be the lead's client, found and
    /// scored like any duplicates (`hamkor_store::dedup`): the same phone or e-mail, the
    /// same or a similar company or person name.
    pub async fn lead_duplicates(&self, actor: &Actor, lead: &Record) -> AppResult<Duplicates> {
        let mut out = Duplicates::default();
        let pick = |keys: &[&str]| -> Map<String, Value> {
            keys.iter()
                .filter_map(|k| lead.fields.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect()
        };
        let mut account = pick(&["phones", "emails"]);
        account.insert("name".into(), json!(lead.text("company")));
        let person = pick(&["first_name", "last_name", "phones", "emails"]);
        for (def, fields) in [(&ACCOUNT, account), (&CONTACT, person)] {
            if actor.scope(def.object, Action::Read) == Scope::None {
                continue;
            }
            let profile = Profile::of(def.object, &fields, "998");
            let mut db = self.db.clone();
            let found: Vec<Candidate> = dedup::candidates(&mut db, actor, def, &profile, &[], 10)
                .await?
                .into_iter()
                .map(|c| Candidate {
                    id: c.id,
                    title: c.title,
                    reasons: c
                        .reasons
                        .iter()
                        .map(|r| match r {
                            Reason::SamePhone => "same-phone",
                            Reason::SameEmail => "same-email",
                            Reason::SameTaxId => "same-tax-id",
                            Reason::NameSimilar { percent: 100 } => "same-name",
                            Reason::NameSimilar { .. } => "similar-name",
                        })
                        .collect(),
                })
                .collect();
            match def.object {
                ObjectType::Account => out.accounts = found,
                _ => out.contacts = found,
            }
        }
        Ok(out)
    }

    async fn parse_for(&self, def: &ObjectDef, body: &Value) -> AppResult<RecordInput> {
        let customs = self.custom_fields(def.object).await?;
        let mut db = self.db.clone();
        let cc = settings::default_country_code(&mut db).await?;
        Ok(parse_record_input(def, &customs, body, Mode::Create, &cc)?)
    }

    /// Turns a lead into an account, a contact and a deal — new ones, or existing ones
    /// linked — in one transaction, keeping the lead's source on each, and marks the lead
    /// converted. Creating a record that looks like one already there is refused (naming
    /// it) unless `allow_duplicates`.
    pub async fn convert_lead(
        &self,
        actor: &Actor,
        id: Id,
        how: &Conversion,
    ) -> AppResult<Converted> {
        let lead = self.get_record(actor, &LEAD, id).await?;
        if !lead.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        if how.account == Target::Skip && how.contact == Target::Skip && how.deal.is_none() {
            return Err(FieldError::new("account", "error-convert-nothing").into());
        }
        let mut errors = ValidationErrors::default();
        // Existing records must be ones the actor sees.
        for (field, def, target) in [
            ("account", &ACCOUNT, how.account),
            ("contact", &CONTACT, how.contact),
        ] {
            if let Target::Existing(rid) = target
                && self.get_record(actor, def, rid).await.is_err()
            {
                errors.push(FieldError::new(
                    format!("{field}.id"),
                    "error-unknown-record",
                ));
            }
        }
        if !how.allow_duplicates && (how.account == Target::Create || how.contact == Target::Create)
        {
            let dups = self.lead_duplicates(actor, &lead).await?;
            for (field, target, list) in [
                ("account", how.account, &dups.accounts),
                ("contact", how.contact, &dups.contacts),
            ] {
                if target == Target::Create && !list.is_empty() {
                    let names = list
                        .iter()
                        .take(3)
                        .map(|c| c.title.clone())
                        .collect::<Vec<_>>()
                        .join(", ");
                    errors
                        .push(FieldError::new(field, "error-lead-duplicate").with("names", names));
                }
            }
        }
        errors.into_result()?;

        let source = lead.fields.get("source").cloned().unwrap_or(Value::Null);
        let phones = lead.fields.get("phones").cloned().unwrap_or(Value::Null);
        let mails = lead.fields.get("emails").cloned().unwrap_or(Value::Null);
        let strip = |v: Value| -> Value {
            // Phones and e-mails are given back as they were entered.
            match v {
                Value::Array(a) => Value::Array(
                    a.into_iter()
                        .map(|mut x| {
                            if let Some(o) = x.as_object_mut() {
                                o.remove("e164");
                            }
                            x
                        })
                        .collect(),
                ),
                other => other,
            }
        };
        let account_input = if how.account == Target::Create {
            let name = match lead.text("company").trim() {
                "" => lead.title(),
                c => c.to_string(),
            };
            let mut body = json!({"name": name, "source": source});
            if how.contact != Target::Create {
                body["phones"] = strip(phones.clone());
                body["emails"] = strip(mails.clone());
            }
            Some(self.parse_for(&ACCOUNT, &body).await?)
        } else {
            None
        };
        let contact_input = if how.contact == Target::Create {
            let mut first = lead.text("first_name").trim().to_string();
            let last = lead.text("last_name").trim().to_string();
            if first.is_empty() && last.is_empty() {
                first = lead.title();
            }
            let body = json!({
                "first_name": first, "last_name": last, "source": source,
                "phones": strip(phones.clone()), "emails": strip(mails.clone()),
            });
            Some(self.parse_for(&CONTACT, &body).await?)
        } else {
            None
        };
        let deal_input = match &how.deal {
            Some(fields) => {
                let mut body = Value::Object(fields.clone());
                if body.get("title").is_none_or(Value::is_null) {
                    body["title"] = json!(lead.title());
                }
                if body.get("source").is_none_or(Value::is_null) {
                    body["source"] = source.clone();
                }
                if body.get("description").is_none_or(Value::is_null) {
                    let about = [lead.text("interest").trim(), lead.text("notes").trim()]
                        .into_iter()
                        .filter(|s| !s.is_empty())
                        .collect::<Vec<_>>()
                        .join("\n\n");
                    if !about.is_empty() {
                        body["description"] = json!(about);
                    }
                }
                for k in ["account_id", "contact_id"] {
                    if let Some(o) = body.as_object_mut() {
                        o.remove(k);
                    }
                }
                Some(self.parse_for(&DEAL, &body).await?)
            }
            None => None,
        };

        let mut tx = self.db.begin().await?;
        let account = match (how.account, account_input) {
            (Target::Existing(a), _) => Some(a),
            (Target::Create, Some(input)) => {
                let customs = self.custom_fields(ObjectType::Account).await?;
                Some(
                    records::create(&mut tx, actor, &ACCOUNT, input, &customs)
                        .await
                        .map_err(|e| prefixed(e, "account"))?
                        .id,
                )
            }
            _ => None,
        };
        let contact = match (how.contact, contact_input) {
            (Target::Existing(c), _) => Some(c),
            (Target::Create, Some(mut input)) => {
                if let Some(a) = account {
                    input.account_links = Some(vec![hamkor_domain::input::AccountLink {
                        account_id: a,
                        position: lead
                            .text("job_title")
                            .trim()
                            .is_empty()
                            .then(String::new)
                            .or_else(|| Some(lead.text("job_title").trim().to_string()))
                            .filter(|s| !s.is_empty()),
                    }]);
                }
                let customs = self.custom_fields(ObjectType::Contact).await?;
                Some(
                    records::create(&mut tx, actor, &CONTACT, input, &customs)
                        .await
                        .map_err(|e| prefixed(e, "contact"))?
                        .id,
                )
            }
            _ => None,
        };
        let deal = match deal_input {
            Some(mut input) => {
                if let Some(a) = account {
                    input
                        .fields
                        .insert("account_id".into(), json!(a.to_string()));
                }
                if let Some(c) = contact {
                    input
                        .fields
                        .insert("contact_id".into(), json!(c.to_string()));
                }
                input
                    .fields
                    .insert("lead_id".into(), json!(lead.id.to_string()));
                let customs = self.custom_fields(ObjectType::Deal).await?;
                Some(
                    records::create(&mut tx, actor, &DEAL, input, &customs)
                        .await
                        .map_err(|e| prefixed(e, "deal"))?
                        .id,
                )
            }
            None => None,
        };
        leads::mark_converted(&mut tx, actor, &lead, account, contact, deal).await?;
        tx.commit().await?;
        Ok(Converted {
            account_id: account,
            contact_id: contact,
            deal_id: deal,
        })
    }

    /// Gives a lead the owner the assignment rules choose now (heads and administrators).
    pub async fn assign_lead(&self, actor: &Actor, id: Id) -> AppResult<Record> {
        let lead = self.get_record(actor, &LEAD, id).await?;
        if !lead.allows(actor, Action::Write) {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.db.begin().await?;
        let rules = leads::rules(&mut tx).await?;
        let Some((owner, team)) = leads::assign(&mut tx, &rules, &lead.fields).await? else {
            return Err(FieldError::new("owner_id", "error-no-rule").into());
        };
        tx.commit().await?;
        let mut body = json!({"owner_id": owner.to_string()});
        if let Some(t) = team {
            body["team_id"] = json!(t.to_string());
        }
        self.update_record(actor, &LEAD, id, &body, None).await
    }

    /// Every web form (administrators).
    pub async fn web_forms(&self, actor: &Actor) -> AppResult<Vec<WebForm>> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut db = self.db.clone();
        Ok(leads::web_forms(&mut db).await?)
    }

    /// One web form (administrators).
    pub async fn web_form(&self, actor: &Actor, id: Id) -> AppResult<WebForm> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut db = self.db.clone();
        Ok(leads::web_form(&mut db, id).await?)
    }

    /// Reads and checks a form's settings from JSON.
    async fn web_form_input(&self, body: &Value) -> AppResult<WebFormInput> {
        let mut errors = ValidationErrors::default();
        let get = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim);
        let opt_text = |k: &str, max: usize, errors: &mut ValidationErrors| -> Option<String> {
            match body.get(k) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) if s.trim().is_empty() => None,
                Some(Value::String(s)) if s.chars().count() > max => {
                    errors.push(FieldError::new(k, "error-too-long").with("max", max));
                    None
                }
                Some(Value::String(s)) => Some(s.trim().to_string()),
                Some(_) => {
                    errors.push(FieldError::new(k, "error-type-text"));
                    None
                }
            }
        };
        let name = get("name").unwrap_or("").to_string();
        if name.is_empty() {
            errors.push(FieldError::new("name", "error-required"));
        } else if name.chars().count() > 100 {
            errors.push(FieldError::new("name", "error-too-long").with("max", 100));
        }
        let list = |k: &str, errors: &mut ValidationErrors| -> Vec<String> {
            match body.get(k) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => {
                    let mut out: Vec<String> = Vec::new();
                    for (i, v) in a.iter().enumerate() {
                        match v.as_str() {
                            Some(f) if FORM_FIELDS.contains(&f) => {
                                if !out.iter().any(|x| x == f) {
                                    out.push(f.to_string());
                                }
                            }
                            _ => errors.push(
                                FieldError::new(format!("{k}[{i}]"), "error-unknown-field")
                                    .with("name", v.as_str().unwrap_or("?")),
                            ),
                        }
                    }
                    out
                }
                Some(_) => {
                    errors.push(FieldError::new(k, "error-type-list"));
                    Vec::new()
                }
            }
        };
        let mut fields = list("fields", &mut errors);
        if fields.is_empty() && body.get("fields").is_none() {
            fields = vec!["first_name".into(), "phones".into(), "emails".into()];
        }
        if fields.is_empty() {
            errors.push(FieldError::new("fields", "error-required"));
        }
        let required = list("required", &mut errors);
        for r in &required {
            if !fields.contains(r) {
                errors
                    .push(FieldError::new("required", "error-required-not-asked").with("name", r));
            }
        }
        let source = match opt_text("source", 50, &mut errors) {
            None => Some("website".to_string()),
            Some(s) if SOURCES.contains(&s.as_str()) => Some(s),
            Some(s) => {
                errors.push(FieldError::new("source", "error-choice").with("value", s));
                None
            }
        };
        let campaign = opt_text("campaign", 200, &mut errors);
        let thank_you = opt_text("thank_you", 1000, &mut errors);
        let redirect_url = opt_text("redirect_url", 500, &mut errors);
        if let Some(u) = &redirect_url
            && !((u.starts_with("https://") || u.starts_with("http://"))
                && !u
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<'))
        {
            errors.push(FieldError::new("redirect_url", "error-url"));
        }
        let language = match get("language") {
            None | Some("") => "en".to_string(),
            Some(l) if ["en", "ru", "uz"].contains(&l) => l.to_string(),
            Some(l) => {
                errors.push(FieldError::new("language", "error-choice").with("value", l));
                "en".to_string()
            }
        };
        let owner_id = match get("owner_id").map(str::parse::<Id>) {
            Some(Ok(id)) => {
                let mut db = self.db.clone();
                match hamkor_store::users::by_id(&mut db, id).await {
                    Ok(Some(u)) if !u.disabled => Some(id),
                    Ok(Some(_)) => {
                        errors.push(FieldError::new("owner_id", "error-user-disabled"));
                        None
                    }
                    _ => {
                        errors.push(FieldError::new("owner_id", "error-unknown-user"));
                        None
                    }
                }
            }
            Some(Err(_)) => {
                errors.push(FieldError::new("owner_id", "error-unknown-user"));
                None
            }
            None => {
                errors.push(FieldError::new("owner_id", "error-required"));
                None
            }
        };
        let active = body.get("active").and_then(Value::as_bool).unwrap_or(true);
        errors.into_result()?;
        Ok(WebFormInput {
            name,
            fields,
            required,
            source,
            campaign,
            owner_id: owner_id.unwrap_or_default(),
            thank_you,
            redirect_url,
            language,
            active,
        })
    }

    /// Creates a web form with a new public address (administrators).
    pub async fn create_web_form(&self, actor: &Actor, body: &Value) -> AppResult<WebForm> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut body = body.clone();
        if body.get("owner_id").is_none_or(Value::is_null) {
            body["owner_id"] = json!(actor.user_id.to_string());
        }
        let input = self.web_form_input(&body).await?;
        let token = crate::auth::random_secret();
        let mut tx = self.db.begin().await?;
        let id = leads::create_web_form(&mut tx, actor.user_id, &input, &token).await?;
        let form = leads::web_form(&mut tx, id).await?;
        tx.commit().await?;
        Ok(form)
    }

    /// Changes a web form (administrators); fields not sent keep their value.
    pub async fn update_web_form(&self, actor: &Actor, id: Id, body: &Value) -> AppResult<WebForm> {
        let current = self.web_form(actor, id).await?;
        let mut merged = serde_json::to_value(&current.settings)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        let Some(changes) = body.as_object() else {
            return Err(FieldError::new("", "error-not-object").into());
        };
        for (k, v) in changes {
            merged[k] = v.clone();
        }
        let input = self.web_form_input(&merged).await?;
        let mut tx = self.db.begin().await?;
        leads::update_web_form(&mut tx, id, &input).await?;
        let form = leads::web_form(&mut tx, id).await?;
        tx.commit().await?;
        Ok(form)
    }

    /// Removes a web form (administrators).
    pub async fn delete_web_form(&self, actor: &Actor, id: Id) -> AppResult<()> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.db.begin().await?;
        leads::delete_web_form(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The active form at a public address.
    pub async fn public_web_form(&self, token: &str) -> AppResult<WebForm> {
        let mut db = self.db.clone();
        match leads::web_form_by_token(&mut db, token).await {
            Ok(f) if f.settings.active => Ok(f),
            Ok(_) | Err(hamkor_store::StoreError::NotFound) => Err(AppError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Takes a submission of a public form from `ip`: a filled honeypot is thanked and
    /// dropped; more than `RATE_LIMIT` submissions from one address in the window are
    /// refused; the values are checked as any lead's (lengths, phones, e-mails), only the
    /// form's fields are read, and the lead goes to the owner the rules choose (or the
    /// form's owner).
    pub async fn submit_web_form(
        &self,
        token: &str,
        ip: &str,
        values: &[(String, String)],
    ) -> AppResult<Submitted> {
        let form = self.public_web_form(token).await?;
        if values
            .iter()
            .any(|(k, v)| k == HONEYPOT && !v.trim().is_empty())
        {
            tracing::info!(form = %form.id, "web form: honeypot filled, submission dropped");
            return Ok(Submitted::Ignored);
        }
        {
            let mut tx = self.db.begin().await?;
            let before = leads::note_hit(
                &mut tx,
                form.id,
                ip,
                chrono::Duration::seconds(RATE_WINDOW_SECONDS),
            )
            .await?;
            tx.commit().await?;
            if before >= RATE_LIMIT {
                return Err(AppError::TooMany(RATE_WINDOW_SECONDS as u64));
            }
        }
        let value = |k: &str| {
            values
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let mut body = Map::new();
        let mut errors = ValidationErrors::default();
        for f in &form.settings.fields {
            let Some(v) = value(f) else {
                if form.settings.required.contains(f) {
                    errors.push(FieldError::new(f.clone(), "error-required"));
                }
                continue;
            };
            let v = match f.as_str() {
                "phones" => json!([{"number": v, "kind": "mobile"}]),
                "emails" => json!([{"address": v, "kind": "work"}]),
                _ => json!(v),
            };
            body.insert(f.clone(), v);
        }
        if body.is_empty() && errors.0.is_empty() {
            errors.push(FieldError::new(
                form.settings.fields.first().cloned().unwrap_or_default(),
                "error-required",
            ));
        }
        errors.into_result()?;
        body.insert("source".into(), json!(form.settings.source));
        if let Some(c) = &form.settings.campaign {
            body.insert("campaign".into(), json!(c));
        }
        let mut input = self.parse_for(&LEAD, &Value::Object(body)).await?;
        input
            .fields
            .insert("web_form".into(), json!(form.settings.name.clone()));
        let mut tx = self.db.begin().await?;
        let rules = leads::rules(&mut tx).await?;
        let (owner, team) = match leads::assign(&mut tx, &rules, &input.fields).await? {
            Some((owner, team)) => (owner, team),
            None => (form.settings.owner_id, None),
        };
        input.owner_id = Some(owner);
        if let Some(t) = team {
            input.fields.insert("team_id".into(), json!(t.to_string()));
        }
        // The form acts for its owner with the right to give the lead to anyone: it can
        // do nothing but this.
        let acting = Actor {
            user_id: form.settings.owner_id,
            team_id: None,
            role: Role::Administrator,
            overrides: Arc::default(),
            origin: Arc::default(),
        };
        let customs = self.custom_fields(ObjectType::Lead).await?;
        let lead = records::create(&mut tx, &acting, &LEAD, input, &customs).await?;
        tx.commit().await?;
        Ok(Submitted::Lead(lead.id))
    }

    /// The assignment rules, in the order they are tried.
    pub async fn lead_rules(&self, actor: &Actor) -> AppResult<Vec<LeadRule>> {
        if actor.scope(ObjectType::Lead, Action::Read) == Scope::None {
            return Err(AppError::Forbidden);
        }
        let mut db = self.db.clone();
        Ok(leads::rules(&mut db).await?)
    }

    /// Replaces the assignment rules (administrators): a JSON list of `{name, conditions:
    /// [{field, op, value}], user_id | team_id, active}`.
    pub async fn set_lead_rules(&self, actor: &Actor, body: &Value) -> AppResult<Vec<LeadRule>> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let Some(list) = body.as_array() else {
            return Err(FieldError::new("", "error-type-list").into());
        };
        let mut errors = ValidationErrors::default();
        if list.len() > MAX_RULES {
            errors.push(FieldError::new("", "error-too-many").with("max", MAX_RULES));
        }
        let mut db = self.db.clone();
        let teams = hamkor_store::users::teams(&mut db).await?;
        let mut out = Vec::new();
        for (i, r) in list.iter().enumerate() {
            let at = |k: &str| format!("[{i}].{k}");
            let name = r.get("name").and_then(Value::as_str).unwrap_or("").trim();
            if name.is_empty() {
                errors.push(FieldError::new(at("name"), "error-required"));
            } else if name.chars().count() > 100 {
                errors.push(FieldError::new(at("name"), "error-too-long").with("max", 100));
            }
            let mut conditions = Vec::new();
            match r.get("conditions") {
                None | Some(Value::Null) => {}
                Some(Value::Array(cs)) if cs.len() <= MAX_CONDITIONS => {
                    for (j, c) in cs.iter().enumerate() {
                        let parsed: Option<Condition> = serde_json::from_value(c.clone()).ok();
                        match parsed {
                            Some(c)
                                if RULE_FIELDS.contains(&c.field.as_str())
                                    && RULE_OPS.contains(&c.op.as_str())
                                    && c.value.chars().count() <= 200 =>
                            {
                                conditions.push(c)
                            }
                            _ => errors.push(FieldError::new(
                                format!("[{i}].conditions[{j}]"),
                                "error-rule-condition",
                            )),
                        }
                    }
                }
                Some(_) => errors.push(
                    FieldError::new(at("conditions"), "error-too-many").with("max", MAX_CONDITIONS),
                ),
            }
            let id_of = |k: &str| -> Option<Result<Id, ()>> {
                r.get(k)
                    .and_then(Value::as_str)
                    .map(|s| s.parse::<Id>().map_err(|_| ()))
            };
            let user = match id_of("user_id") {
                Some(Ok(u)) => match hamkor_store::users::by_id(&mut db, u).await {
                    Ok(Some(found)) if !found.disabled => Some(u),
                    _ => {
                        errors.push(FieldError::new(at("user_id"), "error-unknown-user"));
                        None
                    }
                },
                Some(Err(())) => {
                    errors.push(FieldError::new(at("user_id"), "error-unknown-user"));
                    None
                }
                None => None,
            };
            let team = match id_of("team_id") {
                Some(Ok(t)) if teams.iter().any(|x| x.id == t) => Some(t),
                Some(_) => {
                    errors.push(FieldError::new(at("team_id"), "error-unknown-team"));
                    None
                }
                None => None,
            };
            if r.get("user_id").is_some_and(|v| !v.is_null())
                == r.get("team_id").is_some_and(|v| !v.is_null())
            {
                errors.push(FieldError::new(at("user_id"), "error-rule-target"));
            }
            let active = r.get("active").and_then(Value::as_bool).unwrap_or(true);
            out.push((name.to_string(), conditions, user, team, active));
        }
        errors.into_result()?;
        let mut tx = self.db.begin().await?;
        leads::set_rules(&mut tx, &out).await?;
        let rules = leads::rules(&mut tx).await?;
        tx.commit().await?;
        Ok(rules)
    }
}

/// Names the part of a conversion a field error belongs to (`account.name`).
fn prefixed(e: hamkor_store::StoreError, part: &str) -> AppError {
    match e {
        hamkor_store::StoreError::Invalid(v) => AppError::Invalid(ValidationErrors(
            v.0.into_iter()
                .map(|mut f| {
                    f.field = format!("{part}.{}", f.field);
                    f
                })
                .collect(),
        )),
        other => other.into(),
    }
}

/// The most rows one lead import takes.
pub const MAX_IMPORT_ROWS: usize = 10_000;
/// The largest lead import file.
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;

/// The lead field a column header names: the field's API name, or (ignoring case) one of
/// the usual words for it in English, Russian and Uzbek.
fn import_column(header: &str) -> Option<&'static str> {
    let h = hamkor_domain::names::fold(header.trim());
    let table: &[(&str, &[&str])] = &[
        ("first_name", &["first name", "name", "имя", "ism"]),
        (
            "last_name",
            &["last name", "surname", "фамилия", "familiya"],
        ),
        (
            "company",
            &[
                "company",
                "organization",
                "компания",
                "организация",
                "kompaniya",
                "tashkilot",
            ],
        ),
        (
            "job_title",
            &["job title", "position", "должность", "lavozim"],
        ),
        (
            "phones",
            &["phone", "phones", "mobile", "телефон", "telefon"],
        ),
        (
            "emails",
            &["email", "e-mail", "emails", "почта", "e-pochta", "pochta"],
        ),
        ("source", &["source", "источник", "manba"]),
        ("campaign", &["campaign", "кампания", "kampaniya"]),
        (
            "interest",
            &[
                "interest",
                "interested in",
                "интерес",
                "интересует",
                "qiziqish",
                "qiziqishi",
            ],
        ),
        (
            "notes",
            &[
                "notes",
                "note",
                "comment",
                "заметки",
                "комментарий",
                "izoh",
                "izohlar",
            ],
        ),
    ];
    table.iter().find_map(|(field, words)| {
        (h == hamkor_domain::names::fold(field)
            || words.iter().any(|w| hamkor_domain::names::fold(w) == h))
        .then_some(*field)
    })
}

impl App {
    /// Imports leads from a CSV file (UTF-8, with or without a BOM; comma, semicolon or tab
    /// separated, found from the header line). Every row is checked as a lead made in the
    /// API would be, and the file goes in whole or not at all: the answer names each bad
    /// row and column. Each lead goes to the owner the assignment rules choose, else the
    /// importer; its source is the row's, else `other`. Returns how many were made.
    pub async fn import_leads(&self, actor: &Actor, bytes: &[u8]) -> AppResult<usize> {
        if actor.scope(ObjectType::Lead, Action::Write) == Scope::None {
            return Err(AppError::Forbidden);
        }
        if bytes.len() > MAX_IMPORT_BYTES {
            return Err(FieldError::new("file", "error-file-too-large")
                .with("max", "5 MiB")
                .into());
        }
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(FieldError::new("file", "error-import-encoding").into());
        };
        let header = text.lines().next().unwrap_or("");
        let sep = [b';', b'\t', b',']
            .into_iter()
            .max_by_key(|c| header.bytes().filter(|b| b == c).count())
            .unwrap_or(b',');
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(sep)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut errors = ValidationErrors::default();
        let headers = reader
            .headers()
            .map_err(|e| {
                AppError::from(
                    FieldError::new("file", "error-import-csv").with("reason", e.to_string()),
                )
            })?
            .clone();
        let mut columns = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            match import_column(h) {
                Some(f) if columns.iter().any(|(_, x)| *x == f) => errors.push(
                    FieldError::new(format!("columns[{i}]"), "error-import-column-twice")
                        .with("name", h),
                ),
                Some(f) => columns.push((i, f)),
                None => errors.push(
                    FieldError::new(format!("columns[{i}]"), "error-import-column").with("name", h),
                ),
            }
        }
        std::mem::take(&mut errors).into_result()?;
        let customs = self.custom_fields(ObjectType::Lead).await?;
        let mut db = self.db.clone();
        let cc = settings::default_country_code(&mut db).await?;
        let mut inputs = Vec::new();
        for (n, row) in reader.records().enumerate() {
            let line = n + 2;
            if inputs.len() >= MAX_IMPORT_ROWS {
                errors.push(
                    FieldError::new("file", "error-import-too-many").with("max", MAX_IMPORT_ROWS),
                );
                break;
            }
            let row = match row {
                Ok(r) => r,
                Err(e) => {
                    errors.push(
                        FieldError::new(format!("rows[{line}]"), "error-import-csv")
                            .with("reason", e.to_string()),
                    );
                    continue;
                }
            };
            if row.iter().all(|v| v.trim().is_empty()) {
                continue;
            }
            if row.len() > headers.len() {
                errors.push(FieldError::new(
                    format!("rows[{line}]"),
                    "error-import-ragged",
                ));
                continue;
            }
            let mut body = Map::new();
            for (i, field) in &columns {
                let v = row.get(*i).unwrap_or("").trim();
                if v.is_empty() {
                    continue;
                }
                let value = match *field {
                    "phones" => json!([{"number": v, "kind": "mobile"}]),
                    "emails" => json!([{"address": v, "kind": "work"}]),
                    "source" => json!(v.to_lowercase().replace([' ', '-'], "_")),
                    _ => json!(v),
                };
                body.insert((*field).to_string(), value);
            }
            if body.get("source").is_none() {
                body.insert("source".into(), json!("other"));
            }
            match parse_record_input(&LEAD, &customs, &Value::Object(body), Mode::Create, &cc) {
                Ok(input) => inputs.push((line, input)),
                Err(v) => {
                    for mut e in v.0 {
                        e.field = format!("rows[{line}].{}", e.field);
                        errors.push(e);
                    }
                }
            }
        }
        if inputs.is_empty() && errors.is_empty() {
            errors.push(FieldError::new("file", "error-import-empty"));
        }
        errors.into_result()?;
        let mut tx = self.db.begin().await?;
        let rules = leads::rules(&mut tx).await?;
        let mut made = 0;
        for (line, mut input) in inputs {
            if let Some((owner, team)) = leads::assign(&mut tx, &rules, &input.fields).await? {
                input.owner_id = Some(owner);
                if let Some(t) = team {
                    input.fields.insert("team_id".into(), json!(t.to_string()));
                }
            }
            // A rule may give the lead to someone outside the importer's reach: then it
            // stays with the importer.
            let fallback = input.clone();
            let created = match records::create(&mut tx, actor, &LEAD, input, &customs).await {
                Err(hamkor_store::StoreError::Invalid(v))
                    if v.0.iter().all(|e| e.key == "error-owner-forbidden") =>
                {
                    let mut again = fallback;
                    again.owner_id = None;
                    again.fields.remove("team_id");
                    records::create(&mut tx, actor, &LEAD, again, &customs).await
                }
                other => other,
            };
            created.map_err(|e| match e {
                hamkor_store::StoreError::Invalid(v) => AppError::Invalid(ValidationErrors(
                    v.0.into_iter()
                        .map(|mut f| {
                            f.field = format!("rows[{line}].{}", f.field);
                            f
                        })
                        .collect(),
                )),
                other => other.into(),
            })?;
            made += 1;
        }
        tx.commit().await?;
        Ok(made)
    }
}
