//! Reminders on the real mail stack with the `--now` clock, each `run --once` a separate process
//! (a restart): before the deadline (skipping the Christmas bank holiday weekend), on the due day,
//! and overdue to owner and manager, each exactly once; an extension moves them; a response stops them.

use crate::support::*;
use redress::intake::mail::parse;

struct World {
    env: TestEnv,
    owner: String,
    manager: String,
    reference: String,
}

/// A complaint received Monday 16 November 2026 (acknowledgement due 23 November) and acknowledged
/// late on Monday 14 December 2026: its response is due Wednesday 30 December.
async fn acknowledged_complaint() -> World {
    let owner = unique_address("complaints-manager");
    let manager = unique_address("head-of-service");
    let env = TestEnv::with(
        Db::Sqlite,
        &format!("[routing]\ncomplaints_manager = \"{owner}\"\nmanager = \"{manager}\"\n"),
    );
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("rem-{}", env.customer),
            "Garden fence",
            "The fence repair was never finished.",
        ),
        // A fixed past receipt (Dovecot refuses future ones), so the test reads the same on any date.
        Some(at("2026-11-16T10:00:00Z")),
    )
    .await;
    ok(&env.redress(&["--now", "2026-11-16T10:05:00Z", "run", "--once"]));
    let reference = env.newest_reference();
    let out = ok(&env.redress(&[
        "--now",
        "2026-12-14T10:00:00Z",
        "case",
        "acknowledge",
        &reference,
        "--understanding",
        "The fence repair was left unfinished.",
        "--outcome",
        "The fence finished.",
    ]));
    assert!(out.contains("2026-12-30 17:00"), "{out}");
    World {
        env,
        owner,
        manager,
        reference,
    }
}

/// Subjects of the reminders (not notices or digests) in an inbox.
async fn reminders_for(env: &TestEnv, user: &str) -> Vec<String> {
    env.mails_in(user, "INBOX")
        .await
        .iter()
        .map(|m| parse(&m.raw).subject)
        .filter(|s| {
            s.starts_with("[redress] Reminder")
                || s.starts_with("[redress] Due today")
                || s.starts_with("[redress] OVERDUE")
        })
        .collect()
}

fn pass_at(world: &World, now: &str) -> serde_json::Value {
    serde_json::from_str(ok(&world.env.redress(&["--now", now, "run", "--once"])).trim())
        .expect("json summary")
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_come_once_each_before_on_and_after_the_deadline() {
    let world = acknowledged_complaint().await;
    let env = &world.env;

    assert_eq!(
        pass_at(&world, "2026-12-23T12:00:00Z")["reminders"]["reminders"],
        0,
        "too early"
    );
    // Two working days before Wednesday 30 December, skipping 25–28 December, is Thursday 24 December.
    assert_eq!(
        pass_at(&world, "2026-12-24T09:00:00Z")["reminders"]["reminders"],
        1
    );
    assert_eq!(
        pass_at(&world, "2026-12-24T10:00:00Z")["reminders"]["reminders"],
        0,
        "a restart sends nothing twice"
    );
    assert_eq!(
        pass_at(&world, "2026-12-29T09:00:00Z")["reminders"]["reminders"],
        0
    );
    assert_eq!(
        pass_at(&world, "2026-12-30T09:00:00Z")["reminders"]["reminders"],
        1,
        "due-day reminder"
    );
    assert_eq!(
        pass_at(&world, "2026-12-30T18:00:00Z")["reminders"]["reminders"],
        1,
        "overdue alert"
    );
    assert_eq!(
        pass_at(&world, "2026-12-30T19:00:00Z")["reminders"]["reminders"],
        0
    );

    env.wait_for_mails(&world.manager, "INBOX", 1).await;
    let owner = reminders_for(env, &world.owner).await;
    assert_eq!(owner.len(), 3, "{owner:?}");
    assert_eq!(
        owner
            .iter()
            .filter(|s| s.starts_with("[redress] Reminder"))
            .count(),
        1,
        "{owner:?}"
    );
    assert_eq!(
        owner
            .iter()
            .filter(|s| s.starts_with("[redress] Due today"))
            .count(),
        1,
        "{owner:?}"
    );
    assert_eq!(
        owner
            .iter()
            .filter(|s| s.starts_with("[redress] OVERDUE"))
            .count(),
        1,
        "{owner:?}"
    );
    assert!(owner.iter().all(|s| s.contains(&world.reference)));
    let manager = reminders_for(env, &world.manager).await;
    assert_eq!(
        manager,
        vec![format!(
            "[redress] OVERDUE: stage 1 response due 2026-12-30 17:00 - {}",
            world.reference
        )]
    );

    let mails = env.mails_in(&world.owner, "INBOX").await;
    let before = mails
        .iter()
        .map(|m| parse(&m.raw))
        .find(|m| m.subject.starts_with("[redress] Reminder"))
        .expect("reminder");
    assert!(
        before.text_body.contains("2026-12-30 17:00"),
        "{}",
        before.text_body
    );
    assert!(
        before.text_body.contains("Jane Tenant"),
        "names the customer"
    );
    assert!(
        !before.text_body.contains(&env.customer),
        "never the customer's address"
    );
    assert!(
        before
            .text_body
            .contains(&format!("redress case respond {}", world.reference))
    );
    assert!(
        mails
            .iter()
            .any(|m| parse(&m.raw).subject.contains("Your open cases")),
        "the owner's daily digest"
    );

    // Overdue alerts repeat on the next working day, not at the New Year bank holiday.
    assert_eq!(
        pass_at(&world, "2026-12-31T09:00:00Z")["reminders"]["reminders"],
        1
    );
    assert_eq!(
        pass_at(&world, "2027-01-01T09:00:00Z")["reminders"]["reminders"],
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extension_moves_the_reminders_and_a_response_stops_them() {
    let world = acknowledged_complaint().await;
    let env = &world.env;
    // Five more working days: 31 December, 4, 5, 6 and 7 January.
    let out = ok(&env.redress(&[
        "--now",
        "2026-12-15T10:00:00Z",
        "case",
        "extend",
        &world.reference,
        "--days",
        "5",
        "--reason",
        "Waiting for the fencing contractor.",
    ]));
    assert!(out.contains("2027-01-07 17:00"), "{out}");
    assert_eq!(
        pass_at(&world, "2026-12-24T09:00:00Z")["reminders"]["reminders"],
        0,
        "the old date no longer reminds"
    );
    assert_eq!(
        pass_at(&world, "2026-12-30T18:00:00Z")["reminders"]["reminders"],
        0,
        "nor is it overdue"
    );
    assert_eq!(
        pass_at(&world, "2027-01-05T09:00:00Z")["reminders"]["reminders"],
        1,
        "two working days before 7 January"
    );
    ok(&env.redress(&[
        "--now",
        "2027-01-05T11:00:00Z",
        "case",
        "respond",
        &world.reference,
        "--outcome",
        "upheld",
        "--reasons",
        "The fence was left unfinished.",
        "--remedy",
        "Finished and an apology.",
        "--no-outstanding-actions",
    ]));
    assert_eq!(
        pass_at(&world, "2027-01-07T09:00:00Z")["reminders"]["reminders"],
        0,
        "answered: no due-day reminder"
    );
    assert_eq!(
        pass_at(&world, "2027-01-08T09:00:00Z")["reminders"]["reminders"],
        0,
        "nor overdue"
    );
    let owner = reminders_for(env, &world.owner).await;
    assert_eq!(owner.len(), 1, "{owner:?}");
    assert!(reminders_for(env, &world.manager).await.is_empty());
}

/// Outstanding actions promised in a response are tracked like deadlines (even once a stage 2
/// response closed the case) until a handler marks them done.
#[tokio::test(flavor = "multi_thread")]
async fn outstanding_actions_are_reminded_until_done() {
    let world = acknowledged_complaint().await;
    let env = &world.env;
    ok(&env.redress(&[
        "--now",
        "2026-12-15T09:00:00Z",
        "case",
        "respond",
        &world.reference,
        "--outcome",
        "not-upheld",
        "--reasons",
        "r",
        "--remedy",
        "none",
        "--no-outstanding-actions",
    ]));
    ok(&env.redress(&[
        "--now",
        "2026-12-15T09:30:00Z",
        "case",
        "escalate",
        &world.reference,
        "--reason",
        "Phoned: unhappy.",
    ]));
    ok(&env.redress(&[
        "--now",
        "2026-12-15T10:00:00Z",
        "case",
        "respond",
        &world.reference,
        "--outcome",
        "upheld",
        "--reasons",
        "The fence was left unfinished.",
        "--remedy",
        "We will finish it.",
        "--action",
        "Finish the fence|Grounds team|2027-01-08",
        "--by",
        "Head of Housing",
    ]));
    let detail: serde_json::Value = serde_json::from_str(&ok(&env.redress(&[
        "cases",
        "show",
        &world.reference,
        "--json",
    ])))
    .expect("json");
    assert_eq!(
        detail["status"], "closed",
        "the stage 2 response ends the procedure"
    );
    // Two working days before Friday 8 January is Wednesday 6 January.
    assert_eq!(
        pass_at(&world, "2027-01-05T09:00:00Z")["reminders"]["reminders"],
        0
    );
    assert_eq!(
        pass_at(&world, "2027-01-06T09:00:00Z")["reminders"]["reminders"],
        1
    );
    // The stage 2 owner (the manager) is reminded.
    env.wait_for_subject(&world.manager, "INBOX", "an action promised in a response")
        .await;
    let detail: serde_json::Value = serde_json::from_str(&ok(&env.redress(&[
        "cases",
        "show",
        &world.reference,
        "--json",
    ])))
    .expect("json");
    let action = detail["deadlines"]
        .as_array()
        .expect("deadlines")
        .iter()
        .find(|d| d["kind"] == "outstanding_action")
        .expect("action");
    let id = action["id"].as_i64().expect("id").to_string();
    let missing = env.redress(&["case", "action-done", &world.reference, "999999"]);
    assert!(!missing.status.success());
    ok(&env.redress(&[
        "--now",
        "2027-01-07T10:00:00Z",
        "case",
        "action-done",
        &world.reference,
        &id,
    ]));
    assert_eq!(
        pass_at(&world, "2027-01-08T09:00:00Z")["reminders"]["reminders"],
        0,
        "done: no due-day reminder"
    );
    assert_eq!(
        pass_at(&world, "2027-01-11T09:00:00Z")["reminders"]["reminders"],
        0,
        "nor overdue"
    );
}

/// The managers' dashboard: open cases by owner, due this week, overdue, on-time rates.
#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_shows_what_is_due_and_how_late_we_are() {
    let world = acknowledged_complaint().await;
    let env = &world.env;
    let status = |now: &str| -> serde_json::Value {
        serde_json::from_str(&ok(&env.redress(&["--now", now, "status", "--json"]))).expect("json")
    };
    let monday = status("2026-12-28T10:00:00Z");
    assert_eq!(
        monday["open"][0],
        serde_json::json!(["stage1", world.owner, 1])
    );
    assert_eq!(monday["due_this_week"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        monday["due_this_week"][0]["reference"],
        world.reference.as_str()
    );
    assert_eq!(monday["overdue"].as_array().map(Vec::len), Some(0));
    // Acknowledged on 14 December, after its 30 November deadline: late.
    assert_eq!(
        monday["stage1_acknowledged"],
        serde_json::json!({ "on_time": 0, "total": 1 })
    );
    let thursday = status("2026-12-31T10:00:00Z");
    assert_eq!(thursday["overdue"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        thursday["stage1_responded"],
        serde_json::json!({ "on_time": 0, "total": 1 }),
        "an overdue response counts as late"
    );
    let text = ok(&env.redress(&["--now", "2026-12-31T10:00:00Z", "status"]));
    assert!(
        text.contains("Overdue (1)") && text.contains(&world.reference),
        "{text}"
    );
    assert!(text.contains("stage 1 acknowledged   0/1 (0%)"), "{text}");
}
