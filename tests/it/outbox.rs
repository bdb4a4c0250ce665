//! Sending that survives a refusing SMTP server: a letter stays queued, is retried after the
//! backoff and is marked sent only once the server accepted it.

use redress::clock::Clock;
use redress::daemon::run_once;

use crate::support::*;

/// A refusing SMTP server: the receipt stays queued with the error, is retried after the backoff,
/// and is marked sent only once the server accepted it.
#[tokio::test(flavor = "multi_thread")]
async fn a_receipt_is_retried_until_the_server_accepts_it() {
    let env = TestEnv::new();
    let good = std::fs::read_to_string(&env.config_path).expect("config");
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    std::fs::write(
        &env.config_path,
        good.replacen(
            &format!("port = {}", env.stack.smtp_port),
            &format!("port = {closed_port}"),
            1,
        ),
    )
    .expect("write");
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("retry-{}", env.customer),
            "Fence",
            "Broken fence.",
        ),
        None,
    )
    .await;
    let start = at("2026-11-23T10:00:00Z");
    {
        let app = env.app().await;
        let report = run_once(&app, &env.sender(), &Clock::starting_at(start))
            .await
            .expect("pass");
        assert_eq!((report.pass.new_cases, report.letters_sent), (1, 0));
        assert_eq!(app.store.count_letters("pending").await.expect("count"), 1);
        let case = &app.store.list_cases(1).await.expect("list")[0];
        let letter = &app
            .store
            .case_detail(&case.reference)
            .await
            .expect("detail")
            .letters[0];
        assert_eq!(letter.attempts, 1);
        // Before the backoff has passed nothing is tried again.
        let report = run_once(
            &app,
            &env.sender(),
            &Clock::starting_at(start + chrono::Duration::seconds(30)),
        )
        .await
        .expect("pass");
        assert_eq!(report.letters_sent, 0);
        assert_eq!(
            app.store
                .case_detail(&case.reference)
                .await
                .expect("detail")
                .letters[0]
                .attempts,
            1
        );
        app.store.close().await;
    }
    std::fs::write(&env.config_path, &good).expect("write");
    let app = env.app().await;
    let report = run_once(
        &app,
        &env.sender(),
        &Clock::starting_at(start + chrono::Duration::minutes(2)),
    )
    .await
    .expect("pass");
    assert_eq!(report.letters_sent, 1);
    assert_eq!(app.store.count_letters("sent").await.expect("count"), 1);
    env.wait_for_mails(&env.customer, "INBOX", 1).await;
}

/// Issue 14 (3): a letter is marked sent alone the moment the server takes it; a crash before
/// its copy and events were recorded leaves it sent, and the next start finishes the record
/// without sending it again.
#[tokio::test]
async fn a_sent_letter_whose_recording_was_cut_short_is_recorded_not_resent() {
    use crate::support::fakes::FakeWorld;
    use redress::case::model::Event;
    let world = FakeWorld::new("").await;
    let now = at("2026-11-23T10:00:00Z");
    let raw = complaint(
        &world.customer,
        &world.complaints,
        &format!("cut-{}", world.customer),
        "Broken boiler",
        "Nobody came; I want to complain.",
    );
    redress::intake::ingest(&world.app, &raw, None, now)
        .await
        .expect("ingest");
    let store = &world.app.store;
    let letter = store
        .claim_letter(now, now + chrono::Duration::seconds(55))
        .await
        .expect("claim")
        .expect("the receipt");
    // The server took it; the process died before anything else was written.
    store
        .mark_letter_accepted(letter.id, now)
        .await
        .expect("mark");

    let sent = redress::deliver::outbox::drain(&world.app, &world.sender, &Clock::starting_at(now))
        .await
        .expect("drain");
    assert_eq!(sent, 0);
    assert!(world.sender.sent().is_empty(), "not sent a second time");
    let reference = store.list_cases(1).await.expect("cases")[0]
        .reference
        .clone();
    let detail = store.case_detail(&reference).await.expect("detail");
    assert!(
        detail
            .messages
            .iter()
            .any(|m| m.direction == "out" && m.message_id == letter.message_id),
        "the copy of the letter is with the case's mail"
    );
    assert!(
        detail
            .events
            .iter()
            .any(|e| matches!(e.event(), Some(Event::LetterSent { .. }))),
        "the letter's sending is on the record"
    );
    assert!(
        store
            .letters_sent_unrecorded()
            .await
            .expect("left")
            .is_empty()
    );
}
