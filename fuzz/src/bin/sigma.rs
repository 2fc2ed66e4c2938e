//! Fuzz target: any text as a Sigma rule file.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            trailscan::fuzz::sigma(text);
        }
    });
}
