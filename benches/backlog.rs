//! Benchmark: ingesting a 1,000-mail backlog from the local Dovecot with one `run --once` pass
//! (record, answer, move), against the raw IMAP fetch of the same backlog and against the
//! physical limit on the same stack (fetch, one durable write, move and one SMTP submission a
//! mail, and nothing else). Needs the test mail stack (root, or Dovecot
//! and Postfix installed): `cargo bench --bench backlog` (set BACKLOG=N for another size).

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::Instant;

use redress::clock::Clock;
use redress::daemon::run_once;
use redress::deliver::outbox::EmailSender;
use redress::intake::mailbox::{Mailbox, MailboxClient};
use support::*;

/// The least any program could do with the same backlog on the same stack: fetch it (in
/// batches of 100), write each mail durably (its own committed SQLite transaction, with the
/// store's journal settings), move each batch out of the INBOX, and submit one letter a mail.
async fn physical_limit(env: &TestEnv, count: usize) -> std::time::Duration {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    let copy = TestEnv::new();
    for mail in env.mails_in(&env.complaints, "INBOX").await {
        copy.append(&mail.raw, None).await;
    }
    let options = SqliteConnectOptions::new()
        .filename(copy.dir.path().join("limit.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let db = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("sqlite");
    sqlx::query("CREATE TABLE mail (id INTEGER PRIMARY KEY, raw BLOB NOT NULL)")
        .execute(&db)
        .await
        .expect("table");
    let sender = copy.sender();
    let letter = complaint(
        &copy.complaints,
        &copy.customer,
        "limit-letter@example.test",
        "Your complaint",
        &"We have received your complaint. ".repeat(30),
    );
    let started = Instant::now();
    let mut client = MailboxClient::connect(&copy.mailbox_of(&copy.complaints, "INBOX"))
        .await
        .expect("imap");
    client.ensure_folder("Processed").await.expect("folder");
    client.select_watched().await.expect("select");
    let uids = waiting_uids(&mut client).await;
    for batch in uids.chunks(100) {
        for mail in client.fetch(batch).await.expect("fetch") {
            sqlx::query("INSERT INTO mail (raw) VALUES ($1)")
                .bind(&mail.raw)
                .execute(&db)
                .await
                .expect("insert");
            sender
                .send(&copy.complaints, &copy.customer, &letter)
                .await
                .expect("smtp");
        }
        client.move_to_processed(batch).await.expect("move");
    }
    client.logout().await.expect("logout");
    let limit = started.elapsed();
    println!(
        "physical limit ({} mails: fetch, one durable write, move, one SMTP submission each): {limit:.2?}",
        uids.len().min(count)
    );
    limit
}

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
    let uids = waiting_uids(&mut client).await;
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

    let limit = physical_limit(&env, count).await;

    let app = env.app().await;
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
    println!(
        "redress {total:.2?} against the physical limit {limit:.2?}: {:.2}x (the aim is 2x or less)",
        total.as_secs_f64() / limit.as_secs_f64()
    );
    assert_eq!(report.pass.new_cases, count);
}
