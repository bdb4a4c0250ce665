//! `[deadlines]`: the Code's timescales, each within the bound the Code allows.
//!
//! Bounds relied on (Complaint Handling Code 2024, section 6): stage 1 acknowledgement within 5
//! working days (6.2) and response within 10 of the acknowledgement (6.3), an extension of no
//! more than 10 (6.4); stage 2 acknowledgement within 5 (6.11), response within 20 (6.14), an
//! extension of no more than 20 (6.15). Awaab's Law's clocks are bounded by the 2025
//! Regulations' own figures.

use serde::Deserialize;

use super::{ConfigError, invalid, parse_date};
use crate::case::deadlines::{AcknowledgementMode, DeadlinePolicy};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDeadlines {
    acknowledgement: Option<String>,
    stage1_acknowledge_days: Option<u32>,
    stage1_response_days: Option<u32>,
    stage1_extension_max_days: Option<u32>,
    stage2_acknowledge_days: Option<u32>,
    stage2_response_days: Option<u32>,
    stage2_extension_max_days: Option<u32>,
    feedback_stage: Option<bool>,
    feedback_response_days: Option<u32>,
    awaab_emergency_hours: Option<u32>,
    awaab_investigation_days: Option<u32>,
    awaab_summary_days: Option<u32>,
    awaab_safety_work_days: Option<u32>,
    awaab_start: Option<String>,
}

/// A number of days (or hours) from 1 up to `max`, or the default when not set.
fn bounded(value: Option<u32>, key: &str, default: u32, max: u32) -> Result<u32, ConfigError> {
    let v = value.unwrap_or(default);
    if v == 0 || v > max {
        return Err(invalid(
            &format!("deadlines.{key}"),
            format!("{v} working days"),
            &format!("use 1 to {max}"),
        ));
    }
    Ok(v)
}

/// `[deadlines]`.
pub(super) fn build(raw: RawDeadlines) -> Result<DeadlinePolicy, ConfigError> {
    let d = DeadlinePolicy::default();
    let acknowledgement = match raw.acknowledgement.as_deref() {
        None => d.acknowledgement,
        Some("handler") => AcknowledgementMode::Handler,
        Some("automatic") => AcknowledgementMode::Automatic,
        Some(other) => {
            return Err(invalid(
                "deadlines.acknowledgement",
                format!("`{other}`"),
                "use \"handler\" (a person sends the Code's acknowledgement) or \"automatic\"",
            ));
        }
    };
    let awaab_start = match raw.awaab_start.as_deref() {
        Some(text) => parse_date(text, "deadlines.awaab_start")?,
        None => d.awaab_start,
    };
    let mut policy = DeadlinePolicy {
        acknowledgement,
        awaab_start,
        feedback_stage: raw.feedback_stage.unwrap_or(d.feedback_stage),
        ..d
    };
    // Each day count from 1 up to the bound (6.2, 6.3, 6.4, 6.11, 6.14; Awaab's Law).
    macro_rules! bound {
        ($($field:ident <= $max:literal),* $(,)?) => {
            $(policy.$field = bounded(raw.$field, stringify!($field), policy.$field, $max)?;)*
        };
    }
    bound!(
        stage1_acknowledge_days <= 5,
        stage1_response_days <= 10,
        stage1_extension_max_days <= 10,
        stage2_acknowledge_days <= 5,
        stage2_response_days <= 20,
        stage2_extension_max_days <= 20,
        feedback_response_days <= 5,
        awaab_emergency_hours <= 24,
        awaab_investigation_days <= 10,
        awaab_summary_days <= 3,
        awaab_safety_work_days <= 5,
    );
    Ok(policy)
}
