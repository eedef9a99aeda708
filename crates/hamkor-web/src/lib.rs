//! Hamkor's HTTP face: the REST API under `/api/v1`, the server-rendered web UI, and the
//! operations endpoints. Handlers are thin: parse, call the app, render.

pub mod api;
pub mod auth;
pub mod error;
pub mod export;
pub mod files;
pub mod i18n;
pub mod ops;
pub mod overload;
pub mod refusals;
pub mod ui;

use axum::Router;
use hamkor_app::App;
use std::sync::Arc;
use std::time::Duration;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Settings the web layer needs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Used in links and to decide whether cookies are `Secure`.
    pub base_url: String,
    /// The largest file that may be attached to a record.
    pub max_upload_bytes: usize,
    /// Proxies whose `X-Forwarded-For` is believed (see [`auth::client_ip`]).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests served at once; one more is answered 503 with `Retry-After` at once
    /// (see [`overload`]).
    pub max_concurrent_requests: usize,
    /// Refused requests written to the audit log per caller and minute (see [`refusals`]).
    pub refusals_audited_per_minute: u32,
}

/// Shared by all handlers.
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<WebConfig>,
    /// How many refused requests each caller has had audited this minute.
    pub refusals: Arc<refusals::Throttle>,
}

impl AppState {
    pub fn secure_cookies(&self) -> bool {
        self.config.base_url.starts_with("https://")
    }
}

/// How long a request may take before it is answered 408.
const REQUEST_DEADLINE: Duration = Duration::from_secs(30);
/// How long an import's upload may take: a file of hundreds of megabytes over a slow
/// line takes minutes. Its bytes must keep coming ([`UPLOAD_STALL`]).
const UPLOAD_DEADLINE: Duration = Duration::from_secs(3600);
/// How long an import's upload may go without a byte before it is refused.
pub const UPLOAD_STALL: Duration = Duration::from_secs(30);

/// Whether a request uploads a file to import (the API's raw body, or the web form).
fn is_import_upload(req: &axum::extract::Request) -> bool {
    req.method() == axum::http::Method::POST
        && matches!(req.uri().path(), "/api/v1/imports" | "/imports")
}

/// Answers 408 to a request that takes longer than [`REQUEST_DEADLINE`], or an import's
/// upload longer than [`UPLOAD_DEADLINE`].
async fn deadline(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let limit = if is_import_upload(&req) {
        UPLOAD_DEADLINE
    } else {
        REQUEST_DEADLINE
    };
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => axum::http::StatusCode::REQUEST_TIMEOUT.into_response(),
    }
}

/// The whole router: API, UI, assets and operations endpoints.
pub fn router(app: App, config: WebConfig) -> Router {
    let max_upload = config.max_upload_bytes;
    let state = AppState {
        app,
        refusals: Arc::new(refusals::Throttle::new(config.refusals_audited_per_minute)),
        config: Arc::new(config),
    };
    let limit = overload::Limit::new(state.config.max_concurrent_requests);
    let request_id = axum::http::HeaderName::from_static("x-request-id");
    Router::new()
        .merge(files::routes(max_upload))
        .merge(api::routes())
        .merge(ui::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            refusals::audit_refusals,
        ))
        .layer(axum::middleware::from_fn_with_state(limit, overload::limit))
        // Outside the limit: a load balancer's checks and the monitoring still answer.
        .merge(ops::routes())
        .layer(axum::middleware::from_fn(overload::busy_to_503))
        .layer(axum::middleware::from_fn(ops::track_metrics))
        .layer(axum::middleware::from_fn(ui::security_headers))
        .layer(axum::extract::DefaultBodyLimit::max(2 * 1024 * 1024))
        .layer(axum::middleware::from_fn(deadline))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}
