//! Is redress well, and who is told when it is not: `redress health`'s verdict, the alerts to
//! the complaints manager and the operator (once when it starts, once when it recovers), and
//! `/metrics`. On fakes, then end to end: the mailbox password changes on the server under a
//! running daemon.

use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use redress::clock::Clock;
use redress::health::{Level, alert_pass, assess};
use redress::store::health::Component;
use redress::web::{Web, router};
use tower::ServiceExt;

use crate::support::fakes::FakeWorld;
use crate::support::*;

const MANAGER: &str = "complaints.manager@landlord.test";
const OPERATOR: &str = "ops@landlord.test";

async fn world() -> FakeWorld {
    FakeWorld::new(&format!(
        "[routing]\ncomplaints_manager = \"{MANAGER}\"\n[health]\nalert_after = \"30m\"\noperator = \"{OPERATOR}\"\n[web]\nlisten = \"127.0.0.1:0\"\n"
    ))
    .await
}

#[tokio::test]
async fn the_verdict_follows_the_last_read_of_the_mailbox() {
    let world = world().await;
    let t0 = at("2026-11-23T10:00:00Z");
    let fresh = assess(&world.app, t0).await.expect("verdict");
    assert_eq!(fresh.level, Level::Warning, "{}", fresh.summary());
    world
        .app
        .store
        .record_success(Component::Fetch, t0)
        .await
        .expect("ok");
    assert_eq!(
        assess(&world.app, t0 + chrono::Duration::minutes(1))
            .await
            .expect("verdict")
            .level,
        Level::Ok
    );
    world
        .app
        .store
        .record_failure(
            Component::Fetch,
            "imap.example.test:993: [AUTHENTICATIONFAILED]",
            t0 + chrono::Duration::minutes(5),
        )
        .await
        .expect("failure");
    let later = assess(&world.app, t0 + chrono::Duration::minutes(31))
        .await
        .expect("verdict");
    assert_eq!(later.level, Level::Critical);
    assert!(later.summary().starts_with("CRITICAL: mailbox last read 31 min ago (failing: imap.example.test:993: [AUTHENTICATIONFAILED])"), "{}", later.summary());
}

#[tokio::test]
async fn people_are_told_once_when_it_fails_and_once_when_it_recovers() {
    let world = world().await;
    let t0 = at("2026-11-23T10:00:00Z");
    let app = &world.app;
    app.store
        .record_failure(Component::Fetch, "cannot log in", t0)
        .await
        .expect("failure");
    assert_eq!(
        alert_pass(app, t0 + chrono::Duration::minutes(29))
            .await
            .expect("pass"),
        0,
        "not before alert_after"
    );
    assert_eq!(
        alert_pass(app, t0 + chrono::Duration::minutes(31))
            .await
            .expect("pass"),
        2,
        "the manager and the operator"
    );
    app.store
        .record_failure(
            Component::Fetch,
            "cannot log in",
            t0 + chrono::Duration::minutes(40),
        )
        .await
        .expect("failure");
    assert_eq!(
        alert_pass(app, t0 + chrono::Duration::minutes(45))
            .await
            .expect("pass"),
        0,
        "told once"
    );
    app.store
        .record_success(Component::Fetch, t0 + chrono::Duration::minutes(50))
        .await
        .expect("ok");
    assert_eq!(
        alert_pass(app, t0 + chrono::Duration::minutes(51))
            .await
            .expect("pass"),
        2,
        "told it recovered"
    );
    assert_eq!(
        alert_pass(app, t0 + chrono::Duration::minutes(52))
            .await
            .expect("pass"),
        0
    );
    let letters = app.store.unsent_letters().await.expect("outbox");
    assert_eq!(letters.iter().filter(|l| l.kind == "alert").count(), 4);
}

#[tokio::test]
async fn metrics_are_served_to_loopback_only() {
    let mut world = world().await;
    let t0 = at("2026-11-23T10:00:00Z");
    let mail = complaint(
        &world.customer,
        &world.complaints,
        "metrics-1@example.test",
        "Broken boiler",
        "The boiler is broken and nobody came; I want to complain.",
    );
    world.mailbox.deliver(&mail, t0);
    world.pass(t0).await;
    let router = router(Web::new(
        std::sync::Arc::new(world.app.acting_as("redress")),
        Clock::starting_at(t0),
    ));
    let scrape = |peer: &str| {
        let mut request = Request::get("/metrics")
            .body(Body::empty())
            .expect("request");
        request.extensions_mut().insert(ConnectInfo(
            peer.parse::<std::net::SocketAddr>().expect("peer"),
        ));
        router.clone().oneshot(request)
    };
    // Every letter the pass sent (the receipt and the owners' notices) counts as sent.
    let sent = world.sender.sent().len();
    assert!(sent >= 1);
    let response = scrape("127.0.0.1:9090").await.expect("response");
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec(),
    )
    .expect("utf-8");
    assert!(
        text.contains(&format!("redress_letters{{status=\"sent\"}} {sent}")),
        "{text}"
    );
    for line in [
        "redress_mails_fetched 1",
        "redress_cases_opened{kind=\"complaint\"} 1",
        "redress_outbox_queue_depth 0",
        "redress_last_fetch_age_seconds 0",
        "redress_deadlines_overdue 0",
    ] {
        assert!(text.contains(line), "missing `{line}` in\n{text}");
    }
    assert!(!text.contains(&world.customer), "no personal data");
    assert_eq!(
        scrape("198.51.100.1:9090")
            .await
            .expect("response")
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_changed_on_the_server_turns_health_critical_and_the_manager_is_mailed() {
    let manager = unique_address("manager");
    let env = TestEnv::with(
        Db::Sqlite,
        &format!(
            "[routing]\ncomplaints_manager = \"{manager}\"\n[health]\nfetch_warning = \"3s\"\nfetch_critical = \"4s\"\nalert_after = \"2s\"\n"
        ),
    );
    ok(&env.redress(&["run", "--once"]));
    let healthy = env.redress(&["health"]);
    assert_eq!(
        healthy.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&healthy.stdout)
    );
    // The password is changed on the server: what redress holds no longer works.
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    std::fs::write(
        &env.config_path,
        config.replacen(
            "password = \"secret\"",
            "password = \"changed-on-the-server\"",
            1,
        ),
    )
    .expect("config");
    let daemon = env.daemon();
    let alert = env
        .wait_for_subject(
            &manager,
            "INBOX",
            "Alert: the complaints mailbox cannot be read",
        )
        .await;
    assert!(
        alert.text_body.contains("AUTHENTICATIONFAILED") || alert.text_body.contains("password"),
        "{}",
        alert.text_body
    );
    // Critical once the last good read is older than fetch_critical.
    let mut unwell = env.redress(&["health"]);
    for _ in 0..50 {
        if unwell.status.code() == Some(2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        unwell = env.redress(&["health"]);
    }
    drop(daemon);
    let said = String::from_utf8_lossy(&unwell.stdout);
    assert_eq!(unwell.status.code(), Some(2), "{said}");
    assert!(said.starts_with("CRITICAL: mailbox last read"), "{said}");
}
