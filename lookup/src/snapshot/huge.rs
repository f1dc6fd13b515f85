//! Transparent huge pages under a build's items: at 100M numbers they take
//! 1.6 GB, which in 4 KiB pages costs 400,000 page faults (seconds of the
//! push phase spent in the kernel, in the L5 build time of
//! `cargo bench -p didroute-benches --bench lookup`) and TLB misses in the
//! radix sort's scattered writes. Linux backs such a buffer with 2 MiB pages
//! only when asked (`/sys/kernel/mm/transparent_hugepage/enabled` is
//! `madvise` on Debian), so this asks. Best effort: a kernel without THP, or
//! another OS, keeps 4 KiB pages and the same contents.
//!
//! Only the items: huge pages under the writers' container arena and sparse
//! records made a 100M build's finish slower in that benchmark, as the
//! first touch of a fresh huge page costs more than of a small one, and a
//! fold, which writes the same arena, runs beside lookups.
//!
//! The lookup crate's one `unsafe` block: std has no safe `madvise`.
#![allow(unsafe_code)]

/// Size of a transparent huge page on x86-64 and most arm64 kernels.
const HUGE_PAGE: usize = 2 << 20;

/// Buffers smaller than this are left alone (a few huge pages would save
/// little and could hold memory a small base never uses).
const MIN_BYTES: usize = 8 * HUGE_PAGE;

/// Asks the kernel to back the untouched part of `v`'s allocation (its whole
/// capacity) with huge pages. Call it right after reserving, before the
/// buffer is written: pages already faulted in stay small until the kernel's
/// background collapse gets to them.
pub(crate) fn advise<T>(v: &mut Vec<T>) {
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if bytes < MIN_BYTES {
        return;
    }
    let start = v.as_mut_ptr() as usize;
    let (from, to) = (start.next_multiple_of(HUGE_PAGE), (start + bytes) / HUGE_PAGE * HUGE_PAGE);
    if to > from {
        madvise_huge(from, to - from);
    }
}

#[cfg(target_os = "linux")]
fn madvise_huge(addr: usize, len: usize) {
    // SAFETY: `[addr, addr + len)` lies inside the allocation of the `Vec`
    // that `advise` borrows mutably, and is page aligned. MADV_HUGEPAGE only
    // changes how the kernel backs those pages, never what they hold, so no
    // memory Rust can see changes; an error (no THP) leaves them as they were.
    let rc = unsafe { libc::madvise(addr as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
    if rc != 0 {
        tracing::debug!(len, error = %std::io::Error::last_os_error(), "madvise(MADV_HUGEPAGE) failed");
    }
}

#[cfg(not(target_os = "linux"))]
fn madvise_huge(_addr: usize, _len: usize) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The `THPeligible` flag /proc/self/smaps gives the mapping holding `addr`.
    fn eligible(addr: usize) -> bool {
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
        let mut inside = false;
        for line in smaps.lines() {
            // a mapping's first line starts with its range, `lo-hi` in hex
            let range = line.split(' ').next().and_then(|r| r.split_once('-'));
            if let Some((Ok(lo), Ok(hi))) =
                range.map(|(lo, hi)| (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16)))
            {
                inside = (lo..hi).contains(&addr);
                continue;
            }
            if inside {
                if let Some(v) = line.strip_prefix("THPeligible:") {
                    return v.trim() == "1";
                }
            }
        }
        panic!("no mapping holds {addr:#x}")
    }

    #[test]
    fn advised_buffers_are_eligible_and_keep_their_contents() {
        let mode = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
        let len = MIN_BYTES / 8 * 4;
        let mut v: Vec<u64> = Vec::with_capacity(len);
        v.extend(0..1000);
        let middle = v.as_ptr() as usize + len * 4;
        if mode.contains("[madvise]") {
            assert!(!eligible(middle), "a buffer nobody advised is not eligible in madvise mode");
        }
        advise(&mut v);
        if !mode.is_empty() && !mode.contains("[never]") {
            assert!(eligible(middle), "an advised buffer is eligible for huge pages ({})", mode.trim());
        }
        v.extend(1000..len as u64);
        assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64), "contents kept");
    }
}
