//! Mailboxes that take no password (Microsoft 365, Google Workspace): redress signs in to the
//! test Dovecot with SASL XOAUTH2 and a token from the tests' own OAuth2 server (client
//! credentials), refreshes an expired token with no mail lost, and says which step failed when
//! the client is revoked — in `check-config`, and to the manager once.

use std::time::Duration;

use redress::app::{App, Rules};
use redress::clock::Clock;
use redress::daemon::run_once;

use crate::support::oauth;
use crate::support::*;

/// A test world whose mailbox signs in with OAuth2 as client `client` (tokens good for `lifetime`).
fn oauth_env(client: &str, lifetime: Duration, extra: &str) -> TestEnv {
    let env = TestEnv::with(Db::Sqlite, extra);
    oauth::register(client, "s3cret", &env.complaints, lifetime);
    let secret = env.dir.path().join("client-secret");
    std::fs::write(&secret, "s3cret\n").expect("secret");
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let config = config.replacen("[mailbox]\n", "[mailbox]\nauth = \"oauth2\"\n", 1);
    let config = format!(
        "{config}\n[oauth2]\ntoken_url = \"{}\"\nclient_id = \"{client}\"\nclient_secret_file = \"{}\"\n",
        oauth::token_url(),
        secret.display()
    );
    std::fs::write(&env.config_path, config).expect("config");
    env
}

fn mail(env: &TestEnv, n: u32) -> Vec<u8> {
    complaint(
        &env.customer,
        &env.complaints,
        &format!("oauth-{n}-{}", env.customer),
        &format!("Damp {n}"),
        "Damp in every room; I want to complain.",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_complaint_comes_in_over_xoauth2_and_the_receipt_goes_out() {
    let env = oauth_env("client-in", Duration::from_secs(3600), "");
    env.append(&mail(&env, 1), None).await;
    let out = ok(&env.redress(&["run", "--once"]));
    assert!(
        out.contains("\"new_cases\": 1") || out.contains("\"new_cases\":1"),
        "{out}"
    );
    env.wait_for_subject(&env.customer, "INBOX", "received your complaint")
        .await;
    assert_eq!(oauth::issued("client-in"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_is_refreshed_and_no_mail_is_lost() {
    let env = oauth_env("client-expiring", Duration::from_secs(6), "");
    let app = App::start(Rules::load(&env.config_path).expect("rules"))
        .await
        .expect("app");
    let sender = env.sender();
    env.append(&mail(&env, 1), None).await;
    let first = run_once(&app, &sender, &Clock::system())
        .await
        .expect("first pass");
    assert_eq!(
        (first.pass.new_cases, first.letters_sent),
        (1, 1),
        "{first:?}"
    );
    run_once(&app, &sender, &Clock::system())
        .await
        .expect("a pass within the token's life");
    assert_eq!(
        oauth::issued("client-expiring"),
        1,
        "the cached token is used again"
    );
    // The token runs out; the next mail comes in behind it.
    tokio::time::sleep(Duration::from_secs(7)).await;
    env.append(&mail(&env, 2), None).await;
    let second = run_once(&app, &sender, &Clock::system())
        .await
        .expect("second pass, with a fresh token");
    assert_eq!(
        (second.pass.new_cases, second.letters_sent),
        (1, 1),
        "{second:?}"
    );
    assert_eq!(oauth::issued("client-expiring"), 2, "refreshed once");
    let cases = app.store.list_cases(10).await.expect("cases");
    assert_eq!(cases.len(), 2, "both mails recorded");
    let receipts = env.wait_for_mails(&env.customer, "INBOX", 2).await;
    assert_eq!(receipts.len(), 2, "a receipt for each");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_client_fails_check_config_with_its_cause_and_the_manager_is_told_once() {
    let manager = unique_address("manager");
    let env = oauth_env(
        "client-revoked",
        Duration::from_secs(3600),
        &format!("[routing]\ncomplaints_manager = \"{manager}\"\n[health]\nalert_after = \"1s\"\n"),
    );
    ok(&env.redress(&["run", "--once"]));
    oauth::revoke("client-revoked");
    let check = env.redress(&["check-config"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(!check.status.success(), "{said}");
    assert!(
        said.contains("OAuth2 token endpoint refused the client: invalid_client"),
        "{said}"
    );
    let daemon = env.daemon();
    let alert = env
        .wait_for_subject(
            &manager,
            "INBOX",
            "Alert: the complaints mailbox cannot be read",
        )
        .await;
    assert!(
        alert.text_body.contains("invalid_client"),
        "the cause is named:\n{}",
        alert.text_body
    );
    tokio::time::sleep(Duration::from_secs(8)).await;
    drop(daemon);
    let alerts = env
        .mails_in(&manager, "INBOX")
        .await
        .iter()
        .map(|m| redress::intake::mail::parse(&m.raw))
        .filter(|m| m.subject.contains("Alert:"))
        .count();
    assert_eq!(alerts, 1, "told once");
}

#[tokio::test(flavor = "multi_thread")]
async fn letters_go_out_over_smtp_signed_in_with_xoauth2() {
    let env = oauth_env("client-smtp", Duration::from_secs(3600), "");
    // Send through the submission port, which takes only signed-in senders.
    let config = std::fs::read_to_string(&env.config_path).expect("config");

    let config = config.replacen(
        "[smtp]\n",
        &format!(
            "[smtp]\nauth = \"oauth2\"\nusername = \"{}\"\n",
            env.complaints
        ),
        1,
    );
    let config = config.replacen(
        &format!("port = {}\nsecurity", env.stack.smtp_port),
        &format!("port = {}\nsecurity", env.stack.submission_port),
        1,
    );
    assert!(config.contains(&format!("port = {}", env.stack.submission_port)));
    std::fs::write(&env.config_path, config).expect("config");
    env.append(&mail(&env, 1), None).await;
    ok(&env.redress(&["run", "--once"]));
    env.wait_for_subject(&env.customer, "INBOX", "received your complaint")
        .await;
    let log = std::fs::read_to_string(env.stack.dir.join("postfix/maillog")).expect("maillog");
    assert!(
        log.contains(&format!(
            "sasl_method=XOAUTH2, sasl_username={}",
            env.complaints
        )),
        "the letter went signed in with XOAUTH2"
    );
    // The submission port takes no letter from a sender that has not signed in.
    let mut settings = env.settings().smtp;
    settings.port = env.stack.submission_port;
    settings.oauth2 = None;
    let unsigned = redress::deliver::outbox::SmtpSender::new(&settings).expect("sender");
    let refused = redress::deliver::outbox::EmailSender::send(
        &unsigned,
        &env.complaints,
        &env.customer,
        b"Subject: x\r\n\r\nx\r\n",
    )
    .await;
    assert!(refused.is_err(), "{refused:?}");
}
