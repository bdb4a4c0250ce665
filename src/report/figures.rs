//! Computing the published figures: counted in SQL over the period's rows
//! ([`crate::store::annual`]), then put together with the landlord's settings (escalation
//! categories, the customers list, the number of homes). Nothing here loads a case's events, so
//! a year's report over a million cases takes about a second (`cargo bench --bench report`).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};

use super::{AnnualReport, StageFigures};
use crate::app::App;
use crate::case::calendar::Calendar;
use crate::case::model::{CaseKind, Outcome, Stage};
use crate::config::ReportSettings;
use crate::report::dashboard::{Rate, percent};
use crate::store::annual::{
    Asked, Complainants, Concluded, Escalation, Issued, ReceivedGroup, Span,
};
use crate::store::{Store, StoreError};

/// The instants of a period of local dates, both ends included: from the start of `from` up to
/// the start of the day after `to`.
pub fn span(calendar: &Calendar, from: NaiveDate, to: NaiveDate) -> Span {
    Span {
        start: calendar.start_of_day(from),
        end: calendar.start_of_day(to.succ_opt().unwrap_or(to)),
    }
}

fn most_first(counts: BTreeMap<String, i64>) -> Vec<(String, i64)> {
    let mut counts: Vec<(String, i64)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

/// Computes the report for `from..=to` (local dates), as the record stood at `now`.
pub async fn build(
    app: &App,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<AnnualReport, StoreError> {
    let settings = &app.rules.settings.report;
    let period = span(&app.rules.calendar, from, to);
    let customers = customers_list(settings)?;
    let store = &app.store;
    let mut report = AnnualReport::empty(from, to);
    report.organisation = app.rules.settings.organisation.name.clone();
    if let Some(dir) = &settings.narrative_dir {
        report.narrative = super::narrative::read(dir).map_err(|error| StoreError::File {
            path: dir.display().to_string(),
            error,
        })?;
    }
    // Two counts at a time, one per core (more at once only makes them wait for each other),
    // taken longest first as each finishes, so both cores stay busy to the end on either
    // backend (measured by `cargo bench --bench report`; the longest differ between them).
    let turns = tokio::sync::Semaphore::new(2);
    let (
        concluded,
        asked1,
        complainants,
        received,
        issued1,
        asked2,
        escalations,
        trend,
        ombudsman,
        issued2,
        kinds,
        refusals,
    ) = tokio::try_join!(
        in_turn(&turns, store.concluded(period)),
        in_turn(&turns, store.asked(Stage::Stage1, period, now)),
        in_turn(&turns, store.complainants(period, customers.is_some())),
        in_turn(&turns, store.complaints_received_by_area(period)),
        in_turn(&turns, store.issued(Stage::Stage1, period)),
        in_turn(&turns, store.asked(Stage::Stage2, period, now)),
        in_turn(&turns, store.escalations(period)),
        in_turn(&turns, earlier_trend(store, &app.rules.calendar, from, to)),
        in_turn(&turns, store.ombudsman(period)),
        in_turn(&turns, store.issued(Stage::Stage2, period)),
        in_turn(&turns, store.received_by_kind(period)),
        in_turn(&turns, store.refusals(period)),
    )?;
    count_received(&mut report, &kinds);
    stage_figures(&mut report.stage1, asked1, &issued1);
    stage_figures(&mut report.stage2, asked2, &issued2);
    count_resolutions(&mut report, &concluded);
    report.stage1_by_area = by_area(&received, report.stage1.received);
    report.themes = themes(&received);
    report.escalation_reasons = escalation_reasons(&settings.escalation_categories, &escalations);
    report.refused = refusals.iter().map(|(_, n)| n).sum();
    report.refusal_reasons = refusal_grounds(&refusals);
    report.ombudsman_referrals = ombudsman.referrals;
    report.ombudsman_determined = ombudsman.determined;
    report.ombudsman_open = ombudsman.open;
    report.ombudsman_findings = ombudsman.findings;
    report.ombudsman_findings.sort();
    count_complainants(&mut report, &complainants, customers.as_ref());
    headline_measures(&mut report, settings);
    report.trend = trend;
    report
        .trend
        .push((trend_label(from, to), report.stage1.received));
    Ok(report)
}

/// Runs `count` when one of `turns` is free; turns are given in the order asked (tokio's
/// semaphore is fair), so the counts run in the order they are listed.
async fn in_turn<T>(
    turns: &tokio::sync::Semaphore,
    count: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    // The semaphore is never closed; were it, the count would simply run at once.
    let _turn = turns.acquire().await.ok();
    count.await
}

/// Compliments, feedback and service requests received in the period.
fn count_received(report: &mut AnnualReport, kinds: &[(String, i64)]) {
    for (kind, n) in kinds {
        match CaseKind::parse(kind) {
            Some(CaseKind::Compliment) => report.compliments += n,
            Some(CaseKind::Feedback) => report.feedback += n,
            Some(CaseKind::ServiceRequest) => report.service_requests += n,
            _ => {}
        }
    }
}

/// A stage's figures. Received and acknowledged: over those who asked in the period (the
/// received base). Timeliness, extensions and outcomes: over the stage responses issued in the
/// period, whenever the complaint came (the issued base the Regulator's CH02 and the landlord's
/// own report use, "the complaints that resolutions were provided for"), an answer within an
/// extension the Code allows counting as in time, so a closed year's figures do not move when
/// the report is run again later.
fn stage_figures(figures: &mut StageFigures, asked: Asked, issued: &[Issued]) {
    figures.received = asked.asked;
    figures.acknowledged_in_time = Rate {
        on_time: asked.acknowledged_on_time,
        total: asked.acknowledgement_known,
    };
    for row in issued {
        figures.responses_issued += row.count;
        figures.responded_in_time.total += row.count;
        figures.responded_in_time.on_time += row.on_time;
        figures.extended.total += row.count;
        figures.extended.on_time += row.extended;
        figures.answered_within_extension += row.extended_on_time;
        match row.outcome.as_deref().and_then(Outcome::parse) {
            Some(Outcome::Upheld) => figures.upheld += row.count,
            Some(Outcome::PartlyUpheld) => figures.partly_upheld += row.count,
            Some(Outcome::NotUpheld) => figures.not_upheld += row.count,
            None => {}
        }
    }
}

/// Cases given a final answer in the period, by the stage of the last answer in it.
fn count_resolutions(report: &mut AnnualReport, concluded: &[Concluded]) {
    for row in concluded {
        report.resolutions += row.count;
        if row.stage.as_deref() == Some(Stage::Stage2.as_str()) {
            report.concluded_stage2 += row.count;
            if row.outcome.as_deref().and_then(Outcome::parse) == Some(Outcome::NotUpheld) {
                report.stage2_no_further_action += row.no_actions;
            }
        } else {
            report.concluded_stage1 += row.count;
        }
    }
}

/// Stage 1 complaints by service area, with their share: (area, count, percent), most first.
fn by_area(received: &[ReceivedGroup], total: i64) -> Vec<(String, i64, i64)> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for group in received {
        let area = group.service_area.as_deref().unwrap_or(UNASSIGNED);
        *counts.entry(area.to_string()).or_default() += group.count;
    }
    if let Some(n) = counts.get(UNASSIGNED) {
        tracing::warn!(
            complaints = n,
            "stage 1 complaints with no service area are shown as \"{UNASSIGNED}\": correct them before publishing"
        );
    }
    most_first(counts)
        .into_iter()
        .map(|(area, n)| (area, n, percent(n, total)))
        .collect()
}

/// Stage 1 complaints by theme (a complaint counts once under each of its themes), most first.
fn themes(received: &[ReceivedGroup]) -> Vec<(String, i64)> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for group in received {
        for theme in &group.themes {
            *counts.entry(theme.clone()).or_default() += group.count;
        }
    }
    most_first(counts)
}

/// Why reviews were asked for, grouped into the landlord's categories.
fn escalation_reasons(
    categories: &BTreeMap<String, Vec<String>>,
    escalations: &[Escalation],
) -> Vec<(String, i64)> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for row in escalations {
        let reason = row.reason.clone().unwrap_or_else(|| {
            "the customer asked by mail, still dissatisfied after the stage 1 response".into()
        });
        let grouped = escalation_category(categories, &reason, row.words.as_deref());
        *counts.entry(grouped).or_default() += row.count;
    }
    most_first(counts)
}

/// Refusals by the Code 2.2 ground they fall under.
fn refusal_grounds(refusals: &[(String, i64)]) -> Vec<(String, i64)> {
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for (reason, n) in refusals {
        let ground = crate::case::actions::refusal_ground(reason);
        *counts.entry(ground.to_string()).or_default() += n;
    }
    most_first(counts)
}

/// Who complained, for those received or reviewed in the period.
fn count_complainants(
    report: &mut AnnualReport,
    complainants: &[Complainants],
    customers: Option<&HashSet<String>>,
) {
    for row in complainants {
        if source(row.flagged.as_deref(), customers, row.address.as_deref()) == "customer" {
            report.from_customers += row.count;
            report.stage1_from_tenants += i64::from(row.stage1) * row.count;
            report.stage2_from_tenants += i64::from(row.stage2) * row.count;
        } else {
            report.from_community += row.count;
        }
    }
}

/// The landlord's list of customers' addresses, where configured.
pub(super) fn customers_list(
    settings: &ReportSettings,
) -> Result<Option<HashSet<String>>, StoreError> {
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

/// CH01 (complaints from tenants per 1,000 homes, where the number of homes is configured) and
/// CH02, as the Regulator of Social Housing's tenant satisfaction measures technical
/// requirements define them: CH01 counts stage 1 complaints received and stage 2 complaints
/// (reviews) requested in the year from tenants, separately, per 1,000 homes owned; CH02 the
/// share of stage 1 and of stage 2 responses issued in the year within the Code's timescales,
/// an answer within an extension the Code allows counting as within.
fn headline_measures(report: &mut AnnualReport, settings: &ReportSettings) {
    if let Some(homes) = settings.homes_owned.filter(|h| *h > 0) {
        let per_1000 = |n: i64| ((n as f64) * 1000.0 / f64::from(homes) * 100.0).round() / 100.0;
        report.ch01_stage1_per_1000_homes = Some(per_1000(report.stage1_from_tenants));
        report.ch01_stage2_per_1000_homes = Some(per_1000(report.stage2_from_tenants));
    } else {
        tracing::warn!("CH01 (complaints per 1,000 homes) is left out: set report.homes_owned");
    }
    let on_time = |r: Rate| percent(r.on_time, r.total);
    report.ch02_stage1_percent = on_time(report.stage1.responded_in_time);
    report.ch02_stage2_percent = on_time(report.stage2.responded_in_time);
}

/// The period and the two before it: whole years back when the period is a year (a financial
/// year stays 1 April to 31 March across a leap year), else periods of the same length; oldest
/// first.
fn trend_periods(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let days = (to - from).num_days() + 1;
    let a_year = from
        .checked_add_months(chrono::Months::new(12))
        .is_some_and(|next| next.pred_opt() == Some(to));
    (0..3u32)
        .rev()
        .map(|back| {
            if a_year {
                let months = chrono::Months::new(12 * back);
                (
                    from.checked_sub_months(months).unwrap_or(from),
                    to.checked_sub_months(months).unwrap_or(to),
                )
            } else {
                let shift = chrono::Duration::days(days * i64::from(back));
                (from - shift, to - shift)
            }
        })
        .collect()
}

/// Complaints received in the two periods before this one: (period, count), oldest first. The
/// report adds this period's own from its received count rather than count it again.
async fn earlier_trend(
    store: &Store,
    calendar: &Calendar,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut trend = Vec::new();
    for (f, t) in trend_periods(from, to) {
        if (f, t) != (from, to) {
            let n = store.complaints_received(span(calendar, f, t)).await?;
            trend.push((trend_label(f, t), n));
        }
    }
    Ok(trend)
}

/// How a period is named in the trend (and in the JSON beside it).
fn trend_label(from: NaiveDate, to: NaiveDate) -> String {
    format!("{from} to {to}")
}

/// Who complained, `customer` or `community`: the handler's latest flag first, then the
/// customers file.
pub(super) fn source(
    flagged: Option<&str>,
    customers: Option<&HashSet<String>>,
    address: Option<&str>,
) -> &'static str {
    match flagged {
        Some("customer") => "customer",
        Some("community") => "community",
        _ => by_address(customers, address),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trend_steps_back_whole_financial_years_across_a_leap_year() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let labels = |from, to| -> Vec<String> {
            trend_periods(from, to)
                .into_iter()
                .map(|(f, t)| format!("{f} to {t}"))
                .collect()
        };
        let labels_year = labels(date(2024, 4, 1), date(2025, 3, 31));
        assert_eq!(
            labels_year,
            [
                "2022-04-01 to 2023-03-31",
                "2023-04-01 to 2024-03-31",
                "2024-04-01 to 2025-03-31"
            ]
        );
        assert_eq!(
            labels(date(2025, 1, 1), date(2025, 3, 31))[1],
            "2024-10-03 to 2024-12-31",
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
