//! Fuzz target: any bytes as a `--state` file.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        trailscan::fuzz::state(data);
    });
}
