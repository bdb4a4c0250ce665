//! redress: runs a social housing landlord's complaints mailbox under the Housing Ombudsman's
//! Complaint Handling Code 2024.
//!
//! # Layout: the tree reads as the pipeline
//!
//! Data flows one way: mailbox → parse → classify → case core → store → deliver.
//!
//! - [`intake`]: the edge where mail comes in: the IMAP [`intake::mailbox`], parsing
//!   ([`intake::mail`]), classification ([`intake::classify`], with what people taught it in
//!   [`intake::learned`]) and recording one mail.
//! - [`case`]: the case core: every change to a case is decided there as a plan (from a mail,
//!   a handler's action, the outbox or the scheduler) and written by one `apply`; beside it the
//!   working-day [`case::calendar`], the Code's [`case::deadlines`], [`case::letters`] and the
//!   typed record ([`case::model`]).
//! - [`store`]: the database (SQLite or PostgreSQL); it owns every query.
//! - [`deliver`]: what goes out: the [`deliver::outbox`] worker, letters to post
//!   ([`deliver::post`]), outbox operations ([`deliver::queue`]), [`deliver::preview`] and the
//!   reminder [`deliver::scheduler`].
//! - [`report`]: the published figures and the managers' dashboard.
//! - [`records`]: personal data through its life (retention purge, subject access export,
//!   erasure, backups); what a purge keeps is decided in [`case::retention`].
//! - [`config`]: typed settings; [`app`]: everything built from them once at start;
//!   [`tokens`]: OAuth2 tokens for mailboxes that take no password; [`tls`]: TLS set-up.
//! - [`web`]: the staff web app and residents' pages, and [`accounts`]: who may sign in.
//! - Operations: [`health`] (is redress well, alerts), [`service`] (systemd notify and
//!   watchdog), [`logs`] (journald-ready logging).
//! - [`cli`] and [`daemon`]: thin callers; `main.rs` only parses the command line.
//!
//! Pure logic (calendar, deadlines, classification, letters) has no I/O; I/O sits at the edges.

pub mod accounts;
pub mod app;
pub mod case;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod health;
pub mod intake;
pub mod logs;
pub mod records;
pub mod report;
pub mod service;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod web;
