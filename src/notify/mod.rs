//! Alerts: one message per query with new findings, composed and sent by a notifier.
//!
//! A notifier is one `Notifier`: SNS, or a dry run that prints the messages. A new one is
//! a file here and a line where the configuration builds it.

mod dry_run;
mod message;
pub mod sns;

pub use dry_run::DryRun;
pub use message::{Message, Notifier, SendError, blocking, compose, test_message};
