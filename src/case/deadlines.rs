//! The Complaint Handling Code's timescales, turned into dated deadlines for a case.
//!
//! Pure logic on top of [`Calendar`]: given what happened and when, it says what is due by when
//! and which rule set it. Every number is configurable ([`DeadlinePolicy`]); the defaults are the
//! Housing Ombudsman's Complaint Handling Code 2024, which wins over the 2021 procedure where the
//! two differ. Later deadlines are recomputed when an earlier step happens: the stage 1 response is
//! due 10 working days after the *actual* acknowledgement, not the planned one.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::case::calendar::Calendar;

/// Who sends the Code's acknowledgement. Code 6.2 (2024): a stage 1 complaint must be
/// "acknowledged, defined and logged" within five working days, the definition being our
/// understanding of the complaint and the outcome sought (as quoted in landlords' published
/// 2024 Code self-assessments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcknowledgementMode {
    /// A handler writes it; it is a task due N working days after receipt (the default).
    Handler,
    /// The automatic receipt sent at once counts as the acknowledgement.
    Automatic,
}

/// The timescales, in working days unless named in hours.
#[derive(Debug, Clone)]
pub struct DeadlinePolicy {
    pub acknowledgement: AcknowledgementMode,
    pub stage1_acknowledge_days: u32,
    pub stage1_response_days: u32,
    pub stage1_extension_max_days: u32,
    pub stage2_acknowledge_days: u32,
    pub stage2_response_days: u32,
    pub stage2_extension_max_days: u32,
    /// The procedure's informal "feedback" stage: off by default, as the Code has two stages
    /// only and no informal stage before them.
    pub feedback_stage: bool,
    pub feedback_response_days: u32,
    pub awaab_emergency_hours: u32,
    pub awaab_investigation_days: u32,
    pub awaab_summary_days: u32,
    pub awaab_safety_work_days: u32,
    /// Awaab's Law came into force on 27 October 2025: hazards reported before get no statutory
    /// clock (they are still flagged and triaged).
    pub awaab_start: chrono::NaiveDate,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        Self {
            acknowledgement: AcknowledgementMode::Handler,
            stage1_acknowledge_days: 5,
            stage1_response_days: 10,
            stage1_extension_max_days: 10,
            stage2_acknowledge_days: 5,
            stage2_response_days: 20,
            stage2_extension_max_days: 20,
            feedback_stage: false,
            feedback_response_days: 1,
            awaab_emergency_hours: 24,
            awaab_investigation_days: 10,
            awaab_summary_days: 3,
            awaab_safety_work_days: 5,
            awaab_start: chrono::NaiveDate::from_ymd_opt(2025, 10, 27).unwrap_or_default(),
        }
    }
}

pub use crate::case::model::Stage;

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    Stage1Acknowledgement,
    Stage1Response,
    Stage2Acknowledgement,
    Stage2Response,
    FeedbackResponse,
    AwaabEmergencyMakeSafe,
    AwaabInvestigation,
    AwaabWrittenSummary,
    AwaabSafetyWork,
    /// An action promised in a response, tracked until it is done.
    OutstandingAction,
}

impl DeadlineKind {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineKind::Stage1Acknowledgement => "stage1_acknowledgement",
            DeadlineKind::Stage1Response => "stage1_response",
            DeadlineKind::Stage2Acknowledgement => "stage2_acknowledgement",
            DeadlineKind::Stage2Response => "stage2_response",
            DeadlineKind::FeedbackResponse => "feedback_response",
            DeadlineKind::AwaabEmergencyMakeSafe => "awaab_emergency_make_safe",
            DeadlineKind::AwaabInvestigation => "awaab_investigation",
            DeadlineKind::AwaabWrittenSummary => "awaab_written_summary",
            DeadlineKind::AwaabSafetyWork => "awaab_safety_work",
            DeadlineKind::OutstandingAction => "outstanding_action",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            DeadlineKind::Stage1Acknowledgement,
            DeadlineKind::Stage1Response,
            DeadlineKind::Stage2Acknowledgement,
            DeadlineKind::Stage2Response,
            DeadlineKind::FeedbackResponse,
            DeadlineKind::AwaabEmergencyMakeSafe,
            DeadlineKind::AwaabInvestigation,
            DeadlineKind::AwaabWrittenSummary,
            DeadlineKind::AwaabSafetyWork,
            DeadlineKind::OutstandingAction,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == name)
    }

    /// What is due, in words for a handler.
    pub fn describe(self) -> &'static str {
        match self {
            DeadlineKind::Stage1Acknowledgement => "stage 1 acknowledgement",
            DeadlineKind::Stage1Response => "stage 1 response",
            DeadlineKind::Stage2Acknowledgement => "stage 2 acknowledgement",
            DeadlineKind::Stage2Response => "stage 2 response",
            DeadlineKind::FeedbackResponse => "feedback response",
            DeadlineKind::AwaabEmergencyMakeSafe => {
                "Awaab's Law: investigate and make safe (emergency)"
            }
            DeadlineKind::AwaabInvestigation => "Awaab's Law: investigate the hazard",
            DeadlineKind::AwaabWrittenSummary => {
                "Awaab's Law: written summary of the investigation"
            }
            DeadlineKind::AwaabSafetyWork => "Awaab's Law: start safety work",
            DeadlineKind::OutstandingAction => "an action promised in a response",
        }
    }
}

/// One dated obligation on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub kind: DeadlineKind,
    pub due_at: DateTime<Utc>,
    /// The rule that set it, in words (quoted to handlers and kept with the case).
    pub rule: String,
}

/// How serious a hazard is (Awaab's Law).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HazardSeverity {
    Emergency,
    Significant,
}

/// Extensions already granted at a stage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PriorExtensions {
    /// How many extensions were granted.
    pub count: u32,
    /// Working days granted in all.
    pub days: u32,
}

/// Why an extension was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtensionError {
    #[error(
        "an extension of {requested} working days is beyond the {max} allowed at this stage ({used} already used)"
    )]
    TooLong { requested: u32, max: u32, used: u32 },
    #[error("stage 1 allows one extension only (Code §6.4); one was already given")]
    AlreadyExtended,
    #[error("an extension must be at least one working day")]
    Zero,
}

impl DeadlinePolicy {
    /// The deadlines of a new stage 1 complaint received at `received_at`.
    pub fn new_complaint(&self, calendar: &Calendar, received_at: DateTime<Utc>) -> Vec<Deadline> {
        match self.acknowledgement {
            AcknowledgementMode::Automatic => vec![Deadline {
                kind: DeadlineKind::Stage1Response,
                due_at: calendar.deadline_after(received_at, self.stage1_response_days),
                rule: format!(
                    "Code §6.3: {} working days after the acknowledgement (the automatic receipt)",
                    self.stage1_response_days
                ),
            }],
            AcknowledgementMode::Handler => {
                let ack_due = calendar.deadline_after(received_at, self.stage1_acknowledge_days);
                vec![
                    Deadline {
                        kind: DeadlineKind::Stage1Acknowledgement,
                        due_at: ack_due,
                        rule: format!(
                            "Code §6.2: acknowledge within {} working days of receipt",
                            self.stage1_acknowledge_days
                        ),
                    },
                    self.provisional_response(calendar, Stage::Stage1, ack_due),
                ]
            }
        }
    }

    /// The deadlines of a stage 2 review requested at `requested_at`.
    pub fn escalation(&self, calendar: &Calendar, requested_at: DateTime<Utc>) -> Vec<Deadline> {
        let ack_due = calendar.deadline_after(requested_at, self.stage2_acknowledge_days);
        vec![
            Deadline {
                kind: DeadlineKind::Stage2Acknowledgement,
                due_at: ack_due,
                rule: format!(
                    "Code §6.11: acknowledge within {} working days of the escalation request",
                    self.stage2_acknowledge_days
                ),
            },
            self.provisional_response(calendar, Stage::Stage2, ack_due),
        ]
    }

    fn response_days(&self, stage: Stage) -> u32 {
        match stage {
            Stage::Stage1 => self.stage1_response_days,
            Stage::Stage2 => self.stage2_response_days,
        }
    }

    fn response_kind(stage: Stage) -> DeadlineKind {
        match stage {
            Stage::Stage1 => DeadlineKind::Stage1Response,
            Stage::Stage2 => DeadlineKind::Stage2Response,
        }
    }

    fn provisional_response(
        &self,
        calendar: &Calendar,
        stage: Stage,
        ack_due: DateTime<Utc>,
    ) -> Deadline {
        let days = self.response_days(stage);
        let ack_day = calendar.local_date(ack_due);
        Deadline {
            kind: Self::response_kind(stage),
            due_at: calendar.close_of_business(calendar.add_working_days(ack_day, days)),
            rule: format!(
                "{}: {days} working days after the acknowledgement (provisional: counted from the acknowledgement's due date until it is sent)",
                if stage == Stage::Stage1 {
                    "Code §6.3"
                } else {
                    "Code §6.14"
                }
            ),
        }
    }

    /// The response deadline once the acknowledgement was actually sent at `acknowledged_at`.
    pub fn after_acknowledgement(
        &self,
        calendar: &Calendar,
        stage: Stage,
        acknowledged_at: DateTime<Utc>,
    ) -> Deadline {
        let days = self.response_days(stage);
        Deadline {
            kind: Self::response_kind(stage),
            due_at: calendar.deadline_after(acknowledged_at, days),
            rule: format!(
                "{}: {days} working days after the acknowledgement sent {}",
                if stage == Stage::Stage1 {
                    "Code §6.3"
                } else {
                    "Code §6.14"
                },
                acknowledged_at
                    .with_timezone(&calendar.time_zone())
                    .format("%Y-%m-%d %H:%M")
            ),
        }
    }

    /// The response deadline moved by an extension of `days` working days, given the days
    /// already granted at this stage.
    pub fn extension(
        &self,
        calendar: &Calendar,
        stage: Stage,
        current_due: DateTime<Utc>,
        days: u32,
        prior: PriorExtensions,
        reason: &str,
    ) -> Result<Deadline, ExtensionError> {
        if days == 0 {
            return Err(ExtensionError::Zero);
        }
        let max = match stage {
            Stage::Stage1 => {
                if prior.count > 0 {
                    return Err(ExtensionError::AlreadyExtended);
                }
                self.stage1_extension_max_days
            }
            Stage::Stage2 => self.stage2_extension_max_days,
        };
        if prior.days + days > max {
            return Err(ExtensionError::TooLong {
                requested: days,
                max,
                used: prior.days,
            });
        }
        let due_day = calendar.local_date(current_due);
        Ok(Deadline {
            kind: Self::response_kind(stage),
            due_at: calendar.close_of_business(calendar.add_working_days(due_day, days)),
            rule: format!(
                "{}: extended by {days} working days (reason: {reason})",
                if stage == Stage::Stage1 {
                    "Code §6.4"
                } else {
                    "Code §6.15"
                }
            ),
        })
    }

    /// The procedure's feedback stage deadline, when config turns that stage on.
    pub fn feedback(&self, calendar: &Calendar, received_at: DateTime<Utc>) -> Option<Deadline> {
        self.feedback_stage.then(|| Deadline {
            kind: DeadlineKind::FeedbackResponse,
            due_at: calendar.deadline_after(received_at, self.feedback_response_days),
            rule: format!(
                "procedure §4.7: contact by close of business {} working day(s) after receipt",
                self.feedback_response_days
            ),
        })
    }

    /// Awaab's Law's first clock for a hazard reported at `reported_at` (Hazards in Social Housing
    /// (Prescribed Requirements) (England) Regulations 2025): an emergency is investigated and
    /// made safe within 24 hours (hours, not working days); a significant hazard is investigated
    /// within 10 working days. Statutory clocks ignore the landlord's own closures. Nothing for a
    /// report before the law's start.
    pub fn awaab(
        &self,
        calendar: &Calendar,
        severity: HazardSeverity,
        reported_at: DateTime<Utc>,
    ) -> Vec<Deadline> {
        if calendar.local_date(reported_at) < self.awaab_start {
            return Vec::new();
        }
        let statutory = calendar.without_closures();
        vec![match severity {
            HazardSeverity::Emergency => Deadline {
                kind: DeadlineKind::AwaabEmergencyMakeSafe,
                due_at: reported_at + Duration::hours(i64::from(self.awaab_emergency_hours)),
                rule: format!(
                    "Awaab's Law: emergency hazard, investigate and make safe within {} hours",
                    self.awaab_emergency_hours
                ),
            },
            HazardSeverity::Significant => Deadline {
                kind: DeadlineKind::AwaabInvestigation,
                due_at: statutory.deadline_after(reported_at, self.awaab_investigation_days),
                rule: format!(
                    "Awaab's Law: significant hazard, investigate within {} working days",
                    self.awaab_investigation_days
                ),
            },
        }]
    }

    /// The clocks that start when an investigation is recorded as concluded at `concluded_at`:
    /// a written summary to the resident within 3 working days, and safety work begun within 5.
    pub fn after_investigation(
        &self,
        calendar: &Calendar,
        concluded_at: DateTime<Utc>,
    ) -> Vec<Deadline> {
        let statutory = calendar.without_closures();
        vec![
            Deadline {
                kind: DeadlineKind::AwaabWrittenSummary,
                due_at: statutory.deadline_after(concluded_at, self.awaab_summary_days),
                rule: format!(
                    "Awaab's Law: written summary within {} working days of the investigation concluding",
                    self.awaab_summary_days
                ),
            },
            Deadline {
                kind: DeadlineKind::AwaabSafetyWork,
                due_at: statutory.deadline_after(concluded_at, self.awaab_safety_work_days),
                rule: format!(
                    "Awaab's Law: safety work begun within {} working days of the investigation concluding",
                    self.awaab_safety_work_days
                ),
            },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> Calendar {
        crate::case::calendar::testing::england()
    }

    use crate::case::calendar::testing::utc;

    fn due(deadlines: &[Deadline], kind: DeadlineKind) -> DateTime<Utc> {
        deadlines
            .iter()
            .find(|d| d.kind == kind)
            .map(|d| d.due_at)
            .expect("deadline present")
    }

    #[test]
    fn stage1_with_a_handler_acknowledgement() {
        let policy = DeadlinePolicy::default();
        // Monday 23 Nov 2026 10:00 → ack due Monday 30 Nov; response provisional 10 days later, 14 Dec.
        let d = policy.new_complaint(&calendar(), utc("2026-11-23T10:00:00Z"));
        assert_eq!(
            due(&d, DeadlineKind::Stage1Acknowledgement),
            utc("2026-11-30T17:00:00Z")
        );
        assert_eq!(
            due(&d, DeadlineKind::Stage1Response),
            utc("2026-12-14T17:00:00Z")
        );
        // Acknowledged on Wednesday 25 Nov at 11:00 → response due 9 Dec.
        let r =
            policy.after_acknowledgement(&calendar(), Stage::Stage1, utc("2026-11-25T11:00:00Z"));
        assert_eq!(r.due_at, utc("2026-12-09T17:00:00Z"));
        assert!(r.rule.contains("§6.3"));
    }

    #[test]
    fn stage1_with_the_automatic_receipt_as_acknowledgement() {
        let policy = DeadlinePolicy {
            acknowledgement: AcknowledgementMode::Automatic,
            ..DeadlinePolicy::default()
        };
        let d = policy.new_complaint(&calendar(), utc("2026-11-23T10:00:00Z"));
        assert_eq!(d.len(), 1);
        assert_eq!(
            due(&d, DeadlineKind::Stage1Response),
            utc("2026-12-07T17:00:00Z")
        );
    }

    #[test]
    fn stage1_across_christmas_2026() {
        let policy = DeadlinePolicy::default();
        // Friday 18 Dec 2026 09:00: ack + 5 → 21,22,23,24,29 → Tue 29 Dec.
        let d = policy.new_complaint(&calendar(), utc("2026-12-18T09:00:00Z"));
        assert_eq!(
            due(&d, DeadlineKind::Stage1Acknowledgement),
            utc("2026-12-29T17:00:00Z")
        );
        // + 10 from 29 Dec: 30, 31, 4, 5, 6, 7, 8, 11, 12, 13 Jan.
        assert_eq!(
            due(&d, DeadlineKind::Stage1Response),
            utc("2027-01-13T17:00:00Z")
        );
    }

    #[test]
    fn stage2_deadlines() {
        let policy = DeadlinePolicy::default();
        let d = policy.escalation(&calendar(), utc("2026-11-23T10:00:00Z"));
        assert_eq!(
            due(&d, DeadlineKind::Stage2Acknowledgement),
            utc("2026-11-30T17:00:00Z")
        );
        // 20 working days after 30 Nov: December has 25 and 28 as holidays → 30 Dec.
        assert_eq!(
            due(&d, DeadlineKind::Stage2Response),
            utc("2026-12-30T17:00:00Z")
        );
    }

    #[test]
    fn extensions_are_bounded() {
        let policy = DeadlinePolicy::default();
        let cal = calendar();
        let current = utc("2026-12-09T17:00:00Z");
        let extended = policy
            .extension(
                &cal,
                Stage::Stage1,
                current,
                10,
                PriorExtensions::default(),
                "awaiting a surveyor's report",
            )
            .expect("within limit");
        assert_eq!(extended.due_at, utc("2026-12-23T17:00:00Z"));
        assert!(extended.rule.contains("surveyor"));
        assert_eq!(
            policy.extension(
                &cal,
                Stage::Stage1,
                current,
                11,
                PriorExtensions::default(),
                "x"
            ),
            Err(ExtensionError::TooLong {
                requested: 11,
                max: 10,
                used: 0
            })
        );
        assert_eq!(
            policy.extension(
                &cal,
                Stage::Stage1,
                current,
                2,
                PriorExtensions { count: 1, days: 2 },
                "x"
            ),
            Err(ExtensionError::AlreadyExtended)
        );
        // Code 6.15: stage 2 may be extended by up to 20 working days; stage 1 stays at 10 (6.4).
        let stage2 = policy
            .extension(
                &cal,
                Stage::Stage2,
                current,
                20,
                PriorExtensions::default(),
                "x",
            )
            .expect("20 at stage 2");
        assert!(stage2.rule.contains("§6.15"), "{}", stage2.rule);
        assert_eq!(
            policy.extension(
                &cal,
                Stage::Stage2,
                current,
                21,
                PriorExtensions::default(),
                "x"
            ),
            Err(ExtensionError::TooLong {
                requested: 21,
                max: 20,
                used: 0
            })
        );
        assert!(
            policy
                .extension(
                    &cal,
                    Stage::Stage2,
                    current,
                    5,
                    PriorExtensions { count: 1, days: 5 },
                    "x"
                )
                .is_ok()
        );
        assert!(
            policy
                .extension(
                    &cal,
                    Stage::Stage2,
                    current,
                    16,
                    PriorExtensions { count: 1, days: 5 },
                    "x"
                )
                .is_err(),
            "20 working days in all at stage 2 (6.15)"
        );
    }

    #[test]
    fn feedback_stage_only_when_turned_on() {
        let cal = calendar();
        assert!(
            DeadlinePolicy::default()
                .feedback(&cal, utc("2026-11-23T10:00:00Z"))
                .is_none()
        );
        let on = DeadlinePolicy {
            feedback_stage: true,
            ..DeadlinePolicy::default()
        };
        let d = on.feedback(&cal, utc("2026-11-27T10:00:00Z")).expect("on");
        assert_eq!(d.due_at, utc("2026-11-30T17:00:00Z"));
    }

    #[test]
    fn awaabs_law_runs_on_its_own_clock() {
        let policy = DeadlinePolicy::default();
        let cal = calendar();
        let emergency = policy.awaab(&cal, HazardSeverity::Emergency, utc("2026-11-28T22:00:00Z"));
        assert_eq!(
            emergency[0].due_at,
            utc("2026-11-29T22:00:00Z"),
            "24 hours, weekend or not"
        );
        let significant = policy.awaab(
            &cal,
            HazardSeverity::Significant,
            utc("2026-11-23T10:00:00Z"),
        );
        assert_eq!(
            due(&significant, DeadlineKind::AwaabInvestigation),
            utc("2026-12-07T17:00:00Z")
        );
        assert_eq!(
            significant.len(),
            1,
            "the later clocks wait for the investigation"
        );
        // They run from the recorded conclusion, not from the investigation's deadline.
        let after = policy.after_investigation(&cal, utc("2026-11-25T15:00:00Z"));
        assert_eq!(
            due(&after, DeadlineKind::AwaabWrittenSummary),
            utc("2026-11-30T17:00:00Z")
        );
        assert_eq!(
            due(&after, DeadlineKind::AwaabSafetyWork),
            utc("2026-12-02T17:00:00Z")
        );
    }

    /// Statutory clocks ignore the landlord's own closures; reports before 27 October 2025 get none.
    #[test]
    fn awaabs_law_ignores_closures_and_starts_on_27_october_2025() {
        use crate::case::calendar::Calendar;
        use std::collections::BTreeMap;
        let policy = DeadlinePolicy::default();
        let england = calendar();
        let closures: BTreeMap<_, _> = (24..=30)
            .map(|d| {
                let day = chrono::NaiveDate::from_ymd_opt(2026, 11, d).expect("day");
                (day, "office move".to_string())
            })
            .collect();
        let closed = Calendar::new(
            england.time_zone(),
            chrono::NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
            england.holidays().clone(),
            closures,
        );
        let significant = |cal: &Calendar| {
            due(
                &policy.awaab(
                    cal,
                    HazardSeverity::Significant,
                    utc("2026-11-23T10:00:00Z"),
                ),
                DeadlineKind::AwaabInvestigation,
            )
        };
        assert_eq!(significant(&closed), significant(&england));
        let before = policy.awaab(
            &england,
            HazardSeverity::Emergency,
            utc("2025-10-26T10:00:00Z"),
        );
        assert!(before.is_empty());
        let on = policy.awaab(
            &england,
            HazardSeverity::Emergency,
            utc("2025-10-27T10:00:00Z"),
        );
        assert_eq!(on.len(), 1);
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in [DeadlineKind::Stage1Response, DeadlineKind::AwaabSafetyWork] {
            assert_eq!(DeadlineKind::parse(kind.as_str()), Some(kind));
        }
    }
}
