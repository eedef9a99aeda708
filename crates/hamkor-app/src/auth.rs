//! Passwords (Argon2id), login sessions, API tokens and one-time setup links.

use crate::{App, AppError, AppResult};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine as _;
use hamkor_domain::{Id, Timestamp};
use hamkor_store::users::{self, Session, User};
use hamkor_store::{Actor, Exec};
use rand::RngCore;

/// How long a login session lasts without a new login.
pub const SESSION_DAYS: i64 = 14;
/// How long a one-time setup link stays valid.
pub const SETUP_HOURS: i64 = 72;
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 10;

/// A random secret of 32 bytes, URL-safe text.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hashes a password with Argon2id and a fresh salt (PHC string).
pub fn hash_password(password: &str) -> AppResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored PHC hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so a login for an unknown
/// e-mail costs as much time as one for a known e-mail.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not a real password, only for timing").unwrap_or_default())
}

/// Checks a new password; the error names the field.
pub fn check_password_rules(password: &str) -> AppResult<()> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(
            hamkor_domain::FieldError::new("password", "error-password-short")
                .with("min", MIN_PASSWORD)
                .into(),
        );
    }
    if password.len() > 1024 {
        return Err(hamkor_domain::FieldError::new("password", "error-too-long")
            .with("max", 1024)
            .into());
    }
    Ok(())
}

/// A new login: the session cookie value and its CSRF token.
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub user: User,
}

impl App {
    /// Logs in with e-mail and password; a new session id every time.
    pub async fn login(&self, email: &str, password: &str) -> AppResult<NewSession> {
        let mut db = self.db.clone();
        let user = users::by_email(&mut db, email).await?;
        let hash = match &user {
            Some(u) if !u.disabled => users::password_hash(&mut db, u.id).await?,
            _ => None,
        };
        let password = password.to_string();
        let (ok, _) = tokio::task::spawn_blocking(move || {
            let h = hash.clone().unwrap_or_else(|| dummy_hash().to_string());
            (verify_password(&password, &h) && hash.is_some(), ())
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let Some(user) = user.filter(|_| ok) else {
            return Err(AppError::Unauthorized);
        };
        let token = random_secret();
        let csrf_token = random_secret();
        let expires =
            Timestamp::from_datetime(chrono::Utc::now() + chrono::Duration::days(SESSION_DAYS));
        users::insert_session(&mut db, &token, user.id, &csrf_token, expires).await?;
        Ok(NewSession {
            token,
            csrf_token,
            user,
        })
    }

    pub async fn logout(&self, token: &str) -> AppResult<()> {
        let mut db = self.db.clone();
        users::delete_session(&mut db, token).await?;
        Ok(())
    }

    /// The session for a cookie value, if it is live.
    pub async fn session(&self, token: &str) -> AppResult<Option<Session>> {
        let mut db = self.db.clone();
        Ok(users::session(&mut db, token).await?)
    }

    /// The user an API token belongs to, if it is live.
    pub async fn token_user(&self, token: &str) -> AppResult<Option<User>> {
        let hash = users::hash_secret(token);
        if let Some(user) = self.cached_token_user(&hash) {
            return Ok(Some(user));
        }
        // The copy's age counts from before the read: a read that started before a
        // user was disabled must not be trusted for a full second after it ended.
        let read_at = std::time::Instant::now();
        let mut db = self.db.clone();
        let user = users::user_by_token(&mut db, token).await?;
        if let Some(u) = &user {
            self.cache_token_user(hash, u.clone(), read_at);
        }
        Ok(user)
    }

    /// The acting user with the current policy.
    pub async fn actor(&self, user: &User) -> AppResult<Actor> {
        Ok(users::actor_for(user, self.policy().await?))
    }

    /// Creates an API token for a user; the secret is returned once and stored hashed.
    pub async fn create_token(&self, user: Id, name: &str) -> AppResult<String> {
        Ok(self.issue_token(user, name).await?.1)
    }

    /// Creates an API token: its listing and, once, its secret.
    pub async fn issue_token(&self, user: Id, name: &str) -> AppResult<(users::ApiToken, String)> {
        let name = name.trim();
        if name.is_empty() {
            return Err(hamkor_domain::FieldError::new("name", "error-required").into());
        }
        if name.chars().count() > 100 {
            return Err(hamkor_domain::FieldError::new("name", "error-too-long")
                .with("max", 100)
                .into());
        }
        let secret = format!("hk_{}", random_secret());
        let mut tx = self.db.begin().await?;
        let token = users::insert_token(&mut tx, user, name, &secret).await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    /// Makes a one-time setup link token for a user (first login or password reset).
    pub async fn issue_setup_token(&self, user: Id) -> AppResult<String> {
        let token = random_secret();
        let expires =
            Timestamp::from_datetime(chrono::Utc::now() + chrono::Duration::hours(SETUP_HOURS));
        let mut db = self.db.clone();
        users::set_setup_token(&mut db, user, &token, expires).await?;
        Ok(token)
    }

    /// The user a setup link belongs to, if it is live.
    pub async fn setup_user(&self, token: &str) -> AppResult<Option<User>> {
        let mut db = self.db.clone();
        Ok(users::by_setup_token(&mut db, token).await?)
    }

    /// Sets the password through a setup link; the link then stops working.
    pub async fn complete_setup(&self, token: &str, password: &str) -> AppResult<User> {
        let user = self.setup_user(token).await?.ok_or(AppError::NotFound)?;
        self.set_password(user.id, password).await?;
        Ok(user)
    }

    /// Sets a user's password; all their sessions end.
    pub async fn set_password(&self, user: Id, password: &str) -> AppResult<()> {
        self.store_password(user, password, None).await
    }

    /// A user changes their own password: the current one must be right; their other
    /// sessions end, the one they are using (`keep`) stays.
    pub async fn change_own_password(
        &self,
        user: Id,
        current: &str,
        new: &str,
        keep: Option<&str>,
    ) -> AppResult<()> {
        let mut db = self.db.clone();
        let stored = users::password_hash(&mut db, user)
            .await?
            .unwrap_or_default();
        let current = current.to_string();
        let ok = tokio::task::spawn_blocking(move || verify_password(&current, &stored))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
        if !ok {
            return Err(
                hamkor_domain::FieldError::new("current_password", "error-password-wrong").into(),
            );
        }
        self.store_password(user, new, keep).await
    }

    async fn store_password(&self, user: Id, password: &str, keep: Option<&str>) -> AppResult<()> {
        check_password_rules(password)?;
        let pw = password.to_string();
        let hash = tokio::task::spawn_blocking(move || hash_password(&pw))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))??;
        let mut tx = self.db.begin().await?;
        users::set_password_hash(&mut tx, user, &hash, keep).await?;
        tx.commit().await?;
        self.forget_user_tokens(user);
        Ok(())
    }

    /// `true` when the database has no users yet (first start).
    pub async fn is_empty(&self) -> AppResult<bool> {
        let mut db = self.db.clone();
        Ok(users::count(&mut db).await? == 0)
    }

    /// Checks that the database answers (readiness).
    pub async fn ready(&self) -> bool {
        let mut db = self.db.clone();
        db.fetch_optional(&hamkor_store::Sql::new("SELECT 1 AS one"))
            .await
            .is_ok()
    }
}

impl App {
    /// The caller's API tokens (never their secrets).
    pub async fn list_tokens(&self, user: Id) -> AppResult<Vec<users::ApiToken>> {
        let mut db = self.db.clone();
        Ok(users::tokens(&mut db, user).await?)
    }

    /// Revokes one of the caller's tokens; another user's token is not found.
    pub async fn revoke_token(&self, user: Id, token: Id) -> AppResult<()> {
        let mut tx = self.db.begin().await?;
        let found = users::revoke_token(&mut tx, user, token).await?;
        tx.commit().await?;
        self.forget_user_tokens(user);
        if found {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
