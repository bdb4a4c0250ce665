//! `/metrics`: Prometheus's text format (prometheus-client), read from the store at each scrape
//! so every instance reports the same figures. Counts only, no personal data; answered only to
//! the addresses in `web.metrics_from` (loopback by default).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{Web, WebError};
use crate::store::health::Component;

type Labelled = Family<Vec<(String, String)>, Gauge>;

/// `GET /metrics`.
pub async fn metrics(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, WebError> {
    let allowed = web
        .app
        .rules
        .settings
        .web
        .as_ref()
        .is_some_and(|w| w.metrics_from.contains(&peer.ip()));
    if !allowed {
        return Ok((
            StatusCode::FORBIDDEN,
            "metrics are not served to this address (web.metrics_from)\n",
        )
            .into_response());
    }
    let now = web.clock.now();
    let soon = web.app.rules.calendar.deadline_after(now, 5);
    let counts = web.app.store.counts(now, soon).await?;
    let fetch = web.app.store.health(Component::Fetch).await?;
    let mut registry = Registry::with_prefix("redress");
    let gauge = |value: i64| {
        let g = Gauge::<i64>::default();
        g.set(value);
        g
    };
    registry.register(
        "mails_fetched",
        "Mails read from the mailbox and recorded",
        gauge(counts.mails_fetched),
    );
    let cases = Labelled::default();
    for (kind, n) in &counts.cases_by_kind {
        cases
            .get_or_create(&vec![("kind".into(), kind.clone())])
            .set(*n);
    }
    registry.register("cases_opened", "Cases on record, by kind", cases);
    let letters = Labelled::default();
    for (status, n) in &counts.letters_by_status {
        letters
            .get_or_create(&vec![("status".into(), status.clone())])
            .set(*n);
    }
    registry.register(
        "letters",
        "Letters by status (sent, pending, failed, to_post, cancelled)",
        letters,
    );
    let pending = counts
        .letters_by_status
        .iter()
        .find(|(s, _)| s == "pending")
        .map_or(0, |(_, n)| *n);
    registry.register(
        "outbox_queue_depth",
        "Letters waiting to be sent",
        gauge(pending),
    );
    let oldest = counts
        .oldest_pending_at
        .map_or(0, |t| (now - t).num_seconds().max(0));
    registry.register(
        "outbox_oldest_pending_seconds",
        "Age of the oldest letter waiting (0 when none)",
        gauge(oldest),
    );
    registry.register(
        "deadlines_overdue",
        "Open deadlines past due on open cases",
        gauge(counts.deadlines_overdue),
    );
    registry.register(
        "deadlines_due_soon",
        "Open deadlines due within 5 working days",
        gauge(counts.deadlines_due_soon),
    );
    let last_fetch = fetch
        .last_ok_at
        .map_or(-1, |t| (now - t).num_seconds().max(0));
    registry.register(
        "last_fetch_age_seconds",
        "Seconds since the mailbox was last read (-1: never)",
        gauge(last_fetch),
    );
    let mut text = String::new();
    encode(&mut text, &registry).map_err(|e| WebError::BadRequest(format!("metrics: {e}")))?;
    Ok((
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
