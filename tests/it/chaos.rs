//! Chaos: the daemon killed with SIGKILL at random moments while it takes a backlog of 500
//! complaints and answers them. Delivery is at-least-once by design (a letter the server took in
//! the instant before its sending was recorded goes again); this measures how often that
//! happens per crash, and shows that no mail is lost and no case made twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use crate::support::*;

const COMPLAINTS: usize = 500;
const CRASHES: usize = 20;

/// Message-IDs of every mail delivered to `user` (read from Dovecot's maildir).
fn delivered(root: &Path, user: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(root.join(user).join(sub)) else {
            continue;
        };
        for entry in entries.flatten() {
            let raw = std::fs::read(entry.path()).unwrap_or_default();
            ids.push(header_of(&raw, "Message-ID").unwrap_or_default());
        }
    }
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_random_it_loses_nothing_and_resends_little() {
    let env = TestEnv::new();
    let resident = |n: usize| format!("r{n}.{}", env.customer);
    let mut client =
        redress::intake::mailbox::MailboxClient::connect(&env.mailbox_of(&env.complaints, "INBOX"))
            .await
            .expect("imap");
    for n in 0..COMPLAINTS {
        let raw = complaint(
            &resident(n),
            &env.complaints,
            &format!("chaos-{n}-{}", env.customer),
            &format!("Repair {n} never done"),
            "The repair was never done and nobody called back; I want to complain.",
        );
        client.append("INBOX", &raw, None).await.expect("append");
    }
    client.logout().await.expect("logout");
    let app = env.app().await;

    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut crashes = 0;
    while crashes < CRASHES {
        let daemon = env.daemon();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(150..1500))).await;
        drop(daemon); // SIGKILL, then reaped
        crashes += 1;
    }
    let pending = app.store.count_letters("pending").await.expect("count");
    let cases = app.store.list_cases(1).await.expect("cases").len();
    println!("after {crashes} crashes: {pending} letter(s) still to send");
    assert!(
        pending > 0 || cases == 0,
        "the crashes came while there was work (seed {seed})"
    );

    // A last start finishes the work: letters the dead instances had claimed wait for their
    // claims to lapse (under a minute), then go.
    let _daemon = env.daemon();
    let started = Instant::now();
    loop {
        let cases = app
            .store
            .list_cases(COMPLAINTS as i64 + 1)
            .await
            .expect("cases");
        let waiting = app.store.count_letters("pending").await.expect("count");
        if cases.len() >= COMPLAINTS && waiting == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "{} cases, {waiting} letters waiting after 3 minutes (seed {seed})",
            cases.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let cases = app
        .store
        .list_cases(COMPLAINTS as i64 + 1)
        .await
        .expect("cases");
    assert_eq!(cases.len(), COMPLAINTS, "one case a complaint, none twice");
    assert!(env.mails_in(&env.complaints, "INBOX").await.is_empty());

    // Every resident's receipt, counted where Postfix delivered it.
    let root = env.stack.dir.join("mail");
    let sent = app.store.count_letters("sent").await.expect("count") as usize;
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    let started = Instant::now();
    loop {
        copies.clear();
        for n in 0..COMPLAINTS {
            for id in delivered(&root, &resident(n)) {
                *copies.entry(id).or_default() += 1;
            }
        }
        if copies.len() >= sent || started.elapsed() > Duration::from_secs(30) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let delivered_total: usize = copies.values().sum();
    let duplicates = delivered_total - copies.len();
    println!(
        "seed {seed}: {COMPLAINTS} complaints, {crashes} SIGKILLs; {} letters recorded as sent, {} delivered, {} distinct; {duplicates} duplicate(s), {:.2} per crash",
        sent,
        delivered_total,
        copies.len(),
        duplicates as f64 / crashes as f64
    );
    assert_eq!(copies.len(), sent, "every letter recorded as sent arrived");
    assert_eq!(sent, COMPLAINTS, "a receipt for every complaint");
    assert!(
        duplicates as f64 / crashes as f64 <= 1.0,
        "{duplicates} duplicates in {crashes} crashes (seed {seed})"
    );
}
