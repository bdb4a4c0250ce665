//! Benchmark: classifier throughput over the labelled corpus (parse + classify each mail).
//! `cargo bench --bench classify` reports the time per corpus pass; mails/s = corpus size / time.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use redress::intake::classify::Classifier;

fn corpus() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read(p).expect("mail"))
        .collect()
}

fn throughput(c: &mut Criterion) {
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/classification.toml"
    ))
    .expect("rules");
    let classifier =
        Classifier::new("example.org", "complaints@example.org", &rules).expect("rules compile");
    let mails = corpus();
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(mails.len() as u64));
    group.bench_function(
        format!("parse + classify the {}-mail corpus", mails.len()),
        |b| {
            b.iter(|| {
                for raw in &mails {
                    let mail = redress::intake::mail::parse(black_box(raw));
                    black_box(classifier.classify(&mail, None));
                }
            })
        },
    );
    let parsed: Vec<_> = mails
        .iter()
        .map(|raw| redress::intake::mail::parse(raw))
        .collect();
    group.bench_function("classify only (already parsed)", |b| {
        b.iter(|| {
            for mail in &parsed {
                black_box(classifier.classify(black_box(mail), None));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
