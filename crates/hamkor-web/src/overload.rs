//! Overload: beyond its capacity the server answers 503 with `Retry-After` at once instead
//! of queueing without bound, and a request that found the database busy is answered the
//! same way, never with a 500 or the database's own message.
//!
//! - [`limit`] admits at most `max_concurrent_requests` requests at once (each of them may
//!   wait for a database connection, at most the pool's acquire timeout); one more is
//!   refused before any work is done. `/healthz`, `/readyz` and `/metrics` are outside
//!   the limit.
//! - [`busy_to_503`] turns a 500 into a 503 when the request met a busy database
//!   (`hamkor_store::overload`), whatever the handler made of the error on the way.

use crate::error::ApiError;
use crate::i18n::Loc;
use crate::ui::{Frame, message};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use tokio::sync::Semaphore;

/// `Retry-After` of a request refused because too many are in flight.
pub const SHED_RETRY_SECS: u64 = 1;

/// The default of `max_concurrent_requests`.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 128;

/// The requests in flight, shared by every route under the limit.
#[derive(Clone)]
pub struct Limit(Arc<Semaphore>);

impl Limit {
    pub fn new(max: usize) -> Self {
        Limit(Arc::new(Semaphore::new(max.max(1))))
    }
}

/// Serves the request if fewer than the limit are in flight; otherwise 503 at once.
pub async fn limit(State(limit): State<Limit>, req: Request, next: Next) -> Response {
    let Ok(permit) = limit.0.clone().try_acquire_owned() else {
        metrics::counter!("hamkor_http_requests_shed_total").increment(1);
        return busy_response(req.headers(), req.uri().path(), SHED_RETRY_SECS);
    };
    let resp = next.run(req).await;
    drop(permit);
    resp
}

/// Runs the request watching for a busy database; a 500 it ended in becomes a 503 with
/// `Retry-After`, with a body that says so (not the handler's, which may say more).
pub async fn busy_to_503(req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let path = req.uri().path().to_string();
    let (resp, busy) = hamkor_store::overload::watch(next.run(req)).await;
    if busy && resp.status() == StatusCode::INTERNAL_SERVER_ERROR {
        return busy_response(&headers, &path, hamkor_app::BUSY_RETRY_SECS);
    }
    resp
}

/// A 503 for the API (problem JSON) or the web UI (a page in the caller's language).
pub fn busy_response(headers: &HeaderMap, path: &str, secs: u64) -> Response {
    if path.starts_with("/api/") {
        ApiError::busy(secs).into_response()
    } else {
        let loc = Loc::new(crate::auth::request_lang(headers, None));
        busy_page(Frame::anonymous(loc), secs)
    }
}

/// The web UI's 503 page, with `Retry-After`.
pub fn busy_page(frame: Frame, secs: u64) -> Response {
    let loc = frame.loc;
    let mut resp = message(
        frame,
        StatusCode::SERVICE_UNAVAILABLE,
        loc.t("busy-title"),
        loc.t("busy-text"),
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}
