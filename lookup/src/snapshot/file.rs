//! Snapshot files: a folded snapshot as bytes, verified before use (R11).
//!
//! ```text
//!  0  magic "DIDRSNAP"          8  format u32 (5)     12  reserved u32 (0)
//! 16  seq u64                  24  numbers u64 (routable)  32  len u64 (with tombstones, blocked)
//! 40  built_at unix s i64      48  built_at ns u32    52  reserved u32
//! 56  directory slots u64      64  data bytes u64     72  sparse numbers u64
//! 80  routes JSON bytes u64    88  sparse buckets u64  96  payload:
//!     directory slots (3 x u32 each), block containers, sparse buckets
//!     (u32 each), sparse records (13 bytes each), routes as a JSON array,
//!     (format 4 on) range routes as a JSON array
//! end-16 (format 4 on) range routes JSON bytes u64
//! end-8  checksum u64 of every byte before it
//! ```
//!
//! All integers little-endian. [`Snapshot::decode`] refuses anything that is
//! empty, shorter or longer than its header says, of another format, fails
//! its checksum, or does not hold together (a directory slot or record
//! pointing outside its table, a malformed block, counts that disagree with
//! the header, a sparse key outside its bucket). The checksum is the Fx mix
//! over 8-byte words: not a MAC, but any change within one word always
//! alters it and any other change almost surely does.
//!
//! All of that is checked before anything is swapped in; a snapshot older
//! than the one serving is then refused by [`Store::install`](super::Store::install).
//! Every refusal counts in `didroute_lookup_snapshot_rejected_total{reason}`
//! and the previous snapshot keeps serving.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use didroute_shared::wire::lookup::RouteSource;
use didroute_shared::{Route, E164};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::base::{Base, BLOCKED, TOMBSTONE};
use super::blocks::{self, Directory};
use super::ranges::{RangeEntry, Ranges};
use super::render::RenderedRoute;
use super::sparse::{self, Sparse};
use super::Snapshot;

const MAGIC: &[u8; 8] = b"DIDRSNAP";
/// 3: directory slots carry their container's palette length, bitmap flag
/// and packed length above the key. Formats 1 (a bare key) and 2 (without
/// the packed length) are still read: their hints are computed from the
/// containers on load, so an upgrade does not make a node replay its whole
/// history.
/// 4: range routes after the route table, their length before the
/// checksum (a file without them would make a restarted node forget every
/// range until the range changed again).
/// 5: blocked numbers (`block` events: no route, not even a range's) as the
/// route index [`BLOCKED`], in a palette as `u32::MAX - 1` and in a sparse
/// record as the packed value below the tombstone's. The layout is format
/// 4's; what changed is a meaning: that packed value was a route index in
/// format 4, so an older file holding it (only with 4M routes or more) is
/// refused and the node catches up from the feed instead, and a format-4
/// reader refuses a format-5 file rather than read a blocked number as a
/// route. Formats 1 to 4 are still read (they hold no blocked number).
const FORMAT: u32 = 5;
const HEADER: usize = 96;
const TRAILER: usize = 8;
const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Why a snapshot was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("the snapshot is empty")]
    Empty,
    #[error("the snapshot is truncated: {len} bytes, {need} expected")]
    Truncated { len: usize, need: usize },
    #[error("not a didroute snapshot (bad magic bytes)")]
    NotASnapshot,
    #[error("snapshot format {0} is not supported (this build reads formats 1 to {FORMAT})")]
    Format(u32),
    #[error("the snapshot fails its checksum: it is corrupt")]
    Checksum,
    #[error("the snapshot is malformed: {0}")]
    Malformed(String),
    #[error("the snapshot is at position {file}, older than the {serving} being served")]
    Older { file: u64, serving: u64 },
    #[error("cannot read the snapshot: {0}")]
    Io(#[from] std::io::Error),
}

impl SnapshotError {
    /// A short label for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            SnapshotError::Empty => "empty",
            SnapshotError::Truncated { .. } => "truncated",
            SnapshotError::NotASnapshot => "not_a_snapshot",
            SnapshotError::Format(_) => "format",
            SnapshotError::Checksum => "checksum",
            SnapshotError::Malformed(_) => "malformed",
            SnapshotError::Older { .. } => "older",
            SnapshotError::Io(_) => "io",
        }
    }

    /// Every label [`SnapshotError::reason`] returns.
    pub const REASONS: [&'static str; 8] =
        ["empty", "truncated", "not_a_snapshot", "format", "checksum", "malformed", "older", "io"];
}

fn checksum(bytes: &[u8]) -> u64 {
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(c.try_into().expect("8 bytes"))).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    h ^ (h >> 29)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// A range route as a snapshot file holds it.
#[derive(Serialize, Deserialize)]
struct FileRange {
    id: u64,
    first: u64,
    last: u64,
    version: u64,
    seq: u64,
    /// None: a deleted range, kept for the version rule.
    route: Option<Route>,
}

/// Checks and reads the range routes of a format-4 file.
fn decode_ranges(bytes: &[u8]) -> Result<Ranges, SnapshotError> {
    let ranges: Vec<FileRange> =
        serde_json::from_slice(bytes).map_err(|e| malformed(format!("the range routes do not decode: {e}")))?;
    let mut ids = std::collections::HashSet::with_capacity(ranges.len());
    let mut entries = Vec::with_capacity(ranges.len());
    for r in ranges {
        let (first, last) = match (E164::from_u64(r.first), E164::from_u64(r.last)) {
            (Ok(first), Ok(last)) => (first, last),
            _ => return Err(malformed(format!("range {} has an end that is not a number", r.id))),
        };
        if first > last || first.digit_count() != last.digit_count() {
            return Err(malformed(format!("range {} is not one block of numbers of one length", r.id)));
        }
        if !ids.insert(r.id) {
            return Err(malformed(format!("range {} appears twice", r.id)));
        }
        let route = r.route.map(|route| Arc::new(RenderedRoute::with_source(route, RouteSource::Range)));
        entries.push(RangeEntry { id: r.id, first: r.first, last: r.last, version: r.version, seq: r.seq, route });
    }
    Ok(Ranges::build(entries))
}

fn malformed(why: impl Into<String>) -> SnapshotError {
    SnapshotError::Malformed(why.into())
}

impl Snapshot {
    /// The snapshot as a file's bytes (its overlay folded in first).
    pub fn encode(&self) -> Vec<u8> {
        let folded;
        let base = if self.overlay.is_empty() {
            &self.base
        } else {
            folded = self.base.fold(&self.overlay);
            &folded
        };
        let routes: Vec<&Route> = base.routes.iter().map(|r| r.route()).collect();
        // Plain routes always serialise.
        let routes = serde_json::to_vec(&routes).expect("routes serialise");
        let ranges: Vec<FileRange> = base
            .ranges
            .entries(base.seq())
            .map(|e| FileRange {
                id: e.id,
                first: e.first,
                last: e.last,
                version: e.version,
                seq: e.seq,
                route: e.route.map(|r| r.route().clone()),
            })
            .collect();
        let ranges = serde_json::to_vec(&ranges).expect("ranges serialise");
        let slots = &base.directory.slots;
        let sp = &base.sparse;
        let size = HEADER
            + slots.len() * 12
            + base.data.len()
            + sp.buckets.len() * 4
            + sp.records.len()
            + routes.len()
            + ranges.len()
            + 8
            + TRAILER;
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&base.numbers.to_le_bytes());
        out.extend_from_slice(&(base.len as u64).to_le_bytes());
        out.extend_from_slice(&base.built_at.unix_timestamp().to_le_bytes());
        out.extend_from_slice(&base.built_at.nanosecond().to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for n in [slots.len(), base.data.len(), sp.len(), routes.len(), sp.buckets.len()] {
            out.extend_from_slice(&(n as u64).to_le_bytes());
        }
        for s in slots {
            for w in s {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out.extend_from_slice(&base.data);
        for b in &sp.buckets {
            out.extend_from_slice(&b.to_le_bytes());
        }
        out.extend_from_slice(&sp.records);
        out.extend_from_slice(&routes);
        out.extend_from_slice(&ranges);
        out.extend_from_slice(&(ranges.len() as u64).to_le_bytes());
        let sum = checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// Reads and verifies a snapshot written by [`Snapshot::encode`].
    pub fn decode(bytes: &[u8]) -> Result<Snapshot, SnapshotError> {
        if bytes.is_empty() {
            return Err(SnapshotError::Empty);
        }
        if bytes.len() < HEADER + TRAILER {
            if !MAGIC.starts_with(&bytes[..bytes.len().min(8)]) {
                return Err(SnapshotError::NotASnapshot);
            }
            return Err(SnapshotError::Truncated { len: bytes.len(), need: HEADER + TRAILER });
        }
        if &bytes[..8] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let format = u32_at(bytes, 8);
        if !(1..=FORMAT).contains(&format) {
            return Err(SnapshotError::Format(format));
        }
        let seq = u64_at(bytes, 16);
        let numbers = u64_at(bytes, 24);
        let len = u64_at(bytes, 32);
        let secs = u64_at(bytes, 40) as i64;
        let nanos = u32_at(bytes, 48);
        // format 4: the range routes' length sits before the checksum
        let ranges_len = if format >= 4 {
            if bytes.len() < HEADER + TRAILER + 8 {
                return Err(SnapshotError::Truncated { len: bytes.len(), need: HEADER + TRAILER + 8 });
            }
            Some(usize::try_from(u64_at(bytes, bytes.len() - TRAILER - 8)).unwrap_or(usize::MAX))
        } else {
            None
        };
        let counts = [u64_at(bytes, 56), u64_at(bytes, 64), u64_at(bytes, 72), u64_at(bytes, 80), u64_at(bytes, 88)];
        let [slots, data_len, sparse_len, routes_len, buckets] =
            counts.map(|c| usize::try_from(c).unwrap_or(usize::MAX));
        let need = [
            slots.saturating_mul(12),
            data_len,
            buckets.saturating_mul(4),
            sparse_len.saturating_mul(sparse::RECORD),
            routes_len,
            ranges_len.map_or(0, |r| r.saturating_add(8)),
            HEADER + TRAILER,
        ]
        .into_iter()
        .fold(0usize, usize::saturating_add);
        if bytes.len() < need {
            return Err(SnapshotError::Truncated { len: bytes.len(), need });
        }
        if bytes.len() > need {
            return Err(malformed(format!("{} bytes, the header accounts for {need}", bytes.len())));
        }
        let body = bytes.len() - TRAILER;
        if checksum(&bytes[..body]) != u64_at(bytes, body) {
            return Err(SnapshotError::Checksum);
        }

        let mut at = HEADER;
        let mut directory =
            Directory { slots: (0..slots).map(|i| [0, 4, 8].map(|o| u32_at(bytes, at + i * 12 + o))).collect() };
        at += slots * 12;
        let data = bytes[at..at + data_len].to_vec();
        at += data_len;
        let sparse = Sparse {
            buckets: (0..buckets).map(|i| u32_at(bytes, at + i * 4)).collect(),
            records: bytes[at + buckets * 4..at + buckets * 4 + sparse_len * sparse::RECORD].to_vec(),
        };
        at += buckets * 4 + sparse_len * sparse::RECORD;
        let routes: Vec<Route> = serde_json::from_slice(&bytes[at..at + routes_len])
            .map_err(|e| malformed(format!("the route table does not decode: {e}")))?;
        let routes: Vec<Arc<RenderedRoute>> = routes.into_iter().map(|r| Arc::new(RenderedRoute::new(r))).collect();
        at += routes_len;
        let ranges = match ranges_len {
            Some(n) => decode_ranges(&bytes[at..at + n])?,
            None => Ranges::default(),
        };
        let built_at = OffsetDateTime::from_unix_timestamp(secs)
            .ok()
            .and_then(|t| t.replace_nanosecond(nanos).ok())
            .ok_or_else(|| malformed("built_at is out of range"))?;

        if data.len() < blocks::PADDING || data[data.len() - blocks::PADDING..].iter().any(|&b| b != 0) {
            return Err(malformed("the block arena lacks its padding"));
        }
        sparse.check().map_err(malformed)?;
        match format {
            1 => directory.add_hints(&data, blocks::KEY_BITS).map_err(malformed)?,
            2 => directory.add_hints(&data, blocks::PACKED_SHIFT).map_err(malformed)?,
            _ => {}
        }
        directory.check_hints(&data).map_err(malformed)?;
        // before format 5 the blocked sentinel was no sentinel: in a palette
        // it names a route no table holds, in a sparse record it was route
        // index sparse::PACKED_BLOCKED (see FORMAT)
        let known =
            |route: u32| route == TOMBSTONE || (route == BLOCKED && format >= 5) || (route as usize) < routes.len();
        let arena = data.len() - blocks::PADDING;
        let mut expect = 0usize;
        let (mut held, mut routable) = (0u64, 0u64);
        for i in 0..sparse.len() as u32 {
            let (_, route, _) = sparse.at(i);
            if route == BLOCKED && format < 5 {
                return Err(malformed(format!(
                    "a format-{format} sparse number names route {}, which format 5 reserves",
                    sparse::PACKED_BLOCKED
                )));
            }
            if !known(route) {
                return Err(malformed(format!("a sparse number names route {route} of {}", routes.len())));
            }
            held += 1;
            routable += u64::from(super::base::routable(route));
        }
        // Sparse numbers are distinct and never in a block with a container.
        let mut last: Option<u64> = None;
        for i in sparse.order() {
            let (number, _, _) = sparse.at(i);
            if last.is_some_and(|l| l >= number) {
                return Err(malformed(format!("sparse number {number} appears twice")));
            }
            last = Some(number);
            // E.164 numbers have at most 15 digits: a larger one could only
            // be a crafted file (and would overflow a directory key)
            if number >= 1_000_000_000_000_000 {
                return Err(malformed(format!("sparse number {number} has more than 15 digits")));
            }
            if directory.get(number / 1000).is_some() {
                return Err(malformed(format!("sparse number {number} is also in a block container")));
            }
        }
        let mut previous: Option<u64> = None;
        for (block, offset) in directory.sorted() {
            // Containers are laid out in block order: a fold streams them so.
            if previous.is_some_and(|p| p >= block) {
                return Err(malformed(format!("block {block} is out of order")));
            }
            previous = Some(block);
            // Every slot is where a probe looks for it: an unreachable one
            // would hide its container from lookups (and from the check
            // above that sparse numbers have no container).
            if directory.get(block).map(|f| f.at) != Some(offset) {
                return Err(malformed(format!("block {block}'s directory slot is not where a lookup finds it")));
            }
            if offset as usize != expect {
                return Err(malformed(format!("block {block} starts at {offset}, expected {expect}")));
            }
            let mut bad = false;
            if offset as usize >= arena {
                return Err(malformed(format!("block {block} starts past the arena")));
            }
            // The whole arena: the padding after the last block is what lets
            // its packed entries be read 8 bytes at a time.
            let end = blocks::for_each(&data, offset as usize, |m| {
                held += 1;
                routable += u64::from(super::base::routable(m.route));
                bad |= !known(m.route);
            })
            .ok_or_else(|| malformed(format!("block {block} is malformed")))?;
            if bad {
                return Err(malformed(format!("block {block} names an unknown route")));
            }
            expect = end;
        }
        if expect != arena {
            return Err(malformed("the block arena holds bytes no block accounts for"));
        }
        if held != len || routable != numbers {
            return Err(malformed(format!(
                "the blocks hold {held} numbers ({routable} routable), the header says {len} ({numbers})"
            )));
        }
        let base = Base {
            directory,
            data,
            sparse,
            routes,
            seq,
            numbers,
            len: held as usize,
            built_at,
            build_time: Default::default(),
            ranges: Arc::new(ranges),
        };
        Ok(Snapshot::from_base(Arc::new(base), seq))
    }

    /// Writes the snapshot to `path` atomically and durably (a temporary
    /// file beside it, synced, renamed over it, then the directory synced so
    /// the rename itself survives a power loss and lands before any later
    /// one).
    pub fn write_file(&self, path: &Path) -> std::io::Result<()> {
        let bytes = self.encode();
        // appended, not replacing an extension: `a.bin` and `a.snap` must
        // not share a temporary file, nor may `x.tmp` be its own
        let mut tmp = path.to_owned().into_os_string();
        tmp.push(".tmp");
        let tmp = std::path::PathBuf::from(tmp);
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_parent(path)
    }

    /// Reads and verifies the snapshot at `path`.
    pub fn read_file(path: &Path) -> Result<Snapshot, SnapshotError> {
        Snapshot::decode(&std::fs::read(path)?)
    }
}

/// Syncs the directory holding `path`: what makes a rename in it durable.
pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use didroute_shared::{Country, Subsystem, E164};
    use uuid::Uuid;

    use super::*;

    fn route(t: u128) -> Route {
        Route {
            tenant_id: Uuid::from_u128(t),
            subsystem: Subsystem::Utilities,
            dashboard_id: format!("dash-{t}"),
            customer_label: format!("label {t}"),
            country: Country::parse("US").unwrap(),
            friendly_name: None,
            organisation_id: None,
            auto_provisioned: false,
            locale: "en".into(),
            greeting_template: None,
            greeting_text: None,
            attributes: None,
            tracking: None,
        }
    }

    /// Writes the checksum of an edited file again.
    fn reseal(bytes: &mut [u8]) {
        let body = bytes.len() - TRAILER;
        let sum = checksum(&bytes[..body]);
        bytes[body..].copy_from_slice(&sum.to_le_bytes());
    }

    /// Files of formats 1 (slots without hints) and 2 (slots without the
    /// packed length) still load and answer the same; one with bits its
    /// format does not have in a slot does not.
    #[test]
    fn older_format_files_still_load() {
        let numbers: Vec<E164> = (0..300u64)
            .map(|i| 15_550_000_000 + i * 3)
            .chain((0..40u64).map(|i| 15_550_200_000 + i * 11))
            .chain((0..5u64).map(|i| 12_125_550_000 + i * 7919))
            .map(|n| E164::from_u64(n).unwrap())
            .collect();
        let base = Base::build(numbers.iter().enumerate().map(|(i, n)| (*n, route(i as u128 % 3), 10 + i as u64, 1)));
        let s = Snapshot::from_base(Arc::new(base), 1);
        let current = s.encode();
        // `keep`: the bits of the slot word's high half (key bits 32-39,
        // then hints) the older file keeps
        let as_format = |format: u32, keep: u32| {
            let mut bytes = current.clone();
            // formats before 4 end with the route table: no range section
            let ranges = u64_at(&bytes, bytes.len() - TRAILER - 8) as usize;
            let end = bytes.len() - TRAILER;
            bytes.drain(end - 8 - ranges..end);
            bytes[8..12].copy_from_slice(&format.to_le_bytes());
            for i in 0..u64_at(&bytes, 56) as usize {
                let at = HEADER + i * 12 + 4;
                let high = u32_at(&bytes, at) & keep;
                bytes[at..at + 4].copy_from_slice(&high.to_le_bytes());
            }
            reseal(&mut bytes);
            bytes
        };
        let key_only = (1 << (blocks::KEY_BITS - 32)) - 1;
        let format_2 = (1 << (blocks::PACKED_SHIFT - 32)) - 1;
        for (format, keep) in [(1, key_only), (2, format_2)] {
            let back = Snapshot::decode(&as_format(format, keep)).unwrap();
            for n in &numbers {
                assert_eq!(back.get(*n).map(|h| h.to_json()), s.get(*n).map(|h| h.to_json()), "{n}");
            }
            assert!(back.get(E164::from_u64(15_550_000_001).unwrap()).is_none());
            assert_eq!(back.base().directory.slots, s.base().directory.slots, "format {format}: hints restored");
        }
        // a format-2 hint that disagrees with its container (the first
        // slot's bitmap flag or palette length changed)
        for flip in [1u32 << (blocks::KEY_BITS - 32 + 10), 1 << (blocks::KEY_BITS - 32)] {
            let mut bytes = as_format(2, format_2);
            let first = (0..u64_at(&bytes, 56) as usize)
                .map(|i| HEADER + i * 12)
                .find(|&at| u32_at(&bytes, at) != 0 || u32_at(&bytes, at + 4) != 0)
                .expect("a used slot");
            let high = u32_at(&bytes, first + 4) ^ flip;
            bytes[first + 4..first + 8].copy_from_slice(&high.to_le_bytes());
            reseal(&mut bytes);
            match Snapshot::decode(&bytes) {
                Err(SnapshotError::Malformed(why)) => assert!(why.contains("disagrees with its container"), "{why}"),
                other => panic!("a wrong format-2 hint was not refused: {other:?}"),
            }
        }
        // the bits of a newer format in an older file
        assert!(matches!(Snapshot::decode(&as_format(1, format_2)), Err(SnapshotError::Malformed(_))));
        assert!(matches!(Snapshot::decode(&as_format(2, u32::MAX)), Err(SnapshotError::Malformed(_))));
        let mut next = current.clone();
        next[8..12].copy_from_slice(&(FORMAT + 1).to_le_bytes());
        assert!(matches!(Snapshot::decode(&next), Err(SnapshotError::Format(f)) if f == FORMAT + 1));
    }

    /// Format 4 files (the layout of 5, without blocked numbers) still
    /// load; one whose sparse record holds the value format 5 reads as
    /// blocked (a route index in format 4) is refused rather than misread,
    /// and so is a blocked palette entry; a format-5 file with blocked
    /// numbers round-trips.
    #[test]
    fn format_4_files_still_load_and_blocked_numbers_are_format_5() {
        let n = |k: u64| E164::from_u64(15_550_000_000 + k).unwrap();
        let event =
            |seq: u64, number: E164, op: didroute_shared::Op, route: Option<Route>| didroute_shared::ChangeEvent {
                seq,
                number,
                version: seq,
                op,
                route,
                at: OffsetDateTime::UNIX_EPOCH,
                lineage: None,
                range: None,
            };
        use didroute_shared::Op::{Block, Upsert};
        // numbers 0-9: a container; 5000: alone in its block (sparse)
        let mut events: Vec<_> = (0..10).map(|k| event(k + 1, n(k), Upsert, Some(route(k as u128 % 2)))).collect();
        events.push(event(20, n(5000), Upsert, Some(route(1))));
        let plain = Snapshot::empty().with_events(&events, 20).0.folded();
        let as_format_4 = |s: &Snapshot| {
            let mut bytes = s.encode();
            bytes[8..12].copy_from_slice(&4u32.to_le_bytes());
            reseal(&mut bytes);
            bytes
        };
        let back = Snapshot::decode(&as_format_4(&plain)).unwrap();
        for k in (0..10).chain([5000]) {
            assert_eq!(back.get(n(k)).map(|h| h.to_json()), plain.get(n(k)).map(|h| h.to_json()), "{k}");
        }
        assert_eq!(back.numbers(), 11);

        for blocked in [n(3), n(5000)] {
            let (s, _) = plain.with_events(&[event(30, blocked, Block, None)], 30);
            let back = Snapshot::decode(&s.encode()).unwrap();
            assert!(back.is_blocked(blocked) && back.route_of(blocked).is_none());
            assert_eq!((back.numbers(), back.version_of(blocked)), (10, Some(30)));
            match Snapshot::decode(&as_format_4(&s)) {
                Err(SnapshotError::Malformed(why)) => {
                    assert!(why.contains("reserves") || why.contains("unknown route"), "{why}")
                }
                other => panic!("a format-4 file with the blocked sentinel was not refused: {other:?}"),
            }
        }
    }

    /// Range routes survive a file, deleted ones (their versions) included;
    /// a range that is not one block of one length is refused.
    #[test]
    fn range_routes_travel_in_the_file() {
        let n = |s: &str| E164::parse(s).unwrap();
        let event = |seq: u64, id: u64, first: &str, last: &str, route: Option<Route>| didroute_shared::ChangeEvent {
            seq,
            number: n(first),
            version: seq,
            op: if route.is_some() { didroute_shared::Op::RangeUpsert } else { didroute_shared::Op::RangeDelete },
            route,
            at: OffsetDateTime::UNIX_EPOCH,
            lineage: None,
            range: Some(didroute_shared::RangeRef { id, last: n(last) }),
        };
        let s = Snapshot::empty()
            .with_events(
                &[
                    event(1, 1, "+15550001000", "+15550001999", Some(route(1))),
                    event(2, 2, "+15550002000", "+15550002099", Some(route(2))),
                    event(3, 2, "+15550002000", "+15550002099", None),
                ],
                3,
            )
            .0;
        let back = Snapshot::decode(&s.encode()).unwrap();
        let hit = back.route_of(n("+15550001234")).unwrap();
        assert_eq!(hit.route().tenant_id, Uuid::from_u128(1));
        let held = s.route_of(n("+15550001234")).unwrap();
        assert_eq!((hit.route(), hit.version), (held.route(), held.version));
        // a folded range answers with the base's position, like a number
        assert_eq!(hit.seq, 3);
        assert!(back.route_of(n("+15550002050")).is_none());
        assert_eq!(back.range_version(2), Some(3));

        let bytes = s.encode();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let at = text.find("\"first\":15550001000").expect("the range in the file");
        let mut bad = bytes.clone();
        // the first number one digit shorter than the last: 1555000100 and a space
        bad[at + 18] = b' ';
        reseal(&mut bad);
        assert!(matches!(Snapshot::decode(&bad), Err(SnapshotError::Malformed(_))), "{:?}", Snapshot::decode(&bad));
    }

    /// A checksummed file whose one container sits in a slot a lookup never
    /// probes would hide that block (and let sparse numbers share it): refused.
    #[test]
    fn unreachable_directory_slots_are_refused() {
        let numbers = (10..20u64).map(|o| E164::from_u64(15_550_000_000 + o).unwrap());
        let s = Snapshot::from_base(Arc::new(Base::build(numbers.map(|n| (n, route(1), 5, 1)))), 1);
        let mut bytes = s.encode();
        assert_eq!(u64_at(&bytes, 56), 2, "one container, two slots");
        Snapshot::decode(&bytes).unwrap();
        // Swap the two slots: the container moves off its probe path.
        let (a, b) = (HEADER, HEADER + 12);
        let first = bytes[a..a + 12].to_vec();
        bytes.copy_within(b..b + 12, a);
        bytes[b..b + 12].copy_from_slice(&first);
        reseal(&mut bytes);
        match Snapshot::decode(&bytes) {
            Err(SnapshotError::Malformed(why)) => assert!(why.contains("not where a lookup finds it"), "{why}"),
            other => panic!("accepted or refused for another reason: {other:?}"),
        }
    }
}
