//! Benchmark: `redress report` over 1,000,000 cases. `cargo bench --bench report` builds a
//! record of CASES cases (default 1,000,000) received over three years, with acknowledgements,
//! responses, extensions, escalations and stage 2 answers as events, then runs `redress report`
//! for the last year as a landlord would (html, then the per-case csv) and prints each run's
//! time and peak memory beside the bounds (2 s, 200 MB) and beside the old approach:
//! every case's events loaded and each case counted in Rust.
//!
//! SQLite by default. `BENCH_POSTGRES=postgres://…/DB` runs the same on that PostgreSQL database
//! (emptied first). `REPORT_BENCH_DIR=DIR` keeps the SQLite record in DIR between runs, so a
//! second run skips the set-up.

mod common;

use std::path::Path;
use std::time::{Duration as Elapsed, Instant};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use redress::case::model::{CaseKind, EscalationRequest, Event, Outcome, Stage};
use redress::store::{NewCase, Tx};

const AREAS: [&str; 5] = [
    "Repairs",
    "Communities",
    "Asset management",
    "Building safety & compliance",
    "Development",
];
const THEMES: [&[&str]; 4] = [
    &["outstanding repairs"],
    &["damp, mould and condensation"],
    &["communication"],
    &[],
];
const OUTCOMES: [Outcome; 3] = [Outcome::Upheld, Outcome::PartlyUpheld, Outcome::NotUpheld];

fn responded(stage: Stage, outcome: Outcome, on_time: bool) -> Event {
    Event::Responded {
        stage,
        outcome,
        reasons: "reasons".into(),
        remedy: "none".into(),
        actions: Vec::new(),
        due_at: None,
        on_time: Some(on_time),
    }
}

fn acknowledged(stage: Stage, on_time: bool) -> Event {
    Event::Acknowledged {
        stage,
        understanding: None,
        outcome_sought: None,
        due_at: None,
        on_time: Some(on_time),
        deadline_met: None,
        automatic: false,
    }
}

/// Records case number `n` of the bench's three years, through the store; returns its events.
async fn record_case(tx: &mut Tx, n: i64) -> usize {
    let start = DateTime::from_timestamp(1_680_307_200, 0).expect("1 April 2023");
    let received = start + Duration::seconds((n * 7919) % (3 * 365 * 86_400));
    let stage2 = n % 10 == 0;
    let case = NewCase {
        kind: CaseKind::Complaint,
        stage: Some(if stage2 { Stage::Stage2 } else { Stage::Stage1 }),
        customer_address: Some(format!("t{n}@example.test")),
        customer_name: Some("Tenant".into()),
        subject: "Repairs".into(),
        received_at: received,
        attention_reason: None,
        service_area: Some(AREAS[(n % 5) as usize].into()),
        owner: None,
        themes: THEMES[(n % 4) as usize]
            .iter()
            .map(|t| t.to_string())
            .collect(),
        hazard: None,
        representative: false,
        postal_address: None,
    };
    let id = tx
        .insert_case(&format!("CMP-B-{n:07}"), &case, received)
        .await
        .expect("case");
    let day = |d: i64| received + Duration::days(d);
    let mut events = vec![
        (day(2), acknowledged(Stage::Stage1, n % 20 != 0)),
        (
            day(12),
            responded(Stage::Stage1, OUTCOMES[(n % 3) as usize], n % 6 != 0),
        ),
    ];
    if n % 3 == 0 {
        events.push((
            day(8),
            Event::Extended {
                stage: Stage::Stage1,
                days: 5,
                reason: "bench".into(),
                previous_due_at: day(10),
                due_at: day(15),
            },
        ));
    }
    if stage2 {
        events.push((
            day(20),
            Event::Escalated {
                from_stage: Stage::Stage1,
                to_stage: Stage::Stage2,
                requested_at: day(20),
                detail: EscalationRequest::default(),
            },
        ));
        events.push((day(22), acknowledged(Stage::Stage2, true)));
        events.push((day(40), responded(Stage::Stage2, Outcome::NotUpheld, true)));
    }
    for (at, event) in &events {
        tx.insert_event(id, *at, "h", event).await.expect("event");
    }
    events.len()
}

/// Records `count` cases in batches of 500, unless the record already holds them.
async fn set_up(app: &redress::app::App, count: i64) {
    let everything = redress::store::annual::Span {
        start: DateTime::from_timestamp(0, 0).expect("epoch"),
        end: DateTime::from_timestamp(4_102_444_800, 0).expect("2100"),
    };
    let held = app
        .store
        .complaints_received(everything)
        .await
        .expect("count");
    if held == count {
        println!("the record already holds {count} cases");
        return;
    }
    assert_eq!(
        held, 0,
        "the bench's record holds {held} cases, not {count}: remove it"
    );
    let started = Instant::now();
    let batch = 500;
    let mut event_rows = 0;
    for first in (0..count).step_by(batch as usize) {
        let mut tx = app.store.begin().await.expect("tx");
        for n in first..(first + batch).min(count) {
            event_rows += record_case(&mut tx, n).await;
        }
        tx.commit().await.expect("commit");
    }
    // What autovacuum does on a live server soon after; a table just filled has no statistics.
    app.store
        .refresh_planner_statistics()
        .await
        .expect("analyze");
    println!(
        "set up {count} cases and {event_rows} events in {:.1?}",
        started.elapsed()
    );
}

/// Runs `redress report` for the bench's last year in `format`; its time, peak memory (MB) and
/// output size.
fn run_report(config: &Path, format: &str) -> (Elapsed, f64, u64) {
    let out = config.with_file_name(format!("report.{format}"));
    let started = Instant::now();
    #[allow(clippy::zombie_processes)] // `wait_with_peak` reaps it, with its peak memory.
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_redress"))
        .arg("--config")
        .arg(config)
        .args([
            "--now",
            "2026-04-01T09:00:00Z",
            "report",
            "--from",
            "2025-04-01",
        ])
        .args(["--to", "2026-03-31", "--format", format, "--out"])
        .arg(&out)
        .env("REDRESS_LOG", "error")
        .spawn()
        .expect("redress report");
    let (status, peak_kb) = wait_with_peak(child.id());
    let took = started.elapsed();
    assert!(
        status == 0,
        "redress report --format {format} failed ({status})"
    );
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    (took, peak_kb as f64 / 1024.0, size)
}

/// Waits for the child `pid`: its exit status and its peak resident memory in KiB.
fn wait_with_peak(pid: u32) -> (i32, i64) {
    let mut status = 0;
    // SAFETY: rusage is plain data, and wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = libc::pid_t::try_from(pid).expect("pid");
    // SAFETY: waiting for our own child with valid pointers.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait4");
    (status, usage.ru_maxrss)
}

/// This process's peak resident memory in MB since the last reset, and resets it.
fn peak_mb_since_reset() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    kb / 1024.0
}

/// The old approach, as the report did before it counted in SQL: every case of the three years
/// read with its events, a row made for each and kept, then counted in Rust.
async fn old_approach(app: &redress::app::App) -> (Elapsed, f64, usize) {
    let now = DateTime::parse_from_rfc3339("2026-04-01T09:00:00Z")
        .expect("now")
        .with_timezone(&Utc);
    let _ = peak_mb_since_reset();
    let started = Instant::now();
    let mut lines = Vec::new();
    redress::report::rows::each_line(
        app,
        NaiveDate::from_ymd_opt(2023, 4, 1).expect("date"),
        NaiveDate::from_ymd_opt(2026, 3, 31).expect("date"),
        now,
        |line| {
            lines.push(line);
            Ok::<(), redress::store::StoreError>(())
        },
    )
    .await
    .expect("rows");
    let year = NaiveDate::from_ymd_opt(2025, 4, 1).expect("date");
    let received = lines
        .iter()
        .filter(|l| l.kind == "complaint" && l.received_at.date_naive() >= year)
        .count();
    (started.elapsed(), peak_mb_since_reset(), received)
}

#[tokio::main]
async fn main() {
    let count = common::cases(1_000_000);
    let kept = std::env::var("REPORT_BENCH_DIR").ok();
    let temp = tempfile::tempdir().expect("dir");
    let dir = kept.as_deref().map_or(temp.path(), Path::new);
    std::fs::create_dir_all(dir).expect("bench folder");
    let (backend, url) = match std::env::var("BENCH_POSTGRES") {
        Ok(url) => ("PostgreSQL", url),
        Err(_) => (
            "SQLite",
            format!("sqlite://{}", dir.join("bench.db").display()),
        ),
    };
    let app = common::app_in(dir, &url, "[report]\nhomes_owned = 250000\n").await;
    set_up(&app, count).await;
    let config = dir.join("redress.toml");
    println!("redress report over {count} cases on {backend}, the year April 2025 to March 2026:");
    // The figures three times (the first reads the record from disk, the others from the
    // system's cache), then the per-case rows.
    for format in ["html", "html", "html", "csv"] {
        let (took, peak, size) = run_report(&config, format);
        println!(
            "  --format {format:<4}: {took:>8.2?}, peak {peak:>5.0} MB, {size} bytes   (bound for the figures: 2 s, 200 MB)"
        );
    }
    let (took, peak, received) = old_approach(&app).await;
    println!(
        "  old approach     : {took:>8.2?}, peak {peak:>5.0} MB over this process's own ({received} complaints in the year)"
    );
    app.store.close().await;
}
