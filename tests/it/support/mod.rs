//! Test support: a real mail stack (Dovecot + Postfix, started once per test binary by
//! `mailstack.sh` on free loopback ports, stopped when the test process exits), fresh mailboxes
//! and a fresh database per test, and IMAP/SMTP helpers that act as the customer would.
#![allow(dead_code)]

pub mod fakes;
pub mod oauth;
pub mod proxy;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use redress::app::{App, Rules};
use redress::config::{MailboxSettings, Secret, Security, Settings};
use redress::deliver::outbox::{EmailSender, SmtpSender};
use redress::intake::mailbox::{FetchedMail, Mailbox, MailboxClient};

/// The running mail stack.
#[derive(Debug)]
pub struct MailStack {
    pub dir: PathBuf,
    pub imap_port: u16,
    pub imaps_port: u16,
    pub smtp_port: u16,
    /// Postfix's submission port: only signed-in senders (PLAIN or XOAUTH2, checked by Dovecot).
    pub submission_port: u16,
    pub ca_file: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A config file for a test world: its ports, complaints address and database, plus `extra_toml`.
pub fn config_text(imap: u16, smtp: u16, complaints: &str, url: &str, extra_toml: &str) -> String {
    format!(
        r#"
[mailbox]
host = "127.0.0.1"
port = {imap}
security = "none"
username = "{complaints}"
password = "secret"
poll_interval = "1s"
[smtp]
host = "127.0.0.1"
port = {smtp}
security = "none"
from = "Complaints Team <{complaints}>"
[database]
url = "{url}"
[organisation]
name = "Example Homes"
message_id_domain = "redress.example.test"
[calendar]
holidays_file = "{holidays}"
[templates]
dir = "{templates}"
[classification]
rules_file = "{rules}"
{extra_toml}
"#,
        holidays = repo().join("config/bank-holidays.json").display(),
        templates = repo().join("config/templates").display(),
        rules = repo().join("config/classification.toml").display(),
    )
}

/// The UIDs of every mail waiting in the selected folder.
pub async fn waiting_uids(client: &mut MailboxClient) -> Vec<u32> {
    let waiting = client.waiting().await.expect("search");
    waiting.iter().map(|w| w.uid).collect()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts the stack on first use; later calls return the same one.
pub fn mail_stack() -> &'static MailStack {
    static STACK: OnceLock<MailStack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("redress-mailstack-{}", std::process::id()));
        let ports: Vec<u16> = (0..5).map(|_| free_port()).collect();
        let submission = free_port();
        // Output goes to a file: the daemons it starts must not hold a pipe we wait on.
        let log_path =
            std::env::temp_dir().join(format!("redress-mailstack-{}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).expect("mail stack log");
        let status = Command::new("bash")
            .arg(repo().join("tests/it/support/mailstack.sh"))
            .arg("start")
            .arg(&dir)
            .args(ports.iter().map(u16::to_string))
            .arg(std::process::id().to_string())
            .env("REDRESS_OAUTH_PORT", oauth::port().to_string())
            .env("REDRESS_SUBMISSION_PORT", submission.to_string())
            .env("REDRESS_AUTH_PORT", free_port().to_string())
            .stdin(std::process::Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .status()
            .expect("run mailstack.sh");
        assert!(
            status.success(),
            "mail stack did not start:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        MailStack {
            ca_file: dir.join("ca.pem"),
            dir,
            imap_port: ports[0],
            imaps_port: ports[1],
            smtp_port: ports[3],
            submission_port: submission,
        }
    })
}

/// A child process killed when the test ends, however it ends.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh address nobody else in this run uses.
pub fn unique_address(name: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("{name}-{}-{n}@example.test", std::process::id())
}

/// One test's world: its own complaints mailbox, customer, database and config file.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub complaints: String,
    pub customer: String,
    pub stack: &'static MailStack,
}

/// Which database a test runs on.
pub enum Db {
    Sqlite,
    Postgres(String),
}

impl TestEnv {
    pub fn new() -> TestEnv {
        Self::with(Db::Sqlite, "")
    }

    /// A test world with extra config appended (whole TOML tables).
    pub fn with(db: Db, extra_toml: &str) -> TestEnv {
        let stack = mail_stack();
        let dir = tempfile::tempdir().expect("temp dir");
        let complaints = unique_address("complaints");
        let customer = unique_address("customer");
        let url = match db {
            Db::Sqlite => format!("sqlite://{}", dir.path().join("redress.db").display()),
            Db::Postgres(url) => url,
        };
        let config = config_text(
            stack.imap_port,
            stack.smtp_port,
            &complaints,
            &url,
            extra_toml,
        );
        let config_path = dir.path().join("redress.toml");
        std::fs::write(&config_path, config).expect("write config");
        TestEnv {
            dir,
            config_path,
            complaints,
            customer,
            stack,
        }
    }

    pub fn settings(&self) -> Settings {
        Settings::load(&self.config_path).expect("test config loads")
    }

    pub async fn app(&self) -> App {
        App::start(Rules::load(&self.config_path).expect("rules"))
            .await
            .expect("app starts")
    }

    pub fn sender(&self) -> SmtpSender {
        SmtpSender::new(&self.settings().smtp).expect("smtp sender")
    }

    /// IMAP settings for any test user's folder.
    pub fn mailbox_of(&self, user: &str, folder: &str) -> MailboxSettings {
        MailboxSettings {
            host: "127.0.0.1".into(),
            port: self.stack.imap_port,
            security: Security::None,
            username: user.into(),
            login: redress::config::Login::Password(Secret::new("secret")),
            folder: folder.into(),
            processed_folder: "Processed".into(),
            quarantine_folder: "Quarantine".into(),
            max_message_size: 50_000_000,
            poll_interval: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(60),
            ca_file: None,
        }
    }

    /// Sends a raw mail through Postfix, as a customer's mail client would.
    pub async fn send(&self, from: &str, to: &str, raw: &[u8]) {
        self.sender()
            .send(from, to, raw)
            .await
            .expect("Postfix accepts the mail");
    }

    /// Puts a mail straight into the complaints INBOX with a chosen server receipt time.
    pub async fn append(&self, raw: &[u8], internal_date: Option<DateTime<Utc>>) {
        let mut client = MailboxClient::connect(&self.mailbox_of(&self.complaints, "INBOX"))
            .await
            .expect("imap");
        client
            .append("INBOX", raw, internal_date)
            .await
            .expect("append");
        client.logout().await.expect("logout");
    }

    /// Every mail in `user`'s `folder` (creating nothing).
    pub async fn mails_in(&self, user: &str, folder: &str) -> Vec<FetchedMail> {
        let mut client = MailboxClient::connect(&self.mailbox_of(user, folder))
            .await
            .expect("imap");
        client.ensure_folder(folder).await.expect("folder");
        client.select_watched().await.expect("select");
        let uids = waiting_uids(&mut client).await;
        let mails = client.fetch(&uids).await.expect("fetch");
        client.logout().await.expect("logout");
        mails
    }

    /// Waits until `user`'s `folder` holds at least `count` mails (Postfix delivers within a second).
    pub async fn wait_for_mails(&self, user: &str, folder: &str, count: usize) -> Vec<FetchedMail> {
        for _ in 0..100 {
            let mails = self.mails_in(user, folder).await;
            if mails.len() >= count {
                return mails;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let mails = self.mails_in(user, folder).await;
        panic!(
            "{user}/{folder} has {} mails, expected {count}",
            mails.len()
        );
    }

    /// Waits until a mail whose subject contains `needle` is in `user`'s `folder`, and returns it.
    pub async fn wait_for_subject(
        &self,
        user: &str,
        folder: &str,
        needle: &str,
    ) -> redress::intake::mail::ParsedMail {
        for _ in 0..100 {
            if let Some(mail) = self
                .mails_in(user, folder)
                .await
                .iter()
                .map(|m| redress::intake::mail::parse(&m.raw))
                .find(|m| m.subject.contains(needle))
            {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        panic!("no mail with \"{needle}\" in its subject reached {user}/{folder}");
    }

    /// `redress cases list --json`, newest first.
    pub fn cases_json(&self) -> serde_json::Value {
        serde_json::from_str(&ok(&self.redress(&["cases", "list", "--json"])))
            .expect("cases list --json")
    }

    /// The reference of the newest case.
    pub fn newest_reference(&self) -> String {
        self.cases_json()[0]["reference"]
            .as_str()
            .expect("a case")
            .to_string()
    }

    /// The reference of the case with this subject.
    pub fn reference_by_subject(&self, subject: &str) -> String {
        self.cases_json()
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["subject"] == subject)
            .and_then(|c| c["reference"].as_str())
            .unwrap_or_else(|| panic!("no case with subject {subject}"))
            .to_string()
    }

    /// Starts `redress run` with this test's config; it is killed when the guard goes.
    pub fn daemon(&self) -> Running {
        let child = Command::new(env!("CARGO_BIN_EXE_redress"))
            .args(["--config", &self.config_path.display().to_string(), "run"])
            .env("REDRESS_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the daemon");
        Running(child)
    }

    /// Runs the redress binary with this test's config.
    pub fn redress(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_redress"))
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .env("REDRESS_LOG", "warn")
            .output()
            .expect("run redress")
    }
}

/// The standard output of a command that must have succeeded (its output shown if not).
pub fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A complaint mail as a customer's client would write it.
pub fn complaint(from: &str, to: &str, message_id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Jane Tenant <{from}>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The value of a header in a raw mail.
pub fn header_of(raw: &[u8], name: &str) -> Option<String> {
    redress::intake::mail::parse(raw)
        .header(name)
        .map(str::to_string)
}

/// Parses an RFC 3339 instant.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("instant")
        .with_timezone(&Utc)
}

/// The published figures for the financial year from 1 April `year`, as the record stood at `now`.
pub async fn financial_year(app: &App, year: i32, now: &str) -> redress::report::AnnualReport {
    let from = chrono::NaiveDate::from_ymd_opt(year, 4, 1).expect("date");
    let to = chrono::NaiveDate::from_ymd_opt(year + 1, 3, 31).expect("date");
    redress::report::figures::build(app, from, to, at(now))
        .await
        .expect("report")
}

/// A stage response with every element the Code requires and nothing outstanding.
pub fn complete_response(
    outcome: redress::case::model::Outcome,
) -> redress::case::actions::Response {
    redress::case::actions::Response {
        definition: Some("The complaint as the acknowledgement defined it".into()),
        outcome: Some(outcome),
        reasons: "Our reasons for the decision".into(),
        remedy: "The remedy offered".into(),
        actions: Vec::new(),
        no_outstanding_actions: true,
    }
}

/// A fresh PostgreSQL database for one test, on the server named by `REDRESS_TEST_POSTGRES`
/// (default: trust auth on 127.0.0.1:5432). `.ci/run` makes sure one is running.
pub async fn postgres_database() -> String {
    use sqlx::Connection;
    let admin = std::env::var("REDRESS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL tests need a server at {admin} (set REDRESS_TEST_POSTGRES): {e}")
        });
    // Databases left by earlier test processes (cargo runs test binaries one at a time) are dropped.
    static CLEANED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !CLEANED.swap(true, Ordering::SeqCst) {
        let ours = format!("redress_test_{}_", std::process::id());
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT datname FROM pg_database WHERE datname LIKE 'redress_test_%'",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        for stale in names.into_iter().filter(|n| !n.starts_with(&ours)) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {stale} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
    let name = format!(
        "redress_test_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin);
    format!("{base}/{name}")
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
