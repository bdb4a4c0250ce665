//! Benchmark: ingesting a 1,000-mail backlog from the local Dovecot with one `run --once` pass,
//! against the raw IMAP fetch of the same backlog. Needs the test mail stack (root, or Dovecot
//! and Postfix installed): `cargo bench --bench backlog` (set BACKLOG=N for another size).

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::Instant;

use redress::clock::Clock;
use redress::daemon::run_once;
use redress::intake::mailbox::{Mailbox, MailboxClient};
use support::*;

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("BACKLOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let env = TestEnv::new();
    let started = Instant::now();
    for i in 0..count {
        let raw = complaint(
            &format!("tenant{i}@example.test"),
            &env.complaints,
            &format!("backlog-{i}-{}", env.complaints),
            &format!("Complaint number {i} about repairs"),
            &"The repair was promised weeks ago and nobody came. ".repeat(20),
        );
        env.append(&raw, None).await;
    }
    println!("appended {count} mails in {:.2?}", started.elapsed());

    // Raw IMAP: select, search, fetch every message in batches of 100, as the ingest pass does.
    let started = Instant::now();
    let mut client = MailboxClient::connect(&env.mailbox_of(&env.complaints, "INBOX"))
        .await
        .expect("imap");
    client.select_watched().await.expect("select");
    let uids: Vec<u32> = client
        .waiting()
        .await
        .expect("search")
        .iter()
        .map(|w| w.uid)
        .collect();
    let mut bytes = 0;
    for batch in uids.chunks(100) {
        bytes += client
            .fetch(batch)
            .await
            .expect("fetch")
            .iter()
            .map(|m| m.raw.len())
            .sum::<usize>();
    }
    client.logout().await.expect("logout");
    let raw_fetch = started.elapsed();
    println!(
        "raw IMAP fetch of {} mails ({bytes} bytes): {raw_fetch:.2?}",
        uids.len()
    );

    let app = env.app().await;
    // The ingest part alone on a copy of the backlog, to show where the time goes.
    let copy = TestEnv::new();
    for mail in env.mails_in(&env.complaints, "INBOX").await {
        copy.append(&mail.raw, None).await;
    }
    let copy_app = copy.app().await;
    let started = Instant::now();
    let mut client = redress::daemon::open_mailbox(&copy_app)
        .await
        .expect("imap");
    let pass = redress::daemon::ingest_pass(&copy_app, &mut client, &Clock::system())
        .await
        .expect("ingest");
    println!(
        "ingest only (record {} cases, queue receipts, move): {:.2?}",
        pass.new_cases,
        started.elapsed()
    );
    let started = Instant::now();
    let sent = redress::deliver::outbox::drain(&copy_app, &copy.sender(), &Clock::system())
        .await
        .expect("drain");
    println!(
        "send only ({sent} receipts by SMTP): {:.2?}",
        started.elapsed()
    );

    let started = Instant::now();
    let report = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("run --once");
    let total = started.elapsed();
    println!(
        "run --once: {} new cases, {} receipts sent by SMTP, in {total:.2?} ({:.0} mails/s)",
        report.pass.new_cases,
        report.letters_sent,
        count as f64 / total.as_secs_f64()
    );
    assert_eq!(report.pass.new_cases, count);
}
