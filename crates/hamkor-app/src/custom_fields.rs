//! Administrators add custom fields to objects (I2).

use crate::{App, AppError, AppResult};
use hamkor_domain::custom::{CustomFieldDef, CustomKind, valid_key};
use hamkor_domain::{FieldError, Id, ObjectType, ValidationErrors};
use hamkor_store::Actor;

/// A new custom field as an administrator describes it.
#[derive(Debug, Clone, Default)]
pub struct CustomFieldRequest {
    pub key: String,
    pub label: String,
    pub kind: String,
    pub required: bool,
    /// Picklist values, one per entry.
    pub options: Vec<String>,
    pub link_object: Option<String>,
    /// Date fields only: its dates remind the record's owner.
    pub key_date: bool,
}

impl App {
    pub async fn create_custom_field(
        &self,
        actor: &Actor,
        object: ObjectType,
        req: CustomFieldRequest,
    ) -> AppResult<CustomFieldDef> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut errors = ValidationErrors::default();
        let key = req.key.trim().to_string();
        if !valid_key(&key) {
            errors.push(FieldError::new("key", "error-field-key"));
        }
        let label = req.label.trim().to_string();
        if label.is_empty() {
            errors.push(FieldError::new("label", "error-required"));
        } else if label.chars().count() > 100 {
            errors.push(FieldError::new("label", "error-too-long").with("max", 100));
        }
        let kind = CustomKind::parse(req.kind.trim());
        if kind.is_none() {
            errors.push(FieldError::new("kind", "error-choice"));
        }
        let mut options: Vec<String> = Vec::new();
        for o in req
            .options
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
        {
            if o.chars().count() > 100 {
                errors.push(FieldError::new("options", "error-too-long").with("max", 100));
            } else if !options.iter().any(|x| x == o) {
                options.push(o.to_string());
            }
        }
        if matches!(kind, Some(CustomKind::Picklist | CustomKind::MultiPicklist))
            && options.is_empty()
        {
            errors.push(FieldError::new("options", "error-required"));
        }
        if options.len() > 200 {
            errors.push(FieldError::new("options", "error-too-many").with("max", 200));
        }
        let link_object = match (kind, req.link_object.as_deref()) {
            (Some(CustomKind::Link), Some(o)) => match ObjectType::parse(o) {
                Some(o) => Some(o),
                None => {
                    errors.push(FieldError::new("link_object", "error-choice"));
                    None
                }
            },
            (Some(CustomKind::Link), None) => {
                errors.push(FieldError::new("link_object", "error-required"));
                None
            }
            _ => None,
        };
        if req.key_date && kind != Some(CustomKind::Date) {
            errors.push(FieldError::new("key_date", "error-key-date-kind"));
        }
        let existing = self.custom_fields(object).await?;
        if existing.iter().any(|d| d.key == key) {
            errors.push(FieldError::new("key", "error-field-key-taken"));
        }
        errors.into_result()?;
        let def = CustomFieldDef {
            id: Id::new(),
            object,
            key,
            label,
            kind: kind.unwrap_or(CustomKind::Text),
            required: req.required,
            options,
            link_object,
            position: existing.len() as i64,
            key_date: req.key_date,
        };
        let mut tx = self.db.begin().await?;
        hamkor_store::custom_fields::insert(&mut tx, &def).await?;
        tx.commit().await?;
        Ok(def)
    }

    pub async fn delete_custom_field(&self, actor: &Actor, id: Id) -> AppResult<()> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.db.begin().await?;
        let found = hamkor_store::custom_fields::delete(&mut tx, id).await?;
        tx.commit().await?;
        if found {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}
