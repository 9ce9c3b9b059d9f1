//! Sending a server call again, the one policy every server backend follows: a transaction that
//! lost a race with another client (a deadlock, a duplicate key from a concurrent insert) starts
//! again after a short jittered pause, and a call whose connection was lost (closed, reset,
//! killed by an administrator, the server gone) is sent once more on a fresh connection, when
//! sending it twice cannot apply a write twice ([`Resend`]). Each backend runs its calls through
//! [`with_retries`] and says, per error, which of the two happened ([`Attempt`]). Stores that
//! can name their connections on the server name them with [`connection_label`].

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokenstore_core::{ErrorKind, LookupKey, Result, StoreError, Token};

/// How many times a save that lost a race is attempted.
pub const ATTEMPTS: usize = 20;

/// How many times a call whose connection was lost is sent again.
pub const RESENDS_AFTER_LOSS: usize = 1;

/// The outcome of one failed attempt.
pub enum Attempt<E> {
    /// An answer: report it.
    Final(StoreError),
    /// Another transaction got there first: try again.
    Retry(E),
    /// The connection failed under the call, which may or may not have reached the server; the
    /// backend has discarded the connection, so the next attempt runs on a fresh one.
    Lost(StoreError),
}

impl<E> From<StoreError> for Attempt<E> {
    fn from(e: StoreError) -> Self {
        Attempt::Final(e)
    }
}

/// Whether a call whose connection was lost may be sent again, and how to read the second answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resend {
    /// Sending it twice has the effect and the answer of sending it once: reads, `delete_tokens`,
    /// and a save that selects its token by id or key (the second send updates the token the
    /// first may have written).
    Safe,
    /// `delete_token`: sent again, it finds nothing when the first send deleted the token, so a
    /// `NotFound` from the second send is reported as the lost connection's `Backend` error.
    Delete,
    /// A save that inserts a new token at every send (no id, no lookup key): never sent again.
    Never,
}

impl Resend {
    /// How a save of `token` may be sent again: safely when its id or its lookup key selects the
    /// token a first send may have inserted, never otherwise.
    pub fn of_save(token: &Token) -> Resend {
        if token.id.as_deref().is_some_and(|id| !id.is_empty()) || LookupKey::of(token).is_some() {
            Resend::Safe
        } else {
            Resend::Never
        }
    }
}

/// Runs `attempt` until it succeeds or fails for good: a lost race is tried again, up to
/// [`ATTEMPTS`] in all, a lost connection [`RESENDS_AFTER_LOSS`] times when `resend` allows.
/// `backend` names the server in the error after the last lost race.
pub async fn with_retries<T, E, F, Fut>(backend: &str, resend: Resend, mut attempt: F) -> Result<T>
where
    E: std::error::Error + Send + Sync + 'static,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Attempt<E>>>,
{
    let mut last_race = None;
    let mut lost = None;
    let mut resends_left = RESENDS_AFTER_LOSS;
    let mut races = 0;
    while races < ATTEMPTS {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Attempt::Final(e)) => return Err(answer_after_loss(e, lost, resend)),
            Err(Attempt::Lost(e)) => {
                if resend == Resend::Never || resends_left == 0 {
                    return Err(e);
                }
                resends_left -= 1;
                lost = Some(e);
            }
            Err(Attempt::Retry(e)) => {
                last_race = Some(e);
                tokio::time::sleep(backoff(races)).await;
                races += 1;
            }
        }
    }
    let e = last_race.expect("at least one race was lost");
    Err(StoreError::backend(
        format!("{backend}: the save lost {ATTEMPTS} races in a row: {e}"),
        e,
    ))
}

/// The answer of a call sent again after a lost connection: a `NotFound` from a resent delete
/// may be the first send's doing, so the lost connection's error stands instead.
fn answer_after_loss(answer: StoreError, lost: Option<StoreError>, resend: Resend) -> StoreError {
    match lost {
        Some(lost) if resend == Resend::Delete && answer.kind() == ErrorKind::NotFound => lost,
        _ => answer,
    }
}

/// A pause growing with the attempt, with jitter so that two losers do not collide again.
fn backoff(attempt: usize) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() % 1000)
        .unwrap_or(0);
    Duration::from_micros((attempt as u64 + 1) * 500 + u64::from(jitter))
}

/// A name for one store object's server connections (PostgreSQL's `application_name`, a Redis
/// client name), unique to it, so that its connections can be told apart from every other
/// client's: `tokenstore-BACKEND-PROCESS-SERIAL-NANOS`, at most 63 bytes.
pub fn connection_label(backend: &str) -> String {
    static SERIAL: AtomicU64 = AtomicU64::new(0);
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mut label = format!(
        "tokenstore-{backend}-{}-{serial}-{nanos:x}",
        std::process::id()
    );
    label.truncate(63);
    label
}
