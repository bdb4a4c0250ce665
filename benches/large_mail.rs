//! Benchmark: memory with large mails. The daemon's resident memory idle, then its peak while it
//! takes a backlog of 20 mails with 30 MB attachments (about 41 MB each as sent), against the
//! issue's bound: three times the largest message in flight plus the idle base. Needs the test
//! mail stack: `cargo bench --bench large_mail` (LARGE_MAILS=N, LARGE_MB=M for other sizes).

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use base64::Engine;
use support::*;

/// A field of /proc/PID/status in megabytes (VmRSS now, VmHWM the peak).
fn status_mb(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn large_mail(env: &TestEnv, n: usize, attachment_mb: usize) -> Vec<u8> {
    let photo: Vec<u8> = (0..attachment_mb * 1_000_000)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(photo);
    let mut body = String::with_capacity(encoded.len() * 78 / 76 + 1024);
    for chunk in encoded.as_bytes().chunks(76) {
        body.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        body.push_str("\r\n");
    }
    format!(
        "From: Resident {n} <large{n}.{from}>\r\nTo: {to}\r\nSubject: Video of the leak {n}\r\nMessage-ID: <large-{n}-{from}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nThe leak is back; video attached. I want to complain.\r\n--b1\r\nContent-Type: video/mp4; name=\"leak.mp4\"\r\nContent-Disposition: attachment; filename=\"leak.mp4\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}--b1--\r\n",
        from = env.customer,
        to = env.complaints,
    )
    .into_bytes()
}

#[tokio::main]
async fn main() {
    let count: usize = std::env::var("LARGE_MAILS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let attachment_mb: usize = std::env::var("LARGE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let env = TestEnv::new();
    let daemon = env.daemon();
    let pid = daemon.0.id();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = status_mb(pid, "VmRSS:");
    println!("redress idle: RSS {idle:.0} MB");

    let mut largest = 0;
    let started = Instant::now();
    let mut client =
        redress::intake::mailbox::MailboxClient::connect(&env.mailbox_of(&env.complaints, "INBOX"))
            .await
            .expect("imap");
    for n in 0..count {
        let raw = large_mail(&env, n, attachment_mb);
        largest = largest.max(raw.len());
        client.append("INBOX", &raw, None).await.expect("append");
    }
    client.logout().await.expect("logout");
    let largest_mb = largest as f64 / 1_000_000.0;
    println!(
        "appended {count} mails of {largest_mb:.1} MB ({attachment_mb} MB attachments) in {:.1?}",
        started.elapsed()
    );

    let app = env.app().await;
    let started = Instant::now();
    loop {
        let cases = app.store.list_cases(count as i64 + 1).await.expect("cases");
        if cases.len() >= count {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "only {} of {count} taken",
            cases.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let peak = status_mb(pid, "VmHWM:");
    let bound = idle + 3.0 * largest_mb * 1_000_000.0 / 1_048_576.0;
    println!(
        "took the {count} large mails in {:.1?}; peak RSS {peak:.0} MB against a bound of {bound:.0} MB (idle {idle:.0} MB + 3 x the largest message, {largest_mb:.1} MB)",
        started.elapsed()
    );
    println!(
        "reference: the issue measured 1,600 MB (OOM-killed in a 1 GiB cgroup) fetching the same backlog in batches of 100 whole messages"
    );
    drop(daemon);
    where_the_time_goes(&env).await;
}

/// One large mail step by step, in this process: fetch, parse, hash, record.
async fn where_the_time_goes(env: &TestEnv) {
    use redress::intake::mailbox::Mailbox;
    let mut client = redress::intake::mailbox::MailboxClient::connect(
        &env.mailbox_of(&env.complaints, "Processed"),
    )
    .await
    .expect("imap");
    client.select_watched().await.expect("select");
    let waiting = client.waiting().await.expect("waiting");
    let me = std::process::id();
    let peak_since = |what: &str, before: f64| {
        println!(
            "  {what}: peak {:.0} MB over {before:.0} MB before",
            status_mb(me, "VmHWM:") - before
        );
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        status_mb(me, "VmRSS:")
    };
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_mb(me, "VmRSS:");
    let started = Instant::now();
    let mail = client
        .fetch(&[waiting[0].uid])
        .await
        .expect("fetch")
        .remove(0);
    println!(
        "fetch one ({} bytes): {:.2?}",
        mail.raw.len(),
        started.elapsed()
    );
    let before = peak_since("fetch", before);
    client.logout().await.expect("logout");
    let started = Instant::now();
    let parsed = redress::intake::mail::parse(&mail.raw);
    println!(
        "parse: {:.2?} ({} attachment(s))",
        started.elapsed(),
        parsed.attachments.len()
    );
    drop(parsed);
    let before = peak_since("parse", before);
    let started = Instant::now();
    redress::intake::mail::content_hash(&mail.raw);
    redress::intake::mail::identity_hash(&mail.raw);
    println!("two hashes: {:.2?}", started.elapsed());
    let fresh = TestEnv::new();
    let app = fresh.app().await;
    let before = peak_since("hashes", before);
    let started = Instant::now();
    redress::intake::ingest(&app, &mail.raw, None, chrono::Utc::now())
        .await
        .expect("ingest");
    println!(
        "ingest (parse, classify, record): {:.2?}",
        started.elapsed()
    );
    peak_since("ingest", before);
}
