//! Managed lists of values: everyone reads them, administrators change them.

use crate::{App, AppError, AppResult};
use hamkor_domain::FieldError;
use hamkor_store::Actor;
use hamkor_store::picklists::{self, PicklistValue};

/// The lists that exist (each named by a field kind in `objects`).
pub const LISTS: &[&str] = &["interests", "lost_reasons"];

fn known(list: &str) -> AppResult<&'static str> {
    LISTS
        .iter()
        .find(|l| **l == list)
        .copied()
        .ok_or(AppError::NotFound)
}

impl App {
    pub async fn picklist(&self, list: &str) -> AppResult<Vec<PicklistValue>> {
        let list = known(list)?;
        let mut db = self.db.clone();
        Ok(picklists::values(&mut db, list).await?)
    }

    pub async fn add_picklist_value(
        &self,
        actor: &Actor,
        list: &str,
        value: &str,
    ) -> AppResult<()> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let list = known(list)?;
        let value = value.trim();
        if value.is_empty() {
            return Err(FieldError::new("value", "error-required").into());
        }
        if value.chars().count() > 100 {
            return Err(FieldError::new("value", "error-too-long")
                .with("max", 100)
                .into());
        }
        if value.chars().any(char::is_control) {
            return Err(FieldError::new("value", "error-control-chars").into());
        }
        let mut tx = self.db.begin().await?;
        picklists::add(&mut tx, list, value).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn set_picklist_value_active(
        &self,
        actor: &Actor,
        list: &str,
        value: &str,
        active: bool,
    ) -> AppResult<()> {
        if !actor.is_admin() {
            return Err(AppError::Forbidden);
        }
        let list = known(list)?;
        let mut tx = self.db.begin().await?;
        picklists::set_active(&mut tx, list, value, active).await?;
        tx.commit().await?;
        Ok(())
    }
}
