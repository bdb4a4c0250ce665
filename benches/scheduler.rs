//! Benchmark: one scheduler pass over 100,000 open cases (SQLite, 2 deadlines each, due over the
//! next six weeks). `cargo bench --bench scheduler` prints the first pass (queues every reminder
//! due) and a steady-state pass (everything already sent), the shape of the daemon's minute.
//! Set CASES=N for another size.

mod common;

use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use redress::case::deadlines::{Deadline, DeadlineKind};
use redress::case::model::{CaseKind, Stage};
use redress::store::NewCase;

#[tokio::main]
async fn main() {
    let count = common::cases(100_000);
    let (_dir, app) = common::bench_app("[routing]\ncomplaints_manager = \"manager@example.test\"\nmanager = \"head@example.test\"\n").await;

    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
        .expect("now")
        .with_timezone(&Utc);
    let started = Instant::now();
    let themes: Vec<String> = Vec::new();
    for chunk in 0..(count / 1000) {
        let mut tx = app.store.begin().await.expect("tx");
        for i in 0..1000 {
            let n = chunk * 1000 + i;
            let reference = tx.next_reference("CMP", 2026).await.expect("ref");
            let case = NewCase {
                kind: CaseKind::Complaint,
                stage: Some(Stage::Stage1),
                customer_address: Some("tenant@example.test".into()),
                customer_name: Some("Tenant".into()),
                subject: "Repairs".into(),
                received_at: now - Duration::days(n % 10),
                attention_reason: None,
                service_area: Some("Repairs".into()),
                owner: Some(
                    [
                        "a@example.test",
                        "b@example.test",
                        "c@example.test",
                        "d@example.test",
                    ][(n % 4) as usize]
                        .to_string(),
                ),
                themes: themes.clone(),
                hazard: None,
                representative: false,
                postal_address: None,
            };
            let id = tx.insert_case(&reference, &case, now).await.expect("case");
            for (kind, minutes) in [
                (DeadlineKind::Stage1Acknowledgement, n % 60_480),
                (DeadlineKind::Stage1Response, (n * 7) % 60_480),
            ] {
                let deadline = Deadline {
                    kind,
                    due_at: now + Duration::minutes(minutes - 2_000),
                    rule: "bench".into(),
                };
                tx.insert_deadline(id, &deadline, now)
                    .await
                    .expect("deadline");
            }
        }
        tx.commit().await.expect("commit");
    }
    println!(
        "set up {count} open cases with {} deadlines in {:.1?}",
        count * 2,
        started.elapsed()
    );

    let started = Instant::now();
    let first = redress::deliver::scheduler::pass(&app, now)
        .await
        .expect("pass");
    println!("first pass: {:?} in {:.2?}", first, started.elapsed());
    let started = Instant::now();
    let steady = redress::deliver::scheduler::pass(&app, now + Duration::seconds(60))
        .await
        .expect("pass");
    println!(
        "steady-state pass (a minute later): {:?} in {:.2?}",
        steady,
        started.elapsed()
    );
}
