//! Fuzz target: any text as a query and as a query file.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            trailscan::fuzz::compile(text);
        }
    });
}
