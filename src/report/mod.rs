//! The figures a landlord publishes (the annual complaints performance report), computed from
//! the record's events, not from the cases' current state, so a late answer stays late.
//!
//! A period is a span of local dates, both ends included. Two bases, each labelled on the page:
//! - received: stage 1 complaints received in the period, stage 2 reviews requested in it, and
//!   whether each was acknowledged in time;
//! - issued: stage responses issued in the period, whenever the complaint came: timeliness
//!   (CH02), extensions and outcomes, so a closed year's figures stay the same.
//!
//! An acknowledgement or response counts as on time when its event says it was sent by its
//! deadline; an acknowledgement still missing after its deadline counts as late.
//!
//! Files: [`figures`] (the counts, made in SQL by the store), [`rows`] (one row per case, streamed
//! to CSV or JSON), [`render`] (Markdown and HTML), [`pdf`], [`narrative`] (the landlord's own
//! sections), [`dashboard`] (the managers' live view).

pub mod dashboard;
pub mod figures;
pub mod narrative;
pub mod pdf;
pub mod render;
pub mod rows;

pub use figures::build;
pub use render::{html, markdown};
pub use rows::{ExportError, write_csv, write_json};

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::report::dashboard::Rate;

/// Per-stage figures.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StageFigures {
    /// Complaints (stage 1) received, or reviews (stage 2) requested, in the period.
    pub received: i64,
    /// Of those received, acknowledged within the Code's time.
    pub acknowledged_in_time: Rate,
    /// Of the responses issued in the period, those within the Code's timescales (an extension
    /// the Code allows counting as within).
    pub responded_in_time: Rate,
    /// Stage responses issued in the period (the base of the rows below).
    pub responses_issued: i64,
    /// Of the responses issued in the period, those whose stage had been extended.
    pub extended: Rate,
    /// Of the extended ones, answered by the extended date.
    pub answered_within_extension: i64,
    pub upheld: i64,
    pub partly_upheld: i64,
    pub not_upheld: i64,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct AnnualReport {
    /// The landlord's name, as the page is headed.
    pub organisation: String,
    /// The landlord's own sections (foreword, self-assessment, learning, the governing body's
    /// response) from `report.narrative_dir`, in order.
    pub narrative: Vec<narrative::Section>,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub stage1: StageFigures,
    pub stage2: StageFigures,
    /// Cases given a final answer in the period, by the stage at which they concluded.
    pub resolutions: i64,
    pub concluded_stage1: i64,
    pub concluded_stage2: i64,
    /// Stage 1 complaints by service area: (area, count, percent).
    pub stage1_by_area: Vec<(String, i64, i64)>,
    /// Stage 2 reviews whose response found nothing more to do (not upheld, no actions).
    pub stage2_no_further_action: i64,
    /// Why stage 2 reviews were requested: the handler's recorded reason, or that the customer
    /// asked by mail after the stage 1 response; (reason, count), most first.
    pub escalation_reasons: Vec<(String, i64)>,
    pub refused: i64,
    /// Refusals by the Code 2.2 ground they fall under: (ground, count), most first.
    pub refusal_reasons: Vec<(String, i64)>,
    pub compliments: i64,
    pub feedback: i64,
    pub service_requests: i64,
    /// Themes of stage 1 complaints: (theme, count), most first.
    pub themes: Vec<(String, i64)>,
    pub ombudsman_referrals: i64,
    /// Cases the Ombudsman determined in the period (one however many findings it made).
    pub ombudsman_determined: i64,
    /// Cases referred to the Ombudsman, by the end of the period, with no determination yet.
    pub ombudsman_open: i64,
    /// (finding, area, count).
    pub ombudsman_findings: Vec<(String, String, i64)>,
    /// Stage 1 and 2 complaints from customers, and from neighbours and the wider community.
    pub from_customers: i64,
    pub from_community: i64,
    /// Stage 1 complaints received, and stage 2 reviews requested, in the period from tenants
    /// (customers; neighbours and the wider community are not tenants): CH01's counts.
    pub stage1_from_tenants: i64,
    pub stage2_from_tenants: i64,
    /// CH01: stage 1 and stage 2 complaints from tenants per 1,000 homes (when
    /// `report.homes_owned` is set).
    pub ch01_stage1_per_1000_homes: Option<f64>,
    pub ch01_stage2_per_1000_homes: Option<f64>,
    /// CH02: percent of stage 1 and stage 2 complaints answered within the Code's timescales.
    pub ch02_stage1_percent: i64,
    pub ch02_stage2_percent: i64,
    /// Stage 1 complaints received in this period and the two before it: (period, count), oldest first.
    pub trend: Vec<(String, i64)>,
}

/// One case in the report's rows (CSV, JSON): [`rows`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CaseLine {
    pub reference: String,
    pub kind: String,
    pub received_at: DateTime<Utc>,
    pub source: String,
    pub service_area: Option<String>,
    pub themes: Vec<String>,
    pub stage1_acknowledged_on_time: Option<bool>,
    pub stage1_responded_on_time: Option<bool>,
    pub stage1_extended: bool,
    pub stage1_outcome: Option<String>,
    pub stage2_requested: bool,
    pub stage2_acknowledged_on_time: Option<bool>,
    pub stage2_responded_on_time: Option<bool>,
    pub stage2_extended: bool,
    pub stage2_outcome: Option<String>,
    pub concluded_stage: Option<String>,
    pub refused: bool,
    pub ombudsman_findings: Vec<String>,
    /// When each step of stage 1 and stage 2 happened and was due, so every figure can be
    /// recomputed from the rows.
    pub stage1_dates: StageDates,
    pub stage2_dates: StageDates,
}

/// When a stage's steps happened, and were due.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct StageDates {
    /// Stage 2 only: when the review was asked for.
    pub requested_at: Option<DateTime<Utc>>,
    pub acknowledge_due: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub extended_at: Option<DateTime<Utc>>,
    pub response_due: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
}

impl AnnualReport {
    /// A report for `from..=to` with nothing counted yet.
    /// The period in words, as a landlord writes it: "April 2024 to March 2025", or with days
    /// when it does not run from a month's first day to a month's last.
    pub fn period_in_words(&self) -> String {
        use chrono::Datelike;
        let whole_months =
            self.from.day() == 1 && self.to.succ_opt().is_some_and(|next| next.day() == 1);
        if whole_months {
            format!(
                "{} to {}",
                self.from.format("%B %Y"),
                self.to.format("%B %Y")
            )
        } else {
            format!(
                "{} to {}",
                self.from.format("%-d %B %Y"),
                self.to.format("%-d %B %Y")
            )
        }
    }

    pub fn empty(from: NaiveDate, to: NaiveDate) -> AnnualReport {
        AnnualReport {
            organisation: String::new(),
            narrative: Vec::new(),
            from,
            to,
            stage1: StageFigures::default(),
            stage2: StageFigures::default(),
            resolutions: 0,
            concluded_stage1: 0,
            concluded_stage2: 0,
            stage1_by_area: Vec::new(),
            stage2_no_further_action: 0,
            escalation_reasons: Vec::new(),
            refused: 0,
            refusal_reasons: Vec::new(),
            compliments: 0,
            feedback: 0,
            service_requests: 0,
            themes: Vec::new(),
            ombudsman_referrals: 0,
            ombudsman_determined: 0,
            ombudsman_open: 0,
            ombudsman_findings: Vec::new(),
            from_customers: 0,
            from_community: 0,
            stage1_from_tenants: 0,
            stage2_from_tenants: 0,
            ch01_stage1_per_1000_homes: None,
            ch01_stage2_per_1000_homes: None,
            ch02_stage1_percent: 0,
            ch02_stage2_percent: 0,
            trend: Vec::new(),
        }
    }
}
