//! Benchmark: `redress report` over 1,000,000 cases (SQLite). `cargo bench --bench report` builds
//! a record of CASES cases (default 1,000,000) received over three years, with acknowledgements,
//! responses, extensions, escalations and stage 2 answers as events, then times one report for
//! the last year in each format.

use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use redress::app::{App, Rules};

#[tokio::main]
async fn main() {
    let count: i64 = std::env::var("CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("dir");
    let root = env!("CARGO_MANIFEST_DIR");
    let config = format!(
        "[mailbox]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nusername = \"c@example.test\"\npassword = \"x\"\n\
         [smtp]\nhost = \"127.0.0.1\"\nsecurity = \"none\"\nfrom = \"c@example.test\"\n\
         [database]\nurl = \"sqlite://{db}\"\n[calendar]\nholidays_file = \"{root}/config/bank-holidays.json\"\n\
         [templates]\ndir = \"{root}/config/templates\"\n[classification]\nrules_file = \"{root}/config/classification.toml\"\n\
         [report]\nhomes_owned = 250000\n",
        db = dir.path().join("bench.db").display()
    );
    let path = dir.path().join("redress.toml");
    std::fs::write(&path, config).expect("config");
    let app = App::start(Rules::load(&path).expect("rules"))
        .await
        .expect("app");
    let pool = app.store.pool();

    let start: i64 = 1_680_307_200; // 1 April 2023
    let span: i64 = 3 * 365 * 86_400;
    let areas = [
        "Repairs",
        "Communities",
        "Asset management",
        "Building safety & compliance",
        "Development",
    ];
    let themes = [
        "[\"outstanding repairs\"]",
        "[\"damp, mould and condensation\"]",
        "[\"communication\"]",
        "[]",
    ];
    let outcomes = ["upheld", "partly_upheld", "not_upheld"];
    let started = Instant::now();
    let batch = 500;
    for first in (0..count).step_by(batch as usize) {
        let mut cases = String::from(
            "INSERT INTO cases (id, reference, kind, stage, status, customer_address, customer_name, subject, received_at, created_at, service_area, themes) VALUES ",
        );
        let mut events =
            String::from("INSERT INTO events (case_id, at, kind, actor, detail) VALUES ");
        for n in first..(first + batch).min(count) {
            let id = n + 1;
            let received = start + (n * 7919) % span;
            let stage2 = n % 10 == 0;
            if n > first {
                cases.push(',');
                events.push(',');
            }
            cases.push_str(&format!(
                "({id}, 'CMP-B-{id:07}', 'complaint', '{}', 'closed', 't{id}@example.test', 'Tenant', 'Repairs', {received}, {received}, '{}', '{}')",
                if stage2 { "stage2" } else { "stage1" },
                areas[(n % 5) as usize],
                themes[(n % 4) as usize],
            ));
            let day = 86_400;
            events.push_str(&format!(
                "({id}, {}, 'acknowledged', 'h', '{{\"stage\":\"stage1\",\"on_time\":{}}}'),({id}, {}, 'responded', 'h', '{{\"stage\":\"stage1\",\"outcome\":\"{}\",\"on_time\":{},\"actions\":[]}}')",
                received + 2 * day,
                n % 20 != 0,
                received + 12 * day,
                outcomes[(n % 3) as usize],
                n % 6 != 0,
            ));
            if n % 3 == 0 {
                events.push_str(&format!(
                    ",({id}, {}, 'extended', 'h', '{{\"stage\":\"stage1\",\"days\":5}}')",
                    received + 8 * day
                ));
            }
            if stage2 {
                events.push_str(&format!(
                    ",({id}, {}, 'escalated', 'customer', '{{}}'),({id}, {}, 'acknowledged', 'h', '{{\"stage\":\"stage2\",\"on_time\":true}}'),({id}, {}, 'responded', 'h', '{{\"stage\":\"stage2\",\"outcome\":\"not_upheld\",\"on_time\":true,\"actions\":[]}}')",
                    received + 20 * day,
                    received + 22 * day,
                    received + 40 * day,
                ));
            }
        }
        let mut tx = app.store.begin().await.expect("tx");
        sqlx::query(&cases).execute(&mut *tx).await.expect("cases");
        sqlx::query(&events)
            .execute(&mut *tx)
            .await
            .expect("events");
        tx.commit().await.expect("commit");
    }
    let event_rows: i64 = sqlx::Row::get(
        &sqlx::query("SELECT COUNT(*) AS n FROM events")
            .fetch_one(pool)
            .await
            .expect("count"),
        "n",
    );
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
