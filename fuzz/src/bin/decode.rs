//! Fuzz target: any bytes as an object (gzip or not, any shape), read whole and streamed.

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let (step, bytes) = match data.split_first() {
            Some((step, bytes)) => (usize::from(*step), bytes),
            None => (1, data),
        };
        trailscan::fuzz::decode(bytes, step);
    });
}
