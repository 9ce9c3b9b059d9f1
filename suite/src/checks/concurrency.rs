//! Checks of one store object called from many tasks at once (the concurrency tier).

use super::{checks, ensure, token, CheckResult, Ctx};
use crate::show;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokenstore_core::{Token, TokenStore};

checks![
    (
        "concurrency.distinct-users",
        concurrent_saves_of_distinct_users_all_land
    ),
    (
        "concurrency.same-user",
        concurrent_saves_of_one_user_make_one_token
    ),
    (
        "concurrency.reader-consistent",
        readers_beside_writers_see_whole_tokens
    ),
];

/// How many updates the writers make, at least, while the reader reads.
const WRITES: usize = 200;

/// The most rounds the reader-writer check's writers make in all. Each round also saves a new
/// token, so writers left to run while the reader is starved of the CPU grew the store without
/// bound, and every listing the reader then made read all of it: on a busy two-core machine the
/// `memory` backend's run took 30 to 170 s instead of a fraction of a second.
const MAX_WRITES: usize = 10 * WRITES;

async fn save_all(ctx: &Ctx, tokens: Vec<Token>) -> Result<Vec<Token>, String> {
    if !ctx.faults {
        let mut saved = Vec::new();
        for t in &tokens {
            let mut t = t.clone();
            let shown = show::token(&t);
            ctx.store
                .save_token(&mut t)
                .await
                .map_err(|e| format!("save_token({shown}) = Err({e}), want Ok"))?;
            saved.push(t);
        }
        return Ok(saved);
    }
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|mut t| {
            let store = ctx.store.clone();
            tokio::spawn(async move {
                let shown = show::token(&t);
                store
                    .save_token(&mut t)
                    .await
                    .map(|()| t)
                    .map_err(|e| format!("concurrent save_token({shown}) = Err({e}), want Ok"))
            })
        })
        .collect();
    let mut saved = Vec::new();
    for task in tasks {
        saved.push(
            task.await
                .map_err(|e| format!("a concurrent save panicked: {e}"))??,
        );
    }
    Ok(saved)
}

async fn concurrent_saves_of_distinct_users_all_land(ctx: Ctx) -> CheckResult {
    let clients = ctx.load.tasks;
    let tokens = (0..clients)
        .map(|i| {
            token!(
                user_name = format!("user-{i}"),
                refresh_token = format!("r-{i}")
            )
        })
        .collect();
    let saved = save_all(&ctx, tokens).await?;
    let ids: HashSet<_> = saved.iter().map(|t| t.id.clone()).collect();
    ensure(ids.len() == clients, || {
        format!(
            "{clients} concurrent inserts returned {} distinct ids, want {clients}",
            ids.len()
        )
    })?;
    let all = ctx.all().await?;
    ensure(all.len() == clients, || {
        format!(
            "after {clients} concurrent inserts get_tokens() holds {} tokens, want {clients}",
            all.len()
        )
    })?;
    for t in &saved {
        let stored = ctx.stored(t.id.as_deref().unwrap_or_default()).await?;
        ensure(&stored == t, || {
            format!(
                "find_token_by_id({:?}) = {}, want {}",
                t.id,
                show::token(&stored),
                show::token(t)
            )
        })?;
    }
    Ok(())
}

async fn concurrent_saves_of_one_user_make_one_token(ctx: Ctx) -> CheckResult {
    let clients = ctx.load.tasks;
    let tokens = (0..clients)
        .map(|i| token!(user_name = "same-user", refresh_token = format!("r-{i}")))
        .collect();
    let saved = save_all(&ctx, tokens).await?;
    let all = ctx.all().await?;
    ensure(all.len() == 1, || {
        format!(
            "after {clients} concurrent saves for one user get_tokens() holds {} tokens, want 1",
            all.len()
        )
    })?;
    let ids: HashSet<_> = saved.iter().map(|t| t.id.clone()).collect();
    ensure(ids.len() == 1, || {
        format!(
            "{clients} concurrent saves for one user returned {} different ids, want 1",
            ids.len()
        )
    })
}

/// A token whose every written field carries the same version, so a torn read shows.
fn versioned(user: usize, version: usize) -> Token {
    token!(
        user_name = format!("reader-user-{user}"),
        refresh_token = format!("v{version}"),
        access_token = format!("v{version}"),
        expiry_time = format!("v{version}"),
    )
}

fn torn(t: &Token) -> bool {
    if !t
        .user_name
        .as_deref()
        .is_some_and(|u| u.starts_with("reader-user-"))
    {
        return false;
    }
    let versions = [&t.refresh_token, &t.access_token, &t.expiry_time];
    versions.iter().any(|v| *v != versions[0])
}

/// One round of writer `w`: an update of one of the `USERS` tokens to `version`, then an insert
/// of a new user.
async fn write_round(store: &dyn TokenStore, w: usize, version: usize) -> CheckResult {
    let mut t = versioned((w + version) % USERS, version);
    store
        .save_token(&mut t)
        .await
        .map_err(|e| format!("writer save_token = Err({e}), want Ok"))?;
    let mut extra = token!(
        user_name = format!("extra-{w}-{version}"),
        refresh_token = "r"
    );
    store
        .save_token(&mut extra)
        .await
        .map_err(|e| format!("writer save_token = Err({e}), want Ok"))
}

/// How many tokens the reader-writer check keeps updating.
const USERS: usize = 8;

async fn readers_beside_writers_see_whole_tokens(ctx: Ctx) -> CheckResult {
    let mut ids = Vec::new();
    for user in 0..USERS {
        ids.push(ctx.save_id(&versioned(user, 0)).await?);
    }
    if !ctx.faults {
        // The control run: the writers' saves one after another, with no reader beside them.
        // A save that fails here fails for a sequential defect (a fresh id that collides), not
        // for the overlap.
        for version in 1..=WRITES / 4 {
            for w in 0..4 {
                write_round(&*ctx.store, w, version).await?;
            }
        }
        return Ok(());
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = ctx.store.clone();
            let stop = stop.clone();
            let writes = writes.clone();
            tokio::spawn(async move {
                let mut version = 1;
                while !stop.load(Ordering::Relaxed) && writes.load(Ordering::Relaxed) < MAX_WRITES {
                    write_round(&*store, w, version).await?;
                    version += 1;
                    writes.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
                Ok::<(), String>(())
            })
        })
        .collect();
    let mut problem = None;
    // Read until the writers have done enough to overlap many reads, however slowly they start.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut reads = 0;
    while reads < 40
        || (writes.load(Ordering::Relaxed) < WRITES && std::time::Instant::now() < deadline)
    {
        reads += 1;
        let all = match ctx.store.get_tokens().await {
            Ok(all) => all,
            Err(e) => {
                problem = Some(format!("get_tokens() beside writers = Err({e})"));
                break;
            }
        };
        let present: HashSet<_> = all.iter().filter_map(|t| t.id.clone()).collect();
        if let Some(missing) = ids.iter().find(|id| !present.contains(*id)) {
            problem = Some(format!("get_tokens() beside writers missed the token with id {missing:?}, stored before the read began"));
            break;
        }
        if let Some(t) = all.iter().find(|t| torn(t)) {
            problem = Some(format!(
                "get_tokens() beside writers returned a half-written token {}",
                show::token(t)
            ));
            break;
        }
        for (user, id) in ids.iter().enumerate() {
            match ctx
                .store
                .find_token(&token!(user_name = format!("reader-user-{user}")))
                .await
            {
                Ok(Some(t)) if !torn(&t) && t.id.as_deref() == Some(id.as_str()) => {}
                other => {
                    problem = Some(format!("find_token of user {user} beside writers = {other:?}, want its whole token with id {id:?}"));
                    break;
                }
            }
        }
        if problem.is_some() {
            break;
        }
        tokio::task::yield_now().await;
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.map_err(|e| format!("a writer panicked: {e}"))??;
    }
    problem.map_or(Ok(()), Err)
}
