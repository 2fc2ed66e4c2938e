//! Integration tests: trailscan run as a user runs it, on the fixtures, third-party samples and moto.
//!
//! One test binary; each topic is a module, in the manner of ripgrep's tests. The tests run
//! the binary only, never the library's insides.

mod analyses;
mod athena;
mod audit;
mod block;
mod cron;
mod detections;
mod docs;
mod errors;
mod hostile;
mod html;
mod investigate;
mod output;
mod queries;
mod regression;
mod s3;
mod samples;
mod sigma;
mod util;
mod verify;
