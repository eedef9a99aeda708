//! Turning a request body (JSON from the API, or a form converted to JSON by the web UI)
//! into checked values for a record. Unknown fields, fields of the wrong type, over-long
//! text, bad e-mails and phones, and system fields a caller may not set are all refused
//! here, each naming its field, before anything touches the database.

use crate::custom::{CustomFieldDef, validate_value};
use crate::email::normalize_email;
use crate::id::Id;
use crate::objects::{
    ADDRESS_KINDS, EMAIL_KINDS, FieldKind, MESSENGER_KINDS, ObjectDef, PHONE_KINDS,
};
use crate::phone::normalize_phone;
use crate::taxid::normalize_tax_id;
use crate::validation::{FieldError, ValidationErrors};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// Creating a record (required fields must be there) or patching it (only what is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Patch,
}

/// A contact's link to an account, with the position held there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountLink {
    pub account_id: Id,
    pub position: Option<String>,
}

/// Checked input for one record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordInput {
    /// Core fields, in stored form; `Null` clears a field.
    pub fields: Map<String, Value>,
    /// Custom fields, in stored form; `Null` clears a field.
    pub custom: Map<String, Value>,
    /// A new owner, if the caller asked for one (checked against their rights later).
    pub owner_id: Option<Id>,
    /// For contacts: the full new set of account links, if sent.
    pub account_links: Option<Vec<AccountLink>>,
}

const READ_ONLY: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "created_by",
    "version",
    "deleted_at",
];
const MAX_LIST: usize = 20;

/// Checks a request body against the object's fields and custom fields.
/// `default_cc` is the country calling code that fills a phone number missing one.
pub fn parse_record_input(
    def: &ObjectDef,
    custom_defs: &[CustomFieldDef],
    body: &Value,
    mode: Mode,
    default_cc: &str,
) -> Result<RecordInput, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let Some(obj) = body.as_object() else {
        return Err(FieldError::new("", "error-not-object").into());
    };
    let mut input = RecordInput::default();
    for (key, value) in obj {
        if let Some(field) = def.field(key).filter(|f| !f.read_only) {
            match parse_core(field.kind, key, value, default_cc) {
                Ok(v) => {
                    if field.required
                        && v.is_null()
                        && (mode == Mode::Create || obj.contains_key(key))
                    {
                        errors.push(FieldError::new(key.clone(), "error-required"));
                    } else {
                        input.fields.insert(key.clone(), v);
                    }
                }
                Err(e) => errors.push(e),
            }
        } else if key == "custom" {
            match value {
                Value::Object(custom) => {
                    for (ck, cv) in custom {
                        match custom_defs.iter().find(|d| &d.key == ck) {
                            Some(cdef) => match validate_value(cdef, cv) {
                                Ok(v) if v.is_null() && cdef.required => errors.push(
                                    FieldError::new(format!("custom.{ck}"), "error-required"),
                                ),
                                Ok(v) => {
                                    input.custom.insert(ck.clone(), v);
                                }
                                Err(e) => errors.push(e),
                            },
                            None => errors.push(FieldError::new(
                                format!("custom.{ck}"),
                                "error-unknown-field",
                            )),
                        }
                    }
                }
                Value::Null => {}
                _ => errors.push(FieldError::new("custom", "error-not-object")),
            }
        } else if key == "owner_id" || def.owner_alias == Some(key.as_str()) {
            match value.as_str().and_then(|s| s.parse::<Id>().ok()) {
                Some(id) if input.owner_id.is_some_and(|o| o != id) => {
                    errors.push(FieldError::new(key.clone(), "error-owner-twice"))
                }
                Some(id) => input.owner_id = Some(id),
                None => errors.push(FieldError::new(key.clone(), "error-id")),
            }
        } else if key == "accounts" && def.plural == "contacts" {
            match parse_account_links(value) {
                Ok(links) => input.account_links = Some(links),
                Err(e) => errors.push(e),
            }
        } else if READ_ONLY.contains(&key.as_str()) || def.field(key).is_some() {
            errors.push(FieldError::new(key.clone(), "error-read-only"));
        } else {
            errors.push(FieldError::new(key.clone(), "error-unknown-field"));
        }
    }
    if mode == Mode::Create {
        for field in def.fields.iter().filter(|f| f.required) {
            if !obj.contains_key(field.name) {
                errors.push(FieldError::new(field.name, "error-required"));
            }
        }
        for cdef in custom_defs.iter().filter(|d| d.required) {
            let given = obj
                .get("custom")
                .and_then(|c| c.get(&cdef.key))
                .is_some_and(|v| !v.is_null());
            if !given
                && !errors
                    .0
                    .iter()
                    .any(|e| e.field == format!("custom.{}", cdef.key))
            {
                errors.push(FieldError::new(
                    format!("custom.{}", cdef.key),
                    "error-required",
                ));
            }
        }
    }
    errors.into_result().map(|_| input)
}

fn parse_text(key: &str, value: &Value, max: usize, multiline: bool) -> Result<Value, FieldError> {
    let s = match value {
        Value::Null => return Ok(Value::Null),
        Value::String(s) => s.trim(),
        _ => return Err(FieldError::new(key, "error-type-text")),
    };
    if s.chars().count() > max {
        return Err(FieldError::new(key, "error-too-long").with("max", max));
    }
    if s.chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')))
    {
        return Err(FieldError::new(key, "error-control-chars"));
    }
    Ok(if s.is_empty() {
        Value::Null
    } else {
        Value::String(s.to_string())
    })
}

fn parse_core(
    kind: FieldKind,
    key: &str,
    value: &Value,
    default_cc: &str,
) -> Result<Value, FieldError> {
    match kind {
        FieldKind::Text { max } => parse_text(key, value, max, false),
        FieldKind::LongText => parse_text(key, value, 20000, true),
        FieldKind::Choice(options) => {
            let v = parse_text(key, value, 50, false)?;
            match v.as_str() {
                None => Ok(Value::Null),
                Some(s) if options.contains(&s) => Ok(v),
                Some(_) => {
                    Err(FieldError::new(key, "error-choice").with("options", options.join(", ")))
                }
            }
        }
        FieldKind::Url => {
            let v = parse_text(key, value, 500, false)?;
            let Some(s) = v.as_str() else {
                return Ok(Value::Null);
            };
            let lower = s.to_ascii_lowercase();
            let url = if lower.starts_with("http://") || lower.starts_with("https://") {
                s.to_string()
            } else if lower.contains("://")
                || lower.contains(':') && !lower.contains('.')
                || s.contains(' ')
            {
                return Err(FieldError::new(key, "error-url"));
            } else {
                format!("https://{s}")
            };
            if url.contains(['<', '>', '"', ' '])
                || !url[url.find("://").map_or(0, |i| i + 3)..].contains('.')
            {
                return Err(FieldError::new(key, "error-url"));
            }
            Ok(Value::String(url))
        }
        FieldKind::TaxId => {
            let v = parse_text(key, value, 20, false)?;
            let Some(s) = v.as_str() else {
                return Ok(Value::Null);
            };
            normalize_tax_id(s)
                .map(|(digits, _)| Value::String(digits))
                .map_err(|e| FieldError::new(key, e.message_key()))
        }
        FieldKind::Date => {
            let v = parse_text(key, value, 10, false)?;
            let Some(s) = v.as_str() else {
                return Ok(Value::Null);
            };
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
                .map_err(|_| FieldError::new(key, "error-type-date"))
        }
        FieldKind::Ref(_) => match value {
            Value::Null => Ok(Value::Null),
            Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
            Value::String(s) => s
                .trim()
                .parse::<Id>()
                .map(|id| Value::String(id.to_string()))
                .map_err(|_| FieldError::new(key, "error-id")),
            _ => Err(FieldError::new(key, "error-id")),
        },
        FieldKind::Phones => parse_list(key, value, |i, item| {
            let (number, kind) = entry(item, "number");
            let field = format!("{key}[{i}]");
            let number = number.ok_or_else(|| FieldError::new(&field, "error-phone"))?;
            if number.chars().count() > 40 {
                return Err(FieldError::new(&field, "error-phone"));
            }
            let e164 = normalize_phone(&number, default_cc)
                .map_err(|e| FieldError::new(&field, e.message_key()))?;
            let kind = check_kind(&field, kind, PHONE_KINDS, "mobile")?;
            Ok(json!({"number": number.trim(), "kind": kind, "e164": e164}))
        }),
        FieldKind::Emails => parse_list(key, value, |i, item| {
            let (address, kind) = entry(item, "address");
            let field = format!("{key}[{i}]");
            let address = address.ok_or_else(|| FieldError::new(&field, "error-email"))?;
            let address =
                normalize_email(&address).map_err(|e| FieldError::new(&field, e.message_key()))?;
            let kind = check_kind(&field, kind, EMAIL_KINDS, "work")?;
            Ok(json!({"address": address, "kind": kind}))
        }),
        FieldKind::Addresses => parse_list(key, value, |i, item| {
            let (address, kind) = entry(item, "address");
            let field = format!("{key}[{i}]");
            let address = parse_text(&field, &json!(address), 500, true)?;
            if address.is_null() {
                return Err(FieldError::new(&field, "error-required"));
            }
            let kind = check_kind(&field, kind, ADDRESS_KINDS, "actual")?;
            Ok(json!({"address": address, "kind": kind}))
        }),
        FieldKind::Messengers => parse_list(key, value, |i, item| {
            let (handle, kind) = entry(item, "handle");
            let field = format!("{key}[{i}]");
            let kind = check_kind(&field, kind, MESSENGER_KINDS, "telegram")?;
            let handle = handle.unwrap_or_default();
            parse_messenger(&field, &kind, &handle, default_cc)
        }),
        FieldKind::DateTime => {
            let v = parse_text(key, value, 40, false)?;
            let Some(s) = v.as_str() else {
                return Ok(Value::Null);
            };
            let ts = crate::Timestamp::parse_rfc3339(s)
                .filter(|t| (1900..=2200).contains(&chrono::Datelike::year(&t.0)))
                .ok_or_else(|| FieldError::new(key, "error-type-datetime"))?;
            Ok(Value::String(ts.to_rfc3339()))
        }
        FieldKind::Duration => {
            let secs = match value {
                Value::Null => return Ok(Value::Null),
                Value::Number(n) => n.as_i64(),
                Value::String(s) if s.trim().is_empty() => return Ok(Value::Null),
                Value::String(s) => parse_duration(s.trim()),
                _ => None,
            };
            match secs {
                Some(n) if (0..=7 * 86400).contains(&n) => Ok(json!(n)),
                _ => Err(FieldError::new(key, "error-duration")),
            }
        }
        FieldKind::Amount => {
            let text = match value {
                Value::Null => return Ok(Value::Null),
                Value::String(s) if s.trim().is_empty() => return Ok(Value::Null),
                Value::String(s) => s.trim().replace([' ', '\u{a0}'], ""),
                Value::Number(n) => n.to_string(),
                _ => return Err(FieldError::new(key, "error-type-amount")),
            };
            match crate::custom::parse_money_minor(&text) {
                Some(minor) if minor >= 0 => Ok(Value::String(crate::custom::format_minor(minor))),
                _ => Err(FieldError::new(key, "error-type-amount")),
            }
        }
        FieldKind::Users | FieldKind::Refs(_) => {
            let mut seen: Vec<String> = Vec::new();
            parse_list(key, value, |i, item| {
                let id = item
                    .as_str()
                    .and_then(|s| s.trim().parse::<Id>().ok())
                    .ok_or_else(|| FieldError::new(format!("{key}[{i}]"), "error-id"))?
                    .to_string();
                if seen.contains(&id) {
                    return Ok(Value::Null);
                }
                seen.push(id.clone());
                Ok(Value::String(id))
            })
        }
        FieldKind::Picklist(_) => {
            let mut seen: Vec<String> = Vec::new();
            parse_list(key, value, |i, item| {
                let v = parse_text(&format!("{key}[{i}]"), item, 100, false)?;
                match v.as_str() {
                    Some(s) if !seen.iter().any(|x| x == s) => {
                        seen.push(s.to_string());
                        Ok(v)
                    }
                    _ => Ok(Value::Null),
                }
            })
        }
        FieldKind::Tags => {
            let mut seen: Vec<String> = Vec::new();
            let list = parse_list(key, value, |i, item| {
                let v = parse_text(&format!("{key}[{i}]"), item, 50, false)?;
                Ok(v)
            })?;
            for tag in list
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !seen.iter().any(|t| t.to_lowercase() == tag.to_lowercase()) {
                    seen.push(tag.to_string());
                }
            }
            Ok(if seen.is_empty() {
                Value::Null
            } else {
                json!(seen)
            })
        }
        FieldKind::Bool => parse_bool(key, value),
        FieldKind::Count => match value {
            Value::Null => Ok(Value::Null),
            Value::Number(n) if n.as_i64().is_some_and(|n| n >= 0) => Ok(value.clone()),
            _ => Err(FieldError::new(key, "error-type-number")),
        },
        FieldKind::Checklist => parse_checklist(key, value),
        FieldKind::Recurrence => match value {
            Value::Null => Ok(Value::Null),
            Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
            Value::String(s) => {
                let v: Value = serde_json::from_str(s)
                    .map_err(|_| FieldError::new(key, "error-recurrence-invalid"))?;
                parse_recurrence(key, &v)
            }
            v => parse_recurrence(key, v),
        },
        FieldKind::Related => parse_related(key, value),
        FieldKind::Lookup(_) => match value {
            Value::Null => Ok(Value::Null),
            Value::String(s) if s.trim().is_empty() => Ok(Value::Null),
            Value::String(s) => s
                .trim()
                .parse::<Id>()
                .map(|id| Value::String(id.to_string()))
                .map_err(|_| FieldError::new(key, "error-id")),
            _ => Err(FieldError::new(key, "error-id")),
        },
    }
}

fn parse_bool(key: &str, value: &Value) -> Result<Value, FieldError> {
    match value {
        Value::Null | Value::Bool(_) => Ok(value.clone()),
        Value::String(s) => match s.trim() {
            "" => Ok(Value::Null),
            "true" | "on" | "1" | "yes" => Ok(Value::Bool(true)),
            "false" | "off" | "0" | "no" => Ok(Value::Bool(false)),
            _ => Err(FieldError::new(key, "error-type-bool")),
        },
        _ => Err(FieldError::new(key, "error-type-bool")),
    }
}

/// The most steps a checklist holds.
pub const MAX_CHECKLIST: usize = 100;

/// A checklist: a list of `{text, done}` (a bare string is a step not yet done).
fn parse_checklist(key: &str, value: &Value) -> Result<Value, FieldError> {
    parse_list_of(key, value, MAX_CHECKLIST, |i, item| {
        let field = format!("{key}[{i}]");
        let (text, done) = match item {
            Value::String(_) => (item.clone(), false),
            Value::Object(o) => {
                if let Some(k) = o.keys().find(|k| *k != "text" && *k != "done") {
                    return Err(FieldError::new(
                        format!("{field}.{k}"),
                        "error-unknown-field",
                    ));
                }
                let done = parse_bool(
                    &format!("{field}.done"),
                    o.get("done").unwrap_or(&Value::Null),
                )? == Value::Bool(true);
                (o.get("text").cloned().unwrap_or(Value::Null), done)
            }
            _ => return Err(FieldError::new(field, "error-not-object")),
        };
        let text = parse_text(&format!("{field}.text"), &text, 300, false)?;
        if text.is_null() {
            return Err(FieldError::new(format!("{field}.text"), "error-required"));
        }
        Ok(json!({"text": text, "done": done}))
    })
}

fn parse_recurrence(key: &str, value: &Value) -> Result<Value, FieldError> {
    let rule = crate::recurrence::Recurrence::parse(value).map_err(|mut e| {
        e.field = key.to_string();
        e
    })?;
    serde_json::to_value(rule).map_err(|_| FieldError::new(key, "error-recurrence-invalid"))
}

/// A link to one record: `{type, id}`, or `"type:id"` as a form sends it.
fn parse_related(key: &str, value: &Value) -> Result<Value, FieldError> {
    let (ty, id) = match value {
        Value::Null => return Ok(Value::Null),
        Value::String(s) if s.trim().is_empty() => return Ok(Value::Null),
        Value::String(s) => match s.trim().split_once(':') {
            Some((t, i)) => (t.to_string(), i.to_string()),
            None => return Err(FieldError::new(key, "error-related")),
        },
        Value::Object(o) => {
            if let Some(k) = o.keys().find(|k| *k != "type" && *k != "id") {
                return Err(FieldError::new(format!("{key}.{k}"), "error-unknown-field"));
            }
            match (
                o.get("type").and_then(Value::as_str),
                o.get("id").and_then(Value::as_str),
            ) {
                (Some(t), Some(i)) => (t.to_string(), i.to_string()),
                _ => return Err(FieldError::new(key, "error-related")),
            }
        }
        _ => return Err(FieldError::new(key, "error-related")),
    };
    let object = crate::ObjectType::parse(ty.trim())
        .filter(|o| crate::objects::RELATED_TYPES.contains(o))
        .ok_or_else(|| FieldError::new(format!("{key}.type"), "error-related-type"))?;
    let id = id
        .trim()
        .parse::<Id>()
        .map_err(|_| FieldError::new(format!("{key}.id"), "error-id"))?;
    Ok(json!({"type": object.as_str(), "id": id.to_string()}))
}

/// A messenger handle: a Telegram username (`@name`, `t.me/name`) or a phone number;
/// a phone number for WhatsApp, Viber and Signal. Numbers are also kept in E.164.
fn parse_messenger(
    field: &str,
    kind: &str,
    handle: &str,
    default_cc: &str,
) -> Result<Value, FieldError> {
    let h = handle.trim();
    if h.is_empty() || h.chars().count() > 100 || h.chars().any(char::is_control) {
        return Err(FieldError::new(field, "error-messenger"));
    }
    let username = h
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("t.me/")
        .trim_start_matches("telegram.me/")
        .trim_start_matches('@');
    let looks_like_name = username
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic());
    if kind == "telegram" && looks_like_name {
        let ok = (5..=32).contains(&username.len())
            && username
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(FieldError::new(field, "error-messenger"));
        }
        return Ok(json!({"handle": format!("@{username}"), "kind": kind}));
    }
    if kind == "other"
        && !h.starts_with('+')
        && !h.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        return Ok(json!({"handle": h, "kind": kind}));
    }
    let e164 =
        normalize_phone(h, default_cc).map_err(|_| FieldError::new(field, "error-messenger"))?;
    Ok(json!({"handle": h, "kind": kind, "e164": e164}))
}

/// Dates a change of consent: when a consent status changes and the request does not
/// say when (or repeats the old date, as a form does), the date is today; clearing the
/// status clears the date. `current` is the record's fields before the change.
pub fn date_consents(
    def: &ObjectDef,
    current: Option<&Map<String, Value>>,
    fields: &mut Map<String, Value>,
) {
    for (status, at) in [
        ("email_consent", "email_consent_at"),
        ("sms_consent", "sms_consent_at"),
    ] {
        if def.field(at).is_none() {
            continue;
        }
        let old = |k: &str| {
            current
                .and_then(|c| c.get(k))
                .unwrap_or(&Value::Null)
                .clone()
        };
        let Some(new) = fields.get(status).cloned() else {
            continue;
        };
        if new == old(status) {
            continue;
        }
        if new.is_null() {
            fields.insert(at.into(), Value::Null);
            continue;
        }
        let given = fields.get(at).cloned().unwrap_or(Value::Null);
        if given.is_null() || given == old(at) {
            let today = chrono::Utc::now()
                .date_naive()
                .format("%Y-%m-%d")
                .to_string();
            fields.insert(at.into(), Value::String(today));
        }
    }
}

/// `"90"` (seconds), `"1:30"` (minutes and seconds) or `"1:02:03"`.
fn parse_duration(s: &str) -> Option<i64> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() > 3 || parts.iter().any(|p| p.is_empty() || p.len() > 6) {
        return None;
    }
    let mut total: i64 = 0;
    for (i, p) in parts.iter().enumerate() {
        let n: i64 = p.parse().ok()?;
        if i > 0 && n >= 60 {
            return None;
        }
        total = total * 60 + n;
    }
    Some(total)
}

/// `{"<main>": "...", "kind": "..."}` or a bare string.
fn entry(item: &Value, main: &str) -> (Option<String>, Option<String>) {
    match item {
        Value::String(s) => (Some(s.clone()), None),
        Value::Object(o) => (
            o.get(main).and_then(Value::as_str).map(str::to_string),
            o.get("kind").and_then(Value::as_str).map(str::to_string),
        ),
        _ => (None, None),
    }
}

fn check_kind(
    field: &str,
    kind: Option<String>,
    kinds: &[&str],
    default: &str,
) -> Result<String, FieldError> {
    match kind.as_deref().map(str::trim) {
        None | Some("") => Ok(default.to_string()),
        Some(k) if kinds.contains(&k) => Ok(k.to_string()),
        Some(_) => Err(FieldError::new(format!("{field}.kind"), "error-choice")
            .with("options", kinds.join(", "))),
    }
}

fn parse_list(
    key: &str,
    value: &Value,
    each: impl FnMut(usize, &Value) -> Result<Value, FieldError>,
) -> Result<Value, FieldError> {
    parse_list_of(key, value, MAX_LIST, each)
}

/// A list of at most `max` items, each checked by `each` (which may drop one by
/// answering `Null`); an empty list is `Null`.
fn parse_list_of(
    key: &str,
    value: &Value,
    max: usize,
    mut each: impl FnMut(usize, &Value) -> Result<Value, FieldError>,
) -> Result<Value, FieldError> {
    let items = match value {
        Value::Null => return Ok(Value::Null),
        Value::Array(items) => items,
        _ => return Err(FieldError::new(key, "error-type-list")),
    };
    if items.len() > max {
        return Err(FieldError::new(key, "error-too-many").with("max", max));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let v = each(i, item)?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(if out.is_empty() {
        Value::Null
    } else {
        Value::Array(out)
    })
}

fn parse_account_links(value: &Value) -> Result<Vec<AccountLink>, FieldError> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(FieldError::new("accounts", "error-type-list")),
    };
    if items.len() > MAX_LIST {
        return Err(FieldError::new("accounts", "error-too-many").with("max", MAX_LIST));
    }
    let mut links: Vec<AccountLink> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let field = format!("accounts[{i}]");
        let (id, position) = match item {
            Value::String(s) => (Some(s.as_str()), None),
            Value::Object(o) => (
                o.get("account_id").and_then(Value::as_str),
                o.get("position"),
            ),
            _ => (None, None),
        };
        let account_id = id
            .and_then(|s| s.trim().parse::<Id>().ok())
            .ok_or_else(|| FieldError::new(format!("{field}.account_id"), "error-id"))?;
        let position = match position {
            None => None,
            Some(p) => parse_text(&format!("{field}.position"), p, 100, false)?
                .as_str()
                .map(str::to_string),
        };
        if !links.iter().any(|l| l.account_id == account_id) {
            links.push(AccountLink {
                account_id,
                position,
            });
        }
    }
    Ok(links)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::{ACCOUNT, CONTACT};

    #[test]
    fn task_fields_are_checked() {
        use crate::objects::{EVENT, TASK};
        let id = Id::new().to_string();
        let body = json!({"title": "Call", "assignee_id": id, "checklist": ["One", {"text": " Two ", "done": "true"}],
            "related": format!("account:{id}"), "recurrence": {"every": "week", "weekdays": ["mon"]}});
        let input = parse_record_input(&TASK, &[], &body, Mode::Create, "998").unwrap();
        assert_eq!(input.owner_id.map(|o| o.to_string()), Some(id.clone()));
        assert_eq!(
            input.fields["checklist"],
            json!([{"text": "One", "done": false}, {"text": "Two", "done": true}])
        );
        assert_eq!(
            input.fields["related"],
            json!({"type": "account", "id": id})
        );
        assert_eq!(input.fields["recurrence"]["every"], "week");
        let refused = |body: Value| {
            parse_record_input(&TASK, &[], &body, Mode::Create, "998")
                .unwrap_err()
                .0
                .into_iter()
                .map(|e| (e.field, e.key))
                .collect::<Vec<_>>()
        };
        let too_many: Vec<Value> = (0..=MAX_CHECKLIST)
            .map(|i| json!(format!("s{i}")))
            .collect();
        assert_eq!(
            refused(json!({"title": "x", "checklist": too_many})),
            [("checklist".to_string(), "error-too-many")]
        );
        assert_eq!(
            refused(json!({"title": "x", "checklist": [{"text": ""}]})),
            [("checklist[0].text".to_string(), "error-required")]
        );
        assert_eq!(
            refused(json!({"title": "x", "related": {"type": "user", "id": id}})),
            [("related.type".to_string(), "error-related-type")]
        );
        assert_eq!(
            refused(json!({"title": "x", "related": "account"})),
            [("related".to_string(), "error-related")]
        );
        assert_eq!(
            refused(json!({"title": "x", "owner_id": id, "assignee_id": Id::new().to_string()})),
            [("owner_id".to_string(), "error-owner-twice")]
        );
        assert_eq!(
            refused(json!({"title": "x", "occurrence": 3})),
            [("occurrence".to_string(), "error-read-only")]
        );
        let body = json!({"title": "Meet", "starts_at": "2030-01-01T09:00:00+05:00",
            "ends_at": "2030-01-01T10:00:00+05:00", "all_day": "no"});
        let input = parse_record_input(&EVENT, &[], &body, Mode::Create, "998").unwrap();
        assert_eq!(input.fields["all_day"], json!(false));
        let bad = json!({"title": "Meet", "starts_at": "2030-01-01T09:00:00Z", "ends_at": "2030-01-01T10:00:00Z", "all_day": "maybe"});
        assert!(parse_record_input(&EVENT, &[], &bad, Mode::Create, "998").is_err());
    }

    #[test]
    fn a_good_account_is_normalised() {
        let body = json!({"name": "  Bahor MChJ ", "kind": "client", "phones": ["90 123 45 67"],
            "emails": [{"address": "Info@Bahor.UZ"}], "website": "bahor.uz", "tags": ["vip", "VIP"]});
        let input = parse_record_input(&ACCOUNT, &[], &body, Mode::Create, "998").unwrap();
        assert_eq!(input.fields["name"], "Bahor MChJ");
        assert_eq!(input.fields["phones"][0]["e164"], "+998901234567");
        assert_eq!(input.fields["emails"][0]["address"], "Info@bahor.uz");
        assert_eq!(input.fields["website"], "https://bahor.uz");
        assert_eq!(input.fields["tags"], json!(["vip"]));
    }

    #[test]
    fn every_problem_names_its_field() {
        let body = json!({"kind": "friend", "emails": ["nope"], "phones": ["12"], "version": 3,
            "colour": "red", "website": "javascript:alert(1)", "name": 5});
        let errs = parse_record_input(&ACCOUNT, &[], &body, Mode::Create, "998").unwrap_err();
        let fields: Vec<&str> = errs.0.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "kind",
            "emails[0]",
            "phones[0]",
            "version",
            "colour",
            "website",
            "name",
        ] {
            assert!(fields.contains(&f), "{f} not named in {fields:?}");
        }
    }

    #[test]
    fn patch_needs_only_what_is_sent() {
        let input = parse_record_input(
            &CONTACT,
            &[],
            &json!({"last_name": "Иванов"}),
            Mode::Patch,
            "998",
        )
        .unwrap();
        assert_eq!(input.fields.len(), 1);
        let err = parse_record_input(&ACCOUNT, &[], &json!({"name": null}), Mode::Patch, "998")
            .unwrap_err();
        assert_eq!(err.0[0].field, "name");
    }
}
