//! Benchmark: the web app's case lists over 100,000 cases (SQLite). `cargo bench --bench web`
//! records CASES cases (default 100,000), each with its open deadlines, then times the pages a
//! handler opens most, through the real router without a socket, beside the reference figure:
//! the same database's bare `SELECT COUNT(*)` and a 50-row page by id, through the store.
//! Target: every list under 200 ms on a 2-core machine.

mod common;

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, header};
use chrono::{DateTime, Duration, Utc};
use http_body_util::BodyExt;
use redress::accounts::{Role, hash_password};
use redress::app::App;
use redress::case::deadlines::{Deadline, DeadlineKind};
use redress::case::model::{CaseKind, Stage};
use redress::clock::Clock;
use redress::store::{CaseFilter, NewCase};
use redress::web::{Web, router};
use tower::ServiceExt;

const OWNERS: [&str; 20] = [
    "a@l.test",
    "b@l.test",
    "c@l.test",
    "d@l.test",
    "e@l.test",
    "f@l.test",
    "g@l.test",
    "h@l.test",
    "i@l.test",
    "j@l.test",
    "k@l.test",
    "l@l.test",
    "m@l.test",
    "n@l.test",
    "o@l.test",
    "p@l.test",
    "q@l.test",
    "r@l.test",
    "s@l.test",
    "handler@l.test",
];

async fn build(app: &App, count: i64, now: DateTime<Utc>) {
    let mut n = 0;
    while n < count {
        let mut tx = app.store.begin().await.expect("tx");
        for _ in 0..1000.min(count - n) {
            let received = now - Duration::minutes(n * 7 % (3 * 365 * 24 * 60));
            let open = n % 5 != 0;
            let case = NewCase {
                kind: CaseKind::Complaint,
                stage: Some(if n % 10 == 0 {
                    Stage::Stage2
                } else {
                    Stage::Stage1
                }),
                customer_address: Some(format!("tenant{n}@example.test")),
                customer_name: Some(format!("Tenant {n} Smith")),
                subject: format!("Repair number {n} not done"),
                received_at: received,
                attention_reason: (n % 97 == 0).then(|| "check".to_string()),
                service_area: Some(
                    ["Repairs", "Communities", "Asset management"][(n % 3) as usize].into(),
                ),
                owner: Some(OWNERS[(n % 20) as usize].into()),
                themes: Vec::new(),
                hazard: None,
                representative: false,
                postal_address: None,
            };
            let id = tx
                .insert_case(&format!("CMP-W-{n:07}"), &case, received)
                .await
                .expect("case");
            if open {
                for (kind, days) in [
                    (DeadlineKind::Stage1Acknowledgement, 5),
                    (DeadlineKind::Stage1Response, 15),
                ] {
                    let deadline = Deadline {
                        kind,
                        due_at: received + Duration::days(days),
                        rule: "bench".into(),
                    };
                    tx.insert_deadline(id, &deadline, received)
                        .await
                        .expect("deadline");
                }
            }
            n += 1;
        }
        tx.commit().await.expect("commit");
    }
}

/// Median of five runs of `f`, in milliseconds.
async fn median_ms<F, Fut>(mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        f().await;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[2]
}

#[tokio::main]
async fn main() {
    let count = common::cases(100_000);
    let (_dir, app) = common::bench_app("[web]\nlisten = \"127.0.0.1:0\"\n").await;
    let now = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
        .expect("now")
        .with_timezone(&Utc);
    let started = Instant::now();
    build(&app, count, now).await;
    println!(
        "recorded {count} cases with their deadlines in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let hash = hash_password("bench password 2026").expect("hash");
    app.store
        .add_account("handler@l.test", "Handler", Role::Handler, Some(&hash), now)
        .await
        .expect("account");
    let app = Arc::new(app);
    let router = router(Web::new(app.clone(), Clock::starting_at(now)));
    let mut sign_in = Request::post("/signin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(
            "email=handler%40l.test&password=bench+password+2026",
        ))
        .expect("request");
    sign_in
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            1,
        ))));
    let response = router.clone().oneshot(sign_in).await.expect("sign in");
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("cookie")
        .to_string();

    let reference_count = median_ms(|| async {
        app.store
            .case_page(&CaseFilter::default(), 0, 0)
            .await
            .expect("count");
    })
    .await;
    println!(
        "reference: the store's newest 50 cases and COUNT(*) over {count}: {reference_count:.1} ms"
    );
    let mut worst: f64 = 0.0;
    for path in [
        "/",
        "/cases",
        "/cases?page=1000",
        "/cases?due=week&status=open",
        "/cases?due=overdue&status=open",
        "/cases?q=smith+4242",
        "/cases?stage=stage2&area=Repairs",
        "/cases?flagged=yes",
    ] {
        let ms = median_ms(|| async {
            let request = Request::get(path)
                .header(header::COOKIE, &cookie)
                .body(Body::empty())
                .expect("request");
            let response = router.clone().oneshot(request).await.expect("page");
            assert!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            let _ = response.into_body().collect().await.expect("body");
        })
        .await;
        worst = worst.max(ms);
        println!("GET {path:<40} {ms:>8.1} ms (median of 5)");
    }
    println!("slowest list: {worst:.1} ms; target under 200 ms");
}
