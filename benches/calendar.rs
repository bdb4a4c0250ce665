//! Benchmark: computing Code deadlines. `cargo bench --bench calendar` reports the time for
//! 1,000,000 stage 1 deadline sets (acknowledgement + provisional response) from receipt times
//! spread over three years, England and Wales holidays.

use std::collections::BTreeMap;
use std::hint::black_box;

use chrono::{DateTime, NaiveTime};
use criterion::{Criterion, criterion_group, criterion_main};
use redress::case::calendar::{Calendar, parse_bank_holidays};
use redress::case::deadlines::DeadlinePolicy;

fn calendar() -> Calendar {
    let feed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/bank-holidays.json"
    ))
    .expect("feed");
    Calendar::new(
        chrono_tz::Europe::London,
        NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
        parse_bank_holidays(&feed, "england-and-wales").expect("holidays"),
        BTreeMap::new(),
    )
}

fn million_deadlines(c: &mut Criterion) {
    let cal = calendar();
    let policy = DeadlinePolicy::default();
    // 1,000,000 receipt instants, 97 seconds apart (about 3 years), from 1 January 2025.
    let start = 1_735_689_600i64;
    let mut group = c.benchmark_group("deadlines");
    group.sample_size(10);
    group.bench_function("1,000,000 stage 1 deadline sets", |b| {
        b.iter(|| {
            let mut last = None;
            for i in 0..1_000_000i64 {
                let received = DateTime::from_timestamp(start + i * 97, 0).expect("in range");
                last = policy.new_complaint(&cal, black_box(received)).pop();
            }
            black_box(last)
        })
    });
    group.bench_function(
        "1,000,000 single deadlines (deadline_after, 10 working days)",
        |b| {
            b.iter(|| {
                let mut last = None;
                for i in 0..1_000_000i64 {
                    let received = DateTime::from_timestamp(start + i * 97, 0).expect("in range");
                    last = Some(cal.deadline_after(black_box(received), 10));
                }
                black_box(last)
            })
        },
    );
    group.finish();
}

criterion_group!(benches, million_deadlines);
criterion_main!(benches);
