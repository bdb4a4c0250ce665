//! redress: runs a social housing landlord's complaints mailbox under the Housing Ombudsman's
//! Complaint Handling Code.
//!
//! Data flows one way: mailbox ([`mailbox`]) → parse ([`mail`]) → classify ([`classify`]) →
//! record ([`intake`], [`store`]) → send ([`outbox`]). Pure logic ([`calendar`], [`deadlines`],
//! [`classify`], [`letters`], [`reference`]) has no I/O; I/O sits at the edges.

pub mod app;
pub mod calendar;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod dashboard;
pub mod deadlines;
pub mod intake;
pub mod letters;
pub mod mail;
pub mod mailbox;
pub mod outbox;
pub mod reference;
pub mod report;
pub mod scheduler;
pub mod store;
pub mod tls;
pub mod workflow;
