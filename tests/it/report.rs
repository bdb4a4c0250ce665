//! The published figures, from a record with known answers built through the CLI as handlers
//! would: on-time and late acknowledgements, an extension, both stages, a refusal, a compliment,
//! and an Ombudsman determination.

use crate::support::*;

/// `redress report` for the year April 2026 to March 2027, with `args` after.
fn year_report(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut all = vec!["report", "--from", "2026-04-01", "--to", "2027-03-31"];
    all.extend_from_slice(args);
    env.redress(&all)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_counts_what_happened_not_what_is_now() {
    let customers_file = tempfile::NamedTempFile::new().expect("customers file");
    let (addr_a, addr_b) = (unique_address("a"), unique_address("b"));
    std::fs::write(
        customers_file.path(),
        format!("# tenants\n{addr_a}\n{}\n", addr_b.to_uppercase()),
    )
    .expect("write");
    let env = TestEnv::with(
        Db::Sqlite,
        &format!(
            "[report]\nhomes_owned = 1000\ncustomers_file = \"{}\"\n",
            path_str(customers_file.path())
        ),
    );
    let received = Some(at("2026-11-16T10:00:00Z")); // Monday: acknowledgements due 23 November.
    let mails = [
        (
            "a",
            "Boiler repair",
            "The boiler repair was never done and the engineer never came back.",
        ),
        (
            "b",
            "Noise",
            "The anti-social noise from my neighbour is unacceptable and nobody called back.",
        ),
        (
            "c",
            "Rent account",
            "My rent account is wrong, I have been overcharged and I am unhappy.",
        ),
        ("d", "Thank you", "Thank you to the caretaker, great job."),
        (
            "e",
            "Windows",
            "The windows have been leaking for months and the repair is still not done.",
        ),
    ];
    for (tag, subject, body) in mails {
        let from = match tag {
            "a" => addr_a.clone(),
            "b" => addr_b.clone(),
            _ => unique_address(tag),
        };
        env.append(
            &complaint(
                &from,
                &env.complaints,
                &format!("rep-{tag}-{from}"),
                subject,
                body,
            ),
            received,
        )
        .await;
    }
    ok(&env.redress(&["--now", "2026-11-16T10:05:00Z", "run", "--once"]));
    let reference = |subject: &str| env.reference_by_subject(subject);
    let (a, b, c, e) = (
        reference("Boiler repair"),
        reference("Noise"),
        reference("Rent account"),
        reference("Windows"),
    );
    let act = |now: &str, args: &[&str]| {
        let mut all = vec!["--now", now, "case"];
        all.extend_from_slice(args);
        ok(&env.redress(&all));
    };
    // A: acknowledged on time, answered on time, upheld.
    act(
        "2026-11-17T10:00:00Z",
        &["acknowledge", &a, "--understanding", "u", "--outcome", "o"],
    );
    act(
        "2026-11-24T10:00:00Z",
        &[
            "respond",
            &a,
            "--outcome",
            "upheld",
            "--reasons",
            "r",
            "--remedy",
            "£50",
            "--no-outstanding-actions",
        ],
    );
    // B: acknowledged late, extended, answered within the extension, escalated, stage 2 not upheld.
    act(
        "2026-11-24T10:00:00Z",
        &["acknowledge", &b, "--understanding", "u", "--outcome", "o"],
    );
    act(
        "2026-12-01T10:00:00Z",
        &["extend", &b, "--days", "5", "--reason", "survey"],
    );
    act(
        "2026-12-10T10:00:00Z",
        &[
            "respond",
            &b,
            "--outcome",
            "partly-upheld",
            "--reasons",
            "r",
            "--remedy",
            "apology",
            "--no-outstanding-actions",
        ],
    );
    act(
        "2026-12-11T10:00:00Z",
        &["escalate", &b, "--reason", "phoned: unhappy"],
    );
    act(
        "2026-12-14T10:00:00Z",
        &["acknowledge", &b, "--understanding", "u", "--outcome", "o"],
    );
    act(
        "2026-12-21T10:00:00Z",
        &[
            "respond",
            &b,
            "--outcome",
            "not-upheld",
            "--reasons",
            "r",
            "--remedy",
            "none",
            "--no-outstanding-actions",
            "--by",
            "Head of Housing",
        ],
    );
    act(
        "2027-02-01T10:00:00Z",
        &[
            "ombudsman",
            &b,
            "--finding",
            "maladministration",
            "--area",
            "complaint-handling",
        ],
    );
    // E: acknowledged on time, answered late (due 2 December), not upheld.
    act(
        "2026-11-18T10:00:00Z",
        &["acknowledge", &e, "--understanding", "u", "--outcome", "o"],
    );
    act(
        "2026-12-04T10:00:00Z",
        &[
            "respond",
            &e,
            "--outcome",
            "not-upheld",
            "--reasons",
            "r",
            "--remedy",
            "none",
            "--no-outstanding-actions",
        ],
    );
    // C: refused.
    act(
        "2026-11-17T10:00:00Z",
        &["refuse", &c, "--reason", "already investigated"],
    );

    let json: serde_json::Value = serde_json::from_str(&ok(&env.redress(&[
        "--now",
        "2027-04-01T09:00:00Z",
        "report",
        "--from",
        "2026-04-01",
        "--to",
        "2027-03-31",
        "--format",
        "json",
    ])))
    .expect("json");
    let rate = |on_time: i64, total: i64| serde_json::json!({ "on_time": on_time, "total": total });
    assert_eq!(json["stage1"]["received"], 4);
    assert_eq!(
        json["stage1"]["acknowledged_in_time"],
        rate(2, 3),
        "A and E on time, B late, C refused before"
    );
    assert_eq!(
        json["stage1"]["responded_in_time"],
        rate(2, 3),
        "A and B (within its extension) on time, E late"
    );
    // Over the stage responses issued in the period (A, B and E): B's was extended.
    assert_eq!(json["stage1"]["responses_issued"], 3);
    assert_eq!(json["stage1"]["extended"], rate(1, 3));
    assert_eq!(json["stage1"]["answered_within_extension"], 1);
    assert_eq!(
        (
            json["stage1"]["upheld"].as_i64(),
            json["stage1"]["partly_upheld"].as_i64(),
            json["stage1"]["not_upheld"].as_i64()
        ),
        (Some(1), Some(1), Some(1))
    );
    assert_eq!(json["stage2"]["received"], 1);
    assert_eq!(json["stage2"]["acknowledged_in_time"], rate(1, 1));
    assert_eq!(json["stage2"]["responded_in_time"], rate(1, 1));
    assert_eq!(json["stage2"]["not_upheld"], 1);
    assert_eq!(
        (
            json["resolutions"].as_i64(),
            json["concluded_stage1"].as_i64(),
            json["concluded_stage2"].as_i64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(json["stage2_no_further_action"], 1);
    assert_eq!(
        json["refusal_reasons"],
        serde_json::json!([[
            "The matter has previously been considered under our complaints policy",
            1
        ]]),
        "C's \"already investigated\" falls under Code 2.2's third ground"
    );
    assert_eq!(
        json["escalation_reasons"],
        serde_json::json!([["phoned: unhappy", 1]])
    );
    assert_eq!(
        (json["refused"].as_i64(), json["compliments"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(
        json["ombudsman_findings"],
        serde_json::json!([["maladministration", "complaint_handling", 1]])
    );
    let areas: Vec<(String, i64)> = json["stage1_by_area"]
        .as_array()
        .expect("areas")
        .iter()
        .map(|a| {
            (
                a[0].as_str().unwrap_or_default().to_string(),
                a[1].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(areas[0], ("Repairs".to_string(), 2), "{areas:?}");
    assert_eq!(
        json["stage1_by_area"][0][2], 50,
        "percent of stage 1 complaints"
    );
    assert!(areas.contains(&("Communities".to_string(), 1)), "{areas:?}");
    assert_eq!(areas.len(), 3, "{areas:?}");
    assert_eq!(
        json["themes"][0],
        serde_json::json!(["outstanding repairs", 2]),
        "{}",
        json["themes"]
    );

    // Markdown reads like the published report's tables; a period with nothing in it is all zeros.
    let md_path = env.dir.path().join("report.md");
    ok(&year_report(&env, &["--out", &path_str(&md_path)]));
    let md = std::fs::read_to_string(&md_path).expect("report written");
    assert!(
        md.contains("| Of those received | 2/3 (67%) | 1/1 (100%) |"),
        "{md}"
    );
    assert!(
        md.contains("| Of the responses issued | 2/3 (67%) | 1/1 (100%) |")
            && md.contains("Base: complaints received (stage 1: 4) and reviews requested (stage 2: 1) in the period.")
            && md.contains("Base: stage responses issued in the period, whenever the complaint came (stage 1: 3, stage 2: 1)"),
        "both bases are labelled with their denominators: {md}"
    );
    // The seed report's sections, in its order.
    let order = [
        "## Complaints received",
        "### How many complaints were there, and at what stage did they conclude?",
        "### Which service area did the complaint relate to?",
        "### What were the response times?",
        "### In how many cases did Example Homes extend the response deadline?",
        "### What were the outcomes of the complaints?",
        "### Why did complaints escalate through the process?",
        "### What are the complaints about?",
        "### What complaints have been refused?",
        "## Reviews concluded by the Housing Ombudsman",
    ];
    let places: Vec<usize> = order
        .iter()
        .map(|h| md.find(h).unwrap_or_else(|| panic!("no {h} in {md}")))
        .collect();
    assert!(places.windows(2).all(|w| w[0] < w[1]), "in order: {md}");
    assert!(
        md.contains("| Upheld | 1 (33%) | 0 (0%) |"),
        "percentages with their counts: {md}"
    );
    assert!(md.contains("Out of 4 stage 1 complaints"), "{md}");
    assert!(
        md.starts_with("# Example Homes: complaint handling report, April 2026 to March 2027"),
        "the landlord's name and the period in words: {md}"
    );
    assert!(
        md.contains("| phoned: unhappy | 1 |"),
        "the escalation's reason: {md}"
    );
    assert!(
        md.contains("| Maladministration | complaint handling | 1 |"),
        "{md}"
    );
    let empty: serde_json::Value = serde_json::from_str(&ok(&env.redress(&[
        "report",
        "--from",
        "2025-04-01",
        "--to",
        "2026-03-31",
        "--format",
        "json",
    ])))
    .expect("json");
    assert_eq!(empty["stage1"]["received"], 0);
    let backwards = env.redress(&["report", "--from", "2027-01-01", "--to", "2026-01-01"]);
    assert!(!backwards.status.success());

    // Sources, the Regulator's measures and the trend.
    assert_eq!(
        (
            json["from_customers"].as_i64(),
            json["from_community"].as_i64()
        ),
        (Some(2), Some(2)),
        "C and E are not on the customers list"
    );
    assert_eq!(
        json["ch01_stage1_per_1000_homes"], 2.0,
        "CH01 counts tenants only: A and B of the four, per 1,000 homes"
    );
    assert_eq!(json["ch01_stage2_per_1000_homes"], 1.0, "B's review");
    assert_eq!(
        (
            json["ch02_stage1_percent"].as_i64(),
            json["ch02_stage2_percent"].as_i64()
        ),
        (Some(67), Some(100))
    );
    let trend: Vec<i64> = json["trend"]
        .as_array()
        .expect("trend")
        .iter()
        .filter_map(|t| t[1].as_i64())
        .collect();
    assert_eq!(trend, [0, 0, 4]);
    ok(&env.redress(&["case", "source", &c, "customer"]));
    let json: serde_json::Value =
        serde_json::from_str(&ok(&year_report(&env, &["--format", "json"]))).expect("json");
    assert_eq!(
        json["from_customers"], 3,
        "the handler's flag wins over the list"
    );

    // One row per case in CSV.
    let csv = ok(&year_report(&env, &["--format", "csv"]));
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 6, "header and five cases:\n{csv}");
    assert!(rows[0].starts_with("reference,kind,received_at,source"));
    let b_row = rows.iter().find(|r| r.starts_with(&b)).expect("B's row");
    assert!(b_row.contains(",no,yes,yes,partly_upheld,yes,yes,yes,no,not_upheld,stage2,no,maladministration (complaint_handling)"), "{b_row}");
    // The dates behind every figure: header and row agree, and B's stage 1 dates are there.
    let header: Vec<&str> = rows[0].split(',').collect();
    let cells: Vec<&str> = b_row.split(',').collect();
    assert_eq!(header.len(), cells.len(), "{b_row}");
    let cell = |name: &str| cells[header.iter().position(|h| *h == name).expect(name)];
    for name in [
        "stage1_acknowledge_due",
        "stage1_extended_at",
        "stage1_response_due",
        "stage1_responded_at",
        "stage2_requested_at",
        "stage2_responded_at",
    ] {
        assert!(
            cell(name).starts_with("2026-"),
            "{name} = {:?} in {b_row}",
            cell(name)
        );
    }

    // The HTML report opens offline in a browser with its tables and charts.
    let html_path = env.dir.path().join("report.html");
    ok(&year_report(
        &env,
        &["--format", "html", "--out", &path_str(&html_path)],
    ));
    let html = std::fs::read_to_string(&html_path).expect("html");
    assert_eq!(
        html.matches("<svg").count(),
        4,
        "stage concluded, themes, service areas, trend"
    );
    assert!(
        html.contains("stroke-dasharray") && html.contains("<polyline"),
        "a doughnut for the stage concluded, a line for the trend"
    );
    // Each chart sits with its own table: after its section's heading, before the next one.
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    for (heading, chart, next) in [
        (
            "<h3>How many complaints were there",
            "aria-label=\"At which stage complaints concluded",
            "<h3>Which service area",
        ),
        (
            "<h3>Which service area",
            "aria-label=\"Stage 1 complaints by service area",
            "<h3>What were the response times",
        ),
        (
            "<h3>What are the complaints about",
            "aria-label=\"What the complaints are about",
            "<h3>What complaints have been refused",
        ),
        (
            "<h2>Stage 1 complaints over three years",
            "aria-label=\"Stage 1 complaints over three years",
            "<h2>Who complained",
        ),
    ] {
        assert!(
            at(heading) < at(chart) && at(chart) < at(next),
            "{chart} beside its table"
        );
    }
    let profile = tempfile::tempdir().expect("profile");
    let shot = env.dir.path().join("report.png");
    let chromium = |extra: &[&str]| {
        std::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg(format!("file://{}", html_path.display()))
            .output()
            .expect("chromium runs (tests/run.sh installs it)")
    };
    let dom = chromium(&["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("<table>")
            && dom.contains("<rect")
            && dom.contains("Acknowledged within time"),
        "rendered DOM:\n{dom}"
    );
    let out = chromium(&[
        &format!("--screenshot={}", shot.display()),
        "--window-size=1000,2400",
    ]);
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "no screenshot ({e}): {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real page, not a blank one ({} bytes)",
        png.len()
    );
    let kept = std::env::temp_dir().join("redress-report-screenshot.png");
    std::fs::copy(&shot, &kept).expect("keep screenshot");
    println!("report screenshot: {}", kept.display());
}

/// Issue 13: a closed year's figures do not move when the report is run again months later. A
/// complaint received in March and answered in April belongs to the next year's responses.
#[tokio::test]
async fn a_closed_years_figures_stay_the_same_when_the_report_is_run_again() {
    use redress::case::actions;
    let mut world = crate::support::fakes::FakeWorld::new("").await;
    let received = at("2026-03-20T10:00:00Z");
    let mail = complaint(
        &world.customer,
        &world.complaints,
        "closed-year@example.net",
        "Broken fence",
        "The fence is still broken; I want to complain.",
    );
    world.mailbox.deliver(&mail, received);
    world.pass(received).await;
    let reference = world.app.store.list_cases(1).await.expect("cases")[0]
        .reference
        .clone();
    let answered = at("2026-04-10T10:00:00Z");
    actions::acknowledge(
        &world.app,
        &reference,
        "Jo",
        "The fence",
        "A repair",
        at("2026-03-23T10:00:00Z"),
    )
    .await
    .expect("acknowledged");
    let response = complete_response(redress::case::model::Outcome::Upheld);
    actions::respond(&world.app, &reference, "Jo", &response, answered)
        .await
        .expect("answered in April");
    let json = |report| serde_json::to_value(&report).expect("json");
    let on_1_april = json(financial_year(&world.app, 2025, "2026-04-01T09:00:00Z").await);
    let on_1_august = json(financial_year(&world.app, 2025, "2026-08-01T09:00:00Z").await);
    assert_eq!(
        on_1_april["stage1"], on_1_august["stage1"],
        "the closed year's stage 1 figures moved"
    );
    assert_eq!(on_1_august["stage1"]["received"], 1);
    assert_eq!(
        on_1_august["stage1"]["responses_issued"], 0,
        "the April answer belongs to the next year"
    );
}

/// Issue 13: "who complained" counts complaints received and reviews requested in the period,
/// not every case ever escalated that happens to have an event in it; a complaint with no
/// service area is "not yet assigned", never "(not set)".
#[tokio::test]
async fn who_complained_counts_only_what_came_in_the_period() {
    use redress::case::actions;
    let mut world = crate::support::fakes::FakeWorld::new("").await;
    let received = at("2025-06-02T10:00:00Z");
    let mail = complaint(
        &world.customer,
        &world.complaints,
        "last-year@example.net",
        "Old matter",
        "Something unclear happened; I want to complain.",
    );
    world.mailbox.deliver(&mail, received);
    world.pass(received).await;
    let reference = world.app.store.list_cases(1).await.expect("cases")[0]
        .reference
        .clone();
    let response = complete_response(redress::case::model::Outcome::NotUpheld);
    actions::respond(
        &world.app,
        &reference,
        "Jo",
        &response,
        at("2025-06-10T10:00:00Z"),
    )
    .await
    .expect("stage 1");
    actions::escalate(
        &world.app,
        &reference,
        "Jo",
        "phoned",
        false,
        at("2025-07-01T10:00:00Z"),
    )
    .await
    .expect("stage 2 last year");
    // An event in the next year (a note) does not make it a complaint of that year.
    actions::note(
        &world.app,
        &reference,
        "Jo",
        "chased",
        at("2026-05-01T10:00:00Z"),
    )
    .await
    .expect("note");
    let this_year = financial_year(&world.app, 2026, "2026-11-23T10:00:00Z").await;
    assert_eq!(
        (this_year.from_customers, this_year.from_community),
        (0, 0),
        "nothing came in this year"
    );
    let last_year = financial_year(&world.app, 2025, "2026-11-23T10:00:00Z").await;
    assert_eq!(last_year.from_customers, 1);
    let areas: Vec<&str> = last_year
        .stage1_by_area
        .iter()
        .map(|(a, ..)| a.as_str())
        .collect();
    assert!(!areas.iter().any(|a| a.contains("not set")), "{areas:?}");
    assert_eq!(areas, [redress::report::figures::UNASSIGNED]);
    let md = redress::report::render::markdown(&last_year);
    assert!(md.contains("| not yet assigned | 1 | 100% |"), "{md}");
    assert!(
        !md.contains("homes_owned"),
        "no config hints in a published page: {md}"
    );
}

/// Issue 13: the Ombudsman's figures: cases determined (one however many findings), findings by
/// kind and area, a whole-case "no maladministration" without a forced area, and cases still
/// with the Ombudsman at the period's end.
#[tokio::test]
async fn ombudsman_cases_determined_and_still_open_are_counted() {
    use redress::case::actions;
    use redress::case::model::{Finding, FindingArea};
    let mut world = crate::support::fakes::FakeWorld::new("").await;
    let mut references = Vec::new();
    for n in 0..3 {
        let at_n = at("2026-05-01T10:00:00Z") + chrono::Duration::days(n);
        let from = format!("om{n}.{}", world.customer);
        let mail = complaint(
            &from,
            &world.complaints,
            &format!("om-{n}@example.net"),
            &format!("Matter {n}"),
            "It was never put right; I want to complain.",
        );
        world.mailbox.deliver(&mail, at_n);
        world.pass(at_n).await;
        references.push(
            world.app.store.list_cases(1).await.expect("cases")[0]
                .reference
                .clone(),
        );
    }
    let app = &world.app;
    let when = at("2026-09-01T10:00:00Z");
    for reference in &references {
        actions::ombudsman(app, reference, "Jo", None, "Referred", when)
            .await
            .expect("referred");
    }
    // The first: two findings on one determination; the second: no maladministration, whole case.
    let later = at("2027-01-10T10:00:00Z");
    for (case, finding, area) in [
        (
            0,
            Finding::Maladministration,
            FindingArea::ComplaintHandling,
        ),
        (0, Finding::ServiceFailure, FindingArea::ServiceDelivery),
        (1, Finding::NoMaladministration, FindingArea::WholeCase),
    ] {
        actions::ombudsman(
            app,
            &references[case],
            "Jo",
            Some((finding, area)),
            "",
            later,
        )
        .await
        .expect("finding");
    }
    let report = financial_year(app, 2026, "2027-04-02T10:00:00Z").await;
    assert_eq!(report.ombudsman_referrals, 3);
    assert_eq!(
        report.ombudsman_determined, 2,
        "two cases, however many findings"
    );
    assert_eq!(
        report.ombudsman_open, 1,
        "the third is still with the Ombudsman"
    );
    assert!(
        report.ombudsman_findings.contains(&(
            "no_maladministration".into(),
            "whole_case".into(),
            1
        )),
        "{:?}",
        report.ombudsman_findings
    );
    let md = redress::report::render::markdown(&report);
    assert!(
        md.contains("| Determined by the Ombudsman in the period | 2 |")
            && md.contains("| Still with the Ombudsman at the period's end | 1 |"),
        "{md}"
    );
}

/// Issue 13: the landlord's own sections go with the figures, in the published report's places:
/// the foreword before them, the self-assessment, learning and the governing body's response
/// after; a section with no file is left out with a warning naming the file.
#[tokio::test(flavor = "multi_thread")]
async fn the_landlords_own_sections_are_placed_around_the_figures() {
    let env = TestEnv::new();
    let dir = env.dir.path().join("narrative");
    std::fs::create_dir(&dir).expect("dir");
    std::fs::write(
        dir.join("foreword.md"),
        "We listened to **every** complaint.",
    )
    .expect("write");
    std::fs::write(
        dir.join("governing-body.md"),
        "The Board reviewed this report on 1 July.",
    )
    .expect("write");
    let config = std::fs::read_to_string(&env.config_path).expect("config");
    std::fs::write(
        &env.config_path,
        format!(
            "{config}\n[report]\nnarrative_dir = \"{}\"\n",
            dir.display()
        ),
    )
    .expect("config");
    let out = year_report(&env, &["--format", "html"]);
    let html = ok(&out);
    let at = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("no {needle} in the page"))
    };
    assert!(at("<strong>every</strong>") < at("Complaints received"));
    assert!(at("Complaints received") < at("The governing body&#x27;s response"));
    assert!(!html.contains("Learning and improvements"));
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(warnings.contains("learning.md"), "{warnings}");
}

/// Issue 13: `--format pdf` prints the page with headless Chromium; pdftoppm turns it into page
/// images (one per page, each a real page) and its text carries the heading and page numbers.
#[tokio::test(flavor = "multi_thread")]
async fn the_report_prints_to_a_numbered_pdf() {
    let env = TestEnv::new();
    let pdf = env.dir.path().join("report.pdf");
    ok(&year_report(
        &env,
        &["--format", "pdf", "--out", &path_str(&pdf)],
    ));
    let bytes = std::fs::read(&pdf).expect("pdf written");
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
    let pages = env.dir.path().join("page");
    let status = std::process::Command::new("pdftoppm")
        .args(["-png", "-r", "50"])
        .arg(&pdf)
        .arg(&pages)
        .status()
        .expect("pdftoppm runs (tests/run.sh installs poppler-utils)");
    assert!(status.success());
    let images: Vec<_> = std::fs::read_dir(env.dir.path())
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("page"))
        .collect();
    assert!(images.len() >= 2, "{} page(s)", images.len());
    for image in &images {
        let png = std::fs::read(image.path()).expect("png");
        assert!(png.starts_with(b"\x89PNG") && png.len() > 2_000);
    }
    let text = std::process::Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("pdftotext");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("Example Homes: complaint handling report"),
        "{text}"
    );
    assert!(text.contains("April 2026 to March 2027"), "{text}");
    assert!(
        text.contains(&format!("Page 1 of {}", images.len())),
        "{text}"
    );
}

/// Records case `n` of a varied record around the year April 2026 to March 2027: received
/// before and in the year, acknowledged in time, late or never, answered in and after the year,
/// extended, escalated and answered again, with and without a service area.
async fn record_varied_case(tx: &mut redress::store::Tx, n: i64) {
    use chrono::Duration;
    use redress::case::deadlines::{Deadline, DeadlineKind};
    use redress::case::model::{CaseKind, EscalationRequest, Event, Outcome, Stage};
    let received = at("2026-01-05T10:00:00Z") + Duration::hours(n * 61);
    let areas = [Some("Repairs"), Some("Communities"), None];
    let case = redress::store::NewCase {
        kind: if n % 11 == 0 {
            CaseKind::Compliment
        } else {
            CaseKind::Complaint
        },
        stage: Some(Stage::Stage1),
        customer_address: Some(format!("t{n}@example.test")),
        customer_name: None,
        subject: "s".into(),
        received_at: received,
        attention_reason: None,
        service_area: areas[(n % 3) as usize].map(str::to_string),
        owner: None,
        themes: if n % 4 == 0 {
            vec!["damp".into()]
        } else {
            Vec::new()
        },
        hazard: None,
        representative: false,
        postal_address: None,
    };
    let id = tx
        .insert_case(&format!("CMP-V-{n:04}"), &case, received)
        .await
        .expect("case");
    let day = |d: i64| received + Duration::days(d);
    let acknowledged = |stage, on_time| Event::Acknowledged {
        stage,
        understanding: None,
        outcome_sought: None,
        due_at: None,
        on_time,
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
    let outcomes = [Outcome::Upheld, Outcome::PartlyUpheld, Outcome::NotUpheld];
    let mut events = Vec::new();
    match n % 5 {
        0 => {
            let late = Deadline {
                kind: DeadlineKind::Stage1Acknowledgement,
                due_at: day(5),
                rule: "6.2".into(),
            };
            tx.insert_deadline(id, &late, received)
                .await
                .expect("deadline");
        }
        1 => events.push((day(7), acknowledged(Stage::Stage1, Some(false)))),
        2 => events.push((day(1), acknowledged(Stage::Stage1, None))),
        _ => events.push((day(1), acknowledged(Stage::Stage1, Some(true)))),
    }
    if n % 7 != 0 {
        if n % 3 == 0 {
            events.push((
                day(8),
                Event::Extended {
                    stage: Stage::Stage1,
                    days: 10,
                    reason: "r".into(),
                    previous_due_at: day(10),
                    due_at: day(20),
                },
            ));
        }
        let answered = day(9 + n % 30);
        events.push((
            answered,
            responded(Stage::Stage1, outcomes[(n % 3) as usize], n % 4 != 1),
        ));
        if n % 6 == 0 {
            events.push((
                answered + Duration::days(3),
                Event::Escalated {
                    from_stage: Stage::Stage1,
                    to_stage: Stage::Stage2,
                    requested_at: answered + Duration::days(3),
                    detail: EscalationRequest::default(),
                },
            ));
            events.push((
                answered + Duration::days(4),
                acknowledged(Stage::Stage2, Some(true)),
            ));
            events.push((
                answered + Duration::days(25),
                responded(Stage::Stage2, Outcome::NotUpheld, n % 12 == 0),
            ));
        }
    }
    for (when, event) in &events {
        tx.insert_event(id, *when, "h", event).await.expect("event");
    }
}

/// Issue 13: a landlord can recompute every figure from the rows. The counts the store makes in
/// SQL agree with the per-case rows over a varied record, on both databases.
#[tokio::test(flavor = "multi_thread")]
async fn the_figures_are_those_of_the_rows_on_both_databases() {
    use redress::report::dashboard::Rate;
    let (from, to) = (
        chrono::NaiveDate::from_ymd_opt(2026, 4, 1).expect("date"),
        chrono::NaiveDate::from_ymd_opt(2027, 3, 31).expect("date"),
    );
    let now = at("2027-06-01T09:00:00Z");
    for db in [Db::Sqlite, Db::Postgres(postgres_database().await)] {
        let env = TestEnv::with(db, "");
        let app = env.app().await;
        let mut tx = app.store.begin().await.expect("tx");
        for n in 0..300 {
            record_varied_case(&mut tx, n).await;
        }
        tx.commit().await.expect("commit");
        let report = redress::report::build(&app, from, to, now)
            .await
            .expect("report");
        let mut lines = Vec::new();
        redress::report::rows::each_line(&app, from, to, now, |line| {
            lines.push(line);
            Ok::<(), redress::store::StoreError>(())
        })
        .await
        .expect("rows");
        let in_year = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.with_timezone(&chrono_tz::Europe::London).date_naive())
                .is_some_and(|d| d >= from && d <= to)
        };
        let received: Vec<_> = lines
            .iter()
            .filter(|l| l.kind == "complaint" && in_year(Some(l.received_at)))
            .collect();
        let rate = |flags: Vec<Option<bool>>| Rate {
            on_time: flags.iter().filter(|f| **f == Some(true)).count() as i64,
            total: flags.iter().filter(|f| f.is_some()).count() as i64,
        };
        assert_eq!(report.stage1.received, received.len() as i64);
        assert_eq!(
            report.stage1.acknowledged_in_time,
            rate(
                received
                    .iter()
                    .map(|l| l.stage1_acknowledged_on_time)
                    .collect()
            )
        );
        let issued: Vec<_> = lines
            .iter()
            .filter(|l| in_year(l.stage1_dates.responded_at))
            .collect();
        assert_eq!(report.stage1.responses_issued, issued.len() as i64);
        assert_eq!(
            report.stage1.responded_in_time,
            rate(
                issued
                    .iter()
                    .map(|l| l.stage1_responded_on_time.or(Some(false)))
                    .collect()
            )
        );
        let extended = issued.iter().filter(|l| l.stage1_extended).count() as i64;
        assert_eq!(report.stage1.extended.on_time, extended);
        let upheld = issued
            .iter()
            .filter(|l| l.stage1_outcome.as_deref() == Some("upheld"))
            .count() as i64;
        assert_eq!(report.stage1.upheld, upheld);
        let reviews: Vec<_> = lines
            .iter()
            .filter(|l| in_year(l.stage2_dates.requested_at))
            .collect();
        assert_eq!(report.stage2.received, reviews.len() as i64);
        let stage2_issued: Vec<_> = lines
            .iter()
            .filter(|l| in_year(l.stage2_dates.responded_at))
            .collect();
        assert_eq!(
            report.stage2.responded_in_time,
            rate(
                stage2_issued
                    .iter()
                    .map(|l| l.stage2_responded_on_time.or(Some(false)))
                    .collect()
            )
        );
        let unassigned = received.iter().filter(|l| l.service_area.is_none()).count() as i64;
        assert!(
            report
                .stage1_by_area
                .iter()
                .any(|(area, n, _)| area == "not yet assigned" && *n == unassigned),
            "{:?}",
            report.stage1_by_area
        );
        assert!(
            report.stage1.received > 50
                && report.stage1.responses_issued > 50
                && report.stage2.received > 5,
            "a varied record: {:?}",
            report.stage1
        );
        app.store.close().await;
    }
}
