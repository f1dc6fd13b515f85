//! Bounded waits: a test that would hang fails instead.

use std::future::Future;
use std::time::Duration;

/// How long any one wait in the tests may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// Fails the test when `f` does not finish within [`PATIENCE`].
pub async fn within<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(PATIENCE, f).await.unwrap_or_else(|_| panic!("timed out after {PATIENCE:?}: {what}"))
}

/// Polls `check` every 50 ms until it is true, failing after [`PATIENCE`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    within(what, async {
        while !check().await {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}
