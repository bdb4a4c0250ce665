//! Several instances on one PostgreSQL database: one watches the mailbox at a time (an
//! advisory lock); when it is killed another takes over; nothing is lost or handled twice.

use std::time::{Duration, Instant};

use crate::support::*;

/// Complaint `n` of `batch`, each from a resident of its own.
fn mail(env: &TestEnv, batch: &str, n: u32) -> Vec<u8> {
    complaint(
        &format!("{batch}{n}.{}", env.customer),
        &env.complaints,
        &format!("multi-{batch}-{n}-{}", env.customer),
        &format!("Repair {batch}{n}"),
        "The repair was never done; I want to complain.",
    )
}

/// Receipts sent so far, from the record.
async fn receipts(app: &redress::app::App) -> i64 {
    app.store.count_letters("sent").await.expect("count")
}

#[tokio::test(flavor = "multi_thread")]
async fn three_instances_share_one_watcher_and_take_over_when_it_dies() {
    let url = postgres_database().await;
    let env = TestEnv::with(Db::Postgres(url), "");
    let app = env.app().await;
    // Three `redress run` processes: the first takes the watch; the other two join after it.
    let mut first = env.daemon();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _others = [env.daemon(), env.daemon()];
    for n in 0..10 {
        env.append(&mail(&env, "a", n), None).await;
    }
    let started = Instant::now();
    while receipts(&app).await < 10 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first batch was not answered"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // The watcher is killed (SIGKILL): its connections, and with them the lock, go.
    first.0.kill().expect("kill -9");
    let _ = first.0.wait();
    let died = Instant::now();
    for n in 0..10 {
        env.append(&mail(&env, "b", n), None).await;
    }
    while receipts(&app).await < 20 {
        assert!(died.elapsed() < Duration::from_secs(60), "no takeover");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let takeover = died.elapsed();
    println!(
        "another instance took over and answered the new mail {takeover:?} after the watcher was killed"
    );
    assert!(takeover < Duration::from_secs(30), "takeover within 30 s");

    let cases = app.store.list_cases(100).await.expect("cases");
    assert_eq!(cases.len(), 20, "no mail lost, none made two cases");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receipts(&app).await, 20, "one receipt each, none twice");
    let one = env
        .wait_for_mails(&format!("b3.{}", env.customer), "INBOX", 1)
        .await;
    assert_eq!(one.len(), 1, "the receipt reached the resident");
}
