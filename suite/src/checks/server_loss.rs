//! Checks of the server-loss tier: the store's server connections are killed on the server
//! ([`crate::Storage::kill_connections`]) between calls and during them. Every call answers, in
//! bounded time, with `Ok` or a `Backend` error; a write happens whole or not at all; and the
//! next call on the same store object works. [`churn`] is public so that a test can print its
//! figures.

use super::{checks, ensure, token, CheckResult, Ctx};
use crate::show;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokenstore_core::{ErrorKind, StoreError, Token};

checks![
    (
        "server-loss.recovers",
        every_call_works_after_idle_connections_are_killed
    ),
    (
        "server-loss.recovers",
        calls_beside_repeated_kills_answer_and_lose_nothing
    ),
];

/// How long one call may take, connections killed or not, before it counts as a hang.
pub const CALL_LIMIT: Duration = Duration::from_secs(5);

/// How many times [`churn`] kills the store's connections.
pub const KILLS: usize = 30;

/// The pause between two kills of [`churn`].
const BETWEEN_KILLS: Duration = Duration::from_millis(3);

/// How many tasks call the store during [`churn`], and how many users each one saves.
const WORKERS: usize = 4;
const USERS_PER_WORKER: usize = 3;

/// What one [`churn`] run measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChurnFigures {
    /// Times the store's connections were killed.
    pub kills: usize,
    /// Connections the kills closed, as the server counted them.
    pub connections_killed: usize,
    /// Store calls made while the kills went on.
    pub calls: usize,
    /// Of those, the calls that answered with a `Backend` error.
    pub backend_errors: usize,
    /// Acknowledged writes missing or changed afterwards.
    pub tokens_lost: usize,
}

/// Runs `call`, failing if it takes longer than [`CALL_LIMIT`].
async fn within_limit<T>(call: &str, future: impl Future<Output = T>) -> Result<T, String> {
    tokio::time::timeout(CALL_LIMIT, future)
        .await
        .map_err(|_| format!("{call} did not answer within {} s", CALL_LIMIT.as_secs()))
}

/// Kills the store's idle connections. A store that holds none between calls (one connection
/// per call, as the SDK's DBStore) has none to lose here; [`churn`], whose kills land during
/// calls, must find some.
async fn kill_before(ctx: &Ctx, call: &str) -> Result<usize, String> {
    if !ctx.faults {
        return Ok(0);
    }
    within_limit("kill_connections()", ctx.storage.kill_connections())
        .await?
        .map_err(|e| format!("kill_connections() before {call} = Err({e}), want Ok"))
}

async fn every_call_works_after_idle_connections_are_killed(ctx: Ctx) -> CheckResult {
    let alice = ctx
        .save(&token!(
            user_name = "alice",
            refresh_token = "r-alice",
            access_token = "a-1"
        ))
        .await?;
    let bob = ctx
        .save(&token!(user_name = "bob", refresh_token = "r-bob"))
        .await?;
    let carol = ctx.save(&token!(access_token = "a-carol")).await?;
    let bob_id = bob.id.clone().unwrap_or_default();

    let probe = token!(user_name = "alice");
    kill_before(&ctx, "find_token").await?;
    within_limit("find_token", ctx.expect_find(&probe, Some(&alice))).await??;

    kill_before(&ctx, "find_token_by_id").await?;
    let found = within_limit("find_token_by_id", ctx.stored(&bob_id)).await??;
    ensure(found == bob, || {
        format!(
            "find_token_by_id({bob_id:?}) after the kill = {}, want {}",
            show::token(&found),
            show::token(&bob)
        )
    })?;

    kill_before(&ctx, "get_tokens").await?;
    let all = within_limit("get_tokens()", ctx.all()).await??;
    let mut want = vec![alice.clone(), bob.clone(), carol];
    want.sort_by(|a, b| a.id.cmp(&b.id));
    super::expect_same_tokens("get_tokens() after the kill", &all, &want)?;

    kill_before(&ctx, "save_token").await?;
    let update = token!(user_name = "alice", access_token = "a-2");
    let saved = within_limit("save_token", ctx.save(&update)).await??;
    ensure(saved.id == alice.id, || {
        format!(
            "save_token({}) after the kill wrote back id {:?}, want alice's {:?}",
            show::token(&update),
            saved.id,
            alice.id
        )
    })?;
    let mut merged = alice.clone();
    merged.access_token = Some("a-2".into());
    let stored = ctx.stored(alice.id.as_deref().unwrap_or_default()).await?;
    ensure(stored == merged, || {
        format!(
            "after save_token({}) following a kill the stored token is {}, want {}",
            show::token(&update),
            show::token(&stored),
            show::token(&merged)
        )
    })?;

    kill_before(&ctx, "delete_token").await?;
    within_limit("delete_token", ctx.store.delete_token(&bob_id))
        .await?
        .map_err(|e| format!("delete_token({bob_id:?}) after the kill = Err({e}), want Ok"))?;
    let gone = ctx.by_id(&bob_id).await?;
    ensure(
        matches!(&gone, Err(e) if ctx.choices.refuses_as(e.kind(), ErrorKind::NotFound)),
        || {
            format!("find_token_by_id({bob_id:?}) after deleting it following a kill = {gone:?}, want NotFound")
        },
    )?;

    kill_before(&ctx, "delete_tokens").await?;
    within_limit("delete_tokens", ctx.store.delete_tokens())
        .await?
        .map_err(|e| format!("delete_tokens() after the kill = Err({e}), want Ok"))?;
    let left = ctx.all().await?;
    super::expect_same_tokens(
        "get_tokens() after delete_tokens() following a kill",
        &left,
        &[],
    )
}

async fn calls_beside_repeated_kills_answer_and_lose_nothing(ctx: Ctx) -> CheckResult {
    let figures = churn(&ctx).await?;
    ensure(!ctx.faults || figures.connections_killed > 0, || {
        format!(
            "none of {} kills found a connection of the store while {} calls ran, so none was lost: the store talks to another server than the one named, or to this one over its Unix socket (connect over TCP: mysql_async's prefer_socket=false, a host other than localhost for libmysqlclient and libpq), and the tier could not be checked",
            figures.kills, figures.calls
        )
    })
}

/// A token of `user` as saved at `version`: every written field carries the version, so a token
/// mixing two saves shows.
fn versioned(user: &User, version: usize) -> Token {
    token!(
        id = user.id.clone(),
        user_name = user.name.clone(),
        refresh_token = format!("{}-r{version}", user.name),
        access_token = format!("{}-a{version}", user.name),
        expiry_time = format!("{version}"),
    )
}

/// The version a stored token of `user` is whole at; `None` if it mixes saves or is not its.
fn version_of(token: &Token, user: &User) -> Option<usize> {
    let version: usize = token.expiry_time.as_deref()?.parse().ok()?;
    (*token == versioned(user, version)).then_some(version)
}

/// One user a worker saves, finds and deletes, and the states its token may be in: absent
/// (`None`) or whole at a version. An acknowledged write leaves one state; a write that failed
/// with a `Backend` error adds its outcome to the states.
struct User {
    name: String,
    id: String,
    may_hold: BTreeSet<Option<usize>>,
}

impl User {
    fn acknowledged(&mut self, state: Option<usize>) {
        self.may_hold = BTreeSet::from([state]);
    }

    fn uncertain(&mut self, state: Option<usize>) {
        self.may_hold.insert(state);
    }

    /// Whether a read that saw `token` agrees with the states the token may be in.
    fn explains(&self, token: Option<&Token>) -> bool {
        match token {
            None => self.may_hold.contains(&None),
            Some(t) => version_of(t, self).is_some_and(|v| self.may_hold.contains(&Some(v))),
        }
    }
}

/// What one worker did: its users, and the keyless tokens it inserted, each with whether the
/// insert was acknowledged.
struct Worker {
    users: Vec<User>,
    keyless: BTreeMap<String, bool>,
}

/// The counters the workers share.
#[derive(Default)]
struct Counters {
    calls: AtomicUsize,
    backend_errors: AtomicUsize,
}

/// A call's answer while connections are killed: `Ok` and `Backend` are expected, `NotFound`
/// only where `not_found_allowed`; anything else, or no answer within [`CALL_LIMIT`], is a
/// violation.
async fn answer<T>(
    counters: &Counters,
    call: String,
    not_found_allowed: bool,
    future: impl Future<Output = Result<T, StoreError>>,
) -> Result<Result<T, ErrorKind>, String> {
    counters.calls.fetch_add(1, Ordering::Relaxed);
    let result = within_limit(&format!("{call} while connections were killed"), future).await?;
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) if e.kind() == ErrorKind::Backend => {
            counters.backend_errors.fetch_add(1, Ordering::Relaxed);
            Ok(Err(ErrorKind::Backend))
        }
        Err(e) if e.kind() == ErrorKind::NotFound && not_found_allowed => {
            Ok(Err(ErrorKind::NotFound))
        }
        Err(e) => Err(format!(
            "{call} while connections were killed = Err({e}), want Ok or a Backend error"
        )),
    }
}

/// One worker: saves, finds, deletes and keyless inserts in a loop until `stop`, checking each
/// answer against what its own calls may have left.
async fn work(
    ctx: Ctx,
    worker: usize,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
) -> Result<Worker, String> {
    let mut state = Worker {
        users: (0..USERS_PER_WORKER)
            .map(|u| User {
                name: format!("churn-{worker}-{u}"),
                id: format!("churn{worker}x{u}"),
                may_hold: BTreeSet::from([None]),
            })
            .collect(),
        keyless: BTreeMap::new(),
    };
    let not_found_on_delete = ctx.choices.delete_missing_reports_not_found;
    let mut step = 0;
    while !stop.load(Ordering::Relaxed) {
        // A store that answers without waiting would otherwise keep this worker thread, and
        // the task that kills connections and sets `stop` might never run.
        tokio::task::yield_now().await;
        let user = &mut state.users[step % USERS_PER_WORKER];
        match step % 8 {
            0 | 3 | 6 => {
                let mut t = versioned(user, step);
                let call = format!("save_token({})", show::token(&t));
                match answer(&counters, call, false, ctx.store.save_token(&mut t)).await? {
                    Ok(()) => user.acknowledged(Some(step)),
                    Err(_) => user.uncertain(Some(step)),
                }
            }
            1 => {
                let probe = token!(user_name = user.name.clone());
                let call = format!("find_token({})", show::token(&probe));
                if let Ok(found) =
                    answer(&counters, call.clone(), false, ctx.store.find_token(&probe)).await?
                {
                    ensure(user.explains(found.as_ref()), || {
                        format!("{call} while connections were killed = {}, which no save or delete of it left, want a value one of them left", show::opt_token(&found))
                    })?;
                }
            }
            2 => {
                let call = format!("find_token_by_id({:?})", user.id);
                let absent_possible = user.may_hold.contains(&None);
                let found = answer(
                    &counters,
                    call.clone(),
                    absent_possible,
                    ctx.store.find_token_by_id(&user.id),
                )
                .await?;
                if let Ok(found) = found {
                    ensure(user.explains(Some(&found)), || {
                        format!(
                            "{call} while connections were killed = {}, which no save of it left, want a value a save left",
                            show::token(&found)
                        )
                    })?;
                }
            }
            4 => {
                let call = format!("delete_token({:?})", user.id);
                let allowed = not_found_on_delete && user.may_hold.contains(&None);
                match answer(&counters, call, allowed, ctx.store.delete_token(&user.id)).await? {
                    Ok(()) | Err(ErrorKind::NotFound) => user.acknowledged(None),
                    Err(_) => user.uncertain(None),
                }
            }
            5 => {
                let value = format!("keyless-{worker}-{step}");
                let mut t = token!(refresh_token = value.clone());
                let call = format!("save_token({})", show::token(&t));
                let saved = answer(&counters, call, false, ctx.store.save_token(&mut t)).await?;
                state.keyless.insert(value, saved.is_ok());
            }
            _ => {
                let all = answer(
                    &counters,
                    "get_tokens()".into(),
                    false,
                    ctx.store.get_tokens(),
                )
                .await?;
                if let Ok(all) = all {
                    let mine = |t: &&Token| {
                        t.user_name
                            .as_deref()
                            .is_some_and(|n| n.starts_with(&format!("churn-{worker}-")))
                    };
                    for t in all.iter().filter(mine) {
                        ensure(state.users.iter().any(|u| u.explains(Some(t))), || {
                            format!("get_tokens() while connections were killed returned {}, which no save left, want only saved tokens", show::token(t))
                        })?;
                    }
                }
            }
        }
        step += 1;
    }
    Ok(state)
}

/// Kills the store's connections [`KILLS`] times, [`BETWEEN_KILLS`] apart: the number of
/// connections killed.
async fn kill_repeatedly(ctx: &Ctx) -> Result<usize, String> {
    let mut killed = 0;
    for _ in 0..KILLS {
        tokio::time::sleep(BETWEEN_KILLS).await;
        if !ctx.faults {
            continue;
        }
        killed += within_limit("kill_connections()", ctx.storage.kill_connections())
            .await?
            .map_err(|e| format!("kill_connections() = Err({e}), want Ok"))?;
    }
    Ok(killed)
}

/// Several tasks call the store in a loop while its connections are killed [`KILLS`] times;
/// then, with no more kills, the next calls must work and the stored tokens must be what the
/// calls' answers allow: every acknowledged write kept, every failed one whole or absent, no user
/// twice, nothing never saved.
pub async fn churn(ctx: &Ctx) -> Result<ChurnFigures, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| tokio::spawn(work(ctx.clone(), w, stop.clone(), counters.clone())))
        .collect();
    let killed = kill_repeatedly(ctx).await;
    stop.store(true, Ordering::Relaxed);
    let mut states = Vec::new();
    for worker in workers {
        states.push(
            worker
                .await
                .map_err(|e| format!("a worker panicked: {e}"))??,
        );
    }
    let connections_killed = killed?;

    let all = within_limit("get_tokens() after the kills", ctx.store.get_tokens())
        .await?
        .map_err(|e| {
            format!("get_tokens() after the kills stopped = Err({e}), want Ok from the same store")
        })?;
    ctx.save(&token!(user_name = "after-the-kills", refresh_token = "r"))
        .await
        .map_err(|e| format!("after the kills stopped, {e}"))?;

    let tokens_lost = check_stored(&all, &states)?;
    Ok(ChurnFigures {
        kills: KILLS,
        connections_killed,
        calls: counters.calls.load(Ordering::Relaxed),
        backend_errors: counters.backend_errors.load(Ordering::Relaxed),
        tokens_lost,
    })
}

/// Compares the stored tokens with what the workers' calls allow; the number of acknowledged
/// writes lost, which must be none.
fn check_stored(all: &[Token], states: &[Worker]) -> Result<usize, String> {
    let users: BTreeMap<&str, &User> = states
        .iter()
        .flat_map(|w| &w.users)
        .map(|u| (u.name.as_str(), u))
        .collect();
    let keyless: BTreeMap<&str, bool> = states
        .iter()
        .flat_map(|w| &w.keyless)
        .map(|(value, acknowledged)| (value.as_str(), *acknowledged))
        .collect();
    let mut per_user: BTreeMap<&str, Vec<&Token>> = BTreeMap::new();
    let mut per_keyless: BTreeMap<&str, usize> = BTreeMap::new();
    for t in all {
        if let Some(user) = t.user_name.as_deref().and_then(|n| users.get_key_value(n)) {
            per_user.entry(user.0).or_default().push(t);
        } else if let Some(value) = t
            .refresh_token
            .as_deref()
            .and_then(|r| keyless.get_key_value(r))
        {
            ensure(t.user_name.is_none() && t.access_token.is_none(), || {
                format!(
                    "after the kills get_tokens() holds {}, a keyless save mixed with another, want each whole",
                    show::token(t)
                )
            })?;
            *per_keyless.entry(value.0).or_default() += 1;
        } else {
            return Err(format!(
                "after the kills get_tokens() holds {}, which no call saved, want only saved tokens",
                show::token(t)
            ));
        }
    }
    for (name, user) in &users {
        let stored = per_user.get(name).map(Vec::as_slice).unwrap_or_default();
        ensure(stored.len() <= 1, || {
            format!(
                "after the kills get_tokens() holds {} tokens for user {name:?}, want at most 1",
                stored.len()
            )
        })?;
        if !user.explains(stored.first().copied()) {
            return Err(format!(
                "after the kills user {name:?} has {}, want one of {:?} (absent or whole at a version its saves wrote)",
                show::opt_token(&stored.first().map(|t| (*t).clone())),
                user.may_hold
            ));
        }
    }
    let mut lost = 0;
    for (value, acknowledged) in &keyless {
        let copies = per_keyless.get(value).copied().unwrap_or(0);
        ensure(copies <= 1, || {
            format!("after the kills get_tokens() holds {copies} tokens of one keyless save (refresh token {value:?}), want at most 1")
        })?;
        if *acknowledged && copies == 0 {
            lost += 1;
        }
    }
    ensure(lost == 0, || {
        format!("after the kills {lost} acknowledged keyless saves are missing from get_tokens(), want every acknowledged save kept")
    })?;
    Ok(lost)
}
