//! `redress outbox …`: the letters not yet sent, and putting one back or cancelling it.

use anyhow::Result;
use clap::Subcommand;

use crate::app::App;
use crate::clock::Clock;
use crate::deliver::queue;

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// Letters not yet sent: waiting, being retried, given up, or to post.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Put a waiting or given-up letter back in the queue, due now.
    Retry {
        id: i64,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
    /// Cancel an unsent letter (the reason is recorded on its case).
    Cancel {
        id: i64,
        #[arg(long)]
        reason: String,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
}

/// Runs `redress outbox …` and prints what it did.
pub(super) async fn outbox(app: &App, command: OutboxCommand, clock: &Clock) -> Result<()> {
    match command {
        OutboxCommand::List { json } => {
            let letters = queue::unsent(app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&letters)?);
                return Ok(());
            }
            for l in &letters {
                let next = l
                    .next_attempt_at
                    .map_or("-".to_string(), |t| app.rules.calendar_time(t));
                println!(
                    "{:>6}  {:<18} {:<16} {:<8} attempts {:<3} next {}  {}",
                    l.id,
                    l.reference.as_deref().unwrap_or("-"),
                    l.kind,
                    l.status,
                    l.attempts,
                    next,
                    l.last_error.as_deref().unwrap_or("")
                );
            }
            println!("{} letter(s) not yet sent", letters.len());
        }
        OutboxCommand::Retry { id, by } => {
            let letter = queue::retry(app, id, &by, clock.now()).await?;
            println!(
                "letter {} ({}) queued again, due now",
                letter.id, letter.kind
            );
        }
        OutboxCommand::Cancel { id, reason, by } => {
            let letter = queue::cancel(app, id, &by, &reason, clock.now()).await?;
            println!("letter {} ({}) cancelled", letter.id, letter.kind);
        }
    }
    Ok(())
}
