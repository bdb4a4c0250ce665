//! Personal data through its life: a case past retention is purged and the year's published
//! figures do not move; a held case is kept; erasure is refused while a case is open; a subject
//! access export holds every mail of the person and nothing of anyone else's; a restored backup
//! matches the original.

use std::io::Read;

use chrono::Duration;
use redress::case::actions::{self, Response};
use redress::case::model::Outcome;
use redress::records;

use crate::support::fakes::FakeWorld;
use crate::support::*;

/// A complaint from `from` at `at`, answered and closed a month later; returns its reference.
async fn closed_complaint(
    world: &mut FakeWorld,
    from: &str,
    id: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> String {
    let mail = complaint(
        from,
        &world.complaints,
        id,
        "Leaking roof",
        &format!("The roof leaks onto my bed at 4 Elm Road. I want to complain. Write to {from}."),
    );
    world.mailbox.deliver(&mail, at);
    world.pass(at).await;
    let reference = world.app.store.list_cases(1).await.expect("cases")[0]
        .reference
        .clone();
    let app = &world.app;
    actions::acknowledge(
        app,
        &reference,
        "Jo",
        "The roof leaks at 4 Elm Road",
        "A new roof",
        at + Duration::days(2),
    )
    .await
    .expect("acknowledged");
    let response = Response {
        definition: None,
        outcome: Some(Outcome::Upheld),
        reasons: "The roof at 4 Elm Road was not repaired".into(),
        remedy: "A new roof and £100".into(),
        actions: Vec::new(),
        no_outstanding_actions: true,
    };
    actions::respond(app, &reference, "Jo", &response, at + Duration::days(10))
        .await
        .expect("responded");
    actions::note(
        app,
        &reference,
        "Jo",
        "Spoke to the resident at 4 Elm Road",
        at + Duration::days(11),
    )
    .await
    .expect("note");
    actions::close(app, &reference, "Jo", "Resolved", at + Duration::days(30))
        .await
        .expect("closed");
    world.pass(at + Duration::days(30)).await;
    reference
}

async fn year_report(world: &FakeWorld) -> String {
    let report = financial_year(&world.app, 2019, "2026-11-23T10:00:00Z").await;
    serde_json::to_string_pretty(&report).expect("json")
}

#[tokio::test]
async fn a_case_past_retention_is_purged_and_the_years_figures_stay_the_same() {
    let mut world = FakeWorld::new("").await;
    let other = unique_address("neighbour");
    let customer = world.customer.clone();
    let purged = closed_complaint(
        &mut world,
        &customer,
        "old-1@example.net",
        at("2019-05-01T10:00:00Z"),
    )
    .await;
    let held = closed_complaint(
        &mut world,
        &other,
        "old-2@example.net",
        at("2019-06-03T10:00:00Z"),
    )
    .await;
    redress::case::actions::hold(
        &world.app,
        &held,
        "Jo",
        Some("Ombudsman investigation 2026/123"),
        at("2026-01-05T10:00:00Z"),
    )
    .await
    .expect("held");
    let before = year_report(&world).await;
    let now = at("2026-11-23T10:00:00Z");
    let dry = records::purge_due(&world.app, now, true, "ops", |_, _| {})
        .await
        .expect("dry run");
    assert_eq!(
        dry.cases,
        vec![purged.clone()],
        "only the unheld case is due"
    );
    assert!(
        !world
            .app
            .store
            .case_detail(&purged)
            .await
            .expect("detail")
            .messages
            .is_empty(),
        "a dry run changes nothing"
    );
    let report = records::purge_due(&world.app, now, false, "ops", |_, _| {})
        .await
        .expect("purge");
    assert_eq!(
        (report.purged, report.cases.clone()),
        (1, vec![purged.clone()])
    );
    assert!(report.messages >= 1 && report.letters >= 3, "{report:?}");
    assert_eq!(
        year_report(&world).await,
        before,
        "the year's figures did not move"
    );
    let detail = world
        .app
        .store
        .case_detail(&purged)
        .await
        .expect("the skeleton is kept");
    assert!(detail.messages.is_empty() && detail.letters.is_empty());
    assert_eq!(detail.case.customer_address, None);
    let kept = serde_json::to_string(&detail).expect("json");
    for personal in ["Elm Road", world.customer.as_str(), "£100"] {
        assert!(
            !kept.contains(personal),
            "`{personal}` survived the purge:\n{kept}"
        );
    }
    let held_detail = world.app.store.case_detail(&held).await.expect("held");
    assert!(
        !held_detail.messages.is_empty() && held_detail.case.customer_address.is_some(),
        "a held case is kept whole"
    );
    let again = records::purge_due(&world.app, now, false, "ops", |_, _| {})
        .await
        .expect("again");
    assert_eq!(again.purged, 0, "a purged case is not purged twice");
}

#[tokio::test]
async fn erasure_is_refused_while_a_case_is_open_and_removes_everything_after() {
    let mut world = FakeWorld::new("").await;
    let customer = world.customer.clone();
    let t0 = at("2026-10-01T10:00:00Z");
    world.mailbox.deliver(
        &complaint(
            &customer,
            &world.complaints,
            "erase-1@example.net",
            "Noise",
            "The noise never stops and I want to complain.",
        ),
        t0,
    );
    world.pass(t0).await;
    let reference = world.app.store.list_cases(1).await.expect("cases")[0]
        .reference
        .clone();
    let refused = records::erase(
        &world.app,
        &customer,
        "Request of 1 November 2026",
        "ops",
        t0,
    )
    .await;
    assert!(
        matches!(refused, Err(records::RecordsError::Refused(_))),
        "{refused:?}"
    );
    actions::close(
        &world.app,
        &reference,
        "Jo",
        "Withdrawn",
        t0 + Duration::days(1),
    )
    .await
    .expect("closed");
    let done = records::erase(
        &world.app,
        &customer,
        "Request of 1 November 2026",
        "ops",
        t0 + Duration::days(2),
    )
    .await
    .expect("erased");
    assert_eq!(done.purged, 1);
    let kept = serde_json::to_string(
        &world
            .app
            .store
            .case_detail(&reference)
            .await
            .expect("skeleton"),
    )
    .expect("json");
    assert!(!kept.contains(&customer), "{kept}");
}

#[tokio::test]
async fn a_subject_access_export_holds_the_persons_mail_and_nobody_elses() {
    let mut world = FakeWorld::new("").await;
    let ann = world.customer.clone();
    let similar = ann.replacen('@', ".other@", 1);
    let t0 = at("2026-10-01T10:00:00Z");
    for (n, from) in [(1, &ann), (2, &similar), (3, &ann)] {
        world.mailbox.deliver(
            &complaint(
                from,
                &world.complaints,
                &format!("sar-{n}@example.net"),
                &format!("Complaint {n}"),
                &format!("Complaint number {n} from {from}: I want to complain."),
            ),
            t0 + Duration::hours(n),
        );
        world.pass(t0 + Duration::hours(n)).await;
    }
    let reference = world.app.store.cases_of_address(&ann).await.expect("cases")[0].clone();
    actions::note(
        &world.app,
        &reference,
        "Jo",
        "Staff view: persistent caller",
        t0 + Duration::days(1),
    )
    .await
    .expect("note");
    let out = world.dir.path().join("export.zip");
    let exported = records::export(&world.app, &ann, None, &out)
        .await
        .expect("export");
    assert_eq!(exported.len(), 2);
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(&out).expect("zip")).expect("a zip that opens");
    let mut mails = 0;
    let mut all = String::new();
    for i in 0..zip.len() {
        let mut file = zip.by_index(i).expect("entry");
        let name = file.name().to_string();
        let mut text = String::new();
        let _ = file.read_to_string(&mut text);
        if name.ends_with("-in.eml") {
            mails += 1;
            assert!(text.contains(&ann), "{name}");
        }
        all.push_str(&text);
    }
    assert_eq!(mails, 2, "every mail of the person");
    assert!(
        !all.contains(&similar),
        "nothing of the resident with a similar address"
    );
    assert!(
        all.contains("Staff view: persistent caller") && all.contains("review before release"),
        "staff notes included and flagged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restored_backup_matches_the_original() {
    let env = TestEnv::new();
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("backup-{}", env.customer),
            "Broken lift",
            "The lift is broken again; I want to complain.",
        ),
        None,
    )
    .await;
    ok(&env.redress(&["run", "--once"]));
    let original = ok(&env.redress(&["cases", "list"]));
    let backup = env.dir.path().join("backup.db");
    ok(&env.redress(&["backup", "--out", &backup.display().to_string()]));
    let refused = env.redress(&["backup", "--out", &backup.display().to_string()]);
    assert!(
        !refused.status.success(),
        "an existing file is never overwritten"
    );
    // Restore: a fresh copy of the backup as the database of a second configuration.
    let restored_db = env.dir.path().join("restored.db");
    std::fs::copy(&backup, &restored_db).expect("restore");
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    let url = config
        .lines()
        .find(|l| l.starts_with("url = "))
        .expect("database url")
        .to_string();
    let restored_config = env.dir.path().join("restored.toml");
    std::fs::write(
        &restored_config,
        config.replace(
            &url,
            &format!("url = \"sqlite://{}\"", restored_db.display()),
        ),
    )
    .expect("config");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_redress"))
            .arg("--config")
            .arg(&restored_config)
            .args(args)
            .env("REDRESS_LOG", "warn")
            .output()
            .expect("run");
        ok(&out)
    };
    run(&["check-config"]);
    assert_eq!(run(&["cases", "list"]), original);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purge_expunges_the_processed_copy_when_asked_to() {
    let env = TestEnv::with(Db::Sqlite, "[retention]\nexpunge_processed = true\n");
    env.append(
        &complaint(
            &env.customer,
            &env.complaints,
            &format!("expunge-{}", env.customer),
            "Old damp",
            "Damp again; I want to complain.",
        ),
        Some(at("2019-05-01T09:00:00Z")),
    )
    .await;
    ok(&env.redress(&["--now", "2019-05-01T10:00:00Z", "run", "--once"]));
    let reference = env.newest_reference();
    assert_eq!(env.mails_in(&env.complaints, "Processed").await.len(), 1);
    ok(&env.redress(&[
        "--now",
        "2019-06-01T10:00:00Z",
        "case",
        "close",
        &reference,
        "--reason",
        "Resolved",
    ]));
    let said = ok(&env.redress(&["--now", "2026-11-23T10:00:00Z", "purge"]));
    assert!(
        said.contains("purged 1 case(s)") && said.contains("1 copies expunged"),
        "{said}"
    );
    assert!(
        env.mails_in(&env.complaints, "Processed").await.is_empty(),
        "the processed copy is gone"
    );
}
