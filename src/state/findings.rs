//! Findings across runs: each known by a fingerprint, so what was alerted is not reported again.

/// What makes a finding the same from one run to the next: its query and its identity
/// (`eventID`, or the GROUP BY key of an alarm).
pub fn fingerprint(query: &str, identity: &str) -> String {
    // FNV-1a: stable across runs and builds, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in query.bytes().chain([0x1f]).chain(identity.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{query}:{hash:016x}")
}
