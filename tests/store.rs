//! The store on both databases: file safety, append-only events, references, outbox claims,
//! and sending that survives a refusing SMTP server.

mod support;

use std::os::unix::fs::PermissionsExt;

use redress::clock::Clock;
use redress::daemon::run_once;
use redress::store::{NewLetter, Store};
use support::*;

async fn sqlite_store(dir: &std::path::Path) -> Store {
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.join("sub/redress.db").display()
    ))
    .await
    .expect("connect");
    store.migrate().await.expect("migrate");
    store
}

async fn postgres_store() -> Store {
    let store = Store::connect(&postgres_database().await)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    store
}

#[tokio::test]
async fn a_new_sqlite_file_is_private_and_in_wal_mode() {
    let dir = tempfile::tempdir().expect("dir");
    let store = sqlite_store(dir.path()).await;
    let mode = std::fs::metadata(dir.path().join("sub/redress.db"))
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .expect("pragma");
    let mode: String = sqlx::Row::try_get(&row, 0).expect("mode");
    assert_eq!(mode, "wal");
}

async fn events_are_append_only(store: &Store) {
    let mut tx = store.begin().await.expect("tx");
    let reference = Store::next_reference(&mut tx, "CMP", 2026)
        .await
        .expect("ref");
    let case = redress::store::NewCase {
        kind: "complaint",
        stage: Some("stage1"),
        customer_address: Some("a@example.test"),
        customer_name: None,
        subject: "x",
        received_at: at("2026-11-23T10:00:00Z"),
        attention_reason: None,
        service_area: None,
        owner: None,
        themes: &[],
        hazard: None,
        representative: false,
    };
    let id = Store::insert_case(&mut tx, &reference, &case, at("2026-11-23T10:00:00Z"))
        .await
        .expect("case");
    Store::insert_event(
        &mut tx,
        id,
        at("2026-11-23T10:00:00Z"),
        "case_opened",
        "redress",
        &serde_json::json!({}),
    )
    .await
    .expect("event");
    tx.commit().await.expect("commit");
    assert!(
        sqlx::query("UPDATE events SET kind = 'forged'")
            .execute(store.pool())
            .await
            .is_err(),
        "update refused"
    );
    assert!(
        sqlx::query("DELETE FROM events")
            .execute(store.pool())
            .await
            .is_err(),
        "delete refused"
    );
}

#[tokio::test]
async fn events_are_append_only_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    events_are_append_only(&sqlite_store(dir.path()).await).await;
}

#[tokio::test]
async fn events_are_append_only_on_postgresql() {
    events_are_append_only(&postgres_store().await).await;
}

async fn references_are_sequential_per_year(store: &Store) {
    let mut got = Vec::new();
    for year in [2026, 2026, 2027, 2026] {
        let mut tx = store.begin().await.expect("tx");
        got.push(
            Store::next_reference(&mut tx, "CMP", year)
                .await
                .expect("ref"),
        );
        tx.commit().await.expect("commit");
    }
    assert_eq!(
        got,
        [
            "CMP-2026-000001",
            "CMP-2026-000002",
            "CMP-2027-000001",
            "CMP-2026-000003"
        ]
    );
}

#[tokio::test]
async fn references_are_sequential_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    references_are_sequential_per_year(&sqlite_store(dir.path()).await).await;
}

#[tokio::test]
async fn references_are_sequential_on_postgresql() {
    references_are_sequential_per_year(&postgres_store().await).await;
}

/// Many workers claiming at once never get the same letter, and a letter is queued once per key.
async fn claims_are_exclusive(store: Store) {
    let now = at("2026-11-23T10:00:00Z");
    let mut tx = store.begin().await.expect("tx");
    for i in 0..50 {
        let letter = NewLetter {
            case_id: None,
            kind: "receipt".into(),
            dedupe_key: format!("k{i}"),
            message_id: format!("redress.m{i}@example.test"),
            to_address: "a@example.test".into(),
            subject: "s".into(),
            body: "b".into(),
            in_reply_to: None,
            references: None,
        };
        assert!(
            Store::queue_letter(&mut tx, &letter, now)
                .await
                .expect("queue")
        );
        let again = NewLetter {
            message_id: format!("redress.other{i}@example.test"),
            ..letter
        };
        assert!(
            !Store::queue_letter(&mut tx, &again, now)
                .await
                .expect("queue"),
            "same key queued twice"
        );
    }
    tx.commit().await.expect("commit");
    let mut workers = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(letter) = store
                .claim_letter(now, now + chrono::Duration::minutes(10))
                .await
                .expect("claim")
            {
                mine.push(letter.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(before, 50, "every letter claimed once");
    assert_eq!(all.len(), 50, "no letter claimed twice");
    // A claim that expired (a crashed sender) can be taken again later.
    let later = now + chrono::Duration::minutes(11);
    assert!(
        store
            .claim_letter(later, later + chrono::Duration::minutes(10))
            .await
            .expect("claim")
            .is_some()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_are_exclusive_on_sqlite() {
    let dir = tempfile::tempdir().expect("dir");
    claims_are_exclusive(sqlite_store(dir.path()).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn claims_are_exclusive_on_postgresql() {
    claims_are_exclusive(postgres_store().await).await;
}

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
