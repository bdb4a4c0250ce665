//! Personal data through its life: which cases are past retention, and what of a purged case's
//! record stays. The skeleton kept is what the published figures need — reference, dates, stage,
//! outcome, service area, themes, source, on-time flags, deadlines' kinds and dates — so a past
//! year's report is the same after a purge. Everything a person wrote, and every address, goes.
//!
//! Relied on: UK GDPR Art. 5(1)(e) (storage limitation) and the landlord's procedure, which keeps
//! complaint records for six years (the `[retention] years` default).

use chrono::{DateTime, Months, Utc};
use serde_json::Value;

/// What purged free text reads as.
pub const PURGED: &str = "[purged]";

/// Event fields that hold what a person wrote: blanked in a purge wherever they appear at the
/// top of an event's detail.
const FREE_TEXT: [&str; 14] = [
    "text",
    "needs",
    "authority",
    "notes",
    "reason",
    "error",
    "subject",
    "understanding",
    "outcome_sought",
    "remedy",
    "action",
    "rule",
    "headline",
    "reasons",
];

/// The time before which a closed case's last activity puts it past retention.
pub fn cutoff(now: DateTime<Utc>, years: u32) -> DateTime<Utc> {
    now.checked_sub_months(Months::new(years.saturating_mul(12)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// An event's detail with every free text and address blanked. Kept: kinds, stages, outcomes,
/// dates, flags, counts — and a handler's one-line reason for an escalation, which the report
/// groups (the resident's own words go).
pub fn redact(detail: &Value) -> Value {
    let Value::Object(map) = detail else {
        return detail.clone();
    };
    let mut out = serde_json::Map::new();
    for (key, value) in map {
        let kept = match (key.as_str(), value) {
            (name, Value::String(_)) if FREE_TEXT.contains(&name) => Value::String(PURGED.into()),
            ("detail", Value::Object(request)) => {
                let mut request = request.clone();
                if request.contains_key("words") {
                    request.insert("words".into(), Value::String(PURGED.into()));
                }
                Value::Object(request)
            }
            ("actions", Value::Array(actions)) => {
                Value::Array(actions.iter().map(redact_action).collect())
            }
            _ => without_addresses(value),
        };
        out.insert(key.clone(), kept);
    }
    Value::Object(out)
}

fn redact_action(action: &Value) -> Value {
    let mut action = action.clone();
    if let Value::Object(map) = &mut action {
        for key in ["what", "owner"] {
            if map.contains_key(key) {
                map.insert(key.into(), Value::String(PURGED.into()));
            }
        }
    }
    action
}

/// `value` with every string that holds an e-mail address blanked (senders, recipients).
fn without_addresses(value: &Value) -> Value {
    match value {
        Value::String(text) if text.contains('@') => Value::String(PURGED.into()),
        Value::Array(items) => Value::Array(items.iter().map(without_addresses).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::model::Event;
    use serde_json::json;

    #[test]
    fn a_purged_event_keeps_its_shape_and_figures_and_loses_what_people_wrote() {
        let responded = json!({"stage": "stage1", "outcome": "upheld", "reasons": "Mrs Smith's boiler at 4 Elm Road", "remedy": "£50", "actions": [{"what": "Fit a boiler at 4 Elm Road", "owner": "jo@landlord.org", "due": "2026-12-01"}], "due_at": "2026-12-01T17:00:00Z", "on_time": true});
        let redacted = redact(&responded);
        let text = redacted.to_string();
        assert!(
            !text.contains("Elm Road")
                && !text.contains("jo@landlord.org")
                && !text.contains("£50"),
            "{text}"
        );
        assert_eq!(redacted["outcome"], "upheld");
        assert_eq!(redacted["on_time"], true);
        assert!(
            Event::from_parts("responded", &redacted).is_some(),
            "still reads as the event"
        );
        let escalated = json!({"from_stage": "stage1", "to_stage": "stage2", "requested_at": "2026-12-02T10:00:00Z", "detail": {"reason": "repair still not done", "words": "My name is Ann and I am furious"}});
        let redacted = redact(&escalated);
        assert_eq!(
            redacted["detail"]["reason"], "repair still not done",
            "the report groups it"
        );
        assert_eq!(redacted["detail"]["words"], PURGED);
        let undelivered = json!({"letter": "receipt", "message_id": "x@redress.test", "to": "ann@example.net", "bounce_row": 3});
        assert_eq!(redact(&undelivered)["to"], PURGED);
    }

    #[test]
    fn retention_counts_whole_years_back() {
        let now = "2026-11-23T10:00:00Z"
            .parse::<DateTime<Utc>>()
            .expect("time");
        assert_eq!(cutoff(now, 6).to_rfc3339(), "2020-11-23T10:00:00+00:00");
    }
}
