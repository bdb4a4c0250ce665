//! Benchmark: `redress report` over 1,000,000 cases (SQLite). `cargo bench --bench report` builds
//! a record of CASES cases (default 1,000,000) received over three years, with acknowledgements,
//! responses, extensions, escalations and stage 2 answers as events, then times one report for
//! the last year in each format.

mod common;

use std::time::Instant;

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

#[tokio::main]
async fn main() {
    let count = common::cases(1_000_000);
    let (_dir, app) = common::bench_app("[report]\nhomes_owned = 250000\n").await;
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
    println!(
        "set up {count} cases and {event_rows} events in {:.1?}",
        started.elapsed()
    );

    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-04-01T09:00:00Z")
        .expect("now")
        .with_timezone(&Utc);
    let (from, to) = (
        NaiveDate::from_ymd_opt(2025, 4, 1).expect("date"),
        NaiveDate::from_ymd_opt(2026, 3, 31).expect("date"),
    );
    let started = Instant::now();
    let report = redress::report::build(&app, from, to, now)
        .await
        .expect("report");
    let built = started.elapsed();
    println!(
        "report over {count} cases: built in {built:.2?} ({} stage 1 and {} stage 2 complaints in the year, {} case rows)",
        report.stage1.received,
        report.stage2.received,
        report.cases.len()
    );
    for (format, render) in [
        (
            "md",
            redress::report::markdown as fn(&redress::report::AnnualReport) -> String,
        ),
        ("html", redress::report::html),
        ("csv", redress::report::csv),
    ] {
        let started = Instant::now();
        let text = render(&report);
        println!(
            "  {format}: {} bytes in {:.2?}",
            text.len(),
            started.elapsed()
        );
    }
    let started = Instant::now();
    let json = serde_json::to_string(&report).expect("json");
    println!("  json: {} bytes in {:.2?}", json.len(), started.elapsed());
}
