//! Snapshot bootstrap (docs/goals.md L7): a node keeps its snapshot in a file and
//! starts from it, instead of replaying every event ever published.
//!
//! Two files: the snapshot itself (the verified format of
//! [`crate::snapshot::file`], R11) and beside it `<path>.positions.json`:
//!
//! ```json
//! {"seq": 120345, "source": "kafka", "positions": {"topic": "didroute.routes.v1", "offsets": {"0": 88120}}}
//! ```
//!
//! `positions` is what the event source needs to resume so that every event
//! after `seq` is read again (Kafka: per partition, an offset at or before the
//! first record newer than `seq`; the HTTP feed needs nothing but `seq`).
//! Re-reading a few events the snapshot already holds is harmless: events
//! apply only when newer than what the node holds (R6). The positions are
//! taken before the snapshot they are written with, so they never point past
//! an event the snapshot lacks. Both are written to temporary files and
//! renamed, the snapshot first, each rename made durable (the directory
//! synced) before the next; a positions file whose `seq` differs from the
//! snapshot's (a crash between the renames) is ignored, and the node then
//! reads the topic from the beginning on top of the loaded snapshot.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::feed::Resume;
use crate::snapshot::Snapshot;

/// Where the node keeps its snapshot file and how often it rewrites it.
#[derive(Debug, Clone)]
pub struct SnapshotFiles {
    pub path: PathBuf,
    pub interval: Duration,
}

/// The positions file.
#[derive(Debug, Serialize, Deserialize)]
struct Positions {
    seq: u64,
    source: String,
    #[serde(default)]
    positions: serde_json::Value,
    /// The lineage of the history the snapshot holds: a node started from
    /// the file refuses a source of another one (feed/lineage.rs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lineage: Option<uuid::Uuid>,
}

/// What a node started from: the snapshot's position and the source's
/// resume positions recorded with it (when they match the snapshot).
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub seq: u64,
    pub source: String,
    pub positions: Option<serde_json::Value>,
}

impl SnapshotFiles {
    pub fn positions_path(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".positions.json");
        PathBuf::from(p)
    }

    /// Loads the snapshot file into `app` when there is one that verifies
    /// (a refused file is counted and logged, and the node starts empty).
    pub fn load(&self, app: &App) -> Option<Bootstrap> {
        if !self.path.exists() {
            tracing::info!(path = %self.path.display(), "no snapshot file yet; reading every event");
            return None;
        }
        let seq = app.load_snapshot_file(&self.path).ok()?;
        let recorded = std::fs::read(self.positions_path())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Positions>(&bytes).ok());
        let bootstrap = match recorded {
            Some(p) if p.seq == seq => {
                app.set_lineage(p.lineage);
                Bootstrap { seq, source: p.source, positions: Some(p.positions) }
            }
            other => {
                tracing::warn!(
                    path = %self.positions_path().display(),
                    snapshot_seq = seq,
                    positions_seq = other.map(|p| p.seq),
                    "the positions file is missing or does not match the snapshot; a Kafka node reads the topic from the beginning"
                );
                Bootstrap { seq, source: String::new(), positions: None }
            }
        };
        Some(bootstrap)
    }

    /// Writes the node's current snapshot and the positions that resume it.
    /// Blocking (encodes and syncs the file): run it on a blocking thread.
    /// Returns the position written, or None when the source cannot give
    /// a resume point right now (nothing is written then).
    pub fn write(&self, app: &App, resume: Option<&dyn Resume>) -> std::io::Result<Option<u64>> {
        // positions first, for what is applied now: the snapshot taken next
        // is at least as new, so they never skip an event it lacks
        let applied = app.store().load().seq();
        let positions = match resume {
            None => serde_json::Value::Null,
            Some(r) => match r.positions(applied) {
                Some(p) => p,
                None => return Ok(None),
            },
        };
        let snapshot = app.store().load_full();
        debug_assert!(snapshot.seq() >= applied);
        self.write_snapshot(&snapshot, app.source(), positions, app.lineage())?;
        Ok(Some(snapshot.seq()))
    }

    /// Writes `snapshot` with the resume `positions` of `source` and the
    /// `lineage` it holds (what [`SnapshotFiles::write`] does with a node's
    /// own snapshot; a job or a benchmark may prepare a file for nodes to
    /// start from).
    pub fn write_snapshot(
        &self,
        snapshot: &Snapshot,
        source: &str,
        positions: serde_json::Value,
        lineage: Option<uuid::Uuid>,
    ) -> std::io::Result<()> {
        let record = Positions { seq: snapshot.seq(), source: source.to_owned(), positions, lineage };
        let tmp = tmp_path(&self.positions_path());
        write_synced(&tmp, &serde_json::to_vec(&record).expect("positions serialise"))?;
        // the snapshot's rename is synced before the positions' is made, so
        // no crash leaves new positions beside an old snapshot
        snapshot.write_file(&self.path)?;
        std::fs::rename(&tmp, self.positions_path())?;
        crate::snapshot::sync_parent(&self.positions_path())
    }
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut p = path.to_owned().into_os_string();
    p.push(".tmp");
    PathBuf::from(p)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// The folder's writer: rewrites the file once the node is ready and then
/// every `interval` while the position moves.
pub struct Writer {
    files: SnapshotFiles,
    resume: Option<Arc<dyn Resume>>,
    last: Option<(Instant, u64)>,
}

impl Writer {
    pub fn new(files: SnapshotFiles, resume: Option<Arc<dyn Resume>>) -> Writer {
        Writer { files, resume, last: None }
    }

    /// Writes when due; errors are logged, never fatal (the node serves on).
    pub async fn maybe_write(&mut self, app: &Arc<App>) {
        if !app.is_ready() {
            return;
        }
        let seq = app.store().load().seq();
        if let Some((at, written)) = self.last {
            if written >= seq || at.elapsed() < self.files.interval {
                return;
            }
        }
        let (files, resume, worker) = (self.files.clone(), self.resume.clone(), Arc::clone(app));
        let started = Instant::now();
        match tokio::task::spawn_blocking(move || files.write(&worker, resume.as_deref())).await {
            Ok(Ok(None)) => tracing::debug!("the event source is catching up; the snapshot file waits"),
            Ok(Ok(Some(seq))) => {
                self.last = Some((Instant::now(), seq));
                app.metrics().snapshot_writes.inc();
                app.metrics().snapshot_written_seq.set(seq as i64);
                tracing::info!(
                    path = %self.files.path.display(),
                    seq,
                    elapsed_ms = started.elapsed().as_millis() as u64,
                    "wrote the snapshot file"
                );
            }
            Ok(Err(error)) => {
                // try again after an interval, not on every tick
                self.last = Some((Instant::now(), self.last.map_or(0, |l| l.1)));
                tracing::warn!(path = %self.files.path.display(), %error, "cannot write the snapshot file");
            }
            Err(error) => {
                self.last = Some((Instant::now(), self.last.map_or(0, |l| l.1)));
                tracing::error!(%error, "writing the snapshot file failed");
            }
        }
    }
}
