//! `redress cases …`: the cases on record, listed or shown whole.

use anyhow::Result;
use clap::Subcommand;

use crate::app::App;
use crate::clock::Clock;
use crate::store::CaseDetail;

#[derive(Debug, Subcommand)]
pub enum CasesCommand {
    /// The most recent cases.
    List {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Everything on record about one case.
    Show {
        reference: String,
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn cases(app: &App, command: CasesCommand, clock: &Clock) -> Result<()> {
    match command {
        CasesCommand::List { json, limit } => {
            let cases = app.store.list_cases(limit).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&cases)?);
            } else {
                println!(
                    "REFERENCE          KIND        STAGE   STATUS  RECEIVED          ATTENTION"
                );
                for case in cases {
                    println!(
                        "{:<18} {:<11} {:<7} {:<7} {:<17} {}",
                        case.reference,
                        case.kind,
                        case.stage.map_or("-", |s| s.as_str()),
                        case.status,
                        app.rules.calendar_time(case.received_at),
                        case.attention_reason.as_deref().unwrap_or("")
                    );
                }
            }
        }
        CasesCommand::Show { reference, json } => {
            let detail = app
                .store
                .case_detail(&reference.to_ascii_uppercase())
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&detail)?);
            } else {
                print_case(app, &detail, clock);
            }
        }
    }
    Ok(())
}

fn print_case(app: &App, detail: &CaseDetail, clock: &Clock) {
    let case = &detail.case;
    let rules = &app.rules;
    println!(
        "{}  {} {}  ({})",
        case.reference,
        case.kind,
        case.stage.map_or("", |s| s.as_str()),
        case.status
    );
    println!(
        "customer: {} <{}>",
        case.customer_name.as_deref().unwrap_or("-"),
        case.customer_address.as_deref().unwrap_or("-")
    );
    println!("subject:  {}", case.subject);
    println!("received: {}", rules.calendar_time(case.received_at));
    if let Some(reason) = &case.attention_reason {
        println!("NEEDS ATTENTION: {reason}");
    }
    println!("\ndeadlines:");
    for d in &detail.deadlines {
        let left = rules.calendar.working_days_left(clock.now(), d.due_at);
        println!(
            "  #{:<5} {:<24} due {}  ({} working days left) [{}]  {}",
            d.id,
            d.kind,
            rules.calendar_time(d.due_at),
            left,
            d.status,
            d.rule
        );
    }
    println!("\nmessages:");
    for m in &detail.messages {
        println!(
            "  {} {}  {}  {} bytes, {} attachment(s)  <{}>",
            m.direction,
            rules.calendar_time(m.received_at),
            m.subject,
            m.size,
            m.attachments.len(),
            m.message_id
        );
    }
    println!("\nletters:");
    for l in &detail.letters {
        println!(
            "  {:<10} {:<8} to {}  {}",
            l.kind, l.status, l.to_address, l.subject
        );
    }
    println!("\nevents:");
    for e in &detail.events {
        // A replayed action (`--now`) shows when and by which account it was really recorded.
        let replayed = match (e.recorded_at, &e.recorded_by) {
            (Some(real), by) if (real - e.at).num_minutes().abs() > 1 => format!(
                "  [recorded {} by {}]",
                rules.calendar_time(real),
                by.as_deref().unwrap_or("?")
            ),
            _ => String::new(),
        };
        println!(
            "  {}  {:<24} by {:<9} {}{replayed}",
            rules.calendar_time(e.at),
            e.kind,
            e.actor,
            e.detail
        );
    }
}
