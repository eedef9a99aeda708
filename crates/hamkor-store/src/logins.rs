//! Login security: failed attempts (for rate limiting, counted in the database so every
//! server sees the same), "forgot password" links, and the second factor — TOTP secrets,
//! the last time step a code was taken for, and one-time recovery codes. Links and
//! recovery codes are kept as SHA-256 hashes only.

use crate::StoreError;
use crate::db::{Exec, Sql};
use crate::users::hash_secret;
use hamkor_domain::{Id, Timestamp};

/// Failures counted per account: `key` is the e-mail tried, lower-cased.
pub const SCOPE_ACCOUNT: &str = "account";
/// Failures counted per client address: `key` is the address.
pub const SCOPE_IP: &str = "ip";

/// If `key` had at least `limit` failures within `window`, the seconds until one of them
/// leaves the window (at least 1); `None` while fewer. One indexed read.
pub async fn locked_for(
    ex: &mut impl Exec,
    scope: &'static str,
    key: &str,
    limit: i64,
    window: chrono::Duration,
) -> Result<Option<u64>, StoreError> {
    if limit <= 0 {
        return Ok(None);
    }
    let now = Timestamp::now();
    // The limit-th newest failure: once it is older than the window, fewer than `limit`
    // remain in it.
    let row = ex
        .fetch_optional(
            &Sql::new(
                "SELECT at FROM login_failures WHERE scope = $1 AND key = $2 AND at > $3 \
                 ORDER BY at DESC LIMIT 1 OFFSET $4",
            )
            .arg(scope)
            .arg(key.to_string())
            .arg(Timestamp(now.0 - window))
            .arg(limit - 1),
        )
        .await?;
    Ok(match row {
        Some(r) => {
            let at = r.req_ts("at")?;
            let left = (at.0 + window - now.0).num_milliseconds();
            Some(((left + 999) / 1000).max(1) as u64)
        }
        None => None,
    })
}

/// Counts one failed attempt for `key`. Entries older than a day are dropped now and then.
pub async fn note_failure(
    ex: &mut impl Exec,
    scope: &'static str,
    key: &str,
) -> Result<(), StoreError> {
    let now = Timestamp::now();
    ex.execute(
        &Sql::new("INSERT INTO login_failures (scope, key, at) VALUES ($1, $2, $3)")
            .arg(scope)
            .arg(key.to_string())
            .arg(now),
    )
    .await?;
    if now.0.timestamp_subsec_millis() < 20 {
        ex.execute(
            &Sql::new("DELETE FROM login_failures WHERE at < $1")
                .arg(Timestamp(now.0 - chrono::Duration::days(1))),
        )
        .await?;
    }
    Ok(())
}

/// Forgets the failures of `key` (after a successful login to that account).
pub async fn clear_failures(
    ex: &mut impl Exec,
    scope: &'static str,
    key: &str,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new("DELETE FROM login_failures WHERE scope = $1 AND key = $2")
            .arg(scope)
            .arg(key.to_string()),
    )
    .await?;
    Ok(())
}

/// Stores a password reset link (its hash) for `user`, valid until `expires`.
pub async fn insert_reset(
    ex: &mut impl Exec,
    user: Id,
    token: &str,
    expires: Timestamp,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new(
            "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .arg(hash_secret(token))
        .arg(user)
        .arg(Timestamp::now())
        .arg(expires),
    )
    .await?;
    Ok(())
}

/// The active user a live, unused reset link belongs to.
pub async fn reset_user(ex: &mut impl Exec, token: &str) -> Result<Option<Id>, StoreError> {
    let row = ex
        .fetch_optional(
            &Sql::new(
                "SELECT r.user_id FROM password_resets r JOIN users u ON u.id = r.user_id \
                 WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND u.disabled = $3",
            )
            .arg(hash_secret(token))
            .arg(Timestamp::now())
            .arg(false),
        )
        .await?;
    row.map(|r| r.req_id("user_id")).transpose()
}

/// Uses a reset link: `true` if it was live and unused (and now is used). Taken with one
/// conditional update, so two requests racing with one link cannot both win.
pub async fn use_reset(ex: &mut impl Exec, token: &str) -> Result<bool, StoreError> {
    let now = Timestamp::now();
    Ok(ex
        .execute(
            &Sql::new(
                "UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
            )
            .arg(now)
            .arg(hash_secret(token))
            .arg(now),
        )
        .await?
        > 0)
}

/// Ends every reset link of a user not used yet (their password was just set).
pub async fn void_resets(ex: &mut impl Exec, user: Id) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new("UPDATE password_resets SET used_at = $1 WHERE user_id = $2 AND used_at IS NULL")
            .arg(Timestamp::now())
            .arg(user),
    )
    .await?;
    Ok(())
}

/// How many reset links were made for a user since `since` (to bound the mail sent).
pub async fn resets_since(
    ex: &mut impl Exec,
    user: Id,
    since: Timestamp,
) -> Result<i64, StoreError> {
    let row = ex
        .fetch_optional(
            &Sql::new(
                "SELECT COUNT(*) AS n FROM password_resets WHERE user_id = $1 AND created_at > $2",
            )
            .arg(user)
            .arg(since),
        )
        .await?;
    Ok(row.map(|r| r.req_int("n")).transpose()?.unwrap_or(0))
}

/// A user's second factor as stored.
#[derive(Debug, Clone, Default)]
pub struct SecondFactor {
    /// The confirmed TOTP secret (base32), if 2FA is on.
    pub secret: Option<String>,
    /// A secret being enrolled, not yet confirmed with a code.
    pub pending: Option<String>,
    /// The last time step a code was accepted for.
    pub last_step: Option<i64>,
}

pub async fn second_factor(ex: &mut impl Exec, user: Id) -> Result<SecondFactor, StoreError> {
    let row = ex
        .fetch_optional(
            &Sql::new("SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE id = $1")
                .arg(user),
        )
        .await?;
    Ok(match row {
        Some(r) => SecondFactor {
            secret: r.text("totp_secret")?,
            pending: r.text("totp_pending")?,
            last_step: r.int("totp_last_step")?,
        },
        None => SecondFactor::default(),
    })
}

/// Starts (or restarts) an enrolment with a new secret.
pub async fn set_pending_secret(
    ex: &mut impl Exec,
    user: Id,
    secret: &str,
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new("UPDATE users SET totp_pending = $1 WHERE id = $2")
            .arg(secret)
            .arg(user),
    )
    .await?;
    Ok(())
}

/// Turns 2FA on with the enrolled secret (whose code for `step` was just accepted) and
/// replaces the recovery codes with `codes`.
pub async fn enable(
    ex: &mut impl Exec,
    user: Id,
    secret: &str,
    step: i64,
    codes: &[String],
) -> Result<(), StoreError> {
    ex.execute(
        &Sql::new(
            "UPDATE users SET totp_secret = $1, totp_pending = NULL, totp_last_step = $2, \
             updated_at = $3, version = version + 1 WHERE id = $4",
        )
        .arg(secret)
        .arg(step)
        .arg(Timestamp::now())
        .arg(user),
    )
    .await?;
    replace_recovery_codes(ex, user, codes).await
}

/// Turns 2FA off: the secret and the recovery codes are gone.
pub async fn disable(ex: &mut impl Exec, user: Id) -> Result<bool, StoreError> {
    let n = ex
        .execute(
            &Sql::new(
                "UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, \
                 updated_at = $1, version = version + 1 WHERE id = $2",
            )
            .arg(Timestamp::now())
            .arg(user),
        )
        .await?;
    ex.execute(&Sql::new("DELETE FROM recovery_codes WHERE user_id = $1").arg(user))
        .await?;
    Ok(n > 0)
}

/// Takes the time step a code was accepted for: `true` only if it is later than the last
/// one taken, in one conditional update, so a code is not accepted twice even by two
/// servers at once.
pub async fn take_step(ex: &mut impl Exec, user: Id, step: i64) -> Result<bool, StoreError> {
    Ok(ex
        .execute(
            &Sql::new(
                "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_secret IS NOT NULL \
                 AND (totp_last_step IS NULL OR totp_last_step < $3)",
            )
            .arg(step)
            .arg(user)
            .arg(step),
        )
        .await?
        > 0)
}

/// Replaces a user's recovery codes.
pub async fn replace_recovery_codes(
    ex: &mut impl Exec,
    user: Id,
    codes: &[String],
) -> Result<(), StoreError> {
    ex.execute(&Sql::new("DELETE FROM recovery_codes WHERE user_id = $1").arg(user))
        .await?;
    for c in codes {
        ex.execute(
            &Sql::new("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .arg(user)
                .arg(hash_secret(c)),
        )
        .await?;
    }
    Ok(())
}

/// Uses a recovery code: `true` if it was the user's and unused (now it is used).
pub async fn use_recovery_code(
    ex: &mut impl Exec,
    user: Id,
    code: &str,
) -> Result<bool, StoreError> {
    Ok(ex
        .execute(
            &Sql::new(
                "UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .arg(Timestamp::now())
            .arg(user)
            .arg(hash_secret(code)),
        )
        .await?
        > 0)
}

/// How many of a user's recovery codes are still unused.
pub async fn recovery_codes_left(ex: &mut impl Exec, user: Id) -> Result<i64, StoreError> {
    let row = ex
        .fetch_optional(
            &Sql::new(
                "SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            )
            .arg(user),
        )
        .await?;
    Ok(row.map(|r| r.req_int("n")).transpose()?.unwrap_or(0))
}

/// Sets where a user may log in from (`role`, `any`, `office`, `internet`).
pub async fn set_login_network(
    ex: &mut impl Exec,
    user: Id,
    network: &str,
) -> Result<bool, StoreError> {
    Ok(ex
        .execute(
            &Sql::new("UPDATE users SET login_network = $1, updated_at = $2, version = version + 1 WHERE id = $3")
                .arg(network)
                .arg(Timestamp::now())
                .arg(user),
        )
        .await?
        > 0)
}
