//! `redress calendar …`: working-day arithmetic, to check a date by hand.

use anyhow::Result;
use chrono::NaiveDate;
use clap::Subcommand;

use super::parse_date;
use crate::app::Rules;

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// The date N working days after DATE, and the days skipped.
    Add {
        #[arg(value_parser = parse_date)]
        date: NaiveDate,
        n: u32,
    },
    /// Working days after A up to and including B, and the days skipped.
    Between {
        #[arg(value_parser = parse_date)]
        from: NaiveDate,
        #[arg(value_parser = parse_date)]
        to: NaiveDate,
    },
}

pub(super) fn calendar(rules: &Rules, command: CalendarCommand) -> Result<()> {
    let cal = &rules.calendar;
    let (from, to, answer) = match command {
        CalendarCommand::Add { date, n } => {
            let end = cal.add_working_days(date, n);
            (
                date,
                end,
                format!(
                    "{n} working days after {} is {}",
                    date.format("%a %Y-%m-%d"),
                    end.format("%a %Y-%m-%d")
                ),
            )
        }
        CalendarCommand::Between { from, to } => {
            let n = cal.working_days_between(from, to);
            (
                from.min(to),
                from.max(to),
                format!(
                    "{n} working days after {} up to and including {}",
                    from.format("%a %Y-%m-%d"),
                    to.format("%a %Y-%m-%d")
                ),
            )
        }
    };
    println!("{answer}");
    let skipped = cal.skipped_days(from, to);
    if skipped.is_empty() {
        println!("no days skipped");
    } else {
        println!("days skipped:");
        for (day, reason) in skipped {
            println!("  {}  {reason}", day.format("%a %Y-%m-%d"));
        }
    }
    Ok(())
}
