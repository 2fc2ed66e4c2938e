//! The dry run: each message printed on stderr, as it would be sent, and nothing sent.

use std::io::Write;

use super::message::{Message, Notifier, SendError};

pub struct DryRun {
    topic: String,
}

impl DryRun {
    pub fn new(topic: &str) -> DryRun {
        DryRun {
            topic: topic.to_owned(),
        }
    }
}

impl Notifier for DryRun {
    fn target(&self) -> &str {
        &self.topic
    }

    fn send(&self, message: &Message) -> Result<bool, SendError> {
        let mut stderr = std::io::stderr().lock();
        let shown = writeln!(
            stderr,
            "--- SNS message to {} (dry run, not sent)\nSubject: {}\nAttributes: query={}, severity={}\n\n{}",
            self.topic, message.subject, message.query, message.severity, message.body
        );
        shown?;
        Ok(false)
    }
}
