//! The staff web app and the residents' pages, served by the daemon when `[web] listen` is set.
//!
//! Thin callers in the shape of axum's examples: shared state ([`Web`]), extractors for the
//! signed-in person ([`auth::Staff`]), one error type that becomes a page ([`WebError`]).
//! Handlers read through the store and change cases only through the case core, exactly as the
//! CLI does; they hold no SQL. Pages are server-rendered HTML (minijinja, auto-escaped) that work
//! without JavaScript; templates and the style sheet are embedded in the binary.
//!
//! Files: [`auth`] (sign-in, sessions, CSRF, roles), [`pages`] (lists, a case, dashboard, report,
//! outbox, downloads), [`forms`] (a handler's actions on a case), [`residents`] (the private
//! read-only page), [`view`] (templates and how values are shown).

pub mod auth;
pub mod forms;
pub mod metrics;
pub mod pages;
pub mod residents;
pub mod view;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::broadcast;

use crate::app::App;
use crate::case::CaseError;
use crate::clock::Clock;
use crate::store::StoreError;

/// What every handler shares.
#[derive(Clone)]
pub struct Web {
    pub app: Arc<App>,
    pub clock: Clock,
    pub limiter: Arc<auth::SignInLimiter>,
    pub view: Arc<view::View>,
    /// Woken when an action queues a letter, so the outbox worker sends it at once.
    pub letters_queued: Arc<tokio::sync::Notify>,
}

impl Web {
    /// The state for `app`.
    pub fn new(app: Arc<App>, clock: Clock) -> Web {
        Web {
            app,
            clock,
            limiter: Arc::new(auth::SignInLimiter::default()),
            view: Arc::new(view::View::new()),
            letters_queued: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// The same state, waking `outbox` whenever an action queues a letter.
    pub fn waking(self, outbox: Arc<tokio::sync::Notify>) -> Web {
        Web {
            letters_queued: outbox,
            ..self
        }
    }
}

/// Every route. Only sign-in, the residents' pages, the style sheet and `/healthz` are open
/// without signing in.
pub fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(pages::my_cases))
        .route("/cases", get(pages::all_cases))
        .route("/cases/{reference}", get(pages::case_page))
        .route(
            "/cases/{reference}/messages/{id}/original.eml",
            get(pages::raw_message),
        )
        .route(
            "/cases/{reference}/messages/{id}/attachments/{n}",
            get(pages::attachment),
        )
        .route("/cases/{reference}/{action}", post(forms::act_on_case))
        .route(
            "/new",
            get(forms::new_complaint_page).post(forms::new_complaint),
        )
        .route("/dashboard", get(pages::dashboard))
        .route("/report", get(pages::report))
        .route("/report.csv", get(pages::report_csv))
        .route("/outbox", get(pages::outbox))
        .route("/outbox/{id}/{action}", post(forms::outbox_action))
        .route("/users", get(pages::users).post(forms::user_action))
        .route("/signin", get(auth::sign_in_page).post(auth::sign_in))
        .route("/signout", post(auth::sign_out))
        .route("/r/{token}", get(residents::resident_page))
        .route("/static/style.css", get(view::style_sheet))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics::metrics))
        .layer(axum::middleware::map_response(view::security_headers))
        .with_state(web)
}

/// Binds the configured address, or `None` when the web app is off.
pub async fn bind(app: &App) -> Result<Option<tokio::net::TcpListener>, std::io::Error> {
    let Some(settings) = &app.rules.settings.web else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "cannot listen on {} (web.listen): {e}; choose a free port or stop what holds it",
                    settings.listen
                ),
            )
        })?;
    tracing::info!(listen = %settings.listen, "web app listening");
    Ok(Some(listener))
}

/// Serves the web app on `listener` until `shutdown` fires; requests in progress finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    web: Web,
    mut shutdown: broadcast::Receiver<()>,
) -> Result<(), std::io::Error> {
    let service = router(web).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            let _ = shutdown.recv().await;
        })
        .await
}

/// `/healthz`: 200 when the database answers.
async fn healthz(axum::extract::State(web): axum::extract::State<Web>) -> Response {
    match web.app.store.ping().await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: the database does not answer");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

/// Why a request was not served: each becomes a page a person can read.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("sign in to continue")]
    SignIn { next: String },
    #[error("your account may not do this")]
    Forbidden,
    #[error("the form has expired: go back, reload the page and try again")]
    BadToken,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the page could not be drawn: {0}")]
    View(#[from] minijinja::Error),
    #[error(transparent)]
    Export(#[from] crate::report::ExportError),
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = match &self {
            WebError::SignIn { next } => {
                let next = url_encode(next);
                return axum::response::Redirect::to(&format!("/signin?next={next}"))
                    .into_response();
            }
            WebError::Forbidden | WebError::BadToken => StatusCode::FORBIDDEN,
            WebError::NotFound | WebError::Case(CaseError::NoSuchCase(_)) => StatusCode::NOT_FOUND,
            WebError::Store(StoreError::NoSuchCase(_)) => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) | WebError::Case(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Store(_) | WebError::View(_) | WebError::Export(_) => {
                tracing::error!(error = %self, "web request failed");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message = match status {
            StatusCode::INTERNAL_SERVER_ERROR => {
                "Something went wrong on our side; it has been logged. Try again shortly.".into()
            }
            _ => self.to_string(),
        };
        (status, view::View::error_page(status, &message)).into_response()
    }
}

/// `text` safe in a URL's query.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
