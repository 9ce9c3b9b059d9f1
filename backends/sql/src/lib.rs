//! The shared core of the SQL server stores (`mysql`, `postgres`), each of which keeps only its
//! SQL, its driver and its errors ([`SqlDriver`], [`SaveTx`]). Written once here:
//!
//! - the six calls ([`find_token`], [`save_token`], ...): the declared limits (a value longer
//!   than a column holds is refused on save and is a miss on lookup, never sent), the store's
//!   implementation-defined choices (a delete of a missing id, the grant-token fallback), and the
//!   retry policy of `tokenstore-retry` around every call;
//! - a save in place ([`designating`], [`SqlDriver::update_in_place`]): a save of a token whose
//!   id or user name designates a stored token is one `UPDATE` of that row, serialized with every
//!   other write of it by the row's own lock, and taking no lock any other save needs;
//! - a save's transaction ([`save_in`]) for every other save: the token's per-key locks
//!   ([`lock_keys`]) and the locked read of every token the decision depends on,
//!   `tokenstore_core::plan_save`, one write;
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

    /// The store's table: the namespace of its per-key locks ([`lock_keys`]).
    fn table(&self) -> &str;

    /// Every token one of `lookups` designates (a `WHERE field = value OR ...`), one query.
    async fn select(&self, lookups: &[(Field, String)])
        -> Result<Candidates, Attempt<Self::Error>>;

    /// Every token of the table.
    async fn select_all(&self) -> Result<Vec<Token>, Attempt<Self::Error>>;

    /// Deletes the token with id `id`, or every token for `None`, at one moment however other
    /// calls write meanwhile: how many rows went (`None`: 0, uncounted).
    async fn delete(&self, id: Option<&str>) -> Result<u64, Attempt<Self::Error>>;

    /// One attempt at saving `token` in one transaction under its per-key locks `keys`
    /// ([`lock_keys`]), deciding with [`save_in`]: the id of the stored token.
    async fn save(&self, token: &Token, keys: &[i64]) -> Result<String, Attempt<Self::Error>>;

    /// One attempt at saving `token` in place: its present fields written over the stored token
    /// whose `by.0` column equals `by.1` ([`designating`]), in one statement that the row's lock
    /// orders with every other write of that token, taking the locks `keys` of the values it
    /// writes. The stored token's id; `None` when no stored token has that value, or when the
    /// write would give the token a user name another token holds (a unique-key violation), for
    /// [`SqlDriver::save`] to decide.
    async fn update_in_place(
        &self,
        by: (Field, &str),
        token: &Token,
        keys: &[i64],
    ) -> Result<Option<String>, Attempt<Self::Error>>;
}

/// The unique column and value that designate the stored token a save of `token` updates when
/// that token is stored: the id, else the user name (the lookup key then; `plan_save` looks
/// there first). `None` when the token has neither: a token column designates it, which no
/// unique key guards, so the save runs [`save_in`] under its per-key locks.
pub fn designating(token: &Token) -> Option<(Field, &str)> {
    [Field::Id, Field::UserName]
        .into_iter()
        .find_map(|field| token.get(field).map(|value| (field, value)))
}

/// The columns a save of a token with that value may read by or write: a save's per-key locks
/// cover each of them that the token holds.
const LOCKED_FIELDS: [Field; 5] = [
    Field::Id,
    Field::UserName,
    Field::RefreshToken,
    Field::AccessToken,
    Field::GrantToken,
];

/// The keys of the locks a [`save_in`] of `token` on `table` takes, ascending and distinct: one
/// per value the token holds in a column that designates tokens (id, user name, the three token
/// columns), a 64-bit FNV-1a hash of table, column and value.
///
/// Why this is enough: a save's decision depends only on the stored tokens that hold one of its
/// own values in one of those columns (`save_lookups`), and a save writes into those columns only
/// its own values or values the row already held. So two saves can each depend on what the other
/// writes only when they share a locked value, and then they take turns; saves of tokens that
/// share no value run side by side. Rows the save reads are locked too (`FOR UPDATE`), which
/// orders it with in-place saves and deletes of them. Two values that hash alike only make two
/// saves take turns.
pub fn lock_keys(table: &str, token: &Token) -> Vec<i64> {
    let mut keys: Vec<i64> = LOCKED_FIELDS
        .into_iter()
        .filter_map(|field| token.get(field).map(|value| (field, value)))
        .map(|(field, value)| fnv1a(&[table, field.name(), value]) as i64)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// FNV-1a over the parts, each followed by a 0 byte (so `("ab", "c")` and `("a", "bc")` differ).
fn fnv1a(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// The `SET` list of an in-place save: every column but the id takes the token's value when it
/// holds one, else keeps its own (`COALESCE(?, column)`, `placeholder(i)` for the i-th column
/// from 0); what `Token::merged_over` gives.
pub fn merge_set(placeholder: impl Fn(usize) -> String) -> String {
    Field::ALL[1..]
        .iter()
        .enumerate()
        .map(|(i, f)| format!("{0} = COALESCE({1}, {0})", f.name(), placeholder(i)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The values of [`merge_set`]'s placeholders: the token's value of every column but the id,
/// `None` for an absent one.
pub fn merge_values(token: &Token) -> Vec<Option<&str>> {
    Field::ALL[1..].iter().map(|f| token.get(*f)).collect()
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

/// `save_token`: a value past the limits is refused (InvalidToken) before any query; a token its
/// id or user name designates is saved in place when it is stored, any other save runs
/// [`save_in`]; the save is retried after a lost race and sent again after a lost connection when
/// that is safe.
pub async fn save_token<D: SqlDriver>(driver: &D, token: &mut Token) -> Result<()> {
    D::LIMITS.check(token)?;
    let resend = Resend::of_save(token);
    let keys = lock_keys(driver.table(), token);
    let saved = with_retries(D::NAME, resend, || async {
        if let Some(by) = designating(token) {
            if let Some(id) = driver.update_in_place(by, token, &keys).await? {
                return Ok(id);
            }
        }
        driver.save(token, &keys).await
    });
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

    /// Takes the save's per-key locks, `keys` ([`lock_keys`]), so that saves sharing a value
    /// take turns (under READ COMMITTED a save that found no token for its key could otherwise
    /// insert beside a token another save inserted for that key meanwhile, a state no order of
    /// the two saves gives), then reads, locked, every token one of `lookups` designates.
    async fn lock_and_select(
        &mut self,
        keys: &[i64],
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
    keys: &[i64],
    token: &Token,
    choices: Choices,
) -> Result<Result<String>, T::Error> {
    let candidates = tx
        .lock_and_select(keys, &save_lookups(token, choices))
        .await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_designates_before_the_user_name_and_token_columns_never() {
        let both = Token::of(&[(Field::UserName, "u"), (Field::Id, "7")]);
        assert_eq!(designating(&both), Some((Field::Id, "7")));
        let user = Token::of(&[(Field::UserName, "u"), (Field::AccessToken, "a")]);
        assert_eq!(designating(&user), Some((Field::UserName, "u")));
        let access = Token::of(&[(Field::AccessToken, "a"), (Field::RefreshToken, "r")]);
        assert_eq!(designating(&access), None);
        let empty_id = Token {
            id: Some(String::new()),
            ..Token::of(&[(Field::UserName, "u")])
        };
        assert_eq!(designating(&empty_id), Some((Field::UserName, "u")));
    }

    #[test]
    fn lock_keys_cover_each_designating_value_and_only_those() {
        let t = Token::of(&[
            (Field::UserName, "u"),
            (Field::AccessToken, "a"),
            (Field::ExpiryTime, "1"),
        ]);
        let keys = lock_keys("t", &t);
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        // One shared value is one shared key, whatever else the tokens hold.
        let other = Token::of(&[(Field::AccessToken, "a"), (Field::RefreshToken, "r")]);
        let shared: Vec<_> = lock_keys("t", &other)
            .into_iter()
            .filter(|k| keys.contains(k))
            .collect();
        assert_eq!(shared.len(), 1);
        // The same value in another column, or another table, is another key.
        let swapped = Token::of(&[(Field::RefreshToken, "u"), (Field::GrantToken, "a")]);
        assert!(lock_keys("t", &swapped).iter().all(|k| !keys.contains(k)));
        assert!(lock_keys("t2", &t).iter().all(|k| !keys.contains(k)));
    }

    #[test]
    fn the_merge_set_keeps_absent_columns() {
        let set = merge_set(|i| format!("${}", i + 1));
        assert!(set.starts_with("user_name = COALESCE($1, user_name), "));
        assert!(set.ends_with("api_domain = COALESCE($9, api_domain)"));
        let t = Token::of(&[(Field::Id, "7"), (Field::AccessToken, "a")]);
        let values = merge_values(&t);
        assert_eq!(values.len(), 9);
        assert_eq!(values.iter().flatten().collect::<Vec<_>>(), [&"a"]);
    }
}
