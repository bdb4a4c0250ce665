//! `[calendar]`: the time zone, close of business, bank holidays and the landlord's closures.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::{NaiveDate, NaiveTime};
use serde::Deserialize;

use super::{Base, ConfigError, invalid, parse_date, parse_time};
use crate::case::calendar::{Calendar, parse_bank_holidays};

/// Where the working-day calendar comes from.
#[derive(Debug, Clone)]
pub struct CalendarSettings {
    pub time_zone: chrono_tz::Tz,
    pub division: String,
    pub holidays_file: PathBuf,
    pub close_of_business: NaiveTime,
    pub closures: BTreeMap<NaiveDate, String>,
}

impl CalendarSettings {
    /// Reads the holidays file and builds the calendar.
    pub fn load(&self) -> Result<Calendar, ConfigError> {
        let text = std::fs::read_to_string(&self.holidays_file).map_err(|e| {
            invalid(
                "calendar.holidays_file",
                format!("cannot read {}: {e}", self.holidays_file.display()),
                "point it at a copy of https://www.gov.uk/bank-holidays.json (one ships as config/bank-holidays.json)",
            )
        })?;
        let holidays = parse_bank_holidays(&text, &self.division).map_err(|e| {
            invalid(
                "calendar.division",
                e.to_string(),
                "use england-and-wales, scotland or northern-ireland, and a file in the GOV.UK feed format",
            )
        })?;
        Ok(Calendar::new(
            self.time_zone,
            self.close_of_business,
            holidays,
            self.closures.clone(),
        ))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCalendar {
    time_zone: Option<String>,
    division: Option<String>,
    holidays_file: Option<PathBuf>,
    close_of_business: Option<String>,
    closures: Option<Vec<RawClosure>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClosure {
    from: String,
    to: Option<String>,
    title: Option<String>,
}

/// `[calendar]`.
pub(super) fn build(raw: RawCalendar, base: &Base<'_>) -> Result<CalendarSettings, ConfigError> {
    let tz_name = raw.time_zone.unwrap_or_else(|| "Europe/London".into());
    let time_zone: chrono_tz::Tz = tz_name.parse().map_err(|_| {
        invalid(
            "calendar.time_zone",
            format!("`{tz_name}` is not an IANA time zone"),
            "use \"Europe/London\"",
        )
    })?;
    let cob_text = raw.close_of_business.unwrap_or_else(|| "17:00".into());
    Ok(CalendarSettings {
        time_zone,
        division: raw.division.unwrap_or_else(|| "england-and-wales".into()),
        holidays_file: base.resolve(
            raw.holidays_file
                .unwrap_or_else(|| PathBuf::from("bank-holidays.json")),
        ),
        close_of_business: parse_time(&cob_text, "calendar.close_of_business", "17:00")?,
        closures: closures(raw.closures.unwrap_or_default())?,
    })
}

/// Each day of each closure, with its title.
fn closures(raw: Vec<RawClosure>) -> Result<BTreeMap<NaiveDate, String>, ConfigError> {
    let mut closures = BTreeMap::new();
    for (i, closure) in raw.into_iter().enumerate() {
        let key = format!("calendar.closures[{i}]");
        let from = parse_date(&closure.from, &key)?;
        let to = match closure.to {
            Some(to) => parse_date(&to, &key)?,
            None => from,
        };
        if to < from {
            return Err(invalid(
                &key,
                format!("`to` {to} is before `from` {from}"),
                "swap the dates",
            ));
        }
        let title = closure.title.unwrap_or_else(|| "office closed".into());
        for day in from.iter_days().take_while(|day| *day <= to) {
            closures.insert(day, title.clone());
        }
    }
    Ok(closures)
}
