//! `redress import-history FILE.csv` and `redress train`: teaching the classifier from a
//! landlord's earlier cases and from the cases people corrected here.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::app::App;
use crate::case::model::CaseKind;
use crate::clock::Clock;
use crate::intake::classify::Classifier;
use crate::intake::learned::{Learned, TrainingExample, read_history};

/// Reads `file` ([`read_history`]'s CSV) and keeps each row as a training example. A row that cannot be used is named on
/// standard error and skipped; nothing else is lost.
pub(super) async fn import_history(app: &App, file: &Path, clock: &Clock) -> Result<()> {
    let records = read_history(file).with_context(|| format!("cannot read {}", file.display()))?;
    let bar = super::records::progress(records.len() as u64, "importing");
    let (mut kept, mut held, mut refused) = (0, 0, 0);
    for (n, example) in records.iter().enumerate() {
        let line = n + 2;
        if let Some(problem) = unusable(example) {
            eprintln!("{}:{line}: skipped: {problem}", file.display());
            refused += 1;
        } else if app
            .store
            .add_training_example(example, "import", clock.now())
            .await?
        {
            kept += 1;
        } else {
            held += 1;
        }
        if let Some(bar) = &bar {
            bar.inc(1);
        }
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    println!(
        "imported {kept} examples ({held} already held, {refused} skipped); run `redress train` to learn from them"
    );
    Ok(())
}

/// Why an example cannot be learned from, if it cannot.
fn unusable(example: &TrainingExample) -> Option<String> {
    if example.text.is_empty() {
        return Some("no text".into());
    }
    if example.kind.is_none() && example.area.is_none() {
        return Some("neither a kind nor an area".into());
    }
    match example.kind.as_deref() {
        Some(kind) if CaseKind::parse(kind).is_none() => Some(format!(
            "kind `{kind}`: use complaint, service_request, compliment or feedback"
        )),
        _ => None,
    }
}

/// Fits the models on every example: those imported and the cases people corrected. Prints how
/// many examples each label has and, on the tenth of them held out, how often it is right.
pub(super) async fn train(app: &App, clock: &Clock) -> Result<()> {
    let mut examples = app.store.training_examples().await?;
    for case in app.store.corrected_cases().await? {
        if let Some(raw) = app.store.raw_message(case.message_row).await? {
            examples.push(TrainingExample {
                text: Classifier::own_words(&crate::intake::mail::parse(&raw)),
                kind: Some(case.kind),
                area: case.area,
            });
        }
    }
    if examples.is_empty() {
        bail!("nothing to learn from yet: correct cases, or run `redress import-history FILE.csv`");
    }
    let (held_out, training): (Vec<_>, Vec<_>) =
        examples.iter().enumerate().partition(|(i, _)| i % 10 == 9);
    let training: Vec<&TrainingExample> = training.into_iter().map(|(_, e)| e).collect();
    let trial = Learned::fit(training.iter().copied());
    for (question, model, label) in [
        (
            "kind",
            &trial.kind,
            (|e: &TrainingExample| e.kind.clone()) as fn(&TrainingExample) -> Option<String>,
        ),
        ("area", &trial.area, |e: &TrainingExample| e.area.clone()),
    ] {
        let asked: Vec<_> = held_out
            .iter()
            .filter_map(|(_, e)| Some((e, label(e)?)))
            .collect();
        let right = asked
            .iter()
            .filter(|(e, truth)| model.predict(&e.text).is_some_and(|p| &p.label == truth))
            .count();
        println!(
            "{question}: right on {right} of {} held-out examples",
            asked.len()
        );
    }
    let learned = Learned::fit(&examples);
    for (question, model) in [("kind", &learned.kind), ("area", &learned.area)] {
        for (label, n) in model.examples() {
            println!("  {question} {label}: {n} examples");
        }
    }
    app.store
        .save_model(
            &serde_json::to_string(&learned)?,
            examples.len() as i64,
            clock.now(),
        )
        .await?;
    println!(
        "trained on {} examples; the daemon uses it from its next start or reload",
        examples.len()
    );
    Ok(())
}
