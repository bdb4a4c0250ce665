//! The command line as operations and handlers use it.

use std::time::Duration;

use crate::support::*;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn calendar_add_prints_the_date_and_the_days_skipped() {
    let env = TestEnv::new();
    let out = env.redress(&["calendar", "add", "2026-12-24", "3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("3 working days after Thu 2026-12-24 is Thu 2026-12-31"),
        "{text}"
    );
    assert!(
        text.contains("Fri 2026-12-25  bank holiday: Christmas Day"),
        "{text}"
    );
    assert!(
        text.contains("Mon 2026-12-28  bank holiday: Boxing Day"),
        "{text}"
    );
    assert!(text.contains("Sat 2026-12-26  weekend"), "{text}");
}

#[test]
fn calendar_between_counts_working_days() {
    let env = TestEnv::new();
    let out = env.redress(&["calendar", "between", "2026-04-02", "2026-04-09"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("3 working days after Thu 2026-04-02"),
        "{text}"
    );
    assert!(
        text.contains("Good Friday") && text.contains("Easter Monday"),
        "{text}"
    );
}

#[test]
fn closures_from_config_are_skipped() {
    let env = TestEnv::with(Db::Sqlite, "");
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let config = config.replace(
        "[calendar]\n",
        "[calendar]\nclosures = [{ from = \"2026-12-29\", to = \"2026-12-31\", title = \"Christmas shutdown\" }]\n",
    );
    std::fs::write(&env.config_path, config).expect("write");
    let out = env.redress(&["calendar", "add", "2026-12-24", "1"]);
    let text = stdout(&out);
    assert!(text.contains("is Mon 2027-01-04"), "{text}");
    assert!(text.contains("closure: Christmas shutdown"), "{text}");
}

#[test]
fn a_bad_config_names_the_key_and_the_fix() {
    let env = TestEnv::new();
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    std::fs::write(
        &env.config_path,
        config.replace("poll_interval = \"1s\"", "poll_interval = \"often\""),
    )
    .expect("write");
    let out = env.redress(&["check-config"]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(text.contains("mailbox.poll_interval"), "{text}");
    assert!(text.contains("60s"), "{text}");

    std::fs::write(&env.config_path, "[mailbox]\nhost = \"127.0.0.1\"\n").expect("write");
    let out = env.redress(&["run", "--once"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("mailbox.password"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_holidays_file_or_template_is_refused_at_start() {
    let env = TestEnv::new();
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let templates = env.dir.path().join("templates");
    std::fs::create_dir(&templates).expect("dir");
    for entry in std::fs::read_dir(repo().join("config/templates")).expect("shipped templates") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), templates.join(entry.file_name())).expect("copy");
    }
    std::fs::write(
        templates.join("receipt.txt"),
        "Subject: We got it\n\nThanks, {{ reference }}. Reply by {{ respond_by }}.\n",
    )
    .expect("write");
    let with_template = config.replace(
        &path_str(&repo().join("config/templates")),
        &path_str(&templates),
    );
    std::fs::write(&env.config_path, &with_template).expect("write");
    let out = env.redress(&["check-config"]);
    assert!(!out.status.success());
    let text = stderr(&out);
    assert!(
        text.contains("template receipt") && text.contains("subject"),
        "{text}"
    );

    std::fs::write(
        &env.config_path,
        config.replace("[calendar]\n", "[calendar]\ndivision = \"wales\"\n"),
    )
    .expect("write");
    let out = env.redress(&["check-config"]);
    assert!(
        stderr(&out).contains("calendar.division"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_config_reports_each_connection() {
    let env = TestEnv::new();
    let out = env.redress(&["check-config"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    for line in [
        "config: ok",
        "bank holidays: ok",
        "imap: ok",
        "smtp: ok",
        "database: ok",
    ] {
        assert!(text.contains(line), "{line} missing in:\n{text}");
    }
    // Near the end of the holidays file's coverage, operations are warned.
    let out = env.redress(&["--now", "2028-06-01T09:00:00Z", "check-config"]);
    assert!(
        stdout(&out).contains("bank holidays: WARNING"),
        "{}",
        stdout(&out)
    );

    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let closed = config.replacen(&format!("port = {}", env.stack.imap_port), "port = 1", 1);
    std::fs::write(&env.config_path, closed).expect("write");
    let out = env.redress(&["check-config"]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("imap: FAILED"), "{}", stdout(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn cases_list_and_show_print_the_record() {
    let env = TestEnv::new();
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("cli-{}", env.customer),
            "Leaking roof",
            "Water through the ceiling.",
        ),
        None,
    )
    .await;
    let out = env.redress(&["--now", "2026-11-23T10:00:00Z", "run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).expect("json summary");
    assert_eq!(summary["new_cases"], 1);
    assert_eq!(summary["letters_sent"], 1);

    let out = env.redress(&["cases", "list", "--json"]);
    let cases: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let reference = cases[0]["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    assert_eq!(cases[0]["kind"], "complaint");

    let out = env.redress(&["cases", "show", &reference, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let detail: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(detail["reference"], reference.as_str());
    assert_eq!(detail["letters"][0]["status"], "sent");
    assert_eq!(detail["deadlines"].as_array().map(Vec::len), Some(2));

    let out = env.redress(&["cases", "show", &reference.to_lowercase()]);
    let text = stdout(&out);
    assert!(
        text.contains("stage1_acknowledgement") && text.contains("Code §6.2"),
        "{text}"
    );
    assert!(text.contains("letter_sent"), "{text}");

    let out = env.redress(&["cases", "show", "CMP-1999-000001"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no case with reference CMP-1999-000001"));
}

#[test]
fn classify_explains_its_decision_without_a_database() {
    let env = TestEnv::new();
    let file = env.dir.path().join("ooo.eml");
    std::fs::write(&file, "From: a@example.net\r\nSubject: Out of Office\r\nAuto-Submitted: auto-replied\r\n\r\naway\r\n").expect("write");
    let out = env.redress(&["classify", &path_str(&file)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let decision: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(decision["kind"], "automated");
    assert!(
        decision["reasons"][0]
            .as_str()
            .unwrap_or("")
            .contains("Auto-Submitted")
    );
    assert!(
        !env.dir.path().join("redress.db").exists(),
        "no database touched"
    );
}

/// The shipped systemd unit is valid and hardened ("OK" in systemd's own exposure score).
#[test]
fn the_systemd_unit_is_hardened() {
    let unit = repo().join("systemd/redress.service");
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=true"])
        .arg(&unit)
        .output()
        .expect("systemd-analyze (Debian's systemd package)");
    let text = String::from_utf8_lossy(&out.stdout);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("exposure level for redress.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            panic!(
                "no exposure score in:\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(score <= 1.5, "exposure {score}:\n{text}");
}

/// Issue 15: a command reads only the secrets it needs: with the IMAP password file unreadable,
/// read-only commands work and the daemon's pass names the key and the fix.
#[tokio::test(flavor = "multi_thread")]
async fn read_only_commands_do_not_read_the_mailbox_password() {
    let env = TestEnv::new();
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let config = config.replacen(
        "password = \"secret\"",
        "password_file = \"/nonexistent/redress/imap\"",
        1,
    );
    std::fs::write(&env.config_path, config).expect("write");
    ok(&env.redress(&["calendar", "add", "2026-11-28", "5"]));
    ok(&env.redress(&["cases", "list"]));
    ok(&env.redress(&["report", "--from", "2026-04-01", "--to", "2027-03-31"]));
    let pass = env.redress(&["run", "--once"]);
    assert!(!pass.status.success());
    let why = stderr(&pass);
    assert!(why.contains("`mailbox.password_file`"), "{why}");
}

/// Issue 15: a wrong IMAP password is one line a person can act on, naming the server and keys.
#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_imap_password_says_what_to_check() {
    let env = TestEnv::new();
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    std::fs::write(
        &env.config_path,
        config.replacen("password = \"secret\"", "password = \"wrong\"", 1),
    )
    .expect("write");
    let pass = env.redress(&["run", "--once"]);
    assert!(!pass.status.success());
    let why = stderr(&pass);
    assert_eq!(why.trim().lines().count(), 1, "{why}");
    assert!(
        why.contains("was refused") && why.contains("mailbox.password"),
        "{why}"
    );
    assert!(
        why.contains(&format!("127.0.0.1:{}", env.stack.imap_port)),
        "{why}"
    );
    assert!(!why.contains("code: None"), "{why}");
}

/// Issue 15: SIGHUP reloads the config and templates in the same process; a broken config is
/// logged and the running one kept; SIGTERM then stops it cleanly.
#[tokio::test(flavor = "multi_thread")]
async fn sighup_reloads_and_a_broken_config_is_refused() {
    let env = TestEnv::new();
    let templates = env.dir.path().join("templates");
    std::fs::create_dir_all(&templates).expect("dir");
    for entry in std::fs::read_dir(repo().join("config/templates")).expect("templates") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), templates.join(entry.file_name())).expect("copy");
    }
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let config = config.replace(
        &format!("dir = \"{}\"", repo().join("config/templates").display()),
        &format!("dir = \"{}\"", templates.display()),
    );
    std::fs::write(&env.config_path, &config).expect("write");
    let log_path = env.dir.path().join("daemon.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut daemon = std::process::Command::new(env!("CARGO_BIN_EXE_redress"))
        .args(["--config", &path_str(&env.config_path), "run"])
        .stderr(log)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("daemon");
    let pid = daemon.id().to_string();
    let wait_log = |text: &str| {
        for _ in 0..100 {
            if std::fs::read_to_string(&log_path)
                .unwrap_or_default()
                .contains(text)
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "no `{text}` in the log:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
    };
    wait_log("redress started");
    let receipt = templates.join("receipt.txt");
    let text = std::fs::read_to_string(&receipt).expect("receipt");
    std::fs::write(
        &receipt,
        text.replacen("\n\n", "\n\nRELOADED TEMPLATE.\n\n", 1),
    )
    .expect("edit");
    let hup = |pid: &str| {
        let status = std::process::Command::new("kill")
            .args(["-HUP", pid])
            .status();
        assert!(status.expect("kill").success());
    };
    hup(&pid);
    wait_log("configuration reloaded");
    env.send(
        &env.customer,
        &env.complaints,
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("hup-{}", env.customer),
            "Hup",
            "Nobody came.",
        ),
    )
    .await;
    let receipt = env.wait_for_mails(&env.customer, "INBOX", 1).await;
    let body = redress::intake::mail::parse(&receipt[0].raw).text_body;
    assert!(body.contains("RELOADED TEMPLATE."), "{body}");
    std::fs::write(&env.config_path, format!("{config}\n[[[broken")).expect("break");
    hup(&pid);
    wait_log("reload refused");
    assert!(
        daemon.try_wait().expect("wait").is_none(),
        "still running, same process"
    );
    let term = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(term.expect("kill").success());
    for _ in 0..100 {
        if let Some(status) = daemon.try_wait().expect("wait") {
            assert!(status.success(), "a clean stop");
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = daemon.kill();
    panic!("the daemon did not stop on SIGTERM");
}

/// Issue 15: check-config changes nothing (no database is created), refuses a watched folder
/// that does not exist, and with --send-test sends one real letter.
#[tokio::test(flavor = "multi_thread")]
async fn check_config_changes_nothing_and_checks_the_folders() {
    let env = TestEnv::new();
    let out = env.redress(&["check-config"]);
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("created at the first start"),
        "{}",
        stdout(&out)
    );
    assert!(
        !env.dir.path().join("redress.db").exists(),
        "no database was created"
    );
    let out = ok(&env.redress(&["check-config", "--send-test", &env.customer]));
    assert!(out.contains("a test letter went to"), "{out}");
    let letters = env.wait_for_mails(&env.customer, "INBOX", 1).await;
    let letter = redress::intake::mail::parse(&letters[0].raw);
    assert!(letter.subject.contains("test letter"), "{}", letter.subject);
    ok(&env.redress(&["migrate"]));
    assert!(stdout(&env.redress(&["check-config"])).contains("schema up to date"));
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    std::fs::write(
        &env.config_path,
        config.replacen("poll_interval", "folder = \"Nowhere\"\npoll_interval", 1),
    )
    .expect("write");
    let out = env.redress(&["check-config"]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("`Nowhere` does not exist"),
        "{}",
        stdout(&out)
    );
}

/// Runs redress with logs at info, in `format` when given.
fn with_logs(env: &TestEnv, format: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_redress"));
    command
        .arg("--config")
        .arg(&env.config_path)
        .args(args)
        .env("REDRESS_LOG", "info");
    if let Some(format) = format {
        command.env("REDRESS_LOG_FORMAT", format);
    }
    command.output().expect("run redress")
}

/// Issue 15: logs fit the journal: no colour codes when standard error is not a terminal, and
/// one JSON object a line on request.
#[tokio::test(flavor = "multi_thread")]
async fn logs_fit_the_journal_plain_or_json() {
    let env = TestEnv::new();
    let mail = |n: u8| {
        let id = format!("log{n}-{}", env.customer);
        complaint(&env.customer, &env.complaints, &id, "Logs", "Nobody came.")
    };
    env.append(&mail(0), None).await;
    let out = with_logs(&env, None, &["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    assert!(log.contains("INFO"), "info lines are there: {log}");
    assert!(!log.contains('\u{1b}'), "{log:?}");
    env.append(&mail(1), None).await;
    let out = with_logs(&env, Some("json"), &["run", "--once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let log = stderr(&out);
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(entry["level"].is_string(), "{line}");
    }
}

/// Issue 15: `outbox list`, `retry` and `cancel`: a letter given up goes again at once, and a
/// cancelled one never goes; both are on the case's record.
#[tokio::test(flavor = "multi_thread")]
async fn the_outbox_can_be_listed_retried_and_cancelled() {
    let env = TestEnv::new();
    let good = std::fs::read_to_string(&env.config_path).expect("config");
    let closed = good.replacen(&format!("port = {}", env.stack.smtp_port), "port = 1", 1);
    std::fs::write(&env.config_path, &closed).expect("write");
    for (n, subject) in ["First", "Second"].iter().enumerate() {
        env.append(
            &complaint(
                &env.customer,
                &env.complaints,
                &format!("ob{n}-{}", env.customer),
                subject,
                "Nobody came.",
            ),
            None,
        )
        .await;
    }
    ok(&env.redress(&["run", "--once"]));
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["outbox", "list", "--json"]))).expect("json");
    let ids: Vec<String> = listed
        .as_array()
        .expect("letters")
        .iter()
        .filter(|l| l["kind"] == "receipt")
        .map(|l| l["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    std::fs::write(&env.config_path, &good).expect("write");
    ok(&env.redress(&["outbox", "cancel", &ids[1], "--reason", "Sent by hand"]));
    ok(&env.redress(&["outbox", "retry", &ids[0], "--by", "Ops"]));
    let out = ok(&env.redress(&["run", "--once"]));
    let summary: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        summary["letters_sent"], 1,
        "the retried one goes now, not the cancelled one"
    );
    let again = env.redress(&["outbox", "retry", &ids[1]]);
    assert!(!again.status.success(), "a cancelled letter is not unsent");
    let second = env.reference_by_subject("Second");
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &second, "--json"])))
            .expect("json");
    assert!(
        detail["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["kind"] == "letter_cancelled"),
        "{detail}"
    );
}

/// Issue 18: `letters preview` shows any letter from the templates on disk, with sample data or
/// a real case, as text or its HTML part, and changes nothing.
#[tokio::test(flavor = "multi_thread")]
async fn letters_preview_shows_a_letter_before_it_goes_out() {
    let env = TestEnv::new();
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("preview-{}", env.customer),
            "Damp in the hall",
            "Damp in the hall again and nobody came. I want to complain.",
        ),
        None,
    )
    .await;
    ok(&env.redress(&["run", "--once"]));
    let reference = env.newest_reference();
    let sample = ok(&env.redress(&["letters", "preview", "receipt"]));
    assert!(
        sample.starts_with("Subject: We have received your complaint - reference CMP-2026-000001"),
        "{sample}"
    );
    assert!(sample.contains("Example Homes"), "the landlord's own name");
    let real = ok(&env.redress(&[
        "letters",
        "preview",
        "acknowledgement",
        "--case",
        &reference,
    ]));
    assert!(
        real.contains(&reference) && real.contains("Jane Tenant"),
        "{real}"
    );
    let html = ok(&env.redress(&[
        "letters", "preview", "response", "--case", &reference, "--html",
    ]));
    assert!(
        html.starts_with("<!doctype html>") && html.contains(&reference),
        "{html}"
    );
    let unknown = env.redress(&["letters", "preview", "nonsense"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("the kinds are receipt"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
    let letters = env.cases_json();
    assert_eq!(
        letters.as_array().map(Vec::len),
        Some(1),
        "nothing was opened or queued by a preview"
    );
}
