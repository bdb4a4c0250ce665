//! `[mailbox]`, `[smtp]` and `[database]`: where mail comes from and goes to, and the database.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::{
    Base, ConfigError, address_of, invalid, missing, parse_duration, parse_size, required,
};

/// A password or other secret: never printed. One kept in a file (`password_file`, e.g. a
/// systemd credential) is read only when it is needed, so a command that does not connect to
/// that server never needs to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(SecretSource);

#[derive(Clone, PartialEq, Eq)]
enum SecretSource {
    Value(String),
    File { path: PathBuf, key: String },
}

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretSource::Value(value.into()))
    }

    /// A secret read from `path` when needed; `key` names the setting in errors.
    pub fn from_file(path: PathBuf, key: &str) -> Self {
        Self(SecretSource::File {
            path,
            key: key.to_string(),
        })
    }

    /// The secret itself, for handing to a protocol client (read now from its file, if any).
    pub fn expose(&self) -> Result<String, ConfigError> {
        match &self.0 {
            SecretSource::Value(value) => Ok(value.clone()),
            SecretSource::File { path, key } => std::fs::read_to_string(path)
                .map(|text| text.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| {
                    invalid(
                        key,
                        format!("cannot read {}: {e}", path.display()),
                        "check the path and that redress may read it",
                    )
                }),
        }
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
    /// How redress signs in: a password, or an OAuth2 token (SASL XOAUTH2).
    pub login: Login,
    pub folder: String,
    pub processed_folder: String,
    /// Where a mail that could not be recorded after three passes, or one over
    /// `max_message_size`, is moved for a person.
    pub quarantine_folder: String,
    /// The largest mail taken whole, in bytes (as the server counts it, RFC822.SIZE); a larger
    /// one is recorded by its headers and a note, and the sender told.
    pub max_message_size: u64,
    pub poll_interval: Duration,
    /// How long one IDLE lasts before it is re-issued (servers drop it after 30 minutes).
    pub idle_timeout: Duration,
    /// An extra CA certificate (PEM) to trust besides the system's.
    pub ca_file: Option<PathBuf>,
}

/// How redress signs in to a mail server.
#[derive(Debug, Clone)]
pub enum Login {
    Password(Secret),
    /// SASL XOAUTH2 with a token from `[oauth2]` (Microsoft 365, Google Workspace).
    OAuth2(std::sync::Arc<crate::tokens::TokenSource>),
}

/// The outgoing mail server (SMTP submission).
#[derive(Debug, Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub credentials: Option<(String, Secret)>,
    /// Sign in with SASL XOAUTH2 as this user, with a token from `[oauth2]`, instead.
    pub oauth2: Option<(String, std::sync::Arc<crate::tokens::TokenSource>)>,
    pub from: String,
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMailbox {
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    /// `password` (the default) or `oauth2`.
    auth: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    folder: Option<String>,
    processed_folder: Option<String>,
    quarantine_folder: Option<String>,
    max_message_size: Option<String>,
    poll_interval: Option<String>,
    idle_timeout: Option<String>,
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSmtp {
    host: Option<String>,
    port: Option<u16>,
    security: Option<String>,
    username: Option<String>,
    /// `password` (the default) or `oauth2`.
    auth: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    from: Option<String>,
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    url: Option<String>,
    password_file: Option<PathBuf>,
}

/// Where the database is: its URL (never printed with a password) and, for PostgreSQL, a
/// password kept apart in a file (`database.password_file`, e.g. a systemd credential).
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseSettings {
    pub url: String,
    pub password: Option<Secret>,
}

impl DatabaseSettings {
    /// The URL to connect with: the password from its file put in as the URL's userinfo.
    pub fn connect_url(&self) -> Result<String, ConfigError> {
        let Some(password) = &self.password else {
            return Ok(self.url.clone());
        };
        let password = percent_encode(&password.expose()?);
        let (scheme, rest) = self.url.split_once("://").unwrap_or(("", &self.url));
        Ok(match rest.split_once('@') {
            Some((user, host)) => format!("{scheme}://{user}:{password}@{host}"),
            None => format!("{scheme}://postgres:{password}@{rest}"),
        })
    }
}

/// The URL with any password in it replaced, for messages.
pub fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:[redacted]@{host}")
        }
        _ => url.to_string(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The token source when `auth` asks for OAuth2 (`password`, the default, does not); an
/// `[oauth2]` table is then required.
fn tokens_for(
    auth: Option<&str>,
    key: &str,
    tokens: Option<&std::sync::Arc<crate::tokens::TokenSource>>,
) -> Result<Option<std::sync::Arc<crate::tokens::TokenSource>>, ConfigError> {
    match auth.unwrap_or("password") {
        "password" => Ok(None),
        "oauth2" => tokens.cloned().map(Some).ok_or_else(|| {
            missing(
                "oauth2",
                &format!("{key} = \"oauth2\" needs an [oauth2] table (see README: Microsoft 365 and Google Workspace)"),
            )
        }),
        other => Err(invalid(key, format!("`{other}`"), "use \"password\" or \"oauth2\"")),
    }
}

/// A required table, or what to add.
fn table<T>(raw: Option<T>, name: &str) -> Result<T, ConfigError> {
    raw.ok_or_else(|| {
        missing(
            name,
            &format!("add a [{name}] table (see config/redress.example.toml)"),
        )
    })
}

/// What `[mailbox]` and `[smtp]` share: the host, how the connection is protected, the password.
struct Server {
    host: String,
    security: Security,
    password: Option<Secret>,
}

impl Server {
    fn read(
        table: &str,
        host: Option<String>,
        security: Option<&str>,
        (password, password_file): (Option<String>, Option<PathBuf>),
        base: &Base<'_>,
        host_fix: &str,
    ) -> Result<Server, ConfigError> {
        let host = required(host, &format!("{table}.host"), host_fix)?;
        let security = parse_security(security, &format!("{table}.security"), &host)?;
        let password = read_password(password, password_file.map(|p| base.resolve(p)), table)?;
        Ok(Server {
            host,
            security,
            password,
        })
    }
}

/// `[mailbox]`.
pub(super) fn mailbox(
    raw: Option<RawMailbox>,
    base: &Base<'_>,
    oauth2: Option<&std::sync::Arc<crate::tokens::TokenSource>>,
) -> Result<MailboxSettings, ConfigError> {
    let mailbox = table(raw, "mailbox")?;
    let server = Server::read(
        "mailbox",
        mailbox.host,
        mailbox.security.as_deref(),
        (mailbox.password, mailbox.password_file),
        base,
        "the IMAP server, e.g. host = \"imap.example.org\"",
    )?;
    let (host, security) = (server.host, server.security);
    let login = match tokens_for(mailbox.auth.as_deref(), "mailbox.auth", oauth2)? {
        Some(tokens) => Login::OAuth2(tokens),
        None => Login::Password(server.password.ok_or_else(|| {
            missing(
                "mailbox.password",
                "set password = \"...\" or password_file = \"/run/credentials/redress.service/imap\"",
            )
        })?),
    };
    let idle_timeout = parse_duration(
        mailbox.idle_timeout.as_deref().unwrap_or("25m"),
        "mailbox.idle_timeout",
    )?;
    if idle_timeout >= Duration::from_secs(29 * 60) {
        return Err(invalid(
            "mailbox.idle_timeout",
            format!("{idle_timeout:?} is not between 1s and 29m"),
            "servers may drop an IDLE after 30 minutes: use e.g. \"25m\"",
        ));
    }
    Ok(MailboxSettings {
        port: mailbox.port.unwrap_or(match security {
            Security::Tls => 993,
            _ => 143,
        }),
        host,
        security,
        username: required(
            mailbox.username,
            "mailbox.username",
            "the login of the complaints mailbox",
        )?,
        login,
        folder: mailbox.folder.unwrap_or_else(|| "INBOX".into()),
        processed_folder: mailbox
            .processed_folder
            .unwrap_or_else(|| "Processed".into()),
        quarantine_folder: mailbox
            .quarantine_folder
            .unwrap_or_else(|| "Quarantine".into()),
        max_message_size: parse_size(
            mailbox.max_message_size.as_deref().unwrap_or("50MB"),
            "mailbox.max_message_size",
        )?,
        poll_interval: parse_duration(
            mailbox.poll_interval.as_deref().unwrap_or("60s"),
            "mailbox.poll_interval",
        )?,
        idle_timeout,
        ca_file: mailbox.ca_file.map(|p| base.resolve(p)),
    })
}

/// `[smtp]`.
pub(super) fn smtp(
    raw: Option<RawSmtp>,
    base: &Base<'_>,
    oauth2: Option<&std::sync::Arc<crate::tokens::TokenSource>>,
) -> Result<SmtpSettings, ConfigError> {
    let smtp = table(raw, "smtp")?;
    let server = Server::read(
        "smtp",
        smtp.host,
        smtp.security.as_deref(),
        (smtp.password, smtp.password_file),
        base,
        "the SMTP submission server, e.g. host = \"smtp.example.org\"",
    )?;
    let (host, security, password) = (server.host, server.security, server.password);
    let oauth2 = match tokens_for(smtp.auth.as_deref(), "smtp.auth", oauth2)? {
        Some(tokens) => {
            let user = smtp.username.clone().ok_or_else(|| {
                missing(
                    "smtp.username",
                    "XOAUTH2 signs in as a user: set the mailbox's address",
                )
            })?;
            Some((user, tokens))
        }
        None => None,
    };
    let (username, password) = if oauth2.is_some() {
        (None, None)
    } else {
        (smtp.username, password)
    };
    let credentials = match (username, password) {
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
    if address_of(&from).is_none() {
        return Err(invalid(
            "smtp.from",
            format!("`{from}` has no e-mail address"),
            "write it as \"Name <address@domain>\" or a bare address",
        ));
    }
    Ok(SmtpSettings {
        port: smtp.port.unwrap_or(match security {
            Security::Tls => 465,
            Security::StartTls => 587,
            Security::None => 25,
        }),
        host,
        security,
        credentials,
        oauth2,
        from,
        ca_file: smtp.ca_file.map(|p| base.resolve(p)),
    })
}

/// `[database] url`: SQLite or PostgreSQL.
pub(super) fn database(
    raw: Option<RawDatabase>,
    base: &Base<'_>,
) -> Result<DatabaseSettings, ConfigError> {
    let raw = raw.unwrap_or(RawDatabase {
        url: None,
        password_file: None,
    });
    let url = raw.url.ok_or_else(|| {
        missing(
            "database.url",
            "e.g. url = \"sqlite:///var/lib/redress/redress.db\" or a postgres:// URL",
        )
    })?;
    let postgres = url.starts_with("postgres://") || url.starts_with("postgresql://");
    if !(url.starts_with("sqlite:") || postgres) {
        return Err(invalid(
            "database.url",
            format!("`{}` is neither SQLite nor PostgreSQL", redacted_url(&url)),
            "use sqlite:///path/to/redress.db or postgres://user@host/db",
        ));
    }
    let password = match raw.password_file {
        Some(_) if !postgres => {
            return Err(invalid(
                "database.password_file",
                "SQLite has no password",
                "remove database.password_file",
            ));
        }
        Some(_) if redacted_url(&url) != url => {
            return Err(invalid(
                "database.password_file",
                "the URL holds a password too",
                "keep the password in the file only: postgres://user@host/db",
            ));
        }
        Some(path) => Some(Secret::from_file(
            base.resolve(path),
            "database.password_file",
        )),
        None => None,
    };
    Ok(DatabaseSettings { url, password })
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
        (None, Some(path)) => Ok(Some(Secret::from_file(
            path,
            &format!("{table}.password_file"),
        ))),
        (None, None) => Ok(None),
    }
}
