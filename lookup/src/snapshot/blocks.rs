//! The base's index: numbers grouped by 1,000-block.
//!
//! Carriers allocate numbers in blocks of 1,000 (everything but the last three
//! digits fixed) and tenants own parts of blocks, so a real data set has
//! a few hundred thousand busy blocks and a tail of blocks holding one or two
//! scattered numbers. The index exploits that:
//!
//! - a [`Directory`]: an open-addressing hash table from block id
//!   (`number / 1000`) to the byte offset of the block's container, one
//!   probe (one 12-byte slot, usually one cache line) per lookup. Beside the
//!   key a slot carries the container's palette length, bitmap flag and
//!   packed length, so a probe can address the members without waiting for
//!   the header;
//! - a container per block in one byte arena (`data`), laid out in block
//!   order:
//!
//!   ```text
//!   flags u8 (bit 7: bitmap; bits 0-3: route width w) | count u16
//!   palette_len u16 | version width v u8 | version base u64
//!   palette: palette_len x u32 route ids (u32::MAX: deleted; u32::MAX - 1: blocked)
//!   members: bitmap of 1,024 bits (16 u64)  or  count sorted u16 offsets
//!   packed:  count x (w + v) bits: palette index, version - base
//!
//!   (the palette right after the header: for the usual few routes per
//!   block both share the first cache line a probe touches)
//!   ```
//!
//!   A member's rank within its block (popcount or list position) selects
//!   its packed entry. Busy blocks use a bitmap (0.64 bytes per number at
//!   20% fill), a 0-3 bit route index and a version as a delta from the
//!   block's smallest: versions come from one global sequence, so that
//!   delta is most of a busy block's bytes.
//! - blocks of one to three numbers (scattered numbers) do not get a
//!   container: they go to the [`Sparse`](super::sparse::Sparse) table,
//!   14 bytes per number instead of 35 or more.
//!
//! A probe ([`probe`]) is: the directory slot; then, in one round, the
//! header and palette, the member bitmap (popcount for the rank) and the
//! line where the packed entry most likely lies (members are spread over a
//! block, so rank ≈ offset × count / 1,000); then the packed entry, a cache
//! hit when the guess was right.
//!
//! Why not an fst, which docs/design.md started from: phone numbers share
//! prefixes, which an fst compresses, but each number's record holds its own
//! version, which it cannot; and its walk is one dependent state transition
//! per digit. What compresses is the 1,000-block structure of real
//! numbering. `cargo bench -p didroute-benches --bench lookup` keeps an
//! `fst::Map` (in its most compact form) as a peer of every run, for both
//! time a probe and bytes a number, so the choice is re-checked, not
//! assumed; instructions a probe come from `lookup-probe` under callgrind
//! (see that binary's docs).
//!
//! Every read is bounds-checked (`get`), so a corrupt arena answers "not
//! found" instead of panicking; snapshot files are checksummed before use.

/// Bit 7 of the flags byte: the members are a bitmap.
const BITMAP: u8 = 0x80;
/// flags u8, count u16, palette_len u16, version width u8, version base u64.
const HEADER: usize = 14;
const BITMAP_BYTES: usize = 128;
/// At or below this many members a sorted list is smaller than a bitmap.
const LIST_MAX: usize = BITMAP_BYTES / 2;
/// Reads of the packed indexes take 8 bytes at a time: the arena ends with
/// this much zero padding so the last one stays in bounds.
pub(crate) const PADDING: usize = 8;

/// One member of a block: its offset (0..1000), route (index into the
/// route table, or `TOMBSTONE`, `BLOCKED`) and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Member {
    pub offset: u16,
    pub route: u32,
    pub version: u64,
}

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

/// Bits needed for values `0..=max`.
fn bits_for(max: u64) -> u8 {
    (u64::BITS - max.leading_zeros()) as u8
}

/// Writes `value` (< 2^width) at bit `bit` of the zeroed area at `start`.
fn put_bits(out: &mut [u8], start: usize, bit: usize, value: u64) {
    let mut v = u128::from(value) << (bit % 8);
    let mut at = start + bit / 8;
    while v != 0 {
        out[at] |= v as u8;
        v >>= 8;
        at += 1;
    }
}

/// Reads `width` (<= 64) bits at bit `bit` of the area at `start`.
#[inline]
fn get_bits(data: &[u8], start: usize, bit: usize, width: usize) -> Option<u64> {
    if width == 0 {
        return Some(0);
    }
    let at = start + bit / 8;
    let shift = bit % 8;
    let lo = u64_at(data, at)? >> shift;
    let v = if shift + width > 64 { lo | (u64::from(*data.get(at + 8)?) << (64 - shift)) } else { lo };
    Some(if width == 64 { v } else { v & ((1u64 << width) - 1) })
}

/// The most bytes [`encode`] appends for a block of `count` members.
pub(crate) fn max_encoded_len(count: usize) -> usize {
    // Header, a palette entry and a 64-bit version delta plus an 11-bit
    // route index per member, the larger of bitmap and list, and the 8
    // bytes `encode` writes words into past its end (then truncates).
    HEADER + count * 4 + BITMAP_BYTES.max(count * 2) + (count * (11 + 64)).div_ceil(8) + 8
}

/// Gives the routes in the palette of the container at `at` the indices
/// `remap` maps them to (the tombstone and blocked sentinels stay). `remap` must keep their order, so
/// the palette stays sorted. `None` for a malformed container.
pub(crate) fn remap_palette(data: &mut [u8], at: usize, remap: &[u32]) -> Option<()> {
    let len = usize::from(u16_at(data, at + 3)?);
    for k in 0..len {
        let p = at + HEADER + 4 * k;
        let route = u32::from_le_bytes(data.get(p..p + 4)?.try_into().ok()?);
        if super::base::routable(route) {
            let to = remap.get(route as usize)?.to_le_bytes();
            data[p..p + 4].copy_from_slice(&to);
        }
    }
    Some(())
}

/// Appends the container of one block: `members` with distinct offsets in
/// ascending order, at least one.
pub(crate) fn encode(out: &mut Vec<u8>, members: &[Member], palette: &mut Vec<u32>) {
    debug_assert!(!members.is_empty() && members.len() <= 1000);
    palette.clear();
    palette.extend(members.iter().map(|m| m.route));
    palette.sort_unstable();
    palette.dedup();
    let width = if palette.len() <= 1 { 0 } else { bits_for(palette.len() as u64 - 1) };
    let vbase = members.iter().map(|m| m.version).min().unwrap_or(0);
    let vwidth = bits_for(members.iter().map(|m| m.version - vbase).max().unwrap_or(0));
    let bitmap = members.len() > LIST_MAX;
    out.push(width | if bitmap { BITMAP } else { 0 });
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(palette.len() as u16).to_le_bytes());
    out.push(vwidth);
    out.extend_from_slice(&vbase.to_le_bytes());
    for &p in palette.iter() {
        out.extend_from_slice(&p.to_le_bytes());
    }
    if bitmap {
        let mut words = [0u64; 16];
        for m in members {
            words[usize::from(m.offset) / 64] |= 1 << (m.offset % 64);
        }
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
    } else {
        for m in members {
            out.extend_from_slice(&m.offset.to_le_bytes());
        }
    }
    let (width, vwidth) = (usize::from(width), usize::from(vwidth));
    let start = out.len();
    let bytes = (members.len() * (width + vwidth)).div_ceil(8);
    // 8 zero bytes past the end so an entry can be or-ed in as one word
    out.resize(start + bytes + 8, 0);
    for (i, m) in members.iter().enumerate() {
        // The palette is sorted: the index is the position.
        let index = palette.binary_search(&m.route).expect("route is in the palette") as u64;
        let bit = i * (width + vwidth);
        if width + vwidth <= 56 {
            // index and version delta in one word, or-ed in at once
            let at = start + bit / 8;
            let entry = (index | (m.version - vbase) << width) << (bit % 8);
            let word: &mut [u8; 8] = (&mut out[at..at + 8]).try_into().expect("8 bytes");
            *word = (u64::from_le_bytes(*word) | entry).to_le_bytes();
        } else {
            put_bits(out, start, bit, index);
            put_bits(out, start, bit + width, m.version - vbase);
        }
    }
    out.truncate(start + bytes);
}

/// A container's header, bounds-checked.
struct Layout {
    bitmap: bool,
    count: usize,
    palette_len: usize,
    width: usize,
    vwidth: usize,
    vbase: u64,
    members: usize,
    packed: usize,
    palette: usize,
    end: usize,
}

#[inline]
fn layout(data: &[u8], at: usize) -> Option<Layout> {
    let flags = *data.get(at)?;
    let count = usize::from(u16_at(data, at + 1)?);
    let palette_len = usize::from(u16_at(data, at + 3)?);
    let vwidth = usize::from(*data.get(at + 5)?);
    let vbase = u64_at(data, at + 6)?;
    let width = usize::from(flags & 0x0f);
    let bitmap = flags & BITMAP != 0;
    if vwidth > 64 || width > 11 {
        return None;
    }
    let palette = at + HEADER;
    let members = palette + palette_len * 4;
    let packed = members + if bitmap { BITMAP_BYTES } else { count * 2 };
    let end = packed + (count * (width + vwidth)).div_ceil(8);
    Some(Layout { bitmap, count, palette_len, width, vwidth, vbase, members, packed, palette, end })
}

/// Route and version of member `rank`.
#[inline]
fn member(data: &[u8], l: &Layout, rank: usize) -> Option<(u32, u64)> {
    let bit = rank * (l.width + l.vwidth);
    let index = get_bits(data, l.packed, bit, l.width)? as usize;
    if index >= l.palette_len {
        return None;
    }
    let delta = get_bits(data, l.packed, bit + l.width, l.vwidth)?;
    Some((u32_at(data, l.palette + index * 4)?, l.vbase.checked_add(delta)?))
}

/// Route and version of the member at `offset` (0..1000) of the block the
/// directory slot `found` points to, if it is a member.
///
/// The slot says where the members start, so the member bitmap is read at
/// an address that does not wait for the container's header: both cache
/// lines are fetched at once (one dependent miss fewer), and a number that
/// is not a member answers before the header is needed.
///
/// For a bitmap container the slot also gives the packed entries' length,
/// so the line holding this offset's entry can be guessed (members are
/// spread over the block, so rank ≈ offset × count / 1,000) and touched in
/// the same round as the bitmap: when the guess is right, the entry read
/// after the popcount hits the cache instead of waiting for memory.
#[inline]
pub(crate) fn probe(data: &[u8], found: Found, offset: u16) -> Option<(u32, u64)> {
    let at = found.at as usize;
    let members = at + HEADER + usize::from(found.palette_len) * 4;
    let bitmap_rank = if found.bitmap {
        let guess = members + BITMAP_BYTES + usize::from(offset) * usize::from(found.packed_half) * 2 / 1000;
        // Only the load matters: its value is thrown away.
        std::hint::black_box(data.get(guess).copied());
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
        Some(rank)
    } else {
        None
    };
    let l = layout(data, at)?;
    // A slot that disagrees with its container is corrupt: answer nothing.
    if l.bitmap != found.bitmap || l.members != members {
        return None;
    }
    let rank = match bitmap_rank {
        Some(rank) => rank,
        None => {
            let (mut lo, mut hi) = (0usize, l.count);
            loop {
                if lo >= hi {
                    return None;
                }
                let mid = (lo + hi) / 2;
                match u16_at(data, l.members + mid * 2)?.cmp(&offset) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => break mid,
                }
            }
        }
    };
    if rank >= l.count {
        return None;
    }
    member(data, &l, rank)
}

/// Calls `f(member)` for every member of the container at `at`, in offset
/// order, and returns where the next container starts; `None` when the
/// container is malformed.
pub(crate) fn for_each(data: &[u8], at: usize, mut f: impl FnMut(Member)) -> Option<usize> {
    let l = layout(data, at)?;
    if l.end > data.len() || l.count == 0 || l.palette_len == 0 || l.count > 1000 {
        return None;
    }
    let mut rank = 0;
    if l.bitmap {
        for word in 0..16 {
            let mut w = u64_at(data, l.members + word * 8)?;
            while w != 0 {
                let offset = word as u16 * 64 + w.trailing_zeros() as u16;
                w &= w - 1;
                if offset >= 1000 || rank >= l.count {
                    return None;
                }
                let (route, version) = member(data, &l, rank)?;
                f(Member { offset, route, version });
                rank += 1;
            }
        }
        if rank != l.count {
            return None;
        }
    } else {
        let mut last = None;
        for rank in 0..l.count {
            let offset = u16_at(data, l.members + rank * 2)?;
            if offset >= 1000 || last.is_some_and(|p| p >= offset) {
                return None;
            }
            last = Some(offset);
            let (route, version) = member(data, &l, rank)?;
            f(Member { offset, route, version });
        }
    }
    Some(l.end)
}

/// Bits of a directory key, `block + 1` (0 marks an empty slot; a block id,
/// `number / 1000`, is below 10^12 < 2^40).
pub(crate) const KEY_BITS: u32 = 40;
const KEY_MASK: u64 = (1 << KEY_BITS) - 1;
/// Above the key a slot keeps its container's palette length (10 bits: at
/// most 1,000) and bitmap flag: what a probe needs to find the members
/// without reading the header first (see [`probe`]); and, in the top 13
/// bits, the length of the packed entries in 2-byte units (at most
/// 1,000 × 75 bits, 4,688 units), from which a probe guesses where its
/// entry lies.
const PALETTE_SHIFT: u32 = KEY_BITS;
const PALETTE_MASK: u64 = (1 << 10) - 1;
const BITMAP_SHIFT: u32 = KEY_BITS + 10;
pub(crate) const PACKED_SHIFT: u32 = BITMAP_SHIFT + 1;
const PACKED_MASK: u64 = (1 << (u64::BITS - PACKED_SHIFT)) - 1;

/// A directory hit: where the block's container starts, and the header
/// fields that say where its members and packed entries start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub at: u32,
    pub palette_len: u16,
    pub bitmap: bool,
    /// Length of the packed entries in 2-byte units (a guide, not trusted:
    /// a probe only prefetches with it).
    pub packed_half: u16,
}

/// A slot's hint: what [`Found`] carries besides the offset.
type Hint = (u16, bool, u16);

/// The slot hint of the container at `at`: palette length, bitmap flag and
/// packed length in 2-byte units (0 for a container that does not parse).
fn hint_at(data: &[u8], at: usize) -> Hint {
    let palette_len = u16_at(data, at + 3).unwrap_or(0);
    let bitmap = data.get(at).is_some_and(|f| f & BITMAP != 0);
    let packed_half = layout(data, at).map_or(0, |l| (l.end - l.packed).div_ceil(2).min(PACKED_MASK as usize));
    (palette_len, bitmap, packed_half as u16)
}

/// The slot word of `key` with the hint of the container at `at` above it.
fn hinted(key: u64, data: &[u8], at: u32) -> u64 {
    let (palette_len, bitmap, packed_half) = hint_at(data, at as usize);
    key | (u64::from(palette_len) & PALETTE_MASK) << PALETTE_SHIFT
        | u64::from(bitmap) << BITMAP_SHIFT
        | u64::from(packed_half) << PACKED_SHIFT
}

/// The hint a slot word carries.
#[inline]
fn hint_of(w: u64) -> Hint {
    (((w >> PALETTE_SHIFT) & PALETTE_MASK) as u16, (w >> BITMAP_SHIFT) & 1 == 1, (w >> PACKED_SHIFT) as u16)
}

/// Block id -> container, open addressing with linear probing. A slot is
/// `[word low, word high, offset]` (all 0 = empty), the 64-bit word holding
/// the key and the container's hint, so one probe reads one 12-byte slot,
/// usually one cache line.
#[derive(Clone, Default)]
pub(crate) struct Directory {
    pub(crate) slots: Vec<[u32; 3]>,
}

#[inline]
fn home(key: u64, len: usize) -> usize {
    let h = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((u128::from(h) * len as u128) >> 64) as usize
}

#[inline]
fn word(s: &[u32; 3]) -> u64 {
    u64::from(s[1]) << 32 | u64::from(s[0])
}

impl Directory {
    /// A directory of `(block, offset)` pairs with distinct blocks, about
    /// 80% full, for the containers in `data`.
    pub(crate) fn build(entries: &[(u64, u32)], data: &[u8]) -> Directory {
        let len = entries.len() + entries.len() / 4 + 1;
        let mut slots = vec![[0u32; 3]; len];
        for &(block, offset) in entries {
            let key = block + 1;
            debug_assert!(key <= KEY_MASK);
            let w = hinted(key, data, offset);
            let mut i = home(key, len);
            while slots[i] != [0; 3] {
                i += 1;
                if i == len {
                    i = 0;
                }
            }
            slots[i] = [w as u32, (w >> 32) as u32, offset];
        }
        Directory { slots }
    }

    #[inline]
    pub(crate) fn get(&self, block: u64) -> Option<Found> {
        let len = self.slots.len();
        let key = block + 1;
        if len == 0 || key > KEY_MASK {
            return None;
        }
        let mut i = home(key, len);
        // Bounded by the table size so a corrupt (full) table cannot loop.
        for _ in 0..len {
            let s = self.slots.get(i)?;
            let w = word(s);
            if w & KEY_MASK == key {
                let (palette_len, bitmap, packed_half) = hint_of(w);
                return Some(Found { at: s[2], palette_len, bitmap, packed_half });
            }
            if w == 0 {
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
        let mut v: Vec<(u64, u32)> =
            self.slots.iter().filter(|s| word(s) != 0).map(|s| ((word(s) & KEY_MASK) - 1, s[2])).collect();
        v.sort_unstable_by_key(|e| e.1);
        v
    }

    /// Fills in the hints of slots written by an older format: a bare key
    /// (format 1) or a key with palette length and bitmap flag (format 2).
    /// `legacy_bits`: how many low bits such a slot word may use. The hints
    /// an older file does carry must agree with its containers, as a
    /// current file's must ([`Directory::check_hints`]).
    pub(crate) fn add_hints(&mut self, data: &[u8], legacy_bits: u32) -> Result<(), String> {
        for s in self.slots.iter_mut().filter(|s| word(s) != 0) {
            let w = word(s);
            if w >> legacy_bits != 0 || w & KEY_MASK == 0 {
                return Err(format!("directory slot {w:#x} is not a block key"));
            }
            let full = hinted(w & KEY_MASK, data, s[2]);
            if full & ((1 << legacy_bits) - 1) != w {
                let block = (w & KEY_MASK) - 1;
                return Err(format!("the directory's hint for block {block} disagrees with its container"));
            }
            (s[0], s[1]) = (full as u32, (full >> 32) as u32);
        }
        Ok(())
    }

    /// Why a slot's key is empty or its hint disagrees with `data`, if one
    /// does: a snapshot file is checked with this before it serves.
    pub(crate) fn check_hints(&self, data: &[u8]) -> Result<(), String> {
        for s in self.slots.iter().filter(|s| word(s) != 0) {
            let w = word(s);
            let block = (w & KEY_MASK).wrapping_sub(1);
            if w & KEY_MASK == 0 {
                return Err(format!("directory slot {w:#x} is not a block key"));
            }
            if hint_at(data, s[2] as usize) != hint_of(w) {
                return Err(format!("the directory's hint for block {block} disagrees with its container"));
            }
        }
        Ok(())
    }

    pub(crate) fn blocks(&self) -> usize {
        self.slots.iter().filter(|s| word(s) != 0).count()
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * 12
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(offset: u16, route: u32, version: u64) -> Member {
        Member { offset, route, version }
    }

    fn roundtrip(members: &[Member]) {
        // exactly the room the writer reserves: encode must not outgrow it
        let mut data = Vec::with_capacity(1 + max_encoded_len(members.len()));
        data.push(0xee);
        let room = data.capacity();
        let mut palette = Vec::new();
        encode(&mut data, members, &mut palette);
        assert_eq!(data.capacity(), room, "encode stays within max_encoded_len");
        let end = data.len();
        data.extend_from_slice(&[0; PADDING + 1]);
        for o in 0..1000u16 {
            let want = members.iter().find(|x| x.offset == o).map(|x| (x.route, x.version));
            let (palette_len, bitmap, packed_half) = hint_at(&data, 1);
            assert_eq!(probe(&data, Found { at: 1, palette_len, bitmap, packed_half }, o), want, "offset {o}");
        }
        let mut seen = Vec::new();
        assert_eq!(for_each(&data, 1, |x| seen.push(x)), Some(end));
        assert!(end - 1 <= max_encoded_len(members.len()));
        assert_eq!(seen, members);
    }

    #[test]
    fn containers_round_trip() {
        roundtrip(&[m(0, 7, 1)]);
        roundtrip(&[m(999, 7, u64::MAX)]);
        roundtrip(&[m(3, 1, 5), m(4, 2, 1 << 40), m(500, 1, 0), m(998, u32::MAX - 1, 76), m(999, u32::MAX, 77)]);
        let list: Vec<Member> = (0..64).map(|i| m(i * 15, i as u32 % 3, 1000 + i as u64 * 7919)).collect();
        roundtrip(&list);
        let bitmap: Vec<Member> = (0..65).map(|i| m(i * 15, 100 + i as u32 % 5, 3_000_000 - i as u64)).collect();
        roundtrip(&bitmap);
        let full: Vec<Member> = (0..1000).map(|i| m(i, i as u32, u64::from(i) * 0x1234_5678_9abc)).collect();
        roundtrip(&full);
        let one_route: Vec<Member> = (0..1000).step_by(3).map(|i| m(i, 9, 2)).collect();
        roundtrip(&one_route);
        // the largest list container: 64 routes, 64-bit version deltas
        let widest_list: Vec<Member> =
            (0..64).map(|i| m(i * 15, i as u32, if i % 2 == 0 { 0 } else { u64::MAX - i as u64 })).collect();
        roundtrip(&widest_list);
        let wide: Vec<Member> =
            (0..100).map(|i| m(i * 7, i as u32 % 2, if i % 2 == 0 { 0 } else { u64::MAX - i as u64 })).collect();
        roundtrip(&wide);
    }

    #[test]
    fn directory_finds_what_it_holds() {
        let mut entries: Vec<(u64, u32)> = (0..5000u64).map(|i| (i * 7919 + (i << 27), i as u32)).collect();
        let mut data = vec![0u8; 5000 * 14 + PADDING];
        for (i, e) in entries.iter_mut().enumerate() {
            // Headers with assorted hints: bitmap flag, palette length and
            // packed length (count x version width bits).
            e.1 = (i * 14) as u32;
            data[i * 14] = if i % 3 == 0 { BITMAP } else { 0 };
            data[i * 14 + 1..i * 14 + 3].copy_from_slice(&((i % 1000) as u16).to_le_bytes());
            data[i * 14 + 3..i * 14 + 5].copy_from_slice(&((i % 1001) as u16).to_le_bytes());
            data[i * 14 + 5] = (i % 65) as u8;
        }
        let d = Directory::build(&entries, &data);
        d.check_hints(&data).unwrap();
        for (i, &(b, o)) in entries.iter().enumerate() {
            let packed_half = ((i % 1000) * (i % 65)).div_ceil(8).div_ceil(2) as u16;
            let found = Found { at: o, palette_len: (i % 1001) as u16, bitmap: i % 3 == 0, packed_half };
            assert_eq!(d.get(b), Some(found));
        }
        assert_eq!(d.get(3), None);
        assert_eq!(d.get(KEY_MASK), None, "a block past the key width");
        data[3] ^= 1;
        assert!(d.check_hints(&data).is_err(), "a palette length that disagrees");
        assert_eq!(d.sorted(), entries);
        assert_eq!(Directory::default().get(1), None);
    }

    #[test]
    fn malformed_containers_answer_nothing() {
        let at = |palette_len, bitmap| Found { at: 0, palette_len, bitmap, packed_half: 0 };
        assert_eq!(probe(&[], at(0, false), 1), None);
        assert_eq!(probe(&[0x80, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], at(1, true), 1), None);
        // A slot hint that disagrees with a well-formed container.
        let mut data = Vec::new();
        encode(&mut data, &[m(5, 1, 1), m(6, 2, 2)], &mut Vec::new());
        data.extend_from_slice(&[0; PADDING]);
        assert_eq!(probe(&data, at(2, false), 5), Some((1, 1)));
        assert_eq!(probe(&data, at(1, false), 5), None);
        assert_eq!(probe(&data, at(2, true), 5), None);
        assert_eq!(for_each(&[0; 14], 0, |_| ()), None);
        assert_eq!(for_each(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0], 0, |_| ()), None);
    }
}
