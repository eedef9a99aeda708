//! Hamkor's use cases, called alike by the web UI, the REST API, the CLI and workers:
//! check access → validate → store → audit, in one transaction.

pub mod attachments;
pub mod auth;
pub mod currencies;
pub mod custom_fields;
pub mod dedup;
pub mod demo;
pub mod documents;
pub mod export;
pub mod generate;
pub mod imports;
pub mod leads;
pub mod lists;
pub mod mail;
pub mod picklists;
pub mod quick;
pub mod records;
pub mod reminders;
pub mod roles;
pub mod sales;
pub mod security;
pub mod sharing;
pub mod tasks;
#[cfg(test)]
pub(crate) mod testing;
pub mod two_factor;
pub mod users;

use hamkor_domain::{Id, ObjectType, ValidationErrors};
use hamkor_store::access::PolicyOverrides;
use hamkor_store::{Db, StoreError};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// What a use case may answer instead of a result.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("unauthorized")]
    Unauthorized,
    #[error("stale: the record is now at version {0}")]
    Stale(i64),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("invalid input")]
    Invalid(ValidationErrors),
    /// Too many requests of this kind from this client; try again after so many seconds.
    #[error("too many requests; retry after {0} s")]
    TooMany(u64),
    /// The database is busy (see `hamkor_store::overload`); try again after so many
    /// seconds. Nothing was written.
    #[error("the database is busy; retry after {0} s")]
    Unavailable(u64),
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Forbidden => AppError::Forbidden,
            StoreError::Stale { current } => AppError::Stale(current),
            StoreError::Conflict(c) => AppError::Conflict(c),
            StoreError::Invalid(v) => AppError::Invalid(v),
            StoreError::Busy(e) => {
                tracing::warn!(error = %e, "the database is busy");
                AppError::Unavailable(BUSY_RETRY_SECS)
            }
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(e: ValidationErrors) -> Self {
        AppError::Invalid(e)
    }
}

impl From<hamkor_domain::FieldError> for AppError {
    fn from(e: hamkor_domain::FieldError) -> Self {
        AppError::Invalid(e.into())
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// The `Retry-After` of an answer to a request that found the database busy.
pub const BUSY_RETRY_SECS: u64 = 5;

/// How long a server trusts its copy of the access policy before reading it again, so
/// that a change made on one server reaches the others quickly.
const POLICY_TTL: Duration = Duration::from_secs(2);

/// The policy and when it was read.
type CachedPolicy = (Instant, Arc<PolicyOverrides>);

/// The login rules and when they were read.
type CachedRules = (Instant, Arc<security::LoginRules>);

/// How long a server trusts an API token it has checked. A revoked token, a disabled
/// user or a changed password therefore stops working within this time on every server
/// (at once on the server where the change was made).
pub const TOKEN_TTL: Duration = Duration::from_secs(1);

/// Users found by API token hash, with when they were looked up.
type TokenCache = std::collections::HashMap<String, (Instant, hamkor_store::users::User)>;

/// The application: the database and the little state shared by all requests.
#[derive(Clone)]
pub struct App {
    pub db: Db,
    policy: Arc<RwLock<Option<CachedPolicy>>>,
    tokens: Arc<RwLock<TokenCache>>,
    /// The record each user opened last, as noted in `recent_items`: opening it again
    /// (a reload) needs no write.
    last_visit: Arc<RwLock<std::collections::HashMap<Id, (ObjectType, Id)>>>,
    /// Sends reminders and other mail; `None` when no SMTP server is configured.
    pub mailer: Option<mail::Mailer>,
    /// The address users reach Hamkor at, for links in e-mails and feeds.
    pub base_url: String,
    /// Limits on failed logins.
    pub login_limits: auth::LoginLimits,
    /// The login rules (2FA per role, networks), cached like the policy.
    security: Arc<RwLock<Option<CachedRules>>>,
}

impl App {
    pub fn new(db: Db) -> Self {
        App {
            db,
            policy: Arc::new(RwLock::new(None)),
            tokens: Arc::new(RwLock::new(TokenCache::new())),
            last_visit: Arc::new(RwLock::new(std::collections::HashMap::new())),
            mailer: None,
            base_url: "http://127.0.0.1:8080".into(),
            login_limits: auth::LoginLimits::default(),
            security: Arc::new(RwLock::new(None)),
        }
    }

    /// The same application with other limits on failed logins.
    pub fn with_login_limits(mut self, limits: auth::LoginLimits) -> Self {
        self.login_limits = limits;
        self
    }

    /// The login rules (cached for as long as the policy).
    pub async fn login_rules(&self) -> AppResult<Arc<security::LoginRules>> {
        if let Ok(guard) = self.security.read()
            && let Some((at, r)) = guard.as_ref()
            && at.elapsed() < POLICY_TTL
        {
            return Ok(r.clone());
        }
        let mut db = self.db.clone();
        let fresh = Arc::new(security::LoginRules::load(&mut db).await?);
        if let Ok(mut guard) = self.security.write() {
            *guard = Some((Instant::now(), fresh.clone()));
        }
        Ok(fresh)
    }

    /// Forgets the cached login rules (after an administrator changed them).
    pub(crate) fn invalidate_login_rules(&self) {
        if let Ok(mut guard) = self.security.write() {
            *guard = None;
        }
    }

    /// The same application sending mail through `mailer` (if any), with links to
    /// `base_url`.
    pub fn with_mail(mut self, mailer: Option<mail::Mailer>, base_url: &str) -> Self {
        self.mailer = mailer;
        self.base_url = base_url.trim_end_matches('/').to_string();
        self
    }

    /// The current access policy overrides (cached for a moment).
    pub async fn policy(&self) -> AppResult<Arc<PolicyOverrides>> {
        if let Ok(guard) = self.policy.read()
            && let Some((at, p)) = guard.as_ref()
            && at.elapsed() < POLICY_TTL
        {
            return Ok(p.clone());
        }
        let mut db = self.db.clone();
        let fresh = Arc::new(hamkor_store::users::policy_overrides(&mut db).await?);
        if let Ok(mut guard) = self.policy.write() {
            *guard = Some((Instant::now(), fresh.clone()));
        }
        Ok(fresh)
    }

    /// A user recently found by this token hash, if still fresh.
    pub(crate) fn cached_token_user(&self, hash: &str) -> Option<hamkor_store::users::User> {
        let guard = self.tokens.read().ok()?;
        let (at, user) = guard.get(hash)?;
        (at.elapsed() < TOKEN_TTL).then(|| user.clone())
    }

    /// Remembers the user a token hash was found to belong to by a read that started at
    /// `read_at`. A hit never renews the entry: it is trusted until `read_at + TOKEN_TTL`
    /// however often it is used, so no cache keeps a token alive past that.
    pub(crate) fn cache_token_user(
        &self,
        hash: String,
        user: hamkor_store::users::User,
        read_at: Instant,
    ) {
        if let Ok(mut guard) = self.tokens.write() {
            if guard.len() > 10_000 {
                guard.retain(|_, (at, _)| at.elapsed() < TOKEN_TTL);
            }
            guard.insert(hash, (read_at, user));
        }
    }

    /// Forgets cached tokens of a user (disabled, password or preferences changed).
    pub(crate) fn forget_user_tokens(&self, user: hamkor_domain::Id) {
        if let Ok(mut guard) = self.tokens.write() {
            guard.retain(|_, (_, u)| u.id != user);
        }
    }

    /// Forgets the cached policy (after an administrator changed it).
    pub fn invalidate_policy(&self) {
        if let Ok(mut guard) = self.policy.write() {
            *guard = None;
        }
    }
}
