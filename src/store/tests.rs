//! The store on both databases: every case here runs on SQLite and on PostgreSQL (the server at
//! `REDRESS_TEST_POSTGRES`, default `postgres://postgres@127.0.0.1:5432/postgres`, a fresh
//! database per test), so every query the store owns is exercised on both.

use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Duration, Utc};
use sqlx::Connection;

use super::*;
use crate::case::deadlines::{Deadline, DeadlineKind};
use crate::case::model::{CaseKind, CaseStatus, Event, Outcome, Stage};
use crate::store::deadlines::DeadlineEnd;

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("instant")
        .with_timezone(&Utc)
}

/// A fresh, migrated SQLite store in `dir`.
async fn sqlite(dir: &Path) -> Store {
    let store = Store::connect(&format!(
        "sqlite://{}",
        dir.join("sub/redress.db").display()
    ))
    .await
    .expect("connect");
    store.migrate().await.expect("migrate");
    store
}

/// A fresh, empty PostgreSQL database on the test server.
async fn postgres_unmigrated() -> Store {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let admin = std::env::var("REDRESS_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| {
            panic!("PostgreSQL tests need a server at {admin} (set REDRESS_TEST_POSTGRES): {e}")
        });
    let name = format!(
        "redress_unit_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .expect("drop");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let url = match admin.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("REDRESS_TEST_POSTGRES must end in /DATABASE"),
    };
    Store::connect(&url).await.expect("connect")
}

/// A fresh, migrated PostgreSQL database on the test server.
async fn postgres() -> Store {
    let store = postgres_unmigrated().await;
    store.migrate().await.expect("migrate");
    store
}

/// Runs `$body(store)` as two tests, `sqlite` and `postgresql`, in a module named `$name`.
macro_rules! on_both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                let dir = tempfile::tempdir().expect("dir");
                super::$body(super::sqlite(dir.path()).await).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgresql() {
                super::$body(super::postgres().await).await;
            }
        }
    };
}

fn complaint(subject: &str) -> NewCase {
    NewCase {
        kind: CaseKind::Complaint,
        stage: Some(Stage::Stage1),
        customer_address: Some("a@example.test".into()),
        customer_name: Some("A Tenant".into()),
        subject: subject.into(),
        received_at: at("2026-11-23T10:00:00Z"),
        attention_reason: None,
        service_area: Some("Repairs".into()),
        owner: Some("repairs@example.test".into()),
        themes: vec!["outstanding repairs".into()],
        hazard: None,
        representative: false,
        postal_address: None,
    }
}

/// Opens a complaint and returns its id and reference.
async fn open(store: &Store, subject: &str) -> (i64, String) {
    let now = at("2026-11-23T10:00:00Z");
    let mut tx = store.begin().await.expect("tx");
    let reference = tx.next_reference("CMP", 2026).await.expect("ref");
    let id = tx
        .insert_case(&reference, &complaint(subject), now)
        .await
        .expect("case");
    tx.commit().await.expect("commit");
    (id, reference)
}

fn letter(key: &str, case_id: Option<i64>) -> NewLetter {
    NewLetter {
        by_post: false,
        case_id,
        kind: "receipt".into(),
        dedupe_key: key.into(),
        message_id: format!("redress.{key}@example.test"),
        to_address: "a@example.test".into(),
        subject: "s".into(),
        body: "b".into(),
        html: None,
        in_reply_to: None,
        references: None,
    }
}

#[tokio::test]
async fn a_new_sqlite_file_is_private_and_in_wal_mode() {
    let dir = tempfile::tempdir().expect("dir");
    let store = sqlite(dir.path()).await;
    let mode = std::fs::metadata(dir.path().join("sub/redress.db"))
        .expect("file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert_eq!(
        store.journal_mode().await.expect("pragma").as_deref(),
        Some("wal")
    );
}

async fn events_are_append_only(store: Store) {
    let (id, _) = open(&store, "x").await;
    let mut tx = store.begin().await.expect("tx");
    let event = Event::Note { text: "n".into() };
    tx.insert_event(id, at("2026-11-23T10:00:00Z"), "redress", &event)
        .await
        .expect("event");
    tx.commit().await.expect("commit");
    for forgery in ["UPDATE events SET kind = 'forged'", "DELETE FROM events"] {
        assert!(
            sqlx::query(forgery).execute(&store.pool).await.is_err(),
            "{forgery} refused"
        );
    }
}
on_both!(events_are_append_only_on, events_are_append_only);

async fn references_are_sequential_per_year(store: Store) {
    let mut got = Vec::new();
    for year in [2026, 2026, 2027, 2026] {
        let mut tx = store.begin().await.expect("tx");
        got.push(tx.next_reference("CMP", year).await.expect("ref"));
        tx.commit().await.expect("commit");
    }
    assert_eq!(
        got,
        [
            "CMP-2026-000001",
            "CMP-2026-000002",
            "CMP-2027-000001",
            "CMP-2026-000003"
        ]
    );
}
on_both!(
    references_are_sequential,
    references_are_sequential_per_year
);

/// Many workers claiming at once never get the same letter, and a letter is queued once per key.
async fn claims_are_exclusive(store: Store) {
    let now = at("2026-11-23T10:00:00Z");
    let mut tx = store.begin().await.expect("tx");
    for i in 0..50 {
        let first = letter(&format!("k{i}"), None);
        assert!(tx.queue_letter(&first, now).await.expect("queue"));
        let again = NewLetter {
            message_id: format!("redress.other{i}@example.test"),
            ..first
        };
        assert!(
            !tx.queue_letter(&again, now).await.expect("queue"),
            "same key queued twice"
        );
    }
    tx.commit().await.expect("commit");
    let mut workers = Vec::new();
    for _ in 0..6 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            while let Some(letter) = store
                .claim_letter(now, now + Duration::minutes(10))
                .await
                .expect("claim")
            {
                mine.push(letter.id);
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.expect("worker"));
    }
    all.sort_unstable();
    let before = all.len();
    all.dedup();
    assert_eq!(before, 50, "every letter claimed once");
    assert_eq!(all.len(), 50, "no letter claimed twice");
    // A claim that expired (a crashed sender) can be taken again later.
    let later = now + Duration::minutes(11);
    assert!(
        store
            .claim_letter(later, later + Duration::minutes(10))
            .await
            .expect("claim")
            .is_some()
    );
}
on_both!(claims_are_exclusive_on, claims_are_exclusive);

/// A case reads back whole: typed row, deadlines, events, messages with attachments, letters.
async fn a_case_reads_back_whole(store: Store) {
    let now = at("2026-11-23T10:00:00Z");
    let (id, reference) = open(&store, "Broken boiler").await;
    let mut tx = store.begin().await.expect("tx");
    let raw = b"Message-ID: <m1@example.test>\r\nSubject: Broken boiler\r\n\r\nHelp.\r\n";
    let message = NewMessage {
        raw,
        sha256: "h1",
        identity: "i1",
        message_id: "m1@example.test",
        mailbox: Some("INBOX"),
        uidvalidity: Some(7),
        uid: Some(3),
        received_at: now,
        from_address: Some("a@example.test"),
        subject: "Broken boiler",
        classification: "complaint",
        reasons: "[]",
    };
    let row = tx.insert_message(&message, now).await.expect("message");
    let row = row.expect("new message");
    assert_eq!(tx.insert_message(&message, now).await.expect("again"), None);
    let redelivered = NewMessage {
        sha256: "h2",
        ..message.clone()
    };
    assert_eq!(
        tx.insert_message(&redelivered, now)
            .await
            .expect("redelivered"),
        None,
        "the same identity under other bytes is the same mail"
    );
    tx.insert_attachment(row, Some("photo.jpg"), "image/jpeg", b"jpeg")
        .await
        .expect("attachment");
    tx.link_message(row, id).await.expect("link");
    let due = at("2026-11-30T17:00:00Z");
    let deadline = Deadline {
        kind: DeadlineKind::Stage1Acknowledgement,
        due_at: due,
        rule: "Code 6.2".into(),
    };
    tx.insert_deadline(id, &deadline, now)
        .await
        .expect("deadline");
    tx.queue_letter(&letter("receipt:1", Some(id)), now)
        .await
        .expect("letter");
    let event = Event::Responded {
        stage: Stage::Stage1,
        outcome: Outcome::Upheld,
        reasons: "r".into(),
        remedy: "none".into(),
        actions: Vec::new(),
        due_at: Some(due),
        on_time: Some(true),
    };
    tx.insert_event(id, now, "handler", &event)
        .await
        .expect("event");
    tx.commit().await.expect("commit");

    let detail = store.case_detail(&reference).await.expect("detail");
    assert_eq!(detail.case.kind, CaseKind::Complaint);
    assert_eq!(detail.case.stage, Some(Stage::Stage1));
    assert_eq!(detail.case.status, CaseStatus::Open);
    assert_eq!(detail.case.themes, ["outstanding repairs"]);
    assert_eq!(
        detail.deadlines[0].kind,
        DeadlineKind::Stage1Acknowledgement
    );
    assert_eq!(detail.messages[0].size, raw.len() as i64);
    assert_eq!(detail.messages[0].attachments[0].size, 4);
    assert_eq!(detail.letters.len(), 1);
    assert_eq!(detail.events[0].event(), Some(event));
    assert_eq!(
        store
            .find_message("m1@example.test", "h1", "other")
            .await
            .expect("find"),
        Some((row, Some(id)))
    );
    let state = store.case_state(id).await.expect("state");
    assert_eq!(state.first_message_id.as_deref(), Some("m1@example.test"));
    let by_id = store
        .find_case_by_message_ids(&["other@x", "m1@example.test"])
        .await
        .expect("by id");
    assert_eq!(by_id.map(|c| c.reference), Some(reference));
    assert_eq!(
        store.raw_message(row).await.expect("raw").as_deref(),
        Some(&raw[..])
    );
}
on_both!(a_case_reads_back_whole_on, a_case_reads_back_whole);

/// Changes to a case and its deadlines, and the reads the scheduler and dashboard make.
async fn case_changes_and_scheduler_reads(store: Store) {
    let now = at("2026-11-23T10:00:00Z");
    let (id, _) = open(&store, "Damp").await;
    let (closed, _) = open(&store, "Fence").await;
    let mut tx = store.begin().await.expect("tx");
    for (case, kind, hours) in [
        (id, DeadlineKind::Stage1Acknowledgement, 1),
        (id, DeadlineKind::Stage1Response, 100),
        (closed, DeadlineKind::Stage1Response, 2),
        (closed, DeadlineKind::OutstandingAction, 3),
    ] {
        let deadline = Deadline {
            kind,
            due_at: now + Duration::hours(hours),
            rule: "r".into(),
        };
        tx.insert_deadline(case, &deadline, now)
            .await
            .expect("deadline");
    }
    tx.set_status(closed, CaseStatus::Closed)
        .await
        .expect("status");
    tx.close_case_deadlines(closed, now).await.expect("close");
    tx.set_stage(id, Some(Stage::Stage2)).await.expect("stage");
    tx.set_owner(id, "manager@example.test")
        .await
        .expect("owner");
    tx.flag_case(id, "look at it", now).await.expect("flag");
    tx.commit().await.expect("commit");

    let due = store
        .open_deadlines_due_by(now + Duration::hours(10))
        .await
        .expect("due");
    let kinds: Vec<_> = due.iter().map(|d| (d.case_id, d.kind)).collect();
    assert_eq!(
        kinds,
        [
            (id, DeadlineKind::Stage1Acknowledgement),
            (closed, DeadlineKind::OutstandingAction)
        ],
        "a closed case keeps only its promised actions"
    );
    assert_eq!(due[0].stage, Some(Stage::Stage2));
    assert_eq!(due[0].owner.as_deref(), Some("manager@example.test"));

    let mut tx = store.begin().await.expect("tx");
    assert!(
        tx.claim_reminder(&due[0], "before", now.date_naive(), now)
            .await
            .expect("claim")
    );
    assert!(
        !tx.claim_reminder(&due[0], "before", now.date_naive(), now)
            .await
            .expect("claim")
    );
    assert_eq!(
        tx.close_deadline(
            id,
            DeadlineKind::Stage1Acknowledgement,
            DeadlineEnd::Met,
            now
        )
        .await
        .expect("met"),
        1
    );
    let action = due[1].id;
    assert_eq!(
        tx.complete_action(closed, action, now)
            .await
            .expect("done")
            .as_deref(),
        Some("r")
    );
    assert_eq!(
        tx.complete_action(closed, action, now)
            .await
            .expect("again"),
        None
    );
    let next = tx
        .next_open_deadline(id)
        .await
        .expect("next")
        .expect("one open");
    assert_eq!(next.kind, DeadlineKind::Stage1Response);
    tx.commit().await.expect("commit");
    assert_eq!(store.reminders_sent(0).await.expect("sent").len(), 1);
    assert_eq!(
        store.open_case_owners().await.expect("owners"),
        ["manager@example.test"]
    );
    let digest = store.digest_rows().await.expect("digest");
    assert_eq!(digest.len(), 1);
    let open_cases = store.open_cases().await.expect("open");
    assert_eq!(open_cases.len(), 1);
    assert_eq!(open_cases[0].stage, Some(Stage::Stage2));
    let case = store.case_state(id).await.expect("state").case;
    assert!(case.needs_attention);
    assert_eq!(case.attention_reason.as_deref(), Some("look at it"));
    assert_eq!(
        store
            .missed_deadlines(DeadlineKind::Stage1Response, now, now + Duration::days(10))
            .await
            .expect("missed"),
        1
    );
}
on_both!(
    case_changes_and_scheduler_reads_on,
    case_changes_and_scheduler_reads
);

/// The outbox: sent, failed, undelivered, and what the report and dashboard read of events.
async fn letters_and_figures(store: Store) {
    let now = at("2026-11-23T10:00:00Z");
    let (id, _) = open(&store, "Noise").await;
    let mut tx = store.begin().await.expect("tx");
    tx.queue_letter(&letter("a", Some(id)), now)
        .await
        .expect("a");
    tx.queue_letter(&letter("b", Some(id)), now)
        .await
        .expect("b");
    tx.queue_letter(&letter("digest:x", None), now)
        .await
        .expect("c");
    let event = Event::Acknowledged {
        stage: Stage::Stage1,
        understanding: None,
        outcome_sought: None,
        due_at: None,
        on_time: Some(false),
        deadline_met: None,
        automatic: false,
    };
    tx.insert_event(id, now, "h", &event).await.expect("event");
    tx.commit().await.expect("commit");
    assert_eq!(store.next_letter_due().await.expect("due"), Some(now));
    let first = store
        .claim_letter(now, now + Duration::minutes(10))
        .await
        .expect("claim")
        .expect("letter");
    let mut tx = store.begin().await.expect("tx");
    tx.mark_letter_sent(first.id, now).await.expect("sent");
    tx.insert_sent_message(&first, b"raw", now)
        .await
        .expect("copy");
    tx.mark_letter_undelivered(first.id, "bounced")
        .await
        .expect("undelivered");
    tx.commit().await.expect("commit");
    let second = store
        .claim_letter(now, now + Duration::minutes(10))
        .await
        .expect("claim")
        .expect("letter");
    store
        .mark_letter_failed(second.id, "refused", None)
        .await
        .expect("failed");
    assert_eq!(store.count_letters("undelivered").await.expect("n"), 1);
    assert_eq!(store.count_letters("failed").await.expect("n"), 1);
    assert_eq!(store.count_letters("pending").await.expect("n"), 1);
    let found = store
        .find_letter_by_message_id(&first.message_id)
        .await
        .expect("find");
    assert_eq!(found.map(|l| l.status), Some("undelivered".to_string()));
    assert_eq!(
        store
            .letter_keys_since("receipt", now)
            .await
            .expect("keys")
            .len(),
        3
    );
    let events = store
        .stage_events_since("acknowledged", Stage::Stage1, now)
        .await
        .expect("events");
    assert_eq!(events, [event]);
    let mut cases = Vec::new();
    let span = annual::Span {
        start: now - Duration::days(1),
        end: now + Duration::days(1),
    };
    store
        .each_report_case(span, now + Duration::days(1), |case| {
            cases.push(case);
            Ok::<(), StoreError>(())
        })
        .await
        .expect("report");
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].events.len(), 1);
}
on_both!(letters_and_figures_on, letters_and_figures);

/// The published report's counts, made in SQL: one record with a known answer for each.
async fn annual_counts(store: Store) {
    use crate::case::model::{EscalationRequest, Finding, FindingArea, Source};
    let span = annual::Span {
        start: at("2026-03-31T23:00:00Z"),
        end: at("2027-04-01T00:00:00Z"),
    };
    let (before, inside, now) = (
        at("2026-02-02T10:00:00Z"),
        at("2026-06-01T10:00:00Z"),
        at("2027-06-01T10:00:00Z"),
    );
    let mut tx = store.begin().await.expect("tx");
    let case = |n: &str, kind: CaseKind, received_at, area: Option<&str>, themes: &[&str]| {
        let mut new = complaint(n);
        new.kind = kind;
        new.received_at = received_at;
        new.service_area = area.map(str::to_string);
        new.themes = themes.iter().map(|t| t.to_string()).collect();
        new.customer_address = Some(format!("{n}@example.test"));
        (format!("CMP-A-{n}"), new)
    };
    let (a, b, c, d, e, f) = (
        case("a", CaseKind::Complaint, inside, Some("Repairs"), &["damp"]),
        case("b", CaseKind::Complaint, inside, None, &[]),
        case("c", CaseKind::Complaint, before, Some("Repairs"), &[]),
        case("d", CaseKind::Complaint, before, None, &[]),
        case("e", CaseKind::Complaint, before, None, &[]),
        case("f", CaseKind::Compliment, inside, None, &[]),
    );
    let mut ids = Vec::new();
    for (reference, new) in [&a, &b, &c, &d, &e, &f] {
        ids.push(
            tx.insert_case(reference, new, new.received_at)
                .await
                .expect("case"),
        );
    }
    let day = |d: i64| inside + Duration::days(d);
    let ack = |stage, on_time| Event::Acknowledged {
        stage,
        understanding: None,
        outcome_sought: None,
        due_at: None,
        on_time: Some(on_time),
        deadline_met: None,
        automatic: false,
    };
    let responded = |stage, outcome, on_time| Event::Responded {
        stage,
        outcome,
        reasons: "r".into(),
        remedy: "none".into(),
        actions: Vec::new(),
        due_at: None,
        on_time: Some(on_time),
    };
    let events = [
        (ids[0], day(1), ack(Stage::Stage1, true)),
        (
            ids[0],
            day(5),
            Event::Extended {
                stage: Stage::Stage1,
                days: 5,
                reason: "r".into(),
                previous_due_at: day(10),
                due_at: day(15),
            },
        ),
        (
            ids[0],
            day(12),
            responded(Stage::Stage1, Outcome::Upheld, true),
        ),
        // A second acknowledgement and a second response at the same stage: the stage's figures
        // stay with the first of each; the case concludes on the last response.
        (ids[0], day(13), ack(Stage::Stage1, false)),
        (
            ids[0],
            day(14),
            responded(Stage::Stage1, Outcome::NotUpheld, false),
        ),
        (
            ids[2],
            day(1),
            responded(Stage::Stage1, Outcome::NotUpheld, false),
        ),
        (
            ids[2],
            day(3),
            Event::Escalated {
                from_stage: Stage::Stage1,
                to_stage: Stage::Stage2,
                requested_at: day(3),
                detail: EscalationRequest {
                    reason: Some("phoned".into()),
                    ..Default::default()
                },
            },
        ),
        (ids[2], day(4), ack(Stage::Stage2, true)),
        (
            ids[2],
            day(20),
            responded(Stage::Stage2, Outcome::NotUpheld, true),
        ),
        (
            ids[2],
            day(21),
            Event::SourceSet {
                source: Source::Community,
            },
        ),
        (
            ids[3],
            day(2),
            Event::Refused {
                reason: "abusive".into(),
                stage: Some(Stage::Stage1),
            },
        ),
        (
            ids[3],
            day(30),
            Event::OmbudsmanReferral {
                notes: String::new(),
            },
        ),
        (
            ids[4],
            before,
            Event::OmbudsmanReferral {
                notes: String::new(),
            },
        ),
        (
            ids[4],
            day(40),
            Event::OmbudsmanFinding {
                finding: Finding::Maladministration,
                area: FindingArea::ComplaintHandling,
                notes: String::new(),
            },
        ),
    ];
    for (id, when, event) in &events {
        tx.insert_event(*id, *when, "h", event)
            .await
            .expect("event");
    }
    let late = Deadline {
        kind: DeadlineKind::Stage1Acknowledgement,
        due_at: day(5),
        rule: "6.2".into(),
    };
    tx.insert_deadline(ids[1], &late, inside)
        .await
        .expect("deadline");
    tx.commit().await.expect("commit");

    let kinds = store.received_by_kind(span).await.expect("kinds");
    assert_eq!(
        kinds,
        [("compliment".to_string(), 1)],
        "compliments, feedback and service requests; complaints are counted by stage"
    );
    let mut received = store
        .complaints_received_by_area(span)
        .await
        .expect("received");
    received.sort_by(|x, y| x.service_area.cmp(&y.service_area));
    let group = |area: Option<&str>, themes: &[&str]| annual::ReceivedGroup {
        service_area: area.map(str::to_string),
        themes: themes.iter().map(|t| t.to_string()).collect(),
        count: 1,
    };
    assert_eq!(
        received,
        [group(None, &[]), group(Some("Repairs"), &["damp"])]
    );
    let asked = |on_time, known, asked| annual::Asked {
        asked,
        acknowledgement_known: known,
        acknowledged_on_time: on_time,
    };
    assert_eq!(
        store.asked(Stage::Stage1, span, now).await.expect("asked"),
        asked(1, 2, 2),
        "b is late: its deadline passed"
    );
    assert_eq!(
        store.asked(Stage::Stage2, span, now).await.expect("asked"),
        asked(1, 1, 1)
    );
    let mut issued = store.issued(Stage::Stage1, span).await.expect("issued");
    issued.sort_by(|x, y| x.outcome.cmp(&y.outcome));
    let row = |outcome: &str, count, on_time, extended, extended_on_time| annual::Issued {
        outcome: Some(outcome.into()),
        count,
        on_time,
        extended,
        extended_on_time,
    };
    assert_eq!(
        issued,
        [row("not_upheld", 1, 0, 0, 0), row("upheld", 1, 1, 1, 1)]
    );
    assert_eq!(
        store.issued(Stage::Stage2, span).await.expect("issued"),
        [row("not_upheld", 1, 1, 0, 0)]
    );
    let mut concluded = store.concluded(span).await.expect("concluded");
    concluded.sort_by(|x, y| x.stage.cmp(&y.stage));
    let end = |stage: &str, outcome: &str, no_actions| annual::Concluded {
        stage: Some(stage.into()),
        outcome: Some(outcome.into()),
        count: 1,
        no_actions,
    };
    assert_eq!(
        concluded,
        [
            end("stage1", "not_upheld", 0),
            end("stage2", "not_upheld", 1)
        ],
        "a concluded on its second response; c at stage 2"
    );
    assert_eq!(
        store.escalations(span).await.expect("why"),
        [annual::Escalation {
            reason: Some("phoned".into()),
            words: None,
            count: 1
        }]
    );
    assert_eq!(
        store.refusals(span).await.expect("refusals"),
        [("abusive".to_string(), 1)]
    );
    let ombudsman = store.ombudsman(span).await.expect("ombudsman");
    assert_eq!(
        ombudsman,
        annual::OmbudsmanCounts {
            referrals: 1,
            determined: 1,
            open: 1,
            findings: vec![("maladministration".into(), "complaint_handling".into(), 1)]
        }
    );
    let mut who = store.complainants(span, true).await.expect("who");
    who.sort_by(|x, y| x.address.cmp(&y.address));
    let person = |flag: Option<&str>, address: &str, received: bool| annual::Complainants {
        flagged: flag.map(str::to_string),
        address: Some(address.into()),
        stage1: received,
        stage2: !received,
        count: 1,
    };
    assert_eq!(
        who,
        [
            person(None, "a@example.test", true),
            person(None, "b@example.test", true),
            person(Some("community"), "c@example.test", false)
        ],
        "a and b were received in the span; c asked for a review in it"
    );
    assert_eq!(
        store
            .complainants(span, false)
            .await
            .expect("who")
            .iter()
            .map(|r| r.count)
            .sum::<i64>(),
        3
    );
    assert_eq!(store.complaints_received(span).await.expect("n"), 2);
}
on_both!(annual_counts_on, annual_counts);

/// Restrictions and the mailbox's read position.
async fn senders_and_mailbox_state(store: Store) {
    let now = at("2026-11-23T10:00:00Z");
    let day = now.date_naive();
    store
        .add_restriction(
            "Angry@Example.test",
            day,
            "spoc@example.test",
            "r",
            "h",
            now,
        )
        .await
        .expect("restrict");
    assert_eq!(
        store
            .restriction_for("angry@example.TEST", day)
            .await
            .expect("r")
            .as_deref(),
        Some("spoc@example.test")
    );
    assert_eq!(
        store
            .restriction_for("angry@example.test", day.succ_opt().expect("day"))
            .await
            .expect("r"),
        None
    );
    assert_eq!(store.mailbox_state("INBOX").await.expect("state"), None);
    store.set_mailbox_state("INBOX", 9, 41).await.expect("set");
    store.set_mailbox_state("INBOX", 9, 42).await.expect("set");
    assert_eq!(
        store.mailbox_state("INBOX").await.expect("state"),
        Some((9, 42))
    );
}
on_both!(senders_and_mailbox_state_on, senders_and_mailbox_state);

/// A database from before typed events (migrations 1–4) gets the stage column filled from the
/// JSON when migration 5 runs.
async fn older_events_get_their_stage(store: Store) {
    let mut before = match store.backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    before.migrations = before.migrations[..4].to_vec().into();
    before.run(&store.pool).await.expect("migrations 1-4");
    sqlx::query("INSERT INTO cases (reference, kind, stage, status, subject, received_at, created_at) VALUES ('CMP-2025-000001', 'complaint', 'stage2', 'open', 's', 0, 0)")
        .execute(&store.pool)
        .await
        .expect("old case");
    for (kind, detail) in [
        ("acknowledged", r#"{"stage":"stage2","on_time":true}"#),
        (
            "escalated",
            r#"{"from_stage":"stage1","to_stage":"stage2","requested_at":"2025-01-01T00:00:00Z","detail":{}}"#,
        ),
        ("note", r#"{"text":"no stage"}"#),
    ] {
        sqlx::query(
            "INSERT INTO events (case_id, at, kind, actor, detail) VALUES (1, 0, $1, 'h', $2)",
        )
        .bind(kind)
        .bind(detail)
        .execute(&store.pool)
        .await
        .expect("old event");
    }
    store.migrate().await.expect("migration 5");
    let since = DateTime::from_timestamp(0, 0).expect("epoch");
    for kind in ["acknowledged", "escalated"] {
        let events = store
            .stage_events_since(kind, Stage::Stage2, since)
            .await
            .expect("read");
        assert_eq!(events.len(), 1, "{kind} read by its stage");
    }
    let mut tx = store.begin().await.expect("tx");
    let state = tx.case_state(1).await.expect("state");
    assert_eq!(state.history.len(), 3, "old rows read back as typed events");
}

mod older_events_get_their_stage_on {
    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("old.db").display());
        let store = super::Store::connect(&url).await.expect("connect");
        super::older_events_get_their_stage(store).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgresql() {
        let store = super::postgres_unmigrated().await;
        super::older_events_get_their_stage(store).await;
    }
}

async fn lists_follow_the_next_open_deadline(store: Store) {
    let (first, _) = open(&store, "first").await;
    let (second, _) = open(&store, "second").await;
    let now = at("2026-11-23T10:00:00Z");
    let mut tx = store.begin().await.expect("tx");
    for (case, days) in [(first, 3), (first, 10), (second, 5)] {
        let deadline = Deadline {
            kind: if days == 10 {
                DeadlineKind::Stage1Response
            } else {
                DeadlineKind::Stage1Acknowledgement
            },
            due_at: now + Duration::days(days),
            rule: "test".into(),
        };
        tx.insert_deadline(case, &deadline, now)
            .await
            .expect("deadline");
    }
    tx.commit().await.expect("commit");
    let by_deadline = CaseFilter {
        by_deadline: true,
        ..CaseFilter::default()
    };
    let order = |page: &CasePage| page.cases.iter().map(|c| c.case.id).collect::<Vec<_>>();
    let page = store.case_page(&by_deadline, 0, 50).await.expect("page");
    assert_eq!(order(&page), [first, second], "soonest deadline first");
    // The first case's acknowledgement is met: its next deadline is now day 10, after the second's.
    let mut tx = store.begin().await.expect("tx");
    tx.close_deadline(
        first,
        DeadlineKind::Stage1Acknowledgement,
        DeadlineEnd::Met,
        now,
    )
    .await
    .expect("close");
    tx.commit().await.expect("commit");
    let page = store.case_page(&by_deadline, 0, 50).await.expect("page");
    assert_eq!(order(&page), [second, first]);
    let overdue = CaseFilter {
        overdue_at: Some(now + Duration::days(7)),
        ..CaseFilter::default()
    };
    let page = store.case_page(&overdue, 0, 50).await.expect("page");
    assert_eq!((order(&page), page.total), (vec![second], 1));
    let search = CaseFilter {
        search: Some("SECOND".into()),
        ..CaseFilter::default()
    };
    assert_eq!(
        store.case_page(&search, 0, 50).await.expect("page").total,
        1
    );
}
on_both!(
    lists_follow_the_next_open_deadline_on,
    lists_follow_the_next_open_deadline
);

async fn accounts_sign_in_and_out(store: Store) {
    use crate::accounts::Role;
    let now = at("2026-11-23T10:00:00Z");
    let email = format!("jo-{}@landlord.test", rand::random::<u32>());
    assert!(
        store
            .add_account(&email, "Jo", Role::Handler, Some("hash"), now)
            .await
            .expect("add")
    );
    assert!(
        !store
            .add_account(&email.to_uppercase(), "Jo", Role::Admin, None, now)
            .await
            .expect("again"),
        "one account per address"
    );
    let (account, hash) = store
        .account_for_sign_in(&email)
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        (account.role, hash.as_deref()),
        (Role::Handler, Some("hash"))
    );
    let token = format!("token-{email}");
    store
        .start_session(&token, account.id, "csrf", now, now + Duration::hours(1))
        .await
        .expect("session");
    assert!(store.session(&token, now).await.expect("read").is_some());
    assert!(
        store
            .session(&token, now + Duration::hours(2))
            .await
            .expect("read")
            .is_none(),
        "expired"
    );
    assert!(store.set_disabled(&email, true).await.expect("disable"));
    assert!(
        store.session(&token, now).await.expect("read").is_none(),
        "a disabled account is signed out"
    );
    assert!(store.set_disabled(&email, false).await.expect("enable"));
    assert!(store.set_role(&email, Role::Manager).await.expect("role"));
    let (account, _) = store
        .account_for_sign_in(&email)
        .await
        .expect("read")
        .expect("found");
    assert_eq!((account.role, account.disabled), (Role::Manager, false));
}
on_both!(accounts_sign_in_and_out_on, accounts_sign_in_and_out);

async fn only_an_audited_purge_may_rewrite_events(store: Store) {
    let (id, reference) = open(&store, "purge me").await;
    let now = at("2026-11-23T10:00:00Z");
    let mut tx = store.begin().await.expect("tx");
    let note = Event::Note {
        text: "Mrs A at 4 Elm Road".into(),
    };
    tx.insert_event(id, now, "Jo", &note).await.expect("event");
    tx.commit().await.expect("commit");
    let case = crate::store::retention::PurgeCandidate {
        id,
        reference: reference.clone(),
        received_at: now,
    };
    let redact = crate::case::retention::redact;
    store
        .purge_case(&case, "test rule", "ops", redact, None, now)
        .await
        .expect("an audited purge may");
    let detail = store.case_detail(&reference).await.expect("detail");
    assert!(
        !serde_json::to_string(&detail)
            .expect("json")
            .contains("Elm Road")
    );
    assert!(
        sqlx::query("UPDATE events SET detail = '{}'")
            .execute(&store.pool)
            .await
            .is_err(),
        "outside a purge events stay append-only"
    );
    let logged: i64 = sqlx::query("SELECT COUNT(*) AS n FROM purge_log WHERE reference = $1")
        .bind(&reference)
        .fetch_one(&store.pool)
        .await
        .expect("log")
        .try_get("n")
        .expect("n");
    assert_eq!(logged, 1);
}
on_both!(
    only_an_audited_purge_may_rewrite_events_on,
    only_an_audited_purge_may_rewrite_events
);

/// A letter claimed by an instance that then died is free for another within a minute.
async fn a_dead_instances_claims_are_free_within_a_minute(store: Store) {
    use crate::deliver::outbox::{CLAIM_LEASE, SMTP_TIMEOUT};
    assert!(
        CLAIM_LEASE.to_std().expect("lease") > SMTP_TIMEOUT,
        "a send ends before its claim"
    );
    assert!(CLAIM_LEASE <= Duration::minutes(1));
    let now = at("2026-11-23T10:00:00Z");
    let mut tx = store.begin().await.expect("tx");
    assert!(
        tx.queue_letter(&letter("lease", None), now)
            .await
            .expect("queue")
    );
    tx.commit().await.expect("commit");
    let claimed = store
        .claim_letter(now, now + CLAIM_LEASE)
        .await
        .expect("claim");
    let id = claimed.expect("claimed").id;
    let soon = now + Duration::seconds(30);
    assert!(
        store
            .claim_letter(soon, soon + CLAIM_LEASE)
            .await
            .expect("claim")
            .is_none(),
        "still claimed"
    );
    let later = now + Duration::minutes(1);
    let again = store
        .claim_letter(later, later + CLAIM_LEASE)
        .await
        .expect("claim");
    assert_eq!(again.map(|l| l.id), Some(id), "free again within a minute");
}
on_both!(
    a_dead_instances_claims_are_free_within_a_minute_on,
    a_dead_instances_claims_are_free_within_a_minute
);

/// Issue 14 (2): a large mail and attachment are written in pieces and read back whole, with
/// their sizes; a purge leaves none of their pieces behind.
async fn large_blobs_are_kept_in_pieces_and_read_back_whole(store: Store) {
    let now = at("2026-11-23T10:00:00Z");
    let (id, _) = open(&store, "Video of the leak").await;
    let raw: Vec<u8> = (0..2 * chunks::CHUNK_BYTES + 12_345)
        .map(|i| (i % 251) as u8)
        .collect();
    let video = &raw[7..chunks::CHUNK_BYTES + 99];
    let message = NewMessage {
        raw: &raw,
        sha256: "big",
        identity: "big",
        message_id: "big@example.test",
        mailbox: None,
        uidvalidity: None,
        uid: None,
        received_at: now,
        from_address: None,
        subject: "Video of the leak",
        classification: "complaint",
        reasons: "[]",
    };
    let mut tx = store.begin().await.expect("tx");
    let row = tx
        .insert_message(&message, now)
        .await
        .expect("message")
        .expect("new");
    tx.insert_attachment(row, Some("leak.mp4"), "video/mp4", video)
        .await
        .expect("attachment");
    tx.link_message(row, id).await.expect("link");
    tx.commit().await.expect("commit");

    assert_eq!(
        store.raw_message(row).await.expect("raw"),
        Some(raw.clone())
    );
    assert_eq!(
        store.raw_message_of_case(id, row).await.expect("raw"),
        Some(raw.clone())
    );
    let (_, _, bytes) = store
        .attachment_of_case(id, row, 0)
        .await
        .expect("attachment")
        .expect("there");
    assert_eq!(bytes, video);
    let detail = store.case_state(id).await.expect("state");
    let messages = store
        .case_detail(&detail.case.reference)
        .await
        .expect("detail")
        .messages;
    assert_eq!(messages[0].size, raw.len() as i64);
    assert_eq!(messages[0].attachments[0].size, video.len() as i64);

    let mut tx = store.begin().await.expect("tx");
    chunks::remove_for_case(tx.conn(), id)
        .await
        .expect("remove");
    tx.commit().await.expect("commit");
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM chunks")
        .fetch_one(&store.pool)
        .await
        .expect("count");
    assert_eq!(left, 0);
}
on_both!(
    large_blobs_are_kept_in_pieces_and_read_back_whole_on,
    large_blobs_are_kept_in_pieces_and_read_back_whole
);

/// What people taught the classifier: examples kept once, cases people corrected, the newest
/// model in use.
async fn learning(store: Store) {
    use crate::store::learning::TrainingExample;
    let now = at("2026-11-23T10:00:00Z");
    let example = TrainingExample {
        text: "The garages behind Elm Court".into(),
        kind: Some("complaint".into()),
        area: Some("Estate services".into()),
    };
    assert!(
        store
            .add_training_example(&example, "import", now)
            .await
            .expect("add")
    );
    assert!(
        !store
            .add_training_example(&example, "import", now)
            .await
            .expect("again"),
        "the same example is kept once"
    );
    assert_eq!(
        store.training_examples().await.expect("examples"),
        [example]
    );
    assert_eq!(store.latest_model().await.expect("none"), None);
    store.save_model("{\"a\":1}", 1, now).await.expect("save");
    store.save_model("{\"b\":2}", 2, now).await.expect("save");
    assert_eq!(
        store.latest_model().await.expect("model").as_deref(),
        Some("{\"b\":2}")
    );
    assert!(store.corrected_cases().await.expect("corrected").is_empty());
}
on_both!(learning_on, learning);

/// Migration 0016 fills the typed columns (`on_time`, `outcome`) of events written before it,
/// so a record kept from an earlier version is counted the same by the report.
async fn events_written_before_0016_are_counted(store: Store) {
    let mut migrator = match store.backend {
        Backend::Sqlite => sqlx::migrate!("migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("migrations/postgres"),
    };
    migrator.migrations = std::borrow::Cow::Owned(
        migrator
            .migrations
            .iter()
            .filter(|m| m.version < 16)
            .cloned()
            .collect(),
    );
    migrator.run(&store.pool).await.expect("up to 0015");
    let received = at("2026-06-01T10:00:00Z");
    sqlx::query(
        "INSERT INTO cases (reference, kind, received_at, created_at) VALUES ('CMP-OLD-1', 'complaint', $1, $1)",
    )
    .bind(ts(received))
    .execute(&store.pool)
    .await
    .expect("case");
    let id: i64 = sqlx::query("SELECT id FROM cases WHERE reference = 'CMP-OLD-1'")
        .fetch_one(&store.pool)
        .await
        .expect("id")
        .try_get("id")
        .expect("id");
    for (kind, detail) in [
        ("acknowledged", r#"{"stage":"stage1","on_time":false}"#),
        (
            "responded",
            r#"{"stage":"stage1","outcome":"upheld","reasons":"r","remedy":"n","actions":[],"due_at":null,"on_time":true}"#,
        ),
    ] {
        sqlx::query("INSERT INTO events (case_id, at, kind, actor, detail, stage) VALUES ($1, $2, $3, 'h', $4, 'stage1')")
            .bind(id)
            .bind(ts(received + Duration::days(3)))
            .bind(kind)
            .bind(detail)
            .execute(&store.pool)
            .await
            .expect("event as 0015 wrote it");
    }
    store.migrate().await.expect("0016 and later");
    let span = annual::Span {
        start: at("2026-04-01T00:00:00Z"),
        end: at("2027-04-01T00:00:00Z"),
    };
    let asked = store
        .asked(Stage::Stage1, span, received)
        .await
        .expect("asked");
    assert_eq!(
        (
            asked.asked,
            asked.acknowledgement_known,
            asked.acknowledged_on_time
        ),
        (1, 1, 0),
        "the old acknowledgement said it was late"
    );
    let issued = store.issued(Stage::Stage1, span).await.expect("issued");
    assert_eq!(
        issued
            .iter()
            .map(|i| (i.outcome.as_deref(), i.count, i.on_time))
            .collect::<Vec<_>>(),
        [(Some("upheld"), 1, 1)]
    );
}

mod events_written_before_0016_are_counted_on {
    #[tokio::test(flavor = "multi_thread")]
    async fn sqlite() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir_all(dir.path().join("sub")).expect("dir");
        let store = super::Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("sub/redress.db").display()
        ))
        .await
        .expect("connect");
        super::events_written_before_0016_are_counted(store).await;
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn postgresql() {
        super::events_written_before_0016_are_counted(super::postgres_unmigrated().await).await;
    }
}
