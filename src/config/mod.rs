//! Typed settings, loaded from one TOML file and checked at start.
//!
//! Every problem names the key and the fix. Secrets never print: they live in [`Secret`], whose
//! `Debug` and `Display` show `[redacted]`. Relative paths are resolved against the config
//! file's own folder, so `config/redress.example.toml` finds `config/templates/` beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use crate::case::calendar::{Calendar, parse_bank_holidays};
use crate::case::deadlines::{AcknowledgementMode, DeadlinePolicy};

/// A bad or missing setting, with the key and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("config file {path} is not valid TOML: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("config key `{key}` is missing: {fix}")]
    Missing { key: String, fix: String },
    #[error("config key `{key}` is invalid: {problem}; {fix}")]
    Invalid {
        key: String,
        problem: String,
        fix: String,
    },
}

fn missing(key: &str, fix: &str) -> ConfigError {
    ConfigError::Missing {
        key: key.to_string(),
        fix: fix.to_string(),
    }
}

fn invalid(key: &str, problem: impl Into<String>, fix: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        problem: problem.into(),
        fix: fix.to_string(),
    }
}

/// A password or other secret: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The secret itself, for handing to a protocol client.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How a connection to a mail server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (IMAPS 993, SMTPS 465).
    Tls,
    /// Plain connection upgraded with STARTTLS before login.
    StartTls,
    /// No encryption: only allowed to a loopback host.
    None,
}

/// The complaints mailbox (IMAP).
#[derive(Debug, Clone)]
pub struct MailboxSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: Secret,
    pub folder: String,
    pub processed_folder: String,
    pub poll_interval: Duration,
    /// How long one IDLE lasts before it is re-issued (servers drop it after 30 minutes).
    pub idle_timeout: Duration,
    /// An extra CA certificate (PEM) to trust besides the system's.
    pub ca_file: Option<PathBuf>,
}

/// The outgoing mail server (SMTP submission).
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<(String, Secret)>,
    pub from: String,
    pub ca_file: Option<PathBuf>,
}

/// The landlord as it appears in letters.
#[derive(Debug, Clone)]
pub struct OrganisationSettings {
    pub name: String,
    pub reference_prefix: String,
    /// Domain of the Message-IDs redress makes; mail quoting one of these is ours.
    pub message_id_domain: String,
    pub complaints_address: String,
    pub ombudsman_contact: String,
}

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
    /// Who owns a new case in `area` at `stage`.
    pub fn owner_for(&self, area: Option<&str>, stage: Option<&str>) -> Option<String> {
        if stage == Some("stage2") {
            return self
                .manager
                .clone()
                .or_else(|| self.complaints_manager.clone());
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
}

/// All settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mailbox: MailboxSettings,
    pub smtp: SmtpSettings,
    pub database_url: String,
    pub organisation: OrganisationSettings,
    pub templates_dir: PathBuf,
    /// The classifier's phrases (`[classification] rules_file`).
    pub classification_rules: PathBuf,
    pub calendar: CalendarSettings,
    pub deadlines: DeadlinePolicy,
    pub routing: RoutingSettings,
    pub reminders: ReminderSettings,
    pub report: ReportSettings,
}

/// Where the working-day calendar comes from.
#[derive(Debug, Clone)]
pub struct CalendarSettings {
    pub time_zone: chrono_tz::Tz,
    pub division: String,
    pub holidays_file: PathBuf,
    pub close_of_business: NaiveTime,
    pub closures: BTreeMap<NaiveDate, String>,
}

impl CalendarSettings {
    /// Reads the holidays file and builds the calendar.
    pub fn load(&self) -> Result<Calendar, ConfigError> {
        let text = std::fs::read_to_string(&self.holidays_file).map_err(|e| {
            invalid(
                "calendar.holidays_file",
                format!("cannot read {}: {e}", self.holidays_file.display()),
                "point it at a copy of https://www.gov.uk/bank-holidays.json (one ships as config/bank-holidays.json)",
            )
        })?;
        let holidays = parse_bank_holidays(&text, &self.division).map_err(|e| {
            invalid(
                "calendar.division",
                e.to_string(),
                "use england-and-wales, scotland or northern-ireland, and a file in the GOV.UK feed format",
            )
        })?;
        Ok(Calendar::new(
            self.time_zone,
            self.close_of_business,
            holidays,
            self.closures.clone(),
        ))
    }
}

// ---- raw file shape ----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    mailbox: Option<RawMailbox>,
    smtp: Option<RawSmtp>,
    database: Option<RawDatabase>,
    organisation: Option<RawOrganisation>,
    calendar: Option<RawCalendar>,
    deadlines: Option<RawDeadlines>,
    templates: Option<RawTemplates>,
    classification: Option<RawClassification>,
    routing: Option<RawRouting>,
    reminders: Option<RawReminders>,
    report: Option<RawReport>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReport {
    homes_owned: Option<u32>,
    customers_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReminders {
    days_before: Option<u32>,
    morning: Option<String>,
    digest: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    complaints_manager: Option<String>,
    manager: Option<String>,
    service_areas: Option<BTreeMap<String, String>>,
    staff_domains: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClassification {
    rules_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMailbox {
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    folder: Option<String>,
    processed_folder: Option<String>,
    poll_interval: Option<String>,
    idle_timeout: Option<String>,
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSmtp {
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    from: Option<String>,
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOrganisation {
    name: Option<String>,
    reference_prefix: Option<String>,
    message_id_domain: Option<String>,
    ombudsman_contact: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    time_zone: Option<String>,
    division: Option<String>,
    holidays_file: Option<PathBuf>,
    close_of_business: Option<String>,
    closures: Option<Vec<RawClosure>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClosure {
    from: String,
    to: Option<String>,
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeadlines {
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplates {
    dir: Option<PathBuf>,
}

/// The Housing Ombudsman's contact details as printed in letters by default.
pub const DEFAULT_OMBUDSMAN_CONTACT: &str = "Housing Ombudsman Service, PO Box 1484, Unit D, Preston, PR2 0ET; telephone 0300 111 3000; www.housing-ombudsman.org.uk; info@housing-ombudsman.org.uk";

impl Settings {
    /// Reads and checks the config file.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: path.to_path_buf(),
            error,
        })?;
        let base = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        Self::from_toml(&text, &base).map_err(|e| match e {
            ConfigError::Syntax { message, .. } => ConfigError::Syntax {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }

    /// Parses settings from TOML text; relative paths are resolved against `base`.
    pub fn from_toml(text: &str, base: &Path) -> Result<Settings, ConfigError> {
        let raw: RawFile = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: PathBuf::from("<config>"),
            message: e.to_string(),
        })?;
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };

        let mailbox = raw.mailbox.ok_or_else(|| {
            missing(
                "mailbox",
                "add a [mailbox] table (see config/redress.example.toml)",
            )
        })?;
        let mailbox_host = required(
            mailbox.host,
            "mailbox.host",
            "the IMAP server, e.g. host = \"imap.example.org\"",
        )?;
        let mailbox_security = parse_security(
            mailbox.security.as_deref(),
            "mailbox.security",
            &mailbox_host,
        )?;
        let mailbox_port = mailbox.port.unwrap_or(match mailbox_security {
            Security::Tls => 993,
            _ => 143,
        });
        let mailbox_password = read_password(
            mailbox.password,
            mailbox.password_file.map(&resolve),
            "mailbox",
        )?
        .ok_or_else(|| missing("mailbox.password", "set password = \"...\" or password_file = \"/run/credentials/redress.service/imap\""))?;
        let mailbox = MailboxSettings {
            host: mailbox_host,
            port: mailbox_port,
            security: mailbox_security,
            username: required(
                mailbox.username,
                "mailbox.username",
                "the login of the complaints mailbox",
            )?,
            password: mailbox_password,
            folder: mailbox.folder.unwrap_or_else(|| "INBOX".into()),
            processed_folder: mailbox
                .processed_folder
                .unwrap_or_else(|| "Processed".into()),
            poll_interval: parse_duration(
                mailbox.poll_interval.as_deref().unwrap_or("60s"),
                "mailbox.poll_interval",
            )?,
            idle_timeout: parse_duration(
                mailbox.idle_timeout.as_deref().unwrap_or("25m"),
                "mailbox.idle_timeout",
            )?,
            ca_file: mailbox.ca_file.map(&resolve),
        };
        if mailbox.idle_timeout >= Duration::from_secs(29 * 60) || mailbox.idle_timeout.is_zero() {
            return Err(invalid(
                "mailbox.idle_timeout",
                format!("{:?} is not between 1s and 29m", mailbox.idle_timeout),
                "servers may drop an IDLE after 30 minutes: use e.g. \"25m\"",
            ));
        }

        let smtp = raw.smtp.ok_or_else(|| {
            missing(
                "smtp",
                "add an [smtp] table (see config/redress.example.toml)",
            )
        })?;
        let smtp_host = required(
            smtp.host,
            "smtp.host",
            "the SMTP submission server, e.g. host = \"smtp.example.org\"",
        )?;
        let smtp_security = parse_security(smtp.security.as_deref(), "smtp.security", &smtp_host)?;
        let smtp_port = smtp.port.unwrap_or(match smtp_security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        });
        let smtp_password = read_password(smtp.password, smtp.password_file.map(&resolve), "smtp")?;
        let credentials = match (smtp.username, smtp_password) {
            (Some(user), Some(password)) => Some((user, password)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(missing(
                    "smtp.password",
                    "set password or password_file, or remove smtp.username for a server without login",
                ));
            }
            (None, Some(_)) => {
                return Err(missing(
                    "smtp.username",
                    "set the SMTP login, or remove the password",
                ));
            }
        };
        let from = required(
            smtp.from,
            "smtp.from",
            "the sender of letters, e.g. from = \"Complaints Team <complaints@example.org>\"",
        )?;
        let from_address = address_of(&from).ok_or_else(|| {
            invalid(
                "smtp.from",
                format!("`{from}` has no e-mail address"),
                "write it as \"Name <address@domain>\" or a bare address",
            )
        })?;
        let smtp = SmtpSettings {
            host: smtp_host,
            port: smtp_port,
            security: smtp_security,
            credentials,
            from,
            ca_file: smtp.ca_file.map(&resolve),
        };

        let database_url = raw.database.and_then(|d| d.url).ok_or_else(|| {
            missing(
                "database.url",
                "e.g. url = \"sqlite:///var/lib/redress/redress.db\" or a postgres:// URL",
            )
        })?;
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database.url",
                format!("`{database_url}` is neither SQLite nor PostgreSQL"),
                "use sqlite:///path/to/redress.db or postgres://user@host/db",
            ));
        }

        let organisation = raw.organisation.unwrap_or(RawOrganisation {
            name: None,
            reference_prefix: None,
            message_id_domain: None,
            ombudsman_contact: None,
        });
        let prefix = organisation
            .reference_prefix
            .unwrap_or_else(|| "CMP".into());
        if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_uppercase()) || prefix.len() > 8
        {
            return Err(invalid(
                "organisation.reference_prefix",
                format!("`{prefix}`"),
                "use 1 to 8 capital letters, e.g. \"CMP\"",
            ));
        }
        let domain_of_from = from_address
            .rsplit('@')
            .next()
            .unwrap_or("localhost")
            .to_string();
        let organisation = OrganisationSettings {
            name: organisation
                .name
                .unwrap_or_else(|| "Complaints Team".into()),
            reference_prefix: prefix,
            message_id_domain: organisation.message_id_domain.unwrap_or(domain_of_from),
            complaints_address: from_address,
            ombudsman_contact: organisation
                .ombudsman_contact
                .unwrap_or_else(|| DEFAULT_OMBUDSMAN_CONTACT.into()),
        };

        let calendar = raw.calendar.unwrap_or(RawCalendar {
            time_zone: None,
            division: None,
            holidays_file: None,
            close_of_business: None,
            closures: None,
        });
        let tz_name = calendar.time_zone.unwrap_or_else(|| "Europe/London".into());
        let time_zone: chrono_tz::Tz = tz_name.parse().map_err(|_| {
            invalid(
                "calendar.time_zone",
                format!("`{tz_name}` is not an IANA time zone"),
                "use \"Europe/London\"",
            )
        })?;
        let cob_text = calendar.close_of_business.unwrap_or_else(|| "17:00".into());
        let close_of_business = NaiveTime::parse_from_str(&cob_text, "%H:%M").map_err(|_| {
            invalid(
                "calendar.close_of_business",
                format!("`{cob_text}`"),
                "write a 24-hour time such as \"17:00\"",
            )
        })?;
        let mut closures = BTreeMap::new();
        for (i, closure) in calendar
            .closures
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let key = format!("calendar.closures[{i}]");
            let from = parse_date(&closure.from, &key)?;
            let to = match closure.to {
                Some(to) => parse_date(&to, &key)?,
                None => from,
            };
            if to < from {
                return Err(invalid(
                    &key,
                    format!("`to` {to} is before `from` {from}"),
                    "swap the dates",
                ));
            }
            let title = closure.title.unwrap_or_else(|| "office closed".into());
            for day in from.iter_days().take_while(|day| *day <= to) {
                closures.insert(day, title.clone());
            }
        }
        let calendar = CalendarSettings {
            time_zone,
            division: calendar
                .division
                .unwrap_or_else(|| "england-and-wales".into()),
            holidays_file: resolve(
                calendar
                    .holidays_file
                    .unwrap_or_else(|| PathBuf::from("bank-holidays.json")),
            ),
            close_of_business,
            closures,
        };

        let deadlines = parse_deadlines(raw.deadlines)?;
        let templates_dir = resolve(
            raw.templates
                .and_then(|t| t.dir)
                .unwrap_or_else(|| PathBuf::from("templates")),
        );

        let classification_rules = resolve(
            raw.classification
                .and_then(|c| c.rules_file)
                .unwrap_or_else(|| PathBuf::from("classification.toml")),
        );

        let routing = match raw.routing {
            None => RoutingSettings::default(),
            Some(r) => {
                let check =
                    |key: &str, value: Option<String>| -> Result<Option<String>, ConfigError> {
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
                    };
                let mut service_areas = BTreeMap::new();
                for (area, address) in r.service_areas.unwrap_or_default() {
                    let key = format!("routing.service_areas.\"{area}\"");
                    service_areas.insert(area, check(&key, Some(address))?.unwrap_or_default());
                }
                RoutingSettings {
                    complaints_manager: check("routing.complaints_manager", r.complaints_manager)?,
                    manager: check("routing.manager", r.manager)?,
                    service_areas,
                    staff_domains: r
                        .staff_domains
                        .unwrap_or_default()
                        .into_iter()
                        .map(|d| d.to_ascii_lowercase())
                        .collect(),
                }
            }
        };

        let mut reminders = ReminderSettings::default();
        if let Some(r) = raw.reminders {
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
                reminders.morning = NaiveTime::parse_from_str(&text, "%H:%M").map_err(|_| {
                    invalid(
                        "reminders.morning",
                        format!("`{text}`"),
                        "write a 24-hour time such as \"08:00\"",
                    )
                })?;
            }
            reminders.digest = r.digest.unwrap_or(true);
        }

        let report = match raw.report {
            Some(r) => ReportSettings {
                homes_owned: r.homes_owned,
                customers_file: r.customers_file.map(&resolve),
            },
            None => ReportSettings::default(),
        };

        Ok(Settings {
            report,
            reminders,
            routing,
            classification_rules,
            mailbox,
            smtp,
            database_url,
            organisation,
            templates_dir,
            calendar,
            deadlines,
        })
    }
}

fn required(value: Option<String>, key: &str, fix: &str) -> Result<String, ConfigError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(missing(key, fix)),
    }
}

fn parse_date(text: &str, key: &str) -> Result<NaiveDate, ConfigError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
        invalid(
            key,
            format!("`{text}` is not a date"),
            "write dates as YYYY-MM-DD",
        )
    })
}

fn parse_security(value: Option<&str>, key: &str, host: &str) -> Result<Security, ConfigError> {
    let security = match value.unwrap_or("tls") {
        "tls" => Security::Tls,
        "starttls" => Security::StartTls,
        "none" => Security::None,
        other => {
            return Err(invalid(
                key,
                format!("`{other}`"),
                "use \"tls\", \"starttls\" or \"none\"",
            ));
        }
    };
    if security == Security::None && !is_loopback(host) {
        return Err(invalid(
            key,
            format!("\"none\" sends passwords and mail in clear to {host}"),
            "use \"tls\" or \"starttls\"; \"none\" is only allowed for a loopback host",
        ));
    }
    Ok(security)
}

/// True for `localhost` and loopback IP addresses.
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<std::net::IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn read_password(
    inline: Option<String>,
    file: Option<PathBuf>,
    table: &str,
) -> Result<Option<Secret>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(invalid(
            &format!("{table}.password_file"),
            "both password and password_file are set".to_string(),
            "keep only one of them",
        )),
        (Some(p), None) => Ok(Some(Secret::new(p))),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                invalid(
                    &format!("{table}.password_file"),
                    format!("cannot read {}: {e}", path.display()),
                    "check the path and that redress may read it",
                )
            })?;
            Ok(Some(Secret::new(text.trim_end_matches(['\r', '\n']))))
        }
        (None, None) => Ok(None),
    }
}

/// Parses durations such as `"60s"`, `"5m"`, `"1h"`, `"250ms"`.
pub fn parse_duration(text: &str, key: &str) -> Result<Duration, ConfigError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let fix = "write a number and a unit, e.g. \"60s\", \"5m\" or \"1h\"";
    let n: u64 = number
        .parse()
        .map_err(|_| invalid(key, format!("`{text}` is not a duration"), fix))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" | "min" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        _ => return Err(invalid(key, format!("`{text}` has an unknown unit"), fix)),
    };
    if duration.is_zero() {
        return Err(invalid(key, "a zero duration".to_string(), fix));
    }
    Ok(duration)
}

/// The bare address in `Name <addr@domain>` or `addr@domain`.
pub fn address_of(mailbox: &str) -> Option<String> {
    let inner = match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(start), Some(end)) if start < end => &mailbox[start + 1..end],
        _ => mailbox,
    };
    let inner = inner.trim();
    let (local, domain) = inner.split_once('@')?;
    if local.is_empty() || domain.is_empty() || inner.contains(char::is_whitespace) {
        return None;
    }
    Some(inner.to_string())
}

fn parse_deadlines(raw: Option<RawDeadlines>) -> Result<DeadlinePolicy, ConfigError> {
    let mut policy = DeadlinePolicy::default();
    let Some(raw) = raw else {
        return Ok(policy);
    };
    if let Some(mode) = raw.acknowledgement {
        policy.acknowledgement = match mode.as_str() {
            "handler" => AcknowledgementMode::Handler,
            "automatic" => AcknowledgementMode::Automatic,
            other => {
                return Err(invalid(
                    "deadlines.acknowledgement",
                    format!("`{other}`"),
                    "use \"handler\" (a person sends the Code's acknowledgement) or \"automatic\"",
                ));
            }
        };
    }
    let days =
        |value: Option<u32>, key: &str, default: u32, max: u32| -> Result<u32, ConfigError> {
            let v = value.unwrap_or(default);
            if v == 0 || v > max {
                Err(invalid(
                    key,
                    format!("{v} working days"),
                    &format!("use 1 to {max}"),
                ))
            } else {
                Ok(v)
            }
        };
    policy.stage1_acknowledge_days = days(
        raw.stage1_acknowledge_days,
        "deadlines.stage1_acknowledge_days",
        policy.stage1_acknowledge_days,
        5,
    )?;
    policy.stage1_response_days = days(
        raw.stage1_response_days,
        "deadlines.stage1_response_days",
        policy.stage1_response_days,
        10,
    )?;
    policy.stage1_extension_max_days = days(
        raw.stage1_extension_max_days,
        "deadlines.stage1_extension_max_days",
        policy.stage1_extension_max_days,
        10,
    )?;
    policy.stage2_acknowledge_days = days(
        raw.stage2_acknowledge_days,
        "deadlines.stage2_acknowledge_days",
        policy.stage2_acknowledge_days,
        5,
    )?;
    policy.stage2_response_days = days(
        raw.stage2_response_days,
        "deadlines.stage2_response_days",
        policy.stage2_response_days,
        20,
    )?;
    policy.stage2_extension_max_days = days(
        raw.stage2_extension_max_days,
        "deadlines.stage2_extension_max_days",
        policy.stage2_extension_max_days,
        60,
    )?;
    policy.feedback_stage = raw.feedback_stage.unwrap_or(policy.feedback_stage);
    policy.feedback_response_days = days(
        raw.feedback_response_days,
        "deadlines.feedback_response_days",
        policy.feedback_response_days,
        5,
    )?;
    policy.awaab_emergency_hours = days(
        raw.awaab_emergency_hours,
        "deadlines.awaab_emergency_hours",
        policy.awaab_emergency_hours,
        24,
    )?;
    policy.awaab_investigation_days = days(
        raw.awaab_investigation_days,
        "deadlines.awaab_investigation_days",
        policy.awaab_investigation_days,
        10,
    )?;
    policy.awaab_summary_days = days(
        raw.awaab_summary_days,
        "deadlines.awaab_summary_days",
        policy.awaab_summary_days,
        3,
    )?;
    policy.awaab_safety_work_days = days(
        raw.awaab_safety_work_days,
        "deadlines.awaab_safety_work_days",
        policy.awaab_safety_work_days,
        5,
    )?;
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[mailbox]
host = "127.0.0.1"
port = 1143
security = "none"
username = "complaints@example.test"
password = "hunter2"
[smtp]
host = "127.0.0.1"
port = 2525
security = "none"
from = "Complaints Team <complaints@example.test>"
[database]
url = "sqlite:///tmp/x.db"
"#;

    #[test]
    fn a_minimal_file_loads_with_defaults() {
        let s = Settings::from_toml(GOOD, Path::new("/etc/redress")).expect("valid");
        assert_eq!(s.mailbox.folder, "INBOX");
        assert_eq!(s.mailbox.processed_folder, "Processed");
        assert_eq!(s.mailbox.poll_interval, Duration::from_secs(60));
        assert_eq!(s.organisation.message_id_domain, "example.test");
        assert_eq!(s.organisation.complaints_address, "complaints@example.test");
        assert_eq!(s.templates_dir, PathBuf::from("/etc/redress/templates"));
        assert_eq!(
            s.calendar.holidays_file,
            PathBuf::from("/etc/redress/bank-holidays.json")
        );
        assert_eq!(s.deadlines.stage1_response_days, 10);
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::from_toml(GOOD, Path::new("/")).expect("valid");
        let shown = format!("{s:?}");
        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("[redacted]"));
    }

    #[test]
    fn a_missing_key_is_named_with_its_fix() {
        let text = GOOD.replace("host = \"127.0.0.1\"\nport = 1143", "port = 1143");
        let err = Settings::from_toml(&text, Path::new("/")).expect_err("missing host");
        let message = err.to_string();
        assert!(message.contains("`mailbox.host`"), "{message}");
        assert!(message.contains("imap.example.org"), "{message}");
    }

    #[test]
    fn plain_text_to_a_remote_host_is_refused() {
        let text = GOOD.replacen("host = \"127.0.0.1\"", "host = \"imap.example.org\"", 1);
        let err = Settings::from_toml(&text, Path::new("/")).expect_err("no plain text");
        assert!(err.to_string().contains("`mailbox.security`"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_reported() {
        let text = GOOD
            .replace("folder", "fodler")
            .replace("[database]", "[database]\nurll = \"x\"");
        let err = Settings::from_toml(&text, Path::new("/")).expect_err("typo");
        assert!(err.to_string().contains("urll"), "{err}");
    }

    #[test]
    fn a_bad_duration_names_the_key() {
        let text = GOOD.replace(
            "password = \"hunter2\"",
            "password = \"x\"\npoll_interval = \"soon\"",
        );
        let err = Settings::from_toml(&text, Path::new("/")).expect_err("bad duration");
        assert!(err.to_string().contains("`mailbox.poll_interval`"), "{err}");
    }

    #[test]
    fn closures_expand_to_each_day() {
        let text = format!(
            "{GOOD}\n[calendar]\nclosures = [{{ from = \"2026-12-29\", to = \"2026-12-31\", title = \"Christmas shutdown\" }}]\n"
        );
        let s = Settings::from_toml(&text, Path::new("/")).expect("valid");
        assert_eq!(s.calendar.closures.len(), 3);
    }

    #[test]
    fn addresses_are_extracted() {
        assert_eq!(address_of("Team <a@b.org>").as_deref(), Some("a@b.org"));
        assert_eq!(address_of("a@b.org").as_deref(), Some("a@b.org"));
        assert_eq!(address_of("nobody"), None);
    }
}
