//! `--state-file`: the simulator's state kept on disk so a restarted
//! simulator still knows the orders it took (as a real carrier would), and
//! the control plane's worker finds them by customer reference instead of
//! placing them again. Written whole, atomically (a temporary file renamed
//! over the old one, so a kill mid-write leaves the previous state), at most
//! once per interval and only after a change.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use crate::state::Saved;
use crate::Shared;

/// The saved state at `path`, `None` when there is no file yet.
pub fn load(path: &Path) -> anyhow::Result<Option<Saved>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).with_context(|| format!("{} is not a simulator state", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// synced, then renamed over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut tmp = PathBuf::from(path);
    tmp.as_mut_os_string().push(".tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Saves the state to `path` every `every` when it changed, until the task
/// is dropped; also once more at the end of `serve` via [`save_now`].
pub fn spawn_writer(shared: Shared, path: PathBuf, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut saved_at = None;
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match save_if_changed(&shared, &path, saved_at).await {
                Ok(at) => saved_at = at,
                Err(e) => tracing::warn!(error = %e, path = %path.display(), "cannot save the simulator state"),
            }
        }
    })
}

/// Saves when the change count moved since `saved_at`; returns the count saved.
async fn save_if_changed(shared: &Shared, path: &Path, saved_at: Option<u64>) -> anyhow::Result<Option<u64>> {
    let (changes, saved) = {
        let sim = shared.sim.lock().expect("sim lock");
        if Some(sim.changes()) == saved_at {
            return Ok(saved_at);
        }
        (sim.changes(), sim.to_saved())
    };
    let path = path.to_owned();
    // serializing a million numbers takes a while: off the runtime's workers
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        write_atomic(&path, &serde_json::to_vec(&saved)?)?;
        Ok(())
    })
    .await??;
    Ok(Some(changes))
}

/// Saves the state now (at shutdown).
pub fn save_now(shared: &Shared, path: &Path) -> anyhow::Result<()> {
    let saved = shared.sim.lock().expect("sim lock").to_saved();
    write_atomic(path, &serde_json::to_vec(&saved)?)?;
    Ok(())
}
