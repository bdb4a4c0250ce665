//! Hostile and broken input (issue 14: a fuzz harness that runs in CI for a fixed number of
//! cases): whatever bytes arrive, parsing, classification, the identity hash and the letters
//! built from what was read never panic, and what is kept is storable text.

use proptest::prelude::*;
use redress::app::Rules;
use redress::intake::mail::{identity_hash, parse, stand_in};

use crate::support::*;

fn rules() -> Rules {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("redress.toml");
    let config = config_text(1, 1, "complaints@example.test", "sqlite::memory:", "");
    std::fs::write(&path, config).expect("config");
    Rules::load(&path).expect("rules")
}

/// Mail-shaped bytes: header lines (some folded, some encoded words, some junk) and a body.
fn mail_like() -> impl Strategy<Value = Vec<u8>> {
    let name = prop::sample::select(vec![
        "From",
        "To",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Auto-Submitted",
        "List-Id",
        "Received",
        "X-Loop",
    ]);
    let value = prop::collection::vec(any::<u8>(), 0..80);
    let header = (name, value, any::<bool>()).prop_map(|(name, value, folded)| {
        let mut line = format!("{name}: ").into_bytes();
        line.extend(value);
        if folded {
            line.extend_from_slice(b"\r\n =?utf-8?q?=00=FF?= ");
        }
        line.extend_from_slice(b"\r\n");
        line
    });
    (
        prop::collection::vec(header, 0..12),
        prop::collection::vec(any::<u8>(), 0..400),
    )
        .prop_map(|(headers, body)| {
            let mut raw: Vec<u8> = headers.concat();
            raw.extend_from_slice(b"\r\n");
            raw.extend(body);
            raw
        })
}

fn check(rules: &Rules, raw: &[u8]) -> Result<(), TestCaseError> {
    let mail = parse(raw);
    prop_assert!(!mail.subject.contains('\0') && !mail.text_body.contains('\0'));
    let _ = identity_hash(raw);
    // What is kept of a mail too large to take: its header with our note, always readable.
    let kept = parse(&stand_in(raw, "[redress: too large]"));
    prop_assert!(
        kept.text_body.contains("[redress: too large]"),
        "{:?}",
        kept.text_body
    );
    let decision = rules.classifier.classify(&mail, None);
    let _ = serde_json::to_string(&decision).expect("a decision serialises");
    let _ = rules.classifier.wants_to_complain(&mail);
    // The receipt built from what was read: hostile names and subjects render as text.
    let name = mail
        .from
        .as_ref()
        .and_then(|f| f.name.clone())
        .unwrap_or_default();
    let context = serde_json::json!({
        "reference": "CMP-2026-000001", "customer_name": name, "organisation_name": "Homes",
        "complaints_address": "c@example.test", "received_date": "Monday", "acknowledge_by": "Monday",
        "respond_by": "Monday", "ombudsman_contact": "HOS", "original_subject": mail.subject,
        "automatic_acknowledgement": false, "service_area": decision.service_area,
        "case_link": "https://complaints.example.test/r/0123", "case_url": null,
    });
    let letter = rules
        .letters
        .render("receipt", &context)
        .expect("a receipt renders");
    prop_assert!(letter.subject.contains("CMP-2026-000001"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_are_read_without_a_panic(raw in prop::collection::vec(any::<u8>(), 0..2048)) {
        RULES.with(|rules| check(rules, &raw))?;
    }

    #[test]
    fn mail_shaped_bytes_are_read_without_a_panic(raw in mail_like()) {
        RULES.with(|rules| check(rules, &raw))?;
    }
}

thread_local! {
    static RULES: Rules = rules();
}
