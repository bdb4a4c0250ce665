//! Letters as residents receive them: plain text and an accessible HTML part in one
//! multipart/alternative mail; large print or plain text only as the case's adjustments ask.

use redress::case::actions;

use crate::support::fakes::FakeWorld;
use crate::support::*;

async fn complaint_with_letters(world: &mut FakeWorld) -> String {
    let t0 = at("2026-11-23T10:00:00Z");
    let mail = complaint(
        &world.customer,
        &world.complaints,
        &format!("letters-{}", world.customer),
        "Broken boiler",
        "The boiler is broken and nobody came. I want to complain.",
    );
    world.mailbox.deliver(&mail, t0);
    world.pass(t0).await;
    world.app.store.list_cases(1).await.expect("cases")[0]
        .reference
        .clone()
}

fn raw_to(world: &FakeWorld, kind_subject: &str) -> String {
    world
        .sender
        .sent()
        .iter()
        .filter(|s| s.to == world.customer && s.mail.subject.contains(kind_subject))
        .map(|s| String::from_utf8_lossy(&s.raw).into_owned())
        .last()
        .unwrap_or_else(|| panic!("no letter `{kind_subject}` to the customer"))
}

#[tokio::test]
async fn a_receipt_goes_as_plain_text_and_html() {
    let mut world = FakeWorld::new("").await;
    let reference = complaint_with_letters(&mut world).await;
    let raw = raw_to(&world, "received your complaint");
    assert!(raw.contains("multipart/alternative"), "{raw}");
    assert!(
        raw.contains("text/plain") && raw.contains("text/html"),
        "{raw}"
    );
    let receipt = world
        .sender
        .to(&world.customer)
        .into_iter()
        .find(|m| m.subject.contains("received"))
        .expect("receipt");
    assert!(
        receipt.text_body.contains(&reference),
        "the plain part is the letter"
    );
    let detail = world
        .app
        .store
        .case_detail(&reference)
        .await
        .expect("detail");
    let html = detail
        .letters
        .iter()
        .find(|l| l.kind == "receipt")
        .and_then(|l| l.html.clone())
        .expect("an HTML part on record");
    assert!(
        html.contains("<strong>Your reference:</strong> ") && html.contains(&reference),
        "{html}"
    );
    assert!(
        html.contains("Example Homes") && html.contains("Our full response by:"),
        "{html}"
    );
    assert!(html.contains("font-size: 16px"), "normal print");
}

#[tokio::test]
async fn adjustments_give_large_print_or_plain_text_only() {
    let mut world = FakeWorld::new("").await;
    let reference = complaint_with_letters(&mut world).await;
    let t1 = at("2026-11-24T10:00:00Z");
    let app = &world.app;
    actions::adjust(app, &reference, "Jo", "Large print, please", t1)
        .await
        .expect("adjust");
    actions::acknowledge(
        app,
        &reference,
        "Jo",
        "The boiler is broken",
        "A working boiler",
        t1,
    )
    .await
    .expect("acknowledged");
    let detail = app.store.case_detail(&reference).await.expect("detail");
    let ack = detail
        .letters
        .iter()
        .find(|l| l.kind == "acknowledgement")
        .expect("acknowledgement");
    assert!(
        ack.html
            .as_deref()
            .is_some_and(|h| h.contains("font-size: 24px")),
        "large print"
    );
    actions::adjust(
        app,
        &reference,
        "Jo",
        "Uses a screen reader: plain text only",
        t1,
    )
    .await
    .expect("adjust");
    actions::extend(app, &reference, "Jo", 5, "We need a survey", t1)
        .await
        .expect("extended");
    world.pass(t1).await;
    let raw = raw_to(&world, "we need more time");
    assert!(!raw.contains("text/html"), "plain text only:\n{raw}");
}

/// Issue 12: an unknown robot that writes like a person cannot loop with us: at most three
/// automatic letters to one address in 24 hours; the rest are recorded and flagged for a person.
#[tokio::test]
async fn no_more_than_three_automatic_letters_a_day_to_one_address() {
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    for n in 0..5 {
        let mail = complaint(
            &world.customer,
            &world.complaints,
            &format!("loop-{n}@example.net"),
            &format!("Complaint number {n}"),
            "Nobody came to fix it and I want to complain.",
        );
        world
            .mailbox
            .deliver(&mail, t0 + chrono::Duration::minutes(n));
        world.pass(t0 + chrono::Duration::minutes(n)).await;
    }
    let cases = world.app.store.list_cases(10).await.expect("cases");
    assert_eq!(cases.len(), 5, "every mail is on record");
    let receipts = world.sender.to(&world.customer).len();
    assert_eq!(receipts, 3, "three automatic letters, no more");
    let flagged = cases
        .iter()
        .filter(|c| {
            c.attention_reason
                .as_deref()
                .is_some_and(|r| r.contains("automatic letters went to this sender"))
        })
        .count();
    assert_eq!(flagged, 2, "the rest are flagged for a person");
}
