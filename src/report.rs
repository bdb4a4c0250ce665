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
use crate::dashboard::{Rate, percent};
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
    /// Why stage 2 reviews were requested: the handler's recorded reason, or that the customer
    /// asked by mail after the stage 1 response; (reason, count), most first.
    pub escalation_reasons: Vec<(String, i64)>,
    pub refused: i64,
    pub compliments: i64,
    pub feedback: i64,
    pub service_requests: i64,
    /// Themes of stage 1 complaints: (theme, count), most first.
    pub themes: Vec<(String, i64)>,
    pub ombudsman_referrals: i64,
    /// (finding, area, count).
    pub ombudsman_findings: Vec<(String, String, i64)>,
    /// Stage 1 and 2 complaints from customers, and from neighbours and the wider community.
    pub from_customers: i64,
    pub from_community: i64,
    /// CH01: stage 1 and stage 2 complaints per 1,000 homes (when `report.homes_owned` is set).
    pub ch01_stage1_per_1000_homes: Option<f64>,
    pub ch01_stage2_per_1000_homes: Option<f64>,
    /// CH02: percent of stage 1 and stage 2 complaints answered within the Code's timescales.
    pub ch02_stage1_percent: i64,
    pub ch02_stage2_percent: i64,
    /// Stage 1 complaints received in this period and the two before it: (period, count), oldest first.
    pub trend: Vec<(String, i64)>,
    /// One row per case with something in the period, for the self-assessment and the Ombudsman.
    pub cases: Vec<CaseLine>,
}

/// One case in the report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CaseLine {
    pub reference: String,
    pub kind: String,
    pub received_at: DateTime<Utc>,
    pub source: String,
    pub service_area: Option<String>,
    pub themes: Vec<String>,
    pub stage1_acknowledged_on_time: Option<bool>,
    pub stage1_responded_on_time: Option<bool>,
    pub stage1_extended: bool,
    pub stage1_outcome: Option<String>,
    pub stage2_requested: bool,
    pub stage2_acknowledged_on_time: Option<bool>,
    pub stage2_responded_on_time: Option<bool>,
    pub stage2_extended: bool,
    pub stage2_outcome: Option<String>,
    pub concluded_stage: Option<String>,
    pub refused: bool,
    pub ombudsman_findings: Vec<String>,
}

struct Event {
    at: DateTime<Utc>,
    kind: String,
    detail: serde_json::Value,
}

struct Case {
    reference: String,
    customer_address: Option<String>,
    kind: String,
    received_at: DateTime<Utc>,
    service_area: Option<String>,
    themes: Vec<String>,
    events: Vec<Event>,
    /// Open acknowledgement/response deadlines: (kind, due).
    open_deadlines: Vec<(String, DateTime<Utc>)>,
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
    for row in sqlx::query("SELECT id, reference, customer_address, kind, received_at, service_area, themes FROM cases")
        .fetch_all(pool)
        .await?
    {
        cases.insert(
            row.try_get("id")?,
            Case {
                reference: row.try_get("reference")?,
                customer_address: row.try_get("customer_address")?,
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
        escalation_reasons: Vec::new(),
        refused: 0,
        compliments: 0,
        feedback: 0,
        service_requests: 0,
        themes: Vec::new(),
        ombudsman_referrals: 0,
        ombudsman_findings: Vec::new(),
        from_customers: 0,
        from_community: 0,
        ch01_stage1_per_1000_homes: None,
        ch01_stage2_per_1000_homes: None,
        ch02_stage1_percent: 0,
        ch02_stage2_percent: 0,
        trend: Vec::new(),
        cases: Vec::new(),
    };
    let customers: Option<std::collections::HashSet<String>> =
        match &app.rules.settings.report.customers_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|error| StoreError::File {
                        path: path.display().to_string(),
                        error,
                    })?
                    .lines()
                    .map(|l| l.trim().to_ascii_lowercase())
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .collect(),
            ),
            None => None,
        };
    let mut areas: BTreeMap<String, i64> = BTreeMap::new();
    let mut themes: BTreeMap<String, i64> = BTreeMap::new();
    let mut findings: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut escalations: BTreeMap<String, i64> = BTreeMap::new();

    for case in cases.values() {
        let received_in_period = in_period(case.received_at);
        let source = case_source(case, customers.as_ref());
        if let Some(line) = case_line(case, &source, &in_period) {
            if line.kind == "complaint" && (received_in_period || line.stage2_requested) {
                if source == "customer" {
                    report.from_customers += 1
                } else {
                    report.from_community += 1
                }
            }
            report.cases.push(line);
        }
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
            stage_figures(&mut report.stage1, case, "stage1");
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
            stage_figures(&mut report.stage2, case, "stage2");
            for e in case
                .events
                .iter()
                .filter(|e| e.kind == "escalated" && in_period(e.at))
            {
                let reason = e.detail["detail"]["reason"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| {
                        "the customer asked by mail, still dissatisfied after the stage 1 response"
                            .into()
                    });
                *escalations.entry(reason).or_default() += 1;
            }
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
    let mut escalations: Vec<(String, i64)> = escalations.into_iter().collect();
    escalations.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    report.escalation_reasons = escalations;
    if let Some(homes) = app.rules.settings.report.homes_owned.filter(|h| *h > 0) {
        let per_1000 = |n: i64| ((n as f64) * 1000.0 / f64::from(homes) * 100.0).round() / 100.0;
        report.ch01_stage1_per_1000_homes = Some(per_1000(report.stage1.received));
        report.ch01_stage2_per_1000_homes = Some(per_1000(report.stage2.received));
    }
    report.ch02_stage1_percent = percent(
        report.stage1.responded_in_time.on_time,
        report.stage1.responded_in_time.total,
    );
    report.ch02_stage2_percent = percent(
        report.stage2.responded_in_time.on_time,
        report.stage2.responded_in_time.total,
    );
    let days = (to - from).num_days() + 1;
    for back in (0..3i64).rev() {
        let shift = chrono::Duration::days(days * back);
        let (f, t) = (from - shift, to - shift);
        let n = cases
            .values()
            .filter(|c| c.kind == "complaint")
            .filter(|c| {
                let d = calendar.local_date(c.received_at);
                d >= f && d <= t
            })
            .count() as i64;
        report.trend.push((format!("{f} to {t}"), n));
    }
    Ok(report)
}

/// Customer, or neighbour / wider community: the handler's flag first, then the customers file.
fn case_source(case: &Case, customers: Option<&std::collections::HashSet<String>>) -> String {
    if let Some(set) = case.events.iter().rev().find(|e| e.kind == "source_set") {
        return set.detail["source"]
            .as_str()
            .unwrap_or("customer")
            .to_string();
    }
    match (customers, &case.customer_address) {
        (Some(list), Some(address)) if !list.contains(&address.to_ascii_lowercase()) => {
            "community".into()
        }
        (Some(_), None) => "community".into(),
        _ => "customer".into(),
    }
}

/// Whether the letter of `kind` ("acknowledged" or "responded") at `stage` went on time: `None`
/// when it has not gone and is not yet late.
fn letter_on_time(case: &Case, kind: &str, stage: &str) -> Option<bool> {
    let deadline = format!(
        "{stage}_{}",
        if kind == "acknowledged" {
            "acknowledgement"
        } else {
            "response"
        }
    );
    match case
        .events
        .iter()
        .find(|e| e.kind == kind && e.detail["stage"] == stage)
    {
        // A response counts only when it says it was on time; older acknowledgements may not say.
        Some(e) if kind == "responded" => Some(e.detail["on_time"] == true),
        Some(e) => Some(e.detail["on_time"] != false),
        None if case.open_deadlines.iter().any(|(k, _)| *k == deadline) => Some(false),
        None => None,
    }
}

/// The case's row, when anything about it happened in the period.
fn case_line(
    case: &Case,
    source: &str,
    in_period: &impl Fn(DateTime<Utc>) -> bool,
) -> Option<CaseLine> {
    if !in_period(case.received_at) && !case.events.iter().any(|e| in_period(e.at)) {
        return None;
    }
    let at = |kind: &str, stage: &str| {
        case.events
            .iter()
            .find(|e| e.kind == kind && e.detail["stage"] == stage)
    };
    let outcome = |stage: &str| {
        at("responded", stage).and_then(|e| e.detail["outcome"].as_str().map(str::to_string))
    };
    Some(CaseLine {
        reference: case.reference.clone(),
        kind: case.kind.clone(),
        received_at: case.received_at,
        source: source.to_string(),
        service_area: case.service_area.clone(),
        themes: case.themes.clone(),
        stage1_acknowledged_on_time: letter_on_time(case, "acknowledged", "stage1"),
        stage1_responded_on_time: letter_on_time(case, "responded", "stage1"),
        stage1_extended: at("extended", "stage1").is_some(),
        stage1_outcome: outcome("stage1"),
        stage2_requested: case.events.iter().any(|e| e.kind == "escalated"),
        stage2_acknowledged_on_time: letter_on_time(case, "acknowledged", "stage2"),
        stage2_responded_on_time: letter_on_time(case, "responded", "stage2"),
        stage2_extended: at("extended", "stage2").is_some(),
        stage2_outcome: outcome("stage2"),
        concluded_stage: case
            .events
            .iter()
            .rev()
            .find(|e| e.kind == "responded")
            .and_then(|e| e.detail["stage"].as_str().map(str::to_string)),
        refused: case.events.iter().any(|e| e.kind == "refused"),
        ombudsman_findings: case
            .events
            .iter()
            .filter(|e| e.kind == "ombudsman_finding")
            .map(|e| {
                format!(
                    "{} ({})",
                    e.detail["finding"].as_str().unwrap_or("?"),
                    e.detail["area"].as_str().unwrap_or("?")
                )
            })
            .collect(),
    })
}

/// One row per case, as CSV (RFC 4180 quoting).
pub fn csv(r: &AnnualReport) -> String {
    fn field(text: &str) -> String {
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text.to_string()
        }
    }
    fn flag(value: Option<bool>) -> String {
        match value {
            Some(true) => "yes".into(),
            Some(false) => "no".into(),
            None => String::new(),
        }
    }
    let mut out = String::from(
        "reference,kind,received_at,source,service_area,themes,stage1_acknowledged_on_time,stage1_responded_on_time,stage1_extended,stage1_outcome,stage2_requested,stage2_acknowledged_on_time,stage2_responded_on_time,stage2_extended,stage2_outcome,concluded_stage,refused,ombudsman_findings\r\n",
    );
    for c in &r.cases {
        let row = [
            field(&c.reference),
            field(&c.kind),
            c.received_at.to_rfc3339(),
            field(&c.source),
            field(c.service_area.as_deref().unwrap_or("")),
            field(&c.themes.join("; ")),
            flag(c.stage1_acknowledged_on_time),
            flag(c.stage1_responded_on_time),
            flag(Some(c.stage1_extended)),
            field(c.stage1_outcome.as_deref().unwrap_or("")),
            flag(Some(c.stage2_requested)),
            flag(c.stage2_acknowledged_on_time),
            flag(c.stage2_responded_on_time),
            flag(Some(c.stage2_extended)),
            field(c.stage2_outcome.as_deref().unwrap_or("")),
            field(c.concluded_stage.as_deref().unwrap_or("")),
            flag(Some(c.refused)),
            field(&c.ombudsman_findings.join("; ")),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart as inline SVG.
fn bar_chart(title: &str, bars: &[(String, i64)]) -> String {
    let max = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let row = 26;
    let height = 40 + row * bars.len().max(1);
    let mut svg = format!(
        "<figure><svg class=\"chart\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{height}\" viewBox=\"0 0 640 {height}\"><text x=\"0\" y=\"18\" font-weight=\"bold\" font-size=\"14\">{t}</text>",
        t = escape_html(title)
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let y = 30 + i * row;
        let width = (*n as f64 / max as f64 * 360.0).round() as i64;
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{ty}\" font-size=\"12\">{label}</text><rect x=\"220\" y=\"{y}\" width=\"{width}\" height=\"18\" fill=\"#2b6cb0\"><title>{label}: {n}</title></rect><text x=\"{tx}\" y=\"{ty}\" font-size=\"12\">{n}</text>",
            ty = y + 14,
            tx = 226 + width,
            label = escape_html(label)
        ));
    }
    svg.push_str("</svg></figure>\n");
    svg
}

/// The Markdown of `markdown()` as HTML: headings, paragraphs and tables.
fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    let mut in_table = false;
    for line in md.lines() {
        if let Some(cells) = line.strip_prefix('|') {
            let cells: Vec<&str> = cells
                .trim_end_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            if cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| ch == '-'))
            {
                continue;
            }
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                out.push_str("<table>");
                in_table = true;
            }
            out.push_str("<tr>");
            for cell in cells {
                out.push_str(&format!("<{tag}>{}</{tag}>", escape_html(cell)));
            }
            out.push_str("</tr>");
            continue;
        }
        if in_table {
            out.push_str("</table>\n");
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("## ") {
            out.push_str(&format!("<h2>{}</h2>\n", escape_html(h)));
        } else if let Some(h) = line.strip_prefix("# ") {
            out.push_str(&format!("<h1>{}</h1>\n", escape_html(h)));
        } else if !line.trim().is_empty() {
            out.push_str(&format!("<p>{}</p>\n", escape_html(line)));
        }
    }
    if in_table {
        out.push_str("</table>\n");
    }
    out
}

/// The report as one self-contained HTML page with its charts as inline SVG (opens offline).
pub fn html(r: &AnnualReport) -> String {
    let mut body = markdown_to_html(&markdown(r));
    body.push_str("<h2>Charts</h2>\n");
    body.push_str(&bar_chart(
        "At which stage complaints concluded",
        &[
            ("Stage 1".into(), r.concluded_stage1),
            ("Stage 2".into(), r.concluded_stage2),
        ],
    ));
    body.push_str(&bar_chart("What the complaints are about", &r.themes));
    let areas: Vec<(String, i64)> = r
        .stage1_by_area
        .iter()
        .map(|(a, n, _)| (a.clone(), *n))
        .collect();
    body.push_str(&bar_chart("Stage 1 complaints by service area", &areas));
    body.push_str(&bar_chart("Stage 1 complaints over three years", &r.trend));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Complaint handling report {} to {}</title><style>body{{font-family:sans-serif;max-width:60em;margin:2em auto;color:#1a202c}}table{{border-collapse:collapse;margin:1em 0}}th,td{{border:1px solid #a0aec0;padding:.3em .6em;text-align:left}}th{{background:#edf2f7}}figure{{margin:1em 0}}</style></head><body>\n{}</body></html>\n",
        r.from, r.to, body
    )
}

/// One stage's figures for one case.
fn stage_figures(figures: &mut StageFigures, case: &Case, stage: &str) {
    figures.received += 1;
    let count = |rate: &mut Rate, on_time: Option<bool>| {
        if let Some(on_time) = on_time {
            rate.total += 1;
            if on_time {
                rate.on_time += 1;
            }
        }
    };
    count(
        &mut figures.acknowledged_in_time,
        letter_on_time(case, "acknowledged", stage),
    );
    let responded_on_time = letter_on_time(case, "responded", stage);
    count(&mut figures.responded_in_time, responded_on_time);
    figures.extended.total += 1;
    if case
        .events
        .iter()
        .any(|e| e.kind == "extended" && e.detail["stage"] == stage)
    {
        figures.extended.on_time += 1;
        if responded_on_time == Some(true) {
            figures.answered_within_extension += 1;
        }
    }
    let responded = case
        .events
        .iter()
        .find(|e| e.kind == "responded" && e.detail["stage"] == stage);
    match responded.and_then(|r| r.detail["outcome"].as_str()) {
        Some("upheld") => figures.upheld += 1,
        Some("partly_upheld") => figures.partly_upheld += 1,
        Some("not_upheld") => figures.not_upheld += 1,
        _ => {}
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
    md.push_str("\n## Why did complaints escalate?\n\n| Reason | Reviews |\n|---|---|\n");
    for (reason, n) in &r.escalation_reasons {
        md.push_str(&format!("| {} | {n} |\n", reason.replace('|', "/")));
    }
    md.push_str("\n## What are the complaints about?\n\n| Theme | Count |\n|---|---|\n");
    for (theme, n) in &r.themes {
        md.push_str(&format!("| {theme} | {n} |\n"));
    }
    md.push_str(&format!(
        "\n## Other figures\n\n| | Count |\n|---|---|\n| Refused complaints | {} |\n| Compliments | {} |\n| Feedback | {} |\n| Service requests | {} |\n| Referred to the Housing Ombudsman | {} |\n",
        r.refused, r.compliments, r.feedback, r.service_requests, r.ombudsman_referrals
    ));
    md.push_str(&format!(
        "\n## Who complained\n\n| Source | Count |\n|---|---|\n| Customers | {} |\n| Neighbours and the wider community | {} |\n",
        r.from_customers, r.from_community
    ));
    let per_1000 = |v: Option<f64>| {
        v.map(|x| format!("{x:.2}"))
            .unwrap_or_else(|| "(set report.homes_owned)".into())
    };
    md.push_str(&format!(
        "\n## Tenant satisfaction measures\n\n| Measure | Stage 1 | Stage 2 |\n|---|---|---|\n| CH01 complaints per 1,000 homes | {} | {} |\n| CH02 answered within the Code's timescales | {}% | {}% |\n",
        per_1000(r.ch01_stage1_per_1000_homes),
        per_1000(r.ch01_stage2_per_1000_homes),
        r.ch02_stage1_percent,
        r.ch02_stage2_percent
    ));
    md.push_str(
        "\n## Stage 1 complaints over three years\n\n| Period | Stage 1 complaints |\n|---|---|\n",
    );
    for (period, n) in &r.trend {
        md.push_str(&format!("| {period} | {n} |\n"));
    }
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
