//! Several instances on one PostgreSQL database: one watches the mailbox at a time (an
//! advisory lock); when it is killed another takes over; nothing is lost or handled twice.

use std::time::{Duration, Instant};

use crate::support::*;

fn mail(env: &TestEnv, batch: &str, n: u32) -> Vec<u8> {
    complaint(
        &env.customer,
        &env.complaints,
        &format!("multi-{batch}-{n}-{}", env.customer),
        &format!("Repair {batch}{n}"),
        "The repair was never done; I want to complain.",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn three_instances_share_one_watcher_and_take_over_when_it_dies() {
    let url = postgres_database().await;
    let env = TestEnv::with(Db::Postgres(url), "");
    // Three `redress run` processes: the first takes the watch; the other two join after it.
    let mut first = env.daemon();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _others = [env.daemon(), env.daemon()];
    for n in 0..10 {
        env.append(&mail(&env, "a", n), None).await;
    }
    env.wait_for_mails(&env.customer, "INBOX", 10).await;

    // The watcher is killed (SIGKILL): its connections, and with them the lock, go.
    first.0.kill().expect("kill -9");
    let _ = first.0.wait();
    let died = Instant::now();
    for n in 0..10 {
        env.append(&mail(&env, "b", n), None).await;
    }
    let mut receipts = 0;
    while receipts < 20 {
        assert!(
            died.elapsed() < Duration::from_secs(60),
            "no takeover: {receipts} receipts"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        receipts = env.mails_in(&env.customer, "INBOX").await.len();
    }
    let takeover = died.elapsed();
    println!(
        "another instance took over and answered the new mail {takeover:?} after the watcher was killed"
    );
    assert!(takeover < Duration::from_secs(30), "takeover within 30 s");

    let app = env.app().await;
    let cases = app.store.list_cases(100).await.expect("cases");
    assert_eq!(cases.len(), 20, "no mail lost, none made two cases");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.mails_in(&env.customer, "INBOX").await.len(),
        20,
        "one receipt each, none twice"
    );
}
