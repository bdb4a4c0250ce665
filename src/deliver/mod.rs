//! What goes out: the outbox worker that sends letters, the letters printed and posted to
//! residents without e-mail, and the reminder scheduler that queues reminders and digests.

pub mod outbox;
pub mod post;
pub mod preview;
pub mod queue;
pub mod scheduler;
