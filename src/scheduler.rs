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
use sqlx::Row;

use crate::app::App;
use crate::calendar::Calendar;
use crate::config::ReminderSettings;
use crate::deadlines::DeadlineKind;
use crate::store::{NewLetter, Store, StoreError, from_ts, ts};

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

struct OpenDeadline {
    id: i64,
    case_id: i64,
    kind: String,
    due_at: DateTime<Utc>,
    rule: String,
    reference: String,
    stage: Option<String>,
    customer_name: Option<String>,
    subject: String,
    owner: Option<String>,
}

/// Rows handled per transaction.
const BATCH: usize = 1000;

/// One scheduler pass at `now`.
pub async fn pass(app: &App, now: DateTime<Utc>) -> Result<SchedulerReport, StoreError> {
    let rules = &app.rules;
    let settings = &rules.settings.reminders;
    let routing = &rules.settings.routing;
    let calendar = &rules.calendar;
    // Only deadlines whose "before" reminder could be due: within the reminder window from now.
    let horizon = calendar.close_of_business(
        calendar.add_working_days(calendar.local_date(now), settings.days_before + 1),
    );
    let rows = sqlx::query(
        "SELECT d.id, d.case_id, d.kind, d.due_at, d.rule, c.reference, c.stage, c.customer_name, c.subject, c.owner
         FROM deadlines d JOIN cases c ON c.id = d.case_id
         WHERE d.status = 'open' AND (c.status = 'open' OR d.kind = 'outstanding_action') AND d.due_at <= $1
         ORDER BY d.due_at, d.id",
    )
    .bind(ts(horizon))
    .fetch_all(app.store.pool())
    .await?;
    let deadlines = rows
        .iter()
        .map(|row| {
            Ok(OpenDeadline {
                id: row.try_get("id")?,
                case_id: row.try_get("case_id")?,
                kind: row.try_get("kind")?,
                due_at: from_ts(row.try_get("due_at")?),
                rule: row.try_get("rule")?,
                reference: row.try_get("reference")?,
                stage: row.try_get("stage")?,
                customer_name: row.try_get("customer_name")?,
                subject: row.try_get("subject")?,
                owner: row.try_get("owner")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut report = SchedulerReport {
        deadlines_checked: deadlines.len(),
        ..SchedulerReport::default()
    };
    // Reminders already sent for these deadlines: skip them without a write (the unique key below
    // still guards against a second instance racing this one).
    let lowest = deadlines.iter().map(|d| d.id).min().unwrap_or(0);
    let sent: HashSet<(i64, String, String)> =
        sqlx::query("SELECT deadline_id, kind, day FROM reminders WHERE deadline_id >= $1")
            .bind(lowest)
            .fetch_all(app.store.pool())
            .await?
            .iter()
            .map(|row| {
                Ok((
                    row.try_get("deadline_id")?,
                    row.try_get("kind")?,
                    row.try_get("day")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?;
    let due: Vec<(&OpenDeadline, ReminderKind, NaiveDate)> = deadlines
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
            let recorded = sqlx::query(
                "INSERT INTO reminders (deadline_id, kind, day, case_id, created_at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (deadline_id, kind, day) DO NOTHING",
            )
            .bind(deadline.id)
            .bind(kind.as_str())
            .bind(day.to_string())
            .bind(deadline.case_id)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
            if recorded.rows_affected() == 0 {
                continue;
            }
            let owner = deadline
                .owner
                .clone()
                .or_else(|| routing.complaints_manager.clone());
            let mut recipients: Vec<String> = owner.into_iter().collect();
            if *kind == ReminderKind::Overdue
                && let Some(manager) = &routing.manager
                && !recipients.contains(manager)
            {
                recipients.push(manager.clone());
            }
            let what = DeadlineKind::parse(&deadline.kind)
                .map(DeadlineKind::describe)
                .unwrap_or("deadline");
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
                "what": what,
                "due": rules.calendar_time(deadline.due_at),
                "reference": deadline.reference,
                "stage": deadline.stage.as_deref().unwrap_or("-"),
                "customer_name": deadline.customer_name.as_deref().unwrap_or("(no name given)"),
                "subject": deadline.subject,
                "rule": deadline.rule,
                "overdue": *kind == ReminderKind::Overdue,
                "overdue_days": overdue_days,
                "days_left": calendar.working_days_left(now, deadline.due_at).max(0),
            });
            let letter = match rules.letters.render("reminder", &context) {
                Ok(letter) => letter,
                Err(e) => {
                    tracing::error!(error = %e, "reminder template failed");
                    continue;
                }
            };
            for recipient in &recipients {
                Store::queue_letter(
                    &mut tx,
                    &NewLetter {
                        case_id: Some(deadline.case_id),
                        kind: format!("reminder_{}", kind.as_str()),
                        dedupe_key: format!(
                            "reminder:{}:{}:{day}:{recipient}",
                            deadline.id,
                            kind.as_str()
                        ),
                        message_id: rules.new_message_id(&deadline.reference, "reminder"),
                        to_address: recipient.clone(),
                        subject: letter.subject.clone(),
                        body: letter.body.clone(),
                        in_reply_to: None,
                        references: None,
                    },
                    now,
                )
                .await?;
            }
            Store::insert_event(
                &mut tx,
                deadline.case_id,
                now,
                "reminder_queued",
                "redress",
                &json!({
                    "deadline": deadline.kind, "reminder": kind, "day": day, "to": recipients,
                }),
            )
            .await?;
            report.reminders += 1;
        }
        tx.commit().await?;
    }
    if settings.digest {
        report.digests = digests(app, now).await?;
    }
    Ok(report)
}

/// One case in a digest: stage, customer name, next deadline's kind and due time.
type DigestLine = (Option<String>, Option<String>, String, DateTime<Utc>);

/// Each owner's daily digest of open cases, once per working day after the morning hour.
async fn digests(app: &App, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let rules = &app.rules;
    let calendar = &rules.calendar;
    let local = now.with_timezone(&calendar.time_zone());
    let today = local.date_naive();
    if !calendar.is_working_day(today) || local.time() < rules.settings.reminders.morning {
        return Ok(0);
    }
    // Most passes find every owner's digest for today already queued: check that cheaply first.
    let owners: Vec<String> =
        sqlx::query("SELECT DISTINCT owner FROM cases WHERE status = 'open' AND owner IS NOT NULL")
            .fetch_all(app.store.pool())
            .await?
            .iter()
            .map(|row| row.try_get("owner"))
            .collect::<Result<_, sqlx::Error>>()?;
    let done: HashSet<String> =
        sqlx::query("SELECT dedupe_key FROM outbox WHERE kind = 'digest' AND created_at >= $1")
            .bind(ts(
                calendar.close_of_business(today) - chrono::Duration::days(1)
            ))
            .fetch_all(app.store.pool())
            .await?
            .iter()
            .map(|row| row.try_get("dedupe_key"))
            .collect::<Result<_, sqlx::Error>>()?;
    if owners
        .iter()
        .all(|owner| done.contains(&format!("digest:{owner}:{today}")))
    {
        return Ok(0);
    }
    let rows = sqlx::query(
        "SELECT c.reference, c.stage, c.customer_name, c.owner, d.kind, d.due_at
         FROM cases c JOIN deadlines d ON d.case_id = c.id
         WHERE c.status = 'open' AND c.owner IS NOT NULL AND d.status = 'open'
         ORDER BY c.owner, c.reference, d.due_at",
    )
    .fetch_all(app.store.pool())
    .await?;
    // owner → reference → (stage, name, next kind, next due)
    let mut by_owner: BTreeMap<String, BTreeMap<String, DigestLine>> = BTreeMap::new();
    for row in &rows {
        let owner: String = row.try_get("owner")?;
        let reference: String = row.try_get("reference")?;
        let due = from_ts(row.try_get("due_at")?);
        by_owner
            .entry(owner)
            .or_default()
            .entry(reference)
            .or_insert((
                row.try_get("stage")?,
                row.try_get("customer_name")?,
                row.try_get("kind")?,
                due,
            ));
    }
    let mut sent = 0;
    let date = rules.letter_date(now);
    let mut tx = app.store.begin().await?;
    for (owner, cases) in by_owner {
        let mut overdue_count = 0;
        let items: Vec<serde_json::Value> = cases
            .iter()
            .map(|(reference, (stage, name, kind, due))| {
                let overdue = *due < now;
                if overdue {
                    overdue_count += 1;
                }
                json!({
                    "reference": reference,
                    "stage": stage.as_deref().unwrap_or("-"),
                    "customer_name": name.as_deref().unwrap_or("(no name given)"),
                    "next": DeadlineKind::parse(kind).map(DeadlineKind::describe).unwrap_or("deadline"),
                    "due": rules.calendar_time(*due),
                    "overdue": overdue,
                    "overdue_days": calendar.working_days_between(calendar.local_date(*due), today).max(0),
                    "days_left": calendar.working_days_left(now, *due).max(0),
                })
            })
            .collect();
        let context = json!({
            "date": date, "open_count": items.len(), "overdue_count": overdue_count, "cases": items,
        });
        let letter = match rules.letters.render("digest", &context) {
            Ok(letter) => letter,
            Err(e) => {
                tracing::error!(error = %e, "digest template failed");
                continue;
            }
        };
        let queued = Store::queue_letter(
            &mut tx,
            &NewLetter {
                case_id: None,
                kind: "digest".into(),
                dedupe_key: format!("digest:{owner}:{today}"),
                message_id: rules.new_message_id("digest", "digest"),
                to_address: owner.clone(),
                subject: letter.subject,
                body: letter.body,
                in_reply_to: None,
                references: None,
            },
            now,
        )
        .await?;
        if queued {
            sent += 1;
        }
    }
    tx.commit().await?;
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::parse_bank_holidays;
    use chrono::NaiveTime;

    fn calendar() -> Calendar {
        Calendar::new(
            chrono_tz::Europe::London,
            NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
            parse_bank_holidays(
                include_str!("../config/bank-holidays.json"),
                "england-and-wales",
            )
            .expect("feed"),
            BTreeMap::new(),
        )
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("instant")
            .with_timezone(&Utc)
    }

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
