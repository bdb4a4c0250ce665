//! What goes out: the outbox worker that sends letters, and the reminder scheduler that queues
//! reminders and digests.

pub mod outbox;
pub mod scheduler;
