//! `[health]`: when redress counts itself unwell, and whom it tells.

use std::time::Duration;

use serde::Deserialize;

use super::{ConfigError, address_of, invalid, parse_duration};

/// Thresholds for `redress health` and the daemon's alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSettings {
    /// No successful mailbox pass for this long: warning; for `fetch_critical`: critical.
    pub fetch_warning: Duration,
    pub fetch_critical: Duration,
    /// The oldest letter waiting this long: warning; for `letters_critical`: critical.
    pub letters_warning: Duration,
    pub letters_critical: Duration,
    /// The mailbox unreadable, or letters failing, for this long: the managers and the operator
    /// are told by mail (once, and again when it recovers) and the log says ERROR.
    pub alert_after: Duration,
    /// The operator's address, told beside the complaints manager.
    pub operator: Option<String>,
}

impl Default for HealthSettings {
    fn default() -> Self {
        HealthSettings {
            fetch_warning: Duration::from_secs(10 * 60),
            fetch_critical: Duration::from_secs(30 * 60),
            letters_warning: Duration::from_secs(30 * 60),
            letters_critical: Duration::from_secs(2 * 3600),
            alert_after: Duration::from_secs(30 * 60),
            operator: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    fetch_warning: Option<String>,
    fetch_critical: Option<String>,
    letters_warning: Option<String>,
    letters_critical: Option<String>,
    alert_after: Option<String>,
    operator: Option<String>,
}

pub(super) fn build(raw: Option<RawHealth>) -> Result<HealthSettings, ConfigError> {
    let raw = raw.unwrap_or_default();
    let defaults = HealthSettings::default();
    let duration = |value: &Option<String>, key: &str, default: Duration| match value {
        Some(text) => parse_duration(text, key),
        None => Ok(default),
    };
    let settings = HealthSettings {
        fetch_warning: duration(
            &raw.fetch_warning,
            "health.fetch_warning",
            defaults.fetch_warning,
        )?,
        fetch_critical: duration(
            &raw.fetch_critical,
            "health.fetch_critical",
            defaults.fetch_critical,
        )?,
        letters_warning: duration(
            &raw.letters_warning,
            "health.letters_warning",
            defaults.letters_warning,
        )?,
        letters_critical: duration(
            &raw.letters_critical,
            "health.letters_critical",
            defaults.letters_critical,
        )?,
        alert_after: duration(&raw.alert_after, "health.alert_after", defaults.alert_after)?,
        operator: match raw.operator {
            Some(text) => Some(address_of(&text).ok_or_else(|| {
                invalid(
                    "health.operator",
                    format!("`{text}` is not an e-mail address"),
                    "write the operator's address, e.g. ops@example.org",
                )
            })?),
            None => None,
        },
    };
    for (warning, critical, key) in [
        (
            settings.fetch_warning,
            settings.fetch_critical,
            "health.fetch_critical",
        ),
        (
            settings.letters_warning,
            settings.letters_critical,
            "health.letters_critical",
        ),
    ] {
        if critical < warning {
            return Err(invalid(
                key,
                "it is shorter than its warning threshold",
                "make the critical threshold the longer one",
            ));
        }
    }
    Ok(settings)
}
