//! Custom fields (I2): fields an administrator adds to an object from the web UI, without
//! a rebuild. Their values live in the record's `custom` object; this module says what
//! each kind accepts.

use crate::access::ObjectType;
use crate::id::Id;
use crate::validation::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The kinds of custom fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomKind {
    Text,
    LongText,
    Number,
    Money,
    Date,
    Checkbox,
    Picklist,
    MultiPicklist,
    User,
    Link,
}

impl CustomKind {
    pub const ALL: [CustomKind; 10] = [
        CustomKind::Text,
        CustomKind::LongText,
        CustomKind::Number,
        CustomKind::Money,
        CustomKind::Date,
        CustomKind::Checkbox,
        CustomKind::Picklist,
        CustomKind::MultiPicklist,
        CustomKind::User,
        CustomKind::Link,
    ];
    pub fn as_str(&self) -> &'static str {
        match self {
            CustomKind::Text => "text",
            CustomKind::LongText => "long_text",
            CustomKind::Number => "number",
            CustomKind::Money => "money",
            CustomKind::Date => "date",
            CustomKind::Checkbox => "checkbox",
            CustomKind::Picklist => "picklist",
            CustomKind::MultiPicklist => "multi_picklist",
            CustomKind::User => "user",
            CustomKind::Link => "link",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        CustomKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    /// Sorted and compared as numbers in lists.
    pub fn is_numeric(&self) -> bool {
        matches!(self, CustomKind::Number | CustomKind::Money)
    }
}

/// A custom field as the administrator defined it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomFieldDef {
    pub id: Id,
    pub object: ObjectType,
    /// The key under `custom` in the API: `[a-z][a-z0-9_]*`, at most 40 characters.
    pub key: String,
    pub label: String,
    pub kind: CustomKind,
    pub required: bool,
    /// Values of a picklist or multi-picklist.
    pub options: Vec<String>,
    /// For a link: the type of record it points to.
    pub link_object: Option<ObjectType>,
    pub position: i64,
    /// A date field whose dates remind the record's owner (contract renewals).
    #[serde(default)]
    pub key_date: bool,
}

/// Checks a field key an administrator chose.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    matches!(chars.next(), Some('a'..='z'))
        && key.len() <= 40
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Largest absolute number a number field accepts (exact in a double).
const MAX_NUMBER: f64 = 9_007_199_254_740_991.0;

/// Validates one value for a custom field and returns it in stored form
/// (`Value::Null` clears the field).
pub fn validate_value(def: &CustomFieldDef, value: &Value) -> Result<Value, FieldError> {
    let field = format!("custom.{}", def.key);
    let err = |key: &'static str| FieldError::new(field.clone(), key);
    if value.is_null() {
        return Ok(Value::Null);
    }
    match def.kind {
        CustomKind::Text | CustomKind::LongText => {
            let s = value.as_str().ok_or_else(|| err("error-type-text"))?.trim();
            let max = if def.kind == CustomKind::Text {
                1000
            } else {
                20000
            };
            if s.chars().count() > max {
                return Err(err("error-too-long").with("max", max));
            }
            if s.contains('\0') {
                return Err(err("error-control-chars"));
            }
            Ok(if s.is_empty() {
                Value::Null
            } else {
                Value::String(s.to_string())
            })
        }
        CustomKind::Number => {
            let n = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) if s.trim().is_empty() => return Ok(Value::Null),
                Value::String(s) => s
                    .trim()
                    .replace([' ', '\u{a0}'], "")
                    .replace(',', ".")
                    .parse::<f64>()
                    .ok(),
                _ => None,
            }
            .filter(|n| n.is_finite() && n.abs() <= MAX_NUMBER)
            .ok_or_else(|| err("error-type-number"))?;
            Ok(serde_json::Number::from_f64(n)
                .map(Value::Number)
                .unwrap_or(Value::Null))
        }
        CustomKind::Money => {
            let obj = value.as_object().ok_or_else(|| err("error-type-money"))?;
            let amount = match obj.get("amount") {
                Some(Value::String(s)) => s.trim().to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(err("error-type-money")),
            };
            let currency = obj
                .get("currency")
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or("")
                .to_ascii_uppercase();
            if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(err("error-currency"));
            }
            let minor = parse_money_minor(&amount).ok_or_else(|| err("error-type-money"))?;
            Ok(serde_json::json!({ "amount": format_minor(minor), "currency": currency }))
        }
        CustomKind::Date => {
            let s = value.as_str().ok_or_else(|| err("error-type-date"))?.trim();
            if s.is_empty() {
                return Ok(Value::Null);
            }
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
                .map_err(|_| err("error-type-date"))
        }
        CustomKind::Checkbox => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            Value::String(s) if matches!(s.as_str(), "true" | "on" | "1") => Ok(Value::Bool(true)),
            Value::String(s) if matches!(s.as_str(), "false" | "off" | "0" | "") => {
                Ok(Value::Bool(false))
            }
            _ => Err(err("error-type-checkbox")),
        },
        CustomKind::Picklist => {
            let s = value.as_str().ok_or_else(|| err("error-choice"))?.trim();
            if s.is_empty() {
                return Ok(Value::Null);
            }
            if def.options.iter().any(|o| o == s) {
                Ok(Value::String(s.to_string()))
            } else {
                Err(err("error-choice"))
            }
        }
        CustomKind::MultiPicklist => {
            let items = value.as_array().ok_or_else(|| err("error-choice"))?;
            let mut out: Vec<Value> = Vec::new();
            for item in items {
                let s = item.as_str().ok_or_else(|| err("error-choice"))?.trim();
                if !def.options.iter().any(|o| o == s) {
                    return Err(err("error-choice"));
                }
                if !out.iter().any(|v| v.as_str() == Some(s)) {
                    out.push(Value::String(s.to_string()));
                }
            }
            Ok(if out.is_empty() {
                Value::Null
            } else {
                Value::Array(out)
            })
        }
        CustomKind::User | CustomKind::Link => {
            let s = value.as_str().ok_or_else(|| err("error-id"))?.trim();
            if s.is_empty() {
                return Ok(Value::Null);
            }
            s.parse::<Id>()
                .map(|id| Value::String(id.to_string()))
                .map_err(|_| err("error-id"))
        }
    }
}

/// Parses a decimal amount with at most two decimals into minor units.
pub fn parse_money_minor(s: &str) -> Option<i64> {
    let s = s.trim().replace([' ', '\u{a0}'], "");
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, s),
    };
    let (whole, frac) = match s.split_once(['.', ',']) {
        Some((w, f)) => (w.to_string(), f.to_string()),
        None => (s.clone(), String::new()),
    };
    if whole.is_empty()
        || !whole.chars().all(|c| c.is_ascii_digit())
        || frac.len() > 2
        || !frac.chars().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    let v = whole.checked_mul(100)?.checked_add(frac)?;
    Some(if neg { -v } else { v })
}

/// Minor units back to the decimal string the API shows.
pub fn format_minor(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let a = minor.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(kind: CustomKind) -> CustomFieldDef {
        CustomFieldDef {
            id: Id::new(),
            object: ObjectType::Account,
            key: "x".into(),
            label: "X".into(),
            kind,
            required: false,
            options: vec!["gold".into(), "silver".into()],
            link_object: None,
            position: 0,
            key_date: false,
        }
    }

    #[test]
    fn values_are_checked_by_kind() {
        assert_eq!(
            validate_value(&def(CustomKind::Number), &json!("1 234,5")).unwrap(),
            json!(1234.5)
        );
        assert!(validate_value(&def(CustomKind::Number), &json!("abc")).is_err());
        assert_eq!(
            validate_value(
                &def(CustomKind::Money),
                &json!({"amount": "10.5", "currency": "uzs"})
            )
            .unwrap(),
            json!({"amount": "10.50", "currency": "UZS"})
        );
        assert!(
            validate_value(
                &def(CustomKind::Money),
                &json!({"amount": "1.234", "currency": "UZS"})
            )
            .is_err()
        );
        assert!(validate_value(&def(CustomKind::Picklist), &json!("bronze")).is_err());
        assert_eq!(
            validate_value(&def(CustomKind::MultiPicklist), &json!(["gold", "gold"])).unwrap(),
            json!(["gold"])
        );
        assert!(validate_value(&def(CustomKind::Date), &json!("2026-02-30")).is_err());
        assert!(validate_value(&def(CustomKind::Checkbox), &json!(3)).is_err());
        assert!(validate_value(&def(CustomKind::User), &json!("1; drop")).is_err());
    }

    #[test]
    fn keys_are_plain() {
        assert!(valid_key("contract_end"));
        assert!(!valid_key("Contract"));
        assert!(!valid_key("a-b"));
        assert!(!valid_key("x'); --"));
    }

    #[test]
    fn money_is_exact() {
        assert_eq!(parse_money_minor("0.1"), Some(10));
        assert_eq!(parse_money_minor("-12,34"), Some(-1234));
        assert_eq!(format_minor(-5), "-0.05");
        assert_eq!(parse_money_minor("1e5"), None);
    }
}
