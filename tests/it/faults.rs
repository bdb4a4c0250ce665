//! Faults on the real servers: an IMAP server that freezes under an IDLE (its connection
//! half-open, so TCP keepalive sees nothing) is noticed and left within two minutes, logged,
//! and mail that arrives meanwhile is taken once it answers again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redress::clock::Clock;

use crate::support::proxy::FreezingProxy;
use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_imap_server_is_noticed_and_left_within_two_minutes() {
    let env = TestEnv::new();
    let proxy = FreezingProxy::start(env.stack.imap_port);
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let config = config.replacen(
        &format!("port = {}\nsecurity", env.stack.imap_port),
        &format!("port = {}\nidle_timeout = \"10s\"\nsecurity", proxy.port),
        1,
    );
    std::fs::write(&env.config_path, config).expect("config");
    let app = Arc::new(env.app().await);
    let (shutdown, _) = tokio::sync::broadcast::channel(1);
    let daemon = tokio::spawn(redress::daemon::run(
        app,
        Arc::new(env.sender()),
        Clock::system(),
        shutdown.clone(),
    ));
    let mail = |n: u32| {
        complaint(
            &env.customer,
            &env.complaints,
            &format!("freeze-{n}-{}", env.customer),
            &format!("Heating {n}"),
            "No heating again; I want to complain.",
        )
    };
    env.append(&mail(1), None).await;
    env.wait_for_mails(&env.customer, "INBOX", 1).await;

    proxy.freeze();
    let frozen_at = Instant::now();
    let given_up = loop {
        if let Some(at) = proxy.given_up_at() {
            break at;
        }
        assert!(
            frozen_at.elapsed() < Duration::from_secs(150),
            "the dead connection was never noticed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let noticed = given_up - frozen_at;
    println!("a frozen IMAP server was noticed and left after {noticed:?}");
    assert!(
        noticed < Duration::from_secs(120),
        "noticed after {noticed:?}"
    );

    // The server answers again: mail that came meanwhile is taken.
    proxy.thaw();
    env.append(&mail(2), None).await;
    env.wait_for_mails(&env.customer, "INBOX", 2).await;
    let _ = shutdown.send(());
    let _ = daemon.await;
}

/// A mail with `size` bytes of attachment, as a phone's mail app sends photos.
fn with_attachment(env: &TestEnv, from: &str, id: &str, subject: &str, size: usize) -> Vec<u8> {
    use base64::Engine;
    let photo: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(photo);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    format!(
        "From: Ms Large <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe mould is back; photos attached. I want to complain.\r\n--b1\r\nContent-Type: image/jpeg; name=\"mould.jpg\"\r\nContent-Disposition: attachment; filename=\"mould.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        lines.join("\r\n"),
        to = env.complaints,
    )
    .into_bytes()
}

/// Issue 14 (2): a mail over `mailbox.max_message_size` is recorded by its header with a note,
/// flagged for a person, moved to the quarantine folder whole, and its sender told; the mail
/// behind it is taken as usual.
#[tokio::test(flavor = "multi_thread")]
async fn a_mail_over_the_size_limit_is_kept_by_its_header_set_aside_and_its_sender_told() {
    let env = TestEnv::new();
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let config = config.replacen(
        "poll_interval = \"1s\"",
        "poll_interval = \"1s\"\nmax_message_size = \"1MB\"",
        1,
    );
    std::fs::write(&env.config_path, config).expect("config");
    let big = with_attachment(
        &env,
        &env.customer,
        &format!("big-{}", env.customer),
        "Photos of the mould",
        1_500_000,
    );
    env.append(&big, None).await;
    let neighbour = format!("next.{}", env.customer);
    env.append(
        &complaint(
            &neighbour,
            &env.complaints,
            &format!("small-{}", env.customer),
            "Broken lift",
            "The lift has been broken for a week; this is a complaint.",
        ),
        None,
    )
    .await;

    let out: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["run", "--once"]))).expect("json");
    assert_eq!(out["too_large"], 1, "{out}");
    assert_eq!(out["new_cases"], 2, "{out}");
    assert_eq!(out["failed"], 0, "{out}");

    let set_aside = env.mails_in(&env.complaints, "Quarantine").await;
    assert_eq!(set_aside.len(), 1);
    assert_eq!(set_aside[0].raw, big, "the whole mail is kept for a person");
    assert_eq!(env.mails_in(&env.complaints, "Processed").await.len(), 1);
    assert!(env.mails_in(&env.complaints, "INBOX").await.is_empty());

    let reference = env.reference_by_subject("Photos of the mould");
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &reference, "--json"])))
            .expect("json");
    let reason = detail["attention_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("over the 1.0 MB"), "{detail}");
    assert!(reason.contains("Quarantine"), "{detail}");

    let told = env
        .wait_for_subject(&env.customer, "INBOX", "too large")
        .await;
    assert!(told.subject.contains(&reference), "{}", told.subject);
    assert!(told.text_body.contains("1.0 MB"), "{}", told.text_body);
    let lift = env.wait_for_mails(&neighbour, "INBOX", 1).await;
    let lift = redress::intake::mail::parse(&lift[0].raw);
    assert!(!lift.subject.contains("too large"), "{}", lift.subject);

    // Run again: nothing is taken twice, and the set-aside mail stays where it is.
    let out: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["run", "--once"]))).expect("json");
    assert_eq!(out["fetched"], 0, "{out}");
    assert_eq!(env.cases_json().as_array().map(Vec::len), Some(2));
}

/// Mail that arrives while redress is busy with a pass is announced once, in the middle of
/// another command; the wait that follows must see that news rather than IDLE past it (it used
/// to wait for the liveness cycle, and before that for the 25-minute IDLE re-issue).
#[tokio::test(flavor = "multi_thread")]
async fn mail_announced_during_a_pass_is_not_waited_past() {
    use redress::intake::mailbox::{Mailbox, MailboxClient, WaitOutcome};
    let env = TestEnv::new();
    let mail = |n: u32| {
        complaint(
            &env.customer,
            &env.complaints,
            &format!("busy-{n}-{}", env.customer),
            &format!("Arrived mid-pass {n}"),
            "Nobody came.",
        )
    };
    let mut settings = env.mailbox_of(&env.complaints, "INBOX");
    settings.idle_timeout = Duration::from_secs(15);
    let mut client = MailboxClient::connect(&settings).await.expect("imap");
    client.ensure_folder("Processed").await.expect("folder");
    env.append(&mail(1), None).await;
    client.select_watched().await.expect("select");
    let first = client.waiting().await.expect("waiting");
    // A second mail arrives while the first is handled; the server mentions it in its answer
    // to the pass's move.
    env.append(&mail(2), None).await;
    client
        .move_to_processed(&[first[0].uid])
        .await
        .expect("move");
    let (_client, outcome) = client.wait_for_change().await.expect("wait");
    assert_eq!(
        outcome,
        WaitOutcome::Changed,
        "the news given during the pass is acted on"
    );
}
