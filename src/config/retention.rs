//! `[retention]`: how long records of closed cases are kept.

use serde::Deserialize;

use super::{ConfigError, invalid};

/// How long personal data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionSettings {
    /// Years after a case's last activity (once closed) before it is purged.
    pub years: u32,
    /// Also remove purged cases' mails from the processed folder.
    pub expunge_processed: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRetention {
    years: Option<u32>,
    expunge_processed: Option<bool>,
}

pub(super) fn build(raw: Option<RawRetention>) -> Result<RetentionSettings, ConfigError> {
    let raw = raw.unwrap_or_default();
    let years = raw.years.unwrap_or(6);
    if !(1..=100).contains(&years) {
        return Err(invalid(
            "retention.years",
            format!("{years} years"),
            "keep records between 1 and 100 years (the procedure keeps them 6)",
        ));
    }
    Ok(RetentionSettings {
        years,
        expunge_processed: raw.expunge_processed.unwrap_or(false),
    })
}
