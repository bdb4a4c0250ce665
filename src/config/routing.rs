//! `[routing]`, `[reminders]` and `[report]`: who owns what, when they are reminded, and what
//! the published figures need that the record does not hold.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveTime;
use serde::Deserialize;

use super::{Base, ConfigError, address_of, invalid, parse_time};

/// Who owns what (procedure §4.17–4.19: stage 1 with the Complaints Manager; §4.31–4.36: stage 2
/// with a Head of Service or Director).
#[derive(Debug, Clone, Default)]
pub struct RoutingSettings {
    /// Owner of cases whose service area has no address of its own, and of stage 1 complaints by default.
    pub complaints_manager: Option<String>,
    /// Owner of stage 2 reviews; told when a deadline is missed.
    pub manager: Option<String>,
    /// Service area → handler or team address.
    pub service_areas: BTreeMap<String, String>,
    /// Domains whose senders are staff.
    pub staff_domains: Vec<String>,
}

impl RoutingSettings {
    /// The service areas that have an owner, for forms that pick one.
    pub fn areas(&self) -> Vec<&str> {
        self.service_areas.keys().map(String::as_str).collect()
    }

    /// Who owns a new case in `area` at `stage`.
    pub fn owner_for(&self, area: Option<&str>, stage: Option<&str>) -> Option<String> {
        // Code 6.13: stage 2 goes to a different person from stage 1, so never falls back to a
        // stage 1 owner.
        if stage == Some("stage2") {
            return self.manager.clone();
        }
        area.and_then(|a| self.service_areas.get(a).cloned())
            .or_else(|| self.complaints_manager.clone())
    }
}

/// When reminders go out.
#[derive(Debug, Clone)]
pub struct ReminderSettings {
    /// Working days before a deadline that its owner is reminded (default 2).
    pub days_before: u32,
    /// Local time from which a day's reminders and digests go out (default 08:00).
    pub morning: NaiveTime,
    /// Send each owner a digest of their open cases every working day.
    pub digest: bool,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        Self {
            days_before: 2,
            morning: NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
            digest: true,
        }
    }
}

/// What the published figures need that the record does not hold.
#[derive(Debug, Clone, Default)]
pub struct ReportSettings {
    /// Homes owned, for the Regulator's CH01 (complaints per 1,000 homes).
    pub homes_owned: Option<u32>,
    /// Addresses of customers (tenants, leaseholders, shared owners, service users), one per line;
    /// complaints from other addresses count as from neighbours and the wider community.
    pub customers_file: Option<PathBuf>,
    /// Why stage 2 reviews were asked for, grouped for the published report: category → words
    /// that put an escalation's reason in it (the first category that matches wins).
    pub escalation_categories: BTreeMap<String, Vec<String>>,
    /// A folder of Markdown files the landlord writes to go with the figures (foreword.md,
    /// self-assessment.md, learning.md, governing-body.md).
    pub narrative_dir: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRouting {
    complaints_manager: Option<String>,
    manager: Option<String>,
    service_areas: Option<BTreeMap<String, String>>,
    staff_domains: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReminders {
    days_before: Option<u32>,
    morning: Option<String>,
    digest: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawReport {
    homes_owned: Option<u32>,
    customers_file: Option<PathBuf>,
    #[serde(default)]
    escalation_categories: BTreeMap<String, Vec<String>>,
    narrative_dir: Option<PathBuf>,
}

/// An address setting, if set.
fn address(key: &str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    match value {
        None => Ok(None),
        Some(v) => address_of(&v).map(Some).ok_or_else(|| {
            invalid(
                key,
                format!("`{v}` is not an e-mail address"),
                "write an address such as \"repairs@example.org\"",
            )
        }),
    }
}

/// `[routing]`.
pub(super) fn routing(raw: Option<RawRouting>) -> Result<RoutingSettings, ConfigError> {
    let Some(r) = raw else {
        return Ok(RoutingSettings::default());
    };
    let mut service_areas = BTreeMap::new();
    for (area, to) in r.service_areas.unwrap_or_default() {
        let key = format!("routing.service_areas.\"{area}\"");
        service_areas.insert(area, address(&key, Some(to))?.unwrap_or_default());
    }
    let complaints_manager = address("routing.complaints_manager", r.complaints_manager)?;
    let manager = address("routing.manager", r.manager)?;
    let stage1_owners = || complaints_manager.iter().chain(service_areas.values());
    if let Some(manager) = &manager
        && stage1_owners().any(|owner| owner.eq_ignore_ascii_case(manager))
    {
        return Err(invalid(
            "routing.manager",
            format!("{manager} also owns stage 1 complaints"),
            "Code 6.13: stage 2 must be handled by a different person; name a manager who is not the complaints manager or a service area's owner",
        ));
    }
    Ok(RoutingSettings {
        complaints_manager,
        manager,
        service_areas,
        staff_domains: r
            .staff_domains
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.to_ascii_lowercase())
            .collect(),
    })
}

/// `[reminders]`.
pub(super) fn reminders(raw: Option<RawReminders>) -> Result<ReminderSettings, ConfigError> {
    let mut reminders = ReminderSettings::default();
    let Some(r) = raw else {
        return Ok(reminders);
    };
    if let Some(days) = r.days_before {
        if days == 0 || days > 10 {
            return Err(invalid(
                "reminders.days_before",
                format!("{days}"),
                "use 1 to 10 working days",
            ));
        }
        reminders.days_before = days;
    }
    if let Some(text) = r.morning {
        reminders.morning = parse_time(&text, "reminders.morning", "08:00")?;
    }
    reminders.digest = r.digest.unwrap_or(true);
    Ok(reminders)
}

/// `[report]`.
pub(super) fn report(raw: Option<RawReport>, base: &Base<'_>) -> ReportSettings {
    match raw {
        Some(r) => ReportSettings {
            homes_owned: r.homes_owned,
            customers_file: r.customers_file.map(|p| base.resolve(p)),
            escalation_categories: r.escalation_categories,
            narrative_dir: r.narrative_dir.map(|p| base.resolve(p)),
        },
        None => ReportSettings::default(),
    }
}
