//! The end-to-end benchmark's baseline: read and inflate every file below a folder, nothing else.
//!
//!     cargo build --release --example inflate
//!     target/release/examples/inflate CORPUS [--threads N]
//!
//! It prints `N objects, B bytes uncompressed`, what trailscan's own read and inflate path
//! costs before any JSON is parsed.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut root = None;
    let mut threads = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--threads" => threads = args.next().and_then(|n| n.parse::<usize>().ok()),
            _ => root = Some(PathBuf::from(arg)),
        }
    }
    let Some(root) = root else {
        eprintln!("usage: inflate FOLDER [--threads N]");
        std::process::exit(2);
    };
    let mut files = Vec::new();
    walk(&root, &mut files);
    let inflate = || {
        (files.par_iter())
            .map(|path| std::fs::read(path).map_or(0, trailscan::bench::inflated_len) as u64)
            .sum::<u64>()
    };
    let bytes = match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .expect("worker threads start")
            .install(inflate),
        None => inflate(),
    };
    println!("{} objects, {bytes} bytes uncompressed", files.len());
}

/// Every file below `dir` that trailscan would scan there: not hidden, and no links.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        match entry.file_type() {
            Ok(kind) if kind.is_dir() => walk(&entry.path(), files),
            Ok(kind) if kind.is_file() => files.push(entry.path()),
            _ => {}
        }
    }
}
