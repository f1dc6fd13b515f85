//! A number's position in the snapshot's fst, as a `u64`.
//!
//! The fst orders keys by their digit bytes (`"1555"` < `"15550"` < `"16"`),
//! which is not numeric order. Sorting millions of numbers by that order must
//! not format each one into a string, so [`Key`] packs the digits scaled to 15
//! places and the digit count into one integer whose numeric order is exactly
//! the fst's byte order, and turns back into digits without allocating.

use didroute_shared::e164::MAX_DIGITS;
use didroute_shared::E164;

/// `10^k` for `k` in `0..=15`.
const POW10: [u64; 16] = {
    let mut t = [1u64; 16];
    let mut i = 1;
    while i < 16 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Sort key of a digit string of at most 15 digits with no leading zero:
/// `value * 10^(15 - len) * 16 + len`.
///
/// Why this matches byte order: padding both strings on the right with `'0'`
/// to 15 places keeps their order except that a string and the same string
/// followed by zeros become equal; the length in the low bits breaks that tie
/// the way bytes do (the prefix first). `10^15 * 16 < 2^64`, so it fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key(u64);

impl Key {
    pub(crate) fn of(number: E164) -> Key {
        let mut buf = [0u8; 20];
        let len = number.digits(&mut buf).len();
        Key::pack(number.as_u64(), len)
    }

    /// Rebuilds a key from fst key bytes; `None` when they are not 1 to 15
    /// ASCII digits (never the case for keys this crate wrote).
    pub(crate) fn from_digits(digits: &[u8]) -> Option<Key> {
        if digits.is_empty() || digits.len() > MAX_DIGITS || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = digits.iter().fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'));
        Some(Key::pack(value, digits.len()))
    }

    fn pack(value: u64, len: usize) -> Key {
        Key((value * POW10[MAX_DIGITS - len]) << 4 | len as u64)
    }

    fn len(self) -> usize {
        (self.0 & 0xf) as usize
    }

    fn value(self) -> u64 {
        (self.0 >> 4) / POW10[MAX_DIGITS - self.len()]
    }

    /// The digits (no `+`), as the fst stores them.
    pub(crate) fn digits(self, buf: &mut [u8; MAX_DIGITS]) -> &[u8] {
        let len = self.len();
        let mut value = self.value();
        for slot in buf[..len].iter_mut().rev() {
            *slot = b'0' + (value % 10) as u8;
            value /= 10;
        }
        &buf[..len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits_of(k: Key) -> Vec<u8> {
        let mut buf = [0u8; MAX_DIGITS];
        k.digits(&mut buf).to_vec()
    }

    #[test]
    fn key_order_is_byte_order() {
        let mut inputs: Vec<&[u8]> = vec![
            b"1555",
            b"15550",
            b"155500",
            b"1555000",
            b"15551",
            b"16",
            b"1",
            b"999999999999999",
            b"10",
            b"100",
            b"4420794600",
            b"442079460000",
            b"4420794600000",
            b"2",
            b"19",
        ];
        let mut by_key = inputs.clone();
        by_key.sort_by_key(|d| Key::from_digits(d).unwrap());
        inputs.sort();
        assert_eq!(by_key, inputs);
    }

    #[test]
    fn digits_round_trip() {
        for d in [&b"1"[..], b"10", b"100000000000000", b"999999999999999", b"15551234567", b"1555123456700"] {
            assert_eq!(digits_of(Key::from_digits(d).unwrap()), d);
        }
        let n = E164::parse("+442079460000").unwrap();
        assert_eq!(digits_of(Key::of(n)), b"442079460000");
        assert_eq!(Key::of(n), Key::from_digits(b"442079460000").unwrap());
    }

    #[test]
    fn rejects_what_is_not_a_key() {
        assert_eq!(Key::from_digits(b""), None);
        assert_eq!(Key::from_digits(b"12a"), None);
        assert_eq!(Key::from_digits(b"1234567890123456"), None);
    }
}
