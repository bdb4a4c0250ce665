//! Handler actions through the CLI on the real mail stack: the acknowledgement recomputes the
//! response deadline, an extension moves it (once, within the maximum) and tells the customer why.

use crate::support::*;
use redress::intake::mail::parse;

fn deadlines(env: &TestEnv, reference: &str) -> Vec<(String, String, String)> {
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", reference, "--json"])))
            .expect("json");
    detail["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or_default().to_string(),
                d["due_at"].as_str().unwrap_or_default().to_string(),
                d["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledging_and_extending_move_the_response_deadline() {
    let env = TestEnv::new();
    // Friday 20 November 2026, 09:00: acknowledgement due Friday 27 November, response
    // provisionally 10 working days after that, Friday 11 December.
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("wf-{}", env.customer),
            "Kitchen repair",
            "The kitchen repair was left unfinished again.",
        ),
        Some(at("2026-11-20T09:00:00Z")),
    )
    .await;
    ok(&env.redress(&["--now", "2026-11-20T09:05:00Z", "run", "--once"]));
    let reference = env.newest_reference();
    assert_eq!(
        deadlines(&env, &reference),
        vec![
            (
                "stage1_acknowledgement".into(),
                "2026-11-27T17:00:00Z".into(),
                "open".into()
            ),
            (
                "stage1_response".into(),
                "2026-12-11T17:00:00Z".into(),
                "open".into()
            ),
        ]
    );

    // Acknowledged on Tuesday 24 November at 11:00: the response is due 10 working days later, 8 December.
    let out = ok(&env.redress(&[
        "--now",
        "2026-11-24T11:00:00Z",
        "case",
        "acknowledge",
        &reference,
        "--understanding",
        "Mould has come back in the kitchen after the last treatment.",
        "--outcome",
        "A permanent fix and redecoration.",
        "--by",
        "Sam Handler",
    ]));
    assert!(out.contains("2026-12-08 17:00"), "{out}");
    assert_eq!(
        deadlines(&env, &reference),
        vec![
            (
                "stage1_acknowledgement".into(),
                "2026-11-27T17:00:00Z".into(),
                "met".into()
            ),
            (
                "stage1_response".into(),
                "2026-12-11T17:00:00Z".into(),
                "superseded".into()
            ),
            (
                "stage1_response".into(),
                "2026-12-08T17:00:00Z".into(),
                "open".into()
            ),
        ]
    );
    let again = env.redress(&[
        "--now",
        "2026-11-24T12:00:00Z",
        "case",
        "acknowledge",
        &reference,
        "--understanding",
        "x",
        "--outcome",
        "y",
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already been acknowledged"));

    // Too long an extension is refused with the reason; a valid one moves the date 5 working days.
    let refused = env.redress(&[
        "case", "extend", &reference, "--days", "11", "--reason", "surveyor",
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("beyond the 10 allowed"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let out = ok(&env.redress(&[
        "--now",
        "2026-12-03T10:00:00Z",
        "case",
        "extend",
        &reference,
        "--days",
        "5",
        "--reason",
        "We are waiting for the damp survey report.",
    ]));
    assert!(out.contains("2026-12-15 17:00"), "{out}");
    let second = env.redress(&[
        "case", "extend", &reference, "--days", "1", "--reason", "more",
    ]);
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("one extension only"),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );

    // The customer has the receipt, the acknowledgement and the extension, each with what the Code requires.
    ok(&env.redress(&["--now", "2026-12-03T10:05:00Z", "run", "--once"]));
    let mails = env.wait_for_mails(&env.customer, "INBOX", 3).await;
    let letters: Vec<_> = mails.iter().map(|m| parse(&m.raw)).collect();
    let ack = letters
        .iter()
        .find(|l| l.subject.contains("acknowledgement"))
        .expect("acknowledgement letter");
    assert!(ack.subject.contains(&reference));
    assert!(ack.text_body.contains("Mould has come back in the kitchen"));
    assert!(ack.text_body.contains("A permanent fix and redecoration."));
    assert!(ack.text_body.contains("Tuesday 8 December 2026"));
    assert!(ack.text_body.contains("Sam Handler"));
    assert_eq!(ack.in_reply_to, vec![format!("wf-{}", env.customer)]);
    let ext = letters
        .iter()
        .find(|l| l.subject.contains("more time"))
        .expect("extension letter");
    assert!(ext.text_body.contains("waiting for the damp survey report"));
    assert!(ext.text_body.contains("Tuesday 15 December 2026"));
    assert!(ext.text_body.contains("Housing Ombudsman"));

    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &reference, "--json"])))
            .expect("json");
    let events: Vec<&str> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["acknowledged", "extended", "deadline_recomputed"] {
        assert!(events.contains(&kind), "{kind} missing: {events:?}");
    }
    let extended = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "extended")
        .expect("extended");
    assert_eq!(
        extended["detail"]["reason"],
        "We are waiting for the damp survey report."
    );
    assert_eq!(extended["actor"], "Complaints Team");
}

/// A restricted sender's complaint is recorded and reaches the single point of contact, with no
/// automatic reply; a handler's own reply with us in Cc is correspondence on the case.
#[tokio::test(flavor = "multi_thread")]
async fn restricted_senders_and_staff_replies() {
    let manager = unique_address("complaints-manager");
    let contact = unique_address("single-point-of-contact");
    let env = TestEnv::with(
        Db::Sqlite,
        &format!(
            "[routing]\ncomplaints_manager = \"{manager}\"\nstaff_domains = [\"staff.example.test\"]\n"
        ),
    );
    ok(&env.redress(&[
        "case",
        "restrict",
        &env.customer,
        "--until",
        "2099-12-31",
        "--contact",
        &contact,
    ]));
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("rs-{}", env.customer),
            "Again",
            "You are useless, still not fixed.",
        ),
        None,
    )
    .await;
    let out = ok(&env.redress(&["run", "--once"]));
    assert!(out.contains("\"new_cases\":1"), "{out}");
    let notice = env
        .wait_for_subject(&contact, "INBOX", "New stage 1 complaint")
        .await;
    assert!(
        notice.text_body.contains("restricted"),
        "{}",
        notice.text_body
    );
    let cases = env.cases_json();
    let reference = cases[0]["reference"]
        .as_str()
        .expect("reference")
        .to_string();
    assert_eq!(cases[0]["owner"], contact.as_str());
    assert!(cases[0]["needs_attention"].as_bool().unwrap_or(false));
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(
        env.mails_in(&env.customer, "INBOX").await.is_empty(),
        "no automatic reply to a restricted sender"
    );

    // A handler answers from their own mailbox with the complaints address in Cc.
    let staff = "sam@staff.example.test";
    let reply = format!(
        "From: Sam Handler <{staff}>\r\nTo: {c}\r\nCc: {t}\r\nSubject: RE: {reference} your complaint\r\nMessage-ID: <staff-{c}>\r\n\r\nDear customer, I have booked the repair for Tuesday.\r\n",
        c = env.customer,
        t = env.complaints
    );
    env.append(reply.as_bytes(), None).await;
    let out = ok(&env.redress(&["run", "--once"]));
    assert!(
        out.contains("\"new_cases\":0") && out.contains("\"added_to_cases\":1"),
        "{out}"
    );
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &reference, "--json"])))
            .expect("json");
    assert!(
        detail["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["kind"] == "staff_correspondence")
    );
}

/// Assign tells the new owner; refuse sends the reasons and the Ombudsman's details; a handler can
/// escalate at the customer's spoken request; close stops the deadlines.
#[tokio::test(flavor = "multi_thread")]
async fn assign_refuse_escalate_and_close() {
    let manager = unique_address("complaints-manager");
    let head = unique_address("head");
    let colleague = unique_address("colleague");
    let env = TestEnv::with(
        Db::Sqlite,
        &format!("[routing]\ncomplaints_manager = \"{manager}\"\nmanager = \"{head}\"\n"),
    );
    let other = unique_address("other");
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("a1-{}", env.customer),
            "Repairs",
            "Nobody came.",
        ),
        None,
    )
    .await;
    env.append(
        &complaint(
            &other,
            &env.complaints,
            &format!("a2-{other}"),
            "Old issue",
            "The same thing as last year, still unhappy.",
        ),
        None,
    )
    .await;
    ok(&env.redress(&["run", "--once"]));
    let reference_of = |subject: &str| env.reference_by_subject(subject);
    let repairs = reference_of("Repairs");
    let old = reference_of("Old issue");

    ok(&env.redress(&["case", "assign", &repairs, &colleague, "--by", "Pat"]));
    ok(&env.redress(&["run", "--once"]));
    env.wait_for_subject(&colleague, "INBOX", "assigned to you")
        .await;
    ok(&env.redress(&[
        "case",
        "note",
        &repairs,
        "Called the customer, left a voicemail.",
    ]));

    // Before a stage 1 response, stage 2 has nothing to review: refused unless forced.
    let early = env.redress(&[
        "case",
        "escalate",
        &repairs,
        "--reason",
        "The customer phoned: still unhappy.",
    ]);
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("no stage 1 response yet"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    let out = ok(&env.redress(&[
        "case",
        "escalate",
        &repairs,
        "--force",
        "--reason",
        "The customer phoned: still unhappy, and will not wait for the stage 1 answer.",
    ]));
    assert!(out.contains("escalated to stage 2"), "{out}");
    ok(&env.redress(&["run", "--once"]));
    env.wait_for_subject(&head, "INBOX", "Stage 2 review requested")
        .await;

    ok(&env.redress(&[
        "case",
        "refuse",
        &old,
        "--reason",
        "This was fully investigated last year under CMP-2025-000999.",
    ]));
    ok(&env.redress(&["run", "--once"]));
    let refusal = env
        .wait_for_subject(&other, "INBOX", "why we cannot accept it")
        .await;
    assert!(refusal.text_body.contains("fully investigated last year"));
    assert!(refusal.text_body.contains("Housing Ombudsman"));
    env.wait_for_subject(&env.customer, "INBOX", "review (stage 2)")
        .await;

    ok(&env.redress(&["case", "close", &repairs, "--reason", "Resolved by phone."]));
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &repairs, "--json"])))
            .expect("json");
    assert_eq!(detail["status"], "closed");
    assert!(
        detail["deadlines"]
            .as_array()
            .expect("deadlines")
            .iter()
            .all(|d| d["status"] != "open")
    );
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    for kind in ["assigned", "note", "escalated", "closed"] {
        assert!(kinds.contains(&kind), "{kind} missing: {kinds:?}");
    }
    let again = env.redress(&["case", "close", &repairs, "--reason", "x"]);
    assert!(!again.status.success());
}

/// Ombudsman referrals and determinations are events on the case, checked as they are typed.
#[tokio::test(flavor = "multi_thread")]
async fn ombudsman_findings_are_recorded() {
    let env = TestEnv::new();
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("om-{}", env.customer),
            "Damp",
            "Still not fixed.",
        ),
        None,
    )
    .await;
    ok(&env.redress(&["run", "--once"]));
    let reference = env.newest_reference();
    ok(&env.redress(&[
        "case",
        "ombudsman",
        &reference,
        "--notes",
        "Referred by the customer.",
    ]));
    ok(&env.redress(&[
        "case",
        "ombudsman",
        &reference,
        "--finding",
        "severe-maladministration",
        "--area",
        "service-delivery",
    ]));
    ok(&env.redress(&[
        "case",
        "ombudsman",
        &reference,
        "--finding",
        "maladministration",
        "--area",
        "complaint-handling",
    ]));
    // A "no maladministration" on the whole case names no area; any other finding must.
    ok(&env.redress(&[
        "case",
        "ombudsman",
        &reference,
        "--finding",
        "no-maladministration",
    ]));
    let no_area = env.redress(&[
        "case",
        "ombudsman",
        &reference,
        "--finding",
        "service-failure",
    ]);
    assert!(!no_area.status.success());
    assert!(String::from_utf8_lossy(&no_area.stderr).contains("--area"));
    let bad = env.redress(&[
        "case",
        "ombudsman",
        &reference,
        "--finding",
        "bad",
        "--area",
        "service-delivery",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("severe-maladministration"));
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &reference, "--json"])))
            .expect("json");
    let findings: Vec<(String, String)> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "ombudsman_finding")
        .map(|e| {
            (
                e["detail"]["finding"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["detail"]["area"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        findings,
        [
            (
                "severe_maladministration".to_string(),
                "service_delivery".to_string()
            ),
            (
                "maladministration".to_string(),
                "complaint_handling".to_string()
            ),
            ("no_maladministration".to_string(), "whole_case".to_string())
        ]
    );
    assert!(
        detail["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["kind"] == "ombudsman_referral")
    );
}

/// A complaint taken by phone gets the same receipt and deadlines as a mailed one (Code 3.2), and
/// a service request the customer turns into a complaint becomes stage 1 from then (Code 1.2):
/// its own receipt, deadlines and owner.
#[tokio::test(flavor = "multi_thread")]
async fn a_phoned_complaint_and_a_service_request_that_becomes_one() {
    let repairs = unique_address("repairs");
    let env = TestEnv::with(
        Db::Sqlite,
        &format!("[routing]\nservice_areas = {{ \"Repairs\" = \"{repairs}\" }}\n"),
    );
    let out = ok(&env.redress(&[
        "--now",
        "2026-11-23T11:00:00Z",
        "case",
        "open",
        "--channel",
        "phone",
        "--name",
        "Sam Resident",
        "--email",
        &env.customer,
        "--subject",
        "Nobody came to fix the leak",
        "--text",
        "I am unhappy: the leak under my sink was reported three weeks ago and nobody came.",
        "--received",
        "2026-11-23T10:00:00Z",
        "--area",
        "Repairs",
        "--happened",
        "2025-06-01",
        "--by",
        "Pat",
    ]));
    assert!(out.contains("opened"), "{out}");
    let phoned = env.reference_by_subject("Nobody came to fix the leak");
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &phoned, "--json"])))
            .expect("json");
    assert!(
        detail["attention_reason"]
            .as_str()
            .is_some_and(|r| r.contains("more than 12 months")),
        "an old matter is flagged: {detail}"
    );
    ok(&env.redress(&["--now", "2026-11-23T11:00:00Z", "run", "--once"]));
    let receipt = env.wait_for_subject(&env.customer, "INBOX", &phoned).await;
    assert!(
        receipt.text_body.contains("Monday 23 November 2026"),
        "received date"
    );
    env.wait_for_subject(&repairs, "INBOX", "New stage 1 complaint")
        .await;

    let other = unique_address("tenant");
    env.append(
        &complaint(
            &other,
            &env.complaints,
            &format!("sr-{other}"),
            "Bin collection",
            "Please could you arrange a new recycling bin for my flat.",
        ),
        Some(at("2026-11-23T09:00:00Z")),
    )
    .await;
    ok(&env.redress(&["--now", "2026-11-23T09:30:00Z", "run", "--once"]));
    let request = env.reference_by_subject("Bin collection");
    let out = ok(&env.redress(&[
        "--now",
        "2026-11-25T10:00:00Z",
        "case",
        "correct",
        &request,
        "--kind",
        "complaint",
        "--area",
        "Repairs",
        "--reason",
        "The tenant phoned, unhappy that nothing was done",
    ]));
    assert!(out.contains("corrected"), "{out}");
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &request, "--json"])))
            .expect("json");
    assert_eq!(detail["kind"], "complaint");
    assert_eq!(detail["stage"], "stage1");
    assert_eq!(detail["owner"], repairs.as_str());
    let acknowledge_by = detail["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .find(|d| d["kind"] == "stage1_acknowledgement")
        .map(|d| d["due_at"].clone());
    assert_eq!(
        acknowledge_by,
        Some(serde_json::json!("2026-12-02T17:00:00Z")),
        "5 working days from the day it became a complaint"
    );
    ok(&env.redress(&["--now", "2026-11-25T10:00:00Z", "run", "--once"]));
    env.wait_for_subject(&other, "INBOX", "received your complaint")
        .await;
}

/// Awaab's Law from the command line: a possible emergency is triaged, made safe, and stays on
/// record with its reason.
#[tokio::test(flavor = "multi_thread")]
async fn a_hazard_is_triaged_and_made_safe_from_the_command_line() {
    let env = TestEnv::new();
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("wires-{}", env.customer),
            "Wiring",
            "The socket in my kitchen is sparking and there are exposed live wires.",
        ),
        Some(at("2026-11-23T09:00:00Z")),
    )
    .await;
    ok(&env.redress(&["--now", "2026-11-23T09:10:00Z", "run", "--once"]));
    let reference = env.reference_by_subject("Wiring");
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &reference, "--json"])))
            .expect("json");
    assert_eq!(detail["hazard"], "possible_emergency");
    assert_eq!(detail["needs_attention"], true);
    let out = ok(&env.redress(&[
        "case",
        "triage",
        &reference,
        "emergency",
        "--reason",
        "Live wiring in the kitchen",
        "--by",
        "Pat",
    ]));
    assert!(out.contains("hazard triaged as emergency"), "{out}");
    let refused = env.redress(&["case", "triage", &reference, "urgent", "--reason", "x"]);
    assert!(!refused.status.success());
    ok(&env.redress(&[
        "case",
        "hazard",
        &reference,
        "made-safe",
        "--notes",
        "Isolated",
    ]));
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &reference, "--json"])))
            .expect("json");
    assert_eq!(detail["hazard"], "emergency");
    let make_safe = detail["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .find(|d| d["kind"] == "awaab_emergency_make_safe")
        .expect("24-hour clock")
        .clone();
    assert_eq!(make_safe["status"], "met");
    assert_eq!(make_safe["due_at"], "2026-11-24T09:00:00Z");
    let kinds: Vec<&str> = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"hazard_triaged") && kinds.contains(&"hazard_progress"));
}

/// An action taken with `--now` keeps its stated time and is stamped with the real time of
/// recording and the account that ran it.
#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_action_is_recorded_as_such() {
    let env = TestEnv::new();
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("replay-{}", env.customer),
            "Replay",
            "Nobody came.",
        ),
        None,
    )
    .await;
    ok(&env.redress(&["run", "--once"]));
    let reference = env.reference_by_subject("Replay");
    ok(&env.redress(&[
        "--now",
        "2026-01-05T10:00:00Z",
        "case",
        "note",
        &reference,
        "Called back",
        "--by",
        "Pat",
    ]));
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &reference, "--json"])))
            .expect("json");
    let note = detail["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "note")
        .expect("note")
        .clone();
    assert_eq!(note["at"], "2026-01-05T10:00:00Z");
    assert_eq!(note["actor"], "Pat");
    let recorded: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(note["recorded_at"].clone()).expect("recorded_at");
    assert!(
        (chrono::Utc::now() - recorded).num_minutes().abs() < 5,
        "the real time"
    );
    assert_eq!(note["recorded_by"], redress::app::operator().as_str());
    let text = ok(&env.redress(&["cases", "show", &reference]));
    assert!(text.contains("[recorded "), "{text}");
}

/// Letters to post from the command line: printed as HTML files, then recorded as posted.
#[tokio::test(flavor = "multi_thread")]
async fn letters_to_post_are_printed_and_recorded_from_the_command_line() {
    let env = TestEnv::new();
    ok(&env.redress(&[
        "case",
        "open",
        "--channel",
        "in-person",
        "--name",
        "Ada Resident",
        "--postal-address",
        "Flat 2, 10 High Street, Town AB1 2CD",
        "--text",
        "The window has been broken for a month and nobody has come.",
        "--received",
        "2026-11-23T10:00:00Z",
    ]));
    // Without --subject the title is the start of the text.
    let reference =
        env.reference_by_subject("The window has been broken for a month and nobody has come.");
    let dir = env.dir.path().join("to-post");
    let out = ok(&env.redress(&["letters", "to-post", "--out", &path_str(&dir)]));
    assert!(out.contains("1 letter(s) to print and post"), "{out}");
    let file = std::fs::read_dir(&dir)
        .expect("dir")
        .next()
        .expect("a file")
        .expect("entry")
        .path();
    let page = std::fs::read_to_string(&file).expect("page");
    assert!(page.contains("Flat 2, 10 High Street") && page.contains(&reference));
    let id = file
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('-').next())
        .expect("id")
        .to_string();
    ok(&env.redress(&["letters", "posted", &id, "--by", "Pat"]));
    let out = ok(&env.redress(&["letters", "to-post"]));
    assert!(out.contains("0 letter(s) to post"), "{out}");
    let again = env.redress(&["letters", "posted", &id]);
    assert!(!again.status.success());
}
