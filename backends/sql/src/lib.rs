//! The shared core of the SQL server stores (`mysql`, `postgres`), each of which keeps only its
//! SQL, its driver and its errors ([`SqlDriver`], [`SaveTx`]). Written once here:
//!
//! - the six calls ([`find_token`], [`save_token`], ...): the declared limits (a value longer
//!   than a column holds is refused on save and is a miss on lookup, never sent), the store's
//!   implementation-defined choices (a delete of a missing id, the grant-token fallback), and the
//!   retry policy of `tokenstore-retry` around every call;
//! - a save's transaction ([`save_in`]): the save lock and the locked read of every token the
//!   decision depends on, `tokenstore_core::plan_save`, one write;
//! - fresh ids: the backend's counter, taken ids skipped, and one jump past the largest numeric
//!   id when the first candidate is taken (the SDK's DBStore writes ids counted from the largest);
//! - the timeout of every call and of opening a store ([`within`]): a server that accepts and
//!   never answers, or a lock nobody releases, fails the call instead of hanging it.

use async_trait::async_trait;
use std::future::Future;
use std::time::Duration;
use tokenstore_core::{find_by_id_in, find_in, find_lookups, plan_save, save_lookups};
use tokenstore_core::{Candidates, Choices, Field, Limits, Result, SavePlan, StoreError, Token};
use tokenstore_retry::{with_retries, Attempt, Resend};

/// How long a call, or opening a store, waits for the server by default: longer than any lock
/// wait of a save under load, far shorter than forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// `work`, or after `timeout` a Backend error naming the backend `name` and the timeout: the
/// server did not answer in time, and the call may or may not have taken effect (a write whose
/// commit was on its way when the wait ended).
pub async fn within<T>(
    name: &str,
    timeout: Duration,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(timeout, work).await {
        Ok(answer) => answer,
        Err(_) => Err(StoreError::Backend {
            message: format!(
                "{name}: the server did not answer within {:.1} s (the store's timeout); the call may or may not have taken effect",
                timeout.as_secs_f64()
            ),
            source: None,
        }),
    }
}

/// One SQL server's side of a store: one attempt at each call, on one connection, mapping the
/// driver's errors to [`Attempt`]s (a lost race, a lost connection, an answer).
#[async_trait]
pub trait SqlDriver: Send + Sync {
    /// The driver's error, kept in [`Attempt::Retry`] for the message after the last attempt.
    type Error: std::error::Error + Send + Sync + 'static;
    /// The backend's name, first in its error messages (`mysql`).
    const NAME: &'static str;
    /// The store's implementation-defined choices (spec §5).
    const CHOICES: Choices;
    /// What the table's columns hold.
    const LIMITS: Limits;

    /// How long one call waits for the server, its retries included ([`within`]).
    fn timeout(&self) -> Duration {
        DEFAULT_TIMEOUT
    }

    /// Every token one of `lookups` designates (a `WHERE field = value OR ...`), one query.
    async fn select(&self, lookups: &[(Field, String)])
        -> Result<Candidates, Attempt<Self::Error>>;

    /// Every token of the table.
    async fn select_all(&self) -> Result<Vec<Token>, Attempt<Self::Error>>;

    /// Deletes the token with id `id`, or every token for `None`: how many rows went.
    async fn delete(&self, id: Option<&str>) -> Result<u64, Attempt<Self::Error>>;

    /// One attempt at saving `token` in one transaction, deciding with [`save_in`]: the id of the
    /// stored token.
    async fn save(&self, token: &Token) -> Result<String, Attempt<Self::Error>>;
}

/// `find_token`: one query for the probe's lookup key (and its fallback); a key value longer
/// than its column holds cannot be stored, so it is a miss without a query.
pub async fn find_token<D: SqlDriver>(driver: &D, probe: &Token) -> Result<Option<Token>> {
    within(D::NAME, driver.timeout(), find(driver, probe)).await
}

async fn find<D: SqlDriver>(driver: &D, probe: &Token) -> Result<Option<Token>> {
    let mut lookups = find_lookups(probe, D::CHOICES);
    lookups.retain(|(field, value)| D::LIMITS.holds(*field, value));
    if lookups.is_empty() {
        return Ok(None);
    }
    let candidates = with_retries(D::NAME, Resend::Safe, || driver.select(&lookups)).await?;
    find_in(&candidates, probe, D::CHOICES)
}

/// `save_token`: a value past the limits is refused (InvalidToken) before any query; the save
/// is retried after a lost race and sent again after a lost connection when that is safe.
pub async fn save_token<D: SqlDriver>(driver: &D, token: &mut Token) -> Result<()> {
    D::LIMITS.check(token)?;
    let resend = Resend::of_save(token);
    let saved = with_retries(D::NAME, resend, || driver.save(token));
    let id = within(D::NAME, driver.timeout(), saved).await?;
    token.id = Some(id);
    Ok(())
}

/// `delete_token`: a missing id is NotFound or silent, as the store's choice says.
pub async fn delete_token<D: SqlDriver>(driver: &D, id: &str) -> Result<()> {
    let missing = || match D::CHOICES.delete_missing_reports_not_found {
        true => Err(StoreError::NotFound { id: id.to_owned() }),
        false => Ok(()),
    };
    if !D::LIMITS.holds(Field::Id, id) {
        return missing();
    }
    let deleted = with_retries(D::NAME, Resend::Delete, || async {
        match driver.delete(Some(id)).await? {
            0 => missing().map_err(Attempt::Final),
            _ => Ok(()),
        }
    });
    within(D::NAME, driver.timeout(), deleted).await
}

/// `get_tokens`: one query.
pub async fn get_tokens<D: SqlDriver>(driver: &D) -> Result<Vec<Token>> {
    let listed = with_retries(D::NAME, Resend::Safe, || driver.select_all());
    within(D::NAME, driver.timeout(), listed).await
}

/// `delete_tokens`: one statement.
pub async fn delete_tokens<D: SqlDriver>(driver: &D) -> Result<()> {
    let emptied = with_retries(D::NAME, Resend::Safe, || driver.delete(None));
    within(D::NAME, driver.timeout(), emptied).await.map(drop)
}

/// `find_token_by_id`: one query; an id longer than the column holds is NotFound.
pub async fn find_token_by_id<D: SqlDriver>(driver: &D, id: &str) -> Result<Token> {
    if !D::LIMITS.holds(Field::Id, id) {
        return Err(StoreError::NotFound { id: id.to_owned() });
    }
    let lookups = [(Field::Id, id.to_owned())];
    let read = with_retries(D::NAME, Resend::Safe, || driver.select(&lookups));
    let candidates = within(D::NAME, driver.timeout(), read).await?;
    find_by_id_in(&candidates, id)
}

/// A save's transaction as a backend runs it: its SQL for each step of [`save_in`].
#[async_trait]
pub trait SaveTx: Send {
    /// The database's error.
    type Error: Send;

    /// Takes the table's save lock, so that saves to one table take turns (under READ
    /// COMMITTED a save that found no token for its key could otherwise insert beside a token
    /// another save inserted for that key meanwhile, a state no order of the two saves gives),
    /// and reads, locked, every token one of `lookups` designates.
    async fn lock_and_select(
        &mut self,
        lookups: &[(Field, String)],
    ) -> Result<Candidates, Self::Error>;

    /// Writes the merged token over the stored one with its id.
    async fn update(&mut self, merged: &Token) -> Result<(), Self::Error>;

    /// Writes a new token, its id set.
    async fn insert(&mut self, new: &Token) -> Result<(), Self::Error>;

    /// The backend counter's next value, a candidate fresh id.
    async fn next_id(&mut self) -> Result<u64, Self::Error>;

    /// Whether a stored token has id `id`.
    async fn id_taken(&mut self, id: &str) -> Result<bool, Self::Error>;

    /// Moves the counter past the largest numeric id of the table.
    async fn skip_numeric_ids(&mut self) -> Result<(), Self::Error>;
}

/// One save inside the transaction `tx`: the outer error is the database's (the caller commits
/// or maps it), the inner the spec's answer (a conflict, a refusal) with nothing written.
pub async fn save_in<T: SaveTx>(
    tx: &mut T,
    token: &Token,
    choices: Choices,
) -> Result<Result<String>, T::Error> {
    let candidates = tx.lock_and_select(&save_lookups(token, choices)).await?;
    let plan = match plan_save(&candidates, token, choices) {
        Ok(plan) => plan,
        Err(answer) => return Ok(Err(answer)),
    };
    let id = match plan {
        SavePlan::Update { merged, changed } => {
            if changed {
                tx.update(&merged).await?;
            }
            merged.id
        }
        SavePlan::Insert(mut new) => {
            if new.id.is_none() {
                new.id = Some(fresh_id(tx).await?);
            }
            tx.insert(&new).await?;
            new.id
        }
    };
    Ok(Ok(id.unwrap_or_default()))
}

/// The counter's next value no stored token has as its id. When the first candidate is taken,
/// the counter jumps past the largest numeric id once (ids others wrote) rather than probing
/// them one by one.
async fn fresh_id<T: SaveTx>(tx: &mut T) -> Result<String, T::Error> {
    let mut jumped = false;
    loop {
        let id = tx.next_id().await?.to_string();
        if !tx.id_taken(&id).await? {
            return Ok(id);
        }
        if !jumped {
            jumped = true;
            tx.skip_numeric_ids().await?;
        }
    }
}

/// `what` failed on the server `name`: a Backend error with the driver's error as its source.
pub fn backend<E>(name: &'static str, what: &'static str) -> impl Fn(E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    move |e| {
        StoreError::backend(
            format!("{name}: {what}: {}", tokenstore_core::with_causes(&e)),
            e,
        )
    }
}

/// The error a one-off call (creating or dropping the tables) reports.
pub fn final_error<E>(name: &'static str, attempt: Attempt<E>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    match attempt {
        Attempt::Final(e) | Attempt::Lost(e) => e,
        Attempt::Retry(e) => backend(name, "lost a race")(e),
    }
}
