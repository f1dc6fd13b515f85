//! The assigned geographic country calling codes, checked without allocation.
//!
//! `E164::parse` asks "does this number start with a country's calling code?"
//! for every lookup, so the answer comes from a 1000-bit static bitmap built at
//! compile time rather than from a scan of the country table. E.164 calling
//! codes form a prefix code (no assigned code is a prefix of another), and a
//! code never starts with 0, so its integer value names it exactly and at most
//! one of the first one, two or three digits can be a code.
//!
//! Only codes used by an ISO 3166-1 country or territory of [`super::table`]
//! are here: the non-geographic codes (800, 808, 870, 878, 881, 882, 883, 888,
//! 979) and +383 (Kosovo, which has no ISO 3166-1 code) belong to no country,
//! and a number without a country cannot be routed or greeted. A test checks
//! that this list and the country table agree both ways.

/// Every calling code listed by the country table, in ascending order.
pub const CALLING_CODES: &[u16] = &[
    1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52, 53, 54, 55, 56, 57, 58, 60,
    61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95, 98, 211, 212, 213, 216, 218, 220, 221, 222, 223,
    224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246,
    247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 290,
    291, 297, 298, 299, 350, 351, 352, 353, 354, 355, 356, 357, 358, 359, 370, 371, 372, 373, 374, 375, 376, 377, 378,
    379, 380, 381, 382, 385, 386, 387, 389, 420, 421, 423, 500, 501, 502, 503, 504, 505, 506, 507, 508, 509, 590, 591,
    592, 593, 594, 595, 596, 597, 598, 599, 670, 672, 673, 674, 675, 676, 677, 678, 679, 680, 681, 682, 683, 685, 686,
    687, 688, 689, 690, 691, 692, 850, 852, 853, 855, 856, 880, 886, 960, 961, 962, 963, 964, 965, 966, 967, 968, 970,
    971, 972, 973, 974, 975, 976, 977, 992, 993, 994, 995, 996, 998,
];

const fn build_bitmap(codes: &[u16]) -> [u64; 16] {
    let mut bits = [0u64; 16];
    let mut i = 0;
    while i < codes.len() {
        let c = codes[i] as usize;
        bits[c / 64] |= 1 << (c % 64);
        i += 1;
    }
    bits
}

static CODE_BITS: [u64; 16] = build_bitmap(CALLING_CODES);

fn is_code(value: usize) -> bool {
    CODE_BITS[value / 64] & (1 << (value % 64)) != 0
}

/// The calling code at the start of `digits` and its length in digits, if
/// `digits` starts with an assigned one. Anything but ASCII digits among the
/// first three characters, or a leading `0`, answers `None`.
pub fn calling_code(digits: &str) -> Option<(u16, usize)> {
    let bytes = digits.as_bytes();
    if bytes.first() == Some(&b'0') {
        return None;
    }
    let mut value = 0usize;
    for (i, &b) in bytes.iter().take(3).enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + usize::from(b - b'0');
        if is_code(value) {
            return Some((value as u16, i + 1));
        }
    }
    None
}

/// Whether `digits` starts with the calling code of some country in the
/// table: the hot-path check of `E164::parse`. No allocation, at most three
/// bitmap probes.
pub fn has_calling_code(digits: &str) -> bool {
    calling_code(digits).is_some()
}
