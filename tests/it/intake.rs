//! End to end on the real mail stack: mail in → case recorded → acknowledgement out.

use std::sync::Arc;
use std::time::Duration;

use crate::support::*;
use redress::clock::Clock;
use redress::daemon::{ingest_pass, open_mailbox, run, run_once};
use redress::intake::mail::parse;

/// A complaint sent through Postfix gets a receipt in the customer's INBOX quoting a reference,
/// threaded to the complaint, and the case holds the raw mail, its attachment and its events.
#[tokio::test(flavor = "multi_thread")]
async fn a_complaint_gets_a_receipt_with_its_reference() {
    let env = TestEnv::new();
    let raw = format!(
        "From: Jane Tenant <{c}>\r\nTo: {t}\r\nSubject: Mould in the bedroom\r\nMessage-ID: <m1-{c}>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n--xx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe mould is back and nobody came.\r\n--xx\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"wall.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n--xx--\r\n",
        c = env.customer,
        t = env.complaints
    );
    env.send(&env.customer, &env.complaints, raw.as_bytes())
        .await;
    env.wait_for_mails(&env.complaints, "INBOX", 1).await;

    let app = env.app().await;
    let report = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("one pass");
    assert_eq!(report.pass.new_cases, 1);
    assert_eq!(report.letters_sent, 1);

    let acks = env.wait_for_mails(&env.customer, "INBOX", 1).await;
    assert_eq!(acks.len(), 1);
    let ack = parse(&acks[0].raw);
    let reference = app
        .rules
        .references
        .find(&ack.subject)
        .expect("reference in subject");
    assert!(reference.starts_with("CMP-20"), "{reference}");
    assert_eq!(ack.in_reply_to, vec![format!("m1-{}", env.customer)]);
    assert!(ack.text_body.contains(&reference));
    assert!(ack.text_body.contains("Housing Ombudsman"));
    assert_eq!(ack.header("auto-submitted"), Some("auto-replied"));

    // The complaint left the INBOX for the processed folder, only after it was recorded.
    assert!(env.mails_in(&env.complaints, "INBOX").await.is_empty());
    assert_eq!(env.mails_in(&env.complaints, "Processed").await.len(), 1);

    let detail = app
        .store
        .case_detail(&reference)
        .await
        .expect("case on record");
    assert_eq!(detail.case.kind, "complaint");
    assert_eq!(
        detail.case.customer_address.as_deref(),
        Some(env.customer.as_str())
    );
    let incoming = detail
        .messages
        .iter()
        .find(|m| m.direction == "in")
        .expect("incoming kept");
    assert_eq!(incoming.attachments.len(), 1);
    assert_eq!(
        incoming.attachments[0].filename.as_deref(),
        Some("wall.png")
    );
    assert!(
        detail.messages.iter().any(|m| m.direction == "out"),
        "the receipt as sent is on record"
    );
    let raw_kept = app
        .store
        .raw_message(incoming.id)
        .await
        .expect("query")
        .expect("raw");
    assert!(String::from_utf8_lossy(&raw_kept).contains("The mould is back"));
    let kinds: Vec<&str> = detail.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"case_opened") && kinds.contains(&"letter_sent"),
        "{kinds:?}"
    );
    let kinds: Vec<&str> = detail.deadlines.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "stage1_acknowledgement",
            "stage1_response",
            "awaab_investigation"
        ],
        "the complaint's deadlines, and Awaab's Law's investigation on its own clock for a mould \
         report (the summary and safety work follow the recorded investigation)"
    );
    assert_eq!(detail.case.hazard.as_deref(), Some("possible_significant"));
    assert!(
        detail
            .case
            .themes
            .contains(&"damp, mould and condensation".to_string())
    );
}

/// A reply quoting the reference, and one answering the receipt by In-Reply-To, join the same
/// case without a second receipt.
#[tokio::test(flavor = "multi_thread")]
async fn replies_join_their_case_without_a_new_receipt() {
    let env = TestEnv::new();
    env.send(
        &env.customer,
        &env.complaints,
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("first-{}", env.customer),
            "Boiler broken",
            "No hot water.",
        ),
    )
    .await;
    env.wait_for_mails(&env.complaints, "INBOX", 1).await;
    let app = env.app().await;
    run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    let acks = env.wait_for_mails(&env.customer, "INBOX", 1).await;
    let ack = parse(&acks[0].raw);
    let reference = app.rules.references.find(&ack.subject).expect("reference");

    // A reply with the reference mangled by a mail client, and no threading headers.
    let by_subject = complaint(
        &env.customer,
        &env.complaints,
        &format!("second-{}", env.customer),
        &format!(
            "RE: [{}] still broken",
            reference.to_lowercase().replace('-', " ")
        ),
        "Any news?",
    );
    env.send(&env.customer, &env.complaints, &by_subject).await;
    // A reply to the receipt: In-Reply-To our Message-ID, subject without the reference.
    let by_thread = format!(
        "From: {c}\r\nTo: {t}\r\nSubject: thanks\r\nMessage-ID: <third-{c}>\r\nIn-Reply-To: <{ack_id}>\r\nReferences: <first-{c}> <{ack_id}>\r\n\r\nHere are the photos.\r\n",
        c = env.customer,
        t = env.complaints,
        ack_id = ack.message_id.clone().expect("our message id")
    );
    env.send(&env.customer, &env.complaints, by_thread.as_bytes())
        .await;
    env.wait_for_mails(&env.complaints, "INBOX", 2).await;

    let report = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    assert_eq!(report.pass.new_cases, 0);
    assert_eq!(report.pass.added_to_cases, 2);
    assert_eq!(report.letters_sent, 0);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        env.mails_in(&env.customer, "INBOX").await.len(),
        1,
        "no second receipt"
    );

    let detail = app.store.case_detail(&reference).await.expect("case");
    assert_eq!(
        detail
            .messages
            .iter()
            .filter(|m| m.direction == "in")
            .count(),
        3
    );
    assert_eq!(
        detail
            .events
            .iter()
            .filter(|e| e.kind == "correspondence_received")
            .count(),
        2
    );
    assert_eq!(app.store.list_cases(10).await.expect("list").len(), 1);
}

/// An out-of-office reply is recorded but never answered.
#[tokio::test(flavor = "multi_thread")]
async fn an_out_of_office_is_recorded_and_not_answered() {
    let env = TestEnv::new();
    let raw = format!(
        "From: {c}\r\nTo: {t}\r\nSubject: Automatic reply: your letter\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <ooo-{c}>\r\n\r\nI am out of the office until Monday.\r\n",
        c = env.customer,
        t = env.complaints
    );
    env.send(&env.customer, &env.complaints, raw.as_bytes())
        .await;
    env.wait_for_mails(&env.complaints, "INBOX", 1).await;
    let app = env.app().await;
    let report = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    assert_eq!(report.pass.without_case, 1);
    assert_eq!(report.pass.new_cases, 0);
    assert_eq!(report.letters_sent, 0);
    assert_eq!(
        env.mails_in(&env.complaints, "Processed").await.len(),
        1,
        "recorded and moved"
    );
    let raw = env.mails_in(&env.complaints, "Processed").await[0]
        .raw
        .clone();
    let row = app
        .store
        .find_message(
            &format!("ooo-{}", env.customer),
            &redress::intake::mail::content_hash(&raw),
            &redress::intake::mail::identity_hash(&raw),
        )
        .await
        .expect("query");
    assert!(row.is_some(), "the auto-reply is on record");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        env.mails_in(&env.customer, "INBOX").await.is_empty(),
        "no answer to a robot"
    );
}

/// Bytes mail-parser cannot make sense of are kept raw and open a case flagged for a person.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_mail_is_kept_and_flagged() {
    let env = TestEnv::new();
    let garbage: Vec<u8> =
        b"\x00\x01\xfe\xff garbled bytes from a broken gateway \x80\x81\r\n\r\n\x00".to_vec();
    env.append(&garbage, None).await;
    let app = env.app().await;
    let report = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    assert_eq!(report.pass.new_cases, 1);
    assert_eq!(report.pass.needs_attention, 1);
    assert_eq!(report.letters_sent, 0);
    let cases = app.store.list_cases(10).await.expect("list");
    assert_eq!(cases.len(), 1);
    assert!(cases[0].needs_attention);
    assert!(
        cases[0]
            .attention_reason
            .as_deref()
            .unwrap_or("")
            .contains("could not be read")
    );
    let detail = app
        .store
        .case_detail(&cases[0].reference)
        .await
        .expect("case");
    let raw = app
        .store
        .raw_message(detail.messages[0].id)
        .await
        .expect("query")
        .expect("raw");
    assert!(
        raw.windows(14).any(|w| w == b"garbled bytes "),
        "the raw bytes are kept"
    );
    assert_eq!(env.mails_in(&env.complaints, "Processed").await.len(), 1);
}

/// The same mail twice (a client that re-sent it, or a crash before the move) makes one case.
#[tokio::test(flavor = "multi_thread")]
async fn a_mail_seen_twice_makes_one_case() {
    let env = TestEnv::new();
    let raw = complaint(
        &env.customer,
        &env.complaints,
        &format!("dup-{}", env.customer),
        "Noise",
        "The neighbours again.",
    );
    env.append(&raw, None).await;
    env.append(&raw, None).await;
    let app = env.app().await;
    let report = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    assert_eq!((report.pass.new_cases, report.pass.duplicates), (1, 1));
    assert_eq!(report.letters_sent, 1);
    // And again later, after the first copy was processed.
    env.append(&raw, None).await;
    let again = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    assert_eq!(
        (
            again.pass.new_cases,
            again.pass.duplicates,
            again.letters_sent
        ),
        (0, 1, 0)
    );
    assert_eq!(app.store.list_cases(10).await.expect("list").len(), 1);
}

/// A restart between ingest and send: the queued receipt survives and goes out exactly once,
/// even when `run --once` runs twice afterwards as separate processes.
#[tokio::test(flavor = "multi_thread")]
async fn a_restart_between_ingest_and_send_sends_the_receipt_once() {
    let env = TestEnv::new();
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("r-{}", env.customer),
            "Rent account wrong",
            "Charged twice.",
        ),
        None,
    )
    .await;
    {
        let app = env.app().await;
        let mut client = open_mailbox(&app).await.expect("imap");
        let report = ingest_pass(&app, &mut client, &Clock::system())
            .await
            .expect("ingest only");
        assert_eq!(report.new_cases, 1);
        assert_eq!(app.store.count_letters("pending").await.expect("count"), 1);
        app.store.close().await;
        // The process "dies" here: nothing was sent.
    }
    for _ in 0..2 {
        let out = env.redress(&["run", "--once"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let acks = env.wait_for_mails(&env.customer, "INBOX", 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        env.mails_in(&env.customer, "INBOX").await.len(),
        1,
        "exactly one receipt"
    );
    assert!(parse(&acks[0].raw).subject.contains("CMP-"));
}

/// The server's INTERNALDATE, not the time redress saw the mail, starts the Code's clock.
/// (Dovecot refuses an INTERNALDATE in the future, so the test replays a past one.)
#[tokio::test(flavor = "multi_thread")]
async fn deadlines_count_from_the_servers_receipt_time() {
    let env = TestEnv::new();
    // Friday 20 November 2026 at 17:30 London: after close of business, so it counts from Monday.
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("late-{}", env.customer),
            "Repairs",
            "Still waiting.",
        ),
        Some(at("2026-11-20T17:30:00Z")),
    )
    .await;
    let app = env.app().await;
    run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    let case = &app.store.list_cases(1).await.expect("list")[0];
    assert_eq!(case.received_at, at("2026-11-20T17:30:00Z"));
    let deadlines = app.store.deadlines_of(case.id).await.expect("deadlines");
    let ack = deadlines
        .iter()
        .find(|d| d.kind == "stage1_acknowledgement")
        .expect("ack deadline");
    // Effective receipt Monday 23 Nov; + 5 working days → Monday 30 November, 17:00 GMT.
    assert_eq!(ack.due_at, at("2026-11-30T17:00:00Z"));
    let response = deadlines
        .iter()
        .find(|d| d.kind == "stage1_response")
        .expect("response deadline");
    assert_eq!(response.due_at, at("2026-12-14T17:00:00Z"));
    let acks = env.wait_for_mails(&env.customer, "INBOX", 1).await;
    let body = parse(&acks[0].raw).text_body;
    assert!(body.contains("Monday 30 November 2026"), "{body}");
    assert!(body.contains("Monday 14 December 2026"), "{body}");
}

/// The daemon: IDLE wakes it for new mail, the receipt goes out, and SIGTERM-style shutdown
/// returns once both tasks have stopped.
#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_answers_new_mail_and_stops_on_shutdown() {
    let env = TestEnv::new();
    let app = Arc::new(env.app().await);
    let (shutdown, _) = tokio::sync::broadcast::channel(1);
    let daemon = tokio::spawn(run(
        app.clone(),
        Arc::new(env.sender()),
        Clock::system(),
        shutdown.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.send(
        &env.customer,
        &env.complaints,
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("d-{}", env.customer),
            "Lift broken",
            "Third week.",
        ),
    )
    .await;
    let acks = env.wait_for_mails(&env.customer, "INBOX", 1).await;
    assert!(parse(&acks[0].raw).subject.contains("CMP-"));
    shutdown.send(()).expect("signal");
    tokio::time::timeout(Duration::from_secs(10), daemon)
        .await
        .expect("daemon stops promptly")
        .expect("task")
        .expect("clean exit");
}

/// IMAP over TLS verifies the server's certificate: trusted with the test CA, refused without.
#[tokio::test(flavor = "multi_thread")]
async fn imap_tls_verifies_the_certificate() {
    let env = TestEnv::new();
    let mut settings = env.mailbox_of(&env.complaints, "INBOX");
    settings.host = "localhost".into();
    settings.port = env.stack.imaps_port;
    settings.security = redress::config::Security::Tls;
    let refused = redress::intake::mailbox::MailboxClient::connect(&settings).await;
    assert!(refused.is_err(), "an unknown CA must be refused");
    settings.ca_file = Some(env.stack.ca_file.clone());
    let client = redress::intake::mailbox::MailboxClient::connect(&settings)
        .await
        .expect("trusted with the CA");
    client.logout().await.expect("logout");
}

/// The same flow on PostgreSQL.
#[tokio::test(flavor = "multi_thread")]
async fn the_intake_loop_runs_on_postgresql() {
    let url = postgres_database().await;
    let env = TestEnv::with(Db::Postgres(url), "");
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("pg-{}", env.customer),
            "Heating",
            "Cold flat.",
        ),
        None,
    )
    .await;
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("pg-{}", env.customer),
            "Heating",
            "Cold flat.",
        ),
        None,
    )
    .await;
    let app = env.app().await;
    let report = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    assert_eq!(
        (
            report.pass.new_cases,
            report.pass.duplicates,
            report.letters_sent
        ),
        (1, 1, 1)
    );
    let acks = env.wait_for_mails(&env.customer, "INBOX", 1).await;
    let reference = app
        .rules
        .references
        .find(&parse(&acks[0].raw).subject)
        .expect("reference");
    let detail = app.store.case_detail(&reference).await.expect("case");
    assert_eq!(detail.letters[0].status, "sent");
}

/// With `acknowledgement = "automatic"` the receipt is the Code's acknowledgement: it says so,
/// the response is due 10 working days from it, and sending it is recorded as the acknowledgement.
#[tokio::test(flavor = "multi_thread")]
async fn the_automatic_receipt_can_be_the_acknowledgement() {
    let env = TestEnv::with(Db::Sqlite, "[deadlines]\nacknowledgement = \"automatic\"\n");
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("auto-{}", env.customer),
            "Repairs",
            "Nobody came.",
        ),
        Some(at("2026-11-20T10:00:00Z")),
    )
    .await;
    let app = env.app().await;
    run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    let case = &app.store.list_cases(1).await.expect("list")[0];
    let detail = app
        .store
        .case_detail(&case.reference)
        .await
        .expect("detail");
    let kinds: Vec<&str> = detail.deadlines.iter().map(|d| d.kind.as_str()).collect();
    assert_eq!(kinds, ["stage1_response"]);
    // Friday 20 November + 10 working days = Friday 4 December.
    assert_eq!(detail.deadlines[0].due_at, at("2026-12-04T17:00:00Z"));
    assert!(
        detail
            .events
            .iter()
            .any(|e| e.kind == "acknowledged" && e.detail["automatic"] == true)
    );
    let receipt = parse(&env.wait_for_mails(&env.customer, "INBOX", 1).await[0].raw);
    assert!(
        receipt
            .text_body
            .contains("This letter is our acknowledgement"),
        "{}",
        receipt.text_body
    );
    assert!(receipt.text_body.contains("Friday 4 December 2026"));
}

/// Issue 14: `run --once` exits non-zero when a mail could not be recorded; after three passes
/// the mail is in the quarantine folder on the real server, not in the INBOX.
#[tokio::test(flavor = "multi_thread")]
async fn a_mail_that_cannot_be_recorded_fails_the_pass_and_is_quarantined() {
    use sqlx::Connection;
    let env = TestEnv::new();
    ok(&env.redress(&["migrate"]));
    let url = format!("sqlite://{}", env.dir.path().join("redress.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("db");
    sqlx::query("CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.subject = 'Poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
        .execute(&mut conn)
        .await
        .expect("trigger");
    conn.close().await.expect("close");
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("poison-{}", env.customer),
            "Poison",
            "x",
        ),
        None,
    )
    .await;
    for pass in 1..=3 {
        let out = env.redress(&["run", "--once"]);
        assert!(!out.status.success(), "pass {pass} fails");
        let summary: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("the summary is still printed");
        assert_eq!(summary["failed"], 1);
        assert_eq!(summary["quarantined"], u8::from(pass == 3));
    }
    env.wait_for_mails(&env.complaints, "Quarantine", 1).await;
    let out = ok(&env.redress(&["run", "--once"]));
    let summary: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(summary["fetched"], 0, "nothing left to fetch again");
}
