//! Two-factor authentication with TOTP (RFC 6238: 6 digits, 30-second steps, SHA-1, as
//! every authenticator app reads it). A code is accepted one step early or late, and never
//! twice: the last step taken is kept in the database. Ten one-time recovery codes, kept
//! as hashes, stand in for a lost phone. Codes that fail count as failed logins.

use crate::auth::{LoginOutcome, NewSession, PendingLogin};
use crate::{App, AppError, AppResult};
use hamkor_domain::{FieldError, Id};
use hamkor_store::audit::{self, Origin};
use hamkor_store::logins;
use hamkor_store::users::{self, Stage, User};
use rand::Rng;

/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;
/// The name authenticator apps show for the account.
pub const ISSUER: &str = "Hamkor";

/// A secret being set up: what the user scans or types into their app.
pub struct Enrolment {
    /// The secret in base32, grouped by four for typing.
    pub secret: String,
    /// The `otpauth://` URL the QR code holds.
    pub url: String,
}

fn totp(secret_b32: &str, account: &str) -> AppResult<totp_rs::Totp> {
    let secret = totp_rs::Secret::try_from_base32(secret_b32)
        .map_err(|_| AppError::Internal("stored TOTP secret is not base32".into()))?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_skew(1)
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', " "))
        .build()
        .map_err(|e| AppError::Internal(format!("TOTP: {e}")))
}

/// The time step a 6-digit code is right for at `now` (Unix seconds), if any.
pub fn code_step(secret_b32: &str, code: &str, now: u64) -> Option<i64> {
    let t = totp(secret_b32, "x").ok()?;
    t.check(code, now).map(|s| s as i64)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A code as typed, without spaces and dashes, lower-case.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .take(64)
        .collect()
}

/// Ten fresh recovery codes, `xxxxx-xxxxx` from letters and digits that are not mistaken
/// for each other (about 49 bits each).
fn new_recovery_codes() -> Vec<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let s: String = (0..10)
                .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
                .collect();
            format!("{}-{}", &s[..5], &s[5..])
        })
        .collect()
}

/// Recovery codes as they are hashed: as typed, normalised.
fn stored(codes: &[String]) -> Vec<String> {
    codes.iter().map(|c| normalise(c)).collect()
}

fn new_secret() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill(&mut bytes);
    totp_rs::Secret::from(bytes.to_vec()).to_base32()
}

fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a code was not taken.
fn wrong_code() -> AppError {
    FieldError::new("code", "error-code-wrong").into()
}

impl App {
    /// Starts setting up 2FA for a user who has none: a new secret, kept aside until a
    /// code from it confirms it.
    pub async fn start_two_factor(&self, user: &User) -> AppResult<Enrolment> {
        if user.two_factor {
            return Err(AppError::Conflict("two-factor authentication is on".into()));
        }
        let secret = new_secret();
        let url = totp(&secret, &user.email)?
            .to_url()
            .map_err(|e| AppError::Internal(format!("TOTP: {e}")))?;
        let mut tx = self.db.begin().await?;
        logins::set_pending_secret(&mut tx, user.id, &secret).await?;
        tx.commit().await?;
        Ok(Enrolment {
            secret: grouped(&secret),
            url,
        })
    }

    /// Confirms the secret being set up with a code from it: 2FA is on, and the ten
    /// recovery codes are returned (to be shown once).
    pub async fn confirm_two_factor(
        &self,
        user: &User,
        code: &str,
        origin: &Origin,
    ) -> AppResult<Vec<String>> {
        let mut db = self.db.clone();
        let pending = logins::second_factor(&mut db, user.id)
            .await?
            .pending
            .ok_or(AppError::NotFound)?;
        let Some(step) = code_step(&pending, &normalise(code), now_secs()) else {
            return Err(wrong_code());
        };
        let codes = new_recovery_codes();
        let mut tx = self.db.begin().await?;
        logins::enable(&mut tx, user.id, &pending, step, &stored(&codes)).await?;
        audit::security(
            &mut tx,
            "two_factor_enable",
            Some(user.id),
            Some(user.id),
            origin,
            Default::default(),
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(user.id);
        Ok(codes)
    }

    /// Turns off one's own 2FA, with one's password; refused when the role requires it.
    pub async fn disable_own_two_factor(
        &self,
        user: &User,
        password: &str,
        origin: &Origin,
    ) -> AppResult<()> {
        if self.two_factor_required(user.role).await? {
            return Err(FieldError::new("two_factor", "error-two-factor-required").into());
        }
        self.confirm_own_password(user.id, password, origin).await?;
        let mut tx = self.db.begin().await?;
        logins::disable(&mut tx, user.id).await?;
        audit::security(
            &mut tx,
            "two_factor_disable",
            Some(user.id),
            Some(user.id),
            origin,
            Default::default(),
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(user.id);
        Ok(())
    }

    /// New recovery codes for oneself (the old ones stop working), with one's password.
    pub async fn renew_recovery_codes(
        &self,
        user: &User,
        password: &str,
        origin: &Origin,
    ) -> AppResult<Vec<String>> {
        if !user.two_factor {
            return Err(AppError::NotFound);
        }
        self.confirm_own_password(user.id, password, origin).await?;
        let codes = new_recovery_codes();
        let mut tx = self.db.begin().await?;
        logins::replace_recovery_codes(&mut tx, user.id, &stored(&codes)).await?;
        audit::security(
            &mut tx,
            "recovery_codes_renew",
            Some(user.id),
            Some(user.id),
            origin,
            Default::default(),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// How many unused recovery codes the user has.
    pub async fn recovery_codes_left(&self, user: Id) -> AppResult<i64> {
        let mut db = self.db.clone();
        Ok(logins::recovery_codes_left(&mut db, user).await?)
    }

    /// An administrator (or the shell: `actor` `None`) turns off a user's 2FA (a lost
    /// phone and lost codes); the user's sessions end. If their role requires 2FA they set
    /// it up again at their next login.
    pub async fn reset_two_factor(
        &self,
        actor: Option<&hamkor_store::Actor>,
        user: Id,
        origin: &Origin,
    ) -> AppResult<()> {
        if actor.is_some_and(|a| !a.is_admin()) {
            return Err(AppError::Forbidden);
        }
        let mut tx = self.db.begin().await?;
        if users::by_id(&mut tx, user).await?.is_none() {
            return Err(AppError::NotFound);
        }
        logins::disable(&mut tx, user).await?;
        users::delete_sessions(&mut tx, user, None).await?;
        audit::security(
            &mut tx,
            "two_factor_reset",
            actor.map(|a| a.user_id),
            Some(user),
            origin,
            Default::default(),
        )
        .await?;
        tx.commit().await?;
        self.forget_user_tokens(user);
        Ok(())
    }

    /// The second step of a login: a code from the user's app, or one of their recovery
    /// codes. Refused while the account or the address is locked; a wrong code counts as
    /// a failed login. `Unauthorized`: the half-done login is gone (start again).
    pub async fn login_second_factor(
        &self,
        pending: &str,
        code: &str,
        origin: &Origin,
    ) -> AppResult<NewSession> {
        let user = self
            .pending_user(pending, Stage::SecondFactor)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let key = user.email.to_lowercase();
        if let Some(secs) = self.login_lock_for(&key, origin).await? {
            self.audit_security(
                "login_locked",
                None,
                Some(user.id),
                origin,
                &[("email", key.clone().into())],
            )
            .await?;
            return Err(AppError::TooMany(secs));
        }
        let code = normalise(code);
        let mut db = self.db.clone();
        let factor = logins::second_factor(&mut db, user.id).await?;
        let secret = factor.secret.ok_or(AppError::Unauthorized)?;
        let method = if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
            match code_step(&secret, &code, now_secs()) {
                Some(step) => {
                    let mut tx = self.db.begin().await?;
                    let fresh = logins::take_step(&mut tx, user.id, step).await?;
                    tx.commit().await?;
                    fresh.then_some("password+totp")
                }
                None => None,
            }
        } else if code.len() == 10 {
            let mut tx = self.db.begin().await?;
            let ok = logins::use_recovery_code(&mut tx, user.id, &code).await?;
            tx.commit().await?;
            ok.then_some("password+recovery_code")
        } else {
            None
        };
        let Some(method) = method else {
            self.note_login_failure("second_factor_failed", &key, Some(user.id), origin)
                .await?;
            return Err(wrong_code());
        };
        let mut tx = self.db.begin().await?;
        users::delete_session(&mut tx, pending).await?;
        tx.commit().await?;
        self.start_session(user, origin, method).await
    }

    /// The enrolment of a half-done login whose role requires 2FA: a new secret each time
    /// the page is shown.
    pub async fn login_enrolment(&self, pending: &str) -> AppResult<(User, Enrolment)> {
        let user = self
            .pending_user(pending, Stage::Enrol)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let e = self.start_two_factor(&user).await?;
        Ok((user, e))
    }

    /// Confirms the enrolment of a half-done login: 2FA is on, the login is done, and the
    /// recovery codes are returned to be shown once.
    pub async fn login_enrol(
        &self,
        pending: &str,
        code: &str,
        origin: &Origin,
    ) -> AppResult<(NewSession, Vec<String>)> {
        let user = self
            .pending_user(pending, Stage::Enrol)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let key = user.email.to_lowercase();
        if let Some(secs) = self.login_lock_for(&key, origin).await? {
            return Err(AppError::TooMany(secs));
        }
        let codes = match self.confirm_two_factor(&user, code, origin).await {
            Ok(c) => c,
            Err(AppError::Invalid(v)) => {
                self.note_login_failure("second_factor_failed", &key, Some(user.id), origin)
                    .await?;
                return Err(AppError::Invalid(v));
            }
            Err(e) => return Err(e),
        };
        let mut tx = self.db.begin().await?;
        users::delete_session(&mut tx, pending).await?;
        tx.commit().await?;
        let mut db = self.db.clone();
        let user = users::by_id(&mut db, user.id)
            .await?
            .ok_or(AppError::Unauthorized)?;
        let session = self.start_session(user, origin, "password+totp").await?;
        Ok((session, codes))
    }

    /// Logs in with e-mail, password and, for a user with 2FA, a code, in one call (the
    /// API's login). A user who must first set up 2FA is refused (`Forbidden`): that is
    /// done in the web UI.
    pub async fn login_at_once(
        &self,
        email: &str,
        password: &str,
        code: Option<&str>,
        origin: &Origin,
    ) -> AppResult<NewSession> {
        match self.login(email, password, origin).await? {
            LoginOutcome::Done(s) => Ok(s),
            LoginOutcome::SecondFactor(PendingLogin { token, .. }) => match code {
                Some(c) => {
                    let r = self.login_second_factor(&token, c, origin).await;
                    if r.is_err() {
                        let mut tx = self.db.begin().await?;
                        users::delete_session(&mut tx, &token).await?;
                        tx.commit().await?;
                    }
                    r
                }
                None => {
                    let mut tx = self.db.begin().await?;
                    users::delete_session(&mut tx, &token).await?;
                    tx.commit().await?;
                    Err(FieldError::new("code", "error-code-required").into())
                }
            },
            LoginOutcome::Enrol(PendingLogin { token, .. }) => {
                let mut tx = self.db.begin().await?;
                users::delete_session(&mut tx, &token).await?;
                tx.commit().await?;
                Err(AppError::Forbidden)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_taken_one_step_early_or_late_only() {
        let secret = new_secret();
        let t = totp(&secret, "a@b.uz").unwrap();
        let now = 1_800_000_015;
        let step = (now / 30) as i64;
        let code = |at: u64| t.generate(at).to_string();
        assert_eq!(code_step(&secret, &code(now), now), Some(step));
        assert_eq!(code_step(&secret, &code(now - 30), now), Some(step - 1));
        assert_eq!(code_step(&secret, &code(now + 30), now), Some(step + 1));
        assert_eq!(code_step(&secret, &code(now - 60), now), None);
        assert_eq!(code_step(&secret, &code(now + 60), now), None);
        assert_eq!(code_step(&secret, "12345", now), None);
    }

    #[test]
    fn recovery_codes_are_distinct_and_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let set: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(set.len(), RECOVERY_CODES);
        assert_eq!(normalise(" ABCDE-fghjk "), "abcdefghjk");
        assert_eq!(normalise(&codes[0]).len(), 10);
    }
}
