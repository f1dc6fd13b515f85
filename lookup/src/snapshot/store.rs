//! The current snapshot behind an atomic pointer: readers load it without a
//! lock; the one writer at a time (the event tailer, or the folder swapping
//! in a new base) publishes a replacement and announces the new position.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::{ArcSwap, Guard};
use didroute_shared::ChangeEvent;
use tokio::sync::watch;

use super::{ApplyOutcome, Base, Snapshot, SnapshotError};

/// What one fold did.
#[derive(Debug, Clone, Copy)]
pub struct FoldReport {
    /// Overlay entries merged into the new base.
    pub folded: usize,
    /// Entries applied while the fold ran, left in the new overlay.
    pub carried: usize,
    /// Numbers held by the new base, tombstones included.
    pub entries: usize,
    pub duration: Duration,
}

pub struct Store {
    current: ArcSwap<Snapshot>,
    /// Serialises publishers so that none overwrites another's changes.
    /// Held only for the short copy-and-swap, never across an await.
    writer: Mutex<()>,
    /// Serialises folds (and full replacements): a fold computes its new
    /// base from the snapshot it started with, outside `writer`.
    folding: Mutex<()>,
    /// The applied position, for requests waiting on `min_seq`.
    applied: watch::Sender<u64>,
}

fn lock(m: &Mutex<()>) -> MutexGuard<'_, ()> {
    // The guarded data is `()`: a panic elsewhere cannot leave it torn.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Store {
    pub fn new(initial: Snapshot) -> Store {
        let (applied, _) = watch::channel(initial.seq());
        Store { current: ArcSwap::from_pointee(initial), writer: Mutex::new(()), folding: Mutex::new(()), applied }
    }

    /// The current snapshot. Lock-free; hold the guard only briefly (use
    /// [`Store::load_full`] to keep a snapshot across awaits).
    #[inline]
    pub fn load(&self) -> Guard<Arc<Snapshot>> {
        self.current.load()
    }

    pub fn load_full(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Watches the applied position; it moves after the snapshot holding it
    /// is published, so a waiter that sees position N then loads a snapshot
    /// at N or later.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.subscribe()
    }

    fn publish(&self, next: Snapshot) {
        let seq = next.seq();
        self.current.store(Arc::new(next));
        self.applied.send_if_modified(|s| {
            let moved = seq > *s;
            *s = (*s).max(seq);
            moved
        });
    }

    /// Applies one batch (see [`Snapshot::with_events`]) and publishes it.
    pub fn apply(&self, events: &[ChangeEvent], through: u64) -> ApplyOutcome {
        let _writer = lock(&self.writer);
        let current = self.current.load_full();
        let (next, outcome) = current.with_events(events, through);
        if next.seq() != current.seq() || outcome.applied > 0 {
            self.publish(next);
        }
        outcome
    }

    /// Replaces everything, e.g. with the base built by the initial
    /// catch-up.
    pub fn replace(&self, snapshot: Snapshot) {
        let _folding = lock(&self.folding);
        let _writer = lock(&self.writer);
        self.publish(snapshot);
    }

    /// Installs a snapshot loaded from elsewhere (a snapshot file) unless it
    /// is older than the one being served, which then keeps serving.
    pub fn install(&self, snapshot: Snapshot) -> Result<(), SnapshotError> {
        let _folding = lock(&self.folding);
        let _writer = lock(&self.writer);
        let serving = self.current.load().seq();
        if snapshot.seq() < serving {
            return Err(SnapshotError::Older { file: snapshot.seq(), serving });
        }
        self.publish(snapshot);
        Ok(())
    }

    /// Merges the overlay into a new base and swaps it in; `None` when the
    /// overlay is empty. CPU-bound: run it on a blocking thread. Batches
    /// keep applying while it runs and are carried over into the new
    /// snapshot's overlay.
    pub fn fold(&self) -> Option<FoldReport> {
        let _folding = lock(&self.folding);
        let started = Instant::now();
        let prepared = self.prepare_fold()?;
        Some(self.commit_fold(prepared, started))
    }

    /// The slow half of a fold, outside the writer lock: the new base from
    /// the snapshot current now.
    fn prepare_fold(&self) -> Option<(Arc<Snapshot>, Arc<Base>)> {
        let start = self.current.load_full();
        if start.overlay.is_empty() {
            return None;
        }
        let base = Arc::new(start.base.fold(&start.overlay));
        Some((start, base))
    }

    /// The quick half, under the writer lock: swap in the new base with
    /// whatever was applied since `start` as its overlay.
    fn commit_fold(&self, (start, base): (Arc<Snapshot>, Arc<Base>), started: Instant) -> FoldReport {
        let _writer = lock(&self.writer);
        let now = self.current.load_full();
        let rest = if Arc::ptr_eq(&now.overlay, &start.overlay) {
            Default::default()
        } else {
            now.overlay.since(&start.overlay)
        };
        let report = FoldReport {
            folded: start.overlay.len(),
            carried: rest.len(),
            entries: base.len(),
            duration: started.elapsed(),
        };
        // `now` and the new snapshot answer the same for every number (the
        // base absorbed exactly `start.overlay`), so its count carries over.
        self.publish(Snapshot { base, overlay: Arc::new(rest), seq: now.seq, numbers: now.numbers });
        report
    }
}

#[cfg(test)]
impl Store {
    /// Runs a fold with `between` applied after its base was built and
    /// before it is swapped in: the race the folder meets in production.
    pub(crate) fn fold_racing(&self, between: impl FnOnce(&Store)) -> Option<FoldReport> {
        let _folding = lock(&self.folding);
        let started = Instant::now();
        let prepared = self.prepare_fold()?;
        between(self);
        Some(self.commit_fold(prepared, started))
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("current", &self.current.load()).finish()
    }
}
