//! Benchmark: how well redress files mail it never saw. `EVAL_CSV=held-out.csv cargo bench
//! --bench classify_eval` classifies each row of a held-out set (the `redress import-history`
//! format: `text`, `kind`, `area`) that neither the rules nor the model saw while being written
//! or trained, and prints precision and recall per kind and accuracy per service area: for the
//! rules alone, and, with `TRAIN_CSV=training.csv`, for the rules with the model fitted on it.
//! The aim (issue 12): 95% of complaints in the right area, and no complaint filed as anything
//! else. Nothing is measured without a held-out set: the fixtures in `tests/fixtures` were
//! written beside the rules and prove only that the rules match them.

use std::collections::BTreeMap;

use redress::intake::classify::Classifier;
use redress::intake::learned::{Learned, TrainingExample as Row, read_history};

/// The held-out (or training) rows of the CSV at `path`.
fn read(path: &str) -> Vec<Row> {
    read_history(std::path::Path::new(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Classifies each row as a new mail from a person; (kind, area) per row.
fn decide(classifier: &Classifier, rows: &[Row]) -> Vec<(String, Option<String>)> {
    rows.iter()
        .map(|row| {
            let raw = format!(
                "From: Resident <resident@example.net>\r\nSubject: \r\n\r\n{}\r\n",
                row.text.replace('\n', "\r\n")
            );
            let d = classifier.classify(&redress::intake::mail::parse(raw.as_bytes()), None);
            (d.kind.as_str().to_string(), d.service_area)
        })
        .collect()
}

fn report(title: &str, rows: &[Row], decided: &[(String, Option<String>)]) {
    println!("{title}:");
    let kinds: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r.kind.as_deref())
        .chain(decided.iter().map(|(k, _)| k.as_str()))
        .collect();
    for kind in kinds {
        let said = decided.iter().filter(|(k, _)| k == kind).count();
        let truth = rows
            .iter()
            .filter(|r| r.kind.as_deref() == Some(kind))
            .count();
        let both = rows
            .iter()
            .zip(decided)
            .filter(|(r, (k, _))| r.kind.as_deref() == Some(kind) && k == kind)
            .count();
        let ratio = |n: usize, d: usize| {
            if d == 0 {
                "-".to_string()
            } else {
                format!("{:.1}%", 100.0 * n as f64 / d as f64)
            }
        };
        println!(
            "  kind {kind:<16} precision {:>6} ({both}/{said})  recall {:>6} ({both}/{truth})",
            ratio(both, said),
            ratio(both, truth)
        );
    }
    let misfiled = rows
        .iter()
        .zip(decided)
        .filter(|(r, (k, _))| r.kind.as_deref() == Some("complaint") && k != "complaint")
        .count();
    println!("  complaints filed as something else: {misfiled} (aim: 0)");
    let mut areas: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (row, (_, area)) in rows.iter().zip(decided) {
        if let Some(truth) = row.area.as_deref() {
            let entry = areas.entry(truth).or_default();
            entry.1 += 1;
            entry.0 += usize::from(area.as_deref() == Some(truth));
        }
    }
    let (right, all) = areas.values().fold((0, 0), |(r, a), (x, y)| (r + x, a + y));
    for (area, (r, a)) in &areas {
        println!("  area {area:<32} {r}/{a}");
    }
    if all > 0 {
        println!(
            "  in the right area: {right}/{all} ({:.1}%)",
            100.0 * right as f64 / all as f64
        );
    }
    let complaints: Vec<bool> = rows
        .iter()
        .zip(decided)
        .filter(|(r, _)| r.kind.as_deref() == Some("complaint") && r.area.is_some())
        .map(|(r, (_, area))| area == &r.area)
        .collect();
    if !complaints.is_empty() {
        let right = complaints.iter().filter(|ok| **ok).count();
        println!(
            "  complaints in the right area: {right}/{} ({:.1}%; aim: 95%)",
            complaints.len(),
            100.0 * right as f64 / complaints.len() as f64
        );
    }
}

fn main() {
    let Ok(eval) = std::env::var("EVAL_CSV") else {
        println!(
            "classify_eval: set EVAL_CSV to a held-out CSV (text,kind,area) the rules and the model never saw; TRAIN_CSV to train the model on another"
        );
        return;
    };
    let rules = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/classification.toml"
    ))
    .expect("rules");
    let mut classifier =
        Classifier::new("example.org", "complaints@example.org", &rules).expect("rules compile");
    let rows = read(&eval);
    println!("{} held-out rows from {eval}", rows.len());
    report("rules alone", &rows, &decide(&classifier, &rows));
    if let Ok(train) = std::env::var("TRAIN_CSV") {
        let training = read(&train);
        classifier.learn(Learned::fit(&training));
        report(
            &format!(
                "rules with the model trained on {} rows of {train}",
                training.len()
            ),
            &rows,
            &decide(&classifier, &rows),
        );
    }
}
