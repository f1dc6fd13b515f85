//! The head position: the highest sequenced outbox position, kept current
//! for the feed's long polls and for answers that wrote nothing.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::PgPool;
use tokio::sync::watch;

use super::{sequence_all, CHANNEL};

/// Keeps `head` at the highest sequenced position: listens for the
/// sequencer's notifications, and every `tick` sequences rows left behind by a
/// writer that committed but died before sequencing.
pub async fn run_head_tracker(operator: PgPool, head: std::sync::Arc<watch::Sender<u64>>, tick: Duration) {
    loop {
        if let Err(e) = track(&operator, &head, tick).await {
            tracing::warn!(error = %e, "outbox listener failed; reconnecting");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn track(operator: &PgPool, head: &watch::Sender<u64>, tick: Duration) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(operator).await?;
    listener.listen(CHANNEL).await?;
    head.send_if_modified(|h| bump(h, 0));
    let now = sequence_all(operator).await?;
    head.send_if_modified(|h| bump(h, now));
    loop {
        tokio::select! {
            n = listener.recv() => {
                let n = n?;
                if let Ok(v) = n.payload().parse::<u64>() {
                    head.send_if_modified(|h| bump(h, v));
                }
            }
            _ = tokio::time::sleep(tick) => {
                let now = sequence_all(operator).await?;
                head.send_if_modified(|h| bump(h, now));
            }
        }
    }
}

fn bump(h: &mut u64, v: u64) -> bool {
    if v > *h {
        *h = v;
        true
    } else {
        false
    }
}
