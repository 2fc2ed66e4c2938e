//! Where plain JSON string text stops, found eight bytes at a time: for the reader and the printers.

/// Where the first byte that ends a run of plain string text is: `"`, `\\` or a control
/// character (which JSON forbids raw in a string). Eight bytes at a time: most strings of
/// an event are shorter than a vectorised search takes to set up.
pub fn string_stop(text: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // The lowest flagged byte is exact; flags above a match may be false.
    let below = |word: u64, limit: u8| word.wrapping_sub(ONES * u64::from(limit)) & !word & HIGH;
    let has_byte = |word: u64, byte: u8| below(word ^ (ONES * u64::from(byte)), 1);
    let mut chunks = text.chunks_exact(8);
    let mut at = 0;
    for chunk in chunks.by_ref() {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let found = has_byte(word, b'"') | has_byte(word, b'\\') | below(word, 0x20);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| at + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_at_a_time_search_agrees_with_a_plain_one() {
        let mut text = Vec::new();
        for len in 0..200 {
            for marker in [None, Some(b'"'), Some(b'\\'), Some(b'\n'), Some(0x1f)] {
                for at in [0, 1, 7, 8, 9, 63, 64, 65, 150] {
                    text.clear();
                    text.extend((0..len).map(|i| b"ab\xc3\xa9 x:{}"[i % 7]));
                    if let Some(byte) = marker.filter(|_| at < len) {
                        text[at] = byte;
                    }
                    let plain = text
                        .iter()
                        .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
                    assert_eq!(string_stop(&text), plain, "{len} {at} {marker:?}");
                }
            }
        }
    }
}
