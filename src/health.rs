//! Is redress well? From what the store keeps of the last fetch and send and the outbox, a
//! Nagios-style verdict for `redress health`, and the alerts the daemon mails when the mailbox
//! cannot be read or letters keep failing (once when it starts, once when it recovers).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use crate::app::App;
use crate::case::apply::{QueueError, object, queue};
use crate::case::plan::{IfUnwritten, Outgoing};
use crate::store::StoreError;
use crate::store::health::{Component, HealthRow};

/// How well, Nagios's way: the exit code of `redress health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok = 0,
    Warning = 1,
    Critical = 2,
}

/// The verdict and the findings behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub level: Level,
    /// One line each: what was found and how it counts.
    pub findings: Vec<(Level, String)>,
    pub fetch: HealthRow,
    pub send: HealthRow,
    pub letters_waiting: i64,
    pub letters_failed: i64,
}

impl Verdict {
    /// One line for `systemctl status`: "mailbox read 2 min ago; 3 letter(s) waiting".
    pub fn status_line(&self) -> String {
        let mailbox = match (self.fetch.last_ok_at, self.fetch.failing_since) {
            (_, Some(_)) => "mailbox failing".to_string(),
            (Some(_), None) => "mailbox watched".to_string(),
            (None, None) => "mailbox not read yet".to_string(),
        };
        let failed = if self.letters_failed > 0 {
            format!(", {} given up", self.letters_failed)
        } else {
            String::new()
        };
        format!(
            "{mailbox}; {} letter(s) waiting{failed}",
            self.letters_waiting
        )
    }

    /// The first line Nagios shows: "OK: …", "WARNING: …" or "CRITICAL: …".
    pub fn summary(&self) -> String {
        let word = match self.level {
            Level::Ok => "OK",
            Level::Warning => "WARNING",
            Level::Critical => "CRITICAL",
        };
        let worst: Vec<&str> = self
            .findings
            .iter()
            .filter(|(level, _)| *level == self.level)
            .map(|(_, text)| text.as_str())
            .collect();
        format!("{word}: {}", worst.join("; "))
    }
}

fn age(now: DateTime<Utc>, then: DateTime<Utc>) -> std::time::Duration {
    (now - then).to_std().unwrap_or_default()
}

fn minutes(d: std::time::Duration) -> u64 {
    d.as_secs() / 60
}

/// Judges redress's health at `now` against `[health]`'s thresholds.
pub async fn assess(app: &App, now: DateTime<Utc>) -> Result<Verdict, StoreError> {
    let limits = &app.rules.settings.health;
    let fetch = app.store.health(Component::Fetch).await?;
    let send = app.store.health(Component::Send).await?;
    let (letters_waiting, letters_failed, oldest) = app.store.outbox_health().await?;
    let mut findings = Vec::new();
    let graded = |age: std::time::Duration, warning, critical| {
        if age >= critical {
            Level::Critical
        } else if age >= warning {
            Level::Warning
        } else {
            Level::Ok
        }
    };
    match fetch.last_ok_at {
        Some(at) => {
            let since = age(now, at);
            let level = graded(since, limits.fetch_warning, limits.fetch_critical);
            let mut text = format!("mailbox last read {} min ago", minutes(since));
            if let (Some(error), true) = (&fetch.last_error, fetch.failing_since.is_some()) {
                text.push_str(&format!(" (failing: {error})"));
            }
            findings.push((level, text));
        }
        None => findings.push((
            Level::Warning,
            match &fetch.last_error {
                Some(error) => format!("the mailbox has never been read ({error})"),
                None => "the mailbox has not been read yet (is the daemon running?)".into(),
            },
        )),
    }
    match oldest {
        Some(at) => {
            let waited = age(now, at);
            let level = graded(waited, limits.letters_warning, limits.letters_critical);
            let mut text = format!(
                "{letters_waiting} letter(s) waiting, the oldest {} min",
                minutes(waited)
            );
            if let (Some(error), true) = (&send.last_error, send.failing_since.is_some()) {
                text.push_str(&format!(" (sending fails: {error})"));
            }
            findings.push((level, text));
        }
        None => findings.push((Level::Ok, "no letter waiting".into())),
    }
    if letters_failed > 0 {
        findings.push((
            Level::Warning,
            format!("{letters_failed} letter(s) given up (see `redress outbox list`)"),
        ));
    }
    let level = findings.iter().map(|(l, _)| *l).max().unwrap_or(Level::Ok);
    Ok(Verdict {
        level,
        findings,
        fetch,
        send,
        letters_waiting,
        letters_failed,
    })
}

/// Tells the complaints manager and the operator when reading the mailbox or sending letters
/// has failed for `[health] alert_after`, and again when it recovers; each once. Returns how
/// many alerts were queued.
pub async fn alert_pass(app: &App, now: DateTime<Utc>) -> Result<usize, QueueError> {
    let mut queued = 0;
    for component in [Component::Fetch, Component::Send] {
        let health = app.store.health(component).await?;
        let due = alert_due(app, &health, now);
        let Some(failing) = due else { continue };
        let at_risk = if failing {
            let tomorrow = app.rules.calendar.deadline_after(now, 1);
            app.store.acknowledgements_due_before(tomorrow).await?
        } else {
            0
        };
        queued += send_alert(app, component, &health, failing, at_risk, now).await?;
        app.store
            .record_alert(component, failing.then_some(now))
            .await?;
    }
    Ok(queued)
}

/// `Some(true)`: failing long enough and nobody told; `Some(false)`: recovered after an alert.
fn alert_due(app: &App, health: &HealthRow, now: DateTime<Utc>) -> Option<bool> {
    match (health.failing_since, health.alerted_at) {
        (Some(since), None) if age(now, since) >= app.rules.settings.health.alert_after => {
            Some(true)
        }
        (None, Some(_)) => Some(false),
        _ => None,
    }
}

async fn send_alert(
    app: &App,
    component: Component,
    health: &HealthRow,
    failing: bool,
    at_risk: i64,
    now: DateTime<Utc>,
) -> Result<usize, QueueError> {
    let settings = &app.rules.settings;
    let what = match component {
        Component::Fetch => "the complaints mailbox cannot be read",
        Component::Send => "letters to residents are not being sent",
    };
    let headline = if failing {
        format!("Alert: {what}")
    } else {
        format!(
            "Recovered: {}",
            what.replace("cannot be", "can be")
                .replace("are not being", "are being")
        )
    };
    if failing {
        tracing::error!(component = component.as_str(), at_risk, "{headline}");
    } else {
        tracing::info!(component = component.as_str(), "{headline}");
    }
    let mut to: Vec<String> = [
        settings.routing.complaints_manager.clone(),
        settings.health.operator.clone(),
    ]
    .into_iter()
    .flatten()
    .collect();
    to.dedup();
    if to.is_empty() {
        return Ok(0);
    }
    let details = if failing {
        "redress has been unable to do this for longer than the alert threshold (health.alert_after). Mail may be waiting unanswered and the Code's deadlines are running."
    } else {
        "It works again: whatever was waiting is being handled now."
    };
    let context = json!({
        "headline": headline,
        "details": details,
        "since": health.failing_since.map(|t| app.rules.calendar_time(t)),
        "last_error": health.last_error.as_deref().filter(|_| failing),
        "at_risk": (at_risk > 0).then(|| at_risk.to_string()),
    });
    let letter = Outgoing {
        template: "alert",
        kind: "alert".into(),
        to,
        context: object(context),
        key: format!(
            "alert:{}:{}:{}:{{to}}",
            component.as_str(),
            failing,
            now.timestamp()
        ),
        in_reply_to: None,
        references: Vec::new(),
        if_unwritten: IfUnwritten::Refuse,
        record: false,
        by_post: false,
    };
    let mut tx = app.store.begin().await?;
    let queued = queue(&mut tx, &app.rules, None, &letter, now).await?;
    tx.commit().await?;
    Ok(queued.iter().filter(|(_, new)| *new).count())
}
