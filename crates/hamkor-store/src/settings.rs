//! Organisation-wide settings kept in the database (so every server behind a load
//! balancer sees the same), as key and text value.

use crate::StoreError;
use crate::db::{Exec, Sql};

pub async fn get(ex: &mut impl Exec, key: &'static str) -> Result<Option<String>, StoreError> {
    let row = ex
        .fetch_optional(&Sql::new("SELECT value FROM settings WHERE key = $1").arg(key))
        .await?;
    row.map(|r| r.req_text("value")).transpose()
}

pub async fn set(ex: &mut impl Exec, key: &'static str, value: &str) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .arg(key)
            .arg(value),
    )
    .await?;
    Ok(())
}

/// The country calling code that fills phone numbers written without one.
pub async fn default_country_code(ex: &mut impl Exec) -> Result<String, StoreError> {
    Ok(get(ex, "default_country_code")
        .await?
        .unwrap_or_else(|| "998".to_string()))
}
