//! The reminder scheduler: turns due deadlines into reminders and digests in the outbox.
//!
//! One pass finds, for every open deadline of an open case, the one reminder due now (if any):
//! a configurable number of working days before the deadline, on the morning of the due day,
//! and once it has passed, an overdue alert to the owner and the manager that repeats each working
//! day until the deadline is met, superseded or the case closes. Each reminder is recorded with its
//! deadline, kind and day under a unique key, in the same transaction as its letters, so a restart,
//! a second pass or a second instance never sends it twice. Digests go to each owner once per
//! working day. The daemon runs a pass every minute; `run --once` runs one.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use crate::app::{App, Rules};
use crate::case::CaseError;
use crate::case::apply::{QueueError, apply, object, queue};
use crate::case::calendar::Calendar;
use crate::case::delivery::{self, Reminder};
use crate::case::plan::{IfUnwritten, Outgoing};
use crate::config::ReminderSettings;
use crate::store::reminders::{DigestRow, DueDeadline};

/// Which reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    Before,
    DueDay,
    Overdue,
}

impl ReminderKind {
    fn as_str(self) -> &'static str {
        match self {
            ReminderKind::Before => "before",
            ReminderKind::DueDay => "due_day",
            ReminderKind::Overdue => "overdue",
        }
    }
}

/// The reminder due now for a deadline due at `due_at`, and the working day it is for.
/// Pure: the heart of the scheduler.
pub fn due_reminder(
    calendar: &Calendar,
    settings: &ReminderSettings,
    due_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<(ReminderKind, NaiveDate)> {
    let local_now = now.with_timezone(&calendar.time_zone());
    let today = local_now.date_naive();
    let morning_passed = local_now.time() >= settings.morning;
    let due_day = calendar.local_date(due_at);
    if now > due_at {
        // Overdue: at once on the due day, then each working day's morning.
        if !calendar.is_working_day(today) && today != due_day {
            return None;
        }
        if today == due_day || morning_passed {
            return Some((ReminderKind::Overdue, today));
        }
        return None;
    }
    if today == due_day && morning_passed {
        return Some((ReminderKind::DueDay, due_day));
    }
    let before_day = calendar.sub_working_days(due_day, settings.days_before);
    if today > before_day || (today == before_day && morning_passed) {
        return Some((ReminderKind::Before, before_day));
    }
    None
}

/// What a pass did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct SchedulerReport {
    pub deadlines_checked: usize,
    pub reminders: usize,
    pub digests: usize,
}

/// Rows handled per transaction.
const BATCH: usize = 1000;

/// One scheduler pass at `now`.
pub async fn pass(app: &App, now: DateTime<Utc>) -> Result<SchedulerReport, CaseError> {
    let rules = &app.rules;
    let settings = &rules.settings.reminders;
    let calendar = &rules.calendar;
    // Only deadlines whose "before" reminder could be due: within the reminder window from now.
    let horizon = calendar.close_of_business(
        calendar.add_working_days(calendar.local_date(now), settings.days_before + 1),
    );
    let deadlines = app.store.open_deadlines_due_by(horizon).await?;
    let mut report = SchedulerReport {
        deadlines_checked: deadlines.len(),
        ..SchedulerReport::default()
    };
    // Reminders already sent for these deadlines: skip them without a write (the unique key below
    // still guards against a second instance racing this one).
    let lowest = deadlines.iter().map(|d| d.id).min().unwrap_or(0);
    let sent = app.store.reminders_sent(lowest).await?;
    let due: Vec<(&DueDeadline, ReminderKind, NaiveDate)> = deadlines
        .iter()
        .filter_map(|d| {
            due_reminder(calendar, settings, d.due_at, now).map(|(kind, day)| (d, kind, day))
        })
        .filter(|(d, kind, day)| {
            !sent.contains(&(d.id, kind.as_str().to_string(), day.to_string()))
        })
        .collect();
    for chunk in due.chunks(BATCH) {
        let mut tx = app.store.begin().await?;
        for (deadline, kind, day) in chunk {
            if !tx
                .claim_reminder(deadline, kind.as_str(), *day, now)
                .await?
            {
                continue;
            }
            let plan = delivery::reminder(reminder(rules, deadline, *kind, *day, now));
            match apply(&mut tx, rules, &plan, now).await {
                Ok(_) => report.reminders += 1,
                Err(CaseError::Letter { message, .. }) => {
                    tracing::error!(error = %message, "reminder template failed");
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
    }
    if settings.digest {
        report.digests = digests(app, now).await?;
    }
    Ok(report)
}

/// The reminder of `kind` about `deadline`: to its owner (or the complaints manager), and when
/// overdue to the manager too.
fn reminder<'a>(
    rules: &Rules,
    deadline: &DueDeadline,
    kind: ReminderKind,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Reminder<'a> {
    let routing = &rules.settings.routing;
    let calendar = &rules.calendar;
    let owner = deadline
        .owner
        .clone()
        .or_else(|| routing.complaints_manager.clone());
    let mut to: Vec<String> = owner.into_iter().collect();
    if kind == ReminderKind::Overdue
        && let Some(manager) = &routing.manager
        && !to.contains(manager)
    {
        to.push(manager.clone());
    }
    let due_day = calendar.local_date(deadline.due_at);
    let overdue_days = calendar
        .working_days_between(due_day, calendar.local_date(now))
        .max(0);
    let context = json!({
        "headline": match kind {
            ReminderKind::Before => "Reminder",
            ReminderKind::DueDay => "Due today",
            ReminderKind::Overdue => "OVERDUE",
        },
        "what": deadline.kind.describe(),
        "due": rules.calendar_time(deadline.due_at),
        "stage": deadline.stage.map_or("-", |s| s.as_str()),
        "customer_name": deadline.customer_name.as_deref().unwrap_or("(no name given)"),
        "subject": deadline.subject,
        "rule": deadline.rule,
        "adjustments": deadline.adjustments,
        "representative": deadline.representative,
        "authority": deadline.authority,
        "overdue": kind == ReminderKind::Overdue,
        "overdue_days": overdue_days,
        "days_left": calendar.working_days_left(now, deadline.due_at).max(0),
    });
    let resident_update = (kind == ReminderKind::Overdue)
        .then(|| delivery::late_update(rules, deadline))
        .flatten();
    Reminder {
        resident_update,
        case_id: deadline.case_id,
        deadline_id: deadline.id,
        deadline: deadline.kind,
        kind: kind.as_str(),
        day,
        to,
        context: object(context),
    }
}

/// Each owner's daily digest of open cases, once per working day after the morning hour.
async fn digests(app: &App, now: DateTime<Utc>) -> Result<usize, CaseError> {
    let rules = &app.rules;
    let calendar = &rules.calendar;
    let local = now.with_timezone(&calendar.time_zone());
    let today = local.date_naive();
    if !calendar.is_working_day(today) || local.time() < rules.settings.reminders.morning {
        return Ok(0);
    }
    // Most passes find every owner's digest for today already queued: check that cheaply first.
    let owners = app.store.open_case_owners().await?;
    let since = calendar.close_of_business(today) - chrono::Duration::days(1);
    let done: HashSet<String> = app
        .store
        .letter_keys_since("digest", since)
        .await?
        .into_iter()
        .collect();
    if owners
        .iter()
        .all(|owner| done.contains(&format!("digest:{owner}:{today}")))
    {
        return Ok(0);
    }
    // owner → reference → the case's next deadline
    let mut by_owner: BTreeMap<String, BTreeMap<String, DigestRow>> = BTreeMap::new();
    for row in app.store.digest_rows().await? {
        by_owner
            .entry(row.owner.clone())
            .or_default()
            .entry(row.reference.clone())
            .or_insert(row);
    }
    let mut sent = 0;
    let mut tx = app.store.begin().await?;
    for (owner, cases) in by_owner {
        let letter = digest(rules, &owner, cases.values(), now);
        match queue(&mut tx, rules, None, &letter, now).await {
            Ok(queued) => sent += queued.iter().filter(|(_, newly)| *newly).count(),
            Err(QueueError::Unwritten { message, .. }) => {
                tracing::error!(error = %message, "digest template failed");
            }
            Err(QueueError::Store(e)) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    Ok(sent)
}

/// One owner's digest: each open case with its next deadline, and how many are overdue.
fn digest<'a>(
    rules: &Rules,
    owner: &str,
    cases: impl Iterator<Item = &'a DigestRow>,
    now: DateTime<Utc>,
) -> Outgoing {
    let calendar = &rules.calendar;
    let today = calendar.local_date(now);
    let mut overdue_count = 0;
    // Overdue first, then soonest due.
    let mut cases: Vec<&DigestRow> = cases.collect();
    cases.sort_by_key(|case| case.due_at);
    let web = rules.settings.web.as_ref();
    let items: Vec<serde_json::Value> = cases
        .into_iter()
        .map(|case| {
            let overdue = case.due_at < now;
            overdue_count += usize::from(overdue);
            json!({
                "reference": case.reference,
                "stage": case.stage.map_or("-", |s| s.as_str()),
                "customer_name": case.customer_name.as_deref().unwrap_or("(no name given)"),
                "next": case.kind.describe(),
                "due": rules.calendar_time(case.due_at),
                "overdue": overdue,
                "overdue_days": calendar.working_days_between(calendar.local_date(case.due_at), today).max(0),
                "days_left": calendar.working_days_left(now, case.due_at).max(0),
                "url": web.map(|w| format!("{}/cases/{}", w.public_url, case.reference)),
            })
        })
        .collect();
    let context = json!({
        "date": rules.letter_date(now), "open_count": items.len(),
        "overdue_count": overdue_count, "cases": items,
        "web": web.map(|w| w.public_url.clone()),
    });
    Outgoing {
        template: "digest",
        kind: "digest".into(),
        to: vec![owner.to_string()],
        context: object(context),
        key: format!("digest:{owner}:{today}"),
        in_reply_to: None,
        references: Vec::new(),
        if_unwritten: IfUnwritten::Refuse,
        record: false,
        by_post: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> Calendar {
        crate::case::calendar::testing::england()
    }

    use crate::case::calendar::testing::utc;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn reminders_across_the_christmas_bank_holiday_weekend() {
        let cal = calendar();
        let settings = ReminderSettings::default();
        let due = utc("2026-12-30T17:00:00Z");
        let at = |t: &str| due_reminder(&cal, &settings, due, utc(t));
        assert_eq!(at("2026-12-23T12:00:00Z"), None);
        assert_eq!(
            at("2026-12-24T07:59:00Z"),
            None,
            "not before the morning hour"
        );
        assert_eq!(
            at("2026-12-24T08:00:00Z"),
            Some((ReminderKind::Before, d("2026-12-24")))
        );
        assert_eq!(
            at("2026-12-29T09:00:00Z"),
            Some((ReminderKind::Before, d("2026-12-24"))),
            "same key: not sent again"
        );
        assert_eq!(
            at("2026-12-30T09:00:00Z"),
            Some((ReminderKind::DueDay, d("2026-12-30")))
        );
        assert_eq!(
            at("2026-12-30T17:01:00Z"),
            Some((ReminderKind::Overdue, d("2026-12-30")))
        );
        assert_eq!(
            at("2026-12-31T08:30:00Z"),
            Some((ReminderKind::Overdue, d("2026-12-31")))
        );
        assert_eq!(
            at("2027-01-01T09:00:00Z"),
            None,
            "no alerts on a bank holiday"
        );
        assert_eq!(at("2027-01-02T09:00:00Z"), None, "nor at the weekend");
        assert_eq!(
            at("2027-01-04T09:00:00Z"),
            Some((ReminderKind::Overdue, d("2027-01-04")))
        );
    }
}
