//! How a run ended, as the process exit status: clean, findings, or an error.

/// How a run ended, as the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Ran, and found nothing at or above `--fail-on`.
    Clean = 0,
    /// Ran, and found something (or lint found problems).
    Findings = 1,
    /// Bad arguments, some input could not be read, or an alert could not be sent.
    Error = 2,
}
