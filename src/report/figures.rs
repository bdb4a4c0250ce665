//! Computing the published figures from the record's typed events.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::{AnnualReport, CaseLine, StageDates, StageFigures};
use crate::app::App;
use crate::case::calendar::Calendar;
use crate::case::model::{CaseKind, Event, Outcome, Stage};
use crate::config::ReportSettings;
use crate::report::dashboard::{Rate, percent};
use crate::store::StoreError;
use crate::store::figures::ReportCase;

/// A span of local dates, both ends included.
struct Period<'a> {
    calendar: &'a Calendar,
    from: NaiveDate,
    to: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl<'a> Period<'a> {
    fn new(calendar: &'a Calendar, from: NaiveDate, to: NaiveDate) -> Period<'a> {
        Period {
            calendar,
            from,
            to,
            start: calendar.close_of_business(from) - chrono::Duration::hours(24),
            end: calendar.close_of_business(to) + chrono::Duration::hours(7),
        }
    }

    fn contains(&self, t: DateTime<Utc>) -> bool {
        let day = self.calendar.local_date(t);
        t > self.start && t <= self.end && day >= self.from && day <= self.to
    }
}

/// Counts keyed by a label, turned into (label, count) most first.
#[derive(Default)]
struct Tally {
    areas: BTreeMap<String, i64>,
    themes: BTreeMap<String, i64>,
    findings: BTreeMap<(String, String), i64>,
    refusals: BTreeMap<String, i64>,
    escalations: BTreeMap<String, i64>,
    /// The landlord's escalation categories (category → words).
    categories: BTreeMap<String, Vec<String>>,
}

fn most_first(counts: BTreeMap<String, i64>) -> Vec<(String, i64)> {
    let mut counts: Vec<(String, i64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

impl Tally {
    fn finish(self, report: &mut AnnualReport) {
        let total = report.stage1.received;
        let mut areas: Vec<(String, i64, i64)> = self
            .areas
            .into_iter()
            .map(|(a, n)| (a, n, percent(n, total)))
            .collect();
        areas.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if let Some((_, n, _)) = areas.iter().find(|(a, ..)| a == UNASSIGNED) {
            tracing::warn!(
                complaints = n,
                "stage 1 complaints with no service area are shown as \"{UNASSIGNED}\": correct them before publishing"
            );
        }
        report.stage1_by_area = areas;
        report.themes = most_first(self.themes);
        report.refusal_reasons = most_first(self.refusals);
        report.ombudsman_findings = self
            .findings
            .into_iter()
            .map(|((f, a), n)| (f, a, n))
            .collect();
        report.escalation_reasons = most_first(self.escalations);
    }
}

/// Computes the report for `from..=to` (local dates), as the record stood at `now`.
pub async fn build(
    app: &App,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<AnnualReport, StoreError> {
    let period = Period::new(&app.rules.calendar, from, to);
    let cases = app.store.report_cases(now).await?;
    let customers = customers_list(&app.rules.settings.report)?;
    let mut report = AnnualReport::empty(from, to);
    report.organisation = app.rules.settings.organisation.name.clone();
    if let Some(dir) = &app.rules.settings.report.narrative_dir {
        report.narrative = super::narrative::read(dir).map_err(|error| StoreError::File {
            path: dir.display().to_string(),
            error,
        })?;
    }
    let mut tally = Tally {
        categories: app.rules.settings.report.escalation_categories.clone(),
        ..Tally::default()
    };
    for case in &cases {
        count_case(&mut report, &mut tally, case, &period, customers.as_ref());
    }
    tally.finish(&mut report);
    headline_measures(&mut report, &app.rules.settings.report);
    report.trend = trend(&cases, &period);
    Ok(report)
}

/// The landlord's list of customers' addresses, where configured.
fn customers_list(settings: &ReportSettings) -> Result<Option<HashSet<String>>, StoreError> {
    let Some(path) = &settings.customers_file else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|error| StoreError::File {
        path: path.display().to_string(),
        error,
    })?;
    Ok(Some(
        text.lines()
            .map(|l| l.trim().to_ascii_lowercase())
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect(),
    ))
}

/// How a complaint with no service area yet is shown in a published page.
pub const UNASSIGNED: &str = "not yet assigned";

/// Everything one case adds to the report.
fn count_case(
    report: &mut AnnualReport,
    tally: &mut Tally,
    case: &ReportCase,
    period: &Period<'_>,
    customers: Option<&HashSet<String>>,
) {
    let received_in_period = period.contains(case.received_at);
    let source = case_source(case, customers);
    if let Some(line) = case_line(case, source, period) {
        if line.kind == "complaint" && (received_in_period || review_requested_in(case, period)) {
            if source == "customer" {
                report.from_customers += 1
            } else {
                report.from_community += 1
            }
        }
        report.cases.push(line);
    }
    if received_in_period {
        match case.kind {
            CaseKind::Compliment => report.compliments += 1,
            CaseKind::Feedback => report.feedback += 1,
            CaseKind::ServiceRequest => report.service_requests += 1,
            _ => {}
        }
    }
    // Stage 1: a complaint received in the period.
    if case.kind == CaseKind::Complaint && received_in_period {
        stage_figures(&mut report.stage1, case, Stage::Stage1);
        let area = case.service_area.as_deref().unwrap_or(UNASSIGNED);
        *tally.areas.entry(area.to_string()).or_default() += 1;
        for theme in &case.themes {
            *tally.themes.entry(theme.clone()).or_default() += 1;
        }
    }
    count_escalations(report, tally, case, period);
    issued_figures(report, case, period);
    count_resolution(report, case, period);
    count_period_events(report, tally, case, period);
}

/// The landlord's category for an escalation's reason (`[report.escalation_categories]`: the
/// first whose words occur in the reason or the resident's words), "Other reasons" when none
/// does; the reason itself when no categories are configured.
fn escalation_category(
    categories: &BTreeMap<String, Vec<String>>,
    reason: &str,
    words: Option<&str>,
) -> String {
    if categories.is_empty() {
        return reason.to_string();
    }
    let text = format!("{reason} {}", words.unwrap_or_default()).to_lowercase();
    categories
        .iter()
        .find(|(_, keys)| keys.iter().any(|k| text.contains(&k.to_lowercase())))
        .map_or_else(|| "Other reasons".to_string(), |(name, _)| name.clone())
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

/// Whether a stage 2 review was requested in the period.
fn review_requested_in(case: &ReportCase, period: &Period<'_>) -> bool {
    case.events
        .iter()
        .any(|(at, e)| matches!(e, Event::Escalated { .. }) && period.contains(*at))
}

/// Stage 2: a review requested in the period, and why.
fn count_escalations(
    report: &mut AnnualReport,
    tally: &mut Tally,
    case: &ReportCase,
    period: &Period<'_>,
) {
    let mut requested = false;
    for (at, event) in &case.events {
        if let Event::Escalated { detail, .. } = event
            && period.contains(*at)
        {
            requested = true;
            let reason = detail.reason.clone().unwrap_or_else(|| {
                "the customer asked by mail, still dissatisfied after the stage 1 response".into()
            });
            let grouped = escalation_category(&tally.categories, &reason, detail.words.as_deref());
            *tally.escalations.entry(grouped).or_default() += 1;
        }
    }
    if requested {
        stage_figures(&mut report.stage2, case, Stage::Stage2);
    }
}

/// A resolution given in the period, by the stage at which the case concluded.
fn count_resolution(report: &mut AnnualReport, case: &ReportCase, period: &Period<'_>) {
    let last = case.events.iter().rev().find_map(|(at, e)| match e {
        Event::Responded {
            stage,
            outcome,
            actions,
            ..
        } if period.contains(*at) => Some((*stage, *outcome, actions.is_empty())),
        _ => None,
    });
    let Some((stage, outcome, no_actions)) = last else {
        return;
    };
    report.resolutions += 1;
    if stage == Stage::Stage2 {
        report.concluded_stage2 += 1;
        if outcome == Outcome::NotUpheld && no_actions {
            report.stage2_no_further_action += 1;
        }
    } else {
        report.concluded_stage1 += 1;
    }
}

/// Refusals and Ombudsman referrals and findings recorded in the period.
fn count_period_events(
    report: &mut AnnualReport,
    tally: &mut Tally,
    case: &ReportCase,
    period: &Period<'_>,
) {
    let determined_in_period = case
        .events
        .iter()
        .any(|(at, e)| matches!(e, Event::OmbudsmanFinding { .. }) && period.contains(*at));
    report.ombudsman_determined += i64::from(determined_in_period);
    let by_end = |at: &DateTime<Utc>| *at <= period.end;
    let referred = case
        .events
        .iter()
        .any(|(at, e)| matches!(e, Event::OmbudsmanReferral { .. }) && by_end(at));
    let determined = case
        .events
        .iter()
        .any(|(at, e)| matches!(e, Event::OmbudsmanFinding { .. }) && by_end(at));
    report.ombudsman_open += i64::from(referred && !determined);
    for (_, event) in case.events.iter().filter(|(at, _)| period.contains(*at)) {
        match event {
            Event::Refused { reason, .. } => {
                report.refused += 1;
                let ground = crate::case::actions::refusal_ground(reason);
                *tally.refusals.entry(ground.to_string()).or_default() += 1;
            }
            Event::OmbudsmanReferral { .. } => report.ombudsman_referrals += 1,
            Event::OmbudsmanFinding { finding, area, .. } => {
                let key = (finding.as_str().to_string(), area.as_str().to_string());
                *tally.findings.entry(key).or_default() += 1;
            }
            _ => {}
        }
    }
}

/// CH01 (per 1,000 homes, where the number of homes is configured) and CH02.
fn headline_measures(report: &mut AnnualReport, settings: &ReportSettings) {
    if let Some(homes) = settings.homes_owned.filter(|h| *h > 0) {
        let per_1000 = |n: i64| ((n as f64) * 1000.0 / f64::from(homes) * 100.0).round() / 100.0;
        report.ch01_stage1_per_1000_homes = Some(per_1000(report.stage1.received));
        report.ch01_stage2_per_1000_homes = Some(per_1000(report.stage2.received));
    } else {
        tracing::warn!("CH01 (complaints per 1,000 homes) is left out: set report.homes_owned");
    }
    let on_time = |r: Rate| percent(r.on_time, r.total);
    report.ch02_stage1_percent = on_time(report.stage1.responded_in_time);
    report.ch02_stage2_percent = on_time(report.stage2.responded_in_time);
}

/// Complaints received in this period and the two before it: whole years back when the period
/// is a year (a financial year stays 1 April to 31 March across a leap year), else periods of
/// the same length.
fn trend(cases: &[ReportCase], period: &Period<'_>) -> Vec<(String, i64)> {
    let days = (period.to - period.from).num_days() + 1;
    let a_year = period
        .from
        .checked_add_months(chrono::Months::new(12))
        .is_some_and(|next| next.pred_opt() == Some(period.to));
    (0..3u32)
        .rev()
        .map(|back| {
            let (f, t) = if a_year {
                let months = chrono::Months::new(12 * back);
                (
                    period
                        .from
                        .checked_sub_months(months)
                        .unwrap_or(period.from),
                    period.to.checked_sub_months(months).unwrap_or(period.to),
                )
            } else {
                let shift = chrono::Duration::days(days * i64::from(back));
                (period.from - shift, period.to - shift)
            };
            let n = cases
                .iter()
                .filter(|c| c.kind == CaseKind::Complaint)
                .filter(|c| {
                    let d = period.calendar.local_date(c.received_at);
                    d >= f && d <= t
                })
                .count() as i64;
            (format!("{f} to {t}"), n)
        })
        .collect()
}

/// Customer, or neighbour / wider community: the handler's flag first, then the customers file.
fn case_source(case: &ReportCase, customers: Option<&HashSet<String>>) -> &'static str {
    let flagged = case.events.iter().rev().find_map(|(_, e)| match e {
        Event::SourceSet { source } => Some(source.as_str()),
        _ => None,
    });
    if let Some(source) = flagged {
        return source;
    }
    by_address(customers, case.customer_address.as_deref())
}

/// Customer or community by the customers file alone (everyone is a customer without one).
fn by_address(customers: Option<&HashSet<String>>, address: Option<&str>) -> &'static str {
    match (customers, address) {
        (Some(list), Some(address)) if !list.contains(&address.to_ascii_lowercase()) => "community",
        (Some(_), None) => "community",
        _ => "customer",
    }
}

/// Who complained, as the report counts a case from `address` with no handler's flag: what a
/// purge records before it blanks the address, so the published figures stay the same.
pub fn source_by_address(
    settings: &crate::config::ReportSettings,
    address: Option<&str>,
) -> Result<crate::case::model::Source, StoreError> {
    let customers = customers_list(settings)?;
    let source = by_address(customers.as_ref(), address);
    Ok(crate::case::model::Source::parse(source).unwrap_or(crate::case::model::Source::Customer))
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

/// A complaint received (stage 1) or a review requested (stage 2) in the period: counted, with
/// whether it was acknowledged in time (the received base).
fn stage_figures(figures: &mut StageFigures, case: &ReportCase, stage: Stage) {
    figures.received += 1;
    if let Some(on_time) = letter_on_time(case, StageLetter::Acknowledgement, stage) {
        figures.acknowledged_in_time.total += 1;
        figures.acknowledged_in_time.on_time += i64::from(on_time);
    }
}

/// A stage response issued in the period, whenever the complaint came: its timeliness (an
/// answer within an extension the Code allows counts as in time), whether the stage was
/// extended, and its outcome. This is the issued base the Regulator's CH02 and the landlord's
/// own report use ("the complaints that resolutions were provided for"), so a closed year's
/// figures do not move when the report is run again later.
fn issued_figures(report: &mut AnnualReport, case: &ReportCase, period: &Period<'_>) {
    for stage in [Stage::Stage1, Stage::Stage2] {
        let first = case.events.iter().find_map(|(at, e)| match e {
            Event::Responded {
                stage: s,
                outcome,
                on_time,
                ..
            } if *s == stage => Some((*at, *outcome, *on_time == Some(true))),
            _ => None,
        });
        let Some((_, outcome, on_time)) = first.filter(|(at, ..)| period.contains(*at)) else {
            continue;
        };
        let figures = match stage {
            Stage::Stage1 => &mut report.stage1,
            Stage::Stage2 => &mut report.stage2,
        };
        figures.responses_issued += 1;
        figures.responded_in_time.total += 1;
        figures.responded_in_time.on_time += i64::from(on_time);
        figures.extended.total += 1;
        if extended_at(case, stage) {
            figures.extended.on_time += 1;
            if on_time {
                figures.answered_within_extension += 1;
            }
        }
        match outcome {
            Outcome::Upheld => figures.upheld += 1,
            Outcome::PartlyUpheld => figures.partly_upheld += 1,
            Outcome::NotUpheld => figures.not_upheld += 1,
        }
    }
}

/// The case's row, when anything about it happened in the period.
fn case_line(case: &ReportCase, source: &str, period: &Period<'_>) -> Option<CaseLine> {
    if !period.contains(case.received_at) && !case.events.iter().any(|(at, _)| period.contains(*at))
    {
        return None;
    }
    let on_time = |letter, stage| letter_on_time(case, letter, stage);
    let outcome = |stage| outcome_at(case, stage).map(|o| o.as_str().to_string());
    let has = |pred: fn(&Event) -> bool| case.events.iter().any(|(_, e)| pred(e));
    Some(CaseLine {
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
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_steps_back_whole_financial_years_across_a_leap_year() {
        let calendar = crate::case::calendar::testing::england();
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let period = Period::new(&calendar, date(2024, 4, 1), date(2025, 3, 31));
        let labels: Vec<String> = trend(&[], &period).into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            labels,
            [
                "2022-04-01 to 2023-03-31",
                "2023-04-01 to 2024-03-31",
                "2024-04-01 to 2025-03-31"
            ]
        );
        let quarter = Period::new(&calendar, date(2025, 1, 1), date(2025, 3, 31));
        let labels: Vec<String> = trend(&[], &quarter).into_iter().map(|(l, _)| l).collect();
        assert_eq!(
            labels[1], "2024-10-03 to 2024-12-31",
            "other periods step back their own length"
        );
    }

    #[test]
    fn escalations_fall_into_the_landlords_categories() {
        let mut categories = BTreeMap::new();
        categories.insert(
            "Repairs still not done".to_string(),
            vec!["repair".to_string(), "not fixed".into()],
        );
        categories.insert(
            "Communication".to_string(),
            vec!["no reply".to_string(), "never called".into()],
        );
        assert_eq!(
            escalation_category(&categories, "phoned", Some("The boiler is still not fixed")),
            "Repairs still not done"
        );
        assert_eq!(
            escalation_category(&categories, "They never called back", None),
            "Communication"
        );
        assert_eq!(
            escalation_category(&categories, "unhappy", None),
            "Other reasons"
        );
        assert_eq!(
            escalation_category(&BTreeMap::new(), "unhappy", None),
            "unhappy",
            "no categories: the reason itself"
        );
    }

    #[test]
    fn refusals_fall_under_the_codes_grounds() {
        use crate::case::actions::{REFUSAL_REASONS, refusal_ground};
        assert_eq!(
            refusal_ground(&format!("{}. The leak was in 2023.", REFUSAL_REASONS[0])),
            REFUSAL_REASONS[0]
        );
        assert_eq!(
            refusal_ground("The tenant has issued a claim in the county court"),
            REFUSAL_REASONS[1]
        );
        assert_eq!(
            refusal_ground("already investigated in CMP-2025-000010"),
            REFUSAL_REASONS[2]
        );
        assert_eq!(refusal_ground("abusive"), REFUSAL_REASONS[3]);
    }
}
