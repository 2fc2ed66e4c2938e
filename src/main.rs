//! The trailscan binary: parse arguments, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;
use trailscan::cli::Cli;

/// A scan allocates and frees small values (group keys, row values, parsed events) from
/// several threads: mimalloc spends markedly less time on that than glibc's allocator
/// (figures in BENCHMARKS.md, "The allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    keep_memory_in_small_pages();
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

/// mimalloc maps memory in large aligned spans; where the kernel hands out transparent huge
/// pages (`always`), each 2 MiB page touched counts whole towards the peak RSS (the audit's
/// rose from 105 to 157 MB). mimalloc's own switches only stop it asking for huge pages, not
/// the kernel giving them, hence the process-wide flag. Children (a `credential_process`)
/// inherit it, which does them no harm.
#[cfg(target_os = "linux")]
fn keep_memory_in_small_pages() {
    let (on, unused) = (1 as libc::c_ulong, 0 as libc::c_ulong);
    // SAFETY: PR_SET_THP_DISABLE reads its arguments as integers (passed as the unsigned
    // longs the variadic prctl reads) and touches no memory of ours; a kernel without it
    // returns an error, which leaves everything as it was.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, on, unused, unused, unused);
    }
}

#[cfg(not(target_os = "linux"))]
fn keep_memory_in_small_pages() {}

/// `trailscan … | head` closes the pipe early: that is the reader's choice, not an error.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
