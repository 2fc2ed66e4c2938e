//! The trailscan binary: parse arguments, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;
use trailscan::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match trailscan::run(cli) {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("trailscan: {err:#}");
            ExitCode::from(trailscan::Exit::Error as u8)
        }
    }
}

/// `trailscan … | head` closes the pipe early: that is the reader's choice, not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
