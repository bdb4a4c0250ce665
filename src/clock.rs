//! The clock every command reads: the real time, or the real time shifted so that it started at
//! a chosen instant (`--now`), for tests and replays. Time still moves on a shifted clock, so a
//! daemon started with `--now` behaves like one started at that moment.

use chrono::{DateTime, Duration, Utc};

/// A clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    offset: Duration,
}

impl Clock {
    /// The real time.
    pub fn system() -> Self {
        Self {
            offset: Duration::zero(),
        }
    }

    /// A clock that reads `start` now and moves on from there.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            offset: start - Utc::now(),
        }
    }

    /// The current time on this clock.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shifted_clock_starts_where_asked_and_moves_on() {
        let start = DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .expect("instant")
            .with_timezone(&Utc);
        let clock = Clock::starting_at(start);
        let first = clock.now();
        assert!((first - start).num_seconds().abs() <= 1);
        assert!(clock.now() >= first);
        assert!((Clock::system().now() - Utc::now()).num_seconds().abs() <= 1);
    }
}
