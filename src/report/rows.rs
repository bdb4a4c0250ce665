//! The report's rows: one per case received or with anything recorded in the period, with when
//! each step of each stage happened and was due, so a landlord can recompute every figure. Read
//! one case at a time from the store and written straight out (CSV, or JSON after the figures),
//! so a year of a million cases is never all in memory.

use std::collections::HashSet;
use std::io::Write;

use chrono::{DateTime, NaiveDate, Utc};

use super::figures::{customers_list, source, span};
use super::{AnnualReport, CaseLine, StageDates};
use crate::app::App;
use crate::case::model::{Event, Outcome, Stage};
use crate::store::StoreError;
use crate::store::figures::ReportCase;

/// Why the rows could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the report: {0}")]
    Write(#[from] std::io::Error),
    #[error("cannot write the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("cannot write the report as CSV: {0}")]
    Csv(#[from] csv::Error),
}

/// Hands each case's row for `from..=to`, as the record stood at `now`, to `each`.
pub async fn each_line<E: From<StoreError>>(
    app: &App,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    mut each: impl FnMut(CaseLine) -> Result<(), E>,
) -> Result<(), E> {
    let customers = customers_list(&app.rules.settings.report)?;
    let period = span(&app.rules.calendar, from, to);
    app.store
        .each_report_case(period, now, |case| {
            let source = case_source(&case, customers.as_ref());
            each(case_line(&case, source))
        })
        .await
}

/// The columns of [`write_csv`], in order.
const CSV_HEADER: [&str; 29] = [
    "reference",
    "kind",
    "received_at",
    "source",
    "service_area",
    "themes",
    "stage1_acknowledged_on_time",
    "stage1_responded_on_time",
    "stage1_extended",
    "stage1_outcome",
    "stage2_requested",
    "stage2_acknowledged_on_time",
    "stage2_responded_on_time",
    "stage2_extended",
    "stage2_outcome",
    "concluded_stage",
    "refused",
    "ombudsman_findings",
    "stage1_acknowledge_due",
    "stage1_acknowledged_at",
    "stage1_extended_at",
    "stage1_response_due",
    "stage1_responded_at",
    "stage2_requested_at",
    "stage2_acknowledge_due",
    "stage2_acknowledged_at",
    "stage2_extended_at",
    "stage2_response_due",
    "stage2_responded_at",
];

/// One row per case, as CSV (RFC 4180, CRLF line ends), written to `out` as the rows are read.
pub async fn write_csv(
    app: &App,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
    out: &mut (dyn Write + Send),
) -> Result<(), ExportError> {
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    csv.write_record(CSV_HEADER)?;
    each_line(app, from, to, now, |line| {
        csv.write_record(csv_cells(&line))
            .map_err(ExportError::from)
    })
    .await?;
    Ok(csv.flush()?)
}

/// The figures as JSON, with the rows as `cases` after them, written to `out` as they are read.
pub async fn write_json(
    app: &App,
    report: &AnnualReport,
    now: DateTime<Utc>,
    out: &mut (dyn Write + Send),
) -> Result<(), ExportError> {
    let figures = serde_json::to_string_pretty(report)?;
    let open = figures.trim_end().strip_suffix('}').unwrap_or(&figures);
    out.write_all(open.trim_end().as_bytes())?;
    out.write_all(b",\n  \"cases\": [")?;
    let mut first = true;
    each_line(app, report.from, report.to, now, |line| {
        out.write_all(if first { b"\n    " } else { b",\n    " })?;
        first = false;
        serde_json::to_writer(&mut *out, &line)?;
        Ok::<(), ExportError>(())
    })
    .await?;
    out.write_all(b"\n  ]\n}\n")?;
    Ok(out.flush()?)
}

/// Customer, or neighbour / wider community ([`source`]), by the case's latest flag.
fn case_source(case: &ReportCase, customers: Option<&HashSet<String>>) -> &'static str {
    let flagged = case.events.iter().rev().find_map(|(_, e)| match e {
        Event::SourceSet { source } => Some(source.as_str()),
        _ => None,
    });
    source(flagged, customers, case.customer_address.as_deref())
}

/// When the stage's steps happened and were due, from the record's events (the last deadline set
/// for each step is the one that held).
fn stage_dates(case: &ReportCase, stage: Stage) -> StageDates {
    let (ack, response) = stage.deadline_kinds();
    let mut dates = StageDates::default();
    for (at, event) in &case.events {
        match event {
            Event::Escalated {
                to_stage,
                requested_at,
                ..
            } if *to_stage == stage => {
                dates.requested_at = Some(*requested_at);
            }
            Event::DeadlineSet { kind, due_at, .. }
            | Event::DeadlineRecomputed { kind, due_at, .. } => {
                if *kind == ack {
                    dates.acknowledge_due = Some(*due_at);
                } else if *kind == response {
                    dates.response_due = Some(*due_at);
                }
            }
            Event::Acknowledged { stage: s, .. }
                if *s == stage && dates.acknowledged_at.is_none() =>
            {
                dates.acknowledged_at = Some(*at);
            }
            Event::Extended {
                stage: s, due_at, ..
            } if *s == stage => {
                dates.extended_at = Some(*at);
                dates.response_due = Some(*due_at);
            }
            Event::Responded { stage: s, .. } if *s == stage && dates.responded_at.is_none() => {
                dates.responded_at = Some(*at);
            }
            _ => {}
        }
    }
    dates
}

/// Which of a stage's two letters.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StageLetter {
    Acknowledgement,
    Response,
}

/// Whether the stage's letter went on time: `None` when it has not gone and is not yet late.
fn letter_on_time(case: &ReportCase, letter: StageLetter, stage: Stage) -> Option<bool> {
    let sent = case.events.iter().find_map(|(_, e)| match (letter, e) {
        // Older acknowledgements may not say; a response counts only when it says it was on time.
        (
            StageLetter::Acknowledgement,
            Event::Acknowledged {
                stage: s, on_time, ..
            },
        ) if *s == stage => Some(*on_time != Some(false)),
        (
            StageLetter::Response,
            Event::Responded {
                stage: s, on_time, ..
            },
        ) if *s == stage => Some(*on_time == Some(true)),
        _ => None,
    });
    let (ack, response) = stage.deadline_kinds();
    let deadline = match letter {
        StageLetter::Acknowledgement => ack,
        StageLetter::Response => response,
    };
    sent.or_else(|| case.overdue_deadlines.contains(&deadline).then_some(false))
}

fn extended_at(case: &ReportCase, stage: Stage) -> bool {
    case.events
        .iter()
        .any(|(_, e)| matches!(e, Event::Extended { stage: s, .. } if *s == stage))
}

fn outcome_at(case: &ReportCase, stage: Stage) -> Option<Outcome> {
    case.events.iter().find_map(|(_, e)| match e {
        Event::Responded {
            stage: s, outcome, ..
        } if *s == stage => Some(*outcome),
        _ => None,
    })
}

/// The case's row.
fn case_line(case: &ReportCase, source: &str) -> CaseLine {
    let on_time = |letter, stage| letter_on_time(case, letter, stage);
    let outcome = |stage| outcome_at(case, stage).map(|o| o.as_str().to_string());
    let has = |pred: fn(&Event) -> bool| case.events.iter().any(|(_, e)| pred(e));
    CaseLine {
        reference: case.reference.clone(),
        kind: case.kind.as_str().to_string(),
        received_at: case.received_at,
        source: source.to_string(),
        service_area: case.service_area.clone(),
        themes: case.themes.clone(),
        stage1_acknowledged_on_time: on_time(StageLetter::Acknowledgement, Stage::Stage1),
        stage1_responded_on_time: on_time(StageLetter::Response, Stage::Stage1),
        stage1_extended: extended_at(case, Stage::Stage1),
        stage1_outcome: outcome(Stage::Stage1),
        stage2_requested: has(|e| matches!(e, Event::Escalated { .. })),
        stage2_acknowledged_on_time: on_time(StageLetter::Acknowledgement, Stage::Stage2),
        stage2_responded_on_time: on_time(StageLetter::Response, Stage::Stage2),
        stage2_extended: extended_at(case, Stage::Stage2),
        stage2_outcome: outcome(Stage::Stage2),
        concluded_stage: case.events.iter().rev().find_map(|(_, e)| match e {
            Event::Responded { stage, .. } => Some(stage.as_str().to_string()),
            _ => None,
        }),
        refused: has(|e| matches!(e, Event::Refused { .. })),
        stage1_dates: stage_dates(case, Stage::Stage1),
        stage2_dates: stage_dates(case, Stage::Stage2),
        ombudsman_findings: case
            .events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::OmbudsmanFinding { finding, area, .. } => {
                    Some(format!("{} ({})", finding.as_str(), area.as_str()))
                }
                _ => None,
            })
            .collect(),
    }
}

/// A case's row: the cells of [`CSV_HEADER`]'s columns.
fn csv_cells(c: &CaseLine) -> [String; CSV_HEADER.len()] {
    fn flag(value: Option<bool>) -> String {
        match value {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => String::new(),
        }
    }
    let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let (s1, s2) = (&c.stage1_dates, &c.stage2_dates);
    [
        c.reference.clone(),
        c.kind.clone(),
        c.received_at.to_rfc3339(),
        c.source.clone(),
        c.service_area.clone().unwrap_or_default(),
        c.themes.join("; "),
        flag(c.stage1_acknowledged_on_time),
        flag(c.stage1_responded_on_time),
        flag(Some(c.stage1_extended)),
        c.stage1_outcome.clone().unwrap_or_default(),
        flag(Some(c.stage2_requested)),
        flag(c.stage2_acknowledged_on_time),
        flag(c.stage2_responded_on_time),
        flag(Some(c.stage2_extended)),
        c.stage2_outcome.clone().unwrap_or_default(),
        c.concluded_stage.clone().unwrap_or_default(),
        flag(Some(c.refused)),
        c.ombudsman_findings.join("; "),
        time(s1.acknowledge_due),
        time(s1.acknowledged_at),
        time(s1.extended_at),
        time(s1.response_due),
        time(s1.responded_at),
        time(s2.requested_at),
        time(s2.acknowledge_due),
        time(s2.acknowledged_at),
        time(s2.extended_at),
        time(s2.response_due),
        time(s2.responded_at),
    ]
}
