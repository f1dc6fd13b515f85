//! Keeps the snapshot current: an initial catch-up that builds a complete
//! base before the node is ready, then a long-polling follow loop that
//! applies each page as one batch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::lineage::{Divergence, Lineage, OnDivergence};
use super::{Backoff, EventSource, Page};
use crate::app::App;
use crate::snapshot::{BaseBuilder, Snapshot};

#[derive(Debug, Clone)]
pub struct TailerSettings {
    /// Overlay size at which the folder is woken early.
    pub fold_threshold: usize,
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// Pause before asking again when a catch-up page made no progress
    /// although the source reported more (a late-committing gap).
    pub stall_pause: Duration,
    /// What to do when the source diverges from the history the node holds.
    pub on_divergence: OnDivergence,
}

impl Default for TailerSettings {
    fn default() -> TailerSettings {
        TailerSettings {
            fold_threshold: 50_000,
            retry_min: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
            stall_pause: Duration::from_millis(200),
            on_divergence: OnDivergence::Stop,
        }
    }
}

pub struct Tailer<S> {
    source: S,
    app: Arc<App>,
    settings: TailerSettings,
    backoff: Backoff,
    lineage: Lineage,
}

/// Why the follow loop ended: the node must rebuild under this lineage.
struct Rebuild(Option<uuid::Uuid>);

impl<S: EventSource> Tailer<S> {
    pub fn new(source: S, app: Arc<App>, settings: TailerSettings) -> Tailer<S> {
        let backoff = Backoff::new(settings.retry_min, settings.retry_max);
        // a node started from a snapshot file holds the file's lineage
        let lineage = Lineage::new(app.lineage());
        Tailer { source, app, settings, backoff, lineage }
    }

    /// Catches up, then follows, until `stop` turns true; rebuilds from the
    /// start when the source diverged and the settings say to.
    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        tokio::select! {
            _ = crate::stopped(&mut stop) => {}
            _ = async {
                let mut fresh = false;
                loop {
                    let rebuild = match self.catch_up(fresh).await {
                        Ok(()) => self.follow().await,
                        Err(rebuild) => rebuild,
                    };
                    tracing::warn!(lineage = ?rebuild.0, "rebuilding the snapshot from the source's start under its lineage; serving the last good snapshot meanwhile");
                    self.lineage.reset(rebuild.0);
                    fresh = true;
                }
            } => {}
        }
        tracing::debug!("event tailer stopped");
    }

    /// Checks a page against the history the node holds (dropping, during a
    /// rebuild, the events of other lineages). On divergence: counts it,
    /// says why in `/readyz`, and either pauses (the node keeps serving its
    /// last good snapshot; the page is asked for again) or asks for a rebuild.
    async fn guard(&mut self, page: &mut Page, applied: u64) -> Result<bool, Rebuild> {
        if self.lineage.pinned() {
            let before = page.events.len();
            page.events.retain(|e| self.lineage.owns(e));
            self.app.metrics().events_stale.inc_by((before - page.events.len()) as u64);
        }
        if self.settings.on_divergence == OnDivergence::Stop && self.app.status().diverged().is_some() {
            // stopped for good: a Kafka source has moved past the refused
            // page, so nothing after it may be applied either
            tokio::time::sleep(self.settings.retry_max).await;
            return Ok(false);
        }
        match self.lineage.check(page, applied) {
            Ok(()) => {
                self.app.set_lineage(self.lineage.held());
                Ok(true)
            }
            Err(Divergence { reason, lineage }) => {
                self.app.metrics().lineage_mismatch.inc();
                if self.app.status().diverged().as_deref() != Some(reason.as_str()) {
                    tracing::error!(%reason, applied, on_divergence = ?self.settings.on_divergence, "the event source diverged from this node");
                    self.app.status().set_diverged(Some(reason));
                }
                if self.settings.on_divergence == OnDivergence::Rebuild {
                    return Err(Rebuild(lineage));
                }
                Ok(false)
            }
        }
    }

    /// Fetches until it answers, retrying with backoff. The node keeps
    /// serving its last snapshot meanwhile; lag grows.
    async fn fetch(&mut self, after: u64, wait: bool) -> Page {
        let mut attempt = 0u32;
        loop {
            match self.source.fetch(after, wait).await {
                Ok(page) => {
                    self.backoff.reset();
                    self.app.status().observe(page.caught_up());
                    self.app.metrics().events_rejected.inc_by(page.rejected as u64);
                    return page;
                }
                Err(error) => {
                    attempt += 1;
                    let delay = self.backoff.next_delay();
                    self.app.status().lost_contact();
                    self.app.metrics().feed_errors.inc();
                    self.app.metrics().lag_seconds.set(self.app.status().lag().as_secs_f64());
                    tracing::warn!(
                        source = self.source.name(),
                        after,
                        attempt,
                        retry_in_ms = delay.as_millis() as u64,
                        error = %error,
                        "event source unavailable; serving the last snapshot"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// Reads everything up to the head seen at the start into one builder,
    /// builds the base once, publishes it and marks the node ready. Nothing
    /// is published before, so a partial snapshot is never served.
    async fn catch_up(&mut self, fresh: bool) -> Result<(), Rebuild> {
        if !fresh && self.app.store().load().seq() > 0 {
            return self.catch_up_onto_snapshot().await;
        }
        loop {
            let started = Instant::now();
            let mut builder = BaseBuilder::new();
            let mut after = 0u64;
            let mut target = None;
            let mut stalled = false;
            loop {
                let mut page = self.fetch(after, false).await;
                if !self.guard(&mut page, after).await? {
                    continue;
                }
                self.lineage.applied(&page.events);
                let target = *target.get_or_insert(page.head_seq);
                let progressed = page.last_seq > after;
                let taken = page.events.len();
                builder.push_events(page.events);
                self.app.metrics().events_applied.inc_by(taken as u64);
                after = after.max(page.last_seq);
                tracing::debug!(after, target, events = taken, "catch-up page");
                if after >= target {
                    break;
                }
                if !progressed {
                    Self::stall(self.settings.stall_pause, &mut stalled, after, target).await;
                }
            }
            let pushed = builder.len();
            match tokio::task::spawn_blocking(move || builder.finish()).await {
                Ok(base) => {
                    let snapshot = Snapshot::from_base(Arc::new(base), after);
                    let app = &self.app;
                    app.metrics().snapshot_builds.inc();
                    app.metrics().build_seconds.observe(snapshot.base().build_time().as_secs_f64());
                    app.metrics().record_snapshot(&snapshot);
                    tracing::info!(
                        seq = after,
                        numbers = snapshot.numbers(),
                        events = pushed,
                        routes = snapshot.base().route_count(),
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "caught up: serving a complete snapshot"
                    );
                    app.store().replace(snapshot);
                    // a rebuild is done: the new history is served
                    app.status().set_diverged(None);
                    self.mark_ready();
                    return Ok(());
                }
                Err(error) => {
                    // Only a panic in the builder gets here; start over
                    // rather than serve something incomplete.
                    tracing::error!(%error, "building the initial snapshot failed; catching up again");
                    tokio::time::sleep(self.backoff.next_delay()).await;
                }
            }
        }
    }

    /// Catch-up for a node that loaded a snapshot file (L7): reads from the
    /// file's position up to the head seen at the start, applying each page
    /// on top of the loaded snapshot (folds keep the overlay small), then
    /// marks the node ready. Until then nothing is answered as ready, as in
    /// a full catch-up (R8).
    async fn catch_up_onto_snapshot(&mut self) -> Result<(), Rebuild> {
        let started = Instant::now();
        let from = self.app.store().load().seq();
        let mut target = None;
        let mut stalled = false;
        // the source's position, not the store's: an event applied early
        // (a record ahead of others) must not end the catch-up
        let mut after = from;
        loop {
            let mut page = self.fetch(after, false).await;
            if !self.guard(&mut page, self.app.store().load().seq()).await? {
                continue;
            }
            self.lineage.applied(&page.events);
            let target = *target.get_or_insert(page.head_seq.max(from));
            let progressed = page.last_seq > after || !page.events.is_empty();
            after = after.max(page.last_seq);
            let snapshot = self.apply_page(&page);
            // the source must say it is caught up too: a Kafka catch-up
            // reports positions below its head until every partition is read
            if after >= target && page.caught_up() {
                tracing::info!(
                    from,
                    seq = snapshot.seq(),
                    numbers = snapshot.numbers(),
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "caught up from the snapshot file: serving"
                );
                self.mark_ready();
                return Ok(());
            }
            if !progressed {
                Self::stall(self.settings.stall_pause, &mut stalled, after, target).await;
            }
        }
    }

    /// Applies one page to the store as one batch and wakes the folder when
    /// the overlay has grown past its threshold; returns the new snapshot.
    fn apply_page(&self, page: &Page) -> Arc<Snapshot> {
        let app = &self.app;
        let outcome = app.store().apply(&page.events, page.last_seq);
        let snapshot = app.store().load_full();
        app.metrics().record_apply(&outcome, &snapshot);
        if outcome.applied + outcome.stale + outcome.rejected > 0 {
            tracing::debug!(
                seq = snapshot.seq(),
                applied = outcome.applied,
                stale = outcome.stale,
                rejected = outcome.rejected,
                overlay = snapshot.overlay_len(),
                "applied a batch"
            );
        }
        if snapshot.overlay_len() >= self.settings.fold_threshold {
            app.fold_wanted().notify_one();
        }
        snapshot
    }

    fn mark_ready(&self) {
        self.app.status().set_ready();
        self.app.metrics().ready.set(1);
    }

    /// The source has not released events up to its head yet (a
    /// late-committing gap): says so once, then pauses before asking again.
    /// (Takes the pause, not `&self`: the source need not be `Sync`.)
    async fn stall(pause: Duration, stalled: &mut bool, after: u64, target: u64) {
        if !*stalled {
            tracing::info!(after, target, "the source has not yet released events up to its head; waiting");
        }
        *stalled = true;
        tokio::time::sleep(pause).await;
    }

    /// Long-polls from the applied position and applies each page as one
    /// batch.
    async fn follow(&mut self) -> Rebuild {
        loop {
            let after = self.app.store().load().seq();
            let mut page = self.fetch(after, true).await;
            match self.guard(&mut page, after).await {
                Ok(true) => {
                    self.apply_page(&page);
                    self.lineage.applied(&page.events);
                }
                Ok(false) => {}
                Err(rebuild) => return rebuild,
            }
            self.app.metrics().lag_seconds.set(self.app.status().lag().as_secs_f64());
        }
    }
}
