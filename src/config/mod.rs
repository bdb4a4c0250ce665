//! Typed settings, loaded from one TOML file and checked at start: one file per table
//! (`connections` for `[mailbox]`, `[smtp]` and `[database]`, `organisation`, `calendar`,
//! `deadlines`, `routing` for `[routing]`, `[reminders]` and `[report]`), each a serde shape
//! and the checks that turn it into settings.
//!
//! Every problem names the key and the fix. Secrets never print: they live in [`Secret`], whose
//! `Debug` and `Display` show `[redacted]`. Relative paths are resolved against the config
//! file's own folder, so `config/redress.example.toml` finds `config/templates/` beside it.

mod calendar;
mod connections;
mod deadlines;
mod health;
mod oauth2;
mod organisation;
mod retention;
mod routing;
mod web;

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

pub use calendar::CalendarSettings;
pub use connections::{
    DatabaseSettings, Login, MailboxSettings, Secret, Security, SmtpSettings, is_loopback,
    redacted_url,
};
pub use health::HealthSettings;
pub use oauth2::{OAuth2Settings, TokenSourceSettings};
pub use organisation::{DEFAULT_OMBUDSMAN_CONTACT, OrganisationSettings};
pub use retention::RetentionSettings;
pub use routing::{ReminderSettings, ReportSettings, RoutingSettings};
pub use web::WebSettings;

use crate::case::deadlines::DeadlinePolicy;

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

/// All settings.
#[derive(Debug, Clone)]
pub struct Settings {
    pub mailbox: MailboxSettings,
    pub smtp: SmtpSettings,
    pub database: DatabaseSettings,
    pub organisation: OrganisationSettings,
    pub templates_dir: PathBuf,
    /// The classifier's phrases (`[classification] rules_file`).
    pub classification_rules: PathBuf,
    pub calendar: CalendarSettings,
    pub deadlines: DeadlinePolicy,
    pub routing: RoutingSettings,
    pub reminders: ReminderSettings,
    pub report: ReportSettings,
    /// The web app, when `[web] listen` is set.
    pub web: Option<WebSettings>,
    pub health: HealthSettings,
    pub retention: RetentionSettings,
}

/// The file as written: one optional table each.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    mailbox: Option<connections::RawMailbox>,
    smtp: Option<connections::RawSmtp>,
    database: Option<connections::RawDatabase>,
    organisation: Option<organisation::RawOrganisation>,
    calendar: Option<calendar::RawCalendar>,
    deadlines: Option<deadlines::RawDeadlines>,
    templates: Option<RawTemplates>,
    classification: Option<RawClassification>,
    routing: Option<routing::RawRouting>,
    reminders: Option<routing::RawReminders>,
    report: Option<routing::RawReport>,
    web: Option<web::RawWeb>,
    health: Option<health::RawHealth>,
    retention: Option<retention::RawRetention>,
    oauth2: Option<oauth2::RawOAuth2>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClassification {
    rules_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTemplates {
    dir: Option<PathBuf>,
}

/// The config file's folder: relative paths in the file are resolved against it.
struct Base<'a>(&'a Path);

impl Base<'_> {
    fn resolve(&self, path: PathBuf) -> PathBuf {
        if path.is_absolute() {
            path
        } else {
            self.0.join(path)
        }
    }
}

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
        let base = Base(base);
        // One token source for the mailbox and the SMTP server, its token cached between them.
        let tokens = oauth2::build(raw.oauth2, &base)?
            .map(|settings| std::sync::Arc::new(crate::tokens::TokenSource::new(settings)));
        let mailbox = connections::mailbox(raw.mailbox, &base, tokens.as_ref())?;
        let smtp = connections::smtp(raw.smtp, &base, tokens.as_ref())?;
        let database = connections::database(raw.database, &base)?;
        let organisation = organisation::build(raw.organisation.unwrap_or_default(), &smtp)?;
        let calendar = calendar::build(raw.calendar.unwrap_or_default(), &base)?;
        let deadlines = deadlines::build(raw.deadlines.unwrap_or_default())?;
        let templates_dir = base.resolve(
            raw.templates
                .and_then(|t| t.dir)
                .unwrap_or_else(|| PathBuf::from("templates")),
        );
        let classification_rules = base.resolve(
            raw.classification
                .and_then(|c| c.rules_file)
                .unwrap_or_else(|| PathBuf::from("classification.toml")),
        );
        Ok(Settings {
            routing: routing::routing(raw.routing)?,
            reminders: routing::reminders(raw.reminders)?,
            report: routing::report(raw.report, &base),
            web: web::build(raw.web)?,
            health: health::build(raw.health)?,
            retention: retention::build(raw.retention)?,
            classification_rules,
            mailbox,
            smtp,
            database,
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

fn parse_time(text: &str, key: &str, example: &str) -> Result<NaiveTime, ConfigError> {
    NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| {
        invalid(
            key,
            format!("`{text}`"),
            &format!("write a 24-hour time such as \"{example}\""),
        )
    })
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

/// Parses sizes such as `"50MB"`, `"512KB"` or `"1GB"` (powers of 1,000, as mail servers
/// state limits) into bytes.
pub fn parse_size(text: &str, key: &str) -> Result<u64, ConfigError> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let fix = "write a number and a unit, e.g. \"50MB\" or \"512KB\"";
    let n: u64 = number
        .parse()
        .map_err(|_| invalid(key, format!("`{text}` is not a size"), fix))?;
    let scale = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return Err(invalid(key, format!("`{text}` has an unknown unit"), fix)),
    };
    match n.checked_mul(scale) {
        Some(0) | None => Err(invalid(key, format!("`{text}` is not a usable size"), fix)),
        Some(bytes) => Ok(bytes),
    }
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
[organisation]
name = "Example Homes"
"#;

    #[test]
    fn letters_need_the_landlords_own_name() {
        let without = GOOD.replace("[organisation]\nname = \"Example Homes\"\n", "");
        let error = Settings::from_toml(&without, Path::new("/etc/redress"))
            .expect_err("refused")
            .to_string();
        assert!(error.contains("organisation.name"), "{error}");
    }

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
    fn message_sizes_are_read_in_server_units_and_a_bad_one_names_the_key() {
        let s = Settings::from_toml(GOOD, Path::new("/")).expect("valid");
        assert_eq!(s.mailbox.max_message_size, 50_000_000, "the default");
        let text = GOOD.replace(
            "password = \"hunter2\"",
            "password = \"x\"\nmax_message_size = \"25 MB\"",
        );
        let s = Settings::from_toml(&text, Path::new("/")).expect("valid");
        assert_eq!(s.mailbox.max_message_size, 25_000_000);
        let text = GOOD.replace(
            "password = \"hunter2\"",
            "password = \"x\"\nmax_message_size = \"huge\"",
        );
        let err = Settings::from_toml(&text, Path::new("/")).expect_err("bad size");
        assert!(
            err.to_string().contains("`mailbox.max_message_size`"),
            "{err}"
        );
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
    fn a_stage_2_manager_who_owns_stage_1_is_refused() {
        let text = format!(
            "{GOOD}\n[routing]\ncomplaints_manager = \"cm@example.test\"\nmanager = \"CM@example.test\"\n"
        );
        let err = Settings::from_toml(&text, Path::new("/")).expect_err("6.13");
        assert!(err.to_string().contains("`routing.manager`"), "{err}");
        assert!(err.to_string().contains("6.13"), "{err}");
        let text = format!(
            "{GOOD}\n[routing]\nmanager = \"head@example.test\"\n[routing.service_areas]\nRepairs = \"head@example.test\"\n"
        );
        assert!(Settings::from_toml(&text, Path::new("/")).is_err());
    }

    /// Issue 15: a URL with a typo never echoes its password; a password can live in a file.
    #[test]
    fn database_passwords_never_print_and_can_live_in_a_file() {
        let typo = GOOD.replace(
            "url = \"sqlite:///tmp/x.db\"",
            "url = \"postgress://redress:hunter3@db/redress\"",
        );
        let err = Settings::from_toml(&typo, Path::new("/")).expect_err("typo");
        assert!(!err.to_string().contains("hunter3"), "{err}");
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("db"), "p@ss word\n").expect("secret");
        let text = GOOD.replace(
            "url = \"sqlite:///tmp/x.db\"",
            "url = \"postgres://redress@db.example.org/redress\"\npassword_file = \"db\"",
        );
        let s = Settings::from_toml(&text, dir.path()).expect("valid");
        assert_eq!(
            s.database.connect_url().expect("read"),
            "postgres://redress:p%40ss%20word@db.example.org/redress"
        );
        assert!(!format!("{s:?}").contains("p@ss"));
    }

    #[test]
    fn addresses_are_extracted() {
        assert_eq!(address_of("Team <a@b.org>").as_deref(), Some("a@b.org"));
        assert_eq!(address_of("a@b.org").as_deref(), Some("a@b.org"));
        assert_eq!(address_of("nobody"), None);
    }
}
