//! The base's index: numbers grouped by 1,000-block.
//!
//! Carriers allocate numbers in blocks of 1,000 (everything but the last three
//! digits fixed) and tenants own parts of blocks, so a real data set has
//! a few hundred thousand busy blocks and a tail of blocks holding one or two
//! scattered numbers. The index exploits that:
//!
//! - a [`Directory`]: an open-addressing hash table from block id
//!   (`number / 1000`) to the byte offset of the block's container, one
//!   probe (one cache line) per lookup;
//! - a container per block in one byte arena (`data`), laid out in block
//!   order:
//!
//!   ```text
//!   flags u8 (bit 7: bitmap; bits 0-3: width) | count u16 | palette_len u16
//!   members: bitmap of 1,024 bits (16 u64)  or  count sorted u16 offsets
//!   indexes: count x width bits, one palette index per member, in order
//!   palette: palette_len x u32 record ids
//!   ```
//!
//!   A member's rank within its block (popcount or list position) selects
//!   its palette index; the palette maps that to a record (route, version)
//!   shared across the base. Busy blocks use a bitmap (0.64 bytes per number
//!   at 20% fill) and a 1-3 bit palette index; a scattered number costs its
//!   directory slot and an 11-byte container.
//!
//! Every read is bounds-checked (`get`), so a corrupt arena answers "not
//! found" instead of panicking; snapshot files are checksummed before use.

/// Bit 7 of the flags byte: the members are a bitmap.
const BITMAP: u8 = 0x80;
const HEADER: usize = 5;
const BITMAP_BYTES: usize = 128;
/// At or below this many members a sorted list is smaller than a bitmap.
const LIST_MAX: usize = BITMAP_BYTES / 2;
/// Reads of the packed indexes take 8 bytes at a time: the arena ends with
/// this much zero padding so the last one stays in bounds.
pub(crate) const PADDING: usize = 8;

#[inline]
fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

#[inline]
fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

#[inline]
fn u64_at(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

/// Bits needed to tell `n` palette entries apart.
fn width_for(n: usize) -> u8 {
    if n <= 1 {
        0
    } else {
        (usize::BITS - (n - 1).leading_zeros()) as u8
    }
}

/// Appends the container of one block: `members` are `(offset in block,
/// record id)` with distinct offsets in ascending order, at least one.
pub(crate) fn encode(out: &mut Vec<u8>, members: &[(u16, u32)], palette: &mut Vec<u32>) {
    debug_assert!(!members.is_empty() && members.len() <= 1000);
    palette.clear();
    palette.extend(members.iter().map(|m| m.1));
    palette.sort_unstable();
    palette.dedup();
    let width = width_for(palette.len());
    let bitmap = members.len() > LIST_MAX;
    out.push(width | if bitmap { BITMAP } else { 0 });
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(palette.len() as u16).to_le_bytes());
    if bitmap {
        let mut words = [0u64; 16];
        for &(o, _) in members {
            words[usize::from(o) / 64] |= 1 << (o % 64);
        }
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
    } else {
        for &(o, _) in members {
            out.extend_from_slice(&o.to_le_bytes());
        }
    }
    if width > 0 {
        let start = out.len();
        let bytes = (members.len() * usize::from(width)).div_ceil(8);
        out.resize(start + bytes, 0);
        for (i, &(_, record)) in members.iter().enumerate() {
            // The palette is sorted: the index is the position.
            let index = palette.binary_search(&record).expect("record is in the palette") as u64;
            let bit = i * usize::from(width);
            let mut v = index << (bit % 8);
            let mut at = start + bit / 8;
            while v != 0 {
                out[at] |= v as u8;
                v >>= 8;
                at += 1;
            }
        }
    }
    for &p in palette.iter() {
        out.extend_from_slice(&p.to_le_bytes());
    }
}

/// The record id of the member at `offset` (0..1000) of the block whose
/// container starts at `at`, if it is a member.
#[inline]
pub(crate) fn probe(data: &[u8], at: usize, offset: u16) -> Option<u32> {
    let flags = *data.get(at)?;
    let count = usize::from(u16_at(data, at + 1)?);
    let palette_len = usize::from(u16_at(data, at + 3)?);
    let width = usize::from(flags & 0x0f);
    let members = at + HEADER;
    let (rank, members_len) = if flags & BITMAP != 0 {
        let word = usize::from(offset / 64);
        let w = u64_at(data, members + word * 8)?;
        let bit = 1u64 << (offset % 64);
        if w & bit == 0 {
            return None;
        }
        let mut rank = (w & (bit - 1)).count_ones() as usize;
        for i in 0..word {
            rank += u64_at(data, members + i * 8)?.count_ones() as usize;
        }
        (rank, BITMAP_BYTES)
    } else {
        // Binary search over the sorted u16 offsets.
        let (mut lo, mut hi) = (0usize, count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let v = u16_at(data, members + mid * 2)?;
            match v.cmp(&offset) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    lo = mid;
                    hi = usize::MAX;
                    break;
                }
            }
        }
        if hi != usize::MAX {
            return None;
        }
        (lo, count * 2)
    };
    let indexes = members + members_len;
    let index = if width == 0 {
        0
    } else {
        let bit = rank * width;
        let word = u64_at(data, indexes + bit / 8)?;
        ((word >> (bit % 8)) & ((1u64 << width) - 1)) as usize
    };
    if index >= palette_len {
        return None;
    }
    let palette = indexes + (count * width).div_ceil(8);
    u32_at(data, palette + index * 4)
}

/// Calls `f(offset, record)` for every member of the container at `at`, in
/// offset order, and returns where the next container starts; `None` when
/// the container is malformed.
pub(crate) fn for_each(data: &[u8], at: usize, mut f: impl FnMut(u16, u32)) -> Option<usize> {
    let flags = *data.get(at)?;
    let count = usize::from(u16_at(data, at + 1)?);
    let palette_len = usize::from(u16_at(data, at + 3)?);
    let width = usize::from(flags & 0x0f);
    let members = at + HEADER;
    let members_len = if flags & BITMAP != 0 { BITMAP_BYTES } else { count * 2 };
    let indexes = members + members_len;
    let palette = indexes + (count * width).div_ceil(8);
    let end = palette + palette_len * 4;
    if end > data.len() || count == 0 || palette_len == 0 {
        return None;
    }
    let record = |rank: usize| -> Option<u32> {
        let index = if width == 0 {
            0
        } else {
            let bit = rank * width;
            ((u64_at(data, indexes + bit / 8)? >> (bit % 8)) & ((1u64 << width) - 1)) as usize
        };
        if index >= palette_len {
            return None;
        }
        u32_at(data, palette + index * 4)
    };
    let mut rank = 0;
    if flags & BITMAP != 0 {
        for word in 0..16 {
            let mut w = u64_at(data, members + word * 8)?;
            while w != 0 {
                let bit = w.trailing_zeros() as u16;
                w &= w - 1;
                f(word as u16 * 64 + bit, record(rank)?);
                rank += 1;
            }
        }
        if rank != count {
            return None;
        }
    } else {
        for rank in 0..count {
            f(u16_at(data, members + rank * 2)?, record(rank)?);
        }
    }
    Some(end)
}

/// Block id -> container offset, open addressing with linear probing.
/// A slot is `[block + 1 low, block + 1 high, offset]` (0 = empty), so one
/// probe reads one 12-byte slot, usually one cache line.
#[derive(Clone, Default)]
pub(crate) struct Directory {
    pub(crate) slots: Vec<[u32; 3]>,
}

#[inline]
fn home(key: u64, len: usize) -> usize {
    let h = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((u128::from(h) * len as u128) >> 64) as usize
}

impl Directory {
    /// A directory of `(block, offset)` pairs with distinct blocks, about
    /// 80% full.
    pub(crate) fn build(entries: &[(u64, u32)]) -> Directory {
        let len = entries.len() + entries.len() / 4 + 1;
        let mut slots = vec![[0u32; 3]; len];
        for &(block, offset) in entries {
            let key = block + 1;
            let mut i = home(key, len);
            while slots[i][0] != 0 || slots[i][1] != 0 {
                i += 1;
                if i == len {
                    i = 0;
                }
            }
            slots[i] = [key as u32, (key >> 32) as u32, offset];
        }
        Directory { slots }
    }

    #[inline]
    pub(crate) fn get(&self, block: u64) -> Option<u32> {
        let len = self.slots.len();
        if len == 0 {
            return None;
        }
        let key = block + 1;
        let (lo, hi) = (key as u32, (key >> 32) as u32);
        let mut i = home(key, len);
        // Bounded by the table size so a corrupt (full) table cannot loop.
        for _ in 0..len {
            let s = self.slots.get(i)?;
            if s[0] == lo && s[1] == hi {
                return Some(s[2]);
            }
            if s[0] == 0 && s[1] == 0 {
                return None;
            }
            i += 1;
            if i == len {
                i = 0;
            }
        }
        None
    }

    /// Every `(block, offset)`, in block order (which is also offset order).
    pub(crate) fn sorted(&self) -> Vec<(u64, u32)> {
        let mut v: Vec<(u64, u32)> = self
            .slots
            .iter()
            .filter(|s| s[0] != 0 || s[1] != 0)
            .map(|s| ((u64::from(s[1]) << 32 | u64::from(s[0])) - 1, s[2]))
            .collect();
        v.sort_unstable_by_key(|e| e.1);
        v
    }

    pub(crate) fn blocks(&self) -> usize {
        self.slots.iter().filter(|s| s[0] != 0 || s[1] != 0).count()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 12
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(members: &[(u16, u32)]) {
        let mut data = vec![0xee];
        let mut palette = Vec::new();
        encode(&mut data, members, &mut palette);
        let end = data.len();
        data.extend_from_slice(&[0; PADDING]);
        for o in 0..1000u16 {
            let want = members.iter().find(|m| m.0 == o).map(|m| m.1);
            assert_eq!(probe(&data, 1, o), want, "offset {o} of {members:?}");
        }
        let mut seen = Vec::new();
        assert_eq!(for_each(&data, 1, |o, r| seen.push((o, r))), Some(end));
        assert_eq!(seen, members);
    }

    #[test]
    fn containers_round_trip() {
        roundtrip(&[(0, 7)]);
        roundtrip(&[(999, 7)]);
        roundtrip(&[(3, 1), (4, 2), (500, 1), (999, 3)]);
        let list: Vec<(u16, u32)> = (0..64).map(|i| (i * 15, i as u32 % 3)).collect();
        roundtrip(&list);
        let bitmap: Vec<(u16, u32)> = (0..65).map(|i| (i * 15, 100 + i as u32 % 5)).collect();
        roundtrip(&bitmap);
        let full: Vec<(u16, u32)> = (0..1000).map(|i| (i, i as u32)).collect();
        roundtrip(&full);
        let one_route: Vec<(u16, u32)> = (0..1000).step_by(3).map(|i| (i, 9)).collect();
        roundtrip(&one_route);
    }

    #[test]
    fn directory_finds_what_it_holds() {
        let entries: Vec<(u64, u32)> = (0..5000u64).map(|i| (i * 7919 + (i << 33), i as u32)).collect();
        let d = Directory::build(&entries);
        for &(b, o) in &entries {
            assert_eq!(d.get(b), Some(o));
        }
        assert_eq!(d.get(3), None);
        assert_eq!(d.sorted(), entries);
        assert_eq!(Directory::default().get(1), None);
    }

    #[test]
    fn malformed_containers_answer_nothing() {
        assert_eq!(probe(&[], 0, 1), None);
        assert_eq!(probe(&[0x80, 1, 0, 1, 0], 0, 1), None);
        assert_eq!(for_each(&[0x00, 0, 0, 0, 0], 0, |_, _| ()), None);
        assert_eq!(for_each(&[0x00, 1, 0, 1, 0, 5, 0], 0, |_, _| ()), None);
    }
}
