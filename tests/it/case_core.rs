//! The case core on fakes (an in-memory mailbox and sender, the real store on SQLite): a
//! complaint's whole life through both stages, what the Code refuses, and what a mail does
//! twice. No mail stack is started; the same paths run end to end on the real servers in
//! `intake`, `workflow` and `reminders`.

use chrono::Duration;
use redress::case::CaseError;
use redress::case::actions::{self, Response};
use redress::case::deadlines::ExtensionError;
use redress::case::model::{CaseStatus, Event, Outcome, Stage};

use crate::support::fakes::FakeWorld;
use crate::support::*;

const HANDLER: &str = "Jo Handler";

fn response(outcome: Option<Outcome>) -> Response {
    Response {
        outcome,
        reasons: "We inspected the boiler on 1 December.".into(),
        remedy: "A new boiler and £50 for the inconvenience.".into(),
        actions: Vec::new(),
        no_outstanding_actions: true,
        definition: Some("The boiler was not repaired; a repair is sought.".into()),
    }
}

/// Opens a complaint from the world's customer at `at` and returns its reference.
async fn complaint_at(world: &mut FakeWorld, at: chrono::DateTime<chrono::Utc>) -> String {
    let id = format!("boiler-{}", world.customer);
    let body = "My boiler has been broken for two weeks and nobody has come. I am very unhappy.";
    let (reference, opened) = mail_at(world, &id, "Broken boiler", body, at).await;
    assert_eq!(opened, 1);
    reference
}

/// The customer's reply on case `reference`, with Message-ID `<{id}-{customer}>`, answering
/// `in_reply_to` when given.
fn reply(
    world: &FakeWorld,
    reference: &str,
    id: &str,
    in_reply_to: Option<&str>,
    body: &str,
) -> String {
    let threading = in_reply_to.map_or(String::new(), |to| format!("In-Reply-To: <{to}>\r\n"));
    format!(
        "From: <{customer}>\r\nTo: <{complaints}>\r\nSubject: Re: {reference}\r\nMessage-ID: <{id}-{customer}>\r\n{threading}\r\n{body}\r\n",
        customer = world.customer,
        complaints = world.complaints,
    )
}

/// Delivers a mail from the world's customer at `at` and runs a pass; returns the newest case
/// and how many cases the pass opened.
async fn mail_at(
    world: &mut FakeWorld,
    message_id: &str,
    subject: &str,
    body: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> (String, usize) {
    let raw = complaint(
        &world.customer,
        &world.complaints,
        message_id,
        subject,
        body,
    );
    world.mailbox.deliver(&raw, at);
    let report = world.pass(at).await;
    let newest = world.app.store.list_cases(1).await.expect("list")[0]
        .reference
        .clone();
    (newest, report.pass.new_cases)
}

#[tokio::test]
async fn a_complaint_goes_through_both_stages_on_fakes() {
    let mut world = FakeWorld::new("[routing]\nmanager = \"head@example.test\"\n").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let reference = complaint_at(&mut world, t0).await;
    assert_eq!(world.mailbox.waiting(), 0, "moved on only once recorded");
    assert_eq!(world.mailbox.processed.len(), 1);
    let app = &world.app;

    let day1 = t0 + Duration::days(1);
    let ack = actions::acknowledge(app, &reference, HANDLER, "No heating", "A repair", day1)
        .await
        .expect("acknowledged");
    assert!(ack.letter_queued);
    let again = actions::acknowledge(app, &reference, HANDLER, "x", "y", day1).await;
    assert!(matches!(again, Err(CaseError::AlreadyAcknowledged(_))));

    let extended = actions::extend(app, &reference, HANDLER, 5, "Waiting for a part", day1)
        .await
        .expect("extended");
    assert!(extended.response_due > ack.response_due);
    let twice = actions::extend(app, &reference, HANDLER, 2, "More", day1).await;
    assert!(
        matches!(
            twice,
            Err(CaseError::Extension(ExtensionError::AlreadyExtended))
        ),
        "Code 6.4: one extension at stage 1"
    );

    let incomplete = actions::respond(app, &reference, HANDLER, &response(None), day1).await;
    assert!(matches!(incomplete, Err(CaseError::Incomplete(_))));
    let answer = response(Some(Outcome::NotUpheld));
    actions::respond(app, &reference, HANDLER, &answer, day1)
        .await
        .expect("responded");
    world.pass(day1).await;
    let letters = world.sender.to(&world.customer);
    let subjects: Vec<&str> = letters.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(letters.len(), 4, "{subjects:?}");
    assert!(letters.iter().all(|m| m.subject.contains(&reference)));
    let stage1 = letters.last().expect("the response");
    assert!(
        stage1.text_body.contains("No heating") && stage1.text_body.contains("A repair"),
        "6.9 b: the response restates the complaint as defined at acknowledgement"
    );
    assert!(
        !stage1.text_body.contains("telling us why"),
        "6.12: a review is never conditional on a reason"
    );

    // The customer answers the response and asks for a review: stage 2, owned by the manager.
    let stage1_response = letters.last().and_then(|m| m.message_id.clone());
    let in_reply_to = stage1_response.unwrap_or_default();
    let reply = reply(
        &world,
        &reference,
        "review",
        Some(&in_reply_to),
        "I am still unhappy and want to escalate this to stage 2.",
    );
    let day2 = day1 + Duration::days(1);
    world.mailbox.deliver(reply.as_bytes(), day2);
    let report = world.pass(day2).await;
    assert_eq!(report.pass.added_to_cases, 1);
    let case = world.app.store.case_by_reference(&reference).await;
    let case = case.expect("read").expect("case");
    assert_eq!(case.stage, Some(Stage::Stage2));
    assert_eq!(case.owner.as_deref(), Some("head@example.test"));
    let receipt = world
        .sender
        .to(&world.customer)
        .pop()
        .expect("stage 2 receipt");
    assert_eq!(
        receipt.in_reply_to,
        vec![format!("review-{}", world.customer)],
        "threaded to the request"
    );
    let notices = world.sender.to("head@example.test");
    assert!(notices.iter().any(|m| m.subject.contains("Stage 2")));

    let app = &world.app;
    actions::acknowledge(app, &reference, "Head", "Review", "A new boiler", day2)
        .await
        .expect("stage 2 acknowledged");
    let done = actions::respond(app, &reference, "Head", &answer, day2)
        .await
        .expect("stage 2 response");
    assert_eq!(done.response_due, None, "nothing more is owed");
    let detail = app.store.case_detail(&reference).await.expect("detail");
    assert_eq!(detail.case.status, CaseStatus::Closed);
    let events: Vec<Event> = detail.events.iter().filter_map(|e| e.event()).collect();
    assert_eq!(events.len(), detail.events.len(), "every event is typed");
    let escalated = events.iter().any(|e| {
        matches!(e, Event::Escalated { to_stage: Stage::Stage2, detail, .. } if detail.message_row.is_some())
    });
    assert!(escalated, "the review request is on record with its mail");
    let words = events.iter().find_map(|e| match e {
        Event::Escalated { detail, .. } => detail.words.clone(),
        _ => None,
    });
    assert_eq!(
        words.as_deref(),
        Some("I am still unhappy and want to escalate this to stage 2."),
        "6.12: why the resident wants a review, in their words"
    );
    let responses = events
        .iter()
        .filter(|e| matches!(e, Event::Responded { .. }))
        .count();
    assert_eq!(responses, 2);
}

#[tokio::test]
async fn a_mail_delivered_twice_is_one_case_on_fakes() {
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let raw = complaint(
        &world.customer,
        &world.complaints,
        "twice@example.test",
        "Leak",
        "Water is coming through the ceiling.",
    );
    world.mailbox.deliver(&raw, t0);
    world.mailbox.deliver(&raw, t0);
    let report = world.pass(t0).await;
    assert_eq!((report.pass.new_cases, report.pass.duplicates), (1, 1));
    assert_eq!(world.mailbox.processed.len(), 2, "both leave the inbox");
    assert_eq!(world.sender.to(&world.customer).len(), 1, "one receipt");
    let again = world.pass(t0 + Duration::minutes(1)).await;
    assert_eq!(again.letters_sent, 0, "nothing is sent twice");
}

#[tokio::test]
async fn a_closed_case_refuses_further_actions_on_fakes() {
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let reference = complaint_at(&mut world, t0).await;
    let app = &world.app;
    let lower = reference.to_ascii_lowercase();
    actions::close(app, &format!(" {lower} "), HANDLER, "Resolved by phone", t0)
        .await
        .expect("closed, however the reference was typed");
    let refused = actions::acknowledge(app, &reference, HANDLER, "x", "y", t0).await;
    assert!(matches!(
        refused,
        Err(CaseError::NotOpen {
            status: CaseStatus::Closed,
            ..
        })
    ));
    let missing = actions::note(app, "CMP-1999-000001", HANDLER, "n", t0).await;
    assert!(matches!(missing, Err(CaseError::NoSuchCase(_))));
    let deadlines = app.store.deadlines_of(1).await.expect("deadlines");
    assert!(
        deadlines.iter().all(|d| d.status != "open"),
        "closing stops every deadline"
    );
}

#[tokio::test]
async fn a_complaint_corrected_to_a_service_request_stops_its_clocks_on_fakes() {
    use redress::case::by_hand::{self, Correction};
    use redress::case::model::CaseKind;
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let reference = complaint_at(&mut world, t0).await;
    let app = &world.app;
    let to_request = Correction {
        kind: Some(CaseKind::ServiceRequest),
        service_area: None,
        themes: None,
        stage: None,
    };
    let no_reason = by_hand::correct(app, &reference, HANDLER, &to_request, " ", t0).await;
    assert!(matches!(no_reason, Err(CaseError::Empty(_))));
    by_hand::correct(app, &reference, HANDLER, &to_request, "A first request", t0)
        .await
        .expect("corrected");
    let detail = app.store.case_detail(&reference).await.expect("detail");
    assert_eq!(detail.case.kind, CaseKind::ServiceRequest);
    assert_eq!(detail.case.stage, None);
    assert!(detail.deadlines.iter().all(|d| d.status != "open"));
    let corrected = detail.events.iter().filter_map(|e| e.event()).any(|e| {
        matches!(e, Event::Corrected { what, to, .. } if what == "kind" && to.as_deref() == Some("service_request"))
    });
    assert!(corrected, "the correction and its reason are on record");

    // Back to a complaint: stage 1 from now, with a new receipt.
    let t1 = t0 + Duration::days(2);
    let to_complaint = Correction {
        kind: Some(CaseKind::Complaint),
        service_area: None,
        themes: None,
        stage: None,
    };
    let report = by_hand::correct(app, &reference, HANDLER, &to_complaint, "Unhappy", t1)
        .await
        .expect("a complaint again");
    assert!(report.letter_queued);
    assert!(report.response_due.is_some());
    actions::respond(
        app,
        &reference,
        HANDLER,
        &response(Some(Outcome::Upheld)),
        t1,
    )
    .await
    .expect("answered");
    let answered = by_hand::correct(app, &reference, HANDLER, &to_request, "No", t1).await;
    assert!(
        matches!(answered, Err(CaseError::NoStage { .. })),
        "an answered complaint stays one"
    );
}

/// Code 6.2: an acknowledgement never sent is never recorded as met. Answering without one
/// leaves it late in the annual report and on the dashboard; one that was sent counts on time.
#[tokio::test]
async fn an_acknowledgement_never_sent_counts_as_late_on_fakes() {
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let unacknowledged = complaint_at(&mut world, t0).await;
    world.mailbox.deliver(
        &complaint(
            &world.customer,
            &world.complaints,
            "second@example.test",
            "Fence",
            "The fence has been down for a month and I am not happy.",
        ),
        t0,
    );
    world.pass(t0).await;
    let acknowledged = world.app.store.list_cases(1).await.expect("list")[0]
        .reference
        .clone();
    let app = &world.app;
    let day1 = t0 + Duration::days(1);
    actions::acknowledge(app, &acknowledged, HANDLER, "Fence", "Repair", day1)
        .await
        .expect("acknowledged");
    // Code 6.9 b: without an acknowledgement there is no definition unless the handler gives one.
    let undefined = Response {
        definition: None,
        ..response(Some(Outcome::Upheld))
    };
    let refused = actions::respond(app, &unacknowledged, HANDLER, &undefined, day1).await;
    assert!(matches!(refused, Err(CaseError::Incomplete(_))));
    for reference in [&unacknowledged, &acknowledged] {
        actions::respond(
            app,
            reference,
            HANDLER,
            &response(Some(Outcome::Upheld)),
            day1,
        )
        .await
        .expect("answered");
    }
    let detail = app
        .store
        .case_detail(&unacknowledged)
        .await
        .expect("detail");
    let ack = detail
        .deadlines
        .iter()
        .find(|d| d.kind == "stage1_acknowledgement")
        .expect("deadline");
    assert_eq!(ack.status, "missed", "not met");

    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    let report = redress::report::build(app, day("2026-04-01"), day("2027-03-31"), day1)
        .await
        .expect("report");
    let rate = report.stage1.acknowledged_in_time;
    assert_eq!((rate.on_time, rate.total), (1, 2));
    let dashboard = redress::report::dashboard::build(app, day1)
        .await
        .expect("dashboard");
    let rate = dashboard.stage1_acknowledged;
    assert_eq!((rate.on_time, rate.total), (1, 2));
}

/// A review request before the stage 1 response joins stage 1 and the owner is told (stage 2
/// reviews a response; the landlord's Ombudsman findings include escalating one never issued).
#[tokio::test]
async fn a_review_request_before_the_stage_1_response_joins_stage_1_on_fakes() {
    let mut world = FakeWorld::new(
        "[routing]\ncomplaints_manager = \"cm@example.test\"\nmanager = \"head@example.test\"\n",
    )
    .await;
    let t0 = at("2026-11-23T10:00:00Z");
    let reference = complaint_at(&mut world, t0).await;
    let reply = reply(
        &world,
        &reference,
        "early",
        None,
        "I want to escalate this to stage 2 now.",
    );
    world
        .mailbox
        .deliver(reply.as_bytes(), t0 + Duration::hours(1));
    let report = world.pass(t0 + Duration::hours(1)).await;
    assert_eq!(report.pass.added_to_cases, 1);
    let case = world.app.store.case_by_reference(&reference).await;
    assert_eq!(
        case.expect("read").expect("case").stage,
        Some(Stage::Stage1)
    );
    let told = world.sender.to("cm@example.test");
    assert!(
        told.iter().any(|m| m.subject.contains("wrote again")),
        "the owner is told"
    );
    assert!(world.sender.to("head@example.test").is_empty());
    let early = actions::escalate(&world.app, &reference, HANDLER, "phoned", false, t0).await;
    assert!(matches!(early, Err(CaseError::NotYetAnswered(_))));
    actions::escalate(&world.app, &reference, HANDLER, "insists", true, t0)
        .await
        .expect("forced, with the reason");
    let detail = world
        .app
        .store
        .case_detail(&reference)
        .await
        .expect("detail");
    let forced = detail.events.iter().filter_map(|e| e.event()).any(|e| {
        matches!(e, Event::Escalated { detail, .. } if detail.forced && detail.reason.as_deref() == Some("insists"))
    });
    assert!(forced);
}

/// Code 6.13: stage 2 is answered by a different person from stage 1; without a stage 2
/// manager configured the case is flagged instead of staying with its stage 1 owner.
#[tokio::test]
async fn stage_2_is_answered_by_a_different_person_on_fakes() {
    let mut world = FakeWorld::new("[routing]\ncomplaints_manager = \"cm@example.test\"\n").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let reference = complaint_at(&mut world, t0).await;
    let app = &world.app;
    let answer = response(Some(Outcome::NotUpheld));
    actions::acknowledge(app, &reference, HANDLER, "u", "o", t0)
        .await
        .expect("acknowledged");
    actions::respond(app, &reference, HANDLER, &answer, t0)
        .await
        .expect("stage 1");
    actions::escalate(app, &reference, HANDLER, "phoned", false, t0)
        .await
        .expect("stage 2");
    let case = app.store.case_by_reference(&reference).await;
    let case = case.expect("read").expect("case");
    assert_eq!(case.owner.as_deref(), Some("cm@example.test"));
    assert!(
        case.attention_reason
            .as_deref()
            .is_some_and(|r| r.contains("6.13")),
        "{:?}",
        case.attention_reason
    );
    let same = actions::respond(app, &reference, "jo handler ", &answer, t0).await;
    assert!(matches!(same, Err(CaseError::SamePerson { .. })));
    actions::respond(app, &reference, "Head of Housing", &answer, t0)
        .await
        .expect("a different person");
}

/// Awaab's Law: a significant hazard's later clocks start from the recorded investigation, and
/// they outlive the complaint: answering and closing it leaves them running.
#[tokio::test]
async fn awaabs_law_clocks_follow_the_hazard_not_the_complaint_on_fakes() {
    use redress::case::hazard;
    use redress::case::model::{HazardStep, Triage};
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let body = "There is mould on the bedroom wall and nobody has come.";
    let (reference, _) = mail_at(&mut world, "mould@example.test", "Mould", body, t0).await;
    let app = &world.app;
    let open_kinds = |detail: &redress::store::CaseDetail| -> Vec<String> {
        detail
            .deadlines
            .iter()
            .filter(|d| d.status == "open" && d.kind.as_str().starts_with("awaab"))
            .map(|d| d.kind.to_string())
            .collect()
    };
    let detail = app.store.case_detail(&reference).await.expect("detail");
    assert_eq!(open_kinds(&detail), ["awaab_investigation"]);
    assert_eq!(detail.case.hazard.as_deref(), Some("possible_significant"));

    hazard::triage(
        app,
        &reference,
        HANDLER,
        Triage::Significant,
        "Black mould, bedroom",
        t0,
    )
    .await
    .expect("triaged");
    let concluded = at("2026-11-25T15:00:00Z");
    hazard::progress(
        app,
        &reference,
        HANDLER,
        HazardStep::Investigated,
        "Surveyed",
        concluded,
    )
    .await
    .expect("investigated");
    let detail = app.store.case_detail(&reference).await.expect("detail");
    let due = |kind: &str| {
        detail
            .deadlines
            .iter()
            .find(|d| d.kind == kind && d.status == "open")
            .map(|d| d.due_at)
    };
    assert_eq!(
        due("awaab_written_summary"),
        Some(at("2026-11-30T17:00:00Z"))
    );
    assert_eq!(due("awaab_safety_work"), Some(at("2026-12-02T17:00:00Z")));

    actions::close(app, &reference, HANDLER, "Resolved", concluded)
        .await
        .expect("closed");
    let detail = app.store.case_detail(&reference).await.expect("detail");
    assert_eq!(
        open_kinds(&detail),
        ["awaab_written_summary", "awaab_safety_work"],
        "closing the complaint leaves the hazard's clocks running"
    );
    let reminded = app
        .store
        .open_deadlines_due_by(at("2026-12-31T00:00:00Z"))
        .await
        .expect("due");
    assert_eq!(reminded.len(), 2, "and still reminded");
    for step in [HazardStep::SummarySent, HazardStep::WorksStarted] {
        hazard::progress(app, &reference, HANDLER, step, "", concluded)
            .await
            .expect("recorded");
    }
    let detail = app.store.case_detail(&reference).await.expect("detail");
    assert!(open_kinds(&detail).is_empty());
}

/// A later mail reporting an emergency hazard on a case gets the 24-hour clock and a person.
#[tokio::test]
async fn a_hazard_in_a_later_mail_gets_its_clock_on_fakes() {
    use redress::case::hazard;
    use redress::case::model::Triage;
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let reference = complaint_at(&mut world, t0).await;
    let t1 = t0 + Duration::hours(3);
    let reply = reply(
        &world,
        &reference,
        "gas",
        None,
        "There is now a strong smell of gas in the kitchen.",
    );
    world.mailbox.deliver(reply.as_bytes(), t1);
    world.pass(t1).await;
    let app = &world.app;
    let detail = app.store.case_detail(&reference).await.expect("detail");
    assert_eq!(detail.case.hazard.as_deref(), Some("possible_emergency"));
    assert!(detail.case.needs_attention);
    let make_safe = detail
        .deadlines
        .iter()
        .find(|d| d.kind == "awaab_emergency_make_safe")
        .expect("24-hour clock");
    assert_eq!(
        make_safe.due_at,
        t1 + Duration::hours(24),
        "hours from the report"
    );

    hazard::triage(
        app,
        &reference,
        HANDLER,
        Triage::NotAHazard,
        "A neighbour's cooker",
        t1,
    )
    .await
    .expect("triaged");
    let detail = app.store.case_detail(&reference).await.expect("detail");
    assert!(
        detail
            .deadlines
            .iter()
            .all(|d| !d.kind.as_str().starts_with("awaab") || d.status != "open")
    );
    assert_eq!(detail.case.hazard.as_deref(), Some("none"));
}

/// Code 1.2–1.6: a service request becomes a complaint when the resident expresses
/// dissatisfaction on it; stage 1 starts from that mail, with its own receipt.
#[tokio::test]
async fn a_service_request_becomes_a_complaint_when_the_resident_is_unhappy_on_fakes() {
    use redress::case::model::CaseKind;
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let raw = complaint(
        &world.customer,
        &world.complaints,
        "bin@example.test",
        "Recycling bin",
        "Please could you arrange a new recycling bin for my flat.",
    );
    world.mailbox.deliver(&raw, t0);
    world.pass(t0).await;
    let case = &world.app.store.list_cases(1).await.expect("list")[0];
    assert_eq!(case.kind, CaseKind::ServiceRequest);
    let reference = case.reference.clone();
    let t1 = at("2026-11-30T10:00:00Z");
    let reply = reply(
        &world,
        &reference,
        "unhappy",
        None,
        "A week later and nobody came. I am very unhappy.",
    );
    world.mailbox.deliver(reply.as_bytes(), t1);
    world.pass(t1).await;
    let detail = world
        .app
        .store
        .case_detail(&reference)
        .await
        .expect("detail");
    assert_eq!(detail.case.kind, CaseKind::Complaint);
    assert_eq!(detail.case.stage, Some(Stage::Stage1));
    let ack = detail
        .deadlines
        .iter()
        .find(|d| d.kind == "stage1_acknowledgement")
        .expect("stage 1 deadlines");
    assert_eq!(
        ack.due_at,
        at("2026-12-07T17:00:00Z"),
        "from the mail that made it one"
    );
    let letters = world.sender.to(&world.customer);
    assert!(
        letters
            .iter()
            .any(|m| m.subject.contains("received your complaint"))
    );
}

/// Code section 2: a matter more than 12 months before the complaint is flagged for a decision.
#[tokio::test]
async fn an_old_matter_is_flagged_for_a_decision_on_fakes() {
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let reference = complaint_at(&mut world, t0).await;
    let app = &world.app;
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
    actions::matter_date(app, &reference, HANDLER, day("2025-12-01"), t0)
        .await
        .expect("dated");
    let case = app.store.case_by_reference(&reference).await;
    assert!(
        !case.expect("read").expect("case").needs_attention,
        "within 12 months"
    );
    actions::matter_date(app, &reference, HANDLER, day("2025-11-01"), t0)
        .await
        .expect("dated");
    let case = app.store.case_by_reference(&reference).await;
    let case = case.expect("read").expect("case");
    assert!(
        case.attention_reason
            .as_deref()
            .is_some_and(|r| r.contains("more than 12 months")),
        "{:?}",
        case.attention_reason
    );
}

/// Keeping residents informed: an overdue response gets the resident an update (once), and a
/// promised action marked done gets them a letter saying so.
#[tokio::test]
async fn residents_are_told_when_a_response_is_late_and_an_action_done_on_fakes() {
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let reference = complaint_at(&mut world, t0).await;
    // The provisional stage 1 response is due 14 December; two overdue mornings pass.
    world.pass(at("2026-12-15T09:00:00Z")).await;
    world.pass(at("2026-12-16T09:00:00Z")).await;
    let late: Vec<_> = world
        .sender
        .to(&world.customer)
        .into_iter()
        .filter(|m| m.subject.contains("our response is late"))
        .collect();
    assert_eq!(late.len(), 1, "told once");
    assert!(late[0].text_body.contains("Monday 14 December 2026"));

    let app = &world.app;
    let mut answer = response(Some(Outcome::Upheld));
    answer.actions = vec![
        redress::case::model::OutstandingAction::parse("Replace the boiler|Repairs|2027-01-08")
            .expect("action"),
    ];
    answer.no_outstanding_actions = false;
    let day = at("2026-12-16T10:00:00Z");
    actions::respond(app, &reference, HANDLER, &answer, day)
        .await
        .expect("answered");
    let detail = app.store.case_detail(&reference).await.expect("detail");
    let action = detail
        .deadlines
        .iter()
        .find(|d| d.kind == "outstanding_action")
        .expect("tracked")
        .id;
    actions::action_done(app, &reference, HANDLER, action, day)
        .await
        .expect("done");
    world.pass(day).await;
    let done = world.sender.to(&world.customer).pop().expect("a letter");
    assert!(
        done.subject.contains("an action we promised is done"),
        "{}",
        done.subject
    );
    assert!(done.text_body.contains("Replace the boiler"));
}

/// Reasonable adjustments and a representative's authority are on every notice and reminder.
#[tokio::test]
async fn adjustments_and_authority_are_on_every_notice_and_reminder_on_fakes() {
    let mut world = FakeWorld::new("[routing]\ncomplaints_manager = \"cm@example.test\"\n").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let reference = complaint_at(&mut world, t0).await;
    let app = &world.app;
    actions::adjust(
        app,
        &reference,
        HANDLER,
        "Large print; call before visiting",
        t0,
    )
    .await
    .expect("adjustments");
    actions::authority(app, &reference, HANDLER, "Signed consent form, 20 Nov", t0)
        .await
        .expect("authority");
    actions::assign(app, &reference, HANDLER, "colleague@example.test", t0)
        .await
        .expect("assigned");
    world.pass(at("2026-11-26T09:00:00Z")).await;
    let notice = world.sender.to("colleague@example.test");
    let reminder = notice
        .iter()
        .find(|m| m.subject.contains("Reminder"))
        .expect("a reminder before the acknowledgement is due");
    for mail in [&notice[0], reminder] {
        assert!(
            mail.text_body.contains("Large print; call before visiting"),
            "{}",
            mail.text_body
        );
        assert!(
            mail.text_body.contains("Signed consent form"),
            "{}",
            mail.text_body
        );
    }
}

/// Code 3.2: a resident without e-mail gets the same letters, printed and posted: queued for
/// posting (never sent by SMTP), the owner told to post them, and recorded once posted.
#[tokio::test]
async fn a_resident_without_email_gets_letters_to_post_on_fakes() {
    use redress::case::by_hand::{self, TakenComplaint};
    use redress::case::model::Channel;
    use redress::deliver::post;
    let mut world = FakeWorld::new("[routing]\ncomplaints_manager = \"cm@example.test\"\n").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let taken = TakenComplaint {
        channel: Channel::Letter,
        name: "Ada Resident".into(),
        email: None,
        postal_address: Some("Flat 2, 10 High Street\nTown AB1 2CD".into()),
        subject: "Broken window".into(),
        text: "The window has been broken for a month and nobody has come.".into(),
        received_at: t0,
        service_area: None,
        happened_on: None,
    };
    let opened = by_hand::open(&world.app, "Pat", &taken, t0)
        .await
        .expect("opened");
    assert!(opened.letter_queued);
    let report = world.pass(t0).await;
    assert!(
        world
            .sender
            .sent()
            .iter()
            .all(|s| s.to != "Flat 2, 10 High Street\nTown AB1 2CD"),
        "a posted letter never goes by SMTP"
    );
    assert!(report.letters_sent >= 1, "the owner's notices go");
    let told = world.sender.to("cm@example.test");
    assert!(told.iter().any(|m| m.subject.contains("A letter to post")));
    let app = &world.app;
    let waiting = post::waiting(app).await.expect("waiting");
    assert_eq!(waiting.len(), 1);
    let page = post::printable(&waiting[0], "Example Homes");
    assert!(page.contains("Flat 2, 10 High Street") && page.contains(&opened.reference));
    post::posted(app, waiting[0].letter.id, "Pat", t0)
        .await
        .expect("posted");
    assert!(post::waiting(app).await.expect("waiting").is_empty());
    assert!(
        post::posted(app, waiting[0].letter.id, "Pat", t0)
            .await
            .is_err()
    );
    let detail = app
        .store
        .case_detail(&opened.reference)
        .await
        .expect("detail");
    assert!(detail.events.iter().any(|e| e.kind == "letter_posted"));
    // A handler's later letters go by post too.
    actions::acknowledge(app, &opened.reference, "Pat", "The window", "A repair", t0)
        .await
        .expect("acknowledged by post");
    assert_eq!(post::waiting(app).await.expect("waiting").len(), 1);
}

/// Issue 14: a mail whose decoded subject, display name and attachment name hold U+0000 is
/// recorded on PostgreSQL (which refuses NUL in text) with its raw bytes as they came.
#[tokio::test]
async fn a_mail_with_a_nul_is_recorded_on_postgresql() {
    let mut world = FakeWorld::on(Some(postgres_database().await), "").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let raw = format!(
        "From: =?utf-8?q?Jane=00_Doe?= <{customer}>\r\nTo: <{complaints}>\r\nSubject: =?utf-8?q?Broken_boiler=00?=\r\nMessage-ID: <nul-{customer}>\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe boiler is broken and I am unhappy.\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"=?utf-8?q?wall=00.png?=\"\r\n\r\nPNG\r\n--b--\r\n",
        customer = world.customer,
        complaints = world.complaints,
    );
    world.mailbox.deliver(raw.as_bytes(), t0);
    let report = world.pass(t0).await;
    assert_eq!((report.pass.new_cases, report.pass.failed), (1, 0));
    assert_eq!(world.mailbox.waiting(), 0, "not left to be fetched again");
    let case = &world.app.store.list_cases(1).await.expect("list")[0];
    assert_eq!(case.subject, "Broken boiler");
    let detail = world
        .app
        .store
        .case_detail(&case.reference)
        .await
        .expect("detail");
    let kept = world
        .app
        .store
        .raw_message(detail.messages[0].id)
        .await
        .expect("read")
        .expect("raw");
    assert_eq!(kept, raw.as_bytes(), "the raw bytes as they came");
}

/// Issue 14: a mail that cannot be recorded is tried again, and after three passes moved to the
/// quarantine folder and the complaints manager told: never fetched forever.
#[tokio::test]
async fn a_mail_that_cannot_be_recorded_is_quarantined_after_three_passes_on_fakes() {
    use sqlx::Connection;
    let mut world = FakeWorld::new("[routing]\ncomplaints_manager = \"cm@example.test\"\n").await;
    let url = format!("sqlite://{}", world.dir.path().join("redress.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.expect("db");
    sqlx::query("CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.subject = 'Poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
        .execute(&mut conn)
        .await
        .expect("trigger");
    let t0 = at("2026-11-23T10:00:00Z");
    let raw = complaint(
        &world.customer,
        &world.complaints,
        "poison@example.test",
        "Poison",
        "x",
    );
    world.mailbox.deliver(&raw, t0);
    for pass in 1..=3 {
        let report = redress::daemon::run_once_on(
            &world.app,
            &mut world.mailbox,
            &world.sender,
            &redress::clock::Clock::starting_at(t0 + Duration::minutes(pass)),
        )
        .await
        .expect("pass");
        assert_eq!(report.pass.failed, 1);
        assert_eq!(
            report.pass.quarantined,
            usize::from(pass == 3),
            "pass {pass}"
        );
    }
    assert_eq!(world.mailbox.waiting(), 0, "not fetched forever");
    assert_eq!(world.mailbox.quarantined.len(), 1);
    let told = world.sender.to("cm@example.test");
    assert!(
        told.iter()
            .any(|m| m.subject.contains("could not be recorded"))
    );
}

/// Issue 14: the same mail delivered again with one more Received line (an alias, an upstream
/// retry) is a duplicate, not a second case.
#[tokio::test]
async fn a_redelivery_with_another_received_line_is_one_case_on_fakes() {
    let mut world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let raw = complaint(
        &world.customer,
        &world.complaints,
        "redelivered@example.test",
        "Leak",
        "Water is coming through the ceiling.",
    );
    let mut again = b"Received: from relay.example.net by mx.example.org; Mon, 23 Nov 2026 10:05:00 +0000\r\nDelivered-To: alias@example.org\r\n".to_vec();
    again.extend_from_slice(&raw);
    world.mailbox.deliver(&raw, t0);
    world.mailbox.deliver(&again, t0);
    let report = world.pass(t0).await;
    assert_eq!((report.pass.new_cases, report.pass.duplicates), (1, 1));
    assert_eq!(world.sender.to(&world.customer).len(), 1, "one receipt");
}

/// Issue 14: after an SMTP outage, the first letter the server accepts releases every letter
/// waiting out its backoff: they go in the same pass, not up to an hour later.
#[tokio::test]
async fn after_an_outage_waiting_letters_go_at_once_on_fakes() {
    use redress::deliver::outbox::{EmailSender, SendError, drain};
    use std::sync::atomic::{AtomicBool, Ordering};
    struct Flaky {
        down: AtomicBool,
        sent: std::sync::Mutex<Vec<String>>,
    }
    impl EmailSender for Flaky {
        async fn send(&self, _from: &str, to: &str, _raw: &[u8]) -> Result<(), SendError> {
            if self.down.load(Ordering::SeqCst) {
                return Err(SendError::Transient("421 try again later".into()));
            }
            self.sent.lock().expect("lock").push(to.to_string());
            Ok(())
        }
    }
    let world = FakeWorld::new("").await;
    let app = &world.app;
    let flaky = Flaky {
        down: AtomicBool::new(true),
        sent: std::sync::Mutex::new(Vec::new()),
    };
    let t0 = at("2026-11-23T10:00:00Z");
    for n in 0..3 {
        let raw = complaint(
            &format!("c{n}@example.test"),
            &world.complaints,
            &format!("outage-{n}@example.test"),
            "Outage",
            "Nobody came.",
        );
        redress::intake::ingest(app, &raw, None, t0)
            .await
            .expect("recorded");
    }
    // Three failed attempts each: the next tries are minutes away.
    for minutes in [0, 2, 5] {
        let clock = redress::clock::Clock::starting_at(t0 + Duration::minutes(minutes));
        assert_eq!(drain(app, &flaky, &clock).await.expect("drain"), 0);
    }
    let during = redress::report::dashboard::build(app, t0 + Duration::minutes(5))
        .await
        .expect("status");
    assert_eq!(during.letters_waiting, 3);
    assert_eq!(during.oldest_waiting_since, Some(t0));
    flaky.down.store(false, Ordering::SeqCst);
    // A new letter goes at once, and takes the waiting ones with it.
    let raw = complaint(
        "new@example.test",
        &world.complaints,
        "outage-new@example.test",
        "New",
        "Nobody came.",
    );
    let t1 = t0 + Duration::minutes(6);
    redress::intake::ingest(app, &raw, None, t1)
        .await
        .expect("recorded");
    let clock = redress::clock::Clock::starting_at(t1);
    assert_eq!(
        drain(app, &flaky, &clock).await.expect("drain"),
        4,
        "all four in one pass"
    );
    let (waiting, failed, _) = app.store.outbox_health().await.expect("health");
    assert_eq!((waiting, failed), (0, 0));
    let status = redress::report::dashboard::build(app, t1)
        .await
        .expect("status");
    assert_eq!(status.letters_waiting, 0);
    let text = redress::report::dashboard::render(app, &status);
    assert!(text.contains("Letters: 0 waiting; 0 given up"), "{text}");
}

/// Issue 15: SIGTERM while the server is taking a letter: the send finishes and is recorded, so
/// the letter is never sent again after a restart.
#[tokio::test(flavor = "multi_thread")]
async fn a_shutdown_during_a_send_never_sends_a_letter_twice_on_fakes() {
    use redress::deliver::outbox::{EmailSender, SendError, drain};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    /// A server that takes the message at once and answers two seconds later.
    struct SlowServer {
        taken: AtomicUsize,
        in_flight: tokio::sync::Notify,
    }
    impl EmailSender for SlowServer {
        async fn send(&self, _from: &str, _to: &str, _raw: &[u8]) -> Result<(), SendError> {
            self.taken.fetch_add(1, Ordering::SeqCst);
            self.in_flight.notify_one();
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            Ok(())
        }
    }
    let world = FakeWorld::new("").await;
    let t0 = at("2026-11-23T10:00:00Z");
    let raw = complaint(
        &world.customer,
        &world.complaints,
        "slow@example.test",
        "Slow",
        "Nobody came.",
    );
    redress::intake::ingest(&world.app, &raw, None, t0)
        .await
        .expect("recorded");
    let app = Arc::new(world.app);
    let server = Arc::new(SlowServer {
        taken: AtomicUsize::new(0),
        in_flight: tokio::sync::Notify::new(),
    });
    let (shutdown, _) = tokio::sync::broadcast::channel(1);
    let daemon = tokio::spawn(redress::daemon::run(
        app.clone(),
        server.clone(),
        redress::clock::Clock::starting_at(t0),
        shutdown.clone(),
    ));
    server.in_flight.notified().await;
    shutdown.send(()).expect("SIGTERM");
    tokio::time::timeout(std::time::Duration::from_secs(10), daemon)
        .await
        .expect("stops once the send finished")
        .expect("task")
        .expect("clean");
    assert_eq!(app.store.count_letters("sent").await.expect("count"), 1);
    let restart = redress::clock::Clock::starting_at(t0 + Duration::minutes(30));
    assert_eq!(
        drain(&app, server.as_ref(), &restart).await.expect("drain"),
        0
    );
    assert_eq!(server.taken.load(Ordering::SeqCst), 1, "sent once");
}
