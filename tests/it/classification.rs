//! Classification end to end through the real mail stack: a bounce of our receipt, a review
//! request opening stage 2, and the letters for compliments and service requests.

use std::time::Duration;

use crate::support::*;
use redress::clock::Clock;
use redress::daemon::run_once;
use redress::intake::mail::parse;

/// A real Postfix bounce of our receipt is tied to the case, marks the receipt undelivered and
/// flags the case for a person, and is never answered.
#[tokio::test(flavor = "multi_thread")]
async fn a_bounce_of_our_receipt_is_linked_and_reported_not_answered() {
    let env = TestEnv::new();
    let unreachable = unique_address("gone").replace("@example.test", "@nowhere.test");
    env.append(
        &complaint(
            &unreachable,
            &env.complaints,
            &format!("b-{unreachable}"),
            "Broken heating",
            "Still no heating after two weeks.",
        ),
        None,
    )
    .await;
    let app = env.app().await;
    let first = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    assert_eq!((first.pass.new_cases, first.letters_sent), (1, 1));
    // Postfix's rejecting relay refuses the customer's address and a DSN comes back to us.
    let bounces = env.wait_for_mails(&env.complaints, "INBOX", 1).await;
    assert!(parse(&bounces[0].raw).content_type.contains("report"));

    let second = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    assert_eq!(second.pass.new_cases, 0, "a bounce never opens a case");
    assert_eq!(second.pass.added_to_cases, 1);
    assert_eq!(second.letters_sent, 0, "a bounce is never answered");
    let case = &app.store.list_cases(5).await.expect("list")[0];
    assert!(case.needs_attention);
    assert!(
        case.attention_reason
            .as_deref()
            .unwrap_or("")
            .contains("bounced"),
        "{:?}",
        case.attention_reason
    );
    let detail = app
        .store
        .case_detail(&case.reference)
        .await
        .expect("detail");
    assert_eq!(detail.letters[0].status, "undelivered");
    assert!(detail.events.iter().any(|e| e.kind == "letter_undelivered"));
    assert_eq!(app.store.count_letters("pending").await.expect("count"), 0);
}

/// After the stage 1 response, "not happy, please escalate" opens stage 2 on the same case with
/// its deadlines and the stage 2 receipt.
#[tokio::test(flavor = "multi_thread")]
async fn a_review_request_opens_stage_2_with_its_receipt() {
    let env = TestEnv::new();
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("s1-{}", env.customer),
            "Repairs",
            "The repair was never finished.",
        ),
        None,
    )
    .await;
    ok(&env.redress(&["run", "--once"]));
    let reference = env.newest_reference();

    // A reply before the response is just correspondence.
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("s1b-{}", env.customer),
            &format!("Re: {reference}"),
            "I am not happy, please escalate.",
        ),
        None,
    )
    .await;
    ok(&env.redress(&["run", "--once"]));
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &reference, "--json"])))
            .expect("json");
    assert_eq!(detail["stage"], "stage1");

    // The response is refused until it has every element, then sent.
    let refused = env.redress(&["case", "respond", &reference, "--outcome", "partly-upheld"]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(
        why.contains("reasons") && why.contains("remedy") && why.contains("outstanding actions"),
        "{why}"
    );
    ok(&env.redress(&[
        "case",
        "respond",
        &reference,
        "--outcome",
        "partly-upheld",
        "--reasons",
        "The repair was delayed by a missing part.",
        "--remedy",
        "We will pay £40 for the delay.",
        "--action",
        "Finish the repair|Repairs team|2026-12-18",
        "--definition",
        "The repair was not finished; you want it finished.",
    ]));
    ok(&env.redress(&["run", "--once"]));
    let mails = env.wait_for_mails(&env.customer, "INBOX", 2).await;
    let response = mails
        .iter()
        .map(|m| parse(&m.raw))
        .find(|m| m.subject.contains("Our response"))
        .expect("response letter");
    for part in [
        "partly upheld",
        "missing part",
        "£40",
        "Finish the repair",
        "stage 2",
        "Housing Ombudsman",
    ] {
        assert!(
            response.text_body.contains(part),
            "{part} missing:\n{}",
            response.text_body
        );
    }

    // Now the same words ask for a review.
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("s2-{}", env.customer),
            &format!("Re: Our response to your complaint {reference}"),
            "I am still not happy with your response and want to escalate to stage 2.",
        ),
        Some(at("2026-11-23T09:00:00Z")),
    )
    .await;
    let out = ok(&env.redress(&["run", "--once"]));
    assert!(out.contains("\"added_to_cases\":1"), "{out}");
    let detail: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["cases", "show", &reference, "--json"])))
            .expect("json");
    assert_eq!(detail["stage"], "stage2");
    let deadlines: Vec<(String, String)> = detail["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .filter(|d| d["status"] == "open")
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or_default().to_string(),
                d["due_at"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert!(
        deadlines.contains(&(
            "stage2_acknowledgement".into(),
            "2026-11-30T17:00:00Z".into()
        )),
        "{deadlines:?}"
    );
    assert!(
        deadlines.contains(&("stage2_response".into(), "2026-12-30T17:00:00Z".into())),
        "{deadlines:?}"
    );
    assert!(
        deadlines.iter().any(|(k, _)| k == "outstanding_action"),
        "{deadlines:?}"
    );
    let mails = env.wait_for_mails(&env.customer, "INBOX", 3).await;
    let stage2 = mails
        .iter()
        .map(|m| parse(&m.raw))
        .find(|m| m.subject.contains("stage 2"))
        .expect("stage 2 receipt");
    assert!(stage2.subject.contains(&reference));
    assert!(
        stage2.text_body.contains("Wednesday 30 December 2026"),
        "{}",
        stage2.text_body
    );
    assert_eq!(
        detail["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["kind"] == "escalated")
            .count(),
        1
    );
}

/// Compliments are thanked; service requests are logged and told they can complain at any time.
#[tokio::test(flavor = "multi_thread")]
async fn compliments_and_service_requests_get_their_own_letters() {
    let env = TestEnv::new();
    let happy = unique_address("happy");
    let asker = unique_address("asker");
    env.append(
        &complaint(
            &happy,
            &env.complaints,
            &format!("c-{happy}"),
            "Thank you",
            "Thank you to the repairs team, great job on my boiler.",
        ),
        None,
    )
    .await;
    env.append(
        &complaint(
            &asker,
            &env.complaints,
            &format!("r-{asker}"),
            "Tap",
            "My bathroom tap is leaking, can someone come and fix it?",
        ),
        None,
    )
    .await;
    let app = env.app().await;
    let report = run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    assert_eq!((report.pass.new_cases, report.letters_sent), (2, 2));
    let thanks = parse(&env.wait_for_mails(&happy, "INBOX", 1).await[0].raw);
    assert!(
        thanks.subject.contains("Thank you for your compliment"),
        "{}",
        thanks.subject
    );
    let logged = parse(&env.wait_for_mails(&asker, "INBOX", 1).await[0].raw);
    assert!(
        logged.subject.contains("logged your request"),
        "{}",
        logged.subject
    );
    assert!(logged.text_body.contains("make a complaint"));
    let cases = app.store.list_cases(5).await.expect("list");
    let kinds: Vec<&str> = cases.iter().map(|c| c.kind.as_str()).collect();
    assert!(
        kinds.contains(&"compliment") && kinds.contains(&"service_request"),
        "{kinds:?}"
    );
    for case in &cases {
        assert!(
            case.stage.is_none(),
            "{} is not a complaint stage",
            case.kind
        );
        assert!(
            app.store
                .deadlines_of(case.id)
                .await
                .expect("deadlines")
                .is_empty()
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Routing: each new case is assigned by service area (complaints manager as fallback) and its
/// owner is told; a customer's further mail reaches the owner too.
#[tokio::test(flavor = "multi_thread")]
async fn owners_are_assigned_by_service_area_and_told() {
    let manager = unique_address("complaints-manager");
    let head = unique_address("head-of-service");
    let repairs = unique_address("repairs-team");
    let env = TestEnv::with(
        Db::Sqlite,
        &format!(
            "[routing]\ncomplaints_manager = \"{manager}\"\nmanager = \"{head}\"\n[routing.service_areas]\n\"Repairs\" = \"Repairs Team <{repairs}>\"\n"
        ),
    );
    let noisy = unique_address("noisy");
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("rt1-{}", env.customer),
            "Boiler",
            "The boiler repair was never done and the engineer never came back.",
        ),
        None,
    )
    .await;
    env.append(
        &complaint(
            &noisy,
            &env.complaints,
            &format!("rt2-{noisy}"),
            "Noise",
            "The anti-social noise from my neighbour is unacceptable.",
        ),
        None,
    )
    .await;
    let app = env.app().await;
    run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");

    let cases = app.store.list_cases(5).await.expect("list");
    let boiler = cases
        .iter()
        .find(|c| c.subject == "Boiler")
        .expect("boiler case");
    let noise = cases
        .iter()
        .find(|c| c.subject == "Noise")
        .expect("noise case");
    assert_eq!(boiler.service_area.as_deref(), Some("Repairs"));
    assert_eq!(boiler.owner.as_deref(), Some(repairs.as_str()));
    assert_eq!(noise.service_area.as_deref(), Some("Communities"));
    assert_eq!(
        noise.owner.as_deref(),
        Some(manager.as_str()),
        "no address for Communities: the complaints manager"
    );

    let notice = env
        .wait_for_subject(&repairs, "INBOX", "New stage 1 complaint")
        .await;
    assert!(
        notice.subject.contains("New stage 1 complaint")
            && notice.subject.contains(&boiler.reference),
        "{}",
        notice.subject
    );
    assert!(
        notice.text_body.contains("Jane Tenant"),
        "names the customer"
    );
    assert!(
        !notice.text_body.contains(&env.customer),
        "never the customer's address"
    );
    assert!(
        notice.text_body.contains("stage 1 acknowledgement by"),
        "{}",
        notice.text_body
    );
    assert!(
        notice
            .text_body
            .contains(&format!("redress case acknowledge {}", boiler.reference))
    );
    assert_eq!(notice.header("auto-submitted"), Some("auto-generated"));
    env.wait_for_mails(&manager, "INBOX", 1).await;

    // The customer writes again: the owner hears of it.
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("rt3-{}", env.customer),
            &format!("Re: {}", boiler.reference),
            "Here is a photo.",
        ),
        None,
    )
    .await;
    run_once(&app, &env.sender(), &Clock::system())
        .await
        .expect("pass");
    env.wait_for_subject(&repairs, "INBOX", "The customer wrote again")
        .await;
}

/// Feedback with no response wanted: recorded without deadlines or letters by default; with the
/// procedure's feedback stage turned on it gets a short note and the next-working-day deadline.
#[tokio::test(flavor = "multi_thread")]
async fn feedback_follows_the_configured_feedback_stage() {
    for stage_on in [false, true] {
        let env = TestEnv::with(
            Db::Sqlite,
            if stage_on {
                "[deadlines]\nfeedback_stage = true\n"
            } else {
                ""
            },
        );
        env.append(
            &complaint(&env.customer, &env.complaints, &format!("fb-{}", env.customer), "Feedback", "I was disappointed the operative was late. I don't want a response, just wanted to let you know."),
            Some(at("2026-11-20T10:00:00Z")),
        )
        .await;
        let app = env.app().await;
        let report = run_once(&app, &env.sender(), &Clock::system())
            .await
            .expect("pass");
        let case = &app.store.list_cases(1).await.expect("list")[0];
        assert_eq!(case.kind, "feedback");
        let deadlines = app.store.deadlines_of(case.id).await.expect("deadlines");
        if stage_on {
            assert_eq!(report.letters_sent, 1);
            assert_eq!(deadlines.len(), 1);
            assert_eq!(deadlines[0].kind, "feedback_response");
            assert_eq!(
                deadlines[0].due_at,
                at("2026-11-23T17:00:00Z"),
                "close of business the next working day"
            );
            env.wait_for_subject(&env.customer, "INBOX", "Thank you for your feedback")
                .await;
        } else {
            assert_eq!(report.letters_sent, 0, "no response wanted: none sent");
            assert!(deadlines.is_empty());
        }
    }
}

/// Issue 12: learning from people. A landlord's earlier cases are imported from CSV (a bad row
/// named and skipped, a second import keeping nothing twice), a handler corrects a case's area,
/// `redress train` learns from both, and `redress classify` routes a mail no rule knows, naming
/// the words behind the learned decision.
#[tokio::test(flavor = "multi_thread")]
async fn people_teach_it_the_teams_no_rule_knows() {
    let env = TestEnv::new();
    let csv = env.dir.path().join("history.csv");
    std::fs::write(
        &csv,
        "text,kind,area\r\n\
         \"The garages behind the flats are full of rubbish, again\",complaint,Estate services\r\n\
         Garage licence fee went up without notice,complaint,Estate services\r\n\
         Can I rent a garage on the estate,banana,Estate services\r\n\
         The garage door on our block of garages is broken,service_request,Estate services\r\n\
         My rent statement shows arrears I do not owe,complaint,Income\r\n\
         Direct debit for rent taken twice this month,complaint,Income\r\n\
         The arrears letter was wrong about my rent,complaint,Income\r\n",
    )
    .expect("csv");
    let csv = path_str(&csv);
    let first = env.redress(&["import-history", &csv]);
    assert!(
        ok(&first).contains("imported 6 examples (0 already held, 1 skipped)"),
        "{}",
        ok(&first)
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(stderr.contains(":4: skipped: kind `banana`"), "{stderr}");
    assert!(
        ok(&env.redress(&["import-history", &csv])).contains("imported 0 examples (6 already held")
    );

    // A handler's correction is learned from too.
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("garage-{}", env.customer),
            "Garages",
            "Nobody has cleared the garages behind Elm Court and it is not acceptable.",
        ),
        None,
    )
    .await;
    ok(&env.redress(&["run", "--once"]));
    let reference = env.newest_reference();
    ok(&env.redress(&[
        "case",
        "correct",
        &reference,
        "--area",
        "Estate services",
        "--reason",
        "garages are estate services",
    ]));

    let trained = ok(&env.redress(&["train"]));
    assert!(
        trained.contains("area Estate services: 4 examples"),
        "{trained}"
    );
    assert!(trained.contains("trained on 7 examples"), "{trained}");

    let mail = env.dir.path().join("garage.eml");
    std::fs::write(
        &mail,
        "From: Jo <jo@example.net>\r\nSubject: Garage\r\n\r\nCan I rent one of the garages behind Elm Court?\r\n",
    )
    .expect("eml");
    let decision: serde_json::Value =
        serde_json::from_str(&ok(&env.redress(&["classify", &path_str(&mail)]))).expect("json");
    assert_eq!(decision["service_area"], "Estate services", "{decision}");
    let reasons = decision["reasons"].to_string();
    assert!(
        reasons.contains("learned from people's decisions") && reasons.contains("garages"),
        "{reasons}"
    );
}
