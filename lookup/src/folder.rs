//! The background task that folds the overlay into a new base, so that the
//! overlay (copied on every batch) stays small.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

use crate::app::App;
use crate::snapshot_files::Writer;

/// Folds when woken (the overlay passed its threshold) or every `interval`
/// while the overlay is not empty, until `stop` turns true. With `writer`,
/// also keeps the snapshot file current (after a fold, or on a tick).
pub async fn run(app: Arc<App>, interval: Duration, mut writer: Option<Writer>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = crate::stopped(&mut stop) => break,
            _ = tick.tick() => {}
            _ = app.fold_wanted().notified() => {}
        }
        if app.store().load().overlay_len() == 0 {
            if let Some(writer) = writer.as_mut() {
                writer.maybe_write(&app).await;
            }
            continue;
        }
        let worker = Arc::clone(&app);
        match tokio::task::spawn_blocking(move || worker.store().fold()).await {
            Ok(Some(report)) => {
                app.metrics().record_fold(&report, &app.store().load());
                tracing::debug!(
                    folded = report.folded,
                    carried = report.carried,
                    entries = report.entries,
                    duration_ms = report.duration.as_millis() as u64,
                    "folded the overlay into a new base"
                );
            }
            Ok(None) => {}
            Err(error) => tracing::error!(%error, "folding failed; the current snapshot keeps serving"),
        }
        if let Some(writer) = writer.as_mut() {
            writer.maybe_write(&app).await;
        }
    }
    tracing::debug!("folder stopped");
}
