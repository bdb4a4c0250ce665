//! The managers' dashboard (`redress status`): open cases by stage and owner, what is due this
//! week, what is overdue, and this reporting year's on-time rates, from the record.
//!
//! The reporting year runs from 1 April, as in the landlord's annual report. An acknowledgement or
//! response counts as on time when it was sent by its deadline; a deadline that has passed without
//! one counts as late already.

use std::collections::BTreeMap;

use crate::app::App;
use crate::case::deadlines::DeadlineKind;
use crate::case::model::{Event, Stage};
use crate::store::StoreError;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

/// One deadline on the dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct DueItem {
    pub reference: String,
    pub stage: Option<String>,
    pub owner: Option<String>,
    pub what: String,
    pub due_at: DateTime<Utc>,
    pub working_days: i64,
}

/// n of N on time.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Rate {
    pub on_time: i64,
    pub total: i64,
}

/// `n` of `total` as a whole percent, rounded half up as the annual report does (0 of 0 is 0).
pub fn percent(n: i64, total: i64) -> i64 {
    if total == 0 {
        0
    } else {
        (n * 100 + total / 2) / total
    }
}

impl Rate {
    /// Percent, rounded, or `None` with nothing to count.
    pub fn percent(&self) -> Option<i64> {
        (self.total > 0).then(|| percent(self.on_time, self.total))
    }
}

/// The dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub at: DateTime<Utc>,
    pub year_from: NaiveDate,
    /// (stage or kind, owner) → open cases.
    pub open: Vec<(String, String, i64)>,
    pub due_this_week: Vec<DueItem>,
    pub overdue: Vec<DueItem>,
    pub stage1_acknowledged: Rate,
    pub stage1_responded: Rate,
    pub stage2_acknowledged: Rate,
    pub stage2_responded: Rate,
    /// Letters waiting to be sent, letters given up, and when the oldest waiting was queued.
    pub letters_waiting: i64,
    pub letters_failed: i64,
    pub oldest_waiting_since: Option<DateTime<Utc>>,
}

/// The start of the reporting year (1 April) that contains `day`.
pub fn reporting_year_start(day: NaiveDate) -> NaiveDate {
    let year = if day.month() >= 4 {
        day.year()
    } else {
        day.year() - 1
    };
    NaiveDate::from_ymd_opt(year, 4, 1).unwrap_or(day)
}

/// Builds the dashboard at `now`.
pub async fn build(app: &App, now: DateTime<Utc>) -> Result<Dashboard, StoreError> {
    let calendar = &app.rules.calendar;
    let today = calendar.local_date(now);
    let year_from = reporting_year_start(today);
    let year_start = calendar.close_of_business(year_from) - Duration::hours(24);

    let mut open: BTreeMap<(String, String), i64> = BTreeMap::new();
    for case in app.store.open_cases().await? {
        let stage = case.stage.map_or(case.kind.as_str(), Stage::as_str);
        let owner = case.owner.unwrap_or_else(|| "(unassigned)".into());
        *open.entry((stage.to_string(), owner)).or_default() += 1;
    }

    // Through the end of this week (Sunday).
    let week_end = today + Duration::days(i64::from(6 - today.weekday().num_days_from_monday()));
    let horizon = calendar.close_of_business(week_end) + Duration::hours(12);
    let mut due_this_week = Vec::new();
    let mut overdue = Vec::new();
    for deadline in app.store.open_deadlines_due_by(horizon).await? {
        let item = DueItem {
            reference: deadline.reference,
            stage: deadline.stage.map(|s| s.as_str().to_string()),
            owner: deadline.owner,
            what: deadline.kind.describe().to_string(),
            due_at: deadline.due_at,
            working_days: calendar.working_days_left(now, deadline.due_at),
        };
        if item.due_at < now {
            overdue.push(item)
        } else {
            due_this_week.push(item)
        }
    }

    let rate = |event: &'static str, stage: Stage, ack: DeadlineKind| async move {
        let mut rate = Rate::default();
        for event in app
            .store
            .stage_events_since(event, stage, year_start)
            .await?
        {
            let on_time = match event {
                Event::Acknowledged { on_time, .. } | Event::Responded { on_time, .. } => on_time,
                _ => continue,
            };
            rate.total += 1;
            if on_time != Some(false) {
                rate.on_time += 1;
            }
        }
        rate.total += app.store.missed_deadlines(ack, year_start, now).await?;
        Ok::<Rate, StoreError>(rate)
    };
    let (letters_waiting, letters_failed, oldest_waiting_since) = app.store.outbox_health().await?;
    let (ack1, response1) = Stage::Stage1.deadline_kinds();
    let (ack2, response2) = Stage::Stage2.deadline_kinds();
    Ok(Dashboard {
        at: now,
        year_from,
        open: open
            .into_iter()
            .map(|((stage, owner), n)| (stage, owner, n))
            .collect(),
        due_this_week,
        overdue,
        stage1_acknowledged: rate("acknowledged", Stage::Stage1, ack1).await?,
        stage1_responded: rate("responded", Stage::Stage1, response1).await?,
        stage2_acknowledged: rate("acknowledged", Stage::Stage2, ack2).await?,
        stage2_responded: rate("responded", Stage::Stage2, response2).await?,
        letters_waiting,
        letters_failed,
        oldest_waiting_since,
    })
}

/// The dashboard as text for a terminal.
pub fn render(app: &App, d: &Dashboard) -> String {
    let mut out = String::new();
    let time = |t: DateTime<Utc>| app.rules.calendar_time(t);
    out.push_str(&format!(
        "redress status at {}\n\nOpen cases by stage and owner:\n",
        time(d.at)
    ));
    if d.open.is_empty() {
        out.push_str("  none\n");
    }
    for (stage, owner, n) in &d.open {
        out.push_str(&format!("  {stage:<16} {owner:<40} {n:>6}\n"));
    }
    for (title, items) in [("Overdue", &d.overdue), ("Due this week", &d.due_this_week)] {
        out.push_str(&format!("\n{title} ({}):\n", items.len()));
        for item in items {
            out.push_str(&format!(
                "  {:<18} {:<44} due {}  ({} working days)  {}\n",
                item.reference,
                item.what,
                time(item.due_at),
                item.working_days,
                item.owner.as_deref().unwrap_or("(unassigned)")
            ));
        }
    }
    let oldest = d.oldest_waiting_since.map_or(String::new(), |t| {
        let minutes = (d.at - t).num_minutes().max(0);
        format!(", the oldest queued {minutes} minute(s) ago")
    });
    out.push_str(&format!(
        "\nLetters: {} waiting{oldest}; {} given up (see `cases show`)\n",
        d.letters_waiting, d.letters_failed
    ));
    out.push_str(&format!(
        "\nOn time since {} (the reporting year):\n",
        d.year_from
    ));
    for (name, rate) in [
        ("stage 1 acknowledged", d.stage1_acknowledged),
        ("stage 1 responded", d.stage1_responded),
        ("stage 2 acknowledged", d.stage2_acknowledged),
        ("stage 2 responded", d.stage2_responded),
    ] {
        let percent = rate
            .percent()
            .map(|p| format!("{p}%"))
            .unwrap_or_else(|| "-".into());
        out.push_str(&format!(
            "  {name:<22} {}/{} ({percent})\n",
            rate.on_time, rate.total
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reporting_year_starts_on_1_april() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(reporting_year_start(d("2026-11-23")), d("2026-04-01"));
        assert_eq!(reporting_year_start(d("2027-03-31")), d("2026-04-01"));
        assert_eq!(reporting_year_start(d("2027-04-01")), d("2027-04-01"));
    }

    #[test]
    fn rates_round_like_the_annual_report() {
        assert_eq!(
            Rate {
                on_time: 349,
                total: 368
            }
            .percent(),
            Some(95)
        );
        assert_eq!(
            Rate {
                on_time: 302,
                total: 368
            }
            .percent(),
            Some(82)
        );
        assert_eq!(Rate::default().percent(), None);
        assert_eq!(percent(183, 368), 50);
        assert_eq!(percent(63, 368), 17);
        assert_eq!(percent(0, 0), 0);
    }
}
