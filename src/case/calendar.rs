//! Working-day calendar: which days count, and the arithmetic every deadline rests on.
//!
//! Pure logic, no I/O: the caller hands in the bank-holiday feed's text and the closure days.
//! Times are converted to the landlord's time zone (Europe/London by default, BST/GMT included)
//! before any day is counted. A mail received at or after close of business, or on a day that is
//! not a working day, counts as received on the next working day; counting starts the working day
//! after receipt, so "5 working days" from Monday 10:00 is the following Monday at close of business.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Deserialize;

/// Why a calendar could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("bank holidays file is not in the GOV.UK feed format: {0}")]
    Format(#[from] serde_json::Error),
    #[error(
        "bank holidays file has no division `{0}` (choose england-and-wales, scotland or northern-ireland)"
    )]
    UnknownDivision(String),
    #[error("bank holidays file has a bad date `{date}` in division `{division}`")]
    BadDate { division: String, date: String },
}

/// One division of the GOV.UK feed (`https://www.gov.uk/bank-holidays.json`).
#[derive(Debug, Deserialize)]
struct FeedDivision {
    events: Vec<FeedEvent>,
}

#[derive(Debug, Deserialize)]
struct FeedEvent {
    title: String,
    date: String,
}

/// Parses the GOV.UK bank-holiday feed and returns the holidays of one division, date → title.
pub fn parse_bank_holidays(
    feed_json: &str,
    division: &str,
) -> Result<BTreeMap<NaiveDate, String>, CalendarError> {
    let feed: HashMap<String, FeedDivision> = serde_json::from_str(feed_json)?;
    let events = feed
        .get(division)
        .ok_or_else(|| CalendarError::UnknownDivision(division.to_string()))?;
    events
        .events
        .iter()
        .map(|event| {
            NaiveDate::parse_from_str(&event.date, "%Y-%m-%d")
                .map(|date| (date, event.title.clone()))
                .map_err(|_| CalendarError::BadDate {
                    division: division.to_string(),
                    date: event.date.clone(),
                })
        })
        .collect()
}

/// Why a day is not a working day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NonWorkingReason {
    Weekend,
    BankHoliday(String),
    Closure(String),
}

impl std::fmt::Display for NonWorkingReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NonWorkingReason::Weekend => write!(f, "weekend"),
            NonWorkingReason::BankHoliday(title) => write!(f, "bank holiday: {title}"),
            NonWorkingReason::Closure(title) => write!(f, "closure: {title}"),
        }
    }
}

/// The landlord's working-day calendar.
#[derive(Debug, Clone)]
pub struct Calendar {
    tz: Tz,
    close_of_business: NaiveTime,
    holidays: BTreeMap<NaiveDate, String>,
    closures: BTreeMap<NaiveDate, String>,
}

impl Calendar {
    /// A calendar in `tz` whose working day ends at `close_of_business`.
    pub fn new(
        tz: Tz,
        close_of_business: NaiveTime,
        holidays: BTreeMap<NaiveDate, String>,
        closures: BTreeMap<NaiveDate, String>,
    ) -> Self {
        Self {
            tz,
            close_of_business,
            holidays,
            closures,
        }
    }

    /// The same calendar without the landlord's own closures: statutory clocks (Awaab's Law)
    /// count weekends and bank holidays only.
    pub fn without_closures(&self) -> Calendar {
        Calendar {
            closures: BTreeMap::new(),
            ..self.clone()
        }
    }

    /// The time zone days are counted in.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The last holiday date the calendar knows, if any.
    pub fn holidays_known_until(&self) -> Option<NaiveDate> {
        self.holidays.keys().next_back().copied()
    }

    /// Holidays known, date → title.
    pub fn holidays(&self) -> &BTreeMap<NaiveDate, String> {
        &self.holidays
    }

    /// Why `day` is not a working day, or `None` when it is one.
    pub fn non_working_reason(&self, day: NaiveDate) -> Option<NonWorkingReason> {
        if let Some(title) = self.holidays.get(&day) {
            return Some(NonWorkingReason::BankHoliday(title.clone()));
        }
        if let Some(title) = self.closures.get(&day) {
            return Some(NonWorkingReason::Closure(title.clone()));
        }
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            return Some(NonWorkingReason::Weekend);
        }
        None
    }

    /// Monday to Friday, not a bank holiday, not a closure day.
    pub fn is_working_day(&self, day: NaiveDate) -> bool {
        !matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
            && !self.holidays.contains_key(&day)
            && !self.closures.contains_key(&day)
    }

    /// The first working day strictly after `day`.
    pub fn next_working_day(&self, day: NaiveDate) -> NaiveDate {
        let mut next = day + Duration::days(1);
        while !self.is_working_day(next) {
            next += Duration::days(1);
        }
        next
    }

    /// The working day `n` working days after `day` (counting starts the day after `day`).
    /// With `n == 0` it is `day` itself when that is a working day, else the next one.
    pub fn add_working_days(&self, day: NaiveDate, n: u32) -> NaiveDate {
        if n == 0 {
            return if self.is_working_day(day) {
                day
            } else {
                self.next_working_day(day)
            };
        }
        let mut current = day;
        for _ in 0..n {
            current = self.next_working_day(current);
        }
        current
    }

    /// The working day `n` working days before `day` (`n == 0`: `day` if it is a working day,
    /// else the working day before it).
    pub fn sub_working_days(&self, day: NaiveDate, n: u32) -> NaiveDate {
        let mut current = day;
        if n == 0 {
            while !self.is_working_day(current) {
                current -= Duration::days(1);
            }
            return current;
        }
        for _ in 0..n {
            current -= Duration::days(1);
            while !self.is_working_day(current) {
                current -= Duration::days(1);
            }
        }
        current
    }

    /// Working days in the span after `from` up to and including `to`; negative when `to` is
    /// before `from`. `working_days_between(d, add_working_days(d, n)) == n`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let mut count = 0;
        let mut day = from + Duration::days(1);
        while day <= to {
            if self.is_working_day(day) {
                count += 1;
            }
            day += Duration::days(1);
        }
        count
    }

    /// The non-working days strictly after `from` up to and including `to`, with the reason each is skipped.
    pub fn skipped_days(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Vec<(NaiveDate, NonWorkingReason)> {
        let mut skipped = Vec::new();
        let mut day = from + Duration::days(1);
        while day <= to {
            if let Some(reason) = self.non_working_reason(day) {
                skipped.push((day, reason));
            }
            day += Duration::days(1);
        }
        skipped
    }

    /// The local date of an instant in the calendar's time zone.
    pub fn local_date(&self, instant: DateTime<Utc>) -> NaiveDate {
        instant.with_timezone(&self.tz).date_naive()
    }

    /// The first instant of `day`, local time (the hour after a gap where midnight is skipped).
    pub fn start_of_day(&self, day: NaiveDate) -> DateTime<Utc> {
        let midnight = day.and_time(chrono::NaiveTime::MIN);
        (0..3)
            .find_map(|h| {
                self.tz
                    .from_local_datetime(&(midnight + Duration::hours(h)))
                    .earliest()
            })
            .map_or_else(
                || Utc.from_utc_datetime(&midnight),
                |t| t.with_timezone(&Utc),
            )
    }

    /// Close of business on `day`, as an instant.
    pub fn close_of_business(&self, day: NaiveDate) -> DateTime<Utc> {
        let local = day.and_time(self.close_of_business);
        match self.tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(earliest, _) => earliest.with_timezone(&Utc),
            // A close of business inside a spring-forward gap: take the same wall time an hour later.
            chrono::LocalResult::None => self
                .tz
                .from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&local)),
        }
    }

    /// The deadline `n` working days after an event at `instant`: close of business on the
    /// `n`th working day counted after the day it happened, as `calendar add DAY n` counts.
    /// Only a mail that came after close of business on a working day counts from the next
    /// working day (the day it is taken to be received); one that came on a non-working day is
    /// counted from that day, so the first working day after it is day 1 (a Saturday mail + 5 is
    /// the Friday, not the Monday after).
    pub fn deadline_after(&self, instant: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let local = instant.with_timezone(&self.tz);
        let day = local.date_naive();
        let start = if self.is_working_day(day) && local.time() >= self.close_of_business {
            self.next_working_day(day)
        } else {
            day
        };
        self.close_of_business(self.add_working_days(start, n))
    }

    /// Working days left from `now` until `due` (negative when overdue): whole working days
    /// between today's date and the due date, in the calendar's zone.
    pub fn working_days_left(&self, now: DateTime<Utc>, due: DateTime<Utc>) -> i64 {
        self.working_days_between(self.local_date(now), self.local_date(due))
    }
}

/// What the pure rules' unit tests share: England and Wales's calendar from the shipped feed.
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    pub(crate) const FEED: &str = include_str!("../../config/bank-holidays.json");

    /// Europe/London, close of business 17:00, England and Wales's bank holidays, no closures.
    pub(crate) fn england() -> Calendar {
        Calendar::new(
            chrono_tz::Europe::London,
            NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
            parse_bank_holidays(FEED, "england-and-wales").expect("feed"),
            BTreeMap::new(),
        )
    }

    pub(crate) fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("test instant")
            .with_timezone(&Utc)
    }

    pub(crate) fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{FEED, d, england, utc};
    use super::*;

    #[test]
    fn shipped_feed_has_the_pinned_england_and_wales_dates() {
        let holidays = parse_bank_holidays(FEED, "england-and-wales").expect("feed");
        let pinned = [
            "2024-01-01",
            "2024-03-29",
            "2024-04-01",
            "2024-05-06",
            "2024-05-27",
            "2024-08-26",
            "2024-12-25",
            "2024-12-26",
            "2025-01-01",
            "2025-04-18",
            "2025-04-21",
            "2025-05-05",
            "2025-05-26",
            "2025-08-25",
            "2025-12-25",
            "2025-12-26",
            "2026-01-01",
            "2026-04-03",
            "2026-04-06",
            "2026-05-04",
            "2026-05-25",
            "2026-08-31",
            "2026-12-25",
            "2026-12-28",
            "2027-01-01",
            "2027-03-26",
            "2027-03-29",
            "2027-05-03",
            "2027-05-31",
            "2027-08-30",
            "2027-12-27",
            "2027-12-28",
        ];
        let shipped: Vec<NaiveDate> = holidays
            .keys()
            .copied()
            .filter(|day| (2024..=2027).contains(&day.year()))
            .collect();
        let expected: Vec<NaiveDate> = pinned.iter().map(|s| d(s)).collect();
        assert_eq!(shipped, expected);
    }

    #[test]
    fn shipped_feed_covers_2018_to_2028_for_every_division() {
        for division in ["england-and-wales", "scotland", "northern-ireland"] {
            let holidays = parse_bank_holidays(FEED, division).expect("division");
            let first = holidays.keys().next().expect("some");
            let last = holidays.keys().next_back().expect("some");
            assert!(first.year() <= 2018, "{division} starts {first}");
            assert!(last.year() >= 2028, "{division} ends {last}");
        }
    }

    #[test]
    fn unknown_division_is_named() {
        let err = parse_bank_holidays(FEED, "wales").expect_err("no such division");
        assert!(err.to_string().contains("`wales`"));
    }

    #[test]
    fn add_working_days_table() {
        let cal = england();
        let cases = [
            // (start, n, expected, why)
            ("2026-11-23", 5, "2026-11-30", "Monday + 5 is next Monday"),
            (
                "2026-11-27",
                1,
                "2026-11-30",
                "Friday + 1 skips the weekend",
            ),
            ("2026-11-28", 1, "2026-11-30", "Saturday + 1 is Monday"),
            (
                "2026-04-02",
                1,
                "2026-04-07",
                "Easter 2026: Good Friday and Easter Monday skipped",
            ),
            ("2025-04-17", 2, "2025-04-23", "Easter 2025"),
            ("2024-03-28", 1, "2024-04-02", "Easter 2024"),
            (
                "2026-12-24",
                1,
                "2026-12-29",
                "Christmas 2026: 25th and substitute 28th skipped",
            ),
            ("2026-12-24", 3, "2026-12-31", "Christmas 2026 continued"),
            ("2026-12-31", 1, "2027-01-04", "New Year 2027 on a Friday"),
            (
                "2027-12-24",
                1,
                "2027-12-29",
                "Christmas 2027: substitutes 27th and 28th",
            ),
            ("2027-03-25", 1, "2027-03-30", "Easter 2027"),
            ("2026-08-28", 1, "2026-09-01", "August bank holiday 2026"),
            (
                "2026-11-23",
                0,
                "2026-11-23",
                "zero days from a working day is that day",
            ),
            (
                "2026-11-28",
                0,
                "2026-11-30",
                "zero days from a Saturday is Monday",
            ),
            ("2026-11-20", 10, "2026-12-04", "ten working days"),
            (
                "2026-12-18",
                10,
                "2027-01-06",
                "ten days across Christmas and New Year 2026",
            ),
        ];
        for (start, n, expected, why) in cases {
            assert_eq!(cal.add_working_days(d(start), n), d(expected), "{why}");
        }
    }

    #[test]
    fn closure_week_is_skipped_and_reported() {
        let closures = (0..3)
            .map(|i| {
                (
                    d("2026-12-29") + Duration::days(i),
                    "Christmas shutdown".to_string(),
                )
            })
            .collect();
        let cal = Calendar::new(
            chrono_tz::Europe::London,
            NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
            parse_bank_holidays(FEED, "england-and-wales").expect("feed"),
            closures,
        );
        // 24 Dec (Thu) + 1: 25 (BH), 26/27 weekend, 28 (BH), 29-31 closure, 1 Jan (BH), 2/3 weekend → 4 Jan.
        assert_eq!(cal.add_working_days(d("2026-12-24"), 1), d("2027-01-04"));
        let skipped = cal.skipped_days(d("2026-12-24"), d("2027-01-04"));
        assert_eq!(skipped.len(), 10);
        assert_eq!(
            skipped[4],
            (
                d("2026-12-29"),
                NonWorkingReason::Closure("Christmas shutdown".into())
            )
        );
        assert_eq!(
            cal.working_days_between(d("2026-12-24"), d("2027-01-04")),
            1
        );
    }

    #[test]
    fn deadlines_from_receipt_instants() {
        let cal = england();
        // Monday 10:00 + 5 → next Monday 17:00.
        assert_eq!(
            cal.deadline_after(utc("2026-11-23T10:00:00Z"), 5),
            utc("2026-11-30T17:00:00Z")
        );
        // 16:59 counts today, 17:00 and 17:01 count tomorrow.
        assert_eq!(
            cal.deadline_after(utc("2026-11-23T16:59:00Z"), 5),
            utc("2026-11-30T17:00:00Z")
        );
        assert_eq!(
            cal.deadline_after(utc("2026-11-23T17:00:00Z"), 5),
            utc("2026-12-01T17:00:00Z")
        );
        assert_eq!(
            cal.deadline_after(utc("2026-11-23T17:01:00Z"), 5),
            utc("2026-12-01T17:00:00Z")
        );
        // A Saturday mail + 5 is the Friday, as `calendar add 2026-11-28 5` says (it was the
        // Monday after: one working day late).
        assert_eq!(
            cal.deadline_after(utc("2026-11-28T09:00:00Z"), 5),
            utc("2026-12-04T17:00:00Z")
        );
        assert_eq!(cal.add_working_days(d("2026-11-28"), 5), d("2026-12-04"));
        // Close of business in summer is 16:00 UTC.
        assert_eq!(
            cal.deadline_after(utc("2026-07-06T09:00:00Z"), 1),
            utc("2026-07-07T16:00:00Z")
        );
    }

    #[test]
    fn the_night_the_clocks_change() {
        let cal = england();
        // Clocks go forward 01:00 UTC on Sunday 29 March 2026. Friday 27 March 16:30 UTC is
        // 16:30 GMT (before close); + 1 → Monday 30 March, whose close is 16:00 UTC (17:00 BST).
        assert_eq!(
            cal.deadline_after(utc("2026-03-27T16:30:00Z"), 1),
            utc("2026-03-30T16:00:00Z")
        );
        // Clocks go back 01:00 UTC on Sunday 25 October 2026: 23:30 UTC on Saturday is Saturday.
        assert_eq!(cal.local_date(utc("2026-10-24T23:30:00Z")), d("2026-10-25"));
        // Counted from that Sunday: + 1 is Monday 26 October.
        assert_eq!(
            cal.deadline_after(utc("2026-10-24T23:30:00Z"), 1),
            utc("2026-10-26T17:00:00Z")
        );
        // Monday 26 October is GMT again: close of business 17:00 UTC.
        assert_eq!(
            cal.close_of_business(d("2026-10-26")),
            utc("2026-10-26T17:00:00Z")
        );
        // A mail at 16:30 UTC on Friday 23 October (17:30 BST) is after close: counted from
        // Monday 26, so + 1 is Tuesday 27.
        assert_eq!(
            cal.deadline_after(utc("2026-10-23T16:30:00Z"), 1),
            utc("2026-10-27T17:00:00Z")
        );
    }

    #[test]
    fn subtracting_skips_the_christmas_bank_holiday_weekend() {
        let cal = england();
        assert_eq!(cal.sub_working_days(d("2026-12-30"), 2), d("2026-12-24"));
        assert_eq!(cal.sub_working_days(d("2026-12-29"), 1), d("2026-12-24"));
        assert_eq!(cal.sub_working_days(d("2026-11-30"), 2), d("2026-11-26"));
        assert_eq!(cal.sub_working_days(d("2026-11-29"), 0), d("2026-11-27"));
    }

    #[test]
    fn between_counts_working_days_after_start() {
        let cal = england();
        assert_eq!(
            cal.working_days_between(d("2026-11-23"), d("2026-11-30")),
            5
        );
        assert_eq!(
            cal.working_days_between(d("2026-11-30"), d("2026-11-23")),
            -5
        );
        assert_eq!(
            cal.working_days_between(d("2026-11-23"), d("2026-11-23")),
            0
        );
        assert_eq!(
            cal.working_days_between(d("2026-12-24"), d("2027-01-04")),
            4
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_date() -> impl Strategy<Value = NaiveDate> {
            (0i64..(365 * 9)).prop_map(|offset| d("2019-01-01") + Duration::days(offset))
        }

        proptest! {
            #[test]
            fn adding_lands_on_a_working_day(start in any_date(), n in 0u32..60) {
                let cal = england();
                prop_assert!(cal.is_working_day(cal.add_working_days(start, n)));
            }

            #[test]
            fn between_inverts_add(start in any_date(), n in 1u32..60) {
                let cal = england();
                let end = cal.add_working_days(start, n);
                prop_assert_eq!(cal.working_days_between(start, end), i64::from(n));
            }

            #[test]
            fn adding_is_monotonic(start in any_date(), n in 0u32..60, extra in 0i64..30) {
                let cal = england();
                prop_assert!(cal.add_working_days(start, n) <= cal.add_working_days(start, n + 1));
                let later = start + Duration::days(extra);
                prop_assert!(cal.add_working_days(start, n) <= cal.add_working_days(later, n));
            }

            /// The deadline engine and `calendar add` agree for every receipt on a non-working
            /// day and every receipt before close of business on a working day.
            #[test]
            fn deadlines_agree_with_calendar_add(secs in 1_546_300_800i64..1_830_000_000, n in 1u32..30) {
                let cal = england();
                let instant = DateTime::from_timestamp(secs, 0).expect("in range");
                let local = instant.with_timezone(&cal.time_zone());
                let day = local.date_naive();
                let before_close = local.time() < NaiveTime::from_hms_opt(17, 0, 0).expect("time");
                prop_assume!(!cal.is_working_day(day) || before_close);
                let due = cal.deadline_after(instant, n);
                prop_assert_eq!(cal.local_date(due), cal.add_working_days(day, n));
            }

            #[test]
            fn deadlines_are_at_close_of_business_on_a_working_day(secs in 1_546_300_800i64..1_830_000_000, n in 1u32..30) {
                let cal = england();
                let instant = DateTime::from_timestamp(secs, 0).expect("in range");
                let due = cal.deadline_after(instant, n);
                prop_assert!(due > instant);
                let local = due.with_timezone(&cal.time_zone());
                prop_assert_eq!(local.time(), NaiveTime::from_hms_opt(17, 0, 0).expect("time"));
                prop_assert!(cal.is_working_day(local.date_naive()));
            }
        }
    }
}
