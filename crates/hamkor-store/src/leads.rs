//! Leads: the rules a lead's fields follow, the public web forms that create them, the
//! assignment rules that give a new lead its owner, and marking a lead converted.

use crate::StoreError;
use crate::access::Actor;
use crate::db::{Arg, Exec, Sql};
use crate::records::Record;
use hamkor_domain::input::RecordInput;
use hamkor_domain::{FieldError, Id, Timestamp, ValidationErrors};
use serde::Serialize;
use serde_json::{Value, json};

/// Checks a lead before it is written: it names someone (a person, a company, a phone or
/// an e-mail); `converted` is set by conversion only, and a converted lead keeps it; an
/// unqualified lead says why.
pub fn prepare_lead(current: Option<&Record>, input: &mut RecordInput) -> Result<(), StoreError> {
    let mut errors = ValidationErrors::default();
    let get = |input: &RecordInput, k: &str| -> Value {
        match input.fields.get(k) {
            Some(v) => v.clone(),
            None => current
                .and_then(|r| r.fields.get(k).cloned())
                .unwrap_or(Value::Null),
        }
    };
    let filled = |v: &Value| match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    };
    if !["first_name", "last_name", "company", "phones", "emails"]
        .iter()
        .any(|k| filled(&get(input, k)))
    {
        errors.push(FieldError::new("last_name", "error-lead-empty"));
    }
    let was = current.and_then(|r| r.fields.get("status").and_then(Value::as_str));
    match (was, input.fields.get("status")) {
        (None, None | Some(Value::Null)) => {
            input.fields.insert("status".into(), json!("new"));
        }
        (Some("converted"), Some(v)) if v.as_str() != Some("converted") => {
            errors.push(FieldError::new("status", "error-lead-converted"));
        }
        (Some(_), Some(Value::Null)) => {
            errors.push(FieldError::new("status", "error-required"));
        }
        (w, Some(v)) if v.as_str() == Some("converted") && w != Some("converted") => {
            errors.push(FieldError::new("status", "error-lead-convert-instead"));
        }
        _ => {}
    }
    if get(input, "status").as_str() == Some("unqualified")
        && (input.fields.contains_key("status") || input.fields.contains_key("status_reason"))
        && !filled(&get(input, "status_reason"))
    {
        errors.push(FieldError::new("status_reason", "error-required"));
    }
    errors.into_result().map_err(StoreError::Invalid)
}

/// Records what a lead became, in the conversion's transaction, for an actor who may
/// change it (a lead already converted stays as it was).
pub async fn mark_converted(
    tx: &mut impl Exec,
    actor: &Actor,
    lead: &Record,
    account: Option<Id>,
    contact: Option<Id>,
    deal: Option<Id>,
) -> Result<(), StoreError> {
    let lead =
        &crate::records::get_for_update(tx, actor, &hamkor_domain::objects::LEAD, lead.id).await?;
    if !lead.allows(actor, hamkor_domain::Action::Write) {
        return Err(StoreError::Forbidden);
    }
    if lead.text("status") == "converted" {
        return Err(FieldError::new("status", "error-lead-converted").into());
    }
    let by = actor.user_id;
    let now = Timestamp::now();
    let n = tx
        .execute(
            &Sql::new(
                "UPDATE leads SET status = 'converted', converted_at = $1, account_id = $2, contact_id = $3, \
                 deal_id = $4, updated_at = $5, version = version + 1 \
                 WHERE id = $6 AND version = $7 AND deleted_at IS NULL",
            )
            .arg(now)
            .arg(account)
            .arg(contact)
            .arg(deal)
            .arg(now)
            .arg(lead.id)
            .arg(lead.version),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::Stale {
            current: lead.version + 1,
        });
    }
    let mut changes = serde_json::Map::new();
    changes.insert(
        "status".into(),
        json!([lead.fields.get("status"), "converted"]),
    );
    for (k, v) in [
        ("account_id", account),
        ("contact_id", contact),
        ("deal_id", deal),
    ] {
        if let Some(v) = v {
            changes.insert(k.into(), json!([null, v.to_string()]));
        }
    }
    crate::audit::record(
        tx,
        hamkor_domain::ObjectType::Lead,
        lead.id,
        "convert",
        Some(by),
        changes,
    )
    .await
}

/// A public form on the company's site that creates leads: its address and what an
/// administrator set.
#[derive(Debug, Clone, Serialize)]
pub struct WebForm {
    pub id: Id,
    /// The form's public address is `/f/{token}`.
    pub token: String,
    pub created_at: Timestamp,
    #[serde(flatten)]
    pub settings: WebFormInput,
}

/// What an administrator sets on a form (checked by the caller).
#[derive(Debug, Clone, Serialize)]
pub struct WebFormInput {
    pub name: String,
    /// Lead fields the form asks for, in order.
    pub fields: Vec<String>,
    /// Those of them that must be filled.
    pub required: Vec<String>,
    pub source: Option<String>,
    pub campaign: Option<String>,
    /// Who gets the lead when no assignment rule matches.
    pub owner_id: Id,
    pub thank_you: Option<String>,
    pub redirect_url: Option<String>,
    pub language: String,
    pub active: bool,
}

fn strings(v: Option<Value>) -> Vec<String> {
    v.and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

fn form_from(r: &crate::Row) -> Result<WebForm, StoreError> {
    Ok(WebForm {
        id: r.req_id("id")?,
        token: r.req_text("token")?,
        created_at: r.req_ts("created_at")?,
        settings: WebFormInput {
            name: r.req_text("name")?,
            fields: strings(r.json("fields")?),
            required: strings(r.json("required")?),
            source: r.text("source")?,
            campaign: r.text("campaign")?,
            owner_id: r.req_id("owner_id")?,
            thank_you: r.text("thank_you")?,
            redirect_url: r.text("redirect_url")?,
            language: r.req_text("language")?,
            active: r.bool("active")?,
        },
    })
}

const FORM_COLUMNS: &str = "SELECT id, name, token, fields, required, source, campaign, owner_id, thank_you, \
     redirect_url, language, active, created_at FROM web_forms";

/// Every web form, by name.
pub async fn web_forms(ex: &mut impl Exec) -> Result<Vec<WebForm>, StoreError> {
    let mut sql = Sql::new(FORM_COLUMNS);
    sql.push(" ORDER BY name, id");
    ex.fetch_all(&sql).await?.iter().map(form_from).collect()
}

/// One web form by id.
pub async fn web_form(ex: &mut impl Exec, id: Id) -> Result<WebForm, StoreError> {
    let mut sql = Sql::new(FORM_COLUMNS);
    sql.push(" WHERE id = ").bind(id);
    match ex.fetch_optional(&sql).await? {
        Some(r) => form_from(&r),
        None => Err(StoreError::NotFound),
    }
}

/// The form at a public address, active or not.
pub async fn web_form_by_token(ex: &mut impl Exec, token: &str) -> Result<WebForm, StoreError> {
    let mut sql = Sql::new(FORM_COLUMNS);
    sql.push(" WHERE token = ").bind(token.to_string());
    match ex.fetch_optional(&sql).await? {
        Some(r) => form_from(&r),
        None => Err(StoreError::NotFound),
    }
}

/// Creates a form with a new random address.
pub async fn create_web_form(
    tx: &mut impl Exec,
    by: Id,
    f: &WebFormInput,
    token: &str,
) -> Result<Id, StoreError> {
    let id = Id::new();
    let now = Timestamp::now();
    tx.execute(
        &Sql::new(
            "INSERT INTO web_forms (id, name, token, fields, required, source, campaign, owner_id, thank_you, \
             redirect_url, language, active, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .arg(id)
        .arg(f.name.clone())
        .arg(token.to_string())
        .arg(Arg::Json(Some(json!(f.fields))))
        .arg(Arg::Json(Some(json!(f.required))))
        .arg(f.source.clone())
        .arg(f.campaign.clone())
        .arg(f.owner_id)
        .arg(f.thank_you.clone())
        .arg(f.redirect_url.clone())
        .arg(f.language.clone())
        .arg(f.active)
        .arg(by)
        .arg(now)
        .arg(now),
    )
    .await?;
    Ok(id)
}

/// Changes a form (its address stays).
pub async fn update_web_form(
    tx: &mut impl Exec,
    id: Id,
    f: &WebFormInput,
) -> Result<(), StoreError> {
    let n = tx
        .execute(
            &Sql::new(
                "UPDATE web_forms SET name = $1, fields = $2, required = $3, source = $4, campaign = $5, \
                 owner_id = $6, thank_you = $7, redirect_url = $8, language = $9, active = $10, updated_at = $11 \
                 WHERE id = $12",
            )
            .arg(f.name.clone())
            .arg(Arg::Json(Some(json!(f.fields))))
            .arg(Arg::Json(Some(json!(f.required))))
            .arg(f.source.clone())
            .arg(f.campaign.clone())
            .arg(f.owner_id)
            .arg(f.thank_you.clone())
            .arg(f.redirect_url.clone())
            .arg(f.language.clone())
            .arg(f.active)
            .arg(Timestamp::now())
            .arg(id),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Removes a form; its address stops answering. Leads it brought stay.
pub async fn delete_web_form(tx: &mut impl Exec, id: Id) -> Result<(), StoreError> {
    let n = tx
        .execute(&Sql::new("DELETE FROM web_forms WHERE id = $1").arg(id))
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Counts a submission from `ip` and says how many there were from it in the window
/// before (this one not included). Entries older than a day are dropped now and then.
pub async fn note_hit(
    tx: &mut impl Exec,
    form: Id,
    ip: &str,
    window: chrono::Duration,
) -> Result<i64, StoreError> {
    let now = Timestamp::now();
    let since = Timestamp(now.0 - window);
    let n = tx
        .fetch_optional(
            &Sql::new(
                "SELECT COUNT(*) AS n FROM web_form_hits WHERE form_id = $1 AND ip = $2 AND at > $3",
            )
            .arg(form)
            .arg(ip.to_string())
            .arg(since),
        )
        .await?
        .map(|r| r.req_int("n"))
        .transpose()?
        .unwrap_or(0);
    tx.execute(
        &Sql::new("INSERT INTO web_form_hits (form_id, ip, at) VALUES ($1, $2, $3)")
            .arg(form)
            .arg(ip.to_string())
            .arg(now),
    )
    .await?;
    if now.0.timestamp_subsec_millis() < 20 {
        tx.execute(
            &Sql::new("DELETE FROM web_form_hits WHERE at < $1")
                .arg(Timestamp(now.0 - chrono::Duration::days(1))),
        )
        .await?;
    }
    Ok(n)
}

/// One condition of an assignment rule: a lead field equals (`eq`, ignoring case) or
/// contains (`contains`, ignoring case) a value.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Condition {
    pub field: String,
    pub op: String,
    pub value: String,
}

/// Gives a new lead to a user, or in turn to the active members of a team.
#[derive(Debug, Clone, Serialize)]
pub struct LeadRule {
    pub id: Id,
    pub name: String,
    pub position: i64,
    pub conditions: Vec<Condition>,
    pub user_id: Option<Id>,
    pub team_id: Option<Id>,
    pub active: bool,
}

/// The rules in the order they are tried.
pub async fn rules(ex: &mut impl Exec) -> Result<Vec<LeadRule>, StoreError> {
    let rows = ex
        .fetch_all(&Sql::new(
            "SELECT id, name, position, conditions, user_id, team_id, active FROM lead_rules ORDER BY position, id",
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(LeadRule {
                id: r.req_id("id")?,
                name: r.req_text("name")?,
                position: r.req_int("position")?,
                conditions: r
                    .json("conditions")?
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default(),
                user_id: r.id("user_id")?,
                team_id: r.id("team_id")?,
                active: r.bool("active")?,
            })
        })
        .collect()
}

/// A rule as an administrator gives it: name, conditions, user or team, active.
pub type NewRule = (String, Vec<Condition>, Option<Id>, Option<Id>, bool);

/// Replaces every rule (checked by the caller) in the given order; the turns of team
/// rules start over.
pub async fn set_rules(tx: &mut impl Exec, list: &[NewRule]) -> Result<(), StoreError> {
    tx.execute(&Sql::new("DELETE FROM lead_rules")).await?;
    let now = Timestamp::now();
    for (i, (name, conditions, user, team, active)) in list.iter().enumerate() {
        tx.execute(
            &Sql::new(
                "INSERT INTO lead_rules (id, name, position, conditions, user_id, team_id, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .arg(Id::new())
            .arg(name.clone())
            .arg(i as i64)
            .arg(Arg::Json(Some(json!(conditions))))
            .arg(*user)
            .arg(*team)
            .arg(*active)
            .arg(now)
            .arg(now),
        )
        .await?;
    }
    Ok(())
}

/// Does a lead's value of a field meet a condition?
pub fn holds(c: &Condition, fields: &serde_json::Map<String, Value>) -> bool {
    let value = match fields.get(&c.field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::Object(o) => o
                    .values()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    let have = hamkor_domain::names::fold(&value);
    let want = hamkor_domain::names::fold(&c.value);
    match c.op.as_str() {
        "eq" => have == want,
        "contains" => !want.is_empty() && have.contains(&want),
        "empty" => have.is_empty(),
        _ => false,
    }
}

/// The owner (and team) the first matching active rule of `rules` (as `rules()` read
/// them, once for a batch of leads) gives a lead with these fields,
/// taking the team's next member in turn (the turn is kept in the rule, in the caller's
/// transaction, so two leads at once go to two people). `None`: no rule matched, or the
/// team has no active member.
pub async fn assign(
    tx: &mut impl Exec,
    rules: &[LeadRule],
    fields: &serde_json::Map<String, Value>,
) -> Result<Option<(Id, Option<Id>)>, StoreError> {
    for rule in rules {
        if !rule.active || !rule.conditions.iter().all(|c| holds(c, fields)) {
            continue;
        }
        if let Some(user) = rule.user_id {
            let ok = tx
                .fetch_optional(&Sql::new("SELECT disabled FROM users WHERE id = $1").arg(user))
                .await?;
            if let Some(r) = ok
                && !r.bool("disabled")?
            {
                return Ok(Some((user, None)));
            }
            continue;
        }
        let Some(team) = rule.team_id else { continue };
        // Take the rule's row first: on PostgreSQL this waits for another assignment in
        // progress, so each sees the turn the other left.
        tx.execute(
            &Sql::new("UPDATE lead_rules SET updated_at = $1 WHERE id = $2")
                .arg(Timestamp::now())
                .arg(rule.id),
        )
        .await?;
        let last = match tx
            .fetch_optional(
                &Sql::new("SELECT last_user_id FROM lead_rules WHERE id = $1").arg(rule.id),
            )
            .await?
        {
            Some(r) => r.id("last_user_id")?,
            None => None,
        };
        let members: Vec<Id> = tx
            .fetch_all(
                &Sql::new(
                    "SELECT id FROM users WHERE team_id = $1 AND disabled = $2 ORDER BY name, id",
                )
                .arg(team)
                .arg(false),
            )
            .await?
            .iter()
            .map(|r| r.req_id("id"))
            .collect::<Result<_, _>>()?;
        if members.is_empty() {
            continue;
        }
        let next = match last.and_then(|l| members.iter().position(|m| *m == l)) {
            Some(i) => members[(i + 1) % members.len()],
            None => members[0],
        };
        tx.execute(
            &Sql::new("UPDATE lead_rules SET last_user_id = $1 WHERE id = $2")
                .arg(next)
                .arg(rule.id),
        )
        .await?;
        return Ok(Some((next, Some(team))));
    }
    Ok(None)
}
