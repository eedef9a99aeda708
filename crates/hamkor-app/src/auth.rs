//! Passwords (Argon2id), login sessions, API tokens and one-time setup links.

use crate::{App, AppError, AppResult};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use base64::Engine as _;
use hamkor_domain::{Id, Timestamp};
use hamkor_store::audit::{self, Origin};
use hamkor_store::logins;
use hamkor_store::users::{self, Session, Stage, User};
use hamkor_store::{Actor, Exec};
use rand::RngCore;

/// The administrator the first start makes.
pub const FIRST_ADMIN: &str = "admin@localhost.localdomain";

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

/// Checks the rules and hashes a new password (on a blocking thread).
async fn new_password_hash(password: &str) -> AppResult<String> {
    check_password_rules(password)?;
    let pw = password.to_string();
    tokio::task::spawn_blocking(move || hash_password(&pw))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?
}

/// A new login: the session cookie value and its CSRF token.
pub struct NewSession {
    pub token: String,
    pub csrf_token: String,
    pub user: User,
}

/// A login half done: the password was right, and the value of a short-lived cookie that
/// stands for that until the second step. It grants nothing else.
pub struct PendingLogin {
    pub token: String,
    pub user: User,
}

/// What a right password leads to.
pub enum LoginOutcome {
    /// Logged in.
    Done(NewSession),
    /// The user has 2FA: a code (or a recovery code) is needed next.
    SecondFactor(PendingLogin),
    /// The user's role requires 2FA and the user has none: they enrol next.
    Enrol(PendingLogin),
}

/// How long a half-done login waits for its second step.
pub const PENDING_MINUTES: i64 = 10;
/// How long a "forgot password" link stays valid.
pub const RESET_MINUTES: i64 = 60;
/// At most this many reset e-mails per account per hour; further requests get the same
/// answer and send nothing.
pub const RESETS_PER_HOUR: i64 = 3;

/// Limits on failed logins, counted in the database over a sliding window so every
/// server shares them. A second-factor code that fails counts as a failed login.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// Failures per account (the e-mail tried) before further attempts are refused.
    pub per_account: i64,
    /// Failures per client address before further attempts are refused.
    pub per_ip: i64,
    /// The window the failures are counted in.
    pub window_minutes: i64,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_account: 5,
            per_ip: 20,
            window_minutes: 15,
        }
    }
}

/// The key failures of an e-mail are counted under (lower-cased, bounded).
fn account_key(email: &str) -> String {
    email.trim().to_lowercase().chars().take(254).collect()
}

fn details(pairs: &[(&str, serde_json::Value)]) -> serde_json::Map<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

impl App {
    /// Seconds until this account or address may try again, if either is locked.
    pub(crate) async fn login_lock_for(
        &self,
        key: &str,
        origin: &Origin,
    ) -> AppResult<Option<u64>> {
        let l = self.login_limits;
        let window = chrono::Duration::minutes(l.window_minutes);
        let mut db = self.db.clone();
        let account =
            logins::locked_for(&mut db, logins::SCOPE_ACCOUNT, key, l.per_account, window).await?;
        let ip = match &origin.ip {
            Some(ip) => logins::locked_for(&mut db, logins::SCOPE_IP, ip, l.per_ip, window).await?,
            None => None,
        };
        Ok(account.max(ip))
    }

    /// Counts a failed attempt against the account and the address, and audits it.
    pub(crate) async fn note_login_failure(
        &self,
        action: &str,
        key: &str,
        subject: Option<Id>,
        origin: &Origin,
    ) -> AppResult<()> {
        let mut tx = self.db.begin().await?;
        logins::note_failure(&mut tx, logins::SCOPE_ACCOUNT, key).await?;
        if let Some(ip) = &origin.ip {
            logins::note_failure(&mut tx, logins::SCOPE_IP, ip).await?;
        }
        // A signed-in user confirming a change is its actor; a login attempt has none.
        let actor = subject.filter(|_| action == "password_confirm_failed");
        audit::security(
            &mut tx,
            action,
            actor,
            subject,
            origin,
            details(&[("email", key.into())]),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes one security event in its own transaction.
    pub(crate) async fn audit_security(
        &self,
        action: &str,
        actor: Option<Id>,
        subject: Option<Id>,
        origin: &Origin,
        pairs: &[(&str, serde_json::Value)],
    ) -> AppResult<()> {
        let mut tx = self.db.begin().await?;
        audit::security(&mut tx, action, actor, subject, origin, details(pairs)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Logs in with e-mail and password: refused while the account or the address has
    /// too many recent failures (even with the right password, so a lock tells nothing),
    /// and from a network the user may not log in from. A right password then leads to a
    /// session, or to the second step when the user has (or must set up) 2FA.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        origin: &Origin,
    ) -> AppResult<LoginOutcome> {
        let key = account_key(email);
        let mut db = self.db.clone();
        let user = users::by_email(&mut db, &key).await?;
        if let Some(secs) = self.login_lock_for(&key, origin).await? {
            self.audit_security(
                "login_locked",
                None,
                user.as_ref().map(|u| u.id),
                origin,
                &[("email", key.clone().into())],
            )
            .await?;
            return Err(AppError::TooMany(secs));
        }
        let hash = match &user {
            Some(u) if !u.disabled => users::password_hash(&mut db, u.id).await?,
            _ => None,
        };
        let password = password.to_string();
        let ok = tokio::task::spawn_blocking(move || {
            let h = hash.clone().unwrap_or_else(|| dummy_hash().to_string());
            verify_password(&password, &h) && hash.is_some()
        })
        .await
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let user_id = user.as_ref().map(|u| u.id);
        let Some(user) = user.filter(|_| ok) else {
            self.note_login_failure("login_failed", &key, user_id, origin)
                .await?;
            return Err(AppError::Unauthorized);
        };
        if !self.network_allows(&user, origin).await? {
            self.audit_security(
                "login_refused_network",
                None,
                Some(user.id),
                origin,
                &[("email", key.clone().into())],
            )
            .await?;
            return Err(AppError::Forbidden);
        }
        // The account's failures are cleared only when the whole login succeeds: a known
        // password must not reset the count of wrong second-factor codes.
        if user.two_factor {
            let token = self.pending_login(&user, Stage::SecondFactor).await?;
            return Ok(LoginOutcome::SecondFactor(PendingLogin { token, user }));
        }
        if self.two_factor_required(user.role).await? {
            let token = self.pending_login(&user, Stage::Enrol).await?;
            return Ok(LoginOutcome::Enrol(PendingLogin { token, user }));
        }
        let session = self.start_session(user, origin, "password").await?;
        Ok(LoginOutcome::Done(session))
    }

    /// A short-lived session that stands for a right password until the second step.
    async fn pending_login(&self, user: &User, stage: Stage) -> AppResult<String> {
        let token = random_secret();
        let expires = Timestamp::from_datetime(
            chrono::Utc::now() + chrono::Duration::minutes(PENDING_MINUTES),
        );
        let mut tx = self.db.begin().await?;
        users::insert_session(&mut tx, &token, user.id, &random_secret(), expires, stage).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The user of a live half-done login at `stage`.
    pub async fn pending_user(&self, token: &str, stage: Stage) -> AppResult<Option<User>> {
        let mut db = self.db.clone();
        Ok(users::session_at(&mut db, token, stage)
            .await?
            .map(|s| s.user))
    }

    /// A new full session (a new id at every login), audited as a login by `method`.
    pub(crate) async fn start_session(
        &self,
        user: User,
        origin: &Origin,
        method: &str,
    ) -> AppResult<NewSession> {
        let token = random_secret();
        let csrf_token = random_secret();
        let expires =
            Timestamp::from_datetime(chrono::Utc::now() + chrono::Duration::days(SESSION_DAYS));
        let mut tx = self.db.begin().await?;
        users::insert_session(&mut tx, &token, user.id, &csrf_token, expires, Stage::Full).await?;
        logins::clear_failures(&mut tx, logins::SCOPE_ACCOUNT, &account_key(&user.email)).await?;
        audit::security(
            &mut tx,
            "login",
            Some(user.id),
            Some(user.id),
            origin,
            details(&[
                ("email", user.email.clone().into()),
                ("method", method.into()),
            ]),
        )
        .await?;
        tx.commit().await?;
        Ok(NewSession {
            token,
            csrf_token,
            user,
        })
    }

    /// Ends a session (full or half-done), audited as a logout.
    pub async fn logout(&self, token: &str, origin: &Origin) -> AppResult<()> {
        let mut db = self.db.clone();
        let user = users::session(&mut db, token).await?.map(|s| s.user);
        let mut tx = self.db.begin().await?;
        users::delete_session(&mut tx, token).await?;
        if let Some(u) = user {
            audit::security(
                &mut tx,
                "logout",
                Some(u.id),
                Some(u.id),
                origin,
                Default::default(),
            )
            .await?;
        }
        tx.commit().await?;
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
    pub async fn complete_setup(
        &self,
        token: &str,
        password: &str,
        origin: &Origin,
    ) -> AppResult<User> {
        let user = self.setup_user(token).await?.ok_or(AppError::NotFound)?;
        let hash = new_password_hash(password).await?;
        let mut tx = self.db.begin().await?;
        users::set_password_hash(&mut tx, user.id, &hash, None).await?;
        logins::void_resets(&mut tx, user.id).await?;
        audit::security(
            &mut tx,
            "password_setup",
            Some(user.id),
            Some(user.id),
            origin,
            Default::default(),
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(user.id);
        Ok(user)
    }

    /// Sets a user's password from the shell or by an administrator; all their sessions
    /// end.
    pub async fn set_password(&self, user: Id, password: &str) -> AppResult<()> {
        let hash = new_password_hash(password).await?;
        let mut tx = self.db.begin().await?;
        users::set_password_hash(&mut tx, user, &hash, None).await?;
        logins::void_resets(&mut tx, user).await?;
        audit::security(
            &mut tx,
            "password_set",
            None,
            Some(user),
            &Origin::default(),
            Default::default(),
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(user);
        Ok(())
    }

    /// A user changes their own password: the current one must be right; their other
    /// sessions end, the one they are using (`keep`) stays.
    pub async fn change_own_password(
        &self,
        user: Id,
        current: &str,
        new: &str,
        keep: Option<&str>,
        origin: &Origin,
    ) -> AppResult<()> {
        self.confirm_own_password(user, current, origin).await?;
        let hash = new_password_hash(new).await?;
        let mut tx = self.db.begin().await?;
        users::set_password_hash(&mut tx, user, &hash, keep).await?;
        logins::void_resets(&mut tx, user).await?;
        audit::security(
            &mut tx,
            "password_change",
            Some(user),
            Some(user),
            origin,
            Default::default(),
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(user);
        Ok(())
    }

    /// A signed-in user confirms a change with their current password. The check counts
    /// like a login: refused while the account or address is locked, and a wrong password
    /// is a failure (so a taken-over session cannot guess the password).
    pub(crate) async fn confirm_own_password(
        &self,
        user: Id,
        password: &str,
        origin: &Origin,
    ) -> AppResult<()> {
        let mut db = self.db.clone();
        let email = users::by_id(&mut db, user)
            .await?
            .map(|u| account_key(&u.email))
            .ok_or(AppError::NotFound)?;
        if let Some(secs) = self.login_lock_for(&email, origin).await? {
            return Err(AppError::TooMany(secs));
        }
        if !self.password_is(user, password).await? {
            self.note_login_failure("password_confirm_failed", &email, Some(user), origin)
                .await?;
            return Err(
                hamkor_domain::FieldError::new("current_password", "error-password-wrong").into(),
            );
        }
        Ok(())
    }

    /// Whether `password` is the active user's current password.
    pub(crate) async fn password_is(&self, user: Id, password: &str) -> AppResult<bool> {
        let mut db = self.db.clone();
        let stored = users::password_hash(&mut db, user).await?;
        let password = password.to_string();
        tokio::task::spawn_blocking(move || stored.is_some_and(|h| verify_password(&password, &h)))
            .await
            .map_err(|e| AppError::Internal(e.to_string()))
    }

    /// "Forgot password?": makes a single-use link valid for [`RESET_MINUTES`] for the
    /// active user with this e-mail, built from the configured base URL (never from the
    /// request). `None` when there is no such user or they asked too often: the caller
    /// answers the same either way. The link is for the caller to mail, never to show.
    pub async fn request_password_reset(
        &self,
        email: &str,
        origin: &Origin,
    ) -> AppResult<Option<(User, String)>> {
        let key = account_key(email);
        let mut db = self.db.clone();
        let user = users::by_email(&mut db, &key)
            .await?
            .filter(|u| !u.disabled);
        let Some(user) = user else {
            self.audit_security(
                "password_reset_request",
                None,
                None,
                origin,
                &[("email", key.into())],
            )
            .await?;
            return Ok(None);
        };
        let hour_ago = Timestamp::from_datetime(chrono::Utc::now() - chrono::Duration::hours(1));
        if logins::resets_since(&mut db, user.id, hour_ago).await? >= RESETS_PER_HOUR {
            self.audit_security(
                "password_reset_request",
                None,
                Some(user.id),
                origin,
                &[("email", key.into()), ("sent", false.into())],
            )
            .await?;
            return Ok(None);
        }
        let token = random_secret();
        let expires =
            Timestamp::from_datetime(chrono::Utc::now() + chrono::Duration::minutes(RESET_MINUTES));
        let mut tx = self.db.begin().await?;
        logins::insert_reset(&mut tx, user.id, &token, expires).await?;
        audit::security(
            &mut tx,
            "password_reset_request",
            None,
            Some(user.id),
            origin,
            details(&[("email", key.into()), ("sent", true.into())]),
        )
        .await?;
        tx.commit().await?;
        let link = format!("{}/reset/{token}", self.base_url);
        Ok(Some((user, link)))
    }

    /// The user a live, unused reset link belongs to.
    pub async fn reset_user(&self, token: &str) -> AppResult<Option<User>> {
        let mut db = self.db.clone();
        match logins::reset_user(&mut db, token).await? {
            Some(id) => Ok(users::by_id(&mut db, id).await?),
            None => Ok(None),
        }
    }

    /// Sets a new password through a reset link: the password rules apply, the link is
    /// used up (and the user's other links with it), every session of the user ends, and
    /// the account's failed-login count is cleared. 2FA stays as it was.
    pub async fn reset_password(
        &self,
        token: &str,
        password: &str,
        origin: &Origin,
    ) -> AppResult<User> {
        let user = self.reset_user(token).await?.ok_or(AppError::NotFound)?;
        let hash = new_password_hash(password).await?;
        let mut tx = self.db.begin().await?;
        if !logins::use_reset(&mut tx, token).await? {
            return Err(AppError::NotFound);
        }
        users::set_password_hash(&mut tx, user.id, &hash, None).await?;
        logins::void_resets(&mut tx, user.id).await?;
        logins::clear_failures(&mut tx, logins::SCOPE_ACCOUNT, &account_key(&user.email)).await?;
        audit::security(
            &mut tx,
            "password_reset",
            Some(user.id),
            Some(user.id),
            origin,
            Default::default(),
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(user.id);
        Ok(user)
    }

    /// The first start on a database without users: creates the administrator
    /// ([`FIRST_ADMIN`]) and returns it with the token of its one-time setup link. `None`
    /// when the database has users — among them when another server, started at the same
    /// moment on the same new database, made the administrator first: several servers may
    /// start at once, and each must come up.
    pub async fn first_start(&self) -> AppResult<Option<(User, String)>> {
        if !self.is_empty().await? {
            return Ok(None);
        }
        let admin = match self
            .create_user(
                None,
                crate::users::UserRequest {
                    email: FIRST_ADMIN.into(),
                    name: "Administrator".into(),
                    role: "administrator".into(),
                    team: None,
                    language: None,
                    password: None,
                },
            )
            .await
        {
            Ok(u) => u,
            Err(AppError::Invalid(v))
                if v.0
                    .iter()
                    .any(|f| f.field == "email" && f.key == "error-email-taken") =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let token = self.issue_setup_token(admin.id).await?;
        Ok(Some((admin, token)))
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
