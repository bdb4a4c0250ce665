//! The figures a landlord publishes (the annual complaints performance report), computed from
//! the record's events, not from the cases' current state, so a late answer stays late.
//!
//! A period is a span of local dates, both ends included. Stage 1 complaints are those received
//! in the period; stage 2 reviews those requested in it. An acknowledgement or response counts as
//! on time when its event says it was sent by its deadline; one still missing after its deadline
//! counts as late.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::Row;

use crate::app::App;
use crate::dashboard::Rate;
use crate::store::{StoreError, from_ts, ts};

/// Per-stage figures.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StageFigures {
    /// Complaints (stage 1) received, or reviews (stage 2) requested, in the period.
    pub received: i64,
    pub acknowledged_in_time: Rate,
    pub responded_in_time: Rate,
    /// Cases extended at this stage, of those received.
    pub extended: Rate,
    /// Of the extended ones, answered by the extended date.
    pub answered_within_extension: i64,
    pub upheld: i64,
    pub partly_upheld: i64,
    pub not_upheld: i64,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct AnnualReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub stage1: StageFigures,
    pub stage2: StageFigures,
    /// Cases given a final answer in the period, by the stage at which they concluded.
    pub resolutions: i64,
    pub concluded_stage1: i64,
    pub concluded_stage2: i64,
    /// Stage 1 complaints by service area: (area, count, percent).
    pub stage1_by_area: Vec<(String, i64, i64)>,
    /// Stage 2 reviews whose response found nothing more to do (not upheld, no actions).
    pub stage2_no_further_action: i64,
    pub refused: i64,
    pub compliments: i64,
    pub feedback: i64,
    pub service_requests: i64,
    /// Themes of stage 1 complaints: (theme, count), most first.
    pub themes: Vec<(String, i64)>,
    pub ombudsman_referrals: i64,
    /// (finding, area, count).
    pub ombudsman_findings: Vec<(String, String, i64)>,
}

struct Event {
    at: DateTime<Utc>,
    kind: String,
    detail: serde_json::Value,
}

struct Case {
    kind: String,
    received_at: DateTime<Utc>,
    service_area: Option<String>,
    themes: Vec<String>,
    events: Vec<Event>,
    /// Open acknowledgement/response deadlines: (kind, due).
    open_deadlines: Vec<(String, DateTime<Utc>)>,
}

fn percent(n: i64, total: i64) -> i64 {
    if total == 0 {
        0
    } else {
        (n * 100 + total / 2) / total
    }
}

/// Computes the report for `from..=to` (local dates), as the record stood at `now`.
pub async fn build(
    app: &App,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Result<AnnualReport, StoreError> {
    let calendar = &app.rules.calendar;
    let start = calendar.close_of_business(from) - chrono::Duration::hours(24);
    let end = calendar.close_of_business(to) + chrono::Duration::hours(7);
    let in_period = |t: DateTime<Utc>| {
        t > start && t <= end && calendar.local_date(t) >= from && calendar.local_date(t) <= to
    };
    let pool = app.store.pool();

    let mut cases: BTreeMap<i64, Case> = BTreeMap::new();
    for row in sqlx::query("SELECT id, kind, received_at, service_area, themes FROM cases")
        .fetch_all(pool)
        .await?
    {
        cases.insert(
            row.try_get("id")?,
            Case {
                kind: row.try_get("kind")?,
                received_at: from_ts(row.try_get("received_at")?),
                service_area: row.try_get("service_area")?,
                themes: serde_json::from_str(&row.try_get::<String, _>("themes")?)
                    .unwrap_or_default(),
                events: Vec::new(),
                open_deadlines: Vec::new(),
            },
        );
    }
    for row in sqlx::query("SELECT case_id, at, kind, detail FROM events ORDER BY id")
        .fetch_all(pool)
        .await?
    {
        if let Some(case) = cases.get_mut(&row.try_get::<i64, _>("case_id")?) {
            case.events.push(Event {
                at: from_ts(row.try_get("at")?),
                kind: row.try_get("kind")?,
                detail: serde_json::from_str(&row.try_get::<String, _>("detail")?)
                    .unwrap_or_default(),
            });
        }
    }
    for row in sqlx::query(
        "SELECT case_id, kind, due_at FROM deadlines WHERE status = 'open' AND due_at < $1",
    )
    .bind(ts(now))
    .fetch_all(pool)
    .await?
    {
        if let Some(case) = cases.get_mut(&row.try_get::<i64, _>("case_id")?) {
            case.open_deadlines
                .push((row.try_get("kind")?, from_ts(row.try_get("due_at")?)));
        }
    }

    let mut report = AnnualReport {
        from,
        to,
        stage1: StageFigures::default(),
        stage2: StageFigures::default(),
        resolutions: 0,
        concluded_stage1: 0,
        concluded_stage2: 0,
        stage1_by_area: Vec::new(),
        stage2_no_further_action: 0,
        refused: 0,
        compliments: 0,
        feedback: 0,
        service_requests: 0,
        themes: Vec::new(),
        ombudsman_referrals: 0,
        ombudsman_findings: Vec::new(),
    };
    let mut areas: BTreeMap<String, i64> = BTreeMap::new();
    let mut themes: BTreeMap<String, i64> = BTreeMap::new();
    let mut findings: BTreeMap<(String, String), i64> = BTreeMap::new();

    for case in cases.values() {
        let received_in_period = in_period(case.received_at);
        if received_in_period {
            match case.kind.as_str() {
                "compliment" => report.compliments += 1,
                "feedback" => report.feedback += 1,
                "service_request" => report.service_requests += 1,
                _ => {}
            }
        }
        let stage_of = |e: &Event| e.detail["stage"].as_str().map(str::to_string);
        // Stage 1: a complaint received in the period.
        if case.kind == "complaint" && received_in_period {
            stage_figures(&mut report.stage1, case, "stage1", |e| {
                stage_of(e).as_deref() == Some("stage1")
            });
            *areas
                .entry(
                    case.service_area
                        .clone()
                        .unwrap_or_else(|| "(not set)".into()),
                )
                .or_default() += 1;
            for theme in &case.themes {
                *themes.entry(theme.clone()).or_default() += 1;
            }
        }
        // Stage 2: a review requested in the period.
        if case
            .events
            .iter()
            .any(|e| e.kind == "escalated" && in_period(e.at))
        {
            stage_figures(&mut report.stage2, case, "stage2", |e| {
                stage_of(e).as_deref() == Some("stage2")
            });
        }
        // Resolutions given in the period, by the stage at which the case concluded.
        let responses: Vec<&Event> = case
            .events
            .iter()
            .filter(|e| e.kind == "responded" && in_period(e.at))
            .collect();
        if let Some(last) = responses.last() {
            report.resolutions += 1;
            if stage_of(last).as_deref() == Some("stage2") {
                report.concluded_stage2 += 1;
                if last.detail["outcome"] == "not_upheld"
                    && last.detail["actions"].as_array().is_none_or(Vec::is_empty)
                {
                    report.stage2_no_further_action += 1;
                }
            } else {
                report.concluded_stage1 += 1;
            }
        }
        report.refused += case
            .events
            .iter()
            .filter(|e| e.kind == "refused" && in_period(e.at))
            .count() as i64;
        for e in case.events.iter().filter(|e| in_period(e.at)) {
            match e.kind.as_str() {
                "ombudsman_referral" => report.ombudsman_referrals += 1,
                "ombudsman_finding" => {
                    let key = (
                        e.detail["finding"]
                            .as_str()
                            .unwrap_or("unknown")
                            .to_string(),
                        e.detail["area"].as_str().unwrap_or("unknown").to_string(),
                    );
                    *findings.entry(key).or_default() += 1;
                }
                _ => {}
            }
        }
    }
    let total1 = report.stage1.received;
    let mut areas: Vec<(String, i64, i64)> = areas
        .into_iter()
        .map(|(a, n)| (a, n, percent(n, total1)))
        .collect();
    areas.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    report.stage1_by_area = areas;
    let mut themes: Vec<(String, i64)> = themes.into_iter().collect();
    themes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    report.themes = themes;
    report.ombudsman_findings = findings.into_iter().map(|((f, a), n)| (f, a, n)).collect();
    Ok(report)
}

/// One stage's figures for one case.
fn stage_figures(
    figures: &mut StageFigures,
    case: &Case,
    stage: &str,
    at_stage: impl Fn(&Event) -> bool,
) {
    figures.received += 1;
    let acknowledged = case
        .events
        .iter()
        .find(|e| e.kind == "acknowledged" && at_stage(e));
    let ack_missed = case
        .open_deadlines
        .iter()
        .any(|(k, _)| k == &format!("{stage}_acknowledgement"));
    if acknowledged.is_some() || ack_missed {
        figures.acknowledged_in_time.total += 1;
        if acknowledged.is_some_and(|e| e.detail["on_time"] != false) {
            figures.acknowledged_in_time.on_time += 1;
        }
    }
    let responded = case
        .events
        .iter()
        .find(|e| e.kind == "responded" && at_stage(e));
    let response_missed = case
        .open_deadlines
        .iter()
        .any(|(k, _)| k == &format!("{stage}_response"));
    if responded.is_some() || response_missed {
        figures.responded_in_time.total += 1;
        if responded.is_some_and(|e| e.detail["on_time"] == true) {
            figures.responded_in_time.on_time += 1;
        }
    }
    figures.extended.total += 1;
    if case
        .events
        .iter()
        .any(|e| e.kind == "extended" && at_stage(e))
    {
        figures.extended.on_time += 1;
        if responded.is_some_and(|e| e.detail["on_time"] == true) {
            figures.answered_within_extension += 1;
        }
    }
    if let Some(r) = responded {
        match r.detail["outcome"].as_str() {
            Some("upheld") => figures.upheld += 1,
            Some("partly_upheld") => figures.partly_upheld += 1,
            Some("not_upheld") => figures.not_upheld += 1,
            _ => {}
        }
    }
}

fn rate(r: Rate) -> String {
    format!(
        "{}/{} ({}%)",
        r.on_time,
        r.total,
        percent(r.on_time, r.total)
    )
}

/// The report as Markdown, in the order and shape of the published report's tables.
pub fn markdown(r: &AnnualReport) -> String {
    let mut md = format!(
        "# Complaint handling report {} to {}\n\n## Complaints received\n\n",
        r.from, r.to
    );
    md.push_str(&format!(
        "| | Stage 1 | Stage 2 |\n|---|---|---|\n| Received | {} | {} |\n| Acknowledged within time | {} | {} |\n| Responded within time | {} | {} |\n| Extended | {} | {} |\n| Answered within the extension | {} | {} |\n| Upheld | {} | {} |\n| Partly upheld | {} | {} |\n| Not upheld | {} | {} |\n\n",
        r.stage1.received, r.stage2.received,
        rate(r.stage1.acknowledged_in_time), rate(r.stage2.acknowledged_in_time),
        rate(r.stage1.responded_in_time), rate(r.stage2.responded_in_time),
        rate(r.stage1.extended), rate(r.stage2.extended),
        r.stage1.answered_within_extension, r.stage2.answered_within_extension,
        r.stage1.upheld, r.stage2.upheld, r.stage1.partly_upheld, r.stage2.partly_upheld, r.stage1.not_upheld, r.stage2.not_upheld,
    ));
    md.push_str(&format!(
        "Resolutions provided: {} (concluded at stage 1: {}, at stage 2: {}). Stage 2 reviews needing no further action: {}.\n\n",
        r.resolutions, r.concluded_stage1, r.concluded_stage2, r.stage2_no_further_action
    ));
    md.push_str(&format!("## Which service area did the complaint relate to?\n\nOut of {} stage 1 complaints:\n\n| Service area | Count | Percent |\n|---|---|---|\n", r.stage1.received));
    for (area, n, p) in &r.stage1_by_area {
        md.push_str(&format!("| {area} | {n} | {p}% |\n"));
    }
    md.push_str("\n## What are the complaints about?\n\n| Theme | Count |\n|---|---|\n");
    for (theme, n) in &r.themes {
        md.push_str(&format!("| {theme} | {n} |\n"));
    }
    md.push_str(&format!(
        "\n## Other figures\n\n| | Count |\n|---|---|\n| Refused complaints | {} |\n| Compliments | {} |\n| Feedback | {} |\n| Service requests | {} |\n| Referred to the Housing Ombudsman | {} |\n",
        r.refused, r.compliments, r.feedback, r.service_requests, r.ombudsman_referrals
    ));
    md.push_str(
        "\n## Housing Ombudsman determinations\n\n| Finding | About | Count |\n|---|---|---|\n",
    );
    for (finding, area, n) in &r.ombudsman_findings {
        md.push_str(&format!(
            "| {} | {} | {n} |\n",
            finding.replace('_', " "),
            area.replace('_', " ")
        ));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_half_up() {
        assert_eq!(percent(183, 368), 50);
        assert_eq!(percent(63, 368), 17);
        assert_eq!(percent(0, 0), 0);
    }
}
