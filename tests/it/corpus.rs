//! The labelled corpus in `tests/fixtures/corpus/`: every mail gets the decision written beside
//! it in `expected.toml`. Prints per-kind precision and recall (`cargo test --test it corpus -- --nocapture`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use redress::intake::classify::{Classifier, Kind, KnownCase};

#[derive(Debug, serde::Deserialize)]
struct Expected {
    kind: Kind,
    case_stage: Option<String>,
    #[serde(default)]
    response_sent: bool,
}

fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

fn classifier() -> Classifier {
    let rules = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config/classification.toml"),
    )
    .expect("rules");
    Classifier::new("example.org", "complaints@example.org", &rules).expect("rules compile")
}

/// Classifies every mail in the corpus: (file, expected, got).
fn run() -> Vec<(String, Kind, Kind)> {
    let expected: BTreeMap<String, Expected> = toml::from_str(
        &std::fs::read_to_string(corpus().join("expected.toml")).expect("expected.toml"),
    )
    .expect("valid expected.toml");
    let classifier = classifier();
    expected
        .into_iter()
        .map(|(file, want)| {
            let raw = std::fs::read(corpus().join(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            let mail = redress::intake::mail::parse(&raw);
            let known = want.case_stage.as_ref().map(|stage| KnownCase {
                reference: "CMP-2026-000123".into(),
                found_by: "test".into(),
                stage: Some(stage.clone()),
                response_sent: want.response_sent,
            });
            let got = classifier.classify(&mail, known.as_ref()).kind;
            (file, want.kind, got)
        })
        .collect()
}

#[test]
fn the_corpus_is_large_and_covers_every_kind() {
    let results = run();
    assert!(results.len() >= 120, "only {} mails", results.len());
    for kind in [
        Kind::Automated,
        Kind::ReviewRequest,
        Kind::Reply,
        Kind::Compliment,
        Kind::ServiceRequest,
        Kind::Feedback,
        Kind::Complaint,
        Kind::Unreadable,
    ] {
        assert!(
            results.iter().any(|(_, want, _)| *want == kind),
            "no {kind:?} in the corpus"
        );
    }
}

#[test]
fn every_mail_gets_its_labelled_decision() {
    let results = run();
    let mut kinds: Vec<Kind> = results.iter().map(|(_, want, _)| *want).collect();
    kinds.sort_by_key(|k| k.as_str());
    kinds.dedup();
    println!(
        "{:<16} {:>5} {:>10} {:>8}",
        "kind", "mails", "precision", "recall"
    );
    for kind in &kinds {
        let truth = results.iter().filter(|(_, want, _)| want == kind).count();
        let predicted = results.iter().filter(|(_, _, got)| got == kind).count();
        let right = results
            .iter()
            .filter(|(_, want, got)| want == kind && got == kind)
            .count();
        let precision = if predicted == 0 {
            1.0
        } else {
            right as f64 / predicted as f64
        };
        let recall = right as f64 / truth as f64;
        println!(
            "{:<16} {:>5} {:>10.3} {:>8.3}",
            kind.as_str(),
            truth,
            precision,
            recall
        );
    }
    let wrong: Vec<String> = results
        .iter()
        .filter(|(_, want, got)| want != got)
        .map(|(file, want, got)| {
            format!("{file}: expected {}, got {}", want.as_str(), got.as_str())
        })
        .collect();
    println!("{} of {} right", results.len() - wrong.len(), results.len());
    assert!(wrong.is_empty(), "misclassified:\n{}", wrong.join("\n"));
}

#[test]
fn no_robot_is_ever_answered_and_no_person_is_taken_for_a_robot() {
    for (file, want, got) in run() {
        assert_eq!(
            want == Kind::Automated,
            got == Kind::Automated,
            "{file}: expected {want:?}, got {got:?}"
        );
    }
}
