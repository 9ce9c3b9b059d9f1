//! Retrying a transaction that lost a race with another client (a deadlock, a duplicate key
//! from a concurrent insert): the SQL backends run each save through [`with_retries`], which
//! starts the transaction again after a short jittered pause.

use std::future::Future;
use std::time::Duration;
use tokenstore_core::{Result, StoreError};

/// How many times a save that lost a race is attempted.
pub const ATTEMPTS: usize = 20;

/// The outcome of one failed attempt.
pub enum Attempt<E> {
    /// An answer: report it.
    Final(StoreError),
    /// Another transaction got there first: try again.
    Retry(E),
}

impl<E> From<StoreError> for Attempt<E> {
    fn from(e: StoreError) -> Self {
        Attempt::Final(e)
    }
}

/// Runs `attempt` until it succeeds, fails for good, or has lost [`ATTEMPTS`] races; `backend`
/// names the server in the last error.
pub async fn with_retries<T, E, F, Fut>(backend: &str, mut attempt: F) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt<E>>>,
{
    let mut last = None;
    for n in 0..ATTEMPTS {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Attempt::Final(e)) => return Err(e),
            Err(Attempt::Retry(e)) => last = Some(e),
        }
        tokio::time::sleep(backoff(n)).await;
    }
    let e = last.expect("at least one attempt ran");
    Err(StoreError::backend(
        format!("{backend}: the save lost {ATTEMPTS} races in a row: {e}"),
        e,
    ))
}

/// A pause growing with the attempt, with jitter so that two losers do not collide again.
fn backoff(attempt: usize) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 1000)
        .unwrap_or(0);
    Duration::from_micros((attempt as u64 + 1) * 500 + u64::from(jitter))
}
