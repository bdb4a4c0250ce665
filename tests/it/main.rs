//! redress's end-to-end tests: one binary, so one run starts one real mail stack (Dovecot and
//! Postfix on loopback ports, see `support`) shared by every test, each with its own mailboxes
//! and database.

mod support;

mod browser;
mod case_core;
mod chaos;
mod classification;
mod cli;
mod corpus;
mod faults;
mod health;
mod hostile;
mod instances;
mod intake;
mod letters;
mod oauth;
mod outbox;
mod package;
mod public_mail;
mod records;
mod reminders;
mod report;
mod service;
mod web;
mod workflow;
