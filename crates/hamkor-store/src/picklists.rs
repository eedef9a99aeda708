//! Managed lists of values (interests). Values are checked when a record is written;
//! a retired value stays on the records that hold it but cannot be chosen again.

use crate::StoreError;
use crate::db::{Exec, Sql};
use hamkor_domain::{FieldError, Timestamp};

/// One value of a list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PicklistValue {
    pub value: String,
    pub active: bool,
    pub position: i64,
}

/// The values of a list, in their order.
pub async fn values(ex: &mut impl Exec, list: &str) -> Result<Vec<PicklistValue>, StoreError> {
    let rows = ex
        .fetch_all(
            &Sql::new(
                "SELECT value, active, position FROM picklist_values WHERE list = $1 ORDER BY position, value",
            )
            .arg(list),
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(PicklistValue {
                value: r.req_text("value")?,
                active: r.bool("active")?,
                position: r.req_int("position")?,
            })
        })
        .collect()
}

/// Adds a value at the end of a list (or brings a retired one back).
pub async fn add(ex: &mut impl Exec, list: &str, value: &str) -> Result<(), StoreError> {
    let existing = values(ex, list).await?;
    if let Some(v) = existing
        .iter()
        .find(|v| v.value.to_lowercase() == value.to_lowercase())
    {
        if v.active {
            return Err(FieldError::new("value", "error-duplicate").into());
        }
        return set_active(ex, list, &v.value, true).await;
    }
    ex.execute(
        &Sql::new(
            "INSERT INTO picklist_values (list, value, position, active, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .arg(list)
        .arg(value)
        .arg(existing.len() as i64)
        .arg(true)
        .arg(Timestamp::now()),
    )
    .await?;
    Ok(())
}

/// Retires a value or brings it back. `NotFound` if the list has no such value.
pub async fn set_active(
    ex: &mut impl Exec,
    list: &str,
    value: &str,
    active: bool,
) -> Result<(), StoreError> {
    let n = ex
        .execute(
            &Sql::new("UPDATE picklist_values SET active = $1 WHERE list = $2 AND value = $3")
                .arg(active)
                .arg(list)
                .arg(value),
        )
        .await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
