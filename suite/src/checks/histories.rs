//! Checks that run many calls at once or kill the process making them: linearizable histories
//! from tasks sharing one store (concurrency tier) and from separate processes (processes tier),
//! and acknowledged writes surviving SIGKILL (crash tier).

use super::{checks, ensure, token, CheckResult, Ctx};
use crate::history::{self, Exploration};
use crate::show;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokenstore_core::{Token, TokenStore};

checks![
    (
        "concurrency.linearizable",
        concurrent_histories_are_linearizable
    ),
    (
        "processes.linearizable",
        histories_of_several_processes_are_linearizable
    ),
    ("processes.linearizable", processes_saving_at_once_all_land),
    (
        "crash.acknowledged-kept",
        acknowledged_writes_survive_sigkill
    ),
];

/// Histories the concurrency tier explores: 4 tasks, up to 8 calls each.
pub const TASK_HISTORIES: Exploration = Exploration {
    histories: 150,
    clients: 4,
    calls_per_client: 8,
    seed: 36,
};

/// Histories the processes tier explores: 3 processes, up to 8 calls each.
pub const PROCESS_HISTORIES: Exploration = Exploration {
    histories: 80,
    clients: 3,
    calls_per_client: 8,
    seed: 37,
};

/// Writing processes the crash tier kills, and the longest a writer runs before its kill.
pub const KILLS: usize = 20;
pub const MAX_KILL_DELAY: Duration = Duration::from_millis(40);

async fn concurrent_histories_are_linearizable(ctx: Ctx) -> CheckResult {
    let plan = Exploration {
        seed: TASK_HISTORIES.seed ^ ctx.seed,
        ..TASK_HISTORIES
    };
    let explored = history::explore(vec![ctx.store.clone()], ctx.choices, plan).await;
    blocked_by_emptying(&ctx, explored.map(drop))
}

/// A history starts on an emptied store: when its `delete_tokens` fails, the check is blocked
/// by `delete-tokens.empties`, not failed as a race; when the `get_tokens` that looks at the
/// emptied store fails, by `get-tokens.exact`.
fn blocked_by_emptying(ctx: &Ctx, result: CheckResult) -> CheckResult {
    if let Err(message) = &result {
        if message.starts_with(history::EMPTYING) {
            let rule = if message.contains(history::LISTING_FAILED) {
                "get-tokens.exact"
            } else {
                "delete-tokens.empties"
            };
            ctx.notes.block(rule, message.clone());
        }
    }
    result
}

/// The client processes of a processes-tier check; when one cannot open the storage this
/// check's store made, the check is blocked by `store.reopens` (whose own check decides, with
/// the other checks, whether that is the store's defect or this tier's).
async fn processes_on(ctx: &Ctx, count: usize) -> Result<Vec<crate::ProcessStore>, String> {
    history::start_processes(&*ctx.storage, count)
        .await
        .inspect_err(|message| ctx.notes.block("store.reopens", message.clone()))
}

async fn histories_of_several_processes_are_linearizable(ctx: Ctx) -> CheckResult {
    let processes = processes_on(&ctx, PROCESS_HISTORIES.clients).await?;
    let stores = history::stores_of(&processes);
    let plan = Exploration {
        seed: PROCESS_HISTORIES.seed ^ ctx.seed,
        ..PROCESS_HISTORIES
    };
    let explored = history::explore(stores, ctx.choices, plan).await.map(drop);
    drop(processes);
    if let Err(message) = &explored {
        if message.starts_with(history::EMPTYING) && empties_alone(&ctx).await {
            // Stopped, the other processes hold nothing: what failed is the sharing.
            return Err(format!(
                "{message}; the same store empties in one process once the others stopped, so it fails only while several processes use the storage (a lock or transaction one process leaves held blocks the others)"
            ));
        }
    }
    blocked_by_emptying(&ctx, explored)
}

/// The processes tier under load: `load.processes` processes on one storage each save a user of
/// their own and, at the same moment, one user they all share. Afterwards every own user has
/// its own id, the shared user is one token, and nothing else is stored. A failure that stays
/// when the same saves are made one at a time from this process is a sequential defect.
async fn processes_saving_at_once_all_land(ctx: Ctx) -> CheckResult {
    let count = ctx.load.processes;
    let processes = processes_on(&ctx, count).await?;
    let stores = history::stores_of(&processes);
    let landed = save_from(&stores, true).await;
    drop(processes);
    let result = match landed {
        Ok(saved) => all_landed(&ctx, &saved).await,
        Err(e) => Err(e),
    };
    let Err(message) = result else {
        return Ok(());
    };
    let alone = vec![ctx.store.clone(); count];
    let sequential = ctx.store.delete_tokens().await.is_ok()
        && match save_from(&alone, false).await {
            Ok(saved) => all_landed(&ctx, &saved).await.is_err(),
            Err(_) => true,
        };
    Err(if sequential {
        format!("{message}{}", history::SEQUENTIAL)
    } else {
        message
    })
}

/// Client `n`'s own user and the shared user.
fn load_tokens(n: usize) -> [Token; 2] {
    [
        token!(
            user_name = format!("process-{n}"),
            refresh_token = format!("r-{n}")
        ),
        token!(user_name = "shared-user", refresh_token = format!("s-{n}")),
    ]
}

/// Each store saves its client's two tokens, all stores at once (`at_once`) or one after
/// another; the tokens as saved, by client.
async fn save_from(
    stores: &[Arc<dyn TokenStore>],
    at_once: bool,
) -> Result<Vec<[Token; 2]>, String> {
    let save = |n: usize, store: Arc<dyn TokenStore>| async move {
        let wanted = load_tokens(n);
        let mut saved = wanted.clone();
        let [own, shared] = &mut saved;
        let (a, b) = tokio::join!(store.save_token(own), store.save_token(shared));
        for (result, t) in [(a, &wanted[0]), (b, &wanted[1])] {
            result.map_err(|e| {
                format!(
                    "client {}: save_token({}) = Err({e}), want Ok",
                    n + 1,
                    show::token(t)
                )
            })?;
        }
        Ok::<_, String>(saved)
    };
    let mut saved = Vec::with_capacity(stores.len());
    if at_once {
        let tasks: Vec<_> = stores
            .iter()
            .enumerate()
            .map(|(n, store)| tokio::spawn(save(n, store.clone())))
            .collect();
        for task in tasks {
            saved.push(
                task.await
                    .map_err(|e| format!("a client panicked: {e}"))??,
            );
        }
    } else {
        for (n, store) in stores.iter().enumerate() {
            saved.push(save(n, store.clone()).await?);
        }
    }
    Ok(saved)
}

/// Whether what `saved` says landed is what the store holds, read through the check's store. A
/// read that fails is this check's failure: the race may have broken the storage (a file
/// rewritten by two processes at once), which the control run one call at a time tells apart.
async fn all_landed(ctx: &Ctx, saved: &[[Token; 2]]) -> CheckResult {
    let clients = saved.len();
    let own: HashSet<_> = saved.iter().map(|[own, _]| own.id.clone()).collect();
    ensure(own.len() == clients, || {
        format!(
            "{clients} clients saving a user each at once got {} distinct ids, want {clients}",
            own.len()
        )
    })?;
    let shared: HashSet<_> = saved.iter().map(|[_, shared]| shared.id.clone()).collect();
    ensure(shared.len() == 1, || {
        format!(
            "{clients} clients saving one shared user at once got {} different ids, want 1",
            shared.len()
        )
    })?;
    let after = format!(
        "after {clients} clients each saved a user of their own and one shared user at once"
    );
    let all = ctx.store.get_tokens().await.map_err(|e| {
        format!(
            "{after}, get_tokens() = Err({e}), want {} tokens",
            clients + 1
        )
    })?;
    ensure(all.len() == clients + 1, || {
        format!(
            "{after}, get_tokens() holds {} tokens, want {}",
            all.len(),
            clients + 1
        )
    })?;
    for [own, _] in saved {
        let id = own.id.as_deref().unwrap_or_default();
        let stored = ctx.store.find_token_by_id(id).await;
        ensure(stored.as_ref().is_ok_and(|t| t == own), || {
            let got = match &stored {
                Ok(t) => show::token(t),
                Err(e) => format!("Err({e})"),
            };
            format!(
                "{after}, find_token_by_id({}) = {got}, want {}",
                show::value(id),
                show::token(own)
            )
        })?;
    }
    Ok(())
}

/// Whether the check's own store, in this process alone, empties the storage and sees it empty.
async fn empties_alone(ctx: &Ctx) -> bool {
    ctx.store.delete_tokens().await.is_ok()
        && ctx.store.get_tokens().await.is_ok_and(|t| t.is_empty())
}

async fn acknowledged_writes_survive_sigkill(ctx: Ctx) -> CheckResult {
    let result = crate::crash::survive_kills(&*ctx.storage, KILLS, MAX_KILL_DELAY, 38 ^ ctx.seed)
        .await
        .map(drop);
    // What survived is read with get_tokens: when that cannot answer, the check is blocked by
    // get-tokens.exact, not failed as a loss.
    if let Err(message) = &result {
        if message.contains(crate::crash::LISTING_FAILED) {
            ctx.notes.block("get-tokens.exact", message.clone());
        } else if message.contains(crate::crash::OPENING_FAILED) {
            ctx.notes.block("store.reopens", message.clone());
        }
    }
    result
}
