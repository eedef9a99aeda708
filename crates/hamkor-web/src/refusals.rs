//! Authorisation refusals in the audit log (I3). Every request answered 403 — a right the
//! caller lacks, a failed CSRF check, a role that must first set up 2FA — is written to the
//! audit log with who (when known), when, from where, the method and the path. It is done
//! here, around every route, so a handler cannot forget it.
//!
//! A caller hammering refused requests would otherwise fill the log: each caller (a user,
//! or an address before login) gets at most [`PER_MINUTE`] entries a minute, and the first
//! entry after a quiet spell says how many were left out.

use crate::AppState;
use crate::auth::origin_of;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use hamkor_domain::Id;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Refusal entries written per caller and minute.
pub const PER_MINUTE: u32 = 30;
const WINDOW: Duration = Duration::from_secs(60);

/// Where authentication leaves the caller's id for [`audit_refusals`] to read.
#[derive(Clone, Default)]
pub(crate) struct CallerSlot(Arc<OnceLock<Id>>);

/// Notes the authenticated caller of this request (for the refusal entry).
pub(crate) fn note_caller(parts: &Parts, user: Id) {
    if let Some(slot) = parts.extensions.get::<CallerSlot>() {
        let _ = slot.0.set(user);
    }
}

#[derive(Default)]
struct Window {
    start: Option<Instant>,
    written: u32,
    left_out: u32,
}

/// How many refusal entries each caller has had this minute.
pub struct Throttle {
    per_minute: u32,
    windows: Mutex<HashMap<String, Window>>,
}

impl Throttle {
    pub fn new(per_minute: u32) -> Throttle {
        Throttle {
            per_minute,
            windows: Mutex::default(),
        }
    }

    /// Whether to write an entry for `key` now; if so, how many were left out before it.
    fn admit(&self, key: String, now: Instant) -> Option<u32> {
        let mut map = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 10_000 {
            map.retain(|_, w| w.start.is_some_and(|s| now.duration_since(s) < WINDOW));
        }
        let w = map.entry(key).or_default();
        if w.start.is_none_or(|s| now.duration_since(s) >= WINDOW) {
            w.start = Some(now);
            w.written = 0;
        }
        if w.written >= self.per_minute {
            w.left_out += 1;
            return None;
        }
        w.written += 1;
        Some(std::mem::take(&mut w.left_out))
    }
}

/// Paths whose last part is a secret (a setup or reset link, a calendar feed, a public
/// form): the secret never reaches the log.
const SECRET_TAILS: &[&str] = &["/setup/", "/reset/", "/ical/", "/f/"];

/// The path as the audit log keeps it: without a secret it carries.
fn redacted(path: &str) -> String {
    for prefix in SECRET_TAILS {
        if let Some(rest) = path.strip_prefix(prefix)
            && !rest.is_empty()
        {
            return format!("{prefix}…");
        }
    }
    path.to_string()
}

/// Writes an audit entry for each request answered 403.
pub async fn audit_refusals(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let slot = CallerSlot::default();
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(slot.clone());
    let method = parts.method.to_string();
    let path = redacted(parts.uri.path());
    let origin = origin_of(&parts, &state);
    let response = next.run(Request::from_parts(parts, body)).await;
    if response.status() != StatusCode::FORBIDDEN {
        return response;
    }
    let user = slot.0.get().copied();
    let key = match (user, &origin.ip) {
        (Some(u), _) => u.to_string(),
        (None, Some(ip)) => ip.clone(),
        (None, None) => "-".to_string(),
    };
    if let Some(left_out) = state.refusals.admit(key, Instant::now())
        && let Err(e) = state
            .app
            .audit_refusal(user, &origin, &method, &path, left_out)
            .await
    {
        // The refusal stands; only its record is missing.
        tracing::warn!(error = %e, "a refused request could not be audited");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_paths_are_left_out() {
        assert_eq!(redacted("/reset/abc123"), "/reset/…");
        assert_eq!(redacted("/setup/abc123"), "/setup/…");
        assert_eq!(redacted("/ical/abc123"), "/ical/…");
        assert_eq!(redacted("/f/abc123"), "/f/…");
        assert_eq!(redacted("/api/v1/accounts/x"), "/api/v1/accounts/x");
        assert_eq!(redacted("/forgot"), "/forgot");
    }

    #[test]
    fn each_caller_gets_a_budget_a_minute_and_hears_of_what_was_left_out() {
        let t = Throttle::new(PER_MINUTE);
        let start = Instant::now();
        for _ in 0..PER_MINUTE {
            assert_eq!(t.admit("a".into(), start), Some(0));
        }
        assert_eq!(t.admit("a".into(), start), None);
        assert_eq!(t.admit("a".into(), start + Duration::from_secs(59)), None);
        // Another caller is not held back by the first.
        assert_eq!(t.admit("b".into(), start), Some(0));
        // A minute on, the first entry says how many were left out.
        assert_eq!(t.admit("a".into(), start + WINDOW), Some(2));
        assert_eq!(t.admit("a".into(), start + WINDOW), Some(0));
    }
}
