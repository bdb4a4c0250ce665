//! A person at a browser, end to end: the real daemon (`redress run`) serves the web app while it
//! watches the test Dovecot and sends through the test Postfix; headless Chromium, driven over
//! WebDriver (chromedriver), signs in as a handler, opens the case a real mail made, and
//! acknowledges, extends and responds through the forms; the customer's mailbox then holds each
//! letter. Screenshots are kept under `$TMPDIR` and their paths printed.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::support::*;

async fn wait_for_http(url: &str) {
    for _ in 0..100 {
        if let Ok(stream) = tokio::net::TcpStream::connect(url).await {
            drop(stream);
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing answers on {url}");
}

async fn browser() -> (Running, Client) {
    // Both ring and aws-lc-rs are compiled in (fantoccini's hyper-rustls brings the second).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = free_port();
    let driver = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver (Debian's chromium-driver; tests/run.sh installs it)");
    let driver = Running(driver);
    wait_for_http(&format!("127.0.0.1:{port}")).await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1800"]
        }),
    );
    let client = ClientBuilder::rustls()
        .expect("tls")
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session in headless Chromium");
    (driver, client)
}

/// Saves a screenshot and prints where.
async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.expect("screenshot");
    let path =
        std::env::temp_dir().join(format!("redress-browser-{}-{name}.png", std::process::id()));
    std::fs::write(&path, png).expect("write screenshot");
    println!("screenshot: {}", path.display());
    path
}

/// Opens the action's form (its `<details>`) if it is closed.
async fn open_form(client: &Client, action: &str) {
    let details = client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Id(&format!("form-{action}")))
        .await
        .expect("the action's form");
    if details.attr("open").await.expect("attribute").is_none() {
        details
            .find(Locator::Css("summary"))
            .await
            .expect("summary")
            .click()
            .await
            .expect("open the form");
    }
}

/// Opens the action's form, fills the fields and submits it.
async fn submit_action(client: &Client, action: &str, fields: &[(&str, &str)]) {
    open_form(client, action).await;
    for (id, value) in fields {
        let field = client
            .find(Locator::Id(id))
            .await
            .unwrap_or_else(|_| panic!("field {id}"));
        field.send_keys(value).await.expect("type");
    }
    client
        .find(Locator::Css(&format!("#form-{action} button[type=submit]")))
        .await
        .expect("submit button")
        .click()
        .await
        .expect("submit");
}

/// The text of the page once it has loaded after a form was sent.
async fn status_text(client: &Client) -> String {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("main"))
        .await
        .expect("main")
        .text()
        .await
        .expect("text")
}

/// Waits for the page that follows an action: the case with `done=ACTION`; a refusal fails the
/// test with what the page said.
async fn await_done(client: &Client, action: &str) -> String {
    for _ in 0..100 {
        let url = client.current_url().await.expect("url");
        if url
            .query()
            .is_some_and(|q| q.contains(&format!("done={action}")))
        {
            return status_text(client).await;
        }
        if let Ok(error) = client.find(Locator::Css("p.error")).await {
            panic!(
                "{action} refused: {}",
                error.text().await.unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{action}: no page came back");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_handler_acknowledges_extends_and_responds_in_the_browser() {
    let web_port = free_port();
    let env = TestEnv::with(
        Db::Sqlite,
        &format!(
            "[web]\nlisten = \"127.0.0.1:{web_port}\"\npublic_url = \"http://127.0.0.1:{web_port}\"\n"
        ),
    );
    let password_file = env.dir.path().join("password");
    std::fs::write(&password_file, "handler password 2026\n").expect("password file");
    ok(&env.redress(&[
        "user",
        "add",
        "jo@landlord.test",
        "--role",
        "handler",
        "--name",
        "Jo Handler",
        "--password-file",
        &password_file.display().to_string(),
    ]));
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("browser-{}", env.customer),
            "Mould in the bedroom",
            "There is black mould in the bedroom again and nobody has come. I want to complain.",
        ),
        None,
    )
    .await;
    let _daemon = env.daemon();
    wait_for_http(&format!("127.0.0.1:{web_port}")).await;
    let receipt = env
        .wait_for_subject(&env.customer, "INBOX", "received your complaint")
        .await;
    assert!(
        receipt
            .text_body
            .contains(&format!("http://127.0.0.1:{web_port}/r/")),
        "the receipt links to the resident's page"
    );
    let reference = env.newest_reference();

    let (_driver, client) = browser().await;
    let site = format!("http://127.0.0.1:{web_port}");
    client
        .goto(&format!("{site}/"))
        .await
        .expect("open the site");
    assert!(
        client
            .current_url()
            .await
            .expect("url")
            .path()
            .starts_with("/signin")
    );
    client
        .find(Locator::Id("email"))
        .await
        .expect("email")
        .send_keys("jo@landlord.test")
        .await
        .expect("type");
    client
        .find(Locator::Id("password"))
        .await
        .expect("password")
        .send_keys("handler password 2026")
        .await
        .expect("type");
    screenshot(&client, "1-sign-in").await;
    client
        .find(Locator::Css("form button[type=submit]"))
        .await
        .expect("sign in")
        .click()
        .await
        .expect("click");
    // Signed in once the page after the form shows the sign-out button.
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("form.signout"))
        .await
        .expect("signed in");
    client
        .goto(&format!("{site}/cases?q={reference}"))
        .await
        .expect("search");
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::LinkText(&reference))
        .await
        .expect("the case in the list")
        .click()
        .await
        .expect("open the case");
    assert!(status_text(&client).await.contains("Mould in the bedroom"));
    screenshot(&client, "2-case").await;
    // Every field a person fills has a label read out with it (WCAG 1.3.1, 4.1.2).
    let unlabelled = client
        .execute(
            "return Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea')).filter(f => !(f.labels && f.labels.length)).map(f => f.name || f.id);",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(unlabelled, serde_json::json!([]), "fields without a label");

    submit_action(
        &client,
        "acknowledge",
        &[
            (
                "ack-understanding",
                "Black mould in the bedroom has come back.",
            ),
            ("ack-outcome", "The mould treated and the cause fixed."),
        ],
    )
    .await;
    assert!(
        await_done(&client, "acknowledged")
            .await
            .contains("Done: acknowledged")
    );
    submit_action(
        &client,
        "extend",
        &[
            ("ext-days", "5"),
            ("ext-reason", "We need a damp survey first."),
        ],
    )
    .await;
    assert!(
        await_done(&client, "extended")
            .await
            .contains("Done: extended")
    );
    open_form(&client, "respond").await;
    client
        .find(Locator::Id("resp-outcome-upheld"))
        .await
        .expect("upheld")
        .click()
        .await
        .expect("choose");
    client
        .find(Locator::Id("resp-none"))
        .await
        .expect("none outstanding")
        .click()
        .await
        .expect("tick");
    submit_action(
        &client,
        "respond",
        &[
            (
                "resp-reasons",
                "The mould came back because the extractor fan failed.",
            ),
            ("resp-remedy", "A new fan, mould treatment and £75."),
        ],
    )
    .await;
    let page = await_done(&client, "responded").await;
    screenshot(&client, "3-responded").await;
    assert!(page.contains("Done: responded"), "{page}");
    client.close().await.expect("close the browser");

    for subject in ["our acknowledgement", "we need more time", "Our response"] {
        let letter = env.wait_for_subject(&env.customer, "INBOX", subject).await;
        assert!(letter.subject.contains(&reference), "{}", letter.subject);
    }
    let response = env
        .wait_for_subject(&env.customer, "INBOX", "Our response")
        .await;
    assert!(
        response.text_body.contains("Jo Handler"),
        "signed by the handler's name"
    );
    assert!(response.text_body.contains("extractor fan"));
}

/// Every letter kind's HTML part, as a resident's mail program would show it: it loads in
/// Chromium with a title and a heading, shows the reference, and needs no image to be read.
#[tokio::test(flavor = "multi_thread")]
async fn every_letters_html_part_reads_in_chromium() {
    let world = crate::support::fakes::FakeWorld::new("").await;
    let (_driver, client) = browser().await;
    let dir = std::env::temp_dir().join(format!("redress-letters-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    for kind in redress::case::letters::Letters::kinds() {
        let html = redress::deliver::preview::preview(&world.app, kind, None, true)
            .await
            .expect("the HTML part");
        let page = dir.join(format!("{kind}.html"));
        std::fs::write(&page, &html).expect("write");
        client
            .goto(&format!("file://{}", page.display()))
            .await
            .expect("open");
        let title = client.title().await.expect("title");
        assert!(!title.trim().is_empty(), "{kind}: a title");
        let text = status_text_of(&client, "body").await;
        assert!(
            text.contains("CMP-2026-000001"),
            "{kind}: the reference is shown\n{text}"
        );
        let heading = client
            .find(Locator::Css("h1"))
            .await
            .expect("a heading")
            .text()
            .await
            .expect("text");
        assert_eq!(
            heading.trim(),
            title.trim(),
            "{kind}: the heading is the subject"
        );
        let png = dir.join(format!("{kind}.png"));
        std::fs::write(&png, client.screenshot().await.expect("screenshot")).expect("png");
        println!("screenshot: {}", png.display());
    }
    client.close().await.expect("close");
}

async fn status_text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .expect("element")
        .text()
        .await
        .expect("text")
}
