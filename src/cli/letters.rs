//! `redress letters …`: the letters a person prints and posts to residents without e-mail.

use anyhow::Result;

use std::path::PathBuf;

use clap::Subcommand;

use crate::app::App;
use crate::clock::Clock;
use crate::deliver::post;

#[derive(Debug, Subcommand)]
pub enum LettersCommand {
    /// List the letters waiting to be posted; with --out, write each as a printable HTML document.
    ToPost {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Show a letter as it would go out, from the templates on disk: sample data, or a real
    /// case's reference, name and dates with --case; the HTML part with --html.
    Preview {
        /// The letter kind: receipt, acknowledgement, extension, response, ... (an unknown kind lists them).
        kind: String,
        #[arg(long)]
        case: Option<String>,
        #[arg(long)]
        html: bool,
    },
    /// Record that a letter was printed and posted.
    Posted {
        id: i64,
        #[arg(long, default_value = "Complaints Team")]
        by: String,
    },
}

/// Runs `redress letters …` and prints what it did.
pub(super) async fn letters(app: &App, command: LettersCommand, clock: &Clock) -> Result<()> {
    match command {
        LettersCommand::ToPost { out: Some(dir) } => {
            let printed = post::print_all(app, &dir).await?;
            for (item, path) in &printed {
                println!(
                    "{:>6}  {}  {}",
                    item.letter.id,
                    item.letter.kind,
                    path.display()
                );
            }
            println!("{} letter(s) to print and post", printed.len());
        }
        LettersCommand::ToPost { out: None } => {
            let waiting = post::waiting(app).await?;
            for item in &waiting {
                let reference = item.case.as_ref().map_or("-", |c| c.reference.as_str());
                println!(
                    "{:>6}  {:<18} {:<16} {}",
                    item.letter.id, reference, item.letter.kind, item.letter.subject
                );
            }
            println!("{} letter(s) to post", waiting.len());
        }
        LettersCommand::Preview { kind, case, html } => {
            print!(
                "{}",
                crate::deliver::preview::preview(app, &kind, case.as_deref(), html).await?
            );
        }
        LettersCommand::Posted { id, by } => {
            let letter = post::posted(app, id, &by, clock.now()).await?;
            println!("letter {} ({}) recorded as posted", letter.id, letter.kind);
        }
    }
    Ok(())
}
